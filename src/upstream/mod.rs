//! Upstreams: the boundary between the gateway and the REST APIs it fronts.
//!
//! Each API style lives in its own folder with the same four parts:
//! `wire.rs` (serde types exactly as the API sends them), `map.rs` (wire to
//! [`crate::model`]), `client.rs` (the [`Connector`] that calls the API) and
//! `sim.rs` (a faithful simulator of the API, serving the same wire types).
//! This module holds what they share: the [`Connector`] trait, credentials,
//! per-instance settings, the registry of configured instances, and the
//! helpers of [`tolerant`] reading (a value the API documents never fails
//! an offer; one unreadable item of a listing never fails its page).

pub mod client;
pub mod closient;
pub mod medusa;
pub mod paging;
pub mod resilience;
pub mod tolerant;
pub mod violet;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use url::Url;

use crate::error::UpstreamError;
use crate::model::{Offer, OfferKey, OfferKind, UpstreamKind};
use crate::pricing::convert::RateTable;
use crate::pricing::Currency;
use crate::secret::Secret;

pub use client::HttpClient;

/// Default whole-request timeout of one upstream call.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time, from the start of a GraphQL request, after which the
/// fields still waiting for an instance fail with `UPSTREAM_TIMEOUT`.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);
/// Default number of concurrent calls to one upstream instance.
pub const DEFAULT_MAX_CONCURRENCY: usize = 32;
/// Default number of ids in one multi-get call (Medusa `id[]=`).
pub const DEFAULT_MAX_BATCH_SIZE: usize = 100;

/// Default time an upstream answer is served from the cache.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);
/// Default time a "not found" answer is served from the cache.
pub const DEFAULT_CACHE_NOT_FOUND_TTL: Duration = Duration::from_secs(10);
/// Default time an expired answer is kept to be served when the upstream fails.
pub const DEFAULT_CACHE_STALE_IF_ERROR: Duration = Duration::from_secs(300);
/// Default memory bound of one instance's cache, in (approximate) bytes.
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Tuning of one upstream instance.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceSettings {
    /// Whole-request timeout of one call.
    pub request_timeout: Duration,
    /// Time from the start of a GraphQL request after which its fields still
    /// waiting for this instance fail with `UPSTREAM_TIMEOUT`.
    pub deadline: Duration,
    /// Most calls in flight at once to this instance.
    pub max_concurrency: usize,
    /// Most ids in one multi-get call, for styles that have one.
    pub max_batch_size: usize,
    /// Connect timeout of this instance; `None` for the gateway's default.
    pub connect_timeout: Option<Duration>,
    /// Pass-through mode: a client may send its own credential for this
    /// instance in `x-upstream-credential-<name>`, used instead of the
    /// configured one (whose answers it never shares).
    pub pass_through: bool,
    /// The instance's answer cache.
    pub cache: CacheSettings,
    /// Retries of failed calls.
    pub retry: RetrySettings,
    /// The circuit breaker.
    pub breaker: BreakerSettings,
}

impl Default for InstanceSettings {
    fn default() -> Self {
        InstanceSettings {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            deadline: DEFAULT_DEADLINE,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            max_batch_size: DEFAULT_MAX_BATCH_SIZE,
            connect_timeout: None,
            pass_through: false,
            cache: CacheSettings::default(),
            retry: RetrySettings::default(),
            breaker: BreakerSettings::default(),
        }
    }
}

/// Retries of idempotent calls that failed on the way (connection errors,
/// 502, 503, 504, 429).
#[derive(Clone, Debug, PartialEq)]
pub struct RetrySettings {
    /// Attempts in all, the first included (1 = no retries).
    pub max_attempts: u32,
    /// Backoff before the first retry; doubles each time, with full jitter.
    pub base_backoff: Duration,
    /// Longest backoff.
    pub max_backoff: Duration,
    /// Longest `Retry-After` honoured; a longer one is not waited for.
    pub retry_after_cap: Duration,
    /// Retries allowed as a fraction of calls (0.2 = one retry per five calls) ...
    pub budget_percent: f32,
    /// ... plus this many retries per second, over ...
    pub budget_min_per_sec: u32,
    /// ... this window.
    pub budget_window: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            max_attempts: 3,
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            retry_after_cap: Duration::from_secs(5),
            budget_percent: 0.2,
            budget_min_per_sec: 10,
            budget_window: Duration::from_secs(10),
        }
    }
}

/// The circuit breaker of one instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Whether the breaker is used.
    pub enabled: bool,
    /// Consecutive failed calls that open the breaker.
    pub failure_threshold: u32,
    /// How long an open breaker fails calls fast before one probe.
    pub cool_down: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings {
            enabled: true,
            failure_threshold: 5,
            cool_down: Duration::from_secs(10),
        }
    }
}

/// The cache in front of one upstream instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheSettings {
    /// Whether answers are cached at all. Concurrent lookups of one key are
    /// coalesced into one call either way.
    pub enabled: bool,
    /// How long an answer is served from the cache.
    pub ttl: Duration,
    /// How long a "not found" answer is served from the cache.
    pub not_found_ttl: Duration,
    /// How long past `ttl` an answer is kept to be served (marked stale)
    /// when the upstream fails; zero turns stale-if-error off.
    pub stale_if_error: Duration,
    /// Memory bound of the cache, in approximate bytes of cached offers.
    pub max_bytes: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            enabled: true,
            ttl: DEFAULT_CACHE_TTL,
            not_found_ttl: DEFAULT_CACHE_NOT_FOUND_TTL,
            stale_if_error: DEFAULT_CACHE_STALE_IF_ERROR,
            max_bytes: DEFAULT_CACHE_MAX_BYTES,
        }
    }
}

/// How the gateway authenticates to a Medusa instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MedusaAuth {
    /// A ready JWT, sent as `Authorization: Bearer`.
    Token(Secret),
    /// Email and password, exchanged for a JWT at `POST /auth/user/emailpass`.
    EmailPassword {
        /// The admin user's email.
        email: String,
        /// The admin user's password.
        password: Secret,
    },
}

/// Credentials of one upstream instance, by style.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// Closient: an API key sent as `X-API-Key`.
    Closient {
        /// The API key.
        api_key: Secret,
    },
    /// Medusa: a bearer token or a login.
    Medusa(MedusaAuth),
    /// Violet: app id and secret, and a user login exchanged for a token.
    Violet {
        /// `X-Violet-App-Id`.
        app_id: i64,
        /// `X-Violet-App-Secret`.
        app_secret: Secret,
        /// Login user name.
        username: String,
        /// Login password.
        password: Secret,
    },
}

impl Credentials {
    /// The style these credentials are for.
    pub fn kind(&self) -> UpstreamKind {
        match self {
            Credentials::Closient { .. } => UpstreamKind::Closient,
            Credentials::Medusa(_) => UpstreamKind::Medusa,
            Credentials::Violet { .. } => UpstreamKind::Violet,
        }
    }

    /// A stable identity of these credentials for cache keys; never the secret.
    pub fn fingerprint(&self) -> u64 {
        match self {
            Credentials::Closient { api_key } => api_key.fingerprint(),
            Credentials::Medusa(MedusaAuth::Token(token)) => token.fingerprint(),
            Credentials::Medusa(MedusaAuth::EmailPassword { email, password }) => {
                Secret::new(format!("{email}\u{0}{}", password.expose())).fingerprint()
            }
            Credentials::Violet {
                app_id,
                app_secret,
                username,
                password,
            } => Secret::new(format!(
                "{app_id}\u{0}{}\u{0}{username}\u{0}{}",
                app_secret.expose(),
                password.expose()
            ))
            .fingerprint(),
        }
    }
}

/// Everything needed to talk to one upstream instance.
#[derive(Clone, Debug)]
pub struct InstanceSpec {
    /// The instance's name, unique in the gateway (appears in ids and errors).
    pub name: Arc<str>,
    /// Base URL the API paths are appended to.
    pub base_url: Url,
    /// Credentials; their variant decides the style.
    pub credentials: Credentials,
    /// Timeouts and limits.
    pub settings: InstanceSettings,
}

impl InstanceSpec {
    /// The style of this instance.
    pub fn kind(&self) -> UpstreamKind {
        self.credentials.kind()
    }

    /// `base_url` joined with an absolute API path, keeping any path prefix
    /// of the base URL (`https://host/prefix` + `/admin/offers`).
    pub fn url(&self, path: &str) -> Url {
        let mut url = self.base_url.clone();
        let prefix = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{prefix}{path}"));
        url
    }
}

/// What a listing is scoped to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ListScope {
    /// All online offers of one Closient organization (shortuuid).
    Organization(String),
    /// All offers the credentials can see (Medusa list, Violet search).
    All,
}

/// One item of a listing: the offer, or why that one item cannot be read
/// (the rest of its page still can).
pub type PageItem = Result<Offer, UpstreamError>;

/// One slice of a listing.
#[derive(Clone, Debug)]
pub struct OfferPage {
    /// The items, in the upstream's order.
    pub items: Vec<PageItem>,
    /// Total number of offers in the listing, as the upstream counts them.
    pub total_count: u64,
}

impl OfferPage {
    /// The offers of the page that could be read, in order.
    pub fn offers(&self) -> impl Iterator<Item = &Offer> {
        self.items.iter().filter_map(|item| item.as_ref().ok())
    }

    /// Whether some item of the page could not be read.
    pub fn has_unreadable(&self) -> bool {
        self.items.iter().any(Result::is_err)
    }
}

/// The answer for one key of a batch lookup: `Ok(None)` is "not found".
pub type Lookup = Result<Option<Offer>, UpstreamError>;

/// A configured upstream instance the gateway can ask for offers.
#[async_trait]
pub trait Connector: Send + Sync + 'static {
    /// The instance's configured name.
    fn name(&self) -> &Arc<str>;

    /// The API style.
    fn kind(&self) -> UpstreamKind;

    /// The offer kinds this style serves.
    fn offer_kinds(&self) -> &'static [OfferKind];

    /// Checks an id as a client wrote it and returns its canonical form
    /// (Closient accepts UUIDs and returns shortuuids). The error says what
    /// is wrong, for a `BAD_USER_INPUT` message.
    fn canonical_id(&self, kind: OfferKind, raw: &str) -> Result<String, String>;

    /// Looks offers up by key. The answer has one entry per distinct key,
    /// in any order. Styles with a multi-get use it; the others send their
    /// single GETs concurrently.
    async fn fetch_offers(&self, keys: &[OfferKey]) -> Vec<(OfferKey, Lookup)>;

    /// Reads `limit` offers of a listing starting at `offset` (0-based),
    /// over the upstream's own paging. An item that cannot be read is an
    /// `Err` item of the page, never a failure of the whole page.
    async fn list_offers(
        &self,
        scope: &ListScope,
        offset: u64,
        limit: u32,
    ) -> Result<OfferPage, UpstreamError>;

    /// Largest `limit` the upstream serves in one page.
    fn max_page_size(&self) -> u32;

    /// The instance's settings.
    fn settings(&self) -> &InstanceSettings;

    /// Identity of the credentials this connector calls with, for cache
    /// keys ([`Credentials::fingerprint`]); never the secret.
    fn credential_fingerprint(&self) -> u64;

    /// The state of the instance's circuit breaker.
    fn breaker_state(&self) -> resilience::BreakerState;

    /// The latest exchange rates against `base`, for styles that publish
    /// them (Violet's `GET /v1/currencies/latest`); `Ok(None)` otherwise.
    async fn exchange_rates(&self, base: Currency) -> Result<Option<RateTable>, UpstreamError> {
        let _ = base;
        Ok(None)
    }
}

/// Builds the connector for an instance, by its style.
pub fn connect(spec: InstanceSpec, http: HttpClient) -> Arc<dyn Connector> {
    match spec.kind() {
        UpstreamKind::Closient => Arc::new(closient::ClosientConnector::new(spec, http)),
        UpstreamKind::Medusa => Arc::new(medusa::MedusaConnector::new(spec, http)),
        UpstreamKind::Violet => Arc::new(violet::VioletConnector::new(spec, http)),
    }
}

/// The configured upstream instances, by name, in configuration order.
#[derive(Clone, Default)]
pub struct Upstreams {
    ordered: Vec<Arc<dyn Connector>>,
    by_name: HashMap<Arc<str>, Arc<dyn Connector>>,
}

impl Upstreams {
    /// Builds connectors for all instances. Instances share pooled
    /// connections: one HTTP client per distinct connect timeout (`default`
    /// for instances that set none).
    pub fn new(specs: Vec<InstanceSpec>, default: Duration) -> Self {
        Upstreams::with_metrics(specs, default, None)
    }

    /// Like [`Upstreams::new`], recording upstream calls in `metrics`.
    pub fn with_metrics(
        specs: Vec<InstanceSpec>,
        default: Duration,
        metrics: Option<std::sync::Arc<crate::metrics::Metrics>>,
    ) -> Self {
        let mut clients: HashMap<Duration, HttpClient> = HashMap::new();
        let mut upstreams = Upstreams::default();
        for spec in specs {
            let timeout = spec.settings.connect_timeout.unwrap_or(default);
            let http = clients
                .entry(timeout)
                .or_insert_with(|| {
                    let client = HttpClient::new(timeout);
                    match &metrics {
                        Some(metrics) => client.with_metrics(metrics.clone()),
                        None => client,
                    }
                })
                .clone();
            upstreams.add(connect(spec, http));
        }
        upstreams
    }

    /// Adds a connector (names are unique; configuration checks that first).
    pub fn add(&mut self, connector: Arc<dyn Connector>) {
        self.by_name
            .insert(connector.name().clone(), connector.clone());
        self.ordered.push(connector);
    }

    /// The instance called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Connector>> {
        self.by_name.get(name)
    }

    /// All instances in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Connector>> {
        self.ordered.iter()
    }
}
