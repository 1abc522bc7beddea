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
        let ulid = new_id;
        let setup_ms = SIM_EPOCH_MS - 60 * DAY_MS;
        let users = vec![
            SimUser {
                id: ulid(&mut rng, "user_", setup_ms),
                email: DEMO_EMAIL.to_owned(),
                password: DEMO_PASSWORD.to_owned(),
            },
            SimUser {
                id: ulid(&mut rng, "user_", setup_ms + 1),
                email: OTHER_EMAIL.to_owned(),
                password: OTHER_PASSWORD.to_owned(),
            },
        ];
        let sellers: Vec<wire::Seller> = SELLERS
            .iter()
            .enumerate()
            .map(|(i, (name, handle, _))| wire::Seller {
                id: ulid(&mut rng, "sel_", setup_ms + DAY_MS * (1 + i as u64)),
                name: Some((*name).to_owned()),
                handle: Some((*handle).to_owned()),
            })
            .collect();
        // The member of each seller who creates most of its offers.
        let seller_members: Vec<String> = (0..sellers.len())
            .map(|i| ulid(&mut rng, "user_", setup_ms + DAY_MS * (1 + i as u64) + 1))
            .collect();
        let shipping_profiles: Vec<wire::ShippingProfile> = SHIPPING_PROFILES
            .iter()
            .enumerate()
            .map(|(i, name)| wire::ShippingProfile {
                id: ulid(&mut rng, "sp_", setup_ms + i as u64),
                name: Some((*name).to_owned()),
            })
            .collect();
        let customer_groups: Vec<String> = (0..CUSTOMER_GROUPS)
            .map(|i| ulid(&mut rng, "cusgroup_", setup_ms + i as u64))
            .collect();

        let mut offers = Vec::new();
        let mut clock = SIM_EPOCH_MS;
        for product in &catalog.products {
            let product_ms = SIM_EPOCH_MS - 30 * DAY_MS + product.index as u64 * 60_000;
            let product_id = ulid(&mut rng, "prod_", product_ms);
            let titles = variant_titles(product, 1 + rng.usize(..4));
            let variants: Vec<wire::ProductVariant> = titles
                .iter()
                .map(|title| wire::ProductVariant {
                    id: ulid(&mut rng, "variant_", product_ms),
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
                let offer_id = ulid(&mut rng, "offer_", created_ms);
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
                        let id = ulid(rng, "iitem_", created_ms);
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

/// Checks the bearer token of an `/admin` request, then any injected failure.
fn authorize(data: &SimData, headers: &HeaderMap) -> Result<(), Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match token {
        Some(token) if data.token_is_valid(token) => {}
        _ => return Err(unauthorized()),
    }
    match data.take_failure() {
        Some(kind) => Err(error(kind, format!("Simulated {} failure", kind.as_str()))),
        None => Ok(()),
    }
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
    if let Err(denied) = authorize(&data, &headers) {
        return denied;
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
        Ok(offer) => Json(wire::OfferResponse { offer }).into_response(),
        Err(err) => error(ErrorType::UnknownError, err.to_string()),
    }
}

async fn list_offers(
    State(data): State<Arc<SimData>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(denied) = authorize(&data, &headers) {
        return denied;
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
        Ok(offers) => Json(wire::OfferListResponse {
            offers,
            count,
            offset: list.offset,
            limit: list.limit,
        })
        .into_response(),
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
