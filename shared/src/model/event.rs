use serde::{Deserialize, Serialize};

use super::{schema_version, AgentKind, JobStatus, Stage};

/// Published on `daa.events.job.<status>` for every state change of a job.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobEvent {
    /// Schema version.
    #[serde(default = "schema_version")]
    pub v: u32,
    /// The job.
    pub job_id: String,
    /// Its new status.
    pub status: JobStatus,
    /// Reason, for failed and partial jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Published on `daa.events.task.<state>` (started, succeeded, failed, retried).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskEvent {
    /// Schema version.
    #[serde(default = "schema_version")]
    pub v: u32,
    /// The task.
    pub task_id: String,
    /// Its job.
    pub job_id: String,
    /// Its stage.
    pub stage: Stage,
    /// Agent type.
    pub agent: AgentKind,
    /// Worker instance.
    pub instance: String,
    /// Delivery attempt (1-based).
    pub attempt: u64,
    /// Error message, for failed and retried tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
