//! Helpers shared by the real-listener tests: a server on `127.0.0.1:0` over a fresh temp
//! directory, a raw HTTP/1.1 client that sends paths byte for byte, and test data builders.

// Each test binary uses only some of these helpers.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use stowage_devserver::{app, AppState, Config};
use stowage_protocol::{ErrorBody, ErrorCode};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The app root of the default app.
pub(crate) const ROOT: &str = "/demo/demo-key";

/// A server serving `app(...)` on a real listener. The temp directory holds `data/` (the data
/// directory), `www/` (the static root) and `sentinel/` (must stay empty); nothing else may appear.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) dir: TempDir,
    pub(crate) client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// A server with the default config (app `demo`/`demo-key`).
    pub(crate) async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A server whose config `configure` adjusts after the defaults and the bound address.
    pub(crate) async fn start_with(configure: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("www")).unwrap();
        std::fs::create_dir(dir.path().join("sentinel")).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = Config::for_tests(dir.path().join("data")).await.unwrap();
        config.listen = addr;
        configure(&mut config);
        let state = AppState::open(&config).await.unwrap();
        let router = app(state, &dir.path().join("www"));
        let limits = config.limits();
        // As main.rs serves it: its timeouts, its connection cap, the peer address.
        let task = tokio::spawn(stowage_devserver::listen::serve(
            listener,
            router,
            limits,
            None,
            std::future::pending(),
        ));
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        Self {
            addr,
            dir,
            client,
            task,
        }
    }

    /// `http://{addr}{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `http://{addr}/demo/demo-key/files/{rest}`.
    pub(crate) fn files_url(&self, rest: &str) -> String {
        self.url(&format!("{ROOT}/files/{rest}"))
    }

    /// The data directory.
    pub(crate) fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Every path under the temp directory that is not inside `data/`.
    pub(crate) fn outside_data(&self) -> BTreeSet<PathBuf> {
        let data = self.data();
        walk(self.dir.path())
            .into_iter()
            .filter(|p| !p.starts_with(&data))
            .collect()
    }

    /// Asserts that the temp directory holds only `data/`, an empty `www/` and an empty
    /// `sentinel/`: no request wrote anything outside the data directory.
    pub(crate) fn assert_nothing_outside_data(&self) {
        let expected: BTreeSet<PathBuf> = ["www", "sentinel"]
            .iter()
            .map(|n| self.dir.path().join(n))
            .collect();
        assert_eq!(self.outside_data(), expected, "files outside data/");
    }

    /// Files (not directories) under `data/tmp`.
    pub(crate) fn tmp_files(&self) -> Vec<PathBuf> {
        files_only(&self.data().join("tmp"))
    }

    /// Files (not directories) under `data/blobs`.
    pub(crate) fn blob_files(&self) -> Vec<PathBuf> {
        files_only(&self.data().join("blobs"))
    }

    /// A raw request to this server (see [`raw_request`]).
    pub(crate) async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> RawResponse {
        raw_request(self.addr, method, path, headers, body).await
    }

    /// The paths (`url` fields) of every entry below the root, from `?sub=true`.
    pub(crate) async fn all_paths(&self) -> BTreeSet<String> {
        let response = self
            .client
            .get(self.files_url("?sub=true&pagesize=1000"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let entries: Vec<serde_json::Value> = response.json().await.unwrap();
        entries
            .iter()
            .map(|e| e["url"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// Every file and directory below `dir`, recursively.
pub(crate) fn walk(dir: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            found.insert(path);
        }
    }
    found
}

fn files_only(dir: &Path) -> Vec<PathBuf> {
    walk(dir).into_iter().filter(|p| p.is_file()).collect()
}

/// A response read off the wire by [`raw_request`].
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl RawResponse {
    /// The first header called `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as an error `{code, message}`, panicking with the raw text when it is not one.
    pub(crate) fn error_body(&self) -> ErrorBody {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not an error body ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts that this is the JSON error `code` with its status and a non-empty message.
    pub(crate) fn assert_error(&self, code: ErrorCode) {
        let body = self.error_body();
        assert_eq!(
            (self.status, body.code),
            (code.status(), code.code()),
            "expected {code:?}, got {} {}: {}",
            self.status,
            body.code,
            body.message
        );
        assert!(!body.message.is_empty(), "empty message for {code:?}");
    }
}

fn has_header(headers: &[(&str, &str)], name: &str) -> bool {
    headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
}

/// Sends one HTTP/1.1 request over a fresh TCP connection with `path` exactly as given (no
/// client-side normalisation of `..`, `%2e` or `\`), and reads the answer until the server
/// closes. Adds `Host` and `Content-Length` unless `headers` has them (or `Transfer-Encoding`,
/// in which case `body` is sent as already encoded), and `Connection: close`.
pub(crate) async fn raw_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let mut request = format!("{method} {path} HTTP/1.1\r\n").into_bytes();
    let mut line = |k: &str, v: &str| request.extend(format!("{k}: {v}\r\n").into_bytes());
    if !has_header(headers, "host") {
        line("Host", &addr.to_string());
    }
    for (k, v) in headers {
        line(k, v);
    }
    if !has_header(headers, "content-length") && !has_header(headers, "transfer-encoding") {
        line("Content-Length", &body.len().to_string());
    }
    line("Connection", "close");
    request.extend(b"\r\n");
    request.extend(body);

    let exchange = async {
        let (mut reader, mut writer) = TcpStream::connect(addr).await.unwrap().into_split();
        // Write while reading: the server may answer (and close) before taking the whole body.
        // The write half is kept until the answer is read: dropping it would half-close.
        let write = tokio::spawn(async move {
            let _ = writer.write_all(&request).await;
            writer
        });
        let mut received = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
        drop(write.await);
        received
    };
    let received = tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .unwrap_or_else(|_| panic!("no answer to {method} {path}"));
    parse_response(&received, method == "HEAD")
}

fn parse_response(raw: &[u8], head_only: bool) -> RawResponse {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let mut response = RawResponse {
        status,
        headers,
        body: Vec::new(),
    };
    if head_only {
        return response;
    }
    response.body = if response
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        dechunk(rest)
    } else {
        let length = response
            .header("content-length")
            .and_then(|n| n.parse().ok())
            .unwrap_or(rest.len());
        rest[..length.min(rest.len())].to_vec()
    };
    response
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&rest[..eol]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).unwrap();
        if size == 0 {
            break;
        }
        let start = eol + 2;
        body.extend_from_slice(&rest[start..start + size]);
        rest = &rest[start + size + 2..];
    }
    body
}

/// `len` pseudo-random bytes from `seed` (xorshift64*), different for each seed.
pub(crate) fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A `multipart/form-data` body with one text part `note` and the file in a part named
/// `field`. Returns the body and its `Content-Type`.
pub(crate) fn multipart(field: &str, file_name: &str, bytes: &[u8]) -> (Vec<u8>, String) {
    let boundary = "----stowage-test-boundary-7d9f1c";
    let mut body = Vec::new();
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; \
             filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    (body, format!("multipart/form-data; boundary={boundary}"))
}

/// `text` cut to 60 characters for failure messages.
pub(crate) fn shorten(text: &str) -> String {
    if text.chars().count() <= 60 {
        return text.to_owned();
    }
    let start: String = text.chars().take(60).collect();
    format!("{start}… ({} bytes)", text.len())
}
