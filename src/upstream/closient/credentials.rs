//! The `credentials` table of a Closient-style instance: where its API key
//! is (an environment variable or a file, never the configuration).

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::InvalidSetting;
use crate::secret::SecretSource;
use crate::upstream::Credentials;

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
    ) -> Result<Credentials, InvalidSetting> {
        let source = SecretSource {
            env: self.api_key_env.clone(),
            file: self.api_key_file.clone(),
        };
        Ok(Credentials::Closient {
            api_key: source.read(key, "api_key", env)?,
        })
    }
}
