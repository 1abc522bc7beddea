//! The price of every offer of the demo catalog, as the gateway returns it,
//! equals the simulator's raw value read in that upstream's unit.
//!
//! The expected values are computed here independently of the pricing
//! module: Closient decimal strings and Medusa JSON numbers in major units,
//! Violet integers in minor units with the ISO 4217 exponents written out,
//! converted into US dollars (Violet's `base_currency`) at the simulator's
//! published rates with its rounding, written out in
//! [`common::violet_in_usd`].

use crate::common;

use std::collections::HashMap;
use std::str::FromStr;

use common::TestGateway;
use offer_gateway::upstream::closient;
use offer_gateway::GlobalId;
use offer_gateway::OfferKind;
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// (amount, currency) as the gateway answered, or `None` for an unknown price.
type Price = Option<(Decimal, String)>;

fn answered(price: &Value) -> Price {
    if price.is_null() {
        return None;
    }
    let amount = Decimal::from_str(price["amount"].as_str().expect("amount is a string"))
        .expect("amount is a decimal");
    Some((
        amount,
        price["currency"].as_str().expect("currency").to_owned(),
    ))
}

/// Reads a whole listing through the gateway, 100 at a time.
async fn walk(gateway: &TestGateway, field: &str, args: &str) -> HashMap<String, Price> {
    let mut prices = HashMap::new();
    let mut after = Value::Null;
    loop {
        let query = format!(
            "query($after: String) {{ list: {field}({args} first: 100, after: $after) {{
                totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ nativeId price {{ amount currency }} }}
            }} }}"
        );
        let data = gateway.data(&query, json!({ "after": after })).await;
        let list = &data["list"];
        for node in list["nodes"].as_array().expect("nodes") {
            prices.insert(
                node["nativeId"].as_str().expect("nativeId").to_owned(),
                answered(&node["price"]),
            );
        }
        if !list["pageInfo"]["hasNextPage"]
            .as_bool()
            .expect("hasNextPage")
        {
            assert_eq!(
                prices.len() as u64,
                list["totalCount"].as_u64().expect("totalCount")
            );
            return prices;
        }
        after = list["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test]
async fn every_demo_price_equals_the_simulators_raw_value() {
    let gateway = TestGateway::start().await;
    let sims = &gateway.sims;

    // Closient online offers: every organization the demo key sees, listed.
    let demo = closient::sim::demo_credentials();
    let mut online = HashMap::new();
    for org in sims.closient_data.organizations_visible_to(&demo) {
        online.extend(
            walk(
                &gateway,
                "onlineOffers",
                &format!("organizationId: \"{}\",", org.id),
            )
            .await,
        );
    }
    let mut checked = 0;
    for offer in &sims.closient_data.online_offers {
        let Some(got) = online.get(&offer.id) else {
            continue; // an organization the demo key cannot see
        };
        let price = offer
            .price
            .as_ref()
            .expect("the simulator always sends a price object");
        let want = price.amount.as_deref().map(|a| {
            (
                Decimal::from_str(a).expect("decimal string"),
                price.currency.clone(),
            )
        });
        assert_eq!(got, &want, "online offer {}", offer.id);
        checked += 1;
    }
    assert_eq!(checked, online.len());
    assert!(checked > 1000, "only {checked} online offers checked");

    // Closient in-store offers have no listing: look every one up by id, 100 per query.
    let in_store = common::visible_in_store(sims);
    assert!(in_store.len() > 1000);
    for chunk in in_store.chunks(100) {
        let ids: Vec<String> = chunk
            .iter()
            .map(|o| GlobalId::encode(OfferKind::InStore, "closient", &o.id))
            .collect();
        let data = gateway
            .data(
                "query($ids: [ID!]!) { offers(ids: $ids) { nativeId price { amount currency } } }",
                json!({ "ids": ids }),
            )
            .await;
        for (offer, got) in chunk.iter().zip(data["offers"].as_array().expect("offers")) {
            assert_eq!(got["nativeId"], offer.id.as_str());
            let price = offer.price.as_ref().expect("price object");
            let want = price.amount.as_deref().map(|a| {
                (
                    Decimal::from_str(a).expect("decimal string"),
                    price.currency.clone(),
                )
            });
            assert_eq!(answered(&got["price"]), want, "in-store offer {}", offer.id);
        }
    }

    // Medusa: major units; the price shown is the rule-free tier for one
    // unit (or for the smallest quantity a tier covers), the narrowest first.
    let medusa = walk(&gateway, "marketplaceOffers", "upstream: \"medusa\",").await;
    assert_eq!(medusa.len(), sims.medusa_data.offers.len());
    for offer in &sims.medusa_data.offers {
        let want = common::expect::medusa_listed(offer);
        assert_eq!(medusa[&offer.id], want, "medusa offer {}", offer.id);
    }

    // Violet: integer minor units, stored in the first SKU's currency (the
    // SKU currency is the source of truth) and answered in USD, the
    // `base_currency` the gateway asks for unless configured otherwise
    // (Violet's own default): the simulator converts at its published
    // units per US dollar, rounding half to even to the cent.
    // The price shown is the cheapest SKU a buyer can buy.
    let per_usd = common::violet_usd_rates(sims).await;
    let violet = walk(&gateway, "marketplaceOffers", "upstream: \"violet\",").await;
    assert_eq!(violet.len(), sims.violet_data.offers.len());
    let mut converted = 0;
    for offer in &sims.violet_data.offers {
        let currency = offer
            .skus
            .first()
            .and_then(|s| s.currency.clone())
            .or_else(|| offer.currency.clone())
            .expect("a currency");
        converted += usize::from(currency != "USD");
        let want = Some(common::expect::violet_listed(offer, &per_usd));
        assert_eq!(
            violet[&offer.id.to_string()],
            want,
            "violet offer {}",
            offer.id
        );
    }
    assert!(
        converted > 500,
        "only {converted} offers in other currencies"
    );
}

/// Reads a whole Violet listing and looks every offer up by id, 100 per
/// query: (listed, looked up) prices by native id.
async fn violet_listed_and_looked_up(
    gateway: &TestGateway,
) -> (HashMap<String, Price>, HashMap<String, Price>) {
    let listed = walk(gateway, "marketplaceOffers", "upstream: \"violet\",").await;
    let mut looked_up = HashMap::new();
    for chunk in gateway.sims.violet_data.offers.chunks(100) {
        let ids: Vec<String> = chunk
            .iter()
            .map(|o| GlobalId::encode(OfferKind::Marketplace, "violet", &o.id.to_string()))
            .collect();
        let data = gateway
            .data(
                "query($ids: [ID!]!) { offers(ids: $ids) { nativeId price { amount currency } } }",
                json!({ "ids": ids }),
            )
            .await;
        for got in data["offers"].as_array().expect("offers") {
            looked_up.insert(
                got["nativeId"].as_str().expect("nativeId").to_owned(),
                answered(&got["price"]),
            );
        }
    }
    (listed, looked_up)
}

#[tokio::test]
async fn a_violet_offer_has_one_price_listed_or_looked_up_in_the_configured_base_currency() {
    use offer_gateway::upstream::{violet, StyleSettings};
    // The default (USD) and another configured currency.
    for target in ["USD", "EUR"] {
        let gateway = TestGateway::start_with(|specs| {
            for spec in specs.iter_mut().filter(|s| &*s.name == "violet") {
                spec.settings.style = StyleSettings::Violet(violet::Settings {
                    base_currency: offer_gateway::Currency::parse(target).expect("ISO code"),
                });
            }
        })
        .await;
        let sims = &gateway.sims;
        let per_usd = common::violet_usd_rates(sims).await;
        let (listed, looked_up) = violet_listed_and_looked_up(&gateway).await;
        assert_eq!(listed, looked_up, "{target}: listings agree with lookups");
        assert_eq!(listed.len(), sims.violet_data.offers.len());
        for offer in &sims.violet_data.offers {
            let want = common::expect::violet_listed_in(offer, target, &per_usd);
            assert_eq!(
                listed[&offer.id.to_string()],
                Some(want),
                "{target}: violet offer {}",
                offer.id
            );
        }
    }
}
