//! Consuming the coordinator's three work queues (jobs, results, MAX_DELIVERIES
//! advisories) with bounded concurrency. A message is acked only after its effects are
//! in Redis; a failure NAKs it for redelivery (its handling is idempotent).

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::PullConsumer, AckKind};
use daa_shared::shutdown::Shutdown;
use futures::StreamExt;
use tokio::sync::Semaphore;

use crate::service::Ctx;
use crate::{advance, dlq};

/// Which queue a loop consumes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Jobs,
    Results,
    Advisories,
}

pub(crate) async fn run(ctx: Arc<Ctx>, consumer: PullConsumer, kind: Kind, mut shutdown: Shutdown) {
    let limit = ctx.cfg.coordinator.max_in_flight.max(1);
    let sem = Arc::new(Semaphore::new(limit));
    loop {
        let stream = consumer
            .stream()
            .max_messages_per_batch(limit.min(256))
            .expires(Duration::from_secs(5))
            .messages()
            .await;
        let mut stream = match stream {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(?kind, error = %e, "cannot pull; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = shutdown.recv() => break,
                }
            }
        };
        loop {
            let next = tokio::select! {
                m = stream.next() => m,
                _ = shutdown.recv() => None,
            };
            let msg = match next {
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    tracing::debug!(?kind, error = %e, "pull stream hiccup");
                    continue;
                }
                None => break,
            };
            let permit = match sem.clone().acquire_owned().await {
                Ok(p) => p,
                Err(_) => break,
            };
            let ctx = ctx.clone();
            tokio::spawn(async move {
                handle(&ctx, kind, msg).await;
                drop(permit);
            });
        }
        if shutdown.is_shutdown() {
            break;
        }
    }
    // Let in-flight handlers finish.
    let _ = tokio::time::timeout(
        Duration::from_secs(10),
        sem.acquire_many(u32::try_from(limit).unwrap_or(u32::MAX)),
    )
    .await;
}

async fn handle(ctx: &Ctx, kind: Kind, msg: jetstream::Message) {
    let delivered = msg.info().map(|i| i.delivered.max(1)).unwrap_or(1);
    let redelivered = delivered > 1;
    let outcome = match kind {
        Kind::Jobs => advance::on_job(ctx, &msg, redelivered).await,
        Kind::Results => advance::on_result(ctx, &msg, redelivered).await,
        Kind::Advisories => dlq::on_advisory(ctx, &msg).await,
    };
    let ack = match outcome {
        Ok(()) => AckKind::Ack,
        Err(e) => {
            // 0.5 s, 1 s, 2 s ... capped at 30 s.
            let delay = Duration::from_millis(500)
                .saturating_mul(1 << (delivered - 1).clamp(0, 6))
                .min(Duration::from_secs(30));
            tracing::warn!(?kind, error = %e, ?delay, "handling failed; will be redelivered");
            AckKind::Nak(Some(delay))
        }
    };
    if let Err(e) = msg.ack_with(ack).await {
        tracing::warn!(?kind, error = %e, "ack failed");
    }
}
