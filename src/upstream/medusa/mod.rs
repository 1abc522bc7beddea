//! The Medusa v2 / Mercur-style upstream (marketplace admin API): wire
//! types, id codec, mapping into the domain, connector and simulator.

pub mod client;
pub mod credentials;
pub mod id;
pub mod map;
#[cfg(feature = "sim")]
pub mod sim;
pub mod wire;

pub use client::MedusaConnector;
pub use credentials::{Credentials, CredentialsConfig};
