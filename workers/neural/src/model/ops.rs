//! The fused kernels as candle in-place custom ops, parallel over rows on the current
//! rayon pool, plus read access to a tensor's data.

use candle_core::{CpuStorage, InplaceOp1, InplaceOp2, Layout, Storage, Tensor};
use rayon::prelude::*;

use super::kernels::{self, Norm};
use crate::error::{Error, Result};

/// Below this many elements a kernel runs on the calling thread.
const PAR_MIN_ELEMS: usize = 1 << 15;

fn contiguous<'a>(layout: &Layout, data: &'a mut [f32]) -> candle_core::Result<&'a mut [f32]> {
    match layout.contiguous_offsets() {
        Some((a, b)) => Ok(&mut data[a..b]),
        None => candle_core::bail!("fused op on a non-contiguous tensor"),
    }
}

fn f32_mut(storage: &mut CpuStorage) -> candle_core::Result<&mut Vec<f32>> {
    match storage {
        CpuStorage::F32(v) => Ok(v),
        _ => candle_core::bail!("fused op on a non-f32 tensor"),
    }
}

fn f32_ref<'a>(storage: &'a CpuStorage, layout: &Layout) -> candle_core::Result<&'a [f32]> {
    let data = storage.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => candle_core::bail!("fused op on a non-contiguous tensor"),
    }
}

/// Run `f(first_row, rows)` over chunks of whole rows, in parallel when it pays.
fn par_rows(x: &mut [f32], cols: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    let threads = rayon::current_num_threads();
    if threads <= 1 || x.len() < PAR_MIN_ELEMS || cols == 0 {
        f(0, x);
        return;
    }
    let rows = x.len() / cols;
    let per = rows.div_ceil(threads * 2).max(1);
    x.par_chunks_mut(per * cols)
        .enumerate()
        .for_each(|(i, chunk)| f(i * per, chunk));
}

/// `x += bias` (row-wise).
pub(crate) struct BiasAdd<'a>(pub(crate) &'a [f32]);

impl InplaceOp1 for BiasAdd<'_> {
    fn name(&self) -> &'static str {
        "daa-bias-add"
    }
    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let x = contiguous(layout, f32_mut(storage)?)?;
        par_rows(x, self.0.len(), |_, rows| kernels::bias_add(rows, self.0));
        Ok(())
    }
}

/// `x = gelu(x + bias)` (exact erf GELU, row-wise).
pub(crate) struct BiasGelu<'a>(pub(crate) &'a [f32]);

impl InplaceOp1 for BiasGelu<'_> {
    fn name(&self) -> &'static str {
        "daa-bias-gelu"
    }
    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let x = contiguous(layout, f32_mut(storage)?)?;
        par_rows(x, self.0.len(), |_, rows| kernels::bias_gelu(rows, self.0));
        Ok(())
    }
}

/// `x = LayerNorm(x + bias + residual)`; the residual is the op's second tensor.
pub(crate) struct BiasResidualNorm<'a> {
    pub(crate) bias: &'a [f32],
    pub(crate) norm: &'a Norm,
}

impl InplaceOp2 for BiasResidualNorm<'_> {
    fn name(&self) -> &'static str {
        "daa-bias-residual-layer-norm"
    }
    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<()> {
        let residual = f32_ref(s2, l2)?;
        let x = contiguous(l1, f32_mut(s1)?)?;
        if residual.len() != x.len() {
            candle_core::bail!("residual has {} values, not {}", residual.len(), x.len());
        }
        let cols = self.bias.len();
        par_rows(x, cols, |first, rows| {
            let r = &residual[first * cols..first * cols + rows.len()];
            kernels::bias_residual_layer_norm(rows, self.bias, r, self.norm);
        });
        Ok(())
    }
}

/// Softmax over the last dimension (`cols`), in place.
pub(crate) struct Softmax(pub(crate) usize);

impl InplaceOp1 for Softmax {
    fn name(&self) -> &'static str {
        "daa-softmax"
    }
    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let x = contiguous(layout, f32_mut(storage)?)?;
        // Called per attention task, already spread over the pool: no nested split.
        kernels::softmax_rows(x, self.0);
        Ok(())
    }
}

/// Read a contiguous f32 CPU tensor's values.
pub(crate) fn with_data<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let (storage, layout) = t.storage_and_layout();
    let Storage::Cpu(cpu) = &*storage else {
        return Err(Error::Inference("tensor is not on the CPU".into()));
    };
    let data = f32_ref(cpu, layout)?;
    Ok(f(data))
}
