//! `catalogStatus`: the catalog index and each instance's sync, for
//! operators and for clients that want to know how complete products are.

use std::time::SystemTime;

use async_graphql::{Context, SimpleObject};

use crate::catalog::InstanceStatus;
use crate::error::GatewayError;
use crate::schema::product::{catalog, index_error};
use crate::upstream::tolerant::saturating_count;

/// The state of the catalog index.
#[derive(SimpleObject)]
pub(crate) struct CatalogStatus {
    /// Number of products (GTINs) in the index.
    product_count: i32,
    /// The sync of each upstream instance, in configuration order.
    upstreams: Vec<UpstreamSyncStatus>,
}

/// The catalog sync of one upstream instance.
#[derive(SimpleObject)]
pub(crate) struct UpstreamSyncStatus {
    /// The instance's name.
    upstream: String,
    /// Whether the instance is synced (without a sync, only offers fetched by id are indexed).
    enabled: bool,
    /// Whether a pass is running now.
    running: bool,
    /// When the last full pass (every listing read to the end) ended, RFC 3339; null before
    /// the first since start.
    last_full_pass_at: Option<String>,
    /// How long the last full pass took, in seconds.
    last_full_pass_seconds: Option<f64>,
    /// Full passes since start.
    full_passes: i32,
    /// Passes that read only the offers changed since the last pass (upstreams that list
    /// offers by modification), since start.
    changes_passes: i32,
    /// When the last changes pass ended, RFC 3339.
    last_changes_pass_at: Option<String>,
    /// Offers recorded by changes passes since start.
    offers_changed: i32,
    /// Offers of the instance in the index.
    offers_indexed: i32,
    /// Offers removed because a full pass no longer saw them.
    offers_removed: i32,
    /// Listing items that could not be read.
    unreadable_items: i32,
    /// Requests the sync sent since start.
    requests: i32,
    /// Failed requests or index writes since start.
    errors: i32,
    /// The error code of the last failure (e.g. `UPSTREAM_RATE_LIMITED`); null when none.
    last_error: Option<String>,
    /// When the next pass starts, RFC 3339; null while one runs.
    next_run_at: Option<String>,
}

fn rfc3339(time: Option<SystemTime>) -> Option<String> {
    time.map(|t| humantime::format_rfc3339_seconds(t).to_string())
}

impl UpstreamSyncStatus {
    fn new(upstream: &str, s: InstanceStatus) -> Self {
        UpstreamSyncStatus {
            upstream: upstream.to_owned(),
            enabled: s.enabled,
            running: s.running,
            last_full_pass_at: rfc3339(s.last_full_pass_at),
            last_full_pass_seconds: s.last_full_pass_duration.map(|d| d.as_secs_f64()),
            full_passes: saturating_count(s.full_passes),
            changes_passes: saturating_count(s.changes_passes),
            last_changes_pass_at: rfc3339(s.last_changes_pass_at),
            offers_changed: saturating_count(s.offers_changed),
            offers_indexed: saturating_count(s.offers_indexed),
            offers_removed: saturating_count(s.offers_removed),
            unreadable_items: saturating_count(s.unreadable_items),
            requests: saturating_count(s.requests),
            errors: saturating_count(s.errors),
            last_error: s.last_error,
            next_run_at: rfc3339(s.next_run_at),
        }
    }
}

/// The status now.
pub(crate) async fn catalog_status(ctx: &Context<'_>) -> Result<CatalogStatus, GatewayError> {
    // Sync progress at this instant: never kept by the response cache.
    crate::freshness::uncacheable(crate::freshness::Uncacheable::Live);
    let catalog = catalog(ctx)?;
    let product_count = catalog.product_count().await.map_err(index_error)?;
    Ok(CatalogStatus {
        product_count: saturating_count(product_count),
        upstreams: catalog
            .statuses()
            .into_iter()
            .map(|(name, status)| UpstreamSyncStatus::new(&name, status))
            .collect(),
    })
}
