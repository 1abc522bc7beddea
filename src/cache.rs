//! The answer cache in front of each upstream instance.
//!
//! One [moka](https://docs.rs/moka) cache per instance, shared by all
//! requests. A key holds everything that changes the answer: the instance,
//! the identity of the credential that fetched it (a fingerprint, never the
//! secret) and what was asked (an offer by kind and id, or a listing
//! window). Offers found are kept for the instance's TTL, "not found"
//! answers for a shorter one, errors never. Capacity is bounded by weight:
//! the approximate bytes of the cached offers.

use std::fmt::{self, Write as _};
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::sync::Cache;
use moka::Expiry;

use crate::model::{Offer, OfferKey};
use crate::upstream::{CacheSettings, ListScope, OfferPage};

/// What a cache entry answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Question {
    /// One offer by key.
    Offer(OfferKey),
    /// One window of a listing.
    Page {
        /// What the listing is scoped to.
        scope: ListScope,
        /// 0-based offset of the window.
        offset: u64,
        /// Size of the window.
        limit: u32,
    },
}

/// A cache key: who asked which upstream what.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// The upstream instance.
    pub upstream: Arc<str>,
    /// Fingerprint of the credential the answer was fetched with.
    pub credential: u64,
    /// The question.
    pub question: Question,
}

/// A cached answer.
#[derive(Clone, Debug)]
pub enum Cached {
    /// The offer.
    Found(Offer),
    /// The upstream does not have it.
    NotFound,
    /// A listing window.
    Page(Arc<OfferPage>),
}

/// The cache of one upstream instance.
pub struct AnswerCache {
    inner: Cache<CacheKey, Cached>,
}

impl AnswerCache {
    /// A cache with the instance's settings.
    pub fn new(settings: &CacheSettings) -> Self {
        let inner = Cache::builder()
            .max_capacity(settings.max_bytes)
            .weigher(|key: &CacheKey, value: &Cached| weight(key, value))
            .expire_after(Ttl {
                found: settings.ttl,
                not_found: settings.not_found_ttl,
            })
            .build();
        AnswerCache { inner }
    }

    /// The cached answer, if any and fresh.
    pub fn get(&self, key: &CacheKey) -> Option<Cached> {
        self.inner.get(key)
    }

    /// Remembers an answer.
    pub fn insert(&self, key: CacheKey, value: Cached) {
        self.inner.insert(key, value);
    }

    /// Number of entries (approximate while maintenance is pending).
    pub fn entry_count(&self) -> u64 {
        self.inner.entry_count()
    }

    /// Total weight of the entries, in approximate bytes.
    pub fn weighted_size(&self) -> u64 {
        self.inner.weighted_size()
    }

    /// Applies pending evictions and expirations now (tests, metrics).
    pub fn run_pending_tasks(&self) {
        self.inner.run_pending_tasks();
    }
}

struct Ttl {
    found: Duration,
    not_found: Duration,
}

impl Expiry<CacheKey, Cached> for Ttl {
    fn expire_after_create(
        &self,
        _key: &CacheKey,
        value: &Cached,
        _at: Instant,
    ) -> Option<Duration> {
        Some(match value {
            Cached::NotFound => self.not_found,
            Cached::Found(_) | Cached::Page(_) => self.found,
        })
    }
}

/// Approximate bytes an entry holds: the length of its debug rendering,
/// which is dominated by the same strings and numbers that fill its heap.
/// Computed once per insert, without allocating.
fn weight(key: &CacheKey, value: &Cached) -> u32 {
    let mut counter = ByteCounter(0);
    // Writing into a counter cannot fail.
    let _ = write!(counter, "{key:?}{value:?}");
    u32::try_from(counter.0).unwrap_or(u32::MAX)
}

struct ByteCounter(usize);

impl fmt::Write for ByteCounter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OfferKind;

    fn key(i: usize) -> CacheKey {
        CacheKey {
            upstream: Arc::from("medusa"),
            credential: 1,
            question: Question::Offer(OfferKey::new(
                OfferKind::Marketplace,
                format!("offer_{i:026}"),
            )),
        }
    }

    #[test]
    fn memory_stays_within_the_weight_bound() {
        let max_bytes = 64 * 1024;
        let cache = AnswerCache::new(&CacheSettings {
            max_bytes,
            ..CacheSettings::default()
        });
        for i in 0..10_000 {
            cache.insert(key(i), Cached::NotFound);
        }
        cache.run_pending_tasks();
        assert!(
            cache.weighted_size() <= max_bytes,
            "{}",
            cache.weighted_size()
        );
        assert!(cache.entry_count() > 100, "the cache still holds entries");
        assert!(cache.entry_count() < 10_000, "some were evicted");
    }

    #[test]
    fn weight_grows_with_the_entry() {
        let small = weight(&key(1), &Cached::NotFound);
        let page = Cached::Page(Arc::new(OfferPage {
            offers: Vec::new(),
            total_count: 12,
        }));
        assert!(small > 50, "the key's strings count: {small}");
        assert!(weight(&key(1), &page) > small);
    }
}
