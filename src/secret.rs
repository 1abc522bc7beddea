//! Secrets: credentials that must never reach a client, a log or a metric.

use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

/// A credential value. `Debug` and `Display` print `[redacted]`; the value
/// is read only where it is put into an upstream request.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The credential itself, for building an upstream request.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A stable, non-reversible identity of the credential, for cache keys:
    /// two different credentials get different fingerprints, and the
    /// fingerprint says nothing useful about the secret.
    pub fn fingerprint(&self) -> u64 {
        // SipHash with fixed keys: stable within and across processes.
        let mut hasher = DefaultHasher::new();
        "offer-gateway-credential".hash(&mut hasher);
        self.0.hash(&mut hasher);
        hasher.finish()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("csb_supersecret");
        assert!(!format!("{s:?} {s}").contains("supersecret"));
    }

    #[test]
    fn fingerprints_tell_credentials_apart() {
        assert_eq!(
            Secret::new("a").fingerprint(),
            Secret::new("a").fingerprint()
        );
        assert_ne!(
            Secret::new("a").fingerprint(),
            Secret::new("b").fingerprint()
        );
    }
}
