//! The catalog index's storage and sync: a data directory that survives a
//! restart, a clear refusal to start over one that cannot be used, and a
//! sync that keeps within its request budget.

use std::time::{Duration, Instant};

use offer_gateway::sim::Simulators;
use offer_gateway::upstream::{BudgetWindow, InstanceSpec};
use offer_gateway::{BuildError, Gateway, GatewayOptions};
use serde_json::Value;

/// Runs `query` on `gateway` without HTTP; the data, or a panic on errors.
async fn data(gateway: &Gateway, query: &str) -> Value {
    let response = gateway.schema().execute(query).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    response.data.into_json().expect("JSON")
}

/// The demo instances with their syncs on or off, and unlimited budgets.
fn specs(sims: &Simulators, sync: bool) -> Vec<InstanceSpec> {
    let mut specs = sims.instance_specs();
    for spec in &mut specs {
        spec.settings.sync.enabled = sync;
        spec.settings.sync.budget = Some(vec![BudgetWindow {
            requests: 100_000,
            per: Duration::from_secs(1),
        }]);
    }
    specs
}

/// Waits until every synced instance finished a full pass.
async fn wait_for_full_passes(gateway: &Gateway) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = data(
            gateway,
            "{ catalogStatus { upstreams { enabled fullPasses } } }",
        )
        .await;
        let upstreams = status["catalogStatus"]["upstreams"]
            .as_array()
            .unwrap()
            .clone();
        if upstreams
            .iter()
            .all(|u| u["enabled"] == false || u["fullPasses"].as_i64() >= Some(1))
        {
            return;
        }
        assert!(Instant::now() < deadline, "no full pass: {upstreams:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const LISTINGS: [&str; 4] = [
    "GET /retailers/api/v1/organizations/{organization_id}/online-offers",
    "GET /retailers/api/v1/organizations/{organization_id}/offers",
    "GET /admin/offers",
    "POST /v1/catalog/offers/search",
];

fn listing_calls(sims: &Simulators) -> u64 {
    LISTINGS
        .iter()
        .map(|endpoint| {
            sims.closient.control.count(endpoint)
                + sims.medusa.control.count(endpoint)
                + sims.violet.control.count(endpoint)
        })
        .sum()
}

#[tokio::test]
async fn a_restart_over_the_same_data_directory_answers_products_without_re_crawling() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let sims = Simulators::start_demo().await.expect("simulators start");
    sims.closient_data.set_minute_limit(None);
    sims.closient_data.set_day_limit(None);
    let options = || GatewayOptions {
        data_dir: Some(dir.path().join("index")),
        ..GatewayOptions::default()
    };
    let gtin = &sims.catalog.products[3].gtin;
    let query = format!("{{ product(gtin: \"{gtin}\") {{ offerCount }} }}");
    let before = {
        let first = Gateway::build(specs(&sims, true), options())
            .await
            .expect("the gateway builds");
        wait_for_full_passes(&first).await;
        data(&first, &query).await
    };
    assert!(
        before["product"]["offerCount"].as_i64().unwrap() > 0,
        "{before}"
    );
    assert!(listing_calls(&sims) > 0);

    sims.reset_counts();
    let second = Gateway::build(specs(&sims, true), options())
        .await
        .expect("the gateway builds again");
    // The index of the first run is recent: the second has nothing to
    // crawl, and answers from it at once.
    assert_eq!(data(&second, &query).await, before);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        listing_calls(&sims),
        0,
        "{:?}",
        sims.medusa.control.counts()
    );
    let status = data(
        &second,
        "{ catalogStatus { upstreams { fullPasses lastFullPassAt nextRunAt offersIndexed } } }",
    )
    .await;
    for upstream in status["catalogStatus"]["upstreams"].as_array().unwrap() {
        assert_eq!(upstream["fullPasses"], 0, "{upstream}");
        assert!(upstream["lastFullPassAt"].is_string(), "{upstream}");
        assert!(upstream["nextRunAt"].is_string(), "{upstream}");
        assert!(
            upstream["offersIndexed"].as_i64().unwrap() > 0,
            "{upstream}"
        );
    }
}

#[tokio::test]
async fn a_data_directory_that_cannot_be_used_is_a_clear_error_at_start() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // A directory below a regular file cannot be created, even by root.
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, b"").expect("a file");
    let options = GatewayOptions {
        data_dir: Some(file.join("index")),
        ..GatewayOptions::default()
    };
    let err = Gateway::build(Vec::new(), options)
        .await
        .err()
        .expect("the build fails");
    assert!(matches!(err, BuildError::Catalog { .. }));
    let message = err.to_string();
    assert!(message.contains("catalog index"), "{message}");
    assert!(message.contains("not-a-directory"), "{message}");
    assert!(message.contains("--data-dir"), "{message}");
}

#[tokio::test]
async fn the_binary_refuses_to_start_over_a_data_directory_it_cannot_use() {
    use std::process::Stdio;

    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, b"").expect("a file");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_offer-gateway"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(file.join("index"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary runs");
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the binary exits by itself")
        .expect("the process can be waited for");
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(
        &mut child.stderr.take().expect("stderr is piped"),
        &mut stderr,
    )
    .await
    .expect("stderr is text");
    assert!(!status.success());
    assert!(stderr.contains("the catalog index in"), "{stderr}");
}

#[tokio::test]
async fn the_sync_never_sends_more_requests_than_its_budget_in_any_window() {
    let sims = Simulators::start_demo().await.expect("simulators start");
    sims.closient_data.set_minute_limit(None);
    sims.closient_data.set_day_limit(None);
    let budget = 12;
    let window = Duration::from_millis(500);
    let mut specs = specs(&sims, false);
    for spec in &mut specs {
        if &*spec.name == "closient" {
            spec.settings.sync.enabled = true;
            spec.settings.sync.page_size = Some(20);
            spec.settings.sync.budget = Some(vec![BudgetWindow {
                requests: budget,
                per: window,
            }]);
        }
    }
    let gateway = Gateway::build(specs, GatewayOptions::default())
        .await
        .expect("the gateway builds");
    tokio::time::sleep(Duration::from_secs(3)).await;
    drop(gateway);
    let arrivals = sims.closient.control.arrivals();
    // Enough to fill several windows: the budget is the limit, not idling.
    assert!(
        arrivals.len() as u32 >= budget * 4,
        "{} requests",
        arrivals.len()
    );
    // Requests arrive a little after they are sent; allow loopback jitter.
    let counted = window - Duration::from_millis(40);
    for (i, start) in arrivals.iter().enumerate() {
        let within = arrivals[i..]
            .iter()
            .take_while(|t| t.duration_since(*start) < counted)
            .count();
        assert!(
            within as u32 <= budget,
            "{within} requests within {counted:?} (budget {budget} per {window:?})"
        );
    }
    // And no other instance was called: their syncs are off.
    assert_eq!(sims.medusa.control.total() + sims.violet.control.total(), 0);
}
