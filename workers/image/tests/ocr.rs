//! The image agent on real pages: accuracy against the `tesseract` command, formats,
//! multi-page TIFF, small text, hostile inputs.
//!
//! Run with `OMP_THREAD_LIMIT=1` for speed (the results do not depend on it).

#![allow(clippy::unwrap_used)]

use std::io::Cursor;
use std::path::{Path, PathBuf};

use daa_image::bench_support::{ground_truths, run_cli};
use daa_image::cer::best_cer;
use daa_image::{ImageAgent, ImageConfig};
use daa_shared::model::FailureKind;
use image::{DynamicImage, GrayImage, ImageFormat};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn agent() -> ImageAgent {
    ImageAgent::new(ImageConfig::default()).expect("tesseract with eng traineddata installed")
}

/// The top of R-intro p27 (heading and first paragraph), as gray pixels.
fn crop() -> GrayImage {
    let img = image::open(fixture("R-intro-p27.png")).unwrap().to_luma8();
    image::imageops::crop_imm(&img, 100, 180, 1075, 160).to_image()
}

fn encode(img: &DynamicImage, fmt: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, fmt).unwrap();
    out.into_inner()
}

fn words_of(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn cer_is_no_worse_than_the_tesseract_command() {
    let agent = agent();
    for name in ["dmca-p3.png", "R-intro-p27.png"] {
        let path = fixture(name);
        let gts = ground_truths(&path);
        assert_eq!(gts.len(), 2, "{name}: both ground truths");
        let bytes = std::fs::read(&path).unwrap();
        let out = agent.ocr(&bytes, &|| false).unwrap();
        let ours = best_cer(out.text.as_deref().unwrap_or(""), &gts);
        let cli = run_cli(&path);
        assert!(cli.error.is_none(), "tesseract command: {:?}", cli.error);
        let theirs = best_cer(&cli.text, &gts);
        eprintln!("{name}: agent CER {ours:.4}, tesseract CLI CER {theirs:.4}");
        assert!(
            ours <= theirs + 0.005,
            "{name}: agent CER {ours:.4} worse than the CLI's {theirs:.4}"
        );
        assert!(ours < 0.05, "{name}: CER {ours:.4}");
        // Output shape.
        assert_eq!(out.pages.len(), 1);
        let p = &out.pages[0];
        assert!(p.ocr);
        let conf = p.confidence.unwrap();
        assert!(conf > 0.8 && conf <= 1.0, "{conf}");
        assert_eq!(out.language.as_deref(), Some("en"));
        let words = &out.metadata["words"][0];
        assert_eq!(words["page"], 1);
        let list = words["words"].as_array().unwrap();
        assert!(list.len() > 100);
        let w = &list[0];
        for k in ["text", "conf", "x", "y", "w", "h"] {
            assert!(w.get(k).is_some(), "word field {k}");
        }
        assert_eq!(out.metadata["image_pages"][0]["dpi"], 150);
        assert_eq!(out.metadata["image_pages"][0]["dpi_source"], "png pHYs");
        assert_eq!(out.metadata["low_confidence_pages"], serde_json::json!([]));
    }
    // One engine, reused for every page.
    assert_eq!(agent.engines(), 1);
}

#[test]
fn every_format_is_read() {
    let agent = agent();
    let img = DynamicImage::ImageLuma8(crop());
    let rgb = DynamicImage::ImageRgb8(img.to_rgb8());
    for (fmt, src) in [
        (ImageFormat::Png, &img),
        (ImageFormat::Jpeg, &rgb),
        (ImageFormat::Bmp, &rgb),
        (ImageFormat::WebP, &rgb),
        (ImageFormat::Gif, &rgb),
        (ImageFormat::Tiff, &img),
    ] {
        let bytes = encode(src, fmt);
        let out = agent
            .ocr(&bytes, &|| false)
            .unwrap_or_else(|e| panic!("{fmt:?}: {e}"));
        let text = words_of(out.text.as_deref().unwrap());
        assert!(
            text.contains("Index matrices") && text.contains("subscript position"),
            "{fmt:?}: {text}"
        );
        assert_eq!(out.pages.len(), 1, "{fmt:?}");
    }
}

#[test]
fn alpha_is_composited_onto_white() {
    // Black text on a transparent background: without compositing it is all black.
    let g = crop();
    let rgba = image::RgbaImage::from_fn(g.width(), g.height(), |x, y| {
        let v = g.get_pixel(x, y).0[0];
        image::Rgba([0, 0, 0, 255 - v])
    });
    let out = agent()
        .ocr(
            &encode(&DynamicImage::ImageRgba8(rgba), ImageFormat::Png),
            &|| false,
        )
        .unwrap();
    assert!(words_of(out.text.as_deref().unwrap()).contains("Index matrices"));
}

#[test]
fn every_page_of_a_multi_page_tiff() {
    use tiff::encoder::{colortype, Rational, TiffEncoder};
    let a = crop();
    let full = image::open(fixture("dmca-p3.png")).unwrap().to_luma8();
    let b = image::imageops::crop_imm(&full, 0, 0, full.width(), 400).to_image();
    let mut buf = Cursor::new(Vec::new());
    {
        let mut enc = TiffEncoder::new(&mut buf).unwrap();
        for img in [&a, &b] {
            let mut page = enc
                .new_image::<colortype::Gray8>(img.width(), img.height())
                .unwrap();
            page.resolution(tiff::tags::ResolutionUnit::Inch, Rational { n: 150, d: 1 });
            page.write_data(img.as_raw()).unwrap();
        }
    }
    let out = agent().ocr(buf.get_ref(), &|| false).unwrap();
    assert_eq!(out.pages.len(), 2);
    assert_eq!(out.pages[0].number, 1);
    assert_eq!(out.pages[1].number, 2);
    assert!(words_of(&out.pages[0].text).contains("Index matrices"));
    assert!(!out.pages[1].text.trim().is_empty());
    let text = out.text.unwrap();
    assert_eq!(text.split('\u{c}').count(), 2);
    assert_eq!(out.metadata["page_count"], 2);
    assert_eq!(out.metadata["image_pages"][1]["dpi"], 150);
    assert_eq!(
        out.metadata["image_pages"][1]["dpi_source"],
        "tiff XResolution"
    );
    assert_eq!(out.metadata["words"][1]["page"], 2);
}

#[test]
fn small_text_is_upscaled() {
    let g = crop();
    let small = image::imageops::resize(
        &g,
        g.width() * 2 / 5,
        g.height() * 2 / 5,
        image::imageops::FilterType::Triangle,
    );
    let bytes = encode(&DynamicImage::ImageLuma8(small.clone()), ImageFormat::Png);
    let out = agent().ocr(&bytes, &|| false).unwrap();
    let up = out.metadata["image_pages"][0]["upscale"].as_f64().unwrap();
    assert!(up > 1.2, "upscale {up}");
    let text = words_of(out.text.as_deref().unwrap());
    assert!(text.contains("Index matrices"), "{text}");
    // Word boxes are in the original image's pixels.
    for w in out.metadata["words"][0]["words"].as_array().unwrap() {
        let right = w["x"].as_u64().unwrap() + w["w"].as_u64().unwrap();
        assert!(right <= u64::from(small.width()) + 2, "{w}");
    }
    // Without upscaling the text comes out worse or equal, never better.
    let plain = ImageAgent::new(ImageConfig {
        min_text_height: 0,
        ..ImageConfig::default()
    })
    .unwrap()
    .ocr(&bytes, &|| false)
    .unwrap();
    let reference = words_of(&{
        let big = encode(&DynamicImage::ImageLuma8(g), ImageFormat::Png);
        agent().ocr(&big, &|| false).unwrap().text.unwrap()
    });
    let c_up = daa_image::cer::cer(&text, &reference);
    let c_plain = daa_image::cer::cer(plain.text.as_deref().unwrap(), &reference);
    eprintln!("small text CER: upscaled {c_up:.4}, plain {c_plain:.4}");
    assert!(c_up <= c_plain + 0.01);
}

#[test]
fn blank_page_is_flagged_low_confidence() {
    let blank = GrayImage::from_pixel(400, 300, image::Luma([255]));
    let out = agent()
        .ocr(
            &encode(&DynamicImage::ImageLuma8(blank), ImageFormat::Png),
            &|| false,
        )
        .unwrap();
    assert_eq!(out.pages.len(), 1);
    assert_eq!(out.pages[0].confidence, Some(0.0));
    assert_eq!(out.metadata["low_confidence_pages"], serde_json::json!([1]));
    assert!(
        out.warnings.iter().any(|w| w.contains("page 1")),
        "{:?}",
        out.warnings
    );
}

fn png_chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in bytes {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let mut v = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    v.extend_from_slice(&body);
    v.extend_from_slice(&crc32(&body).to_be_bytes());
    v
}

fn assert_permanent(bytes: &[u8], needle: &str) {
    let err = agent().ocr(bytes, &|| false).unwrap_err();
    assert_eq!(err.kind, FailureKind::Permanent, "{err}");
    assert!(
        err.message.to_lowercase().contains(needle),
        "expected {needle:?} in {:?}",
        err.message
    );
}

#[test]
fn hostile_inputs_fail_permanently_with_a_reason() {
    // Empty, wrong magic.
    assert_permanent(b"", "empty");
    assert_permanent(b"%PDF-1.7 not an image at all", "magic");
    // A pixel bomb: a valid header claiming 100000x100000, refused before decoding.
    let mut bomb = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = 100_000u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    bomb.extend(png_chunk(b"IHDR", &ihdr));
    bomb.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    bomb.extend(png_chunk(b"IEND", &[]));
    assert_permanent(&bomb, "max_pixels");
    // Truncated PNG: header intact, pixel data cut.
    let png = encode(&DynamicImage::ImageLuma8(crop()), ImageFormat::Png);
    assert_permanent(&png[..png.len() / 2], "truncated");
    // Truncated header.
    assert_permanent(&png[..20], "truncated");
    // Corrupt pixel data.
    let mut bad = png.clone();
    for b in bad.iter_mut().skip(100).take(2000) {
        *b ^= 0x5A;
    }
    assert_permanent(&bad, "corrupt");
    // Truncated JPEG and TIFF, a garbage TIFF, a BMP with absurd dimensions.
    let jpg = encode(
        &DynamicImage::ImageRgb8(DynamicImage::ImageLuma8(crop()).to_rgb8()),
        ImageFormat::Jpeg,
    );
    let _ = agent().ocr(&jpg[..jpg.len() / 3], &|| false); // decoders may pad: no panic is enough
    assert_permanent(b"II*\0\x08\0\0\0\xff\xff", "tiff");
    let mut bmp = encode(
        &DynamicImage::ImageRgb8(image::RgbImage::new(4, 4)),
        ImageFormat::Bmp,
    );
    bmp[18..22].copy_from_slice(&200_000i32.to_le_bytes());
    bmp[22..26].copy_from_slice(&200_000i32.to_le_bytes());
    let err = agent().ocr(&bmp, &|| false).unwrap_err();
    assert_eq!(err.kind, FailureKind::Permanent, "{err}");
    // Other formats are refused by name.
    let ico = encode(
        &DynamicImage::ImageLuma8(GrayImage::new(1, 1)),
        ImageFormat::Png,
    );
    assert!(agent().ocr(&ico, &|| false).is_ok());
    assert_permanent(b"qoif\0\0\0\x01\0\0\0\x01\x04\0", "unsupported");
}

#[test]
fn a_custom_pixel_limit_is_enforced() {
    let a = ImageAgent::new(ImageConfig {
        max_pixels: 1000,
        ..ImageConfig::default()
    })
    .unwrap();
    let png = encode(&DynamicImage::ImageLuma8(crop()), ImageFormat::Png);
    let err = a.ocr(&png, &|| false).unwrap_err();
    assert_eq!(err.kind, FailureKind::Permanent);
    assert!(err.message.contains("max_pixels"), "{}", err.message);
}

#[test]
fn missing_trained_data_is_a_clear_error() {
    let err = ImageAgent::new(ImageConfig {
        languages: "eng+xyz".into(),
        ..ImageConfig::default()
    })
    .unwrap_err();
    assert!(err.contains("xyz") && err.contains("trained data"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let err = ImageAgent::new(ImageConfig {
        tessdata: Some(dir.path().to_owned()),
        ..ImageConfig::default()
    })
    .unwrap_err();
    assert!(err.contains("eng"), "{err}");
}

#[test]
fn through_the_agent_trait() {
    use daa_shared::model::{Stage, StageTask, TaskInput};
    use daa_worker::{Agent, Document, TaskContext};
    let agent = agent();
    assert_eq!(agent.kind(), daa_shared::model::AgentKind::Image);
    let task = StageTask {
        v: 1,
        task_id: "j.1.extraction.0".into(),
        job_id: "j".into(),
        stage_index: 1,
        stage: Stage::Extraction,
        agent: daa_shared::model::AgentKind::Image,
        part: None,
        priority: Default::default(),
        requirements: Default::default(),
        input: TaskInput::default(),
        deadline_at_ms: u64::MAX,
    };
    let err = agent.execute(&task, &TaskContext::default()).unwrap_err();
    assert_eq!(err.kind, FailureKind::Permanent);
    let png = encode(&DynamicImage::ImageLuma8(crop()), ImageFormat::Png);
    let ctx = TaskContext {
        document: Some(Document::new("x.png", bytes::Bytes::from(png))),
        ..TaskContext::default()
    };
    let out = agent.execute(&task, &ctx).unwrap();
    assert!(words_of(out.text.as_deref().unwrap()).contains("Index matrices"));
    // The hostile input ends as a failure, and the agent keeps serving.
    let bad = TaskContext {
        document: Some(Document::new(
            "x.png",
            bytes::Bytes::from_static(b"\x89PNG\r\n\x1a\n\0\0"),
        )),
        ..TaskContext::default()
    };
    assert_eq!(
        agent.execute(&task, &bad).unwrap_err().kind,
        FailureKind::Permanent
    );
    assert!(agent.execute(&task, &ctx).is_ok());
    assert_eq!(agent.engines(), 1);
}
