//! Request-reply on `daa.api.job.get`: a job's state and, once ended, its result.
//! Coordinators answer as a queue group, so one of them answers each request.

use std::sync::Arc;

use daa_shared::codec::{decode_message, Encoding};
use daa_shared::model::{JobInfo, JobQuery, ResultDocument};
use daa_shared::shutdown::Shutdown;
use futures::StreamExt;

use crate::service::{CoordinatorError, Ctx};

pub(crate) async fn run(ctx: Arc<Ctx>, mut shutdown: Shutdown) {
    let sub = ctx
        .client
        .queue_subscribe(ctx.subjects.api_job_get(), "daa-coordinators".into())
        .await;
    let mut sub = match sub {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot serve the job API");
            return;
        }
    };
    loop {
        let msg = tokio::select! {
            m = sub.next() => match m { Some(m) => m, None => return },
            _ = shutdown.recv() => return,
        };
        let Some(reply) = msg.reply.clone() else {
            continue;
        };
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let (answer, enc) = match decode_message::<JobQuery>(msg.headers.as_ref(), &msg.payload)
            {
                Ok((q, enc)) => (job_info(&ctx, &q.job_id).await, enc),
                Err(e) => (
                    Ok(JobInfo {
                        v: daa_shared::model::SCHEMA_VERSION,
                        job_id: String::new(),
                        status: None,
                        stage: None,
                        result: None,
                        error: Some(format!("bad request: {e}")),
                    }),
                    Encoding::Json,
                ),
            };
            let info = answer.unwrap_or_else(|e| JobInfo {
                v: daa_shared::model::SCHEMA_VERSION,
                job_id: String::new(),
                status: None,
                stage: None,
                result: None,
                error: Some(format!("internal error: {e}")),
            });
            if let Ok(payload) = enc.encode(&info) {
                let _ = ctx
                    .client
                    .publish_with_headers(reply, enc.headers(), payload.into())
                    .await;
            }
        });
    }
}

/// The state of a job as the API reports it.
pub(crate) async fn job_info(ctx: &Ctx, job_id: &str) -> Result<JobInfo, CoordinatorError> {
    let state = ctx.store.job_state(job_id).await?;
    let result = match &state {
        Some(s) if s.status.is_terminal() => match ctx.store.result(job_id).await? {
            Some(b) => Some(Encoding::MsgPack.decode::<ResultDocument>(&b)?),
            None => None,
        },
        _ => None,
    };
    Ok(JobInfo {
        v: daa_shared::model::SCHEMA_VERSION,
        job_id: job_id.to_owned(),
        status: state.as_ref().map(|s| s.status),
        stage: state.as_ref().and_then(|s| s.stage),
        error: state.and_then(|s| s.error),
        result,
    })
}
