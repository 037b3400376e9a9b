//! The result cache at job intake and at job end.
//!
//! A job whose document bytes are at hand (inline source) gets a cache address (sha256
//! of the bytes, requirements, pipeline version; see `daa_shared::cache`). At intake:
//! - a cached result answers the job at once (a copy with this job's id, `metadata.
//!   cached_from` = the job that computed it);
//! - else the first job takes the cache lock of the address and runs (the leader);
//! - a job arriving while the lock is held registers as the leader's follower and does
//!   not run; its handler returns at once, so the intake loop is never blocked.
//!
//! When the leader ends (the one finish path every end goes through, including the
//! deadline sweeper), a `completed` result is written to the cache by a fenced write
//! under the leader's fence, the lock is released, then the followers are answered from
//! the cache; after a `partial` or `failed` end nothing is cached and the followers are
//! started again (one of them leads, the others follow it).

use std::time::Duration;

use daa_shared::cache::{self, Follow, ResultCache};
use daa_shared::codec::Encoding;
use daa_shared::model::{JobStatus, ResultDocument, Timings};
use daa_shared::store::JobSpec;
use daa_shared::time::now_ms;
use futures::future::{BoxFuture, FutureExt};

use crate::advance::{advance, finish};
use crate::service::{CoordinatorError, Ctx};

/// Metadata key of a result answered from the cache: the id of the job that computed it.
pub(crate) const CACHED_FROM: &str = "cached_from";

/// Kept past a leader's deadline: its lock, the followers set.
const MARGIN: Duration = Duration::from_secs(10);

/// How a job was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Started {
    /// Answered from the cache.
    Answered,
    /// Waits for the job computing the same result.
    Following,
    /// Runs its pipeline.
    Running,
}

fn resource_of(ctx: &Ctx, spec: &JobSpec) -> Option<String> {
    if !ctx.cfg.cache.enabled {
        return None;
    }
    cache::address_of(&spec.source, &spec.requirements).map(|a| cache::resource(&a))
}

/// How long a leader may hold the cache lock: until its deadline, and a margin (the
/// deadline sweeper ends it, and so releases the lock, by then).
fn hold_for(spec: &JobSpec) -> Duration {
    Duration::from_millis(spec.deadline_at_ms.saturating_sub(now_ms())) + MARGIN
}

/// Start an accepted job: from the cache, behind the job computing the same result, or
/// by running its pipeline (`again` as in [`advance`]).
pub(crate) async fn start(ctx: &Ctx, spec: &JobSpec, again: bool) -> Result<(), CoordinatorError> {
    start_job(ctx, spec, again).await.map(|_| ())
}

async fn start_job(ctx: &Ctx, spec: &JobSpec, again: bool) -> Result<Started, CoordinatorError> {
    let Some(resource) = resource_of(ctx, spec) else {
        advance(ctx, &spec.job_id, again).await?;
        return Ok(Started::Running);
    };
    let rc = ResultCache::new(ctx.store.clone());
    let hold = hold_for(spec);
    // "Free" can turn into "taken" between the check and the lock: look again.
    for _ in 0..3 {
        match rc.follow(&resource, &spec.job_id, hold).await? {
            Follow::Cached(blob) => {
                tracing::info!(job_id = %spec.job_id, "answered from the result cache");
                answer(ctx, spec, &blob).await?;
                return Ok(Started::Answered);
            }
            Follow::Following => {
                tracing::info!(job_id = %spec.job_id, "waits for the job computing the same result");
                return Ok(Started::Following);
            }
            Follow::Leading => {
                advance(ctx, &spec.job_id, again).await?;
                return Ok(Started::Running);
            }
            Follow::Free => {
                let record = hold + Duration::from_secs(ctx.cfg.jobs.result_ttl_s);
                if rc
                    .lead(&resource, &spec.job_id, hold, record)
                    .await?
                    .is_some()
                {
                    // A leader may have written the result and released the lock between
                    // the check and the lock; answering goes through the finish path,
                    // which releases the lock again and answers any follower.
                    if let Some(blob) = rc.get(&resource).await? {
                        answer(ctx, spec, &blob).await?;
                        return Ok(Started::Answered);
                    }
                    advance(ctx, &spec.job_id, again).await?;
                    return Ok(Started::Running);
                }
            }
        }
    }
    tracing::warn!(job_id = %spec.job_id, "cache lock contended; running uncached");
    advance(ctx, &spec.job_id, again).await?;
    Ok(Started::Running)
}

/// End `spec`'s job with a copy of the cached result document `blob`.
async fn answer(ctx: &Ctx, spec: &JobSpec, blob: &[u8]) -> Result<(), CoordinatorError> {
    let mut doc: ResultDocument = Encoding::MsgPack.decode(blob)?;
    let from = std::mem::replace(&mut doc.job_id, spec.job_id.clone());
    doc.metadata
        .entry(CACHED_FROM)
        .or_insert(serde_json::Value::String(from));
    let total_ms = now_ms().saturating_sub(spec.created_ms);
    doc.timings = Timings {
        total_ms,
        queue_ms: 0,
        coordination_ms: total_ms,
    };
    finish(ctx, spec, doc, false).await
}

/// A job ended with `doc` (called on every finish and re-announcement): when it led a
/// cache address, cache a completed result, release the lock and answer its followers.
pub(crate) async fn on_finished(
    ctx: &Ctx,
    spec: &JobSpec,
    doc: &ResultDocument,
) -> Result<(), CoordinatorError> {
    let Some(resource) = resource_of(ctx, spec) else {
        return Ok(());
    };
    let rc = ResultCache::new(ctx.store.clone());
    let Some(fence) = rc.lead_fence(&spec.job_id).await? else {
        return Ok(());
    };
    if doc.status == JobStatus::Completed && !doc.metadata.contains_key(CACHED_FROM) {
        let blob = Encoding::MsgPack.encode(doc)?;
        let ttl = Duration::from_secs(ctx.cfg.cache.ttl_s.max(1));
        if !rc.write(&resource, fence, &blob, ttl).await? {
            // This job's lock expired and another job took it: that one caches.
            tracing::warn!(job_id = %spec.job_id, fence, "result not cached: a newer leader exists");
        }
    }
    // Release first, then drain: a job that registers after the drain read the set
    // finds the lock free (or the result cached) and does not wait.
    rc.release(&resource, &spec.job_id).await?;
    drain(ctx, resource).await
}

/// Answer (or start again) every follower of `resource`.
fn drain(ctx: &Ctx, resource: String) -> BoxFuture<'_, Result<(), CoordinatorError>> {
    async move {
        let rc = ResultCache::new(ctx.store.clone());
        for job_id in rc.followers(&resource).await? {
            let state = ctx.store.job_state(&job_id).await?;
            let Some(spec) = state
                .filter(|s| !s.status.is_terminal())
                .and_then(|s| s.spec)
            else {
                // Ended meanwhile (its own deadline) or expired.
                rc.unfollow(&resource, &job_id).await?;
                continue;
            };
            let started = match rc.get(&resource).await? {
                Some(blob) => {
                    answer(ctx, &spec, &blob).await?;
                    Started::Answered
                }
                // Nothing cached (the leader failed): start it again.
                None => start_job(ctx, &spec, false).await?,
            };
            if started != Started::Following {
                rc.unfollow(&resource, &job_id).await?;
            }
        }
        Ok(())
    }
    .boxed()
}
