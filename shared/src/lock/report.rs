//! Who holds which lock, and who has waited long (`daa inspect locks`).

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use super::{LockError, Locks};
use crate::time::now_ms;

/// A held lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldLock {
    /// The resource.
    pub resource: String,
    /// Holder label (host-pid, job id...).
    pub holder: String,
    /// Fence of the current acquisition.
    pub fence: u64,
    /// Time left before the lock expires, in ms.
    pub ttl_ms: u64,
    /// When it was acquired (Unix ms).
    pub acquired_ms: u64,
}

/// A caller waiting for a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiter {
    /// The resource.
    pub resource: String,
    /// Waiter label.
    pub holder: String,
    /// When it started waiting (Unix ms).
    pub since_ms: u64,
    /// How long it has waited so far, in ms.
    pub waited_ms: u64,
}

/// Held locks and long waiters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LockReport {
    /// Held locks, by resource name.
    pub held: Vec<HeldLock>,
    /// Waiters that waited at least the threshold, longest first.
    pub waiters: Vec<Waiter>,
}

type Fields = HashMap<String, String>;

pub(super) async fn report(locks: &Locks, min_wait: Duration) -> Result<LockReport, LockError> {
    let store = &locks.store;
    let keys = store.keys();
    let now = now_ms();
    let mut c = store.conn().await?;
    let index = keys.locks_index();
    // Pruning expired entries from the index is housekeeping: a reader whose Redis user
    // may only read (redis-users.conf's `client`) still gets the report.
    let pruned: Result<(), _> = redis::cmd("ZREMRANGEBYSCORE")
        .arg(&index)
        .arg("-inf")
        .arg(format!("({now}"))
        .query_async(&mut c)
        .await;
    if let Err(e) = pruned {
        tracing::debug!(error = %e, "lock index not pruned");
    }
    let resources: Vec<String> = redis::cmd("ZRANGEBYSCORE")
        .arg(&index)
        .arg(now)
        .arg("+inf")
        .query_async(&mut c)
        .await?;
    let oldest_start = now.saturating_sub(min_wait.as_millis() as u64);
    let stale_before = now.saturating_sub(locks.opts.waiter_stale.as_millis() as u64);
    let mut out = LockReport::default();
    for chunk in resources.chunks(100) {
        let mut pipe = redis::pipe();
        for r in chunk {
            pipe.hgetall(keys.lock_holder(r))
                .cmd("PTTL")
                .arg(keys.lock(r))
                .zrangebyscore_withscores(keys.lock_waiters(r), "-inf", oldest_start)
                .zrangebyscore(keys.lock_waiters_seen(r), stale_before, "+inf")
                .hgetall(keys.lock_waiter_labels(r));
        }
        type Row = (Fields, i64, Vec<(String, f64)>, Vec<String>, Fields);
        let rows: Vec<Row> = pipe.query_async(&mut c).await?;
        for (r, (holder, pttl, waiting, live, labels)) in chunk.iter().zip(rows) {
            if pttl > 0 && !holder.is_empty() {
                let num = |k: &str| holder.get(k).and_then(|v| v.parse().ok()).unwrap_or(0);
                out.held.push(HeldLock {
                    resource: r.clone(),
                    holder: holder.get("holder").cloned().unwrap_or_default(),
                    fence: num("fence"),
                    ttl_ms: pttl as u64,
                    acquired_ms: num("acquired_ms"),
                });
            }
            for (token, since) in waiting {
                let since_ms = since as u64;
                // A waiter that stopped trying (crashed) is not waiting any more.
                if !live.contains(&token) {
                    continue;
                }
                out.waiters.push(Waiter {
                    resource: r.clone(),
                    holder: labels.get(&token).cloned().unwrap_or(token),
                    since_ms,
                    waited_ms: now.saturating_sub(since_ms),
                });
            }
        }
    }
    out.held.sort_by(|a, b| a.resource.cmp(&b.resource));
    out.waiters.sort_by_key(|w| w.since_ms);
    Ok(out)
}
