//! Every query in `examples/` answers with data and no errors against the
//! demo setup.

use crate::common;

use common::TestGateway;
use serde_json::{json, Value};

fn example(name: &str) -> String {
    std::fs::read_to_string(format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR")))
        .expect("the example file exists")
}

#[tokio::test]
async fn every_example_query_answers_with_data_and_no_errors() {
    let gateway = TestGateway::start_synced().await;
    let dir =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples")).expect("examples/");
    let mut ran = 0;
    for entry in dir {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|e| e == "graphql") {
            let query = std::fs::read_to_string(&path).expect("readable");
            let data = gateway.data(&query, Value::Null).await;
            let fields = data.as_object().expect("data is an object");
            assert!(
                !fields.is_empty() && fields.values().all(|v| !v.is_null()),
                "{}: {data:#}",
                path.display()
            );
            ran += 1;
        }
    }
    assert_eq!(ran, 6, "the six example queries ran");
}

#[tokio::test]
async fn product_page_example_shows_every_offer_type_from_every_upstream() {
    let gateway = TestGateway::start_synced().await;
    let data = gateway
        .data(&example("product_page.graphql"), Value::Null)
        .await;
    let product = &data["product"];
    assert_eq!(product["gtin"], "00918882175177");
    assert_eq!(product["name"], "Initech Ultra Camping Stove");
    let offers = product["offers"]["nodes"].as_array().expect("offers");
    assert_eq!(product["offerCount"], 8);
    assert_eq!(offers.len(), 8);
    let mut seen: Vec<(&str, &str)> = offers
        .iter()
        .map(|o| {
            (
                o["__typename"].as_str().unwrap(),
                o["upstream"].as_str().unwrap(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("InStoreOffer", "closient"),
            ("InStoreOffer", "closient"),
            ("InStoreOffer", "closient"),
            ("MarketplaceOffer", "medusa"),
            ("MarketplaceOffer", "medusa"),
            ("MarketplaceOffer", "violet"),
            ("OnlineOffer", "closient"),
            ("OnlineOffer", "closient"),
        ]
    );
    // The price range spans what the ranked (buyable) offers cost.
    let min: f64 = product["priceRange"]["min"]["amount"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let max: f64 = product["priceRange"]["max"]["amount"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(min <= max, "{min} > {max}");
}

#[tokio::test]
async fn compare_example_ranks_every_offer_of_the_product() {
    let gateway = TestGateway::start_synced().await;
    let data = gateway
        .data(&example("compare_offers.graphql"), Value::Null)
        .await;
    let comparison = &data["product"]["compare"];
    let ranked = comparison["ranked"].as_array().expect("ranked").len();
    let excluded = comparison["excluded"].as_array().expect("excluded").len();
    assert_eq!(ranked + excluded, 8, "{comparison:#}");
    assert!(ranked > 0, "{comparison:#}");
    assert_eq!(
        comparison["ranked"][0]["offer"],
        comparison["cheapest"]["offer"]
    );
}

#[tokio::test]
async fn search_example_finds_the_camping_stoves() {
    let gateway = TestGateway::start_synced().await;
    let data = gateway
        .data(&example("search_products.graphql"), Value::Null)
        .await;
    let nodes = data["products"]["nodes"].as_array().expect("nodes");
    assert!(!nodes.is_empty());
    for node in nodes {
        let name = node["name"].as_str().unwrap();
        assert!(name.contains("Camping Stove"), "{name}");
    }
}

#[tokio::test]
async fn online_offers_example_pages_through_the_organization_to_the_end() {
    let gateway = TestGateway::start().await;
    let query = example("online_offers_page.graphql");
    let mut after = Value::Null;
    let mut seen = Vec::new();
    let mut total = None;
    loop {
        let data = gateway.data(&query, json!({ "after": after })).await;
        let page = &data["onlineOffers"];
        total.get_or_insert(page["totalCount"].as_u64().expect("totalCount"));
        for edge in page["edges"].as_array().expect("edges") {
            seen.push(
                edge["node"]["nativeId"]
                    .as_str()
                    .expect("nativeId")
                    .to_owned(),
            );
        }
        if !page["pageInfo"]["hasNextPage"]
            .as_bool()
            .expect("hasNextPage")
        {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let org = "YdduYBYqSi77bPyG7XevUT";
    let want: Vec<String> = gateway
        .sims
        .closient_data
        .organization_online_offers(org)
        .iter()
        .map(|o| o.id.clone())
        .collect();
    assert!(want.len() > 50, "more than one page");
    assert_eq!(total, Some(want.len() as u64));
    assert_eq!(seen, want, "every offer once, in the upstream's order");
}

#[tokio::test]
async fn marketplace_example_shows_medusa_tiers_and_violet_skus() {
    let gateway = TestGateway::start().await;
    let data = gateway
        .data(&example("marketplace_offer.graphql"), Value::Null)
        .await;
    let tiers = data["medusa"]["details"]["prices"]
        .as_array()
        .expect("prices");
    assert!(tiers.len() > 1, "a tiered offer");
    assert!(tiers.iter().any(|t| !t["minQuantity"].is_null()));
    let skus = data["violet"]["details"]["skus"].as_array().expect("skus");
    assert_eq!(skus.len(), 4);
    assert!(skus.iter().all(|s| !s["salePrice"]["amount"].is_null()));
}
