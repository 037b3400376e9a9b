//! Fonts as the text interpreter needs them: how bytes split into character codes, what
//! text each code stands for, and how far each glyph advances.
//!
//! Unicode comes, in order of preference, from the font's ToUnicode CMap; for simple
//! fonts from the encoding (the base encoding — explicit, else the embedded program's
//! built-in one, else StandardEncoding — with `/Differences` applied) through glyph
//! names; for CID fonts of the Adobe-Japan1/GB1/CNS1/Korea1 collections from Adobe's
//! CID-to-Unicode tables; as a last resort printable ASCII codes stand for themselves.
//!
//! Widths come from `/Widths` (simple fonts, scaled by the FontMatrix for Type 3),
//! `/W` and `/DW` (CID fonts), or the standard 14 fonts' metrics when a core font comes
//! without widths.

pub(crate) mod cmap;
mod collections;
mod core14;
mod glyphdata;
pub(crate) mod names;
mod program;

use lopdf::{Dictionary, Document, Object};

use crate::decode::{self, Budget};
use crate::objects::{deref, get, get_array, get_dict, get_name, get_num, get_stream, num, nums};
use cmap::{CidMap, CodeSpace, ToUnicode};
use names::BaseEncoding;

/// What kind of font program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Type1, MMType1, TrueType: one byte per code.
    Simple,
    /// Type0 with a CIDFont descendant.
    Cid,
    /// Type3: glyphs are content streams.
    Type3,
}

/// How a Type0 font turns codes into CIDs.
#[derive(Debug, Clone)]
enum CidEncoding {
    /// Identity-H / Identity-V: CID = 2-byte code.
    Identity,
    /// Uni*-UCS2/UTF16 predefined CMaps: the code is UTF-16 already.
    Unicode,
    /// An embedded CMap.
    Map(Box<CidMap>),
}

/// A loaded font.
#[derive(Debug, Clone)]
pub(crate) struct Font {
    /// What kind.
    pub(crate) kind: Kind,
    /// `/BaseFont` (for diagnostics).
    pub(crate) name: String,
    /// Vertical writing (Identity-V and friends).
    pub(crate) vertical: bool,
    /// Ascent in text-space units per unit of font size (positive).
    pub(crate) ascent: f32,
    /// Descent in text-space units per unit of font size (negative).
    pub(crate) descent: f32,
    /// Multiplier of the nominal font size giving the visual size (Type 3 fonts).
    pub(crate) size_scale: f32,
    /// Simple fonts: (start, len) into `chars` per code.
    simple_text: Vec<(u32, u8)>,
    /// Simple fonts: advance per code, text-space units per unit of font size.
    simple_w: Vec<f32>,
    chars: Vec<char>,
    space: CodeSpace,
    cid_enc: CidEncoding,
    to_unicode: Option<ToUnicode>,
    collection: Option<&'static [u32]>,
    cid_w: Vec<(u32, u32, f32)>,
    dw: f32,
}

/// One decoded code of a shown string.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Code {
    /// The character code.
    pub(crate) code: u32,
    /// How many bytes it took.
    pub(crate) len: usize,
}

impl Font {
    /// The next code of `bytes` at `pos`.
    #[inline]
    pub(crate) fn next_code(&self, bytes: &[u8], pos: usize) -> Code {
        match self.kind {
            Kind::Simple | Kind::Type3 => Code {
                code: u32::from(bytes[pos]),
                len: 1,
            },
            Kind::Cid => {
                let (code, len) = self.space.next_code(bytes, pos);
                Code { code, len }
            }
        }
    }

    /// Whether word spacing (`Tw`) applies to this code: a single-byte code 32.
    #[inline]
    pub(crate) fn is_word_space(&self, c: Code) -> bool {
        c.code == 32 && c.len == 1
    }

    fn cid(&self, code: u32) -> u32 {
        match &self.cid_enc {
            CidEncoding::Identity | CidEncoding::Unicode => code,
            CidEncoding::Map(m) => m.cid(code),
        }
    }

    /// The horizontal advance of `code` per unit of font size.
    #[inline]
    pub(crate) fn width(&self, code: u32) -> f32 {
        match self.kind {
            Kind::Simple | Kind::Type3 => self.simple_w.get(code as usize).copied().unwrap_or(0.0),
            Kind::Cid => {
                let cid = self.cid(code);
                let i = self.cid_w.partition_point(|r| r.0 <= cid);
                if i > 0 {
                    let (lo, hi, w) = self.cid_w[i - 1];
                    if cid >= lo && cid <= hi {
                        return w;
                    }
                }
                self.dw
            }
        }
    }

    /// The text of `code` (empty when unknown), appended to `out`.
    #[inline]
    pub(crate) fn text(&self, code: u32, out: &mut Vec<char>) {
        if let Some(tu) = &self.to_unicode {
            if let Some(s) = tu.get(code) {
                if !(s.is_empty() || s == ['\0']) {
                    out.extend_from_slice(s);
                    return;
                }
            }
        }
        match self.kind {
            Kind::Simple | Kind::Type3 => {
                if let Some(&(s, n)) = self.simple_text.get(code as usize) {
                    out.extend_from_slice(&self.chars[s as usize..s as usize + n as usize]);
                }
            }
            Kind::Cid => match &self.cid_enc {
                CidEncoding::Unicode => {
                    if let Some(c) = char::from_u32(code) {
                        out.push(c);
                    }
                }
                _ => {
                    let cid = self.cid(code);
                    if let Some(table) = self.collection {
                        if let Some(&u) = table.get(cid as usize) {
                            if let Some(c) = char::from_u32(u).filter(|_| u != 0) {
                                out.push(c);
                            }
                        }
                    }
                }
            },
        }
    }

    /// A placeholder for a font that could not be loaded: Latin-1, 0.5 em advances.
    pub(crate) fn fallback() -> Self {
        let mut f = Font::empty(Kind::Simple, "(missing font)".into());
        for code in 0..256u32 {
            let start = f.chars.len() as u32;
            if (32..127).contains(&code) {
                f.chars.push(char::from(code as u8));
                f.simple_text[code as usize] = (start, 1);
            }
            f.simple_w[code as usize] = 0.5;
        }
        f
    }

    fn empty(kind: Kind, name: String) -> Self {
        Font {
            kind,
            name,
            vertical: false,
            ascent: 0.9,
            descent: -0.2,
            size_scale: 1.0,
            simple_text: vec![(0, 0); 256],
            simple_w: vec![0.0; 256],
            chars: Vec::new(),
            space: CodeSpace::default(),
            cid_enc: CidEncoding::Identity,
            to_unicode: None,
            collection: None,
            cid_w: Vec::new(),
            dw: 1.0,
        }
    }
}

/// Loads a font dictionary. Problems become `warnings`; a font is always returned.
pub(crate) fn load(
    doc: &Document,
    dict: &Dictionary,
    budget: &mut Budget,
    warnings: &mut Vec<String>,
) -> Font {
    let subtype = get_name(doc, dict, b"Subtype").unwrap_or(b"Type1");
    let name = get_name(doc, dict, b"BaseFont")
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    let mut font = match subtype {
        b"Type0" => load_type0(doc, dict, name, budget, warnings),
        b"Type3" => load_simple(doc, dict, Kind::Type3, name, budget, warnings),
        _ => load_simple(doc, dict, Kind::Simple, name, budget, warnings),
    };
    if let Some(s) = get_stream(doc, dict, b"ToUnicode") {
        match decode::decode(doc, s, budget) {
            Ok((data, _)) => {
                let tu = cmap::parse_to_unicode(&data);
                if tu.len() > 0 {
                    font.to_unicode = Some(tu);
                }
            }
            Err(e) => warnings.push(format!("font {}: ToUnicode CMap not read: {e}", font.name)),
        }
    }
    font
}

fn descriptor_metrics(doc: &Document, fd: Option<&Dictionary>, font: &mut Font) {
    let Some(fd) = fd else { return };
    if let Some(a) = get_num(doc, fd, b"Ascent") {
        let a = a / 1000.0;
        if (0.5..=1.2).contains(&a) {
            font.ascent = a;
        }
    }
    if let Some(d) = get_num(doc, fd, b"Descent") {
        let d = d / 1000.0;
        if (-0.5..=0.0).contains(&d) {
            font.descent = d;
        }
    }
}

fn load_simple(
    doc: &Document,
    dict: &Dictionary,
    kind: Kind,
    name: String,
    budget: &mut Budget,
    warnings: &mut Vec<String>,
) -> Font {
    let mut font = Font::empty(kind, name);
    let fd = get_dict(doc, dict, b"FontDescriptor");
    descriptor_metrics(doc, fd, &mut font);
    let flags = fd.and_then(|fd| get_num(doc, fd, b"Flags")).unwrap_or(0.0) as u32;
    let symbolic = flags & 4 != 0;
    let base_font = get_name(doc, dict, b"BaseFont").unwrap_or(b"");
    let is_symbol_font = base_font.ends_with(b"Symbol") || base_font.starts_with(b"Symbol");

    // 1. Base encoding.
    let enc_obj = get(doc, dict, b"Encoding");
    let (explicit_base, differences) = match enc_obj {
        Some(Object::Name(n)) => (BaseEncoding::from_name(n), None),
        Some(Object::Dictionary(d)) => (
            get_name(doc, d, b"BaseEncoding").and_then(BaseEncoding::from_name),
            get_array(doc, d, b"Differences"),
        ),
        _ => (None, None),
    };
    let mut names: Vec<Option<Vec<u8>>> = vec![None; 256];
    let mut uni: Vec<u32> = vec![0; 256];
    let builtin = if explicit_base.is_none() && kind == Kind::Simple {
        builtin_encoding(doc, fd, budget, warnings, &font.name)
    } else {
        None
    };
    if let Some(b) = builtin {
        for (code, n) in b.into_iter().enumerate().take(256) {
            if let Some(n) = n {
                names[code] = Some(n);
            }
        }
    } else {
        let base = explicit_base.unwrap_or(if is_symbol_font {
            BaseEncoding::Symbol
        } else if kind == Kind::Type3
            || (symbolic && kind == Kind::Simple && explicit_base.is_none() && enc_obj.is_none())
        {
            // Symbolic fonts without an encoding: codes stand for themselves below.
            BaseEncoding::Standard
        } else {
            BaseEncoding::Standard
        });
        let table = base.table();
        for code in 0..256 {
            uni[code] = u32::from(table[code]);
        }
        if symbolic && enc_obj.is_none() && !is_symbol_font {
            // A symbolic TrueType/Type1 font without encoding: the codes are (usually)
            // Latin-1 or the font's own cmap; readers treat printable codes as text.
            for (code, u) in uni.iter_mut().enumerate() {
                if *u == 0 && (32..127).contains(&code) {
                    *u = code as u32;
                }
            }
        }
    }
    // 2. Differences.
    if let Some(diffs) = differences {
        let mut code: i64 = -1;
        for o in diffs {
            match deref(doc, o) {
                Object::Integer(i) => code = *i,
                Object::Real(r) => code = *r as i64,
                Object::Name(n) => {
                    if (0..256).contains(&code) {
                        let c = code as usize;
                        names[c] = Some(n.clone());
                        uni[c] = 0;
                        code += 1;
                        // The text is filled below from the name.
                    } else {
                        code += 1;
                    }
                }
                _ => {}
            }
        }
    }
    // 3. Text per code.
    let mut buf: Vec<char> = Vec::new();
    for code in 0..256usize {
        buf.clear();
        if uni[code] != 0 {
            if let Some(c) = char::from_u32(uni[code]) {
                buf.push(c);
            }
        } else if let Some(n) = &names[code] {
            if !names::name_to_chars(n, &mut buf)
                && kind == Kind::Type3
                && (33..127).contains(&code)
            {
                buf.push(char::from(code as u8));
            }
        } else if kind == Kind::Type3 && (33..127).contains(&code) {
            buf.push(char::from(code as u8));
        }
        if !buf.is_empty() {
            let start = font.chars.len() as u32;
            font.chars.extend_from_slice(&buf[..buf.len().min(16)]);
            font.simple_text[code] = (start, buf.len().min(16) as u8);
        }
    }
    // 4. Widths.
    let scale = if kind == Kind::Type3 {
        get_array(doc, dict, b"FontMatrix")
            .map(|m| nums(doc, m))
            .and_then(|m| m.first().copied())
            .filter(|a| a.is_finite() && *a != 0.0)
            .map(f32::abs)
            .unwrap_or(0.001)
    } else {
        0.001
    };
    let missing = fd
        .and_then(|fd| get_num(doc, fd, b"MissingWidth"))
        .unwrap_or(0.0)
        * scale;
    let core = names::core14_widths(base_font);
    let first = get_num(doc, dict, b"FirstChar").unwrap_or(0.0).max(0.0) as usize;
    let widths = get_array(doc, dict, b"Widths");
    for code in 0..256usize {
        let mut w: Option<f32> = None;
        if let Some(ws) = widths {
            if code >= first && code - first < ws.len() {
                w = num(doc, &ws[code - first]).map(|v| v * scale);
            }
        }
        if w.is_none() || (widths.is_none() && w == Some(0.0)) {
            if let Some((fixed, table)) = core {
                w = if fixed {
                    Some(0.6)
                } else {
                    let gname: Option<String> = match &names[code] {
                        Some(n) => Some(String::from_utf8_lossy(n).into_owned()),
                        None => {
                            let (s, n) = font.simple_text[code];
                            (n == 1)
                                .then(|| names::name_of_unicode(font.chars[s as usize]))
                                .flatten()
                                .map(str::to_string)
                        }
                    };
                    gname
                        .and_then(|g| names::core_width(table, &g))
                        .map(|v| f32::from(v) / 1000.0)
                };
            }
        }
        font.simple_w[code] = match w {
            Some(v) if v.is_finite() => v,
            _ if missing > 0.0 => missing,
            _ if widths.is_none() && core.is_none() => 0.5,
            _ => 0.0,
        };
    }
    if kind == Kind::Type3 {
        // Type 3 glyph space is arbitrary: estimate the visual size from the average
        // advance of the letters, as an average letter is about half an em wide.
        let letters: Vec<f32> = (0..256)
            .filter(|&c| {
                let (s, n) = font.simple_text[c];
                n == 1 && font.chars[s as usize].is_alphanumeric() && font.simple_w[c] > 0.0
            })
            .map(|c| font.simple_w[c])
            .collect();
        if !letters.is_empty() {
            let avg = letters.iter().sum::<f32>() / letters.len() as f32;
            font.size_scale = (avg / 0.5).clamp(0.05, 20.0);
        }
    }
    font
}

fn builtin_encoding(
    doc: &Document,
    fd: Option<&Dictionary>,
    budget: &mut Budget,
    warnings: &mut Vec<String>,
    name: &str,
) -> Option<Vec<Option<Vec<u8>>>> {
    let fd = fd?;
    if let Some(s) = get_stream(doc, fd, b"FontFile") {
        return match decode::decode(doc, s, budget) {
            Ok((data, _)) => program::type1_encoding(&data),
            Err(e) => {
                warnings.push(format!(
                    "font {name}: embedded Type 1 program not read: {e}"
                ));
                None
            }
        };
    }
    if let Some(s) = get_stream(doc, fd, b"FontFile3") {
        let sub = get_name(doc, &s.dict, b"Subtype").unwrap_or(b"");
        if sub == b"Type1C" {
            return match decode::decode(doc, s, budget) {
                Ok((data, _)) => program::cff_encoding(&data),
                Err(e) => {
                    warnings.push(format!("font {name}: embedded CFF program not read: {e}"));
                    None
                }
            };
        }
    }
    None
}

fn load_type0(
    doc: &Document,
    dict: &Dictionary,
    name: String,
    budget: &mut Budget,
    warnings: &mut Vec<String>,
) -> Font {
    let mut font = Font::empty(Kind::Cid, name);
    font.space = CodeSpace::two_bytes();
    match get(doc, dict, b"Encoding") {
        Some(Object::Name(n)) => {
            let n = n.as_slice();
            font.vertical = n.ends_with(b"-V");
            if n.starts_with(b"Identity") {
                font.cid_enc = CidEncoding::Identity;
            } else if n.starts_with(b"Uni")
                && (n.windows(4).any(|w| w == b"UCS2") || n.windows(5).any(|w| w == b"UTF16"))
            {
                font.cid_enc = CidEncoding::Unicode;
            } else {
                warnings.push(format!(
                    "font {}: predefined CMap {} is not built in; codes read as 2-byte CIDs",
                    font.name,
                    String::from_utf8_lossy(n)
                ));
            }
        }
        Some(Object::Stream(s)) => match decode::decode(doc, s, budget) {
            Ok((data, _)) => {
                let (m, _parent) = cmap::parse_cid_map(&data);
                if !m.space.is_empty() {
                    font.space = m.space.clone();
                }
                font.vertical = get_num(doc, &s.dict, b"WMode").unwrap_or(0.0) == 1.0;
                font.cid_enc = CidEncoding::Map(Box::new(m));
            }
            Err(e) => warnings.push(format!("font {}: encoding CMap not read: {e}", font.name)),
        },
        _ => {}
    }
    let desc = get_array(doc, dict, b"DescendantFonts")
        .and_then(|a| a.first())
        .and_then(|o| crate::objects::as_dict(doc, o));
    if let Some(d) = desc {
        descriptor_metrics(doc, get_dict(doc, d, b"FontDescriptor"), &mut font);
        if let Some(dw) = get_num(doc, d, b"DW") {
            font.dw = dw / 1000.0;
        }
        if let Some(w) = get_array(doc, d, b"W") {
            let mut i = 0;
            while i < w.len() && font.cid_w.len() < 1 << 20 {
                let Some(first) = num(doc, &w[i]) else { break };
                let first = first.max(0.0) as u32;
                match deref(doc, w.get(i + 1).unwrap_or(&Object::Null)) {
                    Object::Array(ws) => {
                        for (k, o) in ws.iter().enumerate() {
                            if let Some(v) = num(doc, o) {
                                font.cid_w
                                    .push((first + k as u32, first + k as u32, v / 1000.0));
                            }
                        }
                        i += 2;
                    }
                    o => {
                        let last = num(doc, o).unwrap_or(0.0).max(0.0) as u32;
                        let v = w.get(i + 2).and_then(|o| num(doc, o)).unwrap_or(0.0);
                        if last >= first {
                            font.cid_w.push((first, last, v / 1000.0));
                        }
                        i += 3;
                    }
                }
            }
            font.cid_w.sort_by_key(|r| r.0);
        }
        if let Some(info) = get_dict(doc, d, b"CIDSystemInfo") {
            let ordering = get(doc, info, b"Ordering").and_then(|o| match o {
                Object::String(s, _) => Some(s.as_slice()),
                _ => None,
            });
            if let Some(o) = ordering {
                font.collection = collections::table(o);
            }
        }
    }
    font
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Object {
        Object::Name(s.as_bytes().to_vec())
    }

    #[test]
    fn simple_font_with_differences_and_widths() {
        let doc = Document::new();
        let mut enc = Dictionary::new();
        enc.set("BaseEncoding", name("WinAnsiEncoding"));
        enc.set(
            "Differences",
            Object::Array(vec![
                Object::Integer(65),
                name("fi"),
                name("uni00E9"),
                name("g7"),
            ]),
        );
        let mut d = Dictionary::new();
        d.set("Subtype", name("TrueType"));
        d.set("Encoding", Object::Dictionary(enc));
        d.set("FirstChar", Object::Integer(65));
        d.set(
            "Widths",
            Object::Array(vec![Object::Integer(556), Object::Integer(444)]),
        );
        let mut b = Budget::new(1 << 20, 1 << 20);
        let mut w = Vec::new();
        let f = load(&doc, &d, &mut b, &mut w);
        let mut out = Vec::new();
        f.text(65, &mut out);
        f.text(66, &mut out);
        f.text(67, &mut out);
        f.text(0x93, &mut out);
        assert_eq!(out.iter().collect::<String>(), "fié\u{201c}");
        assert!((f.width(65) - 0.556).abs() < 1e-6);
        assert_eq!(f.width(70), 0.0);
    }

    #[test]
    fn core_font_without_widths_uses_afm_metrics() {
        let doc = Document::new();
        let mut d = Dictionary::new();
        d.set("Subtype", name("Type1"));
        d.set("BaseFont", name("Helvetica"));
        let mut b = Budget::new(1 << 20, 1 << 20);
        let f = load(&doc, &d, &mut b, &mut Vec::new());
        assert!((f.width(u32::from(b'a')) - 0.556).abs() < 1e-6);
        assert!((f.width(32) - 0.278).abs() < 1e-6);
    }
}
