//! A circuit breaker per host, in process: after `breaker_failures` consecutive failures
//! a host is "open" for `breaker_open_ms` and its tasks fail fast (temporary, with a
//! retry delay) instead of spending their delivery attempts on a dead site. When the
//! open time is over, one probe request is let through ("half-open"): its success closes
//! the breaker, its failure opens it again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Hosts tracked at most; beyond it closed entries are forgotten.
const MAX_HOSTS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probe_started: Instant },
}

/// Breakers of every host this process has fetched from.
#[derive(Debug)]
pub(crate) struct Breakers {
    threshold: u32,
    open_for: Duration,
    hosts: Mutex<HashMap<String, State>>,
}

impl Breakers {
    pub(crate) fn new(threshold: u32, open_for: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            open_for,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(remaining)` when requests to `host` must fail fast for `remaining`.
    pub(crate) fn check(&self, host: &str) -> Result<(), Duration> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match hosts.get(host).copied() {
            None | Some(State::Closed { .. }) => Ok(()),
            Some(State::Open { until }) if now >= until => {
                hosts.insert(host.to_owned(), State::HalfOpen { probe_started: now });
                Ok(())
            }
            Some(State::Open { until }) => Err(until - now),
            // One probe at a time; a probe that never reported back (task abandoned)
            // frees the slot after another open period.
            Some(State::HalfOpen { probe_started }) if now >= probe_started + self.open_for => {
                hosts.insert(host.to_owned(), State::HalfOpen { probe_started: now });
                Ok(())
            }
            Some(State::HalfOpen { probe_started }) => Err(probe_started + self.open_for - now),
        }
    }

    /// The host answered (whatever the status, except 5xx and 429).
    pub(crate) fn success(&self, host: &str) {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts.remove(host);
    }

    /// The host failed (connection error, timeout, 5xx, 429).
    pub(crate) fn failure(&self, host: &str) {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        if hosts.len() >= MAX_HOSTS && !hosts.contains_key(host) {
            hosts.retain(|_, s| !matches!(s, State::Closed { .. }));
        }
        let now = Instant::now();
        let next = match hosts.get(host).copied() {
            None => State::Closed { failures: 1 },
            Some(State::Closed { failures }) => State::Closed {
                failures: failures + 1,
            },
            Some(State::HalfOpen { .. }) | Some(State::Open { .. }) => State::Open {
                until: now + self.open_for,
            },
        };
        let next = match next {
            State::Closed { failures } if failures >= self.threshold => State::Open {
                until: now + self.open_for,
            },
            other => other,
        };
        hosts.insert(host.to_owned(), next);
    }

    /// Hosts whose breaker is open or half-open now.
    pub(crate) fn open_count(&self) -> usize {
        let hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .values()
            .filter(|s| !matches!(s, State::Closed { .. }))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_then_probes_once() {
        let b = Breakers::new(3, Duration::from_millis(50));
        for _ in 0..2 {
            b.failure("a");
            assert!(b.check("a").is_ok());
        }
        b.failure("a");
        assert!(b.check("a").is_err(), "open after 3 failures");
        assert!(b.check("b").is_ok(), "other hosts unaffected");
        assert_eq!(b.open_count(), 1);
        std::thread::sleep(Duration::from_millis(60));
        assert!(b.check("a").is_ok(), "probe let through");
        assert!(b.check("a").is_err(), "only one probe");
        b.failure("a");
        assert!(b.check("a").is_err(), "failed probe reopens");
        std::thread::sleep(Duration::from_millis(60));
        assert!(b.check("a").is_ok());
        b.success("a");
        assert!(b.check("a").is_ok());
        assert_eq!(b.open_count(), 0);
    }
}
