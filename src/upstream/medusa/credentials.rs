//! The `credentials` table of a Medusa-style instance: a ready JWT, or an
//! admin login exchanged for one (secrets from environment variables or
//! files, never the configuration).

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::InvalidSetting;
use crate::secret::SecretSource;
use crate::upstream::{Credentials, MedusaAuth};

/// `[upstreams.<name>.credentials]` of kind `medusa`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CredentialsConfig {
    /// The environment variable holding a ready JWT.
    pub token_env: Option<String>,
    /// The file holding a ready JWT (instead of `token_env`).
    pub token_file: Option<PathBuf>,
    /// The admin user's email, exchanged with the password for a JWT at
    /// `POST /auth/user/emailpass`.
    pub username: Option<String>,
    /// The environment variable holding the admin password.
    pub password_env: Option<String>,
    /// The file holding the admin password (instead of `password_env`).
    pub password_file: Option<PathBuf>,
}

impl CredentialsConfig {
    /// Reads the token or the login; `key` is the table's path.
    pub fn resolve(
        &self,
        key: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Credentials, InvalidSetting> {
        let token = SecretSource {
            env: self.token_env.clone(),
            file: self.token_file.clone(),
        };
        let password = SecretSource {
            env: self.password_env.clone(),
            file: self.password_file.clone(),
        };
        let auth = match (token.is_set(), &self.username) {
            (true, None) if !password.is_set() => MedusaAuth::Token(token.read(key, "token", env)?),
            (false, Some(email)) if !email.is_empty() => MedusaAuth::EmailPassword {
                email: email.clone(),
                password: password.read(key, "password", env)?,
            },
            _ => {
                return Err(InvalidSetting::new(
                    key,
                    "give either token_env (or token_file), or username and password_env (or password_file)",
                ))
            }
        };
        Ok(Credentials::Medusa(auth))
    }
}
