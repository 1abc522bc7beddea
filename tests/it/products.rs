//! Products: every offer of one GTIN across all upstreams, from the
//! catalog index the gateway's sync fills, checked against the raw values
//! of the simulators' catalog.

use std::collections::{BTreeMap, BTreeSet};

use offer_gateway::{GlobalId, OfferKind};
use serde_json::{json, Value};

use crate::common::{error_codes, sync_everything, visible_in_store, visible_online, TestGateway};

/// A barcode as GTIN-14, from its raw digits (zero-padded).
fn gtin14(code: &str) -> String {
    format!("{code:0>14}")
}

/// The offers the simulators' catalog assigns to each GTIN-14, as global
/// ids, from raw simulator values.
fn expected_offers(gateway: &TestGateway) -> BTreeMap<String, BTreeSet<String>> {
    let sims = &gateway.sims;
    let closient_gtin: BTreeMap<&str, &str> = sims
        .closient_data
        .products
        .iter()
        .map(|p| (p.id.as_str(), p.gtin.as_str()))
        .collect();
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut add = |gtin: String, id: String| {
        expected.entry(gtin).or_default().insert(id);
    };
    for offer in visible_online(sims) {
        let gtin = closient_gtin[offer.product_id.as_str()];
        add(
            gtin.to_owned(),
            GlobalId::encode(OfferKind::Online, "closient", &offer.id),
        );
    }
    for offer in visible_in_store(sims) {
        let gtin = closient_gtin[offer.product_id.as_str()];
        add(
            gtin.to_owned(),
            GlobalId::encode(OfferKind::InStore, "closient", &offer.id),
        );
    }
    for offer in &sims.medusa_data.offers {
        // An offer with neither code belongs to no product.
        let codes: BTreeSet<String> = [&offer.ean, &offer.upc]
            .into_iter()
            .flatten()
            .map(|c| gtin14(c))
            .collect();
        for gtin in codes {
            add(
                gtin,
                GlobalId::encode(OfferKind::Marketplace, "medusa", &offer.id),
            );
        }
    }
    for offer in &sims.violet_data.offers {
        let codes: BTreeSet<String> = offer
            .skus
            .iter()
            .flat_map(|s| [&s.gtin, &s.upc, &s.ean])
            .flatten()
            .map(|c| gtin14(c))
            .collect();
        for gtin in codes {
            add(
                gtin,
                GlobalId::encode(OfferKind::Marketplace, "violet", &offer.id.to_string()),
            );
        }
    }
    expected
}

#[tokio::test]
async fn every_product_of_the_demo_catalog_has_exactly_its_offers_from_every_upstream() {
    let gateway = TestGateway::start_with(sync_everything).await;
    let status = gateway.wait_for_full_passes().await;
    for upstream in status["upstreams"].as_array().unwrap() {
        assert_eq!(upstream["errors"], 0, "{upstream}");
        assert!(
            upstream["offersIndexed"].as_i64().unwrap() > 0,
            "{upstream}"
        );
    }
    let expected = expected_offers(&gateway);
    let gtins: Vec<&str> = gateway
        .sims
        .catalog
        .products
        .iter()
        .map(|p| p.gtin.as_str())
        .collect();
    assert!(gtins.len() >= 1000);
    let mut checked_kinds = BTreeSet::new();
    for chunk in gtins.chunks(20) {
        let fields: String = chunk
            .iter()
            .enumerate()
            .map(|(i, gtin)| {
                format!(
                    "p{i}: product(gtin: \"{gtin}\") {{ gtin offerCount \
                     offers(first: 100) {{ totalCount nodes {{ __typename id }} }} }}\n"
                )
            })
            .collect();
        let data = gateway.data(&format!("{{ {fields} }}"), json!({})).await;
        for (i, gtin) in chunk.iter().enumerate() {
            let product = &data[format!("p{i}")];
            let want = expected.get(*gtin).cloned().unwrap_or_default();
            if want.is_empty() {
                assert!(
                    product.is_null(),
                    "{gtin}: no upstream offers it: {product}"
                );
                continue;
            }
            assert_eq!(product["gtin"], *gtin);
            let nodes = product["offers"]["nodes"].as_array().unwrap();
            let got: BTreeSet<String> = nodes
                .iter()
                .map(|n| n["id"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(got, want, "offers of {gtin}");
            assert_eq!(product["offerCount"], want.len());
            assert_eq!(product["offers"]["totalCount"], want.len());
            checked_kinds.extend(nodes.iter().map(|n| n["__typename"].to_string()));
        }
    }
    assert_eq!(
        checked_kinds.len(),
        3,
        "online, in-store and marketplace offers all appear: {checked_kinds:?}"
    );
}

#[tokio::test]
async fn a_gtin_written_as_upc_a_ean_13_or_gtin_14_is_one_product() {
    let gateway = TestGateway::start_synced().await;
    let products = &gateway.sims.catalog.products;
    let upc = products
        .iter()
        .find(|p| p.barcode.len() == 12)
        .expect("a UPC-A product");
    let query = "query($a: String!, $b: String!, $c: String!) {
        a: product(gtin: $a) { id gtin offerCount }
        b: product(gtin: $b) { id gtin offerCount }
        c: product(gtin: $c) { id gtin offerCount }
    }";
    let data = gateway
        .data(
            query,
            json!({
                "a": upc.barcode,
                "b": format!("0{}", upc.barcode),
                "c": upc.gtin,
            }),
        )
        .await;
    assert!(data["a"]["offerCount"].as_i64().unwrap() > 0, "{data}");
    assert_eq!(data["a"], data["b"]);
    assert_eq!(data["a"], data["c"]);
    assert_eq!(data["a"]["gtin"], upc.gtin);
    // The product's id finds it again.
    let id = data["a"]["id"].as_str().unwrap();
    let node = gateway
        .data(
            "query($id: ID!) { node(id: $id) { __typename ... on Product { gtin } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        node["node"],
        json!({"__typename": "Product", "gtin": upc.gtin})
    );
}

#[tokio::test]
async fn a_malformed_gtin_is_bad_user_input_naming_the_argument() {
    let gateway = TestGateway::start().await;
    for bad in ["", "12345", "0196569222999", "01965692229x8"] {
        let response = gateway
            .query(
                "query($g: String!) { product(gtin: $g) { gtin } }",
                json!({ "g": bad }),
            )
            .await;
        assert_eq!(
            error_codes(&response),
            ["BAD_USER_INPUT"],
            "{bad}: {response}"
        );
        let message = response["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("`gtin`"), "{message}");
        assert_eq!(response["data"]["product"], Value::Null);
    }
}

#[tokio::test]
async fn an_offer_knows_its_product_and_an_offer_without_a_gtin_has_none() {
    let gateway = TestGateway::start().await;
    let sims = &gateway.sims;
    let with = sims
        .medusa_data
        .offers
        .iter()
        .find(|o| o.ean.is_some())
        .expect("an offer with an EAN");
    let without = sims
        .medusa_data
        .offers
        .iter()
        .find(|o| o.ean.is_none() && o.upc.is_none())
        .expect("an offer with no code");
    let online = visible_online(sims)[0];
    let gtin_of_online = sims
        .closient_data
        .products
        .iter()
        .find(|p| p.id == online.product_id)
        .map(|p| p.gtin.clone())
        .unwrap();
    let ids = [
        GlobalId::encode(OfferKind::Marketplace, "medusa", &with.id),
        GlobalId::encode(OfferKind::Marketplace, "medusa", &without.id),
        GlobalId::encode(OfferKind::Online, "closient", &online.id),
    ];
    let data = gateway
        .data(
            "query($ids: [ID!]!) { offers(ids: $ids) { id product { gtin offers { nodes { id } } } } }",
            json!({ "ids": ids }),
        )
        .await;
    let offers = data["offers"].as_array().unwrap();
    assert_eq!(
        offers[0]["product"]["gtin"],
        gtin14(with.ean.as_deref().unwrap())
    );
    // Without a sync, the product holds the offers the gateway has seen,
    // this one among them.
    let ids_of = |product: &Value| -> Vec<String> {
        product["offers"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(ids_of(&offers[0]["product"]).contains(&ids[0]));
    assert_eq!(offers[1]["product"], Value::Null);
    // A Closient offer's product comes from its product id, through
    // Closient's products API.
    assert_eq!(offers[2]["product"]["gtin"], gtin_of_online);
}

#[tokio::test]
async fn search_finds_products_by_name_and_brand_words_best_match_first() {
    let gateway = TestGateway::start_synced().await;
    let products = &gateway.sims.catalog.products;
    // A product's exact name ranks it first among those matching.
    let target = &products[7];
    let query = "query($s: String!, $after: String) {
        products(search: $s, first: 5, after: $after) {
          totalCount pageInfo { hasNextPage endCursor } nodes { gtin name brand }
        }
    }";
    let data = gateway.data(query, json!({ "s": target.name })).await;
    let found = &data["products"];
    assert!(found["totalCount"].as_i64().unwrap() >= 1, "{found}");
    let top = found["nodes"][0]["name"].as_str().unwrap().to_owned();
    // Every word of the query is in the top result.
    for word in target.name.split_whitespace() {
        assert!(top.contains(word), "{top} lacks {word}");
    }
    // Every result matches every word; paging walks all of them once.
    let words = ["coffee"];
    let mut seen = BTreeSet::new();
    let mut after: Option<String> = None;
    let total;
    loop {
        let data = gateway
            .data(query, json!({ "s": words.join(" "), "after": after }))
            .await;
        let page = &data["products"];
        for node in page["nodes"].as_array().unwrap() {
            let text = format!("{} {}", node["name"], node["brand"]).to_lowercase();
            assert!(text.contains("coffee"), "{text}");
            assert!(seen.insert(node["gtin"].to_string()), "{node} twice");
        }
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            total = page["totalCount"].as_u64().unwrap();
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    let named = products
        .iter()
        .filter(|p| {
            format!("{} {}", p.name, p.brand)
                .to_lowercase()
                .contains("coffee")
        })
        .count();
    assert_eq!(seen.len() as u64, total);
    assert_eq!(seen.len(), named);
    // A GTIN as the search finds its product; no word at all is refused.
    let data = gateway.data(query, json!({ "s": target.gtin })).await;
    assert_eq!(data["products"]["nodes"][0]["gtin"], target.gtin);
    let response = gateway.query(query, json!({ "s": " ,; " })).await;
    assert_eq!(error_codes(&response), ["BAD_USER_INPUT"]);
}

#[tokio::test]
async fn ordering_a_products_offers_by_price_ranks_all_of_them_not_one_page() {
    let gateway = TestGateway::start_synced().await;
    let gtin = "00918882175177";
    let query = "query($gtin: String!, $first: Int, $after: String) {
        product(gtin: $gtin) {
          offers(first: $first, after: $after, orderBy: PRICE, currency: \"USD\") {
            totalCount pageInfo { hasNextPage endCursor } nodes { id }
          }
          compare(currency: \"USD\") { ranked { offer { id } } }
        }
    }";
    let ids = |data: &Value| -> Vec<String> {
        data["product"]["offers"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = gateway
        .data(query, json!({ "gtin": gtin, "first": 50 }))
        .await;
    let whole = ids(&all);
    assert_eq!(whole.len(), 8);
    // The ranked offers come first, in the comparison's order.
    let ranked: Vec<String> = all["product"]["compare"]["ranked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["offer"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!ranked.is_empty());
    assert_eq!(whole[..ranked.len()], ranked[..]);
    // Pages of three walk the same order.
    let mut paged = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = gateway
            .data(query, json!({ "gtin": gtin, "first": 3, "after": after }))
            .await;
        paged.extend(ids(&data));
        let info = &data["product"]["offers"]["pageInfo"];
        if !info["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = info["endCursor"].clone();
    }
    assert_eq!(paged, whole);
}

#[tokio::test]
async fn a_products_offers_filter_by_type_upstream_and_buyability() {
    let gateway = TestGateway::start_synced().await;
    let query = "query($kinds: [OfferType!], $upstreams: [String!], $buyable: Boolean!) {
        product(gtin: \"00918882175177\") {
          offers(kinds: $kinds, upstreams: $upstreams, buyableOnly: $buyable) {
            totalCount nodes { __typename upstream buyable }
          }
        }
    }";
    let offers = |vars: Value| {
        let gateway = &gateway;
        async move {
            let data = gateway.data(query, vars).await;
            data["product"]["offers"].clone()
        }
    };
    let in_store = offers(json!({ "kinds": ["IN_STORE"], "buyable": false })).await;
    assert_eq!(in_store["totalCount"], 3);
    assert!(in_store["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["__typename"] == "InStoreOffer"));
    let medusa = offers(json!({ "upstreams": ["medusa"], "buyable": false })).await;
    assert_eq!(medusa["totalCount"], 2);
    let all = offers(json!({ "buyable": false })).await;
    let buyable = offers(json!({ "buyable": true })).await;
    let want = all["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["buyable"] == true)
        .count();
    assert_eq!(buyable["totalCount"], want);
    assert!(buyable["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["buyable"] == true));
}

#[tokio::test]
async fn a_product_answers_without_an_upstream_that_fails_with_its_error() {
    use offer_gateway::sim::fault::Fault;

    // Medusa and Violet synced; Closient not (so that no sync has asked it
    // about the product before).
    let gateway = TestGateway::start_with(|specs| {
        sync_everything(specs);
        for spec in specs.iter_mut().filter(|s| &*s.name == "closient") {
            spec.settings.sync.enabled = false;
        }
    })
    .await;
    gateway.wait_for_full_passes().await;
    // Closient cannot be asked about this GTIN (its products API fails):
    // the other upstreams' offers still answer, with Closient's error.
    let gtin = "00918882175177";
    gateway.sims.closient.control.inject(
        Some("GET /products/api/v1/products/{gtin}"),
        Fault::Status(503),
        None,
    );
    let response = gateway
        .query(
            "query($g: String!) { product(gtin: $g) { gtin offers { nodes { upstream } } } }",
            json!({ "g": gtin }),
        )
        .await;
    assert_eq!(response["data"]["product"]["gtin"], gtin, "{response}");
    let upstreams: BTreeSet<&str> = response["data"]["product"]["offers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["upstream"].as_str().unwrap())
        .collect();
    assert!(
        upstreams.contains("medusa") && upstreams.contains("violet"),
        "{response}"
    );
    let errors = response["errors"].as_array().expect("an error");
    assert_eq!(errors.len(), 1, "{response}");
    assert_eq!(errors[0]["extensions"]["upstream"], "closient");
    assert_eq!(errors[0]["path"], json!(["product"]));
    assert!(errors[0]["extensions"]["code"]
        .as_str()
        .unwrap()
        .starts_with("UPSTREAM_"));
}
