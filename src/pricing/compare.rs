//! What a buyer pays: the unit price of an offer for a quantity, the total
//! with shipping, and the cheapest-active rule, for offers of any upstream.
//!
//! The rule (Closient's documented cheapest-active resolution, applied to
//! every upstream): an offer takes part when the one availability rule
//! ([`super::availability`]) finds it buyable for the quantity (now or with
//! a wait), and it delivers to the buyer's country where it states its
//! countries. Every other offer is left out with the reason. So an offer
//! takes part for one unit exactly when it is `buyable` (and delivers).
//!
//! - Unit price: Closient rows have one price (the promotional price while
//!   a promotion is in effect, see [`super::promotion`]); Medusa prices are tiers:
//!   among those without rules whose `min_quantity`/`max_quantity` include
//!   the quantity, the cheapest once converted (a price already in the
//!   requested currency wins a tie); Violet offers are priced by their
//!   cheapest buyable SKU (sale price, else retail price).
//! - Total = unit price x quantity + shipping. Shipping is Closient's
//!   `shipping_cost`; a null cost with a fulfillment type that ships free
//!   (prime, digital download, store pickup, ship to store) is zero; an
//!   in-store offer has none. Otherwise shipping is unknown (never zero),
//!   and so is the total.
//! - In another currency, the unit price and the shipping are each
//!   converted once from their exact values (the exact cross rate, rounded
//!   once, half to even, to the currency's minor unit); then subtotal = unit
//!   price x quantity and total = subtotal + shipping, exactly, in the
//!   requested currency. So the numbers shown add up; subtotal and total
//!   carry no conversion of their own.
//! - Ranking, a total order by these keys in turn: (1) with a country,
//!   offers known to deliver there (or bought in store) before offers whose
//!   delivery is unknown (an empty Closient country list inherits the
//!   storefront's; marketplace offers state none), never excluding nor
//!   assuming them; (2) availability `NOW` before `WITH_WAIT`; (3) offers
//!   with a known total by total, then offers with an unknown total by
//!   subtotal; (4) the order of the request. The cheapest offer is the
//!   first of the ranking.

use async_graphql::Enum;
use rust_decimal::Decimal;

use std::collections::HashMap;

use super::availability::{self, Availability, AvailabilityReason};
use super::convert::{ConversionError, RateTable};
use super::promotion;
use super::{Currency, Money, PriceTier};
use crate::model::{FulfillmentType, MarketplaceDetails, Offer, OfferKey, Promotion, VioletSku};

/// Why an offer was left out of a comparison.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExclusionReason {
    /// The id names no offer.
    NotFound,
    /// The offer's upstream failed; see the errors of the response.
    UpstreamError,
    /// The offer is not active (out of stock, seasonal, discontinued or unavailable).
    NotActive,
    /// The upstream does not know the offer's price.
    UnknownPrice,
    /// The offer has prices, but none for the quantity asked for.
    NoPriceForQuantity,
    /// Not enough stock for the quantity.
    OutOfStock,
    /// The upstream reports no stock signal (availability `UNKNOWN`): the
    /// gateway never assumes stock.
    UnknownStock,
    /// The offer's minimum order quantity is above the quantity asked for.
    BelowMinimumOrderQuantity,
    /// The offer states the countries it delivers to, and the buyer's is not one.
    NotDeliveredToCountry,
    /// No exchange rate into the requested currency.
    NoExchangeRate,
}

/// Whether an offer delivers to the buyer's country, as far as it says.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Delivery {
    /// It states the country among those it delivers to, or it is bought
    /// at a store (in-store offers).
    Delivers,
    /// No country was asked for.
    NotAsked,
    /// It does not say: a Closient offer with an empty country list inherits
    /// its storefront's, which the gateway cannot see; marketplace offers
    /// state none. Ranked after offers that deliver, never assumed either way.
    Unknown,
}

/// What a comparison asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Request {
    /// The currency to rank in.
    pub currency: Currency,
    /// How many units.
    pub quantity: u32,
    /// ISO 3166-1 alpha-2 country of delivery, upper case, if known.
    pub country: Option<String>,
}

/// An offer that takes part, with what it costs.
#[derive(Clone, Debug)]
pub(crate) struct Priced {
    /// Whether it delivers to the country asked for.
    pub delivery: Delivery,
    /// Whether it can be bought now or with a wait (never anything else
    /// here: offers that cannot be bought are excluded).
    pub availability: Availability,
    /// The promotion whose price the unit price is, when one is in effect.
    pub promotion: Option<Promotion>,
    /// The offer.
    pub offer: Offer,
    /// Position of the offer in the request.
    pub index: usize,
    /// Price of one unit for the quantity, in the requested currency.
    pub unit_price: Money,
    /// Unit price x quantity, in the requested currency.
    pub subtotal: Money,
    /// Shipping in the requested currency; `None` when unknown.
    pub shipping: Option<Money>,
    /// Subtotal + shipping; `None` when shipping is unknown.
    pub total: Option<Money>,
}

/// An offer left out, and why.
#[derive(Clone, Debug)]
pub(crate) struct Excluded {
    /// Position of the offer in the request.
    pub index: usize,
    /// The offer, when it was found.
    pub offer: Option<Offer>,
    /// Why it was left out.
    pub reason: ExclusionReason,
    /// The reason in words, with the values involved.
    pub detail: String,
}

impl Excluded {
    /// An exclusion of an offer that could not be looked at.
    pub(crate) fn missing(
        index: usize,
        reason: ExclusionReason,
        detail: impl Into<String>,
    ) -> Self {
        Excluded {
            index,
            offer: None,
            reason,
            detail: detail.into(),
        }
    }
}

/// The outcome of a comparison.
#[derive(Clone, Debug, Default)]
pub(crate) struct Comparison {
    /// Offers taking part, cheapest first.
    pub ranked: Vec<Priced>,
    /// Offers left out, in request order.
    pub excluded: Vec<Excluded>,
}

/// Evaluates and ranks `offers` (with their positions in the request),
/// adding the exclusions already known (`excluded`: offers not found or
/// whose upstream failed), at their regular prices.
pub(crate) fn compare(
    offers: Vec<(usize, Offer)>,
    excluded: Vec<Excluded>,
    request: &Request,
    rates: Option<&RateTable>,
) -> Comparison {
    compare_with_promotions(offers, excluded, request, rates, &HashMap::new())
}

/// [`compare`], where an offer with a promotion in effect (`promotions`,
/// by offer key; see [`super::promotion::in_effect`]) costs its
/// promotional price.
pub(crate) fn compare_with_promotions(
    offers: Vec<(usize, Offer)>,
    mut excluded: Vec<Excluded>,
    request: &Request,
    rates: Option<&RateTable>,
    promotions: &HashMap<OfferKey, Promotion>,
) -> Comparison {
    let mut ranked = Vec::new();
    for (index, offer) in offers {
        let promotion = promotions.get(&offer.common().key);
        match evaluate(&offer, request, rates, promotion) {
            Ok((costs, delivery, availability)) => ranked.push(Priced {
                promotion: promotion.cloned(),
                delivery,
                availability,
                offer,
                index,
                unit_price: costs.0,
                subtotal: costs.1,
                shipping: costs.2,
                total: costs.3,
            }),
            Err((reason, detail)) => excluded.push(Excluded {
                index,
                offer: Some(offer),
                reason,
                detail,
            }),
        }
    }
    ranked.sort_by(|a, b| {
        let key = |p: &Priced| {
            let delivery_unknown = p.delivery == Delivery::Unknown;
            let state = p.availability.state;
            match &p.total {
                Some(total) => (delivery_unknown, state, 0, total.amount()),
                None => (delivery_unknown, state, 1, p.subtotal.amount()),
            }
        };
        key(a).cmp(&key(b)).then(a.index.cmp(&b.index))
    });
    excluded.sort_by_key(|e| e.index);
    Comparison { ranked, excluded }
}

type Costs = (Money, Money, Option<Money>, Option<Money>);

/// The costs of one offer, or why it is left out.
fn evaluate(
    offer: &Offer,
    request: &Request,
    rates: Option<&RateTable>,
    promotion: Option<&Promotion>,
) -> Result<(Costs, Delivery, Availability), (ExclusionReason, String)> {
    let common = offer.common();
    let quantity = request.quantity;
    let availability = availability::availability(offer, quantity);
    if !availability.is_buyable() {
        return Err((exclusion(availability.reason), availability.detail));
    }
    // What one unit costs: the promotional price while one is in effect.
    let known_price = || {
        promotion
            .and_then(|p| promotion::promotional_price(offer, p))
            .or_else(|| common.price.clone())
            .ok_or((
                ExclusionReason::UnknownPrice,
                "the upstream does not know the price".to_owned(),
            ))
    };
    let (unit, shipping) = match offer {
        Offer::Online(o) => {
            let unit = known_price()?;
            if let Some(country) = &request.country {
                // An empty list inherits the storefront's: unknown here.
                if !o.delivery_countries.is_empty() && !o.delivery_countries.contains(country) {
                    return Err((
                        ExclusionReason::NotDeliveredToCountry,
                        format!("delivers to {} only", o.delivery_countries.join(", ")),
                    ));
                }
            }
            let shipping = match (&o.shipping_cost, o.fulfillment_type) {
                (Some(cost), _) => Some(cost.clone()),
                (
                    None,
                    FulfillmentType::Prime
                    | FulfillmentType::DigitalDownload
                    | FulfillmentType::StorePickup
                    | FulfillmentType::ShipToStore,
                ) => Some(Money::new(Decimal::ZERO, unit.currency())),
                (None, _) => None,
            };
            (unit, shipping)
        }
        Offer::InStore(_) => {
            let unit = known_price()?;
            // Bought at the store: nothing to ship.
            let shipping = Some(Money::new(Decimal::ZERO, unit.currency()));
            (unit, shipping)
        }
        Offer::Marketplace(o) => match &o.details {
            MarketplaceDetails::Medusa(details) => {
                (cheapest_tier(details, quantity, request, rates)?, None)
            }
            MarketplaceDetails::Violet(details) => {
                let price = cheapest_sku(&details.skus, quantity)
                    .or_else(|| details.skus.is_empty().then(|| details.min_price.clone()))
                    .ok_or((
                        ExclusionReason::UnknownPrice,
                        "no SKU has a price".to_owned(),
                    ))?;
                (price, None)
            }
        },
    };
    let delivery = match (&request.country, offer) {
        (None, _) => Delivery::NotAsked,
        (Some(_), Offer::InStore(_)) => Delivery::Delivers,
        (Some(_), Offer::Online(o)) if !o.delivery_countries.is_empty() => Delivery::Delivers,
        (Some(_), _) => Delivery::Unknown,
    };
    let subtotal = unit
        .amount()
        .checked_mul(Decimal::from(quantity))
        .map(|amount| Money::new(amount, unit.currency()))
        .ok_or((
            ExclusionReason::UnknownPrice,
            "the subtotal is out of range".to_owned(),
        ))?;
    let total = shipping.as_ref().and_then(|shipping| {
        subtotal
            .amount()
            .checked_add(shipping.amount())
            .map(|amount| Money::new(amount, unit.currency()))
    });
    let convert = |money: &Money| -> Result<Money, (ExclusionReason, String)> {
        if money.currency() == request.currency {
            return Ok(money.clone());
        }
        let rates = rates.ok_or((
            ExclusionReason::NoExchangeRate,
            ConversionError::NoRates.to_string(),
        ))?;
        rates
            .convert(money, request.currency)
            .map_err(|err| (ExclusionReason::NoExchangeRate, err.to_string()))
    };
    if unit.currency() == request.currency {
        return Ok(((unit, subtotal, shipping, total), delivery, availability));
    }
    // In another currency, the unit price and the shipping are each
    // converted once; subtotal and total are then computed from them in
    // the requested currency, so that the numbers shown add up.
    let unit = convert(&unit)?;
    let shipping = shipping.as_ref().map(&convert).transpose()?;
    let out_of_range = || {
        (
            ExclusionReason::UnknownPrice,
            "the subtotal is out of range".to_owned(),
        )
    };
    let subtotal = Money::new(
        unit.amount()
            .checked_mul(Decimal::from(quantity))
            .ok_or_else(out_of_range)?,
        request.currency,
    );
    let total = shipping
        .as_ref()
        .map(|shipping| {
            subtotal
                .amount()
                .checked_add(shipping.amount())
                .map(|amount| Money::new(amount, request.currency))
                .ok_or_else(out_of_range)
        })
        .transpose()?;
    Ok(((unit, subtotal, shipping, total), delivery, availability))
}

/// The Medusa price a buyer pays for `quantity`: among the prices without
/// rules whose quantity bounds include it, the cheapest in the requested
/// currency (a price already in that currency wins a tie; then the
/// upstream's order). Prices that cannot be converted (no rate) do not
/// take part; when none can, the offer is left out with `NO_EXCHANGE_RATE`.
fn cheapest_tier(
    details: &crate::model::MedusaOfferDetails,
    quantity: u32,
    request: &Request,
    rates: Option<&RateTable>,
) -> Result<Money, (ExclusionReason, String)> {
    let applicable: Vec<&Money> = details
        .prices
        .iter()
        .filter(|t| !PriceTier::has_rules(*t))
        .filter(|t| PriceTier::min_quantity(*t).is_none_or(|min| u64::from(quantity) >= min))
        .filter(|t| PriceTier::max_quantity(*t).is_none_or(|max| u64::from(quantity) <= max))
        .map(|t| &t.price)
        .collect();
    if applicable.is_empty() {
        return Err((
            ExclusionReason::NoPriceForQuantity,
            format!("no price tier covers {quantity} units"),
        ));
    }
    let in_target = |price: &Money| -> Option<Decimal> {
        if price.currency() == request.currency {
            return Some(price.amount());
        }
        rates?
            .convert(price, request.currency)
            .ok()
            .map(|m| m.amount())
    };
    applicable
        .iter()
        .enumerate()
        .filter_map(|(i, price)| in_target(price).map(|amount| (amount, i, *price)))
        .min_by_key(|(amount, i, price)| (*amount, price.currency() != request.currency, *i))
        .map(|(_, _, price)| price.clone())
        .ok_or_else(|| {
            (
                ExclusionReason::NoExchangeRate,
                format!(
                    "no rate to convert {} into {}",
                    applicable
                        .iter()
                        .map(|p| p.currency().code())
                        .collect::<Vec<_>>()
                        .join(", "),
                    request.currency.code()
                ),
            )
        })
}

/// The order in which to show `offers` (their indices) when sorting a
/// listing page by price: the offers that take part in a comparison for one
/// unit, cheapest first, then the others in their original order.
pub(crate) fn price_order(
    offers: &[Offer],
    currency: Currency,
    rates: Option<&RateTable>,
) -> Vec<usize> {
    let request = Request {
        currency,
        quantity: 1,
        country: None,
    };
    let comparison = compare(
        offers.iter().cloned().enumerate().collect(),
        Vec::new(),
        &request,
        rates,
    );
    comparison
        .ranked
        .iter()
        .map(|p| p.index)
        .chain(comparison.excluded.iter().map(|e| e.index))
        .collect()
}

/// The price of the cheapest Violet SKU that can be bought in `quantity`
/// (its sale price, else its retail price).
pub(crate) fn cheapest_sku(skus: &[VioletSku], quantity: u32) -> Option<Money> {
    skus.iter()
        .filter(|sku| availability::sku_buyable(sku, quantity))
        .filter_map(sku_price)
        .min_by(|a, b| a.amount().cmp(&b.amount()))
}

/// A Violet SKU's price: its sale price, else its retail price.
fn sku_price(sku: &VioletSku) -> Option<Money> {
    sku.sale_price.clone().or_else(|| sku.retail_price.clone())
}

/// The price a Violet offer shows as its `price`: the cheapest SKU a buyer
/// can buy one unit of; when none can be bought, the cheapest priced SKU
/// (the offer's availability says it cannot be bought); without SKUs, the
/// offer's `min_price`.
pub(crate) fn listed_violet_price(skus: &[VioletSku], min_price: &Money) -> Money {
    cheapest_sku(skus, 1)
        .or_else(|| {
            skus.iter()
                .filter_map(sku_price)
                .min_by(|a, b| a.amount().cmp(&b.amount()))
        })
        .unwrap_or_else(|| min_price.clone())
}

/// The smallest quantity an offer's `price` applies to: a Closient online
/// offer's minimum order quantity, the `min_quantity` of the Medusa tier
/// shown, else 1.
pub(crate) fn minimum_quantity(offer: &Offer) -> u32 {
    match offer {
        Offer::Online(o) => o.min_order_quantity.max(1).unsigned_abs(),
        Offer::InStore(_) => 1,
        Offer::Marketplace(o) => match &o.details {
            MarketplaceDetails::Medusa(details) => listed_medusa_tier(&details.prices, None)
                .and_then(PriceTier::min_quantity)
                .map_or(1, |min| u32::try_from(min.max(1)).unwrap_or(u32::MAX)),
            MarketplaceDetails::Violet(_) => 1,
        },
    }
}

/// The price an offer shows as its `price`, preferring `currency` where
/// the offer lists prices in several (Medusa); the others have one
/// currency per offer, so this is the offer's `price`.
pub(crate) fn listed_price(offer: &Offer, currency: Option<Currency>) -> Option<Money> {
    match (offer, currency) {
        (Offer::Marketplace(o), Some(currency)) => match &o.details {
            MarketplaceDetails::Medusa(details) => {
                listed_medusa_tier(&details.prices, Some(currency)).map(|t| t.price.clone())
            }
            MarketplaceDetails::Violet(_) => o.common.price.clone(),
        },
        _ => offer.common().price.clone(),
    }
}

/// The Medusa price an offer shows as its `price`: the price for one unit,
/// or, when every price starts at a higher quantity, for the smallest
/// quantity any price covers (see `minimumQuantity`), among prices without
/// rules; a price in `preferred` wins, else the narrowest tier, else the
/// upstream's order. `None` when the offer has no price without rules.
pub(crate) fn listed_medusa_tier<T: PriceTier>(
    tiers: &[T],
    preferred: Option<Currency>,
) -> Option<&T> {
    let smallest = tiers
        .iter()
        .filter(|t| !t.has_rules())
        .map(|t| t.min_quantity().unwrap_or(1).max(1))
        .min()?;
    let quantity = if super::tier_for_quantity(tiers, 1, None).is_some() {
        1
    } else {
        smallest
    };
    super::tier_for_quantity(tiers, quantity, preferred)
}

/// The exclusion that an availability reason (of an offer that cannot be
/// bought) stands for.
fn exclusion(reason: AvailabilityReason) -> ExclusionReason {
    use AvailabilityReason as R;
    match reason {
        R::NotActive | R::UnrecognizedStatus => ExclusionReason::NotActive,
        R::UnknownPrice => ExclusionReason::UnknownPrice,
        R::NoPriceForQuantity => ExclusionReason::NoPriceForQuantity,
        R::BelowMinimumOrderQuantity => ExclusionReason::BelowMinimumOrderQuantity,
        R::OutOfStock | R::NotEnoughStock => ExclusionReason::OutOfStock,
        R::UnknownStock | R::UnrecognizedStock => ExclusionReason::UnknownStock,
        // Reasons of buyable offers never exclude; listed for completeness.
        R::InStock
        | R::LowStock
        | R::OnShelf
        | R::Listed
        | R::Available
        | R::PreOrder
        | R::Backordered => ExclusionReason::NotActive,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{json, Value};

    use super::*;
    use crate::upstream::{closient, medusa, violet};

    fn upstream() -> Arc<str> {
        Arc::from("test")
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    fn money(amount: &str, code: &str) -> Money {
        Money::new(dec(amount), cur(code))
    }

    /// A Closient online offer: the seed's shape with `changes` applied.
    fn online(changes: Value) -> Offer {
        let mut row = json!({
            "id": "CnEqURgZ3swzj528KMLvX5", "product_id": "CnEqURgZ3swzj528KMLvX5",
            "online_store_id": "CnEqURgZ3swzj528KMLvX5", "organization_id": "CnEqURgZ3swzj528KMLvX5",
            "metadata": {}, "sku": "", "url": "", "price": { "amount": "10.00", "currency": "USD" },
            "status": "active", "is_verified": false, "source": "manual", "fulfillment_type": "standard",
            "stock_level": "in_stock", "delivery_countries": [], "shipping_cost": "4.99",
            "lead_time_days": 1, "min_order_quantity": 1
        });
        merge(&mut row, changes);
        closient::map::online_offer(&upstream(), &serde_json::from_value(row).unwrap()).unwrap()
    }

    fn in_store(changes: Value) -> Offer {
        let mut row = json!({
            "id": "CnEqURgZ3swzj528KMLvX5", "product_id": "CnEqURgZ3swzj528KMLvX5",
            "physical_store_id": "CnEqURgZ3swzj528KMLvX5", "organization_id": "CnEqURgZ3swzj528KMLvX5",
            "metadata": {}, "sku": "", "price": { "amount": "9.50", "currency": "USD" }, "status": "active",
            "is_verified": false, "source": "manual", "quantity_on_hand": 5, "aisle": "",
            "store_pickup_available": false
        });
        merge(&mut row, changes);
        closient::map::in_store_offer(&upstream(), &serde_json::from_value(row).unwrap()).unwrap()
    }

    fn medusa_offer(prices: Value) -> Offer {
        let row = json!({
            "id": "offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y", "seller_id": "sel_01HXYZ", "product_id": "prod_01HXYZ",
            "sku": "S", "prices": prices, "inventory_items": []
        });
        medusa::map::offer(&upstream(), serde_json::from_value(row).unwrap()).unwrap()
    }

    fn tier(amount: &str, code: &str, min: Value, max: Value) -> Value {
        json!({ "id": "price_1", "amount": amount.parse::<serde_json::Number>().unwrap(),
                "currency_code": code, "min_quantity": min, "max_quantity": max })
    }

    fn violet_offer(skus: Value) -> Offer {
        let row = json!({
            "id": 3000000001i64, "product_id": "p1", "name": "Thing", "source": "SHOPIFY", "merchant_id": 10001,
            "available": true, "visible": true, "min_price": 1500, "currency": "EUR", "status": "AVAILABLE",
            "skus": skus
        });
        violet::map::offer(&upstream(), serde_json::from_value(row).unwrap()).unwrap()
    }

    fn sku(id: i64, sale: i64, in_stock: bool, quantity: i64) -> Value {
        json!({ "id": id, "sale_price": sale, "retail_price": sale + 500, "currency": "EUR",
                "in_stock": in_stock, "inventory_tracked": true, "quantity_available": quantity,
                "status": "AVAILABLE" })
    }

    fn merge(base: &mut Value, changes: Value) {
        if let (Value::Object(base), Value::Object(changes)) = (base, changes) {
            base.extend(changes);
        }
    }

    fn request(currency: &str, quantity: u32, country: Option<&str>) -> Request {
        Request {
            currency: cur(currency),
            quantity,
            country: country.map(str::to_owned),
        }
    }

    fn rates() -> RateTable {
        RateTable::new(
            cur("USD"),
            [(cur("EUR"), dec("0.9")), (cur("JPY"), dec("150"))],
            "2026-11-01",
            "test",
        )
        .unwrap()
    }

    fn reason(offer: Offer, req: &Request) -> Option<ExclusionReason> {
        compare(vec![(0, offer)], Vec::new(), req, Some(&rates()))
            .excluded
            .first()
            .map(|e| e.reason)
    }

    #[test]
    fn totals_add_shipping_and_unknown_shipping_is_not_zero() {
        let req = request("USD", 2, None);
        let cmp = compare(
            vec![
                (0, online(json!({}))),
                (
                    1,
                    online(json!({ "shipping_cost": null, "fulfillment_type": "prime" })),
                ),
                (
                    2,
                    online(
                        json!({ "shipping_cost": null, "fulfillment_type": "standard",
                                   "price": { "amount": "1.00", "currency": "USD" } }),
                    ),
                ),
                (3, in_store(json!({}))),
            ],
            Vec::new(),
            &req,
            Some(&rates()),
        );
        let totals: Vec<(usize, Option<Money>)> = cmp
            .ranked
            .iter()
            .map(|p| (p.index, p.total.clone()))
            .collect();
        assert_eq!(
            totals,
            vec![
                // In store: 2 x 9.50, nothing to ship.
                (3, Some(money("19.00", "USD"))),
                // Prime ships free: 2 x 10.00.
                (1, Some(money("20.00", "USD"))),
                // 2 x 10.00 + 4.99.
                (0, Some(money("24.99", "USD"))),
                // Cheapest subtotal, but its shipping is unknown: ranked last, no total.
                (2, None),
            ]
        );
        assert_eq!(cmp.ranked[3].subtotal, money("2.00", "USD"));
        assert!(cmp.ranked[3].shipping.is_none());
    }

    #[test]
    fn amounts_are_converted_into_the_requested_currency() {
        let cmp = compare(
            vec![(0, online(json!({})))],
            Vec::new(),
            &request("EUR", 3, None),
            Some(&rates()),
        );
        let p = &cmp.ranked[0];
        // 10.00 USD = 9.00 EUR; 30.00 USD = 27.00; 4.99 USD = 4.491 -> 4.49; 34.99 USD = 31.491 -> 31.49.
        assert_eq!(p.unit_price, money("9.00", "EUR"));
        assert_eq!(p.subtotal, money("27.00", "EUR"));
        assert_eq!(p.shipping, Some(money("4.49", "EUR")));
        assert_eq!(p.total, Some(money("31.49", "EUR")));
        assert_eq!(
            p.unit_price.converted().unwrap().from,
            money("10.00", "USD")
        );
        assert_eq!(
            p.shipping.as_ref().unwrap().converted().unwrap().from,
            money("4.99", "USD")
        );
    }

    #[test]
    fn an_offer_that_does_not_say_where_it_delivers_ranks_after_those_that_do() {
        // B is cheaper, but its empty country list inherits its storefront's:
        // for a buyer in Germany its delivery is unknown, not assumed.
        let a = online(json!({
            "price": { "amount": "50.00", "currency": "USD" },
            "delivery_countries": ["DE", "FR"],
        }));
        let b = online(json!({
            "price": { "amount": "10.00", "currency": "USD" },
            "delivery_countries": [],
        }));
        let offers = vec![(0, a), (1, b)];
        let cmp = compare(
            offers.clone(),
            Vec::new(),
            &request("USD", 1, Some("DE")),
            None,
        );
        assert!(cmp.excluded.is_empty());
        let order: Vec<(usize, Delivery)> =
            cmp.ranked.iter().map(|p| (p.index, p.delivery)).collect();
        assert_eq!(order, [(0, Delivery::Delivers), (1, Delivery::Unknown)]);
        // Without a country, the cheaper comes first.
        let cmp = compare(offers, Vec::new(), &request("USD", 1, None), None);
        let order: Vec<(usize, Delivery)> =
            cmp.ranked.iter().map(|p| (p.index, p.delivery)).collect();
        assert_eq!(order, [(1, Delivery::NotAsked), (0, Delivery::NotAsked)]);
    }

    #[test]
    fn the_readmes_receipt_adds_up() {
        // README, compareOffers, Arithmetic: 374.99 USD + 15.99 USD
        // shipping, 2 units, in EUR at 0.92.
        let table = RateTable::new(cur("USD"), [(cur("EUR"), dec("0.92"))], "", "").unwrap();
        let offer = online(json!({
            "price": { "amount": "374.99", "currency": "USD" },
            "shipping_cost": "15.99",
        }));
        let cmp = compare(
            vec![(0, offer)],
            Vec::new(),
            &request("EUR", 2, None),
            Some(&table),
        );
        let p = &cmp.ranked[0];
        assert_eq!(p.unit_price, money("344.99", "EUR"));
        assert_eq!(p.subtotal, money("689.98", "EUR"));
        assert_eq!(p.shipping, Some(money("14.71", "EUR")));
        assert_eq!(p.total, Some(money("704.69", "EUR")));
    }

    #[test]
    fn medusa_tiers_are_chosen_by_quantity_at_their_edges() {
        let offer = medusa_offer(json!([
            tier("10", "usd", json!(null), json!(9)),
            tier("9", "usd", json!(10), json!(49)),
            tier("8", "usd", json!(50), json!(null)),
            tier("8.5", "eur", json!(null), json!(null)),
        ]));
        let unit = |q, c| {
            compare(
                vec![(0, offer.clone())],
                Vec::new(),
                &request(c, q, None),
                Some(&rates()),
            )
            .ranked[0]
                .unit_price
                .clone()
        };
        // The cheapest applicable price after conversion: 8.5 EUR is
        // 9.44 USD, below the 10 USD tier of 1 to 9 units ...
        assert_eq!(unit(9, "USD"), money("9.44", "USD"));
        assert_eq!(unit(10, "USD"), money("9", "USD"));
        assert_eq!(unit(49, "USD"), money("9", "USD"));
        assert_eq!(unit(50, "USD"), money("8", "USD"));
        // ... and 8 USD is 7.20 EUR, below 8.5 EUR.
        assert_eq!(unit(50, "EUR"), money("7.20", "EUR"));
        assert_eq!(unit(9, "EUR"), money("8.5", "EUR"));
        // On a tie, the price already in the requested currency wins.
        let tie = medusa_offer(json!([
            tier("8.10", "eur", json!(null), json!(null)),
            tier("9", "usd", json!(null), json!(null)),
        ]));
        let cmp = compare(
            vec![(0, tie)],
            Vec::new(),
            &request("USD", 1, None),
            Some(&rates()),
        );
        assert_eq!(cmp.ranked[0].unit_price, money("9", "USD"));
        assert!(cmp.ranked[0].unit_price.converted().is_none());
        // Bulk tiers only, compared in another currency: converted, not
        // left out for want of a rate.
        let bulk = medusa_offer(json!([tier("8", "usd", json!(10), json!(null))]));
        let cmp = compare(
            vec![(0, bulk)],
            Vec::new(),
            &request("EUR", 10, None),
            Some(&rates()),
        );
        assert_eq!(cmp.ranked[0].unit_price, money("7.20", "EUR"));
        assert_eq!(cmp.ranked[0].subtotal, money("72.00", "EUR"));
        // Medusa gives no shipping: the total is unknown.
        let cmp = compare(
            vec![(0, offer)],
            Vec::new(),
            &request("USD", 1, None),
            Some(&rates()),
        );
        assert!(cmp.ranked[0].total.is_none());
    }

    #[test]
    fn violet_offers_are_priced_by_their_cheapest_buyable_sku() {
        let offer = violet_offer(json!([
            sku(1, 1200, false, 0),
            sku(2, 1900, true, 10),
            sku(3, 1700, true, 2)
        ]));
        let unit = |q| {
            compare(
                vec![(0, offer.clone())],
                Vec::new(),
                &request("EUR", q, None),
                None,
            )
            .ranked[0]
                .unit_price
                .clone()
        };
        // SKU 1 is cheapest but out of stock; SKU 3 has 2 units.
        assert_eq!(unit(1), money("17.00", "EUR"));
        assert_eq!(unit(3), money("19.00", "EUR"));
        assert_eq!(
            reason(offer, &request("EUR", 11, None)),
            Some(ExclusionReason::OutOfStock)
        );
    }

    #[test]
    fn every_exclusion_reason_is_given() {
        let usd = request("USD", 2, Some("DE"));
        assert_eq!(
            reason(online(json!({ "status": "seasonal" })), &usd),
            Some(ExclusionReason::NotActive)
        );
        assert_eq!(
            reason(
                online(json!({ "price": { "amount": null, "currency": "USD" } })),
                &usd
            ),
            Some(ExclusionReason::UnknownPrice)
        );
        assert_eq!(
            reason(online(json!({ "stock_level": "out_of_stock" })), &usd),
            Some(ExclusionReason::OutOfStock)
        );
        assert_eq!(
            reason(online(json!({ "min_order_quantity": 3 })), &usd),
            Some(ExclusionReason::BelowMinimumOrderQuantity)
        );
        assert_eq!(
            reason(online(json!({ "delivery_countries": ["US", "CA"] })), &usd),
            Some(ExclusionReason::NotDeliveredToCountry)
        );
        assert_eq!(
            reason(in_store(json!({ "quantity_on_hand": 1 })), &usd),
            Some(ExclusionReason::OutOfStock)
        );
        assert_eq!(
            reason(medusa_offer(json!([])), &usd),
            Some(ExclusionReason::UnknownPrice)
        );
        assert_eq!(
            reason(
                medusa_offer(json!([tier("9", "usd", json!(10), json!(null))])),
                &usd
            ),
            Some(ExclusionReason::NoPriceForQuantity)
        );
        assert_eq!(
            reason(online(json!({})), &request("CHF", 1, None)),
            Some(ExclusionReason::NoExchangeRate)
        );
        // Stated countries that include the buyer's, or none at all, are fine.
        assert_eq!(
            reason(online(json!({ "delivery_countries": ["DE"] })), &usd),
            None
        );
        assert_eq!(
            reason(online(json!({ "delivery_countries": [] })), &usd),
            None
        );
        // Low stock is still buyable.
        assert_eq!(
            reason(online(json!({ "stock_level": "low_stock" })), &usd),
            None
        );
    }

    #[test]
    fn without_rates_only_offers_in_the_requested_currency_take_part() {
        let cmp = compare(
            vec![
                (0, online(json!({}))),
                (1, violet_offer(json!([sku(1, 900, true, 5)]))),
            ],
            vec![Excluded::missing(
                2,
                ExclusionReason::NotFound,
                "no such offer",
            )],
            &request("EUR", 1, None),
            None,
        );
        assert_eq!(cmp.ranked.iter().map(|p| p.index).collect::<Vec<_>>(), [1]);
        let reasons: Vec<(usize, ExclusionReason)> =
            cmp.excluded.iter().map(|e| (e.index, e.reason)).collect();
        assert_eq!(
            reasons,
            [
                (0, ExclusionReason::NoExchangeRate),
                (2, ExclusionReason::NotFound)
            ]
        );
    }

    /// The one availability rule, per upstream and stock signal.
    mod availability_rule {
        use super::*;
        use crate::model::OfferStatus;
        use crate::pricing::availability::AvailabilityState as S;
        use crate::pricing::availability::{availability, status, AvailabilityReason as R};

        fn state(offer: &Offer, quantity: u32) -> (S, R) {
            let a = availability(offer, quantity);
            (a.state, a.reason)
        }

        #[test]
        fn closient_stock_levels_follow_seed_001() {
            for (stock, want) in [
                ("in_stock", (S::Now, R::InStock)),
                ("low_stock", (S::Now, R::LowStock)),
                ("pre_order", (S::WithWait, R::PreOrder)),
                ("backordered", (S::WithWait, R::Backordered)),
                ("out_of_stock", (S::NotBuyable, R::OutOfStock)),
                ("unknown", (S::Unknown, R::UnknownStock)),
                ("limited", (S::Unknown, R::UnrecognizedStock)),
            ] {
                let offer = online(json!({ "stock_level": stock, "lead_time_days": 12 }));
                assert_eq!(state(&offer, 1), want, "{stock}");
                let waits = want.0 == S::WithWait;
                assert_eq!(
                    availability(&offer, 1).wait_days,
                    waits.then_some(12),
                    "{stock}"
                );
            }
            let unpriced = online(json!({ "price": { "amount": null, "currency": "USD" } }));
            assert_eq!(state(&unpriced, 1), (S::Unknown, R::UnknownPrice));
            let seasonal = online(json!({ "status": "seasonal" }));
            assert_eq!(state(&seasonal, 1), (S::NotBuyable, R::NotActive));
            let wholesale = online(json!({ "min_order_quantity": 12 }));
            assert_eq!(
                state(&wholesale, 11),
                (S::NotBuyable, R::BelowMinimumOrderQuantity)
            );
            assert_eq!(state(&wholesale, 12), (S::Now, R::InStock));
        }

        #[test]
        fn an_in_store_shelf_count_of_null_is_unknown_never_buyable() {
            for (on_hand, quantity, want) in [
                (json!(null), 1, (S::Unknown, R::UnknownStock)),
                (json!(0), 1, (S::NotBuyable, R::OutOfStock)),
                (json!(3), 4, (S::NotBuyable, R::NotEnoughStock)),
                (json!(3), 3, (S::Now, R::OnShelf)),
            ] {
                let offer = in_store(json!({ "quantity_on_hand": on_hand }));
                assert_eq!(state(&offer, quantity), want, "{on_hand}/{quantity}");
            }
        }

        #[test]
        fn a_violet_offer_whose_skus_are_all_out_of_stock_is_not_buyable_and_out_of_stock() {
            let offer = violet_offer(json!([sku(1, 1000, false, 0), sku(2, 900, true, 0)]));
            assert_eq!(state(&offer, 1), (S::NotBuyable, R::OutOfStock));
            assert_eq!(status(&offer), OfferStatus::OutOfStock);
            let some = violet_offer(json!([sku(1, 1000, true, 2)]));
            assert_eq!(state(&some, 2), (S::Now, R::InStock));
            assert_eq!(state(&some, 3), (S::NotBuyable, R::NotEnoughStock));
            assert_eq!(status(&some), OfferStatus::Active);
        }

        #[test]
        fn medusa_offers_are_buyable_for_quantities_a_rule_free_price_covers() {
            let offer = medusa_offer(json!([tier("9", "usd", json!(10), json!(null))]));
            assert_eq!(state(&offer, 9), (S::NotBuyable, R::NoPriceForQuantity));
            assert_eq!(state(&offer, 10), (S::Now, R::Listed));
            let none = medusa_offer(json!([]));
            assert_eq!(state(&none, 1), (S::Unknown, R::UnknownPrice));
        }

        #[test]
        fn compare_takes_part_exactly_when_buyable_and_ranks_now_before_a_wait() {
            let offers = [
                online(
                    json!({ "stock_level": "pre_order", "price": { "amount": "1.00", "currency": "USD" } }),
                ),
                online(json!({ "stock_level": "in_stock" })),
                online(json!({ "stock_level": "unknown" })),
                in_store(json!({ "quantity_on_hand": null })),
            ];
            let cmp = compare(
                offers.iter().cloned().enumerate().collect(),
                Vec::new(),
                &request("USD", 1, None),
                None,
            );
            let ranked: Vec<usize> = cmp.ranked.iter().map(|p| p.index).collect();
            assert_eq!(ranked, [1, 0], "in stock first, then the cheaper pre-order");
            let excluded: Vec<_> = cmp.excluded.iter().map(|e| (e.index, e.reason)).collect();
            assert_eq!(
                excluded,
                [
                    (2, ExclusionReason::UnknownStock),
                    (3, ExclusionReason::UnknownStock)
                ]
            );
            for (i, offer) in offers.iter().enumerate() {
                assert_eq!(
                    availability(offer, 1).is_buyable(),
                    ranked.contains(&i),
                    "offer {i}"
                );
            }
        }
    }

    mod arithmetic {
        use proptest::prelude::*;

        use super::*;
        use crate::pricing::convert::round_to_minor_unit;

        const CURRENCIES: [&str; 6] = ["USD", "EUR", "JPY", "KWD", "CAD", "GBP"];

        proptest! {
            /// Whatever the amounts, rates, currencies and quantity: the unit
            /// price is the exact converted amount rounded once, subtotal =
            /// unit price x quantity and total = subtotal + shipping.
            #[test]
            fn the_numbers_shown_add_up(
                price_cents in 1i64..10_000_000,
                shipping_cents in 0i64..100_000,
                from in 0usize..6,
                to in 0usize..6,
                rates in proptest::collection::vec(1u32..5_000_000, 6),
                quantity in 1u32..=50,
            ) {
                let table = RateTable::new(
                    cur("USD"),
                    CURRENCIES
                        .iter()
                        .zip(&rates)
                        .filter(|(code, _)| **code != "USD")
                        // Rates with up to 4 decimals: 0.0001 to 499.9999.
                        .map(|(code, r)| (cur(code), Decimal::new(i64::from(*r), 4))),
                    "2026-11-01",
                    "test",
                )
                .unwrap();
                let price = Decimal::new(price_cents, 2);
                let shipping = Decimal::new(shipping_cents, 2);
                let offer = online(json!({
                    "price": { "amount": price.to_string(), "currency": CURRENCIES[from] },
                    "shipping_cost": shipping.to_string(),
                }));
                let request = request(CURRENCIES[to], quantity, None);
                let cmp = compare(vec![(0, offer)], Vec::new(), &request, Some(&table));
                prop_assert_eq!(cmp.ranked.len(), 1, "{:?}", cmp.excluded);
                let p = &cmp.ranked[0];
                let target = cur(CURRENCIES[to]);
                // In its own currency an amount is shown as the upstream
                // sent it; converted, it is rounded once.
                let exact = |amount: Decimal| {
                    if from == to {
                        return amount;
                    }
                    let (from_rate, to_rate) =
                        (table.rate(cur(CURRENCIES[from])).unwrap(), table.rate(target).unwrap());
                    round_to_minor_unit(amount * to_rate / from_rate, target)
                };
                prop_assert_eq!(p.unit_price.amount(), exact(price));
                prop_assert_eq!(p.unit_price.currency(), target);
                prop_assert_eq!(
                    p.subtotal.amount(),
                    p.unit_price.amount() * Decimal::from(quantity)
                );
                let shipping_shown = p.shipping.as_ref().unwrap();
                prop_assert_eq!(shipping_shown.amount(), exact(shipping));
                prop_assert_eq!(
                    p.total.as_ref().unwrap().amount(),
                    p.subtotal.amount() + shipping_shown.amount()
                );
            }

            /// Converting there and back lands within one minor unit of the
            /// coarser of the two currencies (in the source currency): each
            /// leg rounds once, by at most half a unit.
            #[test]
            fn a_round_trip_stays_within_one_minor_unit(
                minor in 0i64..10_000_000_000,
                from in 0usize..6,
                to in 0usize..6,
                rates in proptest::collection::vec(1u32..5_000_000, 6),
            ) {
                let table = table_of(&rates);
                let source = cur(CURRENCIES[from]);
                let target = cur(CURRENCIES[to]);
                let unit = |c: Currency| Decimal::new(1, c.exponent().unwrap());
                let amount = Money::new(minor_amount(minor, source), source);
                let there = table.convert(&amount, target).unwrap();
                let back = table.convert(&there, source).unwrap();
                let (rate_from, rate_to) = (table.rate(source).unwrap(), table.rate(target).unwrap());
                let bound = unit(source).max(unit(target) * rate_from / rate_to);
                let error = (back.amount() - amount.amount()).abs();
                prop_assert!(error <= bound, "{} -> {} -> {}: error {} > {}", amount, there, back, error, bound);
            }

            /// The ranking is a total order consistent with the totals: known
            /// delivery first, then `NOW` before `WITH_WAIT`, then known totals
            /// ascending, then unknown totals by subtotal; the order of the
            /// request only breaks exact ties, so reversing the request
            /// reverses only tied offers.
            #[test]
            fn the_ranking_is_a_total_order_consistent_with_the_totals(
                rows in proptest::collection::vec(
                    (1i64..5_000, proptest::option::of(0i64..2_000), 0usize..4, 0usize..3, 0usize..3),
                    1..12,
                ),
                to in 0usize..6,
                rates in proptest::collection::vec(1u32..5_000_000, 6),
            ) {
                let table = table_of(&rates);
                let stock = ["in_stock", "low_stock", "pre_order", "backordered"];
                let countries = [json!([]), json!(["US"]), json!(["US", "DE"])];
                let offers: Vec<Offer> = rows
                    .iter()
                    .map(|(price, shipping, level, countries_at, currency)| {
                        online(json!({
                            "price": { "amount": Decimal::new(*price, 2).to_string(), "currency": CURRENCIES[*currency] },
                            "shipping_cost": shipping.map(|s| Decimal::new(s, 2).to_string()),
                            "fulfillment_type": "standard",
                            "stock_level": stock[*level],
                            "delivery_countries": countries[*countries_at],
                        }))
                    })
                    .collect();
                let request = request(CURRENCIES[to], 3, Some("US"));
                let ranked = |order: Vec<(usize, Offer)>| {
                    compare(order, Vec::new(), &request, Some(&table)).ranked
                };
                let forward = ranked(offers.iter().cloned().enumerate().collect());
                prop_assert_eq!(forward.len(), offers.len());
                let key = |p: &Priced| (
                    p.delivery == Delivery::Unknown,
                    p.availability.state,
                    p.total.is_none(),
                    p.total.as_ref().map_or(p.subtotal.amount(), Money::amount),
                );
                for pair in forward.windows(2) {
                    prop_assert!(key(&pair[0]) <= key(&pair[1]));
                    if key(&pair[0]) == key(&pair[1]) {
                        prop_assert!(pair[0].index < pair[1].index);
                    }
                }
                let backward = ranked(offers.iter().cloned().enumerate().rev().collect());
                let keys = |r: &[Priced]| r.iter().map(key).collect::<Vec<_>>();
                prop_assert_eq!(keys(&forward), keys(&backward));
            }
        }

        /// A rate table over `CURRENCIES` with rates of up to 4 decimals.
        fn table_of(rates: &[u32]) -> RateTable {
            RateTable::new(
                cur("USD"),
                CURRENCIES
                    .iter()
                    .zip(rates)
                    .filter(|(code, _)| **code != "USD")
                    .map(|(code, r)| (cur(code), Decimal::new(i64::from(*r), 4))),
                "2026-11-01",
                "test",
            )
            .unwrap()
        }

        /// `minor` minor units of `currency` as an amount.
        fn minor_amount(minor: i64, currency: Currency) -> Decimal {
            Decimal::new(minor, currency.exponent().unwrap())
        }
    }
}
