//! Bounded stream decoding.
//!
//! Every stream the agent reads from an untrusted PDF (content streams, form XObjects,
//! CMaps, embedded font programs, XMP) is decoded here, never with lopdf's unbounded
//! `decompressed_content`. FlateDecode, the filter of nearly every stream and of every
//! deflate bomb, goes through `flate2` reading at most `cap + 1` bytes; the rarer filters
//! (LZW, ASCII85, ASCIIHex, RunLength) use lopdf's decoders with the same limit. Each
//! stream is bounded by [`Limits::max_stream_bytes`](crate::Limits) and all streams of a
//! task together by [`Limits::max_total_decompressed_bytes`](crate::Limits), tracked in a
//! [`Budget`].

use lopdf::{Dictionary, Document, Object, Stream};

/// How many decoded bytes the task may still produce.
#[derive(Debug)]
pub(crate) struct Budget {
    /// Bytes left over all streams.
    pub(crate) left: u64,
    /// Largest single stream.
    pub(crate) per_stream: usize,
}

impl Budget {
    /// A budget of `total` bytes, at most `per_stream` per stream.
    pub(crate) fn new(total: u64, per_stream: usize) -> Self {
        Self {
            left: total,
            per_stream,
        }
    }
}

/// Why a stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecodeError {
    /// The stream would decode to more than the per-stream limit.
    #[error("a stream decodes to more than {0} bytes (max_stream_bytes): decompression bomb?")]
    StreamTooLarge(usize),
    /// The task's total decoding budget is spent.
    #[error("the streams of this document decode to more than {0} bytes in total (max_total_decompressed_bytes)")]
    BudgetExhausted(u64),
    /// A filter this agent does not decode (image codecs).
    #[error("filter {0} is not decoded")]
    Unsupported(String),
    /// Corrupt data that yielded nothing.
    #[error("corrupt {0} data")]
    Corrupt(String),
}

impl DecodeError {
    /// Whether this error is a resource limit (the document should fail or be partial)
    /// rather than a damaged stream (skip it, warn).
    pub(crate) fn is_limit(&self) -> bool {
        matches!(
            self,
            DecodeError::StreamTooLarge(_) | DecodeError::BudgetExhausted(_)
        )
    }
}

/// The filter names of `dict`, resolved through references.
pub(crate) fn filters(dict: &Dictionary, doc: &Document) -> Vec<Vec<u8>> {
    let Ok(f) = dict.get(b"Filter") else {
        return Vec::new();
    };
    let f = resolve(doc, f);
    match f {
        Object::Name(n) => vec![n.clone()],
        Object::Array(a) => a
            .iter()
            .filter_map(|o| match resolve(doc, o) {
                Object::Name(n) => Some(n.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Follows a reference (one level; lopdf objects hold no reference chains worth more).
fn resolve<'a>(doc: &'a Document, o: &'a Object) -> &'a Object {
    let mut cur = o;
    for _ in 0..8 {
        match cur {
            Object::Reference(id) => match doc.get_object(*id) {
                Ok(next) => cur = next,
                Err(_) => return &Object::Null,
            },
            _ => return cur,
        }
    }
    &Object::Null
}

/// Decodes `stream` within `budget`. Corrupt Flate data keeps what decoded before the
/// damage (as readers do); the `bool` says whether the data was damaged.
pub(crate) fn decode(
    doc: &Document,
    stream: &Stream,
    budget: &mut Budget,
) -> Result<(Vec<u8>, bool), DecodeError> {
    let cap = budget
        .per_stream
        .min(usize::try_from(budget.left).unwrap_or(usize::MAX));
    let names = filters(&stream.dict, doc);
    let (out, damaged) = if names.is_empty() {
        if stream.content.len() > cap {
            return Err(limit_error(budget, stream.content.len()));
        }
        (stream.content.clone(), false)
    } else {
        let mut data: Option<Vec<u8>> = None;
        let mut damaged = false;
        for (i, name) in names.iter().enumerate() {
            let input: &[u8] = data.as_deref().unwrap_or(&stream.content);
            let params = decode_params(&stream.dict, doc, i);
            let next = match name.as_slice() {
                b"FlateDecode" | b"Fl" => {
                    let (o, bad) = inflate(input, cap, budget)?;
                    damaged |= bad;
                    match params.and_then(predictor) {
                        Some(pred) if pred > 1 => {
                            // Rare in content streams: let lopdf undo the predictor on the
                            // bounded output.
                            let mut dict = Dictionary::new();
                            dict.set("Filter", Object::Name(b"FlateDecode".to_vec()));
                            if let Some(p) = params {
                                dict.set("DecodeParms", Object::Dictionary(p.clone()));
                            }
                            let re = deflate_again(&o);
                            let s = Stream::new(dict, re);
                            s.decompressed_content_with_limit(cap)
                                .map_err(|e| lopdf_error(e, budget, "FlateDecode"))?
                        }
                        _ => o,
                    }
                }
                b"LZWDecode" | b"LZW" | b"ASCII85Decode" | b"A85" | b"ASCIIHexDecode" | b"AHx"
                | b"RunLengthDecode" | b"RL" => {
                    let full = match name.as_slice() {
                        b"LZW" => b"LZWDecode".as_slice(),
                        b"A85" => b"ASCII85Decode",
                        b"AHx" => b"ASCIIHexDecode",
                        b"RL" => b"RunLengthDecode",
                        other => other,
                    };
                    let mut dict = Dictionary::new();
                    dict.set("Filter", Object::Name(full.to_vec()));
                    if let Some(p) = params {
                        dict.set("DecodeParms", Object::Dictionary(p.clone()));
                    }
                    let s = Stream::new(dict, input.to_vec());
                    s.decompressed_content_with_limit(cap)
                        .map_err(|e| lopdf_error(e, budget, &String::from_utf8_lossy(full)))?
                }
                b"Crypt" => input.to_vec(),
                other => {
                    return Err(DecodeError::Unsupported(
                        String::from_utf8_lossy(other).into_owned(),
                    ))
                }
            };
            data = Some(next);
        }
        (data.unwrap_or_default(), damaged)
    };
    budget.left = budget.left.saturating_sub(out.len() as u64);
    Ok((out, damaged))
}

fn limit_error(budget: &Budget, _wanted: usize) -> DecodeError {
    if (budget.left as usize) < budget.per_stream {
        DecodeError::BudgetExhausted(budget.left)
    } else {
        DecodeError::StreamTooLarge(budget.per_stream)
    }
}

fn lopdf_error(e: lopdf::Error, budget: &Budget, filter: &str) -> DecodeError {
    match e {
        lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. }) => {
            limit_error(budget, 0)
        }
        _ => DecodeError::Corrupt(filter.to_string()),
    }
}

fn decode_params<'a>(dict: &'a Dictionary, doc: &'a Document, i: usize) -> Option<&'a Dictionary> {
    let p = resolve(doc, dict.get(b"DecodeParms").ok()?);
    match p {
        Object::Dictionary(d) => Some(d),
        Object::Array(a) => match resolve(doc, a.get(i)?) {
            Object::Dictionary(d) => Some(d),
            _ => None,
        },
        _ => None,
    }
}

fn predictor(p: &Dictionary) -> Option<i64> {
    p.get(b"Predictor").ok()?.as_i64().ok()
}

/// Re-compresses (fast) so that lopdf can apply a PNG/TIFF predictor to bounded data.
fn deflate_again(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

/// Inflates zlib (or raw deflate) data, producing at most `cap + 1` bytes.
///
/// Damage keeps what came out before it, as readers do: a wrong Adler-32 checksum (the
/// data are all there), a stream cut short, a bad block in the middle. A zlib header
/// that does not check out is read as raw deflate, from the start and then past the two
/// header bytes, whichever yields more. Only damage that yields nothing is an error.
fn inflate(input: &[u8], cap: usize, budget: &Budget) -> Result<(Vec<u8>, bool), DecodeError> {
    let zlib_header = input.len() >= 2
        && input[0] & 0x0f == 8
        && (u16::from(input[0]) << 8 | u16::from(input[1])) % 31 == 0;
    let (out, damaged) = if zlib_header {
        inflate_with(input, true, cap)
    } else {
        let whole = inflate_with(input, false, cap);
        match (&whole, input.get(2..)) {
            // A damaged zlib header in front of deflate data.
            ((out, true), Some(rest)) if out.len() < cap => {
                let skipped = inflate_with(rest, false, cap);
                if skipped.0.len() > out.len() {
                    (skipped.0, true)
                } else {
                    whole
                }
            }
            _ => whole,
        }
    };
    if out.len() > cap {
        return Err(limit_error(budget, out.len()));
    }
    if damaged && out.is_empty() {
        return Err(DecodeError::Corrupt("FlateDecode".into()));
    }
    Ok((out, damaged))
}

/// Runs the inflater over `input` until it ends, fails or stalls, or more than `cap`
/// bytes came out. Returns the output and whether the data were damaged (an error, or
/// input that ran out before the end of the stream).
fn inflate_with(input: &[u8], zlib_header: bool, cap: usize) -> (Vec<u8>, bool) {
    use flate2::{Decompress, FlushDecompress, Status};
    const STEP: usize = 64 * 1024;
    let limit = cap.saturating_add(1);
    let mut z = Decompress::new(zlib_header);
    let mut out: Vec<u8> = Vec::with_capacity(
        input
            .len()
            .saturating_mul(4)
            .clamp(STEP, 1 << 20)
            .min(limit),
    );
    loop {
        let room = limit.saturating_sub(out.len());
        if room == 0 {
            // Over the cap: the caller reports the limit.
            return (out, false);
        }
        // The inflater writes into the spare capacity only, which never exceeds the cap.
        if out.capacity() == out.len() {
            out.reserve_exact(STEP.max(out.len()).min(room));
        }
        let consumed = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
        let rest = input.get(consumed..).unwrap_or_default();
        let before = (z.total_in(), z.total_out());
        match z.decompress_vec(rest, &mut out, FlushDecompress::None) {
            Ok(Status::StreamEnd) => return (out, false),
            Ok(Status::Ok | Status::BufError) => {
                if (z.total_in(), z.total_out()) == before {
                    // The input ran out before the end of the stream: cut short.
                    return (out, true);
                }
            }
            Err(_) => return (out, true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn flate_stream(data: &[u8]) -> Stream {
        let mut d = Dictionary::new();
        d.set("Filter", Object::Name(b"FlateDecode".to_vec()));
        Stream::new(d, zlib(data))
    }

    #[test]
    fn flate_within_caps() {
        let doc = Document::new();
        let s = flate_stream(b"BT /F1 12 Tf (hi) Tj ET");
        let mut b = Budget::new(1000, 100);
        let (out, bad) = decode(&doc, &s, &mut b).unwrap();
        assert_eq!(out, b"BT /F1 12 Tf (hi) Tj ET");
        assert!(!bad);
        assert_eq!(b.left, 1000 - out.len() as u64);
    }

    #[test]
    fn bomb_stops_at_the_cap() {
        let doc = Document::new();
        let s = flate_stream(&vec![0u8; 50 << 20]);
        assert!(s.content.len() < 100_000);
        let mut b = Budget::new(u64::MAX, 1 << 20);
        let t = std::time::Instant::now();
        let err = decode(&doc, &s, &mut b).unwrap_err();
        assert_eq!(err, DecodeError::StreamTooLarge(1 << 20));
        assert!(err.is_limit());
        assert!(t.elapsed().as_secs() < 2);
        let mut b = Budget::new(1000, 1 << 20);
        assert_eq!(
            decode(&doc, &s, &mut b).unwrap_err(),
            DecodeError::BudgetExhausted(1000)
        );
    }

    /// 25 kB of text that compresses poorly enough to span several deflate blocks.
    fn numbers() -> String {
        (0..5000)
            .map(|i| format!("{} ", i * 7919 % 10007))
            .collect()
    }

    #[test]
    fn truncated_flate_keeps_the_prefix() {
        let doc = Document::new();
        let text = numbers();
        let mut s = flate_stream(text.as_bytes());
        let n = s.content.len();
        s.content.truncate(n / 2);
        let mut b = Budget::new(u64::MAX, 1 << 20);
        let (out, bad) = decode(&doc, &s, &mut b).unwrap();
        assert!(bad);
        assert!(out.len() > 1000 && text.as_bytes().starts_with(&out));
    }

    #[test]
    fn a_bad_checksum_keeps_all_the_data() {
        let doc = Document::new();
        let text = numbers();
        let mut s = flate_stream(text.as_bytes());
        let n = s.content.len();
        s.content[n - 1] ^= 0x55;
        let mut b = Budget::new(u64::MAX, 1 << 20);
        let (out, bad) = decode(&doc, &s, &mut b).unwrap();
        assert!(bad);
        assert_eq!(out, text.as_bytes());
    }

    #[test]
    fn a_damaged_zlib_header_is_read_past() {
        let doc = Document::new();
        let text = b"BT /F1 12 Tf (a header hit by one bad byte) Tj ET".repeat(40);
        let mut s = flate_stream(&text);
        s.content[1] ^= 0x01;
        let mut b = Budget::new(u64::MAX, 1 << 20);
        let (out, bad) = decode(&doc, &s, &mut b).unwrap();
        assert!(bad);
        assert_eq!(out, text);
    }

    #[test]
    fn nothing_readable_is_corrupt() {
        let doc = Document::new();
        let mut d = Dictionary::new();
        d.set("Filter", Object::Name(b"FlateDecode".to_vec()));
        let s = Stream::new(d, vec![0xff; 64]);
        let mut b = Budget::new(u64::MAX, 1 << 20);
        assert_eq!(
            decode(&doc, &s, &mut b).unwrap_err(),
            DecodeError::Corrupt("FlateDecode".into())
        );
    }

    #[test]
    fn ascii_hex_and_chains() {
        let doc = Document::new();
        let mut d = Dictionary::new();
        d.set(
            "Filter",
            Object::Array(vec![
                Object::Name(b"AHx".to_vec()),
                Object::Name(b"FlateDecode".to_vec()),
            ]),
        );
        let hex: String = zlib(b"abc").iter().map(|b| format!("{b:02x}")).collect();
        let s = Stream::new(d, format!("{hex}>").into_bytes());
        let mut b = Budget::new(u64::MAX, 1 << 20);
        assert_eq!(decode(&doc, &s, &mut b).unwrap().0, b"abc");
    }
}
