//! Idempotent creation of the JetStream streams, durable pull consumers and Object Store
//! buckets. Every process calls these at start; whoever comes first creates, the others
//! find. A consumer's delivery settings are fixed when it is first created (change them
//! with `nats consumer edit` or by deleting the consumer).

use std::time::Duration;

use async_nats::jetstream::{
    self,
    consumer::{pull, AckPolicy, DeliverPolicy, PullConsumer},
    stream::{self, DiscardPolicy, RetentionPolicy, StorageType, Stream},
};

use crate::config::Config;
use crate::model::{AgentKind, Priority};
use crate::subjects::{Subjects, DOCUMENTS_BUCKET, RESULTS_BUCKET};
use crate::Error;

/// What went wrong setting up streams and consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TopologyErrorKind {
    /// A stream could not be created or found.
    #[error("cannot create or find stream")]
    Stream,
    /// A consumer could not be created or found.
    #[error("cannot create or find consumer")]
    Consumer,
    /// An Object Store bucket could not be created or found.
    #[error("cannot create or find object store bucket")]
    Bucket,
}

/// Topology error.
pub type TopologyError = Error<TopologyErrorKind>;

/// Largest message the streams accept (nats.conf sets `max_payload` to 8 MB).
pub const MAX_MESSAGE_BYTES: i32 = 8 * 1024 * 1024;

fn stream_configs(s: &Subjects, cfg: &Config) -> Vec<stream::Config> {
    let dedup = Duration::from_secs(cfg.jobs.dedup_window_s);
    let work_queue = |name: String, subjects: Vec<String>| stream::Config {
        name,
        subjects,
        retention: RetentionPolicy::WorkQueue,
        storage: StorageType::File,
        duplicate_window: dedup,
        max_message_size: MAX_MESSAGE_BYTES,
        allow_direct: true,
        ..Default::default()
    };
    let limits = |name: String, subjects: Vec<String>, max_age: Duration| stream::Config {
        name,
        subjects,
        retention: RetentionPolicy::Limits,
        storage: StorageType::File,
        max_age,
        duplicate_window: dedup,
        discard: DiscardPolicy::Old,
        max_message_size: MAX_MESSAGE_BYTES,
        allow_direct: true,
        ..Default::default()
    };
    vec![
        work_queue(s.jobs_stream(), vec![s.jobs_submit()]),
        work_queue(s.tasks_stream(), vec![s.tasks_all()]),
        work_queue(s.results_stream(), vec![s.results_all()]),
        work_queue(s.advisories_stream(), vec![s.max_deliveries_advisories()]),
        limits(
            s.dlq_stream(),
            vec![s.dlq_all()],
            Duration::from_secs(14 * 24 * 3600),
        ),
        limits(
            s.events_stream(),
            vec![s.events_all()],
            Duration::from_secs(24 * 3600),
        ),
    ]
}

/// Create every stream that does not exist yet.
pub async fn ensure_streams(js: &jetstream::Context, cfg: &Config) -> Result<(), TopologyError> {
    let s = cfg.subjects();
    for config in stream_configs(&s, cfg) {
        ensure_stream(js, config).await?;
    }
    Ok(())
}

async fn ensure_stream(
    js: &jetstream::Context,
    config: stream::Config,
) -> Result<Stream, TopologyError> {
    // Two processes starting at once may race on creation: the loser finds it next time.
    let mut last = None;
    for _ in 0..3 {
        match js.get_or_create_stream(config.clone()).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(TopologyError::with_source(
        TopologyErrorKind::Stream,
        format!(
            "{}: {}",
            config.name,
            last.map(|e| e.to_string()).unwrap_or_default()
        ),
    ))
}

async fn get_stream(js: &jetstream::Context, name: &str) -> Result<Stream, TopologyError> {
    js.get_stream(name)
        .await
        .map_err(|e| TopologyError::with_source(TopologyErrorKind::Stream, format!("{name}: {e}")))
}

async fn ensure_consumer(
    stream: &Stream,
    config: pull::Config,
) -> Result<PullConsumer, TopologyError> {
    let name = config.durable_name.clone().unwrap_or_default();
    let mut last = None;
    for _ in 0..3 {
        match stream
            .get_or_create_consumer::<pull::Config>(&name, config.clone())
            .await
        {
            Ok(c) => return Ok(c),
            Err(e) => last = Some(e),
        }
    }
    Err(TopologyError::with_source(
        TopologyErrorKind::Consumer,
        format!(
            "{name}: {}",
            last.map(|e| e.to_string()).unwrap_or_default()
        ),
    ))
}

/// The durable consumer of one agent type's priority lane, shared by all its replicas.
pub async fn task_consumer(
    js: &jetstream::Context,
    cfg: &Config,
    agent: AgentKind,
    priority: Priority,
) -> Result<PullConsumer, TopologyError> {
    let s = cfg.subjects();
    let stream = get_stream(js, &s.tasks_stream()).await?;
    let name = s.task_consumer(agent, priority);
    ensure_consumer(
        &stream,
        pull::Config {
            durable_name: Some(name.clone()),
            description: Some(format!("{agent} workers, {priority} priority")),
            filter_subject: s.tasks(agent, priority),
            ack_policy: AckPolicy::Explicit,
            deliver_policy: DeliverPolicy::All,
            ack_wait: cfg.tasks.ack_wait(),
            max_deliver: cfg.tasks.max_deliver,
            max_ack_pending: cfg.tasks.max_ack_pending,
            // Redeliveries after a missed ack (a crashed worker) back off too.
            backoff: backoff_schedule(cfg),
            ..Default::default()
        },
    )
    .await
}

/// Redelivery delays after missed acks: ack_wait, doubling up to 8x.
fn backoff_schedule(cfg: &Config) -> Vec<Duration> {
    // NATS wants fewer backoff entries than max_deliver.
    let base = cfg.tasks.ack_wait();
    let n = (cfg.tasks.max_deliver - 1).clamp(0, 20) as u32;
    (0..n).map(|i| base.saturating_mul(1 << i.min(3))).collect()
}

/// A durable consumer on a whole stream (coordinator side: jobs, results, advisories).
pub async fn stream_consumer(
    js: &jetstream::Context,
    stream_name: &str,
    durable: &str,
    ack_wait: Duration,
    max_deliver: i64,
) -> Result<PullConsumer, TopologyError> {
    let stream = get_stream(js, stream_name).await?;
    ensure_consumer(
        &stream,
        pull::Config {
            durable_name: Some(durable.to_owned()),
            ack_policy: AckPolicy::Explicit,
            deliver_policy: DeliverPolicy::All,
            ack_wait,
            max_deliver,
            max_ack_pending: 20_000,
            ..Default::default()
        },
    )
    .await
}

/// The Object Store buckets: large documents, large results, claim-checked payloads.
pub async fn ensure_buckets(js: &jetstream::Context) -> Result<(), TopologyError> {
    for bucket in [
        DOCUMENTS_BUCKET,
        RESULTS_BUCKET,
        crate::claim::PAYLOADS_BUCKET,
    ] {
        if js.get_object_store(bucket).await.is_ok() {
            continue;
        }
        let created = js
            .create_object_store(jetstream::object_store::Config {
                bucket: bucket.to_owned(),
                description: Some("daa claim-check storage".into()),
                max_age: if bucket == crate::claim::PAYLOADS_BUCKET {
                    Duration::from_secs(24 * 3600)
                } else {
                    Duration::from_secs(7 * 24 * 3600)
                },
                storage: StorageType::File,
                ..Default::default()
            })
            .await;
        if let Err(e) = created {
            // Lost a creation race? Then it exists now.
            if js.get_object_store(bucket).await.is_err() {
                return Err(TopologyError::with_source(
                    TopologyErrorKind::Bucket,
                    format!("{bucket}: {e}"),
                ));
            }
        }
    }
    Ok(())
}

/// How many tasks wait in one lane (agent type × priority) and how many are delivered
/// and not yet acknowledged: `None` while the lane's consumer does not exist (no worker
/// of that type has started) or cannot be read.
pub async fn lane_depth(
    stream: &Stream,
    subjects: &Subjects,
    agent: AgentKind,
    priority: Priority,
) -> Option<LaneDepth> {
    let name = subjects.task_consumer(agent, priority);
    let consumer = stream.get_consumer::<pull::Config>(&name).await.ok()?;
    let info = consumer.cached_info();
    Some(LaneDepth {
        pending: info.num_pending,
        unacknowledged: info.num_ack_pending as u64,
    })
}

/// One lane's queue, as [`lane_depth`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LaneDepth {
    /// Tasks published and not yet delivered to any worker: the scaling signal.
    pub pending: u64,
    /// Tasks delivered and not yet acknowledged (running, or held by a worker that died
    /// until their ack wait runs out).
    pub unacknowledged: u64,
}
