//! offer-gateway: one GraphQL API over the REST APIs that publish product offers.
//!
//! The path of a query, and the module that owns each step:
//!
//! - [`http`]: the axum server: `POST/GET /graphql`, GraphiQL, `/healthz`.
//! - [`schema`]: the GraphQL types, thin views over [`model`]; root fields
//!   decode global ids and call the loaders.
//! - [`loader`]: one async-graphql `DataLoader` per upstream instance, so
//!   by-id lookups are batched, coalesced and cached.
//! - [`cache`]: the moka answer cache in front of each upstream instance.
//! - [`upstream`]: the [`upstream::Connector`] trait and one folder per API
//!   style (`closient`, `medusa`, `violet`), each split into `wire`, `map`,
//!   `client` and `sim`.
//! - [`pricing`]: the one money module: parsing every upstream's prices,
//!   conversion, formatting, and the cheapest-offer rule.
//! - [`rates`]: where exchange rates come from (config or an upstream).
//! - [`model`]: the domain model of offers.
//! - [`error`]: upstream errors and their single mapping to GraphQL errors.
//! - [`config`]: the TOML configuration of real upstreams.
//! - [`sim`]: runs the simulators (the embedded default upstreams).
//! - [`secret`]: credentials that never print.

pub mod cache;
pub mod config;
pub mod error;
pub mod http;
pub mod limits;
pub mod loader;
pub mod model;
pub mod pricing;
pub mod rates;
pub mod schema;
pub mod secret;
pub mod sim;
pub mod upstream;

use std::time::Duration;

use crate::schema::GatewaySchema;
use crate::upstream::{InstanceSpec, Upstreams};

/// Builds the gateway's schema over upstream instances; `connect_timeout`
/// is the default of instances that set none. Exchange rates come from the
/// first Violet-style instance, if any ([`rates::RatesSpec::default_for`]).
pub fn gateway(instances: Vec<InstanceSpec>, connect_timeout: Duration) -> GatewaySchema {
    let upstreams = Upstreams::new(instances, connect_timeout);
    let rates = rates::RatesSpec::default_for(&upstreams);
    schema::build_schema(upstreams, &rates)
}

/// Builds the gateway's schema with the exchange rates of `rates`.
pub fn gateway_with_rates(
    instances: Vec<InstanceSpec>,
    connect_timeout: Duration,
    rates: &rates::RatesSpec,
) -> GatewaySchema {
    schema::build_schema(Upstreams::new(instances, connect_timeout), rates)
}

/// Builds the gateway's schema with all of a configuration's settings.
pub fn gateway_from_config(config: &config::Config) -> GatewaySchema {
    schema::build_schema_with(
        Upstreams::new(config.instances.clone(), config.connect_timeout),
        &config.rates,
        &config.limits,
    )
}
