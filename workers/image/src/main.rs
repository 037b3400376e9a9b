//! `daa-image-worker`: OCR tasks of image documents from NATS.

/// mimalloc: see docs/decisions.md (allocation-heavy parsing is faster and freed memory
/// is reused rather than returned to the kernel and faulted in again by the next task).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // libgomp reads OMP_THREAD_LIMIT when it is loaded: re-run with it set if missing.
    if let Err(e) = daa_image::ensure_single_openmp_thread() {
        eprintln!(
            "warning: could not re-execute with OMP_THREAD_LIMIT=1 ({e}); OCR will be slower"
        );
    }
    std::process::exit(daa_worker::main(|cfg| {
        let cfg = cfg
            .agent::<daa_image::ImageConfig>("image")
            .map_err(|e| e.to_string())?;
        daa_image::ImageAgent::new(cfg)
    }));
}
