//! `marketplaceOffers(filter:)`: the upstreams' own exact-match filters,
//! checked against raw simulator values.

use serde_json::{json, Value};

use crate::common::{error_codes, TestGateway};

const QUERY: &str = "query($upstream: String!, $filter: MarketplaceOfferFilter, $after: String) {
    marketplaceOffers(upstream: $upstream, filter: $filter, first: 100, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } nodes { nativeId }
    }
}";

/// Every native id the filtered listing answers, paging to the end, and
/// its total.
async fn listed(gateway: &TestGateway, upstream: &str, filter: Value) -> (Vec<String>, u64) {
    let mut ids = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = gateway
            .data(
                QUERY,
                json!({ "upstream": upstream, "filter": filter, "after": after }),
            )
            .await;
        let page = &data["marketplaceOffers"];
        ids.extend(
            page["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["nativeId"].as_str().unwrap().to_owned()),
        );
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return (ids, page["totalCount"].as_u64().unwrap());
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test]
async fn medusa_offers_filter_by_seller_sku_ean_and_upc_exactly() {
    let gateway = TestGateway::start().await;
    let offers = &gateway.sims.medusa_data.offers;
    let want = |pick: &dyn Fn(&offer_gateway::upstream::medusa::wire::Offer) -> bool| {
        let mut ids: Vec<String> = offers
            .iter()
            .filter(|o| pick(o))
            .map(|o| o.id.clone())
            .collect();
        ids.sort();
        ids
    };
    let sorted = |(mut ids, total): (Vec<String>, u64)| {
        ids.sort();
        (ids, total)
    };

    let seller = offers[0].seller_id.clone().unwrap();
    let expected = want(&|o| o.seller_id.as_deref() == Some(seller.as_str()));
    assert!(expected.len() > 1);
    let got = sorted(listed(&gateway, "medusa", json!({ "sellerId": seller })).await);
    assert_eq!(got, (expected.clone(), expected.len() as u64));

    let ean = offers.iter().find_map(|o| o.ean.clone()).unwrap();
    let expected = want(&|o| o.ean.as_deref() == Some(ean.as_str()));
    let got = sorted(listed(&gateway, "medusa", json!({ "ean": ean })).await);
    assert_eq!(got.0, expected);
    // Exact match: the code without its leading zero finds nothing.
    if let Some(unpadded) = ean.strip_prefix('0') {
        let none = listed(&gateway, "medusa", json!({ "ean": unpadded })).await;
        assert_eq!(none, (Vec::new(), 0));
    }

    let upc = offers.iter().find_map(|o| o.upc.clone()).unwrap();
    let expected = want(&|o| o.upc.as_deref() == Some(upc.as_str()));
    assert_eq!(
        sorted(listed(&gateway, "medusa", json!({ "upc": upc })).await).0,
        expected
    );

    let sku = offers
        .iter()
        .find_map(|o| o.sku.clone().filter(|s| !s.is_empty()))
        .unwrap();
    let expected = want(&|o| o.sku.as_deref() == Some(sku.as_str()));
    let got = sorted(
        listed(
            &gateway,
            "medusa",
            json!({ "sku": sku, "sellerId": offers[0].seller_id }),
        )
        .await,
    );
    let both: Vec<String> = expected
        .into_iter()
        .filter(|id| {
            offers
                .iter()
                .any(|o| &o.id == id && o.seller_id == offers[0].seller_id)
        })
        .collect();
    assert_eq!(got.0, both, "filters combine");
}

#[tokio::test]
async fn violet_offers_filter_by_seller_only() {
    let gateway = TestGateway::start().await;
    let offers = &gateway.sims.violet_data.offers;
    let merchant = offers[0].merchant_id;
    let mut expected: Vec<String> = offers
        .iter()
        .filter(|o| o.merchant_id == merchant)
        .map(|o| o.id.to_string())
        .collect();
    expected.sort();
    let (mut got, total) = listed(
        &gateway,
        "violet",
        json!({ "sellerId": merchant.to_string() }),
    )
    .await;
    got.sort();
    assert_eq!(got, expected);
    assert_eq!(total, expected.len() as u64);

    for (filter, why) in [
        (json!({ "sku": "X" }), "seller only"),
        (json!({ "sellerId": "acme" }), "integer"),
        (json!({ "ean": "" }), "must not be empty"),
    ] {
        let response = gateway
            .query(QUERY, json!({ "upstream": "violet", "filter": filter }))
            .await;
        assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{response}");
        let message = response["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(why), "{message}");
        assert!(message.contains("`filter"), "{message}");
    }
}
