//! The validation stage: is this a document the fleet can process, and what is it?
//!
//! Order of the checks (the first failing one decides):
//!
//! 1. `Source::Url` sources have no bytes yet (fetching is the web agent's job): only the
//!    scheme is checked (http or https, else a permanent error) and the kind is `html`.
//! 2. Empty documents and documents over [`Limits::max_document_bytes`] fail permanently.
//! 3. The kind and media type are sniffed from the bytes with [`daa_shared::sniff`],
//!    never from the name. Content no extraction agent handles (archives, executables,
//!    random bytes) fails permanently with `unsupported content: <media type>`.
//! 4. A name whose extension contradicts the content (PNG bytes named `x.pdf`) is not an
//!    error: the content wins, a warning says so and metadata gets `name_mismatch: true`.
//!    Text kinds are loose about each other (a `.txt` holding CSV is not a contradiction).
//! 5. Text kinds are decoded with [`daa_shared::sniff::decode_text`]: metadata gets
//!    `encoding`; malformed sequences give a warning and `encoding_errors: true`.
//!
//! **Damaged files.** Decoding belongs to the extraction agents, so validation only looks
//! at what is cheap and certain: the PNG `IHDR` chunk, the PNG `IEND` / JPEG `EOI` /
//! PDF `%%EOF` trailers. A damaged header or a missing trailer gives a warning (and
//! metadata `image_header_valid: false` or `truncated: true`), never an error: the
//! extraction agent decides whether anything can be salvaged.
//!
//! **CSV tie-break.** The sniffer wants the same delimiter count on every line; real CSV
//! files with optional trailing columns miss that and sniff as plain text. When the
//! content sniffs as `text`, the name says `.csv`/`.tsv` *and* every line of the head
//! holds the delimiter, the document is processed as CSV: the content is consistent
//! with both, the name only breaks the tie.

use daa_shared::model::{DocKind, Source, SourceInfo, StageOutput, TaskError};
use daa_shared::sniff::{self, Sniffed};
use daa_worker::Document;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::Limits;

/// Validate a task's document: `source` is the task's input source, `document` the bytes
/// the runtime resolved (absent for URL sources).
pub fn validate(
    limits: &Limits,
    source: Option<&Source>,
    document: Option<&Document>,
) -> Result<StageOutput, TaskError> {
    if let Some(Source::Url(url)) = source {
        return validate_url(url);
    }
    let Some(document) = document else {
        return Err(TaskError::permanent(
            "validation needs the document's bytes but none were provided",
        ));
    };
    let name = if document.name.is_empty() {
        source.map(Source::name).unwrap_or_default()
    } else {
        &document.name
    };
    validate_with_digest(limits, name, &document.bytes, document.sha256)
}

/// Validate a URL source: http or https with a host. The page is fetched later, so the
/// output has kind `html`, media type `text/html`, 0 bytes and no sha256.
pub fn validate_url(url: &str) -> Result<StageOutput, TaskError> {
    let trimmed = url.trim();
    let (scheme, rest) = trimmed.split_once("://").unwrap_or(("", trimmed));
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return Err(TaskError::permanent(format!(
            "only http and https URLs are supported (got {trimmed:?})"
        )));
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err(TaskError::permanent(format!(
            "URL has no host: {trimmed:?}"
        )));
    }
    let mut metadata = Map::new();
    metadata.insert("validated".into(), Value::Bool(true));
    Ok(StageOutput {
        kind: Some(DocKind::Html),
        source: Some(SourceInfo {
            name: url.to_owned(),
            media_type: "text/html".to_owned(),
            bytes: 0,
            sha256: String::new(),
        }),
        metadata,
        ..StageOutput::default()
    })
}

/// Validate a document's bytes; `name` is the client's name for it (a hint only).
pub fn validate_bytes(limits: &Limits, name: &str, bytes: &[u8]) -> Result<StageOutput, TaskError> {
    validate_with_digest(limits, name, bytes, None)
}

/// As [`validate_bytes`], with the bytes' SHA-256 when the runtime already computed it
/// (its Object Store fetch checks the digest): hashing megabytes once is enough.
fn validate_with_digest(
    limits: &Limits,
    name: &str,
    bytes: &[u8],
    sha256: Option<[u8; 32]>,
) -> Result<StageOutput, TaskError> {
    if bytes.is_empty() {
        return Err(TaskError::permanent("empty document (0 bytes)"));
    }
    let size = bytes.len() as u64;
    if size > limits.max_document_bytes {
        return Err(TaskError::permanent(format!(
            "document too large: {size} bytes, the limit is {} bytes",
            limits.max_document_bytes
        )));
    }

    let mut sniffed = sniff::sniff(bytes);
    let extension = extension(name);
    let declared = extension.as_deref().and_then(kind_of_extension);
    if sniffed.kind == DocKind::Text && declared == Some(DocKind::Csv) && delimited_head(bytes) {
        sniffed = Sniffed {
            kind: DocKind::Csv,
            media_type: "text/csv",
        };
    }
    if sniffed.kind == DocKind::Unknown {
        return Err(TaskError::permanent(format!(
            "unsupported content: {}",
            sniffed.media_type
        )));
    }

    let mut metadata = Map::new();
    metadata.insert("validated".into(), Value::Bool(true));
    let mut warnings = Vec::new();

    if let (Some(ext), Some(declared)) = (extension.as_deref(), declared) {
        if !compatible(declared, sniffed.kind) {
            warnings.push(format!(
                "name says .{ext} but content is {}; processing as {}",
                sniffed.media_type, sniffed.kind
            ));
            metadata.insert("name_mismatch".into(), Value::Bool(true));
        }
    }

    match sniffed.kind {
        DocKind::Json | DocKind::Xml | DocKind::Csv | DocKind::Text | DocKind::Html => {
            let decoded = sniff::decode_text(bytes);
            metadata.insert("encoding".into(), Value::from(decoded.encoding));
            if decoded.had_errors {
                warnings.push(format!(
                    "text is not valid {}: malformed byte sequences will read as U+FFFD",
                    decoded.encoding
                ));
                metadata.insert("encoding_errors".into(), Value::Bool(true));
            }
            if decoded.text.trim().is_empty() {
                warnings.push("document holds only whitespace".to_owned());
            }
        }
        DocKind::Image => check_image(sniffed.media_type, bytes, &mut warnings, &mut metadata),
        DocKind::Pdf => {
            if find(tail(bytes, 2048), b"%%EOF").is_none() {
                warnings.push("PDF has no %%EOF marker: the file may be truncated".to_owned());
                metadata.insert("truncated".into(), Value::Bool(true));
            }
            // The page count lets the planner split a large PDF across pdf workers. A
            // PDF that cannot be loaded is the pdf agent's to judge, not validation's.
            match daa_pdf::page_count(bytes, &limits.pdf) {
                Ok(n) => {
                    metadata.insert("page_count".into(), Value::from(n));
                }
                Err(e) => warnings.push(format!("cannot count the PDF's pages: {}", e.message)),
            }
        }
        DocKind::Unknown => {}
    }

    Ok(StageOutput {
        kind: Some(sniffed.kind),
        source: Some(SourceInfo {
            name: name.to_owned(),
            media_type: sniffed.media_type.to_owned(),
            bytes: size,
            sha256: hex::encode(sha256.unwrap_or_else(|| Sha256::digest(bytes).into())),
        }),
        metadata,
        warnings,
        ..StageOutput::default()
    })
}

/// Cheap structural checks of an image: warnings only (the image agent decodes).
fn check_image(
    media_type: &str,
    bytes: &[u8],
    warnings: &mut Vec<String>,
    metadata: &mut Map<String, Value>,
) {
    let mut truncated = false;
    match media_type {
        "image/png" => {
            // Signature (8), then the IHDR chunk: length 13, type, width, height, ...
            let ihdr = bytes.get(8..24);
            let header_ok = ihdr.is_some_and(|h| {
                h[..4] == [0, 0, 0, 13]
                    && &h[4..8] == b"IHDR"
                    && h[8..12] != [0; 4]
                    && h[12..16] != [0; 4]
            });
            if !header_ok {
                let found = bytes
                    .get(12..16)
                    .map(|t| String::from_utf8_lossy(t).into_owned())
                    .unwrap_or_default();
                warnings.push(format!(
                    "PNG header looks corrupt (first chunk {found:?}, expected a valid IHDR); \
                     the image agent will try to decode it"
                ));
                metadata.insert("image_header_valid".into(), Value::Bool(false));
            }
            truncated = find(tail(bytes, 64), b"IEND").is_none();
        }
        "image/jpeg" => truncated = find(tail(bytes, 64), &[0xff, 0xd9]).is_none(),
        _ => {}
    }
    if truncated {
        warnings.push(format!(
            "{media_type} has no end marker: the file looks truncated"
        ));
        metadata.insert("truncated".into(), Value::Bool(true));
    }
}

/// The lower-cased extension of the last path segment of `name`, if it has one.
fn extension(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next()?;
    let base = base.split(['?', '#']).next()?;
    let (stem, ext) = base.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// The kind an extension promises, for the extensions worth comparing.
fn kind_of_extension(ext: &str) -> Option<DocKind> {
    Some(match ext {
        "pdf" => DocKind::Pdf,
        "png" | "jpg" | "jpeg" | "jpe" | "gif" | "bmp" | "tif" | "tiff" | "webp" => DocKind::Image,
        "html" | "htm" | "xhtml" => DocKind::Html,
        "json" | "geojson" => DocKind::Json,
        "xml" | "svg" | "rss" | "atom" => DocKind::Xml,
        "csv" | "tsv" => DocKind::Csv,
        "txt" | "text" | "md" | "log" => DocKind::Text,
        _ => return None,
    })
}

fn is_text_kind(kind: DocKind) -> bool {
    matches!(
        kind,
        DocKind::Json | DocKind::Xml | DocKind::Csv | DocKind::Text | DocKind::Html
    )
}

/// Whether content of kind `actual` is a plausible reading of a name promising `declared`.
fn compatible(declared: DocKind, actual: DocKind) -> bool {
    declared == actual
        || (declared == DocKind::Text && is_text_kind(actual))
        || (declared == DocKind::Csv && actual == DocKind::Text)
        || matches!(
            (declared, actual),
            (DocKind::Xml, DocKind::Html) | (DocKind::Html, DocKind::Xml)
        )
}

/// Whether every non-blank line of the head holds the same delimiter at least once (the
/// last line is ignored: the sniff window may cut it).
fn delimited_head(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(sniff::SNIFF_LEN)];
    let text = sniff::decode_text(head).text;
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(20)
        .collect();
    let lines = match lines.len() {
        0 | 1 => return false,
        2 => &lines[..],
        n => &lines[..n - 1],
    };
    [',', '\t', ';', '|']
        .into_iter()
        .any(|d| lines.iter().all(|l| l.contains(d)))
}

fn tail(bytes: &[u8], n: usize) -> &[u8] {
    &bytes[bytes.len().saturating_sub(n)..]
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn empty_and_oversized_fail_permanently() {
        let e = validate_bytes(&limits(), "a.txt", b"").unwrap_err();
        assert_eq!(e.kind, daa_shared::model::FailureKind::Permanent);
        assert!(e.message.contains("empty"), "{}", e.message);

        let small = Limits {
            max_document_bytes: 4,
            ..Limits::default()
        };
        let e = validate_bytes(&small, "a.txt", b"hello").unwrap_err();
        assert_eq!(e.kind, daa_shared::model::FailureKind::Permanent);
        assert!(
            e.message.contains('5') && e.message.contains('4'),
            "{}",
            e.message
        );
    }

    #[test]
    fn extensions() {
        assert_eq!(extension("dir/x.PDF").as_deref(), Some("pdf"));
        assert_eq!(
            extension("C:\\dir\\report.final.csv").as_deref(),
            Some("csv")
        );
        assert_eq!(extension(".bashrc"), None);
        assert_eq!(extension("noext"), None);
        assert_eq!(
            extension("https://h/p/page.html?x=1").as_deref(),
            Some("html")
        );
    }

    #[test]
    fn text_kinds_are_loose_about_each_other() {
        assert!(compatible(DocKind::Text, DocKind::Csv));
        assert!(compatible(DocKind::Csv, DocKind::Text));
        assert!(compatible(DocKind::Xml, DocKind::Html));
        assert!(!compatible(DocKind::Pdf, DocKind::Image));
        assert!(!compatible(DocKind::Json, DocKind::Csv));
        assert!(!compatible(DocKind::Image, DocKind::Text));
    }

    #[test]
    fn matching_name_gives_no_warning() {
        let out = validate_bytes(&limits(), "a.json", br#"{"a": 1}"#).unwrap();
        assert_eq!(out.kind, Some(DocKind::Json));
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        assert_eq!(out.metadata.get("name_mismatch"), None);
        assert_eq!(out.metadata["encoding"], "UTF-8");
    }

    #[test]
    fn json_named_csv_is_a_mismatch() {
        let out = validate_bytes(&limits(), "a.csv", br#"{"a": 1}"#).unwrap();
        assert_eq!(out.kind, Some(DocKind::Json));
        assert_eq!(out.metadata["name_mismatch"], true);
    }

    #[test]
    fn truncated_png_is_flagged_not_rejected() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/corpus/bad/png-named.pdf"
        ))
        .unwrap();
        let cut = &bytes[..bytes.len() - 20];
        let out = validate_bytes(&limits(), "x.png", cut).unwrap();
        assert_eq!(out.kind, Some(DocKind::Image));
        assert_eq!(out.metadata["truncated"], true);
        assert!(out.warnings.iter().any(|w| w.contains("truncated")));
    }

    #[test]
    fn pdf_without_eof_marker_is_flagged() {
        let out = validate_bytes(&limits(), "a.pdf", b"%PDF-1.7\n1 0 obj\n").unwrap();
        assert_eq!(out.kind, Some(DocKind::Pdf));
        assert_eq!(out.metadata["truncated"], true);
        let out = validate_bytes(&limits(), "a.pdf", b"%PDF-1.7\n1 0 obj\n%%EOF\n").unwrap();
        assert_eq!(out.metadata.get("truncated"), None);
        // Only the page count may be missing (this is no loadable PDF).
        assert!(
            out.warnings.iter().all(|w| w.starts_with("cannot count")),
            "{:?}",
            out.warnings
        );
    }

    #[test]
    fn urls() {
        let out = validate_url("https://example.org/a").unwrap();
        assert_eq!(out.kind, Some(DocKind::Html));
        let src = out.source.unwrap();
        assert_eq!(src.media_type, "text/html");
        assert_eq!(src.bytes, 0);
        assert!(src.sha256.is_empty());
        assert!(validate_url("HTTP://example.org").is_ok());
        for bad in ["ftp://example.org/x", "file:///etc/passwd", "example.org"] {
            let e = validate_url(bad).unwrap_err();
            assert!(e.message.contains("only http and https"), "{}", e.message);
        }
        assert!(validate_url("https:///path").is_err());
    }
}
