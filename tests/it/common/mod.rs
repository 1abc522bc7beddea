//! Test harness: the three simulators and a gateway over them, served over
//! real HTTP on 127.0.0.1 port 0.

#![allow(dead_code)]

pub mod expect;

use std::str::FromStr;
use std::time::Duration;

use offer_gateway::sim::Simulators;
use offer_gateway::upstream::closient;
use offer_gateway::upstream::closient::wire::{InStoreOfferOut, OnlineOfferOut};
use offer_gateway::upstream::{violet, Credentials, InstanceSpec};
use offer_gateway::Limits;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running gateway over running simulators. Both stop when this is dropped.
pub struct TestGateway {
    pub sims: Simulators,
    pub gateway: offer_gateway::Gateway,
    pub url: String,
    pub http: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

impl TestGateway {
    /// The text of the gateway's `/metrics`.
    pub async fn metrics_text(&self) -> String {
        self.http
            .get(self.url.replace("/graphql", "/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The demo setup: the three simulators, one instance of each.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// The demo setup, with the instance list adjusted by `adjust`.
    /// Introspection is on, as in the demo.
    pub async fn start_with(adjust: impl FnOnce(&mut Vec<InstanceSpec>)) -> Self {
        let limits = Limits {
            introspection: true,
            ..Limits::default()
        };
        Self::start_full(adjust, limits).await
    }

    /// The demo setup with other limits.
    pub async fn start_with_limits(limits: Limits) -> Self {
        Self::start_full(|_| {}, limits).await
    }

    /// The demo setup, with the instance list adjusted by `adjust` and `limits`.
    pub async fn start_full(adjust: impl FnOnce(&mut Vec<InstanceSpec>), limits: Limits) -> Self {
        Self::start_with_options(
            adjust,
            offer_gateway::GatewayOptions {
                limits,
                ..Default::default()
            },
        )
        .await
    }

    /// The demo setup with other gateway options.
    pub async fn start_with_options(
        adjust: impl FnOnce(&mut Vec<InstanceSpec>),
        options: offer_gateway::GatewayOptions,
    ) -> Self {
        let sims = Simulators::start_demo().await.expect("simulators start");
        Self::over(sims, adjust, options).await
    }

    /// The demo setup with client API keys required: `key` is the one valid key.
    pub async fn start_keyed(key: &str) -> Self {
        use offer_gateway::{hash_key, ClientKeys};
        Self::start_with_options(
            |_| {},
            offer_gateway::GatewayOptions {
                server: offer_gateway::ServerOptions {
                    client_keys: ClientKeys::from_hashes(&[hash_key(key)]).expect("a valid hash"),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
    }

    /// The demo setup with every instance's catalog sync on (budgets no
    /// test waits for), once every instance finished a full pass: products
    /// hold all their offers.
    pub async fn start_synced() -> Self {
        let gateway = Self::start_with(sync_everything).await;
        gateway.wait_for_full_passes().await;
        gateway
    }

    /// Waits until every synced instance finished a full catalog pass, and
    /// returns `catalogStatus`.
    pub async fn wait_for_full_passes(&self) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let data = self
                .data(
                    "{ catalogStatus { productCount upstreams { upstream enabled fullPasses                      offersIndexed errors lastError } } }",
                    json!({}),
                )
                .await;
            let status = &data["catalogStatus"];
            let upstreams = status["upstreams"].as_array().expect("upstreams");
            if upstreams
                .iter()
                .all(|u| u["enabled"] == false || u["fullPasses"].as_i64() >= Some(1))
            {
                return status.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no full pass within two minutes: {upstreams:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The demo catalog served by simulators in drift mode (the unusual
    /// values the seeds allow, and a few unreadable offers).
    pub async fn start_drifted() -> Self {
        let sims = Simulators::start_with(
            offer_gateway::sim::catalog::DEMO_SEED,
            offer_gateway::sim::SimOptions { drift: true },
        )
        .await
        .expect("simulators start");
        Self::over(sims, |_| {}, offer_gateway::GatewayOptions::default()).await
    }

    /// A gateway over running simulators.
    pub async fn over(
        sims: Simulators,
        adjust: impl FnOnce(&mut Vec<InstanceSpec>),
        options: offer_gateway::GatewayOptions,
    ) -> Self {
        // Tests walk the whole catalog: lift Closient's per-key rate limits
        // (the tests that check them set their own).
        sims.closient_data.set_minute_limit(None);
        sims.closient_data.set_day_limit(None);
        let mut specs = sims.instance_specs();
        // The catalog sync would add upstream calls to the counts tests
        // check: off unless a test turns it on.
        for spec in &mut specs {
            spec.settings.sync.enabled = false;
        }
        adjust(&mut specs);
        let gateway = offer_gateway::Gateway::build(
            specs,
            offer_gateway::GatewayOptions {
                connect_timeout: Duration::from_secs(2),
                ..options
            },
        )
        .await
        .expect("the gateway builds");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(offer_gateway::serve(listener, gateway.router(), async {
            let _ = stopped.await;
        }));
        TestGateway {
            sims,
            gateway,
            url: format!("http://{addr}/graphql"),
            http: reqwest::Client::new(),
            _stop: stop,
        }
    }

    /// POSTs a query and returns the whole JSON response.
    pub async fn query(&self, query: &str, variables: Value) -> Value {
        let response = self
            .http
            .post(&self.url)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("gateway answers");
        assert!(
            response.status().is_success(),
            "HTTP {} from the gateway",
            response.status()
        );
        response.json().await.expect("a JSON response")
    }

    /// POSTs a query that must succeed without errors; returns `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let response = self.query(query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "unexpected errors: {:#}",
            response["errors"]
        );
        response["data"].clone()
    }
}

/// Turns every instance's catalog sync on, with a budget no test waits for.
pub fn sync_everything(specs: &mut Vec<InstanceSpec>) {
    for spec in specs {
        spec.settings.sync.enabled = true;
        spec.settings.sync.budget = Some(vec![offer_gateway::upstream::BudgetWindow {
            requests: 100_000,
            per: Duration::from_secs(1),
        }]);
    }
}

/// The `extensions.code` values of a response's errors, in order.
pub fn error_codes(response: &Value) -> Vec<String> {
    response["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The Closient organizations the demo key can see.
pub fn demo_organizations(sims: &Simulators) -> Vec<String> {
    sims.closient_data
        .organizations_visible_to(&closient::sim::demo_credentials())
        .iter()
        .map(|o| o.id.clone())
        .collect()
}

/// An online offer the demo Closient key may see and the other demo key
/// may not (pass-through tests: each key's own answer).
pub fn demo_only_online_offer(sims: &Simulators) -> &OnlineOfferOut {
    let demo_orgs = demo_organizations(sims);
    let other_orgs: Vec<String> = sims
        .closient_data
        .organizations_visible_to(&offer_gateway::upstream::closient::sim::other_credentials())
        .iter()
        .map(|o| o.id.clone())
        .collect();
    sims.closient_data
        .online_offers
        .iter()
        .find(|o| {
            let org = o.organization_id.clone().unwrap_or_default();
            demo_orgs.contains(&org) && !other_orgs.contains(&org)
        })
        .expect("an offer of the demo key only")
}

/// The online offers the demo Closient key can see, in generation order.
pub fn visible_online(sims: &Simulators) -> Vec<&OnlineOfferOut> {
    let orgs = demo_organizations(sims);
    sims.closient_data
        .online_offers
        .iter()
        .filter(|o| {
            o.organization_id
                .as_ref()
                .is_some_and(|org| orgs.contains(org))
        })
        .collect()
}

/// The in-store offers the demo Closient key can see, in generation order.
pub fn visible_in_store(sims: &Simulators) -> Vec<&InStoreOfferOut> {
    let orgs = demo_organizations(sims);
    sims.closient_data
        .in_store_offers
        .iter()
        .filter(|o| {
            o.organization_id
                .as_ref()
                .is_some_and(|org| orgs.contains(org))
        })
        .collect()
}

/// The cursor of the item at 0-based `position` of a listing, spelled as
/// the gateway spells it (opaque to clients; tests craft edge cases).
pub fn cursor(position: u64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("offset:{position}"))
}

/// The global ids of every offer of GTIN 00918882175177 ("Initech Ultra
/// Camping Stove") in the demo catalog: two Closient online, three
/// in-store, two Medusa and one Violet offer, in that order.
pub const DEMO_PRODUCT_OFFER_IDS: [&str; 8] = [
    "T25saW5lT2ZmZXI6Y2xvc2llbnQ6alVGdGt3b0xTYVluS3R1N3hBc3g0RA",
    "T25saW5lT2ZmZXI6Y2xvc2llbnQ6RTk5TU05TnJrZG9ZVWh1eHdEa3JvZw",
    "SW5TdG9yZU9mZmVyOmNsb3NpZW50Omt3NkxiN05iTGRyS2ZBUW43cU51NDg",
    "SW5TdG9yZU9mZmVyOmNsb3NpZW50OkNZajdiblVyOUc1WDRxbld2UTZjRzg",
    "SW5TdG9yZU9mZmVyOmNsb3NpZW50OkNmeUJtR2lmRHdINjg1UWJ1ZFF3OUw",
    "TWFya2V0cGxhY2VPZmZlcjptZWR1c2E6b2ZmZXJfMDFKR0hLVko0NzJFR0FGODE3TTE1OVhURko",
    "TWFya2V0cGxhY2VPZmZlcjptZWR1c2E6b2ZmZXJfMDFKR0hSWjZRQUE3M1hZUFBNQVNNOFY4UU0",
    "TWFya2V0cGxhY2VPZmZlcjp2aW9sZXQ6MzAwMDAwMDA2OQ",
];

/// A product page asked by offer ids (those of [`DEMO_PRODUCT_OFFER_IDS`]):
/// eight offers from the three upstreams, for tests that count upstream
/// calls without the catalog index.
pub fn offers_page_query() -> String {
    let ids: Vec<String> = DEMO_PRODUCT_OFFER_IDS
        .iter()
        .map(|id| format!("\"{id}\""))
        .collect();
    format!(
        "query ProductPage {{ offers(ids: [{}]) {{ __typename id upstream nativeId sku \
         price {{ amount currency minorUnits }} status buyable \
         ... on OnlineOffer {{ url stockLevel shippingCost {{ amount currency }} }} \
         ... on InStoreOffer {{ physicalStoreId quantityOnHand }} \
         ... on MarketplaceOffer {{ title seller {{ nativeId name }} }} }} }}",
        ids.join(" ")
    )
}

/// The Violet simulator's published exchange rates, units of each currency
/// per US dollar (`GET /v1/currencies/latest?base_currency=USD`, logged in
/// with the demo app), read as exact decimals from the answer's text.
pub async fn violet_usd_rates(sims: &Simulators) -> expect::Rates {
    let Credentials::Violet(violet::Credentials {
        app_id,
        app_secret,
        username,
        password,
    }) = violet::sim::demo_credentials()
    else {
        unreachable!("Violet demo credentials")
    };
    let url = |path: &str| sims.violet.base_url.join(path).expect("a URL");
    let http = reqwest::Client::new();
    let login: Value = http
        .post(url("/v1/login"))
        .header("X-Violet-App-Id", app_id.to_string())
        .header("X-Violet-App-Secret", app_secret.expose())
        .json(&json!({ "username": username, "password": password.expose() }))
        .send()
        .await
        .expect("the simulator answers")
        .json()
        .await
        .expect("a JSON login");
    let text = http
        .get(url("/v1/currencies/latest?base_currency=USD"))
        .header("X-Violet-App-Id", app_id.to_string())
        .header("X-Violet-App-Secret", app_secret.expose())
        .header("X-Violet-Token", login["token"].as_str().expect("a token"))
        .send()
        .await
        .expect("the simulator answers")
        .text()
        .await
        .expect("a body");
    // The wire type keeps each rate as its JSON text: never through `f64`.
    let rates: violet::wire::ExchangeRates = serde_json::from_str(&text).expect("the rates");
    assert_eq!(rates.base, "USD");
    rates
        .rates
        .iter()
        .map(|(code, rate)| {
            let rate = Decimal::from_str(rate.as_str())
                .or_else(|_| Decimal::from_scientific(rate.as_str()))
                .expect("a decimal rate");
            (code.clone(), rate)
        })
        .collect()
}

/// A Violet price of `minor` units of `currency` in US dollars, as the
/// Violet simulator answers it ([`violet_converted`]). E.g. 4545 JPY at
/// 151.5 per dollar is 30.00 USD; 1250 KWD minor units (1.250 KWD) at 0.307
/// per dollar are 4.071661... -> 4.07 USD.
pub fn violet_in_usd(minor: i64, currency: &str, per_usd: &expect::Rates) -> Decimal {
    violet_converted(minor, currency, "USD", per_usd)
}

/// A Violet price of `minor` units of `currency` in `target`, as the
/// Violet simulator converts it (its module documentation): the exact
/// amount (ISO 4217 exponents written out in [`expect::exponent`]) times
/// `target`'s units per US dollar, divided by `currency`'s, both from
/// `per_usd`, rounded half to even to `target`'s minor unit. E.g. 312.12
/// USD in EUR at 0.92 per dollar: 312.12 x 0.92 / 1 = 287.1504 -> 287.15 EUR.
pub fn violet_converted(
    minor: i64,
    currency: &str,
    target: &str,
    per_usd: &expect::Rates,
) -> Decimal {
    let amount = Decimal::new(minor, expect::exponent(currency));
    expect::convert(amount, currency, target, per_usd)
        .unwrap_or_else(|| panic!("the simulator publishes no rate for {currency} or {target}"))
}
