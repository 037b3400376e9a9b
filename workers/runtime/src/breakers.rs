//! The worker's circuit breakers: one per dependency the agent declares
//! ([`crate::Agent::dependencies`], by default [`crate::ENGINE`]), each gating every
//! task. While one is open the fetch loop takes no work (healthy replicas take it); once
//! its cooldown is over it admits a few probe tasks; their successes close it, a failure
//! opens it again.
//!
//! What counts: a task that succeeds is a success of every gating dependency; a failure
//! that names a gating dependency ([`TaskError::dependency`]) is a failure of that one.
//! Any other outcome (a failure blaming no dependency, a task handed back) says nothing
//! about the dependencies and is not counted.

use std::time::Duration;

use daa_shared::breaker::{Admission, Breaker, BreakerConfig, BreakerState, Call, Registry};
use daa_shared::model::TaskError;

/// The breakers gating one worker's fetching.
pub(crate) struct Gate {
    registry: Registry,
    gating: Vec<Breaker>,
}

/// The calls one task was admitted with; report its outcome with [`Admitted::record`]
/// (dropping reports nothing).
#[derive(Debug, Default)]
pub(crate) struct Admitted {
    calls: Vec<Call>,
}

impl Gate {
    pub(crate) fn new(config: BreakerConfig, dependencies: &[String]) -> Self {
        let registry = Registry::new(config);
        let mut gating: Vec<Breaker> = Vec::new();
        for d in dependencies {
            if !gating.iter().any(|b| b.dependency() == d) {
                gating.push(registry.get(d));
            }
        }
        Self { registry, gating }
    }

    /// How many tasks may be fetched now: none while any gating breaker is open (for
    /// the longest remaining cooldown), the fewest probes left among half-open ones.
    pub(crate) fn admission(&self) -> Admission {
        let mut out = Admission::All;
        for breaker in &self.gating {
            out = match (out, breaker.admission()) {
                (Admission::Refused(a), Admission::Refused(b)) => Admission::Refused(a.max(b)),
                (Admission::Refused(a), _) | (_, Admission::Refused(a)) => Admission::Refused(a),
                (Admission::Probes(a), Admission::Probes(b)) => Admission::Probes(a.min(b)),
                (Admission::Probes(a), Admission::All) | (Admission::All, Admission::Probes(a)) => {
                    Admission::Probes(a)
                }
                (Admission::All, Admission::All) => Admission::All,
            };
        }
        out
    }

    /// Admit one task through every gating breaker, or say how long to wait.
    pub(crate) fn admit(&self) -> Result<Admitted, Duration> {
        let mut calls = Vec::with_capacity(self.gating.len());
        for b in &self.gating {
            // On refusal the calls taken so far are dropped, which frees their probes.
            calls.push(b.try_call()?);
        }
        Ok(Admitted { calls })
    }

    /// Every breaker of the worker, for heartbeats.
    pub(crate) fn states(&self) -> Vec<BreakerState> {
        self.registry.snapshot()
    }

    /// Gauges and counters for the heartbeat's metrics.
    pub(crate) fn metrics(&self) -> Vec<(String, f64)> {
        let states = self.states();
        vec![
            (
                "daa_breaker_open_total".into(),
                states.iter().map(|s| s.opened_total).sum::<u64>() as f64,
            ),
            (
                "daa_breakers_open".into(),
                states
                    .iter()
                    .filter(|s| s.state != daa_shared::breaker::State::Closed)
                    .count() as f64,
            ),
        ]
    }
}

impl Admitted {
    /// Count a task's outcome against the breakers it was admitted by.
    pub(crate) fn record(self, outcome: Result<(), &TaskError>) {
        match outcome {
            Ok(()) => self.calls.into_iter().for_each(Call::success),
            Err(e) => {
                let Some(dep) = e.dependency.as_deref() else {
                    return;
                };
                for call in self.calls {
                    if call.breaker().dependency() == dep {
                        call.failure(&e.message);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use daa_shared::breaker::State;

    fn gate() -> Gate {
        Gate::new(
            BreakerConfig {
                min_calls: 2,
                window_size: 4,
                cooldown_ms: 60_000,
                ..BreakerConfig::default()
            },
            &["engine".to_owned(), "redis".to_owned(), "engine".to_owned()],
        )
    }

    #[test]
    fn failures_count_against_the_dependency_they_name_only() {
        let g = gate();
        assert_eq!(g.states().len(), 2);
        for _ in 0..3 {
            g.admit()
                .expect("closed")
                .record(Err(&TaskError::temporary("no dependency named")));
        }
        assert_eq!(g.admission(), Admission::All);
        for _ in 0..2 {
            g.admit().expect("closed").record(Err(
                &TaskError::temporary("redis is away").with_dependency("redis")
            ));
        }
        let states = g.states();
        let state = |d: &str| {
            states
                .iter()
                .find(|s| s.dependency == d)
                .map(|s| s.state)
                .expect("breaker")
        };
        assert_eq!(state("redis"), State::Open);
        assert_eq!(state("engine"), State::Closed);
        assert!(matches!(g.admission(), Admission::Refused(_)));
        assert!(g.admit().is_err());
        let m: std::collections::HashMap<_, _> = g.metrics().into_iter().collect();
        assert_eq!(m["daa_breaker_open_total"], 1.0);
        assert_eq!(m["daa_breakers_open"], 1.0);
    }
}
