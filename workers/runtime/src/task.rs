//! One task from delivery to ack: decode, resolve the document, execute on a blocking
//! thread under a hard deadline with in-progress acks, classify, publish the result,
//! and only after its PubAck, ack (or TERM, or NAK with a delay). The outcome is
//! counted in the dependencies' circuit breakers; task events and hooks fire around it.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, AckKind};
use daa_shared::claim;
use daa_shared::codec::{decode_message, Encoding};
use daa_shared::model::{
    FailureKind, Outcome, Stage, StageOutput, StageResult, StageTask, TaskError, TaskState,
};
use daa_shared::subjects::MSG_ID_HEADER;
use daa_shared::time::now_ms;
use daa_shared::trace::TraceContext;
use tokio::sync::OwnedSemaphorePermit;

use crate::breakers::Admitted;
use crate::hooks::{self, Hook};
use crate::retry::{decide, Disposition};
use crate::run::Shared;
use crate::{document, CancelFlag, TaskContext};

/// How long a cancelled task's thread may take to return before the worker counts it
/// as wedged and drains to be restarted.
const WEDGE_GRACE: Duration = Duration::from_secs(5);

pub(crate) async fn handle(
    shared: Arc<Shared>,
    msg: jetstream::Message,
    permit: OwnedSemaphorePermit,
    admitted: Admitted,
) {
    use tracing::Instrument as _;
    shared.stats.in_flight.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    // One job is one trace: the coordinator's traceparent continues here.
    let trace =
        TraceContext::from_headers(msg.headers.as_ref()).unwrap_or_else(TraceContext::new_root);
    let span = tracing::info_span!("task", trace_id = %trace.trace_id, subject = %msg.subject);
    let failed = process(&shared, msg, &trace, admitted)
        .instrument(span)
        .await;
    shared
        .stats
        .record(started.elapsed().as_millis() as u64, failed);
    shared.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
    drop(permit);
}

/// Returns whether the task failed.
async fn process(
    shared: &Arc<Shared>,
    msg: jetstream::Message,
    trace: &TraceContext,
    admitted: Admitted,
) -> bool {
    let (attempt, queue_ms) = match msg.info() {
        Ok(info) => {
            let published_ms = (info.published.unix_timestamp_nanos() / 1_000_000) as u64;
            (
                info.delivered.max(1) as u64,
                now_ms().saturating_sub(published_ms),
            )
        }
        Err(_) => (1, 0),
    };
    let payload = match claim::resolve(&shared.js, msg.headers.as_ref(), &msg.payload).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "task payload not available yet; handing it back");
            let _ = msg
                .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                .await;
            return true;
        }
    };
    let task: Arc<StageTask> = match decode_message::<StageTask>(msg.headers.as_ref(), &payload) {
        Ok((mut t, _)) => {
            // Agents read the document whole, whatever the coordinator left out in transit.
            t.input.restore_paged_text();
            Arc::new(t)
        }
        Err(e) => {
            dead_letter_undecodable(shared, &msg, &e.to_string()).await;
            return true;
        }
    };
    before(shared, &task, attempt).await;
    let started = Instant::now();
    let outcome = execute(shared, &task, attempt, &msg).await;
    let Some(outcome) = outcome else {
        // Handed back during a drain: NAK so another worker takes it at once.
        let _ = msg.ack_with(AckKind::Nak(None)).await;
        return false;
    };
    let duration_ms = started.elapsed().as_millis() as u64;
    tracing::debug!(task_id = %task.task_id, stage = %task.stage, ok = outcome.is_ok(), duration_ms, "task finished");
    admitted.record(outcome.as_ref().map(|_| ()));
    let disposition = decide(outcome.as_ref().map(|_| ()), attempt, &shared.policy);
    match disposition {
        Disposition::Retry(delay) => {
            let err = outcome.as_ref().err();
            record_attempt(shared, &task, attempt, err).await;
            tracing::warn!(task_id = %task.task_id, attempt, ?delay, error = ?err.map(|e| &e.message), "task failed, will retry");
            let _ = msg.ack_with(AckKind::Nak(Some(delay))).await;
            if let Err(e) = &outcome {
                after(shared, &task, attempt, Err(e), true, duration_ms).await;
            }
            true
        }
        Disposition::Succeed | Disposition::Fail => {
            let failed = outcome.is_err();
            let result = StageResult {
                v: daa_shared::model::SCHEMA_VERSION,
                task_id: task.task_id.clone(),
                job_id: task.job_id.clone(),
                stage_index: task.stage_index,
                stage: task.stage,
                agent: task.agent,
                instance: shared.instance.clone(),
                duration_ms,
                queue_ms,
                outcome: match outcome {
                    Ok(o) => Outcome::Ok(o),
                    Err(e) => {
                        tracing::warn!(task_id = %task.task_id, kind = %e.kind, error = %e.message, "task failed");
                        Outcome::Err(e)
                    }
                },
            };
            let publishing = Instant::now();
            let published = publish_result(shared, &result, trace).await;
            tracing::debug!(task_id = %task.task_id, publish_ms = publishing.elapsed().as_millis() as u64, "result published");
            match published {
                Ok(()) => {
                    let kind = if failed { AckKind::Term } else { AckKind::Ack };
                    if let Err(e) = msg.ack_with(kind).await {
                        tracing::warn!(error = %e, "ack failed; the task will be redelivered and its result de-duplicated");
                    }
                    let outcome = match &result.outcome {
                        Outcome::Ok(o) => Ok(o),
                        Outcome::Err(e) => Err(e),
                    };
                    after(shared, &task, attempt, outcome, false, duration_ms).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "result not published; task handed back");
                    let _ = msg
                        .ack_with(AckKind::Nak(Some(Duration::from_millis(500))))
                        .await;
                    let lost = TaskError::temporary(format!("result not published: {e}"));
                    after(shared, &task, attempt, Err(&lost), true, duration_ms).await;
                }
            }
            failed
        }
    }
}

/// Task event, code hook and command hook before the agent runs. The command is awaited
/// (it is bounded by its timeout).
async fn before(shared: &Arc<Shared>, task: &StageTask, attempt: u64) {
    hooks::event(shared, task, attempt, TaskState::Started, None, None).await;
    hooks::call(Hook::Pre, || shared.hooks.pre_task(task, attempt));
    if shared.commands.has(Hook::Pre) {
        let input = hooks::input(Hook::Pre, &shared.instance, task, attempt, None, None, None);
        shared.commands.run(Hook::Pre, input).await;
    }
}

/// Task event, code hook and command hook once the task's fate is sealed (result
/// published and acknowledged, or handed back). The command runs in the background.
async fn after(
    shared: &Arc<Shared>,
    task: &StageTask,
    attempt: u64,
    outcome: Result<&StageOutput, &TaskError>,
    retried: bool,
    duration_ms: u64,
) {
    let (state, hook) = match (outcome, retried) {
        (Ok(_), _) => (TaskState::Succeeded, Hook::Post),
        (Err(_), true) => (TaskState::Retried, Hook::Error),
        (Err(_), false) => (TaskState::Failed, Hook::Error),
    };
    let error = outcome.err();
    hooks::event(shared, task, attempt, state, error, Some(duration_ms)).await;
    match outcome {
        Ok(o) => hooks::call(hook, || shared.hooks.post_task(task, o)),
        Err(e) => hooks::call(hook, || shared.hooks.on_error(task, e, retried)),
    }
    if shared.commands.has(hook) {
        let input = hooks::input(
            hook,
            &shared.instance,
            task,
            attempt,
            error,
            error.map(|_| retried),
            Some(duration_ms),
        );
        let commands = shared.commands.clone();
        tokio::spawn(async move { commands.run(hook, input).await });
    }
}

/// Run the agent. `None` means the task was handed back (drain timeout).
async fn execute(
    shared: &Arc<Shared>,
    task: &Arc<StageTask>,
    attempt: u64,
    msg: &jetstream::Message,
) -> Option<Result<StageOutput, TaskError>> {
    let now = now_ms();
    if task.deadline_at_ms <= now {
        return Some(Err(TaskError::new(
            FailureKind::Deadline,
            "the job's deadline passed before this task started",
        )));
    }
    let fetching = Instant::now();
    let document = match (&task.input.source, task.stage) {
        (Some(src), Stage::Validation | Stage::Extraction) => {
            match document::resolve(&shared.js, src, shared.cfg.jobs.max_document_bytes).await {
                Ok(d) => d,
                Err(e) => return Some(Err(e)),
            }
        }
        _ => None,
    };
    let fetch_ms = fetching.elapsed().as_millis() as u64;
    let running = Instant::now();
    let cancel = CancelFlag::default();
    let ctx = TaskContext {
        instance: shared.instance.clone(),
        attempt,
        document,
        cancel: cancel.clone(),
    };
    let agent = shared.agent.clone();
    // The task (megabytes when it carries a document) is shared with the agent's
    // thread, not copied.
    let owned = Arc::clone(task);
    let mut handle = tokio::task::spawn_blocking(move || agent.execute(&owned, &ctx));

    let budget = Duration::from_millis(
        shared
            .cfg
            .worker
            .task_timeout_ms
            .min(task.deadline_at_ms.saturating_sub(now)),
    );
    let deadline = tokio::time::sleep(budget);
    tokio::pin!(deadline);
    let every = (shared.cfg.tasks.ack_wait() / 3).max(Duration::from_millis(200));
    let mut progress = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mut stop_now = shared.stop_now.clone();
    loop {
        tokio::select! {
            joined = &mut handle => {
                // Where a task's time goes: fetching its document, then the agent.
                tracing::debug!(task_id = %task.task_id, fetch_ms, run_ms = running.elapsed().as_millis() as u64, "agent returned");
                return Some(match joined {
                    Ok(r) => r,
                    Err(e) => Err(TaskError::permanent(format!("the agent panicked on this input: {}", panic_text(e)))),
                });
            }
            _ = progress.tick() => {
                let _ = msg.ack_with(AckKind::Progress).await;
            }
            _ = &mut deadline => {
                cancel.cancel();
                watch_for_wedge(shared.clone(), handle, task.task_id.clone());
                return Some(Err(TaskError::new(
                    FailureKind::Timeout,
                    format!("the task overran its hard deadline of {} ms and was abandoned", budget.as_millis()),
                )));
            }
            _ = stop_now.recv() => {
                cancel.cancel();
                return None;
            }
        }
    }
}

fn panic_text(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(p) => p
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into()),
        Err(e) => e.to_string(),
    }
}

/// A cancelled task whose thread does not come back wedges a slot for good: drain so
/// the supervisor restarts the process.
fn watch_for_wedge(
    shared: Arc<Shared>,
    handle: tokio::task::JoinHandle<Result<StageOutput, TaskError>>,
    task_id: String,
) {
    tokio::spawn(async move {
        if tokio::time::timeout(WEDGE_GRACE, handle).await.is_err() {
            tracing::error!(%task_id, "task thread did not return after cancellation; draining so the worker is restarted");
            shared.mark_wedged();
        }
    });
}

async fn publish_result(
    shared: &Shared,
    result: &StageResult,
    trace: &TraceContext,
) -> Result<(), String> {
    let payload = Encoding::MsgPack
        .encode(result)
        .map_err(|e| e.to_string())?;
    let mut headers = Encoding::MsgPack.headers();
    headers.insert(MSG_ID_HEADER, result.task_id.as_str());
    trace.child().inject(&mut headers);
    let key = format!("result.{}", result.task_id);
    let payload = claim::prepare(&shared.js, &shared.client, &key, payload, &mut headers)
        .await
        .map_err(|e| e.to_string())?;
    let ack = shared
        .js
        .publish_with_headers(shared.subjects.results(result.agent), headers, payload)
        .await
        .map_err(|e| e.to_string())?;
    ack.await.map_err(|e| e.to_string())?;
    Ok(())
}

async fn record_attempt(shared: &Shared, task: &StageTask, attempt: u64, err: Option<&TaskError>) {
    let entry = serde_json::json!({
        "task_id": task.task_id,
        "attempt": attempt,
        "agent": task.agent,
        "instance": shared.instance,
        "kind": err.map(|e| e.kind),
        "message": err.map(|e| e.message.clone()),
        "dependency": err.and_then(|e| e.dependency.clone()),
        "at_ms": now_ms(),
    });
    if let Err(e) = shared
        .store
        .record_attempt(&task.job_id, &entry.to_string())
        .await
    {
        tracing::warn!(error = %e, "could not record the failed attempt");
    }
}

/// A task that cannot even be decoded cannot get a result: park it in the DLQ with the
/// reason, then TERM it, so nothing is lost silently.
async fn dead_letter_undecodable(shared: &Shared, msg: &jetstream::Message, reason: &str) {
    tracing::error!(subject = %msg.subject, %reason, "undecodable task; dead-lettering");
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Daa-Error", reason);
    headers.insert("Daa-Original-Subject", msg.subject.as_str());
    let published = shared
        .js
        .publish_with_headers(
            shared.subjects.dlq(shared.agent.kind()),
            headers,
            msg.payload.clone(),
        )
        .await;
    let stored = match published {
        Ok(ack) => ack.await.is_ok(),
        Err(_) => false,
    };
    let kind = if stored {
        AckKind::Term
    } else {
        AckKind::Nak(Some(Duration::from_secs(5)))
    };
    let _ = msg.ack_with(kind).await;
}
