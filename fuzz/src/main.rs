//! `cargo run --release -p stowage-fuzz -- [--execs N] [--seconds S] [--target NAME]… [--seed N]
//! [--save]`: runs the fuzz targets, two at a time, and prints one line per target. Exits 1 when
//! any input broke a promise; the input is in `fuzz/artifacts/{target}/`.

use std::time::Duration;

use clap::Parser;
use stowage_fuzz::engine::{fuzz, seeds, Budget, Report};
use stowage_fuzz::{artifacts_dir, corpus_dir, targets};

#[derive(Debug, Parser)]
struct Args {
    /// Inputs per target.
    #[arg(long, default_value_t = 10_000_000)]
    execs: u64,
    /// Stop each target after this many seconds, whatever `--execs` says.
    #[arg(long)]
    seconds: Option<u64>,
    /// Only these targets (default: all).
    #[arg(long)]
    target: Vec<String>,
    /// The random seed (default: from the clock; printed to replay).
    #[arg(long)]
    seed: Option<u64>,
    /// Write inputs with a new outcome into the corpus directory.
    #[arg(long)]
    save: bool,
    /// Targets run at once.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
}

fn main() {
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs())
    });
    let wanted: Vec<_> = targets::all()
        .into_iter()
        .filter(|t| args.target.is_empty() || args.target.iter().any(|n| n == t.name()))
        .collect();
    if wanted.is_empty() {
        eprintln!("no such target; the targets are paths, presigned, forms, ranges, metadata, cognite-filters, bkend-filters");
        std::process::exit(2);
    }
    eprintln!(
        "fuzz: {} targets, {} inputs each, seed {seed} (replay: --seed {seed})",
        wanted.len(),
        args.execs
    );
    let budget = Budget {
        execs: args.execs,
        time: args.seconds.map(Duration::from_secs),
        seed,
    };
    let queue = std::sync::Mutex::new(wanted);
    let reports = std::sync::Mutex::new(Vec::<Report>::new());
    std::thread::scope(|scope| {
        for _ in 0..args.jobs.max(1) {
            scope.spawn(|| loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop());
                let Some(mut target) = next else { break };
                let seeds = seeds(&corpus_dir(), target.name());
                let save = args.save.then(corpus_dir);
                let report = fuzz(
                    &mut *target,
                    seeds,
                    budget,
                    &artifacts_dir(),
                    save.as_deref(),
                );
                print(&report);
                if let Ok(mut all) = reports.lock() {
                    all.push(report);
                }
            });
        }
    });
    let reports = reports.into_inner().unwrap_or_default();
    let failed: usize = reports.iter().map(|r| r.failures.len()).sum();
    let total: u64 = reports.iter().map(|r| r.execs).sum();
    eprintln!(
        "fuzz: {total} inputs over {} targets, {failed} broke a promise",
        reports.len()
    );
    if failed > 0 {
        std::process::exit(1);
    }
}

fn print(r: &Report) {
    let secs = r.elapsed.as_secs_f64();
    eprintln!(
        "fuzz: {:<16} {:>11} inputs in {:>7.1} s ({:>9.0}/s), corpus {} → {}, {} outcomes, {} failures",
        r.target,
        r.execs,
        secs,
        r.execs as f64 / secs.max(1e-9),
        r.seeds,
        r.corpus,
        r.outcomes,
        r.failures.len()
    );
    for (problem, file) in &r.failures {
        eprintln!("fuzz:   {problem} (input: {})", file.display());
    }
}
