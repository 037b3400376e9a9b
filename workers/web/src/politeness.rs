//! Per-host politeness: a token bucket per host (`host_rate_per_s`, `host_burst`).
//!
//! With Redis the bucket lives in `<prefix>web:bucket:<host>` and is updated by
//! `lua/token_bucket.lua`, so every web worker of the fleet shares it. Without a store
//! (`daa process`), or while Redis is unreachable, a bucket per process is used instead
//! (politeness degrades to per-process, fetching goes on; a warning is logged).
//!
//! A task waits for its token up to `politeness_max_wait_ms`; past that it fails as
//! `Overload` with a `retry_after_ms`, so it is redelivered later rather than holding a
//! worker slot.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use daa_shared::config::RedisConfig;
use daa_shared::model::{FailureKind, TaskError};
use daa_shared::store::Store;

/// Buckets tracked in process at most; full (idle) ones are forgotten beyond it.
const MAX_LOCAL: usize = 10_000;
/// After a failed Redis connection, how long to use local buckets before trying again.
const RECONNECT_AFTER: Duration = Duration::from_secs(10);

/// Where the shared buckets live.
pub(crate) enum Backend {
    /// In-process buckets only.
    Local,
    /// A connected store.
    Store(Store),
    /// Connect on first use (the worker binary builds the agent before any runtime).
    Lazy {
        cfg: RedisConfig,
        cell: tokio::sync::OnceCell<Store>,
        last_failure: Mutex<Option<Instant>>,
    },
}

#[derive(Debug, Clone, Copy)]
struct LocalBucket {
    tokens: f64,
    at: Instant,
}

pub(crate) struct Politeness {
    rate: f64,
    burst: f64,
    max_wait: Duration,
    backend: Backend,
    local: Mutex<HashMap<String, LocalBucket>>,
    script: redis::Script,
    waited_ms: AtomicU64,
    redis_errors: AtomicU64,
}

impl std::fmt::Debug for Politeness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Politeness")
            .field("rate", &self.rate)
            .field("burst", &self.burst)
            .finish_non_exhaustive()
    }
}

impl Politeness {
    pub(crate) fn new(rate: f64, burst: u32, max_wait: Duration, backend: Backend) -> Self {
        Self {
            rate,
            burst: f64::from(burst.max(1)),
            max_wait,
            backend,
            local: Mutex::new(HashMap::new()),
            script: redis::Script::new(include_str!("../lua/token_bucket.lua")),
            waited_ms: AtomicU64::new(0),
            redis_errors: AtomicU64::new(0),
        }
    }

    /// Total time tasks spent waiting for tokens.
    pub(crate) fn waited_ms(&self) -> u64 {
        self.waited_ms.load(Ordering::Relaxed)
    }

    /// Redis failures that made a request fall back to the in-process bucket.
    pub(crate) fn redis_errors(&self) -> u64 {
        self.redis_errors.load(Ordering::Relaxed)
    }

    /// Wait for a token for `host`, or fail as an overload when the wait would be too
    /// long.
    pub(crate) async fn acquire(&self, host: &str) -> Result<(), TaskError> {
        let mut waited = Duration::ZERO;
        loop {
            let wait = self.take(host).await;
            if wait.is_zero() {
                return Ok(());
            }
            if waited + wait > self.max_wait {
                let mut e = TaskError::new(
                    FailureKind::Overload,
                    format!(
                        "politeness: {host} gets at most {} requests/s from the fleet; no token \
                         within {} ms, retry later",
                        self.rate,
                        self.max_wait.as_millis()
                    ),
                );
                e.retry_after_ms = Some(wait.as_millis() as u64);
                return Err(e);
            }
            tokio::time::sleep(wait).await;
            waited += wait;
            self.waited_ms
                .fetch_add(wait.as_millis() as u64, Ordering::Relaxed);
        }
    }

    /// Take a token: zero when taken, else the time until one is available.
    async fn take(&self, host: &str) -> Duration {
        if let Some(store) = self.store().await {
            match self.take_redis(&store, host).await {
                Ok(d) => return d,
                Err(e) => {
                    self.redis_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, %host, "politeness bucket in Redis unavailable; using the per-process bucket");
                }
            }
        }
        self.take_local(host)
    }

    async fn store(&self) -> Option<Store> {
        match &self.backend {
            Backend::Local => None,
            Backend::Store(s) => Some(s.clone()),
            Backend::Lazy {
                cfg,
                cell,
                last_failure,
            } => {
                if let Some(s) = cell.get() {
                    return Some(s.clone());
                }
                {
                    let last = last_failure.lock().unwrap_or_else(|p| p.into_inner());
                    if last.is_some_and(|t| t.elapsed() < RECONNECT_AFTER) {
                        return None;
                    }
                }
                match cell.get_or_try_init(|| Store::connect(cfg)).await {
                    Ok(s) => Some(s.clone()),
                    Err(e) => {
                        *last_failure.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(Instant::now());
                        tracing::warn!(error = %e, "cannot reach Redis for the shared politeness buckets; using per-process buckets for now");
                        None
                    }
                }
            }
        }
    }

    async fn take_redis(&self, store: &Store, host: &str) -> Result<Duration, String> {
        let key = format!("{}web:bucket:{host}", store.keys().prefix());
        let ttl_ms = (self.burst / self.rate * 1000.0).ceil() as u64 + 1_000;
        let mut conn = store.conn().await.map_err(|e| e.to_string())?;
        let wait: i64 = self
            .script
            .key(key)
            .arg(self.rate)
            .arg(self.burst as u64)
            .arg(ttl_ms)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Duration::from_millis(wait.max(0) as u64))
    }

    fn take_local(&self, host: &str) -> Duration {
        let mut map = self.local.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let (rate, burst) = (self.rate, self.burst);
        let refill =
            |b: &LocalBucket| (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(burst);
        if map.len() >= MAX_LOCAL && !map.contains_key(host) {
            map.retain(|_, b| refill(b) < burst);
        }
        let b = map.entry(host.to_owned()).or_insert(LocalBucket {
            tokens: burst,
            at: now,
        });
        let tokens = refill(b);
        b.at = now;
        if tokens >= 1.0 {
            b.tokens = tokens - 1.0;
            Duration::ZERO
        } else {
            b.tokens = tokens;
            Duration::from_secs_f64((1.0 - tokens) / rate).max(Duration::from_millis(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_bucket_grants_burst_then_rate() {
        let p = Politeness::new(10.0, 2, Duration::ZERO, Backend::Local);
        assert!(p.take_local("h").is_zero());
        assert!(p.take_local("h").is_zero());
        let w = p.take_local("h");
        assert!(
            w > Duration::ZERO && w <= Duration::from_millis(100),
            "{w:?}"
        );
        assert!(p.take_local("other").is_zero());
        std::thread::sleep(Duration::from_millis(110));
        assert!(p.take_local("h").is_zero());
    }
}
