//! A catalog store that starts a new catalog epoch at every write, so that
//! the whole-response cache never serves an answer built from the index as
//! it was before (see [`crate::freshness`]). Reads say to the request's
//! tracker that the answer depends on the index.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::freshness::{self, Epochs};
use crate::gtin::Gtin;
use crate::model::{OfferKey, ProductFacts};
use crate::upstream::CatalogEntry;

use super::store::{CatalogError, CatalogStore, IndexedOffer, KnownProduct, ProductRecord};

/// `inner`, with every write starting a new catalog epoch in `epochs`.
pub(crate) struct Versioned {
    inner: Arc<dyn CatalogStore>,
    epochs: Arc<Epochs>,
}

impl Versioned {
    /// Wraps `inner`.
    pub(crate) fn new(inner: Arc<dyn CatalogStore>, epochs: Arc<Epochs>) -> Self {
        Versioned { inner, epochs }
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
        self.wrote(self.inner.record_offers(instance, pass, entries).await)
    }

    async fn remove_offer(&self, instance: &str, key: &OfferKey) -> Result<(), CatalogError> {
        self.wrote(self.inner.remove_offer(instance, key).await)
    }

    async fn start_pass(&self, instance: &str) -> Result<i64, CatalogError> {
        // Numbers a pass: changes no answer.
        self.inner.start_pass(instance).await
    }

    async fn finish_pass(&self, instance: &str, pass: i64) -> Result<u64, CatalogError> {
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
