//! The Closient simulator's route handlers: offer listings (online, and
//! the legacy flat listing of in-store offers) and lookups, the promotions
//! of an offer, products by GTIN and by id, and the 404 fallback, with the
//! API's validation of path and query parameters.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::{Extension, Json};

use super::{ApiError, Caller, SimData, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::sim::catalog;
use crate::upstream::closient::shortuuid;
use crate::upstream::closient::wire::{
    FieldError, InStoreOfferOut, LegacyOfferOut, LegacySource, LegacyStatus, OfferSource,
    OfferStatus, Page, PaginationMeta, ProductBrowseOut, ProductOut,
};
fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: Some(field.to_owned()),
        message: message.into(),
    }
}

/// Reads a path id (shortuuid or UUID) into its 128-bit value.
fn path_id(path: Result<Path<String>, PathRejection>, field: &str) -> Result<u128, FieldError> {
    let Path(raw) = path.map_err(|_| field_error(field, "Invalid path parameter encoding."))?;
    shortuuid::parse_id(&raw).map_err(|err| field_error(field, err.to_string()))
}

/// `page` and `page_size` of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Paging {
    page: u64,
    page_size: u64,
}

impl Paging {
    /// Parses the query string, collecting one error per bad parameter.
    fn parse(query: Option<&str>, errors: &mut Vec<FieldError>) -> Paging {
        let mut paging = Paging {
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
        };
        let mut seen = BTreeSet::new();
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let (slot, min, max) = match name.as_ref() {
                "page" => (&mut paging.page, 1, i64::MAX as u64),
                "page_size" => (&mut paging.page_size, 1, MAX_PAGE_SIZE),
                _ => continue,
            };
            if !seen.insert(name.clone().into_owned()) {
                continue; // The first occurrence wins.
            }
            match value.parse::<i64>() {
                Err(_) => errors.push(field_error(&name, "Input should be a valid integer.")),
                Ok(n) if n < min as i64 => errors.push(field_error(
                    &name,
                    format!("Input should be greater than or equal to {min}."),
                )),
                Ok(n) if n as u64 > max => errors.push(field_error(
                    &name,
                    format!("Input should be less than or equal to {max}."),
                )),
                Ok(n) => *slot = n as u64,
            }
        }
        paging
    }
}

/// Checks a listing request: the organization path id and the paging
/// (all problems in one 422), then that the caller may view the
/// organization. An organization the key cannot view answers exactly like
/// one that does not exist: existence is not leaked.
fn listing_request(
    data: &SimData,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    query: Option<&str>,
) -> Result<(usize, Paging), ApiError> {
    let mut errors = Vec::new();
    let organization = path_id(path, "organization_id")
        .map_err(|e| errors.push(e))
        .ok();
    let paging = Paging::parse(query, &mut errors);
    let organization = match organization {
        Some(uuid) if errors.is_empty() => uuid,
        _ => return Err(ApiError::validation(errors)),
    };
    let org = data
        .org_by_uuid
        .get(&organization)
        .copied()
        .filter(|&org| data.visible(caller, org))
        .ok_or_else(|| ApiError::not_found("Organization"))?;
    Ok((org, paging))
}

/// The page `paging` asks for of a listing of `items` (the whole listing,
/// in order), each item made by `item`.
fn page_of<I, T>(items: &[I], paging: Paging, item: impl Fn(&I) -> T) -> Page<T> {
    let total_count = items.len() as u64;
    let start = (paging.page - 1).saturating_mul(paging.page_size);
    let data = items
        .iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(paging.page_size).unwrap_or(usize::MAX))
        .map(item)
        .collect();
    let total_pages = total_count.div_ceil(paging.page_size);
    Page {
        data,
        pagination: PaginationMeta {
            page: paging.page,
            page_size: paging.page_size,
            total_count,
            total_pages,
            has_next: paging.page < total_pages,
            has_previous: paging.page > 1,
        },
    }
}

/// An organization's online offers as served now (generated ones still
/// there, then added ones), a page at a time.
pub(super) async fn list_online_offers(
    State(data): State<Arc<SimData>>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (org, paging) = listing_request(&data, caller, path, query.as_deref())?;
    let changes = data.changes();
    let listing = changes.online.listing(&data.online_base(), org);
    let body = page_of(&listing, paging, |offer| (*offer).clone());
    Ok(data.drift.respond(&body, "/data"))
}

/// The legacy flat listing of an organization: its in-store offers as
/// served now, as `OfferOut`, in generation order then the added ones.
pub(super) async fn list_legacy_offers(
    State(data): State<Arc<SimData>>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Json<Page<LegacyOfferOut>>, ApiError> {
    let (org, paging) = listing_request(&data, caller, path, query.as_deref())?;
    let changes = data.changes();
    let listing = changes.in_store.listing(&data.in_store_base(), org);
    Ok(Json(page_of(&listing, paging, |offer| {
        legacy_offer(&data, offer, org)
    })))
}

/// In-store offer `offer` of organization `org` in the legacy flat shape:
/// canonical UUID ids, the physical store as the retailer, the price's
/// amount beside the store currency, `active` for an active offer and
/// `inactive` for every other status, and the source folded into the three
/// legacy values (an undocumented source is kept as is).
pub(super) fn legacy_offer(data: &SimData, offer: &InStoreOfferOut, org: usize) -> LegacyOfferOut {
    let uuid = |id: &str| {
        shortuuid::parse_id(id)
            .map(shortuuid::format_uuid)
            .unwrap_or_else(|_| id.to_owned())
    };
    let price_currency = offer
        .price
        .as_ref()
        .map(|p| p.currency.clone())
        .or_else(|| {
            data.store_currency(&offer.physical_store_id)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "USD".to_owned());
    LegacyOfferOut {
        id: uuid(&offer.id),
        product_id: uuid(&offer.product_id),
        retailer_id: Some(uuid(&offer.physical_store_id)),
        organization_id: Some(shortuuid::format_uuid(data.organizations[org].uuid)),
        sku: offer.sku.clone(),
        url: String::new(),
        price: offer.price.as_ref().and_then(|p| p.amount.clone()),
        price_currency,
        status: match offer.status {
            OfferStatus::Active => LegacyStatus::Active,
            _ => LegacyStatus::Inactive,
        },
        is_verified: offer.is_verified,
        source: match &offer.source {
            OfferSource::Manual | OfferSource::UserFeedback => LegacySource::Manual,
            OfferSource::Brand | OfferSource::AffiliateFeed | OfferSource::PosSync => {
                LegacySource::Feed
            }
            OfferSource::Scrape => LegacySource::Scraper,
            OfferSource::Unrecognized(raw) => LegacySource::Unrecognized(raw.clone()),
        },
        quantity_on_hand: offer.quantity_on_hand,
    }
}

/// One online offer as served now; 404 when it is not served or the
/// caller may not view its organization (existence is not leaked).
pub(super) async fn get_online_offer(
    State(data): State<Arc<SimData>>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let uuid = path_id(path, "offer_id").map_err(|e| ApiError::validation(vec![e]))?;
    let changes = data.changes();
    changes
        .online
        .find(&data.online_base(), uuid)
        .filter(|&(_, org)| data.visible(caller, org))
        .map(|(offer, _)| data.drift.respond(offer, ""))
        .ok_or_else(|| ApiError::not_found("Online offer"))
}

/// One in-store offer as served now; 404 like [`get_online_offer`].
pub(super) async fn get_in_store_offer(
    State(data): State<Arc<SimData>>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let uuid = path_id(path, "offer_id").map_err(|e| ApiError::validation(vec![e]))?;
    let changes = data.changes();
    changes
        .in_store
        .find(&data.in_store_base(), uuid)
        .filter(|&(_, org)| data.visible(caller, org))
        .map(|(offer, _)| data.drift.respond(offer, ""))
        .ok_or_else(|| ApiError::not_found("In-store offer"))
}

/// The promotions of an online offer as served now, a bare list; 404
/// exactly like [`get_online_offer`] when the offer is not served or the
/// caller may not view its organization.
pub(super) async fn get_online_promotions(
    State(data): State<Arc<SimData>>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let uuid = path_id(path, "offer_id").map_err(|e| ApiError::validation(vec![e]))?;
    let changes = data.changes();
    let base = data.online_base();
    changes
        .online
        .find(&base, uuid)
        .filter(|&(_, org)| data.visible(caller, org))
        .map(|_| {
            data.promotion_drift
                .respond(&changes.online.promotions(&base, uuid), "")
        })
        .ok_or_else(|| ApiError::not_found("Online offer"))
}

/// The promotions of an in-store offer as served now; 404 like
/// [`get_in_store_offer`].
pub(super) async fn get_in_store_promotions(
    State(data): State<Arc<SimData>>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let uuid = path_id(path, "offer_id").map_err(|e| ApiError::validation(vec![e]))?;
    let changes = data.changes();
    let base = data.in_store_base();
    changes
        .in_store
        .find(&base, uuid)
        .filter(|&(_, org)| data.visible(caller, org))
        .map(|_| {
            data.promotion_drift
                .respond(&changes.in_store.promotions(&base, uuid), "")
        })
        .ok_or_else(|| ApiError::not_found("In-store offer"))
}

/// Reads a GTIN path parameter: GTIN-8, UPC-A (12), EAN-13 or GTIN-14
/// digits with a valid check digit, zero-padded to 14.
fn gtin14(raw: &str) -> Result<String, FieldError> {
    if !raw.bytes().all(|b| b.is_ascii_digit()) || ![8, 12, 13, 14].contains(&raw.len()) {
        return Err(field_error(
            "gtin",
            "GTIN must be 8, 12, 13 or 14 digits (UPC-A and EAN-13 are zero-padded to GTIN-14).",
        ));
    }
    if !catalog::is_valid_gtin(raw) {
        return Err(field_error("gtin", "GTIN check digit is invalid."));
    }
    Ok(format!("{raw:0>14}"))
}

/// The canonical product record by GTIN ([`ProductOut`]).
pub(super) async fn get_product(
    State(data): State<Arc<SimData>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ProductOut>, ApiError> {
    let Path(raw) = path.map_err(|_| {
        ApiError::validation(vec![field_error(
            "gtin",
            "Invalid path parameter encoding.",
        )])
    })?;
    let gtin = gtin14(&raw).map_err(|e| ApiError::validation(vec![e]))?;
    data.products_by_gtin
        .get(&gtin)
        .map(|&i| Json(data.products[i].clone()))
        .ok_or_else(|| ApiError::not_found("Product"))
}

/// The compact product record by product id, shortuuid or UUID
/// ([`ProductBrowseOut`]).
pub(super) async fn get_browse_product(
    State(data): State<Arc<SimData>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ProductBrowseOut>, ApiError> {
    let uuid = path_id(path, "id").map_err(|e| ApiError::validation(vec![e]))?;
    data.products_by_uuid
        .get(&uuid)
        .map(|&i| Json(data.browse_products[i].clone()))
        .ok_or_else(|| ApiError::not_found("Product"))
}

pub(super) async fn fallback() -> ApiError {
    ApiError::not_found("Resource")
}
