//! Prometheus metrics, served at `GET /metrics`.
//!
//! | metric | labels | what |
//! | --- | --- | --- |
//! | `gateway_requests_total` | operation, outcome | GraphQL requests |
//! | `gateway_request_duration_seconds` | operation, outcome | their latency |
//! | `upstream_calls_total` | upstream, outcome | HTTP calls to upstreams (each attempt) |
//! | `upstream_call_duration_seconds` | upstream | their latency |
//! | `cache_lookups_total` | upstream, result | cache hits and misses |
//! | `cache_entries`, `cache_bytes` | upstream | cache size |
//! | `upstream_circuit_state` | upstream | 0 closed, 1 half-open, 2 open |
//! | `document_cache_lookups_total` | result | parsed documents found or not |
//! | `response_cache_lookups_total` | result | whole answers found (`hit`) or not |
//! | `response_cache_skipped_total` | reason | answers not kept, and why |
//! | `response_cache_entries`, `response_cache_bytes` | | its size |
//!
//! `outcome` is `ok` or an error code (`UPSTREAM_TIMEOUT`, ...; for requests,
//! the first error's code). Operation names are the client's, restricted to
//! `[A-Za-z0-9_]`, at most 64 characters, and at most
//! [`MAX_OPERATION_NAMES`] distinct ones (later ones count as `other`), so
//! clients cannot blow up the label space. No label ever holds a secret.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Most distinct operation names kept as labels.
pub(crate) const MAX_OPERATION_NAMES: usize = 200;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    upstream: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    upstream: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SharedLabels {
    op: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    upstream: String,
    result: String,
}

fn latency_histogram() -> Histogram {
    // 1 ms to ~33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// The gateway's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: Family<RequestLabels, Histogram, fn() -> Histogram>,
    upstream_calls: Family<CallLabels, Counter>,
    upstream_duration: Family<UpstreamLabels, Histogram, fn() -> Histogram>,
    cache_lookups: Family<CacheLabels, Counter>,
    document_cache_lookups: Family<ResultLabels, Counter>,
    response_cache_lookups: Family<ResultLabels, Counter>,
    response_cache_skipped: Family<ReasonLabels, Counter>,
    response_cache_entries: Gauge,
    response_cache_bytes: Gauge,
    cache_entries: Family<UpstreamLabels, Gauge>,
    cache_bytes: Family<UpstreamLabels, Gauge>,
    circuit_state: Family<UpstreamLabels, Gauge>,
    catalog_offers: Family<UpstreamLabels, Gauge>,
    catalog_sync_requests: Family<UpstreamLabels, Gauge>,
    catalog_sync_errors: Family<UpstreamLabels, Gauge>,
    catalog_sync_full_passes: Family<UpstreamLabels, Gauge>,
    catalog_sync_last_full_pass: Family<UpstreamLabels, Gauge>,
    catalog_products: Gauge,
    catalog_index_bytes: Gauge,
    shared_operations: Family<SharedLabels, Counter>,
    shared_up: Gauge,
    operations: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let request_duration =
            Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram as fn() -> Histogram,
            );
        let upstream_calls = Family::<CallLabels, Counter>::default();
        let upstream_duration =
            Family::<UpstreamLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram as fn() -> Histogram,
            );
        let cache_lookups = Family::<CacheLabels, Counter>::default();
        let document_cache_lookups = Family::<ResultLabels, Counter>::default();
        registry.register(
            "document_cache_lookups",
            "Lookups of parsed, checked GraphQL documents by result (hit: neither parsed nor checked again)",
            document_cache_lookups.clone(),
        );
        let response_cache_lookups = Family::<ResultLabels, Counter>::default();
        registry.register(
            "response_cache_lookups",
            "Lookups of whole answers by result (hit: answered without executing)",
            response_cache_lookups.clone(),
        );
        let response_cache_skipped = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "response_cache_skipped",
            "Answers the response cache did not keep, by reason",
            response_cache_skipped.clone(),
        );
        let shared_operations = Family::<SharedLabels, Counter>::default();
        registry.register(
            "shared_tier_operations",
            "Operations on the shared tier (Redis) by operation and result (hit, miss, ok, wait; error, timeout, unavailable, skipped: the replica went on alone)",
            shared_operations.clone(),
        );
        let shared_up = Gauge::default();
        registry.register(
            "shared_tier_up",
            "1 when the last operation on the shared tier reached it; 0 when it did not, or there is no shared tier",
            shared_up.clone(),
        );
        let response_cache_entries = Gauge::default();
        registry.register(
            "response_cache_entries",
            "Answers in the response cache",
            response_cache_entries.clone(),
        );
        let response_cache_bytes = Gauge::default();
        registry.register(
            "response_cache_bytes",
            "Bytes of the answers in the response cache",
            response_cache_bytes.clone(),
        );
        let cache_entries = Family::<UpstreamLabels, Gauge>::default();
        let cache_bytes = Family::<UpstreamLabels, Gauge>::default();
        let circuit_state = Family::<UpstreamLabels, Gauge>::default();
        let catalog_offers = Family::<UpstreamLabels, Gauge>::default();
        let catalog_sync_requests = Family::<UpstreamLabels, Gauge>::default();
        let catalog_sync_errors = Family::<UpstreamLabels, Gauge>::default();
        let catalog_sync_full_passes = Family::<UpstreamLabels, Gauge>::default();
        let catalog_sync_last_full_pass = Family::<UpstreamLabels, Gauge>::default();
        let catalog_products = Gauge::default();
        let catalog_index_bytes = Gauge::default();
        for (name, help, family) in [
            (
                "catalog_offers",
                "Offers of each upstream instance in the catalog index",
                &catalog_offers,
            ),
            (
                "catalog_sync_requests",
                "Requests the catalog sync sent to each instance since start",
                &catalog_sync_requests,
            ),
            (
                "catalog_sync_errors",
                "Failed catalog sync requests or index writes since start",
                &catalog_sync_errors,
            ),
            (
                "catalog_sync_full_passes",
                "Full catalog sync passes since start",
                &catalog_sync_full_passes,
            ),
            (
                "catalog_sync_last_full_pass_timestamp_seconds",
                "Unix time the last full catalog sync pass ended (0: none since start)",
                &catalog_sync_last_full_pass,
            ),
        ] {
            registry.register(name, help, family.clone());
        }
        registry.register(
            "catalog_products",
            "Products (GTINs) in the catalog index",
            catalog_products.clone(),
        );
        registry.register(
            "catalog_index_bytes",
            "Size of the catalog index in its storage",
            catalog_index_bytes.clone(),
        );
        registry.register(
            "gateway_requests",
            "GraphQL requests by operation and outcome",
            requests.clone(),
        );
        registry.register(
            "gateway_request_duration_seconds",
            "GraphQL request latency by operation and outcome",
            request_duration.clone(),
        );
        registry.register(
            "upstream_calls",
            "HTTP calls to upstreams (each attempt) by outcome",
            upstream_calls.clone(),
        );
        registry.register(
            "upstream_call_duration_seconds",
            "Latency of HTTP calls to upstreams",
            upstream_duration.clone(),
        );
        registry.register(
            "cache_lookups",
            "Answer cache lookups by result (hit or miss)",
            cache_lookups.clone(),
        );
        registry.register(
            "cache_entries",
            "Entries in the answer cache",
            cache_entries.clone(),
        );
        registry.register(
            "cache_bytes",
            "Approximate bytes in the answer cache",
            cache_bytes.clone(),
        );
        registry.register(
            "upstream_circuit_state",
            "Circuit breaker state: 0 closed, 1 half-open, 2 open",
            circuit_state.clone(),
        );
        Metrics {
            registry,
            requests,
            request_duration,
            upstream_calls,
            upstream_duration,
            cache_lookups,
            document_cache_lookups,
            response_cache_lookups,
            response_cache_skipped,
            shared_operations,
            shared_up,
            response_cache_entries,
            response_cache_bytes,
            cache_entries,
            cache_bytes,
            circuit_state,
            catalog_offers,
            catalog_sync_requests,
            catalog_sync_errors,
            catalog_sync_full_passes,
            catalog_sync_last_full_pass,
            catalog_products,
            catalog_index_bytes,
            operations: Mutex::new(HashSet::new()),
        }
    }

    /// Records one GraphQL request.
    pub fn request(&self, operation: Option<&str>, outcome: &str, duration: Duration) {
        let labels = RequestLabels {
            operation: self.operation_label(operation),
            outcome: outcome.to_owned(),
        };
        self.requests.get_or_create(&labels).inc();
        self.request_duration
            .get_or_create(&labels)
            .observe(duration.as_secs_f64());
    }

    /// Records one HTTP call to `upstream`.
    pub fn upstream_call(&self, upstream: &str, outcome: &str, duration: Duration) {
        self.upstream_calls
            .get_or_create(&CallLabels {
                upstream: upstream.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
        self.upstream_duration
            .get_or_create(&UpstreamLabels {
                upstream: upstream.to_owned(),
            })
            .observe(duration.as_secs_f64());
    }

    /// Records one lookup of the document cache.
    pub fn document_lookup(&self, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.document_cache_lookups
            .get_or_create(&ResultLabels {
                result: result.to_owned(),
            })
            .inc();
    }

    /// Records one operation on the shared tier and its result.
    pub(crate) fn shared_operation(&self, op: &str, result: &str) {
        self.shared_operations
            .get_or_create(&SharedLabels {
                op: op.to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }

    /// Whether the shared tier answered its last operation.
    pub(crate) fn shared_up(&self, up: bool) {
        self.shared_up.set(i64::from(up));
    }

    /// Records one lookup of the response cache.
    pub(crate) fn response_lookup(&self, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.response_cache_lookups
            .get_or_create(&ResultLabels {
                result: result.to_owned(),
            })
            .inc();
    }

    /// Records an answer the response cache did not keep, and why.
    pub(crate) fn response_skipped(&self, reason: &str) {
        self.response_cache_skipped
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Records the size of the response cache.
    pub(crate) fn response_cache_size(&self, entries: u64, bytes: u64) {
        self.response_cache_entries
            .set(i64::try_from(entries).unwrap_or(i64::MAX));
        self.response_cache_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// Records cache lookups of `upstream`.
    pub fn cache_lookups(&self, upstream: &str, hits: u64, misses: u64) {
        for (result, n) in [("hit", hits), ("miss", misses)] {
            if n > 0 {
                self.cache_lookups
                    .get_or_create(&CacheLabels {
                        upstream: upstream.to_owned(),
                        result: result.to_owned(),
                    })
                    .inc_by(n);
            }
        }
    }

    /// Sets the gauges of one upstream (at scrape time).
    pub fn upstream_state(&self, upstream: &str, entries: u64, bytes: u64, circuit: i64) {
        let labels = UpstreamLabels {
            upstream: upstream.to_owned(),
        };
        self.cache_entries
            .get_or_create(&labels)
            .set(entries as i64);
        self.cache_bytes.get_or_create(&labels).set(bytes as i64);
        self.circuit_state.get_or_create(&labels).set(circuit);
    }

    /// Sets the catalog sync gauges of one upstream (at scrape time):
    /// offers indexed, sync requests, errors, full passes and the Unix time
    /// of the last full pass.
    pub fn catalog_sync(
        &self,
        upstream: &str,
        offers: u64,
        requests: u64,
        errors: u64,
        full_passes: u64,
        last_full_pass_unix: u64,
    ) {
        let labels = UpstreamLabels {
            upstream: upstream.to_owned(),
        };
        let set = |family: &Family<UpstreamLabels, Gauge>, value: u64| {
            family
                .get_or_create(&labels)
                .set(i64::try_from(value).unwrap_or(i64::MAX));
        };
        set(&self.catalog_offers, offers);
        set(&self.catalog_sync_requests, requests);
        set(&self.catalog_sync_errors, errors);
        set(&self.catalog_sync_full_passes, full_passes);
        set(&self.catalog_sync_last_full_pass, last_full_pass_unix);
    }

    /// Sets the catalog index gauges (at scrape time).
    pub fn catalog_index(&self, products: u64, bytes: u64) {
        self.catalog_products
            .set(i64::try_from(products).unwrap_or(i64::MAX));
        self.catalog_index_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(err) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(cause = %err, "cannot encode metrics");
        }
        text
    }

    fn operation_label(&self, operation: Option<&str>) -> String {
        let Some(name) = operation else {
            return "anonymous".to_owned();
        };
        let clean: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        if clean.is_empty() {
            return "anonymous".to_owned();
        }
        let mut seen = self.operations.lock().expect("operations lock poisoned");
        if seen.contains(&clean) || seen.len() < MAX_OPERATION_NAMES {
            seen.insert(clean.clone());
            clean
        } else {
            "other".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_with_their_labels() {
        let metrics = Metrics::new();
        metrics.request(Some("ProductPage"), "ok", Duration::from_millis(12));
        metrics.upstream_call("medusa", "UPSTREAM_TIMEOUT", Duration::from_secs(5));
        metrics.cache_lookups("violet", 3, 1);
        metrics.upstream_state("violet", 10, 2048, 0);
        let text = metrics.render();
        for line in [
            r#"gateway_requests_total{operation="ProductPage",outcome="ok"} 1"#,
            r#"upstream_calls_total{upstream="medusa",outcome="UPSTREAM_TIMEOUT"} 1"#,
            r#"cache_lookups_total{upstream="violet",result="hit"} 3"#,
            r#"cache_lookups_total{upstream="violet",result="miss"} 1"#,
            r#"cache_entries{upstream="violet"} 10"#,
            r#"upstream_circuit_state{upstream="violet"} 0"#,
        ] {
            assert!(text.contains(line), "{line} not in:\n{text}");
        }
    }

    #[test]
    fn operation_names_cannot_blow_up_the_label_space() {
        let metrics = Metrics::new();
        assert_eq!(metrics.operation_label(Some("a-b c!")), "abc");
        assert_eq!(metrics.operation_label(None), "anonymous");
        for i in 0..MAX_OPERATION_NAMES {
            metrics.operation_label(Some(&format!("Op{i}")));
        }
        assert_eq!(metrics.operation_label(Some("OneMore")), "other");
        assert_eq!(metrics.operation_label(Some("Op7")), "Op7");
    }
}
