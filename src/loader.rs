//! Batched, cached and coalesced lookups: what the gateway does in front of
//! each upstream instance.
//!
//! Every `node`, `offer` and `offers` resolution goes through one
//! async-graphql [`DataLoader`] per instance, built once with the schema and
//! shared by all requests: keys asked for in the same tick (list items,
//! aliases, concurrent requests) form one batch. A batch then goes through
//! the instance's [`UpstreamStore`]:
//!
//! 1. keys answered by the [`AnswerCache`] cost nothing;
//! 2. keys another batch is already fetching wait for that fetch
//!    (concurrent misses for one key make one upstream call);
//! 3. the remaining keys go to [`Connector::fetch_offers`] in one call,
//!    which makes one multi-get where the style has one (Medusa) and
//!    bounded concurrent single calls where it does not (Closient, Violet).
//!
//! Found offers and "not found" answers are cached; errors never are.
//! Listings fill the by-id cache with the offers they carry, so asking for
//! the details of listed offers costs no further call.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use async_graphql::dataloader::{DataLoader, Loader};
use futures::future::{join_all, BoxFuture, FutureExt, Shared};

use crate::cache::{AnswerCache, CacheKey, Cached, Question};
use crate::error::UpstreamError;
use crate::model::{Offer, OfferKey};
use crate::upstream::{Connector, ListScope, OfferPage, Upstreams};

/// The answer for one key: the offer, or the upstream failure. A key that
/// is absent from an answer map was not found.
pub type Loaded = Result<Offer, UpstreamError>;

type BatchAnswers = Arc<HashMap<OfferKey, Loaded>>;
type SharedBatch = Shared<BoxFuture<'static, BatchAnswers>>;

/// The cache, the in-flight table and the connector of one upstream instance.
pub struct UpstreamStore {
    connector: Arc<dyn Connector>,
    credential: u64,
    cache: Option<AnswerCache>,
    in_flight: Mutex<HashMap<OfferKey, SharedBatch>>,
}

impl UpstreamStore {
    /// A store over `connector`, caching as the instance's settings say.
    pub fn new(connector: Arc<dyn Connector>) -> Self {
        let settings = connector.settings().cache.clone();
        UpstreamStore {
            credential: connector.credential_fingerprint(),
            cache: settings.enabled.then(|| AnswerCache::new(&settings)),
            connector,
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// The instance's connector.
    pub fn connector(&self) -> &Arc<dyn Connector> {
        &self.connector
    }

    /// The instance's cache, when caching is on.
    pub fn cache(&self) -> Option<&AnswerCache> {
        self.cache.as_ref()
    }

    fn cache_key(&self, question: Question) -> CacheKey {
        CacheKey {
            upstream: self.connector.name().clone(),
            credential: self.credential,
            question,
        }
    }

    fn remember(&self, key: &OfferKey, value: Cached) {
        if let Some(cache) = &self.cache {
            cache.insert(self.cache_key(Question::Offer(key.clone())), value);
        }
    }

    /// Looks `keys` up: from the cache, from fetches already in flight, and
    /// with one connector call for the rest.
    pub async fn load_many(self: &Arc<Self>, keys: &[OfferKey]) -> HashMap<OfferKey, Loaded> {
        let mut answers = HashMap::new();
        let mut waiting: Vec<(OfferKey, SharedBatch)> = Vec::new();
        {
            let mut in_flight = self.in_flight.lock().expect("in-flight lock poisoned");
            let mut owned = Vec::new();
            let mut seen = HashSet::new();
            for key in keys {
                if !seen.insert(key) {
                    continue;
                }
                let cached = self
                    .cache
                    .as_ref()
                    .and_then(|cache| cache.get(&self.cache_key(Question::Offer(key.clone()))));
                match cached {
                    Some(Cached::Found(offer)) => {
                        answers.insert(key.clone(), Ok(offer));
                    }
                    Some(Cached::NotFound) | Some(Cached::Page(_)) => {}
                    None => match in_flight.get(key) {
                        Some(batch) => waiting.push((key.clone(), batch.clone())),
                        None => owned.push(key.clone()),
                    },
                }
            }
            if !owned.is_empty() {
                let batch = self.clone().fetch(owned.clone()).boxed().shared();
                for key in owned {
                    in_flight.insert(key.clone(), batch.clone());
                    waiting.push((key, batch.clone()));
                }
            }
        }
        if waiting.is_empty() {
            return answers;
        }
        let mut batches: Vec<SharedBatch> = Vec::new();
        for (_, batch) in &waiting {
            if !batches.iter().any(|b| b.ptr_eq(batch)) {
                batches.push(batch.clone());
            }
        }
        join_all(batches).await;
        for (key, batch) in waiting {
            let done = batch.await;
            if let Some(loaded) = done.get(&key) {
                answers.insert(key, loaded.clone());
            }
        }
        answers
    }

    /// One connector call for `keys`; fills the cache, then leaves the
    /// in-flight table (later lookups find the cache).
    async fn fetch(self: Arc<Self>, keys: Vec<OfferKey>) -> BatchAnswers {
        tracing::debug!(upstream = %self.connector.name(), keys = keys.len(), "fetching offers");
        let lookups = self.connector.fetch_offers(&keys).await;
        let mut answers = HashMap::with_capacity(lookups.len());
        for (key, lookup) in lookups {
            match lookup {
                Ok(Some(offer)) => {
                    self.remember(&key, Cached::Found(offer.clone()));
                    answers.insert(key, Ok(offer));
                }
                Ok(None) => self.remember(&key, Cached::NotFound),
                Err(err) => {
                    answers.insert(key, Err(err));
                }
            }
        }
        let mut in_flight = self.in_flight.lock().expect("in-flight lock poisoned");
        for key in &keys {
            in_flight.remove(key);
        }
        Arc::new(answers)
    }

    /// One window of a listing, from the cache or the upstream. The offers
    /// of a fetched window also fill the by-id cache.
    pub async fn list(
        &self,
        scope: ListScope,
        offset: u64,
        limit: u32,
    ) -> Result<Arc<OfferPage>, UpstreamError> {
        let key = self.cache_key(Question::Page {
            scope: scope.clone(),
            offset,
            limit,
        });
        if let Some(Cached::Page(page)) = self.cache.as_ref().and_then(|c| c.get(&key)) {
            return Ok(page);
        }
        let page = Arc::new(self.connector.list_offers(&scope, offset, limit).await?);
        if let Some(cache) = &self.cache {
            for offer in &page.offers {
                self.remember(&offer.common().key, Cached::Found(offer.clone()));
            }
            cache.insert(key, Cached::Page(page.clone()));
        }
        Ok(page)
    }
}

/// The DataLoader's view of an [`UpstreamStore`].
pub struct OfferLoader {
    store: Arc<UpstreamStore>,
}

impl Loader<OfferKey> for OfferLoader {
    type Value = Loaded;
    type Error = Infallible;

    async fn load(&self, keys: &[OfferKey]) -> Result<HashMap<OfferKey, Loaded>, Infallible> {
        Ok(self.store.load_many(keys).await)
    }
}

/// The stores and loaders of all upstream instances, by instance name.
pub struct Loaders {
    by_upstream: HashMap<Arc<str>, (Arc<UpstreamStore>, DataLoader<OfferLoader>)>,
}

impl Loaders {
    /// One store and one loader per configured instance.
    pub fn new(upstreams: &Upstreams) -> Self {
        let by_upstream = upstreams
            .iter()
            .map(|connector| {
                let store = Arc::new(UpstreamStore::new(connector.clone()));
                let loader = DataLoader::new(
                    OfferLoader {
                        store: store.clone(),
                    },
                    tokio::spawn,
                );
                (connector.name().clone(), (store, loader))
            })
            .collect();
        Loaders { by_upstream }
    }

    /// The store of the instance `upstream`.
    pub fn store(&self, upstream: &str) -> Option<&Arc<UpstreamStore>> {
        self.by_upstream.get(upstream).map(|(store, _)| store)
    }

    /// Loads one offer of the instance `upstream`: `Ok(None)` when the
    /// upstream does not have it.
    pub async fn load(
        &self,
        upstream: &str,
        key: OfferKey,
    ) -> Result<Option<Offer>, UpstreamError> {
        let Some((_, loader)) = self.by_upstream.get(upstream) else {
            return Ok(None);
        };
        match loader.load_one(key).await {
            Ok(Some(Ok(offer))) => Ok(Some(offer)),
            Ok(Some(Err(err))) => Err(err),
            Ok(None) => Ok(None),
            Err(never) => match never {},
        }
    }
}
