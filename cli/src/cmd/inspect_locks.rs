//! `daa inspect locks`: held locks and long waiters.

use std::time::Duration;

use daa_shared::store::Store;
use daa_shared::time::now_ms;

/// Arguments of `daa inspect locks`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// List waiters that have waited at least this long (ms).
    #[arg(long, default_value_t = 1000)]
    older_than_ms: u64,
}

pub(crate) async fn run(store: &Store, args: Args, json: bool) -> anyhow::Result<i32> {
    let report = store
        .locks()
        .report(Duration::from_millis(args.older_than_ms))
        .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(0);
    }
    if report.held.is_empty() {
        println!("no held locks");
    } else {
        println!(
            "{:<40} {:<36} {:>8} {:>9} {:>9}",
            "RESOURCE", "HOLDER", "FENCE", "TTL MS", "HELD MS"
        );
        for l in &report.held {
            println!(
                "{:<40} {:<36} {:>8} {:>9} {:>9}",
                l.resource,
                l.holder,
                l.fence,
                l.ttl_ms,
                now_ms().saturating_sub(l.acquired_ms)
            );
        }
    }
    if report.waiters.is_empty() {
        println!("no waiters older than {} ms", args.older_than_ms);
    } else {
        println!();
        println!("{:<40} {:<36} {:>9}", "WAITING FOR", "WAITER", "WAITED MS");
        for w in &report.waiters {
            println!("{:<40} {:<36} {:>9}", w.resource, w.holder, w.waited_ms);
        }
    }
    Ok(0)
}
