//! Vanishing clients: a client that closes, half-closes or goes quiet at every phase of every
//! upload route (Backendless raw, form and base64 bodies, a `/v1` presigned PUT, a multipart
//! part, Cognite's `uploadUrl`), with plain, chunked, trailer-carrying and oddly encoded
//! bodies. After each, within two seconds, `tmp/` is empty and every blob on disk belongs to
//! a file that exists or a part the upload's status lists: nothing of the client's is left.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

mod common;

use std::time::{Duration, Instant};

use common::{Server, ROOT};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const BODY: usize = 200_000;
const PART: usize = 65_536;

/// How the client leaves.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Half of the request head, then close.
    MidHead,
    /// The whole head, no body, close.
    AfterHead,
    /// Half of the body, close.
    MidBody,
    /// Half of the body, half-close, then close after a while.
    MidBodyHalfClose,
    /// The whole body, close without reading the answer.
    WholeBody,
    /// The whole body, half-close, close without reading the answer.
    WholeBodyHalfClose,
    /// A chunked body without its last chunk, close.
    ChunkedCut,
    /// A whole chunked body with a trailer, close at once.
    ChunkedTrailer,
    /// `Transfer-Encoding: gzip, chunked`, close at once.
    GzipChunked,
    /// `Transfer-Encoding: chunked, chunked`, close at once.
    DoubleChunked,
}

const PHASES: [Phase; 10] = [
    Phase::MidHead,
    Phase::AfterHead,
    Phase::MidBody,
    Phase::MidBodyHalfClose,
    Phase::WholeBody,
    Phase::WholeBodyHalfClose,
    Phase::ChunkedCut,
    Phase::ChunkedTrailer,
    Phase::GzipChunked,
    Phase::DoubleChunked,
];

/// One upload request, prepared: where it goes, its headers and its body.
struct Upload {
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The file path whose existence afterwards explains one more blob.
    file: Option<String>,
    /// The multipart upload whose listed parts explain blobs.
    upload_id: Option<String>,
    /// The Cognite record whose content, once uploaded, explains one more blob.
    cognite_id: Option<i64>,
}

async fn json_post(server: &Server, route: &str, auth: (&str, &str), body: Value) -> Value {
    let response = server
        .client
        .post(server.url(route))
        .header(auth.0, auth.1)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert!(status.is_success(), "{route}: {status} {answer}");
    answer
}

/// The path and query of a URL the server handed out.
fn local(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or("/".to_owned(), |i| after_scheme[i..].to_owned())
}

async fn prepare(server: &Server, route: &str, n: usize) -> Upload {
    let bytes = common::pseudo_random(BODY, n as u64);
    let name = format!("f{n}.bin");
    let plain = |path: String, content_type: &str, body: Vec<u8>, file: String| Upload {
        method: "POST",
        path,
        headers: vec![("Content-Type".into(), content_type.into())],
        body,
        file: Some(file),
        upload_id: None,
        cognite_id: None,
    };
    match route {
        "raw" => plain(
            format!("{ROOT}/files/v/{name}"),
            "application/octet-stream",
            bytes,
            format!("v/{name}"),
        ),
        "form" => {
            let (body, content_type) = common::multipart("file", &name, &bytes);
            plain(
                format!("{ROOT}/files/v/{name}"),
                &content_type,
                body,
                format!("v/{name}"),
            )
        }
        "base64" => {
            use base64::Engine as _;
            let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let mut upload = plain(
                format!("{ROOT}/files/binary/v/{name}"),
                "text/plain",
                text.into_bytes(),
                format!("v/{name}"),
            );
            upload.method = "PUT";
            upload
        }
        "presigned" => {
            let answer = json_post(
                server,
                "/v1/files/presigned-url",
                ("X-API-Key", "demo-key"),
                json!({"path": "/v", "name": name, "size": BODY}),
            )
            .await;
            Upload {
                method: "PUT",
                path: local(answer["url"].as_str().unwrap()),
                headers: vec![("Content-Type".into(), "application/octet-stream".into())],
                body: bytes,
                file: Some(format!("v/{name}")),
                upload_id: None,
                cognite_id: None,
            }
        }
        "part" => {
            let init = json_post(
                server,
                "/v1/files/multipart/init",
                ("X-API-Key", "demo-key"),
                json!({"path": "/v", "name": name, "size": 2 * PART, "partSize": PART, "checksum": "none"}),
            )
            .await;
            let id = init["uploadId"].as_str().unwrap().to_owned();
            let urls = json_post(
                server,
                "/v1/files/multipart/presigned-url",
                ("X-API-Key", "demo-key"),
                json!({"uploadId": id, "partNumbers": [1]}),
            )
            .await;
            Upload {
                method: "PUT",
                path: local(urls["parts"][0]["url"].as_str().unwrap()),
                headers: Vec::new(),
                body: bytes[..PART].to_vec(),
                file: None,
                upload_id: Some(id),
                cognite_id: None,
            }
        }
        "cognite" => {
            let answer = json_post(
                server,
                "/api/v1/projects/demo/files",
                ("Authorization", "Bearer demo-key"),
                json!({"name": name, "directory": "/c"}),
            )
            .await;
            Upload {
                method: "PUT",
                path: local(answer["uploadUrl"].as_str().unwrap()),
                headers: vec![("Content-Type".into(), "application/octet-stream".into())],
                body: bytes,
                // The record exists from the start; only its content counts.
                file: None,
                upload_id: None,
                cognite_id: answer["id"].as_i64(),
            }
        }
        other => panic!("no route {other}"),
    }
}

fn chunked(body: &[u8], last: bool, trailer: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in body.chunks(16_384) {
        out.extend(format!("{:x}\r\n", chunk.len()).into_bytes());
        out.extend(chunk);
        out.extend(b"\r\n");
    }
    if last {
        out.extend(b"0\r\n");
        if trailer {
            out.extend(b"X-Checksum: abc\r\n");
        }
        out.extend(b"\r\n");
    }
    out
}

/// Sends `upload` as a client that leaves at `phase`.
async fn vanish(server: &Server, upload: &Upload, phase: Phase) {
    let encoding = match phase {
        Phase::ChunkedCut | Phase::ChunkedTrailer => Some("chunked"),
        Phase::GzipChunked => Some("gzip, chunked"),
        Phase::DoubleChunked => Some("chunked, chunked"),
        _ => None,
    };
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\n",
        upload.method, upload.path, server.addr
    );
    for (k, v) in &upload.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    match encoding {
        Some(te) => head.push_str(&format!("Transfer-Encoding: {te}\r\n")),
        None => head.push_str(&format!("Content-Length: {}\r\n", upload.body.len())),
    }
    head.push_str("\r\n");
    let half = upload.body.len() / 2;
    let (head_part, body): (&[u8], Vec<u8>) = match phase {
        Phase::MidHead => (&head.as_bytes()[..head.len() / 2], Vec::new()),
        Phase::AfterHead => (head.as_bytes(), Vec::new()),
        Phase::MidBody | Phase::MidBodyHalfClose => (head.as_bytes(), upload.body[..half].to_vec()),
        Phase::WholeBody | Phase::WholeBodyHalfClose => (head.as_bytes(), upload.body.clone()),
        Phase::ChunkedCut => (head.as_bytes(), chunked(&upload.body[..half], false, false)),
        Phase::ChunkedTrailer | Phase::GzipChunked | Phase::DoubleChunked => {
            (head.as_bytes(), chunked(&upload.body, true, true))
        }
    };
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    // The server may refuse and close early: a failed write is the client's problem, not ours.
    let _ = socket.write_all(head_part).await;
    let _ = socket.write_all(&body).await;
    let _ = socket.flush().await;
    if matches!(phase, Phase::MidBodyHalfClose | Phase::WholeBodyHalfClose) {
        let _ = socket.shutdown().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(socket);
}

/// Blobs the server may keep after `upload`: the file's if it exists, the listed parts.
async fn explained(server: &Server, upload: &Upload) -> usize {
    let mut count = 0;
    if let Some(file) = &upload.file {
        let exists: bool = server
            .client
            .get(server.files_url(&format!("{file}?action=exists")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        count += usize::from(exists);
    }
    if let Some(id) = &upload.upload_id {
        let status: Value = server
            .client
            .get(server.url(&format!("/v1/files/multipart/{id}")))
            .header("X-API-Key", "demo-key")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        count += status["parts"].as_array().map_or(0, Vec::len);
    }
    if let Some(id) = upload.cognite_id {
        let records = json_post(
            server,
            "/api/v1/projects/demo/files/byids",
            ("Authorization", "Bearer demo-key"),
            json!({"items": [{"id": id}]}),
        )
        .await;
        count += usize::from(records["items"][0]["uploaded"] == json!(true));
    }
    count
}

/// Waits up to `wait` for `tmp/` to be empty and the blobs to be those `uploads` kept.
async fn settle(
    server: &Server,
    uploads: &[Upload],
    initial: usize,
    wait: Duration,
) -> Option<String> {
    let deadline = Instant::now() + wait;
    loop {
        let tmp = server.tmp_files().len();
        let blobs = server.blob_files().len().saturating_sub(initial);
        let mut kept = 0;
        for upload in uploads {
            kept += explained(server, upload).await;
        }
        if tmp == 0 && blobs == kept {
            return None;
        }
        if Instant::now() >= deadline {
            return Some(format!("{tmp} temp files, {blobs} blobs for {kept} kept"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_that_vanishes_at_any_phase_of_any_upload_leaves_nothing() {
    let server = Server::start_with(|c| {
        c.min_part_size = PART as u64;
        c.unsafe_test_hooks = true;
    })
    .await;
    let started = Instant::now();
    let mut problems = Vec::new();
    let initial = server.blob_files().len();
    let mut uploads = Vec::new();
    for route in ["raw", "form", "base64", "presigned", "part", "cognite"] {
        for phase in PHASES {
            let upload = prepare(&server, route, uploads.len() + 1).await;
            vanish(&server, &upload, phase).await;
            uploads.push(upload);
            // Within two seconds: no temp file, and every blob explained by what some upload
            // kept (a whole body may land after its client left, so count them all).
            if let Some(problem) = settle(&server, &uploads, initial, Duration::from_secs(2)).await
            {
                problems.push(format!("{route} / {phase:?}: {problem}"));
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    if let Some(problem) = settle(&server, &uploads, initial, Duration::from_secs(2)).await {
        problems.push(format!("at the end: {problem}"));
    }
    server.assert_nothing_outside_data();
    eprintln!(
        "{} vanishing clients in {:.1?}",
        uploads.len(),
        started.elapsed()
    );
    assert!(problems.is_empty(), "left behind:\n{}", problems.join("\n"));
}
