//! The final QA stage: completeness and consistency checks over the synthesized result
//! document, and a weighted score.
//!
//! A check is only added when it applies (no `classification_scores` without a
//! classification, no `pages_consistent` without pages...). The score is the weight of
//! the passed checks over the weight of all the checks added, in `0..=1`; `1.0` when
//! every check passes.
//!
//! | check | applies when | passes when | weight |
//! |---|---|---|---|
//! | `text_present` | `extract_text` asked | at least [`Limits::min_text_chars_per_page`] non-whitespace characters per page (pages counted as at least 1) in `text`, else in the pages, else in the table cells | 3 |
//! | `required_outputs` | `extract_tables`, `classify_content`, `extract_entities` or `embeddings` asked | every asked-for output is there (see below) | 3 |
//! | `no_errors` | always | `errors` is empty | 2 |
//! | `pages_consistent` | pages present | numbered 1..n in order, and their joined text equals `text` modulo whitespace | 2 |
//! | `entities_offsets` | entities present | every `[start, end)` (characters) is inside `text` and slices to the entity's text | 2 |
//! | `chunks_offsets` | chunks present | same for chunks; embeddings all present or all absent, non-empty, finite, of one dimension | 2 |
//! | `classification_scores` | classification present | scores finite, summing to 1 ± 1e-3; `label` is the argmax; `score` is the label's score | 1 |
//! | `tables_rectangular` | tables present | every row of a table has the same number of cells | 1 |
//! | `encoding_clean` | `text` non-empty | U+FFFD makes up less than 0.1% of the characters | 1 |
//! | `low_confidence_pages` | OCR pages present | no OCR page's confidence is below [`Limits::low_confidence`] | 1 |
//!
//! What `required_outputs` demands:
//! - `extract_tables`: nothing beyond the field: a document may have no tables;
//! - `classify_content`: a classification;
//! - `extract_entities`: nothing beyond the field: a text may hold no entity (a failed
//!   analysis stage shows in `no_errors` instead);
//! - `embeddings`: when the text is not blank, chunks, every one with an embedding.
//!
//! `extract_text` is `text_present`'s business, not `required_outputs`'.

mod checks;

use daa_shared::model::{Check, Quality, Requirements, ResultDocument};

use crate::Limits;

/// Name of the check that text was extracted.
pub const TEXT_PRESENT: &str = "text_present";
/// Name of the check that pages are numbered 1..n and agree with the text.
pub const PAGES_CONSISTENT: &str = "pages_consistent";
/// Name of the check that OCR confidence is acceptable.
pub const LOW_CONFIDENCE_PAGES: &str = "low_confidence_pages";
/// Name of the check that tables are rectangular.
pub const TABLES_RECTANGULAR: &str = "tables_rectangular";
/// Name of the check that the text has (almost) no replacement characters.
pub const ENCODING_CLEAN: &str = "encoding_clean";
/// Name of the check that classification scores are a distribution with the label on top.
pub const CLASSIFICATION_SCORES: &str = "classification_scores";
/// Name of the check that entity offsets match the text.
pub const ENTITIES_OFFSETS: &str = "entities_offsets";
/// Name of the check that chunk offsets match the text and embeddings agree.
pub const CHUNKS_OFFSETS: &str = "chunks_offsets";
/// Name of the check that every asked-for output is there.
pub const REQUIRED_OUTPUTS: &str = "required_outputs";
/// Name of the check that no stage failed.
pub const NO_ERRORS: &str = "no_errors";

/// Weight of a check in the score (see the module documentation); 1 for unknown names.
pub fn weight(check: &str) -> f32 {
    match check {
        TEXT_PRESENT | REQUIRED_OUTPUTS => 3.0,
        NO_ERRORS | PAGES_CONSISTENT | ENTITIES_OFFSETS | CHUNKS_OFFSETS => 2.0,
        _ => 1.0,
    }
}

/// Weighted share of passed checks, in `0..=1` (`1.0` without checks).
pub fn score(checks: &[Check]) -> f32 {
    let total: f32 = checks.iter().map(|c| weight(&c.name)).sum();
    if total <= 0.0 {
        return 1.0;
    }
    let passed: f32 = checks
        .iter()
        .filter(|c| c.passed)
        .map(|c| weight(&c.name))
        .sum();
    (passed / total).clamp(0.0, 1.0)
}

/// Run every applicable check on `document`, produced for `requirements`.
pub fn assess(document: &ResultDocument, requirements: &Requirements, limits: &Limits) -> Quality {
    // The character index of the text (megabytes for a large document) is built only
    // when a check reads spans of it.
    let text = (!document.entities.is_empty() || !document.chunks.is_empty())
        .then(|| checks::CharText::new(&document.text));
    let mut list = Vec::new();
    if requirements.extract_text {
        list.push(checks::text_present(document, limits));
    }
    if !document.pages.is_empty() {
        list.push(checks::pages_consistent(document));
    }
    if document.pages.iter().any(|p| p.ocr) {
        list.push(checks::low_confidence_pages(document, limits));
    }
    if !document.tables.is_empty() {
        list.push(checks::tables_rectangular(document));
    }
    if !document.text.is_empty() {
        list.push(checks::encoding_clean(document));
    }
    if let Some(classification) = &document.classification {
        list.push(checks::classification_scores(classification));
    }
    if let Some(text) = &text {
        if !document.entities.is_empty() {
            list.push(checks::entities_offsets(document, text));
        }
        if !document.chunks.is_empty() {
            list.push(checks::chunks_offsets(document, text));
        }
    }
    if requirements.extract_tables
        || requirements.classify_content
        || requirements.extract_entities
        || requirements.embeddings
    {
        list.push(checks::required_outputs(document, requirements));
    }
    list.push(checks::no_errors(document));
    Quality {
        score: score(&list),
        checks: list,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, passed: bool) -> Check {
        Check {
            name: name.into(),
            passed,
            detail: String::new(),
        }
    }

    #[test]
    fn score_is_weighted() {
        assert_eq!(score(&[]), 1.0);
        let all = [check(TEXT_PRESENT, true), check(NO_ERRORS, true)];
        assert_eq!(score(&all), 1.0);
        let some = [
            check(TEXT_PRESENT, true),
            check(NO_ERRORS, false),
            check(ENCODING_CLEAN, false),
        ];
        assert!((score(&some) - 0.5).abs() < 1e-6);
        assert_eq!(score(&[check(NO_ERRORS, false)]), 0.0);
    }

    #[test]
    fn minimal_document_gets_text_and_error_checks() {
        let doc = ResultDocument {
            text: "hello".into(),
            ..ResultDocument::default()
        };
        let q = assess(&doc, &Requirements::default(), &Limits::default());
        let names: Vec<&str> = q.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [TEXT_PRESENT, ENCODING_CLEAN, REQUIRED_OUTPUTS, NO_ERRORS]
        );
        assert_eq!(q.score, 1.0);
    }
}
