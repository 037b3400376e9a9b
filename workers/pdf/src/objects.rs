//! Small helpers over lopdf objects: reference chains followed a bounded number of
//! times (a reference cycle ends as `Null`), typed getters that never panic.

use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

/// Most references followed in a row before giving up (a cycle or an absurd chain).
const MAX_HOPS: usize = 32;

/// `o` with references followed; `Null` for dangling or cyclic references.
pub(crate) fn deref<'a>(doc: &'a Document, o: &'a Object) -> &'a Object {
    let mut cur = o;
    for _ in 0..MAX_HOPS {
        match cur {
            Object::Reference(id) => match doc.objects.get(id) {
                Some(next) => cur = next,
                None => return &Object::Null,
            },
            _ => return cur,
        }
    }
    &Object::Null
}

/// As [`deref`], on a document that may be partly loaded (see `lazy`): `Err(id)` names
/// an object still packed in an object stream; dangling references are `Null`.
pub(crate) fn deref_loaded<'a>(doc: &'a Document, o: &'a Object) -> Result<&'a Object, ObjectId> {
    let mut cur = o;
    for _ in 0..MAX_HOPS {
        match cur {
            Object::Reference(id) => match doc.objects.get(id) {
                Some(next) => cur = next,
                None => {
                    return match doc.reference_table.get(id.0) {
                        Some(lopdf::xref::XrefEntry::Compressed { .. }) => Err(*id),
                        _ => Ok(&Object::Null),
                    }
                }
            },
            _ => return Ok(cur),
        }
    }
    Ok(&Object::Null)
}

/// The id `o` refers to, if it is a reference.
pub(crate) fn ref_id(o: &Object) -> Option<ObjectId> {
    match o {
        Object::Reference(id) => Some(*id),
        _ => None,
    }
}

/// `d[key]`, dereferenced.
pub(crate) fn get<'a>(doc: &'a Document, d: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    match d.get(key) {
        Ok(o) => match deref(doc, o) {
            Object::Null => None,
            o => Some(o),
        },
        Err(_) => None,
    }
}

/// A dictionary (or a stream's dictionary).
pub(crate) fn as_dict<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Dictionary> {
    match deref(doc, o) {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    }
}

/// `d[key]` as a dictionary.
pub(crate) fn get_dict<'a>(
    doc: &'a Document,
    d: &'a Dictionary,
    key: &[u8],
) -> Option<&'a Dictionary> {
    as_dict(doc, d.get(key).ok()?)
}

/// `d[key]` as a stream.
pub(crate) fn get_stream<'a>(
    doc: &'a Document,
    d: &'a Dictionary,
    key: &[u8],
) -> Option<&'a Stream> {
    match get(doc, d, key)? {
        Object::Stream(s) => Some(s),
        _ => None,
    }
}

/// `d[key]` as an array.
pub(crate) fn get_array<'a>(
    doc: &'a Document,
    d: &'a Dictionary,
    key: &[u8],
) -> Option<&'a [Object]> {
    match get(doc, d, key)? {
        Object::Array(a) => Some(a),
        _ => None,
    }
}

/// `d[key]` as a name.
pub(crate) fn get_name<'a>(doc: &'a Document, d: &'a Dictionary, key: &[u8]) -> Option<&'a [u8]> {
    match get(doc, d, key)? {
        Object::Name(n) => Some(n),
        _ => None,
    }
}

/// A number (integer or real).
pub(crate) fn num(doc: &Document, o: &Object) -> Option<f32> {
    match deref(doc, o) {
        Object::Integer(i) => Some(*i as f32),
        Object::Real(r) => r.is_finite().then_some(*r),
        _ => None,
    }
}

/// `d[key]` as a number.
pub(crate) fn get_num(doc: &Document, d: &Dictionary, key: &[u8]) -> Option<f32> {
    num(doc, d.get(key).ok()?)
}

/// An array of numbers (non-numbers become 0).
pub(crate) fn nums(doc: &Document, a: &[Object]) -> Vec<f32> {
    a.iter().map(|o| num(doc, o).unwrap_or(0.0)).collect()
}

/// A rectangle `[x0 y0 x1 y1]`, normalised so that x0 <= x1 and y0 <= y1.
pub(crate) fn rect(doc: &Document, o: &Object) -> Option<[f32; 4]> {
    let a = match deref(doc, o) {
        Object::Array(a) => a,
        _ => return None,
    };
    if a.len() < 4 {
        return None;
    }
    let v = nums(doc, &a[..4]);
    let r = [
        v[0].min(v[2]),
        v[1].min(v[3]),
        v[0].max(v[2]),
        v[1].max(v[3]),
    ];
    (r[2] - r[0] > 0.0 && r[3] - r[1] > 0.0).then_some(r)
}

/// A text string (PDFDocEncoding, UTF-16BE or UTF-8 with BOM) as Rust text.
pub(crate) fn text_string(bytes: &[u8]) -> String {
    if bytes.len() >= 2 && bytes[0] == 0xfe && bytes[1] == 0xff {
        let units: Vec<u16> = bytes[2..]
            .chunks(2)
            .map(|c| u16::from(c[0]) << 8 | u16::from(*c.get(1).unwrap_or(&0)))
            .collect();
        return char::decode_utf16(units)
            .map(|c| c.unwrap_or('\u{fffd}'))
            .collect();
    }
    if bytes.len() >= 3 && bytes[..3] == [0xef, 0xbb, 0xbf] {
        return String::from_utf8_lossy(&bytes[3..]).into_owned();
    }
    bytes
        .iter()
        .filter_map(|&b| {
            crate::font::names::pdf_doc_char(b).or(if b >= 0x20 { None } else { Some(' ') })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_cycles_end_as_null() {
        let mut doc = Document::new();
        doc.objects.insert((1, 0), Object::Reference((2, 0)));
        doc.objects.insert((2, 0), Object::Reference((1, 0)));
        assert_eq!(deref(&doc, &Object::Reference((1, 0))), &Object::Null);
        assert_eq!(deref(&doc, &Object::Reference((9, 0))), &Object::Null);
    }

    #[test]
    fn text_strings() {
        assert_eq!(text_string(b"\xfe\xff\x00A\x00\xe9"), "Aé");
        assert_eq!(text_string(b"caf\xe9"), "café");
        assert_eq!(text_string(b"\xef\xbb\xbfok"), "ok");
    }
}
