//! Errors, and the one place where they become GraphQL errors.
//!
//! Connectors return [`UpstreamError`], which may carry detail for the logs
//! (status codes, parse errors). Resolvers turn every failure into a
//! [`GatewayError`] and from there into an `async_graphql::Error` with
//! `extensions.code` (an [`ErrorCode`]) and `extensions.upstream`. The
//! client-facing message never contains upstream URLs, bodies or secrets.

use std::sync::Arc;
use std::time::Duration;

use crate::pricing::PriceError;

/// The closed set of error codes a client can see in `extensions.code`,
/// at every stage of a request: the HTTP refusals, parsing, validation,
/// the limits, persisted queries, and the fields' own errors. The README's
/// error table lists exactly these (a test compares them).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    strum::EnumIter,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The request is malformed (not JSON, no `query`, a parameter of the wrong type).
    BadRequest,
    /// The document is not valid GraphQL syntax.
    GraphqlParseFailed,
    /// The document does not validate against the schema.
    GraphqlValidationFailed,
    /// `operationName` names no operation of the document, or a document
    /// with several operations came without one.
    OperationNotFound,
    /// The HTTP method is not accepted (`PUT`, `DELETE`, a mutation over `GET`).
    MethodNotAllowed,
    /// The request body is larger than `max_body_bytes`.
    PayloadTooLarge,
    /// The request body is not `application/json`.
    UnsupportedMediaType,
    /// The client accepts neither JSON media type.
    NotAcceptable,
    /// The client API key is missing or wrong.
    Unauthenticated,
    /// The whole request took longer than `request_timeout`.
    RequestTimeout,
    /// The thing asked for does not exist (or is not visible to the gateway's credentials).
    NotFound,
    /// An argument is malformed: fix the request.
    BadUserInput,
    /// The upstream did not answer in time.
    UpstreamTimeout,
    /// The upstream could not be reached or failed (connection error, 5xx, circuit open).
    UpstreamUnavailable,
    /// The upstream refused the gateway's credentials (401/403).
    UpstreamUnauthorized,
    /// The upstream kept answering 429.
    UpstreamRateLimited,
    /// The upstream answered something that does not match its API.
    UpstreamBadResponse,
    /// No exchange rate is known between two currencies.
    ConversionUnavailable,
    /// The query breaks one of the endpoint's limits (depth, complexity, ...).
    LimitExceeded,
    /// A hash-only persisted query the gateway does not know: send the query with it.
    PersistedQueryNotFound,
    /// Allow-list mode: the query is not in the manifest.
    PersistedQueryNotAllowed,
    /// The query does not hash to the persisted-query hash sent with it.
    PersistedQueryHashMismatch,
    /// Persisted queries are off, or the extension is malformed.
    PersistedQueryNotSupported,
    /// A bug or unexpected state in the gateway.
    Internal,
}

impl ErrorCode {
    /// The SCREAMING_SNAKE_CASE name used in `extensions.code`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The HTTP status of an answer refused with this code before any
    /// field ran. Under `application/json`, GraphQL-level refusals (parse,
    /// validation, limits, persisted queries) are `200` instead, as the
    /// GraphQL-over-HTTP specification asks of that legacy media type.
    pub fn status(self) -> axum::http::StatusCode {
        use axum::http::StatusCode as S;
        match self {
            ErrorCode::MethodNotAllowed => S::METHOD_NOT_ALLOWED,
            ErrorCode::PayloadTooLarge => S::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => S::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::NotAcceptable => S::NOT_ACCEPTABLE,
            ErrorCode::Unauthenticated => S::UNAUTHORIZED,
            ErrorCode::RequestTimeout => S::GATEWAY_TIMEOUT,
            ErrorCode::Internal => S::INTERNAL_SERVER_ERROR,
            _ => S::BAD_REQUEST,
        }
    }

    /// Whether a refusal with this code is about the HTTP request itself
    /// (its status holds under every media type), rather than about the
    /// GraphQL document.
    pub fn is_http_level(self) -> bool {
        matches!(
            self,
            ErrorCode::BadRequest
                | ErrorCode::MethodNotAllowed
                | ErrorCode::PayloadTooLarge
                | ErrorCode::UnsupportedMediaType
                | ErrorCode::NotAcceptable
                | ErrorCode::Unauthenticated
                | ErrorCode::RequestTimeout
                | ErrorCode::Internal
        )
    }

    /// Every code.
    pub fn all() -> impl Iterator<Item = ErrorCode> {
        <ErrorCode as strum::IntoEnumIterator>::iter()
    }

    /// The code named `name` (as in `extensions.code`).
    pub fn parse(name: &str) -> Option<ErrorCode> {
        name.parse().ok()
    }
}

/// A setting with an invalid value: its key (a path such as
/// `upstreams.mercur.retry.max_attempts`) and what is wrong. Each settings
/// type checks its own values and says so with this.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct InvalidSetting {
    /// The key, e.g. `upstreams.closient.base_url`.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

impl InvalidSetting {
    /// The setting `key` is invalid because of `problem`.
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        InvalidSetting {
            key: key.into(),
            problem: problem.into(),
        }
    }

    /// Fails with `problem` unless `value` is positive.
    pub fn positive<T: PartialOrd + Default>(
        key: impl Into<String>,
        value: T,
    ) -> Result<(), InvalidSetting> {
        if value > T::default() {
            Ok(())
        } else {
            Err(InvalidSetting::new(key, "must be more than zero"))
        }
    }
}

/// A failure talking to one upstream. The detail strings are for logs only.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// No answer within the request timeout.
    #[error("timed out")]
    Timeout,
    /// Connecting or sending failed (refused, reset, DNS, TLS).
    #[error("connection failed: {0}")]
    Connect(String),
    /// The instance's circuit breaker is open: the call was not made.
    #[error("circuit open")]
    CircuitOpen,
    /// The upstream answered a 5xx status.
    #[error("server error: HTTP {status}")]
    Server {
        /// The HTTP status.
        status: u16,
    },
    /// The upstream refused the credentials (401 or 403), or logging in failed.
    #[error("unauthorized: HTTP {status}: {detail}")]
    Unauthorized {
        /// The HTTP status.
        status: u16,
        /// What the upstream said, for the logs.
        detail: String,
    },
    /// The upstream answered 429.
    #[error("rate limited (retry after {retry_after:?})")]
    RateLimited {
        /// The `Retry-After` the upstream asked for.
        retry_after: Option<Duration>,
    },
    /// The upstream refused the request as invalid (400/422): the gateway
    /// sent something the upstream does not accept.
    #[error("request rejected: HTTP {status}: {detail}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// What the upstream said, for the logs.
        detail: String,
    },
    /// The upstream says the thing a listing is scoped to (an organization)
    /// does not exist or is not visible to the gateway's credentials.
    #[error("not found: {0}")]
    NotFound(String),
    /// The body does not match the upstream's wire types, or an unexpected status.
    #[error("bad response: {0}")]
    BadResponse(String),
}

impl From<PriceError> for UpstreamError {
    fn from(err: PriceError) -> Self {
        UpstreamError::BadResponse(format!("invalid price: {err}"))
    }
}

impl UpstreamError {
    /// The client-facing code of this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            UpstreamError::Timeout => ErrorCode::UpstreamTimeout,
            UpstreamError::Connect(_)
            | UpstreamError::Server { .. }
            | UpstreamError::CircuitOpen => ErrorCode::UpstreamUnavailable,
            UpstreamError::Unauthorized { .. } => ErrorCode::UpstreamUnauthorized,
            UpstreamError::RateLimited { .. } => ErrorCode::UpstreamRateLimited,
            UpstreamError::BadResponse(_) => ErrorCode::UpstreamBadResponse,
            UpstreamError::NotFound(_) => ErrorCode::NotFound,
            UpstreamError::Rejected { .. } => ErrorCode::Internal,
        }
    }

    /// A message safe to show a client: what happened, never the upstream's
    /// URL, body or credentials.
    fn public_message(&self, upstream: &str) -> String {
        match self {
            UpstreamError::Timeout => format!("upstream `{upstream}` did not answer in time"),
            UpstreamError::Connect(_) => format!("upstream `{upstream}` could not be reached"),
            UpstreamError::CircuitOpen => format!(
                "upstream `{upstream}` is failing; calls are paused for a moment (circuit open)"
            ),
            UpstreamError::Server { status } => {
                format!("upstream `{upstream}` failed (HTTP {status})")
            }
            UpstreamError::Unauthorized { .. } => {
                format!("upstream `{upstream}` refused the gateway's credentials")
            }
            UpstreamError::RateLimited { .. } => {
                format!("upstream `{upstream}` is rate limiting the gateway")
            }
            UpstreamError::Rejected { .. } => {
                format!("upstream `{upstream}` rejected the gateway's request")
            }
            UpstreamError::BadResponse(_) => {
                format!("upstream `{upstream}` sent a response the gateway cannot read")
            }
            UpstreamError::NotFound(what) => {
                format!("upstream `{upstream}` has no {what} visible to the gateway")
            }
        }
    }
}

/// Any error a resolver reports. Converting it into an `async_graphql::Error`
/// is the single mapping point to the client.
#[derive(Debug, Clone)]
pub struct GatewayError {
    code: ErrorCode,
    message: String,
    upstream: Option<Arc<str>>,
    limit: Option<(&'static str, usize)>,
}

impl GatewayError {
    /// A malformed argument. `argument` names it.
    pub fn bad_input(argument: &str, problem: impl std::fmt::Display) -> Self {
        GatewayError {
            code: ErrorCode::BadUserInput,
            message: format!("invalid argument `{argument}`: {problem}"),
            upstream: None,
            limit: None,
        }
    }

    /// An error with `code` and a client-facing `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        GatewayError {
            code,
            message: message.into(),
            upstream: None,
            limit: None,
        }
    }

    /// An amount that cannot be converted: no rates, or none for the pair.
    pub fn conversion(problem: impl std::fmt::Display) -> Self {
        GatewayError {
            code: ErrorCode::ConversionUnavailable,
            message: problem.to_string(),
            upstream: None,
            limit: None,
        }
    }

    /// A request over one of the endpoint's limits; `name` and `value` go
    /// to `extensions.limit` and `extensions.value`.
    pub fn limit(name: &'static str, value: usize, message: impl Into<String>) -> Self {
        GatewayError {
            code: ErrorCode::LimitExceeded,
            message: message.into(),
            upstream: None,
            limit: Some((name, value)),
        }
    }

    /// A bug or unexpected state; the detail goes to the log only.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(cause = %detail, "internal error");
        GatewayError {
            code: ErrorCode::Internal,
            message: "internal gateway error".to_owned(),
            upstream: None,
            limit: None,
        }
    }

    /// A failure of the upstream instance `upstream`. Logs the detail.
    pub fn upstream(upstream: &Arc<str>, err: &UpstreamError) -> Self {
        tracing::warn!(upstream = %upstream, code = err.code().as_str(), cause = %err, "upstream call failed");
        GatewayError {
            code: err.code(),
            message: err.public_message(upstream),
            upstream: Some(upstream.clone()),
            limit: None,
        }
    }

    /// The error's code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The client-facing message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl GatewayError {
    fn extensions(&self) -> async_graphql::ErrorExtensionValues {
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", self.code.as_str());
        if let Some(upstream) = &self.upstream {
            ext.set("upstream", upstream.as_ref());
        }
        if let Some((name, value)) = self.limit {
            ext.set("limit", name);
            ext.set("value", value as u64);
        }
        ext
    }

    /// The error of a request refused before execution (no field, no
    /// location), with the same extensions as a field error.
    pub fn into_request_error(self) -> async_graphql::ServerError {
        let mut error = async_graphql::ServerError::new(self.message.clone(), None);
        error.extensions = Some(self.extensions());
        error
    }
}

/// The code in an error's `extensions.code`, if it has a known one.
pub fn code_of(error: &async_graphql::ServerError) -> Option<ErrorCode> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(name) => ErrorCode::parse(name),
        _ => None,
    }
}

/// Gives an error raised outside the gateway's own code (async-graphql's
/// parser, validation or coercion) the code `code` in `extensions.code`,
/// unless it has one; its message and locations stay as they are.
pub fn with_code(
    mut error: async_graphql::ServerError,
    code: ErrorCode,
) -> async_graphql::ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code.as_str());
    }
    error
}

impl From<GatewayError> for async_graphql::Error {
    fn from(err: GatewayError) -> Self {
        let mut error = async_graphql::Error::new(err.message.clone());
        error.extensions = Some(err.extensions());
        error
    }
}
