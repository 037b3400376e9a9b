//! BERT encoders over packed sequences: the fast encoder (the default) and
//! candle-transformers' `BertModel` (the plain candle implementation, kept as an
//! alternative engine and as a cross-check in tests).

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use serde::Deserialize;

use crate::error::{Error, Result};

mod fast;
pub(crate) mod kernels;
mod ops;
mod reference;

pub(crate) use fast::FastBert;
pub(crate) use reference::CandleBert;

/// Which implementation of the BERT forward pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// Tokens of a batch packed without padding, one GEMM per projection over the whole
    /// batch (candle matmul), attention per sequence, fused bias/GELU/LayerNorm/softmax
    /// kernels. The default.
    #[default]
    Fast,
    /// candle-transformers' `BertModel` on padded batches.
    Candle,
}

/// The parts of a BERT `config.json` the encoders use.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BertConfig {
    pub(crate) vocab_size: usize,
    pub(crate) hidden_size: usize,
    pub(crate) num_hidden_layers: usize,
    pub(crate) num_attention_heads: usize,
    pub(crate) intermediate_size: usize,
    pub(crate) max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub(crate) type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub(crate) layer_norm_eps: f64,
    #[serde(default = "default_act")]
    pub(crate) hidden_act: String,
    #[serde(default)]
    pub(crate) position_embedding_type: Option<String>,
    /// Token-classification models: label of each output.
    #[serde(default)]
    pub(crate) id2label: Option<BTreeMap<String, String>>,
}

fn default_type_vocab() -> usize {
    2
}

fn default_eps() -> f64 {
    1e-12
}

fn default_act() -> String {
    "gelu".into()
}

impl BertConfig {
    /// Read and check `config.json`.
    pub(crate) fn load(path: &Path) -> Result<(Self, serde_json::Value)> {
        let text = read_to_string(path)?;
        let raw: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::Model(format!("{}: {e}", path.display())))?;
        let cfg: BertConfig = serde_json::from_value(raw.clone())
            .map_err(|e| Error::Model(format!("{}: {e}", path.display())))?;
        cfg.check()
            .map_err(|e| Error::Model(format!("{}: {e}", path.display())))?;
        Ok((cfg, raw))
    }

    fn check(&self) -> std::result::Result<(), String> {
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Err(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if self.hidden_act != "gelu" {
            return Err(format!(
                "hidden_act {:?} is not supported (only the exact \"gelu\")",
                self.hidden_act
            ));
        }
        match self.position_embedding_type.as_deref() {
            None | Some("absolute") => {}
            Some(other) => {
                return Err(format!(
                    "position_embedding_type {other:?} is not supported (only \"absolute\")"
                ))
            }
        }
        if self.type_vocab_size == 0 || self.vocab_size == 0 || self.max_position_embeddings == 0 {
            return Err(
                "vocab_size, type_vocab_size and max_position_embeddings must be > 0".into(),
            );
        }
        Ok(())
    }

    /// Size of one attention head.
    pub(crate) fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

pub(crate) fn read_to_string(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::MissingFile {
                path: path.to_path_buf(),
                fetch_hint: false,
            }
        } else {
            Error::Model(format!("cannot read {}: {e}", path.display()))
        }
    })
}

/// The weights of `model.safetensors`, read into memory (no mmap: the workspace forbids
/// `unsafe`), as a candle `VarBuilder` at the BERT prefix (`""` or `"bert."`).
pub(crate) fn load_weights(path: &Path) -> Result<VarBuilder<'static>> {
    let bytes = std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::MissingFile {
                path: path.to_path_buf(),
                fetch_hint: false,
            }
        } else {
            Error::Model(format!("cannot read {}: {e}", path.display()))
        }
    })?;
    VarBuilder::from_buffered_safetensors(bytes, DType::F32, &Device::Cpu)
        .map_err(|e| Error::Model(format!("{}: {e}", path.display())))
}

/// The BERT weights' prefix in a checkpoint: `""` for a bare `BertModel`, `"bert"` for
/// task models (`BertForTokenClassification` and the like).
pub(crate) fn bert_prefix(vb: &VarBuilder<'_>) -> Option<&'static str> {
    if vb.contains_tensor("embeddings.word_embeddings.weight") {
        Some("")
    } else if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
        Some("bert")
    } else {
        None
    }
}

/// Hidden states of a batch of sequences, packed row after row (`[Σ len, hidden]`).
#[derive(Debug, Clone)]
pub(crate) struct Packed {
    /// The rows.
    pub(crate) data: Vec<f32>,
    /// Hidden size (row length).
    pub(crate) hidden: usize,
    /// First row and row count of each sequence.
    pub(crate) spans: Vec<(usize, usize)>,
}

impl Packed {
    /// The rows of sequence `i`.
    pub(crate) fn rows(&self, i: usize) -> &[f32] {
        let (start, len) = self.spans[i];
        &self.data[start * self.hidden..(start + len) * self.hidden]
    }

    /// Mean-pooled, L2-normalised embedding of every sequence.
    pub(crate) fn pooled(&self) -> Vec<Vec<f32>> {
        (0..self.spans.len())
            .map(|i| kernels::mean_pool_normalize(self.rows(i), self.hidden))
            .collect()
    }
}

/// A loaded BERT encoder.
pub(crate) enum Encoder {
    /// [`Engine::Fast`].
    Fast(FastBert),
    /// [`Engine::Candle`].
    Candle(CandleBert),
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Encoder::Fast(_) => f.write_str("Encoder::Fast"),
            Encoder::Candle(_) => f.write_str("Encoder::Candle"),
        }
    }
}

impl Encoder {
    /// Load the BERT part of the checkpoint behind `vb`.
    pub(crate) fn load(
        vb: &VarBuilder<'static>,
        cfg: &BertConfig,
        raw_cfg: &serde_json::Value,
        engine: Engine,
    ) -> Result<Self> {
        let prefix = bert_prefix(vb).ok_or_else(|| {
            Error::Model(
                "model.safetensors has no BERT weights (embeddings.word_embeddings.weight)".into(),
            )
        })?;
        let bert = if prefix.is_empty() {
            vb.clone()
        } else {
            vb.pp(prefix)
        };
        Ok(match engine {
            Engine::Fast => Encoder::Fast(FastBert::load(&bert, cfg)?),
            Engine::Candle => Encoder::Candle(CandleBert::load(&bert, raw_cfg)?),
        })
    }

    /// Run the encoder over sequences of token ids (special tokens included). Every id
    /// must be below the vocabulary size and every sequence non-empty and no longer than
    /// the position table.
    pub(crate) fn forward(&self, seqs: &[&[u32]]) -> Result<Packed> {
        match self {
            Encoder::Fast(m) => m.forward(seqs),
            Encoder::Candle(m) => m.forward(seqs),
        }
    }
}

/// Check sequences against the model's limits before they reach a forward pass.
pub(crate) fn check_sequences(seqs: &[&[u32]], cfg: &BertConfig) -> Result<()> {
    for s in seqs {
        if s.is_empty() {
            return Err(Error::Input("empty token sequence".into()));
        }
        if s.len() > cfg.max_position_embeddings {
            return Err(Error::Input(format!(
                "sequence of {} tokens is longer than the model's {} positions",
                s.len(),
                cfg.max_position_embeddings
            )));
        }
        if let Some(&bad) = s.iter().find(|&&id| id as usize >= cfg.vocab_size) {
            return Err(Error::Input(format!(
                "token id {bad} is outside the vocabulary of {}",
                cfg.vocab_size
            )));
        }
    }
    Ok(())
}

/// A `[rows, cols]` f32 tensor from a vector (no copy).
pub(crate) fn tensor2(data: Vec<f32>, rows: usize, cols: usize) -> Result<Tensor> {
    Ok(Tensor::from_vec(data, (rows, cols), &Device::Cpu)?)
}
