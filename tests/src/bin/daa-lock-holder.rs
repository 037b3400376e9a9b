//! `daa-lock-holder RESOURCE ITERATIONS`: take the lock on RESOURCE ITERATIONS times, and
//! each time read the counter the lock protects and write it back plus one with a fenced
//! write. Several of these run at once in the lock tests: if two processes ever held the
//! lock together, one's write is refused (it exits non-zero) or an increment is lost (the
//! final count is short).
//!
//! Redis is found through the usual configuration (`DAA_REDIS_URL`).

use std::time::Duration;

use anyhow::Context as _;
use daa_shared::config::Config;
use daa_shared::lock::{LockOptions, Locks};
use daa_shared::store::Store;
use redis::AsyncCommands;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let resource = args
        .next()
        .context("usage: daa-lock-holder RESOURCE ITERATIONS")?;
    let iterations: u64 = args
        .next()
        .context("usage: daa-lock-holder RESOURCE ITERATIONS")?
        .parse()?;
    let cfg = Config::load(None)?;
    let store = Store::connect(&cfg.redis).await?;
    let locks = Locks::with_options(
        store.clone(),
        LockOptions {
            ttl: Duration::from_secs(5),
            retry_max: Duration::from_millis(50),
            holder: format!("daa-lock-holder-{}", std::process::id()),
            ..LockOptions::default()
        },
    );
    let counter = store.keys().lock_data(&resource, "counter");
    for _ in 0..iterations {
        let guard = locks.acquire(&resource, Duration::from_secs(60)).await?;
        let mut c = store.conn().await?;
        let n: Option<u64> = c.get(&counter).await?;
        // Give another holder, if the lock let one in, the chance to interleave.
        tokio::task::yield_now().await;
        guard
            .fenced_write(&counter, (n.unwrap_or(0) + 1).to_string().as_bytes(), None)
            .await
            .context("fenced increment refused")?;
        guard.release().await?;
    }
    println!("done {iterations}");
    Ok(())
}
