//! What the gateway should answer about money and availability, computed
//! here from the simulators' raw values, independently of the gateway's
//! pricing module: the rules as the README and seeds state them, written
//! out again in the plainest form. Violet prices are expected as the
//! simulator serves them: in US dollars, Violet's default `base_currency`.

use std::collections::BTreeMap;
use std::str::FromStr;

use offer_gateway::upstream::closient::wire::{InStoreOfferOut, OnlineOfferOut, PromotionOut};
use offer_gateway::upstream::{medusa, violet};
use rust_decimal::{Decimal, RoundingStrategy};

/// Decimals of a currency's minor unit, written out for the currencies the
/// simulators use.
pub fn exponent(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" => 0,
        "KWD" | "BHD" | "JOD" => 3,
        "USD" | "EUR" | "GBP" | "CAD" | "AUD" | "CHF" | "SEK" | "MXN" => 2,
        other => panic!("the test does not know the exponent of {other}"),
    }
}

/// An amount with its currency.
pub type Amount = (Decimal, String);

/// Exchange rates: units of each currency per US dollar.
pub type Rates = BTreeMap<String, Decimal>;

/// The currency the gateway asks Violet to answer in unless configured
/// otherwise (its `base_currency`, Violet's own default).
pub const VIOLET_SERVED: &str = "USD";

/// Whether an offer can be bought for a quantity, and if not, the
/// `compareOffers` exclusion reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Avail {
    /// Buyable now.
    Now,
    /// Buyable with a wait.
    WithWait,
    /// Not buyable, with the GraphQL exclusion reason.
    No(&'static str),
}

impl Avail {
    /// Whether a buyer can order it.
    pub fn buyable(&self) -> bool {
        matches!(self, Avail::Now | Avail::WithWait)
    }
}

/// Converts `amount` from `from` into `to` with rates in units per US
/// dollar: the exact amount (amount x to / from) rounded once, half to
/// even, to `to`'s minor unit. Same currency: unchanged. `None` when the
/// table lacks either currency.
pub fn convert(amount: Decimal, from: &str, to: &str, rates: &Rates) -> Option<Decimal> {
    if from == to {
        return Some(amount);
    }
    let exact = amount * rates.get(to)? / rates.get(from)?;
    Some(exact.round_dp_with_strategy(exponent(to), RoundingStrategy::MidpointNearestEven))
}

fn decimal(text: &str) -> Decimal {
    Decimal::from_str(text.trim()).expect("a decimal")
}

/// A Closient row price (null amount: unknown).
pub fn closient_price(
    price: Option<&offer_gateway::upstream::closient::wire::PriceOut>,
) -> Option<Amount> {
    let price = price?;
    Some((decimal(price.amount.as_deref()?), price.currency.clone()))
}

/// The price one unit of a Closient offer costs at `now`: among its
/// promotions that are active with `now` inside their window (both ends
/// inclusive) and state no other currency than the store's, the cheapest
/// (the first listed among equals); else the regular price. A promotion
/// never prices an offer whose regular price is unknown.
pub fn closient_current(
    regular: Option<Amount>,
    promotions: &[PromotionOut],
    now: std::time::SystemTime,
) -> Option<Amount> {
    let (amount, currency) = regular?;
    let at = |text: &str| {
        humantime::parse_rfc3339_weak(text.trim_end_matches('Z')).expect("a timestamp")
    };
    let promoted = promotions
        .iter()
        .filter(|p| p.is_active && at(&p.start_date) <= now && now <= at(&p.end_date))
        .filter(|p| p.currency.is_empty() || p.currency == currency)
        .map(|p| decimal(&p.promotional_price))
        .enumerate()
        .min_by_key(|(i, price)| (*price, *i))
        .map(|(_, price)| price);
    Some((promoted.unwrap_or(amount), currency))
}

/// Closient online availability for `quantity`: status, price, minimum
/// order, then stock level (seed 001).
pub fn closient_online(raw: &OnlineOfferOut, quantity: u32) -> Avail {
    if raw.status.as_str() != "active" {
        return Avail::No("NOT_ACTIVE");
    }
    if closient_price(raw.price.as_ref()).is_none() {
        return Avail::No("UNKNOWN_PRICE");
    }
    if raw.min_order_quantity > i64::from(quantity) {
        return Avail::No("BELOW_MINIMUM_ORDER_QUANTITY");
    }
    match raw.stock_level.as_str() {
        "in_stock" | "low_stock" => Avail::Now,
        "pre_order" | "backordered" => Avail::WithWait,
        "out_of_stock" => Avail::No("OUT_OF_STOCK"),
        _ => Avail::No("UNKNOWN_STOCK"),
    }
}

/// Closient online shipping in the store's currency: the cost, else zero
/// for fulfillment types that ship free, else unknown.
pub fn closient_shipping(raw: &OnlineOfferOut) -> Option<Decimal> {
    match raw.shipping_cost.as_deref().map(decimal) {
        Some(cost) if !cost.is_sign_negative() || cost.is_zero() => Some(cost.abs()),
        _ => match raw.fulfillment_type.as_str() {
            "prime" | "digital_download" | "store_pickup" | "ship_to_store" => Some(Decimal::ZERO),
            _ => None,
        },
    }
}

/// Closient in-store availability for `quantity`.
pub fn closient_in_store(raw: &InStoreOfferOut, quantity: u32) -> Avail {
    if raw.status.as_str() != "active" {
        return Avail::No("NOT_ACTIVE");
    }
    if closient_price(raw.price.as_ref()).is_none() {
        return Avail::No("UNKNOWN_PRICE");
    }
    match raw.quantity_on_hand {
        None => Avail::No("UNKNOWN_STOCK"),
        Some(on_hand) if on_hand < i64::from(quantity) => Avail::No("OUT_OF_STOCK"),
        Some(_) => Avail::Now,
    }
}

/// Whether a Medusa price carries no rules (neither listed nor counted).
pub fn medusa_rule_free(p: &medusa::wire::Price) -> bool {
    let listed = match &p.price_rules {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Array(rules)) => !rules.is_empty(),
        Some(serde_json::Value::Object(rules)) => !rules.is_empty(),
        Some(_) => true,
    };
    !listed && p.rules_count.unwrap_or(0) <= 0
}

fn medusa_covers(p: &medusa::wire::Price, quantity: i64) -> bool {
    p.min_quantity.is_none_or(|m| quantity >= m) && p.max_quantity.is_none_or(|m| quantity <= m)
}

fn medusa_amount(p: &medusa::wire::Price) -> Amount {
    (
        Decimal::from_str(p.amount.as_str()).expect("a plain JSON number"),
        p.currency_code.to_uppercase(),
    )
}

/// The Medusa `price` shown: the rule-free price for one unit, else for the
/// smallest quantity a rule-free price covers; the narrowest tier, then
/// the first listed.
pub fn medusa_listed(raw: &medusa::wire::Offer) -> Option<Amount> {
    let free: Vec<(usize, &medusa::wire::Price)> = raw
        .prices
        .iter()
        .enumerate()
        .filter(|(_, p)| medusa_rule_free(p))
        .collect();
    let quantity = if free.iter().any(|(_, p)| medusa_covers(p, 1)) {
        1
    } else {
        free.iter()
            .map(|(_, p)| p.min_quantity.unwrap_or(1).max(1))
            .min()?
    };
    free.iter()
        .filter(|(_, p)| medusa_covers(p, quantity))
        .min_by_key(|(i, p)| (std::cmp::Reverse(p.min_quantity.unwrap_or(0)), *i))
        .map(|(_, p)| medusa_amount(p))
}

/// Medusa availability for `quantity`: listed with a rule-free price that
/// covers it.
pub fn medusa(raw: &medusa::wire::Offer, quantity: u32) -> Avail {
    if raw.prices.is_empty() {
        return Avail::No("UNKNOWN_PRICE");
    }
    if raw
        .prices
        .iter()
        .any(|p| medusa_rule_free(p) && medusa_covers(p, i64::from(quantity)))
    {
        Avail::Now
    } else {
        Avail::No("NO_PRICE_FOR_QUANTITY")
    }
}

/// The Medusa unit price a buyer pays for `quantity` in `target`: among
/// rule-free prices covering the quantity, the cheapest once converted; a
/// price already in `target` wins a tie, then the first listed.
pub fn medusa_unit(
    raw: &medusa::wire::Offer,
    quantity: u32,
    target: &str,
    rates: &Rates,
) -> Option<Decimal> {
    raw.prices
        .iter()
        .enumerate()
        .filter(|(_, p)| medusa_rule_free(p) && medusa_covers(p, i64::from(quantity)))
        .filter_map(|(i, p)| {
            let (amount, currency) = medusa_amount(p);
            Some((
                convert(amount, &currency, target, rates)?,
                currency != target,
                i,
            ))
        })
        .min()
        .map(|(amount, _, _)| amount)
}

fn violet_currency(raw: &violet::wire::Offer, sku: Option<&violet::wire::Sku>) -> String {
    sku.and_then(|s| s.currency.clone())
        .or_else(|| raw.skus.first().and_then(|s| s.currency.clone()))
        .or_else(|| raw.currency.clone())
        .expect("a currency")
}

/// Whether a Violet SKU can be bought in `quantity`.
pub fn violet_sku_buyable(sku: &violet::wire::Sku, quantity: u32) -> bool {
    let status_ok = matches!(sku.status, None | Some(violet::wire::Status::Available));
    let tracked = sku.inventory_tracked.unwrap_or(false);
    status_ok
        && sku.in_stock != Some(false)
        && (!tracked
            || sku
                .quantity_available
                .is_none_or(|q| q >= i64::from(quantity)))
}

/// A Violet amount of `minor` units of `currency`, as the simulator serves
/// it in `served` (the `base_currency` asked for): converted at its rates,
/// rounded half to even.
fn violet_served(minor: i64, currency: &str, served: &str, rates: &Rates) -> Amount {
    let amount = Decimal::new(minor, exponent(currency));
    let converted = convert(amount, currency, served, rates).expect("a Violet rate");
    (converted, served.to_owned())
}

fn violet_sku_price(
    raw: &violet::wire::Offer,
    sku: &violet::wire::Sku,
    served: &str,
    rates: &Rates,
) -> Option<Amount> {
    let minor = sku.sale_price.or(sku.retail_price)?;
    let currency = violet_currency(raw, Some(sku));
    Some(violet_served(minor, &currency, served, rates))
}

/// The cheapest Violet SKU a buyer can buy `quantity` of.
pub fn violet_cheapest(raw: &violet::wire::Offer, quantity: u32, rates: &Rates) -> Option<Amount> {
    violet_cheapest_in(raw, quantity, VIOLET_SERVED, rates)
}

/// [`violet_cheapest`], served in `served`.
fn violet_cheapest_in(
    raw: &violet::wire::Offer,
    quantity: u32,
    served: &str,
    rates: &Rates,
) -> Option<Amount> {
    raw.skus
        .iter()
        .filter(|s| violet_sku_buyable(s, quantity))
        .filter_map(|s| violet_sku_price(raw, s, served, rates))
        .min_by(|a, b| a.0.cmp(&b.0))
}

/// The Violet `price` shown: the cheapest SKU buyable for one unit, else
/// the cheapest priced SKU, else the offer's `min_price`.
pub fn violet_listed(raw: &violet::wire::Offer, rates: &Rates) -> Amount {
    violet_listed_in(raw, VIOLET_SERVED, rates)
}

/// [`violet_listed`], served in `served` (a configured `base_currency`).
pub fn violet_listed_in(raw: &violet::wire::Offer, served: &str, rates: &Rates) -> Amount {
    violet_cheapest_in(raw, 1, served, rates)
        .or_else(|| {
            raw.skus
                .iter()
                .filter_map(|s| violet_sku_price(raw, s, served, rates))
                .min_by(|a, b| a.0.cmp(&b.0))
        })
        .unwrap_or_else(|| violet_served(raw.min_price, &violet_currency(raw, None), served, rates))
}

/// Violet availability for `quantity`.
pub fn violet(raw: &violet::wire::Offer, quantity: u32) -> Avail {
    use violet::wire::Status;
    let active = match &raw.status {
        Some(Status::Available) | None => raw.available && raw.visible,
        _ => false,
    };
    if !active {
        return Avail::No("NOT_ACTIVE");
    }
    if raw.skus.is_empty() {
        return Avail::Now;
    }
    if raw
        .skus
        .iter()
        .all(|s| s.sale_price.or(s.retail_price).is_none())
    {
        return Avail::No("UNKNOWN_PRICE");
    }
    if raw
        .skus
        .iter()
        .any(|s| s.sale_price.or(s.retail_price).is_some() && violet_sku_buyable(s, quantity))
    {
        Avail::Now
    } else {
        Avail::No("OUT_OF_STOCK")
    }
}
