//! The domain model: offers as the gateway understands them, whatever
//! upstream they came from.
//!
//! Connectors map their wire types into these structs (see each
//! `upstream/<style>/map.rs`); the GraphQL layer shows them. Plain nested
//! records derive `SimpleObject` directly, so their `///` comments are the
//! API documentation; the three offer types get hand-written views in
//! `schema::offer` because they implement the `Offer` and `Node` interfaces.

use std::sync::Arc;

use async_graphql::{
    Enum, InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Union,
    Value as GraphQLValue,
};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::gtin::Gtin;
use crate::pricing::{Money, PriceTier};

/// An exact decimal number that is not money (a rate, a dimension).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DecimalNumber(#[serde(with = "rust_decimal::serde::str")] pub Decimal);

/// An exact decimal number as a string, e.g. `"12.5"`; never binary floating point.
#[Scalar(name = "Decimal")]
impl ScalarType for DecimalNumber {
    fn parse(value: GraphQLValue) -> InputValueResult<Self> {
        match &value {
            GraphQLValue::String(text) => text
                .parse::<Decimal>()
                .map(DecimalNumber)
                .map_err(|_| InputValueError::custom("not a decimal number")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> GraphQLValue {
        GraphQLValue::String(self.0.normalize().to_string())
    }
}

/// A JSON value an upstream sent (metadata, rules, external data), kept as
/// its compact text with object keys sorted. Offers stay in caches, and a
/// `serde_json::Value` tree costs several times its text: every object
/// allocates a B-tree node of eleven slots, however few keys it has.
/// Equal values have equal texts.
#[derive(Clone, PartialEq, Eq)]
pub struct JsonText(Box<str>);

impl JsonText {
    /// The text of `value`.
    pub fn new(value: &Value) -> JsonText {
        JsonText(value.to_string().into_boxed_str())
    }

    /// The text of the object `map`.
    pub fn object(map: &serde_json::Map<String, Value>) -> JsonText {
        // A map of JSON values always serializes.
        let text = serde_json::to_string(map).unwrap_or_else(|_| "{}".to_owned());
        JsonText(text.into_boxed_str())
    }

    /// The value again.
    pub fn value(&self) -> Value {
        // The text was written by `serde_json` from a value.
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }

    /// The compact text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Value> for JsonText {
    fn from(value: Value) -> JsonText {
        JsonText::new(&value)
    }
}

impl PartialEq<Value> for JsonText {
    fn eq(&self, other: &Value) -> bool {
        self.value() == *other
    }
}

/// Kept as its text (the shared tier's encoding).
impl serde::Serialize for JsonText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Read back from its text, which must be JSON.
impl<'de> serde::Deserialize<'de> for JsonText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let value: Value = serde_json::from_str(&text).map_err(serde::de::Error::custom)?;
        Ok(JsonText::new(&value))
    }
}

impl std::fmt::Debug for JsonText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A scalar that can represent any JSON value.
#[Scalar(name = "JSON")]
impl ScalarType for JsonText {
    fn parse(value: GraphQLValue) -> InputValueResult<Self> {
        let json = value.into_json().map_err(InputValueError::custom)?;
        Ok(JsonText::new(&json))
    }

    fn to_value(&self) -> GraphQLValue {
        // The text was written by `serde_json` from a value.
        serde_json::from_str(&self.0).unwrap_or(GraphQLValue::Null)
    }
}

/// The API style of an upstream.
#[derive(
    Enum,
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
    serde::Serialize,
    serde::Deserialize,
)]
#[strum(serialize_all = "lowercase")]
pub enum UpstreamKind {
    /// A Closient-style retail API: online and in-store offers of retailers.
    Closient,
    /// A Medusa v2 / Mercur-style marketplace admin API.
    Medusa,
    /// A Violet-style catalog API of merchants' offers.
    Violet,
}

impl UpstreamKind {
    /// The lower-case name used in configuration files.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Which GraphQL offer type an offer is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum OfferKind {
    /// `OnlineOffer`: a Closient online storefront offer.
    Online,
    /// `InStoreOffer`: a Closient physical store offer.
    InStore,
    /// `MarketplaceOffer`: a Medusa or Violet offer.
    Marketplace,
}

impl OfferKind {
    /// The GraphQL type name of this kind.
    pub fn type_name(self) -> &'static str {
        match self {
            OfferKind::Online => "OnlineOffer",
            OfferKind::InStore => "InStoreOffer",
            OfferKind::Marketplace => "MarketplaceOffer",
        }
    }

    /// Parses a GraphQL type name back into a kind.
    pub fn from_type_name(name: &str) -> Option<Self> {
        match name {
            "OnlineOffer" => Some(OfferKind::Online),
            "InStoreOffer" => Some(OfferKind::InStore),
            "MarketplaceOffer" => Some(OfferKind::Marketplace),
            _ => None,
        }
    }
}

/// The key of an offer inside one upstream instance: its kind and the
/// upstream's own (normalized) id.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct OfferKey {
    /// Which offer type (and so which upstream endpoint) the id belongs to.
    pub kind: OfferKind,
    /// The upstream's id in its canonical form (Closient: shortuuid;
    /// Medusa: `offer_<ULID>`; Violet: decimal integer).
    pub native_id: String,
}

impl OfferKey {
    /// Builds a key.
    pub fn new(kind: OfferKind, native_id: impl Into<String>) -> Self {
        OfferKey {
            kind,
            native_id: native_id.into(),
        }
    }
}

/// The lifecycle state of an offer, normalized across upstreams.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum OfferStatus {
    /// Listed and resolvable: it may be bought if it is also in stock.
    Active,
    /// Listed, but the seller reports it out of stock.
    OutOfStock,
    /// Temporarily withdrawn; expected to come back.
    Seasonal,
    /// Permanently withdrawn, archived or being deleted.
    Discontinued,
    /// Hidden or disabled by the merchant or the platform.
    Unavailable,
    /// The upstream states a status the gateway does not know (the raw
    /// value is in `upstreamStatus`); never buyable.
    Unrecognized,
}

/// The fields every offer has, whatever its upstream.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OfferCommon {
    /// Name of the configured upstream instance the offer came from.
    pub upstream: Arc<str>,
    /// API style of that upstream.
    pub upstream_kind: UpstreamKind,
    /// Key of the offer inside that upstream.
    pub key: OfferKey,
    /// The upstream's product id (Closient shortuuid, Medusa `prod_...`, Violet product id).
    pub product_id: String,
    /// The seller's stock keeping unit, when the upstream gives one for the offer as a whole.
    pub sku: Option<String>,
    /// The price for one unit; `None` when the upstream does not know it.
    pub price: Option<Money>,
    /// The currency the offer is priced in, known even when the amount is
    /// not (Closient lifts it from the store with a null amount); `None`
    /// only when the upstream states none.
    pub currency: Option<crate::pricing::Currency>,
    /// Normalized lifecycle state.
    pub status: OfferStatus,
    /// The status exactly as the upstream spelled it, when it has one.
    pub upstream_status: Option<String>,
    /// Developer-attached key/value data (an object; `{}` when there is none).
    pub metadata: JsonText,
}

/// An offer of any kind.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Offer {
    /// A Closient online storefront offer.
    Online(Arc<OnlineOffer>),
    /// A Closient physical store offer.
    InStore(Arc<InStoreOffer>),
    /// A Medusa or Violet marketplace offer.
    Marketplace(Arc<MarketplaceOffer>),
}

impl From<Arc<OnlineOffer>> for Offer {
    fn from(offer: Arc<OnlineOffer>) -> Offer {
        Offer::Online(offer)
    }
}

impl From<Arc<InStoreOffer>> for Offer {
    fn from(offer: Arc<InStoreOffer>) -> Offer {
        Offer::InStore(offer)
    }
}

impl From<Arc<MarketplaceOffer>> for Offer {
    fn from(offer: Arc<MarketplaceOffer>) -> Offer {
        Offer::Marketplace(offer)
    }
}

impl Offer {
    /// A copy whose heap holds exactly its data, for offers read by moving
    /// wire values into the domain: serde grows vectors by doubling, and a
    /// `collect` over a moved vector keeps the wire vector's allocation,
    /// sized for the wire type. A cached Violet offer held about 40% more
    /// than its data that way. (Clones allocate exact lengths.)
    pub fn compacted(&self) -> Offer {
        match self {
            Offer::Online(o) => Offer::Online(Arc::new(OnlineOffer::clone(o))),
            Offer::InStore(o) => Offer::InStore(Arc::new(InStoreOffer::clone(o))),
            Offer::Marketplace(o) => Offer::Marketplace(Arc::new(MarketplaceOffer::clone(o))),
        }
    }

    /// The fields shared by all offers.
    pub fn common(&self) -> &OfferCommon {
        match self {
            Offer::Online(o) => &o.common,
            Offer::InStore(o) => &o.common,
            Offer::Marketplace(o) => &o.common,
        }
    }

    /// Every currency the offer states a price in: its price, Medusa tiers,
    /// Violet SKUs, Closient shipping. (A comparison in another currency
    /// needs rates when any of them differs.)
    pub fn currencies(&self) -> Vec<crate::pricing::Currency> {
        let mut all: Vec<crate::pricing::Currency> = Vec::new();
        let mut add = |money: Option<&Money>| {
            if let Some(m) = money {
                if !all.contains(&m.currency()) {
                    all.push(m.currency());
                }
            }
        };
        add(self.common().price.as_ref());
        match self {
            Offer::Online(o) => add(o.shipping_cost.as_ref()),
            Offer::InStore(_) => {}
            Offer::Marketplace(o) => match &o.details {
                MarketplaceDetails::Medusa(d) => {
                    for tier in &d.prices {
                        add(Some(&tier.price));
                    }
                }
                MarketplaceDetails::Violet(d) => {
                    add(Some(&d.min_price));
                    for sku in &d.skus {
                        add(sku.sale_price.as_ref());
                        add(sku.retail_price.as_ref());
                    }
                }
            },
        }
        all
    }

    /// What the offer itself says about its product, for the catalog
    /// index. Only codes the upstream sent count: a product is never
    /// guessed from a name.
    pub fn product_facts(&self) -> ProductFacts {
        let common = self.common();
        let product_id = Some(common.product_id.clone()).filter(|id| !id.is_empty());
        match self {
            // Closient offers name a Closient product id only; its GTIN
            // comes from Closient's products API.
            Offer::Online(_) | Offer::InStore(_) => ProductFacts {
                upstream_product_id: product_id,
                ..ProductFacts::default()
            },
            Offer::Marketplace(o) => match &o.details {
                // A Medusa offer's title is its variant's ("M / Blue"), not
                // the product's name.
                MarketplaceDetails::Medusa(d) => ProductFacts {
                    upstream_product_id: d.product_id.clone().or(product_id),
                    gtins: gtins([d.ean.as_deref(), d.upc.as_deref()]),
                    name: None,
                    brand: None,
                    image_url: None,
                },
                MarketplaceDetails::Violet(d) => ProductFacts {
                    upstream_product_id: d.product_id.clone().filter(|id| !id.is_empty()),
                    gtins: gtins(d.skus.iter().flat_map(|sku| {
                        [sku.gtin.as_deref(), sku.upc.as_deref(), sku.ean.as_deref()]
                    })),
                    name: Some(d.name.clone()).filter(|n| !n.trim().is_empty()),
                    brand: d.vendor.clone().filter(|b| !b.trim().is_empty()),
                    image_url: d.default_image_url.clone().or_else(|| {
                        d.albums
                            .iter()
                            .filter_map(|a| a.primary_media.as_ref())
                            .find_map(|m| m.url.clone())
                    }),
                },
            },
        }
    }
}

/// What an upstream says about the product an offer is for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ProductFacts {
    /// The upstream's own product id (Closient product shortuuid, Medusa
    /// `prod_...`, Violet product id), when it sent one.
    pub upstream_product_id: Option<String>,
    /// The valid GTINs among the upstream's codes, normalized, sorted and
    /// without repeats; empty when it sent none.
    pub gtins: Vec<Gtin>,
    /// Product name, when known.
    pub name: Option<String>,
    /// Brand, when known.
    pub brand: Option<String>,
    /// An image of the product, when known.
    pub image_url: Option<String>,
}

/// The valid GTINs among `codes`, normalized, sorted, without repeats.
fn gtins<'a>(codes: impl IntoIterator<Item = Option<&'a str>>) -> Vec<Gtin> {
    let mut gtins: Vec<Gtin> = codes
        .into_iter()
        .flatten()
        .filter_map(Gtin::from_upstream)
        .collect();
    gtins.sort_unstable();
    gtins.dedup();
    gtins
}

/// Closient offer lifecycle state, as the retailers API states it.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RetailStatus {
    /// Resolvable: takes part in cheapest-active resolution.
    Active,
    /// Permanently withdrawn.
    Discontinued,
    /// Temporarily withdrawn; comes back.
    Seasonal,
    /// Not available at the moment.
    OutOfStock,
    /// A value the upstream sent that the gateway does not know (a newer
    /// API version, say); the raw value is in the matching `upstream...` field.
    Unrecognized,
}

/// Where a Closient offer row came from.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RetailSource {
    /// Supplied by the brand.
    Brand,
    /// Ingested from a partner feed.
    AffiliateFeed,
    /// Scraped from the storefront.
    Scrape,
    /// Synchronized from a point-of-sale system.
    PosSync,
    /// Written by hand through the API.
    Manual,
    /// Reported by a user.
    UserFeedback,
    /// A value the upstream sent that the gateway does not know (a newer
    /// API version, say); the raw value is in the matching `upstream...` field.
    Unrecognized,
}

/// How a Closient storefront delivers an online offer.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FulfillmentType {
    /// Plain ground shipping.
    Standard,
    /// Delivered the same day.
    SameDay,
    /// Delivered the next day.
    NextDay,
    /// Amazon Prime or an equivalent fast-shipping membership (free shipping).
    Prime,
    /// Shipped to a store for pickup.
    ShipToStore,
    /// Picked up at a store.
    StorePickup,
    /// Delivered as a download.
    DigitalDownload,
    /// Recurring delivery at a discount.
    SubscribeAndSave,
    /// A value the upstream sent that the gateway does not know (a newer
    /// API version, say); the raw value is in the matching `upstream...` field.
    Unrecognized,
}

/// How much inventory a Closient storefront reports.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum StockLevel {
    /// Buyable now.
    InStock,
    /// Buyable now; few left.
    LowStock,
    /// Buyable, ships when released.
    PreOrder,
    /// Buyable, ships when restocked.
    Backordered,
    /// Not buyable.
    OutOfStock,
    /// The source gives no stock signal.
    Unknown,
    /// A stock level the gateway does not know (the raw value is in
    /// `upstreamStockLevel`); not buyable now.
    Unrecognized,
}

/// The merchandising kind of a Closient promotion: display only, it never
/// changes which promotion applies.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PromotionKind {
    /// A plain sale.
    Sale,
    /// A time-of-year promotion (Black Friday, holidays).
    Seasonal,
    /// End-of-life inventory.
    Clearance,
    /// One arm of a buy-one-get-one (often priced at zero).
    Bogo,
    /// A discount when bought with another product.
    Bundle,
    /// An introductory price.
    Introductory,
    /// A value the upstream sent that the gateway does not know (a newer
    /// API version, say); the raw value is in `upstreamKind`.
    Unrecognized,
}

/// A time-windowed override of an offer's regular price, as a Closient
/// retailer publishes it (`/online-offers/{id}/promotions`,
/// `/in-store-offers/{id}/promotions`). Which promotion applies, and what a
/// buyer pays, is decided by [`crate::pricing`], never here.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Promotion {
    /// The promotion's shortuuid.
    pub id: String,
    /// The promotional price, exact, in major units (never negative; zero
    /// is a real price, e.g. the free arm of a buy-one-get-one).
    #[serde(with = "rust_decimal::serde::str")]
    pub price: Decimal,
    /// The currency the upstream stated for the price (lifted from the
    /// store); `None` when it sent none, and the offer's currency applies.
    pub currency: Option<crate::pricing::Currency>,
    /// When the promotion starts to apply (inclusive).
    pub starts_at: std::time::SystemTime,
    /// When it stops applying (inclusive).
    pub ends_at: std::time::SystemTime,
    /// Whether the retailer marks it active (it flips to false after the end).
    pub is_active: bool,
    /// The merchandising kind.
    pub kind: PromotionKind,
    /// The kind exactly as the upstream spelled it.
    pub upstream_kind: String,
    /// The retailer's description; empty when it gave none.
    pub description: String,
}

/// An offer for a product on one online storefront (Closient `OnlineOfferOut`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OnlineOffer {
    /// Fields shared by all offers.
    pub common: OfferCommon,
    /// Shortuuid of the online store the offer lives on.
    pub online_store_id: String,
    /// Shortuuid of the organization that owns the offer.
    pub organization_id: Option<String>,
    /// Deep link to the product page; empty when the source has none.
    pub url: String,
    /// Lifecycle state as Closient states it.
    pub retail_status: RetailStatus,
    /// Whether a human or trusted feed confirmed the offer.
    pub is_verified: bool,
    /// Where the row came from.
    pub source: RetailSource,
    /// `source` exactly as the upstream spelled it (or its documented default).
    pub upstream_source: String,
    /// How the storefront delivers.
    pub fulfillment_type: FulfillmentType,
    /// `fulfillment_type` exactly as the upstream spelled it (or its default).
    pub upstream_fulfillment_type: String,
    /// Reported inventory.
    pub stock_level: StockLevel,
    /// `stock_level` exactly as the upstream spelled it (or its default).
    pub upstream_stock_level: String,
    /// ISO 3166-1 alpha-2 countries shipped to; empty = inherit from the storefront.
    pub delivery_countries: Vec<String>,
    /// Shipping cost in the store's currency; `None` when free or unknown,
    /// and when the upstream sent a negative cost (see `upstream_shipping_cost`).
    pub shipping_cost: Option<Money>,
    /// `shipping_cost` exactly as the upstream sent it (a signed decimal string).
    pub upstream_shipping_cost: Option<String>,
    /// Expected handling and shipping time in days; `None` when unknown
    /// (saturated at `i32::MAX`).
    pub lead_time_days: Option<i32>,
    /// Minimum units in one order (1 when the upstream sent none; saturated
    /// at `i32::MAX`).
    pub min_order_quantity: i32,
}

/// An offer for a product at one physical store (Closient `InStoreOfferOut`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InStoreOffer {
    /// Fields shared by all offers.
    pub common: OfferCommon,
    /// Shortuuid of the physical store.
    pub physical_store_id: String,
    /// Shortuuid of the organization that owns the offer.
    pub organization_id: Option<String>,
    /// Lifecycle state as Closient states it.
    pub retail_status: RetailStatus,
    /// Whether a human or trusted feed confirmed the offer.
    pub is_verified: bool,
    /// Where the row came from.
    pub source: RetailSource,
    /// `source` exactly as the upstream spelled it (or its documented default).
    pub upstream_source: String,
    /// Units on the shelf at last count; `None` when unknown (saturated at `i32::MAX`).
    pub quantity_on_hand: Option<i32>,
    /// Aisle or shelf locator; empty when unknown.
    pub aisle: String,
    /// Whether the product can be reserved online and picked up here.
    pub store_pickup_available: bool,
}

/// An offer of a seller on a marketplace or catalog API (Medusa or Violet).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MarketplaceOffer {
    /// Fields shared by all offers.
    pub common: OfferCommon,
    /// Product or offer title, when the upstream gives one.
    pub title: Option<String>,
    /// The seller or merchant.
    pub seller: Seller,
    /// Everything the upstream sent, in its own structure.
    pub details: MarketplaceDetails,
}

/// The seller of a marketplace offer.
#[derive(SimpleObject, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Seller {
    /// The upstream's seller id (Medusa `sel_...`, Violet merchant id).
    /// (`nativeId`, not `id`: unique only within one upstream instance, so a
    /// client cache must not normalize it.)
    #[graphql(name = "nativeId")]
    pub id: String,
    /// Display name, when known.
    pub name: Option<String>,
    /// URL handle, when the upstream has one.
    pub handle: Option<String>,
}

/// The upstream-specific part of a marketplace offer.
#[derive(Union, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
// Offers live behind an `Arc`: the size of the larger variant costs little.
#[allow(clippy::large_enum_variant)]
pub enum MarketplaceDetails {
    /// A Medusa / Mercur admin offer.
    Medusa(MedusaOfferDetails),
    /// A Violet catalog offer.
    Violet(VioletOfferDetails),
}

/// A Medusa v2 / Mercur admin offer, every field of `GET /admin/offers/{id}`.
#[derive(SimpleObject, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MedusaOfferDetails {
    /// ID of the seller who owns the offer.
    pub seller_id: Option<String>,
    /// ID of the offered product variant.
    pub variant_id: Option<String>,
    /// ID of the offered product.
    pub product_id: Option<String>,
    /// ID of the offer's shipping profile.
    pub shipping_profile_id: Option<String>,
    /// The offer's SKU.
    pub sku: Option<String>,
    /// The offer's EAN.
    pub ean: Option<String>,
    /// The offer's UPC.
    pub upc: Option<String>,
    /// ID of the actor who created the offer.
    pub created_by: Option<String>,
    /// Number of variants on the offered product (saturates at 2147483647, the largest GraphQL Int).
    pub variant_count: Option<i32>,
    /// Custom key-value data, exactly as stored (may be null).
    pub metadata: Option<JsonText>,
    /// The seller.
    pub seller: Option<MedusaSeller>,
    /// The offered variant.
    pub product_variant: Option<MedusaVariant>,
    /// The shipping profile.
    pub shipping_profile: Option<MedusaShippingProfile>,
    /// Prices by quantity tier and currency.
    pub prices: Vec<MedusaPrice>,
    /// Linked inventory items.
    pub inventory_items: Vec<MedusaInventoryItem>,
    /// Creation timestamp.
    pub created_at: Option<String>,
    /// Last update timestamp.
    pub updated_at: Option<String>,
}

/// A Medusa seller.
#[derive(SimpleObject, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MedusaSeller {
    /// Seller id (`sel_...`).
    /// (`nativeId`, not `id`: unique only within one upstream instance, so a
    /// client cache must not normalize it.)
    #[graphql(name = "nativeId")]
    pub id: String,
    /// Seller name.
    pub name: Option<String>,
    /// Seller URL handle.
    pub handle: Option<String>,
}

/// A Medusa product variant.
#[derive(SimpleObject, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MedusaVariant {
    /// Variant id (`variant_...`).
    /// (`nativeId`, not `id`: unique only within one upstream instance, so a
    /// client cache must not normalize it.)
    #[graphql(name = "nativeId")]
    pub id: String,
    /// Variant title, e.g. `M / Blue`.
    pub title: Option<String>,
    /// Variant SKU.
    pub sku: Option<String>,
}

/// A Medusa shipping profile.
#[derive(SimpleObject, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MedusaShippingProfile {
    /// Shipping profile id (`sp_...`).
    /// (`nativeId`, not `id`: unique only within one upstream instance, so a
    /// client cache must not normalize it.)
    #[graphql(name = "nativeId")]
    pub id: String,
    /// Shipping profile name.
    pub name: Option<String>,
}

/// One Medusa price: an amount in one currency for a range of quantities.
#[derive(SimpleObject, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MedusaPrice {
    /// Price id (`price_...`).
    /// (`nativeId`, not `id`: unique only within one upstream instance, so a
    /// client cache must not normalize it.)
    #[graphql(name = "nativeId")]
    pub id: String,
    /// The price of one unit in this tier.
    pub price: Money,
    /// Smallest quantity the tier applies to; null = no lower bound (saturates at 2147483647).
    pub min_quantity: Option<i32>,
    /// Largest quantity the tier applies to; null = no upper bound (saturates at 2147483647).
    pub max_quantity: Option<i32>,
    /// Rules restricting the price (region, customer group, ...), as sent.
    pub price_rules: Option<JsonText>,
    /// How many rules restrict the price, as Medusa counts them (sent also
    /// when `priceRules` is not expanded); a price with rules is never
    /// picked for a plain buyer.
    pub rules_count: Option<i32>,
}

impl PriceTier for MedusaPrice {
    fn money(&self) -> &Money {
        &self.price
    }
    fn min_quantity(&self) -> Option<u64> {
        self.min_quantity.map(|q| q.max(0) as u64)
    }
    fn max_quantity(&self) -> Option<u64> {
        self.max_quantity.map(|q| q.max(0) as u64)
    }
    fn has_rules(&self) -> bool {
        if self.rules_count.is_some_and(|count| count > 0) {
            return true;
        }
        // The text is compact: an empty list, an empty object and null
        // have exactly these.
        self.price_rules
            .as_ref()
            .is_some_and(|rules| !matches!(rules.as_str(), "[]" | "{}" | "null"))
    }
}

/// A Medusa inventory item linked to an offer.
#[derive(SimpleObject, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MedusaInventoryItem {
    /// Link id.
    /// (`nativeId`, not `id`: unique only within one upstream instance, so a
    /// client cache must not normalize it.)
    #[graphql(name = "nativeId")]
    pub id: String,
    /// Inventory item id (`iitem_...`).
    pub inventory_item_id: Option<String>,
    /// Units of this item needed for one unit of the offer (saturates at 2147483647).
    pub required_quantity: Option<i32>,
    /// Inventory item SKU.
    pub sku: Option<String>,
}

/// The platform a Violet merchant sells on.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[allow(missing_docs)]
pub enum VioletSource {
    /// Another platform.
    Other,
    /// Shopify.
    Shopify,
    /// Magento 2.
    Magento,
    /// Magento 1.
    MagentoOne,
    /// WooCommerce.
    Woocommerce,
    /// BigCommerce.
    Bigcommerce,
    /// Lightspeed.
    Lightspeed,
    /// Ecwid.
    Ecwid,
    /// SAP Hybris as a service.
    Yaas,
    /// Spree Commerce.
    Spreecommerce,
    /// Salesforce Commerce Cloud (Demandware).
    Demandware,
    /// Volusion.
    Volusion,
    /// PrestaShop.
    Prestashop,
    /// 3dcart.
    Threedcart,
    /// Sylius.
    Sylius,
    /// Wix.
    Wix,
    /// Swell.
    Swell,
    /// Miva.
    Miva,
    /// IBM WebSphere Commerce.
    Websphere,
    /// Oracle Commerce Cloud.
    Oraclecc,
    /// SAP Commerce Cloud.
    Sapcc,
    /// Squarespace.
    Squarespace,
    /// Shopware.
    Shopware,
    /// commercetools.
    Commercetools,
    /// Medusa.
    Medusa,
    /// Abicart.
    Abicart,
    /// Spryker.
    Spryker,
    /// MyStore.
    Mystore,
    /// Centra.
    Centra,
    /// X-Cart.
    Xcart,
    /// VTEX.
    Vtex,
    /// Kibo.
    Kibo,
    /// Saleor.
    Saleor,
    /// Vendo.
    Vendo,
    /// Chord.
    Chord,
    /// Digital River.
    Digitalriver,
    /// Square.
    Square,
    /// Amazon.
    Amazon,
    /// Big Cartel.
    Bigcartel,
    /// A custom platform.
    Custom,
    /// A platform the gateway does not know (the raw value is in `upstreamSource`).
    Unrecognized,
}

/// Kind of product of a Violet offer or SKU.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum VioletProductType {
    /// A physical good.
    Physical,
    /// A digital good.
    Digital,
    /// A virtual good.
    Virtual,
    /// A bundle of goods.
    Bundled,
    /// A kind the gateway does not know (the raw value is in `upstreamType`).
    Unrecognized,
}

/// Availability state of a Violet offer or SKU.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum VioletStatus {
    /// Not available for purchase.
    Unavailable,
    /// Available for purchase.
    Available,
    /// Disabled by the merchant; would otherwise be unavailable.
    DisabledUnavailable,
    /// Disabled by the merchant; would otherwise be available.
    DisabledAvailable,
    /// Scheduled for deletion.
    ForDeletion,
    /// Archived.
    Archived,
    /// A state the gateway does not know (the raw value is in `upstreamStatus`).
    Unrecognized,
}

/// Whether a Violet offer is published to channels.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum VioletPublishingStatus {
    /// Not published.
    NotPublished,
    /// Published.
    Published,
    /// A state the gateway does not know (the raw value is in `upstreamPublishingStatus`).
    Unrecognized,
}

/// Whether the app is subscribed to a Violet offer.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum VioletSubscriptionStatus {
    /// Not subscribed.
    NotSubscribed,
    /// Subscribed.
    Subscribed,
    /// A state the gateway does not know (the raw value is in `upstreamSubscriptionStatus`).
    Unrecognized,
}

/// A Violet catalog offer, every field of `GET /v1/catalog/offers/{offer_id}`.
#[derive(SimpleObject, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VioletOfferDetails {
    /// Offer id (an int64, as a string).
    /// (`nativeId`, not `id`: unique only within one upstream instance, so a
    /// client cache must not normalize it.)
    #[graphql(name = "nativeId")]
    pub id: String,
    /// The parent product id (always sent by Violet; nullable so that it
    /// merges with `MedusaOfferDetails.productId` in one selection).
    pub product_id: Option<String>,
    /// Id on the merchant's platform.
    pub external_id: Option<String>,
    /// URL on the merchant's platform.
    pub external_url: Option<String>,
    /// Product name.
    pub name: String,
    /// Product description.
    pub description: Option<String>,
    /// The merchant's commerce platform.
    pub source: VioletSource,
    /// `source` exactly as the upstream spelled it.
    pub upstream_source: String,
    /// Name of the merchant selling the product (Violet's `seller`; named
    /// apart from `MedusaOfferDetails.seller`, an object).
    #[graphql(name = "sellerName")]
    pub seller: Option<String>,
    /// Name of the original vendor.
    pub vendor: Option<String>,
    /// Merchant id.
    pub merchant_id: i32,
    /// Whether the product is available.
    pub available: bool,
    /// Whether the product is visible.
    pub visible: bool,
    /// Lowest price the product sells for.
    pub min_price: Money,
    /// Highest price the product sells for.
    pub max_price: Option<Money>,
    /// Base currency of the offer, for reference only (the SKU currency is the source of truth).
    pub currency: Option<String>,
    /// Category on the source platform.
    pub source_category_name: Option<String>,
    /// Additional metadata entries (Violet's `metadata`; named apart from
    /// `MedusaOfferDetails.metadata`, a JSON object).
    #[graphql(name = "metadataEntries")]
    pub metadata: Vec<VioletMetadata>,
    /// Product variations (size, color, ...).
    pub variants: Vec<VioletVariant>,
    /// Purchasable SKUs with their prices.
    pub skus: Vec<VioletSku>,
    /// Media albums of the offer.
    pub albums: Vec<VioletAlbum>,
    /// Whether the product has 3D content.
    pub three_d_enabled: Option<bool>,
    /// The 3D resource.
    pub three_d_resource: Option<String>,
    /// Kind of product.
    #[graphql(name = "type")]
    pub product_type: Option<VioletProductType>,
    /// `type` exactly as the upstream spelled it.
    pub upstream_type: Option<String>,
    /// Availability state.
    pub status: Option<VioletStatus>,
    /// `status` exactly as the upstream spelled it.
    pub upstream_status: Option<String>,
    /// Publishing state.
    pub publishing_status: Option<VioletPublishingStatus>,
    /// `publishingStatus` exactly as the upstream spelled it.
    pub upstream_publishing_status: Option<String>,
    /// Creation date.
    pub date_created: Option<String>,
    /// Last modification date.
    pub date_last_modified: Option<String>,
    /// Last consolidation date (jittered; may be in the future).
    pub date_last_consolidated: Option<String>,
    /// Commission given by the merchant, in percent.
    pub commission_rate: Option<DecimalNumber>,
    /// Symbol of the presented currency.
    pub currency_symbol: Option<String>,
    /// The presented currency.
    pub presented_currency: Option<String>,
    /// Default image (search answers only).
    pub default_image_url: Option<String>,
    /// Subscription state.
    pub subscription_status: Option<VioletSubscriptionStatus>,
    /// `subscriptionStatus` exactly as the upstream spelled it.
    pub upstream_subscription_status: Option<String>,
    /// Raw product data from the merchant's platform.
    pub external_data: Option<JsonText>,
    /// Collections the offer belongs to.
    pub collections: Vec<VioletCollection>,
    /// Tags.
    pub tags: Vec<String>,
}

/// One Violet metadata entry.
#[derive(SimpleObject, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VioletMetadata {
    /// Entry version (saturates at 2147483647).
    pub version: Option<i32>,
    /// Value type, e.g. `STRING`.
    #[graphql(name = "type")]
    pub value_type: Option<String>,
    /// Type on the source platform.
    pub external_type: Option<String>,
    /// Key; null when the upstream sent none.
    pub key: Option<String>,
    /// Value, as sent.
    pub value: Option<JsonText>,
    /// Id on the source platform.
    pub external_id: Option<String>,
    /// Origin of the entry, e.g. `INTERNAL`.
    pub source: Option<String>,
}

/// A Violet product variation (e.g. Size) and its values.
#[derive(SimpleObject, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VioletVariant {
    /// Variant id; null when the upstream sent none.
    /// (`nativeId`, not `id`: unique only within one upstream instance, so a
    /// client cache must not normalize it.)
    #[graphql(name = "nativeId")]
    pub id: Option<String>,
    /// Product variant id.
    pub product_variant_id: Option<String>,
    /// Id on the source platform.
    pub external_id: Option<String>,
    /// Variation name; null when the upstream sent none.
    pub name: Option<String>,
    /// Whether the variation is visual (e.g. color).
    pub visual: Option<bool>,
    /// Values of the variation.
    pub values: Vec<VioletVariantValue>,
    /// Display position (saturates at 2147483647).
    pub display_order: Option<i32>,
}

/// One value of a Violet variation (e.g. Small).
#[derive(SimpleObject, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VioletVariantValue {
    /// Value id; null when the upstream sent none.
    /// (`nativeId`, not `id`: unique only within one upstream instance, so a
    /// client cache must not normalize it.)
    #[graphql(name = "nativeId")]
    pub id: Option<String>,
    /// Product variant value id.
    pub product_variant_value_id: Option<String>,
    /// Id on the source platform.
    pub external_id: Option<String>,
    /// Value name; null when the upstream sent none.
    pub name: Option<String>,
    /// Ids of the SKUs that have this value.
    pub sku_ids: Vec<String>,
    /// Display position (saturates at 2147483647).
    pub display_order: Option<i32>,
}

/// A purchasable Violet SKU.
#[derive(SimpleObject, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VioletSku {
    /// SKU id; null when the upstream sent none.
    /// (`nativeId`, not `id`: unique only within one upstream instance, so a
    /// client cache must not normalize it.)
    #[graphql(name = "nativeId")]
    pub id: Option<String>,
    /// Offer id.
    pub offer_id: Option<String>,
    /// Merchant id.
    pub merchant_id: Option<i32>,
    /// Id on the source platform.
    pub external_id: Option<String>,
    /// SKU name.
    pub name: Option<String>,
    /// Amazon ASIN.
    pub asin: Option<String>,
    /// GTIN.
    pub gtin: Option<String>,
    /// UPC.
    pub upc: Option<String>,
    /// EAN.
    pub ean: Option<String>,
    /// ISBN.
    pub isbn: Option<String>,
    /// Whether it is in stock.
    pub in_stock: Option<bool>,
    /// Units available (saturates at 2147483647).
    pub quantity_available: Option<i32>,
    /// Whether inventory is tracked.
    pub inventory_tracked: Option<bool>,
    /// Sale price.
    pub sale_price: Option<Money>,
    /// Retail (list) price.
    pub retail_price: Option<Money>,
    /// Currency of the prices (the source of truth).
    pub currency: Option<String>,
    /// Presented currency.
    pub presented_currency: Option<String>,
    /// Whether the SKU is taxable.
    pub taxable: Option<bool>,
    /// Tax type, e.g. `DEFAULT`.
    pub tax_type: Option<String>,
    /// Media albums of the SKU.
    pub albums: Vec<VioletAlbum>,
    /// The variation values of this SKU.
    pub variant_values: Vec<VioletSkuVariantValue>,
    /// Kind of product.
    #[graphql(name = "type")]
    pub product_type: Option<VioletProductType>,
    /// `type` exactly as the upstream spelled it.
    pub upstream_type: Option<String>,
    /// Availability state.
    pub status: Option<VioletStatus>,
    /// `status` exactly as the upstream spelled it.
    pub upstream_status: Option<String>,
    /// Creation date.
    pub date_created: Option<String>,
    /// Last modification date.
    pub date_last_modified: Option<String>,
    /// Product dimensions.
    pub sku_dimensions: Option<VioletDimensions>,
    /// Shipping dimensions.
    pub shipping_dimensions: Option<VioletDimensions>,
    /// Display position (saturates at 2147483647).
    pub display_order: Option<i32>,
}

/// A variation value of a Violet SKU.
#[derive(SimpleObject, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VioletSkuVariantValue {
    /// Variation name, e.g. `Size`; null when the upstream sent none.
    pub variant: Option<String>,
    /// Value, e.g. `Small`; null when the upstream sent none.
    pub value: Option<String>,
}

/// Dimensions of a Violet SKU.
#[derive(SimpleObject, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VioletDimensions {
    /// SKU id.
    pub sku_id: Option<String>,
    /// Weight.
    pub weight: Option<DecimalNumber>,
    /// Height.
    pub height: Option<DecimalNumber>,
    /// Width.
    pub width: Option<DecimalNumber>,
    /// Length.
    pub length: Option<DecimalNumber>,
    /// Dimension kind, e.g. `SKU`.
    #[graphql(name = "type")]
    pub dimension_type: Option<String>,
}

/// A Violet media album.
#[derive(SimpleObject, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VioletAlbum {
    /// Album id; null when the upstream sent none.
    /// (`nativeId`, not `id`: unique only within one upstream instance, so a
    /// client cache must not normalize it.)
    #[graphql(name = "nativeId")]
    pub id: Option<String>,
    /// Id of the offer or SKU owning the album.
    pub parent_id: Option<String>,
    /// Owner kind, e.g. `OFFER`.
    #[graphql(name = "type")]
    pub album_type: Option<String>,
    /// Album name.
    pub name: Option<String>,
    /// Media of the album.
    pub media: Vec<VioletMedia>,
    /// The primary media.
    pub primary_media: Option<VioletMedia>,
}

/// One Violet media item.
#[derive(SimpleObject, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VioletMedia {
    /// Media id; null when the upstream sent none.
    /// (`nativeId`, not `id`: unique only within one upstream instance, so a
    /// client cache must not normalize it.)
    #[graphql(name = "nativeId")]
    pub id: Option<String>,
    /// Album id.
    pub album_id: Option<String>,
    /// Id on the source platform.
    pub external_id: Option<String>,
    /// Id in Violet's media cloud.
    pub cloud_id: Option<String>,
    /// URL to show.
    pub url: Option<String>,
    /// Original URL.
    pub source_url: Option<String>,
    /// Media kind, e.g. `IMAGE`.
    #[graphql(name = "type")]
    pub media_type: Option<String>,
    /// Display position (saturates at 2147483647).
    pub display_order: Option<i32>,
    /// Whether this is the primary media.
    pub primary: Option<bool>,
}

/// A Violet collection.
#[derive(SimpleObject, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VioletCollection {
    /// Collection id; null when the upstream sent none.
    /// (`nativeId`, not `id`: unique only within one upstream instance, so a
    /// client cache must not normalize it.)
    #[graphql(name = "nativeId")]
    pub id: Option<String>,
    /// Id on the source platform.
    pub external_id: Option<String>,
    /// Merchant id.
    pub merchant_id: Option<i32>,
    /// Name.
    pub name: Option<String>,
    /// URL handle.
    pub handle: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Status, e.g. `ACTIVE`.
    pub status: Option<String>,
    /// Kind, e.g. `CUSTOM`.
    #[graphql(name = "type")]
    pub collection_type: Option<String>,
    /// Cover media.
    pub media: Option<VioletCollectionMedia>,
    /// Creation date.
    pub date_created: Option<String>,
    /// Last modification date.
    pub date_last_modified: Option<String>,
}

/// Cover media of a Violet collection.
#[derive(SimpleObject, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VioletCollectionMedia {
    /// Original URL.
    pub source_url: Option<String>,
    /// Alternative text.
    pub alt: Option<String>,
    /// Height in pixels (saturates at 2147483647).
    pub height: Option<i32>,
    /// Width in pixels (saturates at 2147483647).
    pub width: Option<i32>,
    /// Creation date.
    pub date_created: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::PriceTier;
    use serde_json::json;

    #[test]
    fn json_text_is_compact_with_sorted_keys_and_reads_back() {
        let value = json!({"z": [1, {"b": null, "a": "x"}], "a": 1.5});
        let text = JsonText::from(value.clone());
        assert_eq!(text.as_str(), r#"{"a":1.5,"z":[1,{"a":"x","b":null}]}"#);
        assert_eq!(text.value(), value);
        assert_eq!(text, value);
        assert_eq!(
            <JsonText as ScalarType>::to_value(&text),
            GraphQLValue::from_json(value).unwrap()
        );
        assert_eq!(format!("{text:?}"), text.as_str(), "weighed by its text");
    }

    #[test]
    fn a_price_has_rules_unless_they_are_empty_or_null() {
        let price = |rules: Option<Value>, count: Option<i32>| MedusaPrice {
            id: "price_1".to_owned(),
            price: Money::new(
                Decimal::ONE,
                crate::pricing::Currency::parse("USD").unwrap(),
            ),
            min_quantity: None,
            max_quantity: None,
            price_rules: rules.map(JsonText::from),
            rules_count: count,
        };
        for empty in [None, Some(json!([])), Some(json!({})), Some(Value::Null)] {
            assert!(!price(empty.clone(), None).has_rules(), "{empty:?}");
            assert!(price(empty, Some(1)).has_rules());
        }
        assert!(price(Some(json!([{"attribute": "region_id"}])), None).has_rules());
        assert!(price(Some(json!({"region_id": "reg_1"})), None).has_rules());
    }
}
