//! A held lock: its fence, its watchdog, its release.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::{LockError, Locks};

/// A lock held by this process. While it lives, a watchdog task extends the lock every
/// `ttl/3` (when [`super::LockOptions::watchdog`] is on); dropping it stops the watchdog
/// and releases the lock in the background, [`LockGuard::release`] does so and waits.
///
/// Holding a guard does not prove the lock is still held (see the module docs): protect
/// writes with [`LockGuard::fenced_write`].
#[derive(Debug)]
pub struct LockGuard {
    locks: Locks,
    resource: String,
    token: String,
    fence: u64,
    lost: Arc<AtomicBool>,
    watchdog: Option<JoinHandle<()>>,
    released: bool,
}

impl LockGuard {
    pub(super) fn new(locks: Locks, resource: &str, token: String, fence: u64) -> Self {
        let lost = Arc::new(AtomicBool::new(false));
        let watchdog = locks.opts.watchdog.then(|| {
            tokio::spawn(watchdog(
                locks.clone(),
                resource.to_owned(),
                token.clone(),
                lost.clone(),
            ))
        });
        Self {
            locks,
            resource: resource.to_owned(),
            token,
            fence,
            lost,
            watchdog,
            released: false,
        }
    }

    /// The locked resource.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The fencing token of this acquisition (pass it to every protected write).
    pub fn fence(&self) -> u64 {
        self.fence
    }

    /// The random token that identifies this holder.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// True once the watchdog found the lock taken by someone else or expired. (False
    /// does not prove it is still held.)
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    /// Extend the lock by its TTL now. False (and marked lost) when it is no longer held.
    pub async fn extend(&self) -> Result<bool, LockError> {
        let held = self
            .locks
            .extend_token(&self.resource, &self.token, self.locks.opts.ttl)
            .await?;
        if !held {
            self.lost.store(true, Ordering::Relaxed);
        }
        Ok(held)
    }

    /// Write `value` to `key` if this holder's fence is still the newest (see
    /// [`Locks::fenced_write`]).
    pub async fn fenced_write(
        &self,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<(), LockError> {
        self.locks
            .fenced_write(&self.resource, self.fence, key, value, ttl)
            .await
    }

    /// Stop the watchdog and release the lock. True when it was still held.
    pub async fn release(mut self) -> Result<bool, LockError> {
        self.stop_watchdog();
        self.released = true;
        self.locks.release_token(&self.resource, &self.token).await
    }

    fn stop_watchdog(&mut self) {
        if let Some(w) = self.watchdog.take() {
            w.abort();
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        self.stop_watchdog();
        if self.released {
            return;
        }
        // Best effort: without a runtime the lock simply expires after its TTL.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (locks, resource, token) = (
                self.locks.clone(),
                std::mem::take(&mut self.resource),
                std::mem::take(&mut self.token),
            );
            rt.spawn(async move {
                if let Err(e) = locks.release_token(&resource, &token).await {
                    tracing::debug!(%resource, error = %e, "release on drop failed; the lock expires");
                }
            });
        }
    }
}

async fn watchdog(locks: Locks, resource: String, token: String, lost: Arc<AtomicBool>) {
    let ttl = locks.opts.ttl;
    let every = (ttl / 3).max(Duration::from_millis(1));
    loop {
        tokio::time::sleep(every).await;
        match locks.extend_token(&resource, &token, ttl).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(%resource, "lock lost while held (expired or taken)");
                lost.store(true, Ordering::Relaxed);
                return;
            }
            // Redis away: keep trying; if it stays away past the TTL the next answer is
            // "lost".
            Err(e) => tracing::debug!(%resource, error = %e, "lock extension failed"),
        }
    }
}
