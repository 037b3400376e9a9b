//! Reading the objects of a file without object streams one at a time.
//!
//! lopdf parses every object of a file when it loads it. For a part of a split document
//! whose objects are all top-level (no object streams: pdfunite, Ghostscript, LibreOffice
//! and many older writers), that full parse was the whole price of the lazy load: each
//! part of a 887-page, 6.5 MB document parsed all of it (about 50 ms) to read its half.
//! Here the cross-reference *tables* are read by hand ([`open`]: the `startxref` chain
//! of classic sections, newest entry first, and the trailer), and an object is parsed
//! only when the page range needs it ([`read`], called by `lazy`). The values themselves
//! are parsed by lopdf (a dictionary or array goes through lopdf's object-stream parser
//! as a one-member stream); this module finds where an object's value and its stream
//! data lie.
//!
//! Anything unusual makes [`open`] answer `None` and the caller loads the file with
//! lopdf as before: a cross-reference stream (PDF 1.5 files, which may hold object
//! streams: the lazy path for those keeps them packed instead), a hybrid `/XRefStm`, an
//! encrypted file, an offset that does not lead to a table, a loop of `/Prev` links.
//! [`read`] answers `None` for an object it cannot read where the table says; the lazy
//! load then gives up and the full load, with lopdf's repairs, takes over.

use std::collections::HashSet;

use lopdf::xref::{Xref, XrefEntry, XrefType};
use lopdf::{Dictionary, Document, Object, ObjectId, ObjectStream, Stream};

/// How many cross-reference sections a `/Prev` chain may have.
const MAX_SECTIONS: usize = 256;

/// The file from its `%PDF-` header on (offsets count from there, as lopdf counts them).
pub(crate) fn body(bytes: &[u8]) -> Option<&[u8]> {
    let head = &bytes[..bytes.len().min(1024)];
    let at = head.windows(5).position(|w| w == b"%PDF-")?;
    Some(&bytes[at..])
}

/// A document with its trailer and cross-reference table read and no object loaded, or
/// `None` when the file's cross-reference data are not plain tables (see the module).
pub(crate) fn open(bytes: &[u8], max_objects: usize) -> Option<Document> {
    let file = body(bytes)?;
    let version = {
        let rest = &file[5..file.len().min(16)];
        let end = rest
            .iter()
            .position(|b| !(b.is_ascii_digit() || *b == b'.'))
            .unwrap_or(rest.len());
        String::from_utf8_lossy(&rest[..end]).into_owned()
    };
    let tail_from = file.len().saturating_sub(2048);
    let tail = &file[tail_from..];
    let sx = tail.windows(9).rposition(|w| w == b"startxref")?;
    let (mut offset, _) = integer(file, skip_ws(file, tail_from + sx + 9))?;
    let mut trailer: Option<Dictionary> = None;
    let mut entries: Vec<(u32, XrefEntry)> = Vec::new();
    let mut seen_ids: HashSet<u32> = HashSet::new();
    let mut seen_sections: HashSet<u64> = HashSet::new();
    loop {
        if !seen_sections.insert(offset) || seen_sections.len() > MAX_SECTIONS {
            return None;
        }
        let at = usize::try_from(offset).ok()?;
        let (section, dict) = table(file, at)?;
        for (id, e) in section {
            if seen_ids.insert(id) {
                entries.push((id, e));
                if entries.len() > max_objects.saturating_add(1024) {
                    return None;
                }
            }
        }
        if dict.has(b"XRefStm") || dict.has(b"Encrypt") {
            return None;
        }
        let prev = match dict.get(b"Prev") {
            Ok(Object::Integer(p)) => Some(u64::try_from(*p).ok()?),
            Ok(_) => return None,
            Err(_) => None,
        };
        if trailer.is_none() {
            trailer = Some(dict);
        }
        match prev {
            Some(p) => offset = p,
            None => break,
        }
    }
    let trailer = trailer?;
    let size = match trailer.get(b"Size") {
        Ok(Object::Integer(n)) => u32::try_from(*n).ok()?,
        _ => return None,
    };
    if !matches!(trailer.get(b"Root"), Ok(Object::Reference(_))) {
        return None;
    }
    let mut xref = Xref::new(size, XrefType::CrossReferenceTable);
    let mut max_id = 0;
    for (id, e) in entries {
        max_id = max_id.max(id);
        xref.insert(id, e);
    }
    let mut doc = Document::new();
    doc.version = version;
    doc.trailer = trailer;
    doc.reference_table = xref;
    doc.max_id = max_id.max(size.saturating_sub(1));
    Some(doc)
}

/// One classic cross-reference section at `at` (`xref`, subsections, `trailer` and its
/// dictionary): its entries and the trailer.
fn table(file: &[u8], at: usize) -> Option<(Vec<(u32, XrefEntry)>, Dictionary)> {
    let mut pos = skip_ws(file, at);
    if !file.get(pos..)?.starts_with(b"xref") {
        return None;
    }
    pos += 4;
    let mut entries = Vec::new();
    loop {
        pos = skip_ws(file, pos);
        if file.get(pos..)?.starts_with(b"trailer") {
            pos += 7;
            break;
        }
        let (start, p) = integer(file, pos)?;
        let (count, p) = integer(file, skip_ws(file, p))?;
        pos = p;
        let start = u32::try_from(start).ok()?;
        for i in 0..u32::try_from(count).ok()? {
            let (off, p) = integer(file, skip_ws(file, pos))?;
            let (generation, p) = integer(file, skip_ws(file, p))?;
            let p = skip_ws(file, p);
            let kind = *file.get(p)?;
            pos = p + 1;
            let id = start.checked_add(i)?;
            let entry = match kind {
                b'n' => XrefEntry::Normal {
                    offset: u32::try_from(off).ok()?,
                    generation: u16::try_from(generation).ok()?,
                },
                b'f' => XrefEntry::Free,
                _ => return None,
            };
            // Object 0 heads the free list; an offset of 0 is no object.
            if id != 0 && !(matches!(entry, XrefEntry::Normal { offset: 0, .. })) {
                entries.push((id, entry));
            }
        }
    }
    pos = skip_ws(file, pos);
    let end = value_end(file, pos)?;
    match parse_value(&file[pos..end])? {
        Object::Dictionary(d) => Some((entries, d)),
        _ => None,
    }
}

/// Reads object `id` at `offset`. `length` answers the value of an indirect `/Length`
/// (an integer object elsewhere in the file).
pub(crate) fn read(
    file: &[u8],
    offset: usize,
    id: ObjectId,
    length: &mut dyn FnMut(ObjectId) -> Option<usize>,
) -> Option<Object> {
    let start = value_start(file, offset, id)?;
    let end = value_end(file, start)?;
    let value = parse_value(&file[start..end])?;
    let Object::Dictionary(dict) = value else {
        return Some(value);
    };
    if !stream_follows(file, end) {
        return Some(Object::Dictionary(dict));
    }
    let content = stream_data(file, end, &dict, length)?;
    Some(Object::Stream(Stream::new(dict, content.to_vec())))
}

/// The data of the stream whose dictionary `dict` ends at `end` (`stream` follows): as
/// long as its `/Length` says when `endstream` follows there, else up to the first
/// `endstream`.
pub(crate) fn stream_data<'a>(
    file: &'a [u8],
    end: usize,
    dict: &Dictionary,
    length: &mut dyn FnMut(ObjectId) -> Option<usize>,
) -> Option<&'a [u8]> {
    // The data start after the keyword's end of line (CR LF or LF; a lone CR is
    // tolerated).
    let mut data = skip_ws(file, end) + 6;
    match (file.get(data), file.get(data + 1)) {
        (Some(b'\r'), Some(b'\n')) => data += 2,
        (Some(b'\n' | b'\r'), _) => data += 1,
        _ => {}
    }
    let declared = match dict.get(b"Length") {
        Ok(Object::Integer(n)) => usize::try_from(*n).ok(),
        Ok(Object::Reference(r)) => length(*r),
        _ => None,
    };
    match declared {
        Some(n) if data.checked_add(n).is_some_and(|e| ends_stream(file, e)) => {
            file.get(data..data + n)
        }
        // A wrong or missing length: the data run to the first `endstream`.
        _ => {
            let rel = file
                .get(data..)?
                .windows(9)
                .position(|w| w == b"endstream")?;
            let mut stop = data + rel;
            if stop > data && file[stop - 1] == b'\n' {
                stop -= 1;
            }
            if stop > data && file[stop - 1] == b'\r' {
                stop -= 1;
            }
            Some(&file[data..stop])
        }
    }
}

/// Where the value of object `id` starts, when its `N G obj` header is at `offset`.
pub(crate) fn value_start(file: &[u8], offset: usize, id: ObjectId) -> Option<usize> {
    let pos = skip_ws(file, offset);
    let (number, p) = integer(file, pos)?;
    let (generation, p) = integer(file, skip_ws(file, p))?;
    let p = skip_ws(file, p);
    if number != u64::from(id.0) || generation != u64::from(id.1) {
        return None;
    }
    if !file.get(p..)?.starts_with(b"obj") {
        return None;
    }
    Some(skip_ws(file, p + 3))
}

/// Whether a value ending at `end` is a stream's dictionary (`stream` follows it).
pub(crate) fn stream_follows(file: &[u8], end: usize) -> bool {
    file.get(skip_ws(file, end)..)
        .is_some_and(|rest| rest.starts_with(b"stream"))
}

/// Whether `endstream` follows `at` (after white space).
fn ends_stream(file: &[u8], at: usize) -> bool {
    at <= file.len() && file[skip_ws(file, at)..].starts_with(b"endstream")
}

/// Parses one direct object with lopdf, as the only member of an object stream.
pub(crate) fn parse_value(bytes: &[u8]) -> Option<Object> {
    let head = b"1 0\n";
    let mut data = Vec::with_capacity(head.len() + bytes.len() + 1);
    data.extend_from_slice(head);
    data.extend_from_slice(bytes);
    data.push(b'\n');
    let mut dict = Dictionary::new();
    dict.set("Type", Object::Name(b"ObjStm".to_vec()));
    dict.set("N", 1);
    dict.set("First", head.len() as i64);
    let one = Stream::new(dict, data);
    let mut parsed = ObjectStream::new_with_limit(&one, None).ok()?;
    parsed.objects.remove(&(1, 0))
}

/// Where the direct object starting at `start` ends: the matching `>>` or `]` of a
/// dictionary or array (strings, hex strings and comments skipped), else the end of a
/// scalar (a number, name, keyword or reference) before `endobj`.
fn value_end(file: &[u8], start: usize) -> Option<usize> {
    let first = *file.get(start)?;
    if first == b'<' && file.get(start + 1) == Some(&b'<') || first == b'[' {
        let mut depth = 0usize;
        let mut i = start;
        while i < file.len() {
            match file[i] {
                b'(' => i = string_end(file, i)?,
                b'%' => {
                    while i < file.len() && !matches!(file[i], b'\r' | b'\n') {
                        i += 1;
                    }
                }
                b'<' if file.get(i + 1) == Some(&b'<') => {
                    depth += 1;
                    i += 2;
                    continue;
                }
                b'<' => {
                    i += file.get(i..)?.iter().position(|&b| b == b'>')?;
                }
                b'>' if file.get(i + 1) == Some(&b'>') => {
                    depth = depth.checked_sub(1)?;
                    i += 2;
                    if depth == 0 {
                        return Some(i);
                    }
                    continue;
                }
                b'[' => depth += 1,
                b']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        return None;
    }
    if first == b'(' {
        return string_end(file, start).map(|e| e + 1);
    }
    // A scalar or a reference: up to `endobj`, at most a line away.
    let window = &file[start..file.len().min(start + 256)];
    let stop = window
        .windows(6)
        .position(|w| w == b"endobj")
        .unwrap_or(window.len());
    Some(start + stop)
}

/// The index of the `)` closing the literal string opened at `open`.
fn string_end(file: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < file.len() {
        match file[i] {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Skips white space and comments.
pub(crate) fn skip_ws(file: &[u8], mut i: usize) -> usize {
    while i < file.len() {
        match file[i] {
            b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0' => i += 1,
            b'%' => {
                while i < file.len() && !matches!(file[i], b'\r' | b'\n') {
                    i += 1;
                }
            }
            _ => break,
        }
    }
    i
}

/// A non-negative decimal integer at `i` and the index after it.
fn integer(file: &[u8], i: usize) -> Option<(u64, usize)> {
    let digits = file
        .get(i..)?
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || digits > 18 {
        return None;
    }
    let n = std::str::from_utf8(&file[i..i + digits])
        .ok()?
        .parse()
        .ok()?;
    Some((n, i + digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_end_where_their_brackets_close() {
        let f = b"<< /A (a >> ]) /B [1 2 <</C 3>>] /D <3e3e> >> stream";
        assert_eq!(value_end(f, 0), Some(f.len() - 7));
        let g = b"[ (x\\)) [ 1 ] ] endobj";
        assert_eq!(value_end(g, 0), Some(15));
        let h = b"42 endobj";
        assert_eq!(
            parse_value(&h[..value_end(h, 0).unwrap()]),
            Some(Object::Integer(42))
        );
        let r = b"5 0 R\nendobj";
        assert_eq!(
            parse_value(&r[..value_end(r, 0).unwrap()]),
            Some(Object::Reference((5, 0)))
        );
    }

    #[test]
    fn streams_read_with_a_direct_an_indirect_and_a_wrong_length() {
        let file = b"%PDF-1.4\n1 0 obj\n<< /Length 5 >>\nstream\r\nHELLO\nendstream\nendobj\n\
2 0 obj\n<< /Length 3 0 R >>\nstream\nWORLD\nendstream\nendobj\n\
3 0 obj\n5\nendobj\n4 0 obj\n<< /Length 99 >>\nstream\nBYE\r\nendstream\nendobj\n";
        let at = |n: &[u8]| file.windows(n.len()).position(|w| w == n).unwrap();
        let mut len = |id: ObjectId| {
            let o = read(file, at(b"3 0 obj"), id, &mut |_| None)?;
            o.as_i64().ok().and_then(|n| usize::try_from(n).ok())
        };
        let content = |o: Option<Object>| match o {
            Some(Object::Stream(s)) => s.content,
            other => panic!("not a stream: {other:?}"),
        };
        assert_eq!(
            content(read(file, at(b"1 0 obj"), (1, 0), &mut len)),
            b"HELLO"
        );
        assert_eq!(
            content(read(file, at(b"2 0 obj"), (2, 0), &mut len)),
            b"WORLD"
        );
        assert_eq!(
            content(read(file, at(b"4 0 obj"), (4, 0), &mut len)),
            b"BYE"
        );
        // The table pointing at another object is no object.
        assert_eq!(read(file, at(b"1 0 obj"), (2, 0), &mut len), None);
    }
}
