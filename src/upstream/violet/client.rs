//! The Violet connector: talks to one Violet catalog API instance.
//!
//! Auth: the connector logs in lazily (`POST /v1/login` with the app
//! headers and the user's name and password) and keeps the token and the
//! refresh token. Every call sends `X-Violet-App-Id`,
//! `X-Violet-App-Secret` and `X-Violet-Token`. When a call answers `401`
//! with `error_code` 11 (token expired), the connector refreshes the token
//! (`GET /v1/auth/token` with the refresh token), retries the call once and
//! keeps the new token. Renewals are single-flight: the token state sits
//! behind a `tokio::sync::Mutex` with a generation counter, so callers that
//! saw the same expired token wait for one refresh and reuse its result. If
//! the refresh is refused, the connector logs in again once. Any other
//! 401/403 is [`UpstreamError::Unauthorized`]; a 401 also drops the token so
//! that the next call logs in afresh (the upstream may have forgotten it).
//!
//! Currency: Violet converts every price of an answer into its
//! `base_currency` query parameter, documented with a default of USD for
//! the by-id lookup (seed 004) and for the listings too (see
//! [`wire::DEFAULT_BASE_CURRENCY`]). The connector sends the instance's
//! configured `base_currency` ([`super::Settings`], USD unless set)
//! explicitly on every lookup and every search page, so an offer has the
//! same prices whether a lookup or a listing brought it, and no answer
//! depends on an unstated default.
//!
//! Lookups: Violet has no multi-get, so each offer is one
//! `GET /v1/catalog/offers/{id}?include=metadata,collections&base_currency=`,
//! sent concurrently and bounded by the instance's semaphore; 404 is "not
//! found".
//!
//! Listing: [`ListScope::All`] is `POST /v1/catalog/offers/search` with the
//! empty filter `{}` (and the same `include` and `base_currency`); 0-based
//! offset/limit are mapped onto Violet's 1-based `page` and `size` (at
//! most 100), with one call when a single page can cover the range and two
//! otherwise. A page is read offer by offer: an offer that cannot be read
//! is an error item of the page, and the others are still answered.

use std::collections::HashSet;

use async_trait::async_trait;
use futures::future::join_all;
use reqwest::RequestBuilder;
use serde_json::value::RawValue;
use tokio::sync::Mutex;

use super::{map, wire};
use crate::error::UpstreamError;
use crate::model::{OfferKey, OfferKind};
use crate::pricing::convert::RateTable;
use crate::pricing::Currency;
use crate::secret::Secret;
use crate::upstream::client::RawResponse;
use crate::upstream::paging::PagePlan;
use crate::upstream::resilience::Idempotent;
use crate::upstream::{
    Call, CatalogFeed, Connector, Credentials, InstanceSpec, ListScope, Lookup, OfferFilter,
    OfferPage, StyleSettings,
};

/// Largest page Violet serves.
pub(crate) const MAX_PAGE_SIZE: u32 = 100;

/// The extra data every offer request asks for.
const INCLUDE: &str = "metadata,collections";

/// Longest upstream message quoted in an error detail.
const MAX_DETAIL_CHARS: usize = 200;

/// The app and user credentials of the instance.
struct AppAuth {
    app_id: i64,
    app_secret: Secret,
    username: String,
    password: Secret,
}

/// A token and the refresh token that renews it.
struct Tokens {
    access: Secret,
    refresh: Option<Secret>,
}

/// The connector's session; `generation` counts the tokens obtained.
#[derive(Default)]
struct AuthState {
    generation: u64,
    tokens: Option<Tokens>,
}

/// Talks to one Violet instance.
pub(crate) struct VioletConnector {
    spec: InstanceSpec,
    app: Option<AppAuth>,
    auth: Mutex<AuthState>,
    /// The currency every price is asked in (`base_currency`).
    base_currency: Currency,
}

impl VioletConnector {
    /// The connector of the instance `spec`. Nothing is sent until the
    /// first lookup or listing.
    pub(crate) fn new(spec: &InstanceSpec) -> Self {
        let app = match &spec.credentials {
            Credentials::Violet(super::Credentials {
                app_id,
                app_secret,
                username,
                password,
            }) => Some(AppAuth {
                app_id: *app_id,
                app_secret: app_secret.clone(),
                username: username.clone(),
                password: password.clone(),
            }),
            _ => None,
        };
        // A spec built in code without Violet settings has their defaults.
        let settings = match &spec.settings.style {
            StyleSettings::Violet(settings) => settings.clone(),
            StyleSettings::None => super::Settings::default(),
        };
        VioletConnector {
            spec: spec.clone(),
            app,
            auth: Mutex::new(AuthState::default()),
            base_currency: settings.base_currency,
        }
    }

    fn app(&self) -> Result<&AppAuth, UpstreamError> {
        self.app
            .as_ref()
            .ok_or_else(|| UpstreamError::Unauthorized {
                status: 0,
                detail: "the instance is configured without Violet credentials".to_owned(),
            })
    }

    fn with_app_headers(request: RequestBuilder, app: &AppAuth) -> RequestBuilder {
        request
            .header("X-Violet-App-Id", app.app_id.to_string())
            .header("X-Violet-App-Secret", app.app_secret.expose())
    }

    /// Every Violet call reads (the search and the login are POSTs without
    /// side effects), so every call may be retried.
    async fn send(call: &Call<'_>, request: RequestBuilder) -> Result<RawResponse, UpstreamError> {
        call.send(request, Idempotent::Yes).await
    }

    /// `POST /v1/login`.
    async fn login(&self, call: &Call<'_>, app: &AppAuth) -> Result<Tokens, UpstreamError> {
        tracing::debug!(upstream = %self.spec.name, "logging in");
        let request = call
            .reqwest()
            .post(self.spec.url("/v1/login"))
            .json(&wire::LoginRequest {
                username: app.username.clone(),
                password: app.password.expose().to_owned(),
            });
        let response = Self::send(call, Self::with_app_headers(request, app)).await?;
        match response.status.as_u16() {
            200..=299 => {
                let body: wire::LoginResponse = response.json()?;
                Ok(Tokens {
                    access: Secret::new(body.token),
                    refresh: body.refresh_token.map(Secret::new),
                })
            }
            status @ (401 | 403) => Err(UpstreamError::Unauthorized {
                status,
                detail: format!("login refused: {}", describe(&response)),
            }),
            _ => Err(failure(&response)),
        }
    }

    /// `GET /v1/auth/token` with the refresh token.
    async fn refresh(
        &self,
        call: &Call<'_>,
        app: &AppAuth,
        refresh: &Secret,
    ) -> Result<Secret, UpstreamError> {
        tracing::debug!(upstream = %self.spec.name, "refreshing the token");
        let request = call
            .reqwest()
            .get(self.spec.url("/v1/auth/token"))
            .header("X-Violet-Token", refresh.expose());
        let response = Self::send(call, Self::with_app_headers(request, app)).await?;
        match response.status.as_u16() {
            200..=299 => Ok(Secret::new(response.json::<wire::RefreshResponse>()?.token)),
            status @ (401 | 403) => Err(UpstreamError::Unauthorized {
                status,
                detail: format!("refresh refused: {}", describe(&response)),
            }),
            _ => Err(failure(&response)),
        }
    }

    /// The current token and its generation, logging in if there is none.
    async fn token(&self, call: &Call<'_>, app: &AppAuth) -> Result<(u64, Secret), UpstreamError> {
        let mut state = self.auth.lock().await;
        if let Some(tokens) = &state.tokens {
            return Ok((state.generation, tokens.access.clone()));
        }
        let tokens = self.login(call, app).await?;
        Ok(store(&mut state, tokens))
    }

    /// Replaces the expired token of generation `seen`, once for all
    /// callers that saw it: refresh, else log in again.
    async fn renew(
        &self,
        call: &Call<'_>,
        app: &AppAuth,
        seen: u64,
    ) -> Result<(u64, Secret), UpstreamError> {
        let mut state = self.auth.lock().await;
        if state.generation != seen {
            if let Some(tokens) = &state.tokens {
                return Ok((state.generation, tokens.access.clone()));
            }
        }
        let refresh = state.tokens.as_ref().and_then(|t| t.refresh.clone());
        if let Some(refresh) = refresh {
            match self.refresh(call, app, &refresh).await {
                Ok(access) => {
                    let tokens = Tokens {
                        access,
                        refresh: Some(refresh),
                    };
                    return Ok(store(&mut state, tokens));
                }
                Err(
                    err @ (UpstreamError::Unauthorized { .. } | UpstreamError::Rejected { .. }),
                ) => {
                    tracing::info!(upstream = %self.spec.name, cause = %err, "token refresh refused; logging in again");
                }
                Err(err) => return Err(err),
            }
        }
        state.tokens = None;
        let tokens = self.login(call, app).await?;
        Ok(store(&mut state, tokens))
    }

    /// Drops the token of generation `seen` after the upstream refused it.
    async fn forget(&self, seen: u64) {
        let mut state = self.auth.lock().await;
        if state.generation == seen {
            state.tokens = None;
        }
    }

    /// Sends an authenticated request built by `build`, renewing an expired
    /// token and retrying once. Returns whatever the upstream answered last.
    async fn authorized(
        &self,
        call: &Call<'_>,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<RawResponse, UpstreamError> {
        let app = self.app()?;
        let with_token = |token: &Secret| {
            Self::with_app_headers(build(call.reqwest()), app)
                .header("X-Violet-Token", token.expose())
        };
        // A client's own user token (pass-through mode) is sent with the
        // gateway's app credentials, and never renewed.
        if let Some(token) = call.credential() {
            return Self::send(call, with_token(token)).await;
        }
        let (mut generation, token) = self.token(call, app).await?;
        let mut response = Self::send(call, with_token(&token)).await?;
        if token_expired(&response) {
            tracing::debug!(upstream = %self.spec.name, "token expired");
            let (renewed, token) = self.renew(call, app, generation).await?;
            generation = renewed;
            response = Self::send(call, with_token(&token)).await?;
        }
        if response.status.as_u16() == 401 {
            self.forget(generation).await;
        }
        Ok(response)
    }

    async fn fetch_one(&self, call: &Call<'_>, key: &OfferKey) -> Lookup {
        if key.kind != OfferKind::Marketplace {
            return Ok(None);
        }
        // An id that is not a positive int64 cannot name a Violet offer.
        let Ok(id) = canonical_offer_id(&key.native_id) else {
            return Ok(None);
        };
        let url = self.spec.url(&format!("/v1/catalog/offers/{id}"));
        let query = [
            ("include", INCLUDE),
            ("base_currency", self.base_currency.code()),
        ];
        let response = self
            .authorized(call, |client| client.get(url.clone()).query(&query))
            .await?;
        match response.status.as_u16() {
            200..=299 => {
                let raw: Box<RawValue> = response.json()?;
                match map::read_offer(&self.spec.name, raw.get()) {
                    (Some(got), _) if got.to_string() != id => Err(UpstreamError::BadResponse(
                        format!("asked for offer {id}, got offer {got}"),
                    )),
                    (_, offer) => offer.map(Some),
                }
            }
            404 => Ok(None),
            _ => Err(failure(&response)),
        }
    }

    /// One page (1-based) of the search.
    async fn search_page(
        &self,
        call: &Call<'_>,
        filter: &wire::SearchRequest,
        page: u64,
        size: u32,
    ) -> Result<wire::Page<Box<RawValue>>, UpstreamError> {
        let url = self.spec.url("/v1/catalog/offers/search");
        let query = [
            ("page", page.to_string()),
            ("size", size.to_string()),
            ("include", INCLUDE.to_owned()),
            ("base_currency", self.base_currency.code().to_owned()),
        ];
        let response = self
            .authorized(call, |client| {
                client.post(url.clone()).query(&query).json(filter)
            })
            .await?;
        match response.status.as_u16() {
            200..=299 => response.json(),
            _ => Err(failure(&response)),
        }
    }
}

/// Keeps new tokens as the next generation.
fn store(state: &mut AuthState, tokens: Tokens) -> (u64, Secret) {
    state.generation += 1;
    let access = tokens.access.clone();
    state.tokens = Some(tokens);
    (state.generation, access)
}

fn error_body(response: &RawResponse) -> Option<wire::ErrorBody> {
    serde_json::from_slice(&response.body).ok()
}

/// `401` with Violet's "Token has expired" code.
fn token_expired(response: &RawResponse) -> bool {
    response.status.as_u16() == 401
        && error_body(response).and_then(|b| b.error_code) == Some(wire::ERROR_CODE_TOKEN_EXPIRED)
}

/// What the upstream said, short, for logs (never the request's secrets).
fn describe(response: &RawResponse) -> String {
    match error_body(response) {
        Some(body) => {
            let message: String = body.message.chars().take(MAX_DETAIL_CHARS).collect();
            match body.error_code {
                Some(code) => format!("error_code {code}: {message}"),
                None => message,
            }
        }
        None => format!(
            "HTTP {} without a Violet error body",
            response.status.as_u16()
        ),
    }
}

/// The error for an answer that is not a success the caller handles.
fn failure(response: &RawResponse) -> UpstreamError {
    if let Some(err) = response.common_failure() {
        return err;
    }
    match response.status.as_u16() {
        status @ (401 | 403) => UpstreamError::Unauthorized {
            status,
            detail: describe(response),
        },
        status @ (400 | 422) => UpstreamError::Rejected {
            status,
            detail: describe(response),
        },
        status => {
            UpstreamError::BadResponse(format!("unexpected HTTP {status}: {}", describe(response)))
        }
    }
}

/// Checks an offer id as a client typed it: a positive decimal int64.
/// Leading zeros are dropped (`007` is `7`).
pub(crate) fn canonical_offer_id(raw: &str) -> Result<String, String> {
    const EXPECTED: &str =
        "a Violet offer id is a positive decimal integer of at most 19 digits, e.g. 3000000127";
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("not a number: {EXPECTED}"));
    }
    let digits = raw.trim_start_matches('0');
    if digits.is_empty() {
        return Err(format!("zero is not an offer id: {EXPECTED}"));
    }
    match digits.parse::<i64>() {
        Ok(_) => Ok(digits.to_owned()),
        Err(_) => Err(format!("too large: {EXPECTED}")),
    }
}

impl VioletConnector {
    /// `GET /v1/currencies/latest?base_currency=`: the rates as a table.
    async fn latest_rates(
        &self,
        call: &Call<'_>,
        base: Currency,
    ) -> Result<RateTable, UpstreamError> {
        let url = self.spec.url("/v1/currencies/latest");
        let response = self
            .authorized(call, |client| {
                client
                    .get(url.clone())
                    .query(&[("base_currency", base.code())])
            })
            .await?;
        if !response.status.is_success() {
            return Err(failure(&response));
        }
        let answer: wire::ExchangeRates = response.json()?;
        map::rate_table(&self.spec.name, answer)
    }
}

#[async_trait]
impl Connector for VioletConnector {
    fn offer_kinds(&self) -> &'static [OfferKind] {
        &[OfferKind::Marketplace]
    }

    fn canonical_id(&self, kind: OfferKind, raw: &str) -> Result<String, String> {
        if kind != OfferKind::Marketplace {
            return Err(format!(
                "a Violet upstream serves only MarketplaceOffer ids, not {}",
                kind.type_name()
            ));
        }
        canonical_offer_id(raw)
    }

    async fn fetch_offers(&self, call: &Call<'_>, keys: &[OfferKey]) -> Vec<(OfferKey, Lookup)> {
        let mut seen = HashSet::new();
        let distinct: Vec<&OfferKey> = keys.iter().filter(|k| seen.insert(*k)).collect();
        join_all(distinct.into_iter().map(|key| async move {
            let lookup = self.fetch_one(call, key).await;
            if let Err(err) = &lookup {
                tracing::debug!(upstream = %self.spec.name, offer_id = %key.native_id, cause = %err, "lookup failed");
            }
            (key.clone(), lookup)
        }))
        .await
    }

    /// Violet's search filters by merchant (the seller), an integer; not
    /// by SKU, EAN or UPC.
    fn check_filter(&self, filter: &OfferFilter) -> Result<(), String> {
        if filter.sku.is_some() || filter.ean.is_some() || filter.upc.is_some() {
            return Err(
                "a Violet-style upstream filters its offers by seller only, not by SKU, EAN or UPC"
                    .to_owned(),
            );
        }
        match &filter.seller_id {
            Some(id) if id.parse::<i32>().is_err() => Err(format!(
                "a Violet seller id is an integer merchant id, not {id:?}"
            )),
            _ => Ok(()),
        }
    }

    async fn list_offers(
        &self,
        call: &Call<'_>,
        scope: &ListScope,
        offset: u64,
        limit: u32,
    ) -> Result<OfferPage, UpstreamError> {
        self.search_window(call, scope, None, offset, limit).await
    }

    /// Newest changes first: the search sorted by `date_last_modified`.
    fn change_feeds(&self) -> Vec<CatalogFeed> {
        vec![CatalogFeed::Changes(ListScope::All)]
    }

    async fn list_changes(
        &self,
        call: &Call<'_>,
        scope: &ListScope,
        offset: u64,
        limit: u32,
    ) -> Result<OfferPage, UpstreamError> {
        let newest_first = Some(("date_last_modified", "DESC"));
        self.search_window(call, scope, newest_first, offset, limit)
            .await
    }

    fn max_page_size(&self) -> u32 {
        MAX_PAGE_SIZE
    }

    async fn exchange_rates(
        &self,
        call: &Call<'_>,
        base: Currency,
    ) -> Result<Option<RateTable>, UpstreamError> {
        self.latest_rates(call, base).await.map(Some)
    }
}

/// Windows of the offer search.
impl VioletConnector {
    /// Reads `limit` offers of `scope` from `offset` through the search,
    /// sorted by `sort` (field, direction) when given.
    async fn search_window(
        &self,
        call: &Call<'_>,
        scope: &ListScope,
        sort: Option<(&str, &str)>,
        offset: u64,
        limit: u32,
    ) -> Result<OfferPage, UpstreamError> {
        let mut filter = wire::SearchRequest::default();
        if let Some((field, direction)) = sort {
            filter.sort_by = Some(field.to_owned());
            filter.sort_direction = Some(direction.to_owned());
        }
        match scope {
            ListScope::All => {}
            ListScope::Matching(wanted) => {
                // Only the seller (the merchant id) is a search filter.
                filter.merchant_id = wanted
                    .seller_id
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .map_err(|_| UpstreamError::Rejected {
                        status: 400,
                        detail: "a Violet merchant id is an integer".to_owned(),
                    })?;
            }
            ListScope::Organization(_) => {
                return Err(UpstreamError::Rejected {
                    status: 400,
                    detail:
                        "Violet has no organization listings; only the whole catalog can be listed"
                            .to_owned(),
                })
            }
        }
        let plan = PagePlan::new(offset, limit, MAX_PAGE_SIZE);
        // Violet's `page` is an int32: a window beyond it is past the end.
        let past_int32 = plan.last_page > i32::MAX as u64;
        if limit == 0 || past_int32 {
            let page = self.search_page(call, &filter, 1, 1).await?;
            return Ok(OfferPage {
                items: Vec::new(),
                total_count: page.total_elements,
            });
        }
        let mut total_count = 0;
        let mut wire_offers = Vec::new();
        for number in plan.pages() {
            let page = self
                .search_page(call, &filter, number, plan.page_size as u32)
                .await?;
            if number == plan.first_page {
                total_count = page.total_elements;
            }
            let short = (page.content.len() as u64) < plan.page_size;
            wire_offers.extend(page.content);
            if page.last || short {
                break;
            }
        }
        let items = wire_offers
            .into_iter()
            .skip(plan.skip as usize)
            .take(limit as usize)
            .map(|raw| {
                let (id, item) = map::read_offer(&self.spec.name, raw.get());
                if let Err(err) = &item {
                    tracing::debug!(upstream = %self.spec.name, offer_id = ?id, cause = %err, "unreadable listing item");
                }
                item
            })
            .collect();
        Ok(OfferPage { items, total_count })
    }
}

#[cfg(all(test, feature = "sim"))]
mod tests {
    use std::collections::BTreeSet;

    use rust_decimal::Decimal;

    use super::*;
    use crate::model::Offer;
    use crate::sim::catalog::Catalog;
    use crate::sim::{serve, RunningSim};
    use crate::upstream::client::DEFAULT_CONNECT_TIMEOUT;
    use crate::upstream::violet;
    use crate::upstream::violet::sim::{demo_credentials, other_credentials, router, SimData};
    use crate::upstream::{CallContext, HttpClient, Instance};
    use std::sync::Arc;

    const SEED: u64 = 0x5eed_0004;
    const GET_OFFER: &str = "GET /v1/catalog/offers/{offer_id}";
    const SEARCH: &str = "POST /v1/catalog/offers/search";
    const LOGIN: &str = "POST /v1/login";
    const REFRESH: &str = "GET /v1/auth/token";

    async fn start() -> (RunningSim, Arc<SimData>) {
        let data = Arc::new(SimData::generate(&Catalog::generate(SEED)));
        let running = serve(router(data.clone())).await.expect("simulator starts");
        (running, data)
    }

    fn connector(running: &RunningSim, credentials: Credentials) -> Instance {
        Instance::new(
            InstanceSpec {
                name: Arc::from("violet-test"),
                base_url: running.base_url.clone(),
                credentials,
                settings: Default::default(),
            },
            HttpClient::new(DEFAULT_CONNECT_TIMEOUT),
        )
    }

    /// A demo connector configured with `base_currency`.
    fn connector_in(running: &RunningSim, base_currency: &str) -> Instance {
        let settings = crate::upstream::InstanceSettings {
            style: StyleSettings::Violet(violet::Settings {
                base_currency: Currency::parse(base_currency).expect("an ISO 4217 code"),
            }),
            ..Default::default()
        };
        Instance::new(
            InstanceSpec {
                name: Arc::from("violet-test"),
                base_url: running.base_url.clone(),
                credentials: demo_credentials(),
                settings,
            },
            HttpClient::new(DEFAULT_CONNECT_TIMEOUT),
        )
    }

    /// The simulator, recording the path and query of every request.
    async fn start_recording() -> (RunningSim, Arc<SimData>, Arc<std::sync::Mutex<Vec<String>>>) {
        let data = Arc::new(SimData::generate(&Catalog::generate(SEED)));
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        let app = router(data.clone()).layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                record
                    .lock()
                    .expect("no test panics while recording")
                    .push(request.uri().to_string());
                next.run(request)
            },
        ));
        let running = serve(app).await.expect("simulator starts");
        (running, data, seen)
    }

    fn key(id: i64) -> OfferKey {
        OfferKey::new(OfferKind::Marketplace, id.to_string())
    }

    fn with_secret(credentials: Credentials, secret: &str, password: &str) -> Credentials {
        let Credentials::Violet(violet::Credentials {
            app_id, username, ..
        }) = credentials
        else {
            panic!("Violet credentials")
        };
        Credentials::Violet(violet::Credentials {
            app_id,
            app_secret: Secret::new(secret),
            username,
            password: Secret::new(password),
        })
    }

    /// The first offer of the merchant whose currency is `currency`.
    fn offer_in(data: &SimData, currency: &str) -> wire::Offer {
        data.offers
            .iter()
            .find(|o| o.skus.len() > 1 && o.skus[0].currency.as_deref() == Some(currency))
            .expect("the simulator has offers in every merchant currency")
            .clone()
    }

    /// `minor` units of `currency` in minor units of `target` (a currency
    /// with two decimals), as the simulator answers them: the amount (ISO
    /// 4217 exponents written out) times `target`'s units per US dollar
    /// over `currency`'s, from the simulator's rate table, rounded half to
    /// even to the cent. E.g. 4545 JPY into USD: 4545 x 1 / 151.5 = 30.00.
    fn in_cents_of(data: &SimData, minor: i64, currency: &str, target: &str) -> Decimal {
        let exponent = match currency {
            "JPY" => 0,
            "KWD" => 3,
            _ => 2,
        };
        (Decimal::new(minor, exponent) * data.rates[target] / data.rates[currency])
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven)
            * Decimal::from(100)
    }

    /// [`in_cents_of`] US dollars.
    fn in_us_cents(data: &SimData, minor: i64, currency: &str) -> Decimal {
        in_cents_of(data, minor, currency, "USD")
    }

    #[test]
    fn canonical_ids_are_positive_int64_without_leading_zeros() {
        assert_eq!(canonical_offer_id("3000000127"), Ok("3000000127".into()));
        assert_eq!(canonical_offer_id("000042"), Ok("42".into()));
        assert_eq!(
            canonical_offer_id("9223372036854775807"),
            Ok(i64::MAX.to_string())
        );
        for bad in [
            "",
            "0",
            "000",
            "-5",
            "+5",
            "12a",
            " 12",
            "1.5",
            "9223372036854775808",
            "offer_01H",
        ] {
            let err = canonical_offer_id(bad).unwrap_err();
            assert!(err.contains("positive decimal integer"), "{bad:?}: {err}");
        }
    }

    #[tokio::test]
    async fn canonical_id_rejects_other_offer_kinds() {
        let (running, _) = start().await;
        let c = connector(&running, demo_credentials());
        assert!(c.canonical_id(OfferKind::Online, "12").is_err());
        assert_eq!(
            c.canonical_id(OfferKind::Marketplace, "012"),
            Ok("12".into())
        );
        assert_eq!(
            running.control.total(),
            0,
            "validation never calls the upstream"
        );
    }

    #[tokio::test]
    async fn looks_up_offers_with_simulator_prices_in_minor_units() {
        let (running, data) = start().await;
        let c = connector(&running, demo_credentials());
        let raws: Vec<wire::Offer> = ["USD", "EUR", "GBP", "JPY", "KWD", "CAD"]
            .iter()
            .map(|cur| offer_in(&data, cur))
            .collect();
        let keys: Vec<OfferKey> = raws.iter().map(|o| key(o.id)).collect();
        let answers = c.fetch_offers(&CallContext::default(), &keys).await;
        assert_eq!(answers.len(), raws.len());
        for raw in &raws {
            let (_, lookup) = answers.iter().find(|(k, _)| *k == key(raw.id)).unwrap();
            let offer = lookup
                .as_ref()
                .unwrap()
                .as_ref()
                .expect("known offer is found");
            let Offer::Marketplace(m) = offer else {
                panic!("marketplace offer")
            };
            let crate::model::MarketplaceDetails::Violet(d) = &m.details else {
                panic!("Violet details")
            };
            // Stored in the merchant's currency, answered in US dollars.
            let currency = raw.skus[0].currency.as_deref().unwrap();
            let price = offer.common().price.clone().unwrap();
            assert_eq!(price.currency().code(), "USD");
            assert_eq!(
                price.minor_units(),
                Some(in_us_cents(&data, raw.min_price, currency)),
                "{currency}"
            );
            for (sku, raw_sku) in d.skus.iter().zip(&raw.skus) {
                let sale = sku.sale_price.as_ref().unwrap();
                assert_eq!(
                    sale.minor_units(),
                    Some(in_us_cents(&data, raw_sku.sale_price.unwrap(), currency))
                );
                assert_eq!(sale.currency().code(), "USD");
            }
            assert_eq!(m.seller.id, raw.merchant_id.to_string());
            assert_eq!(
                d.metadata.len(),
                raw.metadata.as_ref().unwrap().len(),
                "include=metadata is sent"
            );
            assert_eq!(d.collections.len(), raw.collections.as_ref().unwrap().len());
            assert_eq!(
                d.default_image_url, None,
                "by-id answers carry no default image"
            );
        }
        assert_eq!(
            running.control.count(GET_OFFER),
            raws.len() as u64,
            "one GET per offer"
        );
        assert_eq!(running.control.count(LOGIN), 1, "one lazy login");
    }

    #[tokio::test]
    async fn sends_the_configured_base_currency_on_every_lookup_and_search_page() {
        let (running, data, seen) = start_recording().await;
        let ids: Vec<i64> = data.offers[..3].iter().map(|o| o.id).collect();
        let keys: Vec<OfferKey> = ids.iter().map(|id| key(*id)).collect();
        for (c, currency) in [
            (connector(&running, demo_credentials()), "USD"),
            (connector_in(&running, "EUR"), "EUR"),
        ] {
            seen.lock().unwrap().clear();
            let answers = c.fetch_offers(&CallContext::default(), &keys).await;
            assert!(answers.iter().all(|(_, l)| matches!(l, Ok(Some(_)))));
            c.list_offers(&CallContext::default(), &ListScope::All, 50, 100)
                .await
                .unwrap();
            c.catalog_page(
                &CallContext::default(),
                &CatalogFeed::Changes(ListScope::All),
                0,
                20,
            )
            .await
            .unwrap();
            let seen = seen.lock().unwrap().clone();
            let offers: Vec<&String> = seen
                .iter()
                .filter(|uri| uri.starts_with("/v1/catalog/offers"))
                .collect();
            assert_eq!(offers.len(), 3 + 2 + 1, "{seen:?}");
            let param = format!("base_currency={currency}");
            for uri in offers {
                let query = uri.split_once('?').map(|(_, q)| q).unwrap_or("");
                assert!(query.split('&').any(|p| p == param), "{uri}");
            }
        }
    }

    #[tokio::test]
    async fn a_configured_base_currency_gives_every_price_in_it_by_id_and_listed() {
        let (running, data) = start().await;
        let c = connector_in(&running, "EUR");
        let raws: Vec<wire::Offer> = ["USD", "EUR", "GBP", "JPY", "KWD", "CAD"]
            .iter()
            .map(|cur| offer_in(&data, cur))
            .collect();
        let keys: Vec<OfferKey> = raws.iter().map(|o| key(o.id)).collect();
        let answers = c.fetch_offers(&CallContext::default(), &keys).await;
        for raw in &raws {
            let (_, lookup) = answers.iter().find(|(k, _)| *k == key(raw.id)).unwrap();
            let offer = lookup.as_ref().unwrap().as_ref().unwrap();
            let currency = raw.skus[0].currency.as_deref().unwrap();
            let price = offer.common().price.clone().unwrap();
            assert_eq!(price.currency().code(), "EUR");
            assert_eq!(
                price.minor_units(),
                Some(in_cents_of(&data, raw.min_price, currency, "EUR")),
                "{currency}"
            );
            let Offer::Marketplace(m) = offer else {
                panic!("marketplace offer")
            };
            let crate::model::MarketplaceDetails::Violet(d) = &m.details else {
                panic!("Violet details")
            };
            for (sku, raw_sku) in d.skus.iter().zip(&raw.skus) {
                let sale = sku.sale_price.as_ref().unwrap();
                assert_eq!(sale.currency().code(), "EUR");
                assert_eq!(
                    sale.minor_units(),
                    Some(in_cents_of(
                        &data,
                        raw_sku.sale_price.unwrap(),
                        currency,
                        "EUR"
                    ))
                );
            }
        }
        // A listing prices each offer as its lookup does.
        let page = c
            .list_offers(&CallContext::default(), &ListScope::All, 0, 100)
            .await
            .unwrap();
        let listed: Vec<&Offer> = page.offers().collect();
        assert_eq!(listed.len(), 100);
        let keys: Vec<OfferKey> = listed.iter().map(|o| o.common().key.clone()).collect();
        let looked_up = c.fetch_offers(&CallContext::default(), &keys).await;
        for offer in listed {
            let (_, lookup) = looked_up
                .iter()
                .find(|(k, _)| *k == offer.common().key)
                .unwrap();
            let by_id = lookup.as_ref().unwrap().as_ref().unwrap();
            assert_eq!(offer.common().price, by_id.common().price);
            assert_eq!(
                offer.common().price.as_ref().map(|p| p.currency().code()),
                Some("EUR")
            );
        }
    }

    #[tokio::test]
    async fn duplicate_keys_are_fetched_once() {
        let (running, data) = start().await;
        let c = connector(&running, demo_credentials());
        let id = data.offers[10].id;
        let answers = c
            .fetch_offers(&CallContext::default(), &[key(id), key(id), key(id)])
            .await;
        assert_eq!(answers.len(), 1);
        assert_eq!(running.control.count(GET_OFFER), 1);
    }

    #[tokio::test]
    async fn unknown_and_impossible_ids_are_not_found() {
        let (running, data) = start().await;
        let c = connector(&running, demo_credentials());
        let missing = data.offers.last().unwrap().id + 1_000;
        let impossible = OfferKey::new(OfferKind::Marketplace, "not-a-number");
        let wrong_kind = OfferKey::new(OfferKind::Online, data.offers[0].id.to_string());
        let answers = c
            .fetch_offers(
                &CallContext::default(),
                &[key(missing), impossible, wrong_kind],
            )
            .await;
        assert_eq!(answers.len(), 3);
        for (k, lookup) in answers {
            assert!(matches!(lookup, Ok(None)), "{k:?}: {lookup:?}");
        }
        assert_eq!(
            running.control.count(GET_OFFER),
            1,
            "only the well-formed id is asked for"
        );
    }

    #[tokio::test]
    async fn wrong_app_secret_or_password_is_unauthorized() {
        let (running, data) = start().await;
        let id = data.offers[0].id;
        for credentials in [
            with_secret(demo_credentials(), "vsk_wrong", "violet-demo-password"),
            with_secret(
                demo_credentials(),
                "vsk_demo_4f9c2a7e81d34b6a9e0c5d7f3a2b1c8e",
                "wrong-password",
            ),
        ] {
            let c = connector(&running, credentials);
            let answers = c.fetch_offers(&CallContext::default(), &[key(id)]).await;
            let err = answers[0].1.clone().unwrap_err();
            assert!(matches!(err, UpstreamError::Unauthorized { .. }), "{err}");
            assert!(
                !err.to_string().contains("wrong"),
                "no secrets in details: {err}"
            );
            let listed = c
                .list_offers(&CallContext::default(), &ListScope::All, 0, 10)
                .await;
            assert!(matches!(listed, Err(UpstreamError::Unauthorized { .. })));
        }
        assert_eq!(running.control.count(GET_OFFER), 0);
    }

    #[tokio::test]
    async fn concurrent_first_calls_log_in_once() {
        let (running, data) = start().await;
        let c = connector(&running, demo_credentials());
        let keys: Vec<OfferKey> = data.offers[..10].iter().map(|o| key(o.id)).collect();
        let answers = c.fetch_offers(&CallContext::default(), &keys).await;
        assert!(answers.iter().all(|(_, l)| matches!(l, Ok(Some(_)))));
        assert_eq!(running.control.count(LOGIN), 1);
    }

    #[tokio::test]
    async fn expired_token_is_refreshed_once_and_the_call_retried() {
        let (running, data) = start().await;
        let c = connector(&running, demo_credentials());
        let ids: Vec<i64> = data.offers[..3].iter().map(|o| o.id).collect();
        assert!(matches!(
            c.fetch_offers(&CallContext::default(), &[key(ids[0])])
                .await[0]
                .1,
            Ok(Some(_))
        ));
        data.expire_tokens();

        let answers = c
            .fetch_offers(&CallContext::default(), &[key(ids[1])])
            .await;
        assert!(matches!(answers[0].1, Ok(Some(_))), "{:?}", answers[0].1);
        assert_eq!(running.control.count(REFRESH), 1);
        assert_eq!(
            running.control.count(GET_OFFER),
            3,
            "first call, expired call, retry"
        );

        // The new token is kept: no more refreshes or logins.
        assert!(matches!(
            c.fetch_offers(&CallContext::default(), &[key(ids[2])])
                .await[0]
                .1,
            Ok(Some(_))
        ));
        assert_eq!(running.control.count(REFRESH), 1);
        assert_eq!(running.control.count(LOGIN), 1);
        assert_eq!(running.control.count(GET_OFFER), 4);
    }

    #[tokio::test]
    async fn concurrent_lookups_after_expiry_share_one_refresh() {
        let (running, data) = start().await;
        let c = connector(&running, demo_credentials());
        assert!(matches!(
            c.fetch_offers(&CallContext::default(), &[key(data.offers[0].id)])
                .await[0]
                .1,
            Ok(Some(_))
        ));
        data.expire_tokens();
        let keys: Vec<OfferKey> = data.offers[1..11].iter().map(|o| key(o.id)).collect();
        let answers = c.fetch_offers(&CallContext::default(), &keys).await;
        assert_eq!(answers.len(), 10);
        assert!(
            answers.iter().all(|(_, l)| matches!(l, Ok(Some(_)))),
            "{answers:?}"
        );
        assert_eq!(running.control.count(REFRESH), 1);
        assert_eq!(running.control.count(LOGIN), 1);
    }

    #[tokio::test]
    async fn refused_refresh_falls_back_to_one_login() {
        let (running, data) = start().await;
        let c = connector(&running, demo_credentials());
        assert!(matches!(
            c.fetch_offers(&CallContext::default(), &[key(data.offers[0].id)])
                .await[0]
                .1,
            Ok(Some(_))
        ));
        data.expire_tokens();
        data.revoke_refresh_tokens();
        let keys: Vec<OfferKey> = data.offers[1..6].iter().map(|o| key(o.id)).collect();
        let answers = c.fetch_offers(&CallContext::default(), &keys).await;
        assert!(
            answers.iter().all(|(_, l)| matches!(l, Ok(Some(_)))),
            "{answers:?}"
        );
        assert_eq!(running.control.count(REFRESH), 1);
        assert_eq!(running.control.count(LOGIN), 2);
    }

    #[tokio::test]
    async fn unknown_token_is_unauthorized_and_the_next_call_logs_in_again() {
        let (running, data) = start().await;
        let c = connector(&running, demo_credentials());
        assert!(matches!(
            c.fetch_offers(&CallContext::default(), &[key(data.offers[0].id)])
                .await[0]
                .1,
            Ok(Some(_))
        ));
        data.forget_tokens();
        let answers = c
            .fetch_offers(&CallContext::default(), &[key(data.offers[1].id)])
            .await;
        assert!(
            matches!(
                answers[0].1,
                Err(UpstreamError::Unauthorized { status: 401, .. })
            ),
            "{:?}",
            answers[0].1
        );
        assert_eq!(
            running.control.count(REFRESH),
            0,
            "only an expired token is refreshed"
        );
        assert!(matches!(
            c.fetch_offers(&CallContext::default(), &[key(data.offers[1].id)])
                .await[0]
                .1,
            Ok(Some(_))
        ));
        assert_eq!(running.control.count(LOGIN), 2);
    }

    #[tokio::test]
    async fn lists_the_whole_catalog_to_the_end_with_its_total() {
        let (running, data) = start().await;
        let c = connector(&running, demo_credentials());
        let mut ids = Vec::new();
        let mut offset = 0;
        loop {
            let page = c
                .list_offers(&CallContext::default(), &ListScope::All, offset, 37)
                .await
                .unwrap();
            assert_eq!(page.total_count, data.offers.len() as u64);
            if page.items.is_empty() {
                break;
            }
            ids.extend(page.offers().map(|o| o.common().key.native_id.clone()));
            offset += page.items.len() as u64;
        }
        let want: Vec<String> = data.offers.iter().map(|o| o.id.to_string()).collect();
        assert_eq!(ids, want);
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
    }

    #[tokio::test]
    async fn listing_maps_prices_and_costs_at_most_two_calls() {
        let (running, data) = start().await;
        let c = connector(&running, demo_credentials());
        let page = c
            .list_offers(&CallContext::default(), &ListScope::All, 50, 100)
            .await
            .unwrap();
        assert_eq!(running.control.count(SEARCH), 2);
        assert_eq!(page.items.len(), 100);
        for (offer, raw) in page.offers().zip(&data.offers[50..150]) {
            assert_eq!(offer.common().key.native_id, raw.id.to_string());
            let Offer::Marketplace(m) = offer else {
                panic!("marketplace offer")
            };
            let crate::model::MarketplaceDetails::Violet(d) = &m.details else {
                panic!("Violet details")
            };
            let currency = raw.skus[0].currency.as_deref().unwrap();
            assert_eq!(d.min_price.currency().code(), "USD");
            assert_eq!(
                d.min_price.minor_units(),
                Some(in_us_cents(&data, raw.min_price, currency))
            );
            assert_eq!(
                offer.common().price,
                Some(crate::pricing::compare::listed_violet_price(
                    &d.skus,
                    &d.min_price
                ))
            );
            assert!(
                d.default_image_url.is_some(),
                "search answers carry the default image"
            );
        }
        running.control.reset_counts();
        let page = c
            .list_offers(&CallContext::default(), &ListScope::All, 5, 10)
            .await
            .unwrap();
        assert_eq!(running.control.count(SEARCH), 1);
        let got: Vec<String> = page
            .offers()
            .map(|o| o.common().key.native_id.clone())
            .collect();
        let want: Vec<String> = data.offers[5..15]
            .iter()
            .map(|o| o.id.to_string())
            .collect();
        assert_eq!(got, want);

        let end = c
            .list_offers(&CallContext::default(), &ListScope::All, 1_190, 50)
            .await
            .unwrap();
        assert_eq!(end.items.len(), 10);
        let past = c
            .list_offers(&CallContext::default(), &ListScope::All, 5_000, 20)
            .await
            .unwrap();
        assert!(past.items.is_empty());
        assert_eq!(past.total_count, 1_200);
        let far = c
            .list_offers(&CallContext::default(), &ListScope::All, u64::MAX, 100)
            .await
            .unwrap();
        assert!(far.items.is_empty());
        assert_eq!(far.total_count, 1_200);
        let none = c
            .list_offers(&CallContext::default(), &ListScope::All, 0, 0)
            .await
            .unwrap();
        assert!(none.items.is_empty());
        assert_eq!(none.total_count, 1_200);
    }

    #[tokio::test]
    async fn organization_listings_are_rejected() {
        let (running, _) = start().await;
        let c = connector(&running, demo_credentials());
        let err = c
            .list_offers(
                &CallContext::default(),
                &ListScope::Organization("x".into()),
                0,
                10,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, UpstreamError::Rejected { .. }));
        assert_eq!(running.control.total(), 0);
    }

    #[tokio::test]
    async fn other_credentials_see_only_their_connected_merchants() {
        let (running, data) = start().await;
        let demo = connector(&running, demo_credentials());
        let other = connector(&running, other_credentials());
        let jpy = offer_in(&data, "JPY");
        let usd = offer_in(&data, "USD");
        let keys = [key(jpy.id), key(usd.id)];
        let demo_answers = demo.fetch_offers(&CallContext::default(), &keys).await;
        let other_answers = other.fetch_offers(&CallContext::default(), &keys).await;
        let found = |answers: &[(OfferKey, Lookup)], id: i64| {
            answers
                .iter()
                .find(|(k, _)| *k == key(id))
                .map(|(_, l)| matches!(l, Ok(Some(_))))
                .unwrap()
        };
        assert!(found(&demo_answers, jpy.id) && found(&demo_answers, usd.id));
        assert!(!found(&other_answers, jpy.id) && found(&other_answers, usd.id));
        let visible_to_other = data
            .offers
            .iter()
            .filter(|o| data.apps[1].merchant_ids.contains(&o.merchant_id))
            .count() as u64;
        let page = other
            .list_offers(&CallContext::default(), &ListScope::All, 0, 5)
            .await
            .unwrap();
        assert_eq!(page.total_count, visible_to_other);
        assert!(visible_to_other < data.offers.len() as u64);
    }
}
