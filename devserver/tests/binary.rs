//! The built `stowage-devserver` binary as an operator runs it: its log lines (`--log-format`,
//! no colour into a pipe, no API key), and `--help` (documents `RUST_LOG`, shows no secret).

#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server on a free port with its stdout piped; killed when dropped.
struct Running {
    child: Child,
    addr: String,
    lines: std::sync::mpsc::Receiver<String>,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(format: &str) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_stowage-devserver"))
        .args(["--listen", "127.0.0.1:0", "--log-format", format])
        .arg("--data")
        .arg(dir.path().join("data"))
        .arg("--www")
        .arg(dir.path())
        .env("RUST_LOG", "info")
        .env_remove("STOWAGE_DATABASE")
        .env_remove("STOWAGE_BLOBS")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr = loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the server logs where it listens");
        if let Some(at) = line.find("listening on http://") {
            let rest = &line[at + "listening on http://".len()..];
            break rest
                .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
                .next()
                .unwrap()
                .to_owned();
        }
    };
    Running {
        child,
        addr,
        lines,
        _dir: dir,
    }
}

/// One HTTP/1.1 request on a new connection; answers the status line.
fn request(addr: &str, method: &str, path: &str, body: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

/// The log lines that arrive within a short while (the request lines follow their answers).
fn drain(server: &Running, until: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while let Ok(line) = server
        .lines
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        let done = line.contains(until);
        seen.push(line);
        if done {
            break;
        }
    }
    seen
}

#[test]
fn json_logs_are_one_object_per_line_with_the_key_redacted() {
    let server = start("json");
    let status = request(
        &server.addr,
        "POST",
        "/demo/demo-key/files/logged/n%C3%A4me.txt?overwrite=true",
        b"hello",
    );
    assert!(status.contains(" 200 "), "{status}");
    assert!(request(&server.addr, "GET", "/healthz", b"").contains(" 200 "));
    let lines = drain(&server, "/healthz");
    assert!(lines.iter().any(|l| l.contains("/healthz")), "{lines:?}");
    for line in &lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(
            value["level"].is_string() && value["timestamp"].is_string(),
            "{line}"
        );
        assert!(
            !line.contains("demo-key"),
            "a log line holds the API key: {line}"
        );
        assert!(
            !line.contains("overwrite=true"),
            "a log line holds the query: {line}"
        );
        assert!(
            !line.contains('\u{1b}'),
            "colour codes in a JSON line: {line}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("/demo/***/files/logged/n%C3%A4me.txt")),
        "the upload's request is logged with its key replaced: {lines:?}"
    );
}

#[test]
fn text_logs_into_a_pipe_have_no_colour() {
    let server = start("text");
    assert!(request(&server.addr, "GET", "/healthz", b"").contains(" 200 "));
    let lines = drain(&server, "/healthz");
    assert!(lines.iter().any(|l| l.contains("/healthz")), "{lines:?}");
    for line in &lines {
        assert!(
            !line.contains('\u{1b}'),
            "colour codes in a piped log: {line:?}"
        );
    }
}

#[test]
fn help_documents_rust_log_and_shows_no_secret() {
    let out = Command::new(env!("CARGO_BIN_EXE_stowage-devserver"))
        .arg("--help")
        .env(
            "STOWAGE_SIGNING_SECRET",
            "signing-secret-that-must-not-show-0123456789",
        )
        .env(
            "STOWAGE_ADMIN_KEYS",
            "demo=admin-secret-that-must-not-show-0123456789",
        )
        .env(
            "STOWAGE_DATABASE",
            "postgres://stowage:db-password-not-shown@db:5432/stowage",
        )
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("RUST_LOG"), "{help}");
    assert!(help.contains("--log-format"), "{help}");
    for secret in [
        "signing-secret-that",
        "admin-secret-that",
        "db-password-not-shown",
    ] {
        assert!(!help.contains(secret), "--help shows {secret}");
    }
}
