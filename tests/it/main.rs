//! The integration tests, in one binary: each module tests one behaviour
//! of the gateway over real HTTP on `127.0.0.1` port 0 (or the binary
//! itself, for the command line). Modules that start the simulators need
//! the `sim` feature. `tests/logs.rs` stays a binary of its own: its
//! thread-local log subscriber must see every event of its request.

// Test helpers may unwrap: a failure is the test's failure.
#![allow(clippy::unwrap_used)]
// A test binary has no outside users; `pub` in a helper module means "shared
// by the test modules".
#![allow(unreachable_pub)]

mod child;
#[cfg(feature = "sim")]
mod common;

#[cfg(feature = "sim")]
mod batching_caching;
#[cfg(feature = "sim")]
mod catalog_prices;
#[cfg(feature = "sim")]
mod catalog_sync;
mod cli;
#[cfg(feature = "sim")]
mod compression;
#[cfg(feature = "sim")]
mod drift;
#[cfg(feature = "sim")]
mod examples;
#[cfg(feature = "sim")]
mod filters;
mod frontend_tools;
#[cfg(feature = "sim")]
mod graphiql;
#[cfg(feature = "sim")]
mod graphql_e2e;
#[cfg(feature = "sim")]
mod hardening;
#[cfg(feature = "sim")]
mod http_spec;
#[cfg(feature = "sim")]
mod money;
#[cfg(feature = "sim")]
mod money_rules;
#[cfg(feature = "sim")]
mod observability;
#[cfg(feature = "sim")]
mod products;
mod redis_server;
#[cfg(feature = "sim")]
mod resilience;
#[cfg(feature = "sim")]
mod response_cache;
mod schema_file;
#[cfg(feature = "sim")]
mod shared_tier;
