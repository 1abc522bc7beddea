//! The GraphQL schema: thin views over [`crate::model`] and the root query.
//!
//! - `query.rs`: root fields.
//! - `offer.rs`: the `Node` and `Offer` interfaces and the offer types.
//! - `money.rs`: the `Money` type.
//! - `compare.rs`: offer comparisons.
//! - `connection.rs`: Relay connections over upstream listings.
//! - `id.rs`: global ids.
//! - `scope.rs`: per-request deadline start and warnings.

pub mod compare;
pub mod connection;
pub mod id;
pub mod money;
pub mod offer;
pub mod query;
pub mod scope;

use async_graphql::{EmptyMutation, EmptySubscription, Schema};

use crate::loader::Loaders;
use crate::rates::{ExchangeRates, RatesSpec};
use crate::upstream::Upstreams;

/// The gateway's schema type.
pub type GatewaySchema = Schema<query::QueryRoot, EmptyMutation, EmptySubscription>;

/// Builds the schema once, over the configured upstream instances and
/// source of exchange rates.
pub fn build_schema(upstreams: Upstreams, rates: &RatesSpec) -> GatewaySchema {
    let loaders = Loaders::new(&upstreams);
    let rates = ExchangeRates::new(rates, &upstreams);
    Schema::build(query::QueryRoot, EmptyMutation, EmptySubscription)
        .data(loaders)
        .data(upstreams)
        .data(rates)
        .finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    build_schema(Upstreams::default(), &RatesSpec::None).sdl()
}
