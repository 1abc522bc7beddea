//! The GraphQL-over-HTTP specification's rules, one test each, over real
//! HTTP against the demo setup.

use crate::common;

use common::TestGateway;
use reqwest::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::{json, Value};

const GQL: &str = "application/graphql-response+json";

/// Sends `request` with `accept`; returns the status, the media type (or
/// `allow=<methods>` when the answer has an `Allow` header) and the body.
async fn send(
    request: reqwest::RequestBuilder,
    accept: Option<&str>,
) -> (StatusCode, String, Value) {
    let request = match accept {
        Some(accept) => request.header(ACCEPT, accept),
        None => request,
    };
    let response = request.send().await.expect("answers");
    let status = response.status();
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_owned())
    };
    let media = match header(ALLOW) {
        Some(allow) => format!("allow={allow}"),
        None => header(CONTENT_TYPE).unwrap_or_default(),
    };
    let body = response.json().await.unwrap_or(Value::Null);
    (status, media, body)
}

async fn post(
    gateway: &TestGateway,
    accept: Option<&str>,
    content_type: &str,
    body: &str,
) -> (StatusCode, String, Value) {
    let request = gateway
        .http
        .post(&gateway.url)
        .header(CONTENT_TYPE, content_type)
        .body(body.to_owned());
    send(request, accept).await
}

async fn get(
    gateway: &TestGateway,
    accept: Option<&str>,
    query: &[(&str, &str)],
) -> (StatusCode, String, Value) {
    send(gateway.http.get(&gateway.url).query(query), accept).await
}

const OK_QUERY: &str = r#"{"query": "{ upstreams { name } }"}"#;

#[tokio::test]
async fn post_json_answers_in_the_media_type_the_client_prefers() {
    let gateway = TestGateway::start().await;
    // MUST: accept application/json POST bodies.
    let (status, media, body) = post(&gateway, Some(GQL), "application/json", OK_QUERY).await;
    assert_eq!(
        (status, media.as_str()),
        (
            StatusCode::OK,
            "application/graphql-response+json; charset=utf-8"
        )
    );
    assert_eq!(body["data"]["upstreams"].as_array().unwrap().len(), 3);
    // The legacy type when asked for it, and when no Accept is sent.
    let (_, media, _) = post(
        &gateway,
        Some("application/json"),
        "application/json",
        OK_QUERY,
    )
    .await;
    assert_eq!(media, "application/json; charset=utf-8");
    let (_, media, _) = post(
        &gateway,
        Some(""),
        "application/json; charset=utf-8",
        OK_QUERY,
    )
    .await;
    assert_eq!(media, "application/json; charset=utf-8");
    let (_, media, _) = post(&gateway, Some("*/*"), "application/json", OK_QUERY).await;
    assert_eq!(
        media, "application/json; charset=utf-8",
        "wildcards get the legacy type"
    );
    // Both accepted: the specification's type wins at equal quality.
    let (_, media, _) = post(
        &gateway,
        Some("application/json, application/graphql-response+json"),
        "application/json",
        OK_QUERY,
    )
    .await;
    assert!(media.starts_with(GQL));
}

#[tokio::test]
async fn unacceptable_accept_is_406_and_unsupported_content_type_is_415() {
    let gateway = TestGateway::start().await;
    let (status, _, body) = post(&gateway, Some("text/plain"), "application/json", OK_QUERY).await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_ACCEPTABLE");
    let (status, _, body) = post(&gateway, Some(GQL), "text/plain", OK_QUERY).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "UNSUPPORTED_MEDIA_TYPE"
    );
    let (status, _, _) = post(
        &gateway,
        Some(GQL),
        "application/graphql",
        "{ upstreams { name } }",
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn malformed_requests_are_400_whatever_the_media_type() {
    let gateway = TestGateway::start().await;
    for accept in [GQL, "application/json"] {
        for (body, why) in [
            ("{not json", "the body is not JSON"),
            ("[1, 2]", "the body must be a JSON object"),
            (r#"{"query": 42}"#, "`query` must be a string"),
            (
                r#"{"query": "{ upstreams { name } }", "variables": [1]}"#,
                "`variables` must be an object",
            ),
            (
                r#"{"query": "{ upstreams { name } }", "operationName": 7}"#,
                "`operationName` must be a string",
            ),
            (r#"{"variables": {}}"#, "the request has no `query`"),
        ] {
            let (status, _, response) =
                post(&gateway, Some(accept), "application/json", body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{accept} {body}");
            let message = response["errors"][0]["message"].as_str().unwrap();
            assert!(message.starts_with(why), "{body}: {message}");
        }
    }
}

#[tokio::test]
async fn parse_and_validation_failures_are_400_only_for_the_graphql_response_type() {
    let gateway = TestGateway::start().await;
    for (query, expect) in [
        (r#"{"query": "{ upstreams { name "}"#, "parse"),
        (r#"{"query": "{ noSuchField }"}"#, "validation"),
        (
            r#"{"query": "query($x: Int!) { upstreams { name } }"}"#,
            "missing variable",
        ),
    ] {
        let (status, _, body) = post(&gateway, Some(GQL), "application/json", query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{expect}");
        assert!(
            body.get("data").is_none() || body["data"].is_null(),
            "{expect}: {body}"
        );
        assert!(
            body["errors"].as_array().is_some_and(|e| !e.is_empty()),
            "{expect}"
        );
        let (status, _, _) = post(
            &gateway,
            Some("application/json"),
            "application/json",
            query,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "legacy media type: {expect}");
    }
    // A response with data is 200 even with field errors.
    let (status, _, body) = post(
        &gateway,
        Some(GQL),
        "application/json",
        r#"{"query": "{ offer(id: \"garbage\") { id } }"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"], json!({ "offer": null }));
}

#[tokio::test]
async fn get_runs_queries_and_refuses_mutations() {
    let gateway = TestGateway::start().await;
    let (status, media, body) = get(
        &gateway,
        Some(GQL),
        &[
            ("query", "query Q($n: Int) { marketplaceOffers(upstream: \"violet\", first: $n) { nodes { id } } }"),
            ("operationName", "Q"),
            ("variables", r#"{"n": 2}"#),
            ("extensions", "{}"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(media.starts_with(GQL));
    assert_eq!(
        body["data"]["marketplaceOffers"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (status, allow, _) = get(
        &gateway,
        Some(GQL),
        &[("query", "mutation { upstreams { name } }")],
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(allow, "allow=POST");
    let (status, _, _) = get(
        &gateway,
        Some(GQL),
        &[("query", "{ upstreams { name } }"), ("variables", "[]")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn limits_refuse_queries_naming_the_limit_and_its_value() {
    let gateway = TestGateway::start().await;
    let aliases: String = (0..31)
        .map(|i| format!("a{i}: upstreams {{ name }} "))
        .collect();
    let (status, _, body) = post(
        &gateway,
        Some(GQL),
        "application/json",
        &json!({ "query": format!("{{ {aliases} }}") }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let error = &body["errors"][0];
    assert_eq!(
        error["extensions"],
        json!({ "code": "LIMIT_EXCEEDED", "limit": "max_root_fields", "value": 20 })
    );
    assert_eq!(
        error["message"],
        "the query exceeds the max_root_fields limit of 20 (it has 31)"
    );
}

#[tokio::test]
async fn too_many_ids_null_only_that_field() {
    let gateway = TestGateway::start().await;
    let ids: Vec<String> = (0..101).map(|i| format!("id-{i}")).collect();
    let response = gateway
        .query(
            "query($ids: [ID!]!) { offers(ids: $ids) { id } upstreams { name } }",
            json!({ "ids": ids }),
        )
        .await;
    assert_eq!(response["data"]["offers"], Value::Null);
    assert_eq!(response["data"]["upstreams"].as_array().unwrap().len(), 3);
    assert_eq!(
        response["errors"][0]["extensions"],
        json!({ "code": "LIMIT_EXCEEDED", "limit": "max_ids", "value": 100 })
    );
    assert_eq!(
        response["errors"][0]["message"],
        "at most 100 ids per call (got 101)"
    );
}

#[tokio::test]
async fn complexity_depth_and_introspection_follow_the_configured_limits() {
    use offer_gateway::Limits;

    let gateway = TestGateway::start_with_limits(Limits {
        max_complexity: 5,
        introspection: false,
        ..Limits::default()
    })
    .await;
    let (status, _, body) = post(
        &gateway,
        Some(GQL),
        "application/json",
        r#"{"query": "{ upstreams { name kind } a: upstreams { name kind } }"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["errors"][0]["message"],
        "the query exceeds the max_complexity limit of 5 (it has 6)"
    );
    assert_eq!(
        body["errors"][0]["extensions"],
        json!({ "code": "LIMIT_EXCEEDED", "limit": "max_complexity", "value": 5 })
    );
    let (_, _, body) = post(
        &gateway,
        Some(GQL),
        "application/json",
        r#"{"query": "{ __schema { queryType { name } } }"}"#,
    )
    .await;
    assert_eq!(
        body["data"],
        json!({ "__schema": null }),
        "introspection is off"
    );

    let deep = TestGateway::start_with_limits(Limits {
        max_depth: 2,
        ..Limits::default()
    })
    .await;
    let (status, _, body) = post(
        &deep,
        Some(GQL),
        "application/json",
        r#"{"query": "{ marketplaceOffers(upstream: \"violet\") { pageInfo { hasNextPage } } }"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["extensions"]["limit"], "max_depth");
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    use offer_gateway::Limits;

    let gateway = TestGateway::start_with_limits(Limits {
        max_body_bytes: 1024,
        ..Limits::default()
    })
    .await;
    let padding = " ".repeat(2048);
    let (status, _, _) = post(
        &gateway,
        Some(GQL),
        "application/json",
        &format!(r#"{{"query": "{{ upstreams {{ name }} }}{padding}"}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

fn sha256(query: &str) -> String {
    offer_gateway::sha256_hex(query)
}

#[tokio::test]
async fn automatic_persisted_queries_register_on_a_miss_and_their_get_answers_are_cacheable() {
    let gateway = TestGateway::start().await;
    let query = "{ upstreams { name kind } }";
    let extensions =
        json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256(query) } }).to_string();
    let hash_only = [("extensions", extensions.as_str())];
    let response = gateway
        .http
        .get(&gateway.url)
        .query(&hash_only)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );

    // Registered by sending the query with its hash once.
    let (status, _, body) = post(
        &gateway,
        Some(GQL),
        "application/json",
        &json!({ "query": query, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256(query) } } }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["upstreams"].as_array().unwrap().len(), 3);

    let response = gateway
        .http
        .get(&gateway.url)
        .query(&hash_only)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=60",
        "the cache TTL"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["upstreams"].as_array().unwrap().len(), 3);

    // A wrong hash is refused; plain GET queries are not cacheable.
    let (status, _, body) = post(
        &gateway,
        Some(GQL),
        "application/json",
        &json!({ "query": "{ upstreams { name } }", "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256(query) } } }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_HASH_MISMATCH"
    );
    let plain = gateway
        .http
        .get(&gateway.url)
        .query(&[("query", query)])
        .send()
        .await
        .unwrap();
    assert_eq!(plain.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn the_allow_list_mode_refuses_queries_not_in_the_manifest() {
    use offer_gateway::PersistedQueries;

    let allowed = "query Upstreams { upstreams { name } }";
    let gateway = TestGateway::start_with_options(
        |_| {},
        offer_gateway::GatewayOptions {
            persisted: PersistedQueries::allow_list(
                [(sha256(allowed), allowed.to_owned())]
                    .into_iter()
                    .collect(),
            ),
            ..Default::default()
        },
    )
    .await;
    let (status, _, body) = post(
        &gateway,
        Some(GQL),
        "application/json",
        &json!({ "query": allowed }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = post(
        &gateway,
        Some(GQL),
        "application/json",
        &json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256(allowed) } } }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "by hash: {body}");
    let (status, _, body) = post(&gateway, Some(GQL), "application/json", OK_QUERY).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_ALLOWED"
    );
}

#[tokio::test]
async fn a_request_over_the_overall_timeout_is_cut_off() {
    use offer_gateway::sim::fault::Fault;
    use offer_gateway::Limits;

    let gateway = TestGateway::start_with_limits(Limits {
        request_timeout: std::time::Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    gateway.sims.violet.control.inject(None, Fault::Hang, None);
    let started = std::time::Instant::now();
    let (status, media, body) = post(
        &gateway,
        Some(GQL),
        "application/json",
        r#"{"query": "{ marketplaceOffers(upstream: \"violet\") { totalCount } }"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(media.starts_with(GQL), "{media}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "REQUEST_TIMEOUT");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
