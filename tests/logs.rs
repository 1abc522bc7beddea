//! What the gateway writes to its logs: the per-request log line, and no
//! secret ever. Alone in their test binary, one at a time ([`ALONE`]): a
//! thread-local log subscriber only sees every event when no other test
//! runs beside it.

#![cfg(feature = "sim")]
// Test helpers may unwrap: a failure is the test's failure.
#![allow(clippy::unwrap_used)]
// The shared test helpers are `pub` for the test modules that use them.
#![allow(unreachable_pub)]

#[path = "it/common/mod.rs"]
mod common;

use common::{offers_page_query, TestGateway};
use offer_gateway::sim::fault::Fault;
use offer_gateway::upstream::{closient, medusa, violet, Credentials};
use offer_gateway::{GlobalId, OfferKind, Secret};
use serde_json::{json, Value};

/// Held by each test for its whole run: the tests of this binary run one
/// at a time, so each one's log subscriber sees every event.
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

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
    let _alone = ALONE.lock().await;
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

fn secrets_of(credentials: &Credentials) -> Vec<String> {
    match credentials {
        Credentials::Closient(closient::Credentials { api_key }) => {
            vec![api_key.expose().to_owned()]
        }
        Credentials::Medusa(medusa::Credentials::Token(token)) => {
            vec![token.expose().to_owned()]
        }
        Credentials::Medusa(medusa::Credentials::EmailPassword { password, .. }) => {
            vec![password.expose().to_owned()]
        }
        Credentials::Violet(violet::Credentials {
            app_secret,
            password,
            ..
        }) => {
            vec![app_secret.expose().to_owned(), password.expose().to_owned()]
        }
    }
}

// One thread, so that the subscriber set for this test sees every task.
#[tokio::test(flavor = "current_thread")]
async fn secrets_never_reach_errors_or_logs() {
    let _alone = ALONE.lock().await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    const WRONG: &str = "SeCrEt-9f8e7d6c5b4a";
    // First with the demo credentials (logins, tokens, faults), then with
    // wrong ones that every upstream refuses.
    let mut secrets: Vec<String> = [
        closient::sim::demo_credentials(),
        medusa::sim::demo_credentials(),
        violet::sim::demo_credentials(),
    ]
    .iter()
    .flat_map(secrets_of)
    .collect();
    secrets.push(WRONG.to_owned());

    for wrong in [false, true] {
        let gateway = TestGateway::start_with(|specs| {
            for spec in specs.iter_mut() {
                spec.settings.retry.base_backoff = std::time::Duration::from_millis(1);
                if wrong {
                    spec.credentials = match &spec.credentials {
                        Credentials::Closient(closient::Credentials { .. }) => {
                            Credentials::Closient(closient::Credentials {
                                api_key: Secret::new(WRONG),
                            })
                        }
                        Credentials::Medusa(_) => {
                            Credentials::Medusa(medusa::Credentials::Token(Secret::new(WRONG)))
                        }
                        Credentials::Violet(violet::Credentials {
                            app_id, username, ..
                        }) => Credentials::Violet(violet::Credentials {
                            app_id: *app_id,
                            app_secret: Secret::new(WRONG),
                            username: username.clone(),
                            password: Secret::new(WRONG),
                        }),
                    };
                }
            }
        })
        .await;
        let sims = &gateway.sims;
        sims.violet_data.expire_tokens();
        sims.medusa
            .control
            .inject(None, Fault::Status(503), Some(1));
        sims.closient
            .control
            .inject(None, Fault::MalformedJson, Some(1));
        let ids = json!([
            GlobalId::encode(
                OfferKind::Online,
                "closient",
                &sims.closient_data.online_offers[0].id
            ),
            GlobalId::encode(
                OfferKind::Online,
                "closient",
                &sims.closient_data.online_offers[1].id
            ),
            GlobalId::encode(
                OfferKind::Marketplace,
                "medusa",
                &sims.medusa_data.offers[0].id
            ),
            GlobalId::encode(
                OfferKind::Marketplace,
                "violet",
                &sims.violet_data.offers[0].id.to_string()
            ),
        ]);
        let query = "query($ids: [ID!]!) { offers(ids: $ids) { id } }";
        for _ in 0..2 {
            let response = gateway
                .query(query, json!({ "ids": ids }))
                .await
                .to_string();
            for secret in &secrets {
                assert!(
                    !response.contains(secret.as_str()),
                    "a secret in a response: {response}"
                );
            }
            if wrong {
                assert!(response.contains("UPSTREAM_UNAUTHORIZED"), "{response}");
            }
        }
    }

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("upstream call failed"),
        "the failures were logged"
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret in the logs: {secret}"
        );
    }
}
