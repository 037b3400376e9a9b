//! `[breaker]`: when a dependency's circuit breaker opens, and for how long.

use serde::{Deserialize, Serialize};

/// Settings of every circuit breaker of a worker (one breaker per dependency), read from
/// the `[breaker]` section (`DAA_BREAKER_<KEY>` in the environment). Unknown keys are
/// errors; missing keys take the defaults documented on each field.
///
/// A breaker judges the last outcomes of calls to its dependency: once the window holds
/// at least `min_calls` outcomes and the share of failures among them reaches
/// `failure_rate`, it opens for `cooldown_ms`, then lets `half_open_probes` calls
/// through; that many successes close it, one failure opens it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// `false` turns every breaker off: they record outcomes but never open (default
    /// `true`).
    pub enabled: bool,
    /// Outcomes kept in the failure-rate window, the newest ones (default 20).
    pub window_size: usize,
    /// Outcomes older than this leave the window; 0 keeps them until `window_size`
    /// newer ones push them out (default 60 000 ms).
    pub window_ms: u64,
    /// Share of failures in the window (0 < rate <= 1) that opens the breaker
    /// (default 0.5).
    pub failure_rate: f64,
    /// Outcomes the window must hold before the rate is judged, so that one early
    /// failure does not open a breaker (default 5).
    pub min_calls: usize,
    /// How long an open breaker refuses calls before it lets probes through
    /// (default 30 000 ms).
    pub cooldown_ms: u64,
    /// Calls let through while half-open; that many successes close the breaker, one
    /// failure opens it again (default 1).
    pub half_open_probes: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window_size: 20,
            window_ms: 60_000,
            failure_rate: 0.5,
            min_calls: 5,
            cooldown_ms: 30_000,
            half_open_probes: 1,
        }
    }
}

impl BreakerConfig {
    /// Breakers that open after `failures` consecutive failures (a window of that many
    /// outcomes, all failed, with no age limit), stay open `cooldown_ms`, and close
    /// again on one successful probe.
    pub fn consecutive(failures: u32, cooldown_ms: u64) -> Self {
        let n = failures.max(1) as usize;
        Self {
            enabled: true,
            window_size: n,
            window_ms: 0,
            failure_rate: 1.0,
            min_calls: n,
            cooldown_ms,
            half_open_probes: 1,
        }
    }

    /// Check values that serde cannot (ranges).
    pub fn validate(&self) -> Result<(), String> {
        if !(self.failure_rate.is_finite() && self.failure_rate > 0.0 && self.failure_rate <= 1.0) {
            return Err(format!(
                "[breaker] failure_rate must be above 0 and at most 1, not {}",
                self.failure_rate
            ));
        }
        if self.window_size == 0 || self.min_calls == 0 || self.half_open_probes == 0 {
            return Err(
                "[breaker] window_size, min_calls and half_open_probes must be at least 1".into(),
            );
        }
        if self.min_calls > self.window_size {
            return Err(format!(
                "[breaker] min_calls ({}) cannot exceed window_size ({}): the breaker could never open",
                self.min_calls, self.window_size
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_missing_keys_and_unknown_keys_fail() {
        let c: BreakerConfig = serde_json::from_str(r#"{"cooldown_ms": 5}"#).unwrap();
        assert_eq!(c.cooldown_ms, 5);
        assert_eq!(c.min_calls, 5);
        c.validate().unwrap();
        let err = serde_json::from_str::<BreakerConfig>(r#"{"cooldown": 5}"#).unwrap_err();
        assert!(err.to_string().contains("cooldown"), "{err}");
    }

    #[test]
    fn bad_values_are_refused() {
        for c in [
            BreakerConfig {
                failure_rate: 0.0,
                ..Default::default()
            },
            BreakerConfig {
                failure_rate: 1.5,
                ..Default::default()
            },
            BreakerConfig {
                half_open_probes: 0,
                ..Default::default()
            },
            BreakerConfig {
                min_calls: 30,
                ..Default::default()
            },
        ] {
            assert!(c.validate().is_err(), "{c:?}");
        }
        BreakerConfig::consecutive(3, 10).validate().unwrap();
    }
}
