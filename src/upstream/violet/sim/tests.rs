//! The Violet simulator over HTTP: `include`, currency conversion, paging,
//! search filters and sorting, merchant listings, exchange rates, Violet's
//! auth errors, token expiry and refresh, and what each app may see.

use std::str::FromStr;
use std::sync::Arc;

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value};

use super::*;
use crate::sim::catalog::Catalog;
use crate::sim::{serve, RunningSim};

const SEED: u64 = 0x5eed_0004;

fn data() -> SimData {
    SimData::generate(&Catalog::generate(SEED))
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

struct Client {
    running: RunningSim,
    data: Arc<SimData>,
    http: reqwest::Client,
    token: String,
}

fn app_headers(
    request: reqwest::RequestBuilder,
    app_id: i64,
    secret: &str,
) -> reqwest::RequestBuilder {
    request
        .header("X-Violet-App-Id", app_id.to_string())
        .header("X-Violet-App-Secret", secret)
}

async fn login(
    http: &reqwest::Client,
    running: &RunningSim,
    app_id: i64,
    secret: &str,
    user: &str,
    password: &str,
) -> reqwest::Response {
    app_headers(
        http.post(running.base_url.join("/v1/login").unwrap()),
        app_id,
        secret,
    )
    .json(&json!({"username": user, "password": password}))
    .send()
    .await
    .unwrap()
}

async fn client() -> Client {
    let data = Arc::new(data());
    let running = serve(router(data.clone())).await.unwrap();
    let http = reqwest::Client::new();
    let response = login(
        &http,
        &running,
        DEMO_APP_ID,
        DEMO_APP_SECRET,
        DEMO_USERNAME,
        DEMO_PASSWORD,
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: wire::LoginResponse = response.json().await.unwrap();
    Client {
        running,
        data,
        http,
        token: body.token,
    }
}

impl Client {
    fn url(&self, path_and_query: &str) -> String {
        format!(
            "{}{}",
            self.running.base_url.as_str().trim_end_matches('/'),
            path_and_query
        )
    }

    async fn get(&self, path_and_query: &str) -> (u16, Value) {
        let response = app_headers(
            self.http.get(self.url(path_and_query)),
            DEMO_APP_ID,
            DEMO_APP_SECRET,
        )
        .header("X-Violet-Token", &self.token)
        .send()
        .await
        .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn search(&self, query: &str, body: Value) -> (u16, Value) {
        let response = app_headers(
            self.http
                .post(self.url(&format!("/v1/catalog/offers/search{query}"))),
            DEMO_APP_ID,
            DEMO_APP_SECRET,
        )
        .header("X-Violet-Token", &self.token)
        .json(&body)
        .send()
        .await
        .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    fn offer_in(&self, currency: &str) -> &wire::Offer {
        self.data
            .offers
            .iter()
            .find(|o| {
                o.currency.as_deref() == Some(currency) && o.min_price > 0 && o.max_price.is_some()
            })
            .unwrap()
    }
}

fn assert_error(body: &Value, status: u16, code: i64) {
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["error_code"], code, "{body}");
    assert!(
        body["message"].is_string() && body["timestamp"].is_i64(),
        "{body}"
    );
}

#[tokio::test]
async fn by_id_answers_include_metadata_and_collections_only_on_request() {
    let c = client().await;
    let offer = c
        .data
        .offers
        .iter()
        .find(|o| o.metadata.as_ref().is_some_and(|m| !m.is_empty()))
        .unwrap();
    let (status, plain) = c.get(&format!("/v1/catalog/offers/{}", offer.id)).await;
    assert_eq!(status, 200);
    assert!(plain.get("metadata").is_none() && plain.get("collections").is_none());
    assert!(plain.get("default_image_url").is_none());
    let (_, with_metadata) = c
        .get(&format!("/v1/catalog/offers/{}?include=metadata", offer.id))
        .await;
    assert!(with_metadata["metadata"].is_array() && with_metadata.get("collections").is_none());
    // In the offer's own currency, the answer is the stored offer.
    let (_, full) = c
        .get(&format!(
            "/v1/catalog/offers/{}?include=metadata,collections&base_currency={}",
            offer.id,
            offer.currency.as_deref().unwrap()
        ))
        .await;
    // Through text: `JsonNumber` reads raw JSON, not a `Value`.
    let parsed: wire::Offer = serde_json::from_str(&full.to_string()).unwrap();
    assert_eq!(&parsed, offer);
}

#[tokio::test]
async fn base_currency_converts_every_price_with_the_table_or_the_given_rate() {
    let c = client().await;
    let jpy = c.offer_in("JPY").clone();
    let (status, body) = c
        .get(&format!("/v1/catalog/offers/{}?base_currency=USD", jpy.id))
        .await;
    assert_eq!(status, 200, "{body}");
    let to_usd = |yen: i64| {
        (Decimal::from(yen) / dec("151.5"))
            .round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
            * Decimal::from(100)
    };
    assert_eq!(
        Decimal::from(body["min_price"].as_i64().unwrap()),
        to_usd(jpy.min_price)
    );
    assert_eq!(
        Decimal::from(body["max_price"].as_i64().unwrap()),
        to_usd(jpy.max_price.unwrap())
    );
    assert_eq!(body["currency"], "USD");
    assert_eq!(body["currency_symbol"], "$");
    for (sku, raw) in body["skus"].as_array().unwrap().iter().zip(&jpy.skus) {
        assert_eq!(sku["currency"], "USD");
        assert_eq!(sku["presented_currency"], "USD");
        assert_eq!(
            Decimal::from(sku["sale_price"].as_i64().unwrap()),
            to_usd(raw.sale_price.unwrap())
        );
    }

    let (_, body) = c
        .get(&format!(
            "/v1/catalog/offers/{}?base_currency=USD&exchange_rate=0.00665",
            jpy.id
        ))
        .await;
    let at_rate = (Decimal::from(jpy.min_price) * dec("0.00665"))
        .round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
        * Decimal::from(100);
    assert_eq!(Decimal::from(body["min_price"].as_i64().unwrap()), at_rate);

    // USD -> JPY and USD -> KWD land on whole yen and fils.
    let usd = c.offer_in("USD").clone();
    let (_, body) = c
        .get(&format!("/v1/catalog/offers/{}?base_currency=JPY", usd.id))
        .await;
    let yen = (Decimal::new(usd.min_price, 2) * dec("151.5"))
        .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven);
    assert_eq!(Decimal::from(body["min_price"].as_i64().unwrap()), yen);
    assert_eq!(body["skus"][0]["currency"], "JPY");
    let (_, body) = c
        .get(&format!("/v1/catalog/offers/{}?base_currency=kwd", usd.id))
        .await;
    let fils = (Decimal::new(usd.min_price, 2) * dec("0.307"))
        .round_dp_with_strategy(3, RoundingStrategy::MidpointNearestEven)
        * Decimal::from(1_000);
    assert_eq!(Decimal::from(body["min_price"].as_i64().unwrap()), fils);

    // Same currency: unchanged.
    let (_, body) = c
        .get(&format!("/v1/catalog/offers/{}?base_currency=USD", usd.id))
        .await;
    assert_eq!(body["min_price"], usd.min_price);

    for bad in [
        "base_currency=ZZZ",
        "base_currency=XAU",
        "base_currency=USD&exchange_rate=-1",
        "exchange_rate=0",
        "base_currency=USD&exchange_rate=abc",
        "base_currency=SEK",
    ] {
        let (status, body) = c.get(&format!("/v1/catalog/offers/{}?{bad}", usd.id)).await;
        assert_eq!(status, 400, "{bad}");
        assert_error(&body, 400, 1);
    }
    // An explicit rate allows a currency outside the table.
    let (status, body) = c
        .get(&format!(
            "/v1/catalog/offers/{}?base_currency=SEK&exchange_rate=10.5",
            usd.id
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["currency_symbol"], "SEK");
}

#[tokio::test]
async fn without_base_currency_every_answer_is_in_usd_as_with_base_currency_usd() {
    let c = client().await;
    // One offer of every merchant currency.
    for currency in ["USD", "EUR", "GBP", "JPY", "KWD", "CAD"] {
        let offer = c.offer_in(currency).clone();
        let path = format!("/v1/catalog/offers/{}?include=metadata", offer.id);
        let (status, absent) = c.get(&path).await;
        assert_eq!(status, 200, "{absent}");
        let (_, empty) = c.get(&format!("{path}&base_currency=")).await;
        let (_, usd) = c.get(&format!("{path}&base_currency=USD")).await;
        assert_eq!(absent, usd, "{currency}: absent is USD");
        assert_eq!(empty, usd, "{currency}: empty is USD");
        assert_eq!(absent["currency"], "USD");
        assert!(absent["skus"]
            .as_array()
            .unwrap()
            .iter()
            .all(|sku| sku["currency"] == "USD"));
        // Minor units of `currency` at the table's units per USD, half to
        // even to the cent: e.g. 4545 JPY / 151.5 = 30.00 USD.
        let exponent = match currency {
            "JPY" => 0,
            "KWD" => 3,
            _ => 2,
        };
        let per_usd = match currency {
            "USD" => dec("1"),
            "EUR" => dec("0.92"),
            "GBP" => dec("0.79"),
            "JPY" => dec("151.5"),
            "KWD" => dec("0.307"),
            _ => dec("1.36"),
        };
        let cents = (Decimal::new(offer.min_price, exponent) / per_usd)
            .round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
            * Decimal::from(100);
        assert_eq!(
            Decimal::from(absent["min_price"].as_i64().unwrap()),
            cents,
            "{currency}"
        );
    }
    // An explicit rate alone is a rate into USD.
    let jpy = c.offer_in("JPY").clone();
    let (status, alone) = c
        .get(&format!(
            "/v1/catalog/offers/{}?exchange_rate=0.00665",
            jpy.id
        ))
        .await;
    assert_eq!(status, 200, "{alone}");
    let (_, with_usd) = c
        .get(&format!(
            "/v1/catalog/offers/{}?base_currency=USD&exchange_rate=0.00665",
            jpy.id
        ))
        .await;
    assert_eq!(alone, with_usd);

    // Both listings too: the search and a merchant's offers.
    let (_, absent) = c.search("?size=100", json!({})).await;
    let (_, usd) = c.search("?size=100&base_currency=USD", json!({})).await;
    assert_eq!(absent["content"], usd["content"]);
    let merchant = jpy.merchant_id;
    let path = format!("/v1/catalog/offers/merchants/{merchant}?size=100");
    let (_, absent) = c.get(&path).await;
    let (_, usd) = c.get(&format!("{path}&base_currency=USD")).await;
    assert_eq!(absent["content"], usd["content"]);
    let listed = absent["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == jpy.id)
        .expect("the JPY offer is among its merchant's first 100");
    let (_, by_id) = c.get(&format!("/v1/catalog/offers/{}", jpy.id)).await;
    assert_eq!(listed["min_price"], by_id["min_price"]);
    assert_eq!(
        listed["skus"], by_id["skus"],
        "a listing agrees with a lookup"
    );
}

#[tokio::test]
async fn search_pages_are_one_based_in_the_request_and_zero_based_in_the_answer() {
    let c = client().await;
    let total = c.data.offers.len() as u64;
    let (status, body) = c.search("?page=1&size=5", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let page: wire::Page<wire::Offer> = serde_json::from_str(&body.to_string()).unwrap();
    assert_eq!((page.number, page.size, page.number_of_elements), (0, 5, 5));
    assert_eq!(
        (page.total_elements, page.total_pages),
        (total, total.div_ceil(5))
    );
    assert!(page.first && !page.last && !page.empty);
    assert_eq!(page.pageable.as_ref().unwrap().page_number, 0);
    assert!(page.content.iter().all(|o| o.default_image_url.is_some()));
    assert!(page.content.iter().all(|o| o.metadata.is_none()));
    let ids: Vec<i64> = page.content.iter().map(|o| o.id).collect();
    let want: Vec<i64> = c.data.offers[..5].iter().map(|o| o.id).collect();
    assert_eq!(ids, want);

    // Walk to the end with the default size.
    let mut seen = 0;
    let mut number = 1;
    loop {
        let (_, body) = c.search(&format!("?page={number}"), json!({})).await;
        let page: wire::Page<wire::Offer> = serde_json::from_str(&body.to_string()).unwrap();
        assert_eq!(page.size, DEFAULT_PAGE_SIZE);
        seen += page.content.len() as u64;
        if page.last {
            assert_eq!(page.number + 1, number);
            break;
        }
        number += 1;
    }
    assert_eq!(seen, total);
    let (_, body) = c.search(&format!("?page={}", number + 1), json!({})).await;
    assert_eq!(body["empty"], true);
    assert_eq!(body["content"], json!([]));

    for bad in [
        "?page=0",
        "?page=-1",
        "?page=x",
        "?size=0",
        "?size=101",
        "?size=2.5",
    ] {
        let (status, body) = c.search(bad, json!({})).await;
        assert_eq!(status, 400, "{bad}");
        assert_error(&body, 400, 1);
    }
    let (status, _) = c.search("?size=100", json!({})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn search_filters_and_sorts() {
    let c = client().await;
    let merchant = c.data.merchants[3].id;
    let (_, body) = c
        .search(
            "?size=100",
            json!({"merchant_id": merchant, "available": true, "visible": true,
                   "min_price": 1000, "max_price": 20000,
                   "sort_by": "min_price", "sort_direction": "DESC"}),
        )
        .await;
    let page: wire::Page<wire::Offer> = serde_json::from_str(&body.to_string()).unwrap();
    let want = c
        .data
        .offers
        .iter()
        .filter(|o| o.merchant_id == merchant && o.available && o.visible)
        .filter(|o| o.min_price >= 1000 && o.max_price.unwrap_or(o.min_price) <= 20000)
        .count() as u64;
    assert!(want > 0);
    assert_eq!(page.total_elements, want);
    assert!(page
        .content
        .windows(2)
        .all(|w| w[0].min_price >= w[1].min_price));
    assert!(page.sort.unwrap().sorted);
    let (status, body) = c.search("", json!({"sort_by": "colour"})).await;
    assert_eq!(status, 400);
    assert_error(&body, 400, 1);
    let (status, _) = c.search("", json!({"sort_direction": "UP"})).await;
    assert_eq!(status, 400);
    let (status, _) = c.search("", json!({"merchant_id": "ten"})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn merchant_listing_pages_one_merchant() {
    let c = client().await;
    let merchant = c.data.merchants[4].id;
    let (status, body) = c
        .get(&format!(
            "/v1/catalog/offers/merchants/{merchant}?page=2&size=7"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let page: wire::Page<wire::Offer> = serde_json::from_str(&body.to_string()).unwrap();
    let all: Vec<i64> = c
        .data
        .offers
        .iter()
        .filter(|o| o.merchant_id == merchant)
        .map(|o| o.id)
        .collect();
    assert_eq!(page.total_elements, all.len() as u64);
    assert_eq!(page.number, 1);
    let ids: Vec<i64> = page.content.iter().map(|o| o.id).collect();
    assert_eq!(ids, all[7..14]);
    // A KWD merchant, answered in US dollars unless asked otherwise.
    assert!(page
        .content
        .iter()
        .all(|o| o.currency.as_deref() == Some("USD")));
    let (_, body) = c
        .get(&format!(
            "/v1/catalog/offers/merchants/{merchant}?page=2&size=7&base_currency=KWD"
        ))
        .await;
    let page: wire::Page<wire::Offer> = serde_json::from_str(&body.to_string()).unwrap();
    assert!(page
        .content
        .iter()
        .all(|o| o.currency.as_deref() == Some("KWD")));
    let (status, body) = c.get("/v1/catalog/offers/merchants/99").await;
    assert_eq!(status, 404);
    assert_error(&body, 404, 404);
    let (status, _) = c.get("/v1/catalog/offers/merchants/abc").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn latest_rates_rebase_consistently() {
    let c = client().await;
    let (status, usd) = c.get("/v1/currencies/latest?base_currency=USD").await;
    assert_eq!(status, 200, "{usd}");
    let rates: wire::ExchangeRates = serde_json::from_str(&usd.to_string()).unwrap();
    assert!(rates.success);
    assert_eq!(rates.base, "USD");
    assert_eq!(rates.date.len(), 10);
    for code in ["USD", "EUR", "GBP", "CAD", "JPY", "KWD"] {
        assert!(rates.rates.contains_key(code), "{code}");
    }
    assert_eq!(rates.rates["USD"].as_str(), "1");
    assert_eq!(rates.rates["EUR"].as_str(), "0.92");
    let (_, eur) = c.get("/v1/currencies/latest?base_currency=EUR").await;
    let eur: wire::ExchangeRates = serde_json::from_str(&eur.to_string()).unwrap();
    let rate =
        |r: &wire::ExchangeRates, code: &str| Decimal::from_str(r.rates[code].as_str()).unwrap();
    assert_eq!(rate(&eur, "EUR"), Decimal::ONE);
    // JPY per EUR equals JPY per USD divided by EUR per USD (to the 8 decimals sent).
    let expected = (rate(&rates, "JPY") / rate(&rates, "EUR")).round_dp(8);
    assert_eq!(rate(&eur, "JPY"), expected);
    assert_eq!(rate(&eur, "USD"), dec("1.08695652"));
    let (_, default_base) = c.get("/v1/currencies/latest").await;
    assert_eq!(default_base["base"], "USD");
    let (status, body) = c.get("/v1/currencies/latest?base_currency=ZZZ").await;
    assert_eq!(status, 400);
    assert_error(&body, 400, 1);
}

#[tokio::test]
async fn auth_errors_have_violets_shape_and_codes() {
    let c = client().await;
    let id = c.data.offers[0].id;
    let path = c.url(&format!("/v1/catalog/offers/{id}"));
    let send = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap())
    };
    let (s, b) = send(c.http.get(&path).header("X-Violet-Token", &c.token)).await;
    assert_eq!(s, 401);
    assert_error(&b, 401, 13);
    let (s, b) = send(
        app_headers(c.http.get(&path), DEMO_APP_ID, "nope").header("X-Violet-Token", &c.token),
    )
    .await;
    assert_eq!(s, 403);
    assert_error(&b, 403, 12);
    let (s, b) = send(app_headers(c.http.get(&path), DEMO_APP_ID, DEMO_APP_SECRET)).await;
    assert_eq!(s, 401);
    assert_error(&b, 401, 10);
    let (s, b) = send(
        app_headers(c.http.get(&path), DEMO_APP_ID, DEMO_APP_SECRET)
            .header("X-Violet-Token", "forged"),
    )
    .await;
    assert_eq!(s, 401);
    assert_error(&b, 401, 10);
    let (s, b) = send(
        app_headers(c.http.get(&path), OTHER_APP_ID, OTHER_APP_SECRET)
            .header("X-Violet-Token", &c.token),
    )
    .await;
    assert_eq!(s, 403);
    assert_error(&b, 403, 14);

    let response = login(
        &c.http,
        &c.running,
        DEMO_APP_ID,
        DEMO_APP_SECRET,
        DEMO_USERNAME,
        "wrong",
    )
    .await;
    assert_eq!(response.status(), 401);
    assert_error(&response.json().await.unwrap(), 401, 20);

    let (s, b) = c.get("/v1/catalog/offers/1").await;
    assert_eq!(s, 404);
    assert_error(&b, 404, 404);
    let (s, b) = c.get("/v1/catalog/offers/abc").await;
    assert_eq!(s, 400);
    assert_error(&b, 400, 1);
}

#[tokio::test]
async fn expired_tokens_answer_error_code_11_and_refresh_issues_a_new_one() {
    let mut c = client().await;
    let response = login(
        &c.http,
        &c.running,
        DEMO_APP_ID,
        DEMO_APP_SECRET,
        DEMO_USERNAME,
        DEMO_PASSWORD,
    )
    .await;
    let body: wire::LoginResponse = response.json().await.unwrap();
    assert_eq!(body.email.as_deref(), Some(DEMO_USERNAME));
    assert!(body.token.starts_with("eyJ"));
    let refresh = body.refresh_token.unwrap();
    c.token = body.token;
    let path = format!("/v1/catalog/offers/{}", c.data.offers[0].id);
    assert_eq!(c.get(&path).await.0, 200);

    c.data.expire_tokens();
    let (status, body) = c.get(&path).await;
    assert_eq!(status, 401);
    assert_error(&body, 401, 11);
    assert_eq!(body["message"], "Token has expired");

    let refreshed = app_headers(
        c.http.get(c.url("/v1/auth/token")),
        DEMO_APP_ID,
        DEMO_APP_SECRET,
    )
    .header("X-Violet-Token", &refresh)
    .send()
    .await
    .unwrap();
    assert_eq!(refreshed.status(), 200);
    c.token = refreshed
        .json::<wire::RefreshResponse>()
        .await
        .unwrap()
        .token;
    assert_eq!(c.get(&path).await.0, 200);
    assert_eq!(c.running.control.count("GET /v1/auth/token"), 1);
    assert_eq!(c.running.control.count("POST /v1/login"), 2);

    c.data.revoke_refresh_tokens();
    let refused = app_headers(
        c.http.get(c.url("/v1/auth/token")),
        DEMO_APP_ID,
        DEMO_APP_SECRET,
    )
    .header("X-Violet-Token", &refresh)
    .send()
    .await
    .unwrap();
    assert_eq!(refused.status(), 401);
    assert_error(&refused.json().await.unwrap(), 401, 21);
}

#[tokio::test]
async fn other_app_sees_only_its_merchants() {
    let c = client().await;
    let http = reqwest::Client::new();
    let response = login(
        &http,
        &c.running,
        OTHER_APP_ID,
        OTHER_APP_SECRET,
        OTHER_USERNAME,
        OTHER_PASSWORD,
    )
    .await;
    let token = response.json::<wire::LoginResponse>().await.unwrap().token;
    let hidden = c.offer_in("JPY").id;
    let response = app_headers(
        http.get(c.url(&format!("/v1/catalog/offers/{hidden}"))),
        OTHER_APP_ID,
        OTHER_APP_SECRET,
    )
    .header("X-Violet-Token", &token)
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 404);
    let (status, _) = c.get(&format!("/v1/catalog/offers/{hidden}")).await;
    assert_eq!(status, 200);
}

impl Client {
    /// Every offer of a listing (`search` with `body`, or a merchant's
    /// listing), paged through 100 at a time, and the total each page
    /// announced.
    async fn whole_listing(&self, merchant: Option<i32>, body: Value) -> (Vec<wire::Offer>, u64) {
        let mut offers = Vec::new();
        let mut total = None;
        for number in 1.. {
            let (status, answer) = match merchant {
                Some(m) => {
                    self.get(&format!(
                        "/v1/catalog/offers/merchants/{m}?page={number}&size=100"
                    ))
                    .await
                }
                None => {
                    self.search(&format!("?page={number}&size=100"), body.clone())
                        .await
                }
            };
            assert_eq!(status, 200, "{answer}");
            let page: wire::Page<wire::Offer> = serde_json::from_value(answer).unwrap();
            assert_eq!(
                *total.get_or_insert(page.total_elements),
                page.total_elements
            );
            assert_eq!(page.total_pages, page.total_elements.div_ceil(100));
            offers.extend(page.content);
            if page.last {
                break;
            }
        }
        (offers, total.unwrap_or(0))
    }
}

fn ids(offers: &[wire::Offer]) -> Vec<i64> {
    offers.iter().map(|o| o.id).collect()
}

#[tokio::test]
async fn an_added_offer_is_listed_last_counted_and_fetchable_by_id() {
    let c = client().await;
    let template = c.offer_in("EUR").clone();
    let barcode = crate::sim::catalog::with_check_digit("400000000042");
    let fresh = c
        .data
        .new_offer_like(template.id, Some(&barcode))
        .expect("a known template");
    assert!(c.data.offers.iter().all(|o| o.id < fresh.id));
    assert!(fresh.skus.iter().all(|s| s.ean.as_ref() == Some(&barcode)));
    c.data.add_offer(fresh.clone());

    let (listed, total) = c.whole_listing(None, json!({})).await;
    assert_eq!(total, c.data.offers.len() as u64 + 1);
    let mut want = ids(&c.data.offers);
    want.push(fresh.id);
    assert_eq!(ids(&listed), want, "the generated ones, then the new one");
    assert!(
        listed.last().unwrap().default_image_url.is_some(),
        "listed like the others"
    );
    let merchant = template.merchant_id;
    let (listed, total) = c.whole_listing(Some(merchant), json!({})).await;
    let generated = c
        .data
        .offers
        .iter()
        .filter(|o| o.merchant_id == merchant)
        .count();
    assert_eq!(total, generated as u64 + 1);
    assert_eq!(listed.last().unwrap().id, fresh.id);
    let (listed, _) = c
        .whole_listing(None, json!({"merchant_id": merchant, "sort_by": "id"}))
        .await;
    assert_eq!(listed.last().unwrap().id, fresh.id);

    // By id, with the same conversion as the template's.
    let (status, body) = c
        .get(&format!(
            "/v1/catalog/offers/{}?base_currency=USD",
            fresh.id
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let served: wire::Offer = serde_json::from_value(body).unwrap();
    let (_, body) = c
        .get(&format!(
            "/v1/catalog/offers/{}?base_currency=USD",
            template.id
        ))
        .await;
    let converted: wire::Offer = serde_json::from_value(body).unwrap();
    assert_eq!(served.currency.as_deref(), Some("USD"));
    assert_eq!(
        (served.min_price, served.max_price),
        (converted.min_price, converted.max_price)
    );
    assert_eq!(
        c.data.current_offer(fresh.id).map(|o| o.skus),
        Some(fresh.skus.clone())
    );

    // The latest change sorts first, both ways round.
    let (_, body) = c
        .search(
            "?size=1",
            json!({"sort_by": "date_last_modified", "sort_direction": "DESC"}),
        )
        .await;
    assert_eq!(body["content"][0]["id"], fresh.id);
    let (listed, _) = c
        .whole_listing(
            None,
            json!({"sort_by": "dateLastModified", "sort_direction": "ASC"}),
        )
        .await;
    assert_eq!(listed.last().unwrap().id, fresh.id);
    let served = c.data.current_offer(fresh.id).unwrap();
    let latest_generated = c
        .data
        .offers
        .iter()
        .filter_map(|o| o.date_last_modified.clone())
        .max();
    assert!(served.date_last_modified > latest_generated);
}

#[tokio::test]
async fn a_removed_offer_answers_violets_404_and_leaves_the_listings() {
    let c = client().await;
    let gone = c.data.offers[3].clone();
    assert!(c.data.remove_offer(gone.id));
    assert!(!c.data.remove_offer(gone.id), "already gone");
    assert!(!c.data.remove_offer(42));

    let (status, body) = c.get(&format!("/v1/catalog/offers/{}", gone.id)).await;
    assert_eq!(status, 404);
    assert_error(&body, 404, 404);
    let (_, missing) = c.get("/v1/catalog/offers/42").await;
    assert_eq!(body["message"], format!("Offer {} not found", gone.id));
    assert_eq!(missing["message"], "Offer 42 not found");

    let (listed, total) = c.whole_listing(None, json!({})).await;
    assert_eq!(total, c.data.offers.len() as u64 - 1);
    let want: Vec<i64> = ids(&c.data.offers)
        .into_iter()
        .filter(|&id| id != gone.id)
        .collect();
    assert_eq!(ids(&listed), want);
    let (listed, total) = c.whole_listing(Some(gone.merchant_id), json!({})).await;
    let generated = c
        .data
        .offers
        .iter()
        .filter(|o| o.merchant_id == gone.merchant_id)
        .count();
    assert_eq!(total, generated as u64 - 1);
    assert!(listed.iter().all(|o| o.id != gone.id));
    let (_, body) = c.search("", json!({"id": gone.id})).await;
    assert_eq!(
        (body["total_elements"].clone(), body["empty"].clone()),
        (json!(0), json!(true))
    );
    assert_eq!(c.data.current_offers().len(), c.data.offers.len() - 1);

    // Added again: served again, last unless sorted, modified now.
    c.data.add_offer(gone.clone());
    let (status, body) = c.get(&format!("/v1/catalog/offers/{}", gone.id)).await;
    assert_eq!(status, 200);
    assert_ne!(body["date_last_modified"], json!(gone.date_last_modified));
    let (listed, _) = c.whole_listing(None, json!({})).await;
    assert_eq!(listed.last().unwrap().id, gone.id);
    let (listed, _) = c.whole_listing(None, json!({"sort_by": "id"})).await;
    assert_eq!(ids(&listed), ids(&c.data.offers));
    c.data.reset_offers();
    assert_eq!(c.data.current_offer(gone.id), Some(gone));
}

#[tokio::test]
async fn added_offers_are_seen_only_by_apps_connected_to_their_merchant() {
    let c = client().await;
    let template = c.offer_in("JPY").clone();
    let fresh = c.data.new_offer_like(template.id, None).unwrap();
    c.data.add_offer(fresh.clone());
    let http = reqwest::Client::new();
    let response = login(
        &http,
        &c.running,
        OTHER_APP_ID,
        OTHER_APP_SECRET,
        OTHER_USERNAME,
        OTHER_PASSWORD,
    )
    .await;
    let token = response.json::<wire::LoginResponse>().await.unwrap().token;
    let response = app_headers(
        http.get(c.url(&format!("/v1/catalog/offers/{}", fresh.id))),
        OTHER_APP_ID,
        OTHER_APP_SECRET,
    )
    .header("X-Violet-Token", &token)
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 404);
    let response = app_headers(
        http.post(c.url("/v1/catalog/offers/search?size=1")),
        OTHER_APP_ID,
        OTHER_APP_SECRET,
    )
    .header("X-Violet-Token", &token)
    .json(&json!({"sort_by": "id", "sort_direction": "DESC"}))
    .send()
    .await
    .unwrap();
    let page: wire::Page<wire::Offer> = response.json().await.unwrap();
    assert_ne!(page.content[0].id, fresh.id);
    assert_eq!(
        c.get(&format!("/v1/catalog/offers/{}", fresh.id)).await.0,
        200
    );
}

#[test]
fn new_offers_get_fresh_ids_for_everything_in_them_with_links_kept() {
    let data = data();
    assert!(data.new_offer_like(42, None).is_none());
    let template = data
        .offers
        .iter()
        .find(|o| o.skus.len() == 4 && o.skus.iter().any(|s| !s.albums.is_empty()))
        .expect("an offer with four SKUs")
        .clone();
    let a = data
        .new_offer_like(template.id, Some("012345678905"))
        .unwrap();
    let b = data.new_offer_like(template.id, None).unwrap();
    assert!(a.id < b.id);
    let old_parts: std::collections::HashSet<i64> = data
        .offers
        .iter()
        .flat_map(|o| o.skus.iter().filter_map(|s| s.id))
        .collect();
    for sku in &a.skus {
        let id = sku.id.unwrap();
        assert!(!old_parts.contains(&id));
        assert_eq!(sku.offer_id, Some(a.id));
        assert_eq!(sku.sku_dimensions.as_ref().and_then(|d| d.sku_id), Some(id));
        assert!(sku.albums.iter().all(|al| al.parent_id == Some(id)));
        assert_eq!(
            (sku.gtin.as_deref(), sku.upc.as_deref(), sku.ean.as_deref()),
            (
                Some("00012345678905"),
                Some("012345678905"),
                Some("0012345678905")
            )
        );
    }
    let sku_ids: Vec<i64> = a.skus.iter().filter_map(|s| s.id).collect();
    for value in a.variants.iter().flat_map(|v| &v.values) {
        assert!(value.sku_ids.iter().all(|id| sku_ids.contains(id)));
    }
    for (new, old) in a.variants.iter().zip(&template.variants) {
        for (nv, ov) in new.values.iter().zip(&old.values) {
            let position = |ids: &[i64], of: &[wire::Sku]| -> Vec<usize> {
                ids.iter()
                    .map(|id| of.iter().position(|s| s.id == Some(*id)).unwrap())
                    .collect()
            };
            assert_eq!(
                position(&nv.sku_ids, &a.skus),
                position(&ov.sku_ids, &template.skus)
            );
        }
    }
    assert!(a.albums.iter().all(|al| al.parent_id == Some(a.id)));
    assert_eq!(
        (a.min_price, a.max_price),
        (template.min_price, template.max_price)
    );
    assert_eq!(b.skus[0].gtin, template.skus[0].gtin);
    assert_ne!(a.skus[0].id, b.skus[0].id);
    assert!(data.current_offer(a.id).is_none(), "not served until added");
}
