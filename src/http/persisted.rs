//! Persisted queries for mobile clients.
//!
//! - Automatic persisted queries (Apollo's protocol): a client sends only
//!   `extensions.persistedQuery.sha256Hash`; if the gateway knows the hash
//!   it runs the query, otherwise it answers `PERSISTED_QUERY_NOT_FOUND`
//!   and the client sends the query with its hash once to register it.
//! - Allow-list mode: only the queries of a manifest file may run, asked
//!   for by hash or in full; anything else is `PERSISTED_QUERY_NOT_ALLOWED`.
//!   The manifest is Apollo's persisted query manifest
//!   (`{"format": "apollo-persisted-query-manifest", "operations": [{"id",
//!   "body", ...}]}`) or a plain `{"<sha256>": "<query>"}` object.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;

use crate::error::ErrorCode;
use crate::shared::Shared;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Default memory bound of the registered automatic persisted queries:
/// the bytes of their text (and hashes).
pub(crate) const DEFAULT_APQ_MAX_BYTES: u64 = 8 * 1024 * 1024;

/// How persisted queries work (`mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Any query may run; hashes are remembered (automatic persisted queries).
    #[default]
    Automatic,
    /// Only the manifest's queries may run.
    AllowList,
    /// Persisted queries are not supported.
    Off,
}

/// The persisted-query settings: the `[persisted_queries]` table of the
/// configuration, every key optional.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersistedQueries {
    /// The mode.
    pub mode: Mode,
    /// With `allow_list`: the manifest file (Apollo's format or `{hash: query}`).
    pub manifest: Option<std::path::PathBuf>,
    /// With `automatic`: bytes of query text (and hashes) remembered at
    /// most; the least used queries are forgotten first.
    pub max_bytes: u64,
    /// `max-age` of successful GET answers of persisted queries; `None`
    /// for the shortest cache TTL of the upstream instances.
    #[serde(with = "humantime_serde")]
    pub max_age: Option<Duration>,
    /// With `allow_list`: the manifest's queries by sha256 (lower-case
    /// hex), as [`PersistedQueries::prepare`] loaded them.
    #[serde(skip)]
    pub allowed: HashMap<String, String>,
}

impl Default for PersistedQueries {
    fn default() -> Self {
        PersistedQueries {
            mode: Mode::Automatic,
            manifest: None,
            max_bytes: DEFAULT_APQ_MAX_BYTES,
            max_age: None,
            allowed: HashMap::new(),
        }
    }
}

impl PersistedQueries {
    /// Allow-list mode with these queries (by sha256).
    pub fn allow_list(allowed: HashMap<String, String>) -> Self {
        PersistedQueries {
            mode: Mode::AllowList,
            allowed,
            ..PersistedQueries::default()
        }
    }

    /// Checks the settings and, in allow-list mode, loads the manifest.
    pub fn prepare(&mut self) -> Result<(), crate::error::InvalidSetting> {
        use crate::error::InvalidSetting;
        match (self.mode, &self.manifest) {
            (Mode::AllowList, Some(path)) => {
                self.allowed = load_manifest(path)
                    .map_err(|why| InvalidSetting::new("persisted_queries.manifest", why))?;
                Ok(())
            }
            (Mode::AllowList, None) => Err(InvalidSetting::new(
                "persisted_queries.manifest",
                "required with mode = \"allow_list\"",
            )),
            (_, Some(_)) => Err(InvalidSetting::new(
                "persisted_queries.manifest",
                "only with mode = \"allow_list\"",
            )),
            (_, None) => InvalidSetting::positive("persisted_queries.max_bytes", self.max_bytes),
        }
    }
}

/// The lower-case hex sha256 of a query.
pub fn sha256_hex(query: &str) -> String {
    hex::encode(Sha256::digest(query.as_bytes()))
}

/// Reads a manifest file into hash -> query; every hash is checked.
pub(crate) fn load_manifest(path: &Path) -> Result<HashMap<String, String>, String> {
    #[derive(Deserialize)]
    struct Operation {
        id: String,
        body: String,
    }
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|err| format!("{}: not JSON: {err}", path.display()))?;
    let pairs: Vec<(String, String)> = match value {
        Value::Object(object) if object.get("format").is_some() => {
            let operations = object
                .get("operations")
                .cloned()
                .ok_or_else(|| format!("{}: no `operations`", path.display()))?;
            serde_json::from_value::<Vec<Operation>>(operations)
                .map_err(|err| format!("{}: {err}", path.display()))?
                .into_iter()
                .map(|op| (op.id, op.body))
                .collect()
        }
        Value::Object(object) => object
            .into_iter()
            .map(|(hash, query)| match query {
                Value::String(query) => Ok((hash, query)),
                _ => Err(format!(
                    "{}: the query of {hash} is not a string",
                    path.display()
                )),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(format!("{}: expected a JSON object", path.display())),
    };
    let mut queries = HashMap::new();
    for (hash, query) in pairs {
        let hash = hash.to_ascii_lowercase();
        if sha256_hex(&query) != hash {
            return Err(format!(
                "{}: {hash} is not the sha256 of its query",
                path.display()
            ));
        }
        queries.insert(hash, query);
    }
    Ok(queries)
}

/// Why a persisted query cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The hash is not known: send the query with it (automatic mode).
    NotFound,
    /// The query is not in the allow-list.
    NotAllowed,
    /// The query does not hash to the hash sent.
    HashMismatch,
    /// Persisted queries are off, or the extension is malformed.
    NotSupported(String),
}

impl Refused {
    /// The error code clients look for.
    pub(crate) fn code(&self) -> ErrorCode {
        match self {
            Refused::NotFound => ErrorCode::PersistedQueryNotFound,
            Refused::NotAllowed => ErrorCode::PersistedQueryNotAllowed,
            Refused::HashMismatch => ErrorCode::PersistedQueryHashMismatch,
            Refused::NotSupported(_) => ErrorCode::PersistedQueryNotSupported,
        }
    }

    /// The message (Apollo clients match `PersistedQueryNotFound`).
    pub(crate) fn message(&self) -> String {
        match self {
            Refused::NotFound => "PersistedQueryNotFound".to_owned(),
            Refused::NotAllowed => "this query is not in the gateway's allow-list".to_owned(),
            Refused::HashMismatch => "provided sha256Hash does not match the query".to_owned(),
            Refused::NotSupported(why) => why.clone(),
        }
    }
}

/// The persisted-query store of a running gateway: the queries this
/// replica registered or looked up, in front of the shared tier's (when
/// there is one), where every replica registers its own.
pub(crate) struct Store {
    settings: PersistedQueries,
    registered: Option<Cache<String, String>>,
    max_age: Duration,
    shared: Option<Arc<Shared>>,
}

impl Store {
    /// A store for `settings`; `default_max_age` applies when the
    /// settings give none.
    pub(crate) fn new(settings: PersistedQueries, default_max_age: Duration) -> Self {
        let registered = match settings.mode {
            Mode::Automatic => Some(
                Cache::builder()
                    .max_capacity(settings.max_bytes)
                    .weigher(|hash: &String, query: &String| {
                        u32::try_from(hash.len() + query.len()).unwrap_or(u32::MAX)
                    })
                    .build(),
            ),
            _ => None,
        };
        Store {
            max_age: settings.max_age.unwrap_or(default_max_age),
            settings,
            registered,
            shared: None,
        }
    }

    /// The store with the shared tier `shared` behind it (automatic mode).
    pub(crate) fn with_shared(mut self, shared: Option<Arc<Shared>>) -> Self {
        self.shared = shared;
        self
    }

    /// `max-age` of cacheable answers.
    pub(crate) fn max_age(&self) -> Duration {
        self.max_age
    }

    /// Resolves the query to run: from the request, its persisted-query
    /// extension and the mode. A query sent with its hash in automatic
    /// mode is not remembered yet: the caller [`Store::register`]s it once
    /// it parsed and passed the limits.
    pub(crate) fn resolve(
        &self,
        query: Option<String>,
        extensions: Option<&Map<String, Value>>,
    ) -> Result<Resolved, Refused> {
        let hash = requested_hash(extensions)?;
        let plain = |query| Resolved {
            query,
            by_hash: false,
            to_register: None,
        };
        match (self.settings.mode, hash, query) {
            (Mode::Off, Some(_), _) => Err(Refused::NotSupported(
                "persisted queries are not supported".to_owned(),
            )),
            (Mode::Off, None, query) => Ok(plain(query)),
            (Mode::Automatic, None, query) => Ok(plain(query)),
            (Mode::Automatic, Some(hash), Some(query)) => {
                if sha256_hex(&query) != hash {
                    return Err(Refused::HashMismatch);
                }
                Ok(Resolved {
                    query: Some(query),
                    by_hash: true,
                    to_register: Some(hash),
                })
            }
            (Mode::Automatic, Some(hash), None) => self
                .registered
                .as_ref()
                .and_then(|r| r.get(&hash))
                .map(|query| Resolved {
                    query: Some(query),
                    by_hash: true,
                    to_register: None,
                })
                .ok_or(Refused::NotFound),
            (Mode::AllowList, hash, query) => {
                let hash = match (hash, &query) {
                    (Some(hash), Some(query)) if sha256_hex(query) != hash => {
                        return Err(Refused::HashMismatch)
                    }
                    (Some(hash), _) => hash,
                    (None, Some(query)) => sha256_hex(query),
                    (None, None) => return Ok(plain(None)),
                };
                self.settings
                    .allowed
                    .get(&hash)
                    .map(|query| Resolved {
                        query: Some(query.clone()),
                        by_hash: true,
                        to_register: None,
                    })
                    .ok_or(Refused::NotAllowed)
            }
        }
    }

    /// [`Store::resolve`], then, for a hash this replica does not know,
    /// the shared tier: a query another replica registered runs here too
    /// (and is remembered here). What the shared tier holds is checked
    /// against its hash before it runs.
    pub(crate) async fn resolve_shared(
        &self,
        query: Option<String>,
        extensions: Option<&Map<String, Value>>,
    ) -> Result<Resolved, Refused> {
        let resolved = self.resolve(query, extensions);
        let (Err(Refused::NotFound), Some(shared), Some(registered)) =
            (&resolved, &self.shared, &self.registered)
        else {
            return resolved;
        };
        let Ok(Some(hash)) = requested_hash(extensions) else {
            return resolved;
        };
        let key = shared.key(&format!("apq:{hash}"));
        let found = shared
            .get_renewing("persisted_query_get", &key, shared.persisted_query_ttl())
            .await;
        let Some(query) = found.and_then(|bytes| String::from_utf8(bytes).ok()) else {
            return resolved;
        };
        if sha256_hex(&query) != hash {
            tracing::warn!(%hash, "the shared tier holds a query that does not match its hash; ignored");
            return resolved;
        }
        registered.insert(hash, query.clone());
        Ok(Resolved {
            query: Some(query),
            by_hash: true,
            to_register: None,
        })
    }

    /// Remembers `query` under `hash` (automatic mode), once it parsed and
    /// passed the limits, here and in the shared tier.
    pub(crate) async fn register(&self, hash: String, query: &str) {
        let Some(registered) = &self.registered else {
            return;
        };
        if let Some(shared) = &self.shared {
            let key = shared.key(&format!("apq:{hash}"));
            let entry = (key, query.as_bytes().to_vec(), shared.persisted_query_ttl());
            shared.set_many("persisted_query_set", vec![entry]).await;
        }
        registered.insert(hash, query.to_owned());
    }

    /// Bytes of the remembered queries (approximate until pending
    /// evictions run).
    #[cfg(test)]
    pub(crate) fn registered_bytes(&self) -> u64 {
        self.registered.as_ref().map_or(0, |r| {
            r.run_pending_tasks();
            r.weighted_size()
        })
    }
}

/// The hash of the request's persisted-query extension (lower-case), if
/// it has one.
fn requested_hash(extensions: Option<&Map<String, Value>>) -> Result<Option<String>, Refused> {
    match extensions.and_then(|e| e.get("persistedQuery")) {
        None => Ok(None),
        Some(Value::Object(pq)) => {
            if pq.get("version").and_then(Value::as_u64) != Some(1) {
                return Err(Refused::NotSupported(
                    "persistedQuery.version must be 1".to_owned(),
                ));
            }
            match pq.get("sha256Hash").and_then(Value::as_str) {
                Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    Ok(Some(h.to_ascii_lowercase()))
                }
                _ => Err(Refused::NotSupported(
                    "persistedQuery.sha256Hash must be 64 hex digits".to_owned(),
                )),
            }
        }
        Some(_) => Err(Refused::NotSupported(
            "persistedQuery must be an object".to_owned(),
        )),
    }
}

/// The query a request runs, as [`Store::resolve`] found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The query, if the request has one.
    pub query: Option<String>,
    /// Whether it came by hash (its GET answers may be cached).
    pub by_hash: bool,
    /// The hash to register it under once it is checked (automatic mode).
    pub to_register: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ext(hash: &str) -> Map<String, Value> {
        json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
            .as_object()
            .cloned()
            .unwrap()
    }

    const QUERY: &str = "{ upstreams { name } }";

    #[tokio::test]
    async fn automatic_persisted_queries_register_on_miss() {
        let store = Store::new(PersistedQueries::default(), Duration::from_secs(60));
        let hash = sha256_hex(QUERY);
        assert_eq!(
            store.resolve(None, Some(&ext(&hash))),
            Err(Refused::NotFound)
        );
        let resolved = store
            .resolve(Some(QUERY.into()), Some(&ext(&hash)))
            .unwrap();
        assert_eq!(resolved.to_register.as_deref(), Some(hash.as_str()));
        // Not remembered until the caller registers it (after its checks).
        assert_eq!(
            store.resolve(None, Some(&ext(&hash))),
            Err(Refused::NotFound)
        );
        store.register(hash.clone(), QUERY).await;
        assert_eq!(
            store
                .resolve(None, Some(&ext(&hash)))
                .map(|r| (r.query, r.by_hash)),
            Ok((Some(QUERY.into()), true))
        );
        assert_eq!(
            store.resolve(Some("{ other }".into()), Some(&ext(&hash))),
            Err(Refused::HashMismatch)
        );
        assert_eq!(
            store
                .resolve(Some(QUERY.into()), None)
                .map(|r| (r.query, r.by_hash)),
            Ok((Some(QUERY.into()), false))
        );
    }

    #[tokio::test]
    async fn remembered_queries_are_bounded_in_bytes() {
        let store = Store::new(
            PersistedQueries {
                max_bytes: 100_000,
                ..PersistedQueries::default()
            },
            Duration::from_secs(60),
        );
        let big = format!("{{ upstreams {{ name }} }} #{}", "x".repeat(10_000));
        for i in 0..100 {
            let query = format!("{big}{i}");
            store.register(sha256_hex(&query), &query).await;
        }
        let bytes = store.registered_bytes();
        assert!(bytes <= 100_000, "{bytes} bytes kept");
        assert!(bytes > 50_000, "the store still keeps queries: {bytes}");
    }

    #[test]
    fn the_allow_list_refuses_everything_else() {
        let hash = sha256_hex(QUERY);
        let store = Store::new(
            PersistedQueries::allow_list(HashMap::from([(hash.clone(), QUERY.to_owned())])),
            Duration::from_secs(60),
        );
        assert_eq!(
            store.resolve(None, Some(&ext(&hash))).map(|r| r.query),
            Ok(Some(QUERY.into()))
        );
        assert_eq!(
            store
                .resolve(Some(QUERY.into()), None)
                .map(|r| (r.query, r.by_hash)),
            Ok((Some(QUERY.into()), true))
        );
        assert_eq!(
            store.resolve(Some("{ other }".into()), None),
            Err(Refused::NotAllowed)
        );
        assert_eq!(
            store.resolve(None, Some(&ext(&sha256_hex("{ other }")))),
            Err(Refused::NotAllowed)
        );
    }

    #[test]
    fn malformed_extensions_are_refused() {
        let store = Store::new(PersistedQueries::default(), Duration::from_secs(60));
        let bad = json!({ "persistedQuery": { "version": 2, "sha256Hash": "x" } });
        assert!(matches!(
            store.resolve(None, bad.as_object()),
            Err(Refused::NotSupported(_))
        ));
        assert!(matches!(
            store.resolve(None, Some(&ext("nothex"))),
            Err(Refused::NotSupported(_))
        ));
    }

    #[test]
    fn manifests_are_read_and_checked() {
        let dir =
            std::env::temp_dir().join(format!("offer-gateway-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let apollo = dir.join("apollo.json");
        std::fs::write(
            &apollo,
            json!({ "format": "apollo-persisted-query-manifest", "version": 1,
                    "operations": [{ "id": sha256_hex(QUERY), "name": "U", "type": "query", "body": QUERY }] })
            .to_string(),
        )
        .unwrap();
        assert_eq!(load_manifest(&apollo).unwrap().len(), 1);
        let wrong = dir.join("wrong.json");
        std::fs::write(&wrong, json!({ "00": QUERY }).to_string()).unwrap();
        assert!(load_manifest(&wrong)
            .unwrap_err()
            .contains("not the sha256"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
