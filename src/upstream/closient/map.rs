//! Closient wire types to the domain model.
//!
//! Every field of `OnlineOfferOut` and `InStoreOfferOut` lands in
//! [`crate::model::OnlineOffer`] or [`crate::model::InStoreOffer`]. Prices
//! and shipping costs are decimal strings in the parent store's currency
//! (carried by `price.currency`) and go through [`pricing::from_closient`]:
//! a `null` amount is unknown, `"0"` is free. A value that cannot be read
//! (bad decimal, unknown currency, an integer outside `i32`, an id that is
//! not a shortuuid) makes the offer a [`UpstreamError::BadResponse`].

use std::sync::Arc;

use serde_json::{Map, Value};

use super::shortuuid;
use super::wire;
use crate::error::UpstreamError;
use crate::model::{
    FulfillmentType, InStoreOffer, Offer, OfferCommon, OfferKey, OfferKind, OfferStatus,
    OnlineOffer, RetailSource, RetailStatus, StockLevel, UpstreamKind,
};
use crate::pricing::{self, Money};

/// Maps an online offer of the upstream instance `upstream`.
pub fn online_offer(
    upstream: &Arc<str>,
    wire: &wire::OnlineOfferOut,
) -> Result<Offer, UpstreamError> {
    let id = offer_id(&wire.id)?;
    let bad = |what: String| bad_offer(&id, what);
    let (price, shipping_cost) = money(wire.price.as_ref(), wire.shipping_cost.as_deref())
        .map_err(|err| bad(err.to_string()))?;
    let buyable = wire.status == wire::OfferStatus::Active
        && price.is_some()
        && matches!(
            wire.stock_level,
            wire::StockLevel::InStock | wire::StockLevel::LowStock
        );
    let lead_time_days = wire
        .lead_time_days
        .map(|days| to_i32("lead_time_days", days))
        .transpose()
        .map_err(bad)?;
    let min_order_quantity = to_i32("min_order_quantity", wire.min_order_quantity).map_err(bad)?;
    let common = common(
        upstream,
        OfferKey::new(OfferKind::Online, id.clone()),
        &wire.product_id,
        &wire.sku,
        price,
        wire.status,
        buyable,
        &wire.metadata,
    );
    Ok(Offer::Online(Arc::new(OnlineOffer {
        common,
        online_store_id: wire.online_store_id.clone(),
        organization_id: wire.organization_id.clone(),
        url: wire.url.clone(),
        retail_status: retail_status(wire.status),
        is_verified: wire.is_verified,
        source: source(wire.source),
        fulfillment_type: fulfillment_type(wire.fulfillment_type),
        stock_level: stock_level(wire.stock_level),
        delivery_countries: wire.delivery_countries.clone(),
        shipping_cost,
        lead_time_days,
        min_order_quantity,
    })))
}

/// Maps an in-store offer of the upstream instance `upstream`.
pub fn in_store_offer(
    upstream: &Arc<str>,
    wire: &wire::InStoreOfferOut,
) -> Result<Offer, UpstreamError> {
    let id = offer_id(&wire.id)?;
    let bad = |what: String| bad_offer(&id, what);
    let (price, _) = money(wire.price.as_ref(), None).map_err(|err| bad(err.to_string()))?;
    let quantity_on_hand = wire
        .quantity_on_hand
        .map(|quantity| to_i32("quantity_on_hand", quantity))
        .transpose()
        .map_err(bad)?;
    let buyable =
        wire.status == wire::OfferStatus::Active && price.is_some() && quantity_on_hand != Some(0);
    let common = common(
        upstream,
        OfferKey::new(OfferKind::InStore, id.clone()),
        &wire.product_id,
        &wire.sku,
        price,
        wire.status,
        buyable,
        &wire.metadata,
    );
    Ok(Offer::InStore(Arc::new(InStoreOffer {
        common,
        physical_store_id: wire.physical_store_id.clone(),
        organization_id: wire.organization_id.clone(),
        retail_status: retail_status(wire.status),
        is_verified: wire.is_verified,
        source: source(wire.source),
        quantity_on_hand,
        aisle: wire.aisle.clone(),
        store_pickup_available: wire.store_pickup_available,
    })))
}

#[allow(clippy::too_many_arguments)]
fn common(
    upstream: &Arc<str>,
    key: OfferKey,
    product_id: &str,
    sku: &str,
    price: Option<Money>,
    status: wire::OfferStatus,
    buyable: bool,
    metadata: &Map<String, Value>,
) -> OfferCommon {
    OfferCommon {
        upstream: upstream.clone(),
        upstream_kind: UpstreamKind::Closient,
        key,
        product_id: product_id.to_owned(),
        sku: (!sku.is_empty()).then(|| sku.to_owned()),
        price,
        status: normalized_status(status),
        upstream_status: Some(status.as_str().to_owned()),
        buyable,
        metadata: Value::Object(metadata.clone()),
    }
}

/// The offer's id in canonical shortuuid form (the API sends shortuuids;
/// a UUID is accepted and converted).
fn offer_id(raw: &str) -> Result<String, UpstreamError> {
    shortuuid::canonical(raw).map_err(|err| {
        UpstreamError::BadResponse(format!(
            "offer id {:?} is not a Closient id: {err}",
            clip(raw)
        ))
    })
}

fn bad_offer(id: &str, what: String) -> UpstreamError {
    UpstreamError::BadResponse(format!("offer {id}: {what}"))
}

/// Price and shipping cost, both in the store currency of `price.currency`.
fn money(
    price: Option<&wire::PriceOut>,
    shipping_cost: Option<&str>,
) -> Result<(Option<Money>, Option<Money>), String> {
    match price {
        Some(price) => {
            let amount = pricing::from_closient(price.amount.as_deref(), &price.currency)
                .map_err(|err| format!("price: {err}"))?;
            let shipping = pricing::from_closient(shipping_cost, &price.currency)
                .map_err(|err| format!("shipping_cost: {err}"))?;
            Ok((amount, shipping))
        }
        // The store currency only travels inside `price`; without it a
        // shipping cost cannot be denominated.
        None if shipping_cost.is_some() => Err(
            "shipping_cost is set but price (which carries the store currency) is missing".into(),
        ),
        None => Ok((None, None)),
    }
}

fn to_i32(field: &str, value: i64) -> Result<i32, String> {
    i32::try_from(value).map_err(|_| format!("{field} {value} is out of range"))
}

/// At most 64 characters of an upstream string, for log details.
fn clip(text: &str) -> &str {
    match text.char_indices().nth(64) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// The gateway's normalized status of a Closient status.
pub fn normalized_status(status: wire::OfferStatus) -> OfferStatus {
    match status {
        wire::OfferStatus::Active => OfferStatus::Active,
        wire::OfferStatus::OutOfStock => OfferStatus::OutOfStock,
        wire::OfferStatus::Seasonal => OfferStatus::Seasonal,
        wire::OfferStatus::Discontinued => OfferStatus::Discontinued,
    }
}

fn retail_status(status: wire::OfferStatus) -> RetailStatus {
    match status {
        wire::OfferStatus::Active => RetailStatus::Active,
        wire::OfferStatus::Discontinued => RetailStatus::Discontinued,
        wire::OfferStatus::Seasonal => RetailStatus::Seasonal,
        wire::OfferStatus::OutOfStock => RetailStatus::OutOfStock,
    }
}

fn source(source: wire::OfferSource) -> RetailSource {
    match source {
        wire::OfferSource::Brand => RetailSource::Brand,
        wire::OfferSource::AffiliateFeed => RetailSource::AffiliateFeed,
        wire::OfferSource::Scrape => RetailSource::Scrape,
        wire::OfferSource::PosSync => RetailSource::PosSync,
        wire::OfferSource::Manual => RetailSource::Manual,
        wire::OfferSource::UserFeedback => RetailSource::UserFeedback,
    }
}

fn fulfillment_type(kind: wire::FulfillmentType) -> FulfillmentType {
    match kind {
        wire::FulfillmentType::Standard => FulfillmentType::Standard,
        wire::FulfillmentType::SameDay => FulfillmentType::SameDay,
        wire::FulfillmentType::NextDay => FulfillmentType::NextDay,
        wire::FulfillmentType::Prime => FulfillmentType::Prime,
        wire::FulfillmentType::ShipToStore => FulfillmentType::ShipToStore,
        wire::FulfillmentType::StorePickup => FulfillmentType::StorePickup,
        wire::FulfillmentType::DigitalDownload => FulfillmentType::DigitalDownload,
        wire::FulfillmentType::SubscribeAndSave => FulfillmentType::SubscribeAndSave,
    }
}

fn stock_level(level: wire::StockLevel) -> StockLevel {
    match level {
        wire::StockLevel::InStock => StockLevel::InStock,
        wire::StockLevel::LowStock => StockLevel::LowStock,
        wire::StockLevel::PreOrder => StockLevel::PreOrder,
        wire::StockLevel::Backordered => StockLevel::Backordered,
        wire::StockLevel::OutOfStock => StockLevel::OutOfStock,
        wire::StockLevel::Unknown => StockLevel::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use serde_json::json;

    use super::*;

    const LIST_EXAMPLE: &str =
        include_str!("../../../tests/fixtures/closient/list_online_offers.json");
    const PAGINATION_EXAMPLE: &str =
        include_str!("../../../tests/fixtures/closient/pagination_example.json");
    const IN_STORE_EXAMPLE: &str =
        include_str!("../../../tests/fixtures/closient/in_store_offer.json");
    const PRICE_EXAMPLE: &str = include_str!("../../../tests/fixtures/closient/price_example.json");

    const ID: &str = "CnEqURgZ3swzj528KMLvX5";

    fn upstream() -> Arc<str> {
        Arc::from("closient-test")
    }

    fn dec(text: &str) -> Decimal {
        Decimal::from_str_exact(text).expect("test decimal")
    }

    /// The seed's online offer example with its `<string>` placeholders
    /// replaced by plausible values (placeholders are not ids or decimals).
    fn filled_online_example() -> Value {
        let list: Value = serde_json::from_str(LIST_EXAMPLE).unwrap();
        let mut offer = list["data"][0].clone();
        offer["id"] = json!(ID);
        offer["product_id"] = json!("2222222222222222222223");
        offer["online_store_id"] = json!("2222222222222222222224");
        offer["organization_id"] = json!("2222222222222222222225");
        offer["delivery_countries"] = json!(["US", "CA"]);
        offer["shipping_cost"] = json!("4.50");
        offer
    }

    fn online(value: Value) -> Result<Offer, UpstreamError> {
        let wire: wire::OnlineOfferOut = serde_json::from_value(value).unwrap();
        online_offer(&upstream(), &wire)
    }

    fn as_online(offer: Offer) -> Arc<OnlineOffer> {
        match offer {
            Offer::Online(offer) => offer,
            other => panic!("expected an online offer, got {other:?}"),
        }
    }

    fn as_in_store(offer: Offer) -> Arc<InStoreOffer> {
        match offer {
            Offer::InStore(offer) => offer,
            other => panic!("expected an in-store offer, got {other:?}"),
        }
    }

    #[test]
    fn seed_list_example_deserializes_literally() {
        let page: wire::Page<wire::OnlineOfferOut> = serde_json::from_str(LIST_EXAMPLE).unwrap();
        assert_eq!(page.data.len(), 1);
        let offer = &page.data[0];
        assert_eq!(offer.sku, "");
        assert_eq!(offer.url, "");
        assert_eq!(
            offer.price,
            Some(wire::PriceOut {
                amount: Some("5.99".into()),
                currency: "USD".into()
            })
        );
        assert_eq!(offer.status, wire::OfferStatus::Active);
        assert_eq!(offer.source, wire::OfferSource::Manual);
        assert_eq!(offer.fulfillment_type, wire::FulfillmentType::Standard);
        assert_eq!(offer.stock_level, wire::StockLevel::Unknown);
        assert_eq!(offer.lead_time_days, Some(1));
        assert_eq!(offer.min_order_quantity, 1);
        assert!(offer.metadata.is_empty());
        assert_eq!(
            page.pagination,
            wire::PaginationMeta {
                page: 2,
                page_size: 2,
                total_count: 1,
                total_pages: 2,
                has_next: true,
                has_previous: true
            }
        );
        let example: wire::PaginationMeta = serde_json::from_str(PAGINATION_EXAMPLE).unwrap();
        assert_eq!((example.total_count, example.total_pages), (342, 14));
    }

    #[test]
    fn seed_price_example_is_five_ninety_nine_dollars() {
        let price: wire::PriceOut = serde_json::from_str(PRICE_EXAMPLE).unwrap();
        let money = pricing::from_closient(price.amount.as_deref(), &price.currency)
            .unwrap()
            .unwrap();
        assert_eq!(money.amount(), dec("5.99"));
        assert_eq!(money.minor_units(), Some(dec("599")));
    }

    #[test]
    fn seed_online_example_maps_every_field() {
        let offer = as_online(online(filled_online_example()).unwrap());
        let usd = pricing::Currency::parse("USD").unwrap();
        assert_eq!(
            *offer,
            OnlineOffer {
                common: OfferCommon {
                    upstream: upstream(),
                    upstream_kind: UpstreamKind::Closient,
                    key: OfferKey::new(OfferKind::Online, ID),
                    product_id: "2222222222222222222223".into(),
                    sku: None,
                    price: Some(Money::new(dec("5.99"), usd)),
                    status: OfferStatus::Active,
                    upstream_status: Some("active".into()),
                    // Active and priced, but stock_level unknown is not "buyable now".
                    buyable: false,
                    metadata: json!({}),
                },
                online_store_id: "2222222222222222222224".into(),
                organization_id: Some("2222222222222222222225".into()),
                url: String::new(),
                retail_status: RetailStatus::Active,
                is_verified: false,
                source: RetailSource::Manual,
                fulfillment_type: FulfillmentType::Standard,
                stock_level: StockLevel::Unknown,
                delivery_countries: vec!["US".into(), "CA".into()],
                shipping_cost: Some(Money::new(dec("4.50"), usd)),
                lead_time_days: Some(1),
                min_order_quantity: 1,
            }
        );
    }

    #[test]
    fn seed_online_example_placeholders_are_not_an_offer() {
        // The literal example's "<string>" id and shipping cost cannot be read.
        let literal: Value =
            serde_json::from_str::<Value>(LIST_EXAMPLE).unwrap()["data"][0].clone();
        assert!(matches!(
            online(literal),
            Err(UpstreamError::BadResponse(_))
        ));
        let mut offer = filled_online_example();
        offer["shipping_cost"] = json!("<string>");
        let err = online(offer).unwrap_err();
        assert!(
            matches!(&err, UpstreamError::BadResponse(d) if d.contains("shipping_cost") && d.contains(ID)),
            "{err:?}"
        );
    }

    #[test]
    fn seed_in_store_example_maps_with_store_currency_price() {
        let wire: wire::InStoreOfferOut = serde_json::from_str(IN_STORE_EXAMPLE).unwrap();
        assert_eq!(wire.quantity_on_hand, Some(1));
        assert_eq!(wire.aisle, "");
        assert!(!wire.store_pickup_available);
        let mut value: Value = serde_json::from_str(IN_STORE_EXAMPLE).unwrap();
        value["id"] = json!(ID);
        let wire: wire::InStoreOfferOut = serde_json::from_value(value).unwrap();
        let offer = as_in_store(in_store_offer(&upstream(), &wire).unwrap());
        assert_eq!(
            *offer,
            InStoreOffer {
                common: OfferCommon {
                    upstream: upstream(),
                    upstream_kind: UpstreamKind::Closient,
                    key: OfferKey::new(OfferKind::InStore, ID),
                    product_id: "<string>".into(),
                    sku: None,
                    price: Some(Money::new(
                        dec("5.99"),
                        pricing::Currency::parse("USD").unwrap()
                    )),
                    status: OfferStatus::Active,
                    upstream_status: Some("active".into()),
                    buyable: true,
                    metadata: json!({}),
                },
                physical_store_id: "<string>".into(),
                organization_id: Some("<string>".into()),
                retail_status: RetailStatus::Active,
                is_verified: false,
                source: RetailSource::Manual,
                quantity_on_hand: Some(1),
                aisle: String::new(),
                store_pickup_available: false,
            }
        );
    }

    #[test]
    fn null_price_is_unknown_and_zero_price_is_free() {
        let mut offer = filled_online_example();
        offer["stock_level"] = json!("in_stock");
        offer["price"] = json!({"amount": null, "currency": "USD"});
        offer["shipping_cost"] = json!(null);
        let unknown = as_online(online(offer.clone()).unwrap());
        assert_eq!(unknown.common.price, None);
        assert_eq!(unknown.shipping_cost, None);
        assert!(!unknown.common.buyable, "an unknown price is never buyable");

        for zero in ["0", "0.00"] {
            offer["price"] = json!({"amount": zero, "currency": "USD"});
            let free = as_online(online(offer.clone()).unwrap());
            let price = free.common.price.clone().unwrap();
            assert!(price.amount().is_zero());
            assert_eq!(price.amount_string(), "0.00");
            assert!(free.common.buyable, "a free price is a known price");
        }

        offer.as_object_mut().unwrap().remove("price");
        assert_eq!(as_online(online(offer.clone()).unwrap()).common.price, None);
        offer["shipping_cost"] = json!("1.00");
        assert!(matches!(online(offer), Err(UpstreamError::BadResponse(_))));
    }

    #[test]
    fn jpy_and_kwd_amounts_keep_their_exponent() {
        let mut offer = filled_online_example();
        offer["price"] = json!({"amount": "1200", "currency": "JPY"});
        offer["shipping_cost"] = json!("350");
        let jpy = as_online(online(offer.clone()).unwrap());
        let price = jpy.common.price.clone().unwrap();
        assert_eq!(
            (price.amount(), price.currency().code()),
            (dec("1200"), "JPY")
        );
        assert_eq!(price.minor_units(), Some(dec("1200")));
        assert_eq!(jpy.shipping_cost.clone().unwrap().amount_string(), "350");

        offer["price"] = json!({"amount": "1.250", "currency": "KWD"});
        offer["shipping_cost"] = json!("0.500");
        let kwd = as_online(online(offer).unwrap());
        let price = kwd.common.price.clone().unwrap();
        assert_eq!(price.minor_units(), Some(dec("1250")));
        assert_eq!(price.amount_string(), "1.250");
        assert_eq!(kwd.shipping_cost.clone().unwrap().currency().code(), "KWD");
    }

    #[test]
    fn bad_prices_and_out_of_range_integers_are_bad_responses() {
        let cases = [
            ("price", json!({"amount": "5,99", "currency": "USD"})),
            ("price", json!({"amount": "-1.00", "currency": "USD"})),
            ("price", json!({"amount": "5.99", "currency": "XYZ"})),
            ("lead_time_days", json!(3_000_000_000_i64)),
            ("min_order_quantity", json!(-3_000_000_000_i64)),
        ];
        for (field, value) in cases {
            let mut offer = filled_online_example();
            offer[field] = value.clone();
            let err = online(offer).unwrap_err();
            assert!(
                matches!(&err, UpstreamError::BadResponse(d) if d.contains(field)),
                "{field} = {value}: {err:?}"
            );
        }
        let wire: wire::InStoreOfferOut = serde_json::from_value(
            json!({"id": ID, "product_id": "p", "physical_store_id": "s",
                "quantity_on_hand": 1_i64 << 40}),
        )
        .unwrap();
        assert!(matches!(
            in_store_offer(&upstream(), &wire),
            Err(UpstreamError::BadResponse(d)) if d.contains("quantity_on_hand")
        ));
    }

    #[test]
    fn online_offers_are_buyable_only_when_active_priced_and_in_stock_now() {
        let mut offer = filled_online_example();
        for (status, stock, buyable) in [
            ("active", "in_stock", true),
            ("active", "low_stock", true),
            ("active", "pre_order", false),
            ("active", "backordered", false),
            ("active", "out_of_stock", false),
            ("active", "unknown", false),
            ("seasonal", "in_stock", false),
            ("discontinued", "in_stock", false),
            ("out_of_stock", "in_stock", false),
        ] {
            offer["status"] = json!(status);
            offer["stock_level"] = json!(stock);
            let mapped = as_online(online(offer.clone()).unwrap());
            assert_eq!(mapped.common.buyable, buyable, "{status}/{stock}");
            assert_eq!(mapped.common.upstream_status.as_deref(), Some(status));
        }
        offer["status"] = json!("out_of_stock");
        assert_eq!(
            as_online(online(offer).unwrap()).common.status,
            OfferStatus::OutOfStock
        );
    }

    #[test]
    fn in_store_offers_are_buyable_unless_the_shelf_is_empty() {
        let base = json!({"id": ID, "product_id": "p", "physical_store_id": "s",
            "price": {"amount": "2.00", "currency": "EUR"}});
        for (quantity, status, buyable) in [
            (json!(null), "active", true),
            (json!(3), "active", true),
            (json!(0), "active", false),
            (json!(3), "seasonal", false),
        ] {
            let mut offer = base.clone();
            offer["quantity_on_hand"] = quantity.clone();
            offer["status"] = json!(status);
            let wire: wire::InStoreOfferOut = serde_json::from_value(offer).unwrap();
            let mapped = as_in_store(in_store_offer(&upstream(), &wire).unwrap());
            assert_eq!(mapped.common.buyable, buyable, "{quantity}/{status}");
        }
    }

    #[test]
    fn minimal_offers_take_the_documented_defaults_and_ignore_new_fields() {
        let wire: wire::OnlineOfferOut = serde_json::from_value(json!({
            "id": ID, "product_id": "p", "online_store_id": "s",
            "metadata": null, "sku": null, "future_field": {"x": 1}
        }))
        .unwrap();
        assert_eq!(wire.status, wire::OfferStatus::Active);
        assert_eq!(wire.source, wire::OfferSource::Manual);
        assert_eq!(wire.stock_level, wire::StockLevel::Unknown);
        assert_eq!(wire.min_order_quantity, 1);
        assert!(wire.delivery_countries.is_empty());
        let offer = as_online(online_offer(&upstream(), &wire).unwrap());
        assert_eq!(offer.common.metadata, json!({}));
        assert_eq!(offer.common.price, None);
        assert_eq!(offer.organization_id, None);
    }

    #[test]
    fn unknown_enum_values_are_rejected() {
        let mut offer = filled_online_example();
        offer["fulfillment_type"] = json!("drone");
        assert!(serde_json::from_value::<wire::OnlineOfferOut>(offer).is_err());
    }

    #[test]
    fn sku_metadata_and_uuid_ids_are_carried_over() {
        let mut offer = filled_online_example();
        offer["id"] = json!("3c90c3cc-0d44-4b50-8888-8dd25736052a");
        offer["sku"] = json!("B00X1");
        offer["url"] = json!("https://shop.example/p/1");
        offer["metadata"] = json!({"feed": "awin", "rank": 3});
        let mapped = as_online(online(offer).unwrap());
        assert_eq!(mapped.common.key, OfferKey::new(OfferKind::Online, ID));
        assert_eq!(mapped.common.sku.as_deref(), Some("B00X1"));
        assert_eq!(mapped.url, "https://shop.example/p/1");
        assert_eq!(mapped.common.metadata, json!({"feed": "awin", "rank": 3}));
    }
}
