//! `daa submit FILE...`: publish jobs to NATS; with `--wait`, print their results.

use std::time::Duration;

use anyhow::Context as _;
use daa_shared::codec::Encoding;
use daa_shared::config::Config;
use daa_shared::model::{Job, Priority, ResultDocument, Source};
use daa_shared::subjects::{DOCUMENTS_BUCKET, MSG_ID_HEADER};
use futures::StreamExt;
use sha2::Digest;

use crate::output;

/// Arguments of `daa submit`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Files (or http/https URLs) to submit.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// Wait for the results and print them in the order given.
    #[arg(long)]
    wait: bool,
    /// Print results as JSON lines (with --wait) or job ids as JSON.
    #[arg(long)]
    json: bool,
    /// Task priority.
    #[arg(long, default_value = "normal")]
    priority: Priority,
    /// Outputs wanted: text,tables,classify,entities,embeddings.
    #[arg(long)]
    require: Option<String>,
    /// Job deadline in milliseconds (default: the configured jobs.default_deadline_ms).
    #[arg(long)]
    deadline_ms: Option<u64>,
    /// Job id (only with a single input); also the idempotency key.
    #[arg(long)]
    job_id: Option<String>,
}

pub(crate) async fn run(cfg: &Config, args: Args) -> anyhow::Result<i32> {
    if args.job_id.is_some() && args.inputs.len() != 1 {
        anyhow::bail!("--job-id needs exactly one input");
    }
    let requirements = super::parse_requirements(args.require.as_deref())?;
    let client = daa_shared::nats::connect(&cfg.nats, "daa-cli")
        .await
        .context("cannot submit")?;
    let js = async_nats::jetstream::new(client.clone());
    let subjects = cfg.subjects();
    let inbox = client.new_inbox();
    let mut replies = if args.wait {
        Some(client.subscribe(format!("{inbox}.*")).await?)
    } else {
        None
    };
    let mut ids = Vec::new();
    for (i, input) in args.inputs.iter().enumerate() {
        let source = source_for(cfg, &js, input).await?;
        let job_id = args
            .job_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let job = Job {
            v: daa_shared::model::SCHEMA_VERSION,
            job_id: Some(job_id.clone()),
            source,
            requirements,
            priority: args.priority,
            deadline_ms: args.deadline_ms,
            reply_to: args.wait.then(|| format!("{inbox}.{i}")),
        };
        let mut headers = Encoding::MsgPack.headers();
        headers.insert(MSG_ID_HEADER, job_id.as_str());
        js.publish_with_headers(subjects.jobs_submit(), headers, Encoding::MsgPack.encode(&job)?.into())
            .await
            .context("publishing the job")?
            .await
            .context("JetStream did not store the job (is the coordinator's stream set up? start daa-coordinator once)")?;
        ids.push(job_id);
    }
    let Some(replies) = replies.as_mut() else {
        for id in &ids {
            if args.json {
                println!("{}", serde_json::json!({ "job_id": id }));
            } else {
                println!("{id}");
            }
        }
        return Ok(0);
    };
    let wait =
        Duration::from_millis(args.deadline_ms.unwrap_or(cfg.jobs.default_deadline_ms) + 30_000);
    let mut docs: Vec<Option<ResultDocument>> = vec![None; ids.len()];
    let mut left = ids.len();
    let deadline = tokio::time::Instant::now() + wait;
    while left > 0 {
        let msg = tokio::time::timeout_at(deadline, replies.next())
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "no result within {} s; see `daa status <job>`",
                    wait.as_secs()
                )
            })?
            .ok_or_else(|| anyhow::anyhow!("connection closed while waiting"))?;
        let Some(i) = msg
            .subject
            .rsplit('.')
            .next()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            continue;
        };
        if i < docs.len() && docs[i].is_none() {
            let doc =
                daa_shared::claim::reply_document(&js, msg.headers.as_ref(), &msg.payload).await?;
            docs[i] = Some(doc);
            left -= 1;
        }
    }
    let docs: Vec<ResultDocument> = docs.into_iter().flatten().collect();
    for d in &docs {
        output::print(d, args.json)?;
    }
    Ok(output::exit_code(&docs))
}

/// Inline below the limit; above it, the Object Store (claim check, key = sha256).
pub(crate) async fn source_for(
    cfg: &Config,
    js: &async_nats::jetstream::Context,
    input: &str,
) -> anyhow::Result<Source> {
    let source = super::process::source_of(input)?;
    let Source::Inline { name, data } = source else {
        return Ok(source);
    };
    // Inline only what the server accepts in one message.
    let limit = cfg
        .nats
        .inline_limit_bytes
        .min(daa_shared::claim::inline_limit(&js.client()));
    if data.len() <= limit {
        return Ok(Source::Inline { name, data });
    }
    let key = hex::encode(sha2::Sha256::digest(&data.0));
    daa_shared::claim::put_object(js, &js.client(), DOCUMENTS_BUCKET, &key, &data.0)
        .await
        .with_context(|| format!("uploading {input} to the object store (start daa-coordinator once to create the bucket)"))?;
    Ok(Source::Object {
        bucket: DOCUMENTS_BUCKET.into(),
        key,
        name,
    })
}
