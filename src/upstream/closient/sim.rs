//! The Closient simulator. (Placeholder: being written.)

use std::sync::Arc;

use axum::Router;

use crate::sim::catalog::Catalog;
use crate::upstream::Credentials;

/// Everything the simulator serves, generated from the catalog.
#[derive(Debug)]
pub struct SimData {}

impl SimData {
    /// Generates the simulator's data from the shared catalog.
    pub fn generate(_catalog: &Catalog) -> Self {
        SimData {}
    }
}

/// The simulator's routes.
pub fn router(_data: Arc<SimData>) -> Router {
    Router::new()
}

/// Credentials the demo gateway uses against this simulator.
pub fn demo_credentials() -> Credentials {
    todo!()
}
