//! The fast BERT encoder.
//!
//! What makes it fast compared with a straightforward candle `BertModel` (measured on the
//! benchmark's mixed set, see `daa bench embed`):
//!
//! - **No padding.** The tokens of every sequence of a batch are packed into one
//!   `[Σ len, hidden]` matrix. The projections (fused Q·K·V, attention output, FFN in and
//!   out) are one large GEMM each over the whole batch, so batching only ever adds rows;
//!   attention runs per sequence (and per group of heads) on strided views of the fused
//!   QKV matrix, with no mask and no wasted work on pad tokens.
//! - **Fused element-wise work.** Bias add + exact-erf GELU, bias add + residual +
//!   LayerNorm and the attention softmax are single-pass in-place kernels (candle
//!   `InplaceOp`s over [`super::kernels`]), vectorised with AVX-512/AVX2 at run time,
//!   instead of chains of candle ops that each allocate a tensor and call scalar `erff` /
//!   `expf`. The attention scale 1/√d is folded into the query weights at load time.
//! - **AVX-512 GEMM.** candle's matmul is the `gemm` crate; this crate turns on its
//!   `x86-v4` feature, which candle leaves off, so the AVX-512 micro-kernels are used when
//!   the CPU has them (AVX2+FMA otherwise). Weights are stored pre-transposed
//!   (`[in, out]`, row-major) so the GEMM reads them with unit stride.
//! - **One thread pool.** Everything runs inside the caller's rayon pool: GEMMs split
//!   across its threads, attention spreads (sequence × head-group) tasks over it.

use candle_core::{IndexOp, Tensor};
use candle_nn::VarBuilder;
use rayon::prelude::*;

use super::kernels::{self, EmbeddingTables, Norm};
use super::ops::{with_data, BiasAdd, BiasGelu, BiasResidualNorm, Softmax};
use super::{check_sequences, tensor2, BertConfig, Packed};
use crate::error::Result;

struct Layer {
    /// `[hidden, 3·hidden]`: query (pre-scaled by 1/√d), key, value.
    qkv_w: Tensor,
    qkv_b: Vec<f32>,
    /// `[hidden, hidden]`.
    o_w: Tensor,
    o_b: Vec<f32>,
    ln1: Norm,
    /// `[hidden, intermediate]`.
    i_w: Tensor,
    i_b: Vec<f32>,
    /// `[intermediate, hidden]`.
    out_w: Tensor,
    out_b: Vec<f32>,
    ln2: Norm,
}

/// A BERT encoder with a packed, fused forward pass.
pub(crate) struct FastBert {
    cfg: BertConfig,
    emb: EmbeddingTables,
    layers: Vec<Layer>,
}

fn vec1(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}

fn norm(vb: &VarBuilder<'_>, n: usize, eps: f64) -> Result<Norm> {
    Ok(Norm {
        gamma: vec1(&vb.get(n, "weight")?)?,
        beta: vec1(&vb.get(n, "bias")?)?,
        eps: eps as f32,
    })
}

/// A linear layer's weight as `[in, out]` row-major, and its bias.
fn linear(vb: &VarBuilder<'_>, inp: usize, out: usize, scale: f64) -> Result<(Tensor, Vec<f32>)> {
    let w = vb.get((out, inp), "weight")?;
    let b = vb.get(out, "bias")?;
    let (w, b) = if scale != 1.0 {
        ((w * scale)?, (b * scale)?)
    } else {
        (w, b)
    };
    Ok((w, vec1(&b)?))
}

impl FastBert {
    /// Load from a `VarBuilder` at the BERT prefix.
    pub(crate) fn load(vb: &VarBuilder<'_>, cfg: &BertConfig) -> Result<Self> {
        let h = cfg.hidden_size;
        let eps = cfg.layer_norm_eps;
        let e = vb.pp("embeddings");
        let word = vec1(&e.get((cfg.vocab_size, h), "word_embeddings.weight")?)?;
        let position = vec1(&e.get(
            (cfg.max_position_embeddings, h),
            "position_embeddings.weight",
        )?)?;
        let token_type0 = vec1(
            &e.get((cfg.type_vocab_size, h), "token_type_embeddings.weight")?
                .i(0)?,
        )?;
        let emb = EmbeddingTables {
            word,
            position,
            token_type0,
            norm: norm(&e.pp("LayerNorm"), h, eps)?,
            hidden: h,
        };
        let scale = 1.0 / (cfg.head_dim() as f64).sqrt();
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let (q_w, q_b) = linear(&l.pp("attention.self.query"), h, h, scale)?;
            let (k_w, k_b) = linear(&l.pp("attention.self.key"), h, h, 1.0)?;
            let (v_w, v_b) = linear(&l.pp("attention.self.value"), h, h, 1.0)?;
            let qkv_w = Tensor::cat(&[&q_w, &k_w, &v_w], 0)?.t()?.contiguous()?;
            let qkv_b = [q_b, k_b, v_b].concat();
            let (o_w, o_b) = linear(&l.pp("attention.output.dense"), h, h, 1.0)?;
            let (i_w, i_b) = linear(&l.pp("intermediate.dense"), h, cfg.intermediate_size, 1.0)?;
            let (out_w, out_b) = linear(&l.pp("output.dense"), cfg.intermediate_size, h, 1.0)?;
            layers.push(Layer {
                qkv_w,
                qkv_b,
                o_w: o_w.t()?.contiguous()?,
                o_b,
                ln1: norm(&l.pp("attention.output.LayerNorm"), h, eps)?,
                i_w: i_w.t()?.contiguous()?,
                i_b,
                out_w: out_w.t()?.contiguous()?,
                out_b,
                ln2: norm(&l.pp("output.LayerNorm"), h, eps)?,
            });
        }
        Ok(Self {
            cfg: cfg.clone(),
            emb,
            layers,
        })
    }

    /// Hidden states of the last layer for each sequence (ids include special tokens).
    pub(crate) fn forward(&self, seqs: &[&[u32]]) -> Result<Packed> {
        check_sequences(seqs, &self.cfg)?;
        let h = self.cfg.hidden_size;
        let mut spans = Vec::with_capacity(seqs.len());
        let mut total = 0;
        for s in seqs {
            spans.push((total, s.len()));
            total += s.len();
        }
        let mut x = vec![0.0f32; total * h];
        {
            let mut parts = Vec::with_capacity(seqs.len());
            let mut rest = &mut x[..];
            for s in seqs {
                let (a, b) = rest.split_at_mut(s.len() * h);
                parts.push(a);
                rest = b;
            }
            parts
                .into_par_iter()
                .zip(seqs.par_iter())
                .for_each(|(out, ids)| kernels::embed_sequence(&self.emb, ids, out));
        }
        let mut xt = tensor2(x, total, h)?;
        for layer in &self.layers {
            xt = self.layer(layer, &xt, &spans)?;
        }
        let data = with_data(&xt, <[f32]>::to_vec)?;
        Ok(Packed {
            data,
            hidden: h,
            spans,
        })
    }

    fn layer(&self, l: &Layer, x: &Tensor, spans: &[(usize, usize)]) -> Result<Tensor> {
        let qkv = x.matmul(&l.qkv_w)?;
        qkv.inplace_op1(&BiasAdd(&l.qkv_b))?;
        let ctx = self.attention(&qkv, spans)?;
        let a = ctx.matmul(&l.o_w)?;
        a.inplace_op2(
            x,
            &BiasResidualNorm {
                bias: &l.o_b,
                norm: &l.ln1,
            },
        )?;
        let inter = a.matmul(&l.i_w)?;
        inter.inplace_op1(&BiasGelu(&l.i_b))?;
        let out = inter.matmul(&l.out_w)?;
        out.inplace_op2(
            &a,
            &BiasResidualNorm {
                bias: &l.out_b,
                norm: &l.ln2,
            },
        )?;
        Ok(out)
    }

    /// Multi-head self-attention over each sequence of the packed `[T, 3H]` QKV matrix
    /// (bias added, query pre-scaled); returns the `[T, H]` context.
    fn attention(&self, qkv: &Tensor, spans: &[(usize, usize)]) -> Result<Tensor> {
        let h = self.cfg.hidden_size;
        let nh = self.cfg.num_attention_heads;
        let hd = self.cfg.head_dim();
        let total: usize = spans.iter().map(|s| s.1).sum();
        // Enough independent tasks to keep every thread busy even with one sequence.
        let threads = rayon::current_num_threads();
        let groups = if threads <= 1 {
            1
        } else {
            (2 * threads).div_ceil(spans.len().max(1)).clamp(1, nh)
        };
        let per = nh.div_ceil(groups);
        let tasks: Vec<(usize, usize, usize, usize)> = spans
            .iter()
            .flat_map(|&(s, l)| {
                (0..nh)
                    .step_by(per)
                    .map(move |h0| (s, l, h0, per.min(nh - h0)))
            })
            .collect();
        let outs: Vec<Result<Tensor>> = tasks
            .par_iter()
            .map(|&(s, l, h0, c)| attend(qkv, s, l, h0, c, nh, hd))
            .collect();
        let mut ctx = vec![0.0f32; total * h];
        for (&(s, l, h0, c), out) in tasks.iter().zip(outs) {
            with_data(&out?, |o| {
                for j in 0..c {
                    for i in 0..l {
                        let src = &o[(j * l + i) * hd..(j * l + i + 1) * hd];
                        let at = (s + i) * h + (h0 + j) * hd;
                        ctx[at..at + hd].copy_from_slice(src);
                    }
                }
            })?;
        }
        tensor2(ctx, total, h)
    }
}

/// Attention of heads `h0..h0+c` over the `l` rows of one sequence starting at row `s`:
/// `softmax(Q·Kᵀ)·V` as `[c, l, head_dim]`.
fn attend(
    qkv: &Tensor,
    s: usize,
    l: usize,
    h0: usize,
    c: usize,
    nh: usize,
    hd: usize,
) -> Result<Tensor> {
    let x = qkv.narrow(0, s, l)?.reshape((l, 3, nh, hd))?;
    let q = x.i((.., 0, h0..h0 + c))?.transpose(0, 1)?;
    let k = x.i((.., 1, h0..h0 + c))?.permute((1, 2, 0))?;
    let v = x.i((.., 2, h0..h0 + c))?.transpose(0, 1)?;
    let scores = q.matmul(&k)?;
    scores.inplace_op1(&Softmax(l))?;
    Ok(scores.matmul(&v)?)
}
