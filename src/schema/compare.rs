//! The GraphQL view of an offer comparison ([`crate::pricing::compare`]).

use crate::pricing::availability::Availability;
use async_graphql::{Object, ID};

use crate::pricing::compare::{Comparison, Delivery, Excluded, ExclusionReason, Priced};
use crate::pricing::{Currency, Money};
use crate::schema::offer::OfferInterface;

/// Offers ranked by what the buyer pays for a quantity in one currency,
/// the cheapest one, and every offer left out with the reason.
pub(crate) struct OfferComparison {
    /// The currency of every amount.
    pub currency: Currency,
    /// The quantity priced.
    pub quantity: u32,
    /// The country of delivery.
    pub country: Option<String>,
    /// The ids as asked, for the exclusions.
    pub ids: Vec<ID>,
    /// The outcome.
    pub comparison: Comparison,
}

/// Offers ranked by what the buyer pays for a quantity in one currency,
/// the cheapest one, and every offer left out with the reason.
#[Object]
impl OfferComparison {
    /// ISO 4217 code of the currency every amount is given in.
    async fn currency(&self) -> &'static str {
        self.currency.code()
    }

    /// The number of units priced.
    async fn quantity(&self) -> u32 {
        self.quantity
    }

    /// ISO 3166-1 alpha-2 country of delivery, when given.
    async fn country(&self) -> Option<&str> {
        self.country.as_deref()
    }

    /// The cheapest offer by the cheapest-active rule: the first of `ranked`.
    /// Null when no offer takes part.
    async fn cheapest(&self) -> Option<RankedOffer<'_>> {
        self.comparison
            .ranked
            .first()
            .map(|priced| RankedOffer { rank: 1, priced })
    }

    /// The offers taking part, cheapest first: with a country, those known to
    /// deliver there before those whose delivery is unknown; within each,
    /// those with a known total by total, then those whose shipping is
    /// unknown by subtotal.
    async fn ranked(&self) -> Vec<RankedOffer<'_>> {
        self.comparison
            .ranked
            .iter()
            .enumerate()
            .map(|(i, priced)| RankedOffer {
                rank: i as u32 + 1,
                priced,
            })
            .collect()
    }

    /// The offers left out, in the order they were asked for, with why.
    async fn excluded(&self) -> Vec<ExcludedOffer<'_>> {
        self.comparison
            .excluded
            .iter()
            .map(|excluded| ExcludedOffer {
                id: self.ids.get(excluded.index).cloned().unwrap_or_default(),
                excluded,
            })
            .collect()
    }
}

/// An offer taking part in a comparison, with what it costs.
pub(crate) struct RankedOffer<'a> {
    rank: u32,
    priced: &'a Priced,
}

/// An offer taking part in a comparison, with what it costs.
#[Object]
impl RankedOffer<'_> {
    /// Position in the ranking, 1 for the cheapest.
    async fn rank(&self) -> u32 {
        self.rank
    }

    /// The offer.
    async fn offer(&self) -> OfferInterface {
        OfferInterface::from_model(self.priced.offer.clone())
    }

    /// The price of one unit for the quantity asked (a Medusa tier, the
    /// cheapest buyable Violet SKU, the Closient row price).
    async fn unit_price(&self) -> &Money {
        &self.priced.unit_price
    }

    /// Unit price times quantity.
    async fn subtotal(&self) -> &Money {
        &self.priced.subtotal
    }

    /// Shipping; null when the upstream does not say (never counted as zero).
    async fn shipping(&self) -> Option<&Money> {
        self.priced.shipping.as_ref()
    }

    /// Whether the offer delivers to the country asked for, as far as it says
    /// (`UNKNOWN` offers rank after those that deliver).
    async fn delivery(&self) -> Delivery {
        self.priced.delivery
    }

    /// Subtotal plus shipping; null when shipping is unknown.
    async fn total(&self) -> Option<&Money> {
        self.priced.total.as_ref()
    }

    /// The promotion in effect whose price `unitPrice` is (converted when
    /// compared in another currency); null when the regular price applies.
    async fn promotion(&self) -> Option<crate::schema::promotion::Promotion> {
        let promotion = self.priced.promotion.clone()?;
        let currency = self.priced.offer.common().price.as_ref()?.currency();
        Some(crate::schema::promotion::Promotion {
            promotion,
            currency,
        })
    }

    /// The offer's availability for the quantity asked: `NOW` or
    /// `WITH_WAIT` (offers that cannot be bought are left out); `NOW`
    /// ranks before `WITH_WAIT`.
    async fn availability(&self) -> &Availability {
        &self.priced.availability
    }
}

/// An offer left out of a comparison.
pub(crate) struct ExcludedOffer<'a> {
    id: ID,
    excluded: &'a Excluded,
}

/// An offer left out of a comparison, and why.
#[Object]
impl ExcludedOffer<'_> {
    /// The offer's id as it was asked for (`offerId`, not `id`: the same
    /// offer is left out of different comparisons for different reasons,
    /// so a client cache must not normalize this object).
    async fn offer_id(&self) -> &ID {
        &self.id
    }

    /// The offer, when it was found.
    async fn offer(&self) -> Option<OfferInterface> {
        self.excluded.offer.clone().map(OfferInterface::from_model)
    }

    /// Why it was left out.
    async fn reason(&self) -> ExclusionReason {
        self.excluded.reason
    }

    /// The reason in words, with the values involved.
    async fn message(&self) -> &str {
        &self.excluded.detail
    }
}
