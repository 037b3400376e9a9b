//! Glyph names to Unicode (the Adobe Glyph List, `uniXXXX`, `uXXXX[XX]`, suffixes and
//! ligature names), the standard encodings, and the standard 14 fonts' widths.

use super::core14::CORE14;
use super::glyphdata::{GLYPH_NAMES, MAC_EXPERT, MAC_ROMAN, PDF_DOC, STANDARD, SYMBOL, WIN_ANSI};

/// A base encoding of a simple font.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BaseEncoding {
    /// StandardEncoding.
    Standard,
    /// WinAnsiEncoding.
    WinAnsi,
    /// MacRomanEncoding.
    MacRoman,
    /// MacExpertEncoding.
    MacExpert,
    /// The Symbol font's built-in encoding.
    Symbol,
}

impl BaseEncoding {
    /// The encoding named `name` in a font's `/Encoding`.
    pub(crate) fn from_name(name: &[u8]) -> Option<Self> {
        Some(match name {
            b"StandardEncoding" => BaseEncoding::Standard,
            b"WinAnsiEncoding" => BaseEncoding::WinAnsi,
            b"MacRomanEncoding" => BaseEncoding::MacRoman,
            b"MacExpertEncoding" => BaseEncoding::MacExpert,
            _ => return None,
        })
    }

    /// Unicode of each code (0 = none).
    pub(crate) fn table(self) -> &'static [u16; 256] {
        match self {
            BaseEncoding::Standard => &STANDARD,
            BaseEncoding::WinAnsi => &WIN_ANSI,
            BaseEncoding::MacRoman => &MAC_ROMAN,
            BaseEncoding::MacExpert => &MAC_EXPERT,
            BaseEncoding::Symbol => &SYMBOL,
        }
    }
}

/// PDFDocEncoding (text strings without a BOM).
pub(crate) fn pdf_doc_char(b: u8) -> Option<char> {
    match PDF_DOC[usize::from(b)] {
        0 => None,
        u => char::from_u32(u32::from(u)),
    }
}

fn agl(name: &[u8]) -> Option<char> {
    let name = std::str::from_utf8(name).ok()?;
    GLYPH_NAMES
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .and_then(|i| char::from_u32(u32::from(GLYPH_NAMES[i].1)))
}

fn hex_char(h: &[u8]) -> Option<char> {
    let s = std::str::from_utf8(h).ok()?;
    let v = u32::from_str_radix(s, 16).ok()?;
    char::from_u32(v)
}

/// The Unicode text of a glyph name, appended to `out`. Returns false when the name
/// means nothing (`.notdef`, `g123`, `cid456` and the like).
pub(crate) fn name_to_chars(name: &[u8], out: &mut Vec<char>) -> bool {
    if let Some(c) = name_to_char(name) {
        // Ligature glyphs named by their ligature ("fi", "ffl") read as their letters,
        // as pdftotext reads them.
        let lig: &[char] = match c {
            '\u{fb00}' => &['f', 'f'],
            '\u{fb01}' => &['f', 'i'],
            '\u{fb02}' => &['f', 'l'],
            '\u{fb03}' => &['f', 'f', 'i'],
            '\u{fb04}' => &['f', 'f', 'l'],
            '\u{fb05}' | '\u{fb06}' => &['s', 't'],
            _ => &[],
        };
        if lig.is_empty() {
            out.push(c);
        } else {
            out.extend_from_slice(lig);
        }
        return true;
    }
    // Suffixes (".sc", ".alt", ".swash") and ligature components ("f_f_i").
    let base = match name.iter().position(|&b| b == b'.') {
        Some(0) => return false,
        Some(p) => &name[..p],
        None => name,
    };
    if base.contains(&b'_') {
        let before = out.len();
        for part in base.split(|&b| b == b'_') {
            if let Some(c) = name_to_char(part) {
                out.push(c);
            } else {
                out.truncate(before);
                return false;
            }
        }
        return out.len() > before;
    }
    if base.len() < name.len() {
        if let Some(c) = name_to_char(base) {
            out.push(c);
            return true;
        }
    }
    // "uniXXXXYYYY": several BMP characters.
    if let Some(h) = base.strip_prefix(b"uni") {
        if h.len() >= 8 && h.len() % 4 == 0 {
            let before = out.len();
            for chunk in h.chunks(4) {
                match hex_char(chunk) {
                    Some(c) => out.push(c),
                    None => {
                        out.truncate(before);
                        return false;
                    }
                }
            }
            return true;
        }
    }
    false
}

/// The single character a glyph name stands for.
pub(crate) fn name_to_char(name: &[u8]) -> Option<char> {
    if let Some(c) = agl(name) {
        return Some(c);
    }
    if let Some(h) = name.strip_prefix(b"uni") {
        if h.len() == 4 {
            return hex_char(h);
        }
    }
    if let Some(h) = name.strip_prefix(b"u") {
        if (4..=6).contains(&h.len()) && h.iter().all(u8::is_ascii_hexdigit) {
            return hex_char(h);
        }
    }
    None
}

/// Widths of a standard 14 font (or a common alias of one), by glyph name.
pub(crate) fn core14_widths(base_font: &[u8]) -> Option<(bool, &'static [(&'static str, u16)])> {
    let name = std::str::from_utf8(base_font).ok()?;
    // Subset tags "ABCDEF+Name".
    let name = match name.split_once('+') {
        Some((tag, rest)) if tag.len() == 6 => rest,
        _ => name,
    };
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("courier") {
        return Some((true, &[]));
    }
    let bold = lower.contains("bold") || lower.contains(",bd");
    let italic = lower.contains("italic") || lower.contains("oblique");
    let family = if lower.starts_with("times") {
        "Times"
    } else if lower.starts_with("helvetica") || lower.starts_with("arial") {
        "Helvetica"
    } else if lower.starts_with("symbol") {
        "Symbol"
    } else if lower.starts_with("zapfdingbats") {
        "ZapfDingbats"
    } else {
        return None;
    };
    let full = match (family, bold, italic) {
        ("Times", false, false) => "Times-Roman",
        ("Times", true, false) => "Times-Bold",
        ("Times", false, true) => "Times-Italic",
        ("Times", true, true) => "Times-BoldItalic",
        ("Helvetica", false, false) => "Helvetica",
        ("Helvetica", true, false) => "Helvetica-Bold",
        ("Helvetica", false, true) => "Helvetica-Oblique",
        ("Helvetica", true, true) => "Helvetica-BoldOblique",
        (f, _, _) => f,
    };
    CORE14
        .iter()
        .find(|(n, _)| *n == full)
        .map(|(_, w)| (false, *w))
}

/// The width of glyph `name` in a core font's table.
pub(crate) fn core_width(table: &[(&str, u16)], name: &str) -> Option<u16> {
    table
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| table[i].1)
}

/// The glyph name StandardEncoding (or Symbol's encoding) gives `code`, for width
/// look-ups in the core metrics.
pub(crate) fn name_of_unicode(c: char) -> Option<&'static str> {
    // A reverse look-up over the glyph list; only used while building width tables of
    // non-embedded core fonts (at most 256 calls per font).
    let u = u32::from(c);
    GLYPH_NAMES
        .iter()
        .find(|(_, v)| u32::from(*v) == u)
        .map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name_to_char(b"A"), Some('A'));
        assert_eq!(name_to_char(b"quoteright"), Some('\u{2019}'));
        assert_eq!(name_to_char(b"uni00E9"), Some('é'));
        assert_eq!(name_to_char(b"u1F600"), Some('\u{1F600}'));
        let mut v = Vec::new();
        assert!(name_to_chars(b"f_f_i", &mut v));
        assert_eq!(v, vec!['f', 'f', 'i']);
        v.clear();
        assert!(name_to_chars(b"a.sc", &mut v));
        assert_eq!(v, vec!['a']);
        v.clear();
        assert!(!name_to_chars(b"g123", &mut v));
        assert!(!name_to_chars(b".notdef", &mut v));
        assert!(v.is_empty());
    }

    #[test]
    fn encodings_and_core_widths() {
        assert_eq!(BaseEncoding::WinAnsi.table()[0x93], 0x201c);
        assert_eq!(BaseEncoding::MacRoman.table()[0xd5], 0x2019);
        assert_eq!(BaseEncoding::Standard.table()[0x27], 0x2019);
        let (fixed, t) = core14_widths(b"ABCDEF+Helvetica-Bold").unwrap();
        assert!(!fixed);
        assert_eq!(core_width(t, "a"), Some(556));
        assert!(core14_widths(b"Courier").unwrap().0);
        assert!(core14_widths(b"CMR10").is_none());
        assert_eq!(name_of_unicode('a'), Some("a"));
    }
}
