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

use std::sync::Arc;
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
}

impl Default for ResponseCacheOptions {
    fn default() -> Self {
        ResponseCacheOptions {
            enabled: true,
            max_bytes: DEFAULT_MAX_BYTES,
            max_ttl: DEFAULT_MAX_TTL,
        }
    }
}

/// What a request's answer depends on, hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key([u8; 32]);

impl Key {
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
        }
    }
}

/// The response cache.
pub(crate) struct ResponseCache {
    inner: moka::sync::Cache<Key, Arc<Kept>>,
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
        let (cache, _) = new_cache(ResponseCacheOptions::default());
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
        let (cache, _) = new_cache(ResponseCacheOptions::default());
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
            ..ResponseCacheOptions::default()
        });
        let key = Key::new("q", None, None, &[]);
        keep(&small, key, &[b' '; 101], Verdict::default());
        assert!(small.get(&key).is_none(), "over an eighth of the bound");
    }

    #[test]
    fn a_new_epoch_invalidates_answers_built_before_it() {
        let (cache, epochs) = new_cache(ResponseCacheOptions::default());
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
            ..ResponseCacheOptions::default()
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
            ..ResponseCacheOptions::default()
        });
        let key = Key::new("q", None, None, &[]);
        keep(&cache, key, b"{}", Verdict::default());
        assert!(cache.get(&key).is_none());
        assert_eq!(cache.size().0, 0);
    }
}
