//! Drift mode of the Violet simulator ([`crate::sim::drift`]): the values
//! the catalog API documents (or leaves open) but the demo data never
//! sends, for a deterministic subset of the offers.

use serde_json::json;

use super::SimData;
use crate::upstream::violet::wire::{
    ProductType, PublishingStatus, Source, Status, SubscriptionStatus,
};

/// 2^53 + 1: the first integer a JSON double cannot hold.
const ABOVE_2_POW_53: i64 = 9_007_199_254_740_993;

impl SimData {
    /// Drift mode. Offer `i` (in id order, which is the listing order), by
    /// `i % 10`: 1 an unknown `source`, 2 an unknown `status` (and SKU
    /// statuses), 3 unknown `type`, `publishing_status` and
    /// `subscription_status` (and SKU types), 4 variants, values and SKUs
    /// without names and albums without ids, 5 counts above 2^31, 2^32,
    /// 2^53 and 2^63 - 1, 6 no `max_price`, a fractional commission and a
    /// first SKU with only a retail price, 7 no description, external URL,
    /// collections or SKU currencies, 8 `null` tags, variants and albums.
    /// Offer `i % 20 == 13` is unreadable (a `min_price` that is not a
    /// number).
    pub fn with_drift(mut self) -> Self {
        let mut drift = std::mem::take(&mut self.drift);
        for (i, offer) in self.offers.iter_mut().enumerate() {
            let id = offer.id.to_string();
            match i % 10 {
                1 => offer.source = Source::Unrecognized("TIKTOK_SHOP".into()),
                2 => {
                    offer.status = Some(Status::Unrecognized("PENDING".into()));
                    for sku in &mut offer.skus {
                        sku.status = Some(Status::Unrecognized("BACKORDER".into()));
                    }
                }
                3 => {
                    offer.product_type = Some(ProductType::Unrecognized("SUBSCRIPTION".into()));
                    offer.publishing_status =
                        Some(PublishingStatus::Unrecognized("SCHEDULED".into()));
                    offer.subscription_status =
                        Some(SubscriptionStatus::Unrecognized("PAUSED".into()));
                    for sku in &mut offer.skus {
                        sku.product_type = Some(ProductType::Unrecognized("GIFT_CARD".into()));
                    }
                }
                4 => {
                    for variant in &mut offer.variants {
                        variant.name = None;
                        variant
                            .values
                            .iter_mut()
                            .for_each(|value| value.name = None);
                    }
                    for sku in &mut offer.skus {
                        sku.name = None;
                        sku.variant_values.iter_mut().for_each(|v| v.value = None);
                    }
                    offer.albums.iter_mut().for_each(|album| album.id = None);
                }
                5 => {
                    for sku in &mut offer.skus {
                        sku.quantity_available = Some(3_000_000_000);
                    }
                    for variant in &mut offer.variants {
                        variant.display_order = Some(ABOVE_2_POW_53);
                    }
                    for entry in offer.metadata.iter_mut().flatten() {
                        entry.version = Some(i64::MAX);
                    }
                    for media in offer.albums.iter_mut().flat_map(|a| &mut a.media) {
                        media.display_order = Some(1 << 32);
                    }
                }
                6 => {
                    offer.max_price = None;
                    offer.commission_rate = "12.345".parse().ok();
                    if let Some(sku) = offer.skus.first_mut() {
                        sku.retail_price = sku.retail_price.or(sku.sale_price);
                        sku.sale_price = None;
                    }
                }
                7 => {
                    offer.description = None;
                    offer.external_url = None;
                    offer.collections = None;
                    offer.skus.iter_mut().for_each(|sku| sku.currency = None);
                }
                8 => {
                    offer.tags.clear();
                    offer.variants.clear();
                    offer.albums.clear();
                    for field in ["/tags", "/variants", "/albums"] {
                        drift.null(&id, field);
                    }
                }
                _ => {}
            }
            if i % 20 == 13 {
                drift.unreadable(&id, "/min_price", json!("29,99"));
            }
        }
        self.drift = drift;
        self
    }
}
