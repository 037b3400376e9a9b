//! `daa result JOB`: a job's result document, read from Redis.

use anyhow::Context as _;
use daa_shared::codec::Encoding;
use daa_shared::config::Config;
use daa_shared::model::ResultDocument;
use daa_shared::store::Store;

use crate::output;

/// Arguments of `daa result`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Job id.
    job_id: String,
    /// Print the document as JSON (default: a summary).
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(cfg: &Config, args: Args) -> anyhow::Result<i32> {
    let store = Store::connect(&cfg.redis)
        .await
        .context("cannot read the result")?;
    let Some(blob) = store.result(&args.job_id).await? else {
        match store.job_state(&args.job_id).await? {
            Some(s) => eprintln!("job {} has no result yet ({})", args.job_id, s.status),
            None => eprintln!("no job {} (unknown, or its result expired)", args.job_id),
        }
        return Ok(1);
    };
    let doc: ResultDocument = Encoding::MsgPack.decode(&blob)?;
    output::print(&doc, args.json)?;
    Ok(output::exit_code([&doc]))
}
