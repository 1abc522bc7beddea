//! Simulators of the three upstream API styles, for the demo, the tests and
//! the benchmark.
//!
//! Each style's simulator lives beside its connector
//! (`upstream/<style>/sim.rs`) and serves the same wire types the connector
//! reads, over a shared deterministic [`catalog::Catalog`]. This module
//! runs them: it binds each on `127.0.0.1:0`, counts the requests each
//! endpoint served, and can add a fixed latency to every answer.

pub mod catalog;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use url::Url;

use crate::upstream::{closient, medusa, violet, Credentials, InstanceSettings, InstanceSpec};
use catalog::Catalog;

/// Live controls and counters of one running simulator.
#[derive(Debug, Default)]
pub struct SimControl {
    latency_micros: AtomicU64,
    counts: Mutex<BTreeMap<String, u64>>,
}

impl SimControl {
    /// Adds `latency` before every answer from now on.
    pub fn set_latency(&self, latency: Duration) {
        self.latency_micros
            .store(latency.as_micros() as u64, Ordering::Relaxed);
    }

    /// The latency added to every answer.
    pub fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_micros.load(Ordering::Relaxed))
    }

    /// Requests served per endpoint, keyed `"GET /admin/offers/{id}"`.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.counts.lock().expect("counter lock poisoned").clone()
    }

    /// Requests served by one endpoint (`"GET /admin/offers"`).
    pub fn count(&self, endpoint: &str) -> u64 {
        self.counts
            .lock()
            .expect("counter lock poisoned")
            .get(endpoint)
            .copied()
            .unwrap_or(0)
    }

    /// Requests served by all endpoints.
    pub fn total(&self) -> u64 {
        self.counts
            .lock()
            .expect("counter lock poisoned")
            .values()
            .sum()
    }

    /// Sets every counter back to zero.
    pub fn reset_counts(&self) {
        self.counts.lock().expect("counter lock poisoned").clear();
    }

    fn record(&self, endpoint: String) {
        *self
            .counts
            .lock()
            .expect("counter lock poisoned")
            .entry(endpoint)
            .or_insert(0) += 1;
    }
}

async fn instrument(
    State(control): State<Arc<SimControl>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(unmatched)".to_owned());
    control.record(format!("{} {path}", request.method()));
    let latency = control.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    next.run(request).await
}

/// A simulator serving on loopback.
#[derive(Debug)]
pub struct RunningSim {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its base URL, `http://127.0.0.1:<port>`.
    pub base_url: Url,
    /// Its counters and latency.
    pub control: Arc<SimControl>,
    task: JoinHandle<()>,
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router` on `127.0.0.1:0` with request counting and latency.
pub async fn serve(router: Router) -> std::io::Result<RunningSim> {
    let control = Arc::new(SimControl::default());
    let app = router.route_layer(axum::middleware::from_fn_with_state(
        control.clone(),
        instrument,
    ));
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(cause = %err, "simulator stopped");
        }
    });
    let base_url =
        Url::parse(&format!("http://{addr}")).expect("a socket address is a valid URL host");
    Ok(RunningSim {
        addr,
        base_url,
        control,
        task,
    })
}

/// The three simulators over one catalog.
#[derive(Debug)]
pub struct Simulators {
    /// The catalog they serve.
    pub catalog: Arc<Catalog>,
    /// The Closient-style retailers API.
    pub closient: RunningSim,
    /// The Medusa/Mercur-style marketplace admin API.
    pub medusa: RunningSim,
    /// The Violet-style catalog API.
    pub violet: RunningSim,
    /// The Closient simulator's data (for tests that compare raw values).
    pub closient_data: Arc<closient::sim::SimData>,
    /// The Medusa simulator's data.
    pub medusa_data: Arc<medusa::sim::SimData>,
    /// The Violet simulator's data.
    pub violet_data: Arc<violet::sim::SimData>,
}

impl Simulators {
    /// Starts all three simulators over the catalog of `seed`.
    pub async fn start(seed: u64) -> std::io::Result<Self> {
        let catalog = Arc::new(Catalog::generate(seed));
        let closient_data = Arc::new(closient::sim::SimData::generate(&catalog));
        let medusa_data = Arc::new(medusa::sim::SimData::generate(&catalog));
        let violet_data = Arc::new(violet::sim::SimData::generate(&catalog));
        Ok(Simulators {
            closient: serve(closient::sim::router(closient_data.clone())).await?,
            medusa: serve(medusa::sim::router(medusa_data.clone())).await?,
            violet: serve(violet::sim::router(violet_data.clone())).await?,
            catalog,
            closient_data,
            medusa_data,
            violet_data,
        })
    }

    /// Starts the simulators over the demo catalog.
    pub async fn start_demo() -> std::io::Result<Self> {
        Simulators::start(catalog::DEMO_SEED).await
    }

    /// Upstream instances pointing at these simulators with their demo
    /// credentials, named `closient`, `medusa` and `violet`.
    pub fn instance_specs(&self) -> Vec<InstanceSpec> {
        let spec = |name: &str, sim: &RunningSim, credentials: Credentials| InstanceSpec {
            name: Arc::from(name),
            base_url: sim.base_url.clone(),
            credentials,
            settings: InstanceSettings::default(),
        };
        vec![
            spec(
                "closient",
                &self.closient,
                closient::sim::demo_credentials(),
            ),
            spec("medusa", &self.medusa, medusa::sim::demo_credentials()),
            spec("violet", &self.violet, violet::sim::demo_credentials()),
        ]
    }

    /// Sets the same added latency on all three simulators.
    pub fn set_latency(&self, latency: Duration) {
        for sim in [&self.closient, &self.medusa, &self.violet] {
            sim.control.set_latency(latency);
        }
    }

    /// Requests served by all three simulators.
    pub fn total_requests(&self) -> u64 {
        self.closient.control.total() + self.medusa.control.total() + self.violet.control.total()
    }

    /// Sets all counters back to zero.
    pub fn reset_counts(&self) {
        for sim in [&self.closient, &self.medusa, &self.violet] {
            sim.control.reset_counts();
        }
    }
}
