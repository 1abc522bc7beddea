//! Upstreams: the boundary between the gateway and the REST APIs it fronts.
//!
//! Each API style lives in its own folder with the same four parts:
//! `wire.rs` (serde types exactly as the API sends them), `map.rs` (wire to
//! [`crate::model`]), `client.rs` (the [`Connector`] that calls the API) and
//! `sim/` (a faithful simulator of the API, serving the same wire types;
//! only with the `sim` feature).
//! This module holds what they share. An [`Instance`] is one configured
//! upstream: its spec (name, base URL, credentials, [`settings`]), its
//! resilient sender ([`resilience`]) and its style's [`Connector`], which
//! only says what is particular to the style. Every connector call gets a
//! [`Call`]: the sender, and the [`CallContext`] of the call (the request
//! it is made for, a client's own credential in pass-through mode), passed
//! explicitly rather than found in task-locals. [`Upstreams`] is the
//! registry of instances; [`tolerant`] holds the helpers of tolerant
//! reading (a value the API documents never fails an offer; one
//! unreadable item of a listing never fails its page).

pub(crate) mod client;
pub mod closient;
pub mod medusa;
pub(crate) mod paging;
#[cfg(all(test, feature = "sim"))]
mod reading_tests;
pub(crate) mod resilience;
pub(crate) mod settings;
pub(crate) mod tolerant;
pub mod violet;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use url::Url;

use crate::error::UpstreamError;
use crate::gtin::Gtin;
use crate::model::{Offer, OfferKey, OfferKind, ProductFacts, Promotion, UpstreamKind};
use crate::pricing::convert::RateTable;
use crate::pricing::Currency;
use crate::secret::Secret;

pub(crate) use client::HttpClient;
pub use settings::{
    BreakerSettings, BudgetWindow, CacheSettings, InstanceSettings, RetrySettings, StyleSettings,
    SyncSettings, DEFAULT_CACHE_MAX_BYTES, DEFAULT_CACHE_NOT_FOUND_TTL,
    DEFAULT_CACHE_STALE_IF_ERROR, DEFAULT_CACHE_TTL, DEFAULT_DEADLINE, DEFAULT_MAX_BATCH_SIZE,
    DEFAULT_MAX_CONCURRENCY, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SYNC_CHANGES_INTERVAL,
    DEFAULT_SYNC_INTERVAL,
};

/// Credentials of one upstream instance: its style's own type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// Closient: an API key.
    Closient(closient::Credentials),
    /// Medusa: a bearer token or a login.
    Medusa(medusa::Credentials),
    /// Violet: app id and secret, and a user login.
    Violet(violet::Credentials),
}

impl Credentials {
    /// The style these credentials are for.
    pub fn kind(&self) -> UpstreamKind {
        match self {
            Credentials::Closient(_) => UpstreamKind::Closient,
            Credentials::Medusa(_) => UpstreamKind::Medusa,
            Credentials::Violet(_) => UpstreamKind::Violet,
        }
    }

    /// A stable identity of these credentials for cache keys; never the secret.
    pub fn fingerprint(&self) -> u64 {
        match self {
            Credentials::Closient(credentials) => credentials.fingerprint(),
            Credentials::Medusa(credentials) => credentials.fingerprint(),
            Credentials::Violet(credentials) => credentials.fingerprint(),
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
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ListScope {
    /// All online offers of one Closient organization (shortuuid).
    Organization(String),
    /// All offers the credentials can see (Medusa list, Violet search).
    All,
    /// The offers the credentials can see that match every filter given,
    /// exactly as the upstream stores the values.
    Matching(OfferFilter),
}

/// Exact-match filters of a marketplace listing. Medusa's list endpoint
/// filters on all four; Violet's search only by seller (its merchant id).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct OfferFilter {
    /// The seller (Medusa `seller_id`, Violet merchant id).
    pub seller_id: Option<String>,
    /// The offer's SKU.
    pub sku: Option<String>,
    /// The EAN, exactly as the upstream stores it (no padding).
    pub ean: Option<String>,
    /// The UPC, exactly as the upstream stores it.
    pub upc: Option<String>,
}

/// A listing a catalog sync pass reads to its end.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CatalogFeed {
    /// A listing of whole offers ([`Connector::list_offers`]).
    Offers(ListScope),
    /// The in-store offers of one Closient organization (shortuuid), from
    /// its `GET /organizations/{id}/offers` listing, which gives ids and
    /// product ids only.
    InStoreOffers(String),
    /// A listing of whole offers by last modification, newest first
    /// (Medusa `order=-updated_at`, Violet `sort_by: date_last_modified`):
    /// a changes pass reads it until the offers are older than its last pass.
    Changes(ListScope),
}

/// One offer as a catalog feed lists it: what the index needs to know.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CatalogEntry {
    /// The offer.
    pub key: OfferKey,
    /// What the upstream says about its product.
    pub facts: ProductFacts,
    /// When the upstream last changed the offer, when it says.
    pub modified_at: Option<std::time::SystemTime>,
}

impl CatalogEntry {
    /// The entry of a whole offer.
    pub fn of(offer: &Offer) -> CatalogEntry {
        let modified = match offer {
            Offer::Marketplace(o) => match &o.details {
                crate::model::MarketplaceDetails::Medusa(d) => d.updated_at.as_deref(),
                crate::model::MarketplaceDetails::Violet(d) => d.date_last_modified.as_deref(),
            },
            Offer::Online(_) | Offer::InStore(_) => None,
        };
        CatalogEntry {
            key: offer.common().key.clone(),
            facts: offer.product_facts(),
            modified_at: modified.and_then(tolerant::timestamp),
        }
    }
}

/// One slice of a catalog feed.
#[derive(Clone, Debug)]
pub struct CatalogPage {
    /// The entries, in the upstream's order; an unreadable item is an `Err`.
    pub items: Vec<Result<CatalogEntry, UpstreamError>>,
    /// Total number of offers in the feed, as the upstream counts them.
    pub total_count: u64,
}

impl From<OfferPage> for CatalogPage {
    fn from(page: OfferPage) -> CatalogPage {
        CatalogPage {
            items: page
                .items
                .into_iter()
                .map(|item| item.map(|offer| CatalogEntry::of(&offer)))
                .collect(),
            total_count: page.total_count,
        }
    }
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

/// What one upstream call is made with, besides the instance itself: the
/// request it is made for (its id goes upstream as `x-request-id`, and its
/// count of upstream calls grows) and, in pass-through mode, the client's
/// own credential, sent instead of the configured one.
#[derive(Clone, Debug, Default)]
pub struct CallContext {
    /// The request the call is made for.
    pub request: Option<crate::request::RequestContext>,
    /// The client's own credential (pass-through mode).
    pub credential: Option<Secret>,
}

/// One call's view of its instance, handed to the style's [`Connector`]:
/// the instance's sender (concurrency limit, timeout, retries, breaker)
/// and the call's [`CallContext`].
pub struct Call<'a> {
    client: &'a resilience::InstanceClient,
    context: &'a CallContext,
}

impl Call<'_> {
    /// The shared reqwest client, for building requests.
    pub fn reqwest(&self) -> &reqwest::Client {
        self.client.reqwest()
    }

    /// Sends `request` through the instance's sender, on behalf of the
    /// call's request.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
        idempotent: resilience::Idempotent,
    ) -> Result<client::RawResponse, UpstreamError> {
        self.client
            .send(request, idempotent, self.context.request.as_ref())
            .await
    }

    /// The client's own credential, when the call must use it instead of
    /// the configured one (pass-through mode).
    pub fn credential(&self) -> Option<&Secret> {
        self.context.credential.as_ref()
    }
}

/// What one API style does: the calls and answers particular to it. The
/// plumbing every style shares (name, settings, credentials' identity,
/// the resilient sender) is its [`Instance`]'s; each call gets a [`Call`].
#[async_trait]
pub trait Connector: Send + Sync + 'static {
    /// The offer kinds this style serves.
    fn offer_kinds(&self) -> &'static [OfferKind];

    /// Checks an id as a client wrote it and returns its canonical form
    /// (Closient accepts UUIDs and returns shortuuids). The error says what
    /// is wrong, for a `BAD_USER_INPUT` message.
    fn canonical_id(&self, kind: OfferKind, raw: &str) -> Result<String, String>;

    /// Looks offers up by key. The answer has one entry per distinct key,
    /// in any order. Styles with a multi-get use it; the others send their
    /// single GETs concurrently.
    async fn fetch_offers(&self, call: &Call<'_>, keys: &[OfferKey]) -> Vec<(OfferKey, Lookup)>;

    /// The promotions (time-windowed price overrides) of offers by key,
    /// every one the upstream publishes, active or not, in effect or not:
    /// which applies is for [`crate::pricing`] to decide. The answer has
    /// one entry per distinct key, in any order; `Ok` with an empty list
    /// when the offer has none, is not found, or the style publishes no
    /// promotions (the default, for every key). A promotion that cannot be
    /// read is left out of its offer's list (and logged), never a failure
    /// of the list.
    async fn fetch_promotions(
        &self,
        call: &Call<'_>,
        keys: &[OfferKey],
    ) -> Vec<(OfferKey, Result<Vec<Promotion>, UpstreamError>)> {
        let _ = call;
        let mut seen = std::collections::HashSet::new();
        keys.iter()
            .filter(|key| seen.insert(*key))
            .map(|key| (key.clone(), Ok(Vec::new())))
            .collect()
    }

    /// Reads `limit` offers of a listing starting at `offset` (0-based),
    /// over the upstream's own paging. An item that cannot be read is an
    /// `Err` item of the page, never a failure of the whole page.
    async fn list_offers(
        &self,
        call: &Call<'_>,
        scope: &ListScope,
        offset: u64,
        limit: u32,
    ) -> Result<OfferPage, UpstreamError>;

    /// Largest `limit` the upstream serves in one page.
    fn max_page_size(&self) -> u32;

    /// Whether [`Connector::fetch_offers`] asks for many keys in one call
    /// (a multi-get): only then is it worth gathering keys for a while
    /// before fetching. Styles without one send a GET per key anyway.
    fn multi_get(&self) -> bool {
        false
    }

    /// Whether [`ListScope::Matching`] with `filter` can be listed; the
    /// error says which filter the upstream lacks, for `BAD_USER_INPUT`.
    fn check_filter(&self, filter: &OfferFilter) -> Result<(), String> {
        let _ = filter;
        Err("this upstream cannot filter its offers".to_owned())
    }

    /// The latest exchange rates against `base`, for styles that publish
    /// them (Violet's `GET /v1/currencies/latest`); `Ok(None)` otherwise.
    async fn exchange_rates(
        &self,
        call: &Call<'_>,
        base: Currency,
    ) -> Result<Option<RateTable>, UpstreamError> {
        let _ = (call, base);
        Ok(None)
    }

    /// The feeds a full catalog sync pass reads, given the instance's sync
    /// settings: by default the listing of everything the credentials see.
    fn catalog_feeds(&self, sync: &SyncSettings) -> Vec<CatalogFeed> {
        let _ = sync;
        vec![CatalogFeed::Offers(ListScope::All)]
    }

    /// The feeds a changes pass reads, newest first, for styles that can
    /// list offers by last modification; none by default.
    fn change_feeds(&self) -> Vec<CatalogFeed> {
        Vec::new()
    }

    /// Reads `limit` entries of a catalog feed from `offset` (a multiple of
    /// `limit`): each feed through its listing method.
    async fn catalog_page(
        &self,
        call: &Call<'_>,
        feed: &CatalogFeed,
        offset: u64,
        limit: u32,
    ) -> Result<CatalogPage, UpstreamError> {
        match feed {
            CatalogFeed::Offers(scope) => {
                Ok(self.list_offers(call, scope, offset, limit).await?.into())
            }
            CatalogFeed::Changes(scope) => {
                Ok(self.list_changes(call, scope, offset, limit).await?.into())
            }
            CatalogFeed::InStoreOffers(organization) => {
                self.list_in_store_offers(call, organization, offset, limit)
                    .await
            }
        }
    }

    /// Reads `limit` offers of `scope` from `offset`, the most recently
    /// changed first, for styles that name a [`CatalogFeed::Changes`] feed.
    async fn list_changes(
        &self,
        call: &Call<'_>,
        scope: &ListScope,
        offset: u64,
        limit: u32,
    ) -> Result<OfferPage, UpstreamError> {
        let _ = (call, scope, offset, limit);
        Err(UpstreamError::NotFound(
            "no listing by modification in this style".to_owned(),
        ))
    }

    /// Reads `limit` in-store offers of `organization` from `offset` (a
    /// multiple of `limit`), for styles that name a
    /// [`CatalogFeed::InStoreOffers`] feed.
    async fn list_in_store_offers(
        &self,
        call: &Call<'_>,
        organization: &str,
        offset: u64,
        limit: u32,
    ) -> Result<CatalogPage, UpstreamError> {
        let _ = (call, offset, limit);
        Err(UpstreamError::NotFound(format!(
            "no in-store listing in this style (organization {organization})"
        )))
    }

    /// What the upstream says about one of its products, by its own
    /// product id, for styles whose offers name a product only by id
    /// (Closient: GTIN, name and brand from the products API). `Ok(None)`
    /// when the product is unknown or the style has no such lookup.
    async fn product_facts(
        &self,
        call: &Call<'_>,
        product_id: &str,
    ) -> Result<Option<ProductFacts>, UpstreamError> {
        let _ = (call, product_id);
        Ok(None)
    }

    /// The upstream's own product with `gtin`, by GTIN, for styles whose
    /// offers name a product only by id (Closient's products API): its id
    /// and facts. `Ok(None)` when there is none or no such lookup.
    async fn product_by_gtin(
        &self,
        call: &Call<'_>,
        gtin: &Gtin,
    ) -> Result<Option<(String, ProductFacts)>, UpstreamError> {
        let _ = (call, gtin);
        Ok(None)
    }

    /// Whether offers of this style name their product by an id whose
    /// GTIN only [`Connector::product_facts`] gives.
    fn resolves_product_ids(&self) -> bool {
        false
    }

    /// The sync budget when the settings give none.
    fn default_sync_budget(&self) -> Vec<BudgetWindow> {
        vec![BudgetWindow {
            requests: 600,
            per: Duration::from_secs(60),
        }]
    }
}

/// What the gateway needs of an API style beyond its folder: how to build
/// its connector and how to read its credentials table and its own keys.
/// [`Style::of`] is the one match on the kind; a new style adds its arm.
pub struct Style {
    /// The connector of an instance of this style.
    pub connect: fn(&InstanceSpec) -> Arc<dyn Connector>,
    /// Reads the instance's `credentials` table.
    pub read_credentials: ReadCredentials,
    /// Takes the keys only this style takes out of the instance table.
    pub read_settings: ReadSettings,
}

/// Takes the keys only one style takes out of the instance table at `key`
/// (the path, for messages) and reads them; the keys left are every
/// style's ([`InstanceSettings`]).
pub type ReadSettings =
    fn(key: &str, table: &mut toml::Table) -> Result<StyleSettings, crate::error::InvalidSetting>;

/// Reads the `credentials` table at `key` (the path, for messages), with
/// secrets from the environment (looked up with `env`) or files.
pub type ReadCredentials = fn(
    key: &str,
    table: toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Credentials, crate::error::InvalidSetting>;

impl Style {
    /// The style of `kind`.
    pub fn of(kind: UpstreamKind) -> Style {
        use settings::table_as;
        match kind {
            UpstreamKind::Closient => Style {
                connect: |spec| Arc::new(closient::ClosientConnector::new(spec)),
                read_credentials: |key, table, env| {
                    table_as::<closient::CredentialsConfig>(key, table)?.resolve(key, env)
                },
                read_settings: |_, _| Ok(StyleSettings::None),
            },
            UpstreamKind::Medusa => Style {
                connect: |spec| Arc::new(medusa::MedusaConnector::new(spec)),
                read_credentials: |key, table, env| {
                    table_as::<medusa::CredentialsConfig>(key, table)?.resolve(key, env)
                },
                read_settings: |_, _| Ok(StyleSettings::None),
            },
            UpstreamKind::Violet => Style {
                connect: |spec| Arc::new(violet::VioletConnector::new(spec)),
                read_credentials: |key, table, env| {
                    table_as::<violet::CredentialsConfig>(key, table)?.resolve(key, env)
                },
                read_settings: |key, table| {
                    violet::Settings::take(key, table).map(StyleSettings::Violet)
                },
            },
        }
    }
}

/// One configured upstream instance: its spec, its sender and its style's
/// connector. Every style shares this plumbing; the connector is thin.
pub struct Instance {
    spec: InstanceSpec,
    client: resilience::InstanceClient,
    connector: Arc<dyn Connector>,
}

impl Instance {
    /// The instance of `spec` over the shared HTTP client, with the
    /// connector of its style.
    pub fn new(spec: InstanceSpec, http: HttpClient) -> Self {
        let connector = (Style::of(spec.kind()).connect)(&spec);
        Instance::with_connector(spec, http, connector)
    }

    /// The instance of `spec` with a given connector (tests use their own).
    pub fn with_connector(
        spec: InstanceSpec,
        http: HttpClient,
        connector: Arc<dyn Connector>,
    ) -> Self {
        Instance {
            client: resilience::InstanceClient::new(&spec, http),
            spec,
            connector,
        }
    }

    /// The instance's configured name.
    pub fn name(&self) -> &Arc<str> {
        &self.spec.name
    }

    /// The API style.
    pub fn kind(&self) -> UpstreamKind {
        self.spec.kind()
    }

    /// The instance's settings.
    pub fn settings(&self) -> &InstanceSettings {
        &self.spec.settings
    }

    /// Identity of the configured credentials, for cache keys
    /// ([`Credentials::fingerprint`]); never the secret.
    pub fn credential_fingerprint(&self) -> u64 {
        self.spec.credentials.fingerprint()
    }

    /// The state of the instance's circuit breaker.
    pub fn breaker_state(&self) -> resilience::BreakerState {
        self.client.breaker_state()
    }

    /// The offer kinds this instance serves.
    pub fn offer_kinds(&self) -> &'static [OfferKind] {
        self.connector.offer_kinds()
    }

    /// See [`Connector::canonical_id`].
    pub fn canonical_id(&self, kind: OfferKind, raw: &str) -> Result<String, String> {
        self.connector.canonical_id(kind, raw)
    }

    /// Whether the instance can list offers matching `filter`
    /// ([`Connector::check_filter`]).
    pub fn check_filter(&self, filter: &OfferFilter) -> Result<(), String> {
        self.connector.check_filter(filter)
    }

    /// Largest `limit` the upstream serves in one page.
    pub fn max_page_size(&self) -> u32 {
        self.connector.max_page_size()
    }

    /// Whether lookups of many keys make one call ([`Connector::multi_get`]).
    pub fn multi_get(&self) -> bool {
        self.connector.multi_get()
    }

    fn call<'a>(&'a self, context: &'a CallContext) -> Call<'a> {
        Call {
            client: &self.client,
            context,
        }
    }

    /// Looks offers up by key ([`Connector::fetch_offers`]).
    pub async fn fetch_offers(
        &self,
        context: &CallContext,
        keys: &[OfferKey],
    ) -> Vec<(OfferKey, Lookup)> {
        self.connector.fetch_offers(&self.call(context), keys).await
    }

    /// The promotions of offers by key ([`Connector::fetch_promotions`]).
    pub async fn fetch_promotions(
        &self,
        context: &CallContext,
        keys: &[OfferKey],
    ) -> Vec<(OfferKey, Result<Vec<Promotion>, UpstreamError>)> {
        self.connector
            .fetch_promotions(&self.call(context), keys)
            .await
    }

    /// Reads one window of a listing ([`Connector::list_offers`]).
    pub async fn list_offers(
        &self,
        context: &CallContext,
        scope: &ListScope,
        offset: u64,
        limit: u32,
    ) -> Result<OfferPage, UpstreamError> {
        self.connector
            .list_offers(&self.call(context), scope, offset, limit)
            .await
    }

    /// The feeds of a full sync pass ([`Connector::catalog_feeds`]).
    pub fn catalog_feeds(&self) -> Vec<CatalogFeed> {
        self.connector.catalog_feeds(&self.spec.settings.sync)
    }

    /// The feeds of a changes pass ([`Connector::change_feeds`]).
    pub fn change_feeds(&self) -> Vec<CatalogFeed> {
        self.connector.change_feeds()
    }

    /// Reads one window of a catalog feed ([`Connector::catalog_page`]).
    pub async fn catalog_page(
        &self,
        context: &CallContext,
        feed: &CatalogFeed,
        offset: u64,
        limit: u32,
    ) -> Result<CatalogPage, UpstreamError> {
        self.connector
            .catalog_page(&self.call(context), feed, offset, limit)
            .await
    }

    /// What the upstream says about one of its products
    /// ([`Connector::product_facts`]).
    pub async fn product_facts(
        &self,
        context: &CallContext,
        product_id: &str,
    ) -> Result<Option<ProductFacts>, UpstreamError> {
        self.connector
            .product_facts(&self.call(context), product_id)
            .await
    }

    /// The upstream's own product with `gtin` ([`Connector::product_by_gtin`]).
    pub async fn product_by_gtin(
        &self,
        context: &CallContext,
        gtin: &Gtin,
    ) -> Result<Option<(String, ProductFacts)>, UpstreamError> {
        self.connector
            .product_by_gtin(&self.call(context), gtin)
            .await
    }

    /// Whether this style's product ids need [`Instance::product_facts`]
    /// for their GTIN.
    pub fn resolves_product_ids(&self) -> bool {
        self.connector.resolves_product_ids()
    }

    /// The sync budget: the settings' windows, else the style's default.
    pub fn sync_budget(&self) -> Vec<BudgetWindow> {
        self.spec
            .settings
            .sync
            .budget
            .clone()
            .unwrap_or_else(|| self.connector.default_sync_budget())
    }

    /// The latest exchange rates against `base`, if the style publishes them.
    pub async fn exchange_rates(
        &self,
        context: &CallContext,
        base: Currency,
    ) -> Result<Option<RateTable>, UpstreamError> {
        self.connector
            .exchange_rates(&self.call(context), base)
            .await
    }
}

/// The configured upstream instances, by name, in configuration order.
/// Cheap to clone: the registry is shared.
#[derive(Clone, Default)]
pub struct Upstreams {
    registry: Arc<Registry>,
}

/// The instances of an [`Upstreams`].
#[derive(Clone, Default)]
struct Registry {
    ordered: Vec<Arc<Instance>>,
    by_name: HashMap<Arc<str>, Arc<Instance>>,
}

impl Upstreams {
    /// Builds the instances, recording their upstream calls in `metrics`
    /// when given. Instances share pooled connections: one HTTP client per
    /// distinct connect timeout (`default` for instances that set none).
    pub fn new(
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
            upstreams.add(Arc::new(Instance::new(spec, http)));
        }
        upstreams
    }

    /// Adds an instance (names are unique; configuration checks that first).
    pub fn add(&mut self, instance: Arc<Instance>) {
        let registry = Arc::make_mut(&mut self.registry);
        registry
            .by_name
            .insert(instance.name().clone(), instance.clone());
        registry.ordered.push(instance);
    }

    /// The instance called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Instance>> {
        self.registry.by_name.get(name)
    }

    /// All instances in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Instance>> {
        self.registry.ordered.iter()
    }
}
