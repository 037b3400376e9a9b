use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{
    schema_version, AgentKind, Chunk, Classification, DocKind, Entity, Page, Quality, SourceInfo,
    Stage, Table,
};

/// Why a task failed; decides what happens next (see `docs/failures.md`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Might work later (a dependency hiccup): retried with backoff.
    Temporary,
    /// Will never work (bad input): not retried.
    Permanent,
    /// The worker or a dependency is saturated: retried later, breaker told.
    Overload,
    /// The task overran its hard deadline and was abandoned.
    Timeout,
    /// Every delivery attempt failed; the task went to the dead-letter queue.
    Exhausted,
    /// The job's deadline passed before the stage finished.
    Deadline,
    /// No agent of the needed type is available (in-process runs without that agent).
    Unavailable,
}

impl FailureKind {
    /// Name used in logs and the result document.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Temporary => "temporary",
            FailureKind::Permanent => "permanent",
            FailureKind::Overload => "overload",
            FailureKind::Timeout => "timeout",
            FailureKind::Exhausted => "exhausted",
            FailureKind::Deadline => "deadline",
            FailureKind::Unavailable => "unavailable",
        }
    }

    /// Whether a task failing this way should be delivered again.
    pub fn is_retriable(self) -> bool {
        matches!(self, FailureKind::Temporary | FailureKind::Overload)
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A task failure as an agent reports it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct TaskError {
    /// The failure class.
    pub kind: FailureKind,
    /// Human-readable reason.
    pub message: String,
    /// Suggested delay before retrying (temporary and overload failures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// The dependency the failure is about (`engine`, `web:example.com`...), when the
    /// agent knows that the input is not at fault: the worker counts it against that
    /// dependency's circuit breaker and hands the task back for another replica instead
    /// of failing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependency: Option<String>,
}

impl TaskError {
    /// A failure that will not go away on retry (bad input).
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            kind: FailureKind::Permanent,
            message: message.into(),
            retry_after_ms: None,
            dependency: None,
        }
    }

    /// A failure worth retrying.
    pub fn temporary(message: impl Into<String>) -> Self {
        Self {
            kind: FailureKind::Temporary,
            message: message.into(),
            retry_after_ms: None,
            dependency: None,
        }
    }

    /// A failure of kind `kind`.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after_ms: None,
            dependency: None,
        }
    }

    /// The same failure, blamed on `dependency` (see [`TaskError::dependency`]).
    pub fn with_dependency(mut self, dependency: impl Into<String>) -> Self {
        self.dependency = Some(dependency.into());
        self
    }

    /// The same failure, with a suggested delay before retrying.
    pub fn with_retry_after(mut self, ms: u64) -> Self {
        self.retry_after_ms = Some(ms);
        self
    }
}

/// What an agent produced for one task: the fields of the result document it filled.
/// Synthesis merges outputs in stage order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct StageOutput {
    /// Sniffed document kind (validation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<DocKind>,
    /// Facts about the input (validation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceInfo>,
    /// Whole text (extraction).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Text by page (extraction).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pages: Vec<Page>,
    /// Tables (extraction, analysis).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<Table>,
    /// Free-form metadata, merged key by key.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    /// Detected language (ISO 639-1 where known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Classification (analysis).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<Classification>,
    /// Entities (analysis).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<Entity>,
    /// Chunks (text processing).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<Chunk>,
    /// Quality report (QA).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality: Option<Quality>,
    /// Non-fatal problems the agent wants the user to see.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// What the agent knows is missing from this output: content of a damaged input
    /// it could not read (pages lost with a page tree, objects cut off with a file) or
    /// cut by a limit. Unlike a warning, a loss makes the job `partial`: the synthesis
    /// lists each one in the result's `errors` (kind `permanent`, since the input will
    /// not read better on a retry).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub losses: Vec<String>,
}

/// Success or failure of one task.
// Nearly every outcome is `Ok`: boxing the output would add an allocation to the common
// case to shrink the rare one.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The agent's output.
    Ok(StageOutput),
    /// Why it failed (permanent failures, timeouts, exhausted retries).
    Err(TaskError),
}

/// A task's result, published by a worker on `daa.results.<agent>`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageResult {
    /// Schema version.
    #[serde(default = "schema_version")]
    pub v: u32,
    /// The task this answers.
    pub task_id: String,
    /// Its job.
    pub job_id: String,
    /// Its stage index.
    pub stage_index: u32,
    /// Its stage.
    pub stage: Stage,
    /// Agent type that ran it.
    pub agent: AgentKind,
    /// Worker instance that ran it.
    #[serde(default)]
    pub instance: String,
    /// Time inside the agent.
    #[serde(default)]
    pub duration_ms: u64,
    /// Time the task waited in the queue before a worker took it.
    #[serde(default)]
    pub queue_ms: u64,
    /// Output or error.
    pub outcome: Outcome,
}
