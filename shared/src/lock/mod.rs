//! Distributed locks on Redis, with fencing tokens.
//!
//! A lock is `SET NX PX` of a random token on `daa:lock:{<resource>}`; release and
//! extension compare the token first (Lua), so only the holder can release or extend.
//! Every acquisition increments the resource's fencing counter and hands the new value
//! (the *fence*) to the holder. A write the lock protects goes through
//! [`Locks::fenced_write`], which refuses a fence older than the newest one issued: a
//! holder that paused past its TTL (GC, swap, a stopped VM) while another process took
//! the lock has its late write refused with [`LockErrorKind::StaleFence`].
//!
//! What this gives and what it does not (Kleppmann, "How to do distributed locking"):
//! the lock is for efficiency (usually only one process does the work); it is not a
//! correctness guarantee, because a holder can lose it without knowing. Correctness comes
//! from the fenced write (or an idempotent one). The watchdog of a [`LockGuard`] extends
//! the lock every `ttl/3` while the guard lives, which makes expiry during a long
//! critical section rare, not impossible. Redis itself is a single point of truth: a
//! failover to a replica that had not received the latest `SET` can hand the lock out
//! twice (the fence counter may go back as well), which is why this is not Redlock and
//! claims nothing stronger.
//!
//! [`Locks::acquire_all`] takes several resources in one global order (sorted names), so
//! two callers can never each hold what the other waits for: no deadlock by
//! construction; a timeout bounds the wait and releases what was taken.
//!
//! Waiters register in a per-resource sorted set scored by when they started waiting;
//! [`Locks::report`] lists held locks and waiters older than a threshold (`daa inspect
//! locks`).

mod guard;
mod multi;
mod report;

use std::time::Duration;

use crate::store::{Store, StoreError, StoreErrorKind};
use crate::time::now_ms;
use crate::Error;

pub use guard::LockGuard;
pub use multi::MultiGuard;
pub use report::{HeldLock, LockReport, Waiter};

/// What went wrong with a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LockErrorKind {
    /// Redis could not be reached or timed out.
    #[error("Redis is unavailable")]
    Unavailable,
    /// Redis answered with an error or something unexpected.
    #[error("Redis command failed")]
    Command,
    /// The lock (or one of several) was not acquired within the timeout.
    #[error("lock not acquired in time")]
    Timeout,
    /// A fenced write was refused: a newer holder has taken the lock since this fence
    /// was issued (this holder's lock expired while it held it).
    #[error("fenced write refused: a newer lock holder exists")]
    StaleFence,
    /// A resource name is empty or holds a character a key cannot (`{`, `}`).
    #[error("invalid lock resource name")]
    InvalidResource,
}

/// Lock error.
pub type LockError = Error<LockErrorKind>;

impl From<StoreError> for LockError {
    fn from(e: StoreError) -> Self {
        let kind = match e.kind() {
            StoreErrorKind::Unavailable => LockErrorKind::Unavailable,
            _ => LockErrorKind::Command,
        };
        LockError::with_source(kind, e)
    }
}

impl From<redis::RedisError> for LockError {
    fn from(e: redis::RedisError) -> Self {
        StoreError::from(e).into()
    }
}

/// How locks are taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockOptions {
    /// Lock TTL: how long a holder that stopped (crashed, paused) blocks others.
    pub ttl: Duration,
    /// Extend the lock every `ttl/3` while its guard lives.
    pub watchdog: bool,
    /// First retry delay of [`Locks::acquire`] (doubles, jittered, up to `retry_max`).
    pub retry_min: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// A waiter that made no attempt for this long is dropped from the report.
    pub waiter_stale: Duration,
    /// TTL of a resource's fence counter, refreshed on every acquisition. A holder
    /// paused for longer than this could see the counter start over (documented limit).
    pub fence_retention: Duration,
    /// Who is asking, as `daa inspect locks` shows it (default `<host>-<pid>`).
    pub holder: String,
}

impl Default for LockOptions {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(10),
            watchdog: true,
            retry_min: Duration::from_millis(10),
            retry_max: Duration::from_millis(250),
            waiter_stale: Duration::from_secs(30),
            fence_retention: Duration::from_secs(7 * 24 * 3600),
            holder: default_holder(),
        }
    }
}

fn default_holder() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into());
    format!("{host}-{}", std::process::id())
}

/// Handle to the locks of a [`Store`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Locks {
    store: Store,
    opts: LockOptions,
}

impl Store {
    /// Locks on this store with default options.
    pub fn locks(&self) -> Locks {
        Locks::new(self.clone())
    }
}

fn check(resource: &str) -> Result<(), LockError> {
    if resource.is_empty() || resource.contains(['{', '}']) {
        return Err(LockError::with_source(
            LockErrorKind::InvalidResource,
            format!("{resource:?}"),
        ));
    }
    Ok(())
}

impl Locks {
    /// Locks on `store` with default options.
    pub fn new(store: Store) -> Self {
        Self::with_options(store, LockOptions::default())
    }

    /// Locks on `store` with `opts`.
    pub fn with_options(store: Store, opts: LockOptions) -> Self {
        Self { store, opts }
    }

    /// The options in use.
    pub fn options(&self) -> &LockOptions {
        &self.opts
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// One attempt: the lock on `resource` if it is free now.
    pub async fn try_acquire(&self, resource: &str) -> Result<Option<LockGuard>, LockError> {
        let token = uuid::Uuid::new_v4().to_string();
        Ok(self
            .acquire_token(resource, &token, self.opts.ttl, false)
            .await?
            .map(|fence| LockGuard::new(self.clone(), resource, token, fence)))
    }

    /// Wait up to `timeout` for the lock on `resource`, retrying with jittered backoff.
    /// While waiting, the caller is listed as a waiter; [`LockErrorKind::Timeout`] when
    /// the lock stayed taken.
    pub async fn acquire(&self, resource: &str, timeout: Duration) -> Result<LockGuard, LockError> {
        let token = uuid::Uuid::new_v4().to_string();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut delay = self.opts.retry_min.max(Duration::from_millis(1));
        loop {
            match self
                .acquire_token(resource, &token, self.opts.ttl, true)
                .await
            {
                Ok(Some(fence)) => return Ok(LockGuard::new(self.clone(), resource, token, fence)),
                Ok(None) => {}
                Err(e) if e.kind() == LockErrorKind::Unavailable => {
                    tracing::debug!(%resource, error = %e, "lock attempt failed; retrying");
                }
                Err(e) => return Err(e),
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                // Stop being listed as a waiter (best effort).
                let _ = self.release_token(resource, &token).await;
                return Err(LockError::with_source(
                    LockErrorKind::Timeout,
                    format!("{resource} after {timeout:?}"),
                ));
            }
            let jittered = delay.mul_f64(rand::random_range(0.5..1.0));
            tokio::time::sleep(jittered.min(deadline - now)).await;
            delay = (delay * 2).min(self.opts.retry_max.max(delay));
        }
    }

    /// Lock every resource in `resources`, in one global order (sorted, duplicates
    /// dropped), within `timeout` in all. On failure every lock taken is released.
    pub async fn acquire_all(
        &self,
        resources: &[&str],
        timeout: Duration,
    ) -> Result<MultiGuard, LockError> {
        multi::acquire_all(self, resources, timeout).await
    }

    /// Low level, for holders that are not one process (a job, released by whichever
    /// coordinator finishes it): take or re-take the lock on `resource` for `token`.
    /// Returns the fence when `token` holds the lock after the call. `wait` lists the
    /// caller as a waiter when it does not.
    pub async fn acquire_token(
        &self,
        resource: &str,
        token: &str,
        ttl: Duration,
        wait: bool,
    ) -> Result<Option<u64>, LockError> {
        check(resource)?;
        let keys = self.store.keys();
        let now = now_ms();
        let ttl_ms = (ttl.as_millis() as u64).max(1);
        let stale_ms = (self.opts.waiter_stale.as_millis() as u64).max(1);
        let mut c = self.store.conn().await?;
        let mut pipe = redis::pipe();
        pipe.invoke_script(
            self.store
                .scripts()
                .lock_acquire
                .key(keys.lock(resource))
                .key(keys.lock_fence(resource))
                .key(keys.lock_holder(resource))
                .key(keys.lock_waiters(resource))
                .key(keys.lock_waiters_seen(resource))
                .key(keys.lock_waiter_labels(resource))
                .arg(token)
                .arg(ttl_ms)
                .arg(now)
                .arg(&self.opts.holder)
                .arg(if wait { "1" } else { "0" })
                .arg(stale_ms)
                .arg(self.opts.fence_retention.as_millis() as u64),
        );
        // The report's index of resources that have a holder or waiters, scored by when
        // that ends at the latest; it lives outside the resource's hash slot.
        let index = keys.locks_index();
        pipe.cmd("ZADD")
            .arg(&index)
            .arg("GT")
            .arg(now + ttl_ms.max(stale_ms))
            .arg(resource)
            .ignore()
            .cmd("ZREMRANGEBYSCORE")
            .arg(&index)
            .arg("-inf")
            .arg(format!("({now}"))
            .ignore();
        let ((held, value),): ((i64, i64),) = self.store.query_scripted(&mut c, &pipe).await?;
        Ok((held == 1).then_some(value.max(0) as u64))
    }

    /// Reset the TTL of the lock on `resource` if `token` holds it. False when it lost it.
    pub async fn extend_token(
        &self,
        resource: &str,
        token: &str,
        ttl: Duration,
    ) -> Result<bool, LockError> {
        check(resource)?;
        let keys = self.store.keys();
        let ttl_ms = (ttl.as_millis() as u64).max(1);
        let mut c = self.store.conn().await?;
        let mut pipe = redis::pipe();
        pipe.invoke_script(
            self.store
                .scripts()
                .lock_extend
                .key(keys.lock(resource))
                .key(keys.lock_holder(resource))
                .arg(token)
                .arg(ttl_ms),
        )
        .cmd("ZADD")
        .arg(keys.locks_index())
        .arg("GT")
        .arg(now_ms() + ttl_ms)
        .arg(resource)
        .ignore();
        let (held,): (i64,) = self.store.query_scripted(&mut c, &pipe).await?;
        Ok(held == 1)
    }

    /// Release the lock on `resource` if `token` holds it (compare-and-delete), and stop
    /// listing `token` as a waiter. True when this call released it.
    pub async fn release_token(&self, resource: &str, token: &str) -> Result<bool, LockError> {
        check(resource)?;
        let keys = self.store.keys();
        let mut c = self.store.conn().await?;
        let released: i64 = self
            .store
            .scripts()
            .lock_release
            .key(keys.lock(resource))
            .key(keys.lock_holder(resource))
            .key(keys.lock_waiters(resource))
            .key(keys.lock_waiters_seen(resource))
            .key(keys.lock_waiter_labels(resource))
            .arg(token)
            .invoke_async(&mut c)
            .await?;
        Ok(released == 1)
    }

    /// Write `value` to `key` only if `fence` is not older than the newest fence issued
    /// for `resource`; [`LockErrorKind::StaleFence`] when it is. `key` must share the
    /// resource's hash tag on Redis Cluster ([`crate::keys::Keys::lock_data`] does).
    /// `ttl` `None` keeps the key until it is overwritten or deleted.
    pub async fn fenced_write(
        &self,
        resource: &str,
        fence: u64,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<(), LockError> {
        check(resource)?;
        let mut c = self.store.conn().await?;
        let (written, newest): (i64, u64) = self
            .store
            .scripts()
            .fenced_write
            .key(self.store.keys().lock_fence(resource))
            .key(key)
            .arg(fence)
            .arg(value)
            .arg(ttl.map_or(0, |t| (t.as_millis() as u64).max(1)))
            .invoke_async(&mut c)
            .await?;
        if written == 1 {
            Ok(())
        } else {
            Err(LockError::with_source(
                LockErrorKind::StaleFence,
                format!("{resource}: fence {fence} is older than {newest}"),
            ))
        }
    }

    /// Held locks, and waiters that have waited at least `min_wait`.
    pub async fn report(&self, min_wait: Duration) -> Result<LockReport, LockError> {
        report::report(self, min_wait).await
    }
}
