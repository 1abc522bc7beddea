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
