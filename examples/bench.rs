//! The gateway's load benchmark: throughput and latency of fixed scenarios
//! over real HTTP, against a baseline without the gateway and a ceiling of
//! what this machine can serve at all.
//!
//! ```text
//! cargo run --release --example bench
//! cargo run --release --example bench -- --latency 50ms --clients 64 --duration 10s
//! cargo run --release --example bench -- --scenario product-page --scenario duplicates
//! cargo run --release --example bench -- --upstream-concurrency 256
//! ```
//!
//! One process holds everything, all on `127.0.0.1` port 0: the three
//! simulators (each answer delayed by `--latency`), two gateways over them
//! (one with caching off, one with caching on and a one-hour TTL), a
//! "ceiling" axum server and the load generator. Scenarios:
//!
//! 1. `one-offer`: `offer(id:)` of one Closient online offer;
//! 2. `product-page`: `offers(ids:)` of 50 offers across the three
//!    upstreams (Closient online and in-store, Medusa, Violet);
//! 3. `online-page`: `onlineOffers(organizationId:, first: 100)`;
//! 4. `duplicates`: the 50-offer page with 20% of its ids repeated.
//!
//! Each scenario is measured four ways, each for `--duration` with
//! `--clients` clients sending one request after another:
//!
//! - `baseline`: what a frontend without the gateway does: one REST call
//!   per offer to the simulators, all of a page at once (the one listing
//!   call for scenario 3). One "query" is the whole page.
//! - `gateway cold`: the gateway with caching off.
//! - `gateway warm`: the gateway with caching on, warmed by the query
//!   before measuring.
//! - `ceiling`: a bare axum handler answering the gateway's response bytes
//!   for that scenario, precomputed.
//!
//! Every measured response is checked (HTTP 200; for GraphQL no `"errors"`
//! key) and failures are counted. Upstream calls per query come from the
//! simulators' request counters. Resident memory is the whole process's:
//! gateways, simulators and load generator share it, as they share the CPU.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::routing::post;
use axum::Router;
use clap::{Parser, ValueEnum};
use offer_gateway::sim::Simulators;
use offer_gateway::upstream::{closient, medusa, violet, Credentials};
use offer_gateway::GlobalId;
use offer_gateway::OfferKind;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use url::Url;

/// The selection of every offer in scenarios 1, 2 and 4: a product page's
/// offers (those of `product_page.graphql`), asked by id.
const OFFERS_QUERY: &str = include_str!("offers_by_id.graphql");
/// Scenario 5: a product page from a GTIN.
const PRODUCT_PAGE_QUERY: &str = include_str!("product_page.graphql");
/// Scenario 6: a product search (names, brands and offer counts only, so
/// that it measures the index rather than live offers).
const SEARCH_QUERY: &str = "query Search($search: String!) {
  products(search: $search, first: 10) { totalCount nodes { id gtin name brand offerCount } }
}";
/// The product of scenario 5: offered by all three upstreams in the demo.
const PRODUCT_GTIN: &str = "00918882175177";
/// The selection of scenario 3: an organization's online offers page.
const ONLINE_PAGE_QUERY: &str = include_str!("online_offers_page.graphql");
/// Offers of one product page (scenarios 2 and 4).
const PAGE_SIZE: usize = 50;
/// Online offers in scenario 3's page.
const LISTING_SIZE: usize = 100;
/// How long the load generator waits for one answer before counting a failure.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The gateway's connect timeout to the simulators.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Cache TTL of the warm gateway: longer than any run.
const WARM_TTL: Duration = Duration::from_secs(3600);

// ---------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------

/// Load benchmark of offer-gateway over its simulators (loopback only).
#[derive(Parser, Debug)]
struct Args {
    /// Latency the simulators add to every upstream call.
    #[arg(long, default_value = "20ms", value_parser = humantime::parse_duration)]
    latency: Duration,
    /// Concurrent clients, each sending one request after another.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Measured time of each run (four runs per scenario).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Calls in flight per upstream instance in both gateways
    /// (`max_concurrency`); the gateway's default unless given.
    #[arg(long, default_value_t = offer_gateway::upstream::DEFAULT_MAX_CONCURRENCY)]
    upstream_concurrency: usize,
    /// Scenarios to run (repeat the flag or separate with commas); all by default.
    #[arg(long, value_enum, value_delimiter = ',')]
    scenario: Vec<ScenarioName>,
}

/// The fixed scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ScenarioName {
    /// 1: one offer by id.
    OneOffer,
    /// 2: a product page of 50 mixed offers.
    ProductPage,
    /// 3: one page of 100 online offers.
    OnlinePage,
    /// 4: the 50-offer page with 20% of its ids repeated.
    Duplicates,
    /// 5: a product page from a GTIN: the product and its 8 offers.
    Product,
    /// 6: a product search over the catalog index.
    Search,
    /// 7: `{ upstreams { name } }`: no upstream, no loader, the gateway's
    /// own fixed cost per request.
    Trivial,
}

impl ScenarioName {
    const ALL: [ScenarioName; 7] = [
        ScenarioName::OneOffer,
        ScenarioName::ProductPage,
        ScenarioName::OnlinePage,
        ScenarioName::Duplicates,
        ScenarioName::Product,
        ScenarioName::Search,
        ScenarioName::Trivial,
    ];

    fn label(self) -> &'static str {
        match self {
            ScenarioName::OneOffer => "1 one-offer",
            ScenarioName::ProductPage => "2 product-page",
            ScenarioName::OnlinePage => "3 online-page",
            ScenarioName::Duplicates => "4 duplicates",
            ScenarioName::Product => "5 product",
            ScenarioName::Search => "6 search",
            ScenarioName::Trivial => "7 trivial",
        }
    }
}

// ---------------------------------------------------------------------------
// Scenario definitions
// ---------------------------------------------------------------------------

/// One offer the scenarios ask for, by upstream style.
#[derive(Clone, Debug)]
enum OfferRef {
    Online(String),
    InStore(String),
    Medusa(String),
    Violet(i64),
}

impl OfferRef {
    /// The gateway's global id (instances are named as in `instance_specs`).
    fn global_id(&self) -> String {
        match self {
            OfferRef::Online(id) => GlobalId::encode(OfferKind::Online, "closient", id),
            OfferRef::InStore(id) => GlobalId::encode(OfferKind::InStore, "closient", id),
            OfferRef::Medusa(id) => GlobalId::encode(OfferKind::Marketplace, "medusa", id),
            OfferRef::Violet(id) => {
                GlobalId::encode(OfferKind::Marketplace, "violet", &id.to_string())
            }
        }
    }

    /// The REST call a frontend without the gateway makes for this offer.
    fn rest_call(&self, auth: &RestAuth) -> RestCall {
        match self {
            OfferRef::Online(id) => auth.closient(&format!("/retailers/api/v1/online-offers/{id}")),
            OfferRef::InStore(id) => {
                auth.closient(&format!("/retailers/api/v1/in-store-offers/{id}"))
            }
            OfferRef::Medusa(id) => RestCall {
                url: join(&auth.medusa_base, &format!("/admin/offers/{id}")),
                headers: auth.medusa_headers.clone(),
            },
            OfferRef::Violet(id) => RestCall {
                url: join(&auth.violet_base, &format!("/v1/catalog/offers/{id}")),
                headers: auth.violet_headers.clone(),
            },
        }
    }
}

/// Offers picked from the simulators' data, spread over their catalogs,
/// all visible to the demo credentials.
struct OfferPool {
    online: Vec<OfferRef>,
    in_store: Vec<OfferRef>,
    medusa: Vec<OfferRef>,
    violet: Vec<OfferRef>,
    /// The demo-visible organization with the most online offers, and its name.
    organization: (String, String),
    /// The offers of [`PRODUCT_GTIN`], from the simulators' raw values.
    product: Vec<OfferRef>,
}

impl OfferPool {
    fn pick(sims: &Simulators) -> OfferPool {
        let data = &sims.closient_data;
        let organizations = data.organizations_visible_to(&closient::sim::demo_credentials());
        let visible =
            |org: &Option<String>| organizations.iter().any(|o| Some(&o.id) == org.as_ref());
        let online: Vec<OfferRef> = data
            .online_offers
            .iter()
            .filter(|o| visible(&o.organization_id))
            .map(|o| OfferRef::Online(o.id.clone()))
            .collect();
        let in_store: Vec<OfferRef> = data
            .in_store_offers
            .iter()
            .filter(|o| visible(&o.organization_id))
            .map(|o| OfferRef::InStore(o.id.clone()))
            .collect();
        let medusa: Vec<OfferRef> = sims
            .medusa_data
            .offers
            .iter()
            .map(|o| OfferRef::Medusa(o.id.clone()))
            .collect();
        let violet: Vec<OfferRef> = sims
            .violet_data
            .offers
            .iter()
            .map(|o| OfferRef::Violet(o.id))
            .collect();
        let organization = organizations
            .iter()
            .max_by_key(|o| data.organization_online_offers(&o.id).len())
            .map(|o| (o.id.clone(), o.name.clone()))
            .expect("the demo key sees at least one organization");
        let product_ids: Vec<&str> = data
            .products
            .iter()
            .filter(|p| p.gtin == PRODUCT_GTIN)
            .map(|p| p.id.as_str())
            .collect();
        let padded = |code: &Option<String>| {
            code.as_deref()
                .is_some_and(|c| format!("{c:0>14}") == PRODUCT_GTIN)
        };
        let product = data
            .online_offers
            .iter()
            .filter(|o| visible(&o.organization_id) && product_ids.contains(&o.product_id.as_str()))
            .map(|o| OfferRef::Online(o.id.clone()))
            .chain(
                data.in_store_offers
                    .iter()
                    .filter(|o| {
                        visible(&o.organization_id) && product_ids.contains(&o.product_id.as_str())
                    })
                    .map(|o| OfferRef::InStore(o.id.clone())),
            )
            .chain(
                sims.medusa_data
                    .offers
                    .iter()
                    .filter(|o| padded(&o.ean) || padded(&o.upc))
                    .map(|o| OfferRef::Medusa(o.id.clone())),
            )
            .chain(
                sims.violet_data
                    .offers
                    .iter()
                    .filter(|o| {
                        o.skus
                            .iter()
                            .any(|s| padded(&s.gtin) || padded(&s.upc) || padded(&s.ean))
                    })
                    .map(|o| OfferRef::Violet(o.id)),
            )
            .collect();
        OfferPool {
            online,
            in_store,
            medusa,
            violet,
            organization,
            product,
        }
    }

    /// `n` offers of each style, spread evenly over its list.
    fn spread(list: &[OfferRef], n: usize) -> Vec<OfferRef> {
        assert!(list.len() >= n, "the demo catalog has too few offers");
        (0..n).map(|i| list[i * list.len() / n].clone()).collect()
    }

    /// A product page of `sizes` = (online, in-store, medusa, violet)
    /// offers, the styles interleaved as a page would mix them.
    fn page(&self, sizes: [usize; 4]) -> Vec<OfferRef> {
        let lists = [
            OfferPool::spread(&self.online, sizes[0]),
            OfferPool::spread(&self.in_store, sizes[1]),
            OfferPool::spread(&self.medusa, sizes[2]),
            OfferPool::spread(&self.violet, sizes[3]),
        ];
        let longest = sizes.iter().copied().max().unwrap_or(0);
        (0..longest)
            .flat_map(|i| lists.iter().filter_map(move |l| l.get(i).cloned()))
            .collect()
    }
}

/// How the one-off correctness check reads a scenario's answer.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// `data.offer` is an offer.
    Offer,
    /// `data.offers` has this many entries, none `null`.
    Offers(usize),
    /// `data.onlineOffers.edges` has this many entries.
    Edges(usize),
    /// `data.product.offers.nodes` has this many offers, none `null`.
    Product(usize),
    /// `data.products.nodes` is not empty.
    Products,
    /// `data.upstreams` names the three instances.
    Upstreams,
}

/// One scenario: the GraphQL request, its REST baseline and what to expect.
struct Scenario {
    /// What it is, for the report.
    description: String,
    /// The JSON body POSTed to the gateway.
    graphql_body: Bytes,
    /// The REST calls of one baseline "query", sent concurrently.
    baseline: Vec<RestCall>,
    expect: Expect,
}

fn scenario(name: ScenarioName, pool: &OfferPool, auth: &RestAuth) -> Scenario {
    let offers_body = |offers: &[OfferRef]| {
        let ids: Vec<String> = offers.iter().map(OfferRef::global_id).collect();
        json!({ "query": OFFERS_QUERY, "variables": { "ids": ids } })
    };
    let rest = |offers: &[OfferRef]| offers.iter().map(|o| o.rest_call(auth)).collect();
    // 13 online + 12 in-store + 13 Medusa + 12 Violet = 50.
    let mixed = [13, 12, 13, 12];
    let (description, body, baseline, expect) = match name {
        ScenarioName::OneOffer => {
            let offer = OfferPool::spread(&pool.online, 1);
            // The product page's selection, on `offer(id:)`: the file ends
            // with `offers(ids: $ids) { ... } }`.
            let field = "offers(ids: $ids)";
            let at = OFFERS_QUERY
                .find(field)
                .expect("the offers query selects offers(ids: $ids)");
            let query = format!(
                "query OneOffer($id: ID!) {{\n  offer(id: $id){}",
                &OFFERS_QUERY[at + field.len()..]
            );
            (
                "offer(id:) of one Closient online offer".to_owned(),
                json!({ "query": query, "variables": { "id": offer[0].global_id() } }),
                rest(&offer),
                Expect::Offer,
            )
        }
        ScenarioName::ProductPage => {
            let page = pool.page(mixed);
            (
                format!(
                    "offers(ids:) of {PAGE_SIZE}: 13 Closient online, 12 in-store, \
                     13 Medusa, 12 Violet"
                ),
                offers_body(&page),
                rest(&page),
                Expect::Offers(page.len()),
            )
        }
        ScenarioName::OnlinePage => {
            let (org_id, org_name) = &pool.organization;
            let call = auth.closient(&format!(
                "/retailers/api/v1/organizations/{org_id}/online-offers?page=1&page_size={LISTING_SIZE}"
            ));
            (
                format!("onlineOffers(first: {LISTING_SIZE}) of {org_name}"),
                json!({
                    "query": ONLINE_PAGE_QUERY,
                    "variables": { "organizationId": org_id, "first": LISTING_SIZE },
                }),
                vec![call],
                Expect::Edges(LISTING_SIZE),
            )
        }
        ScenarioName::Duplicates => {
            // 40 distinct offers, and after every 4th one a repeat of an
            // earlier one: 10 repeats, 20% of the 50 ids.
            let distinct = pool.page([10, 10, 10, 10]);
            let mut page = Vec::with_capacity(PAGE_SIZE);
            for (i, offer) in distinct.iter().enumerate() {
                page.push(offer.clone());
                if i % 4 == 3 {
                    page.push(distinct[i - 3].clone());
                }
            }
            assert_eq!(page.len(), PAGE_SIZE);
            (
                format!(
                    "offers(ids:) of {PAGE_SIZE} ids, 40 distinct (10 per style) + 10 repeated; \
                     the baseline fetches every id"
                ),
                offers_body(&page),
                rest(&page),
                Expect::Offers(page.len()),
            )
        }
        ScenarioName::Product => {
            let offers = &pool.product;
            (
                format!(
                    "product(gtin: \"{PRODUCT_GTIN}\") with examples/product_page.graphql: \
                     {} offers (Closient online and in-store, Medusa, Violet) by price; \
                     the baseline fetches those offers by id (which a frontend cannot know)",
                    offers.len()
                ),
                json!({ "query": PRODUCT_PAGE_QUERY, "variables": { "gtin": PRODUCT_GTIN } }),
                rest(offers),
                Expect::Product(offers.len()),
            )
        }
        ScenarioName::Search => (
            "products(search: \"camping stove\", first: 10): names, brands, offer counts \
             from the catalog index; no REST baseline (no upstream searches across others)"
                .to_owned(),
            json!({ "query": SEARCH_QUERY, "variables": { "search": "camping stove" } }),
            Vec::new(),
            Expect::Products,
        ),
        ScenarioName::Trivial => (
            "{ upstreams { name } }: no upstream and no loader, the gateway's fixed cost \
             per request; no REST baseline"
                .to_owned(),
            json!({ "query": "{ upstreams { name } }" }),
            Vec::new(),
            Expect::Upstreams,
        ),
    };
    Scenario {
        description,
        graphql_body: Bytes::from(serde_json::to_vec(&body).expect("JSON serializes")),
        baseline,
        expect,
    }
}

// ---------------------------------------------------------------------------
// Baseline: the simulators' REST APIs, authenticated as a client would be
// ---------------------------------------------------------------------------

/// One REST GET of the baseline.
#[derive(Clone, Debug)]
struct RestCall {
    url: Url,
    headers: HeaderMap,
}

/// Base URLs and ready auth headers of the three simulators.
struct RestAuth {
    closient_base: Url,
    closient_headers: HeaderMap,
    medusa_base: Url,
    medusa_headers: HeaderMap,
    violet_base: Url,
    violet_headers: HeaderMap,
}

fn join(base: &Url, path_and_query: &str) -> Url {
    base.join(path_and_query)
        .expect("an absolute API path joins any base URL")
}

fn header_value(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).expect("credentials are valid header values")
}

impl RestAuth {
    /// Logs in to Medusa and Violet once, as a frontend would at start.
    async fn login(sims: &Simulators, http: &reqwest::Client) -> anyhow::Result<RestAuth> {
        let Credentials::Closient(closient::Credentials { api_key }) =
            closient::sim::demo_credentials()
        else {
            anyhow::bail!("Closient demo credentials are not an API key");
        };
        let mut closient_headers = HeaderMap::new();
        closient_headers.insert("x-api-key", header_value(api_key.expose()));

        let Credentials::Medusa(medusa::Credentials::EmailPassword { email, password }) =
            medusa::sim::demo_credentials()
        else {
            anyhow::bail!("Medusa demo credentials are not a login");
        };
        let login: Value = http
            .post(join(&sims.medusa.base_url, "/auth/user/emailpass"))
            .json(&json!({ "email": email, "password": password.expose() }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let token = login["token"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("Medusa login answered no token"))?;
        let mut medusa_headers = HeaderMap::new();
        medusa_headers.insert(
            header::AUTHORIZATION,
            header_value(&format!("Bearer {token}")),
        );

        let Credentials::Violet(violet::Credentials {
            app_id,
            app_secret,
            username,
            password,
        }) = violet::sim::demo_credentials()
        else {
            anyhow::bail!("Violet demo credentials are not an app login");
        };
        let mut violet_headers = HeaderMap::new();
        violet_headers.insert("x-violet-app-id", header_value(&app_id.to_string()));
        violet_headers.insert("x-violet-app-secret", header_value(app_secret.expose()));
        let login: Value = http
            .post(join(&sims.violet.base_url, "/v1/login"))
            .headers(violet_headers.clone())
            .json(&json!({ "username": username, "password": password.expose() }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let token = login["token"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("Violet login answered no token"))?;
        violet_headers.insert("x-violet-token", header_value(token));

        Ok(RestAuth {
            closient_base: sims.closient.base_url.clone(),
            closient_headers,
            medusa_base: sims.medusa.base_url.clone(),
            medusa_headers,
            violet_base: sims.violet.base_url.clone(),
            violet_headers,
        })
    }

    fn closient(&self, path_and_query: &str) -> RestCall {
        RestCall {
            url: join(&self.closient_base, path_and_query),
            headers: self.closient_headers.clone(),
        }
    }
}

// ---------------------------------------------------------------------------
// Servers: gateways and the ceiling
// ---------------------------------------------------------------------------

/// A server on loopback that stops when this is dropped.
struct Running {
    url: String,
    _stop: oneshot::Sender<()>,
}

async fn serve(app: Router, path: &str) -> std::io::Result<Running> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let url = format!("http://{}{path}", listener.local_addr()?);
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(err) = offer_gateway::serve(listener, app, shutdown).await {
            eprintln!("server stopped: {err}");
        }
    });
    Ok(Running { url, _stop: stop })
}

/// A gateway over the simulators, with caching on (one-hour TTL) or off.
async fn start_gateway(
    sims: &Simulators,
    cache: bool,
    max_concurrency: usize,
) -> std::io::Result<Running> {
    let mut specs = sims.instance_specs();
    for spec in &mut specs {
        // The catalog index is filled once before any run (an unlimited
        // budget); the next pass is 15 minutes away, after the bench.
        spec.settings.sync.budget = Some(vec![offer_gateway::upstream::BudgetWindow {
            requests: 1_000_000,
            per: Duration::from_secs(1),
        }]);
        spec.settings.max_concurrency = max_concurrency;
        spec.settings.cache.enabled = cache;
        if cache {
            spec.settings.cache.ttl = WARM_TTL;
            spec.settings.cache.not_found_ttl = WARM_TTL;
        }
    }
    let gateway = offer_gateway::Gateway::build(
        specs,
        offer_gateway::GatewayOptions {
            connect_timeout: CONNECT_TIMEOUT,
            ..Default::default()
        },
    )
    .await
    .map_err(std::io::Error::other)?;
    serve(gateway.router(), "/graphql").await
}

/// The ceiling: a bare handler answering `body` to every POST.
async fn start_ceiling(body: Bytes) -> std::io::Result<Running> {
    async fn answer(
        State(body): State<Bytes>,
        _request: Bytes,
    ) -> impl axum::response::IntoResponse {
        ([(header::CONTENT_TYPE, "application/json")], body)
    }
    let app = Router::new()
        .route("/graphql", post(answer))
        .with_state(body);
    serve(app, "/graphql").await
}

// ---------------------------------------------------------------------------
// Load driver
// ---------------------------------------------------------------------------

/// What one client request is.
enum Target {
    /// POST a GraphQL body; the answer must be 200 without `"errors"`.
    GraphQL { url: String, body: Bytes },
    /// GET all these concurrently; every answer must be 200.
    Rest(Vec<RestCall>),
}

impl Target {
    /// Sends one request (one page for the baseline), checks it and
    /// returns the GraphQL answer's bytes (empty for the baseline).
    async fn once(&self, http: &reqwest::Client) -> Result<Bytes, String> {
        match self {
            Target::GraphQL { url, body } => {
                let response = http
                    .post(url)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .map_err(|e| format!("POST {url}: {e}"))?;
                let status = response.status();
                let bytes = response
                    .bytes()
                    .await
                    .map_err(|e| format!("reading the answer: {e}"))?;
                if status != StatusCode::OK {
                    return Err(format!("HTTP {status}"));
                }
                if has_errors(&bytes) {
                    return Err(format!(
                        "GraphQL errors: {}",
                        String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
                    ));
                }
                Ok(bytes)
            }
            Target::Rest(calls) => {
                let results = futures::future::join_all(calls.iter().map(|call| async move {
                    let response = http
                        .get(call.url.clone())
                        .headers(call.headers.clone())
                        .send()
                        .await
                        .map_err(|e| format!("GET {}: {e}", call.url.path()))?;
                    let status = response.status();
                    // Read the body, as a frontend would.
                    response
                        .bytes()
                        .await
                        .map_err(|e| format!("reading {}: {e}", call.url.path()))?;
                    if status != StatusCode::OK {
                        return Err(format!("HTTP {status} from GET {}", call.url.path()));
                    }
                    Ok(())
                }))
                .await;
                results.into_iter().collect::<Result<(), String>>()?;
                Ok(Bytes::new())
            }
        }
    }
}

/// Whether a GraphQL answer has an `"errors"` key, without parsing it:
/// `str::contains` is a fast substring search, `windows()` is not.
fn has_errors(answer: &[u8]) -> bool {
    std::str::from_utf8(answer).map_or(true, |text| text.contains("\"errors\""))
}

/// The result of one measured run.
struct Measurement {
    /// Requests answered and checked as good.
    ok: u64,
    /// Requests that failed (transport, status or GraphQL errors).
    failures: u64,
    first_failure: Option<String>,
    /// From the first request sent to the last answer received.
    elapsed: Duration,
    /// Latency of every request, failed ones included, sorted.
    latencies: Vec<Duration>,
    /// Simulator requests during the run: Closient, Medusa, Violet.
    upstream_calls: [u64; 3],
    /// VmRSS after the run, in KiB.
    rss_kib: Option<u64>,
}

impl Measurement {
    fn queries(&self) -> u64 {
        self.ok + self.failures
    }

    fn throughput(&self) -> f64 {
        self.queries() as f64 / self.elapsed.as_secs_f64()
    }

    /// The `q` quantile (0..=1), nearest rank.
    fn percentile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = (q * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }

    /// Upstream calls per query: in all, and per simulator.
    fn upstream_per_query(&self) -> String {
        let per = |calls: u64| calls as f64 / self.queries().max(1) as f64;
        let [c, m, v] = self.upstream_calls;
        format!(
            "{:.2} ({:.2} / {:.2} / {:.2})",
            per(c + m + v),
            per(c),
            per(m),
            per(v)
        )
    }
}

/// Per-client tally, merged after the run.
#[derive(Default)]
struct Tally {
    ok: u64,
    failures: u64,
    first_failure: Option<String>,
    latencies: Vec<Duration>,
}

/// Runs `clients` clients against `target` for `duration`: one warm-up
/// request per client (fills connection pools and caches, not measured),
/// then each client sends requests back to back until the time is up.
/// Requests in flight at the deadline finish and count.
async fn drive(
    sims: &Simulators,
    http: &reqwest::Client,
    target: Arc<Target>,
    clients: usize,
    duration: Duration,
) -> Measurement {
    let warm_up = (0..clients).map(|_| target.once(http));
    let warm_failures = futures::future::join_all(warm_up)
        .await
        .into_iter()
        .filter(Result::is_err)
        .count();
    if warm_failures > 0 {
        eprintln!("  warning: {warm_failures} warm-up requests failed");
    }

    sims.reset_counts();
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let http = http.clone();
            let target = target.clone();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let result = target.once(&http).await;
                    tally.latencies.push(sent.elapsed());
                    match result {
                        Ok(_) => tally.ok += 1,
                        Err(err) => {
                            tally.failures += 1;
                            tally.first_failure.get_or_insert(err);
                        }
                    }
                }
                tally
            })
        })
        .collect();
    let mut total = Tally::default();
    for task in tasks {
        let tally = task.await.expect("a load client panicked");
        total.ok += tally.ok;
        total.failures += tally.failures;
        if total.first_failure.is_none() {
            total.first_failure = tally.first_failure;
        }
        total.latencies.extend(tally.latencies);
    }
    let elapsed = started.elapsed();
    let upstream_calls = [&sims.closient, &sims.medusa, &sims.violet].map(|s| s.control.total());
    total.latencies.sort_unstable();
    Measurement {
        ok: total.ok,
        failures: total.failures,
        first_failure: total.first_failure,
        elapsed,
        latencies: total.latencies,
        upstream_calls,
        rss_kib: rss_kib(),
    }
}

/// The process's resident memory (VmRSS), in KiB.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Checks the gateway's answer once, beyond "no errors": the offers are all
/// there (a page of `null`s would be fast and wrong).
fn check_answer(expect: Expect, bytes: &[u8]) -> anyhow::Result<()> {
    let answer: Value = serde_json::from_slice(bytes)?;
    let data = &answer["data"];
    let fine = match expect {
        Expect::Offer => data["offer"]["id"].is_string(),
        Expect::Offers(n) => data["offers"]
            .as_array()
            .is_some_and(|offers| offers.len() == n && offers.iter().all(|o| o["id"].is_string())),
        Expect::Edges(n) => data["onlineOffers"]["edges"]
            .as_array()
            .is_some_and(|edges| edges.len() == n),
        Expect::Product(n) => data["product"]["offers"]["nodes"]
            .as_array()
            .is_some_and(|offers| offers.len() == n && offers.iter().all(|o| o["id"].is_string())),
        Expect::Products => data["products"]["nodes"]
            .as_array()
            .is_some_and(|nodes| !nodes.is_empty()),
        Expect::Upstreams => data["upstreams"]
            .as_array()
            .is_some_and(|upstreams| upstreams.len() == 3),
    };
    anyhow::ensure!(
        fine,
        "unexpected answer ({expect:?}): {}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

/// The four ways each scenario is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Run {
    /// Straight to the simulators' REST APIs, one call per offer.
    Baseline,
    /// The gateway with caching off.
    GatewayCold,
    /// The gateway with caching on, warmed.
    GatewayWarm,
    /// A bare handler answering the gateway's bytes.
    Ceiling,
}

impl Run {
    const ALL: [Run; 4] = [
        Run::Baseline,
        Run::GatewayCold,
        Run::GatewayWarm,
        Run::Ceiling,
    ];

    fn label(self) -> &'static str {
        match self {
            Run::Baseline => "baseline (REST)",
            Run::GatewayCold => "gateway cold",
            Run::GatewayWarm => "gateway warm",
            Run::Ceiling => "ceiling",
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn row(scenario: ScenarioName, run: Run, m: &Measurement) -> String {
    let failures = if m.failures == 0 {
        "0".to_owned()
    } else {
        format!("**{}**", m.failures)
    };
    let rss = m
        .rss_kib
        .map_or("?".to_owned(), |kib| format!("{:.0}", kib as f64 / 1024.0));
    format!(
        "| {} | {} | {:.0} | {} | {} | {} | {} | {failures} | {rss} |",
        scenario.label(),
        run.label(),
        m.throughput(),
        ms(m.percentile(0.50)),
        ms(m.percentile(0.95)),
        ms(m.percentile(0.99)),
        m.upstream_per_query(),
    )
}

/// A ratio with enough digits to read small ones (`0.004x`).
fn times(ratio: f64) -> String {
    if ratio < 0.1 {
        format!("{ratio:.4}x")
    } else {
        format!("{ratio:.2}x")
    }
}

fn ratio_row(scenario: ScenarioName, runs: &HashMap<Run, Measurement>) -> String {
    let ratio = |a: Run, b: Run| {
        let (Some(a), Some(b)) = (runs.get(&a), runs.get(&b)) else {
            return "n/a".to_owned();
        };
        let p50 = |m: &Measurement| m.percentile(0.5).as_secs_f64();
        format!(
            "{} / {}",
            times(a.throughput() / b.throughput()),
            times(p50(a) / p50(b))
        )
    };
    format!(
        "| {} | {} | {} | {} | {} |",
        scenario.label(),
        ratio(Run::GatewayCold, Run::Baseline),
        ratio(Run::GatewayWarm, Run::Baseline),
        ratio(Run::GatewayCold, Run::Ceiling),
        ratio(Run::GatewayWarm, Run::Ceiling),
    )
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    anyhow::ensure!(args.clients > 0, "--clients must be at least 1");
    anyhow::ensure!(
        args.upstream_concurrency > 0,
        "--upstream-concurrency must be at least 1"
    );
    let chosen: Vec<ScenarioName> = if args.scenario.is_empty() {
        ScenarioName::ALL.to_vec()
    } else {
        ScenarioName::ALL
            .into_iter()
            .filter(|s| args.scenario.contains(s))
            .collect()
    };

    let sims = Simulators::start_demo().await?;
    sims.set_latency(args.latency);
    // The documented 300 requests/minute per key would throttle every run.
    sims.closient_data.set_minute_limit(None);
    sims.closient_data.set_day_limit(None);
    let cold = start_gateway(&sims, false, args.upstream_concurrency).await?;
    let warm = start_gateway(&sims, true, args.upstream_concurrency).await?;
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let auth = RestAuth::login(&sims, &http).await?;
    let pool = OfferPool::pick(&sims);
    for gateway in [&cold, &warm] {
        let took = wait_for_index(&http, &gateway.url).await?;
        eprintln!("catalog index filled in {took:.1?} (sync of all three upstreams)");
    }
    sims.reset_counts();

    eprintln!(
        "offer-gateway bench: latency {:?} per upstream call, {} clients, {:?} per run, \
         scenarios: {}",
        args.latency,
        args.clients,
        args.duration,
        chosen
            .iter()
            .map(|s| s.label())
            .collect::<Vec<_>>()
            .join(", ")
    );

    let mut table = String::new();
    let mut ratios = String::new();
    let mut descriptions = String::new();
    let mut failed_runs = Vec::new();
    for name in chosen {
        let scenario = scenario(name, &pool, &auth);
        writeln!(descriptions, "- {}: {}", name.label(), scenario.description)?;
        eprintln!("{}: {}", name.label(), scenario.description);

        // The gateway's answer, checked once; the ceiling serves these bytes.
        let answer = Target::GraphQL {
            url: warm.url.clone(),
            body: scenario.graphql_body.clone(),
        }
        .once(&http)
        .await
        .map_err(|e| anyhow::anyhow!("{}: the gateway's answer: {e}", name.label()))?;
        check_answer(scenario.expect, &answer)?;
        let ceiling = start_ceiling(answer).await?;

        let mut runs = HashMap::new();
        for run in Run::ALL {
            let graphql = |url: &str| Target::GraphQL {
                url: url.to_owned(),
                body: scenario.graphql_body.clone(),
            };
            if run == Run::Baseline && scenario.baseline.is_empty() {
                continue;
            }
            let target = match run {
                Run::Baseline => Target::Rest(scenario.baseline.clone()),
                Run::GatewayCold => graphql(&cold.url),
                Run::GatewayWarm => graphql(&warm.url),
                Run::Ceiling => graphql(&ceiling.url),
            };
            let m = drive(&sims, &http, Arc::new(target), args.clients, args.duration).await;
            let line = row(name, run, &m);
            eprintln!("{line}");
            if m.failures > 0 {
                eprintln!(
                    "  !!! {} of {} requests FAILED; first: {}",
                    m.failures,
                    m.queries(),
                    m.first_failure.as_deref().unwrap_or("?")
                );
                failed_runs.push(format!(
                    "{} / {}: {} failed",
                    name.label(),
                    run.label(),
                    m.failures
                ));
            }
            writeln!(table, "{line}")?;
            runs.insert(run, m);
        }
        writeln!(ratios, "{}", ratio_row(name, &runs))?;
    }

    println!();
    println!(
        "latency {:?} per upstream call, {} clients, {:?} per run, \
         gateway max_concurrency {} per upstream, {} cores",
        args.latency,
        args.clients,
        args.duration,
        args.upstream_concurrency,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    print!("{descriptions}");
    println!();
    println!(
        "| scenario | run | req/s | p50 ms | p95 ms | p99 ms | upstream calls/query (closient / medusa / violet) | failures | RSS MiB |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    print!("{table}");
    println!();
    println!(
        "RSS is the whole process after each run: simulators, both gateways, the ceiling \
         server and the load generator."
    );
    println!();
    println!("Ratios, throughput / p50 latency (above 1x: more requests/s, slower median):");
    println!();
    println!("| scenario | cold / baseline | warm / baseline | cold / ceiling | warm / ceiling |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    print!("{ratios}");

    if failed_runs.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        println!();
        println!("!!! FAILURES: these figures are not valid:");
        for failed in &failed_runs {
            println!("!!!   {failed}");
        }
        Ok(ExitCode::FAILURE)
    }
}

/// Waits until every instance of the gateway at `url` finished its first
/// sync pass (the index is full) and is idle; the time it took.
async fn wait_for_index(http: &reqwest::Client, url: &str) -> anyhow::Result<Duration> {
    let started = std::time::Instant::now();
    let query = json!({ "query": "{ catalogStatus { upstreams { fullPasses running } } }" });
    loop {
        let answer: Value = http.post(url).json(&query).send().await?.json().await?;
        let upstreams = answer["data"]["catalogStatus"]["upstreams"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !upstreams.is_empty()
            && upstreams
                .iter()
                .all(|u| u["fullPasses"].as_i64() >= Some(1) && u["running"] == false)
        {
            return Ok(started.elapsed());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "the catalog sync did not finish: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
