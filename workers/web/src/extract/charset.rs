//! Character encoding of an HTML document: BOM, then the HTTP `charset`, then `<meta>`
//! (and an XML declaration) in the first bytes, then a statistical guess (chardetng).
//!
//! Declarations lie. A document declared as something other than UTF-8 whose bytes are
//! valid, non-ASCII UTF-8 is decoded as UTF-8; a document declared UTF-8 whose bytes are
//! not is decoded with the guessed encoding. Both leave a warning.

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252, X_USER_DEFINED};

/// How many leading bytes are searched for `<meta charset>`.
const PRESCAN: usize = 4096;
/// How many bytes the statistical detector reads.
const GUESS_BYTES: usize = 256 * 1024;

/// Decoded text and how its encoding was found.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) text: String,
    pub(crate) encoding: &'static Encoding,
    /// `bom`, `header`, `meta`, `xml`, `guess` or `content` (declaration overridden).
    pub(crate) source: &'static str,
    pub(crate) warnings: Vec<String>,
}

pub(crate) fn decode(bytes: &[u8], header_charset: Option<&str>) -> Decoded {
    let mut warnings = Vec::new();
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return Decoded {
            text: text.into_owned(),
            encoding: enc,
            source: "bom",
            warnings,
        };
    }
    let from_header = header_charset.and_then(|l| {
        let e = Encoding::for_label(l.trim().as_bytes());
        if e.is_none() {
            warnings.push(format!("unknown charset {l:?} in Content-Type ignored"));
        }
        e
    });
    let declared = from_header
        .map(|e| (e, "header"))
        .or_else(|| prescan(&bytes[..bytes.len().min(PRESCAN)]));
    let declared = declared.map(|(e, s)| (html_override(e), s));

    let utf8 = std::str::from_utf8(bytes);
    match declared {
        Some((enc, source)) if enc == UTF_8 => match utf8 {
            Ok(s) => Decoded {
                text: s.to_owned(),
                encoding: UTF_8,
                source,
                warnings,
            },
            Err(_) => {
                let guess = guess(bytes);
                if guess != UTF_8 {
                    warnings.push(format!(
                        "declared charset UTF-8 ({source}) does not match the bytes; decoded as {}",
                        guess.name()
                    ));
                }
                let (text, _, _) = guess.decode(bytes);
                Decoded {
                    text: text.into_owned(),
                    encoding: guess,
                    source: "content",
                    warnings,
                }
            }
        },
        Some((enc, source)) => {
            if utf8.is_ok() && !bytes.is_ascii() && enc.is_single_byte() {
                warnings.push(format!(
                    "declared charset {} ({source}) does not match the bytes, which are UTF-8; \
                     decoded as UTF-8",
                    enc.name()
                ));
                return Decoded {
                    text: utf8.map(str::to_owned).unwrap_or_default(),
                    encoding: UTF_8,
                    source: "content",
                    warnings,
                };
            }
            let (text, _) = enc.decode_without_bom_handling(bytes);
            Decoded {
                text: text.into_owned(),
                encoding: enc,
                source,
                warnings,
            }
        }
        None => match utf8 {
            Ok(s) => Decoded {
                text: s.to_owned(),
                encoding: UTF_8,
                source: "guess",
                warnings,
            },
            Err(_) => {
                let enc = guess(bytes);
                let (text, _) = enc.decode_without_bom_handling(bytes);
                Decoded {
                    text: text.into_owned(),
                    encoding: enc,
                    source: "guess",
                    warnings,
                }
            }
        },
    }
}

/// The HTML standard's overrides: a UTF-16 declaration in the bytes means UTF-8,
/// `x-user-defined` means windows-1252.
fn html_override(enc: &'static Encoding) -> &'static Encoding {
    if enc == UTF_16BE || enc == UTF_16LE {
        UTF_8
    } else if enc == X_USER_DEFINED {
        WINDOWS_1252
    } else {
        enc
    }
}

fn guess(bytes: &[u8]) -> &'static Encoding {
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    let n = bytes.len().min(GUESS_BYTES);
    det.feed(&bytes[..n], n == bytes.len());
    det.guess(None, chardetng::Utf8Detection::Allow)
}

/// A simplified version of the HTML standard's prescan: `<meta charset=...>` and
/// `<meta http-equiv=content-type content="...; charset=...">`, skipping comments; then
/// an XML declaration's `encoding`.
fn prescan(head: &[u8]) -> Option<(&'static Encoding, &'static str)> {
    let lower: Vec<u8> = head.to_ascii_lowercase();
    let mut i = 0;
    while i < lower.len() {
        if lower[i..].starts_with(b"<!--") {
            i = find(&lower, i + 4, b"-->").map_or(lower.len(), |e| e + 3);
            continue;
        }
        if lower[i..].starts_with(b"<meta")
            && lower
                .get(i + 5)
                .is_some_and(|c| c.is_ascii_whitespace() || *c == b'/')
        {
            let (attrs, end) = attributes(&head[i + 5..]);
            i += 5 + end;
            let get = |n: &str| {
                attrs
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(n))
                    .map(|(_, v)| v.as_str())
            };
            if let Some(cs) = get("charset") {
                if let Some(e) = Encoding::for_label(cs.trim().as_bytes()) {
                    return Some((e, "meta"));
                }
            }
            let is_ct = get("http-equiv").is_some_and(|v| v.eq_ignore_ascii_case("content-type"));
            if is_ct {
                if let Some(cs) = get("content").and_then(charset_param) {
                    if let Some(e) = Encoding::for_label(cs.as_bytes()) {
                        return Some((e, "meta"));
                    }
                }
            }
            continue;
        }
        i += 1;
    }
    if lower.starts_with(b"<?xml") {
        let end = find(&lower, 0, b"?>")?;
        let (attrs, _) = attributes(&head[5..end]);
        let enc = attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("encoding"))?;
        return Encoding::for_label(enc.1.as_bytes()).map(|e| (e, "xml"));
    }
    None
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// `charset=` in a `content` attribute value.
fn charset_param(content: &str) -> Option<String> {
    let lower = content.to_ascii_lowercase();
    let at = lower.find("charset")?;
    let rest = content[at + 7..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let rest = rest.trim_start_matches(['"', '\'']);
    let end = rest
        .find(|c: char| c == ';' || c == '"' || c == '\'' || c.is_whitespace())
        .unwrap_or(rest.len());
    Some(rest[..end].to_owned()).filter(|s| !s.is_empty())
}

/// Attributes of a tag starting right after its name, up to `>`; returns them and the
/// offset just past the tag.
fn attributes(s: &[u8]) -> (Vec<(String, String)>, usize) {
    let mut out = Vec::new();
    let mut i = 0;
    let n = s.len();
    loop {
        while i < n && (s[i].is_ascii_whitespace() || s[i] == b'/') {
            i += 1;
        }
        if i >= n {
            return (out, n);
        }
        if s[i] == b'>' || s[i] == b'?' {
            return (out, i + 1);
        }
        let start = i;
        while i < n && !s[i].is_ascii_whitespace() && !matches!(s[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        let name = String::from_utf8_lossy(&s[start..i]).into_owned();
        while i < n && s[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < n && s[i] == b'=' {
            i += 1;
            while i < n && s[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < n && (s[i] == b'"' || s[i] == b'\'') {
                let q = s[i];
                i += 1;
                let vs = i;
                while i < n && s[i] != q {
                    i += 1;
                }
                value = String::from_utf8_lossy(&s[vs..i]).into_owned();
                i = (i + 1).min(n);
            } else {
                let vs = i;
                while i < n && !s[i].is_ascii_whitespace() && s[i] != b'>' {
                    i += 1;
                }
                value = String::from_utf8_lossy(&s[vs..i]).into_owned();
            }
        }
        out.push((name, value));
        if out.len() > 64 {
            return (out, i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_wins() {
        let mut b = vec![0xEF, 0xBB, 0xBF];
        b.extend_from_slice("<meta charset=latin1>é".as_bytes());
        let d = decode(&b, Some("windows-1252"));
        assert_eq!(d.encoding, UTF_8);
        assert_eq!(d.source, "bom");
        assert!(d.text.ends_with('é'));
    }

    #[test]
    fn header_then_meta_then_xml() {
        let latin = b"<html><head><meta charset=\"iso-8859-1\"></head><body>caf\xe9</body>";
        let d = decode(latin, None);
        assert_eq!(d.encoding.name(), "windows-1252");
        assert_eq!(d.source, "meta");
        assert!(d.text.contains("café"));
        let d = decode(latin, Some("iso-8859-15"));
        assert_eq!(d.source, "header");
        let ct = b"<meta http-equiv='Content-Type' content='text/html; charset=koi8-r'>\xc1";
        assert_eq!(decode(ct, None).encoding.name(), "KOI8-R");
        let xml = b"<?xml version=\"1.0\" encoding=\"ISO-8859-2\"?><html>\xb1</html>";
        assert_eq!(decode(xml, None).encoding.name(), "ISO-8859-2");
        let commented = b"<!-- <meta charset=koi8-r> --><meta charset=utf-8>ok";
        assert_eq!(decode(commented, None).encoding, UTF_8);
    }

    #[test]
    fn lying_declarations_are_overridden() {
        let utf8 = "<meta charset=iso-8859-1><p>naïve café</p>".as_bytes();
        let d = decode(utf8, None);
        assert_eq!(d.encoding, UTF_8);
        assert!(d.text.contains("naïve café"));
        assert_eq!(d.warnings.len(), 1);
        let latin = b"<meta charset=utf-8><p>Der B\xe4r l\xe4uft \xfcber die Stra\xdfe und isst K\xe4se</p>";
        let d = decode(latin, None);
        assert_ne!(d.encoding, UTF_8);
        assert!(d.text.contains("Bär"), "{}", d.text);
        assert_eq!(d.warnings.len(), 1);
    }

    #[test]
    fn no_declaration_guesses() {
        let d = decode("plain ünïcode".as_bytes(), None);
        assert_eq!(d.encoding, UTF_8);
        let d = decode(
            b"<p>Gr\xfc\xdfe aus M\xfcnchen, sch\xf6ne Gr\xfc\xdfe</p>",
            None,
        );
        assert!(d.text.contains("München"), "{}", d.text);
    }
}
