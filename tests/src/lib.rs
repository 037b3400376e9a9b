//! The daa test harness, in the spirit of nats.rs' `nats-server` crate: start a private
//! `nats-server` (JetStream on, the project's `nats.conf`) and `redis-server` on free
//! loopback ports in temporary directories, start the project's own binaries as real
//! processes against them, and stop everything on drop.
//!
//! The binaries must be built first (`cargo build --workspace --bins`, which `make test`
//! does). They are looked up in `$DAA_BIN_DIR`, else next to the test executable.

pub mod chaos;
mod client;
mod ports;
mod process;
mod servers;

pub use client::{Client, Submitted};
pub use ports::free_port;
pub use process::{bin_path, DaaProcess, Role};
pub use servers::{NatsServer, RedisServer};

use daa_shared::config::Config;

/// A private NATS + Redis pair and the settings every daa process gets.
pub struct Env {
    /// The NATS server.
    pub nats: NatsServer,
    /// The Redis server.
    pub redis: RedisServer,
    /// Extra `DAA_*` variables given to every process started from this environment.
    pub overrides: Vec<(String, String)>,
}

impl Env {
    /// Start both servers with test-friendly timings (short ack wait, fast heartbeats).
    pub fn start() -> Env {
        Self::start_with_nats(NatsServer::start())
    }

    /// Start with a NATS server whose `max_payload` is `bytes` (claim-check tests).
    pub fn start_with_max_payload(bytes: usize) -> Env {
        Self::start_with_nats(NatsServer::start_with(&format!("max_payload: {bytes}")))
    }

    /// Start both servers, Redis with `appendfsync always` (no acknowledged write is
    /// lost when it is killed: the chaos run).
    pub fn start_durable() -> Env {
        Self::start_with_servers(NatsServer::start(), RedisServer::start_with_fsync("always"))
    }

    fn start_with_nats(nats: NatsServer) -> Env {
        Self::start_with_servers(nats, RedisServer::start())
    }

    fn start_with_servers(nats: NatsServer, redis: RedisServer) -> Env {
        Env {
            nats,
            redis,
            overrides: vec![
                ("DAA_TASKS_ACK_WAIT_MS".into(), "2000".into()),
                ("DAA_TASKS_MAX_DELIVER".into(), "4".into()),
                ("DAA_TASKS_RETRY_BASE_MS".into(), "100".into()),
                ("DAA_TASKS_RETRY_MAX_MS".into(), "500".into()),
                ("DAA_WORKER_HEARTBEAT_INTERVAL_MS".into(), "300".into()),
                ("DAA_WORKER_CONCURRENCY".into(), "4".into()),
                ("DAA_COORDINATOR_SWEEP_INTERVAL_MS".into(), "100".into()),
                ("DAA_COORDINATOR_LIVENESS_WINDOW_MS".into(), "2000".into()),
                ("DAA_COORDINATOR_HTTP_ADDR".into(), String::new()),
                // Many tests submit the same bytes several times to exercise the pipeline;
                // the result cache would answer all but one. tests/tests/cache.rs turns
                // it on.
                ("DAA_CACHE_ENABLED".into(), "false".into()),
            ],
        }
    }

    /// Set (or replace) a `DAA_*` override for processes started after this call.
    pub fn set(&mut self, key: &str, value: &str) {
        self.overrides.retain(|(k, _)| k != key);
        self.overrides.push((key.to_owned(), value.to_owned()));
    }

    /// The configuration a process of `role` gets (for in-test clients).
    pub fn config(&self, role: Role) -> Config {
        let mut cfg = Config::default();
        cfg.nats.url = self.nats.url();
        cfg.nats.user = Some(role.user().to_owned());
        cfg.nats.password = Some(role.password().to_owned());
        cfg.redis.url = self.redis.url();
        cfg
    }

    /// Environment variables for a process of `role`.
    pub fn vars(&self, role: Role) -> Vec<(String, String)> {
        let mut v = vec![
            ("DAA_NATS_URL".to_owned(), self.nats.url()),
            ("DAA_NATS_USER".to_owned(), role.user().to_owned()),
            ("DAA_NATS_PASSWORD".to_owned(), role.password().to_owned()),
            (
                "DAA_REDIS_URL".to_owned(),
                self.redis.url_as(role.redis_user(), role.password()),
            ),
        ];
        v.extend(self.overrides.iter().cloned());
        v
    }

    /// Start a daa binary of `role` (coordinator or a worker) against this environment.
    pub fn spawn(&self, role: Role) -> DaaProcess {
        DaaProcess::spawn(role, &self.vars(role), &[])
    }

    /// Start a daa binary with extra variables.
    pub fn spawn_with(&self, role: Role, extra: &[(&str, &str)]) -> DaaProcess {
        DaaProcess::spawn(role, &self.vars(role), extra)
    }

    /// Run the `daa` CLI with `args` as the `client` role, to its end.
    pub fn daa(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(bin_path("daa"))
            .env_remove("DAA_CONFIG")
            .envs(self.vars(Role::Cli))
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("daa {args:?}: {e}"))
    }

    /// A connected test client (NATS as `client`, Redis).
    pub async fn client(&self) -> Client {
        Client::connect(self).await
    }
}

/// Path of a file under the project's `tests/fixtures/`.
pub fn fixture(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// Poll `check` every 50 ms until it is true or `timeout` passes. Panics with `what`.
pub async fn eventually<F, Fut>(timeout: std::time::Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
