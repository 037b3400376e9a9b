//! Circuit breakers, one per dependency (an OCR engine, a web host, Redis...).
//!
//! A [`Breaker`] is **closed** while its dependency answers: every call goes through and
//! its outcome enters a window of the last outcomes. When the window holds at least
//! `min_calls` outcomes and the share of failures reaches `failure_rate`, the breaker
//! **opens**: calls are refused for `cooldown_ms`, so the caller stops spending work on
//! a dead dependency (a worker stops fetching; the web agent fails fast). After the
//! cooldown it is **half-open**: `half_open_probes` calls go through as probes; that
//! many successes close it (with an empty window), one failure opens it again.
//!
//! Calls are admitted with [`Breaker::try_call`], which hands out a [`Call`]; the caller
//! reports [`Call::success`] or [`Call::failure`], or drops the call to report nothing
//! (a task handed back, an outcome that says nothing about the dependency). An outcome
//! only counts in the state it was admitted in: a call admitted while closed that fails
//! after the breaker opened changes nothing, and a half-open breaker is judged by its
//! probes alone.
//!
//! Settings are [`BreakerConfig`] (`[breaker]`); a [`Registry`] holds the breakers of
//! one process by dependency name; [`BreakerState`] is the serialisable snapshot that
//! worker heartbeats carry. Time comes from a [`Clock`] ([`SystemClock`], or
//! [`ManualClock`] in tests).

mod config;
mod service;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use config::BreakerConfig;
pub use service::{Clock, ManualClock, Registry, SystemClock};

use service::Machine;

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// The dependency answers: every call goes through.
    #[default]
    Closed,
    /// The dependency failed too often: calls are refused until the cooldown is over.
    Open,
    /// The cooldown is over: a few probe calls go through to test the dependency.
    HalfOpen,
}

impl State {
    /// `closed`, `open` or `half_open`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A breaker as heartbeats, metrics and `daa inspect agents` show it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct BreakerState {
    /// The dependency (`engine`, `web:example.com`, `redis`...).
    pub dependency: String,
    /// Closed, open or half-open.
    pub state: State,
    /// Outcomes in the window now (closed), or probe outcomes so far (half-open).
    pub calls: u64,
    /// Share of failures among the outcomes in the window (0 when it is empty).
    pub failure_rate: f64,
    /// How many times the breaker opened since the process started.
    pub opened_total: u64,
    /// Open: time left before probes are let through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_in_ms: Option<u64>,
    /// The reason of the last failure recorded (kept while it is not closed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
}

/// How many calls a breaker admits now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Closed: any number.
    All,
    /// Half-open: this many more probes (0 while every probe is out).
    Probes(usize),
    /// Open: none until `retry_in` has passed.
    Refused(Duration),
}

impl Admission {
    /// The most calls admitted now out of `wanted`.
    pub fn limit(self, wanted: usize) -> usize {
        match self {
            Admission::All => wanted,
            Admission::Probes(n) => n.min(wanted),
            Admission::Refused(_) => 0,
        }
    }
}

/// The circuit breaker of one dependency. Cloning gives another handle on the same
/// breaker.
#[derive(Clone)]
pub struct Breaker {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    config: BreakerConfig,
    clock: Arc<dyn Clock>,
    machine: Mutex<Machine>,
}

impl std::fmt::Debug for Breaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Breaker")
            .field("dependency", &self.inner.name)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl Breaker {
    /// A closed breaker for `dependency`, on the system clock.
    pub fn new(dependency: impl Into<String>, config: BreakerConfig) -> Breaker {
        Self::with_clock(dependency, config, Arc::new(SystemClock))
    }

    /// A closed breaker reading time from `clock`.
    pub fn with_clock(
        dependency: impl Into<String>,
        config: BreakerConfig,
        clock: Arc<dyn Clock>,
    ) -> Breaker {
        Breaker {
            inner: Arc::new(Inner {
                name: dependency.into(),
                config,
                clock,
                machine: Mutex::new(Machine::new()),
            }),
        }
    }

    /// The dependency's name.
    pub fn dependency(&self) -> &str {
        &self.inner.name
    }

    fn with<R>(&self, f: impl FnOnce(&mut Machine, &BreakerConfig, std::time::Instant) -> R) -> R {
        let now = self.inner.clock.now();
        let mut m = self.inner.machine.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut m, &self.inner.config, now)
    }

    /// The state now (an open breaker whose cooldown is over is half-open).
    pub fn state(&self) -> State {
        self.with(|m, c, now| m.state(c, now))
    }

    /// How many calls would be admitted now.
    pub fn admission(&self) -> Admission {
        self.with(|m, c, now| m.admission(c, now))
    }

    /// Admit one call, or say how long to wait (`Err(retry_in)`) while open or while
    /// every probe is out.
    pub fn try_call(&self) -> Result<Call, Duration> {
        let (epoch, probe) = self.with(|m, c, now| m.acquire(c, now))?;
        Ok(Call {
            breaker: self.clone(),
            epoch,
            probe,
            done: false,
        })
    }

    /// The snapshot heartbeats carry.
    pub fn snapshot(&self) -> BreakerState {
        let name = self.inner.name.clone();
        self.with(|m, c, now| m.snapshot(c, now, name))
    }

    /// Whether `other` is a handle on the same breaker.
    pub fn same(&self, other: &Breaker) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    pub(crate) fn handles(&self) -> usize {
        Arc::strong_count(&self.inner)
    }
}

/// One admitted call. Report its outcome with [`Call::success`] or [`Call::failure`];
/// dropping it reports nothing (and frees its probe slot, if it was a probe).
#[derive(Debug)]
#[must_use = "report the outcome, or drop the call to report none"]
pub struct Call {
    breaker: Breaker,
    epoch: u64,
    probe: bool,
    done: bool,
}

impl Call {
    /// The dependency answered.
    pub fn success(mut self) {
        self.done = true;
        let (epoch, probe) = (self.epoch, self.probe);
        self.breaker
            .with(|m, c, now| m.success(c, now, epoch, probe));
    }

    /// The dependency failed (`reason` is kept for the snapshot).
    pub fn failure(mut self, reason: &str) {
        self.done = true;
        let (epoch, probe) = (self.epoch, self.probe);
        self.breaker
            .with(|m, c, now| m.failure(c, now, epoch, probe, reason));
    }

    /// Whether this call is a half-open probe.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    /// The breaker it was admitted by.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if !self.done {
            let (epoch, probe) = (self.epoch, self.probe);
            self.breaker.with(|m, _, _| m.release(epoch, probe));
        }
    }
}

#[cfg(test)]
mod tests;
