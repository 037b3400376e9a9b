//! The agent's own small tokio runtime for network I/O.
//!
//! `Agent::execute` is blocking and is called from very different places: a blocking
//! thread of the worker's runtime, `block_in_place` inside `daa process`, a plain thread
//! in tests. Rather than guessing whether `Handle::block_on` is allowed on the calling
//! thread (it panics inside an async context), fetches run on this runtime and the
//! calling thread waits on a channel, which is valid everywhere. The HTTP connection pool
//! and the Redis pool live on it too, so they are never tied to a runtime that may go
//! away. Dropping it never blocks (`shutdown_background`), so the agent can be dropped
//! from async code.

use std::future::Future;
use std::sync::mpsc;
use std::time::Duration;

use daa_shared::model::TaskError;
use daa_worker::CancelFlag;

/// How often a waiting caller looks at its cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(100);

pub(crate) struct IoRuntime {
    rt: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for IoRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IoRuntime")
    }
}

impl IoRuntime {
    pub(crate) fn new() -> Result<Self, String> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("daa-web-io")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the web agent's I/O runtime: {e}"))?;
        Ok(Self { rt: Some(rt) })
    }

    /// Run `fut` on the I/O runtime and wait for it on this thread. Gives up (and aborts
    /// the future) when `cancel` is set.
    pub(crate) fn run<T, F>(&self, fut: F, cancel: &CancelFlag) -> Result<T, TaskError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, TaskError>> + Send + 'static,
    {
        let rt = self
            .rt
            .as_ref()
            .ok_or_else(|| TaskError::temporary("the web agent's I/O runtime is shut down"))?;
        let (tx, rx) = mpsc::sync_channel(1);
        let handle = rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        loop {
            match rx.recv_timeout(CANCEL_POLL) {
                Ok(r) => return r,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if cancel.is_cancelled() {
                        handle.abort();
                        return Err(TaskError::temporary(
                            "fetch cancelled by the worker runtime (deadline passed or worker draining)",
                        ));
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(TaskError::temporary(
                        "the fetch task ended without a result",
                    ))
                }
            }
        }
    }
}

impl Drop for IoRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
