//! `daa status JOB`: a job's state, read from Redis.

use anyhow::Context as _;
use daa_shared::config::Config;
use daa_shared::store::Store;

/// Arguments of `daa status`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Job id.
    job_id: String,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(cfg: &Config, args: Args) -> anyhow::Result<i32> {
    let store = Store::connect(&cfg.redis)
        .await
        .context("cannot read job state")?;
    let Some(state) = store.job_state(&args.job_id).await? else {
        eprintln!("no job {} (unknown, or its result expired)", args.job_id);
        return Ok(1);
    };
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "job_id": args.job_id,
                "status": state.status,
                "stage": state.stage,
                "stage_index": state.stage_index,
                "updated_ms": state.updated_ms,
                "error": state.error,
            })
        );
    } else {
        let stage = state
            .stage
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-".into());
        println!("{} {} stage={stage}", args.job_id, state.status);
        if let Some(e) = state.error {
            println!("  {e}");
        }
    }
    Ok(0)
}
