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
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::join_all;
use serde_json::value::RawValue;
use tokio::sync::{RwLock, Semaphore};

use crate::error::UpstreamError;
use crate::model::{Offer, OfferKey, OfferKind, UpstreamKind};
use crate::secret::Secret;
use crate::upstream::client::RawResponse;
use crate::upstream::{
    Connector, Credentials, HttpClient, InstanceSpec, ListScope, Lookup, MedusaAuth, OfferPage,
};

use super::{id, map, wire};

/// Largest `limit` the connector asks for in one list call.
pub const MAX_PAGE_SIZE: u32 = 100;

/// The relations every offer request asks for, on top of the default fields.
pub const OFFER_FIELDS: &str =
    "*seller,*product_variant,*shipping_profile,*prices,*inventory_items";

/// Longest upstream error message quoted in an error detail.
const MAX_DETAIL_CHARS: usize = 200;

/// Talks to one Medusa instance.
pub struct MedusaConnector {
    spec: InstanceSpec,
    http: HttpClient,
    permits: Semaphore,
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
        /// The current session token; the write lock is held while logging
        /// in, so concurrent callers wait for one login instead of each
        /// starting their own.
        token: RwLock<Option<Secret>>,
    },
    /// The credentials are not Medusa credentials.
    Misconfigured,
}

impl MedusaConnector {
    /// A connector for `spec` over the shared client.
    pub fn new(spec: InstanceSpec, http: HttpClient) -> Self {
        let auth = match &spec.credentials {
            Credentials::Medusa(MedusaAuth::Token(token)) => Auth::Static(token.clone()),
            Credentials::Medusa(MedusaAuth::EmailPassword { email, password }) => Auth::Login {
                email: email.clone(),
                password: password.clone(),
                token: RwLock::new(None),
            },
            _ => Auth::Misconfigured,
        };
        let permits = Semaphore::new(spec.settings.max_concurrency.max(1));
        MedusaConnector {
            spec,
            http,
            permits,
            auth,
        }
    }

    /// The token to send: the configured one, the cached one, or a fresh
    /// login's.
    async fn token(&self) -> Result<Secret, UpstreamError> {
        match &self.auth {
            Auth::Static(token) => Ok(token.clone()),
            Auth::Misconfigured => Err(misconfigured()),
            Auth::Login { token, .. } => {
                if let Some(current) = token.read().await.as_ref() {
                    return Ok(current.clone());
                }
                let mut slot = token.write().await;
                if let Some(current) = slot.as_ref() {
                    // Another caller logged in while this one waited.
                    return Ok(current.clone());
                }
                let fresh = self.login().await?;
                *slot = Some(fresh.clone());
                Ok(fresh)
            }
        }
    }

    /// A new token after `rejected` was refused, or `None` when the
    /// credentials cannot log in again (a configured token).
    async fn refresh(&self, rejected: &Secret) -> Result<Option<Secret>, UpstreamError> {
        let Auth::Login { token, .. } = &self.auth else {
            return Ok(None);
        };
        let mut slot = token.write().await;
        if let Some(current) = slot.as_ref() {
            if current != rejected {
                // Another caller already logged in again.
                return Ok(Some(current.clone()));
            }
        }
        *slot = None;
        let fresh = self.login().await?;
        *slot = Some(fresh.clone());
        Ok(Some(fresh))
    }

    /// `POST /auth/user/emailpass`. A refused login is `Unauthorized`.
    async fn login(&self) -> Result<Secret, UpstreamError> {
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
        let request = self
            .http
            .reqwest()
            .post(self.spec.url("/auth/user/emailpass"))
            .json(&body);
        let response = {
            let _permit = self
                .permits
                .acquire()
                .await
                .expect("the semaphore is never closed");
            self.http
                .send(request, self.spec.settings.request_timeout)
                .await?
        };
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
    async fn get(&self, url: url::Url) -> Result<RawResponse, UpstreamError> {
        let token = self.token().await?;
        let response = self.send_get(&url, &token).await?;
        if response.status.as_u16() != 401 {
            return Ok(response);
        }
        match self.refresh(&token).await? {
            Some(fresh) => self.send_get(&url, &fresh).await,
            None => Ok(response),
        }
    }

    async fn send_get(&self, url: &url::Url, token: &Secret) -> Result<RawResponse, UpstreamError> {
        let request = self
            .http
            .reqwest()
            .get(url.clone())
            .bearer_auth(token.expose());
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        self.http
            .send(request, self.spec.settings.request_timeout)
            .await
    }

    /// `GET /admin/offers` with `params` and the relation fields, decoded
    /// down to one raw JSON value per offer.
    async fn list_call(
        &self,
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
        let response = self.get(url).await?;
        check_status(&response)?;
        response.json()
    }

    /// One batch of distinct canonical ids: one list call.
    async fn fetch_batch(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, Result<Offer, UpstreamError>>, UpstreamError> {
        let limit = ids.len().to_string();
        let mut params: Vec<(&str, &str)> = ids.iter().map(|id| ("id[]", id.as_str())).collect();
        params.push(("limit", &limit));
        let answer = self.list_call(&params).await?;
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
        let id = serde_json::from_str::<wire::OfferId>(raw.get())
            .ok()
            .map(|o| id::canonical_offer_id(&o.id).unwrap_or(o.id));
        let offer = serde_json::from_str::<wire::Offer>(raw.get())
            .map_err(|err| {
                UpstreamError::BadResponse(format!(
                    "offer {} does not match the expected shape: {err}",
                    id.as_deref().unwrap_or("without an id")
                ))
            })
            .and_then(|offer| map::offer(&self.spec.name, offer));
        (id, offer)
    }
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
    fn name(&self) -> &Arc<str> {
        &self.spec.name
    }

    fn kind(&self) -> UpstreamKind {
        UpstreamKind::Medusa
    }

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

    async fn fetch_offers(&self, keys: &[OfferKey]) -> Vec<(OfferKey, Lookup)> {
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
        let results = join_all(batches.iter().map(|batch| self.fetch_batch(batch))).await;
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

    async fn list_offers(
        &self,
        scope: &ListScope,
        offset: u64,
        limit: u32,
    ) -> Result<OfferPage, UpstreamError> {
        if *scope != ListScope::All {
            return Err(UpstreamError::Rejected {
                status: 0,
                detail: "a Medusa upstream lists only all offers, not an organization's".into(),
            });
        }
        let mut offers = Vec::new();
        let mut total_count;
        loop {
            let wanted = (u64::from(limit) - offers.len() as u64).min(u64::from(MAX_PAGE_SIZE));
            let page_offset = (offset + offers.len() as u64).to_string();
            let page_limit = wanted.to_string();
            let answer = self
                .list_call(&[
                    ("offset", &page_offset),
                    ("limit", &page_limit),
                    ("order", "id"),
                ])
                .await?;
            total_count = answer.count;
            let received = answer.offers.len() as u64;
            for raw in answer.offers {
                offers.push(self.decode(&raw).1?);
            }
            // A server may serve fewer than asked per page: go on until the
            // limit, the end of the listing, or an empty page.
            let done = offers.len() as u64 >= u64::from(limit)
                || received == 0
                || offset + offers.len() as u64 >= total_count;
            if done {
                break;
            }
        }
        offers.truncate(limit as usize);
        Ok(OfferPage {
            offers,
            total_count,
        })
    }

    fn max_page_size(&self) -> u32 {
        MAX_PAGE_SIZE
    }
}
