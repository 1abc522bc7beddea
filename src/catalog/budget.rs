//! The request budget of one instance's sync: at most `requests` in any
//! window of length `per`, for each configured window, counted exactly
//! (a sliding log of send times, not an average), so that the upstream's
//! own limits keep room for live traffic. With a shared tier, the replicas
//! of a deployment count in one log there, so that all of them together
//! stay within the budget; while it cannot answer, each counts its own.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::shared::Shared;
use crate::upstream::BudgetWindow;

/// A sliding-log limiter over one or more windows; with a shared tier,
/// one log that every replica counts in (its own when the tier cannot
/// answer).
pub(crate) struct Budget {
    windows: Mutex<Vec<Log>>,
    /// The shared tier and the budget's name there.
    shared: Option<(Arc<Shared>, String)>,
    /// Whether a request was taken yet.
    started: std::sync::atomic::AtomicBool,
}

/// How long the first request waits for the shared tier's connection.
const CONNECT_WAIT: Duration = Duration::from_secs(5);

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field("shared", &self.shared.as_ref().map(|(_, name)| name))
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Log {
    limit: usize,
    per: Duration,
    sent: VecDeque<Instant>,
}

impl Budget {
    /// A budget of `windows` (none: unlimited).
    pub(crate) fn new(windows: &[BudgetWindow]) -> Budget {
        Budget {
            windows: Mutex::new(
                windows
                    .iter()
                    .map(|w| Log {
                        limit: usize::try_from(w.requests).unwrap_or(usize::MAX).max(1),
                        per: w.per,
                        sent: VecDeque::new(),
                    })
                    .collect(),
            ),
            shared: None,
            started: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The budget counted in the shared tier under `name` (every replica
    /// that names it the same shares it), when there is a tier.
    pub(crate) fn shared(mut self, shared: Option<Arc<Shared>>, name: String) -> Budget {
        self.shared = shared.map(|shared| (shared, name));
        self
    }

    /// Waits until one more request fits every window, and counts it: in
    /// the shared tier when there is one and it answers, else here.
    pub(crate) async fn acquire(&self) {
        if let Some((shared, name)) = &self.shared {
            // At start, a moment for the connection: counted alone, the
            // first requests of every replica would add up.
            if !self
                .started
                .swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                shared.wait_connected(CONNECT_WAIT).await;
            }
            let windows: Vec<(u32, Duration)> = {
                let logs = self.windows.lock().await;
                logs.iter()
                    .map(|log| (u32::try_from(log.limit).unwrap_or(u32::MAX), log.per))
                    .collect()
            };
            loop {
                match shared.take_budget(name, &windows).await {
                    Some(wait) if wait.is_zero() => return,
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => break,
                }
            }
        }
        loop {
            let wait = {
                let mut windows = self.windows.lock().await;
                let now = Instant::now();
                let mut wait = Duration::ZERO;
                for log in windows.iter_mut() {
                    while log
                        .sent
                        .front()
                        .is_some_and(|&t| now.saturating_duration_since(t) >= log.per)
                    {
                        log.sent.pop_front();
                    }
                    if log.sent.len() >= log.limit {
                        if let Some(&oldest) = log.sent.front() {
                            wait = wait.max((oldest + log.per).saturating_duration_since(now));
                        }
                    }
                }
                if wait.is_zero() {
                    for log in windows.iter_mut() {
                        log.sent.push_back(now);
                    }
                    return;
                }
                wait
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn no_window_ever_holds_more_than_its_requests() {
        let budget = Budget::new(&[
            BudgetWindow {
                requests: 5,
                per: Duration::from_secs(1),
            },
            BudgetWindow {
                requests: 12,
                per: Duration::from_secs(10),
            },
        ]);
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..30 {
            budget.acquire().await;
            times.push(start.elapsed());
        }
        for (i, &t) in times.iter().enumerate() {
            let in_1s = times[i..]
                .iter()
                .filter(|&&u| u - t < Duration::from_secs(1))
                .count();
            let in_10s = times[i..]
                .iter()
                .filter(|&&u| u - t < Duration::from_secs(10))
                .count();
            assert!(in_1s <= 5, "{in_1s} requests within 1 s of {t:?}");
            assert!(in_10s <= 12, "{in_10s} requests within 10 s of {t:?}");
        }
        // And it does not wait needlessly: the first five go at once.
        assert_eq!(times[4], Duration::ZERO);
        assert_eq!(times[12], Duration::from_secs(10));
    }
}
