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
//! - Every refusal, at any stage, is GraphQL-shaped: `{"errors": [...]}`
//!   with no `data` and each error's `extensions.code`, in the negotiated
//!   media type (`application/json` when nothing acceptable was asked
//!   for, as for the `406` itself).
//! - Batching (no part of the specification; Apollo's `BatchHttpLink` and
//!   Relay's batch middleware send it): a `POST` body that is a JSON array
//!   of requests answers `200` with a JSON array of their responses, in
//!   order, each exactly what the request alone would have answered. The
//!   batch itself is refused (`400`, not an array) when it is empty, holds
//!   more than `max_batch_size` requests, or batching is off. `GET` never
//!   batches.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::parser::parse_query;
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition};
use async_graphql::{ServerError, Variables};
use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::error::{code_of, ErrorCode, GatewayError};
use crate::http::documents::DocumentCache;
use crate::http::persisted::Store;
use crate::http::responses::{self, ResponseCache};
use crate::limits::{self, is_mutation, LimitExceeded, Limits};
use crate::schema::{scope, validation, Schemas};

/// The media type of the GraphQL-over-HTTP specification.
pub(crate) const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// How the answer is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Media {
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
pub(crate) fn negotiate(headers: &HeaderMap) -> Option<Media> {
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
pub(crate) struct Params {
    /// The document.
    pub query: Option<String>,
    /// The operation to run.
    pub operation_name: Option<String>,
    /// Variable values.
    pub variables: Option<Map<String, Value>>,
    /// Protocol extensions (`persistedQuery`, ...).
    pub extensions: Option<Map<String, Value>>,
}

/// A request refused before any field ran, at any stage: the HTTP
/// request itself, the persisted-query protocol, parsing, the limits or
/// validation. Its answer is GraphQL-shaped (`{"errors": [...]}`, no
/// `data`) in the negotiated media type, every error with
/// `extensions.code`.
#[derive(Debug)]
pub(crate) struct Refusal {
    code: ErrorCode,
    errors: Vec<ServerError>,
    allow: Option<&'static str>,
    /// Refuses the HTTP request as a whole (a batch), whatever its code:
    /// its status holds under every media type.
    whole_request: bool,
}

impl Refusal {
    /// A refusal with one error, `code` and `message`.
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal::of(GatewayError::new(code, message))
    }

    /// A refusal with one error made by the gateway.
    pub(crate) fn of(error: GatewayError) -> Self {
        Refusal {
            code: error.code(),
            errors: vec![error.into_request_error()],
            allow: None,
            whole_request: false,
        }
    }

    /// A refusal with errors raised by async-graphql (parser, validation),
    /// coded `code` unless they carry a code of their own.
    pub(crate) fn coded(code: ErrorCode, errors: Vec<ServerError>) -> Self {
        let errors: Vec<ServerError> = errors
            .into_iter()
            .map(|error| crate::error::with_code(error, code))
            .collect();
        let code = errors.first().and_then(code_of).unwrap_or(code);
        Refusal {
            code,
            errors,
            allow: None,
            whole_request: false,
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Refusal::new(ErrorCode::BadRequest, message)
    }

    /// The same refusal, with the `Allow` header of a 405.
    pub(crate) fn allowing(mut self, methods: &'static str) -> Self {
        self.allow = Some(methods);
        self
    }

    /// The same refusal, of the HTTP request as a whole (a batch): its
    /// code's status under every media type.
    fn of_the_whole_request(mut self) -> Self {
        self.whole_request = true;
        self
    }

    /// The code of its first error.
    pub(crate) fn code(&self) -> ErrorCode {
        self.code
    }

    /// Number of errors.
    pub(crate) fn errors(&self) -> usize {
        self.errors.len()
    }

    /// Its HTTP status in `media`. Refusals of the HTTP request have their
    /// own status under both media types; refusals of the document are
    /// `400` under `application/graphql-response+json` and `200` under
    /// `application/json`, as the GraphQL-over-HTTP specification says.
    /// `PERSISTED_QUERY_NOT_FOUND` is `200` under both: Apollo clients
    /// look for it in a successful answer.
    fn status(&self, media: Media) -> StatusCode {
        if self.code.is_http_level() || self.whole_request {
            self.code.status()
        } else if media == Media::Json || self.code == ErrorCode::PersistedQueryNotFound {
            StatusCode::OK
        } else {
            self.code.status()
        }
    }

    /// The HTTP answer in `media`: `{"errors": [...]}`, never `data`.
    pub(crate) fn response(self, media: Media) -> Response {
        Executed::refused(self, media, None).response(media)
    }
}

/// The `Accept` check: `406` when neither JSON media type is acceptable.
pub(crate) fn accept(headers: &HeaderMap) -> Result<Media, Refusal> {
    negotiate(headers).ok_or(Refusal::new(
        ErrorCode::NotAcceptable,
        format!("this endpoint answers {GRAPHQL_RESPONSE_JSON} or application/json"),
    ))
}

/// The media type of an error answer: the negotiated one, or
/// `application/json` when the client accepts neither.
pub(crate) fn error_media(headers: &HeaderMap) -> Media {
    negotiate(headers).unwrap_or(Media::Json)
}

/// A `POST` body: one request, or a batch of them.
#[derive(Debug)]
pub(crate) enum PostBody {
    /// A JSON object: one request.
    Single(Params),
    /// A JSON array: each request read on its own, so that a malformed one
    /// is refused in its own place of the answer.
    Batch(Vec<Result<Params, Refusal>>),
}

/// Reads a POST body: `application/json` holding a JSON object, or an
/// array of at most `max_batch_size` of them (`0`: no arrays).
pub(crate) fn body_from_post(
    headers: &HeaderMap,
    body: &Bytes,
    max_batch_size: usize,
) -> Result<PostBody, Refusal> {
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
        return Err(Refusal::new(
            ErrorCode::UnsupportedMediaType,
            "send the request as application/json",
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| Refusal::bad_request(format!("the body is not JSON: {err}")))?;
    match value {
        Value::Object(object) => params_from_object(object).map(PostBody::Single),
        Value::Array(items) => {
            check_batch_size(items.len(), max_batch_size)?;
            let batch = items
                .into_iter()
                .map(|item| match item {
                    Value::Object(object) => params_from_object(object),
                    _ => Err(Refusal::bad_request(
                        "each request of a batch must be a JSON object \
                         {query, operationName, variables, extensions}",
                    )),
                })
                .collect();
            Ok(PostBody::Batch(batch))
        }
        _ => Err(Refusal::bad_request(
            "the body must be a JSON object {query, operationName, variables, extensions} \
             (or an array of them: a batch)",
        )),
    }
}

/// Refuses a batch that is empty, larger than `max_batch_size`, or sent
/// while batching is off (`max_batch_size` is `0`): `400` under every
/// media type, since the answer cannot be the array the client expects.
fn check_batch_size(size: usize, max_batch_size: usize) -> Result<(), Refusal> {
    let refusal = if max_batch_size == 0 {
        Refusal::of(GatewayError::limit(
            "max_batch_size",
            max_batch_size,
            "query batching is off (the max_batch_size limit is 0): send one request per POST",
        ))
    } else if size > max_batch_size {
        Refusal::of(GatewayError::limit(
            "max_batch_size",
            max_batch_size,
            format!(
                "the batch exceeds the max_batch_size limit of {max_batch_size} (it has {size})"
            ),
        ))
    } else if size == 0 {
        Refusal::bad_request("the batch is empty: send at least one request")
    } else {
        return Ok(());
    };
    Err(refusal.of_the_whole_request())
}

/// Reads one request object `{query, operationName, variables, extensions}`.
fn params_from_object(mut object: Map<String, Value>) -> Result<Params, Refusal> {
    Ok(Params {
        query: optional_string(&mut object, "query")?,
        operation_name: optional_string(&mut object, "operationName")?,
        variables: optional_object(object.remove("variables"), "variables")?,
        extensions: optional_object(object.remove("extensions"), "extensions")?,
    })
}

/// Reads GET parameters; `variables` and `extensions` are JSON-encoded.
pub(crate) fn params_from_get(query: Option<&str>) -> Result<Params, Refusal> {
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

/// What became of a request: its GraphQL response, serialized, with what
/// its HTTP answer needs, and what its log line and metrics record.
#[derive(Debug)]
pub(crate) struct Executed {
    /// The GraphQL response as JSON: `{"data": ..., "errors": [...]}`, or
    /// `{"errors": [...]}` when no field ran.
    body: Bytes,
    /// The status of its HTTP answer when it is answered alone.
    status: StatusCode,
    /// Its `Cache-Control` when it is answered alone.
    cache_control: HeaderValue,
    /// The `Allow` header of a 405.
    allow: Option<&'static str>,
    /// How long ago it was built, when it comes from the response cache.
    age: Option<Duration>,
    /// `ok` or the first error's code.
    pub outcome: &'static str,
    /// Number of errors in the answer.
    pub errors: usize,
    /// The operation run: the one named, or the document's only named one.
    pub operation: Option<String>,
}

impl Executed {
    /// A request refused before execution.
    pub(crate) fn refused(refusal: Refusal, media: Media, operation: Option<String>) -> Self {
        let status = refusal.status(media);
        let outcome = refusal.code().as_str();
        let errors = refusal.errors();
        let allow = refusal.allow;
        let (body, status) = serialized(&json!({ "errors": refusal.errors }), status);
        Executed {
            body,
            status,
            cache_control: HeaderValue::from_static(NO_STORE),
            allow,
            age: None,
            outcome,
            errors,
            operation,
        }
    }

    /// An answer from the response cache.
    fn kept(kept: &responses::Kept, cache_control: HeaderValue, operation: Option<String>) -> Self {
        Executed {
            body: kept.body.clone(),
            status: StatusCode::OK,
            cache_control,
            allow: None,
            age: Some(kept.built_at.elapsed()),
            outcome: "ok",
            errors: 0,
            operation: operation.or_else(|| kept.operation.clone()),
        }
    }

    /// The status of its HTTP answer when it is answered alone.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// The HTTP answer of this request alone, in `media`.
    pub(crate) fn response(self, media: Media) -> Response {
        let mut http = (self.status, self.body).into_response();
        let headers = http.headers_mut();
        headers.insert(header::CONTENT_TYPE, media.content_type());
        headers.insert(header::CACHE_CONTROL, self.cache_control);
        if let Some(allow) = self.allow {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if let Some(age) = self.age {
            headers.insert(header::AGE, HeaderValue::from(age.as_secs()));
        }
        http
    }
}

/// The HTTP answer of a batch: `200` with the JSON array of the requests'
/// responses, in order, each what the request alone would have answered
/// (its own status is not told: a client reads its errors). Never cached:
/// a batch is a `POST`.
pub(crate) fn batch_response(media: Media, answers: Vec<Executed>) -> Response {
    let length = answers.iter().map(|a| a.body.len() + 1).sum::<usize>() + 1;
    let mut body = Vec::with_capacity(length);
    body.push(b'[');
    for (i, answer) in answers.into_iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&answer.body);
    }
    body.push(b']');
    let mut http = (StatusCode::OK, body).into_response();
    let headers = http.headers_mut();
    headers.insert(header::CONTENT_TYPE, media.content_type());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
    http
}

/// Who may keep a successful answer of a persisted query asked by `GET`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Audience {
    /// Anyone: the answer depends on no credential of the request.
    Public,
    /// Only the client that asked: the answer depends on its credentials
    /// (a client API key, a pass-through upstream credential).
    Private,
}

/// Runs a request through every stage, each bounded before the next
/// starts: the persisted-query protocol, the document's length and
/// nesting (on its text), parsing, the operation to run, a mutation over
/// GET, the limits (measured once per fragment), validation, the
/// response cache, the variable values, then execution. The text checks,
/// parsing, the limits and validation run once per document: a known
/// document skips them. A refusal at any stage is a coded
/// GraphQL error. A request whose answer the response cache keeps is
/// answered from it once it has passed every check (a kept answer's
/// variables passed theirs when it was built).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn execute(
    schemas: &Schemas,
    limits: &Limits,
    persisted: &Store,
    documents: &DocumentCache,
    responses: &ResponseCache,
    method: &Method,
    media: Media,
    params: Params,
    audience: Audience,
) -> Executed {
    let mut operation = params.operation_name.clone();
    let refused =
        |refusal: Refusal, operation: Option<String>| Executed::refused(refusal, media, operation);
    let query = params.query.filter(|q| !q.trim().is_empty());
    let resolved = match persisted
        .resolve_shared(query, params.extensions.as_ref())
        .await
    {
        Ok(resolved) => resolved,
        Err(why) => {
            let refusal = Refusal::of(GatewayError::new(why.code(), why.message()));
            return refused(refusal, operation);
        }
    };
    let Some(query) = resolved.query else {
        return refused(
            Refusal::bad_request("the request has no `query`"),
            operation,
        );
    };
    // A document seen before passed the text checks, parsing and every
    // limit then: only what depends on this request is checked again.
    let cached = documents.get(&query);
    let prepared = match &cached {
        Some(prepared) => prepared.clone(),
        None => {
            if let Err(exceeded) = limits.check_text(&query) {
                return refused(limit_refusal(&exceeded), operation);
            }
            match parse_query(&query) {
                Ok(document) => Arc::new(scope::prepare(&schemas.strict, document)),
                Err(err) => {
                    let refusal = Refusal::coded(ErrorCode::GraphqlParseFailed, vec![err.into()]);
                    return refused(refusal, operation);
                }
            }
        }
    };
    let document = &prepared.original;
    match pick_operation(document, params.operation_name.as_deref()) {
        Ok(name) => operation = operation.or(name),
        Err(refusal) => return refused(refusal, operation),
    }
    if *method == Method::GET && is_mutation(document, params.operation_name.as_deref()) {
        let refusal = Refusal::new(
            ErrorCode::MethodNotAllowed,
            "mutations are only accepted over POST",
        )
        .allowing("POST");
        return refused(refusal, operation);
    }
    if cached.is_none() {
        match limits.check(document) {
            Ok(()) => {}
            Err(limits::Refusal::Limit(exceeded)) => {
                return refused(limit_refusal(&exceeded), operation)
            }
            Err(limits::Refusal::Invalid(why)) => {
                let refusal = Refusal::new(ErrorCode::GraphqlValidationFailed, why);
                return refused(refusal, operation);
            }
        }
        // Validated once, with every rule and no variable values; the
        // document is kept only then.
        let name = params.operation_name.as_deref();
        if let Err(errors) = scope::validate(&schemas.strict, &prepared, name).await {
            return refused(validation_refusal(errors, limits), operation);
        }
        documents.insert(&query, prepared.clone());
    }
    if let Some(hash) = resolved.to_register {
        persisted.register(hash, &query).await;
    }
    // A persisted query asked by GET may be kept by HTTP caches.
    let http_cacheable = method == Method::GET && resolved.by_hash;
    let key = responses.enabled().then(|| {
        let credentials = crate::request::RequestContext::current()
            .map(|context| context.credential_fingerprints())
            .unwrap_or_default();
        responses::Key::new(
            &query,
            params.operation_name.as_deref(),
            params.variables.as_ref(),
            &credentials,
        )
    });
    if let Some(kept) = key.as_ref().and_then(|key| responses.get(key)) {
        let cache_control = match http_cacheable {
            true => cache_for(audience, persisted.max_age().min(kept.ttl())),
            false => HeaderValue::from_static(NO_STORE),
        };
        return Executed::kept(&kept, cache_control, operation);
    }
    let variables = Variables::from_json(Value::Object(params.variables.unwrap_or_default()));
    if let Some(definition) = operation_of(document, params.operation_name.as_deref()) {
        if let Err(errors) = validation::coerce_variables(&schemas.inputs, definition, &variables) {
            return refused(Refusal::coded(ErrorCode::BadUserInput, errors), operation);
        }
    }
    let mut request = async_graphql::Request::new(query).variables(variables);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    let before = responses.epochs();
    let built_at = Instant::now();
    let (response, verdict) =
        crate::freshness::track(scope::execute(&schemas.trusted, request, &prepared)).await;
    if response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
    {
        // No field ran: a limit measured with the variables refused it.
        return refused(validation_refusal(response.errors, limits), operation);
    }
    let mut response = response;
    // The gateway codes every error it raises; an uncoded field error
    // comes from async-graphql coercing an argument value.
    response.errors = response
        .errors
        .into_iter()
        .map(|error| crate::error::with_code(error, ErrorCode::BadUserInput))
        .collect();
    let outcome = response
        .errors
        .first()
        .and_then(code_of)
        .map_or("ok", ErrorCode::as_str);
    let errors = response.errors.len();
    let keepable = responses.keepable(
        &verdict,
        before,
        errors > 0,
        !response.extensions.is_empty(),
    );
    let (body, status) = serialized(&response, StatusCode::OK);
    let cache_control = match (http_cacheable, &keepable) {
        // HTTP caches may keep the answer as long as the gateway would:
        // its lifetime from when it was built, as a kept answer says it
        // (whole seconds, not the second less that the time spent
        // executing would floor it to).
        (true, Ok(until)) => {
            let lifetime = until.saturating_duration_since(built_at);
            cache_for(audience, persisted.max_age().min(lifetime))
        }
        _ => HeaderValue::from_static(NO_STORE),
    };
    if let Some(key) = key {
        if status == StatusCode::OK {
            let kept_operation = operation.clone();
            responses.keep(
                key,
                &body,
                kept_operation,
                built_at,
                before,
                &verdict,
                keepable,
            );
        }
    }
    Executed {
        body,
        status,
        cache_control,
        allow: None,
        age: None,
        outcome,
        errors,
        operation,
    }
}

/// The operation `name` asks for, or the document's only one: its name,
/// if it has one. `OPERATION_NOT_FOUND` when there is no such operation,
/// or several and no name.
fn pick_operation(
    document: &ExecutableDocument,
    name: Option<&str>,
) -> Result<Option<String>, Refusal> {
    match (name, &document.operations) {
        (Some(name), operations) => {
            if operations
                .iter()
                .any(|(n, _)| n.is_some_and(|n| n.as_str() == name))
            {
                Ok(Some(name.to_owned()))
            } else {
                Err(Refusal::new(
                    ErrorCode::OperationNotFound,
                    format!("the document has no operation named `{name}`"),
                ))
            }
        }
        (None, DocumentOperations::Single(_)) => Ok(None),
        (None, DocumentOperations::Multiple(operations)) if operations.len() == 1 => {
            Ok(operations.keys().next().map(|n| n.to_string()))
        }
        (None, DocumentOperations::Multiple(_)) => Err(Refusal::new(
            ErrorCode::OperationNotFound,
            "the document has several operations: name the one to run in `operationName`",
        )),
    }
}

/// The operation of `document` that `name` picks (after [`pick_operation`]
/// accepted it).
fn operation_of<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match (name, &document.operations) {
        (_, DocumentOperations::Single(operation)) => Some(&operation.node),
        (Some(name), DocumentOperations::Multiple(operations)) => operations
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, operation)| &operation.node),
        (None, DocumentOperations::Multiple(operations)) => {
            operations.values().next().map(|operation| &operation.node)
        }
    }
}

/// The refusal of a document that async-graphql's validation (or its
/// complexity and depth limits) refused, each limit error named.
fn validation_refusal(errors: Vec<ServerError>, limits: &Limits) -> Refusal {
    let errors = errors
        .into_iter()
        .map(|error| name_limit(error, limits))
        .collect();
    Refusal::coded(ErrorCode::GraphqlValidationFailed, errors)
}

fn limit_refusal(exceeded: &LimitExceeded) -> Refusal {
    Refusal::of(GatewayError::limit(
        exceeded.name,
        exceeded.limit,
        exceeded.to_string(),
    ))
}

/// `Cache-Control` of an answer no cache may keep.
const NO_STORE: &str = "no-store";

/// `Cache-Control` of an answer `audience` may keep for `max_age`.
fn cache_for(audience: Audience, max_age: Duration) -> HeaderValue {
    let audience = match audience {
        Audience::Public => "public",
        Audience::Private => "private",
    };
    let value = format!("{audience}, max-age={}", max_age.as_secs());
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static(NO_STORE))
}

/// async-graphql's own limit messages, with the limit and its value.
fn name_limit(error: ServerError, limits: &Limits) -> ServerError {
    let (name, limit) = match error.message.as_str() {
        "Query is too complex." => ("max_complexity", limits.max_complexity),
        "Query is nested too deep." => ("max_depth", limits.max_depth),
        _ => return error,
    };
    GatewayError::limit(
        name,
        limit,
        format!("the query exceeds the {name} limit of {limit}"),
    )
    .into_request_error()
}

/// `body` as JSON, with `status`; an `INTERNAL` error and `500` in the
/// unexpected case that it cannot be serialized.
fn serialized(body: &impl serde::Serialize, status: StatusCode) -> (Bytes, StatusCode) {
    match serde_json::to_vec(body) {
        Ok(body) => (Bytes::from(body), status),
        Err(err) => {
            let error = GatewayError::internal(format!("cannot serialize a response: {err}"));
            let body = json!({ "errors": [error.into_request_error()] });
            (
                Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    }
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
