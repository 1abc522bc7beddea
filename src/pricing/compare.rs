//! What a buyer pays: the unit price of an offer for a quantity, the total
//! with shipping, and the cheapest-active rule, for offers of any upstream.
//!
//! The rule (Closient's documented cheapest-active resolution, applied to
//! every upstream): an offer takes part when it is active, has a known price
//! for the quantity, a buyable stock level, a minimum order quantity not
//! above the quantity, and delivers to the buyer's country where it states
//! its countries. Every other offer is left out with the reason.
//!
//! - Unit price: Closient rows have one price; Medusa prices are tiers:
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
//! - Ranking: with a country, offers known to deliver there (or bought in
//!   store) before offers whose delivery is unknown (an empty Closient
//!   country list inherits the storefront's; marketplace offers state
//!   none), never excluding nor assuming them; within each, offers with a
//!   known total by total, then offers with an unknown total by subtotal;
//!   ties keep the order of the request. The cheapest offer is the first
//!   of the ranking.

use async_graphql::Enum;
use rust_decimal::Decimal;

use super::convert::{ConversionError, RateTable};
use super::{Currency, Money, PriceTier};
use crate::model::{
    FulfillmentType, MarketplaceDetails, Offer, OfferStatus, StockLevel, VioletSku, VioletStatus,
};

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
/// whose upstream failed).
pub(crate) fn compare(
    offers: Vec<(usize, Offer)>,
    mut excluded: Vec<Excluded>,
    request: &Request,
    rates: Option<&RateTable>,
) -> Comparison {
    let mut ranked = Vec::new();
    for (index, offer) in offers {
        match evaluate(&offer, request, rates) {
            Ok((costs, delivery)) => ranked.push(Priced {
                delivery,
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
            match &p.total {
                Some(total) => (delivery_unknown, 0, total.amount()),
                None => (delivery_unknown, 1, p.subtotal.amount()),
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
) -> Result<(Costs, Delivery), (ExclusionReason, String)> {
    let common = offer.common();
    if common.status != OfferStatus::Active {
        return Err((
            ExclusionReason::NotActive,
            format!(
                "the offer's status is {}",
                match common.status {
                    OfferStatus::Active => "active",
                    OfferStatus::OutOfStock => "out of stock",
                    OfferStatus::Seasonal => "seasonal",
                    OfferStatus::Discontinued => "discontinued",
                    OfferStatus::Unavailable => "unavailable",
                    OfferStatus::Unrecognized => "not one the gateway knows",
                }
            ),
        ));
    }
    let quantity = request.quantity;
    let (unit, shipping) = match offer {
        Offer::Online(o) => {
            let unit = common.price.clone().ok_or((
                ExclusionReason::UnknownPrice,
                "the retailer does not know the price".to_owned(),
            ))?;
            if o.stock_level == StockLevel::OutOfStock {
                return Err((
                    ExclusionReason::OutOfStock,
                    "the storefront is out of stock".to_owned(),
                ));
            }
            if o.min_order_quantity > 0 && o.min_order_quantity as u32 > quantity {
                return Err((
                    ExclusionReason::BelowMinimumOrderQuantity,
                    format!("the minimum order is {} units", o.min_order_quantity),
                ));
            }
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
        Offer::InStore(o) => {
            let unit = common.price.clone().ok_or((
                ExclusionReason::UnknownPrice,
                "the store does not know the price".to_owned(),
            ))?;
            if let Some(on_hand) = o.quantity_on_hand {
                if on_hand < 0 || (on_hand as u32) < quantity {
                    return Err((
                        ExclusionReason::OutOfStock,
                        format!("{on_hand} units on the shelf"),
                    ));
                }
            }
            // Bought at the store: nothing to ship.
            let shipping = Some(Money::new(Decimal::ZERO, unit.currency()));
            (unit, shipping)
        }
        Offer::Marketplace(o) => match &o.details {
            MarketplaceDetails::Medusa(details) => {
                if details.prices.is_empty() {
                    return Err((
                        ExclusionReason::UnknownPrice,
                        "the offer has no prices".to_owned(),
                    ));
                }
                (cheapest_tier(details, quantity, request, rates)?, None)
            }
            MarketplaceDetails::Violet(details) => {
                if details.skus.is_empty() {
                    (details.min_price.clone(), None)
                } else {
                    let cheapest = details
                        .skus
                        .iter()
                        .filter(|sku| sku_buyable(sku, quantity))
                        .filter_map(|sku| {
                            sku.sale_price.clone().or_else(|| sku.retail_price.clone())
                        })
                        .min_by(|a, b| a.amount().cmp(&b.amount()));
                    match cheapest {
                        Some(price) => (price, None),
                        None if details
                            .skus
                            .iter()
                            .any(|s| s.sale_price.is_some() || s.retail_price.is_some()) =>
                        {
                            return Err((
                                ExclusionReason::OutOfStock,
                                format!("no SKU has {quantity} units in stock"),
                            ))
                        }
                        None => {
                            return Err((
                                ExclusionReason::UnknownPrice,
                                "no SKU has a price".to_owned(),
                            ))
                        }
                    }
                }
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
        return Ok(((unit, subtotal, shipping, total), delivery));
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
    Ok(((unit, subtotal, shipping, total), delivery))
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

/// Whether a Violet SKU can be bought in `quantity` now.
fn sku_buyable(sku: &VioletSku, quantity: u32) -> bool {
    let available = matches!(sku.status, None | Some(VioletStatus::Available));
    let in_stock = sku.in_stock != Some(false);
    let enough = !sku.inventory_tracked.unwrap_or(false)
        || sku
            .quantity_available
            .is_none_or(|q| q >= 0 && q as u32 >= quantity);
    available && in_stock && enough
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
        }
    }
}
