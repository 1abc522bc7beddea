//! The Closient-style upstream (a retailers API): online offers of web
//! storefronts and in-store offers of physical stores, owned by
//! organizations (retail chains), keyed by shortuuids.
//!
//! - [`wire`]: `OnlineOfferOut`, `InStoreOfferOut`, the legacy flat
//!   `OfferOut`, `ProductBrowseOut`, `ProductOut`, pagination and error envelopes.
//! - [`map`]: wire to [`crate::model`], prices through [`crate::pricing::from_closient`];
//!   legacy listing items and product records for the catalog index.
//! - [`client`]: the [`ClosientConnector`] (the `Connector` calls, plus the
//!   catalog index's legacy listing and product lookup).
//! - `sim` (the `sim` feature): the simulator of the API.
//! - [`shortuuid`]: the id codec (shortuuid and canonical UUID forms).

pub(crate) mod client;
mod credentials;
pub(crate) mod map;
pub(crate) mod shortuuid;
#[cfg(feature = "sim")]
pub mod sim;
// The wire shapes are public for the simulators' raw values (the `sim`
// feature); without it the module is private.
#[cfg(feature = "sim")]
pub mod wire;
#[cfg(not(feature = "sim"))]
#[allow(unreachable_pub)]
mod wire;

pub(crate) use client::ClosientConnector;
pub use credentials::{Credentials, CredentialsConfig};

/// Checks an organization id as a client typed it (shortuuid or UUID) and
/// returns its shortuuid, for [`crate::upstream::ListScope::Organization`].
/// The error says what is wrong, for a `BAD_USER_INPUT` message.
pub fn canonical_organization_id(raw: &str) -> Result<String, String> {
    shortuuid::canonical(raw).map_err(|err| err.to_string())
}
