//! Closient wire types, exactly as the retailers and products APIs send
//! them (`OnlineOfferOut`, `InStoreOfferOut`, the legacy flat `OfferOut`,
//! `ProductBrowseOut`, `ProductOut`, an offer's promotions, the pagination
//! envelope and the error envelope).
//!
//! The simulator serializes these and the connector deserializes them.
//! Responses may carry fields added later, so nothing here denies unknown
//! fields. Fields the API documents with a default take it when missing
//! or `null` (`min_order_quantity` is 1, `status` active, `source` manual,
//! `stock_level` unknown, `price_currency` USD, strings empty, flags false). Every enum has an
//! `Unrecognized` variant that keeps a value the documentation does not
//! list, as sent. Counts are read as integers of any size (saturating at
//! the ends of `i64`, see [`crate::upstream::tolerant`]); the mapping
//! saturates them into the domain's `i32`.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::upstream::tolerant::{self, null_as_default};

fn one() -> i64 {
    1
}

/// `min_order_quantity`: the documented default 1 when missing or `null`.
fn one_if_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    Ok(tolerant::opt_int(deserializer)?.unwrap_or(1))
}

/// `PriceOut`: the row's bare decimal with the parent store's currency.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PriceOut {
    /// Decimal string in major units; `null` when the price is unknown.
    #[serde(default)]
    pub amount: Option<String>,
    /// ISO 4217 code of the parent store's currency.
    pub currency: String,
}

/// Lifecycle state of an offer (`status`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash, strum::AsRefStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum OfferStatus {
    /// Resolvable.
    #[default]
    Active,
    /// Permanently withdrawn.
    Discontinued,
    /// Temporarily withdrawn; comes back.
    Seasonal,
    /// Not available at the moment.
    OutOfStock,
    /// A value the documentation does not list, as sent.
    #[serde(untagged)]
    #[strum(transparent)]
    Unrecognized(String),
}

impl OfferStatus {
    /// Every documented value.
    #[cfg(any(test, feature = "sim"))]
    pub const ALL: [OfferStatus; 4] = [
        OfferStatus::Active,
        OfferStatus::Discontinued,
        OfferStatus::Seasonal,
        OfferStatus::OutOfStock,
    ];

    /// The value as the API spells it (an unrecognized one as sent).
    pub fn as_str(&self) -> &str {
        self.as_ref()
    }
}

/// Where an offer row came from (`source`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash, strum::AsRefStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum OfferSource {
    /// Supplied by the brand.
    Brand,
    /// Partner-feed ingest.
    AffiliateFeed,
    /// Scraped from the storefront.
    Scrape,
    /// Point-of-sale synchronization.
    PosSync,
    /// Ad-hoc API write (the default).
    #[default]
    Manual,
    /// Reported by a user.
    UserFeedback,
    /// A value the documentation does not list, as sent.
    #[serde(untagged)]
    #[strum(transparent)]
    Unrecognized(String),
}

impl OfferSource {
    /// The value as the API spells it (an unrecognized one as sent).
    pub fn as_str(&self) -> &str {
        self.as_ref()
    }

    /// Every documented value.
    #[cfg(any(test, feature = "sim"))]
    pub const ALL: [OfferSource; 6] = [
        OfferSource::Brand,
        OfferSource::AffiliateFeed,
        OfferSource::Scrape,
        OfferSource::PosSync,
        OfferSource::Manual,
        OfferSource::UserFeedback,
    ];
}

/// How the storefront delivers an online offer (`fulfillment_type`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash, strum::AsRefStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum FulfillmentType {
    /// Plain ground shipping.
    #[default]
    Standard,
    /// Same-day delivery.
    SameDay,
    /// Next-day delivery.
    NextDay,
    /// Prime or an equivalent membership (free shipping).
    Prime,
    /// Shipped to a store.
    ShipToStore,
    /// Picked up at a store.
    StorePickup,
    /// Downloaded.
    DigitalDownload,
    /// Recurring delivery.
    SubscribeAndSave,
    /// A value the documentation does not list, as sent.
    #[serde(untagged)]
    #[strum(transparent)]
    Unrecognized(String),
}

impl FulfillmentType {
    /// The value as the API spells it (an unrecognized one as sent).
    pub fn as_str(&self) -> &str {
        self.as_ref()
    }

    /// Every documented value.
    #[cfg(any(test, feature = "sim"))]
    pub const ALL: [FulfillmentType; 8] = [
        FulfillmentType::Standard,
        FulfillmentType::SameDay,
        FulfillmentType::NextDay,
        FulfillmentType::Prime,
        FulfillmentType::ShipToStore,
        FulfillmentType::StorePickup,
        FulfillmentType::DigitalDownload,
        FulfillmentType::SubscribeAndSave,
    ];
}

/// Inventory reported by the storefront (`stock_level`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash, strum::AsRefStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StockLevel {
    /// Buyable now.
    InStock,
    /// Buyable now, few left.
    LowStock,
    /// Buyable with a wait.
    PreOrder,
    /// Buyable with a wait.
    Backordered,
    /// Not buyable.
    OutOfStock,
    /// No stock signal (the default).
    #[default]
    Unknown,
    /// A value the documentation does not list, as sent.
    #[serde(untagged)]
    #[strum(transparent)]
    Unrecognized(String),
}

impl StockLevel {
    /// The value as the API spells it (an unrecognized one as sent).
    pub fn as_str(&self) -> &str {
        self.as_ref()
    }

    /// Every documented value.
    #[cfg(any(test, feature = "sim"))]
    pub const ALL: [StockLevel; 6] = [
        StockLevel::InStock,
        StockLevel::LowStock,
        StockLevel::PreOrder,
        StockLevel::Backordered,
        StockLevel::OutOfStock,
        StockLevel::Unknown,
    ];
}

/// `OnlineOfferOut`: an offer for a product on one online storefront.
/// One row per (product, online store, sku).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct OnlineOfferOut {
    /// Shortuuid of the offer.
    pub id: String,
    /// Shortuuid of the catalog product.
    pub product_id: String,
    /// Shortuuid of the online store; its currency denominates the prices.
    pub online_store_id: String,
    /// Developer-attached key/value data.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Map<String, Value>,
    /// Shortuuid of the owning organization.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// Storefront SKU; empty when the source has none.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sku: String,
    /// Deep link to the product page; empty when the source has none.
    #[serde(default, deserialize_with = "null_as_default")]
    pub url: String,
    /// Structured price.
    #[serde(default)]
    pub price: Option<PriceOut>,
    /// Lifecycle state.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: OfferStatus,
    /// Confirmed by a human or a trusted feed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_verified: bool,
    /// Where the row came from.
    #[serde(default, deserialize_with = "null_as_default")]
    pub source: OfferSource,
    /// How the storefront delivers.
    #[serde(default, deserialize_with = "null_as_default")]
    pub fulfillment_type: FulfillmentType,
    /// Reported inventory.
    #[serde(default, deserialize_with = "null_as_default")]
    pub stock_level: StockLevel,
    /// ISO 3166-1 alpha-2 codes shipped to; empty = inherit from the storefront.
    #[serde(default, deserialize_with = "null_as_default")]
    pub delivery_countries: Vec<String>,
    /// Bare decimal in the store's currency; `null` when free or unknown.
    /// The documented pattern allows a sign.
    #[serde(default)]
    pub shipping_cost: Option<String>,
    /// Handling and shipping days; `null` when unknown.
    #[serde(default, deserialize_with = "tolerant::opt_int")]
    pub lead_time_days: Option<i64>,
    /// Minimum units per order (default 1, also for `null`).
    #[serde(default = "one", deserialize_with = "one_if_null")]
    pub min_order_quantity: i64,
}

/// `InStoreOfferOut`: an offer for a product at one physical store.
/// One row per (product, physical store, sku).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct InStoreOfferOut {
    /// Shortuuid of the offer.
    pub id: String,
    /// Shortuuid of the catalog product.
    pub product_id: String,
    /// Shortuuid of the physical store; its currency denominates the price.
    pub physical_store_id: String,
    /// Developer-attached key/value data.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Map<String, Value>,
    /// Shortuuid of the owning organization.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// Retailer SKU; empty when the source has none.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sku: String,
    /// Structured price.
    #[serde(default)]
    pub price: Option<PriceOut>,
    /// Lifecycle state.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: OfferStatus,
    /// Confirmed by a human or a trusted feed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_verified: bool,
    /// Where the row came from.
    #[serde(default, deserialize_with = "null_as_default")]
    pub source: OfferSource,
    /// Units on the shelf at last count; `null` when unknown.
    #[serde(default, deserialize_with = "tolerant::opt_int")]
    pub quantity_on_hand: Option<i64>,
    /// Aisle or shelf locator; empty when unknown.
    #[serde(default, deserialize_with = "null_as_default")]
    pub aisle: String,
    /// Can be reserved online and picked up here.
    #[serde(default, deserialize_with = "null_as_default")]
    pub store_pickup_available: bool,
}

/// `PaginationMeta`: where a page sits in the whole result set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PaginationMeta {
    /// 1-based page number.
    #[serde(default, deserialize_with = "tolerant::uint")]
    pub page: u64,
    /// Items per page.
    #[serde(default, deserialize_with = "tolerant::uint")]
    pub page_size: u64,
    /// Items in the whole result set.
    #[serde(default, deserialize_with = "tolerant::uint")]
    pub total_count: u64,
    /// Pages in the whole result set.
    #[serde(default, deserialize_with = "tolerant::uint")]
    pub total_pages: u64,
    /// Whether a later page has items.
    #[serde(default, deserialize_with = "null_as_default")]
    pub has_next: bool,
    /// Whether this is not the first page.
    #[serde(default, deserialize_with = "null_as_default")]
    pub has_previous: bool,
}

/// A page of a paginated listing. The connector reads `data` item by
/// item (`T` = raw JSON), so that one unreadable item fails only itself.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    /// Items on this page; empty past the end.
    #[serde(deserialize_with = "null_as_default")]
    pub data: Vec<T>,
    /// Position in the result set.
    pub pagination: PaginationMeta,
}

/// The documented default of `price_currency`.
fn usd() -> String {
    "USD".to_owned()
}

/// `price_currency`: the documented default `USD` when missing or `null`.
fn usd_if_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_else(usd))
}

/// Status of an offer in the legacy flat shape (`OfferOut.status`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash, strum::AsRefStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum LegacyStatus {
    /// Offered (the default).
    #[default]
    Active,
    /// Not offered at the moment.
    Inactive,
    /// A value the documentation does not list, as sent.
    #[serde(untagged)]
    #[strum(transparent)]
    Unrecognized(String),
}

impl LegacyStatus {
    /// Every documented value.
    #[cfg(any(test, feature = "sim"))]
    pub const ALL: [LegacyStatus; 2] = [LegacyStatus::Active, LegacyStatus::Inactive];

    /// The value as the API spells it (an unrecognized one as sent).
    #[cfg(any(test, feature = "sim"))]
    pub fn as_str(&self) -> &str {
        self.as_ref()
    }
}

/// Where an offer in the legacy flat shape came from (`OfferOut.source`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash, strum::AsRefStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum LegacySource {
    /// Ad-hoc write (the default).
    #[default]
    Manual,
    /// A data feed.
    Feed,
    /// Scraped.
    Scraper,
    /// A value the documentation does not list, as sent.
    #[serde(untagged)]
    #[strum(transparent)]
    Unrecognized(String),
}

impl LegacySource {
    /// Every documented value.
    #[cfg(any(test, feature = "sim"))]
    pub const ALL: [LegacySource; 3] = [
        LegacySource::Manual,
        LegacySource::Feed,
        LegacySource::Scraper,
    ];

    /// The value as the API spells it (an unrecognized one as sent).
    #[cfg(any(test, feature = "sim"))]
    pub fn as_str(&self) -> &str {
        self.as_ref()
    }
}

/// `OfferOut`: an offer in the older flat shape of
/// `GET /retailers/api/v1/organizations/{organization_id}/offers`.
///
/// Unlike the newer shapes, its ids are canonical UUIDs
/// (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`), the price is a bare decimal
/// string beside its own `price_currency`, and the status is only
/// `active` or `inactive`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LegacyOfferOut {
    /// UUID of the offer.
    pub id: String,
    /// UUID of the catalog product the offer is for.
    pub product_id: String,
    /// UUID of the retailer selling the product (documented as required;
    /// read as optional, nothing depends on it).
    #[serde(default)]
    pub retailer_id: Option<String>,
    /// UUID of the organization that owns the offer (documented as
    /// required; read as optional, the listing names the organization).
    #[serde(default)]
    pub organization_id: Option<String>,
    /// Retailer SKU; empty when the source has none.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sku: String,
    /// Product page URL; empty when there is none.
    #[serde(default, deserialize_with = "null_as_default")]
    pub url: String,
    /// Decimal string in major units of `price_currency`; `null` when the
    /// price is unknown. The documented pattern allows a sign.
    #[serde(default)]
    pub price: Option<String>,
    /// ISO 4217 code of `price` (default `USD`, also for `null`).
    #[serde(default = "usd", deserialize_with = "usd_if_null")]
    pub price_currency: String,
    /// `active` or `inactive`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: LegacyStatus,
    /// Confirmed by a human or a trusted feed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_verified: bool,
    /// `manual`, `feed` or `scraper`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub source: LegacySource,
    /// Units on hand, if known.
    #[serde(default, deserialize_with = "tolerant::opt_int")]
    pub quantity_on_hand: Option<i64>,
}

/// `ProductBrowseOut`: the compact product record of
/// `GET /products/api/v1/browse/products/{id}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ProductBrowseOut {
    /// Shortuuid of the product (the `product_id` of its offers).
    pub id: String,
    /// Normalized GTIN-14 (zero-padded), digits only.
    pub gtin: String,
    /// Whether a brand owner claimed the GTIN (documented as required;
    /// `null` or missing reads as `false`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_claimed: bool,
    /// When the record was created (RFC 3339); documented as required, read
    /// as optional.
    #[serde(default)]
    pub created: Option<String>,
    /// Display name as marketed on the packaging; may be empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub product_name: String,
    /// Brand name; empty when no brand is linked.
    #[serde(default, deserialize_with = "null_as_default")]
    pub brand: String,
    /// Long-form description; may be empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Shortuuid of the organization owning the claim; `null` when unclaimed.
    #[serde(default)]
    pub owner_id: Option<String>,
}

/// `ProductOut`: the canonical product record of
/// `GET /products/api/v1/products/{gtin}`, in a subset of its documented
/// fields (the GDSN dimensions and weights, the net content pair and the
/// GPC codes are left out). The connector reads `id`, `gtin`,
/// `product_name`, `brand` and `image_url`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ProductOut {
    /// Shortuuid of the product (the `product_id` of its offers).
    pub id: String,
    /// Normalized GTIN-14 (zero-padded), digits only.
    pub gtin: String,
    /// Display name as marketed on the packaging.
    #[serde(default, deserialize_with = "null_as_default")]
    pub product_name: String,
    /// Whether a brand owner claimed the GTIN.
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_claimed: bool,
    /// Provenance of the record (`crowd_sourced`, `claimed`, `imported`,
    /// `open_food_facts`, ...), as sent.
    #[serde(default)]
    pub data_source: Option<String>,
    /// Aggregate confidence across the record's fields, 0 to 1.
    #[serde(default)]
    pub confidence_score: Option<f64>,
    /// Per-field confidence.
    #[serde(default, deserialize_with = "null_as_default")]
    pub field_confidence: Map<String, Value>,
    /// Developer-attached key/value data.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Map<String, Value>,
    /// Brand name; empty when no brand is linked.
    #[serde(default, deserialize_with = "null_as_default")]
    pub brand: String,
    /// Manufacturer name; empty when none is on file.
    #[serde(default, deserialize_with = "null_as_default")]
    pub manufacturer: String,
    /// Long-form description; may be empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Absolute URL of the primary product image; empty when none is on file.
    #[serde(default, deserialize_with = "null_as_default")]
    pub image_url: String,
    /// ISO 3166-1 alpha-2 country where the product is made; empty when unknown.
    #[serde(default, deserialize_with = "null_as_default")]
    pub country_of_origin: String,
    /// Net content as printed on the package (`340g`); empty when unknown.
    #[serde(default, deserialize_with = "null_as_default")]
    pub net_content: String,
    /// Shortuuid of the organization owning the claim; `null` when unclaimed.
    #[serde(default)]
    pub owner_id: Option<String>,
    /// Verification tier of the claim (`unverified`, ...), as sent.
    #[serde(default)]
    pub claim_verification_status: Option<String>,
}

/// The merchandising kind of a promotion (`promotion_type`): display only.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, strum::AsRefStr)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum PromotionType {
    /// A plain sale.
    Sale,
    /// A time-of-year promotion.
    Seasonal,
    /// End-of-life inventory.
    Clearance,
    /// One arm of a buy-one-get-one.
    Bogo,
    /// A discount when bought with another product.
    Bundle,
    /// An introductory price.
    Introductory,
    /// A value the documentation does not list, as sent.
    #[serde(untagged)]
    #[strum(transparent)]
    Unrecognized(String),
}

impl Default for PromotionType {
    /// The documentation gives no default: a missing or `null` type reads
    /// as an unrecognized one with an empty spelling.
    fn default() -> Self {
        PromotionType::Unrecognized(String::new())
    }
}

impl PromotionType {
    /// Every documented value.
    #[cfg(any(test, feature = "sim"))]
    pub const ALL: [PromotionType; 6] = [
        PromotionType::Sale,
        PromotionType::Seasonal,
        PromotionType::Clearance,
        PromotionType::Bogo,
        PromotionType::Bundle,
        PromotionType::Introductory,
    ];

    /// The value as the API spells it (an unrecognized one as sent).
    pub fn as_str(&self) -> &str {
        self.as_ref()
    }
}

/// One promotion of an offer, an item of the list that
/// `GET /retailers/api/v1/online-offers/{offer_id}/promotions` and
/// `GET /retailers/api/v1/in-store-offers/{offer_id}/promotions` answer
/// (every promotion of the offer, active or not; no envelope, no paging).
///
/// The price, dates and flag are read as sent and judged by the mapping:
/// a price or date that is missing, `null` or unreadable makes that one
/// promotion unreadable, never its list.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PromotionOut {
    /// Shortuuid of the promotion.
    pub id: String,
    /// The promotion's short code; empty when the API sends none.
    #[serde(default, deserialize_with = "null_as_default")]
    pub short_id: String,
    /// Shortuuid of the offer the promotion belongs to; empty when the API
    /// sends none (it then belongs to the offer asked for).
    #[serde(default, deserialize_with = "null_as_default")]
    pub offer_id: String,
    /// Decimal string in major units of the parent store's currency, never
    /// negative; `"0"` is a real price (the free arm of a buy-one-get-one).
    /// Documented as required: missing or `null` reads as empty, which is
    /// not a price.
    #[serde(default, deserialize_with = "null_as_default")]
    pub promotional_price: String,
    /// RFC 3339 timestamp from which the promotion applies (inclusive);
    /// missing or `null` reads as empty, which is not a timestamp.
    #[serde(default, deserialize_with = "null_as_default")]
    pub start_date: String,
    /// RFC 3339 timestamp until which the promotion applies (inclusive),
    /// after `start_date`; missing or `null` reads as empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub end_date: String,
    /// Developer-attached data, any JSON as sent (an object by the
    /// documentation; `null` when missing).
    #[serde(default)]
    pub metadata: Value,
    /// ISO 4217 code of the parent store's currency, lifted at read time;
    /// may be empty (missing and `null` read as empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub currency: String,
    /// The merchandising kind (display only).
    #[serde(default, deserialize_with = "null_as_default")]
    pub promotion_type: PromotionType,
    /// The retailer's description; may be empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Whether the retailer marks the promotion active (a daily job turns
    /// it off once `end_date` has passed; the row is kept). Missing or
    /// `null` reads as `false`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_active: bool,
}

/// Machine-readable error code of the error envelope.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// 400.
    BadRequest,
    /// 401.
    Unauthorized,
    /// 403.
    Forbidden,
    /// 404.
    NotFound,
    /// 409.
    Conflict,
    /// 422.
    ValidationError,
    /// 429.
    RateLimited,
    /// 500.
    InternalError,
}

impl ErrorCode {
    /// The HTTP status that goes with the code.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::ValidationError => 422,
            ErrorCode::RateLimited => 429,
            ErrorCode::InternalError => 500,
        }
    }

    /// The code as the API spells it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One problem of a `VALIDATION_ERROR`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The offending field (path or query parameter, body field).
    #[serde(default)]
    pub field: Option<String>,
    /// What is wrong with it.
    pub message: String,
}

/// The body of every error answer: `{"error": {...}}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// The error inside the envelope.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ErrorBody {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// Human-readable message.
    pub message: String,
    /// The HTTP status, repeated.
    pub status: u16,
    /// Field problems (validation errors); empty otherwise.
    #[serde(default, deserialize_with = "null_as_default")]
    pub details: Vec<FieldError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `as_str` spells each value as serde writes it, and keeps an
    /// unrecognized one as sent.
    #[test]
    fn enum_spellings_match_the_wire() {
        fn check<T: Serialize + serde::de::DeserializeOwned>(value: &T, spelled: &str) {
            assert_eq!(serde_json::to_value(value).expect("serializes"), spelled);
        }
        for v in OfferStatus::ALL {
            check(&v, v.as_str());
        }
        for v in OfferSource::ALL {
            check(&v, v.as_str());
        }
        for v in FulfillmentType::ALL {
            check(&v, v.as_str());
        }
        for v in StockLevel::ALL {
            check(&v, v.as_str());
        }
        for v in LegacyStatus::ALL {
            check(&v, v.as_str());
        }
        for v in LegacySource::ALL {
            check(&v, v.as_str());
        }
        for v in PromotionType::ALL {
            check(&v, v.as_str());
        }
        assert_eq!(PromotionType::Bogo.as_str(), "BOGO");
        let flash: PromotionType = serde_json::from_str("\"FLASH_SALE\"").expect("reads");
        assert_eq!(flash, PromotionType::Unrecognized("FLASH_SALE".to_owned()));
        assert_eq!(
            serde_json::to_value(&flash).expect("serializes"),
            "FLASH_SALE"
        );
        let odd: StockLevel = serde_json::from_str("\"limited\"").expect("reads");
        assert_eq!(odd, StockLevel::Unrecognized("limited".to_owned()));
        assert_eq!(odd.as_str(), "limited");
        assert_eq!(OfferStatus::OutOfStock.as_str(), "out_of_stock");
        assert_eq!(
            FulfillmentType::SubscribeAndSave.as_str(),
            "subscribe_and_save"
        );
    }

    const LEGACY_LIST_EXAMPLE: &str =
        include_str!("../../../tests/fixtures/closient/list_offers.json");
    const BROWSE_EXAMPLE: &str =
        include_str!("../../../tests/fixtures/closient/product_browse.json");
    const PRODUCT_EXAMPLE: &str = include_str!("../../../tests/fixtures/closient/product.json");

    const UUID: &str = "3c90c3cc-0d44-4b50-8888-8dd25736052a";

    #[test]
    fn documented_legacy_listing_example_deserializes_literally() {
        let page: Page<LegacyOfferOut> = serde_json::from_str(LEGACY_LIST_EXAMPLE).unwrap();
        assert_eq!(
            page.data,
            [LegacyOfferOut {
                id: UUID.into(),
                product_id: UUID.into(),
                retailer_id: Some(UUID.into()),
                organization_id: Some(UUID.into()),
                sku: String::new(),
                url: String::new(),
                price: Some("<string>".into()),
                price_currency: "USD".into(),
                status: LegacyStatus::Active,
                is_verified: false,
                source: LegacySource::Manual,
                quantity_on_hand: Some(123),
            }]
        );
        assert_eq!(
            (page.pagination.total_count, page.pagination.has_next),
            (123, true)
        );
    }

    #[test]
    fn legacy_offers_read_missing_and_null_fields_as_their_documented_defaults() {
        let minimal: LegacyOfferOut =
            serde_json::from_str(&format!(r#"{{"id": "{UUID}", "product_id": "{UUID}"}}"#))
                .unwrap();
        let nulls: LegacyOfferOut = serde_json::from_str(&format!(
            r#"{{"id": "{UUID}", "product_id": "{UUID}", "retailer_id": null,
                "organization_id": null, "sku": null, "url": null, "price": null,
                "price_currency": null, "status": null, "is_verified": null,
                "source": null, "quantity_on_hand": null, "added_later": [1]}}"#
        ))
        .unwrap();
        for offer in [minimal, nulls] {
            assert_eq!(offer.price_currency, "USD");
            assert_eq!(offer.status, LegacyStatus::Active);
            assert_eq!(offer.source, LegacySource::Manual);
            assert_eq!((offer.price, offer.quantity_on_hand), (None, None));
            assert!(offer.sku.is_empty() && offer.url.is_empty() && !offer.is_verified);
            assert_eq!((offer.retailer_id, offer.organization_id), (None, None));
        }
        let odd: LegacyOfferOut = serde_json::from_str(&format!(
            r#"{{"id": "{UUID}", "product_id": "{UUID}", "status": "archived",
                "source": "pos_sync", "quantity_on_hand": 3000000000}}"#
        ))
        .unwrap();
        assert_eq!(odd.status, LegacyStatus::Unrecognized("archived".into()));
        assert_eq!(odd.source.as_str(), "pos_sync");
        assert_eq!(odd.quantity_on_hand, Some(3_000_000_000));
    }

    #[test]
    fn documented_product_examples_deserialize_literally() {
        let browse: ProductBrowseOut = serde_json::from_str(BROWSE_EXAMPLE).unwrap();
        assert_eq!(
            browse,
            ProductBrowseOut {
                id: "<string>".into(),
                gtin: "<string>".into(),
                is_claimed: true,
                created: Some("2023-11-07T05:31:56Z".into()),
                product_name: String::new(),
                brand: String::new(),
                description: String::new(),
                owner_id: Some("<string>".into()),
            }
        );
        let product: ProductOut = serde_json::from_str(PRODUCT_EXAMPLE).unwrap();
        assert_eq!(product.product_name, "<string>");
        assert!(product.is_claimed);
        assert_eq!(product.data_source.as_deref(), Some("crowd_sourced"));
        assert_eq!(product.confidence_score, Some(0.5));
        assert!(product.image_url.is_empty() && product.manufacturer.is_empty());
        assert_eq!(
            product.claim_verification_status.as_deref(),
            Some("unverified")
        );
        // A browse record without its optional fields reads with defaults.
        let bare: ProductBrowseOut = serde_json::from_str(
            r#"{"id": "x", "gtin": "00012345678905", "is_claimed": null,
                "product_name": null, "brand": null, "description": null}"#,
        )
        .unwrap();
        assert!(!bare.is_claimed && bare.product_name.is_empty() && bare.created.is_none());
    }
}
