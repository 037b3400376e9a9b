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
    /// Hash: task id → stage index of each committed result (the commit record).
    pub fn job_outputs(&self, job_id: &str) -> String {
        format!("{}job:{{{job_id}}}:outputs", self.prefix)
    }
    /// String: the encoded stage result of task `task_id` (the outputs hash's key, a
    /// colon and the task id, so that the finish script can name it).
    pub fn job_output(&self, job_id: &str, task_id: &str) -> String {
        format!("{}job:{{{job_id}}}:outputs:{task_id}", self.prefix)
    }
    /// Set: task ids of the current stage still waiting for a result.
    pub fn job_open(&self, job_id: &str) -> String {
        format!("{}job:{{{job_id}}}:open", self.prefix)
    }
    /// String: the encoded result document once the job has ended.
    pub fn job_result(&self, job_id: &str) -> String {
        format!("{}job:{{{job_id}}}:result", self.prefix)
    }
    /// String: a stage result or result document written with a plain `SET` under a
    /// unique `token`, for a script to move into place with `RENAME` (a value passed to
    /// a Lua script is copied into the interpreter: about 1.2 ms per MB during which
    /// Redis serves no one).
    pub fn job_staged(&self, job_id: &str, token: &str) -> String {
        format!("{}job:{{{job_id}}}:staged:{token}", self.prefix)
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

    // Locks, result cache and coordination memory. Keys of one lock resource share the
    // hash tag `{<resource>}` (the cache keys of a cache entry use the same tag, so the
    // fenced write and the follower bookkeeping run in one script on Redis Cluster).

    /// String: a held lock's token (`SET NX PX`).
    pub fn lock(&self, resource: &str) -> String {
        format!("{}lock:{{{resource}}}", self.prefix)
    }
    /// String: the lock's fencing counter (incremented on every acquisition).
    pub fn lock_fence(&self, resource: &str) -> String {
        format!("{}lock:{{{resource}}}:fence", self.prefix)
    }
    /// Hash: who holds the lock (holder label, fence, acquired_ms), same TTL as the lock.
    pub fn lock_holder(&self, resource: &str) -> String {
        format!("{}lock:{{{resource}}}:holder", self.prefix)
    }
    /// Sorted set: waiting tokens scored by when they started waiting (Unix ms).
    pub fn lock_waiters(&self, resource: &str) -> String {
        format!("{}lock:{{{resource}}}:waiters", self.prefix)
    }
    /// Sorted set: waiting tokens scored by their last attempt (stale waiters are pruned).
    pub fn lock_waiters_seen(&self, resource: &str) -> String {
        format!("{}lock:{{{resource}}}:seen", self.prefix)
    }
    /// Hash: waiting token → holder label, for the report.
    pub fn lock_waiter_labels(&self, resource: &str) -> String {
        format!("{}lock:{{{resource}}}:labels", self.prefix)
    }
    /// String: data `name` protected by the lock `resource` (for fenced writes; shares
    /// the lock's hash tag).
    pub fn lock_data(&self, resource: &str, name: &str) -> String {
        format!("{}lock:{{{resource}}}:data:{name}", self.prefix)
    }
    /// Sorted set: resources with a holder or waiters, scored by when that stops being
    /// true at the latest (Unix ms), for `daa inspect locks`.
    pub fn locks_index(&self) -> String {
        format!("{}locks:index", self.prefix)
    }
    /// String: a cached result document, written by a fenced write under the lock
    /// `resource` (`cache:<key>`).
    pub fn cache_entry(&self, resource: &str) -> String {
        format!("{}cache:{{{resource}}}:result", self.prefix)
    }
    /// Set: jobs waiting for the job that holds the cache lock `resource` to finish.
    pub fn cache_followers(&self, resource: &str) -> String {
        format!("{}cache:{{{resource}}}:followers", self.prefix)
    }
    /// String: `<fence>` of the cache lock a leading job holds (its finish path reads it).
    pub fn job_cache_lead(&self, job_id: &str) -> String {
        format!("{}job:{{{job_id}}}:cache", self.prefix)
    }
    /// String: one coordination memory entry (JSON), `<agent>/<task>/<timestamp>`.
    pub fn memory_entry(&self, namespace: &str, path: &str) -> String {
        format!("{}memory:{{{namespace}}}:e:{path}", self.prefix)
    }
    /// Sorted set: a namespace's entry paths scored by when they expire (Unix ms; +inf
    /// for entries without a TTL). Searched with ZSCAN MATCH, never KEYS.
    pub fn memory_index(&self, namespace: &str) -> String {
        format!("{}memory:{{{namespace}}}:index", self.prefix)
    }
    /// Set: namespaces that hold entries.
    pub fn memory_namespaces(&self) -> String {
        format!("{}memory:namespaces", self.prefix)
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
