//! `daa fleet up`: run a local fleet that starts and stops workers by queue depth
//! (see `supervise`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use daa_shared::config::Config;
use daa_shared::model::AgentKind;

use crate::supervise::policy::{Bounds, Pacing};
use crate::supervise::{self, Plan};

/// Arguments of `daa fleet`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: FleetCommand,
}

#[derive(Debug, clap::Subcommand)]
enum FleetCommand {
    /// Run coordinators and workers on this machine, sizing each worker type between its
    /// bounds by the tasks waiting in its lanes, until SIGTERM or Ctrl-C.
    Up(UpArgs),
}

#[derive(Debug, clap::Args)]
struct UpArgs {
    /// Coordinators to keep running.
    #[arg(long, default_value_t = 1)]
    coordinators: usize,
    /// Bounds of one worker type, TYPE=MIN..MAX or TYPE=N (repeat the flag per type).
    /// Without any, every type runs 1..2; with some, only the types named run.
    #[arg(long = "workers", value_name = "TYPE=MIN..MAX")]
    workers: Vec<String>,
    /// Least time between two changes of one type (a start from zero does not wait).
    #[arg(long, default_value_t = 5_000)]
    cooldown_ms: u64,
    /// A type idle (nothing waiting, nothing running) this long loses a worker.
    #[arg(long, default_value_t = 30_000)]
    idle_ms: u64,
    /// Waiting tasks in a type's lanes that call for one more worker.
    #[arg(long, default_value_t = 1)]
    up_pending: u64,
    /// How often lanes and heartbeats are read.
    #[arg(long, default_value_t = 1_000)]
    interval_ms: u64,
    /// How long stopping processes may drain before they are killed.
    #[arg(long, default_value_t = 30_000)]
    drain_ms: u64,
}

pub(crate) async fn run(cfg: &Config, config: Option<PathBuf>, args: Args) -> anyhow::Result<i32> {
    match args.command {
        FleetCommand::Up(a) => {
            let workers = if a.workers.is_empty() {
                AgentKind::ALL
                    .iter()
                    .map(|&k| (k, Bounds { min: 1, max: 2 }))
                    .collect()
            } else {
                a.workers
                    .iter()
                    .map(|w| parse_bounds(w))
                    .collect::<anyhow::Result<BTreeMap<_, _>>>()?
            };
            let plan = Plan {
                coordinators: a.coordinators,
                workers,
                pacing: Pacing {
                    cooldown: Duration::from_millis(a.cooldown_ms),
                    idle: Duration::from_millis(a.idle_ms),
                    up_pending: a.up_pending,
                },
                interval: Duration::from_millis(a.interval_ms.max(50)),
                drain: Duration::from_millis(a.drain_ms),
                config,
            };
            supervise::run(cfg, plan).await
        }
    }
}

/// `pdf=1..4` or `pdf=2`.
fn parse_bounds(s: &str) -> anyhow::Result<(AgentKind, Bounds)> {
    let (kind, range) = s
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("--workers {s:?}: expected TYPE=MIN..MAX"))?;
    let agent = AgentKind::ALL
        .into_iter()
        .find(|k| k.as_str() == kind.trim())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--workers {s:?}: unknown type {kind:?} (pdf, image, web, structured, neural, quality)"
            )
        })?;
    let num = |v: &str| {
        v.trim()
            .parse::<usize>()
            .map_err(|_| anyhow::anyhow!("--workers {s:?}: {v:?} is not a number"))
    };
    let (min, max) = match range.split_once("..") {
        Some((lo, hi)) => (num(lo)?, num(hi)?),
        None => {
            let n = num(range)?;
            (n, n)
        }
    };
    anyhow::ensure!(
        min <= max,
        "--workers {s:?}: the minimum is above the maximum"
    );
    Ok((agent, Bounds { min, max }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_parse_and_bad_ones_say_why() {
        assert_eq!(
            parse_bounds("pdf=1..4").unwrap(),
            (AgentKind::Pdf, Bounds { min: 1, max: 4 })
        );
        assert_eq!(
            parse_bounds("structured=0").unwrap(),
            (AgentKind::Structured, Bounds { min: 0, max: 0 })
        );
        for (bad, why) in [
            ("pdf", "TYPE=MIN..MAX"),
            ("ocr=1", "unknown type"),
            ("pdf=a..2", "not a number"),
            ("pdf=3..1", "minimum is above"),
        ] {
            let e = parse_bounds(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
