//! Run-time changes to the Closient simulator's offers: tests add and
//! remove online and in-store offers while the simulator serves, and every
//! route answers accordingly (listings, their totals, lookups by id). They
//! also read and replace the promotions of an offer
//! ([`SimData::current_online_promotions`], [`SimData::set_online_promotions`]
//! and their in-store twins).
//!
//! The generated offers stay as generated ([`SimData::online_offers`],
//! [`SimData::in_store_offers`] and the accessors that borrow from them);
//! the changes are an overlay that every route consults: the generated
//! offers taken away, and the offers added since, in insertion order. An
//! organization's listing shows its generated offers that are still there,
//! in generation order, then its added ones, in the order they were added,
//! so paging stays exact. An offer belongs to the organization that owns
//! its store, as generated offers do.

use std::collections::{HashMap, HashSet};
use std::sync::{RwLockReadGuard, RwLockWriteGuard};

use super::generate::{sku_prefix, uuid_v4};
use super::handlers::legacy_offer;
use super::{Caller, SimData, Store};
use crate::upstream::closient::shortuuid;
use crate::upstream::closient::wire::{
    InStoreOfferOut, LegacyOfferOut, OnlineOfferOut, PromotionOut,
};
use crate::upstream::Credentials;

/// Mixed into the catalog seed for the ids and SKUs of new offers.
const FRESH_SALT: u64 = 0xC105_F8E5_0000_0001;

/// The generated offers of one kind and their indexes, borrowed from
/// [`SimData`].
pub(super) struct Base<'a, T> {
    /// The generated offers, in generation order.
    offers: &'a [T],
    /// Offer UUID -> index in `offers`.
    by_uuid: &'a HashMap<u128, usize>,
    /// The owning organization of each offer.
    owner: &'a [usize],
    /// Per organization, the indexes of its offers in generation order.
    by_org: &'a [Vec<usize>],
    /// The generated promotions, by offer UUID (offers without any are
    /// absent).
    promotions: &'a HashMap<u128, Vec<PromotionOut>>,
}

/// An offer added at run time.
#[derive(Debug)]
struct Added<T> {
    uuid: u128,
    /// Index of the owning organization.
    organization: usize,
    offer: T,
}

/// The run-time changes to one kind of offer.
#[derive(Debug)]
pub(super) struct Overlay<T> {
    /// Indexes of the generated offers no longer served.
    removed: HashSet<usize>,
    /// Offers added since, in insertion order (few: a linear search is
    /// enough).
    added: Vec<Added<T>>,
    /// Promotions set at run time, by offer UUID, in place of the
    /// generated ones.
    promotions: HashMap<u128, Vec<PromotionOut>>,
}

impl<T> Default for Overlay<T> {
    fn default() -> Self {
        Overlay {
            removed: HashSet::new(),
            added: Vec::new(),
            promotions: HashMap::new(),
        }
    }
}

impl<T> Overlay<T> {
    /// The offer served under `uuid` and the index of its organization.
    pub(super) fn find<'a>(&'a self, base: &Base<'a, T>, uuid: u128) -> Option<(&'a T, usize)> {
        if let Some(added) = self.added.iter().find(|a| a.uuid == uuid) {
            return Some((&added.offer, added.organization));
        }
        base.by_uuid
            .get(&uuid)
            .copied()
            .filter(|i| !self.removed.contains(i))
            .map(|i| (&base.offers[i], base.owner[i]))
    }

    /// Organization `org`'s offers in listing order: its generated offers
    /// still served, then its added ones.
    pub(super) fn listing<'a>(&'a self, base: &Base<'a, T>, org: usize) -> Vec<&'a T> {
        base.by_org[org]
            .iter()
            .filter(|i| !self.removed.contains(i))
            .map(|&i| &base.offers[i])
            .chain(
                self.added
                    .iter()
                    .filter(|a| a.organization == org)
                    .map(|a| &a.offer),
            )
            .collect()
    }

    /// Every offer served, with its organization: the generated ones in
    /// generation order, then the added ones.
    pub(super) fn all<'a>(&'a self, base: &Base<'a, T>) -> Vec<(&'a T, usize)> {
        base.offers
            .iter()
            .zip(base.owner)
            .enumerate()
            .filter(|(i, _)| !self.removed.contains(i))
            .map(|(_, (offer, &org))| (offer, org))
            .chain(self.added.iter().map(|a| (&a.offer, a.organization)))
            .collect()
    }

    /// The promotions of the offer with `uuid`, served or not: those set at
    /// run time, else the generated ones (none for an unknown offer).
    pub(super) fn promotions<'a>(&'a self, base: &Base<'a, T>, uuid: u128) -> &'a [PromotionOut] {
        self.promotions
            .get(&uuid)
            .or_else(|| base.promotions.get(&uuid))
            .map_or(&[], Vec::as_slice)
    }

    /// Stops serving the offer with `uuid`; whether it was served.
    fn remove(&mut self, base: &Base<'_, T>, uuid: u128) -> bool {
        if let Some(position) = self.added.iter().position(|a| a.uuid == uuid) {
            self.added.remove(position);
            return true;
        }
        match base.by_uuid.get(&uuid) {
            Some(&i) => self.removed.insert(i),
            None => false,
        }
    }

    /// Serves `offer` under `uuid` at the end of its organization's listing,
    /// in place of any offer served under that id.
    fn add(&mut self, base: &Base<'_, T>, uuid: u128, organization: usize, offer: T) {
        self.remove(base, uuid);
        self.added.push(Added {
            uuid,
            organization,
            offer,
        });
    }

    /// Whether `uuid` is an id of this kind, served or not (generated, or
    /// added and still served).
    fn knows(&self, base: &Base<'_, T>, uuid: u128) -> bool {
        base.by_uuid.contains_key(&uuid) || self.added.iter().any(|a| a.uuid == uuid)
    }

    fn clear(&mut self) {
        self.removed.clear();
        self.added.clear();
        self.promotions.clear();
    }
}

/// The run-time changes to the simulator's offers.
#[derive(Debug)]
pub(super) struct Changes {
    /// Changes to the online offers.
    pub(super) online: Overlay<OnlineOfferOut>,
    /// Changes to the in-store offers.
    pub(super) in_store: Overlay<InStoreOfferOut>,
    /// Ids and SKUs of new offers (seeded: tests are repeatable).
    rng: fastrand::Rng,
}

impl Changes {
    /// No changes yet, for the catalog of `seed`.
    pub(super) fn new(seed: u64) -> Self {
        Changes {
            online: Overlay::default(),
            in_store: Overlay::default(),
            rng: fastrand::Rng::with_seed(seed ^ FRESH_SALT),
        }
    }
}

/// Rewrites a shortuuid-or-UUID id in its shortuuid form (other text is
/// left as is).
fn normalized(id: &mut String) {
    if let Ok(uuid) = shortuuid::parse_id(id) {
        *id = shortuuid::encode(uuid);
    }
}

impl SimData {
    /// The generated online offers and their indexes.
    pub(super) fn online_base(&self) -> Base<'_, OnlineOfferOut> {
        Base {
            offers: &self.online_offers,
            by_uuid: &self.online_by_uuid,
            owner: &self.online_org,
            by_org: &self.online_by_org,
            promotions: &self.online_promotions,
        }
    }

    /// The generated in-store offers and their indexes.
    pub(super) fn in_store_base(&self) -> Base<'_, InStoreOfferOut> {
        Base {
            offers: &self.in_store_offers,
            by_uuid: &self.in_store_by_uuid,
            owner: &self.in_store_org,
            by_org: &self.in_store_by_org,
            promotions: &self.in_store_promotions,
        }
    }

    /// The run-time changes, for reading (a route's answer).
    pub(super) fn changes(&self) -> RwLockReadGuard<'_, Changes> {
        self.changes.read().expect("offer changes lock poisoned")
    }

    fn changes_mut(&self) -> RwLockWriteGuard<'_, Changes> {
        self.changes.write().expect("offer changes lock poisoned")
    }

    /// The online offer served under this id (shortuuid or UUID), whoever
    /// owns it: generated and not removed, or added.
    pub fn current_online_offer(&self, id: &str) -> Option<OnlineOfferOut> {
        let uuid = shortuuid::parse_id(id).ok()?;
        let changes = self.changes();
        let base = self.online_base();
        changes.online.find(&base, uuid).map(|(o, _)| o.clone())
    }

    /// The in-store offer served under this id (shortuuid or UUID), whoever
    /// owns it.
    pub fn current_in_store_offer(&self, id: &str) -> Option<InStoreOfferOut> {
        let uuid = shortuuid::parse_id(id).ok()?;
        let changes = self.changes();
        let base = self.in_store_base();
        changes.in_store.find(&base, uuid).map(|(o, _)| o.clone())
    }

    /// An organization's online listing as served now, whole (empty for an
    /// unknown organization).
    pub fn current_organization_online_offers(&self, organization_id: &str) -> Vec<OnlineOfferOut> {
        let Some(org) = self.org_index(organization_id) else {
            return Vec::new();
        };
        let changes = self.changes();
        let base = self.online_base();
        changes
            .online
            .listing(&base, org)
            .into_iter()
            .cloned()
            .collect()
    }

    /// An organization's in-store offers as served now, in the order of its
    /// legacy listing (empty for an unknown organization).
    pub fn current_organization_in_store_offers(
        &self,
        organization_id: &str,
    ) -> Vec<InStoreOfferOut> {
        let Some(org) = self.org_index(organization_id) else {
            return Vec::new();
        };
        let changes = self.changes();
        let base = self.in_store_base();
        changes
            .in_store
            .listing(&base, org)
            .into_iter()
            .cloned()
            .collect()
    }

    /// The legacy flat listing of an organization as
    /// `GET .../organizations/{organization_id}/offers` serves it now, whole
    /// (empty for an unknown organization).
    pub fn organization_legacy_offers(&self, organization_id: &str) -> Vec<LegacyOfferOut> {
        let Some(org) = self.org_index(organization_id) else {
            return Vec::new();
        };
        let changes = self.changes();
        let base = self.in_store_base();
        changes
            .in_store
            .listing(&base, org)
            .into_iter()
            .map(|offer| legacy_offer(self, offer, org))
            .collect()
    }

    /// The online offers `credentials` may view now: the generated ones
    /// still served, in generation order, then the added ones.
    pub fn current_online_offers_visible_to(
        &self,
        credentials: &Credentials,
    ) -> Vec<OnlineOfferOut> {
        let Some(key) = self.key_index(credentials) else {
            return Vec::new();
        };
        let changes = self.changes();
        let base = self.online_base();
        changes
            .online
            .all(&base)
            .into_iter()
            .filter(|(_, org)| self.visible(Caller(key), *org))
            .map(|(offer, _)| offer.clone())
            .collect()
    }

    /// The in-store offers `credentials` may view now, in the same order.
    pub fn current_in_store_offers_visible_to(
        &self,
        credentials: &Credentials,
    ) -> Vec<InStoreOfferOut> {
        let Some(key) = self.key_index(credentials) else {
            return Vec::new();
        };
        let changes = self.changes();
        let base = self.in_store_base();
        changes
            .in_store
            .all(&base)
            .into_iter()
            .filter(|(_, org)| self.visible(Caller(key), *org))
            .map(|(offer, _)| offer.clone())
            .collect()
    }

    /// Stops serving the online offer with this id (shortuuid or UUID): it
    /// answers 404 by id and leaves its organization's listing, whose
    /// totals drop by one. Whether it was served.
    pub fn remove_online_offer(&self, id: &str) -> bool {
        let Ok(uuid) = shortuuid::parse_id(id) else {
            return false;
        };
        let base = self.online_base();
        self.changes_mut().online.remove(&base, uuid)
    }

    /// Stops serving the in-store offer with this id (shortuuid or UUID):
    /// it answers 404 by id and leaves its organization's legacy listing.
    /// Whether it was served.
    pub fn remove_in_store_offer(&self, id: &str) -> bool {
        let Ok(uuid) = shortuuid::parse_id(id) else {
            return false;
        };
        let base = self.in_store_base();
        self.changes_mut().in_store.remove(&base, uuid)
    }

    /// Serves `offer` from now on: by id, and at the end of the online
    /// listing of the organization that owns its store (or, for a store the
    /// simulator does not know, of the organization its `organization_id`
    /// names), seen only by keys that may view that organization. An offer
    /// already served under the same id is replaced (the new one goes to
    /// the end, as if deleted and created again). Ids given as canonical
    /// UUIDs are stored as shortuuids, as the API shows them.
    ///
    /// # Panics
    ///
    /// When the id is not a shortuuid or UUID, or neither the store nor the
    /// organization is known: a test that cannot be what it means.
    pub fn add_online_offer(&self, mut offer: OnlineOfferOut) {
        let uuid = shortuuid::parse_id(&offer.id).unwrap_or_else(|err| {
            panic!(
                "an added online offer needs a shortuuid or UUID id, not {:?}: {err}",
                offer.id
            )
        });
        let organization = self
            .owner_of(
                &self.online_stores,
                &offer.online_store_id,
                offer.organization_id.as_deref(),
            )
            .unwrap_or_else(|| {
                panic!(
                    "online offer {}: neither store {:?} nor organization {:?} is known",
                    offer.id, offer.online_store_id, offer.organization_id
                )
            });
        offer.id = shortuuid::encode(uuid);
        normalized(&mut offer.product_id);
        let base = self.online_base();
        self.changes_mut()
            .online
            .add(&base, uuid, organization, offer);
    }

    /// Serves `offer` from now on: by id, and at the end of the legacy
    /// listing of the organization that owns its physical store (or the one
    /// its `organization_id` names, for an unknown store), seen only by keys
    /// that may view that organization. Replaces an offer served under the
    /// same id, like [`SimData::add_online_offer`].
    ///
    /// # Panics
    ///
    /// When the id is not a shortuuid or UUID, or neither the store nor the
    /// organization is known.
    pub fn add_in_store_offer(&self, mut offer: InStoreOfferOut) {
        let uuid = shortuuid::parse_id(&offer.id).unwrap_or_else(|err| {
            panic!(
                "an added in-store offer needs a shortuuid or UUID id, not {:?}: {err}",
                offer.id
            )
        });
        let organization = self
            .owner_of(
                &self.physical_stores,
                &offer.physical_store_id,
                offer.organization_id.as_deref(),
            )
            .unwrap_or_else(|| {
                panic!(
                    "in-store offer {}: neither store {:?} nor organization {:?} is known",
                    offer.id, offer.physical_store_id, offer.organization_id
                )
            });
        offer.id = shortuuid::encode(uuid);
        normalized(&mut offer.product_id);
        let base = self.in_store_base();
        self.changes_mut()
            .in_store
            .add(&base, uuid, organization, offer);
    }

    /// A new online offer like the one with `template_id` (served now, or
    /// generated and since removed), for the product `product_id`
    /// (shortuuid or UUID, a catalog product: the API wants the product to
    /// exist): a fresh version-4 id, the same store, price and terms. Its
    /// SKU is the template's unless that would repeat a served offer's
    /// (product, store, SKU), the API's unique key; then a new one. Not
    /// served until given to [`SimData::add_online_offer`]. `None` for an
    /// unknown template or product.
    pub fn new_online_offer_like(
        &self,
        template_id: &str,
        product_id: &str,
    ) -> Option<OnlineOfferOut> {
        let template = self
            .current_online_offer(template_id)
            .or_else(|| self.online_offer(template_id).cloned())?;
        let product = self.product_short_id(product_id)?;
        let mut changes = self.changes_mut();
        let base = self.online_base();
        let mut offer = template;
        offer.id = self.fresh_id(&mut changes, |c, uuid| c.online.knows(&base, uuid));
        offer.product_id = product;
        let taken: HashSet<String> = changes
            .online
            .all(&base)
            .into_iter()
            .filter(|(o, _)| {
                o.product_id == offer.product_id && o.online_store_id == offer.online_store_id
            })
            .map(|(o, _)| o.sku.clone())
            .collect();
        if taken.contains(&offer.sku) {
            let store = self.store(&self.online_stores, &offer.online_store_id);
            offer.sku = fresh_sku(&mut changes.rng, store, &taken);
        }
        Some(offer)
    }

    /// A new in-store offer like the one with `template_id` (served now, or
    /// generated and since removed), for the product `product_id`: a fresh
    /// id, the same physical store, price and shelf data, a new SKU only if
    /// the template's would repeat a served (product, store, SKU). Not
    /// served until given to [`SimData::add_in_store_offer`]. `None` for an
    /// unknown template or product.
    pub fn new_in_store_offer_like(
        &self,
        template_id: &str,
        product_id: &str,
    ) -> Option<InStoreOfferOut> {
        let template = self
            .current_in_store_offer(template_id)
            .or_else(|| self.in_store_offer(template_id).cloned())?;
        let product = self.product_short_id(product_id)?;
        let mut changes = self.changes_mut();
        let base = self.in_store_base();
        let mut offer = template;
        offer.id = self.fresh_id(&mut changes, |c, uuid| c.in_store.knows(&base, uuid));
        offer.product_id = product;
        let taken: HashSet<String> = changes
            .in_store
            .all(&base)
            .into_iter()
            .filter(|(o, _)| {
                o.product_id == offer.product_id && o.physical_store_id == offer.physical_store_id
            })
            .map(|(o, _)| o.sku.clone())
            .collect();
        if taken.contains(&offer.sku) {
            let store = self.store(&self.physical_stores, &offer.physical_store_id);
            offer.sku = fresh_sku(&mut changes.rng, store, &taken);
        }
        Some(offer)
    }

    /// The promotions of the online offer with this id (shortuuid or
    /// UUID), as `GET /online-offers/{offer_id}/promotions` serves them
    /// while the offer is served and visible to the key (else it answers
    /// 404): those set by [`SimData::set_online_promotions`], else the
    /// generated ones. Empty for an offer without any, an unknown offer or
    /// an id that is not one. In drift mode, [`SimData::promotion_drift`]
    /// also edits them as they are served.
    pub fn current_online_promotions(&self, offer_id: &str) -> Vec<PromotionOut> {
        let Ok(uuid) = shortuuid::parse_id(offer_id) else {
            return Vec::new();
        };
        let changes = self.changes();
        let base = self.online_base();
        changes.online.promotions(&base, uuid).to_vec()
    }

    /// The promotions of the in-store offer with this id, as
    /// `GET /in-store-offers/{offer_id}/promotions` serves them; like
    /// [`SimData::current_online_promotions`].
    pub fn current_in_store_promotions(&self, offer_id: &str) -> Vec<PromotionOut> {
        let Ok(uuid) = shortuuid::parse_id(offer_id) else {
            return Vec::new();
        };
        let changes = self.changes();
        let base = self.in_store_base();
        changes.in_store.promotions(&base, uuid).to_vec()
    }

    /// Serves `promotions`, exactly as given (in that order, unreadable
    /// values included), as the promotions of the online offer with this
    /// id (shortuuid or UUID) from now on, in place of its generated or
    /// earlier set ones; an empty list leaves it without any. The offer
    /// need not be served yet: they apply once it is.
    /// [`SimData::reset_offers`] brings the generated ones back.
    ///
    /// # Panics
    ///
    /// When the id is not a shortuuid or UUID.
    pub fn set_online_promotions(&self, offer_id: &str, promotions: Vec<PromotionOut>) {
        let uuid = shortuuid::parse_id(offer_id).unwrap_or_else(|err| {
            panic!("promotions need an offer's shortuuid or UUID, not {offer_id:?}: {err}")
        });
        self.changes_mut()
            .online
            .promotions
            .insert(uuid, promotions);
    }

    /// Serves `promotions` as the promotions of the in-store offer with
    /// this id from now on; like [`SimData::set_online_promotions`].
    ///
    /// # Panics
    ///
    /// When the id is not a shortuuid or UUID.
    pub fn set_in_store_promotions(&self, offer_id: &str, promotions: Vec<PromotionOut>) {
        let uuid = shortuuid::parse_id(offer_id).unwrap_or_else(|err| {
            panic!("promotions need an offer's shortuuid or UUID, not {offer_id:?}: {err}")
        });
        self.changes_mut()
            .in_store
            .promotions
            .insert(uuid, promotions);
    }

    /// Undoes every run-time change: the generated offers, all of them,
    /// again, with their generated promotions.
    pub fn reset_offers(&self) {
        let mut changes = self.changes_mut();
        changes.online.clear();
        changes.in_store.clear();
    }

    /// Index of the key of `credentials`, if they are a known Closient key.
    pub(super) fn key_index(&self, credentials: &Credentials) -> Option<usize> {
        let Credentials::Closient(crate::upstream::closient::Credentials { api_key }) = credentials
        else {
            return None;
        };
        self.keys_by_value.get(api_key.expose()).copied()
    }

    /// The organization owning an offer: that of its store, else the one
    /// its `organization_id` names.
    fn owner_of(
        &self,
        stores: &[Store],
        store_id: &str,
        organization_id: Option<&str>,
    ) -> Option<usize> {
        self.store(stores, store_id)
            .map(|store| store.organization)
            .or_else(|| organization_id.and_then(|id| self.org_index(id)))
    }

    /// The store with this id (shortuuid or UUID).
    fn store<'a>(&self, stores: &'a [Store], store_id: &str) -> Option<&'a Store> {
        let uuid = shortuuid::parse_id(store_id).ok()?;
        stores.iter().find(|s| s.uuid == uuid)
    }

    /// The shortuuid of a catalog product given by shortuuid or UUID.
    fn product_short_id(&self, product_id: &str) -> Option<String> {
        let uuid = shortuuid::parse_id(product_id).ok()?;
        self.products_by_uuid
            .contains_key(&uuid)
            .then(|| shortuuid::encode(uuid))
    }

    /// A version-4 UUID, as a shortuuid, that no offer of either kind has
    /// (`known` says whether one of the kind at hand has it).
    fn fresh_id(&self, changes: &mut Changes, known: impl Fn(&Changes, u128) -> bool) -> String {
        loop {
            let uuid = uuid_v4(&mut changes.rng);
            let in_use = known(changes, uuid)
                || self.online_by_uuid.contains_key(&uuid)
                || self.in_store_by_uuid.contains_key(&uuid);
            if !in_use {
                return shortuuid::encode(uuid);
            }
        }
    }
}

/// A SKU in the generated style (`NOR-004217`) not in `taken`.
fn fresh_sku(rng: &mut fastrand::Rng, store: Option<&Store>, taken: &HashSet<String>) -> String {
    let prefix = store.map_or_else(|| "SIM".to_owned(), sku_prefix);
    loop {
        let sku = format!("{prefix}-{:06}", rng.u32(..1_000_000));
        if !taken.contains(&sku) {
            return sku;
        }
    }
}
