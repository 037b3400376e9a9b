//! Configuration of the image agent (`[agents.image]`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What the image agent does and accepts. Unknown keys are errors; missing keys take the
/// defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImageConfig {
    /// Tesseract languages, `+`-separated as on tesseract's command line (default
    /// `"eng"`). Each needs its `<lang>.traineddata` in the tessdata directory.
    pub languages: String,
    /// Tesseract page segmentation mode, 0..=13 (default 3: fully automatic page
    /// segmentation, as the `tesseract` command does).
    pub psm: u32,
    /// Directory holding the `.traineddata` files. Default: `$TESSDATA_PREFIX`, else the
    /// first of `/usr/share/tesseract-ocr/5/tessdata`, `/usr/share/tesseract-ocr/4.00/tessdata`,
    /// `/usr/share/tessdata`, `/usr/local/share/tessdata` that exists.
    pub tessdata: Option<PathBuf>,
    /// Resolution (dots per inch) to tell tesseract when the image does not declare a
    /// credible one (PNG `pHYs`, JPEG JFIF or EXIF, TIFF `XResolution`, BMP header;
    /// credible: 70..=2400). Default `None`: tesseract estimates it from the size of the
    /// text, as the `tesseract` command does.
    pub default_dpi: Option<u32>,
    /// Largest page accepted, in pixels (width × height, default 100 000 000). Checked
    /// from the header before anything is decoded: a larger image fails permanently (a
    /// pixel bomb). At most 2 000 000 000.
    pub max_pixels: u64,
    /// Largest input accepted, in bytes (default 256 MiB).
    pub max_bytes: usize,
    /// Most pages read from a multi-page TIFF (default 1 000); the document fails beyond.
    pub max_pages: usize,
    /// Median text-line height, in pixels, below which a page is upscaled before
    /// recognition, so that its lines become twice this tall (default 10; 0 disables).
    /// Measured on 150 dpi pages: lines of 10-point text are 14-25 pixels tall there and
    /// read as well unscaled, while upscaling doubles the time or more; below about 10
    /// pixels tesseract's accuracy collapses and upscaling pays.
    pub min_text_height: u32,
    /// Largest upscaling factor for small text (default 4.0); the upscaled page must still
    /// fit `max_pixels`.
    pub max_upscale: f32,
    /// Convert colour images to 8-bit grayscale before OCR (default true): a third of
    /// the pixels to hand over, and tesseract recognises on gray anyway. Alpha is
    /// composited onto white.
    pub grayscale: bool,
    /// Mean word confidence (0..=1) below which a page is flagged for the quality agent
    /// in `metadata.low_confidence_pages` and a warning (default 0.6).
    pub low_confidence: f32,
    /// Most words per page listed in `metadata.words` (default 5 000); the page's
    /// `truncated` says when words were left out.
    pub max_words_per_page: usize,
}

impl Default for ImageConfig {
    fn default() -> Self {
        Self {
            languages: "eng".to_owned(),
            psm: 3,
            tessdata: None,
            default_dpi: None,
            max_pixels: 100_000_000,
            max_bytes: 256 * 1024 * 1024,
            max_pages: 1_000,
            min_text_height: 10,
            max_upscale: 4.0,
            grayscale: true,
            low_confidence: 0.6,
            max_words_per_page: 5_000,
        }
    }
}

/// Largest `max_pixels` accepted: tesseract takes image sizes as C `int`s.
pub(crate) const MAX_PIXELS_CEILING: u64 = 2_000_000_000;

impl ImageConfig {
    /// Checks the values (not the files): a message naming the bad key.
    pub fn validate(&self) -> Result<(), String> {
        if self.languages.trim().is_empty() {
            return Err("[agents.image] languages: empty".into());
        }
        if self.psm > 13 {
            return Err(format!("[agents.image] psm: {} is not in 0..=13", self.psm));
        }
        if self.max_pixels == 0 || self.max_pixels > MAX_PIXELS_CEILING {
            return Err(format!(
                "[agents.image] max_pixels: {} is not in 1..={MAX_PIXELS_CEILING}",
                self.max_pixels
            ));
        }
        if !(1.0..=16.0).contains(&self.max_upscale) {
            return Err(format!(
                "[agents.image] max_upscale: {} is not in 1..=16",
                self.max_upscale
            ));
        }
        if !(0.0..=1.0).contains(&self.low_confidence) {
            return Err(format!(
                "[agents.image] low_confidence: {} is not in 0..=1",
                self.low_confidence
            ));
        }
        if let Some(d) = self.default_dpi {
            if !(70..=2400).contains(&d) {
                return Err(format!(
                    "[agents.image] default_dpi: {d} is not in 70..=2400"
                ));
            }
        }
        Ok(())
    }

    /// The tessdata directory to use (see [`ImageConfig::tessdata`]).
    pub fn tessdata_dir(&self) -> Option<PathBuf> {
        if let Some(d) = &self.tessdata {
            return Some(d.clone());
        }
        if let Some(p) = std::env::var_os("TESSDATA_PREFIX") {
            let p = PathBuf::from(p);
            // Tesseract accepts both the directory itself and its parent.
            if p.join("tessdata").is_dir() && !has_traineddata(&p) {
                return Some(p.join("tessdata"));
            }
            return Some(p);
        }
        [
            "/usr/share/tesseract-ocr/5/tessdata",
            "/usr/share/tesseract-ocr/4.00/tessdata",
            "/usr/share/tessdata",
            "/usr/local/share/tessdata",
        ]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_dir())
    }

    /// The configured languages, one by one.
    pub fn language_list(&self) -> Vec<&str> {
        self.languages
            .split('+')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    }
}

fn has_traineddata(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.filter_map(Result::ok)
            .any(|e| e.path().extension().is_some_and(|x| x == "traineddata"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_missing_keys_and_unknown_keys_fail() {
        let c: ImageConfig = serde_json::from_str(r#"{"psm": 6}"#).unwrap();
        assert_eq!(c.psm, 6);
        assert_eq!(c.languages, "eng");
        assert!(c.validate().is_ok());
        let err = serde_json::from_str::<ImageConfig>(r#"{"langs": "eng"}"#).unwrap_err();
        assert!(err.to_string().contains("langs"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let c = ImageConfig {
            psm: 14,
            ..ImageConfig::default()
        };
        assert!(c.validate().unwrap_err().contains("psm"));
        let c = ImageConfig {
            max_pixels: u64::MAX,
            ..ImageConfig::default()
        };
        assert!(c.validate().unwrap_err().contains("max_pixels"));
        let c = ImageConfig {
            languages: "eng+deu".into(),
            ..ImageConfig::default()
        };
        assert_eq!(c.language_list(), ["eng", "deu"]);
    }
}
