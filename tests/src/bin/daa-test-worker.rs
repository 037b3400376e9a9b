//! `daa-test-worker`: the real structured agent with faults injected by environment
//! variables, run by the real worker runtime. Tests use it where they need a worker
//! that is slow (to be killed while holding a task) or that always fails.
//!
//! (Not `DAA_*` names: those are configuration.)
//! - `TESTWORKER_DELAY_MS`: sleep this long before extracting (cut short when the
//!   runtime gives up on the task: past `worker.task_timeout_ms` it fails as `timeout`);
//! - `TESTWORKER_FAIL`: `temporary`, `permanent` or `overload`: fail every task that
//!   way (`overload` suggests `TESTWORKER_RETRY_AFTER_MS`, default 300 ms);
//! - `TESTWORKER_HANG`: `1`: never return (ignores cancellation), to test wedge handling;
//! - `TESTWORKER_DEPENDENCY_DOWN_FILE`: a path; while that file exists every task fails
//!   as an overload blamed on the agent's engine (`TaskError::dependency` =
//!   `engine`), so the worker's breaker opens; deleting the file heals the dependency.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use daa_shared::model::{AgentKind, FailureKind, StageOutput, StageTask, TaskError};
use daa_worker::{Agent, Capabilities, TaskContext};

struct FaultyAgent {
    inner: daa_structured::StructuredAgent,
    delay: Duration,
    fail: Option<String>,
    retry_after_ms: u64,
    hang: bool,
    dependency_down: Option<PathBuf>,
}

impl Agent for FaultyAgent {
    fn kind(&self) -> AgentKind {
        AgentKind::Structured
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn execute(&self, task: &StageTask, ctx: &TaskContext) -> Result<StageOutput, TaskError> {
        if self.hang {
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        let until = Instant::now() + self.delay;
        while Instant::now() < until && !ctx.cancel.is_cancelled() {
            std::thread::sleep(Duration::from_millis(10).min(self.delay));
        }
        if let Some(path) = &self.dependency_down {
            if path.exists() {
                return Err(TaskError::new(
                    FailureKind::Overload,
                    "injected: the engine (dependency) is down",
                )
                .with_dependency(daa_worker::ENGINE));
            }
        }
        match self.fail.as_deref() {
            Some("temporary") => Err(TaskError::temporary("injected temporary failure")),
            Some("permanent") => Err(TaskError::permanent("injected permanent failure")),
            Some("overload") => Err(TaskError::new(
                FailureKind::Overload,
                "injected overload failure",
            )
            .with_retry_after(self.retry_after_ms)),
            _ => self.inner.execute(task, ctx),
        }
    }
}

fn env_ms(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    std::process::exit(daa_worker::main(|_cfg| {
        Ok(FaultyAgent {
            inner: daa_structured::StructuredAgent::default(),
            delay: Duration::from_millis(env_ms("TESTWORKER_DELAY_MS", 0)),
            fail: std::env::var("TESTWORKER_FAIL").ok(),
            retry_after_ms: env_ms("TESTWORKER_RETRY_AFTER_MS", 300),
            hang: std::env::var("TESTWORKER_HANG").is_ok_and(|v| v == "1"),
            dependency_down: std::env::var_os("TESTWORKER_DEPENDENCY_DOWN_FILE").map(PathBuf::from),
        })
    }));
}
