//! Heartbeats into Redis: who is alive, what it is doing, how fast.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use daa_shared::memory::{Memory, ESTIMATES_NAMESPACE, ESTIMATE_TASK_MS};
use daa_shared::shutdown::Shutdown;
use daa_shared::store::Heartbeat;

use crate::run::Shared;
use crate::stats::rss_bytes;

pub(crate) fn snapshot(shared: &Shared, draining: bool) -> Heartbeat {
    let (p50_ms, p99_ms) = shared.stats.percentiles();
    Heartbeat {
        instance: shared.instance.clone(),
        host: std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default(),
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        state: shared.state(draining).to_owned(),
        in_flight: shared.stats.in_flight.load(Ordering::Relaxed),
        processed: shared.stats.processed.load(Ordering::Relaxed),
        failed: shared.stats.failed.load(Ordering::Relaxed),
        p50_ms,
        p99_ms,
        rss_bytes: rss_bytes(),
        concurrency: shared.concurrency as u64,
        agent_status: serde_json::to_value(shared.agent.status()).unwrap_or_default(),
        metrics: (shared.agent.metrics().into_iter())
            .chain(shared.gate.metrics())
            .collect(),
        breakers: (shared.gate.states().into_iter())
            .chain(shared.agent.breakers())
            .collect(),
    }
}

fn interval(shared: &Shared) -> Duration {
    Duration::from_millis(shared.cfg.worker.heartbeat_interval_ms.max(100))
}

/// Store one heartbeat now. Besides the periodic beat, a change of state (pause,
/// resume) beats at once: planners read the state to know which task slots will fetch.
pub(crate) async fn beat(shared: &Shared) {
    let ttl = interval(shared).as_millis() as u64 * 5;
    let hb = snapshot(shared, false);
    if let Err(e) = shared.store.heartbeat(shared.agent.kind(), &hb, ttl).await {
        tracing::warn!(error = %e, "heartbeat failed");
    }
}

pub(crate) async fn run(shared: Arc<Shared>, mut draining: Shutdown) {
    let mut tick = tokio::time::interval(interval(&shared));
    let mut estimates = Estimates::default();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = draining.recv() => return,
        }
        beat(&shared).await;
        estimates.maybe_store(&shared).await;
    }
}

/// At most one estimate per worker this often (and only after new tasks).
const ESTIMATE_EVERY: Duration = Duration::from_secs(10);
/// How long an estimate stays in coordination memory.
const ESTIMATE_TTL: Duration = Duration::from_secs(600);

/// The worker's task-duration estimate, shared through coordination memory so that
/// planners and operators (`daa memory search estimates`) can read it.
#[derive(Default)]
struct Estimates {
    stored_at: Option<tokio::time::Instant>,
    stored_samples: u64,
}

impl Estimates {
    async fn maybe_store(&mut self, shared: &Shared) {
        let (ewma_ms, samples) = shared.stats.duration_estimate();
        let due = self.stored_at.is_none_or(|t| t.elapsed() >= ESTIMATE_EVERY);
        if samples == self.stored_samples || !due {
            return;
        }
        let (p50_ms, p99_ms) = shared.stats.percentiles();
        let value = serde_json::json!({
            "instance": shared.instance,
            "ewma_ms": ewma_ms,
            "samples": samples,
            "p50_ms": p50_ms,
            "p99_ms": p99_ms,
        });
        let memory = Memory::new(shared.store.clone())
            .with_notifications(shared.client.clone(), shared.subjects.clone());
        let agent = shared.agent.kind();
        match memory
            .store(
                ESTIMATES_NAMESPACE,
                agent.as_str(),
                ESTIMATE_TASK_MS,
                &value,
                Some(ESTIMATE_TTL),
            )
            .await
        {
            Ok(_) => {
                self.stored_at = Some(tokio::time::Instant::now());
                self.stored_samples = samples;
            }
            Err(e) => tracing::debug!(error = %e, "estimate not stored"),
        }
    }
}
