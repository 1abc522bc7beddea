//! The HTTP surface: routes, layers and the server loop.
//!
//! - `POST /graphql`: a GraphQL request as JSON, and `GET /graphql?query=`,
//!   by the GraphQL-over-HTTP specification ([`graphql`]); a browser
//!   (asking for HTML, with no `query`) gets GraphiQL instead.
//! - `GET /healthz`: the process is alive.
//!
//! Layers: request body limit, whole-request timeout, tracing.

pub mod graphql;

use std::future::Future;
use std::time::Duration;

use async_graphql::http::GraphiQLSource;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, Method};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::limits::Limits;
use crate::schema::GatewaySchema;

/// What the handlers share.
#[derive(Clone)]
struct HttpState {
    schema: GatewaySchema,
    limits: std::sync::Arc<Limits>,
}

/// The gateway's routes over a built schema, with the default limits.
pub fn app(schema: GatewaySchema) -> Router {
    app_with(schema, &Limits::default())
}

/// The gateway's routes over a built schema, with `limits` (the same the
/// schema was built with).
pub fn app_with(schema: GatewaySchema, limits: &Limits) -> Router {
    let state = HttpState {
        schema,
        limits: std::sync::Arc::new(limits.clone()),
    };
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(healthz))
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn graphql_post(
    State(state): State<HttpState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let media = match graphql::accept(&headers) {
        Ok(media) => media,
        Err(refusal) => return refusal.into_response(),
    };
    match graphql::params_from_post(&headers, &body) {
        Ok(params) => graphql::execute(&state.schema, &state.limits, &method, media, params).await,
        Err(refusal) => refusal.into_response(),
    }
}

async fn graphql_get(
    State(state): State<HttpState>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match graphql::params_from_get(query.as_deref()) {
        Ok(params) => params,
        Err(refusal) => return refusal.into_response(),
    };
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && params.query.is_none() {
        return Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response();
    }
    let media = match graphql::accept(&headers) {
        Ok(media) => media,
        Err(refusal) => return refusal.into_response(),
    };
    graphql::execute(&state.schema, &state.limits, &method, media, params).await
}

/// Serves `app` on `listener` until `shutdown` completes, then lets
/// in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
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
