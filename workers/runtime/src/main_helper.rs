//! The whole `main` of a worker binary.

use std::path::PathBuf;
use std::sync::Arc;

use daa_shared::config::Config;
use daa_shared::shutdown::ShutdownTrigger;

use crate::{run, Agent, RunExit};

/// Load the configuration (`--config FILE` or `DAA_CONFIG`, then `DAA_*`), install
/// telemetry and signal handling, build the agent with `make` and run it. Returns the
/// process exit code: 0 after a drain, 75 when a wedged task thread forced a restart,
/// 1 on a start-up error.
pub fn main<A, F>(make: F) -> i32
where
    A: Agent,
    F: FnOnce(&Config) -> Result<A, String>,
{
    let mut args = std::env::args().skip(1);
    let mut path: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" => path = args.next().map(PathBuf::from),
            "--help" | "-h" => {
                println!("usage: daa-<agent>-worker [--config FILE]\nSettings come from FILE (or DAA_CONFIG) and DAA_* variables; see docs/configuration.md.");
                return 0;
            }
            other => {
                eprintln!("unknown argument {other:?} (try --help)");
                return 2;
            }
        }
    }
    let cfg = match Config::load(path.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    daa_shared::telemetry::init(&cfg.log);
    let agent = match make(&cfg) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: cannot build the agent: {e}");
            return 1;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(cfg.worker.effective_concurrency().max(1) + 8)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return 1;
        }
    };
    let code = rt.block_on(async move {
        let (trigger, shutdown) = ShutdownTrigger::new();
        trigger.trigger_on_signals();
        match run(Arc::new(agent), cfg, shutdown).await {
            Ok(RunExit::Drained) => 0,
            Ok(RunExit::Wedged) => 75,
            Err(e) => {
                tracing::error!(error = %e, "worker stopped");
                1
            }
        }
    });
    // Abandoned (wedged) blocking threads must not keep the process alive.
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}
