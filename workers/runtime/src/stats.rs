//! In-process counters and latency percentiles of one worker, reported in heartbeats.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use hdrhistogram::Histogram;

/// Counters shared by the fetch loop, the task loop and the heartbeat.
#[derive(Debug)]
pub(crate) struct Stats {
    pub(crate) in_flight: AtomicU64,
    pub(crate) processed: AtomicU64,
    pub(crate) failed: AtomicU64,
    latency: Mutex<Option<Histogram<u64>>>,
}

impl Stats {
    pub(crate) fn new() -> Self {
        Self {
            in_flight: AtomicU64::new(0),
            processed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            latency: Mutex::new(Histogram::new_with_bounds(1, 3_600_000, 2).ok()),
        }
    }

    pub(crate) fn record(&self, ms: u64, failed: bool) {
        self.processed.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut h) = self.latency.lock() {
            if let Some(h) = h.as_mut() {
                let _ = h.record(ms.max(1));
            }
        }
    }

    /// (p50, p99) task latency in ms.
    pub(crate) fn percentiles(&self) -> (u64, u64) {
        match self.latency.lock() {
            Ok(h) => h
                .as_ref()
                .map(|h| (h.value_at_quantile(0.5), h.value_at_quantile(0.99)))
                .unwrap_or((0, 0)),
            Err(_) => (0, 0),
        }
    }
}

/// Resident set size of this process in bytes (Linux; 0 elsewhere).
pub(crate) fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}
