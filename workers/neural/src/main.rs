//! `daa-neural-worker`: text processing (language, chunks, embeddings) and analysis
//! (zero-shot classification, entities) tasks from NATS.
//!
//! Settings: `[agents.neural]` (see `daa_neural::NeuralConfig`). The model is read from
//! `model_dir` (default `$DAA_MODEL_DIR`, else `~/.cache/daa/models/all-MiniLM-L6-v2`,
//! where `scripts/fetch-model.sh` puts it); the worker refuses to start without it.

/// mimalloc: see docs/decisions.md (allocation-heavy parsing is faster and freed memory
/// is reused rather than returned to the kernel and faulted in again by the next task).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(daa_worker::main(daa_neural::NeuralAgent::from_config));
}
