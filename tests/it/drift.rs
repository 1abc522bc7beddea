//! Drift mode end to end: the simulators send the unusual values the seed
//! documents allow (unknown enum values, nulls, signed and odd amounts,
//! missing fields, huge counts) and a few genuinely unreadable offers.
//! Through the gateway, over real HTTP, every readable offer of the whole
//! demo catalog answers (in listings and by id) with the simulator's raw
//! values, unknown enum values come back as `UNRECOGNIZED` with the raw
//! string, and each unreadable offer gives exactly one
//! `UPSTREAM_BAD_RESPONSE` error at its own path while the rest of its page
//! answers.

use crate::common;

use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;

use common::TestGateway;

use crate::common::cursor as encode_cursor;
use offer_gateway::upstream::closient::wire::{InStoreOfferOut, OnlineOfferOut};
use offer_gateway::upstream::{closient, medusa, violet};
use offer_gateway::GlobalId;
use offer_gateway::OfferKind;
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// The paths of a response's errors, each checked to be an
/// `UPSTREAM_BAD_RESPONSE` of `upstream` that leaks no upstream detail.
fn bad_response_paths(response: &Value, upstream: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for error in response["errors"].as_array().into_iter().flatten() {
        assert_eq!(
            error["extensions"]["code"], "UPSTREAM_BAD_RESPONSE",
            "{error}"
        );
        assert_eq!(error["extensions"]["upstream"], upstream, "{error}");
        let message = error["message"].as_str().expect("message");
        assert!(
            !message.contains("http") && !message.contains("12,99") && !message.contains("twenty"),
            "{message}"
        );
        assert!(
            paths.insert(error["path"].to_string()),
            "one error per path: {error}"
        );
    }
    paths
}

/// An exact decimal as a simulator wrote it (`+` sign, leading zeros,
/// leading point, exponent notation), read without the gateway's code.
fn decimal(raw: &str) -> Decimal {
    let raw = raw.strip_prefix('+').unwrap_or(raw);
    if raw.contains(['e', 'E']) {
        Decimal::from_scientific(raw).expect("scientific decimal")
    } else if let Some(fraction) = raw.strip_prefix('.') {
        Decimal::from_str(&format!("0.{fraction}")).expect("decimal")
    } else {
        Decimal::from_str(raw).expect("decimal")
    }
}

fn answered_amount(money: &Value) -> Option<Decimal> {
    money["amount"].as_str().map(decimal)
}

/// The GraphQL spelling of a raw enum value: `UNRECOGNIZED` unless known.
fn enum_value(raw: &str, known: bool) -> String {
    if known {
        raw.to_ascii_uppercase()
    } else {
        "UNRECOGNIZED".to_owned()
    }
}

fn saturated(count: i64) -> i64 {
    count.clamp(i64::from(i32::MIN), i64::from(i32::MAX))
}

/// Counts of drifted values seen, to check that each kind occurred.
#[derive(Default, Debug)]
struct Seen(HashMap<&'static str, usize>);

impl Seen {
    fn add(&mut self, what: &'static str, happened: bool) {
        *self.0.entry(what).or_default() += usize::from(happened);
    }

    fn assert_all(&self, kinds: &[&str]) {
        for kind in kinds {
            assert!(
                self.0.get(kind).copied().unwrap_or(0) > 0,
                "no {kind}: {self:?}"
            );
        }
    }
}

const ONLINE_FIELDS: &str = "nativeId status upstreamStatus retailStatus source upstreamSource
    fulfillmentType upstreamFulfillmentType stockLevel upstreamStockLevel minOrderQuantity
    leadTimeDays url sku organizationId price { amount currency } shippingCost { amount currency }
    upstreamShippingCost";

/// The status and source every Closient offer has: known values as the
/// GraphQL enum, unknown ones as `UNRECOGNIZED`, both with the raw value.
fn check_retail_enums(
    status: &closient::wire::OfferStatus,
    source: &closient::wire::OfferSource,
    node: &Value,
    seen: &mut Seen,
) {
    use closient::wire::{OfferSource, OfferStatus};
    let status_known = !matches!(status, OfferStatus::Unrecognized(_));
    assert_eq!(
        node["retailStatus"],
        enum_value(status.as_str(), status_known)
    );
    assert_eq!(node["upstreamStatus"], status.as_str());
    seen.add("unknown status", !status_known);
    let source_known = !matches!(source, OfferSource::Unrecognized(_));
    assert_eq!(node["source"], enum_value(source.as_str(), source_known));
    assert_eq!(node["upstreamSource"], source.as_str());
    seen.add("unknown source", !source_known);
}

fn check_online(raw: &OnlineOfferOut, node: &Value, seen: &mut Seen) {
    use closient::wire::{FulfillmentType, StockLevel};
    assert_eq!(node["nativeId"], raw.id.as_str());
    check_retail_enums(&raw.status, &raw.source, node, seen);
    let fulfillment_known = !matches!(raw.fulfillment_type, FulfillmentType::Unrecognized(_));
    assert_eq!(
        node["fulfillmentType"],
        enum_value(raw.fulfillment_type.as_str(), fulfillment_known)
    );
    assert_eq!(
        node["upstreamFulfillmentType"],
        raw.fulfillment_type.as_str()
    );
    seen.add("unknown fulfillment", !fulfillment_known);
    let stock_known = !matches!(raw.stock_level, StockLevel::Unrecognized(_));
    assert_eq!(
        node["stockLevel"],
        enum_value(raw.stock_level.as_str(), stock_known)
    );
    assert_eq!(node["upstreamStockLevel"], raw.stock_level.as_str());
    seen.add("unknown stock level", !stock_known);
    assert_eq!(node["minOrderQuantity"], saturated(raw.min_order_quantity));
    assert_eq!(
        node["leadTimeDays"],
        json!(raw.lead_time_days.map(saturated))
    );
    seen.add(
        "huge count",
        raw.lead_time_days.unwrap_or(0) > i64::from(i32::MAX),
    );
    assert_eq!(node["url"], raw.url.as_str());
    assert_eq!(node["organizationId"], json!(raw.organization_id));
    let price = raw.price.as_ref();
    let want_price = price.and_then(|p| p.amount.as_deref()).map(decimal);
    assert_eq!(answered_amount(&node["price"]), want_price, "{}", raw.id);
    seen.add("no price", price.is_none());
    seen.add(
        "signed price",
        price
            .and_then(|p| p.amount.as_deref())
            .is_some_and(|a| a.starts_with('+')),
    );
    assert_eq!(node["upstreamShippingCost"], json!(raw.shipping_cost));
    let want_shipping = raw
        .shipping_cost
        .as_deref()
        .filter(|_| price.is_some())
        .map(decimal)
        .filter(|cost| !cost.is_sign_negative() || cost.is_zero());
    assert_eq!(
        answered_amount(&node["shippingCost"]),
        want_shipping,
        "{}",
        raw.id
    );
    seen.add(
        "negative shipping",
        raw.shipping_cost
            .as_deref()
            .is_some_and(|c| c.starts_with('-')),
    );
    if let (Some(price), false) = (price, node["price"].is_null()) {
        assert_eq!(node["price"]["currency"], price.currency.as_str());
    }
}

#[tokio::test]
async fn closient_listings_answer_every_readable_offer_and_one_error_per_unreadable_one() {
    let gateway = TestGateway::start_drifted().await;
    let data = &gateway.sims.closient_data;
    let demo = closient::sim::demo_credentials();
    let mut seen = Seen::default();
    let (mut answered, mut failed) = (0, 0);
    for org in data.organizations_visible_to(&demo) {
        let listing = data.organization_online_offers(&org.id);
        let mut offset = 0;
        let mut after = Value::Null;
        loop {
            let query = format!(
                "query($org: String!, $after: String) {{ onlineOffers(organizationId: $org, first: 100, after: $after) {{
                    totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ {ONLINE_FIELDS} }} }}
                }} }}"
            );
            let response = gateway
                .query(&query, json!({"org": org.id, "after": after}))
                .await;
            let errors = bad_response_paths(&response, "closient");
            let page = &response["data"]["onlineOffers"];
            assert_eq!(page["totalCount"], listing.len());
            let edges = page["edges"].as_array().expect("edges");
            let mut nulls = BTreeSet::new();
            for (k, edge) in edges.iter().enumerate() {
                let raw = listing[offset + k];
                if data.drift.is_unreadable(&raw.id) {
                    assert!(edge["node"].is_null(), "{edge}");
                    assert!(edge["cursor"].is_string(), "the edge keeps its cursor");
                    nulls.insert(json!(["onlineOffers", "edges", k, "node"]).to_string());
                    failed += 1;
                } else {
                    check_online(raw, &edge["node"], &mut seen);
                    answered += 1;
                }
            }
            assert_eq!(
                errors, nulls,
                "one error at each unreadable offer's own path"
            );
            assert!(nulls.len() < edges.len(), "the rest of the page answers");
            offset += edges.len();
            if !page["pageInfo"]["hasNextPage"]
                .as_bool()
                .expect("hasNextPage")
            {
                break;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(offset, listing.len());
    }
    let visible = data.online_offers_visible_to(&demo);
    let unreadable = visible
        .iter()
        .filter(|o| data.drift.is_unreadable(&o.id))
        .count();
    assert_eq!((answered, failed), (visible.len() - unreadable, unreadable));
    assert!(unreadable > 50, "{unreadable}");
    seen.assert_all(&[
        "unknown status",
        "unknown source",
        "unknown fulfillment",
        "unknown stock level",
        "huge count",
        "no price",
        "signed price",
        "negative shipping",
    ]);
}

const IN_STORE_FIELDS: &str = "nativeId status upstreamStatus retailStatus source upstreamSource
    quantityOnHand aisle sku storePickupAvailable organizationId price { amount currency }";

fn check_in_store(raw: &InStoreOfferOut, node: &Value, seen: &mut Seen) {
    assert_eq!(node["nativeId"], raw.id.as_str());
    check_retail_enums(&raw.status, &raw.source, node, seen);
    assert_eq!(
        node["quantityOnHand"],
        json!(raw.quantity_on_hand.map(saturated))
    );
    seen.add(
        "huge count",
        raw.quantity_on_hand.unwrap_or(0) > i64::from(i32::MAX),
    );
    assert_eq!(node["aisle"], raw.aisle.as_str());
    assert_eq!(node["storePickupAvailable"], raw.store_pickup_available);
    let want = raw
        .price
        .as_ref()
        .and_then(|p| p.amount.as_deref())
        .map(decimal);
    assert_eq!(answered_amount(&node["price"]), want, "{}", raw.id);
    seen.add("no price", raw.price.is_none());
}

/// Looks `ids` up 100 at a time with `offers(ids:)`; `check` sees each
/// readable answer, and every unreadable id must be null with one error at
/// its own index.
async fn lookup_all(
    gateway: &TestGateway,
    upstream: &str,
    ids: &[(String, bool)],
    fragment: &str,
    mut check: impl FnMut(usize, &Value),
) {
    let query = format!("query($ids: [ID!]!) {{ offers(ids: $ids) {{ {fragment} }} }}");
    for (chunk_index, chunk) in ids.chunks(100).enumerate() {
        let globals: Vec<&String> = chunk.iter().map(|(id, _)| id).collect();
        let response = gateway.query(&query, json!({ "ids": globals })).await;
        let errors = bad_response_paths(&response, upstream);
        let offers = response["data"]["offers"].as_array().expect("offers");
        assert_eq!(offers.len(), chunk.len());
        let mut nulls = BTreeSet::new();
        for (k, ((_, unreadable), offer)) in chunk.iter().zip(offers).enumerate() {
            if *unreadable {
                assert!(offer.is_null(), "{offer}");
                nulls.insert(json!(["offers", k]).to_string());
            } else {
                check(chunk_index * 100 + k, offer);
            }
        }
        assert_eq!(
            errors, nulls,
            "one error per unreadable offer, at its index"
        );
    }
}

#[tokio::test]
async fn closient_lookups_by_id_answer_readable_offers_and_fail_only_unreadable_ones() {
    let gateway = TestGateway::start_drifted().await;
    let data = &gateway.sims.closient_data;
    let demo = closient::sim::demo_credentials();
    let mut seen = Seen::default();
    let online = data.online_offers_visible_to(&demo);
    let ids: Vec<(String, bool)> = online
        .iter()
        .map(|o| {
            let id = GlobalId::encode(OfferKind::Online, "closient", &o.id);
            (id, data.drift.is_unreadable(&o.id))
        })
        .collect();
    let fragment = format!("... on OnlineOffer {{ {ONLINE_FIELDS} }}");
    lookup_all(&gateway, "closient", &ids, &fragment, |i, node| {
        check_online(online[i], node, &mut seen)
    })
    .await;
    let in_store = data.in_store_offers_visible_to(&demo);
    let ids: Vec<(String, bool)> = in_store
        .iter()
        .map(|o| {
            let id = GlobalId::encode(OfferKind::InStore, "closient", &o.id);
            (id, data.drift.is_unreadable(&o.id))
        })
        .collect();
    assert!(ids.iter().filter(|(_, bad)| *bad).count() > 10);
    let fragment = format!("... on InStoreOffer {{ {IN_STORE_FIELDS} }}");
    lookup_all(&gateway, "closient", &ids, &fragment, |i, node| {
        check_in_store(in_store[i], node, &mut seen)
    })
    .await;
    seen.assert_all(&[
        "unknown status",
        "unknown source",
        "unknown fulfillment",
        "unknown stock level",
        "huge count",
        "no price",
    ]);
}

const MEDUSA_FIELDS: &str = "nativeId price { amount currency } seller { nativeId name }
    details { ... on MedusaOfferDetails { sku variantCount createdAt
      prices { nativeId minQuantity maxQuantity price { amount currency } }
      inventoryItems { requiredQuantity } } }";

fn check_medusa(raw: &medusa::wire::Offer, node: &Value, seen: &mut Seen) {
    assert_eq!(node["nativeId"], raw.id.as_str());
    let details = &node["details"];
    assert_eq!(
        details["variantCount"],
        json!(raw.variant_count.map(saturated))
    );
    seen.add(
        "huge count",
        raw.variant_count.unwrap_or(0) > i64::from(i32::MAX),
    );
    assert_eq!(details["createdAt"], json!(raw.created_at));
    seen.add(
        "no relations",
        raw.seller.is_none() && raw.product_variant.is_none(),
    );
    let prices = details["prices"].as_array().expect("prices");
    assert_eq!(prices.len(), raw.prices.len());
    seen.add("no prices", raw.prices.is_empty());
    for (got, want) in prices.iter().zip(&raw.prices) {
        assert_eq!(got["nativeId"], want.id.as_str());
        assert_eq!(
            answered_amount(&got["price"]),
            Some(decimal(want.amount.as_str()))
        );
        assert_eq!(got["price"]["currency"], want.currency_code.to_uppercase());
        assert_eq!(got["maxQuantity"], json!(want.max_quantity.map(saturated)));
        seen.add("exponent amount", want.amount.as_str().contains('e'));
    }
    let items = details["inventoryItems"]
        .as_array()
        .expect("inventory items");
    assert_eq!(items.len(), raw.inventory_items.len());
    for (got, want) in items.iter().zip(&raw.inventory_items) {
        assert_eq!(
            got["requiredQuantity"],
            json!(want.required_quantity.map(saturated))
        );
    }
}

#[tokio::test]
async fn medusa_listing_and_lookups_answer_every_readable_offer_under_drift() {
    let gateway = TestGateway::start_drifted().await;
    let data = &gateway.sims.medusa_data;
    let mut raw: Vec<&medusa::wire::Offer> = data.offers.iter().collect();
    raw.sort_by(|a, b| a.id.cmp(&b.id));
    let mut seen = Seen::default();
    let fields = format!("edges {{ cursor node {{ {MEDUSA_FIELDS} }} }}");
    let failed = walk_marketplace(&gateway, "medusa", &fields, |position, node| {
        let offer = raw[position];
        if data.drift.is_unreadable(&offer.id) {
            return false;
        }
        check_medusa(offer, node, &mut seen);
        true
    })
    .await;
    let unreadable = data.drift.unreadable_ids().len();
    assert_eq!(failed, unreadable);
    assert!(unreadable >= raw.len() / 20, "{unreadable}");

    let ids: Vec<(String, bool)> = raw
        .iter()
        .map(|o| {
            let id = GlobalId::encode(OfferKind::Marketplace, "medusa", &o.id);
            (id, data.drift.is_unreadable(&o.id))
        })
        .collect();
    let fragment = format!("... on MarketplaceOffer {{ {MEDUSA_FIELDS} }}");
    lookup_all(&gateway, "medusa", &ids, &fragment, |i, node| {
        check_medusa(raw[i], node, &mut seen)
    })
    .await;
    seen.assert_all(&["huge count", "no relations", "no prices", "exponent amount"]);
}

/// Walks a whole marketplace listing, 100 at a time. `readable(position,
/// node)` checks a node and says whether the offer there is readable; an
/// unreadable one must be a null node with one error at its path. Returns
/// how many offers failed.
async fn walk_marketplace(
    gateway: &TestGateway,
    upstream: &str,
    fields: &str,
    mut readable: impl FnMut(usize, &Value) -> bool,
) -> usize {
    let query = format!(
        "query($up: String!, $after: String) {{ marketplaceOffers(upstream: $up, first: 100, after: $after) {{
            totalCount pageInfo {{ hasNextPage endCursor }} {fields}
        }} }}"
    );
    let (mut position, mut failed) = (0, 0);
    let mut after = Value::Null;
    loop {
        let response = gateway
            .query(&query, json!({"up": upstream, "after": after}))
            .await;
        let errors = bad_response_paths(&response, upstream);
        let page = &response["data"]["marketplaceOffers"];
        let edges = page["edges"].as_array().expect("edges");
        let mut nulls = BTreeSet::new();
        for (k, edge) in edges.iter().enumerate() {
            if !readable(position + k, &edge["node"]) {
                assert!(edge["node"].is_null(), "{edge}");
                nulls.insert(json!(["marketplaceOffers", "edges", k, "node"]).to_string());
            }
        }
        assert_eq!(
            errors, nulls,
            "one error at each unreadable offer's own path"
        );
        assert!(nulls.len() < edges.len(), "the rest of the page answers");
        if edges.len() >= 20 {
            assert!(!nulls.is_empty(), "drift breaks one offer in every twenty");
        }
        failed += nulls.len();
        position += edges.len();
        if !page["pageInfo"]["hasNextPage"]
            .as_bool()
            .expect("hasNextPage")
        {
            assert_eq!(page["totalCount"], position);
            return failed;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

const VIOLET_FIELDS: &str = "nativeId status upstreamStatus price { amount currency }
    details { ... on VioletOfferDetails { source upstreamSource type upstreamType status upstreamStatus
      publishingStatus upstreamPublishingStatus subscriptionStatus upstreamSubscriptionStatus
      minPrice { amount } maxPrice { amount } description tags commissionRate
      variants { name displayOrder values { name } }
      skus { name status upstreamStatus type upstreamType quantityAvailable
             salePrice { amount currency } retailPrice { amount currency } } } }";

fn violet_enum<T: serde::Serialize>(raw: &T, unrecognized: bool) -> (String, String) {
    let spelling = violet::wire::spelling(raw);
    let graphql = if unrecognized {
        "UNRECOGNIZED".to_owned()
    } else {
        spelling.clone()
    };
    (graphql, spelling)
}

/// Checks one Violet offer as the gateway answered it against the raw
/// offer; `per_usd` are the simulator's published rates, which its prices
/// are answered in US dollars at ([`common::violet_in_usd`]).
fn check_violet(
    raw: &violet::wire::Offer,
    node: &Value,
    seen: &mut Seen,
    per_usd: &common::expect::Rates,
) {
    use violet::wire::{ProductType, PublishingStatus, Source, Status, SubscriptionStatus};
    assert_eq!(node["nativeId"], raw.id.to_string());
    let d = &node["details"];
    let unknown_source = matches!(raw.source, Source::Unrecognized(_));
    let (graphql, spelling) = violet_enum(&raw.source, unknown_source);
    assert_eq!(
        (&d["source"], &d["upstreamSource"]),
        (&json!(graphql), &json!(spelling))
    );
    seen.add("unknown source", unknown_source);
    let unknown_status = matches!(raw.status, Some(Status::Unrecognized(_)));
    seen.add("unknown status", unknown_status);
    if let Some(status) = &raw.status {
        let (graphql, spelling) = violet_enum(status, unknown_status);
        assert_eq!(
            (&d["status"], &d["upstreamStatus"]),
            (&json!(graphql), &json!(spelling))
        );
        assert_eq!(node["upstreamStatus"], spelling);
    }
    if unknown_status {
        assert_eq!(node["status"], "UNRECOGNIZED");
    }
    if let Some(kind) = &raw.product_type {
        let unknown = matches!(kind, ProductType::Unrecognized(_));
        seen.add("unknown type", unknown);
        let (graphql, spelling) = violet_enum(kind, unknown);
        assert_eq!(
            (&d["type"], &d["upstreamType"]),
            (&json!(graphql), &json!(spelling))
        );
    }
    if let Some(publishing) = &raw.publishing_status {
        let unknown = matches!(publishing, PublishingStatus::Unrecognized(_));
        let (graphql, spelling) = violet_enum(publishing, unknown);
        assert_eq!(
            (&d["publishingStatus"], &d["upstreamPublishingStatus"]),
            (&json!(graphql), &json!(spelling))
        );
    }
    if let Some(subscription) = &raw.subscription_status {
        let unknown = matches!(subscription, SubscriptionStatus::Unrecognized(_));
        let (graphql, spelling) = violet_enum(subscription, unknown);
        assert_eq!(
            (&d["subscriptionStatus"], &d["upstreamSubscriptionStatus"]),
            (&json!(graphql), &json!(spelling))
        );
    }
    let currency = raw
        .skus
        .first()
        .and_then(|s| s.currency.clone())
        .or_else(|| raw.currency.clone())
        .expect("a currency");
    // Every SKU is in the merchant's currency (a SKU without one is in the
    // offer's), and every price is answered in USD; the price shown is the
    // cheapest SKU a buyer can buy.
    let usd = |amount: i64| common::violet_in_usd(amount, &currency, per_usd);
    let (listed, listed_currency) = common::expect::violet_listed(raw, per_usd);
    assert_eq!(answered_amount(&node["price"]), Some(listed));
    assert_eq!(node["price"]["currency"], listed_currency.as_str());
    assert_eq!(listed_currency, "USD");
    assert_eq!(answered_amount(&d["minPrice"]), Some(usd(raw.min_price)));
    assert_eq!(d["maxPrice"]["amount"].is_null(), raw.max_price.is_none());
    seen.add("no max price", raw.max_price.is_none());
    assert_eq!(d["description"], json!(raw.description));
    assert_eq!(d["tags"], json!(raw.tags));
    let variants = d["variants"].as_array().expect("variants");
    assert_eq!(variants.len(), raw.variants.len());
    for (got, want) in variants.iter().zip(&raw.variants) {
        assert_eq!(got["name"], json!(want.name));
        seen.add("variant without name", want.name.is_none());
        assert_eq!(
            got["displayOrder"],
            json!(want.display_order.map(saturated))
        );
        seen.add(
            "huge count",
            want.display_order.unwrap_or(0) > i64::from(i32::MAX),
        );
    }
    let skus = d["skus"].as_array().expect("skus");
    assert_eq!(skus.len(), raw.skus.len());
    for (got, want) in skus.iter().zip(&raw.skus) {
        assert_eq!(got["name"], json!(want.name));
        assert_eq!(
            got["quantityAvailable"],
            json!(want.quantity_available.map(saturated))
        );
        if let Some(status) = &want.status {
            let (graphql, spelling) =
                violet_enum(status, matches!(status, Status::Unrecognized(_)));
            assert_eq!(
                (&got["status"], &got["upstreamStatus"]),
                (&json!(graphql), &json!(spelling))
            );
        }
        if let Some(kind) = &want.product_type {
            let (graphql, spelling) =
                violet_enum(kind, matches!(kind, ProductType::Unrecognized(_)));
            assert_eq!(
                (&got["type"], &got["upstreamType"]),
                (&json!(graphql), &json!(spelling))
            );
        }
        assert_eq!(answered_amount(&got["salePrice"]), want.sale_price.map(usd));
        assert_eq!(
            answered_amount(&got["retailPrice"]),
            want.retail_price.map(usd)
        );
        for price in [&got["salePrice"], &got["retailPrice"]] {
            assert!(price.is_null() || price["currency"] == "USD", "{price}");
        }
        seen.add("SKU without currency", want.currency.is_none());
        seen.add(
            "retail price only",
            want.sale_price.is_none() && want.retail_price.is_some(),
        );
    }
}

#[tokio::test]
async fn violet_listing_and_lookups_answer_every_readable_offer_under_drift() {
    let gateway = TestGateway::start_drifted().await;
    let data = &gateway.sims.violet_data;
    let per_usd = common::violet_usd_rates(&gateway.sims).await;
    let mut seen = Seen::default();
    let fields = format!("edges {{ cursor node {{ {VIOLET_FIELDS} }} }}");
    let failed = walk_marketplace(&gateway, "violet", &fields, |position, node| {
        let offer = &data.offers[position];
        if data.drift.is_unreadable(&offer.id.to_string()) {
            return false;
        }
        check_violet(offer, node, &mut seen, &per_usd);
        true
    })
    .await;
    assert_eq!(failed, data.drift.unreadable_ids().len());
    assert!(failed >= data.offers.len() / 20, "{failed}");

    let ids: Vec<(String, bool)> = data
        .offers
        .iter()
        .map(|o| {
            let id = GlobalId::encode(OfferKind::Marketplace, "violet", &o.id.to_string());
            (id, data.drift.is_unreadable(&o.id.to_string()))
        })
        .collect();
    let fragment = format!("... on MarketplaceOffer {{ {VIOLET_FIELDS} }}");
    lookup_all(&gateway, "violet", &ids, &fragment, |i, node| {
        check_violet(&data.offers[i], node, &mut seen, &per_usd)
    })
    .await;
    seen.assert_all(&[
        "unknown source",
        "unknown status",
        "unknown type",
        "no max price",
        "variant without name",
        "huge count",
        "retail price only",
        "SKU without currency",
    ]);
}

#[tokio::test]
async fn nodes_of_a_page_with_an_unreadable_offer_are_null_there_with_one_error() {
    let gateway = TestGateway::start_drifted().await;
    let response = gateway
        .query(
            r#"{ marketplaceOffers(upstream: "violet", first: 20) { totalCount nodes { nativeId } } }"#,
            json!({}),
        )
        .await;
    let nodes = response["data"]["marketplaceOffers"]["nodes"]
        .as_array()
        .expect("nodes");
    assert_eq!(nodes.len(), 20);
    // Offer 13 of the listing is the unreadable one of its twenty.
    let nulls: Vec<usize> = (0..20).filter(|&k| nodes[k].is_null()).collect();
    assert_eq!(nulls, [13]);
    assert_eq!(
        bad_response_paths(&response, "violet"),
        BTreeSet::from([json!(["marketplaceOffers", "nodes", 13]).to_string()])
    );
    assert_eq!(
        nodes[0]["nativeId"],
        gateway.sims.violet_data.offers[0].id.to_string()
    );
}

#[tokio::test]
async fn a_page_with_an_unreadable_offer_is_asked_again_and_its_readable_offers_are_cached() {
    let gateway = TestGateway::start_drifted().await;
    let control = &gateway.sims.violet.control;
    const SEARCH: &str = "POST /v1/catalog/offers/search";
    const GET: &str = "GET /v1/catalog/offers/{offer_id}";
    let page = r#"{ marketplaceOffers(upstream: "violet", first: 20) { nodes { nativeId } } }"#;
    for round in 1..=2 {
        let response = gateway.query(page, json!({})).await;
        let nodes = response["data"]["marketplaceOffers"]["nodes"]
            .as_array()
            .expect("nodes");
        assert_eq!(nodes.iter().filter(|n| n.is_null()).count(), 1);
        assert_eq!(bad_response_paths(&response, "violet").len(), 1);
        // The window is not cached with its error: each round asks again.
        assert_eq!(control.count(SEARCH), round);
    }
    // The readable offers of the window are cached by id; the unreadable one is not.
    let offers = &gateway.sims.violet_data.offers;
    let ids: Vec<String> = offers[..20]
        .iter()
        .map(|o| GlobalId::encode(OfferKind::Marketplace, "violet", &o.id.to_string()))
        .collect();
    let response = gateway
        .query(
            "query($ids: [ID!]!) { offers(ids: $ids) { nativeId } }",
            json!({ "ids": ids }),
        )
        .await;
    assert_eq!(
        bad_response_paths(&response, "violet"),
        BTreeSet::from([json!(["offers", 13]).to_string()])
    );
    assert_eq!(
        control.count(GET),
        1,
        "only the unreadable offer is asked for"
    );
}

#[tokio::test]
async fn ordering_a_page_by_price_puts_its_unreadable_offer_last_with_its_error() {
    let gateway = TestGateway::start_drifted().await;
    let response = gateway
        .query(
            r#"{ marketplaceOffers(upstream: "violet", first: 20, orderBy: PRICE, currency: "USD") {
                edges { cursor node { nativeId } } pageInfo { endCursor } } }"#,
            json!({}),
        )
        .await;
    let page = &response["data"]["marketplaceOffers"];
    let edges = page["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 20);
    let nulls: Vec<usize> = (0..20).filter(|&k| edges[k]["node"].is_null()).collect();
    assert_eq!(nulls, [19], "the offer that cannot be priced comes last");
    assert_eq!(
        bad_response_paths(&response, "violet"),
        BTreeSet::from([json!(["marketplaceOffers", "edges", 19, "node"]).to_string()])
    );
    // Its cursor is still its position in the listing.
    assert_eq!(edges[19]["cursor"], encode_cursor(13));
    assert_eq!(page["pageInfo"]["endCursor"], encode_cursor(19));
}
