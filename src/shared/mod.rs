//! The shared tier: one Redis (or Valkey) that the replicas of a
//! deployment share, optional (`[shared] redis_url`).
//!
//! What the replicas keep there is what one replica alone would get wrong
//! or do again behind a load balancer: the automatic persisted queries (a
//! hash registered on one replica runs on every other), and the offers,
//! promotions and listing windows each replica fetched, a second level
//! behind its own cache (see `loader`, and [`codec`] for their encoding),
//! and the sync's request budget. The tier is a helper, never a
//! dependency: every operation is bounded by `timeout`; a failure pauses
//! the tier (0.5 s, doubling up to 30 s while it keeps failing; operations
//! are `skipped` meanwhile, so that a Redis that hangs costs one timeout,
//! not one per request); a Redis that is down, slow or refusing the
//! credentials degrades the gateway to what each replica knows on its
//! own. No request fails for
//! it; `/metrics` counts every operation by outcome
//! (`shared_tier_operations_total{op,result}`) and `shared_tier_up` says
//! whether the last one reached Redis, and the log says when the tier goes
//! down and comes back (once each, not per operation).
//!
//! The connection is made in the background at start and remade by the
//! client after a failure; until it exists, operations are `unavailable`
//! at once (no wait). The password comes from the environment or a file,
//! never from the URL or the configuration, and is never logged.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;
use serde::Deserialize;
use tokio::sync::OnceCell;

pub(crate) mod codec;

use crate::error::InvalidSetting;
use crate::metrics::Metrics;
use crate::secret::{Secret, SecretSource};

/// Default bound of one operation on the shared tier.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);

/// Default lifetime of a persisted query in the shared tier, renewed on
/// every use.
pub const DEFAULT_PERSISTED_QUERY_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Default prefix of every key the gateway writes.
pub const DEFAULT_KEY_PREFIX: &str = "offer-gateway:";

/// The `[shared]` table: where the shared tier is, every key optional
/// (no `redis_url`, no shared tier).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SharedSettings {
    /// `redis://host:port/db`, or `rediss://` for TLS; without a password
    /// (see `redis_password_env`).
    pub redis_url: Option<String>,
    /// The ACL user, if not `default`.
    pub redis_username: Option<String>,
    /// The environment variable holding the password.
    pub redis_password_env: Option<String>,
    /// The file holding the password (instead of `redis_password_env`).
    pub redis_password_file: Option<PathBuf>,
    /// Prefix of every key, so that several deployments can share one
    /// Redis.
    pub key_prefix: String,
    /// Longest wait for one operation; past it, the replica goes on alone.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// How long a persisted query stays in the shared tier after its last
    /// use.
    #[serde(with = "humantime_serde")]
    pub persisted_query_ttl: Duration,
    /// The password, as [`SharedSettings::prepare`] read it.
    #[serde(skip)]
    pub password: Option<Secret>,
}

impl Default for SharedSettings {
    fn default() -> Self {
        SharedSettings {
            redis_url: None,
            redis_username: None,
            redis_password_env: None,
            redis_password_file: None,
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            persisted_query_ttl: DEFAULT_PERSISTED_QUERY_TTL,
            password: None,
        }
    }
}

impl SharedSettings {
    /// The settings of a shared tier at `url`, the others by default.
    pub fn at(url: impl Into<String>) -> Self {
        SharedSettings {
            redis_url: Some(url.into()),
            ..SharedSettings::default()
        }
    }

    /// Checks the settings and reads the password; `env` looks
    /// environment variables up.
    pub fn prepare(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), InvalidSetting> {
        InvalidSetting::positive("shared.timeout", self.timeout)?;
        if self.persisted_query_ttl < Duration::from_secs(1) {
            return Err(InvalidSetting::new(
                "shared.persisted_query_ttl",
                "at least one second",
            ));
        }
        let source = SecretSource {
            env: self.redis_password_env.clone(),
            file: self.redis_password_file.clone(),
        };
        let Some(url) = &self.redis_url else {
            if source.is_set() || self.redis_username.is_some() {
                return Err(InvalidSetting::new(
                    "shared.redis_url",
                    "required when a Redis user or password is given",
                ));
            }
            return Ok(());
        };
        let parsed = url::Url::parse(url)
            .map_err(|err| InvalidSetting::new("shared.redis_url", format!("not a URL: {err}")))?;
        if !matches!(parsed.scheme(), "redis" | "rediss") {
            return Err(InvalidSetting::new(
                "shared.redis_url",
                "must start with redis:// (or rediss:// for TLS)",
            ));
        }
        if parsed.password().is_some() || !parsed.username().is_empty() {
            return Err(InvalidSetting::new(
                "shared.redis_url",
                "must not hold credentials: give redis_username and redis_password_env (or redis_password_file)",
            ));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(InvalidSetting::new("shared.redis_url", "names no host"));
        }
        if source.is_set() {
            self.password = Some(source.read("shared", "redis_password", env)?);
        }
        Ok(())
    }

    /// Where the tier is, for logs: the URL (it holds no secret).
    fn address(&self) -> &str {
        self.redis_url.as_deref().unwrap_or("")
    }
}

/// The connection to the shared tier of a running gateway.
pub(crate) struct Shared {
    connection: OnceCell<ConnectionManager>,
    prefix: String,
    timeout: Duration,
    persisted_query_ttl: Duration,
    address: String,
    metrics: Option<Arc<Metrics>>,
    /// Whether the last operation reached Redis (for the log's transitions).
    up: AtomicBool,
    /// When the tier was started: the origin of the two times below.
    origin: std::time::Instant,
    /// Until when (milliseconds after `origin`) operations are skipped
    /// after a failure, so that a Redis that hangs costs one timeout, not
    /// one per request; 0 when they are not.
    resume_at_ms: AtomicU64,
    /// The current pause after a failure: 0.5 s, doubling up to 30 s while
    /// the tier keeps failing; 0 once it answers.
    pause_ms: AtomicU64,
}

/// The first pause after a failure.
const FIRST_PAUSE: Duration = Duration::from_millis(500);
/// The longest pause.
const LONGEST_PAUSE: Duration = Duration::from_secs(30);

impl Shared {
    /// The shared tier of `settings` (after [`SharedSettings::prepare`]),
    /// if any, connecting in the background.
    pub(crate) fn start(
        settings: &SharedSettings,
        metrics: Option<Arc<Metrics>>,
    ) -> Result<Option<Arc<Shared>>, InvalidSetting> {
        let Some(url) = &settings.redis_url else {
            return Ok(None);
        };
        let mut info = redis::IntoConnectionInfo::into_connection_info(url.as_str())
            .map_err(|err| InvalidSetting::new("shared.redis_url", err.to_string()))?;
        let mut redis = info.redis_settings().clone();
        if let Some(user) = &settings.redis_username {
            redis = redis.set_username(user);
        }
        if let Some(password) = &settings.password {
            redis = redis.set_password(password.expose());
        }
        info = info.set_redis_settings(redis);
        let client = redis::Client::open(info)
            .map_err(|err| InvalidSetting::new("shared.redis_url", err.to_string()))?;
        let shared = Arc::new(Shared {
            connection: OnceCell::new(),
            prefix: settings.key_prefix.clone(),
            timeout: settings.timeout,
            persisted_query_ttl: settings.persisted_query_ttl,
            address: settings.address().to_owned(),
            metrics,
            up: AtomicBool::new(true),
            origin: std::time::Instant::now(),
            resume_at_ms: AtomicU64::new(0),
            pause_ms: AtomicU64::new(0),
        });
        if let Some(metrics) = &shared.metrics {
            metrics.shared_up(false);
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.timeout.max(Duration::from_secs(1))))
            .set_response_timeout(Some(settings.timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(5));
        tokio::spawn(connect(Arc::downgrade(&shared), client, config));
        Ok(Some(shared))
    }

    /// Waits until the first connection is made, at most `limit`; whether
    /// it was. For background work that would rather wait a moment for the
    /// shared tier at start than go on alone.
    pub(crate) async fn wait_connected(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.connection.get().is_none() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// How long a persisted query stays after its last use.
    pub(crate) fn persisted_query_ttl(&self) -> Duration {
        self.persisted_query_ttl
    }

    /// The key `name` under the configured prefix.
    pub(crate) fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The value of `key`, its lifetime renewed to `ttl` (`GETEX`), or
    /// `None` when it is absent or the tier cannot answer (counted under
    /// `op`).
    pub(crate) async fn get_renewing(
        &self,
        op: &'static str,
        key: &str,
        ttl: Duration,
    ) -> Option<Vec<u8>> {
        let seconds = ttl.as_secs().max(1);
        let result = self
            .run(op, |mut connection| {
                let key = key.to_owned();
                async move {
                    connection
                        .get_ex::<_, Option<Vec<u8>>>(key, redis::Expiry::EX(seconds))
                        .await
                }
            })
            .await;
        if let (Some(metrics), Some(found)) = (&self.metrics, &result) {
            metrics.shared_operation(op, if found.is_some() { "hit" } else { "miss" });
        }
        result.flatten()
    }

    /// The values of `keys` (one `MGET`), each `None` when absent; `None`
    /// as a whole when the tier cannot answer (counted under `op`). Hits
    /// and misses are counted per key.
    pub(crate) async fn get_many(
        &self,
        op: &'static str,
        keys: &[String],
    ) -> Option<Vec<Option<Vec<u8>>>> {
        if keys.is_empty() {
            return Some(Vec::new());
        }
        let values = self
            .run(op, |mut connection| {
                let keys = keys.to_vec();
                async move { connection.mget::<_, Vec<Option<Vec<u8>>>>(keys).await }
            })
            .await?;
        if let Some(metrics) = &self.metrics {
            for value in &values {
                metrics.shared_operation(op, if value.is_some() { "hit" } else { "miss" });
            }
        }
        Some(values)
    }

    /// Sets each key to its value for its time to live, in one round trip
    /// (a pipeline of `SET ... EX`); a failure is counted under `op` and
    /// otherwise ignored.
    pub(crate) async fn set_many(
        &self,
        op: &'static str,
        entries: Vec<(String, Vec<u8>, Duration)>,
    ) {
        if entries.is_empty() {
            return;
        }
        let count = entries.len();
        let done = self
            .run(op, |mut connection| async move {
                let mut pipeline = redis::pipe();
                for (key, value, ttl) in entries {
                    pipeline.set_ex(key, value, ttl.as_secs().max(1)).ignore();
                }
                pipeline.query_async::<()>(&mut connection).await
            })
            .await;
        if done.is_some() {
            if let Some(metrics) = &self.metrics {
                for _ in 0..count {
                    metrics.shared_operation(op, "ok");
                }
            }
        }
    }

    /// Takes one request from the budget every replica shares under
    /// `name`: at most `limit` requests in any window of `per`, for each
    /// window, counted exactly (a sliding log per window, in Redis, by
    /// Redis's clock). `Some(Duration::ZERO)` when the request fits (it is
    /// counted), `Some(wait)` when it would fit after `wait` (nothing is
    /// counted), `None` when the tier cannot answer: the caller falls back
    /// to its own budget.
    pub(crate) async fn take_budget(
        &self,
        name: &str,
        windows: &[(u32, Duration)],
    ) -> Option<Duration> {
        if windows.is_empty() {
            return Some(Duration::ZERO);
        }
        let keys: Vec<String> = windows
            .iter()
            .map(|(_, per)| self.key(&format!("budget:{name}:{}ms", per.as_millis())))
            .collect();
        let member = format!("{:016x}", fastrand::u64(..));
        let wait_ms = self
            .run("budget_take", |mut connection| {
                let mut command = redis::cmd("EVAL");
                command
                    .arg(TAKE_BUDGET)
                    .arg(keys.len())
                    .arg(&keys)
                    .arg(&member);
                for (limit, per) in windows {
                    command
                        .arg(*limit)
                        .arg(u64::try_from(per.as_millis()).unwrap_or(u64::MAX));
                }
                async move { command.query_async::<u64>(&mut connection).await }
            })
            .await?;
        if let Some(metrics) = &self.metrics {
            metrics.shared_operation("budget_take", if wait_ms == 0 { "ok" } else { "wait" });
        }
        Some(Duration::from_millis(wait_ms))
    }

    /// Runs one command within the timeout: `None` (counted and logged)
    /// when there is no connection yet, the command fails or times out.
    async fn run<T, F, Fut>(&self, op: &'static str, command: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let Some(connection) = self.connection.get() else {
            self.failed(op, "unavailable", None);
            return None;
        };
        if self.now_ms() < self.resume_at_ms.load(Ordering::Relaxed) {
            if let Some(metrics) = &self.metrics {
                metrics.shared_operation(op, "skipped");
            }
            return None;
        }
        match tokio::time::timeout(self.timeout, command(connection.clone())).await {
            Ok(Ok(value)) => {
                self.pause_ms.store(0, Ordering::Relaxed);
                self.resume_at_ms.store(0, Ordering::Relaxed);
                self.reached();
                Some(value)
            }
            Ok(Err(err)) => {
                self.pause();
                self.failed(op, "error", Some(&err.to_string()));
                None
            }
            Err(_) => {
                self.pause();
                self.failed(op, "timeout", None);
                None
            }
        }
    }

    /// Milliseconds since the tier was started.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Skips operations for the next pause (longer each failure in a row).
    fn pause(&self) {
        let first = u64::try_from(FIRST_PAUSE.as_millis()).unwrap_or(500);
        let longest = u64::try_from(LONGEST_PAUSE.as_millis()).unwrap_or(30_000);
        let previous = self.pause_ms.load(Ordering::Relaxed);
        let pause = if previous == 0 {
            first
        } else {
            (previous * 2).min(longest)
        };
        self.pause_ms.store(pause, Ordering::Relaxed);
        self.resume_at_ms
            .store(self.now_ms() + pause, Ordering::Relaxed);
    }

    fn reached(&self) {
        if !self.up.swap(true, Ordering::Relaxed) {
            tracing::info!(redis = %self.address, "the shared tier answers again");
        }
        if let Some(metrics) = &self.metrics {
            metrics.shared_up(true);
        }
    }

    fn failed(&self, op: &'static str, result: &'static str, cause: Option<&str>) {
        if self.up.swap(false, Ordering::Relaxed) {
            tracing::warn!(
                redis = %self.address,
                op,
                result,
                cause = cause.unwrap_or(""),
                "the shared tier does not answer; each replica goes on alone until it does"
            );
        }
        if let Some(metrics) = &self.metrics {
            metrics.shared_operation(op, result);
            metrics.shared_up(false);
        }
    }
}

/// The sliding logs of [`Shared::take_budget`], one sorted set per window
/// (KEYS), scored by the millisecond each request was taken at, by Redis's
/// own clock so that replicas' clocks do not matter. ARGV: a unique member,
/// then each window's limit and length in milliseconds. Returns 0 and
/// records the request when it fits every window, else the milliseconds
/// until it would (recording nothing).
const TAKE_BUDGET: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local per = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - per)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local until_free = tonumber(oldest[2]) + per - now
    if until_free > wait then wait = until_free end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[1] .. ':' .. now)
  redis.call('PEXPIRE', key, tonumber(ARGV[2 * i + 1]))
end
return 0
";

/// Makes the first connection, retrying with a growing pause (1 s to
/// 30 s) until it succeeds or the gateway is gone; the connection manager
/// remakes it after any later failure on its own.
async fn connect(
    shared: std::sync::Weak<Shared>,
    client: redis::Client,
    config: ConnectionManagerConfig,
) {
    let mut pause = Duration::from_secs(1);
    loop {
        let attempt = ConnectionManager::new_with_config(client.clone(), config.clone()).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        match attempt {
            Ok(connection) => {
                let _ = shared.connection.set(connection);
                shared.reached();
                tracing::info!(redis = %shared.address, "connected to the shared tier");
                return;
            }
            Err(err) => {
                shared.failed("connect", "error", Some(&err.to_string()));
            }
        }
        drop(shared);
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(30));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(settings: SharedSettings) -> Result<SharedSettings, String> {
        let mut settings = settings;
        settings
            .prepare(&|name| (name == "REDIS_PASSWORD").then(|| "pw".to_owned()))
            .map(|()| settings)
            .map_err(|err| err.to_string())
    }

    #[test]
    fn no_url_no_shared_tier() {
        assert_eq!(
            prepared(SharedSettings::default()),
            Ok(SharedSettings::default())
        );
        let orphan = SharedSettings {
            redis_password_env: Some("REDIS_PASSWORD".to_owned()),
            ..SharedSettings::default()
        };
        assert!(prepared(orphan)
            .unwrap_err()
            .starts_with("shared.redis_url"));
    }

    #[test]
    fn the_url_holds_no_credentials_and_names_redis() {
        for url in [
            "redis://user:pw@host:6379/0",
            "redis://:pw@host/0",
            "redis://user@host/0",
        ] {
            let err = prepared(SharedSettings::at(url)).unwrap_err();
            assert!(err.contains("must not hold credentials"), "{url}: {err}");
        }
        for url in ["http://host:6379", "host:6379", "redis://"] {
            assert!(prepared(SharedSettings::at(url)).is_err(), "{url}");
        }
        for url in ["redis://127.0.0.1:6379/0", "rediss://cache.internal:6380/2"] {
            assert_eq!(
                prepared(SharedSettings::at(url)).map(|s| s.password),
                Ok(None),
                "{url}"
            );
        }
    }

    #[test]
    fn the_password_comes_from_the_environment_and_never_prints() {
        let settings = prepared(SharedSettings {
            redis_password_env: Some("REDIS_PASSWORD".to_owned()),
            ..SharedSettings::at("redis://127.0.0.1:6379/0")
        })
        .unwrap();
        assert_eq!(settings.password.as_ref().map(Secret::expose), Some("pw"));
        assert!(!format!("{settings:?}").contains("\"pw\""));
        let missing = prepared(SharedSettings {
            redis_password_env: Some("UNSET".to_owned()),
            ..SharedSettings::at("redis://127.0.0.1:6379/0")
        });
        assert!(missing.unwrap_err().contains("UNSET"));
    }

    #[test]
    fn timeouts_are_checked() {
        let zero = SharedSettings {
            timeout: Duration::ZERO,
            ..SharedSettings::default()
        };
        assert!(prepared(zero).unwrap_err().starts_with("shared.timeout"));
        let short = SharedSettings {
            persisted_query_ttl: Duration::from_millis(10),
            ..SharedSettings::default()
        };
        assert!(prepared(short)
            .unwrap_err()
            .starts_with("shared.persisted_query_ttl"));
    }
}
