//! GraphQL views of offers: the `Node` and `Offer` interfaces and the three
//! offer types that implement them.

use std::sync::Arc;

use async_graphql::{Context, Interface, Object, Result, ID};

use crate::error::GatewayError;
use crate::model::{self, JsonText, OfferCommon, OfferStatus, UpstreamKind};
use crate::pricing::availability::{self, Availability};
use crate::pricing::{compare, Money};
use crate::schema::id::GlobalId;
use crate::schema::product::{self as product_view, Product};
use crate::upstream::CallContext;

/// Anything with a global id that `node(id:)` can fetch again.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque global id of the object."))]
pub(crate) enum Node {
    /// An online offer.
    OnlineOffer(OnlineOffer),
    /// An in-store offer.
    InStoreOffer(InStoreOffer),
    /// A marketplace offer.
    MarketplaceOffer(MarketplaceOffer),
    /// A product.
    Product(Product),
}

/// A product offer from any upstream: what every offer type shares.
// Several interface fields share a type; clippy reads that as repeated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(Interface)]
#[graphql(
    name = "Offer",
    field(
        name = "id",
        ty = "ID",
        desc = "Opaque global id of the offer; `node(id:)` and `offer(id:)` accept it."
    ),
    field(
        name = "upstream",
        ty = "String",
        desc = "Name of the configured upstream instance the offer came from."
    ),
    field(
        name = "upstream_kind",
        ty = "UpstreamKind",
        desc = "API style of that upstream."
    ),
    field(
        name = "native_id",
        ty = "String",
        desc = "The upstream's own id of the offer."
    ),
    field(
        name = "product_id",
        ty = "String",
        desc = "The upstream's id of the offered product."
    ),
    field(
        name = "sku",
        ty = "Option<String>",
        desc = "Stock keeping unit of the offer as a whole, when the upstream gives one."
    ),
    field(
        name = "price",
        ty = "Option<Money>",
        desc = "The offer's listed price of one unit, before any promotion, for `minimumQuantity` units or more: Closient the row price, Medusa the price for one unit (or, when every price starts at a higher quantity, for the smallest quantity any price covers) without rules, Violet the cheapest SKU a buyer can buy (the cheapest priced SKU when none can be bought). Null when the upstream does not know it (show \"Call for price\", never zero).",
        arg(
            name = "currency",
            ty = "Option<String>",
            desc = "Prefer a price listed in this ISO 4217 currency where the offer lists prices in several (Medusa); without it, the first the upstream lists. Nothing is converted: use `price.in(currency:)` for that."
        )
    ),
    field(
        name = "promotion",
        ty = "Option<crate::schema::promotion::Promotion>",
        desc = "The promotion in effect now (active, now within its window; the cheapest when several are), whose price a buyer pays instead of `price`; null when none (only Closient offers have promotions)."
    ),
    field(
        name = "current_price",
        ty = "Option<Money>",
        desc = "What one unit costs now: the price of the promotion in effect, else `price`. Null when the price is unknown."
    ),
    field(
        name = "currency",
        ty = "Option<String>",
        desc = "ISO 4217 code of the currency the offer is priced in, also when the price is unknown (Closient lifts it from the store); null only when the upstream states none."
    ),
    field(
        name = "minimum_quantity",
        ty = "i32",
        desc = "The smallest quantity `price` applies to: a Closient online offer's minimum order quantity, the `min_quantity` of the Medusa price shown, else 1."
    ),
    field(
        name = "status",
        ty = "OfferStatus",
        desc = "Lifecycle state, normalized across upstreams: the upstream's status, except that an active offer the availability rule finds out of stock is `OUT_OF_STOCK`; `UNRECOGNIZED` when the upstream states one the gateway does not know (see `upstreamStatus`)."
    ),
    field(
        name = "upstream_status",
        ty = "Option<String>",
        desc = "The status exactly as the upstream states it, when it has one."
    ),
    field(
        name = "buyable",
        ty = "bool",
        desc = "Whether one unit can be ordered now: `availability.state` is `NOW` or `WITH_WAIT`. The same rule decides which offers `compareOffers` ranks."
    ),
    field(
        name = "availability",
        ty = "Availability",
        desc = "Whether and how the offer can be bought for `quantity` units, by the gateway's one availability rule (see the README), with the upstream signal that decided it.",
        arg(
            name = "quantity",
            ty = "i32",
            default = 1,
            desc = "Number of units (1 to 1000000)."
        )
    ),
    field(
        name = "metadata",
        ty = "JsonText",
        desc = "Developer-attached key/value data, as a JSON object (`{}` when none)."
    ),
    field(
        name = "product",
        ty = "Option<Product>",
        desc = "The product (GTIN) the offer is for, with all its offers across upstreams; null when the offer carries no valid GTIN and its upstream names none for its product."
    )
)]
#[allow(
    clippy::enum_variant_names,
    reason = "variant names are the GraphQL type names"
)]
#[derive(Clone)]
pub(crate) enum OfferInterface {
    /// An online offer.
    OnlineOffer(OnlineOffer),
    /// An in-store offer.
    InStoreOffer(InStoreOffer),
    /// A marketplace offer.
    MarketplaceOffer(MarketplaceOffer),
}

impl OfferInterface {
    /// Wraps a domain offer in its view.
    pub(crate) fn from_model(offer: model::Offer) -> Self {
        match offer {
            model::Offer::Online(o) => OfferInterface::OnlineOffer(OnlineOffer(o)),
            model::Offer::InStore(o) => OfferInterface::InStoreOffer(InStoreOffer(o)),
            model::Offer::Marketplace(o) => OfferInterface::MarketplaceOffer(MarketplaceOffer(o)),
        }
    }

    /// The same offer as a `Node`.
    pub(crate) fn into_node(self) -> Node {
        match self {
            OfferInterface::OnlineOffer(o) => Node::OnlineOffer(o),
            OfferInterface::InStoreOffer(o) => Node::InStoreOffer(o),
            OfferInterface::MarketplaceOffer(o) => Node::MarketplaceOffer(o),
        }
    }
}

/// The product of `offer`, through the catalog index.
async fn product_of_offer(
    ctx: &Context<'_>,
    offer: &model::Offer,
) -> Result<Option<Product>, GatewayError> {
    let catalog = product_view::catalog(ctx)?;
    let context = CallContext {
        request: crate::request::RequestContext::current(),
        credential: None,
    };
    let gtin = catalog
        .gtin_of_offer(&offer.common().upstream, offer, &context)
        .await
        .map_err(product_view::index_error)?;
    match gtin {
        Some(gtin) => product_view::product_by_gtin(ctx, &gtin).await,
        None => Ok(None),
    }
}

/// Every promotion of `offer` (only Closient offers publish promotions;
/// other offers ask no upstream).
async fn offer_promotions(
    ctx: &Context<'_>,
    offer: &model::Offer,
) -> Result<Arc<Vec<model::Promotion>>, GatewayError> {
    if !matches!(offer, model::Offer::Online(_) | model::Offer::InStore(_)) {
        return Ok(Arc::default());
    }
    let common = offer.common();
    let key = common.key.clone();
    let mut answers =
        crate::schema::query::load_promotions(ctx, &common.upstream, std::slice::from_ref(&key))
            .await;
    answers.remove(&key).unwrap_or_else(|| Ok(Arc::default()))
}

/// The promotion of `offer` in effect now, if any.
async fn promotion_in_effect(
    ctx: &Context<'_>,
    offer: &model::Offer,
) -> Result<Option<model::Promotion>, GatewayError> {
    let promotions = offer_promotions(ctx, offer).await?;
    let now = std::time::SystemTime::now();
    Ok(crate::pricing::promotion::in_effect(offer, &promotions, now).cloned())
}

/// The global id of an offer.
pub(crate) fn global_id(common: &OfferCommon) -> ID {
    ID(GlobalId::encode(
        common.key.kind,
        &common.upstream,
        &common.key.native_id,
    ))
}

/// Generates an offer type's `#[Object]` impl: the `Offer` interface fields
/// over `self.0.common`, followed by the type's own fields.
macro_rules! offer_object {
    ($view:ident, $name:literal, $doc:literal, { $($own:tt)* }) => {
        #[doc = $doc]
        #[Object(name = $name)]
        impl $view {
            /// Opaque global id of the offer; `node(id:)` and `offer(id:)` accept it.
            async fn id(&self) -> ID {
                global_id(&self.0.common)
            }

            /// Name of the configured upstream instance the offer came from.
            async fn upstream(&self) -> String {
                self.0.common.upstream.to_string()
            }

            /// API style of that upstream.
            async fn upstream_kind(&self) -> UpstreamKind {
                self.0.common.upstream_kind
            }

            /// The upstream's own id of the offer.
            async fn native_id(&self) -> String {
                self.0.common.key.native_id.clone()
            }

            /// The upstream's id of the offered product.
            async fn product_id(&self) -> String {
                self.0.common.product_id.clone()
            }

            /// Stock keeping unit of the offer as a whole, when the upstream gives one.
            async fn sku(&self) -> Option<String> {
                self.0.common.sku.clone()
            }

            /// The offer's listed price of one unit, before any promotion, for `minimumQuantity` units or more: Closient the row price, Medusa the price for one unit (or, when every price starts at a higher quantity, for the smallest quantity any price covers) without rules, Violet the cheapest SKU a buyer can buy (the cheapest priced SKU when none can be bought). Null when the upstream does not know it (show "Call for price", never zero).
            async fn price(
                &self,
                #[graphql(desc = "Prefer a price listed in this ISO 4217 currency where the offer lists prices in several (Medusa); without it, the first the upstream lists. Nothing is converted: use `price.in(currency:)` for that.")]
                currency: Option<String>,
            ) -> Result<Option<Money>> {
                let currency = currency
                    .map(|c| crate::schema::money::currency_argument("currency", &c))
                    .transpose()?;
                Ok(compare::listed_price(
                    &model::Offer::from(self.0.clone()),
                    currency,
                ))
            }

            /// The promotion in effect now (active, now within its window; the cheapest when several are), whose price a buyer pays instead of `price`; null when none (only Closient offers have promotions).
            async fn promotion(
                &self,
                ctx: &Context<'_>,
            ) -> Result<Option<crate::schema::promotion::Promotion>> {
                let offer = model::Offer::from(self.0.clone());
                // A promotion is in effect only over a known regular price.
                let currency = offer.common().price.as_ref().map(Money::currency);
                let promotion = promotion_in_effect(ctx, &offer).await?;
                Ok(promotion.zip(currency).map(|(promotion, currency)| {
                    crate::schema::promotion::Promotion {
                        promotion,
                        currency,
                    }
                }))
            }

            /// What one unit costs now: the price of the promotion in effect, else `price`. Null when the price is unknown.
            async fn current_price(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
                let offer = model::Offer::from(self.0.clone());
                let promotions = offer_promotions(ctx, &offer).await?;
                Ok(crate::pricing::promotion::current_price(
                    &offer,
                    &promotions,
                    std::time::SystemTime::now(),
                ))
            }

            /// ISO 4217 code of the currency the offer is priced in, also when the price is unknown (Closient lifts it from the store); null only when the upstream states none.
            async fn currency(&self) -> Option<String> {
                self.0.common.currency.map(|c| c.code().to_owned())
            }

            /// The smallest quantity `price` applies to: a Closient online offer's minimum order quantity, the `min_quantity` of the Medusa price shown, else 1.
            async fn minimum_quantity(&self) -> i32 {
                i32::try_from(compare::minimum_quantity(&model::Offer::from(self.0.clone())))
                    .unwrap_or(i32::MAX)
            }

            /// Lifecycle state, normalized across upstreams: the upstream's status, except that an active offer the availability rule finds out of stock is `OUT_OF_STOCK`; `UNRECOGNIZED` when the upstream states one the gateway does not know (see `upstreamStatus`).
            async fn status(&self) -> OfferStatus {
                availability::status(&model::Offer::from(self.0.clone()))
            }

            /// The status exactly as the upstream states it, when it has one.
            async fn upstream_status(&self) -> Option<String> {
                self.0.common.upstream_status.clone()
            }

            /// Whether one unit can be ordered now: `availability.state` is `NOW` or `WITH_WAIT`. The same rule decides which offers `compareOffers` ranks.
            async fn buyable(&self) -> bool {
                availability::availability(&model::Offer::from(self.0.clone()), 1).is_buyable()
            }

            /// Whether and how the offer can be bought for `quantity` units, by the gateway's one availability rule (see the README), with the upstream signal that decided it.
            async fn availability(
                &self,
                #[graphql(desc = "Number of units (1 to 1000000).", default = 1)] quantity: i32,
            ) -> Result<Availability> {
                let quantity = crate::schema::query::checked_quantity(quantity)?;
                Ok(availability::availability(
                    &model::Offer::from(self.0.clone()),
                    quantity,
                ))
            }

            /// Developer-attached key/value data, as a JSON object (`{}` when none).
            async fn metadata(&self) -> JsonText {
                self.0.common.metadata.clone()
            }

            /// The product (GTIN) the offer is for, with all its offers across upstreams; null when the offer carries no valid GTIN and its upstream names none for its product.
            async fn product(&self, ctx: &Context<'_>) -> Result<Option<Product>> {
                let offer = model::Offer::from(self.0.clone());
                Ok(product_of_offer(ctx, &offer).await?)
            }

            $($own)*
        }
    };
}

/// An online offer (see the `OnlineOffer` GraphQL type).
#[derive(Clone)]
pub(crate) struct OnlineOffer(pub Arc<model::OnlineOffer>);

offer_object!(
    OnlineOffer,
    "OnlineOffer",
    "An offer for a product on one online storefront (a Closient-style retail API).",
    {
        /// Shortuuid of the online store (a single web storefront) the offer lives on.
        async fn online_store_id(&self) -> &str {
            &self.0.online_store_id
        }

        /// Shortuuid of the organization that owns the offer.
        async fn organization_id(&self) -> Option<&str> {
            self.0.organization_id.as_deref()
        }

        /// Deep link to the product page on the storefront; empty when the source has none.
        async fn url(&self) -> &str {
            &self.0.url
        }

        /// Lifecycle state as the retail API states it; `UNRECOGNIZED` for a value the gateway
        /// does not know (the raw value is in `upstreamStatus`).
        async fn retail_status(&self) -> model::RetailStatus {
            self.0.retail_status
        }

        /// Whether a human or trusted feed confirmed the offer is real.
        async fn is_verified(&self) -> bool {
            self.0.is_verified
        }

        /// Where the offer row came from; `UNRECOGNIZED` for a value the gateway does not know.
        async fn source(&self) -> model::RetailSource {
            self.0.source
        }

        /// `source` exactly as the retail API states it (its documented default `manual` when it sends none).
        async fn upstream_source(&self) -> &str {
            &self.0.upstream_source
        }

        /// How the storefront delivers the offer; `UNRECOGNIZED` for a value the gateway does not know.
        async fn fulfillment_type(&self) -> model::FulfillmentType {
            self.0.fulfillment_type
        }

        /// `fulfillmentType` exactly as the retail API states it (`standard` when it sends none).
        async fn upstream_fulfillment_type(&self) -> &str {
            &self.0.upstream_fulfillment_type
        }

        /// Inventory reported by the storefront; `UNRECOGNIZED` for a value the gateway does not know.
        async fn stock_level(&self) -> model::StockLevel {
            self.0.stock_level
        }

        /// `stockLevel` exactly as the retail API states it (its documented default `unknown` when it sends none).
        async fn upstream_stock_level(&self) -> &str {
            &self.0.upstream_stock_level
        }

        /// ISO 3166-1 alpha-2 countries the offer ships to; empty means the storefront's defaults apply.
        async fn delivery_countries(&self) -> &[String] {
            &self.0.delivery_countries
        }

        /// Shipping cost in the store's currency; null when free or unknown (see `fulfillmentType`).
        /// The retail API's pattern allows a signed cost: a negative one is not an amount the buyer
        /// pays, so it is null here too (the raw value is in `upstreamShippingCost`) and never lowers a total.
        async fn shipping_cost(&self) -> Option<&Money> {
            self.0.shipping_cost.as_ref()
        }

        /// The shipping cost exactly as the retail API sent it (a signed decimal string in the
        /// store's currency); null when it sent none.
        async fn upstream_shipping_cost(&self) -> Option<&str> {
            self.0.upstream_shipping_cost.as_deref()
        }

        /// Expected handling and shipping time in calendar days; null when unknown. Saturates at
        /// 2147483647 (the largest GraphQL Int) when the upstream reports more.
        async fn lead_time_days(&self) -> Option<i32> {
            self.0.lead_time_days
        }

        /// Minimum number of units in one order (1, the documented default, when the upstream sends
        /// none). Saturates at 2147483647 (the largest GraphQL Int).
        async fn min_order_quantity(&self) -> i32 {
            self.0.min_order_quantity
        }
    }
);

/// An in-store offer (see the `InStoreOffer` GraphQL type).
#[derive(Clone)]
pub(crate) struct InStoreOffer(pub Arc<model::InStoreOffer>);

offer_object!(
    InStoreOffer,
    "InStoreOffer",
    "An offer for a product at one physical store (a Closient-style retail API).",
    {
        /// Shortuuid of the physical store (one brick-and-mortar location).
        async fn physical_store_id(&self) -> &str {
            &self.0.physical_store_id
        }

        /// Shortuuid of the organization that owns the offer.
        async fn organization_id(&self) -> Option<&str> {
            self.0.organization_id.as_deref()
        }

        /// Lifecycle state as the retail API states it; `UNRECOGNIZED` for a value the gateway
        /// does not know (the raw value is in `upstreamStatus`).
        async fn retail_status(&self) -> model::RetailStatus {
            self.0.retail_status
        }

        /// Whether a human or trusted feed confirmed the offer is real.
        async fn is_verified(&self) -> bool {
            self.0.is_verified
        }

        /// Where the offer row came from; `UNRECOGNIZED` for a value the gateway does not know.
        async fn source(&self) -> model::RetailSource {
            self.0.source
        }

        /// `source` exactly as the retail API states it (its documented default `manual` when it sends none).
        async fn upstream_source(&self) -> &str {
            &self.0.upstream_source
        }

        /// Units on the shelf at last count; null when unknown. Saturates at 2147483647 (the
        /// largest GraphQL Int) when the upstream reports more.
        async fn quantity_on_hand(&self) -> Option<i32> {
            self.0.quantity_on_hand
        }

        /// Aisle or shelf locator for in-store wayfinding; empty when unknown.
        async fn aisle(&self) -> &str {
            &self.0.aisle
        }

        /// Whether the product can be reserved online and picked up at this store.
        async fn store_pickup_available(&self) -> bool {
            self.0.store_pickup_available
        }
    }
);

/// A marketplace offer (see the `MarketplaceOffer` GraphQL type).
#[derive(Clone)]
pub(crate) struct MarketplaceOffer(pub Arc<model::MarketplaceOffer>);

offer_object!(
    MarketplaceOffer,
    "MarketplaceOffer",
    "An offer of a seller on a marketplace or catalog API (Medusa/Mercur-style or Violet-style).",
    {
        /// Product or offer title, when the upstream gives one.
        async fn title(&self) -> Option<&str> {
            self.0.title.as_deref()
        }

        /// The seller or merchant of the offer.
        async fn seller(&self) -> &model::Seller {
            &self.0.seller
        }

        /// Everything the upstream sent, in its own structure: `MedusaOfferDetails` or `VioletOfferDetails`.
        async fn details(&self) -> &model::MarketplaceDetails {
            &self.0.details
        }
    }
);
