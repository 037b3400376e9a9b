//! `daa-quality-worker`: validation and final QA tasks from NATS.

fn main() {
    std::process::exit(daa_worker::main(|cfg| {
        let limits = cfg
            .agent::<daa_quality::Limits>("quality")
            .map_err(|e| e.to_string())?;
        Ok(daa_quality::QualityAgent::new(limits))
    }));
}
