//! Built-in encodings of embedded font programs: the `/Encoding` of a Type 1 font's
//! clear-text part, and the encoding and charset of a CFF (Type 1C) font. A simple font
//! without a `/BaseEncoding` uses these (PDF 32000-1 §9.6.6.1), which is what makes
//! TeX's fonts readable when they carry no ToUnicode map.

use crate::content::lexer::{Lexer, Tok};

/// A built-in encoding: glyph name per code.
pub(crate) type NameEncoding = Vec<Option<Vec<u8>>>;

/// The `/Encoding` of a Type 1 font program (`None` for `StandardEncoding` or when
/// absent).
pub(crate) fn type1_encoding(data: &[u8]) -> Option<NameEncoding> {
    let mut data = data;
    if data.len() > 6 && data[0] == 0x80 && data[1] == 0x01 {
        data = &data[6..];
    }
    let end = find(data, b"eexec").unwrap_or(data.len());
    let clear = &data[..end];
    let start = find(clear, b"/Encoding")?;
    let rest = &clear[start + 9..];
    let mut lx = Lexer::new(rest);
    let mut arena = Vec::new();
    let mut enc: NameEncoding = vec![None; 256];
    let mut any = false;
    let mut window: [Option<Tok>; 4] = [None; 4];
    let mut n = 0usize;
    while let Some(t) = lx.next_tok(&mut arena) {
        n += 1;
        if n == 1 {
            if let Tok::Op(s, e) = t {
                if lx.op_bytes(s, e) == b"StandardEncoding" {
                    return None;
                }
            }
        }
        if n > 4 * 256 + 64 {
            break;
        }
        window.rotate_left(1);
        window[3] = Some(t);
        if let [Some(Tok::Op(ds, de)), Some(Tok::Num(code)), Some(Tok::Name(ns, ne)), Some(Tok::Op(ps, pe))] =
            window
        {
            if lx.op_bytes(ds, de) == b"dup" && lx.op_bytes(ps, pe) == b"put" {
                let c = code as i64;
                if (0..256).contains(&c) {
                    enc[c as usize] = Some(arena[ns as usize..ne as usize].to_vec());
                    any = true;
                }
            }
        }
        if let Tok::Op(s, e) = t {
            let op = lx.op_bytes(s, e);
            if any && (op == b"readonly" || op == b"def") {
                break;
            }
        }
    }
    any.then_some(enc)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The built-in encoding of a CFF font program (`None` for StandardEncoding, a
/// CID-keyed font or a damaged program).
pub(crate) fn cff_encoding(data: &[u8]) -> Option<NameEncoding> {
    let c = Cff::new(data)?;
    let top = c.top_dict()?;
    if top.ros {
        return None;
    }
    let charstrings = top.charstrings?;
    let nglyphs = c.index_count(charstrings)?;
    let charset = c.charset(top.charset, nglyphs)?;
    let name_of = |gid: usize| -> Option<Vec<u8>> {
        let sid = *charset.get(gid)?;
        c.sid_name(sid)
    };
    let mut enc: NameEncoding = vec![None; 256];
    match top.encoding {
        0 => return None,
        1 => return None,
        off => {
            let off = off as usize;
            let fmt = *data.get(off)?;
            let mut p = off + 1;
            match fmt & 0x7f {
                0 => {
                    let n = usize::from(*data.get(p)?);
                    p += 1;
                    for i in 0..n {
                        let code = *data.get(p + i)?;
                        enc[usize::from(code)] = name_of(i + 1);
                    }
                    p += n;
                }
                1 => {
                    let nr = usize::from(*data.get(p)?);
                    p += 1;
                    let mut gid = 1usize;
                    for _ in 0..nr {
                        let first = usize::from(*data.get(p)?);
                        let left = usize::from(*data.get(p + 1)?);
                        p += 2;
                        for k in 0..=left {
                            if first + k < 256 {
                                enc[first + k] = name_of(gid);
                            }
                            gid += 1;
                        }
                    }
                }
                _ => return None,
            }
            if fmt & 0x80 != 0 {
                let ns = usize::from(*data.get(p)?);
                p += 1;
                for _ in 0..ns {
                    let code = *data.get(p)?;
                    let sid = u16::from_be_bytes([*data.get(p + 1)?, *data.get(p + 2)?]);
                    p += 3;
                    enc[usize::from(code)] = c.sid_name(sid);
                }
            }
        }
    }
    Some(enc)
}

struct Cff<'a> {
    d: &'a [u8],
    top_dict: (usize, usize),
    strings: usize,
}

#[derive(Default)]
struct TopDict {
    ros: bool,
    charset: u32,
    encoding: u32,
    charstrings: Option<usize>,
}

impl<'a> Cff<'a> {
    fn new(d: &'a [u8]) -> Option<Self> {
        if d.len() < 4 || d[0] != 1 {
            return None;
        }
        let hdr = usize::from(d[2]);
        let name_end = Self::index_end(d, hdr)?;
        let (top_start, top_end) = Self::index_item(d, name_end, 0)?;
        let top_index_end = Self::index_end(d, name_end)?;
        let strings = top_index_end;
        Self::index_end(d, strings)?;
        Some(Self {
            d,
            top_dict: (top_start, top_end),
            strings,
        })
    }

    fn u16at(d: &[u8], p: usize) -> Option<usize> {
        Some(usize::from(u16::from_be_bytes([
            *d.get(p)?,
            *d.get(p + 1)?,
        ])))
    }

    fn offset(d: &[u8], p: usize, size: usize) -> Option<usize> {
        let mut v = 0usize;
        for i in 0..size {
            v = v << 8 | usize::from(*d.get(p + i)?);
        }
        Some(v)
    }

    /// (count, offSize, offsets start, data start - 1)
    fn index_hdr(d: &[u8], p: usize) -> Option<(usize, usize, usize, usize)> {
        let count = Self::u16at(d, p)?;
        if count == 0 {
            return Some((0, 0, p + 2, p + 2));
        }
        let off_size = usize::from(*d.get(p + 2)?);
        if !(1..=4).contains(&off_size) {
            return None;
        }
        let offs = p + 3;
        let data = offs + (count + 1) * off_size - 1;
        Some((count, off_size, offs, data))
    }

    fn index_end(d: &[u8], p: usize) -> Option<usize> {
        let (count, os, offs, data) = Self::index_hdr(d, p)?;
        if count == 0 {
            return Some(p + 2);
        }
        let last = Self::offset(d, offs + count * os, os)?;
        let end = data + last;
        (end <= d.len()).then_some(end)
    }

    fn index_item(d: &[u8], p: usize, i: usize) -> Option<(usize, usize)> {
        let (count, os, offs, data) = Self::index_hdr(d, p)?;
        if i >= count {
            return None;
        }
        let a = data + Self::offset(d, offs + i * os, os)?;
        let b = data + Self::offset(d, offs + (i + 1) * os, os)?;
        (a <= b && b <= d.len()).then_some((a, b))
    }

    fn index_count(&self, p: usize) -> Option<usize> {
        Self::u16at(self.d, p)
    }

    fn top_dict(&self) -> Option<TopDict> {
        let (mut p, end) = self.top_dict;
        let d = self.d;
        let mut t = TopDict::default();
        let mut operands: Vec<i64> = Vec::new();
        while p < end {
            let b0 = d[p];
            match b0 {
                0..=21 => {
                    let op = if b0 == 12 {
                        p += 1;
                        1200 + u32::from(*d.get(p)?)
                    } else {
                        u32::from(b0)
                    };
                    p += 1;
                    let last = operands.last().copied().unwrap_or(0);
                    match op {
                        15 => t.charset = last.max(0) as u32,
                        16 => t.encoding = last.max(0) as u32,
                        17 => t.charstrings = Some(last.max(0) as usize),
                        1230 => t.ros = true,
                        _ => {}
                    }
                    operands.clear();
                }
                28 => {
                    let v = i16::from_be_bytes([*d.get(p + 1)?, *d.get(p + 2)?]);
                    operands.push(i64::from(v));
                    p += 3;
                }
                29 => {
                    let v = i32::from_be_bytes([
                        *d.get(p + 1)?,
                        *d.get(p + 2)?,
                        *d.get(p + 3)?,
                        *d.get(p + 4)?,
                    ]);
                    operands.push(i64::from(v));
                    p += 5;
                }
                30 => {
                    // Real number: nibbles up to 0xf.
                    p += 1;
                    while p < end {
                        let x = d[p];
                        p += 1;
                        if x & 0x0f == 0x0f || x >> 4 == 0x0f {
                            break;
                        }
                    }
                    operands.push(0);
                }
                32..=246 => {
                    operands.push(i64::from(b0) - 139);
                    p += 1;
                }
                247..=250 => {
                    let b1 = i64::from(*d.get(p + 1)?);
                    operands.push((i64::from(b0) - 247) * 256 + b1 + 108);
                    p += 2;
                }
                251..=254 => {
                    let b1 = i64::from(*d.get(p + 1)?);
                    operands.push(-(i64::from(b0) - 251) * 256 - b1 - 108);
                    p += 2;
                }
                _ => p += 1,
            }
            if operands.len() > 48 {
                return None;
            }
        }
        Some(t)
    }

    /// SID per glyph id.
    fn charset(&self, off: u32, nglyphs: usize) -> Option<Vec<u16>> {
        let nglyphs = nglyphs.min(65536);
        let mut v: Vec<u16> = Vec::with_capacity(nglyphs);
        v.push(0);
        match off {
            // ISOAdobe: SIDs 1..=228 in order.
            0 => v.extend((1..nglyphs.min(229)).map(|i| i as u16)),
            1 | 2 => return None,
            off => {
                let d = self.d;
                let mut p = off as usize;
                let fmt = *d.get(p)?;
                p += 1;
                while v.len() < nglyphs {
                    match fmt {
                        0 => {
                            v.push(Self::u16at(d, p)? as u16);
                            p += 2;
                        }
                        1 | 2 => {
                            let first = Self::u16at(d, p)?;
                            let left = if fmt == 1 {
                                usize::from(*d.get(p + 2)?)
                            } else {
                                Self::u16at(d, p + 2)?
                            };
                            p += if fmt == 1 { 3 } else { 4 };
                            for k in 0..=left {
                                if v.len() >= nglyphs {
                                    break;
                                }
                                v.push((first + k) as u16);
                            }
                        }
                        _ => return None,
                    }
                }
            }
        }
        Some(v)
    }

    fn sid_name(&self, sid: u16) -> Option<Vec<u8>> {
        let sid = usize::from(sid);
        if sid < STD_STRINGS.len() {
            return Some(STD_STRINGS[sid].as_bytes().to_vec());
        }
        let (a, b) = Self::index_item(self.d, self.strings, sid - STD_STRINGS.len())?;
        Some(self.d[a..b].to_vec())
    }
}

/// The CFF standard strings (CFF spec, appendix A), by SID.
static STD_STRINGS: [&str; 391] = [
    ".notdef",
    "space",
    "exclam",
    "quotedbl",
    "numbersign",
    "dollar",
    "percent",
    "ampersand",
    "quoteright",
    "parenleft",
    "parenright",
    "asterisk",
    "plus",
    "comma",
    "hyphen",
    "period",
    "slash",
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "colon",
    "semicolon",
    "less",
    "equal",
    "greater",
    "question",
    "at",
    "A",
    "B",
    "C",
    "D",
    "E",
    "F",
    "G",
    "H",
    "I",
    "J",
    "K",
    "L",
    "M",
    "N",
    "O",
    "P",
    "Q",
    "R",
    "S",
    "T",
    "U",
    "V",
    "W",
    "X",
    "Y",
    "Z",
    "bracketleft",
    "backslash",
    "bracketright",
    "asciicircum",
    "underscore",
    "quoteleft",
    "a",
    "b",
    "c",
    "d",
    "e",
    "f",
    "g",
    "h",
    "i",
    "j",
    "k",
    "l",
    "m",
    "n",
    "o",
    "p",
    "q",
    "r",
    "s",
    "t",
    "u",
    "v",
    "w",
    "x",
    "y",
    "z",
    "braceleft",
    "bar",
    "braceright",
    "asciitilde",
    "exclamdown",
    "cent",
    "sterling",
    "fraction",
    "yen",
    "florin",
    "section",
    "currency",
    "quotesingle",
    "quotedblleft",
    "guillemotleft",
    "guilsinglleft",
    "guilsinglright",
    "fi",
    "fl",
    "endash",
    "dagger",
    "daggerdbl",
    "periodcentered",
    "paragraph",
    "bullet",
    "quotesinglbase",
    "quotedblbase",
    "quotedblright",
    "guillemotright",
    "ellipsis",
    "perthousand",
    "questiondown",
    "grave",
    "acute",
    "circumflex",
    "tilde",
    "macron",
    "breve",
    "dotaccent",
    "dieresis",
    "ring",
    "cedilla",
    "hungarumlaut",
    "ogonek",
    "caron",
    "emdash",
    "AE",
    "ordfeminine",
    "Lslash",
    "Oslash",
    "OE",
    "ordmasculine",
    "ae",
    "dotlessi",
    "lslash",
    "oslash",
    "oe",
    "germandbls",
    "onesuperior",
    "logicalnot",
    "mu",
    "trademark",
    "Eth",
    "onehalf",
    "plusminus",
    "Thorn",
    "onequarter",
    "divide",
    "brokenbar",
    "degree",
    "thorn",
    "threequarters",
    "twosuperior",
    "registered",
    "minus",
    "eth",
    "multiply",
    "threesuperior",
    "copyright",
    "Aacute",
    "Acircumflex",
    "Adieresis",
    "Agrave",
    "Aring",
    "Atilde",
    "Ccedilla",
    "Eacute",
    "Ecircumflex",
    "Edieresis",
    "Egrave",
    "Iacute",
    "Icircumflex",
    "Idieresis",
    "Igrave",
    "Ntilde",
    "Oacute",
    "Ocircumflex",
    "Odieresis",
    "Ograve",
    "Otilde",
    "Scaron",
    "Uacute",
    "Ucircumflex",
    "Udieresis",
    "Ugrave",
    "Yacute",
    "Ydieresis",
    "Zcaron",
    "aacute",
    "acircumflex",
    "adieresis",
    "agrave",
    "aring",
    "atilde",
    "ccedilla",
    "eacute",
    "ecircumflex",
    "edieresis",
    "egrave",
    "iacute",
    "icircumflex",
    "idieresis",
    "igrave",
    "ntilde",
    "oacute",
    "ocircumflex",
    "odieresis",
    "ograve",
    "otilde",
    "scaron",
    "uacute",
    "ucircumflex",
    "udieresis",
    "ugrave",
    "yacute",
    "ydieresis",
    "zcaron",
    "exclamsmall",
    "Hungarumlautsmall",
    "dollaroldstyle",
    "dollarsuperior",
    "ampersandsmall",
    "Acutesmall",
    "parenleftsuperior",
    "parenrightsuperior",
    "twodotenleader",
    "onedotenleader",
    "zerooldstyle",
    "oneoldstyle",
    "twooldstyle",
    "threeoldstyle",
    "fouroldstyle",
    "fiveoldstyle",
    "sixoldstyle",
    "sevenoldstyle",
    "eightoldstyle",
    "nineoldstyle",
    "commasuperior",
    "threequartersemdash",
    "periodsuperior",
    "questionsmall",
    "asuperior",
    "bsuperior",
    "centsuperior",
    "dsuperior",
    "esuperior",
    "isuperior",
    "lsuperior",
    "msuperior",
    "nsuperior",
    "osuperior",
    "rsuperior",
    "ssuperior",
    "tsuperior",
    "ff",
    "ffi",
    "ffl",
    "parenleftinferior",
    "parenrightinferior",
    "Circumflexsmall",
    "hyphensuperior",
    "Gravesmall",
    "Asmall",
    "Bsmall",
    "Csmall",
    "Dsmall",
    "Esmall",
    "Fsmall",
    "Gsmall",
    "Hsmall",
    "Ismall",
    "Jsmall",
    "Ksmall",
    "Lsmall",
    "Msmall",
    "Nsmall",
    "Osmall",
    "Psmall",
    "Qsmall",
    "Rsmall",
    "Ssmall",
    "Tsmall",
    "Usmall",
    "Vsmall",
    "Wsmall",
    "Xsmall",
    "Ysmall",
    "Zsmall",
    "colonmonetary",
    "onefitted",
    "rupiah",
    "Tildesmall",
    "exclamdownsmall",
    "centoldstyle",
    "Lslashsmall",
    "Scaronsmall",
    "Zcaronsmall",
    "Dieresissmall",
    "Brevesmall",
    "Caronsmall",
    "Dotaccentsmall",
    "Macronsmall",
    "figuredash",
    "hypheninferior",
    "Ogoneksmall",
    "Ringsmall",
    "Cedillasmall",
    "questiondownsmall",
    "oneeighth",
    "threeeighths",
    "fiveeighths",
    "seveneighths",
    "onethird",
    "twothirds",
    "zerosuperior",
    "foursuperior",
    "fivesuperior",
    "sixsuperior",
    "sevensuperior",
    "eightsuperior",
    "ninesuperior",
    "zeroinferior",
    "oneinferior",
    "twoinferior",
    "threeinferior",
    "fourinferior",
    "fiveinferior",
    "sixinferior",
    "seveninferior",
    "eightinferior",
    "nineinferior",
    "centinferior",
    "dollarinferior",
    "periodinferior",
    "commainferior",
    "Agravesmall",
    "Aacutesmall",
    "Acircumflexsmall",
    "Atildesmall",
    "Adieresissmall",
    "Aringsmall",
    "AEsmall",
    "Ccedillasmall",
    "Egravesmall",
    "Eacutesmall",
    "Ecircumflexsmall",
    "Edieresissmall",
    "Igravesmall",
    "Iacutesmall",
    "Icircumflexsmall",
    "Idieresissmall",
    "Ethsmall",
    "Ntildesmall",
    "Ogravesmall",
    "Oacutesmall",
    "Ocircumflexsmall",
    "Otildesmall",
    "Odieresissmall",
    "OEsmall",
    "Oslashsmall",
    "Ugravesmall",
    "Uacutesmall",
    "Ucircumflexsmall",
    "Udieresissmall",
    "Yacutesmall",
    "Thornsmall",
    "Ydieresissmall",
    "001.000",
    "001.001",
    "001.002",
    "001.003",
    "Black",
    "Bold",
    "Book",
    "Light",
    "Medium",
    "Regular",
    "Roman",
    "Semibold",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type1_clear_text_encoding() {
        let font = b"%!PS-AdobeFont-1.0: CMR10\n/Encoding 256 array\n0 1 255 {1 index exch /.notdef put} for\ndup 11 /ff put\ndup 65 /A put\nreadonly def\ncurrentfile eexec\x00\x01";
        let e = type1_encoding(font).unwrap();
        assert_eq!(e[11].as_deref(), Some(&b"ff"[..]));
        assert_eq!(e[65].as_deref(), Some(&b"A"[..]));
        assert_eq!(e[66], None);
        assert!(type1_encoding(b"/Encoding StandardEncoding def currentfile eexec").is_none());
        assert!(type1_encoding(b"garbage").is_none());
    }

    #[test]
    fn std_strings_are_in_order() {
        assert_eq!(STD_STRINGS[34], "A");
        assert_eq!(STD_STRINGS[228], "zcaron");
        assert_eq!(STD_STRINGS[390], "Semibold");
    }

    #[test]
    fn cff_garbage_is_none() {
        assert!(cff_encoding(b"").is_none());
        assert!(cff_encoding(&[1, 0, 4, 1, 0xff, 0xff, 0xff]).is_none());
    }
}
