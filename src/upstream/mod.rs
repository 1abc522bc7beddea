//! Upstreams: the boundary between the gateway and the REST APIs it fronts.
//!
//! Each API style lives in its own folder with the same four parts:
//! `wire.rs` (serde types exactly as the API sends them), `map.rs` (wire to
//! [`crate::model`]), `client.rs` (the [`Connector`] that calls the API) and
//! `sim/` (a faithful simulator of the API, serving the same wire types;
//! only with the `sim` feature).
//! This module holds what they share: the [`Connector`] trait, credentials,
//! per-instance settings, the registry of configured instances, and the
//! helpers of [`tolerant`] reading (a value the API documents never fails
//! an offer; one unreadable item of a listing never fails its page).

pub mod client;
pub mod closient;
pub mod medusa;
pub mod paging;
pub mod resilience;
pub mod settings;
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
pub use settings::{
    BreakerSettings, CacheSettings, InstanceSettings, RetrySettings, DEFAULT_CACHE_MAX_BYTES,
    DEFAULT_CACHE_NOT_FOUND_TTL, DEFAULT_CACHE_STALE_IF_ERROR, DEFAULT_CACHE_TTL, DEFAULT_DEADLINE,
    DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_CONCURRENCY, DEFAULT_REQUEST_TIMEOUT,
};

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
