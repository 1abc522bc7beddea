//! The Medusa simulator over HTTP: the seed's answer shapes, sessions,
//! listing filters, ordering and paging, `fields`, and injected failures.

use std::sync::Arc;

use serde_json::{json, Value};

use super::fields::OFFER_FIELDS;
use super::*;
use crate::sim::catalog::{Catalog, DEMO_SEED};
use crate::sim::{serve, RunningSim};
fn generate(seed: u64) -> SimData {
    SimData::generate(&Catalog::generate(seed))
}

async fn start() -> (Arc<SimData>, RunningSim) {
    let data = Arc::new(generate(DEMO_SEED));
    let sim = serve(router(data.clone())).await.expect("simulator binds");
    (data, sim)
}

async fn login(sim: &RunningSim, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(sim.base_url.join("/auth/user/emailpass").expect("url"))
        .json(&body)
        .send()
        .await
        .expect("login answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

async fn token(sim: &RunningSim) -> String {
    let (status, body) = login(sim, json!({"email": DEMO_EMAIL, "password": DEMO_PASSWORD})).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().expect("a token").to_owned()
}

async fn get_text(sim: &RunningSim, token: Option<&str>, path_and_query: &str) -> (u16, String) {
    let url = format!(
        "{}{}",
        sim.base_url.as_str().trim_end_matches('/'),
        path_and_query
    );
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("simulator answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

async fn get(sim: &RunningSim, token: Option<&str>, path_and_query: &str) -> (u16, Value) {
    let (status, text) = get_text(sim, token, path_and_query).await;
    (status, serde_json::from_str(&text).expect("JSON body"))
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

fn sorted<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let mut names = names.to_vec();
    names.sort_unstable();
    names
}

#[tokio::test]
async fn retrieve_answers_the_seed_shape_in_field_order() {
    let (data, sim) = start().await;
    let token = token(&sim).await;
    let offer = &data.offers[17];
    let (status, text) = get_text(&sim, Some(&token), &format!("/admin/offers/{}", offer.id)).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        text.starts_with(&format!(r#"{{"offer":{{"id":"{}","seller_id":"#, offer.id)),
        "{text}"
    );
    let answer: wire::OfferResponse = serde_json::from_str(&text).expect("wire shape");
    assert_eq!(&answer.offer, offer);
    let value: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(keys(&value["offer"]), sorted(OFFER_FIELDS));
    assert_eq!(keys(&value["offer"]["seller"]), ["handle", "id", "name"]);
    assert_eq!(sim.control.count("GET /admin/offers/{id}"), 1);
}

#[tokio::test]
async fn unknown_offer_is_a_medusa_not_found() {
    let (_data, sim) = start().await;
    let token = token(&sim).await;
    let id = "offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y";
    let (status, body) = get(&sim, Some(&token), &format!("/admin/offers/{id}")).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"type": "not_found", "message": format!("Offer with id: {id} was not found")})
    );
}

#[tokio::test]
async fn admin_routes_need_an_issued_token() {
    let (data, sim) = start().await;
    let path = format!("/admin/offers/{}", data.offers[0].id);
    let unauthorized = json!({"message": "Unauthorized"});
    assert_eq!(get(&sim, None, &path).await, (401, unauthorized.clone()));
    assert_eq!(
        get(&sim, Some("not-a-token"), &path).await,
        (401, unauthorized.clone())
    );
    assert_eq!(
        get(&sim, None, "/admin/offers").await,
        (401, unauthorized.clone())
    );
    let session = token(&sim).await;
    assert_eq!(get(&sim, Some(&session), &path).await.0, 200);
    assert_eq!(get(&sim, Some(STATIC_ADMIN_TOKEN), &path).await.0, 200);
    assert_eq!(data.session_count(), 1);
    data.revoke_tokens();
    assert_eq!(data.session_count(), 0);
    assert_eq!(get(&sim, Some(&session), &path).await, (401, unauthorized));
    assert_eq!(get(&sim, Some(STATIC_ADMIN_TOKEN), &path).await.0, 200);
}

#[tokio::test]
async fn login_issues_jwt_shaped_tokens_and_refuses_wrong_passwords() {
    let (data, sim) = start().await;
    let (status, body) = login(&sim, json!({"email": DEMO_EMAIL, "password": "wrong"})).await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"type": "unauthorized", "message": "Invalid email or password"})
        )
    );
    let (status, body) = login(&sim, json!({"email": DEMO_EMAIL})).await;
    assert_eq!((status, &body["type"]), (400, &json!("invalid_data")));
    let first = token(&sim).await;
    let second = token(&sim).await;
    assert_ne!(first, second);
    let parts: Vec<&str> = first.split('.').collect();
    assert_eq!(parts.len(), 3);
    let part = |i: usize| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[i]).expect("base64url")).expect("JSON")
    };
    assert_eq!(part(0), json!({"alg": "HS256", "typ": "JWT"}));
    assert_eq!(part(1)["actor_id"], json!(data.users[0].id));
    assert_eq!(part(1)["actor_type"], json!("user"));
    let (status, body) = login(
        &sim,
        json!({"email": OTHER_EMAIL, "password": OTHER_PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(data.session_count(), 3);
    // The static token is JWT-shaped too.
    assert_eq!(STATIC_ADMIN_TOKEN.split('.').count(), 3);
}

#[tokio::test]
async fn list_filters_combine_with_and_and_count_before_paging() {
    let (data, sim) = start().await;
    let token = token(&sim).await;
    let o = &data.offers;
    let query = format!(
        "/admin/offers?id[]={}&id[]={}&id={}&id%5B0%5D={}&id[]=offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y&limit=2",
        o[5].id, o[3].id, o[9].id, o[3].id
    );
    let (status, body) = get(&sim, Some(&token), &query).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], json!(3));
    assert_eq!(
        (body["offset"].clone(), body["limit"].clone()),
        (json!(0), json!(2))
    );
    let ids: Vec<&str> = body["offers"]
        .as_array()
        .expect("offers")
        .iter()
        .map(|x| x["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, [o[3].id.as_str(), o[5].id.as_str()]);

    let seller = o[5].seller_id.as_deref().expect("seller");
    let query = format!(
        "/admin/offers?id[]={}&id[]={}&id[]={}&seller_id={seller}",
        o[3].id, o[5].id, o[9].id
    );
    let (_, body) = get(&sim, Some(&token), &query).await;
    let expected: Vec<&str> = [&o[3], &o[5], &o[9]]
        .iter()
        .filter(|x| x.seller_id.as_deref() == Some(seller))
        .map(|x| x.id.as_str())
        .collect();
    let ids: Vec<&str> = body["offers"]
        .as_array()
        .expect("offers")
        .iter()
        .map(|x| x["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, expected);
    assert_eq!(body["count"], json!(expected.len()));

    let (_, body) = get(
        &sim,
        Some(&token),
        &format!("/admin/offers?seller_id={seller}&limit=0"),
    )
    .await;
    let by_seller = o
        .iter()
        .filter(|x| x.seller_id.as_deref() == Some(seller))
        .count();
    assert_eq!(
        (body["count"].clone(), body["offers"].clone()),
        (json!(by_seller), json!([]))
    );

    let with_ean = o.iter().find(|x| x.ean.is_some()).expect("an EAN");
    let ean = with_ean.ean.as_deref().expect("ean");
    let (_, body) = get(&sim, Some(&token), &format!("/admin/offers?ean={ean}")).await;
    let matching = o.iter().filter(|x| x.ean.as_deref() == Some(ean)).count();
    assert_eq!(body["count"], json!(matching));
    let sku = o
        .iter()
        .find_map(|x| x.sku.as_deref().filter(|s| !s.is_empty()))
        .expect("a SKU");
    let (_, body) = get(
        &sim,
        Some(&token),
        &format!("/admin/offers?sku={sku}&upc=nope"),
    )
    .await;
    assert_eq!(body["count"], json!(0));

    let (_, body) = get(&sim, Some(&token), "/admin/offers").await;
    assert_eq!(body["limit"], json!(DEFAULT_LIMIT));
    assert_eq!(body["count"], json!(o.len()));
    assert_eq!(
        body["offers"].as_array().map(Vec::len),
        Some(DEFAULT_LIMIT as usize)
    );
}

#[tokio::test]
async fn list_orders_by_id_and_created_at_both_ways() {
    let (data, sim) = start().await;
    let token = token(&sim).await;
    let first_id = |body: &Value| body["offers"][0]["id"].as_str().map(str::to_owned);
    let last = data.offers.last().map(|o| o.id.clone());
    let first = data.offers.first().map(|o| o.id.clone());
    for (order, expected) in [
        ("id", &first),
        ("-id", &last),
        ("created_at", &first),
        ("-created_at", &last),
    ] {
        let (status, body) = get(
            &sim,
            Some(&token),
            &format!("/admin/offers?order={order}&limit=1"),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(&first_id(&body), expected, "{order}");
    }
    let (_, body) = get(
        &sim,
        Some(&token),
        "/admin/offers?order=-updated_at&limit=2",
    )
    .await;
    let updated: Vec<&str> = body["offers"]
        .as_array()
        .expect("offers")
        .iter()
        .map(|o| o["updated_at"].as_str().expect("ts"))
        .collect();
    assert!(updated[0] >= updated[1]);
}

#[tokio::test]
async fn list_rejects_invalid_paging_and_order() {
    let (_data, sim) = start().await;
    let token = token(&sim).await;
    for query in [
        "limit=abc",
        "limit=-1",
        "offset=x",
        "offset=-5",
        "limit=1.5",
        "order=price",
        "order=-nope",
    ] {
        let (status, body) = get(&sim, Some(&token), &format!("/admin/offers?{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(body["type"], json!("invalid_data"), "{query}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[tokio::test]
async fn fields_replace_add_remove_and_expand_like_medusa() {
    let (data, sim) = start().await;
    let token = token(&sim).await;
    let offer = data
        .offers
        .iter()
        .find(|o| o.prices.len() > 1 && o.metadata.is_some())
        .expect("an offer with several prices");
    let fetch = |fields: &str| {
        let path = format!("/admin/offers/{}?fields={fields}", offer.id);
        let token = token.clone();
        let sim = &sim;
        async move { get(sim, Some(&token), &path).await }
    };
    let (_, full) = fetch("").await;
    assert_eq!(keys(&full["offer"]), sorted(OFFER_FIELDS));

    let (_, body) = fetch("sku").await;
    assert_eq!(keys(&body["offer"]), ["id", "sku"]);
    assert_eq!(body["offer"]["sku"], json!(offer.sku));

    let (_, body) = fetch("sku,*seller").await;
    assert_eq!(keys(&body["offer"]), ["id", "seller", "sku"]);
    assert_eq!(body["offer"]["seller"], full["offer"]["seller"]);

    let (_, body) = fetch("-prices,-inventory_items,-id").await;
    let mut expected: Vec<&str> = OFFER_FIELDS
        .iter()
        .copied()
        .filter(|f| !["prices", "inventory_items"].contains(f))
        .collect();
    expected.sort_unstable();
    assert_eq!(keys(&body["offer"]), expected);

    // `+` must be sent as %2B; an unencoded `+` decodes to a space, which Medusa reads as `+` too.
    assert_eq!(fetch("%2Bsku,*prices").await.1, full);
    assert_eq!(fetch("+sku").await.1, full);
    let (_, body) = fetch("id,%2Bupc").await;
    assert_eq!(keys(&body["offer"]), ["id", "upc"]);

    let (_, body) = fetch("seller.name").await;
    assert_eq!(keys(&body["offer"]), ["id", "seller"]);
    assert_eq!(keys(&body["offer"]["seller"]), ["id", "name"]);

    let (_, body) = fetch("prices.amount,prices.currency_code,metadata").await;
    assert_eq!(keys(&body["offer"]), ["id", "metadata", "prices"]);
    for price in body["offer"]["prices"].as_array().expect("prices") {
        assert_eq!(keys(price), ["amount", "currency_code", "id"]);
    }
    let (_, body) = fetch("product_variant.*").await;
    assert_eq!(
        body["offer"]["product_variant"],
        full["offer"]["product_variant"]
    );

    for bad in [
        "foo",
        "*sku",
        "*nope",
        "-seller.name",
        "seller.nope",
        "%2Bfoo",
        "-bar",
    ] {
        let (status, body) = fetch(bad).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(body["type"], json!("invalid_data"), "{bad}");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Requested fields [")),
            "{body}"
        );
    }

    let (_, body) = get(&sim, Some(&token), "/admin/offers?fields=id&limit=3").await;
    for listed in body["offers"].as_array().expect("offers") {
        assert_eq!(keys(listed), ["id"]);
    }
}

#[tokio::test]
async fn injected_failures_answer_medusa_error_bodies() {
    let (data, sim) = start().await;
    let token = token(&sim).await;
    data.fail_next(2, ErrorType::UnknownError);
    let unknown = json!({"code": "unknown_error", "type": "unknown_error", "message": "An unknown error occurred."});
    assert_eq!(
        get(&sim, Some(&token), "/admin/offers").await,
        (500, unknown.clone())
    );
    assert_eq!(
        get(&sim, Some(&token), "/admin/offers").await,
        (500, unknown)
    );
    assert_eq!(get(&sim, Some(&token), "/admin/offers").await.0, 200);
    data.fail_next(1, ErrorType::Forbidden);
    let (status, body) = get(&sim, Some(&token), "/admin/offers").await;
    assert_eq!((status, &body["type"]), (403, &json!("forbidden")));
    // Unauthenticated requests do not use up an injected failure.
    data.fail_next(1, ErrorType::Conflict);
    assert_eq!(get(&sim, None, "/admin/offers").await.0, 401);
    assert_eq!(get(&sim, Some(&token), "/admin/offers").await.0, 409);
}

/// The ids of a list answer's offers.
fn listed_ids(body: &Value) -> Vec<String> {
    body["offers"]
        .as_array()
        .expect("offers")
        .iter()
        .map(|x| x["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Every offer id of a listing with `query` (`order`, filters), paged
/// through 97 at a time, and the `count` every page announced.
async fn whole_listing(sim: &RunningSim, token: &str, query: &str) -> (Vec<String>, u64) {
    let mut ids = Vec::new();
    let mut count = None;
    loop {
        let path = format!("/admin/offers?{query}&limit=97&offset={}", ids.len());
        let (status, body) = get(sim, Some(token), &path).await;
        assert_eq!(status, 200, "{path}: {body}");
        let total = body["count"].as_u64().expect("count");
        assert_eq!(*count.get_or_insert(total), total, "the count holds");
        let page = listed_ids(&body);
        if page.is_empty() {
            break;
        }
        ids.extend(page);
    }
    (ids, count.unwrap_or(0))
}

#[tokio::test]
async fn an_added_offer_is_listed_last_counted_and_fetchable_by_id() {
    let (data, sim) = start().await;
    let token = token(&sim).await;
    let total = data.offers.len();
    let barcode = crate::sim::catalog::with_check_digit("400000000042");
    assert!(data.offers.iter().all(|o| o.ean.as_ref() != Some(&barcode)));
    let template = data.offers[10].clone();
    let fresh = data
        .new_offer_like(&template.id, Some(&barcode))
        .expect("a known template");
    assert!(crate::upstream::medusa::id::canonical_offer_id(&fresh.id).is_ok());
    assert_eq!(
        (fresh.ean.as_ref(), fresh.upc.as_ref()),
        (Some(&barcode), None)
    );
    data.add_offer(fresh.clone());
    let served = data.current_offer(&fresh.id).expect("served");
    assert_eq!(served.created_at, fresh.created_at);
    assert!(served.updated_at > fresh.updated_at, "stamped on adding");

    // Last in the default order (created_at), by id, and first by latest change.
    for order in ["", "order=id", "order=created_at"] {
        let (ids, count) = whole_listing(&sim, &token, order).await;
        assert_eq!(count, total as u64 + 1, "{order}");
        assert_eq!(ids.len(), total + 1);
        assert_eq!(ids.last(), Some(&fresh.id), "{order}");
        let generated: Vec<&String> = data.offers.iter().map(|o| &o.id).collect();
        assert_eq!(
            ids[..total].iter().collect::<Vec<_>>(),
            generated,
            "{order}"
        );
    }
    for order in ["-updated_at", "-created_at", "-id"] {
        let (_, body) = get(
            &sim,
            Some(&token),
            &format!("/admin/offers?order={order}&limit=1"),
        )
        .await;
        assert_eq!(listed_ids(&body), [fresh.id.as_str()], "{order}");
    }
    let (_, body) = get(
        &sim,
        Some(&token),
        "/admin/offers?order=updated_at&offset=0",
    )
    .await;
    assert_ne!(listed_ids(&body)[0], fresh.id);

    let (status, body) = get(&sim, Some(&token), &format!("/admin/offers/{}", fresh.id)).await;
    assert_eq!(status, 200, "{body}");
    let answer: wire::OfferResponse = serde_json::from_value(body).expect("wire shape");
    assert_eq!(answer.offer, served);
    let query = format!(
        "/admin/offers?id[]={}&id[]={}&fields=id,ean",
        fresh.id, data.offers[0].id
    );
    let (_, body) = get(&sim, Some(&token), &query).await;
    assert_eq!(body["count"], json!(2));
    assert_eq!(
        listed_ids(&body),
        [data.offers[0].id.clone(), fresh.id.clone()]
    );
    let (_, body) = get(&sim, Some(&token), &format!("/admin/offers?ean={barcode}")).await;
    assert_eq!(body["count"], json!(1));
    assert_eq!(body["offers"][0]["ean"], json!(barcode));
}

#[tokio::test]
async fn a_removed_offer_is_a_medusa_not_found_and_leaves_listings_and_multi_gets() {
    let (data, sim) = start().await;
    let token = token(&sim).await;
    let gone = data.offers[5].clone();
    let kept = data.offers[6].clone();
    assert!(data.remove_offer(&gone.id));
    assert!(!data.remove_offer(&gone.id), "already gone");
    assert!(!data.remove_offer("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y"));

    let (status, body) = get(&sim, Some(&token), &format!("/admin/offers/{}", gone.id)).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"type": "not_found", "message": format!("Offer with id: {} was not found", gone.id)})
    );
    let query = format!("/admin/offers?id[]={}&id[]={}", gone.id, kept.id);
    let (_, body) = get(&sim, Some(&token), &query).await;
    assert_eq!(body["count"], json!(1));
    assert_eq!(listed_ids(&body), [kept.id.as_str()]);
    let seller = gone.seller_id.clone().expect("a seller");
    let (_, body) = get(
        &sim,
        Some(&token),
        &format!("/admin/offers?seller_id={seller}&limit=0"),
    )
    .await;
    let by_seller = data
        .offers
        .iter()
        .filter(|o| o.seller_id.as_ref() == Some(&seller))
        .count();
    assert_eq!(body["count"], json!(by_seller - 1));

    let (ids, count) = whole_listing(&sim, &token, "order=id").await;
    assert_eq!(count, data.offers.len() as u64 - 1);
    let want: Vec<String> = data
        .offers
        .iter()
        .filter(|o| o.id != gone.id)
        .map(|o| o.id.clone())
        .collect();
    assert_eq!(ids, want, "the others, in order");
    assert_eq!(data.current_offers().len(), data.offers.len() - 1);
    assert_eq!(data.offer(&gone.id), Some(&gone), "still generated");

    // Added again: served again, in its place by creation, first by change.
    data.add_offer(gone.clone());
    let (status, body) = get(&sim, Some(&token), &format!("/admin/offers/{}", gone.id)).await;
    assert_eq!(status, 200);
    assert_eq!(body["offer"]["created_at"], json!(gone.created_at));
    assert_ne!(body["offer"]["updated_at"], json!(gone.updated_at));
    let (ids, count) = whole_listing(&sim, &token, "").await;
    assert_eq!(count, data.offers.len() as u64);
    assert_eq!(ids[5], gone.id);
    let (_, body) = get(
        &sim,
        Some(&token),
        "/admin/offers?order=-updated_at&limit=1",
    )
    .await;
    assert_eq!(listed_ids(&body), [gone.id.as_str()]);
    data.reset_offers();
    assert_eq!(data.current_offer(&gone.id), Some(gone));
}

#[tokio::test]
async fn updated_at_order_follows_the_latest_additions() {
    let (data, sim) = start().await;
    let token = token(&sim).await;
    let first = data
        .new_offer_like(&data.offers[0].id, None)
        .expect("template");
    let second = data
        .new_offer_like(&data.offers[1].id, None)
        .expect("template");
    assert!(first.id < second.id && first.created_at < second.created_at);
    // Added in the other order: creation and change orders differ.
    data.add_offer(second.clone());
    data.add_offer(first.clone());
    let (_, body) = get(
        &sim,
        Some(&token),
        "/admin/offers?order=-updated_at&limit=2",
    )
    .await;
    assert_eq!(listed_ids(&body), [first.id.clone(), second.id.clone()]);
    let (_, body) = get(
        &sim,
        Some(&token),
        "/admin/offers?order=-created_at&limit=2",
    )
    .await;
    assert_eq!(listed_ids(&body), [second.id.clone(), first.id.clone()]);
    let (ids, _) = whole_listing(&sim, &token, "order=updated_at").await;
    assert_eq!(ids[ids.len() - 2..], [second.id.clone(), first.id.clone()]);
    let stamps: Vec<String> = [&second.id, &first.id]
        .iter()
        .map(|id| {
            data.current_offer(id)
                .and_then(|o| o.updated_at)
                .expect("stamped")
        })
        .collect();
    let latest_generated = data
        .offers
        .iter()
        .filter_map(|o| o.updated_at.clone())
        .max();
    assert!(Some(&stamps[0]) > latest_generated.as_ref());
    assert!(stamps[0] < stamps[1]);
}

#[test]
fn new_offers_get_fresh_ids_for_themselves_and_their_relations() {
    let data = generate(DEMO_SEED);
    assert!(data
        .new_offer_like("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y", None)
        .is_none());
    let template = data
        .offers
        .iter()
        .find(|o| {
            o.prices.iter().any(|p| {
                p.price_rules
                    .as_ref()
                    .and_then(Value::as_array)
                    .is_some_and(|r| !r.is_empty())
            })
        })
        .expect("an offer with a price rule")
        .clone();
    let fresh = data
        .new_offer_like(&template.id, Some("012345678905"))
        .expect("template");
    assert_ne!(fresh.id, template.id);
    assert!(data.offers.iter().all(|o| o.id < fresh.id));
    assert_eq!(
        (fresh.ean.as_deref(), fresh.upc.as_deref()),
        (None, Some("012345678905"))
    );
    assert_eq!(fresh.sku, template.sku);
    assert_eq!(fresh.seller, template.seller);
    assert_eq!(fresh.prices.len(), template.prices.len());
    for (new, old) in fresh.prices.iter().zip(&template.prices) {
        assert_ne!(new.id, old.id);
        assert_eq!(
            (&new.amount, &new.currency_code),
            (&old.amount, &old.currency_code)
        );
        for rule in new
            .price_rules
            .as_ref()
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            assert_eq!(rule["price_id"], json!(new.id));
        }
    }
    for (new, old) in fresh.inventory_items.iter().zip(&template.inventory_items) {
        assert_ne!(new.id, old.id);
        assert_eq!(new.inventory_item_id.as_ref(), Some(&new.id));
    }
    // A removed offer still serves as a template; the fresh one is not served.
    assert!(data.remove_offer(&template.id));
    assert!(data.new_offer_like(&template.id, None).is_some());
    assert!(data.current_offer(&fresh.id).is_none());
}
