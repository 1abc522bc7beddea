//! The answer cache in front of each upstream instance.
//!
//! One [moka](https://docs.rs/moka) cache per instance, shared by all
//! requests. A key holds everything that changes the answer: the instance,
//! the identity of the credential that fetched it (a fingerprint, never the
//! secret) and what was asked (an offer by kind and id, or a listing
//! window). Offers found are fresh for the instance's TTL, "not found"
//! answers for a shorter one, errors are never cached. Past its TTL an
//! answer is kept a while longer (`stale_if_error`) to be served, marked
//! stale, if the upstream fails. Capacity is bounded by weight: the
//! approximate bytes of the cached offers.
//!
//! Every answer says until when it is fresh, so that the whole-response
//! cache keeps an answer no longer than the parts it was built from (see
//! [`crate::freshness`]); replacing a still-fresh entry with a different
//! value starts a new data epoch.

use std::fmt::{self, Write as _};
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::sync::Cache;
use moka::Expiry;

use crate::freshness::Epochs;
use crate::model::{Offer, OfferKey, Promotion};
use crate::upstream::{CacheSettings, ListScope, OfferPage};

/// What a cache entry answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Question {
    /// One offer by key.
    Offer(OfferKey),
    /// Every promotion of one offer.
    Promotions(OfferKey),
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
pub(crate) struct CacheKey {
    /// The upstream instance.
    pub upstream: Arc<str>,
    /// Fingerprint of the credential the answer was fetched with.
    pub credential: u64,
    /// The question.
    pub question: Question,
}

/// A cached answer.
#[derive(Clone, Debug)]
pub(crate) enum Cached {
    /// The offer.
    Found(Offer),
    /// The upstream does not have it.
    NotFound,
    /// A listing window.
    Page(Arc<OfferPage>),
    /// The promotions of one offer (empty when it has none).
    Promotions(Arc<Vec<Promotion>>),
}

impl Cached {
    /// Whether `other` answers the same; pages are compared by identity
    /// (a page is only re-fetched once it has expired).
    fn same_as(&self, other: &Cached) -> bool {
        match (self, other) {
            (Cached::Found(a), Cached::Found(b)) => a == b,
            (Cached::NotFound, Cached::NotFound) => true,
            (Cached::Page(a), Cached::Page(b)) => Arc::ptr_eq(a, b),
            (Cached::Promotions(a), Cached::Promotions(b)) => a == b,
            _ => false,
        }
    }
}

/// A cached answer with the time it was fetched.
#[derive(Clone, Debug)]
struct Entry {
    value: Cached,
    fetched_at: Instant,
}

/// What the cache holds for a key.
#[derive(Clone, Debug)]
pub(crate) enum Hit {
    /// An answer within its TTL.
    Fresh {
        /// The answer.
        value: Cached,
        /// When it stops being fresh.
        until: Instant,
    },
    /// An answer past its TTL but within the stale-if-error grace: only to
    /// be served when the upstream fails.
    Stale {
        /// The answer.
        value: Cached,
        /// How long ago it was fetched.
        age: Duration,
    },
}

/// The cache of one upstream instance.
pub(crate) struct AnswerCache {
    inner: Cache<CacheKey, Entry>,
    ttl: Ttl,
    epochs: Arc<Epochs>,
}

impl AnswerCache {
    /// A cache with the instance's settings, telling `epochs` when an
    /// entry changes before it expires.
    pub(crate) fn new(settings: &CacheSettings, epochs: Arc<Epochs>) -> Self {
        let ttl = Ttl {
            found: settings.ttl,
            not_found: settings.not_found_ttl,
            grace: settings.stale_if_error,
        };
        let inner = Cache::builder()
            .max_capacity(settings.max_bytes)
            .weigher(|key: &CacheKey, entry: &Entry| weight(key, &entry.value))
            .expire_after(ttl.clone())
            .build();
        AnswerCache { inner, ttl, epochs }
    }

    /// The cached answer for `key`, fresh or stale.
    pub(crate) fn lookup(&self, key: &CacheKey) -> Option<Hit> {
        let entry = self.inner.get(key)?;
        let age = entry.fetched_at.elapsed();
        let fresh_for = self.ttl.fresh_for(&entry.value);
        if age < fresh_for {
            Some(Hit::Fresh {
                value: entry.value,
                until: entry.fetched_at + fresh_for,
            })
        } else {
            Some(Hit::Stale {
                value: entry.value,
                age,
            })
        }
    }

    /// The fresh answer for `key`, if any, with when it stops being fresh.
    pub(crate) fn get(&self, key: &CacheKey) -> Option<(Cached, Instant)> {
        match self.lookup(key)? {
            Hit::Fresh { value, until } => Some((value, until)),
            Hit::Stale { .. } => None,
        }
    }

    /// Remembers an answer fetched just now; when it is fresh until. A
    /// still-fresh entry replaced by a different value (a listing carrying
    /// a changed offer) starts a new data epoch.
    pub(crate) fn insert(&self, key: CacheKey, value: Cached) -> Instant {
        self.insert_aged(key, value, Duration::ZERO)
    }

    /// How long an offer or a listing window stays fresh once fetched.
    pub(crate) fn found_ttl(&self) -> Duration {
        self.ttl.found
    }

    /// How long `value` stays fresh once fetched.
    pub(crate) fn fresh_for(&self, value: &Cached) -> Duration {
        self.ttl.fresh_for(value)
    }

    /// Remembers an answer another replica fetched `age` ago (read from
    /// the shared tier): fresh for what is left of its TTL. Like
    /// [`AnswerCache::insert`] otherwise.
    pub(crate) fn insert_aged(&self, key: CacheKey, value: Cached, age: Duration) -> Instant {
        let now = Instant::now();
        let fetched_at = now.checked_sub(age).unwrap_or(now);
        let until = fetched_at + self.ttl.fresh_for(&value);
        if let Some((old, _)) = self.get(&key) {
            if !old.same_as(&value) {
                self.epochs.data_changed();
            }
        }
        self.inner.insert(key, Entry { value, fetched_at });
        until
    }

    /// Number of entries (approximate while maintenance is pending).
    pub(crate) fn entry_count(&self) -> u64 {
        self.inner.entry_count()
    }

    /// Total weight of the entries, in approximate bytes.
    pub(crate) fn weighted_size(&self) -> u64 {
        self.inner.weighted_size()
    }

    /// Applies pending evictions and expirations now (tests, metrics).
    pub(crate) fn run_pending_tasks(&self) {
        self.inner.run_pending_tasks();
    }
}

#[derive(Clone)]
struct Ttl {
    found: Duration,
    not_found: Duration,
    grace: Duration,
}

impl Ttl {
    fn fresh_for(&self, value: &Cached) -> Duration {
        match value {
            Cached::NotFound => self.not_found,
            Cached::Found(_) | Cached::Page(_) | Cached::Promotions(_) => self.found,
        }
    }
}

impl Expiry<CacheKey, Entry> for Ttl {
    /// Entries live their TTL plus the stale-if-error grace; "not found"
    /// answers are never served stale, so they get no grace.
    fn expire_after_create(
        &self,
        _key: &CacheKey,
        entry: &Entry,
        _at: Instant,
    ) -> Option<Duration> {
        Some(match entry.value {
            Cached::NotFound => self.not_found,
            Cached::Found(_) | Cached::Page(_) | Cached::Promotions(_) => {
                self.found.saturating_add(self.grace)
            }
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
        let cache = AnswerCache::new(
            &CacheSettings {
                max_bytes,
                ..CacheSettings::default()
            },
            Epochs::new(),
        );
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
        assert!(small < 1000);
        let page = Cached::Page(Arc::new(OfferPage {
            items: Vec::new(),
            total_count: 12,
        }));
        assert!(small > 50, "the key's strings count: {small}");
        assert!(weight(&key(1), &page) > small);
    }
}

#[cfg(test)]
mod stale_tests {
    use super::*;
    use crate::model::OfferKind;

    #[test]
    fn answers_turn_stale_after_their_ttl_and_go_after_the_grace() {
        let cache = AnswerCache::new(
            &CacheSettings {
                ttl: Duration::from_millis(1),
                stale_if_error: Duration::from_secs(3600),
                ..CacheSettings::default()
            },
            Epochs::new(),
        );
        let key = CacheKey {
            upstream: Arc::from("violet"),
            credential: 1,
            question: Question::Page {
                scope: ListScope::All,
                offset: 0,
                limit: 1,
            },
        };
        let page = Cached::Page(Arc::new(OfferPage {
            items: Vec::new(),
            total_count: 3,
        }));
        cache.insert(key.clone(), page);
        std::thread::sleep(Duration::from_millis(5));
        assert!(cache.get(&key).is_none(), "past its TTL it is not fresh");
        match cache.lookup(&key) {
            Some(Hit::Stale { age, .. }) => assert!(age >= Duration::from_millis(1)),
            other => panic!("expected a stale hit, got {other:?}"),
        }
        let not_found = CacheKey {
            question: Question::Offer(OfferKey::new(OfferKind::Marketplace, "1")),
            ..key
        };
        cache.insert(not_found.clone(), Cached::NotFound);
        assert!(matches!(
            cache.lookup(&not_found),
            Some(Hit::Fresh {
                value: Cached::NotFound,
                ..
            })
        ));
    }
}
