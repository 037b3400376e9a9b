//! The state machine behind [`Breaker`]: recording outcomes, judging the window, the
//! transitions between closed, open and half-open; the clock it reads; and the
//! [`Registry`] of one process's breakers by dependency name.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Admission, Breaker, BreakerConfig, BreakerState, State};

/// Where breakers read the time. [`SystemClock`] in production; [`ManualClock`] lets
/// tests move time by hand instead of sleeping.
pub trait Clock: Send + Sync + 'static {
    /// Now, on a monotonic clock.
    fn now(&self) -> Instant;
}

/// The monotonic system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that only moves when told to ([`ManualClock::advance`]).
#[derive(Debug)]
pub struct ManualClock {
    base: Instant,
    offset: Mutex<Duration>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self {
            base: Instant::now(),
            offset: Mutex::new(Duration::ZERO),
        }
    }
}

impl ManualClock {
    /// A clock standing still at an arbitrary instant.
    pub fn new() -> Arc<ManualClock> {
        Arc::new(Self::default())
    }

    /// Move time forward by `d`.
    pub fn advance(&self, d: Duration) {
        let mut o = self.offset.lock().unwrap_or_else(|p| p.into_inner());
        *o += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.base + *self.offset.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { issued: u32, successes: u32 },
}

/// One breaker's state. Every transition bumps `epoch`; an outcome counts only if its
/// call was admitted in the current epoch.
#[derive(Debug)]
pub(super) struct Machine {
    phase: Phase,
    epoch: u64,
    /// (when, failed) of the last outcomes while closed.
    window: VecDeque<(Instant, bool)>,
    opened_total: u64,
    last_failure: Option<String>,
}

impl Machine {
    pub(super) fn new() -> Self {
        Self {
            phase: Phase::Closed,
            epoch: 0,
            window: VecDeque::new(),
            opened_total: 0,
            last_failure: None,
        }
    }

    /// An open breaker whose cooldown is over becomes half-open.
    fn poll(&mut self, now: Instant) {
        if let Phase::Open { until } = self.phase {
            if now >= until {
                self.phase = Phase::HalfOpen {
                    issued: 0,
                    successes: 0,
                };
                self.epoch += 1;
            }
        }
    }

    pub(super) fn state(&mut self, _cfg: &BreakerConfig, now: Instant) -> State {
        self.poll(now);
        match self.phase {
            Phase::Closed => State::Closed,
            Phase::Open { .. } => State::Open,
            Phase::HalfOpen { .. } => State::HalfOpen,
        }
    }

    pub(super) fn admission(&mut self, cfg: &BreakerConfig, now: Instant) -> Admission {
        self.poll(now);
        match self.phase {
            Phase::Closed => Admission::All,
            Phase::Open { until } => Admission::Refused(until.saturating_duration_since(now)),
            Phase::HalfOpen { issued, .. } => {
                Admission::Probes(cfg.half_open_probes.saturating_sub(issued) as usize)
            }
        }
    }

    /// `(epoch, is_probe)` of an admitted call, or the time to wait.
    pub(super) fn acquire(
        &mut self,
        cfg: &BreakerConfig,
        now: Instant,
    ) -> Result<(u64, bool), Duration> {
        self.poll(now);
        match &mut self.phase {
            Phase::Closed => Ok((self.epoch, false)),
            Phase::Open { until } => Err(until.saturating_duration_since(now)),
            Phase::HalfOpen { issued, .. } => {
                if *issued < cfg.half_open_probes {
                    *issued += 1;
                    Ok((self.epoch, true))
                } else {
                    Err(Duration::from_millis(cfg.cooldown_ms))
                }
            }
        }
    }

    pub(super) fn success(&mut self, cfg: &BreakerConfig, now: Instant, epoch: u64, probe: bool) {
        self.poll(now);
        if epoch != self.epoch {
            return;
        }
        match &mut self.phase {
            Phase::Closed => self.push(cfg, now, false),
            Phase::HalfOpen { successes, .. } if probe => {
                *successes += 1;
                if *successes >= cfg.half_open_probes {
                    self.close();
                }
            }
            _ => {}
        }
    }

    pub(super) fn failure(
        &mut self,
        cfg: &BreakerConfig,
        now: Instant,
        epoch: u64,
        probe: bool,
        reason: &str,
    ) {
        self.poll(now);
        if epoch != self.epoch {
            return;
        }
        match self.phase {
            Phase::Closed => {
                self.last_failure = Some(reason.to_owned());
                self.push(cfg, now, true);
                if cfg.enabled && self.tripped(cfg) {
                    self.open(cfg, now);
                }
            }
            Phase::HalfOpen { .. } if probe => {
                self.last_failure = Some(reason.to_owned());
                self.open(cfg, now);
            }
            _ => {}
        }
    }

    /// A call that reports nothing gives its probe slot back.
    pub(super) fn release(&mut self, epoch: u64, probe: bool) {
        if epoch != self.epoch || !probe {
            return;
        }
        if let Phase::HalfOpen { issued, .. } = &mut self.phase {
            *issued = issued.saturating_sub(1);
        }
    }

    pub(super) fn snapshot(
        &mut self,
        cfg: &BreakerConfig,
        now: Instant,
        dependency: String,
    ) -> BreakerState {
        self.poll(now);
        self.prune(cfg, now);
        let (state, calls, failures, retry_in_ms) = match self.phase {
            Phase::Closed => {
                let failures = self.window.iter().filter(|(_, f)| *f).count() as u64;
                (State::Closed, self.window.len() as u64, failures, None)
            }
            Phase::Open { until } => (
                State::Open,
                0,
                0,
                Some(until.saturating_duration_since(now).as_millis() as u64),
            ),
            Phase::HalfOpen { successes, .. } => (State::HalfOpen, successes as u64, 0, None),
        };
        BreakerState {
            dependency,
            state,
            calls,
            failure_rate: if calls == 0 {
                0.0
            } else {
                failures as f64 / calls as f64
            },
            opened_total: self.opened_total,
            retry_in_ms,
            last_failure: self.last_failure.clone(),
        }
    }

    fn push(&mut self, cfg: &BreakerConfig, now: Instant, failed: bool) {
        self.window.push_back((now, failed));
        self.prune(cfg, now);
    }

    /// Drop outcomes beyond `window_size` or older than `window_ms`.
    fn prune(&mut self, cfg: &BreakerConfig, now: Instant) {
        while self.window.len() > cfg.window_size.max(1) {
            self.window.pop_front();
        }
        if cfg.window_ms > 0 {
            let max_age = Duration::from_millis(cfg.window_ms);
            while self
                .window
                .front()
                .is_some_and(|(t, _)| now.saturating_duration_since(*t) > max_age)
            {
                self.window.pop_front();
            }
        }
    }

    fn tripped(&self, cfg: &BreakerConfig) -> bool {
        let n = self.window.len();
        if n < cfg.min_calls.max(1) {
            return false;
        }
        let failures = self.window.iter().filter(|(_, f)| *f).count();
        failures as f64 >= cfg.failure_rate * n as f64
    }

    fn open(&mut self, cfg: &BreakerConfig, now: Instant) {
        self.phase = Phase::Open {
            until: now + Duration::from_millis(cfg.cooldown_ms),
        };
        self.epoch += 1;
        self.opened_total += 1;
        self.window.clear();
    }

    fn close(&mut self) {
        self.phase = Phase::Closed;
        self.epoch += 1;
        self.window.clear();
        self.last_failure = None;
    }
}

/// The breakers of one process, by dependency name, all with the same settings and
/// clock. Created on first use; with a size limit, closed breakers nobody holds are
/// forgotten when it is reached (an open breaker is never forgotten).
pub struct Registry {
    config: BreakerConfig,
    clock: Arc<dyn Clock>,
    max: usize,
    breakers: Mutex<BTreeMap<String, Breaker>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("config", &self.config)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// An empty registry on the system clock, without size limit.
    pub fn new(config: BreakerConfig) -> Registry {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// An empty registry reading time from `clock`.
    pub fn with_clock(config: BreakerConfig, clock: Arc<dyn Clock>) -> Registry {
        Registry {
            config,
            clock,
            max: usize::MAX,
            breakers: Mutex::new(BTreeMap::new()),
        }
    }

    /// Keep at most about `max` breakers (for open-ended names such as web hosts).
    pub fn with_limit(mut self, max: usize) -> Registry {
        self.max = max.max(1);
        self
    }

    /// The settings of its breakers.
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Breaker>> {
        self.breakers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The breaker of `dependency`, created closed if it is new.
    pub fn get(&self, dependency: &str) -> Breaker {
        let mut map = self.map();
        if let Some(b) = map.get(dependency) {
            return b.clone();
        }
        if map.len() >= self.max {
            map.retain(|_, b| b.handles() > 1 || b.state() != State::Closed);
        }
        let b = Breaker::with_clock(dependency, self.config.clone(), self.clock.clone());
        map.insert(dependency.to_owned(), b.clone());
        b
    }

    /// The breaker of `dependency`, if it has one.
    pub fn find(&self, dependency: &str) -> Option<Breaker> {
        self.map().get(dependency).cloned()
    }

    /// Every breaker's snapshot, by dependency name.
    pub fn snapshot(&self) -> Vec<BreakerState> {
        let breakers: Vec<Breaker> = self.map().values().cloned().collect();
        breakers.iter().map(Breaker::snapshot).collect()
    }

    /// Snapshots of the breakers that are open or half-open, by dependency name.
    pub fn not_closed(&self) -> Vec<BreakerState> {
        self.snapshot()
            .into_iter()
            .filter(|s| s.state != State::Closed)
            .collect()
    }

    /// How many breakers are open or half-open now.
    pub fn open_count(&self) -> usize {
        let breakers: Vec<Breaker> = self.map().values().cloned().collect();
        breakers
            .iter()
            .filter(|b| b.state() != State::Closed)
            .count()
    }
}
