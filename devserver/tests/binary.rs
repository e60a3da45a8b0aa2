//! The built `stowage-devserver` binary as an operator runs it: its log lines (`--log-format`,
//! no colour into a pipe, no API key), and `--help` (documents `RUST_LOG`, shows no secret).

#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

mod support;

use support::{drain, request, spawn, Running};

/// A server in a data directory of its own, logging as `format`.
fn start(format: &str) -> (Running, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(&dir.path().join("data"), &["--log-format", format], &[]);
    (server, dir)
}

#[test]
fn json_logs_are_one_object_per_line_with_the_key_redacted() {
    let (server, _dir) = start("json");
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
    let (server, _dir) = start("text");
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
    let out = support::command()
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
