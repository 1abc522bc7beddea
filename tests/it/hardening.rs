//! Hostile requests: none crashes, stalls or misleads the gateway. Each
//! refusal is a coded GraphQL error, answered quickly, while other clients
//! keep being served. The corpus test runs the real binary (the demo over
//! its simulators) and watches the process itself: it stays up, and its
//! memory stays bounded.

use crate::common;

use std::time::{Duration, Instant};

use crate::child::ChildGuard;
use common::TestGateway;
use reqwest::header::{ACCEPT, ALLOW, CACHE_CONTROL, CONTENT_TYPE, VARY};
use reqwest::StatusCode;
use serde_json::{json, Value};

const GQL: &str = "application/graphql-response+json";

/// `fragment F1 on Query { ...F0 ...F0 }` ... `F<levels>`, then `{ ...F<levels> }`.
fn doubling_fragments(levels: usize) -> String {
    let mut query = format!("{{ ...F{levels} }} fragment F0 on Query {{ __typename }}");
    for i in 1..=levels {
        query.push_str(&format!(
            " fragment F{i} on Query {{ ...F{} ...F{} }}",
            i - 1,
            i - 1
        ));
    }
    query
}

/// The same fragments, on `Upstream`, spread under `upstreams`.
fn under_upstreams(fragments: String, levels: usize) -> String {
    fragments.replace(" on Query ", " on Upstream ").replacen(
        &format!("{{ ...F{levels} }}"),
        &format!("{{ upstreams {{ ...F{levels} }} }}"),
        1,
    )
}

/// The corpus of hostile documents of the hardening issue, with the limit
/// each must be refused by.
fn hostile_documents() -> Vec<(&'static str, String, &'static str)> {
    let n = 3000;
    let open = |s: &str| s.repeat(n);
    vec![
        (
            "nested list argument",
            format!("{{ offers(ids: {}{}) {{ id }} }}", open("["), open("]")),
            "max_nesting",
        ),
        (
            "nested object argument",
            format!("{{ offers(ids: {}1{}) {{ id }} }}", open("{a: "), open("}")),
            "max_nesting",
        ),
        (
            "nested variable default",
            format!(
                "query Q($ids: [ID!]! = {}{}) {{ offers(ids: $ids) {{ id }} }}",
                open("["),
                open("]")
            ),
            "max_nesting",
        ),
        (
            "nested directive argument",
            format!(
                "{{ upstreams @include(if: {}true{}) {{ name }} }}",
                open("["),
                open("]")
            ),
            "max_nesting",
        ),
        (
            "nested selections",
            format!("{}name{}", open("{ upstreams "), open("}")),
            "max_nesting",
        ),
        (
            "26 levels of doubling fragments",
            doubling_fragments(26),
            "max_root_fields",
        ),
        (
            "28 levels of doubling fragments",
            doubling_fragments(28),
            "max_root_fields",
        ),
        (
            "doubling fragments under a field",
            under_upstreams(doubling_fragments(28), 28),
            "max_complexity",
        ),
    ]
}

async fn post_json(http: &reqwest::Client, url: &str, body: &Value) -> (StatusCode, Value) {
    let response = http
        .post(url)
        .header(ACCEPT, GQL)
        .json(body)
        .send()
        .await
        .expect("the gateway answers");
    let status = response.status();
    (status, response.json().await.expect("a JSON body"))
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("(no code)")
}

/// Resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("a live process");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[tokio::test]
async fn the_process_survives_the_hostile_corpus_with_bounded_memory() {
    let data_dir = tempfile::tempdir().expect("a temporary directory");
    let mut gateway = ChildGuard::spawn(
        std::process::Command::new(env!("CARGO_BIN_EXE_offer-gateway"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir.path())
            .env("RUST_LOG", "error"),
    );
    let (_, line) = gateway.read_until(|line| line.starts_with("offer-gateway listening"));
    let url = line
        .rsplit(' ')
        .next()
        .expect("the URL ends the line")
        .to_owned();
    let healthz = url.replace("/graphql", "/healthz");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("a client");

    for (what, query, limit) in hostile_documents() {
        let started = Instant::now();
        let (status, body) = post_json(&http, &url, &json!({ "query": query })).await;
        eprintln!(
            "{what}: {} KB refused in {:?}",
            query.len() / 1024,
            started.elapsed()
        );
        // A bound against hangs, not a benchmark: the figures are printed.
        assert!(started.elapsed() < Duration::from_secs(5), "{what}");
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        assert_eq!(code(&body), "LIMIT_EXCEEDED", "{what}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["limit"], limit, "{what}");
        assert!(
            body.get("data").is_none(),
            "{what}: a request error has no data"
        );
        assert!(gateway.is_running(), "{what} killed the process");
    }

    // The heaviest documents the limits let through still cost little.
    let heavy = [
        (
            "4,900 repeated fields",
            format!("{{ upstreams {{ {} }} }}", "name ".repeat(4900)),
        ),
        (
            "9 levels of doubling fragments under a field",
            under_upstreams(doubling_fragments(9), 9),
        ),
        (
            "a 250 KB document, mostly a comment",
            format!("{{ upstreams {{ name }} }} #{}\n", "x".repeat(250 * 1024)),
        ),
    ];
    for (what, query) in heavy {
        let started = Instant::now();
        let (status, body) = post_json(&http, &url, &json!({ "query": query })).await;
        eprintln!(
            "{what}: {} KB answered in {:?}",
            query.len() / 1024,
            started.elapsed()
        );
        assert_eq!(status, StatusCode::OK, "{what}: {body}");
        assert!(body.get("errors").is_none(), "{what}: {body}");
    }

    // Two expensive documents at once do not keep another client waiting.
    let slow = under_upstreams(doubling_fragments(28), 28);
    let body = json!({ "query": slow });
    let (a, b, health) = tokio::join!(
        post_json(&http, &url, &body),
        post_json(&http, &url, &body),
        async {
            let started = Instant::now();
            let status = http.get(&healthz).send().await.expect("healthz").status();
            (status, started.elapsed())
        }
    );
    assert_eq!(code(&a.1), "LIMIT_EXCEEDED");
    assert_eq!(code(&b.1), "LIMIT_EXCEEDED");
    assert_eq!(health.0, StatusCode::OK);
    eprintln!("healthz beside two hostile documents: {:?}", health.1);

    // Persisted queries: hundreds of large registrations keep the store
    // (and the process) within its byte bound.
    let before = rss_kib(gateway.id());
    let padding = "#".repeat(240 * 1024);
    for i in 0..300 {
        let query = format!("{{ upstreams {{ name }} }} {padding}{i}\n");
        let hash = offer_gateway::sha256_hex(&query);
        let (status, body) = post_json(
            &http,
            &url,
            &json!({ "query": query, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let grown_mib = rss_kib(gateway.id()).saturating_sub(before) / 1024;
    eprintln!("300 persisted queries of 240 KB grew the process by {grown_mib} MiB");
    assert!(
        grown_mib < 48,
        "72 MB of registered queries grew the process by {grown_mib} MiB"
    );
    assert_eq!(
        http.get(&healthz).send().await.expect("healthz").status(),
        StatusCode::OK
    );
    assert!(gateway.is_running());
}

#[tokio::test]
async fn refused_documents_are_never_remembered_as_persisted_queries() {
    let gateway = TestGateway::start().await;
    for query in [
        "{ upstreams { name ".to_owned(),
        format!(
            "{{ offers(ids: {}{}) {{ id }} }}",
            "[".repeat(100),
            "]".repeat(100)
        ),
        doubling_fragments(20),
    ] {
        let hash = offer_gateway::sha256_hex(&query);
        let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
        let (_, refused) = post_json(
            &gateway.http,
            &gateway.url,
            &json!({ "query": query, "extensions": extensions }),
        )
        .await;
        assert_ne!(code(&refused), "(no code)");
        let (status, body) = post_json(
            &gateway.http,
            &gateway.url,
            &json!({ "extensions": extensions }),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND", "{query:.40}");
    }
}

/// Every stage's refusal, with the code, status and media type it answers.
#[tokio::test]
async fn every_refusal_is_a_coded_graphql_error_in_the_answers_media_type() {
    use offer_gateway::Limits;

    let gateway = TestGateway::start_with_limits(Limits {
        max_body_bytes: 4096,
        ..Limits::default()
    })
    .await;
    let medusa_cursor = crate::common::cursor(u64::MAX - 1);
    let cases: Vec<(&str, Value, StatusCode, &str)> = vec![
        (
            "parse",
            json!({ "query": "{ upstreams { name " }),
            StatusCode::BAD_REQUEST,
            "GRAPHQL_PARSE_FAILED",
        ),
        (
            "validation",
            json!({ "query": "{ nope }" }),
            StatusCode::BAD_REQUEST,
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "a fragment cycle",
            json!({ "query": "{ ...A } fragment A on Query { upstreams { name } ...A }" }),
            StatusCode::BAD_REQUEST,
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "an unknown operation",
            json!({ "query": "query A { upstreams { name } }", "operationName": "B" }),
            StatusCode::BAD_REQUEST,
            "OPERATION_NOT_FOUND",
        ),
        (
            "several operations and no name",
            json!({ "query": "query A { upstreams { name } } query B { upstreams { kind } }" }),
            StatusCode::BAD_REQUEST,
            "OPERATION_NOT_FOUND",
        ),
        (
            "no query",
            json!({ "variables": {} }),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            "a body over max_body_bytes",
            json!({ "query": format!("{{ upstreams {{ name }} }} #{}", "x".repeat(5000)) }),
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
        ),
    ];
    for (what, body, status, expected) in cases {
        let (got, answer) = post_json(&gateway.http, &gateway.url, &body).await;
        assert_eq!((got, code(&answer)), (status, expected), "{what}: {answer}");
        assert!(answer.get("data").is_none(), "{what}: {answer}");
        assert!(answer["errors"][0]["message"].is_string(), "{what}");
    }

    // Argument values the field cannot take: the field's error, coded.
    let answer = gateway
        .query(
            "{ marketplaceOffers(upstream: \"medusa\", first: 2147483648) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
    assert_eq!(answer["errors"][0]["path"], json!(["marketplaceOffers"]));

    // A cursor past any listing is the client's mistake, not the gateway's.
    let answer = gateway
        .query(
            "query($after: String) { marketplaceOffers(upstream: \"medusa\", first: 1, after: $after) { totalCount } }",
            json!({ "after": medusa_cursor }),
        )
        .await;
    assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
    assert_eq!(answer["data"]["marketplaceOffers"], Value::Null);

    // Other methods: 405 with `Allow`, GraphQL-shaped.
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let response = gateway
            .http
            .request(method.clone(), &gateway.url)
            .header(ACCEPT, GQL)
            .send()
            .await
            .expect("answers");
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
        assert_eq!(response.headers()[ALLOW], "GET, POST");
        assert!(response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with(GQL));
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(code(&body), "METHOD_NOT_ALLOWED", "{method}");
    }
}

#[tokio::test]
async fn unusable_request_ids_are_replaced() {
    let gateway = TestGateway::start().await;
    for (sent, kept) in [
        ("a".repeat(100 * 1024), false),
        ("bad id with spaces".to_owned(), false),
        ("req-01HZX:retry/2".to_owned(), true),
    ] {
        let response = gateway
            .http
            .post(&gateway.url)
            .header("x-request-id", &sent)
            .json(&json!({ "query": "{ upstreams { name } }" }))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), StatusCode::OK);
        let echoed = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(echoed == sent, kept, "{:.40}", sent);
        assert!(!echoed.is_empty() && echoed.len() <= 128);
    }
}

/// GETs a persisted query (registering it on the way) with `headers`;
/// returns the status, `Cache-Control` and `Vary`.
async fn persisted_get(gateway: &TestGateway, headers: &[(&str, &str)]) -> (u16, String, String) {
    let query = "{ upstreams { name } }";
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": offer_gateway::sha256_hex(query) } });
    let mut request = gateway
        .http
        .get(&gateway.url)
        .query(&[("query", query), ("extensions", &extensions.to_string())]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("answers");
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    (
        response.status().as_u16(),
        header(CACHE_CONTROL),
        header(VARY),
    )
}

#[tokio::test]
async fn answers_that_depend_on_credentials_are_never_publicly_cacheable() {
    // Anonymous: public, and shared caches told which headers change it.
    let gateway = TestGateway::start_with(|specs| specs[0].settings.pass_through = true).await;
    let (status, cache, vary) = persisted_get(&gateway, &[]).await;
    assert_eq!(status, 200);
    assert!(cache.starts_with("public, max-age="), "{cache}");
    assert_eq!(vary, "x-upstream-credential-closient");
    // With a pass-through credential: private.
    let (status, cache, _) = persisted_get(
        &gateway,
        &[("x-upstream-credential-closient", "csb_someone_else")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(cache.starts_with("private, max-age="), "{cache}");

    // Client API keys: every answer is the keyed client's alone.
    let keyed = TestGateway::start_keyed("mobile-app-key").await;
    let (status, cache, vary) =
        persisted_get(&keyed, &[("authorization", "Bearer mobile-app-key")]).await;
    assert_eq!(status, 200);
    assert!(cache.starts_with("private, max-age="), "{cache}");
    assert_eq!(vary, "authorization, x-api-key");
    let (status, cache, _) = persisted_get(&keyed, &[("accept", GQL)]).await;
    assert_eq!(status, 401);
    assert_eq!(cache, "no-store");
}

#[tokio::test]
async fn a_missing_key_is_refused_in_the_media_type_asked_for() {
    let keyed = TestGateway::start_keyed("k").await;
    let response = keyed
        .http
        .post(&keyed.url)
        .header(ACCEPT, GQL)
        .json(&json!({ "query": "{ upstreams { name } }" }))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with(GQL));
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(code(&body), "UNAUTHENTICATED");
}

/// The README's error table lists exactly the codes the gateway can send.
#[test]
fn the_readme_lists_every_error_code() {
    use offer_gateway::error::ErrorCode;
    use std::collections::BTreeSet;

    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let section = readme
        .split("### Errors and partial answers")
        .nth(1)
        .expect("the README has an errors section");
    let listed: BTreeSet<&str> = section
        .lines()
        .take_while(|line| !line.starts_with("## "))
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .collect();
    let codes: BTreeSet<&str> = ErrorCode::all().map(ErrorCode::as_str).collect();
    assert_eq!(listed, codes);
}

/// Generated documents: deep, wide, fragment-heavy, made of random
/// GraphQL tokens, or random bytes. Each gets an answer with `data` or
/// coded errors, never a panic, a crash or a hang, on a runtime whose
/// workers have the stack a production worker has.
mod generated_documents {
    use std::sync::OnceLock;

    use axum::body::Body;
    use axum::http::Request;
    use offer_gateway::error::ErrorCode;
    use proptest::prelude::*;
    use serde_json::{json, Value};
    use tower::ServiceExt;

    /// One runtime and gateway for every case: two workers with tokio's
    /// default 2 MiB stacks, as in production.
    fn harness() -> &'static (tokio::runtime::Runtime, axum::Router) {
        static HARNESS: OnceLock<(tokio::runtime::Runtime, axum::Router)> = OnceLock::new();
        HARNESS.get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            let router = runtime.block_on(async {
                let sims = offer_gateway::sim::Simulators::start_demo()
                    .await
                    .expect("simulators start");
                let mut specs = sims.instance_specs();
                for spec in &mut specs {
                    spec.settings.sync.enabled = false;
                }
                // The simulators live as long as the test binary.
                std::mem::forget(sims);
                offer_gateway::Gateway::build(specs, offer_gateway::GatewayOptions::default())
                    .await
                    .expect("the gateway builds")
                    .router()
            });
            (runtime, router)
        })
    }

    /// Sends `body` (raw bytes) to `/graphql` and checks the answer's shape.
    fn check_answer(body: Vec<u8>) -> Result<(), TestCaseError> {
        let (runtime, router) = harness();
        let router = router.clone();
        let (status, answer) = runtime.block_on(async move {
            let request = Request::post("/graphql")
                .header("content-type", "application/json")
                .header("accept", "application/graphql-response+json")
                .body(Body::from(body))
                .expect("a request");
            let response =
                tokio::time::timeout(std::time::Duration::from_secs(30), router.oneshot(request))
                    .await
                    .expect("answers within 30 s")
                    .expect("infallible");
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("a body");
            (status, bytes)
        });
        let answer: Value = serde_json::from_slice(&answer)
            .map_err(|err| TestCaseError::fail(format!("HTTP {status}: not JSON: {err}")))?;
        let errors = answer["errors"].as_array().cloned().unwrap_or_default();
        prop_assert!(
            answer.get("data").is_some() || !errors.is_empty(),
            "HTTP {status}: neither data nor errors: {answer}"
        );
        for error in &errors {
            let code = error["extensions"]["code"].as_str().unwrap_or("");
            prop_assert!(
                ErrorCode::parse(code).is_some(),
                "HTTP {status}: an error without a known code: {error}"
            );
        }
        Ok(())
    }

    fn query(text: String) -> Vec<u8> {
        json!({ "query": text }).to_string().into_bytes()
    }

    /// GraphQL tokens, valid and not, to build documents from.
    fn token() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            "(",
            ")",
            "...",
            "F",
            "G",
            "on",
            "Query",
            "fragment",
            "query",
            "mutation",
            "$v",
            ":",
            "=",
            "@include(if: true)",
            "@skip(if: $v)",
            "upstreams",
            "name",
            "kind",
            "offers",
            "ids",
            "offer",
            "id",
            "__typename",
            "\"s\"",
            "\"\"\"b\"\"\"",
            "1",
            "-2147483649",
            "1e400",
            "null",
            "true",
            ",",
            "#c\n",
            "a:",
            "b:",
            "first:",
            "onlineOffers",
            "organizationId:",
            "edges",
            "node",
            "Int",
            "[ID!]!",
            "!",
            "\\",
            "\u{0}",
            "é",
        ])
    }

    /// A valid document (when within the limits) with nested inline
    /// fragments, fragments spreading each other and nested list values.
    fn structured() -> impl Strategy<Value = String> {
        (0usize..70, 0usize..16, 1usize..3, 0usize..3).prop_map(
            |(depth, fragments, fanout, nesting)| {
                let mut text = format!(
                    "{{ {}upstreams {{ name }} ",
                    "... on Query { ".repeat(depth)
                );
                if fragments > 0 {
                    text.push_str(&format!("...F{fragments} "));
                }
                text.push_str(&format!(
                    "offers(ids: {}\"x\"{}) {{ id }} {}}}",
                    "[".repeat(nesting),
                    "]".repeat(nesting),
                    "}".repeat(depth)
                ));
                text.push_str(" fragment F0 on Query { __typename }");
                for i in 1..=fragments {
                    let spreads = format!("...F{} ", i - 1).repeat(fanout);
                    text.push_str(&format!(" fragment F{i} on Query {{ {spreads}}}"));
                }
                text
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn token_soup_gets_an_answer(tokens in prop::collection::vec(token(), 0..400)) {
            check_answer(query(tokens.join(" ")))?;
        }

        #[test]
        fn structured_documents_get_an_answer(text in structured()) {
            check_answer(query(text))?;
        }

        #[test]
        fn random_bodies_get_an_answer(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
            check_answer(bytes)?;
        }

        #[test]
        fn random_text_queries_get_an_answer(text in ".{0,2000}") {
            check_answer(query(text))?;
        }

        #[test]
        fn deep_variables_get_an_answer(depth in 1usize..400) {
            let variables = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
            let body = format!(
                "{{\"query\": \"query($ids: [ID!]!) {{ offers(ids: $ids) {{ id }} }}\", \"variables\": {{\"ids\": {variables}}}}}"
            );
            check_answer(body.into_bytes())?;
        }
    }
}
