//! Violet wire types, exactly as the catalog API sends them.
//!
//! The simulator serializes these types and the connector deserializes
//! them, so the two cannot drift apart; the seed's literal example
//! (`tests/fixtures/violet/offer.json`) is checked against them too.
//!
//! Conventions of the API, kept here:
//! - field names are `snake_case`; ids are JSON integers (offer, SKU,
//!   variant, album and media ids are int64, merchant ids int32);
//! - prices (`min_price`, `max_price`, SKU `sale_price`, `retail_price`)
//!   are integers in the *minor* unit of the currency (see
//!   [`crate::pricing::from_violet`]); the SKU's `currency` is the source
//!   of truth, the offer-level `currency` is for reference; every price
//!   of an answer is in its `base_currency` query parameter, which
//!   defaults to [`DEFAULT_BASE_CURRENCY`];
//! - other numbers that may be fractional (`commission_rate`, dimensions,
//!   exchange rates) are kept as [`JsonNumber`] so no digit is lost;
//! - the documented enums (`source`, `type`, `status`,
//!   `publishing_status`, `subscription_status`) read every documented
//!   value, and keep any other string as `Unrecognized(raw)`: Violet adds
//!   platforms and states. Nested "type"-like fields whose value set the
//!   documentation does not list (metadata `type`/`source`, album and media
//!   `type`, `tax_type`, collection `status`/`type`, dimension `type`) are
//!   plain strings;
//! - the documentation marks only some top-level fields as required
//!   (`product_id`, `name`, `source`, `merchant_id`, `available`,
//!   `visible`, `min_price`, and the `id` the gateway keys offers by);
//!   every other field, nested ids and names included, may be missing or
//!   `null`;
//! - counts (`quantity_available`, `display_order`, `version`, pixel
//!   sizes, page totals) are integers of any size, saturating (see
//!   [`crate::upstream::tolerant`]);
//! - absent values are omitted when serializing; documented arrays that
//!   arrive as `null` read as empty.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::pricing::JsonNumber;
use crate::upstream::tolerant::{self, null_as_default};

/// Reads a documented array that an upstream may send as `null` or omit.
fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// The spelling of a documented enum value as the API sends it (or the raw
/// string of an unrecognized one).
pub fn spelling<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(text)) => text,
        _ => String::new(),
    }
}

/// The platform a merchant sells on (`source`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum Source {
    Other,
    Shopify,
    Magento,
    MagentoOne,
    Woocommerce,
    Bigcommerce,
    Lightspeed,
    Ecwid,
    Yaas,
    Spreecommerce,
    Demandware,
    Volusion,
    Prestashop,
    Threedcart,
    Sylius,
    Wix,
    Swell,
    Miva,
    Websphere,
    Oraclecc,
    Sapcc,
    Squarespace,
    Shopware,
    Commercetools,
    Medusa,
    Abicart,
    Spryker,
    Mystore,
    Centra,
    Xcart,
    Vtex,
    Kibo,
    Saleor,
    Vendo,
    Chord,
    Digitalriver,
    Square,
    Amazon,
    Bigcartel,
    Custom,
    /// A platform the documentation does not list, as sent.
    #[serde(untagged)]
    Unrecognized(String),
}

impl Source {
    /// Every documented value, in the documentation's order.
    #[cfg(any(test, feature = "sim"))]
    pub const ALL: [Source; 40] = [
        Source::Other,
        Source::Shopify,
        Source::Magento,
        Source::MagentoOne,
        Source::Woocommerce,
        Source::Bigcommerce,
        Source::Lightspeed,
        Source::Ecwid,
        Source::Yaas,
        Source::Spreecommerce,
        Source::Demandware,
        Source::Volusion,
        Source::Prestashop,
        Source::Threedcart,
        Source::Sylius,
        Source::Wix,
        Source::Swell,
        Source::Miva,
        Source::Websphere,
        Source::Oraclecc,
        Source::Sapcc,
        Source::Squarespace,
        Source::Shopware,
        Source::Commercetools,
        Source::Medusa,
        Source::Abicart,
        Source::Spryker,
        Source::Mystore,
        Source::Centra,
        Source::Xcart,
        Source::Vtex,
        Source::Kibo,
        Source::Saleor,
        Source::Vendo,
        Source::Chord,
        Source::Digitalriver,
        Source::Square,
        Source::Amazon,
        Source::Bigcartel,
        Source::Custom,
    ];
}

/// Kind of product of an offer or SKU (`type`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum ProductType {
    Physical,
    Digital,
    Virtual,
    Bundled,
    /// A kind the documentation does not list, as sent.
    #[serde(untagged)]
    Unrecognized(String),
}

impl ProductType {
    /// Every documented value.
    #[cfg(feature = "sim")]
    pub const ALL: [ProductType; 4] = [
        ProductType::Physical,
        ProductType::Digital,
        ProductType::Virtual,
        ProductType::Bundled,
    ];
}

/// Availability state of an offer or SKU (`status`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, strum::AsRefStr)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum Status {
    Unavailable,
    Available,
    DisabledUnavailable,
    DisabledAvailable,
    ForDeletion,
    Archived,
    /// A state the documentation does not list, as sent.
    #[serde(untagged)]
    #[strum(transparent)]
    Unrecognized(String),
}

impl Status {
    /// Every documented value.
    #[cfg(any(test, feature = "sim"))]
    pub const ALL: [Status; 6] = [
        Status::Unavailable,
        Status::Available,
        Status::DisabledUnavailable,
        Status::DisabledAvailable,
        Status::ForDeletion,
        Status::Archived,
    ];

    /// The value as the API spells it (an unrecognized one as sent).
    pub fn as_str(&self) -> &str {
        self.as_ref()
    }
}

/// Whether an offer is published to channels (`publishing_status`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum PublishingStatus {
    NotPublished,
    Published,
    /// A state the documentation does not list, as sent.
    #[serde(untagged)]
    Unrecognized(String),
}

impl PublishingStatus {
    /// Every documented value.
    #[cfg(feature = "sim")]
    pub const ALL: [PublishingStatus; 2] =
        [PublishingStatus::NotPublished, PublishingStatus::Published];
}

/// Whether the app is subscribed to an offer (`subscription_status`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum SubscriptionStatus {
    NotSubscribed,
    Subscribed,
    /// A state the documentation does not list, as sent.
    #[serde(untagged)]
    Unrecognized(String),
}

impl SubscriptionStatus {
    /// Every documented value.
    #[cfg(feature = "sim")]
    pub const ALL: [SubscriptionStatus; 2] = [
        SubscriptionStatus::NotSubscribed,
        SubscriptionStatus::Subscribed,
    ];
}

/// A catalog offer: `GET /v1/catalog/offers/{offer_id}` and the `content`
/// of the search and merchant listings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Offer {
    /// Offer id (int64). Not marked required in the documentation, but an
    /// offer without its id cannot be keyed, so it is required here.
    pub id: i64,
    /// The parent/container product id.
    pub product_id: String,
    /// Id on the merchant's platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// URL on the merchant's platform (may be empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_url: Option<String>,
    /// Product name.
    pub name: String,
    /// Product description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The merchant's commerce platform.
    pub source: Source,
    /// Name of the merchant selling the product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller: Option<String>,
    /// Name of the original vendor (brand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Merchant id (int32).
    pub merchant_id: i32,
    /// Whether the product is available.
    pub available: bool,
    /// Whether the product is visible.
    pub visible: bool,
    /// Lowest price, in minor units.
    pub min_price: i64,
    /// Highest price, in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_price: Option<i64>,
    /// Base currency of the offer, for reference only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Category on the source platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_category_name: Option<String>,
    /// Metadata entries; only sent when `include=metadata` asks for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Vec<Metadata>>,
    /// Product variations.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub variants: Vec<Variant>,
    /// Purchasable SKUs.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub skus: Vec<Sku>,
    /// Media albums.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub albums: Vec<Album>,
    /// Whether the product has 3D content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub three_d_enabled: Option<bool>,
    /// The 3D resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub three_d_resource: Option<String>,
    /// Kind of product.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub product_type: Option<ProductType>,
    /// Availability state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Publishing state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publishing_status: Option<PublishingStatus>,
    /// Creation date (`2023-11-07T05:31:56Z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_created: Option<String>,
    /// Last modification date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_last_modified: Option<String>,
    /// Last consolidation date (jittered; may be in the future).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_last_consolidated: Option<String>,
    /// Commission given by the merchant, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commission_rate: Option<JsonNumber>,
    /// Symbol of the presented currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_symbol: Option<String>,
    /// The presented currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presented_currency: Option<String>,
    /// Default image; only on search answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_image_url: Option<String>,
    /// Subscription state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_status: Option<SubscriptionStatus>,
    /// Raw product data from the merchant's platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_data: Option<Value>,
    /// Collections; only sent when `include=collections` asks for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collections: Option<Vec<Collection>>,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tags: Vec<String>,
}

/// One metadata entry of an offer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Metadata {
    /// Entry version.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tolerant::opt_int"
    )]
    pub version: Option<i64>,
    /// Value type, e.g. `STRING`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub value_type: Option<String>,
    /// Type on the source platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_type: Option<String>,
    /// Key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Value, any JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Id on the source platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Origin of the entry, e.g. `INTERNAL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A product variation (e.g. Size) with its values.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Variant {
    /// Variant id (int64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Product variant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_variant_id: Option<String>,
    /// Id on the source platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Variation name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether the variation is visual (e.g. color).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visual: Option<bool>,
    /// The variation's values.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub values: Vec<VariantValue>,
    /// Display position.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tolerant::opt_int"
    )]
    pub display_order: Option<i64>,
}

/// One value of a variation (e.g. Small).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct VariantValue {
    /// Value id (int64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Product variant value id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_variant_value_id: Option<String>,
    /// Id on the source platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Value name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Ids of the SKUs that have this value.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub sku_ids: Vec<i64>,
    /// Display position.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tolerant::opt_int"
    )]
    pub display_order: Option<i64>,
}

/// A purchasable SKU of an offer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Sku {
    /// SKU id (int64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Offer id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_id: Option<i64>,
    /// Merchant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i32>,
    /// Id on the source platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// SKU name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Amazon ASIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asin: Option<String>,
    /// GTIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    /// UPC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upc: Option<String>,
    /// EAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ean: Option<String>,
    /// ISBN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isbn: Option<String>,
    /// Whether it is in stock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_stock: Option<bool>,
    /// Units available.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tolerant::opt_int"
    )]
    pub quantity_available: Option<i64>,
    /// Whether inventory is tracked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_tracked: Option<bool>,
    /// Sale price, in minor units of `currency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_price: Option<i64>,
    /// Retail (list) price, in minor units of `currency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retail_price: Option<i64>,
    /// Currency of the prices: the source of truth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Presented currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presented_currency: Option<String>,
    /// Whether the SKU is taxable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taxable: Option<bool>,
    /// Tax type, e.g. `DEFAULT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_type: Option<String>,
    /// Media albums of the SKU.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub albums: Vec<Album>,
    /// Variation values of the SKU.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub variant_values: Vec<SkuVariantValue>,
    /// Kind of product.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub product_type: Option<ProductType>,
    /// Availability state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Creation date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_created: Option<String>,
    /// Last modification date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_last_modified: Option<String>,
    /// Product dimensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku_dimensions: Option<Dimensions>,
    /// Shipping dimensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_dimensions: Option<Dimensions>,
    /// Display position.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tolerant::opt_int"
    )]
    pub display_order: Option<i64>,
}

/// A variation value of a SKU.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SkuVariantValue {
    /// Variation name, e.g. `Size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Value, e.g. `Small`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Dimensions of a SKU.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Dimensions {
    /// SKU id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku_id: Option<i64>,
    /// Weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<JsonNumber>,
    /// Height.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<JsonNumber>,
    /// Width.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<JsonNumber>,
    /// Length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<JsonNumber>,
    /// Dimension kind, e.g. `SKU`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub dimension_type: Option<String>,
}

/// A media album of an offer or SKU.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Album {
    /// Album id (int64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Id of the offer or SKU owning the album.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<i64>,
    /// Owner kind, e.g. `OFFER`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub album_type: Option<String>,
    /// Album name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Media of the album.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub media: Vec<Media>,
    /// The primary media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_media: Option<Media>,
}

/// One media item of an album.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Media {
    /// Media id (int64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Album id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub album_id: Option<i64>,
    /// Id on the source platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Id in Violet's media cloud.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_id: Option<String>,
    /// URL to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Original URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// Media kind, e.g. `IMAGE`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Display position.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tolerant::opt_int"
    )]
    pub display_order: Option<i64>,
    /// Whether this is the primary media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

/// A collection an offer belongs to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Collection {
    /// Collection id (int64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Id on the source platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Merchant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i32>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// URL handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Status, e.g. `ACTIVE` or `INACTIVE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Kind, e.g. `CUSTOM`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub collection_type: Option<String>,
    /// Cover media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<CollectionMedia>,
    /// Creation date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_created: Option<String>,
    /// Last modification date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_last_modified: Option<String>,
}

/// Cover media of a collection.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CollectionMedia {
    /// Original URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// Alternative text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
    /// Height in pixels.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tolerant::opt_int"
    )]
    pub height: Option<i64>,
    /// Width in pixels.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tolerant::opt_int"
    )]
    pub width: Option<i64>,
    /// Creation date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_created: Option<String>,
}

/// The page envelope of the search and merchant listings (Spring Data
/// style): the request's `page` is 1-based, the answer's `number` and
/// `pageable.page_number` are 0-based (as Violet's pagination guide shows).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    /// The items of this page.
    #[serde(deserialize_with = "null_as_empty")]
    pub content: Vec<T>,
    /// Details of the requested page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pageable: Option<Pageable>,
    /// Number of items matching the request, over all pages.
    #[serde(deserialize_with = "tolerant::uint")]
    pub total_elements: u64,
    /// Number of pages of this size.
    #[serde(default, deserialize_with = "tolerant::uint")]
    pub total_pages: u64,
    /// Whether this is the last page.
    #[serde(default, deserialize_with = "null_as_default")]
    pub last: bool,
    /// Ordering of the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<PageSort>,
    /// Number of items on this page.
    #[serde(default, deserialize_with = "tolerant::uint32")]
    pub number_of_elements: u32,
    /// Whether this is the first page.
    #[serde(default)]
    pub first: bool,
    /// The requested page size.
    #[serde(default, deserialize_with = "tolerant::uint32")]
    pub size: u32,
    /// The page number, 0-based.
    #[serde(default, deserialize_with = "tolerant::uint32")]
    pub number: u32,
    /// Whether `content` is empty.
    #[serde(default)]
    pub empty: bool,
}

/// `pageable` of a page envelope.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Pageable {
    /// Ordering of the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<PageSort>,
    /// The page number, 0-based.
    #[serde(default, deserialize_with = "tolerant::uint32")]
    pub page_number: u32,
    /// The page size.
    #[serde(default, deserialize_with = "tolerant::uint32")]
    pub page_size: u32,
    /// Index of the first item of the page.
    #[serde(default, deserialize_with = "tolerant::uint")]
    pub offset: u64,
    /// Always true for paged answers.
    #[serde(default)]
    pub paged: bool,
    /// Always false for paged answers.
    #[serde(default)]
    pub unpaged: bool,
}

/// `sort` of a page envelope.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PageSort {
    /// No ordering was requested.
    #[serde(default)]
    pub unsorted: bool,
    /// An ordering was requested.
    #[serde(default)]
    pub sorted: bool,
    /// No ordering was requested.
    #[serde(default)]
    pub empty: bool,
}

/// The filter body of `POST /v1/catalog/offers/search`. Every field is
/// optional; `{}` matches all offers the app may see.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct SearchRequest {
    /// Only offers with this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Only offers of this merchant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i32>,
    /// Only offers of these merchants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_ids: Option<Vec<i32>>,
    /// Only offers of this parent product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// Only offers with this external id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Only (un)available offers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<bool>,
    /// Only (in)visible offers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
    /// Only offers in this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Only offers with this publishing state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publishing_status: Option<PublishingStatus>,
    /// Only offers with this subscription state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_status: Option<SubscriptionStatus>,
    /// Only offers carrying all of these tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Only offers whose lowest price is at least this (minor units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_price: Option<i64>,
    /// Only offers whose highest price is at most this (minor units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_price: Option<i64>,
    /// Field to order by (`id`, `name`, `min_price`, `max_price`,
    /// `date_created`, `date_last_modified`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    /// `ASC` or `DESC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_direction: Option<String>,
}

/// The body of every error answer: `{status, message, error_code, timestamp}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ErrorBody {
    /// The HTTP status, repeated.
    pub status: u16,
    /// What went wrong.
    #[serde(default)]
    pub message: String,
    /// Violet's error code (11 = token expired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    /// When, in milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
}

/// Violet's error code for an expired token.
pub const ERROR_CODE_TOKEN_EXPIRED: i64 = 11;

/// The currency Violet answers prices in when a call gives no
/// `base_currency`: seed 004 documents the by-id parameter as "default:
/// USD", and Violet's guides say the same of the merchant offers listing
/// ("The default currency when no parameter is provided is USD") and of
/// the offer search ("The default is USD").
pub const DEFAULT_BASE_CURRENCY: &str = "USD";

/// The body of `POST /v1/login`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LoginRequest {
    /// The user's email address.
    pub username: String,
    /// The user's password.
    pub password: String,
}

/// A role of a user.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Role {
    /// Role name, e.g. `ROLE_DEVELOPER`.
    pub name: String,
    /// What the role may do.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub permissions: Vec<Permission>,
}

/// A permission of a role.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Permission {
    /// Permission name, e.g. `MANAGE_APPS`.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The answer of `POST /v1/login`: the user, with a token and a refresh token.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LoginResponse {
    /// User id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// User type (`ADMIN`, `MERCHANT`, `USER`, `DEVELOPER`, `INFLUENCER`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// Whether the email address is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// User status (`INACTIVE`, `ACTIVE`, `DISABLED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Account creation date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_created: Option<String>,
    /// Last account update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_last_modified: Option<String>,
    /// Roles and permissions.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub roles: Vec<Role>,
    /// Terms of service accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_accepted: Option<bool>,
    /// Payment settings configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_configured: Option<bool>,
    /// Privacy policy accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_policy_accepted: Option<bool>,
    /// Country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// Merchant ids the user belongs to.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub merchant_ids: Vec<i32>,
    /// The access token (expires after 24 h).
    pub token: String,
    /// The refresh token (never expires).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// The answer of `GET /v1/auth/token`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RefreshResponse {
    /// The new access token.
    pub token: String,
}

/// The answer of `GET /v1/currencies/latest`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ExchangeRates {
    /// Whether the rates could be produced.
    pub success: bool,
    /// When the rates were taken, in seconds since the Unix epoch.
    pub timestamp: i64,
    /// The base currency: units of each currency per one unit of it.
    pub base: String,
    /// The day of the rates (`2024-05-01`).
    pub date: String,
    /// Units of each currency per one unit of `base`.
    pub rates: BTreeMap<String, JsonNumber>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_OFFER: &str = include_str!("../../../tests/fixtures/violet/offer.json");
    const SEED_TOKEN_EXPIRED: &str =
        include_str!("../../../tests/fixtures/violet/error_token_expired.json");

    #[test]
    fn seed_offer_example_deserializes_every_field() {
        let offer: Offer = serde_json::from_str(SEED_OFFER).expect("seed example parses");
        assert_eq!(offer.id, 123);
        assert_eq!(offer.source, Source::Other);
        assert_eq!(offer.merchant_id, 123);
        assert_eq!((offer.min_price, offer.max_price), (123, Some(123)));
        assert_eq!(offer.metadata.as_ref().map(Vec::len), Some(1));
        assert_eq!(
            offer.metadata.as_ref().unwrap()[0].value,
            Some(serde_json::json!({}))
        );
        assert_eq!(offer.variants[0].values[0].sku_ids, vec![123]);
        let sku = &offer.skus[0];
        assert_eq!((sku.sale_price, sku.retail_price), (Some(123), Some(123)));
        assert_eq!(sku.status, Some(Status::Unavailable));
        assert_eq!(sku.product_type, Some(ProductType::Physical));
        assert_eq!(sku.albums[0].media[0].media_type.as_deref(), Some("IMAGE"));
        assert_eq!(
            sku.sku_dimensions
                .as_ref()
                .unwrap()
                .weight
                .as_ref()
                .unwrap()
                .as_str(),
            "123"
        );
        assert_eq!(
            offer.albums[0].primary_media.as_ref().unwrap().primary,
            Some(true)
        );
        assert_eq!(offer.status, Some(Status::Unavailable));
        assert_eq!(
            offer.publishing_status,
            Some(PublishingStatus::NotPublished)
        );
        assert_eq!(
            offer.subscription_status,
            Some(SubscriptionStatus::NotSubscribed)
        );
        assert_eq!(offer.commission_rate.as_ref().unwrap().as_str(), "123");
        assert_eq!(offer.external_data, Some(serde_json::json!({})));
        let collection = &offer.collections.as_ref().unwrap()[0];
        assert_eq!(collection.status.as_deref(), Some("INACTIVE"));
        assert_eq!(collection.media.as_ref().unwrap().width, Some(123));
        assert_eq!(offer.tags, vec!["<string>".to_owned()]);
    }

    #[test]
    fn seed_offer_example_survives_a_round_trip_unchanged() {
        let offer: Offer = serde_json::from_str(SEED_OFFER).unwrap();
        let again: serde_json::Value = serde_json::to_value(&offer).unwrap();
        let original: serde_json::Value = serde_json::from_str(SEED_OFFER).unwrap();
        assert_eq!(again, original);
    }

    #[test]
    fn documented_enum_values_use_the_api_spelling() {
        let names: Vec<String> = Source::ALL
            .iter()
            .map(|s| {
                serde_json::to_value(s)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(names[3], "MAGENTO_ONE");
        assert_eq!(names[13], "THREEDCART");
        assert_eq!(names[35], "DIGITALRIVER");
        assert_eq!(names.len(), 40);
        for status in Status::ALL {
            assert_eq!(serde_json::to_value(&status).unwrap(), status.as_str());
        }
        assert_eq!(
            serde_json::to_value(PublishingStatus::NotPublished).unwrap(),
            "NOT_PUBLISHED"
        );
        assert_eq!(
            serde_json::to_value(SubscriptionStatus::NotSubscribed).unwrap(),
            "NOT_SUBSCRIBED"
        );
        assert_eq!(
            serde_json::to_value(ProductType::Bundled).unwrap(),
            "BUNDLED"
        );
    }

    #[test]
    fn undocumented_enum_values_are_kept_as_sent() {
        let text = SEED_OFFER.replacen("\"source\": \"OTHER\"", "\"source\": \"EBAY\"", 1);
        let offer = serde_json::from_str::<Offer>(&text).expect("an unknown platform reads");
        assert_eq!(offer.source, Source::Unrecognized("EBAY".into()));
        assert_eq!(spelling(&offer.source), "EBAY");
        assert_eq!(spelling(&Source::MagentoOne), "MAGENTO_ONE");
        let text = SEED_OFFER.replacen("\"source\": \"OTHER\"", "\"source\": 12", 1);
        assert!(
            serde_json::from_str::<Offer>(&text).is_err(),
            "not a string"
        );
    }

    #[test]
    fn null_arrays_read_as_empty_and_unknown_fields_are_ignored() {
        let offer: Offer = serde_json::from_str(
            r#"{"id": 1, "product_id": "p", "name": "n", "source": "SHOPIFY", "merchant_id": 2,
                "available": true, "visible": false, "min_price": 0, "skus": null,
                "tags": null, "brand_new_field": {"x": 1}}"#,
        )
        .unwrap();
        assert!(offer.skus.is_empty() && offer.tags.is_empty() && offer.metadata.is_none());
    }

    #[test]
    fn expired_token_example_parses_as_an_error_body() {
        let body: ErrorBody = serde_json::from_str(SEED_TOKEN_EXPIRED).unwrap();
        assert_eq!(body.status, 401);
        assert_eq!(body.error_code, Some(ERROR_CODE_TOKEN_EXPIRED));
        assert_eq!(body.message, "Token has expired");
        assert_eq!(body.timestamp, Some(1_558_040_517_021));
    }

    #[test]
    fn empty_search_request_is_an_empty_object() {
        assert_eq!(
            serde_json::to_string(&SearchRequest::default()).unwrap(),
            "{}"
        );
    }
}
