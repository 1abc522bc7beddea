//! The catalog index: which offers, of which upstream instances, belong to
//! which product (GTIN), and what the upstreams say of each product's
//! name, brand and images, for search.
//!
//! The index only decides membership: prices, stock and status always come
//! live through the loaders and their cache, so a stale index never shows
//! a stale price. It is filled by a background [`sync`] per instance
//! (listings read to the end, within a request [`budget`]) and by every
//! offer the gateway fetches by id; an offer that answers 404 leaves it.
//! Storage goes through [`store::CatalogStore`]: an embedded SQLite file
//! with FTS5 by default.
//!
//! Some products cannot be discovered: offers the configured credentials
//! cannot list (Closient organizations not named in the sync settings),
//! and offers that carry no valid GTIN (and whose upstream product has
//! none), which belong to no product: the index never matches by name.

mod budget;
#[cfg(test)]
mod scale;
pub(crate) mod store;
mod sync;
mod versioned;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::task::JoinHandle;

use crate::error::UpstreamError;
use crate::gtin::Gtin;
use crate::model::{Offer, OfferKey};
use crate::upstream::{CallContext, CatalogEntry, Upstreams};
pub(crate) use store::{CatalogError, IndexedOffer, KnownProduct, ProductRecord};
use store::{CatalogStore, SqliteStore};

/// A product with its offers (or none), and the upstreams that could not
/// be asked about it, with their errors.
pub(crate) type ProductAnswer = (
    Option<(ProductRecord, Vec<IndexedOffer>)>,
    Vec<(Arc<str>, UpstreamError)>,
);

/// The sync state of one instance, as `catalogStatus` and `/metrics` show it.
#[derive(Clone, Debug, Default)]
pub(crate) struct InstanceStatus {
    /// Whether the instance is synced.
    pub(crate) enabled: bool,
    /// Whether a pass is running now.
    pub(crate) running: bool,
    /// When the last full pass (every feed read to the end) ended.
    pub(crate) last_full_pass_at: Option<SystemTime>,
    /// How long it took.
    pub(crate) last_full_pass_duration: Option<Duration>,
    /// Full passes since start.
    pub(crate) full_passes: u64,
    /// Changes passes since start.
    pub(crate) changes_passes: u64,
    /// When the last changes pass ended.
    pub(crate) last_changes_pass_at: Option<SystemTime>,
    /// Offers recorded by changes passes since start.
    pub(crate) offers_changed: u64,
    /// Offers of the instance in the index.
    pub(crate) offers_indexed: u64,
    /// Offers the sync forgot because a full pass no longer saw them.
    pub(crate) offers_removed: u64,
    /// Listing items that could not be read.
    pub(crate) unreadable_items: u64,
    /// Requests the sync sent.
    pub(crate) requests: u64,
    /// Failed requests or index writes.
    pub(crate) errors: u64,
    /// The last error, as an error code (never an upstream body).
    pub(crate) last_error: Option<String>,
    /// When the next pass starts; `None` while one runs.
    pub(crate) next_run_at: Option<SystemTime>,
}

/// A shared, updatable [`InstanceStatus`].
#[derive(Clone, Debug, Default)]
pub(crate) struct StatusCell(Arc<Mutex<InstanceStatus>>);

impl StatusCell {
    fn update(&self, f: impl FnOnce(&mut InstanceStatus)) {
        // A poisoned lock still holds a usable status.
        let mut status = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut status);
    }

    /// A copy of the status now.
    pub(crate) fn get(&self) -> InstanceStatus {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Aborts the sync tasks when the last handle of the catalog goes.
#[derive(Debug, Default)]
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// The catalog index with its syncs.
#[derive(Clone)]
pub(crate) struct Catalog {
    store: Arc<dyn CatalogStore>,
    upstreams: Upstreams,
    statuses: Arc<Vec<(Arc<str>, StatusCell)>>,
    /// Held only to abort the syncs with the last handle.
    _tasks: Arc<Tasks>,
    /// Where the index lives; `None` in memory.
    data_dir: Option<Arc<Path>>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl Catalog {
    /// Opens the index in `data_dir` (in memory when `None`) and starts the
    /// sync of every instance whose settings enable it.
    pub(crate) async fn open(
        data_dir: Option<&Path>,
        upstreams: &Upstreams,
        epochs: Arc<crate::freshness::Epochs>,
        shared: Option<Arc<crate::shared::Shared>>,
    ) -> Result<Catalog, CatalogError> {
        let store: Arc<dyn CatalogStore> = match data_dir {
            Some(dir) => Arc::new(SqliteStore::open(dir).await?),
            None => Arc::new(SqliteStore::in_memory().await?),
        };
        let store: Arc<dyn CatalogStore> = Arc::new(versioned::Versioned::new(store, epochs));
        let mut statuses = Vec::new();
        let mut tasks = Vec::new();
        for instance in upstreams.iter() {
            let enabled = instance.settings().sync.enabled;
            let status = StatusCell(Arc::new(Mutex::new(sync::initial(enabled))));
            if let Ok(count) = store.offer_count(instance.name()).await {
                status.update(|s| s.offers_indexed = count);
            }
            if enabled {
                tasks.push(tokio::spawn(sync::run(
                    instance.clone(),
                    store.clone(),
                    status.clone(),
                    shared.clone(),
                )));
            }
            statuses.push((instance.name().clone(), status));
        }
        Ok(Catalog {
            store,
            upstreams: upstreams.clone(),
            statuses: Arc::new(statuses),
            _tasks: Arc::new(Tasks(tasks)),
            data_dir: data_dir.map(Arc::from),
        })
    }

    /// The sync status of each instance, in configuration order.
    pub(crate) fn statuses(&self) -> Vec<(Arc<str>, InstanceStatus)> {
        self.statuses
            .iter()
            .map(|(name, cell)| (name.clone(), cell.get()))
            .collect()
    }

    /// Number of products in the index.
    pub(crate) async fn product_count(&self) -> Result<u64, CatalogError> {
        self.store.product_count().await
    }

    /// The product `gtin`, with every offer of it the index knows, after
    /// asking each instance that keys products by its own ids (Closient)
    /// about this GTIN once, so that a product is complete from its first
    /// query rather than after a sync resolves its ids. The upstreams that
    /// could not be asked come with their errors: the product may lack
    /// their offers.
    pub(crate) async fn product(
        &self,
        gtin: &Gtin,
        context: &CallContext,
    ) -> Result<ProductAnswer, CatalogError> {
        let failures = self.ask_upstreams_about(gtin, context).await?;
        let Some(product) = self.store.product(gtin).await? else {
            return Ok((None, failures));
        };
        let offers = self.store.offers_of(gtin).await?;
        Ok((Some((product, offers)), failures))
    }

    /// Asks each id-keyed instance not yet asked about `gtin`; the
    /// instances that failed (asked again at the next query).
    async fn ask_upstreams_about(
        &self,
        gtin: &Gtin,
        context: &CallContext,
    ) -> Result<Vec<(Arc<str>, UpstreamError)>, CatalogError> {
        let mut failures = Vec::new();
        for instance in self.upstreams.iter().filter(|i| i.resolves_product_ids()) {
            if self.store.gtin_known_to(instance.name(), gtin).await? {
                continue;
            }
            match instance.product_by_gtin(context, gtin).await {
                Ok(Some((product_id, facts))) => {
                    self.store
                        .record_product(instance.name(), &product_id, Some(&facts))
                        .await?;
                }
                Ok(None) => {
                    self.store
                        .record_gtin_lookup(instance.name(), gtin, None)
                        .await?
                }
                Err(err) => {
                    tracing::warn!(upstream = %instance.name(), cause = %err, "product lookup by GTIN failed");
                    failures.push((instance.name().clone(), err));
                }
            }
        }
        Ok(failures)
    }

    /// Products matching `words`: a window and the total count.
    pub(crate) async fn search(
        &self,
        words: &[String],
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<ProductRecord>, u64), CatalogError> {
        self.store.search(words, offset, limit).await
    }

    /// Every offer of the product `gtin` in the index.
    pub(crate) async fn offers_of(&self, gtin: &Gtin) -> Result<Vec<IndexedOffer>, CatalogError> {
        self.store.offers_of(gtin).await
    }

    /// The GTIN of an offer the gateway fetched: from its own codes, or
    /// from what its upstream says of its product id (asked once).
    pub(crate) async fn gtin_of_offer(
        &self,
        instance: &str,
        offer: &Offer,
        context: &CallContext,
    ) -> Result<Option<Gtin>, CatalogError> {
        let facts = offer.product_facts();
        if let Some(gtin) = facts.gtins.first() {
            return Ok(Some(*gtin));
        }
        let Some(product_id) = facts.upstream_product_id else {
            return Ok(None);
        };
        let Some(upstream) = self.upstreams.get(instance) else {
            return Ok(None);
        };
        if !upstream.resolves_product_ids() {
            return Ok(None);
        }
        match self.store.known_product(instance, &product_id).await? {
            KnownProduct::Gtin(gtin) => Ok(Some(gtin)),
            KnownProduct::NoGtin => Ok(None),
            KnownProduct::Unknown => match upstream.product_facts(context, &product_id).await {
                Ok(facts) => {
                    self.store
                        .record_product(instance, &product_id, facts.as_ref())
                        .await?;
                    Ok(facts.and_then(|f| f.gtins.first().copied()))
                }
                Err(err) => {
                    tracing::warn!(upstream = %instance, cause = %err, "product lookup failed");
                    Ok(None)
                }
            },
        }
    }

    /// Whether [`Catalog::record_lookups`] of `found` and `gone` would
    /// write nothing (every one of them is what the index last recorded):
    /// then there is no need to call it.
    pub(crate) fn lookups_unchanged(
        &self,
        instance: &str,
        found: &[CatalogEntry],
        gone: &[OfferKey],
    ) -> bool {
        self.store.lookups_unchanged(instance, found, gone)
    }

    /// Records what by-id fetches answered: `found` offers join (or stay
    /// in) the index, `gone` ones (404) leave it. Index errors are logged.
    pub(crate) async fn record_lookups(
        &self,
        instance: &str,
        found: Vec<CatalogEntry>,
        gone: Vec<OfferKey>,
    ) {
        if !found.is_empty() {
            if let Err(err) = self.store.record_offers(instance, None, &found).await {
                tracing::warn!(upstream = %instance, cause = %err, "catalog index write failed");
            }
        }
        for key in &gone {
            if let Err(err) = self.store.remove_offer(instance, key).await {
                tracing::warn!(upstream = %instance, cause = %err, "catalog index write failed");
            }
        }
    }

    /// Size of the index in bytes.
    pub(crate) async fn size_bytes(&self) -> Result<u64, CatalogError> {
        self.store.size_bytes().await
    }
}
