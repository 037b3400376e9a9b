//! The daa image agent: OCR of raster images with libtesseract.
//!
//! [`ImageAgent`] implements [`daa_worker::Agent`] for the extraction stage of image
//! documents (PNG, JPEG, TIFF — every page of a multi-page TIFF —, BMP, WebP, GIF — the
//! first frame).
//!
//! # Pipeline
//!
//! 1. The format is sniffed from the magic bytes and the dimensions read from the
//!    header; a page above `max_pixels` is refused before any pixel is decoded.
//! 2. The page is decoded (the `image` crate; the `tiff` crate for multi-page TIFFs),
//!    alpha composited onto white, converted to 8-bit gray (`grayscale`).
//! 3. Tesseract is told the declared resolution (PNG `pHYs`, JPEG JFIF/EXIF, TIFF
//!    `XResolution`, BMP header) or `default_dpi`; without either it estimates it from
//!    the text, as the `tesseract` command does.
//! 4. Tesseract's layout analysis runs first; when the median height of the text lines
//!    it finds is below `min_text_height` (or it finds none on a small image), the page
//!    is upscaled (lines to twice `min_text_height`) before recognition. Otherwise the
//!    analysis is reused by the recognition, so the check costs nothing.
//!
//! # Engines and threads
//!
//! Loading the trained data is the expensive part of starting tesseract, so engines are
//! kept in a pool inside the agent: a task takes an idle engine (or creates one), uses it
//! for all of its pages and returns it. The pool therefore holds as many engines as
//! tasks ran at once — `worker.concurrency` under the runtime — each initialised once.
//!
//! Tesseract's OpenMP threads gain little and their spinning wastes the other cores:
//! throughput comes from several single-threaded engines side by side. libgomp reads
//! `OMP_THREAD_LIMIT` when it is loaded, i.e. at process start, so a process using this
//! crate must start with `OMP_THREAD_LIMIT=1`; [`ensure_single_openmp_thread`]
//! re-executes the current program with it when it is missing (the worker binary calls
//! it first thing). Tests and other embedders run correctly without it, only slower.
//!
//! # Output
//!
//! - `pages`: one [`Page`] per image page, `ocr: true`, `confidence`: the mean word
//!   confidence in 0..=1 (0 when no word was recognised).
//! - `text`: the pages' texts joined with a form feed (`\f`).
//! - `language`: the first configured language as an ISO 639-1 code where known (`eng`
//!   → `en`), else tesseract's code. It is the language OCR was run for, not a detection.
//! - `metadata`:
//!   - `page_count`, `image_format`, `ocr_engine` (`"tesseract 5.3.0"`),
//!     `ocr_languages`, `ocr_psm`;
//!   - `image_pages`: `[{page, width, height, dpi, dpi_source, upscale}]` — `dpi` is
//!     what tesseract was told (null: estimated), `dpi_source` one of `png pHYs`,
//!     `jpeg jfif`, `jpeg exif`, `tiff XResolution`, `bmp header`, `default`,
//!     `estimated`; `upscale` the factor of the kept pass (1 when not upscaled);
//!   - `words`: `[{page, truncated, words: [{text, conf, x, y, w, h}]}]`, one entry per
//!     page: every recognised word with its confidence in 0..=1 and its box in pixels
//!     of the original image (left, top, width, height), in reading order, at most
//!     `max_words_per_page` per page (`truncated` says when some were left out);
//!   - `low_confidence_pages`: page numbers whose mean confidence is below
//!     `low_confidence` (each also gets a warning), for the quality agent.
//!
//! # Failures
//!
//! Empty input, unknown magic, an unsupported format, a corrupt or truncated file,
//! dimensions beyond `max_pixels`, too many TIFF pages, a panic inside a decoder: a
//! permanent [`TaskError`] saying why. A tesseract failure is temporary (the engine is
//! dropped and a fresh one is created next time).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use daa_shared::model::{AgentKind, DocKind, Page, Stage, StageOutput, StageTask, TaskError};
use daa_worker::{Agent, Capabilities, TaskContext};
use serde_json::{json, Map, Value};

pub mod bench_support;
pub mod cer;
mod config;
mod decode;
mod dpi;
mod engine;

pub use config::ImageConfig;

use engine::{EnginePool, Recognised};

/// Re-executes the current program with `OMP_THREAD_LIMIT=1` when that variable is not
/// set, so that libtesseract's OpenMP runs one thread per engine (libgomp reads the
/// variable only when it is loaded, at process start: setting it later has no effect).
/// Returns only when the variable was already set (`Ok`) or the re-execution failed
/// (`Err`; the program can go on, slower). Call it first thing in `main`, before threads
/// are started.
pub fn ensure_single_openmp_thread() -> std::io::Result<()> {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("OMP_THREAD_LIMIT").is_some() {
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    let mut args = std::env::args_os();
    let mut cmd = std::process::Command::new(exe);
    if let Some(arg0) = args.next() {
        cmd.arg0(arg0);
    }
    Err(cmd.args(args).env("OMP_THREAD_LIMIT", "1").exec())
}

/// The version of the linked libtesseract.
pub fn tesseract_version() -> String {
    tesseract::plumbing::version()
        .to_string_lossy()
        .into_owned()
}

/// The image agent. Cheap to share (`Arc` inside); engines are pooled (see the crate
/// documentation).
#[derive(Debug, Clone)]
pub struct ImageAgent {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    cfg: ImageConfig,
    pool: EnginePool,
    pages: AtomicU64,
    version: String,
}

impl ImageAgent {
    /// An agent with `cfg`: checks the values, that the tessdata directory holds a
    /// `.traineddata` file for every configured language, and loads a first engine (so
    /// that a bad installation fails here, not on the first task).
    pub fn new(cfg: ImageConfig) -> Result<Self, String> {
        cfg.validate()?;
        let dir = cfg.tessdata_dir().ok_or_else(|| {
            "no tessdata directory found: install tesseract-ocr-eng (Debian) or set \
             [agents.image] tessdata or TESSDATA_PREFIX"
                .to_owned()
        })?;
        if !dir.is_dir() {
            return Err(format!(
                "tessdata directory {} does not exist ([agents.image] tessdata or TESSDATA_PREFIX)",
                dir.display()
            ));
        }
        let missing: Vec<&str> = cfg
            .language_list()
            .into_iter()
            .filter(|l| !dir.join(format!("{l}.traineddata")).is_file())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "no trained data for language(s) {} in {} (install tesseract-ocr-<lang>, \
                 or change [agents.image] languages)",
                missing.join(", "),
                dir.display()
            ));
        }
        let tessdata = dir
            .to_str()
            .ok_or_else(|| format!("tessdata path {} is not UTF-8", dir.display()))?
            .to_owned();
        let pool = EnginePool::new(tessdata, cfg.language_list().join("+"), cfg.psm);
        let first = pool.take()?;
        pool.put(first);
        Ok(Self {
            inner: Arc::new(Inner {
                cfg,
                pool,
                pages: AtomicU64::new(0),
                version: format!("tesseract {}", tesseract_version()),
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &ImageConfig {
        &self.inner.cfg
    }

    /// Makes sure at least `n` engines are initialised and idle (benchmarks use it to
    /// keep loading out of the timings).
    pub fn warm_up(&self, n: usize) -> Result<(), String> {
        let mut taken = Vec::new();
        for _ in 0..n {
            taken.push(self.inner.pool.take()?);
        }
        for e in taken {
            self.inner.pool.put(e);
        }
        Ok(())
    }

    /// Engines created so far.
    pub fn engines(&self) -> usize {
        self.inner.pool.created()
    }

    /// OCR one scanned page of a PDF: the page named by the task's part (the planner
    /// sends one task per page the pdf agent reported as `ocr_pending`). The page keeps
    /// its number in the PDF.
    pub fn ocr_pdf_page(
        &self,
        task: &StageTask,
        pdf: &[u8],
        cancelled: &dyn Fn() -> bool,
    ) -> Result<StageOutput, TaskError> {
        let page = task
            .part
            .and_then(|p| p.first_page)
            .ok_or_else(|| TaskError::permanent("a PDF OCR task must name its page"))?;
        let image =
            daa_pdf::page_image(pdf, page, &daa_pdf::Limits::default())?.ok_or_else(|| {
                TaskError::permanent(format!(
                    "page {page} has no image this agent can decode (JPEG or 8-bit gray/RGB)"
                ))
            })?;
        let encoded = match image {
            daa_pdf::PageImage::Encoded { data, .. } => data,
            daa_pdf::PageImage::Raw {
                width,
                height,
                channels,
                pixels,
            } => {
                let img = match channels {
                    1 => image::GrayImage::from_raw(width, height, pixels)
                        .map(image::DynamicImage::ImageLuma8),
                    _ => image::RgbImage::from_raw(width, height, pixels)
                        .map(image::DynamicImage::ImageRgb8),
                }
                .ok_or_else(|| TaskError::permanent(format!("page {page}: bad pixel data")))?;
                let mut png = std::io::Cursor::new(Vec::new());
                img.write_to(&mut png, image::ImageFormat::Png)
                    .map_err(|e| TaskError::permanent(format!("page {page}: {e}")))?;
                png.into_inner()
            }
        };
        let mut out = self.ocr(&encoded, cancelled)?;
        for p in &mut out.pages {
            p.number = page + p.number.saturating_sub(1);
        }
        // The PDF's own facts (kind, source) stay the pdf agent's.
        out.kind = None;
        out.source = None;
        Ok(out)
    }

    /// OCRs every page of an image (what [`Agent::execute`] does for a task);
    /// `cancelled` is polled between pages.
    pub fn ocr(
        &self,
        bytes: &[u8],
        cancelled: &dyn Fn() -> bool,
    ) -> Result<StageOutput, TaskError> {
        let cfg = &self.inner.cfg;
        let mut engine = Some(
            self.inner
                .pool
                .take()
                .map_err(|e| TaskError::temporary(format!("tesseract engine: {e}")))?,
        );
        let mut pages: Vec<Page> = Vec::new();
        let mut page_info: Vec<Value> = Vec::new();
        let mut words: Vec<Value> = Vec::new();
        let mut low: Vec<u32> = Vec::new();
        let mut warnings: Vec<String> = Vec::new();
        let res = decode::for_each_page(bytes, cfg, &mut |number, raster| {
            if cancelled() {
                return Err(TaskError::temporary("cancelled"));
            }
            let Some(eng) = engine.as_mut() else {
                return Err(TaskError::temporary("tesseract engine lost"));
            };
            let (dpi, dpi_source) = match (raster.dpi, cfg.default_dpi) {
                (Some((d, s)), _) => (Some(d), s),
                (None, Some(d)) => (Some(d), "default"),
                (None, None) => (None, "estimated"),
            };
            let (rec, scale) = match recognise_page(eng, &raster, dpi, cfg) {
                Ok(r) => r,
                Err(e) => {
                    // The engine may be in a bad state: do not give it back.
                    engine = None;
                    return Err(TaskError::temporary(format!(
                        "page {number}: tesseract: {e}"
                    )));
                }
            };
            let conf = rec.mean_confidence();
            if conf < cfg.low_confidence {
                low.push(number);
                warnings.push(if rec.words.is_empty() {
                    format!("page {number}: no text recognised")
                } else {
                    format!(
                        "page {number}: low OCR confidence {conf:.2} (below {:.2})",
                        cfg.low_confidence
                    )
                });
            }
            page_info.push(json!({
                "page": number,
                "width": raster.width,
                "height": raster.height,
                "dpi": dpi,
                "dpi_source": dpi_source,
                "upscale": scale,
            }));
            let total = rec.words.len();
            let list: Vec<Value> = rec
                .words
                .iter()
                .take(cfg.max_words_per_page)
                .map(|w| {
                    let s = |v: u32| (f64::from(v) / f64::from(scale)).round() as u32;
                    json!({
                        "text": w.text,
                        "conf": (f64::from(w.conf) * 1000.0).round() / 1000.0,
                        "x": s(w.x), "y": s(w.y), "w": s(w.w), "h": s(w.h),
                    })
                })
                .collect();
            words.push(json!({
                "page": number,
                "truncated": total > list.len(),
                "words": list,
            }));
            pages.push(Page {
                number,
                text: rec.text.trim_end().to_owned(),
                ocr: true,
                confidence: Some(conf),
            });
            self.inner.pages.fetch_add(1, Ordering::Relaxed);
            Ok(())
        });
        if let Some(e) = engine {
            self.inner.pool.put(e);
        }
        let info = res?;
        let text = Page::joined_text(&pages);
        let mut metadata = Map::new();
        metadata.insert("page_count".into(), json!(pages.len()));
        metadata.insert("image_format".into(), json!(info.format));
        metadata.insert("ocr_engine".into(), json!(self.inner.version));
        metadata.insert("ocr_languages".into(), json!(cfg.languages));
        metadata.insert("ocr_psm".into(), json!(cfg.psm));
        metadata.insert("image_pages".into(), Value::Array(page_info));
        metadata.insert("words".into(), Value::Array(words));
        metadata.insert("low_confidence_pages".into(), json!(low));
        Ok(StageOutput {
            text: Some(text),
            pages,
            metadata,
            language: Some(iso639_1(
                cfg.language_list().first().copied().unwrap_or("eng"),
            )),
            warnings,
            ..StageOutput::default()
        })
    }
}

/// Recognises a page, upscaled first when tesseract's layout analysis finds its text
/// lines smaller than `min_text_height`; returns what was recognised and the scale
/// factor used. The layout analysis is reused when the page is not upscaled, so the
/// check costs nothing on pages of normal text.
fn recognise_page(
    eng: &mut engine::Engine,
    r: &decode::Raster,
    dpi: Option<u32>,
    cfg: &ImageConfig,
) -> Result<(Recognised, f32), String> {
    eng.set_page(&r.data, r.width, r.height, r.channels, dpi)?;
    if cfg.min_text_height == 0 {
        return Ok((eng.recognise_current()?, 1.0));
    }
    let target = UPSCALE_TARGET_FACTOR * cfg.min_text_height as f32;
    let wanted = match eng.median_line_height() {
        Some(h) if h < cfg.min_text_height => target / h.max(1) as f32,
        // Nothing found: worth a second look only on a small image.
        None if r.width.max(r.height) < 1000 => 3.0,
        _ => return Ok((eng.recognise_current()?, 1.0)),
    };
    let room = (cfg.max_pixels as f64 / r.pixels() as f64).sqrt() as f32;
    let factor = wanted.min(cfg.max_upscale).min(room);
    if factor < 1.2 {
        return Ok((eng.recognise_current()?, 1.0));
    }
    let (w, h) = (
        (r.width as f32 * factor).round() as u32,
        (r.height as f32 * factor).round() as u32,
    );
    let up = upscale(r, w, h)?;
    let scale = w as f32 / r.width as f32;
    let rec = eng.recognise(
        &up,
        w,
        h,
        r.channels,
        dpi.map(|d| (d as f32 * scale) as u32),
    )?;
    Ok((rec, scale))
}

/// Text lines are upscaled to this multiple of `min_text_height`.
const UPSCALE_TARGET_FACTOR: f32 = 2.0;

fn upscale(r: &decode::Raster, w: u32, h: u32) -> Result<Vec<u8>, String> {
    use image::imageops::{resize, FilterType};
    let bad = || "pixel buffer does not match the image size".to_owned();
    Ok(if r.channels == 1 {
        let img = image::GrayImage::from_raw(r.width, r.height, r.data.clone()).ok_or_else(bad)?;
        resize(&img, w, h, FilterType::CatmullRom).into_raw()
    } else {
        let img = image::RgbImage::from_raw(r.width, r.height, r.data.clone()).ok_or_else(bad)?;
        resize(&img, w, h, FilterType::CatmullRom).into_raw()
    })
}

/// ISO 639-1 code of a tesseract language code, where there is one.
fn iso639_1(tess: &str) -> String {
    let code = match tess {
        "eng" => "en",
        "deu" => "de",
        "fra" => "fr",
        "spa" => "es",
        "ita" => "it",
        "por" => "pt",
        "nld" => "nl",
        "rus" => "ru",
        "pol" => "pl",
        "swe" => "sv",
        "dan" => "da",
        "nor" => "no",
        "fin" => "fi",
        "ces" => "cs",
        "tur" => "tr",
        "ell" => "el",
        "jpn" => "ja",
        "kor" => "ko",
        "chi_sim" | "chi_tra" => "zh",
        "ara" => "ar",
        "heb" => "he",
        "hin" => "hi",
        "ukr" => "uk",
        other => other,
    };
    code.to_owned()
}

impl Agent for ImageAgent {
    fn kind(&self) -> AgentKind {
        AgentKind::Image
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            stages: vec![Stage::Extraction],
            kinds: vec![DocKind::Image],
        }
    }

    fn execute(&self, task: &StageTask, ctx: &TaskContext) -> Result<StageOutput, TaskError> {
        let doc = ctx.document.as_ref().ok_or_else(|| {
            TaskError::permanent(format!(
                "task {}: no document bytes were given to the image agent \
                 (the task's source could not be resolved to bytes)",
                task.task_id
            ))
        })?;
        let cancel = ctx.cancel.clone();
        let out = if task.input.kind == Some(daa_shared::model::DocKind::Pdf) {
            self.ocr_pdf_page(task, &doc.bytes, &move || cancel.is_cancelled())?
        } else {
            self.ocr(&doc.bytes, &move || cancel.is_cancelled())?
        };
        tracing::debug!(
            task_id = %task.task_id,
            pages = out.pages.len(),
            warnings = out.warnings.len(),
            "image ocr done"
        );
        Ok(out)
    }

    fn metrics(&self) -> Vec<(String, f64)> {
        vec![
            ("ocr_engines".into(), self.inner.pool.created() as f64),
            ("ocr_engines_idle".into(), self.inner.pool.idle() as f64),
            (
                "ocr_pages".into(),
                self.inner.pages.load(Ordering::Relaxed) as f64,
            ),
        ]
    }
}
