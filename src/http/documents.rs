//! Parsed, checked documents by their text, so that a repeated query is
//! neither parsed, measured against the limits nor validated again.
//!
//! A document enters the cache once it has passed the text checks,
//! parsing, every limit and validation (those are the same for every
//! request of the process), prepared for execution (see
//! `schema::ordering`). What depends on the request (the operation asked
//! for, a mutation over `GET`, the variable values: see
//! `schema::validation`) is still checked each time. The cache is bounded
//! in bytes, weighed by the document's text, and keeps no document longer
//! than [`MAX_DOCUMENT_BYTES`].

use std::sync::Arc;

use crate::metrics::Metrics;
use crate::schema::ordering::Prepared;

/// Bytes the document cache may hold (its documents' text, times
/// [`WEIGHT_PER_BYTE`]).
pub(crate) const DEFAULT_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// A parsed document weighs about this many times its text.
const WEIGHT_PER_BYTE: u64 = 8;

/// Documents longer than this are not kept: a real client's documents are
/// a few kilobytes, and a long one (mostly padding, or one-off) would only
/// push the useful ones out.
pub(crate) const MAX_DOCUMENT_BYTES: usize = 32 * 1024;

/// The cache of prepared documents, by their text.
pub(crate) struct DocumentCache {
    inner: moka::sync::Cache<Arc<str>, Arc<Prepared>>,
    metrics: Option<Arc<Metrics>>,
}

impl DocumentCache {
    /// A cache of at most `max_bytes`, counting its lookups in `metrics`.
    pub(crate) fn new(max_bytes: u64, metrics: Option<Arc<Metrics>>) -> Self {
        let inner = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|text: &Arc<str>, _: &Arc<Prepared>| {
                u32::try_from((text.len() as u64).saturating_mul(WEIGHT_PER_BYTE))
                    .unwrap_or(u32::MAX)
            })
            .build();
        DocumentCache { inner, metrics }
    }

    /// The prepared document of `text`, if it is cached.
    pub(crate) fn get(&self, text: &str) -> Option<Arc<Prepared>> {
        let found = self.inner.get(text);
        if let Some(metrics) = &self.metrics {
            metrics.document_lookup(found.is_some());
        }
        found
    }

    /// Keeps the prepared document of `text`, which passed every check,
    /// unless it is longer than [`MAX_DOCUMENT_BYTES`].
    pub(crate) fn insert(&self, text: &str, prepared: Arc<Prepared>) {
        if text.len() <= MAX_DOCUMENT_BYTES {
            self.inner.insert(Arc::from(text), prepared);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ordering;

    fn prepared(text: &str) -> Arc<Prepared> {
        let document = async_graphql::parser::parse_query(text).unwrap();
        Arc::new(ordering::prepare(document, None))
    }

    #[test]
    fn kept_documents_come_back_and_long_ones_are_never_kept() {
        let cache = DocumentCache::new(DEFAULT_MAX_BYTES, None);
        let short = "{ upstreams { name } }";
        assert!(cache.get(short).is_none());
        cache.insert(short, prepared(short));
        assert!(cache.get(short).is_some());
        let long = format!("{short} #{}", "x".repeat(MAX_DOCUMENT_BYTES));
        cache.insert(&long, prepared(&long));
        assert!(cache.get(&long).is_none());
    }

    #[test]
    fn the_cache_stays_within_its_bytes() {
        let cache = DocumentCache::new(64 * 1024, None);
        for i in 0..200 {
            let text = format!("{{ upstreams {{ name }} }} #{i:0>1000}");
            cache.insert(&text, prepared(&text));
        }
        cache.inner.run_pending_tasks();
        assert!(
            cache.inner.weighted_size() <= 64 * 1024,
            "{}",
            cache.inner.weighted_size()
        );
        assert!(cache.inner.entry_count() > 0);
    }
}
