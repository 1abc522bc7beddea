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

/// Where the configuration says a secret is: the environment variable
/// named by `<name>_env`, or the file named by `<name>_file` (never the
/// configuration itself). A style's credentials table holds one per secret,
/// e.g. `api_key_env = "CLOSIENT_API_KEY"`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SecretSource {
    /// The environment variable holding the secret.
    pub env: Option<String>,
    /// The file holding the secret (a trailing newline is dropped).
    pub file: Option<std::path::PathBuf>,
}

impl SecretSource {
    /// Whether the configuration names a source at all.
    pub(crate) fn is_set(&self) -> bool {
        self.env.is_some() || self.file.is_some()
    }

    /// Reads the secret `name` (`api_key`, ...) of the table `key`; `env`
    /// looks environment variables up. Fails, naming the setting, when
    /// both or neither source is given, the variable is unset or the file
    /// unreadable or empty.
    pub(crate) fn read(
        &self,
        key: &str,
        name: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Secret, crate::error::InvalidSetting> {
        use crate::error::InvalidSetting;
        match (&self.env, &self.file) {
            (Some(_), Some(_)) => Err(InvalidSetting::new(
                format!("{key}.{name}_file"),
                format!("give either {name}_env or {name}_file, not both"),
            )),
            (Some(var), None) => match env(var) {
                Some(value) if !value.is_empty() => Ok(Secret::new(value)),
                _ => Err(InvalidSetting::new(
                    format!("{key}.{name}_env"),
                    format!("the environment variable {var} is not set"),
                )),
            },
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|err| {
                    InvalidSetting::new(
                        format!("{key}.{name}_file"),
                        format!("cannot read {}: {err}", path.display()),
                    )
                })?;
                let value = text.trim_end_matches(['\n', '\r']);
                if value.is_empty() {
                    return Err(InvalidSetting::new(
                        format!("{key}.{name}_file"),
                        format!("{} is empty", path.display()),
                    ));
                }
                Ok(Secret::new(value))
            }
            (None, None) => Err(InvalidSetting::new(
                format!("{key}.{name}_env"),
                format!("required (or {name}_file)"),
            )),
        }
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
