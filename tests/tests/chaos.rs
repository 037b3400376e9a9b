//! The chaos test: a few hundred mixed jobs while random workers are killed with SIGKILL
//! every few seconds, nats-server restarts once and redis-server once. Every job must
//! end, exactly once, with the outcome its input calls for; none may be lost. The run is
//! `daa_tests::chaos`, the same as `daa bench chaos --jobs 1000`.

use daa_tests::chaos::{self, ChaosSpec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_job_ends_exactly_once_through_kills_and_server_restarts() {
    let mut spec = ChaosSpec::new(300);
    if let Some(seed) = std::env::var("DAA_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        spec.seed = seed;
    }
    let report = chaos::run(&spec, &|line| eprintln!("{line}")).await;
    eprintln!("{report}");
    assert_eq!(report.submitted, spec.jobs);
    assert_eq!(report.nats_restarts, 1);
    assert_eq!(report.redis_restarts, 1);
    assert!(report.kills >= 5, "{report}");
    // The kills hit work: the slow worker always holds tasks.
    assert!(report.killed_in_flight > 0, "{report}");
    assert!(report.lost.is_empty(), "{report}");
    assert!(report.duplicates.is_empty(), "{report}");
    assert!(report.unexpected.is_empty(), "{report}");
    assert_eq!(
        report.completed + report.partial + report.failed,
        report.submitted,
        "{report}"
    );
    // The mix has invalid inputs: some jobs failed, for the right reason.
    assert!(report.failed_expected > 0, "{report}");
}
