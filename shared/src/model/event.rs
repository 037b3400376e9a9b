use serde::{Deserialize, Serialize};

use super::{schema_version, AgentKind, FailureKind, JobStatus, Stage};

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

/// Published on `daa.events.task.<state>` (started, succeeded, failed, retried) by the
/// worker running the task (core NATS; the `DAA_EVENTS` stream keeps them).
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
    /// What happened (also the last token of the subject).
    #[serde(default)]
    pub state: TaskState,
    /// Failure class, for failed and retried tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<FailureKind>,
    /// Time inside the agent, for finished tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// When it happened (Unix ms).
    #[serde(default)]
    pub at_ms: u64,
}

/// The states a [`TaskEvent`] reports.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// A worker started running the task.
    #[default]
    Started,
    /// It succeeded; its result was published.
    Succeeded,
    /// It failed for good; its failure result was published.
    Failed,
    /// It failed and was handed back to be delivered again (after a delay).
    Retried,
}

impl TaskState {
    /// Name used in the subject `daa.events.task.<state>`.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Started => "started",
            TaskState::Succeeded => "succeeded",
            TaskState::Failed => "failed",
            TaskState::Retried => "retried",
        }
    }
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
