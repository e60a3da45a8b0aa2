//! The torture suite's crash rounds (issue #11): the real server binary, several clients
//! writing at once through every write route, `kill -9` at a seeded random moment, a restart on
//! the same data directory, and a check of everything after each restart:
//!
//! - every path holds its last acknowledged bytes (by SHA-256), or, for the one operation each
//!   client had in flight when the server died, exactly the state before or after it (a move is
//!   judged on both its paths at once: never a file in both places or in neither);
//! - the listing shows exactly the files that read back;
//! - no catalog row names a missing blob, no blob is named by no row, and `tmp/` is empty.
//!
//! `TORTURE_ROUNDS` (default 6; `npm run torture` runs 200) and `TORTURE_SEED` (default: from
//! the clock) choose the run; the seed is printed, and the same seed replays the same schedule
//! of operations and kill moments. The catalog is SQLite in the data directory, or a fresh
//! PostgreSQL database with `STOWAGE_TEST_DATABASE`; blobs are on disk.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use stowage_devserver::Config;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

type Hash = [u8; 32];
/// What some paths hold: `None` is no file.
type World = BTreeMap<String, Option<Hash>>;

const ROOT: &str = "/demo/demo-key/files";
const CLIENTS: usize = 4;
/// The multipart part size (the server runs with `--min-part-size` this small).
const PART: usize = 64 * 1024;
const NAMES: [&str; 3] = ["f0", "f1", "f2"];
const DIRS: [&str; 2] = ["a", "b"];

// ---- the server process ----------------------------------------------------------------------

struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts the binary on `data` and waits until it answers.
    async fn start(data: &Path, database: Option<&str>) -> Server {
        let www = data.with_extension("www");
        std::fs::create_dir_all(&www).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stowage-devserver"));
        cmd.arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data")
            .arg(data)
            .arg("--www")
            .arg(&www)
            .args(["--min-part-size", &PART.to_string(), "--unsafe-test-hooks"])
            .env("RUST_LOG", "stowage_devserver=info,tower_http=warn")
            .env("NO_COLOR", "1")
            .env_remove("STOWAGE_DATABASE")
            .env_remove("STOWAGE_BLOBS")
            .env_remove("STOWAGE_APPS")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(url) = database {
            cmd.arg("--database").arg(url);
        }
        let mut child = cmd.spawn().expect("start stowage-devserver");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let find = async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(at) = line.find("listening on http://") {
                    let rest = &line[at + "listening on ".len()..];
                    let end = rest
                        .find(|c: char| c.is_whitespace() || c == '\u{1b}')
                        .unwrap_or(rest.len());
                    return rest[..end].to_owned();
                }
            }
            panic!("the server exited before it listened");
        };
        let base = tokio::time::timeout(Duration::from_secs(120), find)
            .await
            .expect("the server did not start within 120 s");
        // Keep reading its output so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Server { child, base }
    }

    /// `kill -9`: no destructor, no drain, no flush.
    async fn kill(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }
}

// ---- requests --------------------------------------------------------------------------------

/// A failed request: the transport broke, or the status was not the one wanted.
type Failed = String;

async fn send(req: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), Failed> {
    let res = req.send().await.map_err(|e| format!("transport: {e}"))?;
    let status = res.status().as_u16();
    let body = res.bytes().await.map_err(|e| format!("body: {e}"))?;
    Ok((status, body.to_vec()))
}

async fn ok(req: reqwest::RequestBuilder) -> Result<Value, Failed> {
    let (status, body) = send(req).await?;
    if status != 200 {
        let text: String = String::from_utf8_lossy(&body).chars().take(300).collect();
        return Err(format!("{status} {text}"));
    }
    Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn json_body(req: reqwest::RequestBuilder, body: &Value) -> reqwest::RequestBuilder {
    req.header("content-type", "application/json")
        .header("x-api-key", "demo-key")
        .body(body.to_string())
}

fn absolute(base: &str, url: &str) -> String {
    if url.starts_with("http") {
        url.to_owned()
    } else {
        format!("{base}{url}")
    }
}

fn hash(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

fn short(h: Option<Hash>) -> String {
    h.map_or("absent".into(), |h| {
        h[..4].iter().map(|b| format!("{b:02x}")).collect()
    })
}

// ---- the operations --------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Raw,
    Form,
    Base64,
    Presigned,
    Multipart(&'static str),
    Unfinished,
    Copy,
    Move,
    Rename,
    Delete,
}

/// One client: its own paths (`/t{k}/{a,b}/{f0,f1,f2}`), what they hold, its random stream.
struct Client {
    k: usize,
    world: World,
    rng: StdRng,
    http: reqwest::Client,
}

/// What a client's round ended with: the operation in flight when the server died, as the
/// states its paths may be in (before, after).
struct Uncertain {
    kind: Kind,
    maybe: Vec<World>,
}

impl Client {
    fn paths(k: usize) -> Vec<String> {
        DIRS.iter()
            .flat_map(|d| NAMES.iter().map(move |n| format!("t{k}/{d}/{n}")))
            .collect()
    }

    fn present(&self) -> Vec<String> {
        self.world
            .iter()
            .filter(|(_, h)| h.is_some())
            .map(|(p, _)| p.clone())
            .collect()
    }

    fn bytes(&mut self) -> Vec<u8> {
        let len = match self.rng.random_range(0..20) {
            0 => 0,
            1..=4 => self.rng.random_range(1..200),
            5..=12 => self.rng.random_range(200..70_000),
            13..=17 => self.rng.random_range(70_000..400_000),
            _ => self.rng.random_range(400_000..3_000_000),
        };
        let mut data = vec![0; len];
        self.rng.fill_bytes(&mut data);
        data
    }

    /// Picks the next operation: what it does, and what its paths hold once it succeeded.
    fn pick(&mut self) -> Op {
        let present = self.present();
        let kind = match self.rng.random_range(0..16) {
            0..=1 => Kind::Raw,
            2..=3 => Kind::Form,
            4 => Kind::Base64,
            5..=6 => Kind::Presigned,
            7 => Kind::Multipart("crc32c"),
            8 => Kind::Multipart("sha256"),
            9 => Kind::Multipart("none"),
            10 => Kind::Unfinished,
            11 => Kind::Copy,
            12 => Kind::Move,
            13 => Kind::Rename,
            _ => Kind::Delete,
        };
        let needs_source = matches!(kind, Kind::Copy | Kind::Move | Kind::Rename | Kind::Delete);
        if needs_source && !present.is_empty() {
            let src = present[self.rng.random_range(0..present.len())].clone();
            let (dir, name) = src.rsplit_once('/').unwrap();
            let target = match kind {
                Kind::Copy | Kind::Move => {
                    let (top, sub) = dir.rsplit_once('/').unwrap();
                    let other = if sub == "a" { "b" } else { "a" };
                    format!("{top}/{other}/{name}")
                }
                Kind::Rename => {
                    let other = NAMES[self.rng.random_range(0..NAMES.len())];
                    format!("{dir}/{other}")
                }
                _ => src.clone(),
            };
            let held = self.world[&src];
            let mut after = World::new();
            if kind == Kind::Delete {
                after.insert(src.clone(), None);
            } else if self.world[&target].is_none() {
                if kind != Kind::Copy {
                    after.insert(src.clone(), None);
                }
                after.insert(target.clone(), held);
            }
            if !after.is_empty() {
                return Op {
                    kind,
                    path: src,
                    target,
                    data: Vec::new(),
                    after,
                };
            }
        }
        let kind = if needs_source { Kind::Raw } else { kind };
        let all = Self::paths(self.k);
        let path = all[self.rng.random_range(0..all.len())].clone();
        let mut data = self.bytes();
        if matches!(kind, Kind::Multipart(_) | Kind::Unfinished) && data.is_empty() {
            data.push(7);
        }
        let after = if kind == Kind::Unfinished {
            World::new()
        } else {
            [(path.clone(), Some(hash(&data)))].into()
        };
        Op {
            kind,
            target: path.clone(),
            path,
            data,
            after,
        }
    }

    /// Runs one operation against `base`; `Ok` once the server acknowledged it.
    async fn run(&mut self, base: &str, op: Op) -> Result<(), Failed> {
        let http = self.http.clone();
        let Op {
            kind,
            path,
            target,
            data,
            ..
        } = op;
        let (dir, name) = path.rsplit_once('/').unwrap();
        let url = format!("{base}{ROOT}/{path}?overwrite=true");
        match kind {
            Kind::Raw => {
                ok(http
                    .post(url)
                    .header("content-type", "application/octet-stream")
                    .body(data))
                .await?;
            }
            Kind::Form => {
                let boundary = format!("torture{:016x}", self.rng.next_u64());
                let mut body = format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
                     filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .into_bytes();
                body.extend_from_slice(&data);
                body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
                let form = format!("multipart/form-data; boundary={boundary}");
                ok(http.post(url).header("content-type", form).body(body)).await?;
            }
            Kind::Base64 => {
                ok(http
                    .put(format!("{base}{ROOT}/binary/{path}?overwrite=true"))
                    .header("content-type", "text/plain")
                    .body(BASE64.encode(&data)))
                .await?;
            }
            Kind::Presigned => {
                let ask = json!({"path": format!("/{dir}"), "name": name,
                    "size": data.len(), "overwrite": true});
                let signed = ok(json_body(
                    http.post(format!("{base}/v1/files/presigned-url")),
                    &ask,
                ))
                .await?;
                let mut put = http.put(absolute(base, signed["url"].as_str().unwrap_or_default()));
                for (k, v) in signed["headers"].as_object().into_iter().flatten() {
                    put = put.header(k.as_str(), v.as_str().unwrap_or_default());
                }
                ok(put.body(data)).await?;
            }
            Kind::Multipart(_) | Kind::Unfinished => {
                let checksum = match kind {
                    Kind::Multipart(c) => c,
                    _ => "crc32c",
                };
                let init = json!({"path": format!("/{dir}"), "name": name, "size": data.len(),
                    "partSize": PART, "overwrite": true, "checksum": checksum});
                let upload = ok(json_body(
                    http.post(format!("{base}/v1/files/multipart/init")),
                    &init,
                ))
                .await?;
                let id = upload["uploadId"].as_str().unwrap_or_default().to_owned();
                let count = data.len().div_ceil(PART);
                let numbers: Vec<usize> = (1..=count).collect();
                let urls = ok(json_body(
                    http.post(format!("{base}/v1/files/multipart/presigned-url")),
                    &json!({"uploadId": id, "partNumbers": numbers}),
                ))
                .await?;
                let sent = if kind == Kind::Unfinished {
                    self.rng.random_range(0..=count)
                } else {
                    count
                };
                let mut parts = Vec::new();
                let urls = urls["parts"].as_array().cloned().unwrap_or_default();
                for (i, part) in urls.iter().enumerate().take(sent) {
                    let chunk = data[i * PART..((i + 1) * PART).min(data.len())].to_vec();
                    let mut put =
                        http.put(absolute(base, part["url"].as_str().unwrap_or_default()));
                    match checksum {
                        "crc32c" => {
                            let crc = crc32c::crc32c(&chunk).to_be_bytes();
                            put = put.header("x-stowage-checksum-crc32c", BASE64.encode(crc));
                        }
                        "sha256" => {
                            let digest = BASE64.encode(hash(&chunk));
                            put = put.header("x-stowage-checksum-sha256", digest);
                        }
                        _ => {}
                    }
                    let answer = ok(put.body(chunk)).await?;
                    parts.push(json!({"partNumber": i + 1, "etag": answer["etag"]}));
                }
                if kind == Kind::Multipart(checksum) {
                    ok(json_body(
                        http.post(format!("{base}/v1/files/multipart/complete")),
                        &json!({"uploadId": id, "parts": parts}),
                    ))
                    .await?;
                }
                // Unfinished: left for the collector.
            }
            Kind::Copy | Kind::Move | Kind::Rename => {
                let (target_dir, target_name) = target.rsplit_once('/').unwrap();
                let (route, body) = match kind {
                    Kind::Rename => (
                        "rename",
                        json!({"oldPathName": format!("/{path}"), "newName": target_name}),
                    ),
                    Kind::Copy => (
                        "copy",
                        json!({"sourcePath": format!("/{path}"), "targetPath": format!("/{target_dir}")}),
                    ),
                    _ => (
                        "move",
                        json!({"sourcePath": format!("/{path}"), "targetPath": format!("/{target_dir}")}),
                    ),
                };
                ok(json_body(http.put(format!("{base}{ROOT}/{route}")), &body)).await?;
            }
            Kind::Delete => {
                ok(http.delete(format!("{base}{ROOT}/{path}"))).await?;
            }
        }
        Ok(())
    }

    /// Runs operations until the server dies. `Err` is an operation that failed while it lived.
    async fn round(
        &mut self,
        base: &str,
        killed: &AtomicBool,
        tally: &mut Tally,
    ) -> Result<Option<Uncertain>, Failed> {
        loop {
            let op = self.pick();
            let (kind, what) = (
                op.kind,
                format!("{:?} {} -> {}", op.kind, op.path, op.target),
            );
            let after = op.after.clone();
            match self.run(base, op).await {
                Ok(()) => {
                    *tally.acknowledged.entry(format!("{kind:?}")).or_default() += 1;
                    self.world.extend(after);
                }
                Err(_) if killed.load(Ordering::SeqCst) => {
                    let before = after.keys().map(|p| (p.clone(), self.world[p])).collect();
                    return Ok(Some(Uncertain {
                        kind,
                        maybe: vec![before, after],
                    }));
                }
                Err(e) => return Err(format!("{what}: {e}")),
            }
        }
    }
}

/// One operation: its kind, its path (and the other path of a copy, move or rename), the bytes
/// of an upload, and what its paths hold once it succeeded.
struct Op {
    kind: Kind,
    path: String,
    target: String,
    data: Vec<u8>,
    after: World,
}

#[derive(Debug, Default)]
struct Tally {
    acknowledged: BTreeMap<String, u64>,
    in_flight: u64,
    landed_after: u64,
    landed_before: u64,
    checked_paths: u64,
}

// ---- the checks after a restart --------------------------------------------------------------

/// What `path` holds, read through the server.
async fn observe(http: &reqwest::Client, base: &str, path: &str) -> Option<Hash> {
    let (status, body) = send(http.get(format!("{base}{ROOT}/{path}")))
        .await
        .unwrap_or_else(|e| panic!("reading {path} after the restart: {e}"));
    match status {
        200 => Some(hash(&body)),
        404 => None,
        s => panic!(
            "reading {path} after the restart: {s} {}",
            String::from_utf8_lossy(&body)
        ),
    }
}

/// Checks one client's paths after a restart, then takes what is there as its world.
async fn check_client(
    client: &mut Client,
    base: &str,
    uncertain: Option<Uncertain>,
    replay: &str,
    tally: &mut Tally,
) {
    let mut seen = World::new();
    for path in Client::paths(client.k) {
        seen.insert(path.clone(), observe(&client.http, base, &path).await);
    }
    tally.checked_paths += seen.len() as u64;
    let touched: BTreeSet<String> = uncertain
        .iter()
        .flat_map(|u| u.maybe.iter().flat_map(|w| w.keys().cloned()))
        .collect();
    for (path, held) in &seen {
        if !touched.contains(path) && client.world[path] != *held {
            panic!(
                "{path}: acknowledged {}, after the restart {} ({replay})",
                short(client.world[path]),
                short(*held)
            );
        }
    }
    if let Some(u) = &uncertain {
        tally.in_flight += 1;
        let now: World = touched.iter().map(|p| (p.clone(), seen[p])).collect();
        if now == u.maybe[0] {
            tally.landed_before += 1;
        } else if now == u.maybe[1] {
            tally.landed_after += 1;
        } else {
            panic!(
                "{:?} in flight at the kill left {:?}; allowed {:?} ({replay})",
                u.kind,
                now.iter().map(|(p, h)| (p, short(*h))).collect::<Vec<_>>(),
                u.maybe
                    .iter()
                    .map(|w| w
                        .iter()
                        .map(|(p, h)| (p.clone(), short(*h)))
                        .collect::<Vec<_>>())
                    .collect::<Vec<_>>()
            );
        }
    }
    // The listing shows exactly the files that read back.
    // A directory that holds nothing answers 404 (6000), like Backendless.
    let (status, body) = send(client.http.get(format!(
        "{base}{ROOT}/t{}/?sub=true&pagesize=1000",
        client.k
    )))
    .await
    .unwrap_or_else(|e| panic!("listing t{} after the restart: {e}", client.k));
    let listing: Value = match status {
        200 => serde_json::from_slice(&body).unwrap_or(Value::Null),
        404 => Value::Array(Vec::new()),
        other => panic!(
            "listing t{} after the restart: {other} {}",
            client.k,
            String::from_utf8_lossy(&body)
        ),
    };
    let listed: BTreeSet<String> = listing
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["isDirectory"] != json!(true))
        .filter_map(|e| e["url"].as_str().map(str::to_owned))
        .collect();
    let read: BTreeSet<String> = seen
        .iter()
        .filter(|(_, h)| h.is_some())
        .map(|(p, _)| p.clone())
        .collect();
    assert_eq!(listed, read, "listing vs reads of t{} ({replay})", client.k);
    client.world = seen;
}

fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                Ok(t) if t.is_file() => found.push(entry.path()),
                _ => {}
            }
        }
    }
    found
}

/// Rows against blobs: every named blob exists, every blob is named, `tmp/` is empty.
async fn check_store(data: &Path, database: Option<&str>, replay: &str) {
    sqlx::any::install_default_drivers();
    let url = database.map_or_else(
        || format!("sqlite://{}?mode=ro", data.join("stowage.db").display()),
        str::to_owned,
    );
    let mut db = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let names = |sql: &'static str| sqlx::query_scalar::<_, String>(sql);
    let named: BTreeSet<String> = names("SELECT blob_id FROM records WHERE blob_id IS NOT NULL")
        .fetch_all(&mut db)
        .await
        .unwrap()
        .into_iter()
        .chain(
            names("SELECT blob_id FROM upload_parts")
                .fetch_all(&mut db)
                .await
                .unwrap(),
        )
        .collect();
    let garbage: BTreeSet<String> = names("SELECT blob_id FROM garbage")
        .fetch_all(&mut db)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let on_disk: BTreeSet<String> = files_below(&data.join("blobs"))
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
        .collect();
    let missing: Vec<_> = named.difference(&on_disk).collect();
    assert!(
        missing.is_empty(),
        "rows name missing blobs {missing:?} ({replay})"
    );
    let unnamed: Vec<_> = on_disk
        .iter()
        .filter(|b| !named.contains(*b) && !garbage.contains(*b))
        .collect();
    assert!(
        unnamed.is_empty(),
        "blobs no row names: {unnamed:?} ({replay})"
    );
    let left = files_below(&data.join("tmp"));
    assert!(
        left.is_empty(),
        "tmp/ after the restart: {left:?} ({replay})"
    );
}

// ---- the rounds ------------------------------------------------------------------------------

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_at_random_moments_loses_nothing_acknowledged() {
    let rounds = env_u64("TORTURE_ROUNDS").unwrap_or(6);
    let seed = env_u64("TORTURE_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            % 1_000_000_007
    });
    println!("torture: {rounds} crash rounds, seed {seed} (replay: TORTURE_SEED={seed} TORTURE_ROUNDS={rounds})");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = Config::for_tests(&data).await.unwrap();
    let database = config.database.clone();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut clients: Vec<Client> = (0..CLIENTS)
        .map(|k| Client {
            k,
            world: Client::paths(k).into_iter().map(|p| (p, None)).collect(),
            rng: StdRng::seed_from_u64(seed.wrapping_mul(31).wrapping_add(k as u64)),
            http: http.clone(),
        })
        .collect();
    let mut schedule = StdRng::seed_from_u64(seed);
    let mut tally = Tally::default();
    let mut pending: Vec<Option<Uncertain>> = (0..CLIENTS).map(|_| None).collect();
    let started = Instant::now();
    for round in 0..=rounds {
        let replay = format!("round {round}, TORTURE_SEED={seed}");
        let server = Server::start(&data, database.as_deref()).await;
        for (client, uncertain) in clients.iter_mut().zip(pending.iter_mut()) {
            check_client(client, &server.base, uncertain.take(), &replay, &mut tally).await;
        }
        check_store(&data, database.as_deref(), &replay).await;
        if round == rounds {
            server.kill().await;
            break;
        }
        let kill_after = Duration::from_millis(match schedule.random_range(0..10) {
            0 => schedule.random_range(0..20),
            _ => schedule.random_range(20..600),
        });
        let killed = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for mut client in std::mem::take(&mut clients) {
            let base = server.base.clone();
            let killed = Arc::clone(&killed);
            tasks.push(tokio::spawn(async move {
                let mut tally = Tally::default();
                let outcome = client.round(&base, &killed, &mut tally).await;
                (client, outcome, tally)
            }));
        }
        tokio::time::sleep(kill_after).await;
        killed.store(true, Ordering::SeqCst);
        server.kill().await;
        for (k, task) in tasks.into_iter().enumerate() {
            let (client, outcome, t) = task.await.unwrap();
            for (kind, n) in t.acknowledged {
                *tally.acknowledged.entry(kind).or_default() += n;
            }
            match outcome {
                Ok(uncertain) => pending[k] = uncertain,
                Err(e) => panic!("client {k}: {e} ({replay})"),
            }
            clients.push(client);
        }
    }
    let acknowledged: u64 = tally.acknowledged.values().sum();
    println!(
        "torture: {rounds} rounds on {} in {:.1} s, seed {seed}: {acknowledged} operations \
         acknowledged and kept {:?}; {} in flight at a kill ({} landed whole, {} not at all, 0 \
         torn); {} path checks, rows and blobs consistent after every restart",
        if database
            .as_deref()
            .is_some_and(|d| d.starts_with("postgres"))
        {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        started.elapsed().as_secs_f64(),
        tally.acknowledged,
        tally.in_flight,
        tally.landed_after,
        tally.landed_before,
        tally.checked_paths,
    );
    assert!(acknowledged > 0, "no operation was acknowledged at all");
}
