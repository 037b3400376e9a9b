//! Times the parts of a split PDF in-process, as the fleet would run them:
//! `cargo run --release -p daa-pdf --example parts -- FILE [PARTS] [REPEAT] [tables]`
//! (`tables` also runs table detection, as a fleet job does by default).
//! Prints, per part, the objects its lazy load unpacked and the median extraction time.
#![allow(clippy::unwrap_used, missing_docs)]

// The worker binary's allocator, so the times are the fleet's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

use daa_pdf::{Limits, PdfAgent};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let bytes = std::fs::read(&a[1]).unwrap();
    let parts: u32 = a.get(2).map_or(2, |s| s.parse().unwrap());
    let repeat: usize = a.get(3).map_or(5, |s| s.parse().unwrap());
    let tables = a.get(4).is_some_and(|s| s == "tables");
    let agent = PdfAgent::new(Limits::default());
    let pages = daa_pdf::page_count(&bytes, agent.limits()).unwrap();
    let time = |range: Option<(u32, u32)>| {
        let mut v: Vec<f64> = (0..repeat)
            .map(|_| {
                let t = Instant::now();
                let out = agent.extract(&bytes, range, tables, &|| false).unwrap();
                std::hint::black_box(out);
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let load = |range: Option<(u32, u32)>| {
        let mut v: Vec<f64> = (0..repeat)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(daa_pdf::bench_support::load_only(&bytes, range));
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "{}: {pages} pages, whole document {:.1} ms (load {:.1} ms)",
        a[1],
        time(None),
        load(None)
    );
    println!(
        "  page 200 alone: load {:.1} ms, objects {:?}",
        load(Some((200, 200))),
        daa_pdf::bench_support::part_load(&bytes, 200, 200)
    );
    let mut cuts: Vec<u32> = (1..parts).map(|i| i * pages / parts).collect();
    cuts.push(u32::MAX);
    let mut first = 1;
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for i in 0..parts {
        let last = cuts[i as usize];
        ranges.push((first, last));
        let len = last.min(pages) + 1 - first;
        let objs = daa_pdf::bench_support::part_load(&bytes, first, last.min(pages));
        println!(
            "  part {i}: pages {first}-{} {:.1} ms (load {:.1} ms), objects {objs:?}",
            last.min(pages),
            time(Some((first, last))),
            load(Some((first, last)))
        );
        if last == u32::MAX {
            // The last part also reports the outline; what that costs:
            println!(
                "    without the outline: {:.1} ms (load {:.1} ms)",
                time(Some((first, pages))),
                load(Some((first, pages)))
            );
        }
        first += len;
    }
    // The parts at once, one thread each, as workers on as many cores run them (the
    // last one with the outline, as in the fleet): what the machine's cores give when
    // all are loaded (compare with the whole document).
    let mut walls: Vec<f64> = (0..repeat)
        .map(|_| {
            let t = Instant::now();
            std::thread::scope(|s| {
                for &r in &ranges {
                    let (agent, bytes) = (&agent, &bytes);
                    s.spawn(move || {
                        std::hint::black_box(agent.extract(bytes, Some(r), tables, &|| false))
                    });
                }
            });
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    walls.sort_by(f64::total_cmp);
    println!(
        "  all {parts} parts at once, a thread each: {:.1} ms (median wall time)",
        walls[walls.len() / 2]
    );
}
