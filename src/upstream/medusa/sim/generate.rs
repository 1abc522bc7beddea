//! Generation of the Medusa simulator's data from the shared catalog:
//! admin users, sellers, shipping profiles and customer groups, and every
//! product's offers by one or two sellers with their variants, inventory
//! items and tiered, multi-currency, rule-bound, missing and zero prices.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use rust_decimal::Decimal;
use serde_json::json;
use ulid::Ulid;

use super::live::Changes;
use super::{
    SimData, SimUser, DAY_MS, DEMO_EMAIL, DEMO_PASSWORD, OTHER_EMAIL, OTHER_PASSWORD, SIM_EPOCH_MS,
};
use crate::pricing::JsonNumber;
use crate::sim::catalog::{Catalog, Product};
use crate::sim::drift::Drift;
use crate::upstream::medusa::wire;
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
        let mut latest_ms = clock;
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
                latest_ms = latest_ms.max(updated_ms);
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
            changes: RwLock::new(Changes::new(catalog.seed, latest_ms)),
        }
    }
}

/// `<prefix><ULID>` with the ULID's time part at `ms` and random bits from `rng`.
pub(super) fn new_id(rng: &mut fastrand::Rng, prefix: &str, ms: u64) -> String {
    with_prefix(prefix, Ulid::from_parts(ms, rng.u128(..)))
}

/// Formats a ULID with a prefix, e.g. `offer_01HXYZ...`.
pub(crate) fn with_prefix(prefix: &str, ulid: ulid::Ulid) -> String {
    format!("{prefix}{ulid}")
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
        let rules_count = i64::from(rules.is_some());
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
            rules_count: Some(rules_count),
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
pub(super) fn iso_millis(ms: u64) -> String {
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::Value;

    use super::*;
    use crate::pricing;
    use crate::sim::catalog::{DEMO_SEED, PRODUCT_COUNT};
    use crate::upstream::medusa::id::{canonical, canonical_offer_id, OFFER_PREFIX};
    fn generate(seed: u64) -> SimData {
        SimData::generate(&Catalog::generate(seed))
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
    #[test]
    fn generated_ulids_round_trip() {
        let id = with_prefix(OFFER_PREFIX, ulid::Ulid::from_parts(1_700_000_000_000, 42));
        assert_eq!(canonical_offer_id(&id.to_lowercase()), Ok(id));
    }
}
