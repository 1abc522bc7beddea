//! The Closient connector: by-id lookups of online and in-store offers and
//! the paginated online-offer listing of one organization; for the catalog
//! index, the legacy flat listing of an organization's offers (how its
//! in-store offers are discovered) and product facts by product id.
//!
//! Closient has no multi-get, so a batch becomes concurrent single GETs,
//! bounded by the instance's semaphore. A 404 is "not found" (it is also
//! what Closient answers for offers of organizations the key cannot view).
//! An offer's promotions come the same way, one GET of
//! `.../{offer_id}/promotions` per offer: a 404 there is "no promotion",
//! and a promotion that cannot be read is left out of its list.
//! The key travels as `X-API-Key`. A listing page is read item by item: an
//! offer that cannot be read is an error item of the page, and the other
//! offers of the page are still answered.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderValue, ACCEPT};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::shortuuid;
use super::{map, wire};
use crate::error::UpstreamError;
use crate::gtin::Gtin;
use crate::model::ProductFacts;
use crate::model::{OfferKey, OfferKind, Promotion};
use crate::upstream::client::RawResponse;
use crate::upstream::paging::PagePlan;
use crate::upstream::resilience::Idempotent;
use crate::upstream::{
    BudgetWindow, Call, CatalogEntry, CatalogFeed, CatalogPage, Connector, Credentials,
    InstanceSpec, ListScope, Lookup, OfferPage, SyncSettings,
};

/// Largest `page_size` Closient accepts.
pub(crate) const MAX_PAGE_SIZE: u32 = 100;

/// Appended to an offer's path for its promotions.
const PROMOTIONS: &str = "/promotions";
const ONLINE_OFFER_PATH: &str = "/retailers/api/v1/online-offers/";
const IN_STORE_OFFER_PATH: &str = "/retailers/api/v1/in-store-offers/";
const BROWSE_PRODUCT_PATH: &str = "/products/api/v1/browse/products/";
const PRODUCT_PATH: &str = "/products/api/v1/products/";

/// One page of the legacy flat listing of an organization's offers
/// (`GET .../organizations/{organization_id}/offers`), read item by item.
#[derive(Clone, Debug)]
pub(crate) struct LegacyPage {
    /// The items, in the upstream's order; an item that cannot be read is
    /// an `Err` of its own.
    pub(crate) items: Vec<Result<map::LegacyOffer, UpstreamError>>,
    /// Offers in the whole listing, as the upstream counts them.
    pub(crate) total_count: u64,
    /// Whether a later page has items.
    #[allow(dead_code, reason = "the sync pages by total_count; tests read it")]
    pub(crate) has_next: bool,
}

/// Talks to one Closient instance.
pub(crate) struct ClosientConnector {
    spec: InstanceSpec,
    /// The `X-API-Key` value; `None` when the credentials cannot be sent.
    api_key: Option<HeaderValue>,
}

impl ClosientConnector {
    /// The connector of the instance `spec`.
    pub(crate) fn new(spec: &InstanceSpec) -> Self {
        let api_key = match &spec.credentials {
            Credentials::Closient(super::Credentials { api_key }) => {
                HeaderValue::from_str(api_key.expose())
                    .ok()
                    .map(|mut value| {
                        value.set_sensitive(true);
                        value
                    })
            }
            _ => None,
        };
        ClosientConnector {
            spec: spec.clone(),
            api_key,
        }
    }

    /// Sends one authenticated GET.
    async fn get(&self, call: &Call<'_>, url: url::Url) -> Result<RawResponse, UpstreamError> {
        // A client's own key (pass-through mode) replaces the configured one.
        let client_key = call.credential().and_then(|secret| {
            HeaderValue::from_str(secret.expose())
                .ok()
                .map(|mut value| {
                    value.set_sensitive(true);
                    value
                })
        });
        let api_key = client_key.or_else(|| self.api_key.clone()).ok_or_else(|| {
            UpstreamError::Unauthorized {
                status: 0,
                detail: "the configured credentials are not a Closient API key usable as a header"
                    .to_owned(),
            }
        })?;
        let request = call
            .reqwest()
            .get(url)
            .header("X-API-Key", api_key)
            .header(ACCEPT, "application/json");
        call.send(request, Idempotent::Yes).await
    }

    async fn fetch_one(&self, call: &Call<'_>, key: &OfferKey) -> Lookup {
        let path = match key.kind {
            OfferKind::Online => ONLINE_OFFER_PATH,
            OfferKind::InStore => IN_STORE_OFFER_PATH,
            // Closient has no marketplace offers: nothing to find here.
            OfferKind::Marketplace => return Ok(None),
        };
        // Keys are normally canonical already; a UUID is converted, and an
        // id that is neither cannot name an offer.
        let Ok(id) = shortuuid::canonical(&key.native_id) else {
            return Ok(None);
        };
        tracing::debug!(upstream = %self.spec.name, offer_id = %id, "closient offer lookup");
        let response = self
            .get(call, self.spec.url(&format!("{path}{id}")))
            .await?;
        let Some(raw) = read::<Box<RawValue>>(&response)? else {
            return Ok(None);
        };
        let offer = match key.kind {
            OfferKind::Online => map::read_online_offer(&self.spec.name, raw.get())?,
            _ => map::read_in_store_offer(&self.spec.name, raw.get())?,
        };
        let offer = Some(offer);
        match offer {
            Some(offer) if offer.common().key.native_id != id => {
                Err(UpstreamError::BadResponse(format!(
                    "asked for offer {id}, got offer {}",
                    offer.common().key.native_id
                )))
            }
            offer => Ok(offer),
        }
    }

    /// The promotions of one offer, `GET .../{offer_id}/promotions`, read
    /// item by item: an unreadable promotion is logged and left out. A 404
    /// (the offer is gone, or its organization is not visible to the key)
    /// is no promotion, like a key that cannot name a Closient offer.
    async fn promotions_of(
        &self,
        call: &Call<'_>,
        key: &OfferKey,
    ) -> Result<Vec<Promotion>, UpstreamError> {
        let path = match key.kind {
            OfferKind::Online => ONLINE_OFFER_PATH,
            OfferKind::InStore => IN_STORE_OFFER_PATH,
            OfferKind::Marketplace => return Ok(Vec::new()),
        };
        let Ok(id) = shortuuid::canonical(&key.native_id) else {
            return Ok(Vec::new());
        };
        tracing::debug!(upstream = %self.spec.name, offer_id = %id, "closient promotions lookup");
        let response = self
            .get(call, self.spec.url(&format!("{path}{id}{PROMOTIONS}")))
            .await?;
        let Some(items) = read::<Vec<Box<RawValue>>>(&response)? else {
            return Ok(Vec::new());
        };
        Ok(items
            .iter()
            .filter_map(|item| match map::read_promotion(item.get(), &id) {
                Ok(promotion) => Some(promotion),
                Err(err) => {
                    tracing::warn!(
                        upstream = %self.spec.name,
                        offer_id = %id,
                        promotion_id = %map::item_id(item.get()),
                        cause = %err,
                        "skipping an unreadable promotion"
                    );
                    None
                }
            })
            .collect())
    }

    async fn list_organization(
        &self,
        call: &Call<'_>,
        organization: &str,
        offset: u64,
        limit: u32,
    ) -> Result<OfferPage, UpstreamError> {
        let organization =
            shortuuid::canonical(organization).map_err(|err| UpstreamError::Rejected {
                status: 422,
                detail: format!("organization id: {err}"),
            })?;
        let plan = PagePlan::new(offset, limit, MAX_PAGE_SIZE);
        let end = offset.saturating_add(u64::from(limit));
        let mut items = Vec::new();
        let mut total_count = 0;
        for page in plan.pages() {
            let mut url = self.spec.url(&format!(
                "/retailers/api/v1/organizations/{organization}/online-offers"
            ));
            url.query_pairs_mut()
                .append_pair("page", &page.to_string())
                .append_pair("page_size", &plan.page_size.to_string());
            tracing::debug!(upstream = %self.spec.name, organization = %organization, page, "closient listing");
            let response = self.get(call, url).await?;
            let Some(body) = read::<wire::Page<Box<RawValue>>>(&response)? else {
                // Closient answers 404 both for an organization that does not
                // exist and for one the key cannot view.
                return Err(UpstreamError::NotFound(format!(
                    "organization {organization}"
                )));
            };
            total_count = body.pagination.total_count;
            let page_start = (page - 1).saturating_mul(plan.page_size);
            for (index, offer) in body.data.iter().enumerate() {
                let position = page_start.saturating_add(index as u64);
                if (offset..end).contains(&position) {
                    let item = map::read_online_offer(&self.spec.name, offer.get());
                    if let Err(err) = &item {
                        tracing::debug!(upstream = %self.spec.name, position, cause = %err, "unreadable listing item");
                    }
                    items.push(item);
                }
            }
            if (body.data.len() as u64) < plan.page_size {
                break; // The listing ended on this page.
            }
        }
        Ok(OfferPage { items, total_count })
    }
}

/// The catalog index's calls: the legacy listing that discovers in-store
/// offers, and product facts by product id.
impl ClosientConnector {
    /// Reads page `page` (1-based) of `page_size` items (1 to
    /// [`MAX_PAGE_SIZE`]) of the legacy flat listing of `organization`
    /// (shortuuid or UUID): the organization's in-store offers, their ids
    /// as shortuuids. Past the end the page is empty, with the total. An
    /// organization that does not exist or that the key cannot view is
    /// [`UpstreamError::NotFound`]; a malformed organization id or paging
    /// is rejected without a call.
    pub(crate) async fn list_in_store_offer_ids(
        &self,
        call: &Call<'_>,
        organization: &str,
        page: u32,
        page_size: u32,
    ) -> Result<LegacyPage, UpstreamError> {
        let rejected = |detail: String| UpstreamError::Rejected {
            status: 422,
            detail,
        };
        let uuid = shortuuid::parse_id(organization)
            .map_err(|err| rejected(format!("organization id: {err}")))?;
        if page < 1 {
            return Err(rejected(format!("page {page}: pages start at 1")));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(rejected(format!(
                "page_size {page_size}: between 1 and {MAX_PAGE_SIZE}"
            )));
        }
        let organization = shortuuid::encode(uuid);
        // The path parameter is documented as a UUID.
        let mut url = self.spec.url(&format!(
            "/retailers/api/v1/organizations/{}/offers",
            shortuuid::format_uuid(uuid)
        ));
        url.query_pairs_mut()
            .append_pair("page", &page.to_string())
            .append_pair("page_size", &page_size.to_string());
        tracing::debug!(upstream = %self.spec.name, organization = %organization, page, "closient legacy listing");
        let response = self.get(call, url).await?;
        let Some(body) = read::<wire::Page<Box<RawValue>>>(&response)? else {
            // As for the online listing: missing and not viewable alike.
            return Err(UpstreamError::NotFound(format!(
                "organization {organization}"
            )));
        };
        let items = body
            .data
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let offer = map::read_legacy_offer(item.get(), &organization);
                if let Err(err) = &offer {
                    tracing::debug!(upstream = %self.spec.name, page, index, cause = %err, "unreadable legacy listing item");
                }
                offer
            })
            .collect();
        Ok(LegacyPage {
            items,
            total_count: body.pagination.total_count,
            has_next: body.pagination.has_next,
        })
    }

    /// The product of `GET /products/api/v1/products/{gtin}` (the GTIN-14
    /// in the path); `None` when there is none (404).
    pub(crate) async fn product_of_gtin(
        &self,
        call: &Call<'_>,
        gtin: &Gtin,
    ) -> Result<Option<map::ClosientProduct>, UpstreamError> {
        tracing::debug!(upstream = %self.spec.name, gtin = %gtin, "closient product lookup by GTIN");
        let response = self
            .get(call, self.spec.url(&format!("{PRODUCT_PATH}{gtin}")))
            .await?;
        let Some(raw) = read::<Box<RawValue>>(&response)? else {
            return Ok(None);
        };
        map::read_product(raw.get()).map(Some)
    }

    /// The product facts of `GET /products/api/v1/browse/products/{id}` for
    /// a product id (shortuuid or UUID, the `product_id` of offers);
    /// `None` when no product matches (404) or the id cannot name one.
    pub(crate) async fn product_by_id(
        &self,
        call: &Call<'_>,
        product_id: &str,
    ) -> Result<Option<map::ClosientProduct>, UpstreamError> {
        let Ok(id) = shortuuid::canonical(product_id) else {
            return Ok(None);
        };
        tracing::debug!(upstream = %self.spec.name, product_id = %id, "closient product lookup");
        let response = self
            .get(call, self.spec.url(&format!("{BROWSE_PRODUCT_PATH}{id}")))
            .await?;
        let Some(raw) = read::<Box<RawValue>>(&response)? else {
            return Ok(None);
        };
        let product = map::read_browse_product(raw.get())?;
        if product.id != id {
            return Err(UpstreamError::BadResponse(format!(
                "asked for product {id}, got product {}",
                product.id
            )));
        }
        Ok(Some(product))
    }
}

/// Answers every distinct key of `keys` with `one`, all at once: Closient
/// has no multi-get, and the instance's sender bounds how many requests
/// are in flight (its `max_concurrency`). One entry per distinct key, in
/// the order the keys first appear.
async fn per_distinct_key<'k, T, F, Fut>(keys: &'k [OfferKey], one: F) -> Vec<(OfferKey, T)>
where
    F: Fn(&'k OfferKey) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut seen = HashSet::new();
    let distinct = keys.iter().filter(|key| seen.insert(*key));
    futures::future::join_all(distinct.map(|key| {
        let answer = one(key);
        async move { (key.clone(), answer.await) }
    }))
    .await
}

/// Decodes a 200 answer as `T`; a 404 is `None`; other statuses are errors.
fn read<T: DeserializeOwned>(response: &RawResponse) -> Result<Option<T>, UpstreamError> {
    let status = response.status.as_u16();
    match status {
        200 => response.json().map(Some),
        404 => Ok(None),
        401 | 403 => Err(UpstreamError::Unauthorized {
            status,
            detail: error_detail(response),
        }),
        400 | 422 => Err(UpstreamError::Rejected {
            status,
            detail: error_detail(response),
        }),
        _ => Err(response.common_failure().unwrap_or_else(|| {
            UpstreamError::BadResponse(format!(
                "unexpected HTTP {status}: {}",
                error_detail(response)
            ))
        })),
    }
}

/// What the error envelope says, for the logs (never the whole body).
fn error_detail(response: &RawResponse) -> String {
    let Ok(envelope) = serde_json::from_slice::<wire::ErrorEnvelope>(&response.body) else {
        return format!(
            "HTTP {} without the error envelope",
            response.status.as_u16()
        );
    };
    let mut detail = format!(
        "{}: {}",
        envelope.error.code.as_str(),
        clip(&envelope.error.message)
    );
    for problem in envelope.error.details.iter().take(5) {
        detail.push_str(&format!(
            "; {}: {}",
            clip(problem.field.as_deref().unwrap_or("-")),
            clip(&problem.message)
        ));
    }
    detail
}

fn clip(text: &str) -> &str {
    match text.char_indices().nth(200) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[async_trait]
impl Connector for ClosientConnector {
    fn offer_kinds(&self) -> &'static [OfferKind] {
        &[OfferKind::Online, OfferKind::InStore]
    }

    fn canonical_id(&self, kind: OfferKind, raw: &str) -> Result<String, String> {
        match kind {
            OfferKind::Online | OfferKind::InStore => {
                shortuuid::canonical(raw).map_err(|err| err.to_string())
            }
            OfferKind::Marketplace => Err(format!(
                "upstream `{}` is a Closient retailers API: it serves OnlineOffer and \
                 InStoreOffer ids, not MarketplaceOffer ids",
                self.spec.name
            )),
        }
    }

    async fn fetch_offers(&self, call: &Call<'_>, keys: &[OfferKey]) -> Vec<(OfferKey, Lookup)> {
        per_distinct_key(keys, |key| self.fetch_one(call, key)).await
    }

    /// One `GET .../{offer_id}/promotions` per distinct key, concurrently
    /// like [`Connector::fetch_offers`]; errors are those of the offer
    /// lookups, except that a 404 is an empty list.
    async fn fetch_promotions(
        &self,
        call: &Call<'_>,
        keys: &[OfferKey],
    ) -> Vec<(OfferKey, Result<Vec<Promotion>, UpstreamError>)> {
        per_distinct_key(keys, |key| self.promotions_of(call, key)).await
    }

    async fn list_offers(
        &self,
        call: &Call<'_>,
        scope: &ListScope,
        offset: u64,
        limit: u32,
    ) -> Result<OfferPage, UpstreamError> {
        match scope {
            ListScope::Organization(organization) => {
                self.list_organization(call, organization, offset, limit)
                    .await
            }
            ListScope::All | ListScope::Matching(_) => Err(UpstreamError::Rejected {
                status: 400,
                detail: "Closient lists online offers per organization only; \
                         a listing of all offers is not supported"
                    .to_owned(),
            }),
        }
    }

    fn max_page_size(&self) -> u32 {
        MAX_PAGE_SIZE
    }

    /// The online offers and the in-store offers of each organization the
    /// sync settings name (Closient has no listing across organizations).
    fn catalog_feeds(&self, sync: &SyncSettings) -> Vec<CatalogFeed> {
        sync.organizations
            .iter()
            .filter_map(|raw| match shortuuid::canonical(raw) {
                Ok(id) => Some(id),
                Err(err) => {
                    tracing::warn!(upstream = %self.spec.name, organization = %raw, cause = %err, "sync: not an organization id");
                    None
                }
            })
            .flat_map(|id| {
                [
                    CatalogFeed::Offers(ListScope::Organization(id.clone())),
                    CatalogFeed::InStoreOffers(id),
                ]
            })
            .collect()
    }

    async fn list_in_store_offers(
        &self,
        call: &Call<'_>,
        organization: &str,
        offset: u64,
        limit: u32,
    ) -> Result<CatalogPage, UpstreamError> {
        let limit = limit.clamp(1, MAX_PAGE_SIZE);
        let page = u32::try_from(offset / u64::from(limit) + 1).unwrap_or(u32::MAX);
        let listed = self
            .list_in_store_offer_ids(call, organization, page, limit)
            .await?;
        Ok(CatalogPage {
            items: listed
                .items
                .into_iter()
                .map(|item| {
                    item.map(|offer| CatalogEntry {
                        key: OfferKey::new(OfferKind::InStore, offer.id),
                        facts: ProductFacts {
                            upstream_product_id: Some(offer.product_id),
                            ..ProductFacts::default()
                        },
                        modified_at: None,
                    })
                })
                .collect(),
            total_count: listed.total_count,
        })
    }

    async fn product_facts(
        &self,
        call: &Call<'_>,
        product_id: &str,
    ) -> Result<Option<ProductFacts>, UpstreamError> {
        Ok(self
            .product_by_id(call, product_id)
            .await?
            .map(|product| product.facts()))
    }

    async fn product_by_gtin(
        &self,
        call: &Call<'_>,
        gtin: &Gtin,
    ) -> Result<Option<(String, ProductFacts)>, UpstreamError> {
        Ok(self
            .product_of_gtin(call, gtin)
            .await?
            .map(|product| (product.id.clone(), product.facts())))
    }

    fn resolves_product_ids(&self) -> bool {
        true
    }

    /// 100 a minute and 3,000 a day: a third of Closient's per-key limits
    /// (300 and 10,000), leaving the rest to live traffic.
    fn default_sync_budget(&self) -> Vec<BudgetWindow> {
        vec![
            BudgetWindow {
                requests: 100,
                per: Duration::from_secs(60),
            },
            BudgetWindow {
                requests: 3_000,
                per: Duration::from_secs(24 * 60 * 60),
            },
        ]
    }
}

#[cfg(all(test, feature = "sim"))]
mod tests {
    use std::time::Duration;

    use rust_decimal::Decimal;

    use super::*;
    use crate::model::{Offer, PromotionKind};
    use crate::secret::Secret;
    use crate::sim::catalog::Catalog;
    use crate::sim::{serve, RunningSim};
    use crate::upstream::client::DEFAULT_CONNECT_TIMEOUT;
    use crate::upstream::closient;
    use crate::upstream::closient::sim::{self, SimData};
    use crate::upstream::{CallContext, HttpClient, Instance};
    use std::sync::Arc;

    const SEED: u64 = 20_240_601;
    const ONLINE_ENDPOINT: &str = "GET /retailers/api/v1/online-offers/{offer_id}";
    const IN_STORE_ENDPOINT: &str = "GET /retailers/api/v1/in-store-offers/{offer_id}";
    const LIST_ENDPOINT: &str =
        "GET /retailers/api/v1/organizations/{organization_id}/online-offers";

    async fn start() -> (RunningSim, Arc<SimData>) {
        let data = Arc::new(SimData::generate(&Catalog::generate(SEED)));
        let running = serve(sim::router(data.clone()))
            .await
            .expect("simulator starts");
        (running, data)
    }

    fn spec(base_url: &url::Url, credentials: Credentials) -> InstanceSpec {
        InstanceSpec {
            name: Arc::from("closient"),
            base_url: base_url.clone(),
            credentials,
            settings: Default::default(),
        }
    }

    fn connector(running: &RunningSim, credentials: Credentials) -> Instance {
        Instance::new(
            spec(&running.base_url, credentials),
            HttpClient::new(DEFAULT_CONNECT_TIMEOUT),
        )
    }

    /// The connector itself, for the calls that are not on the `Connector`
    /// trait, and an instance whose sender its calls go through.
    fn direct(base_url: &url::Url, credentials: Credentials) -> (ClosientConnector, Instance) {
        let spec = spec(base_url, credentials);
        (
            ClosientConnector::new(&spec),
            Instance::new(spec, HttpClient::new(DEFAULT_CONNECT_TIMEOUT)),
        )
    }

    fn org_index(data: &SimData, name: &str) -> usize {
        data.organizations
            .iter()
            .position(|o| o.name == name)
            .expect("organization exists")
    }

    fn visible_orgs(data: &SimData, credentials: &Credentials) -> Vec<usize> {
        data.organizations_visible_to(credentials)
            .iter()
            .map(|o| org_index(data, &o.name))
            .collect()
    }

    /// An organization one key sees and the other does not.
    fn exclusive_org(data: &SimData, mine: &Credentials, theirs: &Credentials) -> usize {
        let theirs = visible_orgs(data, theirs);
        visible_orgs(data, mine)
            .into_iter()
            .find(|o| !theirs.contains(o))
            .expect("each key has an organization of its own")
    }

    fn decimal(text: &str) -> Decimal {
        Decimal::from_str_exact(text).expect("simulator amounts are decimals")
    }

    fn online(offer: &Offer) -> &crate::model::OnlineOffer {
        match offer {
            Offer::Online(o) => o,
            other => panic!("expected an online offer, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn fetches_online_and_in_store_offers_with_the_simulators_prices() {
        let (running, data) = start().await;
        let credentials = sim::demo_credentials();
        let connector = connector(&running, credentials.clone());
        let visible = visible_orgs(&data, &credentials);
        // One visible online offer per store currency, and a few in-store offers.
        let mut keys = Vec::new();
        let mut currencies = HashSet::new();
        for offer in &data.online_offers {
            let currency = data.store_currency(&offer.online_store_id).unwrap();
            let org = org_index_of(&data, offer.organization_id.as_deref().unwrap());
            if visible.contains(&org) && currencies.insert(currency) {
                keys.push(OfferKey::new(OfferKind::Online, offer.id.clone()));
            }
        }
        assert!(
            currencies.contains("JPY") && currencies.contains("KWD"),
            "{currencies:?}"
        );
        let mut in_store_currencies = HashSet::new();
        for offer in &data.in_store_offers {
            let currency = data.store_currency(&offer.physical_store_id).unwrap();
            let org = org_index_of(&data, offer.organization_id.as_deref().unwrap());
            if visible.contains(&org) && in_store_currencies.insert(currency) {
                keys.push(OfferKey::new(OfferKind::InStore, offer.id.clone()));
            }
        }
        let answers = connector.fetch_offers(&CallContext::default(), &keys).await;
        assert_eq!(answers.len(), keys.len());
        for (key, lookup) in answers {
            let offer = lookup.expect("lookup succeeds").expect("offer is found");
            assert_eq!(offer.common().key, key);
            let (raw_price, store) = match &offer {
                Offer::Online(o) => {
                    let raw = data.online_offer(&key.native_id).unwrap();
                    assert_eq!(o.online_store_id, raw.online_store_id);
                    assert_eq!(o.url, raw.url);
                    assert_eq!(o.delivery_countries, raw.delivery_countries);
                    assert_eq!(o.min_order_quantity as i64, raw.min_order_quantity);
                    (raw.price.clone().unwrap(), raw.online_store_id.clone())
                }
                Offer::InStore(o) => {
                    let raw = data.in_store_offer(&key.native_id).unwrap();
                    assert_eq!(o.physical_store_id, raw.physical_store_id);
                    assert_eq!(o.aisle, raw.aisle);
                    assert_eq!(o.quantity_on_hand.map(i64::from), raw.quantity_on_hand);
                    (raw.price.clone().unwrap(), raw.physical_store_id.clone())
                }
                Offer::Marketplace(_) => unreachable!(),
            };
            // The simulator's decimal string is major units of the store currency.
            match (offer.common().price.as_ref(), raw_price.amount.as_deref()) {
                (Some(money), Some(raw)) => {
                    assert_eq!(money.amount(), decimal(raw), "{key:?}");
                    assert_eq!(
                        money.currency().code(),
                        data.store_currency(&store).unwrap()
                    );
                }
                (None, None) => {}
                other => panic!("price mismatch for {key:?}: {other:?}"),
            }
        }
        assert_eq!(
            running.control.count(ONLINE_ENDPOINT),
            currencies.len() as u64
        );
        assert_eq!(
            running.control.count(IN_STORE_ENDPOINT),
            in_store_currencies.len() as u64
        );
    }

    fn org_index_of(data: &SimData, organization_id: &str) -> usize {
        data.organizations
            .iter()
            .position(|o| o.id == organization_id)
            .expect("offer organization exists")
    }

    #[tokio::test]
    async fn answers_one_entry_per_distinct_key_with_one_call_each() {
        let (running, data) = start().await;
        let connector = connector(&running, sim::demo_credentials());
        let visible = visible_orgs(&data, &sim::demo_credentials());
        let ids: Vec<String> = data
            .online_offers
            .iter()
            .filter(|o| {
                visible.contains(&org_index_of(&data, o.organization_id.as_deref().unwrap()))
            })
            .take(40)
            .map(|o| o.id.clone())
            .collect();
        let missing = shortuuid::encode(1);
        let mut keys: Vec<OfferKey> = ids
            .iter()
            .map(|id| OfferKey::new(OfferKind::Online, id.clone()))
            .collect();
        keys.extend(keys.clone()); // every key twice
        keys.push(OfferKey::new(OfferKind::Online, missing.clone()));
        let answers = connector.fetch_offers(&CallContext::default(), &keys).await;
        assert_eq!(answers.len(), ids.len() + 1);
        for (key, lookup) in &answers {
            let found = lookup.as_ref().expect("no upstream error");
            assert_eq!(found.is_none(), key.native_id == missing, "{key:?}");
        }
        assert_eq!(running.control.count(ONLINE_ENDPOINT), ids.len() as u64 + 1);
    }

    #[tokio::test]
    async fn offers_of_organizations_the_key_cannot_view_are_not_found() {
        let (running, data) = start().await;
        let demo = sim::demo_credentials();
        let other = sim::other_credentials();
        let theirs = exclusive_org(&data, &other, &demo);
        let their_org_id = data.organizations[theirs].id.clone();
        let online_id = data.organization_online_offers(&their_org_id)[0].id.clone();
        let in_store_id = data
            .in_store_offers
            .iter()
            .find(|o| o.organization_id.as_deref() == Some(their_org_id.as_str()))
            .expect("the organization has in-store offers")
            .id
            .clone();
        let keys = [
            OfferKey::new(OfferKind::Online, online_id.clone()),
            OfferKey::new(OfferKind::InStore, in_store_id),
        ];
        for (_, lookup) in connector(&running, demo.clone())
            .fetch_offers(&CallContext::default(), &keys)
            .await
        {
            assert!(matches!(lookup, Ok(None)), "{lookup:?}");
        }
        for (_, lookup) in connector(&running, other.clone())
            .fetch_offers(&CallContext::default(), &keys)
            .await
        {
            assert!(matches!(lookup, Ok(Some(_))), "{lookup:?}");
        }
        // Listing that organization with the demo key: not found.
        let scope = ListScope::Organization(their_org_id.clone());
        let listing = connector(&running, demo)
            .list_offers(&CallContext::default(), &scope, 0, 10)
            .await;
        assert!(
            matches!(listing, Err(UpstreamError::NotFound(_))),
            "{listing:?}"
        );
        let page = connector(&running, other)
            .list_offers(&CallContext::default(), &scope, 0, 10)
            .await
            .unwrap();
        assert_eq!(
            page.total_count,
            data.organization_online_offers(&their_org_id).len() as u64
        );
    }

    #[tokio::test]
    async fn uuid_form_ids_are_canonicalized_and_fetched() {
        let (running, data) = start().await;
        let connector = connector(&running, sim::demo_credentials());
        let raw = &data.online_offers[0];
        let uuid = shortuuid::format_uuid(shortuuid::decode(&raw.id).unwrap());
        assert_eq!(
            connector.canonical_id(OfferKind::Online, &uuid),
            Ok(raw.id.clone())
        );
        assert_eq!(
            connector.canonical_id(OfferKind::InStore, &uuid.to_uppercase()),
            Ok(raw.id.clone())
        );
        let key = OfferKey::new(OfferKind::Online, uuid);
        let answers = connector
            .fetch_offers(&CallContext::default(), std::slice::from_ref(&key))
            .await;
        let (answer_key, lookup) = &answers[0];
        assert_eq!(answer_key, &key);
        let offer = lookup.as_ref().unwrap().as_ref().unwrap();
        assert_eq!(offer.common().key.native_id, raw.id);
    }

    #[tokio::test]
    async fn canonical_id_explains_malformed_ids() {
        let (running, _) = start().await;
        let connector = connector(&running, sim::demo_credentials());
        for (raw, hint) in [
            ("", "22-character shortuuid"),
            ("CnEqURgZ3swzj528KMLvX", "got 21 characters"),
            ("CnEqURgZ3swzj528KMLvX0", "not in the shortuuid alphabet"),
            ("zzzzzzzzzzzzzzzzzzzzzz", "out of range"),
            ("3c90c3cc-0d44-4b50-8888-8dd25736052z", "malformed UUID"),
        ] {
            let err = connector.canonical_id(OfferKind::Online, raw).unwrap_err();
            assert!(err.contains(hint), "{raw:?}: {err}");
        }
        let err = connector
            .canonical_id(OfferKind::Marketplace, "CnEqURgZ3swzj528KMLvX5")
            .unwrap_err();
        assert!(err.contains("MarketplaceOffer"), "{err}");
        assert_eq!(running.control.total(), 0);
    }

    #[tokio::test]
    async fn wrong_credentials_are_unauthorized() {
        let (running, data) = start().await;
        let org = data.organizations[0].id.clone();
        let key = OfferKey::new(OfferKind::Online, data.online_offers[0].id.clone());
        for api_key in [
            "csb_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_00000000",
            "not a key",
            "line\nbreak",
        ] {
            let connector = connector(
                &running,
                Credentials::Closient(closient::Credentials {
                    api_key: Secret::new(api_key),
                }),
            );
            let answers = connector
                .fetch_offers(&CallContext::default(), std::slice::from_ref(&key))
                .await;
            let err = answers[0].1.clone().unwrap_err();
            assert!(matches!(err, UpstreamError::Unauthorized { .. }), "{err:?}");
            assert!(!err.to_string().contains(api_key), "{err}");
            let err = connector
                .list_offers(
                    &CallContext::default(),
                    &ListScope::Organization(org.clone()),
                    0,
                    10,
                )
                .await
                .unwrap_err();
            assert!(matches!(err, UpstreamError::Unauthorized { .. }), "{err:?}");
        }
    }

    #[tokio::test]
    async fn lists_an_organization_to_the_end_through_several_pages() {
        let (running, data) = start().await;
        let connector = connector(&running, sim::demo_credentials());
        let visible = visible_orgs(&data, &sim::demo_credentials());
        let org = visible
            .iter()
            .copied()
            .max_by_key(|&o| {
                data.organization_online_offers(&data.organizations[o].id)
                    .len()
            })
            .unwrap();
        let org_id = data.organizations[org].id.clone();
        let expected: Vec<String> = data
            .organization_online_offers(&org_id)
            .iter()
            .map(|o| o.id.clone())
            .collect();
        assert!(expected.len() > 250, "{} offers", expected.len());
        let scope = ListScope::Organization(org_id.clone());
        for step in [100_u32, 37] {
            running.control.reset_counts();
            let mut listed = Vec::new();
            let mut offset = 0;
            loop {
                let page = connector
                    .list_offers(&CallContext::default(), &scope, offset, step)
                    .await
                    .unwrap();
                assert_eq!(page.total_count, expected.len() as u64);
                let received = page.items.len();
                for offer in page.offers() {
                    let o = online(offer);
                    let raw = data.online_offer(&o.common.key.native_id).unwrap();
                    assert_eq!(o.organization_id.as_deref(), Some(org_id.as_str()));
                    assert_eq!(
                        o.common.price.as_ref().map(|m| m.amount()),
                        raw.price
                            .as_ref()
                            .and_then(|p| p.amount.as_deref())
                            .map(decimal)
                    );
                    listed.push(o.common.key.native_id.clone());
                }
                offset += received as u64;
                if received < step as usize {
                    break;
                }
            }
            assert_eq!(listed, expected, "step {step}");
            assert!(running.control.count(LIST_ENDPOINT) >= expected.len() as u64 / 100);
        }
        // Past the end: empty, with the total.
        let page = connector
            .list_offers(&CallContext::default(), &scope, 10_000, 50)
            .await
            .unwrap();
        assert_eq!(
            (page.items.len(), page.total_count),
            (0, expected.len() as u64)
        );
        // The organization id may be given as a UUID.
        let uuid_scope =
            ListScope::Organization(shortuuid::format_uuid(data.organizations[org].uuid));
        let page = connector
            .list_offers(&CallContext::default(), &uuid_scope, 3, 2)
            .await
            .unwrap();
        let ids: Vec<_> = page
            .offers()
            .map(|o| o.common().key.native_id.clone())
            .collect();
        assert_eq!(ids, expected[3..5]);
    }

    #[tokio::test]
    async fn unaligned_windows_cost_at_most_two_page_calls() {
        let (running, data) = start().await;
        let connector = connector(&running, sim::demo_credentials());
        let org_id = data.organizations[0].id.clone();
        let expected: Vec<String> = data
            .organization_online_offers(&org_id)
            .iter()
            .map(|o| o.id.clone())
            .collect();
        let scope = ListScope::Organization(org_id);
        for (offset, limit, calls) in [(90_u64, 20_u32, 1_u64), (95, 100, 2), (0, 0, 1)] {
            running.control.reset_counts();
            let page = connector
                .list_offers(&CallContext::default(), &scope, offset, limit)
                .await
                .unwrap();
            let ids: Vec<_> = page
                .offers()
                .map(|o| o.common().key.native_id.clone())
                .collect();
            let end = (offset + u64::from(limit)) as usize;
            assert_eq!(ids, expected[offset as usize..end.min(expected.len())]);
            assert_eq!(page.total_count, expected.len() as u64);
            assert_eq!(
                running.control.count(LIST_ENDPOINT),
                calls,
                "{offset}/{limit}"
            );
        }
    }

    #[tokio::test]
    async fn listing_all_offers_is_not_supported() {
        let (running, _) = start().await;
        let connector = connector(&running, sim::demo_credentials());
        let err = connector
            .list_offers(&CallContext::default(), &ListScope::All, 0, 10)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, UpstreamError::Rejected { detail, .. } if detail.contains("per organization")),
            "{err:?}"
        );
        let err = connector
            .list_offers(
                &CallContext::default(),
                &ListScope::Organization("nope".into()),
                0,
                10,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, UpstreamError::Rejected { status: 422, .. }),
            "{err:?}"
        );
        assert_eq!(running.control.total(), 0);
    }

    #[tokio::test]
    async fn rate_limited_answers_become_rate_limited_errors() {
        let (running, data) = start().await;
        data.set_minute_limit(Some(2));
        let connector = connector(&running, sim::demo_credentials());
        let key = OfferKey::new(OfferKind::Online, data.online_offers[0].id.clone());
        for _ in 0..2 {
            let answers = connector
                .fetch_offers(&CallContext::default(), std::slice::from_ref(&key))
                .await;
            assert!(answers[0].1.is_ok(), "{:?}", answers[0].1);
        }
        let answers = connector
            .fetch_offers(&CallContext::default(), std::slice::from_ref(&key))
            .await;
        match &answers[0].1 {
            Err(UpstreamError::RateLimited {
                retry_after: Some(wait),
            }) => {
                assert!(
                    *wait > Duration::ZERO && *wait <= Duration::from_secs(60),
                    "{wait:?}"
                );
            }
            other => panic!("expected a rate limit, got {other:?}"),
        }
        let err = connector
            .list_offers(
                &CallContext::default(),
                &ListScope::Organization(data.organizations[0].id.clone()),
                0,
                5,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, UpstreamError::RateLimited { .. }), "{err:?}");
        data.set_minute_limit(None);
        let answers = connector
            .fetch_offers(&CallContext::default(), std::slice::from_ref(&key))
            .await;
        assert!(answers[0].1.is_ok());
    }

    // The catalog index's calls: the legacy listing and products by id.

    const LEGACY_ENDPOINT: &str = "GET /retailers/api/v1/organizations/{organization_id}/offers";
    const BROWSE_ENDPOINT: &str = "GET /products/api/v1/browse/products/{id}";

    /// Lists `organization` with `page_size` from page 1 until `has_next`
    /// is false; every item must be readable.
    async fn list_all_legacy(
        connector: &ClosientConnector,
        call: &Call<'_>,
        organization: &str,
        page_size: u32,
    ) -> (Vec<map::LegacyOffer>, u64) {
        let mut listed = Vec::new();
        let mut total = None;
        for page in 1.. {
            let answer = connector
                .list_in_store_offer_ids(call, organization, page, page_size)
                .await
                .expect("the listing answers");
            assert_eq!(*total.get_or_insert(answer.total_count), answer.total_count);
            listed.extend(
                answer
                    .items
                    .into_iter()
                    .map(|item| item.expect("every simulated item is readable")),
            );
            if !answer.has_next {
                break;
            }
        }
        (listed, total.unwrap_or_default())
    }

    #[tokio::test]
    async fn lists_an_organizations_in_store_offer_ids_to_the_end_each_fetchable_by_id() {
        let (running, data) = start().await;
        data.set_minute_limit(None);
        let credentials = sim::demo_credentials();
        let (connector, instance) = direct(&running.base_url, credentials.clone());
        let context = CallContext::default();
        let call = instance.call(&context);
        let org = visible_orgs(&data, &credentials)
            .into_iter()
            .max_by_key(|&o| {
                data.organization_in_store_offers(&data.organizations[o].id)
                    .len()
            })
            .unwrap();
        let org_id = data.organizations[org].id.clone();
        let expected: Vec<map::LegacyOffer> = data
            .organization_in_store_offers(&org_id)
            .iter()
            .map(|o| map::LegacyOffer {
                id: o.id.clone(),
                product_id: o.product_id.clone(),
                organization_id: org_id.clone(),
            })
            .collect();
        assert!(expected.len() > 150, "{} offers", expected.len());
        for page_size in [100_u32, 37] {
            running.control.reset_counts();
            let (listed, total) = list_all_legacy(&connector, &call, &org_id, page_size).await;
            assert_eq!(listed, expected, "page size {page_size}");
            assert_eq!(total, expected.len() as u64);
            assert_eq!(
                running.control.count(LEGACY_ENDPOINT),
                total.div_ceil(u64::from(page_size))
            );
        }
        // Every listed id is an in-store offer of that product, by id.
        let keys: Vec<OfferKey> = expected
            .iter()
            .map(|o| OfferKey::new(OfferKind::InStore, o.id.clone()))
            .collect();
        let answers = instance.fetch_offers(&CallContext::default(), &keys).await;
        assert_eq!(answers.len(), expected.len());
        for (key, lookup) in answers {
            let offer = lookup.unwrap().expect("a listed id is fetchable");
            let listed = expected.iter().find(|o| o.id == key.native_id).unwrap();
            assert_eq!(offer.common().product_id, listed.product_id);
        }
        // The organization as a UUID, a page in the middle, and past the end.
        let uuid = shortuuid::format_uuid(data.organizations[org].uuid);
        let page = connector
            .list_in_store_offer_ids(&call, &uuid, 2, 5)
            .await
            .unwrap();
        let ids: Vec<_> = page.items.iter().map(|i| i.as_ref().unwrap()).collect();
        assert_eq!(ids, expected[5..10].iter().collect::<Vec<_>>());
        assert!(page.has_next);
        let page = connector
            .list_in_store_offer_ids(&call, &org_id, 99, 100)
            .await
            .unwrap();
        assert!(page.items.is_empty() && !page.has_next);
        assert_eq!(page.total_count, expected.len() as u64);
    }

    #[tokio::test]
    async fn the_legacy_listing_of_an_organization_the_key_cannot_view_is_not_found() {
        let (running, data) = start().await;
        let demo = sim::demo_credentials();
        let other = sim::other_credentials();
        let theirs = data.organizations[exclusive_org(&data, &other, &demo)]
            .id
            .clone();
        let context = CallContext::default();
        let (connector, instance) = direct(&running.base_url, demo);
        let err = connector
            .list_in_store_offer_ids(&instance.call(&context), &theirs, 1, 10)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, UpstreamError::NotFound(what) if what.contains(&theirs)),
            "{err:?}"
        );
        let (connector, instance) = direct(&running.base_url, other);
        let page = connector
            .list_in_store_offer_ids(&instance.call(&context), &theirs, 1, 10)
            .await
            .unwrap();
        assert_eq!(
            page.total_count,
            data.organization_in_store_offers(&theirs).len() as u64
        );
    }

    #[tokio::test]
    async fn malformed_organization_ids_and_paging_are_rejected_without_a_call() {
        let (running, data) = start().await;
        let org = data.organizations[0].id.clone();
        let (connector, instance) = direct(&running.base_url, sim::demo_credentials());
        let context = CallContext::default();
        let call = instance.call(&context);
        for (organization, page, page_size, hint) in [
            ("nope", 1, 10, "organization id"),
            (org.as_str(), 0, 10, "page 0"),
            (org.as_str(), 1, 0, "page_size 0"),
            (org.as_str(), 1, 101, "page_size 101"),
        ] {
            let err = connector
                .list_in_store_offer_ids(&call, organization, page, page_size)
                .await
                .unwrap_err();
            assert!(
                matches!(&err, UpstreamError::Rejected { status: 422, detail } if detail.contains(hint)),
                "{organization}/{page}/{page_size}: {err:?}"
            );
        }
        // An id that cannot name a product is simply not found.
        let product = connector.product_by_id(&call, "nope").await.unwrap();
        assert_eq!(product, None);
        assert_eq!(running.control.total(), 0);
    }

    #[tokio::test]
    async fn one_unreadable_legacy_item_fails_only_itself() {
        use axum::routing::get;
        use serde_json::json;

        let org = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
        let body = json!({
            "data": [
                {"id": "00000000-0000-0000-0000-000000000001",
                 "product_id": "00000000-0000-0000-0000-000000000002",
                 "retailer_id": "00000000-0000-0000-0000-000000000003",
                 "organization_id": org, "price": "5.99", "price_currency": "USD",
                 "status": "inactive", "source": "feed", "quantity_on_hand": null},
                {"id": "not-a-uuid", "product_id": "00000000-0000-0000-0000-000000000002"},
                {"id": "00000000-0000-0000-0000-000000000004", "product_id": 17},
                {"id": "00000000-0000-0000-0000-000000000005",
                 "product_id": "00000000-0000-0000-0000-000000000002",
                 "organization_id": null, "status": "archived", "price": null}
            ],
            "pagination": {"page": 1, "page_size": 4, "total_count": 9, "total_pages": 3,
                           "has_next": true, "has_previous": false}
        });
        let canned = axum::Router::new().route(
            "/retailers/api/v1/organizations/{organization_id}/offers",
            get(move || {
                let body = body.clone();
                async move { axum::Json(body) }
            }),
        );
        let running = serve(canned).await.expect("canned upstream starts");
        let (connector, instance) = direct(&running.base_url, sim::demo_credentials());
        let context = CallContext::default();
        let page = connector
            .list_in_store_offer_ids(&instance.call(&context), org, 1, 4)
            .await
            .unwrap();
        assert_eq!((page.total_count, page.has_next), (9, true));
        assert_eq!(page.items.len(), 4);
        let org_short = shortuuid::canonical(org).unwrap();
        assert_eq!(
            page.items[0].as_ref().unwrap(),
            &map::LegacyOffer {
                id: "2222222222222222222223".into(),
                product_id: "2222222222222222222224".into(),
                organization_id: org_short.clone(),
            }
        );
        for bad in &page.items[1..3] {
            assert!(matches!(bad, Err(UpstreamError::BadResponse(_))), "{bad:?}");
        }
        assert_eq!(
            page.items[3].as_ref().unwrap().organization_id,
            org_short,
            "without its own, an item belongs to the organization listed"
        );
    }

    #[tokio::test]
    async fn products_are_found_by_shortuuid_or_uuid_and_unknown_ones_are_none() {
        let (running, data) = start().await;
        let catalog = Catalog::generate(SEED);
        let context = CallContext::default();
        for credentials in [sim::demo_credentials(), sim::other_credentials()] {
            running.control.reset_counts();
            let (connector, instance) = direct(&running.base_url, credentials);
            let call = instance.call(&context);
            for product in catalog.products.iter().take(4) {
                let short = shortuuid::encode(product.uuid);
                for id in [short.clone(), shortuuid::format_uuid(product.uuid)] {
                    let found = connector.product_by_id(&call, &id).await.unwrap();
                    assert_eq!(
                        found,
                        Some(map::ClosientProduct {
                            id: short.clone(),
                            gtin: product.gtin.clone(),
                            name: Some(product.name.clone()),
                            brand: Some(product.brand.clone()),
                            image_url: None,
                        }),
                        "{id}"
                    );
                    assert!(data.browse_product(&id).is_some());
                }
            }
            let unknown = shortuuid::encode(42);
            assert_eq!(
                connector.product_by_id(&call, &unknown).await.unwrap(),
                None
            );
            assert_eq!(running.control.count(BROWSE_ENDPOINT), 9);
        }
    }

    #[tokio::test]
    async fn catalog_calls_map_bad_keys_and_rate_limits_like_the_listing() {
        let (running, data) = start().await;
        let org = data.organizations[0].id.clone();
        let product = data.browse_products[0].id.clone();
        let context = CallContext::default();
        let (connector, instance) = direct(
            &running.base_url,
            Credentials::Closient(closient::Credentials {
                api_key: Secret::new("csb_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_00000000"),
            }),
        );
        let call = instance.call(&context);
        let err = connector
            .list_in_store_offer_ids(&call, &org, 1, 10)
            .await
            .unwrap_err();
        assert!(matches!(err, UpstreamError::Unauthorized { .. }), "{err:?}");
        let err = connector.product_by_id(&call, &product).await.unwrap_err();
        assert!(matches!(err, UpstreamError::Unauthorized { .. }), "{err:?}");

        data.set_minute_limit(Some(1));
        let (connector, instance) = direct(&running.base_url, sim::demo_credentials());
        let call = instance.call(&context);
        assert!(connector.product_by_id(&call, &product).await.is_ok());
        let err = connector
            .list_in_store_offer_ids(&call, &org, 1, 10)
            .await
            .unwrap_err();
        assert!(matches!(err, UpstreamError::RateLimited { .. }), "{err:?}");
        let err = connector.product_by_id(&call, &product).await.unwrap_err();
        assert!(matches!(err, UpstreamError::RateLimited { .. }), "{err:?}");
    }

    // Promotions.

    const ONLINE_PROMOTIONS: &str = "/retailers/api/v1/online-offers/{offer_id}/promotions";
    const IN_STORE_PROMOTIONS: &str = "/retailers/api/v1/in-store-offers/{offer_id}/promotions";

    /// A readable promotion of offer `offer_id` at `price`.
    fn promotion_json(id: u128, offer_id: &str, price: &str) -> serde_json::Value {
        serde_json::json!({
            "id": shortuuid::encode(id), "short_id": "P1", "offer_id": offer_id,
            "promotional_price": price, "start_date": "2024-10-23T21:52:56Z",
            "end_date": "2024-11-23T21:52:56Z", "metadata": {}, "currency": "",
            "promotion_type": "SALE", "description": "", "is_active": true
        })
    }

    #[tokio::test]
    async fn promotions_are_fetched_once_per_distinct_key_within_the_concurrency_limit() {
        use axum::extract::Path;
        use axum::routing::get;
        use std::sync::atomic::{AtomicUsize, Ordering};

        #[derive(Default)]
        struct Gauge {
            now: AtomicUsize,
            max: AtomicUsize,
        }
        let gauge = Arc::new(Gauge::default());
        let canned = axum::Router::new().route(
            ONLINE_PROMOTIONS,
            get({
                let gauge = gauge.clone();
                move |Path(offer_id): Path<String>| {
                    let gauge = gauge.clone();
                    async move {
                        let now = gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
                        gauge.max.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(40)).await;
                        gauge.now.fetch_sub(1, Ordering::SeqCst);
                        let price = format!("{}.00", shortuuid::decode(&offer_id).unwrap());
                        axum::Json(serde_json::json!([
                            promotion_json(1, &offer_id, &price),
                            // Unreadable: skipped, the other one kept.
                            {"id": shortuuid::encode(2), "offer_id": offer_id,
                             "promotional_price": "12,99", "start_date": "2024-10-23T21:52:56Z",
                             "end_date": "2024-11-23T21:52:56Z", "promotion_type": "SALE"}
                        ]))
                    }
                }
            }),
        );
        let running = serve(canned).await.expect("canned upstream starts");
        let mut spec = spec(&running.base_url, sim::demo_credentials());
        spec.settings.max_concurrency = 3;
        let instance = Instance::new(spec, HttpClient::new(DEFAULT_CONNECT_TIMEOUT));
        let online: Vec<OfferKey> = (10..22)
            .map(|n| OfferKey::new(OfferKind::Online, shortuuid::encode(n)))
            .collect();
        let mut keys = online.clone();
        keys.extend(online.iter().take(5).cloned()); // asked twice
        keys.push(OfferKey::new(OfferKind::Marketplace, "offer_01"));
        keys.push(OfferKey::new(OfferKind::Online, "not-a-closient-id"));
        let answers = instance
            .fetch_promotions(&CallContext::default(), &keys)
            .await;
        assert_eq!(answers.len(), online.len() + 2);
        for (key, promotions) in answers {
            let promotions = promotions.expect("no upstream error");
            match shortuuid::decode(&key.native_id) {
                Ok(n) if key.kind == OfferKind::Online => {
                    assert_eq!(promotions.len(), 1, "{key:?}");
                    assert_eq!(promotions[0].id, shortuuid::encode(1));
                    assert_eq!(promotions[0].price, Decimal::from(n as u64));
                }
                _ => assert!(promotions.is_empty(), "{key:?}"),
            }
        }
        assert_eq!(
            running.control.count(&format!("GET {ONLINE_PROMOTIONS}")),
            online.len() as u64
        );
        let max = gauge.max.load(Ordering::SeqCst);
        assert!((2..=3).contains(&max), "{max} requests in flight at once");
    }

    #[tokio::test]
    async fn promotions_of_a_missing_offer_are_none_and_other_errors_map_like_offer_lookups() {
        use axum::extract::Path;
        use axum::http::StatusCode;
        use axum::routing::get;
        use serde_json::json;

        let envelope = |status: u16, code: &str| {
            (
                StatusCode::from_u16(status).unwrap(),
                axum::Json(
                    json!({"error": {"code": code, "message": "no", "status": status,
                    "details": []}}),
                ),
            )
        };
        let canned = axum::Router::new().route(
            IN_STORE_PROMOTIONS,
            get(move |Path(offer_id): Path<String>| async move {
                match shortuuid::decode(&offer_id).unwrap() {
                    1 => envelope(404, "NOT_FOUND"),
                    2 => envelope(401, "UNAUTHORIZED"),
                    3 => envelope(422, "VALIDATION_ERROR"),
                    4 => (StatusCode::OK, axum::Json(json!({"data": []}))),
                    _ => (StatusCode::OK, axum::Json(json!([]))),
                }
            }),
        );
        let running = serve(canned).await.expect("canned upstream starts");
        let instance = connector(&running, sim::demo_credentials());
        let keys: Vec<OfferKey> = (1..=5)
            .map(|n| OfferKey::new(OfferKind::InStore, shortuuid::encode(n)))
            .collect();
        let answers = instance
            .fetch_promotions(&CallContext::default(), &keys)
            .await;
        let answer = |n: u128| {
            answers
                .iter()
                .find(|(key, _)| key.native_id == shortuuid::encode(n))
                .map(|(_, answer)| answer.clone())
                .expect("every key is answered")
        };
        assert!(matches!(answer(1), Ok(list) if list.is_empty()));
        assert!(matches!(
            answer(2),
            Err(UpstreamError::Unauthorized { status: 401, .. })
        ));
        assert!(matches!(
            answer(3),
            Err(UpstreamError::Rejected { status: 422, .. })
        ));
        assert!(
            matches!(answer(4), Err(UpstreamError::BadResponse(_))),
            "a list is expected, not an envelope: {:?}",
            answer(4)
        );
        assert!(matches!(answer(5), Ok(list) if list.is_empty()));
        assert_eq!(running.control.total(), 5);
    }

    /// Checks a mapped promotion against the simulator's raw value.
    fn assert_promotion_is_raw(promotion: &Promotion, raw: &wire::PromotionOut) {
        let time = |text: &str| humantime::parse_rfc3339(text).expect("simulator timestamps");
        assert_eq!(promotion.id, raw.id);
        assert_eq!(promotion.price, decimal(&raw.promotional_price), "{raw:?}");
        assert_eq!(
            promotion.currency.map(|c| c.code()),
            Some(raw.currency.as_str()).filter(|c| !c.is_empty())
        );
        assert_eq!(promotion.starts_at, time(&raw.start_date));
        assert_eq!(promotion.ends_at, time(&raw.end_date));
        assert_eq!(promotion.is_active, raw.is_active);
        assert_eq!(promotion.upstream_kind, raw.promotion_type.as_str());
        assert_eq!(promotion.description, raw.description);
    }

    #[tokio::test]
    async fn fetches_the_simulators_promotions_per_key_with_404_as_none_and_unreadable_ones_skipped(
    ) {
        let (running, data) = start().await;
        let demo = sim::demo_credentials();
        let visible: Vec<String> = data
            .organizations_visible_to(&demo)
            .iter()
            .map(|o| o.id.clone())
            .collect();
        let seen = |org: &Option<String>| org.as_ref().is_some_and(|o| visible.contains(o));
        let mut keys: Vec<OfferKey> = data
            .online_offers
            .iter()
            .filter(|o| seen(&o.organization_id) && !data.online_promotions(&o.id).is_empty())
            .take(6)
            .map(|o| OfferKey::new(OfferKind::Online, o.id.clone()))
            .collect();
        keys.extend(
            data.in_store_offers
                .iter()
                .filter(|o| seen(&o.organization_id) && !data.in_store_promotions(&o.id).is_empty())
                .take(6)
                .map(|o| OfferKey::new(OfferKind::InStore, o.id.clone())),
        );
        let bare = data
            .online_offers
            .iter()
            .find(|o| seen(&o.organization_id) && data.online_promotions(&o.id).is_empty())
            .expect("an offer without promotions");
        keys.push(OfferKey::new(OfferKind::Online, bare.id.clone()));
        let hidden = data
            .in_store_offers
            .iter()
            .find(|o| !seen(&o.organization_id) && !data.in_store_promotions(&o.id).is_empty())
            .expect("a promoted offer the demo key cannot view");
        keys.push(OfferKey::new(OfferKind::InStore, hidden.id.clone()));
        keys.push(OfferKey::new(OfferKind::Online, shortuuid::encode(42)));
        // One offer's promotions: readable, unreadable, readable.
        let edited = keys[0].native_id.clone();
        let mut promotions = data.current_online_promotions(&edited);
        let mut broken = promotions[0].clone();
        broken.id = shortuuid::encode(43);
        broken.promotional_price = "12,99".into();
        let mut another = promotions[0].clone();
        another.id = shortuuid::encode(44);
        another.promotion_type = wire::PromotionType::Unrecognized("FLASH_SALE".into());
        another.currency = String::new();
        promotions.splice(1..1, [broken, another]);
        data.set_online_promotions(&edited, promotions);

        let connector = connector(&running, demo);
        let answers = connector
            .fetch_promotions(&CallContext::default(), &keys)
            .await;
        assert_eq!(answers.len(), keys.len());
        for (key, answer) in answers {
            let promotions = answer.expect("no upstream error");
            let mut raw = match key.kind {
                OfferKind::Online => data.current_online_promotions(&key.native_id),
                _ => data.current_in_store_promotions(&key.native_id),
            };
            if key.native_id == hidden.id || key.native_id == shortuuid::encode(42) {
                raw.clear(); // 404: none apply
            }
            if key.native_id == edited {
                raw.retain(|p| p.promotional_price != "12,99");
                assert!(promotions
                    .iter()
                    .any(|p| p.kind == PromotionKind::Unrecognized));
            }
            assert_eq!(promotions.len(), raw.len(), "{key:?}");
            for (promotion, raw) in promotions.iter().zip(&raw) {
                assert_promotion_is_raw(promotion, raw);
            }
        }
        let online = keys.iter().filter(|k| k.kind == OfferKind::Online).count();
        assert_eq!(
            running.control.count(&format!("GET {ONLINE_PROMOTIONS}")),
            online as u64
        );
        assert_eq!(
            running.control.count(&format!("GET {IN_STORE_PROMOTIONS}")),
            (keys.len() - online) as u64
        );

        // Credentials and rate limits fail every key, like offer lookups.
        let refused = connector_with_key(&running, "csb_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_00000000");
        for (_, answer) in refused
            .fetch_promotions(&CallContext::default(), &keys[..2])
            .await
        {
            assert!(
                matches!(answer, Err(UpstreamError::Unauthorized { .. })),
                "{answer:?}"
            );
        }
        data.reset_rate_limits();
        data.set_minute_limit(Some(1));
        let answers = connector
            .fetch_promotions(&CallContext::default(), &keys[..1])
            .await;
        assert!(answers[0].1.is_ok());
        let answers = connector
            .fetch_promotions(&CallContext::default(), &keys[..1])
            .await;
        assert!(
            matches!(answers[0].1, Err(UpstreamError::RateLimited { .. })),
            "{:?}",
            answers[0].1
        );
    }

    fn connector_with_key(running: &RunningSim, key: &str) -> Instance {
        connector(
            running,
            Credentials::Closient(closient::Credentials {
                api_key: Secret::new(key),
            }),
        )
    }
}
