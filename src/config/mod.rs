//! Configuration: a TOML file naming the upstream instances to front.
//!
//! ```toml
//! listen = "127.0.0.1:4000"
//!
//! [upstreams.closient]
//! kind = "closient"
//! base_url = "https://www.closient.com"
//! request_timeout = "5s"
//! credentials = { api_key_env = "CLOSIENT_API_KEY" }
//! ```
//!
//! Each table deserializes into the settings type of the module that owns
//! it, where its defaults and checks live: `[limits]` into
//! [`crate::limits::Limits`], `[server]` into [`crate::http::ServerOptions`],
//! `[persisted_queries]` into [`crate::http::persisted::PersistedQueries`],
//! `[response_cache]` into [`crate::http::responses::ResponseCacheOptions`],
//! `[rates]` into [`crate::rates::RatesConfig`], and each
//! `[upstreams.<name>]` through [`crate::upstream::settings::instance`]
//! (its `credentials` table into the style's own `CredentialsConfig`, the
//! keys only its style takes, such as Violet's `base_currency`, into the
//! style's own settings).
//! This module only reads the file, applies environment overrides
//! ([`overrides`]) and checks what spans tables. Secrets are never written
//! in the file: it names the environment variable or file that holds each
//! one. Unknown keys and invalid values are refused with a message naming
//! the key.

pub mod overrides;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::error::InvalidSetting;
use crate::http::persisted::PersistedQueries;
use crate::http::responses::ResponseCacheOptions;
use crate::http::ServerOptions;
use crate::limits::Limits;
use crate::rates::RatesConfig;
use crate::upstream::InstanceSpec;
use crate::GatewayOptions;

pub use overrides::{apply_overrides, ENV_PREFIX};

/// Default address the gateway listens on.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::LOCALHOST,
    4000,
));

/// Default directory of the catalog index, relative to the working
/// directory; `--data-dir` overrides it.
pub const DEFAULT_DATA_DIR: &str = "offer-gateway-data";

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
    #[error(transparent)]
    Invalid(#[from] InvalidSetting),
}

/// The configuration file, as written: each table is its owner's settings
/// type. Every key is optional but `upstreams`' own.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct File {
    /// Address to listen on; `--listen` overrides it.
    listen: SocketAddr,
    /// Connect timeout of the shared HTTP client.
    #[serde(with = "humantime_serde")]
    connect_timeout: Duration,
    /// Limits of the GraphQL endpoint.
    limits: Limits,
    /// The HTTP server.
    server: ServerOptions,
    /// Persisted queries.
    persisted_queries: PersistedQueries,
    /// The whole-response cache.
    response_cache: ResponseCacheOptions,
    /// Where exchange rates come from; none: the first Violet-style instance.
    rates: Option<RatesConfig>,
    /// Directory of the catalog index; `--data-dir` overrides it.
    data_dir: std::path::PathBuf,
    /// The shared tier of a deployment of several replicas.
    shared: crate::shared::SharedSettings,
    /// The upstream instances by name, in the file's order; each table is
    /// read by [`crate::upstream::settings::instance`].
    upstreams: IndexMap<String, toml::Table>,
}

impl Default for File {
    fn default() -> Self {
        File {
            listen: DEFAULT_LISTEN,
            connect_timeout: crate::upstream::client::DEFAULT_CONNECT_TIMEOUT,
            limits: Limits::default(),
            server: ServerOptions::default(),
            persisted_queries: PersistedQueries::default(),
            response_cache: ResponseCacheOptions::default(),
            rates: None,
            data_dir: DEFAULT_DATA_DIR.into(),
            shared: crate::shared::SharedSettings::default(),
            upstreams: IndexMap::new(),
        }
    }
}

/// What the embedded demo allows by CORS unless told otherwise: browser
/// apps served from this machine (Vite, Next.js, Expo dev servers) on any
/// port.
pub const DEMO_CORS_ALLOWED_ORIGINS: [&str; 2] = ["http://localhost:*", "http://127.0.0.1:*"];

/// A loaded, checked configuration.
#[derive(Debug)]
pub struct Config {
    /// Address to listen on (`--listen` overrides it).
    pub listen: SocketAddr,
    /// The upstream instances with their secrets resolved, in the file's order.
    pub instances: Vec<InstanceSpec>,
    /// Everything else that shapes the gateway.
    pub options: GatewayOptions,
}

impl Config {
    /// Reads and checks a file; secrets and `OFFER_GATEWAY__...` overrides
    /// come from the environment.
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

    /// The embedded demo's settings: introspection on, browser apps on
    /// `http://localhost` and `http://127.0.0.1` (any port) allowed by CORS
    /// ([`DEMO_CORS_ALLOWED_ORIGINS`]), then the `OFFER_GATEWAY__...`
    /// overrides of the environment, as with a file. It names no upstream:
    /// the demo adds its simulators.
    pub fn demo() -> Result<Config, ConfigError> {
        let overrides: Vec<(String, String)> = std::env::vars()
            .filter(|(name, _)| name.starts_with(ENV_PREFIX))
            .collect();
        Config::demo_with_overrides(&overrides)
    }

    /// [`Config::demo`] with the given overrides instead of the environment's.
    pub fn demo_with_overrides(overrides: &[(String, String)]) -> Result<Config, ConfigError> {
        let origins = DEMO_CORS_ALLOWED_ORIGINS
            .iter()
            .map(|o| format!("\"{o}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let text = format!(
            "[limits]\nintrospection = true\n\n[server]\ncors_allowed_origins = [{origins}]\n"
        );
        Config::from_toml_with_overrides(&text, |_| None, overrides)
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
        let mut file: File = toml::Value::Table(value)
            .try_into()
            .map_err(|err: toml::de::Error| ConfigError::Parse(err.to_string()))?;
        file.limits.validate()?;
        file.server.validate()?;
        file.response_cache.validate()?;
        file.persisted_queries.prepare()?;
        file.shared.prepare(&env)?;
        InvalidSetting::positive("connect_timeout", file.connect_timeout)?;
        let instances = file
            .upstreams
            .into_iter()
            .map(|(name, table)| crate::upstream::settings::instance(&name, table, &env))
            .collect::<Result<Vec<_>, _>>()?;
        let rates = file
            .rates
            .map(|rates| {
                rates.resolve(|name| {
                    instances
                        .iter()
                        .find(|i| &*i.name == name)
                        .map(InstanceSpec::kind)
                })
            })
            .transpose()?;
        // Fields waiting on an upstream give up at its deadline, so that an
        // answer with what is in hand (and UPSTREAM_TIMEOUT errors for the
        // rest) goes out before the whole request is cut off.
        if let Some(slowest) = instances
            .iter()
            .max_by_key(|instance| instance.settings.deadline)
            .filter(|instance| instance.settings.deadline >= file.limits.request_timeout)
        {
            return Err(InvalidSetting::new(
                "limits.request_timeout",
                format!(
                    "{} must be longer than the deadline of upstream `{}` ({}), or answers \
                     in hand are lost when a slow upstream hits the request timeout",
                    humantime::format_duration(file.limits.request_timeout),
                    slowest.name,
                    humantime::format_duration(slowest.settings.deadline),
                ),
            )
            .into());
        }
        Ok(Config {
            listen: file.listen,
            instances,
            options: GatewayOptions {
                connect_timeout: file.connect_timeout,
                rates,
                limits: file.limits,
                server: file.server,
                persisted: file.persisted_queries,
                response_cache: file.response_cache,
                data_dir: Some(file.data_dir),
                shared: file.shared,
            },
        })
    }
}

#[cfg(test)]
mod tests;
