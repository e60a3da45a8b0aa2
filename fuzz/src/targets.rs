//! The fuzz targets: each parser of hostile input, and the promises it keeps on any input
//! beyond "never panics": a canonical path never escapes its root and parses back to itself; a
//! signed URL verifies only as signed; a form, a filter or a metadata body is refused with a
//! 4xx, never a 5xx; a satisfiable range lies inside the file.

use std::path::{Component, Path};

use stowage_devserver::fuzzing::{self, Ranged};
use stowage_devserver::presign::Signer;
use stowage_protocol::paths::{MAX_PATH_BYTES, MAX_SEGMENT_BYTES};
use stowage_protocol::FilePath;

use crate::engine::{Outcome, Target};

/// Every target, by name.
#[must_use]
pub fn all() -> Vec<Box<dyn Target + Send>> {
    vec![
        Box::new(Paths),
        Box::new(Presigned::new()),
        Box::new(Forms::new()),
        Box::new(Ranges),
        Box::new(Metadata),
        Box::new(CogniteFilters),
        Box::new(BkendFilters),
    ]
}

/// The input up to its first newline, and the rest.
fn split_line(input: &[u8]) -> (&[u8], &[u8]) {
    match input.iter().position(|&b| b == b'\n') {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => (input, &[]),
    }
}

/// A 5xx is a broken promise; a refusal's outcome is its status and the words of its message
/// (without what it quotes or counts), so that each way of refusing counts as its own outcome.
fn status(name: &str, input: &[u8], (status, message): (u16, String)) -> Outcome {
    if status >= 500 {
        return Err(format!("{name} answered {status}: {message}"));
    }
    // The words before the first `:` name the check; a few after it, the kind of failure
    // (serde's "expected value", "invalid type"), never what the input said.
    let quoted = |w: &str| input.windows(w.len()).any(|x| x == w.as_bytes());
    let (check, detail) = message.split_once(':').unwrap_or((&message, ""));
    const DETAIL: &[&str] = &[
        "expected",
        "invalid",
        "type",
        "value",
        "missing",
        "field",
        "unknown",
        "variant",
        "duplicate",
        "trailing",
        "eof",
        "number",
        "string",
        "map",
        "sequence",
        "length",
        "at",
    ];
    let plain = |w: &&str| DETAIL.contains(w) && !quoted(w);
    let words: Vec<&str> = check
        .split_whitespace()
        .filter(|w| w.chars().all(|c| c.is_ascii_alphabetic()))
        .chain(detail.split_whitespace().filter(plain).take(3))
        .collect();
    Ok(format!("{status} {}", words.join(" ")))
}

/// `FilePath::parse_encoded` (URL paths) and `FilePath::parse` (JSON bodies), then `join`.
struct Paths;

fn kind(e: &stowage_protocol::PathError) -> String {
    let text = format!("{e:?}");
    text.split('(').next().unwrap_or_default().to_owned()
}

fn check_path(p: &FilePath) -> Result<(), String> {
    let s = p.as_str();
    if s.len() > MAX_PATH_BYTES {
        return Err(format!("{} byte path accepted", s.len()));
    }
    if !s.is_empty() {
        for segment in s.split('/') {
            let bad = segment.is_empty()
                || segment == "."
                || segment == ".."
                || segment.len() > MAX_SEGMENT_BYTES
                || segment.chars().any(|c| c == '\\' || c.is_control());
            if bad {
                return Err(format!("segment {segment:?} accepted in {s:?}"));
            }
        }
    }
    let root = Path::new("/data/root");
    let joined = root.join(s);
    if !joined.starts_with(root)
        || joined
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
    {
        return Err(format!("{s:?} leaves the root: {}", joined.display()));
    }
    match FilePath::parse(s) {
        Ok(again) if again == *p => {}
        other => return Err(format!("{s:?} parses back as {other:?}")),
    }
    match FilePath::parse_encoded(&p.to_encoded()) {
        Ok(again) if again == *p => {}
        other => {
            return Err(format!(
                "{s:?} encoded as {:?} decodes as {other:?}",
                p.to_encoded()
            ))
        }
    }
    Ok(())
}

impl Target for Paths {
    fn name(&self) -> &'static str {
        "paths"
    }
    fn dictionary(&self) -> &'static [&'static str] {
        &[
            "/",
            "//",
            ".",
            "..",
            "%2e",
            "%2E%2e",
            "%2f",
            "%2F",
            "%5c",
            "\\",
            "%00",
            "%25",
            "%",
            "%c0%ae",
            "%e2%80%ae",
            "files",
            "~",
            "\u{202e}",
            "\u{feff}",
            "é",
            "\u{301}",
        ]
    }
    fn run(&mut self, input: &[u8]) -> Outcome {
        let (raw, name) = split_line(input);
        let raw = String::from_utf8_lossy(raw);
        let mut out = String::new();
        for parsed in [FilePath::parse_encoded(&raw), FilePath::parse(&raw)] {
            match parsed {
                Ok(p) => {
                    check_path(&p)?;
                    out.push_str("ok ");
                    if let Ok(child) = p.join(&String::from_utf8_lossy(name)) {
                        check_path(&child)?;
                        if !child.is_within(&p) || child.parent() != p {
                            return Err(format!("{child:?} is not a child of {p:?}"));
                        }
                        out.push_str("join ");
                    }
                }
                Err(e) => {
                    out.push_str(&kind(&e));
                    out.push(' ');
                }
            }
        }
        Ok(out)
    }
}

/// `Signer::verify` over a request line and query mutated from one it signed.
struct Presigned {
    signer: Signer,
    unsigned: String,
    sig: String,
}

const SIGNED_METHOD: &str = "PUT";
const SIGNED_PATH: &str = "/demo/demo-key/files/photos/cat.jpg";
const SIGNED_EXPIRES: u64 = 2_000_000_000;

impl Presigned {
    fn new() -> Self {
        let signer = Signer::from_secret("a fuzzing secret of at least 32 characters");
        let query = signer.sign(
            SIGNED_METHOD,
            SIGNED_PATH,
            SIGNED_EXPIRES,
            5,
            &[("overwrite", "true".to_owned())],
        );
        let (unsigned, sig) = query.rsplit_once("&sig=").unwrap_or((&query, ""));
        Self {
            unsigned: unsigned.to_owned(),
            sig: sig.to_owned(),
            signer,
        }
    }
}

impl Target for Presigned {
    fn name(&self) -> &'static str {
        "presigned"
    }
    fn dictionary(&self) -> &'static [&'static str] {
        &[
            "&sig=",
            "&expires=",
            "&length=",
            "expires=",
            "length=",
            "&",
            "=",
            "%26",
            "%3D",
            "+",
            "GET",
            "PUT",
            "POST",
            "&overwrite=false",
            "00",
            "ff",
            "FF",
        ]
    }
    fn built_seeds(&self) -> Vec<Vec<u8>> {
        let signed = format!(
            "{SIGNED_METHOD}\n{SIGNED_PATH}\n{}&sig={}",
            self.unsigned, self.sig
        );
        let upper = format!(
            "{SIGNED_METHOD}\n{SIGNED_PATH}\n{}&sig={}",
            self.unsigned,
            self.sig.to_ascii_uppercase()
        );
        vec![signed.into_bytes(), upper.into_bytes()]
    }
    fn run(&mut self, input: &[u8]) -> Outcome {
        let (method, rest) = split_line(input);
        let (path, query) = split_line(rest);
        let (method, path, query) = (
            String::from_utf8_lossy(method),
            String::from_utf8_lossy(path),
            String::from_utf8_lossy(query),
        );
        let mut out = String::new();
        for now in [1_900_000_000, 2_100_000_000] {
            match self.signer.verify(&method, &path, &query, now) {
                Ok(signed) => {
                    let (unsigned, sig) = query.rsplit_once("&sig=").unwrap_or_default();
                    let same = method == SIGNED_METHOD
                        && path == SIGNED_PATH
                        && unsigned == self.unsigned
                        && sig.eq_ignore_ascii_case(&self.sig);
                    if !same {
                        return Err(format!("verified a request it did not sign: {input:?}"));
                    }
                    if now > signed.expires || signed.expires != SIGNED_EXPIRES {
                        return Err(format!("verified at {now}, expires {}", signed.expires));
                    }
                    out.push_str("ok ");
                }
                Err(e) => {
                    let api = e.to_api();
                    out.push_str(&status("verify", input, (api.code.status(), api.message))?);
                    out.push(' ');
                }
            }
        }
        Ok(out)
    }
}

/// The Backendless upload route's body reader: raw bodies and `multipart/form-data` forms.
struct Forms {
    runtime: tokio::runtime::Runtime,
}

impl Forms {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("a current-thread runtime: {e}"));
        Self { runtime }
    }
}

impl Target for Forms {
    fn name(&self) -> &'static str {
        "forms"
    }
    fn dictionary(&self) -> &'static [&'static str] {
        &[
            "multipart/form-data",
            "; boundary=",
            "boundary=\"",
            "--XyZ",
            "--XyZ--",
            "\r\n",
            "\r\n\r\n",
            "Content-Disposition: form-data; name=\"file\"",
            "; filename=\"a.txt\"",
            "; filename*=UTF-8''%e2%82%ac",
            "name=\"other\"",
            "Content-Type: text/plain",
            "Content-Transfer-Encoding: base64",
            "\"",
            ";",
            "--",
        ]
    }
    fn run(&mut self, input: &[u8]) -> Outcome {
        let (content_type, body) = split_line(input);
        let mut out = String::new();
        for limit in [1 << 20, 16] {
            let (answered, length) =
                self.runtime
                    .block_on(fuzzing::upload_body(content_type, body.to_vec(), limit));
            let ok = answered.0 == 200;
            out.push_str(&status("the upload body reader", input, answered)?);
            if ok && length > limit {
                return Err(format!("read {length} bytes past a limit of {limit}"));
            }
            out.push(' ');
        }
        Ok(out)
    }
}

/// The `Range` header of a download.
struct Ranges;

impl Target for Ranges {
    fn name(&self) -> &'static str {
        "ranges"
    }
    fn dictionary(&self) -> &'static [&'static str] {
        &[
            "bytes=", "bytes=-", "-", ",", ", ", " ", "0-", "-0", "=", "items=", "bytes = ",
        ]
    }
    fn run(&mut self, input: &[u8]) -> Outcome {
        let (size, header) = split_line(input);
        let size: u64 = String::from_utf8_lossy(size).trim().parse().unwrap_or(1000);
        match fuzzing::range(header, size) {
            Ranged::Whole => Ok("whole".into()),
            Ranged::Part(r) if r.start < r.end && r.end <= size => Ok("part".into()),
            Ranged::Part(r) => Err(format!("range {r:?} of a {size} byte file")),
            Ranged::Unsatisfiable => Ok("416".into()),
        }
    }
}

const JSON_WORDS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "null",
    "true",
    "false",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"name\"",
    "\"directory\"",
    "\"externalId\"",
    "\"metadata\"",
    "\"mimeType\"",
    "\"source\"",
    "\"assetIds\"",
    "\"dataSetId\"",
    "\"labels\"",
    "\"geoLocation\"",
    "\"securityCategories\"",
    "\"sourceCreatedTime\"",
    "\"sourceModifiedTime\"",
    "\"filter\"",
    "\"limit\"",
    "\"cursor\"",
    "\"partition\"",
    "\"1/3\"",
    "\"search\"",
    "\"uploaded\"",
    "\"createdTime\"",
    "\"min\"",
    "\"max\"",
    "\"containsAny\"",
    "\"containsAll\"",
    "\"externalId\": \"x\"",
    "\"type\"",
    "\"Feature\"",
    "\"Point\"",
    "\"coordinates\"",
    "\"relation\"",
    "\"INTERSECTS\"",
    "\"directoryPrefix\"",
    "\"externalIdPrefix\"",
];

/// Cognite's `POST /files`: the JSON, its checks, and the metadata validator.
struct Metadata;

impl Target for Metadata {
    fn name(&self) -> &'static str {
        "metadata"
    }
    fn dictionary(&self) -> &'static [&'static str] {
        JSON_WORDS
    }
    fn run(&mut self, input: &[u8]) -> Outcome {
        status("POST /files", input, fuzzing::cognite_create(input))
    }
}

/// Cognite's `POST /files/list` and `POST /files/search` filters.
struct CogniteFilters;

impl Target for CogniteFilters {
    fn name(&self) -> &'static str {
        "cognite-filters"
    }
    fn dictionary(&self) -> &'static [&'static str] {
        JSON_WORDS
    }
    fn run(&mut self, input: &[u8]) -> Outcome {
        let list = status("POST /files/list", input, fuzzing::cognite_list(input))?;
        let search = status("POST /files/search", input, fuzzing::cognite_search(input))?;
        Ok(format!("{list} {search}"))
    }
}

/// bkend's `GET /v1/files?…` query.
struct BkendFilters;

impl Target for BkendFilters {
    fn name(&self) -> &'static str {
        "bkend-filters"
    }
    fn dictionary(&self) -> &'static [&'static str] {
        &[
            "&",
            "=",
            "%",
            "%00",
            "+",
            "category=",
            "tags=",
            "mimeType=",
            "name=",
            "minSize=",
            "maxSize=",
            "createdFrom=",
            "createdTo=",
            "sort=name",
            "sort=size",
            "sort=createdAt",
            "order=desc",
            "order=asc",
            "limit=",
            "cursor=",
            ",",
            "%2C",
        ]
    }
    fn run(&mut self, input: &[u8]) -> Outcome {
        status("GET /v1/files", input, fuzzing::bkend_list(input))
    }
}
