//! Upstream faults: partial answers with typed errors, retries, the retry
//! budget, the circuit breaker, deadlines, stale-if-error and secrets.
//! Counts and bounds only, never the machine's timings.

use crate::common;

use std::time::{Duration, Instant};

use common::TestGateway;
use offer_gateway::sim::fault::Fault;
use offer_gateway::sim::{RunningSim, Simulators};
use offer_gateway::upstream::{InstanceSpec, RetrySettings};
use offer_gateway::GlobalId;
use offer_gateway::OfferKind;
use serde_json::{json, Value};

const CLOSIENT_OFFER: &str = "GET /retailers/api/v1/online-offers/{offer_id}";
const MEDUSA_LIST: &str = "GET /admin/offers";
const VIOLET_OFFER: &str = "GET /v1/catalog/offers/{offer_id}";

const QUERY: &str =
    "query($ids: [ID!]!) { offers(ids: $ids) { upstream nativeId price { amount currency } } }";

/// Fast retries, so the tests do not wait; everything else as configured.
fn fast(specs: &mut [InstanceSpec]) {
    for spec in specs {
        spec.settings.retry.base_backoff = Duration::from_millis(1);
        spec.settings.retry.max_backoff = Duration::from_millis(5);
        spec.settings.request_timeout = Duration::from_millis(500);
        spec.settings.cache.enabled = false;
        spec.settings.breaker.enabled = false;
    }
}

/// The `n`-th priced online offer the demo key can see, priced Medusa and
/// Violet offers: one id per upstream.
fn ids(sims: &Simulators, n: usize) -> [String; 3] {
    let online = common::visible_online(sims)
        .into_iter()
        .filter(|o| o.price.as_ref().is_some_and(|p| p.amount.is_some()))
        .nth(n)
        .expect("a priced online offer");
    let medusa = sims
        .medusa_data
        .offers
        .iter()
        .filter(|o| o.prices.len() == 1 && o.prices[0].min_quantity.is_none())
        .nth(n)
        .expect("a priced medusa offer");
    let violet = &sims.violet_data.offers[n];
    [
        GlobalId::encode(OfferKind::Online, "closient", &online.id),
        GlobalId::encode(OfferKind::Marketplace, "medusa", &medusa.id),
        GlobalId::encode(OfferKind::Marketplace, "violet", &violet.id.to_string()),
    ]
}

const UPSTREAMS: [&str; 3] = ["closient", "medusa", "violet"];

fn sim<'a>(sims: &'a Simulators, upstream: &str) -> (&'a RunningSim, &'static str) {
    match upstream {
        "closient" => (&sims.closient, CLOSIENT_OFFER),
        "medusa" => (&sims.medusa, MEDUSA_LIST),
        _ => (&sims.violet, VIOLET_OFFER),
    }
}

/// Asserts that every upstream but `failed` answered completely, and
/// returns the errors of the response.
fn healthy_except(response: &Value, failed: Option<&str>) -> Vec<Value> {
    let offers = response["data"]["offers"]
        .as_array()
        .expect("a partial answer, never a null list");
    for (offer, upstream) in offers.iter().zip(UPSTREAMS) {
        if Some(upstream) == failed {
            assert!(
                offer.is_null(),
                "{upstream} should have failed: {response:#}"
            );
        } else {
            assert_eq!(offer["upstream"], upstream, "{response:#}");
            assert!(offer["price"]["amount"].is_string(), "{response:#}");
        }
    }
    response["errors"].as_array().cloned().unwrap_or_default()
}

/// (fault, first N only, expected code or None for success, calls the faulted endpoint sees)
fn matrix() -> Vec<(Fault, Option<u32>, Option<&'static str>, u64)> {
    vec![
        (Fault::Latency(Duration::from_millis(30)), None, None, 1),
        (Fault::Hang, None, Some("UPSTREAM_TIMEOUT"), 1),
        (Fault::Status(500), None, Some("UPSTREAM_UNAVAILABLE"), 1),
        (Fault::Status(502), None, Some("UPSTREAM_UNAVAILABLE"), 3),
        (Fault::Status(503), None, Some("UPSTREAM_UNAVAILABLE"), 3),
        (
            Fault::RateLimited {
                retry_after_secs: 0,
            },
            None,
            Some("UPSTREAM_RATE_LIMITED"),
            3,
        ),
        (Fault::MalformedJson, None, Some("UPSTREAM_BAD_RESPONSE"), 1),
        (Fault::TruncatedBody, None, Some("UPSTREAM_BAD_RESPONSE"), 1),
        (
            Fault::WrongContentType,
            None,
            Some("UPSTREAM_BAD_RESPONSE"),
            1,
        ),
        (Fault::Reset, None, Some("UPSTREAM_UNAVAILABLE"), 3),
        (
            Fault::RandomBytes { seed: 42 },
            None,
            Some("UPSTREAM_BAD_RESPONSE"),
            1,
        ),
        // Failing only the first call: the retry answers.
        (Fault::Status(503), Some(1), None, 2),
        (Fault::Reset, Some(2), None, 3),
    ]
}

#[tokio::test]
async fn every_fault_on_each_upstream_leaves_the_others_complete() {
    for upstream in UPSTREAMS {
        for (fault, first_n, code, calls) in matrix() {
            let gateway = TestGateway::start_with(|specs| fast(specs)).await;
            let sims = &gateway.sims;
            let ids = ids(sims, 0);
            // Log in first, so that only offer calls meet the fault.
            gateway.data(QUERY, json!({ "ids": [] })).await;
            let (faulty, endpoint) = sim(sims, upstream);
            faulty
                .control
                .inject(Some(endpoint), fault.clone(), first_n);
            faulty.control.reset_counts();
            let response = gateway.query(QUERY, json!({ "ids": ids })).await;
            let case = format!("{upstream} / {fault} / first {first_n:?}");
            let errors = healthy_except(&response, code.map(|_| upstream));
            match code {
                None => assert!(errors.is_empty(), "{case}: {response:#}"),
                Some(code) => {
                    assert_eq!(errors.len(), 1, "{case}: {response:#}");
                    assert_eq!(
                        errors[0]["extensions"],
                        json!({ "code": code, "upstream": upstream }),
                        "{case}"
                    );
                    assert_eq!(errors[0]["path"][0], "offers", "{case}");
                    let message = errors[0]["message"].as_str().unwrap();
                    assert!(
                        !message.contains("127.0.0.1") && !message.contains("http"),
                        "{case}: {message}"
                    );
                }
            }
            assert_eq!(
                faulty.control.count(endpoint),
                calls,
                "{case}: calls at {endpoint}"
            );
        }
    }
}

#[tokio::test]
async fn expired_tokens_are_renewed_without_the_client_noticing() {
    let gateway = TestGateway::start_with(|specs| fast(specs)).await;
    let sims = &gateway.sims;
    gateway.data(QUERY, json!({ "ids": ids(sims, 0) })).await;
    sims.violet_data.expire_tokens();
    sims.medusa_data.revoke_tokens();
    sims.reset_counts();
    let response = gateway.query(QUERY, json!({ "ids": ids(sims, 1) })).await;
    assert!(healthy_except(&response, None).is_empty(), "{response:#}");
    // Violet refreshed its token once; Medusa logged in again once.
    assert_eq!(sims.violet.control.count("GET /v1/auth/token"), 1);
    assert_eq!(
        sims.violet.control.count(VIOLET_OFFER),
        2,
        "the expired call and its retry"
    );
    assert_eq!(sims.medusa.control.count("POST /auth/user/emailpass"), 1);
}

#[tokio::test]
async fn a_retry_after_is_waited_for_up_to_its_cap() {
    let gateway = TestGateway::start_with(|specs| fast(specs)).await;
    let sims = &gateway.sims;
    let ids = ids(sims, 0);
    gateway.data(QUERY, json!({ "ids": [] })).await;
    sims.closient.control.inject(
        Some(CLOSIENT_OFFER),
        Fault::RateLimited {
            retry_after_secs: 1,
        },
        Some(1),
    );
    let started = Instant::now();
    let response = gateway.query(QUERY, json!({ "ids": ids })).await;
    assert!(healthy_except(&response, None).is_empty(), "{response:#}");
    assert_eq!(sims.closient.control.count(CLOSIENT_OFFER), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "the Retry-After second was waited"
    );

    // A Retry-After beyond the cap (5s by default) is not waited for.
    sims.closient.control.inject(
        Some(CLOSIENT_OFFER),
        Fault::RateLimited {
            retry_after_secs: 3600,
        },
        None,
    );
    sims.reset_counts();
    let response = gateway.query(QUERY, json!({ "ids": ids })).await;
    let errors = healthy_except(&response, Some("closient"));
    assert_eq!(errors[0]["extensions"]["code"], "UPSTREAM_RATE_LIMITED");
    assert_eq!(sims.closient.control.count(CLOSIENT_OFFER), 1);
}

#[tokio::test]
async fn the_retry_budget_stops_retry_storms() {
    let gateway = TestGateway::start_with(|specs| {
        fast(specs);
        for spec in specs.iter_mut() {
            spec.settings.retry = RetrySettings {
                max_attempts: 5,
                budget_percent: 0.2,
                budget_min_per_sec: 0,
                ..spec.settings.retry.clone()
            };
        }
    })
    .await;
    let sims = &gateway.sims;
    let ids: Vec<String> = common::visible_online(sims)
        .iter()
        .take(40)
        .map(|o| GlobalId::encode(OfferKind::Online, "closient", &o.id))
        .collect();
    sims.closient
        .control
        .inject(Some(CLOSIENT_OFFER), Fault::Status(503), None);
    let response = gateway.query(QUERY, json!({ "ids": ids })).await;
    assert_eq!(response["errors"].as_array().unwrap().len(), 40);
    let calls = sims.closient.control.count(CLOSIENT_OFFER);
    // Without a budget, 40 calls of 5 attempts would be 200; the budget
    // allows retries for at most 20% of the calls.
    assert!((40..=48).contains(&calls), "{calls} calls");
}

#[tokio::test]
async fn the_breaker_opens_after_repeated_failures_and_closes_after_a_good_probe() {
    let gateway = TestGateway::start_with(|specs| {
        fast(specs);
        for spec in specs.iter_mut() {
            spec.settings.retry.max_attempts = 1;
            spec.settings.breaker.enabled = true;
            spec.settings.breaker.failure_threshold = 3;
            spec.settings.breaker.cool_down = Duration::from_millis(200);
        }
    })
    .await;
    let sims = &gateway.sims;
    let (medusa, endpoint) = sim(sims, "medusa");
    gateway.data(QUERY, json!({ "ids": [] })).await;
    medusa
        .control
        .inject(Some(endpoint), Fault::Status(503), None);
    for n in 0..3 {
        let response = gateway.query(QUERY, json!({ "ids": ids(sims, n) })).await;
        let errors = healthy_except(&response, Some("medusa"));
        assert_eq!(errors[0]["extensions"]["code"], "UPSTREAM_UNAVAILABLE");
    }
    assert_eq!(medusa.control.count(endpoint), 3);
    // Open: calls fail fast and the upstream sees none of them.
    let response = gateway.query(QUERY, json!({ "ids": ids(sims, 3) })).await;
    let errors = healthy_except(&response, Some("medusa"));
    assert_eq!(errors[0]["extensions"]["code"], "UPSTREAM_UNAVAILABLE");
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("circuit open"));
    assert_eq!(medusa.control.count(endpoint), 3);

    // After the cool-down one probe goes through; a failed probe reopens.
    tokio::time::sleep(Duration::from_millis(250)).await;
    gateway.query(QUERY, json!({ "ids": ids(sims, 4) })).await;
    assert_eq!(medusa.control.count(endpoint), 4);
    gateway.query(QUERY, json!({ "ids": ids(sims, 5) })).await;
    assert_eq!(medusa.control.count(endpoint), 4, "reopened");

    // The upstream recovers: the next probe closes the breaker.
    medusa.control.clear_faults();
    tokio::time::sleep(Duration::from_millis(250)).await;
    let response = gateway.query(QUERY, json!({ "ids": ids(sims, 6) })).await;
    assert!(healthy_except(&response, None).is_empty(), "{response:#}");
    let response = gateway.query(QUERY, json!({ "ids": ids(sims, 7) })).await;
    assert!(healthy_except(&response, None).is_empty(), "{response:#}");
    assert_eq!(medusa.control.count(endpoint), 6);
}

#[tokio::test]
async fn a_hanging_upstream_is_cut_off_at_the_deadline() {
    let gateway = TestGateway::start_with(|specs| {
        fast(specs);
        for spec in specs.iter_mut() {
            spec.settings.request_timeout = Duration::from_secs(30);
            spec.settings.deadline = Duration::from_millis(300);
        }
    })
    .await;
    let sims = &gateway.sims;
    gateway.data(QUERY, json!({ "ids": [] })).await;
    sims.violet
        .control
        .inject(Some(VIOLET_OFFER), Fault::Hang, None);
    let started = Instant::now();
    let response = gateway.query(QUERY, json!({ "ids": ids(sims, 0) })).await;
    let errors = healthy_except(&response, Some("violet"));
    assert_eq!(
        errors[0]["extensions"],
        json!({ "code": "UPSTREAM_TIMEOUT", "upstream": "violet" })
    );
    // Bounded by the deadline, far below the 30s request timeout.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    // Listings are cut off too.
    sims.violet
        .control
        .inject(Some("POST /v1/catalog/offers/search"), Fault::Hang, None);
    let started = Instant::now();
    let response = gateway
        .query(
            r#"{ marketplaceOffers(upstream: "violet", first: 2) { totalCount } }"#,
            Value::Null,
        )
        .await;
    assert_eq!(response["data"], json!({ "marketplaceOffers": null }));
    assert_eq!(
        response["errors"][0]["extensions"]["code"],
        "UPSTREAM_TIMEOUT"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn random_bytes_from_any_endpoint_are_a_clean_bad_response() {
    for upstream in UPSTREAMS {
        let gateway = TestGateway::start_with(|specs| fast(specs)).await;
        let sims = &gateway.sims;
        let (faulty, _) = sim(sims, upstream);
        // Every endpoint, logins included.
        faulty
            .control
            .inject(None, Fault::RandomBytes { seed: 7 }, None);
        let response = gateway.query(QUERY, json!({ "ids": ids(sims, 0) })).await;
        let errors = healthy_except(&response, Some(upstream));
        assert_eq!(
            errors[0]["extensions"],
            json!({ "code": "UPSTREAM_BAD_RESPONSE", "upstream": upstream })
        );
        let listing = match upstream {
            "closient" => {
                r#"{ list: onlineOffers(organizationId: "YdduYBYqSi77bPyG7XevUT") { totalCount } }"#
                    .to_owned()
            }
            other => {
                format!(r#"{{ list: marketplaceOffers(upstream: "{other}") {{ totalCount }} }}"#)
            }
        };
        let response = gateway.query(&listing, Value::Null).await;
        assert_eq!(response["data"], json!({ "list": null }));
        assert_eq!(
            response["errors"][0]["extensions"]["code"],
            "UPSTREAM_BAD_RESPONSE"
        );
    }
}

#[tokio::test]
async fn a_failing_upstream_is_answered_from_the_stale_cache_with_a_warning() {
    let gateway = TestGateway::start_with(|specs| {
        fast(specs);
        for spec in specs.iter_mut() {
            spec.settings.cache.enabled = true;
            spec.settings.cache.ttl = Duration::from_millis(1);
            spec.settings.cache.stale_if_error = Duration::from_secs(3600);
            spec.settings.retry.max_attempts = 1;
        }
    })
    .await;
    let sims = &gateway.sims;
    let ids = ids(sims, 0);
    let fresh = gateway.query(QUERY, json!({ "ids": ids })).await;
    assert!(fresh.get("extensions").is_none());
    tokio::time::sleep(Duration::from_millis(20)).await;
    sims.medusa
        .control
        .inject(Some(MEDUSA_LIST), Fault::Status(503), None);
    let response = gateway.query(QUERY, json!({ "ids": ids })).await;
    assert!(response.get("errors").is_none(), "{response:#}");
    assert_eq!(
        response["data"], fresh["data"],
        "the cached answer is served"
    );
    let warnings = response["extensions"]["warnings"]
        .as_array()
        .expect("warnings");
    assert_eq!(warnings.len(), 1, "{response:#}");
    assert_eq!(warnings[0]["code"], "STALE_DATA");
    assert_eq!(warnings[0]["upstream"], "medusa");
    assert_eq!(warnings[0]["path"], json!(["offers", 1]));
    assert!(warnings[0]["ageSeconds"].is_u64());

    // An offer that was never cached cannot be served stale: the failure shows.
    sims.medusa.control.clear_faults();
    sims.violet
        .control
        .inject(Some(VIOLET_OFFER), Fault::Status(503), None);
    let other = self::ids(sims, 1);
    let response = gateway.query(QUERY, json!({ "ids": other })).await;
    let errors = healthy_except(&response, Some("violet"));
    assert_eq!(errors.len(), 1);
}
