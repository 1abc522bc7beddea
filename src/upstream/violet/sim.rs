//! A faithful simulator of the Violet catalog API.
//!
//! Every product of the shared [`Catalog`] becomes one offer of one of six
//! merchants (USD, EUR, GBP, JPY, KWD and CAD), with 1–4 SKUs carrying the
//! product's barcode, variants, albums, collections, tags, metadata and
//! external data, and every documented enum value somewhere. The data is
//! stored as the [`wire`] types the connector reads.
//!
//! Endpoints (all under `/v1`, all answering JSON):
//! - `POST /login` (app headers + `{username, password}`) -> the user with
//!   `token` (valid 24 h) and `refresh_token` (never expires);
//! - `GET /auth/token` with `X-Violet-Token: <refresh_token>` -> `{token}`;
//! - `GET /catalog/offers/{offer_id}?include=&base_currency=&exchange_rate=`;
//! - `POST /catalog/offers/search?page=&size=` with a [`wire::SearchRequest`];
//! - `GET /catalog/offers/merchants/{merchant_id}?page=&size=`;
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
//! `presented_currency` and `currency_symbol` follow. Unlike the documented
//! default of `USD`, prices stay in the merchant's currency when
//! `base_currency` is absent, so JPY and KWD offers show up as such.
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

mod drift;

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value};

use super::wire::{self, ProductType, PublishingStatus, Source, Status, SubscriptionStatus};
use crate::pricing::{Currency, JsonNumber};
use crate::secret::Secret;
use crate::sim::catalog::{with_check_digit, Catalog, Product};
use crate::sim::drift::Drift;
use crate::upstream::Credentials;

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
    Credentials::Violet {
        app_id: DEMO_APP_ID,
        app_secret: Secret::new(DEMO_APP_SECRET),
        username: DEMO_USERNAME.to_owned(),
        password: Secret::new(DEMO_PASSWORD),
    }
}

/// A second valid app, connected to the first three merchants only.
pub fn other_credentials() -> Credentials {
    Credentials::Violet {
        app_id: OTHER_APP_ID,
        app_secret: Secret::new(OTHER_APP_SECRET),
        username: OTHER_USERNAME.to_owned(),
        password: Secret::new(OTHER_PASSWORD),
    }
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
/// token store.
#[derive(Debug)]
pub struct SimData {
    /// The catalog seed the data was made from.
    pub seed: u64,
    /// The merchants.
    pub merchants: Vec<Merchant>,
    /// All offers, by ascending id, with metadata and collections, without
    /// `default_image_url` (the listings add it).
    pub offers: Vec<wire::Offer>,
    /// Registered apps.
    pub apps: Vec<App>,
    /// Units of each currency per US dollar.
    pub rates: BTreeMap<&'static str, Decimal>,
    /// What drift mode changes as offers are served (empty without it).
    pub drift: Drift,
    index: HashMap<i64, usize>,
    tokens: Mutex<Tokens>,
}

impl SimData {
    /// Generates the simulator's data from the shared catalog.
    pub fn generate(catalog: &Catalog) -> Self {
        let rates: BTreeMap<&'static str, Decimal> = EXCHANGE_RATES
            .iter()
            .map(|(code, rate)| {
                (
                    *code,
                    Decimal::from_str_exact(rate).expect("rate table literals are decimals"),
                )
            })
            .collect();
        let merchants: Vec<Merchant> = MERCHANTS
            .iter()
            .map(|(id, name, currency, domain)| Merchant {
                id: *id,
                name: (*name).to_owned(),
                currency,
                domain: (*domain).to_owned(),
            })
            .collect();
        let collections: HashMap<i32, Vec<wire::Collection>> = merchants
            .iter()
            .map(|m| (m.id, merchant_collections(m)))
            .collect();

        let mut gen = Generator {
            rng: fastrand::Rng::with_seed(catalog.seed ^ 0x7669_6f6c_6574),
            next_variant_id: 6_000_000_000,
            next_value_id: 6_500_000_000,
            next_sku_id: 7_000_000_000,
            next_album_id: 8_000_000_000,
            next_media_id: 9_000_000_000,
            rates: &rates,
        };
        let offers: Vec<wire::Offer> = catalog
            .products
            .iter()
            .map(|product| {
                let merchant = &merchants[product.index % merchants.len()];
                gen.offer(product, merchant, &collections[&merchant.id])
            })
            .collect();
        let index = offers.iter().enumerate().map(|(i, o)| (o.id, i)).collect();
        let all_merchants: Vec<i32> = merchants.iter().map(|m| m.id).collect();
        let apps = vec![
            App {
                app_id: DEMO_APP_ID,
                app_secret: DEMO_APP_SECRET.to_owned(),
                username: DEMO_USERNAME.to_owned(),
                password: DEMO_PASSWORD.to_owned(),
                user_id: 20_001,
                merchant_ids: all_merchants.clone(),
            },
            App {
                app_id: OTHER_APP_ID,
                app_secret: OTHER_APP_SECRET.to_owned(),
                username: OTHER_USERNAME.to_owned(),
                password: OTHER_PASSWORD.to_owned(),
                user_id: 20_002,
                merchant_ids: all_merchants[..3].to_vec(),
            },
        ];
        SimData {
            seed: catalog.seed,
            merchants,
            offers,
            apps,
            rates,
            drift: Drift::default(),
            index,
            tokens: Mutex::new(Tokens::default()),
        }
    }

    /// The offer with this id, as stored (metadata and collections included).
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

// ---------------------------------------------------------------------------
// Data generation
// ---------------------------------------------------------------------------

const MERCHANTS: [(i32, &str, &str, &str); 6] = [
    (
        10_001,
        "Northwind Outfitters",
        "USD",
        "northwind-outfitters.example",
    ),
    (10_002, "Maison Lumière", "EUR", "maison-lumiere.example"),
    (10_003, "Thames & Co.", "GBP", "thames-and-co.example"),
    (10_004, "Sakura Goods", "JPY", "sakura-goods.example"),
    (
        10_005,
        "Gulf Trading Company",
        "KWD",
        "gulf-trading.example",
    ),
    (10_006, "Maple Supply", "CAD", "maple-supply.example"),
];

/// Order in which the first offers cover every status (AVAILABLE first).
const STATUS_COVERAGE: [Status; 6] = [
    Status::Available,
    Status::Unavailable,
    Status::DisabledUnavailable,
    Status::DisabledAvailable,
    Status::ForDeletion,
    Status::Archived,
];

const COMMISSION_RATES: [&str; 6] = ["5", "7.5", "10", "12.5", "15", "20"];

/// `2021-01-01T00:00:00Z` in seconds since the Unix epoch.
const DATES_START: i64 = 1_609_459_200;

fn currency_symbol(code: &str) -> &str {
    match code {
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        "CAD" => "CA$",
        "JPY" => "¥",
        "KWD" => "KD",
        "AUD" => "A$",
        "BHD" => "BD",
        "MXN" => "MX$",
        other => other,
    }
}

fn merchant_collections(m: &Merchant) -> Vec<wire::Collection> {
    let base = i64::from(m.id) * 1_000;
    let created = format_date(DATES_START + i64::from(m.id % 97) * 86_400);
    [
        ("New Arrivals", "new-arrivals", "ACTIVE", "CUSTOM", true),
        ("Best Sellers", "best-sellers", "ACTIVE", "AUTOMATED", false),
        ("Clearance", "clearance", "INACTIVE", "CUSTOM", true),
    ]
    .iter()
    .enumerate()
    .map(
        |(j, (name, handle, status, kind, has_media))| wire::Collection {
            id: Some(base + j as i64 + 1),
            external_id: Some(format!("{}", 400_000_000_000 + base + j as i64)),
            merchant_id: Some(m.id),
            name: Some((*name).to_owned()),
            handle: Some((*handle).to_owned()),
            description: Some(format!("{name} at {}", m.name)),
            status: Some((*status).to_owned()),
            collection_type: Some((*kind).to_owned()),
            media: has_media.then(|| wire::CollectionMedia {
                source_url: Some(format!("https://{}/collections/{handle}.jpg", m.domain)),
                alt: Some(format!("{name} banner")),
                height: Some(600),
                width: Some(1_600),
                date_created: Some(created.clone()),
            }),
            date_created: Some(created.clone()),
            date_last_modified: Some(created.clone()),
        },
    )
    .collect()
}

struct Generator<'a> {
    rng: fastrand::Rng,
    next_variant_id: i64,
    next_value_id: i64,
    next_sku_id: i64,
    next_album_id: i64,
    next_media_id: i64,
    rates: &'a BTreeMap<&'static str, Decimal>,
}

fn next(counter: &mut i64) -> i64 {
    *counter += 1;
    *counter
}

impl Generator<'_> {
    fn offer(
        &mut self,
        product: &Product,
        merchant: &Merchant,
        collections: &[wire::Collection],
    ) -> wire::Offer {
        let i = product.index;
        let rng = &mut self.rng;
        let offer_id = 3_000_000_000 + (i as i64) * 10 + rng.i64(0..10);
        let handle = handle(&product.name);

        let status = match i {
            0..=5 => Some(STATUS_COVERAGE[i].clone()),
            6 => None,
            _ => match rng.u32(0..1000) {
                0..=819 => Some(Status::Available),
                820..=899 => Some(Status::Unavailable),
                900..=924 => Some(Status::DisabledAvailable),
                925..=949 => Some(Status::DisabledUnavailable),
                950..=969 => Some(Status::ForDeletion),
                970..=989 => Some(Status::Archived),
                _ => None,
            },
        };
        let source = if i < Source::ALL.len() {
            Source::ALL[i].clone()
        } else {
            match rng.u32(0..100) {
                0..=39 => Source::Shopify,
                40..=54 => Source::Bigcommerce,
                55..=64 => Source::Woocommerce,
                65..=69 => Source::Magento,
                _ => Source::ALL[rng.usize(..Source::ALL.len())].clone(),
            }
        };
        let product_type = match i {
            0..=3 => Some(ProductType::ALL[i].clone()),
            7 => None,
            _ => Some(match rng.u32(0..100) {
                0..=89 => ProductType::Physical,
                90..=93 => ProductType::Digital,
                94..=96 => ProductType::Virtual,
                _ => ProductType::Bundled,
            }),
        };
        let publishing_status = match i {
            0..=1 => PublishingStatus::ALL[i].clone(),
            _ if rng.u32(0..100) < 85 => PublishingStatus::Published,
            _ => PublishingStatus::NotPublished,
        };
        let subscription_status = match i {
            2..=3 => SubscriptionStatus::ALL[i - 2].clone(),
            _ if rng.u32(0..100) < 70 => SubscriptionStatus::Subscribed,
            _ => SubscriptionStatus::NotSubscribed,
        };
        let (mut available, mut visible) = match &status {
            Some(Status::Available) | None => (true, true),
            Some(Status::Unavailable) => (false, true),
            Some(Status::DisabledAvailable) => (true, false),
            Some(
                Status::DisabledUnavailable
                | Status::ForDeletion
                | Status::Archived
                | Status::Unrecognized(_),
            ) => (false, false),
        };
        if i % 23 == 5 {
            visible = false;
        }
        if i % 29 == 8 {
            available = false;
        }

        // Prices in the merchant's currency, from the catalog's USD reference.
        let currency =
            Currency::parse(merchant.currency).expect("merchant currencies are ISO codes");
        let usd = Currency::parse("USD").expect("USD is an ISO code");
        let local_base = convert_minor(
            product.base_price_cents,
            usd,
            currency,
            self.rates[merchant.currency],
            Decimal::ONE,
        )
        .expect("catalog prices convert");
        let free = i % 100 == 37;
        let sku_count = match rng.u32(0..100) {
            0..=39 => 1,
            40..=64 => 2,
            65..=84 => 3,
            _ => 4,
        };
        let sale_prices: Vec<i64> = (0..sku_count)
            .map(|k| {
                if free {
                    0
                } else {
                    scale_minor(local_base, 100 + 6 * k as i64, 100)
                }
            })
            .collect();
        let min_price = *sale_prices.iter().min().expect("at least one SKU");
        let max_price = (i % 9 != 4).then(|| *sale_prices.iter().max().expect("at least one SKU"));

        let created = DATES_START + rng.i64(0..3 * 365 * 86_400);
        let modified = created + rng.i64(0..200 * 86_400);
        let consolidated = modified + rng.i64(-86_400..30 * 86_400);
        let sku_status_ok = available && matches!(status, Some(Status::Available) | None);

        // Variants: one for 2-3 SKUs, two (2 x 2) for 4 SKUs.
        let first_variant = match product.category {
            "Apparel" | "Sports" => ("Size", ["S", "M", "L"], false),
            "Grocery" => ("Weight", ["250 g", "500 g", "1 kg"], false),
            _ => ("Color", ["Black", "White", "Blue"], true),
        };
        let second_variant = if first_variant.0 == "Color" {
            ("Finish", ["Matte", "Gloss"], false)
        } else {
            ("Color", ["Black", "Blue"], true)
        };
        let sku_ids: Vec<i64> = (0..sku_count)
            .map(|_| next(&mut self.next_sku_id))
            .collect();
        let mut sku_values: Vec<Vec<wire::SkuVariantValue>> = vec![Vec::new(); sku_count];
        let mut variants = Vec::new();
        let mut make_variant = |gen: &mut Self,
                                order: i32,
                                name: &str,
                                visual: bool,
                                values: Vec<(&str, Vec<usize>)>| {
            let variant_id = next(&mut gen.next_variant_id);
            let values = values
                .into_iter()
                .enumerate()
                .map(|(j, (value, skus))| {
                    for &k in &skus {
                        sku_values[k].push(wire::SkuVariantValue {
                            variant: Some(name.to_owned()),
                            value: Some(value.to_owned()),
                        });
                    }
                    let value_id = next(&mut gen.next_value_id);
                    wire::VariantValue {
                        id: Some(value_id),
                        product_variant_value_id: Some(format!("pvv_{value_id}")),
                        external_id: Some(format!(
                            "{}",
                            500_000_000_000 + value_id % 1_000_000_000
                        )),
                        name: Some(value.to_owned()),
                        sku_ids: skus.iter().map(|&k| sku_ids[k]).collect(),
                        display_order: Some(j as i64),
                    }
                })
                .collect();
            variants.push(wire::Variant {
                id: Some(variant_id),
                product_variant_id: Some(format!("pv_{variant_id}")),
                external_id: Some(format!("{}", 300_000_000_000 + variant_id % 1_000_000_000)),
                name: Some(name.to_owned()),
                visual: Some(visual),
                values,
                display_order: Some(i64::from(order)),
            });
        };
        match sku_count {
            1 => {}
            2 | 3 => {
                let (name, values, visual) = first_variant;
                let values = (0..sku_count).map(|k| (values[k], vec![k])).collect();
                make_variant(self, 0, name, visual, values);
            }
            _ => {
                let (name, values, visual) = first_variant;
                make_variant(
                    self,
                    0,
                    name,
                    visual,
                    vec![(values[0], vec![0, 1]), (values[1], vec![2, 3])],
                );
                let (name, values, visual) = second_variant;
                make_variant(
                    self,
                    1,
                    name,
                    visual,
                    vec![(values[0], vec![0, 2]), (values[1], vec![1, 3])],
                );
            }
        }

        let (upc, ean) = match product.barcode.len() {
            12 => (
                Some(product.barcode.clone()),
                Some(format!("0{}", product.barcode)),
            ),
            13 => (None, Some(product.barcode.clone())),
            _ => (None, None),
        };
        let code: String = merchant
            .name
            .chars()
            .take(3)
            .collect::<String>()
            .to_ascii_uppercase();
        let rng = &mut self.rng;
        let asin = (source == Source::Amazon).then(|| {
            let chars: String = (0..8)
                .map(|_| char::from(b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"[rng.usize(..34)]))
                .collect();
            format!("B0{chars}")
        });
        let isbn = (product.category == "Office" && i % 5 == 0)
            .then(|| with_check_digit(&format!("978{:09}", rng.u32(0..1_000_000_000))));
        let offer_type = product_type.clone().unwrap_or(ProductType::Physical);

        let mut skus = Vec::with_capacity(sku_count);
        for (k, &sku_id) in sku_ids.iter().enumerate() {
            let sale = sale_prices[k];
            let retail = match self.rng.u32(0..4) {
                0 => None,
                1 => Some(sale),
                _ if free => Some(local_base),
                _ => Some(scale_minor(sale, 125, 100)),
            };
            let in_stock = sku_status_ok && self.rng.u32(0..10) != 0;
            let values = std::mem::take(&mut sku_values[k]);
            let name = if values.is_empty() {
                product.name.clone()
            } else {
                let labels: Vec<&str> = values.iter().filter_map(|v| v.value.as_deref()).collect();
                format!("{} - {}", product.name, labels.join(" / "))
            };
            let albums = if self.rng.u32(0..3) == 0 {
                Vec::new()
            } else {
                vec![self.album(sku_id, "SKU", &name, 1, &merchant.domain, &handle)]
            };
            let rng = &mut self.rng;
            let dims = |rng: &mut fastrand::Rng, kind: &str, extra: i64| wire::Dimensions {
                sku_id: Some(sku_id),
                weight: Some(JsonNumber::from_decimal(Decimal::new(
                    rng.i64(5..2_500) + extra,
                    2,
                ))),
                height: Some(JsonNumber::from_decimal(Decimal::new(
                    rng.i64(10..600) + extra,
                    1,
                ))),
                width: Some(JsonNumber::from_decimal(Decimal::new(
                    rng.i64(10..600) + extra,
                    1,
                ))),
                length: Some(JsonNumber::from_decimal(Decimal::new(
                    rng.i64(10..600) + extra,
                    1,
                ))),
                dimension_type: Some(kind.to_owned()),
            };
            skus.push(wire::Sku {
                id: Some(sku_id),
                offer_id: Some(offer_id),
                merchant_id: Some(merchant.id),
                external_id: Some(format!("{code}-{i:04}-{}", k + 1)),
                name: Some(name),
                asin: asin.clone(),
                gtin: Some(product.gtin.clone()),
                upc: upc.clone(),
                ean: ean.clone(),
                isbn: isbn.clone(),
                in_stock: Some(in_stock),
                quantity_available: Some(if in_stock { rng.i64(1..500) } else { 0 }),
                inventory_tracked: Some(rng.u32(0..10) != 0),
                sale_price: Some(sale),
                retail_price: retail,
                currency: Some(merchant.currency.to_owned()),
                presented_currency: Some(merchant.currency.to_owned()),
                taxable: Some(offer_type != ProductType::Digital),
                tax_type: Some("DEFAULT".to_owned()),
                albums,
                variant_values: values,
                product_type: Some(offer_type.clone()),
                status: Some(if in_stock {
                    Status::Available
                } else {
                    Status::Unavailable
                }),
                date_created: Some(format_date(created)),
                date_last_modified: Some(format_date(modified)),
                sku_dimensions: Some(dims(rng, "SKU", 0)),
                shipping_dimensions: (offer_type == ProductType::Physical)
                    .then(|| dims(rng, "SHIPPING", 20)),
                display_order: Some(k as i64),
            });
        }

        let media_count = 1 + self.rng.usize(0..3);
        let album = self.album(
            offer_id,
            "OFFER",
            &product.name,
            media_count,
            &merchant.domain,
            &handle,
        );
        let rng = &mut self.rng;

        let mut metadata = Vec::new();
        for (key, kind, external_type, source, value) in METADATA_TEMPLATES {
            if rng.u32(0..100) >= 35 {
                continue;
            }
            metadata.push(wire::Metadata {
                version: Some(1 + rng.i64(0..3)),
                value_type: Some(kind.to_owned()),
                external_type: external_type.map(str::to_owned),
                key: Some(key.to_owned()),
                value: Some(value(product)),
                external_id: (source == "EXTERNAL").then(|| {
                    format!(
                        "gid://shopify/Metafield/{}",
                        rng.u64(10_000_000..99_999_999)
                    )
                }),
                source: Some(source.to_owned()),
            });
        }
        let offer_collections: Vec<wire::Collection> = collections
            .iter()
            .filter(|_| rng.u32(0..100) < 30)
            .cloned()
            .collect();
        let mut tags = Vec::new();
        if i % 13 != 0 {
            tags.push(product.brand.to_ascii_lowercase());
            tags.push(product.category.to_ascii_lowercase());
            if skus.iter().any(|s| {
                s.retail_price
                    .is_some_and(|r| s.sale_price.is_some_and(|p| r > p))
            }) {
                tags.push("sale".to_owned());
            }
        }
        let external_id = format!("{}", 7_000_000_000_000u64 + rng.u64(0..1_000_000_000));
        let external_data = match i % 5 {
            0 => None,
            1 => Some(json!({})),
            _ => Some(json!({
                "id": external_id,
                "handle": handle,
                "platform": serde_json::to_value(&source).unwrap_or(Value::Null),
                "vendor": product.brand,
                "published_scope": "web",
                "variant_count": sku_count,
            })),
        };
        let three_d = i % 31 == 0;

        wire::Offer {
            id: offer_id,
            product_id: format!("{:024x}", product.uuid >> 32),
            external_id: Some(external_id),
            external_url: Some(if i % 17 == 3 {
                String::new()
            } else {
                format!("https://{}/products/{handle}", merchant.domain)
            }),
            name: product.name.clone(),
            description: (i % 19 != 2).then(|| {
                format!(
                    "{} by {}: {} essentials, sold by {}.",
                    product.name, product.brand, product.category, merchant.name
                )
            }),
            source,
            seller: Some(merchant.name.clone()),
            vendor: Some(product.brand.clone()),
            merchant_id: merchant.id,
            available,
            visible,
            min_price,
            max_price,
            currency: Some(merchant.currency.to_owned()),
            source_category_name: Some(product.category.to_owned()),
            metadata: Some(metadata),
            variants,
            skus,
            albums: vec![album],
            three_d_enabled: (i % 47 != 1).then_some(three_d),
            three_d_resource: three_d
                .then(|| format!("https://cdn.violet-sim.example/3d/{offer_id}.glb")),
            product_type,
            status,
            publishing_status: Some(publishing_status),
            date_created: Some(format_date(created)),
            date_last_modified: Some(format_date(modified)),
            date_last_consolidated: Some(format_date(consolidated)),
            commission_rate: Some(
                COMMISSION_RATES[rng.usize(..COMMISSION_RATES.len())]
                    .parse()
                    .expect("commission literals are JSON numbers"),
            ),
            currency_symbol: Some(currency_symbol(merchant.currency).to_owned()),
            presented_currency: Some(merchant.currency.to_owned()),
            default_image_url: None,
            subscription_status: Some(subscription_status),
            external_data,
            collections: Some(offer_collections),
            tags,
        }
    }

    fn album(
        &mut self,
        parent_id: i64,
        kind: &str,
        name: &str,
        media_count: usize,
        domain: &str,
        handle: &str,
    ) -> wire::Album {
        let album_id = next(&mut self.next_album_id);
        let media: Vec<wire::Media> = (0..media_count)
            .map(|j| {
                let media_id = next(&mut self.next_media_id);
                let video = j == 2 && self.rng.bool();
                wire::Media {
                    id: Some(media_id),
                    album_id: Some(album_id),
                    external_id: Some(format!("{}", 600_000_000_000 + media_id % 1_000_000_000)),
                    cloud_id: Some(format!("violet-sim/{album_id}/{media_id}")),
                    url: Some(format!(
                        "https://cdn.violet-sim.example/media/{media_id}.{}",
                        if video { "mp4" } else { "jpg" }
                    )),
                    source_url: Some(format!(
                        "https://{domain}/media/{handle}-{j}.{}",
                        if video { "mp4" } else { "jpg" }
                    )),
                    media_type: Some(if video { "VIDEO" } else { "IMAGE" }.to_owned()),
                    display_order: Some(j as i64),
                    primary: Some(j == 0),
                }
            })
            .collect();
        wire::Album {
            id: Some(album_id),
            parent_id: Some(parent_id),
            album_type: Some(kind.to_owned()),
            name: Some(name.to_owned()),
            primary_media: media.first().cloned(),
            media,
        }
    }
}

type MetadataValue = fn(&Product) -> Value;

const METADATA_TEMPLATES: [(&str, &str, Option<&str>, &str, MetadataValue); 4] = [
    (
        "material",
        "STRING",
        Some("single_line_text_field"),
        "EXTERNAL",
        |p| json!(format!("{} grade", p.category)),
    ),
    (
        "warranty_months",
        "INTEGER",
        Some("number_integer"),
        "EXTERNAL",
        |p| json!(12 * (1 + p.index % 3)),
    ),
    (
        "care",
        "JSON",
        None,
        "INTERNAL",
        |p| json!({"instructions": format!("Handle your {} with care", p.name), "languages": ["en", "fr"]}),
    ),
    ("gift_wrap", "BOOLEAN", None, "INTERNAL", |p| {
        json!(p.index % 2 == 0)
    }),
];

fn handle(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// `minor * numerator / denominator`, rounded half to even to a whole minor unit.
fn scale_minor(minor: i64, numerator: i64, denominator: i64) -> i64 {
    (Decimal::from(minor) * Decimal::from(numerator) / Decimal::from(denominator))
        .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven)
        .to_i64()
        .expect("scaled catalog prices fit i64")
}

/// Converts `minor` units of `from` into minor units of `to` at the rate
/// `numerator / denominator` (units of `to` per unit of `from`), rounding
/// half to even to `to`'s minor unit. `None` when a currency has no minor
/// unit, the rate is zero or the result does not fit.
pub fn convert_minor(
    minor: i64,
    from: Currency,
    to: Currency,
    numerator: Decimal,
    denominator: Decimal,
) -> Option<i64> {
    let major = Decimal::try_new(minor, from.exponent()?).ok()?;
    let converted = major.checked_mul(numerator)?.checked_div(denominator)?;
    let exponent = to.exponent()?;
    let rounded = converted.round_dp_with_strategy(exponent, RoundingStrategy::MidpointNearestEven);
    rounded
        .checked_mul(Decimal::from(10i64.checked_pow(exponent)?))?
        .to_i64()
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the Unix epoch.
fn format_date(epoch_seconds: i64) -> String {
    let days = epoch_seconds.div_euclid(86_400);
    let secs = epoch_seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (y, m, d).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

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

fn query_pairs(raw: Option<&str>) -> HashMap<String, String> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

/// What a caller asked to see of each offer.
struct View {
    metadata: bool,
    collections: bool,
    /// Target currency code and, when given, the explicit rate.
    convert: Option<(Currency, Option<Decimal>)>,
}

impl View {
    fn from_query(query: &HashMap<String, String>, data: &SimData) -> Result<View, ApiError> {
        let includes: Vec<String> = query
            .get("include")
            .map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default();
        let rate = match query.get("exchange_rate") {
            None => None,
            Some(text) => {
                let rate = Decimal::from_str(text.trim())
                    .or_else(|_| Decimal::from_scientific(text.trim()))
                    .map_err(|_| ApiError::bad_request("exchange_rate must be a number"))?;
                if rate <= Decimal::ZERO {
                    return Err(ApiError::bad_request("exchange_rate must be positive"));
                }
                Some(rate)
            }
        };
        let convert = match query
            .get("base_currency")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
        {
            None if rate.is_some() => {
                return Err(ApiError::bad_request("exchange_rate needs base_currency"));
            }
            None => None,
            Some(code) => {
                let currency = Currency::parse(code)
                    .ok()
                    .filter(|c| c.exponent().is_some())
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("Unknown base_currency {code:?}"))
                    })?;
                if rate.is_none() && !data.rates.contains_key(currency.code()) {
                    return Err(ApiError::bad_request(format!(
                        "No exchange rate for base_currency {}",
                        currency.code()
                    )));
                }
                Some((currency, rate))
            }
        };
        Ok(View {
            metadata: includes.iter().any(|i| i == "metadata"),
            collections: includes.iter().any(|i| i == "collections"),
            convert,
        })
    }

    /// The offer as this caller sees it.
    fn present(
        &self,
        data: &SimData,
        offer: &wire::Offer,
        listing: bool,
    ) -> Result<wire::Offer, ApiError> {
        let mut out = offer.clone();
        if !self.metadata {
            out.metadata = None;
        }
        if !self.collections {
            out.collections = None;
        }
        if listing {
            out.default_image_url = offer
                .albums
                .first()
                .and_then(|a| a.primary_media.as_ref())
                .and_then(|m| m.url.clone());
        }
        if let Some((target, rate)) = self.convert {
            let convert = |minor: i64, from: Option<&str>| -> Result<i64, ApiError> {
                let from_code = from.unwrap_or(target.code());
                let failed = || {
                    ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        500,
                        "Currency conversion failed",
                    )
                };
                let from = Currency::parse(from_code).map_err(|_| failed())?;
                if from == target {
                    return Ok(minor);
                }
                let (numerator, denominator) = match rate {
                    Some(rate) => (rate, Decimal::ONE),
                    None => data
                        .table_rate(from.code(), target.code())
                        .ok_or_else(failed)?,
                };
                convert_minor(minor, from, target, numerator, denominator).ok_or_else(failed)
            };
            let offer_currency = offer
                .skus
                .first()
                .and_then(|s| s.currency.as_deref())
                .or(offer.currency.as_deref());
            out.min_price = convert(offer.min_price, offer_currency)?;
            out.max_price = offer
                .max_price
                .map(|p| convert(p, offer_currency))
                .transpose()?;
            for sku in &mut out.skus {
                let from = sku.currency.clone().or_else(|| offer.currency.clone());
                sku.sale_price = sku
                    .sale_price
                    .map(|p| convert(p, from.as_deref()))
                    .transpose()?;
                sku.retail_price = sku
                    .retail_price
                    .map(|p| convert(p, from.as_deref()))
                    .transpose()?;
                sku.currency = Some(target.code().to_owned());
                sku.presented_currency = Some(target.code().to_owned());
            }
            out.currency = Some(target.code().to_owned());
            out.presented_currency = Some(target.code().to_owned());
            out.currency_symbol = Some(currency_symbol(target.code()).to_owned());
        }
        Ok(out)
    }
}

async fn login(
    State(data): State<Arc<SimData>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let app = app_from_headers(&data, &headers)?;
    let request: wire::LoginRequest = serde_json::from_slice(&body).map_err(|_| {
        ApiError::bad_request("Body must be {\"username\": ..., \"password\": ...}")
    })?;
    if request.username != app.username || request.password != app.password {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            20,
            "Invalid username or password",
        ));
    }
    let response = wire::LoginResponse {
        id: Some(app.user_id),
        email: Some(app.username.clone()),
        first_name: Some("Offer".to_owned()),
        last_name: Some("Gateway".to_owned()),
        user_type: Some("DEVELOPER".to_owned()),
        verified: Some(true),
        status: Some("ACTIVE".to_owned()),
        date_created: Some("2022-04-11T21:03:04+0000".to_owned()),
        date_last_modified: Some("2024-10-23T21:52:56+0000".to_owned()),
        roles: vec![wire::Role {
            name: "ROLE_DEVELOPER".to_owned(),
            permissions: vec![
                wire::Permission {
                    name: "MANAGE_APPS".to_owned(),
                    description: None,
                },
                wire::Permission {
                    name: "MANAGE_USER".to_owned(),
                    description: None,
                },
            ],
        }],
        tos_accepted: Some(true),
        payment_configured: Some(false),
        privacy_policy_accepted: Some(true),
        country_code: Some("US".to_owned()),
        merchant_ids: Vec::new(),
        token: data.issue_access_token(app),
        refresh_token: Some(data.issue_refresh_token(app)),
    };
    Ok(Json(response).into_response())
}

async fn refresh_token(
    State(data): State<Arc<SimData>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let app = app_from_headers(&data, &headers)?;
    let refresh = header(&headers, "x-violet-token")
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, 10, "Missing token"))?;
    let owner = data
        .tokens
        .lock()
        .expect("token lock poisoned")
        .refresh
        .get(refresh)
        .copied();
    match owner {
        Some(app_id) if app_id == app.app_id => Ok(Json(wire::RefreshResponse {
            token: data.issue_access_token(app),
        })
        .into_response()),
        Some(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            14,
            "Token was not issued to this app",
        )),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            21,
            "Invalid refresh token",
        )),
    }
}

async fn get_offer(
    State(data): State<Arc<SimData>>,
    Path(offer_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let app = authenticate(&data, &headers)?;
    let id: i64 = offer_id
        .parse()
        .map_err(|_| ApiError::bad_request("offer_id must be an integer"))?;
    let view = View::from_query(&query_pairs(query.as_deref()), &data)?;
    let offer = data
        .offer(id)
        .filter(|o| app.merchant_ids.contains(&o.merchant_id))
        .ok_or_else(|| ApiError::not_found(format!("Offer {id} not found")))?;
    Ok(data.drift.respond(&view.present(&data, offer, false)?, ""))
}

/// Reads `page` (1-based) and `size`.
fn paging(query: &HashMap<String, String>) -> Result<(u32, u32), ApiError> {
    let page = match query.get("page") {
        None => 1,
        Some(text) => text
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| ApiError::bad_request("page must be an integer >= 1"))?
            as u32,
    };
    let size = match query.get("size") {
        None => DEFAULT_PAGE_SIZE,
        Some(text) => text
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|s| (1..=MAX_PAGE_SIZE as i32).contains(s))
            .ok_or_else(|| {
                ApiError::bad_request(format!("size must be an integer from 1 to {MAX_PAGE_SIZE}"))
            })? as u32,
    };
    Ok((page, size))
}

fn page_of(
    data: &SimData,
    view: &View,
    matches: &[&wire::Offer],
    page: u32,
    size: u32,
    sorted: bool,
) -> Result<wire::Page<wire::Offer>, ApiError> {
    let total = matches.len() as u64;
    let offset = u64::from(page - 1) * u64::from(size);
    let content = matches
        .iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(size as usize)
        .map(|o| view.present(data, o, true))
        .collect::<Result<Vec<_>, _>>()?;
    let total_pages = total.div_ceil(u64::from(size));
    let sort = wire::PageSort {
        unsorted: !sorted,
        sorted,
        empty: !sorted,
    };
    Ok(wire::Page {
        number_of_elements: content.len() as u32,
        empty: content.is_empty(),
        content,
        pageable: Some(wire::Pageable {
            sort: Some(sort.clone()),
            page_number: page - 1,
            page_size: size,
            offset,
            paged: true,
            unpaged: false,
        }),
        total_elements: total,
        total_pages,
        last: u64::from(page) >= total_pages,
        sort: Some(sort),
        first: page == 1,
        size,
        number: page - 1,
    })
}

fn matches_filter(filter: &wire::SearchRequest, o: &wire::Offer) -> bool {
    filter.id.is_none_or(|id| o.id == id)
        && filter.merchant_id.is_none_or(|m| o.merchant_id == m)
        && filter
            .merchant_ids
            .as_ref()
            .is_none_or(|ms| ms.contains(&o.merchant_id))
        && filter
            .product_id
            .as_ref()
            .is_none_or(|p| &o.product_id == p)
        && filter
            .external_id
            .as_ref()
            .is_none_or(|e| o.external_id.as_ref() == Some(e))
        && filter.available.is_none_or(|a| o.available == a)
        && filter.visible.is_none_or(|v| o.visible == v)
        && filter
            .status
            .as_ref()
            .is_none_or(|s| o.status.as_ref() == Some(s))
        && filter
            .publishing_status
            .as_ref()
            .is_none_or(|s| o.publishing_status.as_ref() == Some(s))
        && filter
            .subscription_status
            .as_ref()
            .is_none_or(|s| o.subscription_status.as_ref() == Some(s))
        && filter
            .tags
            .as_ref()
            .is_none_or(|tags| tags.iter().all(|t| o.tags.contains(t)))
        && filter.min_price.is_none_or(|p| o.min_price >= p)
        && filter
            .max_price
            .is_none_or(|p| o.max_price.unwrap_or(o.min_price) <= p)
}

fn sort_offers(
    offers: &mut [&wire::Offer],
    sort_by: Option<&str>,
    direction: Option<&str>,
) -> Result<bool, ApiError> {
    let descending = match direction.map(|d| d.trim().to_ascii_uppercase()).as_deref() {
        None | Some("ASC") => false,
        Some("DESC") => true,
        Some(_) => return Err(ApiError::bad_request("sort_direction must be ASC or DESC")),
    };
    let Some(field) = sort_by else {
        if descending {
            offers.reverse();
        }
        return Ok(false);
    };
    let key = field.replace('_', "").to_ascii_lowercase();
    match key.as_str() {
        "id" => offers.sort_by_key(|o| o.id),
        "name" => offers.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id))),
        "minprice" => offers.sort_by_key(|o| (o.min_price, o.id)),
        "maxprice" => offers.sort_by_key(|o| (o.max_price.unwrap_or(o.min_price), o.id)),
        "datecreated" => {
            offers.sort_by(|a, b| a.date_created.cmp(&b.date_created).then(a.id.cmp(&b.id)))
        }
        "datelastmodified" => offers.sort_by(|a, b| {
            a.date_last_modified
                .cmp(&b.date_last_modified)
                .then(a.id.cmp(&b.id))
        }),
        _ => return Err(ApiError::bad_request(format!("Cannot sort by {field:?}"))),
    }
    if descending {
        offers.reverse();
    }
    Ok(true)
}

async fn search_offers(
    State(data): State<Arc<SimData>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let app = authenticate(&data, &headers)?;
    let query = query_pairs(query.as_deref());
    let (page, size) = paging(&query)?;
    let view = View::from_query(&query, &data)?;
    let filter: wire::SearchRequest = if body.iter().all(u8::is_ascii_whitespace) {
        wire::SearchRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|err| ApiError::bad_request(format!("Invalid search body: {err}")))?
    };
    let mut matches: Vec<&wire::Offer> = data
        .offers
        .iter()
        .filter(|o| app.merchant_ids.contains(&o.merchant_id) && matches_filter(&filter, o))
        .collect();
    let sorted = sort_offers(
        &mut matches,
        filter.sort_by.as_deref(),
        filter.sort_direction.as_deref(),
    )?;
    let page = page_of(&data, &view, &matches, page, size, sorted)?;
    Ok(data.drift.respond(&page, "/content"))
}

async fn merchant_offers(
    State(data): State<Arc<SimData>>,
    Path(merchant_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let app = authenticate(&data, &headers)?;
    let merchant_id: i32 = merchant_id
        .parse()
        .map_err(|_| ApiError::bad_request("merchant_id must be an integer"))?;
    let query = query_pairs(query.as_deref());
    let (page, size) = paging(&query)?;
    let view = View::from_query(&query, &data)?;
    if data.merchant(merchant_id).is_none() || !app.merchant_ids.contains(&merchant_id) {
        return Err(ApiError::not_found(format!(
            "Merchant {merchant_id} not found"
        )));
    }
    let matches: Vec<&wire::Offer> = data
        .offers
        .iter()
        .filter(|o| o.merchant_id == merchant_id)
        .collect();
    let page = page_of(&data, &view, &matches, page, size, false)?;
    Ok(data.drift.respond(&page, "/content"))
}

async fn latest_rates(
    State(data): State<Arc<SimData>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authenticate(&data, &headers)?;
    let query = query_pairs(query.as_deref());
    let base = query
        .get("base_currency")
        .map(|s| s.trim().to_ascii_uppercase())
        .unwrap_or_else(|| "USD".to_owned());
    let base_rate = *data
        .rates
        .get(base.as_str())
        .ok_or_else(|| ApiError::bad_request(format!("Unsupported base_currency {base:?}")))?;
    let rates = data
        .rates
        .iter()
        .map(|(code, rate)| {
            let rebased = (*rate / base_rate)
                .round_dp_with_strategy(8, RoundingStrategy::MidpointNearestEven);
            ((*code).to_owned(), JsonNumber::from_decimal(rebased))
        })
        .collect();
    let now = now_millis() / 1_000;
    Ok(Json(wire::ExchangeRates {
        success: true,
        timestamp: now,
        base,
        date: format_date(now)[..10].to_owned(),
        rates,
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::sim::{serve, RunningSim};

    const SEED: u64 = 0x5eed_0004;

    fn data() -> SimData {
        SimData::generate(&Catalog::generate(SEED))
    }

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    #[test]
    fn same_seed_same_data_and_another_seed_differs() {
        let a = data();
        let b = data();
        assert_eq!(a.offers, b.offers);
        assert_eq!(a.merchants, b.merchants);
        let c = SimData::generate(&Catalog::generate(SEED + 1));
        assert_ne!(a.offers, c.offers);
    }

    #[test]
    fn every_product_becomes_one_offer_with_its_barcode() {
        let catalog = Catalog::generate(SEED);
        let d = SimData::generate(&catalog);
        assert_eq!(d.offers.len(), catalog.products.len());
        let ids: HashSet<i64> = d.offers.iter().map(|o| o.id).collect();
        assert_eq!(ids.len(), d.offers.len());
        assert!(
            d.offers.windows(2).all(|w| w[0].id < w[1].id),
            "offers are stored by id"
        );
        for (offer, product) in d.offers.iter().zip(&catalog.products) {
            assert_eq!(offer.name, product.name);
            assert!((1..=4).contains(&offer.skus.len()));
            for sku in &offer.skus {
                assert_eq!(sku.gtin.as_deref(), Some(product.gtin.as_str()));
                assert_eq!(sku.offer_id, Some(offer.id));
                assert_eq!(sku.currency, offer.currency);
                assert!(
                    sku.id.is_some_and(|id| id > i64::from(i32::MAX)),
                    "SKU ids need int64"
                );
                match product.barcode.len() {
                    12 => assert_eq!(sku.upc.as_deref(), Some(product.barcode.as_str())),
                    13 => assert_eq!(sku.ean.as_deref(), Some(product.barcode.as_str())),
                    _ => {}
                }
            }
            assert!(offer.id > i64::from(i32::MAX), "offer ids need int64");
        }
        assert_eq!(d.offer(d.offers[7].id), Some(&d.offers[7]));
    }

    #[test]
    fn min_and_max_prices_follow_the_sku_sale_prices() {
        for offer in &data().offers {
            let sales: Vec<i64> = offer.skus.iter().map(|s| s.sale_price.unwrap()).collect();
            assert_eq!(
                offer.min_price,
                *sales.iter().min().unwrap(),
                "{}",
                offer.id
            );
            if let Some(max) = offer.max_price {
                assert_eq!(max, *sales.iter().max().unwrap(), "{}", offer.id);
            }
        }
    }

    #[test]
    fn every_documented_enum_value_appears() {
        let d = data();
        let sources: HashSet<&Source> = d.offers.iter().map(|o| &o.source).collect();
        assert_eq!(sources.len(), Source::ALL.len());
        let statuses: HashSet<Option<&Status>> =
            d.offers.iter().map(|o| o.status.as_ref()).collect();
        for s in &Status::ALL {
            assert!(statuses.contains(&Some(s)), "{s:?}");
        }
        assert!(statuses.contains(&None), "some offers have no status");
        let types: HashSet<Option<&ProductType>> =
            d.offers.iter().map(|o| o.product_type.as_ref()).collect();
        for t in &ProductType::ALL {
            assert!(types.contains(&Some(t)), "{t:?}");
        }
        for p in &PublishingStatus::ALL {
            assert!(
                d.offers
                    .iter()
                    .any(|o| o.publishing_status.as_ref() == Some(p)),
                "{p:?}"
            );
        }
        for s in &SubscriptionStatus::ALL {
            assert!(
                d.offers
                    .iter()
                    .any(|o| o.subscription_status.as_ref() == Some(s)),
                "{s:?}"
            );
        }
        let skus = || d.offers.iter().flat_map(|o| &o.skus);
        assert!(skus().any(|s| s.status == Some(Status::Available)));
        assert!(skus().any(|s| s.status == Some(Status::Unavailable)));
        let media_types: HashSet<&str> = d
            .offers
            .iter()
            .flat_map(|o| &o.albums)
            .flat_map(|a| &a.media)
            .filter_map(|m| m.media_type.as_deref())
            .collect();
        assert_eq!(media_types, HashSet::from(["IMAGE", "VIDEO"]));
    }

    #[test]
    fn data_covers_the_awkward_cases() {
        let d = data();
        let o = &d.offers;
        let currencies: HashSet<&str> = o.iter().filter_map(|o| o.currency.as_deref()).collect();
        for code in ["USD", "EUR", "GBP", "JPY", "KWD"] {
            assert!(currencies.contains(code), "{code}");
        }
        assert!(o.iter().any(|o| o.min_price == 0), "free offers");
        assert!(
            o.iter().any(|o| o.max_price.is_none()),
            "offers without max_price"
        );
        assert!(o.iter().any(|o| !o.available) && o.iter().any(|o| !o.visible));
        assert!(o.iter().any(|o| o.external_url.as_deref() == Some("")));
        assert!(o.iter().any(|o| o.tags.is_empty()) && o.iter().any(|o| !o.tags.is_empty()));
        assert!(o
            .iter()
            .any(|o| o.metadata.as_ref().is_some_and(Vec::is_empty)));
        let kinds: HashSet<&str> = o
            .iter()
            .flat_map(|o| o.metadata.iter().flatten())
            .filter_map(|m| m.value_type.as_deref())
            .collect();
        assert_eq!(
            kinds,
            HashSet::from(["STRING", "INTEGER", "JSON", "BOOLEAN"])
        );
        assert!(o.iter().any(|o| o.external_data == Some(json!({}))));
        assert!(o.iter().any(|o| o
            .external_data
            .as_ref()
            .is_some_and(|v| v.get("handle").is_some())));
        assert!(o.iter().any(|o| o.external_data.is_none()));
        assert!(o
            .iter()
            .any(|o| o.collections.as_ref().is_some_and(|c| !c.is_empty())));
        assert!(o
            .iter()
            .any(|o| o.three_d_enabled == Some(true) && o.three_d_resource.is_some()));
        assert!(o.iter().flat_map(|o| &o.skus).any(|s| s.asin.is_some()));
        assert!(o.iter().flat_map(|o| &o.skus).any(|s| s.isbn.is_some()));
        assert!(o
            .iter()
            .flat_map(|o| &o.skus)
            .any(|s| s.retail_price.is_none()));
        assert!(
            o.iter().all(|o| o.default_image_url.is_none()),
            "only listings add it"
        );
    }

    #[test]
    fn variants_link_the_offer_skus() {
        for offer in &data().offers {
            let sku_ids: HashSet<i64> = offer.skus.iter().filter_map(|s| s.id).collect();
            for variant in &offer.variants {
                let mut covered = HashSet::new();
                for value in &variant.values {
                    for id in &value.sku_ids {
                        assert!(sku_ids.contains(id));
                        assert!(covered.insert(*id), "a SKU has one value per variant");
                        let sku = offer.skus.iter().find(|s| s.id == Some(*id)).unwrap();
                        assert!(sku
                            .variant_values
                            .iter()
                            .any(|v| v.variant == variant.name && v.value == value.name));
                    }
                }
                assert_eq!(covered, sku_ids);
            }
            if offer.skus.len() == 1 {
                assert!(offer.variants.is_empty());
            }
        }
    }

    #[test]
    fn conversion_rounds_half_to_even_at_the_target_minor_unit() {
        let one = Decimal::ONE;
        // JPY -> USD: 13.00 * ... ties at the cent go to the even cent.
        assert_eq!(
            convert_minor(1_300, cur("JPY"), cur("USD"), dec("0.00665"), one),
            Some(864)
        ); // 8.645
        assert_eq!(
            convert_minor(1_500, cur("JPY"), cur("USD"), dec("0.00665"), one),
            Some(998)
        ); // 9.975
           // USD -> JPY: a tie at the yen.
        assert_eq!(
            convert_minor(2_999, cur("USD"), cur("JPY"), dec("150"), one),
            Some(4_498)
        ); // 4498.5
        assert_eq!(
            convert_minor(3_001, cur("USD"), cur("JPY"), dec("150"), one),
            Some(4_502)
        ); // 4501.5
           // USD -> KWD has three decimals.
        assert_eq!(
            convert_minor(2_999, cur("USD"), cur("KWD"), dec("0.307"), one),
            Some(9_207)
        );
        // Through the table: JPY -> USD is 151.5 JPY per USD.
        assert_eq!(
            convert_minor(1_200, cur("JPY"), cur("USD"), one, dec("151.5")),
            Some(792)
        );
        assert_eq!(
            convert_minor(0, cur("JPY"), cur("USD"), one, dec("151.5")),
            Some(0)
        );
        assert_eq!(convert_minor(1, cur("USD"), cur("XAU"), one, one), None);
        assert_eq!(
            convert_minor(1, cur("USD"), cur("EUR"), one, Decimal::ZERO),
            None
        );
    }

    #[test]
    fn dates_are_iso_8601_utc() {
        assert_eq!(format_date(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_date(1_699_335_116), "2023-11-07T05:31:56Z");
        assert_eq!(format_date(DATES_START), "2021-01-01T00:00:00Z");
        assert_eq!(format_date(1_709_164_800), "2024-02-29T00:00:00Z");
    }

    // --- HTTP ---------------------------------------------------------------

    struct Client {
        running: RunningSim,
        data: Arc<SimData>,
        http: reqwest::Client,
        token: String,
    }

    fn app_headers(
        request: reqwest::RequestBuilder,
        app_id: i64,
        secret: &str,
    ) -> reqwest::RequestBuilder {
        request
            .header("X-Violet-App-Id", app_id.to_string())
            .header("X-Violet-App-Secret", secret)
    }

    async fn login(
        http: &reqwest::Client,
        running: &RunningSim,
        app_id: i64,
        secret: &str,
        user: &str,
        password: &str,
    ) -> reqwest::Response {
        app_headers(
            http.post(running.base_url.join("/v1/login").unwrap()),
            app_id,
            secret,
        )
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap()
    }

    async fn client() -> Client {
        let data = Arc::new(data());
        let running = serve(router(data.clone())).await.unwrap();
        let http = reqwest::Client::new();
        let response = login(
            &http,
            &running,
            DEMO_APP_ID,
            DEMO_APP_SECRET,
            DEMO_USERNAME,
            DEMO_PASSWORD,
        )
        .await;
        assert_eq!(response.status(), 200);
        let body: wire::LoginResponse = response.json().await.unwrap();
        Client {
            running,
            data,
            http,
            token: body.token,
        }
    }

    impl Client {
        fn url(&self, path_and_query: &str) -> String {
            format!(
                "{}{}",
                self.running.base_url.as_str().trim_end_matches('/'),
                path_and_query
            )
        }

        async fn get(&self, path_and_query: &str) -> (u16, Value) {
            let response = app_headers(
                self.http.get(self.url(path_and_query)),
                DEMO_APP_ID,
                DEMO_APP_SECRET,
            )
            .header("X-Violet-Token", &self.token)
            .send()
            .await
            .unwrap();
            (response.status().as_u16(), response.json().await.unwrap())
        }

        async fn search(&self, query: &str, body: Value) -> (u16, Value) {
            let response = app_headers(
                self.http
                    .post(self.url(&format!("/v1/catalog/offers/search{query}"))),
                DEMO_APP_ID,
                DEMO_APP_SECRET,
            )
            .header("X-Violet-Token", &self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
            (response.status().as_u16(), response.json().await.unwrap())
        }

        fn offer_in(&self, currency: &str) -> &wire::Offer {
            self.data
                .offers
                .iter()
                .find(|o| {
                    o.currency.as_deref() == Some(currency)
                        && o.min_price > 0
                        && o.max_price.is_some()
                })
                .unwrap()
        }
    }

    fn assert_error(body: &Value, status: u16, code: i64) {
        assert_eq!(body["status"], status, "{body}");
        assert_eq!(body["error_code"], code, "{body}");
        assert!(
            body["message"].is_string() && body["timestamp"].is_i64(),
            "{body}"
        );
    }

    #[tokio::test]
    async fn by_id_answers_include_metadata_and_collections_only_on_request() {
        let c = client().await;
        let offer = c
            .data
            .offers
            .iter()
            .find(|o| o.metadata.as_ref().is_some_and(|m| !m.is_empty()))
            .unwrap();
        let (status, plain) = c.get(&format!("/v1/catalog/offers/{}", offer.id)).await;
        assert_eq!(status, 200);
        assert!(plain.get("metadata").is_none() && plain.get("collections").is_none());
        assert!(plain.get("default_image_url").is_none());
        let (_, with_metadata) = c
            .get(&format!("/v1/catalog/offers/{}?include=metadata", offer.id))
            .await;
        assert!(with_metadata["metadata"].is_array() && with_metadata.get("collections").is_none());
        let (_, full) = c
            .get(&format!(
                "/v1/catalog/offers/{}?include=metadata,collections",
                offer.id
            ))
            .await;
        // Through text: `JsonNumber` reads raw JSON, not a `Value`.
        let parsed: wire::Offer = serde_json::from_str(&full.to_string()).unwrap();
        assert_eq!(&parsed, offer);
    }

    #[tokio::test]
    async fn base_currency_converts_every_price_with_the_table_or_the_given_rate() {
        let c = client().await;
        let jpy = c.offer_in("JPY").clone();
        let (status, body) = c
            .get(&format!("/v1/catalog/offers/{}?base_currency=USD", jpy.id))
            .await;
        assert_eq!(status, 200, "{body}");
        let to_usd = |yen: i64| {
            (Decimal::from(yen) / dec("151.5"))
                .round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
                * Decimal::from(100)
        };
        assert_eq!(
            Decimal::from(body["min_price"].as_i64().unwrap()),
            to_usd(jpy.min_price)
        );
        assert_eq!(
            Decimal::from(body["max_price"].as_i64().unwrap()),
            to_usd(jpy.max_price.unwrap())
        );
        assert_eq!(body["currency"], "USD");
        assert_eq!(body["currency_symbol"], "$");
        for (sku, raw) in body["skus"].as_array().unwrap().iter().zip(&jpy.skus) {
            assert_eq!(sku["currency"], "USD");
            assert_eq!(sku["presented_currency"], "USD");
            assert_eq!(
                Decimal::from(sku["sale_price"].as_i64().unwrap()),
                to_usd(raw.sale_price.unwrap())
            );
        }

        let (_, body) = c
            .get(&format!(
                "/v1/catalog/offers/{}?base_currency=USD&exchange_rate=0.00665",
                jpy.id
            ))
            .await;
        let at_rate = (Decimal::from(jpy.min_price) * dec("0.00665"))
            .round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
            * Decimal::from(100);
        assert_eq!(Decimal::from(body["min_price"].as_i64().unwrap()), at_rate);

        // USD -> JPY and USD -> KWD land on whole yen and fils.
        let usd = c.offer_in("USD").clone();
        let (_, body) = c
            .get(&format!("/v1/catalog/offers/{}?base_currency=JPY", usd.id))
            .await;
        let yen = (Decimal::new(usd.min_price, 2) * dec("151.5"))
            .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven);
        assert_eq!(Decimal::from(body["min_price"].as_i64().unwrap()), yen);
        assert_eq!(body["skus"][0]["currency"], "JPY");
        let (_, body) = c
            .get(&format!("/v1/catalog/offers/{}?base_currency=kwd", usd.id))
            .await;
        let fils = (Decimal::new(usd.min_price, 2) * dec("0.307"))
            .round_dp_with_strategy(3, RoundingStrategy::MidpointNearestEven)
            * Decimal::from(1_000);
        assert_eq!(Decimal::from(body["min_price"].as_i64().unwrap()), fils);

        // Same currency: unchanged.
        let (_, body) = c
            .get(&format!("/v1/catalog/offers/{}?base_currency=USD", usd.id))
            .await;
        assert_eq!(body["min_price"], usd.min_price);

        for bad in [
            "base_currency=ZZZ",
            "base_currency=XAU",
            "base_currency=USD&exchange_rate=-1",
            "exchange_rate=2",
            "base_currency=USD&exchange_rate=abc",
            "base_currency=SEK",
        ] {
            let (status, body) = c.get(&format!("/v1/catalog/offers/{}?{bad}", usd.id)).await;
            assert_eq!(status, 400, "{bad}");
            assert_error(&body, 400, 1);
        }
        // An explicit rate allows a currency outside the table.
        let (status, body) = c
            .get(&format!(
                "/v1/catalog/offers/{}?base_currency=SEK&exchange_rate=10.5",
                usd.id
            ))
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["currency_symbol"], "SEK");
    }

    #[tokio::test]
    async fn search_pages_are_one_based_in_the_request_and_zero_based_in_the_answer() {
        let c = client().await;
        let total = c.data.offers.len() as u64;
        let (status, body) = c.search("?page=1&size=5", json!({})).await;
        assert_eq!(status, 200, "{body}");
        let page: wire::Page<wire::Offer> = serde_json::from_str(&body.to_string()).unwrap();
        assert_eq!((page.number, page.size, page.number_of_elements), (0, 5, 5));
        assert_eq!(
            (page.total_elements, page.total_pages),
            (total, total.div_ceil(5))
        );
        assert!(page.first && !page.last && !page.empty);
        assert_eq!(page.pageable.as_ref().unwrap().page_number, 0);
        assert!(page.content.iter().all(|o| o.default_image_url.is_some()));
        assert!(page.content.iter().all(|o| o.metadata.is_none()));
        let ids: Vec<i64> = page.content.iter().map(|o| o.id).collect();
        let want: Vec<i64> = c.data.offers[..5].iter().map(|o| o.id).collect();
        assert_eq!(ids, want);

        // Walk to the end with the default size.
        let mut seen = 0;
        let mut number = 1;
        loop {
            let (_, body) = c.search(&format!("?page={number}"), json!({})).await;
            let page: wire::Page<wire::Offer> = serde_json::from_str(&body.to_string()).unwrap();
            assert_eq!(page.size, DEFAULT_PAGE_SIZE);
            seen += page.content.len() as u64;
            if page.last {
                assert_eq!(page.number + 1, number);
                break;
            }
            number += 1;
        }
        assert_eq!(seen, total);
        let (_, body) = c.search(&format!("?page={}", number + 1), json!({})).await;
        assert_eq!(body["empty"], true);
        assert_eq!(body["content"], json!([]));

        for bad in [
            "?page=0",
            "?page=-1",
            "?page=x",
            "?size=0",
            "?size=101",
            "?size=2.5",
        ] {
            let (status, body) = c.search(bad, json!({})).await;
            assert_eq!(status, 400, "{bad}");
            assert_error(&body, 400, 1);
        }
        let (status, _) = c.search("?size=100", json!({})).await;
        assert_eq!(status, 200);
    }

    #[tokio::test]
    async fn search_filters_and_sorts() {
        let c = client().await;
        let merchant = c.data.merchants[3].id;
        let (_, body) = c
            .search(
                "?size=100",
                json!({"merchant_id": merchant, "available": true, "visible": true,
                       "min_price": 1000, "max_price": 20000,
                       "sort_by": "min_price", "sort_direction": "DESC"}),
            )
            .await;
        let page: wire::Page<wire::Offer> = serde_json::from_str(&body.to_string()).unwrap();
        let want = c
            .data
            .offers
            .iter()
            .filter(|o| o.merchant_id == merchant && o.available && o.visible)
            .filter(|o| o.min_price >= 1000 && o.max_price.unwrap_or(o.min_price) <= 20000)
            .count() as u64;
        assert!(want > 0);
        assert_eq!(page.total_elements, want);
        assert!(page
            .content
            .windows(2)
            .all(|w| w[0].min_price >= w[1].min_price));
        assert!(page.sort.unwrap().sorted);
        let (status, body) = c.search("", json!({"sort_by": "colour"})).await;
        assert_eq!(status, 400);
        assert_error(&body, 400, 1);
        let (status, _) = c.search("", json!({"sort_direction": "UP"})).await;
        assert_eq!(status, 400);
        let (status, _) = c.search("", json!({"merchant_id": "ten"})).await;
        assert_eq!(status, 400);
    }

    #[tokio::test]
    async fn merchant_listing_pages_one_merchant() {
        let c = client().await;
        let merchant = c.data.merchants[4].id;
        let (status, body) = c
            .get(&format!(
                "/v1/catalog/offers/merchants/{merchant}?page=2&size=7"
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        let page: wire::Page<wire::Offer> = serde_json::from_str(&body.to_string()).unwrap();
        let all: Vec<i64> = c
            .data
            .offers
            .iter()
            .filter(|o| o.merchant_id == merchant)
            .map(|o| o.id)
            .collect();
        assert_eq!(page.total_elements, all.len() as u64);
        assert_eq!(page.number, 1);
        let ids: Vec<i64> = page.content.iter().map(|o| o.id).collect();
        assert_eq!(ids, all[7..14]);
        assert!(page
            .content
            .iter()
            .all(|o| o.currency.as_deref() == Some("KWD")));
        let (status, body) = c.get("/v1/catalog/offers/merchants/99").await;
        assert_eq!(status, 404);
        assert_error(&body, 404, 404);
        let (status, _) = c.get("/v1/catalog/offers/merchants/abc").await;
        assert_eq!(status, 400);
    }

    #[tokio::test]
    async fn latest_rates_rebase_consistently() {
        let c = client().await;
        let (status, usd) = c.get("/v1/currencies/latest?base_currency=USD").await;
        assert_eq!(status, 200, "{usd}");
        let rates: wire::ExchangeRates = serde_json::from_str(&usd.to_string()).unwrap();
        assert!(rates.success);
        assert_eq!(rates.base, "USD");
        assert_eq!(rates.date.len(), 10);
        for code in ["USD", "EUR", "GBP", "CAD", "JPY", "KWD"] {
            assert!(rates.rates.contains_key(code), "{code}");
        }
        assert_eq!(rates.rates["USD"].as_str(), "1");
        assert_eq!(rates.rates["EUR"].as_str(), "0.92");
        let (_, eur) = c.get("/v1/currencies/latest?base_currency=EUR").await;
        let eur: wire::ExchangeRates = serde_json::from_str(&eur.to_string()).unwrap();
        let rate = |r: &wire::ExchangeRates, code: &str| {
            Decimal::from_str(r.rates[code].as_str()).unwrap()
        };
        assert_eq!(rate(&eur, "EUR"), Decimal::ONE);
        // JPY per EUR equals JPY per USD divided by EUR per USD (to the 8 decimals sent).
        let expected = (rate(&rates, "JPY") / rate(&rates, "EUR")).round_dp(8);
        assert_eq!(rate(&eur, "JPY"), expected);
        assert_eq!(rate(&eur, "USD"), dec("1.08695652"));
        let (_, default_base) = c.get("/v1/currencies/latest").await;
        assert_eq!(default_base["base"], "USD");
        let (status, body) = c.get("/v1/currencies/latest?base_currency=ZZZ").await;
        assert_eq!(status, 400);
        assert_error(&body, 400, 1);
    }

    #[tokio::test]
    async fn auth_errors_have_violets_shape_and_codes() {
        let c = client().await;
        let id = c.data.offers[0].id;
        let path = c.url(&format!("/v1/catalog/offers/{id}"));
        let send = |request: reqwest::RequestBuilder| async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        };
        let (s, b) = send(c.http.get(&path).header("X-Violet-Token", &c.token)).await;
        assert_eq!(s, 401);
        assert_error(&b, 401, 13);
        let (s, b) = send(
            app_headers(c.http.get(&path), DEMO_APP_ID, "nope").header("X-Violet-Token", &c.token),
        )
        .await;
        assert_eq!(s, 403);
        assert_error(&b, 403, 12);
        let (s, b) = send(app_headers(c.http.get(&path), DEMO_APP_ID, DEMO_APP_SECRET)).await;
        assert_eq!(s, 401);
        assert_error(&b, 401, 10);
        let (s, b) = send(
            app_headers(c.http.get(&path), DEMO_APP_ID, DEMO_APP_SECRET)
                .header("X-Violet-Token", "forged"),
        )
        .await;
        assert_eq!(s, 401);
        assert_error(&b, 401, 10);
        let (s, b) = send(
            app_headers(c.http.get(&path), OTHER_APP_ID, OTHER_APP_SECRET)
                .header("X-Violet-Token", &c.token),
        )
        .await;
        assert_eq!(s, 403);
        assert_error(&b, 403, 14);

        let response = login(
            &c.http,
            &c.running,
            DEMO_APP_ID,
            DEMO_APP_SECRET,
            DEMO_USERNAME,
            "wrong",
        )
        .await;
        assert_eq!(response.status(), 401);
        assert_error(&response.json().await.unwrap(), 401, 20);

        let (s, b) = c.get("/v1/catalog/offers/1").await;
        assert_eq!(s, 404);
        assert_error(&b, 404, 404);
        let (s, b) = c.get("/v1/catalog/offers/abc").await;
        assert_eq!(s, 400);
        assert_error(&b, 400, 1);
    }

    #[tokio::test]
    async fn expired_tokens_answer_error_code_11_and_refresh_issues_a_new_one() {
        let mut c = client().await;
        let response = login(
            &c.http,
            &c.running,
            DEMO_APP_ID,
            DEMO_APP_SECRET,
            DEMO_USERNAME,
            DEMO_PASSWORD,
        )
        .await;
        let body: wire::LoginResponse = response.json().await.unwrap();
        assert_eq!(body.email.as_deref(), Some(DEMO_USERNAME));
        assert!(body.token.starts_with("eyJ"));
        let refresh = body.refresh_token.unwrap();
        c.token = body.token;
        let path = format!("/v1/catalog/offers/{}", c.data.offers[0].id);
        assert_eq!(c.get(&path).await.0, 200);

        c.data.expire_tokens();
        let (status, body) = c.get(&path).await;
        assert_eq!(status, 401);
        assert_error(&body, 401, 11);
        assert_eq!(body["message"], "Token has expired");

        let refreshed = app_headers(
            c.http.get(c.url("/v1/auth/token")),
            DEMO_APP_ID,
            DEMO_APP_SECRET,
        )
        .header("X-Violet-Token", &refresh)
        .send()
        .await
        .unwrap();
        assert_eq!(refreshed.status(), 200);
        c.token = refreshed
            .json::<wire::RefreshResponse>()
            .await
            .unwrap()
            .token;
        assert_eq!(c.get(&path).await.0, 200);
        assert_eq!(c.running.control.count("GET /v1/auth/token"), 1);
        assert_eq!(c.running.control.count("POST /v1/login"), 2);

        c.data.revoke_refresh_tokens();
        let refused = app_headers(
            c.http.get(c.url("/v1/auth/token")),
            DEMO_APP_ID,
            DEMO_APP_SECRET,
        )
        .header("X-Violet-Token", &refresh)
        .send()
        .await
        .unwrap();
        assert_eq!(refused.status(), 401);
        assert_error(&refused.json().await.unwrap(), 401, 21);
    }

    #[tokio::test]
    async fn other_app_sees_only_its_merchants() {
        let c = client().await;
        let http = reqwest::Client::new();
        let response = login(
            &http,
            &c.running,
            OTHER_APP_ID,
            OTHER_APP_SECRET,
            OTHER_USERNAME,
            OTHER_PASSWORD,
        )
        .await;
        let token = response.json::<wire::LoginResponse>().await.unwrap().token;
        let hidden = c.offer_in("JPY").id;
        let response = app_headers(
            http.get(c.url(&format!("/v1/catalog/offers/{hidden}"))),
            OTHER_APP_ID,
            OTHER_APP_SECRET,
        )
        .header("X-Violet-Token", &token)
        .send()
        .await
        .unwrap();
        assert_eq!(response.status(), 404);
        let (status, _) = c.get(&format!("/v1/catalog/offers/{hidden}")).await;
        assert_eq!(status, 200);
    }
}
