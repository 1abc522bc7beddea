//! What operators see: metrics, readiness, request ids, logs-facing
//! details, CORS, compression and graceful shutdown.

use crate::common;

use std::time::Duration;

use common::{offers_page_query, TestGateway};
use offer_gateway::sim::fault::Fault;
use serde_json::{json, Value};

fn base(gateway: &TestGateway) -> String {
    gateway.url.trim_end_matches("/graphql").to_owned()
}

#[tokio::test]
async fn metrics_count_requests_upstream_calls_cache_and_breakers() {
    // Repeated requests must reach the entity caches: no response cache.
    let gateway = TestGateway::start_with_options(
        |_| {},
        offer_gateway::GatewayOptions {
            response_cache: offer_gateway::ResponseCacheOptions {
                enabled: false,
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await;
    for _ in 0..3 {
        gateway.data(&offers_page_query(), Value::Null).await;
    }
    gateway
        .query("{ offer(id: \"junk\") { id } }", Value::Null)
        .await;
    let text = gateway.metrics_text().await;
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{prefix} not in:\n{text}"))
    };
    assert_eq!(
        value(r#"gateway_requests_total{operation="ProductPage",outcome="ok"}"#),
        3.0
    );
    assert_eq!(
        value(r#"gateway_requests_total{operation="anonymous",outcome="BAD_USER_INPUT"}"#),
        1.0
    );
    assert_eq!(
        value(r#"gateway_request_duration_seconds_count{operation="ProductPage",outcome="ok"}"#),
        3.0
    );
    // The first page fetched each offer once; the two others hit the cache.
    assert_eq!(
        value(r#"upstream_calls_total{upstream="closient",outcome="ok"}"#),
        5.0
    );
    assert_eq!(
        value(r#"cache_lookups_total{upstream="closient",result="hit"}"#),
        10.0
    );
    assert_eq!(
        value(r#"cache_lookups_total{upstream="closient",result="miss"}"#),
        5.0
    );
    assert!(
        value(r#"upstream_calls_total{upstream="medusa",outcome="ok"}"#) >= 2.0,
        "login and one batch"
    );
    assert_eq!(value(r#"cache_entries{upstream="closient"}"#), 5.0);
    assert!(value(r#"cache_bytes{upstream="closient"}"#) > 0.0);
    assert_eq!(value(r#"upstream_circuit_state{upstream="violet"}"#), 0.0);
    assert!(text.contains("upstream_call_duration_seconds_bucket"));
}

#[tokio::test]
async fn readiness_follows_the_circuit_breakers() {
    let gateway = TestGateway::start_with(|specs| {
        for spec in specs.iter_mut() {
            spec.settings.breaker.failure_threshold = 1;
            spec.settings.retry.max_attempts = 1;
        }
    })
    .await;
    let readyz = format!("{}/readyz", base(&gateway));
    assert_eq!(
        gateway.http.get(&readyz).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        gateway
            .http
            .get(format!("{}/healthz", base(&gateway)))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    for sim in [
        &gateway.sims.closient,
        &gateway.sims.medusa,
        &gateway.sims.violet,
    ] {
        sim.control.inject(None, Fault::Status(503), None);
    }
    let response = gateway.query(&offers_page_query(), Value::Null).await;
    assert!(response["errors"].as_array().is_some_and(|e| !e.is_empty()));
    let not_ready = gateway.http.get(&readyz).send().await.unwrap();
    assert_eq!(not_ready.status(), 503);
}

#[tokio::test]
async fn request_ids_are_echoed_and_sent_upstream() {
    let gateway = TestGateway::start().await;
    let response = gateway
        .http
        .post(&gateway.url)
        .header("x-request-id", "req-42")
        .json(&json!({ "query": offers_page_query() }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "req-42");
    let ids = gateway.sims.violet.control.request_ids();
    assert!(
        !ids.is_empty() && ids.iter().all(|id| id == "req-42"),
        "{ids:?}"
    );
    assert!(gateway
        .sims
        .closient
        .control
        .request_ids()
        .iter()
        .all(|id| id == "req-42"));

    let generated = gateway
        .http
        .post(&gateway.url)
        .json(&json!({ "query": "{ upstreams { name } }" }))
        .send()
        .await
        .unwrap();
    let id = generated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins_and_answers_compress() {
    let sims = offer_gateway::sim::Simulators::start_demo().await.unwrap();
    let gateway = offer_gateway::Gateway::build(
        sims.instance_specs(),
        offer_gateway::GatewayOptions {
            server: offer_gateway::ServerOptions {
                cors_allowed_origins: vec!["https://shop.example".into()],
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(offer_gateway::serve(listener, gateway.router(), async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        http.request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight("https://shop.example").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());

    let compressed = http
        .post(&url)
        .header("accept-encoding", "gzip")
        .json(&json!({ "query": offers_page_query() }))
        .send()
        .await
        .unwrap();
    assert_eq!(compressed.headers()["content-encoding"], "gzip");
    drop(stop);
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let sims = offer_gateway::sim::Simulators::start_demo().await.unwrap();
    sims.set_latency(Duration::from_millis(300));
    let gateway = offer_gateway::Gateway::build(sims.instance_specs(), Default::default())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(offer_gateway::serve_with_grace(
        listener,
        gateway.router(),
        async {
            let _ = stopped.await;
        },
        Duration::from_secs(5),
    ));
    let http = reqwest::Client::new();
    let in_flight = tokio::spawn({
        let http = http.clone();
        let url = url.clone();
        async move {
            http.post(&url)
                .json(&json!({ "query": offers_page_query() }))
                .send()
                .await
        }
    });
    // Let the request reach the gateway, then ask it to stop.
    while sims.total_requests() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.send(()).unwrap();
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
    assert!(
        http.post(&url)
            .json(&json!({ "query": "{ upstreams { name } }" }))
            .send()
            .await
            .is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn client_api_keys_guard_the_graphql_endpoint_only() {
    let gateway = TestGateway::start_keyed("mobile-app-key").await;
    let query = json!({ "query": "{ upstreams { name } }" });
    let missing = gateway
        .http
        .post(&gateway.url)
        .json(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let wrong = gateway
        .http
        .post(&gateway.url)
        .bearer_auth("guess")
        .json(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = gateway
        .http
        .post(&gateway.url)
        .bearer_auth("mobile-app-key")
        .json(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    let header = gateway
        .http
        .get(&gateway.url)
        .query(&[("query", "{ upstreams { name } }")])
        .header("x-api-key", "mobile-app-key")
        .send()
        .await
        .unwrap();
    assert_eq!(header.status(), 200);
    assert_eq!(
        gateway
            .http
            .get(format!("{}/healthz", base(&gateway)))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_repeated_document_is_parsed_and_checked_once() {
    let gateway = TestGateway::start().await;
    let metric = |text: &str, result: &str| -> f64 {
        let prefix = format!("document_cache_lookups_total{{result=\"{result}\"}}");
        text.lines()
            .find(|l| l.starts_with(&prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let metrics = || gateway.metrics_text();
    // Three times the same text, then another: one miss each, hits after.
    let first = gateway.data(&offers_page_query(), Value::Null).await;
    for _ in 0..2 {
        assert_eq!(gateway.data(&offers_page_query(), Value::Null).await, first);
    }
    gateway.data("{ upstreams { name } }", Value::Null).await;
    let text = metrics().await;
    assert_eq!(metric(&text, "miss"), 2.0, "{text}");
    assert_eq!(metric(&text, "hit"), 2.0, "{text}");

    // What depends on the request is still checked on a cached document:
    // the operation asked for.
    let wrong = gateway.query(&offers_page_query(), Value::Null).await;
    assert!(wrong["errors"].is_null(), "{wrong}");
    let response: Value = gateway
        .http
        .post(&gateway.url)
        .json(&json!({ "query": offers_page_query(), "operationName": "Nope" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        common::error_codes(&response),
        ["OPERATION_NOT_FOUND"],
        "{response}"
    );
    // A refused document is never kept: refused again, a miss each time.
    let deep = format!("{}name{}", "{ upstreams ".repeat(40), "}".repeat(40));
    for _ in 0..2 {
        let refused = gateway.query(&deep, Value::Null).await;
        assert_eq!(
            common::error_codes(&refused),
            ["LIMIT_EXCEEDED"],
            "{refused}"
        );
    }
    let text = metrics().await;
    assert_eq!(metric(&text, "miss"), 4.0, "{text}");
}
