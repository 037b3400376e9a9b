//! Sentence embeddings: tokenizer + BERT encoder + mean pooling + L2 normalisation, as
//! sentence-transformers defines them for all-MiniLM-L6-v2, with length-grouped batches
//! on a dedicated thread pool.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::model::{self, BertConfig, Encoder, Engine};
use crate::tokenize::{TextTokenizer, Tokens};

/// How to load an [`Embedder`].
#[derive(Debug, Clone)]
pub struct EmbedderOptions {
    /// Directory with `model.safetensors`, `config.json`, `tokenizer.json` and
    /// (optionally) `sentence_bert_config.json`.
    pub model_dir: PathBuf,
    /// Forward-pass implementation.
    pub engine: Engine,
    /// Inference threads (0: one per available core).
    pub threads: usize,
    /// Most sequences per forward pass.
    pub batch_size: usize,
    /// Most tokens per forward pass (bounds memory with long sequences).
    pub max_batch_tokens: usize,
    /// Tokens per sequence, special tokens included; `None`: `max_seq_length` from
    /// `sentence_bert_config.json` (256 for all-MiniLM-L6-v2).
    pub max_seq_length: Option<usize>,
}

impl EmbedderOptions {
    /// Defaults for a model directory.
    pub fn new(model_dir: impl Into<PathBuf>) -> Self {
        Self {
            model_dir: model_dir.into(),
            engine: Engine::Fast,
            threads: 0,
            batch_size: 32,
            max_batch_tokens: 16_384,
            max_seq_length: None,
        }
    }
}

#[derive(Debug, Deserialize)]
struct SentenceBertConfig {
    max_seq_length: usize,
}

/// Counters of the work done.
#[derive(Debug, Default)]
struct Counters {
    sequences: AtomicU64,
    tokens: AtomicU64,
    batches: AtomicU64,
    busy_ns: AtomicU64,
}

/// Totals since the embedder was loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EmbedStats {
    /// Sequences embedded.
    pub sequences: u64,
    /// Tokens run through the encoder (special tokens included).
    pub tokens: u64,
    /// Forward passes.
    pub batches: u64,
    /// Seconds spent in forward passes.
    pub busy_seconds: f64,
}

/// A loaded sentence-embedding model. Load it once per process and share it.
pub struct Embedder {
    tokenizer: TextTokenizer,
    encoder: Encoder,
    cfg: BertConfig,
    max_seq_length: usize,
    batch_size: usize,
    max_batch_tokens: usize,
    pool: rayon::ThreadPool,
    counters: Counters,
    engine: Engine,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("engine", &self.engine)
            .field("dim", &self.cfg.hidden_size)
            .field("max_seq_length", &self.max_seq_length)
            .field("threads", &self.pool.current_num_threads())
            .finish_non_exhaustive()
    }
}

/// candle sizes the split of every matmul from `RAYON_NUM_THREADS`; when the variable
/// is not set it re-reads `/proc/cpuinfo` (via `num_cpus::get_physical`) on every
/// matmul, which cost 5-10% of the inference time in profiles. Set it once, to the
/// number of cores, unless the operator did. (The split only divides the work: the
/// threads that run it are those of the embedder's own pool.)
fn pin_candle_thread_count() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("RAYON_NUM_THREADS").is_none() {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            std::env::set_var("RAYON_NUM_THREADS", cores.to_string());
        }
    });
}

pub(crate) fn thread_pool(threads: usize, name: &str) -> Result<rayon::ThreadPool> {
    let n = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    let name = name.to_string();
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(move |i| format!("{name}-{i}"))
        .build()
        .map_err(|e| Error::Model(format!("cannot start {n} inference threads: {e}")))
}

/// Check that the model files are there; the error names the missing one and the fix.
pub(crate) fn check_model_dir(dir: &Path) -> Result<()> {
    for f in ["model.safetensors", "config.json", "tokenizer.json"] {
        let p = dir.join(f);
        if !p.is_file() {
            return Err(Error::MissingFile {
                path: p,
                fetch_hint: true,
            });
        }
    }
    Ok(())
}

impl Embedder {
    /// Load the model, its tokenizer and its sentence-transformers settings.
    pub fn load(opts: &EmbedderOptions) -> Result<Self> {
        let dir = &opts.model_dir;
        check_model_dir(dir)?;
        pin_candle_thread_count();
        let (cfg, raw) = BertConfig::load(&dir.join("config.json"))?;
        let st_path = dir.join("sentence_bert_config.json");
        let st_max = if st_path.is_file() {
            let st: SentenceBertConfig = serde_json::from_str(&model::read_to_string(&st_path)?)
                .map_err(|e| Error::Model(format!("{}: {e}", st_path.display())))?;
            Some(st.max_seq_length)
        } else {
            None
        };
        let max_seq_length = opts
            .max_seq_length
            .or(st_max)
            .unwrap_or(cfg.max_position_embeddings)
            .min(cfg.max_position_embeddings);
        if max_seq_length < 3 {
            return Err(Error::Model(format!(
                "max_seq_length {max_seq_length} leaves no room for text"
            )));
        }
        let tokenizer = TextTokenizer::load(&dir.join("tokenizer.json"))?;
        let vb = model::load_weights(&dir.join("model.safetensors"))?;
        let encoder = Encoder::load(&vb, &cfg, &raw, opts.engine)?;
        drop(vb);
        Ok(Self {
            tokenizer,
            encoder,
            cfg,
            max_seq_length,
            batch_size: opts.batch_size.max(1),
            max_batch_tokens: opts.max_batch_tokens.max(max_seq_length),
            pool: thread_pool(opts.threads, "daa-neural")?,
            counters: Counters::default(),
            engine: opts.engine,
        })
    }

    /// Embedding dimension (384 for all-MiniLM-L6-v2).
    pub fn dim(&self) -> usize {
        self.cfg.hidden_size
    }

    /// Tokens per sequence, special tokens included.
    pub fn max_seq_length(&self) -> usize {
        self.max_seq_length
    }

    /// Inference threads.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// The forward-pass implementation in use.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Most sequences per forward pass.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Run inference on `threads` threads from now on (0: one per core).
    pub fn set_threads(&mut self, threads: usize) -> Result<()> {
        self.pool = thread_pool(threads, "daa-neural")?;
        Ok(())
    }

    /// Put at most `batch_size` sequences in one forward pass from now on.
    pub fn set_batch_size(&mut self, batch_size: usize) {
        self.batch_size = batch_size.max(1);
    }

    /// Work done so far.
    pub fn stats(&self) -> EmbedStats {
        let c = &self.counters;
        EmbedStats {
            sequences: c.sequences.load(Ordering::Relaxed),
            tokens: c.tokens.load(Ordering::Relaxed),
            batches: c.batches.load(Ordering::Relaxed),
            busy_seconds: c.busy_ns.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }

    /// Sentence embeddings of `texts` (unit vectors), each truncated to
    /// `max_seq_length` tokens like sentence-transformers does.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let seqs = texts
            .iter()
            .map(|t| self.sentence_ids(t))
            .collect::<Result<Vec<_>>>()?;
        self.embed_sequences(&seqs)
    }

    /// Token ids of a sentence as the model sees it: `[CLS]`, the first
    /// `max_seq_length - 2` tokens, `[SEP]`.
    pub fn sentence_ids(&self, text: &str) -> Result<Vec<u32>> {
        let t = self.tokenizer.encode(text)?;
        let n = t.ids.len().min(self.max_content_tokens());
        Ok(self.tokenizer.wrap(&t.ids[..n]))
    }

    /// Tokens that fit in one sequence besides `[CLS]` and `[SEP]`.
    pub(crate) fn max_content_tokens(&self) -> usize {
        self.max_seq_length - 2
    }

    /// Tokenize a whole document (no truncation, no special tokens). The text is fed to
    /// the tokenizer in pieces of about 32 KiB cut at whitespace (BERT splits words at
    /// whitespace anyway, so the tokens are the same), which bounds its memory.
    pub(crate) fn tokenize(&self, text: &str) -> Result<Tokens> {
        tokenize_long(&self.tokenizer, text)
    }

    /// Run `f` on the inference thread pool.
    pub(crate) fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }

    /// Embeddings of token windows (content ids without special tokens; each at most
    /// `max_seq_length - 2` long).
    pub(crate) fn embed_windows(&self, windows: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let seqs: Vec<Vec<u32>> = windows
            .iter()
            .map(|w| {
                self.tokenizer
                    .wrap(&w[..w.len().min(self.max_content_tokens())])
            })
            .collect();
        self.embed_sequences(&seqs)
    }

    /// Embeddings of complete sequences (special tokens included), batched by length.
    pub fn embed_sequences(&self, seqs: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); seqs.len()];
        for batch in self.batches(seqs) {
            let refs: Vec<&[u32]> = batch.iter().map(|&i| seqs[i].as_slice()).collect();
            let packed = self.forward(&refs)?;
            for (&i, v) in batch.iter().zip(packed.pooled()) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// Run the encoder on the pool, counting the work.
    pub(crate) fn forward(&self, seqs: &[&[u32]]) -> Result<model::Packed> {
        model::check_sequences(seqs, &self.cfg)?;
        let t0 = Instant::now();
        let packed = self.pool.install(|| self.encoder.forward(seqs))?;
        let c = &self.counters;
        c.sequences.fetch_add(seqs.len() as u64, Ordering::Relaxed);
        let tokens: usize = seqs.iter().map(|s| s.len()).sum();
        c.tokens.fetch_add(tokens as u64, Ordering::Relaxed);
        c.batches.fetch_add(1, Ordering::Relaxed);
        c.busy_ns
            .fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Ok(packed)
    }

    /// Indices of `seqs` grouped into batches of similar length (sorted by length, at
    /// most `batch_size` sequences and `max_batch_tokens` tokens per batch).
    fn batches(&self, seqs: &[Vec<u32>]) -> Vec<Vec<usize>> {
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        order.sort_by_key(|&i| seqs[i].len());
        let mut out = Vec::new();
        let mut cur: Vec<usize> = Vec::new();
        let mut tokens = 0;
        for i in order {
            let n = seqs[i].len();
            let longest = cur.last().map_or(0, |&j| seqs[j].len()).max(n);
            // The candle engine pads every sequence to the longest one.
            let cost = match self.engine {
                Engine::Fast => tokens + n,
                Engine::Candle => longest * (cur.len() + 1),
            };
            if !cur.is_empty() && (cur.len() >= self.batch_size || cost > self.max_batch_tokens) {
                out.push(std::mem::take(&mut cur));
                tokens = 0;
            }
            cur.push(i);
            tokens += n;
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out
    }
}

/// Tokenize `text` in whitespace-delimited pieces of about 32 KiB (see
/// [`Embedder::tokenize`]).
pub(crate) fn tokenize_long(tokenizer: &TextTokenizer, text: &str) -> Result<Tokens> {
    const PIECE: usize = 32 * 1024;
    let mut out = Tokens::default();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + PIECE).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        if end < text.len() {
            end = text[end..]
                .find(char::is_whitespace)
                .map_or(text.len(), |i| end + i);
        }
        let piece = tokenizer.encode(&text[start..end])?;
        out.ids.extend_from_slice(&piece.ids);
        out.offsets
            .extend(piece.offsets.iter().map(|&(a, b)| (a + start, b + start)));
        out.word_start.extend_from_slice(&piece.word_start);
        start = end;
    }
    Ok(out)
}
