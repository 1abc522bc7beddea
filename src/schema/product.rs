//! GraphQL views of products: every offer of one GTIN across all
//! upstreams, as the catalog index knows them, with live prices.

use std::sync::Arc;

use async_graphql::{Context, Enum, Error, Object, Result, SimpleObject, ID};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::catalog::{Catalog, CatalogError, IndexedOffer, ProductRecord};
use crate::error::GatewayError;
use crate::gtin::Gtin;
use crate::model::{self, OfferKind};
use crate::pricing::compare::{compare, price_order, Request};
use crate::pricing::Money;
use crate::schema::compare::OfferComparison;
use crate::schema::connection::{encode_cursor, PageInfo};
use crate::schema::id::GlobalId;
use crate::schema::money::currency_argument;
use crate::schema::offer::OfferInterface;
use crate::schema::query::{compare_offers, load_offer, page_window, rates_for, OfferOrder};
use crate::upstream::tolerant::saturating_count;
use crate::upstream::{CallContext, Upstreams};

/// Most offers of one product in one page.
pub(crate) const MAX_PRODUCT_OFFERS_PAGE: u32 = 100;

/// The prefix of a product's global id, before its GTIN-14.
const PRODUCT_ID_PREFIX: &str = "Product:";

/// The global id of the product `gtin`.
pub(crate) fn product_id(gtin: &Gtin) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{PRODUCT_ID_PREFIX}{gtin}")))
}

/// The GTIN of a product's global id, or `None` when `id` is no product id.
pub(crate) fn decode_product_id(id: &str) -> Option<Gtin> {
    if id.len() > 64 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(id.trim_end_matches('=')).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    Gtin::parse(text.strip_prefix(PRODUCT_ID_PREFIX)?).ok()
}

/// The catalog index, or the error a client sees when the gateway has none.
pub(crate) fn catalog<'a>(ctx: &Context<'a>) -> Result<&'a Catalog, GatewayError> {
    ctx.data_opt::<Catalog>()
        .ok_or_else(|| GatewayError::internal("no catalog index in this schema"))
}

/// A failure of the index, as a client sees it: `INTERNAL` (the detail
/// goes to logs).
pub(crate) fn index_error(err: CatalogError) -> GatewayError {
    GatewayError::internal(format!("catalog index: {err}"))
}

/// The product `gtin` with its offers, asking id-keyed upstreams about it
/// first; `None` when no upstream names it. An upstream that could not be
/// asked adds its error at the field's path (the product may lack its
/// offers) and leaves the rest of the answer.
pub(crate) async fn product_by_gtin(
    ctx: &Context<'_>,
    gtin: &Gtin,
) -> Result<Option<Product>, GatewayError> {
    let context = CallContext {
        request: crate::request::RequestContext::current(),
        credential: None,
    };
    let (found, failures) = catalog(ctx)?
        .product(gtin, &context)
        .await
        .map_err(index_error)?;
    for (upstream, err) in failures {
        let error: async_graphql::Error = GatewayError::upstream(&upstream, &err).into();
        ctx.add_error(ctx.set_error_path(error.into_server_error(ctx.item.pos)));
    }
    Ok(found.map(|(record, offers)| Product::new(record, offers)))
}

/// The offer types, to filter a product's offers by.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OfferType {
    /// `OnlineOffer`: offers of online storefronts.
    Online,
    /// `InStoreOffer`: offers of physical stores.
    InStore,
    /// `MarketplaceOffer`: marketplace and catalog offers.
    Marketplace,
}

impl OfferType {
    fn kind(self) -> OfferKind {
        match self {
            OfferType::Online => OfferKind::Online,
            OfferType::InStore => OfferKind::InStore,
            OfferType::Marketplace => OfferKind::Marketplace,
        }
    }
}

/// A product: one GTIN, and every offer of it across all upstreams.
#[derive(Clone, Debug)]
pub(crate) struct Product {
    record: Arc<ProductRecord>,
    offers: Arc<Vec<IndexedOffer>>,
}

impl Product {
    /// A product view over what the index holds.
    pub(crate) fn new(record: ProductRecord, offers: Vec<IndexedOffer>) -> Product {
        Product {
            record: Arc::new(record),
            offers: Arc::new(offers),
        }
    }

    /// The product's offers that pass the filters, in index order.
    fn filtered(
        &self,
        kinds: Option<&[OfferType]>,
        upstreams: Option<&[String]>,
    ) -> Vec<&IndexedOffer> {
        self.offers
            .iter()
            .filter(|o| kinds.is_none_or(|k| k.iter().any(|t| t.kind() == o.key.kind)))
            .filter(|o| upstreams.is_none_or(|u| u.contains(&o.instance)))
            .collect()
    }

    /// Loads `offers` live (batched per upstream), in order: the offer, or
    /// the error of its upstream; offers gone upstream are left out.
    async fn load(
        ctx: &Context<'_>,
        offers: &[&IndexedOffer],
    ) -> Vec<(usize, Result<model::Offer, GatewayError>)> {
        let upstreams = ctx.data_unchecked::<Upstreams>();
        let loads = offers.iter().enumerate().map(|(i, offer)| async move {
            let connector = upstreams.get(&offer.instance)?;
            match load_offer(ctx, connector, offer.key.clone(), None).await {
                Ok(Some(found)) => Some((i, Ok(found))),
                Ok(None) => None,
                Err(err) => Some((i, Err(err))),
            }
        });
        futures::future::join_all(loads)
            .await
            .into_iter()
            .flatten()
            .collect()
    }
}

/// A page of a product's offers.
#[derive(SimpleObject)]
pub(crate) struct ProductOfferConnection {
    /// The offers of the page with their cursors. An offer whose upstream failed keeps its
    /// edge; its `node` is null with the upstream's error at that path.
    edges: Vec<ProductOfferEdge>,
    /// The offers of the page, without cursors; null, with the error at its index, where the
    /// offer's upstream failed.
    nodes: Vec<Option<Result<OfferInterface, Error>>>,
    /// Where the page sits among the product's offers.
    page_info: PageInfo,
    /// Number of the product's offers that pass the filters (offers found gone upstream
    /// while answering are not counted).
    total_count: i32,
}

/// An entry in a page of a product's offers.
#[derive(SimpleObject)]
pub(crate) struct ProductOfferEdge {
    /// Opaque cursor of this offer: pass it as `after` to continue from here.
    cursor: String,
    /// The offer; null, with the upstream's error at this path, when its upstream failed.
    node: Option<Result<OfferInterface, Error>>,
}

/// The lowest and highest unit price of a product's buyable offers.
#[derive(SimpleObject)]
pub(crate) struct PriceRange {
    /// The lowest unit price.
    min: Money,
    /// The highest unit price.
    max: Money,
    /// Number of offers the range covers: active, priced, in stock, convertible.
    offer_count: i32,
}

/// A product: one GTIN, and every offer of it across all upstreams, as the gateway's catalog
/// index knows them; prices and stock are read live.
#[Object]
impl Product {
    /// Opaque global id of the product; `node(id:)` accepts it.
    pub(crate) async fn id(&self) -> ID {
        product_id(&self.record.gtin)
    }

    /// The product's GTIN-14 (UPC-A, EAN-13 and GTIN-8 codes are zero-padded to 14 digits).
    async fn gtin(&self) -> &str {
        self.record.gtin.as_str()
    }

    /// The product's name, from the first upstream that named it; null when none did.
    async fn name(&self) -> Option<&str> {
        self.record.name.as_deref()
    }

    /// The product's brand, from the first upstream that gave one; null when none did.
    async fn brand(&self) -> Option<&str> {
        self.record.brand.as_deref()
    }

    /// URLs of images of the product, from any upstream.
    async fn images(&self) -> &[String] {
        &self.record.images
    }

    /// Number of offers of the product the catalog index knows, across all upstreams.
    async fn offer_count(&self) -> i32 {
        saturating_count(self.offers.len() as u64)
    }

    /// The product's offers across all upstreams, with live prices and stock. `orderBy: PRICE`
    /// ranks all of them (not one page) by what one unit costs in `currency`, cheapest first;
    /// offers that cannot be priced come last. The default order is by upstream, type and id.
    #[allow(clippy::too_many_arguments)]
    async fn offers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only offers of these types.")] kinds: Option<Vec<OfferType>>,
        #[graphql(desc = "Only offers of these upstream instances (see `upstreams`).")]
        upstreams: Option<Vec<String>>,
        #[graphql(
            desc = "Only offers that can be ordered (`buyable`: availability `NOW` or `WITH_WAIT`).",
            default = false
        )]
        buyable_only: bool,
        #[graphql(desc = "Number of offers to return (default 25, at most 100).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Return offers after this cursor.")] after: Option<String>,
        #[graphql(desc = "The order of the offers.", default)] order_by: OfferOrder,
        #[graphql(desc = "ISO 4217 currency to order by price in (needed with `orderBy: PRICE`).")]
        currency: Option<String>,
    ) -> Result<ProductOfferConnection> {
        let currency = match (order_by, currency) {
            (OfferOrder::Price, None) => {
                return Err(GatewayError::bad_input(
                    "currency",
                    "ordering by PRICE needs a currency",
                )
                .into())
            }
            (_, Some(code)) => Some(currency_argument("currency", &code)?),
            (OfferOrder::Upstream, None) => None,
        };
        let (offset, limit) = page_window(first, after, MAX_PRODUCT_OFFERS_PAGE)?;
        let filtered = self.filtered(kinds.as_deref(), upstreams.as_deref());
        // Without a filter on live values or a price order, only the page
        // is loaded; otherwise every offer is, and the page is cut after.
        let load_all = buyable_only || order_by == OfferOrder::Price;
        let candidates: Vec<&IndexedOffer> = if load_all {
            filtered
        } else {
            filtered
                .into_iter()
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(limit as usize)
                .collect()
        };
        let mut loaded = Product::load(ctx, &candidates).await;
        if buyable_only {
            loaded.retain(|(_, o)| {
                o.as_ref()
                    .is_ok_and(|o| crate::pricing::availability::availability(o, 1).is_buyable())
            });
        }
        if let (OfferOrder::Price, Some(currency)) = (order_by, currency) {
            let (readable, failed): (Vec<_>, Vec<_>) =
                loaded.into_iter().partition(|(_, o)| o.is_ok());
            let plain: Vec<model::Offer> = readable
                .iter()
                .filter_map(|(_, o)| o.as_ref().ok().cloned())
                .collect();
            let table = rates_for(ctx, plain.iter(), currency).await;
            let order = price_order(&plain, currency, table.as_deref());
            let mut slots: Vec<Option<_>> = readable.into_iter().map(Some).collect();
            loaded = order
                .into_iter()
                .filter_map(|i| slots.get_mut(i).and_then(Option::take))
                .chain(failed)
                .collect();
        }
        let (start, total, page): (u64, u64, Vec<_>) = if load_all {
            let total = loaded.len() as u64;
            let page = loaded
                .into_iter()
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(limit as usize)
                .collect();
            (offset, total, page)
        } else {
            let total = self.filtered(kinds.as_deref(), upstreams.as_deref()).len() as u64;
            (offset, total, loaded)
        };
        let count = page.len() as u64;
        let nodes: Vec<(String, Option<Result<OfferInterface, Error>>)> = page
            .into_iter()
            .enumerate()
            .map(|(i, (_, offer))| {
                (
                    encode_cursor(start + i as u64),
                    Some(offer.map(OfferInterface::from_model).map_err(Error::from)),
                )
            })
            .collect();
        let end = start + count;
        Ok(ProductOfferConnection {
            page_info: PageInfo {
                has_previous_page: start > 0,
                has_next_page: end < total,
                start_cursor: (count > 0).then(|| encode_cursor(start)),
                end_cursor: (count > 0).then(|| encode_cursor(end - 1)),
            },
            edges: nodes
                .iter()
                .map(|(cursor, node)| ProductOfferEdge {
                    cursor: cursor.clone(),
                    node: node.clone(),
                })
                .collect(),
            nodes: nodes.into_iter().map(|(_, node)| node).collect(),
            total_count: saturating_count(total),
        })
    }

    /// The lowest and highest unit price, in `currency`, of the product's offers that can be
    /// bought now (the offers `compare` ranks for one unit); null when none can.
    async fn price_range(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "ISO 4217 code of the currency, e.g. \"EUR\".")] currency: String,
    ) -> Result<Option<PriceRange>> {
        let currency = currency_argument("currency", &currency)?;
        let all: Vec<&IndexedOffer> = self.offers.iter().collect();
        let offers: Vec<(usize, model::Offer)> = Product::load(ctx, &all)
            .await
            .into_iter()
            .filter_map(|(i, o)| o.ok().map(|o| (i, o)))
            .collect();
        let table = rates_for(ctx, offers.iter().map(|(_, o)| o), currency).await;
        let request = Request {
            currency,
            quantity: 1,
            country: None,
        };
        let ranked = compare(offers, Vec::new(), &request, table.as_deref()).ranked;
        let min = ranked
            .iter()
            .map(|p| &p.unit_price)
            .min_by_key(|m| m.amount());
        let max = ranked
            .iter()
            .map(|p| &p.unit_price)
            .max_by_key(|m| m.amount());
        Ok(match (min, max) {
            (Some(min), Some(max)) => Some(PriceRange {
                min: min.clone(),
                max: max.clone(),
                offer_count: saturating_count(ranked.len() as u64),
            }),
            _ => None,
        })
    }

    /// Ranks every offer of the product by what the buyer pays for `quantity` in `currency`,
    /// delivered to `country`, as `compareOffers` does for a list of ids.
    async fn compare(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "ISO 4217 code of the currency to compare in, e.g. \"EUR\".")]
        currency: String,
        #[graphql(desc = "Number of units to buy (at least 1).", default = 1)] quantity: i32,
        #[graphql(desc = "ISO 3166-1 alpha-2 country of delivery, e.g. \"DE\".")] country: Option<
            String,
        >,
    ) -> Result<OfferComparison> {
        let ids = self
            .offers
            .iter()
            .map(|o| ID(GlobalId::encode(o.key.kind, &o.instance, &o.key.native_id)))
            .collect();
        Ok(compare_offers(ctx, ids, currency, quantity, country).await?)
    }
}

/// A page of products.
#[derive(SimpleObject)]
pub(crate) struct ProductConnection {
    /// The products of the page with their cursors.
    edges: Vec<ProductEdge>,
    /// The products of the page, without cursors.
    nodes: Vec<Product>,
    /// Where the page sits in the results.
    page_info: PageInfo,
    /// Number of products that match.
    total_count: i32,
}

/// An entry in a page of products.
#[derive(SimpleObject)]
pub(crate) struct ProductEdge {
    /// Opaque cursor of this product: pass it as `after` to continue from here.
    cursor: String,
    /// The product.
    node: Product,
}

/// Most products in one page of a search.
pub(crate) const MAX_PRODUCTS_PAGE: u32 = 100;

/// Longest search text, in characters.
const MAX_SEARCH_CHARS: usize = 200;

/// Searches products by name and brand, or by GTIN when `search` is one.
pub(crate) async fn search_products(
    ctx: &Context<'_>,
    search: &str,
    first: Option<i32>,
    after: Option<String>,
) -> Result<ProductConnection, GatewayError> {
    if search.chars().count() > MAX_SEARCH_CHARS {
        return Err(GatewayError::bad_input(
            "search",
            format!("at most {MAX_SEARCH_CHARS} characters"),
        ));
    }
    let (offset, limit) = page_window(first, after, MAX_PRODUCTS_PAGE)?;
    let catalog = catalog(ctx)?;
    let (records, total) = if let Ok(gtin) = Gtin::parse(search) {
        // A GTIN matches its product, whatever its printed form.
        let found = product_by_gtin(ctx, &gtin).await?;
        let records: Vec<ProductRecord> = found.map(|p| (*p.record).clone()).into_iter().collect();
        let total = records.len() as u64;
        (records.into_iter().skip(offset as usize).collect(), total)
    } else {
        let words: Vec<String> = search
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(16)
            .map(str::to_lowercase)
            .collect();
        if words.is_empty() {
            return Err(GatewayError::bad_input(
                "search",
                "give at least one word or a GTIN",
            ));
        }
        catalog
            .search(&words, offset, limit)
            .await
            .map_err(index_error)?
    };
    let mut products = Vec::with_capacity(records.len());
    for record in records {
        let offers = catalog.offers_of(&record.gtin).await.map_err(index_error)?;
        products.push(Product::new(record, offers));
    }
    let count = products.len() as u64;
    let end = offset + count;
    Ok(ProductConnection {
        page_info: PageInfo {
            has_previous_page: offset > 0,
            has_next_page: end < total,
            start_cursor: (count > 0).then(|| encode_cursor(offset)),
            end_cursor: (count > 0).then(|| encode_cursor(end - 1)),
        },
        edges: products
            .iter()
            .enumerate()
            .map(|(i, p)| ProductEdge {
                cursor: encode_cursor(offset + i as u64),
                node: p.clone(),
            })
            .collect(),
        nodes: products,
        total_count: saturating_count(total),
    })
}
