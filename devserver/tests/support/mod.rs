//! The built `stowage-devserver` binary run as an operator runs it, and plain HTTP/1.1 to it:
//! what the tests that start real server processes share.

#![allow(dead_code, unreachable_pub)] // each test file uses part of it
#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server on a free port with its stdout piped; killed when dropped.
pub struct Running {
    pub child: Child,
    pub addr: String,
    pub lines: std::sync::mpsc::Receiver<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary with its environment cleared of the test runner's catalog and store.
pub fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stowage-devserver"));
    cmd.env_remove("STOWAGE_DATABASE")
        .env_remove("STOWAGE_BLOBS")
        .env("RUST_LOG", "info");
    cmd
}

/// Starts the server on `data` with `args` (and `env`), and waits until it logs its address.
pub fn spawn(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Running {
    let mut cmd = command();
    cmd.args(["--listen", "127.0.0.1:0"])
        .arg("--data")
        .arg(data)
        .arg("--www")
        .arg(data.parent().unwrap_or(data))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
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
        if let Some(at) = line.find("listening on http") {
            let rest = &line[at + "listening on http".len()..];
            let rest = rest.trim_start_matches('s').trim_start_matches("://");
            break rest
                .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
                .next()
                .unwrap()
                .to_owned();
        }
    };
    Running { child, addr, lines }
}

/// An answer: status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// One HTTP/1.1 request on a new connection, with extra header lines (`Name: value`).
pub fn send(addr: &str, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an answer has a head");
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let rest = raw[split + 4..].to_vec();
    let body = if head.contains("transfer-encoding: chunked") {
        unchunk(&rest)
    } else {
        rest
    };
    Answer { status, body }
}

/// The status line of one request (no extra headers).
pub fn request(addr: &str, method: &str, path: &str, body: &[u8]) -> String {
    let answer = send(addr, method, path, &[], body);
    format!("HTTP/1.1 {} ", answer.status)
}

/// A chunked body's bytes.
fn unchunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = std::str::from_utf8(&raw[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[eol + 2 + size + 2..];
    }
}

/// The log lines that arrive within a short while, up to one that contains `until`.
pub fn drain(server: &Running, until: &str) -> Vec<String> {
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
