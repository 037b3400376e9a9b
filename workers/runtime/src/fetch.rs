//! The fetch loop: take as many tasks as there are free slots, highest priority first,
//! asking only the lanes that may hold work, and sleep on the doorbells when none does.
//!
//! nats-server 2.9 has no consumer priority groups, so priority is the order in which
//! the three lane consumers are asked (no-wait fetches: an empty lane answers at once).
//! Each lane has a doorbell (`daa.wake.<agent>.<priority>`) that the coordinator rings
//! after publishing tasks on it. A lane is asked when its bell rang or when its last
//! fetch came back full (it may hold more); a fetch that comes back short means the lane
//! is drained. Every `worker.idle_poll_ms` every lane is asked anyway: redeliveries
//! after a NAK delay ring no bell, and a bell can be missed during a reconnect.
//!
//! The circuit breakers of the agent's dependencies gate fetching: while one is open
//! nothing is fetched (until its cooldown is over), while one is half-open only as many
//! tasks as it has probes left, and each task fetched is admitted through all of them.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::PullConsumer;
use daa_shared::breaker::Admission;
use daa_shared::model::Priority;
use daa_shared::shutdown::Shutdown;
use futures::{FutureExt, StreamExt};
use tokio::sync::Semaphore;

use crate::run::Shared;
use crate::task;

fn lane_index(subject: &str) -> Option<usize> {
    let prio = subject.rsplit('.').next()?;
    Priority::ALL.iter().position(|p| p.as_str() == prio)
}

pub(crate) async fn run(
    shared: Arc<Shared>,
    lanes: Vec<(Priority, PullConsumer)>,
    sem: Arc<Semaphore>,
    mut draining: Shutdown,
) {
    let kind = shared.agent.kind();
    let mut doorbell = match shared
        .client
        .subscribe(shared.subjects.wake_all(kind))
        .await
    {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "no doorbell subscription; polling only");
            None
        }
    };
    let idle = Duration::from_millis(shared.cfg.worker.idle_poll_ms.max(10));
    let mut paused = shared.paused.subscribe();
    // Which lanes may hold work: all of them at start.
    let mut pending = vec![true; lanes.len()];
    let mut last_full_poll = tokio::time::Instant::now();
    loop {
        if draining.is_shutdown() {
            return;
        }
        if *paused.borrow() {
            tokio::select! {
                _ = paused.changed() => {
                    pending.iter_mut().for_each(|p| *p = true);
                    continue;
                }
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
        // A dependency whose breaker is open: no work until its cooldown is over.
        let admission = shared.gate.admission();
        match admission {
            Admission::Refused(wait) => {
                tracing::debug!(?wait, "a dependency's breaker is open; not fetching");
                tokio::select! {
                    _ = tokio::time::sleep(wait.clamp(Duration::from_millis(10), idle)) => {
                        pending.iter_mut().for_each(|p| *p = true);
                        continue;
                    }
                    _ = draining.recv() => return,
                }
            }
            // Half-open with every probe out: wait for their outcomes.
            Admission::Probes(0) => {
                tokio::select! {
                    _ = tokio::time::sleep(idle.min(Duration::from_millis(50))) => continue,
                    _ = draining.recv() => return,
                }
            }
            _ => {}
        }
        // Bells that rang while we were busy.
        if let Some(bell) = doorbell.as_mut() {
            while let Some(Some(msg)) = bell.next().now_or_never() {
                if let Some(i) = lane_index(&msg.subject) {
                    pending[i] = true;
                }
            }
        }
        if last_full_poll.elapsed() >= idle {
            pending.iter_mut().for_each(|p| *p = true);
            last_full_poll = tokio::time::Instant::now();
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
        let free = admission.limit(free);
        let mut got = 0usize;
        for (i, (prio, lane)) in lanes.iter().enumerate() {
            let want = free.saturating_sub(got);
            if want == 0 {
                break;
            }
            if !pending[i] {
                continue;
            }
            let batch = match lane.fetch().max_messages(want).messages().await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(lane = %prio, error = %e, "fetch failed");
                    continue;
                }
            };
            let mut batch = std::pin::pin!(batch);
            let mut from_lane = 0usize;
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
                let admitted = match shared.gate.admit() {
                    Ok(a) => a,
                    // The breaker turned between asking and fetching: hand it back.
                    Err(_) => {
                        let _ = msg
                            .ack_with(async_nats::jetstream::AckKind::Nak(None))
                            .await;
                        continue;
                    }
                };
                from_lane += 1;
                tokio::spawn(task::handle(shared.clone(), msg, permit, admitted));
            }
            got += from_lane;
            // A short batch drained the lane; a full one may have left more.
            pending[i] = from_lane == want;
        }
        if got > 0 || pending.iter().any(|p| *p) {
            continue;
        }
        // Nothing waiting: sleep until a bell rings, the idle poll, or shutdown.
        let wait = idle.saturating_sub(last_full_poll.elapsed());
        match doorbell.as_mut() {
            Some(bell) => {
                tokio::select! {
                    msg = bell.next() => {
                        if let Some(i) = msg.as_ref().and_then(|m| lane_index(&m.subject)) {
                            pending[i] = true;
                        }
                    }
                    _ = tokio::time::sleep(wait) => {}
                    _ = paused.changed() => {}
                    _ = draining.recv() => return,
                }
            }
            None => {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = draining.recv() => return,
                }
            }
        }
    }
}
