//! Image decoding under limits: format sniffing, header-first pixel-bomb checks,
//! resolution, conversion to the 8-bit pixels tesseract is given, every page of a
//! multi-page TIFF.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use daa_shared::model::TaskError;
use image::{DynamicImage, ImageFormat, ImageReader};

use crate::config::ImageConfig;
use crate::dpi;

/// One page ready for OCR: 8-bit gray (1 byte per pixel) or RGB (3 bytes per pixel),
/// rows packed.
#[derive(Debug, Clone)]
pub(crate) struct Raster {
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// 1 (gray) or 3 (RGB).
    pub(crate) channels: u8,
    pub(crate) data: Vec<u8>,
    /// Declared resolution, when credible, and where it came from.
    pub(crate) dpi: Option<(u32, &'static str)>,
}

impl Raster {
    /// Pixel count.
    pub(crate) fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// What decoding found besides the pages.
#[derive(Debug, Clone)]
pub(crate) struct Info {
    /// Format name (png, jpeg, tiff, bmp, webp, gif).
    pub(crate) format: &'static str,
}

/// Sniffs the format of `bytes`: one of the supported ones, or a permanent error saying
/// what was found.
pub(crate) fn sniff(bytes: &[u8]) -> Result<(ImageFormat, &'static str), TaskError> {
    if bytes.is_empty() {
        return Err(TaskError::permanent("empty input: no image bytes"));
    }
    let fmt = image::guess_format(bytes).map_err(|_| {
        let head: String = bytes
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ");
        TaskError::permanent(format!(
            "not a supported image: unknown magic bytes [{head}] \
             (expected PNG, JPEG, TIFF, BMP, WebP or GIF)"
        ))
    })?;
    let name = match fmt {
        ImageFormat::Png => "png",
        ImageFormat::Jpeg => "jpeg",
        ImageFormat::Tiff => "tiff",
        ImageFormat::Bmp => "bmp",
        ImageFormat::WebP => "webp",
        ImageFormat::Gif => "gif",
        other => {
            return Err(TaskError::permanent(format!(
                "unsupported image format {other:?} (expected PNG, JPEG, TIFF, BMP, WebP or GIF)"
            )))
        }
    };
    Ok((fmt, name))
}

/// Refuses a page of `w`×`h` pixels beyond the limit.
pub(crate) fn check_dimensions(w: u32, h: u32, cfg: &ImageConfig) -> Result<(), TaskError> {
    if w == 0 || h == 0 {
        return Err(TaskError::permanent(format!(
            "image has no pixels ({w}x{h})"
        )));
    }
    let px = u64::from(w) * u64::from(h);
    if px > cfg.max_pixels || w > i32::MAX as u32 / 4 || h > i32::MAX as u32 / 4 {
        return Err(TaskError::permanent(format!(
            "image is {w}x{h} = {px} pixels, above the limit of {} pixels (max_pixels): \
             refused before decoding",
            cfg.max_pixels
        )));
    }
    Ok(())
}

/// Decodes every page of `bytes`, handing each to `page` in order (1-based number), so
/// that only one page is in memory at a time. Panics inside decoders become permanent
/// errors.
pub(crate) fn for_each_page(
    bytes: &[u8],
    cfg: &ImageConfig,
    page: &mut dyn FnMut(u32, Raster) -> Result<(), TaskError>,
) -> Result<Info, TaskError> {
    if bytes.len() > cfg.max_bytes {
        return Err(TaskError::permanent(format!(
            "image is {} bytes, above the limit of {} bytes (max_bytes)",
            bytes.len(),
            cfg.max_bytes
        )));
    }
    let (fmt, name) = sniff(bytes)?;
    if fmt == ImageFormat::Tiff && tiff_has_more_pages(bytes, cfg)? {
        tiff_pages(bytes, cfg, page)?;
    } else {
        let raster = guarded(name, || decode_single(bytes, fmt, name, cfg))??;
        page(1, raster)?;
    }
    Ok(Info { format: name })
}

/// Runs a decoder, turning a panic into a permanent error.
fn guarded<T>(format: &str, f: impl FnOnce() -> T) -> Result<T, TaskError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        TaskError::permanent(format!("the {format} decoder failed on this file: {msg}"))
    })
}

fn corrupt(format: &str, e: impl std::fmt::Display) -> TaskError {
    TaskError::permanent(format!("corrupt or truncated {format} image: {e}"))
}

/// One image through the `image` crate: header first, then pixels.
fn decode_single(
    bytes: &[u8],
    fmt: ImageFormat,
    name: &'static str,
    cfg: &ImageConfig,
) -> Result<Raster, TaskError> {
    let (w, h) = ImageReader::with_format(Cursor::new(bytes), fmt)
        .into_dimensions()
        .map_err(|e| corrupt(name, e))?;
    check_dimensions(w, h, cfg)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), fmt);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(w);
    limits.max_image_height = Some(h);
    // Room for 16-bit RGBA plus the conversions.
    limits.max_alloc = Some(cfg.max_pixels.saturating_mul(8).max(64 << 20));
    reader.limits(limits);
    let img = reader.decode().map_err(|e| corrupt(name, e))?;
    let (data, channels) = to_pixels(img, cfg.grayscale);
    Ok(Raster {
        width: w,
        height: h,
        channels,
        data,
        dpi: dpi::declared(bytes, fmt),
    })
}

/// 8-bit gray or RGB pixels; alpha composited onto white.
pub(crate) fn to_pixels(img: DynamicImage, grayscale: bool) -> (Vec<u8>, u8) {
    let has_alpha = img.color().has_alpha();
    let is_gray = !img.color().has_color();
    if has_alpha {
        let rgba = img.to_rgba8();
        let mut out = Vec::with_capacity(rgba.len() / 4 * if grayscale { 1 } else { 3 });
        for p in rgba.pixels() {
            let a = u32::from(p.0[3]);
            let blend = |c: u8| ((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
            let (r, g, b) = (blend(p.0[0]), blend(p.0[1]), blend(p.0[2]));
            if grayscale || is_gray {
                out.push(luma(r, g, b));
            } else {
                out.extend_from_slice(&[r, g, b]);
            }
        }
        let ch = if grayscale || is_gray { 1 } else { 3 };
        return (out, ch);
    }
    if grayscale || is_gray {
        (img.into_luma8().into_raw(), 1)
    } else {
        (img.into_rgb8().into_raw(), 3)
    }
}

/// Rec. 601 luma, as leptonica converts colour to gray.
fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b) + 500) / 1000) as u8
}

fn tiff_decoder<'a>(
    bytes: &'a [u8],
    cfg: &ImageConfig,
) -> Result<tiff::decoder::Decoder<Cursor<&'a [u8]>>, TaskError> {
    let mut limits = tiff::decoder::Limits::default();
    limits.decoding_buffer_size = usize::try_from(cfg.max_pixels.saturating_mul(8))
        .unwrap_or(usize::MAX)
        .max(64 << 20);
    tiff::decoder::Decoder::new(Cursor::new(bytes))
        .map(|d| d.with_limits(limits))
        .map_err(|e| corrupt("tiff", e))
}

/// Whether a TIFF has more than one page.
fn tiff_has_more_pages(bytes: &[u8], cfg: &ImageConfig) -> Result<bool, TaskError> {
    guarded("tiff", || Ok(tiff_decoder(bytes, cfg)?.more_images()))?
}

/// Every page of a multi-page TIFF through the `tiff` crate.
fn tiff_pages(
    bytes: &[u8],
    cfg: &ImageConfig,
    page: &mut dyn FnMut(u32, Raster) -> Result<(), TaskError>,
) -> Result<(), TaskError> {
    let mut dec = guarded("tiff", || tiff_decoder(bytes, cfg))??;
    let mut number = 0u32;
    loop {
        number += 1;
        if number as usize > cfg.max_pages {
            return Err(TaskError::permanent(format!(
                "TIFF has more than {} pages (max_pages)",
                cfg.max_pages
            )));
        }
        let raster = guarded("tiff", || tiff_page(&mut dec, number, cfg))??;
        page(number, raster)?;
        if !dec.more_images() {
            return Ok(());
        }
        guarded("tiff", || dec.next_image())?
            .map_err(|e| corrupt("tiff", format!("page {}: {e}", number + 1)))?;
    }
}

fn tiff_page(
    dec: &mut tiff::decoder::Decoder<Cursor<&[u8]>>,
    number: u32,
    cfg: &ImageConfig,
) -> Result<Raster, TaskError> {
    use tiff::decoder::DecodingResult;
    use tiff::ColorType;
    let bad = |e: tiff::TiffError| corrupt("tiff", format!("page {number}: {e}"));
    let (w, h) = dec.dimensions().map_err(bad)?;
    check_dimensions(w, h, cfg)
        .map_err(|e| TaskError::permanent(format!("TIFF page {number}: {}", e.message)))?;
    let color = dec.colortype().map_err(bad)?;
    let dpi = dpi::tiff_resolution(dec);
    let img = dec.read_image().map_err(bad)?;
    let unsupported = || {
        TaskError::permanent(format!(
            "TIFF page {number}: unsupported colour type {color:?}"
        ))
    };
    let (spp, bits) = match color {
        ColorType::Gray(b) => (1usize, b),
        ColorType::GrayA(b) => (2, b),
        ColorType::RGB(b) => (3, b),
        ColorType::RGBA(b) => (4, b),
        ColorType::CMYK(b) => (4, b),
        _ => return Err(unsupported()),
    };
    let cmyk = matches!(color, ColorType::CMYK(_));
    let (wu, hu) = (w as usize, h as usize);
    // Samples as 8-bit values.
    let samples: Vec<u8> = match (img, bits) {
        (DecodingResult::U8(v), 8) => v,
        (DecodingResult::U16(v), 16) => v.iter().map(|s| (s >> 8) as u8).collect(),
        (DecodingResult::U8(v), b @ (1 | 2 | 4)) if spp == 1 => {
            let row_bytes = (wu * usize::from(b)).div_ceil(8);
            if v.len() < row_bytes * hu {
                return Err(corrupt("tiff", format!("page {number}: short pixel data")));
            }
            let max = (1u16 << b) - 1;
            let mut out = Vec::with_capacity(wu * hu);
            for row in v.chunks(row_bytes).take(hu) {
                for x in 0..wu {
                    let bit = x * usize::from(b);
                    let byte = row[bit / 8];
                    let shift = 8 - usize::from(b) - bit % 8;
                    let val = (u16::from(byte) >> shift) & max;
                    out.push((val * 255 / max) as u8);
                }
            }
            out
        }
        _ => return Err(unsupported()),
    };
    if samples.len() < wu * hu * spp {
        return Err(corrupt("tiff", format!("page {number}: short pixel data")));
    }
    let mut data = Vec::with_capacity(wu * hu);
    for px in samples.chunks_exact(spp).take(wu * hu) {
        let v = match (spp, cmyk) {
            (1, _) => px[0],
            (2, _) => {
                let a = u32::from(px[1]);
                ((u32::from(px[0]) * a + 255 * (255 - a) + 127) / 255) as u8
            }
            (4, true) => {
                let k = 255 - u32::from(px[3]);
                let c = |x: u8| ((255 - u32::from(x)) * k / 255) as u8;
                luma(c(px[0]), c(px[1]), c(px[2]))
            }
            (4, false) => {
                let a = u32::from(px[3]);
                let blend = |c: u8| ((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
                luma(blend(px[0]), blend(px[1]), blend(px[2]))
            }
            _ => luma(px[0], px[1], px[2]),
        };
        data.push(v);
    }
    Ok(Raster {
        width: w,
        height: h,
        channels: 1,
        data,
        dpi,
    })
}
