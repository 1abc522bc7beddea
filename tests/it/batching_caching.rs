//! Fewest upstream calls per query, proven with the simulators' request
//! counters (counts, never timings).

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::TestGateway;
use offer_gateway::sim::Simulators;
use offer_gateway::upstream::closient;
use offer_gateway::upstream::medusa::wire::ErrorType;
use offer_gateway::upstream::violet;
use offer_gateway::GlobalId;
use offer_gateway::OfferKind;
use serde_json::{json, Value};

const ONLINE: &str = "GET /retailers/api/v1/online-offers/{offer_id}";
const IN_STORE: &str = "GET /retailers/api/v1/in-store-offers/{offer_id}";
const MEDUSA_LIST: &str = "GET /admin/offers";
const MEDUSA_LOGIN: &str = "POST /auth/user/emailpass";
const VIOLET_OFFER: &str = "GET /v1/catalog/offers/{offer_id}";
const VIOLET_LOGIN: &str = "POST /v1/login";

const OFFERS: &str =
    "query($ids: [ID!]!) { offers(ids: $ids) { id nativeId price { amount currency } } }";

/// Every request the three simulators served, by endpoint.
fn calls(sims: &Simulators) -> BTreeMap<String, u64> {
    let mut all = sims.closient.control.counts();
    all.extend(sims.medusa.control.counts());
    all.extend(sims.violet.control.counts());
    all
}

fn expected(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.to_string(), *n))
        .collect()
}

/// 50 ids across the three upstreams: 15 distinct Medusa offers (20 ids),
/// 6 online + 4 in-store distinct Closient offers (15 ids), 10 distinct
/// Violet offers (15 ids).
fn fifty_ids(sims: &Simulators) -> Vec<String> {
    let medusa: Vec<String> = sims.medusa_data.offers[..15]
        .iter()
        .map(|o| GlobalId::encode(OfferKind::Marketplace, "medusa", &o.id))
        .collect();
    let online: Vec<String> = common::visible_online(sims)
        .iter()
        .take(6)
        .map(|o| GlobalId::encode(OfferKind::Online, "closient", &o.id))
        .collect();
    let in_store: Vec<String> = common::visible_in_store(sims)
        .iter()
        .take(4)
        .map(|o| GlobalId::encode(OfferKind::InStore, "closient", &o.id))
        .collect();
    let violet: Vec<String> = sims.violet_data.offers[..10]
        .iter()
        .map(|o| GlobalId::encode(OfferKind::Marketplace, "violet", &o.id.to_string()))
        .collect();
    let mut ids = Vec::new();
    ids.extend(medusa.iter().cloned());
    ids.extend(medusa[..5].iter().cloned());
    ids.extend(online.iter().cloned());
    ids.extend(in_store.iter().cloned());
    ids.extend(online[..5].iter().cloned());
    ids.extend(violet.iter().cloned());
    ids.extend(violet[..5].iter().cloned());
    // Interleave so duplicates are not neighbours.
    ids.sort_by_key(|id| id.chars().rev().collect::<String>());
    assert_eq!(ids.len(), 50);
    ids
}

fn cold_calls(medusa_batches: u64) -> BTreeMap<String, u64> {
    expected(&[
        (ONLINE, 6),
        (IN_STORE, 4),
        (MEDUSA_LOGIN, 1),
        (MEDUSA_LIST, medusa_batches),
        (VIOLET_LOGIN, 1),
        (VIOLET_OFFER, 10),
    ])
}

fn assert_answered(data: &Value, ids: &[String]) {
    let offers = data["offers"].as_array().expect("offers");
    assert_eq!(offers.len(), ids.len());
    for (offer, id) in offers.iter().zip(ids) {
        assert_eq!(offer["id"], id.as_str());
    }
}

#[tokio::test]
async fn fifty_ids_with_duplicates_cost_one_call_per_medusa_batch_and_per_distinct_offer() {
    let gateway = TestGateway::start_with(|specs| {
        for spec in specs.iter_mut().filter(|s| &*s.name == "medusa") {
            spec.settings.max_batch_size = 4;
        }
    })
    .await;
    let ids = fifty_ids(&gateway.sims);
    let data = gateway.data(OFFERS, json!({ "ids": ids })).await;
    assert_answered(&data, &ids);
    // 15 distinct Medusa ids in batches of at most 4: 4 list calls.
    assert_eq!(calls(&gateway.sims), cold_calls(4));

    // The same question again is answered from memory.
    gateway.sims.reset_counts();
    let again = gateway.data(OFFERS, json!({ "ids": ids })).await;
    assert_eq!(again, data);
    assert_eq!(calls(&gateway.sims), BTreeMap::new());
}

#[tokio::test]
async fn one_offer_asked_for_by_aliases_node_and_offer_is_fetched_once() {
    let gateway = TestGateway::start().await;
    let sims = &gateway.sims;
    let medusa = GlobalId::encode(
        OfferKind::Marketplace,
        "medusa",
        &sims.medusa_data.offers[3].id,
    );
    let violet = GlobalId::encode(
        OfferKind::Marketplace,
        "violet",
        &sims.violet_data.offers[3].id.to_string(),
    );
    let data = gateway
        .data(
            "query($m: ID!, $v: ID!) {
              a: offer(id: $m) { id } b: offer(id: $m) { id } c: node(id: $m) { id }
              d: offers(ids: [$m, $m, $v]) { id } e: nodes(ids: [$v]) { id } f: offer(id: $v) { id }
            }",
            json!({ "m": medusa, "v": violet }),
        )
        .await;
    assert_eq!(data["c"]["id"], medusa.as_str());
    assert_eq!(data["f"]["id"], violet.as_str());
    assert_eq!(
        calls(sims),
        expected(&[
            (MEDUSA_LOGIN, 1),
            (MEDUSA_LIST, 1),
            (VIOLET_LOGIN, 1),
            (VIOLET_OFFER, 1)
        ])
    );
}

#[tokio::test]
async fn twenty_concurrent_identical_queries_on_a_cold_cache_cost_one_call_per_distinct_offer() {
    let gateway = TestGateway::start().await;
    let ids = fifty_ids(&gateway.sims);
    let variables = json!({ "ids": ids });
    let answers =
        futures::future::join_all((0..20).map(|_| gateway.data(OFFERS, variables.clone()))).await;
    for data in &answers {
        assert_answered(data, &ids);
    }
    // 15 distinct Medusa ids fit one batch of the default size.
    assert_eq!(calls(&gateway.sims), cold_calls(1));
}

#[tokio::test]
async fn with_caching_off_every_query_asks_the_upstreams_again() {
    let gateway = TestGateway::start_with(|specs| {
        for spec in specs.iter_mut() {
            spec.settings.cache.enabled = false;
        }
    })
    .await;
    let sims = &gateway.sims;
    let ids = fifty_ids(sims);
    for round in 0..2 {
        sims.reset_counts();
        let data = gateway.data(OFFERS, json!({ "ids": ids })).await;
        assert_answered(&data, &ids);
        let mut want = cold_calls(1);
        if round > 0 {
            // Tokens are kept; only the logins are not repeated.
            want.remove(MEDUSA_LOGIN);
            want.remove(VIOLET_LOGIN);
        }
        assert_eq!(calls(sims), want, "round {round}");
    }
}

#[tokio::test]
async fn a_listing_followed_by_its_offers_details_costs_no_extra_call() {
    let gateway = TestGateway::start().await;
    let org = "YdduYBYqSi77bPyG7XevUT";
    let listing = gateway
        .data(
            &format!(
                r#"{{
                  online: onlineOffers(organizationId: "{org}", first: 30) {{ nodes {{ id }} }}
                  medusa: marketplaceOffers(upstream: "medusa", first: 30) {{ nodes {{ id }} }}
                  violet: marketplaceOffers(upstream: "violet", first: 30) {{ nodes {{ id }} }}
                }}"#
            ),
            Value::Null,
        )
        .await;
    let ids: Vec<Value> = ["online", "medusa", "violet"]
        .iter()
        .flat_map(|list| {
            listing[*list]["nodes"]
                .as_array()
                .expect("nodes")
                .iter()
                .map(|n| n["id"].clone())
        })
        .collect();
    assert_eq!(ids.len(), 90);
    gateway.sims.reset_counts();
    let details = gateway
        .data(
            "query($ids: [ID!]!) { offers(ids: $ids) { id price { amount } ... on MarketplaceOffer { details { __typename } } } }",
            json!({ "ids": ids }),
        )
        .await;
    assert!(details["offers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| !o.is_null()));
    assert_eq!(calls(&gateway.sims), BTreeMap::new());

    // And the listing itself, asked again, is answered from memory too.
    gateway
        .data(
            &format!(r#"{{ onlineOffers(organizationId: "{org}", first: 30) {{ totalCount }} }}"#),
            Value::Null,
        )
        .await;
    assert_eq!(calls(&gateway.sims), BTreeMap::new());
}

#[tokio::test]
async fn two_credentials_for_one_upstream_never_share_answers() {
    // Two instances over the same Closient simulator, one per API key.
    let gateway = TestGateway::start_with(|specs| {
        let mut other = specs[0].clone();
        other.name = "closient-other".into();
        other.credentials = closient::sim::other_credentials();
        specs.push(other);
    })
    .await;
    let sims = &gateway.sims;
    let data = &sims.closient_data;
    let demo_orgs: Vec<String> = data
        .organizations_visible_to(&closient::sim::demo_credentials())
        .iter()
        .map(|o| o.id.clone())
        .collect();
    let other_orgs: Vec<String> = data
        .organizations_visible_to(&closient::sim::other_credentials())
        .iter()
        .map(|o| o.id.clone())
        .collect();
    let in_org = |orgs: &[String], mine: bool, theirs: &[String]| {
        data.online_offers
            .iter()
            .find(|o| {
                let org = o.organization_id.clone().unwrap_or_default();
                orgs.contains(&org) && theirs.contains(&org) != mine
            })
            .expect("an offer")
            .id
            .clone()
    };
    let shared = in_org(&demo_orgs, false, &other_orgs); // visible to both keys
    let demo_only = in_org(&demo_orgs, true, &other_orgs);
    let ids = json!([
        GlobalId::encode(OfferKind::Online, "closient", &shared),
        GlobalId::encode(OfferKind::Online, "closient-other", &shared),
        GlobalId::encode(OfferKind::Online, "closient", &demo_only),
        GlobalId::encode(OfferKind::Online, "closient-other", &demo_only),
    ]);
    for round in 0..2 {
        sims.reset_counts();
        let data = gateway
            .data(
                "query($ids: [ID!]!) { offers(ids: $ids) { upstream nativeId } }",
                json!({ "ids": ids }),
            )
            .await;
        assert_eq!(
            data["offers"],
            json!([
                { "upstream": "closient", "nativeId": shared },
                { "upstream": "closient-other", "nativeId": shared },
                { "upstream": "closient", "nativeId": demo_only },
                null,
            ]),
            "round {round}"
        );
        let want = if round == 0 {
            expected(&[(ONLINE, 4)])
        } else {
            BTreeMap::new()
        };
        assert_eq!(calls(sims), want, "round {round}");
    }
}

#[tokio::test]
async fn not_found_is_cached_for_its_own_shorter_ttl_and_errors_never() {
    let gateway = TestGateway::start_with(|specs| {
        for spec in specs.iter_mut() {
            spec.settings.cache.ttl = Duration::from_secs(3600);
            spec.settings.cache.not_found_ttl = Duration::from_millis(1);
        }
    })
    .await;
    let sims = &gateway.sims;
    let known = GlobalId::encode(
        OfferKind::Marketplace,
        "medusa",
        &sims.medusa_data.offers[0].id,
    );
    let unknown = GlobalId::encode(
        OfferKind::Marketplace,
        "medusa",
        "offer_01ARZ3NDEKTSV4RRFFQ69G5FAV",
    );
    let ids = json!([known, unknown]);
    gateway.data(OFFERS, json!({ "ids": ids })).await;
    assert_eq!(sims.medusa.control.count(MEDUSA_LIST), 1);
    // Once the short not-found TTL has passed, only the unknown id is asked again.
    tokio::time::sleep(Duration::from_millis(20)).await;
    sims.reset_counts();
    let data = gateway.data(OFFERS, json!({ "ids": ids })).await;
    assert_eq!(data["offers"][1], Value::Null);
    assert_eq!(calls(sims), expected(&[(MEDUSA_LIST, 1)]));

    // An upstream failure is not cached: the next query asks again and succeeds.
    let fresh = GlobalId::encode(
        OfferKind::Marketplace,
        "medusa",
        &sims.medusa_data.offers[1].id,
    );
    sims.medusa_data.fail_next(1, ErrorType::UnknownError);
    let failed = gateway.query(OFFERS, json!({ "ids": [fresh] })).await;
    assert_eq!(failed["data"]["offers"], json!([null]));
    assert_eq!(
        failed["errors"][0]["extensions"]["code"],
        "UPSTREAM_UNAVAILABLE"
    );
    sims.reset_counts();
    let data = gateway.data(OFFERS, json!({ "ids": [fresh] })).await;
    assert_eq!(data["offers"][0]["id"], fresh.as_str());
    assert_eq!(calls(sims), expected(&[(MEDUSA_LIST, 1)]));
}

/// Pass-through mode: each client's own credential is used, and the cache
/// never serves one client's upstream answers to another.
#[tokio::test]
async fn pass_through_clients_never_share_answers() {
    use offer_gateway::upstream::Credentials;

    let gateway = TestGateway::start_with(|specs| {
        specs[0].settings.pass_through = true;
    })
    .await;
    let sims = &gateway.sims;
    let key = |credentials: Credentials| match credentials {
        Credentials::Closient(closient::Credentials { api_key }) => api_key.expose().to_owned(),
        other => panic!("not a closient key: {other:?}"),
    };
    let demo_key = key(closient::sim::demo_credentials());
    let other_key = key(closient::sim::other_credentials());
    // An offer only the demo key may see.
    let offer = common::demo_only_online_offer(sims);
    let id = GlobalId::encode(OfferKind::Online, "closient", &offer.id);
    let ask = |client_key: Option<&str>| {
        let mut request = gateway
            .http
            .post(&gateway.url)
            .json(&json!({ "query": "query($id: ID!) { offer(id: $id) { nativeId } }", "variables": { "id": id } }));
        if let Some(client_key) = client_key {
            request = request.header("x-upstream-credential-closient", client_key);
        }
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    for round in 0..2 {
        sims.reset_counts();
        assert_eq!(
            ask(Some(&demo_key)).await["data"]["offer"]["nativeId"],
            offer.id.as_str(),
            "round {round}"
        );
        assert_eq!(
            ask(Some(&other_key)).await["data"]["offer"],
            Value::Null,
            "round {round}: the other key's own answer"
        );
        let want = if round == 0 {
            expected(&[(ONLINE, 2)])
        } else {
            BTreeMap::new()
        };
        assert_eq!(
            calls(sims),
            want,
            "round {round}: each credential's answers cached apart"
        );
    }
    // Without a client credential, the configured one (here the demo key
    // itself: the same credential, so the same cached answer) is used.
    sims.reset_counts();
    assert_eq!(
        ask(None).await["data"]["offer"]["nativeId"],
        offer.id.as_str()
    );
    assert_eq!(calls(sims), BTreeMap::new());
    // The client's key went upstream, not the gateway's.
    let response = ask(Some("csb_not_a_real_key")).await;
    assert_eq!(
        response["errors"][0]["extensions"]["code"],
        "UPSTREAM_UNAUTHORIZED"
    );
}

#[tokio::test]
async fn pass_through_tokens_replace_the_gateways_logins() {
    use offer_gateway::upstream::medusa::sim::STATIC_ADMIN_TOKEN;
    use offer_gateway::upstream::Credentials;

    let gateway = TestGateway::start_with(|specs| {
        for spec in specs.iter_mut() {
            spec.settings.pass_through = true;
        }
    })
    .await;
    let sims = &gateway.sims;
    // A Violet user token the client got itself.
    let Credentials::Violet(violet::Credentials {
        app_id,
        app_secret,
        username,
        password,
    }) = offer_gateway::upstream::violet::sim::demo_credentials()
    else {
        unreachable!()
    };
    let login: Value = gateway
        .http
        .post(sims.violet.base_url.join("/v1/login").unwrap())
        .header("X-Violet-App-Id", app_id.to_string())
        .header("X-Violet-App-Secret", app_secret.expose())
        .json(&json!({ "username": username, "password": password.expose() }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let violet_token = login["token"].as_str().expect("a token").to_owned();
    sims.reset_counts();
    let ids = json!([
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
    let response: Value = gateway
        .http
        .post(&gateway.url)
        .header("x-upstream-credential-medusa", STATIC_ADMIN_TOKEN)
        .header("x-upstream-credential-violet", &violet_token)
        .json(&json!({ "query": OFFERS, "variables": { "ids": ids } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(response.get("errors").is_none(), "{response:#}");
    assert_eq!(
        response["data"]["offers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| !o.is_null())
            .count(),
        2
    );
    // The gateway did not log in: the clients' tokens were used.
    assert_eq!(
        calls(sims),
        expected(&[(MEDUSA_LIST, 1), (VIOLET_OFFER, 1)])
    );
}

const ONLINE_PROMOTIONS: &str = "GET /retailers/api/v1/online-offers/{offer_id}/promotions";
const IN_STORE_PROMOTIONS: &str = "GET /retailers/api/v1/in-store-offers/{offer_id}/promotions";

#[tokio::test]
async fn promotions_cost_one_call_per_distinct_closient_offer_only_when_asked_and_then_none() {
    let gateway = TestGateway::start().await;
    let ids = fifty_ids(&gateway.sims);
    // Prices only: no promotion is read.
    gateway.data(OFFERS, json!({ "ids": ids })).await;
    assert_eq!(calls(&gateway.sims), cold_calls(1));

    // What a buyer pays now: one call per distinct Closient offer (6
    // online, 4 in-store), aliases and duplicates included; none for the
    // marketplace offers, which publish no promotions.
    gateway.sims.reset_counts();
    let query = "query($ids: [ID!]!) { offers(ids: $ids) { id currentPrice { amount }
        promotion { price { amount } } again: currentPrice { amount } } }";
    let data = gateway.data(query, json!({ "ids": ids })).await;
    assert_answered(&data, &ids);
    assert_eq!(
        calls(&gateway.sims),
        expected(&[(ONLINE_PROMOTIONS, 6), (IN_STORE_PROMOTIONS, 4)])
    );

    // Asked again, and compared: answered from memory (the comparison
    // loads the exchange rates once).
    gateway.sims.reset_counts();
    gateway.data(query, json!({ "ids": ids })).await;
    gateway
        .data(
            "query($ids: [ID!]!) { compareOffers(ids: $ids, currency: \"USD\") { ranked { rank } } }",
            json!({ "ids": ids }),
        )
        .await;
    assert_eq!(
        calls(&gateway.sims),
        expected(&[("GET /v1/currencies/latest", 1)])
    );
}
