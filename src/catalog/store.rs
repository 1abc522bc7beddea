//! The catalog index's storage interface, and its embedded SQLite
//! implementation.
//!
//! Everything the gateway keeps about products goes through
//! [`CatalogStore`]; [`SqliteStore`] is the embedded default (one file in
//! the data directory, FTS5 for search). A shared engine for many replicas
//! implements the same trait.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::gtin::Gtin;
use crate::model::{OfferKey, OfferKind, ProductFacts};
use crate::upstream::CatalogEntry;

/// Why the catalog index cannot answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CatalogError {
    /// The storage engine failed (a file that cannot be opened or written,
    /// a corrupt database). The detail is for logs.
    #[error("catalog storage: {0}")]
    Storage(String),
}

impl From<sqlx::Error> for CatalogError {
    fn from(err: sqlx::Error) -> Self {
        CatalogError::Storage(err.to_string())
    }
}

/// One offer the index holds: where it lives and what it is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct IndexedOffer {
    /// The upstream instance's name.
    pub(crate) instance: String,
    /// The offer's key in that instance.
    pub(crate) key: OfferKey,
}

/// A product as the index knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProductRecord {
    /// Its GTIN.
    pub(crate) gtin: Gtin,
    /// Name, from the first upstream that gave one.
    pub(crate) name: Option<String>,
    /// Brand, from the first upstream that gave one.
    pub(crate) brand: Option<String>,
    /// Image URLs known from any upstream, without repeats.
    pub(crate) images: Vec<String>,
}

/// What the index knows of one upstream product id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KnownProduct {
    /// Never asked.
    Unknown,
    /// Asked: the upstream gives no (valid) GTIN for it.
    NoGtin,
    /// Asked: its GTIN.
    Gtin(Gtin),
}

/// The storage interface of the catalog index.
#[async_trait]
pub(crate) trait CatalogStore: Send + Sync + 'static {
    /// Records entries of `instance` seen in sync pass `pass` (or outside a
    /// pass, from a by-id fetch, with `None`): their product ids, GTINs and
    /// product facts. An entry replaces what the index held for its offer.
    async fn record_offers(
        &self,
        instance: &str,
        pass: Option<i64>,
        entries: &[CatalogEntry],
    ) -> Result<(), CatalogError>;

    /// Forgets one offer (the upstream answered 404 for it).
    async fn remove_offer(&self, instance: &str, key: &OfferKey) -> Result<(), CatalogError>;

    /// Whether recording `found` and removing `gone`, as a by-id fetch
    /// does, would write nothing: then the caller need not record them at
    /// all. `false` when the store cannot tell.
    fn lookups_unchanged(
        &self,
        _instance: &str,
        _found: &[CatalogEntry],
        _gone: &[OfferKey],
    ) -> bool {
        false
    }

    /// Starts a full pass of `instance`: its number.
    async fn start_pass(&self, instance: &str) -> Result<i64, CatalogError>;

    /// Ends a full pass that read every feed to the end: forgets the
    /// offers of `instance` the pass did not see, and remembers when it
    /// ended. The number forgotten.
    async fn finish_pass(&self, instance: &str, pass: i64) -> Result<u64, CatalogError>;

    /// When the last full pass of `instance` ended, in this or an earlier
    /// run of the gateway (so that a restart does not re-crawl).
    async fn last_full_pass(&self, instance: &str) -> Result<Option<SystemTime>, CatalogError>;

    /// Records what `instance` says of its product `product_id`: its facts
    /// (GTIN, name, ...), or `None` for a product it does not know.
    async fn record_product(
        &self,
        instance: &str,
        product_id: &str,
        facts: Option<&ProductFacts>,
    ) -> Result<(), CatalogError>;

    /// Up to `limit` product ids named by offers of `instance` and never
    /// resolved.
    async fn unresolved_product_ids(
        &self,
        instance: &str,
        limit: u32,
    ) -> Result<Vec<String>, CatalogError>;

    /// What the index knows of `instance`'s product `product_id`.
    async fn known_product(
        &self,
        instance: &str,
        product_id: &str,
    ) -> Result<KnownProduct, CatalogError>;

    /// Whether `instance` has been asked about `gtin` (by
    /// [`CatalogStore::record_gtin_lookup`]) or has a product with it.
    async fn gtin_known_to(&self, instance: &str, gtin: &Gtin) -> Result<bool, CatalogError>;

    /// Remembers that `instance` was asked about `gtin` and answered
    /// `product_id` (`None`: no such product).
    async fn record_gtin_lookup(
        &self,
        instance: &str,
        gtin: &Gtin,
        product_id: Option<&str>,
    ) -> Result<(), CatalogError>;

    /// The product with `gtin`, if any upstream named it.
    async fn product(&self, gtin: &Gtin) -> Result<Option<ProductRecord>, CatalogError>;

    /// Every offer of the product `gtin`, across instances, sorted.
    async fn offers_of(&self, gtin: &Gtin) -> Result<Vec<IndexedOffer>, CatalogError>;

    /// Products whose name or brand match every word of `words` (prefixes
    /// count), best match first: a window of `limit` from `offset`, and the
    /// total count.
    async fn search(
        &self,
        words: &[String],
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<ProductRecord>, u64), CatalogError>;

    /// Number of offers of `instance` in the index.
    async fn offer_count(&self, instance: &str) -> Result<u64, CatalogError>;

    /// Number of products in the index.
    async fn product_count(&self) -> Result<u64, CatalogError>;

    /// Size of the index in its storage, in bytes.
    async fn size_bytes(&self) -> Result<u64, CatalogError>;
}

/// The embedded catalog index: one SQLite file with FTS5.
#[derive(Clone, Debug)]
pub(crate) struct SqliteStore {
    pool: SqlitePool,
}

/// The schema, created on open. Offer keys are (instance, kind, native id).
const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS offers (
    instance TEXT NOT NULL,
    kind TEXT NOT NULL,
    native_id TEXT NOT NULL,
    product_id TEXT,
    seen_pass INTEGER,
    PRIMARY KEY (instance, kind, native_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS offers_by_product ON offers (instance, product_id);
CREATE TABLE IF NOT EXISTS offer_gtins (
    instance TEXT NOT NULL,
    kind TEXT NOT NULL,
    native_id TEXT NOT NULL,
    gtin TEXT NOT NULL,
    PRIMARY KEY (instance, kind, native_id, gtin)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS offer_gtins_by_gtin ON offer_gtins (gtin);
CREATE TABLE IF NOT EXISTS upstream_products (
    instance TEXT NOT NULL,
    product_id TEXT NOT NULL,
    gtin TEXT,
    PRIMARY KEY (instance, product_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS upstream_products_by_gtin ON upstream_products (gtin);
CREATE TABLE IF NOT EXISTS gtin_lookups (
    instance TEXT NOT NULL,
    gtin TEXT NOT NULL,
    PRIMARY KEY (instance, gtin)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS products (
    gtin TEXT NOT NULL UNIQUE,
    name TEXT,
    brand TEXT
);
CREATE TABLE IF NOT EXISTS product_images (
    gtin TEXT NOT NULL,
    url TEXT NOT NULL,
    PRIMARY KEY (gtin, url)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS product_search USING fts5(
    name, brand, content = 'products', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS products_search_insert AFTER INSERT ON products BEGIN
    INSERT INTO product_search (rowid, name, brand) VALUES (new.rowid, new.name, new.brand);
END;
CREATE TRIGGER IF NOT EXISTS products_search_delete AFTER DELETE ON products BEGIN
    INSERT INTO product_search (product_search, rowid, name, brand)
    VALUES ('delete', old.rowid, old.name, old.brand);
END;
CREATE TRIGGER IF NOT EXISTS products_search_update AFTER UPDATE ON products BEGIN
    INSERT INTO product_search (product_search, rowid, name, brand)
    VALUES ('delete', old.rowid, old.name, old.brand);
    INSERT INTO product_search (rowid, name, brand) VALUES (new.rowid, new.name, new.brand);
END;
CREATE TABLE IF NOT EXISTS passes (
    instance TEXT PRIMARY KEY,
    pass INTEGER NOT NULL,
    finished_at INTEGER
) WITHOUT ROWID;
"#;

/// The version of [`SCHEMA`], kept in SQLite's `user_version`. An index
/// of another version is dropped and rebuilt: it only caches what the
/// upstreams say, so a new sync refills it.
const SCHEMA_VERSION: i64 = 2;

/// Every table of the schema, for a rebuild.
const TABLES: [&str; 8] = [
    "offers",
    "offer_gtins",
    "upstream_products",
    "gtin_lookups",
    "product_search",
    "products",
    "product_images",
    "passes",
];

impl SqliteStore {
    /// Opens (creating if needed) the index file `catalog.sqlite3` in
    /// `data_dir`, which must exist or be creatable, and be writable.
    pub(crate) async fn open(data_dir: &Path) -> Result<SqliteStore, CatalogError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            CatalogError::Storage(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join("catalog.sqlite3"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            // 1 MiB of page cache per connection (SQLite's default is 2):
            // the index's hot pages are few, the OS caches the file.
            .pragma("cache_size", "-1024");
        SqliteStore::connect(options, 4).await
    }

    /// An index in memory only, gone with the gateway (tests, and a gateway
    /// started without a data directory).
    pub(crate) async fn in_memory() -> Result<SqliteStore, CatalogError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?;
        // One connection: each in-memory connection is its own database.
        SqliteStore::connect(options, 1).await
    }

    async fn connect(
        options: SqliteConnectOptions,
        connections: u32,
    ) -> Result<SqliteStore, CatalogError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(connections)
            .connect_with(options)
            .await?;
        let version: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&pool)
            .await?;
        if version != SCHEMA_VERSION {
            for table in TABLES {
                sqlx::raw_sql(&format!("DROP TABLE IF EXISTS {table}"))
                    .execute(&pool)
                    .await?;
            }
            sqlx::raw_sql(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
                .execute(&pool)
                .await?;
        }
        sqlx::raw_sql(SCHEMA).execute(&pool).await?;
        // A read-only file opens fine; find out now, not at the first write.
        sqlx::query("INSERT OR REPLACE INTO passes (instance, pass) SELECT '', 0")
            .execute(&pool)
            .await?;
        Ok(SqliteStore { pool })
    }
}

/// Adds the products of a page (a JSON array of entries, see
/// [`page_json`]) with their names, brands and images. An offer's facts
/// fill what earlier upstreams left empty; the search index follows the
/// products table through its triggers.
async fn upsert_products(tx: &mut sqlx::SqliteConnection, page: &str) -> Result<(), CatalogError> {
    sqlx::query(
        "INSERT INTO products (gtin, name, brand)
         SELECT g.value, j.value ->> 'name', j.value ->> 'brand'
         FROM json_each(?1) j, json_each(j.value -> 'gtins') g WHERE true
         ON CONFLICT (gtin) DO UPDATE SET
           name = COALESCE(products.name, excluded.name),
           brand = COALESCE(products.brand, excluded.brand)
         WHERE (products.name IS NULL AND excluded.name IS NOT NULL)
            OR (products.brand IS NULL AND excluded.brand IS NOT NULL)",
    )
    .bind(page)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT OR IGNORE INTO product_images (gtin, url)
         SELECT g.value, j.value ->> 'image'
         FROM json_each(?1) j, json_each(j.value -> 'gtins') g
         WHERE j.value ->> 'image' IS NOT NULL",
    )
    .bind(page)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A page of entries as one JSON array, so that a page is written by a
/// few set-based statements rather than several per offer.
fn page_json(entries: &[CatalogEntry]) -> String {
    let rows: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "kind": e.key.kind.type_name(),
                "id": e.key.native_id,
                "product": e.facts.upstream_product_id,
                "gtins": e.facts.gtins.iter().map(Gtin::as_str).collect::<Vec<_>>(),
                "name": e.facts.name,
                "brand": e.facts.brand,
                "image": e.facts.image_url,
            })
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

fn kind_of(name: &str) -> Result<OfferKind, CatalogError> {
    OfferKind::from_type_name(name)
        .ok_or_else(|| CatalogError::Storage(format!("unknown offer kind {name:?} in the index")))
}

fn gtin_of(text: &str) -> Result<Gtin, CatalogError> {
    Gtin::parse(text).map_err(|e| CatalogError::Storage(format!("bad GTIN {text:?}: {e}")))
}

/// An FTS5 query matching every word as a prefix: each word quoted (so
/// that no word is read as an FTS operator), `*` after it.
fn fts_query(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn record_offers(
        &self,
        instance: &str,
        pass: Option<i64>,
        entries: &[CatalogEntry],
    ) -> Result<(), CatalogError> {
        if entries.is_empty() {
            return Ok(());
        }
        let page = page_json(entries);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO offers (instance, kind, native_id, product_id, seen_pass)
             SELECT ?1, j.value ->> 'kind', j.value ->> 'id', j.value ->> 'product', ?2
             FROM json_each(?3) j WHERE true
             ON CONFLICT (instance, kind, native_id) DO UPDATE SET
               product_id = excluded.product_id,
               seen_pass = COALESCE(excluded.seen_pass, offers.seen_pass)",
        )
        .bind(instance)
        .bind(pass)
        .bind(&page)
        .execute(&mut *tx)
        .await?;
        // An entry's codes replace what the index held for its offer.
        sqlx::query(
            "DELETE FROM offer_gtins WHERE instance = ?1 AND (kind, native_id) IN
               (SELECT j.value ->> 'kind', j.value ->> 'id' FROM json_each(?2) j)",
        )
        .bind(instance)
        .bind(&page)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT OR IGNORE INTO offer_gtins (instance, kind, native_id, gtin)
             SELECT ?1, j.value ->> 'kind', j.value ->> 'id', g.value
             FROM json_each(?2) j, json_each(j.value -> 'gtins') g",
        )
        .bind(instance)
        .bind(&page)
        .execute(&mut *tx)
        .await?;
        upsert_products(&mut tx, &page).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_offer(&self, instance: &str, key: &OfferKey) -> Result<(), CatalogError> {
        let mut tx = self.pool.begin().await?;
        for table in ["offers", "offer_gtins"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE instance = ? AND kind = ? AND native_id = ?"
            ))
            .bind(instance)
            .bind(key.kind.type_name())
            .bind(&key.native_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn start_pass(&self, instance: &str) -> Result<i64, CatalogError> {
        let pass: i64 = sqlx::query_scalar(
            "INSERT INTO passes (instance, pass) VALUES (?, 1)
             ON CONFLICT (instance) DO UPDATE SET pass = passes.pass + 1
             RETURNING pass",
        )
        .bind(instance)
        .fetch_one(&self.pool)
        .await?;
        Ok(pass)
    }

    async fn finish_pass(&self, instance: &str, pass: i64) -> Result<u64, CatalogError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM offer_gtins WHERE (instance, kind, native_id) IN (
               SELECT instance, kind, native_id FROM offers
               WHERE instance = ?1 AND (seen_pass IS NULL OR seen_pass < ?2))",
        )
        .bind(instance)
        .bind(pass)
        .execute(&mut *tx)
        .await?;
        let removed = sqlx::query(
            "DELETE FROM offers WHERE instance = ?1 AND (seen_pass IS NULL OR seen_pass < ?2)",
        )
        .bind(instance)
        .bind(pass)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        sqlx::query("UPDATE passes SET finished_at = ? WHERE instance = ?")
            .bind(i64::try_from(now).unwrap_or(i64::MAX))
            .bind(instance)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(removed)
    }

    async fn last_full_pass(&self, instance: &str) -> Result<Option<SystemTime>, CatalogError> {
        let finished: Option<Option<i64>> =
            sqlx::query_scalar("SELECT finished_at FROM passes WHERE instance = ?")
                .bind(instance)
                .fetch_optional(&self.pool)
                .await?;
        Ok(finished
            .flatten()
            .and_then(|secs| u64::try_from(secs).ok())
            .map(|secs| UNIX_EPOCH + Duration::from_secs(secs)))
    }

    async fn record_product(
        &self,
        instance: &str,
        product_id: &str,
        facts: Option<&ProductFacts>,
    ) -> Result<(), CatalogError> {
        let mut tx = self.pool.begin().await?;
        let gtin = facts.and_then(|f| f.gtins.first().copied());
        sqlx::query(
            "INSERT OR REPLACE INTO upstream_products (instance, product_id, gtin) VALUES (?, ?, ?)",
        )
        .bind(instance)
        .bind(product_id)
        .bind(gtin.as_ref().map(Gtin::as_str))
        .execute(&mut *tx)
        .await?;
        if let (Some(gtin), Some(facts)) = (gtin, facts) {
            sqlx::query("INSERT OR IGNORE INTO gtin_lookups (instance, gtin) VALUES (?, ?)")
                .bind(instance)
                .bind(gtin.as_str())
                .execute(&mut *tx)
                .await?;
            // A product registry (Closient's products API, keyed by GTIN)
            // names the product: its name and brand replace the offers'.
            sqlx::query(
                "INSERT INTO products (gtin, name, brand) VALUES (?1, ?2, ?3)
                 ON CONFLICT (gtin) DO UPDATE SET
                   name = COALESCE(excluded.name, products.name),
                   brand = COALESCE(excluded.brand, products.brand)
                 WHERE products.name IS NOT excluded.name
                    OR products.brand IS NOT excluded.brand",
            )
            .bind(gtin.as_str())
            .bind(&facts.name)
            .bind(&facts.brand)
            .execute(&mut *tx)
            .await?;
            if let Some(url) = &facts.image_url {
                sqlx::query("INSERT OR IGNORE INTO product_images (gtin, url) VALUES (?, ?)")
                    .bind(gtin.as_str())
                    .bind(url)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn unresolved_product_ids(
        &self,
        instance: &str,
        limit: u32,
    ) -> Result<Vec<String>, CatalogError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT o.product_id FROM offers o
             WHERE o.instance = ?1 AND o.product_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM upstream_products p
                               WHERE p.instance = o.instance AND p.product_id = o.product_id)
             ORDER BY o.product_id LIMIT ?2",
        )
        .bind(instance)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(ids)
    }

    async fn known_product(
        &self,
        instance: &str,
        product_id: &str,
    ) -> Result<KnownProduct, CatalogError> {
        let row: Option<Option<String>> = sqlx::query_scalar(
            "SELECT gtin FROM upstream_products WHERE instance = ? AND product_id = ?",
        )
        .bind(instance)
        .bind(product_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            None => KnownProduct::Unknown,
            Some(None) => KnownProduct::NoGtin,
            Some(Some(gtin)) => KnownProduct::Gtin(gtin_of(&gtin)?),
        })
    }

    async fn gtin_known_to(&self, instance: &str, gtin: &Gtin) -> Result<bool, CatalogError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM gtin_lookups WHERE instance = ?1 AND gtin = ?2
             UNION SELECT 1 FROM upstream_products WHERE instance = ?1 AND gtin = ?2",
        )
        .bind(instance)
        .bind(gtin.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    async fn record_gtin_lookup(
        &self,
        instance: &str,
        gtin: &Gtin,
        product_id: Option<&str>,
    ) -> Result<(), CatalogError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT OR IGNORE INTO gtin_lookups (instance, gtin) VALUES (?, ?)")
            .bind(instance)
            .bind(gtin.as_str())
            .execute(&mut *tx)
            .await?;
        if let Some(product_id) = product_id {
            sqlx::query(
                "INSERT OR REPLACE INTO upstream_products (instance, product_id, gtin)
                 VALUES (?, ?, ?)",
            )
            .bind(instance)
            .bind(product_id)
            .bind(gtin.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn product(&self, gtin: &Gtin) -> Result<Option<ProductRecord>, CatalogError> {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT name, brand FROM products WHERE gtin = ?")
                .bind(gtin.as_str())
                .fetch_optional(&self.pool)
                .await?;
        let Some((name, brand)) = row else {
            return Ok(None);
        };
        let images: Vec<String> =
            sqlx::query_scalar("SELECT url FROM product_images WHERE gtin = ? ORDER BY url")
                .bind(gtin.as_str())
                .fetch_all(&self.pool)
                .await?;
        Ok(Some(ProductRecord {
            gtin: *gtin,
            name,
            brand,
            images,
        }))
    }

    async fn offers_of(&self, gtin: &Gtin) -> Result<Vec<IndexedOffer>, CatalogError> {
        let rows = sqlx::query(
            "SELECT instance, kind, native_id FROM offer_gtins WHERE gtin = ?1
             UNION
             SELECT o.instance, o.kind, o.native_id FROM upstream_products p
               JOIN offers o ON o.instance = p.instance AND o.product_id = p.product_id
             WHERE p.gtin = ?1
             ORDER BY 1, 2, 3",
        )
        .bind(gtin.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(IndexedOffer {
                    instance: row.try_get("instance")?,
                    key: OfferKey::new(
                        kind_of(row.try_get::<&str, _>("kind")?)?,
                        row.try_get::<String, _>("native_id")?,
                    ),
                })
            })
            .collect()
    }

    async fn search(
        &self,
        words: &[String],
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<ProductRecord>, u64), CatalogError> {
        if words.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let query = fts_query(words);
        let total: i64 =
            sqlx::query_scalar("SELECT count(*) FROM product_search WHERE product_search MATCH ?")
                .bind(&query)
                .fetch_one(&self.pool)
                .await?;
        // Name matches weigh more than brand matches; ties by GTIN, so that
        // pages are stable.
        let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT p.gtin, p.name, p.brand FROM product_search s
             JOIN products p ON p.rowid = s.rowid
             WHERE product_search MATCH ?1
             ORDER BY bm25(product_search, 10.0, 3.0), p.gtin LIMIT ?2 OFFSET ?3",
        )
        .bind(&query)
        .bind(i64::from(limit))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let mut products = Vec::with_capacity(rows.len());
        for (gtin, name, brand) in rows {
            let images: Vec<String> =
                sqlx::query_scalar("SELECT url FROM product_images WHERE gtin = ? ORDER BY url")
                    .bind(&gtin)
                    .fetch_all(&self.pool)
                    .await?;
            products.push(ProductRecord {
                gtin: gtin_of(&gtin)?,
                name,
                brand,
                images,
            });
        }
        Ok((products, u64::try_from(total).unwrap_or(0)))
    }

    async fn offer_count(&self, instance: &str) -> Result<u64, CatalogError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM offers WHERE instance = ?")
            .bind(instance)
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn product_count(&self) -> Result<u64, CatalogError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn size_bytes(&self) -> Result<u64, CatalogError> {
        // Pages in use times the page size.
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&self.pool)
            .await?;
        let size: i64 = sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(pages.saturating_mul(size)).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gtin(code: &str) -> Gtin {
        Gtin::parse(code).expect("a valid GTIN")
    }

    fn entry(kind: OfferKind, id: &str, product: Option<&str>, codes: &[&str]) -> CatalogEntry {
        CatalogEntry {
            key: OfferKey::new(kind, id),
            facts: ProductFacts {
                upstream_product_id: product.map(str::to_owned),
                gtins: codes.iter().map(|c| gtin(c)).collect(),
                name: Some(format!("Product {id}")),
                brand: Some("Acme".into()),
                image_url: None,
            },
            modified_at: None,
        }
    }

    #[tokio::test]
    async fn offers_join_their_product_by_their_own_codes_or_their_upstream_product() {
        let store = SqliteStore::in_memory().await.expect("store");
        let upc = "196569222998";
        store
            .record_offers(
                "medusa",
                None,
                &[entry(
                    OfferKind::Marketplace,
                    "offer_1",
                    Some("prod_1"),
                    &[upc],
                )],
            )
            .await
            .expect("record");
        store
            .record_offers(
                "closient",
                None,
                &[entry(OfferKind::Online, "on1", Some("p1"), &[])],
            )
            .await
            .expect("record");
        let g = gtin(upc);
        assert_eq!(store.offers_of(&g).await.expect("offers").len(), 1);
        assert_eq!(
            store
                .unresolved_product_ids("closient", 10)
                .await
                .expect("ids"),
            ["p1"]
        );
        let facts = ProductFacts {
            gtins: vec![g],
            ..ProductFacts::default()
        };
        store
            .record_product("closient", "p1", Some(&facts))
            .await
            .expect("product");
        let offers = store.offers_of(&g).await.expect("offers");
        assert_eq!(offers.len(), 2);
        assert!(store
            .unresolved_product_ids("closient", 10)
            .await
            .expect("ids")
            .is_empty());
        assert!(store.gtin_known_to("closient", &g).await.expect("known"));
    }

    #[tokio::test]
    async fn a_finished_pass_forgets_what_it_did_not_see() {
        let store = SqliteStore::in_memory().await.expect("store");
        let code = "4006381333931";
        let pass = store.start_pass("v").await.expect("pass");
        store
            .record_offers(
                "v",
                Some(pass),
                &[
                    entry(OfferKind::Marketplace, "1", None, &[code]),
                    entry(OfferKind::Marketplace, "2", None, &[code]),
                ],
            )
            .await
            .expect("record");
        assert_eq!(store.finish_pass("v", pass).await.expect("finish"), 0);
        let next = store.start_pass("v").await.expect("pass");
        assert!(next > pass);
        store
            .record_offers(
                "v",
                Some(next),
                &[entry(OfferKind::Marketplace, "2", None, &[code])],
            )
            .await
            .expect("record");
        assert_eq!(store.finish_pass("v", next).await.expect("finish"), 1);
        let offers = store.offers_of(&gtin(code)).await.expect("offers");
        assert_eq!(offers.len(), 1);
        assert_eq!(offers[0].key.native_id, "2");
    }

    #[tokio::test]
    async fn a_product_registrys_name_replaces_an_offers_and_search_follows() {
        let store = SqliteStore::in_memory().await.expect("store");
        let code = "4006381333931";
        let mut offer = entry(OfferKind::Marketplace, "1", None, &[code]);
        offer.facts.name = Some("Foo Kettle".into());
        store
            .record_offers("m", None, &[offer.clone()])
            .await
            .expect("record");
        // A later offer does not rename the product...
        offer.facts.name = Some("Other Name".into());
        store
            .record_offers("m", None, &[offer])
            .await
            .expect("record");
        let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            store
                .search(&words("kettle"), 0, 10)
                .await
                .expect("search")
                .1,
            1
        );
        assert_eq!(
            store
                .search(&words("other"), 0, 10)
                .await
                .expect("search")
                .1,
            0
        );
        // ... the registry does.
        let facts = ProductFacts {
            gtins: vec![gtin(code)],
            name: Some("Bar Teapot".into()),
            ..ProductFacts::default()
        };
        store
            .record_product("c", "p1", Some(&facts))
            .await
            .expect("product");
        assert_eq!(
            store
                .search(&words("kettle"), 0, 10)
                .await
                .expect("search")
                .1,
            0
        );
        let (found, total) = store.search(&words("teapot"), 0, 10).await.expect("search");
        assert_eq!(total, 1);
        assert_eq!(found[0].name.as_deref(), Some("Bar Teapot"));
        assert_eq!(found[0].brand.as_deref(), Some("Acme"));
    }

    #[tokio::test]
    async fn search_matches_every_word_as_a_prefix_and_ranks_names_first() {
        let store = SqliteStore::in_memory().await.expect("store");
        let mut a = entry(OfferKind::Marketplace, "1", None, &["4006381333931"]);
        a.facts.name = Some("Organic Green Tea".into());
        a.facts.brand = Some("Leafy".into());
        let mut b = entry(OfferKind::Marketplace, "2", None, &["196569222998"]);
        b.facts.name = Some("Tea Kettle".into());
        b.facts.brand = Some("Green Steel".into());
        store
            .record_offers("m", None, &[a, b])
            .await
            .expect("record");
        let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        let (found, total) = store
            .search(&words("green te"), 0, 10)
            .await
            .expect("search");
        assert_eq!(total, 2);
        assert_eq!(found[0].name.as_deref(), Some("Organic Green Tea"));
        let (found, total) = store.search(&words("kettle"), 0, 10).await.expect("search");
        assert_eq!((found.len(), total), (1, 1));
        // FTS operators in the input are words, not syntax.
        let (_, total) = store
            .search(&words("\"tea\" OR NEAR(x"), 0, 10)
            .await
            .expect("operators are quoted");
        assert_eq!(total, 0);
    }
}
