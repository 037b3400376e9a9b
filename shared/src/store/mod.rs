//! The Redis store: job state machine, heartbeats and leases.
//!
//! Multi-step transitions are Lua scripts (`shared/lua/*.lua`, each with a header naming
//! its KEYS and ARGV) so that any coordinator replica can apply any transition atomically
//! and a duplicate message changes nothing. Listing uses sorted-set indexes, never KEYS.

mod agents;
mod jobs;
mod lease;
pub(crate) mod scripts;

use std::time::Duration;

use deadpool_redis::{Config as PoolConfig, Pool, Runtime};

use crate::config::RedisConfig;
use crate::keys::Keys;
use crate::Error;

pub use agents::{worker_state, Heartbeat, LiveAgent};
pub use jobs::{BeginOutcome, CommitOutcome, CreateOutcome, JobSnapshot, JobSpec, JobState};
pub use lease::{LeaseHolder, LeaseOutcome, COORDINATOR_LEADER};

/// What went wrong talking to Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StoreErrorKind {
    /// Redis could not be reached or timed out.
    #[error("Redis is unavailable")]
    Unavailable,
    /// Redis answered, but with an error or something unexpected.
    #[error("Redis command failed")]
    Command,
    /// Stored data could not be decoded.
    #[error("stored data is corrupt")]
    Corrupt,
}

/// Store error.
pub type StoreError = Error<StoreErrorKind>;

impl From<deadpool_redis::PoolError> for StoreError {
    fn from(e: deadpool_redis::PoolError) -> Self {
        StoreError::with_source(StoreErrorKind::Unavailable, e)
    }
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        let kind = if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() {
            StoreErrorKind::Unavailable
        } else {
            StoreErrorKind::Command
        };
        StoreError::with_source(kind, e)
    }
}

/// Handle to the Redis store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    keys: Keys,
    scripts: std::sync::Arc<scripts::Scripts>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("keys", &self.keys).finish()
    }
}

impl Store {
    /// Build a pool for `cfg` and check that Redis answers.
    pub async fn connect(cfg: &RedisConfig) -> Result<Store, StoreError> {
        let mut pc = PoolConfig::from_url(cfg.url.clone());
        let mut pool_cfg = deadpool_redis::PoolConfig::new(cfg.pool_size.max(1));
        let t = Duration::from_millis(cfg.timeout_ms);
        pool_cfg.timeouts.wait = Some(t);
        pool_cfg.timeouts.create = Some(t);
        pool_cfg.timeouts.recycle = Some(t);
        pc.pool = Some(pool_cfg);
        let pool = pc.create_pool(Some(Runtime::Tokio1)).map_err(|e| {
            StoreError::with_source(StoreErrorKind::Unavailable, format!("{}: {e}", cfg.url))
        })?;
        let store = Store {
            pool,
            keys: Keys::new(cfg.prefix.clone()),
            scripts: std::sync::Arc::new(scripts::Scripts::load()),
        };
        store.ping().await.map_err(|e| {
            StoreError::with_source(StoreErrorKind::Unavailable, format!("{}: {e}", cfg.url))
        })?;
        Ok(store)
    }

    /// Key names in use.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// A pooled connection, for callers that need raw commands (the CLI's `inspect`).
    pub async fn conn(&self) -> Result<deadpool_redis::Connection, StoreError> {
        Ok(self.pool.get().await?)
    }

    /// Run a pipeline that invokes scripts by hash (EVALSHA); after a Redis restart the
    /// script cache is empty, so on NOSCRIPT the scripts are loaded and the pipeline runs
    /// again (every script is idempotent).
    pub(crate) async fn query_scripted<T: redis::FromRedisValue>(
        &self,
        c: &mut deadpool_redis::Connection,
        pipe: &redis::Pipeline,
    ) -> Result<T, StoreError> {
        match pipe.query_async(c).await {
            Ok(v) => Ok(v),
            Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                let mut load = redis::pipe();
                for s in self.scripts.all() {
                    load.load_script(s).ignore();
                }
                let _: () = load.query_async(c).await?;
                Ok(pipe.query_async(c).await?)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The loaded scripts (locks, cache and memory live outside this module).
    pub(crate) fn scripts(&self) -> &scripts::Scripts {
        &self.scripts
    }

    /// Round trip to Redis.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut c = self.conn().await?;
        let _: String = redis::cmd("PING").query_async(&mut c).await?;
        Ok(())
    }
}
