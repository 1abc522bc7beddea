//! The background sync of one upstream instance into the catalog index.
//!
//! A full pass reads each of the instance's catalog feeds to the end
//! (Closient: the online and in-store offers of the configured
//! organizations; Medusa: the offer list; Violet: the offer search), every
//! request within the instance's [`Budget`]. A pass that read every feed to
//! the end then forgets the offers it did not see. After the listings,
//! product ids the index cannot place yet (Closient's) are resolved through
//! the products API, within the same budget. Passes start `interval`
//! apart; a failed request ends its feed for this pass, and the error is
//! in the status. Between full passes, styles that list offers by last
//! modification (Medusa `updated_at`, Violet `date_last_modified`) are read
//! newest first every `changes_interval`, up to the offers older than the
//! last pass: new offers and changed codes join within a minute, without
//! a crawl. Only a full pass forgets offers.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use tokio::time::Instant;

use super::budget::Budget;
use super::store::{CatalogError, CatalogStore};
use super::{InstanceStatus, StatusCell};
use crate::request::RequestContext;
use crate::upstream::{CallContext, CatalogFeed, CatalogPage, Instance};

/// Product ids resolved per round of the resolution loop.
const RESOLVE_BATCH: u32 = 50;
/// Product lookups in flight at once.
const RESOLVE_CONCURRENCY: usize = 4;

/// How far before the last pass's start a changes pass reads: offers
/// changed while that pass ran, and clocks that differ a little.
const CHANGES_OVERLAP: Duration = Duration::from_secs(60);

/// Runs the sync of `instance` until the task is dropped: full passes
/// `interval` apart, and between them, for styles that list offers by
/// modification, changes passes every `changes_interval`.
pub(crate) async fn run(
    instance: Arc<Instance>,
    store: Arc<dyn CatalogStore>,
    status: StatusCell,
    shared: Option<Arc<crate::shared::Shared>>,
) {
    // Shared by the replicas that sync this instance with the same
    // credential.
    let name = format!(
        "sync:{}:{:016x}",
        instance.name(),
        instance.credential_fingerprint()
    );
    let budget = Budget::new(&instance.sync_budget()).shared(shared, name);
    let settings = instance.settings().sync.clone();
    let changes = !instance.change_feeds().is_empty() && !settings.changes_interval.is_zero();
    let mut next_full = Instant::now();
    // What the index already holds is current as of this time.
    let mut since: Option<SystemTime> = None;
    // A full pass of an earlier run that is recent enough counts: a
    // restart does not re-crawl.
    if let Ok(Some(finished)) = store.last_full_pass(instance.name()).await {
        let age = SystemTime::now()
            .duration_since(finished)
            .unwrap_or_default();
        if age < settings.interval {
            let wait = settings.interval - age;
            next_full = Instant::now() + wait;
            since = Some(finished);
            status.update(|s| {
                s.last_full_pass_at = Some(finished);
                s.next_run_at = Some(SystemTime::now() + wait);
            });
            tracing::info!(upstream = %instance.name(), wait_secs = wait.as_secs(), "catalog sync: index is recent, next full pass later");
        }
    }
    loop {
        if Instant::now() >= next_full {
            let started = Instant::now();
            let started_at = SystemTime::now();
            let until = started + settings.interval;
            if pass(&instance, &*store, &budget, &status, until).await {
                since = Some(started_at);
            }
            next_full = started + settings.interval;
        } else if let (true, Some(from)) = (changes, since) {
            let wake = Instant::now() + settings.changes_interval;
            if wake >= next_full {
                tokio::time::sleep_until(next_full).await;
                continue;
            }
            tokio::time::sleep_until(wake).await;
            let started_at = SystemTime::now();
            if changes_pass(&instance, &*store, &budget, &status, from).await {
                since = Some(started_at);
            }
        } else {
            tokio::time::sleep_until(next_full).await;
            continue;
        }
        let next = next_full.saturating_duration_since(Instant::now());
        let next = if changes && since.is_some() {
            next.min(settings.changes_interval)
        } else {
            next
        };
        status.update(|s| {
            s.next_run_at = Some(SystemTime::now() + next);
            s.running = false;
        });
    }
}

/// Reads the change feeds newest first, recording the offers changed since
/// `since` (less [`CHANGES_OVERLAP`]); stops at the first older offer.
/// Never forgets an offer: that takes a full pass. Whether every feed was
/// read as far as needed.
async fn changes_pass(
    instance: &Instance,
    store: &dyn CatalogStore,
    budget: &Budget,
    status: &StatusCell,
    since: SystemTime,
) -> bool {
    let name = instance.name().to_string();
    let context = sync_context();
    let cutoff = since.checked_sub(CHANGES_OVERLAP).unwrap_or(since);
    let limit = page_size(instance);
    status.starting();
    let mut complete = true;
    for feed in instance.change_feeds() {
        let mut offset = 0u64;
        loop {
            let Some(page) =
                read_page(instance, budget, status, &context, &feed, offset, limit).await
            else {
                complete = false;
                break;
            };
            let read = page.items.len() as u64;
            let mut older = false;
            let mut entries = Vec::new();
            for entry in page.items.into_iter().flatten() {
                // An offer without a readable time may be old: stop at it
                // (the next full pass reads it) rather than read on.
                if entry.modified_at.is_none_or(|t| t < cutoff) {
                    older = true;
                    break;
                }
                entries.push(entry);
            }
            if let Err(err) = store.record_offers(&name, None, &entries).await {
                status.fail_index(&err);
                complete = false;
                break;
            }
            status.update(|s| s.offers_changed += entries.len() as u64);
            offset += read;
            if older || read == 0 || offset >= page.total_count {
                break;
            }
        }
    }
    if complete {
        status.update(|s| {
            s.changes_passes += 1;
            s.last_changes_pass_at = Some(SystemTime::now());
        });
    }
    if let Ok(count) = store.offer_count(&name).await {
        status.update(|s| s.offers_indexed = count);
    }
    complete
}

/// The context of the sync's calls: its own request id, the configured
/// credentials.
fn sync_context() -> CallContext {
    CallContext {
        request: Some(RequestContext::new("catalog-sync")),
        credential: None,
    }
}

/// Reads one page of `feed` within the budget, counting the request;
/// `None` (the error logged and in the status) when it failed.
async fn read_page(
    instance: &Instance,
    budget: &Budget,
    status: &StatusCell,
    context: &CallContext,
    feed: &CatalogFeed,
    offset: u64,
    limit: u32,
) -> Option<CatalogPage> {
    budget.acquire().await;
    status.update(|s| s.requests += 1);
    match instance.catalog_page(context, feed, offset, limit).await {
        Ok(page) => Some(page),
        Err(err) => {
            tracing::warn!(upstream = %instance.name(), ?feed, cause = %err, "catalog sync: a feed failed");
            status.fail(err.code().as_str());
            None
        }
    }
}

/// Offers per page: the settings', at most what the upstream serves.
fn page_size(instance: &Instance) -> u32 {
    instance
        .settings()
        .sync
        .page_size
        .unwrap_or(u32::MAX)
        .min(instance.max_page_size())
        .max(1)
}

/// One full pass, then product-id resolution until `until` (the next full
/// pass): whether every feed was read to the end.
async fn pass(
    instance: &Instance,
    store: &dyn CatalogStore,
    budget: &Budget,
    status: &StatusCell,
    until: Instant,
) -> bool {
    let name = instance.name().to_string();
    let context = sync_context();
    let started = Instant::now();
    status.starting();
    let pass = match store.start_pass(&name).await {
        Ok(pass) => pass,
        Err(err) => {
            status.fail_index(&err);
            return false;
        }
    };
    let limit = page_size(instance);
    let mut complete = true;
    for feed in instance.catalog_feeds() {
        let mut offset = 0u64;
        loop {
            let Some(page) =
                read_page(instance, budget, status, &context, &feed, offset, limit).await
            else {
                complete = false;
                break;
            };
            let read = page.items.len() as u64;
            let mut entries = Vec::with_capacity(page.items.len());
            for item in page.items {
                match item {
                    Ok(entry) => entries.push(entry),
                    Err(err) => {
                        tracing::debug!(upstream = %name, cause = %err, "catalog sync: unreadable item");
                        status.update(|s| s.unreadable_items += 1);
                    }
                }
            }
            if let Err(err) = store.record_offers(&name, Some(pass), &entries).await {
                status.fail_index(&err);
                complete = false;
                break;
            }
            offset += read;
            if read == 0 || offset >= page.total_count {
                break;
            }
        }
    }
    let finished = if complete {
        match store.finish_pass(&name, pass).await {
            Ok(removed) => Some(removed),
            Err(err) => {
                status.fail_index(&err);
                None
            }
        }
    } else {
        None
    };
    // Resolving product ids changes no offer: count them once, before. The
    // count and the finished pass are published together, so a reader
    // never sees a pass counted with the offers it indexed still missing.
    let count = store.offer_count(&name).await.ok();
    let took = started.elapsed();
    status.update(|s| {
        if let Some(count) = count {
            s.offers_indexed = count;
        }
        if let Some(removed) = finished {
            s.last_full_pass_at = Some(SystemTime::now());
            s.last_full_pass_duration = Some(took);
            s.offers_removed += removed;
            s.full_passes += 1;
        }
    });
    if instance.resolves_product_ids() {
        resolve_products(instance, store, budget, status, &context, until).await;
    }
    complete
}

/// Resolves the product ids the index cannot place, until none is left or
/// a request fails.
async fn resolve_products(
    instance: &Instance,
    store: &dyn CatalogStore,
    budget: &Budget,
    status: &StatusCell,
    context: &CallContext,
    until: Instant,
) {
    let name = instance.name().to_string();
    while Instant::now() < until {
        let ids = match store.unresolved_product_ids(&name, RESOLVE_BATCH).await {
            Ok(ids) if !ids.is_empty() => ids,
            Ok(_) => return,
            Err(err) => {
                status.fail_index(&err);
                return;
            }
        };
        // A few lookups in flight at once, each within the budget.
        let lookups = futures::stream::iter(ids)
            .map(|id| async move {
                budget.acquire().await;
                status.update(|s| s.requests += 1);
                let facts = instance.product_facts(context, &id).await;
                (id, facts)
            })
            .buffer_unordered(RESOLVE_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        let mut failed = false;
        for (id, facts) in lookups {
            let facts = match facts {
                Ok(facts) => facts,
                Err(err) => {
                    tracing::warn!(upstream = %name, cause = %err, "catalog sync: product lookup failed");
                    status.fail(err.code().as_str());
                    // Asked again at the next pass, not hammered now.
                    failed = true;
                    continue;
                }
            };
            if let Err(err) = store.record_product(&name, &id, facts.as_ref()).await {
                status.fail_index(&err);
                return;
            }
        }
        if failed {
            return;
        }
    }
}

impl StatusCell {
    /// Marks a pass as running.
    fn starting(&self) {
        self.update(|s| {
            s.running = true;
            s.next_run_at = None;
        });
    }

    /// Counts an error and keeps its code (never an upstream URL or body).
    fn fail(&self, code: &str) {
        self.update(|s| {
            s.errors += 1;
            s.last_error = Some(code.to_owned());
        });
    }

    /// Counts a failure of the index, logged with its detail.
    fn fail_index(&self, err: &CatalogError) {
        tracing::error!(cause = %err, "catalog sync: index write failed");
        self.fail(crate::error::ErrorCode::Internal.as_str());
    }
}

/// What a status says when nothing ran yet.
pub(crate) fn initial(enabled: bool) -> InstanceStatus {
    InstanceStatus {
        enabled,
        next_run_at: enabled.then(SystemTime::now),
        ..InstanceStatus::default()
    }
}
