//! The end-to-end path over a real listener: large raw and multipart uploads, conditional and
//! ranged downloads, racing uploads, a client that leaves mid-body, overwrite under a reader,
//! and the custom public domain.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

mod common;

use std::time::{Duration, Instant};

use common::{Server, ROOT};
use futures_util::StreamExt as _;
use stowage_protocol::ErrorCode;
use tokio::io::AsyncWriteExt as _;

const MIB: usize = 1024 * 1024;

/// POSTs `body` to `files/{path}` and returns the status and the parsed JSON answer.
async fn upload(
    server: &Server,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let response = server
        .client
        .post(server.files_url(path))
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn download(server: &Server, path: &str) -> Vec<u8> {
    let response = server
        .client
        .get(server.files_url(path))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    response.bytes().await.unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_raw_and_multipart_uploads_round_trip() {
    let server = Server::start().await;
    let raw = common::pseudo_random(5 * MIB, 1);
    let (status, answer) = upload(
        &server,
        "big/raw.bin",
        "application/octet-stream",
        raw.clone(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["fileURL"], server.files_url("big/raw.bin"));

    let form_bytes = common::pseudo_random(5 * MIB, 2);
    let (form, form_type) = common::multipart("file", "form.bin", &form_bytes);
    let (status, answer) = upload(&server, "big/form.bin", &form_type, form).await;
    assert_eq!(status, 200, "{answer}");

    assert!(
        download(&server, "big/raw.bin").await == raw,
        "raw upload differs"
    );
    assert!(
        download(&server, "big/form.bin").await == form_bytes,
        "multipart upload differs"
    );

    let head = server
        .client
        .head(server.files_url("big/raw.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    let length = head.headers()["content-length"].to_str().unwrap();
    assert_eq!(length, (5 * MIB).to_string());
    let etag = head.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "ETag {etag}");

    let cached = server
        .client
        .get(server.files_url("big/raw.bin"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    assert!(cached.bytes().await.unwrap().is_empty());

    let ranged = server
        .client
        .get(server.files_url("big/raw.bin"))
        .header("Range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);
    let content_range = ranged.headers()["content-range"].to_str().unwrap();
    assert_eq!(content_range, format!("bytes 100-199/{}", 5 * MIB));
    assert_eq!(ranged.bytes().await.unwrap(), raw[100..200]);
    assert!(server.tmp_files().is_empty());
    server.assert_nothing_outside_data();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_non_overwrite_uploads_have_one_winner() {
    let server = Server::start().await;
    let bodies: Vec<Vec<u8>> = (0..16)
        .map(|i| common::pseudo_random(256 * 1024, 100 + i))
        .collect();
    let uploads = bodies.iter().map(|body| {
        let request = server
            .client
            .post(server.files_url("race/one.bin"))
            .body(body.clone());
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.bytes().await.unwrap())
        }
    });
    let results = futures_util::future::join_all(uploads).await;

    let winners: Vec<usize> = (0..16).filter(|&i| results[i].0 == 200).collect();
    assert_eq!(
        winners.len(),
        1,
        "statuses: {:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    for (i, (status, body)) in results.iter().enumerate() {
        if i != winners[0] {
            let error: stowage_protocol::ErrorBody = serde_json::from_slice(body).unwrap();
            let code = ErrorCode::AlreadyExists;
            assert_eq!(
                (*status, error.code),
                (code.status(), code.code()),
                "loser {i}"
            );
        }
    }
    assert!(
        download(&server, "race/one.bin").await == bodies[winners[0]],
        "not the winner's bytes"
    );
    assert_eq!(
        server.blob_files().len(),
        1,
        "losers' blobs must be removed"
    );
    assert!(server.tmp_files().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_leaving_mid_body_leaves_nothing() {
    let server = Server::start().await;
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST {ROOT}/files/cut/short.bin HTTP/1.1\r\nHost: {}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n",
        server.addr
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket
        .write_all(&common::pseudo_random(1000, 3))
        .await
        .unwrap();
    socket.flush().await.unwrap();
    // Leave only once the server is writing the body to its temporary file.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.tmp_files().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.tmp_files().len(), 1, "the upload never started");
    drop(socket);

    let deadline = Instant::now() + Duration::from_secs(10);
    tokio::time::sleep(Duration::from_millis(300)).await;
    while !server.tmp_files().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        server.tmp_files(),
        Vec::<std::path::PathBuf>::new(),
        "stray temp file"
    );
    assert!(
        server.blob_files().is_empty(),
        "stray blob: {:?}",
        server.blob_files()
    );
    for path in ["cut/short.bin", "cut"] {
        let exists = server
            .client
            .get(server.files_url(&format!("{path}?action=exists")))
            .send();
        let exists: bool = exists.await.unwrap().json().await.unwrap();
        assert!(!exists, "{path} exists after an incomplete upload");
    }
    server.assert_nothing_outside_data();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrite_under_a_streaming_reader() {
    let server = Server::start().await;
    let old = common::pseudo_random(20 * MIB, 4);
    let new = common::pseudo_random(20 * MIB, 5);
    let (status, _) = upload(
        &server,
        "live/file.bin",
        "application/octet-stream",
        old.clone(),
    )
    .await;
    assert_eq!(status, 200);

    let reader = server
        .client
        .get(server.files_url("live/file.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(reader.status(), 200);
    let mut stream = reader.bytes_stream();
    let mut received = stream.next().await.unwrap().unwrap().to_vec();
    assert!(
        received.len() < old.len(),
        "the first chunk was the whole file"
    );

    let overwrite = server
        .client
        .post(server.files_url("live/file.bin?overwrite=true"))
        .body(new.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(overwrite.status(), 200);

    while let Some(chunk) = stream.next().await {
        received.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(received.len(), old.len());
    assert!(
        received == old,
        "the reader did not get the complete old bytes"
    );
    assert!(
        download(&server, "live/file.bin").await == new,
        "a new GET did not get the new bytes"
    );
    assert_eq!(server.blob_files().len(), 1, "the old blob must be gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_domain_urls_and_host_routing() {
    let server =
        Server::start_with(|c| c.public_url = Some("http://files.example.test".into())).await;
    let bytes = common::pseudo_random(10_000, 6);
    let (status, answer) = upload(
        &server,
        "dir/name",
        "application/octet-stream",
        bytes.clone(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["fileURL"], "http://files.example.test/dir/name");

    let host = [("Host", "files.example.test")];
    let response = server.raw("GET", "/dir/name", &host, b"").await;
    assert_eq!(response.status, 200);
    assert!(
        response.body == bytes,
        "custom-domain GET returned other bytes"
    );
    let head = server.raw("HEAD", "/dir/name", &host, b"").await;
    assert_eq!(
        (head.status, head.header("content-length")),
        (200, Some("10000"))
    );

    server
        .raw("GET", "/dir/missing", &host, b"")
        .await
        .assert_error(ErrorCode::NotFound);
    server
        .raw("GET", "/%2e%2e/x", &host, b"")
        .await
        .assert_error(ErrorCode::ProhibitedPath);
    let post = server.raw("POST", "/dir/other", &host, b"x").await;
    post.assert_error(ErrorCode::MethodNotAllowed);
    // The app routes still work on the listener's own address.
    assert!(download(&server, "dir/name").await == bytes);
    server.assert_nothing_outside_data();
}

/// An upload refused before its body was read (wrong key, existing file) still gets its JSON
/// error: the server reads the rest of the body first, so a client still sending is not cut off
/// (a reset connection is what Firefox and WebKit report as a network error). Over raw TCP:
/// the whole 16 MiB body must go out without a broken pipe, then the answer must arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_errors_arrive_even_while_a_large_body_is_still_being_sent() {
    use tokio::io::AsyncReadExt as _;
    let server = Server::start().await;
    let body = vec![7u8; 16 * MIB];
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /demo/wrong-key/files/x.bin HTTP/1.1\r\nHost: {}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.addr,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
        .write_all(&body)
        .await
        .expect("the server reads the whole body instead of resetting the connection");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(
        answer.contains(&format!("\"code\":{}", ErrorCode::WrongApp.code())),
        "{answer}"
    );
}

/// Failed logins from one address are limited across accounts, and the generated admin key is
/// private to the server's user.
#[tokio::test]
async fn failed_logins_from_one_address_are_limited_and_the_admin_key_file_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let server = Server::start().await;
    let key_file = server.data().join("admin-demo.key");
    if std::env::var("STOWAGE_TEST_DATABASE").is_ok_and(|u| !u.is_empty()) {
        // On a shared PostgreSQL catalog the generated key is kept in the database, so that
        // every server holds the same one: no file at all.
        assert!(
            !key_file.exists(),
            "a shared catalog's admin key is not in a file"
        );
    } else {
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "admin key file mode {mode:o}");
    }
    let post = |path: &str, body: serde_json::Value| {
        server
            .client
            .post(server.url(&format!("{ROOT}/users/{path}")))
            .json(&body)
            .send()
    };
    let ok = post(
        "register",
        serde_json::json!({"email": "real@example.com", "password": "correct horse battery"}),
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);
    for i in 0..10 {
        let answer = post(
            "login",
            serde_json::json!({"login": format!("nobody{i}@example.com"), "password": "wrong password"}),
        )
        .await
        .unwrap();
        assert_eq!(answer.status(), 401, "attempt {i}");
    }
    // Ten accounts tried from this address: the next login from it waits, even a right one.
    let answer = post(
        "login",
        serde_json::json!({"login": "real@example.com", "password": "correct horse battery"}),
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), 429);
    assert!(answer.headers().contains_key("retry-after"));
}
