//! `daa-structured-worker`: JSON, XML, CSV and plain-text extraction tasks from NATS.

/// mimalloc: see docs/decisions.md (allocation-heavy parsing is faster and freed memory
/// is reused rather than returned to the kernel and faulted in again by the next task).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(daa_worker::main(|cfg| {
        let limits = cfg
            .agent::<daa_structured::Limits>("structured")
            .map_err(|e| e.to_string())?;
        Ok(daa_structured::StructuredAgent::new(limits))
    }));
}
