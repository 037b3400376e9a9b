//! `daa bench`: measured figures, each printed beside its reference.

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
    }
}
