//! The Medusa connector: calls a Mercur (Medusa v2) admin API.
//!
//! Lookups by id are batched into `GET /admin/offers?id[]=..` (one call per
//! `max_batch_size` ids, never the single-offer route); listings map
//! offset/limit straight onto the API's own `offset`/`limit`. Every call asks
//! for the relations explicitly through `fields`, so a server whose default
//! fields differ still sends the whole offer.
//!
//! Authentication: a configured token is sent as is; an email and password
//! are exchanged for a JWT at the first call, the token is cached, and a 401
//! triggers one new login and one retry. Logins are single-flight: callers
//! that need a token while one is being fetched wait for it.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use futures::future::join_all;
use serde_json::value::RawValue;
use tokio::sync::Mutex;

use crate::error::UpstreamError;
use crate::model::{Offer, OfferKey, OfferKind};
use crate::secret::Secret;
use crate::upstream::client::RawResponse;
use crate::upstream::resilience::Idempotent;
use crate::upstream::{
    Call, CatalogFeed, Connector, Credentials, InstanceSpec, ListScope, Lookup, OfferFilter,
    OfferPage,
};

use super::{id, map, wire};

/// Largest `limit` the connector asks for in one list call.
pub(crate) const MAX_PAGE_SIZE: u32 = 100;

/// The relations every offer request asks for, on top of the default fields.
pub(crate) const OFFER_FIELDS: &str =
    "*seller,*product_variant,*shipping_profile,*prices,*inventory_items";

/// Longest upstream error message quoted in an error detail.
const MAX_DETAIL_CHARS: usize = 200;

/// Talks to one Medusa instance.
pub(crate) struct MedusaConnector {
    spec: InstanceSpec,
    auth: Auth,
}

/// How requests are authenticated, and the cached session token.
enum Auth {
    /// A configured token, sent as is.
    Static(Secret),
    /// A login, exchanged for a token when needed.
    Login {
        email: String,
        password: Secret,
        session: Session,
    },
    /// The credentials are not Medusa credentials.
    Misconfigured,
}

/// The session token of a login, and the single-flight of logins.
#[derive(Default)]
struct Session {
    /// The current token; `None` before the first login, while logging in
    /// again, and after a failed login. Never held across an await.
    token: std::sync::RwLock<Option<Secret>>,
    /// Logins finished, to tell whether one finished while a caller waited.
    completed: AtomicU64,
    /// Held while logging in, so concurrent callers wait for one login
    /// instead of each starting their own. Holds the latest login failure,
    /// which the callers that waited for that login share.
    single_flight: Mutex<Option<UpstreamError>>,
}

impl Session {
    fn current(&self) -> Option<Secret> {
        self.token
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn set(&self, token: Option<Secret>) {
        *self
            .token
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = token;
    }
}

impl MedusaConnector {
    /// The connector of the instance `spec`.
    pub(crate) fn new(spec: &InstanceSpec) -> Self {
        let auth = match &spec.credentials {
            Credentials::Medusa(super::Credentials::Token(token)) => Auth::Static(token.clone()),
            Credentials::Medusa(super::Credentials::EmailPassword { email, password }) => {
                Auth::Login {
                    email: email.clone(),
                    password: password.clone(),
                    session: Session::default(),
                }
            }
            _ => Auth::Misconfigured,
        };
        MedusaConnector {
            spec: spec.clone(),
            auth,
        }
    }

    /// The token to send: the configured one, the cached one, or a fresh
    /// login's.
    async fn token(&self, call: &Call<'_>) -> Result<Secret, UpstreamError> {
        let session = match &self.auth {
            Auth::Static(token) => return Ok(token.clone()),
            Auth::Misconfigured => return Err(misconfigured()),
            Auth::Login { session, .. } => session,
        };
        if let Some(token) = session.current() {
            return Ok(token);
        }
        let seen = session.completed.load(Ordering::SeqCst);
        let mut failure = session.single_flight.lock().await;
        if let Some(token) = session.current() {
            return Ok(token);
        }
        if session.completed.load(Ordering::SeqCst) != seen {
            if let Some(failure) = failure.as_ref() {
                // The login this caller waited for failed: share its failure.
                return Err(failure.clone());
            }
        }
        self.log_in(call, session, &mut failure).await
    }

    /// A new token after `rejected` was refused, or `None` when the
    /// credentials cannot log in again (a configured token).
    async fn refresh(
        &self,
        call: &Call<'_>,
        rejected: &Secret,
    ) -> Result<Option<Secret>, UpstreamError> {
        let Auth::Login { session, .. } = &self.auth else {
            return Ok(None);
        };
        let mut failure = session.single_flight.lock().await;
        match session.current() {
            // Another caller already logged in again.
            Some(token) if token != *rejected => return Ok(Some(token)),
            // Another caller tried to log in again since `rejected` was
            // issued, and failed.
            None => {
                if let Some(failure) = failure.as_ref() {
                    return Err(failure.clone());
                }
            }
            Some(_) => {}
        }
        self.log_in(call, session, &mut failure).await.map(Some)
    }

    /// Logs in, holding the single-flight lock, and records the outcome.
    async fn log_in(
        &self,
        call: &Call<'_>,
        session: &Session,
        failure: &mut Option<UpstreamError>,
    ) -> Result<Secret, UpstreamError> {
        // Callers arriving meanwhile wait for this login instead of sending
        // a token about to be replaced.
        session.set(None);
        let outcome = self.login(call).await;
        match &outcome {
            Ok(token) => {
                session.set(Some(token.clone()));
                *failure = None;
            }
            Err(err) => {
                tracing::warn!(upstream = %self.spec.name, cause = %err, "medusa login failed");
                *failure = Some(err.clone());
            }
        }
        session.completed.fetch_add(1, Ordering::SeqCst);
        outcome
    }

    /// `POST /auth/user/emailpass`. A refused login is `Unauthorized`.
    async fn login(&self, call: &Call<'_>) -> Result<Secret, UpstreamError> {
        let Auth::Login {
            email, password, ..
        } = &self.auth
        else {
            return Err(misconfigured());
        };
        let body = wire::EmailPassLogin {
            email: email.clone(),
            password: password.expose().to_owned(),
        };
        let request = call
            .reqwest()
            .post(self.spec.url("/auth/user/emailpass"))
            .json(&body);
        // Logging in has no side effect worth guarding: it may be retried.
        let response = call.send(request, Idempotent::Yes).await?;
        tracing::debug!(upstream = %self.spec.name, status = response.status.as_u16(), "medusa login");
        if let Some(failure) = response.common_failure() {
            return Err(failure);
        }
        if !response.status.is_success() {
            return Err(UpstreamError::Unauthorized {
                status: response.status.as_u16(),
                detail: format!("login refused: {}", error_detail(&response)),
            });
        }
        let answer: wire::AuthToken = response.json()?;
        if answer.token.is_empty() {
            return Err(UpstreamError::BadResponse(
                "login answered an empty token".into(),
            ));
        }
        Ok(Secret::new(answer.token))
    }

    /// Sends an authenticated GET, logging in again once on a 401.
    async fn get(&self, call: &Call<'_>, url: url::Url) -> Result<RawResponse, UpstreamError> {
        // A client's own token (pass-through mode) is sent as is, never renewed.
        if let Some(token) = call.credential() {
            return send_get(call, &url, token).await;
        }
        let token = self.token(call).await?;
        let response = send_get(call, &url, &token).await?;
        if response.status.as_u16() != 401 {
            return Ok(response);
        }
        match self.refresh(call, &token).await? {
            Some(fresh) => send_get(call, &url, &fresh).await,
            None => Ok(response),
        }
    }

    /// `GET /admin/offers` with `params` and the relation fields, decoded
    /// down to one raw JSON value per offer.
    async fn list_call(
        &self,
        call: &Call<'_>,
        params: &[(&str, &str)],
    ) -> Result<wire::OfferListResponse<Box<RawValue>>, UpstreamError> {
        let mut url = self.spec.url("/admin/offers");
        {
            let mut query = url.query_pairs_mut();
            for (key, value) in params {
                query.append_pair(key, value);
            }
            query.append_pair("fields", OFFER_FIELDS);
        }
        let response = self.get(call, url).await?;
        check_status(&response)?;
        response.json()
    }

    /// One batch of distinct canonical ids: one list call.
    async fn fetch_batch(
        &self,
        call: &Call<'_>,
        ids: &[String],
    ) -> Result<HashMap<String, Result<Offer, UpstreamError>>, UpstreamError> {
        let limit = ids.len().to_string();
        let mut params: Vec<(&str, &str)> = ids.iter().map(|id| ("id[]", id.as_str())).collect();
        params.push(("limit", &limit));
        let answer = self.list_call(call, &params).await?;
        let mut found = HashMap::new();
        for raw in answer.offers {
            let (id, offer) = self.decode(&raw);
            if let Some(id) = id {
                found.insert(id, offer);
            }
        }
        Ok(found)
    }

    /// Decodes and maps one offer of a list; the id (canonical when it
    /// can be) says which offer failed.
    fn decode(&self, raw: &RawValue) -> (Option<String>, Result<Offer, UpstreamError>) {
        map::read_offer(&self.spec.name, raw.get())
    }
}

/// One GET with the bearer `token`.
async fn send_get(
    call: &Call<'_>,
    url: &url::Url,
    token: &Secret,
) -> Result<RawResponse, UpstreamError> {
    let request = call.reqwest().get(url.clone()).bearer_auth(token.expose());
    call.send(request, Idempotent::Yes).await
}

fn misconfigured() -> UpstreamError {
    UpstreamError::Unauthorized {
        status: 0,
        detail: "the instance is configured without Medusa credentials".into(),
    }
}

/// Maps a non-2xx answer of an admin route to its error.
fn check_status(response: &RawResponse) -> Result<(), UpstreamError> {
    if let Some(failure) = response.common_failure() {
        return Err(failure);
    }
    let status = response.status.as_u16();
    match status {
        200..=299 => Ok(()),
        401 | 403 => Err(UpstreamError::Unauthorized {
            status,
            detail: error_detail(response),
        }),
        400 | 422 => Err(UpstreamError::Rejected {
            status,
            detail: error_detail(response),
        }),
        _ => Err(UpstreamError::BadResponse(format!(
            "unexpected HTTP {status}: {}",
            error_detail(response)
        ))),
    }
}

/// `type: message` of a Medusa error body, shortened; never the whole body.
fn error_detail(response: &RawResponse) -> String {
    match serde_json::from_slice::<wire::ErrorBody>(&response.body) {
        Ok(body) => {
            let message: String = body
                .message
                .unwrap_or_default()
                .chars()
                .take(MAX_DETAIL_CHARS)
                .collect();
            match body.kind {
                Some(kind) => format!("{}: {message}", kind.as_str()),
                None => message,
            }
        }
        Err(_) => format!(
            "HTTP {} without a Medusa error body",
            response.status.as_u16()
        ),
    }
}

#[async_trait]
impl Connector for MedusaConnector {
    fn offer_kinds(&self) -> &'static [OfferKind] {
        &[OfferKind::Marketplace]
    }

    fn canonical_id(&self, kind: OfferKind, raw: &str) -> Result<String, String> {
        if kind != OfferKind::Marketplace {
            return Err(format!(
                "a Medusa upstream serves only MarketplaceOffer ids, not {}",
                kind.type_name()
            ));
        }
        id::canonical_offer_id(raw)
    }

    async fn fetch_offers(&self, call: &Call<'_>, keys: &[OfferKey]) -> Vec<(OfferKey, Lookup)> {
        // Distinct keys, each with its canonical id when it has one.
        let mut keys_by_id: BTreeMap<String, Vec<OfferKey>> = BTreeMap::new();
        let mut answers: Vec<(OfferKey, Lookup)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for key in keys {
            if !seen.insert(key.clone()) {
                continue;
            }
            match self.canonical_id(key.kind, &key.native_id) {
                Ok(id) => keys_by_id.entry(id).or_default().push(key.clone()),
                // Not an offer id of this upstream: it cannot exist here.
                Err(_) => answers.push((key.clone(), Ok(None))),
            }
        }
        let ids: Vec<String> = keys_by_id.keys().cloned().collect();
        let batch_size = self.spec.settings.max_batch_size.max(1);
        let batches = ids.chunks(batch_size).collect::<Vec<_>>();
        let results = join_all(batches.iter().map(|batch| self.fetch_batch(call, batch))).await;
        for (batch, result) in batches.into_iter().zip(results) {
            match result {
                Ok(mut found) => {
                    for id in batch {
                        let lookup = found.remove(id).transpose();
                        for key in keys_by_id.remove(id).unwrap_or_default() {
                            answers.push((key, lookup.clone()));
                        }
                    }
                }
                Err(err) => {
                    tracing::debug!(upstream = %self.spec.name, ids = batch.len(), cause = %err, "medusa batch failed");
                    for id in batch {
                        for key in keys_by_id.remove(id).unwrap_or_default() {
                            answers.push((key, Err(err.clone())));
                        }
                    }
                }
            }
        }
        answers
    }

    /// Medusa's list endpoint filters on all four, exactly.
    fn check_filter(&self, filter: &OfferFilter) -> Result<(), String> {
        let _ = filter;
        Ok(())
    }

    async fn list_offers(
        &self,
        call: &Call<'_>,
        scope: &ListScope,
        offset: u64,
        limit: u32,
    ) -> Result<OfferPage, UpstreamError> {
        self.list_ordered(call, scope, "id", offset, limit).await
    }

    /// Newest changes first: `order=-updated_at`.
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
        self.list_ordered(call, scope, "-updated_at", offset, limit)
            .await
    }

    fn max_page_size(&self) -> u32 {
        MAX_PAGE_SIZE
    }

    fn multi_get(&self) -> bool {
        true
    }
}

/// Listings in a given order.
impl MedusaConnector {
    /// Reads `limit` offers of `scope` from `offset`, in `order` (the
    /// list endpoint's `order`: `id`, `-updated_at`, ...).
    async fn list_ordered(
        &self,
        call: &Call<'_>,
        scope: &ListScope,
        order: &str,
        offset: u64,
        limit: u32,
    ) -> Result<OfferPage, UpstreamError> {
        let filter = match scope {
            ListScope::All => OfferFilter::default(),
            ListScope::Matching(filter) => filter.clone(),
            ListScope::Organization(_) => {
                return Err(UpstreamError::Rejected {
                    status: 0,
                    detail: "a Medusa upstream lists only all offers, not an organization's".into(),
                })
            }
        };
        // The list endpoint's exact-match filters (an empty value would
        // match only empty fields: never sent).
        let filters: Vec<(&str, &str)> = [
            ("seller_id", &filter.seller_id),
            ("sku", &filter.sku),
            ("ean", &filter.ean),
            ("upc", &filter.upc),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.as_deref().map(|v| (key, v)))
        .collect();
        let mut items = Vec::new();
        let mut total_count;
        loop {
            let wanted = (u64::from(limit) - items.len() as u64).min(u64::from(MAX_PAGE_SIZE));
            let page_offset = offset.saturating_add(items.len() as u64).to_string();
            let page_limit = wanted.to_string();
            let mut params = vec![
                ("offset", page_offset.as_str()),
                ("limit", page_limit.as_str()),
                ("order", order),
            ];
            params.extend(filters.iter().copied());
            let answer = self.list_call(call, &params).await?;
            total_count = answer.count;
            let received = answer.offers.len() as u64;
            for raw in answer.offers {
                let (id, item) = self.decode(&raw);
                if let Err(err) = &item {
                    tracing::debug!(upstream = %self.spec.name, offer_id = ?id, cause = %err, "unreadable listing item");
                }
                items.push(item);
            }
            // A server may serve fewer than asked per page: go on until the
            // limit, the end of the listing, or an empty page.
            let done = items.len() as u64 >= u64::from(limit)
                || received == 0
                || offset.saturating_add(items.len() as u64) >= total_count;
            if done {
                break;
            }
        }
        items.truncate(limit as usize);
        Ok(OfferPage { items, total_count })
    }
}

#[cfg(all(test, feature = "sim"))]
mod tests {
    use std::collections::HashSet;

    use axum::routing::get;
    use axum::{Json, Router};
    use rust_decimal::Decimal;
    use serde_json::json;

    use super::*;
    use crate::model::{MarketplaceDetails, OfferCommon};
    use crate::pricing;
    use crate::sim::catalog::Catalog;
    use crate::sim::{serve, RunningSim};
    use crate::upstream::client::DEFAULT_CONNECT_TIMEOUT;
    use crate::upstream::medusa;
    use crate::upstream::medusa::sim::{self, SimData};
    use crate::upstream::medusa::wire::ErrorType;
    use crate::upstream::{CallContext, HttpClient, Instance, InstanceSettings};
    use std::sync::Arc;

    const LIST: &str = "GET /admin/offers";
    const RETRIEVE: &str = "GET /admin/offers/{id}";
    const LOGIN: &str = "POST /auth/user/emailpass";

    struct Fixture {
        data: Arc<SimData>,
        sim: RunningSim,
    }

    impl Fixture {
        async fn start() -> Self {
            let data = Arc::new(SimData::generate(&Catalog::demo()));
            let sim = serve(sim::router(data.clone()))
                .await
                .expect("simulator binds");
            Fixture { data, sim }
        }

        fn connector_with(&self, credentials: Credentials, settings: InstanceSettings) -> Instance {
            connector(&self.sim, credentials, settings)
        }

        fn connector(&self) -> Instance {
            self.connector_with(sim::demo_credentials(), InstanceSettings::default())
        }
    }

    fn connector(
        sim: &RunningSim,
        credentials: Credentials,
        settings: InstanceSettings,
    ) -> Instance {
        let spec = InstanceSpec {
            name: Arc::from("mercur"),
            base_url: sim.base_url.clone(),
            credentials,
            settings,
        };
        Instance::new(spec, HttpClient::new(DEFAULT_CONNECT_TIMEOUT))
    }

    fn key(id: &str) -> OfferKey {
        OfferKey::new(OfferKind::Marketplace, id)
    }

    fn by_key(answers: Vec<(OfferKey, Lookup)>) -> HashMap<OfferKey, Lookup> {
        let count = answers.len();
        let map: HashMap<_, _> = answers.into_iter().collect();
        assert_eq!(map.len(), count, "one answer per distinct key");
        map
    }

    fn found(lookup: &Lookup) -> &Offer {
        match lookup {
            Ok(Some(offer)) => offer,
            other => panic!("expected an offer, got {other:?}"),
        }
    }

    fn medusa_details(offer: &Offer) -> &crate::model::MedusaOfferDetails {
        match offer {
            Offer::Marketplace(m) => match &m.details {
                MarketplaceDetails::Medusa(d) => d,
                other => panic!("not Medusa details: {other:?}"),
            },
            other => panic!("not a marketplace offer: {other:?}"),
        }
    }

    fn settings(max_batch_size: usize) -> InstanceSettings {
        InstanceSettings {
            max_batch_size,
            ..InstanceSettings::default()
        }
    }

    #[tokio::test]
    async fn a_style_without_promotions_answers_none_per_distinct_key_without_a_call() {
        let fixture = Fixture::start().await;
        let id = fixture.data.offers[0].id.clone();
        let keys = [key(&id), key(&id), key("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y")];
        let answers = fixture
            .connector()
            .fetch_promotions(&CallContext::default(), &keys)
            .await;
        assert_eq!(answers.len(), 2);
        for (_, promotions) in answers {
            assert!(matches!(promotions, Ok(list) if list.is_empty()));
        }
        assert_eq!(fixture.sim.control.total(), 0);
    }

    #[test]
    fn canonical_id_accepts_offer_ulids_in_any_case_and_explains_bad_ones() {
        let spec = InstanceSpec {
            name: Arc::from("mercur"),
            base_url: "http://127.0.0.1:9".parse().expect("url"),
            credentials: sim::demo_credentials(),
            settings: InstanceSettings::default(),
        };
        let c = Instance::new(spec, HttpClient::new(DEFAULT_CONNECT_TIMEOUT));
        assert_eq!(
            c.canonical_id(OfferKind::Marketplace, "offer_01hxyz8q2m4n6p8r0t2v4w6x8y"),
            Ok("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y".to_owned())
        );
        for bad in [
            "42",
            "offer_",
            "offer_01HXYZ",
            "prod_01HXYZ8Q2M4N6P8R0T2V4W6X8Y",
            "offer_01HXYZ8Q2M4N6P8R0T2V4W6X8!",
        ] {
            let err = c.canonical_id(OfferKind::Marketplace, bad).expect_err(bad);
            assert!(
                err.contains("`offer_` followed by a 26-character ULID"),
                "{err}"
            );
        }
        let err = c
            .canonical_id(OfferKind::Online, "offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y")
            .expect_err("online ids are not Medusa ids");
        assert!(err.contains("MarketplaceOffer"), "{err}");
        assert_eq!(c.offer_kinds(), &[OfferKind::Marketplace]);
        assert_eq!(c.max_page_size(), 100);
    }

    #[tokio::test]
    async fn fetches_offers_with_the_simulators_prices_in_major_units() {
        let f = Fixture::start().await;
        let c = f.connector();
        // One offer of each interesting kind: JPY, KWD, tiers, rules, none, zero.
        let picks: Vec<&wire::Offer> = [
            f.data
                .offers
                .iter()
                .find(|o| o.prices.iter().any(|p| p.currency_code == "jpy")),
            f.data
                .offers
                .iter()
                .find(|o| o.prices.iter().any(|p| p.currency_code == "kwd")),
            f.data.offers.iter().find(|o| o.prices.len() >= 3),
            f.data
                .offers
                .iter()
                .find(|o| o.prices.iter().any(|p| p.price_rules != Some(json!([])))),
            f.data.offers.iter().find(|o| o.prices.is_empty()),
            f.data
                .offers
                .iter()
                .find(|o| o.prices.iter().any(|p| p.amount.as_str() == "0")),
            f.data
                .offers
                .iter()
                .find(|o| o.metadata.is_some() && o.sku.as_deref() == Some("")),
        ]
        .into_iter()
        .map(|o| o.expect("the simulator has this kind of offer"))
        .fold(Vec::new(), |mut picks: Vec<&wire::Offer>, o| {
            if !picks.iter().any(|p| p.id == o.id) {
                picks.push(o);
            }
            picks
        });
        let keys: Vec<OfferKey> = picks.iter().map(|o| key(&o.id)).collect();
        let answers = by_key(c.fetch_offers(&CallContext::default(), &keys).await);
        assert_eq!(answers.len(), picks.len());
        for raw in picks {
            let offer = found(&answers[&key(&raw.id)]);
            // The whole offer crossed the wire intact.
            let expected =
                map::offer(&Arc::from("mercur"), raw.clone()).expect("simulator data maps");
            assert_eq!(offer, &expected);
            let details = medusa_details(offer);
            assert_eq!(details.prices.len(), raw.prices.len());
            for (mapped, wire) in details.prices.iter().zip(&raw.prices) {
                // Major units: the JSON number is the amount, not cents.
                let amount = Decimal::from_str_exact(wire.amount.as_str()).expect("plain decimal");
                assert_eq!(mapped.price.amount(), amount, "{}", wire.id);
                assert_eq!(
                    mapped.price.currency().code(),
                    wire.currency_code.to_uppercase()
                );
            }
            let common: &OfferCommon = offer.common();
            let unit = raw
                .prices
                .iter()
                .filter(|p| p.price_rules == Some(json!([])) && p.min_quantity.unwrap_or(0) <= 1)
                // The narrowest tier; the first one among equals.
                .min_by_key(|p| std::cmp::Reverse(p.min_quantity.unwrap_or(0)))
                .map(|p| pricing::from_medusa(&p.amount, &p.currency_code).expect("valid"));
            assert_eq!(common.price, unit, "{}", raw.id);
            assert_eq!(
                crate::pricing::availability::availability(offer, 1).is_buyable(),
                unit.is_some()
            );
            assert_eq!(
                common.product_id,
                raw.product_id.clone().unwrap_or_default()
            );
        }
        assert_eq!(f.sim.control.count(LIST), 1);
        assert_eq!(f.sim.control.count(RETRIEVE), 0);
    }

    #[tokio::test]
    async fn unknown_malformed_and_foreign_keys_are_not_found() {
        let f = Fixture::start().await;
        let c = f.connector();
        let known = f.data.offers[3].id.clone();
        let keys = vec![
            key(&known),
            key(&known.to_lowercase()),
            key(&known),
            key("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y"),
            key("not-an-offer-id"),
            OfferKey::new(OfferKind::Online, known.clone()),
        ];
        let answers = by_key(c.fetch_offers(&CallContext::default(), &keys).await);
        assert_eq!(answers.len(), 5);
        assert_eq!(found(&answers[&key(&known)]).common().key, key(&known));
        assert_eq!(
            found(&answers[&key(&known.to_lowercase())]).common().key,
            key(&known)
        );
        assert!(matches!(
            answers[&key("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y")],
            Ok(None)
        ));
        assert!(matches!(answers[&key("not-an-offer-id")], Ok(None)));
        assert!(matches!(
            answers[&OfferKey::new(OfferKind::Online, known)],
            Ok(None)
        ));
        assert_eq!(f.sim.control.count(LIST), 1);
        assert!(c
            .fetch_offers(&CallContext::default(), &[])
            .await
            .is_empty());
        assert_eq!(f.sim.control.count(LIST), 1);
    }

    #[tokio::test]
    async fn batches_250_lookups_into_three_list_calls() {
        let f = Fixture::start().await;
        let c = f.connector_with(sim::demo_credentials(), settings(100));
        let keys: Vec<OfferKey> = f
            .data
            .offers
            .iter()
            .rev()
            .take(250)
            .map(|o| key(&o.id))
            .collect();
        let answers = by_key(c.fetch_offers(&CallContext::default(), &keys).await);
        assert_eq!(answers.len(), 250);
        assert!(answers.values().all(|lookup| matches!(lookup, Ok(Some(_)))));
        assert_eq!(f.sim.control.count(LIST), 3);
        assert_eq!(f.sim.control.count(RETRIEVE), 0);
        assert_eq!(f.sim.control.count(LOGIN), 1);
    }

    #[tokio::test]
    async fn n_lookups_cost_ceil_n_over_batch_size_calls() {
        let f = Fixture::start().await;
        for (n, batch) in [(1, 100), (7, 3), (10, 5), (11, 5), (40, 40)] {
            f.sim.control.reset_counts();
            let c = f.connector_with(sim::demo_credentials(), settings(batch));
            let keys: Vec<OfferKey> = f.data.offers.iter().take(n).map(|o| key(&o.id)).collect();
            let answers = c.fetch_offers(&CallContext::default(), &keys).await;
            assert_eq!(answers.len(), n);
            assert_eq!(
                f.sim.control.count(LIST) as usize,
                n.div_ceil(batch),
                "{n} ids in batches of {batch}"
            );
            assert_eq!(f.sim.control.count(RETRIEVE), 0);
        }
    }

    #[tokio::test]
    async fn logs_in_once_for_many_concurrent_calls() {
        let f = Fixture::start().await;
        let c = f.connector();
        let calls = f.data.offers.iter().take(20).map(|o| {
            let keys = vec![key(&o.id)];
            let c = &c;
            async move { c.fetch_offers(&CallContext::default(), &keys).await }
        });
        let answers = join_all(calls).await;
        assert!(answers
            .iter()
            .flatten()
            .all(|(_, lookup)| matches!(lookup, Ok(Some(_)))));
        c.list_offers(&CallContext::default(), &ListScope::All, 0, 5)
            .await
            .expect("list");
        assert_eq!(f.sim.control.count(LOGIN), 1);
        assert_eq!(f.sim.control.count(LIST), 21);
        assert_eq!(f.data.session_count(), 1);
    }

    #[tokio::test]
    async fn a_revoked_token_triggers_one_login_and_one_retry() {
        let f = Fixture::start().await;
        let c = f.connector();
        let first = vec![key(&f.data.offers[0].id)];
        assert!(matches!(
            &c.fetch_offers(&CallContext::default(), &first).await[0].1,
            Ok(Some(_))
        ));
        assert_eq!(
            (f.sim.control.count(LOGIN), f.sim.control.count(LIST)),
            (1, 1)
        );

        f.data.revoke_tokens();
        assert!(matches!(
            &c.fetch_offers(&CallContext::default(), &first).await[0].1,
            Ok(Some(_))
        ));
        // One refused call, one login, one retry.
        assert_eq!(
            (f.sim.control.count(LOGIN), f.sim.control.count(LIST)),
            (2, 3)
        );

        // Many callers hit the revoked token at once: still a single login.
        f.data.revoke_tokens();
        let calls = f.data.offers.iter().take(10).map(|o| {
            let keys = vec![key(&o.id)];
            let c = &c;
            async move { c.fetch_offers(&CallContext::default(), &keys).await }
        });
        let answers = join_all(calls).await;
        assert!(answers
            .iter()
            .flatten()
            .all(|(_, lookup)| matches!(lookup, Ok(Some(_)))));
        assert_eq!(f.sim.control.count(LOGIN), 3);
        assert_eq!(f.sim.control.count(LIST), 3 + 20);
        assert_eq!(f.data.session_count(), 1);
    }

    #[tokio::test]
    async fn wrong_password_is_unauthorized_for_every_key() {
        let f = Fixture::start().await;
        let c = f.connector_with(
            Credentials::Medusa(medusa::Credentials::EmailPassword {
                email: sim::DEMO_EMAIL.to_owned(),
                password: Secret::new("not the password"),
            }),
            InstanceSettings::default(),
        );
        let keys: Vec<OfferKey> = f.data.offers.iter().take(3).map(|o| key(&o.id)).collect();
        for (_, lookup) in c.fetch_offers(&CallContext::default(), &keys).await {
            match lookup {
                Err(UpstreamError::Unauthorized {
                    status: 401,
                    detail,
                }) => {
                    assert!(!detail.contains("not the password"), "{detail}");
                    assert!(detail.contains("Invalid email or password"), "{detail}");
                }
                other => panic!("expected Unauthorized, got {other:?}"),
            }
        }
        assert_eq!(f.sim.control.count(LOGIN), 1);
        assert!(matches!(
            c.list_offers(&CallContext::default(), &ListScope::All, 0, 10)
                .await,
            Err(UpstreamError::Unauthorized { status: 401, .. })
        ));
        // A failed login is not remembered: the next call tries again.
        assert_eq!(f.sim.control.count(LOGIN), 2);
        // Callers waiting for a failing login share its failure.
        let calls = keys.iter().map(|k| {
            let keys = vec![k.clone()];
            let c = &c;
            async move { c.fetch_offers(&CallContext::default(), &keys).await }
        });
        for answer in join_all(calls).await {
            assert!(matches!(
                answer[0].1,
                Err(UpstreamError::Unauthorized { .. })
            ));
        }
        assert_eq!(f.sim.control.count(LOGIN), 3);
        assert_eq!(f.sim.control.count(LIST), 0);
    }

    #[tokio::test]
    async fn configured_tokens_are_sent_as_is_and_never_refreshed() {
        let f = Fixture::start().await;
        let good = f.connector_with(
            Credentials::Medusa(medusa::Credentials::Token(Secret::new(
                sim::STATIC_ADMIN_TOKEN,
            ))),
            InstanceSettings::default(),
        );
        let keys = vec![key(&f.data.offers[1].id)];
        assert!(matches!(
            &good.fetch_offers(&CallContext::default(), &keys).await[0].1,
            Ok(Some(_))
        ));
        let bad = f.connector_with(
            Credentials::Medusa(medusa::Credentials::Token(Secret::new("expired.jwt.token"))),
            InstanceSettings::default(),
        );
        assert!(matches!(
            &bad.fetch_offers(&CallContext::default(), &keys).await[0].1,
            Err(UpstreamError::Unauthorized { status: 401, .. })
        ));
        assert_eq!(f.sim.control.count(LOGIN), 0);
        assert_eq!(f.sim.control.count(LIST), 2);
    }

    #[tokio::test]
    async fn a_failed_batch_gives_its_error_to_every_key_of_that_batch() {
        let f = Fixture::start().await;
        let c = f.connector_with(sim::demo_credentials(), settings(2));
        let mut ids: Vec<String> = f.data.offers.iter().take(4).map(|o| o.id.clone()).collect();
        ids.sort();
        // Log in first so the injected failure hits a batch.
        c.fetch_offers(&CallContext::default(), &[key(&ids[0])])
            .await;
        f.data.fail_next(1, ErrorType::UnknownError);
        let keys: Vec<OfferKey> = ids.iter().map(|id| key(id)).collect();
        let answers = by_key(c.fetch_offers(&CallContext::default(), &keys).await);
        let failed: HashSet<&str> = answers
            .iter()
            .filter(|(_, lookup)| matches!(lookup, Err(UpstreamError::Server { status: 500 })))
            .map(|(k, _)| k.native_id.as_str())
            .collect();
        let batches: Vec<HashSet<&str>> = ids
            .chunks(2)
            .map(|b| b.iter().map(String::as_str).collect())
            .collect();
        assert!(
            batches.contains(&failed),
            "failed keys {failed:?} are one batch of {batches:?}"
        );
        assert_eq!(
            answers
                .values()
                .filter(|l| matches!(l, Ok(Some(_))))
                .count(),
            2
        );
    }

    #[tokio::test]
    async fn upstream_refusals_map_to_rejected_and_unauthorized() {
        let f = Fixture::start().await;
        let c = f.connector();
        c.list_offers(&CallContext::default(), &ListScope::All, 0, 1)
            .await
            .expect("list");
        f.data.fail_next(1, ErrorType::InvalidData);
        assert!(matches!(
            c.list_offers(&CallContext::default(), &ListScope::All, 0, 1)
                .await,
            Err(UpstreamError::Rejected { status: 400, .. })
        ));
        f.data.fail_next(1, ErrorType::Forbidden);
        assert!(matches!(
            c.list_offers(&CallContext::default(), &ListScope::All, 0, 1)
                .await,
            Err(UpstreamError::Unauthorized { status: 403, .. })
        ));
        f.data.fail_next(1, ErrorType::Conflict);
        assert!(matches!(
            c.list_offers(&CallContext::default(), &ListScope::All, 0, 1)
                .await,
            Err(UpstreamError::BadResponse(_))
        ));
        // A 403 is not an expired token: no new login.
        assert_eq!(f.sim.control.count(LOGIN), 1);
    }

    #[tokio::test]
    async fn lists_every_offer_page_by_page_with_the_total() {
        let f = Fixture::start().await;
        let c = f.connector();
        let total = f.data.offers.len() as u64;
        let mut listed = Vec::new();
        let mut offset = 0;
        loop {
            let page = c
                .list_offers(&CallContext::default(), &ListScope::All, offset, 100)
                .await
                .expect("page");
            assert_eq!(page.total_count, total);
            if page.items.is_empty() {
                break;
            }
            offset += page.items.len() as u64;
            listed.extend(page.offers().map(|o| o.common().key.native_id.clone()));
        }
        let mut expected: Vec<String> = f.data.offers.iter().map(|o| o.id.clone()).collect();
        expected.sort();
        assert_eq!(listed, expected);
        assert_eq!(f.sim.control.count(LIST), total.div_ceil(100) + 1);
    }

    #[tokio::test]
    async fn lists_from_an_unaligned_offset_beyond_one_page() {
        let f = Fixture::start().await;
        let c = f.connector();
        let page = c
            .list_offers(&CallContext::default(), &ListScope::All, 37, 250)
            .await
            .expect("page");
        let ids: Vec<&str> = page
            .offers()
            .map(|o| o.common().key.native_id.as_str())
            .collect();
        let expected: Vec<&str> = f.data.offers[37..287]
            .iter()
            .map(|o| o.id.as_str())
            .collect();
        assert_eq!(ids, expected);
        assert_eq!(f.sim.control.count(LIST), 3);
        let tail = c
            .list_offers(
                &CallContext::default(),
                &ListScope::All,
                f.data.offers.len() as u64 - 3,
                100,
            )
            .await
            .expect("tail");
        assert_eq!(tail.items.len(), 3);
        let empty = c
            .list_offers(&CallContext::default(), &ListScope::All, 0, 0)
            .await
            .expect("empty");
        assert_eq!(
            (empty.items.len(), empty.total_count),
            (0, f.data.offers.len() as u64)
        );
    }

    #[tokio::test]
    async fn organization_listings_are_rejected() {
        let f = Fixture::start().await;
        let c = f.connector();
        assert!(matches!(
            c.list_offers(
                &CallContext::default(),
                &ListScope::Organization("org".into()),
                0,
                10
            )
            .await,
            Err(UpstreamError::Rejected { .. })
        ));
        assert_eq!(f.sim.control.total(), 0);
    }

    #[tokio::test]
    async fn the_other_credentials_log_in_as_another_admin() {
        let f = Fixture::start().await;
        let demo = f.connector();
        let other = f.connector_with(sim::other_credentials(), InstanceSettings::default());
        assert_ne!(
            sim::demo_credentials().fingerprint(),
            sim::other_credentials().fingerprint()
        );
        let keys = vec![key(&f.data.offers[2].id)];
        assert!(matches!(
            &demo.fetch_offers(&CallContext::default(), &keys).await[0].1,
            Ok(Some(_))
        ));
        assert!(matches!(
            &other.fetch_offers(&CallContext::default(), &keys).await[0].1,
            Ok(Some(_))
        ));
        assert_eq!(f.sim.control.count(LOGIN), 2);
        assert_eq!(f.data.session_count(), 2);
    }

    #[tokio::test]
    async fn a_bad_offer_in_a_batch_fails_only_that_key() {
        let good = serde_json::to_value(SimData::generate(&Catalog::demo()).offers[0].clone())
            .expect("offer");
        let good_id = good["id"].as_str().expect("id").to_owned();
        let mut bad_price = good.clone();
        bad_price["id"] = json!("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y");
        bad_price["prices"] = json!([{"id": "price_x", "amount": 5, "currency_code": "zzz"}]);
        let mut bad_shape = good.clone();
        bad_shape["id"] = json!("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Z");
        bad_shape["prices"] = json!([{"id": "price_y", "amount": "5.00", "currency_code": "usd"}]);
        let body =
            json!({"offers": [good, bad_price, bad_shape], "count": 3, "offset": 0, "limit": 3});
        let router = Router::new().route("/admin/offers", get(move || async move { Json(body) }));
        let running = serve(router).await.expect("binds");
        let c = connector(
            &running,
            Credentials::Medusa(medusa::Credentials::Token(Secret::new("t"))),
            InstanceSettings::default(),
        );
        let answers = by_key(
            c.fetch_offers(
                &CallContext::default(),
                &[
                    key(&good_id),
                    key("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y"),
                    key("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Z"),
                ],
            )
            .await,
        );
        assert!(matches!(answers[&key(&good_id)], Ok(Some(_))));
        for bad in [
            "offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y",
            "offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Z",
        ] {
            assert!(
                matches!(&answers[&key(bad)], Err(UpstreamError::BadResponse(d)) if d.contains(bad)),
                "{bad}: {:?}",
                answers[&key(bad)]
            );
        }
        // In a listing, each broken offer fails only its own item.
        let page = c
            .list_offers(&CallContext::default(), &ListScope::All, 0, 3)
            .await
            .expect("the page");
        assert_eq!((page.items.len(), page.total_count), (3, 3));
        assert_eq!(
            page.offers()
                .map(|o| o.common().key.native_id.clone())
                .collect::<Vec<_>>(),
            [good_id]
        );
        assert!(matches!(&page.items[1], Err(UpstreamError::BadResponse(d)) if d.contains("8Y")));
        assert!(matches!(&page.items[2], Err(UpstreamError::BadResponse(d)) if d.contains("8Z")));
    }

    #[tokio::test]
    async fn a_body_that_is_not_medusa_is_a_bad_response() {
        let router = Router::new().route("/admin/offers", get(|| async { "<html>proxy</html>" }));
        let running = serve(router).await.expect("binds");
        let c = connector(
            &running,
            Credentials::Medusa(medusa::Credentials::Token(Secret::new("t"))),
            InstanceSettings::default(),
        );
        let answers = c
            .fetch_offers(
                &CallContext::default(),
                &[key("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y")],
            )
            .await;
        assert!(matches!(answers[0].1, Err(UpstreamError::BadResponse(_))));
    }

    #[tokio::test]
    async fn requests_ask_for_the_relations_and_encode_array_ids() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        let router = Router::new().route(
            "/admin/offers",
            get(
                move |axum::extract::RawQuery(query): axum::extract::RawQuery| {
                    let record = record.clone();
                    async move {
                        record.lock().expect("lock").push(query.unwrap_or_default());
                        Json(json!({"offers": [], "count": 0, "offset": 0, "limit": 2}))
                    }
                },
            ),
        );
        let running = serve(router).await.expect("binds");
        let c = connector(
            &running,
            Credentials::Medusa(medusa::Credentials::Token(Secret::new("t"))),
            InstanceSettings::default(),
        );
        c.fetch_offers(
            &CallContext::default(),
            &[
                key("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y"),
                key("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Z"),
            ],
        )
        .await;
        let queries = seen.lock().expect("lock").clone();
        assert_eq!(
            queries,
            [concat!(
                "id%5B%5D=offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y&id%5B%5D=offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Z&limit=2",
                "&fields=*seller%2C*product_variant%2C*shipping_profile%2C*prices%2C*inventory_items"
            )]
        );
    }
}
