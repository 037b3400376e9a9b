//! A zero-allocation tokenizer for content streams (PDF 32000-1 §7.2, §7.8).
//!
//! Strings and names are decoded into a caller-owned arena (cleared by the interpreter
//! after each operator), so the steady state allocates nothing. Malformed input never
//! fails: unknown bytes are skipped, unterminated strings end at the end of the data.

/// A token of a content stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Tok {
    /// A number (integers and reals alike).
    Num(f32),
    /// A string: `arena[start..end]`.
    Str(u32, u32),
    /// A name without the slash: `arena[start..end]`.
    Name(u32, u32),
    /// `[`
    ArrOpen,
    /// `]`
    ArrClose,
    /// `<<`
    DictOpen,
    /// `>>`
    DictClose,
    /// `true` / `false`
    Bool(bool),
    /// `null`
    Null,
    /// An operator: `data[start..end]`.
    Op(u32, u32),
}

/// Tokenizer over one content stream.
pub(crate) struct Lexer<'a> {
    data: &'a [u8],
    pos: usize,
}

#[inline]
fn is_white(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b'\x0c' | b'\0')
}

#[inline]
fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

#[inline]
fn hexval(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl<'a> Lexer<'a> {
    /// A tokenizer at the start of `data`.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// The bytes of an operator token.
    pub(crate) fn op_bytes(&self, start: u32, end: u32) -> &'a [u8] {
        &self.data[start as usize..end as usize]
    }

    /// The next token, or `None` at the end of the data.
    pub(crate) fn next_tok(&mut self, arena: &mut Vec<u8>) -> Option<Tok> {
        let d = self.data;
        loop {
            while self.pos < d.len() && is_white(d[self.pos]) {
                self.pos += 1;
            }
            if self.pos >= d.len() {
                return None;
            }
            let b = d[self.pos];
            match b {
                b'%' => {
                    while self.pos < d.len() && d[self.pos] != b'\n' && d[self.pos] != b'\r' {
                        self.pos += 1;
                    }
                }
                b'(' => return Some(self.literal(arena)),
                b'<' => {
                    if d.get(self.pos + 1) == Some(&b'<') {
                        self.pos += 2;
                        return Some(Tok::DictOpen);
                    }
                    return Some(self.hex(arena));
                }
                b'>' => {
                    self.pos += 1;
                    if d.get(self.pos) == Some(&b'>') {
                        self.pos += 1;
                        return Some(Tok::DictClose);
                    }
                }
                b'[' => {
                    self.pos += 1;
                    return Some(Tok::ArrOpen);
                }
                b']' => {
                    self.pos += 1;
                    return Some(Tok::ArrClose);
                }
                b'/' => return Some(self.name(arena)),
                b'{' | b'}' | b')' => self.pos += 1,
                b'0'..=b'9' | b'+' | b'-' | b'.' => return Some(self.number()),
                _ => {
                    let start = self.pos;
                    while self.pos < d.len() && !is_white(d[self.pos]) && !is_delim(d[self.pos]) {
                        self.pos += 1;
                    }
                    let word = &d[start..self.pos];
                    return Some(match word {
                        b"true" => Tok::Bool(true),
                        b"false" => Tok::Bool(false),
                        b"null" => Tok::Null,
                        _ => Tok::Op(start as u32, self.pos as u32),
                    });
                }
            }
        }
    }

    fn number(&mut self) -> Tok {
        let d = self.data;
        let mut neg = false;
        let mut seen_sign = false;
        let mut int: f64 = 0.0;
        let mut frac: f64 = 0.0;
        let mut scale: f64 = 1.0;
        let mut in_frac = false;
        let start = self.pos;
        while self.pos < d.len() {
            let c = d[self.pos];
            match c {
                b'0'..=b'9' => {
                    if in_frac {
                        scale /= 10.0;
                        frac += f64::from(c - b'0') * scale;
                    } else {
                        int = int * 10.0 + f64::from(c - b'0');
                    }
                }
                b'-' | b'+' if self.pos == start || (!seen_sign && int == 0.0 && !in_frac) => {
                    // Leading signs (and the "--5" some producers write).
                    if c == b'-' {
                        neg = !neg || seen_sign;
                    }
                    seen_sign = true;
                }
                b'.' if !in_frac => in_frac = true,
                _ => break,
            }
            self.pos += 1;
        }
        if self.pos == start {
            self.pos += 1;
        }
        let v = (int + frac) as f32;
        Tok::Num(if neg { -v } else { v })
    }

    fn name(&mut self, arena: &mut Vec<u8>) -> Tok {
        let d = self.data;
        self.pos += 1;
        let start = arena.len() as u32;
        while self.pos < d.len() && !is_white(d[self.pos]) && !is_delim(d[self.pos]) {
            let c = d[self.pos];
            if c == b'#' {
                if let (Some(h), Some(l)) = (
                    d.get(self.pos + 1).and_then(|&x| hexval(x)),
                    d.get(self.pos + 2).and_then(|&x| hexval(x)),
                ) {
                    arena.push(h << 4 | l);
                    self.pos += 3;
                    continue;
                }
            }
            arena.push(c);
            self.pos += 1;
        }
        Tok::Name(start, arena.len() as u32)
    }

    fn hex(&mut self, arena: &mut Vec<u8>) -> Tok {
        let d = self.data;
        self.pos += 1;
        let start = arena.len() as u32;
        let mut hi: Option<u8> = None;
        while self.pos < d.len() {
            let c = d[self.pos];
            self.pos += 1;
            if c == b'>' {
                break;
            }
            if let Some(v) = hexval(c) {
                match hi.take() {
                    None => hi = Some(v),
                    Some(h) => arena.push(h << 4 | v),
                }
            }
        }
        if let Some(h) = hi {
            arena.push(h << 4);
        }
        Tok::Str(start, arena.len() as u32)
    }

    fn literal(&mut self, arena: &mut Vec<u8>) -> Tok {
        let d = self.data;
        self.pos += 1;
        let start = arena.len() as u32;
        let mut depth = 1usize;
        while self.pos < d.len() {
            let c = d[self.pos];
            self.pos += 1;
            match c {
                b'(' => {
                    depth += 1;
                    arena.push(c);
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                    arena.push(c);
                }
                b'\\' => {
                    let Some(&e) = d.get(self.pos) else { break };
                    self.pos += 1;
                    match e {
                        b'n' => arena.push(b'\n'),
                        b'r' => arena.push(b'\r'),
                        b't' => arena.push(b'\t'),
                        b'b' => arena.push(8),
                        b'f' => arena.push(12),
                        b'0'..=b'7' => {
                            let mut v: u32 = u32::from(e - b'0');
                            for _ in 0..2 {
                                match d.get(self.pos) {
                                    Some(&o @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(o - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            arena.push((v & 0xff) as u8);
                        }
                        b'\r' => {
                            if d.get(self.pos) == Some(&b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        other => arena.push(other),
                    }
                }
                b'\r' => {
                    // An end of line in a string is a line feed.
                    if d.get(self.pos) == Some(&b'\n') {
                        self.pos += 1;
                    }
                    arena.push(b'\n');
                }
                _ => arena.push(c),
            }
        }
        Tok::Str(start, arena.len() as u32)
    }

    /// Skips an inline image after `BI`: its dictionary up to `ID`, then the data up to
    /// an `EI` that stands alone. Returns the image's `/W` and `/H` when given.
    pub(crate) fn skip_inline_image(&mut self, arena: &mut Vec<u8>) -> (f32, f32) {
        let mut w = 0.0;
        let mut h = 0.0;
        let mut last_name: Vec<u8> = Vec::new();
        let mut length: Option<usize> = None;
        loop {
            let Some(t) = self.next_tok(arena) else {
                return (w, h);
            };
            match t {
                Tok::Op(s, e) if self.op_bytes(s, e) == b"ID" => break,
                Tok::Name(s, e) => {
                    last_name.clear();
                    last_name.extend_from_slice(&arena[s as usize..e as usize]);
                }
                Tok::Num(v) => {
                    match last_name.as_slice() {
                        b"W" | b"Width" => w = v,
                        b"H" | b"Height" => h = v,
                        b"L" | b"Length" if v >= 0.0 => length = Some(v as usize),
                        _ => {}
                    }
                    last_name.clear();
                }
                _ => {}
            }
        }
        // One white-space byte separates ID from the data.
        self.pos += 1;
        let d = self.data;
        if let Some(len) = length {
            let end = self.pos.saturating_add(len);
            let mut p = end.min(d.len());
            while p < d.len() && is_white(d[p]) {
                p += 1;
            }
            if d[p..].starts_with(b"EI") {
                self.pos = p + 2;
                return (w, h);
            }
        }
        let mut p = self.pos;
        while p + 1 < d.len() {
            if d[p] == b'E'
                && d[p + 1] == b'I'
                && (p == 0 || is_white(d[p - 1]))
                && (p + 2 >= d.len() || is_white(d[p + 2]) || is_delim(d[p + 2]))
            {
                self.pos = p + 2;
                return (w, h);
            }
            p += 1;
        }
        self.pos = d.len();
        (w, h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &[u8]) -> (Vec<Tok>, Vec<u8>) {
        let mut l = Lexer::new(s);
        let mut arena = Vec::new();
        let mut v = Vec::new();
        while let Some(t) = l.next_tok(&mut arena) {
            v.push(t);
        }
        (v, arena)
    }

    #[test]
    fn numbers_names_strings_ops() {
        let (t, a) = toks(
            b"1 -2.5 .5 -.25 3. /F#201 (a\\(b\\)c\\101\\\nd) <4142 3> Tj % c\n[ (x) -120 ] TJ",
        );
        assert_eq!(t[0], Tok::Num(1.0));
        assert_eq!(t[1], Tok::Num(-2.5));
        assert_eq!(t[2], Tok::Num(0.5));
        assert_eq!(t[3], Tok::Num(-0.25));
        assert_eq!(t[4], Tok::Num(3.0));
        let Tok::Name(s, e) = t[5] else { panic!() };
        assert_eq!(&a[s as usize..e as usize], b"F 1");
        let Tok::Str(s, e) = t[6] else { panic!() };
        assert_eq!(&a[s as usize..e as usize], b"a(b)cAd");
        let Tok::Str(s, e) = t[7] else { panic!() };
        assert_eq!(&a[s as usize..e as usize], b"AB0");
        assert!(matches!(t[8], Tok::Op(..)));
        assert_eq!(t[9], Tok::ArrOpen);
        assert_eq!(t[11], Tok::Num(-120.0));
        assert_eq!(t[12], Tok::ArrClose);
    }

    #[test]
    fn inline_image_is_skipped() {
        let data = b"BI /W 2 /H 2 /BPC 8 /CS /G ID \x00EI\xff\x01 EI Q";
        let mut l = Lexer::new(data);
        let mut arena = Vec::new();
        assert!(matches!(l.next_tok(&mut arena), Some(Tok::Op(..))));
        assert_eq!(l.skip_inline_image(&mut arena), (2.0, 2.0));
        let Some(Tok::Op(s, e)) = l.next_tok(&mut arena) else {
            panic!()
        };
        assert_eq!(l.op_bytes(s, e), b"Q");
    }

    #[test]
    fn garbage_terminates() {
        let (t, _) = toks(b"((( \\");
        assert_eq!(t.len(), 1);
        let (t, _) = toks(b"<<<>>>>} ) { - + .");
        assert!(t.len() < 10);
    }
}
