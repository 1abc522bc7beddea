//! The gateway's load benchmark: throughput, latency and the gateway's own
//! CPU time and memory for fixed scenarios over real HTTP, against a
//! baseline without the gateway and a ceiling of what this machine can
//! serve at all.
//!
//! ```text
//! cargo run --release --example bench
//! cargo run --release --example bench -- --latency 50ms --clients 64 --duration 10s
//! cargo run --release --example bench -- --scenario product-page,distinct-pages
//! cargo run --release --example bench -- --clients 1 --duration 3s --scenario one-offer
//! cargo run --release --example bench -- --upstream-concurrency 256
//! ```
//!
//! The bench process holds the three simulators (each answer delayed by
//! `--latency`) and the load generator. Every server it measures is a child
//! process on `127.0.0.1`, so that the CPU time and memory read from
//! `/proc` (Linux) are that server's own:
//!
//! - three `offer-gateway` processes, the real binary with a generated
//!   configuration over the simulators: `cold` (every cache off), `warm`
//!   (the upstreams' entity caches on with a one-hour TTL, the
//!   whole-response cache off) and `warm+rc` (both on). The binary is the
//!   one next to this executable (`target/release/offer-gateway`); under
//!   `cargo run` it is built first when it is missing or older than the
//!   bench, since `cargo run --example` builds no binaries.
//! - per scenario, a "ceiling": this executable started again with a
//!   hidden `--serve-ceiling FILE`, a bare axum handler answering the
//!   gateway's response bytes for that scenario.
//!
//! Children are killed when the bench ends, fails or is interrupted, and
//! on Linux also when the bench itself is killed.
//!
//! Scenarios:
//!
//! 1. `one-offer`: `offer(id:)` of one Closient online offer;
//! 2. `product-page`: `offers(ids:)` of 50 offers across the three
//!    upstreams (Closient online and in-store, Medusa, Violet);
//! 3. `online-page`: `onlineOffers(organizationId:, first: 100)`;
//! 4. `duplicates`: the 50-offer page with 20% of its ids repeated;
//! 5. `product`: `product(gtin:)`, the product and its offers;
//! 6. `search`: `products(search:)` over the catalog index;
//! 7. `trivial`: `{ upstreams { name } }`, the gateway's fixed cost per
//!    request, also compared with `GET /healthz` of the warm process;
//! 8. `distinct-pages`: like `product-page`, but every request of a run
//!    asks for a different page of offers drawn from the whole catalog.
//!
//! Each scenario is measured in these runs, each for `--duration` with
//! `--clients` clients sending one request after another:
//!
//! - `baseline`: what a frontend without the gateway does: one REST call
//!   per offer to the simulators, all of a page at once (the one listing
//!   call for scenario 3). One "query" is the whole page.
//! - `gateway cold`, `gateway warm`, `gateway warm+rc`: the three gateway
//!   processes; the warm ones are warmed by the query before measuring
//!   (for scenario 8, with every offer of the catalog).
//! - `ceiling`: the ceiling process for that scenario.
//!
//! Every measured response is checked (HTTP 200; for GraphQL no `"errors"`
//! key), failures are counted, and each gateway's answer is checked once
//! in full. Upstream calls per query come from the simulators' request
//! counters; CPU time per request and resident memory are those of the
//! server process of the run.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::fs::File;
use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::routing::post;
use axum::Router;
use clap::{Parser, ValueEnum};
use futures::StreamExt as _;
use offer_gateway::sim::Simulators;
use offer_gateway::upstream::{closient, medusa, violet, Credentials};
use offer_gateway::GlobalId;
use offer_gateway::OfferKind;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use url::Url;

/// The selection of every offer in scenarios 1, 2, 4 and 8: a product
/// page's offers (those of `product_page.graphql`), asked by id.
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
/// Offers of one product page (scenarios 2, 4 and 8).
const PAGE_SIZE: usize = 50;
/// A product page's mix (scenarios 2 and 8): Closient online, Closient
/// in-store, Medusa and Violet offers; 13 + 12 + 13 + 12 = 50.
const PAGE_MIX: [usize; 4] = [13, 12, 13, 12];
/// Online offers in scenario 3's page.
const LISTING_SIZE: usize = 100;
/// How long the load generator waits for one answer before counting a failure.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The gateways' connect timeout to the simulators.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Cache TTL of the warm gateways: longer than any run.
const WARM_TTL: Duration = Duration::from_secs(3600);
/// How long a child server may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the gateways may take to fill their catalog index.
const INDEX_TIMEOUT: Duration = Duration::from_secs(300);
/// What the gateway binary prints once it listens, before its URL.
const GATEWAY_LISTENING: &str = "offer-gateway listening:";
/// What the ceiling prints once it listens, before its URL.
const CEILING_LISTENING: &str = "ceiling listening:";
/// Prefix of the environment variables that hand the gateways their
/// upstream secrets (named by `*_env` keys of the generated files).
const SECRET_ENV_PREFIX: &str = "OG_BENCH_";
/// Variables of the bench's environment passed on to the servers; every
/// other one is left out, so that no `OFFER_GATEWAY__...` override,
/// `RUST_LOG` or proxy setting changes what is measured.
const PASSED_ENV: [&str; 3] = ["PATH", "TMPDIR", "RUST_BACKTRACE"];

// ---------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------

/// Load benchmark of offer-gateway over its simulators (loopback only,
/// Linux for the servers' CPU time and memory).
#[derive(Parser, Debug)]
struct Args {
    /// Latency the simulators add to every upstream call.
    #[arg(long, default_value = "20ms", value_parser = humantime::parse_duration)]
    latency: Duration,
    /// Concurrent clients, each sending one request after another.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Measured time of each run (five or six runs per scenario).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Calls in flight per upstream instance in the gateways
    /// (`max_concurrency`); the gateway's default unless given.
    #[arg(long, default_value_t = offer_gateway::upstream::DEFAULT_MAX_CONCURRENCY)]
    upstream_concurrency: usize,
    /// Scenarios to run (repeat the flag or separate with commas); all by default.
    #[arg(long, value_enum, value_delimiter = ',')]
    scenario: Vec<ScenarioName>,
    /// Instead of the scenarios: two gateway replicas each on its own
    /// against two sharing one Redis (`redis-server` on PATH), both cold,
    /// on distinct pages sent to the two in turn (see BENCHMARKS.md).
    #[arg(long)]
    replicas: bool,
    /// Internal: serve this file's bytes as the ceiling and print the
    /// address (the bench starts itself so).
    #[arg(long, hide = true, value_name = "FILE")]
    serve_ceiling: Option<PathBuf>,
}

impl Args {
    /// The measuring arguments as a command line, for the report.
    fn command_line(&self, chosen: &[ScenarioName]) -> String {
        format!(
            "--latency {} --clients {} --duration {} --upstream-concurrency {} --scenario {}",
            humantime::format_duration(self.latency),
            self.clients,
            humantime::format_duration(self.duration),
            self.upstream_concurrency,
            chosen
                .iter()
                .map(|s| s.flag())
                .collect::<Vec<_>>()
                .join(",")
        )
    }
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
    /// 8: 50-offer pages like 2, a different page every request.
    DistinctPages,
}

impl ScenarioName {
    /// Every scenario, in the report's order.
    const ALL: [ScenarioName; 8] = [
        ScenarioName::OneOffer,
        ScenarioName::ProductPage,
        ScenarioName::OnlinePage,
        ScenarioName::Duplicates,
        ScenarioName::Product,
        ScenarioName::Search,
        ScenarioName::Trivial,
        ScenarioName::DistinctPages,
    ];

    /// The number and name, for the report.
    fn label(self) -> &'static str {
        match self {
            ScenarioName::OneOffer => "1 one-offer",
            ScenarioName::ProductPage => "2 product-page",
            ScenarioName::OnlinePage => "3 online-page",
            ScenarioName::Duplicates => "4 duplicates",
            ScenarioName::Product => "5 product",
            ScenarioName::Search => "6 search",
            ScenarioName::Trivial => "7 trivial",
            ScenarioName::DistinctPages => "8 distinct-pages",
        }
    }

    /// The name as `--scenario` takes it.
    fn flag(self) -> &'static str {
        self.label()
            .split_once(' ')
            .map_or(self.label(), |(_, name)| name)
    }
}

// ---------------------------------------------------------------------------
// Scenario definitions
// ---------------------------------------------------------------------------

/// One offer the scenarios ask for, by upstream style.
#[derive(Clone, Debug)]
enum OfferRef {
    /// A Closient online offer, by id.
    Online(String),
    /// A Closient in-store offer, by id.
    InStore(String),
    /// A Medusa offer, by id.
    Medusa(String),
    /// A Violet offer, by id.
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

/// Every offer of the simulators' data that the demo credentials see, by
/// style, and the offers of the scenarios that need particular ones.
struct OfferPool {
    /// Closient online offers of the organizations the demo key sees.
    online: Vec<OfferRef>,
    /// Closient in-store offers of the same organizations.
    in_store: Vec<OfferRef>,
    /// Every Medusa offer.
    medusa: Vec<OfferRef>,
    /// Every Violet offer.
    violet: Vec<OfferRef>,
    /// The demo-visible organization with the most online offers, and its name.
    organization: (String, String),
    /// The offers of [`PRODUCT_GTIN`], from the simulators' raw values.
    product: Vec<OfferRef>,
}

impl OfferPool {
    /// Reads the pool from the simulators' data.
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

    /// The four styles' lists: online, in-store, Medusa, Violet (the order
    /// of [`PAGE_MIX`]).
    fn styles(&self) -> [&[OfferRef]; 4] {
        [&self.online, &self.in_store, &self.medusa, &self.violet]
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
        interleave(&lists)
            .into_iter()
            .map(|(style, i)| lists[style][i].clone())
            .collect()
    }
}

/// The positions of a page made of `lists` (one per style), the styles
/// interleaved as a page would mix them: `(style, index in its list)`.
fn interleave<T>(lists: &[Vec<T>]) -> Vec<(usize, usize)> {
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .flat_map(|i| {
            lists
                .iter()
                .enumerate()
                .filter(move |(_, list)| i < list.len())
                .map(move |(style, _)| (style, i))
        })
        .collect()
}

/// Scenario 8's pages: the k-th request of a run asks for page `k`, and
/// no two pages of a run are the same (a page repeats only after
/// [`DistinctPages::period`] pages, far more than a run sends).
///
/// Each style's offers are walked in passes. A pass takes the style's
/// list in the order `i * stride mod n` (a permutation, the stride being
/// coprime with the list's length `n`) and cuts it into windows of the
/// style's share of the page; the next pass uses the next such stride. So
/// consecutive pages (the ones in flight at the same time) share no
/// offer until the list wraps, and then the order and composition of the
/// windows change. A style's page within its walk's period is unique: its
/// first two offers give the stride (their distance) and the window.
struct DistinctPages {
    /// Online, in-store, Medusa and Violet offers.
    walks: [Walk; 4],
    /// `{"query":...,"variables":{"ids":[`: every body's start.
    prefix: String,
    /// The page the next request of this run asks for.
    next: AtomicU64,
    /// Pages before the first repeat: the least common multiple of the
    /// walks' periods.
    period: u128,
}

/// One style's offers, walked in windows (see [`DistinctPages`]).
struct Walk {
    /// Global ids, as JSON strings.
    ids: Vec<String>,
    /// The REST call of each offer, for the baseline.
    calls: Vec<RestCall>,
    /// Offers of this style on a page.
    size: usize,
    /// The strides of the passes: every number below the list's length
    /// that is coprime with it.
    strides: Vec<usize>,
}

impl Walk {
    /// The walk over `offers`, `size` of them a page.
    fn new(offers: &[OfferRef], size: usize, auth: &RestAuth) -> anyhow::Result<Walk> {
        let n = offers.len();
        anyhow::ensure!(
            size >= 2 && n >= size,
            "distinct pages need at least {size} offers of each style, one style has {n}"
        );
        let gcd = |mut a: usize, mut b: usize| {
            while b != 0 {
                (a, b) = (b, a % b);
            }
            a
        };
        Ok(Walk {
            ids: offers
                .iter()
                .map(|o| serde_json::to_string(&o.global_id()))
                .collect::<Result<_, _>>()?,
            calls: offers.iter().map(|o| o.rest_call(auth)).collect(),
            size,
            strides: (1..n).filter(|&s| gcd(s, n) == 1).collect(),
        })
    }

    /// Pages in one pass.
    fn windows_per_pass(&self) -> u64 {
        (self.ids.len() / self.size) as u64
    }

    /// Pages before this style's part of a page repeats.
    fn period(&self) -> u64 {
        self.windows_per_pass() * self.strides.len() as u64
    }

    /// The indices of page `k`'s offers of this style.
    fn indices(&self, k: u64) -> Vec<usize> {
        let n = self.ids.len();
        let r = k % self.period();
        let stride = self.strides[(r / self.windows_per_pass()) as usize];
        let window = (r % self.windows_per_pass()) as usize;
        // window * size + j < n, and stride < n: no overflow.
        (0..self.size)
            .map(|j| (window * self.size + j) * stride % n)
            .collect()
    }
}

impl DistinctPages {
    /// Pages of [`PAGE_MIX`] over these offers by style (online, in-store,
    /// Medusa, Violet).
    fn new(styles: [&[OfferRef]; 4], auth: &RestAuth) -> anyhow::Result<DistinctPages> {
        let mut walks = Vec::with_capacity(4);
        for (offers, size) in styles.into_iter().zip(PAGE_MIX) {
            walks.push(Walk::new(offers, size, auth)?);
        }
        let walks: [Walk; 4] = walks
            .try_into()
            .map_err(|_| anyhow::anyhow!("four styles make four walks"))?;
        let lcm = |a: u128, b: u128| {
            let (mut x, mut y) = (a, b);
            while y != 0 {
                (x, y) = (y, x % y);
            }
            (a / x).saturating_mul(b)
        };
        let period = walks
            .iter()
            .fold(1u128, |acc, walk| lcm(acc, u128::from(walk.period())));
        Ok(DistinctPages {
            walks,
            prefix: format!(
                "{{\"query\":{},\"variables\":{{\"ids\":[",
                serde_json::to_string(OFFERS_QUERY)?
            ),
            next: AtomicU64::new(0),
            period,
        })
    }

    /// The offers of page `k`: `(style, index in its walk)`.
    fn page(&self, k: u64) -> Vec<(usize, usize)> {
        let lists: Vec<Vec<usize>> = self.walks.iter().map(|w| w.indices(k)).collect();
        interleave(&lists)
            .into_iter()
            .map(|(style, i)| (style, lists[style][i]))
            .collect()
    }

    /// The GraphQL body of page `k`.
    fn body(&self, k: u64) -> Bytes {
        let mut body = String::with_capacity(self.prefix.len() + PAGE_SIZE * 80);
        body.push_str(&self.prefix);
        for (n, (style, i)) in self.page(k).into_iter().enumerate() {
            if n > 0 {
                body.push(',');
            }
            body.push_str(&self.walks[style].ids[i]);
        }
        body.push_str("]}}");
        Bytes::from(body)
    }

    /// The REST calls of page `k`, for the baseline.
    fn calls(&self, k: u64) -> Vec<RestCall> {
        self.page(k)
            .into_iter()
            .map(|(style, i)| self.walks[style].calls[i].clone())
            .collect()
    }

    /// Takes the next page of this run.
    fn take(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Starts a run: its first request asks for page 0.
    fn restart(&self) {
        self.next.store(0, Ordering::Relaxed);
    }

    /// Offers to draw from, in all.
    fn offers(&self) -> usize {
        self.walks.iter().map(|w| w.ids.len()).sum()
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

/// What a scenario sends.
enum Load {
    /// The same request every time, and the REST calls of one baseline
    /// "query" (none: no baseline).
    Fixed {
        /// The JSON body POSTed to the gateway.
        graphql_body: Bytes,
        /// The REST calls of one baseline "query", sent concurrently.
        baseline: Vec<RestCall>,
    },
    /// A different page every request (scenario 8).
    Distinct(Arc<DistinctPages>),
}

/// One scenario: the GraphQL requests, their REST baseline and what to expect.
struct Scenario {
    /// What it is, for the report.
    description: String,
    load: Load,
    expect: Expect,
}

impl Scenario {
    /// The body checked in full once per gateway, whose answer the ceiling serves.
    fn first_body(&self) -> Bytes {
        match &self.load {
            Load::Fixed { graphql_body, .. } => graphql_body.clone(),
            Load::Distinct(pages) => pages.body(0),
        }
    }

    /// The scenario's GraphQL requests, to the server at `url`.
    fn graphql(&self, url: String) -> Target {
        match &self.load {
            Load::Fixed { graphql_body, .. } => Target::GraphQL {
                url,
                body: graphql_body.clone(),
            },
            Load::Distinct(pages) => Target::GraphQLPages {
                url,
                pages: pages.clone(),
            },
        }
    }

    /// The baseline's requests, if the scenario has a baseline.
    fn baseline(&self) -> Option<Target> {
        match &self.load {
            Load::Fixed { baseline, .. } if baseline.is_empty() => None,
            Load::Fixed { baseline, .. } => Some(Target::Rest(baseline.clone())),
            Load::Distinct(pages) => Some(Target::RestPages(pages.clone())),
        }
    }
}

/// The scenario `name`. Scenario 8 first asks the warm gateway for every
/// offer of the pool (checking that each is answered, and filling its
/// entity cache) and then the `warm+rc` one.
async fn scenario(
    name: ScenarioName,
    pool: &OfferPool,
    auth: &RestAuth,
    http: &reqwest::Client,
    gateways: &Gateways,
) -> anyhow::Result<Scenario> {
    let offers_body = |offers: &[OfferRef]| {
        let ids: Vec<String> = offers.iter().map(OfferRef::global_id).collect();
        json!({ "query": OFFERS_QUERY, "variables": { "ids": ids } })
    };
    let rest = |offers: &[OfferRef]| offers.iter().map(|o| o.rest_call(auth)).collect();
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
            let page = pool.page(PAGE_MIX);
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
             per request; no REST baseline; also against GET /healthz of the warm process"
                .to_owned(),
            json!({ "query": "{ upstreams { name } }" }),
            Vec::new(),
            Expect::Upstreams,
        ),
        ScenarioName::DistinctPages => return distinct_pages(pool, auth, http, gateways).await,
    };
    Ok(Scenario {
        description,
        load: Load::Fixed {
            graphql_body: Bytes::from(serde_json::to_vec(&body)?),
            baseline,
        },
        expect,
    })
}

/// Scenario 8 over every offer of the pool the warm gateway answers; the
/// warm gateways' entity caches hold all of them afterwards.
async fn distinct_pages(
    pool: &OfferPool,
    auth: &RestAuth,
    http: &reqwest::Client,
    gateways: &Gateways,
) -> anyhow::Result<Scenario> {
    let warm = gateways.get(Setup::Warm)?;
    let mut kept: [Vec<OfferRef>; 4] = Default::default();
    let mut dropped = Vec::new();
    for (style, offers) in pool.styles().into_iter().enumerate() {
        let answered = ask_for_all(http, &warm.url("/graphql"), offers).await?;
        for (offer, answered) in offers.iter().zip(answered) {
            match answered {
                Ok(()) => kept[style].push(offer.clone()),
                Err(why) => dropped.push(format!("{}: {why}", offer.global_id())),
            }
        }
    }
    if let Some(first) = dropped.first() {
        eprintln!(
            "  !!! {} offers of the pool left out: the warm gateway did not answer them \
             (first: {first})",
            dropped.len()
        );
    }
    if let Ok(warm_rc) = gateways.get(Setup::WarmRc) {
        for offers in &kept {
            let answered = ask_for_all(http, &warm_rc.url("/graphql"), offers).await?;
            if let Some(Err(why)) = answered.into_iter().find(Result::is_err) {
                anyhow::bail!(
                    "the warm+rc gateway did not answer an offer the warm one did: {why}"
                );
            }
        }
    }
    let [online, in_store, medusa, violet] = &kept;
    let pages = DistinctPages::new([online, in_store, medusa, violet], auth)?;
    let description = format!(
        "offers(ids:) of {PAGE_SIZE} (13 Closient online, 12 in-store, 13 Medusa, 12 Violet) \
         drawn from all {} offers the simulators hold for the demo credentials ({} / {} / {} / {}), \
         a different page every request (the first repeat would be page {}); the warm gateways' \
         entity caches hold every offer before measuring; the baseline makes each page's REST calls",
        pages.offers(),
        online.len(),
        in_store.len(),
        medusa.len(),
        violet.len(),
        pages.period,
    );
    Ok(Scenario {
        description,
        load: Load::Distinct(Arc::new(pages)),
        expect: Expect::Offers(PAGE_SIZE),
    })
}

/// Asks the gateway at `url` for every offer of `offers`, a few requests
/// of at most `limits.max_ids` ids at once: for each offer, whether it
/// came back (and why not).
async fn ask_for_all(
    http: &reqwest::Client,
    url: &str,
    offers: &[OfferRef],
) -> anyhow::Result<Vec<Result<(), String>>> {
    let chunk_size = offer_gateway::Limits::default().max_ids;
    let answers: Vec<anyhow::Result<Vec<Result<(), String>>>> =
        futures::stream::iter(offers.chunks(chunk_size).map(|chunk| async move {
            let ids: Vec<String> = chunk.iter().map(OfferRef::global_id).collect();
            let body = json!({ "query": OFFERS_QUERY, "variables": { "ids": ids } });
            let answer: Value = http.post(url).json(&body).send().await?.json().await?;
            let entries = answer["data"]["offers"]
                .as_array()
                .filter(|entries| entries.len() == chunk.len())
                .ok_or_else(|| anyhow::anyhow!("no offers in the answer: {answer}"))?;
            let error = |index: usize| {
                answer["errors"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|e| e["path"] == json!(["offers", index]))
                    .map_or("null without an error".to_owned(), Value::to_string)
            };
            Ok(entries
                .iter()
                .enumerate()
                .map(|(i, entry)| match entry["id"].is_string() {
                    true => Ok(()),
                    false => Err(error(i)),
                })
                .collect())
        }))
        .buffered(4)
        .collect()
        .await;
    let mut all = Vec::with_capacity(offers.len());
    for answer in answers {
        all.extend(answer?);
    }
    Ok(all)
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

/// `base` with this absolute path.
fn join(base: &Url, path_and_query: &str) -> Url {
    base.join(path_and_query)
        .expect("an absolute API path joins any base URL")
}

/// A header value from a credential.
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

    /// A Closient GET of this path, with the API key.
    fn closient(&self, path_and_query: &str) -> RestCall {
        RestCall {
            url: join(&self.closient_base, path_and_query),
            headers: self.closient_headers.clone(),
        }
    }
}

// ---------------------------------------------------------------------------
// Servers: child processes
// ---------------------------------------------------------------------------

/// A server the bench started as a child process, listening on
/// `127.0.0.1`. It is killed and reaped when this is dropped, so that no
/// end of the bench (done, failed or interrupted) leaves it behind.
struct ChildServer {
    /// What it is, for messages: `gateway warm`, `ceiling`.
    name: String,
    child: Child,
    /// Its standard output, where it prints its address.
    stdout: PathBuf,
    /// Its standard error (the gateway's log).
    stderr: PathBuf,
    /// `http://127.0.0.1:PORT`, once it printed it.
    base: String,
}

impl ChildServer {
    /// Starts `command` with its output going to files in `dir` named after
    /// `stem`; [`ChildServer::listening`] then waits for its address.
    fn spawn(
        name: String,
        mut command: Command,
        dir: &Path,
        stem: &str,
    ) -> anyhow::Result<ChildServer> {
        let stdout = dir.join(format!("{stem}.stdout"));
        let stderr = dir.join(format!("{stem}.log"));
        command
            .stdin(Stdio::null())
            .stdout(File::create(&stdout)?)
            .stderr(File::create(&stderr)?);
        die_with_parent(&mut command);
        let child = command.spawn().with_context(|| {
            format!(
                "starting {name} ({})",
                Path::new(command.get_program()).display()
            )
        })?;
        Ok(ChildServer {
            name,
            child,
            stdout,
            stderr,
            base: String::new(),
        })
    }

    /// Waits until the server prints the line starting with `marker` that
    /// holds its URL, and keeps the URL's `http://host:port`.
    async fn listening(&mut self, marker: &str) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            let out = std::fs::read_to_string(&self.stdout).unwrap_or_default();
            if let Some(base) = listening_url(&out, marker) {
                self.base = base;
                return Ok(());
            }
            self.alive()?;
            anyhow::ensure!(
                started.elapsed() < START_TIMEOUT,
                "{} printed no `{marker}` line within {START_TIMEOUT:?}; its log:\n{}",
                self.name,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Fails, with the end of its log, if the process has exited.
    fn alive(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => Err(anyhow::anyhow!(
                "{} exited ({status}); its log:\n{}",
                self.name,
                self.log_tail()
            )),
        }
    }

    /// `path` on this server.
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The process id.
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines of the server's standard error.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        // SIGKILL: nothing of a server is kept, and a graceful stop would
        // wait for its grace period.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `http://host:port` of the first line of `out` that starts with
/// `marker` and holds an `http://` URL.
fn listening_url(out: &str, marker: &str) -> Option<String> {
    let line = out.lines().find(|line| line.starts_with(marker))?;
    let url = &line[line.find("http://")?..];
    let end = url["http://".len()..]
        .find('/')
        .map_or(url.len(), |at| at + "http://".len());
    Some(url[..end].to_owned())
}

/// On Linux, has the kernel kill the child when the bench dies, even by
/// SIGKILL. The signal comes when the *thread* that started the child
/// ends: the bench starts its children from the main thread.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt as _;
    let parent = std::process::id();
    // SAFETY: the closure runs between fork and exec and only makes
    // async-signal-safe calls (prctl, getppid), allocating nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The bench may have died before the call took effect.
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                return Err(std::io::Error::other("the bench is gone"));
            }
            Ok(())
        });
    }
}

/// Elsewhere, children are only stopped by [`ChildServer`]'s drop.
#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

/// The gateway processes the bench starts, by how they cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Setup {
    /// Every cache off (batching and the coalescing of concurrent
    /// identical lookups still work).
    Cold,
    /// The upstreams' entity caches on with a one-hour TTL; the
    /// whole-response cache off: the execution path with cached offers.
    Warm,
    /// The entity caches and the whole-response cache on: a repeated query.
    WarmRc,
}

impl Setup {
    /// Every setup, in the report's order.
    const ALL: [Setup; 3] = [Setup::Cold, Setup::Warm, Setup::WarmRc];

    /// Its name in the report.
    fn name(self) -> &'static str {
        match self {
            Setup::Cold => "cold",
            Setup::Warm => "warm",
            Setup::WarmRc => "warm+rc",
        }
    }

    /// Its files' names in the temporary directory.
    fn stem(self) -> &'static str {
        match self {
            Setup::Cold => "gateway-cold",
            Setup::Warm => "gateway-warm",
            Setup::WarmRc => "gateway-warm-rc",
        }
    }
}

/// The running gateway processes.
struct Gateways {
    servers: Vec<(Setup, ChildServer)>,
}

impl Gateways {
    /// The gateway `setup`, which runs unless the binary has no response
    /// cache (`warm+rc`).
    fn get(&self, setup: Setup) -> anyhow::Result<&ChildServer> {
        self.servers
            .iter()
            .find(|(s, _)| *s == setup)
            .map(|(_, server)| server)
            .ok_or_else(|| anyhow::anyhow!("no {} gateway is running", setup.name()))
    }

    /// The setups running, in the report's order.
    fn setups(&self) -> Vec<Setup> {
        self.servers.iter().map(|(setup, _)| *setup).collect()
    }

    /// Fails if a gateway process has exited.
    fn alive(&mut self) -> anyhow::Result<()> {
        self.servers
            .iter_mut()
            .try_for_each(|(_, server)| server.alive())
    }
}

/// The `offer-gateway` binary next to this executable
/// (`<target>/<profile>/examples/bench` → `<target>/<profile>/offer-gateway`).
/// Under `cargo run` it is built when it is missing or older than the
/// bench (`cargo run --example` builds no binaries); otherwise the message
/// says how to build it.
fn gateway_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the bench executable")?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the bench executable is not in <target>/<profile>/examples")?;
    let binary = profile_dir.join(format!("offer-gateway{}", std::env::consts::EXE_SUFFIX));
    let release = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("release") => true,
        Some("debug") => false,
        _ => anyhow::bail!(
            "the bench runs from {}, not a release or debug directory: build the gateway \
             with the same profile and put it at {}",
            exe.display(),
            binary.display()
        ),
    };
    let command = match release {
        true => "cargo build --release --bin offer-gateway",
        false => "cargo build --bin offer-gateway",
    };
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let fresh = match (modified(&binary), modified(&exe)) {
        (Some(binary), Some(exe)) => binary >= exe,
        _ => false,
    };
    if fresh {
        return Ok(binary);
    }
    let Some(cargo) = std::env::var_os("CARGO") else {
        anyhow::bail!(
            "{} is missing or older than the bench: run `{command}` (with the bench's target \
             directory), or start the bench with `cargo run --release --example bench`",
            binary.display()
        );
    };
    eprintln!("building the gateway: {command}");
    let mut build = Command::new(cargo);
    build
        .args(["build", "--bin", "offer-gateway", "--manifest-path"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
    if release {
        build.arg("--release");
    }
    // Without the variables `cargo run` set for the bench: build scripts
    // that watch them (ring's watches `CARGO_PKG_NAME`, ...) would see them
    // change and rebuild, here and again at the next `cargo run`.
    for (name, _) in std::env::vars_os() {
        let cargo_set = name.to_str().is_some_and(|name| {
            name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_MANIFEST_")
                || [
                    "CARGO_CRATE_NAME",
                    "CARGO_BIN_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                    "CARGO_RUSTC_CURRENT_DIR",
                    "OUT_DIR",
                ]
                .contains(&name)
        });
        if cargo_set {
            build.env_remove(name);
        }
    }
    // The target directory the bench was built in, when it is one (cargo
    // marks it); a `--target` triple adds a level and is left to cargo.
    if let Some(target_dir) = profile_dir
        .parent()
        .filter(|dir| dir.join("CACHEDIR.TAG").exists())
    {
        build.arg("--target-dir").arg(target_dir);
    }
    let status = build
        .status()
        .with_context(|| format!("running `{command}`"))?;
    anyhow::ensure!(status.success(), "`{command}` failed ({status})");
    anyhow::ensure!(
        binary.exists(),
        "`{command}` did not build {}: run it yourself with the bench's target directory",
        binary.display()
    );
    Ok(binary)
}

/// Environment variables, name and value, holding a gateway's upstream
/// secrets.
type Secrets = Vec<(String, String)>;

/// The environment of a server process: the few passed-on variables, and
/// `secrets`.
fn server_env(command: &mut Command, secrets: &[(String, String)]) {
    command.env_clear();
    for name in PASSED_ENV {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command.envs(secrets.iter().map(|(name, value)| (name, value)));
}

/// The configuration of the gateway `setup` over the simulators, and the
/// environment variables holding its upstream secrets (the file names
/// them by `*_env` keys). With `response_cache_key`, the file says whether
/// the whole-response cache is on (`[response_cache] enabled`).
fn gateway_config(
    sims: &Simulators,
    setup: Setup,
    max_concurrency: usize,
    data_dir: &Path,
    response_cache_key: bool,
) -> anyhow::Result<(String, Secrets)> {
    let duration = |d: Duration| humantime::format_duration(d).to_string();
    let mut secrets = Vec::new();
    let mut upstreams = serde_json::Map::new();
    for spec in sims.instance_specs() {
        let name = spec.name.to_string();
        let mut secret = |key: &str, value: &str| {
            let var = format!(
                "{SECRET_ENV_PREFIX}{}_{}",
                name.to_uppercase().replace('-', "_"),
                key.to_uppercase()
            );
            secrets.push((var.clone(), value.to_owned()));
            var
        };
        let credentials = match &spec.credentials {
            Credentials::Closient(closient::Credentials { api_key }) => {
                json!({ "api_key_env": secret("api_key", api_key.expose()) })
            }
            Credentials::Medusa(medusa::Credentials::Token(token)) => {
                json!({ "token_env": secret("token", token.expose()) })
            }
            Credentials::Medusa(medusa::Credentials::EmailPassword { email, password }) => {
                json!({ "username": email, "password_env": secret("password", password.expose()) })
            }
            Credentials::Violet(violet::Credentials {
                app_id,
                app_secret,
                username,
                password,
            }) => json!({
                "app_id": app_id,
                "app_secret_env": secret("app_secret", app_secret.expose()),
                "username": username,
                "password_env": secret("password", password.expose()),
            }),
        };
        let cache = match setup {
            Setup::Cold => json!({ "enabled": false }),
            Setup::Warm | Setup::WarmRc => json!({
                "enabled": true,
                "ttl": duration(WARM_TTL),
                "not_found_ttl": duration(WARM_TTL),
            }),
        };
        // The catalog index is filled once before any run (an unlimited
        // budget); the next full pass is 15 minutes away, after the bench,
        // and the changes passes between full passes are off, so that no
        // run sees sync traffic.
        let mut sync = json!({
            "budget": [{ "requests": 1_000_000, "per": "1s" }],
            "changes_interval": "0s",
        });
        if !spec.settings.sync.organizations.is_empty() {
            sync["organizations"] = json!(spec.settings.sync.organizations);
        }
        upstreams.insert(
            name.clone(),
            json!({
                "kind": spec.kind().as_str(),
                "base_url": spec.base_url.as_str(),
                "max_concurrency": max_concurrency,
                "credentials": credentials,
                "cache": cache,
                "sync": sync,
            }),
        );
    }
    let mut file = json!({
        "listen": "127.0.0.1:0",
        "connect_timeout": duration(CONNECT_TIMEOUT),
        "data_dir": data_dir
            .to_str()
            .context("the temporary directory's path is not UTF-8")?,
        "upstreams": upstreams,
    });
    if response_cache_key {
        file["response_cache"] = json!({ "enabled": setup == Setup::WarmRc });
    }
    let text = toml::to_string(&file).context("writing the gateway configuration")?;
    Ok((
        format!(
            "# The bench's `{}` gateway over its simulators (written by examples/bench.rs).\n{text}",
            setup.name()
        ),
        secrets,
    ))
}

/// Writes the configuration of `setup` into `dir` and checks it with
/// `offer-gateway check-config`: its path and secrets, or the binary's
/// refusal.
fn write_config(
    binary: &Path,
    dir: &Path,
    sims: &Simulators,
    setup: Setup,
    args: &Args,
    response_cache_key: bool,
) -> anyhow::Result<Result<(PathBuf, Secrets), String>> {
    let data_dir = dir.join(format!("{}-data", setup.stem()));
    let (text, secrets) = gateway_config(
        sims,
        setup,
        args.upstream_concurrency,
        &data_dir,
        response_cache_key,
    )?;
    let path = dir.join(format!("{}.toml", setup.stem()));
    std::fs::write(&path, text)?;
    let mut check = Command::new(binary);
    check.arg("check-config").arg(&path);
    server_env(&mut check, &secrets);
    let output = check
        .output()
        .with_context(|| format!("running {} check-config", binary.display()))?;
    Ok(match output.status.success() {
        true => Ok((path, secrets)),
        false => Err(String::from_utf8_lossy(&output.stderr).trim().to_owned()),
    })
}

/// Whether the binary knows `[response_cache]`: it refuses unknown keys.
fn knows_response_cache(
    binary: &Path,
    dir: &Path,
    sims: &Simulators,
    args: &Args,
) -> anyhow::Result<bool> {
    match write_config(binary, dir, sims, Setup::WarmRc, args, true)? {
        Ok(_) => Ok(true),
        Err(refusal) if refusal.contains("response_cache") => Ok(false),
        Err(refusal) => Err(anyhow::anyhow!(
            "the generated configuration is refused: {refusal}"
        )),
    }
}

/// Starts the gateway `setup` (the binary with `--config` and `--listen
/// 127.0.0.1:0`); [`ChildServer::listening`] then waits for it.
fn spawn_gateway(
    binary: &Path,
    dir: &Path,
    sims: &Simulators,
    setup: Setup,
    args: &Args,
    response_cache_key: bool,
) -> anyhow::Result<ChildServer> {
    let (config, secrets) = write_config(binary, dir, sims, setup, args, response_cache_key)?
        .map_err(|refusal| {
            anyhow::anyhow!("the {} configuration is refused: {refusal}", setup.name())
        })?;
    let mut command = Command::new(binary);
    command
        .arg("--config")
        .arg(&config)
        .args(["--listen", "127.0.0.1:0"]);
    server_env(&mut command, &secrets);
    ChildServer::spawn(
        format!("gateway {}", setup.name()),
        command,
        dir,
        setup.stem(),
    )
}

/// Waits until the gateway listens, answers `/readyz`, and every instance
/// finished its first sync pass (the catalog index is full) and is idle;
/// the time that took.
async fn gateway_ready(
    http: &reqwest::Client,
    server: &mut ChildServer,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    answering(http, server).await?;
    for poll in 0u64.. {
        // A new operation name each time: a whole-response cache must not
        // answer an earlier poll's status.
        let query = json!({
            "query": format!("query IndexPoll{poll} {{ catalogStatus {{ upstreams {{ fullPasses running }} }} }}")
        });
        let answer: Value = http
            .post(server.url("/graphql"))
            .json(&query)
            .send()
            .await?
            .json()
            .await?;
        let upstreams = answer["data"]["catalogStatus"]["upstreams"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !upstreams.is_empty()
            && upstreams
                .iter()
                .all(|u| u["fullPasses"].as_i64() >= Some(1) && u["running"] == false)
        {
            break;
        }
        server.alive()?;
        anyhow::ensure!(
            started.elapsed() < INDEX_TIMEOUT,
            "the catalog sync of {} did not finish: {answer}",
            server.name
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(started.elapsed())
}

/// Waits until the gateway listens and answers `/readyz`.
async fn answering(http: &reqwest::Client, server: &mut ChildServer) -> anyhow::Result<()> {
    let started = Instant::now();
    server.listening(GATEWAY_LISTENING).await?;
    loop {
        let ready = http.get(server.url("/readyz")).send().await;
        if ready.is_ok_and(|r| r.status() == StatusCode::OK) {
            return Ok(());
        }
        server.alive()?;
        anyhow::ensure!(
            started.elapsed() < START_TIMEOUT,
            "{} is not ready after {START_TIMEOUT:?}; its log:\n{}",
            server.name,
            server.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts a ceiling process answering `answer` (this executable with
/// `--serve-ceiling`) and waits until it listens.
async fn start_ceiling(dir: &Path, answer: &[u8]) -> anyhow::Result<ChildServer> {
    let body = dir.join("ceiling-answer.json");
    std::fs::write(&body, answer)?;
    let mut command = Command::new(std::env::current_exe()?);
    command.arg("--serve-ceiling").arg(&body);
    server_env(&mut command, &[]);
    let mut ceiling = ChildServer::spawn("ceiling".to_owned(), command, dir, "ceiling")?;
    ceiling.listening(CEILING_LISTENING).await?;
    Ok(ceiling)
}

/// The ceiling process: a bare handler answering the bytes of `file` to
/// every POST of `/graphql`, on the same HTTP stack as the gateway
/// (`offer_gateway::serve`), until ctrl-c or SIGTERM (or SIGKILL from the
/// bench).
async fn serve_ceiling(file: &Path) -> anyhow::Result<()> {
    async fn answer(
        State(body): State<Bytes>,
        _request: Bytes,
    ) -> impl axum::response::IntoResponse {
        ([(header::CONTENT_TYPE, "application/json")], body)
    }
    let body =
        Bytes::from(std::fs::read(file).with_context(|| format!("reading {}", file.display()))?);
    let app = Router::new()
        .route("/graphql", post(answer))
        .with_state(body);
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    println!(
        "{CEILING_LISTENING} http://{}/graphql",
        listener.local_addr()?
    );
    std::io::Write::flush(&mut std::io::stdout())?;
    offer_gateway::serve(listener, app, offer_gateway::shutdown_signal()).await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Process figures from /proc (Linux)
// ---------------------------------------------------------------------------

/// CPU time (user and system, all threads) process `pid` has used.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may
    // hold spaces: state is field 3, utime and stime fields 14 and 15.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = u64::try_from(per_second).ok().filter(|&t| t > 0)?;
    Some(Duration::from_secs_f64(ticks as f64 / per_second as f64))
}

/// Resident memory of a process.
#[derive(Clone, Copy, Debug)]
struct Memory {
    /// VmRSS, in KiB.
    rss_kib: u64,
    /// VmHWM, the peak, in KiB.
    peak_kib: u64,
}

/// Resident memory of process `pid` (`self` for the bench).
fn memory(pid: &str) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(Memory {
        rss_kib: kib("VmRSS:")?,
        peak_kib: kib("VmHWM:")?,
    })
}

/// Sets the peak resident memory of `pid` back to its current size, so
/// that the next reading is the peak since now; whether that worked.
fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

// ---------------------------------------------------------------------------
// Load driver
// ---------------------------------------------------------------------------

/// What one client request is.
enum Target {
    /// POST a GraphQL body; the answer must be 200 without `"errors"`.
    GraphQL { url: String, body: Bytes },
    /// POST the run's next distinct page (scenario 8), checked the same way.
    GraphQLPages {
        url: String,
        pages: Arc<DistinctPages>,
    },
    /// GET all these concurrently; every answer must be 200.
    Rest(Vec<RestCall>),
    /// The REST calls of the run's next distinct page (scenario 8's baseline).
    RestPages(Arc<DistinctPages>),
    /// The run's next distinct page, to each of `urls` in turn (replicas
    /// behind a round-robin balancer).
    GraphQLPagesOver {
        urls: Vec<String>,
        pages: Arc<DistinctPages>,
    },
    /// GET one URL; the answer must be 200.
    Get(String),
}

impl Target {
    /// The distinct pages this target walks, if it does.
    fn pages(&self) -> Option<&DistinctPages> {
        match self {
            Target::GraphQLPages { pages, .. }
            | Target::RestPages(pages)
            | Target::GraphQLPagesOver { pages, .. } => Some(pages),
            Target::GraphQL { .. } | Target::Rest(_) | Target::Get(_) => None,
        }
    }

    /// Sends one request (one page for the baseline) and checks it: the
    /// GraphQL answer's bytes (empty otherwise), and for distinct pages a
    /// fingerprint of what was asked.
    async fn once(&self, http: &reqwest::Client) -> (Result<Bytes, String>, Option<u64>) {
        match self {
            Target::GraphQL { url, body } => (post_graphql(http, url, body.clone()).await, None),
            Target::GraphQLPages { url, pages } => {
                let body = pages.body(pages.take());
                let fingerprint = fingerprint(|h| body.hash(h));
                (post_graphql(http, url, body).await, Some(fingerprint))
            }
            Target::Rest(calls) => (get_all(http, calls).await.map(|()| Bytes::new()), None),
            Target::RestPages(pages) => {
                let calls = pages.calls(pages.take());
                let fingerprint = fingerprint(|h| calls.iter().for_each(|c| c.url.hash(h)));
                (
                    get_all(http, &calls).await.map(|()| Bytes::new()),
                    Some(fingerprint),
                )
            }
            Target::Get(url) => (get_one(http, url).await.map(|()| Bytes::new()), None),
            Target::GraphQLPagesOver { urls, pages } => {
                let k = pages.take();
                let body = pages.body(k);
                let fingerprint = fingerprint(|h| body.hash(h));
                let url = &urls[usize::try_from(k).unwrap_or(0) % urls.len()];
                (post_graphql(http, url, body).await, Some(fingerprint))
            }
        }
    }
}

/// A 64-bit hash of what `feed` writes, the same in every run.
fn fingerprint(feed: impl FnOnce(&mut std::collections::hash_map::DefaultHasher)) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    feed(&mut hasher);
    hasher.finish()
}

/// POSTs a GraphQL body; the answer must be 200 without `"errors"`.
async fn post_graphql(http: &reqwest::Client, url: &str, body: Bytes) -> Result<Bytes, String> {
    let response = http
        .post(url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
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

/// GETs all `calls` concurrently; every answer must be 200.
async fn get_all(http: &reqwest::Client, calls: &[RestCall]) -> Result<(), String> {
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
    results.into_iter().collect()
}

/// GETs `url`; the answer must be 200.
async fn get_one(http: &reqwest::Client, url: &str) -> Result<(), String> {
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    response
        .bytes()
        .await
        .map_err(|e| format!("reading {url}: {e}"))?;
    match status {
        StatusCode::OK => Ok(()),
        _ => Err(format!("HTTP {status} from GET {url}")),
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
    /// CPU time the server process used during the run (none for the baseline).
    server_cpu: Option<Duration>,
    /// The server process's memory after the run.
    server_memory: Option<Memory>,
    /// Whether the peak is the run's (reset before it) rather than since start.
    peak_of_run: bool,
    /// For distinct pages: different requests among those sent.
    distinct: Option<usize>,
}

impl Measurement {
    /// Requests sent, failed ones included.
    fn queries(&self) -> u64 {
        self.ok + self.failures
    }

    /// Requests per second.
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

    /// The server's CPU time per request, in µs.
    fn cpu_per_request(&self) -> String {
        match self.server_cpu {
            None => "-".to_owned(),
            Some(cpu) => {
                let micros = cpu.as_secs_f64() * 1e6 / self.queries().max(1) as f64;
                match micros < 100.0 {
                    true => format!("{micros:.1}"),
                    false => format!("{micros:.0}"),
                }
            }
        }
    }

    /// The server's RSS after the run, and its peak.
    fn memory(&self) -> String {
        let mib = |kib: u64| kib as f64 / 1024.0;
        match self.server_memory {
            None => "-".to_owned(),
            Some(m) => format!("{:.0} ({:.0})", mib(m.rss_kib), mib(m.peak_kib)),
        }
    }
}

/// Per-client tally, merged after the run.
#[derive(Default)]
struct Tally {
    ok: u64,
    failures: u64,
    first_failure: Option<String>,
    latencies: Vec<Duration>,
    /// Fingerprints of distinct-page requests.
    fingerprints: Vec<u64>,
}

/// Runs `clients` clients against `target` for `duration`: one warm-up
/// request per client (fills connection pools and caches, not measured),
/// then each client sends requests back to back until the time is up.
/// Requests in flight at the deadline finish and count. The CPU time and
/// memory are those of `server`, the process answering.
async fn drive(
    sims: &Simulators,
    http: &reqwest::Client,
    target: Arc<Target>,
    server: Option<&ChildServer>,
    clients: usize,
    duration: Duration,
) -> Measurement {
    if let Some(pages) = target.pages() {
        pages.restart();
    }
    let warm_up = (0..clients).map(|_| target.once(http));
    let warm_failures = futures::future::join_all(warm_up)
        .await
        .into_iter()
        .filter(|(result, _)| result.is_err())
        .count();
    if warm_failures > 0 {
        eprintln!("  warning: {warm_failures} warm-up requests failed");
    }

    sims.reset_counts();
    let pid = server.map(ChildServer::pid);
    let peak_of_run = pid.is_some_and(reset_peak);
    let cpu_before = pid.and_then(cpu_time);
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
                    let (result, fingerprint) = target.once(&http).await;
                    tally.latencies.push(sent.elapsed());
                    tally.fingerprints.extend(fingerprint);
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
        total.fingerprints.extend(tally.fingerprints);
    }
    let elapsed = started.elapsed();
    let server_cpu = pid
        .and_then(cpu_time)
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    let upstream_calls = [&sims.closient, &sims.medusa, &sims.violet].map(|s| s.control.total());
    total.latencies.sort_unstable();
    Measurement {
        ok: total.ok,
        failures: total.failures,
        first_failure: total.first_failure,
        elapsed,
        latencies: total.latencies,
        upstream_calls,
        server_cpu,
        server_memory: pid.and_then(|pid| memory(&pid.to_string())),
        peak_of_run,
        distinct: target
            .pages()
            .map(|_| total.fingerprints.iter().collect::<HashSet<_>>().len()),
    }
}

/// Checks a gateway's answer once, beyond "no errors": the offers are all
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

/// The ways each scenario is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Run {
    /// Straight to the simulators' REST APIs, one call per offer.
    Baseline,
    /// One of the gateway processes.
    Gateway(Setup),
    /// A bare handler answering the gateway's bytes.
    Ceiling,
    /// `GET /healthz` of the warm gateway process (with scenario 7).
    Healthz,
}

impl Run {
    /// Its name in the report.
    fn label(self) -> &'static str {
        match self {
            Run::Baseline => "baseline (REST)",
            Run::Gateway(Setup::Cold) => "gateway cold",
            Run::Gateway(Setup::Warm) => "gateway warm",
            Run::Gateway(Setup::WarmRc) => "gateway warm+rc",
            Run::Ceiling => "ceiling",
            Run::Healthz => "GET /healthz (warm process)",
        }
    }
}

/// Milliseconds with two decimals.
fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// The table's columns.
const TABLE_HEADER: &str = "| scenario | run | req/s | p50 ms | p95 ms | p99 ms | \
    upstream calls/query (closient / medusa / violet) | server CPU µs/req | \
    server RSS MiB (peak) | failures |\n\
    | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |";

/// The table row of one run.
fn row(scenario: ScenarioName, run: Run, m: &Measurement) -> String {
    let failures = if m.failures == 0 {
        "0".to_owned()
    } else {
        format!("**{}**", m.failures)
    };
    format!(
        "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {failures} |",
        scenario.label(),
        run.label(),
        m.throughput(),
        ms(m.percentile(0.50)),
        ms(m.percentile(0.95)),
        ms(m.percentile(0.99)),
        m.upstream_per_query(),
        m.cpu_per_request(),
        m.memory(),
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

/// Run `a` against run `b`: throughput / p50 latency.
fn ratio(runs: &HashMap<Run, Measurement>, a: Run, b: Run) -> String {
    let (Some(a), Some(b)) = (runs.get(&a), runs.get(&b)) else {
        return "n/a".to_owned();
    };
    let p50 = |m: &Measurement| m.percentile(0.5).as_secs_f64();
    format!(
        "{} / {}",
        times(a.throughput() / b.throughput()),
        times(p50(a) / p50(b))
    )
}

/// The ratio columns: each gateway against the baseline, then against the ceiling.
const RATIO_HEADER: &str = "| scenario | cold / baseline | warm / baseline | warm+rc / baseline \
    | cold / ceiling | warm / ceiling | warm+rc / ceiling |\n\
    | --- | ---: | ---: | ---: | ---: | ---: | ---: |";

/// The ratio row of one scenario.
fn ratio_row(scenario: ScenarioName, runs: &HashMap<Run, Measurement>) -> String {
    let mut line = format!("| {} |", scenario.label());
    for against in [Run::Baseline, Run::Ceiling] {
        for setup in Setup::ALL {
            write!(line, " {} |", ratio(runs, Run::Gateway(setup), against))
                .expect("writing to a String");
        }
    }
    line
}

/// This machine, for the report's first line: cores and CPU model.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{cores} cores ({model})")
}

/// The git commit the bench was built from (`git rev-parse --short HEAD`
/// in its source tree), marked when tracked files are modified.
fn commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        None => "unknown commit".to_owned(),
        Some(hash) => match git(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(changes) if !changes.is_empty() => {
                format!("commit {hash} (with uncommitted changes)")
            }
            _ => format!("commit {hash}"),
        },
    }
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    if let Some(file) = &args.serve_ceiling {
        serve_ceiling(file).await?;
        return Ok(ExitCode::SUCCESS);
    }
    // On ctrl-c or SIGTERM the bench is dropped, and with it every child
    // server (killed and reaped).
    tokio::select! {
        result = bench(args) => result,
        () = offer_gateway::shutdown_signal() => {
            eprintln!("interrupted: stopping the servers");
            Ok(ExitCode::from(130))
        }
    }
}

/// The whole bench, as the command line asks.
async fn bench(args: Args) -> anyhow::Result<ExitCode> {
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
    let binary = gateway_binary()?;

    // Declared before the servers, so dropped after them: their files and
    // catalog indexes live here.
    let dir = tempfile::Builder::new()
        .prefix("offer-gateway-bench-")
        .tempdir()
        .context("creating a temporary directory")?;
    let sims = Simulators::start_demo().await?;
    sims.set_latency(args.latency);
    // The documented 300 requests/minute per key would throttle every run.
    sims.closient_data.set_minute_limit(None);
    sims.closient_data.set_day_limit(None);
    if args.replicas {
        return replicas(&args, &binary, dir.path(), &sims).await;
    }

    let response_cache = knows_response_cache(&binary, dir.path(), &sims, &args)?;
    if !response_cache {
        eprintln!(
            "note: {} refuses `[response_cache]` (no whole-response cache yet): \
             no warm+rc gateway",
            binary.display()
        );
    }
    let mut servers = Vec::new();
    for setup in Setup::ALL {
        if setup == Setup::WarmRc && !response_cache {
            continue;
        }
        let server = spawn_gateway(&binary, dir.path(), &sims, setup, &args, response_cache)?;
        servers.push((setup, server));
    }
    let mut gateways = Gateways { servers };
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let filled = futures::future::try_join_all(
        gateways
            .servers
            .iter_mut()
            .map(|(_, server)| gateway_ready(&http, server)),
    )
    .await?;
    let index_filled = filled.iter().max().copied().unwrap_or_default();
    eprintln!(
        "{} gateways ready, catalog index filled in {index_filled:.1?} (sync of all three \
         upstreams, in parallel)",
        gateways.servers.len()
    );
    let auth = RestAuth::login(&sims, &http).await?;
    let pool = OfferPool::pick(&sims);
    sims.reset_counts();

    let started_at = humantime::format_rfc3339_seconds(SystemTime::now());
    let command_line = args.command_line(&chosen);
    eprintln!("offer-gateway bench: {command_line}");
    let mut report = Report::default();
    for name in chosen.iter().copied() {
        let scenario = scenario(name, &pool, &auth, &http, &gateways).await?;
        eprintln!("{}: {}", name.label(), scenario.description);

        // Each gateway's answer, checked once; the ceiling serves the warm one's bytes.
        let mut ceiling_answer = Bytes::new();
        for (setup, server) in &gateways.servers {
            let answer = post_graphql(&http, &server.url("/graphql"), scenario.first_body())
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "{}: the {} gateway's answer: {e}",
                        name.label(),
                        setup.name()
                    )
                })?;
            check_answer(scenario.expect, &answer)
                .with_context(|| format!("{}: the {} gateway", name.label(), setup.name()))?;
            if *setup == Setup::Warm {
                ceiling_answer = answer;
            }
        }
        let mut ceiling = start_ceiling(dir.path(), &ceiling_answer).await?;

        let mut plan = vec![Run::Baseline];
        plan.extend(gateways.setups().into_iter().map(Run::Gateway));
        plan.push(Run::Ceiling);
        if name == ScenarioName::Trivial {
            plan.push(Run::Healthz);
        }
        let mut runs = HashMap::new();
        for run in plan {
            let (target, server) = match run {
                Run::Baseline => match scenario.baseline() {
                    Some(target) => (target, None),
                    None => continue,
                },
                Run::Gateway(setup) => {
                    let gateway = gateways.get(setup)?;
                    (scenario.graphql(gateway.url("/graphql")), Some(gateway))
                }
                Run::Ceiling => (scenario.graphql(ceiling.url("/graphql")), Some(&ceiling)),
                Run::Healthz => {
                    let warm = gateways.get(Setup::Warm)?;
                    (Target::Get(warm.url("/healthz")), Some(warm))
                }
            };
            let m = drive(
                &sims,
                &http,
                Arc::new(target),
                server,
                args.clients,
                args.duration,
            )
            .await;
            report.run(name, run, &m);
            // A server that died makes the rest meaningless.
            gateways.alive()?;
            ceiling.alive()?;
            runs.insert(run, m);
        }
        drop(ceiling);
        report.scenario(name, &scenario.description, &runs);
    }

    println!();
    println!(
        "offer-gateway bench, {}, {started_at}, {}: `cargo run --release --example bench -- \
         {command_line}`",
        commit(),
        machine()
    );
    println!();
    println!(
        "Servers are separate processes: the `offer-gateway` binary with a generated config \
         over the in-process simulators (cold: every cache off; warm: entity caches with a 1 h \
         TTL, response cache off; warm+rc: entity and response caches on{}), max_concurrency \
         {} per upstream, catalog index filled in {index_filled:.1?} before the first run; the \
         ceiling is a bare axum handler in its own process.",
        if response_cache {
            ""
        } else {
            "; not run: this binary has no response cache"
        },
        args.upstream_concurrency,
    );
    report.print();
    print_cache_weights(&http, &gateways).await;
    if report.failed_runs.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

/// `--replicas`: two gateway processes, each with its own caches, against
/// two sharing one Redis, every one cold and each filling its own catalog
/// index first; the same distinct pages (scenario 8) sent to the two of a
/// pair in turn, as a round-robin balancer would. Prints upstream calls
/// per query and latency for each pair.
async fn replicas(
    args: &Args,
    binary: &Path,
    dir: &Path,
    sims: &Simulators,
) -> anyhow::Result<ExitCode> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut redis = Command::new("redis-server");
    redis
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir);
    let mut redis = ChildServer::spawn("redis-server".to_owned(), redis, dir, "redis")
        .context("--replicas needs redis-server on PATH (Debian's redis-server package)")?;
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        redis.alive()?;
        anyhow::ensure!(
            started.elapsed() < START_TIMEOUT,
            "redis-server did not listen"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let redis_url = format!("redis://127.0.0.1:{port}/0");
    let pairs = [
        ("each alone", None),
        ("sharing Redis", Some(redis_url.as_str())),
    ];
    let mut servers = Vec::new();
    for (pair, (_, shared)) in pairs.iter().enumerate() {
        for replica in 0..2 {
            let stem = format!("replica-{pair}-{replica}");
            let (text, secrets) = gateway_config(
                sims,
                Setup::Warm,
                args.upstream_concurrency,
                &dir.join(format!("{stem}-data")),
                true,
            )?;
            // No sync: its listings would fill the entity caches before
            // the runs, and offers(ids:) needs no catalog index.
            let mut table: toml::Table = toml::from_str(&text)?;
            if let Some(toml::Value::Table(upstreams)) = table.get_mut("upstreams") {
                for (_, upstream) in upstreams.iter_mut() {
                    if let Some(toml::Value::Table(sync)) = upstream.get_mut("sync") {
                        sync.insert("enabled".to_owned(), toml::Value::Boolean(false));
                    }
                }
            }
            if let Some(url) = shared {
                let mut section = toml::Table::new();
                section.insert(
                    "redis_url".to_owned(),
                    toml::Value::String((*url).to_owned()),
                );
                table.insert("shared".to_owned(), toml::Value::Table(section));
            }
            let text = toml::to_string(&table)?;
            let config = dir.join(format!("{stem}.toml"));
            std::fs::write(&config, text)?;
            let mut command = Command::new(binary);
            command
                .arg("--config")
                .arg(&config)
                .args(["--listen", "127.0.0.1:0"]);
            server_env(&mut command, &secrets);
            servers.push((
                pair,
                ChildServer::spawn(format!("gateway {stem}"), command, dir, &stem)?,
            ));
        }
    }
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    futures::future::try_join_all(
        servers
            .iter_mut()
            .map(|(_, server)| answering(&http, server)),
    )
    .await?;
    let auth = RestAuth::login(sims, &http).await?;
    let pool = OfferPool::pick(sims);
    let pages = Arc::new(DistinctPages::new(pool.styles(), &auth)?);
    let command_line = format!(
        "--replicas --latency {} --clients {} --duration {} --upstream-concurrency {}",
        humantime::format_duration(args.latency),
        args.clients,
        humantime::format_duration(args.duration),
        args.upstream_concurrency,
    );
    eprintln!("offer-gateway bench: {command_line}");
    let mut rows = Vec::new();
    for (pair, (name, _)) in pairs.iter().enumerate() {
        let urls = servers
            .iter()
            .filter(|(p, _)| *p == pair)
            .map(|(_, server)| server.url("/graphql"))
            .collect();
        let target = Arc::new(Target::GraphQLPagesOver {
            urls,
            pages: pages.clone(),
        });
        let m = drive(sims, &http, target, None, args.clients, args.duration).await;
        let row = format!(
            "| 9 replicas | two gateways, {name} | {:.0} | {} | {} | {} | {} | {} |",
            m.throughput(),
            ms(m.percentile(0.50)),
            ms(m.percentile(0.95)),
            ms(m.percentile(0.99)),
            m.upstream_per_query(),
            m.failures,
        );
        eprintln!("{row}");
        rows.push((row, m));
        for (_, server) in &mut servers {
            server.alive()?;
        }
    }
    println!();
    println!(
        "offer-gateway bench, {}, {}, {}: `cargo run --release --example bench -- {command_line}`",
        commit(),
        humantime::format_rfc3339_seconds(SystemTime::now()),
        machine()
    );
    println!();
    println!(
        "Two gateway processes per pair, each started cold (entity caches with a 1 h TTL, \
         empty at the start: no catalog sync; response cache off) over the in-process \
         simulators; the pair sharing Redis has `[shared] redis_url` (redis-server on loopback). \
         Distinct pages as in scenario 8 ({} offers), page k to replica k mod 2; the same \
         page sequence for both pairs.",
        pages.offers()
    );
    println!();
    println!("| scenario | run | req/s | p50 ms | p95 ms | p99 ms | upstream calls/query (closient / medusa / violet) | failures |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut failed = false;
    for (row, m) in &rows {
        println!("{row}");
        if let Some(first) = &m.first_failure {
            eprintln!("  first failure: {first}");
            failed = true;
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints what each gateway's caches weigh at the end (from its
/// `/metrics`: the entity caches' approximate bytes and the response
/// cache's bytes) next to its resident memory, so that memory figures can
/// be read against what the caches hold.
async fn print_cache_weights(http: &reqwest::Client, gateways: &Gateways) {
    println!();
    println!("Caches at the end (weights from `/metrics`, approximate bytes):");
    println!();
    println!("| gateway | entity caches MiB | entries | response cache MiB | RSS MiB |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (setup, server) in &gateways.servers {
        let Ok(response) = http.get(server.url("/metrics")).send().await else {
            continue;
        };
        let Ok(text) = response.text().await else {
            continue;
        };
        let sum = |prefix: &str| -> f64 {
            text.lines()
                .filter(|line| line.starts_with(prefix))
                .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
                .sum()
        };
        let mib = |bytes: f64| bytes / (1024.0 * 1024.0);
        println!(
            "| {} | {:.1} | {:.0} | {:.1} | {} |",
            setup.name(),
            mib(sum("cache_bytes{")),
            sum("cache_entries{"),
            mib(sum("response_cache_bytes ")),
            memory(&server.pid().to_string()).map_or("?".to_owned(), |m| format!(
                "{:.0}",
                m.rss_kib as f64 / 1024.0
            )),
        );
    }
}

/// What the runs found, printed at the end as markdown.
#[derive(Default)]
struct Report {
    /// One line per scenario: what it asks.
    descriptions: String,
    /// The main table's rows.
    table: String,
    /// The ratio table's rows.
    ratios: String,
    /// Rows against `GET /healthz` (scenario 7).
    healthz: String,
    /// Distinct requests per run of scenario 8.
    distinct: String,
    /// Whether some peak is since the server started (resetting it failed).
    peak_since_start: bool,
    /// Runs with failures, or with a repeated request in scenario 8.
    failed_runs: Vec<String>,
}

impl Report {
    /// Adds the row of one run, and says at once what went wrong.
    fn run(&mut self, name: ScenarioName, run: Run, m: &Measurement) {
        let line = row(name, run, m);
        eprintln!("{line}");
        self.table.push_str(&line);
        self.table.push('\n');
        self.peak_since_start |= m.server_memory.is_some() && !m.peak_of_run;
        if m.failures > 0 {
            eprintln!(
                "  !!! {} of {} requests FAILED; first: {}",
                m.failures,
                m.queries(),
                m.first_failure.as_deref().unwrap_or("?")
            );
            self.failed_runs.push(format!(
                "{} / {}: {} failed",
                name.label(),
                run.label(),
                m.failures
            ));
        }
        if let Some(count) = m.distinct {
            // Among the measured requests (the warm-up's pages came first:
            // pages are numbered per run).
            let sent = m.queries() as usize;
            let _ = write!(self.distinct, "{}: {count} of {sent}; ", run.label());
            if count != sent {
                eprintln!("  !!! only {count} of {sent} requests were distinct");
                self.failed_runs.push(format!(
                    "{} / {}: {} repeated requests",
                    name.label(),
                    run.label(),
                    sent - count
                ));
            }
        }
    }

    /// Adds a finished scenario: its description and ratios.
    fn scenario(
        &mut self,
        name: ScenarioName,
        description: &str,
        runs: &HashMap<Run, Measurement>,
    ) {
        let _ = writeln!(self.descriptions, "- {}: {description}", name.label());
        let _ = writeln!(self.ratios, "{}", ratio_row(name, runs));
        if runs.contains_key(&Run::Healthz) {
            let _ = write!(self.healthz, "| {} / healthz |", name.label());
            for setup in Setup::ALL {
                let _ = write!(
                    self.healthz,
                    " {} |",
                    ratio(runs, Run::Gateway(setup), Run::Healthz)
                );
            }
            let _ = writeln!(
                self.healthz,
                " {} |",
                ratio(runs, Run::Ceiling, Run::Healthz)
            );
        }
    }

    /// Prints the tables and notes on standard output.
    fn print(&self) {
        println!();
        print!("{}", self.descriptions);
        println!();
        println!("{TABLE_HEADER}");
        print!("{}", self.table);
        println!();
        println!(
            "Server CPU and RSS are those of the process answering (gateway or ceiling; none \
             for the baseline): its CPU time (user + system) over the run divided by the \
             requests, and VmRSS after the run with {} in parentheses. The simulators and the \
             load generator share the bench process (RSS {} MiB at the end).",
            if self.peak_since_start {
                "VmHWM (the peak since the process started)"
            } else {
                "the peak during the run"
            },
            memory("self").map_or("?".to_owned(), |m| format!(
                "{:.0}",
                m.rss_kib as f64 / 1024.0
            ))
        );
        if !self.distinct.is_empty() {
            println!();
            println!(
                "Distinct requests of 8 distinct-pages, measured requests: {}",
                self.distinct.trim_end_matches("; ")
            );
        }
        println!();
        println!("Ratios, throughput / p50 latency (above 1x: more requests/s, slower median):");
        println!();
        println!("{RATIO_HEADER}");
        print!("{}", self.ratios);
        if !self.healthz.is_empty() {
            println!();
            println!("Against `GET /healthz` of the warm gateway process, same load generator:");
            println!();
            println!("| | cold | warm | warm+rc | ceiling |");
            println!("| --- | ---: | ---: | ---: | ---: |");
            print!("{}", self.healthz);
        }
        if !self.failed_runs.is_empty() {
            println!();
            println!("!!! FAILURES: these figures are not valid:");
            for failed in &self.failed_runs {
                println!("!!!   {failed}");
            }
        }
    }
}
