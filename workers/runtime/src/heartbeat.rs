//! Heartbeats into Redis: who is alive, what it is doing, how fast.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

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

pub(crate) async fn run(shared: Arc<Shared>, mut draining: Shutdown) {
    let every = Duration::from_millis(shared.cfg.worker.heartbeat_interval_ms.max(100));
    let ttl = every.as_millis() as u64 * 5;
    let kind = shared.agent.kind();
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = draining.recv() => return,
        }
        let hb = snapshot(&shared, false);
        if let Err(e) = shared.store.heartbeat(kind, &hb, ttl).await {
            tracing::warn!(error = %e, "heartbeat failed");
        }
    }
}
