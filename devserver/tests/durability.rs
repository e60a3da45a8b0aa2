//! Durability as a user meets it (issue #8 §8): a disk that fills up, a refused presigned
//! overwrite, readers during overwrites, a crash between the bytes and the commit, a missing
//! catalog, a second server on a data directory in use, and a big copy next to small writes.
//! Each test failed on the server before the files service (commit a67ba2a).

#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use stowage_devserver::{app, AppState, Config};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

const ROOT: &str = "/demo/demo-key/files";

// ---- what differs between server versions ---------------------------------------------------

/// A configuration over `data` with a catalog of its own (SQLite in `data`, or a fresh
/// PostgreSQL database when `STOWAGE_TEST_DATABASE` is set).
async fn new_config(data: &Path) -> Config {
    let mut config = Config::for_tests(data).await.unwrap();
    // These tests race thousands of uploads in one process on purpose: no upload cap.
    config.max_uploads = 1_000_000;
    config
}

/// The PostgreSQL URL of a configuration; `None` for SQLite in the data directory.
fn database(config: &Config) -> Option<String> {
    config.database.clone()
}

/// `config` with its catalog at `url` (`None`: SQLite in the data directory).
fn with_database(config: &Config, url: Option<String>) -> Config {
    let mut config = config.clone();
    config.database = url;
    config
}

// ---- answers ---------------------------------------------------------------------------------

/// An HTTP answer: status and body.
#[derive(Debug)]
struct Reply {
    status: u16,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The error code of an error body (0 when it is none).
    fn code(&self) -> u64 {
        self.json()["code"].as_u64().unwrap_or(0)
    }

    /// Status and body for failure messages.
    fn describe(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text: String = text.chars().take(200).collect();
        format!("{} {text}", self.status)
    }
}

/// `len` pseudo-random bytes from `seed` (xorshift64*), different for each seed.
fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
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

// ---- the application in-process -------------------------------------------------------------

/// The application over one opened state, called through `oneshot`. Dropping it (with every
/// clone of its state) stops the server: the next [`Api::restart`] is a restart.
struct Api {
    router: axum::Router,
}

impl Api {
    async fn open(config: &Config) -> Self {
        let state = AppState::open(config)
            .await
            .unwrap_or_else(|e| panic!("the server does not start: {e}"));
        Self::over(state)
    }

    /// Opens the state again on the same directory and catalog, the last one dropped.
    async fn restart(config: &Config, when: &str) -> Self {
        let state = AppState::open(config)
            .await
            .unwrap_or_else(|e| panic!("the server does not restart {when}: {e}"));
        Self::over(state)
    }

    fn over(state: AppState) -> Self {
        Self {
            router: app(state, Path::new("/nonexistent-www")),
        }
    }

    async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Reply { status, body }
    }

    async fn call(&self, method: Method, uri: &str, body: impl Into<Body>) -> Reply {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(body.into())
            .unwrap();
        self.send(req).await
    }

    async fn upload(&self, path: &str, bytes: &[u8], overwrite: bool) -> Reply {
        let query = if overwrite { "?overwrite=true" } else { "" };
        let uri = format!("{ROOT}/{path}{query}");
        self.call(Method::POST, &uri, bytes.to_vec()).await
    }

    async fn mkdir(&self, path: &str) -> Reply {
        self.call(Method::POST, &format!("{ROOT}/{path}/"), Body::empty())
            .await
    }

    async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, &format!("{ROOT}/{path}"), Body::empty())
            .await
    }

    async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, &format!("{ROOT}/{path}"), Body::empty())
            .await
    }

    async fn exists(&self, path: &str) -> bool {
        let reply = self
            .call(
                Method::GET,
                &format!("{ROOT}/{path}?action=exists"),
                Body::empty(),
            )
            .await;
        assert_eq!(reply.status, 200, "exists {path}: {}", reply.describe());
        reply.json() == json!(true)
    }

    /// Files below `dir`, recursively.
    async fn count(&self, dir: &str) -> u64 {
        let uri = format!("{ROOT}/{dir}?action=count&sub=true");
        let reply = self.call(Method::GET, &uri, Body::empty()).await;
        assert_eq!(reply.status, 200, "count {dir}: {}", reply.describe());
        reply.json().as_u64().unwrap()
    }

    /// A `/v1` API call with the demo app's key.
    async fn v1(&self, path: &str, body: &Value) -> Reply {
        let req = Request::post(path)
            .header("x-api-key", "demo-key")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(req).await
    }
}

// ---- a real listener -------------------------------------------------------------------------

/// `app(state)` served on `127.0.0.1:0` until dropped.
struct Listening {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn listen(state: AppState) -> Listening {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app(state, Path::new("/nonexistent-www"));
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Listening { addr, task }
}

/// Connects and sends a request head announcing `length` body bytes (`Connection: close`).
async fn send_head(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    length: usize,
) -> TcpStream {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ));
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// Reads the answer on `stream` until the server closes it.
async fn read_reply(mut stream: TcpStream) -> Reply {
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut raw))
        .await
        .expect("no answer within 60 s")
        .unwrap();
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head:?}"));
    let rest = &raw[end + 4..];
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Reply { status, body }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&rest[..eol]);
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        body.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
        rest = &rest[eol + 2 + size + 2..];
    }
    body
}

/// One request over a fresh connection.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut stream = send_head(addr, method, path, headers, body.len()).await;
    // The server may answer (and close) before it has read everything.
    let _ = stream.write_all(body).await;
    read_reply(stream).await
}

// ---- the data directory ----------------------------------------------------------------------

/// Regular files below `dir`, recursively.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() => found.push(path),
                _ => {}
            }
        }
    }
    found.sort();
    found
}

/// Polls `done` every few milliseconds for at most `secs` seconds.
async fn wait_for(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {secs} s for {what}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

// ---- 1. a disk that fills up -----------------------------------------------------------------

/// A tmpfs mounted on a directory, unmounted on drop (also when a test panics).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Result<Self, String> {
        run_mount(
            &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"],
            dir,
        )?;
        Ok(Self(dir.to_path_buf()))
    }

    fn resize(&self, size: &str) {
        run_mount(&["-o", &format!("remount,size={size}")], &self.0).unwrap();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: files the runtime's tasks still hold open must not keep it mounted.
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

fn run_mount(args: &[&str], dir: &Path) -> Result<(), String> {
    let out = std::process::Command::new("mount")
        .args(args)
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run mount: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "mount {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Writes to `path` until not one more byte fits.
fn fill_up(path: &Path) {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path).unwrap();
    for chunk in [64 * 1024, 4096, 1] {
        while file.write_all(&vec![0u8; chunk]).is_ok() {}
    }
}

/// The effective user id, from `/proc/self/status`.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// What an acknowledged operation left at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expected {
    File(Vec<u8>),
    Dir,
    Absent,
}

/// Whether a write was acknowledged. A refusal must be a clean 507 (5001) or 413 (8005):
/// never a 500, which leaves the client not knowing what happened.
fn acknowledged(reply: &Reply, what: &str) -> bool {
    match (reply.status, reply.code()) {
        (200, _) => true,
        (507, 5001) | (413, 8005) => false,
        _ => panic!(
            "{what}: answered {}; a write on a full disk must answer 200, 507 (5001) or 413",
            reply.describe()
        ),
    }
}

/// Every acknowledged operation is there: files with their bytes, directories, and nothing
/// where a delete was acknowledged or a write refused.
async fn verify(api: &Api, model: &BTreeMap<String, Expected>, when: &str) {
    for (path, expected) in model {
        match expected {
            Expected::File(bytes) => {
                let reply = api.get(path).await;
                assert!(
                    reply.status == 200 && reply.body == *bytes,
                    "{when}: {path} was acknowledged with {} bytes, GET answers {} with {} bytes",
                    bytes.len(),
                    reply.status,
                    reply.body.len()
                );
            }
            Expected::Dir => assert!(
                api.exists(path).await,
                "{when}: directory {path} was acknowledged but does not exist"
            ),
            Expected::Absent => {
                let reply = api.get(path).await;
                assert_eq!(
                    reply.status,
                    404,
                    "{when}: {path} was deleted or refused, GET answers {}",
                    reply.describe()
                );
            }
        }
    }
}

/// Writes on a disk that fills up, and what each acknowledged one must have left.
#[derive(Default)]
struct Filler {
    model: BTreeMap<String, Expected>,
    /// Files acknowledged and not deleted, oldest first.
    files: Vec<String>,
    steps: u64,
    refused: u32,
}

impl Filler {
    /// Uploads `count` empty files into one directory and deletes it: their blobs are removed
    /// at once, their rows wait for the garbage collector.
    async fn many_deleted(&mut self, api: &Api, count: usize) {
        let uploads = (0..count).map(|i| async move {
            let path = format!("many/f{i}.txt");
            let reply = api.upload(&path, b"", false).await;
            assert_eq!(reply.status, 200, "upload {path}: {}", reply.describe());
        });
        futures_util::future::join_all(uploads).await;
        let reply = api.delete("many").await;
        assert_eq!(reply.status, 200, "delete many: {}", reply.describe());
        self.model.insert("many".into(), Expected::Absent);
    }

    /// Fills the disk with files of shrinking sizes, each until it is refused twice; then
    /// writes tiny files and directories, which only the catalog's own writes can refuse.
    async fn fill(&mut self, api: &Api) {
        for size in [256 * 1024, 32 * 1024, 4 * 1024] {
            let mut refused_here = 0;
            while refused_here < 2 {
                assert!(self.steps < 400, "the disk never filled");
                if !self.step(api, size).await {
                    refused_here += 1;
                }
            }
        }
        for k in 0..12 {
            self.step(api, k % 2).await;
        }
    }

    /// Uploads a new file of `size` bytes; now and then also makes a directory, overwrites a
    /// file or deletes one. Answers whether the upload was acknowledged.
    async fn step(&mut self, api: &Api, size: usize) -> bool {
        self.steps += 1;
        let n = self.steps;
        let path = format!("d{}/f{n}.bin", n % 3);
        let bytes = pseudo_random(size, n);
        let reply = api.upload(&path, &bytes, false).await;
        let uploaded = acknowledged(&reply, &format!("upload {path}"));
        if uploaded {
            self.model.insert(path.clone(), Expected::File(bytes));
            self.files.push(path);
        } else {
            self.refused += 1;
            self.model.insert(path, Expected::Absent);
        }
        if n % 4 == 0 {
            let dir = format!("m{n}/sub");
            if acknowledged(&api.mkdir(&dir).await, &format!("mkdir {dir}")) {
                self.model.insert(dir, Expected::Dir);
            } else {
                self.refused += 1;
            }
        }
        // Overwrites and deletes take recent files, of about the size being written, so that
        // the disk still fills up.
        if n % 5 == 0 && !self.files.is_empty() {
            let path = self.files[self.files.len() - 1].clone();
            let bytes = pseudo_random(size / 2, n + 100_000);
            let reply = api.upload(&path, &bytes, true).await;
            if acknowledged(&reply, &format!("overwrite {path}")) {
                self.model.insert(path, Expected::File(bytes));
            } else {
                self.refused += 1;
            }
        }
        if n % 9 == 0 && self.files.len() > 2 {
            let path = self.files.remove(self.files.len() - 2);
            if acknowledged(&api.delete(&path).await, &format!("delete {path}")) {
                self.model.insert(path, Expected::Absent);
            } else {
                self.refused += 1;
                self.files.push(path);
            }
        }
        uploaded
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_with_507_and_keeps_every_acknowledged_one() {
    match effective_uid() {
        Some(0) => {}
        uid => {
            eprintln!(
                "skipped: mounting a tmpfs as the data directory needs root (uid {uid:?}); \
                 CI runs as root"
            );
            return;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mount = match Tmpfs::mount(&data, "8m") {
        Ok(m) => m,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let config = new_config(&data).await;
    let mut writes = Filler::default();

    let api = Api::open(&config).await;
    writes.many_deleted(&api, 300).await;
    writes.fill(&api).await;
    eprintln!(
        "{} writes refused in {} steps",
        writes.refused, writes.steps
    );
    // Something else on the disk takes what is left, to the last byte.
    fill_up(&data.join("ballast"));
    verify(&api, &writes.model, "on the full disk").await;
    drop(api);
    let api = Api::restart(&config, "on the full disk").await;
    verify(&api, &writes.model, "after a restart on the full disk").await;

    // Free space through the API: each delete commits or is refused cleanly.
    let mut deleted = 0;
    let half = writes.files.len() / 2;
    for path in writes.files.drain(..half) {
        if acknowledged(
            &api.delete(&path).await,
            &format!("delete {path} to free space"),
        ) {
            writes.model.insert(path, Expected::Absent);
            deleted += 1;
        }
    }
    if deleted == 0 {
        eprintln!("no delete could commit on the full disk: growing the tmpfs instead");
        mount.resize("16m");
    }
    for k in 0..3u64 {
        let path = format!("after/f{k}.bin");
        let bytes = pseudo_random(64 * 1024, 900_000 + k);
        let reply = api.upload(&path, &bytes, false).await;
        assert_eq!(
            reply.status,
            200,
            "upload {path} once space is free: {}",
            reply.describe()
        );
        writes.model.insert(path, Expected::File(bytes));
    }
    verify(&api, &writes.model, "once space is free").await;
    drop(api);
    let api = Api::restart(&config, "once space is free").await;
    verify(&api, &writes.model, "after a restart once space is free").await;
    drop(api);
    drop(mount);
}

// ---- 2. a refused presigned PUT --------------------------------------------------------------

/// The path and query of a URL the server handed out.
fn local(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest[rest.find('/').unwrap()..].to_owned()
}

#[tokio::test]
async fn a_refused_presigned_overwrite_keeps_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let api = Api::open(&new_config(&dir.path().join("data")).await).await;
    let old = b"the old bytes stay".to_vec();
    assert_eq!(api.upload("docs/keep.txt", &old, false).await.status, 200);
    let size = 40;
    let presigned = api
        .v1(
            "/v1/files/presigned-url",
            &json!({"path": "/docs", "name": "keep.txt", "size": size, "overwrite": true}),
        )
        .await;
    assert_eq!(presigned.status, 200, "{}", presigned.describe());
    let url = local(presigned.json()["url"].as_str().unwrap());
    for (what, len, declared) in [
        ("a short body", size - 10, false),
        ("a long body", size + 10, false),
        ("a short body with its Content-Length", size - 10, true),
        ("a long body with its Content-Length", size + 10, true),
        ("an empty body", 0, false),
    ] {
        let mut req = Request::put(&url);
        if declared {
            req = req.header(header::CONTENT_LENGTH, len);
        }
        let reply = api
            .send(req.body(Body::from(vec![b'x'; len])).unwrap())
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (400, 7007),
            "{what}: {}",
            reply.describe()
        );
        let now = api.get("docs/keep.txt").await;
        assert!(
            now.status == 200 && now.body == old,
            "after {what} was refused the old file must stay, GET answers {}",
            now.describe()
        );
    }
    let new = vec![b'n'; size];
    let reply = api
        .send(Request::put(&url).body(Body::from(new.clone())).unwrap())
        .await;
    assert_eq!(reply.status, 200, "the exact size: {}", reply.describe());
    assert_eq!(api.get("docs/keep.txt").await.body, new);
}

// ---- 3. readers during overwrites ------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_during_overwrites_see_one_whole_version_never_404() {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::open(&new_config(&dir.path().join("data")).await)
        .await
        .unwrap();
    let server = listen(state).await;
    let addr = server.addr;
    let versions: Arc<Vec<Vec<u8>>> = Arc::new(
        [(17, 1), (70_000, 2), (3_000, 3), (250_000, 4)]
            .iter()
            .map(|&(len, seed)| pseudo_random(len, seed))
            .collect(),
    );
    let path = format!("{ROOT}/race/file.bin?overwrite=true");
    let reply = http(addr, "POST", &path, &[], &versions[0]).await;
    assert_eq!(reply.status, 200, "{}", reply.describe());

    let writing = Arc::new(AtomicBool::new(true));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (versions, writing) = (versions.clone(), writing.clone());
            tokio::spawn(async move {
                let (mut reads, mut wrong) = (0u32, Vec::new());
                while writing.load(Ordering::Relaxed) {
                    let reply = http(addr, "GET", &format!("{ROOT}/race/file.bin"), &[], b"").await;
                    reads += 1;
                    if reply.status != 200 || !versions.contains(&reply.body) {
                        wrong.push(format!(
                            "{} with {} bytes: {}",
                            reply.status,
                            reply.body.len(),
                            String::from_utf8_lossy(&reply.body[..reply.body.len().min(80)])
                        ));
                    }
                }
                (reads, wrong)
            })
        })
        .collect();
    for i in 1..=300 {
        let reply = http(addr, "POST", &path, &[], &versions[i % versions.len()]).await;
        assert_eq!(reply.status, 200, "overwrite {i}: {}", reply.describe());
    }
    writing.store(false, Ordering::Relaxed);
    let (mut reads, mut wrong) = (0, Vec::new());
    for reader in readers {
        let (n, mut w) = reader.await.unwrap();
        assert!(n > 0, "a reader never read");
        reads += n;
        wrong.append(&mut w);
    }
    assert!(
        wrong.is_empty(),
        "{} of {reads} reads during 300 overwrites were not one whole version, first: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(3)]
    );
}

// ---- 4. a crash between the bytes and the commit, a missing catalog ---------------------------

/// Set in the child process of the crash test: its data directory.
const CRASH_CHILD: &str = "STOWAGE_DURABILITY_CRASH_CHILD";
/// The child's PostgreSQL catalog, when there is one.
const CRASH_CHILD_DB: &str = "STOWAGE_DURABILITY_CRASH_CHILD_DB";
const CRASH_TEST: &str =
    "a_crash_between_bytes_and_commit_leaves_them_in_tmp_and_start_removes_them";
/// Size of the upload that never commits (over the write buffer, so bytes reach the disk).
const CRASH_LEN: usize = 300_001;

/// A catalog connection holding the write lock: commits wait behind it.
enum WriteLock {
    Sqlite(#[allow(dead_code)] sqlx::SqliteConnection),
    Postgres(#[allow(dead_code)] sqlx::PgConnection),
}

async fn hold_write_lock(data: &Path, database: Option<&str>) -> WriteLock {
    use sqlx::Connection as _;
    match database {
        Some(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
            sqlx::query("LOCK TABLE records IN EXCLUSIVE MODE")
                .execute(&mut conn)
                .await
                .unwrap();
            WriteLock::Postgres(conn)
        }
        None => {
            let url = format!("sqlite://{}", data.join("stowage.db").display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut conn)
                .await
                .unwrap();
            WriteLock::Sqlite(conn)
        }
    }
}

/// The crashing server: uploads `crashed.bin` while its commit cannot go through, says READY
/// once every byte is on disk, and waits to be killed.
async fn crash_child(data: PathBuf) {
    let database = std::env::var(CRASH_CHILD_DB).ok().filter(|u| !u.is_empty());
    let config = with_database(&Config::for_data_dir(&data), database.clone());
    let api = Api::open(&config).await;
    // Readers connect first: a new connection may need the lock this test is about to hold.
    let reads = (0..8).map(|_| api.get("kept.txt"));
    for reply in futures_util::future::join_all(reads).await {
        assert_eq!(reply.status, 200, "kept.txt: {}", reply.describe());
    }
    let _lock = hold_write_lock(&data, database.as_deref()).await;
    let upload = tokio::spawn(async move {
        api.upload("crashed.bin", &pseudo_random(CRASH_LEN, 9), false)
            .await
    });
    let written = || {
        files_below(&data)
            .iter()
            .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() == CRASH_LEN as u64))
    };
    wait_for("the upload's bytes on disk", 30, || {
        written() || upload.is_finished()
    })
    .await;
    // Let the upload go as far as it can before its commit.
    tokio::time::sleep(Duration::from_millis(300)).await;
    if upload.is_finished() {
        let reply = upload.await.unwrap();
        panic!(
            "the upload did not wait for its commit: {}",
            reply.describe()
        );
    }
    println!("READY");
    loop {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_bytes_and_commit_leaves_them_in_tmp_and_start_removes_them() {
    if let Ok(data) = std::env::var(CRASH_CHILD) {
        crash_child(PathBuf::from(data)).await;
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = new_config(&data).await;
    {
        let api = Api::open(&config).await;
        assert_eq!(api.upload("kept.txt", b"kept", false).await.status, 200);
    }
    let blobs = data.join("blobs");
    let tmp = data.join("tmp");
    assert_eq!(
        files_below(&blobs).len(),
        1,
        "kept.txt's bytes are published"
    );

    // A server process killed (SIGKILL: no destructor runs) while an upload waits to commit.
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([CRASH_TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(CRASH_CHILD, &data)
        .env(CRASH_CHILD_DB, database(&config).unwrap_or_default())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            // libtest has already written "test NAME ... " on that line.
            if line.ends_with("READY") {
                return true;
            }
        }
        false
    };
    let ready = tokio::time::timeout(Duration::from_secs(60), ready).await;
    assert!(
        matches!(ready, Ok(true)),
        "the crashing server never got its upload's bytes on disk (its output is above)"
    );
    child.kill().await.unwrap();

    let crashed: Vec<(PathBuf, u64)> = files_below(&data)
        .into_iter()
        .filter_map(|p| std::fs::metadata(&p).ok().map(|m| (p, m.len())))
        .filter(|(_, len)| *len == CRASH_LEN as u64)
        .collect();
    assert!(
        crashed.len() == 1 && crashed[0].0.starts_with(&tmp),
        "bytes written but never committed must be only in tmp/, found: {crashed:?}"
    );
    assert_eq!(files_below(&blobs).len(), 1, "only kept.txt is published");

    let api = Api::restart(&config, "after the crash").await;
    assert_eq!(
        files_below(&tmp),
        Vec::<PathBuf>::new(),
        "start removes them"
    );
    assert_eq!(files_below(&blobs).len(), 1, "and keeps the committed file");
    assert_eq!(api.get("kept.txt").await.body, b"kept");
    assert_eq!(api.get("crashed.bin").await.status, 404);
}

#[tokio::test]
async fn a_missing_catalog_is_refused_every_time_and_its_files_are_back_once_restored() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = new_config(&data).await;
    let files = [
        ("a.txt", "one"),
        ("deep/er/b.txt", "two"),
        ("c.bin", "three"),
    ];
    {
        let api = Api::open(&config).await;
        for (path, text) in files {
            assert_eq!(api.upload(path, text.as_bytes(), false).await.status, 200);
        }
    }
    // The catalog goes missing: the SQLite file moves away, or the server is pointed at an
    // empty PostgreSQL database.
    let aside = dir.path().join("aside");
    std::fs::create_dir(&aside).unwrap();
    let catalog_files = ["stowage.db", "stowage.db-wal", "stowage.db-shm"];
    for f in catalog_files {
        let _ = std::fs::rename(data.join(f), aside.join(f));
    }
    let elsewhere = database(&new_config(&dir.path().join("unused")).await);
    let missing = with_database(&config, elsewhere);
    for attempt in ["first", "second"] {
        let err = match AppState::open(&missing).await {
            Ok(_) => panic!("the {attempt} start without its catalog was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("database is new"), "{attempt} start: {err}");
        assert_eq!(
            files_below(&data.join("blobs")).len(),
            files.len(),
            "the {attempt} refused start removed file bytes"
        );
    }
    // The catalog is restored.
    for f in catalog_files {
        let _ = std::fs::remove_file(data.join(f));
        let _ = std::fs::rename(aside.join(f), data.join(f));
    }
    let api = Api::restart(&config, "once the catalog is restored").await;
    for (path, text) in files {
        let reply = api.get(path).await;
        assert_eq!(
            (reply.status, reply.body.as_slice()),
            (200, text.as_bytes()),
            "{path} once the catalog is back"
        );
    }
}

// ---- 5. a second server on a data directory in use -------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_is_refused_while_the_first_has_an_upload_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = new_config(&data).await;
    let first = AppState::open(&config).await.unwrap();
    let server = listen(first).await;
    let body = pseudo_random(1024 * 1024, 5);
    let (head, tail) = body.split_at(600 * 1024);
    let path = format!("{ROOT}/inflight.bin");
    let mut upload = send_head(server.addr, "POST", &path, &[], body.len()).await;
    upload.write_all(head).await.unwrap();
    upload.flush().await.unwrap();
    let tmp = data.join("tmp");
    wait_for("the upload's first bytes in tmp/", 30, || {
        files_below(&tmp)
            .iter()
            .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0))
    })
    .await;

    match AppState::open(&config).await {
        Ok(_) => panic!("a second server opened the data directory while the first serves it"),
        Err(e) => assert!(e.to_string().contains("in use by another"), "{e}"),
    }

    upload.write_all(tail).await.unwrap();
    let reply = read_reply(upload).await;
    assert_eq!(
        reply.status,
        200,
        "the first server's upload: {}",
        reply.describe()
    );
    let reply = http(server.addr, "GET", &path, &[], b"").await;
    assert!(
        reply.status == 200 && reply.body == body,
        "the upload's bytes: {} with {} bytes",
        reply.status,
        reply.body.len()
    );
}

// ---- 6. a big copy next to small writes ------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_upload_finishes_while_a_copy_of_2000_files_runs() {
    const FILES: u64 = 2000;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let state = AppState::open(&new_config(&data).await).await.unwrap();
    let api = Arc::new(Api::over(state.clone()));
    let mut uploads = Vec::new();
    for i in 0..FILES {
        let api = api.clone();
        uploads.push(tokio::spawn(async move {
            let reply = api
                .upload(
                    &format!("src/f{i:04}.txt"),
                    format!("file {i}").as_bytes(),
                    false,
                )
                .await;
            assert_eq!(reply.status, 200, "src/f{i:04}.txt: {}", reply.describe());
        }));
    }
    for upload in uploads {
        upload.await.unwrap();
    }
    assert_eq!(api.count("src").await, FILES);

    // Some of the source blobs: the copy hard-links them, so a link count above 1 says it runs.
    let sources = files_below(&data.join("blobs"));
    let sample: Vec<PathBuf> = sources.iter().step_by(31).cloned().collect();
    let server = listen(state).await;
    let addr = server.addr;
    let copy = tokio::spawn(async move {
        http(
            addr,
            "PUT",
            &format!("{ROOT}/copy"),
            &[("Content-Type", "application/json")],
            json!({"sourcePath": "/src", "targetPath": "/dst"})
                .to_string()
                .as_bytes(),
        )
        .await
    });
    wait_for("the copy to start linking", 60, || {
        copy.is_finished()
            || sample
                .iter()
                .any(|p| std::fs::metadata(p).is_ok_and(|m| m.nlink() > 1))
    })
    .await;
    assert!(
        !copy.is_finished(),
        "the copy ended before it was seen running"
    );

    let small = http(addr, "POST", &format!("{ROOT}/small.txt"), &[], b"small").await;
    let copy_done_first = copy.is_finished();
    assert_eq!(small.status, 200, "the small upload: {}", small.describe());
    assert!(
        !copy_done_first,
        "the small upload waited for the whole copy to finish"
    );

    let copied = copy.await.unwrap();
    assert_eq!(copied.status, 200, "the copy: {}", copied.describe());
    assert_eq!(copied.json(), json!("/dst/src"));
    assert_eq!(api.count("dst/src").await, FILES, "files under the copy");
    assert_eq!(api.count("src").await, FILES, "files under the source");
    for i in (0..FILES).step_by(97).chain([FILES - 1]) {
        let reply = api.get(&format!("dst/src/f{i:04}.txt")).await;
        assert_eq!(
            (
                reply.status,
                String::from_utf8_lossy(&reply.body).into_owned()
            ),
            (200, format!("file {i}")),
            "dst/src/f{i:04}.txt"
        );
    }
    assert_eq!(api.get("small.txt").await.body, b"small");
}

// ---- 6. a retried multipart part cut off by a crash before its row ---------------------------
// (Issue #11: it fails when a retry replaces the staged part's bytes before its row is written,
// the order before the files service; a retry now writes a new blob and names it in the row.)

/// Set in the child process of the part-retry crash test: its data directory.
const RETRY_CHILD: &str = "STOWAGE_DURABILITY_RETRY_CHILD";
/// The child's PostgreSQL catalog, when there is one.
const RETRY_CHILD_DB: &str = "STOWAGE_DURABILITY_RETRY_CHILD_DB";
/// The URL (path and query) of part 1, for the child's retry.
const RETRY_CHILD_URL: &str = "STOWAGE_DURABILITY_RETRY_CHILD_URL";
const RETRY_TEST: &str = "a_part_retry_cut_off_before_its_row_leaves_the_recorded_part_whole";
/// Size of each part (the test hooks allow parts this small).
const RETRY_PART: usize = 300_001;

/// The multipart configuration of the part-retry test over `data` and its catalog.
fn retry_config(data: &Path, database: Option<String>) -> Config {
    let mut config = with_database(&Config::for_data_dir(data), database);
    config.unsafe_test_hooks = true;
    config.min_part_size = RETRY_PART as u64;
    config
}

/// The crashing server: retries part 1 with other bytes while its row cannot be written, says
/// READY once the new bytes are on disk, and waits to be killed.
async fn retry_child(data: PathBuf) {
    let database = std::env::var(RETRY_CHILD_DB).ok().filter(|u| !u.is_empty());
    let url = std::env::var(RETRY_CHILD_URL).unwrap();
    let api = Api::open(&retry_config(&data, database.clone())).await;
    // Readers connect first: a new connection may need the lock this test is about to hold.
    let reads = (0..8).map(|_| api.get("mp/retried.bin"));
    futures_util::future::join_all(reads).await;
    let _lock = match database.as_deref() {
        // PostgreSQL locks by table: the one a part's row goes to.
        Some(url) => {
            use sqlx::Connection as _;
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
            sqlx::query("LOCK TABLE upload_parts IN EXCLUSIVE MODE")
                .execute(&mut conn)
                .await
                .unwrap();
            WriteLock::Postgres(conn)
        }
        None => hold_write_lock(&data, None).await,
    };
    let retry = tokio::spawn(async move {
        api.call(Method::PUT, &url, pseudo_random(RETRY_PART, 99))
            .await
    });
    let tmp = data.join("tmp");
    wait_for("the retried part's bytes on disk", 30, || {
        retry.is_finished()
            || files_below(&tmp)
                .iter()
                .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() == RETRY_PART as u64))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    if retry.is_finished() {
        let reply = retry.await.unwrap();
        panic!("the retry did not wait for its row: {}", reply.describe());
    }
    println!("READY");
    loop {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_retry_cut_off_before_its_row_leaves_the_recorded_part_whole() {
    if let Ok(data) = std::env::var(RETRY_CHILD) {
        retry_child(PathBuf::from(data)).await;
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let database = database(&new_config(&data).await);
    let config = retry_config(&data, database.clone());
    let first = pseudo_random(RETRY_PART, 1);
    let second = pseudo_random(RETRY_PART, 2);
    let (id, url, listed) = {
        let api = Api::open(&config).await;
        let init = api
            .v1(
                "/v1/files/multipart/init",
                &json!({"path": "/mp", "name": "retried.bin", "size": 2 * RETRY_PART,
                        "partSize": RETRY_PART, "checksum": "crc32c"}),
            )
            .await;
        assert_eq!(init.status, 200, "{}", init.describe());
        let id = init.json()["uploadId"].as_str().unwrap().to_owned();
        let urls = api
            .v1(
                "/v1/files/multipart/presigned-url",
                &json!({"uploadId": id, "partNumbers": [1, 2]}),
            )
            .await;
        assert_eq!(urls.status, 200, "{}", urls.describe());
        let urls: Vec<String> = urls.json()["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| local(p["url"].as_str().unwrap()))
            .collect();
        let mut listed = Vec::new();
        for (n, bytes) in [(1, &first), (2, &second)] {
            let reply = api.call(Method::PUT, &urls[n - 1], bytes.clone()).await;
            assert_eq!(reply.status, 200, "part {n}: {}", reply.describe());
            listed.push(json!({"partNumber": n, "etag": reply.json()["etag"]}));
        }
        (id, urls[0].clone(), listed)
    };

    // A server killed while a retry of part 1 (other bytes, same size) waits to record itself.
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([RETRY_TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(RETRY_CHILD, &data)
        .env(RETRY_CHILD_DB, database.clone().unwrap_or_default())
        .env(RETRY_CHILD_URL, &url)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.ends_with("READY") {
                return true;
            }
        }
        false
    };
    let ready = tokio::time::timeout(Duration::from_secs(60), ready).await;
    assert!(
        matches!(ready, Ok(true)),
        "the crashing server never got the retry's bytes on disk (its output is above)"
    );
    child.kill().await.unwrap();

    // After the restart the recorded part is the first attempt, bytes and ETag alike: complete
    // with the ETags the client was given makes the file of those bytes, with their checksum.
    let api = Api::restart(&config, "after the crash").await;
    let done = api
        .v1(
            "/v1/files/multipart/complete",
            &json!({"uploadId": id, "parts": listed}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.describe());
    let whole = [first.as_slice(), second.as_slice()].concat();
    let file = api.get("mp/retried.bin").await;
    assert!(
        file.status == 200 && file.body == whole,
        "the file is not the recorded parts' bytes: {} bytes",
        file.body.len()
    );
    use base64::Engine as _;
    let crc =
        base64::engine::general_purpose::STANDARD.encode(crc32c::crc32c(&whole).to_be_bytes());
    assert_eq!(
        done.json()["checksum"],
        json!(crc),
        "the recorded checksum is the bytes'"
    );
    assert_eq!(files_below(&data.join("tmp")), Vec::<PathBuf>::new());
}
