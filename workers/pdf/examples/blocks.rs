//! Prints the blocks of one page: `cargo run --example blocks -- FILE PAGE`.
#![allow(clippy::unwrap_used, missing_docs)]
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let bytes = std::fs::read(&a[1]).unwrap();
    print!(
        "{}",
        daa_pdf::bench_support::debug_blocks(&bytes, a[2].parse().unwrap())
    );
}
