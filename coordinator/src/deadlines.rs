//! The deadline sweeper: jobs whose deadline passed end now, saying which stage and
//! which agent type they were waiting for, and whether any worker of that type is
//! alive. Only the leading coordinator sweeps (see [`crate::leader`]), and before it
//! ends a job it checks through a script that its fence is still current, so a leader
//! that stalled past its lease does not act on a stale term. Ending a job is atomic and
//! once-only anyway: a race between the check and the ending costs duplicate work, never
//! a double ending.

use std::sync::Arc;
use std::time::Duration;

use daa_shared::model::{AgentKind, ErrorReport, FailureKind, JobStatus, Stage};
use daa_shared::shutdown::Shutdown;
use daa_shared::store::COORDINATOR_LEADER;
use daa_shared::time::now_ms;

use crate::advance::{completed_stages, finish, snapshot};
use crate::plan::{next_stage, Next, PlanHints};
use crate::service::{CoordinatorError, Ctx};
use crate::synthesis::synthesize;

pub(crate) async fn run(ctx: Arc<Ctx>, mut shutdown: Shutdown) {
    let every = Duration::from_millis(ctx.cfg.coordinator.sweep_interval_ms.max(50));
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.recv() => return,
        }
        let Some(fence) = ctx.leader.fence() else {
            continue;
        };
        if let Err(e) = sweep(&ctx, fence).await {
            tracing::warn!(error = %e, "deadline sweep failed");
        }
    }
}

async fn sweep(ctx: &Ctx, fence: u64) -> Result<(), CoordinatorError> {
    for job_id in ctx.store.due_deadlines(now_ms(), 200).await? {
        match expire(ctx, &job_id, fence).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(fence, "leader fence is stale; the sweep stops");
                return Ok(());
            }
            Err(e) => tracing::warn!(%job_id, error = %e, "cannot expire job"),
        }
    }
    Ok(())
}

/// End a job whose deadline passed, unless `fence` is no longer current (false).
async fn expire(ctx: &Ctx, job_id: &str, fence: u64) -> Result<bool, CoordinatorError> {
    let snap = match snapshot(ctx, job_id).await? {
        Some(s) if !s.redis.state.status.is_terminal() => s,
        _ => return Ok(ctx.store.remove_deadline(job_id).await.map(|()| true)?),
    };
    let Some(spec) = snap.redis.state.spec.clone() else {
        return Ok(ctx.store.remove_deadline(job_id).await.map(|()| true)?);
    };
    let done = completed_stages(&snap, &ctx.decoded)?;
    let now = now_ms();
    // What the job was waiting for: the stage after the completed ones.
    let waiting = match next_stage(&spec, &done, &PlanHints::default(), Default::default) {
        Next::Stage(p) => Some((p.stage, p.tasks.first().map(|t| t.agent))),
        Next::Finish => None,
    };
    let (stage, agent) = waiting.unwrap_or((Stage::Synthesis, None));
    let budget = spec.deadline_at_ms.saturating_sub(spec.created_ms);
    let message = match agent {
        Some(agent) => {
            let live = ctx
                .store
                .live_agents(agent, ctx.cfg.coordinator.liveness_window_ms)
                .await
                .map(|v| v.len())
                .unwrap_or(0);
            waiting_reason(budget, stage, agent, live)
        }
        None => format!("deadline of {budget} ms passed in stage {stage}"),
    };
    tracing::warn!(%job_id, %message, "job deadline passed");
    let extra = [ErrorReport {
        stage,
        agent,
        kind: FailureKind::Deadline,
        message,
    }];
    let mut doc = synthesize(&spec, &done, &extra, now);
    if doc.status == JobStatus::Completed {
        doc.status = JobStatus::Partial;
    }
    if !ctx
        .store
        .fence_current(COORDINATOR_LEADER, &ctx.instance, fence)
        .await?
    {
        return Ok(false);
    }
    finish(ctx, &spec, doc, false).await.map(|()| true)
}

/// The reason a job gives when its deadline passes while waiting for `agent`.
pub(crate) fn waiting_reason(
    budget_ms: u64,
    stage: Stage,
    agent: AgentKind,
    live: usize,
) -> String {
    if live == 0 {
        format!(
            "deadline of {budget_ms} ms passed in stage {stage}: no live {agent} worker (start daa-{agent}-worker to process such documents)"
        )
    } else {
        format!(
            "deadline of {budget_ms} ms passed in stage {stage}: {live} live {agent} worker(s) did not finish in time"
        )
    }
}
