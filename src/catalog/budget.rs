//! The request budget of one instance's sync: at most `requests` in any
//! window of length `per`, for each configured window, counted exactly
//! (a sliding log of send times, not an average), so that the upstream's
//! own limits keep room for live traffic.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::upstream::BudgetWindow;

/// A sliding-log limiter over one or more windows.
#[derive(Debug)]
pub(crate) struct Budget {
    windows: Mutex<Vec<Log>>,
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
        }
    }

    /// Waits until one more request fits every window, and counts it.
    pub(crate) async fn acquire(&self) {
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
