//! `daa-quality-worker`: validation and final QA tasks from NATS.

fn main() {
    std::process::exit(daa_worker::main(|_cfg| {
        Ok(daa_quality::QualityAgent::default())
    }));
}
