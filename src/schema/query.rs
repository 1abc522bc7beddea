//! The root query: lookups by global id, upstream listings as Relay
//! connections, and the list of configured upstreams.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject, ID};

use crate::error::{ErrorCode, GatewayError, UpstreamError};
use crate::gtin::Gtin;
use crate::limits::Limits;
use crate::loader::Loaders;
use crate::model::{self, OfferKey, OfferKind, UpstreamKind};
use crate::pricing::compare::{
    compare_with_promotions, price_order, Excluded, ExclusionReason, Request,
};
use crate::pricing::convert::RateTable;
use crate::pricing::Currency;
use crate::rates::ExchangeRates;
use crate::schema::catalog_status::{catalog_status, CatalogStatus};
use crate::schema::compare::OfferComparison;
use crate::schema::connection::{decode_cursor, MarketplaceOfferConnection, OnlineOfferConnection};
use crate::schema::id::GlobalId;
use crate::schema::money::currency_argument;
use crate::schema::offer::{MarketplaceOffer, Node, OfferInterface, OnlineOffer};
use crate::schema::product::{
    decode_product_id, product_by_gtin, search_products, Product, ProductConnection,
};
use crate::schema::scope;
use crate::upstream::{Instance, ListScope, OfferFilter, PageItem, Upstreams};

/// The answer of a nullable field: `None` is null without an error,
/// `Some(Err(..))` is null with the error at the field's path. (async-graphql
/// turns an error inside an `Option` into a null; an error returned by the
/// resolver itself would drop the field instead.) This is what lets one
/// failing upstream leave the rest of a response intact.
pub(crate) type Nullable<T> = Option<Result<T>>;

/// Turns a resolver outcome into a nullable field value.
fn nullable<T>(outcome: Result<Option<T>, GatewayError>) -> Nullable<T> {
    match outcome {
        Ok(value) => value.map(Ok),
        Err(err) => Some(Err(err.into())),
    }
}

/// Page size of a connection when `first` is not given.
pub(crate) const DEFAULT_PAGE_SIZE: u32 = 25;

/// The root of all queries.
pub struct QueryRoot;

/// A configured upstream instance.
#[derive(SimpleObject)]
pub(crate) struct Upstream {
    /// The instance's name, as used in `marketplaceOffers(upstream:)` and in error extensions.
    pub name: String,
    /// The instance's API style.
    pub kind: UpstreamKind,
}

/// Resolves one global id into an offer: `Ok(None)` when unknown, a
/// `BAD_USER_INPUT` error naming `argument` when malformed, an upstream
/// error when the upstream failed.
async fn resolve_offer(
    ctx: &Context<'_>,
    argument: &str,
    id: &str,
    index: Option<usize>,
) -> Result<Option<OfferInterface>, GatewayError> {
    Ok(resolve_model(ctx, argument, id, index)
        .await?
        .map(OfferInterface::from_model))
}

/// Resolves one global id into a node: a product or an offer.
async fn resolve_node(
    ctx: &Context<'_>,
    argument: &str,
    id: &str,
    index: Option<usize>,
) -> Result<Option<Node>, GatewayError> {
    if let Some(gtin) = decode_product_id(id) {
        return Ok(product_by_gtin(ctx, &gtin).await?.map(Node::Product));
    }
    Ok(resolve_offer(ctx, argument, id, index)
        .await?
        .map(OfferInterface::into_node))
}

/// Like [`resolve_offer`], returning the domain offer.
async fn resolve_model(
    ctx: &Context<'_>,
    argument: &str,
    id: &str,
    index: Option<usize>,
) -> Result<Option<model::Offer>, GatewayError> {
    let global = GlobalId::decode(id).map_err(|why| GatewayError::bad_input(argument, why))?;
    let upstreams = ctx.data_unchecked::<Upstreams>();
    let Some(connector) = upstreams.get(&global.upstream) else {
        return Ok(None);
    };
    if !connector.offer_kinds().contains(&global.kind) {
        return Ok(None);
    }
    let native_id = connector
        .canonical_id(global.kind, &global.native_id)
        .map_err(|why| GatewayError::bad_input(argument, why))?;
    load_offer(ctx, connector, OfferKey::new(global.kind, native_id), index).await
}

/// Loads one offer of `connector` through its loader (batched, coalesced,
/// cached), within the instance's deadline: `Ok(None)` when the upstream
/// does not have it. A stale answer adds a warning for item `index`.
pub(crate) async fn load_offer(
    ctx: &Context<'_>,
    connector: &Arc<Instance>,
    key: OfferKey,
    index: Option<usize>,
) -> Result<Option<model::Offer>, GatewayError> {
    let loaders = ctx.data_unchecked::<Arc<Loaders>>();
    let scope = scope::of(ctx);
    let deadline = scope.deadline(connector.settings().deadline);
    let load = loaders.load(connector.name(), key);
    let loaded = tokio::time::timeout_at(deadline.into(), load)
        .await
        .unwrap_or(Err(UpstreamError::Timeout));
    match loaded {
        Ok(Some(fetched)) => {
            if let Some(age) = fetched.stale_age {
                scope.warn_stale(ctx, index, connector.name(), age);
            }
            Ok(Some(fetched.offer))
        }
        Ok(None) => Ok(None),
        Err(err) => Err(GatewayError::upstream(connector.name(), &err)),
    }
}

/// Refuses a list of more ids than the limit allows.
fn check_ids(ctx: &Context<'_>, ids: &[ID]) -> Result<(), GatewayError> {
    let max = ctx
        .data_opt::<Limits>()
        .map_or(crate::limits::DEFAULT_MAX_IDS, |l| l.max_ids);
    if ids.len() > max {
        return Err(GatewayError::limit(
            "max_ids",
            max,
            format!("at most {max} ids per call (got {})", ids.len()),
        ));
    }
    Ok(())
}

/// Checks `first`/`after` and returns (offset, limit).
pub(crate) fn page_window(
    first: Option<i32>,
    after: Option<String>,
    max: u32,
) -> Result<(u64, u32), GatewayError> {
    let limit = match first {
        None => DEFAULT_PAGE_SIZE.min(max),
        Some(n) if n < 0 => return Err(GatewayError::bad_input("first", "must not be negative")),
        Some(n) if n as u32 > max => {
            return Err(GatewayError::bad_input(
                "first",
                format!("at most {max} offers per page"),
            ))
        }
        Some(n) => n as u32,
    };
    let offset = match after {
        None => 0,
        Some(cursor) => decode_cursor(&cursor)
            .map_err(|why| GatewayError::bad_input("after", why))?
            .checked_add(1)
            .ok_or_else(|| GatewayError::bad_input("after", "cursor out of range"))?,
    };
    Ok((offset, limit))
}

/// Exact-match filters of `marketplaceOffers`: values as the upstream
/// stores them. Medusa-style upstreams filter on all four; Violet-style
/// ones by seller only.
#[derive(InputObject, Clone, Debug, Default)]
pub(crate) struct MarketplaceOfferFilter {
    /// The seller's id (Medusa `sel_...`; Violet: the merchant id).
    seller_id: Option<String>,
    /// The offer's SKU, exactly.
    sku: Option<String>,
    /// The EAN, exactly as the upstream stores it (`0196569222998` does not find
    /// `196569222998`; to find a product by any form of its code, use `product(gtin:)`).
    ean: Option<String>,
    /// The UPC, exactly as the upstream stores it.
    upc: Option<String>,
}

impl MarketplaceOfferFilter {
    /// The upstream filter; an empty or over-long value is `BAD_USER_INPUT`.
    fn into_filter(self) -> Result<OfferFilter, GatewayError> {
        let check = |name: &str, value: Option<String>| match value {
            Some(v) if v.trim().is_empty() => Err(GatewayError::bad_input(
                &format!("filter.{name}"),
                "must not be empty (leave it out instead)",
            )),
            Some(v) if v.len() > 128 => Err(GatewayError::bad_input(
                &format!("filter.{name}"),
                "at most 128 characters",
            )),
            other => Ok(other),
        };
        Ok(OfferFilter {
            seller_id: check("sellerId", self.seller_id)?,
            sku: check("sku", self.sku)?,
            ean: check("ean", self.ean)?,
            upc: check("upc", self.upc)?,
        })
    }
}

/// How a listing page is ordered.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OfferOrder {
    /// The upstream's own order.
    #[default]
    Upstream,
    /// By what one unit costs in `currency` (with shipping where known),
    /// cheapest first; offers that cannot be priced come last. Upstreams
    /// cannot sort by normalized price, so this orders the offers *within
    /// the fetched page*; cursors keep the upstream's positions, and
    /// `endCursor` continues after the page.
    Price,
}

/// The paging and ordering arguments of a listing.
struct ListArgs {
    first: Option<i32>,
    after: Option<String>,
    order_by: OfferOrder,
    currency: Option<String>,
}

/// One window of a listing, ready for a connection: offset, size of the
/// window, total, and the items (offers, or why one cannot be read) with
/// their positions, in display order.
type Window = (u64, u64, u64, Vec<(u64, PageItem)>);

/// Reads one window of a listing (through the instance's cache) and orders
/// it as asked.
async fn list_window(
    ctx: &Context<'_>,
    connector: &Arc<Instance>,
    scope: ListScope,
    args: ListArgs,
) -> Result<Window, GatewayError> {
    let currency = match (args.order_by, &args.currency) {
        (OfferOrder::Price, None) => {
            return Err(GatewayError::bad_input(
                "currency",
                "ordering by PRICE needs a currency",
            ))
        }
        (_, Some(code)) => Some(currency_argument("currency", code)?),
        (OfferOrder::Upstream, None) => None,
    };
    let (offset, limit) = page_window(args.first, args.after, connector.max_page_size())?;
    let store = ctx
        .data_unchecked::<Arc<Loaders>>()
        .store(connector.name())
        .ok_or_else(|| GatewayError::internal(format!("no store for `{}`", connector.name())))?;
    let request = scope::of(ctx);
    let deadline = request.deadline(connector.settings().deadline);
    // A zero-size window still reports the total: ask for one item.
    let (page, stale_age) =
        tokio::time::timeout_at(deadline.into(), store.list(scope, offset, limit.max(1)))
            .await
            .unwrap_or(Err(UpstreamError::Timeout))
            .map_err(|err| GatewayError::upstream(connector.name(), &err))?;
    if let Some(age) = stale_age {
        request.warn_stale(ctx, None, connector.name(), age);
    }
    let items: Vec<PageItem> = page.items.iter().take(limit as usize).cloned().collect();
    let count = items.len() as u64;
    let mut positioned: Vec<(u64, PageItem)> = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| (offset.saturating_add(i as u64), item))
        .collect();
    if let (OfferOrder::Price, Some(currency)) = (args.order_by, currency) {
        // Items that cannot be read cannot be priced: they come last.
        let (readable, unreadable): (Vec<_>, Vec<_>) =
            positioned.into_iter().partition(|(_, item)| item.is_ok());
        let plain: Vec<model::Offer> = readable
            .iter()
            .filter_map(|(_, item)| item.as_ref().ok().cloned())
            .collect();
        let table = rates_for(ctx, plain.iter(), currency).await;
        let order = price_order(&plain, currency, table.as_deref());
        let mut slots: Vec<Option<(u64, PageItem)>> = readable.into_iter().map(Some).collect();
        positioned = order
            .into_iter()
            .filter_map(|i| slots.get_mut(i).and_then(Option::take))
            .chain(unreadable)
            .collect();
    }
    Ok((offset, count, page.total_count, positioned))
}

/// The current exchange rates, when some of `offers` are priced in another
/// currency than `currency` (none are loaded otherwise). Without rates,
/// those offers are ranked as unconvertible rather than failing the field.
pub(crate) async fn rates_for<'a>(
    ctx: &Context<'_>,
    mut offers: impl Iterator<Item = &'a model::Offer>,
    currency: Currency,
) -> Option<Arc<RateTable>> {
    let needs_rates = offers.any(|offer| offer.currencies().iter().any(|c| *c != currency));
    if !needs_rates {
        return None;
    }
    match ctx.data_unchecked::<Arc<ExchangeRates>>().table().await {
        Ok(table) => Some(table),
        Err(err) => {
            tracing::warn!(cause = %err, "pricing without exchange rates");
            None
        }
    }
}

/// Finds the instance called `name` and checks it is of one of `kinds`.
fn instance<'a>(
    upstreams: &'a Upstreams,
    argument: &str,
    name: &str,
    kinds: &[UpstreamKind],
) -> Result<&'a Arc<Instance>, GatewayError> {
    let connector = upstreams
        .get(name)
        .ok_or_else(|| GatewayError::bad_input(argument, format!("no upstream named `{name}`")))?;
    if kinds.contains(&connector.kind()) {
        Ok(connector)
    } else {
        Err(GatewayError::bad_input(
            argument,
            format!(
                "upstream `{name}` is a {} upstream, not one of: {}",
                connector.kind().as_str(),
                kinds
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }
}

/// The root of all queries: offers by global id, upstream listings, and the configured upstreams.
// GraphQL fields take their arguments one by one (Relay paging, options).
#[allow(clippy::too_many_arguments)]
#[Object(name = "Query")]
impl QueryRoot {
    /// Fetches any object by its global id; null when no such object exists.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id.")] id: ID,
    ) -> Nullable<Node> {
        nullable(resolve_node(ctx, "id", &id, None).await)
    }

    /// Fetches objects by global id: same length and order as `ids`, null where not found.
    /// An item whose id is malformed or whose upstream failed is null with an error at its index.
    /// The list is null (`LIMIT_EXCEEDED`) when more ids are asked than the limit allows.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global ids, in the order the answer should follow.")] ids: Vec<ID>,
    ) -> Nullable<Vec<Nullable<Node>>> {
        if let Err(err) = check_ids(ctx, &ids) {
            return Some(Err(err.into()));
        }
        let lookups = ids.iter().enumerate().map(|(i, id)| async move {
            nullable(resolve_node(ctx, &format!("ids[{i}]"), id, Some(i)).await)
        });
        Some(Ok(futures::future::join_all(lookups).await))
    }

    /// Fetches one offer by its global id; null when no such offer exists.
    async fn offer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global offer id.")] id: ID,
    ) -> Nullable<OfferInterface> {
        nullable(resolve_offer(ctx, "id", &id, None).await)
    }

    /// Fetches offers by global id: same length and order as `ids`, null where not found.
    /// An item whose id is malformed or whose upstream failed is null with an error at its index;
    /// the other items are still answered. The list is null (`LIMIT_EXCEEDED`) when more ids
    /// are asked than the limit allows.
    async fn offers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global offer ids, in the order the answer should follow.")] ids: Vec<ID>,
    ) -> Nullable<Vec<Nullable<OfferInterface>>> {
        if let Err(err) = check_ids(ctx, &ids) {
            return Some(Err(err.into()));
        }
        let lookups = ids.iter().enumerate().map(|(i, id)| async move {
            nullable(resolve_offer(ctx, &format!("ids[{i}]"), id, Some(i)).await)
        });
        Some(Ok(futures::future::join_all(lookups).await))
    }

    /// Ranks offers by what the buyer pays for `quantity` in `currency`,
    /// delivered to `country`, and picks the cheapest by one rule: only
    /// offers whose `availability(quantity:)` is buyable (`NOW` or
    /// `WITH_WAIT`) and that deliver to the country where they state their
    /// countries take part; ranked by known delivery, then `NOW` before
    /// `WITH_WAIT`, then total (offers with an unknown total after, by
    /// subtotal), then request order. Every offer left out is listed with
    /// the reason. Offers whose upstream failed are left out with
    /// `UPSTREAM_ERROR`, and their errors are in the response's errors.
    async fn compare_offers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global ids of the offers to compare.")] ids: Vec<ID>,
        #[graphql(desc = "ISO 4217 code of the currency to compare in, e.g. \"EUR\".")]
        currency: String,
        #[graphql(desc = "Number of units to buy (at least 1).", default = 1)] quantity: Option<
            i32,
        >,
        #[graphql(desc = "ISO 3166-1 alpha-2 country of delivery, e.g. \"DE\".")] country: Option<
            String,
        >,
    ) -> Nullable<OfferComparison> {
        if let Err(err) = check_ids(ctx, &ids) {
            return Some(Err(err.into()));
        }
        nullable(
            compare_offers(ctx, ids, currency, quantity.unwrap_or(1), country)
                .await
                .map(Some),
        )
    }

    /// The product with this GTIN (GTIN-8, UPC-A, EAN-13 or GTIN-14: all forms of one code
    /// give the same product), with every offer of it across all upstreams; null when no
    /// upstream names it. `BAD_USER_INPUT` for a malformed GTIN or a wrong check digit.
    async fn product(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The product's GTIN, e.g. \"0196569222998\" or \"196569222998\".")]
        gtin: String,
    ) -> Nullable<Product> {
        let gtin = match Gtin::parse(&gtin) {
            Ok(gtin) => gtin,
            Err(why) => return Some(Err(GatewayError::bad_input("gtin", why).into())),
        };
        nullable(product_by_gtin(ctx, &gtin).await)
    }

    /// Products whose name or brand match every word of `search` (word prefixes count), best
    /// match first; a GTIN in any form finds its product.
    async fn products(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Words to find in product names and brands, or a GTIN.")] search: String,
        #[graphql(desc = "Number of products to return (default 25, at most 100).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Return products after this cursor.")] after: Option<String>,
    ) -> Nullable<ProductConnection> {
        nullable(search_products(ctx, &search, first, after).await.map(Some))
    }

    /// The state of the catalog index and of each upstream instance's sync.
    async fn catalog_status(&self, ctx: &Context<'_>) -> Nullable<CatalogStatus> {
        nullable(catalog_status(ctx).await.map(Some))
    }

    /// The configured upstream instances.
    async fn upstreams(&self, ctx: &Context<'_>) -> Vec<Upstream> {
        ctx.data_unchecked::<Upstreams>()
            .iter()
            .map(|c| Upstream {
                name: c.name().to_string(),
                kind: c.kind(),
            })
            .collect()
    }

    /// The online offers of one organization of a Closient-style upstream, a page at a time,
    /// in the upstream's order (or by price within the page with `orderBy: PRICE`). Null
    /// with an error when the arguments are invalid or the upstream fails.
    async fn online_offers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The organization's id: a 22-character shortuuid or a canonical UUID.")]
        organization_id: String,
        #[graphql(
            desc = "Name of the Closient-style upstream; needed only when several are configured."
        )]
        upstream: Option<String>,
        #[graphql(
            desc = "Number of offers to return (default 25, at most the upstream's page size limit)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Return offers after this cursor.")] after: Option<String>,
        #[graphql(desc = "The order of the offers in the page.", default)] order_by: OfferOrder,
        #[graphql(desc = "ISO 4217 currency to order by price in (needed with `orderBy: PRICE`).")]
        currency: Option<String>,
    ) -> Nullable<OnlineOfferConnection> {
        let args = ListArgs {
            first,
            after,
            order_by,
            currency,
        };
        nullable(online_offers_page(ctx, organization_id, upstream, args).await)
    }

    /// The offers of a marketplace (Medusa-style) or catalog (Violet-style) upstream, a page at
    /// a time, in the upstream's order (or by price within the page with `orderBy: PRICE`),
    /// optionally only those matching `filter`. Null with an error when the arguments are
    /// invalid (a filter the upstream cannot apply is `BAD_USER_INPUT`) or the upstream fails.
    #[allow(clippy::too_many_arguments)]
    async fn marketplace_offers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Name of the Medusa- or Violet-style upstream (see `upstreams`).")]
        upstream: String,
        #[graphql(desc = "Only the offers matching every filter given.")] filter: Option<
            MarketplaceOfferFilter,
        >,
        #[graphql(
            desc = "Number of offers to return (default 25, at most the upstream's page size limit)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Return offers after this cursor.")] after: Option<String>,
        #[graphql(desc = "The order of the offers in the page.", default)] order_by: OfferOrder,
        #[graphql(desc = "ISO 4217 currency to order by price in (needed with `orderBy: PRICE`).")]
        currency: Option<String>,
    ) -> Nullable<MarketplaceOfferConnection> {
        let args = ListArgs {
            first,
            after,
            order_by,
            currency,
        };
        nullable(marketplace_offers_page(ctx, upstream, filter, args).await)
    }
}

async fn online_offers_page(
    ctx: &Context<'_>,
    organization_id: String,
    upstream: Option<String>,
    args: ListArgs,
) -> Result<Option<OnlineOfferConnection>, GatewayError> {
    let upstreams = ctx.data_unchecked::<Upstreams>();
    let connector = match upstream {
        Some(name) => instance(upstreams, "upstream", &name, &[UpstreamKind::Closient])?,
        None => {
            let mut closients = upstreams
                .iter()
                .filter(|c| c.kind() == UpstreamKind::Closient);
            match (closients.next(), closients.next()) {
                (Some(only), None) => only,
                (None, _) => {
                    return Err(GatewayError::bad_input(
                        "upstream",
                        "no Closient-style upstream is configured",
                    ))
                }
                (Some(_), Some(_)) => {
                    return Err(GatewayError::bad_input(
                        "upstream",
                        "several Closient-style upstreams are configured: name one",
                    ))
                }
            }
        }
    };
    let organization = connector
        .canonical_id(OfferKind::Online, &organization_id)
        .map_err(|why| GatewayError::bad_input("organizationId", why))?;
    let (offset, count, total, offers) =
        list_window(ctx, connector, ListScope::Organization(organization), args).await?;
    let nodes = offers
        .into_iter()
        .filter_map(|(position, item)| match item {
            Ok(model::Offer::Online(o)) => Some((position, Ok(OnlineOffer(o)))),
            Ok(_) => None,
            Err(err) => Some((position, Err(unreadable(connector, &err)))),
        })
        .collect();
    Ok(Some(OnlineOfferConnection::new(
        offset, count, total, nodes,
    )))
}

async fn marketplace_offers_page(
    ctx: &Context<'_>,
    upstream: String,
    filter: Option<MarketplaceOfferFilter>,
    args: ListArgs,
) -> Result<Option<MarketplaceOfferConnection>, GatewayError> {
    let upstreams = ctx.data_unchecked::<Upstreams>();
    let connector = instance(
        upstreams,
        "upstream",
        &upstream,
        &[UpstreamKind::Medusa, UpstreamKind::Violet],
    )?;
    let scope = match filter
        .map(MarketplaceOfferFilter::into_filter)
        .transpose()?
    {
        None => ListScope::All,
        Some(filter) if filter == OfferFilter::default() => ListScope::All,
        Some(filter) => {
            connector
                .check_filter(&filter)
                .map_err(|why| GatewayError::bad_input("filter", why))?;
            ListScope::Matching(filter)
        }
    };
    let (offset, count, total, offers) = list_window(ctx, connector, scope, args).await?;
    let nodes = offers
        .into_iter()
        .filter_map(|(position, item)| match item {
            Ok(model::Offer::Marketplace(o)) => Some((position, Ok(MarketplaceOffer(o)))),
            Ok(_) => None,
            Err(err) => Some((position, Err(unreadable(connector, &err)))),
        })
        .collect();
    Ok(Some(MarketplaceOfferConnection::new(
        offset, count, total, nodes,
    )))
}

/// The GraphQL error of one listing item that cannot be read, shown at the
/// item's path.
fn unreadable(connector: &Arc<Instance>, err: &UpstreamError) -> async_graphql::Error {
    GatewayError::upstream(connector.name(), err).into()
}

/// The promotions of `keys`, offers of the instance `upstream`, within the
/// instance's deadline: per key, the list or the upstream's failure.
pub(crate) async fn load_promotions(
    ctx: &Context<'_>,
    upstream: &Arc<str>,
    keys: &[OfferKey],
) -> HashMap<OfferKey, Result<Arc<Vec<model::Promotion>>, GatewayError>> {
    let loaders = ctx.data_unchecked::<Arc<Loaders>>();
    let Some(store) = loaders.store(upstream) else {
        return HashMap::new();
    };
    let deadline = scope::of(ctx).deadline(store.instance().settings().deadline);
    let load = loaders.promotions(upstream, keys);
    let now = std::time::SystemTime::now();
    match tokio::time::timeout_at(deadline.into(), load).await {
        Ok(answers) => answers
            .into_iter()
            .map(|(key, answer)| {
                if let Some(at) = answer
                    .as_ref()
                    .ok()
                    .and_then(|list| crate::pricing::promotion::next_change(list, now))
                {
                    // What is in effect now holds until the next window
                    // starts or ends.
                    crate::freshness::true_until_time(at);
                }
                (
                    key,
                    answer.map_err(|err| GatewayError::upstream(upstream, &err)),
                )
            })
            .collect(),
        Err(_) => keys
            .iter()
            .map(|key| {
                let err = GatewayError::upstream(upstream, &UpstreamError::Timeout);
                (key.clone(), Err(err))
            })
            .collect(),
    }
}

/// The promotions in effect now for `offers`, by key, loading them from
/// each offer's upstream at once; an offer whose promotions could not be
/// read is returned apart with the error.
async fn promotions_in_effect(
    ctx: &Context<'_>,
    offers: &[(usize, model::Offer)],
) -> (
    HashMap<OfferKey, model::Promotion>,
    HashMap<OfferKey, GatewayError>,
) {
    let mut by_upstream: HashMap<Arc<str>, Vec<OfferKey>> = HashMap::new();
    for (_, offer) in offers {
        let common = offer.common();
        if matches!(offer, model::Offer::Online(_) | model::Offer::InStore(_)) {
            by_upstream
                .entry(common.upstream.clone())
                .or_default()
                .push(common.key.clone());
        }
    }
    let loads = by_upstream
        .iter()
        .map(|(upstream, keys)| load_promotions(ctx, upstream, keys));
    let mut lists = HashMap::new();
    for answers in futures::future::join_all(loads).await {
        lists.extend(answers);
    }
    let now = std::time::SystemTime::now();
    let mut in_effect = HashMap::new();
    let mut failed = HashMap::new();
    for (_, offer) in offers {
        let key = &offer.common().key;
        match lists.remove(key) {
            Some(Ok(list)) => {
                if let Some(p) = crate::pricing::promotion::in_effect(offer, &list, now) {
                    in_effect.insert(key.clone(), p.clone());
                }
            }
            Some(Err(err)) => {
                failed.insert(key.clone(), err);
            }
            None => {}
        }
    }
    (in_effect, failed)
}

/// A `quantity` argument: 1 to 1,000,000 units.
pub(crate) fn checked_quantity(quantity: i32) -> Result<u32, GatewayError> {
    u32::try_from(quantity)
        .ok()
        .filter(|q| (1..=1_000_000).contains(q))
        .ok_or_else(|| GatewayError::bad_input("quantity", "must be between 1 and 1000000"))
}

/// Compares the offers of `ids` (see `Query.compareOffers`).
pub(crate) async fn compare_offers(
    ctx: &Context<'_>,
    ids: Vec<ID>,
    currency: String,
    quantity: i32,
    country: Option<String>,
) -> Result<OfferComparison, GatewayError> {
    let currency = currency_argument("currency", &currency)?;
    let quantity = checked_quantity(quantity)?;
    let country = country
        .map(|c| {
            let code = c.trim().to_ascii_uppercase();
            if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
                Ok(code)
            } else {
                Err(GatewayError::bad_input(
                    "country",
                    format!("{c:?} is not an ISO 3166-1 alpha-2 code such as \"DE\""),
                ))
            }
        })
        .transpose()?;
    let lookups =
        futures::future::join_all(ids.iter().enumerate().map(|(i, id)| async move {
            resolve_model(ctx, &format!("ids[{i}]"), id, Some(i)).await
        }))
        .await;
    let mut offers = Vec::new();
    let mut excluded = Vec::new();
    for (index, lookup) in lookups.into_iter().enumerate() {
        match lookup {
            Ok(Some(offer)) => offers.push((index, offer)),
            Ok(None) => excluded.push(Excluded::missing(
                index,
                ExclusionReason::NotFound,
                "no offer has this id",
            )),
            Err(err) if err.code() == ErrorCode::BadUserInput => return Err(err),
            Err(err) => {
                excluded.push(Excluded::missing(
                    index,
                    ExclusionReason::UpstreamError,
                    err.message().to_owned(),
                ));
                let error: async_graphql::Error = err.into();
                ctx.add_error(ctx.set_error_path(error.into_server_error(ctx.item.pos)));
            }
        }
    }
    // What a buyer pays today depends on the promotions in effect; an
    // offer whose promotions cannot be read cannot be priced.
    let (promotions, failed) = promotions_in_effect(ctx, &offers).await;
    let (offers, unpriced): (Vec<_>, Vec<_>) = offers
        .into_iter()
        .partition(|(_, offer)| !failed.contains_key(&offer.common().key));
    for (index, offer) in unpriced {
        if let Some(err) = failed.get(&offer.common().key) {
            excluded.push(Excluded::missing(
                index,
                ExclusionReason::UpstreamError,
                err.message().to_owned(),
            ));
            let error: async_graphql::Error = err.clone().into();
            ctx.add_error(ctx.set_error_path(error.into_server_error(ctx.item.pos)));
        }
    }
    let request = Request {
        currency,
        quantity,
        country: country.clone(),
    };
    let table = rates_for(ctx, offers.iter().map(|(_, offer)| offer), currency).await;
    Ok(OfferComparison {
        currency,
        quantity,
        country,
        ids,
        comparison: compare_with_promotions(
            offers,
            excluded,
            &request,
            table.as_deref(),
            &promotions,
        ),
    })
}
