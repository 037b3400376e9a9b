//! The resolution an image declares: PNG `pHYs`, JPEG JFIF density or EXIF
//! `XResolution`, TIFF `XResolution`, BMP pixels per metre. Only credible values
//! (70..=2400 dpi) are used; tesseract estimates the resolution otherwise.

use image::ImageFormat;

/// Lowest and highest resolutions believed.
const CREDIBLE: std::ops::RangeInclusive<f64> = 70.0..=2400.0;

fn credible(dpi: f64, source: &'static str) -> Option<(u32, &'static str)> {
    CREDIBLE
        .contains(&dpi)
        .then(|| (dpi.round() as u32, source))
}

/// The declared resolution of an image, with where it was read.
pub(crate) fn declared(bytes: &[u8], fmt: ImageFormat) -> Option<(u32, &'static str)> {
    match fmt {
        ImageFormat::Png => png(bytes),
        ImageFormat::Jpeg => jpeg(bytes),
        ImageFormat::Bmp => bmp(bytes),
        ImageFormat::Tiff => {
            let mut dec = tiff::decoder::Decoder::new(std::io::Cursor::new(bytes)).ok()?;
            tiff_resolution(&mut dec)
        }
        _ => None,
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// PNG `pHYs` (pixels per metre), looked for before the first `IDAT`.
fn png(b: &[u8]) -> Option<(u32, &'static str)> {
    let mut at = 8usize;
    loop {
        let len = be32(b, at)? as usize;
        let kind = b.get(at + 4..at + 8)?;
        if kind == b"IDAT" || kind == b"IEND" {
            return None;
        }
        if kind == b"pHYs" && len >= 9 {
            let x = be32(b, at + 8)?;
            let unit = *b.get(at + 16)?;
            return if unit == 1 {
                credible(f64::from(x) * 0.0254, "png pHYs")
            } else {
                None
            };
        }
        at = at.checked_add(12)?.checked_add(len)?;
    }
}

/// JPEG: JFIF density in dots per inch or per cm, else EXIF `XResolution`.
fn jpeg(b: &[u8]) -> Option<(u32, &'static str)> {
    let mut at = 2usize;
    let mut exif = None;
    while at + 4 <= b.len() {
        if b[at] != 0xFF {
            return None;
        }
        let marker = b[at + 1];
        if marker == 0xD8 || (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            at += 2;
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            break;
        }
        let len = usize::from(be16(b, at + 2)?);
        let seg = b.get(at + 4..(at + 2 + len).min(b.len()))?;
        if marker == 0xE0 && seg.starts_with(b"JFIF\0") && seg.len() >= 12 {
            let units = seg[7];
            let x = f64::from(be16(seg, 8)?);
            match units {
                1 => return credible(x, "jpeg jfif"),
                2 => return credible(x * 2.54, "jpeg jfif"),
                _ => {}
            }
        }
        if marker == 0xE1 && seg.starts_with(b"Exif\0\0") && exif.is_none() {
            exif = exif_resolution(&seg[6..]);
        }
        at += 2 + len;
    }
    exif
}

/// `XResolution` and `ResolutionUnit` of IFD0 of an EXIF (TIFF-structured) block.
fn exif_resolution(t: &[u8]) -> Option<(u32, &'static str)> {
    let le = match t.get(0..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let s: [u8; 2] = t.get(at..at + 2)?.try_into().ok()?;
        Some(if le {
            u16::from_le_bytes(s)
        } else {
            u16::from_be_bytes(s)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let s: [u8; 4] = t.get(at..at + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    };
    let ifd = u32_at(4)? as usize;
    let n = usize::from(u16_at(ifd)?).min(512);
    let (mut res, mut unit) = (None, 2u16);
    for i in 0..n {
        let e = ifd + 2 + i * 12;
        match u16_at(e)? {
            0x011A => {
                let off = u32_at(e + 8)? as usize;
                let (num, den) = (u32_at(off)?, u32_at(off + 4)?);
                if den != 0 {
                    res = Some(f64::from(num) / f64::from(den));
                }
            }
            0x0128 => unit = u16_at(e + 8)?,
            _ => {}
        }
    }
    match unit {
        2 => credible(res?, "jpeg exif"),
        3 => credible(res? * 2.54, "jpeg exif"),
        _ => None,
    }
}

/// BMP `biXPelsPerMeter`.
fn bmp(b: &[u8]) -> Option<(u32, &'static str)> {
    let header = u32::from_le_bytes(b.get(14..18)?.try_into().ok()?);
    if header < 40 {
        return None;
    }
    let x = i32::from_le_bytes(b.get(38..42)?.try_into().ok()?);
    credible(f64::from(x) * 0.0254, "bmp header")
}

/// TIFF `XResolution` of the current page, in `ResolutionUnit` (inch by default).
pub(crate) fn tiff_resolution<R: std::io::Read + std::io::Seek>(
    dec: &mut tiff::decoder::Decoder<R>,
) -> Option<(u32, &'static str)> {
    use tiff::decoder::ifd::Value;
    use tiff::tags::Tag;
    let x = match dec.find_tag(Tag::XResolution).ok()?? {
        Value::Rational(n, d) if d != 0 => f64::from(n) / f64::from(d),
        _ => return None,
    };
    let unit = match dec.find_tag(Tag::ResolutionUnit).ok().flatten() {
        Some(Value::Short(u)) => u,
        Some(Value::Unsigned(u)) => u16::try_from(u).unwrap_or(2),
        _ => 2,
    };
    match unit {
        2 => credible(x, "tiff XResolution"),
        3 => credible(x * 2.54, "tiff XResolution"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_phys_is_read() {
        // Signature, IHDR (13 bytes), pHYs 5905 px/m (150 dpi), IDAT.
        let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
        b.extend_from_slice(&13u32.to_be_bytes());
        b.extend_from_slice(b"IHDR");
        b.extend_from_slice(&[0; 13 + 4]);
        b.extend_from_slice(&9u32.to_be_bytes());
        b.extend_from_slice(b"pHYs");
        b.extend_from_slice(&5905u32.to_be_bytes());
        b.extend_from_slice(&5905u32.to_be_bytes());
        b.extend_from_slice(&[1, 0, 0, 0, 0]);
        assert_eq!(png(&b), Some((150, "png pHYs")));
        // Truncated: nothing, no panic.
        assert_eq!(png(&b[..30]), None);
    }

    #[test]
    fn jfif_density_is_read() {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
        b.extend_from_slice(b"JFIF\0");
        b.extend_from_slice(&[1, 1, 1, 1, 44, 1, 44, 0, 0]);
        b.extend_from_slice(&[0xFF, 0xDA]);
        assert_eq!(jpeg(&b), Some((300, "jpeg jfif")));
        // Density 1 without units: no resolution.
        b[13] = 0;
        assert_eq!(jpeg(&b), None);
    }
}
