//! The shared HTTP client every connector sends through: one pooled
//! `reqwest::Client` for the process, connect and request timeouts, and the
//! mapping of transport failures and status classes to [`UpstreamError`].

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::UpstreamError;

/// Default time allowed to open a TCP (and TLS) connection.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest upstream body the gateway reads (protects memory from a broken upstream).
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A pooled HTTP client shared by all upstream instances.
#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: reqwest::Client,
    metrics: Option<std::sync::Arc<crate::metrics::Metrics>>,
}

impl HttpClient {
    /// Builds the process-wide client.
    pub fn new(connect_timeout: Duration) -> Self {
        let inner = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .user_agent(concat!("offer-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the TLS backend is compiled in, so the client always builds");
        HttpClient {
            inner,
            metrics: None,
        }
    }

    /// The same client, recording its calls in `metrics`.
    pub fn with_metrics(mut self, metrics: std::sync::Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Where calls are recorded, if anywhere.
    pub fn metrics(&self) -> Option<&std::sync::Arc<crate::metrics::Metrics>> {
        self.metrics.as_ref()
    }

    /// The underlying reqwest client, for building requests.
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.inner
    }

    /// Sends a request with a whole-request `timeout` and reads the body.
    /// Transport failures become [`UpstreamError::Timeout`] or
    /// [`UpstreamError::Connect`]; every status is returned as is, for the
    /// connector to interpret with its own error bodies.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<RawResponse, UpstreamError> {
        let response = request
            .timeout(timeout)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY_BYTES as u64)
        {
            return Err(UpstreamError::BadResponse(format!(
                "body of {} bytes exceeds the {MAX_BODY_BYTES} byte limit",
                response.content_length().unwrap_or_default()
            )));
        }
        let body = read_body(response).await?;
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }
}

async fn read_body(mut response: reqwest::Response) -> Result<Bytes, UpstreamError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(UpstreamError::BadResponse(format!(
                "body exceeds the {MAX_BODY_BYTES} byte limit"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

fn transport_error(err: reqwest::Error) -> UpstreamError {
    if err.is_timeout() {
        UpstreamError::Timeout
    } else if err.is_decode() || err.is_body() {
        // The connection broke while the body was read: a truncated answer.
        UpstreamError::BadResponse(format!("incomplete body: {}", without_url(&err)))
    } else {
        UpstreamError::Connect(without_url(&err))
    }
}

/// The error's text without the URL (URLs may carry ids or secrets in query strings).
fn without_url(err: &reqwest::Error) -> String {
    let mut text = error_kind(err).to_owned();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn error_kind(err: &reqwest::Error) -> &'static str {
    if err.is_connect() {
        "connect error"
    } else if err.is_body() {
        "body error"
    } else if err.is_decode() {
        "decode error"
    } else if err.is_redirect() {
        "redirect error"
    } else if err.is_request() {
        "request error"
    } else {
        "http error"
    }
}

/// A whole upstream answer: status, headers and body bytes.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The complete body.
    pub body: Bytes,
}

impl RawResponse {
    /// Decodes the body as the wire type `T`. A mismatch is a
    /// [`UpstreamError::BadResponse`] naming where decoding stopped, never
    /// quoting the body.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, UpstreamError> {
        serde_json::from_slice(&self.body).map_err(|err| {
            UpstreamError::BadResponse(format!(
                "HTTP {} body does not match the expected shape: {err}",
                self.status.as_u16()
            ))
        })
    }

    /// The `Retry-After` header in seconds, if present and numeric.
    pub fn retry_after(&self) -> Option<Duration> {
        self.headers
            .get(reqwest::header::RETRY_AFTER)?
            .to_str()
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()
            .map(Duration::from_secs)
    }

    /// Maps the statuses every style treats alike (429, 5xx) to errors;
    /// `None` for the statuses the connector must interpret itself.
    pub fn common_failure(&self) -> Option<UpstreamError> {
        match self.status.as_u16() {
            429 => Some(UpstreamError::RateLimited {
                retry_after: self.retry_after(),
            }),
            status @ 500..=599 => Some(UpstreamError::Server { status }),
            _ => None,
        }
    }
}
