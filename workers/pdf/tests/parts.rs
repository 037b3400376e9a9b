//! A part (a page range of a split document) is loaded lazily: only the object streams
//! its pages need are unpacked. Its text, page by page, must be what a full load gives,
//! and so must the metadata parts report.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ctx, fixture, task, Pdf};
use daa_pdf::{Limits, PdfAgent};
use daa_shared::model::{Part, StageOutput};
use daa_worker::Agent;
use lopdf::{dictionary, Object, SaveOptions};

fn agent() -> PdfAgent {
    PdfAgent::new(Limits::default())
}

/// The whole run after a full load of the file: what every part is compared with.
fn whole(bytes: &[u8]) -> StageOutput {
    daa_pdf::bench_support::extract_eager(bytes, true).unwrap()
}

/// A whole run as the agent does it (loading only what its pages read) gives exactly
/// the full load's output: pages, tables, warnings and every metadata field.
fn assert_whole_runs_match(bytes: &[u8]) {
    let lazy = agent().extract(bytes, None, true, &|| false).unwrap();
    let eager = whole(bytes);
    assert_eq!(lazy.pages, eager.pages);
    assert_eq!(lazy.text, eager.text);
    assert_eq!(lazy.tables, eager.tables);
    assert_eq!(lazy.metadata, eager.metadata);
    assert_eq!(lazy.warnings, eager.warnings);
    assert_eq!(lazy.losses, eager.losses);
}

fn part(bytes: &[u8], first: u32, last: u32) -> StageOutput {
    agent()
        .extract(bytes, Some((first, last)), true, &|| false)
        .unwrap()
}

/// Every split of `bytes` into `n` ranges gives the whole run's pages, in order.
fn assert_parts_match(bytes: &[u8], n: u32) {
    let all = whole(bytes);
    let count = all.pages.len() as u32;
    assert!(count >= n, "{count} pages");
    let size = count.div_ceil(n);
    let mut pages = Vec::new();
    let mut sizes = Vec::new();
    for i in 0..n {
        let (f, l) = (i * size + 1, ((i + 1) * size).min(count));
        if f > l {
            break;
        }
        // The last part runs to the end, as the agent runs it, and reports the outline.
        let last_part = i + 1 == n || l == count;
        let p = part(bytes, f, if last_part { u32::MAX } else { l });
        assert_eq!(p.metadata["page_count"], all.metadata["page_count"]);
        sizes.extend(p.metadata["page_sizes"].as_array().unwrap().iter().cloned());
        assert_eq!(p.metadata.get("info"), all.metadata.get("info"));
        assert_eq!(p.metadata.get("xmp"), all.metadata.get("xmp"));
        if last_part {
            assert_eq!(p.metadata.get("outline"), all.metadata.get("outline"));
        } else {
            assert_eq!(p.metadata.get("outline"), None);
        }
        assert_eq!(
            p.tables.len(),
            all.tables
                .iter()
                .filter(|t| t.page.is_some_and(|p| (f..=l).contains(&p)))
                .count()
        );
        pages.extend(p.pages);
    }
    let sizes = serde_json::Value::Array(sizes);
    assert_eq!(
        pages_of_runs(&sizes),
        pages_of_runs(&all.metadata["page_sizes"])
    );
    assert_eq!(pages.len(), all.pages.len());
    for (a, b) in pages.iter().zip(&all.pages) {
        assert_eq!(a.number, b.number);
        assert_eq!(a.text, b.text, "page {}", a.number);
    }
}

/// `page_sizes` runs as one `(width, height, rotate)` per page, in page order (parts
/// report runs of their own pages; the synthesis joins them).
fn pages_of_runs(runs: &serde_json::Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for r in runs.as_array().unwrap() {
        let (f, l) = (r["first"].as_u64().unwrap(), r["last"].as_u64().unwrap());
        assert_eq!(f as usize, out.len() + 1, "runs are contiguous: {runs}");
        for _ in f..=l {
            out.push((
                r["width"].to_string(),
                r["height"].to_string(),
                r["rotate"].to_string(),
            ));
        }
    }
    out
}

/// A many-page document whose dictionaries all sit in object streams (as pdfTeX writes
/// them), with shared fonts, per-page resources, an intermediate page-tree level
/// carrying inherited resources, annotations pointing at other pages, and an outline.
fn packed_document(pages: usize) -> Vec<u8> {
    packed_document_with(pages, None, true)
}

/// As [`packed_document`], with the page tree balanced to `fanout` kids per node when
/// given, and without the outline when `outline` is false.
fn packed_document_with(pages: usize, fanout: Option<usize>, outline: bool) -> Vec<u8> {
    packed(document_with(pages, fanout, outline))
}

/// The document of [`packed_document_with`], not yet saved.
fn document_with(pages: usize, fanout: Option<usize>, outline: bool) -> lopdf::Document {
    let mut pdf = Pdf::new();
    pdf.helvetica();
    let mut ids = Vec::new();
    for i in 0..pages {
        let content = format!("BT /F1 11 Tf 72 700 Td (Page {i} of the packed document) Tj 0 -14 Td (second line {}) Tj ET", i * 7);
        ids.push(pdf.page(&content));
    }
    // Annotations: a link on each page to the next one (not followed by a part).
    for w in ids.windows(2) {
        let link = pdf.doc.add_object(dictionary! {
            "Type" => "Annot", "Subtype" => "Link",
            "Rect" => vec![0.into(), 0.into(), 10.into(), 10.into()],
            "Dest" => vec![Object::Reference(w[1]), "Fit".into()],
        });
        if let Ok(Object::Dictionary(d)) = pdf.doc.get_object_mut(w[0]) {
            d.set("Annots", vec![Object::Reference(link)]);
        }
    }
    let cat = pdf.finish();
    if let Some(f) = fanout {
        pdf.balance_tree(f);
    }
    let first = pdf.doc.add_object(dictionary! { "Title" => Object::string_literal("Start"), "Dest" => vec![Object::Reference(ids[0]), "Fit".into()] });
    let outlines = pdf.doc.add_object(
        dictionary! { "Type" => "Outlines", "First" => first, "Last" => first, "Count" => 1 },
    );
    if let Ok(Object::Dictionary(d)) = pdf.doc.get_object_mut(first) {
        d.set("Parent", outlines);
    }
    if let (Ok(Object::Dictionary(d)), true) = (pdf.doc.get_object_mut(cat), outline) {
        d.set("Outlines", outlines);
    }
    let info = pdf
        .doc
        .add_object(dictionary! { "Title" => Object::string_literal("Packed") });
    pdf.doc.trailer.set("Info", info);
    pdf.doc
}

/// Saves `doc` with plain cross-reference tables and no object streams.
fn plain(mut doc: lopdf::Document) -> Vec<u8> {
    doc.reference_table.cross_reference_type = lopdf::xref::XrefType::CrossReferenceTable;
    let mut out = Vec::new();
    let opts = SaveOptions::builder()
        .use_object_streams(false)
        .use_xref_streams(false)
        .build();
    doc.save_with_options(&mut out, opts).unwrap();
    assert!(!out.windows(7).any(|w| w == b"/ObjStm"));
    assert!(out.windows(5).any(|w| w == b"\nxref"));
    out
}

/// Packs `doc` with object streams of 16 objects and cross-reference streams.
fn packed(mut doc: lopdf::Document) -> Vec<u8> {
    let mut out = Vec::new();
    let opts = SaveOptions::builder()
        .use_object_streams(true)
        .use_xref_streams(true)
        .max_objects_per_stream(16)
        .build();
    doc.save_with_options(&mut out, opts).unwrap();
    out
}

#[test]
fn parts_of_a_packed_document_match_the_whole() {
    let bytes = packed_document(60);
    let objstms = bytes.windows(7).filter(|w| w == b"/ObjStm").count();
    assert!(
        objstms > 4,
        "the generated PDF has {objstms} object streams"
    );
    for n in [2, 3, 7] {
        assert_parts_match(&bytes, n);
    }
}

#[test]
fn parts_of_a_shipped_pdf_with_object_streams_match_the_whole() {
    let bytes = fixture("shared-mime-info-spec.pdf");
    assert!(bytes.windows(7).any(|w| w == b"/ObjStm"));
    assert_parts_match(&bytes, 2);
    assert_parts_match(&bytes, 5);
}

#[test]
fn parts_of_pdfs_without_object_streams_match_the_whole() {
    for f in ["dmca.pdf", "naacl06-shinyama.pdf"] {
        assert_parts_match(&fixture(f), 2);
    }
}

/// A range past the end of the document is still an error that says so.
#[test]
fn a_range_past_the_end_is_refused() {
    let bytes = packed_document(5);
    let e = agent()
        .extract(&bytes, Some((9, 12)), false, &|| false)
        .unwrap_err();
    assert!(e.message.contains("5 pages"), "{}", e.message);
}

/// The lazy path is taken for a part of a packed document and unpacks less than a full
/// load; a PDF without object streams comes out of the lazy path's one parse fully
/// loaded (it is not parsed a second time); an encrypted one falls back to the full load.
#[test]
fn a_middle_part_unpacks_only_what_it_needs() {
    let bytes = packed_document(60);
    let (loaded, full) = daa_pdf::bench_support::part_load(&bytes, 25, 35).unwrap();
    assert!(loaded < full, "{loaded} objects loaded of {full}");
    let unpacked = fixture("naacl06-shinyama.pdf");
    let (loaded, full) = daa_pdf::bench_support::part_load(&unpacked, 2, 3).unwrap();
    assert!(
        loaded < full,
        "a file without object streams reads {loaded} objects of {full}"
    );
    assert!(daa_pdf::bench_support::part_load(&fixture("dmca.pdf"), 1, 1).is_none());
}

/// A file with plain cross-reference tables: its objects are read one at a time, a
/// middle part reads a fraction of them, and every split matches the whole.
#[test]
fn parts_of_a_plain_document_read_only_their_objects() {
    let bytes = plain(document_with(60, Some(4), true));
    let (loaded, full) = daa_pdf::bench_support::part_load(&bytes, 25, 35).unwrap();
    assert!(loaded * 3 < full, "{loaded} objects read of {full}");
    for n in [2, 3, 7] {
        assert_parts_match(&bytes, n);
    }
}

/// An incremental update (a newer section linked by `/Prev`) wins over the original,
/// as in a full load; a table pointing at the wrong place falls back to the full load.
#[test]
fn a_plain_document_updated_in_place_reads_its_newest_objects() {
    let doc = document_with(12, None, true);
    let page = doc.get_pages()[&6];
    let contents = match doc
        .get_object(page)
        .unwrap()
        .as_dict()
        .unwrap()
        .get(b"Contents")
    {
        Ok(Object::Reference(id)) => *id,
        other => panic!("contents {other:?}"),
    };
    let mut bytes = plain(doc.clone());
    let find = |b: &[u8], what: &[u8]| b.windows(what.len()).rposition(|w| w == what).unwrap();
    let start = find(&bytes, b"startxref");
    let prev: usize = String::from_utf8_lossy(&bytes[start + 9..])
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let data = b"BT /F1 11 Tf 72 700 Td (Revised page six) Tj ET";
    let at = bytes.len();
    bytes.extend_from_slice(
        format!(
            "{} 0 obj\n<< /Length {} >>\nstream\n",
            contents.0,
            data.len()
        )
        .as_bytes(),
    );
    bytes.extend_from_slice(data);
    bytes.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = bytes.len();
    let root = match doc.trailer.get(b"Root") {
        Ok(Object::Reference(r)) => r.0,
        other => panic!("root {other:?}"),
    };
    bytes.extend_from_slice(
        format!(
            "xref\n0 1\n0000000000 65535 f \n{} 1\n{at:010} 00000 n \ntrailer\n<< /Size {} /Root {root} 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n",
            contents.0,
            doc.max_id + 1
        )
        .as_bytes(),
    );
    let updated = part(&bytes, 4, 8);
    let six = updated.pages.iter().find(|p| p.number == 6).unwrap();
    assert_eq!(six.text.trim(), "Revised page six");
    assert_parts_match(&bytes, 3);

    // The newest section now points 7 bytes too far: reading objects one at a time
    // gives up and lopdf's load (which repairs such files) takes over, for the part as
    // for the whole.
    let mut broken = bytes.clone();
    let entry = format!("{at:010} 00000 n");
    let pos = find(&broken, entry.as_bytes());
    broken[pos..pos + 10].copy_from_slice(format!("{:010}", at + 7).as_bytes());
    let whole_broken = whole(&broken);
    assert_eq!(whole_broken.pages.len(), 12);
    let six = part(&broken, 6, 6);
    assert_eq!(six.pages[0].text, whole_broken.pages[5].text);

    // A newest section whose /Prev leads back to itself (cutting the chain): no loop,
    // and the part reads what the full load reads.
    let mut looped = bytes.clone();
    let own = looped.len();
    looped.extend_from_slice(
        format!(
            "xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size {} /Root {root} 0 R /Prev {own} >>\nstartxref\n{own}\n%%EOF\n",
            doc.max_id + 1
        )
        .as_bytes(),
    );
    let six = part(&looped, 6, 6);
    assert_eq!(six.pages[0].text, whole(&looped).pages[5].text);
}

/// The shared corpus beside the repository (`DAA_CORPUS` overrides), when present: every
/// PDF's whole run gives the full load's output, and split in two gives its pages.
#[test]
fn parts_of_the_shared_corpus_match_the_whole() {
    let dir = std::env::var_os("DAA_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/pdf")
        });
    if !dir.is_dir() {
        println!("shared corpus not found at {}: skipped", dir.display());
        return;
    }
    for f in daa_pdf::bench_support::pdf_files(&dir).unwrap() {
        let bytes = std::fs::read(&f).unwrap();
        println!("{}", f.display());
        assert_whole_runs_match(&bytes);
        if whole(&bytes).pages.len() >= 2 {
            assert_parts_match(&bytes, 2);
        }
    }
}

/// A document whose page tree root says `count` pages but holds `real`.
fn lying_count(real: usize, count: i64) -> Vec<u8> {
    let mut pdf = Pdf::new();
    pdf.helvetica();
    for i in 0..real {
        pdf.page(&format!("BT /F1 11 Tf 72 700 Td (real page {i}) Tj ET"));
    }
    pdf.finish();
    let pages_id = pdf.pages_id;
    if let Ok(Object::Dictionary(d)) = pdf.doc.get_object_mut(pages_id) {
        d.set("Count", count);
    }
    pdf.bytes()
}

fn run_part(bytes: &[u8], index: u32, count: u32, first: u32, last: u32) -> StageOutput {
    let part = Part {
        index,
        count,
        first_page: Some(first),
        last_page: Some(last),
    };
    agent()
        .execute(&task(Some(part)), &ctx(bytes.to_vec()))
        .unwrap()
}

/// Validation counts pages from `/Count`; when it lies, a split loses no page and fails
/// no part: the last part runs to the real end, parts past it come back empty.
#[test]
fn a_split_planned_from_a_lying_page_count_loses_nothing() {
    let short = lying_count(5, 2);
    assert_eq!(daa_pdf::page_count(&short, &Limits::default()).unwrap(), 2);
    let numbers: Vec<u32> = [run_part(&short, 0, 2, 1, 1), run_part(&short, 1, 2, 2, 2)]
        .into_iter()
        .flat_map(|o| o.pages.into_iter().map(|p| p.number))
        .collect();
    assert_eq!(numbers, vec![1, 2, 3, 4, 5]);

    let long = lying_count(3, 8);
    assert_eq!(daa_pdf::page_count(&long, &Limits::default()).unwrap(), 8);
    let first = run_part(&long, 0, 2, 1, 4);
    assert_eq!(first.pages.len(), 3);
    let past = run_part(&long, 1, 2, 5, 8);
    assert!(past.pages.is_empty());
    assert!(
        past.warnings
            .iter()
            .any(|w| w.contains("this part is empty")),
        "{:?}",
        past.warnings
    );
}

/// With a pdfTeX-like tree (intermediate nodes of 6 kids), a part skips the subtrees
/// outside its range by their `/Count`, with or without an outline (the first part
/// walks the whole tree when there is one, to number the bookmarks).
#[test]
fn parts_of_a_deep_tree_match_the_whole() {
    for outline in [true, false] {
        let bytes = packed_document_with(100, Some(6), outline);
        for n in [2, 3, 5] {
            assert_parts_match(&bytes, n);
        }
    }
}

/// Skipping by `/Count` is what keeps a part small: in a 200-page document, a part of
/// 10 pages in the middle of a deep tree reads those pages and the nodes above them,
/// where a flat tree makes it read all 200 page dictionaries to number the pages (the
/// content streams, top-level objects, are loaded in both).
#[test]
fn a_part_of_a_deep_tree_skips_what_lies_outside_it() {
    let deep = packed_document_with(200, Some(6), false);
    let flat = packed_document_with(200, None, false);
    let (deep_loaded, full) = daa_pdf::bench_support::part_load(&deep, 101, 110).unwrap();
    let (flat_loaded, _) = daa_pdf::bench_support::part_load(&flat, 101, 110).unwrap();
    assert!(
        deep_loaded + 150 < flat_loaded,
        "deep tree: {deep_loaded} objects loaded, flat tree: {flat_loaded} (of {full})"
    );
}

/// Extracts pages `first..=last` of a document whose page `n` says "page number n", and
/// checks that each comes with its own number and text.
fn assert_numbered_part(bytes: &[u8], first: u32, last: u32) -> StageOutput {
    let p = part(bytes, first, last);
    let numbers: Vec<u32> = p.pages.iter().map(|p| p.number).collect();
    assert_eq!(numbers, (first..=last).collect::<Vec<_>>());
    for pg in &p.pages {
        assert!(
            pg.text.contains(&format!("page number {}", pg.number)),
            "page {}: {:?}",
            pg.number,
            pg.text
        );
    }
    p
}

/// An intermediate node whose `/Count` lies (the root's count is right): the counts do
/// not add up, the part walks the whole tree, and no page is lost or misnumbered.
#[test]
fn a_lying_intermediate_count_costs_time_not_pages() {
    let mut pdf = Pdf::new();
    pdf.helvetica();
    for i in 0..40 {
        pdf.page(&format!(
            "BT /F1 11 Tf 72 700 Td (page number {}) Tj ET",
            i + 1
        ));
    }
    pdf.finish();
    let nodes = pdf.balance_tree(6);
    // The first bottom node holds 6 pages but now claims 2.
    if let Ok(Object::Dictionary(d)) = pdf.doc.get_object_mut(nodes[0]) {
        d.set("Count", 2);
    }
    let bytes = packed(pdf.doc);
    let p = assert_numbered_part(&bytes, 21, 30);
    assert!(
        p.warnings.iter().any(|w| w.contains("do not add up")),
        "{:?}",
        p.warnings
    );
    assert_parts_match(&bytes, 3);
}

/// In a flat tree, the pages outside a part are counted from their bytes, not parsed
/// (see `leaf`): a middle part of a 200-page document parses only its own page
/// dictionaries, for packed and plain files alike, and every split still matches.
#[test]
fn a_flat_tree_counts_the_pages_outside_a_part_unparsed() {
    for bytes in [
        packed_document_with(200, None, false),
        plain(document_with(200, None, false)),
    ] {
        let unparsed = daa_pdf::bench_support::part_pages_unparsed(&bytes, 101, 110).unwrap();
        assert_eq!(unparsed, 190);
        assert_parts_match(&bytes, 3);
    }
}

/// Intermediate nodes among the leaves of a flat root (as a merge of documents makes
/// it): they are parsed and walked, so the pages after them keep their numbers.
#[test]
fn nodes_among_the_leaves_of_a_flat_tree_are_walked() {
    let mut pdf = Pdf::new();
    pdf.helvetica();
    let ids: Vec<_> = (0..30)
        .map(|i| {
            pdf.page(&format!(
                "BT /F1 11 Tf 72 700 Td (page number {}) Tj ET",
                i + 1
            ))
        })
        .collect();
    pdf.finish();
    // Pages 6-9 and 16-24 go under nodes of their own (the second one two levels deep).
    let node = |pdf: &mut Pdf, kids: Vec<lopdf::ObjectId>, count: i64| {
        let id = pdf.doc.add_object(dictionary! {
            "Type" => "Pages", "Parent" => pdf.pages_id, "Count" => count,
            "Kids" => kids.iter().map(|k| Object::Reference(*k)).collect::<Vec<_>>(),
        });
        for k in kids {
            if let Ok(Object::Dictionary(d)) = pdf.doc.get_object_mut(k) {
                d.set("Parent", id);
            }
        }
        id
    };
    let a = node(&mut pdf, ids[5..9].to_vec(), 4);
    let inner = node(&mut pdf, ids[18..24].to_vec(), 6);
    let b = node(&mut pdf, [ids[15..18].to_vec(), vec![inner]].concat(), 9);
    let mut kids: Vec<Object> = ids[..5].iter().map(|k| Object::Reference(*k)).collect();
    kids.push(Object::Reference(a));
    kids.extend(ids[9..15].iter().map(|k| Object::Reference(*k)));
    kids.push(Object::Reference(b));
    kids.extend(ids[24..].iter().map(|k| Object::Reference(*k)));
    let pages_id = pdf.pages_id;
    if let Ok(Object::Dictionary(d)) = pdf.doc.get_object_mut(pages_id) {
        d.set("Kids", kids);
    }
    for bytes in [packed(pdf.doc.clone()), plain(pdf.doc.clone())] {
        for (f, l) in [(12, 14), (20, 22), (25, 30)] {
            assert_numbered_part(&bytes, f, l);
        }
        assert_parts_match(&bytes, 4);
    }
}

/// Whole runs load lazily too: on every shipped PDF (with and without object streams,
/// damaged ones included) and on generated flat, deep and plain documents with outlines,
/// the output is the full load's.
#[test]
fn a_whole_run_gives_what_a_full_load_gives() {
    for f in [
        "debian-refcard-en-a4.pdf",
        "dmca.pdf",
        "garbage-xref.pdf",
        "naacl06-shinyama.pdf",
        "pdfminer-simple1.pdf",
        "shared-mime-info-spec.pdf",
    ] {
        assert_whole_runs_match(&fixture(f));
    }
    assert_whole_runs_match(&packed_document(60));
    assert_whole_runs_match(&packed_document_with(100, Some(6), true));
    assert_whole_runs_match(&plain(document_with(60, Some(4), true)));
    // A hyperlinked document loads fewer objects than the file holds: the link
    // annotations are not read.
    let bytes = packed_document(60);
    let (loaded, full) = daa_pdf::bench_support::part_load(&bytes, 1, u32::MAX).unwrap();
    assert!(loaded < full, "{loaded} objects loaded of {full}");
}
