//! `daa dlq`: the dead-letter queue. The coordinator moves a task that used up its
//! deliveries to the stream `DAA_DLQ` (subjects `daa.dlq.<agent>`, limits retention) with
//! every failed attempt, and fails or degrades its job. This command lists the entries,
//! shows one, replays them and purges them.
//!
//! Replay runs the dead-lettered task's document again **as a new job**
//! (`<job id>.replay.<seq>`, same requirements, priority and time budget, no `reply_to`):
//! the original job has ended and was announced (terminal event, reply) with the
//! dead-letter failure, and its intermediate results were dropped when it ended, so it
//! is not reopened — a job ends exactly once. The new id is derived from the entry, so a
//! replay that is repeated (say, after a crash between publishing and removing the
//! entry) is the same job (`Nats-Msg-Id` and the coordinator's idempotent intake).
//! The entry leaves the DLQ once JetStream has stored the new job.

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, consumer::DeliverPolicy};
use daa_shared::codec::Encoding;
use daa_shared::config::Config;
use daa_shared::model::{AgentKind, Job, Source, StageTask};
use daa_shared::subjects::{Subjects, MSG_ID_HEADER};
use daa_shared::time::now_ms;
use futures::StreamExt;
use serde::Deserialize;

/// Arguments of `daa dlq`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    what: What,
    /// Print as JSON (one object per line).
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Every dead-lettered task: sequence, agent, job, task, age, last error.
    List {
        /// Only this agent type's entries.
        #[arg(long)]
        agent: Option<AgentKind>,
    },
    /// One entry: the task decoded and every attempt's error, agent, instance and time.
    Show {
        /// Stream sequence (from `daa dlq list`) or task id.
        id: String,
    },
    /// Run entries' documents again as new jobs and remove the entries.
    Replay {
        /// Stream sequence or task id (or --all).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Every entry (with --agent: every entry of that agent type).
        #[arg(long)]
        all: bool,
        /// With --all: only this agent type's entries.
        #[arg(long, requires = "all")]
        agent: Option<AgentKind>,
    },
    /// Delete entries without replaying them.
    Purge {
        /// Only this agent type's entries.
        #[arg(long)]
        agent: Option<AgentKind>,
    },
}

/// A DLQ entry as the coordinator's dead-letter handler writes it.
#[derive(Debug, Deserialize)]
struct Entry {
    /// The task (absent when it could not be decoded).
    #[serde(default)]
    task: Option<StageTask>,
    #[serde(default)]
    stream: String,
    #[serde(default)]
    consumer: String,
    #[serde(default)]
    stream_seq: u64,
    #[serde(default)]
    deliveries: u64,
    /// Every failed attempt the workers recorded (attempt, agent, instance, kind,
    /// message, at_ms).
    #[serde(default)]
    history: Vec<serde_json::Value>,
    /// The job's document (when the task does not carry it) and time budget.
    #[serde(default)]
    job: Option<EntryJob>,
    #[serde(default)]
    dead_lettered_ms: u64,
}

#[derive(Debug, Deserialize)]
struct EntryJob {
    #[serde(default)]
    source: Option<Source>,
    #[serde(default)]
    deadline_ms: Option<u64>,
}

/// One stored entry: its stream sequence, subject, decoded form and raw JSON.
struct Stored {
    seq: u64,
    subject: String,
    entry: Entry,
    raw: serde_json::Value,
}

impl Stored {
    fn agent(&self) -> String {
        self.subject
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    fn last_error(&self) -> String {
        self.entry
            .history
            .last()
            .and_then(|a| a.get("message"))
            .and_then(|m| m.as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| "no answer (the worker died or never acknowledged)".into())
    }

    fn summary(&self) -> serde_json::Value {
        let task = self.entry.task.as_ref();
        serde_json::json!({
            "seq": self.seq,
            "agent": self.agent(),
            "job_id": task.map(|t| t.job_id.as_str()),
            "task_id": task.map(|t| t.task_id.as_str()),
            "stage": task.map(|t| t.stage),
            "deliveries": self.entry.deliveries,
            "dead_lettered_ms": self.entry.dead_lettered_ms,
            "last_error": self.last_error(),
        })
    }
}

pub(crate) async fn run(cfg: &Config, args: Args) -> anyhow::Result<i32> {
    let client = daa_shared::nats::connect(&cfg.nats, "daa-cli")
        .await
        .context("cannot read the dead-letter queue")?;
    let js = jetstream::new(client);
    let subjects = cfg.subjects();
    let stream = js
        .get_stream(subjects.dlq_stream())
        .await
        .with_context(|| {
            format!(
                "no stream {} (start daa-coordinator once to set it up)",
                subjects.dlq_stream()
            )
        })?;
    match args.what {
        What::List { agent } => {
            let entries = read_entries(&stream, &subjects, agent).await?;
            list(&entries, args.json);
            Ok(0)
        }
        What::Show { id } => {
            let Some(stored) = find(&stream, &subjects, &id).await? else {
                eprintln!("no dead letter {id}");
                return Ok(1);
            };
            show(&stored, args.json)?;
            Ok(0)
        }
        What::Replay { id, all, agent } => {
            let entries = if all {
                read_entries(&stream, &subjects, agent).await?
            } else {
                let id = id.unwrap_or_default();
                match find(&stream, &subjects, &id).await? {
                    Some(s) => vec![s],
                    None => {
                        eprintln!("no dead letter {id}");
                        return Ok(1);
                    }
                }
            };
            let mut failed = 0;
            for stored in &entries {
                match replay(cfg, &js, &stream, &subjects, stored).await {
                    Ok(job_id) => {
                        if args.json {
                            println!(
                                "{}",
                                serde_json::json!({"seq": stored.seq, "replayed_as": job_id})
                            );
                        } else {
                            let task = stored
                                .entry
                                .task
                                .as_ref()
                                .map(|t| t.task_id.as_str())
                                .unwrap_or_default();
                            println!("replayed {} ({task}) as job {job_id}", stored.seq);
                        }
                    }
                    Err(e) => {
                        failed += 1;
                        eprintln!("cannot replay {}: {e:#}", stored.seq);
                    }
                }
            }
            if all && !args.json {
                println!("{} replayed, {failed} failed", entries.len() - failed);
            }
            Ok(if failed == 0 { 0 } else { 1 })
        }
        What::Purge { agent } => {
            let purged = match agent {
                Some(a) => stream.purge().filter(subjects.dlq(a)).await,
                None => stream.purge().await,
            }
            .context("purging the dead-letter queue")?
            .purged;
            if args.json {
                println!("{}", serde_json::json!({ "purged": purged }));
            } else {
                println!("{purged} dead letter(s) purged");
            }
            Ok(0)
        }
    }
}

/// Every entry (of `agent`), oldest first, read with an ordered consumer.
async fn read_entries(
    stream: &jetstream::stream::Stream,
    subjects: &Subjects,
    agent: Option<AgentKind>,
) -> anyhow::Result<Vec<Stored>> {
    let filter = match agent {
        Some(a) => subjects.dlq(a),
        None => subjects.dlq_all(),
    };
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig {
            filter_subject: filter,
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .context("reading the dead-letter queue")?;
    let pending = consumer.cached_info().num_pending;
    let mut out = Vec::new();
    if pending == 0 {
        return Ok(out);
    }
    let mut msgs = consumer.messages().await?;
    while (out.len() as u64) < pending {
        let next = tokio::time::timeout(Duration::from_secs(10), msgs.next())
            .await
            .context("the dead-letter queue stopped answering")?;
        let Some(msg) = next else { break };
        let msg = msg?;
        let seq = msg.info().map(|i| i.stream_sequence).unwrap_or_default();
        out.push(decode(seq, msg.subject.to_string(), &msg.payload)?);
    }
    Ok(out)
}

fn decode(seq: u64, subject: String, payload: &[u8]) -> anyhow::Result<Stored> {
    let raw: serde_json::Value = serde_json::from_slice(payload)
        .with_context(|| format!("dead letter {seq} is not JSON"))?;
    let entry: Entry = serde_json::from_value(raw.clone())
        .with_context(|| format!("dead letter {seq} is not a DLQ entry"))?;
    Ok(Stored {
        seq,
        subject,
        entry,
        raw,
    })
}

/// The entry `id`: a stream sequence, else a task id.
async fn find(
    stream: &jetstream::stream::Stream,
    subjects: &Subjects,
    id: &str,
) -> anyhow::Result<Option<Stored>> {
    if let Ok(seq) = id.parse::<u64>() {
        let Ok(raw) = stream.get_raw_message(seq).await else {
            return Ok(None);
        };
        return Ok(Some(decode(seq, raw.subject.to_string(), &raw.payload)?));
    }
    Ok(read_entries(stream, subjects, None)
        .await?
        .into_iter()
        .find(|s| s.entry.task.as_ref().is_some_and(|t| t.task_id == id)))
}

/// How long ago `ms` was, shortly: `42s`, `5m`, `3h`, `2d`.
fn age(ms: u64) -> String {
    let s = now_ms().saturating_sub(ms) / 1000;
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

fn list(entries: &[Stored], json: bool) {
    if json {
        for s in entries {
            println!("{}", s.summary());
        }
        return;
    }
    if entries.is_empty() {
        println!("the dead-letter queue is empty");
        return;
    }
    println!(
        "{:>6} {:<10} {:<38} {:<20} {:>5} {:>5}  LAST ERROR",
        "SEQ", "AGENT", "JOB", "TASK", "TRIES", "AGE"
    );
    for s in entries {
        let (job, task) = match &s.entry.task {
            Some(t) => {
                let rest = t
                    .task_id
                    .strip_prefix(&t.job_id)
                    .map(|r| r.trim_start_matches('.'))
                    .unwrap_or(&t.task_id);
                (t.job_id.clone(), rest.to_owned())
            }
            None => ("?".into(), "(undecodable)".into()),
        };
        println!(
            "{:>6} {:<10} {:<38} {:<20} {:>5} {:>5}  {}",
            s.seq,
            s.agent(),
            job,
            task,
            s.entry.deliveries,
            age(s.entry.dead_lettered_ms),
            s.last_error()
        );
    }
}

fn show(s: &Stored, json: bool) -> anyhow::Result<()> {
    if json {
        let mut v = s.raw.clone();
        if let Some(o) = v.as_object_mut() {
            o.insert("seq".into(), s.seq.into());
        }
        println!("{v}");
        return Ok(());
    }
    let e = &s.entry;
    println!("dead letter {} on {}", s.seq, s.subject);
    if let Some(t) = &e.task {
        println!("  job         {}", t.job_id);
        println!("  task        {}", t.task_id);
        println!("  stage       {} (index {})", t.stage, t.stage_index);
        println!("  agent       {}", t.agent);
        println!("  priority    {}", t.priority);
    } else {
        println!("  task        undecodable (it cannot be replayed; purge it)");
    }
    println!(
        "  deliveries  {} (consumer {}, {} sequence {})",
        e.deliveries, e.consumer, e.stream, e.stream_seq
    );
    println!(
        "  dead-lettered {} ago (Unix ms {})",
        age(e.dead_lettered_ms),
        e.dead_lettered_ms
    );
    println!("attempts:");
    if e.history.is_empty() {
        println!("  none recorded: no worker answered (it died or never acknowledged)");
    }
    for a in &e.history {
        let field = |k: &str| match a.get(k) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => "-".into(),
            Some(v) => v.to_string(),
        };
        let at = a.get("at_ms").and_then(|v| v.as_u64()).unwrap_or(0);
        println!(
            "  #{} {} ago  agent {}  instance {}  {}: {}",
            field("attempt"),
            age(at),
            field("agent"),
            field("instance"),
            field("kind"),
            field("message")
        );
    }
    if let Some(t) = &e.task {
        if let Some(Source::Inline { name, data }) = &t.input.source {
            println!("document: {name:?}, {} bytes inline", data.len());
            match std::str::from_utf8(data) {
                Ok(text) => {
                    for line in text.lines().take(10) {
                        println!("  | {line}");
                    }
                    if text.lines().count() > 10 {
                        println!("  | ...");
                    }
                }
                Err(_) => println!("  (binary)"),
            }
        }
        let mut task = serde_json::to_value(t)?;
        // The document's bytes were shown above; the task's JSON names their size only.
        if let Some(data) = task.pointer_mut("/input/source/inline/data") {
            let len = data.as_str().map_or(0, str::len);
            *data = format!("<{len} base64 characters>").into();
        }
        println!("task:");
        println!("{}", serde_json::to_string_pretty(&task)?);
    }
    Ok(())
}

/// The id of the job a replay of entry `seq` of job `job_id` runs as.
fn replay_job_id(job_id: &str, seq: u64) -> String {
    let id = format!("{job_id}.replay.{seq}");
    if id.len() <= 128 {
        id
    } else {
        uuid::Uuid::now_v7().to_string()
    }
}

/// Submit the entry's document as a new job, then remove the entry. The new job id.
async fn replay(
    cfg: &Config,
    js: &jetstream::Context,
    stream: &jetstream::stream::Stream,
    subjects: &Subjects,
    s: &Stored,
) -> anyhow::Result<String> {
    let task = s
        .entry
        .task
        .as_ref()
        .context("the task could not be decoded when it was dead-lettered; purge it")?;
    let job = s.entry.job.as_ref();
    let source = task
        .input
        .source
        .clone()
        .or_else(|| job.and_then(|j| j.source.clone()))
        .with_context(|| {
            format!(
                "the entry does not carry job {}'s document (dead-lettered by an older coordinator); submit it again with daa submit",
                task.job_id
            )
        })?;
    let job_id = replay_job_id(&task.job_id, s.seq);
    let job = Job {
        v: daa_shared::model::SCHEMA_VERSION,
        job_id: Some(job_id.clone()),
        source,
        requirements: task.requirements,
        priority: task.priority,
        deadline_ms: Some(
            job.and_then(|j| j.deadline_ms)
                .unwrap_or(cfg.jobs.default_deadline_ms),
        ),
        reply_to: None,
    };
    let mut headers = Encoding::MsgPack.headers();
    headers.insert(MSG_ID_HEADER, job_id.as_str());
    js.publish_with_headers(
        subjects.jobs_submit(),
        headers,
        Encoding::MsgPack.encode(&job)?.into(),
    )
    .await
    .context("publishing the replayed job")?
    .await
    .context("JetStream did not store the replayed job")?;
    stream
        .delete_message(s.seq)
        .await
        .with_context(|| format!("job {job_id} submitted, but entry {} stays", s.seq))?;
    Ok(job_id)
}
