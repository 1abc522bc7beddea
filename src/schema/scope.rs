//! What one GraphQL request carries besides its query: when it started,
//! for the upstream deadlines, and the warnings its resolvers raise, which
//! are returned in the response's `extensions.warnings`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_graphql::{Context, Value};
use serde_json::json;

use crate::schema::validation::ValidationRun;
use crate::schema::{ordering, GatewaySchema};

/// The scope of one request.
pub(crate) struct RequestScope {
    started: Instant,
    warnings: Mutex<Vec<serde_json::Value>>,
}

impl RequestScope {
    /// A scope starting now.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(RequestScope {
            started: Instant::now(),
            warnings: Mutex::new(Vec::new()),
        })
    }

    /// The instant `after` from the start of the request.
    pub(crate) fn deadline(&self, after: Duration) -> Instant {
        self.started + after
    }

    /// Records that the field at `ctx`'s path (item `index` of it, for a
    /// list answered in one resolver) was answered from the cache because
    /// `upstream` failed, with the answer's age.
    pub(crate) fn warn_stale(
        &self,
        ctx: &Context<'_>,
        index: Option<usize>,
        upstream: &str,
        age: Duration,
    ) {
        let mut path: Vec<serde_json::Value> = ctx
            .path_node
            .as_ref()
            .map(|node| node.to_string_vec())
            .unwrap_or_default()
            .into_iter()
            .map(|segment| match segment.parse::<u64>() {
                // Names cannot start with a digit: this is a list index.
                Ok(index) => json!(index),
                Err(_) => json!(segment),
            })
            .collect();
        path.extend(index.map(|i| json!(i)));
        self.warnings
            .lock()
            .expect("warnings lock poisoned")
            .push(json!({
                "code": "STALE_DATA",
                "message": format!(
                    "upstream `{upstream}` failed; this field was answered from the cache, {}s old",
                    age.as_secs()
                ),
                "path": path,
                "upstream": upstream,
                "ageSeconds": age.as_secs(),
            }));
    }

    fn attach(&self, response: &mut async_graphql::Response) {
        let warnings = std::mem::take(&mut *self.warnings.lock().expect("warnings lock poisoned"));
        if !warnings.is_empty() {
            let value = Value::from_json(serde_json::Value::Array(warnings))
                .expect("warnings are plain JSON");
            response.extensions.insert("warnings".to_owned(), value);
        }
    }
}

/// Executes `request` over the document `prepared` with a fresh
/// [`RequestScope`]: the one way requests are run, so that deadlines and
/// warnings apply and the answer is in query order (see `ordering`).
pub(crate) async fn execute(
    schema: &GatewaySchema,
    mut request: async_graphql::Request,
    prepared: &ordering::Prepared,
) -> async_graphql::Response {
    let scope = RequestScope::new();
    request.set_parsed_query(prepared.to_execute().clone());
    let operation = request.operation_name.clone();
    let mut response = schema.execute(request.data(scope.clone())).await;
    if let Some(types) = ordering::index(|| schema.sdl()) {
        ordering::restore(
            &mut response.data,
            &prepared.original,
            operation.as_deref(),
            types,
        );
    }
    scope.attach(&mut response);
    response
}

/// Validates the document `prepared` over the strict `schema` (every rule
/// of the specification, no variable values) without executing it: the
/// check a document passes once before the trusted schema runs it. The
/// errors are async-graphql's, as it would have answered them.
pub(crate) async fn validate(
    schema: &GatewaySchema,
    prepared: &ordering::Prepared,
    operation: Option<&str>,
) -> Result<(), Vec<async_graphql::ServerError>> {
    let mut request = async_graphql::Request::new(String::new()).data(ValidationRun);
    request.set_parsed_query(prepared.to_execute().clone());
    if let Some(name) = operation {
        request = request.operation_name(name);
    }
    let response = schema.execute(request).await;
    match response.errors.is_empty() {
        true => Ok(()),
        false => Err(response.errors),
    }
}

/// Prepares `document` for [`execute`] over `schema`.
pub(crate) fn prepare(
    schema: &GatewaySchema,
    document: async_graphql::parser::types::ExecutableDocument,
) -> ordering::Prepared {
    ordering::prepare(document, ordering::index(|| schema.sdl()))
}

/// The request's scope, or a scope starting now for callers that run the
/// schema directly.
pub(crate) fn of(ctx: &Context<'_>) -> Arc<RequestScope> {
    ctx.data_opt::<Arc<RequestScope>>()
        .cloned()
        .unwrap_or_else(RequestScope::new)
}
