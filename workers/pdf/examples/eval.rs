//! Corpus evaluation: similarity to the stored pdftotext text and speed, per file.
//! `cargo run --release -p daa-pdf --example eval -- DIR [DUMP_DIR]`
#![allow(clippy::unwrap_used)]

use daa_pdf::bench_support::{pdf_files, reference_pages, run_agent, similarity};
use daa_pdf::similarity::similarity as sim1;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(
        args.get(1)
            .map_or("/work/shared/corpus/pdf", |s| s.as_str()),
    );
    let dump = args.get(2).map(std::path::PathBuf::from);
    let mut sims = Vec::new();
    let (mut pages, mut secs) = (0usize, 0.0f64);
    for f in pdf_files(&dir).unwrap() {
        let bytes = std::fs::read(&f).unwrap();
        let run = run_agent(&bytes);
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if let Some(e) = &run.error {
            println!("{name:32} ERROR {e}");
            continue;
        }
        let Some(truth) = reference_pages(&f) else {
            println!("{name:32} no reference");
            continue;
        };
        let s = similarity(&run.pages, &truth);
        let t = run.elapsed.as_secs_f64();
        pages += run.pages.len();
        secs += t;
        println!(
            "{name:32} pages {:4} ({:4}) {:8.1} p/s  sim {:.4}",
            run.pages.len(),
            truth.len(),
            run.pages.len() as f64 / t,
            s
        );
        sims.push(s);
        if let Some(d) = &dump {
            let stem = f.file_stem().unwrap().to_string_lossy().to_string();
            let mut worst = String::new();
            for (i, t) in truth.iter().enumerate() {
                let o = run.pages.get(i).map_or("", |s| s.as_str());
                worst.push_str(&format!("{:.3} page {}\n", sim1(o, t), i + 1));
            }
            std::fs::write(
                d.join(format!("{stem}.ours.txt")),
                run.pages.join("\n\u{c}"),
            )
            .unwrap();
            std::fs::write(d.join(format!("{stem}.pagesim.txt")), worst).unwrap();
        }
    }
    let avg = sims.iter().sum::<f64>() / sims.len().max(1) as f64;
    println!(
        "average {avg:.4}  min {:.4}  total {pages} pages {:.1} p/s",
        sims.iter().cloned().fold(1.0, f64::min),
        pages as f64 / secs
    );
}
