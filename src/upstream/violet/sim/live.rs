//! Run-time changes to the Violet simulator's offers: tests add and remove
//! offers while the simulator serves, and the search, the merchant
//! listings (with their `total_elements` and `total_pages`) and
//! `GET /v1/catalog/offers/{offer_id}` answer accordingly.
//!
//! The generated offers stay as generated ([`SimData::offers`] and
//! [`SimData::offer`]); the changes are an overlay every route consults:
//! the generated offers taken away, and the offers added since, in
//! insertion order. Unsorted listings show the generated offers still
//! there, in id order, then the added ones in the order they were added;
//! a fresh offer's id is above every other, so it also lists last by id.

use std::collections::{HashMap, HashSet};
use std::sync::{RwLockReadGuard, RwLockWriteGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use super::generate::format_date;
use super::SimData;
use crate::upstream::violet::wire;

/// The run-time changes to the simulator's offers.
#[derive(Debug)]
pub(super) struct Changes {
    /// Indexes of the generated offers no longer served.
    removed: HashSet<usize>,
    /// Offers added since, in insertion order (few: a linear search is
    /// enough).
    added: Vec<wire::Offer>,
    /// The id the next fresh offer gets (unless taken by then).
    next_id: i64,
    /// The next id for a fresh offer's SKUs, variants, values, albums and
    /// media.
    next_part_id: i64,
}

impl Changes {
    /// No changes yet to the generated `offers`.
    pub(super) fn new(offers: &[wire::Offer]) -> Self {
        let part_ids = offers.iter().flat_map(|offer| {
            let albums = offer
                .albums
                .iter()
                .chain(offer.skus.iter().flat_map(|s| &s.albums));
            let album_ids =
                albums.flat_map(|a| a.id.into_iter().chain(a.media.iter().filter_map(|m| m.id)));
            let variant_ids = offer.variants.iter().flat_map(|v| {
                v.id.into_iter()
                    .chain(v.values.iter().filter_map(|value| value.id))
            });
            offer
                .skus
                .iter()
                .filter_map(|s| s.id)
                .chain(album_ids)
                .chain(variant_ids)
                .collect::<Vec<_>>()
        });
        Changes {
            removed: HashSet::new(),
            added: Vec::new(),
            next_id: offers.iter().map(|o| o.id).max().unwrap_or(0) + 1,
            next_part_id: part_ids.max().unwrap_or(0) + 1,
        }
    }

    fn part_id(&mut self) -> i64 {
        self.next_part_id += 1;
        self.next_part_id - 1
    }
}

/// Seconds since the Unix epoch, now.
fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Gives an album (and its media) fresh ids, under `parent_id`.
fn fresh_album(changes: &mut Changes, album: &mut wire::Album, parent_id: i64) {
    let album_id = changes.part_id();
    album.id = Some(album_id);
    album.parent_id = Some(parent_id);
    for media in &mut album.media {
        media.id = Some(changes.part_id());
        media.album_id = Some(album_id);
    }
    if album.primary_media.is_some() {
        album.primary_media = album
            .media
            .iter()
            .find(|m| m.primary == Some(true))
            .or(album.media.first())
            .cloned();
    }
}

/// The offer with fresh ids for itself and everything in it (SKUs and
/// their dimensions, variants and their values' SKU links, albums and
/// media), created and modified `now`.
fn renumber(changes: &mut Changes, offer: &mut wire::Offer, id: i64, now: &str) {
    offer.id = id;
    offer.external_id = Some((8_000_000_000_000 + id).to_string());
    let mut sku_ids = HashMap::new();
    for (k, sku) in offer.skus.iter_mut().enumerate() {
        let sku_id = changes.part_id();
        if let Some(old) = sku.id {
            sku_ids.insert(old, sku_id);
        }
        sku.id = Some(sku_id);
        sku.offer_id = Some(id);
        sku.external_id = offer.external_id.as_ref().map(|e| format!("{e}-{}", k + 1));
        for dimensions in [&mut sku.sku_dimensions, &mut sku.shipping_dimensions]
            .into_iter()
            .flatten()
        {
            dimensions.sku_id = Some(sku_id);
        }
        for album in &mut sku.albums {
            fresh_album(changes, album, sku_id);
        }
        sku.date_created = Some(now.to_owned());
        sku.date_last_modified = Some(now.to_owned());
    }
    for variant in &mut offer.variants {
        let variant_id = changes.part_id();
        variant.id = Some(variant_id);
        variant.product_variant_id = Some(format!("pv_{variant_id}"));
        for value in &mut variant.values {
            let value_id = changes.part_id();
            value.id = Some(value_id);
            value.product_variant_value_id = Some(format!("pvv_{value_id}"));
            for sku_id in &mut value.sku_ids {
                *sku_id = sku_ids.get(sku_id).copied().unwrap_or(*sku_id);
            }
        }
    }
    for album in &mut offer.albums {
        fresh_album(changes, album, id);
    }
    offer.default_image_url = None;
    offer.date_created = Some(now.to_owned());
    offer.date_last_modified = Some(now.to_owned());
    offer.date_last_consolidated = Some(now.to_owned());
}

/// Puts `barcode` on every SKU as generated SKUs carry their product's:
/// `gtin` zero-padded to 14 digits, a 12-digit UPC-A as `upc` and, with a
/// leading zero, `ean`, a 13-digit EAN as `ean` alone, other lengths in
/// `gtin` only.
fn set_barcode(offer: &mut wire::Offer, barcode: &str) {
    let (upc, ean) = match barcode.len() {
        12 => (Some(barcode.to_owned()), Some(format!("0{barcode}"))),
        13 => (None, Some(barcode.to_owned())),
        _ => (None, None),
    };
    for sku in &mut offer.skus {
        sku.gtin = Some(format!("{barcode:0>14}"));
        sku.upc = upc.clone();
        sku.ean = ean.clone();
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

    /// Every offer served, in the unsorted listing order: generated ones
    /// still there (by id), then added ones.
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

    /// The offer served under `id`, whichever app may see it.
    pub(super) fn served_offer<'a>(
        &'a self,
        changes: &'a Changes,
        id: i64,
    ) -> Option<&'a wire::Offer> {
        changes.added.iter().find(|o| o.id == id).or_else(|| {
            self.index
                .get(&id)
                .filter(|i| !changes.removed.contains(i))
                .map(|&i| &self.offers[i])
        })
    }

    /// The offer served now under `id` (generated and not removed, or
    /// added), as stored: metadata and collections included, whichever app
    /// may see it.
    pub fn current_offer(&self, id: i64) -> Option<wire::Offer> {
        let changes = self.changes();
        self.served_offer(&changes, id).cloned()
    }

    /// Every offer served now, in the unsorted listing order: the
    /// generated ones still there, by id, then the added ones.
    pub fn current_offers(&self) -> Vec<wire::Offer> {
        let changes = self.changes();
        self.served(&changes).cloned().collect()
    }

    /// Stops serving the offer with `id`: `GET /v1/catalog/offers/{id}`
    /// answers Violet's 404, and it leaves the search and its merchant's
    /// listing, whose totals drop by one. Whether it was served.
    pub fn remove_offer(&self, id: i64) -> bool {
        let mut changes = self.changes_mut();
        if let Some(position) = changes.added.iter().position(|o| o.id == id) {
            changes.added.remove(position);
            return true;
        }
        match self.index.get(&id) {
            Some(&i) => changes.removed.insert(i),
            None => false,
        }
    }

    /// Serves `offer` from now on: by id, and last in the unsorted search
    /// and in its merchant's listing, to the apps connected to its
    /// merchant (an unknown merchant's offer is seen by none), in place of
    /// any offer served under its id. As on a write, its
    /// `date_last_modified` becomes now.
    pub fn add_offer(&self, mut offer: wire::Offer) {
        offer.date_last_modified = Some(format_date(now_seconds()));
        let mut changes = self.changes_mut();
        if let Some(position) = changes.added.iter().position(|o| o.id == offer.id) {
            changes.added.remove(position);
        } else if let Some(&i) = self.index.get(&offer.id) {
            changes.removed.insert(i);
        }
        changes.added.push(offer);
    }

    /// A new offer like the one with `template_id` (served now, or
    /// generated and since removed): an id above every other offer's,
    /// fresh ids for its SKUs, variants, values, albums and media (each
    /// link following), a new external id, created and modified now, the
    /// same merchant, product, prices and terms. With a `barcode`, its
    /// SKUs carry that one instead (see the generated SKUs: `gtin`, and
    /// `upc`/`ean` by length). Not served until given to
    /// [`SimData::add_offer`]. `None` for an unknown template.
    pub fn new_offer_like(&self, template_id: i64, barcode: Option<&str>) -> Option<wire::Offer> {
        let mut offer = self
            .current_offer(template_id)
            .or_else(|| self.offer(template_id).cloned())?;
        let mut changes = self.changes_mut();
        let mut id = changes.next_id;
        while self.index.contains_key(&id) || changes.added.iter().any(|o| o.id == id) {
            id += 1;
        }
        changes.next_id = id + 1;
        renumber(&mut changes, &mut offer, id, &format_date(now_seconds()));
        if let Some(barcode) = barcode {
            set_barcode(&mut offer, barcode);
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
