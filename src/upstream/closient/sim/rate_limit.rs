//! Per-key rate limiting of the simulator: fixed windows of a minute and
//! a day, with the `RateLimit-*` header values of each answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use tokio::time::Instant;

use super::{DAY_LIMIT, MINUTE_LIMIT};

const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Fixed-window counters per key; a limit of 0 is "off".
#[derive(Debug)]
pub(super) struct RateLimiter {
    minute: AtomicU32,
    day: AtomicU32,
    windows: Mutex<HashMap<usize, Windows>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter {
            minute: AtomicU32::new(MINUTE_LIMIT),
            day: AtomicU32::new(DAY_LIMIT),
            windows: Mutex::new(HashMap::new()),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Windows {
    minute_start: Instant,
    minute_used: u32,
    day_start: Instant,
    day_used: u32,
}

/// The `RateLimit-*` header values of one answer.
#[derive(Debug, Clone, Copy)]
pub(super) struct RateState {
    pub limit: u32,
    pub remaining: u32,
    pub reset_secs: u64,
}

pub(super) enum Verdict {
    Allowed(Option<RateState>),
    Limited(RateState),
}

fn seconds_left(start: Instant, window: Duration, now: Instant) -> u64 {
    let left = (start + window).saturating_duration_since(now);
    left.as_secs() + u64::from(left.subsec_nanos() > 0)
}

impl RateLimiter {
    /// Sets the per-minute limit (`None` = off).
    pub(super) fn set_minute_limit(&self, limit: Option<u32>) {
        self.minute.store(limit.unwrap_or(0), Ordering::Relaxed);
    }

    /// Sets the per-day limit (`None` = off).
    pub(super) fn set_day_limit(&self, limit: Option<u32>) {
        self.day.store(limit.unwrap_or(0), Ordering::Relaxed);
    }

    /// Forgets all counted requests.
    pub(super) fn reset(&self) {
        self.windows
            .lock()
            .expect("rate limit lock poisoned")
            .clear();
    }

    /// Counts one request of `key`, or refuses it when a window is used up.
    pub(super) fn check(&self, key: usize) -> Verdict {
        let now = Instant::now();
        let mut windows = self.windows.lock().expect("rate limit lock poisoned");
        let w = windows.entry(key).or_insert(Windows {
            minute_start: now,
            minute_used: 0,
            day_start: now,
            day_used: 0,
        });
        if now.duration_since(w.minute_start) >= MINUTE {
            w.minute_start = now;
            w.minute_used = 0;
        }
        if now.duration_since(w.day_start) >= DAY {
            w.day_start = now;
            w.day_used = 0;
        }
        let policies = [
            (
                self.minute.load(Ordering::Relaxed),
                w.minute_used,
                seconds_left(w.minute_start, MINUTE, now),
            ),
            (
                self.day.load(Ordering::Relaxed),
                w.day_used,
                seconds_left(w.day_start, DAY, now),
            ),
        ];
        let active = policies.iter().filter(|(limit, _, _)| *limit > 0);
        // Refused: report the used-up window that frees up last.
        if let Some(&(limit, _, reset_secs)) = active
            .clone()
            .filter(|(limit, used, _)| used >= limit)
            .max_by_key(|(_, _, reset)| *reset)
        {
            return Verdict::Limited(RateState {
                limit,
                remaining: 0,
                reset_secs: reset_secs.max(1),
            });
        }
        w.minute_used += 1;
        w.day_used += 1;
        // Allowed: report the window closest to running out.
        let state = active
            .map(|&(limit, used, reset_secs)| RateState {
                limit,
                remaining: limit.saturating_sub(used + 1),
                reset_secs: reset_secs.max(1),
            })
            .min_by_key(|s| s.remaining);
        Verdict::Allowed(state)
    }
}

impl RateState {
    pub(super) fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in [
            ("ratelimit-limit", u64::from(self.limit)),
            ("ratelimit-remaining", u64::from(self.remaining)),
            ("ratelimit-reset", self.reset_secs),
        ] {
            headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
        }
    }
}
