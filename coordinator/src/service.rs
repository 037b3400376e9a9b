//! The coordinator service: connect, set up the topology, run the loops until shutdown.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use daa_shared::config::Config;
use daa_shared::shutdown::Shutdown;
use daa_shared::store::Store;
use daa_shared::subjects::Subjects;
use daa_shared::{connect, topology};

use crate::decoded::DecodedResults;
use crate::{api, deadlines, http, intake, leader};

/// What went wrong in the coordinator.
#[derive(Debug, thiserror::Error)]
pub enum CoordinatorError {
    /// Shut down before NATS or Redis could be reached.
    #[error("shut down while connecting")]
    Connect,
    /// Streams, consumers or buckets could not be set up.
    #[error(transparent)]
    Topology(#[from] daa_shared::topology::TopologyError),
    /// A NATS publish or request failed.
    #[error("NATS operation failed: {0}")]
    Nats(String),
    /// A Redis operation failed.
    #[error(transparent)]
    Store(#[from] daa_shared::store::StoreError),
    /// A message could not be encoded or decoded.
    #[error(transparent)]
    Codec(#[from] daa_shared::codec::CodecError),
    /// A singleton duty's message reached a coordinator that does not lead (or whose
    /// fence is stale); it goes back to the stream for the leader.
    #[error("not the leading coordinator")]
    NotLeader,
}

impl CoordinatorError {
    pub(crate) fn nats(e: impl std::fmt::Display) -> Self {
        CoordinatorError::Nats(e.to_string())
    }
}

/// What every coordinator loop shares.
pub(crate) struct Ctx {
    pub(crate) cfg: Config,
    pub(crate) instance: String,
    pub(crate) client: async_nats::Client,
    pub(crate) js: jetstream::Context,
    pub(crate) store: Store,
    pub(crate) subjects: Subjects,
    /// Whether this coordinator leads (runs the singleton duties), with which fence.
    pub(crate) leader: leader::Leadership,
    /// Stage results decoded for the jobs' later stages.
    pub(crate) decoded: DecodedResults,
    /// What this coordinator counts, for `/metrics` and the dashboard.
    pub(crate) metrics: http::CoordinatorMetrics,
    /// The dashboard's previous view, for its throughput column.
    pub(crate) throughput: http::Throughput,
}

/// Durable consumer name shared by every coordinator replica.
pub(crate) const DURABLE: &str = "coordinator";

/// Run the coordinator until `shutdown` fires.
pub async fn run(cfg: Config, shutdown: Shutdown) -> Result<(), CoordinatorError> {
    let instance = format!(
        "coordinator-{}-{}",
        std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "host".into()),
        std::process::id()
    );
    let mut s = shutdown.clone();
    let client = connect::nats_with_retry(&cfg, &instance, &mut s)
        .await
        .ok_or(CoordinatorError::Connect)?;
    let store = connect::redis_with_retry(&cfg, &mut s)
        .await
        .ok_or(CoordinatorError::Connect)?;
    let js = jetstream::new(client.clone());
    topology::ensure_streams(&js, &cfg).await?;
    topology::ensure_buckets(&js).await?;
    let subjects = cfg.subjects();
    // Short: a message whose coordinator died mid-step waits this long for another one,
    // and its job's deadline keeps running meanwhile (docs/failures.md).
    let ack_wait = Duration::from_millis(cfg.coordinator.ack_wait_ms.max(100));
    // The coordinator's own queues are never given up on (max_deliver -1): handling is
    // idempotent, failures are Redis or NATS being away, and a dropped result would
    // strand its job until the deadline. Redeliveries back off (see intake).
    let jobs =
        topology::stream_consumer(&js, &subjects.jobs_stream(), DURABLE, ack_wait, -1).await?;
    let results =
        topology::stream_consumer(&js, &subjects.results_stream(), DURABLE, ack_wait, -1).await?;
    let advisories =
        topology::stream_consumer(&js, &subjects.advisories_stream(), DURABLE, ack_wait, -1)
            .await?;
    let (leadership, leading) = leader::start(
        store.clone(),
        instance.clone(),
        Duration::from_millis(cfg.coordinator.leader_lease_ms.max(30)),
        shutdown.clone(),
    );
    let decoded = DecodedResults::new(
        cfg.coordinator.decoded_results_max_bytes,
        Duration::from_secs(cfg.jobs.result_ttl_s),
    );
    let ctx = Arc::new(Ctx {
        cfg,
        instance,
        client,
        js,
        store,
        subjects,
        decoded,
        leader: leadership,
        metrics: http::CoordinatorMetrics::default(),
        throughput: http::Throughput::default(),
    });
    tracing::info!(instance = %ctx.instance, "coordinator started");
    let loops = vec![
        tokio::spawn(intake::run(
            ctx.clone(),
            jobs,
            intake::Kind::Jobs,
            shutdown.clone(),
        )),
        tokio::spawn(intake::run(
            ctx.clone(),
            results,
            intake::Kind::Results,
            shutdown.clone(),
        )),
        tokio::spawn(dead_letters(ctx.clone(), advisories, shutdown.clone())),
        tokio::spawn(deadlines::run(ctx.clone(), shutdown.clone())),
        tokio::spawn(api::run(ctx.clone(), shutdown.clone())),
        tokio::spawn(http::serve(ctx.clone(), shutdown.clone())),
    ];
    for l in loops {
        if let Err(e) = l.await {
            tracing::error!(error = %e, "coordinator loop panicked");
        }
    }
    // The duties have stopped: now the lease loop releases the lease.
    if let Err(e) = leading.await {
        tracing::error!(error = %e, "leader loop panicked");
    }
    let _ = ctx.client.flush().await;
    tracing::info!("coordinator stopped");
    Ok(())
}

/// The dead-letter mover, a singleton duty: consume the MAX_DELIVERIES advisories only
/// while this coordinator leads, one leadership term at a time.
async fn dead_letters(
    ctx: Arc<Ctx>,
    advisories: jetstream::consumer::PullConsumer,
    mut shutdown: Shutdown,
) {
    while let Some((fence, term)) = ctx.leader.term(&mut shutdown).await {
        tracing::debug!(fence, "moving dead letters");
        intake::run(
            ctx.clone(),
            advisories.clone(),
            intake::Kind::Advisories,
            term,
        )
        .await;
    }
}
