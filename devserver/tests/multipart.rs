//! The `/v1` API through `app(state).oneshot(request)`: presigned single uploads and
//! downloads, multipart init/part/complete/abort, checksums, signatures, GC and fault rules.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use stowage_devserver::{app, AppState, Config};
use tower::ServiceExt;

struct Server {
    router: axum::Router,
    state: AppState,
    /// Holds the data directory for the server's life.
    _dir: tempfile::TempDir,
}

const PART: u64 = 1024;
/// The demo app's admin key in these tests: the test hooks answer only it.
const ADMIN: &str = "test-admin-key-demo-0123456789abcdef";

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path().join("data")).await.unwrap();
    config.unsafe_test_hooks = true;
    config.min_part_size = PART;
    config.admin_keys = vec![("demo".into(), ADMIN.into())];
    let state = AppState::open(&config).await.unwrap();
    Server {
        router: app(state.clone(), dir.path()),
        state,
        _dir: dir,
    }
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// The path and query of a URL the server handed out.
fn local(url: &str) -> String {
    url.split_once("://")
        .map(|(_, r)| r)
        .and_then(|r| r.find('/').map(|i| r[i..].to_owned()))
        .unwrap()
}

impl Server {
    async fn send(
        &self,
        req: Request<Body>,
    ) -> (StatusCode, Value, axum::http::HeaderMap, Vec<u8>) {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let (parts, body) = res.into_parts();
        let raw = body.collect().await.unwrap().to_bytes().to_vec();
        (
            parts.status,
            serde_json::from_slice(&raw).unwrap_or(Value::Null),
            parts.headers,
            raw,
        )
    }

    /// How many files the app has (recursively).
    async fn list_count(&self) -> usize {
        let req = Request::get("/demo/demo-key/files/?action=count&sub=true")
            .body(Body::empty())
            .unwrap();
        self.send(req).await.1.as_u64().unwrap() as usize
    }

    async fn api(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let req = Request::post(path)
            .header("x-api-key", "demo-key")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let (status, json, _, _) = self.send(req).await;
        (status, json)
    }

    async fn put(
        &self,
        url: &str,
        data: Vec<u8>,
        headers: &[(&str, String)],
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        let mut req = Request::put(local(url));
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let (status, json, headers, _) = self.send(req.body(Body::from(data)).unwrap()).await;
        (status, json, headers)
    }

    async fn file(&self, path: &str) -> (StatusCode, Vec<u8>) {
        let req = Request::get(format!("/demo/demo-key/files/{path}"))
            .body(Body::empty())
            .unwrap();
        let (status, _, _, raw) = self.send(req).await;
        (status, raw)
    }

    async fn init(&self, name: &str, size: u64, checksum: &str) -> Value {
        let (status, body) = self
            .api("/v1/files/multipart/init", json!({"path": "/big", "name": name, "size": size, "partSize": PART, "checksum": checksum}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn part_urls(&self, id: &str, numbers: &[u64]) -> Vec<String> {
        let (status, body) = self
            .api(
                "/v1/files/multipart/presigned-url",
                json!({"uploadId": id, "partNumbers": numbers}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["url"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Uploads every part of `data` (last first, to show order does not matter); returns the
    /// `complete` list.
    async fn send_parts(&self, id: &str, data: &[u8]) -> Vec<Value> {
        let count = data.len().div_ceil(PART as usize).max(1) as u64;
        let urls = self.part_urls(id, &(1..=count).collect::<Vec<_>>()).await;
        let mut parts = Vec::new();
        for n in (1..=count).rev() {
            let start = ((n - 1) * PART) as usize;
            let chunk = data[start..(start + PART as usize).min(data.len())].to_vec();
            let crc = BASE64.encode(crc32c::crc32c(&chunk).to_be_bytes());
            let (status, body, headers) = self
                .put(
                    &urls[n as usize - 1],
                    chunk,
                    &[("x-stowage-checksum-crc32c", crc)],
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(
                headers[header::ETAG].to_str().unwrap(),
                body["etag"].as_str().unwrap()
            );
            parts.push(json!({"partNumber": n, "etag": body["etag"]}));
        }
        parts.reverse();
        parts
    }
}

/// Blobs in the store, published or not (parts are blobs too, until their upload ends).
async fn stored_blobs(s: &Server) -> usize {
    s.state.files().stored_blobs().await.unwrap()
}

fn code(body: &Value) -> u64 {
    body["code"].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn multipart_upload_assembles_the_parts_with_a_whole_file_checksum() {
    let s = server().await;
    for (name, size) in [
        ("exact.bin", 3 * PART as usize),
        ("ragged.bin", 3 * PART as usize + 17),
        ("small.bin", 10),
        ("empty.bin", 0),
    ] {
        let data = bytes(size, size as u8);
        let init = s.init(name, size as u64, "crc32c").await;
        let id = init["uploadId"].as_str().unwrap();
        assert_eq!(
            init["partCount"],
            json!(size.div_ceil(PART as usize).max(1))
        );
        let parts = s.send_parts(id, &data).await;
        let (status, done) = s
            .api(
                "/v1/files/multipart/complete",
                json!({"uploadId": id, "parts": parts}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{name}: {done}");
        assert_eq!(done["size"], json!(size));
        assert_eq!(
            done["checksum"],
            json!(BASE64.encode(crc32c::crc32c(&data).to_be_bytes()))
        );
        assert_eq!(
            s.file(&format!("big/{name}")).await,
            (StatusCode::OK, data.clone())
        );
        // A repeated complete answers the same result; the download's ETag is the same ETag.
        let (_, again) = s
            .api(
                "/v1/files/multipart/complete",
                json!({"uploadId": id, "parts": parts}),
            )
            .await;
        assert_eq!(again, done);
        let req = Request::head(format!("/demo/demo-key/files/big/{name}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            s.send(req).await.2[header::ETAG].to_str().unwrap(),
            done["etag"].as_str().unwrap()
        );
    }
    let files = s.list_count().await;
    assert_eq!(
        stored_blobs(&s).await,
        files,
        "completed uploads leave one blob per file and no part behind"
    );
}

#[tokio::test]
async fn sha256_uploads_answer_the_files_sha256() {
    let s = server().await;
    let data = bytes(2 * PART as usize + 5, 7);
    let init = s.init("sha.bin", data.len() as u64, "sha256").await;
    let id = init["uploadId"].as_str().unwrap();
    let parts = s.send_parts(id, &data).await;
    let (status, done) = s
        .api(
            "/v1/files/multipart/complete",
            json!({"uploadId": id, "parts": parts}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        done["checksum"],
        json!(BASE64.encode(Sha256::digest(&data)))
    );
}

#[tokio::test]
async fn the_status_lists_stored_parts_for_resume() {
    let s = server().await;
    let data = bytes(3 * PART as usize, 1);
    let id = s.init("resume.bin", data.len() as u64, "crc32c").await["uploadId"]
        .as_str()
        .unwrap()
        .to_owned();
    let urls = s.part_urls(&id, &[2]).await;
    let (status, _, _) = s
        .put(
            &urls[0],
            data[PART as usize..2 * PART as usize].to_vec(),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let req = Request::get(format!("/v1/files/multipart/{id}"))
        .header("x-api-key", "demo-key")
        .body(Body::empty())
        .unwrap();
    let (status, body, _, _) = s.send(req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["parts"].as_array().unwrap().len(), 1);
    assert_eq!(body["parts"][0]["partNumber"], json!(2));
    assert_eq!(body["partCount"], json!(3));
    let req = Request::get(format!("/v1/files/multipart/{id}"))
        .header("x-api-key", "wrong")
        .body(Body::empty())
        .unwrap();
    assert_eq!(s.send(req).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn complete_refuses_missing_and_wrong_parts_and_shows_nothing() {
    let s = server().await;
    let data = bytes(2 * PART as usize, 3);
    let id = s.init("bad.bin", data.len() as u64, "crc32c").await["uploadId"]
        .as_str()
        .unwrap()
        .to_owned();
    let parts = s.send_parts(&id, &data).await;
    let (status, body) = s
        .api(
            "/v1/files/multipart/complete",
            json!({"uploadId": id, "parts": [parts[0]]}),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, 7005));
    let wrong = json!([parts[0], {"partNumber": 2, "etag": "\"00000000-400\""}]);
    let (status, body) = s
        .api(
            "/v1/files/multipart/complete",
            json!({"uploadId": id, "parts": wrong}),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, 7006));
    assert_eq!(s.file("big/bad.bin").await.0, StatusCode::NOT_FOUND);
    let (status, body) = s
        .api(
            "/v1/files/multipart/complete",
            json!({"uploadId": "0".repeat(32), "parts": []}),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, 7004));
    let (status, body) = s
        .api(
            "/v1/files/multipart/complete",
            json!({"uploadId": "../../etc", "parts": []}),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, 7004));
}

#[tokio::test]
async fn a_part_with_a_wrong_checksum_or_size_is_discarded() {
    let s = server().await;
    let data = bytes(2 * PART as usize, 9);
    let id = s.init("sum.bin", data.len() as u64, "crc32c").await["uploadId"]
        .as_str()
        .unwrap()
        .to_owned();
    let urls = s.part_urls(&id, &[1, 2]).await;
    let wrong = BASE64.encode(0xdead_beef_u32.to_be_bytes());
    let (status, body, _) = s
        .put(
            &urls[0],
            data[..PART as usize].to_vec(),
            &[("x-stowage-checksum-crc32c", wrong)],
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, 7001));
    let (status, body, _) = s.put(&urls[1], vec![0; 10], &[]).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, 7007));
    let req = Request::get(format!("/v1/files/multipart/{id}"))
        .header("x-api-key", "demo-key")
        .body(Body::empty())
        .unwrap();
    assert_eq!(s.send(req).await.1["parts"], json!([]));
    assert_eq!(stored_blobs(&s).await, 0);
}

#[tokio::test]
async fn signed_urls_refuse_tampering_reuse_and_expiry() {
    let s = server().await;
    let id = s.init("sig.bin", 2 * PART, "none").await["uploadId"]
        .as_str()
        .unwrap()
        .to_owned();
    let urls = s.part_urls(&id, &[1]).await;
    let part = vec![1u8; PART as usize];
    let (status, body, _) = s
        .put(&urls[0].replace("/1?", "/2?"), part.clone(), &[])
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, 7003),
        "another part"
    );
    let (status, body, _) = s
        .put(&urls[0].replace("expires=", "expires=9"), part.clone(), &[])
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, 7003),
        "a changed expiry"
    );
    let other = s.init("sig2.bin", 2 * PART, "none").await["uploadId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body, _) = s
        .put(&urls[0].replace(&id, &other), part.clone(), &[])
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, 7003),
        "another upload"
    );
    let req = Request::get(local(&urls[0])).body(Body::empty()).unwrap();
    assert_eq!(s.send(req).await.0, StatusCode::METHOD_NOT_ALLOWED);
    let (status, presigned) = s
        .api(
            "/v1/files/presigned-url",
            json!({"path": "/p", "name": "soon.txt", "size": 2, "expiresIn": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, body, _) = s
        .put(presigned["url"].as_str().unwrap(), b"hi".to_vec(), &[])
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, 7002),
        "expired"
    );
    let (status, body) = s
        .api(
            "/v1/files/presigned-url",
            json!({"path": "/p", "name": "x", "size": 2, "expiresIn": 700_000}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, 8007),
        "over 7 days"
    );
}

#[tokio::test]
async fn presigned_single_upload_and_download() {
    let s = server().await;
    let (status, presigned) = s
        .api(
            "/v1/files/presigned-url",
            json!({"path": "/docs", "name": "a b.txt", "size": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{presigned}");
    assert_eq!(presigned["method"], "PUT");
    assert_eq!(presigned["headers"]["Content-Type"], "text/plain");
    let url = presigned["url"].as_str().unwrap();
    let (status, body, _) = s.put(url, b"12".to_vec(), &[]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, 7007),
        "short body"
    );
    assert_eq!(s.file("docs/a%20b.txt").await.0, StatusCode::NOT_FOUND);
    let (status, body, _) = s.put(url, b"hello".to_vec(), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(s.file("docs/a%20b.txt").await.1, b"hello");
    let (status, body, _) = s.put(url, b"hello".to_vec(), &[]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, 6003),
        "no overwrite"
    );
    let (status, signed) = s
        .api("/v1/files/download-url", json!({"path": "/docs/a b.txt"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let req = Request::get(local(signed["url"].as_str().unwrap()))
        .body(Body::empty())
        .unwrap();
    assert_eq!(s.send(req).await.3, b"hello");
    let (status, body, _) = s
        .put(signed["url"].as_str().unwrap(), b"hello".to_vec(), &[])
        .await;
    assert!(
        status == StatusCode::METHOD_NOT_ALLOWED || code(&body) == 7003,
        "{status} {body}"
    );
}

#[tokio::test]
async fn abort_removes_staged_parts_and_twice_is_fine() {
    let s = server().await;
    let data = bytes(2 * PART as usize, 4);
    let id = s.init("gone.bin", data.len() as u64, "crc32c").await["uploadId"]
        .as_str()
        .unwrap()
        .to_owned();
    let urls = s.part_urls(&id, &[1]).await;
    assert_eq!(
        s.put(&urls[0], data[..PART as usize].to_vec(), &[]).await.0,
        StatusCode::OK
    );
    for _ in 0..2 {
        let (status, _) = s
            .api("/v1/files/multipart/abort", json!({"uploadId": id}))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(stored_blobs(&s).await, 0, "the aborted part is gone");
    let (status, body, _) = s.put(&urls[0], data[..PART as usize].to_vec(), &[]).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, 7004));
}

#[tokio::test]
async fn the_collector_removes_abandoned_uploads() {
    let s = server().await;
    let data = bytes(2 * PART as usize, 5);
    let id = s.init("old.bin", data.len() as u64, "crc32c").await["uploadId"]
        .as_str()
        .unwrap()
        .to_owned();
    let urls = s.part_urls(&id, &[1]).await;
    assert_eq!(
        s.put(&urls[0], data[..PART as usize].to_vec(), &[]).await.0,
        StatusCode::OK
    );
    let now = stowage_devserver::model::now_ms();
    assert_eq!(
        s.state.files().expire_uploads(now).await.unwrap(),
        0,
        "not yet expired"
    );
    let day_later = now + 24 * 3600 * 1000 + 1;
    assert_eq!(s.state.files().expire_uploads(day_later).await.unwrap(), 1);
    assert_eq!(stored_blobs(&s).await, 0, "the expired part is gone");
    let req = Request::get(format!("/v1/files/multipart/{id}"))
        .header("x-api-key", "demo-key")
        .body(Body::empty())
        .unwrap();
    assert_eq!(s.send(req).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn limits_of_part_size_and_count() {
    let s = server().await;
    let (status, body) = s
        .api(
            "/v1/files/multipart/init",
            json!({"path": "/", "name": "x", "size": 10, "partSize": 10}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, 7008),
        "below the minimum"
    );
    let (status, body) = s
        .api(
            "/v1/files/multipart/init",
            json!({"path": "/", "name": "x", "size": 100 * PART * 10_000}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["partCount"].as_u64().unwrap() <= 10_000);
    let id = body["uploadId"].as_str().unwrap();
    let (status, body) = s
        .api(
            "/v1/files/multipart/presigned-url",
            json!({"uploadId": id, "partNumbers": [10_001]}),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, 7008));
    let (status, body) = s
        .api(
            "/v1/files/multipart/init",
            json!({"path": "/", "name": "x"}),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, 8002));
}

#[tokio::test]
async fn fault_rules_fail_throttle_and_count_parts() {
    let s = server().await;
    let rules = json!({"rules": [{"nth": 1, "kind": "fail"}, {"nth": 2, "kind": "slowDown", "retryAfter": 2}]});
    // The API key alone (any holder of a file URL) may not touch the hooks.
    let (status, body) = s.api("/v1/test/faults", rules.clone()).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, 4000));
    let req = Request::post("/v1/test/faults")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(rules.to_string()))
        .unwrap();
    assert_eq!(s.send(req).await.0, StatusCode::OK);
    let data = bytes(3 * PART as usize, 6);
    let id = s.init("faulty.bin", data.len() as u64, "crc32c").await["uploadId"]
        .as_str()
        .unwrap()
        .to_owned();
    let urls = s.part_urls(&id, &[1, 2, 3]).await;
    let chunk = |n: usize| data[(n - 1) * PART as usize..n * PART as usize].to_vec();
    let (status, body, _) = s.put(&urls[0], chunk(1), &[]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::INTERNAL_SERVER_ERROR, 5000)
    );
    let (status, body, headers) = s.put(&urls[0], chunk(1), &[]).await;
    assert_eq!((status, code(&body)), (StatusCode::TOO_MANY_REQUESTS, 7009));
    assert_eq!(headers[header::RETRY_AFTER], "2");
    assert_eq!(s.put(&urls[0], chunk(1), &[]).await.0, StatusCode::OK);
    let req = Request::get("/v1/test/stats").body(Body::empty()).unwrap();
    assert_eq!(s.send(req).await.0, StatusCode::FORBIDDEN);
    let req = Request::get("/v1/test/stats")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .body(Body::empty())
        .unwrap();
    let stats = s.send(req).await.1;
    assert_eq!(
        (stats["partPuts"].clone(), stats["maxPartsInFlight"].clone()),
        (json!(3), json!(1))
    );
}

#[tokio::test]
async fn test_hooks_are_absent_unless_enabled_and_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::for_tests(dir.path().join("data")).await.unwrap();
    let router = app(AppState::open(&config).await.unwrap(), dir.path());
    let res = router
        .oneshot(Request::get("/v1/test/stats").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let mut config = Config::for_tests(dir.path().join("data2")).await.unwrap();
    config.unsafe_test_hooks = true;
    config.listen = "0.0.0.0:8080".parse().unwrap();
    assert!(AppState::open(&config).await.is_err());
}
