//! `daa-test-worker`: the real structured agent with faults injected by environment
//! variables, run by the real worker runtime. Tests use it where they need a worker
//! that is slow (to be killed while holding a task) or that always fails.
//!
//! (Not `DAA_*` names: those are configuration.)
//! - `TESTWORKER_DELAY_MS`: sleep this long before extracting;
//! - `TESTWORKER_FAIL`: `temporary` or `permanent`: fail every task that way;
//! - `TESTWORKER_HANG`: `1`: never return (ignores cancellation), to test wedge handling.

use std::time::Duration;

use daa_shared::model::{AgentKind, StageOutput, StageTask, TaskError};
use daa_worker::{Agent, Capabilities, TaskContext};

struct FaultyAgent {
    inner: daa_structured::StructuredAgent,
    delay: Duration,
    fail: Option<String>,
    hang: bool,
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
        std::thread::sleep(self.delay);
        match self.fail.as_deref() {
            Some("temporary") => Err(TaskError::temporary("injected temporary failure")),
            Some("permanent") => Err(TaskError::permanent("injected permanent failure")),
            _ => self.inner.execute(task, ctx),
        }
    }
}

fn main() {
    std::process::exit(daa_worker::main(|_cfg| {
        Ok(FaultyAgent {
            inner: daa_structured::StructuredAgent::default(),
            delay: Duration::from_millis(
                std::env::var("TESTWORKER_DELAY_MS")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            ),
            fail: std::env::var("TESTWORKER_FAIL").ok(),
            hang: std::env::var("TESTWORKER_HANG").is_ok_and(|v| v == "1"),
        })
    }));
}
