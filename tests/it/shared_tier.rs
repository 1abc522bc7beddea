//! The shared tier, over a real `redis-server`: what one replica
//! registers, another finds; a Redis that is down, goes away or refuses
//! the gateway's password costs no request (each replica goes on alone),
//! and `/metrics` says so. Skipped, saying why, where `redis-server` is
//! not installed (a failure under CI).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use offer_gateway::shared::SharedSettings;
use offer_gateway::{sha256_hex, GatewayOptions, GlobalId, OfferKind};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::common::TestGateway;
use crate::redis_server::{free_port, RedisServer};

const QUERY: &str = "query Names { upstreams { name kind } }";

/// A replica over its own simulators with the shared tier `shared`.
async fn replica(shared: SharedSettings) -> TestGateway {
    TestGateway::start_with_options(
        |_| {},
        GatewayOptions {
            shared,
            ..Default::default()
        },
    )
    .await
}

/// Waits until the replica's background connection reached Redis.
async fn connected(replica: &TestGateway) {
    connected_at(&replica.http, &replica.url).await;
}

/// Waits until the background connection of the replica at `url` (its
/// `/graphql`) reached Redis.
async fn connected_at(http: &reqwest::Client, url: &str) {
    let metrics = url.replace("/graphql", "/metrics");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = http
            .get(&metrics)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains("\nshared_tier_up 1") {
            return;
        }
        assert!(Instant::now() < deadline, "the replica never reached Redis");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// POSTs `body` to `replica` and returns the JSON answer.
async fn post(replica: &TestGateway, body: Value) -> Value {
    post_to(&replica.http, &replica.url, &body).await
}

/// POSTs `body` to the replica at `url` and returns the JSON answer.
async fn post_to(http: &reqwest::Client, url: &str, body: &Value) -> Value {
    http.post(url)
        .json(body)
        .send()
        .await
        .expect("the replica answers")
        .json()
        .await
        .expect("a JSON answer")
}

fn by_hash(query: &str) -> Value {
    json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(query) } } })
}

fn with_hash(query: &str) -> Value {
    let mut body = by_hash(query);
    body["query"] = json!(query);
    body
}

fn code(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

/// The value of the metric line starting with `series`, 0 when absent.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn a_query_registered_on_one_replica_runs_by_hash_on_another() {
    let Some(redis) = RedisServer::start(
        "shared_tier::a_query_registered_on_one_replica_runs_by_hash_on_another",
    ) else {
        return;
    };
    let a = replica(SharedSettings::at(&redis.url)).await;
    let b = replica(SharedSettings::at(&redis.url)).await;
    let alone = replica(SharedSettings::default()).await;
    connected(&a).await;
    connected(&b).await;

    // Nobody knows the hash yet.
    assert_eq!(
        code(&post(&b, by_hash(QUERY)).await),
        "PERSISTED_QUERY_NOT_FOUND"
    );
    // A registers it (Apollo's second request: the query with its hash)...
    let registered = post(&a, with_hash(QUERY)).await;
    assert_eq!(
        registered["data"]["upstreams"][0]["name"], "closient",
        "{registered}"
    );
    // ... and B runs it by hash alone, as A would.
    let answer = post(&b, by_hash(QUERY)).await;
    assert_eq!(answer, registered);
    // A replica without the shared tier still does not know it.
    assert_eq!(
        code(&post(&alone, by_hash(QUERY)).await),
        "PERSISTED_QUERY_NOT_FOUND"
    );

    let b_metrics = b.metrics_text().await;
    let get = |result: &str| {
        metric(
            &b_metrics,
            &format!(
                "shared_tier_operations_total{{op=\"persisted_query_get\",result=\"{result}\"}}"
            ),
        )
    };
    assert_eq!((get("miss"), get("hit")), (1.0, 1.0), "{b_metrics}");
    // B remembers it now: asking again needs no lookup in Redis.
    assert_eq!(post(&b, by_hash(QUERY)).await, registered);
    assert_eq!(
        metric(
            &b.metrics_text().await,
            "shared_tier_operations_total{op=\"persisted_query_get\",result=\"hit\"}"
        ),
        1.0
    );
}

#[tokio::test]
async fn a_redis_that_goes_away_comes_back_or_was_never_there_costs_no_request() {
    let Some(redis) = RedisServer::start(
        "shared_tier::a_redis_that_goes_away_comes_back_or_was_never_there_costs_no_request",
    ) else {
        return;
    };
    let port = redis.port;
    let settings = SharedSettings {
        timeout: Duration::from_millis(200),
        ..SharedSettings::at(&redis.url)
    };
    let a = replica(settings).await;
    connected(&a).await;
    assert!(post(&a, with_hash(QUERY)).await["data"].is_object());

    // Redis goes away.
    drop(redis);
    // What this replica registered itself, it still runs.
    assert!(post(&a, by_hash(QUERY)).await["data"].is_object());
    // An unknown hash is unknown (not an error), a new query registers and
    // runs, and neither waits much longer than the tier's timeout.
    let other = "query Kinds { upstreams { kind } }";
    let started = Instant::now();
    assert_eq!(
        code(&post(&a, by_hash(other)).await),
        "PERSISTED_QUERY_NOT_FOUND"
    );
    assert!(post(&a, with_hash(other)).await["data"].is_object());
    assert!(post(&a, by_hash(other)).await["data"].is_object());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let text = a.metrics_text().await;
    assert!(text.contains("\nshared_tier_up 0"), "{text}");
    let failed: f64 = ["error", "timeout", "unavailable"]
        .iter()
        .map(|result| {
            metric(
                &text,
                &format!("shared_tier_operations_total{{op=\"persisted_query_get\",result=\"{result}\"}}"),
            )
        })
        .sum();
    assert!(failed >= 1.0, "{text}");

    // Redis comes back on the same address: the replica reaches it again
    // without a restart, and what it registers is shared again.
    let back = RedisServer::start_at("shared_tier::redis_comes_back", Some(port), &[])
        .expect("redis-server ran a moment ago");
    let deadline = Instant::now() + Duration::from_secs(15);
    let third = "query Third { upstreams { name } }";
    loop {
        assert_eq!(
            code(&post(&a, by_hash(third)).await),
            "PERSISTED_QUERY_NOT_FOUND"
        );
        if a.metrics_text().await.contains("\nshared_tier_up 1") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the replica never reached Redis again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(post(&a, with_hash(third)).await["data"].is_object());
    let b = replica(SharedSettings::at(&back.url)).await;
    connected(&b).await;
    assert!(post(&b, by_hash(third)).await["data"].is_object());

    // A replica whose Redis was never there starts and answers too.
    let nowhere = replica(SharedSettings::at(format!(
        "redis://127.0.0.1:{}/0",
        free_port()
    )))
    .await;
    assert_eq!(
        code(&post(&nowhere, by_hash(QUERY)).await),
        "PERSISTED_QUERY_NOT_FOUND"
    );
    assert!(post(&nowhere, with_hash(QUERY)).await["data"].is_object());
    let text = nowhere.metrics_text().await;
    assert!(
        metric(
            &text,
            "shared_tier_operations_total{op=\"persisted_query_get\",result=\"unavailable\"}"
        ) >= 1.0,
        "{text}"
    );
}

#[tokio::test]
async fn the_redis_password_comes_from_a_file_and_a_wrong_one_costs_no_request() {
    let password = "redis-test-password-6f1c";
    let Some(redis) = RedisServer::start_with(
        "shared_tier::the_redis_password_comes_from_a_file_and_a_wrong_one_costs_no_request",
        &["--requirepass", password],
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("redis-password");
    std::fs::write(&file, format!("{password}\n")).unwrap();
    let mut settings = SharedSettings {
        redis_password_file: Some(file),
        ..SharedSettings::at(&redis.url)
    };
    settings.prepare(&|_| None).expect("the settings are valid");
    let a = replica(settings.clone()).await;
    let b = replica(settings).await;
    connected(&a).await;
    connected(&b).await;
    assert!(post(&a, with_hash(QUERY)).await["data"].is_object());
    assert!(post(&b, by_hash(QUERY)).await["data"].is_object());

    // A wrong password: the replica never connects, and answers anyway.
    let mut wrong = SharedSettings {
        redis_password_env: Some("OG_TEST_REDIS_PASSWORD".to_owned()),
        ..SharedSettings::at(&redis.url)
    };
    wrong
        .prepare(&|name| (name == "OG_TEST_REDIS_PASSWORD").then(|| "not-it".to_owned()))
        .expect("the settings are valid");
    let c = replica(wrong).await;
    let other = "query Kinds { upstreams { kind } }";
    assert_eq!(
        code(&post(&c, by_hash(QUERY)).await),
        "PERSISTED_QUERY_NOT_FOUND"
    );
    assert!(post(&c, with_hash(other)).await["data"].is_object());
    let text = c.metrics_text().await;
    assert!(text.contains("\nshared_tier_up 0"), "{text}");
    // The secret is in no metric.
    for replica in [&a, &b, &c] {
        assert!(!replica.metrics_text().await.contains(password));
    }
}

/// A second replica over the simulators of `first`: its URL, and the
/// sender that stops it when dropped.
async fn second_replica(
    first: &TestGateway,
    shared: SharedSettings,
) -> (String, oneshot::Sender<()>) {
    let mut specs = first.sims.instance_specs();
    for spec in &mut specs {
        spec.settings.sync.enabled = false;
    }
    let with_redis = shared.redis_url.is_some();
    let gateway = offer_gateway::Gateway::build(
        specs,
        GatewayOptions {
            connect_timeout: Duration::from_secs(2),
            shared,
            ..Default::default()
        },
    )
    .await
    .expect("the replica builds");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(offer_gateway::serve(listener, gateway.router(), async {
        let _ = stopped.await;
    }));
    if !with_redis {
        return (url, stop);
    }
    // Until its connection to Redis is made, a replica goes on alone.
    connected_at(&reqwest::Client::new(), &url).await;
    (url, stop)
}

const OFFERS: &str = "query($ids: [ID!]!) { offers(ids: $ids) { id nativeId price { amount currency } status \
     ... on OnlineOffer { currentPrice { amount } } ... on InStoreOffer { currentPrice { amount } } } }";

fn page_ids(first: &TestGateway) -> Vec<String> {
    let sims = &first.sims;
    let mut ids: Vec<String> = Vec::new();
    ids.extend(
        crate::common::visible_online(sims)
            .iter()
            .take(3)
            .map(|o| GlobalId::encode(OfferKind::Online, "closient", &o.id)),
    );
    ids.extend(
        crate::common::visible_in_store(sims)
            .iter()
            .take(2)
            .map(|o| GlobalId::encode(OfferKind::InStore, "closient", &o.id)),
    );
    ids.extend(
        sims.medusa_data.offers[..3]
            .iter()
            .map(|o| GlobalId::encode(OfferKind::Marketplace, "medusa", &o.id)),
    );
    ids.extend(
        sims.violet_data.offers[..3]
            .iter()
            .map(|o| GlobalId::encode(OfferKind::Marketplace, "violet", &o.id.to_string())),
    );
    // Well-formed ids no upstream has: "not found" is shared too.
    ids.push(GlobalId::encode(
        OfferKind::Online,
        "closient",
        "2222222222222222222223",
    ));
    ids.push(GlobalId::encode(
        OfferKind::Marketplace,
        "violet",
        "999999999999",
    ));
    ids
}

/// The offer calls the simulators counted (logins left out: each replica
/// logs in once on its own).
fn offer_calls(first: &TestGateway) -> u64 {
    let sims = &first.sims;
    let mut all = sims.closient.control.counts();
    all.extend(sims.medusa.control.counts());
    all.extend(sims.violet.control.counts());
    all.iter()
        .filter(|(call, _)| call.contains("offers"))
        .map(|(_, n)| n)
        .sum()
}

#[tokio::test]
async fn offers_and_pages_one_replica_fetched_cost_another_no_upstream_call() {
    let Some(redis) = RedisServer::start(
        "shared_tier::offers_and_pages_one_replica_fetched_cost_another_no_upstream_call",
    ) else {
        return;
    };
    let a = replica(SharedSettings::at(&redis.url)).await;
    connected(&a).await;
    let ids = page_ids(&a);
    let (b_url, _stop_b) = second_replica(&a, SharedSettings::at(&redis.url)).await;
    let (alone_url, _stop_alone) = second_replica(&a, SharedSettings::default()).await;
    let ask = |url: String| {
        let body = json!({ "query": OFFERS, "variables": { "ids": ids } });
        let http = a.http.clone();
        async move { post_to(&http, &url, &body).await }
    };

    a.sims.reset_counts();
    let on_a = ask(a.url.clone()).await;
    assert!(on_a.get("errors").is_none(), "{on_a}");
    let fetched_by_a = offer_calls(&a);
    // 3 + 2 + 3 single GETs, 1 Medusa multi-get, 2 ids nobody has, and
    // the promotions of the 3 + 2 Closient offers.
    assert_eq!(fetched_by_a, 16, "{:?}", a.sims.closient.control.counts());

    a.sims.reset_counts();
    let on_b = ask(b_url.clone()).await;
    assert_eq!(on_b, on_a, "the same answer from the other replica");
    assert_eq!(
        offer_calls(&a),
        0,
        "B fetched nothing A had fetched, promotions included"
    );
    let offers = on_b["data"]["offers"].as_array().unwrap();
    assert_eq!(offers.iter().filter(|o| o.is_null()).count(), 2);

    // A replica without the shared tier fetches everything again.
    a.sims.reset_counts();
    assert_eq!(ask(alone_url).await, on_a);
    assert_eq!(offer_calls(&a), 16);

    // Listing windows too: the same page on B costs no upstream call.
    let listing = json!({ "query": "{ marketplaceOffers(upstream: \"medusa\", first: 5) { totalCount nodes { id price { amount } } } }" });
    let list = |url: String| {
        let http = a.http.clone();
        let body = listing.clone();
        async move { post_to(&http, &url, &body).await }
    };
    a.sims.reset_counts();
    let listed = list(a.url.clone()).await;
    assert_eq!(
        listed["data"]["marketplaceOffers"]["nodes"]
            .as_array()
            .map(Vec::len),
        Some(5),
        "{listed}"
    );
    assert_eq!(offer_calls(&a), 1);
    a.sims.reset_counts();
    assert_eq!(list(b_url.clone()).await, listed);
    assert_eq!(offer_calls(&a), 0, "B listed nothing A had listed");

    let b_metrics = reqwest::get(b_url.replace("/graphql", "/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        metric(
            &b_metrics,
            "shared_tier_operations_total{op=\"offer_get\",result=\"hit\"}"
        ),
        13.0,
        "{b_metrics}"
    );
}

/// Two replicas syncing Closient over the same simulators, each with the
/// sync budget `budget` per `window` (page size 20), for three seconds;
/// the request times the simulator saw.
async fn two_syncing_replicas(
    shared: SharedSettings,
    budget: u32,
    window: Duration,
) -> Vec<std::time::Instant> {
    let sims = offer_gateway::sim::Simulators::start_demo()
        .await
        .expect("simulators start");
    sims.closient_data.set_minute_limit(None);
    sims.closient_data.set_day_limit(None);
    let mut specs = sims.instance_specs();
    for spec in &mut specs {
        spec.settings.sync.enabled = &*spec.name == "closient";
        spec.settings.sync.page_size = Some(20);
        spec.settings.sync.budget = Some(vec![offer_gateway::upstream::BudgetWindow {
            requests: budget,
            per: window,
        }]);
    }
    let build = || {
        offer_gateway::Gateway::build(
            specs.clone(),
            GatewayOptions {
                shared: shared.clone(),
                ..Default::default()
            },
        )
    };
    let (a, b) = tokio::join!(build(), build());
    let (a, b) = (a.expect("builds"), b.expect("builds"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    drop((a, b));
    sims.closient.control.arrivals()
}

/// The most requests that arrived within any span of `span`.
fn busiest(arrivals: &[std::time::Instant], span: Duration) -> usize {
    (0..arrivals.len())
        .map(|i| {
            arrivals[i..]
                .iter()
                .take_while(|t| t.duration_since(arrivals[i]) < span)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn replicas_sharing_redis_stay_together_within_one_sync_budget() {
    let Some(redis) = RedisServer::start(
        "shared_tier::replicas_sharing_redis_stay_together_within_one_sync_budget",
    ) else {
        return;
    };
    let budget = 10;
    let window = Duration::from_millis(500);
    // Requests arrive a little after they are taken; allow loopback jitter.
    let counted = window - Duration::from_millis(40);

    let together = two_syncing_replicas(SharedSettings::at(&redis.url), budget, window).await;
    // Busy: the budget is the limit, not idling.
    assert!(
        together.len() >= 4 * budget as usize,
        "{} requests",
        together.len()
    );
    let most = busiest(&together, counted);
    eprintln!(
        "together: {} requests, at most {most} within {counted:?}",
        together.len()
    );
    assert!(
        most <= budget as usize,
        "{most} requests within {counted:?} (budget {budget} per {window:?})"
    );

    // Without the shared tier each replica has the whole budget.
    let apart = two_syncing_replicas(SharedSettings::default(), budget, window).await;
    let most = busiest(&apart, counted);
    eprintln!(
        "apart: {} requests, at most {most} within {counted:?}",
        apart.len()
    );
    assert!(
        most > budget as usize,
        "{most} requests within {counted:?}: the control should exceed"
    );
}

#[tokio::test]
async fn killing_redis_under_load_loses_no_request() {
    let Some(redis) = RedisServer::start("shared_tier::killing_redis_under_load_loses_no_request")
    else {
        return;
    };
    let settings = SharedSettings {
        timeout: Duration::from_millis(200),
        ..SharedSettings::at(&redis.url)
    };
    let a = replica(settings.clone()).await;
    connected(&a).await;
    let (b_url, _stop_b) = second_replica(&a, settings).await;
    // Every offer id the simulators serve, asked in pages of 10 that no
    // two requests share, from both replicas at once.
    let sims = &a.sims;
    let mut ids: Vec<String> = Vec::new();
    ids.extend(
        crate::common::visible_online(sims)
            .iter()
            .map(|o| GlobalId::encode(OfferKind::Online, "closient", &o.id)),
    );
    ids.extend(
        sims.medusa_data
            .offers
            .iter()
            .map(|o| GlobalId::encode(OfferKind::Marketplace, "medusa", &o.id)),
    );
    ids.extend(
        sims.violet_data
            .offers
            .iter()
            .map(|o| GlobalId::encode(OfferKind::Marketplace, "violet", &o.id.to_string())),
    );
    let pages: Vec<Vec<String>> = ids.chunks(10).map(<[String]>::to_vec).collect();
    let next = Arc::new(AtomicUsize::new(0));
    let urls = [a.url.clone(), b_url.clone()];
    let stop_at = Instant::now() + Duration::from_secs(3);
    let mut clients = Vec::new();
    for client in 0..8 {
        let (http, url, next, pages) = (
            a.http.clone(),
            urls[client % 2].clone(),
            next.clone(),
            pages.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut answered = 0;
            while Instant::now() < stop_at {
                let page = &pages[next.fetch_add(1, Ordering::Relaxed) % pages.len()];
                let body = json!({ "query": OFFERS, "variables": { "ids": page } });
                let answer = post_to(&http, &url, &body).await;
                assert!(answer.get("errors").is_none(), "{answer}");
                let offers = answer["data"]["offers"].as_array().unwrap();
                assert!(offers.iter().all(|o| o["id"].is_string()), "{answer}");
                answered += 1;
            }
            answered
        }));
    }
    // Redis dies in the middle of it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(redis);
    let mut answered = 0;
    for client in clients {
        answered += client.await.expect("no client failed");
    }
    assert!(answered > 16, "{answered} requests answered");
    let text = a.metrics_text().await;
    assert!(
        text.contains("\nshared_tier_up 0"),
        "the replica saw Redis go: {text}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_redis_that_hangs_costs_one_timeout_not_one_per_request() {
    let Some(redis) =
        RedisServer::start("shared_tier::a_redis_that_hangs_costs_one_timeout_not_one_per_request")
    else {
        return;
    };
    let settings = SharedSettings {
        timeout: Duration::from_millis(200),
        ..SharedSettings::at(&redis.url)
    };
    let a = replica(settings).await;
    connected(&a).await;
    redis.freeze();
    // Hash-only requests for hashes nobody registered: each would ask Redis.
    for i in 0..10 {
        let query = format!("query Hung{i} {{ upstreams {{ name }} }}");
        assert_eq!(
            code(&post(&a, by_hash(&query)).await),
            "PERSISTED_QUERY_NOT_FOUND"
        );
    }
    let text = a.metrics_text().await;
    let count = |result: &str| {
        metric(
            &text,
            &format!(
                "shared_tier_operations_total{{op=\"persisted_query_get\",result=\"{result}\"}}"
            ),
        )
    };
    // The first timed out (the client's own response timeout says so as
    // an error); the next ones, within the pause, did not wait.
    let waited = count("timeout") + count("error");
    assert!((1.0..=2.0).contains(&waited), "{text}");
    assert!(count("skipped") >= 5.0, "{text}");

    // Once it answers again, the replica uses it again.
    redis.thaw();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        post(&a, by_hash("query Probe { upstreams { kind } }")).await;
        if a.metrics_text().await.contains("\nshared_tier_up 1") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the replica never reached Redis again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
