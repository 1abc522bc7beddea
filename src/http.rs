//! The HTTP surface: routes, layers and the server loop.
//!
//! - `POST /graphql`: a GraphQL request as JSON.
//! - `GET /graphql?query=...`: the same over GET; a browser (asking for
//!   HTML, with no `query`) gets GraphiQL instead.
//! - `GET /healthz`: the process is alive.

use std::future::Future;
use std::time::Duration;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::schema::{scope, GatewaySchema};

/// Largest request body accepted.
pub const MAX_REQUEST_BODY_BYTES: usize = 256 * 1024;

/// The gateway's routes over a built schema.
pub fn app(schema: GatewaySchema) -> Router {
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(healthz))
        .layer(RequestBodyLimitLayer::new(MAX_REQUEST_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(schema)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn graphql_post(
    State(schema): State<GatewaySchema>,
    request: GraphQLRequest,
) -> GraphQLResponse {
    scope::execute(&schema, request.into_inner()).await.into()
}

#[derive(serde::Deserialize)]
struct QueryParam {
    query: Option<String>,
}

async fn graphql_get(
    State(schema): State<GatewaySchema>,
    headers: HeaderMap,
    Query(param): Query<QueryParam>,
    request: Result<GraphQLRequest, async_graphql_axum::rejection::GraphQLRejection>,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && param.query.is_none() {
        return Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response();
    }
    match request {
        Ok(request) => GraphQLResponse::from(scope::execute(&schema, request.into_inner()).await)
            .into_response(),
        Err(rejection) => rejection.into_response(),
    }
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
