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

/// A gateway over the demo with every sync on: full passes `interval`
/// apart, changes passes `changes` apart, the answer cache off (so that a
/// by-id lookup always asks the upstream).
async fn synced(interval: Duration, changes: Duration) -> crate::common::TestGateway {
    let gateway = crate::common::TestGateway::start_with(|specs| {
        crate::common::sync_everything(specs);
        for spec in specs {
            spec.settings.sync.interval = interval;
            spec.settings.sync.changes_interval = changes;
            spec.settings.cache.enabled = false;
        }
    })
    .await;
    gateway.wait_for_full_passes().await;
    gateway
}

/// The global ids of the offers of `gtin`, as the index knows them (no
/// offer is loaded).
async fn product_offer_ids(gateway: &crate::common::TestGateway, gtin: &str) -> Vec<String> {
    let data = gateway
        .data(
            "query($g: String!) { product(gtin: $g) { offers(first: 100) { nodes { id } } } }",
            serde_json::json!({ "g": gtin }),
        )
        .await;
    data["product"]["offers"]["nodes"]
        .as_array()
        .map(|nodes| {
            nodes
                .iter()
                .map(|n| n["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `check` every 100 ms for up to 20 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn full_passes(gateway: &crate::common::TestGateway, upstream: &str) -> i64 {
    let status = gateway.wait_for_full_passes().await;
    status["upstreams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["upstream"] == upstream)
        .and_then(|u| u["fullPasses"].as_i64())
        .unwrap()
}

#[tokio::test]
async fn an_offer_added_upstream_joins_its_product_at_the_next_changes_pass() {
    use offer_gateway::{GlobalId, OfferKind};

    let gateway = synced(Duration::from_secs(3600), Duration::from_millis(200)).await;
    let sims = &gateway.sims;
    let product = sims
        .catalog
        .products
        .iter()
        .find(|p| p.barcode.len() == 13)
        .expect("an EAN-13 product");
    let before = product_offer_ids(&gateway, &product.gtin).await;
    // A new Medusa offer and a new Violet offer of that product.
    let template = sims.medusa_data.offers[0].id.clone();
    let medusa = sims
        .medusa_data
        .new_offer_like(&template, Some(&product.barcode))
        .expect("a new Medusa offer");
    let medusa_id = GlobalId::encode(OfferKind::Marketplace, "medusa", &medusa.id);
    sims.medusa_data.add_offer(medusa);
    let violet = sims
        .violet_data
        .new_offer_like(sims.violet_data.offers[0].id, Some(&product.barcode))
        .expect("a new Violet offer");
    let violet_id = GlobalId::encode(OfferKind::Marketplace, "violet", &violet.id.to_string());
    sims.violet_data.add_offer(violet);
    eventually("the new offers joining their product", || async {
        let ids = product_offer_ids(&gateway, &product.gtin).await;
        ids.contains(&medusa_id) && ids.contains(&violet_id)
    })
    .await;
    let after = product_offer_ids(&gateway, &product.gtin).await;
    assert_eq!(after.len(), before.len() + 2, "{before:?} -> {after:?}");
    // No full pass ran: the changes passes found them.
    assert_eq!(full_passes(&gateway, "medusa").await, 1);
    assert_eq!(full_passes(&gateway, "violet").await, 1);
}

#[tokio::test]
async fn an_offer_removed_upstream_leaves_its_product_after_the_next_full_pass() {
    use offer_gateway::{GlobalId, OfferKind};

    let gateway = synced(Duration::from_millis(500), Duration::ZERO).await;
    let sims = &gateway.sims;
    // A Violet offer and a Closient in-store offer, each of a product
    // with other offers.
    let violet = &sims.violet_data.offers[3];
    let gtin = violet.skus[0].gtin.clone().expect("a GTIN");
    let violet_id = GlobalId::encode(OfferKind::Marketplace, "violet", &violet.id.to_string());
    assert!(product_offer_ids(&gateway, &gtin)
        .await
        .contains(&violet_id));
    let count = || async {
        let data = gateway
            .data(
                "query($g: String!) { product(gtin: $g) { offerCount } }",
                serde_json::json!({ "g": gtin }),
            )
            .await;
        data["product"]["offerCount"].as_i64().unwrap()
    };
    let before = count().await;
    assert!(sims.violet_data.remove_offer(violet.id));
    // `offerCount` reads the index only: no lookup of the offer can remove
    // it, the full pass that no longer sees it does.
    eventually("the removed offer leaving its product", || async {
        count().await == before - 1
    })
    .await;
    assert!(!product_offer_ids(&gateway, &gtin)
        .await
        .contains(&violet_id));

    // An in-store offer added to a synced organization joins through the
    // per-organization listing at the next full pass.
    let template = crate::common::visible_in_store(sims)[0].clone();
    let product = &sims.closient_data.products[5];
    let added = sims
        .closient_data
        .new_in_store_offer_like(&template.id, &product.id)
        .expect("a new in-store offer");
    let added_id = GlobalId::encode(OfferKind::InStore, "closient", &added.id);
    sims.closient_data.add_in_store_offer(added);
    eventually("the new in-store offer joining its product", || async {
        product_offer_ids(&gateway, &product.gtin)
            .await
            .contains(&added_id)
    })
    .await;
}

#[tokio::test]
async fn an_offer_that_answers_404_by_id_leaves_its_product_at_once() {
    use offer_gateway::{GlobalId, OfferKind};

    // No further pass during the test: only the lookup can remove it.
    let gateway = synced(Duration::from_secs(3600), Duration::ZERO).await;
    let sims = &gateway.sims;
    let offer = sims
        .medusa_data
        .offers
        .iter()
        .find(|o| o.ean.is_some())
        .expect("an offer with an EAN");
    let gtin = format!("{:0>14}", offer.ean.as_deref().unwrap());
    let id = GlobalId::encode(OfferKind::Marketplace, "medusa", &offer.id);
    assert!(product_offer_ids(&gateway, &gtin).await.contains(&id));
    assert!(sims.medusa_data.remove_offer(&offer.id));
    let data = gateway
        .data(
            "query($id: ID!) { offer(id: $id) { id } }",
            serde_json::json!({ "id": id }),
        )
        .await;
    assert_eq!(data["offer"], Value::Null);
    eventually("the 404 removing the offer from the index", || async {
        !product_offer_ids(&gateway, &gtin).await.contains(&id)
    })
    .await;
}

#[tokio::test]
async fn the_sync_state_is_in_catalog_status_and_in_metrics() {
    let gateway = synced(Duration::from_secs(3600), Duration::ZERO).await;
    let status = gateway.wait_for_full_passes().await;
    let metrics = gateway.metrics_text().await;
    let gauge = |line_start: &str| -> i64 {
        metrics
            .lines()
            .find(|l| l.starts_with(line_start))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {line_start} in\n{metrics}"))
    };
    for upstream in status["upstreams"].as_array().unwrap() {
        let name = upstream["upstream"].as_str().unwrap();
        assert_eq!(
            gauge(&format!("catalog_offers{{upstream=\"{name}\"}}")),
            upstream["offersIndexed"].as_i64().unwrap(),
            "{name}"
        );
        assert!(gauge(&format!("catalog_sync_full_passes{{upstream=\"{name}\"}}")) >= 1);
        assert!(gauge(&format!("catalog_sync_requests{{upstream=\"{name}\"}}")) > 0);
        assert!(
            gauge(&format!(
                "catalog_sync_last_full_pass_timestamp_seconds{{upstream=\"{name}\"}}"
            )) > 1_700_000_000
        );
        assert_eq!(upstream["errors"], 0);
    }
    assert_eq!(
        gauge("catalog_products "),
        status["productCount"].as_i64().unwrap()
    );
    assert!(gauge("catalog_index_bytes ") > 0);
}
