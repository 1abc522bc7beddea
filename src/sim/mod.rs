//! Simulators of the three upstream API styles, for the demo, the tests and
//! the benchmark.
//!
//! Each style's simulator lives beside its connector
//! (`upstream/<style>/sim/`) and serves the same wire types the connector
//! reads, over a shared deterministic [`catalog::Catalog`]. This module
//! runs them: it binds each on `127.0.0.1:0`, counts the requests each
//! endpoint served, can add a fixed latency to every answer, and injects
//! the faults of [`fault`] per endpoint. With [`SimOptions::drift`], the
//! simulators send the unusual values the seeds allow ([`drift`]).

pub mod catalog;
pub mod drift;
pub mod fault;

pub use drift::SimOptions;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tower::ServiceExt;
use url::Url;

use fault::{Fault, FaultRule, ResetConnection};

use crate::upstream::{closient, medusa, violet, Credentials, InstanceSettings, InstanceSpec};
use catalog::Catalog;

/// Live controls and counters of one running simulator.
#[derive(Debug, Default)]
pub struct SimControl {
    latency_micros: AtomicU64,
    counts: Mutex<BTreeMap<String, u64>>,
    faults: Mutex<Vec<FaultRule>>,
    request_ids: Mutex<Vec<String>>,
    arrivals: Mutex<std::collections::VecDeque<std::time::Instant>>,
}

/// Arrival times kept per simulator (the latest ones).
const KEPT_ARRIVALS: usize = 100_000;

impl SimControl {
    /// Injects `fault` into calls of `endpoint` (`"GET /admin/offers"`;
    /// `None` for every endpoint), for the next `first_n` calls or for all
    /// of them. The first matching rule, in injection order, applies.
    pub fn inject(&self, endpoint: Option<&str>, fault: Fault, first_n: Option<u32>) {
        self.faults
            .lock()
            .expect("fault lock poisoned")
            .push(FaultRule {
                endpoint: endpoint.map(str::to_owned),
                fault,
                remaining: first_n,
            });
    }

    /// The `x-request-id` headers of the requests served so far.
    pub fn request_ids(&self) -> Vec<String> {
        self.request_ids
            .lock()
            .expect("request id lock poisoned")
            .clone()
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.faults.lock().expect("fault lock poisoned").clear();
    }

    fn take_fault(&self, endpoint: &str) -> Option<Fault> {
        let mut faults = self.faults.lock().expect("fault lock poisoned");
        let rule = faults.iter_mut().find(|rule| rule.matches(endpoint))?;
        if let Some(remaining) = &mut rule.remaining {
            *remaining -= 1;
        }
        Some(rule.fault.clone())
    }

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

    /// When the latest requests (up to 100,000) arrived, oldest first: for
    /// tests that check how requests spread over time.
    pub fn arrivals(&self) -> Vec<std::time::Instant> {
        self.arrivals
            .lock()
            .expect("arrivals lock poisoned")
            .iter()
            .copied()
            .collect()
    }

    fn record(&self, endpoint: String) {
        {
            let mut arrivals = self.arrivals.lock().expect("arrivals lock poisoned");
            if arrivals.len() == KEPT_ARRIVALS {
                arrivals.pop_front();
            }
            arrivals.push_back(std::time::Instant::now());
        }
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
    let endpoint = format!("{} {path}", request.method());
    control.record(endpoint.clone());
    if let Some(id) = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
    {
        control
            .request_ids
            .lock()
            .expect("request id lock poisoned")
            .push(id.to_owned());
    }
    let latency = control.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(fault) = control.take_fault(&endpoint) {
        match fault::respond(&fault).await {
            Some(response) => return response,
            None => {
                if let Fault::Latency(extra) = fault {
                    tokio::time::sleep(extra).await;
                }
            }
        }
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

/// Serves `router` on `127.0.0.1:0` with request counting, latency and
/// fault injection.
pub async fn serve(router: Router) -> std::io::Result<RunningSim> {
    let control = Arc::new(SimControl::default());
    let app = router.route_layer(axum::middleware::from_fn_with_state(
        control.clone(),
        instrument,
    ));
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(accept(listener, app));
    let base_url =
        Url::parse(&format!("http://{addr}")).expect("a socket address is a valid URL host");
    Ok(RunningSim {
        addr,
        base_url,
        control,
        task,
    })
}

/// The accept loop: HTTP/1.1 connections served by `app`, except that a
/// response marked [`ResetConnection`] resets the connection instead.
async fn accept(listener: TcpListener, app: Router) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                tracing::warn!(cause = %err, "simulator accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            let reset = Arc::new(AtomicBool::new(false));
            let io = TokioIo::new(ResettableStream {
                inner: stream,
                reset: reset.clone(),
            });
            let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let app = app.clone();
                let reset = reset.clone();
                async move {
                    let response = app
                        .oneshot(request.map(Body::new))
                        .await
                        .unwrap_or_else(|never| match never {});
                    if response.extensions().get::<ResetConnection>().is_some() {
                        reset.store(true, Ordering::SeqCst);
                        return Err(ResetRequested);
                    }
                    Ok(response)
                }
            });
            // Errors here are clients going away or injected resets.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

#[derive(Debug)]
struct ResetRequested;

impl std::fmt::Display for ResetRequested {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by fault injection")
    }
}

impl std::error::Error for ResetRequested {}

/// A TCP stream that, once asked to, closes with a reset (RST) instead of
/// an orderly shutdown.
struct ResettableStream {
    inner: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.reset.load(Ordering::SeqCst) {
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.reset.load(Ordering::SeqCst) {
            // No orderly shutdown: the drop resets the connection.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
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
        Simulators::start_with(seed, SimOptions::default()).await
    }

    /// Starts all three simulators over the catalog of `seed`, with `options`.
    pub async fn start_with(seed: u64, options: SimOptions) -> std::io::Result<Self> {
        let catalog = Arc::new(Catalog::generate(seed));
        let mut closient_data = closient::sim::SimData::generate(&catalog);
        let mut medusa_data = medusa::sim::SimData::generate(&catalog);
        let mut violet_data = violet::sim::SimData::generate(&catalog);
        if options.drift {
            closient_data = closient_data.with_drift();
            medusa_data = medusa_data.with_drift();
            violet_data = violet_data.with_drift();
        }
        let closient_data = Arc::new(closient_data);
        let medusa_data = Arc::new(medusa_data);
        let violet_data = Arc::new(violet_data);
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
        let mut closient = spec(
            "closient",
            &self.closient,
            closient::sim::demo_credentials(),
        );
        // Closient has no listing across organizations: the sync reads the
        // ones the demo key can view.
        closient.settings.sync.organizations = self
            .closient_data
            .organizations_visible_to(&closient.credentials)
            .iter()
            .map(|org| org.id.clone())
            .collect();
        vec![
            closient,
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

    /// The simulator called `name` (`closient`, `medusa` or `violet`).
    pub fn by_name(&self, name: &str) -> Option<&RunningSim> {
        match name {
            "closient" => Some(&self.closient),
            "medusa" => Some(&self.medusa),
            "violet" => Some(&self.violet),
            _ => None,
        }
    }

    /// Injects a fault into the simulator it names.
    pub fn inject(&self, spec: &fault::FaultSpec) {
        if let Some(sim) = self.by_name(&spec.upstream) {
            sim.control
                .inject(spec.endpoint.as_deref(), spec.fault.clone(), spec.first_n);
        }
    }

    /// Expires every Violet token and revokes every Medusa session, as if
    /// they had timed out: the next calls must renew them.
    pub fn expire_tokens(&self) {
        self.violet_data.expire_tokens();
        self.medusa_data.revoke_tokens();
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

    /// Undoes every offer added or removed at run time on all three
    /// simulators: they serve their generated catalogs again.
    pub fn reset_offers(&self) {
        self.closient_data.reset_offers();
        self.medusa_data.reset_offers();
        self.violet_data.reset_offers();
    }
}

#[cfg(test)]
mod tests {
    use axum::routing::get;

    use super::*;

    async fn hello() -> &'static str {
        "{\"hello\": \"world\"}"
    }

    async fn sim() -> RunningSim {
        serve(Router::new().route("/hello/{name}", get(hello)))
            .await
            .expect("bind")
    }

    #[tokio::test]
    async fn counts_requests_per_endpoint() {
        let sim = sim().await;
        let client = reqwest::Client::new();
        for name in ["a", "b"] {
            let url = sim.base_url.join(&format!("/hello/{name}")).unwrap();
            assert_eq!(client.get(url).send().await.unwrap().status(), 200);
        }
        assert_eq!(sim.control.count("GET /hello/{name}"), 2);
        assert_eq!(sim.control.total(), 2);
        sim.control.reset_counts();
        assert_eq!(sim.control.total(), 0);
    }

    #[tokio::test]
    async fn injected_faults_fail_the_first_n_calls_of_their_endpoint() {
        let sim = sim().await;
        let client = reqwest::Client::new();
        let url = sim.base_url.join("/hello/x").unwrap();
        sim.control
            .inject(Some("GET /hello/{name}"), Fault::Status(503), Some(2));
        sim.control.inject(Some("GET /other"), Fault::Hang, None);
        for _ in 0..2 {
            assert_eq!(client.get(url.clone()).send().await.unwrap().status(), 503);
        }
        assert_eq!(client.get(url.clone()).send().await.unwrap().status(), 200);
    }

    #[tokio::test]
    async fn each_fault_breaks_the_answer_its_own_way() {
        let sim = sim().await;
        let client = reqwest::Client::new();
        let url = sim.base_url.join("/hello/x").unwrap();
        let once = |fault| sim.control.inject(None, fault, Some(1));

        once(Fault::RateLimited {
            retry_after_secs: 3,
        });
        let response = client.get(url.clone()).send().await.unwrap();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "3");

        once(Fault::MalformedJson);
        let body = client
            .get(url.clone())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());

        once(Fault::WrongContentType);
        let response = client.get(url.clone()).send().await.unwrap();
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));

        once(Fault::RandomBytes { seed: 1 });
        let body = client
            .get(url.clone())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());

        once(Fault::TruncatedBody);
        let response = client.get(url.clone()).send().await.unwrap();
        assert!(response.bytes().await.is_err(), "the body breaks off");

        once(Fault::Reset);
        assert!(
            client.get(url.clone()).send().await.is_err(),
            "no answer at all"
        );

        once(Fault::Hang);
        let hung = client
            .get(url.clone())
            .timeout(Duration::from_millis(100))
            .send()
            .await;
        assert!(hung.unwrap_err().is_timeout());

        // The faults were used up: the endpoint answers again.
        assert_eq!(client.get(url).send().await.unwrap().status(), 200);
    }
}
