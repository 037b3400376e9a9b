use std::time::Duration;

use super::{Store, StoreError};

/// Name of the fenced lease whose holder is the leading coordinator: the one that runs
/// the singleton duties (deadline sweeper, dead-letter mover).
pub const COORDINATOR_LEADER: &str = "coordinator-leader";

/// The holder of a fenced lease, as recorded in Redis (for `daa inspect leader`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LeaseHolder {
    /// Holder id (a coordinator's instance name).
    pub holder: String,
    /// The fence the holder was given when it acquired the lease.
    pub fence: u64,
    /// When it acquired the lease (Unix ms).
    pub acquired_ms: u64,
    /// Its last renewal (Unix ms).
    pub renewed_ms: u64,
    /// The lease period (ms).
    pub ttl_ms: u64,
    /// Time left before the lease expires unless renewed (ms).
    pub expires_in_ms: u64,
}

/// Result of [`Store::fenced_lease`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// The caller holds the lease with this fence (acquired now, or renewed).
    Held(u64),
    /// Another holder has it, with this fence.
    Taken(u64),
}

impl Store {
    /// Acquire or renew the fenced lease `name` for `holder`. Acquiring increments the
    /// lease's fencing counter (so every new holder gets a larger fence than any before);
    /// renewing keeps the fence.
    pub async fn fenced_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<LeaseOutcome, StoreError> {
        let mut c = self.conn().await?;
        let (held, fence): (i64, u64) = self
            .scripts
            .fenced_lease
            .key(self.keys.fenced_lease(name))
            .key(self.keys.fenced_lease_counter(name))
            .arg(holder)
            .arg(ttl.as_millis() as u64)
            .arg(crate::time::now_ms())
            .invoke_async(&mut c)
            .await?;
        Ok(if held == 1 {
            LeaseOutcome::Held(fence)
        } else {
            LeaseOutcome::Taken(fence)
        })
    }

    /// True when `holder` still holds the fenced lease `name` with `fence` (a stale
    /// fence is refused).
    pub async fn fence_current(
        &self,
        name: &str,
        holder: &str,
        fence: u64,
    ) -> Result<bool, StoreError> {
        self.fence_script(&self.scripts.fence_check, name, holder, fence)
            .await
    }

    /// Give the fenced lease up if `holder` holds it with `fence`. True when released.
    pub async fn release_fenced_lease(
        &self,
        name: &str,
        holder: &str,
        fence: u64,
    ) -> Result<bool, StoreError> {
        self.fence_script(&self.scripts.fenced_release, name, holder, fence)
            .await
    }

    /// Run a script over the fenced lease `name` that answers 1 when `holder` holds it
    /// with `fence` (and then acts: checks, releases).
    async fn fence_script(
        &self,
        script: &redis::Script,
        name: &str,
        holder: &str,
        fence: u64,
    ) -> Result<bool, StoreError> {
        let mut c = self.conn().await?;
        let ok: i64 = script
            .key(self.keys.fenced_lease(name))
            .arg(holder)
            .arg(fence)
            .invoke_async(&mut c)
            .await?;
        Ok(ok == 1)
    }

    /// Who holds the fenced lease `name` now, if anyone.
    pub async fn lease_holder(&self, name: &str) -> Result<Option<LeaseHolder>, StoreError> {
        let mut c = self.conn().await?;
        let key = self.keys.fenced_lease(name);
        let (h, pttl): (std::collections::HashMap<String, String>, i64) = redis::pipe()
            .hgetall(&key)
            .pttl(&key)
            .query_async(&mut c)
            .await?;
        let Some(holder) = h.get("holder").cloned() else {
            return Ok(None);
        };
        let num = |k: &str| h.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        Ok(Some(LeaseHolder {
            holder,
            fence: num("fence"),
            acquired_ms: num("acquired_ms"),
            renewed_ms: num("renewed_ms"),
            ttl_ms: num("ttl_ms"),
            expires_in_ms: u64::try_from(pttl).unwrap_or(0),
        }))
    }

    /// The last fence handed out for the fenced lease `name` (0 when never acquired).
    pub async fn lease_fence_counter(&self, name: &str) -> Result<u64, StoreError> {
        let mut c = self.conn().await?;
        let v: Option<u64> = redis::cmd("GET")
            .arg(self.keys.fenced_lease_counter(name))
            .query_async(&mut c)
            .await?;
        Ok(v.unwrap_or(0))
    }
}
