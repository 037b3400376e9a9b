//! The fleet as NATS and Redis see it at one moment: each task lane's queue depth, the
//! live workers' heartbeats and the dead-letter count. Read on demand (a scrape, a page
//! view, an API call), so every coordinator replica reports the same fleet.

use std::time::Duration;

use daa_shared::model::{AgentKind, Priority};
use daa_shared::store::Heartbeat;
use daa_shared::topology;
use serde::Serialize;

use crate::service::Ctx;

/// One task lane (agent type × priority): the scaling signal.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Lane {
    pub(crate) agent: AgentKind,
    pub(crate) priority: Priority,
    /// Tasks published and not yet delivered to any worker.
    pub(crate) pending: u64,
    /// Tasks delivered and not yet acknowledged (running, or lost with a dead worker
    /// until their ack wait runs out).
    pub(crate) unacknowledged: u64,
}

/// A live worker: its last heartbeat.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Worker {
    pub(crate) agent: AgentKind,
    pub(crate) instance: String,
    /// Milliseconds since its last beat.
    pub(crate) beat_age_ms: u64,
    /// The heartbeat, when its record has not expired yet.
    pub(crate) heartbeat: Option<Heartbeat>,
}

/// What the fleet looks like now.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Snapshot {
    /// Every lane whose consumer exists (workers create theirs when they start).
    pub(crate) lanes: Vec<Lane>,
    /// Workers that beat within the coordinator's liveness window.
    pub(crate) workers: Vec<Worker>,
    /// Messages in the dead-letter stream; `None` when it could not be read.
    pub(crate) dead_letters: Option<u64>,
    /// What could not be read (NATS or Redis away), so a partial picture says so.
    pub(crate) errors: Vec<String>,
}

/// How long one read of the fleet may take before it is reported as an error.
const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// Read the fleet.
pub(crate) async fn snapshot(ctx: &Ctx) -> Snapshot {
    let mut errors = Vec::new();
    let (lanes, workers, dead_letters) = tokio::join!(lanes(ctx), workers(ctx), dead_letters(ctx));
    let lanes = lanes.unwrap_or_else(|e| {
        errors.push(e);
        Vec::new()
    });
    let workers = workers.unwrap_or_else(|e| {
        errors.push(e);
        Vec::new()
    });
    let dead_letters = dead_letters.map_err(|e| errors.push(e)).ok();
    Snapshot {
        lanes,
        workers,
        dead_letters,
        errors,
    }
}

async fn lanes(ctx: &Ctx) -> Result<Vec<Lane>, String> {
    let read = async {
        let stream = ctx
            .js
            .get_stream(ctx.subjects.tasks_stream())
            .await
            .map_err(|e| format!("task stream: {e}"))?;
        let wanted: Vec<(AgentKind, Priority)> = AgentKind::ALL
            .iter()
            .flat_map(|&a| Priority::ALL.iter().map(move |&p| (a, p)))
            .collect();
        let infos = futures::future::join_all(wanted.iter().map(|&(agent, priority)| {
            let stream = &stream;
            async move {
                // A lane whose consumer does not exist yet has no worker and no queue.
                let d = topology::lane_depth(stream, &ctx.subjects, agent, priority).await?;
                Some(Lane {
                    agent,
                    priority,
                    pending: d.pending,
                    unacknowledged: d.unacknowledged,
                })
            }
        }))
        .await;
        Ok(infos.into_iter().flatten().collect())
    };
    tokio::time::timeout(READ_TIMEOUT, read)
        .await
        .map_err(|_| "task lanes: NATS did not answer in time".to_owned())?
}

async fn workers(ctx: &Ctx) -> Result<Vec<Worker>, String> {
    let window = ctx.cfg.coordinator.liveness_window_ms;
    let now = daa_shared::time::now_ms();
    let read = futures::future::join_all(AgentKind::ALL.iter().map(|&agent| async move {
        ctx.store
            .live_agents(agent, window)
            .await
            .map(|live| (agent, live))
    }));
    let per_kind = tokio::time::timeout(READ_TIMEOUT, read)
        .await
        .map_err(|_| "workers: Redis did not answer in time".to_owned())?;
    let mut out = Vec::new();
    for r in per_kind {
        let (agent, live) = r.map_err(|e| format!("workers: {e}"))?;
        out.extend(live.into_iter().map(|l| Worker {
            agent,
            beat_age_ms: now.saturating_sub(l.last_beat_ms),
            instance: l.instance,
            heartbeat: l.heartbeat,
        }));
    }
    Ok(out)
}

async fn dead_letters(ctx: &Ctx) -> Result<u64, String> {
    let read = async {
        let stream = ctx
            .js
            .get_stream(ctx.subjects.dlq_stream())
            .await
            .map_err(|e| format!("dead-letter stream: {e}"))?;
        Ok(stream.cached_info().state.messages)
    };
    tokio::time::timeout(READ_TIMEOUT, read)
        .await
        .map_err(|_| "dead-letter stream: NATS did not answer in time".to_owned())?
}

impl Snapshot {
    /// Live workers of `agent`.
    pub(crate) fn workers_of(&self, agent: AgentKind) -> impl Iterator<Item = &Worker> {
        self.workers.iter().filter(move |w| w.agent == agent)
    }
}
