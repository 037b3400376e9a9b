//! Optional model-based entities: a BERT token-classification checkpoint
//! (`BertForTokenClassification`: `config.json` with `id2label`, `model.safetensors` with
//! the `bert.` encoder and a `classifier` head, `tokenizer.json`). Tokens are classified
//! in windows of whole words; each word takes its first sub-word's label (BIO, BIOES or
//! bare tags) and consecutive words of one type merge into an entity whose score is the
//! mean probability of its words.

use std::path::Path;

use crate::chunk::windows;
use crate::embed::tokenize_long;
use crate::error::{Error, Result};
use crate::model::{self, BertConfig, Encoder, Engine};
use crate::tokenize::{TextTokenizer, Tokens};

/// A model-found span (byte offsets).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ModelSpan {
    /// PER, ORG, LOC, MISC or the model's own type name.
    pub(crate) kind: String,
    /// First byte.
    pub(crate) start: usize,
    /// Byte after the last.
    pub(crate) end: usize,
    /// Mean probability of the entity's words.
    pub(crate) score: f32,
}

/// A loaded token-classification model.
pub struct NerModel {
    tokenizer: TextTokenizer,
    encoder: Encoder,
    /// `[labels, hidden]`.
    head_w: Vec<f32>,
    head_b: Vec<f32>,
    labels: Vec<String>,
    hidden: usize,
    max_tokens: usize,
}

impl std::fmt::Debug for NerModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NerModel")
            .field("labels", &self.labels)
            .field("hidden", &self.hidden)
            .finish_non_exhaustive()
    }
}

impl NerModel {
    /// Load the model in `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let (cfg, raw) = BertConfig::load(&dir.join("config.json"))?;
        let id2label = cfg.id2label.clone().ok_or_else(|| {
            Error::Model(format!(
                "{}: a token-classification model needs id2label",
                dir.join("config.json").display()
            ))
        })?;
        let n = id2label.len();
        let mut labels = vec![String::new(); n];
        for (k, v) in id2label {
            let i: usize = k
                .parse()
                .ok()
                .filter(|&i| i < n)
                .ok_or_else(|| Error::Model(format!("id2label: bad id {k:?}")))?;
            labels[i] = v;
        }
        let tokenizer = TextTokenizer::load(&dir.join("tokenizer.json"))?;
        let vb = model::load_weights(&dir.join("model.safetensors"))?;
        let encoder = Encoder::load(&vb, &cfg, &raw, Engine::Fast)?;
        let h = cfg.hidden_size;
        let head_w = vb
            .get((n, h), "classifier.weight")
            .and_then(|t| t.flatten_all()?.to_vec1::<f32>())
            .map_err(|e| Error::Model(format!("classifier head: {e}")))?;
        let head_b = vb
            .get(n, "classifier.bias")
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| Error::Model(format!("classifier head: {e}")))?;
        Ok(Self {
            tokenizer,
            encoder,
            head_w,
            head_b,
            labels,
            hidden: h,
            max_tokens: cfg.max_position_embeddings.min(512),
        })
    }

    /// The model's labels, by id.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Entities in `text` scoring at least `min_score`. Runs on the current rayon pool.
    pub(crate) fn recognise(&self, text: &str, min_score: f32) -> Result<Vec<ModelSpan>> {
        let tokens = tokenize_long(&self.tokenizer, text)?;
        if tokens.len() == 0 {
            return Ok(Vec::new());
        }
        let wins = windows(&tokens, self.max_tokens - 2, 0);
        let mut tags: Vec<(usize, f32)> = Vec::with_capacity(tokens.len());
        for group in wins.chunks(16) {
            let seqs: Vec<Vec<u32>> = group
                .iter()
                .map(|w| self.tokenizer.wrap(&tokens.ids[w.clone()]))
                .collect();
            let refs: Vec<&[u32]> = seqs.iter().map(Vec::as_slice).collect();
            let packed = self.encoder.forward(&refs)?;
            for (i, w) in group.iter().enumerate() {
                let rows = packed.rows(i);
                // Skip [CLS] and [SEP].
                for row in rows.chunks_exact(self.hidden).skip(1).take(w.len()) {
                    tags.push(self.classify(row));
                }
            }
        }
        Ok(decode(&tags, &tokens, &self.labels, min_score))
    }

    /// Best label and its probability for one token's hidden state.
    fn classify(&self, h: &[f32]) -> (usize, f32) {
        let logits: Vec<f32> = self
            .head_w
            .chunks_exact(self.hidden)
            .zip(&self.head_b)
            .map(|(w, b)| b + w.iter().zip(h).map(|(a, c)| a * c).sum::<f32>())
            .collect();
        let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = logits.iter().map(|l| (l - m).exp()).collect();
        let sum: f32 = exps.iter().sum();
        let mut best = 0;
        for (i, e) in exps.iter().enumerate() {
            if *e > exps[best] {
                best = i;
            }
        }
        (best, exps[best] / sum)
    }
}

/// `B-PER` → (Some('B'), "PER"); `O` → (None, ""); bare `PER` → (None, "PER").
fn split_tag(tag: &str) -> (Option<char>, &str) {
    if tag == "O" || tag.is_empty() {
        return (None, "");
    }
    match tag.split_once(['-', '_']) {
        Some((p, kind)) if p.len() == 1 && "BIES".contains(p) => (p.chars().next(), kind),
        _ => (None, tag),
    }
}

/// The common names of entity types.
pub(crate) fn normalize_kind(kind: &str) -> String {
    match kind.to_ascii_uppercase().as_str() {
        "PER" | "PERSON" => "PER".into(),
        "ORG" | "ORGANIZATION" | "ORGANISATION" => "ORG".into(),
        "LOC" | "LOCATION" | "GPE" => "LOC".into(),
        "MISC" | "MISCELLANEOUS" => "MISC".into(),
        other => other.to_string(),
    }
}

/// Merge per-token tags (label id, probability) into entities over words.
pub(crate) fn decode(
    tags: &[(usize, f32)],
    tokens: &Tokens,
    labels: &[String],
    min_score: f32,
) -> Vec<ModelSpan> {
    struct Open {
        kind: String,
        start: usize,
        end: usize,
        scores: Vec<f32>,
    }
    let mut out = Vec::new();
    let mut cur: Option<Open> = None;
    let close = |cur: &mut Option<Open>, out: &mut Vec<ModelSpan>| {
        if let Some(o) = cur.take() {
            let score = o.scores.iter().sum::<f32>() / o.scores.len().max(1) as f32;
            if score >= min_score {
                out.push(ModelSpan {
                    kind: normalize_kind(&o.kind),
                    start: o.start,
                    end: o.end,
                    score,
                });
            }
        }
    };
    let n = tags.len().min(tokens.len());
    let mut i = 0;
    while i < n {
        // The word is tokens i..j; its tag is its first token's.
        let mut j = i + 1;
        while j < n && !tokens.word_start[j] {
            j += 1;
        }
        let (start, end) = (tokens.offsets[i].0, tokens.offsets[j - 1].1);
        let (label, p) = tags[i];
        let tag = labels.get(label).map_or("O", String::as_str);
        let (prefix, kind) = split_tag(tag);
        if kind.is_empty() {
            close(&mut cur, &mut out);
        } else {
            let continues = matches!(prefix, None | Some('I') | Some('E'))
                && cur.as_ref().is_some_and(|c| c.kind == kind);
            if continues {
                if let Some(c) = cur.as_mut() {
                    c.end = end;
                    c.scores.push(p);
                }
            } else {
                close(&mut cur, &mut out);
                cur = Some(Open {
                    kind: kind.to_string(),
                    start,
                    end,
                    scores: vec![p],
                });
            }
            if matches!(prefix, Some('E') | Some('S')) {
                close(&mut cur, &mut out);
            }
        }
        i = j;
    }
    close(&mut cur, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(ws: &[&str]) -> Tokens {
        let mut t = Tokens::default();
        let mut pos = 0;
        for w in ws {
            t.ids.push(0);
            t.offsets.push((pos, pos + w.len()));
            t.word_start.push(!w.starts_with("##"));
            pos += w.len() + 1;
        }
        t
    }

    #[test]
    fn bio_tags_merge_into_entities() {
        let labels: Vec<String> = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let t = words(&[
            "john", "smith", "works", "at", "acme", "corp", "in", "paris",
        ]);
        let tags = [
            (1, 0.9),
            (2, 0.8),
            (0, 1.0),
            (0, 1.0),
            (3, 0.7),
            (4, 0.9),
            (0, 1.0),
            (5, 0.6),
        ];
        let e = decode(&tags, &t, &labels, 0.5);
        let kinds: Vec<&str> = e.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(kinds, ["PER", "ORG", "LOC"]);
        assert_eq!((e[0].start, e[0].end), (0, 10));
        assert!((e[0].score - 0.85).abs() < 1e-6);
        let low = decode(&tags, &t, &labels, 0.65);
        assert_eq!(low.len(), 2, "LOC at 0.6 is dropped");
    }

    #[test]
    fn subwords_follow_their_word_and_b_splits() {
        let labels: Vec<String> = ["O", "B-PER", "I-PER"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let t = words(&["jo", "##hn", "mary"]);
        // The continuation's own tag is ignored; B starts a new entity.
        let e = decode(&[(1, 0.9), (0, 0.9), (1, 0.9)], &t, &labels, 0.0);
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].start, e[0].end), (0, 7));
        // Bare and I- tags continue an entity of the same type.
        let bare: Vec<String> = ["O", "PER"].iter().map(|s| s.to_string()).collect();
        let e = decode(&[(1, 0.9), (1, 0.9), (1, 0.9)], &t, &bare, 0.0);
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn kinds_are_normalised() {
        assert_eq!(normalize_kind("person"), "PER");
        assert_eq!(normalize_kind("GPE"), "LOC");
        assert_eq!(normalize_kind("DATE"), "DATE");
        assert_eq!(split_tag("S-ORG"), (Some('S'), "ORG"));
        assert_eq!(split_tag("O"), (None, ""));
    }
}
