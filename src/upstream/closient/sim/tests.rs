//! The Closient simulator over HTTP: authentication, validation, paging,
//! visibility between keys, the legacy listing of in-store offers,
//! products (by GTIN and by id), promotions and rate limits.

use std::collections::BTreeSet;
use std::sync::Arc;

use reqwest::StatusCode as Status;
use serde_json::Value;

use super::*;
use crate::sim::catalog::{self, Catalog};
use crate::sim::serve;
use crate::upstream::closient;
use crate::upstream::closient::wire::{
    LegacyOfferOut, LegacyStatus, OfferStatus, Page, PaginationMeta, PromotionOut, PromotionType,
};
fn demo_key() -> String {
    key_of(&demo_credentials())
}

fn key_of(credentials: &Credentials) -> String {
    match credentials {
        Credentials::Closient(closient::Credentials { api_key }) => api_key.expose().to_owned(),
        _ => unreachable!("Closient credentials"),
    }
}

fn data() -> SimData {
    SimData::generate(&Catalog::demo())
}

async fn start() -> (crate::sim::RunningSim, Arc<SimData>) {
    let data = Arc::new(data());
    let running = serve(router(data.clone())).await.expect("simulator starts");
    (running, data)
}

async fn get(
    running: &crate::sim::RunningSim,
    path: &str,
    key: Option<&str>,
) -> (Status, reqwest::header::HeaderMap, Value) {
    let mut request = reqwest::Client::new().get(running.base_url.join(path).unwrap());
    if let Some(key) = key {
        request = request.header("X-API-Key", key);
    }
    let response = request.send().await.expect("simulator answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json().await.expect("JSON body");
    (status, headers, body)
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

fn org_of(data: &SimData, credentials: &Credentials, not_of: &Credentials) -> String {
    let theirs: Vec<_> = data
        .organizations_visible_to(not_of)
        .iter()
        .map(|o| o.id.clone())
        .collect();
    data.organizations_visible_to(credentials)
        .iter()
        .find(|o| !theirs.contains(&o.id))
        .expect("an organization of its own")
        .id
        .clone()
}

#[tokio::test]
async fn requests_without_a_valid_key_get_the_401_envelope() {
    let (running, data) = start().await;
    let path = format!(
        "/retailers/api/v1/online-offers/{}",
        data.online_offers[0].id
    );
    for key in [
        None,
        Some(""),
        Some("csb_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_00000000"),
    ] {
        let (status, headers, body) = get(&running, &path, key).await;
        assert_eq!(status, Status::UNAUTHORIZED, "{key:?}");
        assert_eq!(error_code(&body), "UNAUTHORIZED");
        assert_eq!(body["error"]["status"], 401);
        assert!(body["error"]["message"].is_string());
        assert!(body["error"]["details"].is_array());
        assert!(headers.get("ratelimit-limit").is_none());
    }
    // The bearer form is accepted too.
    let response = reqwest::Client::new()
        .get(running.base_url.join(&path).unwrap())
        .bearer_auth(demo_key())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), Status::OK);
    let offer: OnlineOfferOut = response.json().await.unwrap();
    assert_eq!(offer, data.online_offers[0]);
}

#[tokio::test]
async fn pagination_parameters_are_validated() {
    let (running, data) = start().await;
    let key = demo_key();
    let base = format!(
        "/retailers/api/v1/organizations/{}/online-offers",
        data.organizations[0].id
    );
    for (query, field) in [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        ("page_size=", "page_size"),
    ] {
        let (status, _, body) = get(&running, &format!("{base}?{query}"), Some(&key)).await;
        assert_eq!(status, Status::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(error_code(&body), "VALIDATION_ERROR");
        assert_eq!(body["error"]["status"], 422);
        assert_eq!(body["error"]["details"][0]["field"], field, "{query}");
        assert!(body["error"]["details"][0]["message"].is_string());
    }
    let (_, _, body) = get(
        &running,
        &format!("{base}?page=0&page_size=500"),
        Some(&key),
    )
    .await;
    assert_eq!(body["error"]["details"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn listing_pages_through_an_organization_and_past_its_end() {
    let (running, data) = start().await;
    let key = demo_key();
    let org = &data.organizations[0].id;
    let all = data.organization_online_offers(org);
    let total = all.len() as u64;
    let base = format!("/retailers/api/v1/organizations/{org}/online-offers");
    let (status, _, body) = get(&running, &base, Some(&key)).await;
    assert_eq!(status, Status::OK);
    let page: Page<OnlineOfferOut> = serde_json::from_value(body).unwrap();
    assert_eq!(page.data.len(), 25);
    assert_eq!(
        page.pagination,
        PaginationMeta {
            page: 1,
            page_size: 25,
            total_count: total,
            total_pages: total.div_ceil(25),
            has_next: true,
            has_previous: false
        }
    );
    let last = total.div_ceil(100);
    let (_, _, body) = get(
        &running,
        &format!("{base}?page={last}&page_size=100"),
        Some(&key),
    )
    .await;
    let page: Page<OnlineOfferOut> = serde_json::from_value(body).unwrap();
    assert_eq!(page.data.len() as u64, total - (last - 1) * 100);
    assert_eq!(&page.data[0], all[(last as usize - 1) * 100]);
    assert!(!page.pagination.has_next && page.pagination.has_previous);
    let (status, _, body) = get(
        &running,
        &format!("{base}?page={}&page_size=100", last + 5),
        Some(&key),
    )
    .await;
    assert_eq!(status, Status::OK);
    let page: Page<OnlineOfferOut> = serde_json::from_value(body).unwrap();
    assert!(page.data.is_empty());
    assert_eq!(page.pagination.total_count, total);
    assert_eq!(page.pagination.total_pages, last);
    assert!(!page.pagination.has_next && page.pagination.has_previous);
}

#[tokio::test]
async fn malformed_ids_are_422_and_uuid_ids_are_accepted() {
    let (running, data) = start().await;
    let key = demo_key();
    for (path, field) in [
        (
            "/retailers/api/v1/online-offers/not-an-id".to_owned(),
            "offer_id",
        ),
        (
            "/retailers/api/v1/in-store-offers/0000000000000000000000".to_owned(),
            "offer_id",
        ),
        (
            "/retailers/api/v1/organizations/zzzzzzzzzzzzzzzzzzzzzz/online-offers".to_owned(),
            "organization_id",
        ),
    ] {
        let (status, _, body) = get(&running, &path, Some(&key)).await;
        assert_eq!(status, Status::UNPROCESSABLE_ENTITY, "{path}");
        assert_eq!(body["error"]["details"][0]["field"], field);
    }
    let offer = &data.in_store_offers[0];
    let uuid = shortuuid::format_uuid(shortuuid::decode(&offer.id).unwrap());
    let (status, _, body) = get(
        &running,
        &format!("/retailers/api/v1/in-store-offers/{uuid}"),
        Some(&key),
    )
    .await;
    assert_eq!(status, Status::OK);
    assert_eq!(
        serde_json::from_value::<InStoreOfferOut>(body).unwrap(),
        *offer
    );
    let org_uuid = shortuuid::format_uuid(data.organizations[0].uuid);
    let path = format!("/retailers/api/v1/organizations/{org_uuid}/online-offers");
    assert_eq!(get(&running, &path, Some(&key)).await.0, Status::OK);
}

#[tokio::test]
async fn another_organizations_data_is_404_exactly_like_missing_data() {
    let (running, data) = start().await;
    let key = demo_key();
    let theirs = org_of(&data, &other_credentials(), &demo_credentials());
    let offer = data.organization_online_offers(&theirs)[0].id.clone();
    let (status, _, hidden) = get(
        &running,
        &format!("/retailers/api/v1/online-offers/{offer}"),
        Some(&key),
    )
    .await;
    assert_eq!(status, Status::NOT_FOUND);
    let missing = shortuuid::encode(42);
    let (_, _, absent) = get(
        &running,
        &format!("/retailers/api/v1/online-offers/{missing}"),
        Some(&key),
    )
    .await;
    assert_eq!(hidden, absent, "existence is not leaked");
    assert_eq!(error_code(&hidden), "NOT_FOUND");
    let list = |org: &str| format!("/retailers/api/v1/organizations/{org}/online-offers");
    let (status, _, hidden) = get(&running, &list(&theirs), Some(&key)).await;
    assert_eq!(status, Status::NOT_FOUND);
    let (_, _, absent) = get(&running, &list(&missing), Some(&key)).await;
    assert_eq!(hidden, absent);
    let other = key_of(&other_credentials());
    assert_eq!(
        get(&running, &list(&theirs), Some(&other)).await.0,
        Status::OK
    );
    let in_store = data
        .in_store_offers
        .iter()
        .find(|o| o.organization_id.as_deref() == Some(theirs.as_str()))
        .unwrap();
    let path = format!("/retailers/api/v1/in-store-offers/{}", in_store.id);
    assert_eq!(get(&running, &path, Some(&key)).await.0, Status::NOT_FOUND);
    assert_eq!(get(&running, &path, Some(&other)).await.0, Status::OK);
}

#[tokio::test]
async fn products_are_found_by_gtin_14_ean_13_and_upc_a() {
    let (running, data) = start().await;
    let key = demo_key();
    let catalog = Catalog::demo();
    for product in catalog.products.iter().take(3) {
        for code in [&product.gtin, &product.barcode] {
            let (status, _, body) = get(
                &running,
                &format!("/products/api/v1/products/{code}"),
                Some(&key),
            )
            .await;
            assert_eq!(status, Status::OK, "{code}");
            let answer: ProductOut = serde_json::from_value(body).unwrap();
            assert_eq!(answer.gtin, product.gtin);
            assert_eq!(answer.id, shortuuid::encode(product.uuid));
            assert_eq!(answer.product_name, product.name);
            assert_eq!(answer.brand, product.brand);
            assert_eq!(&answer, &data.products[product.index]);
            assert!(data.online_offers.iter().any(|o| o.product_id == answer.id));
        }
    }
    let gtin = &catalog.products[0].gtin;
    let wrong_check = format!("{}{}", &gtin[..13], (gtin.as_bytes()[13] - b'0' + 1) % 10);
    for bad in ["123", "abcdefghijklmn", wrong_check.as_str()] {
        let (status, _, body) = get(
            &running,
            &format!("/products/api/v1/products/{bad}"),
            Some(&key),
        )
        .await;
        assert_eq!(status, Status::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(body["error"]["details"][0]["field"], "gtin");
    }
    let unknown = catalog::with_check_digit("9999999999999");
    let (status, _, body) = get(
        &running,
        &format!("/products/api/v1/products/{unknown}"),
        Some(&key),
    )
    .await;
    assert_eq!(
        (status, error_code(&body)),
        (Status::NOT_FOUND, "NOT_FOUND")
    );
}

#[tokio::test]
async fn rate_limit_headers_are_on_every_answer_and_429_says_when_to_retry() {
    let (running, data) = start().await;
    let key = demo_key();
    let ok = format!(
        "/retailers/api/v1/online-offers/{}",
        data.online_offers[0].id
    );
    let missing = format!("/retailers/api/v1/online-offers/{}", shortuuid::encode(7));
    let (_, headers, _) = get(&running, &ok, Some(&key)).await;
    assert_eq!(headers["ratelimit-limit"], "300");
    assert_eq!(headers["ratelimit-remaining"], "299");
    let reset: u64 = headers["ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&reset));
    assert!(headers.get("retry-after").is_none());
    let (status, headers, _) = get(&running, &missing, Some(&key)).await;
    assert_eq!(status, Status::NOT_FOUND);
    assert_eq!(headers["ratelimit-remaining"], "298");

    data.set_minute_limit(Some(3));
    let (status, headers, _) = get(&running, &ok, Some(&key)).await;
    assert_eq!(
        (status, &headers["ratelimit-remaining"]),
        (Status::OK, &HeaderValue::from(0))
    );
    let (status, headers, body) = get(&running, &ok, Some(&key)).await;
    assert_eq!(status, Status::TOO_MANY_REQUESTS);
    assert_eq!(error_code(&body), "RATE_LIMITED");
    assert_eq!(headers["ratelimit-limit"], "3");
    assert_eq!(headers["ratelimit-remaining"], "0");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    // Keys are limited separately.
    let (status, _, _) = get(&running, &ok, Some(&key_of(&other_credentials()))).await;
    assert_ne!(status, Status::TOO_MANY_REQUESTS);

    data.set_minute_limit(None);
    let (status, headers, _) = get(&running, &ok, Some(&key)).await;
    assert_eq!(status, Status::OK);
    assert_eq!(
        headers["ratelimit-limit"], "10000",
        "the daily window remains"
    );
    data.set_day_limit(Some(4)); // four requests counted today so far
    assert_eq!(
        get(&running, &ok, Some(&key)).await.0,
        Status::TOO_MANY_REQUESTS
    );
    data.set_day_limit(None);
    let (status, headers, _) = get(&running, &ok, Some(&key)).await;
    assert_eq!(status, Status::OK);
    assert!(
        headers.get("ratelimit-limit").is_none(),
        "no limits, no headers"
    );
    data.set_minute_limit(Some(MINUTE_LIMIT));
    data.reset_rate_limits();
    let (_, headers, _) = get(&running, &ok, Some(&key)).await;
    assert_eq!(headers["ratelimit-remaining"], "299");
}

#[tokio::test]
async fn unknown_paths_answer_the_404_envelope() {
    let (running, _) = start().await;
    let (status, _, body) = get(&running, "/retailers/api/v1/nothing", Some(&demo_key())).await;
    assert_eq!(
        (status, error_code(&body)),
        (Status::NOT_FOUND, "NOT_FOUND")
    );
}

fn legacy_list(org: &str) -> String {
    format!("/retailers/api/v1/organizations/{org}/offers")
}

fn uuid_of(id: &str) -> String {
    shortuuid::format_uuid(shortuuid::decode(id).expect("a shortuuid"))
}

#[tokio::test]
async fn legacy_listing_pages_to_exactly_the_organizations_in_store_offers_each_fetchable() {
    let (running, data) = start().await;
    let key = demo_key();
    let org = &data.organizations[0];
    let expected = data.organization_in_store_offers(&org.id);
    let total = expected.len() as u64;
    assert!(total > 150, "{total} in-store offers");
    assert!(data
        .in_store_offers
        .iter()
        .any(|o| o.organization_id.as_deref() != Some(org.id.as_str())));
    let mut listed = Vec::new();
    for page in 1.. {
        let path = format!("{}?page={page}&page_size=37", legacy_list(&org.id));
        let (status, headers, body) = get(&running, &path, Some(&key)).await;
        assert_eq!(status, Status::OK);
        assert!(headers.get("ratelimit-remaining").is_some());
        let page_body: Page<LegacyOfferOut> = serde_json::from_value(body).unwrap();
        assert_eq!(page_body.pagination.total_count, total);
        assert_eq!(page_body.pagination.total_pages, total.div_ceil(37));
        assert_eq!(page_body.pagination.has_previous, page > 1);
        let more = page_body.pagination.has_next;
        listed.extend(page_body.data);
        if !more {
            break;
        }
    }
    assert_eq!(listed, data.organization_legacy_offers(&org.id));
    let want: Vec<String> = expected.iter().map(|o| uuid_of(&o.id)).collect();
    let got: Vec<String> = listed.iter().map(|o| o.id.clone()).collect();
    assert_eq!(
        got, want,
        "exactly the organization's in-store offers, in order"
    );
    let org_uuid = shortuuid::format_uuid(org.uuid);
    for (legacy, offer) in listed.iter().zip(&expected) {
        assert_eq!(legacy.product_id, uuid_of(&offer.product_id));
        assert_eq!(legacy.retailer_id, Some(uuid_of(&offer.physical_store_id)));
        assert_eq!(legacy.organization_id.as_deref(), Some(org_uuid.as_str()));
        assert_eq!(legacy.sku, offer.sku);
        assert_eq!(legacy.url, "");
        let price = offer.price.as_ref().unwrap();
        assert_eq!(legacy.price, price.amount);
        assert_eq!(legacy.price_currency, price.currency);
        assert_eq!(
            legacy.status == LegacyStatus::Active,
            offer.status == OfferStatus::Active
        );
        assert_eq!(legacy.quantity_on_hand, offer.quantity_on_hand);
        assert_eq!(legacy.is_verified, offer.is_verified);
    }
    let statuses: std::collections::HashSet<_> = listed.iter().map(|o| o.status.clone()).collect();
    let sources: BTreeSet<_> = listed
        .iter()
        .map(|o| o.source.as_str().to_owned())
        .collect();
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    assert_eq!(
        sources,
        ["feed", "manual", "scraper"].map(String::from).into()
    );
    assert!(listed.iter().any(|o| o.price.is_none()));
    assert!(listed.iter().any(|o| o.price_currency == "CAD"));
    // Every listed id (a canonical UUID) is an in-store offer id.
    for legacy in listed.iter().step_by(7) {
        let path = format!("/retailers/api/v1/in-store-offers/{}", legacy.id);
        let (status, _, body) = get(&running, &path, Some(&key)).await;
        assert_eq!(status, Status::OK, "{}", legacy.id);
        let offer: InStoreOfferOut = serde_json::from_value(body).unwrap();
        assert_eq!(uuid_of(&offer.id), legacy.id);
    }
    // Defaults, the UUID form of the organization, and past the end.
    let (_, _, body) = get(&running, &legacy_list(&org_uuid), Some(&key)).await;
    let first: Page<LegacyOfferOut> = serde_json::from_value(body).unwrap();
    assert_eq!(first.data, listed[..25]);
    assert_eq!((first.pagination.page, first.pagination.page_size), (1, 25));
    let path = format!("{}?page=99&page_size=100", legacy_list(&org.id));
    let (status, _, body) = get(&running, &path, Some(&key)).await;
    assert_eq!(status, Status::OK);
    let past: Page<LegacyOfferOut> = serde_json::from_value(body).unwrap();
    assert!(past.data.is_empty() && !past.pagination.has_next);
    assert_eq!(past.pagination.total_count, total);
}

#[tokio::test]
async fn legacy_listing_validates_paging_and_the_organization_id() {
    let (running, data) = start().await;
    let key = demo_key();
    let base = legacy_list(&data.organizations[0].id);
    for (query, field) in [
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
    ] {
        let (status, _, body) = get(&running, &format!("{base}?{query}"), Some(&key)).await;
        assert_eq!(status, Status::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(error_code(&body), "VALIDATION_ERROR");
        assert_eq!(body["error"]["details"][0]["field"], field, "{query}");
    }
    let path = format!(
        "{}?page=0",
        legacy_list("3c90c3cc-0d44-4b50-8888-8dd2573605zz")
    );
    let (status, _, body) = get(&running, &path, Some(&key)).await;
    assert_eq!(status, Status::UNPROCESSABLE_ENTITY);
    let fields: Vec<_> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].clone())
        .collect();
    assert_eq!(fields, ["organization_id", "page"]);
    let (status, _, body) = get(&running, &base, None).await;
    assert_eq!(
        (status, error_code(&body)),
        (Status::UNAUTHORIZED, "UNAUTHORIZED")
    );
}

#[tokio::test]
async fn legacy_listing_of_an_organization_the_key_cannot_view_is_404_like_a_missing_one() {
    let (running, data) = start().await;
    let theirs = org_of(&data, &other_credentials(), &demo_credentials());
    let (status, _, hidden) = get(&running, &legacy_list(&theirs), Some(&demo_key())).await;
    assert_eq!(status, Status::NOT_FOUND);
    let (_, _, absent) = get(
        &running,
        &legacy_list(&shortuuid::encode(42)),
        Some(&demo_key()),
    )
    .await;
    assert_eq!(hidden, absent, "existence is not leaked");
    assert_eq!(error_code(&hidden), "NOT_FOUND");
    let other = key_of(&other_credentials());
    let (status, _, body) = get(&running, &legacy_list(&theirs), Some(&other)).await;
    assert_eq!(status, Status::OK);
    assert_eq!(
        body["pagination"]["total_count"],
        data.organization_in_store_offers(&theirs).len()
    );
}

#[tokio::test]
async fn products_are_browsed_by_shortuuid_and_uuid_and_unknown_ids_are_404() {
    let (running, data) = start().await;
    let key = demo_key();
    let catalog = Catalog::demo();
    for product in catalog.products.iter().take(5) {
        let short = shortuuid::encode(product.uuid);
        for id in [short.clone(), shortuuid::format_uuid(product.uuid)] {
            let path = format!("/products/api/v1/browse/products/{id}");
            let (status, headers, body) = get(&running, &path, Some(&key)).await;
            assert_eq!(status, Status::OK, "{id}");
            assert!(headers.get("ratelimit-limit").is_some());
            let browse: ProductBrowseOut = serde_json::from_value(body).unwrap();
            assert_eq!(browse.id, short);
            assert_eq!(browse.gtin, product.gtin);
            assert_eq!(browse.product_name, product.name);
            assert_eq!(browse.brand, product.brand);
            assert_eq!(browse.owner_id.is_some(), browse.is_claimed);
            let created = browse.created.clone().unwrap();
            assert!(
                created.len() == 20 && created.ends_with('Z') && &created[10..11] == "T",
                "{created}"
            );
            assert_eq!(data.browse_product(&id), Some(&browse));
        }
    }
    // Another key sees the same products: they are not per organization.
    let path = format!(
        "/products/api/v1/browse/products/{}",
        data.browse_products[0].id
    );
    let other = key_of(&other_credentials());
    assert_eq!(get(&running, &path, Some(&other)).await.0, Status::OK);
    let (status, _, body) = get(
        &running,
        &format!("/products/api/v1/browse/products/{}", shortuuid::encode(42)),
        Some(&key),
    )
    .await;
    assert_eq!(
        (status, error_code(&body)),
        (Status::NOT_FOUND, "NOT_FOUND")
    );
    let (status, _, body) = get(
        &running,
        "/products/api/v1/browse/products/not-a-product-id",
        Some(&key),
    )
    .await;
    assert_eq!(status, Status::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"][0]["field"], "id");
    assert_eq!(get(&running, &path, None).await.0, Status::UNAUTHORIZED);
}

#[test]
fn product_records_vary_like_the_documented_fields_allow() {
    let data = data();
    assert_eq!(data.products.len(), data.browse_products.len());
    let claimed = data.products.iter().filter(|p| p.is_claimed).count();
    assert!(claimed > data.products.len() / 3 && claimed < data.products.len() * 3 / 4);
    for (full, browse) in data.products.iter().zip(&data.browse_products) {
        assert_eq!(
            (&full.id, &full.gtin, &full.product_name, &full.brand),
            (
                &browse.id,
                &browse.gtin,
                &browse.product_name,
                &browse.brand
            )
        );
        assert_eq!(
            (full.is_claimed, &full.owner_id, &full.description),
            (browse.is_claimed, &browse.owner_id, &browse.description)
        );
        assert!(
            full.image_url.is_empty()
                || full.image_url
                    == format!(
                        "https://cdn.closient.com/products/{}/primary.jpg",
                        full.gtin
                    )
        );
        let score = full.confidence_score.unwrap();
        assert!((0.0..=1.0).contains(&score));
    }
    assert!(data.products.iter().any(|p| p.image_url.is_empty()));
    assert!(data.products.iter().any(|p| p.description.is_empty()));
    assert!(data.products.iter().any(|p| p.manufacturer.is_empty()));
    // One claim owner per brand.
    let mut owners = std::collections::HashMap::new();
    for p in data.products.iter().filter(|p| p.is_claimed) {
        let owner = owners.entry(p.brand.clone()).or_insert(p.owner_id.clone());
        assert_eq!(owner, &p.owner_id);
    }
}

/// Every item of a listing, paged through 37 at a time, and the total each
/// page announced (the same on every page).
async fn whole_listing(
    running: &crate::sim::RunningSim,
    base: &str,
    key: &str,
) -> (Vec<Value>, u64) {
    let mut items = Vec::new();
    let mut total = None;
    for page in 1.. {
        let path = format!("{base}?page={page}&page_size=37");
        let (status, _, body) = get(running, &path, Some(key)).await;
        assert_eq!(status, Status::OK, "{path}: {body}");
        let count = body["pagination"]["total_count"].as_u64().unwrap();
        assert_eq!(*total.get_or_insert(count), count, "the total holds");
        assert_eq!(
            body["pagination"]["total_pages"].as_u64().unwrap(),
            count.div_ceil(37)
        );
        items.extend(body["data"].as_array().unwrap().iter().cloned());
        if !body["pagination"]["has_next"].as_bool().unwrap() {
            break;
        }
    }
    (items, total.unwrap_or(0))
}

fn online_list(org: &str) -> String {
    format!("/retailers/api/v1/organizations/{org}/online-offers")
}

#[tokio::test]
async fn an_added_online_offer_is_listed_last_counted_and_fetchable_by_id() {
    let (running, data) = start().await;
    let key = demo_key();
    let org = data.organizations[0].id.clone();
    let before = data.organization_online_offers(&org);
    let template = before[3].clone();
    let product = data.browse_products[7].id.clone();
    let offer = data
        .new_online_offer_like(&template.id, &product)
        .expect("a known template and product");
    assert_ne!(offer.id, template.id);
    assert_eq!(offer.product_id, product);
    assert_eq!(
        (&offer.online_store_id, &offer.price, &offer.organization_id),
        (
            &template.online_store_id,
            &template.price,
            &template.organization_id
        )
    );
    assert!(
        data.current_online_offer(&offer.id).is_none(),
        "not yet served"
    );
    data.add_online_offer(offer.clone());

    let (listed, total) = whole_listing(&running, &online_list(&org), &key).await;
    assert_eq!(total, before.len() as u64 + 1);
    let listed: Vec<OnlineOfferOut> = listed
        .into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    assert_eq!(listed.last(), Some(&offer), "at the end");
    assert_eq!(
        listed[..before.len()],
        before.iter().map(|o| (*o).clone()).collect::<Vec<_>>()[..],
        "the generated ones first, in their order"
    );
    assert_eq!(listed, data.current_organization_online_offers(&org));
    for id in [offer.id.clone(), uuid_of(&offer.id)] {
        let (status, _, body) = get(
            &running,
            &format!("/retailers/api/v1/online-offers/{id}"),
            Some(&key),
        )
        .await;
        assert_eq!(status, Status::OK, "{id}");
        assert_eq!(
            serde_json::from_value::<OnlineOfferOut>(body).unwrap(),
            offer
        );
    }
    assert_eq!(data.current_online_offer(&offer.id), Some(offer.clone()));
    assert!(
        data.online_offer(&offer.id).is_none(),
        "not a generated one"
    );
    assert!(data
        .current_online_offers_visible_to(&demo_credentials())
        .contains(&offer));
}

#[tokio::test]
async fn a_removed_online_offer_is_404_and_leaves_its_listing_until_added_again() {
    let (running, data) = start().await;
    let key = demo_key();
    let org = data.organizations[0].id.clone();
    let before: Vec<OnlineOfferOut> = data
        .organization_online_offers(&org)
        .into_iter()
        .cloned()
        .collect();
    let gone = before[40].clone();
    let path = format!("/retailers/api/v1/online-offers/{}", gone.id);
    assert_eq!(get(&running, &path, Some(&key)).await.0, Status::OK);

    assert!(data.remove_online_offer(&uuid_of(&gone.id)), "by UUID too");
    assert!(!data.remove_online_offer(&gone.id), "already gone");
    let (status, _, body) = get(&running, &path, Some(&key)).await;
    assert_eq!(status, Status::NOT_FOUND);
    let missing = format!("/retailers/api/v1/online-offers/{}", shortuuid::encode(42));
    assert_eq!(body, get(&running, &missing, Some(&key)).await.2);
    assert_eq!(error_code(&body), "NOT_FOUND");
    assert_eq!(body["error"]["status"], 404);

    let (listed, total) = whole_listing(&running, &online_list(&org), &key).await;
    assert_eq!(total, before.len() as u64 - 1);
    let ids: Vec<&str> = listed.iter().map(|o| o["id"].as_str().unwrap()).collect();
    let want: Vec<&str> = before
        .iter()
        .filter(|o| o.id != gone.id)
        .map(|o| o.id.as_str())
        .collect();
    assert_eq!(ids, want, "the others, in their order");
    assert!(data.current_online_offer(&gone.id).is_none());
    assert_eq!(data.online_offer(&gone.id), Some(&gone), "still generated");

    // Added again, it is served again, now at the end.
    data.add_online_offer(gone.clone());
    assert_eq!(get(&running, &path, Some(&key)).await.0, Status::OK);
    let (listed, total) = whole_listing(&running, &online_list(&org), &key).await;
    assert_eq!(total, before.len() as u64);
    assert_eq!(listed.last().unwrap()["id"], gone.id.as_str());
    // Removed again, then everything put back.
    assert!(data.remove_online_offer(&gone.id));
    assert_eq!(get(&running, &path, Some(&key)).await.0, Status::NOT_FOUND);
    data.reset_offers();
    let (listed, _) = whole_listing(&running, &online_list(&org), &key).await;
    assert_eq!(listed[40]["id"], gone.id.as_str(), "back in its place");
    assert_eq!(listed.len(), before.len());
}

#[tokio::test]
async fn in_store_offers_added_and_removed_show_in_the_legacy_listing_and_by_id() {
    let (running, data) = start().await;
    let key = demo_key();
    let org = data.organizations[1].id.clone();
    let before = data.organization_legacy_offers(&org);
    let generated = data.organization_in_store_offers(&org);
    let template = generated[0].clone();
    let gone = generated[2].clone();
    let added = data
        .new_in_store_offer_like(&template.id, &template.product_id)
        .expect("a known template and product");
    assert_ne!(
        added.sku, template.sku,
        "(product, store, sku) stays unique"
    );
    assert_eq!(added.physical_store_id, template.physical_store_id);
    data.add_in_store_offer(added.clone());
    assert!(data.remove_in_store_offer(&gone.id));

    let (listed, total) = whole_listing(&running, &legacy_list(&org), &key).await;
    assert_eq!(total, before.len() as u64);
    let listed: Vec<LegacyOfferOut> = listed
        .into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    assert_eq!(listed, data.organization_legacy_offers(&org));
    assert_eq!(listed.last().unwrap().id, uuid_of(&added.id), "at the end");
    assert_eq!(listed.last().unwrap().sku, added.sku);
    assert!(listed.iter().all(|o| o.id != uuid_of(&gone.id)));
    assert_eq!(listed.len(), before.len());

    let by_id = |id: &str| format!("/retailers/api/v1/in-store-offers/{id}");
    let (status, _, body) = get(&running, &by_id(&uuid_of(&added.id)), Some(&key)).await;
    assert_eq!(status, Status::OK);
    assert_eq!(
        serde_json::from_value::<InStoreOfferOut>(body).unwrap(),
        added
    );
    let (status, _, body) = get(&running, &by_id(&gone.id), Some(&key)).await;
    assert_eq!(
        (status, error_code(&body)),
        (Status::NOT_FOUND, "NOT_FOUND")
    );
    assert_eq!(body["error"]["message"], "In-store offer not found.");
    assert_eq!(data.current_in_store_offer(&added.id), Some(added.clone()));
    assert!(data.current_in_store_offer(&gone.id).is_none());
    let visible = data.current_in_store_offers_visible_to(&demo_credentials());
    assert!(visible.contains(&added) && !visible.contains(&gone));
}

#[tokio::test]
async fn added_offers_are_seen_only_by_keys_that_may_view_their_organization() {
    let (running, data) = start().await;
    let (demo, other) = (demo_key(), key_of(&other_credentials()));
    let theirs = org_of(&data, &other_credentials(), &demo_credentials());
    let template = data.organization_online_offers(&theirs)[0].clone();
    let mut offer = data
        .new_online_offer_like(&template.id, &template.product_id)
        .unwrap();
    // The store says who owns it, whatever the field says.
    offer.organization_id = None;
    data.add_online_offer(offer.clone());
    let path = format!("/retailers/api/v1/online-offers/{}", offer.id);
    let (status, _, hidden) = get(&running, &path, Some(&demo)).await;
    assert_eq!(status, Status::NOT_FOUND);
    let missing = format!("/retailers/api/v1/online-offers/{}", shortuuid::encode(42));
    assert_eq!(hidden, get(&running, &missing, Some(&demo)).await.2);
    assert_eq!(get(&running, &path, Some(&other)).await.0, Status::OK);
    assert_eq!(
        get(&running, &online_list(&theirs), Some(&demo)).await.0,
        Status::NOT_FOUND
    );
    let (listed, total) = whole_listing(&running, &online_list(&theirs), &other).await;
    assert_eq!(
        total,
        data.organization_online_offers(&theirs).len() as u64 + 1
    );
    assert_eq!(listed.last().unwrap()["id"], offer.id.as_str());
    assert!(!data
        .current_online_offers_visible_to(&demo_credentials())
        .contains(&offer));
    assert!(data
        .current_online_offers_visible_to(&other_credentials())
        .contains(&offer));

    // An in-store offer of the same organization: the same rule.
    let store = data
        .physical_stores
        .iter()
        .find(|s| data.organizations[s.organization].id == theirs)
        .unwrap();
    let template = data
        .in_store_offers
        .iter()
        .find(|o| o.physical_store_id == store.id)
        .unwrap();
    let in_store = data
        .new_in_store_offer_like(&template.id, &data.browse_products[0].id)
        .unwrap();
    data.add_in_store_offer(in_store.clone());
    let path = format!("/retailers/api/v1/in-store-offers/{}", in_store.id);
    assert_eq!(get(&running, &path, Some(&demo)).await.0, Status::NOT_FOUND);
    assert_eq!(get(&running, &path, Some(&other)).await.0, Status::OK);
    let (listed, _) = whole_listing(&running, &legacy_list(&theirs), &other).await;
    assert_eq!(listed.last().unwrap()["id"], uuid_of(&in_store.id).as_str());
}

#[test]
fn new_offers_get_fresh_v4_ids_and_need_a_known_template_and_product() {
    let data = data();
    let template = data.online_offers[0].clone();
    let a = data
        .new_online_offer_like(&template.id, &template.product_id)
        .unwrap();
    let b = data
        .new_online_offer_like(&uuid_of(&template.id), &uuid_of(&template.product_id))
        .unwrap();
    assert_ne!(a.id, b.id);
    for offer in [&a, &b] {
        let uuid = uuid_of(&offer.id);
        assert_eq!(&uuid[14..15], "4", "{uuid}");
        assert!(data.online_offer(&offer.id).is_none());
        assert!(data.in_store_offer(&offer.id).is_none());
        assert_eq!(offer.product_id, template.product_id, "stored as shortuuid");
        assert_ne!(
            offer.sku, template.sku,
            "(product, store, sku) stays unique"
        );
    }
    let unknown = shortuuid::encode(42);
    assert!(data
        .new_online_offer_like(&unknown, &template.product_id)
        .is_none());
    assert!(data.new_online_offer_like(&template.id, &unknown).is_none());
    assert!(data
        .new_in_store_offer_like(&template.id, &template.product_id)
        .is_none());
    // A removed offer still serves as a template.
    assert!(data.remove_online_offer(&template.id));
    assert!(data
        .new_online_offer_like(&template.id, &template.product_id)
        .is_some());
    assert!(!data.remove_online_offer("not-an-id"));
    assert!(!data.remove_in_store_offer(&unknown));
}

#[test]
#[should_panic(expected = "neither store")]
fn an_offer_of_no_known_store_or_organization_cannot_be_added() {
    let data = data();
    let mut offer = data.online_offers[0].clone();
    offer.online_store_id = shortuuid::encode(42);
    offer.organization_id = Some(shortuuid::encode(43));
    data.add_online_offer(offer);
}

#[tokio::test]
async fn drift_follows_an_offer_removed_and_added_again_but_not_its_fresh_copies() {
    let data = Arc::new(data().with_drift());
    let running = serve(router(data.clone())).await.expect("simulator starts");
    let key = demo_key();
    let demo_orgs: Vec<String> = data
        .organizations_visible_to(&demo_credentials())
        .iter()
        .map(|o| o.id.clone())
        .collect();
    let offer = data
        .online_offers
        .iter()
        .find(|o| {
            data.drift.is_unreadable(&o.id)
                && o.organization_id
                    .as_ref()
                    .is_some_and(|org| demo_orgs.contains(org))
        })
        .expect("an unreadable offer the demo key sees")
        .clone();
    let org = offer.organization_id.clone().unwrap();
    let path = format!("/retailers/api/v1/online-offers/{}", offer.id);
    let (status, _, before) = get(&running, &path, Some(&key)).await;
    assert_eq!(status, Status::OK);
    assert_eq!(before["price"]["amount"], "12,99", "served unreadable");

    assert!(data.remove_online_offer(&offer.id));
    assert_eq!(get(&running, &path, Some(&key)).await.0, Status::NOT_FOUND);
    data.add_online_offer(offer.clone());
    let (status, _, after) = get(&running, &path, Some(&key)).await;
    assert_eq!((status, &after), (Status::OK, &before), "the same answer");
    let (listed, _) = whole_listing(&running, &online_list(&org), &key).await;
    assert_eq!(listed.last(), Some(&before));

    let fresh = data
        .new_online_offer_like(&offer.id, &offer.product_id)
        .unwrap();
    data.add_online_offer(fresh.clone());
    let path = format!("/retailers/api/v1/online-offers/{}", fresh.id);
    let (status, _, body) = get(&running, &path, Some(&key)).await;
    assert_eq!(status, Status::OK);
    assert_eq!(
        serde_json::from_value::<OnlineOfferOut>(body).unwrap(),
        fresh
    );
}

// Promotions.

fn online_promotions_path(offer_id: &str) -> String {
    format!("/retailers/api/v1/online-offers/{offer_id}/promotions")
}

fn in_store_promotions_path(offer_id: &str) -> String {
    format!("/retailers/api/v1/in-store-offers/{offer_id}/promotions")
}

/// The organizations `credentials` may view, by id.
fn visible_org_ids(data: &SimData, credentials: &Credentials) -> Vec<String> {
    data.organizations_visible_to(credentials)
        .iter()
        .map(|o| o.id.clone())
        .collect()
}

/// An online and an in-store offer with promotions that the demo key sees.
fn promoted_offers(data: &SimData) -> (String, String) {
    let demo = visible_org_ids(data, &demo_credentials());
    let seen = |org: &Option<String>| org.as_ref().is_some_and(|org| demo.contains(org));
    let online = data
        .online_offers
        .iter()
        .find(|o| seen(&o.organization_id) && !data.online_promotions(&o.id).is_empty())
        .expect("a promoted online offer");
    let in_store = data
        .in_store_offers
        .iter()
        .find(|o| seen(&o.organization_id) && !data.in_store_promotions(&o.id).is_empty())
        .expect("a promoted in-store offer");
    (online.id.clone(), in_store.id.clone())
}

#[tokio::test]
async fn promotions_of_both_offer_kinds_are_bare_lists_of_every_promotion_for_a_valid_key() {
    let (running, data) = start().await;
    let key = demo_key();
    let (online, in_store) = promoted_offers(&data);
    for (path, want) in [
        (
            online_promotions_path(&online),
            data.current_online_promotions(&online),
        ),
        (
            in_store_promotions_path(&in_store),
            data.current_in_store_promotions(&in_store),
        ),
    ] {
        for key in [None, Some("csb_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_00000000")] {
            let (status, _, body) = get(&running, &path, key).await;
            assert_eq!(status, Status::UNAUTHORIZED, "{path} {key:?}");
            assert_eq!(error_code(&body), "UNAUTHORIZED");
        }
        let (status, headers, body) = get(&running, &path, Some(&key)).await;
        assert_eq!(status, Status::OK, "{path}");
        assert!(headers.get("ratelimit-remaining").is_some());
        assert!(body.is_array(), "no envelope: {body}");
        let served: Vec<PromotionOut> = serde_json::from_value(body).unwrap();
        assert!(!served.is_empty());
        assert_eq!(served, want, "{path}");
    }
    // The offer id as a UUID names the same offer.
    let (status, _, body) = get(
        &running,
        &online_promotions_path(&uuid_of(&online)),
        Some(&key),
    )
    .await;
    assert_eq!(status, Status::OK);
    assert_eq!(
        serde_json::from_value::<Vec<PromotionOut>>(body).unwrap(),
        data.online_promotions(&online)
    );
    // An offer without promotions answers an empty list.
    let bare = data
        .online_offers
        .iter()
        .find(|o| {
            data.online_promotions(&o.id).is_empty()
                && visible_org_ids(&data, &demo_credentials())
                    .contains(o.organization_id.as_ref().unwrap())
        })
        .unwrap();
    let (status, _, body) = get(&running, &online_promotions_path(&bare.id), Some(&key)).await;
    assert_eq!((status, body), (Status::OK, serde_json::json!([])));
    assert_eq!(
        running
            .control
            .count("GET /retailers/api/v1/online-offers/{offer_id}/promotions"),
        5,
        "401 answers are counted too"
    );
    assert_eq!(
        running
            .control
            .count("GET /retailers/api/v1/in-store-offers/{offer_id}/promotions"),
        3
    );
}

#[tokio::test]
async fn promotions_of_missing_offers_and_of_other_organizations_are_the_offers_404() {
    let (running, data) = start().await;
    let key = demo_key();
    let other = key_of(&other_credentials());
    let theirs = org_of(&data, &other_credentials(), &demo_credentials());
    let online = data.organization_online_offers(&theirs)[0].id.clone();
    let in_store = data.organization_in_store_offers(&theirs)[0].id.clone();
    let missing = shortuuid::encode(42);
    let (status, _, absent) = get(&running, &online_promotions_path(&missing), Some(&key)).await;
    assert_eq!(status, Status::NOT_FOUND);
    let (_, _, offer_absent) = get(
        &running,
        &format!("/retailers/api/v1/online-offers/{missing}"),
        Some(&key),
    )
    .await;
    assert_eq!(absent, offer_absent, "the same 404 as the offer itself");
    let (status, _, hidden) = get(&running, &online_promotions_path(&online), Some(&key)).await;
    assert_eq!(
        (status, &hidden),
        (Status::NOT_FOUND, &absent),
        "existence is not leaked"
    );
    assert_eq!(
        get(&running, &in_store_promotions_path(&in_store), Some(&key))
            .await
            .0,
        Status::NOT_FOUND
    );
    for path in [
        online_promotions_path(&online),
        in_store_promotions_path(&in_store),
    ] {
        assert_eq!(
            get(&running, &path, Some(&other)).await.0,
            Status::OK,
            "{path}"
        );
    }
    // An id of the other kind is not an offer of this one.
    assert_eq!(
        get(&running, &in_store_promotions_path(&online), Some(&other))
            .await
            .0,
        Status::NOT_FOUND
    );
    let (status, _, body) = get(&running, &online_promotions_path("not-an-id"), Some(&key)).await;
    assert_eq!(status, Status::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"][0]["field"], "offer_id");
}

#[tokio::test]
async fn promotions_set_at_run_time_are_served_as_given_until_reset() {
    let (running, data) = start().await;
    let key = demo_key();
    let (online, in_store) = promoted_offers(&data);
    let generated = data.current_online_promotions(&online);
    let mut replaced = generated[0].clone();
    replaced.promotional_price = "12,99".into(); // unreadable, served as given
    replaced.promotion_type = PromotionType::Unrecognized("FLASH_SALE".into());
    data.set_online_promotions(&uuid_of(&online), vec![replaced.clone()]);
    assert_eq!(data.current_online_promotions(&online), [replaced.clone()]);
    assert_eq!(
        data.online_promotions(&online),
        generated,
        "generated stay as generated"
    );
    let (_, _, body) = get(&running, &online_promotions_path(&online), Some(&key)).await;
    assert_eq!(body[0]["promotional_price"], "12,99");
    assert_eq!(body[0]["promotion_type"], "FLASH_SALE");
    data.set_in_store_promotions(&in_store, Vec::new());
    let (_, _, body) = get(&running, &in_store_promotions_path(&in_store), Some(&key)).await;
    assert_eq!(body, serde_json::json!([]));
    // A removed offer's promotions are 404 with it, and come back with it.
    assert!(data.remove_online_offer(&online));
    assert_eq!(
        get(&running, &online_promotions_path(&online), Some(&key))
            .await
            .0,
        Status::NOT_FOUND
    );
    assert_eq!(data.current_online_promotions(&online), [replaced]);
    data.reset_offers();
    let (status, _, body) = get(&running, &online_promotions_path(&online), Some(&key)).await;
    assert_eq!(status, Status::OK);
    assert_eq!(
        serde_json::from_value::<Vec<PromotionOut>>(body).unwrap(),
        generated
    );
    assert_eq!(
        data.current_in_store_promotions(&in_store),
        data.in_store_promotions(&in_store)
    );
}

#[tokio::test]
async fn promotions_are_rate_limited_with_the_other_endpoints() {
    let (running, data) = start().await;
    let key = demo_key();
    let (online, _) = promoted_offers(&data);
    data.set_minute_limit(Some(2));
    let offer = format!("/retailers/api/v1/online-offers/{online}");
    assert_eq!(get(&running, &offer, Some(&key)).await.0, Status::OK);
    let (status, headers, _) = get(&running, &online_promotions_path(&online), Some(&key)).await;
    assert_eq!(
        (status, &headers["ratelimit-remaining"]),
        (Status::OK, &HeaderValue::from(0))
    );
    let (status, headers, body) = get(&running, &online_promotions_path(&online), Some(&key)).await;
    assert_eq!(status, Status::TOO_MANY_REQUESTS);
    assert_eq!(error_code(&body), "RATE_LIMITED");
    assert!(headers.get("retry-after").is_some());
}

#[test]
fn generated_promotions_cover_every_documented_case_a_day_or_more_from_the_start() {
    use std::time::{Duration, SystemTime};

    use rust_decimal::Decimal;

    let data = data();
    let start = data.started_at();
    let day = Duration::from_secs(24 * 60 * 60);
    let time = |text: &str| crate::upstream::tolerant::timestamp(text).expect("RFC 3339");
    let far = |at: SystemTime| at <= start - day || at >= start + day;
    let offers = data
        .online_offers
        .iter()
        .map(|o| {
            (
                &o.id,
                o.price.as_ref(),
                data.online_promotions(&o.id),
                &o.online_store_id,
            )
        })
        .chain(data.in_store_offers.iter().map(|o| {
            (
                &o.id,
                o.price.as_ref(),
                data.in_store_promotions(&o.id),
                &o.physical_store_id,
            )
        }));
    let mut seen = BTreeSet::new();
    let mut kinds = std::collections::HashSet::new();
    let mut ids = std::collections::HashSet::new();
    let (mut promoted, mut priced) = (0, 0);
    for (offer_id, price, promotions, store) in offers {
        let regular = price
            .and_then(|p| p.amount.as_deref())
            .map(|a| Decimal::from_str_exact(a).unwrap())
            .filter(|a| *a > Decimal::ZERO);
        priced += usize::from(regular.is_some());
        let Some(regular) = regular else {
            assert!(promotions.is_empty(), "{offer_id}: no price, no promotion");
            continue;
        };
        promoted += usize::from(!promotions.is_empty());
        let currency = data.store_currency(store).unwrap();
        let mut active_now = Vec::new();
        for p in promotions {
            assert!(ids.insert(p.id.clone()), "unique ids");
            assert_eq!(&p.offer_id, offer_id);
            assert!(p.currency.is_empty() || p.currency == currency);
            seen.insert(if p.currency.is_empty() {
                "no currency"
            } else {
                "currency"
            });
            kinds.insert(p.promotion_type.clone());
            let (from, to) = (time(&p.start_date), time(&p.end_date));
            assert!(from < to && far(from) && far(to), "{p:?}");
            let amount = crate::pricing::closient_amount(&p.promotional_price).unwrap();
            assert!(crate::pricing::from_closient(Some(&p.promotional_price), currency).is_ok());
            let now = from < start && start < to;
            seen.insert(match (now, to < start, p.is_active) {
                (true, _, true) => "in effect",
                (true, _, false) => "inactive in its window",
                (false, true, false) => "expired",
                (false, false, true) => "upcoming",
                other => panic!("{other:?}: {p:?}"),
            });
            if amount.is_zero() {
                assert_eq!(p.promotion_type, PromotionType::Bogo);
                seen.insert("free BOGO");
            } else if amount > regular {
                seen.insert("above the regular price");
            }
            if now && p.is_active {
                active_now.push(amount);
            }
        }
        if active_now.len() > 1 {
            let distinct: std::collections::HashSet<_> = active_now.iter().collect();
            assert_eq!(
                distinct.len(),
                active_now.len(),
                "overlapping at different prices"
            );
            seen.insert("overlapping");
        }
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [
            "above the regular price",
            "currency",
            "expired",
            "free BOGO",
            "in effect",
            "inactive in its window",
            "no currency",
            "overlapping",
            "upcoming",
        ]
    );
    assert_eq!(kinds, PromotionType::ALL.into_iter().collect());
    assert!(
        promoted * 3 > priced && promoted * 3 < priced * 2,
        "{promoted} of {priced}"
    );
}

#[test]
fn promotions_depend_on_the_seed_and_offer_only_and_leave_the_offers_as_they_were() {
    let strip = |data: &SimData| -> Vec<(String, Vec<PromotionOut>)> {
        data.online_offers
            .iter()
            .map(|o| (o.id.clone(), data.online_promotions(&o.id).to_vec()))
            .chain(
                data.in_store_offers
                    .iter()
                    .map(|o| (o.id.clone(), data.in_store_promotions(&o.id).to_vec())),
            )
            .map(|(id, mut promotions)| {
                for p in &mut promotions {
                    p.start_date.clear();
                    p.end_date.clear();
                }
                (id, promotions)
            })
            .collect()
    };
    let a = data();
    let b = data();
    assert_eq!(strip(&a), strip(&b));
    assert_eq!(a.online_offers, b.online_offers);
    let other = SimData::generate(&Catalog::generate(7));
    assert_ne!(strip(&a)[..20], strip(&other)[..20]);
}

#[tokio::test]
async fn drift_sends_unknown_promotion_types_nulls_and_unreadable_promotional_prices() {
    let data = Arc::new(data().with_drift());
    let running = serve(router(data.clone())).await.expect("simulator starts");
    data.set_minute_limit(None);
    let key = key_of(&other_credentials());
    let theirs = visible_org_ids(&data, &other_credentials());
    let (mut unknown, mut nulls, mut unreadable, mut readable) = (0, 0, 0, 0);
    for offer in data.online_offers.iter().filter(|o| {
        // Drift takes the organization off some offers: ask for those too.
        o.organization_id
            .as_ref()
            .is_none_or(|org| theirs.contains(org))
            && !data.online_promotions(&o.id).is_empty()
    }) {
        let (status, _, body) = get(&running, &online_promotions_path(&offer.id), Some(&key)).await;
        if status == Status::NOT_FOUND {
            continue; // another organization's, without its organization_id
        }
        let stored = data.current_online_promotions(&offer.id);
        let served = body.as_array().unwrap();
        assert_eq!(served.len(), stored.len());
        for (json, stored) in served.iter().zip(&stored) {
            if data.promotion_drift.is_unreadable(&stored.id) {
                assert_eq!(json["promotional_price"], "12,99");
                unreadable += 1;
                continue;
            }
            let read: PromotionOut = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(&read, stored, "what a client reads is the stored value");
            readable += 1;
            unknown += usize::from(json["promotion_type"] == "FLASH_SALE");
            nulls += usize::from(json["currency"].is_null() && json["metadata"].is_null());
        }
    }
    assert!(unknown > 0 && nulls > 0 && unreadable > 0 && readable > unreadable);
    assert!(data
        .drift
        .unreadable_ids()
        .is_disjoint(data.promotion_drift.unreadable_ids()));
}
