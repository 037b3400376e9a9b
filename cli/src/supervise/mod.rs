//! `daa fleet up`: a local fleet that sizes itself. It runs the coordinators and, per
//! agent type, between `min` and `max` worker processes, starting one while the type's
//! lanes hold waiting tasks and stopping one (SIGTERM: it drains) after the type has been
//! idle, with a cooldown between changes ([`policy`]). A process that exits on its own is
//! replaced. SIGTERM or Ctrl-C stops every process it started, letting them drain.
//!
//! It reads the same signals an operator's autoscaler would: the lanes' pending counts
//! from JetStream and the workers' busy slots from their heartbeats in Redis.

pub(crate) mod policy;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use daa_shared::config::Config;
use daa_shared::model::{AgentKind, Priority};
use daa_shared::shutdown::ShutdownTrigger;
use daa_shared::store::Store;
use daa_shared::topology;

use policy::{Bounds, Decision, History, Observed, Pacing};

/// What to run and how to pace it.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) coordinators: usize,
    pub(crate) workers: BTreeMap<AgentKind, Bounds>,
    pub(crate) pacing: Pacing,
    /// How often the lanes and heartbeats are read.
    pub(crate) interval: Duration,
    /// How long stopping processes may drain before they are killed.
    pub(crate) drain: Duration,
    /// The configuration file `daa` was given, passed on to every process.
    pub(crate) config: Option<PathBuf>,
}

/// One process this supervisor started.
struct Proc {
    child: Child,
    /// SIGTERM sent: draining, no longer counted.
    stopping: bool,
}

impl Proc {
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn terminate(&mut self) {
        self.stopping = true;
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }
}

/// Run until SIGTERM or Ctrl-C.
pub(crate) async fn run(cfg: &Config, plan: Plan) -> anyhow::Result<i32> {
    let client = daa_shared::nats::connect(&cfg.nats, "daa-fleet")
        .await
        .context("daa fleet up needs NATS")?;
    let js = async_nats::jetstream::new(client);
    let store = Store::connect(&cfg.redis)
        .await
        .context("daa fleet up needs Redis")?;
    // The lanes' consumers must exist to count what waits in them before the first
    // worker of a type starts (creation is idempotent; every process does it).
    topology::ensure_streams(&js, cfg).await?;
    for &agent in plan.workers.keys() {
        for p in Priority::ALL {
            topology::task_consumer(&js, cfg, agent, p).await?;
        }
    }
    let dir = crate::fleet::bin_dir()?;
    let (trigger, mut shutdown) = ShutdownTrigger::new();
    trigger.trigger_on_signals();
    let mut fleet = Procs::default();
    let mut history: BTreeMap<AgentKind, History> = BTreeMap::new();
    println!(
        "daa fleet up: {} coordinator(s); workers {}",
        plan.coordinators,
        plan.workers
            .iter()
            .map(|(a, b)| format!("{a} {}..{}", b.min, b.max))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let outcome = loop {
        if let Err(e) = tick(cfg, &plan, &dir, &js, &store, &mut fleet, &mut history).await {
            break Err(e);
        }
        tokio::select! {
            _ = tokio::time::sleep(plan.interval) => {}
            _ = shutdown.recv() => break Ok(0),
        }
    };
    println!("fleet: stopping");
    // Workers first, so their last results still find a coordinator.
    let mut workers: Vec<Proc> = fleet.workers.into_values().flatten().collect();
    stop_all(&mut workers, plan.drain);
    stop_all(&mut fleet.coordinators, plan.drain);
    outcome
}

/// The processes this supervisor started.
#[derive(Default)]
struct Procs {
    coordinators: Vec<Proc>,
    workers: BTreeMap<AgentKind, Vec<Proc>>,
}

/// One round: replace what exited, then decide per worker type. An error (a binary that
/// cannot be started) ends the fleet, stopping what runs.
async fn tick(
    cfg: &Config,
    plan: &Plan,
    dir: &std::path::Path,
    js: &async_nats::jetstream::Context,
    store: &Store,
    fleet: &mut Procs,
    history: &mut BTreeMap<AgentKind, History>,
) -> anyhow::Result<()> {
    let tasks = js.get_stream(cfg.subjects().tasks_stream()).await.ok();
    reap("coordinator", &mut fleet.coordinators);
    while live(&fleet.coordinators) < plan.coordinators {
        fleet
            .coordinators
            .push(spawn(dir, "daa-coordinator", cfg, plan)?);
        println!("fleet: coordinator started");
    }
    for (&agent, &bounds) in &plan.workers {
        let procs = fleet.workers.entry(agent).or_default();
        reap(agent.as_str(), procs);
        let seen = Observed {
            running: live(procs),
            pending: pending(tasks.as_ref(), cfg, agent).await,
            busy: busy(store, cfg, agent).await,
        };
        let h = history.entry(agent).or_default();
        match policy::decide(bounds, plan.pacing, seen, h, Instant::now()) {
            Decision::Start(why) => {
                procs.push(spawn(dir, &format!("daa-{agent}-worker"), cfg, plan)?);
                println!(
                    "fleet: {agent} {} -> {} ({why})",
                    seen.running,
                    seen.running + 1
                );
            }
            Decision::Stop(why) => {
                if let Some(p) = procs.iter_mut().rev().find(|p| !p.stopping) {
                    p.terminate();
                    println!(
                        "fleet: {agent} {} -> {} ({why})",
                        seen.running,
                        seen.running - 1
                    );
                }
            }
            Decision::Hold => {}
        }
    }
    Ok(())
}

fn live(procs: &[Proc]) -> usize {
    procs.iter().filter(|p| !p.stopping).count()
}

/// Forget processes that ended; say so for those that were not asked to.
fn reap(what: &str, procs: &mut Vec<Proc>) {
    procs.retain_mut(|p| match p.exited() {
        None => true,
        Some(status) => {
            if !p.stopping {
                println!(
                    "fleet: {what} process {} exited on its own ({status})",
                    p.child.id()
                );
            }
            false
        }
    });
}

/// Tasks waiting in `agent`'s lanes of the task stream (0 when they cannot be read).
async fn pending(
    tasks: Option<&async_nats::jetstream::stream::Stream>,
    cfg: &Config,
    agent: AgentKind,
) -> u64 {
    let Some(stream) = tasks else {
        return 0;
    };
    let subjects = cfg.subjects();
    let mut n = 0;
    for p in Priority::ALL {
        if let Some(d) = topology::lane_depth(stream, &subjects, agent, p).await {
            n += d.pending;
        }
    }
    n
}

/// Tasks running on `agent`'s live workers, by their heartbeats (0 when unreadable).
async fn busy(store: &Store, cfg: &Config, agent: AgentKind) -> u64 {
    store
        .live_agents(agent, cfg.coordinator.liveness_window_ms)
        .await
        .map(|live| {
            live.iter()
                .filter_map(|a| a.heartbeat.as_ref())
                .map(|h| h.in_flight)
                .sum()
        })
        .unwrap_or(0)
}

/// Start `bin` (next to `daa`) with this process's environment, its configuration file
/// and the NATS and Redis it connected to (which `--nats-url`/`--redis-url` may have set).
fn spawn(dir: &std::path::Path, bin: &str, cfg: &Config, plan: &Plan) -> anyhow::Result<Proc> {
    let path = dir.join(bin);
    let mut cmd = Command::new(&path);
    cmd.env("DAA_NATS_URL", &cfg.nats.url)
        .env("DAA_REDIS_URL", &cfg.redis.url)
        .stdin(Stdio::null());
    if let Some(c) = &plan.config {
        cmd.env(
            "DAA_CONFIG",
            std::path::absolute(c).unwrap_or_else(|_| c.clone()),
        );
    }
    let child = cmd.spawn().with_context(|| {
        format!(
            "starting {} (build it with `cargo build --release --workspace --bins`)",
            path.display()
        )
    })?;
    Ok(Proc {
        child,
        stopping: false,
    })
}

/// SIGTERM every process, wait up to `drain` for them, kill the rest.
fn stop_all(procs: &mut [Proc], drain: Duration) {
    for p in procs.iter_mut() {
        p.terminate();
    }
    let deadline = Instant::now() + drain;
    for p in procs.iter_mut() {
        while Instant::now() < deadline && p.exited().is_none() {
            std::thread::sleep(Duration::from_millis(20));
        }
        if p.exited().is_none() {
            println!(
                "fleet: process {} did not drain in time; killed",
                p.child.id()
            );
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }
}
