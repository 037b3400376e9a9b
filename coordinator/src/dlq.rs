//! The dead-letter handler. When a task consumer gives up on a message (MAX_DELIVERIES
//! advisory, captured by a stream so none is missed while no coordinator runs), the task
//! goes to `daa.dlq.<agent>` with its delivery history, its slot in the job gets a
//! failure result (so the job ends failed or partial with the reason), and the message
//! leaves the task stream.

use async_nats::jetstream;
use daa_shared::codec::{decode_message, Encoding};
use daa_shared::model::{FailureKind, Outcome, StageResult, StageTask, TaskError};
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
            publish_dlq(ctx, &adv, None, raw.payload.to_vec(), &[]).await?;
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
    let last_error = history
        .last()
        .and_then(|v| v.get("message"))
        .and_then(|m| m.as_str())
        .map(str::to_owned);
    publish_dlq(
        ctx,
        &adv,
        Some(&task),
        Encoding::Json.encode(&task)?,
        &history,
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
    commit(ctx, &result, &encoded, false).await?;
    let _ = stream.delete_message(adv.stream_seq).await;
    Ok(())
}

async fn publish_dlq(
    ctx: &Ctx,
    adv: &MaxDeliveriesAdvisory,
    task: Option<&StageTask>,
    task_payload: Vec<u8>,
    history: &[serde_json::Value],
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
