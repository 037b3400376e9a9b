//! The image of a scanned page, for the OCR agent: the largest image XObject the page
//! draws, as the encoded JPEG a DCTDecode stream already is, or as raw 8-bit gray/RGB
//! pixels after a bounded decode of its other filters. Other encodings (JPX, CCITT,
//! JBIG2, indexed or 1-bit colour) are reported as absent, with no guess.

use daa_shared::model::TaskError;
use lopdf::{Dictionary, Document, Object};

use crate::decode::{self, Budget};
use crate::objects::{as_dict, deref, get_name};
use crate::{load, pages, Limits};

/// A page image, ready for OCR.
#[derive(Debug, Clone, PartialEq)]
pub enum PageImage {
    /// An encoded image file (JPEG from DCTDecode).
    Encoded {
        /// Its media type.
        media_type: &'static str,
        /// The file's bytes.
        data: Vec<u8>,
    },
    /// Raw 8-bit pixels, row by row.
    Raw {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// 1 (gray) or 3 (RGB).
        channels: u8,
        /// `width * height * channels` bytes.
        pixels: Vec<u8>,
    },
}

fn int(doc: &Document, d: &Dictionary, key: &[u8]) -> Option<i64> {
    match deref(doc, d.get(key).ok()?) {
        Object::Integer(i) => Some(*i),
        Object::Real(r) => Some(*r as i64),
        _ => None,
    }
}

fn channels(doc: &Document, d: &Dictionary) -> Option<u8> {
    match d.get(b"ColorSpace").ok().map(|o| deref(doc, o)) {
        Some(Object::Name(n)) if n == b"DeviceGray" => Some(1),
        Some(Object::Name(n)) if n == b"DeviceRGB" => Some(3),
        Some(Object::Array(a))
            if a.first().map(|o| deref(doc, o)) == Some(&Object::Name(b"ICCBased".to_vec())) =>
        {
            let n = a
                .get(1)
                .and_then(|o| as_dict(doc, o))
                .and_then(|s| int(doc, s, b"N"));
            match n {
                Some(1) => Some(1),
                Some(3) => Some(3),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The image of page `page` (1-based), if it draws one this module can hand over.
pub fn page_image(
    bytes: &[u8],
    page: u32,
    limits: &Limits,
) -> Result<Option<PageImage>, TaskError> {
    let page = page.max(1);
    let loaded = load::load_range(bytes, limits, page, page)?;
    let doc = &loaded.doc;
    let list = pages::pages_in(doc, page, page, limits.max_pages, limits.max_depth);
    let Some(p) = list.get(page) else {
        return Ok(None);
    };
    let Some(xobjs) = p
        .resources
        .and_then(|r| r.get(b"XObject").ok())
        .and_then(|o| as_dict(doc, o))
    else {
        return Ok(None);
    };
    let best = xobjs
        .iter()
        .filter_map(|(_, o)| match deref(doc, o) {
            Object::Stream(s)
                if get_name(doc, &s.dict, b"Subtype") == Some(b"Image".as_slice()) =>
            {
                let (w, h) = (int(doc, &s.dict, b"Width")?, int(doc, &s.dict, b"Height")?);
                Some((w.max(0) * h.max(0), w, h, s))
            }
            _ => None,
        })
        .max_by_key(|(area, ..)| *area);
    let Some((_, w, h, stream)) = best else {
        return Ok(None);
    };
    let filters = decode::filters(&stream.dict, doc);
    if filters.last().map(Vec::as_slice) == Some(b"DCTDecode".as_slice()) && filters.len() == 1 {
        return Ok(Some(PageImage::Encoded {
            media_type: "image/jpeg",
            data: stream.content.clone(),
        }));
    }
    let image_codec = filters.iter().any(|f| {
        matches!(
            f.as_slice(),
            b"DCTDecode" | b"JPXDecode" | b"CCITTFaxDecode" | b"JBIG2Decode"
        )
    });
    let (Some(ch), Some(8)) = (
        channels(doc, &stream.dict),
        int(doc, &stream.dict, b"BitsPerComponent"),
    ) else {
        return Ok(None);
    };
    if image_codec {
        return Ok(None);
    }
    let mut budget = Budget::new(limits.max_total_decompressed_bytes, limits.max_stream_bytes);
    let (pixels, _) = decode::decode(doc, stream, &mut budget).map_err(|e| {
        TaskError::permanent(format!("page {page}: cannot decode its image: {e:?}"))
    })?;
    let (width, height) = (u32::try_from(w).unwrap_or(0), u32::try_from(h).unwrap_or(0));
    let expected = width as usize * height as usize * ch as usize;
    if expected == 0 || pixels.len() < expected {
        return Ok(None);
    }
    Ok(Some(PageImage::Raw {
        width,
        height,
        channels: ch,
        pixels: pixels[..expected].to_vec(),
    }))
}
