//! Worker heartbeats: a hash per instance with a TTL, and a sorted set per agent type
//! scored by the last beat, so "who is alive" is one range query.

use std::collections::HashMap;

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};
use crate::model::AgentKind;
use crate::time::now_ms;

/// The `state` a worker reports in its heartbeat (and answers to control requests).
pub mod worker_state {
    /// Fetching tasks.
    pub const RUNNING: &str = "running";
    /// Told to pause: fetches nothing until resumed.
    pub const PAUSED: &str = "paused";
    /// Finishing its in-flight tasks before it exits.
    pub const DRAINING: &str = "draining";
}

/// What a worker reports every heartbeat.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Heartbeat {
    /// Instance name.
    pub instance: String,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// daa version.
    pub version: String,
    /// `running`, `paused`, `draining`.
    pub state: String,
    /// Tasks running now.
    pub in_flight: u64,
    /// Tasks finished (any outcome).
    pub processed: u64,
    /// Tasks failed.
    pub failed: u64,
    /// Median task latency (ms).
    pub p50_ms: u64,
    /// 99th percentile task latency (ms).
    pub p99_ms: u64,
    /// Resident memory (bytes).
    pub rss_bytes: u64,
    /// Concurrency limit.
    pub concurrency: u64,
    /// The agent's own status (`{"state": "ready"}`, `{"state": "degraded", "reason": ..}`).
    #[serde(default)]
    pub agent_status: serde_json::Value,
    /// The agent's own gauges and counters.
    #[serde(default)]
    pub metrics: std::collections::BTreeMap<String, f64>,
    /// Circuit breakers of its dependencies: the worker's own (every one) and the
    /// agent's (those not closed).
    #[serde(default)]
    pub breakers: Vec<crate::breaker::BreakerState>,
}

/// A worker seen alive.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveAgent {
    /// Instance name.
    pub instance: String,
    /// Last beat (Unix ms).
    pub last_beat_ms: u64,
    /// Its last heartbeat, if still stored.
    pub heartbeat: Option<Heartbeat>,
}

impl LiveAgent {
    /// Task slots that will fetch work: its concurrency while it runs, none while it is
    /// paused or draining. A worker whose heartbeat record has expired counts one slot.
    pub fn fetching_slots(&self) -> usize {
        self.heartbeat
            .as_ref()
            .map_or(1, |h| h.fetching_slots() as usize)
    }
}

impl Heartbeat {
    /// Task slots that will fetch work: the concurrency while running, none while
    /// paused or draining.
    pub fn fetching_slots(&self) -> u64 {
        if self.state == worker_state::RUNNING {
            self.concurrency.max(1)
        } else {
            0
        }
    }
}

impl Store {
    /// Record a heartbeat that expires after `ttl_ms` unless renewed.
    pub async fn heartbeat(
        &self,
        agent: AgentKind,
        hb: &Heartbeat,
        ttl_ms: u64,
    ) -> Result<(), StoreError> {
        let mut c = self.conn().await?;
        let json = serde_json::to_string(hb).unwrap_or_default();
        let now = now_ms();
        let _: () = redis::pipe()
            .set_ex(
                self.keys.agent(agent, &hb.instance),
                json,
                ttl_ms.div_ceil(1000),
            )
            .zadd(self.keys.agents(agent), &hb.instance, now)
            .zrembyscore(
                self.keys.agents(agent),
                0,
                now.saturating_sub(24 * 3600 * 1000),
            )
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    /// Remove a worker's heartbeat (clean exit).
    pub async fn remove_heartbeat(
        &self,
        agent: AgentKind,
        instance: &str,
    ) -> Result<(), StoreError> {
        let mut c = self.conn().await?;
        let _: () = redis::pipe()
            .del(self.keys.agent(agent, instance))
            .zrem(self.keys.agents(agent), instance)
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    /// Workers of `agent` that beat within `window_ms`.
    pub async fn live_agents(
        &self,
        agent: AgentKind,
        window_ms: u64,
    ) -> Result<Vec<LiveAgent>, StoreError> {
        let mut c = self.conn().await?;
        let since = now_ms().saturating_sub(window_ms);
        let rows: Vec<(String, f64)> = c
            .zrangebyscore_withscores(self.keys.agents(agent), since, "+inf")
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = rows
            .iter()
            .map(|(i, _)| self.keys.agent(agent, i))
            .collect();
        let blobs: Vec<Option<String>> = c.mget(&keys).await?;
        Ok(rows
            .into_iter()
            .zip(blobs)
            .map(|((instance, score), blob)| LiveAgent {
                instance,
                last_beat_ms: score as u64,
                heartbeat: blob.and_then(|b| serde_json::from_str(&b).ok()),
            })
            .collect())
    }

    /// Count of live workers per agent type.
    pub async fn live_counts(
        &self,
        window_ms: u64,
    ) -> Result<HashMap<AgentKind, usize>, StoreError> {
        let mut out = HashMap::new();
        for a in AgentKind::ALL {
            out.insert(a, self.live_agents(a, window_ms).await?.len());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(state: Option<&str>, concurrency: u64) -> LiveAgent {
        LiveAgent {
            instance: "w".into(),
            last_beat_ms: 0,
            heartbeat: state.map(|s| Heartbeat {
                state: s.into(),
                concurrency,
                ..Heartbeat::default()
            }),
        }
    }

    #[test]
    fn only_running_workers_offer_task_slots() {
        assert_eq!(agent(Some("running"), 4).fetching_slots(), 4);
        assert_eq!(agent(Some("running"), 0).fetching_slots(), 1);
        assert_eq!(agent(Some("paused"), 4).fetching_slots(), 0);
        assert_eq!(agent(Some("draining"), 4).fetching_slots(), 0);
        assert_eq!(agent(None, 4).fetching_slots(), 1);
    }
}
