//! `daa-pdf-worker`: PDF extraction tasks from NATS.

fn main() {
    std::process::exit(daa_worker::main(|cfg| {
        let limits = cfg
            .agent::<daa_pdf::Limits>("pdf")
            .map_err(|e| e.to_string())?;
        Ok(daa_pdf::PdfAgent::new(limits))
    }));
}
