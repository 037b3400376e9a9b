//! `daa inspect`: the fleet's state in Redis (agents, recent jobs, one job's history).

use anyhow::Context as _;
use daa_shared::config::Config;
use daa_shared::model::AgentKind;
use daa_shared::store::{Store, COORDINATOR_LEADER};
use daa_shared::time::now_ms;

/// Arguments of `daa inspect`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    what: What,
    /// Print as JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Live workers per agent type, from their heartbeats.
    Agents,
    /// The most recent jobs and their states.
    Jobs {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// One job: state and failed delivery attempts.
    Job {
        /// Job id.
        job_id: String,
    },
    /// Held locks (holder, fence, TTL left) and waiters older than a threshold.
    Locks(super::inspect_locks::Args),
    /// The leading coordinator (runs the deadline sweeper and the dead-letter mover):
    /// holder, fence, since when, last renewal.
    Leader,
}

/// `closed` when every breaker is, else the ones that are not: `engine=open,web:a=half_open`.
fn breakers(states: &[daa_shared::breaker::BreakerState]) -> String {
    use daa_shared::breaker::State;
    let not_closed: Vec<String> = states
        .iter()
        .filter(|s| s.state != State::Closed)
        .map(|s| format!("{}={}", s.dependency, s.state))
        .collect();
    match (states.is_empty(), not_closed.is_empty()) {
        (true, _) => "-".into(),
        (false, true) => "closed".into(),
        (false, false) => not_closed.join(","),
    }
}

pub(crate) async fn run(cfg: &Config, args: Args) -> anyhow::Result<i32> {
    let store = Store::connect(&cfg.redis)
        .await
        .context("cannot inspect the fleet")?;
    match args.what {
        What::Locks(a) => return super::inspect_locks::run(&store, a, args.json).await,
        What::Agents => {
            let mut rows = Vec::new();
            for kind in AgentKind::ALL {
                for a in store
                    .live_agents(kind, cfg.coordinator.liveness_window_ms)
                    .await?
                {
                    rows.push((kind, a));
                }
            }
            if args.json {
                let v: Vec<_> = rows
                    .iter()
                    .map(|(k, a)| serde_json::json!({"agent": k, "instance": a.instance, "last_beat_ms": a.last_beat_ms, "heartbeat": a.heartbeat}))
                    .collect();
                println!("{}", serde_json::Value::Array(v));
            } else if rows.is_empty() {
                println!("no live workers");
            } else {
                println!(
                    "{:<11} {:<28} {:>8} {:>9} {:>9} {:>7} {:>7} {:>8}  BREAKERS",
                    "AGENT",
                    "INSTANCE",
                    "STATE",
                    "IN-FLIGHT",
                    "PROCESSED",
                    "FAILED",
                    "P99 MS",
                    "AGE MS"
                );
                for (k, a) in rows {
                    let hb = a.heartbeat.unwrap_or_default();
                    println!(
                        "{:<11} {:<28} {:>8} {:>9} {:>9} {:>7} {:>7} {:>8}  {}",
                        k.as_str(),
                        a.instance,
                        hb.state,
                        hb.in_flight,
                        hb.processed,
                        hb.failed,
                        hb.p99_ms,
                        now_ms().saturating_sub(a.last_beat_ms),
                        breakers(&hb.breakers)
                    );
                }
            }
        }
        What::Jobs { limit } => {
            for id in store.recent_jobs(limit).await? {
                let state = store.job_state(&id).await?;
                let (status, stage) = state
                    .map(|s| {
                        (
                            s.status.to_string(),
                            s.stage.map(|s| s.to_string()).unwrap_or_default(),
                        )
                    })
                    .unwrap_or_else(|| ("expired".into(), String::new()));
                if args.json {
                    println!(
                        "{}",
                        serde_json::json!({"job_id": id, "status": status, "stage": stage})
                    );
                } else {
                    println!("{id} {status} {stage}");
                }
            }
        }
        What::Leader => {
            let holder = store.lease_holder(COORDINATOR_LEADER).await?;
            let last_fence = store.lease_fence_counter(COORDINATOR_LEADER).await?;
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"leader": holder, "last_fence": last_fence})
                );
            } else if let Some(h) = holder {
                println!(
                    "{} leads with fence {} since {} ms ago (renewed {} ms ago, lease {} ms, expires in {} ms)",
                    h.holder,
                    h.fence,
                    now_ms().saturating_sub(h.acquired_ms),
                    now_ms().saturating_sub(h.renewed_ms),
                    h.ttl_ms,
                    h.expires_in_ms
                );
            } else {
                println!(
                    "no leading coordinator (last fence {last_fence}): is daa-coordinator running?"
                );
                return Ok(1);
            }
        }
        What::Job { job_id } => {
            let Some(state) = store.job_state(&job_id).await? else {
                eprintln!("no job {job_id}");
                return Ok(1);
            };
            let attempts = store.attempts(&job_id).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "job_id": job_id,
                    "status": state.status,
                    "stage": state.stage,
                    "stage_index": state.stage_index,
                    "error": state.error,
                    "failed_attempts": attempts.iter().filter_map(|a| serde_json::from_str::<serde_json::Value>(a).ok()).collect::<Vec<_>>(),
                }))?
            );
        }
    }
    Ok(0)
}
