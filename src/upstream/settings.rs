//! The settings of one upstream instance, as its `[upstreams.<name>]`
//! table of the configuration gives them, and the reading of that table:
//! `kind`, `base_url`, the style's own `credentials` table, the keys only
//! its style takes ([`StyleSettings`], read by the style) and the tuning
//! ([`InstanceSettings`], with nested `cache`, `retry` and `breaker`
//! tables). Every shared default is here, once; a style's own defaults are
//! in its folder.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::error::InvalidSetting;
use crate::model::UpstreamKind;
use crate::upstream::InstanceSpec;

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

/// Tuning of one upstream instance: the keys of its `[upstreams.<name>]`
/// table besides `kind`, `base_url` and `credentials`, every one optional.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InstanceSettings {
    /// Whole-request timeout of one call (one attempt).
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Time from the start of a GraphQL request after which its fields still
    /// waiting for this instance fail with `UPSTREAM_TIMEOUT`.
    #[serde(with = "humantime_serde")]
    pub deadline: Duration,
    /// Most calls in flight at once to this instance.
    pub max_concurrency: usize,
    /// Most ids in one multi-get call, for styles that have one.
    pub max_batch_size: usize,
    /// Connect timeout of this instance; `None` for the gateway's default.
    #[serde(with = "humantime_serde")]
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
    /// The catalog sync of this instance.
    pub sync: SyncSettings,
    /// The keys only this instance's style takes, read by the style before
    /// the others (so never by this type's serde).
    #[serde(skip)]
    pub style: StyleSettings,
}

/// The settings only one style takes: keys of an instance table besides
/// the shared ones, which each style reads out of the table itself
/// ([`crate::upstream::Style`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StyleSettings {
    /// The style takes no keys of its own (Closient, Medusa).
    #[default]
    None,
    /// A Violet-style instance's `base_currency`.
    Violet(crate::upstream::violet::Settings),
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
            sync: SyncSettings::default(),
            style: StyleSettings::None,
        }
    }
}

/// Retries of idempotent calls that failed on the way (connection errors,
/// 502, 503, 504, 429): the `[upstreams.<name>.retry]` table.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySettings {
    /// Attempts in all, the first included (1 = no retries).
    pub max_attempts: u32,
    /// Backoff before the first retry; doubles each time, with full jitter.
    #[serde(with = "humantime_serde")]
    pub base_backoff: Duration,
    /// Longest backoff.
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Longest `Retry-After` honoured; a longer one is not waited for.
    #[serde(with = "humantime_serde")]
    pub retry_after_cap: Duration,
    /// Retries allowed as a fraction of calls (0.2 = one retry per five calls) ...
    pub budget_percent: f32,
    /// ... plus this many retries per second, over ...
    #[serde(skip)]
    pub budget_min_per_sec: u32,
    /// ... this window.
    #[serde(skip)]
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

/// Default time between the starts of two full sync passes of an instance.
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(15 * 60);
/// Default time between two changes passes (between full passes).
pub const DEFAULT_SYNC_CHANGES_INTERVAL: Duration = Duration::from_secs(60);

/// The catalog sync of one instance: the `[upstreams.<name>.sync]` table.
/// A pass reads the instance's listings to the end into the catalog index
/// (which offers belong to which product), within its request budget.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncSettings {
    /// Whether the instance is synced at all. Without a sync, only offers
    /// the gateway fetches by id reach the index.
    pub enabled: bool,
    /// Time between the starts of two full passes.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Between full passes, time between two passes that read only the
    /// offers changed since the last pass, for upstreams that list offers
    /// by modification (Medusa, Violet); `0s` turns them off.
    #[serde(with = "humantime_serde")]
    pub changes_interval: Duration,
    /// Offers per listing page; `None` for the largest the upstream serves.
    pub page_size: Option<u32>,
    /// Most requests the sync sends in each window, so that live traffic
    /// keeps the rest of the upstream's own limits; `None` for the style's
    /// default (Closient, limited to 300 a minute and 10,000 a day per key:
    /// 100 a minute and 3,000 a day; the others: 600 a minute).
    pub budget: Option<Vec<BudgetWindow>>,
    /// Closient: the organizations (shortuuids or UUIDs) whose online and
    /// in-store offers are synced. Closient has no listing across
    /// organizations.
    pub organizations: Vec<String>,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            enabled: true,
            interval: DEFAULT_SYNC_INTERVAL,
            changes_interval: DEFAULT_SYNC_CHANGES_INTERVAL,
            page_size: None,
            budget: None,
            organizations: Vec::new(),
        }
    }
}

/// At most `requests` in any window of length `per`: one
/// `[[upstreams.<name>.sync.budget]]` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetWindow {
    /// Requests allowed in the window.
    pub requests: u32,
    /// The window's length.
    #[serde(with = "humantime_serde")]
    pub per: Duration,
}

/// The circuit breaker of one instance: the
/// `[upstreams.<name>.breaker]` table.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerSettings {
    /// Whether the breaker is used.
    pub enabled: bool,
    /// Consecutive failed calls that open the breaker.
    pub failure_threshold: u32,
    /// How long an open breaker fails calls fast before one probe.
    #[serde(with = "humantime_serde")]
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

/// The cache in front of one upstream instance: the
/// `[upstreams.<name>.cache]` table.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSettings {
    /// Whether answers are cached at all. Concurrent lookups of one key are
    /// coalesced into one call either way.
    pub enabled: bool,
    /// How long an answer is served from the cache.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// How long a "not found" answer is served from the cache.
    #[serde(with = "humantime_serde")]
    pub not_found_ttl: Duration,
    /// How long past `ttl` an answer is kept to be served (marked stale)
    /// when the upstream fails; zero turns stale-if-error off.
    #[serde(with = "humantime_serde")]
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

impl InstanceSettings {
    /// Checks the values of the instance table `key`.
    pub fn validate(&self, key: &str) -> Result<(), InvalidSetting> {
        let at = |name: &str| format!("{key}.{name}");
        InvalidSetting::positive(at("request_timeout"), self.request_timeout)?;
        InvalidSetting::positive(at("deadline"), self.deadline)?;
        InvalidSetting::positive(at("max_concurrency"), self.max_concurrency)?;
        InvalidSetting::positive(at("max_batch_size"), self.max_batch_size)?;
        if let Some(connect) = self.connect_timeout {
            InvalidSetting::positive(at("connect_timeout"), connect)?;
        }
        InvalidSetting::positive(at("cache.ttl"), self.cache.ttl)?;
        InvalidSetting::positive(at("cache.not_found_ttl"), self.cache.not_found_ttl)?;
        if self.cache.max_bytes == 0 {
            return Err(InvalidSetting::new(
                at("cache.max_bytes"),
                "must be at least 1 (use `cache.enabled = false` to turn the cache off)",
            ));
        }
        InvalidSetting::positive(at("retry.max_attempts"), self.retry.max_attempts)?;
        if !(0.0..=1.0).contains(&self.retry.budget_percent) {
            return Err(InvalidSetting::new(
                at("retry.budget_percent"),
                "must be between 0 and 1",
            ));
        }
        InvalidSetting::positive(
            at("breaker.failure_threshold"),
            self.breaker.failure_threshold,
        )?;
        InvalidSetting::positive(at("breaker.cool_down"), self.breaker.cool_down)?;
        InvalidSetting::positive(at("sync.interval"), self.sync.interval)?;
        if let Some(size) = self.sync.page_size {
            InvalidSetting::positive(at("sync.page_size"), size)?;
        }
        for window in self.sync.budget.iter().flatten() {
            InvalidSetting::positive(at("sync.budget.requests"), window.requests)?;
            InvalidSetting::positive(at("sync.budget.per"), window.per)?;
        }
        Ok(())
    }
}

/// Reads the instance table `[upstreams.<name>]`: `kind`, `base_url`, the
/// style's `credentials` table (secrets from the environment, looked up
/// with `env`, or from files) and the instance's settings.
pub(crate) fn instance(
    name: &str,
    mut table: toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<InstanceSpec, InvalidSetting> {
    let key = format!("upstreams.{name}");
    let valid_name = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !valid_name {
        return Err(InvalidSetting::new(
            key,
            "name the instance with 1 to 64 lower-case letters, digits, `-` or `_`",
        ));
    }
    let kinds = || {
        <UpstreamKind as strum::IntoEnumIterator>::iter()
            .map(|kind| format!("\"{}\"", kind.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let kind = match table.remove("kind") {
        Some(toml::Value::String(kind)) => kind.parse::<UpstreamKind>().map_err(|_| {
            InvalidSetting::new(
                format!("{key}.kind"),
                format!("{kind:?}: use one of {}", kinds()),
            )
        })?,
        _ => {
            return Err(InvalidSetting::new(
                format!("{key}.kind"),
                format!("required: one of {}", kinds()),
            ))
        }
    };
    let base_url = match table.remove("base_url") {
        Some(toml::Value::String(url)) => base_url(&format!("{key}.base_url"), &url)?,
        _ => {
            return Err(InvalidSetting::new(
                format!("{key}.base_url"),
                "required: the URL the API paths are appended to",
            ))
        }
    };
    let credentials_key = format!("{key}.credentials");
    let credentials = match table.remove("credentials") {
        Some(toml::Value::Table(credentials)) => credentials,
        Some(_) => return Err(InvalidSetting::new(credentials_key, "must be a table")),
        None => toml::Table::new(),
    };
    let style = crate::upstream::Style::of(kind);
    let credentials = (style.read_credentials)(&credentials_key, credentials, env)?;
    // The style's own keys first: what is left is every style's.
    let own = (style.read_settings)(&key, &mut table)?;
    let mut settings: InstanceSettings = table_as(&key, table)?;
    settings.style = own;
    settings.validate(&key)?;
    Ok(InstanceSpec {
        name: Arc::from(name),
        base_url,
        credentials,
        settings,
    })
}

/// Deserializes the table `key` into `T`; serde's message (an unknown
/// field, a wrong type) is prefixed with the key.
pub(crate) fn table_as<T: serde::de::DeserializeOwned>(
    key: &str,
    table: toml::Table,
) -> Result<T, InvalidSetting> {
    toml::Value::Table(table)
        .try_into()
        .map_err(|err: toml::de::Error| {
            InvalidSetting::new(key, err.message().trim_end().to_owned())
        })
}

/// An instance's base URL: http(s) with a host, without a query or
/// credentials (secrets go in the credentials table).
fn base_url(key: &str, text: &str) -> Result<Url, InvalidSetting> {
    let url = Url::parse(text).map_err(|err| InvalidSetting::new(key, err.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(InvalidSetting::new(
            key,
            "must be an http:// or https:// URL with a host",
        ));
    }
    if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(InvalidSetting::new(
            key,
            "must not carry a query or credentials (use the credentials table)",
        ));
    }
    Ok(url)
}
