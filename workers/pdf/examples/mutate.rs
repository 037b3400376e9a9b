//! Damages real PDFs in many ways and runs the agent on each result, as a hostile
//! sender would: `cargo run --release -p daa-pdf --example mutate -- DIR [ROUNDS] [SEED] [OUT]`.
//!
//! Every outcome must be a result (pages or an error with a reason): a panic that
//! escapes the agent, or a run slower than 5 s, is reported and its input written to
//! OUT (default `target/mutate`) for a regression test. The refusals are counted by
//! reason. With `MUTATE_COMPARE=1`, `pdftotext` reads every damaged file too, and a
//! table says how often each of the two got text out where the other did not (the
//! files only pdftotext read are written to OUT).
#![allow(clippy::unwrap_used, missing_docs)]

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use daa_pdf::{Limits, PdfAgent};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as usize
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// Positions of ASCII digit runs (numbers in dictionaries, xref offsets, lengths).
fn numbers(b: &[u8]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut i = 0;
    while i < b.len() && v.len() < 200_000 {
        if b[i].is_ascii_digit() {
            let s = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            v.push((s, i));
        } else {
            i += 1;
        }
    }
    v
}

const TOKENS: &[&[u8]] = &[
    b"0",
    b"-1",
    b"4294967295",
    b"99999999999999999999",
    b"1e308",
    b"/Kids [1 0 R]",
    b"/Count 2147483647",
    b"<<",
    b">>",
    b"[",
    b"]",
    b"R",
    b" 0 R ",
    b"stream\n",
    b"endstream",
    b"/Length 0",
    b"/Filter /FlateDecode",
    b"/Filter [/FlateDecode /FlateDecode]",
    b"/DecodeParms << /Predictor 15 /Columns 99999 >>",
    b"xref",
    b"trailer",
    b"%%EOF",
    b"/Type /Page",
    b"/Type /Pages",
    b"/Parent 1 0 R",
    b"(\\",
    b"<ff",
    b"/W [9 9 9]",
    b"/Size 2147483647",
    b"/Index [0 999999999]",
    b"/N 999999",
    b"/First 999999",
    b"/Encrypt 1 0 R",
    b"/ToUnicode 1 0 R",
    b"/Resources 1 0 R",
    b"/Font << /F1 1 0 R >>",
    b"BT /F1 1e30 Tf (x) Tj ET",
    b"q q q q q q",
    b"/Subtype /Form",
    b"/Do",
];

fn mutate(rng: &mut Rng, orig: &[u8]) -> Vec<u8> {
    let mut b = orig.to_vec();
    let nums = numbers(&b);
    for _ in 0..1 + rng.below(6) {
        match rng.below(8) {
            0 => {
                for _ in 0..1 + rng.below(40) {
                    let i = rng.below(b.len());
                    b[i] = rng.below(256) as u8;
                }
            }
            1 if !nums.is_empty() => {
                // Rewrite a number (object numbers, offsets, lengths, counts).
                let (s, e) = nums[rng.below(nums.len())];
                if e <= b.len() {
                    let t = TOKENS[rng.below(3) + 1];
                    b.splice(s..e, t.iter().copied());
                }
            }
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let at = rng.below(b.len());
                b.splice(at..at, t.iter().copied());
            }
            3 => {
                let n = b.len();
                b.truncate(n / 4 + rng.below(n * 3 / 4));
            }
            4 => {
                // Copy a block elsewhere (duplicated objects, broken offsets).
                let n = b.len();
                let s = rng.below(n);
                let len = rng.below(4096).min(n - s);
                let block: Vec<u8> = b[s..s + len].to_vec();
                let at = rng.below(b.len());
                b.splice(at..at, block);
            }
            5 => {
                // Delete a block.
                let n = b.len();
                let s = rng.below(n);
                let len = rng.below(4096).min(n - s);
                b.drain(s..s + len);
            }
            6 => {
                // Swap two tokens "obj"/"R"/"endobj" around.
                let needles: &[&[u8]] = &[b"endobj", b"endstream", b"obj", b" R", b">>"];
                let nd = needles[rng.below(needles.len())];
                let hits: Vec<usize> = b
                    .windows(nd.len())
                    .enumerate()
                    .filter(|(_, w)| *w == nd)
                    .map(|(i, _)| i)
                    .take(50_000)
                    .collect();
                if !hits.is_empty() {
                    let i = hits[rng.below(hits.len())];
                    b.drain(i..i + nd.len());
                }
            }
            _ => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
        }
        if b.is_empty() {
            b.push(b'%');
        }
    }
    b
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(&a[1]);
    let rounds: usize = a.get(2).map_or(200, |s| s.parse().unwrap());
    let mut rng = Rng(a.get(3).map_or(1, |s| s.parse().unwrap()) | 1);
    let out = PathBuf::from(a.get(4).map_or("target/mutate", String::as_str));
    std::fs::create_dir_all(&out).unwrap();
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    let agent = PdfAgent::new(Limits::default());
    std::panic::set_hook(Box::new(|_| {}));
    let (mut ok, mut err, mut bad) = (0, 0, 0);
    let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
    // MUTATE_KEEP_REFUSED=1 also writes the refused inputs to OUT, to compare with
    // another tool (say, what pdftotext makes of them).
    let keep_refused = std::env::var_os("MUTATE_KEEP_REFUSED").is_some();
    let compare = std::env::var_os("MUTATE_COMPARE").is_some();
    // [agent got text][pdftotext got text]
    let mut table = [[0usize; 2]; 2];
    let mut slowest = (Duration::ZERO, String::new());
    for round in 0..rounds {
        let (name, orig) = &files[round % files.len()];
        let b = mutate(&mut rng, orig);
        let t = Instant::now();
        let r = std::panic::catch_unwind(|| {
            // Validation's page count and a part take their own paths through the file.
            let _ = daa_pdf::page_count(&b, agent.limits());
            let _ = agent.extract(&b, Some((2, 3)), true, &|| false);
            let whole = agent.extract(&b, None, true, &|| false);
            let reason = whole.as_ref().err().map(|e| e.message.clone());
            let text = whole
                .as_ref()
                .is_ok_and(|o| o.pages.iter().any(|p| !p.text.trim().is_empty()));
            (text, reason)
        });
        let took = t.elapsed();
        let tag = format!("{round}-{name}");
        if took > slowest.0 {
            slowest = (took, tag.clone());
        }
        let ours = matches!(r, Ok((true, _)));
        match r {
            Ok((_, None)) => ok += 1,
            Ok((_, Some(reason))) => {
                err += 1;
                // The reason without its numbers, to count kinds of refusal.
                let kind: String = reason
                    .chars()
                    .filter(|c| !c.is_ascii_digit())
                    .take(90)
                    .collect();
                *reasons.entry(kind).or_insert(0usize) += 1;
                if keep_refused {
                    std::fs::write(out.join(format!("refused-{tag}")), &b).unwrap();
                }
            }
            Err(_) => {
                bad += 1;
                println!("PANIC {tag}");
                std::fs::write(out.join(format!("panic-{tag}")), &b).unwrap();
            }
        }
        if compare {
            let theirs = pdftotext_reads(&out, &b);
            table[usize::from(ours)][usize::from(theirs)] += 1;
            if theirs && !ours {
                std::fs::write(out.join(format!("pdftotext-only-{tag}")), &b).unwrap();
            }
        }
        if took > Duration::from_secs(5) {
            println!("SLOW {tag} {took:?}");
            std::fs::write(out.join(format!("slow-{tag}")), &b).unwrap();
        }
    }
    let mut by_count: Vec<_> = reasons.into_iter().collect();
    by_count.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    for (reason, n) in by_count.iter().take(15) {
        println!("  {n:5} {reason}");
    }
    if compare {
        println!(
            "  text from: both {}, the agent only {}, pdftotext only {}, neither {}",
            table[1][1], table[1][0], table[0][1], table[0][0]
        );
    }
    println!("{rounds} rounds: {ok} extracted, {err} refused with a reason, {bad} panics; slowest {:?} ({})", slowest.0, slowest.1);
}

/// Whether `pdftotext` gets any text out of `bytes` (within 20 s).
fn pdftotext_reads(dir: &std::path::Path, bytes: &[u8]) -> bool {
    let path = dir.join("compare.pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("timeout")
        .args(["20", "pdftotext", "-q"])
        .arg(&path)
        .arg("-")
        .output();
    out.is_ok_and(|o| o.stdout.iter().any(|b| !b.is_ascii_whitespace()))
}
