//! The Medusa v2 / Mercur-style upstream (marketplace admin API): wire
//! types, id codec, mapping into the domain, connector and simulator.

pub(crate) mod client;
mod credentials;
pub(crate) mod id;
pub(crate) mod map;
#[cfg(feature = "sim")]
pub mod sim;
// The wire shapes are public for the simulators' raw values (the `sim`
// feature); without it the module is private.
#[cfg(feature = "sim")]
pub mod wire;
#[cfg(not(feature = "sim"))]
#[allow(unreachable_pub)]
mod wire;

pub(crate) use client::MedusaConnector;
pub use credentials::{Credentials, CredentialsConfig};
