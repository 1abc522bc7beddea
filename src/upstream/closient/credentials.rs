//! A Closient-style instance's credentials: its API key, and the
//! `credentials` table of the configuration that says where the key is (an
//! environment variable or a file, never the configuration itself).

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::InvalidSetting;
use crate::secret::{Secret, SecretSource};

/// The credentials of a Closient instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The API key, sent as `X-API-Key`.
    pub api_key: Secret,
}

impl Credentials {
    /// A stable identity for cache keys; never the secret.
    pub fn fingerprint(&self) -> u64 {
        self.api_key.fingerprint()
    }
}

/// `[upstreams.<name>.credentials]` of kind `closient`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CredentialsConfig {
    /// The environment variable holding the API key (sent as `X-API-Key`).
    pub api_key_env: Option<String>,
    /// The file holding the API key (instead of `api_key_env`).
    pub api_key_file: Option<PathBuf>,
}

impl CredentialsConfig {
    /// Reads the API key; `key` is the table's path, for messages.
    pub fn resolve(
        &self,
        key: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<crate::upstream::Credentials, InvalidSetting> {
        let source = SecretSource {
            env: self.api_key_env.clone(),
            file: self.api_key_file.clone(),
        };
        Ok(crate::upstream::Credentials::Closient(Credentials {
            api_key: source.read(key, "api_key", env)?,
        }))
    }
}
