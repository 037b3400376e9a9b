//! Fused element-wise kernels of the fast encoder: bias + exact GELU, bias + residual +
//! LayerNorm, row softmax, embedding sum + LayerNorm.
//!
//! Each kernel is written as plain, branch-free scalar Rust over fixed-width chunks and
//! run through [`pulp::Arch::dispatch`], which compiles the body once per instruction set
//! (AVX-512, AVX2+FMA, scalar) and picks the best one the CPU has at run time: LLVM
//! vectorises the loops for the chosen target features, without any `unsafe` here and
//! without `-C target-cpu`. `exp` and `erf` are vectorisable polynomial approximations
//! (Cephes `expf`, Eigen's rational `erf`) accurate to a few ulp in f32; see the tests.

use std::sync::OnceLock;

use pulp::{Arch, Simd, WithSimd};

/// Lanes the accumulators are split into so that float reductions vectorise.
const LANES: usize = 16;

fn arch() -> Arch {
    static ARCH: OnceLock<Arch> = OnceLock::new();
    *ARCH.get_or_init(Arch::new)
}

/// The instruction set the kernels run with ("avx512", "avx2" or "scalar").
pub(crate) fn simd_level() -> &'static str {
    struct Level;
    impl WithSimd for Level {
        type Output = usize;
        #[inline(always)]
        fn with_simd<S: Simd>(self, _simd: S) -> usize {
            core::mem::size_of::<S::f32s>()
        }
    }
    match arch().dispatch(Level) {
        64 => "avx512",
        32 => "avx2",
        _ => "scalar",
    }
}

/// `erf(x)` for f32: Eigen's rational approximation on [-4, 4] (outside, erf is ±1 in
/// f32). Absolute error below 1e-6 everywhere (checked against f64 in the tests).
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p + -2.101_024e-6;
    p = x2 * p + -5.692_506_4e-5;
    p = x2 * p + -7.349_906_3e-4;
    p = x2 * p + -2.954_6e-3;
    p = x2 * p + -1.609_603_3e-2;
    p *= x;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = x2 * q + -1.682_827e-3;
    q = x2 * q + -7.373_329e-3;
    q = x2 * q + -1.426_473_9e-2;
    p / q
}

/// The exact (erf) GELU: `x/2 · (1 + erf(x/√2))`.
#[inline(always)]
pub(crate) fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// `exp(x)` for `x <= 0` (softmax after subtracting the row maximum): Cephes' `expf`
/// polynomial after range reduction by powers of two; relative error ~1e-7. Inputs below
/// -87 give ~1e-38 instead of a denormal or zero, which no softmax can tell apart.
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f32) -> f32 {
    let x = x.clamp(-87.0, 0.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    let bits = ((n as i32 + 127) as u32) << 23;
    e * f32::from_bits(bits)
}

#[inline(always)]
fn sum(xs: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for i in 0..LANES {
            acc[i] += c[i];
        }
    }
    let mut s: f32 = chunks.remainder().iter().sum();
    for a in acc {
        s += a;
    }
    s
}

#[inline(always)]
fn sum_sq_dev(xs: &[f32], mean: f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for i in 0..LANES {
            let d = c[i] - mean;
            acc[i] += d * d;
        }
    }
    let mut s: f32 = chunks
        .remainder()
        .iter()
        .map(|x| (x - mean) * (x - mean))
        .sum();
    for a in acc {
        s += a;
    }
    s
}

#[inline(always)]
fn max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for i in 0..LANES {
            acc[i] = if c[i] > acc[i] { c[i] } else { acc[i] };
        }
    }
    let mut m = f32::NEG_INFINITY;
    for &x in chunks.remainder().iter().chain(acc.iter()) {
        m = if x > m { x } else { m };
    }
    m
}

/// Normalise `row` in place: `(x - mean) / sqrt(var + eps) * gamma + beta`.
#[inline(always)]
fn layer_norm_row(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let n = row.len() as f32;
    let mean = sum(row) / n;
    let var = sum_sq_dev(row, mean) / n;
    let inv = 1.0 / (var + eps).sqrt();
    for ((x, &g), &b) in row.iter_mut().zip(gamma).zip(beta) {
        *x = (*x - mean) * inv * g + b;
    }
}

struct BiasAdd<'a> {
    x: &'a mut [f32],
    bias: &'a [f32],
}

impl WithSimd for BiasAdd<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let n = self.bias.len();
        for row in self.x.chunks_exact_mut(n) {
            for (x, &b) in row.iter_mut().zip(self.bias) {
                *x += b;
            }
        }
    }
}

/// `x += bias`, row by row (`bias.len()` columns).
pub(crate) fn bias_add(x: &mut [f32], bias: &[f32]) {
    arch().dispatch(BiasAdd { x, bias });
}

struct BiasGelu<'a> {
    x: &'a mut [f32],
    bias: &'a [f32],
}

impl WithSimd for BiasGelu<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let n = self.bias.len();
        for row in self.x.chunks_exact_mut(n) {
            for (x, &b) in row.iter_mut().zip(self.bias) {
                *x = gelu(*x + b);
            }
        }
    }
}

/// `x = gelu(x + bias)`, row by row (`bias.len()` columns).
pub(crate) fn bias_gelu(x: &mut [f32], bias: &[f32]) {
    arch().dispatch(BiasGelu { x, bias });
}

/// Parameters of one LayerNorm.
#[derive(Debug, Clone)]
pub(crate) struct Norm {
    /// Scale (`weight`).
    pub(crate) gamma: Vec<f32>,
    /// Shift (`bias`).
    pub(crate) beta: Vec<f32>,
    /// Epsilon added to the variance.
    pub(crate) eps: f32,
}

struct BiasResidualNorm<'a> {
    x: &'a mut [f32],
    bias: &'a [f32],
    residual: &'a [f32],
    norm: &'a Norm,
}

impl WithSimd for BiasResidualNorm<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let n = self.bias.len();
        for (x, r) in self
            .x
            .chunks_exact_mut(n)
            .zip(self.residual.chunks_exact(n))
        {
            for ((x, &r), &b) in x.iter_mut().zip(r).zip(self.bias) {
                *x += b + r;
            }
            layer_norm_row(x, &self.norm.gamma, &self.norm.beta, self.norm.eps);
        }
    }
}

/// `x = LayerNorm(x + bias + residual)`, row by row.
pub(crate) fn bias_residual_layer_norm(x: &mut [f32], bias: &[f32], residual: &[f32], norm: &Norm) {
    debug_assert_eq!(residual.len(), x.len());
    arch().dispatch(BiasResidualNorm {
        x,
        bias,
        residual,
        norm,
    });
}

struct SoftmaxRows<'a> {
    x: &'a mut [f32],
    cols: usize,
}

impl WithSimd for SoftmaxRows<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        for row in self.x.chunks_exact_mut(self.cols) {
            let m = max(row);
            for x in row.iter_mut() {
                *x = exp_nonpositive(*x - m);
            }
            let inv = 1.0 / sum(row);
            for x in row.iter_mut() {
                *x *= inv;
            }
        }
    }
}

/// Softmax of each row of `x` (`cols` columns), in place.
pub(crate) fn softmax_rows(x: &mut [f32], cols: usize) {
    arch().dispatch(SoftmaxRows { x, cols });
}

/// Embedding tables of a BERT model, row-major.
#[derive(Debug, Clone)]
pub(crate) struct EmbeddingTables {
    /// `[vocab, hidden]`.
    pub(crate) word: Vec<f32>,
    /// `[max_positions, hidden]`.
    pub(crate) position: Vec<f32>,
    /// Token type 0's row, `[hidden]`.
    pub(crate) token_type0: Vec<f32>,
    /// The LayerNorm after the sum.
    pub(crate) norm: Norm,
    /// Hidden size.
    pub(crate) hidden: usize,
}

struct Embed<'a> {
    tables: &'a EmbeddingTables,
    ids: &'a [u32],
    out: &'a mut [f32],
}

impl WithSimd for Embed<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let t = self.tables;
        let h = t.hidden;
        for (pos, (o, &id)) in self.out.chunks_exact_mut(h).zip(self.ids).enumerate() {
            let id = id as usize;
            let w = &t.word[id * h..(id + 1) * h];
            let p = &t.position[pos * h..(pos + 1) * h];
            for (((o, &w), &p), &ty) in o.iter_mut().zip(w).zip(p).zip(&t.token_type0) {
                *o = w + p + ty;
            }
            layer_norm_row(o, &t.norm.gamma, &t.norm.beta, t.norm.eps);
        }
    }
}

/// `out[i] = LayerNorm(word[ids[i]] + position[i] + token_type[0])` for one sequence.
/// The ids must be in the vocabulary and the sequence no longer than the position table
/// (the caller checks).
pub(crate) fn embed_sequence(tables: &EmbeddingTables, ids: &[u32], out: &mut [f32]) {
    debug_assert_eq!(out.len(), ids.len() * tables.hidden);
    arch().dispatch(Embed { tables, ids, out });
}

/// Mean of the rows of `x` (`cols` columns), L2-normalised as sentence-transformers'
/// `Normalize` does (`x / max(‖x‖, 1e-12)`).
pub(crate) fn mean_pool_normalize(x: &[f32], cols: usize) -> Vec<f32> {
    let mut out = vec![0.0f64; cols];
    let rows = x.len() / cols.max(1);
    for row in x.chunks_exact(cols) {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += f64::from(v);
        }
    }
    let n = rows.max(1) as f64;
    let norm = out.iter().map(|v| (v / n) * (v / n)).sum::<f64>().sqrt();
    let denom = norm.max(1e-12);
    out.iter().map(|v| (v / n / denom) as f32).collect()
}

/// L2-normalise in place (`x / max(‖x‖, 1e-12)`).
pub(crate) fn normalize(x: &mut [f32]) {
    let norm = x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
    let denom = norm.max(1e-12) as f32;
    for v in x.iter_mut() {
        *v /= denom;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_f64_within_1e6() {
        let mut worst = 0.0f64;
        let mut x = -6.0f64;
        while x <= 6.0 {
            let got = f64::from(erf(x as f32));
            let want = libm::erf(f64::from(x as f32));
            worst = worst.max((got - want).abs());
            x += 1e-3;
        }
        assert!(worst < 1e-6, "worst abs error {worst}");
    }

    #[test]
    fn gelu_is_exact_erf_gelu_not_tanh() {
        for &x in &[-3.0f32, -1.0, -0.5, 0.0, 0.3, 1.0, 2.5, 5.0] {
            let want = 0.5 * f64::from(x) * (1.0 + libm::erf(f64::from(x) / 2f64.sqrt()));
            assert!((f64::from(gelu(x)) - want).abs() < 2e-6, "x={x}");
        }
        // The tanh approximation differs by ~1e-4 around x = 1.5: make sure we are not it.
        let x = 1.5f32;
        let tanh = 0.5
            * x
            * (1.0 + ((2.0 / std::f32::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh());
        assert!((gelu(x) - tanh).abs() > 1e-5);
    }

    #[test]
    fn exp_matches_std_relative_1e6() {
        let mut x = -100.0f32;
        while x <= 0.0 {
            let got = exp_nonpositive(x);
            let want = x.max(-87.0).exp();
            assert!(
                ((got - want) / want).abs() < 1e-6,
                "x={x} got={got} want={want}"
            );
            x += 0.0137;
        }
        assert_eq!(exp_nonpositive(0.0), 1.0);
    }

    #[test]
    fn softmax_rows_sum_to_one() {
        let cols = 37;
        let x: Vec<f32> = (0..cols * 3)
            .map(|i| ((i * 7919) % 13) as f32 - 6.0)
            .collect();
        let mut out = x.clone();
        softmax_rows(&mut out, cols);
        for (row, xr) in out.chunks(cols).zip(x.chunks(cols)) {
            let s: f32 = row.iter().sum();
            assert!((s - 1.0).abs() < 1e-5);
            let m = xr.iter().cloned().fold(f32::MIN, f32::max);
            let denom: f64 = xr.iter().map(|v| f64::from(v - m).exp()).sum();
            for (o, v) in row.iter().zip(xr) {
                let want = f64::from(v - m).exp() / denom;
                assert!((f64::from(*o) - want).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn layer_norm_matches_definition() {
        let n = 50;
        let x: Vec<f32> = (0..n * 2).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
        let bias: Vec<f32> = (0..n).map(|i| i as f32 * 0.01).collect();
        let res: Vec<f32> = (0..n * 2).map(|i| (i as f32 * 0.11).cos()).collect();
        let norm = Norm {
            gamma: (0..n).map(|i| 1.0 + i as f32 * 0.02).collect(),
            beta: (0..n).map(|i| -(i as f32) * 0.03).collect(),
            eps: 1e-12,
        };
        let mut out = x.clone();
        bias_residual_layer_norm(&mut out, &bias, &res, &norm);
        for r in 0..2 {
            let v: Vec<f64> = (0..n)
                .map(|i| f64::from(x[r * n + i] + bias[i] + res[r * n + i]))
                .collect();
            let mean = v.iter().sum::<f64>() / n as f64;
            let var = v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n as f64;
            for i in 0..n {
                let want = (v[i] - mean) / (var + 1e-12).sqrt() * f64::from(norm.gamma[i])
                    + f64::from(norm.beta[i]);
                assert!((f64::from(out[r * n + i]) - want).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn simd_level_is_known() {
        assert!(["avx512", "avx2", "scalar"].contains(&simd_level()));
    }
}
