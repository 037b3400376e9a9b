//! `daa bench ocr DIR`: the image agent against the `tesseract` command on the same
//! images, in the same run. Pages/s of the agent with 1 engine and with N engines (N
//! threads, each owning one initialised engine, taking the next image when done), and of
//! the `tesseract` command (one process per image, one after another, as people run it,
//! with `OMP_THREAD_LIMIT=1`); for each, the mean character error rate against the
//! images' ground truth (`<stem>.gt.txt` / `<stem>.gt.raw.txt`, the closer of the two,
//! whitespace-normalised).
//!
//! The agent's engines are loaded before the clock starts (a worker loads them once);
//! each `tesseract` process loads its own, as it does when people run it. libgomp reads
//! `OMP_THREAD_LIMIT` at process start, so the command re-executes itself with
//! `OMP_THREAD_LIMIT=1` when it is not set.

use std::path::PathBuf;

use anyhow::Context;
use daa_image::bench_support::{image_files, mean_cer, run_agent, run_cli_batch, BatchRun};
use daa_image::{ImageAgent, ImageConfig};

/// Arguments of `daa bench ocr`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Directory of images (PNG, JPEG, TIFF, BMP, WebP, GIF), with optional ground truth
    /// `<stem>.gt.txt` / `<stem>.gt.raw.txt` beside them.
    dir: PathBuf,
    /// Engines (threads) of the parallel run; default: the number of CPUs.
    #[arg(long)]
    engines: Option<usize>,
    /// Passes over the images for every contender; times are summed.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
}

fn fmt_cer(c: Option<f64>) -> String {
    c.map(|c| format!("{c:.4}")).unwrap_or_else(|| "-".into())
}

fn merge(into: &mut Option<BatchRun>, b: BatchRun) {
    match into {
        None => *into = Some(b),
        Some(a) => {
            a.wall += b.wall;
            for (x, y) in a.runs.iter_mut().zip(b.runs) {
                x.pages += y.pages;
                x.elapsed += y.elapsed;
                if x.error.is_none() {
                    x.error = y.error;
                }
            }
        }
    }
}

pub(crate) async fn run(cfg: &daa_shared::config::Config, args: Args) -> anyhow::Result<i32> {
    if let Err(e) = daa_image::ensure_single_openmp_thread() {
        eprintln!(
            "warning: could not re-execute with OMP_THREAD_LIMIT=1 ({e}): OCR will be slower"
        );
    }
    let files =
        image_files(&args.dir).with_context(|| format!("reading {}", args.dir.display()))?;
    if files.is_empty() {
        anyhow::bail!("no images in {}", args.dir.display());
    }
    let images: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).with_context(|| format!("reading {}", f.display())))
        .collect::<anyhow::Result<_>>()?;
    let icfg: ImageConfig = cfg.agent("image")?;
    let agent = ImageAgent::new(icfg).map_err(|e| anyhow::anyhow!(e))?;
    let n = args
        .engines
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let repeat = args.repeat.max(1);
    let (mut one, mut many, mut cli) = (None, None, None);
    for _ in 0..repeat {
        merge(
            &mut one,
            run_agent(&agent, &images, 1).map_err(|e| anyhow::anyhow!(e))?,
        );
        merge(
            &mut many,
            run_agent(&agent, &images, n).map_err(|e| anyhow::anyhow!(e))?,
        );
        merge(&mut cli, run_cli_batch(&files));
    }
    let (Some(one), Some(many), Some(cli)) = (one, many, cli) else {
        anyhow::bail!("nothing ran");
    };
    println!(
        "{:<34} {:>5} {:>10} {:>10} {:>10} {:>10}",
        "file", "pages", "agent s", "cli s", "agent CER", "cli CER"
    );
    let mut failures = 0;
    for (i, f) in files.iter().enumerate() {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (a, c) = (&one.runs[i], &cli.runs[i]);
        if let Some(e) = &a.error {
            failures += 1;
            println!("{name:<34} agent failed: {e}");
            continue;
        }
        let gts = daa_image::bench_support::ground_truths(f);
        let cer = |t: &str| (!gts.is_empty()).then(|| daa_image::cer::best_cer(t, &gts));
        println!(
            "{name:<34} {:>5} {:>10.2} {:>10} {:>10} {:>10}",
            a.pages / repeat as usize,
            a.elapsed.as_secs_f64() / f64::from(repeat),
            if c.error.is_some() {
                "failed".to_owned()
            } else {
                format!("{:.2}", c.elapsed.as_secs_f64() / f64::from(repeat))
            },
            fmt_cer(cer(&a.text)),
            fmt_cer(if c.error.is_some() {
                None
            } else {
                cer(&c.text)
            }),
        );
    }
    let (r1, rn, rc) = (one.pages_per_s(), many.pages_per_s(), cli.pages_per_s());
    let ratio = |r: f64| if rc > 0.0 { r / rc } else { 0.0 };
    println!();
    println!(
        "agent, 1 engine:   {r1:>6.3} pages/s  {:>5.2}x the CLI  CER {}",
        ratio(r1),
        fmt_cer(mean_cer(&files, &one))
    );
    println!(
        "agent, {n} engines:  {rn:>6.3} pages/s  {:>5.2}x the CLI  CER {}",
        ratio(rn),
        fmt_cer(mean_cer(&files, &many))
    );
    println!(
        "tesseract CLI:     {rc:>6.3} pages/s  (one process per image, OMP_THREAD_LIMIT=1)  CER {}",
        fmt_cer(mean_cer(&files, &cli))
    );
    println!(
        "goals: >= 1.0x the CLI with 1 engine, >= 1.7x with 2 engines on 2 cores; CER no worse than the CLI's"
    );
    Ok(if failures > 0 { 1 } else { 0 })
}
