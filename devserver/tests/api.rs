//! Handler tests through `app(state).oneshot(request)`: the Files API's semantics, one
//! behaviour per test, against a fresh data directory each.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use stowage_devserver::{app, AppState, Config};
use tower::ServiceExt;

struct Server {
    router: axum::Router,
    dir: tempfile::TempDir,
    state: AppState,
}

const ROOT: &str = "/demo/demo-key/files";

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::for_tests(dir.path().join("data")).await.unwrap();
    let (router, state) = stowage_devserver::testing::servers(&config, &dir.path().join("www"))
        .await
        .unwrap();
    Server { router, dir, state }
}

impl Server {
    async fn send(&self, req: Request<Body>) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let (parts, body) = res.into_parts();
        (
            parts.status,
            body.collect().await.unwrap().to_bytes().to_vec(),
            parts.headers,
        )
    }

    async fn call(&self, method: Method, path: &str, body: Body) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .body(body)
            .unwrap();
        let (status, bytes, _) = self.send(req).await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn upload(&self, path: &str, bytes: &[u8]) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            &format!("{ROOT}/{path}"),
            Body::from(bytes.to_vec()),
        )
        .await
    }

    async fn json(&self, op: &str, body: Value) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(Method::PUT)
            .uri(format!("{ROOT}/{op}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let (status, bytes, _) = self.send(req).await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn get(&self, path: &str) -> (StatusCode, Vec<u8>) {
        let req = Request::get(format!("{ROOT}/{path}"))
            .body(Body::empty())
            .unwrap();
        let (status, bytes, _) = self.send(req).await;
        (status, bytes)
    }

    async fn names(&self, query: &str) -> Vec<String> {
        let (status, body) = self
            .call(Method::GET, &format!("{ROOT}/{query}"), Body::empty())
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        body.as_array()
            .unwrap()
            .iter()
            .map(|e| e["url"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn code(body: &Value) -> u64 {
    body["code"].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn upload_answers_the_public_url_and_download_returns_the_bytes() {
    let s = server().await;
    let (status, body) = s.upload("docs/read%20me%20%C3%A9.txt", b"hello").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["fileURL"],
        "http://127.0.0.1:8080/demo/demo-key/files/docs/read%20me%20%C3%A9.txt"
    );
    let (status, bytes) = s.get("docs/read%20me%20%C3%A9.txt").await;
    assert_eq!((status, bytes.as_slice()), (StatusCode::OK, &b"hello"[..]));
    // Leading, doubled and trailing slashes are ignored, as clients do send them.
    let (status, _) = s.get("/docs/read%20me%20%C3%A9.txt/").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn empty_files_upload_and_download() {
    let s = server().await;
    assert_eq!(s.upload("empty.bin", b"").await.0, StatusCode::OK);
    let req = Request::head(format!("{ROOT}/empty.bin"))
        .body(Body::empty())
        .unwrap();
    let (status, _, headers) = s.send(req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_LENGTH], "0");
    assert_eq!(s.get("empty.bin").await, (StatusCode::OK, vec![]));
}

#[tokio::test]
async fn content_type_is_declared_or_guessed_and_etag_revalidates() {
    let s = server().await;
    s.upload("a/pic.png", b"\x89PNG").await;
    let req = Request::post(format!("{ROOT}/a/data"))
        .header(header::CONTENT_TYPE, "application/pdf")
        .body(Body::from("%PDF"))
        .unwrap();
    assert_eq!(s.send(req).await.0, StatusCode::OK);
    let (_, _, headers) = s
        .send(
            Request::get(format!("{ROOT}/a/pic.png"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(headers[header::CONTENT_SECURITY_POLICY], "sandbox");
    let (_, _, headers) = s
        .send(
            Request::get(format!("{ROOT}/a/data"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(headers[header::CONTENT_TYPE], "application/pdf");
    let etag = headers[header::ETAG].clone();
    let req = Request::get(format!("{ROOT}/a/data"))
        .header(header::IF_NONE_MATCH, etag)
        .body(Body::empty())
        .unwrap();
    assert_eq!(s.send(req).await.0, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn overwrite_is_refused_unless_asked_for() {
    let s = server().await;
    s.upload("f.txt", b"one").await;
    let (status, body) = s.upload("f.txt", b"two").await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, 6003));
    assert_eq!(
        body["message"],
        "Unable to modify file/folder: file/folder already exists: f.txt"
    );
    let (status, body) = s.upload("f.txt?overwrite=false", b"two").await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, 6003));
    assert_eq!(
        s.upload("f.txt?overwrite=true", b"three").await.0,
        StatusCode::OK
    );
    assert_eq!(s.get("f.txt").await.1, b"three");
    // A directory is never replaced by a file, even with overwrite.
    s.upload("d/x", b"x").await;
    assert_eq!(
        s.upload("d?overwrite=true", b"y").await.0,
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn multipart_form_uploads_store_the_file_part() {
    let s = server().await;
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n\
                --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.csv\"\r\n\
                Content-Type: text/csv\r\n\r\na,b\n1,2\n\r\n--XyZ--\r\n";
    let req = Request::post(format!("{ROOT}/forms/x.csv"))
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XyZ")
        .body(Body::from(body))
        .unwrap();
    let (status, _, _) = s.send(req).await;
    assert_eq!(status, StatusCode::OK);
    let (_, bytes, headers) = s
        .send(
            Request::get(format!("{ROOT}/forms/x.csv"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(bytes, b"a,b\n1,2\n");
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv");
}

#[tokio::test]
async fn base64_uploads_decode_across_chunks_and_line_breaks() {
    let s = server().await;
    let req = Request::put(format!("{ROOT}/binary/b/hello.txt"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from_stream(futures_util::stream::iter(
            ["aGVs", "bG8g\r\nd2", "9y", "bGQ"].map(|c| Ok::<_, std::io::Error>(c.to_owned())),
        )))
        .unwrap();
    let (status, _, _) = s.send(req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.get("b/hello.txt").await.1, b"hello world");
}

#[tokio::test]
async fn listing_filters_recurses_and_pages() {
    let s = server().await;
    for name in [
        "d/a.txt",
        "d/b.txt",
        "d/c.png",
        "d/sub/e.txt",
        "d/sub/deep/f.txt",
    ] {
        s.upload(name, b"x").await;
    }
    assert_eq!(
        s.names("d").await,
        ["d/a.txt", "d/b.txt", "d/c.png", "d/sub"]
    );
    assert_eq!(s.names("d?pattern=*.txt").await, ["d/a.txt", "d/b.txt"]);
    assert_eq!(
        s.names("d?pattern=*.txt&sub=true").await,
        ["d/a.txt", "d/b.txt", "d/sub/deep/f.txt", "d/sub/e.txt"]
    );
    assert_eq!(
        s.names("d?pagesize=2&offset=1").await,
        ["d/b.txt", "d/c.png"]
    );
    assert_eq!(s.names("").await, ["d"]);
    let count = |q: &'static str| {
        let s = &s;
        async move {
            s.call(Method::GET, &format!("{ROOT}/{q}"), Body::empty())
                .await
                .1
        }
    };
    assert_eq!(count("d?action=count").await, json!(3));
    assert_eq!(count("d?action=count&sub=true").await, json!(5));
    assert_eq!(
        count("d?action=count&sub=true&countDirectories=true").await,
        json!(7)
    );
    assert_eq!(count("d?action=count&pattern=*.png").await, json!(1));
    assert_eq!(count("d/sub?action=exists").await, json!(true));
    assert_eq!(count("d/nope?action=exists").await, json!(false));
}

#[tokio::test]
async fn create_directory_with_trailing_slash() {
    let s = server().await;
    let (status, body) = s
        .call(Method::POST, &format!("{ROOT}/new/dir/"), Body::empty())
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!("/new/dir")));
    assert_eq!(s.names("new").await, ["new/dir"]);
    let (status, body) = s
        .call(Method::POST, &format!("{ROOT}/new/dir/"), Body::empty())
        .await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, 6003));
}

#[tokio::test]
async fn move_a_directory_with_its_files() {
    let s = server().await;
    s.upload("documentation/readme.txt", b"r").await;
    s.upload("documentation/img/logo.png", b"l").await;
    let (status, body) = s
        .json(
            "move",
            json!({"sourcePath": "/documentation", "targetPath": "/updated-docs"}),
        )
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!("/updated-docs/documentation"))
    );
    assert_eq!(
        s.get("updated-docs/documentation/img/logo.png").await.1,
        b"l"
    );
    assert_eq!(
        s.get("documentation/readme.txt").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        s.names("?sub=true").await,
        [
            "updated-docs",
            "updated-docs/documentation",
            "updated-docs/documentation/img",
            "updated-docs/documentation/img/logo.png",
            "updated-docs/documentation/readme.txt"
        ]
    );
    // A file moves into a directory too, and the same name there is refused.
    s.upload("loose.txt", b"1").await;
    s.upload("box/loose.txt", b"2").await;
    let (status, body) = s
        .json(
            "move",
            json!({"sourcePath": "loose.txt", "targetPath": "box"}),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, 6005));
    assert_eq!(body["message"], "File already exists in target directory");
}

#[tokio::test]
async fn copy_keeps_the_source_and_copies_are_independent() {
    let s = server().await;
    s.upload("src/a.txt", b"a").await;
    let (status, body) = s
        .json("copy", json!({"sourcePath": "/src", "targetPath": "/dst"}))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!("/dst/src")));
    s.upload("src/a.txt?overwrite=true", b"changed").await;
    assert_eq!(s.get("dst/src/a.txt").await.1, b"a");
    assert_eq!(s.get("src/a.txt").await.1, b"changed");
    s.call(Method::DELETE, &format!("{ROOT}/src"), Body::empty())
        .await;
    assert_eq!(s.get("dst/src/a.txt").await.1, b"a");
}

#[tokio::test]
async fn rename_in_place() {
    let s = server().await;
    s.upload("a/b.txt", b"b").await;
    s.upload("a/taken.txt", b"t").await;
    let (status, body) = s
        .json(
            "rename",
            json!({"oldPathName": "/a/b.txt", "newName": "c.txt"}),
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!("/a/c.txt")));
    assert_eq!(s.get("a/c.txt").await.1, b"b");
    let (status, body) = s
        .json(
            "rename",
            json!({"oldPathName": "/a/c.txt", "newName": "taken.txt"}),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, 6003));
    let (status, body) = s
        .json(
            "rename",
            json!({"oldPathName": "/a/c.txt", "newName": "x/y"}),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, 6006));
    // Renaming a directory carries its contents.
    let (status, _) = s
        .json("rename", json!({"oldPathName": "a", "newName": "z"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.get("z/taken.txt").await.1, b"t");
}

#[tokio::test]
async fn delete_a_directory_removes_its_bytes() {
    let s = server().await;
    s.upload("gone/one.bin", &[1; 1000]).await;
    s.upload("gone/deeper/two.bin", &[2; 1000]).await;
    s.upload("kept.bin", &[3; 10]).await;
    let (status, body) = s
        .call(Method::DELETE, &format!("{ROOT}/gone"), Body::empty())
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"deleted": 4})));
    assert_eq!(s.names("?sub=true").await, ["kept.bin"]);
    let blobs = s.state.files().stored_blobs().await.unwrap();
    assert_eq!(blobs, 1, "only kept.bin's bytes remain in the store");
}

#[tokio::test]
async fn a_body_that_fails_midway_leaves_no_file() {
    let s = server().await;
    let chunks: Vec<Result<&'static str, std::io::Error>> = vec![
        Ok("partial "),
        Err(std::io::Error::other("client went away")),
    ];
    let req = Request::post(format!("{ROOT}/half.txt"))
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap();
    let (status, bytes, _) = s.send(req).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(s.get("half.txt").await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.state.files().stored_blobs().await.unwrap(), 0);
}

#[tokio::test]
async fn unpublished_blobs_are_settled_at_start_and_published_ones_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::for_tests(dir.path().join("data")).await.unwrap();
    if config.blobs.is_some() {
        eprintln!("bytes in an object store: see a_write_cut_off_midway_is_swept_by_age");
        return;
    }
    {
        let state = AppState::open(&config).await.unwrap();
        let router = app(state, dir.path());
        let req = Request::post(format!("{ROOT}/kept.txt"))
            .body(Body::from("kept"))
            .unwrap();
        assert_eq!(router.oneshot(req).await.unwrap().status(), StatusCode::OK);
    }
    // A write that crashed before its commit (a blob in tmp/ that no record names), a torn
    // temp file, and a published blob no record names (not provably an orphan: kept).
    let orphan = "0123456789abcdef0123456789abcdef";
    std::fs::write(dir.path().join("data/tmp").join(orphan), b"orphan").unwrap();
    std::fs::write(dir.path().join("data/tmp/torn"), b"half").unwrap();
    let stray = dir.path().join("data/blobs/ab/abandoned0000");
    std::fs::write(&stray, b"stray").unwrap();
    let state = AppState::open(&config).await.unwrap();
    assert!(!dir.path().join("data/tmp").join(orphan).exists());
    assert!(!dir.path().join("data/tmp/torn").exists());
    assert!(stray.exists(), "only provable orphans are removed");
    let router = app(state, dir.path());
    let res = router
        .oneshot(
            Request::get(format!("{ROOT}/kept.txt"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), "kept");
}

#[tokio::test]
async fn a_write_cut_off_midway_is_swept_by_age() {
    // A client that vanishes midway: the request runs on (it is not cancelled with its
    // connection), sees the reset, and removes what it wrote itself, pending row included.
    let s = server().await;
    s.upload("kept.txt", b"kept").await;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let req = Request::post(format!("{ROOT}/cut.bin"))
        .body(Body::from_stream(stream))
        .unwrap();
    let router = s.router.clone();
    let upload = tokio::spawn(async move { router.oneshot(req).await });
    // More than one object-store part (8 MiB), then the client vanishes.
    for _ in 0..10 {
        tx.send(Ok(vec![7u8; 1024 * 1024])).await.unwrap();
    }
    tx.send(Err(std::io::Error::other("connection reset")))
        .await
        .unwrap();
    drop(tx);
    let _ = upload.await;
    let files = s.state.files();
    let before = stowage_devserver::model::now_ms() + 1;
    assert_eq!(
        files.sweep_pending(before).await.unwrap(),
        0,
        "the request cleaned up after its vanished client: nothing is left for the collector"
    );
    assert_eq!(
        files.stored_blobs().await.unwrap(),
        1,
        "only kept.txt's bytes are stored"
    );

    // A write that stops with no chance to clean up (a crash; here its future is dropped in
    // the middle of the body): on an object store nothing is listed at start, so its pending
    // row is what tells the collector, once it is older than the pending TTL, that its blob
    // is nobody's.
    let who = stowage_devserver::model::Principal::admin("demo");
    let path = stowage_protocol::FilePath::parse("crashed.bin").unwrap();
    let body: stowage_devserver::files::ByteStream<'static> =
        Box::pin(futures_util::StreamExt::chain(
            futures_util::stream::iter(
                (0..10).map(|_| Ok(bytes::Bytes::from(vec![9u8; 1024 * 1024]))),
            ),
            futures_util::stream::pending(),
        ));
    let options = stowage_devserver::files::PutOptions {
        mime_type: "application/octet-stream".into(),
        overwrite: false,
        expected_len: None,
    };
    let cut = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        files.put_path(&who, &path, body, options),
    )
    .await;
    assert!(cut.is_err(), "the write was cut off, not finished");
    let before = stowage_devserver::model::now_ms() + 1;
    let swept = files.sweep_pending(before).await.unwrap();
    if files.blobs_on_disk() {
        assert_eq!(
            swept, 0,
            "the disk store keeps no pending rows (tmp/ is its list)"
        );
    } else {
        assert_eq!(swept, 1, "the cut-off write's pending blob is removed");
    }
    assert_eq!(
        files.stored_blobs().await.unwrap(),
        1,
        "only kept.txt's bytes are stored"
    );
    assert_eq!(
        files.sweep_pending(before).await.unwrap(),
        0,
        "a second sweep finds nothing"
    );
    assert_eq!(s.get("kept.txt").await.1, b"kept");
    assert_eq!(s.get("cut.bin").await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.get("crashed.bin").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_missing_database_is_refused_and_deletes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::for_tests(dir.path().join("data")).await.unwrap();
    {
        let state = AppState::open(&config).await.unwrap();
        let router = app(state, dir.path());
        let req = Request::post(format!("{ROOT}/precious.txt"))
            .body(Body::from("precious"))
            .unwrap();
        assert_eq!(router.oneshot(req).await.unwrap().status(), StatusCode::OK);
    }
    // The catalog goes missing: the SQLite file is deleted, or the server is pointed at an
    // empty PostgreSQL database.
    for f in ["stowage.db", "stowage.db-wal", "stowage.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join("data").join(f));
    }
    let mut config = config;
    config.database = Config::for_tests(dir.path().join("unused"))
        .await
        .unwrap()
        .database;
    let err = AppState::open(&config).await.unwrap_err().to_string();
    assert!(err.contains("database is new"), "{err}");
    let store = stowage_devserver::blobs::open(config.blobs.as_deref(), &config.data, false)
        .await
        .unwrap();
    let blobs = store.count().await.unwrap();
    assert_eq!(blobs, 1, "the file's bytes are still there");
}

#[tokio::test]
async fn a_second_server_on_the_same_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::for_tests(dir.path().join("data")).await.unwrap();
    let first = AppState::open(&config).await.unwrap();
    let err = AppState::open(&config).await.unwrap_err().to_string();
    assert!(err.contains("in use by another"), "{err}");
    drop(first);
    // Once the first is gone, the directory can be opened again.
    AppState::open(&config).await.unwrap();
}

#[tokio::test]
async fn errors_carry_cors_headers_and_preflight_is_answered() {
    let s = server().await;
    let req = Request::get(format!("{ROOT}/missing"))
        .header(header::ORIGIN, "http://127.0.0.1:9999")
        .body(Body::empty())
        .unwrap();
    let (status, _, headers) = s.send(req).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let req = Request::builder()
        .method(Method::OPTIONS)
        .uri(format!("{ROOT}/x.bin"))
        .header(header::ORIGIN, "http://127.0.0.1:9999")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
        .body(Body::empty())
        .unwrap();
    let (status, _, headers) = s.send(req).await;
    assert!(status.is_success());
    assert!(headers[header::ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap()
        .contains("POST"));
    let exposed = headers.get(header::ACCESS_CONTROL_EXPOSE_HEADERS);
    let req = Request::get(format!("{ROOT}/"))
        .header(header::ORIGIN, "http://x")
        .body(Body::empty())
        .unwrap();
    let (_, _, headers) = s.send(req).await;
    let exposed = exposed
        .or(headers.get(header::ACCESS_CONTROL_EXPOSE_HEADERS))
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    for h in ["etag", "content-range", "content-length", "location"] {
        assert!(exposed.contains(h), "{h} not exposed: {exposed}");
    }
}

#[tokio::test]
async fn info_describes_the_app_and_refuses_a_wrong_key() {
    let s = server().await;
    let (status, body) = s
        .call(Method::GET, "/demo/demo-key/info", Body::empty())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["appId"], "demo");
    assert_eq!(body["serverVersion"], env!("CARGO_PKG_VERSION"));
    let (status, body) = s.call(Method::GET, "/demo/wrong/info", Body::empty()).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, 3003));
}

#[tokio::test]
async fn a_blob_replaced_by_a_symlink_out_of_the_data_dir_is_not_followed() {
    let s = server().await;
    if !s.state.files().blobs_on_disk() {
        eprintln!("bytes in an object store: no blob file to replace with a link");
        return;
    }
    s.upload("secret.txt", b"mine").await;
    let outside = s.dir.path().join("outside.txt");
    std::fs::write(&outside, b"not yours").unwrap();
    let blob = std::fs::read_dir(s.dir.path().join("data/blobs"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .next()
        .unwrap();
    std::fs::remove_file(&blob).unwrap();
    std::os::unix::fs::symlink(&outside, &blob).unwrap();
    let (status, body) = s
        .call(Method::GET, &format!("{ROOT}/secret.txt"), Body::empty())
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, 4000));
}

#[tokio::test]
async fn handed_out_urls_follow_the_request_host() {
    // Behind a balancer or on 0.0.0.0 the client knows the server by the Host it sent.
    let s = server().await;
    for (host, base) in [
        ("files.example:9000", "http://files.example:9000/"),
        ("[::1]:8080", "http://[::1]:8080/"),
    ] {
        let req = Request::post(format!("{ROOT}/hosted.txt?overwrite=true"))
            .header(header::HOST, host)
            .body(Body::from("x"))
            .unwrap();
        let (status, body, _) = s.send(req).await;
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        let url = body["fileURL"].as_str().unwrap();
        assert!(url.starts_with(base), "{url} for Host {host}");
    }
    // A Host that is not a plain name[:port] is never echoed into a URL.
    let req = Request::post(format!("{ROOT}/hosted.txt?overwrite=true"))
        .header(header::HOST, "evil.example/x?")
        .body(Body::from("x"))
        .unwrap();
    let (_, body, _) = s.send(req).await;
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        !body["fileURL"].as_str().unwrap().contains("evil"),
        "{body}"
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_urls_take_its_scheme_and_host() {
    let upload = |router: axum::Router, headers: Vec<(&'static str, &'static str)>| async move {
        let mut req = Request::post(format!("{ROOT}/proxied.txt?overwrite=true"));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let res = router
            .oneshot(req.body(Body::from("x")).unwrap())
            .await
            .unwrap();
        let body: Value =
            serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
        body["fileURL"].as_str().unwrap().to_owned()
    };
    let proxied = vec![
        ("host", "10.0.0.11:8080"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "stowage.example.com"),
    ];
    // Not trusted (the default): the headers are a client's word and change nothing.
    let s = server().await;
    let url = upload(s.router.clone(), proxied.clone()).await;
    assert!(url.starts_with("http://10.0.0.11:8080/"), "{url}");
    // Trusted: the URLs are the proxy's.
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path().join("data")).await.unwrap();
    config.trust_proxy = true;
    let router = app(
        AppState::open(&config).await.unwrap(),
        &dir.path().join("www"),
    );
    let url = upload(router.clone(), proxied).await;
    assert!(url.starts_with("https://stowage.example.com/"), "{url}");
    let url = upload(
        router,
        vec![
            ("host", "10.0.0.11:8080"),
            (
                "forwarded",
                "for=192.0.2.60;proto=https;host=files.example.org, for=10.0.0.1",
            ),
        ],
    )
    .await;
    assert!(url.starts_with("https://files.example.org/"), "{url}");
}

#[tokio::test]
async fn a_short_signing_secret_or_a_damaged_key_file_is_refused_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path().join("data")).await.unwrap();
    if config.shared_catalog() {
        eprintln!("a shared catalog keeps its keys in the database: no key file");
        return;
    }
    config.signing_secret = Some("x".into());
    let err = AppState::open(&config).await.unwrap_err().to_string();
    assert!(err.contains("at least 32"), "{err}");
    // A key file that lost its key (a torn copy, a bad edit) stops the server with a clear
    // message instead of a new key that would kill every outstanding URL.
    config.signing_secret = None;
    drop(AppState::open(&config).await.unwrap());
    let key = config.data.join("signing.key");
    let kept = std::fs::read_to_string(&key).unwrap();
    assert!(kept.len() >= 32);
    std::fs::write(&key, "short").unwrap();
    let err = AppState::open(&config).await.unwrap_err().to_string();
    assert!(err.contains("signing.key holds 5 characters"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&key).unwrap(),
        "short",
        "left as it was"
    );
    std::fs::write(&key, &kept).unwrap();
    drop(AppState::open(&config).await.unwrap());
}

#[tokio::test]
async fn the_page_and_its_package_are_compressed_and_revalidated() {
    let s = server().await;
    let pkg = s.dir.path().join("www/pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    // Compressible like a wasm module: repeated code with some variety.
    let wasm: Vec<u8> = (0..200_000u32)
        .map(|i| ((i % 251) ^ (i / 997)) as u8)
        .collect();
    std::fs::write(pkg.join("stowage_bg.wasm"), &wasm).unwrap();

    let get = |encoding: Option<&'static str>| {
        let mut req = Request::get("/pkg/stowage_bg.wasm");
        if let Some(e) = encoding {
            req = req.header(header::ACCEPT_ENCODING, e);
        }
        s.send(req.body(Body::empty()).unwrap())
    };
    let (status, body, headers) = get(Some("gzip")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(&body[..2], &[0x1f, 0x8b], "a gzip stream");
    assert!(
        body.len() < wasm.len() / 2,
        "{} of {} bytes",
        body.len(),
        wasm.len()
    );
    let (_, br, headers) = get(Some("br;q=1, gzip;q=0.5")).await;
    assert_eq!(headers[header::CONTENT_ENCODING], "br");
    assert!(br.len() < wasm.len() / 2);
    // A browser that takes no encoding gets the bytes as they are.
    let (status, plain, headers) = get(None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(plain, wasm);
    // Revalidation: the copy a browser kept is still good.
    let modified = headers[header::LAST_MODIFIED].to_str().unwrap().to_owned();
    let (status, body, _) = s
        .send(
            Request::get("/pkg/stowage_bg.wasm")
                .header(header::IF_MODIFIED_SINCE, modified)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    // File downloads are not the page: their bytes go as stored, with their own caching.
    s.upload("page-test.txt", &b"x".repeat(10_000)).await;
    let (status, body, headers) = s
        .send(
            Request::get(format!("{ROOT}/page-test.txt"))
                .header(header::ACCEPT_ENCODING, "gzip")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(body.len(), 10_000);
}
