//! A Violet-style instance's credentials, the app id and secret and the
//! user login exchanged for a token, and the `credentials` table of the
//! configuration that says where their secrets are (environment variables
//! or files, never the configuration itself).

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::InvalidSetting;
use crate::secret::{Secret, SecretSource};

/// The credentials of a Violet instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// `X-Violet-App-Id`.
    pub app_id: i64,
    /// `X-Violet-App-Secret`.
    pub app_secret: Secret,
    /// Login user name.
    pub username: String,
    /// Login password.
    pub password: Secret,
}

impl Credentials {
    /// A stable identity for cache keys; never the secret.
    pub fn fingerprint(&self) -> u64 {
        Secret::new(format!(
            "{}\u{0}{}\u{0}{}\u{0}{}",
            self.app_id,
            self.app_secret.expose(),
            self.username,
            self.password.expose()
        ))
        .fingerprint()
    }
}

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
    ) -> Result<crate::upstream::Credentials, InvalidSetting> {
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
        Ok(crate::upstream::Credentials::Violet(Credentials {
            app_id,
            app_secret: app_secret.read(key, "app_secret", env)?,
            username,
            password: password.read(key, "password", env)?,
        }))
    }
}
