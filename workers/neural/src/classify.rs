//! Zero-shot classification: cosine similarity between a document's embedding (the
//! normalised mean of its chunk embeddings) and each label's descriptions (the best one
//! counts, so a label can cover several kinds of document), turned into scores that sum
//! to 1 by a softmax with a temperature.

use std::collections::BTreeMap;

use daa_shared::model::Classification;

use crate::config::LabelConfig;
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::model::kernels::normalize;

/// Label descriptions, embedded once when the agent starts.
#[derive(Debug, Clone)]
pub struct ZeroShot {
    labels: Vec<String>,
    /// Embeddings of each label's descriptions.
    prototypes: Vec<Vec<Vec<f32>>>,
    temperature: f32,
}

/// `Σ a·b` (cosine similarity for unit vectors).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The normalised mean of unit vectors; `None` when there are none.
pub fn mean_embedding<'a>(vectors: impl IntoIterator<Item = &'a [f32]>) -> Option<Vec<f32>> {
    let mut sum: Option<Vec<f32>> = None;
    for v in vectors {
        match &mut sum {
            None => sum = Some(v.to_vec()),
            Some(s) if s.len() == v.len() => s.iter_mut().zip(v).for_each(|(a, b)| *a += b),
            Some(_) => return None,
        }
    }
    let mut s = sum?;
    normalize(&mut s);
    Some(s)
}

impl ZeroShot {
    /// Embed the labels' descriptions (the name when a label has none).
    pub fn new(embedder: &Embedder, labels: &[LabelConfig], temperature: f32) -> Result<Self> {
        let mut prototypes = Vec::with_capacity(labels.len());
        for l in labels {
            let texts: Vec<&str> = if l.descriptions.is_empty() {
                vec![l.name.as_str()]
            } else {
                l.descriptions.iter().map(String::as_str).collect()
            };
            let embs = embedder.embed(&texts)?;
            if embs.is_empty() {
                return Err(Error::Model(format!("label {:?} has no embedding", l.name)));
            }
            prototypes.push(embs);
        }
        Ok(Self {
            labels: labels.iter().map(|l| l.name.clone()).collect(),
            prototypes,
            temperature,
        })
    }

    /// The label names, in configuration order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Similarity of a (unit) document embedding to each label: the best cosine
    /// similarity to one of the label's descriptions.
    pub fn similarities(&self, doc: &[f32]) -> Vec<f32> {
        self.prototypes
            .iter()
            .map(|descs| {
                descs
                    .iter()
                    .map(|p| dot(doc, p))
                    .fold(f32::NEG_INFINITY, f32::max)
            })
            .collect()
    }

    /// Scores for every label (softmax of similarity / temperature, summing to 1) and
    /// the best one. Ties go to the label listed first.
    pub fn classify(&self, doc: &[f32]) -> Classification {
        let sims = self.similarities(doc);
        let scores = softmax(&sims, self.temperature);
        let mut best = 0;
        for (i, s) in scores.iter().enumerate() {
            if *s > scores[best] {
                best = i;
            }
        }
        Classification {
            label: self.labels[best].clone(),
            score: scores[best],
            scores: self
                .labels
                .iter()
                .cloned()
                .zip(scores.iter().copied())
                .collect::<BTreeMap<_, _>>(),
        }
    }
}

/// `softmax(x / t)`, computed stably in f64.
pub(crate) fn softmax(x: &[f32], t: f32) -> Vec<f32> {
    let t = f64::from(t);
    let m = x.iter().map(|&v| f64::from(v) / t).fold(f64::MIN, f64::max);
    let e: Vec<f64> = x.iter().map(|&v| (f64::from(v) / t - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| (v / s) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let s = softmax(&[0.1, 0.5, 0.3], 0.05);
        assert!((s.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(s[1] > s[2] && s[2] > s[0]);
        let flat = softmax(&[0.2, 0.2], 0.05);
        assert!((flat[0] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn mean_embedding_is_unit_length() {
        let a = [1.0f32, 0.0];
        let b = [0.0f32, 1.0];
        let m = mean_embedding([&a[..], &b[..]]).unwrap();
        assert!((dot(&m, &m) - 1.0).abs() < 1e-6);
        assert!((m[0] - m[1]).abs() < 1e-6);
        assert!(mean_embedding(std::iter::empty()).is_none());
    }
}
