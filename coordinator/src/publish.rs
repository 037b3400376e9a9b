//! Everything the coordinator publishes: stage tasks (+ the doorbell), job events and
//! replies. Tasks and events carry a `Nats-Msg-Id`, so publishing again after a crash
//! or by a second coordinator is absorbed by JetStream's de-duplication.

use async_nats::jetstream;
use daa_shared::claim;
use daa_shared::codec::Encoding;
use daa_shared::model::{JobEvent, JobStatus, ResultDocument, StageTask};
use daa_shared::subjects::{Subjects, MSG_ID_HEADER, RESULTS_BUCKET};
use daa_shared::trace::TraceContext;

use crate::service::CoordinatorError;

fn nats_err(e: impl std::fmt::Display) -> CoordinatorError {
    CoordinatorError::nats(e)
}

/// Publish a stage's tasks and wait for every PubAck, then ring the agents' doorbells.
pub(crate) async fn tasks(
    js: &jetstream::Context,
    client: &async_nats::Client,
    subjects: &Subjects,
    tasks: &[StageTask],
    trace_id: &str,
) -> Result<(), CoordinatorError> {
    let trace = TraceContext::continuing(trace_id);
    let mut acks = Vec::with_capacity(tasks.len());
    for t in tasks {
        let payload = Encoding::MsgPack.encode(t).map_err(nats_err)?;
        let mut headers = Encoding::MsgPack.headers();
        headers.insert(MSG_ID_HEADER, t.task_id.as_str());
        trace.child().inject(&mut headers);
        let payload = claim::prepare(
            js,
            client,
            &format!("task.{}", t.task_id),
            payload,
            &mut headers,
        )
        .await
        .map_err(nats_err)?;
        let ack = js
            .publish_with_headers(subjects.tasks(t.agent, t.priority), headers, payload)
            .await
            .map_err(nats_err)?;
        acks.push(ack);
    }
    for ack in
        futures::future::join_all(acks.into_iter().map(std::future::IntoFuture::into_future)).await
    {
        ack.map_err(nats_err)?;
    }
    let mut rung = Vec::new();
    for t in tasks {
        if !rung.contains(&(t.agent, t.priority)) {
            rung.push((t.agent, t.priority));
            let _ = client
                .publish(subjects.wake(t.agent, t.priority), bytes::Bytes::new())
                .await;
        }
    }
    Ok(())
}

/// Publish a job event (de-duplicated per job and status).
pub(crate) async fn event(
    js: &jetstream::Context,
    subjects: &Subjects,
    job_id: &str,
    status: JobStatus,
    error: Option<String>,
) {
    let ev = JobEvent {
        v: daa_shared::model::SCHEMA_VERSION,
        job_id: job_id.to_owned(),
        status,
        error,
    };
    let Ok(payload) = Encoding::Json.encode(&ev) else {
        return;
    };
    let mut headers = Encoding::Json.headers();
    headers.insert(MSG_ID_HEADER, format!("{job_id}:{status}").as_str());
    match js
        .publish_with_headers(subjects.job_event(status), headers, payload.into())
        .await
    {
        // The PubAck is awaited off the job's path: events are a notification, the
        // job's truth is in Redis.
        Ok(ack) => {
            let job_id = job_id.to_owned();
            tokio::spawn(async move {
                if let Err(e) = ack.await {
                    tracing::warn!(%job_id, error = %e, "job event not stored");
                }
            });
        }
        Err(e) => tracing::warn!(%job_id, error = %e, "job event not published"),
    }
}

/// Answer the job's `reply_to` with its result document, in the job's encoding.
pub(crate) async fn reply(
    js: &jetstream::Context,
    client: &async_nats::Client,
    reply_to: &str,
    encoding: Encoding,
    doc: &ResultDocument,
) -> Result<(), CoordinatorError> {
    reply_with(js, client, reply_to, encoding, doc, None).await
}

/// As [`reply`], reusing `msgpack` (the document already encoded as MessagePack, as it
/// was stored) when the client reads MessagePack: a large result is encoded once.
pub(crate) async fn reply_with(
    js: &jetstream::Context,
    client: &async_nats::Client,
    reply_to: &str,
    encoding: Encoding,
    doc: &ResultDocument,
    msgpack: Option<&[u8]>,
) -> Result<(), CoordinatorError> {
    let payload = match (encoding, msgpack) {
        (Encoding::MsgPack, Some(encoded)) => encoded.to_vec(),
        _ => encoding.encode(doc).map_err(nats_err)?,
    };
    // Clients read replies from the documented schema: a result above the server's
    // max_payload is stored in `daa-results` and the reply points at it.
    let payload = if payload.len() > claim::inline_limit(client) {
        claim::put_object(js, client, RESULTS_BUCKET, &doc.job_id, &payload)
            .await
            .map_err(nats_err)?;
        let pointer = serde_json::json!({
            "job_id": doc.job_id,
            "status": doc.status,
            "result": {"object": {"bucket": RESULTS_BUCKET, "key": doc.job_id}},
        });
        encoding.encode(&pointer).map_err(nats_err)?
    } else {
        payload
    };
    client
        .publish_with_headers(reply_to.to_owned(), encoding.headers(), payload.into())
        .await
        .map_err(nats_err)?;
    Ok(())
}
