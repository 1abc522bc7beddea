//! Batched, cached and coalesced lookups: what the gateway does in front of
//! each upstream instance.
//!
//! Every `node`, `offer` and `offers` resolution of an instance with a
//! multi-get (Medusa) goes through one async-graphql [`DataLoader`] per
//! instance, built once with the schema and shared by all requests: keys
//! asked for in the same tick (list items, aliases, concurrent requests)
//! form one batch. An instance without one (Closient, Violet) makes one
//! call per key whatever the batch, so its lookups go to the store
//! directly, from the resolver's task. Either way a lookup then goes
//! through the instance's [`UpstreamStore`]:
//!
//! 1. keys answered by the [`AnswerCache`] cost nothing;
//! 2. keys another batch is already fetching wait for that fetch
//!    (concurrent misses for one key make one upstream call);
//! 3. the remaining keys go to [`Instance::fetch_offers`] in one call,
//!    which makes one multi-get where the style has one (Medusa) and
//!    bounded concurrent single calls where it does not (Closient, Violet).
//!
//! Found offers and "not found" answers are cached; errors never are. When
//! an upstream fails and the cache still holds an expired answer within the
//! stale-if-error grace, that answer is served instead, marked with its age.
//! Listings fill the by-id cache with the offers they carry, so asking for
//! the details of listed offers costs no further call. A listing window
//! with an item that could not be read is not cached as a window (errors
//! never are): its readable offers still fill the by-id cache, and the next
//! request for the window asks the upstream again.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use async_graphql::dataloader::{DataLoader, Loader};
use futures::future::{join_all, BoxFuture, FutureExt, Shared};
use sha2::Digest as _;

use crate::cache::{AnswerCache, CacheKey, Cached, Hit, Question};
use crate::catalog::Catalog;
use crate::error::UpstreamError;
use crate::freshness::{self, Uncacheable};
use crate::metrics::Metrics;
use crate::model::{Offer, OfferKey, Promotion};
use crate::request::RequestContext;
use crate::secret::Secret;
use crate::shared::codec::{self, SharedAnswer};
use crate::upstream::{
    CallContext, CatalogEntry, Instance, ListScope, Lookup, OfferPage, Upstreams,
};

/// An offer as loaded: fresh, or served stale because the upstream failed.
#[derive(Clone, Debug)]
pub(crate) struct Fetched {
    /// The offer.
    pub offer: Offer,
    /// `Some(age)` when the upstream failed and this is a cached answer
    /// past its TTL.
    pub stale_age: Option<Duration>,
    /// Until when the cache holds it as fresh; `None` when it is not kept
    /// (caching is off, or it is stale).
    pub fresh_until: Option<Instant>,
}

impl Fetched {
    fn fresh(offer: Offer, fresh_until: Option<Instant>) -> Self {
        Fetched {
            offer,
            stale_age: None,
            fresh_until,
        }
    }
}

/// The answer for one key: the offer, or the upstream failure. A key that
/// is absent from an answer map was not found.
pub(crate) type Loaded = Result<Fetched, UpstreamError>;

type BatchAnswers = Arc<HashMap<OfferKey, Loaded>>;

/// The promotions of one offer with until when they are fresh (`None`:
/// not kept), or why they could not be read.
type FreshPromotions = Result<(Arc<Vec<Promotion>>, Option<Instant>), UpstreamError>;
/// A fetch in flight, shared by every lookup waiting for one of its keys:
/// it answers each key it fetched.
type InFlight<V> = Shared<BoxFuture<'static, Arc<HashMap<OfferKey, V>>>>;
type SharedBatch = InFlight<Loaded>;
type SharedPromotions = InFlight<FreshPromotions>;

/// The cache and the in-flight table of one upstream instance.
pub(crate) struct UpstreamStore {
    instance: Arc<Instance>,
    credential: u64,
    /// A client's own credential (pass-through mode), used instead of the
    /// configured one.
    client_credential: Option<Secret>,
    cache: Option<Arc<AnswerCache>>,
    in_flight: Mutex<HashMap<OfferKey, SharedBatch>>,
    /// Promotions being fetched, by offer.
    promotions_in_flight: Mutex<HashMap<OfferKey, SharedPromotions>>,
    metrics: Option<Arc<Metrics>>,
    /// The last request that asked for a lookup: batched calls are made on
    /// its behalf (see [`crate::request`]).
    requester: Mutex<Option<RequestContext>>,
    /// The catalog index, told what by-id lookups with the configured
    /// credential find and do not find (never a client's own credential).
    catalog: Option<Catalog>,
    /// The shared tier, asked before the upstream for offers this
    /// replica's cache misses, and told what the upstream answered.
    shared: Option<Arc<crate::shared::Shared>>,
}

impl UpstreamStore {
    /// A store over `instance`, caching as the instance's settings say and
    /// recording its cache lookups in `metrics` when given.
    pub(crate) fn new(
        instance: Arc<Instance>,
        metrics: Option<Arc<Metrics>>,
        catalog: Option<Catalog>,
        epochs: Arc<freshness::Epochs>,
        shared: Option<Arc<crate::shared::Shared>>,
    ) -> Self {
        let settings = instance.settings().cache.clone();
        UpstreamStore {
            catalog,
            // The shared tier is a second level of the cache: off with it.
            shared: shared.filter(|_| settings.enabled),
            credential: instance.credential_fingerprint(),
            client_credential: None,
            cache: settings
                .enabled
                .then(|| Arc::new(AnswerCache::new(&settings, epochs))),
            instance,
            in_flight: Mutex::new(HashMap::new()),
            promotions_in_flight: Mutex::new(HashMap::new()),
            metrics,
            requester: Mutex::new(None),
        }
    }

    /// A store for the same instance calling with a client's own
    /// `credential`: it shares the instance's cache, where its answers are
    /// keyed by that credential, so they are never served to another.
    pub(crate) fn for_client(&self, credential: Secret) -> Self {
        UpstreamStore {
            instance: self.instance.clone(),
            credential: credential.fingerprint(),
            client_credential: Some(credential),
            cache: self.cache.clone(),
            in_flight: Mutex::new(HashMap::new()),
            promotions_in_flight: Mutex::new(HashMap::new()),
            metrics: self.metrics.clone(),
            requester: Mutex::new(None),
            catalog: None,
            shared: self.shared.clone(),
        }
    }

    /// What an upstream call of this store is made with: the request it
    /// is made for, and the client's own credential when this store has one.
    fn call_context(&self, request: Option<RequestContext>) -> CallContext {
        CallContext {
            request,
            credential: self.client_credential.clone(),
        }
    }

    /// The instance's instance.
    pub(crate) fn instance(&self) -> &Arc<Instance> {
        &self.instance
    }

    /// The instance's cache, when caching is on.
    pub(crate) fn cache(&self) -> Option<&AnswerCache> {
        self.cache.as_deref()
    }

    fn cache_key(&self, question: Question) -> CacheKey {
        CacheKey {
            upstream: self.instance.name().clone(),
            credential: self.credential,
            question,
        }
    }

    /// Caches `value` for `key`; until when it is fresh (`None` when
    /// caching is off).
    fn remember(&self, key: &OfferKey, value: Cached) -> Option<Instant> {
        let cache = self.cache.as_ref()?;
        Some(cache.insert(self.cache_key(Question::Offer(key.clone())), value))
    }

    /// The fresh cached answer for `key`, if the cache has one: the offer,
    /// or `Some(None)` when it is known not to exist. Counted as a cache hit;
    /// a miss is counted by the batch that fetches it.
    fn cached(&self, key: &OfferKey) -> Option<Option<Fetched>> {
        let cache = self.cache.as_ref()?;
        let (value, until) = cache.get(&self.cache_key(Question::Offer(key.clone())))?;
        let answer = match value {
            Cached::Found(offer) => Some(Fetched::fresh(offer, Some(until))),
            Cached::NotFound => None,
            Cached::Page(_) | Cached::Promotions(_) => return None,
        };
        if let Some(metrics) = &self.metrics {
            metrics.cache_lookups(self.instance.name(), 1, 0);
        }
        freshness::fresh_until(Some(until));
        Some(answer)
    }

    /// Looks `keys` up: from the cache, from fetches already in flight, and
    /// with one instance call for the rest.
    pub(crate) async fn load_many(
        self: &Arc<Self>,
        keys: &[OfferKey],
    ) -> HashMap<OfferKey, Loaded> {
        let mut answers = HashMap::new();
        let mut waiting: Vec<(OfferKey, SharedBatch)> = Vec::new();
        {
            let mut in_flight = self.in_flight.lock().expect("in-flight lock poisoned");
            let mut owned = Vec::new();
            let mut seen = HashSet::new();
            let mut hits = 0u64;
            for key in keys {
                if !seen.insert(key) {
                    continue;
                }
                let cached = self
                    .cache
                    .as_ref()
                    .and_then(|cache| cache.get(&self.cache_key(Question::Offer(key.clone()))));
                hits += u64::from(cached.is_some());
                match cached {
                    Some((Cached::Found(offer), until)) => {
                        answers.insert(key.clone(), Ok(Fetched::fresh(offer, Some(until))));
                    }
                    Some((Cached::NotFound | Cached::Page(_) | Cached::Promotions(_), _)) => {}
                    None => match in_flight.get(key) {
                        Some(batch) => waiting.push((key.clone(), batch.clone())),
                        None => owned.push(key.clone()),
                    },
                }
            }
            if let (Some(metrics), Some(_)) = (&self.metrics, &self.cache) {
                metrics.cache_lookups(self.instance.name(), hits, seen.len() as u64 - hits);
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
        answers.extend(await_batches(waiting).await);
        answers
    }

    /// One instance call for `keys`; fills the cache, then leaves the
    /// in-flight table (later lookups find the cache).
    async fn fetch(self: Arc<Self>, keys: Vec<OfferKey>) -> BatchAnswers {
        tracing::debug!(upstream = %self.instance.name(), keys = keys.len(), "fetching offers");
        let requester = self
            .requester
            .lock()
            .expect("requester lock poisoned")
            .clone();
        let context = self.call_context(requester);
        let (mut answers, from_shared, to_fetch) = self.ask_shared(&keys).await;
        let fetched = match to_fetch.is_empty() {
            true => Vec::new(),
            false => self.instance.fetch_offers(&context, &to_fetch).await,
        };
        self.tell_shared(&fetched).await;
        // Answers from the shared tier are cached here already.
        let from_shared_keys: HashSet<OfferKey> =
            from_shared.iter().map(|(key, _)| key.clone()).collect();
        let lookups: Vec<(OfferKey, Lookup)> = from_shared.into_iter().chain(fetched).collect();
        if let Some(catalog) = &self.catalog {
            let mut found = Vec::new();
            let mut gone = Vec::new();
            for (key, lookup) in &lookups {
                match lookup {
                    Ok(Some(offer)) => found.push(CatalogEntry {
                        key: key.clone(),
                        ..CatalogEntry::of(offer)
                    }),
                    Ok(None) => gone.push(key.clone()),
                    Err(_) => {}
                }
            }
            // Off the request's path: the answer does not wait for the
            // index. Nothing to write (the usual case for an offer fetched
            // before): no task either.
            if !catalog.lookups_unchanged(self.instance.name(), &found, &gone) {
                let (catalog, name) = (catalog.clone(), self.instance.name().clone());
                tokio::spawn(async move { catalog.record_lookups(&name, found, gone).await });
            }
        }
        for (key, lookup) in lookups {
            if from_shared_keys.contains(&key) {
                continue;
            }
            match lookup {
                Ok(Some(offer)) => {
                    let until = self.remember(&key, Cached::Found(offer.clone()));
                    answers.insert(key, Ok(Fetched::fresh(offer, until)));
                }
                Ok(None) => {
                    self.remember(&key, Cached::NotFound);
                }
                Err(err) => {
                    let answer = match self.stale(Question::Offer(key.clone()), &err) {
                        Some((Cached::Found(offer), age)) => Ok(Fetched {
                            offer,
                            stale_age: Some(age),
                            fresh_until: None,
                        }),
                        _ => Err(err),
                    };
                    answers.insert(key, answer);
                }
            }
        }
        let mut in_flight = self.in_flight.lock().expect("in-flight lock poisoned");
        for key in &keys {
            in_flight.remove(key);
        }
        Arc::new(answers)
    }

    /// The redis key of `what` (`offer`, `promotions`) of the offer `key`
    /// in the shared tier: the same parts as this replica's cache key
    /// (instance, credential fingerprint, kind, id), and the encoding's
    /// version.
    fn shared_key(&self, shared: &crate::shared::Shared, what: &str, key: &OfferKey) -> String {
        shared.key(&format!(
            "{what}:v{}:{}:{:016x}:{}:{}",
            codec::VERSION,
            self.instance.name(),
            self.credential,
            key.kind.type_name(),
            key.native_id
        ))
    }

    /// What the shared tier holds as `what` for each of `keys` (one round
    /// trip, counted under `op`), decoded, with how long ago it was
    /// fetched: `None` for a key it does not hold, or holds in another
    /// version (fetched again, and overwritten); `None` as a whole when it
    /// cannot answer.
    async fn shared_values(
        &self,
        op: &'static str,
        what: &str,
        keys: &[OfferKey],
    ) -> Option<Vec<Option<(SharedAnswer, Duration)>>> {
        let shared = self.shared.as_ref()?;
        let names: Vec<String> = keys
            .iter()
            .map(|key| self.shared_key(shared, what, key))
            .collect();
        let values = shared.get_many(op, &names).await?;
        let now = SystemTime::now();
        Some(
            values
                .into_iter()
                .map(|value| match codec::decode(&value?) {
                    Ok((answer, fetched_at)) => {
                        Some((answer, now.duration_since(fetched_at).unwrap_or(Duration::ZERO)))
                    }
                    Err(err) => {
                        tracing::debug!(upstream = %self.instance.name(), %err, "shared value not read");
                        None
                    }
                })
                .collect(),
        )
    }

    /// Tells the shared tier `entries` (a key, its answer as `what`, and
    /// for how long), fetched just now, in one round trip counted under
    /// `op`.
    async fn write_shared(
        &self,
        op: &'static str,
        what: &str,
        entries: Vec<(&OfferKey, SharedAnswer, Duration)>,
    ) {
        let Some(shared) = &self.shared else {
            return;
        };
        let now = SystemTime::now();
        let entries = entries
            .into_iter()
            .map(|(key, answer, ttl)| {
                (
                    self.shared_key(shared, what, key),
                    codec::encode(&answer, now),
                    ttl,
                )
            })
            .collect();
        shared.set_many(op, entries).await;
    }

    /// Looks `keys` up in the shared tier (one round trip): the answers it
    /// holds, still fresh, cached here for what is left of their TTL;
    /// returns them as answers (found offers) and as lookups (for the
    /// catalog index), and the keys still to fetch. Without a shared tier,
    /// or when it cannot answer, every key is still to fetch.
    async fn ask_shared(
        &self,
        keys: &[OfferKey],
    ) -> (
        HashMap<OfferKey, Loaded>,
        Vec<(OfferKey, Lookup)>,
        Vec<OfferKey>,
    ) {
        let mut answers = HashMap::with_capacity(keys.len());
        // (No shared tier without a cache: see `new`.)
        let values = self.shared_values("offer_get", "offer", keys).await;
        let (Some(cache), Some(values)) = (&self.cache, values) else {
            return (answers, Vec::new(), keys.to_vec());
        };
        let mut lookups = Vec::new();
        let mut to_fetch = Vec::new();
        for (key, value) in keys.iter().zip(values) {
            let (value, age) = match value {
                Some((SharedAnswer::Found(offer), age)) => (Cached::Found(offer), age),
                Some((SharedAnswer::NotFound, age)) => (Cached::NotFound, age),
                // Absent, or not an offer's value: fetched again.
                _ => {
                    to_fetch.push(key.clone());
                    continue;
                }
            };
            if age >= cache.fresh_for(&value) {
                to_fetch.push(key.clone());
                continue;
            }
            let until = cache.insert_aged(
                self.cache_key(Question::Offer(key.clone())),
                value.clone(),
                age,
            );
            match value {
                Cached::Found(offer) => {
                    answers.insert(key.clone(), Ok(Fetched::fresh(offer.clone(), Some(until))));
                    lookups.push((key.clone(), Ok(Some(offer))));
                }
                _ => lookups.push((key.clone(), Ok(None))),
            }
        }
        (answers, lookups, to_fetch)
    }

    /// Tells the shared tier what the upstream answered (offers found and
    /// not found, never errors), each for its TTL, in one round trip.
    async fn tell_shared(&self, lookups: &[(OfferKey, Lookup)]) {
        let (Some(_), Some(cache)) = (&self.shared, &self.cache) else {
            return;
        };
        let entries = lookups
            .iter()
            .filter_map(|(key, lookup)| match lookup {
                Ok(Some(offer)) => Some((
                    key,
                    SharedAnswer::Found(offer.clone()),
                    cache.fresh_for(&Cached::Found(offer.clone())),
                )),
                Ok(None) => Some((
                    key,
                    SharedAnswer::NotFound,
                    cache.fresh_for(&Cached::NotFound),
                )),
                Err(_) => None,
            })
            .collect();
        self.write_shared("offer_set", "offer", entries).await;
    }

    /// The fresh cached promotions of `key`, if the cache has them, with
    /// until when they are fresh.
    fn cached_promotions(&self, key: &OfferKey) -> Option<(Arc<Vec<Promotion>>, Instant)> {
        let question = Question::Promotions(key.clone());
        match self.cache.as_ref()?.get(&self.cache_key(question))? {
            (Cached::Promotions(list), until) => Some((list, until)),
            _ => None,
        }
    }

    /// The promotions of `keys` (every one the upstream publishes), from
    /// the cache, from fetches already in flight, or with one instance
    /// call for the rest; an answer past its TTL is served when the
    /// upstream fails, like offers.
    pub(crate) async fn promotions(
        self: &Arc<Self>,
        keys: &[OfferKey],
    ) -> HashMap<OfferKey, FreshPromotions> {
        let mut answers = HashMap::new();
        let mut waiting: Vec<(OfferKey, SharedPromotions)> = Vec::new();
        {
            // Under the lock, so that a fetch finishing meanwhile (it fills
            // the cache, then leaves the table) is seen in one or the other.
            let mut in_flight = self
                .promotions_in_flight
                .lock()
                .expect("in-flight lock poisoned");
            let mut owned = Vec::new();
            let mut seen = HashSet::new();
            for key in keys {
                if !seen.insert(key) {
                    continue;
                }
                if let Some((list, until)) = self.cached_promotions(key) {
                    answers.insert(key.clone(), Ok((list, Some(until))));
                    continue;
                }
                match in_flight.get(key) {
                    Some(batch) => waiting.push((key.clone(), batch.clone())),
                    None => owned.push(key.clone()),
                }
            }
            if !owned.is_empty() {
                let batch = self
                    .clone()
                    .fetch_promotions(owned.clone())
                    .boxed()
                    .shared();
                for key in owned {
                    in_flight.insert(key.clone(), batch.clone());
                    waiting.push((key, batch.clone()));
                }
            }
        }
        answers.extend(await_batches(waiting).await);
        answers
    }

    /// One instance call for the promotions of `keys`; fills the cache,
    /// then leaves the in-flight table.
    async fn fetch_promotions(
        self: Arc<Self>,
        keys: Vec<OfferKey>,
    ) -> Arc<HashMap<OfferKey, FreshPromotions>> {
        // Batched calls are made on behalf of the last request that asked
        // (the loader's task has no request of its own), as for offers.
        let requester = self
            .requester
            .lock()
            .expect("requester lock poisoned")
            .clone()
            .or_else(RequestContext::current);
        let context = self.call_context(requester);
        let (mut answers, to_fetch) = self.promotions_from_shared(&keys).await;
        let fetched = match to_fetch.is_empty() {
            true => Vec::new(),
            false => self.instance.fetch_promotions(&context, &to_fetch).await,
        };
        self.tell_shared_promotions(&fetched).await;
        for (key, fetched) in fetched {
            let answer = match fetched {
                Ok(list) => {
                    let list = Arc::new(list);
                    let until = self.cache.as_ref().map(|cache| {
                        let question = Question::Promotions(key.clone());
                        cache.insert(self.cache_key(question), Cached::Promotions(list.clone()))
                    });
                    Ok((list, until))
                }
                Err(err) => match self.stale(Question::Promotions(key.clone()), &err) {
                    Some((Cached::Promotions(list), _)) => Ok((list, None)),
                    _ => Err(err),
                },
            };
            answers.insert(key, answer);
        }
        let mut in_flight = self
            .promotions_in_flight
            .lock()
            .expect("in-flight lock poisoned");
        for key in &keys {
            in_flight.remove(key);
        }
        Arc::new(answers)
    }

    /// The promotions of `keys` the shared tier holds, still fresh (one
    /// round trip), cached here for what is left of their TTL; and the keys
    /// still to fetch.
    async fn promotions_from_shared(
        &self,
        keys: &[OfferKey],
    ) -> (HashMap<OfferKey, FreshPromotions>, Vec<OfferKey>) {
        let mut answers = HashMap::with_capacity(keys.len());
        // (No shared tier without a cache: see `new`.)
        let values = self
            .shared_values("promotions_get", "promotions", keys)
            .await;
        let (Some(cache), Some(values)) = (&self.cache, values) else {
            return (answers, keys.to_vec());
        };
        let mut to_fetch = Vec::new();
        for (key, value) in keys.iter().zip(values) {
            let Some((SharedAnswer::Promotions(list), age)) = value else {
                to_fetch.push(key.clone());
                continue;
            };
            let list = Arc::new(list);
            let value = Cached::Promotions(list.clone());
            if age >= cache.fresh_for(&value) {
                to_fetch.push(key.clone());
                continue;
            }
            let question = Question::Promotions(key.clone());
            let until = cache.insert_aged(self.cache_key(question), value, age);
            answers.insert(key.clone(), Ok((list, Some(until))));
        }
        (answers, to_fetch)
    }

    /// Tells the shared tier the promotions the upstream answered (never
    /// errors), each for its TTL, in one round trip.
    async fn tell_shared_promotions(
        &self,
        fetched: &[(OfferKey, Result<Vec<Promotion>, UpstreamError>)],
    ) {
        let (Some(_), Some(cache)) = (&self.shared, &self.cache) else {
            return;
        };
        let entries = fetched
            .iter()
            .filter_map(|(key, list)| {
                let list = list.as_ref().ok()?;
                Some((
                    key,
                    SharedAnswer::Promotions(list.clone()),
                    cache.found_ttl(),
                ))
            })
            .collect();
        self.write_shared("promotions_set", "promotions", entries)
            .await;
    }

    /// The expired answer to `question` kept for when the upstream fails,
    /// with its age.
    fn stale(&self, question: Question, err: &UpstreamError) -> Option<(Cached, Duration)> {
        let cache = self.cache.as_ref()?;
        match cache.lookup(&self.cache_key(question))? {
            Hit::Stale { value, age } => {
                tracing::warn!(
                    upstream = %self.instance.name(),
                    age_secs = age.as_secs(),
                    cause = %err,
                    "upstream failed: serving a stale cached answer"
                );
                Some((value, age))
            }
            Hit::Fresh { value, .. } => Some((value, Duration::ZERO)),
        }
    }

    /// One window of a listing, from the cache or the upstream, with the
    /// age of a stale answer served because the upstream failed. The offers
    /// of a fetched window also fill the by-id cache. Called in the
    /// request's own task: tells the request's [`freshness`] tracker how
    /// long the window stays true.
    pub(crate) async fn list(
        &self,
        scope: ListScope,
        offset: u64,
        limit: u32,
    ) -> Result<(Arc<OfferPage>, Option<Duration>), UpstreamError> {
        let question = Question::Page {
            scope: scope.clone(),
            offset,
            limit,
        };
        let key = self.cache_key(question.clone());
        if let Some((Cached::Page(page), until)) = self.cache.as_ref().and_then(|c| c.get(&key)) {
            freshness::fresh_until(Some(until));
            return Ok((page, None));
        }
        if let Some((page, until)) = self.page_from_shared(&question, &key).await {
            freshness::fresh_until(Some(until));
            return Ok((page, None));
        }
        let context = self.call_context(RequestContext::current());
        let page = match self
            .instance
            .list_offers(&context, &scope, offset, limit)
            .await
        {
            Ok(page) => Arc::new(page),
            Err(err) => {
                return match self.stale(question, &err) {
                    Some((Cached::Page(page), age)) => {
                        freshness::uncacheable(Uncacheable::Stale);
                        Ok((page, Some(age)))
                    }
                    _ => Err(err),
                }
            }
        };
        let mut until = None;
        if let Some(cache) = &self.cache {
            for offer in page.offers() {
                self.remember(&offer.common().key, Cached::Found(offer.clone()));
            }
            if !page.has_unreadable() {
                until = Some(cache.insert(key, Cached::Page(page.clone())));
                self.tell_shared_page(&question, &page).await;
            }
        }
        freshness::fresh_until(until);
        Ok((page, None))
    }

    /// The redis key of a listing window: the instance, the credential's
    /// fingerprint and a digest of the window (scope, filters, offset,
    /// limit), whose values may hold any character.
    fn shared_page_key(
        &self,
        shared: &crate::shared::Shared,
        question: &Question,
    ) -> Option<String> {
        let Question::Page {
            scope,
            offset,
            limit,
        } = question
        else {
            return None;
        };
        let window = serde_json::to_vec(&(scope, offset, limit)).ok()?;
        let digest = hex::encode(sha2::Sha256::digest(&window));
        Some(shared.key(&format!(
            "page:v{}:{}:{:016x}:{digest}",
            codec::VERSION,
            self.instance.name(),
            self.credential
        )))
    }

    /// The listing window `question` from the shared tier, still fresh:
    /// cached here for what is left of its TTL (its offers in the by-id
    /// cache too), with until when it is fresh.
    async fn page_from_shared(
        &self,
        question: &Question,
        key: &CacheKey,
    ) -> Option<(Arc<OfferPage>, Instant)> {
        let (shared, cache) = (self.shared.as_ref()?, self.cache.as_ref()?);
        let name = self.shared_page_key(shared, question)?;
        let bytes = shared.get_many("page_get", &[name]).await?.pop()??;
        let (
            SharedAnswer::Page {
                offers,
                total_count,
            },
            fetched_at,
        ) = codec::decode(&bytes).ok()?
        else {
            return None;
        };
        let age = SystemTime::now()
            .duration_since(fetched_at)
            .unwrap_or(Duration::ZERO);
        let page = Arc::new(OfferPage {
            items: offers.into_iter().map(Ok).collect(),
            total_count,
        });
        let value = Cached::Page(page.clone());
        if age >= cache.fresh_for(&value) {
            return None;
        }
        for offer in page.offers() {
            let offer_key = self.cache_key(Question::Offer(offer.common().key.clone()));
            cache.insert_aged(offer_key, Cached::Found(offer.clone()), age);
        }
        let until = cache.insert_aged(key.clone(), value, age);
        Some((page, until))
    }

    /// Tells the shared tier a listing window the upstream answered (every
    /// item read), for its TTL.
    async fn tell_shared_page(&self, question: &Question, page: &OfferPage) {
        let (Some(shared), Some(cache)) = (&self.shared, &self.cache) else {
            return;
        };
        let Some(name) = self.shared_page_key(shared, question) else {
            return;
        };
        let answer = SharedAnswer::Page {
            offers: page.offers().cloned().collect(),
            total_count: page.total_count,
        };
        let ttl = cache.found_ttl();
        let entry = (name, codec::encode(&answer, SystemTime::now()), ttl);
        shared.set_many("page_set", vec![entry]).await;
    }
}

/// Waits for the fetches `waiting` names (each distinct fetch driven once,
/// all at the same time) and returns each key's answer from its fetch.
async fn await_batches<V: Clone>(waiting: Vec<(OfferKey, InFlight<V>)>) -> HashMap<OfferKey, V> {
    let mut batches: Vec<InFlight<V>> = Vec::new();
    for (_, batch) in &waiting {
        if !batches.iter().any(|b| b.ptr_eq(batch)) {
            batches.push(batch.clone());
        }
    }
    join_all(batches).await;
    let mut answers = HashMap::with_capacity(waiting.len());
    for (key, batch) in waiting {
        if let Some(answer) = batch.await.get(&key) {
            answers.insert(key, answer.clone());
        }
    }
    answers
}

/// The DataLoader's view of an [`UpstreamStore`].
pub(crate) struct OfferLoader {
    store: Arc<UpstreamStore>,
}

impl Loader<OfferKey> for OfferLoader {
    type Value = Loaded;
    type Error = Infallible;

    async fn load(&self, keys: &[OfferKey]) -> Result<HashMap<OfferKey, Loaded>, Infallible> {
        Ok(self.store.load_many(keys).await)
    }
}

/// The DataLoader's view of an [`UpstreamStore`]'s promotions: the
/// promotions asked for by one request's resolvers in the same tick go to
/// the store together.
pub(crate) struct PromotionLoader {
    store: Arc<UpstreamStore>,
}

/// The promotions of one offer, or why they could not be read.
pub(crate) type LoadedPromotions = Result<Arc<Vec<Promotion>>, UpstreamError>;

impl Loader<OfferKey> for PromotionLoader {
    type Value = FreshPromotions;
    type Error = Infallible;

    async fn load(
        &self,
        keys: &[OfferKey],
    ) -> Result<HashMap<OfferKey, FreshPromotions>, Infallible> {
        Ok(self.store.promotions(keys).await)
    }
}

/// The stores and loaders of all upstream instances, by instance name.
pub(crate) struct Loaders {
    by_upstream: HashMap<Arc<str>, StoreLoader>,
    /// Stores and loaders of clients' own credentials on pass-through
    /// instances, by instance and credential fingerprint; idle ones go.
    clients: moka::sync::Cache<(Arc<str>, u64), StoreLoader>,
}

/// A store and the DataLoaders that batch its lookups of offers and of
/// promotions; none for an instance without a multi-get (see
/// [`store_loader`]).
type StoreLoader = Arc<(
    Arc<UpstreamStore>,
    Option<DataLoader<OfferLoader>>,
    Option<DataLoader<PromotionLoader>>,
)>;

/// How long a loader of an instance with a multi-get gathers keys before
/// fetching them: the keys of one query's list items and aliases, and of
/// concurrent requests, arriving within it share one call.
pub(crate) const BATCH_WINDOW: Duration = Duration::from_millis(1);

/// A store and its loaders. Lookups of an instance without a multi-get
/// are one call per key whatever the batch, so it has no loaders: each
/// lookup goes to the store from the resolver's own task (deduplicated and
/// coalesced by the store's in-flight tables), without a batching delay
/// and without the hops to and from a loader task, which a cold lookup
/// would wait for.
fn store_loader(store: UpstreamStore) -> StoreLoader {
    let store = Arc::new(store);
    if !store.instance.multi_get() {
        return Arc::new((store, None, None));
    }
    let offers = DataLoader::new(
        OfferLoader {
            store: store.clone(),
        },
        tokio::spawn,
    )
    .delay(BATCH_WINDOW);
    let promotions = DataLoader::new(
        PromotionLoader {
            store: store.clone(),
        },
        tokio::spawn,
    )
    .delay(BATCH_WINDOW);
    Arc::new((store, Some(offers), Some(promotions)))
}

impl Loaders {
    /// One store and one loader per configured instance, recording cache
    /// lookups in `metrics` when given.
    pub(crate) fn new(
        upstreams: &Upstreams,
        metrics: Option<Arc<Metrics>>,
        catalog: Option<Catalog>,
        epochs: Arc<freshness::Epochs>,
        shared: Option<Arc<crate::shared::Shared>>,
    ) -> Self {
        let by_upstream = upstreams
            .iter()
            .map(|instance| {
                let store = UpstreamStore::new(
                    instance.clone(),
                    metrics.clone(),
                    catalog.clone(),
                    epochs.clone(),
                    shared.clone(),
                );
                (instance.name().clone(), store_loader(store))
            })
            .collect();
        Loaders {
            by_upstream,
            clients: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
        }
    }

    /// The store and loader the current request uses for `upstream`: the
    /// instance's own, or, on a pass-through instance whose client sent a
    /// credential, that credential's.
    fn pick(&self, upstream: &str) -> Option<StoreLoader> {
        let own = self.by_upstream.get(upstream)?;
        let store = &own.0;
        let credential = store
            .instance
            .settings()
            .pass_through
            .then(RequestContext::current)
            .flatten()
            .and_then(|context| context.credential_for(upstream).cloned());
        let Some(credential) = credential else {
            return Some(own.clone());
        };
        let key = (store.instance.name().clone(), credential.fingerprint());
        Some(
            self.clients
                .get_with(key, || store_loader(store.for_client(credential))),
        )
    }

    /// Every instance's store.
    pub(crate) fn stores(&self) -> impl Iterator<Item = &Arc<UpstreamStore>> {
        self.by_upstream.values().map(|own| &own.0)
    }

    /// The store the current request uses for `upstream` (its client's
    /// own on a pass-through instance).
    pub(crate) fn store(&self, upstream: &str) -> Option<Arc<UpstreamStore>> {
        self.pick(upstream).map(|picked| picked.0.clone())
    }

    /// The promotions of offers of the instance `upstream` (with the
    /// current request's credential on a pass-through instance); nothing
    /// for an instance that is not configured. Tells the request's
    /// [`freshness`] tracker how long they stay cached.
    pub(crate) async fn promotions(
        &self,
        upstream: &str,
        keys: &[OfferKey],
    ) -> HashMap<OfferKey, LoadedPromotions> {
        let Some(picked) = self.pick(upstream) else {
            return HashMap::new();
        };
        // All of them cached: no batch, no batching delay.
        let cached: Option<HashMap<OfferKey, FreshPromotions>> = keys
            .iter()
            .map(|key| {
                let (list, until) = picked.0.cached_promotions(key)?;
                Some((key.clone(), Ok((list, Some(until)))))
            })
            .collect();
        let answers = match cached {
            Some(cached) => cached,
            None => {
                if let Some(context) = RequestContext::current() {
                    *picked.0.requester.lock().expect("requester lock poisoned") = Some(context);
                }
                match &picked.2 {
                    Some(loader) => match loader.load_many(keys.iter().cloned()).await {
                        Ok(answers) => answers,
                        Err(never) => match never {},
                    },
                    None => picked.0.promotions(keys).await,
                }
            }
        };
        answers
            .into_iter()
            .map(|(key, answer)| {
                let answer = answer.map(|(list, until)| {
                    freshness::fresh_until(until);
                    list
                });
                (key, answer)
            })
            .collect()
    }

    /// Loads one offer of the instance `upstream`: `Ok(None)` when the
    /// upstream does not have it.
    pub(crate) async fn load(
        &self,
        upstream: &str,
        key: OfferKey,
    ) -> Result<Option<Fetched>, UpstreamError> {
        let Some(picked) = self.pick(upstream) else {
            return Ok(None);
        };
        let (store, loader, _) = &*picked;
        let started = Instant::now();
        // A fresh cached answer needs no batch: it is served at once, without
        // waiting out the DataLoader's batching delay.
        if let Some(cached) = store.cached(&key) {
            return Ok(cached);
        }
        if let Some(context) = RequestContext::current() {
            *store.requester.lock().expect("requester lock poisoned") = Some(context);
        }
        let loaded = match loader {
            Some(loader) => match loader.load_one(key).await {
                Ok(loaded) => loaded,
                Err(never) => match never {},
            },
            None => store
                .load_many(std::slice::from_ref(&key))
                .await
                .remove(&key),
        };
        match loaded {
            Some(Ok(fetched)) => {
                match fetched.stale_age {
                    Some(_) => freshness::uncacheable(Uncacheable::Stale),
                    None => freshness::fresh_until(fetched.fresh_until),
                }
                Ok(Some(fetched))
            }
            Some(Err(err)) => Err(err),
            None => {
                // "Not found" was cached after this lookup started: it is
                // fresh at least until then plus its TTL.
                let cache = &store.instance.settings().cache;
                freshness::fresh_until(cache.enabled.then(|| started + cache.not_found_ttl));
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use tokio::sync::Semaphore;

    use super::*;
    use crate::model::OfferKind;
    use crate::upstream::medusa;
    use crate::upstream::{CacheSettings, Call, Connector, InstanceSettings, Lookup};

    /// A connector that counts calls and answers only when the test lets it.
    struct Gated {
        calls: AtomicUsize,
        keys_asked: AtomicUsize,
        gate: Semaphore,
    }

    impl Gated {
        /// The connector, and an instance over it (caching or not).
        fn new(cache: bool) -> (Arc<Self>, Arc<Instance>) {
            let gated = Arc::new(Gated {
                calls: AtomicUsize::new(0),
                keys_asked: AtomicUsize::new(0),
                gate: Semaphore::new(0),
            });
            let spec = crate::upstream::InstanceSpec {
                name: Arc::from("gated"),
                base_url: "http://127.0.0.1:9".parse().expect("a URL"),
                credentials: crate::upstream::Credentials::Medusa(medusa::Credentials::Token(
                    Secret::new("token"),
                )),
                settings: InstanceSettings {
                    cache: CacheSettings {
                        enabled: cache,
                        ..CacheSettings::default()
                    },
                    ..InstanceSettings::default()
                },
            };
            let http = crate::upstream::HttpClient::new(Duration::from_secs(1));
            let instance = Instance::with_connector(spec, http, gated.clone());
            (gated, Arc::new(instance))
        }
    }

    #[async_trait]
    impl Connector for Gated {
        fn offer_kinds(&self) -> &'static [OfferKind] {
            &[OfferKind::Marketplace]
        }
        fn canonical_id(&self, _kind: OfferKind, raw: &str) -> Result<String, String> {
            Ok(raw.to_owned())
        }
        async fn fetch_offers(
            &self,
            _call: &Call<'_>,
            keys: &[OfferKey],
        ) -> Vec<(OfferKey, Lookup)> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.keys_asked.fetch_add(keys.len(), Ordering::SeqCst);
            let _permit = self.gate.acquire().await.expect("gate open");
            // Every key is "not found" except those starting with "err",
            // which fail.
            keys.iter()
                .map(|k| {
                    let answer = if k.native_id.starts_with("err") {
                        Err(UpstreamError::Timeout)
                    } else {
                        Ok(None)
                    };
                    (k.clone(), answer)
                })
                .collect()
        }
        async fn list_offers(
            &self,
            _call: &Call<'_>,
            _scope: &ListScope,
            _offset: u64,
            _limit: u32,
        ) -> Result<OfferPage, UpstreamError> {
            Err(UpstreamError::Timeout)
        }
        fn max_page_size(&self) -> u32 {
            100
        }
    }

    fn key(id: &str) -> OfferKey {
        OfferKey::new(OfferKind::Marketplace, id)
    }

    /// Waits until the connector has been called `n` times.
    async fn until_calls(connector: &Gated, n: usize) {
        while connector.calls.load(Ordering::SeqCst) < n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_second_batch_waits_for_the_keys_a_first_batch_is_fetching() {
        for cache in [true, false] {
            let (connector, instance) = Gated::new(cache);
            let store = Arc::new(UpstreamStore::new(
                instance,
                None,
                None,
                freshness::Epochs::new(),
                None,
            ));
            let first = tokio::spawn({
                let store = store.clone();
                async move { store.load_many(&[key("a"), key("b")]).await }
            });
            until_calls(&connector, 1).await;
            // "a" is in flight: the second batch fetches only "c".
            let second = tokio::spawn({
                let store = store.clone();
                async move { store.load_many(&[key("a"), key("c")]).await }
            });
            until_calls(&connector, 2).await;
            connector.gate.add_permits(2);
            assert!(first.await.expect("first batch").is_empty());
            assert!(second.await.expect("second batch").is_empty());
            assert_eq!(connector.calls.load(Ordering::SeqCst), 2);
            assert_eq!(
                connector.keys_asked.load(Ordering::SeqCst),
                3,
                "cache {cache}"
            );
        }
    }

    #[tokio::test]
    async fn not_found_is_remembered_and_errors_are_not() {
        let (connector, instance) = Gated::new(true);
        let store = Arc::new(UpstreamStore::new(
            instance,
            None,
            None,
            freshness::Epochs::new(),
            None,
        ));
        connector.gate.add_permits(10);
        let answers = store.load_many(&[key("missing"), key("err-1")]).await;
        assert!(matches!(
            answers.get(&key("err-1")),
            Some(Err(UpstreamError::Timeout))
        ));
        assert!(!answers.contains_key(&key("missing")));
        let answers = store.load_many(&[key("missing"), key("err-1")]).await;
        assert!(matches!(answers.get(&key("err-1")), Some(Err(_))));
        // The second round asked only for the failed key again.
        assert_eq!(connector.keys_asked.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn cache_keys_differ_by_credential() {
        let cache = AnswerCache::new(&CacheSettings::default(), freshness::Epochs::new());
        let key_for = |credential| CacheKey {
            upstream: Arc::from("closient"),
            credential,
            question: Question::Offer(key("a")),
        };
        cache.insert(key_for(1), Cached::NotFound);
        assert!(cache.get(&key_for(1)).is_some());
        assert!(cache.get(&key_for(2)).is_none());
    }
}
