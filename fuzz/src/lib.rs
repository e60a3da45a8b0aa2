//! `stowage-fuzz`: fuzz targets for every parser of hostile input (paths, signed URLs, upload
//! bodies and forms, `Range`, metadata, the Cognite and bkend filters), and a mutation engine
//! that runs them on stable Rust. `cargo run --release -p stowage-fuzz -- --execs 10000000`
//! runs each target for 10 M inputs; `cargo test -p stowage-fuzz` runs each for a few seconds.

pub mod engine;
pub mod targets;

/// The corpus directory in the repository: `fuzz/corpus/{target}/`.
#[must_use]
pub fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// Where failing inputs are written: `fuzz/artifacts/{target}/`.
#[must_use]
pub fn artifacts_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts")
}
