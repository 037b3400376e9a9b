//! Connecting services at start-up: retry with jittered backoff until the dependency
//! answers or shutdown is asked for. (The CLI connects once instead and reports a clear
//! error: see [`crate::nats::connect`] and [`crate::store::Store::connect`].)

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::config::Config;
use crate::shutdown::Shutdown;
use crate::store::Store;

fn schedule() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
        .build()
}

async fn pause(d: Duration, shutdown: &mut Shutdown) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = shutdown.recv() => false,
    }
}

/// Connect to NATS, retrying until it answers. `None` when shutdown came first.
pub async fn nats_with_retry(
    cfg: &Config,
    name: &str,
    shutdown: &mut Shutdown,
) -> Option<async_nats::Client> {
    let mut delays = schedule();
    loop {
        match crate::nats::connect(&cfg.nats, name).await {
            Ok(c) => return Some(c),
            Err(e) => tracing::warn!(error = %e, "NATS not reachable yet, retrying"),
        }
        if !pause(delays.next().unwrap_or(Duration::from_secs(5)), shutdown).await {
            return None;
        }
    }
}

/// Connect to Redis, retrying until it answers. `None` when shutdown came first.
pub async fn redis_with_retry(cfg: &Config, shutdown: &mut Shutdown) -> Option<Store> {
    let mut delays = schedule();
    loop {
        match Store::connect(&cfg.redis).await {
            Ok(s) => return Some(s),
            Err(e) => tracing::warn!(error = %e, "Redis not reachable yet, retrying"),
        }
        if !pause(delays.next().unwrap_or(Duration::from_secs(5)), shutdown).await {
            return None;
        }
    }
}

/// A listener on `addr` for an optional HTTP side (`what` names it in the logs): `None`
/// when `addr` is empty (turned off) or cannot be bound (taken, say), which is logged
/// and leaves the process running without it.
pub async fn optional_listener(addr: &str, what: &str) -> Option<tokio::net::TcpListener> {
    let addr = addr.trim();
    if addr.is_empty() {
        return None;
    }
    match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => {
            match l.local_addr() {
                Ok(a) => tracing::info!(addr = %a, "{what} listening"),
                Err(e) => tracing::warn!(error = %e, "{what}: the listener has no local address"),
            }
            Some(l)
        }
        Err(e) => {
            tracing::warn!(%addr, error = %e, "cannot listen for {what}; running without it");
            None
        }
    }
}
