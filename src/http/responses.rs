//! Whole answers, kept so that a repeated request is answered without
//! executing it again.
//!
//! **Key.** Everything the answer depends on: the document's text, the
//! operation asked for, the variables (as sent), and the fingerprint of
//! each pass-through credential the client sent (never the secret). The
//! client API key is not part of it: it only decides whether a client may
//! ask, never what the answer is. Nothing else in a request changes the
//! answer's body (the media type changes only its headers).
//!
//! **What is kept.** Only a successful answer: no error, no warning (no
//! part served stale), every part from a cache that keeps it (an upstream
//! whose cache is off makes the answer unkeepable), no part describing the
//! gateway's state at this instant (`catalogStatus`). It is kept until the
//! first of its parts stops being fresh (see [`crate::freshness`]: the
//! offers', pages' and promotions' cache entries, the next start or end of
//! a promotion window), and at most `max_ttl`. An answer with less than a
//! second left, or bigger than an eighth of `max_bytes`, is not kept.
//!
//! **Admission.** By default an answer is kept the second time it is
//! asked within `max_ttl`, never the first (`min_uses`, as nginx's
//! `proxy_cache_min_uses`): a request asked once, such as a page of ids
//! that no other client asks for, costs no copy and takes no room from
//! the answers that repeat. What was asked is remembered in a fixed 16 KiB
//! filter ([`Doorkeeper`]).
//!
//! **Invalidation.** An answer is served only while the data epochs it was
//! built under are current: an upstream cache entry replaced by a
//! different value before it expired, a new exchange rate table, or (for
//! an answer that read it) any write of the catalog index makes every
//! answer built before it unservable.
//!
//! **When it can serve what the entity caches would not.** Only in the
//! small windows between a change and the epoch it starts: an answer whose
//! execution overlapped a change is not kept (the epochs are compared
//! before and after). Everything else an answer holds is exactly what
//! executing it again would give, until the answer expires: the only
//! difference is that a part whose entry was evicted for room (not
//! expired) is still served from the whole answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::freshness::{Snapshot, Verdict};
use crate::metrics::Metrics;

/// Default bound of the response cache, in bytes of answers.
pub(crate) const DEFAULT_MAX_BYTES: u64 = 4 * 1024 * 1024;

/// Default longest time an answer is kept, whatever its parts say.
pub(crate) const DEFAULT_MAX_TTL: Duration = Duration::from_secs(60);

/// An answer with less time left than this is not worth keeping.
const MIN_TTL: Duration = Duration::from_secs(1);

/// The `[response_cache]` table of the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponseCacheOptions {
    /// Whether whole answers are kept.
    pub enabled: bool,
    /// Bytes of answers kept at most (the least used go first).
    pub max_bytes: u64,
    /// Longest time an answer is kept, whatever its parts say.
    #[serde(with = "humantime_serde")]
    pub max_ttl: Duration,
    /// How many times an answer is asked within `max_ttl` before it is
    /// kept: 2 (the default) keeps answers asked only once out, 1 keeps
    /// every keepable answer.
    pub min_uses: u32,
}

impl ResponseCacheOptions {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), crate::error::InvalidSetting> {
        if !(1..=2).contains(&self.min_uses) {
            return Err(crate::error::InvalidSetting::new(
                "response_cache.min_uses",
                "must be 1 or 2",
            ));
        }
        Ok(())
    }
}

impl Default for ResponseCacheOptions {
    fn default() -> Self {
        ResponseCacheOptions {
            enabled: true,
            max_bytes: DEFAULT_MAX_BYTES,
            max_ttl: DEFAULT_MAX_TTL,
            min_uses: 2,
        }
    }
}

/// What a request's answer depends on, hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key([u8; 32]);

impl Key {
    /// Two independent positions among `bits` (a power of two), from the
    /// hash itself.
    fn positions(&self, bits: usize) -> [usize; 2] {
        let word = |at: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&self.0[at..at + 8]);
            u64::from_le_bytes(bytes) as usize & (bits - 1)
        };
        [word(0), word(8)]
    }

    /// The key of `query` run as `operation` with `variables` (their JSON
    /// text) by a client that sent `credentials` (instance name and
    /// fingerprint of each pass-through credential, in any order).
    pub(crate) fn new(
        query: &str,
        operation: Option<&str>,
        variables: Option<&serde_json::Map<String, serde_json::Value>>,
        credentials: &[(Arc<str>, u64)],
    ) -> Key {
        let mut hasher = Sha256::new();
        // Each part is length-prefixed, so that no two requests hash the
        // same bytes.
        let mut part = |bytes: &[u8]| {
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        part(query.as_bytes());
        part(operation.unwrap_or("").as_bytes());
        part(&[u8::from(operation.is_some())]);
        match variables.filter(|v| !v.is_empty()) {
            // Serializing a JSON map cannot fail.
            Some(variables) => part(&serde_json::to_vec(variables).unwrap_or_default()),
            None => part(b""),
        }
        let mut credentials = credentials.to_vec();
        credentials.sort();
        for (name, fingerprint) in &credentials {
            part(name.as_bytes());
            part(&fingerprint.to_le_bytes());
        }
        Key(hasher.finalize().into())
    }
}

/// A kept answer.
#[derive(Clone, Debug)]
pub(crate) struct Kept {
    /// The answer's JSON.
    pub body: Bytes,
    /// When it was built.
    pub built_at: Instant,
    /// When it stops being fresh.
    pub until: Instant,
    /// The operation it answered (for logs and metrics).
    pub operation: Option<String>,
    epochs: Snapshot,
    reads_catalog: bool,
}

impl Kept {
    /// How long it was kept for, from when it was built.
    pub(crate) fn ttl(&self) -> Duration {
        self.until.saturating_duration_since(self.built_at)
    }
}

/// Why an answer was not kept (a metrics label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Skip {
    /// The answer has errors.
    Errors,
    /// The answer has warnings (a part was served stale).
    Warnings,
    /// A part said so (see [`crate::freshness::Uncacheable`]).
    Part(crate::freshness::Uncacheable),
    /// A part changed while it executed.
    Changed,
    /// Less than a second left.
    ShortLived,
    /// Too big for the bound.
    TooLarge,
    /// Asked for the first time (see `min_uses`).
    FirstUse,
}

impl Skip {
    fn as_str(self) -> &'static str {
        match self {
            Skip::Errors => "errors",
            Skip::Warnings => "warnings",
            Skip::Part(why) => why.as_str(),
            Skip::Changed => "changed",
            Skip::ShortLived => "short_lived",
            Skip::TooLarge => "too_large",
            Skip::FirstUse => "first_use",
        }
    }
}

/// Which keys were asked since it was last cleared: a Bloom filter of two
/// bits per key among 2^17 (16 KiB), cleared once it has taken in
/// [`Doorkeeper::CAPACITY`] keys (about 2% false positives by then: an
/// answer kept on its first use) or when its window is over.
struct Doorkeeper {
    bits: Box<[AtomicU64]>,
    added: AtomicU64,
    started: Mutex<Instant>,
    window: Duration,
}

impl Doorkeeper {
    /// Bits of the filter.
    const BITS: usize = 1 << 17;
    /// Keys taken in before it is cleared.
    const CAPACITY: u64 = 8 * 1024;

    fn new(window: Duration) -> Self {
        Doorkeeper {
            bits: (0..Self::BITS / 64).map(|_| AtomicU64::new(0)).collect(),
            added: AtomicU64::new(0),
            started: Mutex::new(Instant::now()),
            window,
        }
    }

    /// Whether `key` was seen since the filter was last cleared; it is seen
    /// from now on.
    fn seen(&self, key: &Key) -> bool {
        {
            let mut started = self.started.lock().unwrap_or_else(|p| p.into_inner());
            if started.elapsed() >= self.window
                || self.added.load(Ordering::Relaxed) >= Self::CAPACITY
            {
                for word in self.bits.iter() {
                    word.store(0, Ordering::Relaxed);
                }
                self.added.store(0, Ordering::Relaxed);
                *started = Instant::now();
            }
        }
        let mut seen = true;
        for position in key.positions(Self::BITS) {
            let bit = 1u64 << (position % 64);
            let before = self.bits[position / 64].fetch_or(bit, Ordering::Relaxed);
            seen &= before & bit != 0;
        }
        if !seen {
            self.added.fetch_add(1, Ordering::Relaxed);
        }
        seen
    }
}

/// The response cache.
pub(crate) struct ResponseCache {
    inner: moka::sync::Cache<Key, Arc<Kept>>,
    doorkeeper: Doorkeeper,
    options: ResponseCacheOptions,
    epochs: Arc<crate::freshness::Epochs>,
    metrics: Option<Arc<Metrics>>,
}

/// How long moka keeps an entry: until it stops being fresh.
struct UntilFresh;

impl moka::Expiry<Key, Arc<Kept>> for UntilFresh {
    fn expire_after_create(&self, _key: &Key, kept: &Arc<Kept>, now: Instant) -> Option<Duration> {
        Some(kept.until.saturating_duration_since(now))
    }
}

impl ResponseCache {
    /// A cache with `options`, checking answers against `epochs` and
    /// counting in `metrics`.
    pub(crate) fn new(
        options: ResponseCacheOptions,
        epochs: Arc<crate::freshness::Epochs>,
        metrics: Option<Arc<Metrics>>,
    ) -> Self {
        let inner = moka::sync::Cache::builder()
            .max_capacity(options.max_bytes)
            .weigher(|_: &Key, kept: &Arc<Kept>| {
                // The body, plus the entry's own bookkeeping.
                u32::try_from(kept.body.len() + 128).unwrap_or(u32::MAX)
            })
            .expire_after(UntilFresh)
            .build();
        ResponseCache {
            inner,
            doorkeeper: Doorkeeper::new(options.max_ttl),
            options,
            epochs,
            metrics,
        }
    }

    /// Whether it keeps answers at all.
    pub(crate) fn enabled(&self) -> bool {
        self.options.enabled
    }

    /// The epochs now, to hand to [`ResponseCache::keep`] after executing.
    pub(crate) fn epochs(&self) -> Snapshot {
        self.epochs.snapshot()
    }

    /// The kept answer for `key`, while it is fresh and built under the
    /// current epochs.
    pub(crate) fn get(&self, key: &Key) -> Option<Arc<Kept>> {
        if !self.options.enabled {
            return None;
        }
        let found = self.inner.get(key).filter(|kept| {
            let now = self.epochs.snapshot();
            let current = kept.until > Instant::now()
                && kept.epochs.data == now.data
                && (!kept.reads_catalog || kept.epochs.catalog == now.catalog);
            if !current {
                self.inner.invalidate(key);
            }
            current
        });
        if let Some(metrics) = &self.metrics {
            metrics.response_lookup(found.is_some());
        }
        found
    }

    /// Until when an answer that executed from `before` with `verdict`,
    /// with `errors` and `warnings`, may be kept (and so cached by HTTP
    /// caches); why not when it may not.
    pub(crate) fn keepable(
        &self,
        verdict: &Verdict,
        before: Snapshot,
        errors: bool,
        warnings: bool,
    ) -> Result<Instant, Skip> {
        if errors {
            return Err(Skip::Errors);
        }
        if warnings {
            return Err(Skip::Warnings);
        }
        if let Some(why) = verdict.uncacheable {
            return Err(Skip::Part(why));
        }
        let after = self.epochs.snapshot();
        if after.data != before.data || (verdict.reads_catalog && after.catalog != before.catalog) {
            return Err(Skip::Changed);
        }
        let now = Instant::now();
        let longest = now + self.options.max_ttl;
        let until = verdict.until.map_or(longest, |until| until.min(longest));
        if until < now + MIN_TTL {
            return Err(Skip::ShortLived);
        }
        Ok(until)
    }

    /// Keeps `body`, built at `built_at` from `before` with `verdict`,
    /// until `until`; counts why not when it cannot.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn keep(
        &self,
        key: Key,
        body: &[u8],
        operation: Option<String>,
        built_at: Instant,
        before: Snapshot,
        verdict: &Verdict,
        until: Result<Instant, Skip>,
    ) {
        if !self.options.enabled {
            return;
        }
        let until = until.and_then(|until| {
            if body.len() as u64 > self.options.max_bytes / 8 {
                Err(Skip::TooLarge)
            } else if self.options.min_uses > 1 && !self.doorkeeper.seen(&key) {
                Err(Skip::FirstUse)
            } else {
                Ok(until)
            }
        });
        match until {
            Ok(until) => self.inner.insert(
                key,
                Arc::new(Kept {
                    // A copy of exactly its length: the serializer's buffer
                    // may have up to twice that allocated, which the byte
                    // bound would not see.
                    body: Bytes::copy_from_slice(body),
                    built_at,
                    until,
                    operation,
                    epochs: before,
                    reads_catalog: verdict.reads_catalog,
                }),
            ),
            Err(skip) => {
                if let Some(metrics) = &self.metrics {
                    metrics.response_skipped(skip.as_str());
                }
            }
        }
    }

    /// Number of answers and their bytes, after pending evictions.
    pub(crate) fn size(&self) -> (u64, u64) {
        self.inner.run_pending_tasks();
        (self.inner.entry_count(), self.inner.weighted_size())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::freshness::{Epochs, Uncacheable};

    /// Options that keep an answer on its first use.
    fn every_use() -> ResponseCacheOptions {
        ResponseCacheOptions {
            min_uses: 1,
            ..ResponseCacheOptions::default()
        }
    }

    fn new_cache(options: ResponseCacheOptions) -> (ResponseCache, Arc<Epochs>) {
        let epochs = Epochs::new();
        (ResponseCache::new(options, epochs.clone(), None), epochs)
    }

    fn keep(cache: &ResponseCache, key: Key, body: &[u8], verdict: Verdict) {
        let before = cache.epochs();
        let until = cache.keepable(&verdict, before, false, false);
        cache.keep(key, body, None, Instant::now(), before, &verdict, until);
    }

    #[test]
    fn keys_differ_by_every_part_of_the_request() {
        let vars = |v: serde_json::Value| v.as_object().cloned();
        let base = Key::new("{ a }", None, None, &[]);
        assert_eq!(
            base,
            Key::new("{ a }", None, vars(serde_json::json!({})).as_ref(), &[])
        );
        assert_ne!(base, Key::new("{ a }", Some(""), None, &[]));
        assert_ne!(base, Key::new("{ a  }", None, None, &[]));
        assert_ne!(
            Key::new("q", None, vars(serde_json::json!({"x": 1})).as_ref(), &[]),
            Key::new("q", None, vars(serde_json::json!({"x": 2})).as_ref(), &[])
        );
        let one: Arc<str> = Arc::from("medusa");
        assert_ne!(base, Key::new("{ a }", None, None, &[(one.clone(), 1)]));
        assert_ne!(
            Key::new("{ a }", None, None, &[(one.clone(), 1)]),
            Key::new("{ a }", None, None, &[(one.clone(), 2)])
        );
        let two: Arc<str> = Arc::from("violet");
        assert_eq!(
            Key::new("q", None, None, &[(one.clone(), 1), (two.clone(), 2)]),
            Key::new("q", None, None, &[(two, 2), (one, 1)]),
            "the order of the headers does not matter"
        );
    }

    #[test]
    fn an_answer_lives_until_its_first_part_expires_and_at_most_max_ttl() {
        let (cache, _) = new_cache(every_use());
        let key = Key::new("q", None, None, &[]);
        let soon = Instant::now() + Duration::from_secs(5);
        let verdict = Verdict {
            until: Some(soon),
            ..Verdict::default()
        };
        keep(&cache, key, b"{}", verdict);
        let kept = cache.get(&key).expect("kept");
        assert_eq!(kept.until, soon);
        let far = Verdict {
            until: Some(Instant::now() + Duration::from_secs(3600)),
            ..Verdict::default()
        };
        let until = cache.keepable(&far, cache.epochs(), false, false).unwrap();
        assert!(until <= Instant::now() + DEFAULT_MAX_TTL);
    }

    #[test]
    fn unkeepable_answers_are_not_kept() {
        let (cache, _) = new_cache(every_use());
        let before = cache.epochs();
        let ok = Verdict::default();
        assert_eq!(cache.keepable(&ok, before, true, false), Err(Skip::Errors));
        assert_eq!(
            cache.keepable(&ok, before, false, true),
            Err(Skip::Warnings)
        );
        let stale = Verdict {
            uncacheable: Some(Uncacheable::Stale),
            ..Verdict::default()
        };
        assert_eq!(
            cache.keepable(&stale, before, false, false),
            Err(Skip::Part(Uncacheable::Stale))
        );
        let short = Verdict {
            until: Some(Instant::now() + Duration::from_millis(200)),
            ..Verdict::default()
        };
        assert_eq!(
            cache.keepable(&short, before, false, false),
            Err(Skip::ShortLived)
        );
        let (small, _) = new_cache(ResponseCacheOptions {
            max_bytes: 800,
            ..every_use()
        });
        let key = Key::new("q", None, None, &[]);
        keep(&small, key, &[b' '; 101], Verdict::default());
        assert!(small.get(&key).is_none(), "over an eighth of the bound");
    }

    #[test]
    fn a_new_epoch_invalidates_answers_built_before_it() {
        let (cache, epochs) = new_cache(every_use());
        let plain = Key::new("plain", None, None, &[]);
        let indexed = Key::new("indexed", None, None, &[]);
        keep(&cache, plain, b"{}", Verdict::default());
        keep(
            &cache,
            indexed,
            b"{}",
            Verdict {
                reads_catalog: true,
                ..Verdict::default()
            },
        );
        epochs.catalog_changed();
        assert!(cache.get(&plain).is_some(), "it did not read the index");
        assert!(cache.get(&indexed).is_none());
        epochs.data_changed();
        assert!(cache.get(&plain).is_none());
        // A change during execution: not kept.
        let before = cache.epochs();
        epochs.data_changed();
        assert_eq!(
            cache.keepable(&Verdict::default(), before, false, false),
            Err(Skip::Changed)
        );
    }

    #[test]
    fn the_byte_bound_holds() {
        let (cache, _) = new_cache(ResponseCacheOptions {
            max_bytes: 64 * 1024,
            ..every_use()
        });
        for i in 0..1000 {
            keep(
                &cache,
                Key::new(&format!("q{i}"), None, None, &[]),
                &[b'x'; 1000],
                Verdict::default(),
            );
        }
        let (entries, bytes) = cache.size();
        assert!(bytes <= 64 * 1024, "{bytes}");
        assert!(entries > 10 && entries < 1000, "{entries}");
    }

    #[test]
    fn off_means_nothing_is_kept() {
        let (cache, _) = new_cache(ResponseCacheOptions {
            enabled: false,
            ..every_use()
        });
        let key = Key::new("q", None, None, &[]);
        keep(&cache, key, b"{}", Verdict::default());
        assert!(cache.get(&key).is_none());
        assert_eq!(cache.size().0, 0);
    }

    #[test]
    fn by_default_an_answer_is_kept_on_its_second_use() {
        let (cache, _) = new_cache(ResponseCacheOptions::default());
        let key = Key::new("q", None, None, &[]);
        keep(&cache, key, b"{}", Verdict::default());
        assert!(cache.get(&key).is_none(), "asked once");
        keep(&cache, key, b"{}", Verdict::default());
        assert!(cache.get(&key).is_some(), "asked twice");
        // Others asked once each take no room.
        for i in 0..500 {
            keep(
                &cache,
                Key::new(&format!("once {i}"), None, None, &[]),
                b"{}",
                Verdict::default(),
            );
        }
        assert_eq!(cache.size().0, 1);
    }

    #[test]
    fn the_doorkeeper_forgets_when_full_or_when_its_window_is_over() {
        let short = Doorkeeper::new(Duration::from_millis(50));
        let key = Key::new("q", None, None, &[]);
        assert!(!short.seen(&key));
        assert!(short.seen(&key));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!short.seen(&key), "a new window");
        let long = Doorkeeper::new(Duration::from_secs(3600));
        assert!(!long.seen(&key));
        let mut false_positives = 0;
        for i in 0..Doorkeeper::CAPACITY {
            false_positives += u32::from(long.seen(&Key::new(&format!("k{i}"), None, None, &[])));
        }
        assert!(false_positives < 250, "{false_positives} false positives");
        for i in 0..1000 {
            long.seen(&Key::new(&format!("more {i}"), None, None, &[]));
        }
        assert!(!long.seen(&key), "cleared once full");
    }

    #[test]
    fn min_uses_is_one_or_two() {
        for (min_uses, valid) in [(0, false), (1, true), (2, true), (3, false)] {
            let options = ResponseCacheOptions {
                min_uses,
                ..ResponseCacheOptions::default()
            };
            assert_eq!(options.validate().is_ok(), valid, "{min_uses}");
        }
    }
}
