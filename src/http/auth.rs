//! Client authentication: optional API keys for the gateway's clients.
//!
//! The configuration holds only the keys' SHA-256 hashes
//! (`offer-gateway hash-key` prints one). A client sends its key as
//! `Authorization: Bearer <key>` or `X-Api-Key: <key>`; a request without
//! a known key is refused with `401` and a GraphQL-shaped error whose code
//! is `UNAUTHENTICATED`. Health, readiness and metrics stay open.

use crate::error::ErrorCode;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};

/// The accepted keys, by SHA-256 hash; read from the configuration as a
/// list of hex hashes.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "Vec<String>")]
pub struct ClientKeys {
    hashes: Vec<[u8; 32]>,
}

impl TryFrom<Vec<String>> for ClientKeys {
    type Error = String;

    fn try_from(hashes: Vec<String>) -> Result<Self, String> {
        ClientKeys::from_hashes(&hashes)
    }
}

impl ClientKeys {
    /// Keys from lower-case or upper-case hex SHA-256 hashes.
    pub fn from_hashes(hashes: &[String]) -> Result<Self, String> {
        let hashes = hashes
            .iter()
            .map(|h| {
                let bytes = hex::decode(h.trim()).map_err(|_| format!("{h:?} is not hex"))?;
                <[u8; 32]>::try_from(bytes.as_slice())
                    .map_err(|_| format!("{h:?} is not a SHA-256 hash (64 hex digits)"))
            })
            .collect::<Result<_, _>>()?;
        Ok(ClientKeys { hashes })
    }

    /// Whether any key is configured (authentication is on).
    pub fn enabled(&self) -> bool {
        !self.hashes.is_empty()
    }

    /// Whether `key` is one of the configured keys.
    pub fn accepts(&self, key: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        // Compare every hash, whatever matches first.
        self.hashes
            .iter()
            .fold(false, |found, hash| found | constant_time_eq(hash, &digest))
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The hex SHA-256 of a key, as the configuration stores it.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The middleware: refuses requests without a configured key.
pub(crate) async fn require_key(
    State(keys): State<std::sync::Arc<ClientKeys>>,
    request: Request,
    next: Next,
) -> Response {
    if !keys.enabled() {
        return next.run(request).await;
    }
    let headers = request.headers();
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()));
    match key {
        Some(key) if keys.accepts(key.trim()) => next.run(request).await,
        found => {
            let message = if found.is_some() {
                "the API key is not valid"
            } else {
                "an API key is required: send `Authorization: Bearer <key>`"
            };
            let media = crate::http::graphql::error_media(request.headers());
            let mut response =
                crate::http::graphql::Refusal::new(ErrorCode::Unauthenticated, message)
                    .response(media);
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_by_hash() {
        let keys = ClientKeys::from_hashes(&[hash_key("k-123"), hash_key("k-456").to_uppercase()])
            .unwrap();
        assert!(keys.enabled());
        assert!(keys.accepts("k-123") && keys.accepts("k-456"));
        assert!(!keys.accepts("k-789") && !keys.accepts(""));
        assert!(!ClientKeys::default().enabled());
        assert!(ClientKeys::from_hashes(&["abc".into()]).is_err());
        assert!(ClientKeys::from_hashes(&["zz".repeat(32)]).is_err());
    }
}
