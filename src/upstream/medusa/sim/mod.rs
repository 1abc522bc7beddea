//! A faithful simulator of the Mercur (Medusa v2) marketplace admin API.
//!
//! Endpoints:
//! - `POST /auth/user/emailpass` `{email, password}` -> `{token}` (a JWT-shaped
//!   session token the simulator remembers), or 401 `unauthorized`.
//! - `GET /admin/offers/{id}?fields=` -> `{offer}`, or 404 `not_found`.
//! - `GET /admin/offers?limit=&offset=&order=&fields=&id[]=&sku=&ean=&upc=&seller_id=`
//!   -> `{offers, count, offset, limit}`; filters combine with AND, array
//!   filters accept `k[]=`, `k[0]=` and repeated `k=`.
//!
//! Every `/admin` route wants `Authorization: Bearer <token>` with a token
//! issued by the login route (or [`STATIC_ADMIN_TOKEN`]); otherwise 401
//! `{"message": "Unauthorized"}`. `fields` follows Medusa: names without a
//! prefix replace the defaults (every field of the seed), `+f` (or ` f`,
//! which is what an unencoded `+` decodes to) adds, `-f` removes, `*rel` and
//! `rel.*` take a whole relation, `rel.f` one field of it; `id` is always
//! returned. Answers are the [`super::wire`] types, filtered key by key.
//!
//! The data is generated from the shared catalog: every product is offered
//! by one or two of eight sellers, with tiered, multi-currency, rule-bound,
//! missing and zero prices, JPY and KWD sellers, empty SKUs and metadata.
//! [`SimData::with_drift`] turns on drift mode ([`crate::sim::drift`]).
//!
//! Tests add and remove offers while the simulator serves
//! ([`SimData::add_offer`], [`SimData::remove_offer`],
//! [`SimData::new_offer_like`] to make one): every route answers
//! accordingly, and [`SimData::reset_offers`] undoes it all.
//!
//! This file holds the data model, sessions and injected failures, the
//! bearer token check and the routes; `generate.rs` makes the data,
//! `handlers.rs` answers the routes, `fields.rs` reads `fields` and
//! projects offers, `live.rs` holds the run-time changes to the offers, and
//! `drift.rs` is drift mode.

mod drift;
mod fields;
mod generate;
mod handlers;
mod live;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

use crate::secret::Secret;
use crate::sim::drift::Drift;
use crate::upstream::Credentials;

use super::wire::{self, ErrorBody, ErrorType};
use handlers::{list_offers, login, retrieve_offer};
use live::Changes;
/// Email of the demo admin user.
pub const DEMO_EMAIL: &str = "admin@mercur.test";
/// Password of the demo admin user.
pub const DEMO_PASSWORD: &str = "mercur-demo-admin";
/// Email of the second admin user.
pub const OTHER_EMAIL: &str = "ops@mercur.test";
/// Password of the second admin user.
pub const OTHER_PASSWORD: &str = "mercur-demo-ops";
/// A long-lived admin token the simulator always accepts (for
/// `super::Credentials::Token` configurations); [`SimData::revoke_tokens`] does not
/// revoke it.
pub const STATIC_ADMIN_TOKEN: &str = concat!(
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.",
    "eyJhY3Rvcl9pZCI6InVzZXJfMDFKR1pYMFNUQVQxQ1QwS0VOQURNMU4wMDAiLCJhY3Rvcl90eXBlIjoidXNlciIsImF1",
    "dGhfaWRlbnRpdHlfaWQiOiJhdXRoaWRfMDFKR1pYMFNUQVQxQ1QwS0VOQURNMU4wMDAiLCJhcHBfbWV0YWRhdGEiOnsi",
    "dXNlcl9pZCI6InVzZXJfMDFKR1pYMFNUQVQxQ1QwS0VOQURNMU4wMDAifSwiaWF0IjoxNzM1NzIyMDAwfQ.",
    "c2ltdWxhdG9yIHN0YXRpYyBhZG1pbiB0b2tlbiwgbm90IHNpZ25lZA"
);
/// Page size of `GET /admin/offers` when `limit` is not given.
pub const DEFAULT_LIMIT: u64 = 50;

/// 2025-01-01T09:00:00Z: offers are created from then on.
const SIM_EPOCH_MS: u64 = 1_735_722_000_000;
const DAY_MS: u64 = 86_400_000;

/// An admin user who can log in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimUser {
    /// `user_<ULID>`.
    pub id: String,
    /// Login email.
    pub email: String,
    /// Login password.
    pub password: String,
}

/// Everything the simulator serves, generated from the shared catalog, plus
/// its runtime controls (sessions, injected failures, offers added and
/// removed).
///
/// [`SimData::offers`] and [`SimData::offer`] are the generated catalog;
/// offers added or removed at run time show in the routes and in
/// [`SimData::current_offer`] and [`SimData::current_offers`].
#[derive(Debug)]
pub struct SimData {
    /// All generated offers, in creation order (which is also id order);
    /// run-time changes are not reflected here.
    pub offers: Vec<wire::Offer>,
    /// The sellers.
    pub sellers: Vec<wire::Seller>,
    /// The shipping profiles.
    pub shipping_profiles: Vec<wire::ShippingProfile>,
    /// The admin users who can log in.
    pub users: Vec<SimUser>,
    /// What drift mode changes as offers are served (empty without it).
    pub drift: Drift,
    by_id: HashMap<String, usize>,
    /// Issued session tokens -> user id.
    sessions: Mutex<HashMap<String, String>>,
    token_rng: Mutex<fastrand::Rng>,
    logins: Mutex<u64>,
    /// The next `n` authorized admin requests fail with this error type.
    failures: Mutex<Option<(u32, ErrorType)>>,
    /// Offers removed and added at run time.
    changes: RwLock<Changes>,
}

impl SimData {
    /// The generated offer with this exact id, removed or not
    /// ([`SimData::current_offer`] is what is served now).
    pub fn offer(&self, id: &str) -> Option<&wire::Offer> {
        self.by_id.get(id).map(|&i| &self.offers[i])
    }

    /// Invalidates every session token issued so far, as if they expired
    /// ([`STATIC_ADMIN_TOKEN`] stays valid).
    pub fn revoke_tokens(&self) {
        self.sessions
            .lock()
            .expect("sessions lock poisoned")
            .clear();
    }

    /// Number of session tokens currently valid.
    pub fn session_count(&self) -> usize {
        self.sessions.lock().expect("sessions lock poisoned").len()
    }

    /// Makes the next `requests` authorized `/admin` requests fail with
    /// `kind`'s status and Medusa error body (500 for `UnknownError`).
    pub fn fail_next(&self, requests: u32, kind: ErrorType) {
        *self.failures.lock().expect("failures lock poisoned") =
            (requests > 0).then_some((requests, kind));
    }

    fn take_failure(&self) -> Option<ErrorType> {
        let mut failures = self.failures.lock().expect("failures lock poisoned");
        let (left, kind) = (*failures)?;
        *failures = (left > 1).then_some((left - 1, kind));
        Some(kind)
    }

    fn issue_token(&self, user: &SimUser) -> String {
        let serial = {
            let mut logins = self.logins.lock().expect("logins lock poisoned");
            *logins += 1;
            *logins
        };
        let signature: Vec<u8> = {
            let mut rng = self.token_rng.lock().expect("token rng lock poisoned");
            (0..32).map(|_| rng.u8(..)).collect()
        };
        let iat = SIM_EPOCH_MS / 1000 + 365 * 86_400 + serial;
        let payload = json!({
            "actor_id": user.id,
            "actor_type": "user",
            "auth_identity_id": user.id.replacen("user_", "authid_", 1),
            "app_metadata": {"user_id": user.id},
            "iat": iat,
            "exp": iat + 86_400,
            "jti": serial,
        });
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(payload.to_string()),
            URL_SAFE_NO_PAD.encode(signature)
        );
        self.sessions
            .lock()
            .expect("sessions lock poisoned")
            .insert(token.clone(), user.id.clone());
        token
    }

    fn token_is_valid(&self, token: &str) -> bool {
        token == STATIC_ADMIN_TOKEN
            || self
                .sessions
                .lock()
                .expect("sessions lock poisoned")
                .contains_key(token)
    }
}

/// The simulator's routes.
pub fn router(data: Arc<SimData>) -> Router {
    Router::new()
        .route("/auth/user/emailpass", post(login))
        .route("/admin/offers", get(list_offers))
        .route("/admin/offers/{id}", get(retrieve_offer))
        .with_state(data)
}

/// Credentials the demo gateway uses against this simulator.
pub fn demo_credentials() -> Credentials {
    Credentials::Medusa(super::Credentials::EmailPassword {
        email: DEMO_EMAIL.to_owned(),
        password: Secret::new(DEMO_PASSWORD),
    })
}

/// A second valid credential (another admin user).
pub fn other_credentials() -> Credentials {
    Credentials::Medusa(super::Credentials::EmailPassword {
        email: OTHER_EMAIL.to_owned(),
        password: Secret::new(OTHER_PASSWORD),
    })
}

/// A Medusa error answer: `{type, message}` with the type's status; 500
/// is always the generic `unknown_error` body.
fn error(kind: ErrorType, message: impl Into<String>) -> Response {
    let body = match kind {
        ErrorType::UnknownError => ErrorBody {
            kind: Some(kind),
            message: Some("An unknown error occurred.".to_owned()),
            code: Some("unknown_error".to_owned()),
        },
        _ => ErrorBody {
            kind: Some(kind),
            message: Some(message.into()),
            code: None,
        },
    };
    let status = StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(body)).into_response()
}

/// The auth middleware's bare 401.
fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"message": "Unauthorized"})),
    )
        .into_response()
}

/// Checks the bearer token of an `/admin` request, then any injected
/// failure: the answer to send instead of serving the request, if any.
fn refusal(data: &SimData, headers: &HeaderMap) -> Option<Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    if !token.is_some_and(|token| data.token_is_valid(token)) {
        return Some(unauthorized());
    }
    data.take_failure()
        .map(|kind| error(kind, format!("Simulated {} failure", kind.as_str())))
}
