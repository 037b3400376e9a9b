//! Configuration: defaults < TOML file < `DAA_*` environment < command-line flags.
//!
//! Every section rejects unknown keys (a typo is an error, not a silent default).
//! Environment variables map to keys by replacing the first `_` after `DAA_` with a dot:
//! `DAA_NATS_URL` → `nats.url`, `DAA_TASKS_ACK_WAIT_MS` → `tasks.ack_wait_ms`.
//! `DAA_CONFIG` names the TOML file. `docs/configuration.md` lists every key.

use std::path::Path;
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::keys::Keys;
use crate::subjects::Subjects;
use crate::Error;

/// What went wrong loading the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConfigErrorKind {
    /// The file, the environment or a flag holds an unknown key or a bad value.
    #[error("invalid configuration")]
    Invalid,
}

/// Configuration error.
pub type ConfigError = Error<ConfigErrorKind>;

/// The whole configuration of a daa process.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// NATS connection and subject naming.
    pub nats: NatsConfig,
    /// Redis connection and key naming.
    pub redis: RedisConfig,
    /// Job defaults.
    pub jobs: JobsConfig,
    /// Task delivery (consumer settings).
    pub tasks: TasksConfig,
    /// Worker runtime.
    pub worker: WorkerConfig,
    /// Coordinator service.
    pub coordinator: CoordinatorConfig,
    /// Logging.
    pub log: LogConfig,
    /// Content-addressed result cache (coordinator).
    pub cache: CacheConfig,
    /// Per-agent sections (`[agents.web]`, `[agents.pdf]`...), each read and checked by
    /// its agent with [`Config::agent`] (unknown keys are errors there).
    pub agents: serde_json::Map<String, serde_json::Value>,
    /// Circuit breakers of a worker's dependencies (`[breaker]`).
    pub breaker: crate::breaker::BreakerConfig,
}

/// NATS connection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NatsConfig {
    /// Server URL(s), comma separated.
    pub url: String,
    /// User name (nats.conf defines one per role).
    pub user: Option<String>,
    /// Password for `user`.
    pub password: Option<String>,
    /// Subject prefix.
    pub prefix: String,
    /// Documents up to this size travel inline; larger ones go to the Object Store.
    pub inline_limit_bytes: usize,
    /// Time allowed for the first connection before giving up with a clear error.
    pub connect_timeout_ms: u64,
}

impl Default for NatsConfig {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".into(),
            user: None,
            password: None,
            prefix: "daa".into(),
            inline_limit_bytes: 1024 * 1024,
            connect_timeout_ms: 5_000,
        }
    }
}

/// Redis connection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// Server URL.
    pub url: String,
    /// Key prefix (include the trailing `:`).
    pub prefix: String,
    /// Connection pool size.
    pub pool_size: usize,
    /// Time allowed for a connection or a command.
    pub timeout_ms: u64,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379".into(),
            prefix: "daa:".into(),
            pool_size: 32,
            timeout_ms: 5_000,
        }
    }
}

/// Job defaults.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Deadline of a job that names none.
    pub default_deadline_ms: u64,
    /// How long ended jobs and their results stay in Redis.
    pub result_ttl_s: u64,
    /// JetStream de-duplication window of submissions and tasks.
    pub dedup_window_s: u64,
    /// Largest document accepted, in bytes.
    pub max_document_bytes: u64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            default_deadline_ms: 120_000,
            result_ttl_s: 24 * 3600,
            dedup_window_s: 120,
            max_document_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Delivery settings of the task consumers (applied when a consumer is first created).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TasksConfig {
    /// Time a worker has to ack (or send progress) before redelivery.
    pub ack_wait_ms: u64,
    /// Deliveries before the task goes to the dead-letter queue.
    pub max_deliver: i64,
    /// Unacknowledged tasks allowed per consumer.
    pub max_ack_pending: i64,
    /// Base of the jittered exponential retry delay of temporary failures.
    pub retry_base_ms: u64,
    /// Cap of that delay.
    pub retry_max_ms: u64,
}

impl Default for TasksConfig {
    fn default() -> Self {
        Self {
            ack_wait_ms: 30_000,
            max_deliver: 5,
            max_ack_pending: 10_000,
            retry_base_ms: 500,
            retry_max_ms: 30_000,
        }
    }
}

impl TasksConfig {
    /// `ack_wait_ms` as a duration.
    pub fn ack_wait(&self) -> Duration {
        Duration::from_millis(self.ack_wait_ms)
    }
}

/// Worker runtime settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerConfig {
    /// Tasks run at once (0 = number of CPUs).
    pub concurrency: usize,
    /// Hard deadline of one task.
    pub task_timeout_ms: u64,
    /// Heartbeat period.
    pub heartbeat_interval_ms: u64,
    /// Instance name (default: host-pid).
    pub instance: Option<String>,
    /// Poll period when no doorbell rang (catches redeliveries and missed doorbells).
    pub idle_poll_ms: u64,
    /// Time allowed to finish in-flight tasks on SIGTERM before they are NAKed.
    pub drain_timeout_ms: u64,
    /// Where the worker serves its own `/metrics` (Prometheus text), e.g.
    /// `0.0.0.0:9100`; empty = off (the default: the coordinator's `/metrics` reports
    /// every worker from its heartbeats, and many workers on one host would need a port
    /// each). An address that is taken is logged and the worker runs without it.
    pub metrics_addr: String,
    /// External commands run around every task (`[worker.hooks]`).
    pub hooks: HooksConfig,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 0,
            task_timeout_ms: 120_000,
            heartbeat_interval_ms: 2_000,
            instance: None,
            idle_poll_ms: 250,
            drain_timeout_ms: 20_000,
            metrics_addr: String::new(),
            hooks: HooksConfig::default(),
        }
    }
}

impl WorkerConfig {
    /// Concurrency with 0 resolved to the number of CPUs.
    pub fn effective_concurrency(&self) -> usize {
        if self.concurrency == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        } else {
            self.concurrency
        }
    }

    /// Instance name: configured, or `<host>-<pid>`.
    pub fn instance_name(&self) -> String {
        self.instance.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/etc/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_else(|_| "host".into());
            format!("{host}-{}", std::process::id())
        })
    }
}

/// Coordinator settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CoordinatorConfig {
    /// Period of the deadline sweep.
    pub sweep_interval_ms: u64,
    /// Jobs and results handled at once.
    pub max_in_flight: usize,
    /// HTTP API and metrics listen address (empty = off).
    pub http_addr: String,
    /// An agent type counts as live when one of its workers beat within this window.
    pub liveness_window_ms: u64,
    /// A PDF is split across the live pdf workers' task slots into parts of at least
    /// this many pages (fewer pages: one task).
    pub pdf_split_min_pages: u32,
    /// Lease period of coordinator leadership: the leader renews every third of it, and
    /// when it dies another coordinator takes the singleton duties (deadline sweeper,
    /// dead-letter mover) over within about one period.
    pub leader_lease_ms: u64,
    /// How long a job, result or advisory a coordinator has taken may stay
    /// unacknowledged before JetStream hands it to another replica. Handling one takes
    /// milliseconds; this is how long the work a coordinator was doing when it died
    /// waits. Applies when the coordinators' durable consumers are created.
    pub ack_wait_ms: u64,
    /// Decoded stage results a coordinator keeps for its jobs' later stages, in bytes of
    /// their encoding (0 = off: every advance reads and decodes the job's results from
    /// Redis). A long PDF's pages are megabytes, read again at every stage after the
    /// extraction; entries go when the job ends, the oldest jobs' first when over this.
    pub decoded_results_max_bytes: usize,
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        Self {
            sweep_interval_ms: 500,
            max_in_flight: 512,
            http_addr: "127.0.0.1:8090".into(),
            liveness_window_ms: 10_000,
            pdf_split_min_pages: 32,
            leader_lease_ms: 5_000,
            ack_wait_ms: 5_000,
            decoded_results_max_bytes: 256 << 20,
        }
    }
}

/// Logging.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `human` or `json`.
    pub format: String,
    /// `tracing` filter directives (overridden by `RUST_LOG`); parsers that log document
    /// faults as errors (lopdf) are off unless named (`telemetry::with_quiet_parsers`).
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "human".into(),
            filter: "info".into(),
        }
    }
}

/// The content-addressed result cache (see `docs/coordination.md`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Answer a job from the result of an earlier job for the same document bytes and
    /// requirements, and let concurrent identical jobs wait for the first one.
    pub enabled: bool,
    /// How long a cached result stays, in seconds.
    pub ttl_s: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            ttl_s: 3600,
        }
    }
}

/// `[worker.hooks]`: external commands the worker runs around every task, each with a
/// JSON description of the task on stdin. A hook that fails, or runs past `timeout_ms`
/// and is killed, is logged and otherwise ignored: hooks never fail a task.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HooksConfig {
    /// Program and arguments run before each task starts; the task waits for it (at
    /// most `timeout_ms`). Empty (the default): none.
    pub pre_task: Vec<String>,
    /// Program and arguments run after each task succeeded, in the background.
    /// Empty (the default): none.
    pub post_task: Vec<String>,
    /// Program and arguments run after each task failed or was handed back for a
    /// retry, in the background. Empty (the default): none.
    pub on_error: Vec<String>,
    /// Time a hook command may run before it is killed (default 5 000 ms).
    pub timeout_ms: u64,
}

impl Default for HooksConfig {
    fn default() -> Self {
        Self {
            pre_task: Vec::new(),
            post_task: Vec::new(),
            on_error: Vec::new(),
            timeout_ms: 5_000,
        }
    }
}

/// The sections `DAA_<SECTION>_<KEY>` variables map into. Variables naming another
/// section (`DAA_BIN_DIR`, `DAA_CONFIG`) are not configuration and are left alone; an
/// unknown key inside a known section is an error.
const SECTIONS: &[&str] = &[
    "nats",
    "redis",
    "jobs",
    "tasks",
    "worker",
    "coordinator",
    "log",
    "cache",
    "breaker",
];

impl Config {
    /// Load defaults, then the TOML file (`path`, or `DAA_CONFIG`), then `DAA_*` variables.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        let env_path = std::env::var_os("DAA_CONFIG");
        let path = path.or(env_path.as_deref().map(Path::new));
        if let Some(p) = path {
            if !p.exists() {
                return Err(ConfigError::with_source(
                    ConfigErrorKind::Invalid,
                    format!("config file {} does not exist", p.display()),
                ));
            }
            fig = fig.merge(Toml::file(p));
        }
        fig = fig.merge(
            Env::prefixed("DAA_")
                .filter(|k| {
                    let k = k.as_str().to_ascii_lowercase();
                    SECTIONS.iter().any(|s| k.starts_with(&format!("{s}_")))
                })
                .map(|k| k.as_str().replacen('_', ".", 1).into()),
        );
        fig.extract()
            .map_err(|e| ConfigError::with_source(ConfigErrorKind::Invalid, e))
    }

    /// The `[agents.<name>]` section as the agent's own config type (defaults when absent).
    pub fn agent<T: serde::de::DeserializeOwned + Default>(
        &self,
        name: &str,
    ) -> Result<T, ConfigError> {
        match self.agents.get(name) {
            None => Ok(T::default()),
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
                ConfigError::with_source(ConfigErrorKind::Invalid, format!("[agents.{name}]: {e}"))
            }),
        }
    }

    /// Subject names for this configuration.
    pub fn subjects(&self) -> Subjects {
        Subjects::new(self.nats.prefix.clone())
    }

    /// Redis key names for this configuration.
    pub fn keys(&self) -> Keys {
        Keys::new(self.redis.prefix.clone())
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closure signature
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn file_then_env_override_defaults() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            f,
            "[nats]\nurl = \"nats://file:1\"\n[worker]\nconcurrency = 3"
        )
        .unwrap();
        figment::Jail::expect_with(|jail| {
            jail.set_env("DAA_NATS_URL", "nats://env:2");
            let cfg = Config::load(Some(f.path())).unwrap();
            assert_eq!(cfg.nats.url, "nats://env:2");
            assert_eq!(cfg.worker.concurrency, 3);
            assert_eq!(cfg.redis.url, "redis://127.0.0.1:6379");
            Ok(())
        });
    }

    #[test]
    fn unknown_env_keys_in_known_sections_are_errors_others_ignored() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("DAA_BIN_DIR", "/x");
            assert!(Config::load(None).is_ok());
            jail.set_env("DAA_WORKER_CONCURENCY", "3");
            let err = Config::load(None).unwrap_err();
            assert!(err.to_string().contains("concurency"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn agent_sections_are_read_by_their_agent() {
        #[derive(Debug, Default, Deserialize, PartialEq)]
        #[serde(deny_unknown_fields, default)]
        struct Web {
            max_redirects: u32,
        }
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            f,
            "[agents.web]\nmax_redirects = 3\n[agents.pdf]\nbogus = 1"
        )
        .unwrap();
        let cfg = Config::load(Some(f.path())).unwrap();
        assert_eq!(cfg.agent::<Web>("web").unwrap(), Web { max_redirects: 3 });
        assert_eq!(cfg.agent::<Web>("image").unwrap(), Web::default());
        assert!(cfg.agent::<Web>("pdf").is_err());
    }

    #[test]
    fn unknown_keys_are_errors() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "[nats]\nurll = \"x\"").unwrap();
        let err = Config::load(Some(f.path())).unwrap_err();
        assert_eq!(err.kind(), ConfigErrorKind::Invalid);
        assert!(err.to_string().contains("urll"), "{err}");
    }

    #[test]
    fn breaker_from_env_and_hooks_from_the_file() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            f,
            "[worker.hooks]\npre_task = [\"/bin/hook\", \"pre\"]\ntimeout_ms = 300\n[breaker]\nmin_calls = 2"
        )
        .unwrap();
        figment::Jail::expect_with(|jail| {
            jail.set_env("DAA_BREAKER_COOLDOWN_MS", "1500");
            let cfg = Config::load(Some(f.path())).unwrap();
            assert_eq!(cfg.worker.hooks.pre_task, ["/bin/hook", "pre"]);
            assert_eq!(cfg.worker.hooks.timeout_ms, 300);
            assert!(cfg.worker.hooks.post_task.is_empty());
            assert_eq!(cfg.breaker.min_calls, 2);
            assert_eq!(cfg.breaker.cooldown_ms, 1500);
            assert_eq!(cfg.breaker.window_size, 20);
            jail.set_env("DAA_BREAKER_COOLDOWN", "1");
            assert!(Config::load(Some(f.path())).is_err());
            Ok(())
        });
    }
}
