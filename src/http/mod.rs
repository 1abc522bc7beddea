//! The HTTP surface: routes, layers and the server loop.
//!
//! - `POST /graphql`: a GraphQL request as JSON (or a batch of them, a
//!   JSON array), and `GET /graphql?query=`, by the GraphQL-over-HTTP
//!   specification ([`graphql`]); a browser (asking for HTML, with no
//!   `query`) gets GraphiQL instead ([`graphiql`]), whose files are served
//!   under `/graphiql/assets/`.
//! - `GET /healthz`: the process is alive.
//! - `GET /readyz`: ready unless every upstream's circuit is open.
//! - `GET /metrics`: Prometheus metrics.
//!
//! Layers, outermost first: a request id (`x-request-id`, generated when
//! absent or unusable, echoed in the answer, sent upstream and written in
//! logs), tracing, CORS from an allow-list, compression; on `/graphql`,
//! `Vary` on the credential headers, the client key check and the body
//! limit. The whole-request timeout is applied around execution (`run`),
//! so that it answers a coded GraphQL error like every other refusal.

pub(crate) mod auth;
pub(crate) mod documents;
pub(crate) mod graphiql;
pub(crate) mod graphql;
pub(crate) mod persisted;
pub(crate) mod responses;

use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::catalog::Catalog;
use crate::limits::Limits;
use crate::loader::Loaders;
use crate::metrics::Metrics;
use crate::schema::Schemas;
use crate::upstream::resilience::BreakerState;
use crate::upstream::Upstreams;
use crate::Gateway;

/// Default time in-flight requests get to finish after a shutdown signal.
pub(crate) const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The HTTP server's settings: the `[server]` table of the configuration,
/// every key optional.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerOptions {
    /// Origins allowed to call the API from a browser (CORS), e.g.
    /// `["https://shop.example"]`; empty for none.
    pub cors_allowed_origins: Vec<String>,
    /// Whether answers are compressed when the client accepts it.
    pub compression: bool,
    /// Time in-flight requests get to finish after a shutdown signal.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// API keys of the gateway's clients, given as their SHA-256 hashes
    /// (`client_key_hashes`, see `offer-gateway hash-key`); none
    /// configured: no authentication.
    #[serde(rename = "client_key_hashes")]
    pub client_keys: auth::ClientKeys,
}

impl ServerOptions {
    /// Checks the values: each allowed origin is `scheme://host[:port]`,
    /// or `scheme://host:*` for any port of the host.
    pub fn validate(&self) -> Result<(), crate::error::InvalidSetting> {
        use crate::error::InvalidSetting;
        for (i, origin) in self.cors_allowed_origins.iter().enumerate() {
            let key = format!("server.cors_allowed_origins[{i}]");
            let exact = origin.strip_suffix(":*").unwrap_or(origin);
            let url =
                url::Url::parse(exact).map_err(|err| InvalidSetting::new(&key, err.to_string()))?;
            let bare = url.path() == "/" && url.query().is_none() && !exact.ends_with('/');
            // `host:*` names no port of its own (an IPv6 host is bracketed).
            let authority = exact.split_once("://").map_or(exact, |(_, rest)| rest);
            let any_port_has_none =
                exact == origin || authority.ends_with(']') || !authority.contains(':');
            if !matches!(url.scheme(), "http" | "https") || !bare || !any_port_has_none {
                return Err(InvalidSetting::new(
                    key,
                    "an origin is scheme://host[:port] (or scheme://host:* for any port), \
                     without a path",
                ));
            }
        }
        Ok(())
    }

    /// Whether a browser at `origin` may call the gateway: it is one of
    /// `cors_allowed_origins`, or matches one that ends in `:*` with any
    /// port (or none).
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.cors_allowed_origins
            .iter()
            .any(|allowed| match allowed.strip_suffix(":*") {
                Some(host) => origin.strip_prefix(host).is_some_and(|rest| {
                    rest.is_empty()
                        || rest.strip_prefix(':').is_some_and(|port| {
                            !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
                        })
                }),
                None => origin == allowed,
            })
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            cors_allowed_origins: Vec::new(),
            compression: true,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            client_keys: auth::ClientKeys::default(),
        }
    }
}

/// Longest client-supplied `x-request-id` kept; a longer one, or one with
/// characters outside `A-Z a-z 0-9 - _ . : / + =`, is replaced by a
/// generated id.
pub(crate) const MAX_REQUEST_ID_LEN: usize = 128;

/// What the handlers share, behind one `Arc` (axum hands each request
/// its own clone of the state).
struct HttpState {
    schemas: Schemas,
    limits: Arc<Limits>,
    persisted: Arc<persisted::Store>,
    /// Parsed, checked documents by their text.
    documents: Arc<documents::DocumentCache>,
    /// Whole answers.
    responses: Arc<responses::ResponseCache>,
    metrics: Arc<Metrics>,
    upstreams: Upstreams,
    loaders: Option<Arc<Loaders>>,
    catalog: Option<Catalog>,
    /// Whether clients must send an API key (then every answer is theirs alone).
    keyed: bool,
}

/// The gateway's routes and layers.
pub(crate) fn router(gateway: Gateway) -> Router {
    let server = gateway.options.server.clone();
    // Answers may be cached as long as the shortest upstream cache keeps them.
    let max_age = gateway
        .upstreams
        .iter()
        .filter(|c| c.settings().cache.enabled)
        .map(|c| c.settings().cache.ttl)
        .min()
        .unwrap_or(Duration::ZERO);
    routes(
        HttpState {
            schemas: gateway.schemas,
            limits: Arc::new(gateway.options.limits.clone()),
            persisted: Arc::new(
                persisted::Store::new(gateway.options.persisted.clone(), max_age)
                    .with_shared(gateway.shared.clone()),
            ),
            documents: Arc::new(documents::DocumentCache::new(
                documents::DEFAULT_MAX_BYTES,
                Some(gateway.metrics.clone()),
            )),
            responses: Arc::new(responses::ResponseCache::new(
                gateway.options.response_cache.clone(),
                gateway.epochs.clone(),
                Some(gateway.metrics.clone()),
            )),
            metrics: gateway.metrics,
            upstreams: gateway.upstreams,
            loaders: Some(gateway.loaders),
            catalog: Some(gateway.catalog),
            keyed: server.client_keys.enabled(),
        },
        &server,
    )
}

fn routes(state: HttpState, server: &ServerOptions) -> Router {
    let vary = vary(&state.upstreams, server.client_keys.enabled());
    let cors = (!server.cors_allowed_origins.is_empty()).then(|| {
        let allowed = ServerOptions {
            cors_allowed_origins: server.cors_allowed_origins.clone(),
            ..ServerOptions::default()
        };
        CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(move |origin, _| {
                origin.to_str().is_ok_and(|o| allowed.allows_origin(o))
            }))
            .allow_methods([Method::GET, Method::POST])
            // Clients may send their API key and pass-through credentials.
            .allow_headers(tower_http::cors::AllowHeaders::mirror_request())
            .expose_headers([header::HeaderName::from_static("x-request-id")])
            .max_age(Duration::from_secs(600))
    });
    let mut graphql = Router::new()
        .route(
            "/graphql",
            get(graphql_get)
                .post(graphql_post)
                .fallback(graphql_other_method),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::new(server.client_keys.clone()),
            auth::require_key,
        ))
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes));
    if let Some(vary) = vary {
        graphql = graphql.layer(SetResponseHeaderLayer::appending(header::VARY, vary));
    }
    let mut router = Router::new()
        .merge(graphql)
        .merge(graphiql::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(Arc::new(state));
    if server.compression {
        router = router.layer(CompressionLayer::new());
    }
    if let Some(cors) = cors {
        router = router.layer(cors);
    }
    router
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(axum::middleware::from_fn(drop_unusable_request_id))
}

/// The request headers an answer of `/graphql` depends on besides the
/// query: the client API key, and the pass-through credential of each
/// instance that takes one. Sent in `Vary`, so that a shared HTTP cache
/// never hands one client's answer to another.
fn vary(upstreams: &Upstreams, keyed: bool) -> Option<HeaderValue> {
    let mut names: Vec<String> = Vec::new();
    if keyed {
        names.extend(["authorization".to_owned(), "x-api-key".to_owned()]);
    }
    names.extend(
        upstreams
            .iter()
            .filter(|c| c.settings().pass_through)
            .map(|c| crate::request::credential_header(c.name())),
    );
    (!names.is_empty())
        .then(|| HeaderValue::from_str(&names.join(", ")).ok())
        .flatten()
}

/// Removes a client-supplied `x-request-id` that is too long or has
/// characters beyond a safe set, so that a generated one replaces it: the
/// id is echoed, logged and sent to every upstream.
async fn drop_unusable_request_id(
    mut request: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> Response {
    let usable = |value: &HeaderValue| {
        let bytes = value.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_LEN
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(b))
    };
    if let Some(value) = request.headers().get("x-request-id") {
        if !usable(value) {
            tracing::debug!(
                length = value.len(),
                "replacing an unusable client request id"
            );
            request.headers_mut().remove("x-request-id");
        }
    }
    next.run(request).await
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when at least one upstream instance is not failing fast (or none
/// is configured).
async fn readyz(State(state): State<Arc<HttpState>>) -> Response {
    let total = state.upstreams.iter().count();
    let open = state
        .upstreams
        .iter()
        .filter(|c| c.breaker_state() == BreakerState::Open)
        .count();
    if total > 0 && open == total {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "every upstream is unavailable (circuits open)\n",
        )
            .into_response()
    } else {
        (
            StatusCode::OK,
            format!("ready ({} of {total} upstreams available)\n", total - open),
        )
            .into_response()
    }
}

async fn metrics(State(state): State<Arc<HttpState>>) -> Response {
    let (entries, bytes) = state.responses.size();
    state.metrics.response_cache_size(entries, bytes);
    if let Some(loaders) = &state.loaders {
        for store in loaders.stores() {
            let (entries, bytes) = store.cache().map_or((0, 0), |cache| {
                cache.run_pending_tasks();
                (cache.entry_count(), cache.weighted_size())
            });
            let circuit = match store.instance().breaker_state() {
                BreakerState::Closed => 0,
                BreakerState::HalfOpen => 1,
                BreakerState::Open => 2,
            };
            state
                .metrics
                .upstream_state(store.instance().name(), entries, bytes, circuit);
        }
    }
    if let Some(catalog) = &state.catalog {
        for (name, s) in catalog.statuses() {
            let last = s
                .last_full_pass_at
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            state.metrics.catalog_sync(
                &name,
                s.offers_indexed,
                s.requests,
                s.errors,
                s.full_passes,
                last,
            );
        }
        match (catalog.product_count().await, catalog.size_bytes().await) {
            (Ok(products), Ok(bytes)) => state.metrics.catalog_index(products, bytes),
            (Err(err), _) | (_, Err(err)) => {
                tracing::warn!(cause = %err, "catalog index metrics unavailable");
            }
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// The context of the GraphQL requests of one HTTP request (its id, the
/// client's pass-through credentials), and who may keep their answers.
fn request_context(
    state: &HttpState,
    headers: &HeaderMap,
) -> (crate::request::RequestContext, graphql::Audience) {
    // Clients' own credentials for pass-through instances.
    let credentials: std::collections::HashMap<_, _> = state
        .upstreams
        .iter()
        .filter(|c| c.settings().pass_through)
        .filter_map(|c| {
            let value = headers.get(crate::request::credential_header(c.name()))?;
            let value = value.to_str().ok()?.trim();
            (!value.is_empty()).then(|| (c.name().clone(), crate::secret::Secret::new(value)))
        })
        .collect();
    let audience = if state.keyed || !credentials.is_empty() {
        graphql::Audience::Private
    } else {
        graphql::Audience::Public
    };
    let context =
        crate::request::RequestContext::new(request_id(headers)).with_credentials(credentials);
    (context, audience)
}

/// Runs one GraphQL request until `deadline`, the end of its HTTP
/// request's `request_timeout`. Every upstream wait ends at its instance's
/// deadline, which the configuration keeps below the request timeout:
/// this is a backstop.
async fn execute_until(
    state: &HttpState,
    method: &Method,
    media: graphql::Media,
    params: graphql::Params,
    audience: graphql::Audience,
    deadline: tokio::time::Instant,
) -> graphql::Executed {
    let operation = params.operation_name.clone();
    let execution = graphql::execute(
        &state.schemas,
        &state.limits,
        &state.persisted,
        &state.documents,
        &state.responses,
        method,
        media,
        params,
        audience,
    );
    match tokio::time::timeout_at(deadline, execution).await {
        Ok(executed) => executed,
        Err(_) => {
            let refusal = graphql::Refusal::new(
                crate::error::ErrorCode::RequestTimeout,
                format!(
                    "the request took longer than the request_timeout limit of {}",
                    humantime::format_duration(state.limits.request_timeout)
                ),
            );
            graphql::Executed::refused(refusal, media, operation)
        }
    }
}

/// Records a finished GraphQL request in the metrics and its log line;
/// `batch` is its place in a batch and the batch's size.
fn record(
    state: &HttpState,
    context: &crate::request::RequestContext,
    executed: &graphql::Executed,
    elapsed: Duration,
    batch: Option<(usize, usize)>,
) {
    let operation = executed.operation.as_deref();
    state.metrics.request(operation, executed.outcome, elapsed);
    let status = match batch {
        Some(_) => StatusCode::OK,
        None => executed.status(),
    };
    let (batch_index, batch_size) = batch.unzip();
    tracing::info!(
        request_id = context.id(),
        operation = operation.unwrap_or("-"),
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        upstream_calls = context.calls(),
        errors = executed.errors,
        outcome = executed.outcome,
        status = status.as_u16(),
        batch_index,
        batch_size,
        "graphql request"
    );
}

/// Runs a GraphQL request as part of its HTTP request: the request id goes
/// to upstream calls, and one log line and the metrics record it.
async fn run(
    state: &HttpState,
    method: &Method,
    headers: &HeaderMap,
    media: graphql::Media,
    params: graphql::Params,
) -> Response {
    let (context, audience) = request_context(state, headers);
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + state.limits.request_timeout;
    let executed = context
        .clone()
        .scope(execute_until(
            state, method, media, params, audience, deadline,
        ))
        .await;
    record(state, &context, &executed, started.elapsed(), None);
    executed.response(media)
}

/// Runs the requests of a batch concurrently, each through every stage
/// of a single request (its own limits, persisted query, validation),
/// within the one `request_timeout` of their HTTP request; answers the
/// array of their responses in order. They share the request's id,
/// credentials and upstream call count (and the loaders coalesce their
/// lookups); each writes its own log line and metrics.
async fn run_batch(
    state: &HttpState,
    method: &Method,
    headers: &HeaderMap,
    media: graphql::Media,
    batch: Vec<Result<graphql::Params, graphql::Refusal>>,
) -> Response {
    let (context, audience) = request_context(state, headers);
    let deadline = tokio::time::Instant::now() + state.limits.request_timeout;
    let size = batch.len();
    let requests = batch.into_iter().map(|params| async move {
        let started = Instant::now();
        let executed = match params {
            Ok(params) => execute_until(state, method, media, params, audience, deadline).await,
            Err(refusal) => graphql::Executed::refused(refusal, media, None),
        };
        (executed, started.elapsed())
    });
    let answers = context
        .clone()
        .scope(futures::future::join_all(requests))
        .await;
    for (index, (executed, elapsed)) in answers.iter().enumerate() {
        record(state, &context, executed, *elapsed, Some((index, size)));
    }
    graphql::batch_response(media, answers.into_iter().map(|(e, _)| e).collect())
}

async fn graphql_post(
    State(state): State<Arc<HttpState>>,
    method: Method,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let media = match graphql::accept(&headers) {
        Ok(media) => media,
        Err(refusal) => return refusal.response(graphql::Media::Json),
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let refusal = graphql::Refusal::new(
                crate::error::ErrorCode::PayloadTooLarge,
                format!(
                    "the request body is larger than the max_body_bytes limit of {}",
                    state.limits.max_body_bytes
                ),
            );
            return refusal.response(media);
        }
        Err(rejection) => {
            let refusal = graphql::Refusal::new(
                crate::error::ErrorCode::BadRequest,
                format!("the request body cannot be read: {}", rejection.body_text()),
            );
            return refusal.response(media);
        }
    };
    match graphql::body_from_post(&headers, &body, state.limits.max_batch_size) {
        Ok(graphql::PostBody::Single(params)) => {
            run(&state, &method, &headers, media, params).await
        }
        Ok(graphql::PostBody::Batch(batch)) => {
            run_batch(&state, &method, &headers, media, batch).await
        }
        Err(refusal) => refusal.response(media),
    }
}

/// `/graphql` with a method other than GET and POST.
async fn graphql_other_method(method: Method, headers: HeaderMap) -> Response {
    graphql::Refusal::new(
        crate::error::ErrorCode::MethodNotAllowed,
        format!("{method} is not accepted: send GraphQL requests with POST or GET"),
    )
    .allowing("GET, POST")
    .response(graphql::error_media(&headers))
}

async fn graphql_get(
    State(state): State<Arc<HttpState>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match graphql::params_from_get(query.as_deref()) {
        Ok(params) => params,
        Err(refusal) => return refusal.response(graphql::error_media(&headers)),
    };
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && params.query.is_none() {
        return graphiql::page(query.as_deref());
    }
    let media = match graphql::accept(&headers) {
        Ok(media) => media,
        Err(refusal) => return refusal.response(graphql::Media::Json),
    };
    run(&state, &method, &headers, media, params).await
}

/// Serves `app` on `listener` until `shutdown` completes, then stops
/// accepting and gives in-flight requests `grace` to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_grace(listener, app, shutdown, DEFAULT_SHUTDOWN_GRACE).await
}

/// Like [`serve`], with an explicit grace period.
pub async fn serve_with_grace(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = stopping_tx.send(());
    };
    let server = axum::serve(listener, app).with_graceful_shutdown(signal);
    let deadline = async move {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server.into_future() => result,
        () = deadline => {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "shutdown grace period over; closing remaining connections");
            Ok(())
        }
    }
}

/// Completes on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(cause = %err, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(cause = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
    // Give a moment for the log line to flush before connections close.
    tokio::time::sleep(Duration::from_millis(10)).await;
}
