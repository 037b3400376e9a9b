//! `daa-web-worker`: web extraction tasks (HTML inline or by URL) from NATS.
//!
//! Settings: `[agents.web]` (see `daa_web::WebConfig`); the per-host politeness buckets
//! are shared through the `[redis]` server, connected on first use.

/// mimalloc: see docs/decisions.md (allocation-heavy parsing is faster and freed memory
/// is reused rather than returned to the kernel and faulted in again by the next task).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(daa_worker::main(daa_web::WebAgent::from_config));
}
