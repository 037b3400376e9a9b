//! candle-transformers' `BertModel` on padded batches: the plain candle implementation,
//! selectable with `engine = "candle"` and used by the tests as a second opinion.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};

use super::Packed;
use crate::error::{Error, Result};

/// candle-transformers' BERT.
pub(crate) struct CandleBert {
    model: BertModel,
    hidden: usize,
}

impl CandleBert {
    /// Load from a `VarBuilder` at the BERT prefix.
    pub(crate) fn load(vb: &VarBuilder<'_>, raw_cfg: &serde_json::Value) -> Result<Self> {
        let cfg: Config = serde_json::from_value(raw_cfg.clone())
            .map_err(|e| Error::Model(format!("config.json for candle-transformers: {e}")))?;
        let hidden = cfg.hidden_size;
        let model = BertModel::load(vb.clone(), &cfg)?;
        Ok(Self { model, hidden })
    }

    /// Hidden states of the last layer for each sequence, padded batch, attention mask.
    pub(crate) fn forward(&self, seqs: &[&[u32]]) -> Result<Packed> {
        let b = seqs.len();
        let l = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut spans = Vec::with_capacity(b);
        let mut total = 0;
        for s in seqs {
            spans.push((total, s.len()));
            total += s.len();
        }
        if b == 0 || l == 0 {
            return Ok(Packed {
                data: Vec::new(),
                hidden: self.hidden,
                spans,
            });
        }
        let mut ids = vec![0u32; b * l];
        let mut mask = vec![0u32; b * l];
        for (i, s) in seqs.iter().enumerate() {
            ids[i * l..i * l + s.len()].copy_from_slice(s);
            mask[i * l..i * l + s.len()].iter_mut().for_each(|m| *m = 1);
        }
        let ids = Tensor::from_vec(ids, (b, l), &Device::Cpu)?;
        let mask = Tensor::from_vec(mask, (b, l), &Device::Cpu)?;
        let types = ids.zeros_like()?;
        let out = self
            .model
            .forward(&ids, &types, Some(&mask))?
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let h = self.hidden;
        let mut data = Vec::with_capacity(total * h);
        for (i, s) in seqs.iter().enumerate() {
            data.extend_from_slice(&out[i * l * h..(i * l + s.len()) * h]);
        }
        Ok(Packed {
            data,
            hidden: h,
            spans,
        })
    }
}
