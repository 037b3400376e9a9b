//! Helpers for `daa bench ocr` and the corpus tests: run the agent with N engines and the
//! `tesseract` command on the same images, time them, score them against ground truth.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{ImageAgent, ImageConfig};

/// Extensions of the images the benchmark reads.
const EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "tif", "tiff", "bmp", "webp", "gif"];

/// The images of `dir` (sorted by name).
pub fn image_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    v.sort();
    Ok(v)
}

/// The ground truths of an image: `<stem>.gt.txt` and `<stem>.gt.raw.txt` beside it,
/// those that exist.
pub fn ground_truths(image: &Path) -> Vec<String> {
    let stem = image.with_extension("");
    ["gt.txt", "gt.raw.txt"]
        .iter()
        .filter_map(|ext| std::fs::read_to_string(stem.with_extension(ext)).ok())
        .collect()
}

/// One image's result.
#[derive(Debug, Clone)]
pub struct OcrRun {
    /// Text (empty on failure).
    pub text: String,
    /// Pages recognised.
    pub pages: usize,
    /// Time spent on this image.
    pub elapsed: Duration,
    /// The failure, if any.
    pub error: Option<String>,
}

/// What a run over a set of images gave.
#[derive(Debug, Clone)]
pub struct BatchRun {
    /// Per image, in input order.
    pub runs: Vec<OcrRun>,
    /// Wall time of the whole batch.
    pub wall: Duration,
}

impl BatchRun {
    /// Pages per second of wall time.
    pub fn pages_per_s(&self) -> f64 {
        let pages: usize = self.runs.iter().map(|r| r.pages).sum();
        if self.wall.is_zero() {
            0.0
        } else {
            pages as f64 / self.wall.as_secs_f64()
        }
    }
}

/// Runs `agent` over `images` (bytes) on `engines` threads, each taking the next image
/// when done (each thread holds one engine for the batch); the largest files are handed
/// out first so that one big page does not finish alone at the end. Engines are
/// initialised before the clock starts. Results are in input order.
pub fn run_agent(
    agent: &ImageAgent,
    images: &[Vec<u8>],
    engines: usize,
) -> Result<BatchRun, String> {
    let engines = engines.max(1);
    agent.warm_up(engines)?;
    let mut order: Vec<usize> = (0..images.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(images[i].len()));
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<OcrRun>>> = Mutex::new(vec![None; images.len()]);
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..engines {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = order.get(k) else { break };
                let bytes = &images[i];
                let t = Instant::now();
                let res = agent.ocr(bytes, &|| false);
                let elapsed = t.elapsed();
                let run = match res {
                    Ok(out) => OcrRun {
                        text: out.text.unwrap_or_default(),
                        pages: out.pages.len(),
                        elapsed,
                        error: None,
                    },
                    Err(e) => OcrRun {
                        text: String::new(),
                        pages: 0,
                        elapsed,
                        error: Some(e.to_string()),
                    },
                };
                if let Ok(mut v) = slots.lock() {
                    v[i] = Some(run);
                }
            });
        }
    });
    let wall = t.elapsed();
    let runs = slots
        .into_inner()
        .map_err(|_| "a benchmark thread panicked".to_owned())?
        .into_iter()
        .map(|r| {
            r.unwrap_or(OcrRun {
                text: String::new(),
                pages: 0,
                elapsed: Duration::ZERO,
                error: Some("not run".into()),
            })
        })
        .collect();
    Ok(BatchRun { runs, wall })
}

/// A new agent with `cfg` (convenience for the benchmark).
pub fn agent(cfg: ImageConfig) -> Result<ImageAgent, String> {
    ImageAgent::new(cfg)
}

/// Runs `tesseract FILE -` (one process, as people run it, with `OMP_THREAD_LIMIT=1`)
/// and returns its text; the failure when tesseract is missing or fails.
pub fn run_cli(file: &Path) -> OcrRun {
    let t = Instant::now();
    let out = std::process::Command::new("tesseract")
        .arg(file)
        .arg("-")
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    let elapsed = t.elapsed();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            let pages = text
                .split('\u{c}')
                .filter(|p| !p.trim().is_empty())
                .count()
                .max(1);
            OcrRun {
                text,
                pages,
                elapsed,
                error: None,
            }
        }
        Ok(o) => OcrRun {
            text: String::new(),
            pages: 0,
            elapsed,
            error: Some(format!("tesseract exited with {}", o.status)),
        },
        Err(e) => OcrRun {
            text: String::new(),
            pages: 0,
            elapsed,
            error: Some(format!("cannot run tesseract: {e}")),
        },
    }
}

/// Runs the `tesseract` command on each of `files`, one after another.
pub fn run_cli_batch(files: &[PathBuf]) -> BatchRun {
    let t = Instant::now();
    let runs = files.iter().map(|f| run_cli(f)).collect();
    BatchRun {
        runs,
        wall: t.elapsed(),
    }
}

/// Mean over images of the best CER against their ground truths (images without ground
/// truth or with a failed run are skipped); `None` when no image counts.
pub fn mean_cer(files: &[PathBuf], batch: &BatchRun) -> Option<f64> {
    let cers: Vec<f64> = files
        .iter()
        .zip(&batch.runs)
        .filter(|(_, r)| r.error.is_none())
        .filter_map(|(f, r)| {
            let gts = ground_truths(f);
            (!gts.is_empty()).then(|| crate::cer::best_cer(&r.text, &gts))
        })
        .collect();
    (!cers.is_empty()).then(|| cers.iter().sum::<f64>() / cers.len() as f64)
}
