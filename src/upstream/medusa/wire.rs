//! Medusa v2 / Mercur wire types, exactly as the admin API sends them.
//!
//! The simulator serializes these and the connector deserializes them, so the
//! two sides speak one shape; the seed's literal example
//! (`tests/fixtures/medusa/`) keeps that shape honest. Every field of an offer
//! is optional except its `id`: the `fields` query parameter can leave any of
//! them out, and upstreams add fields, so unknown keys are ignored. Lists
//! read `null` as empty, and counts are integers of any size (saturating,
//! see [`crate::upstream::tolerant`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::pricing::JsonNumber;
use crate::upstream::tolerant::{self, null_as_default};

/// The answer of `GET /admin/offers/{id}`: `{"offer": {...}}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg(any(test, feature = "sim"))]
pub struct OfferResponse<T = Offer> {
    /// The offer.
    pub offer: T,
}

/// The answer of `GET /admin/offers`: one page and the total. The
/// connector reads `offers` item by item (`T` = raw JSON), so that one
/// unreadable offer fails only itself.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct OfferListResponse<T = Offer> {
    /// The offers of this page, in the requested order (`null` reads as none).
    #[serde(deserialize_with = "null_as_default")]
    pub offers: Vec<T>,
    /// Number of offers matching the filters, before paging.
    #[serde(deserialize_with = "tolerant::uint")]
    pub count: u64,
    /// Offers skipped before this page.
    #[serde(default, deserialize_with = "tolerant::uint")]
    pub offset: u64,
    /// Page size asked for.
    #[serde(default, deserialize_with = "tolerant::uint")]
    pub limit: u64,
}

/// A Mercur offer: a seller's offer of one product variant.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Offer {
    /// `offer_<ULID>`.
    pub id: String,
    /// ID of the seller who owns the offer (`sel_...`).
    #[serde(default)]
    pub seller_id: Option<String>,
    /// ID of the offered product variant (`variant_...`).
    #[serde(default)]
    pub variant_id: Option<String>,
    /// ID of the offered product (`prod_...`).
    #[serde(default)]
    pub product_id: Option<String>,
    /// ID of the offer's shipping profile (`sp_...`).
    #[serde(default)]
    pub shipping_profile_id: Option<String>,
    /// The offer's SKU (may be empty).
    #[serde(default)]
    pub sku: Option<String>,
    /// The offer's EAN.
    #[serde(default)]
    pub ean: Option<String>,
    /// The offer's UPC.
    #[serde(default)]
    pub upc: Option<String>,
    /// ID of the actor who created the offer (`user_...`).
    #[serde(default)]
    pub created_by: Option<String>,
    /// Number of variants on the offered product.
    #[serde(default, deserialize_with = "tolerant::opt_int")]
    pub variant_count: Option<i64>,
    /// Custom key-value data; `null` when there is none.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// The seller, with id, name and handle.
    #[serde(default)]
    pub seller: Option<Seller>,
    /// The variant, with id, title and sku.
    #[serde(default)]
    pub product_variant: Option<ProductVariant>,
    /// The shipping profile, with id and name.
    #[serde(default)]
    pub shipping_profile: Option<ShippingProfile>,
    /// Prices by quantity tier, currency and rules.
    #[serde(default, deserialize_with = "null_as_default")]
    pub prices: Vec<Price>,
    /// Linked inventory items.
    #[serde(default, deserialize_with = "null_as_default")]
    pub inventory_items: Vec<InventoryItem>,
    /// Creation timestamp (ISO 8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update timestamp (ISO 8601).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// The seller relation of an offer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Seller {
    /// `sel_<ULID>`.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// URL handle.
    #[serde(default)]
    pub handle: Option<String>,
}

/// The product variant relation of an offer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ProductVariant {
    /// `variant_<ULID>`.
    pub id: String,
    /// Variant title, e.g. `M / Blue`.
    #[serde(default)]
    pub title: Option<String>,
    /// Variant SKU.
    #[serde(default)]
    pub sku: Option<String>,
}

/// The shipping profile relation of an offer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ShippingProfile {
    /// `sp_<ULID>`.
    pub id: String,
    /// Profile name, e.g. `Default`.
    #[serde(default)]
    pub name: Option<String>,
}

/// One price of an offer. `amount` is in MAJOR units (Medusa v2 stores
/// prices as-is: `20.5` usd is $20.50), kept as the exact JSON literal.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Price {
    /// `price_<ULID>`.
    pub id: String,
    /// The unit price in major units.
    pub amount: JsonNumber,
    /// Lower-case ISO 4217 code, e.g. `usd`.
    pub currency_code: String,
    /// Smallest quantity the price applies to; null = no lower bound.
    #[serde(default, deserialize_with = "tolerant::opt_int")]
    pub min_quantity: Option<i64>,
    /// Largest quantity the price applies to; null = no upper bound.
    #[serde(default, deserialize_with = "tolerant::opt_int")]
    pub max_quantity: Option<i64>,
    /// Rules restricting the price (customer group, region, ...). Medusa
    /// sends an array of `{id, attribute, operator, value, priority,
    /// price_id}`; kept as sent because the rule shape is not part of the
    /// seed and varies across Medusa versions. Absent in the seed example.
    #[serde(default)]
    pub price_rules: Option<Value>,
    /// How many rules restrict the price (Medusa v2's `rules_count`): sent
    /// also when `price_rules` is not expanded, so a price with rules is
    /// recognized either way.
    #[serde(
        default,
        deserialize_with = "tolerant::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub rules_count: Option<i64>,
}

/// An inventory item linked to an offer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct InventoryItem {
    /// Link id.
    pub id: String,
    /// The inventory item (`iitem_...`).
    #[serde(default)]
    pub inventory_item_id: Option<String>,
    /// Units of the item needed for one unit of the offer.
    #[serde(default, deserialize_with = "tolerant::opt_int")]
    pub required_quantity: Option<i64>,
    /// The item's SKU.
    #[serde(default)]
    pub sku: Option<String>,
}

/// Body of `POST /auth/user/emailpass`.
#[derive(Serialize, Deserialize, Clone, PartialEq)]
pub struct EmailPassLogin {
    /// The user's email.
    pub email: String,
    /// The user's password.
    pub password: String,
}

impl std::fmt::Debug for EmailPassLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailPassLogin")
            .field("email", &self.email)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// Answer of a successful login: a JWT for `Authorization: Bearer`.
#[derive(Serialize, Deserialize, Clone, PartialEq)]
pub struct AuthToken {
    /// The JWT.
    pub token: String,
}

impl std::fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthToken([redacted])")
    }
}

/// Medusa's error body: `{type, message, code?}`. The bare 401 of the auth
/// middleware is only `{"message": "Unauthorized"}`, so `type` is optional.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ErrorBody {
    /// Error type (`not_found`, `invalid_data`, `unauthorized`, ...).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ErrorType>,
    /// Human-readable explanation.
    #[serde(default)]
    pub message: Option<String>,
    /// Machine code, when there is one (`unknown_error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// The documented Medusa error types.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ErrorType {
    /// 404.
    NotFound,
    /// 400.
    InvalidData,
    /// 401.
    Unauthorized,
    /// 403.
    Forbidden,
    /// 409.
    Conflict,
    /// 422.
    DuplicateError,
    /// 500.
    UnknownError,
}

impl ErrorType {
    /// The HTTP status Medusa answers with for this type.
    pub fn status(self) -> u16 {
        match self {
            ErrorType::NotFound => 404,
            ErrorType::InvalidData => 400,
            ErrorType::Unauthorized => 401,
            ErrorType::Forbidden => 403,
            ErrorType::Conflict => 409,
            ErrorType::DuplicateError => 422,
            ErrorType::UnknownError => 500,
        }
    }

    /// The snake_case name as it appears in `type`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// An offer reduced to its id, to say which offer of a list failed to decode.
#[derive(Deserialize, Clone, Debug, PartialEq)]
pub struct OfferId {
    /// `offer_<ULID>`.
    pub id: String,
}
