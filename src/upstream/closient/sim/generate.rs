//! Generation of the simulator's data: organizations (retail chains) with
//! their online and physical stores, and the offers of the catalog's
//! products at those stores, with every documented value and edge case
//! (unknown and free prices, JPY and KWD amounts, empty SKUs and URLs,
//! metadata, ...), and their promotions (`promotions.rs`). Also the API
//! keys of the demo and the other credentials.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::SystemTime;

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Map, Value};

use super::live::Changes;
use super::promotions;
use super::rate_limit::RateLimiter;
use super::{ApiKey, Organization, SimData, Store};
use crate::pricing::Currency;
use crate::sim::catalog::{Catalog, Product};
use crate::sim::drift::Drift;
use crate::upstream::closient::shortuuid;
use crate::upstream::closient::wire::{
    FulfillmentType, InStoreOfferOut, OfferSource, OfferStatus, OnlineOfferOut, PriceOut,
    ProductBrowseOut, ProductOut, PromotionOut, StockLevel,
};

/// Mixed into the catalog seed so Closient data differs from other styles'.
const SALT: u64 = 0xC105_1E47_0000_0001;
/// Seeds of the two API keys; fixed, so the keys do not depend on the catalog.
pub(super) const DEMO_KEY_SEED: u64 = 0xC105_0000_0000_0001;
pub(super) const OTHER_KEY_SEED: u64 = 0xC105_0000_0000_0002;

struct OrgSpec {
    name: &'static str,
    /// (domain, currency, country)
    online: &'static [(&'static str, &'static str, &'static str)],
    /// (name, currency, country)
    physical: &'static [(&'static str, &'static str, &'static str)],
}

const ORGS: &[OrgSpec] = &[
    OrgSpec {
        name: "Northwind Market",
        online: &[("northwindmarket.com", "USD", "US")],
        physical: &[
            ("Northwind Market Seattle", "USD", "US"),
            ("Northwind Market Portland", "USD", "US"),
            ("Northwind Market Austin", "USD", "US"),
            ("Northwind Market Vancouver", "CAD", "CA"),
        ],
    },
    OrgSpec {
        name: "Maple & Co.",
        online: &[("mapleandco.ca", "CAD", "CA")],
        physical: &[
            ("Maple & Co. Toronto", "CAD", "CA"),
            ("Maple & Co. Montreal", "CAD", "CA"),
        ],
    },
    OrgSpec {
        name: "Britannia Stores",
        online: &[
            ("britanniastores.co.uk", "GBP", "GB"),
            ("britanniastores.ie", "EUR", "IE"),
        ],
        physical: &[
            ("Britannia Stores Leeds", "GBP", "GB"),
            ("Britannia Stores Dublin", "EUR", "IE"),
        ],
    },
    OrgSpec {
        name: "Euromarkt",
        online: &[("euromarkt.de", "EUR", "DE"), ("euromarkt.fr", "EUR", "FR")],
        physical: &[
            ("Euromarkt Berlin", "EUR", "DE"),
            ("Euromarkt München", "EUR", "DE"),
            ("Euromarkt Lyon", "EUR", "FR"),
        ],
    },
    OrgSpec {
        name: "Sakura Retail",
        online: &[("sakura-retail.jp", "JPY", "JP")],
        physical: &[
            ("Sakura Retail Shibuya", "JPY", "JP"),
            ("Sakura Retail Umeda", "JPY", "JP"),
        ],
    },
    OrgSpec {
        name: "Gulf Trading Co.",
        online: &[("gulftrading.com.kw", "KWD", "KW")],
        physical: &[
            ("Gulf Trading Kuwait City", "KWD", "KW"),
            ("Gulf Trading Salmiya", "KWD", "KW"),
        ],
    },
    OrgSpec {
        name: "Pacific Outfitters",
        online: &[("pacificoutfitters.com", "USD", "US")],
        physical: &[("Pacific Outfitters Honolulu", "USD", "US")],
    },
];

/// Organizations (indexes into `ORGS`) the demo key sees: all but the last.
pub(super) const DEMO_ORGS: &[usize] = &[0, 1, 2, 3, 4, 5];
/// Organizations the other key sees: one shared with the demo key, one its own.
pub(super) const OTHER_ORGS: &[usize] = &[4, 6];

/// US dollars to the store currency, roughly.
fn usd_rate(currency: &str) -> Decimal {
    let (mantissa, scale) = match currency {
        "CAD" => (136, 2),
        "GBP" => (79, 2),
        "EUR" => (92, 2),
        "JPY" => (151, 0),
        "KWD" => (307, 3),
        _ => (1, 0),
    };
    Decimal::new(mantissa, scale)
}

pub(super) fn exponent(currency: &str) -> u32 {
    Currency::parse(currency)
        .ok()
        .and_then(Currency::exponent)
        .unwrap_or(2)
}

/// A shelf price: `usd_cents` converted into `currency`, scaled by
/// `factor`, rounded the way stores price in that currency, and written
/// with exactly the currency's number of decimals.
fn shelf_price(rng: &mut fastrand::Rng, usd_cents: i64, currency: &str, factor: Decimal) -> String {
    let raw = Decimal::new(usd_cents, 2) * usd_rate(currency) * factor;
    let exp = exponent(currency);
    let mut amount = match exp {
        // Yen: whole tens.
        0 => ((raw / Decimal::TEN).round() * Decimal::TEN).max(Decimal::TEN),
        // Dinar and similar: multiples of 0.005.
        3 => ((raw * Decimal::from(200)).round() / Decimal::from(200)).max(Decimal::new(5, 3)),
        // Cents: charm prices ending in .99 or .49.
        _ => {
            let ending = if rng.u8(..4) == 0 {
                Decimal::new(49, 2)
            } else {
                Decimal::new(99, 2)
            };
            raw.round_dp_with_strategy(0, RoundingStrategy::ToZero) + ending
        }
    };
    amount.rescale(exp);
    amount.to_string()
}

pub(super) fn zero_amount(rng: &mut fastrand::Rng, currency: &str) -> String {
    if exponent(currency) == 2 && rng.bool() {
        "0.00".to_owned()
    } else {
        "0".to_owned()
    }
}

pub(super) fn weighted<T: Clone>(rng: &mut fastrand::Rng, choices: &[(T, u32)]) -> T {
    let total: u32 = choices.iter().map(|(_, w)| w).sum();
    let mut roll = rng.u32(..total);
    for (value, weight) in choices {
        if roll < *weight {
            return value.clone();
        }
        roll -= weight;
    }
    choices[choices.len() - 1].0.clone()
}

/// A random version-4 UUID from the seeded generator.
pub(super) fn uuid_v4(rng: &mut fastrand::Rng) -> u128 {
    let raw = rng.u128(..);
    (raw & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62)
}

fn delivery_countries(rng: &mut fastrand::Rng, country: &str) -> Vec<String> {
    if rng.u8(..10) < 4 {
        // Empty: inherit from the storefront.
        return Vec::new();
    }
    let options: &[&[&str]] = match country {
        "US" => &[&["US"], &["US", "CA"]],
        "CA" => &[&["CA"], &["CA", "US"]],
        "GB" => &[&["GB"], &["GB", "IE"]],
        "IE" => &[&["IE", "GB"]],
        "DE" => &[&["DE", "AT"], &["DE", "AT", "CH"]],
        "FR" => &[&["FR", "BE"], &["FR"]],
        "JP" => &[&["JP"]],
        "KW" => &[&["KW", "SA", "AE"], &["KW"]],
        _ => &[&["US"]],
    };
    options[rng.usize(..options.len())]
        .iter()
        .map(|c| (*c).to_owned())
        .collect()
}

fn slug(name: &str) -> String {
    name.to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

pub(super) fn sku_prefix(store: &Store) -> String {
    store
        .name
        .chars()
        .filter(char::is_ascii_alphabetic)
        .take(3)
        .collect::<String>()
        .to_ascii_uppercase()
}

const ONLINE_SOURCES: &[(OfferSource, u32)] = &[
    (OfferSource::AffiliateFeed, 30),
    (OfferSource::Scrape, 25),
    (OfferSource::Brand, 10),
    (OfferSource::Manual, 20),
    (OfferSource::PosSync, 5),
    (OfferSource::UserFeedback, 10),
];
const IN_STORE_SOURCES: &[(OfferSource, u32)] = &[
    (OfferSource::PosSync, 45),
    (OfferSource::Manual, 15),
    (OfferSource::Scrape, 10),
    (OfferSource::Brand, 10),
    (OfferSource::AffiliateFeed, 5),
    (OfferSource::UserFeedback, 15),
];
const STATUSES: &[(OfferStatus, u32)] = &[
    (OfferStatus::Active, 80),
    (OfferStatus::OutOfStock, 8),
    (OfferStatus::Seasonal, 6),
    (OfferStatus::Discontinued, 6),
];
const FULFILLMENT: &[(FulfillmentType, u32)] = &[
    (FulfillmentType::Standard, 40),
    (FulfillmentType::SameDay, 8),
    (FulfillmentType::NextDay, 10),
    (FulfillmentType::Prime, 15),
    (FulfillmentType::ShipToStore, 7),
    (FulfillmentType::StorePickup, 7),
    (FulfillmentType::DigitalDownload, 5),
    (FulfillmentType::SubscribeAndSave, 8),
];
const STOCK: &[(StockLevel, u32)] = &[
    (StockLevel::InStock, 50),
    (StockLevel::LowStock, 15),
    (StockLevel::PreOrder, 6),
    (StockLevel::Backordered, 6),
    (StockLevel::OutOfStock, 8),
    (StockLevel::Unknown, 15),
];
const AISLES: &[&str] = &[
    "A5",
    "Dairy 12",
    "B12",
    "Aisle 7",
    "Electronics 3",
    "Garden 1",
    "C3 Shelf 2",
];
const FEEDS: &[&str] = &["awin", "cj", "impact", "rakuten"];

/// Prices: unknown (`None`), free (`"0"`/`"0.00"`) or a shelf price.
fn offer_price(
    rng: &mut fastrand::Rng,
    product: &Product,
    store: &Store,
    store_factor: Decimal,
    unknown_percent: u8,
) -> PriceOut {
    let roll = rng.u8(..100);
    let amount = if roll < unknown_percent {
        None
    } else if roll < unknown_percent + 2 {
        Some(zero_amount(rng, store.currency))
    } else {
        let jitter = Decimal::new(95 + rng.i64(0..=10), 2);
        Some(shelf_price(
            rng,
            product.base_price_cents,
            store.currency,
            store_factor * jitter,
        ))
    };
    PriceOut {
        amount,
        currency: store.currency.to_owned(),
    }
}

fn is_verified(rng: &mut fastrand::Rng, source: &OfferSource) -> bool {
    matches!(source, OfferSource::Brand | OfferSource::PosSync) || rng.u8(..4) == 0
}

fn online_offer(
    rng: &mut fastrand::Rng,
    product: &Product,
    store: &Store,
    store_factor: Decimal,
    organization: &Organization,
    sku: String,
) -> OnlineOfferOut {
    let status = weighted(rng, STATUSES);
    let source = weighted(rng, ONLINE_SOURCES);
    let fulfillment_type = weighted(rng, FULFILLMENT);
    let stock_level = weighted(rng, STOCK);
    let shipping = |rng: &mut fastrand::Rng, usd_cents: std::ops::RangeInclusive<i64>| {
        let cents = rng.i64(usd_cents);
        Some(shelf_price(rng, cents, store.currency, Decimal::ONE))
    };
    let shipping_cost = match fulfillment_type {
        // Prime and similar memberships ship free: null.
        FulfillmentType::Prime => None,
        // Standard shipping whose cost the source does not say: null (unknown).
        FulfillmentType::Standard if rng.u8(..100) < 15 => None,
        FulfillmentType::ShipToStore
        | FulfillmentType::StorePickup
        | FulfillmentType::DigitalDownload => Some(zero_amount(rng, store.currency)),
        FulfillmentType::SubscribeAndSave if rng.bool() => None,
        FulfillmentType::SameDay | FulfillmentType::NextDay => shipping(rng, 799..=1999),
        _ => shipping(rng, 299..=899),
    };
    let lead_time_days = if rng.u8(..10) == 0 {
        None
    } else {
        Some(match (&stock_level, &fulfillment_type) {
            (StockLevel::Backordered, _) => rng.i64(14..=30),
            (StockLevel::PreOrder, _) => rng.i64(20..=60),
            (_, FulfillmentType::SameDay | FulfillmentType::DigitalDownload) => 0,
            (_, FulfillmentType::NextDay) => 1,
            (_, FulfillmentType::Prime) => rng.i64(1..=2),
            _ => rng.i64(2..=7),
        })
    };
    let url = if rng.u8(..10) == 0 {
        String::new()
    } else {
        format!(
            "https://{}/p/{}/{}",
            store.name,
            slug(&product.name),
            rng.u32(100_000..1_000_000)
        )
    };
    let metadata = if rng.u8(..10) == 0 {
        json_object(json!({
            "feed": FEEDS[rng.usize(..FEEDS.len())],
            "campaign": format!("{}-{}", ["spring", "summer", "autumn", "winter"][rng.usize(..4)], 2024 + rng.u8(..2) as u16),
        }))
    } else {
        Map::new()
    };
    OnlineOfferOut {
        id: shortuuid::encode(uuid_v4(rng)),
        product_id: shortuuid::encode(product.uuid),
        online_store_id: store.id.clone(),
        metadata,
        organization_id: Some(organization.id.clone()),
        sku,
        url,
        price: Some(offer_price(rng, product, store, store_factor, 4)),
        status,
        is_verified: is_verified(rng, &source),
        source,
        fulfillment_type,
        stock_level,
        delivery_countries: delivery_countries(rng, store.country),
        shipping_cost,
        lead_time_days,
        min_order_quantity: if rng.u8(..20) == 0 {
            [2, 6, 12, 24][rng.usize(..4)]
        } else {
            1
        },
    }
}

fn in_store_offer(
    rng: &mut fastrand::Rng,
    product: &Product,
    store: &Store,
    store_factor: Decimal,
    organization: &Organization,
) -> InStoreOfferOut {
    let source = weighted(rng, IN_STORE_SOURCES);
    let sku = if rng.u8(..5) == 0 {
        String::new()
    } else {
        format!("{}{:07}", sku_prefix(store), rng.u32(..10_000_000))
    };
    let quantity_on_hand = match rng.u8(..100) {
        0..20 => None,
        20..28 => Some(0),
        _ => Some(rng.i64(1..=250)),
    };
    let metadata = if rng.u8(..10) == 0 {
        json_object(json!({
            "planogram": format!("PG-{:04}", rng.u16(..10_000)),
            "pos_id": format!("{}", rng.u32(..1_000_000)),
        }))
    } else {
        Map::new()
    };
    InStoreOfferOut {
        id: shortuuid::encode(uuid_v4(rng)),
        product_id: shortuuid::encode(product.uuid),
        physical_store_id: store.id.clone(),
        metadata,
        organization_id: Some(organization.id.clone()),
        sku,
        price: Some(offer_price(rng, product, store, store_factor, 5)),
        status: weighted(rng, STATUSES),
        is_verified: is_verified(rng, &source),
        source,
        quantity_on_hand,
        aisle: if rng.u8(..10) < 7 {
            AISLES[rng.usize(..AISLES.len())].to_owned()
        } else {
            String::new()
        },
        store_pickup_available: rng.bool(),
    }
}

fn json_object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Picks `count` distinct stores: the first from `preferred` (so every
/// product is visible to the demo key), the rest from all stores.
fn pick_stores(
    rng: &mut fastrand::Rng,
    count: usize,
    preferred: &[usize],
    all: usize,
) -> Vec<usize> {
    let mut picked = vec![preferred[rng.usize(..preferred.len())]];
    while picked.len() < count.min(all) {
        let candidate = rng.usize(..all);
        if !picked.contains(&candidate) {
            picked.push(candidate);
        }
    }
    picked
}

/// The CRC-32 (IEEE 802.3) of `bytes`, as used in the API key checksum.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// A plausible API key derived from `seed`: `csb_<32 chars>_<crc32 hex>`.
pub(super) fn api_key(seed: u64) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = fastrand::Rng::with_seed(seed);
    let body: String = (0..32)
        .map(|_| char::from(CHARS[rng.usize(..CHARS.len())]))
        .collect();
    format!("csb_{body}_{:08x}", crc32(body.as_bytes()))
}

/// Whether `key` has the shape of a Closient key with a valid checksum.
pub fn is_well_formed_api_key(key: &str) -> bool {
    let Some(rest) = key.strip_prefix("csb_") else {
        return false;
    };
    let Some((body, checksum)) = rest.split_once('_') else {
        return false;
    };
    body.len() == 32
        && body.bytes().all(|b| b.is_ascii_alphanumeric())
        && checksum.len() == 8
        && u32::from_str_radix(checksum, 16).is_ok_and(|crc| crc == crc32(body.as_bytes()))
}

/// Organizations, stores and offers generated from the catalog, with the
/// organization (index) of every offer.
pub(super) struct Generated {
    pub organizations: Vec<Organization>,
    pub online_stores: Vec<Store>,
    pub physical_stores: Vec<Store>,
    pub online_offers: Vec<OnlineOfferOut>,
    pub online_org: Vec<usize>,
    pub in_store_offers: Vec<InStoreOfferOut>,
    pub in_store_org: Vec<usize>,
}

/// Generates everything from `catalog`: the same seed gives the same data.
/// Every product gets one to three online offers (the first at a store the
/// demo key sees) and 85% get one to three in-store offers.
pub(super) fn generate(catalog: &Catalog) -> Generated {
    let mut rng = fastrand::Rng::with_seed(catalog.seed ^ SALT);
    let mut organizations = Vec::new();
    let mut online_stores = Vec::new();
    let mut physical_stores = Vec::new();
    let mut store_factors: HashMap<(bool, usize), Decimal> = HashMap::new();
    for (index, spec) in ORGS.iter().enumerate() {
        let uuid = uuid_v4(&mut rng);
        organizations.push(Organization {
            uuid,
            id: shortuuid::encode(uuid),
            name: spec.name.to_owned(),
        });
        for (online, stores, specs) in [
            (true, &mut online_stores, spec.online),
            (false, &mut physical_stores, spec.physical),
        ] {
            for &(name, currency, country) in specs {
                let uuid = uuid_v4(&mut rng);
                store_factors.insert(
                    (online, stores.len()),
                    Decimal::new(90 + rng.i64(0..=20), 2),
                );
                stores.push(Store {
                    uuid,
                    id: shortuuid::encode(uuid),
                    organization: index,
                    name: name.to_owned(),
                    currency,
                    country,
                });
            }
        }
    }
    let in_demo = |store: &Store| DEMO_ORGS.contains(&store.organization);
    let demo_online: Vec<usize> = (0..online_stores.len())
        .filter(|&i| in_demo(&online_stores[i]))
        .collect();
    let demo_physical: Vec<usize> = (0..physical_stores.len())
        .filter(|&i| in_demo(&physical_stores[i]))
        .collect();

    let mut online_offers = Vec::new();
    let mut online_org = Vec::new();
    let mut in_store_offers = Vec::new();
    let mut in_store_org = Vec::new();
    for product in &catalog.products {
        let count = 1 + rng.usize(..3);
        for store_index in pick_stores(&mut rng, count, &demo_online, online_stores.len()) {
            let store = &online_stores[store_index];
            let organization = &organizations[store.organization];
            let factor = store_factors[&(true, store_index)];
            let sku = if rng.u8(..100) < 15 {
                String::new()
            } else {
                format!("{}-{:06}", sku_prefix(store), rng.u32(..1_000_000))
            };
            // A few products are sold in two pack sizes at one store:
            // same (product, store), different sku.
            let pack = (rng.u8(..100) < 3).then(|| {
                format!(
                    "{}-{}PK",
                    if sku.is_empty() { "MULTI" } else { &sku },
                    [2, 4, 6][rng.usize(..3)]
                )
            });
            online_offers.push(online_offer(
                &mut rng,
                product,
                store,
                factor,
                organization,
                sku,
            ));
            online_org.push(store.organization);
            if let Some(pack_sku) = pack {
                online_offers.push(online_offer(
                    &mut rng,
                    product,
                    store,
                    factor,
                    organization,
                    pack_sku,
                ));
                online_org.push(store.organization);
            }
        }
        if rng.u8(..100) < 85 {
            let count = 1 + rng.usize(..3);
            for store_index in pick_stores(&mut rng, count, &demo_physical, physical_stores.len()) {
                let store = &physical_stores[store_index];
                let factor = store_factors[&(false, store_index)];
                in_store_offers.push(in_store_offer(
                    &mut rng,
                    product,
                    store,
                    factor,
                    &organizations[store.organization],
                ));
                in_store_org.push(store.organization);
            }
        }
    }

    Generated {
        organizations,
        online_stores,
        physical_stores,
        online_offers,
        online_org,
        in_store_offers,
        in_store_org,
    }
}

impl SimData {
    /// Generates the simulator's data from the shared catalog. The same
    /// catalog seed always gives the same data, except that promotion
    /// windows are placed against the time of the call
    /// ([`SimData::started_at`]).
    pub fn generate(catalog: &Catalog) -> Self {
        let Generated {
            organizations,
            online_stores,
            physical_stores,
            online_offers,
            online_org,
            in_store_offers,
            in_store_org,
        } = generate(catalog);
        let (products, browse_products): (Vec<ProductOut>, Vec<ProductBrowseOut>) =
            catalog.products.iter().map(product_records).unzip();
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

        let by_org = |owners: &[usize]| {
            let mut by_org = vec![Vec::new(); organizations.len()];
            for (index, &org) in owners.iter().enumerate() {
                by_org[org].push(index);
            }
            by_org
        };
        let online_by_org = by_org(&online_org);
        let in_store_by_org = by_org(&in_store_org);
        let started_at = promotions::start_time(SystemTime::now());
        let promotions =
            |offers: Vec<(&str, Option<&PriceOut>)>| -> HashMap<u128, Vec<PromotionOut>> {
                offers
                    .into_iter()
                    .filter_map(|(id, price)| {
                        let promotions =
                            promotions::promotions_of(catalog.seed, id, price, started_at);
                        let uuid = shortuuid::decode(id).expect("generated ids are shortuuids");
                        (!promotions.is_empty()).then_some((uuid, promotions))
                    })
                    .collect()
            };
        let online_promotions = promotions(
            online_offers
                .iter()
                .map(|o| (o.id.as_str(), o.price.as_ref()))
                .collect(),
        );
        let in_store_promotions = promotions(
            in_store_offers
                .iter()
                .map(|o| (o.id.as_str(), o.price.as_ref()))
                .collect(),
        );
        SimData {
            started_at,
            online_promotions,
            in_store_promotions,
            promotion_drift: Drift::default(),
            online_by_uuid: uuid_index(online_offers.iter().map(|o| o.id.as_str())),
            in_store_by_uuid: uuid_index(in_store_offers.iter().map(|o| o.id.as_str())),
            products_by_uuid: uuid_index(products.iter().map(|p| p.id.as_str())),
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
            in_store_by_org,
            organizations,
            online_stores,
            physical_stores,
            online_offers,
            in_store_offers,
            products,
            browse_products,
            api_keys,
            drift: Drift::default(),
            limiter: RateLimiter::default(),
            changes: RwLock::new(Changes::new(catalog.seed)),
        }
    }
}

/// Mixed into a brand's name hash for the UUID of the organization that
/// owns its claimed products.
const BRAND_OWNER_SALT: u64 = 0xC105_B4A0_0000_0001;
const DATA_SOURCES: &[&str] = &[
    "crowd_sourced",
    "imported",
    "open_food_facts",
    "affiliate_feed",
];
const ORIGINS: &[&str] = &["US", "DE", "JP", "CN", "FR", "GB", "IT", "MX"];

/// The products API's records of a catalog product: the canonical
/// `ProductOut` (by GTIN) and the compact `ProductBrowseOut` (by id).
/// Everything is derived from the product alone, so it does not depend on
/// the offers: about 60% of the products are claimed (by an organization
/// per brand), a few have no image, manufacturer or description.
fn product_records(product: &Product) -> (ProductOut, ProductBrowseOut) {
    let mut rng =
        fastrand::Rng::with_seed(SALT ^ (product.uuid as u64) ^ ((product.uuid >> 64) as u64));
    let is_claimed = rng.u8(..10) < 6;
    let owner_id = is_claimed.then(|| {
        let mut owner =
            fastrand::Rng::with_seed(BRAND_OWNER_SALT ^ u64::from(crc32(product.brand.as_bytes())));
        shortuuid::encode(uuid_v4(&mut owner))
    });
    let description = if rng.u8(..5) == 0 {
        String::new()
    } else {
        format!(
            "{}: {} from {}.",
            product.name,
            product.category.to_lowercase(),
            product.brand
        )
    };
    let created = format!(
        "{}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        rng.u16(2019..=2024),
        rng.u8(1..=12),
        rng.u8(1..=28),
        rng.u8(..24),
        rng.u8(..60),
        rng.u8(..60)
    );
    let id = shortuuid::encode(product.uuid);
    let full = ProductOut {
        id: id.clone(),
        gtin: product.gtin.clone(),
        product_name: product.name.clone(),
        is_claimed,
        data_source: Some(if is_claimed {
            "claimed".to_owned()
        } else {
            DATA_SOURCES[rng.usize(..DATA_SOURCES.len())].to_owned()
        }),
        confidence_score: Some(if is_claimed {
            1.0
        } else {
            f64::from(rng.u8(40..=95)) / 100.0
        }),
        field_confidence: Map::new(),
        metadata: Map::new(),
        brand: product.brand.clone(),
        manufacturer: if rng.u8(..4) == 0 {
            String::new()
        } else {
            format!("{} Manufacturing", product.brand)
        },
        description: description.clone(),
        image_url: if rng.u8(..10) == 0 {
            String::new()
        } else {
            format!(
                "https://cdn.closient.com/products/{}/primary.jpg",
                product.gtin
            )
        },
        country_of_origin: if rng.u8(..3) == 0 {
            String::new()
        } else {
            ORIGINS[rng.usize(..ORIGINS.len())].to_owned()
        },
        net_content: String::new(),
        owner_id: owner_id.clone(),
        claim_verification_status: Some("unverified".to_owned()),
    };
    let browse = ProductBrowseOut {
        id,
        gtin: product.gtin.clone(),
        is_claimed,
        created: Some(created),
        product_name: product.name.clone(),
        brand: product.brand.clone(),
        description,
        owner_id,
    };
    (full, browse)
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::sim::catalog;
    use crate::upstream::closient;
    use crate::upstream::closient::sim::{demo_credentials, other_credentials, SimData};
    use crate::upstream::Credentials;
    fn demo_key() -> String {
        key_of(&demo_credentials())
    }

    fn key_of(credentials: &Credentials) -> String {
        match credentials {
            Credentials::Closient(closient::Credentials { api_key }) => api_key.expose().to_owned(),
            _ => unreachable!("Closient credentials"),
        }
    }

    fn data() -> SimData {
        SimData::generate(&Catalog::demo())
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
}
