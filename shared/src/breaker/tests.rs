//! The state machine, driven by a manual clock (no sleeps).

use std::sync::Arc;
use std::time::Duration;

use super::*;

fn cfg() -> BreakerConfig {
    BreakerConfig {
        enabled: true,
        window_size: 10,
        window_ms: 60_000,
        failure_rate: 0.5,
        min_calls: 4,
        cooldown_ms: 1_000,
        half_open_probes: 2,
    }
}

fn breaker(c: BreakerConfig) -> (Breaker, Arc<ManualClock>) {
    let clock = ManualClock::new();
    (Breaker::with_clock("engine", c, clock.clone()), clock)
}

fn fail(b: &Breaker, n: usize) {
    for _ in 0..n {
        b.try_call().expect("admitted").failure("down");
    }
}

fn succeed(b: &Breaker, n: usize) {
    for _ in 0..n {
        b.try_call().expect("admitted").success();
    }
}

#[test]
fn stays_closed_until_the_window_holds_min_calls() {
    let (b, _) = breaker(cfg());
    fail(&b, 3);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.admission(), Admission::All);
    let s = b.snapshot();
    assert_eq!((s.calls, s.failure_rate), (3, 1.0));
    assert_eq!(s.last_failure.as_deref(), Some("down"));
    fail(&b, 1);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn opens_when_the_failure_rate_reaches_the_threshold_and_refuses_calls() {
    let (b, clock) = breaker(cfg());
    succeed(&b, 3);
    fail(&b, 2);
    assert_eq!(b.state(), State::Closed, "2 of 5 is below 0.5");
    fail(&b, 1);
    assert_eq!(b.state(), State::Open, "3 of 6 reaches 0.5");
    assert_eq!(b.try_call().unwrap_err(), Duration::from_millis(1_000));
    clock.advance(Duration::from_millis(400));
    assert_eq!(
        b.admission(),
        Admission::Refused(Duration::from_millis(600))
    );
    assert_eq!(Admission::Refused(Duration::ZERO).limit(8), 0);
    let s = b.snapshot();
    assert_eq!(s.state, State::Open);
    assert_eq!(s.retry_in_ms, Some(600));
    assert_eq!(s.opened_total, 1);
}

#[test]
fn the_window_keeps_only_the_newest_outcomes() {
    let (b, _) = breaker(cfg());
    // Ten old successes are pushed out by ten new outcomes, half of them failures.
    succeed(&b, 10);
    for _ in 0..4 {
        succeed(&b, 1);
        fail(&b, 1);
        assert_eq!(b.state(), State::Closed);
    }
    succeed(&b, 1);
    fail(&b, 1);
    assert_eq!(b.state(), State::Open, "5 of the last 10 failed");
}

#[test]
fn old_outcomes_age_out_of_the_window() {
    let (b, clock) = breaker(cfg());
    fail(&b, 3);
    clock.advance(Duration::from_millis(60_001));
    fail(&b, 1);
    assert_eq!(b.state(), State::Closed, "the three old failures aged out");
    assert_eq!(b.snapshot().calls, 1);
}

#[test]
fn after_the_cooldown_a_limited_number_of_probes_go_through_and_close_it() {
    let (b, clock) = breaker(cfg());
    fail(&b, 4);
    clock.advance(Duration::from_millis(999));
    assert_eq!(b.state(), State::Open);
    clock.advance(Duration::from_millis(1));
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(b.admission(), Admission::Probes(2));
    assert_eq!(b.admission().limit(5), 2);
    let p1 = b.try_call().expect("probe 1");
    let p2 = b.try_call().expect("probe 2");
    assert!(p1.is_probe() && p2.is_probe());
    assert_eq!(b.admission(), Admission::Probes(0));
    assert!(b.try_call().is_err(), "only two probes at a time");
    p1.success();
    assert_eq!(b.state(), State::HalfOpen, "one success of two");
    p2.success();
    assert_eq!(b.state(), State::Closed);
    let s = b.snapshot();
    assert_eq!((s.calls, s.opened_total, s.last_failure), (0, 1, None));
    // Closed again with an empty window: it takes min_calls failures to reopen.
    fail(&b, 3);
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn a_failed_probe_opens_it_again_for_a_full_cooldown() {
    let (b, clock) = breaker(cfg());
    fail(&b, 4);
    clock.advance(Duration::from_millis(1_000));
    let p1 = b.try_call().expect("probe");
    let p2 = b.try_call().expect("probe");
    p1.failure("still down");
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.snapshot().opened_total, 2);
    assert_eq!(b.snapshot().last_failure.as_deref(), Some("still down"));
    // The other probe's success belongs to the previous half-open period.
    p2.success();
    assert_eq!(b.state(), State::Open);
    clock.advance(Duration::from_millis(999));
    assert!(b.try_call().is_err());
    clock.advance(Duration::from_millis(1));
    succeed(&b, 2);
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn outcomes_of_calls_admitted_in_an_earlier_state_change_nothing() {
    let (b, clock) = breaker(cfg());
    let late: Vec<Call> = (0..3).map(|_| b.try_call().expect("closed")).collect();
    fail(&b, 4);
    assert_eq!(b.state(), State::Open);
    let mut late = late.into_iter();
    late.next().expect("call").success();
    assert_eq!(b.state(), State::Open, "a stale success does not close it");
    clock.advance(Duration::from_millis(1_000));
    assert_eq!(b.state(), State::HalfOpen);
    late.next().expect("call").failure("stale");
    assert_eq!(b.state(), State::HalfOpen, "a stale failure is no probe");
    assert_eq!(b.admission(), Admission::Probes(2));
    drop(late);
    assert_eq!(b.admission(), Admission::Probes(2));
}

#[test]
fn a_probe_dropped_without_an_outcome_frees_its_slot() {
    let mut c = cfg();
    c.half_open_probes = 1;
    let (b, clock) = breaker(c);
    fail(&b, 4);
    clock.advance(Duration::from_millis(1_000));
    let probe = b.try_call().expect("probe");
    assert!(b.try_call().is_err());
    drop(probe);
    assert_eq!(b.admission(), Admission::Probes(1));
    b.try_call().expect("probe again").success();
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn a_disabled_breaker_records_but_never_opens() {
    let mut c = cfg();
    c.enabled = false;
    let (b, _) = breaker(c);
    fail(&b, 20);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().failure_rate, 1.0);
}

#[test]
fn consecutive_failures_config_behaves_like_a_failure_counter() {
    let (b, clock) = breaker(BreakerConfig::consecutive(3, 50));
    fail(&b, 2);
    succeed(&b, 1);
    fail(&b, 2);
    assert_eq!(b.state(), State::Closed, "a success breaks the run");
    fail(&b, 1);
    assert_eq!(b.state(), State::Open);
    clock.advance(Duration::from_millis(50));
    let probe = b.try_call().expect("one probe");
    assert!(b.try_call().is_err());
    probe.success();
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn snapshots_serialise_for_heartbeats() {
    let (b, clock) = breaker(cfg());
    fail(&b, 4);
    clock.advance(Duration::from_millis(1_000));
    let v = serde_json::to_value(b.snapshot()).unwrap();
    assert_eq!(v["dependency"], "engine");
    assert_eq!(v["state"], "half_open");
    assert_eq!(v["opened_total"], 1);
    let back: BreakerState = serde_json::from_value(v).unwrap();
    assert_eq!(back, b.snapshot());
    let old: BreakerState = serde_json::from_str("{}").unwrap();
    assert_eq!(old.state, State::Closed);
}

#[test]
fn the_registry_keeps_one_breaker_per_dependency() {
    let clock = ManualClock::new();
    let r = Registry::with_clock(cfg(), clock.clone()).with_limit(2);
    let a = r.get("web:a");
    assert!(a.same(&r.get("web:a")));
    fail(&a, 4);
    let b = r.get("web:b");
    succeed(&b, 1);
    drop(b);
    assert_eq!(r.open_count(), 1);
    // Full: the closed, unheld breaker is forgotten, the open one is kept.
    let _c = r.get("web:c");
    assert!(r.find("web:b").is_none());
    assert!(r.find("web:a").is_some());
    let names: Vec<String> = r.snapshot().into_iter().map(|s| s.dependency).collect();
    assert_eq!(names, ["web:a", "web:c"]);
    assert_eq!(r.not_closed().len(), 1);
    clock.advance(Duration::from_millis(1_000));
    assert_eq!(r.not_closed()[0].state, State::HalfOpen);
}
