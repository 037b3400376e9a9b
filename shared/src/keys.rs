//! Every Redis key, under the configurable prefix (default `daa:`). Keys of one job share
//! the hash tag `{<job_id>}` so multi-key scripts work on Redis Cluster.

use crate::model::AgentKind;

/// Redis key names under one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

impl Default for Keys {
    fn default() -> Self {
        Self::new("daa:")
    }
}

impl Keys {
    /// Keys under `prefix` (include the trailing `:`).
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Hash: the job's state machine.
    pub fn job(&self, job_id: &str) -> String {
        format!("{}job:{{{job_id}}}", self.prefix)
    }
    /// Hash: task id → encoded stage result.
    pub fn job_outputs(&self, job_id: &str) -> String {
        format!("{}job:{{{job_id}}}:outputs", self.prefix)
    }
    /// Set: task ids of the current stage still waiting for a result.
    pub fn job_open(&self, job_id: &str) -> String {
        format!("{}job:{{{job_id}}}:open", self.prefix)
    }
    /// String: the encoded result document once the job has ended.
    pub fn job_result(&self, job_id: &str) -> String {
        format!("{}job:{{{job_id}}}:result", self.prefix)
    }
    /// List: every failed delivery attempt of the job's tasks (DLQ history).
    pub fn job_attempts(&self, job_id: &str) -> String {
        format!("{}job:{{{job_id}}}:attempts", self.prefix)
    }
    /// Sorted set: job id scored by deadline (Unix ms), swept by the coordinator.
    pub fn deadlines(&self) -> String {
        format!("{}jobs:deadlines", self.prefix)
    }
    /// Sorted set: job id scored by creation time, for listing.
    pub fn jobs_index(&self) -> String {
        format!("{}jobs:index", self.prefix)
    }
    /// Hash: one worker's heartbeat.
    pub fn agent(&self, agent: AgentKind, instance: &str) -> String {
        format!("{}agent:{agent}:{instance}", self.prefix)
    }
    /// Sorted set: instances of an agent type scored by last heartbeat (Unix ms).
    pub fn agents(&self, agent: AgentKind) -> String {
        format!("{}agents:{agent}", self.prefix)
    }
    /// String: a named lease (singleton duty) holding its holder's id.
    pub fn lease(&self, name: &str) -> String {
        format!("{}lease:{name}", self.prefix)
    }
    /// Hash: a fenced lease (coordinator leadership): holder, fence, acquired_ms,
    /// renewed_ms, ttl_ms; expires with the lease.
    pub fn fenced_lease(&self, name: &str) -> String {
        format!("{}lease:{{{name}}}:holder", self.prefix)
    }
    /// String: the fencing counter of a fenced lease (only grows, never expires).
    pub fn fenced_lease_counter(&self, name: &str) -> String {
        format!("{}lease:{{{name}}}:fence", self.prefix)
    }
}
