//! A second chance for objects lopdf could not parse.
//!
//! lopdf drops an object whose syntax is broken anywhere: one stray token in a page
//! dictionary (`/Parent 3 /Parent 1 0 R0 R`, bytes from a damaged copy) loses the page,
//! one in the page tree's root loses every page. Readers such as poppler skip the bad
//! entry and keep the rest. After a full load, every object that the cross-reference
//! data place in the file (a `Normal` entry) and that lopdf left out is read again here
//! by a lenient parser: in a dictionary an entry whose value does not parse is dropped,
//! in an array a token that is no value is skipped, and the object ends at `endobj`, at
//! `stream` or where the next object's header begins. Streams get their data as
//! [`rawfile::stream_data`] finds it.
//!
//! It costs nothing on an intact file (no object is missing) and is bounded on a hostile
//! one: at most [`MAX_SALVAGED`] objects, each read within [`MAX_OBJECT_BYTES`] and
//! nested at most `max_depth` deep, all of them within twice the file's bytes. Object streams and encrypted files are left alone
//! (their objects need decoding or decryption, which the full load already tried).

use lopdf::xref::XrefEntry;
use lopdf::{Dictionary, Document, Object, ObjectId, StringFormat};

use crate::rawfile;

/// Most objects read again in one document.
const MAX_SALVAGED: usize = 10_000;
/// Most bytes one object's value may span.
const MAX_OBJECT_BYTES: usize = 1 << 20;

/// Reads again the objects of `doc` that lopdf could not parse from `file` (the bytes
/// from the `%PDF-` header on); returns how many it recovered.
pub(crate) fn missing_objects(doc: &mut Document, file: &[u8], max_depth: usize) -> usize {
    // All objects together read at most twice the file (at least 16 MiB): a file of
    // many broken objects, each running on to the byte limit, stays cheap.
    let budget = file.len().saturating_mul(2).max(16 << 20);
    missing_objects_within(doc, file, max_depth, budget)
}

/// As [`missing_objects`], reading at most `budget` bytes in all.
fn missing_objects_within(
    doc: &mut Document,
    file: &[u8],
    max_depth: usize,
    mut budget: usize,
) -> usize {
    if doc.trailer.has(b"Encrypt") {
        return 0;
    }
    let missing: Vec<(ObjectId, usize)> = unparsed(doc).take(MAX_SALVAGED).collect();
    let mut recovered = 0;
    for (id, offset) in missing {
        let Some(start) = rawfile::value_start(file, offset, id) else {
            continue;
        };
        let end = file
            .len()
            .min(start.saturating_add(MAX_OBJECT_BYTES.min(budget)));
        let mut p = Lenient {
            b: &file[..end],
            i: start,
            max_depth,
        };
        let value = p.value(0);
        budget = budget.saturating_sub(p.i.saturating_sub(start).max(1));
        if budget == 0 {
            break;
        }
        let Some(value) = value else { continue };
        let object = match value {
            Object::Dictionary(dict) if rawfile::stream_follows(file, p.i) => {
                if matches!(dict.get(b"Type"), Ok(Object::Name(n)) if n == b"ObjStm") {
                    continue;
                }
                let mut length = |r: ObjectId| match doc.objects.get(&r) {
                    Some(Object::Integer(n)) => usize::try_from(*n).ok(),
                    _ => None,
                };
                let Some(data) = rawfile::stream_data(file, p.i, &dict, &mut length) else {
                    continue;
                };
                Object::Stream(lopdf::Stream::new(dict, data.to_vec()))
            }
            other => other,
        };
        doc.objects.insert(id, object);
        recovered += 1;
    }
    recovered
}

/// Whether lopdf left out an object that the cross-reference data place in the file.
pub(crate) fn any_unparsed(doc: &Document) -> bool {
    unparsed(doc).next().is_some()
}

/// The objects placed in the file (`Normal` entries) that `doc` does not hold, with
/// their offsets.
fn unparsed(doc: &Document) -> impl Iterator<Item = (ObjectId, usize)> + '_ {
    doc.reference_table
        .entries
        .iter()
        .filter_map(|(&num, e)| match *e {
            XrefEntry::Normal { offset, generation } => {
                let id = (num, generation);
                (!doc.objects.contains_key(&id)).then_some((id, offset as usize))
            }
            _ => None,
        })
}

/// A lenient reader of one object's value.
struct Lenient<'a> {
    b: &'a [u8],
    i: usize,
    max_depth: usize,
}

/// A token of PDF syntax.
#[derive(Debug, PartialEq)]
enum Tok {
    DictOpen,
    DictClose,
    ArrayOpen,
    ArrayClose,
    Name(Vec<u8>),
    Int(i64),
    Real(f32),
    Str(Vec<u8>, StringFormat),
    /// A bare word: `true`, `false`, `null`, `R`, `obj`, `endobj`, `stream`, garbage.
    Word(Vec<u8>),
    End,
}

fn is_delimiter(c: u8) -> bool {
    matches!(
        c,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_white(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

impl Lenient<'_> {
    /// The next token, consumed.
    fn next(&mut self) -> Tok {
        self.i = rawfile::skip_ws(self.b, self.i);
        let Some(&c) = self.b.get(self.i) else {
            return Tok::End;
        };
        let rest = &self.b[self.i..];
        match c {
            b'<' if rest.starts_with(b"<<") => {
                self.i += 2;
                Tok::DictOpen
            }
            b'>' if rest.starts_with(b">>") => {
                self.i += 2;
                Tok::DictClose
            }
            b'[' => {
                self.i += 1;
                Tok::ArrayOpen
            }
            b']' => {
                self.i += 1;
                Tok::ArrayClose
            }
            b'/' => {
                self.i += 1;
                Tok::Name(self.name())
            }
            b'(' => Tok::Str(self.literal(), StringFormat::Literal),
            b'<' => Tok::Str(self.hex(), StringFormat::Hexadecimal),
            b'+' | b'-' | b'.' | b'0'..=b'9' => self.number(),
            _ => {
                let start = self.i;
                self.i += 1;
                while self
                    .b
                    .get(self.i)
                    .is_some_and(|&c| !is_white(c) && !is_delimiter(c))
                {
                    self.i += 1;
                }
                Tok::Word(self.b[start..self.i].to_vec())
            }
        }
    }

    /// The next token, not consumed.
    fn peek(&mut self) -> Tok {
        let at = self.i;
        let t = self.next();
        self.i = at;
        t
    }

    fn name(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(&c) = self.b.get(self.i) {
            if is_white(c) || is_delimiter(c) {
                break;
            }
            let hex = |k: usize| {
                self.b
                    .get(k)
                    .and_then(|&h| (h as char).to_digit(16))
                    .map(|d| d as u8)
            };
            match (c, hex(self.i + 1), hex(self.i + 2)) {
                (b'#', Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    self.i += 3;
                }
                _ => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        out
    }

    fn literal(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut depth = 0usize;
        while let Some(&c) = self.b.get(self.i) {
            self.i += 1;
            match c {
                b'(' => {
                    if depth > 0 {
                        out.push(c);
                    }
                    depth += 1;
                }
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return out;
                    }
                    out.push(c);
                }
                b'\\' => {
                    let Some(&e) = self.b.get(self.i) else { break };
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' | b'\n' => {
                            if e == b'\r' && self.b.get(self.i) == Some(&b'\n') {
                                self.i += 1;
                            }
                        }
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.b.get(self.i) {
                                    Some(&d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.i += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(c),
            }
        }
        out
    }

    fn hex(&mut self) -> Vec<u8> {
        self.i += 1;
        let mut digits = Vec::new();
        while let Some(&c) = self.b.get(self.i) {
            self.i += 1;
            if c == b'>' {
                break;
            }
            if let Some(d) = (c as char).to_digit(16) {
                digits.push(d as u8);
            }
        }
        if digits.len() % 2 == 1 {
            digits.push(0);
        }
        digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
    }

    fn number(&mut self) -> Tok {
        let start = self.i;
        self.i += 1;
        while self
            .b
            .get(self.i)
            .is_some_and(|c| c.is_ascii_digit() || *c == b'.')
        {
            self.i += 1;
        }
        let text = String::from_utf8_lossy(&self.b[start..self.i]);
        if let Ok(n) = text.parse::<i64>() {
            return Tok::Int(n);
        }
        match text.parse::<f32>() {
            Ok(r) if r.is_finite() => Tok::Real(r),
            _ => Tok::Word(text.into_owned().into_bytes()),
        }
    }

    /// One value, or `None` when the next token starts none (it is consumed, except a
    /// closing delimiter or a keyword that ends the object, which the caller sees).
    fn value(&mut self, depth: usize) -> Option<Object> {
        if depth > self.max_depth {
            // Too deep: the token is skipped, so that every caller's loop moves on.
            self.next();
            return None;
        }
        let at = self.i;
        match self.next() {
            Tok::DictOpen => Some(Object::Dictionary(self.dict(depth + 1))),
            Tok::ArrayOpen => Some(Object::Array(self.array(depth + 1))),
            Tok::Name(n) => Some(Object::Name(n)),
            Tok::Real(r) => Some(Object::Real(r)),
            Tok::Str(s, f) => Some(Object::String(s, f)),
            Tok::Int(n) => {
                // `N G R` is a reference.
                let back = self.i;
                if let (Tok::Int(g), Tok::Word(w)) = (self.next(), self.next()) {
                    if w == b"R" {
                        if let (Ok(num), Ok(gen)) = (u32::try_from(n), u16::try_from(g)) {
                            return Some(Object::Reference((num, gen)));
                        }
                    }
                }
                self.i = back;
                Some(Object::Integer(n))
            }
            Tok::Word(w) => match w.as_slice() {
                b"true" => Some(Object::Boolean(true)),
                b"false" => Some(Object::Boolean(false)),
                b"null" => Some(Object::Null),
                b"endobj" | b"stream" | b"obj" | b"endstream" => {
                    self.i = at;
                    None
                }
                _ => None,
            },
            Tok::DictClose | Tok::ArrayClose | Tok::End => {
                self.i = at;
                None
            }
        }
    }

    /// Whether the object ends here: its end, its stream, or the next object's header
    /// (`N G obj` of an object whose `endobj` is missing).
    fn at_object_end(&mut self) -> bool {
        match self.peek() {
            Tok::End => true,
            Tok::Word(w) => matches!(w.as_slice(), b"endobj" | b"stream" | b"obj" | b"endstream"),
            Tok::Int(_) => {
                let at = self.i;
                let header = matches!(
                    (self.next(), self.next(), self.next()),
                    (Tok::Int(_), Tok::Int(_), Tok::Word(w)) if w == b"obj"
                );
                self.i = at;
                header
            }
            _ => false,
        }
    }

    fn dict(&mut self, depth: usize) -> Dictionary {
        let mut d = Dictionary::new();
        loop {
            if self.at_object_end() {
                return d;
            }
            match self.next() {
                Tok::DictClose => return d,
                Tok::Name(key) => {
                    // A key followed by a closing delimiter or the object's end has no
                    // value: the entry is dropped.
                    if let Some(v) = self.value(depth) {
                        d.set(key, v);
                    }
                }
                // Anything else where a key should be is skipped.
                _ => {}
            }
        }
    }

    fn array(&mut self, depth: usize) -> Vec<Object> {
        let mut a = Vec::new();
        loop {
            if self.at_object_end() {
                return a;
            }
            if self.peek() == Tok::ArrayClose {
                self.next();
                return a;
            }
            if self.peek() == Tok::DictClose {
                // A `>>` inside an array: the array was not closed.
                return a;
            }
            if let Some(v) = self.value(depth) {
                a.push(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &[u8]) -> Option<Object> {
        Lenient {
            b: text,
            i: 0,
            max_depth: 16,
        }
        .value(0)
    }

    fn dict(text: &[u8]) -> Dictionary {
        match parse(text) {
            Some(Object::Dictionary(d)) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn well_formed_values_read_as_lopdf_reads_them() {
        let d = dict(
            b"<< /Type /Page /Kids [1 0 R 2 0 R] /Count 2 /MediaBox [0 0 612.5 792] \
              /T (a\\(b\\)\\101) /H <48 49> /N#20x null /B true >>",
        );
        assert_eq!(d.get(b"Type").unwrap(), &Object::Name(b"Page".to_vec()));
        assert_eq!(
            d.get(b"Kids").unwrap(),
            &Object::Array(vec![Object::Reference((1, 0)), Object::Reference((2, 0))])
        );
        assert_eq!(d.get(b"Count").unwrap(), &Object::Integer(2));
        assert_eq!(
            d.get(b"MediaBox").unwrap().as_array().unwrap()[2],
            Object::Real(612.5)
        );
        assert_eq!(d.get(b"T").unwrap().as_str().unwrap(), b"a(b)A");
        assert_eq!(d.get(b"H").unwrap().as_str().unwrap(), b"HI");
        assert_eq!(d.get(b"N x").unwrap(), &Object::Null);
        assert_eq!(d.get(b"B").unwrap(), &Object::Boolean(true));
    }

    #[test]
    fn a_bad_entry_is_dropped_and_the_rest_kept() {
        // Seen in damaged copies: a reference cut into pieces, a name glued to a number.
        let d = dict(
            b"<< /Type /Page /Parent 3 /Parent 1 0 R0 R /MediaBox [0 0 612 792] /Contents 5 0 R >>",
        );
        assert_eq!(d.get(b"Type").unwrap(), &Object::Name(b"Page".to_vec()));
        assert_eq!(d.get(b"Contents").unwrap(), &Object::Reference((5, 0)));
        assert_eq!(d.get(b"MediaBox").unwrap().as_array().unwrap().len(), 4);
        let d = dict(b"<< /ProcSet /Type /Pages6 0 R /Font << /F1 7 0 R >> >>");
        assert_eq!(
            d.get(b"Font")
                .unwrap()
                .as_dict()
                .unwrap()
                .get(b"F1")
                .unwrap(),
            &Object::Reference((7, 0))
        );
    }

    #[test]
    fn an_unclosed_object_ends_at_endobj_or_the_next_header() {
        // The unclosed array takes what follows, up to the object's end.
        let d = dict(b"<< /Type /Pages /Kids [4 0 R /Count 1\nendobj\n5 0 obj << /X 1 >>");
        assert_eq!(
            d.get(b"Kids").unwrap().as_array().unwrap()[0],
            Object::Reference((4, 0))
        );
        assert!(!d.has(b"X"));
        let d = dict(b"<< /Type /Pages /Count 1\n5 0 obj\n<< /X 1 >>");
        assert_eq!(d.get(b"Count").unwrap(), &Object::Integer(1));
        assert!(!d.has(b"X"));
    }

    #[test]
    fn objects_are_read_again_within_a_byte_budget() {
        use lopdf::xref::{Xref, XrefType};
        // Ten objects lopdf did not load, each with a 10 kB string.
        let mut file = b"%PDF-1.4\n".to_vec();
        let mut xref = Xref::new(11, XrefType::CrossReferenceTable);
        for n in 1..=10u32 {
            xref.insert(
                n,
                XrefEntry::Normal {
                    offset: file.len() as u32,
                    generation: 0,
                },
            );
            file.extend_from_slice(format!("{n} 0 obj\n<< /Type /Page /T (").as_bytes());
            file.extend(std::iter::repeat_n(b'x', 10_000));
            file.extend_from_slice(b") >>\nendobj\n");
        }
        let fresh = || {
            let mut doc = Document::new();
            doc.reference_table = xref.clone();
            doc
        };
        let mut doc = fresh();
        assert_eq!(missing_objects(&mut doc, &file, 16), 10);
        assert_eq!(
            doc.get_object((3, 0))
                .unwrap()
                .as_dict()
                .unwrap()
                .get(b"Type")
                .unwrap(),
            &Object::Name(b"Page".to_vec())
        );
        // Each object reads ~10 kB: a 35 kB budget runs out in the fourth, which is
        // dropped (its read was cut short).
        let mut doc = fresh();
        assert_eq!(missing_objects_within(&mut doc, &file, 16, 35_000), 3);
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = [b"[".repeat(100_000), b"]".repeat(100_000)].concat();
        let v = parse(&deep).unwrap();
        let mut levels = 0;
        let mut cur = &v;
        while let Object::Array(a) = cur {
            levels += 1;
            match a.first() {
                Some(next) => cur = next,
                None => break,
            }
        }
        assert!(levels <= 18, "{levels}");
    }
}
