//! `daa-coordinator`: plans jobs into stage tasks and drives them to a result.

use std::path::PathBuf;

use anyhow::Context as _;
use daa_shared::config::Config;
use daa_shared::shutdown::ShutdownTrigger;

/// mimalloc: see docs/decisions.md (allocation-heavy parsing is faster and freed memory
/// is reused rather than returned to the kernel and faulted in again by the next task).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut path: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" => path = args.next().map(PathBuf::from),
            "--help" | "-h" => {
                println!("usage: daa-coordinator [--config FILE]\nSettings come from FILE (or DAA_CONFIG) and DAA_* variables; see docs/configuration.md.");
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other:?} (try --help)"),
        }
    }
    let cfg = Config::load(path.as_deref()).context("loading configuration")?;
    daa_shared::telemetry::init(&cfg.log);
    let rt = tokio::runtime::Runtime::new().context("starting the runtime")?;
    rt.block_on(async move {
        let (trigger, shutdown) = ShutdownTrigger::new();
        trigger.trigger_on_signals();
        daa_coordinator::run(cfg, shutdown).await
    })?;
    Ok(())
}
