//! `daa memory`: read and write coordination memory.

use std::time::Duration;

use anyhow::Context as _;
use daa_shared::config::Config;
use daa_shared::memory::{Memory, MemoryEntry, MemoryKey};
use daa_shared::store::Store;

/// Arguments of `daa memory`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Print one entry: `namespace/agent/task/timestamp`, or the newest of
    /// `namespace/agent/task`.
    Get {
        /// The entry's address.
        key: String,
    },
    /// Entries of a namespace whose `agent/task/timestamp` matches a glob, newest first.
    Search {
        /// Namespace.
        namespace: String,
        /// Glob over `agent/task/timestamp` (`*`, `?`, `[...]`).
        #[arg(default_value = "*")]
        pattern: String,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Store a JSON value under `namespace/agent/task` (timestamp: now); prints its address.
    Put {
        /// `namespace/agent/task`.
        key: String,
        /// The value (JSON).
        value: String,
        /// Expire after this many seconds (default: never).
        #[arg(long)]
        ttl_s: Option<u64>,
    },
    /// Delete one entry (`namespace/agent/task/timestamp`).
    Delete {
        /// The entry's address.
        key: String,
    },
}

fn print(e: &MemoryEntry) {
    println!(
        "{}",
        serde_json::json!({"key": e.key.to_string(), "value": e.value, "expires_at_ms": e.expires_at_ms})
    );
}

fn split3(key: &str) -> anyhow::Result<(&str, &str, &str)> {
    let mut it = key.splitn(3, '/');
    match (it.next(), it.next(), it.next()) {
        (Some(ns), Some(agent), Some(task)) => Ok((ns, agent, task)),
        _ => anyhow::bail!("{key:?} is not namespace/agent/task"),
    }
}

pub(crate) async fn run(cfg: &Config, args: Args) -> anyhow::Result<i32> {
    let store = Store::connect(&cfg.redis)
        .await
        .context("cannot reach coordination memory")?;
    let memory = Memory::new(store);
    match args.what {
        What::Get { key } => {
            let entry = if key.matches('/').count() >= 3 {
                memory.get(&key.parse()?).await?
            } else {
                let (ns, agent, task) = split3(&key)?;
                memory.latest(ns, agent, task).await?
            };
            match entry {
                Some(e) => print(&e),
                None => {
                    eprintln!("no entry {key}");
                    return Ok(1);
                }
            }
        }
        What::Search {
            namespace,
            pattern,
            limit,
        } => {
            for e in memory.search(&namespace, &pattern, limit).await? {
                print(&e);
            }
        }
        What::Put { key, value, ttl_s } => {
            let (ns, agent, task) = split3(&key)?;
            let value: serde_json::Value =
                serde_json::from_str(&value).context("the value must be JSON")?;
            // Announce it on NATS too, as every other writer does (the entry is stored
            // even when NATS is away: notifications are best effort).
            let client = match daa_shared::nats::connect(&cfg.nats, "daa-cli").await {
                Ok(c) => Some(c),
                Err(e) => {
                    eprintln!("warning: no notification (NATS: {e})");
                    None
                }
            };
            let memory = match &client {
                Some(c) => memory.with_notifications(c.clone(), cfg.subjects()),
                None => memory,
            };
            let stored = memory
                .store(ns, agent, task, &value, ttl_s.map(Duration::from_secs))
                .await?;
            if let Some(c) = client {
                c.flush().await.context("notification not sent")?;
            }
            println!("{stored}");
        }
        What::Delete { key } => {
            let key: MemoryKey = key.parse()?;
            if !memory.delete(&key).await? {
                eprintln!("no entry {key}");
                return Ok(1);
            }
        }
    }
    Ok(0)
}
