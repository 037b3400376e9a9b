//! The text interpreter on small generated PDFs: spacing from positions (TJ kerning,
//! Tc/Tw), fonts (Type0 Identity-H with ToUnicode, Differences, Type 3), rotated pages,
//! two columns, scanned pages, parts, metadata and tables.
#![allow(clippy::unwrap_used)]

mod common;

use common::{extract, text1, zlib, Pdf};
use lopdf::{dictionary, Object, Stream};

#[test]
fn tj_kerning_and_spacing_come_from_positions() {
    let mut p = Pdf::new();
    p.helvetica();
    p.page(
        "BT /F1 12 Tf 72 700 Td [(Hello)-500(World)] TJ ET\n\
         BT /F1 12 Tf 72 680 Td [(Ker)-20(ning)] TJ ET\n\
         BT /F1 12 Tf 72 660 Td 0 Tw (one two) Tj ET",
    );
    let t = extract(&p.bytes()).unwrap();
    let lines: Vec<&str> = t.pages[0].text.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines, vec!["Hello World", "Kerning", "one two"]);
}

#[test]
fn char_and_word_spacing_operators() {
    let mut p = Pdf::new();
    p.helvetica();
    // Tw widens the space; a small Tc keeps the word whole; Tz scales.
    p.page(
        "BT /F1 12 Tf 72 700 Td 3 Tw (wide space) Tj ET\n\
         BT /F1 12 Tf 72 600 Td 0 Tw 0.5 Tc (tracked) Tj ET\n\
         BT /F1 12 Tf 72 500 Td 0 Tc 50 Tz (squeezed words) Tj ET\n\
         BT /F1 12 Tf 72 400 Td 14 TL (first) Tj T* (second) Tj (third) ' ET",
    );
    let out = extract(&p.bytes()).unwrap();
    let t = daa_pdf::similarity::normalize(&out.pages[0].text);
    assert_eq!(t, "wide space tracked squeezed words first second third");
}

#[test]
fn letter_spaced_text_is_read_like_pdftotext() {
    // The pdfminer sample: TJ kerning and Tc/Tw spacing; compared with pdftotext's text.
    let bytes = common::fixture("pdfminer-simple1.pdf");
    let out = extract(&bytes).unwrap();
    let want = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/pdfminer-simple1.pdftotext.txt"),
    )
    .unwrap();
    assert_eq!(
        daa_pdf::similarity::normalize(&out.pages[0].text),
        daa_pdf::similarity::normalize(&want)
    );
}

#[test]
fn type0_identity_h_with_tounicode() {
    let mut p = Pdf::new();
    let cmap = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap
1 begincodespacerange <0000> <FFFF> endcodespacerange
2 beginbfchar <0001> <65E5> <0002> <672C> endbfchar
1 beginbfrange <0010> <0012> <0041> endbfrange
endcmap end end";
    let tu = p.stream(dictionary! {}, cmap.to_vec());
    let cid = p.doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "CIDFontType2", "BaseFont" => "Test",
        "CIDSystemInfo" => dictionary! { "Registry" => Object::string_literal("Adobe"), "Ordering" => Object::string_literal("Identity"), "Supplement" => 0 },
        "DW" => 1000,
        "W" => vec![16.into(), vec![500.into(), 500.into(), 500.into()].into()],
    });
    p.font(
        "F2",
        dictionary! {
            "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "Test",
            "Encoding" => "Identity-H", "DescendantFonts" => vec![cid.into()], "ToUnicode" => tu,
        },
    );
    p.page("BT /F2 20 Tf 72 700 Td <00010002> Tj ET BT /F2 20 Tf 72 650 Td <001000110012> Tj ET");
    let t = text1(&p.bytes());
    assert_eq!(t, "日本 ABC");
}

#[test]
fn cjk_collection_without_tounicode() {
    // Adobe-Japan1 CIDs 34..36 are A..C, CID 1 a space; no ToUnicode map.
    let mut p = Pdf::new();
    let cid = p.doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "CIDFontType0", "BaseFont" => "Jp",
        "CIDSystemInfo" => dictionary! { "Registry" => Object::string_literal("Adobe"), "Ordering" => Object::string_literal("Japan1"), "Supplement" => 5 },
        "DW" => 1000,
    });
    p.font(
        "F3",
        dictionary! { "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "Jp", "Encoding" => "Identity-H", "DescendantFonts" => vec![cid.into()] },
    );
    p.page("BT /F3 20 Tf 72 700 Td <002200230024> Tj ET");
    assert_eq!(text1(&p.bytes()), "ABC");
}

#[test]
fn differences_encoding_and_glyph_names() {
    let mut p = Pdf::new();
    p.font(
        "F1",
        dictionary! {
            "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Custom",
            "FirstChar" => 65, "Widths" => vec![600.into(), 600.into(), 600.into(), 600.into()],
            "Encoding" => dictionary! { "Type" => "Encoding", "BaseEncoding" => "WinAnsiEncoding",
                "Differences" => vec![65.into(), "eacute".into(), "germandbls".into(), "fi".into(), "uni20AC".into()] },
        },
    );
    p.page("BT /F1 12 Tf 72 700 Td (ABCD) Tj ET");
    assert_eq!(text1(&p.bytes()), "éßfi€");
}

#[test]
fn type3_font() {
    let mut p = Pdf::new();
    let proc_a = p.stream(dictionary! {}, b"500 0 d0".to_vec());
    p.font(
        "T3",
        dictionary! {
            "Type" => "Font", "Subtype" => "Type3",
            "FontBBox" => vec![0.into(), 0.into(), 500.into(), 700.into()],
            "FontMatrix" => vec![0.001.into(), 0.into(), 0.into(), 0.001.into(), 0.into(), 0.into()],
            "CharProcs" => dictionary! { "x" => proc_a, "y" => proc_a },
            "Encoding" => dictionary! { "Type" => "Encoding", "Differences" => vec![1.into(), "x".into(), "y".into()] },
            "FirstChar" => 1, "LastChar" => 2, "Widths" => vec![500.into(), 500.into()],
        },
    );
    p.page("BT /T3 10 Tf 72 700 Td <010201> Tj ET");
    assert_eq!(text1(&p.bytes()), "xyx");
}

#[test]
fn rotated_page_reads_upright() {
    let mut p = Pdf::new();
    p.helvetica();
    // On a page shown rotated by 90 degrees, text drawn rotated by -90 reads upright.
    p.page_with(
        b"BT /F1 12 Tf 0 -1 1 0 100 700 Tm (Rotated page text) Tj ET\n\
          BT /F1 12 Tf 0 -1 1 0 85 700 Tm (second line) Tj ET",
        dictionary! { "Rotate" => 90 },
    );
    let out = extract(&p.bytes()).unwrap();
    let lines: Vec<&str> = out.pages[0]
        .text
        .lines()
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines, vec!["Rotated page text", "second line"]);
    assert_eq!(out.metadata["page_sizes"][0]["width"], 792.0);
}

#[test]
fn two_columns_read_column_by_column() {
    let mut p = Pdf::new();
    p.helvetica();
    // Drawn row by row across both columns, as some producers do.
    let mut c = String::new();
    for i in 0..6 {
        let y = 700 - i * 14;
        c.push_str(&format!(
            "BT /F1 12 Tf 72 {y} Td (left line {i}) Tj ET BT /F1 12 Tf 320 {y} Td (right line {i}) Tj ET\n"
        ));
    }
    p.page(&c);
    let out = extract(&p.bytes()).unwrap();
    let lines: Vec<&str> = out.pages[0]
        .text
        .lines()
        .filter(|l| !l.is_empty())
        .collect();
    let want: Vec<String> = (0..6)
        .map(|i| format!("left line {i}"))
        .chain((0..6).map(|i| format!("right line {i}")))
        .collect();
    assert_eq!(lines, want);
}

#[test]
fn scanned_page_is_reported_for_ocr() {
    let mut p = Pdf::new();
    let img = p.stream(
        dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => 2, "Height" => 2,
        "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8 },
        vec![0, 255, 255, 0],
    );
    p.xobjects.set("Im1", img);
    p.page("q 612 0 0 792 0 0 cm /Im1 Do Q");
    let out = extract(&p.bytes()).unwrap();
    assert_eq!(out.pages.len(), 1);
    assert_eq!(out.pages[0].text, "");
    let pending = out.metadata["ocr_pending"].as_array().unwrap();
    assert_eq!(pending[0]["page"], 1);
    assert!(pending[0]["reason"].as_str().unwrap().contains("image"));
    assert!(
        out.warnings.iter().any(|w| w.contains("OCR")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn parts_extract_their_page_range_with_absolute_numbers() {
    let mut p = Pdf::new();
    p.helvetica();
    for i in 1..=4 {
        p.page(&format!("BT /F1 12 Tf 72 700 Td (page {i}) Tj ET"));
    }
    let bytes = p.bytes();
    let agent = daa_pdf::PdfAgent::default();
    let out = agent
        .extract(&bytes, Some((2, 3)), false, &|| false)
        .unwrap();
    let nums: Vec<u32> = out.pages.iter().map(|p| p.number).collect();
    assert_eq!(nums, vec![2, 3]);
    assert_eq!(out.pages[0].text, "page 2");
    assert_eq!(out.text.as_deref(), Some("page 2\u{c}page 3"));
    assert_eq!(out.metadata["page_count"], 4);
    assert!(agent
        .extract(&bytes, Some((9, 12)), false, &|| false)
        .is_err());
    // Cancellation between pages.
    let err = agent.extract(&bytes, None, false, &|| true).unwrap_err();
    assert_eq!(err.kind, daa_shared::model::FailureKind::Temporary);
}

#[test]
fn metadata_info_outline_and_sizes() {
    let mut p = Pdf::new();
    p.helvetica();
    let p1 = p.page("BT /F1 12 Tf 72 700 Td (Intro) Tj ET");
    let p2 = p.page_with(
        b"BT /F1 12 Tf 72 700 Td (Body) Tj ET",
        dictionary! { "MediaBox" => vec![0.into(), 0.into(), 842.into(), 595.into()] },
    );
    let cat = p.finish();
    let outlines = p.doc.new_object_id();
    let o1 = p.doc.new_object_id();
    let o2 = p.doc.new_object_id();
    p.doc.objects.insert(o1, Object::Dictionary(dictionary! { "Title" => Object::string_literal("Chapter 1"), "Parent" => outlines, "Next" => o2, "Dest" => vec![p1.into(), "Fit".into()] }));
    p.doc.objects.insert(o2, Object::Dictionary(dictionary! { "Title" => Object::string_literal("Chapter 2"), "Parent" => outlines, "Prev" => o1, "Next" => o1, "Dest" => vec![p2.into(), "Fit".into()] }));
    p.doc.objects.insert(
        outlines,
        Object::Dictionary(
            dictionary! { "Type" => "Outlines", "First" => o1, "Last" => o2, "Count" => 2 },
        ),
    );
    p.doc
        .get_dictionary_mut(cat)
        .unwrap()
        .set("Outlines", outlines);
    let info = p.doc.add_object(dictionary! { "Title" => Object::string_literal("A Title"), "Author" => Object::String(b"\xfe\xff\x00J\x00\xe9".to_vec(), lopdf::StringFormat::Literal) });
    p.doc.trailer.set("Info", info);
    let out = extract(&p.bytes()).unwrap();
    let m = &out.metadata;
    assert_eq!(m["page_count"], 2);
    assert_eq!(m["encrypted"], false);
    assert_eq!(m["pdf_version"], "1.5");
    assert_eq!(m["info"]["title"], "A Title");
    assert_eq!(m["info"]["author"], "Jé");
    let ol = m["outline"].as_array().unwrap();
    assert_eq!(ol.len(), 2, "the Next loop is cut: {ol:?}");
    assert_eq!(ol[1]["title"], "Chapter 2");
    assert_eq!(ol[1]["page"], 2);
    let sizes = m["page_sizes"].as_array().unwrap();
    assert_eq!(sizes.len(), 2);
    assert_eq!(sizes[1]["width"], 842.0);
}

#[test]
fn ruled_table_is_found() {
    let mut p = Pdf::new();
    p.helvetica();
    let mut c =
        String::from("0.5 w 72 600 300 60 re S 72 630 m 372 630 l S 222 600 m 222 660 l S\n");
    c.push_str("BT /F1 10 Tf 80 640 Td (Name) Tj ET BT /F1 10 Tf 230 640 Td (Value) Tj ET\n");
    c.push_str("BT /F1 10 Tf 80 610 Td (alpha) Tj ET BT /F1 10 Tf 230 610 Td (42) Tj ET\n");
    p.page(&c);
    let out = extract(&p.bytes()).unwrap();
    assert_eq!(out.tables.len(), 1, "{:?}", out.tables);
    assert_eq!(out.tables[0].page, Some(1));
    assert_eq!(
        out.tables[0].rows,
        vec![vec!["Name", "Value"], vec!["alpha", "42"]]
    );
}

#[test]
fn flate_content_and_form_xobjects() {
    let mut p = Pdf::new();
    p.helvetica();
    let form = p.stream(
        dictionary! { "Type" => "XObject", "Subtype" => "Form", "BBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
            "Resources" => dictionary! { "Font" => p.fonts.clone() }, "Filter" => "FlateDecode" },
        zlib(b"BT /F1 12 Tf 72 600 Td (from a form) Tj ET"),
    );
    p.xobjects.set("Fm1", form);
    let c = zlib(b"BT /F1 12 Tf 72 700 Td (page text) Tj ET /Fm1 Do");
    let mut pdf = p;
    let content = pdf
        .doc
        .add_object(Stream::new(dictionary! { "Filter" => "FlateDecode" }, c));
    let page = pdf.page("");
    pdf.doc
        .get_dictionary_mut(page)
        .unwrap()
        .set("Contents", content);
    assert_eq!(text1(&pdf.bytes()), "page text from a form");
}
