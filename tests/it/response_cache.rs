//! The whole-response cache: a repeated request is answered without
//! executing it (from its third use: an answer is kept on its second, see
//! `min_uses`), only while everything it was built from is still fresh,
//! never across credentials, never with errors or stale parts.

use std::time::Duration;

use crate::common::{self, TestGateway};
use offer_gateway::sim::fault::Fault;
use offer_gateway::upstream::{closient, Credentials, InstanceSpec};
use offer_gateway::{GlobalId, OfferKind, ResponseCacheOptions};
use serde_json::{json, Value};

/// The Medusa multi-get (and listing) endpoint.
const MEDUSA_LIST: &str = "GET /admin/offers";

const BY_ID: &str =
    "query($id: ID!) { offer(id: $id) { nativeId ... on MarketplaceOffer { sku } } }";

/// An answer and whether it came from the response cache (its `Age`).
struct Answer {
    body: Value,
    age: Option<u64>,
    cache_control: String,
}

async fn post(gateway: &TestGateway, query: &str, variables: Value) -> Answer {
    post_as(gateway, query, variables, None).await
}

async fn post_as(
    gateway: &TestGateway,
    query: &str,
    variables: Value,
    closient_key: Option<&str>,
) -> Answer {
    let mut request = gateway
        .http
        .post(&gateway.url)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(key) = closient_key {
        request = request.header("x-upstream-credential-closient", key);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let age = response
        .headers()
        .get("age")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let cache_control = response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_owned();
    Answer {
        body: response.json().await.unwrap(),
        age,
        cache_control,
    }
}

fn medusa_id(gateway: &TestGateway, index: usize) -> String {
    GlobalId::encode(
        OfferKind::Marketplace,
        "medusa",
        &gateway.sims.medusa_data.offers[index].id,
    )
}

async fn metric(gateway: &TestGateway, line: &str) -> f64 {
    let text = gateway.metrics_text().await;
    text.lines()
        .find(|l| l.starts_with(line))
        .and_then(|l| l.rsplit(' ').next())
        .map_or(0.0, |v| v.parse().unwrap())
}

#[tokio::test]
async fn a_repeated_request_is_answered_whole_without_executing_again() {
    let gateway = TestGateway::start().await;
    let query = common::offers_page_query();
    let first = post(&gateway, &query, Value::Null).await;
    assert!(first.body.get("errors").is_none(), "{:#}", first.body);
    assert_eq!(first.age, None, "executed");
    let second = post(&gateway, &query, Value::Null).await;
    assert_eq!(
        second.age, None,
        "executed again: asked once before, now kept"
    );
    assert_eq!(second.body, first.body);
    let lookups = |result: &'static str| {
        let gateway = &gateway;
        async move {
            metric(
                gateway,
                &format!(r#"cache_lookups_total{{upstream="closient",result="{result}"}}"#),
            )
            .await
        }
    };
    let (hits, misses) = (lookups("hit").await, lookups("miss").await);
    gateway.sims.reset_counts();
    for _ in 0..3 {
        let again = post(&gateway, &query, Value::Null).await;
        assert_eq!(again.body, first.body);
        assert!(again.age.is_some(), "answered from the response cache");
        assert_eq!(
            again.cache_control, "no-store",
            "a POST is never kept by HTTP caches"
        );
    }
    assert_eq!(gateway.sims.total_requests(), 0, "no upstream call");
    assert_eq!(
        (lookups("hit").await, lookups("miss").await),
        (hits, misses),
        "not even an entity cache lookup"
    );
    assert_eq!(
        metric(&gateway, r#"response_cache_lookups_total{result="hit"}"#).await,
        3.0
    );
    // Another operation name, other variables: other answers.
    let id = medusa_id(&gateway, 0);
    let one = used_twice(&gateway, BY_ID, json!({ "id": id })).await;
    let other = post(&gateway, BY_ID, json!({ "id": medusa_id(&gateway, 1) })).await;
    assert_eq!(other.age, None);
    assert_ne!(one.body, other.body);
    assert!(post(&gateway, BY_ID, json!({ "id": id }))
        .await
        .age
        .is_some());
}

/// Asks twice (both executed: the second use keeps the answer); the
/// answer.
async fn used_twice(gateway: &TestGateway, query: &str, variables: Value) -> Answer {
    let first = post(gateway, query, variables.clone()).await;
    assert_eq!(first.age, None, "executed");
    let second = post(gateway, query, variables).await;
    assert_eq!(second.age, None, "executed again");
    assert_eq!(second.body, first.body);
    second
}

#[tokio::test]
async fn an_answer_asked_once_takes_no_room() {
    let gateway = TestGateway::start().await;
    for index in 0..5 {
        let answer = post(&gateway, BY_ID, json!({ "id": medusa_id(&gateway, index) })).await;
        assert!(answer.body.get("errors").is_none(), "{:#}", answer.body);
    }
    assert_eq!(metric(&gateway, "response_cache_entries").await, 0.0);
    assert_eq!(
        metric(
            &gateway,
            r#"response_cache_skipped_total{reason="first_use"}"#
        )
        .await,
        5.0
    );
    // Asked again: executed and kept, then served.
    let second = post(&gateway, BY_ID, json!({ "id": medusa_id(&gateway, 0) })).await;
    assert_eq!(second.age, None);
    let third = post(&gateway, BY_ID, json!({ "id": medusa_id(&gateway, 0) })).await;
    assert!(third.age.is_some());
    assert_eq!(metric(&gateway, "response_cache_entries").await, 1.0);
}

#[tokio::test]
async fn two_credentials_never_share_an_answer() {
    let gateway = TestGateway::start_with(|specs| specs[0].settings.pass_through = true).await;
    let key = |credentials: Credentials| match credentials {
        Credentials::Closient(closient::Credentials { api_key }) => api_key.expose().to_owned(),
        other => panic!("not a closient key: {other:?}"),
    };
    let demo_key = key(closient::sim::demo_credentials());
    let other_key = key(closient::sim::other_credentials());
    // An offer only the demo key may see: the other key's answer is null.
    let offer = common::demo_only_online_offer(&gateway.sims);
    let id = GlobalId::encode(OfferKind::Online, "closient", &offer.id);
    let query = format!("{{ offer(id: \"{id}\") {{ nativeId }} }}");
    let demo = post_as(&gateway, &query, Value::Null, Some(&demo_key)).await;
    post_as(&gateway, &query, Value::Null, Some(&demo_key)).await;
    let other = post_as(&gateway, &query, Value::Null, Some(&other_key)).await;
    assert_eq!(other.age, None, "not the demo key's answer");
    post_as(&gateway, &query, Value::Null, Some(&other_key)).await;
    assert_eq!(demo.body["data"]["offer"]["nativeId"], offer.id.as_str());
    assert_eq!(
        other.body,
        json!({ "data": { "offer": null } }),
        "each key sees its own offers"
    );
    let demo_again = post_as(&gateway, &query, Value::Null, Some(&demo_key)).await;
    let other_again = post_as(&gateway, &query, Value::Null, Some(&other_key)).await;
    assert!(demo_again.age.is_some() && other_again.age.is_some());
    assert_eq!(demo_again.body, demo.body);
    assert_eq!(other_again.body, other.body);
    // No client credential: the gateway's own, another answer again.
    assert_eq!(post(&gateway, &query, Value::Null).await.age, None);
}

#[tokio::test]
async fn an_answer_with_errors_is_never_kept() {
    let gateway = TestGateway::start_with(|specs| {
        for spec in specs.iter_mut() {
            spec.settings.retry.max_attempts = 1;
            spec.settings.breaker.enabled = false;
        }
    })
    .await;
    let id = medusa_id(&gateway, 2);
    gateway
        .sims
        .medusa
        .control
        .inject(Some(MEDUSA_LIST), Fault::Status(503), None);
    let failed = post(&gateway, BY_ID, json!({ "id": id })).await;
    assert_eq!(
        failed.body["errors"][0]["extensions"]["code"],
        "UPSTREAM_UNAVAILABLE"
    );
    let again = post(&gateway, BY_ID, json!({ "id": id })).await;
    assert_eq!(again.age, None, "executed again");
    assert!(again.body.get("errors").is_some());
    gateway.sims.medusa.control.clear_faults();
    let fixed = post(&gateway, BY_ID, json!({ "id": id })).await;
    assert!(fixed.body.get("errors").is_none(), "{:#}", fixed.body);
    assert_eq!(fixed.age, None);
    assert_eq!(
        metric(&gateway, r#"response_cache_skipped_total{reason="errors"}"#).await,
        2.0
    );
}

#[tokio::test]
async fn a_stale_answer_is_never_kept_and_no_answer_outlives_its_parts() {
    let ttl = Duration::from_secs(2);
    let gateway = TestGateway::start_with(|specs: &mut Vec<InstanceSpec>| {
        for spec in specs.iter_mut() {
            spec.settings.cache.ttl = ttl;
            spec.settings.cache.stale_if_error = Duration::from_secs(3600);
            spec.settings.retry.max_attempts = 1;
            spec.settings.breaker.enabled = false;
        }
    })
    .await;
    let id = medusa_id(&gateway, 3);
    let fresh = used_twice(&gateway, BY_ID, json!({ "id": id })).await;
    assert!(post(&gateway, BY_ID, json!({ "id": id }))
        .await
        .age
        .is_some());
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    gateway
        .sims
        .medusa
        .control
        .inject(Some(MEDUSA_LIST), Fault::Status(503), None);
    // Past the offer's TTL the kept answer is gone with it: executed, and
    // answered stale from the entity cache, with a warning.
    let stale = post(&gateway, BY_ID, json!({ "id": id })).await;
    assert_eq!(stale.age, None);
    assert_eq!(stale.body["data"], fresh.body["data"]);
    assert_eq!(
        stale.body["extensions"]["warnings"][0]["code"],
        "STALE_DATA"
    );
    let stale_again = post(&gateway, BY_ID, json!({ "id": id })).await;
    assert_eq!(stale_again.age, None, "a stale answer is not kept");
    gateway.sims.medusa.control.clear_faults();
    let recovered = post(&gateway, BY_ID, json!({ "id": id })).await;
    assert_eq!(recovered.age, None);
    assert!(
        recovered.body.get("extensions").is_none(),
        "{:#}",
        recovered.body
    );
    assert_eq!(
        metric(
            &gateway,
            r#"response_cache_skipped_total{reason="warnings"}"#
        )
        .await,
        2.0
    );
}

#[tokio::test]
async fn a_refreshed_offer_invalidates_the_answers_built_from_it() {
    let gateway = TestGateway::start().await;
    let sims = &gateway.sims;
    let offer = sims.medusa_data.current_offers()[0].clone();
    let id = GlobalId::encode(OfferKind::Marketplace, "medusa", &offer.id);
    let before = used_twice(&gateway, BY_ID, json!({ "id": id })).await;
    let old_sku = before.body["data"]["offer"]["sku"].clone();
    // The upstream changes the offer; the cached answers stay as they
    // were (the entity cache holds the old one too).
    let mut changed = offer.clone();
    changed.sku = Some("RESPONSE-CACHE-CHANGED".to_owned());
    sims.medusa_data.add_offer(changed);
    let kept = post(&gateway, BY_ID, json!({ "id": id })).await;
    assert!(kept.age.is_some());
    assert_eq!(kept.body["data"]["offer"]["sku"], old_sku);
    // A listing brings the new version into the entity cache: the answer
    // built from the old one is no longer served.
    let list = "{ marketplaceOffers(upstream: \"medusa\", first: 100) { nodes { nativeId } } }";
    let listed = post(&gateway, list, Value::Null).await;
    assert!(listed.body.get("errors").is_none(), "{:#}", listed.body);
    let after = post(&gateway, BY_ID, json!({ "id": id })).await;
    assert_eq!(after.age, None, "executed again");
    assert_eq!(after.body["data"]["offer"]["sku"], "RESPONSE-CACHE-CHANGED");
    sims.reset_offers();
}

#[tokio::test]
async fn a_catalog_write_invalidates_only_the_answers_that_read_the_index() {
    let gateway = TestGateway::start().await;
    let product = "{ product(gtin: \"00918882175177\") { gtin offerCount } }";
    let by_id = json!({ "id": medusa_id(&gateway, 4) });
    // The first answers wrote the index themselves (what Closient says of
    // the GTIN, the fetched offers): ask until they are served whole.
    let mut served = false;
    for _ in 0..50 {
        let product_kept = post(&gateway, product, Value::Null).await.age.is_some();
        let offer_kept = post(&gateway, BY_ID, by_id.clone()).await.age.is_some();
        if product_kept && offer_kept {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served, "both answers end up kept");
    // A lookup of an offer never fetched writes it to the index.
    let unseen = json!({ "id": medusa_id(&gateway, 40) });
    assert_eq!(post(&gateway, BY_ID, unseen).await.age, None);
    let mut executed = false;
    for _ in 0..50 {
        if post(&gateway, product, Value::Null).await.age.is_none() {
            executed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        executed,
        "the product answer is built again after the write"
    );
    assert!(
        post(&gateway, BY_ID, by_id).await.age.is_some(),
        "an answer that did not read the index is still served"
    );
}

#[tokio::test]
async fn a_persisted_get_is_kept_by_http_caches_no_longer_than_by_the_gateway() {
    let gateway = TestGateway::start().await;
    let query = "{ upstreams { name } }";
    let hash = offer_gateway::sha256_hex(query);
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    // Register it.
    let registered = gateway
        .http
        .post(&gateway.url)
        .json(&json!({ "query": query, "extensions": extensions }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 200);
    let get = || {
        gateway
            .http
            .get(&gateway.url)
            .query(&[("extensions", extensions.to_string())])
            .send()
    };
    let first = get().await.unwrap();
    assert!(
        !first.headers().contains_key("age"),
        "executed: its second use, kept now"
    );
    let response = get().await.unwrap();
    assert!(response.headers().contains_key("age"), "kept");
    let cache_control = response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_owned();
    let max_age: u64 = cache_control
        .strip_prefix("public, max-age=")
        .unwrap_or_else(|| panic!("{cache_control}"))
        .parse()
        .unwrap();
    assert!(
        max_age <= 60,
        "no longer than the gateway keeps it: {cache_control}"
    );
}

#[tokio::test]
async fn the_response_cache_can_be_turned_off() {
    let gateway = TestGateway::start_with_options(
        |_| {},
        offer_gateway::GatewayOptions {
            response_cache: ResponseCacheOptions {
                enabled: false,
                ..ResponseCacheOptions::default()
            },
            ..Default::default()
        },
    )
    .await;
    let query = common::offers_page_query();
    for _ in 0..3 {
        assert_eq!(post(&gateway, &query, Value::Null).await.age, None);
    }
    assert_eq!(
        metric(&gateway, r#"response_cache_lookups_total{result="hit"}"#).await,
        0.0
    );
}
