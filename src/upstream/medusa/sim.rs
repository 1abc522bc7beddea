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

mod drift;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rust_decimal::Decimal;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use ulid::Ulid;

use crate::pricing::JsonNumber;
use crate::secret::Secret;
use crate::sim::catalog::{Catalog, Product};
use crate::sim::drift::Drift;
use crate::upstream::{Credentials, MedusaAuth};

use super::id::with_prefix;
use super::wire::{self, ErrorBody, ErrorType};

/// Email of the demo admin user.
pub const DEMO_EMAIL: &str = "admin@mercur.test";
/// Password of the demo admin user.
pub const DEMO_PASSWORD: &str = "mercur-demo-admin";
/// Email of the second admin user.
pub const OTHER_EMAIL: &str = "ops@mercur.test";
/// Password of the second admin user.
pub const OTHER_PASSWORD: &str = "mercur-demo-ops";
/// A long-lived admin token the simulator always accepts (for
/// `MedusaAuth::Token` configurations); [`SimData::revoke_tokens`] does not
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

/// The sellers: name, handle and the currencies they price in (first = primary).
const SELLERS: &[(&str, &str, &[&str])] = &[
    ("Acme Store", "acme-store", &["usd"]),
    ("Northwind Traders", "northwind-traders", &["usd", "eur"]),
    ("Globex Outlet", "globex-outlet", &["usd"]),
    ("Initech Supply", "initech-supply", &["eur", "usd"]),
    ("Hooli Market", "hooli-market", &["usd", "eur"]),
    ("Vandelay Imports", "vandelay-imports", &["usd"]),
    ("Shibuya Select", "shibuya-select", &["jpy"]),
    ("Gulf Bazaar", "gulf-bazaar", &["kwd", "usd"]),
];
const SHIPPING_PROFILES: &[&str] = &["Default", "Express", "Bulky goods", "Digital delivery"];
const CUSTOMER_GROUPS: usize = 2;
const METADATA: &[&str] = &[
    r#"{"condition": "new"}"#,
    r#"{"warehouse": "AMS-1", "lead_time_days": 2}"#,
    r#"{"gift_wrap": true}"#,
    r#"{"source": "csv-import", "batch": "2025-03"}"#,
    r#"{"condition": "refurbished", "warranty_months": 12}"#,
];

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
/// its runtime controls (sessions, injected failures).
#[derive(Debug)]
pub struct SimData {
    /// All offers, in creation order (which is also id order).
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
}

impl SimData {
    /// Generates the simulator's data from the shared catalog; the same
    /// catalog seed always gives the same data.
    pub fn generate(catalog: &Catalog) -> Self {
        let mut rng = fastrand::Rng::with_seed(catalog.seed ^ 0x4d65_6475_7361);
        let setup_ms = SIM_EPOCH_MS - 60 * DAY_MS;
        let users = vec![
            SimUser {
                id: new_id(&mut rng, "user_", setup_ms),
                email: DEMO_EMAIL.to_owned(),
                password: DEMO_PASSWORD.to_owned(),
            },
            SimUser {
                id: new_id(&mut rng, "user_", setup_ms + 1),
                email: OTHER_EMAIL.to_owned(),
                password: OTHER_PASSWORD.to_owned(),
            },
        ];
        let sellers: Vec<wire::Seller> = SELLERS
            .iter()
            .enumerate()
            .map(|(i, (name, handle, _))| wire::Seller {
                id: new_id(&mut rng, "sel_", setup_ms + DAY_MS * (1 + i as u64)),
                name: Some((*name).to_owned()),
                handle: Some((*handle).to_owned()),
            })
            .collect();
        // The member of each seller who creates most of its offers.
        let seller_members: Vec<String> = (0..sellers.len())
            .map(|i| new_id(&mut rng, "user_", setup_ms + DAY_MS * (1 + i as u64) + 1))
            .collect();
        let shipping_profiles: Vec<wire::ShippingProfile> = SHIPPING_PROFILES
            .iter()
            .enumerate()
            .map(|(i, name)| wire::ShippingProfile {
                id: new_id(&mut rng, "sp_", setup_ms + i as u64),
                name: Some((*name).to_owned()),
            })
            .collect();
        let customer_groups: Vec<String> = (0..CUSTOMER_GROUPS)
            .map(|i| new_id(&mut rng, "cusgroup_", setup_ms + i as u64))
            .collect();

        let mut offers = Vec::new();
        let mut clock = SIM_EPOCH_MS;
        for product in &catalog.products {
            let product_ms = SIM_EPOCH_MS - 30 * DAY_MS + product.index as u64 * 60_000;
            let product_id = new_id(&mut rng, "prod_", product_ms);
            let titles = variant_titles(product, 1 + rng.usize(..4));
            let variants: Vec<wire::ProductVariant> = titles
                .iter()
                .map(|title| wire::ProductVariant {
                    id: new_id(&mut rng, "variant_", product_ms),
                    title: Some(title.clone()),
                    sku: Some(variant_sku(product, title)),
                })
                .collect();
            let first = rng.usize(..sellers.len());
            let mut offered_by = vec![first];
            if rng.bool() {
                let second = (first + 1 + rng.usize(..sellers.len() - 1)) % sellers.len();
                offered_by.push(second);
            }
            for seller_index in offered_by {
                clock += rng.u64(60_000..=5_400_000);
                let created_ms = clock;
                let updated_ms = if rng.u8(..4) == 0 {
                    created_ms
                } else {
                    created_ms + rng.u64(1_000..=30 * DAY_MS)
                };
                let offer_id = new_id(&mut rng, "offer_", created_ms);
                let variant = &variants[rng.usize(..variants.len())];
                let seller = &sellers[seller_index];
                let variant_sku = variant.sku.clone().unwrap_or_default();
                let sku = match rng.u8(..100) {
                    0..=3 => String::new(),
                    4..=49 => variant_sku.clone(),
                    _ => format!(
                        "{}-{variant_sku}",
                        SELLERS[seller_index].1[..3].to_ascii_uppercase()
                    ),
                };
                let (ean, upc) = match product.barcode.len() {
                    13 => (Some(product.barcode.clone()), None),
                    12 => (None, Some(product.barcode.clone())),
                    _ => (None, None),
                };
                let metadata = if rng.bool() {
                    None
                } else {
                    serde_json::from_str(METADATA[rng.usize(..METADATA.len())]).ok()
                };
                let inventory_items = {
                    let item = |rng: &mut fastrand::Rng, quantity: i64, sku: String| {
                        let id = new_id(rng, "iitem_", created_ms);
                        wire::InventoryItem {
                            inventory_item_id: Some(id.clone()),
                            id,
                            required_quantity: Some(quantity),
                            sku: Some(sku),
                        }
                    };
                    match rng.u8(..100) {
                        0..=84 => vec![item(&mut rng, 1, variant_sku.clone())],
                        85..=94 => vec![item(&mut rng, 2, variant_sku.clone())],
                        _ => vec![
                            item(&mut rng, 1, variant_sku.clone()),
                            item(&mut rng, 1, format!("{variant_sku}-ACC")),
                        ],
                    }
                };
                let created_by = if rng.u8(..10) == 0 {
                    users[0].id.clone()
                } else {
                    seller_members[seller_index].clone()
                };
                let seller_cents = product.base_price_cents * rng.i64(90..=110) / 100;
                let prices = generate_prices(
                    &mut rng,
                    created_ms,
                    seller_cents,
                    SELLERS[seller_index].2,
                    &customer_groups,
                );
                let shipping_profile = &shipping_profiles[rng.usize(..shipping_profiles.len())];
                offers.push(wire::Offer {
                    id: offer_id,
                    seller_id: Some(seller.id.clone()),
                    variant_id: Some(variant.id.clone()),
                    product_id: Some(product_id.clone()),
                    shipping_profile_id: Some(shipping_profile.id.clone()),
                    sku: Some(sku),
                    ean,
                    upc,
                    created_by: Some(created_by),
                    variant_count: Some(variants.len() as i64),
                    metadata,
                    seller: Some(seller.clone()),
                    product_variant: Some(variant.clone()),
                    shipping_profile: Some(shipping_profile.clone()),
                    prices,
                    inventory_items,
                    created_at: Some(iso_millis(created_ms)),
                    updated_at: Some(iso_millis(updated_ms)),
                });
            }
        }
        let by_id = offers
            .iter()
            .enumerate()
            .map(|(i, o)| (o.id.clone(), i))
            .collect();
        SimData {
            offers,
            sellers,
            shipping_profiles,
            users,
            drift: Drift::default(),
            by_id,
            sessions: Mutex::new(HashMap::new()),
            token_rng: Mutex::new(fastrand::Rng::with_seed(catalog.seed.rotate_left(17))),
            logins: Mutex::new(0),
            failures: Mutex::new(None),
        }
    }

    /// The offer with this exact id.
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

/// `<prefix><ULID>` with the ULID's time part at `ms` and random bits from `rng`.
fn new_id(rng: &mut fastrand::Rng, prefix: &str, ms: u64) -> String {
    with_prefix(prefix, Ulid::from_parts(ms, rng.u128(..)))
}

/// Variant titles of a product with `count` variants.
fn variant_titles(product: &Product, count: usize) -> Vec<String> {
    let options: &[&str] = match product.category {
        "Apparel" => &["S / Black", "M / Blue", "L / Grey", "XL / Red"],
        "Grocery" => &["250 g", "500 g", "1 kg", "2 kg"],
        _ if count == 1 => &["Default"],
        _ => &["Standard", "Large", "Pack of 2", "Pack of 6"],
    };
    options
        .iter()
        .take(count)
        .map(|t| (*t).to_owned())
        .collect()
}

/// `ACM-0042-M-BLUE`: brand, product index and the variant title.
fn variant_sku(product: &Product, title: &str) -> String {
    let brand: String = product.brand.chars().take(3).collect();
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_uppercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    format!(
        "{}-{:04}-{}",
        brand.to_ascii_uppercase(),
        product.index,
        slug.trim_matches('-')
    )
}

/// A price of `usd_cents` (a US-cent reference) in `currency`, in major
/// units: EUR at 0.92, JPY at 150 (whole yen), KWD at 0.307 (3 decimals).
fn amount_in(currency: &str, usd_cents: i64) -> Decimal {
    match currency {
        "eur" => Decimal::new(usd_cents * 92 / 100, 2),
        "jpy" => Decimal::new(usd_cents * 3 / 2, 0),
        "kwd" => Decimal::new(usd_cents * 307 / 100, 3),
        _ => Decimal::new(usd_cents, 2),
    }
}

/// The prices of one offer: usually one unbounded tier; sometimes quantity
/// tiers, several currencies, a customer-group tier, a bulk-only tier, a
/// free price, or none at all.
fn generate_prices(
    rng: &mut fastrand::Rng,
    created_ms: u64,
    usd_cents: i64,
    currencies: &[&str],
    customer_groups: &[String],
) -> Vec<wire::Price> {
    let price = |rng: &mut fastrand::Rng,
                 currency: &str,
                 amount: Decimal,
                 min: Option<i64>,
                 max: Option<i64>,
                 rules: Option<(&str, &str)>| {
        let id = new_id(rng, "price_", created_ms);
        let price_rules = match rules {
            None => json!([]),
            Some((attribute, value)) => json!([{
                "id": new_id(rng, "prule_", created_ms),
                "attribute": attribute,
                "operator": "eq",
                "value": value,
                "priority": 0,
                "price_id": id,
            }]),
        };
        wire::Price {
            id,
            amount: JsonNumber::from_decimal(amount),
            currency_code: currency.to_owned(),
            min_quantity: min,
            max_quantity: max,
            price_rules: Some(price_rules),
        }
    };
    let primary = currencies[0];
    let roll = rng.u8(..100);
    match roll {
        0..=2 => return Vec::new(),
        3..=4 => return vec![price(rng, primary, Decimal::ZERO, None, None, None)],
        5 => {
            let amount = amount_in(primary, usd_cents * 90 / 100);
            return vec![price(rng, primary, amount, Some(10), None, None)];
        }
        _ => {}
    }
    // Quantity tiers: (min, max, percent of the unit price).
    let tiers: &[(Option<i64>, Option<i64>, i64)] = match rng.u8(..100) {
        0..=9 => &[(Some(1), Some(9), 100), (Some(10), None, 95)],
        10..=19 => &[
            (Some(1), Some(9), 100),
            (Some(10), Some(49), 95),
            (Some(50), None, 90),
        ],
        _ => &[(None, None, 100)],
    };
    let mut prices = Vec::new();
    if rng.u8(..100) < 6 {
        let group = &customer_groups[rng.usize(..customer_groups.len())];
        let amount = amount_in(primary, usd_cents * 85 / 100);
        prices.push(price(
            rng,
            primary,
            amount,
            None,
            None,
            Some(("customer_group_id", group)),
        ));
    }
    let priced_in: &[&str] = if currencies.len() > 1 && rng.bool() {
        currencies
    } else {
        &currencies[..1]
    };
    for currency in priced_in {
        for &(min, max, percent) in tiers {
            let amount = amount_in(currency, usd_cents * percent / 100);
            prices.push(price(rng, currency, amount, min, max, None));
        }
    }
    prices
}

/// `2025-01-01T09:00:00.000Z` for milliseconds since the Unix epoch.
fn iso_millis(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        ms % 1000
    )
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
    Credentials::Medusa(MedusaAuth::EmailPassword {
        email: DEMO_EMAIL.to_owned(),
        password: Secret::new(DEMO_PASSWORD),
    })
}

/// A second valid credential (another admin user).
pub fn other_credentials() -> Credentials {
    Credentials::Medusa(MedusaAuth::EmailPassword {
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

async fn login(State(data): State<Arc<SimData>>, body: Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<wire::EmailPassLogin>(&body) else {
        return error(
            ErrorType::InvalidData,
            "Invalid request: expected a JSON body with `email` and `password`",
        );
    };
    let user = data.users.iter().find(|u| {
        u.email.eq_ignore_ascii_case(request.email.trim()) && u.password == request.password
    });
    match user {
        Some(user) => Json(wire::AuthToken {
            token: data.issue_token(user),
        })
        .into_response(),
        None => error(ErrorType::Unauthorized, "Invalid email or password"),
    }
}

async fn retrieve_offer(
    State(data): State<Arc<SimData>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = refusal(&data, &headers) {
        return refusal;
    }
    let params = QueryParams::parse(query.as_deref());
    let selection = match Selection::parse(params.fields()) {
        Ok(selection) => selection,
        Err(message) => return error(ErrorType::InvalidData, message),
    };
    let Some(offer) = data.offer(&id) else {
        return error(
            ErrorType::NotFound,
            format!("Offer with id: {id} was not found"),
        );
    };
    match selection.project(offer) {
        Ok(offer) => data.drift.respond(&wire::OfferResponse { offer }, "/offer"),
        Err(err) => error(ErrorType::UnknownError, err.to_string()),
    }
}

async fn list_offers(
    State(data): State<Arc<SimData>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = refusal(&data, &headers) {
        return refusal;
    }
    let params = QueryParams::parse(query.as_deref());
    let list = match ListQuery::from_params(&params) {
        Ok(list) => list,
        Err(message) => return error(ErrorType::InvalidData, message),
    };
    let selection = match Selection::parse(params.fields()) {
        Ok(selection) => selection,
        Err(message) => return error(ErrorType::InvalidData, message),
    };
    let mut matching: Vec<&wire::Offer> = match list.filters.get("id") {
        Some(ids) => {
            let mut indices: Vec<usize> = ids
                .iter()
                .filter_map(|id| data.by_id.get(id).copied())
                .collect();
            indices.sort_unstable();
            indices.dedup();
            indices.into_iter().map(|i| &data.offers[i]).collect()
        }
        None => data.offers.iter().collect(),
    };
    matching.retain(|offer| {
        list.filters.iter().all(|(field, values)| {
            let value = match *field {
                "id" => Some(&offer.id),
                "sku" => offer.sku.as_ref(),
                "ean" => offer.ean.as_ref(),
                "upc" => offer.upc.as_ref(),
                "seller_id" => offer.seller_id.as_ref(),
                _ => None,
            };
            value.is_some_and(|v| values.contains(v))
        })
    });
    matching.sort_by_cached_key(|o| {
        let field = match list.order_field {
            "created_at" => o.created_at.clone(),
            "updated_at" => o.updated_at.clone(),
            "sku" => o.sku.clone(),
            _ => None,
        };
        (field, o.id.clone())
    });
    if list.descending {
        // Keys are unique (the id breaks ties), so this is the descending order.
        matching.reverse();
    }
    let count = matching.len() as u64;
    let page = matching
        .into_iter()
        .skip(usize::try_from(list.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(list.limit).unwrap_or(usize::MAX))
        .map(|offer| selection.project(offer))
        .collect::<Result<Vec<_>, _>>();
    match page {
        Ok(offers) => data.drift.respond(
            &wire::OfferListResponse {
                offers,
                count,
                offset: list.offset,
                limit: list.limit,
            },
            "/offers",
        ),
        Err(err) => error(ErrorType::UnknownError, err.to_string()),
    }
}

/// Query parameters as Express's `qs` reads them: `k[]=a&k[1]=b&k=c` all
/// land under `k`.
struct QueryParams(BTreeMap<String, Vec<String>>);

impl QueryParams {
    fn parse(query: Option<&str>) -> Self {
        let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let base = match key.find('[') {
                Some(open)
                    if key.ends_with(']')
                        && key[open + 1..key.len() - 1]
                            .bytes()
                            .all(|b| b.is_ascii_digit()) =>
                {
                    &key[..open]
                }
                _ => &key[..],
            };
            params
                .entry(base.to_owned())
                .or_default()
                .push(value.into_owned());
        }
        QueryParams(params)
    }

    /// The last value of a single-valued parameter.
    fn single(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.last()).map(String::as_str)
    }

    /// All `fields` values joined, as one comma-separated list.
    fn fields(&self) -> Option<String> {
        self.0.get("fields").map(|values| values.join(","))
    }
}

/// The paging, ordering and filters of a list request.
struct ListQuery {
    limit: u64,
    offset: u64,
    order_field: &'static str,
    descending: bool,
    filters: BTreeMap<&'static str, HashSet<String>>,
}

impl ListQuery {
    fn from_params(params: &QueryParams) -> Result<Self, String> {
        let number = |field: &str, default: u64| -> Result<u64, String> {
            match params.single(field).map(str::trim) {
                None | Some("") => Ok(default),
                Some(text) => match text.parse::<i64>() {
                    Ok(n) if n < 0 => Err(format!(
                        "Invalid request: Number must be greater than or equal to 0 (at '{field}')"
                    )),
                    Ok(n) => Ok(n as u64),
                    Err(_) => Err(format!(
                        "Invalid request: Expected type: 'number' for field '{field}', got: '{text}'"
                    )),
                },
            }
        };
        let limit = number("limit", DEFAULT_LIMIT)?;
        let offset = number("offset", 0)?;
        let (order_field, descending) = match params.single("order").map(str::trim) {
            None | Some("") => ("created_at", false),
            Some(order) => {
                let (name, descending) = match order.strip_prefix('-') {
                    Some(name) => (name, true),
                    None => (order, false),
                };
                let field = ["id", "created_at", "updated_at", "sku"]
                    .into_iter()
                    .find(|f| *f == name)
                    .ok_or_else(|| format!("Invalid order field: '{name}'"))?;
                (field, descending)
            }
        };
        let mut filters = BTreeMap::new();
        for field in ["id", "sku", "ean", "upc", "seller_id"] {
            if let Some(values) = params.0.get(field) {
                filters.insert(field, values.iter().cloned().collect());
            }
        }
        Ok(ListQuery {
            limit,
            offset,
            order_field,
            descending,
            filters,
        })
    }
}

/// Top-level offer fields, in the order the API answers them.
const OFFER_FIELDS: &[&str] = &[
    "id",
    "seller_id",
    "variant_id",
    "product_id",
    "shipping_profile_id",
    "sku",
    "ean",
    "upc",
    "created_by",
    "variant_count",
    "metadata",
    "seller",
    "product_variant",
    "shipping_profile",
    "prices",
    "inventory_items",
    "created_at",
    "updated_at",
];

/// The fields of each relation.
fn relation_fields(relation: &str) -> Option<&'static [&'static str]> {
    Some(match relation {
        "seller" => &["id", "name", "handle"],
        "product_variant" => &["id", "title", "sku"],
        "shipping_profile" => &["id", "name"],
        "prices" => &[
            "id",
            "amount",
            "currency_code",
            "min_quantity",
            "max_quantity",
            "price_rules",
        ],
        "inventory_items" => &["id", "inventory_item_id", "required_quantity", "sku"],
        _ => return None,
    })
}

/// What is selected of one top-level field.
#[derive(Clone, Debug, PartialEq)]
enum Pick {
    /// The whole field (or relation).
    All,
    /// Some fields of a relation (its `id` is always kept).
    Some(BTreeSet<&'static str>),
}

/// A field named in `fields`.
enum FieldRef {
    Whole(&'static str),
    Sub(&'static str, &'static str),
}

/// The fields an answer shows, from the `fields` query parameter.
#[derive(Clone, Debug, PartialEq)]
struct Selection(BTreeMap<&'static str, Pick>);

impl Selection {
    fn parse(fields: Option<String>) -> Result<Self, String> {
        let mut replace = Vec::new();
        let mut add = Vec::new();
        let mut remove = Vec::new();
        let mut invalid = Vec::new();
        for item in fields.as_deref().unwrap_or("").split(',') {
            if item.trim().is_empty() {
                continue;
            }
            // An unencoded `+` arrives as a space.
            let (target, name) = if let Some(rest) = item.strip_prefix(['+', ' ']) {
                (&mut add, rest.trim())
            } else if let Some(rest) = item.strip_prefix('-') {
                (&mut remove, rest.trim())
            } else if let Some(rest) = item.strip_prefix('*') {
                let rest = rest.trim();
                match relation_fields(rest).and_then(|_| static_name(rest)) {
                    Some(relation) => {
                        add.push(FieldRef::Whole(relation));
                        continue;
                    }
                    None => {
                        invalid.push(item.trim().to_owned());
                        continue;
                    }
                }
            } else {
                (&mut replace, item.trim())
            };
            match resolve(name) {
                Some(field) => target.push(field),
                None => invalid.push(item.trim().to_owned()),
            }
        }
        for field in &remove {
            if let FieldRef::Sub(relation, sub) = field {
                invalid.push(format!("-{relation}.{sub}"));
            }
        }
        if !invalid.is_empty() {
            return Err(format!(
                "Requested fields [{}] are not valid",
                invalid.join(", ")
            ));
        }
        let mut selection = BTreeMap::new();
        if replace.is_empty() {
            for field in OFFER_FIELDS {
                selection.insert(*field, Pick::All);
            }
        }
        for field in replace.into_iter().chain(add) {
            match field {
                FieldRef::Whole(name) => {
                    selection.insert(name, Pick::All);
                }
                FieldRef::Sub(relation, sub) => match selection
                    .entry(relation)
                    .or_insert_with(|| Pick::Some(BTreeSet::new()))
                {
                    Pick::All => {}
                    Pick::Some(subs) => {
                        subs.insert(sub);
                    }
                },
            }
        }
        for field in remove {
            if let FieldRef::Whole(name) = field {
                selection.remove(name);
            }
        }
        selection.insert("id", Pick::All);
        Ok(Selection(selection))
    }

    /// The offer with only the selected fields, in the API's field order.
    fn project(&self, offer: &wire::Offer) -> Result<Projected, serde_json::Error> {
        let mut fields = Vec::new();
        for name in OFFER_FIELDS {
            let Some(pick) = self.0.get(name) else {
                continue;
            };
            let raw = match pick {
                Pick::All => field_raw(offer, name)?,
                Pick::Some(subs) => {
                    let value = serde_json::from_str::<Value>(field_raw(offer, name)?.get())?;
                    serde_json::value::to_raw_value(&keep_keys(value, subs))?
                }
            };
            fields.push((*name, raw));
        }
        Ok(Projected(fields))
    }
}

/// The `&'static` spelling of a top-level field name.
fn static_name(name: &str) -> Option<&'static str> {
    OFFER_FIELDS.iter().copied().find(|f| *f == name)
}

/// Resolves `name`, `rel.*` or `rel.field`.
fn resolve(name: &str) -> Option<FieldRef> {
    match name.split_once('.') {
        None => static_name(name).map(FieldRef::Whole),
        Some((relation, "*")) => {
            relation_fields(relation)?;
            static_name(relation).map(FieldRef::Whole)
        }
        Some((relation, sub)) => {
            let sub = relation_fields(relation)?
                .iter()
                .copied()
                .find(|f| *f == sub)?;
            static_name(relation).map(|relation| FieldRef::Sub(relation, sub))
        }
    }
}

/// Keeps `id` and `keys` of an object, or of every object of an array.
fn keep_keys(value: Value, keys: &BTreeSet<&'static str>) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .filter(|(k, _)| k == "id" || keys.contains(k.as_str()))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| keep_keys(v, keys)).collect())
        }
        other => other,
    }
}

/// One top-level field of an offer as JSON, in its wire type's own key order.
fn field_raw(offer: &wire::Offer, name: &str) -> Result<Box<RawValue>, serde_json::Error> {
    use serde_json::value::to_raw_value as raw;
    match name {
        "id" => raw(&offer.id),
        "seller_id" => raw(&offer.seller_id),
        "variant_id" => raw(&offer.variant_id),
        "product_id" => raw(&offer.product_id),
        "shipping_profile_id" => raw(&offer.shipping_profile_id),
        "sku" => raw(&offer.sku),
        "ean" => raw(&offer.ean),
        "upc" => raw(&offer.upc),
        "created_by" => raw(&offer.created_by),
        "variant_count" => raw(&offer.variant_count),
        "metadata" => raw(&offer.metadata),
        "seller" => raw(&offer.seller),
        "product_variant" => raw(&offer.product_variant),
        "shipping_profile" => raw(&offer.shipping_profile),
        "prices" => raw(&offer.prices),
        "inventory_items" => raw(&offer.inventory_items),
        "created_at" => raw(&offer.created_at),
        "updated_at" => raw(&offer.updated_at),
        _ => raw(&Value::Null),
    }
}

/// An offer reduced to its selected fields, serialized in field order.
struct Projected(Vec<(&'static str, Box<RawValue>)>);

impl Serialize for Projected {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::Value;

    use super::*;
    use crate::pricing;
    use crate::sim::catalog::{DEMO_SEED, PRODUCT_COUNT};
    use crate::sim::{serve, RunningSim};
    use crate::upstream::medusa::id::canonical;

    fn generate(seed: u64) -> SimData {
        SimData::generate(&Catalog::generate(seed))
    }

    async fn start() -> (Arc<SimData>, RunningSim) {
        let data = Arc::new(generate(DEMO_SEED));
        let sim = serve(router(data.clone())).await.expect("simulator binds");
        (data, sim)
    }

    async fn login(sim: &RunningSim, body: Value) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(sim.base_url.join("/auth/user/emailpass").expect("url"))
            .json(&body)
            .send()
            .await
            .expect("login answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    async fn token(sim: &RunningSim) -> String {
        let (status, body) =
            login(sim, json!({"email": DEMO_EMAIL, "password": DEMO_PASSWORD})).await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().expect("a token").to_owned()
    }

    async fn get_text(
        sim: &RunningSim,
        token: Option<&str>,
        path_and_query: &str,
    ) -> (u16, String) {
        let url = format!(
            "{}{}",
            sim.base_url.as_str().trim_end_matches('/'),
            path_and_query
        );
        let mut request = reqwest::Client::new().get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("simulator answers");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a body"))
    }

    async fn get(sim: &RunningSim, token: Option<&str>, path_and_query: &str) -> (u16, Value) {
        let (status, text) = get_text(sim, token, path_and_query).await;
        (status, serde_json::from_str(&text).expect("JSON body"))
    }

    fn keys(value: &Value) -> Vec<&str> {
        let mut keys: Vec<&str> = value
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys
    }

    fn sorted<'a>(names: &[&'a str]) -> Vec<&'a str> {
        let mut names = names.to_vec();
        names.sort_unstable();
        names
    }

    #[test]
    fn same_seed_gives_the_same_data() {
        let a = generate(7);
        let b = generate(7);
        assert_eq!(a.offers, b.offers);
        assert_eq!(a.sellers, b.sellers);
        assert_eq!(a.users, b.users);
        assert_ne!(a.offers, generate(8).offers);
    }

    #[test]
    fn every_product_is_offered_by_one_or_two_distinct_sellers() {
        let data = generate(DEMO_SEED);
        let mut sellers_by_product: HashMap<&str, Vec<&str>> = HashMap::new();
        for offer in &data.offers {
            sellers_by_product
                .entry(offer.product_id.as_deref().expect("product id"))
                .or_default()
                .push(offer.seller_id.as_deref().expect("seller id"));
        }
        assert_eq!(sellers_by_product.len(), PRODUCT_COUNT);
        assert!(sellers_by_product.values().any(|s| s.len() == 1));
        assert!(sellers_by_product.values().any(|s| s.len() == 2));
        for sellers in sellers_by_product.values() {
            assert!((1..=2).contains(&sellers.len()));
            assert_eq!(sellers.iter().collect::<HashSet<_>>().len(), sellers.len());
        }
        let used: HashSet<&str> = data
            .offers
            .iter()
            .filter_map(|o| o.seller_id.as_deref())
            .collect();
        assert_eq!(used.len(), SELLERS.len());
        assert_eq!(data.sellers.len(), 8);
    }

    #[test]
    fn ids_are_prefixed_ulids_and_follow_creation_order() {
        let data = generate(DEMO_SEED);
        for offer in &data.offers {
            assert_eq!(
                canonical("offer_", &offer.id).as_deref(),
                Ok(offer.id.as_str())
            );
            for (prefix, id) in [
                ("sel_", offer.seller_id.as_deref()),
                ("variant_", offer.variant_id.as_deref()),
                ("prod_", offer.product_id.as_deref()),
                ("sp_", offer.shipping_profile_id.as_deref()),
                ("user_", offer.created_by.as_deref()),
            ] {
                let id = id.expect("every generated offer has its ids");
                assert_eq!(canonical(prefix, id).as_deref(), Ok(id));
            }
            for price in &offer.prices {
                assert!(canonical("price_", &price.id).is_ok(), "{}", price.id);
            }
            for item in &offer.inventory_items {
                assert!(canonical("iitem_", &item.id).is_ok(), "{}", item.id);
                assert!(item.required_quantity.is_some_and(|q| q >= 1));
            }
            let (created, updated) = (offer.created_at.as_deref(), offer.updated_at.as_deref());
            assert!(
                created.is_some_and(|c| c.len() == 24 && c.ends_with('Z')),
                "{created:?}"
            );
            assert!(created <= updated);
        }
        assert!(data
            .offers
            .windows(2)
            .all(|w| w[0].id < w[1].id && w[0].created_at < w[1].created_at));
        assert_eq!(
            data.offers[0].created_at.as_deref().map(|c| &c[..4]),
            Some("2025")
        );
    }

    #[test]
    fn iso_timestamps_match_known_dates() {
        assert_eq!(iso_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_millis(SIM_EPOCH_MS), "2025-01-01T09:00:00.000Z");
        assert_eq!(iso_millis(951_782_400_123), "2000-02-29T00:00:00.123Z");
    }

    #[test]
    fn generated_prices_cover_every_edge_case() {
        for seed in [DEMO_SEED, 7, 8] {
            let data = generate(seed);
            let has = |what: &str, pred: &dyn Fn(&wire::Offer) -> bool| {
                assert!(
                    data.offers.iter().any(pred),
                    "seed {seed}: no offer with {what}"
                );
            };
            let decimals = |p: &wire::Price| {
                p.amount
                    .as_str()
                    .split_once('.')
                    .map_or(0, |(_, f)| f.len())
            };
            let rule_free = |p: &wire::Price| p.price_rules == Some(json!([]));
            has("no price", &|o| o.prices.is_empty());
            has("a zero price", &|o| {
                o.prices.iter().any(|p| p.amount.as_str() == "0")
            });
            has("JPY prices", &|o| {
                o.prices.iter().any(|p| p.currency_code == "jpy")
            });
            has("KWD with 3 decimals", &|o| {
                o.prices
                    .iter()
                    .any(|p| p.currency_code == "kwd" && decimals(p) == 3)
            });
            has("a fractional amount like 20.5", &|o| {
                o.prices
                    .iter()
                    .any(|p| p.currency_code == "usd" && decimals(p) == 1)
            });
            has("three quantity tiers", &|o| {
                let bounds: Vec<_> = o
                    .prices
                    .iter()
                    .map(|p| (p.min_quantity, p.max_quantity))
                    .collect();
                bounds.starts_with(&[(Some(1), Some(9)), (Some(10), Some(49)), (Some(50), None)])
            });
            has("two quantity tiers", &|o| {
                let bounds: Vec<_> = o
                    .prices
                    .iter()
                    .map(|p| (p.min_quantity, p.max_quantity))
                    .collect();
                bounds == [(Some(1), Some(9)), (Some(10), None)]
            });
            has("usd and eur prices", &|o| {
                let codes: HashSet<_> = o.prices.iter().map(|p| p.currency_code.as_str()).collect();
                codes.contains("usd") && codes.contains("eur")
            });
            has("a customer-group rule beside a rule-free tier", &|o| {
                o.prices.iter().any(|p| !rule_free(p)) && o.prices.iter().any(rule_free)
            });
            has("a bulk-only tier", &|o| {
                !o.prices.is_empty() && o.prices.iter().all(|p| p.min_quantity == Some(10))
            });
            has("one unbounded tier", &|o| {
                o.prices.len() == 1
                    && o.prices[0].min_quantity.is_none()
                    && o.prices[0].max_quantity.is_none()
            });
            for offer in &data.offers {
                for price in &offer.prices {
                    let money = pricing::from_medusa(&price.amount, &price.currency_code)
                        .expect("generated prices are valid");
                    assert_eq!(price.currency_code, price.currency_code.to_lowercase());
                    if price.currency_code == "jpy" {
                        assert_eq!(decimals(price), 0, "{}", price.amount.as_str());
                    }
                    assert!(!money.amount().is_sign_negative());
                }
            }
        }
    }

    #[test]
    fn generated_offers_have_barcodes_skus_and_metadata_variety() {
        let data = generate(DEMO_SEED);
        let offers = &data.offers;
        assert!(offers.iter().any(|o| o.metadata.is_none()));
        assert!(offers
            .iter()
            .any(|o| o.metadata.as_ref().is_some_and(Value::is_object)));
        assert!(offers.iter().any(|o| o.sku.as_deref() == Some("")));
        assert!(offers
            .iter()
            .any(|o| o.sku.as_deref().is_some_and(|s| !s.is_empty())));
        assert!(offers
            .iter()
            .any(|o| o.ean.as_ref().is_some_and(|e| e.len() == 13) && o.upc.is_none()));
        assert!(offers
            .iter()
            .any(|o| o.upc.as_ref().is_some_and(|u| u.len() == 12) && o.ean.is_none()));
        assert!(offers.iter().any(|o| o.ean.is_none() && o.upc.is_none()));
        assert!(offers.iter().any(|o| o.inventory_items.len() == 2));
        assert!(offers.iter().any(|o| o.variant_count == Some(1)));
        assert!(offers.iter().any(|o| o.variant_count == Some(4)));
        for offer in offers {
            let variant = offer.product_variant.as_ref().expect("variant");
            assert_eq!(offer.variant_id.as_ref(), Some(&variant.id));
            assert_eq!(
                offer.seller_id.as_ref(),
                offer.seller.as_ref().map(|s| &s.id)
            );
        }
    }

    #[tokio::test]
    async fn retrieve_answers_the_seed_shape_in_field_order() {
        let (data, sim) = start().await;
        let token = token(&sim).await;
        let offer = &data.offers[17];
        let (status, text) =
            get_text(&sim, Some(&token), &format!("/admin/offers/{}", offer.id)).await;
        assert_eq!(status, 200, "{text}");
        assert!(
            text.starts_with(&format!(r#"{{"offer":{{"id":"{}","seller_id":"#, offer.id)),
            "{text}"
        );
        let answer: wire::OfferResponse = serde_json::from_str(&text).expect("wire shape");
        assert_eq!(&answer.offer, offer);
        let value: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(keys(&value["offer"]), sorted(OFFER_FIELDS));
        assert_eq!(keys(&value["offer"]["seller"]), ["handle", "id", "name"]);
        assert_eq!(sim.control.count("GET /admin/offers/{id}"), 1);
    }

    #[tokio::test]
    async fn unknown_offer_is_a_medusa_not_found() {
        let (_data, sim) = start().await;
        let token = token(&sim).await;
        let id = "offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y";
        let (status, body) = get(&sim, Some(&token), &format!("/admin/offers/{id}")).await;
        assert_eq!(status, 404);
        assert_eq!(
            body,
            json!({"type": "not_found", "message": format!("Offer with id: {id} was not found")})
        );
    }

    #[tokio::test]
    async fn admin_routes_need_an_issued_token() {
        let (data, sim) = start().await;
        let path = format!("/admin/offers/{}", data.offers[0].id);
        let unauthorized = json!({"message": "Unauthorized"});
        assert_eq!(get(&sim, None, &path).await, (401, unauthorized.clone()));
        assert_eq!(
            get(&sim, Some("not-a-token"), &path).await,
            (401, unauthorized.clone())
        );
        assert_eq!(
            get(&sim, None, "/admin/offers").await,
            (401, unauthorized.clone())
        );
        let session = token(&sim).await;
        assert_eq!(get(&sim, Some(&session), &path).await.0, 200);
        assert_eq!(get(&sim, Some(STATIC_ADMIN_TOKEN), &path).await.0, 200);
        assert_eq!(data.session_count(), 1);
        data.revoke_tokens();
        assert_eq!(data.session_count(), 0);
        assert_eq!(get(&sim, Some(&session), &path).await, (401, unauthorized));
        assert_eq!(get(&sim, Some(STATIC_ADMIN_TOKEN), &path).await.0, 200);
    }

    #[tokio::test]
    async fn login_issues_jwt_shaped_tokens_and_refuses_wrong_passwords() {
        let (data, sim) = start().await;
        let (status, body) = login(&sim, json!({"email": DEMO_EMAIL, "password": "wrong"})).await;
        assert_eq!(
            (status, body),
            (
                401,
                json!({"type": "unauthorized", "message": "Invalid email or password"})
            )
        );
        let (status, body) = login(&sim, json!({"email": DEMO_EMAIL})).await;
        assert_eq!((status, &body["type"]), (400, &json!("invalid_data")));
        let first = token(&sim).await;
        let second = token(&sim).await;
        assert_ne!(first, second);
        let parts: Vec<&str> = first.split('.').collect();
        assert_eq!(parts.len(), 3);
        let part = |i: usize| -> Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[i]).expect("base64url"))
                .expect("JSON")
        };
        assert_eq!(part(0), json!({"alg": "HS256", "typ": "JWT"}));
        assert_eq!(part(1)["actor_id"], json!(data.users[0].id));
        assert_eq!(part(1)["actor_type"], json!("user"));
        let (status, body) = login(
            &sim,
            json!({"email": OTHER_EMAIL, "password": OTHER_PASSWORD}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(data.session_count(), 3);
        // The static token is JWT-shaped too.
        assert_eq!(STATIC_ADMIN_TOKEN.split('.').count(), 3);
    }

    #[tokio::test]
    async fn list_filters_combine_with_and_and_count_before_paging() {
        let (data, sim) = start().await;
        let token = token(&sim).await;
        let o = &data.offers;
        let query = format!(
            "/admin/offers?id[]={}&id[]={}&id={}&id%5B0%5D={}&id[]=offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y&limit=2",
            o[5].id, o[3].id, o[9].id, o[3].id
        );
        let (status, body) = get(&sim, Some(&token), &query).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["count"], json!(3));
        assert_eq!(
            (body["offset"].clone(), body["limit"].clone()),
            (json!(0), json!(2))
        );
        let ids: Vec<&str> = body["offers"]
            .as_array()
            .expect("offers")
            .iter()
            .map(|x| x["id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids, [o[3].id.as_str(), o[5].id.as_str()]);

        let seller = o[5].seller_id.as_deref().expect("seller");
        let query = format!(
            "/admin/offers?id[]={}&id[]={}&id[]={}&seller_id={seller}",
            o[3].id, o[5].id, o[9].id
        );
        let (_, body) = get(&sim, Some(&token), &query).await;
        let expected: Vec<&str> = [&o[3], &o[5], &o[9]]
            .iter()
            .filter(|x| x.seller_id.as_deref() == Some(seller))
            .map(|x| x.id.as_str())
            .collect();
        let ids: Vec<&str> = body["offers"]
            .as_array()
            .expect("offers")
            .iter()
            .map(|x| x["id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids, expected);
        assert_eq!(body["count"], json!(expected.len()));

        let (_, body) = get(
            &sim,
            Some(&token),
            &format!("/admin/offers?seller_id={seller}&limit=0"),
        )
        .await;
        let by_seller = o
            .iter()
            .filter(|x| x.seller_id.as_deref() == Some(seller))
            .count();
        assert_eq!(
            (body["count"].clone(), body["offers"].clone()),
            (json!(by_seller), json!([]))
        );

        let with_ean = o.iter().find(|x| x.ean.is_some()).expect("an EAN");
        let ean = with_ean.ean.as_deref().expect("ean");
        let (_, body) = get(&sim, Some(&token), &format!("/admin/offers?ean={ean}")).await;
        let matching = o.iter().filter(|x| x.ean.as_deref() == Some(ean)).count();
        assert_eq!(body["count"], json!(matching));
        let sku = o
            .iter()
            .find_map(|x| x.sku.as_deref().filter(|s| !s.is_empty()))
            .expect("a SKU");
        let (_, body) = get(
            &sim,
            Some(&token),
            &format!("/admin/offers?sku={sku}&upc=nope"),
        )
        .await;
        assert_eq!(body["count"], json!(0));

        let (_, body) = get(&sim, Some(&token), "/admin/offers").await;
        assert_eq!(body["limit"], json!(DEFAULT_LIMIT));
        assert_eq!(body["count"], json!(o.len()));
        assert_eq!(
            body["offers"].as_array().map(Vec::len),
            Some(DEFAULT_LIMIT as usize)
        );
    }

    #[tokio::test]
    async fn list_orders_by_id_and_created_at_both_ways() {
        let (data, sim) = start().await;
        let token = token(&sim).await;
        let first_id = |body: &Value| body["offers"][0]["id"].as_str().map(str::to_owned);
        let last = data.offers.last().map(|o| o.id.clone());
        let first = data.offers.first().map(|o| o.id.clone());
        for (order, expected) in [
            ("id", &first),
            ("-id", &last),
            ("created_at", &first),
            ("-created_at", &last),
        ] {
            let (status, body) = get(
                &sim,
                Some(&token),
                &format!("/admin/offers?order={order}&limit=1"),
            )
            .await;
            assert_eq!(status, 200);
            assert_eq!(&first_id(&body), expected, "{order}");
        }
        let (_, body) = get(
            &sim,
            Some(&token),
            "/admin/offers?order=-updated_at&limit=2",
        )
        .await;
        let updated: Vec<&str> = body["offers"]
            .as_array()
            .expect("offers")
            .iter()
            .map(|o| o["updated_at"].as_str().expect("ts"))
            .collect();
        assert!(updated[0] >= updated[1]);
    }

    #[tokio::test]
    async fn list_rejects_invalid_paging_and_order() {
        let (_data, sim) = start().await;
        let token = token(&sim).await;
        for query in [
            "limit=abc",
            "limit=-1",
            "offset=x",
            "offset=-5",
            "limit=1.5",
            "order=price",
            "order=-nope",
        ] {
            let (status, body) = get(&sim, Some(&token), &format!("/admin/offers?{query}")).await;
            assert_eq!(status, 400, "{query}");
            assert_eq!(body["type"], json!("invalid_data"), "{query}");
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }

    #[tokio::test]
    async fn fields_replace_add_remove_and_expand_like_medusa() {
        let (data, sim) = start().await;
        let token = token(&sim).await;
        let offer = data
            .offers
            .iter()
            .find(|o| o.prices.len() > 1 && o.metadata.is_some())
            .expect("an offer with several prices");
        let fetch = |fields: &str| {
            let path = format!("/admin/offers/{}?fields={fields}", offer.id);
            let token = token.clone();
            let sim = &sim;
            async move { get(sim, Some(&token), &path).await }
        };
        let (_, full) = fetch("").await;
        assert_eq!(keys(&full["offer"]), sorted(OFFER_FIELDS));

        let (_, body) = fetch("sku").await;
        assert_eq!(keys(&body["offer"]), ["id", "sku"]);
        assert_eq!(body["offer"]["sku"], json!(offer.sku));

        let (_, body) = fetch("sku,*seller").await;
        assert_eq!(keys(&body["offer"]), ["id", "seller", "sku"]);
        assert_eq!(body["offer"]["seller"], full["offer"]["seller"]);

        let (_, body) = fetch("-prices,-inventory_items,-id").await;
        let mut expected: Vec<&str> = OFFER_FIELDS
            .iter()
            .copied()
            .filter(|f| !["prices", "inventory_items"].contains(f))
            .collect();
        expected.sort_unstable();
        assert_eq!(keys(&body["offer"]), expected);

        // `+` must be sent as %2B; an unencoded `+` decodes to a space, which Medusa reads as `+` too.
        assert_eq!(fetch("%2Bsku,*prices").await.1, full);
        assert_eq!(fetch("+sku").await.1, full);
        let (_, body) = fetch("id,%2Bupc").await;
        assert_eq!(keys(&body["offer"]), ["id", "upc"]);

        let (_, body) = fetch("seller.name").await;
        assert_eq!(keys(&body["offer"]), ["id", "seller"]);
        assert_eq!(keys(&body["offer"]["seller"]), ["id", "name"]);

        let (_, body) = fetch("prices.amount,prices.currency_code,metadata").await;
        assert_eq!(keys(&body["offer"]), ["id", "metadata", "prices"]);
        for price in body["offer"]["prices"].as_array().expect("prices") {
            assert_eq!(keys(price), ["amount", "currency_code", "id"]);
        }
        let (_, body) = fetch("product_variant.*").await;
        assert_eq!(
            body["offer"]["product_variant"],
            full["offer"]["product_variant"]
        );

        for bad in [
            "foo",
            "*sku",
            "*nope",
            "-seller.name",
            "seller.nope",
            "%2Bfoo",
            "-bar",
        ] {
            let (status, body) = fetch(bad).await;
            assert_eq!(status, 400, "{bad}");
            assert_eq!(body["type"], json!("invalid_data"), "{bad}");
            assert!(
                body["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("Requested fields [")),
                "{body}"
            );
        }

        let (_, body) = get(&sim, Some(&token), "/admin/offers?fields=id&limit=3").await;
        for listed in body["offers"].as_array().expect("offers") {
            assert_eq!(keys(listed), ["id"]);
        }
    }

    #[tokio::test]
    async fn injected_failures_answer_medusa_error_bodies() {
        let (data, sim) = start().await;
        let token = token(&sim).await;
        data.fail_next(2, ErrorType::UnknownError);
        let unknown = json!({"code": "unknown_error", "type": "unknown_error", "message": "An unknown error occurred."});
        assert_eq!(
            get(&sim, Some(&token), "/admin/offers").await,
            (500, unknown.clone())
        );
        assert_eq!(
            get(&sim, Some(&token), "/admin/offers").await,
            (500, unknown)
        );
        assert_eq!(get(&sim, Some(&token), "/admin/offers").await.0, 200);
        data.fail_next(1, ErrorType::Forbidden);
        let (status, body) = get(&sim, Some(&token), "/admin/offers").await;
        assert_eq!((status, &body["type"]), (403, &json!("forbidden")));
        // Unauthenticated requests do not use up an injected failure.
        data.fail_next(1, ErrorType::Conflict);
        assert_eq!(get(&sim, None, "/admin/offers").await.0, 401);
        assert_eq!(get(&sim, Some(&token), "/admin/offers").await.0, 409);
    }
}
