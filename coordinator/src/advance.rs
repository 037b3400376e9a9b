//! The pipeline state machine over NATS and Redis: accept a job, commit results, open
//! the next stage, end the job. Every step is idempotent, so a redelivered message, a
//! restarted coordinator or a second coordinator changes nothing twice.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_nats::jetstream;
use daa_shared::claim;
use daa_shared::codec::{decode_message, Encoding};
use daa_shared::model::{
    AgentKind, DocKind, ErrorReport, Job, JobStatus, ResultDocument, Stage, StageResult,
};
use daa_shared::store::{
    BeginOutcome, CommitOutcome, CreateOutcome, JobSnapshot, JobSpec, LiveAgent,
};
use daa_shared::subjects::MSG_ID_HEADER;
use daa_shared::time::now_ms;
use daa_shared::trace::TraceContext;

use crate::cache;
use crate::decoded::DecodedResults;
use crate::plan::{next_stage, validated_kind, CompletedStage, Next, PlanHints};
use crate::publish;
use crate::service::{CoordinatorError, Ctx};
use crate::synthesis::{error_summary, synthesize};

/// A job arrived on `daa.jobs.submit`.
pub(crate) async fn on_job(
    ctx: &Ctx,
    msg: &jetstream::Message,
    redelivered: bool,
) -> Result<(), CoordinatorError> {
    let payload = claim::resolve(&ctx.js, msg.headers.as_ref(), &msg.payload)
        .await
        .map_err(CoordinatorError::nats)?;
    let (job, encoding): (Job, Encoding) = match decode_message(msg.headers.as_ref(), &payload) {
        Ok(j) => j,
        Err(e) => return reject_invalid(ctx, msg, &e.to_string()).await,
    };
    let msg_id = msg
        .headers
        .as_ref()
        .and_then(|h| h.get(MSG_ID_HEADER))
        .map(|v| v.as_str().to_owned());
    let job_id = job
        .job_id
        .clone()
        .filter(|s| !s.is_empty())
        .or(msg_id)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    if !valid_job_id(&job_id) {
        return reject_invalid(
            ctx,
            msg,
            &format!("job_id {job_id:?} must be 1-128 characters of [A-Za-z0-9._:-]"),
        )
        .await;
    }
    let created_ms = now_ms();
    let deadline_ms = job.deadline_ms.unwrap_or(ctx.cfg.jobs.default_deadline_ms);
    let spec = JobSpec {
        job_id: job_id.clone(),
        source: job.source,
        requirements: job.requirements,
        priority: job.priority,
        reply_to: job.reply_to.filter(|r| !r.is_empty()),
        encoding,
        created_ms,
        deadline_at_ms: created_ms.saturating_add(deadline_ms),
        trace_id: TraceContext::from_headers(msg.headers.as_ref())
            .unwrap_or_else(TraceContext::new_root)
            .trace_id,
    };
    match ctx.store.create_job(&spec).await? {
        CreateOutcome::Created => {
            tracing::info!(%job_id, trace_id = %spec.trace_id, "job accepted");
            ctx.metrics.job_accepted();
            publish::event(&ctx.js, &ctx.subjects, &job_id, JobStatus::Accepted, None).await;
            cache::start(ctx, &spec, false).await
        }
        CreateOutcome::Exists(status) => {
            // A resubmission is the same job. After a crash between creating the job and
            // publishing its first stage (this is a redelivery), finish that work.
            if redelivered && !status.is_terminal() {
                cache::start(ctx, &spec, true).await
            } else if status.is_terminal() && spec.reply_to.is_some() {
                // A client that resubmits an ended job (say, after losing its first
                // reply) gets the stored result; the job does not run again.
                tracing::debug!(%job_id, %status, "resubmitted ended job answered from its result");
                match ctx.store.result(&job_id).await? {
                    Some(blob) => {
                        let doc: ResultDocument = Encoding::MsgPack.decode(&blob)?;
                        let reply_to = spec.reply_to.as_deref().unwrap_or_default();
                        reply_stored(ctx, reply_to, spec.encoding, &doc, &blob).await
                    }
                    None => Ok(()),
                }
            } else {
                tracing::debug!(%job_id, %status, "duplicate submission ignored");
                Ok(())
            }
        }
    }
}

fn valid_job_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
}

/// A submission that cannot be read still gets an answer where one is possible.
async fn reject_invalid(
    ctx: &Ctx,
    msg: &jetstream::Message,
    reason: &str,
) -> Result<(), CoordinatorError> {
    // Best effort: pull job_id and reply_to out of whatever map was sent.
    let enc = Encoding::of_message(msg.headers.as_ref(), &msg.payload);
    let loose: Option<serde_json::Value> = enc.decode(&msg.payload).ok();
    let field = |k: &str| {
        loose
            .as_ref()
            .and_then(|v| v.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let job_id = field("job_id").unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    tracing::warn!(%job_id, %reason, "invalid job rejected");
    let doc = ResultDocument {
        job_id: job_id.clone(),
        status: JobStatus::Failed,
        errors: vec![ErrorReport {
            stage: Stage::Validation,
            agent: None,
            kind: daa_shared::model::FailureKind::Permanent,
            message: format!("invalid job: {reason}"),
        }],
        ..Default::default()
    };
    publish::event(
        &ctx.js,
        &ctx.subjects,
        &job_id,
        JobStatus::Failed,
        error_summary(&doc),
    )
    .await;
    if let Some(reply_to) = field("reply_to") {
        publish::reply(&ctx.js, &ctx.client, &reply_to, enc, &doc).await?;
    }
    Ok(())
}

/// A stage result arrived on `daa.results.<agent>`.
pub(crate) async fn on_result(
    ctx: &Ctx,
    msg: &jetstream::Message,
    redelivered: bool,
) -> Result<(), CoordinatorError> {
    let payload = claim::resolve(&ctx.js, msg.headers.as_ref(), &msg.payload)
        .await
        .map_err(CoordinatorError::nats)?;
    let (result, enc): (StageResult, Encoding) =
        match decode_message(msg.headers.as_ref(), &payload) {
            Ok(r) => r,
            Err(e) => {
                // Not ours to interpret; acking drops it, so say so loudly.
                tracing::error!(subject = %msg.subject, error = %e, "undecodable result dropped");
                return Ok(());
            }
        };
    let stored = match enc {
        Encoding::MsgPack => payload.to_vec(),
        Encoding::Json => Encoding::MsgPack.encode(&result)?,
    };
    commit(ctx, Arc::new(result), &stored, redelivered).await
}

/// Commit a result and advance when it closed its stage.
pub(crate) async fn commit(
    ctx: &Ctx,
    result: Arc<StageResult>,
    encoded: &[u8],
    redelivered: bool,
) -> Result<(), CoordinatorError> {
    let outcome = ctx
        .store
        .commit_result(&result.job_id, &result.task_id, result.stage_index, encoded)
        .await?;
    if matches!(outcome, CommitOutcome::Committed { .. }) {
        ctx.metrics.stage_result(&result);
        // Exactly what Redis now holds for the task (a duplicate may differ from the
        // first result, which stays).
        ctx.decoded.insert(Arc::clone(&result), encoded.len());
    }
    match outcome {
        CommitOutcome::Committed { stage_done: true } => {
            advance(ctx, &result.job_id, redelivered).await
        }
        CommitOutcome::Duplicate { stage_done: true } => advance(ctx, &result.job_id, true).await,
        // A redelivered result of a stage the job has left: the coordinator that
        // committed it may have died after opening the next stage and before publishing
        // its tasks, and the job would wait for them until its deadline. Open the
        // current stage again; JetStream drops the tasks that were published.
        CommitOutcome::StageLeft if redelivered => advance(ctx, &result.job_id, true).await,
        CommitOutcome::Committed { stage_done: false }
        | CommitOutcome::Duplicate { stage_done: false }
        | CommitOutcome::StageLeft => Ok(()),
        CommitOutcome::Ended if redelivered => reannounce(ctx, &result.job_id).await,
        CommitOutcome::UnknownJob | CommitOutcome::Ended | CommitOutcome::NotOpen => {
            tracing::debug!(task_id = %result.task_id, ?outcome, "late or stray result ignored");
            Ok(())
        }
    }
}

/// A job as this coordinator reads it before an advance.
pub(crate) struct Snapshot {
    /// What Redis holds, without the outputs of the results in `held` (they are only
    /// listed as committed).
    pub(crate) redis: JobSnapshot,
    /// The job's results this coordinator held decoded when Redis was read. Taken once,
    /// with the read: an eviction from [`Ctx::decoded`] before [`completed_stages`]
    /// runs cannot lose a result that the read left out.
    pub(crate) held: HashMap<String, Arc<StageResult>>,
}

/// Reads job `job_id`: from Redis, what this coordinator does not hold decoded.
pub(crate) async fn snapshot(
    ctx: &Ctx,
    job_id: &str,
) -> Result<Option<Snapshot>, CoordinatorError> {
    let held = ctx.decoded.job(job_id);
    let redis = ctx
        .store
        .job_snapshot_except(job_id, |task| held.contains_key(task))
        .await?;
    Ok(redis.map(|redis| Snapshot { redis, held }))
}

/// The completed stages of a job, rebuilt from its committed results: those held decoded
/// as they are, the others decoded from the snapshot and added to `cache`.
pub(crate) fn completed_stages(
    snap: &Snapshot,
    cache: &DecodedResults,
) -> Result<Vec<CompletedStage>, CoordinatorError> {
    let mut known = snap.held.clone();
    for (task, blob) in &snap.redis.outputs {
        let r: Arc<StageResult> = Arc::new(Encoding::MsgPack.decode(blob)?);
        cache.insert(Arc::clone(&r), blob.len());
        known.insert(task.clone(), r);
    }
    let mut by_stage: BTreeMap<u32, Vec<Arc<StageResult>>> = BTreeMap::new();
    for task in &snap.redis.committed {
        // A committed output gone from Redis (the job ended meanwhile) is left out.
        if let Some(r) = known.get(task) {
            by_stage
                .entry(r.stage_index)
                .or_default()
                .push(Arc::clone(r));
        }
    }
    let mut done = Vec::new();
    for (index, mut results) in by_stage {
        // The current stage counts only once every task of it has reported.
        if i64::from(index) == snap.redis.state.stage_index && snap.redis.open > 0 {
            break;
        }
        results.sort_by_key(|r| part_of(&r.task_id));
        let stage = results[0].stage;
        done.push(CompletedStage {
            index,
            stage,
            results,
        });
    }
    Ok(done)
}

/// The part number at the end of a task id (`<job>.<index>.<stage>.<part>`).
fn part_of(task_id: &str) -> u32 {
    task_id
        .rsplit('.')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

/// What the planner needs to know about the fleet, asked only when it matters (the
/// extraction of a PDF, which may be split across the task slots of the live pdf
/// workers that fetch: paused and draining ones take no part).
pub(crate) async fn hints(ctx: &Ctx, done: &[CompletedStage]) -> PlanHints {
    let mut hints = PlanHints {
        pdf_min_pages_per_part: ctx.cfg.coordinator.pdf_split_min_pages,
        ..PlanHints::default()
    };
    if done.len() == 1 && validated_kind(done) == Some(DocKind::Pdf) {
        if let Ok(live) = ctx
            .store
            .live_agents(AgentKind::Pdf, ctx.cfg.coordinator.liveness_window_ms)
            .await
        {
            hints.pdf_slots = live
                .iter()
                .map(LiveAgent::fetching_slots)
                .sum::<usize>()
                .max(1);
        }
    }
    hints
}

/// Open the next stage of the job, or end it. `again` re-publishes what may have been
/// lost (a redelivery after a crash); JetStream de-duplicates what was not.
pub(crate) async fn advance(ctx: &Ctx, job_id: &str, again: bool) -> Result<(), CoordinatorError> {
    let started = std::time::Instant::now();
    let advanced = open_next(ctx, job_id, again).await;
    // What a job spends between stages: reading its results, synthesis, publishing.
    tracing::debug!(%job_id, advance_ms = started.elapsed().as_secs_f64() * 1e3, "job advanced");
    advanced
}

async fn open_next(ctx: &Ctx, job_id: &str, again: bool) -> Result<(), CoordinatorError> {
    let Some(snap) = snapshot(ctx, job_id).await? else {
        return Ok(());
    };
    if snap.redis.state.status.is_terminal() {
        return Ok(());
    }
    let Some(spec) = snap.redis.state.spec.clone() else {
        return Ok(());
    };
    let done = completed_stages(&snap, &ctx.decoded)?;
    let now = now_ms();
    let hints = hints(ctx, &done).await;
    match next_stage(&spec, &done, &hints, || {
        let mut d = synthesize(&spec, &done, &[], now);
        d.status = JobStatus::Running;
        d
    }) {
        Next::Stage(mut plan) => {
            // A paged document's text is its pages joined: the tasks that carry the
            // document send each character once (the worker runtime rebuilds the text).
            for t in &mut plan.tasks {
                t.input.omit_paged_text();
            }
            let ids: Vec<String> = plan.tasks.iter().map(|t| t.task_id.clone()).collect();
            let begun = ctx
                .store
                .begin_stage(job_id, plan.index, plan.stage, &ids)
                .await?;
            match begun {
                BeginOutcome::Begun | BeginOutcome::AlreadyBegun => {
                    if begun == BeginOutcome::Begun || again {
                        publish::tasks(
                            &ctx.js,
                            &ctx.client,
                            &ctx.subjects,
                            &plan.tasks,
                            &spec.trace_id,
                        )
                        .await?;
                    }
                    if plan.index == 0 && begun == BeginOutcome::Begun {
                        publish::event(&ctx.js, &ctx.subjects, job_id, JobStatus::Running, None)
                            .await;
                    }
                    Ok(())
                }
                BeginOutcome::UnknownJob | BeginOutcome::Ended | BeginOutcome::PreviousOpen => {
                    Ok(())
                }
            }
        }
        Next::Finish => {
            let doc = synthesize(&spec, &done, &[], now);
            finish(ctx, &spec, doc, again).await
        }
    }
}

/// End the job with `doc`: store it, then announce it (event + reply). The announcement
/// is repeated on `again` (recovery), when the first one may have been lost.
pub(crate) async fn finish(
    ctx: &Ctx,
    spec: &JobSpec,
    doc: ResultDocument,
    again: bool,
) -> Result<(), CoordinatorError> {
    let encoded = Encoding::MsgPack.encode(&doc)?;
    let error = error_summary(&doc);
    let ttl_ms = ctx.cfg.jobs.result_ttl_s * 1000;
    let ended = ctx
        .store
        .finish_job(&spec.job_id, doc.status, &encoded, ttl_ms, error.as_deref())
        .await?;
    ctx.decoded.forget(&spec.job_id);
    if ended {
        ctx.metrics.job_ended(&doc);
    }
    if ended || again {
        tracing::info!(job_id = %spec.job_id, status = %doc.status, total_ms = doc.timings.total_ms, "job ended");
        announce(ctx, spec, &doc, &encoded).await?;
    }
    Ok(())
}

/// Announce an ended job (event + reply), whose stored MessagePack is `stored`. Its cache
/// address is settled first (result cached, lock released, followers answered or
/// started): whoever has the reply finds it so.
async fn announce(
    ctx: &Ctx,
    spec: &JobSpec,
    doc: &ResultDocument,
    stored: &[u8],
) -> Result<(), CoordinatorError> {
    cache::on_finished(ctx, spec, doc).await?;
    publish::event(
        &ctx.js,
        &ctx.subjects,
        &spec.job_id,
        doc.status,
        error_summary(doc),
    )
    .await;
    if let Some(reply_to) = &spec.reply_to {
        reply_stored(ctx, reply_to, spec.encoding, doc, stored).await?;
    }
    Ok(())
}

/// Reply to `reply_to` with `doc`, whose MessagePack encoding (as stored) is `stored`.
async fn reply_stored(
    ctx: &Ctx,
    reply_to: &str,
    encoding: Encoding,
    doc: &ResultDocument,
    stored: &[u8],
) -> Result<(), CoordinatorError> {
    publish::reply_with(&ctx.js, &ctx.client, reply_to, encoding, doc, Some(stored)).await
}

/// Announce an ended job again from its stored result: the coordinator that ended it may
/// have died between storing the result and publishing the event and reply.
async fn reannounce(ctx: &Ctx, job_id: &str) -> Result<(), CoordinatorError> {
    let (Some(state), Some(blob)) = (
        ctx.store.job_state(job_id).await?,
        ctx.store.result(job_id).await?,
    ) else {
        return Ok(());
    };
    let Some(spec) = state.spec else {
        return Ok(());
    };
    let doc: ResultDocument = Encoding::MsgPack.decode(&blob)?;
    announce(ctx, &spec, &doc, &blob).await
}

#[cfg(test)]
mod tests {
    use daa_shared::model::{Outcome, StageOutput, StageTask};
    use daa_shared::store::JobState;

    use super::*;

    fn result(index: u32, stage: Stage, part: u32, text: &str) -> StageResult {
        StageResult {
            v: daa_shared::model::SCHEMA_VERSION,
            task_id: StageTask::make_id("j", index, stage, part),
            job_id: "j".into(),
            stage_index: index,
            stage,
            agent: AgentKind::Pdf,
            instance: "w".into(),
            duration_ms: 1,
            queue_ms: 0,
            outcome: Outcome::Ok(StageOutput {
                text: Some(text.into()),
                ..StageOutput::default()
            }),
        }
    }

    /// A snapshot of job "j" taken while `cache` held what it holds.
    fn snapshot(
        committed: &[&StageResult],
        fetched: &[&StageResult],
        open: u64,
        cache: &DecodedResults,
    ) -> Snapshot {
        let redis = JobSnapshot {
            state: JobState {
                status: JobStatus::Running,
                stage_index: 1,
                stage: Some(Stage::Extraction),
                updated_ms: 0,
                error: None,
                spec: None,
            },
            committed: committed.iter().map(|r| r.task_id.clone()).collect(),
            outputs: fetched
                .iter()
                .map(|r| (r.task_id.clone(), Encoding::MsgPack.encode(r).unwrap()))
                .collect::<HashMap<_, _>>(),
            open,
        };
        Snapshot {
            redis,
            held: cache.job("j"),
        }
    }

    #[test]
    fn stages_mix_held_and_fetched_results_and_keep_what_they_decoded() {
        let validation = result(0, Stage::Validation, 0, "v");
        let part0 = result(1, Stage::Extraction, 0, "first");
        let part1 = result(1, Stage::Extraction, 1, "second");
        let held = DecodedResults::new(1 << 20, std::time::Duration::from_secs(3600));
        // This coordinator committed part 1; validation and part 0 came from Redis.
        held.insert(Arc::new(part1.clone()), 10);
        let snap = snapshot(
            &[&part1, &validation, &part0],
            &[&validation, &part0],
            0,
            &held,
        );
        let done = completed_stages(&snap, &held).unwrap();
        assert_eq!(done.len(), 2);
        assert_eq!(done[0].stage, Stage::Validation);
        assert_eq!(*done[0].results[0], validation);
        // Parts in part order, whichever way each arrived.
        let parts: Vec<&StageResult> = done[1].results.iter().map(|r| &**r).collect();
        assert_eq!(parts, [&part0, &part1]);
        // What was decoded is now held: the next snapshot can leave all three out.
        let mut kept: Vec<String> = held.job("j").into_keys().collect();
        kept.sort();
        let mut want = vec![
            validation.task_id.clone(),
            part0.task_id.clone(),
            part1.task_id.clone(),
        ];
        want.sort();
        assert_eq!(kept, want);
        let again = completed_stages(
            &snapshot(&[&part1, &validation, &part0], &[], 0, &held),
            &held,
        )
        .unwrap();
        assert_eq!(again, done);
        // Evicted from the cache after Redis was read without them: the snapshot still
        // has them, no part goes missing.
        let snap = snapshot(&[&part1, &validation, &part0], &[], 0, &held);
        held.forget("j");
        assert_eq!(completed_stages(&snap, &held).unwrap(), done);
    }

    #[test]
    fn an_open_stage_and_a_vanished_output_are_left_out() {
        let validation = result(0, Stage::Validation, 0, "v");
        let part0 = result(1, Stage::Extraction, 0, "first");
        let held = DecodedResults::new(1 << 20, std::time::Duration::from_secs(3600));
        // Part 1 of the extraction is still running: the stage is not complete.
        let done = completed_stages(
            &snapshot(&[&validation, &part0], &[&validation, &part0], 1, &held),
            &held,
        )
        .unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].stage, Stage::Validation);
        // Committed but gone from Redis (the job ended between the two reads) and not
        // held: no result, no error.
        let held = DecodedResults::new(1 << 20, std::time::Duration::from_secs(3600));
        let done = completed_stages(
            &snapshot(&[&validation, &part0], &[&validation], 0, &held),
            &held,
        )
        .unwrap();
        assert_eq!(done.len(), 1);
    }
}
