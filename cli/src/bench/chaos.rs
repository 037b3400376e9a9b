//! `daa bench chaos`: the chaos run of `tests/tests/chaos.rs`, longer. It starts its own
//! nats-server and redis-server (private ports and directories; both must be installed)
//! and its own fleet from the binaries next to `daa`, submits mixed jobs while killing
//! random workers with SIGKILL, restarts nats-server and redis-server once each, and
//! prints whether every job ended exactly once with the outcome its input calls for.
//! The run itself is `daa_tests::chaos` (one implementation for the test and the bench).

use std::time::Duration;

use daa_shared::config::Config;
use daa_tests::chaos::{self, ChaosSpec};

/// Arguments of `daa bench chaos`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Jobs to submit.
    #[arg(long, default_value_t = 1000)]
    jobs: usize,
    /// Submission rate (jobs per second).
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// A random worker is killed every this many milliseconds (with jitter).
    #[arg(long, default_value_t = 2500)]
    kill_every_ms: u64,
    /// Coordinators.
    #[arg(long, default_value_t = 2)]
    coordinators: usize,
    /// Structured workers.
    #[arg(long, default_value_t = 2)]
    structured: usize,
    /// Slow structured workers (`daa-test-worker`, 400 ms per task, built by
    /// `cargo build --workspace --bins`): a kill of one always finds tasks in flight.
    #[arg(long, default_value_t = 1)]
    slow: usize,
    /// Quality workers.
    #[arg(long, default_value_t = 2)]
    quality: usize,
    /// Seed of the random choices (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
}

pub(crate) async fn run(_cfg: &Config, args: Args) -> anyhow::Result<i32> {
    let mut spec = ChaosSpec::new(args.jobs);
    spec.rate_per_s = args.rate;
    spec.kill_every = Duration::from_millis(args.kill_every_ms);
    spec.coordinators = args.coordinators;
    spec.structured = args.structured;
    spec.quality = args.quality;
    spec.slow_structured = args.slow;
    if let Some(seed) = args.seed {
        spec.seed = seed;
    }
    let report = chaos::run(&spec, &|line| println!("{line}")).await;
    println!("{report}");
    if report.ok() {
        println!("every job ended exactly once; none lost");
        Ok(0)
    } else {
        println!("FAILED: see the jobs listed above");
        Ok(1)
    }
}
