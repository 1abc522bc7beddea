//! Generation of the simulator's promotions: time-windowed price overrides
//! for part of the catalog's online and in-store offers, with every case
//! the retailers API documents (in effect now, expired, upcoming, switched
//! off inside its window, several overlapping at different prices, a free
//! buy-one-get-one arm, a currency left empty).
//!
//! Each offer's promotions come from a generator seeded by the catalog
//! seed and the offer's id alone, so they never disturb the offers'
//! generation and do not depend on the order of the offers. Their windows
//! are whole days and hours away from the simulator's start time
//! ([`super::SimData::started_at`]): every start and end is at least a day before
//! or after it, so what is in effect does not change while tests run.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::json;

use super::generate::{exponent, uuid_v4, weighted, zero_amount};
use crate::upstream::closient::shortuuid;
use crate::upstream::closient::wire::{PriceOut, PromotionOut, PromotionType};

/// Mixed into the catalog seed and the offer id for its promotions.
const PROMOTION_SALT: u64 = 0xC105_9A0E_0000_0001;

const DAY: u64 = 24 * 60 * 60;
const HOUR: u64 = 60 * 60;

/// Which promotions an offer gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    /// None at all.
    None,
    /// One in effect now, active.
    Current,
    /// One whose window ended, switched off by the daily job.
    Expired,
    /// One that starts later, already active.
    Upcoming,
    /// One whose window covers now, but switched off by the retailer.
    Inactive,
    /// Two or three in effect now, active, at different prices.
    Overlapping,
    /// A free buy-one-get-one arm in effect now, sometimes beside a sale.
    FreeBogo,
    /// An expired one, one in effect now and an upcoming one.
    History,
}

/// For offers with a positive price: about half get none.
const SCENARIOS: &[(Scenario, u32)] = &[
    (Scenario::None, 50),
    (Scenario::Current, 12),
    (Scenario::Expired, 5),
    (Scenario::Upcoming, 5),
    (Scenario::Inactive, 5),
    (Scenario::Overlapping, 9),
    (Scenario::FreeBogo, 5),
    (Scenario::History, 9),
];

/// Kinds of a promotion that is not a free arm.
const KINDS: &[(PromotionType, u32)] = &[
    (PromotionType::Sale, 40),
    (PromotionType::Seasonal, 20),
    (PromotionType::Clearance, 15),
    (PromotionType::Introductory, 10),
    (PromotionType::Bundle, 15),
];

/// Where a promotion's window lies against the start time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum When {
    /// Started 1 to 10 days (and some hours) before, ends 1 to 14 days after.
    Now,
    /// Ended 1 to 20 days before, after lasting 2 to 14 days.
    Past,
    /// Starts 1 to 20 days after, lasts 2 to 14 days.
    Later,
}

/// The instant the simulator started, to the second: promotion windows are
/// placed against it.
pub(super) fn start_time(now: SystemTime) -> SystemTime {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// The promotions of the offer `offer_id` whose regular price is `price`,
/// windows placed against `start`. Offers without a known positive price
/// get none (a promotion overrides a price; a free offer has nothing to
/// take off).
pub(super) fn promotions_of(
    seed: u64,
    offer_id: &str,
    price: Option<&PriceOut>,
    start: SystemTime,
) -> Vec<PromotionOut> {
    let Some(uuid) = shortuuid::decode(offer_id).ok() else {
        return Vec::new();
    };
    let Some((regular, currency)) = price.and_then(|p| {
        let amount = Decimal::from_str_exact(p.amount.as_deref()?).ok()?;
        (amount > Decimal::ZERO).then_some((amount, p.currency.as_str()))
    }) else {
        return Vec::new();
    };
    let mut rng =
        fastrand::Rng::with_seed(seed ^ PROMOTION_SALT ^ (uuid as u64) ^ ((uuid >> 64) as u64));
    let mut maker = Maker {
        rng: &mut rng,
        offer_id,
        regular,
        currency,
        start,
    };
    match weighted(maker.rng, SCENARIOS) {
        Scenario::None => Vec::new(),
        Scenario::Current => vec![maker.make(When::Now, true, None)],
        Scenario::Expired => vec![maker.make(When::Past, false, None)],
        Scenario::Upcoming => vec![maker.make(When::Later, true, None)],
        Scenario::Inactive => vec![maker.make(When::Now, false, None)],
        Scenario::Overlapping => {
            // Distinct discounts, so that one is the cheapest.
            let mut percents = vec![70, 80, 90];
            maker.rng.shuffle(&mut percents);
            percents.truncate(2 + maker.rng.usize(..2));
            let mut made: Vec<PromotionOut> = Vec::new();
            for percent in percents {
                let promotion = maker.make(When::Now, true, Some(percent));
                if made
                    .iter()
                    .all(|p| p.promotional_price != promotion.promotional_price)
                {
                    made.push(promotion);
                }
            }
            made
        }
        Scenario::FreeBogo => {
            let mut made = vec![maker.free_bogo()];
            if maker.rng.bool() {
                made.push(maker.make(When::Now, true, None));
            }
            made
        }
        Scenario::History => vec![
            maker.make(When::Past, false, None),
            maker.make(When::Now, true, None),
            maker.make(When::Later, true, None),
        ],
    }
}

/// Makes the promotions of one offer.
struct Maker<'a> {
    rng: &'a mut fastrand::Rng,
    offer_id: &'a str,
    /// The offer's regular price.
    regular: Decimal,
    /// The store currency.
    currency: &'a str,
    start: SystemTime,
}

impl Maker<'_> {
    /// A promotion of a kind other than BOGO, its window `when`, at
    /// `percent` of the regular price (drawn when `None`: 60 to 95%, and 1
    /// time in 10 102 to 115%, a "promotion" above the regular price).
    fn make(&mut self, when: When, is_active: bool, percent: Option<i64>) -> PromotionOut {
        let percent = percent.unwrap_or_else(|| {
            if self.rng.u8(..10) == 0 {
                self.rng.i64(102..=115)
            } else {
                self.rng.i64(60..=95)
            }
        });
        let exp = exponent(self.currency);
        let mut amount = (self.regular * Decimal::new(percent, 2))
            .round_dp_with_strategy(exp, RoundingStrategy::MidpointAwayFromZero);
        amount.rescale(exp);
        let kind = weighted(self.rng, KINDS);
        self.promotion(kind, amount.to_string(), when, is_active)
    }

    /// A free buy-one-get-one arm in effect now, active.
    fn free_bogo(&mut self) -> PromotionOut {
        let zero = zero_amount(self.rng, self.currency);
        self.promotion(PromotionType::Bogo, zero, When::Now, true)
    }

    fn promotion(
        &mut self,
        kind: PromotionType,
        promotional_price: String,
        when: When,
        is_active: bool,
    ) -> PromotionOut {
        let (start_date, end_date) = self.window(when);
        let description = if self.rng.u8(..10) < 3 {
            String::new()
        } else {
            describe(self.rng, &kind).to_owned()
        };
        let metadata = if self.rng.u8(..5) == 0 {
            let channel = ["web", "pos", "app"][self.rng.usize(..3)];
            json!({
                "campaign": format!("C-{:04}", self.rng.u16(..10_000)),
                "channel": channel,
            })
        } else {
            json!({})
        };
        PromotionOut {
            id: shortuuid::encode(uuid_v4(self.rng)),
            short_id: format!("PR{:06}", self.rng.u32(..1_000_000)),
            offer_id: self.offer_id.to_owned(),
            promotional_price,
            start_date,
            end_date,
            metadata,
            // One in four does not state the store currency.
            currency: if self.rng.u8(..4) == 0 {
                String::new()
            } else {
                self.currency.to_owned()
            },
            promotion_type: kind,
            description,
            is_active,
        }
    }

    /// The RFC 3339 start and end of a window placed `when`.
    fn window(&mut self, when: When) -> (String, String) {
        let mut days_hours = |days: std::ops::RangeInclusive<u64>| {
            self.rng.u64(days) * DAY + self.rng.u64(..24) * HOUR
        };
        let (start, end) = match when {
            When::Now => (
                self.start - Duration::from_secs(days_hours(1..=10)),
                self.start + Duration::from_secs(days_hours(1..=14)),
            ),
            When::Past => {
                let end = self.start - Duration::from_secs(days_hours(1..=20));
                (end - Duration::from_secs(days_hours(2..=14)), end)
            }
            When::Later => {
                let start = self.start + Duration::from_secs(days_hours(1..=20));
                (start, start + Duration::from_secs(days_hours(2..=14)))
            }
        };
        (rfc3339(start), rfc3339(end))
    }
}

/// A timestamp as the API writes it, e.g. `2024-10-23T21:52:56Z`.
pub(super) fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// A description a retailer might write for a promotion of `kind`.
fn describe(rng: &mut fastrand::Rng, kind: &PromotionType) -> &'static str {
    let choices: &[&'static str] = match kind {
        PromotionType::Sale => &["Weekly sale", "Price drop", "Members' sale"],
        PromotionType::Seasonal => &["Spring savings", "Holiday deal", "Back to school"],
        PromotionType::Clearance => &["Clearance", "Last units"],
        PromotionType::Bogo => &["Buy one, get one free"],
        PromotionType::Bundle => &["Bundle discount", "Better together"],
        PromotionType::Introductory => &["Introductory price", "Launch offer"],
        PromotionType::Unrecognized(_) => &["Special offer"],
    };
    choices[rng.usize(..choices.len())]
}
