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
            ("42", "the body must be a JSON object"),
            (
                r#""{ upstreams { name } }""#,
                "the body must be a JSON object",
            ),
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
    // In a batch, each request is checked on its own.
    let batch = json!([{ "query": allowed }, { "query": "{ upstreams { kind } }" }]);
    let (status, _, body) = post(&gateway, Some(GQL), "application/json", &batch.to_string()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body[0]["data"]["upstreams"].as_array().map(Vec::len),
        Some(3)
    );
    assert_refusal(
        &body[1],
        "PERSISTED_QUERY_NOT_ALLOWED",
        "not in the manifest",
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

/// Asserts that `body` is a refusal: `{"errors": [...]}` and nothing else
/// (no `data`), every error with a message and `extensions.code` `code`.
fn assert_refusal(body: &Value, code: &str, what: &str) {
    let object = body.as_object().expect("a JSON object");
    assert_eq!(
        object.keys().collect::<Vec<_>>(),
        ["errors"],
        "{what}: {body}"
    );
    let errors = body["errors"].as_array().expect("errors");
    assert!(!errors.is_empty(), "{what}");
    for error in errors {
        assert!(error["message"].is_string(), "{what}: {error}");
        assert_eq!(error["extensions"]["code"], code, "{what}: {error}");
    }
}

/// The media types a client may ask for, and the one each answers in.
const MEDIA: [(Option<&str>, &str); 4] = [
    (
        Some(GQL),
        "application/graphql-response+json; charset=utf-8",
    ),
    (Some("application/json"), "application/json; charset=utf-8"),
    (Some("*/*"), "application/json; charset=utf-8"),
    (None, "application/json; charset=utf-8"),
];

#[tokio::test]
async fn every_refusal_answers_a_graphql_error_in_the_negotiated_media_type() {
    use offer_gateway::{hash_key, ClientKeys, Limits, ServerOptions};

    let gateway = TestGateway::start_with_options(
        |_| {},
        offer_gateway::GatewayOptions {
            limits: Limits {
                max_body_bytes: 4096,
                ..Limits::default()
            },
            server: ServerOptions {
                client_keys: ClientKeys::from_hashes(&[hash_key("key")]).expect("a hash"),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await;
    let keyed = |request: reqwest::RequestBuilder| request.header("x-api-key", "key");
    let too_large =
        json!({ "query": format!("{{ upstreams {{ name }} }} #{}", "x".repeat(5000)) }).to_string();
    let over_max_root_fields = format!(
        "{{ {} }}",
        (0..21)
            .map(|i| format!("f{i}: __typename "))
            .collect::<String>()
    );
    for (accept, media) in MEDIA {
        let what = |refusal: &str| format!("{refusal}, Accept: {accept:?}");
        // (what, request, status, code)
        let cases: Vec<(&str, reqwest::RequestBuilder, StatusCode, &str)> = vec![
            (
                "no API key",
                gateway
                    .http
                    .post(&gateway.url)
                    .json(&json!({ "query": "{ upstreams { name } }" })),
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
            ),
            (
                "a wrong API key",
                gateway
                    .http
                    .get(&gateway.url)
                    .header("x-api-key", "nope")
                    .query(&[("query", "{ upstreams { name } }")]),
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
            ),
            (
                "a body that is not JSON",
                keyed(gateway.http.post(&gateway.url))
                    .header(CONTENT_TYPE, "application/json")
                    .body("{not json"),
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
            ),
            (
                "GET variables that are not an object",
                keyed(gateway.http.get(&gateway.url))
                    .query(&[("query", "{ upstreams { name } }"), ("variables", "[1]")]),
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
            ),
            (
                "PUT",
                keyed(gateway.http.put(&gateway.url)).body(OK_QUERY),
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
            ),
            (
                "a body over max_body_bytes",
                keyed(gateway.http.post(&gateway.url))
                    .header(CONTENT_TYPE, "application/json")
                    .body(too_large.clone()),
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
            ),
            (
                "a text/plain body",
                keyed(gateway.http.post(&gateway.url))
                    .header(CONTENT_TYPE, "text/plain")
                    .body(OK_QUERY),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
            ),
            (
                "an empty batch",
                keyed(gateway.http.post(&gateway.url))
                    .header(CONTENT_TYPE, "application/json")
                    .body("[]"),
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
            ),
        ];
        for (refusal, request, status, code) in cases {
            let request = match accept {
                Some(accept) => request.header(ACCEPT, accept),
                None => request,
            };
            let response = request.send().await.expect("answers");
            let what = what(refusal);
            assert_eq!(response.status(), status, "{what}");
            let headers = response.headers().clone();
            assert_eq!(headers[CONTENT_TYPE], media, "{what}");
            assert_eq!(headers["cache-control"], "no-store", "{what}");
            if status == StatusCode::METHOD_NOT_ALLOWED {
                assert_eq!(headers[ALLOW], "GET, POST", "{what}");
            }
            if status == StatusCode::UNAUTHORIZED {
                assert_eq!(headers["www-authenticate"], "Bearer", "{what}");
            }
            let body: Value = response.json().await.expect("a JSON body");
            assert_refusal(&body, code, &what);
        }
        // Refusals of the document: 400 with the specification's type, 200
        // with the legacy one; never a `data` entry.
        for (refusal, query, code) in [
            (
                "a parse failure",
                "{ upstreams { name ",
                "GRAPHQL_PARSE_FAILED",
            ),
            (
                "a validation failure",
                "{ noSuchField }",
                "GRAPHQL_VALIDATION_FAILED",
            ),
            (
                "a missing variable",
                "query($n: Int!) { upstreams { name } }",
                "GRAPHQL_VALIDATION_FAILED",
            ),
            ("a limit", over_max_root_fields.as_str(), "LIMIT_EXCEEDED"),
        ] {
            let request = keyed(gateway.http.post(&gateway.url)).json(&json!({ "query": query }));
            let (got, got_media, body) = send(request, accept).await;
            let what = what(refusal);
            let status = if accept == Some(GQL) {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            assert_eq!((got, got_media.as_str()), (status, media), "{what}: {body}");
            assert_refusal(&body, code, &what);
        }
    }
    // Nothing acceptable was asked for: 406, in application/json.
    for accept in ["text/html", "application/xml", "application/json;q=0"] {
        let request = keyed(gateway.http.post(&gateway.url))
            .json(&json!({ "query": "{ upstreams { name } }" }));
        let (status, media, body) = send(request, Some(accept)).await;
        assert_eq!(
            (status, media.as_str()),
            (
                StatusCode::NOT_ACCEPTABLE,
                "application/json; charset=utf-8"
            ),
            "{accept}"
        );
        assert_refusal(&body, "NOT_ACCEPTABLE", accept);
    }
}

/// POSTs `batch` (a JSON array) with `accept`.
async fn post_batch(
    gateway: &TestGateway,
    accept: Option<&str>,
    batch: &Value,
) -> (StatusCode, String, Value) {
    post(gateway, accept, "application/json", &batch.to_string()).await
}

#[tokio::test]
async fn a_batch_answers_the_array_of_its_responses_in_order() {
    let gateway = TestGateway::start().await;
    let query = "{ upstreams { name kind } }";
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256(query) } });
    // As Apollo's BatchHttpLink and Relay's batch middleware send them:
    // each request a JSON object of its own (Relay adds an `id`).
    let batch = json!([
        { "query": "query Names { upstreams { name } }", "operationName": "Names" },
        {
            "id": "relay-1",
            "query": "query Page($n: Int) { marketplaceOffers(upstream: \"violet\", first: $n) { nodes { id } } }",
            "variables": { "n": 2 }
        },
        { "query": "{ upstreams { name " },
        42,
        { "extensions": persisted },
        { "query": query, "extensions": persisted },
        { "query": "{ offer(id: \"garbage\") { id } }" },
    ]);
    for (accept, media) in MEDIA {
        let (status, got_media, body) = post_batch(&gateway, accept, &batch).await;
        assert_eq!(
            (status, got_media.as_str()),
            (StatusCode::OK, media),
            "{accept:?}: {body}"
        );
        let answers = body.as_array().expect("an array");
        assert_eq!(answers.len(), 7, "{body}");
        assert_eq!(
            answers[0],
            json!({ "data": { "upstreams": [{ "name": "closient" }, { "name": "medusa" }, { "name": "violet" }] } })
        );
        assert_eq!(
            answers[1]["data"]["marketplaceOffers"]["nodes"]
                .as_array()
                .map(Vec::len),
            Some(2),
            "{}",
            answers[1]
        );
        assert_refusal(
            &answers[2],
            "GRAPHQL_PARSE_FAILED",
            "parse failure in a batch",
        );
        assert_refusal(&answers[3], "BAD_REQUEST", "a number in a batch");
        assert_eq!(
            answers[3]["errors"][0]["message"],
            "each request of a batch must be a JSON object {query, operationName, variables, extensions}"
        );
        assert_eq!(
            answers[5]["data"]["upstreams"].as_array().map(Vec::len),
            Some(3)
        );
        assert_eq!(answers[6]["data"], json!({ "offer": null }));
        assert_eq!(
            answers[6]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{}",
            answers[6]
        );
    }
    // The first batch's fifth request came before the sixth registered
    // the query; later batches find it.
    let (_, _, body) = post_batch(&gateway, Some(GQL), &batch).await;
    assert_eq!(
        body[4]["data"]["upstreams"].as_array().map(Vec::len),
        Some(3)
    );
}

#[tokio::test]
async fn a_persisted_query_unknown_in_a_batch_is_refused_in_its_place() {
    let gateway = TestGateway::start().await;
    let query = "{ upstreams { kind } }";
    let batch = json!([
        { "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256(query) } } },
        { "query": "{ upstreams { name } }" },
    ]);
    let (status, _, body) = post_batch(&gateway, Some(GQL), &batch).await;
    assert_eq!(status, StatusCode::OK);
    assert_refusal(&body[0], "PERSISTED_QUERY_NOT_FOUND", "hash only");
    assert_eq!(
        body[1]["data"]["upstreams"].as_array().map(Vec::len),
        Some(3)
    );
}

#[tokio::test]
async fn each_request_of_a_batch_is_held_to_every_limit() {
    use offer_gateway::Limits;

    let gateway = TestGateway::start_with_limits(Limits {
        max_depth: 3,
        max_aliases: 1,
        max_complexity: 4,
        max_root_fields: 2,
        max_ids: 2,
        ..Limits::default()
    })
    .await;
    let batch = json!([
        { "query": "{ upstreams { name } }" },
        { "query": "{ a: upstreams { name } b: upstreams { name } }" },
        { "query": "{ upstreams { name } __typename u: upstreams { kind } }" },
        { "query": "{ marketplaceOffers(upstream: \"violet\") { nodes { price { amount } } } }" },
        { "query": "{ upstreams { name kind } x: upstreams { name kind } }" },
        { "query": "{ offers(ids: [\"a\", \"b\", \"c\"]) { id } }" },
    ]);
    let (status, _, body) = post_batch(&gateway, Some(GQL), &batch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body[0]["data"]["upstreams"].as_array().map(Vec::len),
        Some(3)
    );
    let limit = |answer: &Value| answer["errors"][0]["extensions"].clone();
    assert_refusal(&body[1], "LIMIT_EXCEEDED", "aliases");
    assert_eq!(
        limit(&body[1]),
        json!({ "code": "LIMIT_EXCEEDED", "limit": "max_aliases", "value": 1 })
    );
    assert_eq!(
        limit(&body[2]),
        json!({ "code": "LIMIT_EXCEEDED", "limit": "max_root_fields", "value": 2 })
    );
    assert_eq!(
        limit(&body[3]),
        json!({ "code": "LIMIT_EXCEEDED", "limit": "max_depth", "value": 3 })
    );
    assert_eq!(
        limit(&body[4]),
        json!({ "code": "LIMIT_EXCEEDED", "limit": "max_complexity", "value": 4 })
    );
    // Too many ids: that field's error, with the other fields' data.
    assert_eq!(body[5]["data"], json!({ "offers": null }));
    assert_eq!(
        limit(&body[5]),
        json!({ "code": "LIMIT_EXCEEDED", "limit": "max_ids", "value": 2 })
    );
}

#[tokio::test]
async fn a_batch_over_max_batch_size_or_while_batching_is_off_is_refused_whole() {
    use offer_gateway::Limits;

    let gateway = TestGateway::start().await;
    let one = json!({ "query": "{ upstreams { name } }" });
    let ten = Value::Array(vec![one.clone(); 10]);
    let (status, _, body) = post_batch(&gateway, Some(GQL), &ten).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body.as_array().map(Vec::len),
        Some(10),
        "the default allows 10"
    );
    let eleven = Value::Array(vec![one.clone(); 11]);
    for (accept, media) in MEDIA {
        let (status, got_media, body) = post_batch(&gateway, accept, &eleven).await;
        assert_eq!(
            (status, got_media.as_str()),
            (StatusCode::BAD_REQUEST, media),
            "{accept:?}"
        );
        assert_refusal(&body, "LIMIT_EXCEEDED", "eleven");
        assert_eq!(
            body["errors"][0],
            json!({
                "message": "the batch exceeds the max_batch_size limit of 10 (it has 11)",
                "extensions": { "code": "LIMIT_EXCEEDED", "limit": "max_batch_size", "value": 10 }
            })
        );
    }

    let off = TestGateway::start_with_limits(Limits {
        max_batch_size: 0,
        ..Limits::default()
    })
    .await;
    let (status, _, body) = post_batch(&off, Some("application/json"), &json!([one])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["errors"][0]["extensions"],
        json!({ "code": "LIMIT_EXCEEDED", "limit": "max_batch_size", "value": 0 })
    );
    let (status, _, body) = post(&off, Some(GQL), "application/json", &one.to_string()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a single request still runs: {body}"
    );
}

#[tokio::test]
async fn get_never_batches() {
    let gateway = TestGateway::start().await;
    let (status, media, body) = get(
        &gateway,
        Some(GQL),
        &[("query", r#"[{"query": "{ upstreams { name } }"}]"#)],
    )
    .await;
    assert_eq!(
        (status, media.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "application/graphql-response+json; charset=utf-8"
        )
    );
    assert_refusal(&body, "GRAPHQL_PARSE_FAILED", "an array over GET");
}

#[tokio::test]
async fn a_batch_past_the_request_timeout_keeps_the_answers_in_hand() {
    use offer_gateway::sim::fault::Fault;
    use offer_gateway::Limits;

    let gateway = TestGateway::start_with_limits(Limits {
        request_timeout: std::time::Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    gateway.sims.violet.control.inject(None, Fault::Hang, None);
    let started = std::time::Instant::now();
    let batch = json!([
        { "query": "{ upstreams { name } }" },
        { "query": "query Slow { marketplaceOffers(upstream: \"violet\") { totalCount } }" },
    ]);
    let (status, _, body) = post_batch(&gateway, Some(GQL), &batch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body[0]["data"]["upstreams"].as_array().map(Vec::len),
        Some(3)
    );
    assert_refusal(&body[1], "REQUEST_TIMEOUT", "the slow request");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// Variable values are checked against the operation's definitions on
/// every request, before any field runs: a value of the wrong type, a
/// missing or null required variable is refused as `BAD_USER_INPUT`
/// naming the variable, at its definition. The answer is the same on a
/// document's first request (when the document itself is validated) and
/// on later ones (when it is not validated again).
#[tokio::test]
async fn bad_variable_values_are_refused_before_execution_naming_the_variable() {
    let gateway = TestGateway::start().await;
    let query = "query Q($id: ID!, $n: Int) {\n  offer(id: $id) { id }\n  marketplaceOffers(upstream: \"medusa\", first: $n) { totalCount }\n}";
    let ask = |variables: Value, accept: &'static str| {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let gateway = &gateway;
        async move { post(gateway, Some(accept), "application/json", &body).await }
    };
    let message = |body: &Value| {
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };

    // The document's first request.
    let (status, _, first) = ask(json!({ "id": true, "n": 1 }), GQL).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{first}");
    assert_refusal(&first, "BAD_USER_INPUT", "a boolean id");
    assert_eq!(
        message(&first),
        "Variable \"$id\" got invalid value true; Expected type \"ID\"."
    );
    assert_eq!(
        first["errors"][0]["locations"],
        json!([{ "line": 1, "column": 9 }])
    );

    // Good values run it.
    let id = offer_gateway::GlobalId::encode(
        offer_gateway::OfferKind::Marketplace,
        "medusa",
        &gateway.sims.medusa_data.offers[0].id,
    );
    let (status, _, good) = ask(json!({ "id": id, "n": 1 }), GQL).await;
    assert_eq!(status, StatusCode::OK, "{good}");
    assert_eq!(good["data"]["offer"]["id"], id.as_str(), "{good}");

    // The same refusal once the document is known, and the others.
    let (_, _, again) = ask(json!({ "id": true, "n": 1 }), GQL).await;
    assert_eq!(again, first);
    for (variables, expected) in [
        (
            json!({ "id": id, "n": "two" }),
            "Variable \"$n\" got invalid value \"two\"; Expected type \"Int\".",
        ),
        (
            json!({ "n": 1 }),
            "Variable \"$id\" of required type \"ID!\" was not provided.",
        ),
        (
            json!({ "id": null }),
            "Variable \"$id\" of non-null type \"ID!\" must not be null.",
        ),
        (
            json!({ "id": id, "n": 4_294_967_296_u64 }),
            "Variable \"$n\" got invalid value 4294967296; Expected type \"Int\".",
        ),
    ] {
        let (status, _, body) = ask(variables.clone(), GQL).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{variables}: {body}");
        assert_refusal(&body, "BAD_USER_INPUT", &variables.to_string());
        assert_eq!(message(&body), expected, "{variables}");
    }
    // Two bad variables: two errors.
    let (_, _, both) = ask(json!({ "id": [], "n": 1.5 }), GQL).await;
    assert_eq!(both["errors"].as_array().map(Vec::len), Some(2), "{both}");

    // Under the legacy media type, the same refusal with 200.
    let (status, media, legacy) = ask(json!({ "id": true, "n": 1 }), "application/json").await;
    assert_eq!(
        (status, media.as_str()),
        (StatusCode::OK, "application/json; charset=utf-8")
    );
    assert_eq!(legacy, first);
}
