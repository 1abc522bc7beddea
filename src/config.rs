//! Configuration: a TOML file naming the upstream instances to front.
//!
//! ```toml
//! listen = "127.0.0.1:4000"
//!
//! [[upstream]]
//! name = "closient"
//! kind = "closient"
//! base_url = "https://www.closient.com"
//! api_key_env = "CLOSIENT_API_KEY"
//! request_timeout = "5s"
//! ```
//!
//! Secrets are never written in the file: it names the environment
//! variable that holds each one. Unknown keys and invalid values are
//! refused with a message naming the key.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::http::persisted::{load_manifest, Mode, PersistedQueries, DEFAULT_APQ_MAX_BYTES};
use crate::http::{ServerOptions, DEFAULT_SHUTDOWN_GRACE};
use crate::limits::Limits;
use crate::model::UpstreamKind;
use crate::pricing::convert::RateTable;
use crate::pricing::{Currency, JsonNumber};
use crate::rates::{RatesSpec, DEFAULT_REFRESH};
use crate::secret::Secret;
use crate::upstream::{
    BreakerSettings, CacheSettings, Credentials, InstanceSettings, InstanceSpec, MedusaAuth,
    RetrySettings, DEFAULT_CACHE_MAX_BYTES, DEFAULT_CACHE_NOT_FOUND_TTL,
    DEFAULT_CACHE_STALE_IF_ERROR, DEFAULT_CACHE_TTL, DEFAULT_DEADLINE, DEFAULT_MAX_BATCH_SIZE,
    DEFAULT_MAX_CONCURRENCY, DEFAULT_REQUEST_TIMEOUT,
};

/// Default address the gateway listens on.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4000";

/// A configuration problem; the message names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed, or a key is unknown or has the wrong type.
    #[error("{0}")]
    Parse(String),
    /// A value is invalid.
    #[error("{key}: {problem}")]
    Invalid {
        /// The key, e.g. `upstream[1].base_url`.
        key: String,
        /// What is wrong.
        problem: String,
    },
}

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        problem: problem.into(),
    }
}

/// The configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Address to listen on (default `127.0.0.1:4000`); `--listen` overrides it.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
    /// Connect timeout of the shared HTTP client (default 2s).
    #[serde(default, with = "humantime_serde")]
    pub connect_timeout: Option<Duration>,
    /// The upstream instances, in the order `upstreams` lists them.
    #[serde(default, rename = "upstream")]
    pub upstreams: Vec<UpstreamConfig>,
    /// Where exchange rates come from.
    #[serde(default)]
    pub rates: Option<RatesConfig>,
    /// Limits of the GraphQL endpoint.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// The HTTP server.
    #[serde(default)]
    pub server: ServerConfig,
    /// Persisted queries.
    #[serde(default)]
    pub persisted_queries: PersistedConfig,
}

/// The `[persisted_queries]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersistedConfig {
    /// `automatic` (Apollo's APQ, the default), `allow_list` or `off`.
    #[serde(default)]
    pub mode: Option<String>,
    /// With `allow_list`: the manifest file (Apollo's format or `{hash: query}`).
    #[serde(default)]
    pub manifest: Option<std::path::PathBuf>,
    /// With `automatic`: bytes of query text remembered at most (default 8388608).
    #[serde(default)]
    pub max_bytes: Option<u64>,
    /// `max-age` of GET answers of persisted queries (default: the shortest upstream cache TTL).
    #[serde(default, with = "humantime_serde")]
    pub max_age: Option<Duration>,
}

impl PersistedConfig {
    fn resolve(&self) -> Result<PersistedQueries, ConfigError> {
        let mode = match self.mode.as_deref().unwrap_or("automatic") {
            "automatic" => {
                if self.manifest.is_some() {
                    return Err(invalid(
                        "persisted_queries.manifest",
                        "only with mode = \"allow_list\"",
                    ));
                }
                Mode::Automatic {
                    max_bytes: self.max_bytes.unwrap_or(DEFAULT_APQ_MAX_BYTES).max(1),
                }
            }
            "allow_list" => {
                let path = self.manifest.as_ref().ok_or_else(|| {
                    invalid(
                        "persisted_queries.manifest",
                        "required with mode = \"allow_list\"",
                    )
                })?;
                Mode::AllowList {
                    queries: load_manifest(path)
                        .map_err(|why| invalid("persisted_queries.manifest", why))?,
                }
            }
            "off" => Mode::Off,
            other => {
                return Err(invalid(
                    "persisted_queries.mode",
                    format!("{other:?}: use \"automatic\", \"allow_list\" or \"off\""),
                ))
            }
        };
        Ok(PersistedQueries {
            mode,
            max_age: self.max_age,
        })
    }
}

/// The `[server]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Origins allowed to call from a browser, e.g. `["https://shop.example"]` (default none).
    #[serde(default)]
    pub cors_allowed_origins: Vec<String>,
    /// Whether answers are compressed for clients that accept it (default true).
    #[serde(default)]
    pub compression: Option<bool>,
    /// Time in-flight requests get after SIGTERM or ctrl-c (default 10s).
    #[serde(default, with = "humantime_serde")]
    pub shutdown_grace: Option<Duration>,
    /// SHA-256 hashes (hex) of the API keys clients must send; none: no
    /// client authentication. `offer-gateway hash-key` prints a key's hash.
    #[serde(default)]
    pub client_key_hashes: Vec<String>,
}

impl ServerConfig {
    fn resolve(&self) -> Result<ServerOptions, ConfigError> {
        for (i, origin) in self.cors_allowed_origins.iter().enumerate() {
            let url = Url::parse(origin).map_err(|err| {
                invalid(format!("server.cors_allowed_origins[{i}]"), err.to_string())
            })?;
            let bare = url.path() == "/" && url.query().is_none() && !origin.ends_with('/');
            if !matches!(url.scheme(), "http" | "https") || !bare {
                return Err(invalid(
                    format!("server.cors_allowed_origins[{i}]"),
                    "an origin is scheme://host[:port], without a path",
                ));
            }
        }
        let client_keys = crate::http::auth::ClientKeys::from_hashes(&self.client_key_hashes)
            .map_err(|why| invalid("server.client_key_hashes", why))?;
        Ok(ServerOptions {
            client_keys,
            cors_allowed_origins: self.cors_allowed_origins.clone(),
            compression: self.compression.unwrap_or(true),
            shutdown_grace: self.shutdown_grace.unwrap_or(DEFAULT_SHUTDOWN_GRACE),
        })
    }
}

/// The `[limits]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Deepest selection nesting (default 15).
    #[serde(default)]
    pub max_depth: Option<usize>,
    /// Highest query complexity, one per field (default 5000).
    #[serde(default)]
    pub max_complexity: Option<usize>,
    /// Most aliased fields in a document (default 30).
    #[serde(default)]
    pub max_aliases: Option<usize>,
    /// Most root fields in an operation (default 20).
    #[serde(default)]
    pub max_root_fields: Option<usize>,
    /// Most ids in one offers/nodes/compareOffers call (default 100).
    #[serde(default)]
    pub max_ids: Option<usize>,
    /// Largest request body in bytes (default 262144).
    #[serde(default)]
    pub max_body_bytes: Option<usize>,
    /// Longest time one HTTP request may take (default 30s).
    #[serde(default, with = "humantime_serde")]
    pub request_timeout: Option<Duration>,
    /// Whether introspection is answered (default false with a config file;
    /// the demo turns it on).
    #[serde(default)]
    pub introspection: Option<bool>,
}

impl LimitsConfig {
    fn resolve(&self) -> Result<Limits, ConfigError> {
        let d = Limits::default();
        let n = |value: Option<usize>, default: usize, key: &str| {
            positive(value, default, &format!("limits.{key}"))
        };
        Ok(Limits {
            max_depth: n(self.max_depth, d.max_depth, "max_depth")?,
            max_complexity: n(self.max_complexity, d.max_complexity, "max_complexity")?,
            max_aliases: self.max_aliases.unwrap_or(d.max_aliases),
            max_root_fields: n(self.max_root_fields, d.max_root_fields, "max_root_fields")?,
            max_ids: n(self.max_ids, d.max_ids, "max_ids")?,
            max_body_bytes: n(self.max_body_bytes, d.max_body_bytes, "max_body_bytes")?,
            request_timeout: positive_duration(
                self.request_timeout,
                d.request_timeout,
                "limits.request_timeout",
            )?,
            introspection: self.introspection.unwrap_or(false),
        })
    }
}

/// The `[rates]` table: a static table, or an upstream that publishes rates.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatesConfig {
    /// The base currency the rates are quoted against (default USD).
    #[serde(default)]
    pub base: Option<String>,
    /// Units of each currency per one unit of the base, as decimal strings
    /// (`EUR = "0.92"`), never floats.
    #[serde(default)]
    pub table: Option<std::collections::BTreeMap<String, toml::Value>>,
    /// With `table`: when the rates are as of (shown with conversions).
    #[serde(default)]
    pub as_of: Option<String>,
    /// The name of a Violet-style instance whose `/v1/currencies/latest` to use.
    #[serde(default)]
    pub upstream: Option<String>,
    /// With `upstream`: time between refreshes (default 10m).
    #[serde(default, with = "humantime_serde")]
    pub refresh: Option<Duration>,
}

/// One `[[upstream]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Unique instance name: lower-case letters, digits, `-` and `_`.
    pub name: String,
    /// API style: `closient`, `medusa` or `violet`.
    pub kind: KindName,
    /// Base URL the API paths are appended to.
    pub base_url: String,
    /// Whole-request timeout of one call (default 10s).
    #[serde(default, with = "humantime_serde")]
    pub request_timeout: Option<Duration>,
    /// Time from the start of a GraphQL request after which fields still
    /// waiting for this instance fail with UPSTREAM_TIMEOUT (default 10s).
    #[serde(default, with = "humantime_serde")]
    pub deadline: Option<Duration>,
    /// Most calls in flight to this instance (default 32).
    #[serde(default)]
    pub max_concurrency: Option<usize>,
    /// Most ids in one multi-get call (default 100).
    #[serde(default)]
    pub max_batch_size: Option<usize>,
    /// Whether answers of this instance are cached (default true).
    #[serde(default)]
    pub cache: Option<bool>,
    /// How long an answer is served from the cache (default 60s).
    #[serde(default, with = "humantime_serde")]
    pub cache_ttl: Option<Duration>,
    /// How long a "not found" answer is served from the cache (default 10s).
    #[serde(default, with = "humantime_serde")]
    pub cache_not_found_ttl: Option<Duration>,
    /// How long past `cache_ttl` an answer is kept to be served, marked
    /// stale, when the upstream fails; "0s" turns it off (default 5m).
    #[serde(default, with = "humantime_serde")]
    pub cache_stale_if_error: Option<Duration>,
    /// Memory bound of the instance's cache in bytes (default 64 MiB).
    #[serde(default)]
    pub cache_max_bytes: Option<u64>,
    /// Pass-through mode: clients may send their own credential for this
    /// instance in `x-upstream-credential-<name>` (default false).
    #[serde(default)]
    pub pass_through: Option<bool>,
    /// Connect timeout of this instance (default: the top-level `connect_timeout`).
    #[serde(default, with = "humantime_serde")]
    pub connect_timeout: Option<Duration>,
    /// Attempts per call, the first included; 1 turns retries off (default 3).
    #[serde(default)]
    pub retry_max_attempts: Option<u32>,
    /// Backoff before the first retry, doubling each time, with jitter (default 100ms).
    #[serde(default, with = "humantime_serde")]
    pub retry_base_backoff: Option<Duration>,
    /// Longest backoff (default 2s).
    #[serde(default, with = "humantime_serde")]
    pub retry_max_backoff: Option<Duration>,
    /// Longest `Retry-After` waited for (default 5s).
    #[serde(default, with = "humantime_serde")]
    pub retry_after_cap: Option<Duration>,
    /// Retries allowed as a fraction of calls, 0 to 1 (default 0.2).
    #[serde(default)]
    pub retry_budget_percent: Option<f32>,
    /// Whether the circuit breaker is used (default true).
    #[serde(default)]
    pub breaker: Option<bool>,
    /// Consecutive failed calls that open the breaker (default 5).
    #[serde(default)]
    pub breaker_failure_threshold: Option<u32>,
    /// How long an open breaker fails calls fast before a probe (default 10s).
    #[serde(default, with = "humantime_serde")]
    pub breaker_cool_down: Option<Duration>,
    /// Closient: environment variable holding the API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Closient: file holding the API key (instead of `api_key_env`).
    #[serde(default)]
    pub api_key_file: Option<std::path::PathBuf>,
    /// Medusa: file holding a ready JWT (instead of `token_env`).
    #[serde(default)]
    pub token_file: Option<std::path::PathBuf>,
    /// Medusa / Violet: file holding the login password (instead of `password_env`).
    #[serde(default)]
    pub password_file: Option<std::path::PathBuf>,
    /// Violet: file holding the app secret (instead of `app_secret_env`).
    #[serde(default)]
    pub app_secret_file: Option<std::path::PathBuf>,
    /// Medusa: environment variable holding a ready JWT.
    #[serde(default)]
    pub token_env: Option<String>,
    /// Medusa / Violet: login user (Medusa: email; Violet: username).
    #[serde(default)]
    pub username: Option<String>,
    /// Medusa / Violet: environment variable holding the login password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Violet: the app id.
    #[serde(default)]
    pub app_id: Option<i64>,
    /// Violet: environment variable holding the app secret.
    #[serde(default)]
    pub app_secret_env: Option<String>,
}

/// The `kind` of an upstream table.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum KindName {
    /// Closient-style retail API.
    Closient,
    /// Medusa/Mercur-style marketplace admin API.
    Medusa,
    /// Violet-style catalog API.
    Violet,
}

impl From<KindName> for UpstreamKind {
    fn from(kind: KindName) -> Self {
        match kind {
            KindName::Closient => UpstreamKind::Closient,
            KindName::Medusa => UpstreamKind::Medusa,
            KindName::Violet => UpstreamKind::Violet,
        }
    }
}

/// A loaded, checked configuration.
#[derive(Debug)]
pub struct Config {
    /// Address to listen on, if the file sets one.
    pub listen: Option<SocketAddr>,
    /// Connect timeout of the shared HTTP client.
    pub connect_timeout: Duration,
    /// The upstream instances with their secrets resolved.
    pub instances: Vec<InstanceSpec>,
    /// Where exchange rates come from.
    pub rates: RatesSpec,
    /// Limits of the GraphQL endpoint.
    pub limits: Limits,
    /// The HTTP server.
    pub server: ServerOptions,
    /// Persisted queries.
    pub persisted: PersistedQueries,
}

impl Config {
    /// Reads and checks a file; secrets are read from the environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let overrides: Vec<(String, String)> = std::env::vars()
            .filter(|(name, _)| name.starts_with(ENV_PREFIX))
            .collect();
        Config::from_toml_with_overrides(&text, |name| std::env::var(name).ok(), &overrides)
    }

    /// Parses and checks TOML text; `env` looks environment variables up.
    pub fn from_toml(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        Config::from_toml_with_overrides(text, env, &[])
    }

    /// Like [`Config::from_toml`], with `OFFER_GATEWAY__...` overrides
    /// applied first (see [`apply_overrides`]).
    pub fn from_toml_with_overrides(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
        overrides: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let mut value: toml::Table =
            toml::from_str(text).map_err(|err| ConfigError::Parse(err.to_string()))?;
        apply_overrides(&mut value, overrides)?;
        let file: FileConfig = toml::Value::Table(value)
            .try_into()
            .map_err(|err: toml::de::Error| ConfigError::Parse(err.to_string()))?;
        let mut names = HashSet::new();
        let mut instances = Vec::with_capacity(file.upstreams.len());
        for (i, upstream) in file.upstreams.iter().enumerate() {
            let key = format!("upstream[{i}]");
            if !names.insert(upstream.name.clone()) {
                return Err(invalid(
                    format!("{key}.name"),
                    format!("the name `{}` is used twice", upstream.name),
                ));
            }
            instances.push(upstream.resolve(&key, &env)?);
        }
        let rates = match &file.rates {
            None => {
                // The first Violet-style instance, if any.
                match file.upstreams.iter().find(|u| u.kind == KindName::Violet) {
                    Some(violet) => RatesSpec::of_upstream(&violet.name),
                    None => RatesSpec::None,
                }
            }
            Some(rates) => rates.resolve(&file.upstreams)?,
        };
        let limits = file.limits.resolve()?;
        // Fields waiting on an upstream give up at its deadline, so that an
        // answer with what is in hand (and UPSTREAM_TIMEOUT errors for the
        // rest) goes out before the whole request is cut off.
        if let Some(slowest) = instances
            .iter()
            .max_by_key(|instance| instance.settings.deadline)
            .filter(|instance| instance.settings.deadline >= limits.request_timeout)
        {
            return Err(invalid(
                "limits.request_timeout",
                format!(
                    "{} must be longer than the deadline of upstream `{}` ({}), or answers \
                     in hand are lost when a slow upstream hits the request timeout",
                    humantime::format_duration(limits.request_timeout),
                    slowest.name,
                    humantime::format_duration(slowest.settings.deadline),
                ),
            ));
        }
        Ok(Config {
            limits,
            server: file.server.resolve()?,
            persisted: file.persisted_queries.resolve()?,
            rates,
            listen: file.listen,
            connect_timeout: file
                .connect_timeout
                .unwrap_or(crate::upstream::client::DEFAULT_CONNECT_TIMEOUT),
            instances,
        })
    }
}

impl RatesConfig {
    fn resolve(&self, upstreams: &[UpstreamConfig]) -> Result<RatesSpec, ConfigError> {
        let base = match &self.base {
            None => Currency::parse("USD").expect("USD is an ISO code"),
            Some(code) => Currency::parse(code)
                .map_err(|_| invalid("rates.base", format!("{code:?} is not an ISO 4217 code")))?,
        };
        match (&self.table, &self.upstream) {
            (Some(table), None) => {
                if self.refresh.is_some() {
                    return Err(invalid("rates.refresh", "only with `upstream`"));
                }
                let mut rates = Vec::new();
                for (code, value) in table {
                    let key = format!("rates.table.{code}");
                    let currency =
                        Currency::parse(code).map_err(|_| invalid(&key, "not an ISO 4217 code"))?;
                    let toml::Value::String(text) = value else {
                        return Err(invalid(
                            &key,
                            format!("write the rate as a decimal string, e.g. {code} = \"0.92\" (floats are not exact)"),
                        ));
                    };
                    let rate = text
                        .parse::<JsonNumber>()
                        .ok()
                        .and_then(|n| crate::pricing::exact_decimal(&n).ok())
                        .ok_or_else(|| {
                            invalid(&key, format!("{text:?} is not a decimal number"))
                        })?;
                    rates.push((currency, rate));
                }
                let as_of = self
                    .as_of
                    .clone()
                    .unwrap_or_else(|| "configuration".to_owned());
                RateTable::new(base, rates, as_of, "configuration")
                    .map(RatesSpec::Static)
                    .map_err(|problem| invalid("rates.table", problem))
            }
            (None, Some(name)) => {
                if self.as_of.is_some() {
                    return Err(invalid("rates.as_of", "only with `table`"));
                }
                match upstreams.iter().find(|u| &u.name == name) {
                    Some(u) if u.kind == KindName::Violet => Ok(RatesSpec::Upstream {
                        name: name.clone(),
                        base,
                        refresh: positive_duration(self.refresh, DEFAULT_REFRESH, "rates.refresh")?,
                    }),
                    Some(_) => Err(invalid(
                        "rates.upstream",
                        format!("`{name}` is not a violet upstream (only those publish rates)"),
                    )),
                    None => Err(invalid(
                        "rates.upstream",
                        format!("no upstream named `{name}`"),
                    )),
                }
            }
            (Some(_), Some(_)) => Err(invalid(
                "rates",
                "give either `table` or `upstream`, not both",
            )),
            (None, None) => Err(invalid("rates", "give `table` or `upstream`")),
        }
    }
}

impl UpstreamConfig {
    fn resolve(
        &self,
        key: &str,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<InstanceSpec, ConfigError> {
        let valid_name = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid_name {
            return Err(invalid(
                format!("{key}.name"),
                "use 1 to 64 lower-case letters, digits, `-` or `_`",
            ));
        }
        let base_url = Url::parse(&self.base_url)
            .map_err(|err| invalid(format!("{key}.base_url"), err.to_string()))?;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.host().is_none() {
            return Err(invalid(
                format!("{key}.base_url"),
                "must be an http:// or https:// URL with a host",
            ));
        }
        if base_url.query().is_some()
            || !base_url.username().is_empty()
            || base_url.password().is_some()
        {
            return Err(invalid(
                format!("{key}.base_url"),
                "must not carry a query or credentials (use the *_env settings)",
            ));
        }
        let defaults = InstanceSettings::default();
        let settings = InstanceSettings {
            request_timeout: positive_duration(
                self.request_timeout,
                DEFAULT_REQUEST_TIMEOUT,
                &format!("{key}.request_timeout"),
            )?,
            deadline: positive_duration(
                self.deadline,
                DEFAULT_DEADLINE,
                &format!("{key}.deadline"),
            )?,
            max_concurrency: positive(
                self.max_concurrency,
                DEFAULT_MAX_CONCURRENCY,
                &format!("{key}.max_concurrency"),
            )?,
            max_batch_size: positive(
                self.max_batch_size,
                DEFAULT_MAX_BATCH_SIZE,
                &format!("{key}.max_batch_size"),
            )?,
            connect_timeout: self.connect_timeout,
            pass_through: self.pass_through.unwrap_or(false),
            retry: self.retry_settings(key)?,
            breaker: BreakerSettings {
                enabled: self.breaker.unwrap_or(true),
                failure_threshold: positive(
                    self.breaker_failure_threshold.map(|n| n as usize),
                    defaults.breaker.failure_threshold as usize,
                    &format!("{key}.breaker_failure_threshold"),
                )? as u32,
                cool_down: positive_duration(
                    self.breaker_cool_down,
                    defaults.breaker.cool_down,
                    &format!("{key}.breaker_cool_down"),
                )?,
            },
            cache: CacheSettings {
                enabled: self.cache.unwrap_or(true),
                ttl: positive_duration(
                    self.cache_ttl,
                    DEFAULT_CACHE_TTL,
                    &format!("{key}.cache_ttl"),
                )?,
                not_found_ttl: positive_duration(
                    self.cache_not_found_ttl,
                    DEFAULT_CACHE_NOT_FOUND_TTL,
                    &format!("{key}.cache_not_found_ttl"),
                )?,
                stale_if_error: self
                    .cache_stale_if_error
                    .unwrap_or(DEFAULT_CACHE_STALE_IF_ERROR),
                max_bytes: match self.cache_max_bytes {
                    None => DEFAULT_CACHE_MAX_BYTES,
                    Some(0) => {
                        return Err(invalid(
                            format!("{key}.cache_max_bytes"),
                            "must be at least 1 (use `cache = false` to turn the cache off)",
                        ))
                    }
                    Some(n) => n,
                },
            },
        };
        let credentials = self.credentials(key, env)?;
        Ok(InstanceSpec {
            name: Arc::from(self.name.as_str()),
            base_url,
            credentials,
            settings,
        })
    }

    fn retry_settings(&self, key: &str) -> Result<RetrySettings, ConfigError> {
        let defaults = RetrySettings::default();
        let budget_percent = self.retry_budget_percent.unwrap_or(defaults.budget_percent);
        if !(0.0..=1.0).contains(&budget_percent) {
            return Err(invalid(
                format!("{key}.retry_budget_percent"),
                "must be between 0 and 1",
            ));
        }
        Ok(RetrySettings {
            max_attempts: positive(
                self.retry_max_attempts.map(|n| n as usize),
                defaults.max_attempts as usize,
                &format!("{key}.retry_max_attempts"),
            )? as u32,
            base_backoff: self.retry_base_backoff.unwrap_or(defaults.base_backoff),
            max_backoff: self.retry_max_backoff.unwrap_or(defaults.max_backoff),
            retry_after_cap: self.retry_after_cap.unwrap_or(defaults.retry_after_cap),
            budget_percent,
            ..defaults
        })
    }

    fn credentials(
        &self,
        key: &str,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<Credentials, ConfigError> {
        let kind = UpstreamKind::from(self.kind);
        let allowed: &[&str] = match kind {
            UpstreamKind::Closient => &["api_key_env", "api_key_file"],
            UpstreamKind::Medusa => &[
                "token_env",
                "token_file",
                "username",
                "password_env",
                "password_file",
            ],
            UpstreamKind::Violet => &[
                "app_id",
                "app_secret_env",
                "app_secret_file",
                "username",
                "password_env",
                "password_file",
            ],
        };
        let present = [
            ("api_key_env", self.api_key_env.is_some()),
            ("api_key_file", self.api_key_file.is_some()),
            ("token_env", self.token_env.is_some()),
            ("token_file", self.token_file.is_some()),
            ("username", self.username.is_some()),
            ("password_env", self.password_env.is_some()),
            ("password_file", self.password_file.is_some()),
            ("app_id", self.app_id.is_some()),
            ("app_secret_env", self.app_secret_env.is_some()),
            ("app_secret_file", self.app_secret_file.is_some()),
        ];
        for (name, set) in present {
            if set && !allowed.contains(&name) {
                return Err(invalid(
                    format!("{key}.{name}"),
                    format!(
                        "not a setting of kind \"{}\" (it takes: {})",
                        kind.as_str(),
                        allowed.join(", ")
                    ),
                ));
            }
        }
        // A secret comes from an environment variable (`<name>_env`) or a
        // file (`<name>_file`), never from the configuration itself.
        let secret = |name: &str,
                      var: &Option<String>,
                      file: &Option<std::path::PathBuf>|
         -> Result<Secret, ConfigError> {
            match (var, file) {
                (Some(_), Some(_)) => Err(invalid(
                    format!("{key}.{name}_file"),
                    format!("give either {name}_env or {name}_file, not both"),
                )),
                (Some(var), None) => match env(var) {
                    Some(value) if !value.is_empty() => Ok(Secret::new(value)),
                    _ => Err(invalid(
                        format!("{key}.{name}_env"),
                        format!("the environment variable {var} is not set"),
                    )),
                },
                (None, Some(path)) => {
                    let text = std::fs::read_to_string(path).map_err(|err| {
                        invalid(
                            format!("{key}.{name}_file"),
                            format!("cannot read {}: {err}", path.display()),
                        )
                    })?;
                    let value = text.trim_end_matches(['\n', '\r']);
                    if value.is_empty() {
                        return Err(invalid(
                            format!("{key}.{name}_file"),
                            format!("{} is empty", path.display()),
                        ));
                    }
                    Ok(Secret::new(value))
                }
                (None, None) => Err(invalid(
                    format!("{key}.{name}_env"),
                    format!("required for kind \"{}\" (or {name}_file)", kind.as_str()),
                )),
            }
        };
        let required = |field: &str, value: &Option<String>| -> Result<String, ConfigError> {
            value.clone().filter(|v| !v.is_empty()).ok_or_else(|| {
                invalid(
                    format!("{key}.{field}"),
                    format!("required for kind \"{}\"", kind.as_str()),
                )
            })
        };
        Ok(match kind {
            UpstreamKind::Closient => Credentials::Closient {
                api_key: secret("api_key", &self.api_key_env, &self.api_key_file)?,
            },
            UpstreamKind::Medusa => match (
                self.token_env.is_some() || self.token_file.is_some(),
                &self.username,
            ) {
                (true, None) => Credentials::Medusa(MedusaAuth::Token(secret(
                    "token",
                    &self.token_env,
                    &self.token_file,
                )?)),
                (false, Some(_)) => Credentials::Medusa(MedusaAuth::EmailPassword {
                    email: required("username", &self.username)?,
                    password: secret("password", &self.password_env, &self.password_file)?,
                }),
                _ => {
                    return Err(invalid(
                        key.to_owned(),
                        "a medusa upstream takes either token_env (or token_file), or username and password_env (or password_file)",
                    ))
                }
            },
            UpstreamKind::Violet => Credentials::Violet {
                app_id: self.app_id.ok_or_else(|| {
                    invalid(format!("{key}.app_id"), "required for kind \"violet\"")
                })?,
                app_secret: secret("app_secret", &self.app_secret_env, &self.app_secret_file)?,
                username: required("username", &self.username)?,
                password: secret("password", &self.password_env, &self.password_file)?,
            },
        })
    }
}

/// The prefix of environment variables that override settings.
pub const ENV_PREFIX: &str = "OFFER_GATEWAY__";

/// Applies environment overrides to the configuration's TOML tree. A
/// variable names a key by its path in upper case, `__` between the parts:
/// `OFFER_GATEWAY__LISTEN`, `OFFER_GATEWAY__LIMITS__MAX_DEPTH`, and for an
/// upstream instance its name (`-` written `_`):
/// `OFFER_GATEWAY__UPSTREAM__MERCUR__REQUEST_TIMEOUT`. Values are read as
/// TOML values (`8`, `true`, `["a", "b"]`) or else as strings (`5s`).
/// Unknown keys are refused like in the file.
pub fn apply_overrides(
    config: &mut toml::Table,
    overrides: &[(String, String)],
) -> Result<(), ConfigError> {
    for (name, raw) in overrides {
        let Some(path) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let parts: Vec<String> = path.split("__").map(|p| p.to_ascii_lowercase()).collect();
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.clone()));
        let bad = |problem: &str| invalid(name.clone(), problem.to_owned());
        match parts.as_slice() {
            [key] if !key.is_empty() => {
                config.insert(key.clone(), value);
            }
            [upstream, instance, key] if upstream == "upstream" => {
                let tables = config
                    .get_mut("upstream")
                    .and_then(toml::Value::as_array_mut)
                    .ok_or_else(|| bad("the configuration has no [[upstream]]"))?;
                let table = tables
                    .iter_mut()
                    .filter_map(toml::Value::as_table_mut)
                    .find(|t| {
                        t.get("name")
                            .and_then(toml::Value::as_str)
                            .is_some_and(|n| n.replace('-', "_") == *instance)
                    })
                    .ok_or_else(|| bad(&format!("no upstream named like `{instance}`")))?;
                table.insert(key.clone(), value);
            }
            [section, key] if !section.is_empty() && !key.is_empty() => {
                let table = config
                    .entry(section.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                    .as_table_mut()
                    .ok_or_else(|| bad(&format!("`{section}` is not a table")))?;
                table.insert(key.clone(), value);
            }
            _ => return Err(bad("not a setting: use OFFER_GATEWAY__KEY, OFFER_GATEWAY__SECTION__KEY or OFFER_GATEWAY__UPSTREAM__NAME__KEY")),
        }
    }
    Ok(())
}

fn positive(value: Option<usize>, default: usize, key: &str) -> Result<usize, ConfigError> {
    match value {
        None => Ok(default),
        Some(0) => Err(invalid(key, "must be at least 1")),
        Some(n) => Ok(n),
    }
}

fn positive_duration(
    value: Option<Duration>,
    default: Duration,
    key: &str,
) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(d) if d.is_zero() => Err(invalid(key, "must be longer than zero")),
        Some(d) => Ok(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "CLOSIENT_KEY" => Some("csb_secret".into()),
            "MERCUR_PASSWORD" => Some("pw".into()),
            "VIOLET_SECRET" => Some("app-secret".into()),
            "VIOLET_PASSWORD" => Some("vpw".into()),
            _ => None,
        }
    }

    const FULL: &str = r#"
        listen = "127.0.0.1:8080"
        [[upstream]]
        name = "closient"
        kind = "closient"
        base_url = "https://www.closient.com"
        api_key_env = "CLOSIENT_KEY"
        request_timeout = "3s"

        [[upstream]]
        name = "mercur-eu"
        kind = "medusa"
        base_url = "http://localhost:9000/prefix"
        username = "admin@example.com"
        password_env = "MERCUR_PASSWORD"
        max_batch_size = 20

        [[upstream]]
        name = "violet"
        kind = "violet"
        base_url = "https://sandbox-api.violet.io"
        app_id = 10001
        app_secret_env = "VIOLET_SECRET"
        username = "dev@example.com"
        password_env = "VIOLET_PASSWORD"
    "#;

    #[test]
    fn loads_a_full_file() {
        let config = Config::from_toml(FULL, env).unwrap();
        assert_eq!(config.listen, Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(config.instances.len(), 3);
        let closient = &config.instances[0];
        assert_eq!(closient.settings.request_timeout, Duration::from_secs(3));
        assert_eq!(
            closient.credentials,
            Credentials::Closient {
                api_key: Secret::new("csb_secret")
            }
        );
        let medusa = &config.instances[1];
        assert_eq!(medusa.settings.max_batch_size, 20);
        assert_eq!(
            medusa.url("/admin/offers").as_str(),
            "http://localhost:9000/prefix/admin/offers"
        );
        assert_eq!(config.instances[2].kind(), UpstreamKind::Violet);
    }

    fn error_of(text: &str) -> String {
        Config::from_toml(text, env).unwrap_err().to_string()
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = error_of("[[upstream]]\nname = \"a\"\nkind = \"closient\"\nbase_url = \"http://x\"\napi_key_env = \"CLOSIENT_KEY\"\ntimeout = \"1s\"\n");
        assert!(err.contains("unknown field `timeout`"), "{err}");
        let err = error_of("lisen = \"127.0.0.1:1\"");
        assert!(err.contains("unknown field `lisen`"), "{err}");
    }

    #[test]
    fn a_request_timeout_within_an_upstream_deadline_is_refused() {
        let upstream = "[[upstream]]\nname = \"slow\"\nkind = \"closient\"\n\
            api_key_env = \"CLOSIENT_KEY\"\nbase_url = \"http://x\"\ndeadline = \"10s\"\n";
        let err = error_of(&format!("{upstream}[limits]\nrequest_timeout = \"10s\"\n"));
        assert!(err.starts_with("limits.request_timeout:"), "{err}");
        assert!(err.contains("`slow` (10s)"), "{err}");
        assert!(Config::from_toml(
            &format!("{upstream}[limits]\nrequest_timeout = \"11s\"\n"),
            env
        )
        .is_ok());
    }

    #[test]
    fn invalid_values_are_named() {
        let base =
            "[[upstream]]\nname = \"a\"\nkind = \"closient\"\napi_key_env = \"CLOSIENT_KEY\"\n";
        let err = error_of(&format!("{base}base_url = \"ftp://x\"\n"));
        assert!(err.starts_with("upstream[0].base_url:"), "{err}");
        let err = error_of(&format!(
            "{base}base_url = \"http://x\"\nmax_concurrency = 0\n"
        ));
        assert!(err.starts_with("upstream[0].max_concurrency:"), "{err}");
        let err = error_of(&format!(
            "{base}base_url = \"http://x\"\nrequest_timeout = \"soon\"\n"
        ));
        assert!(err.contains("request_timeout"), "{err}");
        let err =
            error_of("[[upstream]]\nname = \"a\"\nkind = \"shopify\"\nbase_url = \"http://x\"\n");
        assert!(err.contains("unknown variant `shopify`"), "{err}");
        let err = error_of("[[upstream]]\nname = \"a\"\nkind = \"closient\"\nbase_url = \"http://x\"\napi_key_env = \"MISSING\"\n");
        assert_eq!(
            err,
            "upstream[0].api_key_env: the environment variable MISSING is not set"
        );
        let err = error_of("[[upstream]]\nname = \"a\"\nkind = \"closient\"\nbase_url = \"http://x\"\napi_key_env = \"CLOSIENT_KEY\"\napp_id = 3\n");
        assert!(
            err.starts_with("upstream[0].app_id: not a setting of kind \"closient\""),
            "{err}"
        );
        let err = error_of("[[upstream]]\nname = \"Bad Name\"\nkind = \"closient\"\nbase_url = \"http://x\"\napi_key_env = \"CLOSIENT_KEY\"\n");
        assert!(err.starts_with("upstream[0].name:"), "{err}");
    }

    #[test]
    fn cache_settings_have_defaults_and_are_checked() {
        let config = Config::from_toml(FULL, env).unwrap();
        assert_eq!(config.instances[0].settings.cache, CacheSettings::default());
        let base = "[[upstream]]\nname = \"a\"\nkind = \"closient\"\nbase_url = \"http://x\"\napi_key_env = \"CLOSIENT_KEY\"\n";
        let config = Config::from_toml(
            &format!("{base}cache = false\ncache_ttl = \"5m\"\ncache_not_found_ttl = \"1s\"\ncache_max_bytes = 1024\n"),
            env,
        )
        .unwrap();
        assert_eq!(
            config.instances[0].settings.cache,
            CacheSettings {
                enabled: false,
                ttl: Duration::from_secs(300),
                not_found_ttl: Duration::from_secs(1),
                stale_if_error: DEFAULT_CACHE_STALE_IF_ERROR,
                max_bytes: 1024,
            }
        );
        let err = error_of(&format!("{base}cache_max_bytes = 0\n"));
        assert!(err.starts_with("upstream[0].cache_max_bytes:"), "{err}");
        let err = error_of(&format!("{base}cache_ttl = \"0s\"\n"));
        assert!(err.starts_with("upstream[0].cache_ttl:"), "{err}");
    }

    #[test]
    fn resilience_settings_have_defaults_and_are_checked() {
        let config = Config::from_toml(FULL, env).unwrap();
        let settings = &config.instances[0].settings;
        assert_eq!(settings.retry, RetrySettings::default());
        assert_eq!(settings.breaker, BreakerSettings::default());
        assert_eq!(settings.deadline, DEFAULT_DEADLINE);
        let base = "[[upstream]]\nname = \"a\"\nkind = \"closient\"\nbase_url = \"http://x\"\napi_key_env = \"CLOSIENT_KEY\"\n";
        let config = Config::from_toml(
            &format!(
                "{base}deadline = \"2s\"\nconnect_timeout = \"300ms\"\nretry_max_attempts = 1\n\
                 retry_base_backoff = \"5ms\"\nretry_after_cap = \"1s\"\nretry_budget_percent = 0.5\n\
                 breaker = false\nbreaker_failure_threshold = 2\nbreaker_cool_down = \"1s\"\n"
            ),
            env,
        )
        .unwrap();
        let settings = &config.instances[0].settings;
        assert_eq!(settings.deadline, Duration::from_secs(2));
        assert_eq!(settings.connect_timeout, Some(Duration::from_millis(300)));
        assert_eq!(settings.retry.max_attempts, 1);
        assert_eq!(settings.retry.base_backoff, Duration::from_millis(5));
        assert_eq!(settings.retry.retry_after_cap, Duration::from_secs(1));
        assert_eq!(settings.retry.budget_percent, 0.5);
        assert_eq!(
            settings.breaker,
            BreakerSettings {
                enabled: false,
                failure_threshold: 2,
                cool_down: Duration::from_secs(1)
            }
        );
        for (bad, key) in [
            ("retry_max_attempts = 0", "retry_max_attempts"),
            ("retry_budget_percent = 1.5", "retry_budget_percent"),
            ("breaker_failure_threshold = 0", "breaker_failure_threshold"),
            ("deadline = \"0s\"", "deadline"),
        ] {
            let err = error_of(&format!("{base}{bad}\n"));
            assert!(err.starts_with(&format!("upstream[0].{key}:")), "{err}");
        }
    }

    #[test]
    fn rates_come_from_a_table_or_a_violet_upstream() {
        let config = Config::from_toml(FULL, env).unwrap();
        assert!(matches!(&config.rates, RatesSpec::Upstream { name, .. } if name == "violet"));
        let table = Config::from_toml(
            &format!("{FULL}\n[rates]\nbase = \"EUR\"\nas_of = \"2026-11-01\"\ntable = {{ USD = \"1.087\", JPY = \"163.5\" }}\n"),
            env,
        )
        .unwrap();
        let RatesSpec::Static(table) = table.rates else {
            panic!("a static table")
        };
        assert_eq!(table.base().code(), "EUR");
        assert_eq!(
            table.rate(Currency::parse("JPY").unwrap()),
            Some("163.5".parse().unwrap())
        );
        assert_eq!(table.as_of(), "2026-11-01");
        for (rates, key) in [
            (
                "table = { EUR = 0.92 }",
                "rates.table.EUR: write the rate as a decimal string",
            ),
            ("table = { EUR = \"abc\" }", "rates.table.EUR:"),
            ("table = { XYZ = \"1\" }", "rates.table.XYZ:"),
            ("table = { EUR = \"-1\" }", "rates.table:"),
            (
                "upstream = \"closient\"",
                "rates.upstream: `closient` is not a violet upstream",
            ),
            (
                "upstream = \"nope\"",
                "rates.upstream: no upstream named `nope`",
            ),
            ("base = \"XX\"\nupstream = \"violet\"", "rates.base:"),
            ("", "rates: give `table` or `upstream`"),
        ] {
            let err = error_of(&format!("{FULL}\n[rates]\n{rates}\n"));
            assert!(err.starts_with(key), "{rates}: {err}");
        }
    }

    #[test]
    fn limits_have_safe_defaults_and_are_checked() {
        let config = Config::from_toml(FULL, env).unwrap();
        assert_eq!(
            config.limits,
            Limits {
                introspection: false,
                ..Limits::default()
            }
        );
        let config = Config::from_toml(
            &format!("{FULL}\n[limits]\nmax_depth = 8\nmax_ids = 10\nintrospection = true\nrequest_timeout = \"15s\"\n"),
            env,
        )
        .unwrap();
        assert_eq!((config.limits.max_depth, config.limits.max_ids), (8, 10));
        assert!(config.limits.introspection);
        assert_eq!(config.limits.request_timeout, Duration::from_secs(15));
        let err = error_of(&format!("{FULL}\n[limits]\nmax_depth = 0\n"));
        assert!(err.starts_with("limits.max_depth:"), "{err}");
        let err = error_of(&format!("{FULL}\n[limits]\nmax_dept = 3\n"));
        assert!(err.contains("unknown field `max_dept`"), "{err}");
    }

    #[test]
    fn environment_variables_override_settings() {
        let vars = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let config = Config::from_toml_with_overrides(
            FULL,
            env,
            &vars(&[
                ("OFFER_GATEWAY__LISTEN", "127.0.0.1:9999"),
                ("OFFER_GATEWAY__LIMITS__MAX_DEPTH", "9"),
                (
                    "OFFER_GATEWAY__SERVER__CORS_ALLOWED_ORIGINS",
                    "[\"https://a.example\"]",
                ),
                ("OFFER_GATEWAY__UPSTREAM__MERCUR_EU__REQUEST_TIMEOUT", "7s"),
                ("OFFER_GATEWAY__UPSTREAM__VIOLET__CACHE", "false"),
            ]),
        )
        .unwrap();
        assert_eq!(config.listen, Some("127.0.0.1:9999".parse().unwrap()));
        assert_eq!(config.limits.max_depth, 9);
        assert_eq!(config.server.cors_allowed_origins, ["https://a.example"]);
        assert_eq!(
            config.instances[1].settings.request_timeout,
            Duration::from_secs(7)
        );
        assert!(!config.instances[2].settings.cache.enabled);
        let err = Config::from_toml_with_overrides(
            FULL,
            env,
            &vars(&[("OFFER_GATEWAY__LIMITS__MAX_DEPHT", "9")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown field `max_depht`"), "{err}");
        let err = Config::from_toml_with_overrides(
            FULL,
            env,
            &vars(&[("OFFER_GATEWAY__UPSTREAM__NOPE__CACHE", "false")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("OFFER_GATEWAY__UPSTREAM__NOPE__CACHE: no upstream"),
            "{err}"
        );
    }

    #[test]
    fn secrets_can_come_from_files() {
        let path =
            std::env::temp_dir().join(format!("offer-gateway-secret-{}", std::process::id()));
        std::fs::write(&path, "csb_from_a_file\n").unwrap();
        let text = format!(
            "[[upstream]]\nname = \"a\"\nkind = \"closient\"\nbase_url = \"http://x\"\napi_key_file = {:?}\n",
            path.display().to_string()
        );
        let config = Config::from_toml(&text, env).unwrap();
        assert_eq!(
            config.instances[0].credentials,
            Credentials::Closient {
                api_key: Secret::new("csb_from_a_file")
            }
        );
        let both = text.replace(
            "api_key_file",
            "api_key_env = \"CLOSIENT_KEY\"\napi_key_file",
        );
        assert!(error_of(&both).starts_with("upstream[0].api_key_file: give either"));
        std::fs::remove_file(&path).unwrap();
        let err = error_of(&text);
        assert!(
            err.starts_with("upstream[0].api_key_file: cannot read"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_names_are_refused() {
        let one = "[[upstream]]\nname = \"a\"\nkind = \"closient\"\nbase_url = \"http://x\"\napi_key_env = \"CLOSIENT_KEY\"\n";
        let err = error_of(&format!("{one}{one}"));
        assert_eq!(err, "upstream[1].name: the name `a` is used twice");
    }

    #[test]
    fn secrets_are_not_in_errors_or_debug() {
        let config = Config::from_toml(FULL, env).unwrap();
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("csb_secret") && !debug.contains("app-secret"),
            "{debug}"
        );
    }
}
