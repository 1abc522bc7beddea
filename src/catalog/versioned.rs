//! A catalog store that starts a new catalog epoch at every write, so that
//! the whole-response cache never serves an answer built from the index as
//! it was before (see [`crate::freshness`]). Reads say to the request's
//! tracker that the answer depends on the index.
//!
//! Every by-id fetch tells the index what it found (or that the offer is
//! gone), mostly what the index already holds. Those writes are skipped
//! when they would write what this store last wrote for the offer, so
//! that a fetch that changes nothing neither costs a transaction nor
//! makes every answer that read the index unservable. Any other write
//! (a sync pass, a product) forgets what was written, so nothing is
//! skipped on the strength of rows it may have changed.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::freshness::{self, Epochs};
use crate::gtin::Gtin;
use crate::model::{OfferKey, ProductFacts};
use crate::upstream::CatalogEntry;

use super::store::{CatalogError, CatalogStore, IndexedOffer, KnownProduct, ProductRecord};

/// Offers whose last by-id write is remembered at most.
const REMEMBERED_OFFERS: u64 = 50_000;

/// What a by-id fetch last wrote for an offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Written {
    /// The entry with this hash.
    Entry(u64),
    /// The offer is gone.
    Gone,
}

/// `inner`, with every write starting a new catalog epoch in `epochs`.
pub(crate) struct Versioned {
    inner: Arc<dyn CatalogStore>,
    epochs: Arc<Epochs>,
    /// What by-id fetches last wrote, by instance and offer.
    written: moka::sync::Cache<(Arc<str>, OfferKey), Written>,
}

impl Versioned {
    /// Wraps `inner`.
    pub(crate) fn new(inner: Arc<dyn CatalogStore>, epochs: Arc<Epochs>) -> Self {
        Versioned {
            inner,
            epochs,
            written: moka::sync::Cache::new(REMEMBERED_OFFERS),
        }
    }

    fn remembered(&self, instance: &str, key: &OfferKey) -> Option<Written> {
        self.written.get(&(Arc::from(instance), key.clone()))
    }

    fn remember(&self, instance: &str, key: &OfferKey, written: Written) {
        self.written
            .insert((Arc::from(instance), key.clone()), written);
    }

    /// Starts a new epoch once `written` is done, whatever its outcome (a
    /// failed write may have changed part of the index).
    fn wrote<T>(&self, written: T) -> T {
        self.epochs.catalog_changed();
        written
    }
}

#[async_trait]
impl CatalogStore for Versioned {
    async fn record_offers(
        &self,
        instance: &str,
        pass: Option<i64>,
        entries: &[CatalogEntry],
    ) -> Result<(), CatalogError> {
        if pass.is_some() {
            self.written.invalidate_all();
            return self.wrote(self.inner.record_offers(instance, pass, entries).await);
        }
        let changed: Vec<(CatalogEntry, Written)> = entries
            .iter()
            .map(|entry| (entry.clone(), Written::Entry(hash_of(entry))))
            .filter(|(entry, written)| self.remembered(instance, &entry.key) != Some(*written))
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        let to_write: Vec<CatalogEntry> = changed.iter().map(|(e, _)| e.clone()).collect();
        let result = self.wrote(self.inner.record_offers(instance, None, &to_write).await);
        if result.is_ok() {
            for (entry, written) in changed {
                self.remember(instance, &entry.key, written);
            }
        }
        result
    }

    async fn remove_offer(&self, instance: &str, key: &OfferKey) -> Result<(), CatalogError> {
        if self.remembered(instance, key) == Some(Written::Gone) {
            return Ok(());
        }
        let result = self.wrote(self.inner.remove_offer(instance, key).await);
        if result.is_ok() {
            self.remember(instance, key, Written::Gone);
        }
        result
    }

    fn lookups_unchanged(&self, instance: &str, found: &[CatalogEntry], gone: &[OfferKey]) -> bool {
        found.iter().all(|entry| {
            self.remembered(instance, &entry.key) == Some(Written::Entry(hash_of(entry)))
        }) && gone
            .iter()
            .all(|key| self.remembered(instance, key) == Some(Written::Gone))
    }

    async fn start_pass(&self, instance: &str) -> Result<i64, CatalogError> {
        // Numbers a pass: changes no answer.
        self.inner.start_pass(instance).await
    }

    async fn finish_pass(&self, instance: &str, pass: i64) -> Result<u64, CatalogError> {
        self.written.invalidate_all();
        self.wrote(self.inner.finish_pass(instance, pass).await)
    }

    async fn last_full_pass(&self, instance: &str) -> Result<Option<SystemTime>, CatalogError> {
        self.inner.last_full_pass(instance).await
    }

    async fn record_product(
        &self,
        instance: &str,
        product_id: &str,
        facts: Option<&ProductFacts>,
    ) -> Result<(), CatalogError> {
        self.written.invalidate_all();
        self.wrote(self.inner.record_product(instance, product_id, facts).await)
    }

    async fn unresolved_product_ids(
        &self,
        instance: &str,
        limit: u32,
    ) -> Result<Vec<String>, CatalogError> {
        self.inner.unresolved_product_ids(instance, limit).await
    }

    async fn known_product(
        &self,
        instance: &str,
        product_id: &str,
    ) -> Result<KnownProduct, CatalogError> {
        freshness::reads_catalog();
        self.inner.known_product(instance, product_id).await
    }

    async fn gtin_known_to(&self, instance: &str, gtin: &Gtin) -> Result<bool, CatalogError> {
        freshness::reads_catalog();
        self.inner.gtin_known_to(instance, gtin).await
    }

    async fn record_gtin_lookup(
        &self,
        instance: &str,
        gtin: &Gtin,
        product_id: Option<&str>,
    ) -> Result<(), CatalogError> {
        self.written.invalidate_all();
        self.wrote(
            self.inner
                .record_gtin_lookup(instance, gtin, product_id)
                .await,
        )
    }

    async fn product(&self, gtin: &Gtin) -> Result<Option<ProductRecord>, CatalogError> {
        freshness::reads_catalog();
        self.inner.product(gtin).await
    }

    async fn offers_of(&self, gtin: &Gtin) -> Result<Vec<IndexedOffer>, CatalogError> {
        freshness::reads_catalog();
        self.inner.offers_of(gtin).await
    }

    async fn search(
        &self,
        words: &[String],
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<ProductRecord>, u64), CatalogError> {
        freshness::reads_catalog();
        self.inner.search(words, offset, limit).await
    }

    async fn offer_count(&self, instance: &str) -> Result<u64, CatalogError> {
        freshness::reads_catalog();
        self.inner.offer_count(instance).await
    }

    async fn product_count(&self) -> Result<u64, CatalogError> {
        freshness::reads_catalog();
        self.inner.product_count().await
    }

    async fn size_bytes(&self) -> Result<u64, CatalogError> {
        self.inner.size_bytes().await
    }
}

/// A hash of what an entry writes.
fn hash_of(entry: &CatalogEntry) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    entry.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::store::SqliteStore;
    use crate::model::OfferKind;

    fn entry(id: &str, name: &str) -> CatalogEntry {
        CatalogEntry {
            key: OfferKey::new(OfferKind::Marketplace, id),
            facts: ProductFacts {
                upstream_product_id: Some("prod_1".into()),
                gtins: vec![Gtin::parse("196569222998").expect("a GTIN")],
                name: Some(name.into()),
                brand: None,
                image_url: None,
            },
            modified_at: None,
        }
    }

    #[tokio::test]
    async fn a_by_id_write_that_changes_nothing_is_skipped_and_starts_no_epoch() {
        let epochs = Epochs::new();
        let inner = Arc::new(SqliteStore::in_memory().await.expect("store"));
        let store = Versioned::new(inner, epochs.clone());
        let catalog_epoch = || epochs.snapshot().catalog;
        let start = catalog_epoch();
        store
            .record_offers("medusa", None, &[entry("offer_1", "A")])
            .await
            .unwrap();
        let once = catalog_epoch();
        assert_ne!(once, start, "a new offer is written");
        store
            .record_offers("medusa", None, &[entry("offer_1", "A")])
            .await
            .unwrap();
        assert_eq!(catalog_epoch(), once, "the same entry again: skipped");
        store
            .record_offers("medusa", None, &[entry("offer_1", "B")])
            .await
            .unwrap();
        let changed = catalog_epoch();
        assert_ne!(changed, once, "a changed entry is written");
        let key = OfferKey::new(OfferKind::Marketplace, "offer_1");
        store.remove_offer("medusa", &key).await.unwrap();
        let gone = catalog_epoch();
        assert_ne!(gone, changed);
        store.remove_offer("medusa", &key).await.unwrap();
        assert_eq!(catalog_epoch(), gone, "gone again: skipped");
        assert_eq!(store.offer_count("medusa").await.unwrap(), 0);
        // A sync pass may have changed any row: nothing is skipped after it.
        store
            .record_offers("medusa", None, &[entry("offer_1", "B")])
            .await
            .unwrap();
        let pass = store.start_pass("medusa").await.unwrap();
        store.finish_pass("medusa", pass).await.unwrap();
        assert_eq!(
            store.offer_count("medusa").await.unwrap(),
            0,
            "the pass did not see it"
        );
        store
            .record_offers("medusa", None, &[entry("offer_1", "B")])
            .await
            .unwrap();
        assert_eq!(
            store.offer_count("medusa").await.unwrap(),
            1,
            "written again"
        );
    }

    #[tokio::test]
    async fn lookups_are_unchanged_only_when_each_is_what_was_last_written() {
        let inner = Arc::new(SqliteStore::in_memory().await.expect("store"));
        let store = Versioned::new(inner, Epochs::new());
        let key = OfferKey::new(OfferKind::Marketplace, "offer_1");
        let a = [entry("offer_1", "A")];
        assert!(!store.lookups_unchanged("medusa", &a, &[]), "never written");
        store.record_offers("medusa", None, &a).await.unwrap();
        assert!(store.lookups_unchanged("medusa", &a, &[]));
        assert!(
            store.lookups_unchanged("medusa", &[], &[]),
            "nothing to write"
        );
        assert!(!store.lookups_unchanged("medusa", &[entry("offer_1", "B")], &[]));
        assert!(
            !store.lookups_unchanged("violet", &a, &[]),
            "another instance"
        );
        assert!(!store.lookups_unchanged("medusa", &[], std::slice::from_ref(&key)));
        store.remove_offer("medusa", &key).await.unwrap();
        assert!(store.lookups_unchanged("medusa", &[], std::slice::from_ref(&key)));
        assert!(!store.lookups_unchanged("medusa", &a, &[]), "gone since");
    }
}
