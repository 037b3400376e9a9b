//! The dead-letter handler. When a task consumer gives up on a message (MAX_DELIVERIES
//! advisory, captured by a stream so none is missed while no coordinator runs), the task
//! goes to `daa.dlq.<agent>` with its delivery history, its slot in the job gets a
//! failure result (so the job ends failed or partial with the reason), and the message
//! leaves the task stream.
//!
//! Moving dead letters is a singleton duty: only the leading coordinator consumes the
//! advisories (see [`crate::leader`]), and it checks its fence is still current before
//! it dead-letters a task; an advisory reaching another coordinator is NAKed back to
//! the stream for the leader. Every step is idempotent besides (the DLQ entry carries
//! `Nats-Msg-Id` = `dlq:<task id>`, the failure result commits once).
//!
//! An entry carries what `daa dlq replay` needs to run the document again as a new job:
//! the task (the document itself for validation and extraction tasks) and, when the task
//! does not carry the document, the job's `source`; plus the job's requirements,
//! priority and time budget.

use async_nats::jetstream;
use daa_shared::codec::{decode_message, Encoding};
use daa_shared::model::{FailureKind, Outcome, StageResult, StageTask, TaskError};
use daa_shared::store::COORDINATOR_LEADER;
use daa_shared::subjects::MSG_ID_HEADER;
use daa_shared::time::now_ms;
use serde::Deserialize;

use crate::advance::commit;
use crate::service::{CoordinatorError, Ctx};

#[derive(Debug, Deserialize)]
struct MaxDeliveriesAdvisory {
    stream: String,
    consumer: String,
    stream_seq: u64,
    deliveries: u64,
}

fn nats_err(e: impl std::fmt::Display) -> CoordinatorError {
    CoordinatorError::nats(e)
}

pub(crate) async fn on_advisory(
    ctx: &Ctx,
    msg: &jetstream::Message,
) -> Result<(), CoordinatorError> {
    let current = match ctx.leader.fence() {
        Some(fence) => {
            ctx.store
                .fence_current(COORDINATOR_LEADER, &ctx.instance, fence)
                .await?
        }
        None => false,
    };
    if !current {
        return Err(CoordinatorError::NotLeader);
    }
    let adv: MaxDeliveriesAdvisory = match serde_json::from_slice(&msg.payload) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "unreadable advisory ignored");
            return Ok(());
        }
    };
    let stream = ctx.js.get_stream(&adv.stream).await.map_err(nats_err)?;
    let raw = match stream.get_raw_message(adv.stream_seq).await {
        Ok(m) => m,
        // Acked or removed in the meantime: nothing left to dead-letter.
        Err(_) => return Ok(()),
    };
    let task: StageTask = match decode_message(Some(&raw.headers), &raw.payload) {
        Ok((t, _)) => t,
        Err(e) => {
            tracing::error!(seq = adv.stream_seq, error = %e, "undecodable task dead-lettered raw");
            publish_dlq(ctx, &adv, None, raw.payload.to_vec(), &[], None).await?;
            let _ = stream.delete_message(adv.stream_seq).await;
            return Ok(());
        }
    };
    let history: Vec<serde_json::Value> = ctx
        .store
        .attempts(&task.job_id)
        .await?
        .into_iter()
        .filter_map(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .filter(|v| v.get("task_id").and_then(|t| t.as_str()) == Some(task.task_id.as_str()))
        .collect();
    // The last attempt's class and message: `errors[]` then tells a task that kept
    // failing temporarily from one that kept finding its agent overloaded.
    let last_error = history.last().and_then(|v| {
        let message = v.get("message").and_then(|m| m.as_str())?;
        Some(match v.get("kind").and_then(|k| k.as_str()) {
            Some(kind) => format!("({kind}) {message}"),
            None => message.to_owned(),
        })
    });
    // What a replay needs beyond the task: the job's document (when the task does not
    // carry it) and its time budget, read while the job's state is still in Redis.
    let job = ctx
        .store
        .job_state(&task.job_id)
        .await?
        .and_then(|s| s.spec)
        .map(|spec| {
            serde_json::json!({
                "source": if task.input.source.is_none() { Some(&spec.source) } else { None },
                "deadline_ms": spec.deadline_at_ms.saturating_sub(spec.created_ms),
            })
        });
    publish_dlq(
        ctx,
        &adv,
        Some(&task),
        Encoding::Json.encode(&task)?,
        &history,
        job,
    )
    .await?;

    let reason = match last_error {
        Some(e) => format!("gave up after {} deliveries; last error: {e}", adv.deliveries),
        None => format!(
            "gave up after {} deliveries with no answer (the {} worker died or never acknowledged); the task is in the dead-letter queue",
            adv.deliveries, task.agent
        ),
    };
    tracing::warn!(task_id = %task.task_id, %reason, "task dead-lettered");
    let result = StageResult {
        v: daa_shared::model::SCHEMA_VERSION,
        task_id: task.task_id.clone(),
        job_id: task.job_id.clone(),
        stage_index: task.stage_index,
        stage: task.stage,
        agent: task.agent,
        instance: ctx.instance.clone(),
        duration_ms: 0,
        queue_ms: 0,
        outcome: Outcome::Err(TaskError::new(FailureKind::Exhausted, reason)),
    };
    let encoded = Encoding::MsgPack.encode(&result)?;
    commit(ctx, std::sync::Arc::new(result), &encoded, false).await?;
    let _ = stream.delete_message(adv.stream_seq).await;
    Ok(())
}

async fn publish_dlq(
    ctx: &Ctx,
    adv: &MaxDeliveriesAdvisory,
    task: Option<&StageTask>,
    task_payload: Vec<u8>,
    history: &[serde_json::Value],
    job: Option<serde_json::Value>,
) -> Result<(), CoordinatorError> {
    let task_value: serde_json::Value =
        serde_json::from_slice(&task_payload).unwrap_or(serde_json::Value::Null);
    let entry = serde_json::json!({
        "v": daa_shared::model::SCHEMA_VERSION,
        "task": task_value,
        "raw": if task_value.is_null() { Some(task_payload.len()) } else { None },
        "stream": adv.stream,
        "consumer": adv.consumer,
        "stream_seq": adv.stream_seq,
        "deliveries": adv.deliveries,
        "history": history,
        "job": job,
        "dead_lettered_ms": now_ms(),
    });
    let agent = task
        .map(|t| t.agent)
        .unwrap_or_else(|| agent_of_consumer(&adv.consumer));
    let mut headers = Encoding::Json.headers();
    let id = task
        .map(|t| format!("dlq:{}", t.task_id))
        .unwrap_or_else(|| format!("dlq:{}:{}", adv.stream, adv.stream_seq));
    headers.insert(MSG_ID_HEADER, id.as_str());
    let payload = serde_json::to_vec(&entry).map_err(nats_err)?;
    ctx.js
        .publish_with_headers(ctx.subjects.dlq(agent), headers, payload.into())
        .await
        .map_err(nats_err)?
        .await
        .map_err(nats_err)?;
    Ok(())
}

/// `tasks-<agent>-<priority>` → agent.
fn agent_of_consumer(consumer: &str) -> daa_shared::model::AgentKind {
    consumer
        .split('-')
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(daa_shared::model::AgentKind::Quality)
}
