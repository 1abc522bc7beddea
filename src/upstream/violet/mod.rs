//! The Violet-style upstream: wire types, mapping, connector and simulator.

pub mod client;
pub mod map;
pub mod sim;
pub mod wire;

pub use client::VioletConnector;
