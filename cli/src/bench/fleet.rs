//! `daa bench fleet`: throughput and latency of small 3-stage structured jobs
//! (validation → extraction → QA) through the real fleet.
//!
//! Phase 1 (throughput): keep `--window` jobs in flight and measure completions/s.
//! Phase 2 (latency): submit open-loop at half that rate and report p50/p99 end to end.
//! Coordination overhead per job = end-to-end wall time minus the time inside agents
//! (the stage durations the result document reports).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use daa_shared::codec::Encoding;
use daa_shared::config::Config;
use daa_shared::model::{AgentKind, Bytes, Job, JobStatus, ResultDocument, Source};
use daa_shared::store::Store;
use daa_shared::subjects::MSG_ID_HEADER;
use futures::StreamExt;
use hdrhistogram::Histogram;
use tokio::sync::{Mutex, Semaphore};

use crate::fleet::{Fleet, FleetSpec};

/// Arguments of `daa bench fleet`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Jobs in the throughput phase.
    #[arg(long, default_value_t = 3000)]
    jobs: usize,
    /// Jobs in the latency phase.
    #[arg(long, default_value_t = 1500)]
    latency_jobs: usize,
    /// Jobs in flight during the throughput phase.
    #[arg(long, default_value_t = 256)]
    window: usize,
    /// Coordinators to start.
    #[arg(long, default_value_t = 1)]
    coordinators: usize,
    /// Structured workers to start.
    #[arg(long, default_value_t = 1)]
    structured: usize,
    /// Quality workers to start.
    #[arg(long, default_value_t = 1)]
    quality: usize,
    /// Concurrency of each worker.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Use the fleet that is already running instead of starting one.
    #[arg(long)]
    no_spawn: bool,
}

struct Outcome {
    latency_us: u64,
    doc: ResultDocument,
}

pub(crate) async fn run(cfg: &Config, args: Args) -> anyhow::Result<i32> {
    let store = Store::connect(&cfg.redis)
        .await
        .context("the benchmark needs Redis")?;
    let client = daa_shared::nats::connect(&cfg.nats, "daa-bench")
        .await
        .context("the benchmark needs NATS")?;
    let spec = FleetSpec {
        coordinators: args.coordinators,
        workers: vec![
            (AgentKind::Structured, args.structured),
            (AgentKind::Quality, args.quality),
        ],
        worker_concurrency: args.concurrency,
        env: Vec::new(),
    };
    let _fleet = if args.no_spawn {
        None
    } else {
        let f = Fleet::start(cfg, &spec)?;
        f.wait_ready(&store, &spec, cfg.coordinator.liveness_window_ms)
            .await?;
        Some(f)
    };
    let js = async_nats::jetstream::new(client.clone());
    // Make sure the streams exist before the first publish (the coordinator creates them
    // too; whoever is first wins).
    daa_shared::topology::ensure_streams(&js, cfg).await?;

    // Warm-up: a few jobs so connections, scripts and consumers are hot.
    run_phase(cfg, &client, &js, 50, Pace::Window(16)).await?;

    println!(
        "daa bench fleet: {} coordinator(s), {} structured + {} quality worker(s), concurrency {}",
        args.coordinators, args.structured, args.quality, args.concurrency
    );
    let started = Instant::now();
    let outcomes = run_phase(cfg, &client, &js, args.jobs, Pace::Window(args.window)).await?;
    let secs = started.elapsed().as_secs_f64();
    let max_rate = outcomes.len() as f64 / secs;
    report("throughput phase", &outcomes, Some(max_rate));

    let half = (max_rate / 2.0).max(1.0);
    let outcomes = run_phase(cfg, &client, &js, args.latency_jobs, Pace::Rate(half)).await?;
    report(
        &format!("latency phase at {half:.0} jobs/s (half the maximum)"),
        &outcomes,
        None,
    );
    println!("reference (FIELD-NOTES, same machine class): Celery 5.7 + Redis broker, acks late, prefetch 1: ~170 jobs/s, p50 ~8 ms, p99 ~9-12 ms");
    println!("ratio: {:.1}x Celery's throughput", max_rate / 170.0);
    Ok(0)
}

enum Pace {
    Window(usize),
    Rate(f64),
}

async fn run_phase(
    cfg: &Config,
    client: &async_nats::Client,
    js: &async_nats::jetstream::Context,
    n: usize,
    pace: Pace,
) -> anyhow::Result<Vec<Outcome>> {
    let inbox = client.new_inbox();
    let mut replies = client.subscribe(format!("{inbox}.*")).await?;
    let sent: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; n]));
    let window = Arc::new(Semaphore::new(match pace {
        Pace::Window(w) => w.max(1),
        Pace::Rate(_) => n.max(1),
    }));
    let subjects = cfg.subjects();
    let data = Bytes(b"id,name,score\n1,alpha,0.5\n2,beta,0.7\n3,gamma,0.9\n".to_vec());
    let publisher = {
        let js = js.clone();
        let sent = sent.clone();
        let window = window.clone();
        let interval = match pace {
            Pace::Rate(r) => Some(Duration::from_secs_f64(1.0 / r)),
            Pace::Window(_) => None,
        };
        let inbox = inbox.clone();
        tokio::spawn(async move {
            let start = tokio::time::Instant::now();
            let mut acks = Vec::new();
            for i in 0..n {
                if let Some(iv) = interval {
                    tokio::time::sleep_until(start + iv.mul_f64(i as f64)).await;
                }
                let Ok(permit) = window.clone().acquire_owned().await else {
                    break;
                };
                permit.forget();
                let job_id = uuid::Uuid::now_v7().to_string();
                let job = Job {
                    v: 1,
                    job_id: Some(job_id.clone()),
                    source: Source::Inline {
                        name: "bench.csv".into(),
                        data: data.clone(),
                    },
                    requirements: Default::default(),
                    priority: Default::default(),
                    deadline_ms: Some(60_000),
                    reply_to: Some(format!("{inbox}.{i}")),
                };
                let Ok(payload) = Encoding::MsgPack.encode(&job) else {
                    break;
                };
                let mut headers = Encoding::MsgPack.headers();
                headers.insert(MSG_ID_HEADER, job_id.as_str());
                sent.lock().await[i] = Some(Instant::now());
                match js
                    .publish_with_headers(subjects.jobs_submit(), headers, payload.into())
                    .await
                {
                    Ok(ack) => acks.push(ack),
                    Err(e) => return Err(anyhow::anyhow!("publish failed: {e}")),
                }
                // Await PubAcks in bounded windows (holding thousands stalls the client).
                if acks.len() >= 128 {
                    for a in acks.drain(..) {
                        a.await
                            .map_err(|e| anyhow::anyhow!("job not stored: {e}"))?;
                    }
                }
            }
            for a in acks.drain(..) {
                a.await
                    .map_err(|e| anyhow::anyhow!("job not stored: {e}"))?;
            }
            Ok(())
        })
    };
    let mut out = Vec::with_capacity(n);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120 + n as u64 / 50);
    while out.len() < n {
        let msg = tokio::time::timeout_at(deadline, replies.next())
            .await
            .map_err(|_| anyhow::anyhow!("timed out with {} of {n} jobs answered", out.len()))?
            .context("reply subscription closed")?;
        let now = Instant::now();
        let Some(i) = msg
            .subject
            .rsplit('.')
            .next()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            continue;
        };
        let started = sent.lock().await.get(i).copied().flatten();
        let doc = daa_shared::claim::reply_document(js, msg.headers.as_ref(), &msg.payload).await?;
        window.add_permits(1);
        if let Some(t) = started {
            out.push(Outcome {
                latency_us: now.duration_since(t).as_micros() as u64,
                doc,
            });
        }
    }
    publisher.await??;
    Ok(out)
}

fn report(title: &str, outcomes: &[Outcome], rate: Option<f64>) {
    let mut h = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).ok();
    let mut overhead_us = 0u64;
    let mut completed = 0usize;
    for o in outcomes {
        if let Some(h) = h.as_mut() {
            let _ = h.record(o.latency_us.max(1));
        }
        let agent_us: u64 = o.doc.stages.iter().map(|s| s.duration_ms * 1000).sum();
        overhead_us += o.latency_us.saturating_sub(agent_us);
        if o.doc.status == JobStatus::Completed {
            completed += 1;
        }
    }
    let (p50, p99) = h
        .as_ref()
        .map(|h| (h.value_at_quantile(0.5), h.value_at_quantile(0.99)))
        .unwrap_or((0, 0));
    println!("{title}:");
    if let Some(r) = rate {
        println!(
            "  throughput: {r:.0} jobs/s ({} jobs, {} completed)",
            outcomes.len(),
            completed
        );
    } else {
        println!("  jobs: {} ({} completed)", outcomes.len(), completed);
    }
    println!(
        "  end-to-end latency: p50 {:.2} ms, p99 {:.2} ms",
        p50 as f64 / 1000.0,
        p99 as f64 / 1000.0
    );
    println!(
        "  coordination overhead per job (wall minus time in agents): {:.2} ms",
        overhead_us as f64 / outcomes.len().max(1) as f64 / 1000.0
    );
}
