//! End to end over real HTTP: the gateway on 127.0.0.1:0 over the three
//! simulators.

use crate::common;

use std::str::FromStr;

use common::{error_codes, TestGateway};
use offer_gateway::upstream::Credentials;
use offer_gateway::upstream::{closient, medusa, violet};
use offer_gateway::GlobalId;
use offer_gateway::OfferKind;
use offer_gateway::Secret;
use rust_decimal::Decimal;
use serde_json::{json, Value};

const ONLINE_FIELDS: &str = "__typename id upstream upstreamKind nativeId productId sku
    price { amount currency minorUnits } status upstreamStatus buyable metadata
    ... on OnlineOffer { onlineStoreId organizationId url retailStatus isVerified source
      fulfillmentType stockLevel deliveryCountries shippingCost { amount currency minorUnits }
      leadTimeDays minOrderQuantity }";

const IN_STORE_FIELDS: &str = "__typename id upstream upstreamKind nativeId productId sku
    price { amount currency minorUnits } status upstreamStatus buyable metadata
    ... on InStoreOffer { physicalStoreId organizationId retailStatus isVerified source
      quantityOnHand aisle storePickupAvailable }";

fn snake_to_camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn decimal(v: &Value) -> Option<Decimal> {
    v.as_str()
        .map(|s| Decimal::from_str(s).expect("a decimal string"))
}

/// Checks that every field the upstream sent is in the GraphQL answer:
/// same name in camelCase, enums in upper case, money as exact decimals.
fn assert_all_fields_reachable(raw: &Value, answer: &Value, renames: &[(&str, &str)]) {
    let raw = raw.as_object().expect("an object");
    for (key, value) in raw {
        let field = renames
            .iter()
            .find(|(from, _)| from == key)
            .map(|(_, to)| (*to).to_owned())
            .unwrap_or_else(|| snake_to_camel(key));
        let got = &answer[&field];
        match (key.as_str(), value) {
            ("price", Value::Object(price)) => {
                assert_eq!(decimal(&got["amount"]), decimal(&price["amount"]), "price");
                if !price["amount"].is_null() {
                    assert_eq!(got["currency"], price["currency"], "currency");
                }
            }
            ("shipping_cost", _) => {
                assert_eq!(decimal(&got["amount"]), decimal(value), "shipping_cost");
            }
            ("sku", Value::String(s)) if s.is_empty() => assert!(got.is_null(), "empty sku"),
            (_, Value::String(s))
                if s.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    && got.as_str().is_some_and(|g| g == s.to_uppercase()) => {}
            _ => assert_eq!(got, value, "field {key} -> {field}"),
        }
    }
}

#[tokio::test]
async fn closient_online_and_in_store_offers_answer_every_field() {
    let gateway = TestGateway::start().await;
    let data = &gateway.sims.closient_data;
    // Offers rich in data: metadata, shipping cost, countries.
    let online = data
        .online_offers
        .iter()
        .find(|o| {
            !o.metadata.is_empty()
                && o.shipping_cost.is_some()
                && !o.delivery_countries.is_empty()
                && o.organization_id.as_deref() == Some("YdduYBYqSi77bPyG7XevUT")
        })
        .expect("a rich online offer");
    let in_store = data
        .in_store_offers
        .iter()
        .find(|o| {
            !o.metadata.is_empty()
                && o.quantity_on_hand.is_some()
                && o.organization_id.as_deref() == Some("YdduYBYqSi77bPyG7XevUT")
        })
        .expect("a rich in-store offer");
    let query = format!(
        "query($a: ID!, $b: ID!) {{ a: offer(id: $a) {{ {ONLINE_FIELDS} }} b: node(id: $b) {{ ... on Offer {{ {IN_STORE_FIELDS} }} }} }}"
    );
    let answer = gateway
        .data(
            &query,
            json!({
                "a": GlobalId::encode(OfferKind::Online, "closient", &online.id),
                "b": GlobalId::encode(OfferKind::InStore, "closient", &in_store.id),
            }),
        )
        .await;
    let a = &answer["a"];
    assert_eq!(a["__typename"], "OnlineOffer");
    assert_eq!(a["upstream"], "closient");
    assert_eq!(a["upstreamKind"], "CLOSIENT");
    let raw = serde_json::to_value(online).expect("serializable");
    assert_all_fields_reachable(&raw, a, &[("id", "nativeId"), ("status", "retailStatus")]);
    assert_eq!(a["upstreamStatus"], raw["status"]);

    let b = &answer["b"];
    assert_eq!(b["__typename"], "InStoreOffer");
    let raw = serde_json::to_value(in_store).expect("serializable");
    assert_all_fields_reachable(&raw, b, &[("id", "nativeId"), ("status", "retailStatus")]);
}

#[tokio::test]
async fn medusa_and_violet_offers_answer_every_field() {
    let gateway = TestGateway::start().await;
    let query = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/marketplace_offer.graphql"
    ))
    .expect("example");
    let data = gateway.data(&query, Value::Null).await;

    // Medusa: every seed field is in the details, prices in major units.
    let medusa = &data["medusa"];
    let native = medusa["nativeId"].as_str().expect("nativeId");
    let raw = gateway
        .sims
        .medusa_data
        .offers
        .iter()
        .find(|o| o.id == native)
        .expect("the simulator has it");
    let raw_json = serde_json::to_value(raw).expect("serializable");
    let details = &medusa["details"];
    assert_eq!(details["__typename"], "MedusaOfferDetails");
    for (key, value) in raw_json.as_object().expect("object") {
        let field = snake_to_camel(key);
        match key.as_str() {
            "id" => assert_eq!(medusa["nativeId"], *value),
            "prices" => {
                let got = details["prices"].as_array().expect("prices");
                let want = value.as_array().expect("prices");
                assert_eq!(got.len(), want.len());
                for (g, w) in got.iter().zip(want) {
                    assert_eq!(g["nativeId"], w["id"]);
                    assert_eq!(
                        decimal(&g["price"]["amount"]),
                        Some(Decimal::from_str(&w["amount"].to_string()).expect("number"))
                    );
                    assert_eq!(
                        g["price"]["currency"],
                        w["currency_code"].as_str().unwrap().to_uppercase()
                    );
                    assert_eq!(g["minQuantity"], w["min_quantity"]);
                    assert_eq!(g["maxQuantity"], w["max_quantity"]);
                }
            }
            "seller" | "product_variant" | "shipping_profile" | "inventory_items" => {
                let camel = serde_json::to_string(value)
                    .unwrap()
                    .replace("\"id\":", "\"nativeId\":")
                    .replace("inventory_item_id", "inventoryItemId")
                    .replace("required_quantity", "requiredQuantity");
                assert_eq!(
                    details[&field],
                    serde_json::from_str::<Value>(&camel).unwrap(),
                    "{key}"
                );
            }
            _ => assert_eq!(details[&field], *value, "{key}"),
        }
    }

    // Violet: name, merchant, SKUs with prices stored in minor units of
    // their currency and answered in US dollars (Violet's `base_currency`).
    let per_usd = common::violet_usd_rates(&gateway.sims).await;
    let violet = &data["violet"];
    let native: i64 = violet["nativeId"].as_str().unwrap().parse().unwrap();
    let raw = gateway
        .sims
        .violet_data
        .offers
        .iter()
        .find(|o| o.id == native)
        .expect("the simulator has it");
    let details = &violet["details"];
    assert_eq!(details["__typename"], "VioletOfferDetails");
    assert_eq!(details["name"], raw.name.as_str());
    assert_eq!(violet["title"], raw.name.as_str());
    assert_eq!(details["merchantId"], raw.merchant_id);
    assert_eq!(violet["seller"]["nativeId"], raw.merchant_id.to_string());
    let skus = details["skus"].as_array().expect("skus");
    assert_eq!(skus.len(), raw.skus.len());
    for (got, want) in skus.iter().zip(&raw.skus) {
        assert_eq!(got["nativeId"], want.id.expect("sku id").to_string());
        let currency = want.currency.as_deref().expect("sku currency");
        assert_eq!(
            decimal(&got["salePrice"]["amount"]),
            want.sale_price
                .map(|m| common::violet_in_usd(m, currency, &per_usd))
        );
        assert_eq!(got["salePrice"]["currency"], "USD");
        assert_eq!(got["gtin"], json!(want.gtin));
    }
    assert_eq!(details["tags"], json!(raw.tags));
    assert_eq!(
        details["variants"].as_array().unwrap().len(),
        raw.variants.len()
    );
    assert_eq!(
        details["albums"].as_array().unwrap().len(),
        raw.albums.len()
    );
    assert_eq!(
        details["collections"].as_array().unwrap().len(),
        raw.collections.as_ref().map_or(0, Vec::len),
        "collections are included"
    );
    assert_eq!(
        details["metadataEntries"].as_array().unwrap().len(),
        raw.metadata.as_ref().map_or(0, Vec::len),
        "metadata is included"
    );
}

#[tokio::test]
async fn nodes_keep_order_and_length_with_null_for_unknown_ids() {
    let gateway = TestGateway::start().await;
    let sims = &gateway.sims;
    let online = GlobalId::encode(
        OfferKind::Online,
        "closient",
        &sims.closient_data.online_offers[0].id,
    );
    let medusa = GlobalId::encode(
        OfferKind::Marketplace,
        "medusa",
        &sims.medusa_data.offers[0].id,
    );
    let violet = GlobalId::encode(
        OfferKind::Marketplace,
        "violet",
        &sims.violet_data.offers[0].id.to_string(),
    );
    let unknown = [
        GlobalId::encode(OfferKind::Online, "closient", "2222222222222222222223"),
        GlobalId::encode(
            OfferKind::InStore,
            "closient",
            "00000000-0000-0000-0000-000000000001",
        ),
        GlobalId::encode(
            OfferKind::Marketplace,
            "medusa",
            "offer_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        ),
        GlobalId::encode(OfferKind::Marketplace, "violet", "999999999999"),
        GlobalId::encode(OfferKind::Marketplace, "no-such-upstream", "1"),
        GlobalId::encode(
            OfferKind::Online,
            "medusa",
            "offer_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        ),
    ];
    let ids = json!([
        violet, unknown[0], online, unknown[1], medusa, unknown[2], unknown[3], unknown[4],
        unknown[5], online
    ]);
    let response = gateway
        .query(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } offers(ids: $ids) { id nativeId } }",
            json!({ "ids": ids }),
        )
        .await;
    assert!(response.get("errors").is_none(), "{response:#}");
    let nodes: Vec<&Value> = response["data"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["id"])
        .collect();
    let want = [
        json!(violet),
        Value::Null,
        json!(online),
        Value::Null,
        json!(medusa),
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        json!(online),
    ];
    assert_eq!(nodes, want.iter().collect::<Vec<_>>());
    let offers: Vec<&Value> = response["data"]["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["id"])
        .collect();
    assert_eq!(offers, want.iter().collect::<Vec<_>>());

    let single = gateway
        .query(
            "query($id: ID!) { offer(id: $id) { id } node(id: $id) { id } }",
            json!({ "id": unknown[2] }),
        )
        .await;
    assert_eq!(single, json!({ "data": { "offer": null, "node": null } }));
}

#[tokio::test]
async fn malformed_ids_are_bad_user_input_naming_the_argument() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .query(r#"{ offer(id: "not-an-id") { id } }"#, Value::Null)
        .await;
    assert_eq!(response["data"], json!({ "offer": null }));
    assert_eq!(error_codes(&response), ["BAD_USER_INPUT"]);
    assert_eq!(
        response["errors"][0]["message"],
        "invalid argument `id`: not an id issued by this gateway"
    );
    assert_eq!(response["errors"][0]["path"], json!(["offer"]));

    // A gateway id whose native part is not a valid id of that upstream.
    let bad_native = [
        GlobalId::encode(OfferKind::Online, "closient", "too-short"),
        GlobalId::encode(OfferKind::Marketplace, "medusa", "offer_123"),
        GlobalId::encode(OfferKind::Marketplace, "violet", "-5"),
    ];
    let good = GlobalId::encode(
        OfferKind::Marketplace,
        "medusa",
        &gateway.sims.medusa_data.offers[0].id,
    );
    let response = gateway
        .query(
            "query($ids: [ID!]!) { offers(ids: $ids) { id } }",
            json!({ "ids": [good, bad_native[0], "garbage", bad_native[1], bad_native[2]] }),
        )
        .await;
    let offers = response["data"]["offers"]
        .as_array()
        .expect("the list itself is answered");
    assert_eq!(offers[0]["id"], good.as_str());
    assert!(offers[1..].iter().all(Value::is_null));
    let errors = response["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 4);
    for (error, index) in errors.iter().zip([1, 2, 3, 4]) {
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error}");
        assert_eq!(error["path"], json!(["offers", index]));
        let message = error["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("invalid argument `ids[{index}]`: ")),
            "{message}"
        );
    }
}

#[tokio::test]
async fn listing_arguments_are_checked() {
    let gateway = TestGateway::start().await;
    let cases = [
        (r#"{ marketplaceOffers(upstream: "medusa", first: 101) { totalCount } }"#, "invalid argument `first`: at most 100 offers per page"),
        (r#"{ marketplaceOffers(upstream: "medusa", first: -1) { totalCount } }"#, "invalid argument `first`: must not be negative"),
        (r#"{ marketplaceOffers(upstream: "medusa", after: "junk") { totalCount } }"#, "invalid argument `after`: not a cursor issued by this gateway"),
        (r#"{ marketplaceOffers(upstream: "closient") { totalCount } }"#, "invalid argument `upstream`: upstream `closient` is a closient upstream, not one of: medusa, violet"),
        (r#"{ marketplaceOffers(upstream: "nope") { totalCount } }"#, "invalid argument `upstream`: no upstream named `nope`"),
        (r#"{ onlineOffers(organizationId: "x") { totalCount } }"#, ""),
    ];
    for (query, message) in cases {
        let response = gateway.query(query, Value::Null).await;
        assert_eq!(
            error_codes(&response),
            ["BAD_USER_INPUT"],
            "{query}: {response}"
        );
        if !message.is_empty() {
            assert_eq!(response["errors"][0]["message"], message, "{query}");
        }
        let data = response["data"].as_object().expect("data");
        assert!(data.values().all(Value::is_null));
    }
}

#[tokio::test]
async fn an_organization_the_key_cannot_see_is_not_found() {
    let gateway = TestGateway::start().await;
    // "Pacific Outfitters" belongs to the other key only.
    let org = &gateway
        .sims
        .closient_data
        .organizations
        .iter()
        .find(|o| o.name == "Pacific Outfitters")
        .expect("org")
        .id;
    let response = gateway
        .query(
            "query($org: String!) { onlineOffers(organizationId: $org) { totalCount } }",
            json!({ "org": org }),
        )
        .await;
    assert_eq!(response["data"], json!({ "onlineOffers": null }));
    assert_eq!(error_codes(&response), ["NOT_FOUND"]);
    assert_eq!(response["errors"][0]["extensions"]["upstream"], "closient");
}

#[tokio::test]
async fn zero_first_answers_the_total_only() {
    let gateway = TestGateway::start().await;
    let data = gateway
        .data(r#"{ marketplaceOffers(upstream: "violet", first: 0) { totalCount nodes { id } pageInfo { hasNextPage startCursor } } }"#, Value::Null)
        .await;
    assert_eq!(
        data,
        json!({ "marketplaceOffers": { "totalCount": gateway.sims.violet_data.offers.len(), "nodes": [], "pageInfo": { "hasNextPage": true, "startCursor": null } } })
    );
}

/// A wrong credential on one upstream: its fields fail with a code naming
/// it, the other upstreams still answer, and nothing leaks.
#[tokio::test]
async fn a_wrong_credential_fails_only_that_upstreams_fields() {
    const SECRET: &str = "wrong-secret-4f9c1e";
    for broken in ["closient", "medusa", "violet"] {
        let gateway = TestGateway::start_with(|specs| {
            for spec in specs.iter_mut().filter(|s| &*s.name == broken) {
                spec.credentials = match &spec.credentials {
                    Credentials::Closient(closient::Credentials { .. }) => {
                        Credentials::Closient(closient::Credentials {
                            api_key: Secret::new(SECRET),
                        })
                    }
                    Credentials::Medusa(_) => {
                        Credentials::Medusa(medusa::Credentials::EmailPassword {
                            email: "admin@mercur.test".into(),
                            password: Secret::new(SECRET),
                        })
                    }
                    Credentials::Violet(violet::Credentials {
                        app_id,
                        app_secret,
                        username,
                        ..
                    }) => Credentials::Violet(violet::Credentials {
                        app_id: *app_id,
                        app_secret: app_secret.clone(),
                        username: username.clone(),
                        password: Secret::new(SECRET),
                    }),
                };
            }
        })
        .await;
        let sims = &gateway.sims;
        let ids = json!([
            GlobalId::encode(
                OfferKind::Online,
                "closient",
                &sims.closient_data.online_offers[0].id
            ),
            GlobalId::encode(
                OfferKind::Marketplace,
                "medusa",
                &sims.medusa_data.offers[0].id
            ),
            GlobalId::encode(
                OfferKind::Marketplace,
                "violet",
                &sims.violet_data.offers[0].id.to_string()
            ),
        ]);
        let response = gateway
            .query(
                "query($ids: [ID!]!) { offers(ids: $ids) { upstream nativeId price { amount } } }",
                json!({ "ids": ids }),
            )
            .await;
        let offers = response["data"]["offers"]
            .as_array()
            .expect("a partial answer");
        for (offer, name) in offers.iter().zip(["closient", "medusa", "violet"]) {
            if name == broken {
                assert!(offer.is_null(), "{broken}: {response:#}");
            } else {
                assert_eq!(offer["upstream"], name, "{broken}: {response:#}");
            }
        }
        let errors = response["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 1, "{response:#}");
        assert_eq!(
            errors[0]["extensions"],
            json!({ "code": "UPSTREAM_UNAUTHORIZED", "upstream": broken })
        );
        let text = response.to_string();
        assert!(!text.contains(SECRET), "the secret leaked: {text}");
        assert!(
            !text.contains("127.0.0.1"),
            "an upstream URL leaked: {text}"
        );
    }
}

#[tokio::test]
async fn medusa_lookups_in_one_query_are_one_batched_call() {
    let gateway = TestGateway::start().await;
    let sims = &gateway.sims;
    let ids: Vec<String> = sims.medusa_data.offers[..10]
        .iter()
        .map(|o| GlobalId::encode(OfferKind::Marketplace, "medusa", &o.id))
        .collect();
    sims.reset_counts();
    let data = gateway
        .data(
            "query($ids: [ID!]!) { offers(ids: $ids) { id } }",
            json!({ "ids": ids }),
        )
        .await;
    assert_eq!(data["offers"].as_array().unwrap().len(), 10);
    let counts = sims.medusa.control.counts();
    assert_eq!(counts.get("GET /admin/offers"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("GET /admin/offers/{id}"), None, "{counts:?}");
}

#[tokio::test]
async fn graphql_over_get_graphiql_and_health() {
    let gateway = TestGateway::start().await;
    let http = &gateway.http;
    let response: Value = http
        .get(&gateway.url)
        .query(&[("query", "{ upstreams { name kind } }")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        response,
        json!({ "data": { "upstreams": [
            { "name": "closient", "kind": "CLOSIENT" },
            { "name": "medusa", "kind": "MEDUSA" },
            { "name": "violet", "kind": "VIOLET" },
        ] } })
    );
    let page = http
        .get(&gateway.url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("graphiql"));
    let health = http
        .get(gateway.url.replace("/graphql", "/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

/// A configuration file's upstreams, with secrets from the environment,
/// are the ones the gateway talks to.
#[tokio::test]
async fn a_config_file_points_the_connectors_at_its_upstreams() {
    use offer_gateway::config::Config;

    let sims = offer_gateway::sim::Simulators::start_demo()
        .await
        .expect("simulators");
    let secret = |credentials: Credentials| -> Vec<(String, String)> {
        match credentials {
            Credentials::Closient(closient::Credentials { api_key }) => {
                vec![("CLOSIENT_KEY".into(), api_key.expose().into())]
            }
            Credentials::Medusa(medusa::Credentials::EmailPassword { password, .. }) => {
                vec![("MERCUR_PASSWORD".into(), password.expose().into())]
            }
            Credentials::Violet(violet::Credentials {
                app_secret,
                password,
                ..
            }) => vec![
                ("VIOLET_SECRET".into(), app_secret.expose().into()),
                ("VIOLET_PASSWORD".into(), password.expose().into()),
            ],
            other => panic!("unexpected demo credentials {other:?}"),
        }
    };
    let env: Vec<(String, String)> = [
        offer_gateway::upstream::closient::sim::demo_credentials(),
        offer_gateway::upstream::medusa::sim::demo_credentials(),
        offer_gateway::upstream::violet::sim::demo_credentials(),
    ]
    .into_iter()
    .flat_map(secret)
    .collect();
    let Credentials::Violet(violet::Credentials {
        app_id, username, ..
    }) = offer_gateway::upstream::violet::sim::demo_credentials()
    else {
        unreachable!("violet credentials")
    };
    let toml = format!(
        r#"
        [upstreams.retail-eu]
        kind = "closient"
        base_url = "{closient}"
        credentials = {{ api_key_env = "CLOSIENT_KEY" }}

        [upstreams.mercur]
        kind = "medusa"
        base_url = "{medusa}"
        max_batch_size = 2
        credentials = {{ username = "{medusa_user}", password_env = "MERCUR_PASSWORD" }}

        [upstreams.catalog]
        kind = "violet"
        base_url = "{violet}"
        [upstreams.catalog.credentials]
        app_id = {app_id}
        app_secret_env = "VIOLET_SECRET"
        username = "{username}"
        password_env = "VIOLET_PASSWORD"
        "#,
        closient = sims.closient.base_url,
        medusa = sims.medusa.base_url,
        violet = sims.violet.base_url,
        medusa_user = offer_gateway::upstream::medusa::sim::DEMO_EMAIL,
    );
    let config = Config::from_toml(&toml, |name| {
        env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
    .expect("a valid config");
    let mut options = config.options;
    options.data_dir = None;
    // Without a sync beside it, the upstream calls counted below are the query's.
    let mut instances = config.instances;
    for instance in &mut instances {
        instance.settings.sync.enabled = false;
    }
    let schema = offer_gateway::Gateway::build(instances, options)
        .await
        .expect("the gateway builds")
        .schema()
        .clone();
    let ids: Vec<String> = sims.medusa_data.offers[..5]
        .iter()
        .map(|o| GlobalId::encode(OfferKind::Marketplace, "mercur", &o.id))
        .chain([
            GlobalId::encode(
                OfferKind::Online,
                "retail-eu",
                &sims.closient_data.online_offers[0].id,
            ),
            GlobalId::encode(
                OfferKind::Marketplace,
                "catalog",
                &sims.violet_data.offers[0].id.to_string(),
            ),
        ])
        .collect();
    let request = async_graphql::Request::new(
        "query($ids: [ID!]!) { upstreams { name kind } offers(ids: $ids) { upstream nativeId } }",
    )
    .variables(async_graphql::Variables::from_json(json!({ "ids": ids })));
    let response = schema.execute(request).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().expect("JSON");
    assert_eq!(
        data["upstreams"],
        json!([
            { "name": "retail-eu", "kind": "CLOSIENT" },
            { "name": "mercur", "kind": "MEDUSA" },
            { "name": "catalog", "kind": "VIOLET" },
        ])
    );
    let upstreams: Vec<&str> = data["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["upstream"].as_str().unwrap())
        .collect();
    assert_eq!(
        upstreams,
        [
            "mercur",
            "mercur",
            "mercur",
            "mercur",
            "mercur",
            "retail-eu",
            "catalog"
        ]
    );
    // max_batch_size = 2 from the file: five Medusa ids are three list calls.
    assert_eq!(sims.medusa.control.count("GET /admin/offers"), 3);
}

#[tokio::test]
async fn response_keys_come_in_the_order_of_the_query() {
    let gateway = TestGateway::start().await;
    let medusa = GlobalId::encode(
        OfferKind::Marketplace,
        "medusa",
        &gateway.sims.medusa_data.offers[0].id,
    );
    let query = format!(
        "{{ x: offer(id: \"{medusa}\") {{ z: nativeId id b: upstream }} a: upstreams {{ name }} \
           m: __typename }}"
    );
    let body = gateway
        .http
        .post(&gateway.url)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = |key: &str| {
        body.find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("{key} in {body}"))
    };
    assert!(at("x") < at("a") && at("a") < at("m"), "{body}");
    assert!(at("z") < at("id") && at("id") < at("b"), "{body}");

    // Fragments on an interface: each object in the order its own type
    // collects (the fragment that applies, where it stands), and nothing
    // the gateway added to learn the type shows.
    let online = GlobalId::encode(
        OfferKind::Online,
        "closient",
        &common::visible_online(&gateway.sims)[0].id,
    );
    let query = format!(
        "{{ offers(ids: [\"{medusa}\", \"{online}\"]) {{
             ... on MarketplaceOffer {{ title k: nativeId }}
             ... on OnlineOffer {{ url k: nativeId }}
             product {{ gtin }} upstream }} }}"
    );
    let body = gateway
        .http
        .post(&gateway.url)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The keys, one after the other in the text (a JSON parser here would
    // not keep their order).
    let mut from = 0;
    for key in [
        "title", "k", "product", "gtin", "upstream", "url", "k", "product", "gtin", "upstream",
    ] {
        let at = body[from..]
            .find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("{key} after byte {from} of {body}"));
        from += at + 1;
    }
    assert!(!body.contains("_offerGateway"), "{body}");
}
