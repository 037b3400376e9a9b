//! Starting a local fleet (coordinator + workers) as child processes, for `daa bench`.
//! The binaries are looked up next to the running `daa` executable. The result cache is
//! off in these fleets: they exist to measure the pipeline.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use daa_shared::config::Config;
use daa_shared::model::AgentKind;
use daa_shared::store::Store;

/// Child processes, killed on drop.
pub(crate) struct Fleet {
    children: Vec<Child>,
}

/// How many of each process to start.
#[derive(Debug, Clone)]
pub(crate) struct FleetSpec {
    pub(crate) coordinators: usize,
    pub(crate) workers: Vec<(AgentKind, usize)>,
    pub(crate) worker_concurrency: usize,
    /// Extra `DAA_*` settings for every process.
    pub(crate) env: Vec<(String, String)>,
}

/// The directory of the running `daa`, where the other binaries are.
pub(crate) fn bin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the daa executable")?;
    exe.parent()
        .map(PathBuf::from)
        .context("the daa executable has no directory")
}

impl Fleet {
    /// Start the processes against the NATS and Redis of `cfg`.
    pub(crate) fn start(cfg: &Config, spec: &FleetSpec) -> anyhow::Result<Fleet> {
        let dir = bin_dir()?;
        let mut fleet = Fleet {
            children: Vec::new(),
        };
        let mut launch = |bin: &str, extra: &[(&str, String)]| -> anyhow::Result<()> {
            let path = dir.join(bin);
            let mut cmd = Command::new(&path);
            cmd.env("DAA_NATS_URL", &cfg.nats.url)
                .env("DAA_REDIS_URL", &cfg.redis.url)
                .env("DAA_COORDINATOR_HTTP_ADDR", "")
                // Benchmarks submit the same bytes again and again: the result cache
                // would answer the repeats without running the pipeline they measure.
                .env("DAA_CACHE_ENABLED", "false")
                .env(
                    "RUST_LOG",
                    std::env::var("DAA_FLEET_LOG").unwrap_or_else(|_| "warn".into()),
                )
                .stdin(Stdio::null())
                .stdout(Stdio::null());
            for (k, v) in &spec.env {
                cmd.env(k, v);
            }
            for (k, v) in extra {
                cmd.env(k, v);
            }
            let child = cmd.spawn().with_context(|| {
                format!(
                    "starting {} (build it with `cargo build --release --workspace --bins`)",
                    path.display()
                )
            })?;
            fleet.children.push(child);
            Ok(())
        };
        for _ in 0..spec.coordinators {
            launch("daa-coordinator", &[])?;
        }
        for (agent, n) in &spec.workers {
            for _ in 0..*n {
                launch(
                    &format!("daa-{agent}-worker"),
                    &[(
                        "DAA_WORKER_CONCURRENCY",
                        spec.worker_concurrency.to_string(),
                    )],
                )?;
            }
        }
        Ok(fleet)
    }

    /// Wait until every agent type of `spec` has exactly its workers' heartbeats in Redis
    /// (more would be another fleet's, or stale ones that have not aged out yet).
    pub(crate) async fn wait_ready(
        &self,
        store: &Store,
        spec: &FleetSpec,
        window_ms: u64,
    ) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let mut ready = true;
            for (agent, n) in &spec.workers {
                if store.live_agents(*agent, window_ms).await?.len() != *n {
                    ready = false;
                }
            }
            if ready {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!("the fleet's workers did not report within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Fleet {
    /// SIGTERM every process and give it a few seconds to drain: a drained worker
    /// removes its heartbeat, so the next fleet of a benchmark does not see stale task
    /// slots (the planner would split a PDF for workers that are gone). Stragglers are
    /// killed.
    fn drop(&mut self) {
        for c in &self.children {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        for c in &mut self.children {
            while std::time::Instant::now() < deadline && matches!(c.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
