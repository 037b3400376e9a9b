//! What `daa bench embed` measures, kept here so that it is tested with the crate: the
//! mixed sentence set, timed runs per thread count and batch size, and peak RSS.

use std::time::{Duration, Instant};

use crate::embed::Embedder;
use crate::error::Result;

mod sentences;

/// ONNX Runtime 1.32 on the same weights and a set like [`mixed_set`], on this 2-core
/// machine class (FIELD-NOTES, "Embeddings"): sentences/s by batch size. At batch 32 it
/// pads long and short sentences together, hence the drop.
pub const ONNX_RUNTIME_ANCHOR: [(usize, f64); 3] = [(1, 111.0), (8, 97.0), (32, 27.0)];

/// The goal of the issue: at least ONNX Runtime's ~100 sentences/s at small batches.
pub const GOAL_SENTENCES_PER_S: f64 = 100.0;

/// The benchmark set: 35 short and medium sentences (8-35 tokens) and 7 long passages
/// (271-296 tokens, truncated to the model's 256).
pub fn mixed_set() -> Vec<&'static str> {
    sentences::mixed_set()
}

/// The anchor at a batch size, when FIELD-NOTES has one.
pub fn anchor(batch_size: usize) -> Option<f64> {
    ONNX_RUNTIME_ANCHOR
        .iter()
        .find(|(b, _)| *b == batch_size)
        .map(|(_, v)| *v)
}

/// Facts about the set as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetInfo {
    /// Sentences.
    pub sentences: usize,
    /// Sentences longer than `max_seq_length` tokens before truncation.
    pub long: usize,
    /// Tokens run through the model (after truncation, `[CLS]`/`[SEP]` included).
    pub tokens: usize,
}

/// Count the set's sentences, long ones and tokens.
pub fn set_info(embedder: &Embedder, set: &[&str]) -> Result<SetInfo> {
    let mut info = SetInfo {
        sentences: set.len(),
        long: 0,
        tokens: 0,
    };
    for s in set {
        let full = embedder.tokenize(s)?.len() + 2;
        if full > embedder.max_seq_length() {
            info.long += 1;
        }
        info.tokens += full.min(embedder.max_seq_length());
    }
    Ok(info)
}

/// One measured configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BenchRow {
    /// Inference threads.
    pub threads: usize,
    /// Sequences per forward pass.
    pub batch_size: usize,
    /// Sentences embedded over all timed runs.
    pub sentences: usize,
    /// Tokens run through the model over all timed runs.
    pub tokens: usize,
    /// Time of the timed runs.
    pub elapsed: Duration,
}

impl BenchRow {
    /// Sentences per second.
    pub fn sentences_per_s(&self) -> f64 {
        self.sentences as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Tokens per second.
    pub fn tokens_per_s(&self) -> f64 {
        self.tokens as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Embed `set` `repeat` times (after one untimed warm-up run) with `threads` threads and
/// batches of `batch_size`, tokenization included.
pub fn measure(
    embedder: &mut Embedder,
    set: &[&str],
    threads: usize,
    batch_size: usize,
    repeat: usize,
) -> Result<BenchRow> {
    embedder.set_threads(threads)?;
    embedder.set_batch_size(batch_size);
    let info = set_info(embedder, set)?;
    embedder.embed(set)?;
    let repeat = repeat.max(1);
    let t0 = Instant::now();
    for _ in 0..repeat {
        embedder.embed(set)?;
    }
    Ok(BenchRow {
        threads: embedder.threads(),
        batch_size,
        sentences: set.len() * repeat,
        tokens: info.tokens * repeat,
        elapsed: t0.elapsed(),
    })
}

fn status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Peak resident set size of this process in bytes (`VmHWM`), on Linux.
pub fn peak_rss_bytes() -> Option<u64> {
    status_kib("VmHWM:").map(|k| k * 1024)
}

/// Current resident set size of this process in bytes (`VmRSS`), on Linux.
pub fn rss_bytes() -> Option<u64> {
    status_kib("VmRSS:").map(|k| k * 1024)
}

/// The SIMD instruction set the fused kernels use (`avx512`, `avx2` or `scalar`).
pub fn simd_level() -> &'static str {
    crate::model::kernels::simd_level()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_is_mixed() {
        let set = mixed_set();
        assert_eq!(set.len(), 42);
        // Long passages: well over 256 word pieces (≥ 230 words each).
        let long = set
            .iter()
            .filter(|s| s.split_whitespace().count() >= 200)
            .count();
        assert_eq!(long, 7);
    }

    #[test]
    fn anchors_and_rss() {
        assert_eq!(anchor(8), Some(97.0));
        assert_eq!(anchor(3), None);
        if cfg!(target_os = "linux") {
            let rss = rss_bytes().unwrap();
            let peak = peak_rss_bytes().unwrap();
            assert!(peak >= rss && rss > 0);
        }
    }
}
