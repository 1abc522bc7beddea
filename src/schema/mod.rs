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
pub(crate) mod validation;

use std::sync::Arc;

use async_graphql::{EmptyMutation, EmptySubscription, Schema, ValidationMode};

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
    let epochs = crate::freshness::Epochs::new();
    let loaders = Arc::new(Loaders::new(&upstreams, None, None, epochs.clone(), None));
    // Schema tooling (the SDL, its tests) reads the schema by introspection.
    let limits = Limits {
        introspection: true,
        ..Limits::default()
    };
    build_schema_over(upstreams, loaders, None, rates, &limits, epochs).strict
}

/// The schema built twice over the same data, and its input types: how
/// the gateway validates each document once (see `validation`).
#[derive(Clone)]
pub(crate) struct Schemas {
    /// Validates with every rule of the specification: what
    /// [`crate::Gateway::schema`] runs, and the first check of a document
    /// (with [`validation::ValidateOnly`]).
    pub(crate) strict: GatewaySchema,
    /// Runs documents that passed `strict` before: it validates only what
    /// depends on the request (complexity and depth, measured with its
    /// variables), after [`validation::coerce_variables`].
    pub(crate) trusted: GatewaySchema,
    /// The input types that variable values are checked against.
    pub(crate) inputs: Arc<validation::InputTypes>,
}

/// Builds the schemas once over loaders built by the caller (who keeps
/// them, e.g. for metrics), with `limits`: complexity and depth are also
/// enforced by async-graphql itself, introspection may be turned off, and
/// the id-list resolvers read `max_ids`.
pub(crate) fn build_schema_over(
    upstreams: Upstreams,
    loaders: Arc<Loaders>,
    catalog: Option<Catalog>,
    rates: &RatesSpec,
    limits: &Limits,
    epochs: Arc<crate::freshness::Epochs>,
) -> Schemas {
    let rates = ExchangeRates::new(rates, &upstreams, epochs);
    let build = |mode: ValidationMode| {
        let mut builder = Schema::build(query::QueryRoot, EmptyMutation, EmptySubscription)
            .data(loaders.clone())
            .data(upstreams.clone())
            .data(rates.clone())
            .data(limits.clone())
            .validation_mode(mode)
            .limit_complexity(limits.max_complexity)
            .limit_depth(limits.max_depth);
        if let Some(catalog) = &catalog {
            builder = builder.data(catalog.clone());
        }
        if !limits.introspection {
            builder = builder.disable_introspection();
        }
        builder
    };
    Schemas {
        strict: build(ValidationMode::Strict)
            .extension(validation::ValidateOnly)
            .finish(),
        trusted: build(ValidationMode::Fast).finish(),
        inputs: Arc::new(validation::InputTypes::of::<query::QueryRoot>()),
    }
}

/// The schema in SDL, as committed in `schema.graphql`: async-graphql's
/// export without its definitions of the specification's built-in
/// directives (`@include`, `@skip`), which a schema must not redefine.
pub fn sdl() -> String {
    without_built_in_directives(&build_schema(Upstreams::default(), &RatesSpec::None).sdl())
}

/// `sdl` without the definitions of `@include` and `@skip`, each with the
/// description block above it.
fn without_built_in_directives(sdl: &str) -> String {
    let lines: Vec<&str> = sdl.lines().collect();
    let mut keep = vec![true; lines.len()];
    for (i, line) in lines.iter().enumerate() {
        if !(line.starts_with("directive @include(") || line.starts_with("directive @skip(")) {
            continue;
        }
        keep[i] = false;
        // Its description: the `"""` block right above, if any.
        if i > 0 && lines[i - 1] == "\"\"\"" {
            if let Some(open) = (0..i - 1).rev().find(|&j| lines[j] == "\"\"\"") {
                keep[open..i].iter_mut().for_each(|k| *k = false);
            }
        }
    }
    let mut out: String = lines
        .iter()
        .zip(keep)
        .filter(|(_, keep)| *keep)
        .map(|(line, _)| *line)
        .collect::<Vec<_>>()
        .join("\n");
    out.push('\n');
    out
}
