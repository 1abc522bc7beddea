//! The GraphQL view of a promotion: a time-windowed price override.

use async_graphql::Object;

use crate::model::{self, PromotionKind};
use crate::pricing::{Currency, Money};

/// A promotion with the currency its price is in (the offer's).
pub(crate) struct Promotion {
    /// The promotion.
    pub(crate) promotion: model::Promotion,
    /// The currency of the offer it applies to.
    pub(crate) currency: Currency,
}

/// A time-windowed override of an offer's regular price (Closient
/// promotions). While one is in effect (active, and now within its window),
/// a buyer pays its price; when several are, the cheapest.
#[Object]
impl Promotion {
    /// The upstream's id of the promotion (`nativeId`, not `id`: a client
    /// cache must not normalize it).
    async fn native_id(&self) -> &str {
        &self.promotion.id
    }

    /// The promotional price of one unit, in the offer's currency (zero is
    /// a real price, e.g. the free arm of a buy-one-get-one).
    async fn price(&self) -> Money {
        Money::new(self.promotion.price, self.currency)
    }

    /// When it starts to apply (inclusive), RFC 3339 in UTC.
    async fn starts_at(&self) -> String {
        humantime::format_rfc3339_seconds(self.promotion.starts_at).to_string()
    }

    /// When it stops applying (inclusive), RFC 3339 in UTC.
    async fn ends_at(&self) -> String {
        humantime::format_rfc3339_seconds(self.promotion.ends_at).to_string()
    }

    /// Whether the retailer marks it active (it turns inactive after its end).
    async fn active(&self) -> bool {
        self.promotion.is_active
    }

    /// The merchandising kind (display only).
    async fn kind(&self) -> PromotionKind {
        self.promotion.kind
    }

    /// The kind exactly as the upstream spelled it.
    async fn upstream_kind(&self) -> &str {
        &self.promotion.upstream_kind
    }

    /// The retailer's description; empty when it gave none.
    async fn description(&self) -> &str {
        &self.promotion.description
    }
}
