//! The Closient simulator: a faithful stand-in for the retailers API.
//!
//! Serves, over data generated from the shared catalog:
//! - `GET /retailers/api/v1/organizations/{organization_id}/online-offers?page=&page_size=`
//! - `GET /retailers/api/v1/online-offers/{offer_id}`
//! - `GET /retailers/api/v1/in-store-offers/{offer_id}`
//! - `GET /retailers/api/v1/organizations/{organization_id}/offers?page=&page_size=`:
//!   the legacy flat listing (`OfferOut`, canonical UUID ids). Decided for
//!   this product: it lists exactly the organization's in-store offers, in
//!   generation order, each id also served by `GET /in-store-offers/{offer_id}`.
//! - `GET /retailers/api/v1/online-offers/{offer_id}/promotions` and
//!   `GET /retailers/api/v1/in-store-offers/{offer_id}/promotions`: every
//!   promotion of the offer, active or not, as a bare list (no envelope, no
//!   paging), with the same 404 as the offer itself. Decided for this
//!   product: about half of the offers with a positive price have
//!   promotions, generated per offer (`promotions.rs`, see
//!   [`SimData::started_at`]); they are served as stored (no daily job
//!   turns `is_active` off while the simulator runs).
//! - `GET /products/api/v1/products/{gtin}` (`ProductOut`)
//! - `GET /products/api/v1/browse/products/{id}` (`ProductBrowseOut`)
//!
//! Behaviour, as documented for the real service:
//! - Auth by `X-API-Key` (or `Authorization: Bearer <key>`); a missing or
//!   unknown key is `401 UNAUTHORIZED`. A key sees only its own
//!   organizations: anything of another organization answers the same 404
//!   as something that does not exist, so existence is not leaked.
//! - Ids are 22-character shortuuids; canonical UUIDs are accepted too.
//! - Every error is the envelope `{"error": {code, message, status, details}}`.
//!   Malformed path ids and query parameters are `422 VALIDATION_ERROR`
//!   with one `{field, message}` per problem (the service validates path
//!   and query parameters as a schema, like its pagination parameters).
//! - Rate limits per key: 300 requests a minute and 10,000 a day (fixed
//!   windows), with `RateLimit-Limit`, `RateLimit-Remaining` and
//!   `RateLimit-Reset` on every authenticated answer and `Retry-After` on
//!   429. [`SimData::set_minute_limit`] changes or switches off the
//!   per-minute limit at run time (benchmarks switch it off).
//! - Products are global: any valid key sees every product.
//!
//! [`SimData::with_drift`] turns on drift mode ([`crate::sim::drift`]),
//! for offers and for promotions.
//!
//! Tests add and remove offers while the simulator serves
//! ([`SimData::add_online_offer`], [`SimData::remove_online_offer`], their
//! in-store twins, [`SimData::new_online_offer_like`] to make one): every
//! route answers accordingly; they read and replace an offer's promotions
//! ([`SimData::current_online_promotions`], [`SimData::set_online_promotions`]
//! and their in-store twins); [`SimData::reset_offers`] undoes it all.
//!
//! This file holds the data model, the API key check and rate limiting
//! middleware, and the routes; `generate.rs` makes the data (with
//! `promotions.rs` for the promotions), `handlers.rs` answers the routes,
//! `live.rs` holds the run-time changes to the offers and promotions,
//! `rate_limit.rs` counts requests per key and `drift.rs` is drift mode.

mod drift;
mod generate;
mod handlers;
mod live;
mod promotions;
mod rate_limit;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::shortuuid;
use super::wire::{
    ErrorBody, ErrorCode, ErrorEnvelope, FieldError, InStoreOfferOut, OnlineOfferOut,
    ProductBrowseOut, ProductOut, PromotionOut,
};
use crate::secret::Secret;
use crate::sim::drift::Drift;
use crate::upstream::Credentials;
use generate::{api_key, DEMO_KEY_SEED, OTHER_KEY_SEED};
pub use generate::{crc32, is_well_formed_api_key};
use handlers::{
    fallback, get_browse_product, get_in_store_offer, get_in_store_promotions, get_online_offer,
    get_online_promotions, get_product, list_legacy_offers, list_online_offers,
};
use live::Changes;
use rate_limit::{RateLimiter, Verdict};
/// Documented requests per minute per key.
pub const MINUTE_LIMIT: u32 = 300;
/// Documented requests per day per key.
pub const DAY_LIMIT: u32 = 10_000;
/// Page size when `page_size` is not given.
pub const DEFAULT_PAGE_SIZE: u64 = 25;
/// Largest accepted `page_size`.
pub const MAX_PAGE_SIZE: u64 = 100;

/// A retail chain that owns stores and offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    /// The organization's UUID.
    pub uuid: u128,
    /// Its shortuuid, as the API shows it.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// An online storefront or a physical store of an organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Store {
    /// The store's UUID.
    pub uuid: u128,
    /// Its shortuuid.
    pub id: String,
    /// Index of the owning organization in [`SimData::organizations`].
    pub organization: usize,
    /// Display name (the domain for online stores).
    pub name: String,
    /// ISO 4217 code of the currency its prices are in.
    pub currency: &'static str,
    /// ISO 3166-1 alpha-2 country of the store.
    pub country: &'static str,
}

/// An API key and the organizations it may view.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// What the key is for (`demo`, `other`).
    pub label: &'static str,
    /// The key, `csb_<32 chars>_<crc32 hex>`.
    pub key: String,
    /// Indexes into [`SimData::organizations`] of the organizations it sees.
    pub organizations: BTreeSet<usize>,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("label", &self.label)
            .field("organizations", &self.organizations)
            .finish_non_exhaustive()
    }
}

/// Everything the simulator serves, generated from the catalog, stored as
/// the wire types it answers with, plus run-time controls.
///
/// The offer fields and the accessors that borrow from them are the
/// generated catalog; offers added or removed at run time show in the
/// routes and in the `current_*` accessors (see `live.rs`).
pub struct SimData {
    /// Organizations (retail chains), in generation order.
    pub organizations: Vec<Organization>,
    /// Online storefronts.
    pub online_stores: Vec<Store>,
    /// Physical stores.
    pub physical_stores: Vec<Store>,
    /// Every generated online offer, in generation (and listing) order;
    /// run-time changes are not reflected here.
    pub online_offers: Vec<OnlineOfferOut>,
    /// Every generated in-store offer; run-time changes are not reflected
    /// here.
    pub in_store_offers: Vec<InStoreOfferOut>,
    /// The catalog products as the products API shows them by GTIN.
    pub products: Vec<ProductOut>,
    /// The same products as the browse endpoint shows them by id (same order).
    pub browse_products: Vec<ProductBrowseOut>,
    /// The valid API keys.
    pub api_keys: Vec<ApiKey>,
    /// What drift mode changes as offers are served (empty without it).
    pub drift: Drift,
    /// What drift mode changes as promotions are served (empty without
    /// it), apart from [`SimData::drift`], whose unreadable ids are offers.
    pub promotion_drift: Drift,
    /// When the data was generated, to the second: promotion windows are
    /// placed against it.
    started_at: SystemTime,
    /// Generated promotions of online offers, by offer UUID.
    online_promotions: HashMap<u128, Vec<PromotionOut>>,
    /// Generated promotions of in-store offers, by offer UUID.
    in_store_promotions: HashMap<u128, Vec<PromotionOut>>,
    online_by_uuid: HashMap<u128, usize>,
    in_store_by_uuid: HashMap<u128, usize>,
    online_org: Vec<usize>,
    in_store_org: Vec<usize>,
    online_by_org: Vec<Vec<usize>>,
    in_store_by_org: Vec<Vec<usize>>,
    org_by_uuid: HashMap<u128, usize>,
    products_by_gtin: HashMap<String, usize>,
    products_by_uuid: HashMap<u128, usize>,
    keys_by_value: HashMap<String, usize>,
    limiter: RateLimiter,
    /// Offers removed and added at run time.
    changes: RwLock<Changes>,
}

impl fmt::Debug for SimData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimData")
            .field("organizations", &self.organizations.len())
            .field("online_offers", &self.online_offers.len())
            .field("in_store_offers", &self.in_store_offers.len())
            .field(
                "promoted_offers",
                &(self.online_promotions.len() + self.in_store_promotions.len()),
            )
            .field("started_at", &self.started_at)
            .field("products", &self.products.len())
            .field("api_keys", &self.api_keys)
            .field("limiter", &self.limiter)
            .field("changes", &self.changes)
            .finish()
    }
}

impl SimData {
    /// The generated online offer with this id (shortuuid or UUID), whoever
    /// owns it, removed or not ([`SimData::current_online_offer`] is what
    /// is served now).
    pub fn online_offer(&self, id: &str) -> Option<&OnlineOfferOut> {
        let uuid = shortuuid::parse_id(id).ok()?;
        self.online_by_uuid
            .get(&uuid)
            .map(|&i| &self.online_offers[i])
    }

    /// The generated in-store offer with this id (shortuuid or UUID),
    /// whoever owns it, removed or not ([`SimData::current_in_store_offer`]
    /// is what is served now).
    pub fn in_store_offer(&self, id: &str) -> Option<&InStoreOfferOut> {
        let uuid = shortuuid::parse_id(id).ok()?;
        self.in_store_by_uuid
            .get(&uuid)
            .map(|&i| &self.in_store_offers[i])
    }

    /// The generated online offers of an organization in listing order
    /// (empty for an unknown organization);
    /// [`SimData::current_organization_online_offers`] is the listing as
    /// served now.
    pub fn organization_online_offers(&self, organization_id: &str) -> Vec<&OnlineOfferOut> {
        shortuuid::parse_id(organization_id)
            .ok()
            .and_then(|uuid| self.org_by_uuid.get(&uuid))
            .map(|&org| {
                self.online_by_org[org]
                    .iter()
                    .map(|&i| &self.online_offers[i])
                    .collect()
            })
            .unwrap_or_default()
    }

    /// When the simulator's data was generated, to the second. Generated
    /// promotion windows are placed against it, each start and end a whole
    /// number of days and hours away, and never less than a day: in effect
    /// now (`start_date` 1 to 10 days and 0 to 23 hours before, `end_date`
    /// 1 to 14 days and some hours after), expired (ended 1 to 20 days and
    /// some hours before, after 2 to 14 days) or upcoming (starts 1 to 20
    /// days and some hours after). Within a day of this instant, which
    /// promotions are in effect does not change.
    ///
    /// Per offer with a positive price (decided by a generator seeded by the
    /// catalog seed and the offer id, whatever the offer's position), about
    /// half have none; the others have one in effect and active, one
    /// expired (`is_active` false), one upcoming (active), one in effect
    /// but inactive, two or three in effect and active at 70, 80 or 90% of
    /// the regular price (all different), a free `BOGO` (`"0"` or `"0.00"`)
    /// in effect, alone or beside one other, or an expired, a current and
    /// an upcoming one. Other prices are 60 to 95% of the regular price,
    /// and one in ten is 102 to 115% (above it). About one promotion in
    /// four has `currency: ""`; the others state the store currency. Every
    /// documented `promotion_type` appears; undocumented ones only in drift
    /// mode ([`SimData::with_drift`]). Offers without a price, with an
    /// unknown one or a free one have none.
    pub fn started_at(&self) -> SystemTime {
        self.started_at
    }

    /// The generated promotions of the online offer with this id
    /// (shortuuid or UUID), run-time changes aside
    /// ([`SimData::current_online_promotions`] is what is served now).
    pub fn online_promotions(&self, offer_id: &str) -> &[PromotionOut] {
        shortuuid::parse_id(offer_id)
            .ok()
            .and_then(|uuid| self.online_promotions.get(&uuid))
            .map_or(&[], Vec::as_slice)
    }

    /// The generated promotions of the in-store offer with this id
    /// ([`SimData::current_in_store_promotions`] is what is served now).
    pub fn in_store_promotions(&self, offer_id: &str) -> &[PromotionOut] {
        shortuuid::parse_id(offer_id)
            .ok()
            .and_then(|uuid| self.in_store_promotions.get(&uuid))
            .map_or(&[], Vec::as_slice)
    }

    /// The generated in-store offers of an organization in generation
    /// order, the order of its legacy listing (empty for an unknown
    /// organization); [`SimData::current_organization_in_store_offers`]
    /// is the listing as served now.
    pub fn organization_in_store_offers(&self, organization_id: &str) -> Vec<&InStoreOfferOut> {
        self.org_index(organization_id)
            .map(|org| {
                self.in_store_by_org[org]
                    .iter()
                    .map(|&i| &self.in_store_offers[i])
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The browse record of the product with this id (shortuuid or UUID).
    pub fn browse_product(&self, id: &str) -> Option<&ProductBrowseOut> {
        let uuid = shortuuid::parse_id(id).ok()?;
        self.products_by_uuid
            .get(&uuid)
            .map(|&i| &self.browse_products[i])
    }

    fn org_index(&self, organization_id: &str) -> Option<usize> {
        shortuuid::parse_id(organization_id)
            .ok()
            .and_then(|uuid| self.org_by_uuid.get(&uuid))
            .copied()
    }

    /// The organizations `credentials` may view (none for unknown credentials).
    pub fn organizations_visible_to(&self, credentials: &Credentials) -> Vec<&Organization> {
        let Credentials::Closient(super::Credentials { api_key }) = credentials else {
            return Vec::new();
        };
        self.keys_by_value
            .get(api_key.expose())
            .map(|&key| {
                self.api_keys[key]
                    .organizations
                    .iter()
                    .map(|&org| &self.organizations[org])
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The generated online offers `credentials` may view, in generation
    /// order (by the organization that owns them, whatever their
    /// `organization_id` field says), removed or not;
    /// [`SimData::current_online_offers_visible_to`] is what they see now.
    pub fn online_offers_visible_to(&self, credentials: &Credentials) -> Vec<&OnlineOfferOut> {
        self.visible_offers(credentials, &self.online_org, &self.online_offers)
    }

    /// The generated in-store offers `credentials` may view, in generation
    /// order, removed or not ([`SimData::current_in_store_offers_visible_to`]
    /// is what they see now).
    pub fn in_store_offers_visible_to(&self, credentials: &Credentials) -> Vec<&InStoreOfferOut> {
        self.visible_offers(credentials, &self.in_store_org, &self.in_store_offers)
    }

    fn visible_offers<'a, T>(
        &self,
        credentials: &Credentials,
        owners: &[usize],
        offers: &'a [T],
    ) -> Vec<&'a T> {
        let Some(key) = self.key_index(credentials) else {
            return Vec::new();
        };
        owners
            .iter()
            .zip(offers)
            .filter(|(org, _)| self.visible(Caller(key), **org))
            .map(|(_, offer)| offer)
            .collect()
    }

    /// The currency of the store an offer lives in (online or physical).
    pub fn store_currency(&self, store_id: &str) -> Option<&'static str> {
        self.online_stores
            .iter()
            .chain(&self.physical_stores)
            .find(|s| s.id == store_id)
            .map(|s| s.currency)
    }

    /// Sets the per-minute limit of every key (`None` switches it off).
    /// The documented limit, [`MINUTE_LIMIT`], is the default.
    pub fn set_minute_limit(&self, limit: Option<u32>) {
        self.limiter.set_minute_limit(limit);
    }

    /// Sets the per-day limit of every key (`None` switches it off).
    /// The documented limit, [`DAY_LIMIT`], is the default.
    pub fn set_day_limit(&self, limit: Option<u32>) {
        self.limiter.set_day_limit(limit);
    }

    /// Forgets all requests counted so far (fresh windows for every key).
    pub fn reset_rate_limits(&self) {
        self.limiter.reset();
    }

    fn visible(&self, caller: Caller, organization: usize) -> bool {
        self.api_keys[caller.0]
            .organizations
            .contains(&organization)
    }
}

/// An error answer: the envelope with its status.
#[derive(Debug)]
struct ApiError {
    code: ErrorCode,
    message: String,
    details: Vec<FieldError>,
}

impl ApiError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    fn validation(details: Vec<FieldError>) -> Self {
        ApiError {
            code: ErrorCode::ValidationError,
            message: "Request validation failed.".to_owned(),
            details,
        }
    }

    fn not_found(what: &str) -> Self {
        ApiError::new(ErrorCode::NotFound, format!("{what} not found."))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.status())
            .expect("error codes map to valid HTTP statuses");
        let body = ErrorEnvelope {
            error: ErrorBody {
                code: self.code,
                message: self.message,
                status: self.code.status(),
                details: self.details,
            },
        };
        (status, Json(body)).into_response()
    }
}

/// The key that authenticated the request.
#[derive(Clone, Copy, Debug)]
struct Caller(usize);

fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get("x-api-key") {
        return value.to_str().ok().map(str::trim).filter(|k| !k.is_empty());
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, key) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| key.trim())
        .filter(|k| !k.is_empty())
}

async fn authenticate(
    State(data): State<Arc<SimData>>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = match presented_key(request.headers()) {
        None => {
            return ApiError::new(
                ErrorCode::Unauthorized,
                "Authentication required: send an API key in the X-API-Key header.",
            )
            .into_response()
        }
        Some(key) => data.keys_by_value.get(key).copied(),
    };
    let Some(caller) = caller else {
        return ApiError::new(ErrorCode::Unauthorized, "Invalid API key.").into_response();
    };
    match data.limiter.check(caller) {
        Verdict::Limited(state) => {
            let mut response = ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "Rate limit exceeded. Retry in {} seconds.",
                    state.reset_secs
                ),
            )
            .into_response();
            state.apply(response.headers_mut());
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(state.reset_secs));
            response
        }
        Verdict::Allowed(state) => {
            request.extensions_mut().insert(Caller(caller));
            let mut response = next.run(request).await;
            if let Some(state) = state {
                state.apply(response.headers_mut());
            }
            response
        }
    }
}

/// The simulator's routes. Authentication and rate limiting apply to every
/// API route; unknown paths answer the 404 envelope.
pub fn router(data: Arc<SimData>) -> Router {
    Router::new()
        .route(
            "/retailers/api/v1/organizations/{organization_id}/online-offers",
            get(list_online_offers),
        )
        .route(
            "/retailers/api/v1/online-offers/{offer_id}",
            get(get_online_offer),
        )
        .route(
            "/retailers/api/v1/in-store-offers/{offer_id}",
            get(get_in_store_offer),
        )
        .route(
            "/retailers/api/v1/online-offers/{offer_id}/promotions",
            get(get_online_promotions),
        )
        .route(
            "/retailers/api/v1/in-store-offers/{offer_id}/promotions",
            get(get_in_store_promotions),
        )
        .route(
            "/retailers/api/v1/organizations/{organization_id}/offers",
            get(list_legacy_offers),
        )
        .route("/products/api/v1/products/{gtin}", get(get_product))
        .route(
            "/products/api/v1/browse/products/{id}",
            get(get_browse_product),
        )
        .route_layer(middleware::from_fn_with_state(data.clone(), authenticate))
        .fallback(fallback)
        .with_state(data)
}

/// Credentials the demo gateway uses: a key that sees every organization
/// but one.
pub fn demo_credentials() -> Credentials {
    Credentials::Closient(super::Credentials {
        api_key: Secret::new(api_key(DEMO_KEY_SEED)),
    })
}

/// A second valid key, of a different set of organizations: it shares one
/// organization with the demo key and has one of its own.
pub fn other_credentials() -> Credentials {
    Credentials::Closient(super::Credentials {
        api_key: Secret::new(api_key(OTHER_KEY_SEED)),
    })
}
