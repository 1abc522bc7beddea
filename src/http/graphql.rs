//! GraphQL over HTTP, as the GraphQL foundation's specification gives it.
//!
//! - `POST` with an `application/json` body `{query, operationName,
//!   variables, extensions}`; another content type is `415`, a body that
//!   is not a JSON object, a `query` that is not a string, or `variables`
//!   that are not an object is `400`.
//! - `GET` with `query`, `operationName`, `variables` and `extensions`
//!   parameters (the last two JSON-encoded); a mutation over `GET` is `405`.
//! - The answer is `application/graphql-response+json` when the client
//!   names it in `Accept`, `application/json` when it names that, sends a
//!   wildcard (`*/*`, as curl does) or no `Accept`, and `406` when it
//!   accepts neither.
//! - With `application/json`, every GraphQL response is `200`, errors
//!   included. With `application/graphql-response+json`, a request that
//!   fails before execution (parse, validation, a limit) is `400`; a
//!   response with `data` is `200`.

use async_graphql::parser::parse_query;
use async_graphql::{Response as GraphQLResponse, ServerError, Variables};
use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::error::{ErrorCode, GatewayError};
use crate::http::persisted::{Refused, Store};
use crate::limits::{is_mutation, Limits};
use crate::schema::{scope, GatewaySchema};

/// The media type of the GraphQL-over-HTTP specification.
pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// How the answer is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Media {
    /// `application/graphql-response+json`.
    GraphQLResponseJson,
    /// `application/json` (the legacy media type).
    Json,
}

impl Media {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Media::GraphQLResponseJson => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        })
    }
}

/// Chooses the answer's media type from `Accept`, by quality then by
/// preference for the specification's own type; `None` when the client
/// accepts neither.
pub fn negotiate(headers: &HeaderMap) -> Option<Media> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(Media::Json);
    };
    if accept.trim().is_empty() {
        return Some(Media::Json);
    }
    let mut best: Option<(f32, u8, Media)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if quality <= 0.0 {
            continue;
        }
        let candidates: &[(Media, u8)] = match range.as_str() {
            GRAPHQL_RESPONSE_JSON => &[(Media::GraphQLResponseJson, 2)],
            "application/json" => &[(Media::Json, 1)],
            // Wildcards come from clients that predate the specification's
            // type (curl sends `*/*`): they get the legacy type.
            "application/*" | "*/*" => &[(Media::Json, 0)],
            _ => &[],
        };
        for &(media, rank) in candidates {
            if best.is_none_or(|(q, r, _)| quality > q || (quality == q && rank > r)) {
                best = Some((quality, rank, media));
            }
        }
    }
    best.map(|(_, _, media)| media)
}

/// A GraphQL request as it arrived, before it is checked.
#[derive(Debug, Default)]
pub struct Params {
    /// The document.
    pub query: Option<String>,
    /// The operation to run.
    pub operation_name: Option<String>,
    /// Variable values.
    pub variables: Option<Map<String, Value>>,
    /// Protocol extensions (`persistedQuery`, ...).
    pub extensions: Option<Map<String, Value>>,
}

/// A request the endpoint refuses before GraphQL sees it.
#[derive(Debug)]
pub struct Refusal {
    status: StatusCode,
    message: String,
    allow: Option<&'static str>,
}

impl Refusal {
    fn bad_request(message: impl Into<String>) -> Self {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            allow: None,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let code = match self.status {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "UNSUPPORTED_MEDIA_TYPE",
            StatusCode::NOT_ACCEPTABLE => "NOT_ACCEPTABLE",
            StatusCode::METHOD_NOT_ALLOWED => "METHOD_NOT_ALLOWED",
            StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
            _ => "BAD_REQUEST",
        };
        let body =
            json!({ "errors": [{ "message": self.message, "extensions": { "code": code } }] });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(allow) = self.allow {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

/// The `Accept` check: `406` when neither JSON media type is acceptable.
pub fn accept(headers: &HeaderMap) -> Result<Media, Refusal> {
    negotiate(headers).ok_or(Refusal {
        status: StatusCode::NOT_ACCEPTABLE,
        message: format!("this endpoint answers {GRAPHQL_RESPONSE_JSON} or application/json"),
        allow: None,
    })
}

/// Reads a POST body: `application/json` holding a JSON object.
pub fn params_from_post(headers: &HeaderMap, body: &Bytes) -> Result<Params, Refusal> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json" {
        return Err(Refusal {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: "send the request as application/json".to_owned(),
            allow: None,
        });
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| Refusal::bad_request(format!("the body is not JSON: {err}")))?;
    let Value::Object(mut object) = value else {
        return Err(Refusal::bad_request(
            "the body must be a JSON object {query, operationName, variables, extensions}",
        ));
    };
    Ok(Params {
        query: optional_string(&mut object, "query")?,
        operation_name: optional_string(&mut object, "operationName")?,
        variables: optional_object(object.remove("variables"), "variables")?,
        extensions: optional_object(object.remove("extensions"), "extensions")?,
    })
}

/// Reads GET parameters; `variables` and `extensions` are JSON-encoded.
pub fn params_from_get(query: Option<&str>) -> Result<Params, Refusal> {
    let mut params = Params::default();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "query" => params.query = Some(value.into_owned()),
            "operationName" => {
                params.operation_name = Some(value.into_owned()).filter(|v| !v.is_empty())
            }
            "variables" | "extensions" if !value.is_empty() => {
                let parsed: Value = serde_json::from_str(&value).map_err(|_| {
                    Refusal::bad_request(format!("`{key}` must be a JSON-encoded object"))
                })?;
                let object = optional_object(Some(parsed), &key)?;
                if key == "variables" {
                    params.variables = object;
                } else {
                    params.extensions = object;
                }
            }
            _ => {}
        }
    }
    Ok(params)
}

fn optional_string(object: &mut Map<String, Value>, key: &str) -> Result<Option<String>, Refusal> {
    match object.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Refusal::bad_request(format!("`{key}` must be a string"))),
    }
}

fn optional_object(value: Option<Value>, key: &str) -> Result<Option<Map<String, Value>>, Refusal> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(Refusal::bad_request(format!("`{key}` must be an object"))),
    }
}

/// What became of a request, for its log line and metrics.
#[derive(Debug)]
pub struct Executed {
    /// The HTTP answer.
    pub response: Response,
    /// `ok` or the first error's code.
    pub outcome: &'static str,
    /// Number of errors in the answer.
    pub errors: usize,
    /// The operation run: the one named, or the document's only named one.
    pub operation: Option<String>,
}

/// Runs a checked request: parse, the limits, a mutation over GET, then
/// execution, with the status the media type calls for.
pub async fn execute(
    schema: &GatewaySchema,
    limits: &Limits,
    persisted: &Store,
    method: &Method,
    media: Media,
    params: Params,
) -> Executed {
    let mut operation = params.operation_name.clone();
    let done = |response: Response,
                outcome: &'static str,
                errors: usize,
                operation: Option<String>| Executed {
        response,
        outcome,
        errors,
        operation,
    };
    let query = params.query.filter(|q| !q.trim().is_empty());
    let (query, by_hash) = match persisted.resolve(query, params.extensions.as_ref()) {
        Ok(resolved) => resolved,
        Err(refused) => {
            let error = GatewayError::new(refused.code(), refused.message()).into_request_error();
            // Apollo clients look for PersistedQueryNotFound in a 200 answer.
            let as_request_error = refused != Refused::NotFound;
            let mut response = answer(media, request_error(error), as_request_error);
            no_store(&mut response);
            return done(response, refused.code().as_str(), 1, operation);
        }
    };
    let Some(query) = query else {
        return done(
            Refusal::bad_request("the request has no `query`").into_response(),
            "BAD_REQUEST",
            1,
            operation,
        );
    };
    let document = match parse_query(&query) {
        Ok(document) => document,
        Err(err) => {
            let error: ServerError = err.into();
            return done(
                answer(media, request_error(error), true),
                "GRAPHQL_PARSE_FAILED",
                1,
                operation,
            );
        }
    };
    if operation.is_none() {
        // The document's only operation, when it has a name.
        let mut operations = document.operations.iter();
        if let (Some((Some(name), _)), None) = (operations.next(), operations.next()) {
            operation = Some(name.to_string());
        }
    }
    if *method == Method::GET && is_mutation(&document, params.operation_name.as_deref()) {
        let refusal = Refusal {
            status: StatusCode::METHOD_NOT_ALLOWED,
            message: "mutations are only accepted over POST".to_owned(),
            allow: Some("POST"),
        };
        return done(refusal.into_response(), "METHOD_NOT_ALLOWED", 1, operation);
    }
    if let Err(exceeded) = limits.check(&document) {
        let error = GatewayError::limit(exceeded.name, exceeded.limit, exceeded.to_string())
            .into_request_error();
        return done(
            answer(media, request_error(error), true),
            "LIMIT_EXCEEDED",
            1,
            operation,
        );
    }
    let mut request = async_graphql::Request::new(query);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables {
        request = request.variables(Variables::from_json(Value::Object(variables)));
    }
    let mut response = scope::execute(schema, request).await;
    let failed_before_execution = response.data == async_graphql::Value::Null && response.is_err();
    if failed_before_execution {
        name_limits(&mut response, limits);
    }
    let outcome = match response.errors.first() {
        None => "ok",
        Some(error) => error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .and_then(|code| match code {
                async_graphql::Value::String(code) => ErrorCode::parse(code).map(ErrorCode::as_str),
                _ => None,
            })
            .unwrap_or(if failed_before_execution {
                "GRAPHQL_VALIDATION_FAILED"
            } else {
                "ERROR"
            }),
    };
    let errors = response.errors.len();
    let mut http = answer(media, response, failed_before_execution);
    if *method == Method::GET && by_hash && errors == 0 {
        // A persisted query asked by GET: HTTP caches may keep the answer as
        // long as the gateway's own cache would.
        let max_age = persisted.max_age().as_secs();
        if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
            http.headers_mut().insert(header::CACHE_CONTROL, value);
        }
    } else {
        no_store(&mut http);
    }
    done(http, outcome, errors, operation)
}

fn no_store(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn request_error(error: ServerError) -> GraphQLResponse {
    GraphQLResponse::from_errors(vec![error])
}

/// async-graphql's own limit messages, with the limit and its value.
fn name_limits(response: &mut GraphQLResponse, limits: &Limits) {
    for error in &mut response.errors {
        let (name, limit) = match error.message.as_str() {
            "Query is too complex." => ("max_complexity", limits.max_complexity),
            "Query is nested too deep." => ("max_depth", limits.max_depth),
            _ => continue,
        };
        *error = GatewayError::limit(
            name,
            limit,
            format!("the query exceeds the {name} limit of {limit}"),
        )
        .into_request_error();
    }
}

fn answer(media: Media, response: GraphQLResponse, failed_before_execution: bool) -> Response {
    let status = match (media, failed_before_execution) {
        (Media::GraphQLResponseJson, true) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    let body = match serde_json::to_vec(&response) {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(cause = %err, "cannot serialize a response");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut http = (status, body).into_response();
    http.headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    http
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept_header(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn accept_negotiation_follows_quality_then_preference() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(Media::Json));
        assert_eq!(
            negotiate(&accept_header("application/json")),
            Some(Media::Json)
        );
        assert_eq!(
            negotiate(&accept_header(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(Media::GraphQLResponseJson)
        );
        assert_eq!(
            negotiate(&accept_header(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Some(Media::Json)
        );
        assert_eq!(negotiate(&accept_header("*/*")), Some(Media::Json));
        assert_eq!(
            negotiate(&accept_header("*/*, application/graphql-response+json")),
            Some(Media::GraphQLResponseJson)
        );
        assert_eq!(negotiate(&accept_header("text/html")), None);
        assert_eq!(negotiate(&accept_header("application/json;q=0")), None);
    }

    #[test]
    fn get_parameters_are_decoded() {
        let params = params_from_get(Some(
            "query=%7B+a+%7D&operationName=Op&variables=%7B%22x%22%3A1%7D&extensions=%7B%7D",
        ))
        .unwrap();
        assert_eq!(params.query.as_deref(), Some("{ a }"));
        assert_eq!(params.operation_name.as_deref(), Some("Op"));
        assert_eq!(params.variables.unwrap()["x"], 1);
        assert!(params_from_get(Some("query=x&variables=%5B1%5D")).is_err());
        assert!(params_from_get(Some("query=x&variables=nope")).is_err());
    }
}
