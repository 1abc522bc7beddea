//! The Violet-style upstream (a catalog API of merchants' offers).
//!
//! - [`wire`]: serde types exactly as the API sends them (prices are
//!   integers in minor units; ids are integers).
//! - [`map`]: wire offers to [`crate::model::MarketplaceOffer`].
//! - [`client`]: [`VioletConnector`], with lazy login, single-flight token
//!   refresh, concurrent by-id lookups and search paging.
//! - `sim` (the `sim` feature): a simulator of the API over the shared demo
//!   catalog.

pub mod client;
pub mod credentials;
pub mod map;
#[cfg(feature = "sim")]
pub mod sim;
pub mod wire;

pub use client::VioletConnector;
pub use credentials::{Credentials, CredentialsConfig};
