//! Input limits of the pdf agent (`[agents.pdf]` in the configuration).

use serde::{Deserialize, Serialize};

/// What the pdf agent accepts and does at most (DESIGN §7: inputs have limits). Unknown
/// keys are errors; missing keys take the defaults. A document beyond a limit fails
/// permanently with the limit's name in the reason, or — for limits met while reading
/// pages — is returned partial: a loss (the job ends `partial`) says what was cut.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest document accepted, in bytes (default 256 MiB).
    pub max_bytes: usize,
    /// Most pages a document may have (default 10 000). The page tree walk stops beyond
    /// it and the document fails.
    pub max_pages: usize,
    /// Most indirect objects a document may hold, object-stream members included
    /// (default 2 000 000).
    pub max_objects: usize,
    /// Deepest nesting of the page tree, of form XObjects inside one another and of the
    /// outline (default 64).
    pub max_depth: usize,
    /// Largest size one stream may decode to, in bytes (default 64 MiB). A larger one is
    /// a decompression bomb: an object stream fails the document, a content stream cuts
    /// its page short (a loss: the job ends `partial`).
    pub max_stream_bytes: usize,
    /// Most bytes all streams of one document (one task) may decode to together
    /// (default 1 GiB). Past it, pages are cut short (a loss).
    pub max_total_decompressed_bytes: u64,
    /// Most content-stream operators run for one page, form XObjects included
    /// (default 10 000 000): bounds the work of forms drawn inside forms.
    pub max_operators_per_page: u64,
    /// Most glyphs recorded for one page (default 1 000 000).
    pub max_glyphs_per_page: usize,
    /// Longest text produced, in bytes (default 64 MiB); later pages are dropped with a
    /// warning.
    pub max_text_bytes: usize,
    /// Most outline (bookmark) entries reported in the metadata (default 10 000).
    pub max_outline_items: usize,
    /// Fraction of a page's area an image must cover for a page without text to count
    /// as scanned (`ocr_pending`), in 0..=1 (default 0.5).
    pub scanned_min_image_coverage: f32,
    /// Largest XMP packet copied into the metadata, in bytes (default 64 KiB).
    pub max_xmp_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 256 * 1024 * 1024,
            max_pages: 10_000,
            max_objects: 2_000_000,
            max_depth: 64,
            max_stream_bytes: 64 * 1024 * 1024,
            max_total_decompressed_bytes: 1024 * 1024 * 1024,
            max_operators_per_page: 10_000_000,
            max_glyphs_per_page: 1_000_000,
            max_text_bytes: 64 * 1024 * 1024,
            max_outline_items: 10_000,
            scanned_min_image_coverage: 0.5,
            max_xmp_bytes: 64 * 1024,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_missing_keys_and_unknown_keys_fail() {
        let l: Limits = serde_json::from_str(r#"{"max_pages": 16}"#).unwrap();
        assert_eq!(l.max_pages, 16);
        assert_eq!(l.max_depth, 64);
        let err = serde_json::from_str::<Limits>(r#"{"max_page": 16}"#).unwrap_err();
        assert!(err.to_string().contains("max_page"), "{err}");
    }
}
