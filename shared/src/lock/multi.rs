//! Several locks at once, in one global order.
//!
//! Every caller sorts the resource names and takes them one by one, so the "waits for"
//! relation always points from a smaller name held to a larger one wanted: it can have
//! no cycle, hence no deadlock. The timeout covers the whole acquisition; on failure the
//! locks already taken are released before the error returns.

use std::time::Duration;

use super::{LockError, LockGuard, Locks};

/// Several held locks, released together.
#[derive(Debug)]
pub struct MultiGuard {
    guards: Vec<LockGuard>,
}

impl MultiGuard {
    /// The held locks, in acquisition (sorted) order.
    pub fn guards(&self) -> &[LockGuard] {
        &self.guards
    }

    /// The guard of `resource`, if it is one of them.
    pub fn get(&self, resource: &str) -> Option<&LockGuard> {
        self.guards.iter().find(|g| g.resource() == resource)
    }

    /// Release every lock, in reverse order. True when every one was still held.
    pub async fn release(self) -> Result<bool, LockError> {
        let mut all = true;
        let mut first_err = None;
        for g in self.guards.into_iter().rev() {
            match g.release().await {
                Ok(held) => all &= held,
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(all),
        }
    }
}

pub(super) async fn acquire_all(
    locks: &Locks,
    resources: &[&str],
    timeout: Duration,
) -> Result<MultiGuard, LockError> {
    let mut names: Vec<&str> = resources.to_vec();
    names.sort_unstable();
    names.dedup();
    let deadline = tokio::time::Instant::now() + timeout;
    let mut guards = Vec::with_capacity(names.len());
    for name in names {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match locks.acquire(name, left).await {
            Ok(g) => guards.push(g),
            Err(e) => {
                for g in guards.into_iter().rev() {
                    let _ = g.release().await;
                }
                return Err(e);
            }
        }
    }
    Ok(MultiGuard { guards })
}
