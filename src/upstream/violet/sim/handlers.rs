//! The Violet simulator's route handlers: login and token refresh, offers
//! by id, search and merchant listings with their paging, filters, sorting,
//! `include` and currency conversion, and the latest exchange rates.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rust_decimal::{Decimal, RoundingStrategy};

use super::generate::{currency_symbol, format_date};
use super::{
    app_from_headers, authenticate, convert_minor, header, now_millis, ApiError, SimData,
    DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE,
};
use crate::pricing::{Currency, JsonNumber};
use crate::upstream::violet::wire;
fn query_pairs(raw: Option<&str>) -> HashMap<String, String> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

/// What a caller asked to see of each offer.
struct View {
    metadata: bool,
    collections: bool,
    /// The currency every price is answered in (`base_currency`, USD by
    /// default) and, when given, the explicit rate into it.
    convert: (Currency, Option<Decimal>),
}

impl View {
    fn from_query(query: &HashMap<String, String>, data: &SimData) -> Result<View, ApiError> {
        let includes: Vec<String> = query
            .get("include")
            .map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default();
        let rate = match query.get("exchange_rate") {
            None => None,
            Some(text) => {
                let rate = Decimal::from_str(text.trim())
                    .or_else(|_| Decimal::from_scientific(text.trim()))
                    .map_err(|_| ApiError::bad_request("exchange_rate must be a number"))?;
                if rate <= Decimal::ZERO {
                    return Err(ApiError::bad_request("exchange_rate must be positive"));
                }
                Some(rate)
            }
        };
        // Documented "default: USD" for the by-id route and both listings
        // (sources in the module's doc): no `base_currency`, or an empty
        // one, is exactly `base_currency=USD`, and an `exchange_rate` alone
        // is then a rate into USD.
        let code = query
            .get("base_currency")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .unwrap_or(wire::DEFAULT_BASE_CURRENCY);
        let currency = Currency::parse(code)
            .ok()
            .filter(|c| c.exponent().is_some())
            .ok_or_else(|| ApiError::bad_request(format!("Unknown base_currency {code:?}")))?;
        if rate.is_none() && !data.rates.contains_key(currency.code()) {
            return Err(ApiError::bad_request(format!(
                "No exchange rate for base_currency {}",
                currency.code()
            )));
        }
        let convert = (currency, rate);
        Ok(View {
            metadata: includes.iter().any(|i| i == "metadata"),
            collections: includes.iter().any(|i| i == "collections"),
            convert,
        })
    }

    /// The offer as this caller sees it.
    fn present(
        &self,
        data: &SimData,
        offer: &wire::Offer,
        listing: bool,
    ) -> Result<wire::Offer, ApiError> {
        let mut out = offer.clone();
        if !self.metadata {
            out.metadata = None;
        }
        if !self.collections {
            out.collections = None;
        }
        if listing {
            out.default_image_url = offer
                .albums
                .first()
                .and_then(|a| a.primary_media.as_ref())
                .and_then(|m| m.url.clone());
        }
        let (target, rate) = self.convert;
        let convert = |minor: i64, from: Option<&str>| -> Result<i64, ApiError> {
            let from_code = from.unwrap_or(target.code());
            let failed = || {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    500,
                    "Currency conversion failed",
                )
            };
            let from = Currency::parse(from_code).map_err(|_| failed())?;
            if from == target {
                return Ok(minor);
            }
            let (numerator, denominator) = match rate {
                Some(rate) => (rate, Decimal::ONE),
                None => data
                    .table_rate(from.code(), target.code())
                    .ok_or_else(failed)?,
            };
            convert_minor(minor, from, target, numerator, denominator).ok_or_else(failed)
        };
        let offer_currency = offer
            .skus
            .first()
            .and_then(|s| s.currency.as_deref())
            .or(offer.currency.as_deref());
        out.min_price = convert(offer.min_price, offer_currency)?;
        out.max_price = offer
            .max_price
            .map(|p| convert(p, offer_currency))
            .transpose()?;
        for sku in &mut out.skus {
            let from = sku.currency.clone().or_else(|| offer.currency.clone());
            sku.sale_price = sku
                .sale_price
                .map(|p| convert(p, from.as_deref()))
                .transpose()?;
            sku.retail_price = sku
                .retail_price
                .map(|p| convert(p, from.as_deref()))
                .transpose()?;
            // A SKU without a currency keeps none: its prices read in the
            // offer's currency, which is the target's from here on.
            if sku.currency.is_some() {
                sku.currency = Some(target.code().to_owned());
            }
            if sku.presented_currency.is_some() {
                sku.presented_currency = Some(target.code().to_owned());
            }
        }
        out.currency = Some(target.code().to_owned());
        out.presented_currency = Some(target.code().to_owned());
        out.currency_symbol = Some(currency_symbol(target.code()).to_owned());
        Ok(out)
    }
}

pub(super) async fn login(
    State(data): State<Arc<SimData>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let app = app_from_headers(&data, &headers)?;
    let request: wire::LoginRequest = serde_json::from_slice(&body).map_err(|_| {
        ApiError::bad_request("Body must be {\"username\": ..., \"password\": ...}")
    })?;
    if request.username != app.username || request.password != app.password {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            20,
            "Invalid username or password",
        ));
    }
    let response = wire::LoginResponse {
        id: Some(app.user_id),
        email: Some(app.username.clone()),
        first_name: Some("Offer".to_owned()),
        last_name: Some("Gateway".to_owned()),
        user_type: Some("DEVELOPER".to_owned()),
        verified: Some(true),
        status: Some("ACTIVE".to_owned()),
        date_created: Some("2022-04-11T21:03:04+0000".to_owned()),
        date_last_modified: Some("2024-10-23T21:52:56+0000".to_owned()),
        roles: vec![wire::Role {
            name: "ROLE_DEVELOPER".to_owned(),
            permissions: vec![
                wire::Permission {
                    name: "MANAGE_APPS".to_owned(),
                    description: None,
                },
                wire::Permission {
                    name: "MANAGE_USER".to_owned(),
                    description: None,
                },
            ],
        }],
        tos_accepted: Some(true),
        payment_configured: Some(false),
        privacy_policy_accepted: Some(true),
        country_code: Some("US".to_owned()),
        merchant_ids: Vec::new(),
        token: data.issue_access_token(app),
        refresh_token: Some(data.issue_refresh_token(app)),
    };
    Ok(Json(response).into_response())
}

pub(super) async fn refresh_token(
    State(data): State<Arc<SimData>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let app = app_from_headers(&data, &headers)?;
    let refresh = header(&headers, "x-violet-token")
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, 10, "Missing token"))?;
    let owner = data
        .tokens
        .lock()
        .expect("token lock poisoned")
        .refresh
        .get(refresh)
        .copied();
    match owner {
        Some(app_id) if app_id == app.app_id => Ok(Json(wire::RefreshResponse {
            token: data.issue_access_token(app),
        })
        .into_response()),
        Some(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            14,
            "Token was not issued to this app",
        )),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            21,
            "Invalid refresh token",
        )),
    }
}

pub(super) async fn get_offer(
    State(data): State<Arc<SimData>>,
    Path(offer_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let app = authenticate(&data, &headers)?;
    let id: i64 = offer_id
        .parse()
        .map_err(|_| ApiError::bad_request("offer_id must be an integer"))?;
    let view = View::from_query(&query_pairs(query.as_deref()), &data)?;
    let changes = data.changes();
    let offer = data
        .served_offer(&changes, id)
        .filter(|o| app.merchant_ids.contains(&o.merchant_id))
        .ok_or_else(|| ApiError::not_found(format!("Offer {id} not found")))?;
    Ok(data.drift.respond(&view.present(&data, offer, false)?, ""))
}

/// Reads `page` (1-based) and `size`.
fn paging(query: &HashMap<String, String>) -> Result<(u32, u32), ApiError> {
    let page = match query.get("page") {
        None => 1,
        Some(text) => text
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| ApiError::bad_request("page must be an integer >= 1"))?
            as u32,
    };
    let size = match query.get("size") {
        None => DEFAULT_PAGE_SIZE,
        Some(text) => text
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|s| (1..=MAX_PAGE_SIZE as i32).contains(s))
            .ok_or_else(|| {
                ApiError::bad_request(format!("size must be an integer from 1 to {MAX_PAGE_SIZE}"))
            })? as u32,
    };
    Ok((page, size))
}

fn page_of(
    data: &SimData,
    view: &View,
    matches: &[&wire::Offer],
    page: u32,
    size: u32,
    sorted: bool,
) -> Result<wire::Page<wire::Offer>, ApiError> {
    let total = matches.len() as u64;
    let offset = u64::from(page - 1) * u64::from(size);
    let content = matches
        .iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(size as usize)
        .map(|o| view.present(data, o, true))
        .collect::<Result<Vec<_>, _>>()?;
    let total_pages = total.div_ceil(u64::from(size));
    let sort = wire::PageSort {
        unsorted: !sorted,
        sorted,
        empty: !sorted,
    };
    Ok(wire::Page {
        number_of_elements: content.len() as u32,
        empty: content.is_empty(),
        content,
        pageable: Some(wire::Pageable {
            sort: Some(sort.clone()),
            page_number: page - 1,
            page_size: size,
            offset,
            paged: true,
            unpaged: false,
        }),
        total_elements: total,
        total_pages,
        last: u64::from(page) >= total_pages,
        sort: Some(sort),
        first: page == 1,
        size,
        number: page - 1,
    })
}

fn matches_filter(filter: &wire::SearchRequest, o: &wire::Offer) -> bool {
    filter.id.is_none_or(|id| o.id == id)
        && filter.merchant_id.is_none_or(|m| o.merchant_id == m)
        && filter
            .merchant_ids
            .as_ref()
            .is_none_or(|ms| ms.contains(&o.merchant_id))
        && filter
            .product_id
            .as_ref()
            .is_none_or(|p| &o.product_id == p)
        && filter
            .external_id
            .as_ref()
            .is_none_or(|e| o.external_id.as_ref() == Some(e))
        && filter.available.is_none_or(|a| o.available == a)
        && filter.visible.is_none_or(|v| o.visible == v)
        && filter
            .status
            .as_ref()
            .is_none_or(|s| o.status.as_ref() == Some(s))
        && filter
            .publishing_status
            .as_ref()
            .is_none_or(|s| o.publishing_status.as_ref() == Some(s))
        && filter
            .subscription_status
            .as_ref()
            .is_none_or(|s| o.subscription_status.as_ref() == Some(s))
        && filter
            .tags
            .as_ref()
            .is_none_or(|tags| tags.iter().all(|t| o.tags.contains(t)))
        && filter.min_price.is_none_or(|p| o.min_price >= p)
        && filter
            .max_price
            .is_none_or(|p| o.max_price.unwrap_or(o.min_price) <= p)
}

fn sort_offers(
    offers: &mut [&wire::Offer],
    sort_by: Option<&str>,
    direction: Option<&str>,
) -> Result<bool, ApiError> {
    let descending = match direction.map(|d| d.trim().to_ascii_uppercase()).as_deref() {
        None | Some("ASC") => false,
        Some("DESC") => true,
        Some(_) => return Err(ApiError::bad_request("sort_direction must be ASC or DESC")),
    };
    let Some(field) = sort_by else {
        if descending {
            offers.reverse();
        }
        return Ok(false);
    };
    let key = field.replace('_', "").to_ascii_lowercase();
    match key.as_str() {
        "id" => offers.sort_by_key(|o| o.id),
        "name" => offers.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id))),
        "minprice" => offers.sort_by_key(|o| (o.min_price, o.id)),
        "maxprice" => offers.sort_by_key(|o| (o.max_price.unwrap_or(o.min_price), o.id)),
        "datecreated" => {
            offers.sort_by(|a, b| a.date_created.cmp(&b.date_created).then(a.id.cmp(&b.id)))
        }
        "datelastmodified" => offers.sort_by(|a, b| {
            a.date_last_modified
                .cmp(&b.date_last_modified)
                .then(a.id.cmp(&b.id))
        }),
        _ => return Err(ApiError::bad_request(format!("Cannot sort by {field:?}"))),
    }
    if descending {
        offers.reverse();
    }
    Ok(true)
}

pub(super) async fn search_offers(
    State(data): State<Arc<SimData>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let app = authenticate(&data, &headers)?;
    let query = query_pairs(query.as_deref());
    let (page, size) = paging(&query)?;
    let view = View::from_query(&query, &data)?;
    let filter: wire::SearchRequest = if body.iter().all(u8::is_ascii_whitespace) {
        wire::SearchRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|err| ApiError::bad_request(format!("Invalid search body: {err}")))?
    };
    let changes = data.changes();
    let mut matches: Vec<&wire::Offer> = data
        .served(&changes)
        .filter(|o| app.merchant_ids.contains(&o.merchant_id) && matches_filter(&filter, o))
        .collect();
    let sorted = sort_offers(
        &mut matches,
        filter.sort_by.as_deref(),
        filter.sort_direction.as_deref(),
    )?;
    let page = page_of(&data, &view, &matches, page, size, sorted)?;
    Ok(data.drift.respond(&page, "/content"))
}

pub(super) async fn merchant_offers(
    State(data): State<Arc<SimData>>,
    Path(merchant_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let app = authenticate(&data, &headers)?;
    let merchant_id: i32 = merchant_id
        .parse()
        .map_err(|_| ApiError::bad_request("merchant_id must be an integer"))?;
    let query = query_pairs(query.as_deref());
    let (page, size) = paging(&query)?;
    let view = View::from_query(&query, &data)?;
    if data.merchant(merchant_id).is_none() || !app.merchant_ids.contains(&merchant_id) {
        return Err(ApiError::not_found(format!(
            "Merchant {merchant_id} not found"
        )));
    }
    let changes = data.changes();
    let matches: Vec<&wire::Offer> = data
        .served(&changes)
        .filter(|o| o.merchant_id == merchant_id)
        .collect();
    let page = page_of(&data, &view, &matches, page, size, false)?;
    Ok(data.drift.respond(&page, "/content"))
}

pub(super) async fn latest_rates(
    State(data): State<Arc<SimData>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authenticate(&data, &headers)?;
    let query = query_pairs(query.as_deref());
    let base = query
        .get("base_currency")
        .map(|s| s.trim().to_ascii_uppercase())
        .unwrap_or_else(|| "USD".to_owned());
    let base_rate = *data
        .rates
        .get(base.as_str())
        .ok_or_else(|| ApiError::bad_request(format!("Unsupported base_currency {base:?}")))?;
    let rates = data
        .rates
        .iter()
        .map(|(code, rate)| {
            let rebased = (*rate / base_rate)
                .round_dp_with_strategy(8, RoundingStrategy::MidpointNearestEven);
            ((*code).to_owned(), JsonNumber::from_decimal(rebased))
        })
        .collect();
    let now = now_millis() / 1_000;
    Ok(Json(wire::ExchangeRates {
        success: true,
        timestamp: now,
        base,
        date: format_date(now)[..10].to_owned(),
        rates,
    })
    .into_response())
}
