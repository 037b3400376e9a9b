//! One extraction: load, walk the pages in range, interpret and lay out each, gather
//! tables, scanned pages and metadata.

use std::panic::{catch_unwind, AssertUnwindSafe};

use daa_shared::model::{Page, Table, TaskError};
use lopdf::{Document, Object};
use serde_json::{json, Map, Value};

use crate::content::{FontCache, FormCache, Interp, InterpLimits, PageContent};
use crate::decode::{self, Budget};
use crate::objects::deref;
use crate::pages::{self, PageRef};
use crate::{layout, load, meta, tables, Limits};

/// What to extract.
pub(crate) struct Request<'a> {
    /// Limits.
    pub(crate) limits: &'a Limits,
    /// Pages (1-based, inclusive) to extract; all when `None`.
    pub(crate) range: Option<(u32, u32)>,
    /// Whether tables are wanted.
    pub(crate) tables: bool,
    /// Polled between pages; true stops the extraction.
    pub(crate) cancelled: &'a dyn Fn() -> bool,
    /// A range that starts past the last page gives no pages and a warning instead of an
    /// error (a part of a split planned from a page count that was too high).
    pub(crate) past_end_is_empty: bool,
    /// Load the whole file as lopdf does, not only what the pages read (for comparing
    /// the two loads in tests and benchmarks).
    pub(crate) eager: bool,
}

/// What an extraction produced.
#[derive(Debug, Default)]
pub(crate) struct Extraction {
    /// Pages extracted (absolute numbers).
    pub(crate) pages: Vec<Page>,
    /// Tables found.
    pub(crate) tables: Vec<Table>,
    /// Metadata.
    pub(crate) metadata: Map<String, Value>,
    /// Warnings.
    pub(crate) warnings: Vec<String>,
    /// Content known to be missing (see `StageOutput::losses`).
    pub(crate) losses: Vec<String>,
}

/// Runs an extraction.
pub(crate) fn run(bytes: &[u8], req: &Request<'_>) -> Result<Extraction, TaskError> {
    let limits = req.limits;
    // A whole run loads what its pages read as a part does (all pages, the outline):
    // not the annotations, link destinations, structure trees and thumbnails that the
    // extraction never reads, which are most of the objects of a hyperlinked manual.
    let loaded = match (req.range, req.eager) {
        (_, true) => load::load(bytes, limits)?,
        (Some((first, last)), false) => load::load_range(bytes, limits, first, last)?,
        (None, false) => load::load_range(bytes, limits, 1, u32::MAX)?,
    };
    let doc = &loaded.doc;
    let mut x = Extraction {
        warnings: loaded.warnings.clone(),
        losses: loaded.losses.clone(),
        ..Extraction::default()
    };
    let walked = catch_unwind(AssertUnwindSafe(|| match req.range {
        Some((f, l)) if !doc.catalog().is_ok_and(|c| pages::walks_whole_tree(l, c)) => {
            pages::pages_in(doc, f, l, limits.max_pages, limits.max_depth)
        }
        _ => pages::pages(doc, limits.max_pages, limits.max_depth),
    }))
    .map_err(|_| TaskError::permanent("the page tree could not be walked (malformed)"))?;
    if walked.too_many {
        return Err(TaskError::permanent(format!(
            "the document has more than {} pages (max_pages)",
            limits.max_pages
        )));
    }
    x.warnings.extend(walked.warnings.iter().cloned());
    x.losses.extend(walked.losses.iter().cloned());
    let page_count = walked.total;
    if page_count == 0 {
        return Err(TaskError::permanent(
            "the document has no pages (empty or unreadable page tree)",
        ));
    }
    let (first, last) = match req.range {
        Some((f, l)) => {
            let f = f.max(1);
            if f > page_count && req.past_end_is_empty {
                x.warnings.push(format!(
                    "pages {f}-{l} were asked for, but the document has {page_count} pages: this part is empty"
                ));
                x.metadata.insert("page_count".into(), json!(page_count));
                if pages::reports_outline(l) {
                    outline(doc, &walked, limits, &mut x.metadata);
                }
                return Ok(x);
            }
            if f > page_count {
                return Err(TaskError::permanent(format!(
                    "pages {f}-{l} were asked for, but the document has {page_count} pages"
                )));
            }
            (f, l.min(page_count).max(f))
        }
        None => (1, page_count),
    };

    let mut budget = Budget::new(limits.max_total_decompressed_bytes, limits.max_stream_bytes);
    let mut fonts = FontCache::default();
    let mut forms = FormCache::default();
    let ilimits = InterpLimits {
        max_depth: limits.max_depth,
        max_ops: limits.max_operators_per_page,
        max_glyphs: limits.max_glyphs_per_page,
    };
    let mut ocr_pending: Vec<Value> = Vec::new();
    let mut text_bytes = 0usize;
    let mut truncated_pages: Vec<u32> = Vec::new();
    for n in first..=last {
        if (req.cancelled)() {
            return Err(TaskError::temporary(
                "extraction cancelled by the worker runtime (deadline passed or worker draining)",
            ));
        }
        let Some(p) = walked.get(n) else {
            x.losses.push(format!(
                "page {n}: the page tree walk did not reach this page; its text is empty"
            ));
            continue;
        };
        let res = catch_unwind(AssertUnwindSafe(|| {
            page_content(doc, p, &mut budget, &mut fonts, &mut forms, ilimits)
        }));
        let content = match res {
            Ok(c) => c,
            Err(_) => {
                x.losses.push(format!(
                    "page {n}: the page could not be read (internal error); its text is empty"
                ));
                fonts = FontCache::default();
                forms = FormCache::default();
                PageContent::default()
            }
        };
        for w in &content.warnings {
            if x.warnings.len() < 200 {
                x.warnings.push(format!("page {n}: {w}"));
            }
        }
        if content.truncated {
            truncated_pages.push(n);
        }
        let lay = catch_unwind(AssertUnwindSafe(|| layout::layout(&content))).unwrap_or_default();
        let text = lay.text();
        if text.trim().is_empty() {
            if let Some(reason) = scanned(&content, limits.scanned_min_image_coverage) {
                x.warnings.push(format!(
                    "page {n} has no text layer but a page-filling image (scanned?); it needs OCR, which is not done here"
                ));
                ocr_pending.push(json!({"page": n, "reason": reason}));
            }
        }
        if req.tables {
            x.tables.extend(tables::detect(&lay, &content, n));
        }
        text_bytes += text.len();
        if text_bytes > limits.max_text_bytes {
            x.losses.push(format!(
                "the text exceeds {} bytes (max_text_bytes); pages from {n} on are left out",
                limits.max_text_bytes
            ));
            break;
        }
        x.pages.push(Page {
            number: n,
            text,
            ocr: false,
            confidence: None,
        });
    }

    // Metadata.
    let m = &mut x.metadata;
    m.insert("page_count".into(), json!(page_count));
    m.insert("pdf_version".into(), json!(doc.version));
    m.insert("encrypted".into(), json!(loaded.encrypted));
    if loaded.encrypted {
        if let Some(st) = &doc.encryption_state {
            m.insert(
                "encryption".into(),
                json!({"version": st.version(), "revision": st.revision(), "key_bits": st.key_length().map(|k| k * 8), "decrypted_with": "empty user password"}),
            );
        }
    }
    if loaded.xref_rebuilt {
        m.insert("xref_rebuilt".into(), json!(true));
    }
    if let Some(n) = loaded.pages_regrafted {
        m.insert("pages_regrafted".into(), json!(n));
    }
    if req.range.is_some() {
        m.insert(
            "pages_extracted".into(),
            json!({"first": first, "last": last}),
        );
    }
    let info = meta::info(doc);
    if !info.is_empty() {
        m.insert("info".into(), Value::Object(info));
    }
    if let Some(x) = meta::xmp(doc, &mut budget, limits.max_xmp_bytes) {
        m.insert("xmp".into(), x);
    }
    m.insert("page_sizes".into(), meta::page_sizes(&walked, first, last));
    // The outline describes the whole document: one part (or a whole run) reports it.
    if req.range.is_none_or(|(_, l)| pages::reports_outline(l)) {
        outline(doc, &walked, limits, m);
    }
    if !ocr_pending.is_empty() {
        m.insert("ocr_pending".into(), Value::Array(ocr_pending));
    }
    if !truncated_pages.is_empty() {
        let list: Vec<String> = truncated_pages.iter().map(u32::to_string).collect();
        m.insert("truncated_pages".into(), json!(truncated_pages));
        x.losses.push(format!(
            "page(s) {} were cut short by a limit (the warnings say which); their text is incomplete",
            list.join(", ")
        ));
    }
    Ok(x)
}

/// Adds the outline (bookmarks), if the document has one, to `m`.
fn outline(
    doc: &Document,
    walked: &pages::PageList<'_>,
    limits: &Limits,
    m: &mut Map<String, Value>,
) {
    let ol = meta::outline(doc, walked, limits.max_outline_items, limits.max_depth);
    if !ol.is_empty() {
        m.insert("outline".into(), Value::Array(ol));
    }
}

/// Decodes a page's content streams and runs them.
fn page_content(
    doc: &Document,
    p: &PageRef<'_>,
    budget: &mut Budget,
    fonts: &mut FontCache,
    forms: &mut FormCache,
    limits: InterpLimits,
) -> PageContent {
    let mut data: Vec<u8> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let mut truncated = false;
    let streams: Vec<&Object> = match p.dict.get(b"Contents").map(|o| deref(doc, o)) {
        Ok(Object::Array(a)) => a.iter().collect(),
        Ok(o @ Object::Stream(_)) => vec![o],
        _ => Vec::new(),
    };
    for s in streams {
        if let Object::Stream(s) = deref(doc, s) {
            match decode::decode(doc, s, budget) {
                Ok((d, damaged)) => {
                    if damaged {
                        warnings.push(
                            "a content stream is damaged (its data end early or fail their checksum); text after the damage may be lost".into(),
                        );
                    }
                    data.extend_from_slice(&d);
                    data.push(b'\n');
                }
                Err(e) => {
                    truncated |= e.is_limit();
                    warnings.push(format!("a content stream was not read: {e}"));
                }
            }
        }
    }
    let interp = Interp::new(doc, fonts, forms, budget, limits, p.media, p.rotate);
    let mut c = interp.run_page(&data, p.resources);
    if truncated {
        c.truncated = true;
    }
    warnings.append(&mut c.warnings);
    c.warnings = warnings;
    c
}

/// Why a page without text looks scanned: an image covering at least `min_cover` of it.
fn scanned(c: &PageContent, min_cover: f32) -> Option<String> {
    let (w, h) = c.size;
    let area = w * h;
    if area <= 0.0 {
        return None;
    }
    let best = c
        .images
        .iter()
        .map(|r| {
            let iw = (r[2].min(w) - r[0].max(0.0)).max(0.0);
            let ih = (r[3].min(h) - r[1].max(0.0)).max(0.0);
            iw * ih / area
        })
        .fold(0.0f32, f32::max);
    (best >= min_cover).then(|| {
        format!(
            "no text layer; an image covers {:.0}% of the page",
            (best * 100.0).min(100.0)
        )
    })
}

/// See [`crate::bench_support::debug_blocks`].
pub(crate) fn debug_blocks(bytes: &[u8], page: u32) -> String {
    let limits = Limits::default();
    let Ok(loaded) = load::load(bytes, &limits) else {
        return String::new();
    };
    let doc = &loaded.doc;
    let walked = crate::pages::pages(doc, limits.max_pages, limits.max_depth);
    let Some(p) = walked.pages.get(page.saturating_sub(1) as usize) else {
        return String::new();
    };
    let mut budget = Budget::new(limits.max_total_decompressed_bytes, limits.max_stream_bytes);
    let mut fonts = FontCache::default();
    let mut forms = FormCache::default();
    let il = InterpLimits {
        max_depth: 64,
        max_ops: u64::MAX,
        max_glyphs: usize::MAX,
    };
    let c = page_content(doc, p, &mut budget, &mut fonts, &mut forms, il);
    let lay = layout::layout(&c);
    let mut s = String::new();
    let bx: Vec<[f32; 4]> = lay.blocks.iter().map(|b| b.bbox).collect();
    let fs: Vec<f32> = lay.blocks.iter().map(|b| b.size).collect();
    let (ex, tid) = layout::extended_boxes(&bx, &fs);
    for (i, b) in lay.blocks.iter().enumerate() {
        s.push_str(&format!(
            "t{:?} ex {:6.1} {:6.1} {:6.1} {:6.1} ",
            tid[i], ex[i][0], ex[i][1], ex[i][2], ex[i][3]
        ));
        let t: String = b.lines.first().map(|l| l.text()).unwrap_or_default();
        s.push_str(&format!(
            "{:7.1} {:7.1} {:7.1} {:7.1} | {}\n",
            b.bbox[0],
            b.bbox[1],
            b.bbox[2],
            b.bbox[3],
            t.chars().take(60).collect::<String>()
        ));
    }
    s
}
