//! `daa bench web DIR`: extraction speed on the HTML files of a directory and, where
//! Python's `trafilatura` is installed, how close our main content is to its.
//!
//! Similarity is the **token F1**: both texts are cut into lowercase word tokens
//! (maximal runs of Unicode letters and digits; punctuation, table bars and list bullets
//! do not count) and compared as multisets. Precision is the share of our tokens that
//! trafilatura has too, recall the share of trafilatura's tokens that we have, F1 their
//! harmonic mean. It rewards getting the same words and ignores layout differences
//! (where a line breaks, how a table row is drawn); a boilerplate block we keep and it
//! drops costs precision, content we drop costs recall.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::config::WebConfig;
use crate::extract::{extract, PageContext};

/// Precision, recall and F1 of one text against a reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overlap {
    /// Share of our tokens found in the reference.
    pub precision: f64,
    /// Share of the reference's tokens found in ours.
    pub recall: f64,
    /// Harmonic mean of the two.
    pub f1: f64,
}

/// Lowercase word tokens: maximal runs of alphanumeric characters.
pub fn tokens(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Token F1 of `ours` against `reference` (multiset overlap of [`tokens`]).
pub fn token_f1(ours: &str, reference: &str) -> Overlap {
    let a = tokens(ours);
    let b = tokens(reference);
    if a.is_empty() && b.is_empty() {
        return Overlap {
            precision: 1.0,
            recall: 1.0,
            f1: 1.0,
        };
    }
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for t in &b {
        *counts.entry(t).or_default() += 1;
    }
    let mut common = 0usize;
    for t in &a {
        if let Some(c) = counts.get_mut(t.as_str()) {
            if *c > 0 {
                *c -= 1;
                common += 1;
            }
        }
    }
    let precision = if a.is_empty() {
        0.0
    } else {
        common as f64 / a.len() as f64
    };
    let recall = if b.is_empty() {
        0.0
    } else {
        common as f64 / b.len() as f64
    };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    Overlap {
        precision,
        recall,
        f1,
    }
}

/// The `*.html` / `*.htm` files of `dir`, sorted by name.
pub fn html_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm")
                })
        })
        .collect();
    files.sort();
    Ok(files)
}

/// How trafilatura is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrafilaturaMode {
    /// `trafilatura.extract(html)`.
    #[default]
    Default,
    /// `favor_precision=True`.
    Precision,
    /// `favor_recall=True`.
    Recall,
}

impl TrafilaturaMode {
    fn kwargs(self) -> &'static str {
        match self {
            TrafilaturaMode::Default => "",
            TrafilaturaMode::Precision => ", favor_precision=True",
            TrafilaturaMode::Recall => ", favor_recall=True",
        }
    }
}

/// The installed trafilatura's version, when `python3 -c 'import trafilatura'` works.
pub fn trafilatura_version() -> Option<String> {
    let out = Command::new("python3")
        .args(["-c", "import trafilatura; print(trafilatura.__version__)"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// trafilatura's main text of each file (one Python process for all of them).
pub fn trafilatura_texts(files: &[PathBuf], mode: TrafilaturaMode) -> Result<Vec<String>, String> {
    let script = format!(
        "import sys, json, trafilatura\n\
         out = []\n\
         for p in sys.argv[1:]:\n\
         \x20   with open(p, 'rb') as f:\n\
         \x20       out.append(trafilatura.extract(f.read(){}) or '')\n\
         json.dump(out, sys.stdout)\n",
        mode.kwargs()
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(files)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "trafilatura failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let texts: Vec<String> = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("unexpected output from the trafilatura script: {e}"))?;
    if texts.len() != files.len() {
        return Err("trafilatura returned a different number of texts".into());
    }
    Ok(texts)
}

/// Options of [`run`].
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Directory of HTML files.
    pub dir: PathBuf,
    /// Times every file is extracted for the speed figure.
    pub rounds: usize,
    /// Compare with trafilatura when it is installed.
    pub compare: bool,
    /// How trafilatura is asked.
    pub mode: TrafilaturaMode,
    /// Extraction limits (`[agents.web]`).
    pub config: WebConfig,
}

/// Figures of one run.
#[derive(Debug, Clone, Default)]
pub struct BenchReport {
    /// Pages extracted per second (all rounds).
    pub pages_per_s: f64,
    /// Input megabytes per second.
    pub mb_per_s: f64,
    /// Per file: name, our text, F1 against trafilatura (when compared).
    pub pages: Vec<(String, usize, Option<Overlap>)>,
    /// Mean F1, when compared.
    pub mean_f1: Option<f64>,
}

/// Run the benchmark, printing a report to `out`.
pub fn run(opts: &BenchOptions, out: &mut dyn Write) -> Result<BenchReport, String> {
    let files = html_files(&opts.dir)?;
    if files.is_empty() {
        return Err(format!("no .html files in {}", opts.dir.display()));
    }
    let cfg = &opts.config;
    let docs: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).map_err(|e| format!("cannot read {}: {e}", f.display())))
        .collect::<Result<_, _>>()?;
    let total_bytes: usize = docs.iter().map(Vec::len).sum();
    let io = |e: std::io::Error| e.to_string();
    writeln!(
        out,
        "daa bench web: {} HTML files ({:.1} KiB) in {}, {} rounds",
        files.len(),
        total_bytes as f64 / 1024.0,
        opts.dir.display(),
        opts.rounds.max(1)
    )
    .map_err(io)?;

    // Speed: every file, `rounds` times, on this thread.
    let mut texts: Vec<String> = Vec::new();
    let mut per_file_ms = vec![0f64; files.len()];
    let started = Instant::now();
    for round in 0..opts.rounds.max(1) {
        for (i, d) in docs.iter().enumerate() {
            let t = Instant::now();
            let ex = extract(d, &PageContext::default(), cfg, None)
                .map_err(|e| format!("{}: {e}", files[i].display()))?;
            per_file_ms[i] += t.elapsed().as_secs_f64() * 1000.0;
            if round == 0 {
                texts.push(ex.text);
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let pages = (files.len() * opts.rounds.max(1)) as f64;
    let mut report = BenchReport {
        pages_per_s: pages / secs,
        mb_per_s: (total_bytes * opts.rounds.max(1)) as f64 / secs / 1e6,
        ..BenchReport::default()
    };
    writeln!(
        out,
        "extraction: {:.1} pages/s, {:.2} MB/s (decode + parse + main content + tables + metadata, 1 thread)",
        report.pages_per_s, report.mb_per_s
    )
    .map_err(io)?;

    let version = if opts.compare {
        trafilatura_version()
    } else {
        None
    };
    let reference = match &version {
        Some(_) => Some(trafilatura_texts(&files, opts.mode)?),
        None => None,
    };
    match &version {
        Some(v) => writeln!(
            out,
            "similarity to trafilatura {v} ({:?} mode): token F1 over lowercase word tokens \
             (P = share of our tokens also in trafilatura's, R = share of trafilatura's in ours)",
            opts.mode
        ),
        None => writeln!(
            out,
            "similarity: skipped (python3 -c 'import trafilatura' does not work here{})",
            if opts.compare {
                ""
            } else {
                "; or --no-compare"
            }
        ),
    }
    .map_err(io)?;
    writeln!(
        out,
        "{:<44} {:>8} {:>8} {:>8} {:>6} {:>6} {:>6}",
        "page", "ms/page", "ours", "traf", "P", "R", "F1"
    )
    .map_err(io)?;
    let mut f1s = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ours = tokens(&texts[i]).len();
        let ms = per_file_ms[i] / opts.rounds.max(1) as f64;
        let overlap = reference.as_ref().map(|r| token_f1(&texts[i], &r[i]));
        match (&reference, overlap) {
            (Some(r), Some(o)) => {
                f1s.push(o.f1);
                writeln!(
                    out,
                    "{:<44} {:>8.2} {:>8} {:>8} {:>6.3} {:>6.3} {:>6.3}",
                    name,
                    ms,
                    ours,
                    tokens(&r[i]).len(),
                    o.precision,
                    o.recall,
                    o.f1
                )
            }
            _ => writeln!(out, "{name:<44} {ms:>8.2} {ours:>8}"),
        }
        .map_err(io)?;
        report.pages.push((name, ours, overlap));
    }
    if !f1s.is_empty() {
        let mean = f1s.iter().sum::<f64>() / f1s.len() as f64;
        report.mean_f1 = Some(mean);
        writeln!(
            out,
            "average token F1: {mean:.3} (goal >= 0.90: {})",
            if mean >= 0.9 { "met" } else { "NOT met" }
        )
        .map_err(io)?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_f1_is_a_multiset_overlap() {
        let o = token_f1("The cat, the hat.", "the CAT | the mat");
        assert_eq!(
            tokens("The cat, the hat."),
            vec!["the", "cat", "the", "hat"]
        );
        assert!((o.precision - 0.75).abs() < 1e-9);
        assert!((o.recall - 0.75).abs() < 1e-9);
        assert!((o.f1 - 0.75).abs() < 1e-9);
        assert_eq!(token_f1("", "").f1, 1.0);
        assert_eq!(token_f1("a", "").f1, 0.0);
        assert_eq!(token_f1("- a | b", "a b").f1, 1.0);
    }
}
