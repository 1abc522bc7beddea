//! Which promotion applies, and what a buyer pays under it.
//!
//! Closient publishes time-windowed overrides of an offer's regular price.
//! One applies at an instant when the retailer marks it active and the
//! instant lies within its window (both ends inclusive); when several
//! apply, the cheapest wins (Closient's documented rule), the first listed
//! among equals. The promotional price is in the store's currency: a
//! promotion stating another currency than the offer's does not apply. An
//! offer whose regular price is unknown stays "call for price": a
//! promotion overrides a price, it does not invent one.

use std::time::SystemTime;

use super::Money;
use crate::model::{Offer, Promotion};

/// The promotion of `promotions` in effect for `offer` at `now`, if any.
pub(crate) fn in_effect<'a>(
    offer: &Offer,
    promotions: &'a [Promotion],
    now: SystemTime,
) -> Option<&'a Promotion> {
    let regular = offer.common().price.as_ref()?;
    promotions
        .iter()
        .filter(|p| p.is_active && p.starts_at <= now && now <= p.ends_at)
        .filter(|p| p.currency.is_none_or(|c| c == regular.currency()))
        .enumerate()
        .min_by_key(|(i, p)| (p.price, *i))
        .map(|(_, p)| p)
}

/// The first instant after `now` at which the promotion in effect may
/// change: a window of `promotions` starts or ends (a window's end is
/// inclusive, so what holds at its end holds until just after it). `None`
/// when no window starts or ends after `now`.
pub(crate) fn next_change(promotions: &[Promotion], now: SystemTime) -> Option<SystemTime> {
    promotions
        .iter()
        .filter(|p| p.is_active)
        .flat_map(|p| [p.starts_at, p.ends_at])
        .filter(|&at| at > now)
        .min()
}

/// The price of one unit under `promotion`, in the offer's currency.
pub(crate) fn promotional_price(offer: &Offer, promotion: &Promotion) -> Option<Money> {
    let regular = offer.common().price.as_ref()?;
    Some(Money::new(promotion.price, regular.currency()))
}

/// What one unit of `offer` costs at `now`: the price of the promotion in
/// effect, else the regular price.
pub(crate) fn current_price(
    offer: &Offer,
    promotions: &[Promotion],
    now: SystemTime,
) -> Option<Money> {
    match in_effect(offer, promotions, now) {
        Some(promotion) => promotional_price(offer, promotion),
        None => offer.common().price.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use rust_decimal::Decimal;

    use super::*;
    use crate::model::PromotionKind;
    use crate::pricing::Currency;
    use crate::upstream::closient;

    const DAY: Duration = Duration::from_secs(86_400);

    fn offer(price: Option<&str>) -> Offer {
        let row = serde_json::json!({
            "id": "CnEqURgZ3swzj528KMLvX5", "product_id": "p", "online_store_id": "s",
            "price": { "amount": price, "currency": "USD" }, "status": "active",
            "stock_level": "in_stock"
        });
        closient::map::online_offer(&Arc::from("t"), &serde_json::from_value(row).unwrap()).unwrap()
    }

    fn promotion(price: &str, from: SystemTime, to: SystemTime, active: bool) -> Promotion {
        Promotion {
            id: "P".into(),
            price: Decimal::from_str_exact(price).unwrap(),
            currency: None,
            starts_at: from,
            ends_at: to,
            is_active: active,
            kind: PromotionKind::Sale,
            upstream_kind: "SALE".into(),
            description: String::new(),
        }
    }

    #[test]
    fn the_cheapest_active_promotion_in_its_window_sets_the_price() {
        let now = SystemTime::now();
        let offer = offer(Some("10.00"));
        let promotions = [
            promotion("9.00", now - DAY, now + DAY, true),
            promotion("7.00", now - DAY, now + DAY, true),
            promotion("1.00", now - DAY, now + DAY, false),
            promotion("2.00", now + DAY, now + 2 * DAY, true),
            promotion("3.00", now - 2 * DAY, now - DAY, true),
        ];
        let price = current_price(&offer, &promotions, now).unwrap();
        assert_eq!(price.amount(), Decimal::from(7));
        assert_eq!(price.currency().code(), "USD");
        // Both ends of the window are inclusive.
        let edge = [promotion("8.00", now, now, true)];
        assert_eq!(
            current_price(&offer, &edge, now).unwrap().amount(),
            Decimal::from(8)
        );
        assert_eq!(
            current_price(&offer, &[], now),
            offer.common().price.clone()
        );
    }

    #[test]
    fn the_next_change_is_the_nearest_start_or_end_of_an_active_window() {
        let now = SystemTime::now();
        let promotions = [
            promotion("9.00", now - DAY, now + 3 * DAY, true),
            promotion("8.00", now + 2 * DAY, now + 4 * DAY, true),
            promotion("1.00", now + DAY / 2, now + DAY, false),
            promotion("3.00", now - 2 * DAY, now - DAY, true),
        ];
        assert_eq!(next_change(&promotions, now), Some(now + 2 * DAY));
        assert_eq!(
            next_change(&promotions[3..], now),
            None,
            "only past windows"
        );
        // The cheaper one ending first changes the price at its end.
        let nested = [
            promotion("9.00", now - DAY, now + 3 * DAY, true),
            promotion("5.00", now - DAY, now + DAY, true),
        ];
        assert_eq!(next_change(&nested, now), Some(now + DAY));
    }

    #[test]
    fn a_promotion_does_not_apply_in_another_currency_nor_without_a_regular_price() {
        let now = SystemTime::now();
        let mut eur = promotion("1.00", now - DAY, now + DAY, true);
        eur.currency = Some(Currency::parse("EUR").unwrap());
        assert!(in_effect(&offer(Some("10.00")), &[eur], now).is_none());
        let free = promotion("0", now - DAY, now + DAY, true);
        assert!(in_effect(&offer(None), std::slice::from_ref(&free), now).is_none());
        assert_eq!(
            current_price(&offer(Some("10.00")), &[free], now)
                .unwrap()
                .amount(),
            Decimal::ZERO,
            "zero is a real price (a free BOGO arm)"
        );
    }
}
