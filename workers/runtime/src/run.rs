//! `run(agent, cfg, shutdown)`: connect, ensure consumers, then fetch and execute until
//! shutdown, then drain.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use daa_shared::config::Config;
use daa_shared::shutdown::{Shutdown, ShutdownTrigger};
use daa_shared::store::{worker_state, Store};
use daa_shared::subjects::Subjects;
use daa_shared::{connect, topology, Error};
use tokio::sync::{watch, Semaphore};

use crate::breakers::Gate;
use crate::hooks::{Commands, NoHooks, TaskHooks};
use crate::retry::RetryPolicy;
use crate::stats::Stats;
use crate::{control, fetch, heartbeat, metrics_http, Agent};

/// What went wrong starting a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RunErrorKind {
    /// Shut down before NATS or Redis could be reached.
    #[error("shut down while connecting")]
    Connect,
    /// Streams or consumers could not be set up.
    #[error("cannot set up JetStream consumers")]
    Topology,
    /// A setting is out of range (`[breaker]`).
    #[error("invalid configuration")]
    Config,
}

/// Worker start-up error.
pub type RunError = Error<RunErrorKind>;

/// How a worker stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunExit {
    /// Shutdown was asked for; in-flight tasks finished or were handed back.
    Drained,
    /// A task's thread could not be reclaimed after its deadline: the worker drained so
    /// that its supervisor restarts it (exit code 75).
    Wedged,
}

/// State shared by the loops of one worker.
pub(crate) struct Shared {
    pub(crate) agent: Arc<dyn Agent>,
    pub(crate) cfg: Config,
    pub(crate) instance: String,
    pub(crate) client: async_nats::Client,
    pub(crate) js: jetstream::Context,
    pub(crate) store: Store,
    pub(crate) subjects: Subjects,
    pub(crate) stats: Stats,
    pub(crate) policy: RetryPolicy,
    pub(crate) concurrency: usize,
    /// Fires when in-flight tasks must be handed back now (drain timeout).
    pub(crate) stop_now: Shutdown,
    /// Starts a drain from inside the worker (wedged thread, `drain` control message).
    pub(crate) drain: ShutdownTrigger,
    pub(crate) wedged: AtomicBool,
    pub(crate) paused: watch::Sender<bool>,
    /// Circuit breakers of the agent's dependencies (they gate fetching).
    pub(crate) gate: Gate,
    /// Code hooks around every task.
    pub(crate) hooks: Arc<dyn TaskHooks>,
    /// External hook commands (`[worker.hooks]`).
    pub(crate) commands: Commands,
}

/// Optional extras of a worker, for [`run_with`]. `RunOptions::default()` is what
/// [`run`] uses.
#[derive(Clone, Default)]
pub struct RunOptions {
    hooks: Option<Arc<dyn TaskHooks>>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("hooks", &self.hooks.is_some())
            .finish()
    }
}

impl RunOptions {
    /// No extras.
    pub fn new() -> Self {
        Self::default()
    }

    /// Call `hooks` around every task.
    pub fn hooks(mut self, hooks: Arc<dyn TaskHooks>) -> Self {
        self.hooks = Some(hooks);
        self
    }
}

impl Shared {
    pub(crate) fn state(&self, draining: bool) -> &'static str {
        if draining {
            worker_state::DRAINING
        } else if *self.paused.borrow() {
            worker_state::PAUSED
        } else {
            worker_state::RUNNING
        }
    }

    pub(crate) fn mark_wedged(&self) {
        self.wedged.store(true, Ordering::SeqCst);
        self.drain.trigger();
    }
}

/// Run `agent` until `shutdown` fires (or the worker decides to drain itself).
pub async fn run(
    agent: Arc<dyn Agent>,
    cfg: Config,
    shutdown: Shutdown,
) -> Result<RunExit, RunError> {
    run_with(agent, cfg, shutdown, RunOptions::default()).await
}

/// [`run`] with extras (task hooks).
pub async fn run_with(
    agent: Arc<dyn Agent>,
    cfg: Config,
    shutdown: Shutdown,
    options: RunOptions,
) -> Result<RunExit, RunError> {
    cfg.breaker
        .validate()
        .map_err(|e| RunError::with_source(RunErrorKind::Config, e))?;
    let kind = agent.kind();
    let instance = cfg.worker.instance_name();
    let mut outer = shutdown.clone();
    let client =
        connect::nats_with_retry(&cfg, &format!("daa-{kind}-worker {instance}"), &mut outer)
            .await
            .ok_or_else(|| RunError::new(RunErrorKind::Connect))?;
    let store = connect::redis_with_retry(&cfg, &mut outer)
        .await
        .ok_or_else(|| RunError::new(RunErrorKind::Connect))?;
    let js = jetstream::new(client.clone());
    topology::ensure_streams(&js, &cfg)
        .await
        .map_err(|e| RunError::with_source(RunErrorKind::Topology, e))?;
    topology::ensure_buckets(&js)
        .await
        .map_err(|e| RunError::with_source(RunErrorKind::Topology, e))?;
    let mut consumers = Vec::new();
    for prio in daa_shared::model::Priority::ALL {
        let c = topology::task_consumer(&js, &cfg, kind, prio)
            .await
            .map_err(|e| RunError::with_source(RunErrorKind::Topology, e))?;
        consumers.push((prio, c));
    }

    // Internal drain trigger: fires on outer shutdown, a drain command or a wedged thread.
    let (drain, draining) = ShutdownTrigger::new();
    let (stop_now_trigger, stop_now) = ShutdownTrigger::new();
    {
        let drain = drain.clone();
        let mut outer = shutdown.clone();
        tokio::spawn(async move {
            outer.recv().await;
            drain.trigger();
        });
    }
    let concurrency = cfg.worker.effective_concurrency().max(1);
    let (paused, _) = watch::channel(false);
    let gate = Gate::new(cfg.breaker.clone(), &agent.dependencies());
    let commands = Commands::new(cfg.worker.hooks.clone());
    let shared = Arc::new(Shared {
        gate,
        hooks: options.hooks.unwrap_or_else(|| Arc::new(NoHooks)),
        commands,
        agent,
        policy: RetryPolicy {
            base: Duration::from_millis(cfg.tasks.retry_base_ms),
            max: Duration::from_millis(cfg.tasks.retry_max_ms),
        },
        subjects: cfg.subjects(),
        cfg,
        instance,
        client,
        js,
        store,
        stats: Stats::new(),
        concurrency,
        stop_now,
        drain,
        wedged: AtomicBool::new(false),
        paused,
    });
    tracing::info!(agent = %kind, instance = %shared.instance, concurrency, "worker started");

    // NATS service API: `$SRV.PING|INFO|STATS.daa-<agent>-worker` find every replica.
    let service = {
        use async_nats::service::ServiceExt;
        let caps = serde_json::to_string(&shared.agent.capabilities()).unwrap_or_default();
        shared
            .client
            .service_builder()
            .description(format!("daa {kind} worker"))
            .metadata(std::collections::HashMap::from([
                ("instance".to_owned(), shared.instance.clone()),
                ("agent".to_owned(), kind.to_string()),
                ("capabilities".to_owned(), caps),
                ("concurrency".to_owned(), concurrency.to_string()),
            ]))
            .start(format!("daa-{kind}-worker"), env!("CARGO_PKG_VERSION"))
            .await
            .map_err(|e| tracing::warn!(error = %e, "NATS service API not available"))
            .ok()
    };
    let hb = tokio::spawn(heartbeat::run(shared.clone(), draining.clone()));
    let ctl = tokio::spawn(control::run(shared.clone(), draining.clone()));
    let scrape = tokio::spawn(metrics_http::serve(shared.clone(), draining.clone()));
    let sem = Arc::new(Semaphore::new(concurrency));
    fetch::run(shared.clone(), consumers, sem.clone(), draining.clone()).await;

    // Drain: wait for in-flight tasks, then hand back whatever is still running.
    tracing::info!(instance = %shared.instance, "draining");
    let all = u32::try_from(concurrency).unwrap_or(u32::MAX);
    let drain_timeout = Duration::from_millis(shared.cfg.worker.drain_timeout_ms);
    if tokio::time::timeout(drain_timeout, sem.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("drain timeout: handing in-flight tasks back");
        stop_now_trigger.trigger();
        let _ = tokio::time::timeout(Duration::from_secs(5), sem.acquire_many(all)).await;
    }
    ctl.abort();
    scrape.abort();
    if let Some(service) = service {
        let _ = service.stop().await;
    }
    let _ = hb.await;
    if let Err(e) = shared.store.remove_heartbeat(kind, &shared.instance).await {
        tracing::warn!(error = %e, "could not remove heartbeat");
    }
    let _ = shared.client.flush().await;
    if shared.wedged.load(Ordering::SeqCst) {
        Ok(RunExit::Wedged)
    } else {
        Ok(RunExit::Drained)
    }
}
