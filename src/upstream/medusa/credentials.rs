//! A Medusa-style instance's credentials, a ready JWT or an admin login
//! exchanged for one, and the `credentials` table of the configuration
//! that says where their secrets are (environment variables or files,
//! never the configuration itself).

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::InvalidSetting;
use crate::secret::{Secret, SecretSource};

/// How the gateway authenticates to a Medusa instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// A ready JWT, sent as `Authorization: Bearer`.
    Token(Secret),
    /// Email and password, exchanged for a JWT at `POST /auth/user/emailpass`.
    EmailPassword {
        /// The admin user's email.
        email: String,
        /// The admin user's password.
        password: Secret,
    },
}

impl Credentials {
    /// A stable identity for cache keys; never the secret.
    pub fn fingerprint(&self) -> u64 {
        match self {
            Credentials::Token(token) => token.fingerprint(),
            Credentials::EmailPassword { email, password } => {
                Secret::new(format!("{email}\u{0}{}", password.expose())).fingerprint()
            }
        }
    }
}

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
    ) -> Result<crate::upstream::Credentials, InvalidSetting> {
        let token = SecretSource {
            env: self.token_env.clone(),
            file: self.token_file.clone(),
        };
        let password = SecretSource {
            env: self.password_env.clone(),
            file: self.password_file.clone(),
        };
        let auth = match (token.is_set(), &self.username) {
            (true, None) if !password.is_set() => Credentials::Token(token.read(key, "token", env)?),
            (false, Some(email)) if !email.is_empty() => Credentials::EmailPassword {
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
        Ok(crate::upstream::Credentials::Medusa(auth))
    }
}
