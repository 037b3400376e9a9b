//! Tesseract engines: initialised once, reused for every page.
//!
//! An [`EnginePool`] keeps idle initialised engines. A task takes one (creating it when
//! none is idle) and gives it back when done, so the pool never holds more engines than
//! tasks ever ran at once: with the runtime's `worker.concurrency` that is one engine per
//! concurrent task, each loaded once for the life of the agent (unlike thread-locals, an
//! engine survives the runtime retiring an idle blocking thread). An engine that fails is
//! dropped rather than returned.

use std::ffi::CString;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use tesseract::plumbing::TessBaseApi;

/// One recognised word.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Word {
    pub(crate) text: String,
    /// Confidence in 0..=1.
    pub(crate) conf: f32,
    pub(crate) x: u32,
    pub(crate) y: u32,
    pub(crate) w: u32,
    pub(crate) h: u32,
}

/// What one recognition pass gave.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recognised {
    pub(crate) text: String,
    pub(crate) words: Vec<Word>,
}

impl Recognised {
    /// Mean word confidence in 0..=1 (0 without words).
    pub(crate) fn mean_confidence(&self) -> f32 {
        if self.words.is_empty() {
            0.0
        } else {
            self.words.iter().map(|w| w.conf).sum::<f32>() / self.words.len() as f32
        }
    }
}

/// An initialised tesseract engine.
pub(crate) struct Engine {
    api: TessBaseApi,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Engine")
    }
}

impl Engine {
    /// Loads `languages` from `tessdata` (this is the slow part: the trained data).
    pub(crate) fn new(tessdata: &str, languages: &str, psm: u32) -> Result<Self, String> {
        let dir = CString::new(tessdata).map_err(|e| format!("tessdata path: {e}"))?;
        let lang = CString::new(languages).map_err(|e| format!("languages: {e}"))?;
        let mut api = TessBaseApi::create();
        api.init_2(Some(&dir), Some(&lang)).map_err(|_| {
            format!("tesseract could not load languages {languages:?} from {tessdata}")
        })?;
        api.set_page_seg_mode(psm);
        // Tesseract's diagnostics ("Estimating resolution as ...") go to stderr by
        // default; they are noise in a worker's log.
        let (k, v) = (c"debug_file", c"/dev/null");
        let _ = api.set_variable(k, v);
        Ok(Self { api })
    }

    /// Recognises one page of `channels` bytes per pixel (1 or 3), rows packed.
    pub(crate) fn recognise(
        &mut self,
        data: &[u8],
        width: u32,
        height: u32,
        channels: u8,
        dpi: Option<u32>,
    ) -> Result<Recognised, String> {
        self.set_page(data, width, height, channels, dpi)?;
        self.recognise_current()
    }

    /// Hands a page to tesseract (without recognising it yet).
    pub(crate) fn set_page(
        &mut self,
        data: &[u8],
        width: u32,
        height: u32,
        channels: u8,
        dpi: Option<u32>,
    ) -> Result<(), String> {
        let w = i32::try_from(width).map_err(|_| "image too wide".to_owned())?;
        let h = i32::try_from(height).map_err(|_| "image too tall".to_owned())?;
        let bpp = i32::from(channels);
        let bpl = w
            .checked_mul(bpp)
            .filter(|bpl| bpl.checked_mul(h).is_some())
            .ok_or_else(|| "image too large for tesseract".to_owned())?;
        self.api
            .set_image(data, w, h, bpp, bpl)
            .map_err(|e| format!("tesseract refused the image: {e:?}"))?;
        if let Some(d) = dpi {
            self.api
                .set_source_resolution(i32::try_from(d).unwrap_or(300));
        }
        Ok(())
    }

    /// Median height in pixels of the text lines tesseract's layout analysis finds on
    /// the current page (no recognition: the analysis is reused by the recognition that
    /// follows). `None` without text lines.
    pub(crate) fn median_line_height(&mut self) -> Option<u32> {
        use tesseract::plumbing::tesseract_sys::TessPageIteratorLevel_RIL_TEXTLINE;
        let boxes = self
            .api
            .get_component_images_1(TessPageIteratorLevel_RIL_TEXTLINE, 1)
            .ok()?;
        let mut h: Vec<u32> = (0..boxes.get_count())
            .filter_map(|i| {
                let b = boxes.get_box_copied(i)?;
                let mut bh = 0;
                b.get_geometry(None, None, None, Some(&mut bh));
                u32::try_from(bh).ok()
            })
            .collect();
        if h.is_empty() {
            return None;
        }
        h.sort_unstable();
        Some(h[h.len() / 2])
    }

    /// Recognises the current page.
    pub(crate) fn recognise_current(&mut self) -> Result<Recognised, String> {
        self.api
            .recognize()
            .map_err(|_| "tesseract failed to recognise the page".to_owned())?;
        let text = self
            .api
            .get_utf8_text()
            .map_err(|_| "tesseract returned no text".to_owned())?
            .as_ref()
            .to_string_lossy()
            .into_owned();
        let tsv = self
            .api
            .get_tsv_text(0)
            .map_err(|_| "tesseract returned no word boxes".to_owned())?
            .as_ref()
            .to_string_lossy()
            .into_owned();
        Ok(Recognised {
            text,
            words: parse_tsv(&tsv),
        })
    }
}

/// The words (level 5 rows) of tesseract's TSV output:
/// `level page block par line word left top width height conf text`.
pub(crate) fn parse_tsv(tsv: &str) -> Vec<Word> {
    let mut out = Vec::new();
    for line in tsv.lines() {
        let f: Vec<&str> = line.splitn(12, '\t').collect();
        if f.len() < 12 || f[0] != "5" {
            continue;
        }
        let text = f[11].trim();
        let conf: f32 = f[10].trim().parse().unwrap_or(-1.0);
        if text.is_empty() || conf < 0.0 {
            continue;
        }
        let num = |s: &str| s.trim().parse::<u32>().unwrap_or(0);
        out.push(Word {
            text: text.to_owned(),
            conf: (conf / 100.0).clamp(0.0, 1.0),
            x: num(f[6]),
            y: num(f[7]),
            w: num(f[8]),
            h: num(f[9]),
        });
    }
    out
}

/// Idle initialised engines (see the module documentation).
#[derive(Debug)]
pub(crate) struct EnginePool {
    tessdata: String,
    languages: String,
    psm: u32,
    idle: Mutex<Vec<Engine>>,
    created: AtomicUsize,
}

impl EnginePool {
    pub(crate) fn new(tessdata: String, languages: String, psm: u32) -> Self {
        Self {
            tessdata,
            languages,
            psm,
            idle: Mutex::new(Vec::new()),
            created: AtomicUsize::new(0),
        }
    }

    /// An idle engine, or a new one.
    pub(crate) fn take(&self) -> Result<Engine, String> {
        let idle = self.idle.lock().map(|mut v| v.pop()).unwrap_or(None);
        match idle {
            Some(e) => Ok(e),
            None => {
                let e = Engine::new(&self.tessdata, &self.languages, self.psm)?;
                self.created.fetch_add(1, Ordering::Relaxed);
                Ok(e)
            }
        }
    }

    /// Gives an engine back for the next task.
    pub(crate) fn put(&self, e: Engine) {
        if let Ok(mut v) = self.idle.lock() {
            v.push(e);
        }
    }

    /// Engines created so far.
    pub(crate) fn created(&self) -> usize {
        self.created.load(Ordering::Relaxed)
    }

    /// Engines idle now.
    pub(crate) fn idle(&self) -> usize {
        self.idle.lock().map(|v| v.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_words_are_parsed() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   1\t1\t0\t0\t0\t0\t0\t0\t100\t50\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t10\t12\t30\t14\t96.5\tHello\n\
                   5\t1\t1\t1\t1\t2\t45\t12\t30\t14\t-1\t \n\
                   5\t1\t1\t1\t1\t3\t80\t12\t30\t16\t50\tworld\n";
        let w = parse_tsv(tsv);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].text, "Hello");
        assert!((w[0].conf - 0.965).abs() < 1e-6);
        assert_eq!((w[1].x, w[1].y, w[1].w, w[1].h), (80, 12, 30, 16));
        let r = Recognised {
            text: String::new(),
            words: w,
        };
        assert!((r.mean_confidence() - 0.7325).abs() < 1e-4);
    }
}
