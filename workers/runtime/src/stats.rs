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
    /// Exponentially weighted moving average of task duration (ms) and its sample count.
    ewma: Mutex<(f64, u64)>,
}

/// Weight of the newest task in the duration average.
const EWMA_ALPHA: f64 = 0.2;

impl Stats {
    pub(crate) fn new() -> Self {
        Self {
            in_flight: AtomicU64::new(0),
            processed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            latency: Mutex::new(Histogram::new_with_bounds(1, 3_600_000, 2).ok()),
            ewma: Mutex::new((0.0, 0)),
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
        if let Ok(mut e) = self.ewma.lock() {
            let (avg, n) = *e;
            *e = if n == 0 {
                (ms as f64, 1)
            } else {
                (EWMA_ALPHA * ms as f64 + (1.0 - EWMA_ALPHA) * avg, n + 1)
            };
        }
    }

    /// (EWMA of task duration in ms, tasks it covers).
    pub(crate) fn duration_estimate(&self) -> (f64, u64) {
        self.ewma.lock().map(|e| *e).unwrap_or((0.0, 0))
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
