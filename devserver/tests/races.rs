//! Races a user can start (issue #11 §3), over a real listener on loopback: an upload racing a
//! move of its directory, a delete racing a download, two `complete`s of one multipart upload at
//! once, and the collector of abandoned uploads racing `init` and `complete`. Each race runs
//! many rounds with the interleaving shifted a little every round, and takes a few seconds.
//! (Racing no-overwrite uploads and readers during overwrites are in `tests/listener.rs` and
//! `durability.rs`.)

#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use stowage_devserver::{app, AppState, Config};
use tokio::net::TcpListener;

const ROOT: &str = "/demo/demo-key/files";
/// Part size of the multipart uploads here (the smallest the test hooks allow is 1 byte).
const PART: usize = 64 * 1024;

/// The server on `127.0.0.1:0`, served as `main.rs` serves it, and its state (the collector is
/// not spawned: the tests run its ticks themselves, with the clock they choose).
struct Server {
    base: String,
    state: AppState,
    client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An answer: status and body; `torn` when the body ended before its announced length.
#[derive(Debug)]
struct Reply {
    status: u16,
    body: Vec<u8>,
    torn: bool,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn code(&self) -> u64 {
        self.json()["code"].as_u64().unwrap_or(0)
    }

    fn describe(&self) -> String {
        let text = String::from_utf8_lossy(&self.body[..self.body.len().min(200)]).into_owned();
        format!(
            "{} ({} bytes, torn: {}) {text}",
            self.status,
            self.body.len(),
            self.torn
        )
    }
}

/// `len` pseudo-random bytes from `seed` (xorshift64*).
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

/// A pause of 0 to `max_us` microseconds that differs from round to round.
async fn jitter(round: u64, max_us: u64) {
    let us = pseudo_random(8, round + 1000)
        .iter()
        .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(*b)))
        % (max_us + 1);
    tokio::time::sleep(Duration::from_micros(us)).await;
}

impl Server {
    async fn start(upload_ttl: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = Config::for_tests(dir.path().join("data")).await.unwrap();
        config.listen = addr;
        config.unsafe_test_hooks = true;
        config.min_part_size = PART as u64;
        config.upload_ttl = upload_ttl;
        config.max_uploads = 10_000;
        let state = AppState::open(&config).await.unwrap();
        let router = app(state.clone(), &dir.path().join("www"));
        let task = tokio::spawn(stowage_devserver::listen::serve(
            listener,
            router,
            config.limits(),
            None,
            std::future::pending(),
        ));
        Self {
            base: format!("http://{addr}"),
            state,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            task,
            _dir: dir,
        }
    }

    /// One request; `path` is below the server's address (or a whole URL it handed out).
    async fn call(&self, method: &str, path: &str, json: Option<&Value>, body: Vec<u8>) -> Reply {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .client
            .request(method, url)
            .header("x-api-key", "demo-key");
        req = match json {
            Some(v) => req
                .header("content-type", "application/json")
                .body(v.to_string()),
            None => req.body(body),
        };
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        match res.bytes().await {
            Ok(b) => Reply {
                status,
                body: b.to_vec(),
                torn: false,
            },
            Err(_) => Reply {
                status,
                body: Vec::new(),
                torn: true,
            },
        }
    }

    async fn upload(&self, path: &str, bytes: &[u8]) -> Reply {
        self.call("POST", &format!("{ROOT}/{path}"), None, bytes.to_vec())
            .await
    }

    async fn get(&self, path: &str) -> Reply {
        self.call("GET", &format!("{ROOT}/{path}"), None, Vec::new())
            .await
    }

    /// Every file path below `dir`, recursively, sorted.
    async fn files_below(&self, dir: &str) -> Vec<String> {
        let reply = self
            .call(
                "GET",
                &format!("{ROOT}/{dir}?sub=true&pagesize=1000"),
                None,
                Vec::new(),
            )
            .await;
        if reply.status == 404 {
            return Vec::new();
        }
        assert_eq!(reply.status, 200, "listing {dir}: {}", reply.describe());
        let mut names: Vec<String> = reply
            .json()
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["isDirectory"] != json!(true))
            .map(|e| {
                let url = e["url"].as_str().unwrap();
                url.split_once("/files/").map_or(url, |(_, p)| p).to_owned()
            })
            .collect();
        names.sort();
        names
    }

    /// Starts a multipart upload of `data` to `dir/name` and sends every part; answers its id
    /// and the `complete` body that names every part.
    async fn staged_upload(&self, dir: &str, name: &str, data: &[u8]) -> (String, Value) {
        let init = self
            .call(
                "POST",
                "/v1/files/multipart/init",
                Some(&json!({"path": dir, "name": name, "size": data.len(),
                             "partSize": PART, "checksum": "crc32c"})),
                Vec::new(),
            )
            .await;
        assert_eq!(init.status, 200, "init: {}", init.describe());
        let id = init.json()["uploadId"].as_str().unwrap().to_owned();
        let parts = self.send_parts(&id, data).await;
        let complete = json!({"uploadId": id, "parts": parts});
        (id, complete)
    }

    /// Sends every part of `data`; answers each part's number and ETag.
    async fn send_parts(&self, id: &str, data: &[u8]) -> Vec<Value> {
        let count = data.len().div_ceil(PART).max(1);
        let numbers: Vec<usize> = (1..=count).collect();
        let urls = self
            .call(
                "POST",
                "/v1/files/multipart/presigned-url",
                Some(&json!({"uploadId": id, "partNumbers": numbers})),
                Vec::new(),
            )
            .await;
        assert_eq!(urls.status, 200, "part URLs: {}", urls.describe());
        let urls = urls.json()["parts"].as_array().unwrap().clone();
        let puts = urls.iter().enumerate().map(|(i, part)| async move {
            let chunk = data[i * PART..((i + 1) * PART).min(data.len())].to_vec();
            let reply = self
                .call("PUT", part["url"].as_str().unwrap(), None, chunk)
                .await;
            assert_eq!(reply.status, 200, "part {}: {}", i + 1, reply.describe());
            json!({"partNumber": i + 1, "etag": reply.json()["etag"]})
        });
        futures_util::future::join_all(puts).await
    }

    async fn complete(&self, body: &Value) -> Reply {
        self.call(
            "POST",
            "/v1/files/multipart/complete",
            Some(body),
            Vec::new(),
        )
        .await
    }

    /// Blobs in the store once the garbage of finished writes is removed.
    async fn blobs_after_collection(&self) -> usize {
        self.state.files().collect_garbage().await.unwrap();
        self.state.files().stored_blobs().await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_racing_a_move_of_its_directory_lands_whole_in_one_place() {
    let s = Server::start(3600).await;
    const ROUNDS: u64 = 30;
    let (mut along, mut again) = (0, 0);
    for round in 0..ROUNDS {
        let dir = format!("mv{round}");
        let kept = s.upload(&format!("{dir}/d/keep.txt"), b"kept").await;
        assert_eq!(kept.status, 200, "{}", kept.describe());
        let data = pseudo_random(200_000, round);
        let new_path = format!("{dir}/d/sub/new.bin");
        let upload = s.upload(&new_path, &data);
        let moved = async {
            tokio::time::sleep(Duration::from_micros(round * 400)).await;
            s.call(
                "PUT",
                &format!("{ROOT}/move"),
                Some(
                    &json!({"sourcePath": format!("/{dir}/d"), "targetPath": format!("/{dir}/to")}),
                ),
                Vec::new(),
            )
            .await
        };
        let (upload, moved) = tokio::join!(upload, moved);
        assert_eq!(
            upload.status,
            200,
            "round {round}: upload: {}",
            upload.describe()
        );
        assert_eq!(
            moved.status,
            200,
            "round {round}: move: {}",
            moved.describe()
        );
        // Before the move it moved along; after it, it made its directory again. Never both,
        // never neither, and the rest of the tree moved once.
        let files = s.files_below(&dir).await;
        let before = vec![
            format!("{dir}/to/d/keep.txt"),
            format!("{dir}/to/d/sub/new.bin"),
        ];
        let after = vec![
            format!("{dir}/d/sub/new.bin"),
            format!("{dir}/to/d/keep.txt"),
        ];
        assert!(
            files == before || files == after,
            "round {round}: files {files:?}"
        );
        let at = if files == before {
            along += 1;
            &before[1]
        } else {
            again += 1;
            &after[0]
        };
        let got = s.get(at).await;
        assert!(
            got.status == 200 && got.body == data,
            "round {round}: {at}: {}",
            got.describe()
        );
    }
    eprintln!("{along} uploads moved along, {again} made their directory again");
    let files = s.files_below("").await.len();
    assert_eq!(s.blobs_after_collection().await, files, "a blob per file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_racing_a_delete_is_the_whole_file_or_404() {
    let s = Server::start(3600).await;
    const ROUNDS: u64 = 40;
    let (mut whole, mut gone) = (0, 0);
    for round in 0..ROUNDS {
        let path = format!("del/f{round}.bin");
        let data = pseudo_random(1_500_000, round);
        let put = s.upload(&path, &data).await;
        assert_eq!(put.status, 200, "{}", put.describe());
        // The readers start from together with the delete to after it is done, a step later
        // each round.
        let reads = async {
            tokio::time::sleep(Duration::from_micros(round * 150)).await;
            futures_util::future::join_all((0..3).map(|_| s.get(&path))).await
        };
        let target = format!("{ROOT}/{path}");
        let delete = s.call("DELETE", &target, None, Vec::new());
        let (reads, delete) = tokio::join!(reads, delete);
        assert_eq!(
            delete.status,
            200,
            "round {round}: delete: {}",
            delete.describe()
        );
        for read in reads {
            match read.status {
                200 if !read.torn && read.body == data => whole += 1,
                404 if read.code() > 0 => gone += 1,
                _ => panic!("round {round}: a download answered {}", read.describe()),
            }
        }
        assert_eq!(s.get(&path).await.status, 404);
    }
    eprintln!("{whole} whole downloads, {gone} not found");
    assert_eq!(
        s.blobs_after_collection().await,
        0,
        "every deleted blob went"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_completes_of_one_upload_make_one_file_and_answer_alike() {
    let s = Server::start(3600).await;
    const ROUNDS: u64 = 30;
    for round in 0..ROUNDS {
        let data = pseudo_random(8 * PART + 100, round);
        let name = format!("c{round}.bin");
        let (_, body) = s.staged_upload("twice", &name, &data).await;
        let second = async {
            // From together to well after the first has committed (its join and flush take
            // a few milliseconds), a step further each round.
            tokio::time::sleep(Duration::from_micros(round * 600)).await;
            s.complete(&body).await
        };
        let (first, second) = tokio::join!(s.complete(&body), second);
        for (which, reply) in [("first", &first), ("second", &second)] {
            assert_eq!(
                reply.status,
                200,
                "round {round}: {which} complete: {}",
                reply.describe()
            );
        }
        assert_eq!(
            first.json(),
            second.json(),
            "round {round}: both answer one file"
        );
        let got = s.get(&format!("twice/{name}")).await;
        assert!(
            got.status == 200 && got.body == data,
            "round {round}: {}",
            got.describe()
        );
        assert_eq!(
            first.json()["checksum"],
            json!(base64_crc(&data)),
            "round {round}: the answered checksum is the bytes'"
        );
    }
    assert_eq!(s.files_below("twice").await.len(), ROUNDS as usize);
    assert_eq!(
        s.blobs_after_collection().await,
        ROUNDS as usize,
        "one blob per file: no part and no second join left"
    );
}

fn base64_crc(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(crc32c::crc32c(data).to_be_bytes())
}

/// The collector's ticks, run as fast as they go with the clock the test sets (0: real time).
fn collector(
    s: &Server,
    clock: Arc<AtomicI64>,
    running: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<u64> {
    let files = s.state.files().clone();
    tokio::spawn(async move {
        let mut ticks = 0;
        while running.load(Ordering::Relaxed) {
            let now = match clock.load(Ordering::Relaxed) {
                0 => stowage_devserver::model::now_ms(),
                t => t,
            };
            files.expire_uploads(now).await.unwrap();
            files.collect_garbage().await.unwrap();
            ticks += 1;
            tokio::task::yield_now().await;
        }
        ticks
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_collector_racing_init_and_complete_never_breaks_an_upload() {
    let s = Arc::new(Server::start(60).await);
    let clock = Arc::new(AtomicI64::new(0));
    let running = Arc::new(AtomicBool::new(true));
    let ticks = collector(&s, clock.clone(), running.clone());

    // Init, parts and complete while the collector runs on time: every upload goes through.
    let uploads = (0..20u64).map(|i| {
        let s = s.clone();
        async move {
            let data = pseudo_random(2 * PART + 7, 500 + i);
            let (_, body) = s.staged_upload("fresh", &format!("f{i}.bin"), &data).await;
            let done = s.complete(&body).await;
            assert_eq!(done.status, 200, "upload {i}: {}", done.describe());
            assert_eq!(s.get(&format!("fresh/f{i}.bin")).await.body, data);
        }
    });
    futures_util::future::join_all(uploads).await;

    // An upload whose TTL runs out as its complete starts: the collector takes it whole before
    // the complete holds it (404, no file) or leaves it to the complete (the file), never half.
    const ROUNDS: u64 = 40;
    let (mut made, mut expired) = (0, 0);
    for round in 0..ROUNDS {
        let data = pseudo_random(8 * PART, round);
        let name = format!("t{round}.bin");
        let (id, body) = s.staged_upload("ttl", &name, &data).await;
        let expires = s
            .state
            .files()
            .upload_by_id(&id)
            .await
            .unwrap()
            .unwrap()
            .expires_ms;
        let expire = async {
            jitter(round, 3000).await;
            clock.store(expires + 1, Ordering::Relaxed);
        };
        let (done, ()) = tokio::join!(s.complete(&body), expire);
        clock.store(0, Ordering::Relaxed);
        let got = s.get(&format!("ttl/{name}")).await;
        match done.status {
            200 => {
                made += 1;
                assert!(
                    got.status == 200 && got.body == data,
                    "round {round}: {}",
                    got.describe()
                );
                assert_eq!(done.json()["checksum"], json!(base64_crc(&data)));
            }
            404 if done.code() == 7004 => {
                expired += 1;
                assert_eq!(
                    got.status, 404,
                    "round {round}: an expired upload made a file"
                );
            }
            _ => panic!("round {round}: complete answered {}", done.describe()),
        }
    }
    running.store(false, Ordering::Relaxed);
    let ticks = ticks.await.unwrap();
    eprintln!("{made} completed, {expired} expired first, {ticks} collector ticks");
    let files = s.files_below("").await.len();
    assert_eq!(files, 20 + made);
    assert_eq!(
        s.blobs_after_collection().await,
        files,
        "no part left behind"
    );
}
