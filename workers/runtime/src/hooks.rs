//! Hooks around every task, three ways:
//!
//! 1. **Events**: the runtime publishes a [`TaskEvent`] on `daa.events.task.<state>`
//!    (started, succeeded, failed, retried) with core NATS (no PubAck is awaited, so
//!    events cost the task nothing); the `DAA_EVENTS` stream keeps them.
//! 2. **[`TaskHooks`]**: a Rust trait whose methods the runtime calls (given to
//!    [`crate::run_with`] through [`crate::RunOptions::hooks`]).
//! 3. **External commands** (`[worker.hooks]`): a program run with a JSON description
//!    of the task on stdin, killed after `timeout_ms`. The pre-task command runs before
//!    the task (which waits for it, at most the timeout); the others run in the
//!    background after the task was acknowledged. A hook that fails, times out or
//!    cannot start is logged; it never fails or holds up a task beyond its timeout.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use daa_shared::config::HooksConfig;
use daa_shared::model::{StageOutput, StageTask, TaskError, TaskEvent, TaskState};
use daa_shared::time::now_ms;
use tokio::io::AsyncWriteExt;

use crate::run::Shared;

/// Code the runtime calls around every task. Every method does nothing by default.
///
/// Methods are called on the runtime's async threads: keep them quick (hand slow work
/// to a thread or a channel). A panicking hook is caught and logged.
pub trait TaskHooks: Send + Sync + 'static {
    /// Before the agent runs delivery `attempt` (1-based) of `task`.
    fn pre_task(&self, task: &StageTask, attempt: u64) {
        let _ = (task, attempt);
    }

    /// After `task` succeeded with `output` and its result was published.
    fn post_task(&self, task: &StageTask, output: &StageOutput) {
        let _ = (task, output);
    }

    /// After `task` failed with `error`; `retried` says whether it was handed back to be
    /// delivered again (otherwise its failure result was published).
    fn on_error(&self, task: &StageTask, error: &TaskError, retried: bool) {
        let _ = (task, error, retried);
    }
}

/// The hooks of a worker that was given none.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NoHooks;

impl TaskHooks for NoHooks {}

/// Which hook a command or an event is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hook {
    Pre,
    Post,
    Error,
}

impl Hook {
    fn as_str(self) -> &'static str {
        match self {
            Hook::Pre => "pre_task",
            Hook::Post => "post_task",
            Hook::Error => "on_error",
        }
    }
}

/// Call a trait hook, catching a panic.
pub(crate) fn call(what: Hook, f: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
        tracing::error!(hook = what.as_str(), "task hook panicked (ignored)");
    }
}

/// Publish a task event (core NATS: no PubAck awaited; de-duplicated by the stream on
/// `<task_id>:<attempt>:<state>`).
pub(crate) async fn event(
    shared: &Shared,
    task: &StageTask,
    attempt: u64,
    state: TaskState,
    error: Option<&TaskError>,
    duration_ms: Option<u64>,
) {
    let ev = TaskEvent {
        v: daa_shared::model::SCHEMA_VERSION,
        task_id: task.task_id.clone(),
        job_id: task.job_id.clone(),
        stage: task.stage,
        agent: task.agent,
        instance: shared.instance.clone(),
        attempt,
        error: error.map(|e| e.message.clone()),
        state,
        kind: error.map(|e| e.kind),
        duration_ms,
        at_ms: now_ms(),
    };
    let Ok(payload) = daa_shared::codec::Encoding::Json.encode(&ev) else {
        return;
    };
    let mut headers = daa_shared::codec::Encoding::Json.headers();
    headers.insert(
        daa_shared::subjects::MSG_ID_HEADER,
        format!("{}:{attempt}:{state}", task.task_id).as_str(),
    );
    if let Err(e) = shared
        .client
        .publish_with_headers(
            shared.subjects.task_event(state.as_str()),
            headers,
            payload.into(),
        )
        .await
    {
        tracing::debug!(error = %e, "task event not published");
    }
}

/// The external hook commands of a worker.
#[derive(Debug, Clone)]
pub(crate) struct Commands {
    cfg: Arc<HooksConfig>,
}

impl Commands {
    pub(crate) fn new(cfg: HooksConfig) -> Self {
        Self { cfg: Arc::new(cfg) }
    }

    fn argv(&self, hook: Hook) -> &[String] {
        match hook {
            Hook::Pre => &self.cfg.pre_task,
            Hook::Post => &self.cfg.post_task,
            Hook::Error => &self.cfg.on_error,
        }
    }

    /// Whether a command is configured for `hook`.
    pub(crate) fn has(&self, hook: Hook) -> bool {
        !self.argv(hook).is_empty()
    }

    /// Run `hook`'s command with `input` on stdin, at most `timeout_ms`.
    pub(crate) async fn run(&self, hook: Hook, input: Vec<u8>) {
        let argv = self.argv(hook);
        let Some((program, args)) = argv.split_first() else {
            return;
        };
        let timeout = Duration::from_millis(self.cfg.timeout_ms.max(1));
        let mut child = match tokio::process::Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(hook = hook.as_str(), %program, error = %e, "hook command cannot start (ignored)");
                return;
            }
        };
        let stdin = child.stdin.take();
        // stderr is read apart: a background process the hook left behind may keep it
        // open after the hook itself exited.
        let stderr = child.stderr.take().map(|s| {
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut err = Vec::new();
                let _ = s.take(4096).read_to_end(&mut err).await;
                err
            })
        });
        let finished = tokio::time::timeout(timeout, async {
            if let Some(mut s) = stdin {
                // A hook that does not read its input is not an error.
                let _ = s.write_all(&input).await;
                let _ = s.shutdown().await;
            }
            child.wait().await
        })
        .await;
        match finished {
            Ok(Ok(status)) if status.success() => {
                tracing::debug!(hook = hook.as_str(), "hook command done");
            }
            Ok(Ok(status)) => {
                let stderr = stderr_text(stderr).await;
                tracing::warn!(
                    hook = hook.as_str(),
                    %program,
                    %status,
                    %stderr,
                    "hook command failed (ignored)"
                );
            }
            Ok(Err(e)) => {
                tracing::warn!(hook = hook.as_str(), %program, error = %e, "hook command lost (ignored)");
            }
            Err(_) => {
                tracing::warn!(
                    hook = hook.as_str(),
                    %program,
                    timeout_ms = self.cfg.timeout_ms,
                    "hook command timed out and was killed (ignored)"
                );
                let _ = child.start_kill();
                // Reap it off the task's path.
                tokio::spawn(async move {
                    let _ = child.wait().await;
                });
            }
        }
    }
}

/// What a hook wrote on stderr (the first 4 KiB), if it closed it soon.
async fn stderr_text(reader: Option<tokio::task::JoinHandle<Vec<u8>>>) -> String {
    let Some(h) = reader else {
        return String::new();
    };
    match tokio::time::timeout(Duration::from_millis(100), h).await {
        Ok(Ok(err)) => String::from_utf8_lossy(&err).trim().to_owned(),
        _ => String::new(),
    }
}

/// The JSON a hook command reads on stdin.
pub(crate) fn input(
    hook: Hook,
    instance: &str,
    task: &StageTask,
    attempt: u64,
    error: Option<&TaskError>,
    retried: Option<bool>,
    duration_ms: Option<u64>,
) -> Vec<u8> {
    let mut v = serde_json::json!({
        "hook": hook.as_str(),
        "instance": instance,
        "attempt": attempt,
        "task": task,
    });
    if let Some(e) = error {
        v["error"] = serde_json::json!(e);
    }
    if let Some(r) = retried {
        v["retried"] = serde_json::json!(r);
    }
    if let Some(d) = duration_ms {
        v["duration_ms"] = serde_json::json!(d);
    }
    serde_json::to_vec(&v).unwrap_or_default()
}
