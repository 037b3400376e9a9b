//! The individual QA checks; each returns one [`Check`]. Which apply is decided in
//! [`super::assess`].

use std::collections::BTreeSet;
use std::fmt::Write as _;

use daa_shared::model::{Check, Classification, Page, Requirements, ResultDocument};

use super::{
    CHUNKS_OFFSETS, CLASSIFICATION_SCORES, ENCODING_CLEAN, ENTITIES_OFFSETS, LOW_CONFIDENCE_PAGES,
    NO_ERRORS, PAGES_CONSISTENT, REQUIRED_OUTPUTS, TABLES_RECTANGULAR, TEXT_PRESENT,
};
use crate::Limits;

/// How many offenders a detail names before summing up the rest.
const MAX_LISTED: usize = 5;

fn check(name: &str, passed: bool, detail: impl Into<String>) -> Check {
    Check {
        name: name.to_owned(),
        passed,
        detail: detail.into(),
    }
}

/// Join the first [`MAX_LISTED`] items, noting how many more there are.
fn listing(items: &[String]) -> String {
    let mut out = items
        .iter()
        .take(MAX_LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > MAX_LISTED {
        let _ = write!(out, "; and {} more", items.len() - MAX_LISTED);
    }
    out
}

/// A string for a detail: quoted, cut to 40 characters.
fn quote(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{:?}…", s.chars().take(40).collect::<String>())
    } else {
        format!("{s:?}")
    }
}

/// Characters of `s` that are not whitespace (Unicode `White_Space`, as
/// `char::is_whitespace`). A document's text is megabytes and several checks count it:
/// ASCII text is counted by bytes, without decoding.
fn non_ws(s: &str) -> usize {
    // Runs of ASCII are counted bytewise (vectorized); only the characters outside
    // ASCII are decoded. A text with one typographic quote used to go char by char.
    let b = s.as_bytes();
    let mut n = 0;
    let mut i = 0;
    while i < b.len() {
        let run = b[i..]
            .iter()
            .position(|c| !c.is_ascii())
            .unwrap_or(b.len() - i);
        n += b[i..i + run].iter().filter(|c| !is_ascii_ws(**c)).count();
        i += run;
        if let Some(c) = s.get(i..).and_then(|rest| rest.chars().next()) {
            n += usize::from(!c.is_whitespace());
            i += c.len_utf8();
        }
    }
    n
}

/// The ASCII characters `char::is_whitespace` accepts (tab through carriage return,
/// space); unlike `u8::is_ascii_whitespace`, this includes the vertical tab.
fn is_ascii_ws(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ')
}

/// Where the non-whitespace characters of `a` (its pieces joined) and `b` first differ,
/// counted in such characters; `None` when they are the same. Comparing bytes with the ASCII whitespace left out answers most cases at once
/// (equal bytes mean equal characters: ASCII bytes never occur inside a multi-byte
/// character); only when the bytes differ are the characters compared, where other
/// Unicode whitespace may still make them equal.
fn non_ws_difference<'a>(a: impl Iterator<Item = &'a str> + Clone, b: &str) -> Option<usize> {
    // The usual case, answered by comparing slices: `b` is the pieces joined by form
    // feeds, as the synthesis joins pages.
    if Page::is_joined(a.clone(), b) {
        return None;
    }
    let bytes = a.clone().flat_map(str::bytes).filter(|c| !is_ascii_ws(*c));
    if bytes.eq(b.bytes().filter(|c| !is_ascii_ws(*c))) {
        return None;
    }
    first_difference(
        a.flat_map(str::chars).filter(|c| !c.is_whitespace()),
        b.chars().filter(|c| !c.is_whitespace()),
    )
}

/// A text indexed by characters (offsets in the model are characters, not bytes).
pub(super) struct CharText<'a> {
    text: &'a str,
    /// Byte offset of every character, plus the text length; `None` for ASCII text,
    /// where characters are bytes.
    bounds: Option<Vec<usize>>,
}

impl<'a> CharText<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        let bounds = (!text.is_ascii()).then(|| {
            text.char_indices()
                .map(|(i, _)| i)
                .chain(std::iter::once(text.len()))
                .collect()
        });
        Self { text, bounds }
    }

    /// Length in characters.
    pub(super) fn len(&self) -> usize {
        match &self.bounds {
            Some(b) => b.len() - 1,
            None => self.text.len(),
        }
    }

    /// Characters `start..end`, if that range is inside the text.
    pub(super) fn slice(&self, start: usize, end: usize) -> Option<&'a str> {
        if start > end || end > self.len() {
            return None;
        }
        match &self.bounds {
            Some(b) => self.text.get(b[start]..b[end]),
            None => self.text.get(start..end),
        }
    }
}

/// Check one `[start, end)` span against the text; `None` when it matches.
fn span_problem(text: &CharText<'_>, start: usize, end: usize, expected: &str) -> Option<String> {
    match text.slice(start, end) {
        None if start > end => Some(format!("[{start}, {end}) is reversed")),
        None => Some(format!(
            "[{start}, {end}) is outside the text ({} characters)",
            text.len()
        )),
        Some(actual) if actual != expected => Some(format!(
            "[{start}, {end}) is {} in the text, not {}",
            quote(actual),
            quote(expected)
        )),
        Some(_) => None,
    }
}

pub(super) fn text_present(doc: &ResultDocument, limits: &Limits) -> Check {
    let pages = doc.pages.len().max(1);
    let needed = limits.min_text_chars_per_page.max(1) * pages;
    let per_page: Vec<usize> = doc.pages.iter().map(|p| non_ws(&p.text)).collect();
    // The first source that has any text: the document's, its pages', its tables'.
    let (found, from) = match non_ws(&doc.text) {
        0 => match per_page.iter().sum() {
            0 => match doc
                .tables
                .iter()
                .flat_map(|t| t.rows.iter().flatten())
                .map(|c| non_ws(c))
                .sum()
            {
                0 => (0, "text"),
                n => (n, "tables"),
            },
            n => (n, "pages"),
        },
        n => (n, "text"),
    };
    let mut detail = format!(
        "{found} non-whitespace characters in the {from} over {pages} page(s); {needed} needed"
    );
    let sparse: Vec<String> = doc
        .pages
        .iter()
        .zip(&per_page)
        .filter(|(_, n)| **n < limits.min_text_chars_per_page)
        .map(|(p, _)| p.number.to_string())
        .collect();
    if !sparse.is_empty() {
        let _ = write!(
            detail,
            "; pages under {} character(s): {}",
            limits.min_text_chars_per_page,
            listing(&sparse)
        );
    }
    check(TEXT_PRESENT, found > 0 && found >= needed, detail)
}

pub(super) fn pages_consistent(doc: &ResultDocument) -> Check {
    let mut problems = Vec::new();
    let numbered = doc
        .pages
        .iter()
        .enumerate()
        .all(|(i, p)| p.number as usize == i + 1);
    if !numbered {
        let numbers: Vec<String> = doc.pages.iter().map(|p| p.number.to_string()).collect();
        let shown = if numbers.len() > 20 {
            format!("{}, …", numbers[..20].join(", "))
        } else {
            numbers.join(", ")
        };
        problems.push(format!(
            "page numbers are not 1..{}: [{shown}]",
            doc.pages.len()
        ));
    }
    if let Some(at) = non_ws_difference(doc.pages.iter().map(|p| p.text.as_str()), &doc.text) {
        problems.push(format!(
            "the pages' text ({} non-whitespace characters) differs from the document text \
             ({}) at non-whitespace character {at}",
            doc.pages.iter().map(|p| non_ws(&p.text)).sum::<usize>(),
            non_ws(&doc.text)
        ));
    }
    if problems.is_empty() {
        check(
            PAGES_CONSISTENT,
            true,
            format!(
                "{} page(s) numbered 1..{}, their text matches the document text",
                doc.pages.len(),
                doc.pages.len()
            ),
        )
    } else {
        check(PAGES_CONSISTENT, false, problems.join("; "))
    }
}

/// Index of the first difference between two sequences (including one ending early).
fn first_difference<T: PartialEq>(
    mut a: impl Iterator<Item = T>,
    mut b: impl Iterator<Item = T>,
) -> Option<usize> {
    let mut i = 0;
    loop {
        match (a.next(), b.next()) {
            (None, None) => return None,
            (Some(x), Some(y)) if x == y => i += 1,
            _ => return Some(i),
        }
    }
}

pub(super) fn low_confidence_pages(doc: &ResultDocument, limits: &Limits) -> Check {
    let ocr: Vec<_> = doc.pages.iter().filter(|p| p.ocr).collect();
    let low: Vec<String> = ocr
        .iter()
        .filter_map(|p| {
            let c = p.confidence?;
            // NaN counts as low.
            (c.is_nan() || c < limits.low_confidence).then(|| format!("page {} ({c:.2})", p.number))
        })
        .collect();
    let unknown = ocr.iter().filter(|p| p.confidence.is_none()).count();
    let mut detail = if low.is_empty() {
        format!(
            "{} OCR page(s), none below {:.2}",
            ocr.len(),
            limits.low_confidence
        )
    } else {
        format!(
            "{} of {} OCR page(s) below {:.2}: {}",
            low.len(),
            ocr.len(),
            limits.low_confidence,
            listing(&low)
        )
    };
    if unknown > 0 {
        let _ = write!(detail, "; {unknown} without a confidence");
    }
    check(LOW_CONFIDENCE_PAGES, low.is_empty(), detail)
}

pub(super) fn tables_rectangular(doc: &ResultDocument) -> Check {
    let ragged: Vec<String> = doc
        .tables
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let widths: BTreeSet<usize> = t.rows.iter().map(Vec::len).collect();
            if widths.len() <= 1 {
                return None;
            }
            let mut parts: Vec<String> = t.name.iter().cloned().collect();
            parts.extend(t.page.map(|p| format!("page {p}")));
            let widths: Vec<String> = widths.iter().map(usize::to_string).collect();
            parts.push(format!("rows of {} cells", widths.join("/")));
            Some(format!("table {i} ({})", parts.join(", ")))
        })
        .collect();
    if ragged.is_empty() {
        check(
            TABLES_RECTANGULAR,
            true,
            format!("{} table(s), all rectangular", doc.tables.len()),
        )
    } else {
        check(
            TABLES_RECTANGULAR,
            false,
            format!(
                "{} of {} table(s) ragged: {}",
                ragged.len(),
                doc.tables.len(),
                listing(&ragged)
            ),
        )
    }
}

pub(super) fn encoding_clean(doc: &ResultDocument) -> Check {
    let total = doc.text.chars().count();
    let bad = doc.text.matches('\u{fffd}').count();
    // bad / total < 0.1%, without floating point.
    let passed = bad * 1000 < total;
    let share = if total == 0 {
        0.0
    } else {
        bad as f64 * 100.0 / total as f64
    };
    check(
        ENCODING_CLEAN,
        passed,
        format!("{bad} replacement character(s) (U+FFFD) in {total} ({share:.3}%)"),
    )
}

pub(super) fn classification_scores(c: &Classification) -> Check {
    const TOLERANCE: f64 = 1e-3;
    let mut problems = Vec::new();
    if c.scores.is_empty() {
        problems.push("no scores".to_owned());
    } else if c.scores.values().any(|s| !s.is_finite() || *s < 0.0) {
        problems.push("a score is negative or not a number".to_owned());
    } else {
        let sum: f64 = c.scores.values().map(|&s| f64::from(s)).sum();
        if (sum - 1.0).abs() > TOLERANCE {
            problems.push(format!("scores sum to {sum:.4}, not 1"));
        }
        let (best, max) = c
            .scores
            .iter()
            .fold(("", f32::NEG_INFINITY), |(bl, bs), (l, &s)| {
                if s > bs {
                    (l.as_str(), s)
                } else {
                    (bl, bs)
                }
            });
        match c.scores.get(&c.label) {
            None => problems.push(format!("label {:?} has no score", c.label)),
            Some(&s) => {
                if s < max {
                    problems.push(format!(
                        "label {:?} ({s:.4}) is not the best score: {best:?} ({max:.4})",
                        c.label
                    ));
                }
                if (f64::from(c.score) - f64::from(s)).abs() > TOLERANCE {
                    problems.push(format!(
                        "score {:.4} is not the label's score {s:.4}",
                        c.score
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        check(
            CLASSIFICATION_SCORES,
            true,
            format!(
                "{} label(s), scores sum to 1, {:?} is the best",
                c.scores.len(),
                c.label
            ),
        )
    } else {
        check(CLASSIFICATION_SCORES, false, problems.join("; "))
    }
}

pub(super) fn entities_offsets(doc: &ResultDocument, text: &CharText<'_>) -> Check {
    let bad: Vec<String> = doc
        .entities
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            span_problem(text, e.start, e.end, &e.text)
                .map(|p| format!("entity {i} ({} {}): {p}", e.kind, quote(&e.text)))
        })
        .collect();
    if bad.is_empty() {
        check(
            ENTITIES_OFFSETS,
            true,
            format!("{} entities match the text", doc.entities.len()),
        )
    } else {
        check(
            ENTITIES_OFFSETS,
            false,
            format!(
                "{} of {} entities do not match the text: {}",
                bad.len(),
                doc.entities.len(),
                listing(&bad)
            ),
        )
    }
}

pub(super) fn chunks_offsets(doc: &ResultDocument, text: &CharText<'_>) -> Check {
    let chunks = &doc.chunks;
    let bad: Vec<String> = chunks
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            span_problem(text, c.start, c.end, &c.text).map(|p| format!("chunk {i}: {p}"))
        })
        .collect();
    let mut problems = Vec::new();
    if !bad.is_empty() {
        problems.push(format!(
            "{} of {} chunks do not match the text: {}",
            bad.len(),
            chunks.len(),
            listing(&bad)
        ));
    }
    let embedded: Vec<&Vec<f32>> = chunks.iter().filter_map(|c| c.embedding.as_ref()).collect();
    if !embedded.is_empty() {
        if embedded.len() < chunks.len() {
            problems.push(format!(
                "{} of {} chunks have no embedding",
                chunks.len() - embedded.len(),
                chunks.len()
            ));
        }
        let dims: BTreeSet<usize> = embedded.iter().map(|e| e.len()).collect();
        if dims.contains(&0) {
            problems.push("an embedding is empty".to_owned());
        }
        if dims.len() > 1 {
            let dims: Vec<String> = dims.iter().map(usize::to_string).collect();
            problems.push(format!("embedding dimensions differ: {}", dims.join(", ")));
        }
        let non_finite = embedded
            .iter()
            .filter(|e| e.iter().any(|x| !x.is_finite()))
            .count();
        if non_finite > 0 {
            problems.push(format!("{non_finite} embedding(s) hold NaN or infinity"));
        }
    }
    if problems.is_empty() {
        let dim = embedded
            .first()
            .map(|e| format!(", embeddings of dimension {}", e.len()))
            .unwrap_or_default();
        check(
            CHUNKS_OFFSETS,
            true,
            format!("{} chunks match the text{dim}", chunks.len()),
        )
    } else {
        check(CHUNKS_OFFSETS, false, problems.join("; "))
    }
}

pub(super) fn required_outputs(doc: &ResultDocument, req: &Requirements) -> Check {
    let mut present = Vec::new();
    let mut missing = Vec::new();
    if req.extract_tables {
        present.push(format!("tables ({})", doc.tables.len()));
    }
    if req.classify_content {
        match &doc.classification {
            Some(c) => present.push(format!("classification ({:?})", c.label)),
            None => missing.push("classification".to_owned()),
        }
    }
    if req.extract_entities {
        present.push(format!("entities ({})", doc.entities.len()));
    }
    if req.embeddings {
        let embedded = doc
            .chunks
            .iter()
            .filter(|c| c.embedding.as_ref().is_some_and(|e| !e.is_empty()))
            .count();
        if doc.text.trim().is_empty() {
            present.push("embeddings (no text to embed)".to_owned());
        } else if doc.chunks.is_empty() {
            missing.push("embeddings (no chunks)".to_owned());
        } else if embedded < doc.chunks.len() {
            missing.push(format!(
                "embeddings ({embedded} of {} chunks embedded)",
                doc.chunks.len()
            ));
        } else {
            present.push(format!("embeddings ({embedded} chunks)"));
        }
    }
    let mut detail = String::new();
    if !missing.is_empty() {
        let _ = write!(detail, "missing: {}", missing.join(", "));
    }
    if !present.is_empty() {
        if !detail.is_empty() {
            detail.push_str("; ");
        }
        let _ = write!(detail, "present: {}", present.join(", "));
    }
    check(REQUIRED_OUTPUTS, missing.is_empty(), detail)
}

pub(super) fn no_errors(doc: &ResultDocument) -> Check {
    if doc.errors.is_empty() {
        return check(NO_ERRORS, true, "no stage failed");
    }
    let errors: Vec<String> = doc
        .errors
        .iter()
        .map(|e| match e.agent {
            Some(agent) => format!("{} ({agent}, {}): {}", e.stage, e.kind, e.message),
            None => format!("{} ({}): {}", e.stage, e.kind, e.message),
        })
        .collect();
    check(
        NO_ERRORS,
        false,
        format!("{} error(s): {}", errors.len(), listing(&errors)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use daa_shared::model::{Chunk, Entity, ErrorReport, FailureKind, Page, Stage, Table};

    #[test]
    fn whitespace_is_counted_as_char_is_whitespace_does() {
        // Vertical tab and form feed are whitespace; so are NBSP and the ideographic
        // space in non-ASCII text.
        assert_eq!(non_ws("a\u{b}b\u{c}c \t\r\nd"), 4);
        assert_eq!(non_ws("é\u{a0}f\u{3000}g"), 3);
        assert_eq!(non_ws(""), 0);
        // Long ASCII runs between other characters count as the characters do.
        let mixed = "plain text, “quoted”\u{2028}more\u{85}x\u{a0} end\u{3000}é".repeat(50);
        let by_chars = mixed.chars().filter(|c| !c.is_whitespace()).count();
        assert_eq!(non_ws(&mixed), by_chars);
    }

    #[test]
    fn text_equal_without_whitespace_is_no_difference() {
        let pages = ["one\ntwo", "", "thrée"];
        assert_eq!(
            non_ws_difference(pages.iter().copied(), "one\ntwo\x0c\x0cthrée"),
            None
        );
        // Not joined by form feeds, yet equal without whitespace.
        assert_eq!(
            non_ws_difference(pages.iter().copied(), "one two\nthrée"),
            None
        );
        assert_eq!(
            non_ws_difference(pages.iter().copied(), "one two thrx"),
            Some(9)
        );
    }

    #[test]
    fn non_whitespace_differences_are_found_where_they_are() {
        let same = |a: &[&str], b: &str| non_ws_difference(a.iter().copied(), b);
        assert_eq!(same(&["ab c", "d"], "a b\ncd"), None);
        // Other Unicode whitespace only: the bytes differ, the characters do not.
        assert_eq!(same(&["x\u{a0}y", "z"], "xy z"), None);
        assert_eq!(same(&["abc", "d"], "abXd"), Some(2));
        assert_eq!(same(&["é", "f"], "é"), Some(1));
        assert_eq!(same(&[], "a"), Some(0));
    }

    #[test]
    fn char_text_slices_by_characters() {
        let t = CharText::new("héllo wörld");
        assert_eq!(t.len(), 11);
        assert_eq!(t.slice(6, 11), Some("wörld"));
        assert_eq!(t.slice(0, 2), Some("hé"));
        assert_eq!(t.slice(3, 12), None);
        assert_eq!(t.slice(4, 3), None);
        let a = CharText::new("ascii");
        assert_eq!(a.slice(1, 3), Some("sc"));
        assert_eq!(a.slice(5, 5), Some(""));
    }

    #[test]
    fn entity_byte_offsets_are_caught() {
        let doc = ResultDocument {
            text: "Café Bob".into(),
            entities: vec![Entity {
                kind: "PER".into(),
                text: "Bob".into(),
                // Byte offsets (6..9) instead of character offsets (5..8).
                start: 6,
                end: 9,
            }],
            ..ResultDocument::default()
        };
        let c = entities_offsets(&doc, &CharText::new(&doc.text));
        assert!(!c.passed);
        assert!(c.detail.contains("outside"), "{}", c.detail);
    }

    #[test]
    fn pages_with_gaps_or_other_text_fail() {
        let page = |number: u32, text: &str| Page {
            number,
            text: text.into(),
            ..Page::default()
        };
        let mut doc = ResultDocument {
            text: "one\n\ntwo".into(),
            pages: vec![page(1, "one"), page(2, "two")],
            ..ResultDocument::default()
        };
        assert!(pages_consistent(&doc).passed);
        doc.pages[1].number = 3;
        let c = pages_consistent(&doc);
        assert!(!c.passed && c.detail.contains("[1, 3]"), "{}", c.detail);
        doc.pages[1].number = 2;
        doc.text = "one two three".into();
        let c = pages_consistent(&doc);
        assert!(!c.passed && c.detail.contains("differs"), "{}", c.detail);
    }

    #[test]
    fn low_confidence_lists_pages() {
        let doc = ResultDocument {
            text: "a b".into(),
            pages: vec![
                Page {
                    number: 1,
                    text: "a".into(),
                    ocr: true,
                    confidence: Some(0.9),
                },
                Page {
                    number: 2,
                    text: "b".into(),
                    ocr: true,
                    confidence: Some(0.3),
                },
            ],
            ..ResultDocument::default()
        };
        let c = low_confidence_pages(&doc, &Limits::default());
        assert!(!c.passed);
        assert!(c.detail.contains("page 2 (0.30)"), "{}", c.detail);
        assert!(!c.detail.contains("page 1"), "{}", c.detail);
    }

    #[test]
    fn replacement_characters_are_counted() {
        let mut doc = ResultDocument {
            text: format!("{}\u{fffd}", "a".repeat(999)),
            ..ResultDocument::default()
        };
        let c = encoding_clean(&doc);
        assert!(!c.passed, "1 in 1000 is not below 0.1%");
        assert!(c.detail.starts_with("1 replacement"), "{}", c.detail);
        doc.text = format!("{}\u{fffd}", "a".repeat(1000));
        assert!(encoding_clean(&doc).passed);
    }

    #[test]
    fn embeddings_must_agree() {
        let chunk = |dim: usize| Chunk {
            text: "ab".into(),
            start: 0,
            end: 2,
            embedding: Some(vec![0.5; dim]),
        };
        let doc = ResultDocument {
            text: "ab".into(),
            chunks: vec![chunk(3), chunk(4)],
            ..ResultDocument::default()
        };
        let c = chunks_offsets(&doc, &CharText::new(&doc.text));
        assert!(
            !c.passed && c.detail.contains("dimensions differ: 3, 4"),
            "{}",
            c.detail
        );
    }

    #[test]
    fn text_density_uses_the_limit() {
        let doc = ResultDocument {
            text: "abc".into(),
            pages: vec![
                Page {
                    number: 1,
                    text: "abc".into(),
                    ..Page::default()
                },
                Page {
                    number: 2,
                    ..Page::default()
                },
            ],
            ..ResultDocument::default()
        };
        assert!(text_present(&doc, &Limits::default()).passed);
        let strict = Limits {
            min_text_chars_per_page: 2,
            ..Limits::default()
        };
        let c = text_present(&doc, &strict);
        assert!(!c.passed, "3 characters over 2 pages is under 2 per page");
        assert!(
            c.detail.contains("pages under 2 character(s): 2"),
            "{}",
            c.detail
        );
    }

    #[test]
    fn tables_only_documents_have_text() {
        let doc = ResultDocument {
            tables: vec![Table {
                rows: vec![vec!["a".into(), "b".into()]],
                ..Table::default()
            }],
            ..ResultDocument::default()
        };
        assert!(text_present(&doc, &Limits::default()).passed);
        assert!(!text_present(&ResultDocument::default(), &Limits::default()).passed);
    }

    #[test]
    fn errors_are_listed() {
        let doc = ResultDocument {
            errors: vec![ErrorReport {
                stage: Stage::Analysis,
                agent: Some(daa_shared::model::AgentKind::Neural),
                kind: FailureKind::Timeout,
                message: "too slow".into(),
            }],
            ..ResultDocument::default()
        };
        let c = no_errors(&doc);
        assert!(!c.passed);
        assert_eq!(c.detail, "1 error(s): analysis (neural, timeout): too slow");
    }
}
