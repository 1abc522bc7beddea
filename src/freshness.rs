//! How long an answer stays true, for the whole-response cache.
//!
//! An answer is built from parts that each stay true for a while: offers,
//! listing windows and promotions from an upstream cache (until their
//! TTL), the catalog index (until it is next written), exchange rates
//! (until they are next refreshed), promotions in effect (until the next
//! start or end of a window). While one operation executes, a [`Tracker`]
//! in a task-local collects what its parts say; [`track`] hands the
//! result, a [`Verdict`], to the response cache (`http::responses`), which
//! keeps the answer only as long as every part stays true.
//!
//! Parts that are refreshed before their TTL would end are caught by
//! [`Epochs`]: every upstream cache replaces a still-fresh entry with a
//! different value, and the rates are replaced with a different table,
//! under a new `data` epoch; every write of the catalog index makes a new
//! `catalog` epoch. A cached answer is served only while the epochs it was
//! built under are current (the `catalog` one only if it read the index).
//!
//! Outside [`track`] (background syncs, direct schema execution in tests)
//! the recording functions do nothing.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

/// Generations of the data answers are built from; a new generation
/// invalidates every cached answer built under the previous one.
#[derive(Debug, Default)]
pub(crate) struct Epochs {
    data: AtomicU64,
    catalog: AtomicU64,
}

/// The epochs current at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Snapshot {
    /// Upstream caches and exchange rates.
    pub data: u64,
    /// The catalog index.
    pub catalog: u64,
}

impl Epochs {
    /// Fresh epochs, shared by everything one gateway builds.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Epochs::default())
    }

    /// An upstream cache entry or the rate table was replaced by a
    /// different value before it expired.
    pub(crate) fn data_changed(&self) {
        self.data.fetch_add(1, Ordering::AcqRel);
    }

    /// The catalog index was written.
    pub(crate) fn catalog_changed(&self) {
        self.catalog.fetch_add(1, Ordering::AcqRel);
    }

    /// The current epochs.
    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            data: self.data.load(Ordering::Acquire),
            catalog: self.catalog.load(Ordering::Acquire),
        }
    }
}

/// Why an answer must not be kept at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Uncacheable {
    /// A part is not held fresh by a cache: its upstream's cache is off,
    /// or it was served stale (promotions are, without a warning).
    NotCached,
    /// A part was served stale because its upstream failed.
    Stale,
    /// A part describes the gateway's state at this instant (sync status).
    Live,
}

impl Uncacheable {
    /// The label of this reason in metrics.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Uncacheable::NotCached => "not_cached",
            Uncacheable::Stale => "stale",
            Uncacheable::Live => "live",
        }
    }
}

/// What one operation's parts said.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// The earliest instant a part stops being true; `None` when no part
    /// expires (configuration, the catalog index).
    pub until: Option<Instant>,
    /// Set when a part must not be kept.
    pub uncacheable: Option<Uncacheable>,
    /// Whether a part came from the catalog index.
    pub reads_catalog: bool,
}

/// Collects the [`Verdict`] of one operation.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    verdict: Mutex<Verdict>,
}

tokio::task_local! {
    static TRACKER: Arc<Tracker>;
}

/// Runs `future` (one operation's execution) with a tracker, and returns
/// its output with what its parts said.
pub(crate) async fn track<F: Future>(future: F) -> (F::Output, Verdict) {
    let tracker = Arc::new(Tracker::default());
    let output = TRACKER.scope(tracker.clone(), future).await;
    let verdict = *tracker.verdict.lock().expect("freshness lock poisoned");
    (output, verdict)
}

fn record(update: impl FnOnce(&mut Verdict)) {
    let _ = TRACKER
        .try_with(|tracker| update(&mut tracker.verdict.lock().expect("freshness lock poisoned")));
}

/// A part of the answer stays true until `until`; `None`: it was not
/// cached at all (its upstream's cache is off).
pub(crate) fn fresh_until(until: Option<Instant>) {
    record(|verdict| match until {
        Some(until) => verdict.until = Some(verdict.until.map_or(until, |u| u.min(until))),
        None => verdict.uncacheable = verdict.uncacheable.or(Some(Uncacheable::NotCached)),
    });
}

/// A part of the answer stays true until the wall-clock time `at` (a
/// promotion starts or ends then).
pub(crate) fn true_until_time(at: SystemTime) {
    let left = at
        .duration_since(SystemTime::now())
        .unwrap_or(std::time::Duration::ZERO);
    fresh_until(Some(Instant::now() + left));
}

/// A part of the answer must not be kept.
pub(crate) fn uncacheable(why: Uncacheable) {
    record(|verdict| verdict.uncacheable = verdict.uncacheable.or(Some(why)));
}

/// A part of the answer came from the catalog index.
pub(crate) fn reads_catalog() {
    record(|verdict| verdict.reads_catalog = true);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn the_earliest_end_wins_and_nothing_is_recorded_outside_a_tracker() {
        fresh_until(Some(Instant::now()));
        let soon = Instant::now() + Duration::from_secs(5);
        let later = soon + Duration::from_secs(5);
        let ((), verdict) = track(async {
            fresh_until(Some(later));
            fresh_until(Some(soon));
            reads_catalog();
        })
        .await;
        assert_eq!(verdict.until, Some(soon));
        assert!(verdict.reads_catalog);
        assert_eq!(verdict.uncacheable, None);
        let ((), verdict) = track(async {
            uncacheable(Uncacheable::Stale);
            fresh_until(None);
        })
        .await;
        assert_eq!(
            verdict.uncacheable,
            Some(Uncacheable::Stale),
            "the first reason stays"
        );
    }

    #[test]
    fn epochs_move_on_independently() {
        let epochs = Epochs::new();
        let before = epochs.snapshot();
        epochs.catalog_changed();
        let after = epochs.snapshot();
        assert_eq!(after.data, before.data);
        assert_ne!(after.catalog, before.catalog);
    }
}
