//! `daa bench pdf-fleet FILE`: one large PDF through the real fleet with 1, then 2 (up to
//! N) pdf workers taking part, to show what splitting it into page ranges buys.
//!
//! One fleet runs N pdf workers (one task slot each) for the whole benchmark. A round
//! submits the file once per fleet size n, with workers n+1..N paused (a paused worker
//! fetches nothing and the planner counts no slot for it), alternating the order of the
//! sizes from round to round. The sizes are thus measured side by side in time, so a
//! machine that slows down or speeds up over the run (noisy neighbours, other builds)
//! skews them alike, and each round gives a paired ratio.
//!
//! The document is uploaded to the Object Store once, before the rounds, and every job
//! refers to it (`source: object`), as a client that stores its documents first does:
//! a job's time runs from its submission to its reply, which is the fleet's work. The
//! upload's time is printed apart (it does not depend on the number of workers).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use daa_shared::config::Config;
use daa_shared::model::{AgentKind, JobStatus, ResultDocument, Source};
use daa_shared::store::{worker_state, Store};
use futures::StreamExt;

use crate::fleet::{Fleet, FleetSpec};

/// Arguments of `daa bench pdf-fleet`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The PDF (the larger, the clearer the figure).
    file: PathBuf,
    /// Measured rounds; each submits the file once per fleet size (medians are
    /// reported). One more round runs first to warm up and is not counted.
    #[arg(long, default_value_t = 9)]
    repeat: usize,
    /// Largest number of pdf workers to try (1..=N).
    #[arg(long, default_value_t = 2)]
    max_workers: usize,
}

/// The times of one fleet size.
#[derive(Default)]
struct Series {
    secs: Vec<f64>,
    /// The same jobs' times in the coordinator's clock (acceptance to end, in seconds):
    /// what the fleet spent, without the submission's and the reply's transit.
    fleet_secs: Vec<f64>,
    last: Option<ResultDocument>,
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
    let max = args.max_workers.max(1);
    println!(
        "daa bench pdf-fleet: {} through coordinator + quality + 1..{max} pdf workers (1 slot each), \
         sizes interleaved in {} rounds",
        args.file.display(),
        args.repeat.max(1)
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
    let spec = FleetSpec {
        coordinators: 1,
        workers: vec![(AgentKind::Quality, 1), (AgentKind::Pdf, max)],
        worker_concurrency: 1,
        env: vec![("DAA_COORDINATOR_PDF_SPLIT_MIN_PAGES".into(), "8".into())],
    };
    let fleet = Fleet::start(cfg, &spec)?;
    let window = cfg.coordinator.liveness_window_ms;
    fleet.wait_ready(&store, &spec, window).await?;
    wait_for_buckets(&js).await;
    let mut instances: Vec<String> = store
        .live_agents(AgentKind::Pdf, window)
        .await?
        .into_iter()
        .map(|a| a.instance)
        .collect();
    instances.sort();
    let uploaded = Instant::now();
    let source = crate::cmd::submit::source_for(cfg, &js, &input).await?;
    println!(
        "  document uploaded once in {:.1} ms ({}); every job refers to it",
        uploaded.elapsed().as_secs_f64() * 1e3,
        match &source {
            Source::Object { bucket, .. } => format!("Object Store bucket {bucket}"),
            _ => "small enough to travel inline in each job".to_owned(),
        }
    );
    let mut series: Vec<Series> = (0..max).map(|_| Series::default()).collect();
    let mut paused = vec![false; instances.len()];
    for round in 0..=args.repeat.max(1) {
        let sizes: Vec<usize> = if round % 2 == 0 {
            (1..=max).collect()
        } else {
            (1..=max).rev().collect()
        };
        for n in sizes {
            for (i, instance) in instances.iter().enumerate() {
                let pause = i >= n;
                if paused[i] != pause {
                    control(cfg, &client, instance, pause).await?;
                    paused[i] = pause;
                }
            }
            let (secs, doc) = one_job(cfg, &client, &js, &source).await?;
            anyhow::ensure!(
                doc.status == JobStatus::Completed,
                "job ended {}: {:?}",
                doc.status,
                doc.errors
            );
            let s = &mut series[n - 1];
            if round > 0 {
                s.secs.push(secs);
                s.fleet_secs.push(doc.timings.total_ms as f64 / 1e3);
            }
            s.last = Some(doc);
        }
    }
    drop(fleet);
    report(&series);
    println!("goal: >= 1.7x with 2 workers");
    Ok(0)
}

fn report(series: &[Series]) {
    let base = &series[0].secs;
    for (i, s) in series.iter().enumerate() {
        let n = i + 1;
        let secs = median(s.secs.clone());
        let pages = s.last.as_ref().map_or(0, |d| d.pages.len());
        let paired: Vec<f64> = base.iter().zip(&s.secs).map(|(b, t)| b / t).collect();
        let ratio = median(base.clone()) / secs;
        println!(
            "  {n} pdf worker(s): {secs:.3} s per job (median of {}; quartiles {:.3}-{:.3} s), \
             {:.0} pages/s, speed-up {ratio:.2}x (median of the rounds' ratios {:.2}x)",
            s.secs.len(),
            quantile(s.secs.clone(), 0.25),
            quantile(s.secs.clone(), 0.75),
            pages as f64 / secs,
            median(paired)
        );
        let fleet_base = &series[0].fleet_secs;
        let fleet_paired: Vec<f64> = fleet_base
            .iter()
            .zip(&s.fleet_secs)
            .map(|(b, t)| b / t)
            .collect();
        println!(
            "    in the coordinator's clock: {:.3} s per job (median), speed-up {:.2}x \
             (median of the rounds' ratios {:.2}x)",
            median(s.fleet_secs.clone()),
            median(fleet_base.clone()) / median(s.fleet_secs.clone()),
            median(fleet_paired)
        );
        if let Some(doc) = &s.last {
            println!("    last job, longest task per stage: {}", stages(doc));
        }
    }
}

fn median(v: Vec<f64>) -> f64 {
    quantile(v, 0.5)
}

/// The value a share `q` of `v` lies at or below (nearest rank; the upper median for
/// an even count). The spread shows how noisy the machine was during the run.
fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let at = ((v.len() as f64 * q) as usize).min(v.len() - 1);
    v[at]
}

fn stages(doc: &ResultDocument) -> String {
    let mut s = doc
        .stages
        .iter()
        .map(|s| format!("{} {} ms", s.stage, s.duration_ms))
        .collect::<Vec<_>>()
        .join(", ");
    s.push_str(&format!(
        "; job {} ms in the coordinator's clock: queued {} ms, coordination {} ms",
        doc.timings.total_ms, doc.timings.queue_ms, doc.timings.coordination_ms
    ));
    s
}

/// The coordinator creates the buckets at start; wait for them.
async fn wait_for_buckets(js: &async_nats::jetstream::Context) {
    for _ in 0..100 {
        if js
            .get_object_store(daa_shared::subjects::DOCUMENTS_BUCKET)
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Pause or resume one pdf worker; it answers once its heartbeat says so, which is
/// what the planner reads.
async fn control(
    cfg: &Config,
    client: &async_nats::Client,
    instance: &str,
    pause: bool,
) -> anyhow::Result<()> {
    let (command, expected) = if pause {
        ("pause", worker_state::PAUSED)
    } else {
        ("resume", worker_state::RUNNING)
    };
    let subject = cfg.subjects().control(AgentKind::Pdf, instance);
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        client.request(subject, command.into()),
    )
    .await
    .with_context(|| format!("pdf worker {instance} did not answer {command} within 10 s"))??;
    anyhow::ensure!(
        answer.payload.as_ref() == expected.as_bytes(),
        "pdf worker {instance} answered {command} with {:?}",
        String::from_utf8_lossy(&answer.payload)
    );
    Ok(())
}

async fn one_job(
    cfg: &Config,
    client: &async_nats::Client,
    js: &async_nats::jetstream::Context,
    source: &Source,
) -> anyhow::Result<(f64, ResultDocument)> {
    let inbox = client.new_inbox();
    let mut sub = client.subscribe(inbox.clone()).await?;
    let started = Instant::now();
    super::submit_source(cfg, js, source.clone(), inbox).await?;
    let msg = tokio::time::timeout(Duration::from_secs(600), sub.next())
        .await
        .context("no result within 600 s")?
        .context("subscription closed")?;
    let secs = started.elapsed().as_secs_f64();
    let doc = daa_shared::claim::reply_document(js, msg.headers.as_ref(), &msg.payload).await?;
    Ok((secs, doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let v = vec![4.0, 1.0, 3.0, 2.0, 5.0];
        assert_eq!(quantile(v.clone(), 0.25), 2.0);
        assert_eq!(median(v.clone()), 3.0);
        assert_eq!(quantile(v.clone(), 0.75), 4.0);
        assert_eq!(quantile(v, 1.0), 5.0);
        assert_eq!(median(vec![2.0, 1.0]), 2.0);
        assert!(median(Vec::new()).is_nan());
    }
}
