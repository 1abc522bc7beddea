//! Closient wire types to the domain model.
//!
//! Every field of `OnlineOfferOut` and `InStoreOfferOut` lands in
//! [`crate::model::OnlineOffer`] or [`crate::model::InStoreOffer`]. Prices
//! and shipping costs are decimal strings in the parent store's currency
//! (carried by `price.currency`) and go through [`pricing::from_closient`]:
//! a `null` amount is unknown, `"0"` is free.
//!
//! Tolerance, per the seed documents: an enum value the documentation does
//! not list maps to `Unrecognized` with its raw spelling kept; counts
//! saturate at `i32::MAX`; a shipping cost is a signed decimal by its
//! documented pattern, and a negative one (not something a buyer pays) or
//! one without a price to carry its currency reads as unknown, the raw
//! string kept in `upstream_shipping_cost`. What still cannot be read (a
//! price that is not a decimal, an unknown currency, an id that is not a
//! shortuuid, a value of the wrong JSON type) makes that one offer a
//! [`UpstreamError::BadResponse`].
//!
//! A promotion (`PromotionOut`) becomes a [`Promotion`]: its price through
//! [`pricing::closient_amount`] (its currency may be unstated), its dates
//! through [`tolerant::timestamp`]; one that cannot be read is an error of
//! its own, never of its offer's list.
//!
//! For the catalog index: an item of the legacy flat listing
//! (`OfferOut`, UUID ids) becomes a [`LegacyOffer`] (its ids as
//! shortuuids), and a `ProductBrowseOut` becomes a [`ClosientProduct`]
//! (empty strings as `None`).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::shortuuid;
use super::wire;
use crate::error::UpstreamError;
use crate::gtin::Gtin;
use crate::model::{
    FulfillmentType, InStoreOffer, JsonText, Offer, OfferCommon, OfferKey, OfferKind, OfferStatus,
    OnlineOffer, ProductFacts, Promotion, PromotionKind, RetailSource, RetailStatus, StockLevel,
    UpstreamKind,
};
use crate::pricing::{self, Money, PriceError};
use crate::upstream::tolerant::{self, saturating_i32};

/// Reads one online offer from its JSON text (an item of a listing or a
/// by-id answer): the wire type, then [`online_offer`].
pub(crate) fn read_online_offer(upstream: &Arc<str>, json: &str) -> Result<Offer, UpstreamError> {
    let wire =
        serde_json::from_str::<wire::OnlineOfferOut>(json).map_err(|err| unreadable(json, &err))?;
    online_offer(upstream, &wire)
}

/// Reads one in-store offer from its JSON text: the wire type, then
/// [`in_store_offer`].
pub(crate) fn read_in_store_offer(upstream: &Arc<str>, json: &str) -> Result<Offer, UpstreamError> {
    let wire = serde_json::from_str::<wire::InStoreOfferOut>(json)
        .map_err(|err| unreadable(json, &err))?;
    in_store_offer(upstream, &wire)
}

/// The error of an offer whose JSON does not match the wire type, naming
/// the offer when its id can be read (never quoting the body).
fn unreadable(json: &str, err: &serde_json::Error) -> UpstreamError {
    unreadable_item("offer", json, err)
}

/// The error of an item (`what`: offer, promotion) whose JSON does not
/// match its wire type, naming it when its id can be read.
fn unreadable_item(what: &str, json: &str, err: &serde_json::Error) -> UpstreamError {
    UpstreamError::BadResponse(format!(
        "{what} {} does not match the expected shape: {err}",
        item_id(json)
    ))
}

/// The `id` of an item's JSON text, clipped, for logs and errors; `without
/// a readable id` when it has none (never quoting the body).
pub(crate) fn item_id(json: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    serde_json::from_str::<Id>(json).ok().map_or_else(
        || "without a readable id".to_owned(),
        |o| clip(&o.id).to_owned(),
    )
}

/// Maps an online offer of the upstream instance `upstream`.
pub(crate) fn online_offer(
    upstream: &Arc<str>,
    wire: &wire::OnlineOfferOut,
) -> Result<Offer, UpstreamError> {
    let id = offer_id(&wire.id)?;
    let Prices {
        currency,
        price,
        shipping: shipping_cost,
    } = money(wire.price.as_ref(), wire.shipping_cost.as_deref())
        .map_err(|err| bad_offer(&id, err))?;
    let common = common(
        upstream,
        OfferKey::new(OfferKind::Online, id.clone()),
        &wire.product_id,
        &wire.sku,
        (currency, price),
        &wire.status,
        &wire.metadata,
    );
    Ok(Offer::Online(Arc::new(OnlineOffer {
        common,
        online_store_id: wire.online_store_id.clone(),
        organization_id: wire.organization_id.clone(),
        url: wire.url.clone(),
        retail_status: retail_status(&wire.status),
        is_verified: wire.is_verified,
        source: source(&wire.source),
        upstream_source: wire.source.as_str().to_owned(),
        fulfillment_type: fulfillment_type(&wire.fulfillment_type),
        upstream_fulfillment_type: wire.fulfillment_type.as_str().to_owned(),
        stock_level: stock_level(&wire.stock_level),
        upstream_stock_level: wire.stock_level.as_str().to_owned(),
        delivery_countries: wire.delivery_countries.clone(),
        shipping_cost,
        upstream_shipping_cost: wire.shipping_cost.clone(),
        lead_time_days: wire.lead_time_days.map(saturating_i32),
        min_order_quantity: saturating_i32(wire.min_order_quantity),
    })))
}

/// Maps an in-store offer of the upstream instance `upstream`.
pub(crate) fn in_store_offer(
    upstream: &Arc<str>,
    wire: &wire::InStoreOfferOut,
) -> Result<Offer, UpstreamError> {
    let id = offer_id(&wire.id)?;
    let Prices {
        currency, price, ..
    } = money(wire.price.as_ref(), None).map_err(|err| bad_offer(&id, err))?;
    let quantity_on_hand = wire.quantity_on_hand.map(saturating_i32);
    let common = common(
        upstream,
        OfferKey::new(OfferKind::InStore, id.clone()),
        &wire.product_id,
        &wire.sku,
        (currency, price),
        &wire.status,
        &wire.metadata,
    );
    Ok(Offer::InStore(Arc::new(InStoreOffer {
        common,
        physical_store_id: wire.physical_store_id.clone(),
        organization_id: wire.organization_id.clone(),
        retail_status: retail_status(&wire.status),
        is_verified: wire.is_verified,
        source: source(&wire.source),
        upstream_source: wire.source.as_str().to_owned(),
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
    (currency, price): (Option<pricing::Currency>, Option<Money>),
    status: &wire::OfferStatus,
    metadata: &Map<String, Value>,
) -> OfferCommon {
    OfferCommon {
        upstream: upstream.clone(),
        upstream_kind: UpstreamKind::Closient,
        key,
        product_id: product_id.to_owned(),
        sku: (!sku.is_empty()).then(|| sku.to_owned()),
        price,
        currency,
        status: normalized_status(status),
        upstream_status: Some(status.as_str().to_owned()),
        metadata: JsonText::object(metadata),
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
///
/// The shipping cost's documented pattern allows a sign. A negative cost is
/// not an amount the buyer pays (nor a documented credit), so it reads as
/// unknown, like `null`, and never lowers a total. Without `price` (which
/// carries the store currency) a shipping cost cannot be denominated and
/// reads as unknown too. Both keep the raw string in the model.
fn money(price: Option<&wire::PriceOut>, shipping_cost: Option<&str>) -> Result<Prices, String> {
    let Some(price) = price else {
        return Ok(Prices::default());
    };
    let amount = pricing::from_closient(price.amount.as_deref(), &price.currency)
        .map_err(|err| format!("price: {err}"))?;
    let shipping = match pricing::from_closient(shipping_cost, &price.currency) {
        Ok(shipping) => shipping,
        Err(PriceError::Negative(_)) => None,
        Err(err) => return Err(format!("shipping_cost: {err}")),
    };
    Ok(Prices {
        // `from_closient` has checked the code.
        currency: pricing::Currency::parse(&price.currency).ok(),
        price: amount,
        shipping,
    })
}

/// The money of one Closient offer row.
#[derive(Default)]
struct Prices {
    /// The store's currency, also when the amount is null.
    currency: Option<pricing::Currency>,
    /// The price; `None` when unknown.
    price: Option<Money>,
    /// The shipping cost; `None` when free or unknown.
    shipping: Option<Money>,
}

/// Reads one promotion of the offer `offer_id` (shortuuid) from its JSON
/// text, an item of the offer's promotions list: the wire type, then
/// [`promotion`]. A promotion whose `offer_id` names another offer does
/// not belong in the list and is unreadable too; an empty `offer_id` is the
/// offer asked for.
pub(crate) fn read_promotion(json: &str, offer_id: &str) -> Result<Promotion, UpstreamError> {
    let wire = serde_json::from_str::<wire::PromotionOut>(json)
        .map_err(|err| unreadable_item("promotion", json, &err))?;
    if !wire.offer_id.is_empty()
        && shortuuid::canonical(&wire.offer_id).ok().as_deref() != Some(offer_id)
    {
        return Err(bad_promotion(
            clip(&wire.id),
            format!(
                "offer_id {:?} is not the offer asked for ({offer_id})",
                clip(&wire.offer_id)
            ),
        ));
    }
    promotion(&wire)
}

/// Maps a promotion: its id as a shortuuid, the promotional price exact
/// through [`pricing::closient_amount`] (never negative; zero is a real
/// price), an empty `currency` as `None`, the dates through
/// [`tolerant::timestamp`] (kept as sent, also when `end_date` is not after
/// `start_date`: such a window never covers a moment that is after its
/// end), and an undocumented `promotion_type` as
/// [`PromotionKind::Unrecognized`] with its spelling kept. A price, date,
/// currency or id that cannot be read makes this one promotion a
/// [`UpstreamError::BadResponse`].
pub(crate) fn promotion(wire: &wire::PromotionOut) -> Result<Promotion, UpstreamError> {
    let id = shortuuid::canonical(&wire.id).map_err(|err| {
        UpstreamError::BadResponse(format!(
            "promotion id {:?} is not a Closient id: {err}",
            clip(&wire.id)
        ))
    })?;
    let price = pricing::closient_amount(&wire.promotional_price)
        .map_err(|err| bad_promotion(&id, format!("promotional_price: {err}")))?;
    let currency = match wire.currency.trim() {
        "" => None,
        code => Some(
            pricing::Currency::parse(code)
                .map_err(|err| bad_promotion(&id, format!("currency: {err}")))?,
        ),
    };
    let date = |field: &str, raw: &str| {
        tolerant::timestamp(raw).ok_or_else(|| {
            bad_promotion(
                &id,
                format!("{field} {:?} is not an RFC 3339 timestamp", clip(raw)),
            )
        })
    };
    let starts_at = date("start_date", &wire.start_date)?;
    let ends_at = date("end_date", &wire.end_date)?;
    Ok(Promotion {
        price,
        currency,
        starts_at,
        ends_at,
        is_active: wire.is_active,
        kind: promotion_kind(&wire.promotion_type),
        upstream_kind: wire.promotion_type.as_str().to_owned(),
        description: wire.description.clone(),
        id,
    })
}

fn bad_promotion(id: &str, what: String) -> UpstreamError {
    UpstreamError::BadResponse(format!("promotion {id}: {what}"))
}

fn promotion_kind(kind: &wire::PromotionType) -> PromotionKind {
    match kind {
        wire::PromotionType::Sale => PromotionKind::Sale,
        wire::PromotionType::Seasonal => PromotionKind::Seasonal,
        wire::PromotionType::Clearance => PromotionKind::Clearance,
        wire::PromotionType::Bogo => PromotionKind::Bogo,
        wire::PromotionType::Bundle => PromotionKind::Bundle,
        wire::PromotionType::Introductory => PromotionKind::Introductory,
        wire::PromotionType::Unrecognized(_) => PromotionKind::Unrecognized,
    }
}

/// An offer of the legacy flat listing, as the catalog index needs it:
/// which product it is for and who owns it. The listing serves in-store
/// offers, so `id` is also the id of `GET /in-store-offers/{offer_id}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LegacyOffer {
    /// Shortuuid of the offer.
    pub(crate) id: String,
    /// Shortuuid of the catalog product.
    pub(crate) product_id: String,
    /// Shortuuid of the owning organization.
    pub(crate) organization_id: String,
}

/// Product facts of the products API, by Closient product id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClosientProduct {
    /// Shortuuid of the product.
    pub(crate) id: String,
    /// The GTIN as sent (normalized GTIN-14 by the documentation).
    pub(crate) gtin: String,
    /// Display name; `None` when empty.
    pub(crate) name: Option<String>,
    /// Brand name; `None` when empty (no brand linked).
    pub(crate) brand: Option<String>,
    /// Primary image URL; `None` when empty or not in the answer (the
    /// browse answer has none).
    pub(crate) image_url: Option<String>,
}

/// Reads one item of the legacy listing of `listed_organization`
/// (shortuuid) from its JSON text: the wire type, then [`legacy_offer`].
pub(crate) fn read_legacy_offer(
    json: &str,
    listed_organization: &str,
) -> Result<LegacyOffer, UpstreamError> {
    let wire =
        serde_json::from_str::<wire::LegacyOfferOut>(json).map_err(|err| unreadable(json, &err))?;
    legacy_offer(&wire, listed_organization)
}

/// Maps an item of the legacy listing: its UUIDs (or shortuuids) become
/// shortuuids. An item without an `organization_id` belongs to the
/// organization listed, `listed_organization`.
pub(crate) fn legacy_offer(
    wire: &wire::LegacyOfferOut,
    listed_organization: &str,
) -> Result<LegacyOffer, UpstreamError> {
    let id = offer_id(&wire.id)?;
    let other_id = |field: &str, raw: &str| {
        shortuuid::canonical(raw).map_err(|err| {
            bad_offer(
                &id,
                format!("{field} {:?} is not a Closient id: {err}", clip(raw)),
            )
        })
    };
    let product_id = other_id("product_id", &wire.product_id)?;
    let organization_id = match wire.organization_id.as_deref() {
        Some(raw) => other_id("organization_id", raw)?,
        None => listed_organization.to_owned(),
    };
    Ok(LegacyOffer {
        id,
        product_id,
        organization_id,
    })
}

/// Reads a `ProductBrowseOut` from its JSON text: the wire type, then
/// [`browse_product`].
pub(crate) fn read_browse_product(json: &str) -> Result<ClosientProduct, UpstreamError> {
    let wire = serde_json::from_str::<wire::ProductBrowseOut>(json).map_err(|err| {
        UpstreamError::BadResponse(format!(
            "product answer does not match the expected shape: {err}"
        ))
    })?;
    browse_product(&wire)
}

/// Maps a `ProductBrowseOut`: the id in shortuuid form, the GTIN as sent,
/// empty strings as `None`.
pub(crate) fn browse_product(
    wire: &wire::ProductBrowseOut,
) -> Result<ClosientProduct, UpstreamError> {
    product(&wire.id, &wire.gtin, &wire.product_name, &wire.brand, "")
}

/// A product record from its fields as sent: the id in shortuuid form,
/// the GTIN as sent, empty strings as `None`.
fn product(
    id: &str,
    gtin: &str,
    name: &str,
    brand: &str,
    image_url: &str,
) -> Result<ClosientProduct, UpstreamError> {
    let id = shortuuid::canonical(id).map_err(|err| {
        UpstreamError::BadResponse(format!(
            "product id {:?} is not a Closient id: {err}",
            clip(id)
        ))
    })?;
    let text = |value: &str| (!value.trim().is_empty()).then(|| value.to_owned());
    Ok(ClosientProduct {
        id,
        gtin: gtin.to_owned(),
        name: text(name),
        brand: text(brand),
        image_url: text(image_url),
    })
}

/// Reads the answer of `GET /products/api/v1/products/{gtin}` from its
/// JSON text: the wire type, then the same mapping as a browsed product,
/// with the image.
pub(crate) fn read_product(json: &str) -> Result<ClosientProduct, UpstreamError> {
    let wire = serde_json::from_str::<wire::ProductOut>(json).map_err(|err| {
        UpstreamError::BadResponse(format!(
            "product answer does not match the expected shape: {err}"
        ))
    })?;
    product(
        &wire.id,
        &wire.gtin,
        &wire.product_name,
        &wire.brand,
        &wire.image_url,
    )
}

impl ClosientProduct {
    /// What the product record says, for the catalog index: its GTIN
    /// (normalized; none when Closient sent an invalid one), name, brand
    /// and image.
    pub(crate) fn facts(&self) -> ProductFacts {
        ProductFacts {
            upstream_product_id: Some(self.id.clone()),
            gtins: Gtin::from_upstream(&self.gtin).into_iter().collect(),
            name: self.name.clone(),
            brand: self.brand.clone(),
            image_url: self.image_url.clone(),
        }
    }
}

/// At most 64 characters of an upstream string, for log details.
fn clip(text: &str) -> &str {
    match text.char_indices().nth(64) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// The gateway's normalized status of a Closient status.
pub(crate) fn normalized_status(status: &wire::OfferStatus) -> OfferStatus {
    match status {
        wire::OfferStatus::Active => OfferStatus::Active,
        wire::OfferStatus::OutOfStock => OfferStatus::OutOfStock,
        wire::OfferStatus::Seasonal => OfferStatus::Seasonal,
        wire::OfferStatus::Discontinued => OfferStatus::Discontinued,
        wire::OfferStatus::Unrecognized(_) => OfferStatus::Unrecognized,
    }
}

fn retail_status(status: &wire::OfferStatus) -> RetailStatus {
    match status {
        wire::OfferStatus::Active => RetailStatus::Active,
        wire::OfferStatus::Discontinued => RetailStatus::Discontinued,
        wire::OfferStatus::Seasonal => RetailStatus::Seasonal,
        wire::OfferStatus::OutOfStock => RetailStatus::OutOfStock,
        wire::OfferStatus::Unrecognized(_) => RetailStatus::Unrecognized,
    }
}

fn source(source: &wire::OfferSource) -> RetailSource {
    match source {
        wire::OfferSource::Brand => RetailSource::Brand,
        wire::OfferSource::AffiliateFeed => RetailSource::AffiliateFeed,
        wire::OfferSource::Scrape => RetailSource::Scrape,
        wire::OfferSource::PosSync => RetailSource::PosSync,
        wire::OfferSource::Manual => RetailSource::Manual,
        wire::OfferSource::UserFeedback => RetailSource::UserFeedback,
        wire::OfferSource::Unrecognized(_) => RetailSource::Unrecognized,
    }
}

fn fulfillment_type(kind: &wire::FulfillmentType) -> FulfillmentType {
    match kind {
        wire::FulfillmentType::Standard => FulfillmentType::Standard,
        wire::FulfillmentType::SameDay => FulfillmentType::SameDay,
        wire::FulfillmentType::NextDay => FulfillmentType::NextDay,
        wire::FulfillmentType::Prime => FulfillmentType::Prime,
        wire::FulfillmentType::ShipToStore => FulfillmentType::ShipToStore,
        wire::FulfillmentType::StorePickup => FulfillmentType::StorePickup,
        wire::FulfillmentType::DigitalDownload => FulfillmentType::DigitalDownload,
        wire::FulfillmentType::SubscribeAndSave => FulfillmentType::SubscribeAndSave,
        wire::FulfillmentType::Unrecognized(_) => FulfillmentType::Unrecognized,
    }
}

fn stock_level(level: &wire::StockLevel) -> StockLevel {
    match level {
        wire::StockLevel::InStock => StockLevel::InStock,
        wire::StockLevel::LowStock => StockLevel::LowStock,
        wire::StockLevel::PreOrder => StockLevel::PreOrder,
        wire::StockLevel::Backordered => StockLevel::Backordered,
        wire::StockLevel::OutOfStock => StockLevel::OutOfStock,
        wire::StockLevel::Unknown => StockLevel::Unknown,
        wire::StockLevel::Unrecognized(_) => StockLevel::Unrecognized,
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

    /// Whether one unit can be ordered, by the pricing module's rule.
    fn buyable<T: Clone + Into<Offer>>(offer: &T) -> bool {
        crate::pricing::availability::availability(&offer.clone().into(), 1).is_buyable()
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
                    currency: Some(usd),
                    status: OfferStatus::Active,
                    upstream_status: Some("active".into()),
                    metadata: JsonText::from(json!({})),
                },
                online_store_id: "2222222222222222222224".into(),
                organization_id: Some("2222222222222222222225".into()),
                url: String::new(),
                retail_status: RetailStatus::Active,
                is_verified: false,
                source: RetailSource::Manual,
                upstream_source: "manual".into(),
                fulfillment_type: FulfillmentType::Standard,
                upstream_fulfillment_type: "standard".into(),
                stock_level: StockLevel::Unknown,
                upstream_stock_level: "unknown".into(),
                delivery_countries: vec!["US".into(), "CA".into()],
                shipping_cost: Some(Money::new(dec("4.50"), usd)),
                upstream_shipping_cost: Some("4.50".into()),
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
                    currency: Some(pricing::Currency::parse("USD").unwrap()),
                    status: OfferStatus::Active,
                    upstream_status: Some("active".into()),
                    metadata: JsonText::from(json!({})),
                },
                physical_store_id: "<string>".into(),
                organization_id: Some("<string>".into()),
                retail_status: RetailStatus::Active,
                is_verified: false,
                source: RetailSource::Manual,
                upstream_source: "manual".into(),
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
        assert!(!buyable(&unknown), "an unknown price is never buyable");

        for zero in ["0", "0.00"] {
            offer["price"] = json!({"amount": zero, "currency": "USD"});
            let free = as_online(online(offer.clone()).unwrap());
            let price = free.common.price.clone().unwrap();
            assert!(price.amount().is_zero());
            assert_eq!(price.amount_string(), "0.00");
            assert!(buyable(&free), "a free price is a known price");
        }

        offer.as_object_mut().unwrap().remove("price");
        assert_eq!(as_online(online(offer.clone()).unwrap()).common.price, None);
        // Without the price object there is no store currency for the
        // shipping cost: it is unknown, its raw value kept.
        offer["shipping_cost"] = json!("1.00");
        let no_currency = as_online(online(offer).unwrap());
        assert_eq!(no_currency.shipping_cost, None);
        assert_eq!(no_currency.upstream_shipping_cost.as_deref(), Some("1.00"));
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
    fn unreadable_prices_are_bad_responses_of_that_offer() {
        let cases = [
            ("price", json!({"amount": "5,99", "currency": "USD"})),
            ("price", json!({"amount": "-1.00", "currency": "USD"})),
            ("price", json!({"amount": "5.99", "currency": "XYZ"})),
            ("shipping_cost", json!("4,50")),
        ];
        for (field, value) in cases {
            let mut offer = filled_online_example();
            offer[field] = value.clone();
            let err = online(offer).unwrap_err();
            assert!(
                matches!(&err, UpstreamError::BadResponse(d) if d.contains(field) && d.contains(ID)),
                "{field} = {value}: {err:?}"
            );
        }
        // A value of the wrong JSON type names the offer too.
        let mut offer = filled_online_example();
        offer["lead_time_days"] = json!("soon");
        let err = read_online_offer(&upstream(), &offer.to_string()).unwrap_err();
        assert!(
            matches!(&err, UpstreamError::BadResponse(d) if d.contains(ID)),
            "{err:?}"
        );
    }

    // Literal answers for each value the seeds allow that used to fail an
    // offer (the "strict reading" findings).

    const LITERAL_ONLINE: &str = r#"{
        "id": "CnEqURgZ3swzj528KMLvX5", "product_id": "2222222222222222222223",
        "online_store_id": "2222222222222222222224", "metadata": {},
        "organization_id": "2222222222222222222225", "sku": "", "url": "",
        "price": {"amount": "5.99", "currency": "USD"}, "status": "active",
        "is_verified": false, "source": "api_import", "fulfillment_type": "standard",
        "stock_level": "limited", "delivery_countries": ["US"],
        "shipping_cost": "-1.50", "lead_time_days": 3000000000, "min_order_quantity": null
    }"#;

    #[test]
    fn unknown_source_and_stock_level_keep_the_offer_as_unrecognized_with_the_raw_value() {
        let offer = as_online(read_online_offer(&upstream(), LITERAL_ONLINE).unwrap());
        assert_eq!(offer.source, RetailSource::Unrecognized);
        assert_eq!(offer.upstream_source, "api_import");
        assert_eq!(offer.stock_level, StockLevel::Unrecognized);
        assert_eq!(offer.upstream_stock_level, "limited");
        assert!(
            !buyable(&offer),
            "an unknown stock level is not buyable now"
        );
        assert_eq!(offer.common.status, OfferStatus::Active);
        let drone = LITERAL_ONLINE.replace(r#""standard""#, r#""drone""#);
        let offer = as_online(read_online_offer(&upstream(), &drone).unwrap());
        assert_eq!(
            (
                offer.fulfillment_type,
                offer.upstream_fulfillment_type.as_str()
            ),
            (FulfillmentType::Unrecognized, "drone")
        );
    }

    #[test]
    fn an_unknown_status_is_unrecognized_and_never_buyable() {
        let text = LITERAL_ONLINE
            .replace(r#""active""#, r#""pending_review""#)
            .replace(r#""limited""#, r#""in_stock""#);
        let offer = as_online(read_online_offer(&upstream(), &text).unwrap());
        assert_eq!(offer.common.status, OfferStatus::Unrecognized);
        assert_eq!(offer.retail_status, RetailStatus::Unrecognized);
        assert_eq!(
            offer.common.upstream_status.as_deref(),
            Some("pending_review")
        );
        assert!(!buyable(&offer));
        let in_store = r#"{"id": "CnEqURgZ3swzj528KMLvX5", "product_id": "p",
            "physical_store_id": "s", "price": {"amount": "2.00", "currency": "EUR"},
            "status": "coming_soon", "source": "api_import", "quantity_on_hand": 4}"#;
        let offer = as_in_store(read_in_store_offer(&upstream(), in_store).unwrap());
        assert_eq!(offer.common.status, OfferStatus::Unrecognized);
        assert_eq!(offer.common.upstream_status.as_deref(), Some("coming_soon"));
        assert_eq!(
            (offer.source, offer.upstream_source.as_str()),
            (RetailSource::Unrecognized, "api_import")
        );
        assert!(!buyable(&offer));
    }

    #[test]
    fn a_null_min_order_quantity_is_the_documented_default_of_one() {
        let offer = as_online(read_online_offer(&upstream(), LITERAL_ONLINE).unwrap());
        assert_eq!(offer.min_order_quantity, 1);
        let missing = LITERAL_ONLINE.replace(r#", "min_order_quantity": null"#, "");
        let offer = as_online(read_online_offer(&upstream(), &missing).unwrap());
        assert_eq!(offer.min_order_quantity, 1);
    }

    #[test]
    fn a_negative_shipping_cost_is_unknown_and_kept_raw() {
        let offer = as_online(read_online_offer(&upstream(), LITERAL_ONLINE).unwrap());
        assert_eq!(offer.shipping_cost, None);
        assert_eq!(offer.upstream_shipping_cost.as_deref(), Some("-1.50"));
        assert_eq!(offer.common.price.as_ref().unwrap().amount(), dec("5.99"));
        // Other forms the documented pattern allows read as amounts.
        for (raw, want) in [
            ("+4.99", "4.99"),
            (".50", "0.5"),
            ("007.5", "7.5"),
            ("-0", "0"),
        ] {
            let text = LITERAL_ONLINE.replace("-1.50", raw);
            let offer = as_online(read_online_offer(&upstream(), &text).unwrap());
            assert_eq!(
                offer.shipping_cost.as_ref().map(Money::amount),
                Some(dec(want)),
                "{raw}"
            );
            assert_eq!(offer.upstream_shipping_cost.as_deref(), Some(raw));
        }
    }

    #[test]
    fn counts_above_2_to_the_31_53_and_64_saturate_and_never_fail_the_offer() {
        let offer = as_online(read_online_offer(&upstream(), LITERAL_ONLINE).unwrap());
        assert_eq!(offer.lead_time_days, Some(i32::MAX));
        for huge in ["9007199254740993", "18446744073709551616", "1e30"] {
            let text = LITERAL_ONLINE.replace("3000000000", huge);
            let offer = as_online(read_online_offer(&upstream(), &text).unwrap());
            assert_eq!(offer.lead_time_days, Some(i32::MAX), "{huge}");
        }
        let text = LITERAL_ONLINE.replace(
            r#""min_order_quantity": null"#,
            r#""min_order_quantity": 4294967296"#,
        );
        let offer = as_online(read_online_offer(&upstream(), &text).unwrap());
        assert_eq!(offer.min_order_quantity, i32::MAX);
        let in_store = r#"{"id": "CnEqURgZ3swzj528KMLvX5", "product_id": "p",
            "physical_store_id": "s", "quantity_on_hand": 1099511627776}"#;
        let offer = as_in_store(read_in_store_offer(&upstream(), in_store).unwrap());
        assert_eq!(offer.quantity_on_hand, Some(i32::MAX));
    }

    #[test]
    fn nulls_for_documented_defaults_read_as_those_defaults() {
        let text = r#"{"id": "CnEqURgZ3swzj528KMLvX5", "product_id": "p",
            "online_store_id": "s", "metadata": null, "organization_id": null, "sku": null,
            "url": null, "price": null, "status": null, "is_verified": null, "source": null,
            "fulfillment_type": null, "stock_level": null, "delivery_countries": null,
            "shipping_cost": null, "lead_time_days": null, "min_order_quantity": null}"#;
        let offer = as_online(read_online_offer(&upstream(), text).unwrap());
        assert_eq!(offer.common.status, OfferStatus::Active);
        assert_eq!(offer.upstream_source, "manual");
        assert_eq!(offer.fulfillment_type, FulfillmentType::Standard);
        assert_eq!(offer.stock_level, StockLevel::Unknown);
        assert_eq!((offer.min_order_quantity, offer.lead_time_days), (1, None));
        assert!(!offer.is_verified && offer.url.is_empty() && offer.delivery_countries.is_empty());
        let in_store = r#"{"id": "CnEqURgZ3swzj528KMLvX5", "product_id": "p",
            "physical_store_id": "s", "metadata": null, "sku": null, "price": null,
            "status": null, "is_verified": null, "source": null, "quantity_on_hand": null,
            "aisle": null, "store_pickup_available": null}"#;
        let offer = as_in_store(read_in_store_offer(&upstream(), in_store).unwrap());
        assert_eq!(offer.source, RetailSource::Manual);
        assert!(!offer.store_pickup_available && offer.aisle.is_empty());
        assert!(!buyable(&offer), "no price, so not buyable");
    }

    #[test]
    fn online_offers_are_buyable_when_active_priced_and_in_stock_or_with_a_wait() {
        let mut offer = filled_online_example();
        for (status, stock, want) in [
            ("active", "in_stock", true),
            ("active", "low_stock", true),
            ("active", "pre_order", true),
            ("active", "backordered", true),
            ("active", "out_of_stock", false),
            ("active", "unknown", false),
            ("seasonal", "in_stock", false),
            ("discontinued", "in_stock", false),
            ("out_of_stock", "in_stock", false),
        ] {
            offer["status"] = json!(status);
            offer["stock_level"] = json!(stock);
            let mapped = as_online(online(offer.clone()).unwrap());
            assert_eq!(buyable(&mapped), want, "{status}/{stock}");
            assert_eq!(mapped.common.upstream_status.as_deref(), Some(status));
        }
        offer["status"] = json!("out_of_stock");
        assert_eq!(
            as_online(online(offer).unwrap()).common.status,
            OfferStatus::OutOfStock
        );
    }

    #[test]
    fn in_store_offers_are_buyable_only_with_a_known_shelf_count() {
        let base = json!({"id": ID, "product_id": "p", "physical_store_id": "s",
            "price": {"amount": "2.00", "currency": "EUR"}});
        for (quantity, status, want) in [
            (json!(null), "active", false),
            (json!(3), "active", true),
            (json!(0), "active", false),
            (json!(3), "seasonal", false),
        ] {
            let mut offer = base.clone();
            offer["quantity_on_hand"] = quantity.clone();
            offer["status"] = json!(status);
            let wire: wire::InStoreOfferOut = serde_json::from_value(offer).unwrap();
            let mapped = as_in_store(in_store_offer(&upstream(), &wire).unwrap());
            assert_eq!(buyable(&mapped), want, "{quantity}/{status}");
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
    fn enum_fields_of_the_wrong_json_type_are_still_rejected() {
        let mut offer = filled_online_example();
        offer["fulfillment_type"] = json!(7);
        assert!(serde_json::from_value::<wire::OnlineOfferOut>(offer.clone()).is_err());
        offer["fulfillment_type"] = json!({"kind": "drone"});
        assert!(serde_json::from_value::<wire::OnlineOfferOut>(offer).is_err());
    }

    #[test]
    fn unrecognized_values_serialize_back_as_sent() {
        let mut offer = filled_online_example();
        offer["source"] = json!("api_import");
        let wire: wire::OnlineOfferOut = serde_json::from_value(offer).unwrap();
        assert_eq!(
            wire.source,
            wire::OfferSource::Unrecognized("api_import".into())
        );
        assert_eq!(serde_json::to_value(&wire).unwrap()["source"], "api_import");
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

    // The legacy flat listing and the browse answer (the catalog index).

    const UUID: &str = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
    const LISTED: &str = "2222222222222222222225";

    #[test]
    fn legacy_items_carry_their_uuids_as_shortuuids() {
        let list: Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/closient/list_offers.json"
        ))
        .unwrap();
        let item = list["data"][0].to_string();
        assert_eq!(
            read_legacy_offer(&item, LISTED).unwrap(),
            LegacyOffer {
                id: ID.into(),
                product_id: ID.into(),
                organization_id: ID.into(),
            }
        );
        // Shortuuids (and upper-case UUIDs) are read too.
        let text = json!({"id": ID, "product_id": UUID.to_uppercase(),
            "organization_id": "2222222222222222222223"})
        .to_string();
        let offer = read_legacy_offer(&text, LISTED).unwrap();
        assert_eq!((offer.id.as_str(), offer.product_id.as_str()), (ID, ID));
        assert_eq!(offer.organization_id, "2222222222222222222223");
    }

    #[test]
    fn a_legacy_item_without_an_organization_belongs_to_the_listed_one() {
        for item in [
            json!({"id": UUID, "product_id": UUID}),
            json!({"id": UUID, "product_id": UUID, "organization_id": null}),
        ] {
            let offer = read_legacy_offer(&item.to_string(), LISTED).unwrap();
            assert_eq!(offer.organization_id, LISTED, "{item}");
        }
    }

    #[test]
    fn legacy_items_that_cannot_be_read_are_bad_responses_naming_the_item() {
        for (item, names) in [
            (json!({"id": "not-an-id", "product_id": UUID}), "not-an-id"),
            (json!({"id": UUID, "product_id": "p"}), ID),
            (
                json!({"id": UUID, "product_id": UUID, "organization_id": "o"}),
                ID,
            ),
            (json!({"id": UUID, "product_id": 7}), UUID),
            (json!({"product_id": UUID}), "without a readable id"),
        ] {
            let err = read_legacy_offer(&item.to_string(), LISTED).unwrap_err();
            assert!(
                matches!(&err, UpstreamError::BadResponse(d) if d.contains(names)),
                "{item}: {err:?}"
            );
        }
    }

    #[test]
    fn browse_products_keep_the_gtin_as_sent_and_empty_strings_as_none() {
        let example = include_str!("../../../tests/fixtures/closient/product_browse.json");
        let mut browse: Value = serde_json::from_str(example).unwrap();
        browse["id"] = json!(UUID);
        let product = read_browse_product(&browse.to_string()).unwrap();
        assert_eq!(
            product,
            ClosientProduct {
                id: ID.into(),
                gtin: "<string>".into(),
                name: None,
                brand: None,
                image_url: None,
            }
        );
        browse["id"] = json!(ID);
        browse["gtin"] = json!("00012345678905");
        browse["product_name"] = json!("Acme Classic Coffee Beans");
        browse["brand"] = json!("Acme");
        browse["image_url"] = json!("https://cdn.example/p.jpg");
        let product = read_browse_product(&browse.to_string()).unwrap();
        assert_eq!(product.gtin, "00012345678905");
        assert_eq!(product.name.as_deref(), Some("Acme Classic Coffee Beans"));
        assert_eq!(product.brand.as_deref(), Some("Acme"));
        assert_eq!(product.image_url, None, "not a field of the browse answer");
        browse["brand"] = json!(null);
        assert_eq!(
            read_browse_product(&browse.to_string()).unwrap().brand,
            None
        );
        for bad in [json!({"id": "nope", "gtin": "1"}), json!({"id": ID})] {
            let err = read_browse_product(&bad.to_string()).unwrap_err();
            assert!(
                matches!(err, UpstreamError::BadResponse(_)),
                "{bad}: {err:?}"
            );
        }
    }

    // Promotions.

    const OFFER: &str = "2222222222222222222223";

    /// A promotion as the promotions list sends it, with every field.
    fn literal_promotion() -> Value {
        json!({
            "id": ID, "short_id": "PROMO-104", "offer_id": OFFER,
            "promotional_price": "4.49", "start_date": "2024-10-23T21:52:56Z",
            "end_date": "2024-11-23T21:52:56Z", "metadata": {"campaign": "autumn"},
            "currency": "", "promotion_type": "SALE", "description": "", "is_active": true
        })
    }

    fn read(value: &Value) -> Result<Promotion, UpstreamError> {
        read_promotion(&value.to_string(), OFFER)
    }

    fn at(secs: u64) -> std::time::SystemTime {
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs)
    }

    #[test]
    fn a_literal_promotion_maps_every_field_and_an_empty_currency_is_none() {
        assert_eq!(
            read(&literal_promotion()).unwrap(),
            Promotion {
                id: ID.into(),
                price: dec("4.49"),
                currency: None,
                starts_at: at(1_729_720_376),
                ends_at: at(1_729_720_376 + 31 * 24 * 3600),
                is_active: true,
                kind: PromotionKind::Sale,
                upstream_kind: "SALE".into(),
                description: String::new(),
            }
        );
        let mut stated = literal_promotion();
        stated["currency"] = json!("JPY");
        stated["promotional_price"] = json!("1200");
        stated["description"] = json!("Autumn sale");
        stated["is_active"] = json!(false);
        let promotion = read(&stated).unwrap();
        assert_eq!(
            promotion.currency,
            Some(pricing::Currency::parse("JPY").unwrap())
        );
        assert_eq!(promotion.price, dec("1200"));
        assert_eq!(promotion.description, "Autumn sale");
        assert!(!promotion.is_active);
        for blank in [json!(null), json!("  ")] {
            let mut promotion = literal_promotion();
            promotion["currency"] = blank.clone();
            assert_eq!(read(&promotion).unwrap().currency, None, "{blank}");
        }
    }

    #[test]
    fn every_documented_promotion_type_maps_and_an_unknown_one_keeps_its_spelling() {
        for (raw, kind) in [
            ("SALE", PromotionKind::Sale),
            ("SEASONAL", PromotionKind::Seasonal),
            ("CLEARANCE", PromotionKind::Clearance),
            ("BOGO", PromotionKind::Bogo),
            ("BUNDLE", PromotionKind::Bundle),
            ("INTRODUCTORY", PromotionKind::Introductory),
            ("FLASH_SALE", PromotionKind::Unrecognized),
            ("sale", PromotionKind::Unrecognized),
        ] {
            let mut promotion = literal_promotion();
            promotion["promotion_type"] = json!(raw);
            let mapped = read(&promotion).unwrap();
            assert_eq!((mapped.kind, mapped.upstream_kind.as_str()), (kind, raw));
        }
        let mut untyped = literal_promotion();
        untyped["promotion_type"] = json!(null);
        let mapped = read(&untyped).unwrap();
        assert_eq!(
            (mapped.kind, mapped.upstream_kind.as_str()),
            (PromotionKind::Unrecognized, "")
        );
    }

    #[test]
    fn a_zero_promotional_price_is_a_real_free_price() {
        for zero in ["0", "0.00", "-0"] {
            let mut promotion = literal_promotion();
            promotion["promotional_price"] = json!(zero);
            promotion["promotion_type"] = json!("BOGO");
            let mapped = read(&promotion).unwrap();
            assert!(
                mapped.price.is_zero() && !mapped.price.is_sign_negative(),
                "{zero}"
            );
            assert_eq!(mapped.kind, PromotionKind::Bogo);
        }
    }

    #[test]
    fn a_promotion_whose_price_currency_dates_or_id_cannot_be_read_is_a_bad_response_naming_it() {
        let cases = [
            ("promotional_price", json!("12,99")),
            ("promotional_price", json!("-1.00")),
            ("promotional_price", json!(null)),
            ("promotional_price", json!("")),
            ("currency", json!("XYZ")),
            ("start_date", json!("yesterday")),
            ("start_date", json!(null)),
            ("end_date", json!("2024-11-23")),
        ];
        for (field, value) in cases {
            let mut promotion = literal_promotion();
            promotion[field] = value.clone();
            let err = read(&promotion).unwrap_err();
            assert!(
                matches!(&err, UpstreamError::BadResponse(d) if d.contains(field) && d.contains(ID)),
                "{field} = {value}: {err:?}"
            );
        }
        // Without its price, or with one of the wrong JSON type.
        let mut promotion = literal_promotion();
        promotion
            .as_object_mut()
            .unwrap()
            .remove("promotional_price");
        assert!(matches!(read(&promotion), Err(UpstreamError::BadResponse(d)) if d.contains(ID)));
        promotion["promotional_price"] = json!(4.49);
        assert!(matches!(read(&promotion), Err(UpstreamError::BadResponse(d)) if d.contains(ID)));
        let mut promotion = literal_promotion();
        promotion["id"] = json!("not-an-id");
        assert!(
            matches!(read(&promotion), Err(UpstreamError::BadResponse(d)) if d.contains("not-an-id"))
        );
        promotion.as_object_mut().unwrap().remove("id");
        assert!(
            matches!(read(&promotion), Err(UpstreamError::BadResponse(d)) if d.contains("without a readable id"))
        );
    }

    #[test]
    fn promotion_dates_read_every_rfc_3339_form_and_a_reversed_window_is_kept_as_sent() {
        let mut promotion = literal_promotion();
        promotion["start_date"] = json!("2024-10-23T23:52:56.250+02:00");
        promotion["end_date"] = json!("2024-10-23T21:52:56Z");
        let mapped = read(&promotion).unwrap();
        assert_eq!(
            mapped.starts_at,
            at(1_729_720_376) + std::time::Duration::from_millis(250)
        );
        assert_eq!(mapped.ends_at, at(1_729_720_376));
        assert!(mapped.ends_at < mapped.starts_at, "kept as sent");
    }

    #[test]
    fn a_promotion_of_another_offer_is_unreadable_and_its_offer_may_be_a_uuid_or_missing() {
        let mut promotion = literal_promotion();
        promotion["offer_id"] = json!("2222222222222222222224");
        let err = read(&promotion).unwrap_err();
        assert!(
            matches!(&err, UpstreamError::BadResponse(d) if d.contains("offer_id") && d.contains(ID)),
            "{err:?}"
        );
        for mine in [
            json!("00000000-0000-0000-0000-000000000001"),
            json!(""),
            json!(null),
        ] {
            promotion["offer_id"] = mine.clone();
            assert!(read(&promotion).is_ok(), "{mine}");
        }
        promotion.as_object_mut().unwrap().remove("offer_id");
        assert!(read(&promotion).is_ok());
    }

    #[test]
    fn promotions_take_defaults_for_missing_and_null_fields_and_ignore_new_ones() {
        let minimal = json!({"id": ID, "promotional_price": "1.00",
            "start_date": "2024-10-23T21:52:56Z", "end_date": "2024-10-24T21:52:56Z"});
        let nulls = json!({"id": ID, "short_id": null, "offer_id": null,
            "promotional_price": "1.00", "start_date": "2024-10-23T21:52:56Z",
            "end_date": "2024-10-24T21:52:56Z", "metadata": null, "currency": null,
            "promotion_type": null, "description": null, "is_active": null,
            "stackable": true});
        for value in [minimal, nulls] {
            let wire: wire::PromotionOut = serde_json::from_value(value.clone()).unwrap();
            assert!(
                wire.short_id.is_empty() && wire.offer_id.is_empty(),
                "{value}"
            );
            assert_eq!(wire.metadata, Value::Null);
            let mapped = promotion(&wire).unwrap();
            assert!(
                !mapped.is_active && mapped.description.is_empty() && mapped.currency.is_none()
            );
            assert_eq!(mapped.kind, PromotionKind::Unrecognized);
        }
        // Metadata is any JSON, as sent.
        let mut promotion = literal_promotion();
        promotion["metadata"] = json!(["a", 1]);
        assert!(read(&promotion).is_ok());
    }
}
