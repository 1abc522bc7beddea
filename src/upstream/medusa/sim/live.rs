//! Run-time changes to the Medusa simulator's offers: tests add and remove
//! offers while the simulator serves, and `GET /admin/offers` (filters,
//! `id[]=` multi-gets, `count`, ordering) and `GET /admin/offers/{id}`
//! answer accordingly.
//!
//! The generated offers stay as generated ([`SimData::offers`] and
//! [`SimData::offer`]); the changes are an overlay every route consults:
//! the generated offers taken away, and the offers added since, in
//! insertion order. Listings are ordered by the request's `order` (by
//! default `created_at`) as before, ties broken by id.
//!
//! Timestamps of changes come from a clock that is the wall clock but
//! strictly later than every timestamp generated or issued before, so a
//! new offer's `offer_<ULID>` id and its `created_at` sort after every
//! other offer's, and each added offer's `updated_at` after every earlier
//! one's.

use std::collections::HashSet;
use std::sync::{RwLockReadGuard, RwLockWriteGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::generate::{iso_millis, new_id};
use super::SimData;
use crate::upstream::medusa::wire;

/// Mixed into the catalog seed for the random bits of new ids.
const FRESH_SALT: u64 = 0x4d65_6475_7361_f8e5;

/// The run-time changes to the simulator's offers.
#[derive(Debug)]
pub(super) struct Changes {
    /// Indexes of the generated offers no longer served.
    removed: HashSet<usize>,
    /// Offers added since, in insertion order (few: a linear search is
    /// enough).
    added: Vec<wire::Offer>,
    /// The latest timestamp generated or issued, in Unix milliseconds.
    clock_ms: u64,
    /// Random bits of new ids (seeded: tests are repeatable).
    rng: fastrand::Rng,
}

impl Changes {
    /// No changes yet, for the catalog of `seed` whose latest generated
    /// timestamp is `latest_ms`.
    pub(super) fn new(seed: u64, latest_ms: u64) -> Self {
        Changes {
            removed: HashSet::new(),
            added: Vec::new(),
            clock_ms: latest_ms,
            rng: fastrand::Rng::with_seed(seed ^ FRESH_SALT),
        }
    }

    /// Now, in Unix milliseconds, strictly after every earlier tick and
    /// every generated timestamp.
    fn tick(&mut self) -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.clock_ms = now.max(self.clock_ms.saturating_add(1));
        self.clock_ms
    }
}

/// The offer's prices and inventory items with fresh ids made at `ms`
/// (price rules follow their price).
fn fresh_relations(rng: &mut fastrand::Rng, offer: &mut wire::Offer, ms: u64) {
    for price in &mut offer.prices {
        price.id = new_id(rng, "price_", ms);
        if let Some(Value::Array(rules)) = &mut price.price_rules {
            for rule in rules.iter_mut().filter_map(Value::as_object_mut) {
                rule.insert("id".to_owned(), new_id(rng, "prule_", ms).into());
                rule.insert("price_id".to_owned(), price.id.clone().into());
            }
        }
    }
    for item in &mut offer.inventory_items {
        item.id = new_id(rng, "iitem_", ms);
        item.inventory_item_id = Some(item.id.clone());
    }
}

impl SimData {
    /// The run-time changes, for reading (a route's answer).
    pub(super) fn changes(&self) -> RwLockReadGuard<'_, Changes> {
        self.changes.read().expect("offer changes lock poisoned")
    }

    fn changes_mut(&self) -> RwLockWriteGuard<'_, Changes> {
        self.changes.write().expect("offer changes lock poisoned")
    }

    /// Every offer served, generated ones still there (in generation
    /// order) then added ones.
    pub(super) fn served<'a>(
        &'a self,
        changes: &'a Changes,
    ) -> impl Iterator<Item = &'a wire::Offer> + 'a {
        self.offers
            .iter()
            .enumerate()
            .filter(|(i, _)| !changes.removed.contains(i))
            .map(|(_, offer)| offer)
            .chain(&changes.added)
    }

    /// The offer served under this exact id.
    pub(super) fn served_offer<'a>(
        &'a self,
        changes: &'a Changes,
        id: &str,
    ) -> Option<&'a wire::Offer> {
        changes.added.iter().find(|o| o.id == id).or_else(|| {
            self.by_id
                .get(id)
                .filter(|i| !changes.removed.contains(i))
                .map(|&i| &self.offers[i])
        })
    }

    /// The offer served now under this exact id: generated and not
    /// removed, or added.
    pub fn current_offer(&self, id: &str) -> Option<wire::Offer> {
        let changes = self.changes();
        self.served_offer(&changes, id).cloned()
    }

    /// Every offer served now: the generated ones still there, in
    /// generation order, then the added ones.
    pub fn current_offers(&self) -> Vec<wire::Offer> {
        let changes = self.changes();
        self.served(&changes).cloned().collect()
    }

    /// Stops serving the offer with this id: `GET /admin/offers/{id}`
    /// answers 404 `not_found`, and it leaves the listings, their `count`
    /// and `id[]=` multi-gets. Whether it was served.
    pub fn remove_offer(&self, id: &str) -> bool {
        let mut changes = self.changes_mut();
        if let Some(position) = changes.added.iter().position(|o| o.id == id) {
            changes.added.remove(position);
            return true;
        }
        match self.by_id.get(id) {
            Some(&i) => changes.removed.insert(i),
            None => false,
        }
    }

    /// Serves `offer` from now on, in the listings (with their filters,
    /// `id[]=` and `count`) and by id, in place of any offer served under
    /// its id. As the API does on a write, its `updated_at` becomes now
    /// (the simulator's clock: later than every timestamp before), and a
    /// missing `created_at` the same.
    pub fn add_offer(&self, mut offer: wire::Offer) {
        let mut changes = self.changes_mut();
        let now = iso_millis(changes.tick());
        offer.updated_at = Some(now.clone());
        offer.created_at.get_or_insert(now);
        if let Some(position) = changes.added.iter().position(|o| o.id == offer.id) {
            changes.added.remove(position);
        } else if let Some(&i) = self.by_id.get(&offer.id) {
            changes.removed.insert(i);
        }
        changes.added.push(offer);
    }

    /// A new offer like the one with `template_id` (served now, or
    /// generated and since removed): a fresh `offer_<ULID>` id, fresh
    /// price, price rule and inventory item ids, `created_at` and
    /// `updated_at` now (later than every other offer's, so it lists last
    /// by `id` and by `created_at`), the same seller, variant, SKU and
    /// prices. With a `barcode`, it carries that one instead: 13 digits as
    /// its `ean`, 12 as its `upc` (as generated offers carry their
    /// product's), any other as neither. Not served until given to
    /// [`SimData::add_offer`]. `None` for an unknown template.
    pub fn new_offer_like(&self, template_id: &str, barcode: Option<&str>) -> Option<wire::Offer> {
        let mut offer = self
            .current_offer(template_id)
            .or_else(|| self.offer(template_id).cloned())?;
        let mut changes = self.changes_mut();
        let ms = changes.tick();
        offer.id = new_id(&mut changes.rng, "offer_", ms);
        fresh_relations(&mut changes.rng, &mut offer, ms);
        offer.created_at = Some(iso_millis(ms));
        offer.updated_at = offer.created_at.clone();
        if let Some(code) = barcode {
            let code = code.to_owned();
            (offer.ean, offer.upc) = match code.len() {
                13 => (Some(code), None),
                12 => (None, Some(code)),
                _ => (None, None),
            };
        }
        Some(offer)
    }

    /// Undoes every run-time change: the generated offers, all of them,
    /// again.
    pub fn reset_offers(&self) {
        let mut changes = self.changes_mut();
        changes.removed.clear();
        changes.added.clear();
    }
}
