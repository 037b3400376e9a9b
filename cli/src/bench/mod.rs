//! `daa bench`: measured figures, each printed beside its reference.

mod chaos;
mod embed;
mod fleet;
mod ocr;
mod ocr_fleet;
mod pdf;
mod pdf_fleet;
mod web;

use daa_shared::config::Config;

/// Arguments of `daa bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Jobs/s and end-to-end latency of small 3-stage structured jobs through the fleet.
    Fleet(fleet::Args),
    /// Embedding throughput (sentences/s, tokens/s) per thread count and batch size.
    Embed(embed::Args),
    /// OCR pages/s with 1 and N engines vs the tesseract CLI, with both CERs.
    Ocr(ocr::Args),
    /// Page images through the fleet with 1 and 2 image workers vs the tesseract CLI.
    OcrFleet(ocr_fleet::Args),
    /// PDF agent vs pdftotext on the same files: pages/s and text similarity.
    Pdf(pdf::Args),
    /// One large PDF through the fleet with 1 and 2 pdf workers: the split's speed-up.
    PdfFleet(pdf_fleet::Args),
    /// Pages/s of HTML extraction and similarity of the main content to trafilatura's.
    Web(web::Args),
    /// Mixed jobs while workers are SIGKILLed and NATS and Redis restart: every job ends
    /// exactly once, none lost (private servers and fleet; see tests/tests/chaos.rs).
    Chaos(chaos::Args),
}

pub(crate) async fn run(cfg: &Config, args: Args) -> anyhow::Result<i32> {
    match args.what {
        What::Fleet(a) => fleet::run(cfg, a).await,
        What::Web(a) => web::run(cfg, a).await,
        What::Pdf(a) => pdf::run(cfg, a).await,
        What::Embed(a) => embed::run(cfg, a).await,
        What::Ocr(a) => ocr::run(cfg, a).await,
        What::OcrFleet(a) => ocr_fleet::run(cfg, a).await,
        What::PdfFleet(a) => pdf_fleet::run(cfg, a).await,
        What::Chaos(a) => chaos::run(cfg, a).await,
    }
}

/// Submit the file `input` (inline, or through the Object Store when large) as a job
/// with default requirements whose result goes to `reply_to`; waits for the PubAck.
pub(crate) async fn submit_file(
    cfg: &Config,
    js: &async_nats::jetstream::Context,
    input: &str,
    reply_to: String,
) -> anyhow::Result<()> {
    let source = crate::cmd::submit::source_for(cfg, js, input).await?;
    submit_source(cfg, js, source, reply_to).await
}

/// Submit a job for `source` (a document already inline or in the Object Store) with
/// default requirements whose result goes to `reply_to`; waits for the PubAck.
pub(crate) async fn submit_source(
    cfg: &Config,
    js: &async_nats::jetstream::Context,
    source: daa_shared::model::Source,
    reply_to: String,
) -> anyhow::Result<()> {
    use daa_shared::codec::Encoding;
    let job_id = uuid::Uuid::now_v7().to_string();
    let job = daa_shared::model::Job {
        v: daa_shared::model::SCHEMA_VERSION,
        job_id: Some(job_id.clone()),
        source,
        requirements: Default::default(),
        priority: Default::default(),
        deadline_ms: Some(600_000),
        reply_to: Some(reply_to),
    };
    let mut headers = Encoding::MsgPack.headers();
    headers.insert(daa_shared::subjects::MSG_ID_HEADER, job_id.as_str());
    js.publish_with_headers(
        cfg.subjects().jobs_submit(),
        headers,
        Encoding::MsgPack.encode(&job)?.into(),
    )
    .await?
    .await?;
    Ok(())
}
