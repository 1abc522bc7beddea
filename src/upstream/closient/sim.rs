//! The Closient simulator: a faithful stand-in for the retailers API.
//!
//! Serves, over data generated from the shared catalog:
//! - `GET /retailers/api/v1/organizations/{organization_id}/online-offers?page=&page_size=`
//! - `GET /retailers/api/v1/online-offers/{offer_id}`
//! - `GET /retailers/api/v1/in-store-offers/{offer_id}`
//! - `GET /products/api/v1/products/{gtin}`
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
//!
//! [`SimData::with_drift`] turns on drift mode ([`crate::sim::drift`]).

mod drift;
mod generate;
mod rate_limit;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};

use super::shortuuid;
use super::wire::{
    ErrorBody, ErrorCode, ErrorEnvelope, FieldError, InStoreOfferOut, OnlineOfferOut, Page,
    PaginationMeta, ProductOut,
};
use crate::secret::Secret;
use crate::sim::catalog::{self, Catalog};
use crate::sim::drift::Drift;
use crate::upstream::Credentials;
use generate::{api_key, DEMO_KEY_SEED, DEMO_ORGS, OTHER_KEY_SEED, OTHER_ORGS};
pub use generate::{crc32, is_well_formed_api_key};
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
pub struct SimData {
    /// Organizations (retail chains), in generation order.
    pub organizations: Vec<Organization>,
    /// Online storefronts.
    pub online_stores: Vec<Store>,
    /// Physical stores.
    pub physical_stores: Vec<Store>,
    /// Every online offer, in generation (and listing) order.
    pub online_offers: Vec<OnlineOfferOut>,
    /// Every in-store offer.
    pub in_store_offers: Vec<InStoreOfferOut>,
    /// The catalog products as the products API shows them.
    pub products: Vec<ProductOut>,
    /// The valid API keys.
    pub api_keys: Vec<ApiKey>,
    /// What drift mode changes as offers are served (empty without it).
    pub drift: Drift,
    online_by_uuid: HashMap<u128, usize>,
    in_store_by_uuid: HashMap<u128, usize>,
    online_org: Vec<usize>,
    in_store_org: Vec<usize>,
    online_by_org: Vec<Vec<usize>>,
    org_by_uuid: HashMap<u128, usize>,
    products_by_gtin: HashMap<String, usize>,
    keys_by_value: HashMap<String, usize>,
    limiter: RateLimiter,
}

impl fmt::Debug for SimData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimData")
            .field("organizations", &self.organizations.len())
            .field("online_offers", &self.online_offers.len())
            .field("in_store_offers", &self.in_store_offers.len())
            .field("products", &self.products.len())
            .field("api_keys", &self.api_keys)
            .field("limiter", &self.limiter)
            .finish()
    }
}

impl SimData {
    /// Generates the simulator's data from the shared catalog. The same
    /// catalog seed always gives the same data.
    pub fn generate(catalog: &Catalog) -> Self {
        let generate::Generated {
            organizations,
            online_stores,
            physical_stores,
            online_offers,
            online_org,
            in_store_offers,
            in_store_org,
        } = generate::generate(catalog);
        let products: Vec<ProductOut> = catalog
            .products
            .iter()
            .map(|p| ProductOut {
                id: shortuuid::encode(p.uuid),
                gtin: p.gtin.clone(),
                name: p.name.clone(),
                brand: p.brand.clone(),
                category: p.category.to_owned(),
            })
            .collect();
        let api_keys = vec![
            ApiKey {
                label: "demo",
                key: api_key(DEMO_KEY_SEED),
                organizations: DEMO_ORGS.iter().copied().collect(),
            },
            ApiKey {
                label: "other",
                key: api_key(OTHER_KEY_SEED),
                organizations: OTHER_ORGS.iter().copied().collect(),
            },
        ];

        let mut online_by_org = vec![Vec::new(); organizations.len()];
        for (index, &org) in online_org.iter().enumerate() {
            online_by_org[org].push(index);
        }
        SimData {
            online_by_uuid: uuid_index(online_offers.iter().map(|o| o.id.as_str())),
            in_store_by_uuid: uuid_index(in_store_offers.iter().map(|o| o.id.as_str())),
            org_by_uuid: organizations
                .iter()
                .enumerate()
                .map(|(i, o)| (o.uuid, i))
                .collect(),
            products_by_gtin: products
                .iter()
                .enumerate()
                .map(|(i, p)| (p.gtin.clone(), i))
                .collect(),
            keys_by_value: api_keys
                .iter()
                .enumerate()
                .map(|(i, k)| (k.key.clone(), i))
                .collect(),
            online_org,
            in_store_org,
            online_by_org,
            organizations,
            online_stores,
            physical_stores,
            online_offers,
            in_store_offers,
            products,
            api_keys,
            drift: Drift::default(),
            limiter: RateLimiter::default(),
        }
    }

    /// The online offer with this id (shortuuid or UUID), whoever owns it.
    pub fn online_offer(&self, id: &str) -> Option<&OnlineOfferOut> {
        let uuid = shortuuid::parse_id(id).ok()?;
        self.online_by_uuid
            .get(&uuid)
            .map(|&i| &self.online_offers[i])
    }

    /// The in-store offer with this id (shortuuid or UUID), whoever owns it.
    pub fn in_store_offer(&self, id: &str) -> Option<&InStoreOfferOut> {
        let uuid = shortuuid::parse_id(id).ok()?;
        self.in_store_by_uuid
            .get(&uuid)
            .map(|&i| &self.in_store_offers[i])
    }

    /// The online offers of an organization in listing order (empty for an
    /// unknown organization).
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

    /// The organizations `credentials` may view (none for unknown credentials).
    pub fn organizations_visible_to(&self, credentials: &Credentials) -> Vec<&Organization> {
        let Credentials::Closient { api_key } = credentials else {
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

    /// The online offers `credentials` may view, in generation order (by
    /// the organization that owns them, whatever their `organization_id`
    /// field says).
    pub fn online_offers_visible_to(&self, credentials: &Credentials) -> Vec<&OnlineOfferOut> {
        self.visible_offers(credentials, &self.online_org, &self.online_offers)
    }

    /// The in-store offers `credentials` may view, in generation order.
    pub fn in_store_offers_visible_to(&self, credentials: &Credentials) -> Vec<&InStoreOfferOut> {
        self.visible_offers(credentials, &self.in_store_org, &self.in_store_offers)
    }

    fn visible_offers<'a, T>(
        &self,
        credentials: &Credentials,
        owners: &[usize],
        offers: &'a [T],
    ) -> Vec<&'a T> {
        let Credentials::Closient { api_key } = credentials else {
            return Vec::new();
        };
        let Some(&key) = self.keys_by_value.get(api_key.expose()) else {
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

fn uuid_index<'a>(ids: impl Iterator<Item = &'a str>) -> HashMap<u128, usize> {
    ids.enumerate()
        .map(|(i, id)| {
            (
                shortuuid::decode(id).expect("generated ids are shortuuids"),
                i,
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

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

fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: Some(field.to_owned()),
        message: message.into(),
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

/// Reads a path id (shortuuid or UUID) into its 128-bit value.
fn path_id(path: Result<Path<String>, PathRejection>, field: &str) -> Result<u128, FieldError> {
    let Path(raw) = path.map_err(|_| field_error(field, "Invalid path parameter encoding."))?;
    shortuuid::parse_id(&raw).map_err(|err| field_error(field, err.to_string()))
}

/// `page` and `page_size` of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Paging {
    page: u64,
    page_size: u64,
}

impl Paging {
    /// Parses the query string, collecting one error per bad parameter.
    fn parse(query: Option<&str>, errors: &mut Vec<FieldError>) -> Paging {
        let mut paging = Paging {
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
        };
        let mut seen = BTreeSet::new();
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let (slot, min, max) = match name.as_ref() {
                "page" => (&mut paging.page, 1, i64::MAX as u64),
                "page_size" => (&mut paging.page_size, 1, MAX_PAGE_SIZE),
                _ => continue,
            };
            if !seen.insert(name.clone().into_owned()) {
                continue; // The first occurrence wins.
            }
            match value.parse::<i64>() {
                Err(_) => errors.push(field_error(&name, "Input should be a valid integer.")),
                Ok(n) if n < min as i64 => errors.push(field_error(
                    &name,
                    format!("Input should be greater than or equal to {min}."),
                )),
                Ok(n) if n as u64 > max => errors.push(field_error(
                    &name,
                    format!("Input should be less than or equal to {max}."),
                )),
                Ok(n) => *slot = n as u64,
            }
        }
        paging
    }
}

async fn list_online_offers(
    State(data): State<Arc<SimData>>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let mut errors = Vec::new();
    let organization = path_id(path, "organization_id")
        .map_err(|e| errors.push(e))
        .ok();
    let paging = Paging::parse(query.as_deref(), &mut errors);
    let organization = match organization {
        Some(uuid) if errors.is_empty() => uuid,
        _ => return Err(ApiError::validation(errors)),
    };
    // An organization the key cannot view answers exactly like one that
    // does not exist: existence is not leaked.
    let org = data
        .org_by_uuid
        .get(&organization)
        .copied()
        .filter(|&org| data.visible(caller, org))
        .ok_or_else(|| ApiError::not_found("Organization"))?;
    let offers = &data.online_by_org[org];
    let total_count = offers.len() as u64;
    let start = (paging.page - 1).saturating_mul(paging.page_size);
    let page: Vec<OnlineOfferOut> = offers
        .iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(paging.page_size).unwrap_or(usize::MAX))
        .map(|&i| data.online_offers[i].clone())
        .collect();
    let total_pages = total_count.div_ceil(paging.page_size);
    let body = Page {
        data: page,
        pagination: PaginationMeta {
            page: paging.page,
            page_size: paging.page_size,
            total_count,
            total_pages,
            has_next: paging.page < total_pages,
            has_previous: paging.page > 1,
        },
    };
    Ok(data.drift.respond(&body, "/data"))
}

async fn get_online_offer(
    State(data): State<Arc<SimData>>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let uuid = path_id(path, "offer_id").map_err(|e| ApiError::validation(vec![e]))?;
    data.online_by_uuid
        .get(&uuid)
        .copied()
        .filter(|&i| data.visible(caller, data.online_org[i]))
        .map(|i| data.drift.respond(&data.online_offers[i], ""))
        .ok_or_else(|| ApiError::not_found("Online offer"))
}

async fn get_in_store_offer(
    State(data): State<Arc<SimData>>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let uuid = path_id(path, "offer_id").map_err(|e| ApiError::validation(vec![e]))?;
    data.in_store_by_uuid
        .get(&uuid)
        .copied()
        .filter(|&i| data.visible(caller, data.in_store_org[i]))
        .map(|i| data.drift.respond(&data.in_store_offers[i], ""))
        .ok_or_else(|| ApiError::not_found("In-store offer"))
}

/// Reads a GTIN path parameter: GTIN-8, UPC-A (12), EAN-13 or GTIN-14
/// digits with a valid check digit, zero-padded to 14.
fn gtin14(raw: &str) -> Result<String, FieldError> {
    if !raw.bytes().all(|b| b.is_ascii_digit()) || ![8, 12, 13, 14].contains(&raw.len()) {
        return Err(field_error(
            "gtin",
            "GTIN must be 8, 12, 13 or 14 digits (UPC-A and EAN-13 are zero-padded to GTIN-14).",
        ));
    }
    if !catalog::is_valid_gtin(raw) {
        return Err(field_error("gtin", "GTIN check digit is invalid."));
    }
    Ok(format!("{raw:0>14}"))
}

/// The product answer. The seeds do not document it: this is the
/// simulator's assumption, see [`ProductOut`].
async fn get_product(
    State(data): State<Arc<SimData>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ProductOut>, ApiError> {
    let Path(raw) = path.map_err(|_| {
        ApiError::validation(vec![field_error(
            "gtin",
            "Invalid path parameter encoding.",
        )])
    })?;
    let gtin = gtin14(&raw).map_err(|e| ApiError::validation(vec![e]))?;
    data.products_by_gtin
        .get(&gtin)
        .map(|&i| Json(data.products[i].clone()))
        .ok_or_else(|| ApiError::not_found("Product"))
}

async fn fallback() -> ApiError {
    ApiError::not_found("Resource")
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
        .route("/products/api/v1/products/{gtin}", get(get_product))
        .route_layer(middleware::from_fn_with_state(data.clone(), authenticate))
        .fallback(fallback)
        .with_state(data)
}

/// Credentials the demo gateway uses: a key that sees every organization
/// but one.
pub fn demo_credentials() -> Credentials {
    Credentials::Closient {
        api_key: Secret::new(api_key(DEMO_KEY_SEED)),
    }
}

/// A second valid key, of a different set of organizations: it shares one
/// organization with the demo key and has one of its own.
pub fn other_credentials() -> Credentials {
    Credentials::Closient {
        api_key: Secret::new(api_key(OTHER_KEY_SEED)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use reqwest::StatusCode as Status;
    use serde_json::Value;

    use super::*;
    use crate::sim::serve;
    use crate::upstream::closient::wire::{
        FulfillmentType, OfferSource, OfferStatus, PriceOut, StockLevel,
    };

    fn demo_key() -> String {
        key_of(&demo_credentials())
    }

    fn key_of(credentials: &Credentials) -> String {
        match credentials {
            Credentials::Closient { api_key } => api_key.expose().to_owned(),
            _ => unreachable!("Closient credentials"),
        }
    }

    fn data() -> SimData {
        SimData::generate(&Catalog::demo())
    }

    async fn start() -> (crate::sim::RunningSim, Arc<SimData>) {
        let data = Arc::new(data());
        let running = serve(router(data.clone())).await.expect("simulator starts");
        (running, data)
    }

    async fn get(
        running: &crate::sim::RunningSim,
        path: &str,
        key: Option<&str>,
    ) -> (Status, reqwest::header::HeaderMap, Value) {
        let mut request = reqwest::Client::new().get(running.base_url.join(path).unwrap());
        if let Some(key) = key {
            request = request.header("X-API-Key", key);
        }
        let response = request.send().await.expect("simulator answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json().await.expect("JSON body");
        (status, headers, body)
    }

    fn error_code(body: &Value) -> &str {
        body["error"]["code"].as_str().unwrap_or_default()
    }

    fn org_of(data: &SimData, credentials: &Credentials, not_of: &Credentials) -> String {
        let theirs: Vec<_> = data
            .organizations_visible_to(not_of)
            .iter()
            .map(|o| o.id.clone())
            .collect();
        data.organizations_visible_to(credentials)
            .iter()
            .find(|o| !theirs.contains(&o.id))
            .expect("an organization of its own")
            .id
            .clone()
    }

    #[test]
    fn generation_is_deterministic_per_seed() {
        let a = SimData::generate(&Catalog::generate(3));
        let b = SimData::generate(&Catalog::generate(3));
        let c = SimData::generate(&Catalog::generate(4));
        assert_eq!(a.online_offers, b.online_offers);
        assert_eq!(a.in_store_offers, b.in_store_offers);
        assert_eq!(a.organizations, b.organizations);
        assert_ne!(a.online_offers, c.online_offers);
        // Keys do not depend on the catalog: the demo gateway knows them.
        assert_eq!(a.api_keys, c.api_keys);
    }

    #[test]
    fn every_documented_enum_value_appears() {
        for seed in [catalog::DEMO_SEED, 1, 2] {
            let data = SimData::generate(&Catalog::generate(seed));
            let online_status: HashSet<_> = data
                .online_offers
                .iter()
                .map(|o| o.status.clone())
                .collect();
            let in_store_status: HashSet<_> = data
                .in_store_offers
                .iter()
                .map(|o| o.status.clone())
                .collect();
            let online_source: HashSet<_> = data
                .online_offers
                .iter()
                .map(|o| o.source.clone())
                .collect();
            let in_store_source: HashSet<_> = data
                .in_store_offers
                .iter()
                .map(|o| o.source.clone())
                .collect();
            let fulfillment: HashSet<_> = data
                .online_offers
                .iter()
                .map(|o| o.fulfillment_type.clone())
                .collect();
            let stock: HashSet<_> = data
                .online_offers
                .iter()
                .map(|o| o.stock_level.clone())
                .collect();
            assert_eq!(online_status, OfferStatus::ALL.into_iter().collect());
            assert_eq!(in_store_status, OfferStatus::ALL.into_iter().collect());
            assert_eq!(online_source, OfferSource::ALL.into_iter().collect());
            assert_eq!(in_store_source, OfferSource::ALL.into_iter().collect());
            assert_eq!(fulfillment, FulfillmentType::ALL.into_iter().collect());
            assert_eq!(stock, StockLevel::ALL.into_iter().collect());
        }
    }

    #[test]
    fn edge_values_of_the_api_appear() {
        let data = data();
        let online = &data.online_offers;
        let in_store = &data.in_store_offers;
        let amount = |p: &Option<PriceOut>| p.as_ref().and_then(|p| p.amount.clone());
        assert!(online.iter().any(|o| amount(&o.price).is_none()));
        assert!(in_store.iter().any(|o| amount(&o.price).is_none()));
        for zero in ["0", "0.00"] {
            assert!(
                online
                    .iter()
                    .any(|o| amount(&o.price).as_deref() == Some(zero)),
                "{zero}"
            );
        }
        assert!(in_store
            .iter()
            .any(|o| amount(&o.price).as_deref() == Some("0")));
        let shipping_null = |kind| {
            online
                .iter()
                .any(|o| o.fulfillment_type == kind && o.shipping_cost.is_none())
        };
        assert!(shipping_null(FulfillmentType::Prime), "free");
        assert!(shipping_null(FulfillmentType::Standard), "unknown");
        assert!(online
            .iter()
            .any(|o| o.fulfillment_type == FulfillmentType::Standard && o.shipping_cost.is_some()));
        assert!(online
            .iter()
            .all(|o| o.fulfillment_type != FulfillmentType::Prime || o.shipping_cost.is_none()));
        assert!(
            online.iter().any(|o| o.sku.is_empty()) && online.iter().any(|o| !o.sku.is_empty())
        );
        assert!(
            in_store.iter().any(|o| o.sku.is_empty()) && in_store.iter().any(|o| !o.sku.is_empty())
        );
        assert!(
            online.iter().any(|o| o.url.is_empty()) && online.iter().any(|o| !o.url.is_empty())
        );
        assert!(
            online.iter().any(|o| !o.metadata.is_empty())
                && online.iter().any(|o| o.metadata.is_empty())
        );
        assert!(in_store.iter().any(|o| !o.metadata.is_empty()));
        assert!(online.iter().any(|o| o.delivery_countries.is_empty()));
        assert!(online.iter().any(|o| o.delivery_countries == ["US", "CA"]));
        assert!(online.iter().any(|o| o.lead_time_days.is_none()));
        assert!(online.iter().any(|o| o.lead_time_days == Some(0)));
        assert!(online.iter().any(|o| o.min_order_quantity > 1));
        assert!(in_store.iter().any(|o| o.quantity_on_hand.is_none()));
        assert!(in_store.iter().any(|o| o.quantity_on_hand == Some(0)));
        assert!(
            in_store.iter().any(|o| o.aisle.is_empty())
                && in_store.iter().any(|o| !o.aisle.is_empty())
        );
        assert!(in_store.iter().any(|o| o.store_pickup_available));
        assert!(in_store.iter().any(|o| !o.store_pickup_available));
        assert!(online.iter().any(|o| o.is_verified) && online.iter().any(|o| !o.is_verified));
        assert!(online.iter().all(|o| o.organization_id.is_some()));
        assert!(in_store.iter().all(|o| o.organization_id.is_some()));
    }

    #[test]
    fn amounts_are_written_with_their_currency_exponent() {
        let data = data();
        let mut currencies = HashSet::new();
        let prices = data
            .online_offers
            .iter()
            .map(|o| {
                (
                    o.price.clone().unwrap(),
                    o.shipping_cost.clone(),
                    data.store_currency(&o.online_store_id),
                )
            })
            .chain(data.in_store_offers.iter().map(|o| {
                (
                    o.price.clone().unwrap(),
                    None,
                    data.store_currency(&o.physical_store_id),
                )
            }));
        for (price, shipping, store_currency) in prices {
            assert_eq!(
                Some(price.currency.as_str()),
                store_currency,
                "price in the store currency"
            );
            currencies.insert(price.currency.clone());
            for amount in [price.amount, shipping].into_iter().flatten() {
                assert!(
                    crate::pricing::from_closient(Some(&amount), &price.currency).is_ok(),
                    "{amount}"
                );
                let decimals = amount.split_once('.').map_or(0, |(_, f)| f.len());
                let zero = amount == "0" || amount == "0.00";
                match price.currency.as_str() {
                    "JPY" => assert!(!amount.contains('.'), "{amount} JPY"),
                    "KWD" => assert!(zero || decimals == 3, "{amount} KWD"),
                    _ => assert!(zero || decimals == 2, "{amount} {}", price.currency),
                }
            }
        }
        let want: HashSet<String> = ["USD", "EUR", "GBP", "CAD", "JPY", "KWD"]
            .map(String::from)
            .into();
        assert_eq!(currencies, want);
    }

    #[test]
    fn every_product_has_an_online_offer_the_demo_key_sees_and_most_have_in_store_offers() {
        let catalog = Catalog::demo();
        let data = SimData::generate(&catalog);
        let demo: HashSet<_> = data
            .organizations_visible_to(&demo_credentials())
            .iter()
            .map(|o| o.id.clone())
            .collect();
        let online: HashSet<_> = data
            .online_offers
            .iter()
            .filter(|o| demo.contains(o.organization_id.as_deref().unwrap()))
            .map(|o| o.product_id.clone())
            .collect();
        let in_store: HashSet<_> = data
            .in_store_offers
            .iter()
            .map(|o| o.product_id.clone())
            .collect();
        for product in &catalog.products {
            assert!(
                online.contains(&shortuuid::encode(product.uuid)),
                "{}",
                product.gtin
            );
        }
        assert!(
            in_store.len() * 10 > catalog.products.len() * 7,
            "{}",
            in_store.len()
        );
    }

    #[test]
    fn offers_are_unique_per_product_store_and_sku_with_unique_v4_ids() {
        let data = data();
        let mut trios = HashSet::new();
        let mut pairs = HashSet::new();
        let mut same_pair_twice = false;
        let mut ids = HashSet::new();
        for o in &data.online_offers {
            assert!(trios.insert((&o.product_id, &o.online_store_id, &o.sku)));
            same_pair_twice |= !pairs.insert((&o.product_id, &o.online_store_id));
            assert!(ids.insert(o.id.clone()));
        }
        assert!(same_pair_twice, "some product has two skus at one store");
        let mut trios = HashSet::new();
        for o in &data.in_store_offers {
            assert!(trios.insert((&o.product_id, &o.physical_store_id, &o.sku)));
            assert!(ids.insert(o.id.clone()));
        }
        for id in &ids {
            let uuid = shortuuid::format_uuid(shortuuid::decode(id).unwrap());
            assert_eq!(&uuid[14..15], "4", "{uuid}");
            assert!("89ab".contains(&uuid[19..20]), "{uuid}");
        }
    }

    #[test]
    fn api_keys_are_well_formed_and_see_different_organizations() {
        // The IEEE CRC-32 check value.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        let data = data();
        let demo = demo_key();
        let other = key_of(&other_credentials());
        assert_ne!(demo, other);
        for key in [&demo, &other] {
            assert!(is_well_formed_api_key(key), "{key}");
            assert_eq!(key.len(), 4 + 32 + 1 + 8);
        }
        assert!(!is_well_formed_api_key(
            "csb_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_00000000"
        ));
        let demo_orgs = data.organizations_visible_to(&demo_credentials());
        let other_orgs = data.organizations_visible_to(&other_credentials());
        assert!(demo_orgs.len() > data.organizations.len() / 2);
        assert!(demo_orgs.iter().any(|o| !other_orgs.contains(o)));
        assert!(other_orgs.iter().any(|o| !demo_orgs.contains(o)));
        assert!(other_orgs.iter().any(|o| demo_orgs.contains(o)));
        assert!(
            format!("{data:?}").len() < 2_000,
            "Debug stays short and prints no key"
        );
        assert!(!format!("{data:?}").contains(&demo));
    }

    #[tokio::test]
    async fn requests_without_a_valid_key_get_the_401_envelope() {
        let (running, data) = start().await;
        let path = format!(
            "/retailers/api/v1/online-offers/{}",
            data.online_offers[0].id
        );
        for key in [
            None,
            Some(""),
            Some("csb_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_00000000"),
        ] {
            let (status, headers, body) = get(&running, &path, key).await;
            assert_eq!(status, Status::UNAUTHORIZED, "{key:?}");
            assert_eq!(error_code(&body), "UNAUTHORIZED");
            assert_eq!(body["error"]["status"], 401);
            assert!(body["error"]["message"].is_string());
            assert!(body["error"]["details"].is_array());
            assert!(headers.get("ratelimit-limit").is_none());
        }
        // The bearer form is accepted too.
        let response = reqwest::Client::new()
            .get(running.base_url.join(&path).unwrap())
            .bearer_auth(demo_key())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), Status::OK);
        let offer: OnlineOfferOut = response.json().await.unwrap();
        assert_eq!(offer, data.online_offers[0]);
    }

    #[tokio::test]
    async fn pagination_parameters_are_validated() {
        let (running, data) = start().await;
        let key = demo_key();
        let base = format!(
            "/retailers/api/v1/organizations/{}/online-offers",
            data.organizations[0].id
        );
        for (query, field) in [
            ("page=0", "page"),
            ("page=-1", "page"),
            ("page=abc", "page"),
            ("page=1.5", "page"),
            ("page_size=0", "page_size"),
            ("page_size=101", "page_size"),
            ("page_size=", "page_size"),
        ] {
            let (status, _, body) = get(&running, &format!("{base}?{query}"), Some(&key)).await;
            assert_eq!(status, Status::UNPROCESSABLE_ENTITY, "{query}");
            assert_eq!(error_code(&body), "VALIDATION_ERROR");
            assert_eq!(body["error"]["status"], 422);
            assert_eq!(body["error"]["details"][0]["field"], field, "{query}");
            assert!(body["error"]["details"][0]["message"].is_string());
        }
        let (_, _, body) = get(
            &running,
            &format!("{base}?page=0&page_size=500"),
            Some(&key),
        )
        .await;
        assert_eq!(body["error"]["details"].as_array().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn listing_pages_through_an_organization_and_past_its_end() {
        let (running, data) = start().await;
        let key = demo_key();
        let org = &data.organizations[0].id;
        let all = data.organization_online_offers(org);
        let total = all.len() as u64;
        let base = format!("/retailers/api/v1/organizations/{org}/online-offers");
        let (status, _, body) = get(&running, &base, Some(&key)).await;
        assert_eq!(status, Status::OK);
        let page: Page<OnlineOfferOut> = serde_json::from_value(body).unwrap();
        assert_eq!(page.data.len(), 25);
        assert_eq!(
            page.pagination,
            PaginationMeta {
                page: 1,
                page_size: 25,
                total_count: total,
                total_pages: total.div_ceil(25),
                has_next: true,
                has_previous: false
            }
        );
        let last = total.div_ceil(100);
        let (_, _, body) = get(
            &running,
            &format!("{base}?page={last}&page_size=100"),
            Some(&key),
        )
        .await;
        let page: Page<OnlineOfferOut> = serde_json::from_value(body).unwrap();
        assert_eq!(page.data.len() as u64, total - (last - 1) * 100);
        assert_eq!(&page.data[0], all[(last as usize - 1) * 100]);
        assert!(!page.pagination.has_next && page.pagination.has_previous);
        let (status, _, body) = get(
            &running,
            &format!("{base}?page={}&page_size=100", last + 5),
            Some(&key),
        )
        .await;
        assert_eq!(status, Status::OK);
        let page: Page<OnlineOfferOut> = serde_json::from_value(body).unwrap();
        assert!(page.data.is_empty());
        assert_eq!(page.pagination.total_count, total);
        assert_eq!(page.pagination.total_pages, last);
        assert!(!page.pagination.has_next && page.pagination.has_previous);
    }

    #[tokio::test]
    async fn malformed_ids_are_422_and_uuid_ids_are_accepted() {
        let (running, data) = start().await;
        let key = demo_key();
        for (path, field) in [
            (
                "/retailers/api/v1/online-offers/not-an-id".to_owned(),
                "offer_id",
            ),
            (
                "/retailers/api/v1/in-store-offers/0000000000000000000000".to_owned(),
                "offer_id",
            ),
            (
                "/retailers/api/v1/organizations/zzzzzzzzzzzzzzzzzzzzzz/online-offers".to_owned(),
                "organization_id",
            ),
        ] {
            let (status, _, body) = get(&running, &path, Some(&key)).await;
            assert_eq!(status, Status::UNPROCESSABLE_ENTITY, "{path}");
            assert_eq!(body["error"]["details"][0]["field"], field);
        }
        let offer = &data.in_store_offers[0];
        let uuid = shortuuid::format_uuid(shortuuid::decode(&offer.id).unwrap());
        let (status, _, body) = get(
            &running,
            &format!("/retailers/api/v1/in-store-offers/{uuid}"),
            Some(&key),
        )
        .await;
        assert_eq!(status, Status::OK);
        assert_eq!(
            serde_json::from_value::<InStoreOfferOut>(body).unwrap(),
            *offer
        );
        let org_uuid = shortuuid::format_uuid(data.organizations[0].uuid);
        let path = format!("/retailers/api/v1/organizations/{org_uuid}/online-offers");
        assert_eq!(get(&running, &path, Some(&key)).await.0, Status::OK);
    }

    #[tokio::test]
    async fn another_organizations_data_is_404_exactly_like_missing_data() {
        let (running, data) = start().await;
        let key = demo_key();
        let theirs = org_of(&data, &other_credentials(), &demo_credentials());
        let offer = data.organization_online_offers(&theirs)[0].id.clone();
        let (status, _, hidden) = get(
            &running,
            &format!("/retailers/api/v1/online-offers/{offer}"),
            Some(&key),
        )
        .await;
        assert_eq!(status, Status::NOT_FOUND);
        let missing = shortuuid::encode(42);
        let (_, _, absent) = get(
            &running,
            &format!("/retailers/api/v1/online-offers/{missing}"),
            Some(&key),
        )
        .await;
        assert_eq!(hidden, absent, "existence is not leaked");
        assert_eq!(error_code(&hidden), "NOT_FOUND");
        let list = |org: &str| format!("/retailers/api/v1/organizations/{org}/online-offers");
        let (status, _, hidden) = get(&running, &list(&theirs), Some(&key)).await;
        assert_eq!(status, Status::NOT_FOUND);
        let (_, _, absent) = get(&running, &list(&missing), Some(&key)).await;
        assert_eq!(hidden, absent);
        let other = key_of(&other_credentials());
        assert_eq!(
            get(&running, &list(&theirs), Some(&other)).await.0,
            Status::OK
        );
        let in_store = data
            .in_store_offers
            .iter()
            .find(|o| o.organization_id.as_deref() == Some(theirs.as_str()))
            .unwrap();
        let path = format!("/retailers/api/v1/in-store-offers/{}", in_store.id);
        assert_eq!(get(&running, &path, Some(&key)).await.0, Status::NOT_FOUND);
        assert_eq!(get(&running, &path, Some(&other)).await.0, Status::OK);
    }

    #[tokio::test]
    async fn products_are_found_by_gtin_14_ean_13_and_upc_a() {
        let (running, data) = start().await;
        let key = demo_key();
        let catalog = Catalog::demo();
        for product in catalog.products.iter().take(3) {
            for code in [&product.gtin, &product.barcode] {
                let (status, _, body) = get(
                    &running,
                    &format!("/products/api/v1/products/{code}"),
                    Some(&key),
                )
                .await;
                assert_eq!(status, Status::OK, "{code}");
                let answer: ProductOut = serde_json::from_value(body).unwrap();
                assert_eq!(answer.gtin, product.gtin);
                assert_eq!(answer.id, shortuuid::encode(product.uuid));
                assert!(data.online_offers.iter().any(|o| o.product_id == answer.id));
            }
        }
        let gtin = &catalog.products[0].gtin;
        let wrong_check = format!("{}{}", &gtin[..13], (gtin.as_bytes()[13] - b'0' + 1) % 10);
        for bad in ["123", "abcdefghijklmn", wrong_check.as_str()] {
            let (status, _, body) = get(
                &running,
                &format!("/products/api/v1/products/{bad}"),
                Some(&key),
            )
            .await;
            assert_eq!(status, Status::UNPROCESSABLE_ENTITY, "{bad}");
            assert_eq!(body["error"]["details"][0]["field"], "gtin");
        }
        let unknown = catalog::with_check_digit("9999999999999");
        let (status, _, body) = get(
            &running,
            &format!("/products/api/v1/products/{unknown}"),
            Some(&key),
        )
        .await;
        assert_eq!(
            (status, error_code(&body)),
            (Status::NOT_FOUND, "NOT_FOUND")
        );
    }

    #[tokio::test]
    async fn rate_limit_headers_are_on_every_answer_and_429_says_when_to_retry() {
        let (running, data) = start().await;
        let key = demo_key();
        let ok = format!(
            "/retailers/api/v1/online-offers/{}",
            data.online_offers[0].id
        );
        let missing = format!("/retailers/api/v1/online-offers/{}", shortuuid::encode(7));
        let (_, headers, _) = get(&running, &ok, Some(&key)).await;
        assert_eq!(headers["ratelimit-limit"], "300");
        assert_eq!(headers["ratelimit-remaining"], "299");
        let reset: u64 = headers["ratelimit-reset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&reset));
        assert!(headers.get("retry-after").is_none());
        let (status, headers, _) = get(&running, &missing, Some(&key)).await;
        assert_eq!(status, Status::NOT_FOUND);
        assert_eq!(headers["ratelimit-remaining"], "298");

        data.set_minute_limit(Some(3));
        let (status, headers, _) = get(&running, &ok, Some(&key)).await;
        assert_eq!(
            (status, &headers["ratelimit-remaining"]),
            (Status::OK, &HeaderValue::from(0))
        );
        let (status, headers, body) = get(&running, &ok, Some(&key)).await;
        assert_eq!(status, Status::TOO_MANY_REQUESTS);
        assert_eq!(error_code(&body), "RATE_LIMITED");
        assert_eq!(headers["ratelimit-limit"], "3");
        assert_eq!(headers["ratelimit-remaining"], "0");
        let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry));
        // Keys are limited separately.
        let (status, _, _) = get(&running, &ok, Some(&key_of(&other_credentials()))).await;
        assert_ne!(status, Status::TOO_MANY_REQUESTS);

        data.set_minute_limit(None);
        let (status, headers, _) = get(&running, &ok, Some(&key)).await;
        assert_eq!(status, Status::OK);
        assert_eq!(
            headers["ratelimit-limit"], "10000",
            "the daily window remains"
        );
        data.set_day_limit(Some(4)); // four requests counted today so far
        assert_eq!(
            get(&running, &ok, Some(&key)).await.0,
            Status::TOO_MANY_REQUESTS
        );
        data.set_day_limit(None);
        let (status, headers, _) = get(&running, &ok, Some(&key)).await;
        assert_eq!(status, Status::OK);
        assert!(
            headers.get("ratelimit-limit").is_none(),
            "no limits, no headers"
        );
        data.set_minute_limit(Some(MINUTE_LIMIT));
        data.reset_rate_limits();
        let (_, headers, _) = get(&running, &ok, Some(&key)).await;
        assert_eq!(headers["ratelimit-remaining"], "299");
    }

    #[tokio::test]
    async fn unknown_paths_answer_the_404_envelope() {
        let (running, _) = start().await;
        let (status, _, body) = get(&running, "/retailers/api/v1/nothing", Some(&demo_key())).await;
        assert_eq!(
            (status, error_code(&body)),
            (Status::NOT_FOUND, "NOT_FOUND")
        );
    }
}
