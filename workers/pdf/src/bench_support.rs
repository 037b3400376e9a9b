//! Helpers for `daa bench pdf` and the corpus tests: run the agent and `pdftotext` on
//! a file, time them, compare their texts.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::similarity::{page_similarity, split_pages};
use crate::{Limits, PdfAgent};

/// The PDFs of `dir` (sorted by name).
pub fn pdf_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("pdf")))
        .collect();
    v.sort();
    Ok(v)
}

/// What the agent produced for one file.
#[derive(Debug, Clone)]
pub struct AgentRun {
    /// Page texts (empty when the extraction failed).
    pub pages: Vec<String>,
    /// Wall time of the extraction, loading included.
    pub elapsed: Duration,
    /// The failure, if any.
    pub error: Option<String>,
}

/// Runs the agent (default limits, no tables) on `bytes` in this thread.
pub fn run_agent(bytes: &[u8]) -> AgentRun {
    let agent = PdfAgent::new(Limits::default());
    let t = Instant::now();
    let res = agent.extract(bytes, None, false, &|| false);
    let elapsed = t.elapsed();
    match res {
        Ok(out) => AgentRun {
            pages: out.pages.into_iter().map(|p| p.text).collect(),
            elapsed,
            error: None,
        },
        Err(e) => AgentRun {
            pages: Vec::new(),
            elapsed,
            error: Some(e.to_string()),
        },
    }
}

/// What `pdftotext` produced for one file.
#[derive(Debug, Clone)]
pub struct PdftotextRun {
    /// Page texts.
    pub pages: Vec<String>,
    /// Wall time of the process (spawn to exit).
    pub elapsed: Duration,
}

/// Runs `pdftotext FILE OUT` (one process, as people run it) with its output in
/// `out_dir`. `None` when pdftotext is missing or fails.
pub fn run_pdftotext(file: &Path, out_dir: &Path) -> Option<PdftotextRun> {
    let out = out_dir.join("out.txt");
    let t = Instant::now();
    let status = std::process::Command::new("pdftotext")
        .arg(file)
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    let elapsed = t.elapsed();
    if !status.success() {
        return None;
    }
    let text = std::fs::read_to_string(&out).ok()?;
    Some(PdftotextRun {
        pages: split_pages(&text),
        elapsed,
    })
}

/// Page-by-page similarity of the agent's pages to reference pages.
pub fn similarity(ours: &[String], reference: &[String]) -> f64 {
    page_similarity(ours, reference)
}

/// The stored reference text next to a corpus PDF (`X.pdftotext.txt`), as pages.
pub fn reference_pages(pdf: &Path) -> Option<Vec<String>> {
    let stem = pdf.file_stem()?.to_str()?;
    let p = pdf.with_file_name(format!("{stem}.pdftotext.txt"));
    let text = std::fs::read_to_string(p).ok()?;
    Some(split_pages(&text))
}

/// Debugging aid: the blocks of page `page` (1-based) in reading order, one per line:
/// `x0 y0 x1 y1 | ex0 ex1 | text`.
#[doc(hidden)]
pub fn debug_blocks(bytes: &[u8], page: u32) -> String {
    crate::extract::debug_blocks(bytes, page)
}

/// How a part of `bytes` (pages `first..=last`) was loaded: `Some((objects loaded,
/// objects of a full load))` when the lazy path applied, `None` when it fell back to a
/// full load. For tests and `daa bench pdf-fleet`'s notes.
pub fn part_load(bytes: &[u8], first: u32, last: u32) -> Option<(usize, usize)> {
    let limits = Limits::default();
    let lazy = crate::load::load_lazy(bytes, &limits, first, last)?;
    let full = crate::load::load(bytes, &limits).ok()?;
    Some((lazy.objects.len(), full.doc.objects.len()))
}

/// The whole extraction of `bytes` after loading the whole file with lopdf, as every
/// run did before whole runs loaded only what their pages read: for tests that check the
/// two loads give the same output, and for timing them side by side.
#[doc(hidden)]
pub fn extract_eager(
    bytes: &[u8],
    tables: bool,
) -> Result<daa_shared::model::StageOutput, daa_shared::model::TaskError> {
    let req = crate::extract::Request {
        limits: &Limits::default(),
        range: None,
        tables,
        cancelled: &|| false,
        past_end_is_empty: false,
        eager: true,
    };
    crate::extract::run(bytes, &req).map(|x| crate::PdfAgent::output(x, true))
}

/// How many pages outside `first..=last` a lazy load of that part counted from their
/// bytes without parsing them (they are loaded as empty dictionaries), or `None` when the
/// lazy path did not apply. For tests.
#[doc(hidden)]
pub fn part_pages_unparsed(bytes: &[u8], first: u32, last: u32) -> Option<usize> {
    let lazy = crate::load::load_lazy(bytes, &Limits::default(), first, last)?;
    Some(
        lazy.objects
            .values()
            .filter(|o| matches!(o, lopdf::Object::Dictionary(d) if d.is_empty()))
            .count(),
    )
}

/// Loads `bytes` as a part (`Some((first, last))`) or for a whole run (`None`), both
/// lazily as the extraction does, and returns how many objects it holds: for timing the
/// load apart from the extraction.
#[doc(hidden)]
pub fn load_only(bytes: &[u8], range: Option<(u32, u32)>) -> usize {
    let limits = Limits::default();
    let loaded = match range {
        Some((f, l)) => crate::load::load_range(bytes, &limits, f, l),
        None => crate::load::load_range(bytes, &limits, 1, u32::MAX),
    };
    loaded.map_or(0, |l| l.doc.objects.len())
}
