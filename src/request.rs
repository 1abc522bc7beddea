//! The request an upstream call is made for: its id (sent upstream as
//! `x-request-id` and written in logs) and its count of upstream calls
//! (written in the request's log line).
//!
//! The HTTP layer runs each GraphQL request inside [`RequestContext::scope`];
//! the loaders read it there and hand it, with a pass-through credential,
//! to each upstream call explicitly ([`crate::upstream::CallContext`]).
//! Lookups by id are batched across requests in the loaders' own tasks; a
//! batch is attributed to the last request that joined it, so with
//! concurrent requests the per-request counts are approximate (the metrics
//! are exact).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::secret::Secret;

tokio::task_local! {
    static CURRENT: RequestContext;
}

/// The header in which a client sends its own credential for a
/// pass-through upstream instance: `x-upstream-credential-<instance name>`.
pub(crate) fn credential_header(instance: &str) -> String {
    format!("x-upstream-credential-{instance}")
}

/// One HTTP request's identity, upstream call count and the upstream
/// credentials its client sent for pass-through instances.
#[derive(Clone, Debug)]
pub struct RequestContext {
    id: Arc<str>,
    calls: Arc<AtomicU64>,
    credentials: Arc<HashMap<Arc<str>, Secret>>,
}

impl RequestContext {
    /// A context for the request `id`.
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        RequestContext {
            id: id.into(),
            calls: Arc::new(AtomicU64::new(0)),
            credentials: Arc::new(HashMap::new()),
        }
    }

    /// The same context, with the client's credentials for pass-through
    /// instances (by instance name).
    pub fn with_credentials(mut self, credentials: HashMap<Arc<str>, Secret>) -> Self {
        self.credentials = Arc::new(credentials);
        self
    }

    /// The client's own credential for the instance `name`, if it sent one.
    pub fn credential_for(&self, name: &str) -> Option<&Secret> {
        self.credentials.get(name)
    }

    /// The instance name and fingerprint of every credential the client
    /// sent (never the secrets), in no particular order.
    pub(crate) fn credential_fingerprints(&self) -> Vec<(Arc<str>, u64)> {
        self.credentials
            .iter()
            .map(|(name, secret)| (name.clone(), secret.fingerprint()))
            .collect()
    }

    /// The request id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Upstream calls made for the request so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Counts one upstream call.
    pub fn count_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs `future` as part of this request.
    pub async fn scope<F: Future>(self, future: F) -> F::Output {
        CURRENT.scope(self, future).await
    }

    /// The request the current task works for, if any.
    pub fn current() -> Option<RequestContext> {
        CURRENT.try_with(Clone::clone).ok()
    }
}
