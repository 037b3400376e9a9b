//! `daa bench ocr-fleet DIR`: the page images of DIR through the fleet with 1 and then 2
//! image workers (one engine each), beside the tesseract CLI on the same images in the
//! same run (one process per image, one after another).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use daa_shared::config::Config;
use daa_shared::model::{AgentKind, JobStatus};
use daa_shared::store::Store;
use futures::StreamExt;

use crate::fleet::{Fleet, FleetSpec};

/// Arguments of `daa bench ocr-fleet`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Directory of page images.
    dir: PathBuf,
    /// Largest number of image workers to try (1..=N).
    #[arg(long, default_value_t = 2)]
    max_workers: usize,
}

pub(crate) async fn run(cfg: &Config, args: Args) -> anyhow::Result<i32> {
    let mut files = daa_image::bench_support::image_files(&args.dir)
        .with_context(|| format!("reading {}", args.dir.display()))?;
    // Largest first, so that two workers do not wait on one long page at the end (the
    // CLI runs the same files; its total does not depend on the order).
    files.sort_by_key(|f| std::cmp::Reverse(std::fs::metadata(f).map(|m| m.len()).unwrap_or(0)));
    anyhow::ensure!(!files.is_empty(), "no images in {}", args.dir.display());
    let store = Store::connect(&cfg.redis)
        .await
        .context("the benchmark needs Redis")?;
    let client = daa_shared::nats::connect(&cfg.nats, "daa-bench-ocr")
        .await
        .context("the benchmark needs NATS")?;
    let js = async_nats::jetstream::new(client.clone());
    println!(
        "daa bench ocr-fleet: {} images from {}",
        files.len(),
        args.dir.display()
    );
    let cli_files = files.clone();
    let cli =
        tokio::task::spawn_blocking(move || daa_image::bench_support::run_cli_batch(&cli_files))
            .await?;
    let cli_rate = cli.pages_per_s();
    println!("  tesseract CLI: {cli_rate:.3} pages/s (one process per image, OMP_THREAD_LIMIT=1)");
    for n in 1..=args.max_workers.max(1) {
        let spec = FleetSpec {
            coordinators: 1,
            workers: vec![(AgentKind::Quality, 1), (AgentKind::Image, n)],
            worker_concurrency: 1,
            env: vec![("OMP_THREAD_LIMIT".into(), "1".into())],
        };
        let fleet = Fleet::start(cfg, &spec)?;
        fleet
            .wait_ready(&store, &spec, cfg.coordinator.liveness_window_ms)
            .await?;
        let inbox = client.new_inbox();
        let mut sub = client.subscribe(format!("{inbox}.*")).await?;
        let started = Instant::now();
        for (i, f) in files.iter().enumerate() {
            super::submit_file(cfg, &js, &f.to_string_lossy(), format!("{inbox}.{i}")).await?;
        }
        let mut pages = 0usize;
        for _ in 0..files.len() {
            let msg = tokio::time::timeout(Duration::from_secs(600), sub.next())
                .await
                .context("no result within 600 s")?
                .context("subscription closed")?;
            let doc =
                daa_shared::claim::reply_document(&js, msg.headers.as_ref(), &msg.payload).await?;
            anyhow::ensure!(
                doc.status == JobStatus::Completed,
                "job ended {}: {:?}",
                doc.status,
                doc.errors
            );
            pages += doc.pages.len();
        }
        let secs = started.elapsed().as_secs_f64();
        drop(fleet);
        let rate = pages as f64 / secs;
        println!(
            "  {n} image worker(s): {rate:.3} pages/s through the fleet, {:.2}x the CLI",
            rate / cli_rate
        );
    }
    println!("goal: >= 1.0x the CLI with 1 worker, >= 1.7x with 2 (2 cores)");
    Ok(0)
}
