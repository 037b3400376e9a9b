//! The [`Agent`] trait: what every specialist implements, whether it runs in a worker
//! process (through [`crate::run`]) or in-process (`daa process`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use daa_shared::breaker::BreakerState;
use daa_shared::model::{AgentKind, DocKind, Stage, StageOutput, StageTask, TaskError};

/// The dependency every agent has unless it names its own: its engine (the library,
/// model or tool that does the work).
pub const ENGINE: &str = "engine";

/// A document's bytes, resolved by the runtime from the task's source (inline data,
/// Object Store or shared path) before the agent runs. URL sources are not resolved:
/// fetching is the web agent's job.
#[derive(Debug, Clone)]
pub struct Document {
    /// Name the client gave (a hint only).
    pub name: String,
    /// The bytes.
    pub bytes: bytes::Bytes,
    /// SHA-256 of `bytes`, when the runtime computed it already (a fetch from the
    /// Object Store checks the object's digest); `None` otherwise.
    pub sha256: Option<[u8; 32]>,
}

impl Document {
    /// A document whose digest is not known yet.
    pub fn new(name: impl Into<String>, bytes: impl Into<bytes::Bytes>) -> Self {
        Self {
            name: name.into(),
            bytes: bytes.into(),
            sha256: None,
        }
    }
}

/// Set when the runtime gives up on a task (deadline passed, worker draining). Agents
/// with long loops should check it and return early; the runtime abandons the task
/// either way.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// Ask the agent to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Has the task been given up?
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// What an agent gets besides the task.
#[derive(Debug, Clone, Default)]
pub struct TaskContext {
    /// Worker instance running the task.
    pub instance: String,
    /// Delivery attempt, 1-based.
    pub attempt: u64,
    /// The document's bytes, for stages that read the document.
    pub document: Option<Document>,
    /// Cancellation flag.
    pub cancel: CancelFlag,
}

/// What an agent can do, reported in heartbeats and `$SRV.INFO`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Capabilities {
    /// Stages it runs.
    pub stages: Vec<Stage>,
    /// Document kinds it extracts.
    pub kinds: Vec<DocKind>,
}

/// How an agent feels about taking work, reported in heartbeats.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason")]
pub enum AgentStatus {
    /// Ready for work.
    Ready,
    /// Working, but something is off (a dependency is slow, a model fell back...).
    Degraded(String),
    /// Cannot take work now; the runtime stops fetching until the agent is ready again.
    Unavailable(String),
}

/// A specialist: turns a [`StageTask`] into a [`StageOutput`] or a classified
/// [`TaskError`].
///
/// `execute` is blocking and CPU-bound by design: the runtime calls it on a blocking
/// thread, under a hard deadline, at most `concurrency` at a time. Classify failures
/// where they happen: [`TaskError::permanent`] for bad input (not retried),
/// [`TaskError::temporary`] for what may work later, `Overload` for saturation.
pub trait Agent: Send + Sync + 'static {
    /// The agent type (decides subjects and consumers).
    fn kind(&self) -> AgentKind;

    /// Stages and document kinds it handles.
    fn capabilities(&self) -> Capabilities;

    /// Run one task.
    fn execute(&self, task: &StageTask, ctx: &TaskContext) -> Result<StageOutput, TaskError>;

    /// Whether the agent can take work. While it answers `Unavailable` the runtime does
    /// not fetch, so healthy replicas take the work instead.
    fn status(&self) -> AgentStatus {
        AgentStatus::Ready
    }

    /// Agent-specific gauges and counters for heartbeats and metrics (name, value).
    fn metrics(&self) -> Vec<(String, f64)> {
        Vec::new()
    }

    /// The dependencies every task needs (default: [`ENGINE`]). The runtime keeps a
    /// circuit breaker for each: a success counts for all of them, a failure whose
    /// [`TaskError::dependency`] names one counts against it, and while one is open the
    /// worker stops fetching so that healthy replicas take the work.
    fn dependencies(&self) -> Vec<String> {
        vec![ENGINE.to_owned()]
    }

    /// Breakers the agent keeps itself, for dependencies only some tasks need (the web
    /// agent's per host): reported in heartbeats next to the runtime's (default none).
    fn breakers(&self) -> Vec<BreakerState> {
        Vec::new()
    }
}
