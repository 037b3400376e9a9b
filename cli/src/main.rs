//! `daa`: process documents in-process, submit them to the fleet, inspect the fleet's
//! state in Redis, and benchmark it.

mod bench;
mod cmd;
mod fleet;
mod local;
mod output;
mod supervise;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use daa_shared::config::Config;

/// daa: a document-processing worker fleet.
#[derive(Debug, Parser)]
#[command(name = "daa", version, about)]
struct Cli {
    /// TOML configuration file (default: $DAA_CONFIG, else built-in defaults).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// NATS URL (overrides the config and DAA_NATS_URL).
    #[arg(long, global = true)]
    nats_url: Option<String>,
    /// Redis URL (overrides the config and DAA_REDIS_URL).
    #[arg(long, global = true)]
    redis_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Process documents in-process, with no services (same planner and agents as the fleet).
    Process(cmd::process::Args),
    /// Submit documents to the fleet through NATS.
    Submit(cmd::submit::Args),
    /// Show a job's state (from Redis).
    Status(cmd::status::Args),
    /// Print a job's result document (from Redis).
    Result(cmd::result::Args),
    /// Inspect the fleet's state in Redis.
    Inspect(cmd::inspect::Args),
    /// Run benchmarks.
    Bench(bench::Args),
    /// Read and write coordination memory (namespace/agent/task/timestamp entries).
    Memory(cmd::memory::Args),
    /// The dead-letter queue: list, show, replay and purge dead-lettered tasks.
    Dlq(cmd::dlq::Args),
    /// Run a local fleet that sizes each worker type by its queue depth (`daa fleet up`).
    Fleet(cmd::fleet::Args),
}

/// mimalloc: see docs/decisions.md (allocation-heavy parsing is faster and freed memory
/// is reused rather than returned to the kernel and faulted in again by the next task).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let mut cfg = Config::load(cli.config.as_deref())?;
    let config_path = cli.config.clone();
    if let Some(u) = cli.nats_url {
        cfg.nats.url = u;
    }
    if let Some(u) = cli.redis_url {
        cfg.redis.url = u;
    }
    daa_shared::telemetry::init(&daa_shared::config::LogConfig {
        filter: std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        ..cfg.log.clone()
    });
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        match cli.command {
            Command::Process(a) => cmd::process::run(&cfg, a).await,
            Command::Submit(a) => cmd::submit::run(&cfg, a).await,
            Command::Status(a) => cmd::status::run(&cfg, a).await,
            Command::Result(a) => cmd::result::run(&cfg, a).await,
            Command::Inspect(a) => cmd::inspect::run(&cfg, a).await,
            Command::Bench(a) => bench::run(&cfg, a).await,
            Command::Memory(a) => cmd::memory::run(&cfg, a).await,
            Command::Dlq(a) => cmd::dlq::run(&cfg, a).await,
            Command::Fleet(a) => cmd::fleet::run(&cfg, config_path, a).await,
        }
    })
}
