//! The engine: mutation-based fuzzing on stable Rust. It starts from a seed corpus kept in the
//! repository (`fuzz/corpus/{target}/`), stacks random mutations (bit flips, interesting bytes
//! and numbers, dictionary tokens, deletions, duplications, splices), runs the target on each
//! input under `catch_unwind`, and keeps in its working corpus every input whose outcome
//! (status, error kind) it had not seen. It is not coverage-guided: coverage-guided engines
//! need nightly (cargo-fuzz) or an AFL++ build (afl.rs); see `fuzz/README.md`.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

/// What one input did: an outcome to tell inputs apart, or a broken promise.
pub type Outcome = Result<String, String>;

/// One fuzz target: a parser of hostile input and the promises it keeps on any input.
pub trait Target {
    /// The name of its corpus directory.
    fn name(&self) -> &'static str;
    /// Tokens the mutator inserts: the grammar's keywords and delimiters.
    fn dictionary(&self) -> &'static [&'static str];
    /// Runs one input: `Ok(outcome)`, or `Err` when a promise broke (a panic counts too).
    fn run(&mut self, input: &[u8]) -> Outcome;
    /// Seeds made in code, besides the corpus files (a URL signed with the target's key).
    fn built_seeds(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }
}

/// How long a run goes.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Inputs to run.
    pub execs: u64,
    /// Stop earlier after this long.
    pub time: Option<Duration>,
    /// The random seed (printed, to replay a run).
    pub seed: u64,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The target's name.
    pub target: &'static str,
    /// Inputs run.
    pub execs: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Seed inputs read from the corpus directory.
    pub seeds: usize,
    /// The working corpus at the end (seeds plus inputs with a new outcome).
    pub corpus: usize,
    /// Distinct outcomes seen.
    pub outcomes: usize,
    /// Broken promises: the message and where the input was written.
    pub failures: Vec<(String, PathBuf)>,
}

const MAX_INPUT: usize = 4096;
const MAX_CORPUS: usize = 4096;
const MAX_FAILURES: usize = 20;
/// Most new inputs one run writes into the kept corpus.
const MAX_SAVED: usize = 64;
const BYTES: &[u8] = b"\0\x01\x7f\xff/\\.%\n\r\t \"'{}[],:;-=&?#+*~!$^|<>()@0123456789eE";
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "255",
    "256",
    "1024",
    "65535",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "1e309",
    "1.5",
    "NaN",
    "0x10",
];

/// The seed inputs of `target` in `dir/{name}/`, sorted by file name.
#[must_use]
pub fn seeds(dir: &Path, target: &str) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(target))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// Runs `target` over `budget`, starting from `seeds`. New interesting inputs are written to
/// `save` when given (the corpus directory), failing ones always to `artifacts/{name}/`.
pub fn fuzz(
    target: &mut dyn Target,
    seeds: Vec<Vec<u8>>,
    budget: Budget,
    artifacts: &Path,
    save: Option<&Path>,
) -> Report {
    let started = Instant::now();
    let mut rng = SmallRng::seed_from_u64(budget.seed);
    let mut corpus = seeds;
    corpus.extend(target.built_seeds());
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let seeds = corpus.len();
    let mut seen = BTreeSet::new();
    let mut failures = Vec::new();
    let mut execs = 0u64;
    let mut saved = 0;
    // `FUZZ_SHOW_OUTCOMES=1` prints each new outcome, to see what tells inputs apart.
    let show = std::env::var_os("FUZZ_SHOW_OUTCOMES").is_some();
    // Every seed runs once as it is, then the mutants.
    let mut queue: Vec<Vec<u8>> = corpus.clone();
    while execs < budget.execs {
        if execs % 1024 == 0 && budget.time.is_some_and(|t| started.elapsed() >= t) {
            break;
        }
        if execs > 0 && execs % 1_000_000 == 0 {
            eprintln!(
                "fuzz: {:<16} {execs} inputs, {:.0} s, {} outcomes",
                target.name(),
                started.elapsed().as_secs_f64(),
                seen.len()
            );
        }
        let input = queue
            .pop()
            .unwrap_or_else(|| mutant(&mut rng, &corpus, target.dictionary()));
        execs += 1;
        let outcome = catch_unwind(AssertUnwindSafe(|| target.run(&input)))
            .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_text(&*panic))));
        match outcome {
            Ok(kind) => {
                if show && !seen.contains(&kind) {
                    eprintln!("fuzz: {} new outcome {kind:?}", target.name());
                }
                if seen.insert(kind) && corpus.len() < MAX_CORPUS {
                    if let Some(dir) = save.filter(|_| saved < MAX_SAVED) {
                        write_named(&dir.join(target.name()), &input);
                        saved += 1;
                    }
                    corpus.push(input);
                }
            }
            Err(problem) => {
                if failures.len() < MAX_FAILURES {
                    let file = write_named(&artifacts.join(target.name()), &input);
                    failures.push((problem, file));
                }
            }
        }
    }
    Report {
        target: target.name(),
        execs,
        elapsed: started.elapsed(),
        seeds,
        corpus: corpus.len(),
        outcomes: seen.len(),
        failures,
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Writes `input` as `{dir}/{sha256 prefix}`, once; answers the file.
fn write_named(dir: &Path, input: &[u8]) -> PathBuf {
    let name: String = Sha256::digest(input)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let file = dir.join(name);
    if !file.exists() {
        // A full disk only loses the copy; the failure is still reported.
        let _ = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&file, input));
    }
    file
}

/// A corpus entry with one to six mutations stacked on it.
fn mutant(rng: &mut SmallRng, corpus: &[Vec<u8>], dictionary: &[&str]) -> Vec<u8> {
    let mut input = corpus[rng.random_range(0..corpus.len())].clone();
    for _ in 0..rng.random_range(1..=6) {
        mutate(rng, &mut input, corpus, dictionary);
    }
    input.truncate(MAX_INPUT);
    input
}

fn mutate(rng: &mut SmallRng, input: &mut Vec<u8>, corpus: &[Vec<u8>], dictionary: &[&str]) {
    let len = input.len();
    let at = |rng: &mut SmallRng| rng.random_range(0..=len);
    match rng.random_range(0..10) {
        0 if len > 0 => {
            let i = rng.random_range(0..len);
            input[i] ^= 1 << rng.random_range(0..8);
        }
        1 if len > 0 => {
            let i = rng.random_range(0..len);
            input[i] = BYTES[rng.random_range(0..BYTES.len())];
        }
        2 | 3 if !dictionary.is_empty() => {
            let token = dictionary[rng.random_range(0..dictionary.len())].as_bytes();
            let i = at(rng);
            if rng.random_bool(0.5) || i == len {
                input.splice(i..i, token.iter().copied());
            } else {
                let end = (i + token.len()).min(len);
                input.splice(i..end, token.iter().copied());
            }
        }
        4 if len > 0 => {
            let start = rng.random_range(0..len);
            let end = rng.random_range(start..=len.min(start + 64));
            input.drain(start..end);
        }
        5 if len > 0 => {
            let start = rng.random_range(0..len);
            let end = rng.random_range(start..=len.min(start + 256));
            let piece = input[start..end].to_vec();
            let i = at(rng);
            for _ in 0..rng.random_range(1..=8) {
                input.splice(i..i, piece.iter().copied());
            }
        }
        6 => {
            let other = &corpus[rng.random_range(0..corpus.len())];
            let cut = rng.random_range(0..=other.len());
            input.truncate(at(rng));
            input.extend_from_slice(&other[cut..]);
        }
        7 => {
            let number = NUMBERS[rng.random_range(0..NUMBERS.len())].as_bytes();
            match input.iter().position(u8::is_ascii_digit) {
                Some(start) if rng.random_bool(0.7) => {
                    let skip = rng.random_range(0..4);
                    let start = input[start..]
                        .iter()
                        .enumerate()
                        .filter(|(_, b)| b.is_ascii_digit())
                        .nth(skip)
                        .map_or(start, |(i, _)| start + i);
                    let end = input[start..]
                        .iter()
                        .position(|b| !b.is_ascii_digit())
                        .map_or(input.len(), |n| start + n);
                    input.splice(start..end, number.iter().copied());
                }
                _ => {
                    let i = at(rng);
                    input.splice(i..i, number.iter().copied());
                }
            }
        }
        8 => {
            let i = at(rng);
            let n = rng.random_range(1..=8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            input.splice(i..i, bytes);
        }
        _ => input.truncate(at(rng)),
    }
}
