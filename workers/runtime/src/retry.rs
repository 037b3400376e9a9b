//! What to do with a failed task, decided apart from the mechanism that does it.
//!
//! [`decide`] maps a failure class and the delivery attempt to a [`Disposition`]; the
//! delay of a retry comes from a `backon` exponential schedule with jitter. The task
//! loop only carries the decision out. A failure that names a dependency
//! ([`TaskError::dependency`]) is retried whatever its kind (but `deadline`): the
//! dependency is down, not the input bad, so another replica should try.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use daa_shared::model::{FailureKind, TaskError};

/// What happens to a task after it ran.
#[derive(Debug, Clone, PartialEq)]
pub enum Disposition {
    /// Publish the output, then ack.
    Succeed,
    /// Redeliver after the delay (NAK with delay). When the consumer's `max_deliver` is
    /// reached the server raises an advisory and the coordinator dead-letters the task.
    Retry(Duration),
    /// Publish a failure result, then TERM: retrying cannot help.
    Fail,
}

/// The retry schedule of temporary and overload failures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Delay of the first retry.
    pub base: Duration,
    /// Largest delay.
    pub max: Duration,
}

impl RetryPolicy {
    /// Jittered exponential delay before delivery `attempt + 1` (attempt is 1-based).
    pub fn delay(&self, attempt: u64) -> Duration {
        let mut schedule = ExponentialBuilder::default()
            .with_min_delay(self.base)
            .with_max_delay(self.max)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build();
        let n = attempt.clamp(1, 32);
        let mut d = self.base;
        for _ in 0..n {
            d = schedule.next().unwrap_or(self.max);
        }
        d.min(self.max.saturating_mul(2))
    }
}

/// Decide what to do with the outcome of delivery `attempt` of a task.
pub fn decide(outcome: Result<(), &TaskError>, attempt: u64, policy: &RetryPolicy) -> Disposition {
    let err = match outcome {
        Ok(()) => return Disposition::Succeed,
        Err(e) => e,
    };
    // A failure blamed on a dependency is not the input's fault: hand the task back so
    // that a replica whose dependency works takes it (this one's breaker keeps it from
    // fetching while the dependency is down).
    if err.dependency.is_some() && !matches!(err.kind, FailureKind::Deadline) {
        let suggested = err.retry_after_ms.map(Duration::from_millis);
        let backoff = policy.delay(attempt);
        return Disposition::Retry(suggested.map_or(backoff, |s| s.max(backoff)));
    }
    match err.kind {
        FailureKind::Temporary | FailureKind::Overload => {
            let suggested = err.retry_after_ms.map(Duration::from_millis);
            let backoff = policy.delay(attempt);
            // Overload asks for at least the suggested pause, never less than backoff.
            Disposition::Retry(suggested.map_or(backoff, |s| s.max(backoff)))
        }
        FailureKind::Permanent
        | FailureKind::Timeout
        | FailureKind::Exhausted
        | FailureKind::Deadline
        | FailureKind::Unavailable => Disposition::Fail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }

    #[test]
    fn permanent_and_timeout_are_not_retried() {
        let p = policy();
        for kind in [FailureKind::Permanent, FailureKind::Timeout] {
            let e = TaskError::new(kind, "x");
            assert_eq!(decide(Err(&e), 1, &p), Disposition::Fail);
        }
        assert_eq!(decide(Ok(()), 3, &p), Disposition::Succeed);
    }

    #[test]
    fn temporary_backs_off_exponentially_within_bounds() {
        let p = policy();
        let e = TaskError::temporary("flaky");
        let first = match decide(Err(&e), 1, &p) {
            Disposition::Retry(d) => d,
            other => panic!("{other:?}"),
        };
        let later = match decide(Err(&e), 6, &p) {
            Disposition::Retry(d) => d,
            other => panic!("{other:?}"),
        };
        assert!(
            first >= p.base && first < Duration::from_millis(400),
            "{first:?}"
        );
        assert!(later > first, "{later:?} vs {first:?}");
        assert!(later <= p.max * 2);
    }

    #[test]
    fn a_failure_blamed_on_a_dependency_is_handed_back_not_failed() {
        let p = policy();
        let e = TaskError::permanent("engine binary missing").with_dependency("engine");
        assert!(matches!(decide(Err(&e), 1, &p), Disposition::Retry(_)));
        let e = TaskError::new(FailureKind::Timeout, "engine hung").with_dependency("engine");
        assert!(matches!(decide(Err(&e), 1, &p), Disposition::Retry(_)));
        let e = TaskError::new(FailureKind::Overload, "down")
            .with_dependency("engine")
            .with_retry_after(4_000);
        assert_eq!(
            decide(Err(&e), 1, &p),
            Disposition::Retry(Duration::from_secs(4))
        );
        let e = TaskError::new(FailureKind::Deadline, "late").with_dependency("engine");
        assert_eq!(decide(Err(&e), 1, &p), Disposition::Fail);
    }

    #[test]
    fn overload_honours_the_suggested_pause() {
        let mut e = TaskError::new(FailureKind::Overload, "busy");
        e.retry_after_ms = Some(3_000);
        assert_eq!(
            decide(Err(&e), 1, &policy()),
            Disposition::Retry(Duration::from_secs(3))
        );
    }
}
