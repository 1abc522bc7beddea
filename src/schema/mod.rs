//! The GraphQL schema: thin views over [`crate::model`] and the root query.
//!
//! - `query.rs`: root fields.
//! - `offer.rs`: the `Node` and `Offer` interfaces and the offer types.
//! - `money.rs`: the `Money` type.
//! - `compare.rs`: offer comparisons.
//! - `connection.rs`: Relay connections over upstream listings.
//! - `id.rs`: global ids.
//! - `scope.rs`: per-request deadline start and warnings.

pub(crate) mod catalog_status;
pub(crate) mod compare;
pub(crate) mod connection;
pub(crate) mod id;
pub(crate) mod money;
pub(crate) mod offer;
pub(crate) mod ordering;
pub(crate) mod product;
pub(crate) mod promotion;
pub(crate) mod query;
pub(crate) mod scope;

use std::sync::Arc;

use async_graphql::{EmptyMutation, EmptySubscription, Schema};

use crate::catalog::Catalog;
use crate::limits::Limits;
use crate::loader::Loaders;
use crate::rates::{ExchangeRates, RatesSpec};
use crate::upstream::Upstreams;

/// The gateway's schema type.
pub type GatewaySchema = Schema<query::QueryRoot, EmptyMutation, EmptySubscription>;

/// Builds the schema once, over the configured upstream instances and
/// source of exchange rates, with the default limits but introspection on.
pub(crate) fn build_schema(upstreams: Upstreams, rates: &RatesSpec) -> GatewaySchema {
    let loaders = Arc::new(Loaders::new(&upstreams, None, None));
    // Schema tooling (the SDL, its tests) reads the schema by introspection.
    let limits = Limits {
        introspection: true,
        ..Limits::default()
    };
    build_schema_over(upstreams, loaders, None, rates, &limits)
}

/// Builds the schema once over loaders built by the caller (who keeps them,
/// e.g. for metrics), with `limits`: complexity and depth are also enforced
/// by async-graphql itself, introspection may be turned off, and the
/// id-list resolvers read `max_ids`.
pub(crate) fn build_schema_over(
    upstreams: Upstreams,
    loaders: Arc<Loaders>,
    catalog: Option<Catalog>,
    rates: &RatesSpec,
    limits: &Limits,
) -> GatewaySchema {
    let rates = ExchangeRates::new(rates, &upstreams);
    let mut builder = Schema::build(query::QueryRoot, EmptyMutation, EmptySubscription)
        .data(loaders)
        .data(upstreams)
        .data(rates)
        .data(limits.clone())
        .limit_complexity(limits.max_complexity)
        .limit_depth(limits.max_depth);
    if let Some(catalog) = catalog {
        builder = builder.data(catalog);
    }
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    build_schema(Upstreams::default(), &RatesSpec::None).sdl()
}
