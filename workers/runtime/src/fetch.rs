//! The fetch loop: take as many tasks as there are free slots, highest priority first,
//! and sleep on the doorbell (`daa.wake.<agent>`) or the idle poll when there are none.
//!
//! nats-server 2.9 has no consumer priority groups, so priority is the order in which
//! the three lane consumers are asked (no-wait fetches: an empty lane answers at once).

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::PullConsumer;
use daa_shared::model::Priority;
use daa_shared::shutdown::Shutdown;
use futures::StreamExt;
use tokio::sync::Semaphore;

use crate::run::Shared;
use crate::task;

pub(crate) async fn run(
    shared: Arc<Shared>,
    lanes: Vec<(Priority, PullConsumer)>,
    sem: Arc<Semaphore>,
    mut draining: Shutdown,
) {
    let kind = shared.agent.kind();
    let mut doorbell = match shared.client.subscribe(shared.subjects.wake(kind)).await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "no doorbell subscription; polling only");
            None
        }
    };
    let idle = Duration::from_millis(shared.cfg.worker.idle_poll_ms.max(10));
    let mut paused = shared.paused.subscribe();
    loop {
        if draining.is_shutdown() {
            return;
        }
        if *paused.borrow() {
            tokio::select! {
                _ = paused.changed() => continue,
                _ = draining.recv() => return,
            }
        }
        // An agent that says it cannot work is not fed (its tasks go to healthy replicas).
        if let crate::AgentStatus::Unavailable(reason) = shared.agent.status() {
            tracing::debug!(%reason, "agent unavailable; not fetching");
            tokio::select! {
                _ = tokio::time::sleep(idle) => continue,
                _ = draining.recv() => return,
            }
        }
        // Wait for a free slot.
        let free = sem.available_permits();
        if free == 0 {
            tokio::select! {
                p = sem.clone().acquire_owned() => drop(p),
                _ = draining.recv() => return,
            }
            continue;
        }
        let mut got = 0usize;
        for (prio, lane) in &lanes {
            let want = free.saturating_sub(got);
            if want == 0 {
                break;
            }
            let batch = match lane.fetch().max_messages(want).messages().await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(lane = %prio, error = %e, "fetch failed");
                    continue;
                }
            };
            let mut batch = std::pin::pin!(batch);
            while let Some(msg) = batch.next().await {
                let msg = match msg {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::debug!(lane = %prio, error = %e, "fetch ended");
                        break;
                    }
                };
                let permit = match sem.clone().try_acquire_owned() {
                    Ok(p) => p,
                    // Cannot happen (we asked for no more than the free slots); hand it back.
                    Err(_) => {
                        let _ = msg
                            .ack_with(async_nats::jetstream::AckKind::Nak(None))
                            .await;
                        continue;
                    }
                };
                got += 1;
                tokio::spawn(task::handle(shared.clone(), msg, permit));
            }
        }
        if got > 0 {
            continue;
        }
        // Nothing waiting: sleep until the doorbell rings, the idle poll, or shutdown.
        match doorbell.as_mut() {
            Some(bell) => {
                tokio::select! {
                    _ = bell.next() => {}
                    _ = tokio::time::sleep(idle) => {}
                    _ = paused.changed() => {}
                    _ = draining.recv() => return,
                }
            }
            None => {
                tokio::select! {
                    _ = tokio::time::sleep(idle) => {}
                    _ = draining.recv() => return,
                }
            }
        }
    }
}
