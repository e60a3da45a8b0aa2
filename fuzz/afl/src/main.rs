//! `cargo afl build --release` then `cargo afl fuzz -i ../corpus/paths -o out target/release/stowage-fuzz-afl`:
//! the path canonicaliser under AFL++, with the promises of the `paths` target in
//! `fuzz/src/targets.rs` (a canonical path has no empty, `.`, `..`, backslash or control segment,
//! stays under its root, and parses back to itself, also from its encoded form).

use std::path::{Component, Path};

use stowage_protocol::FilePath;

fn check(p: &FilePath) {
    let s = p.as_str();
    if !s.is_empty() {
        for segment in s.split('/') {
            assert!(
                !(segment.is_empty()
                    || segment == "."
                    || segment == ".."
                    || segment.chars().any(|c| c == '\\' || c.is_control())),
                "segment {segment:?} accepted in {s:?}"
            );
        }
    }
    let joined = Path::new("/data/root").join(s);
    assert!(
        joined.starts_with("/data/root")
            && !joined
                .components()
                .any(|c| matches!(c, Component::ParentDir | Component::CurDir)),
        "{s:?} leaves the root"
    );
    assert_eq!(FilePath::parse(s).as_ref(), Ok(p), "{s:?} parses back");
    assert_eq!(
        FilePath::parse_encoded(&p.to_encoded()).as_ref(),
        Ok(p),
        "{s:?} encoded"
    );
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let (raw, name) = match data.iter().position(|&b| b == b'\n') {
            Some(i) => (&data[..i], &data[i + 1..]),
            None => (data, &[][..]),
        };
        let raw = String::from_utf8_lossy(raw);
        for p in [FilePath::parse_encoded(&raw), FilePath::parse(&raw)]
            .into_iter()
            .flatten()
        {
            check(&p);
            if let Ok(child) = p.join(&String::from_utf8_lossy(name)) {
                check(&child);
                assert!(child.is_within(&p) && child.parent() == p);
            }
        }
    });
}
