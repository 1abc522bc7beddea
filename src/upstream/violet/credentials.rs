//! The `credentials` table of a Violet-style instance: the app id and
//! secret, and the user login exchanged for a token (secrets from
//! environment variables or files, never the configuration).

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::InvalidSetting;
use crate::secret::SecretSource;
use crate::upstream::Credentials;

/// `[upstreams.<name>.credentials]` of kind `violet`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CredentialsConfig {
    /// The app id (`X-Violet-App-Id`).
    pub app_id: Option<i64>,
    /// The environment variable holding the app secret (`X-Violet-App-Secret`).
    pub app_secret_env: Option<String>,
    /// The file holding the app secret (instead of `app_secret_env`).
    pub app_secret_file: Option<PathBuf>,
    /// The user name of `POST /v1/login`.
    pub username: Option<String>,
    /// The environment variable holding the user's password.
    pub password_env: Option<String>,
    /// The file holding the user's password (instead of `password_env`).
    pub password_file: Option<PathBuf>,
}

impl CredentialsConfig {
    /// Reads the app secret and the login; `key` is the table's path.
    pub fn resolve(
        &self,
        key: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Credentials, InvalidSetting> {
        let app_id = self
            .app_id
            .ok_or_else(|| InvalidSetting::new(format!("{key}.app_id"), "required"))?;
        let username = self
            .username
            .clone()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| InvalidSetting::new(format!("{key}.username"), "required"))?;
        let app_secret = SecretSource {
            env: self.app_secret_env.clone(),
            file: self.app_secret_file.clone(),
        };
        let password = SecretSource {
            env: self.password_env.clone(),
            file: self.password_file.clone(),
        };
        Ok(Credentials::Violet {
            app_id,
            app_secret: app_secret.read(key, "app_secret", env)?,
            username,
            password: password.read(key, "password", env)?,
        })
    }
}
