//! `daa-structured-worker`: JSON, XML, CSV and plain-text extraction tasks from NATS.

fn main() {
    std::process::exit(daa_worker::main(|_cfg| {
        Ok(daa_structured::StructuredAgent::default())
    }));
}
