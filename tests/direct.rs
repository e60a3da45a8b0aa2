//! Bytes straight to the object store (`--direct-to-store`), against a real one: `npm test`'s
//! cluster step sets `STOWAGE_TEST_BLOBS` to a bucket of its Garage cluster. A multipart
//! upload's parts go to the store's own presigned URLs, `complete` has the store join them, and
//! a download link is the store's; nothing of the bytes passes through the server. Without an
//! object store these tests say so and pass.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

mod common;

use common::Server;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const KEY: &str = "demo-key";
const MIB: usize = 1024 * 1024;

fn object_store() -> bool {
    let on = std::env::var("STOWAGE_TEST_BLOBS").is_ok_and(|u| u.starts_with("s3://"));
    if !on {
        eprintln!("STOWAGE_TEST_BLOBS is not an s3:// URL: direct-to-store tests not run");
    }
    on
}

async fn server() -> Server {
    Server::start_with(|c| {
        c.direct_to_store = true;
    })
    .await
}

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed) ^ (i >> 12) as u8)
        .collect()
}

async fn v1(s: &Server, path: &str, body: Value) -> (u16, Value) {
    let res = s
        .client
        .post(s.url(&if path.is_empty() {
            "/v1/files".to_owned()
        } else {
            format!("/v1/files/{path}")
        }))
        .header("x-api-key", KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// init, then the part URLs (all the store's), answers `(uploadId, [url per part])`.
async fn start(s: &Server, name: &str, size: usize, checksum: &str) -> (String, Vec<String>) {
    let (status, init) = v1(
        s,
        "multipart/init",
        json!({"path": "direct", "name": name, "size": size, "partSize": 5 * MIB, "checksum": checksum}),
    )
    .await;
    assert_eq!(status, 200, "{init}");
    let id = init["uploadId"].as_str().unwrap().to_owned();
    let count = init["partCount"].as_u64().unwrap();
    let numbers: Vec<u64> = (1..=count).collect();
    let (status, urls) = v1(
        s,
        "multipart/presigned-url",
        json!({"uploadId": id, "partNumbers": numbers}),
    )
    .await;
    assert_eq!(status, 200, "{urls}");
    let urls: Vec<String> = urls["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["url"].as_str().unwrap().to_owned())
        .collect();
    let own = s.url("");
    for url in &urls {
        assert!(!url.starts_with(&own), "a part URL of the store, not {url}");
        assert!(
            url.contains("X-Amz-Signature="),
            "a SigV4 presigned URL: {url}"
        );
    }
    (id, urls)
}

async fn put_parts(s: &Server, urls: &[String], bytes: &[u8]) -> Vec<Value> {
    let mut parts = Vec::new();
    for (i, (url, chunk)) in urls.iter().zip(bytes.chunks(5 * MIB)).enumerate() {
        let res = s.client.put(url).body(chunk.to_vec()).send().await.unwrap();
        assert_eq!(
            res.status().as_u16(),
            200,
            "part {}: {:?}",
            i + 1,
            res.text().await
        );
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        parts.push(json!({"partNumber": i + 1, "etag": etag}));
    }
    parts
}

#[tokio::test]
async fn a_multipart_upload_goes_straight_to_the_store_and_downloads_from_it() {
    if !object_store() {
        return;
    }
    let s = server().await;
    let bytes = data(12 * MIB + 4321, 1);
    let (id, urls) = start(&s, "straight é.bin", bytes.len(), "sha256").await;
    assert_eq!(urls.len(), 3);
    let parts = put_parts(&s, &urls, &bytes).await;
    // The store's own list of what it holds, for a page that reloads and resumes.
    let status: Value = s
        .client
        .get(s.url(&format!("/v1/files/multipart/{id}")))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let held: Vec<(u64, u64, String)> = status["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["partNumber"].as_u64().unwrap(),
                p["size"].as_u64().unwrap(),
                p["etag"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let sent: Vec<(u64, u64, String)> = parts
        .iter()
        .zip(bytes.chunks(5 * MIB))
        .map(|(p, c)| {
            (
                p["partNumber"].as_u64().unwrap(),
                c.len() as u64,
                p["etag"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(held, sent, "{status}");

    let (status, done) = v1(
        &s,
        "multipart/complete",
        json!({"uploadId": id, "parts": parts}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["size"], bytes.len());
    let sha = base64_sha256(&bytes);
    assert_eq!(
        done["checksum"], sha,
        "the whole-file SHA-256, read back from the store"
    );
    // A repeated complete answers the same file.
    let (status, again) = v1(
        &s,
        "multipart/complete",
        json!({"uploadId": id, "parts": parts}),
    )
    .await;
    assert_eq!((status, &again["etag"]), (200, &done["etag"]));

    // Through the server, by its file URL…
    let file_url = done["fileURL"].as_str().unwrap();
    let got = s
        .client
        .get(file_url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(got.as_ref() == bytes.as_slice(), "the file's bytes");
    // …and straight from the store, by a download link.
    let (status, link) = v1(
        &s,
        "download-url",
        json!({"path": "direct/straight é.bin", "expiresIn": 60}),
    )
    .await;
    assert_eq!(status, 200, "{link}");
    let url = link["url"].as_str().unwrap();
    assert!(url.contains("X-Amz-Signature="), "the store's link: {url}");
    let res = s.client.get(url).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.contains("straight%20%C3%A9.bin"),
        "{disposition}"
    );
    let got = res.bytes().await.unwrap();
    assert!(got.as_ref() == bytes.as_slice(), "the store's bytes");
}

#[tokio::test]
async fn a_wrong_etag_or_a_missing_part_is_refused_and_an_aborted_upload_takes_no_part() {
    if !object_store() {
        return;
    }
    let s = server().await;
    let bytes = data(6 * MIB, 2);
    let (id, urls) = start(&s, "refused.bin", bytes.len(), "crc32c").await;
    let mut parts = put_parts(&s, &urls, &bytes).await;

    let (status, e) = v1(
        &s,
        "multipart/complete",
        json!({"uploadId": id, "parts": [parts[0]]}),
    )
    .await;
    assert_eq!((status, &e["code"]), (400, &json!(7005)), "{e}");
    parts[1]["etag"] = json!("\"0123456789abcdef0123456789abcdef\"");
    let (status, e) = v1(
        &s,
        "multipart/complete",
        json!({"uploadId": id, "parts": parts}),
    )
    .await;
    assert_eq!((status, &e["code"]), (400, &json!(7006)), "{e}");
    let (status, _) = v1(&s, "multipart/abort", json!({"uploadId": id})).await;
    assert_eq!(status, 200);
    // The store's upload is gone with it: its part URLs take nothing more (the store may
    // answer before the body is sent; a cut connection is a refusal too).
    let refused = s
        .client
        .put(&urls[1])
        .body(bytes[5 * MIB..].to_vec())
        .send()
        .await;
    if let Ok(res) = refused {
        assert!(res.status().is_client_error(), "{}", res.status());
    }
    let res = s
        .client
        .get(s.url(&format!("/demo/{KEY}/files/direct/refused.bin")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
}

#[tokio::test]
async fn a_presigned_put_goes_straight_to_the_store_and_register_commits_it() {
    if !object_store() {
        return;
    }
    let s = server().await;
    let bytes = data(3 * MIB + 17, 3);
    let (status, signed) = v1(
        &s,
        "presigned-url",
        json!({"path": "direct", "name": "whole.txt", "size": bytes.len(), "mimeType": "text/plain"}),
    )
    .await;
    assert_eq!(status, 200, "{signed}");
    let url = signed["url"].as_str().unwrap();
    assert!(
        url.contains("X-Amz-Signature="),
        "the store's PUT URL: {url}"
    );
    assert_eq!(signed["headers"]["Content-Type"], "text/plain");
    // Registering before the bytes are there: not uploaded, nothing made.
    let register = json!({"path": "direct", "name": "whole.txt", "size": bytes.len()});
    let (status, e) = v1(&s, "", register.clone()).await;
    assert_eq!((status, &e["code"]), (404, &json!(6019)), "{e}");
    // The Content-Type is signed: another one is refused by the store (which may answer
    // before the body is sent, so a small one; a cut connection is a refusal too).
    let refused = s
        .client
        .put(url)
        .header("content-type", "image/png")
        .body(b"not the file".to_vec())
        .send()
        .await;
    if let Ok(res) = refused {
        assert!(res.status().is_client_error(), "{}", res.status());
    }
    let (status, e) = v1(&s, "", register.clone()).await;
    assert_eq!(
        (status, &e["code"]),
        (404, &json!(6019)),
        "nothing stored: {e}"
    );
    let res = s
        .client
        .put(url)
        .header("content-type", "text/plain")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200, "{:?}", res.text().await);
    let (status, file) = v1(&s, "", register.clone()).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["size"], bytes.len());
    let got = s
        .client
        .get(s.url(&format!("/demo/{KEY}/files/direct/whole.txt")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        got.as_ref() == bytes.as_slice(),
        "the committed file's bytes"
    );
    // Registering again changes nothing.
    let (status, again) = v1(&s, "", register).await;
    assert_eq!((status, &again["id"]), (200, &file["id"]), "{again}");
}

fn base64_sha256(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}
