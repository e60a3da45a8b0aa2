//! The short fuzz run of `npm test`: every target for a few seconds from the kept corpus, with
//! a fixed seed, so a regression in a parser shows up in every run.

use std::time::Duration;

use stowage_fuzz::engine::{fuzz, seeds, Budget};
use stowage_fuzz::{artifacts_dir, corpus_dir, targets};

#[test]
fn every_target_keeps_its_promises_on_a_short_run() {
    let seconds: u64 = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let mut broken = Vec::new();
    for mut target in targets::all() {
        let seeds = seeds(&corpus_dir(), target.name());
        assert!(!seeds.is_empty(), "no corpus for {}", target.name());
        let budget = Budget {
            execs: u64::MAX,
            time: Some(Duration::from_secs(seconds)),
            seed: 20_261_203,
        };
        let report = fuzz(&mut *target, seeds, budget, &artifacts_dir(), None);
        eprintln!(
            "{}: {} inputs, {} outcomes, {} failures",
            report.target,
            report.execs,
            report.outcomes,
            report.failures.len()
        );
        assert!(
            report.execs > 100,
            "{} ran only {} inputs",
            report.target,
            report.execs
        );
        broken.extend(report.failures);
    }
    assert!(broken.is_empty(), "broken promises: {broken:#?}");
}
