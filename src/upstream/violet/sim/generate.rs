//! Generation of the Violet simulator's data from the shared catalog: the
//! six merchants and their collections, one offer per product with its
//! SKUs, variants, albums, metadata and every documented enum value, and
//! the apps. Also the conversion of minor units between currencies and the
//! dates the data and the answers carry.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, RwLock};

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value};

use super::live::Changes;
use super::{
    App, Merchant, SimData, Tokens, DEMO_APP_ID, DEMO_APP_SECRET, DEMO_PASSWORD, DEMO_USERNAME,
    EXCHANGE_RATES, OTHER_APP_ID, OTHER_APP_SECRET, OTHER_PASSWORD, OTHER_USERNAME,
};
use crate::pricing::{Currency, JsonNumber};
use crate::sim::catalog::{with_check_digit, Catalog, Product};
use crate::sim::drift::Drift;
use crate::upstream::violet::wire::{
    self, ProductType, PublishingStatus, Source, Status, SubscriptionStatus,
};
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
            apps,
            rates,
            drift: Drift::default(),
            index,
            tokens: Mutex::new(Tokens::default()),
            changes: RwLock::new(Changes::new(&offers)),
            offers,
        }
    }
}

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

pub(super) fn currency_symbol(code: &str) -> &str {
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
pub(super) fn format_date(epoch_seconds: i64) -> String {
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

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
}
