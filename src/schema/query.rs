//! The root query: lookups by global id, upstream listings as Relay
//! connections, and the list of configured upstreams.

use std::sync::Arc;

use async_graphql::{Context, Object, Result, SimpleObject, ID};

use crate::error::{GatewayError, UpstreamError};
use crate::loader::Loaders;
use crate::model::{self, OfferKey, OfferKind, UpstreamKind};
use crate::schema::connection::{decode_cursor, MarketplaceOfferConnection, OnlineOfferConnection};
use crate::schema::id::GlobalId;
use crate::schema::offer::{MarketplaceOffer, Node, OfferInterface, OnlineOffer};
use crate::schema::scope;
use crate::upstream::{Connector, ListScope, Upstreams};

/// The answer of a nullable field: `None` is null without an error,
/// `Some(Err(..))` is null with the error at the field's path. (async-graphql
/// turns an error inside an `Option` into a null; an error returned by the
/// resolver itself would drop the field instead.) This is what lets one
/// failing upstream leave the rest of a response intact.
pub type Nullable<T> = Option<Result<T>>;

/// Turns a resolver outcome into a nullable field value.
fn nullable<T>(outcome: Result<Option<T>, GatewayError>) -> Nullable<T> {
    match outcome {
        Ok(value) => value.map(Ok),
        Err(err) => Some(Err(err.into())),
    }
}

/// Page size of a connection when `first` is not given.
pub const DEFAULT_PAGE_SIZE: u32 = 25;

/// The root of all queries.
pub struct QueryRoot;

/// A configured upstream instance.
#[derive(SimpleObject)]
pub struct Upstream {
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
    let loaders = ctx.data_unchecked::<Loaders>();
    let scope = scope::of(ctx);
    let deadline = scope.deadline(connector.settings().deadline);
    let load = loaders.load(&global.upstream, OfferKey::new(global.kind, native_id));
    let loaded = tokio::time::timeout_at(deadline.into(), load)
        .await
        .unwrap_or(Err(UpstreamError::Timeout));
    match loaded {
        Ok(Some(fetched)) => {
            if let Some(age) = fetched.stale_age {
                scope.warn_stale(ctx, index, connector.name(), age);
            }
            Ok(Some(OfferInterface::from_model(fetched.offer)))
        }
        Ok(None) => Ok(None),
        Err(err) => Err(GatewayError::upstream(connector.name(), &err)),
    }
}

/// Checks `first`/`after` and returns (offset, limit).
fn page_window(
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

/// Reads one window of a listing (through the instance's cache): the
/// offset, the total and the offers.
async fn list_window(
    ctx: &Context<'_>,
    connector: &Arc<dyn Connector>,
    scope: ListScope,
    first: Option<i32>,
    after: Option<String>,
) -> Result<(u64, u64, Vec<model::Offer>), GatewayError> {
    let (offset, limit) = page_window(first, after, connector.max_page_size())?;
    let store = ctx
        .data_unchecked::<Loaders>()
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
    let offers = page.offers.iter().take(limit as usize).cloned().collect();
    Ok((offset, page.total_count, offers))
}

/// Finds the instance called `name` and checks it is of one of `kinds`.
fn instance<'a>(
    upstreams: &'a Upstreams,
    argument: &str,
    name: &str,
    kinds: &[UpstreamKind],
) -> Result<&'a Arc<dyn Connector>, GatewayError> {
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
#[Object(name = "Query")]
impl QueryRoot {
    /// Fetches any object by its global id; null when no such object exists.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id.")] id: ID,
    ) -> Nullable<Node> {
        nullable(
            resolve_offer(ctx, "id", &id, None)
                .await
                .map(|offer| offer.map(OfferInterface::into_node)),
        )
    }

    /// Fetches objects by global id: same length and order as `ids`, null where not found.
    /// An item whose id is malformed or whose upstream failed is null with an error at its index.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global ids, in the order the answer should follow.")] ids: Vec<ID>,
    ) -> Vec<Nullable<Node>> {
        let lookups = ids.iter().enumerate().map(|(i, id)| async move {
            nullable(
                resolve_offer(ctx, &format!("ids[{i}]"), id, Some(i))
                    .await
                    .map(|offer| offer.map(OfferInterface::into_node)),
            )
        });
        futures::future::join_all(lookups).await
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
    /// the other items are still answered.
    async fn offers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global offer ids, in the order the answer should follow.")] ids: Vec<ID>,
    ) -> Vec<Nullable<OfferInterface>> {
        let lookups = ids.iter().enumerate().map(|(i, id)| async move {
            nullable(resolve_offer(ctx, &format!("ids[{i}]"), id, Some(i)).await)
        });
        futures::future::join_all(lookups).await
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
    /// in the upstream's order. Null with an error when the arguments are invalid or the
    /// upstream fails.
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
    ) -> Nullable<OnlineOfferConnection> {
        nullable(online_offers_page(ctx, organization_id, upstream, first, after).await)
    }

    /// The offers of a marketplace (Medusa-style) or catalog (Violet-style) upstream, a page at
    /// a time, in the upstream's order. Null with an error when the arguments are invalid or
    /// the upstream fails.
    async fn marketplace_offers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Name of the Medusa- or Violet-style upstream (see `upstreams`).")]
        upstream: String,
        #[graphql(
            desc = "Number of offers to return (default 25, at most the upstream's page size limit)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Return offers after this cursor.")] after: Option<String>,
    ) -> Nullable<MarketplaceOfferConnection> {
        nullable(marketplace_offers_page(ctx, upstream, first, after).await)
    }
}

async fn online_offers_page(
    ctx: &Context<'_>,
    organization_id: String,
    upstream: Option<String>,
    first: Option<i32>,
    after: Option<String>,
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
    let (offset, total, offers) = list_window(
        ctx,
        connector,
        ListScope::Organization(organization),
        first,
        after,
    )
    .await?;
    let nodes = offers
        .into_iter()
        .filter_map(|offer| match offer {
            model::Offer::Online(o) => Some(OnlineOffer(o)),
            _ => None,
        })
        .collect();
    Ok(Some(OnlineOfferConnection::new(offset, total, nodes)))
}

async fn marketplace_offers_page(
    ctx: &Context<'_>,
    upstream: String,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Option<MarketplaceOfferConnection>, GatewayError> {
    let upstreams = ctx.data_unchecked::<Upstreams>();
    let connector = instance(
        upstreams,
        "upstream",
        &upstream,
        &[UpstreamKind::Medusa, UpstreamKind::Violet],
    )?;
    let (offset, total, offers) = list_window(ctx, connector, ListScope::All, first, after).await?;
    let nodes = offers
        .into_iter()
        .filter_map(|offer| match offer {
            model::Offer::Marketplace(o) => Some(MarketplaceOffer(o)),
            _ => None,
        })
        .collect();
    Ok(Some(MarketplaceOfferConnection::new(offset, total, nodes)))
}
