//! `daa bench pdf DIR`: the pdf agent against `pdftotext` on the same files, in the
//! same run. For each PDF of DIR and in total: pages, pages/s of the agent (in this
//! process, one thread), pages/s of `pdftotext` (one process per file, output to a
//! temporary file, as people run it), their ratio, and the page-by-page similarity of
//! the agent's text to pdftotext's (1 − CER after whitespace normalisation).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use daa_pdf::bench_support::{pdf_files, run_agent, run_pdftotext, similarity};

/// Arguments of `daa bench pdf`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Directory of PDF files.
    dir: PathBuf,
    /// Runs per file for both extractors; times are summed over the runs.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
}

fn rate(pages: usize, t: Duration) -> f64 {
    if t.is_zero() {
        0.0
    } else {
        pages as f64 / t.as_secs_f64()
    }
}

pub(crate) async fn run(_cfg: &daa_shared::config::Config, args: Args) -> anyhow::Result<i32> {
    let files = pdf_files(&args.dir).with_context(|| format!("reading {}", args.dir.display()))?;
    if files.is_empty() {
        anyhow::bail!("no .pdf files in {}", args.dir.display());
    }
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let repeat = args.repeat.max(1);
    println!(
        "{:<34} {:>6} {:>12} {:>14} {:>7} {:>10}",
        "file", "pages", "agent p/s", "pdftotext p/s", "ratio", "similarity"
    );
    let (mut pages_total, mut ref_pages_total) = (0usize, 0usize);
    let (mut agent_total, mut ref_total) = (Duration::ZERO, Duration::ZERO);
    let mut sims: Vec<f64> = Vec::new();
    let mut failures = 0;
    for file in &files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let mut agent_time = Duration::ZERO;
        let mut run = None;
        for _ in 0..repeat {
            let r = run_agent(&bytes);
            agent_time += r.elapsed;
            run = Some(r);
        }
        let Some(run) = run else { continue };
        let mut ref_time = Duration::ZERO;
        let mut reference = None;
        for _ in 0..repeat {
            match run_pdftotext(file, tmp.path()) {
                Some(r) => {
                    ref_time += r.elapsed;
                    reference = Some(r);
                }
                None => {
                    reference = None;
                    break;
                }
            }
        }
        if let Some(e) = &run.error {
            failures += 1;
            println!("{name:<34} agent failed: {e}");
            continue;
        }
        let pages = run.pages.len();
        let agent_rate = rate(pages * repeat as usize, agent_time);
        pages_total += pages * repeat as usize;
        agent_total += agent_time;
        match reference {
            Some(r) => {
                let ref_rate = rate(r.pages.len() * repeat as usize, ref_time);
                ref_pages_total += r.pages.len() * repeat as usize;
                ref_total += ref_time;
                let sim = similarity(&run.pages, &r.pages);
                sims.push(sim);
                println!(
                    "{name:<34} {pages:>6} {agent_rate:>12.1} {ref_rate:>14.1} {:>6.2}x {sim:>10.4}",
                    if ref_rate > 0.0 { agent_rate / ref_rate } else { 0.0 }
                );
            }
            None => println!(
                "{name:<34} {pages:>6} {agent_rate:>12.1} {:>14} {:>7} {:>10}",
                "failed", "-", "-"
            ),
        }
    }
    let agent_rate = rate(pages_total, agent_total);
    let ref_rate = rate(ref_pages_total, ref_total);
    let avg = if sims.is_empty() {
        0.0
    } else {
        sims.iter().sum::<f64>() / sims.len() as f64
    };
    let min = sims.iter().copied().fold(f64::NAN, f64::min);
    println!(
        "{:<34} {:>6} {agent_rate:>12.1} {ref_rate:>14.1} {:>6.2}x {avg:>10.4}",
        "TOTAL",
        pages_total / repeat as usize,
        if ref_rate > 0.0 {
            agent_rate / ref_rate
        } else {
            0.0
        }
    );
    println!(
        "similarity: average {avg:.4}, lowest {min:.4} over {} files (goal: >= 0.97 average, >= 0.90 each); agent/pdftotext pages/s: {:.2}x (goal: >= 1.0x)",
        sims.len(),
        if ref_rate > 0.0 { agent_rate / ref_rate } else { 0.0 }
    );
    Ok(if failures > 0 { 1 } else { 0 })
}
