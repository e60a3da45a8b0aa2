//! Bad input against a real listener: every row of a table must answer its documented error
//! code and status as JSON with CORS headers, store nothing, and write nothing outside `data/`.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

mod common;

use std::collections::BTreeSet;

use common::{Server, ROOT};
use stowage_protocol::ErrorCode::{self, *};

/// One bad request and the error it must get.
struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    code: ErrorCode,
    expect_header: Option<(&'static str, &'static str)>,
}

/// A row: `path` is taken as is when it starts with `/`, else appended to `{ROOT}/files/`.
fn row(name: &'static str, method: &'static str, path: &str, code: ErrorCode) -> Case {
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{ROOT}/files/{path}")
    };
    Case {
        name,
        method,
        path,
        headers: Vec::new(),
        body: Vec::new(),
        code,
        expect_header: None,
    }
}

impl Case {
    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    fn json(self, text: impl Into<Vec<u8>>) -> Self {
        self.header("Content-Type", "application/json").body(text)
    }

    /// The body sent with `Transfer-Encoding: chunked` (one chunk), so no length is declared.
    fn chunked(mut self, body: &[u8]) -> Self {
        let mut encoded = format!("{:x}\r\n", body.len()).into_bytes();
        encoded.extend_from_slice(body);
        encoded.extend_from_slice(b"\r\n0\r\n\r\n");
        self.body = encoded;
        self.header("Transfer-Encoding", "chunked")
    }

    fn expect(mut self, name: &'static str, value: &'static str) -> Self {
        self.expect_header = Some((name, value));
        self
    }
}

const MOVE_OK: &str = r#"{"sourcePath": "/dir/file.txt", "targetPath": "/moved"}"#;
/// Upload limit of the server under test, so that `BodyTooLarge` is cheap to reach.
const MAX_UPLOAD: usize = 1 << 20;

fn multipart_without_file() -> (Vec<u8>, String) {
    common::multipart("attachment", "a.bin", b"bytes")
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    let long_segment = "s".repeat(256);
    let long_utf8_segment = "%C3%A9".repeat(128); // 128 × "é" = 256 bytes
    let long_path = vec!["p".repeat(99); 11].join("/") + "q"; // 1100 bytes
    let big_json = format!(r#"{{"sourcePath": "/{}", "targetPath": "/t"}}"#, "a".repeat(70_000));
    let (no_file_part, form_type) = multipart_without_file();
    vec![
        // Traversal and prohibited symbols, raw and percent-encoded.
        row("raw ..", "POST", "../x", ProhibitedPath).body("x"),
        row("raw a/../../x", "POST", "a/../../x", ProhibitedPath).body("x"),
        row("GET raw dir/../../x", "GET", "dir/../../x", ProhibitedPath),
        row("%2e%2e/x", "POST", "%2e%2e/x", ProhibitedPath).body("x"),
        row("%2E%2e%2Fx", "POST", "%2E%2e%2Fx", ProhibitedPath).body("x"),
        row("a%2f..%2f..%2fx", "POST", "a%2f..%2f..%2fx", ProhibitedPath).body("x"),
        row("GET %2e%2e/stowage.db", "GET", "%2e%2e/stowage.db", ProhibitedPath),
        row("DELETE %2e%2e", "DELETE", "%2e%2e", ProhibitedPath),
        row("NUL %00", "POST", "a%00b", ProhibitedPath).body("x"),
        row("newline a%0ab", "POST", "a%0ab", ProhibitedPath).body("x"),
        row("raw backslash", "POST", r"a\..\x", ProhibitedPath).body("x"),
        row("%5c backslash", "POST", "a%5c..%5cx", ProhibitedPath).body("x"),
        row(". segment", "POST", "a/./b", ProhibitedPath).body("x"),
        row("%2e segment", "POST", "%2e/b", ProhibitedPath).body("x"),
        row("empty segment a//b", "POST", "a//b", ProhibitedPath).body("x"),
        row("invalid UTF-8 %ff", "POST", "a%ffb", ProhibitedPath).body("x"),
        row("256-byte segment", "POST", &long_segment, SegmentTooLong).body("x"),
        row("256-byte UTF-8 segment", "POST", &long_utf8_segment, SegmentTooLong).body("x"),
        row("1100-byte path", "POST", &long_path, PathTooLong).body("x"),
        // Reserved first segments.
        row("upload files/move/x.txt", "POST", "move/x.txt", ReservedPath).body("x"),
        row("upload files/permissions/x", "POST", "permissions/x", ReservedPath).body("x"),
        row("upload files/binary/x", "POST", "binary/x", ReservedPath).body("x"),
        row("mkdir files/copy/", "POST", "copy/", ReservedPath),
        // Wrong app id or API key: no data, whatever the route.
        row("wrong key upload", "POST", "/demo/wrong/files/x.txt", WrongApp).body("x"),
        row("wrong key download", "GET", "/demo/wrong/files/dir/file.txt", WrongApp),
        row("wrong key list", "GET", "/demo/wrong/files/", WrongApp),
        row("wrong key move", "PUT", "/demo/wrong/files/move", WrongApp).json(MOVE_OK),
        row("wrong key info", "GET", "/demo/wrong/info", WrongApp),
        row("wrong key traversal", "POST", "/demo/wrong/files/../x", WrongApp).body("x"),
        row("wrong app upload", "POST", "/nope/demo-key/files/x.txt", WrongApp).body("x"),
        row("wrong app download", "GET", "/nope/demo-key/files/dir/file.txt", WrongApp),
        row("wrong app list", "GET", "/nope/demo-key/files", WrongApp),
        row("wrong app move", "PUT", "/nope/demo-key/files/move", WrongApp).json(MOVE_OK),
        row("wrong app info", "GET", "/nope/demo-key/info", WrongApp),
        row("wrong app delete", "DELETE", "/nope/demo-key/files/dir", WrongApp),
        // Move, copy and rename bodies.
        row("move without content type", "PUT", "move", WrongContentType).body(MOVE_OK),
        row("copy as text/plain", "PUT", "copy", WrongContentType).header("Content-Type", "text/plain").body(MOVE_OK),
        row("rename without content type", "PUT", "rename", WrongContentType).body(r#"{"oldPathName": "/dir/file.txt", "newName": "n"}"#),
        row("malformed JSON", "PUT", "move", MalformedJson).json(r#"{"sourcePath": "/dir/file.txt","#),
        row("JSON array", "PUT", "move", MalformedJson).json(r#"["/dir/file.txt", "/moved"]"#),
        row("JSON over 64 KiB", "PUT", "move", BodyTooLarge).json(big_json.as_bytes()),
        row("chunked JSON over 64 KiB", "PUT", "copy", BodyTooLarge).header("Content-Type", "application/json").chunked(big_json.as_bytes()),
        row("move missing sourcePath", "PUT", "move", MissingField).json(r#"{"targetPath": "/moved"}"#),
        row("rename missing newName", "PUT", "rename", MissingField).json(r#"{"oldPathName": "/dir/file.txt"}"#),
        row("move null sourcePath", "PUT", "move", ParameterNull).json(r#"{"sourcePath": null, "targetPath": "/moved"}"#),
        row("rename empty newName", "PUT", "rename", ParameterNull).json(r#"{"oldPathName": "/dir/file.txt", "newName": ""}"#),
        row("move sourcePath number", "PUT", "move", MalformedJson).json(r#"{"sourcePath": 5, "targetPath": "/moved"}"#),
        row("move traversal in JSON", "PUT", "move", ProhibitedPath).json(r#"{"sourcePath": "/dir/../other/file.txt", "targetPath": "/moved"}"#),
        row("rename to ../x", "PUT", "rename", ProhibitedPath).json(r#"{"oldPathName": "/dir/file.txt", "newName": "../x"}"#),
        row("rename to a/b", "PUT", "rename", ProhibitedPath).json(r#"{"oldPathName": "/dir/file.txt", "newName": "a/b"}"#),
        row("move missing source", "PUT", "move", NotFound).json(r#"{"sourcePath": "/nothing.txt", "targetPath": "/moved"}"#),
        row("move into a file", "PUT", "move", MoveFileToFile).json(r#"{"sourcePath": "/other/file.txt", "targetPath": "/dir/file.txt"}"#),
        row("move dir into itself", "PUT", "move", IntoItself).json(r#"{"sourcePath": "/dir", "targetPath": "/dir/sub"}"#),
        row("copy dir into itself", "PUT", "copy", IntoItself).json(r#"{"sourcePath": "/dir", "targetPath": "/dir"}"#),
        row("move name exists in target", "PUT", "move", ExistsInTarget).json(r#"{"sourcePath": "/other/file.txt", "targetPath": "/dir"}"#),
        row("copy name exists in target", "PUT", "copy", ExistsInTarget).json(r#"{"sourcePath": "/other/file.txt", "targetPath": "dir"}"#),
        row("move the root", "PUT", "move", RootNotAllowed).json(r#"{"sourcePath": "/", "targetPath": "/moved"}"#),
        row("rename onto existing", "PUT", "rename", AlreadyExists).json(r#"{"oldPathName": "/dir/sub", "newName": "file.txt"}"#),
        row("PUT on a file path", "PUT", "dir/file.txt", MethodNotAllowed).body("x"),
        // Uploads.
        row("upload onto file", "POST", "dir/file.txt", AlreadyExists).body("new"),
        row("upload onto file overwrite=false", "POST", "dir/file.txt?overwrite=false", AlreadyExists).body("new"),
        row("upload onto directory overwrite=true", "POST", "dir/sub?overwrite=true", AlreadyExists).body("new"),
        row("mkdir existing", "POST", "dir/sub/", AlreadyExists),
        row("upload under a file", "POST", "dir/file.txt/x", NotADirectory).body("x"),
        row("overwrite=maybe", "POST", "new.txt?overwrite=maybe", InvalidParameter).body("x"),
        row("upload over limit", "POST", "big.bin", BodyTooLarge).body(vec![7u8; MAX_UPLOAD + 1]),
        row("chunked upload over limit", "POST", "big.bin", BodyTooLarge).chunked(&vec![7u8; MAX_UPLOAD + 1]),
        row("base64 not base64", "PUT", "binary/b64.txt", InvalidBase64).header("Content-Type", "text/plain").body("!!!! not base64 ****"),
        row("base64 as octet-stream", "PUT", "binary/b64.txt", WrongContentType).header("Content-Type", "application/octet-stream").body("aGVsbG8="),
        row("base64 without content type", "PUT", "binary/b64.txt", WrongContentType).body("aGVsbG8="),
        row("multipart without file part", "POST", "form.bin", MissingField).header("Content-Type", form_type).body(no_file_part),
        row("multipart garbage", "POST", "form.bin", MalformedMultipart).header("Content-Type", "multipart/form-data; boundary=XyZ").body("garbage, no boundary here"),
        row("multipart without boundary", "POST", "form.bin", MalformedMultipart).header("Content-Type", "multipart/form-data").body("--x\r\n\r\n"),
        // Listing and query parameters.
        row("pagesize=abc", "GET", "?pagesize=abc", InvalidParameter),
        row("pagesize=1001", "GET", "dir?pagesize=1001", InvalidParameter),
        row("offset=-1", "GET", "?offset=-1", InvalidParameter),
        row("sub=yes", "GET", "dir?sub=yes", InvalidParameter),
        row("action=bogus", "GET", "dir?action=bogus", InvalidParameter),
        // Download, delete, routing.
        row("GET missing", "GET", "missing.txt", NotFound),
        row("DELETE missing", "DELETE", "missing.txt", NotFound),
        row("DELETE root files/", "DELETE", "", RootNotAllowed),
        row("DELETE root files", "DELETE", &format!("{ROOT}/files"), RootNotAllowed),
        row("PATCH a file", "PATCH", "dir/file.txt", MethodNotAllowed).body("x"),
        row("POST info", "POST", &format!("{ROOT}/info"), MethodNotAllowed),
        row("unknown route under app", "GET", &format!("{ROOT}/nothing"), UnknownRoute),
        row("unknown route at top", "GET", "/nothing/here", UnknownRoute),
        row("Range beyond the end", "GET", "dir/file.txt", RangeNotSatisfiable).header("Range", "bytes=1000-2000").expect("content-range", "bytes */5"),
    ]
}

/// What the valid setup creates; nothing else may exist after the table ran.
async fn setup(server: &Server) -> BTreeSet<String> {
    for (path, body) in [
        ("dir/file.txt", "hello"),
        ("other/file.txt", "other"),
        ("dir/sub/", ""),
    ] {
        let response = server
            .client
            .post(server.files_url(path))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "setup {path}");
    }
    ["dir", "dir/file.txt", "dir/sub", "other", "other/file.txt"]
        .map(str::to_owned)
        .into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_request_gets_its_error_and_changes_nothing() {
    let server = Server::start_with(|c| c.max_upload_bytes = MAX_UPLOAD as u64).await;
    let expected_paths = setup(&server).await;
    let beside_tmp = server.dir.path().parent().unwrap().join("x");
    let x_existed = beside_tmp.exists();

    let mut failures = Vec::new();
    for case in cases() {
        let mut headers: Vec<(&str, &str)> = vec![("Origin", "http://example.test")];
        headers.extend(case.headers.iter().map(|(k, v)| (*k, v.as_str())));
        let response = server
            .raw(case.method, &case.path, &headers, &case.body)
            .await;
        let got = serde_json::from_slice::<stowage_protocol::ErrorBody>(&response.body);
        let mut problems = Vec::new();
        match &got {
            Ok(body) if body.code != case.code.code() => {
                problems.push(format!("code {} ({})", body.code, body.message));
            }
            Ok(body) if body.message.is_empty() => problems.push("empty message".into()),
            Ok(_) => {}
            Err(_) => problems.push(format!(
                "body {:?}",
                String::from_utf8_lossy(&response.body)
            )),
        }
        if response.status != case.code.status() {
            problems.push(format!("status {}", response.status));
        }
        if !response
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
        {
            problems.push(format!(
                "content-type {:?}",
                response.header("content-type")
            ));
        }
        if response.header("access-control-allow-origin").is_none() {
            problems.push("no access-control-allow-origin".into());
        }
        if let Some((name, value)) = case.expect_header {
            if response.header(name) != Some(value) {
                problems.push(format!("{name}: {:?}", response.header(name)));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{} ({} {}): expected {:?} {}/{}, got {}",
                case.name,
                case.method,
                common::shorten(&case.path),
                case.code,
                case.code.status(),
                case.code.code(),
                problems.join(", ")
            ));
        }
    }

    // Nothing stored, nothing written outside data/, no temporary leftovers, still serving.
    server.assert_nothing_outside_data();
    assert_eq!(
        beside_tmp.exists(),
        x_existed,
        "{} appeared",
        beside_tmp.display()
    );
    assert_eq!(server.all_paths().await, expected_paths);
    assert_eq!(
        server.blob_files().len(),
        2,
        "blobs: {:?}",
        server.blob_files()
    );
    assert_eq!(server.tmp_files(), Vec::<std::path::PathBuf>::new());
    let file = server
        .client
        .get(server.files_url("dir/file.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(file.bytes().await.unwrap(), "hello");
    let info = server
        .client
        .get(server.url(&format!("{ROOT}/info")))
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `%252e%252e` decodes once to the literal name `%2e%2e`: an ordinary directory in the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_encoded_dots_are_a_literal_name() {
    let server = Server::start().await;
    let upload = server
        .raw(
            "POST",
            &format!("{ROOT}/files/%252e%252e/x"),
            &[],
            b"literal",
        )
        .await;
    assert_eq!(
        upload.status,
        200,
        "{}",
        String::from_utf8_lossy(&upload.body)
    );
    let answer: serde_json::Value = serde_json::from_slice(&upload.body).unwrap();
    let url = answer["fileURL"].as_str().unwrap();
    assert!(url.ends_with("/files/%252e%252e/x"), "fileURL {url}");

    let listing = server
        .client
        .get(server.files_url("?sub=true"))
        .send()
        .await
        .unwrap();
    let entries: Vec<serde_json::Value> = listing.json().await.unwrap();
    let shape: Vec<(&str, &str, bool)> = entries
        .iter()
        .map(|e| {
            let url = e["url"].as_str().unwrap();
            (
                url,
                e["name"].as_str().unwrap(),
                e["isDirectory"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [("%2e%2e", "%2e%2e", true), ("%2e%2e/x", "x", false)]
    );

    let download = server
        .raw("GET", &format!("{ROOT}/files/%252e%252e/x"), &[], b"")
        .await;
    assert_eq!(
        (download.status, download.body.as_slice()),
        (200, &b"literal"[..])
    );
    let via_public_url = server.client.get(url).send().await.unwrap();
    assert_eq!(via_public_url.bytes().await.unwrap(), "literal");
    // The once-decoded form is the `..` segment and stays refused.
    let dots = server
        .raw("GET", &format!("{ROOT}/files/%2e%2e/x"), &[], b"")
        .await;
    dots.assert_error(ProhibitedPath);

    server.assert_nothing_outside_data();
    let on_disk = common::walk(&server.data());
    assert!(
        on_disk
            .iter()
            .all(|p| !p.to_string_lossy().contains("%2e") && !p.ends_with("x")),
        "a user-chosen name reached the disk: {on_disk:?}"
    );
    assert_eq!(server.blob_files().len(), 1);
}
