//! CMaps: ToUnicode maps (`bfchar`, `bfrange`) and character-code-to-CID maps
//! (`cidchar`, `cidrange`), with their code-space ranges (PDF 32000-1 §9.7.5, §9.10.3).

use std::collections::HashMap;

use crate::content::lexer::{Lexer, Tok};

/// Most mappings one CMap may define (expanded ranges included); a hostile CMap with
/// huge ranges is cut here.
const MAX_ENTRIES: usize = 1 << 18;

/// Code-space ranges: which byte sequences are codes, and how long each is.
#[derive(Debug, Clone, Default)]
pub(crate) struct CodeSpace {
    /// (byte length, low, high), low/high as big-endian integers of that length.
    ranges: Vec<(u8, u32, u32)>,
}

impl CodeSpace {
    /// Two-byte codes (Identity-H/V and the default for CID fonts).
    pub(crate) fn two_bytes() -> Self {
        Self {
            ranges: vec![(2, 0, 0xffff)],
        }
    }

    /// Whether any range is defined.
    pub(crate) fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The next code in `bytes` from `pos`: (code, length in bytes). Bytes that match no
    /// range are consumed with the length of the shortest range (as readers do).
    #[inline]
    pub(crate) fn next_code(&self, bytes: &[u8], pos: usize) -> (u32, usize) {
        let mut code: u32 = 0;
        for n in 1..=4usize {
            let Some(&b) = bytes.get(pos + n - 1) else {
                break;
            };
            code = code << 8 | u32::from(b);
            if self
                .ranges
                .iter()
                .any(|&(len, lo, hi)| usize::from(len) == n && code >= lo && code <= hi)
            {
                return (code, n);
            }
        }
        let n = self
            .ranges
            .iter()
            .map(|r| usize::from(r.0))
            .min()
            .unwrap_or(1)
            .min(bytes.len() - pos)
            .max(1);
        let mut code = 0u32;
        for &b in &bytes[pos..pos + n] {
            code = code << 8 | u32::from(b);
        }
        (code, n)
    }
}

/// A parsed ToUnicode CMap.
#[derive(Debug, Clone, Default)]
pub(crate) struct ToUnicode {
    /// Code spaces declared by the CMap (used for Type0 fonts when the encoding CMap
    /// is Identity and says nothing).
    pub(crate) space: CodeSpace,
    /// code → (start, len) in `chars`.
    map: HashMap<u32, (u32, u8)>,
    chars: Vec<char>,
}

impl ToUnicode {
    /// The text of `code`, if mapped.
    #[inline]
    pub(crate) fn get(&self, code: u32) -> Option<&[char]> {
        self.map
            .get(&code)
            .map(|&(s, n)| &self.chars[s as usize..s as usize + n as usize])
    }

    /// Number of mapped codes.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    fn put(&mut self, code: u32, units: &[u16]) {
        if self.map.len() >= MAX_ENTRIES {
            return;
        }
        let start = self.chars.len() as u32;
        let mut n = 0u8;
        for c in char::decode_utf16(units.iter().copied()) {
            let c = c.unwrap_or('\u{fffd}');
            if n < 16 {
                self.chars.push(c);
                n += 1;
            }
        }
        self.map.insert(code, (start, n));
    }
}

/// A parsed character-code-to-CID CMap (an embedded Type0 encoding).
#[derive(Debug, Clone, Default)]
pub(crate) struct CidMap {
    /// Code spaces.
    pub(crate) space: CodeSpace,
    ranges: Vec<(u32, u32, u32)>,
    singles: HashMap<u32, u32>,
}

impl CidMap {
    /// The CID of `code` (0, .notdef, when unmapped).
    pub(crate) fn cid(&self, code: u32) -> u32 {
        if let Some(&c) = self.singles.get(&code) {
            return c;
        }
        let i = self.ranges.partition_point(|r| r.0 <= code);
        if i > 0 {
            let (lo, hi, cid) = self.ranges[i - 1];
            if code >= lo && code <= hi {
                return cid + (code - lo);
            }
        }
        0
    }
}

fn be(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .take(4)
        .fold(0u32, |a, &b| a << 8 | u32::from(b))
}

fn utf16_units(bytes: &[u8]) -> Vec<u16> {
    if bytes.len() == 1 {
        return vec![u16::from(bytes[0])];
    }
    bytes
        .chunks(2)
        .map(|c| {
            if c.len() == 2 {
                u16::from(c[0]) << 8 | u16::from(c[1])
            } else {
                u16::from(c[0])
            }
        })
        .collect()
}

/// What one pass over a CMap found.
#[derive(Default)]
struct Parsed {
    space: CodeSpace,
    uni: ToUnicode,
    cid: CidMap,
    /// `/Name usecmap` references.
    usecmap: Option<Vec<u8>>,
}

fn parse(data: &[u8]) -> Parsed {
    let mut out = Parsed::default();
    let mut lx = Lexer::new(data);
    let mut arena: Vec<u8> = Vec::new();
    let mut toks: Vec<Tok> = Vec::new();
    let mut mode: u8 = 0; // 1 codespace, 2 bfchar, 3 bfrange, 4 cidchar, 5 cidrange
    let mut steps = 0usize;
    while let Some(t) = lx.next_tok(&mut arena) {
        steps += 1;
        if steps > 4 * MAX_ENTRIES {
            break;
        }
        if let Tok::Op(s, e) = t {
            let op = lx.op_bytes(s, e);
            match op {
                b"begincodespacerange" => mode = 1,
                b"beginbfchar" => mode = 2,
                b"beginbfrange" => mode = 3,
                b"begincidchar" | b"beginnotdefchar" => mode = 4,
                b"begincidrange" | b"beginnotdefrange" => mode = 5,
                b"usecmap" => {
                    if let Some(Tok::Name(s, e)) = toks.last() {
                        out.usecmap = Some(arena[*s as usize..*e as usize].to_vec());
                    }
                    mode = 0;
                }
                _ if op.starts_with(b"end") => {
                    apply(&mut out, mode, &toks, &arena);
                    mode = 0;
                }
                _ => {}
            }
            toks.clear();
            if mode == 0 {
                arena.clear();
            }
            continue;
        }
        if mode == 0 && !matches!(t, Tok::Name(..)) {
            continue;
        }
        toks.push(t);
        if toks.len() > 4 * 100_000 {
            apply(&mut out, mode, &toks, &arena);
            toks.clear();
        }
    }
    out
}

fn apply(out: &mut Parsed, mode: u8, toks: &[Tok], arena: &[u8]) {
    let s = |t: &Tok| match *t {
        Tok::Str(a, b) => Some(&arena[a as usize..b as usize]),
        _ => None,
    };
    match mode {
        1 => {
            for pair in toks.chunks(2) {
                if let [a, b] = pair {
                    if let (Some(lo), Some(hi)) = (s(a), s(b)) {
                        if !lo.is_empty() && lo.len() <= 4 && lo.len() == hi.len() {
                            out.space.ranges.push((lo.len() as u8, be(lo), be(hi)));
                        }
                    }
                }
            }
        }
        2 => {
            for pair in toks.chunks(2) {
                if let [a, b] = pair {
                    if let Some(src) = s(a) {
                        match *b {
                            Tok::Str(..) => {
                                let dst = s(b).unwrap_or_default();
                                out.uni.put(be(src), &utf16_units(dst));
                            }
                            // Some producers write a glyph name instead of a string.
                            Tok::Name(x, y) => {
                                let name = &arena[x as usize..y as usize];
                                if let Some(c) = super::names::name_to_char(name) {
                                    let mut buf = [0u16; 2];
                                    out.uni.put(be(src), c.encode_utf16(&mut buf));
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        3 => {
            let mut i = 0;
            while i + 2 < toks.len() {
                let (Some(lo), Some(hi)) = (s(&toks[i]), s(&toks[i + 1])) else {
                    i += 1;
                    continue;
                };
                let (lo, hi) = (be(lo), be(hi));
                if hi < lo {
                    i += 3;
                    continue;
                }
                match toks[i + 2] {
                    Tok::Str(..) => {
                        let base = utf16_units(s(&toks[i + 2]).unwrap_or_default());
                        let mut units = base.clone();
                        for (k, code) in (lo..=hi).enumerate() {
                            if out.uni.map.len() >= MAX_ENTRIES {
                                break;
                            }
                            if let (Some(last), Some(&b)) = (units.last_mut(), base.last()) {
                                *last = b.wrapping_add(k as u16);
                            }
                            out.uni.put(code, &units);
                        }
                        i += 3;
                    }
                    Tok::ArrOpen => {
                        let mut j = i + 3;
                        let mut code = lo;
                        while j < toks.len() && toks[j] != Tok::ArrClose {
                            if let Some(d) = s(&toks[j]) {
                                if code <= hi {
                                    out.uni.put(code, &utf16_units(d));
                                }
                                code = code.saturating_add(1);
                            }
                            j += 1;
                        }
                        i = j + 1;
                    }
                    _ => i += 3,
                }
            }
        }
        4 => {
            for pair in toks.chunks(2) {
                if let [a, Tok::Num(cid)] = pair {
                    if let Some(src) = s(a) {
                        if out.cid.singles.len() < MAX_ENTRIES {
                            out.cid.singles.insert(be(src), *cid as u32);
                        }
                    }
                }
            }
        }
        5 => {
            for tri in toks.chunks(3) {
                if let [a, b, Tok::Num(cid)] = tri {
                    if let (Some(lo), Some(hi)) = (s(a), s(b)) {
                        if out.cid.ranges.len() < MAX_ENTRIES {
                            out.cid.ranges.push((be(lo), be(hi), *cid as u32));
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// Parses a ToUnicode CMap.
pub(crate) fn parse_to_unicode(data: &[u8]) -> ToUnicode {
    let p = parse(data);
    let mut u = p.uni;
    u.space = p.space;
    u
}

/// Parses an embedded encoding CMap. Also returns the name of a `usecmap` parent.
pub(crate) fn parse_cid_map(data: &[u8]) -> (CidMap, Option<Vec<u8>>) {
    let p = parse(data);
    let mut c = p.cid;
    c.space = p.space;
    c.ranges.sort_unstable();
    (c, p.usecmap)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMAP: &[u8] = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap
/CMapName /Adobe-Identity-UCS def
1 begincodespacerange <0000> <FFFF> endcodespacerange
3 beginbfchar <0003> <0020> <0011> <0066 0069> <0012> <D835DC00> endbfchar
2 beginbfrange <0020> <0022> <0041> <0030> <0031> [<0078> <0079>] endbfrange
endcmap CMapName currentdict /CMap defineresource pop end end";

    #[test]
    fn bfchar_and_bfrange() {
        let u = parse_to_unicode(CMAP);
        assert_eq!(u.get(3), Some(&[' '][..]));
        assert_eq!(u.get(0x11), Some(&['f', 'i'][..]));
        assert_eq!(u.get(0x12), Some(&['\u{1d400}'][..]));
        assert_eq!(u.get(0x21), Some(&['B'][..]));
        assert_eq!(u.get(0x22), Some(&['C'][..]));
        assert_eq!(u.get(0x31), Some(&['y'][..]));
        assert_eq!(u.get(0x23), None);
        assert_eq!(u.space.next_code(&[0, 3, 0, 0x21], 0), (3, 2));
    }

    #[test]
    fn cid_ranges_and_mixed_code_lengths() {
        let (m, parent) = parse_cid_map(
            b"/Adobe-Japan1-6 usecmap 2 begincodespacerange <00> <80> <8140> <9ffc> endcodespacerange
1 begincidrange <20> <7e> 1 endcidrange 1 begincidchar <8140> 633 endcidchar",
        );
        assert_eq!(parent.as_deref(), Some(&b"Adobe-Japan1-6"[..]));
        assert_eq!(m.cid(0x41), 34);
        assert_eq!(m.cid(0x8140), 633);
        assert_eq!(m.cid(0x7f), 0);
        let bytes = [0x41, 0x81, 0x40, 0x42];
        assert_eq!(m.space.next_code(&bytes, 0), (0x41, 1));
        assert_eq!(m.space.next_code(&bytes, 1), (0x8140, 2));
        assert_eq!(m.space.next_code(&bytes, 3), (0x42, 1));
    }

    #[test]
    fn huge_range_is_capped() {
        let u = parse_to_unicode(b"1 beginbfrange <00000000> <ffffffff> <0041> endbfrange");
        assert!(u.len() <= MAX_ENTRIES);
    }
}
