//! Drift mode of the Medusa simulator ([`crate::sim::drift`]): the values a
//! Mercur admin API may send but the demo data never does, for a
//! deterministic subset of the offers.

use rust_decimal::Decimal;
use serde_json::json;

use super::SimData;
use crate::pricing::JsonNumber;

/// 2^53 + 1: the first integer a JSON double cannot hold.
const ABOVE_2_POW_53: i64 = 9_007_199_254_740_993;

/// The same amount in exponent notation (`1234e-2` for 12.34).
fn exponent_form(amount: &JsonNumber) -> JsonNumber {
    let Ok(value) = amount.as_str().parse::<Decimal>() else {
        return amount.clone();
    };
    format!("{}e-{}", value.mantissa(), value.scale())
        .parse()
        .unwrap_or_else(|_| amount.clone())
}

/// The amount plus a thousandth: finer than most currencies' minor unit.
fn sub_minor(amount: &JsonNumber) -> JsonNumber {
    amount
        .as_str()
        .parse::<Decimal>()
        .map(|value| JsonNumber::from_decimal(value + Decimal::new(1, 3)))
        .unwrap_or_else(|_| amount.clone())
}

impl SimData {
    /// Drift mode. Offer `i` (in id order, which is the listing order), by
    /// `i % 8`: 1 a variant count above 2^31, 2 required quantities above
    /// 2^53, 3 amounts in exponent notation and tier bounds above 2^40,
    /// 4 amounts finer than a cent, 5 no seller, variant or shipping
    /// profile relation and no timestamps, 6 `null` price and inventory
    /// lists, SKU and metadata. Offer `i % 20 == 7` is unreadable (a price
    /// amount that is not a number).
    pub fn with_drift(mut self) -> Self {
        let mut drift = std::mem::take(&mut self.drift);
        for (i, offer) in self.offers.iter_mut().enumerate() {
            match i % 8 {
                1 => offer.variant_count = Some(3_000_000_000),
                2 => {
                    for item in &mut offer.inventory_items {
                        item.required_quantity = Some(ABOVE_2_POW_53);
                    }
                }
                3 => {
                    for price in &mut offer.prices {
                        price.amount = exponent_form(&price.amount);
                        price.max_quantity = price.max_quantity.or(Some(1 << 40));
                    }
                }
                4 => {
                    for price in &mut offer.prices {
                        price.amount = sub_minor(&price.amount);
                    }
                }
                5 => {
                    offer.seller = None;
                    offer.product_variant = None;
                    offer.shipping_profile = None;
                    offer.created_by = None;
                    offer.created_at = None;
                    offer.updated_at = None;
                }
                6 => {
                    offer.prices.clear();
                    offer.inventory_items.clear();
                    offer.sku = None;
                    offer.metadata = None;
                    drift.null(&offer.id, "/prices");
                    drift.null(&offer.id, "/inventory_items");
                }
                _ => {}
            }
            if i % 20 == 7 {
                drift.unreadable(
                    &offer.id,
                    "/prices",
                    json!([{"id": "price_drift", "amount": "twenty", "currency_code": "usd"}]),
                );
            }
        }
        self.drift = drift;
        self
    }
}
