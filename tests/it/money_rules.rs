//! The money and availability rules over the whole demo catalog, checked
//! against the simulators' raw values (issue 12's "done means"): for every
//! offer, in every currency of the Violet simulator's rate table (whose
//! cross rates do not terminate: 0.92 EUR / 1.36 CAD per dollar), at
//! quantities 1 to 50 and with no country, `US` and `DE`:
//! - `subtotal = unitPrice x quantity` and `total = subtotal + shipping`;
//! - every converted amount is the half-even rounding of the exact amount;
//! - an offer takes part exactly when the availability rule (computed here
//!   from raw values) says it can be bought for the quantity and it
//!   delivers, and `buyable` agrees with a comparison of one unit;
//! - the ranking follows known delivery, then `NOW` before `WITH_WAIT`,
//!   then totals.
//!
//! The expectations come from `common::expect`, written independently of
//! the gateway's pricing module.

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use common::expect::{self, Avail};
use common::TestGateway;
use offer_gateway::upstream::closient::wire::{InStoreOfferOut, OnlineOfferOut};
use offer_gateway::upstream::{medusa, violet};
use offer_gateway::{GlobalId, Limits, OfferKind};
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// One offer of the demo catalog, as the simulator holds it.
enum Raw<'a> {
    Online(&'a OnlineOfferOut),
    InStore(&'a InStoreOfferOut),
    Medusa(&'a medusa::wire::Offer),
    Violet(&'a violet::wire::Offer),
}

/// One comparison asked: what and against which raw values.
#[derive(Clone, Copy)]
struct Ask<'a> {
    quantity: u32,
    currency: &'a str,
    country: Option<&'a str>,
    rates: &'a BTreeMap<String, Decimal>,
    sims: &'a offer_gateway::sim::Simulators,
    now: std::time::SystemTime,
}

/// What a comparison of one offer should say.
#[derive(Debug, PartialEq)]
enum Want {
    Excluded(&'static str),
    Ranked {
        unit: Decimal,
        shipping: Option<Decimal>,
        delivery: &'static str,
        state: &'static str,
    },
}

impl Raw<'_> {
    fn availability(&self, quantity: u32) -> Avail {
        match self {
            Raw::Online(o) => expect::closient_online(o, quantity),
            Raw::InStore(o) => expect::closient_in_store(o, quantity),
            Raw::Medusa(o) => expect::medusa(o, quantity),
            Raw::Violet(o) => expect::violet(o, quantity),
        }
    }

    fn want(&self, ask: &Ask<'_>) -> Want {
        let Ask {
            quantity,
            currency,
            country,
            rates,
            sims,
            now,
        } = *ask;
        let state = match self.availability(quantity) {
            Avail::No(reason) => return Want::Excluded(reason),
            Avail::Now => "NOW",
            Avail::WithWait => "WITH_WAIT",
        };
        if let (Raw::Online(o), Some(country)) = (self, country) {
            if !o.delivery_countries.is_empty()
                && !o.delivery_countries.iter().any(|c| c == country)
            {
                return Want::Excluded("NOT_DELIVERED_TO_COUNTRY");
            }
        }
        let delivery = match (self, country) {
            (_, None) => "NOT_ASKED",
            (Raw::InStore(_), Some(_)) => "DELIVERS",
            (Raw::Online(o), Some(_)) if !o.delivery_countries.is_empty() => "DELIVERS",
            _ => "UNKNOWN",
        };
        let convert =
            |(amount, from): expect::Amount| expect::convert(amount, &from, currency, rates);
        let (unit, shipping) = match self {
            Raw::Online(o) => {
                let price = expect::closient_current(
                    expect::closient_price(o.price.as_ref()),
                    &sims.closient_data.current_online_promotions(&o.id),
                    now,
                )
                .expect("a known price");
                let shipping = expect::closient_shipping(o).map(|s| (s, price.1.clone()));
                (convert(price), shipping.map(&convert))
            }
            Raw::InStore(o) => {
                let price = expect::closient_current(
                    expect::closient_price(o.price.as_ref()),
                    &sims.closient_data.current_in_store_promotions(&o.id),
                    now,
                )
                .expect("a known price");
                let zero = (Decimal::ZERO, price.1.clone());
                (convert(price), Some(convert(zero)))
            }
            Raw::Medusa(o) => (expect::medusa_unit(o, quantity, currency, rates), None),
            Raw::Violet(o) => {
                let price = expect::violet_cheapest(o, quantity, rates)
                    .unwrap_or_else(|| expect::violet_listed(o, rates));
                (convert(price), None)
            }
        };
        let (Some(unit), shipping) = (unit, shipping) else {
            return Want::Excluded("NO_EXCHANGE_RATE");
        };
        let Some(shipping) = shipping.map_or(Some(None), |s| s.map(Some)) else {
            return Want::Excluded("NO_EXCHANGE_RATE");
        };
        Want::Ranked {
            unit,
            shipping,
            delivery,
            state,
        }
    }
}

/// Every offer the demo credentials can see, by global id.
fn catalog(gateway: &TestGateway) -> Vec<(String, Raw<'_>)> {
    let sims = &gateway.sims;
    let mut offers = Vec::new();
    for o in common::visible_online(sims) {
        offers.push((
            GlobalId::encode(OfferKind::Online, "closient", &o.id),
            Raw::Online(o),
        ));
    }
    for o in common::visible_in_store(sims) {
        offers.push((
            GlobalId::encode(OfferKind::InStore, "closient", &o.id),
            Raw::InStore(o),
        ));
    }
    for o in &sims.medusa_data.offers {
        offers.push((
            GlobalId::encode(OfferKind::Marketplace, "medusa", &o.id),
            Raw::Medusa(o),
        ));
    }
    for o in &sims.violet_data.offers {
        let id = o.id.to_string();
        offers.push((
            GlobalId::encode(OfferKind::Marketplace, "violet", &id),
            Raw::Violet(o),
        ));
    }
    offers
}

fn amount(money: &Value) -> Decimal {
    Decimal::from_str(money["amount"].as_str().expect("an amount")).expect("a decimal")
}

const COMPARE: &str = r#"query($ids: [ID!]!, $currency: String!, $quantity: Int!, $country: String) {
  compareOffers(ids: $ids, currency: $currency, quantity: $quantity, country: $country) {
    ranked { offer { id } unitPrice { amount currency } subtotal { amount currency }
             shipping { amount currency } total { amount currency } delivery
             availability { state buyable } }
    excluded { offerId reason }
  }
}"#;

/// Checks one comparison's answer against the raw values; returns how many
/// offers took part.
fn check(answer: &Value, asked: &[&(String, Raw<'_>)], ask: &Ask<'_>) -> usize {
    let (quantity, currency, country) = (ask.quantity, ask.currency, ask.country);
    let position: HashMap<&str, usize> = asked
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (id.as_str(), i))
        .collect();
    let ranked = answer["ranked"].as_array().expect("ranked");
    let excluded = answer["excluded"].as_array().expect("excluded");
    assert_eq!(ranked.len() + excluded.len(), asked.len());
    let context = format!("{quantity} units in {currency} to {country:?}");
    for e in excluded {
        let id = e["offerId"].as_str().expect("id");
        let raw = &asked[position[id]].1;
        assert_eq!(
            Want::Excluded(
                e["reason"]
                    .as_str()
                    .map(|r| &*r.to_owned().leak())
                    .expect("reason")
            ),
            raw.want(ask),
            "{id}: {context}"
        );
    }
    let mut previous: Option<(bool, String, bool, Decimal, usize)> = None;
    for r in ranked {
        let id = r["offer"]["id"].as_str().expect("id");
        let index = position[id];
        let Want::Ranked {
            unit,
            shipping,
            delivery,
            state,
        } = asked[index].1.want(ask)
        else {
            panic!("{id} is ranked for {context}, but should be left out");
        };
        for field in ["unitPrice", "subtotal", "shipping", "total"] {
            if !r[field].is_null() {
                assert_eq!(r[field]["currency"], currency, "{id} {field}");
            }
        }
        assert_eq!(amount(&r["unitPrice"]), unit, "{id} unit price, {context}");
        let subtotal = amount(&r["subtotal"]);
        assert_eq!(
            subtotal,
            unit * Decimal::from(quantity),
            "{id} subtotal, {context}"
        );
        match shipping {
            Some(shipping) => {
                assert_eq!(amount(&r["shipping"]), shipping, "{id} shipping, {context}");
                assert_eq!(
                    amount(&r["total"]),
                    subtotal + shipping,
                    "{id} total, {context}"
                );
            }
            None => assert!(r["shipping"].is_null() && r["total"].is_null(), "{id}"),
        }
        assert_eq!(r["delivery"], delivery, "{id} delivery, {context}");
        assert_eq!(
            r["availability"]["state"], state,
            "{id} availability, {context}"
        );
        assert_eq!(r["availability"]["buyable"], true);
        // Known delivery, then NOW before WITH_WAIT, then known totals,
        // then unknown totals by subtotal, then the order asked.
        let key = (
            delivery == "UNKNOWN",
            state.to_owned(),
            shipping.is_none(),
            shipping.map_or(subtotal, |s| subtotal + s),
            index,
        );
        if let Some(previous) = &previous {
            let state_rank = |s: &str| if s == "NOW" { 0 } else { 1 };
            let a = (
                previous.0,
                state_rank(&previous.1),
                previous.2,
                previous.3,
                previous.4,
            );
            let b = (key.0, state_rank(&key.1), key.2, key.3, key.4);
            assert!(
                a < b,
                "ranking out of order at {id}, {context}: {a:?} then {b:?}"
            );
        }
        previous = Some(key);
    }
    ranked.len()
}

#[tokio::test]
async fn every_comparison_of_the_demo_catalog_adds_up_and_agrees_with_buyable() {
    let gateway = TestGateway::start_with_limits(Limits {
        max_ids: 50_000,
        max_body_bytes: 16 << 20,
        ..Limits::default()
    })
    .await;
    let rates: BTreeMap<String, Decimal> = gateway
        .sims
        .violet_data
        .rates
        .iter()
        .map(|(code, rate)| ((*code).to_owned(), *rate))
        .collect();
    let offers = catalog(&gateway);
    assert!(offers.len() > 3_000, "only {} offers", offers.len());
    let countries = [None, Some("US"), Some("DE")];

    // `buyable` and `availability` of every offer, against the rule.
    for chunk in offers.chunks(100) {
        let ids: Vec<&str> = chunk.iter().map(|(id, _)| id.as_str()).collect();
        let data = gateway
            .data(
                "query($ids: [ID!]!) { offers(ids: $ids) { id buyable
                   one: availability { state reason buyable } } }",
                json!({ "ids": ids }),
            )
            .await;
        for ((id, raw), got) in chunk.iter().zip(data["offers"].as_array().expect("offers")) {
            assert_eq!(got["id"], id.as_str());
            assert_eq!(got["buyable"], raw.availability(1).buyable(), "{id}");
            assert_eq!(got["one"]["buyable"], got["buyable"], "{id}");
        }
    }

    // One unit, no country, in each offer's own pricing currency or any:
    // exactly the buyable offers take part.
    let all: Vec<&(String, Raw<'_>)> = offers.iter().collect();
    let ids: Vec<&str> = all.iter().map(|(id, _)| id.as_str()).collect();
    let answer = gateway
        .data(
            COMPARE,
            json!({ "ids": ids, "currency": "USD", "quantity": 1 }),
        )
        .await;
    let buyable = offers
        .iter()
        .filter(|(_, raw)| raw.availability(1).buyable())
        .count();
    let ask = |quantity, currency, country| Ask {
        quantity,
        currency,
        country,
        rates: &rates,
        sims: &gateway.sims,
        now: std::time::SystemTime::now(),
    };
    assert_eq!(
        check(&answer["compareOffers"], &all, &ask(1, "USD", None)),
        buyable
    );

    // Every currency x country; the quantities 1 to 50 spread over the
    // offers so that each offer meets several and every quantity is asked.
    let mut comparisons = 0;
    let mut ranked = 0;
    for (c, currency) in rates.keys().enumerate() {
        for (k, country) in countries.iter().enumerate() {
            let pass = c * countries.len() + k;
            let mut by_quantity: BTreeMap<u32, Vec<&(String, Raw<'_>)>> = BTreeMap::new();
            for (i, offer) in offers.iter().enumerate() {
                let quantity = 1 + u32::try_from((i * 7 + pass * 13) % 50).unwrap();
                by_quantity.entry(quantity).or_default().push(offer);
            }
            assert_eq!(by_quantity.len(), 50);
            for (quantity, asked) in &by_quantity {
                let ids: Vec<&str> = asked.iter().map(|(id, _)| id.as_str()).collect();
                let answer = gateway
                    .data(
                        COMPARE,
                        json!({ "ids": ids, "currency": currency, "quantity": quantity,
                                "country": country }),
                    )
                    .await;
                ranked += check(
                    &answer["compareOffers"],
                    asked,
                    &ask(*quantity, currency, *country),
                );
                comparisons += asked.len();
            }
        }
    }
    assert_eq!(comparisons, offers.len() * rates.len() * countries.len());
    eprintln!(
        "checked {comparisons} comparisons of {} offers ({} currencies x {} countries, \
         quantities 1-50): {ranked} ranked",
        offers.len(),
        rates.len(),
        countries.len()
    );
    assert!(
        ranked > comparisons / 4,
        "only {ranked} of {comparisons} offers took part"
    );
}

#[tokio::test]
async fn every_closient_offer_shows_its_regular_price_and_the_promotion_in_effect() {
    let gateway = TestGateway::start().await;
    let sims = &gateway.sims;
    let online = common::visible_online(sims);
    let mut promoted = 0;
    for chunk in online.chunks(100) {
        let ids: Vec<String> = chunk
            .iter()
            .map(|o| GlobalId::encode(OfferKind::Online, "closient", &o.id))
            .collect();
        let data = gateway
            .data(
                "query($ids: [ID!]!) { offers(ids: $ids) { nativeId price { amount currency }
                   currentPrice { amount currency } promotion { price { amount currency } } } }",
                json!({ "ids": ids }),
            )
            .await;
        let now = std::time::SystemTime::now();
        for (raw, got) in chunk.iter().zip(data["offers"].as_array().expect("offers")) {
            assert_eq!(got["nativeId"], raw.id.as_str());
            let regular = expect::closient_price(raw.price.as_ref());
            let current = expect::closient_current(
                regular.clone(),
                &sims.closient_data.current_online_promotions(&raw.id),
                now,
            );
            let shown = |money: &Value| {
                (!money.is_null()).then(|| {
                    (
                        amount(money),
                        money["currency"].as_str().unwrap().to_owned(),
                    )
                })
            };
            assert_eq!(shown(&got["price"]), regular, "{}", raw.id);
            assert_eq!(shown(&got["currentPrice"]), current, "{}", raw.id);
            if current != regular || !got["promotion"].is_null() {
                assert_eq!(shown(&got["promotion"]["price"]), current, "{}", raw.id);
                promoted += 1;
            }
        }
    }
    assert!(
        promoted > 100,
        "only {promoted} offers with a promotion in effect"
    );
}

/// One row of the README's worked example table: rank, unit price,
/// shipping and total amounts (`None` for "unknown").
type ReadmeRow = (u32, Decimal, Option<Decimal>, Option<Decimal>);

/// The rows of the worked example table under "Worked example
/// (`examples/compare_offers.graphql`" in the README.
fn readme_worked_example() -> Vec<ReadmeRow> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("the README");
    let start = readme
        .find("Worked example (`examples/compare_offers.graphql`")
        .expect("the README's worked example");
    // The first number of a cell, or `None` when it has none ("unknown").
    let number = |cell: &str| {
        cell.trim_matches(|c: char| c == '*' || c.is_whitespace())
            .split_whitespace()
            .next()
            .and_then(|word| Decimal::from_str(word).ok())
    };
    readme[start..]
        .lines()
        .skip_while(|line| !line.starts_with("| rank"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').collect();
            assert_eq!(cells.len(), 5, "a row of five cells: {line}");
            (
                cells[0].trim().parse().expect("a rank"),
                number(cells[2]).expect("a unit price"),
                number(cells[3]),
                number(cells[4]),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_readmes_worked_example_is_recomputed_from_raw_values() {
    let rows = readme_worked_example();
    assert!(rows.len() >= 3, "{rows:?}");
    let gateway = TestGateway::start_synced().await;
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/compare_offers.graphql"
    ))
    .expect("the example");
    let data = gateway.data(&example, Value::Null).await;
    let ranked = data["product"]["compare"]["ranked"]
        .as_array()
        .expect("ranked");
    assert_eq!(
        ranked.len(),
        rows.len(),
        "the README lists every ranked offer"
    );

    let offers = catalog(&gateway);
    let raw_of: HashMap<&str, &Raw<'_>> =
        offers.iter().map(|(id, raw)| (id.as_str(), raw)).collect();
    let rates: BTreeMap<String, Decimal> = gateway
        .sims
        .violet_data
        .rates
        .iter()
        .map(|(code, rate)| ((*code).to_owned(), *rate))
        .collect();
    let ask = Ask {
        quantity: 1,
        currency: "EUR",
        country: Some("DE"),
        rates: &rates,
        sims: &gateway.sims,
        now: std::time::SystemTime::now(),
    };
    for ((rank, unit, shipping, total), got) in rows.iter().zip(ranked) {
        assert_eq!(got["rank"], *rank);
        let kind = OfferKind::from_type_name(got["offer"]["__typename"].as_str().expect("type"))
            .expect("an offer type");
        let id = GlobalId::encode(
            kind,
            got["offer"]["upstream"].as_str().expect("upstream"),
            got["offer"]["nativeId"].as_str().expect("nativeId"),
        );
        // The README, the gateway and the raw values agree.
        let Want::Ranked {
            unit: want_unit,
            shipping: want_shipping,
            ..
        } = raw_of[id.as_str()].want(&ask)
        else {
            panic!("{id} should take part");
        };
        assert_eq!(
            (*unit, *shipping),
            (want_unit, want_shipping),
            "README row {rank}"
        );
        assert_eq!(
            *total,
            want_shipping.map(|s| want_unit + s),
            "README row {rank}"
        );
        assert_eq!(amount(&got["unitPrice"]), want_unit, "row {rank}");
        let answered = |field: &str| (!got[field].is_null()).then(|| amount(&got[field]));
        assert_eq!(answered("shipping"), want_shipping, "row {rank}");
        assert_eq!(answered("total"), *total, "row {rank}");
    }
}
