//! The one path canonicaliser, used by the server for every request and by the client
//! before it sends one: decode once, trim slashes, reject anything that could escape a root.

use std::fmt;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Longest accepted segment (file or directory name), in UTF-8 bytes.
pub const MAX_SEGMENT_BYTES: usize = 255;
/// Longest accepted canonical path, in UTF-8 bytes.
pub const MAX_PATH_BYTES: usize = 1024;
/// First segments after `files/` that name operations, not files (Backendless routes).
pub const RESERVED_FIRST_SEGMENTS: [&str; 7] = [
    "binary",
    "append",
    "move",
    "copy",
    "rename",
    "permissions",
    "visibility",
];

/// Bytes a URL path segment keeps as they are; everything else is percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a path was refused. Each case maps to its own error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// `.`, `..`, an empty segment, a backslash, NUL, a control character or bad UTF-8.
    #[error("Path contains prohibited symbols: {0}")]
    Prohibited(String),
    /// One segment is longer than [`MAX_SEGMENT_BYTES`].
    #[error("Path segment is longer than {MAX_SEGMENT_BYTES} bytes: {0}")]
    SegmentTooLong(String),
    /// The whole path is longer than [`MAX_PATH_BYTES`].
    #[error("Path is longer than {MAX_PATH_BYTES} bytes ({0} bytes)")]
    TooLong(usize),
}

/// A canonical storage path: segments joined by `/`, no leading or trailing slash.
/// The empty path is the root directory. Every value of this type passed the rules above,
/// so joining it under a root directory can never leave that root.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FilePath(String);

impl FilePath {
    /// The root directory.
    #[must_use]
    pub fn root() -> Self {
        Self(String::new())
    }

    /// Canonicalises a path taken from a URL: percent-decodes it exactly once, then applies
    /// [`FilePath::parse`]. `%252e` therefore stays the literal name `%2e`.
    pub fn parse_encoded(raw: &str) -> Result<Self, PathError> {
        let decoded = percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| PathError::Prohibited(shorten(raw)))?;
        Self::parse(&decoded)
    }

    /// Canonicalises an already decoded path (as found in JSON bodies): ignores leading and
    /// trailing slashes, then rejects empty, `.` and `..` segments, backslashes, NUL and other
    /// control characters, segments over 255 bytes and paths over 1024 bytes.
    pub fn parse(decoded: &str) -> Result<Self, PathError> {
        let trimmed = decoded.trim_matches('/');
        if trimmed.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong(trimmed.len()));
        }
        if trimmed.is_empty() {
            return Ok(Self::root());
        }
        for segment in trimmed.split('/') {
            check_segment(segment).map_err(|e| match e {
                PathError::Prohibited(_) => PathError::Prohibited(shorten(decoded)),
                other => other,
            })?;
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// True for the root directory.
    #[must_use]
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The canonical text, without a leading slash (`""` for the root).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path with one leading slash, as Backendless answers it (`/dir/name.txt`).
    #[must_use]
    pub fn to_absolute(&self) -> String {
        format!("/{}", self.0)
    }

    /// The segments from the root down.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|s| !s.is_empty())
    }

    /// The last segment (`""` for the root).
    #[must_use]
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    /// The directory holding this path (the root holds itself).
    #[must_use]
    pub fn parent(&self) -> Self {
        match self.0.rfind('/') {
            Some(i) => Self(self.0[..i].to_owned()),
            None => Self::root(),
        }
    }

    /// Every ancestor directory from the first segment down, excluding the root and `self`.
    #[must_use]
    pub fn ancestors(&self) -> Vec<Self> {
        self.0
            .match_indices('/')
            .map(|(i, _)| Self(self.0[..i].to_owned()))
            .collect()
    }

    /// This directory plus one more segment, checked by the same rules as a parsed path.
    pub fn join(&self, name: &str) -> Result<Self, PathError> {
        check_segment(name)?;
        let joined = if self.is_root() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.0)
        };
        if joined.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong(joined.len()));
        }
        Ok(Self(joined))
    }

    /// True when `self` is `other` or lies below it (segment-wise, so `ab` is not under `a`).
    #[must_use]
    pub fn is_within(&self, other: &Self) -> bool {
        other.is_root()
            || self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0.as_bytes().get(other.0.len()) == Some(&b'/'))
    }

    /// Replaces the prefix `from` (an ancestor or `self`) with `to`.
    #[must_use]
    pub fn rebase(&self, from: &Self, to: &Self) -> Option<Self> {
        if !self.is_within(from) {
            return None;
        }
        let rest = self.0[from.0.len()..].trim_start_matches('/');
        let joined = match (to.is_root(), rest.is_empty()) {
            (true, _) => rest.to_owned(),
            (false, true) => to.0.clone(),
            (false, false) => format!("{}/{rest}", to.0),
        };
        Some(Self(joined))
    }

    /// The reserved first segment this path starts with, if any (see [`RESERVED_FIRST_SEGMENTS`]).
    #[must_use]
    pub fn reserved_prefix(&self) -> Option<&'static str> {
        let first = self.segments().next()?;
        RESERVED_FIRST_SEGMENTS
            .iter()
            .copied()
            .find(|r| *r == first)
    }

    /// The path with each segment percent-encoded, ready to append to a URL after `files/`.
    #[must_use]
    pub fn to_encoded(&self) -> String {
        self.segments()
            .map(encode_segment)
            .collect::<Vec<_>>()
            .join("/")
    }
}

impl fmt::Display for FilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Percent-encodes one segment so that it survives exactly one decode.
#[must_use]
pub fn encode_segment(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

fn check_segment(segment: &str) -> Result<(), PathError> {
    if segment.is_empty()
        || segment == "."
        || segment == ".."
        || segment
            .chars()
            .any(|c| c == '\\' || c == '/' || c.is_control())
    {
        return Err(PathError::Prohibited(shorten(segment)));
    }
    if segment.len() > MAX_SEGMENT_BYTES {
        return Err(PathError::SegmentTooLong(shorten(segment)));
    }
    Ok(())
}

/// Keeps error messages bounded and printable: at most 80 characters, controls escaped.
fn shorten(text: &str) -> String {
    crate::shorten(text, 80)
        .chars()
        .flat_map(char::escape_debug)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::{Component, Path};

    #[test]
    fn trims_slashes_and_accepts_unicode_and_spaces() {
        let p = FilePath::parse_encoded("//dir/na%20me%20%C3%A9%E2%9C%93.txt/").unwrap();
        assert_eq!(p.as_str(), "dir/na me é✓.txt");
        assert_eq!(p.name(), "na me é✓.txt");
        assert_eq!(p.parent().as_str(), "dir");
        assert_eq!(p.to_encoded(), "dir/na%20me%20%C3%A9%E2%9C%93.txt");
        assert_eq!(FilePath::parse_encoded(&p.to_encoded()).unwrap(), p);
    }

    #[test]
    fn rejects_traversal_and_bad_symbols() {
        for raw in [
            "..",
            "a/../b",
            "%2e%2e",
            "a/%2E%2E/b",
            ".",
            "a/./b",
            "a//b",
            "a\\b",
            "a%5cb",
            "%00",
            "a/%0a",
            "a/%7f",
            "%ff",
            "a%2f..%2fb",
        ] {
            assert!(
                matches!(FilePath::parse_encoded(raw), Err(PathError::Prohibited(_))),
                "{raw} should be prohibited"
            );
        }
    }

    #[test]
    fn decodes_exactly_once() {
        assert_eq!(
            FilePath::parse_encoded("%252e%252e").unwrap().as_str(),
            "%2e%2e"
        );
    }

    #[test]
    fn enforces_lengths() {
        let long_segment = "a".repeat(256);
        assert!(matches!(
            FilePath::parse(&long_segment),
            Err(PathError::SegmentTooLong(_))
        ));
        assert!(FilePath::parse(&"a".repeat(255)).is_ok());
        let long_path = vec!["a".repeat(200); 6].join("/");
        assert!(matches!(
            FilePath::parse(&long_path),
            Err(PathError::TooLong(_))
        ));
    }

    #[test]
    fn ancestry_is_segment_wise() {
        let a = FilePath::parse("a").unwrap();
        let ab = FilePath::parse("a/b").unwrap();
        let abc = FilePath::parse("ab/c").unwrap();
        assert!(ab.is_within(&a));
        assert!(!abc.is_within(&a));
        assert!(a.is_within(&FilePath::root()));
        let to = FilePath::parse("x/y").unwrap();
        assert_eq!(ab.rebase(&a, &to).unwrap().as_str(), "x/y/b");
        assert_eq!(ab.ancestors(), vec![a]);
        assert_eq!(
            FilePath::parse("binary/x").unwrap().reserved_prefix(),
            Some("binary")
        );
        assert_eq!(FilePath::parse("binaryx").unwrap().reserved_prefix(), None);
    }

    /// Resolves `path` under `root` lexically, the way the OS would without symlinks.
    fn stays_under(root: &Path, path: &FilePath) -> bool {
        let joined = root.join(path.as_str());
        let mut depth: i64 = 0;
        for c in joined
            .strip_prefix(root)
            .expect("joined under root")
            .components()
        {
            match c {
                Component::Normal(_) => depth += 1,
                Component::ParentDir => depth -= 1,
                _ => return false,
            }
            if depth < 0 {
                return false;
            }
        }
        true
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// No accepted path, however it was spelled, resolves outside the root.
        #[test]
        fn accepted_paths_stay_under_root(raw in proptest::collection::vec(
            prop_oneof![
                Just("..".to_owned()), Just(".".to_owned()), Just("%2e".to_owned()),
                Just("%2E%2e".to_owned()), Just("%252e".to_owned()), Just("/".to_owned()),
                Just("%2f".to_owned()), Just("\\".to_owned()), Just("%5c".to_owned()),
                Just("%00".to_owned()), Just("~".to_owned()), Just("é".to_owned()),
                "[a-z.%/\\\\]{1,6}", any::<String>(),
            ], 0..8).prop_map(|parts| parts.concat()))
        {
            let root = Path::new("/srv/data");
            if let Ok(path) = FilePath::parse_encoded(&raw) {
                prop_assert!(stays_under(root, &path), "{raw:?} -> {path:?}");
                prop_assert!(path.segments().all(|s| s != ".." && s != "."));
                prop_assert!(path.as_str().len() <= MAX_PATH_BYTES);
                // Canonical form is a fixed point: encoding and parsing again changes nothing.
                prop_assert_eq!(FilePath::parse_encoded(&path.to_encoded()).unwrap(), path);
            }
        }
    }
}
