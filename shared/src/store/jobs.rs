//! The job state machine: accepted → running (stage by stage) → completed | partial | failed.

use std::collections::HashMap;

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, StoreErrorKind};
use crate::codec::Encoding;
use crate::model::{JobStatus, Priority, Requirements, Source, Stage};
use crate::time::now_ms;

/// Life of a staged value (a result written before the script that moves it into place
/// runs): only a script that never runs leaves one behind.
const STAGED_TTL_MS: u64 = 60_000;

/// The immutable part of a job, stored once at creation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobSpec {
    /// Job id.
    pub job_id: String,
    /// The document.
    pub source: Source,
    /// Requirements.
    pub requirements: Requirements,
    /// Priority.
    pub priority: Priority,
    /// Where the result goes.
    pub reply_to: Option<String>,
    /// Encoding of the submission (and so of the reply).
    pub encoding: Encoding,
    /// Creation time (Unix ms).
    pub created_ms: u64,
    /// Deadline (Unix ms).
    pub deadline_at_ms: u64,
    /// W3C trace id of the job (every task and log line of the job carries it).
    #[serde(default)]
    pub trace_id: String,
}

/// A job's current state as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct JobState {
    /// Status.
    pub status: JobStatus,
    /// Index of the current stage (-1 before validation began).
    pub stage_index: i64,
    /// Current stage.
    pub stage: Option<Stage>,
    /// Last change (Unix ms).
    pub updated_ms: u64,
    /// Error summary of an ended job.
    pub error: Option<String>,
    /// The immutable spec (absent once the job has ended and its state expired).
    pub spec: Option<JobSpec>,
}

/// A job's state with its committed results, read together.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSnapshot {
    /// The state.
    pub state: JobState,
    /// Every task with a committed result, in no particular order.
    pub committed: Vec<String>,
    /// Task id → encoded stage result, for the committed tasks the caller did not
    /// already hold (see [`Store::job_snapshot_except`]).
    pub outputs: HashMap<String, Vec<u8>>,
    /// Tasks of the current stage without a result.
    pub open: u64,
}

/// Result of [`Store::create_job`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// A new job.
    Created,
    /// The job id is taken; its status.
    Exists(JobStatus),
}

/// Result of [`Store::begin_stage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeginOutcome {
    /// This call opened the stage.
    Begun,
    /// The stage (or a later one) was already open: publish again, nothing else.
    AlreadyBegun,
    /// No such job.
    UnknownJob,
    /// The job has ended.
    Ended,
    /// The previous stage still has open tasks.
    PreviousOpen,
}

/// Result of [`Store::commit_result`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    /// First result of this task; `stage_done` when it closed its stage.
    Committed {
        /// No task of the stage is left open.
        stage_done: bool,
    },
    /// This task's result was committed before; `stage_done` as above.
    Duplicate {
        /// No task of the stage is left open and it is still current.
        stage_done: bool,
    },
    /// This task's result was committed before, and the job has since opened a later
    /// stage.
    StageLeft,
    /// No such job (expired or never created).
    UnknownJob,
    /// The job already ended.
    Ended,
    /// The task is not open in the current stage.
    NotOpen,
}

/// A Redis hash read as field → bytes.
type Fields = HashMap<String, Vec<u8>>;

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::with_source(StoreErrorKind::Corrupt, what.to_string())
}

impl Store {
    /// Adds to `pipe` a plain `SET` of `value` under a fresh staging key of the job (see
    /// [`crate::keys::Keys::job_staged`]; a minute to live, should the script that moves
    /// it into place never run) and returns the key.
    fn stage(&self, pipe: &mut redis::Pipeline, job_id: &str, value: &[u8]) -> String {
        let staged = self
            .keys
            .job_staged(job_id, &uuid::Uuid::new_v4().simple().to_string());
        pipe.cmd("SET")
            .arg(&staged)
            .arg(value)
            .arg("PX")
            .arg(STAGED_TTL_MS)
            .ignore();
        staged
    }

    /// Create a job unless its id exists; registers its deadline and index entry.
    pub async fn create_job(&self, spec: &JobSpec) -> Result<CreateOutcome, StoreError> {
        let blob = Encoding::MsgPack
            .encode(spec)
            .map_err(|e| StoreError::with_source(StoreErrorKind::Corrupt, e))?;
        let mut c = self.conn().await?;
        let mut pipe = redis::pipe();
        pipe.invoke_script(
            self.scripts
                .create_job
                .key(self.keys.job(&spec.job_id))
                .arg(now_ms())
                .arg(blob)
                .arg(spec.deadline_at_ms),
        )
        // Index entries are idempotent; they live outside the job's hash slot.
        .zadd(self.keys.deadlines(), &spec.job_id, spec.deadline_at_ms)
        .ignore()
        .zadd(self.keys.jobs_index(), &spec.job_id, spec.created_ms)
        .ignore();
        let (out,): (Vec<redis::Value>,) = self.query_scripted(&mut c, &pipe).await?;
        let created = matches!(out.first(), Some(redis::Value::Int(1)));
        if created {
            return Ok(CreateOutcome::Created);
        }
        let status = match out.get(1) {
            Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(b).parse().ok(),
            Some(redis::Value::SimpleString(s)) => s.parse().ok(),
            _ => None,
        };
        Ok(CreateOutcome::Exists(status.unwrap_or(JobStatus::Accepted)))
    }

    /// Open stage `stage_index` with `task_ids` once the previous stage has closed.
    pub async fn begin_stage(
        &self,
        job_id: &str,
        stage_index: u32,
        stage: Stage,
        task_ids: &[String],
    ) -> Result<BeginOutcome, StoreError> {
        let mut c = self.conn().await?;
        let mut inv = self.scripts.begin_stage.prepare_invoke();
        inv.key(self.keys.job(job_id))
            .key(self.keys.job_open(job_id))
            .arg(stage_index)
            .arg(stage.as_str())
            .arg(now_ms());
        for id in task_ids {
            inv.arg(id);
        }
        let code: i64 = inv.invoke_async(&mut c).await?;
        Ok(match code {
            1 => BeginOutcome::Begun,
            0 => BeginOutcome::AlreadyBegun,
            -1 => BeginOutcome::UnknownJob,
            -2 => BeginOutcome::Ended,
            _ => BeginOutcome::PreviousOpen,
        })
    }

    /// Commit a task's encoded [`crate::model::StageResult`], exactly once.
    pub async fn commit_result(
        &self,
        job_id: &str,
        task_id: &str,
        stage_index: u32,
        encoded: &[u8],
    ) -> Result<CommitOutcome, StoreError> {
        let mut c = self.conn().await?;
        // The result goes in with a plain SET and the script renames it into place:
        // see commit_result.lua.
        let mut pipe = redis::pipe();
        let staged = self.stage(&mut pipe, job_id, encoded);
        pipe.invoke_script(
            self.scripts
                .commit_result
                .key(self.keys.job(job_id))
                .key(self.keys.job_open(job_id))
                .key(self.keys.job_outputs(job_id))
                .key(&staged)
                .key(self.keys.job_output(job_id, task_id))
                .arg(task_id)
                .arg(stage_index)
                .arg(now_ms()),
        );
        let ((code, done),): ((i64, i64),) = self.query_scripted(&mut c, &pipe).await?;
        let stage_done = done == 1;
        Ok(match code {
            1 => CommitOutcome::Committed { stage_done },
            0 => CommitOutcome::Duplicate { stage_done },
            2 => CommitOutcome::StageLeft,
            -1 => CommitOutcome::UnknownJob,
            -2 => CommitOutcome::Ended,
            _ => CommitOutcome::NotOpen,
        })
    }

    /// A job's state, committed results and open task count: the state, the commit
    /// record and the open count in one round trip, the results in a second.
    pub async fn job_snapshot(&self, job_id: &str) -> Result<Option<JobSnapshot>, StoreError> {
        self.job_snapshot_except(job_id, |_| false).await
    }

    /// As [`Store::job_snapshot`], without reading the results of the committed tasks
    /// for which `held` is true (the caller kept them from earlier): they are listed in
    /// [`JobSnapshot::committed`] but not in [`JobSnapshot::outputs`].
    pub async fn job_snapshot_except(
        &self,
        job_id: &str,
        held: impl Fn(&str) -> bool,
    ) -> Result<Option<JobSnapshot>, StoreError> {
        let mut c = self.conn().await?;
        let (h, record, open): (Fields, Fields, u64) = redis::pipe()
            .hgetall(self.keys.job(job_id))
            .hgetall(self.keys.job_outputs(job_id))
            .scard(self.keys.job_open(job_id))
            .query_async(&mut c)
            .await?;
        let Some(state) = parse_state(job_id, h)? else {
            return Ok(None);
        };
        // A record holds the stage index; a job committed by an older coordinator holds
        // the encoded result itself.
        let is_index =
            |v: &[u8]| !v.is_empty() && v.len() <= 10 && v.iter().all(u8::is_ascii_digit);
        let committed: Vec<String> = record.keys().cloned().collect();
        let mut outputs: HashMap<String, Vec<u8>> = HashMap::with_capacity(record.len());
        let mut stored: Vec<String> = Vec::new();
        for (task, v) in record {
            if held(&task) {
                continue;
            }
            if is_index(&v) {
                stored.push(task);
            } else {
                outputs.insert(task, v);
            }
        }
        if !stored.is_empty() {
            let keys: Vec<String> = stored
                .iter()
                .map(|t| self.keys.job_output(job_id, t))
                .collect();
            let blobs: Vec<Option<Vec<u8>>> =
                redis::cmd("MGET").arg(&keys).query_async(&mut c).await?;
            for (task, blob) in stored.into_iter().zip(blobs) {
                match blob {
                    Some(b) => {
                        outputs.insert(task, b);
                    }
                    // Only a job that ended between the two reads loses them.
                    None => tracing::debug!(%job_id, %task, "committed output gone"),
                }
            }
        }
        Ok(Some(JobSnapshot {
            state,
            committed,
            outputs,
            open,
        }))
    }

    /// Current state of a job, if Redis still knows it.
    pub async fn job_state(&self, job_id: &str) -> Result<Option<JobState>, StoreError> {
        let mut c = self.conn().await?;
        let h: HashMap<String, Vec<u8>> = c.hgetall(self.keys.job(job_id)).await?;
        parse_state(job_id, h)
    }
    /// End a job with its encoded result document. True when this call ended it.
    pub async fn finish_job(
        &self,
        job_id: &str,
        status: JobStatus,
        encoded_result: &[u8],
        ttl_ms: u64,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut c = self.conn().await?;
        // The document goes in with a plain SET and the script renames it into place:
        // see finish_job.lua.
        let mut pipe = redis::pipe();
        let staged = self.stage(&mut pipe, job_id, encoded_result);
        pipe.invoke_script(
            self.scripts
                .finish_job
                .key(self.keys.job(job_id))
                .key(self.keys.job_result(job_id))
                .key(self.keys.job_outputs(job_id))
                .key(self.keys.job_open(job_id))
                .key(self.keys.job_attempts(job_id))
                .key(&staged)
                .arg(status.as_str())
                .arg(ttl_ms)
                .arg(now_ms())
                .arg(error.unwrap_or("")),
        )
        .zrem(self.keys.deadlines(), job_id)
        .ignore();
        let (code,): (i64,) = self.query_scripted(&mut c, &pipe).await?;
        Ok(code == 1)
    }

    /// The encoded result document of an ended job.
    pub async fn result(&self, job_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut c = self.conn().await?;
        Ok(c.get(self.keys.job_result(job_id)).await?)
    }

    /// Jobs whose deadline is at or before `now_ms`, oldest first.
    pub async fn due_deadlines(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let mut c = self.conn().await?;
        Ok(
            c.zrangebyscore_limit(self.keys.deadlines(), 0, now_ms, 0, limit as isize)
                .await?,
        )
    }

    /// Forget a job's deadline (it ended, or expired from Redis).
    pub async fn remove_deadline(&self, job_id: &str) -> Result<(), StoreError> {
        let mut c = self.conn().await?;
        let _: () = c.zrem(self.keys.deadlines(), job_id).await?;
        Ok(())
    }

    /// Append one failed delivery attempt (JSON) to the job's history.
    pub async fn record_attempt(&self, job_id: &str, attempt_json: &str) -> Result<(), StoreError> {
        let mut c = self.conn().await?;
        let key = self.keys.job_attempts(job_id);
        let _: () = redis::pipe()
            .rpush(&key, attempt_json)
            .ltrim(&key, -200, -1)
            .expire(&key, 7 * 24 * 3600)
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    /// The job's failed attempts (JSON strings), oldest first.
    pub async fn attempts(&self, job_id: &str) -> Result<Vec<String>, StoreError> {
        let mut c = self.conn().await?;
        Ok(c.lrange(self.keys.job_attempts(job_id), 0, -1).await?)
    }

    /// The most recent jobs, newest first.
    pub async fn recent_jobs(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        let mut c = self.conn().await?;
        Ok(c.zrevrange(self.keys.jobs_index(), 0, limit as isize - 1)
            .await?)
    }
}

fn parse_state(job_id: &str, h: HashMap<String, Vec<u8>>) -> Result<Option<JobState>, StoreError> {
    if h.is_empty() {
        return Ok(None);
    }

    let text = |k: &str| h.get(k).map(|v| String::from_utf8_lossy(v).into_owned());
    let status = text("status")
        .ok_or_else(|| corrupt(format!("job {job_id} has no status")))?
        .parse::<JobStatus>()
        .map_err(corrupt)?;
    let stage = text("stage")
        .and_then(|s| serde_json::from_value::<Stage>(serde_json::Value::String(s)).ok());
    let spec = match h.get("spec") {
        Some(b) => Some(Encoding::MsgPack.decode::<JobSpec>(b).map_err(corrupt)?),
        None => None,
    };
    Ok(Some(JobState {
        status,
        stage_index: text("stage_index")
            .and_then(|s| s.parse().ok())
            .unwrap_or(-1),
        stage,
        updated_ms: text("updated_ms").and_then(|s| s.parse().ok()).unwrap_or(0),
        error: text("error").filter(|e| !e.is_empty()),
        spec,
    }))
}
