//! The one availability rule: whether an offer can be bought, for a
//! quantity, from what its upstream says. `buyable`, `status`,
//! `availability`, `compareOffers` and the product pages' `buyableOnly` all
//! ask this module; no connector decides it.
//!
//! Four states, in the order `compareOffers` ranks them:
//! 1. [`AvailabilityState::Now`]: it can be bought and ships (or is on the
//!    shelf) now.
//! 2. [`AvailabilityState::WithWait`]: it can be ordered, but ships later
//!    (Closient `pre_order` and `backordered`, per seed 001: "buyable but
//!    with a wait").
//! 3. [`AvailabilityState::Unknown`]: the upstream does not say enough to
//!    tell (Closient `unknown` or an unrecognized stock level, an in-store
//!    shelf count of `null`, a price the upstream does not know). Not
//!    buyable: the gateway never assumes stock.
//! 4. [`AvailabilityState::NotBuyable`]: the upstream says it cannot be
//!    bought (not active, out of stock, not enough stock for the quantity,
//!    no price for the quantity, a minimum order above it).
//!
//! Per upstream, in the order the checks run (the first that fails decides):
//! - Every offer: a lifecycle status other than active is `NotBuyable`
//!   (`NOT_ACTIVE`); an unrecognized status is `Unknown`.
//! - Closient online: a null price is `Unknown` (`UNKNOWN_PRICE`, "call for
//!   price"); a minimum order quantity above the quantity is `NotBuyable`;
//!   then the stock level: `in_stock`, `low_stock` are `Now`; `pre_order`,
//!   `backordered` are `WithWait` (with `lead_time_days` as the wait when
//!   stated); `out_of_stock` is `NotBuyable`; `unknown` and unrecognized
//!   levels are `Unknown`.
//! - Closient in-store: a null price is `Unknown`; `quantity_on_hand` null
//!   is `Unknown` (stores without a POS sync), at least the quantity is
//!   `Now`, else `NotBuyable` (`OUT_OF_STOCK` when the shelf is empty,
//!   `NOT_ENOUGH_STOCK` otherwise).
//! - Medusa/Mercur: no stock level is published; an offer with a rule-free
//!   price whose quantity bounds include the quantity is `Now` (`LISTED`:
//!   the marketplace lists it for sale); prices that all start above (or
//!   end below) the quantity are `NotBuyable` (`NO_PRICE_FOR_QUANTITY`); no
//!   price at all is `Unknown` (`UNKNOWN_PRICE`).
//! - Violet: `available` and `visible` are part of the status (an offer
//!   that is not both is not active). An offer without SKUs is `Now`
//!   (`AVAILABLE`: Violet marks it available). With SKUs, it is `Now` when
//!   one priced SKU can be bought in the quantity (SKU status available or
//!   absent, `in_stock` not false, and enough `quantity_available` when
//!   inventory is tracked); else `NotBuyable` (`OUT_OF_STOCK` when no SKU
//!   has one unit, `NOT_ENOUGH_STOCK` when some have fewer than the
//!   quantity); SKUs without any price are `Unknown` (`UNKNOWN_PRICE`).

use async_graphql::{Enum, SimpleObject};

use super::PriceTier;
use crate::model::{MarketplaceDetails, Offer, OfferStatus, StockLevel, VioletSku, VioletStatus};

/// Whether an offer can be bought, in ranking order.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum AvailabilityState {
    /// It can be bought now.
    Now,
    /// It can be ordered now and ships later (pre-order, backorder).
    WithWait,
    /// The upstream does not say enough to tell; not buyable.
    Unknown,
    /// The upstream says it cannot be bought.
    NotBuyable,
}

impl AvailabilityState {
    /// Whether a buyer can order it: now or with a wait.
    pub(crate) fn is_buyable(self) -> bool {
        matches!(self, AvailabilityState::Now | AvailabilityState::WithWait)
    }
}

/// The upstream signal that decided an offer's availability.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum AvailabilityReason {
    /// Closient `in_stock`, or a Violet SKU with stock for the quantity.
    InStock,
    /// Closient `low_stock`: buyable now, few left.
    LowStock,
    /// In-store: at least the quantity is on the shelf.
    OnShelf,
    /// Medusa: the marketplace lists it with a price for the quantity (it
    /// publishes no stock level).
    Listed,
    /// Violet: the offer is available and has no SKUs to check.
    Available,
    /// Closient `pre_order`: ships when released.
    PreOrder,
    /// Closient `backordered`: ships when restocked.
    Backordered,
    /// The lifecycle status is not active (out of stock, seasonal,
    /// discontinued, unavailable).
    NotActive,
    /// The upstream states a status the gateway does not know.
    UnrecognizedStatus,
    /// The upstream does not know the price ("call for price").
    UnknownPrice,
    /// The offer has prices, but none for the quantity.
    NoPriceForQuantity,
    /// The minimum order quantity is above the quantity.
    BelowMinimumOrderQuantity,
    /// None in stock.
    OutOfStock,
    /// Some stock, fewer units than the quantity.
    NotEnoughStock,
    /// The upstream reports no stock signal (Closient `unknown`, an
    /// in-store shelf count of `null`).
    UnknownStock,
    /// The upstream states a stock level the gateway does not know.
    UnrecognizedStock,
}

/// Whether and how an offer can be bought for a quantity, with the
/// upstream signal that decided it.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "Availability")]
pub(crate) struct Availability {
    /// Whether it can be bought: `NOW`, `WITH_WAIT`, `UNKNOWN` or `NOT_BUYABLE`.
    pub state: AvailabilityState,
    /// The upstream signal that decided the state.
    pub reason: AvailabilityReason,
    /// The reason in words, with the values involved.
    pub detail: String,
    /// For `WITH_WAIT`: the expected wait in days, when the upstream states it.
    pub wait_days: Option<i32>,
    /// Whether a buyer can order it: the state is `NOW` or `WITH_WAIT`.
    pub buyable: bool,
}

impl Availability {
    fn new(
        state: AvailabilityState,
        reason: AvailabilityReason,
        detail: impl Into<String>,
    ) -> Self {
        Availability {
            state,
            reason,
            detail: detail.into(),
            wait_days: None,
            buyable: state.is_buyable(),
        }
    }

    /// Whether a buyer can order it (now or with a wait).
    pub(crate) fn is_buyable(&self) -> bool {
        self.state.is_buyable()
    }
}

/// The availability of `offer` for `quantity` units (at least 1).
pub(crate) fn availability(offer: &Offer, quantity: u32) -> Availability {
    use AvailabilityReason as R;
    use AvailabilityState as S;
    let quantity = quantity.max(1);
    let common = offer.common();
    match common.status {
        OfferStatus::Active => {}
        OfferStatus::Unrecognized => {
            return Availability::new(
                S::Unknown,
                R::UnrecognizedStatus,
                format!(
                    "the upstream's status {:?} is not one the gateway knows",
                    common.upstream_status.as_deref().unwrap_or_default()
                ),
            )
        }
        other => {
            return Availability::new(
                S::NotBuyable,
                R::NotActive,
                format!("the offer's status is {}", status_words(other)),
            )
        }
    }
    match offer {
        Offer::Online(o) => {
            if common.price.is_none() {
                return Availability::new(
                    S::Unknown,
                    R::UnknownPrice,
                    "the retailer does not know the price (call for price)",
                );
            }
            if o.min_order_quantity > 0 && o.min_order_quantity.unsigned_abs() > quantity {
                return Availability::new(
                    S::NotBuyable,
                    R::BelowMinimumOrderQuantity,
                    format!("the minimum order is {} units", o.min_order_quantity),
                );
            }
            let wait = |reason, words: &str| Availability {
                wait_days: o.lead_time_days,
                ..Availability::new(
                    S::WithWait,
                    reason,
                    match o.lead_time_days {
                        Some(days) => format!("{words}; expected in {days} days"),
                        None => words.to_owned(),
                    },
                )
            };
            match o.stock_level {
                StockLevel::InStock => Availability::new(S::Now, R::InStock, "in stock"),
                StockLevel::LowStock => Availability::new(S::Now, R::LowStock, "low stock"),
                StockLevel::PreOrder => wait(R::PreOrder, "on pre-order"),
                StockLevel::Backordered => wait(R::Backordered, "backordered"),
                StockLevel::OutOfStock => Availability::new(
                    S::NotBuyable,
                    R::OutOfStock,
                    "the storefront is out of stock",
                ),
                StockLevel::Unknown => Availability::new(
                    S::Unknown,
                    R::UnknownStock,
                    "the storefront reports no stock level",
                ),
                StockLevel::Unrecognized => Availability::new(
                    S::Unknown,
                    R::UnrecognizedStock,
                    format!(
                        "the stock level {:?} is not one the gateway knows",
                        o.upstream_stock_level
                    ),
                ),
            }
        }
        Offer::InStore(o) => {
            if common.price.is_none() {
                return Availability::new(
                    S::Unknown,
                    R::UnknownPrice,
                    "the store does not know the price (call for price)",
                );
            }
            match o.quantity_on_hand {
                None => Availability::new(
                    S::Unknown,
                    R::UnknownStock,
                    "the store does not report its shelf count",
                ),
                Some(on_hand) if on_hand <= 0 => {
                    Availability::new(S::NotBuyable, R::OutOfStock, "none on the shelf")
                }
                Some(on_hand) if on_hand.unsigned_abs() < quantity => Availability::new(
                    S::NotBuyable,
                    R::NotEnoughStock,
                    format!("{on_hand} units on the shelf"),
                ),
                Some(on_hand) => {
                    Availability::new(S::Now, R::OnShelf, format!("{on_hand} units on the shelf"))
                }
            }
        }
        Offer::Marketplace(o) => match &o.details {
            MarketplaceDetails::Medusa(details) => {
                if details.prices.is_empty() {
                    return Availability::new(
                        S::Unknown,
                        R::UnknownPrice,
                        "the offer has no prices",
                    );
                }
                let covered = details.prices.iter().any(|t| {
                    !PriceTier::has_rules(t)
                        && PriceTier::min_quantity(t).is_none_or(|min| u64::from(quantity) >= min)
                        && PriceTier::max_quantity(t).is_none_or(|max| u64::from(quantity) <= max)
                });
                if covered {
                    Availability::new(
                        S::Now,
                        R::Listed,
                        "listed for sale with a price for the quantity",
                    )
                } else {
                    Availability::new(
                        S::NotBuyable,
                        R::NoPriceForQuantity,
                        format!("no price without rules covers {quantity} units"),
                    )
                }
            }
            MarketplaceDetails::Violet(details) => {
                if !details.available || !details.visible {
                    return Availability::new(
                        S::NotBuyable,
                        R::NotActive,
                        if details.available {
                            "the offer is not visible"
                        } else {
                            "the offer is not available"
                        },
                    );
                }
                if details.skus.is_empty() {
                    return Availability::new(S::Now, R::Available, "available, without SKUs");
                }
                let priced: Vec<&VioletSku> = details
                    .skus
                    .iter()
                    .filter(|s| s.sale_price.is_some() || s.retail_price.is_some())
                    .collect();
                if priced.is_empty() {
                    return Availability::new(S::Unknown, R::UnknownPrice, "no SKU has a price");
                }
                if priced.iter().any(|s| sku_buyable(s, quantity)) {
                    Availability::new(
                        S::Now,
                        R::InStock,
                        format!("a SKU has {quantity} units in stock"),
                    )
                } else if quantity > 1 && priced.iter().any(|s| sku_buyable(s, 1)) {
                    Availability::new(
                        S::NotBuyable,
                        R::NotEnoughStock,
                        format!("no SKU has {quantity} units in stock"),
                    )
                } else {
                    Availability::new(S::NotBuyable, R::OutOfStock, "every SKU is out of stock")
                }
            }
        },
    }
}

/// The status shown for an offer: its lifecycle status, except that an
/// active offer the availability rule finds out of stock for one unit is
/// `OutOfStock` (a Violet offer whose SKUs are all out of stock, a
/// Closient storefront or shelf reporting none).
pub(crate) fn status(offer: &Offer) -> OfferStatus {
    let lifecycle = offer.common().status;
    if lifecycle == OfferStatus::Active
        && availability(offer, 1).reason == AvailabilityReason::OutOfStock
    {
        OfferStatus::OutOfStock
    } else {
        lifecycle
    }
}

/// Whether a Violet SKU can be bought in `quantity` now.
pub(crate) fn sku_buyable(sku: &VioletSku, quantity: u32) -> bool {
    let available = matches!(sku.status, None | Some(VioletStatus::Available));
    let in_stock = sku.in_stock != Some(false);
    let enough = !sku.inventory_tracked.unwrap_or(false)
        || sku
            .quantity_available
            .is_none_or(|q| q >= 0 && q.unsigned_abs() >= quantity);
    available && in_stock && enough
}

/// A lifecycle status in words.
fn status_words(status: OfferStatus) -> &'static str {
    match status {
        OfferStatus::Active => "active",
        OfferStatus::OutOfStock => "out of stock",
        OfferStatus::Seasonal => "seasonal",
        OfferStatus::Discontinued => "discontinued",
        OfferStatus::Unavailable => "unavailable",
        OfferStatus::Unrecognized => "not one the gateway knows",
    }
}
