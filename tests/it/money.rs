//! Money across upstreams, end to end: formatting, conversion, the ranking
//! of offers by what the buyer pays, and ordering listings by price.

use crate::common;

use std::str::FromStr;

use common::{error_codes, TestGateway};
use offer_gateway::sim::fault::Fault;
use offer_gateway::GlobalId;
use offer_gateway::OfferKind;
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// Every offer of GTIN 00918882175177 ("Initech Ultra Camping Stove") in
/// the demo catalog, by global id.
fn product_page_ids() -> Vec<String> {
    crate::common::DEMO_PRODUCT_OFFER_IDS
        .iter()
        .map(|id| (*id).to_owned())
        .collect()
}

const COMPARE: &str = r#"query($ids: [ID!]!, $currency: String!, $quantity: Int, $country: String) {
  compareOffers(ids: $ids, currency: $currency, quantity: $quantity, country: $country) {
    currency quantity country
    cheapest { rank offer { nativeId } total { amount currency } }
    ranked { rank offer { upstream nativeId } unitPrice { amount currency } subtotal { amount }
             shipping { amount } total { amount } }
    excluded { offerId reason message offer { nativeId } }
  }
}"#;

fn native(id: &str) -> String {
    GlobalId::decode(id).expect("a gateway id").native_id
}

#[tokio::test]
async fn the_demo_product_page_is_ranked_as_checked_by_hand() {
    let gateway = TestGateway::start().await;
    let sims = &gateway.sims;
    let ids = product_page_ids();
    assert_eq!(ids.len(), 8);

    // The raw values, read in each upstream's unit, that the ranking below
    // was worked out from by hand (rates: the Violet simulator's, USD base,
    // EUR 0.92, KWD 0.307):
    let in_store = |n: &str| {
        sims.closient_data
            .in_store_offer(n)
            .expect("in-store offer")
    };
    let online = |n: &str| sims.closient_data.online_offer(n).expect("online offer");
    // - in-store CfyBmGifDwH685QbudQw9L: active, 286.99 EUR, nothing to ship -> total 286.99 EUR;
    let cheapest = in_store("CfyBmGifDwH685QbudQw9L");
    assert_eq!(
        cheapest.price.as_ref().unwrap().amount.as_deref(),
        Some("286.99")
    );
    assert_eq!(cheapest.price.as_ref().unwrap().currency, "EUR");
    // - Violet 3000000069: a USD merchant's offer (every SKU in USD), so
    //   Violet's base_currency USD answers it as stored (31212 / 1 = 31212
    //   US cents): cheapest buyable SKU 31212 US cents = 312.12 USD
    //   x 0.92 = 287.1504 EUR -> 287.15, no shipping information -> no total;
    let violet = sims.violet_data.offer(3000000069).expect("violet offer");
    assert_eq!(violet.min_price, 31212);
    assert!(violet
        .skus
        .iter()
        .all(|sku| sku.currency.as_deref() == Some("USD")));
    // - Medusa offer_01JGHKVJ472EGAF817M159XTFJ: one tier, 301.5 EUR, no shipping -> no total;
    // - Medusa offer_01JGHRZ6QAA73XYPPMASM8V8QM: 103.483 KWD = 337.078... USD
    //   = 310.112... EUR -> 310.11, no total;
    // - online jUFtkwoLSaYnKtu7xAsx4D: status out_of_stock -> NOT_ACTIVE;
    assert_eq!(
        serde_json::to_value(&online("jUFtkwoLSaYnKtu7xAsx4D").status).unwrap(),
        "out_of_stock"
    );
    // - online E99MM9NrkdoYUhuxwDkrog and in-store kw6Lb7NbLdrKfAQn7qNu48: null price -> UNKNOWN_PRICE;
    assert!(online("E99MM9NrkdoYUhuxwDkrog")
        .price
        .as_ref()
        .unwrap()
        .amount
        .is_none());
    // - in-store CYj7bnUr9G5X4qnWvQ6cG8: 0 units on the shelf -> OUT_OF_STOCK.
    assert_eq!(in_store("CYj7bnUr9G5X4qnWvQ6cG8").quantity_on_hand, Some(0));
    // So the only known total (the in-store offer) ranks first, then the
    // unknown totals by subtotal.

    let data = gateway
        .data(
            COMPARE,
            json!({ "ids": ids, "currency": "EUR", "quantity": 1, "country": "DE" }),
        )
        .await;
    let comparison = &data["compareOffers"];
    assert_eq!(
        comparison["cheapest"],
        json!({ "rank": 1, "offer": { "nativeId": "CfyBmGifDwH685QbudQw9L" }, "total": { "amount": "286.99", "currency": "EUR" } })
    );
    let ranked: Vec<(String, String, Value)> = comparison["ranked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["offer"]["nativeId"].as_str().unwrap().to_owned(),
                r["unitPrice"]["amount"].as_str().unwrap().to_owned(),
                r["total"].clone(),
            )
        })
        .collect();
    assert_eq!(
        ranked,
        vec![
            (
                "CfyBmGifDwH685QbudQw9L".to_owned(),
                "286.99".to_owned(),
                json!({ "amount": "286.99" })
            ),
            ("3000000069".to_owned(), "287.15".to_owned(), Value::Null),
            (
                "offer_01JGHKVJ472EGAF817M159XTFJ".to_owned(),
                "301.50".to_owned(),
                Value::Null
            ),
            (
                "offer_01JGHRZ6QAA73XYPPMASM8V8QM".to_owned(),
                "310.11".to_owned(),
                Value::Null
            ),
        ]
    );
    let excluded: Vec<(String, &str)> = comparison["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                native(e["offerId"].as_str().unwrap()),
                e["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        excluded,
        vec![
            ("jUFtkwoLSaYnKtu7xAsx4D".to_owned(), "NOT_ACTIVE"),
            ("E99MM9NrkdoYUhuxwDkrog".to_owned(), "UNKNOWN_PRICE"),
            ("kw6Lb7NbLdrKfAQn7qNu48".to_owned(), "UNKNOWN_PRICE"),
            ("CYj7bnUr9G5X4qnWvQ6cG8".to_owned(), "OUT_OF_STOCK"),
        ]
    );
}

#[tokio::test]
async fn missing_offers_and_failing_upstreams_are_left_out_with_their_reason() {
    let gateway = TestGateway::start().await;
    let sims = &gateway.sims;
    let mut ids = product_page_ids();
    ids.push(GlobalId::encode(
        OfferKind::Marketplace,
        "medusa",
        "offer_01ARZ3NDEKTSV4RRFFQ69G5FAV",
    ));
    sims.violet.control.inject(
        Some("GET /v1/catalog/offers/{offer_id}"),
        Fault::Status(500),
        None,
    );
    let response = gateway
        .query(COMPARE, json!({ "ids": ids, "currency": "USD" }))
        .await;
    let comparison = &response["data"]["compareOffers"];
    let reasons: Vec<&str> = comparison["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"UPSTREAM_ERROR"), "{comparison:#}");
    assert_eq!(reasons.last(), Some(&"NOT_FOUND"));
    assert_eq!(error_codes(&response), ["UPSTREAM_UNAVAILABLE"]);
    assert_eq!(response["errors"][0]["extensions"]["upstream"], "violet");
    assert_eq!(
        comparison["ranked"].as_array().unwrap().len(),
        3,
        "the others are still ranked"
    );
}

#[tokio::test]
async fn compare_arguments_are_checked() {
    let gateway = TestGateway::start().await;
    for (variables, message) in [
        (
            json!({ "ids": [], "currency": "euro" }),
            "invalid argument `currency`",
        ),
        (
            json!({ "ids": [], "currency": "XYZ" }),
            "invalid argument `currency`",
        ),
        (
            json!({ "ids": [], "currency": "EUR", "quantity": 0 }),
            "invalid argument `quantity`",
        ),
        (
            json!({ "ids": [], "currency": "EUR", "country": "Germany" }),
            "invalid argument `country`",
        ),
        (
            json!({ "ids": ["nope"], "currency": "EUR" }),
            "invalid argument `ids[0]`",
        ),
    ] {
        let response = gateway.query(COMPARE, variables.clone()).await;
        assert_eq!(
            response["data"],
            json!({ "compareOffers": null }),
            "{variables}"
        );
        assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{variables}");
        assert!(
            response["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with(message),
            "{response}"
        );
    }
}

#[tokio::test]
async fn money_formats_for_a_locale_and_converts_with_the_rate_it_used() {
    let gateway = TestGateway::start().await;
    let ids = product_page_ids();
    // The Violet offer: stored and answered in USD (see the ranking above), 312.12 USD.
    let data = gateway
        .data(
            r#"query($id: ID!) { offer(id: $id) { price {
                amount currency minorUnits
                us: formatted(locale: "en-US") de: formatted(locale: "de-DE") ja: formatted(locale: "ja-JP")
                yen: in(currency: "JPY") { amount currency formatted conversion { rate base from { amount currency } source asOf } }
                same: in(currency: "USD") { amount conversion { rate } }
            } } }"#,
            json!({ "id": ids[7] }),
        )
        .await;
    let price = &data["offer"]["price"];
    assert_eq!(price["amount"], "312.12");
    assert_eq!(price["minorUnits"], "31212");
    assert_eq!(price["us"], "$312.12");
    assert_eq!(price["de"], "312,12\u{a0}$");
    assert_eq!(price["ja"], "$312.12");
    // 312.12 x 151.5 = 47286.18 -> 47286 JPY.
    assert_eq!(price["yen"]["amount"], "47286");
    assert_eq!(price["yen"]["formatted"], "¥47,286");
    let conversion = &price["yen"]["conversion"];
    assert_eq!(
        Decimal::from_str(conversion["rate"].as_str().unwrap()).unwrap(),
        Decimal::from_str("151.5").unwrap()
    );
    assert_eq!(conversion["base"], "USD");
    assert_eq!(
        conversion["from"],
        json!({ "amount": "312.12", "currency": "USD" })
    );
    assert!(conversion["source"].as_str().unwrap().contains("violet"));
    assert_eq!(
        price["same"],
        json!({ "amount": "312.12", "conversion": null })
    );

    // A bad currency is the client's error; a pair without a rate is an error on the field.
    let response = gateway
        .query(
            r#"query($id: ID!) { offer(id: $id) { nativeId price { bad: in(currency: "DOLLARS") { amount } none: in(currency: "SEK") { amount } } } }"#,
            json!({ "id": ids[7] }),
        )
        .await;
    assert_eq!(
        response["data"]["offer"]["nativeId"], "3000000069",
        "the rest of the answer stays"
    );
    assert_eq!(
        response["data"]["offer"]["price"],
        json!({ "bad": null, "none": null })
    );
    let mut codes = error_codes(&response);
    codes.sort();
    assert_eq!(codes, ["BAD_USER_INPUT", "CONVERSION_UNAVAILABLE"]);
    let response = gateway
        .query(
            r#"query($id: ID!) { offer(id: $id) { price { formatted(locale: "xx-YY") } } }"#,
            json!({ "id": ids[7] }),
        )
        .await;
    assert_eq!(error_codes(&response), ["BAD_USER_INPUT"]);
}

#[tokio::test]
async fn a_listing_page_can_be_ordered_by_price_and_still_pages_on() {
    let gateway = TestGateway::start().await;
    let query = r#"query($after: String) { marketplaceOffers(upstream: "medusa", first: 20, after: $after, orderBy: PRICE, currency: "USD") {
        pageInfo { endCursor hasNextPage } edges { cursor node { nativeId price { amount currency in(currency: "USD") { amount } } } } } }"#;
    let first = gateway.data(query, json!({})).await;
    let edges = first["marketplaceOffers"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 20);
    let amounts: Vec<Option<Decimal>> = edges
        .iter()
        .map(|e| {
            e["node"]["price"]["in"]["amount"]
                .as_str()
                .map(|a| Decimal::from_str(a).unwrap())
        })
        .collect();
    let priced: Vec<Decimal> = amounts.iter().map_while(|a| *a).collect();
    assert!(
        priced.len() >= 15,
        "most demo offers have a price: {amounts:?}"
    );
    assert!(
        priced.windows(2).all(|w| w[0] <= w[1]),
        "cheapest first: {priced:?}"
    );
    // The same window in the upstream's order holds the same offers.
    let plain = gateway
        .data(r#"{ marketplaceOffers(upstream: "medusa", first: 20) { pageInfo { endCursor } nodes { nativeId } } }"#, Value::Null)
        .await;
    let mut a: Vec<&str> = edges
        .iter()
        .map(|e| e["node"]["nativeId"].as_str().unwrap())
        .collect();
    let mut b: Vec<&str> = plain["marketplaceOffers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["nativeId"].as_str().unwrap())
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    // endCursor continues after the whole window, whatever the order.
    assert_eq!(
        first["marketplaceOffers"]["pageInfo"]["endCursor"],
        plain["marketplaceOffers"]["pageInfo"]["endCursor"]
    );

    let response = gateway
        .query(
            r#"{ marketplaceOffers(upstream: "medusa", orderBy: PRICE) { totalCount } }"#,
            Value::Null,
        )
        .await;
    assert_eq!(error_codes(&response), ["BAD_USER_INPUT"]);
    assert_eq!(
        response["errors"][0]["message"],
        "invalid argument `currency`: ordering by PRICE needs a currency"
    );
}

#[tokio::test]
async fn a_medusa_offer_priced_only_for_bulk_compares_in_another_currency() {
    let gateway = TestGateway::start().await;
    // An offer whose every price starts above one unit (no price for one).
    let offer = gateway
        .sims
        .medusa_data
        .offers
        .iter()
        .find(|o| {
            !o.prices.is_empty()
                && o.prices
                    .iter()
                    .all(|p| p.min_quantity.is_some_and(|m| m > 1))
        })
        .expect("a bulk-only Medusa offer in the demo catalog");
    let min = offer
        .prices
        .iter()
        .filter_map(|p| p.min_quantity)
        .min()
        .unwrap();
    let currency = offer.prices[0].currency_code.to_uppercase();
    let other = if currency == "EUR" { "USD" } else { "EUR" };
    let id = GlobalId::encode(OfferKind::Marketplace, "medusa", &offer.id);
    let data = gateway
        .data(
            COMPARE,
            json!({ "ids": [id], "currency": other, "quantity": min }),
        )
        .await;
    let cmp = &data["compareOffers"];
    assert_eq!(cmp["excluded"], json!([]), "{cmp}");
    let ranked = &cmp["ranked"][0];
    assert_eq!(ranked["unitPrice"]["currency"], other);
    // The receipt adds up in the requested currency.
    let unit: Decimal = ranked["unitPrice"]["amount"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let subtotal: Decimal = ranked["subtotal"]["amount"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(subtotal, unit * Decimal::from(min));
}
