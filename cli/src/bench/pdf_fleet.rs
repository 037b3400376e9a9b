//! `daa bench pdf-fleet FILE`: one large PDF through the real fleet with 1 and then 2
//! pdf workers (one task slot each), to show what splitting it into page ranges buys.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use daa_shared::config::Config;
use daa_shared::model::{AgentKind, JobStatus, ResultDocument};
use daa_shared::store::Store;
use futures::StreamExt;

use crate::fleet::{Fleet, FleetSpec};

/// Arguments of `daa bench pdf-fleet`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The PDF (the larger, the clearer the figure).
    file: PathBuf,
    /// Runs per fleet size (the median is reported).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Largest number of pdf workers to try (1..=N).
    #[arg(long, default_value_t = 2)]
    max_workers: usize,
}

pub(crate) async fn run(cfg: &Config, args: Args) -> anyhow::Result<i32> {
    let store = Store::connect(&cfg.redis)
        .await
        .context("the benchmark needs Redis")?;
    let client = daa_shared::nats::connect(&cfg.nats, "daa-bench-pdf")
        .await
        .context("the benchmark needs NATS")?;
    let js = async_nats::jetstream::new(client.clone());
    let input = args.file.to_string_lossy().into_owned();
    let mut baseline = None;
    println!(
        "daa bench pdf-fleet: {} through coordinator + quality + N pdf workers (1 slot each)",
        args.file.display()
    );
    // Results of a large PDF are megabytes: under a small max_payload they travel by
    // claim check (object store round trips), which every fleet size pays alike.
    let max_payload = client.server_info().max_payload;
    println!(
        "  NATS max_payload {} KiB{}",
        max_payload / 1024,
        if max_payload < 8 << 20 {
            " (below nats.conf's 8 MiB: large results go by claim check)"
        } else {
            ""
        }
    );
    for n in 1..=args.max_workers.max(1) {
        let spec = FleetSpec {
            coordinators: 1,
            workers: vec![(AgentKind::Quality, 1), (AgentKind::Pdf, n)],
            worker_concurrency: 1,
            env: vec![("DAA_COORDINATOR_PDF_SPLIT_MIN_PAGES".into(), "8".into())],
        };
        let fleet = Fleet::start(cfg, &spec)?;
        fleet
            .wait_ready(&store, &spec, cfg.coordinator.liveness_window_ms)
            .await?;
        // The coordinator creates the buckets at start; wait for them.
        for _ in 0..100 {
            if js
                .get_object_store(daa_shared::subjects::DOCUMENTS_BUCKET)
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut times = Vec::new();
        let mut pages = 0;
        let mut stages = String::new();
        for _ in 0..args.repeat.max(1) {
            let (secs, doc) = one_job(cfg, &client, &js, &input).await?;
            anyhow::ensure!(
                doc.status == JobStatus::Completed,
                "job ended {}: {:?}",
                doc.status,
                doc.errors
            );
            pages = doc.pages.len();
            times.push(secs);
            stages = doc
                .stages
                .iter()
                .map(|s| format!("{} {} ms", s.stage, s.duration_ms))
                .collect::<Vec<_>>()
                .join(", ");
            stages.push_str(&format!(
                "; job {} ms in the coordinator's clock: queued {} ms, coordination {} ms",
                doc.timings.total_ms, doc.timings.queue_ms, doc.timings.coordination_ms
            ));
        }
        drop(fleet);
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let speedup = baseline.map(|b: f64| b / median).unwrap_or(1.0);
        baseline.get_or_insert(median);
        println!(
            "  {n} pdf worker(s): {median:.3} s per job (median of {}), {:.0} pages/s, speed-up {speedup:.2}x",
            times.len(),
            pages as f64 / median
        );
        println!("    longest task per stage: {stages}");
    }
    println!("goal: >= 1.7x with 2 workers");
    Ok(0)
}

async fn one_job(
    cfg: &Config,
    client: &async_nats::Client,
    js: &async_nats::jetstream::Context,
    input: &str,
) -> anyhow::Result<(f64, ResultDocument)> {
    let inbox = client.new_inbox();
    let mut sub = client.subscribe(inbox.clone()).await?;
    let started = Instant::now();
    super::submit_file(cfg, js, input, inbox).await?;
    let msg = tokio::time::timeout(Duration::from_secs(600), sub.next())
        .await
        .context("no result within 600 s")?
        .context("subscription closed")?;
    let secs = started.elapsed().as_secs_f64();
    let doc = daa_shared::claim::reply_document(js, msg.headers.as_ref(), &msg.payload).await?;
    Ok((secs, doc))
}
