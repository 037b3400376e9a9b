//! Content detection from bytes, never from the file name: binary formats by their magic
//! bytes (the `infer` crate), text formats by their first characters and shape.
//! Text decoding (BOM, UTF-8, else the `chardetng` guess) lives here too, so every
//! agent decodes text the same way.

use crate::model::DocKind;

/// How many leading bytes are enough to sniff.
pub const SNIFF_LEN: usize = 8192;

/// What the bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    /// Document kind, which picks the extraction agent.
    pub kind: DocKind,
    /// Media type.
    pub media_type: &'static str,
}

/// Text decoded from bytes of an unknown encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The text.
    pub text: String,
    /// Name of the encoding used (WHATWG label, e.g. `UTF-8`, `windows-1252`).
    pub encoding: &'static str,
    /// Whether malformed sequences were replaced by U+FFFD.
    pub had_errors: bool,
}

/// Decode bytes as text: BOM first, then UTF-8 when valid, else the most likely
/// legacy encoding.
pub fn decode_text(bytes: &[u8]) -> Decoded {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return Decoded {
            text: text.into_owned(),
            encoding: enc.name(),
            had_errors,
        };
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Decoded {
            text: s.to_owned(),
            encoding: "UTF-8",
            had_errors: false,
        },
        Err(e) => {
            // Mostly UTF-8 with a few bad bytes stays UTF-8 (lossy); otherwise guess.
            let valid = e.valid_up_to();
            let enc = if valid * 10 >= bytes.len() * 9 && bytes.len() > 64 {
                encoding_rs::UTF_8
            } else {
                let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
                det.feed(bytes, true);
                det.guess(None, chardetng::Utf8Detection::Allow)
            };
            let (text, _, had_errors) = enc.decode(bytes);
            Decoded {
                text: text.into_owned(),
                encoding: enc.name(),
                had_errors,
            }
        }
    }
}

/// Whether the bytes look like binary data rather than text.
pub fn looks_binary(head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    if encoding_rs::Encoding::for_bom(head).is_some() {
        return false;
    }
    let controls = head
        .iter()
        .filter(|&&b| b == 0 || (b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c)))
        .count();
    controls * 100 > head.len() || head.contains(&0)
}

/// Sniff the kind of a document from its leading bytes.
pub fn sniff(bytes: &[u8]) -> Sniffed {
    let head = &bytes[..bytes.len().min(SNIFF_LEN)];
    if let Some(t) = infer::get(head) {
        let mt = t.mime_type();
        let kind = match mt {
            "application/pdf" => Some(DocKind::Pdf),
            m if m.starts_with("image/") => Some(DocKind::Image),
            _ => None,
        };
        if let Some(kind) = kind {
            return Sniffed {
                kind,
                media_type: mt,
            };
        }
        if !matches!(mt, "text/xml" | "text/html" | "application/xml") {
            return Sniffed {
                kind: DocKind::Unknown,
                media_type: mt,
            };
        }
    }
    // A PDF header a little way in (some producers prepend junk) still counts.
    if find(head, b"%PDF-").is_some_and(|at| at < 1024) {
        return Sniffed {
            kind: DocKind::Pdf,
            media_type: "application/pdf",
        };
    }
    if looks_binary(head) {
        return Sniffed {
            kind: DocKind::Unknown,
            media_type: "application/octet-stream",
        };
    }
    sniff_text(&decode_text(head).text)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn sniff_text(text: &str) -> Sniffed {
    let t = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    let lower: String = t
        .chars()
        .take(2048)
        .collect::<String>()
        .to_ascii_lowercase();
    if t.starts_with('{') || t.starts_with('[') {
        return Sniffed {
            kind: DocKind::Json,
            media_type: "application/json",
        };
    }
    if t.starts_with('<') {
        let html = lower.starts_with("<!doctype html")
            || lower.contains("<html")
            || (lower.contains("<head") && lower.contains("<body"));
        return if html {
            Sniffed {
                kind: DocKind::Html,
                media_type: "text/html",
            }
        } else {
            Sniffed {
                kind: DocKind::Xml,
                media_type: "application/xml",
            }
        };
    }
    if looks_delimited(t) {
        return Sniffed {
            kind: DocKind::Csv,
            media_type: "text/csv",
        };
    }
    Sniffed {
        kind: DocKind::Text,
        media_type: "text/plain",
    }
}

/// The delimiter a delimited table most likely uses, if the text looks like one: at
/// least two lines, each containing the delimiter, with the same count on every line or
/// with no line having more fields than the header (ragged rows that drop trailing
/// empty fields are common). Prose is refused: a comma or semicolon mostly followed by
/// a space is punctuation, not a delimiter.
pub fn guess_delimiter(text: &str) -> Option<u8> {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(20)
        .collect();
    // The last line may be cut short by the sniff window.
    let lines = if lines.len() > 2 {
        &lines[..lines.len() - 1]
    } else {
        &lines[..]
    };
    if lines.len() < 2 {
        return None;
    }
    [b',', b'\t', b';', b'|']
        .into_iter()
        .filter_map(|d| {
            let counts: Vec<usize> = lines
                .iter()
                .map(|l| count_outside_quotes(l, d as char))
                .collect();
            let header = counts[0];
            let uniform = counts.iter().all(|&c| c == header);
            let ragged = header >= 2 && counts.iter().all(|&c| c >= 1 && c <= header);
            // A preamble line (e.g. "569,30,malignant,benign") above uniform rows.
            let body = counts[1];
            let preamble = lines.len() >= 3 && body >= 1 && counts[1..].iter().all(|&c| c == body);
            if header == 0 || !(uniform || ragged || preamble) {
                return None;
            }
            if matches!(d, b',' | b';') && mostly_followed_by_space(lines, d as char) {
                return None;
            }
            Some((d, header.max(body)))
        })
        .max_by_key(|&(_, n)| n)
        .map(|(d, _)| d)
}

fn mostly_followed_by_space(lines: &[&str], delim: char) -> bool {
    let (mut total, mut spaced) = (0usize, 0usize);
    for l in lines {
        let mut chars = l.chars().peekable();
        while let Some(c) = chars.next() {
            if c == delim {
                total += 1;
                if chars.peek() == Some(&' ') {
                    spaced += 1;
                }
            }
        }
    }
    total > 0 && spaced * 2 > total
}

fn looks_delimited(text: &str) -> bool {
    guess_delimiter(text).is_some()
}

fn count_outside_quotes(line: &str, delim: char) -> usize {
    let mut inside = false;
    let mut n = 0;
    for c in line.chars() {
        if c == '"' {
            inside = !inside;
        } else if c == delim && !inside {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content_not_name() {
        assert_eq!(sniff(b"%PDF-1.7\n...").kind, DocKind::Pdf);
        assert_eq!(
            sniff(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]).kind,
            DocKind::Image
        );
        assert_eq!(sniff(b"  {\"a\": 1}").kind, DocKind::Json);
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><a/>").kind, DocKind::Xml);
        assert_eq!(
            sniff(b"<!DOCTYPE html><html><body>x</body></html>").kind,
            DocKind::Html
        );
        assert_eq!(sniff(b"a,b,c\n1,2,3\n4,5,6\n").kind, DocKind::Csv);
        assert_eq!(sniff(b"Hello world.\nSecond line.\n").kind, DocKind::Text);
        assert_eq!(sniff(b"\x00\x01\x02garbage").kind, DocKind::Unknown);
    }

    #[test]
    fn decodes_legacy_and_bom_text() {
        let d = decode_text(b"\xef\xbb\xbfh\xc3\xa9");
        assert_eq!(d.text, "hé");
        assert_eq!(d.encoding, "UTF-8");
        let d = decode_text(b"caf\xe9 cr\xe8me br\xfbl\xe9e");
        assert_eq!(d.text, "café crème brûlée");
        assert!(!d.had_errors);
    }

    #[test]
    fn tab_delimiter_is_found() {
        assert_eq!(guess_delimiter("a\tb\n1\t2\n3\t4\n"), Some(b'\t'));
        assert_eq!(guess_delimiter("just one line"), None);
        // Ragged rows that drop trailing fields are still a table.
        assert_eq!(
            guess_delimiter("a,b,c,d\n1,2,3\n4,5,6,7\n8,9\n"),
            Some(b',')
        );
        // A short preamble line above uniform rows is still a table.
        assert_eq!(guess_delimiter("3,2\n1,2,3\n4,5,6\n7,8,9\n"), Some(b','));
        // Prose with commas is not.
        assert_eq!(
            guess_delimiter("Hello, world, again.\nThis, too, is prose.\nAnd so, is this.\n"),
            None
        );
    }
}
