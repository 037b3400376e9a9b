//! `daa bench embed`: sentence-embedding throughput of the neural agent's model
//! (all-MiniLM-L6-v2) on a mixed set of short sentences and long passages (> 256 tokens,
//! truncated like sentence-transformers does), for 1 and N inference threads and batch
//! sizes 1, 8 and 32: sentences/s and tokens/s (tokenization included), with ONNX
//! Runtime's figures on the same model and machine class (FIELD-NOTES) beside them, and
//! the process's peak RSS.

use std::path::PathBuf;

use anyhow::Context;
use daa_neural::bench_support::{self, anchor, BenchRow, GOAL_SENTENCES_PER_S};
use daa_neural::{Embedder, EmbedderOptions, Engine, NeuralConfig};

/// Arguments of `daa bench embed`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Model directory (default: `[agents.neural] model_dir`, else `$DAA_MODEL_DIR`, else
    /// ~/.cache/daa/models/all-MiniLM-L6-v2, as scripts/fetch-model.sh lays it out).
    #[arg(long)]
    model_dir: Option<PathBuf>,
    /// N, the thread count measured besides 1 (default: one per available core).
    #[arg(long)]
    threads: Option<usize>,
    /// Batch sizes to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    batch_sizes: Vec<usize>,
    /// Timed runs over the whole set per configuration (after one warm-up run).
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Forward-pass implementation: `fast` (default) or `candle` (candle-transformers'
    /// BertModel).
    #[arg(long)]
    engine: Option<String>,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

pub(crate) async fn run(cfg: &daa_shared::config::Config, args: Args) -> anyhow::Result<i32> {
    let ncfg: NeuralConfig = cfg
        .agent("neural")
        .context("reading [agents.neural] from the configuration")?;
    let engine = match args.engine.as_deref() {
        None => ncfg.engine,
        Some("fast") => Engine::Fast,
        Some("candle") => Engine::Candle,
        Some(other) => anyhow::bail!("unknown engine {other:?} (fast or candle)"),
    };
    let dir = args
        .model_dir
        .clone()
        .unwrap_or_else(|| ncfg.resolved_model_dir());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = args.threads.unwrap_or(cores).max(1);
    let mut thread_counts = vec![1];
    if n > 1 {
        thread_counts.push(n);
    }
    let batch_sizes: Vec<usize> = args.batch_sizes.iter().map(|&b| b.max(1)).collect();
    let repeat = args.repeat.max(1);
    tokio::task::spawn_blocking(move || -> anyhow::Result<i32> {
        let rss_before = bench_support::rss_bytes();
        let opts = EmbedderOptions {
            engine,
            threads: 1,
            max_seq_length: ncfg.max_seq_length,
            max_batch_tokens: ncfg.max_batch_tokens,
            ..EmbedderOptions::new(&dir)
        };
        let mut embedder = Embedder::load(&opts)
            .with_context(|| format!("loading the embedding model from {}", dir.display()))?;
        let rss_loaded = bench_support::rss_bytes();
        let set = bench_support::mixed_set();
        let info = bench_support::set_info(&embedder, &set)?;
        println!(
            "model: {} (engine {engine:?}, kernels {}, {} dimensions, max_seq_length {})",
            dir.display(),
            bench_support::simd_level(),
            embedder.dim(),
            embedder.max_seq_length()
        );
        println!(
            "set: {} sentences, {} of them longer than {} tokens (truncated); {} tokens per \
             pass after truncation; {repeat} timed passes per row, tokenization included",
            info.sentences,
            info.long,
            embedder.max_seq_length(),
            info.tokens
        );
        println!();
        println!(
            "{:>7} {:>6} {:>12} {:>10} {:>22} {:>7}",
            "threads", "batch", "sentences/s", "tokens/s", "ONNX Runtime (notes)", "ratio"
        );
        let mut rows: Vec<BenchRow> = Vec::new();
        for &threads in &thread_counts {
            for &bs in &batch_sizes {
                let row = bench_support::measure(&mut embedder, &set, threads, bs, repeat)?;
                let (anchor_txt, ratio_txt) = match anchor(bs) {
                    Some(a) => (
                        format!("~{a:.0} sentences/s"),
                        format!("{:.2}x", row.sentences_per_s() / a),
                    ),
                    None => ("-".to_string(), "-".to_string()),
                };
                println!(
                    "{:>7} {:>6} {:>12.1} {:>10.0} {:>22} {:>7}",
                    row.threads,
                    bs,
                    row.sentences_per_s(),
                    row.tokens_per_s(),
                    anchor_txt,
                    ratio_txt
                );
                rows.push(row);
            }
        }
        println!();
        if let Some(peak) = bench_support::peak_rss_bytes() {
            print!("peak RSS: {:.0} MiB (VmHWM)", mib(peak));
            if let (Some(before), Some(loaded)) = (rss_before, rss_loaded) {
                print!(
                    "; RSS {:.0} MiB before loading, {:.0} MiB with the model loaded",
                    mib(before),
                    mib(loaded)
                );
            }
            println!();
        }
        let small: Vec<&BenchRow> = rows
            .iter()
            .filter(|r| r.threads == n && r.batch_size <= 8)
            .collect();
        if let Some(worst) = small
            .iter()
            .map(|r| r.sentences_per_s())
            .min_by(|a, b| a.total_cmp(b))
        {
            println!(
                "anchor: ONNX Runtime 1.32, same weights, 2-core machine (FIELD-NOTES): ~111 \
                 sentences/s at batch 1, ~97 at batch 8, ~27 at batch 32 (padded); goal: \
                 >= {GOAL_SENTENCES_PER_S:.0} sentences/s at small batches; measured at {n} \
                 threads, batch <= 8: {worst:.1} ({})",
                if worst >= GOAL_SENTENCES_PER_S {
                    "met"
                } else {
                    "NOT met"
                }
            );
        }
        Ok(0)
    })
    .await
    .context("the benchmark thread panicked")?
}
