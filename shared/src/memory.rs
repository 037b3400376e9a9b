//! Coordination memory (the seed's SharedMemory): what agents learn, shared through Redis.
//!
//! An entry is addressed by `namespace/agent/task/timestamp` (timestamp in Unix ms) and
//! holds a JSON value, optionally with a TTL. Each namespace has an index (a sorted set of
//! `agent/task/timestamp` paths scored by expiry) that [`Memory::search`] scans with
//! `ZSCAN ... MATCH <glob>`, never `KEYS`. Storing an entry publishes a notification on
//! core NATS `daa.memory.<namespace>` when the handle has a NATS client.
//!
//! Two entries stored for the same `namespace/agent/task` in the same millisecond share
//! an address: the later one wins. Expired entries leave the index lazily (on the next
//! store or search in their namespace).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError, StoreErrorKind};
use crate::subjects::Subjects;
use crate::time::now_ms;
use crate::Error;

/// Namespace of the processing-time estimates workers store (`estimates/<agent>/...`).
pub const ESTIMATES_NAMESPACE: &str = "estimates";
/// Task name of an agent type's task-duration estimate: `estimates/<agent>/task_ms/<ts>`
/// holds `{instance, ewma_ms, samples, p50_ms, p99_ms}` from one worker.
pub const ESTIMATE_TASK_MS: &str = "task_ms";

/// What went wrong with coordination memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemoryErrorKind {
    /// An address or part of one is malformed.
    #[error("invalid memory address")]
    Invalid,
    /// Redis could not be reached or timed out.
    #[error("Redis is unavailable")]
    Unavailable,
    /// Redis answered with an error.
    #[error("Redis command failed")]
    Command,
    /// A stored value is not JSON.
    #[error("stored entry is corrupt")]
    Corrupt,
}

/// Coordination memory error.
pub type MemoryError = Error<MemoryErrorKind>;

impl From<StoreError> for MemoryError {
    fn from(e: StoreError) -> Self {
        let kind = match e.kind() {
            StoreErrorKind::Unavailable => MemoryErrorKind::Unavailable,
            StoreErrorKind::Corrupt => MemoryErrorKind::Corrupt,
            StoreErrorKind::Command => MemoryErrorKind::Command,
        };
        MemoryError::with_source(kind, e)
    }
}

impl From<redis::RedisError> for MemoryError {
    fn from(e: redis::RedisError) -> Self {
        StoreError::from(e).into()
    }
}

fn invalid(what: impl Into<String>) -> MemoryError {
    MemoryError::with_source(MemoryErrorKind::Invalid, what.into())
}

/// The address of an entry: `namespace/agent/task/timestamp_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemoryKey {
    /// Namespace (`estimates`...): letters, digits, `_` and `-` (it is a NATS subject
    /// token).
    pub namespace: String,
    /// Agent the entry is about or from (`pdf`, an instance name...).
    pub agent: String,
    /// Task or topic within the agent (`task_ms`, a task id...).
    pub task: String,
    /// When it was stored (Unix ms).
    pub timestamp_ms: u64,
}

fn valid_namespace(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

fn valid_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '@'))
}

impl MemoryKey {
    /// The address of `namespace/agent/task` at `timestamp_ms`, checked.
    pub fn new(
        namespace: &str,
        agent: &str,
        task: &str,
        timestamp_ms: u64,
    ) -> Result<Self, MemoryError> {
        if !valid_namespace(namespace) {
            return Err(invalid(format!(
                "namespace {namespace:?} must be 1-64 of [A-Za-z0-9_-]"
            )));
        }
        for (what, v) in [("agent", agent), ("task", task)] {
            if !valid_part(v) {
                return Err(invalid(format!(
                    "{what} {v:?} must be 1-200 of [A-Za-z0-9_.:@-]"
                )));
            }
        }
        Ok(Self {
            namespace: namespace.to_owned(),
            agent: agent.to_owned(),
            task: task.to_owned(),
            timestamp_ms,
        })
    }

    /// `agent/task/timestamp`: the entry's path inside its namespace.
    pub fn path(&self) -> String {
        format!("{}/{}/{}", self.agent, self.task, self.timestamp_ms)
    }

    fn from_path(namespace: &str, path: &str) -> Option<Self> {
        let mut it = path.splitn(3, '/');
        let (agent, task, ts) = (it.next()?, it.next()?, it.next()?);
        MemoryKey::new(namespace, agent, task, ts.parse().ok()?).ok()
    }
}

impl fmt::Display for MemoryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.path())
    }
}

impl FromStr for MemoryKey {
    type Err = MemoryError;
    fn from_str(s: &str) -> Result<Self, MemoryError> {
        let (ns, path) = s
            .split_once('/')
            .ok_or_else(|| invalid(format!("{s:?} is not namespace/agent/task/timestamp")))?;
        MemoryKey::from_path(ns, path)
            .ok_or_else(|| invalid(format!("{s:?} is not namespace/agent/task/timestamp")))
    }
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryEntry {
    /// Its address.
    pub key: MemoryKey,
    /// Its value.
    pub value: serde_json::Value,
    /// When it expires (Unix ms), if it has a TTL.
    pub expires_at_ms: Option<u64>,
}

/// The notification published on `daa.memory.<namespace>` when an entry is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryNotice {
    /// Schema version.
    pub v: u32,
    /// `namespace/agent/task/timestamp`.
    pub key: String,
    /// Namespace.
    pub namespace: String,
    /// Agent.
    pub agent: String,
    /// Task.
    pub task: String,
    /// Timestamp (Unix ms).
    pub timestamp_ms: u64,
    /// Expiry (Unix ms), if any.
    pub expires_at_ms: Option<u64>,
}

/// Handle to coordination memory. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Memory {
    store: Store,
    notify: Option<(async_nats::Client, Subjects)>,
}

impl Memory {
    /// Memory on `store`, without notifications.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            notify: None,
        }
    }

    /// Also publish a [`MemoryNotice`] on core NATS for every stored entry.
    pub fn with_notifications(mut self, client: async_nats::Client, subjects: Subjects) -> Self {
        self.notify = Some((client, subjects));
        self
    }

    /// Store `value` under `namespace/agent/task/<now>`; returns its address.
    pub async fn store(
        &self,
        namespace: &str,
        agent: &str,
        task: &str,
        value: &serde_json::Value,
        ttl: Option<Duration>,
    ) -> Result<MemoryKey, MemoryError> {
        let key = MemoryKey::new(namespace, agent, task, now_ms())?;
        self.store_at(&key, value, ttl).await?;
        Ok(key)
    }

    /// Store `value` at exactly `key` (replacing what was there).
    pub async fn store_at(
        &self,
        key: &MemoryKey,
        value: &serde_json::Value,
        ttl: Option<Duration>,
    ) -> Result<(), MemoryError> {
        let keys = self.store.keys();
        let now = now_ms();
        let ttl_ms = ttl.map(|t| (t.as_millis() as u64).max(1));
        let expires_at_ms = ttl_ms.map(|t| now + t);
        let path = key.path();
        let mut c = self.store.conn().await?;
        let mut pipe = redis::pipe();
        pipe.invoke_script(
            self.store
                .scripts()
                .memory_store
                .key(keys.memory_entry(&key.namespace, &path))
                .key(keys.memory_index(&key.namespace))
                .arg(&path)
                .arg(value.to_string())
                .arg(ttl_ms.unwrap_or(0))
                .arg(now)
                .arg(expires_at_ms.map_or_else(|| "+inf".to_owned(), |t| t.to_string())),
        )
        .ignore()
        .sadd(keys.memory_namespaces(), &key.namespace)
        .ignore();
        let () = self.store.query_scripted(&mut c, &pipe).await?;
        if let Some((client, subjects)) = &self.notify {
            let notice = MemoryNotice {
                v: 1,
                key: key.to_string(),
                namespace: key.namespace.clone(),
                agent: key.agent.clone(),
                task: key.task.clone(),
                timestamp_ms: key.timestamp_ms,
                expires_at_ms,
            };
            let payload = serde_json::to_vec(&notice).unwrap_or_default();
            // Notifications are best effort (core NATS): the entry is stored either way.
            if let Err(e) = client
                .publish(subjects.memory(&key.namespace), payload.into())
                .await
            {
                tracing::debug!(key = %key, error = %e, "memory notification not sent");
            }
        }
        Ok(())
    }

    /// The entry at `key`, if it exists (and has not expired).
    pub async fn get(&self, key: &MemoryKey) -> Result<Option<MemoryEntry>, MemoryError> {
        let keys = self.store.keys();
        let mut c = self.store.conn().await?;
        let entry = keys.memory_entry(&key.namespace, &key.path());
        let (raw, pttl): (Option<String>, i64) = redis::pipe()
            .get(&entry)
            .cmd("PTTL")
            .arg(&entry)
            .query_async(&mut c)
            .await?;
        let Some(raw) = raw else {
            return Ok(None);
        };
        Ok(Some(MemoryEntry {
            key: key.clone(),
            value: parse(&raw)?,
            expires_at_ms: (pttl > 0).then(|| now_ms() + pttl as u64),
        }))
    }

    /// The newest entry of `namespace/agent/task`.
    pub async fn latest(
        &self,
        namespace: &str,
        agent: &str,
        task: &str,
    ) -> Result<Option<MemoryEntry>, MemoryError> {
        // Checks the parts (so they hold no glob characters).
        MemoryKey::new(namespace, agent, task, 0)?;
        Ok(self
            .search(namespace, &format!("{agent}/{task}/*"), 1)
            .await?
            .into_iter()
            .next())
    }

    /// Entries of `namespace` whose `agent/task/timestamp` path matches the glob
    /// `pattern` (`*`, `?`, `[...]` as in Redis `MATCH`), newest first, at most `limit`.
    pub async fn search(
        &self,
        namespace: &str,
        pattern: &str,
        limit: usize,
    ) -> Result<Vec<MemoryEntry>, MemoryError> {
        if !valid_namespace(namespace) {
            return Err(invalid(format!("namespace {namespace:?}")));
        }
        let keys = self.store.keys();
        let index = keys.memory_index(namespace);
        let now = now_ms();
        let mut c = self.store.conn().await?;
        let mut found: Vec<(MemoryKey, Option<u64>)> = Vec::new();
        let mut expired: Vec<String> = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, page): (u64, Vec<(String, f64)>) = redis::cmd("ZSCAN")
                .arg(&index)
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(500)
                .query_async(&mut c)
                .await?;
            for (path, expires) in page {
                let expires_at = expires.is_finite().then_some(expires as u64);
                if expires_at.is_some_and(|t| t < now) {
                    expired.push(path);
                } else if let Some(k) = MemoryKey::from_path(namespace, &path) {
                    found.push((k, expires_at));
                }
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        if !expired.is_empty() {
            let _: () = redis::cmd("ZREM")
                .arg(&index)
                .arg(&expired)
                .query_async(&mut c)
                .await?;
        }
        found.sort_by_key(|e| std::cmp::Reverse(e.0.timestamp_ms));
        let mut out = Vec::new();
        // Read values newest first, in batches, until `limit` live entries are found.
        for batch in found.chunks(limit.clamp(1, 200)) {
            let names: Vec<String> = batch
                .iter()
                .map(|(k, _)| keys.memory_entry(namespace, &k.path()))
                .collect();
            let values: Vec<Option<String>> =
                redis::cmd("MGET").arg(&names).query_async(&mut c).await?;
            for ((k, expires_at_ms), raw) in batch.iter().zip(values) {
                let Some(raw) = raw else { continue };
                out.push(MemoryEntry {
                    key: k.clone(),
                    value: parse(&raw)?,
                    expires_at_ms: *expires_at_ms,
                });
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }

    /// Delete the entry at `key`. True when it existed.
    pub async fn delete(&self, key: &MemoryKey) -> Result<bool, MemoryError> {
        let keys = self.store.keys();
        let mut c = self.store.conn().await?;
        let path = key.path();
        let (n, _): (i64, i64) = redis::pipe()
            .del(keys.memory_entry(&key.namespace, &path))
            .zrem(keys.memory_index(&key.namespace), &path)
            .query_async(&mut c)
            .await?;
        Ok(n == 1)
    }

    /// Namespaces that have held entries.
    pub async fn namespaces(&self) -> Result<Vec<String>, MemoryError> {
        let mut c = self.store.conn().await?;
        let mut v: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.store.keys().memory_namespaces())
            .query_async(&mut c)
            .await?;
        v.sort();
        Ok(v)
    }
}

fn parse(raw: &str) -> Result<serde_json::Value, MemoryError> {
    serde_json::from_str(raw).map_err(|e| MemoryError::with_source(MemoryErrorKind::Corrupt, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_and_are_checked() {
        let k: MemoryKey = "estimates/pdf/task_ms/1700000000000".parse().expect("key");
        assert_eq!(k.namespace, "estimates");
        assert_eq!(k.agent, "pdf");
        assert_eq!(k.task, "task_ms");
        assert_eq!(k.timestamp_ms, 1_700_000_000_000);
        assert_eq!(k.to_string(), "estimates/pdf/task_ms/1700000000000");
        for bad in [
            "estimates/pdf/task_ms",
            "a.b/pdf/t/1",
            "ns/p*f/t/1",
            "ns/pdf/t/x",
            "ns//t/1",
        ] {
            assert_eq!(
                bad.parse::<MemoryKey>().map(|_| ()).unwrap_err().kind(),
                MemoryErrorKind::Invalid,
                "{bad}"
            );
        }
    }
}
