//! `daa-structured-worker`: JSON, XML, CSV and plain-text extraction tasks from NATS.

fn main() {
    std::process::exit(daa_worker::main(|cfg| {
        let limits = cfg
            .agent::<daa_structured::Limits>("structured")
            .map_err(|e| e.to_string())?;
        Ok(daa_structured::StructuredAgent::new(limits))
    }));
}
