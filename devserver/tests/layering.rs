//! The server's layers call only downwards: `routes` → `files` → {`catalog`, `blobs`}, with
//! `model` and `error` shared by all, and `images` (pure image code: transforms, decoding,
//! encoding; it names nothing else) beside `model` for `files` and `routes`. This test reads every source file and fails on a `crate::`
//! path that reaches sideways or up (a route touching SQL or bytes, the catalog calling the
//! service, …).

#![allow(clippy::unwrap_used)]

use std::path::Path;

/// What each layer may name with `crate::…`.
const ALLOWED: [(&str, &[&str]); 5] = [
    ("blobs", &["blobs", "error"]),
    ("catalog", &["catalog", "error", "model"]),
    ("images", &["images"]),
    (
        "files",
        &["files", "blobs", "catalog", "error", "model", "images"],
    ),
    (
        "routes",
        &[
            "routes", "files", "model", "error", "state", "presign", "faults", "images",
        ],
    ),
];

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module names a file reaches with `crate::name`.
fn crate_paths(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        let before = text[..i].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let name: String = text[i + 7..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        found.push(name);
    }
    found
}

#[test]
fn layers_call_only_downwards() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let layer = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let layer = layer.trim_end_matches(".rs");
        let Some((_, allowed)) = ALLOWED.iter().find(|(l, _)| *l == layer) else {
            continue;
        };
        checked += 1;
        let text = std::fs::read_to_string(file).unwrap();
        for name in crate_paths(&text) {
            if !allowed.contains(&name.as_str()) {
                broken.push(format!("{} uses crate::{name}", rel.display()));
            }
        }
        // `super::super` would climb out of a layer's own folder.
        if text.contains("super::super") {
            broken.push(format!("{} climbs with super::super", rel.display()));
        }
    }
    assert!(
        checked >= 20,
        "only {checked} files were checked: is the layout gone?"
    );
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

#[test]
fn the_check_catches_an_upward_call() {
    let names =
        crate_paths("use crate::routes::x; let y = crate::catalog::records::by_id; // $crate::z");
    assert_eq!(names, ["routes", "catalog"]);
}
