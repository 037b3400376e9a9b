//! The coordinator service: connect, set up the topology, run the loops until shutdown.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use daa_shared::config::Config;
use daa_shared::shutdown::Shutdown;
use daa_shared::store::Store;
use daa_shared::subjects::Subjects;
use daa_shared::{connect, topology};

use crate::{api, deadlines, intake};

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
    let ack_wait = Duration::from_secs(30);
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
    let ctx = Arc::new(Ctx {
        cfg,
        instance,
        client,
        js,
        store,
        subjects,
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
        tokio::spawn(intake::run(
            ctx.clone(),
            advisories,
            intake::Kind::Advisories,
            shutdown.clone(),
        )),
        tokio::spawn(deadlines::run(ctx.clone(), shutdown.clone())),
        tokio::spawn(api::run(ctx.clone(), shutdown.clone())),
    ];
    for l in loops {
        if let Err(e) = l.await {
            tracing::error!(error = %e, "coordinator loop panicked");
        }
    }
    let _ = ctx.client.flush().await;
    tracing::info!("coordinator stopped");
    Ok(())
}
