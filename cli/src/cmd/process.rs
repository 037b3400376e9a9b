//! `daa process FILE|URL...`: run the pipeline in-process, no services needed.

use std::path::Path;

use daa_shared::config::Config;
use daa_shared::model::{Bytes, Source};

use crate::local::LocalPipeline;
use crate::output;

/// Arguments of `daa process`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Files (or http/https URLs) to process, in order.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// Print each result document as one JSON line, in the order given.
    #[arg(long)]
    json: bool,
    /// Outputs wanted: text,tables,classify,entities,embeddings (default: text,tables).
    #[arg(long)]
    require: Option<String>,
}

/// A CLI argument as a job source: URL or file read into memory.
pub(crate) fn source_of(input: &str) -> anyhow::Result<Source> {
    if input.starts_with("http://") || input.starts_with("https://") {
        return Ok(Source::Url(input.to_owned()));
    }
    let data = std::fs::read(input).map_err(|e| anyhow::anyhow!("cannot read {input}: {e}"))?;
    let name = Path::new(input)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| input.to_owned());
    Ok(Source::Inline {
        name,
        data: Bytes(data),
    })
}

pub(crate) async fn run(cfg: &Config, args: Args) -> anyhow::Result<i32> {
    let requirements = super::parse_requirements(args.require.as_deref())?;
    let pipeline = LocalPipeline::new(cfg)?;
    let mut docs = Vec::new();
    for input in &args.inputs {
        let source = source_of(input)?;
        let doc = tokio::task::block_in_place(|| pipeline.process(source, requirements));
        output::print(&doc, args.json)?;
        docs.push(doc);
    }
    Ok(output::exit_code(&docs))
}
