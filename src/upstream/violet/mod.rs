//! The Violet-style upstream (a catalog API of merchants' offers).
//!
//! - [`wire`]: serde types exactly as the API sends them (prices are
//!   integers in minor units; ids are integers).
//! - [`map`]: wire offers to [`crate::model::MarketplaceOffer`].
//! - [`client`]: [`VioletConnector`], with lazy login, single-flight token
//!   refresh, concurrent by-id lookups and search paging, every price asked
//!   in the instance's `base_currency`.
//! - `settings`: [`Settings`], the keys of an instance table only Violet
//!   takes (`base_currency`, default USD).
//! - `sim` (the `sim` feature): a simulator of the API over the shared demo
//!   catalog.

pub(crate) mod client;
mod credentials;
pub(crate) mod map;
mod settings;
#[cfg(feature = "sim")]
pub mod sim;
// The wire shapes are public for the simulators' raw values (the `sim`
// feature); without it the module is private.
#[cfg(feature = "sim")]
pub mod wire;
#[cfg(not(feature = "sim"))]
#[allow(unreachable_pub)]
mod wire;

pub(crate) use client::VioletConnector;
pub use credentials::{Credentials, CredentialsConfig};
pub use settings::Settings;
