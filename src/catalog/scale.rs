//! The catalog index at scale: a benchmark command that prints figures
//! (never a wall-clock assertion). It fills an index on disk with a
//! generated catalog of `OG_INDEX_OFFERS` offers (default 1,000,000) the
//! way a sync pass does (pages of 100), then times product lookups and
//! searches:
//!
//! ```sh
//! cargo test --release --lib catalog::scale -- --ignored --nocapture
//! ```

use std::time::{Duration, Instant};

use super::store::{CatalogStore, SqliteStore};
use crate::gtin::Gtin;
use crate::model::{OfferKey, OfferKind, ProductFacts};
use crate::upstream::CatalogEntry;

const ADJECTIVES: &[&str] = &[
    "Classic",
    "Organic",
    "Ultra",
    "Compact",
    "Deluxe",
    "Everyday",
    "Pro",
    "Eco",
    "Smart",
    "Vintage",
    "Wireless",
    "Premium",
    "Mini",
    "Heavy-Duty",
    "Travel",
    "Silent",
    "Rapid",
];
const NOUNS: &[&str] = &[
    "Coffee Beans",
    "Olive Oil",
    "Green Tea",
    "Headphones",
    "Phone Charger",
    "Desk Lamp",
    "Chef Knife",
    "Cast Iron Pan",
    "Running Shoes",
    "Rain Jacket",
    "Wool Socks",
    "Yoga Mat",
    "Water Bottle",
    "Backpack",
    "Camping Stove",
    "Board Game",
    "Building Blocks",
    "Notebook",
    "Fountain Pen",
    "Blender",
    "Toaster",
    "Kettle",
    "Drill",
    "Hammer",
    "Sunglasses",
];
const BRANDS: &[&str] = &[
    "Acme",
    "Initech",
    "Tyrell",
    "Umbrella",
    "Globex",
    "Soylent",
    "Hooli",
    "Stark",
    "Wayne",
    "Wonka",
    "Cyberdyne",
    "Aperture",
    "Vandelay",
    "Pied Piper",
    "Massive Dynamic",
];

/// The GTIN of generated product `n`.
fn gtin(n: u64) -> Gtin {
    let code = crate::gtin::with_check_digit(&format!("{:013}", 10_000_000 + n))
        .expect("a generated GTIN body is digits");
    Gtin::parse(&code).expect("a generated GTIN is valid")
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

#[tokio::test]
#[ignore = "a benchmark: run with --release -- --ignored --nocapture"]
async fn index_of_a_generated_catalog() {
    let offers: u64 = std::env::var("OG_INDEX_OFFERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let products = (offers * 2 / 5).max(1);
    let dir = std::env::temp_dir().join(format!("og-index-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = SqliteStore::open(&dir).await.expect("the index opens");
    let mut rng = fastrand::Rng::with_seed(7);
    let instances = ["closient", "medusa", "violet", "medusa-eu"];

    // Fill: pages of 100 per instance, as a sync pass writes them.
    let started = Instant::now();
    let mut passes = Vec::new();
    for instance in instances {
        passes.push(store.start_pass(instance).await.expect("a pass"));
    }
    let mut page: Vec<CatalogEntry> = Vec::with_capacity(100);
    for n in 0..offers {
        let product = rng.u64(0..products);
        let seed = product as usize;
        let name = format!(
            "{} {} {}",
            BRANDS[seed % BRANDS.len()],
            ADJECTIVES[(seed / 7) % ADJECTIVES.len()],
            NOUNS[(seed / 3) % NOUNS.len()]
        );
        page.push(CatalogEntry {
            key: OfferKey::new(OfferKind::Marketplace, format!("offer_{n:012}")),
            facts: ProductFacts {
                upstream_product_id: Some(format!("prod_{product}")),
                gtins: vec![gtin(product)],
                name: Some(name),
                brand: Some(BRANDS[seed % BRANDS.len()].to_owned()),
                image_url: None,
            },
            modified_at: None,
        });
        if page.len() == 100 || n + 1 == offers {
            let i = (n / 100) as usize % instances.len();
            store
                .record_offers(instances[i], Some(passes[i]), &page)
                .await
                .expect("a page is recorded");
            page.clear();
        }
    }
    let fill = started.elapsed();
    let size = store.size_bytes().await.expect("a size");
    let indexed = store.product_count().await.expect("a count");

    // product(gtin): the product and its offers, for random GTINs.
    let mut lookups = Vec::new();
    for _ in 0..10_000 {
        let gtin = gtin(rng.u64(0..products));
        let t = Instant::now();
        let product = store.product(&gtin).await.expect("a lookup");
        let found = store.offers_of(&gtin).await.expect("offers");
        lookups.push(t.elapsed());
        assert!(product.is_none() || !found.is_empty());
    }
    lookups.sort();

    // products(search): one or two words, first page of 10.
    let mut searches = Vec::new();
    let mut hits = 0u64;
    for i in 0..1_000 {
        let mut words = vec![NOUNS[rng.usize(..NOUNS.len())]
            .split(' ')
            .next()
            .unwrap_or("Tea")
            .to_lowercase()];
        if i % 2 == 0 {
            words.push(BRANDS[rng.usize(..BRANDS.len())].to_lowercase());
        }
        let t = Instant::now();
        let (page, total) = store.search(&words, 0, 10).await.expect("a search");
        searches.push(t.elapsed());
        hits += total;
        assert!(page.len() <= 10);
    }
    searches.sort();

    println!();
    println!("catalog index of {offers} offers over {indexed} products (SQLite + FTS5, on disk)");
    println!();
    println!("| measure | value |");
    println!("| --- | ---: |");
    println!(
        "| fill, as sync pages of 100 | {:.1} s ({:.0} offers/s) |",
        fill.as_secs_f64(),
        offers as f64 / fill.as_secs_f64()
    );
    println!(
        "| index size | {:.0} MiB ({:.0} bytes/offer) |",
        size as f64 / 1048576.0,
        size as f64 / offers as f64
    );
    println!(
        "| product + offers by GTIN, p50 / p99 | {} / {} ms |",
        ms(percentile(&lookups, 0.5)),
        ms(percentile(&lookups, 0.99))
    );
    println!(
        "| search (1-2 words, first 10), p50 / p99 | {} / {} ms |",
        ms(percentile(&searches, 0.5)),
        ms(percentile(&searches, 0.99))
    );
    println!(
        "| search matches per query (mean) | {:.0} |",
        hits as f64 / 1_000.0
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
