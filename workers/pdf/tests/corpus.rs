//! Text similarity to pdftotext (1 − CER after whitespace normalisation, page by page)
//! on the PDFs the crate ships (tests/fixtures) and, when it is present beside the
//! repository, on the whole shared corpus: ≥ 0.97 on average, ≥ 0.90 for every file.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use daa_pdf::bench_support::{pdf_files, reference_pages, run_agent, similarity};

fn check(dir: &Path) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for f in pdf_files(dir).unwrap() {
        let Some(reference) = reference_pages(&f) else {
            continue;
        };
        let run = run_agent(&std::fs::read(&f).unwrap());
        assert!(run.error.is_none(), "{}: {:?}", f.display(), run.error);
        let s = similarity(&run.pages, &reference);
        println!(
            "{:40} {:4} pages  similarity {s:.4}",
            f.file_name().unwrap().to_string_lossy(),
            run.pages.len()
        );
        out.push((f.file_name().unwrap().to_string_lossy().into_owned(), s));
    }
    out
}

fn assert_goals(results: &[(String, f64)]) {
    assert!(!results.is_empty());
    let avg = results.iter().map(|r| r.1).sum::<f64>() / results.len() as f64;
    println!("average {avg:.4}");
    for (name, s) in results {
        assert!(*s >= 0.90, "{name}: similarity {s:.4} < 0.90");
    }
    assert!(avg >= 0.97, "average similarity {avg:.4} < 0.97");
}

#[test]
fn shipped_fixtures_match_pdftotext() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let r = check(&dir);
    assert_eq!(r.len(), 5);
    assert_goals(&r);
}

/// The shared corpus lives beside the repository (`../shared/corpus/pdf`); `DAA_CORPUS`
/// overrides. Skipped (with a note) when absent.
#[test]
fn shared_corpus_matches_pdftotext() {
    let dir = std::env::var_os("DAA_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/pdf")
        });
    if !dir.is_dir() {
        println!("shared corpus not found at {}: skipped", dir.display());
        return;
    }
    assert_goals(&check(&dir));
}
