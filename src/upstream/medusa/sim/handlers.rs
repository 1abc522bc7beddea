//! The Medusa simulator's route handlers: login, offer retrieval and the
//! offer listing with its paging, ordering and filters, read from query
//! parameters the way Express's `qs` reads them.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::fields::Selection;
use super::{error, refusal, SimData, DEFAULT_LIMIT};
use crate::upstream::medusa::wire::{self, ErrorType};
pub(super) async fn login(State(data): State<Arc<SimData>>, body: Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<wire::EmailPassLogin>(&body) else {
        return error(
            ErrorType::InvalidData,
            "Invalid request: expected a JSON body with `email` and `password`",
        );
    };
    let user = data.users.iter().find(|u| {
        u.email.eq_ignore_ascii_case(request.email.trim()) && u.password == request.password
    });
    match user {
        Some(user) => Json(wire::AuthToken {
            token: data.issue_token(user),
        })
        .into_response(),
        None => error(ErrorType::Unauthorized, "Invalid email or password"),
    }
}

pub(super) async fn retrieve_offer(
    State(data): State<Arc<SimData>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = refusal(&data, &headers) {
        return refusal;
    }
    let params = QueryParams::parse(query.as_deref());
    let selection = match Selection::parse(params.fields()) {
        Ok(selection) => selection,
        Err(message) => return error(ErrorType::InvalidData, message),
    };
    let changes = data.changes();
    let Some(offer) = data.served_offer(&changes, &id) else {
        return error(
            ErrorType::NotFound,
            format!("Offer with id: {id} was not found"),
        );
    };
    match selection.project(offer) {
        Ok(offer) => data.drift.respond(&wire::OfferResponse { offer }, "/offer"),
        Err(err) => error(ErrorType::UnknownError, err.to_string()),
    }
}

pub(super) async fn list_offers(
    State(data): State<Arc<SimData>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = refusal(&data, &headers) {
        return refusal;
    }
    let params = QueryParams::parse(query.as_deref());
    let list = match ListQuery::from_params(&params) {
        Ok(list) => list,
        Err(message) => return error(ErrorType::InvalidData, message),
    };
    let selection = match Selection::parse(params.fields()) {
        Ok(selection) => selection,
        Err(message) => return error(ErrorType::InvalidData, message),
    };
    let changes = data.changes();
    let mut matching: Vec<&wire::Offer> = match list.filters.get("id") {
        // A set: each id once. The order comes from sorting below.
        Some(ids) => ids
            .iter()
            .filter_map(|id| data.served_offer(&changes, id))
            .collect(),
        None => data.served(&changes).collect(),
    };
    matching.retain(|offer| {
        list.filters.iter().all(|(field, values)| {
            let value = match *field {
                "id" => Some(&offer.id),
                "sku" => offer.sku.as_ref(),
                "ean" => offer.ean.as_ref(),
                "upc" => offer.upc.as_ref(),
                "seller_id" => offer.seller_id.as_ref(),
                _ => None,
            };
            value.is_some_and(|v| values.contains(v))
        })
    });
    matching.sort_by_cached_key(|o| {
        let field = match list.order_field {
            "created_at" => o.created_at.clone(),
            "updated_at" => o.updated_at.clone(),
            "sku" => o.sku.clone(),
            _ => None,
        };
        (field, o.id.clone())
    });
    if list.descending {
        // Keys are unique (the id breaks ties), so this is the descending order.
        matching.reverse();
    }
    let count = matching.len() as u64;
    let page = matching
        .into_iter()
        .skip(usize::try_from(list.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(list.limit).unwrap_or(usize::MAX))
        .map(|offer| selection.project(offer))
        .collect::<Result<Vec<_>, _>>();
    match page {
        Ok(offers) => data.drift.respond(
            &wire::OfferListResponse {
                offers,
                count,
                offset: list.offset,
                limit: list.limit,
            },
            "/offers",
        ),
        Err(err) => error(ErrorType::UnknownError, err.to_string()),
    }
}

/// Query parameters as Express's `qs` reads them: `k[]=a&k[1]=b&k=c` all
/// land under `k`.
struct QueryParams(BTreeMap<String, Vec<String>>);

impl QueryParams {
    fn parse(query: Option<&str>) -> Self {
        let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let base = match key.find('[') {
                Some(open)
                    if key.ends_with(']')
                        && key[open + 1..key.len() - 1]
                            .bytes()
                            .all(|b| b.is_ascii_digit()) =>
                {
                    &key[..open]
                }
                _ => &key[..],
            };
            params
                .entry(base.to_owned())
                .or_default()
                .push(value.into_owned());
        }
        QueryParams(params)
    }

    /// The last value of a single-valued parameter.
    fn single(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.last()).map(String::as_str)
    }

    /// All `fields` values joined, as one comma-separated list.
    fn fields(&self) -> Option<String> {
        self.0.get("fields").map(|values| values.join(","))
    }
}

/// The paging, ordering and filters of a list request.
struct ListQuery {
    limit: u64,
    offset: u64,
    order_field: &'static str,
    descending: bool,
    filters: BTreeMap<&'static str, HashSet<String>>,
}

impl ListQuery {
    fn from_params(params: &QueryParams) -> Result<Self, String> {
        let number = |field: &str, default: u64| -> Result<u64, String> {
            match params.single(field).map(str::trim) {
                None | Some("") => Ok(default),
                Some(text) => match text.parse::<i64>() {
                    Ok(n) if n < 0 => Err(format!(
                        "Invalid request: Number must be greater than or equal to 0 (at '{field}')"
                    )),
                    Ok(n) => Ok(n as u64),
                    Err(_) => Err(format!(
                        "Invalid request: Expected type: 'number' for field '{field}', got: '{text}'"
                    )),
                },
            }
        };
        let limit = number("limit", DEFAULT_LIMIT)?;
        let offset = number("offset", 0)?;
        let (order_field, descending) = match params.single("order").map(str::trim) {
            None | Some("") => ("created_at", false),
            Some(order) => {
                let (name, descending) = match order.strip_prefix('-') {
                    Some(name) => (name, true),
                    None => (order, false),
                };
                let field = ["id", "created_at", "updated_at", "sku"]
                    .into_iter()
                    .find(|f| *f == name)
                    .ok_or_else(|| format!("Invalid order field: '{name}'"))?;
                (field, descending)
            }
        };
        let mut filters = BTreeMap::new();
        for field in ["id", "sku", "ean", "upc", "seller_id"] {
            if let Some(values) = params.0.get(field) {
                filters.insert(field, values.iter().cloned().collect());
            }
        }
        Ok(ListQuery {
            limit,
            offset,
            order_field,
            descending,
            filters,
        })
    }
}
