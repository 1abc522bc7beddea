//! A faithful simulator of the Violet catalog API.
//!
//! Every product of the shared [`Catalog`](crate::sim::catalog::Catalog)
//! becomes one offer of one of six merchants (USD, EUR, GBP, JPY, KWD and
//! CAD), with 1–4 SKUs carrying the product's barcode, variants, albums,
//! collections, tags, metadata and external data, and every documented enum
//! value somewhere. The data is stored as the [`wire`] types the connector
//! reads.
//!
//! Endpoints (all under `/v1`, all answering JSON):
//! - `POST /login` (app headers + `{username, password}`) -> the user with
//!   `token` (valid 24 h) and `refresh_token` (never expires);
//! - `GET /auth/token` with `X-Violet-Token: <refresh_token>` -> `{token}`;
//! - `GET /catalog/offers/{offer_id}?include=&base_currency=&exchange_rate=`;
//! - `POST /catalog/offers/search?page=&size=&include=&base_currency=&exchange_rate=`
//!   with a [`wire::SearchRequest`];
//! - `GET /catalog/offers/merchants/{merchant_id}?page=&size=&include=&base_currency=&exchange_rate=`;
//! - `GET /currencies/latest?base_currency=`.
//!
//! Paging: `page` is 1-based (default 1), `size` defaults to 20 and must be
//! 1..=100; the answer's `number` is 0-based, as in Violet's pagination
//! guide (`?page=1` answers `"number": 0`). A page past the end is empty.
//!
//! `include=metadata,collections` adds those arrays (the listings honour it
//! too); without it they are omitted. Search and merchant listings carry
//! `default_image_url`, by-id answers do not. `base_currency` converts every
//! price of the answer into that currency with the rate table
//! ([`EXCHANGE_RATES`], units per USD) or with `exchange_rate` (units of
//! `base_currency` per unit of the offer's currency), rounding half to even
//! to the target's minor unit; SKU and offer `currency`,
//! `presented_currency` and `currency_symbol` follow (a SKU that states no
//! currency keeps none). As documented, `base_currency` defaults to `USD`
//! ([`wire::DEFAULT_BASE_CURRENCY`]): an answer without it is exactly the
//! answer with `base_currency=USD`, so a JPY or KWD merchant's offers are
//! served in US dollars unless a call asks for another currency. The by-id
//! route and both listings behave alike: seed 004 documents the by-id
//! parameter ("default: USD"); Violet's API reference lists `base_currency`
//! on `GET /catalog/offers/merchants/{merchant_id}` and its guide says
//! "The default currency when no parameter is provided is USD"
//! (docs.violet.io, "Get Offers for a Merchant"); for
//! `POST /catalog/offers/search` the reference's query parameters omit it
//! but the guide documents `?base_currency=GBP` with "The default is USD"
//! (docs.violet.io, "List Connected Offers"). The search's `min_price` and
//! `max_price` filters and sorting compare the stored amounts in the
//! merchant's own minor units.
//!
//! Auth: every call needs `X-Violet-App-Id`, `X-Violet-App-Secret` and
//! (except login) `X-Violet-Token`. Errors have Violet's shape
//! `{status, message, error_code, timestamp}` with these codes:
//!
//! | status | error_code | when |
//! |---|---|---|
//! | 400 | 1 | malformed parameter or body |
//! | 401 | 10 | token missing or unknown |
//! | 401 | 11 | token expired (`"Token has expired"`, documented) |
//! | 403 | 12 | app id unknown or app secret wrong |
//! | 401 | 13 | app headers missing or malformed |
//! | 403 | 14 | token issued to another app |
//! | 401 | 20 | wrong username or password |
//! | 401 | 21 | refresh token unknown or revoked |
//! | 404 | 404 | offer or merchant not found (or not connected to the app) |
//!
//! Each app sees only the merchants it is connected to: the demo app all
//! six, the other app the first three. Controls for tests:
//! [`SimData::expire_tokens`], [`SimData::forget_tokens`] and
//! [`SimData::revoke_refresh_tokens`]; logins
//! and refreshes are counted by the runner's per-endpoint counters
//! (`POST /v1/login`, `GET /v1/auth/token`). [`SimData::with_drift`] turns
//! on drift mode ([`crate::sim::drift`]).
//!
//! Tests add and remove offers while the simulator serves
//! ([`SimData::add_offer`], [`SimData::remove_offer`],
//! [`SimData::new_offer_like`] to make one): every route answers
//! accordingly, and [`SimData::reset_offers`] undoes it all.
//!
//! This file holds the data model, the token store, the app and token
//! checks and the routes; `generate.rs` makes the data (and converts
//! amounts between currencies), `handlers.rs` answers the routes,
//! `live.rs` holds the run-time changes to the offers and `drift.rs` is
//! drift mode.

mod drift;
mod generate;
mod handlers;
mod live;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use rust_decimal::Decimal;
use serde_json::json;

use super::wire;
use crate::secret::Secret;
use crate::sim::drift::Drift;
use crate::upstream::Credentials;
pub use generate::convert_minor;
use handlers::{get_offer, latest_rates, login, merchant_offers, refresh_token, search_offers};
use live::Changes;
/// How long an access token lives.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// Default page size of the listings.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// Largest page size of the listings.
pub const MAX_PAGE_SIZE: u32 = 100;

/// Units of each currency per one US dollar: the simulator's rate table.
pub const EXCHANGE_RATES: &[(&str, &str)] = &[
    ("USD", "1"),
    ("EUR", "0.92"),
    ("GBP", "0.79"),
    ("CAD", "1.36"),
    ("JPY", "151.5"),
    ("KWD", "0.307"),
    ("AUD", "1.52"),
    ("CHF", "0.88"),
    ("BHD", "0.376"),
    ("MXN", "17.05"),
];

const DEMO_APP_ID: i64 = 11_001;
const DEMO_APP_SECRET: &str = "vsk_demo_4f9c2a7e81d34b6a9e0c5d7f3a2b1c8e";
const DEMO_USERNAME: &str = "demo@offer-gateway.example";
const DEMO_PASSWORD: &str = "violet-demo-password";
const OTHER_APP_ID: i64 = 11_002;
const OTHER_APP_SECRET: &str = "vsk_other_0b7d3e5f9a1c4e6b8d2f0a3c5e7b9d1f";
const OTHER_USERNAME: &str = "other@offer-gateway.example";
const OTHER_PASSWORD: &str = "violet-other-password";

/// Credentials the demo gateway uses: an app connected to every merchant.
pub fn demo_credentials() -> Credentials {
    Credentials::Violet(super::Credentials {
        app_id: DEMO_APP_ID,
        app_secret: Secret::new(DEMO_APP_SECRET),
        username: DEMO_USERNAME.to_owned(),
        password: Secret::new(DEMO_PASSWORD),
    })
}

/// A second valid app, connected to the first three merchants only.
pub fn other_credentials() -> Credentials {
    Credentials::Violet(super::Credentials {
        app_id: OTHER_APP_ID,
        app_secret: Secret::new(OTHER_APP_SECRET),
        username: OTHER_USERNAME.to_owned(),
        password: Secret::new(OTHER_PASSWORD),
    })
}

/// A merchant of the simulated catalog.
#[derive(Clone, Debug, PartialEq)]
pub struct Merchant {
    /// Merchant id (int32).
    pub id: i32,
    /// Store name (the offers' `seller`).
    pub name: String,
    /// ISO 4217 code of the store's prices.
    pub currency: &'static str,
    /// Web domain of the store.
    pub domain: String,
}

/// An app registered with the simulator, with its one user.
#[derive(Clone, Debug, PartialEq)]
pub struct App {
    /// `X-Violet-App-Id`.
    pub app_id: i64,
    /// `X-Violet-App-Secret`.
    pub app_secret: String,
    /// The user's email, the login `username`.
    pub username: String,
    /// The user's password.
    pub password: String,
    /// The user's id.
    pub user_id: i64,
    /// Merchants the app is connected to (the only ones it can see).
    pub merchant_ids: Vec<i32>,
}

#[derive(Debug)]
struct AccessToken {
    app_id: i64,
    issued_at: SystemTime,
    expired: bool,
}

#[derive(Debug, Default)]
struct Tokens {
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, i64>,
}

/// Everything the simulator serves, generated from the catalog, plus its
/// token store and the offers added and removed at run time.
///
/// [`SimData::offers`] and [`SimData::offer`] are the generated catalog;
/// offers added or removed at run time show in the routes and in
/// [`SimData::current_offer`] and [`SimData::current_offers`].
#[derive(Debug)]
pub struct SimData {
    /// The catalog seed the data was made from.
    pub seed: u64,
    /// The merchants.
    pub merchants: Vec<Merchant>,
    /// All generated offers, by ascending id, with metadata and
    /// collections, without `default_image_url` (the listings add it);
    /// run-time changes are not reflected here.
    pub offers: Vec<wire::Offer>,
    /// Registered apps.
    pub apps: Vec<App>,
    /// Units of each currency per US dollar.
    pub rates: BTreeMap<&'static str, Decimal>,
    /// What drift mode changes as offers are served (empty without it).
    pub drift: Drift,
    index: HashMap<i64, usize>,
    tokens: Mutex<Tokens>,
    /// Offers removed and added at run time.
    changes: RwLock<Changes>,
}

impl SimData {
    /// The generated offer with this id, as stored (metadata and
    /// collections included), removed or not ([`SimData::current_offer`]
    /// is what is served now).
    pub fn offer(&self, id: i64) -> Option<&wire::Offer> {
        self.index.get(&id).map(|&i| &self.offers[i])
    }

    /// The merchant with this id.
    pub fn merchant(&self, id: i32) -> Option<&Merchant> {
        self.merchants.iter().find(|m| m.id == id)
    }

    /// Control: every access token issued so far answers `401` with
    /// `error_code` 11 from now on (refresh tokens stay valid).
    pub fn expire_tokens(&self) {
        let mut tokens = self.tokens.lock().expect("token lock poisoned");
        for token in tokens.access.values_mut() {
            token.expired = true;
        }
    }

    /// Control: every access token issued so far becomes unknown (as after
    /// an upstream restart): calls with one answer `401` with `error_code` 10.
    pub fn forget_tokens(&self) {
        self.tokens
            .lock()
            .expect("token lock poisoned")
            .access
            .clear();
    }

    /// Control: every refresh token issued so far becomes unknown, so the
    /// next refresh fails and a client must log in again.
    pub fn revoke_refresh_tokens(&self) {
        self.tokens
            .lock()
            .expect("token lock poisoned")
            .refresh
            .clear();
    }

    fn app(&self, app_id: i64) -> Option<&App> {
        self.apps.iter().find(|a| a.app_id == app_id)
    }

    /// The rate converting `from` into `to` through the table, as a
    /// fraction (`to` per USD, `from` per USD) so the product stays exact.
    fn table_rate(&self, from: &str, to: &str) -> Option<(Decimal, Decimal)> {
        Some((*self.rates.get(to)?, *self.rates.get(from)?))
    }

    fn issue_access_token(&self, app: &App) -> String {
        let now = SystemTime::now();
        let iat = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(br#"{"alg":"HS512"}"#);
        let payload = b64.encode(
            json!({
                "sub": app.username,
                "app_id": app.app_id.to_string(),
                "user_id": app.user_id,
                "iss": "https://violet.io",
                "iat": iat,
                "exp": iat + TOKEN_LIFETIME.as_secs(),
                "jti": ulid::Ulid::new().to_string(),
            })
            .to_string(),
        );
        let signature: Vec<u8> = (0..64).map(|_| fastrand::u8(..)).collect();
        let token = format!("{header}.{payload}.{}", b64.encode(signature));
        self.tokens
            .lock()
            .expect("token lock poisoned")
            .access
            .insert(
                token.clone(),
                AccessToken {
                    app_id: app.app_id,
                    issued_at: now,
                    expired: false,
                },
            );
        token
    }

    fn issue_refresh_token(&self, app: &App) -> String {
        let token = format!("rt_{}", ulid::Ulid::new().to_string().to_ascii_lowercase());
        self.tokens
            .lock()
            .expect("token lock poisoned")
            .refresh
            .insert(token.clone(), app.app_id);
        token
    }

    fn check_access_token(&self, token: &str, app: &App) -> Result<(), ApiError> {
        let tokens = self.tokens.lock().expect("token lock poisoned");
        let Some(record) = tokens.access.get(token) else {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, 10, "Invalid token"));
        };
        if record.app_id != app.app_id {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                14,
                "Token was not issued to this app",
            ));
        }
        let age = SystemTime::now()
            .duration_since(record.issued_at)
            .unwrap_or_default();
        if record.expired || age >= TOKEN_LIFETIME {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                11,
                "Token has expired",
            ));
        }
        Ok(())
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// An error answer in Violet's shape.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: i64,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: i64, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, 1, message)
    }

    fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, 404, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = wire::ErrorBody {
            status: self.status.as_u16(),
            message: self.message,
            error_code: Some(self.code),
            timestamp: Some(now_millis()),
        };
        (self.status, Json(body)).into_response()
    }
}

/// The simulator's routes.
pub fn router(data: Arc<SimData>) -> Router {
    Router::new()
        .route("/v1/login", post(login))
        .route("/v1/auth/token", get(refresh_token))
        .route("/v1/catalog/offers/search", post(search_offers))
        .route(
            "/v1/catalog/offers/merchants/{merchant_id}",
            get(merchant_offers),
        )
        .route("/v1/catalog/offers/{offer_id}", get(get_offer))
        .route("/v1/currencies/latest", get(latest_rates))
        .with_state(data)
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Checks the two app headers.
fn app_from_headers<'d>(data: &'d SimData, headers: &HeaderMap) -> Result<&'d App, ApiError> {
    let missing = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            13,
            "Missing or malformed app credentials",
        )
    };
    let app_id: i64 = header(headers, "x-violet-app-id")
        .ok_or_else(missing)?
        .parse()
        .map_err(|_| missing())?;
    let secret = header(headers, "x-violet-app-secret").ok_or_else(missing)?;
    match data.app(app_id) {
        Some(app) if app.app_secret == secret => Ok(app),
        _ => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            12,
            "Invalid app credentials",
        )),
    }
}

/// Checks the app headers and the access token of a data call.
fn authenticate<'d>(data: &'d SimData, headers: &HeaderMap) -> Result<&'d App, ApiError> {
    let app = app_from_headers(data, headers)?;
    let token = header(headers, "x-violet-token")
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, 10, "Missing token"))?;
    data.check_access_token(token, app)?;
    Ok(app)
}
