//! How every upstream call is made: under the instance's concurrency limit,
//! with its request timeout, retried with backoff inside a retry budget,
//! and through its circuit breaker.
//!
//! Each instance sends through its own [`InstanceClient`]; the pooled
//! connections underneath are shared ([`HttpClient`]).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::RequestBuilder;
use tokio::sync::Semaphore;
use tower::retry::budget::{Budget, TpsBudget};

use crate::error::UpstreamError;
use crate::upstream::client::{HttpClient, RawResponse};
use crate::upstream::{BreakerSettings, InstanceSpec, RetrySettings};

/// The per-instance sender: concurrency limit, timeout, retries, breaker.
pub(crate) struct InstanceClient {
    name: std::sync::Arc<str>,
    http: HttpClient,
    timeout: Duration,
    permits: Semaphore,
    retry: RetrySettings,
    budget: TpsBudget,
    breaker: CircuitBreaker,
}

/// Whether a request may be sent twice without harm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotent {
    /// Reads (GET, and read-only POSTs such as a search or a login).
    Yes,
    /// Anything else: never retried.
    No,
}

impl InstanceClient {
    /// The sender of `spec`'s instance over the shared client.
    pub(crate) fn new(spec: &InstanceSpec, http: HttpClient) -> Self {
        let settings = &spec.settings;
        InstanceClient {
            name: spec.name.clone(),
            http,
            timeout: settings.request_timeout,
            permits: Semaphore::new(settings.max_concurrency.max(1)),
            retry: settings.retry.clone(),
            budget: TpsBudget::new(
                settings.retry.budget_window,
                settings.retry.budget_min_per_sec,
                settings.retry.budget_percent,
            ),
            breaker: CircuitBreaker::new(settings.breaker.clone()),
        }
    }

    /// The shared reqwest client, for building requests.
    pub(crate) fn reqwest(&self) -> &reqwest::Client {
        self.http.reqwest()
    }

    /// Sends `request` and reads the answer. Connection failures, 502, 503,
    /// 504 and 429 are retried (idempotent requests only) with exponential
    /// backoff and full jitter, or after the `Retry-After` the upstream
    /// asked for up to a cap, while the retry budget allows. Every status is
    /// returned as is once retries are over, for the connector to interpret.
    /// The request id of `context` goes upstream, and its count of
    /// upstream calls grows with each attempt.
    pub(crate) async fn send(
        &self,
        request: RequestBuilder,
        idempotent: Idempotent,
        context: Option<&crate::request::RequestContext>,
    ) -> Result<RawResponse, UpstreamError> {
        let probe = self.breaker.admit(&self.name)?;
        self.budget.deposit();
        let request = match context {
            Some(context) => request.header("x-request-id", context.id()),
            None => request,
        };
        let mut attempt = 1;
        loop {
            let this_try = request.try_clone().ok_or_else(|| {
                UpstreamError::BadResponse("request body cannot be replayed".to_owned())
            })?;
            let outcome = {
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .expect("the instance never closes its semaphore");
                let started = Instant::now();
                if let Some(context) = context {
                    context.count_call();
                }
                let outcome = self.http.send(this_try, self.timeout).await;
                if let Some(metrics) = self.http.metrics() {
                    metrics.upstream_call(&self.name, outcome_label(&outcome), started.elapsed());
                }
                outcome
            };
            let wait = match (&outcome, idempotent) {
                (_, Idempotent::No) => None,
                _ if attempt >= self.retry.max_attempts => None,
                (outcome, Idempotent::Yes) => self.retry_delay(outcome, attempt),
            };
            match wait {
                Some(delay) if self.budget.withdraw() => {
                    tracing::debug!(
                        upstream = %self.name,
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        "retrying upstream call"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Some(_) => {
                    tracing::warn!(upstream = %self.name, "retry budget exhausted: not retrying");
                    return self.finish(probe, outcome);
                }
                None => return self.finish(probe, outcome),
            }
        }
    }

    fn finish(
        &self,
        probe: Probe<'_>,
        outcome: Result<RawResponse, UpstreamError>,
    ) -> Result<RawResponse, UpstreamError> {
        let failed = match &outcome {
            Err(UpstreamError::Connect(_)) | Err(UpstreamError::Timeout) => true,
            Err(_) => false,
            Ok(response) => response.status.is_server_error(),
        };
        probe.finish(&self.name, failed);
        outcome
    }

    /// How long to wait before the next attempt, or `None` to stop.
    fn retry_delay(
        &self,
        outcome: &Result<RawResponse, UpstreamError>,
        attempt: u32,
    ) -> Option<Duration> {
        match outcome {
            Err(UpstreamError::Connect(_)) => Some(self.backoff(attempt)),
            Ok(response) => match response.status.as_u16() {
                502..=504 => Some(self.backoff(attempt)),
                429 => match response.retry_after() {
                    Some(after) if after <= self.retry.retry_after_cap => Some(after),
                    // Asked to wait longer than we may: give up now.
                    Some(_) => None,
                    None => Some(self.backoff(attempt)),
                },
                _ => None,
            },
            Err(_) => None,
        }
    }

    /// Exponential backoff with full jitter: a random delay up to
    /// `base * 2^(attempt-1)`, capped.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .retry
            .base_backoff
            .saturating_mul(1u32 << (attempt - 1).min(16))
            .min(self.retry.max_backoff);
        let millis = exp.as_millis() as u64;
        Duration::from_millis(fastrand::u64(0..=millis))
    }

    /// The breaker's state, for metrics and readiness.
    pub(crate) fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }
}

/// The metrics label of one call's outcome: `ok` (2xx, and 404, an answer
/// like any other), else the error code it maps to.
fn outcome_label(outcome: &Result<RawResponse, UpstreamError>) -> &'static str {
    match outcome {
        Err(err) => err.code().as_str(),
        Ok(response) => match response.status.as_u16() {
            200..=299 | 404 => "ok",
            401 | 403 => "UPSTREAM_UNAUTHORIZED",
            429 => "UPSTREAM_RATE_LIMITED",
            500..=599 => "UPSTREAM_UNAVAILABLE",
            _ => "UPSTREAM_BAD_RESPONSE",
        },
    }
}

/// A circuit breaker's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls fail fast until the cool-down ends.
    Open,
    /// One probe call decides whether to close.
    HalfOpen,
}

#[derive(Debug)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// After `failure_threshold` consecutive failed calls, calls fail fast with
/// `UPSTREAM_UNAVAILABLE` for `cool_down`; then one probe call is let
/// through, and its outcome closes or reopens the breaker.
struct CircuitBreaker {
    settings: BreakerSettings,
    state: Mutex<State>,
}

/// Permission for one call; reports its outcome to the breaker. A call that
/// is dropped before it finishes counts as failed if it was the probe.
struct Probe<'a> {
    breaker: &'a CircuitBreaker,
    is_probe: bool,
    done: bool,
}

impl CircuitBreaker {
    fn new(settings: BreakerSettings) -> Self {
        CircuitBreaker {
            settings,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    fn state(&self) -> BreakerState {
        match *self.state.lock().expect("breaker lock poisoned") {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until } if Instant::now() < until => BreakerState::Open,
            State::Open { .. } | State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    fn admit(&self, name: &str) -> Result<Probe<'_>, UpstreamError> {
        if !self.settings.enabled {
            return Ok(Probe {
                breaker: self,
                is_probe: false,
                done: false,
            });
        }
        let mut state = self.state.lock().expect("breaker lock poisoned");
        let is_probe = match &*state {
            State::Closed { .. } => false,
            State::Open { until } if Instant::now() < *until => {
                return Err(UpstreamError::CircuitOpen);
            }
            State::Open { .. } => {
                tracing::info!(upstream = %name, "circuit half-open: sending one probe");
                *state = State::HalfOpen { probing: true };
                true
            }
            State::HalfOpen { probing: true } => return Err(UpstreamError::CircuitOpen),
            State::HalfOpen { probing: false } => {
                *state = State::HalfOpen { probing: true };
                true
            }
        };
        Ok(Probe {
            breaker: self,
            is_probe,
            done: false,
        })
    }

    fn record(&self, name: &str, is_probe: bool, failed: bool) {
        if !self.settings.enabled {
            return;
        }
        let mut state = self.state.lock().expect("breaker lock poisoned");
        let open = || State::Open {
            until: Instant::now() + self.settings.cool_down,
        };
        match (&mut *state, failed) {
            (State::Closed { failures }, true) => {
                *failures += 1;
                if *failures >= self.settings.failure_threshold {
                    tracing::warn!(upstream = %name, failures = *failures, "circuit opened");
                    *state = open();
                }
            }
            (State::Closed { failures }, false) => *failures = 0,
            (State::HalfOpen { .. }, true) if is_probe => {
                tracing::warn!(upstream = %name, "probe failed: circuit reopened");
                *state = open();
            }
            (State::HalfOpen { .. }, false) if is_probe => {
                tracing::info!(upstream = %name, "probe succeeded: circuit closed");
                *state = State::Closed { failures: 0 };
            }
            // Calls admitted before the breaker opened finish meanwhile.
            _ => {}
        }
    }
}

impl Probe<'_> {
    fn finish(mut self, name: &str, failed: bool) {
        self.done = true;
        self.breaker.record(name, self.is_probe, failed);
    }
}

impl Drop for Probe<'_> {
    fn drop(&mut self) {
        if !self.done && self.is_probe {
            self.breaker.record("(cancelled probe)", true, true);
        }
    }
}
