//! Plain text.
//!
//! The bytes are decoded with [`daa_shared::sniff::decode_text`] (BOM, else UTF-8, else
//! the most likely legacy encoding; malformed sequences become U+FFFD with a warning).
//! The text is kept as is except that line ends are normalised (`\r\n` and lone `\r`
//! become `\n`). There are no tables.
//!
//! Metadata: `encoding`, `lines`, `words` (whitespace-separated), `had_decode_errors`.

use daa_shared::model::TaskError;
use serde_json::{json, Map};

use crate::output::{decode_warning, Extracted, TextSink};
use crate::Options;

/// Extract plain text.
pub(crate) fn extract(bytes: &[u8], opts: &Options<'_>) -> Result<Extracted, TaskError> {
    let decoded = daa_shared::sniff::decode_text(bytes);
    let mut warnings = Vec::new();
    if let Some(w) = decode_warning(&decoded) {
        warnings.push(w);
    }
    let normalised = normalize_newlines(&decoded.text);
    let mut metadata = Map::new();
    metadata.insert("encoding".into(), json!(decoded.encoding));
    metadata.insert("lines".into(), json!(normalised.lines().count()));
    metadata.insert("words".into(), json!(normalised.split_whitespace().count()));
    metadata.insert("had_decode_errors".into(), json!(decoded.had_errors));
    let mut sink = TextSink::new(opts.limits.max_text_bytes);
    sink.push(&normalised);
    let mut losses = Vec::new();
    let text = sink.finish(&mut losses);
    Ok(Extracted {
        text,
        tables: Vec::new(),
        metadata,
        warnings,
        losses,
    })
}

/// `\r\n` and lone `\r` become `\n`.
pub(crate) fn normalize_newlines(s: &str) -> String {
    if !s.contains('\r') {
        return s.to_owned();
    }
    s.replace("\r\n", "\n").replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use daa_worker::CancelFlag;

    fn run(bytes: &[u8]) -> Extracted {
        let limits = Limits::default();
        let cancel = CancelFlag::default();
        let opts = Options {
            limits: &limits,
            tables: true,
            cancel: &cancel,
        };
        extract(bytes, &opts).unwrap()
    }

    #[test]
    fn counts_lines_and_words_and_normalises_newlines() {
        let out = run(b"Hello world.\r\nSecond line here\r\n");
        assert_eq!(out.text, "Hello world.\nSecond line here\n");
        assert_eq!(out.metadata["lines"], 2);
        assert_eq!(out.metadata["words"], 5);
        assert_eq!(out.metadata["encoding"], "UTF-8");
        assert_eq!(out.metadata["had_decode_errors"], false);
        assert!(out.warnings.is_empty());
        assert!(out.tables.is_empty());
    }

    #[test]
    fn legacy_encoding_is_decoded() {
        let out = run(b"caf\xe9 cr\xe8me br\xfbl\xe9e");
        assert_eq!(out.text, "café crème brûlée");
        assert_eq!(out.metadata["encoding"], "windows-1252");
    }

    #[test]
    fn decode_errors_are_warned_about() {
        // Mostly UTF-8 with one bad byte: stays UTF-8, lossy.
        let mut bytes = "é".repeat(100).into_bytes();
        bytes.push(0xff);
        let out = run(&bytes);
        assert_eq!(out.metadata["had_decode_errors"], true);
        assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
        assert!(out.warnings[0].contains("U+FFFD"));
        assert!(out.text.ends_with('\u{fffd}'));
    }
}
