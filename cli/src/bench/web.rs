//! `daa bench web DIR`: pages/s of the web agent's extraction (charset, parse, main
//! content, tables, metadata) on the HTML files of DIR, and, where Python's
//! `trafilatura` is installed, the similarity of our main content to trafilatura's on
//! the same pages (token F1; goal >= 0.9). The work is done by
//! `daa_web::bench_support`, which documents the measure.

use std::path::PathBuf;

use daa_shared::config::Config;
use daa_web::bench_support::{self, BenchOptions, TrafilaturaMode};

/// Arguments of `daa bench web`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Directory holding the .html files.
    dir: PathBuf,
    /// Times every file is extracted for the speed figure.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Do not compare with trafilatura.
    #[arg(long)]
    no_compare: bool,
    /// How trafilatura is asked: its defaults, favor_precision or favor_recall.
    #[arg(long, value_enum, default_value_t = Mode::Default)]
    trafilatura: Mode,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Mode {
    Default,
    Precision,
    Recall,
}

pub(crate) async fn run(cfg: &Config, args: Args) -> anyhow::Result<i32> {
    let opts = BenchOptions {
        dir: args.dir,
        rounds: args.rounds,
        compare: !args.no_compare,
        mode: match args.trafilatura {
            Mode::Default => TrafilaturaMode::Default,
            Mode::Precision => TrafilaturaMode::Precision,
            Mode::Recall => TrafilaturaMode::Recall,
        },
        config: cfg.agent("web")?,
    };
    tokio::task::spawn_blocking(move || {
        let mut out = std::io::stdout().lock();
        bench_support::run(&opts, &mut out)
    })
    .await?
    .map_err(|e| anyhow::anyhow!(e))?;
    Ok(0)
}
