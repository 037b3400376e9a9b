//! When `daa fleet up` starts or stops a worker of one agent type: a pure function of
//! what it observed, so the rules are tested without processes.
//!
//! - Below `min` running workers (one crashed, or at start): start one.
//! - Above `max`: stop one.
//! - Tasks waiting in the type's lanes (at least `up_pending`) and fewer than `max`
//!   workers: start one. From zero workers at once; otherwise once `cooldown` has passed
//!   since the type's last change (a worker needs a moment to start and fetch, and the
//!   lanes would still look full meanwhile).
//! - Nothing waiting and nothing running on the type's workers for `idle`, more than
//!   `min` workers, `cooldown` passed: stop one (it drains first).

use std::time::{Duration, Instant};

/// How many workers of a type may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    pub(crate) min: usize,
    pub(crate) max: usize,
}

/// How fast the supervisor reacts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pacing {
    /// Least time between two changes of one type (except a start from zero).
    pub(crate) cooldown: Duration,
    /// How long a type must be idle before a worker is stopped.
    pub(crate) idle: Duration,
    /// Waiting tasks that call for one more worker.
    pub(crate) up_pending: u64,
}

/// One type at one tick.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Observed {
    /// This supervisor's workers of the type that run and are not being stopped.
    pub(crate) running: usize,
    /// Tasks waiting in the type's lanes.
    pub(crate) pending: u64,
    /// Tasks running on the type's live workers (from their heartbeats).
    pub(crate) busy: u64,
}

/// What the supervisor remembers of a type between ticks.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct History {
    last_change: Option<Instant>,
    idle_since: Option<Instant>,
}

/// What to do with a type now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Start one worker, for this reason.
    Start(String),
    /// Stop one worker (SIGTERM: it drains), for this reason.
    Stop(String),
    /// Leave it.
    Hold,
}

/// Decide for one type; `history` is updated as if the decision is carried out.
pub(crate) fn decide(
    bounds: Bounds,
    pacing: Pacing,
    seen: Observed,
    history: &mut History,
    now: Instant,
) -> Decision {
    if seen.pending == 0 && seen.busy == 0 {
        history.idle_since.get_or_insert(now);
    } else {
        history.idle_since = None;
    }
    let cooled = history
        .last_change
        .is_none_or(|t| now.duration_since(t) >= pacing.cooldown);
    let decision = if seen.running < bounds.min {
        Decision::Start(format!("below the minimum of {}", bounds.min))
    } else if seen.running > bounds.max {
        Decision::Stop(format!("above the maximum of {}", bounds.max))
    } else if seen.pending >= pacing.up_pending.max(1)
        && seen.running < bounds.max
        && (seen.running == 0 || cooled)
    {
        Decision::Start(format!("{} task(s) waiting", seen.pending))
    } else if seen.running > bounds.min
        && cooled
        && history
            .idle_since
            .is_some_and(|t| now.duration_since(t) >= pacing.idle)
    {
        Decision::Stop(format!("idle for {} s", pacing.idle.as_secs_f64()))
    } else {
        Decision::Hold
    };
    if decision != Decision::Hold {
        history.last_change = Some(now);
        if matches!(decision, Decision::Stop(_)) {
            // The next worker stops only after another idle period.
            history.idle_since = Some(now);
        }
    }
    decision
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Bounds = Bounds { min: 1, max: 3 };
    const P: Pacing = Pacing {
        cooldown: Duration::from_secs(5),
        idle: Duration::from_secs(10),
        up_pending: 1,
    };

    fn seen(running: usize, pending: u64, busy: u64) -> Observed {
        Observed {
            running,
            pending,
            busy,
        }
    }

    fn is_start(d: &Decision) -> bool {
        matches!(d, Decision::Start(_))
    }

    #[test]
    fn keeps_the_minimum_and_the_maximum() {
        let t = Instant::now();
        let mut h = History::default();
        assert!(is_start(&decide(B, P, seen(0, 0, 0), &mut h, t)));
        // Even right after a change: a crashed worker is replaced at once.
        assert!(is_start(&decide(B, P, seen(0, 0, 0), &mut h, t)));
        let d = decide(B, P, seen(4, 9, 4), &mut h, t);
        assert!(matches!(d, Decision::Stop(_)), "{d:?}");
    }

    #[test]
    fn waiting_tasks_add_workers_one_cooldown_apart() {
        let t = Instant::now();
        let mut h = History::default();
        assert!(is_start(&decide(B, P, seen(1, 5, 1), &mut h, t)));
        let soon = t + Duration::from_secs(1);
        assert_eq!(decide(B, P, seen(2, 5, 2), &mut h, soon), Decision::Hold);
        let later = t + Duration::from_secs(5);
        assert!(is_start(&decide(B, P, seen(2, 5, 2), &mut h, later)));
        // At the maximum, waiting tasks wait.
        let much_later = t + Duration::from_secs(60);
        assert_eq!(
            decide(B, P, seen(3, 50, 3), &mut h, much_later),
            Decision::Hold
        );
    }

    #[test]
    fn scales_from_zero_at_once() {
        let b = Bounds { min: 0, max: 2 };
        let t = Instant::now();
        let mut h = History::default();
        assert_eq!(decide(b, P, seen(0, 0, 0), &mut h, t), Decision::Hold);
        // A moment after a change, a first task still gets a worker.
        h.last_change = Some(t);
        assert!(is_start(&decide(b, P, seen(0, 1, 0), &mut h, t)));
    }

    #[test]
    fn idle_types_shrink_to_the_minimum_one_idle_period_at_a_time() {
        let b = Bounds { min: 0, max: 3 };
        let t = Instant::now();
        let mut h = History::default();
        assert_eq!(decide(b, P, seen(2, 0, 0), &mut h, t), Decision::Hold);
        // Busy in between: the idle period starts again.
        let t1 = t + Duration::from_secs(6);
        assert_eq!(decide(b, P, seen(2, 0, 1), &mut h, t1), Decision::Hold);
        let t2 = t1 + Duration::from_secs(1);
        assert_eq!(decide(b, P, seen(2, 0, 0), &mut h, t2), Decision::Hold);
        let t3 = t2 + Duration::from_secs(10);
        assert!(matches!(
            decide(b, P, seen(2, 0, 0), &mut h, t3),
            Decision::Stop(_)
        ));
        let t4 = t3 + Duration::from_secs(5);
        assert_eq!(decide(b, P, seen(1, 0, 0), &mut h, t4), Decision::Hold);
        let t5 = t3 + Duration::from_secs(10);
        assert!(matches!(
            decide(b, P, seen(1, 0, 0), &mut h, t5),
            Decision::Stop(_)
        ));
        let t6 = t5 + Duration::from_secs(60);
        assert_eq!(decide(b, P, seen(0, 0, 0), &mut h, t6), Decision::Hold);
    }
}
