//! The per-request log line. Alone in its test binary: a thread-local
//! log subscriber only sees every event when no other test runs beside it.

#![cfg(feature = "sim")]
// Test helpers may unwrap: a failure is the test's failure.
#![allow(clippy::unwrap_used)]
// The shared test helpers are `pub` for the test modules that use them.
#![allow(unreachable_pub)]

#[path = "it/common/mod.rs"]
mod common;

use common::{offers_page_query, TestGateway};
use serde_json::{json, Value};

/// Collects what the log subscriber writes.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// One thread, so that the subscriber set for this test sees every task.
#[tokio::test(flavor = "current_thread")]
async fn each_request_writes_one_structured_log_line() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let gateway = TestGateway::start().await;
    gateway
        .http
        .post(&gateway.url)
        .header("x-request-id", "log-me")
        .json(&json!({ "query": offers_page_query() }))
        .send()
        .await
        .unwrap();
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["fields"]["message"] == "graphql request")
        .collect();
    assert_eq!(lines.len(), 1, "{logs}");
    let fields = &lines[0]["fields"];
    assert_eq!(fields["request_id"], "log-me");
    assert_eq!(fields["operation"], "ProductPage");
    assert_eq!(fields["outcome"], "ok");
    assert_eq!(fields["errors"], 0);
    assert_eq!(fields["status"], 200);
    assert!(fields["duration_ms"].as_f64().is_some());
    // Closient 5, Medusa login + 1 batch, Violet login + 1.
    assert_eq!(fields["upstream_calls"], 9, "{fields}");
}
