//! `daa-quality-worker`: validation and final QA tasks from NATS.

/// mimalloc: see docs/decisions.md (allocation-heavy parsing is faster and freed memory
/// is reused rather than returned to the kernel and faulted in again by the next task).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(daa_worker::main(|cfg| {
        let limits = cfg
            .agent::<daa_quality::Limits>("quality")
            .map_err(|e| e.to_string())?;
        Ok(daa_quality::QualityAgent::new(limits))
    }));
}
