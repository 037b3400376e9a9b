//! Hostile and broken PDFs end as a permanent error or as a partial result with
//! warnings — never a panic, a hang or unbounded memory — and the agent keeps serving.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{ctx, extract, extract_with, fixture, task, zlib, Pdf};
use daa_pdf::{Limits, PdfAgent};
use daa_shared::model::{AgentKind, FailureKind, Part, Stage};
use daa_worker::{Agent, TaskContext};
use lopdf::{dictionary, Object, Stream};

fn bounded<T>(limit: Duration, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    assert!(t.elapsed() < limit, "took {:?}", t.elapsed());
    r
}

/// `truncated.pdf` is the first 123,625 of 309,064 bytes of a 41-page pdfTeX manual: no
/// cross-reference data, no trailer, no catalog, no root of the page tree (pdftotext
/// reads nothing of it). The page objects that survive come back in page order, each
/// with the text of the page it is in the whole file, and a warning says what happened.
#[test]
fn a_truncated_file_gives_the_pages_it_still_holds() {
    let out = bounded(Duration::from_secs(20), || {
        extract(&fixture("truncated.pdf"))
    })
    .unwrap();
    let whole = String::from_utf8(fixture("truncated.original.pdftotext.txt")).unwrap();
    let whole = daa_pdf::similarity::split_pages(&whole);
    assert_eq!(whole.len(), 41);
    assert!(out.pages.len() >= 35, "{} pages", out.pages.len());
    assert_eq!(out.metadata["pages_regrafted"], out.pages.len());
    assert!(
        out.losses
            .iter()
            .any(|w| w.contains("truncated") && w.contains("may be missing or out of order")),
        "{:?}",
        out.losses
    );
    // Each recovered page is the page of the whole file it matches best, under its own
    // number (the page lost is the last). Pages whose fonts were cut off (their widths
    // are gone, so dot leaders and columns run together) match less well.
    let mut close = 0;
    for page in &out.pages {
        let (best, sim) = whole
            .iter()
            .enumerate()
            .map(|(i, w)| (i + 1, daa_pdf::similarity::similarity(&page.text, w)))
            .fold((0, 0.0), |a, b| if b.1 > a.1 { b } else { a });
        assert_eq!(best, page.number as usize, "page {} ({sim})", page.number);
        if sim > 0.9 {
            close += 1;
        }
    }
    assert!(
        close * 10 >= out.pages.len() * 8,
        "{close} of {}",
        out.pages.len()
    );
}

/// A finished document of `n` pages reading "page 1" to "page n", and the pages' ids.
fn numbered_pages(n: u32) -> (Pdf, Vec<lopdf::ObjectId>) {
    let mut p = Pdf::new();
    p.helvetica();
    let pages = (1..=n)
        .map(|i| p.page(&format!("BT /F1 12 Tf 72 700 Td (page {i}) Tj ET")))
        .collect();
    p.finish();
    (p, pages)
}

#[test]
fn a_lost_page_tree_root_is_replaced_and_the_pages_keep_their_order() {
    let (mut p, _) = numbered_pages(9);
    let nodes = p.balance_tree(3);
    // The root and the node over pages 4-6 are gone; the nodes over 1-3 and 7-9 are not.
    p.doc.objects.remove(&p.pages_id);
    p.doc.objects.remove(&nodes[1]);
    let bytes = p.bytes();
    let out = extract(&bytes).unwrap();
    let texts: Vec<&str> = out.pages.iter().map(|p| p.text.as_str()).collect();
    let want: Vec<String> = (1..=9).map(|i| format!("page {i}")).collect();
    assert_eq!(texts, want);
    assert_eq!(out.metadata["pages_regrafted"], 9);
    assert!(
        out.losses
            .iter()
            .any(|w| w.contains("no readable page tree")
                && w.contains("(6 of them inside parts of the old tree that survived)")),
        "{:?}",
        out.losses
    );
    // Validation counts the same pages, and a part of a split reads its own.
    assert_eq!(daa_pdf::page_count(&bytes, &Limits::default()).unwrap(), 9);
    let part = Part {
        index: 1,
        count: 3,
        first_page: Some(4),
        last_page: Some(6),
    };
    let out = PdfAgent::default()
        .execute(&task(Some(part)), &ctx(bytes))
        .unwrap();
    let texts: Vec<&str> = out.pages.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(texts, ["page 4", "page 5", "page 6"]);
}

#[test]
fn a_page_the_tree_lists_but_the_file_lacks_is_reported() {
    let (mut p, pages) = numbered_pages(3);
    p.doc.objects.remove(&pages[1]);
    let out = extract(&p.bytes()).unwrap();
    let texts: Vec<&str> = out.pages.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(texts, ["page 1", "page 3"]);
    let lost = format!("{} {} R", pages[1].0, pages[1].1);
    assert_eq!(out.losses.len(), 1, "{:?}", out.losses);
    assert!(
        out.losses[0].contains("lists 1 object(s) the file does not hold")
            && out.losses[0].contains(&lost),
        "{:?}",
        out.losses
    );
    // Two gone: the loss counts both and names the first in page order.
    let (mut p, pages) = numbered_pages(4);
    p.doc.objects.remove(&pages[1]);
    p.doc.objects.remove(&pages[2]);
    let out = extract(&p.bytes()).unwrap();
    assert_eq!(out.pages.len(), 2);
    let first = format!("the first is {} {} R", pages[1].0, pages[1].1);
    assert!(
        out.losses[0].contains("lists 2 object(s)") && out.losses[0].contains(&first),
        "{:?}",
        out.losses
    );
}

#[test]
fn a_file_cut_inside_a_stream_after_its_tree_was_lost_still_gives_its_pages() {
    let (mut p, _) = numbered_pages(3);
    p.doc.objects.remove(&p.pages_id);
    // The last object of the file is a stream, and the file ends 40 bytes before the
    // end of its data: its `/Length` then reaches past the cut, into whatever is
    // appended to the file for the reconstruction.
    let filler: Vec<u8> = (0..20_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    p.doc.add_object(Stream::new(dictionary! {}, filler));
    let mut bytes = p.bytes();
    let end = bytes.windows(9).rposition(|w| w == b"endstream").unwrap();
    bytes.truncate(end - 40);
    assert!(!bytes.windows(7).any(|w| w == b"trailer"));
    let out = extract(&bytes).unwrap();
    let texts: Vec<&str> = out.pages.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(texts, ["page 1", "page 2", "page 3"]);
    assert!(!out.losses.is_empty());
}

#[test]
fn an_encrypted_file_cut_short_is_decrypted_and_gives_its_pages() {
    // dmca.pdf is encrypted with an empty user password and linearized: its first-page
    // trailer (with /Encrypt) is at the start; the root of its page tree near the end.
    let whole = fixture("dmca.pdf");
    let cut = &whole[..whole.len() * 6 / 10];
    let out = extract(cut).unwrap();
    assert_eq!(out.metadata["encrypted"], true);
    assert!(out.pages.len() >= 5, "{} pages", out.pages.len());
    let truth = String::from_utf8(fixture("dmca.pdftotext.txt")).unwrap();
    let truth = daa_pdf::similarity::split_pages(&truth);
    // Decrypted text, not ciphertext, and in page order: a linearized file numbers its
    // first page after the others, and its linearization dictionary says which it is.
    for page in out
        .pages
        .iter()
        .filter(|p| !p.text.trim().is_empty())
        .take(8)
    {
        let n = page.number as usize;
        let sim = daa_pdf::similarity::similarity(&page.text, &truth[n - 1]);
        assert!(sim > 0.9, "page {n}: {sim}");
    }
    assert!(
        out.losses.iter().any(|l| l.contains("may be missing")),
        "{:?}",
        out.losses
    );
}

#[test]
fn a_file_cut_before_its_first_page_fails_permanently_with_a_reason() {
    let truncated = fixture("truncated.pdf");
    let err = extract(&truncated[..2048]).unwrap_err();
    assert_eq!(err.kind, FailureKind::Permanent);
    assert!(
        err.message.contains("cross-reference") || err.message.contains("page tree"),
        "{err}"
    );
}

#[test]
fn garbage_xref_is_rebuilt_or_fails_cleanly() {
    match bounded(Duration::from_secs(20), || {
        extract(&fixture("garbage-xref.pdf"))
    }) {
        Ok(out) => {
            assert!(
                out.warnings.iter().any(|w| w.contains("rebuilt")),
                "{:?}",
                out.warnings
            );
            assert_eq!(out.metadata["xref_rebuilt"], true);
            assert!(out.text.unwrap().contains("Debian"));
        }
        Err(e) => assert_eq!(e.kind, FailureKind::Permanent),
    }
}

#[test]
fn not_a_pdf() {
    for bytes in [
        &b""[..],
        b"\x89PNG\r\n\x1a\n0000",
        b"%PDF-1.4\n garbage \x00\xff trailer << >>",
    ] {
        let err = extract(bytes).unwrap_err();
        assert_eq!(err.kind, FailureKind::Permanent, "{err}");
    }
}

#[test]
fn page_tree_loop() {
    let mut p = Pdf::new();
    p.helvetica();
    p.page("BT /F1 12 Tf 72 700 Td (still here) Tj ET");
    p.finish();
    // The root lists itself among its kids; a second node points back at the root.
    let loop_node = p.doc.add_object(
        dictionary! { "Type" => "Pages", "Kids" => vec![p.pages_id.into()], "Count" => 1 },
    );
    let root = p.doc.get_dictionary_mut(p.pages_id).unwrap();
    let mut kids = root.get(b"Kids").unwrap().as_array().unwrap().clone();
    kids.push(Object::Reference(p.pages_id));
    kids.push(Object::Reference(loop_node));
    root.set("Kids", kids);
    let out = bounded(Duration::from_secs(10), || extract(&p.bytes())).unwrap();
    assert_eq!(out.pages.len(), 1);
    assert_eq!(out.pages[0].text, "still here");
    assert!(
        out.warnings.iter().any(|w| w.contains("cycle")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn page_tree_of_only_a_loop_has_no_pages() {
    let mut p = Pdf::new();
    p.finish();
    let root = p.doc.get_dictionary_mut(p.pages_id).unwrap();
    root.set("Kids", vec![Object::Reference(p.pages_id)]);
    let err = bounded(Duration::from_secs(10), || extract(&p.bytes())).unwrap_err();
    assert_eq!(err.kind, FailureKind::Permanent);
}

#[test]
fn content_stream_deflate_bomb_is_cut() {
    let mut p = Pdf::new();
    p.helvetica();
    p.page("BT /F1 12 Tf 72 700 Td (before the bomb) Tj ET");
    // 256 MiB of spaces compress to about 256 KiB.
    let bomb = zlib(&vec![b' '; 256 << 20]);
    assert!(bomb.len() < 1 << 20);
    let id = p
        .doc
        .add_object(Stream::new(dictionary! { "Filter" => "FlateDecode" }, bomb));
    let page = p.page("");
    p.doc.get_dictionary_mut(page).unwrap().set("Contents", id);
    let limits = Limits {
        max_stream_bytes: 8 << 20,
        ..Limits::default()
    };
    let out = bounded(Duration::from_secs(30), || extract_with(&p.bytes(), limits)).unwrap();
    assert_eq!(out.pages.len(), 2);
    assert_eq!(out.pages[0].text, "before the bomb");
    assert!(
        out.warnings.iter().any(|w| w.contains("max_stream_bytes")),
        "{:?}",
        out.warnings
    );
    assert_eq!(out.metadata["truncated_pages"], serde_json::json!([2]));
    assert!(
        out.losses
            .iter()
            .any(|l| l.starts_with("page(s) 2 were cut short")),
        "{:?}",
        out.losses
    );
}

#[test]
fn object_stream_bomb_is_not_inflated() {
    let mut p = Pdf::new();
    p.helvetica();
    p.page("BT /F1 12 Tf 72 700 Td (text) Tj ET");
    let bomb = zlib(&vec![b'0'; 128 << 20]);
    p.doc.add_object(Stream::new(
        dictionary! { "Type" => "ObjStm", "N" => 1, "First" => 4, "Filter" => "FlateDecode" },
        bomb,
    ));
    let limits = Limits {
        max_stream_bytes: 4 << 20,
        ..Limits::default()
    };
    let res = bounded(Duration::from_secs(30), || extract_with(&p.bytes(), limits));
    match res {
        Ok(out) => assert_eq!(out.pages[0].text, "text"),
        Err(e) => assert_eq!(e.kind, FailureKind::Permanent),
    }
}

#[test]
fn streams_with_a_bad_checksum_are_read_whole() {
    // Writers and damaged copies get the Adler-32 at the end of a zlib stream wrong while
    // the data are all there: a reader keeps them, and says the stream was damaged.
    let mut p = Pdf::new();
    p.helvetica();
    let mut contents = zlib(b"BT /F1 12 Tf 72 700 Td (every byte kept) Tj ET");
    let n = contents.len();
    contents[n - 1] ^= 0x5a;
    let contents = p.stream(dictionary! { "Filter" => "FlateDecode" }, contents);
    p.page_with(b"", dictionary! { "Contents" => contents });
    p.finish();
    // The font and page dictionaries go into an object stream; spoil its checksum too.
    let mut bytes = Vec::new();
    let options = lopdf::SaveOptions::builder()
        .use_object_streams(true)
        .use_xref_streams(true)
        .compression_level(6)
        .build();
    p.doc.save_with_options(&mut bytes, options).unwrap();
    let find = |from: usize, what: &[u8]| {
        from + bytes[from..]
            .windows(what.len())
            .position(|w| w == what)
            .unwrap()
    };
    let objstm = find(0, b"/ObjStm");
    let end = find(objstm, b"endstream");
    let last =
        end - 1 - usize::from(bytes[end - 1] == b'\n') - usize::from(bytes[end - 2] == b'\r');
    bytes[last] ^= 0x5a;
    let out = extract(&bytes).unwrap();
    assert_eq!(out.pages[0].text, "every byte kept");
    let warned = |what: &str| {
        out.warnings
            .iter()
            .any(|w| w.contains(what) && w.contains("damaged"))
    };
    assert!(warned("object stream"), "{:?}", out.warnings);
    assert!(warned("content stream"), "{:?}", out.warnings);
    // Every byte is there: nothing is reported lost.
    assert!(out.losses.is_empty(), "{:?}", out.losses);
}

#[test]
fn a_dictionary_with_a_broken_entry_keeps_its_page() {
    // Damaged copies glue tokens together: lopdf drops the whole object, so the page (or,
    // in the tree's root, every page) would be lost. The entry is dropped instead.
    let mut p = Pdf::new();
    p.helvetica();
    p.page("BT /F1 12 Tf 72 700 Td (first page) Tj ET");
    p.page("BT /F1 12 Tf 72 700 Td (second page) Tj ET");
    let bytes = p.bytes();
    let spoil = |bytes: &[u8], from: &[u8], to: &[u8]| {
        let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
        [&bytes[..at], to, &bytes[at + from.len()..]].concat()
    };
    // Same length, so the cross-reference offsets still hold.
    let page = spoil(&bytes, b"/Type/Page/", b"/Type/Page]");
    let out = extract(&page).unwrap();
    let texts: Vec<&str> = out.pages.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(texts, ["first page", "second page"]);
    assert!(
        out.warnings.iter().any(|w| w.contains("read leniently")),
        "{:?}",
        out.warnings
    );
    let root = spoil(&bytes, b"/Type/Pages", b"/Type R    ");
    let out = extract(&root).unwrap();
    assert_eq!(out.pages.len(), 2);
}

#[test]
fn forms_that_draw_themselves_or_fan_out() {
    let mut p = Pdf::new();
    p.helvetica();
    // Fm0 draws itself.
    let fm0 = p.doc.new_object_id();
    let xo = dictionary! { "Fm0" => fm0 };
    p.doc.objects.insert(
        fm0,
        Object::Stream(Stream::new(
            dictionary! { "Type" => "XObject", "Subtype" => "Form", "Resources" => dictionary! { "XObject" => xo.clone() } },
            b"/Fm0 Do".to_vec(),
        )),
    );
    // Fan-out: each level draws the next 64 times, 6 levels deep (64^6 draws).
    let mut next = p.doc.add_object(Stream::new(
        dictionary! { "Type" => "XObject", "Subtype" => "Form", "Resources" => dictionary! { "Font" => p.fonts.clone() } },
        b"BT /F1 1 Tf (x) Tj ET".to_vec(),
    ));
    for _ in 0..6 {
        let body = "/N Do ".repeat(64);
        next = p.doc.add_object(Stream::new(
            dictionary! { "Type" => "XObject", "Subtype" => "Form", "Resources" => dictionary! { "XObject" => dictionary! { "N" => next } } },
            body.into_bytes(),
        ));
    }
    p.xobjects.set("Fm0", fm0);
    p.xobjects.set("Fan", next);
    p.page("BT /F1 12 Tf 72 700 Td (visible) Tj ET /Fm0 Do /Fan Do");
    let limits = Limits {
        max_operators_per_page: 200_000,
        ..Limits::default()
    };
    let out = bounded(Duration::from_secs(30), || extract_with(&p.bytes(), limits)).unwrap();
    assert!(out.pages[0].text.starts_with("visible"));
    assert!(
        out.warnings.iter().any(|w| w.contains("cycle")),
        "{:?}",
        out.warnings
    );
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("max_operators_per_page")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn limits_on_bytes_and_pages() {
    let mut p = Pdf::new();
    p.helvetica();
    for _ in 0..5 {
        p.page("BT /F1 12 Tf 72 700 Td (x) Tj ET");
    }
    let bytes = p.bytes();
    let err = extract_with(
        &bytes,
        Limits {
            max_pages: 3,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert!(err.message.contains("max_pages"), "{err}");
    let err = extract_with(
        &bytes,
        Limits {
            max_bytes: 100,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert!(err.message.contains("max_bytes"), "{err}");
    let err = extract_with(
        &bytes,
        Limits {
            max_objects: 5,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert!(err.message.contains("max_objects"), "{err}");
}

#[test]
fn mutated_files_never_panic() {
    // Deterministic byte-level damage to real files: every outcome is a result.
    let originals = [fixture("dmca.pdf"), fixture("debian-refcard-en-a4.pdf")];
    let mut seed: u64 = 7;
    let mut rnd = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let t = Instant::now();
    for round in 0..24 {
        let mut b = originals[round % 2].clone();
        for _ in 0..(1 + rnd() % 40) {
            let i = rnd() % b.len();
            b[i] = (rnd() % 256) as u8;
        }
        if round % 3 == 0 {
            let n = b.len();
            b.truncate(n / 2 + rnd() % (n / 2));
        }
        let r = std::panic::catch_unwind(|| extract(&b));
        assert!(r.is_ok(), "panic on round {round}");
    }
    assert!(t.elapsed() < Duration::from_secs(120), "{:?}", t.elapsed());
}

#[test]
fn the_agent_keeps_serving_after_bad_input() {
    let agent = PdfAgent::default();
    assert_eq!(agent.kind(), AgentKind::Pdf);
    assert_eq!(agent.capabilities().stages, vec![Stage::Extraction]);
    let no_doc = agent
        .execute(&task(None), &TaskContext::default())
        .unwrap_err();
    assert_eq!(no_doc.kind, FailureKind::Permanent);
    let bad = agent
        .execute(&task(None), &ctx(fixture("truncated.pdf")[..2048].to_vec()))
        .unwrap_err();
    assert_eq!(bad.kind, FailureKind::Permanent);
    let part = Part {
        index: 1,
        count: 3,
        first_page: Some(2),
        last_page: Some(3),
    };
    let out = agent
        .execute(&task(Some(part)), &ctx(fixture("dmca.pdf")))
        .unwrap();
    assert_eq!(
        out.pages.iter().map(|p| p.number).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(out.metadata["page_count"], 18);
    assert_eq!(out.metadata["encrypted"], true);
}
