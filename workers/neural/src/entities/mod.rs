//! Entities: pattern recognisers (email, URL, phone, date, time, money, percentage, IBAN,
//! ISBN, payment card, IP address) with validators, plus, when configured, a BERT
//! token-classification model's PER/ORG/LOC/MISC. Offsets are character offsets into the
//! document text.

use std::collections::BTreeSet;

use daa_shared::model::Entity;

use crate::error::Result;
use crate::text::bytes_to_chars;

mod ner;
mod patterns;

pub use ner::NerModel;

/// Every kind the pattern recognisers report.
pub const PATTERN_KINDS: [&str; 11] = [
    "email",
    "url",
    "phone",
    "date",
    "time",
    "money",
    "percentage",
    "iban",
    "isbn",
    "credit_card",
    "ip_address",
];

/// Pattern recognisers and the optional model.
#[derive(Debug)]
pub struct EntityRecognizer {
    patterns: patterns::Patterns,
    kinds: Option<BTreeSet<String>>,
    ner: Option<NerModel>,
    ner_min_score: f32,
}

impl Default for EntityRecognizer {
    fn default() -> Self {
        Self::new(None, None, 0.5)
    }
}

impl EntityRecognizer {
    /// Recognisers for `kinds` (all pattern kinds when `None`) and an optional model
    /// whose entities below `ner_min_score` are dropped.
    pub fn new(kinds: Option<&[String]>, ner: Option<NerModel>, ner_min_score: f32) -> Self {
        Self {
            patterns: patterns::Patterns::new(),
            kinds: kinds.map(|k| k.iter().cloned().collect()),
            ner,
            ner_min_score,
        }
    }

    /// Whether a token-classification model is loaded.
    pub fn has_model(&self) -> bool {
        self.ner.is_some()
    }

    /// Entities of `text`, sorted by position, non-overlapping. Pattern entities win
    /// over model entities they overlap. The model (if any) runs on the current rayon
    /// pool.
    pub fn recognise(&self, text: &str) -> Result<Vec<Entity>> {
        let found: Vec<patterns::Found> = self
            .patterns
            .find_all(text)
            .into_iter()
            .filter(|f| self.kinds.as_ref().is_none_or(|k| k.contains(f.kind)))
            .collect();
        let found = patterns::resolve(found);
        let mut spans: Vec<(String, usize, usize)> = found
            .iter()
            .map(|f| (f.kind.to_string(), f.start, f.end))
            .collect();
        if let Some(ner) = &self.ner {
            for m in ner.recognise(text, self.ner_min_score)? {
                let overlaps = found.iter().any(|f| f.start < m.end && m.start < f.end);
                if !overlaps {
                    spans.push((m.kind, m.start, m.end));
                }
            }
            spans.sort_by_key(|s| (s.1, s.2));
        }
        let mut offsets: Vec<usize> = spans.iter().flat_map(|s| [s.1, s.2]).collect();
        bytes_to_chars(text, &mut offsets);
        Ok(spans
            .into_iter()
            .enumerate()
            .map(|(i, (kind, b0, b1))| Entity {
                kind,
                text: text.get(b0..b1).unwrap_or_default().to_string(),
                start: offsets[2 * i],
                end: offsets[2 * i + 1],
            })
            .collect())
    }
}
