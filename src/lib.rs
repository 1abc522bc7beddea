//! offer-gateway: one GraphQL API over the REST APIs that publish product offers.
//!
//! The public surface is small: build a [`Gateway`] from upstream
//! [`upstream::InstanceSpec`]s (read from a file by [`config::Config`], or
//! given by [`sim::Simulators`] under the `sim` feature) and
//! [`GatewayOptions`], then [`serve`] its [`Gateway::router`]. Every code a
//! client can see is an [`ErrorCode`].
//!
//! Inside, the path of a query, and the module that owns each step (all
//! private but `config`, `error`, `upstream`, `shared` and `sim`):
//!
//! - `http`: the axum server: `POST/GET /graphql`, GraphiQL, `/healthz`,
//!   `/readyz`, `/metrics`; GraphQL over HTTP, persisted queries, client keys.
//! - `limits`: what a document may cost, checked before it runs.
//! - `schema`: the GraphQL types, thin views over `model`; root fields
//!   decode global ids and call the loaders.
//! - `loader` and `cache`: one async-graphql `DataLoader` per upstream
//!   instance, so by-id lookups are batched, coalesced and cached in a moka
//!   cache; `request` is a request's identity on its way to the upstreams,
//!   `metrics` the Prometheus registry.
//! - [`upstream`]: each configured instance (the shared plumbing) with its
//!   style's connector, one folder per API style (`closient`, `medusa`,
//!   `violet`), each split into `wire`, `map`, `client`, `credentials` and
//!   `sim` (Violet adds `settings`, the keys only it takes).
//! - `pricing`: the one money module: parsing every upstream's prices,
//!   conversion, formatting, and the cheapest-offer rule.
//! - `rates`: where exchange rates come from (config or an upstream).
//! - `model`: the domain model of offers; `gtin`: the product key every
//!   upstream's barcode codes are normalized to.
//! - [`error`]: every code a client can see, upstream errors, and their
//!   single mapping to GraphQL errors.
//! - [`config`]: the TOML configuration of real upstreams, read into each
//!   owner's settings type.
//! - `sim`: runs the simulators (the embedded default upstreams).
//! - `secret`: credentials that never print.
//! - [`shared`]: the tier the replicas of a deployment share (Redis),
//!   optional; without it, or while it is down, each replica goes on alone.
//!
//! The `sim` cargo feature, on by default, compiles the simulators: the
//! `sim` module and each style's `upstream::<style>::sim`. Without it the
//! library holds no simulator code.

mod cache;
mod catalog;
pub mod config;
pub mod error;
mod freshness;
mod gtin;
mod http;
mod limits;
mod loader;
mod metrics;
mod model;
mod pricing;
mod rates;
mod request;
mod schema;
mod secret;
pub mod shared;
#[cfg(feature = "sim")]
pub mod sim;
pub mod upstream;

pub use error::ErrorCode;
pub use gtin::{Gtin, GtinError};
pub use http::auth::{hash_key, ClientKeys};
pub use http::persisted::{sha256_hex, PersistedQueries};
pub use http::responses::ResponseCacheOptions;
pub use http::{serve, serve_with_grace, shutdown_signal, ServerOptions};
pub use limits::Limits;
pub use model::{OfferKind, UpstreamKind};
pub use pricing::{Currency, JsonNumber};
pub use rates::{RatesConfig, RatesSpec};
pub use schema::id::GlobalId;
pub use schema::{sdl, GatewaySchema};
pub use secret::Secret;

use std::sync::Arc;
use std::time::Duration;

use crate::upstream::{InstanceSpec, Upstreams};

/// Everything that shapes a gateway besides its upstream instances.
#[derive(Clone, Debug)]
pub struct GatewayOptions {
    /// Connect timeout of instances that set none.
    pub connect_timeout: Duration,
    /// Where exchange rates come from; `None` for the first Violet-style
    /// instance, if any.
    pub rates: Option<rates::RatesSpec>,
    /// Limits of the GraphQL endpoint.
    pub limits: limits::Limits,
    /// The HTTP server's settings.
    pub server: http::ServerOptions,
    /// Persisted queries.
    pub persisted: http::persisted::PersistedQueries,
    /// The whole-response cache.
    pub response_cache: http::responses::ResponseCacheOptions,
    /// Where the catalog index is kept; `None` keeps it in memory (gone at
    /// exit, so a restart re-crawls).
    pub data_dir: Option<std::path::PathBuf>,
    /// The shared tier (Redis) of a deployment of several replicas; none
    /// by default.
    pub shared: shared::SharedSettings,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            connect_timeout: upstream::client::DEFAULT_CONNECT_TIMEOUT,
            rates: None,
            limits: limits::Limits::default(),
            server: http::ServerOptions::default(),
            persisted: http::persisted::PersistedQueries::default(),
            response_cache: http::responses::ResponseCacheOptions::default(),
            data_dir: None,
            shared: shared::SharedSettings::default(),
        }
    }
}

/// Why a gateway cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The shared tier's settings cannot be used.
    #[error(transparent)]
    Shared(error::InvalidSetting),
    /// The catalog index cannot be opened, created or written.
    #[error("the catalog index in {dir} cannot be used ({cause}); give a writable directory with --data-dir or `data_dir`")]
    Catalog {
        /// The data directory.
        dir: String,
        /// What failed.
        cause: String,
    },
}

/// A built gateway: the schema, and what the HTTP layer uses beside it.
#[derive(Clone)]
pub struct Gateway {
    /// The GraphQL schema, strict and trusted (see `schema::validation`).
    pub(crate) schemas: schema::Schemas,
    /// The options it was built with.
    pub(crate) options: Arc<GatewayOptions>,
    /// Its metrics.
    pub(crate) metrics: Arc<metrics::Metrics>,
    /// Its upstream instances.
    pub(crate) upstreams: Upstreams,
    /// Their stores (caches) and loaders.
    pub(crate) loaders: Arc<loader::Loaders>,
    /// The catalog index and its syncs.
    pub(crate) catalog: catalog::Catalog,
    /// Generations of the data answers are built from.
    pub(crate) epochs: Arc<freshness::Epochs>,
    /// The shared tier, if configured.
    pub(crate) shared: Option<Arc<shared::Shared>>,
}

impl Gateway {
    /// Builds a gateway over `instances`: opens its catalog index and
    /// starts the catalog sync of every instance that has it enabled (the
    /// syncs stop when the last handle of the gateway is dropped). Needs a
    /// tokio runtime.
    pub async fn build(
        instances: Vec<InstanceSpec>,
        options: GatewayOptions,
    ) -> Result<Gateway, BuildError> {
        let metrics = Arc::new(metrics::Metrics::new());
        let epochs = freshness::Epochs::new();
        let upstreams = Upstreams::new(instances, options.connect_timeout, Some(metrics.clone()));
        let shared = shared::Shared::start(&options.shared, Some(metrics.clone()))
            .map_err(BuildError::Shared)?;
        let catalog = catalog::Catalog::open(
            options.data_dir.as_deref(),
            &upstreams,
            epochs.clone(),
            shared.clone(),
        )
        .await
        .map_err(|err| BuildError::Catalog {
            dir: options
                .data_dir
                .as_ref()
                .map_or_else(|| "memory".to_owned(), |d| d.display().to_string()),
            cause: err.to_string(),
        })?;
        let loaders = Arc::new(loader::Loaders::new(
            &upstreams,
            Some(metrics.clone()),
            Some(catalog.clone()),
            epochs.clone(),
            shared.clone(),
        ));
        let rates = options
            .rates
            .clone()
            .unwrap_or_else(|| rates::RatesSpec::default_for(&upstreams));
        let schemas = schema::build_schema_over(
            upstreams.clone(),
            loaders.clone(),
            Some(catalog.clone()),
            &rates,
            &options.limits,
            epochs.clone(),
        );
        Ok(Gateway {
            schemas,
            options: Arc::new(options),
            metrics,
            upstreams,
            loaders,
            catalog,
            epochs,
            shared,
        })
    }

    /// The GraphQL schema, to execute a request without HTTP.
    pub fn schema(&self) -> &GatewaySchema {
        &self.schemas.strict
    }

    /// The gateway's HTTP routes.
    pub fn router(&self) -> axum::Router {
        http::router(self.clone())
    }
}
