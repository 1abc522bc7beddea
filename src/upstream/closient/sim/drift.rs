//! Drift mode of the Closient simulator ([`crate::sim::drift`]): the values
//! the retailers API documents but the demo data never sends, for a
//! deterministic subset of the offers and of their promotions.

use serde_json::{json, Value};

use super::SimData;
use crate::upstream::closient::shortuuid;
use crate::upstream::closient::wire::{
    FulfillmentType, OfferSource, OfferStatus, PriceOut, PromotionType, StockLevel,
};

/// 2^53 + 1: the first integer a JSON double cannot hold.
const ABOVE_2_POW_53: i64 = 9_007_199_254_740_993;

/// An unreadable price: a decimal with a comma.
fn unreadable_price(price: Option<&PriceOut>) -> serde_json::Value {
    let currency = price.map_or("USD", |p| p.currency.as_str());
    json!({"amount": "12,99", "currency": currency})
}

impl SimData {
    /// Drift mode. Online offer `i` (in generation order), by `i % 10`:
    /// 1 an unknown `status`, 2 an unknown `source`, 3 an unknown
    /// `fulfillment_type`, 4 an unknown `stock_level`, 5 `null` for every
    /// field with a documented default, 6 a negative shipping cost, a
    /// `+`-signed price and no organization, 7 counts above 2^31 and 2^53,
    /// 8 no price at all, 9 a shipping cost written `.50` and a zero-padded
    /// price. In every organization's listing, the offer at position
    /// `p % 20 == 7` is unreadable (a price that is not a number). In-store
    /// offer `j`, by `j % 6`: 1 an unknown `status`, 2 an unknown `source`,
    /// 3 a count above 2^31, 4 `null` for every defaulted field, 5 no price
    /// and no organization; `j % 40 == 17` is unreadable.
    ///
    /// Promotions (edits in [`SimData::promotion_drift`]), counting `k`
    /// over the generated promotions of the online offers in generation
    /// order, then of the in-store offers, each offer's in list order, by
    /// `k % 8`: 3 an unknown `promotion_type` (`FLASH_SALE`), 5 `null` for
    /// `short_id`, `currency`, `description` and `metadata`; `k % 16 == 7`
    /// is unreadable (a promotional price that is not a number). The
    /// offers' drift may leave a promoted offer without a price.
    pub fn with_drift(mut self) -> Self {
        let mut drift = std::mem::take(&mut self.drift);
        for (i, offer) in self.online_offers.iter_mut().enumerate() {
            match i % 10 {
                1 => offer.status = OfferStatus::Unrecognized("pending_review".into()),
                2 => offer.source = OfferSource::Unrecognized("api_import".into()),
                3 => {
                    offer.fulfillment_type = FulfillmentType::Unrecognized("drone_delivery".into())
                }
                4 => offer.stock_level = StockLevel::Unrecognized("limited".into()),
                5 => {
                    offer.status = OfferStatus::default();
                    offer.source = OfferSource::default();
                    offer.fulfillment_type = FulfillmentType::default();
                    offer.stock_level = StockLevel::default();
                    offer.is_verified = false;
                    offer.min_order_quantity = 1;
                    offer.sku.clear();
                    offer.url.clear();
                    offer.delivery_countries.clear();
                    offer.metadata.clear();
                    for field in [
                        "/status",
                        "/source",
                        "/fulfillment_type",
                        "/stock_level",
                        "/is_verified",
                        "/min_order_quantity",
                        "/sku",
                        "/url",
                        "/delivery_countries",
                        "/metadata",
                    ] {
                        drift.null(&offer.id, field);
                    }
                }
                6 => {
                    offer.shipping_cost = Some("-1.50".into());
                    offer.organization_id = None;
                    if let Some(price) = &mut offer.price {
                        price.amount = price.amount.take().map(|a| format!("+{a}"));
                    }
                }
                7 => {
                    offer.lead_time_days = Some(ABOVE_2_POW_53);
                    offer.min_order_quantity = i64::from(i32::MAX) + 1;
                }
                8 => {
                    offer.price = None;
                    offer.shipping_cost = None;
                }
                9 => {
                    offer.shipping_cost = Some(".50".into());
                    if let Some(price) = &mut offer.price {
                        price.amount = price.amount.take().map(|a| format!("00{a}"));
                    }
                }
                _ => {}
            }
        }
        for listing in &self.online_by_org {
            for &i in listing.iter().skip(7).step_by(20) {
                let offer = &self.online_offers[i];
                drift.unreadable(&offer.id, "/price", unreadable_price(offer.price.as_ref()));
            }
        }
        for (j, offer) in self.in_store_offers.iter_mut().enumerate() {
            match j % 6 {
                1 => offer.status = OfferStatus::Unrecognized("coming_soon".into()),
                2 => offer.source = OfferSource::Unrecognized("api_import".into()),
                3 => offer.quantity_on_hand = Some(3_000_000_000),
                4 => {
                    offer.status = OfferStatus::default();
                    offer.source = OfferSource::default();
                    offer.is_verified = false;
                    offer.store_pickup_available = false;
                    offer.sku.clear();
                    offer.aisle.clear();
                    offer.metadata.clear();
                    for field in [
                        "/status",
                        "/source",
                        "/is_verified",
                        "/store_pickup_available",
                        "/sku",
                        "/aisle",
                        "/metadata",
                    ] {
                        drift.null(&offer.id, field);
                    }
                }
                5 => {
                    offer.price = None;
                    offer.organization_id = None;
                }
                _ => {}
            }
            if j % 40 == 17 {
                drift.unreadable(&offer.id, "/price", unreadable_price(offer.price.as_ref()));
            }
        }
        self.drift = drift;
        self.drift_promotions();
        self
    }

    /// The promotions' part of [`SimData::with_drift`].
    fn drift_promotions(&mut self) {
        let mut drift = std::mem::take(&mut self.promotion_drift);
        let order: Vec<(bool, u128)> = self
            .online_offers
            .iter()
            .map(|o| (true, &o.id))
            .chain(self.in_store_offers.iter().map(|o| (false, &o.id)))
            .filter_map(|(online, id)| Some((online, shortuuid::decode(id).ok()?)))
            .collect();
        let mut k = 0usize;
        for (online, uuid) in order {
            let generated = if online {
                &mut self.online_promotions
            } else {
                &mut self.in_store_promotions
            };
            let Some(promotions) = generated.get_mut(&uuid) else {
                continue;
            };
            for promotion in promotions {
                match k % 8 {
                    3 => {
                        promotion.promotion_type = PromotionType::Unrecognized("FLASH_SALE".into())
                    }
                    5 => {
                        promotion.short_id.clear();
                        promotion.currency.clear();
                        promotion.description.clear();
                        promotion.metadata = Value::Null;
                        for field in ["/short_id", "/currency", "/description", "/metadata"] {
                            drift.null(&promotion.id, field);
                        }
                    }
                    _ => {}
                }
                if k % 16 == 7 {
                    drift.unreadable(&promotion.id, "/promotional_price", json!("12,99"));
                }
                k += 1;
            }
        }
        self.promotion_drift = drift;
    }
}
