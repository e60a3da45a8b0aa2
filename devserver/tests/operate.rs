//! Operating the built binary: `backup DEST` while uploads continue (and a server started on
//! the backup), `--migrate-only` and a catalog from a newer version, systemd's readiness
//! notification.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::Connection as _;
use support::{send, spawn};

const FILES: &str = "/demo/demo-key/files";

/// Bytes that say which write made them: `tag` repeated, then filler, `len` bytes.
fn body(tag: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        out.extend_from_slice(tag.as_bytes());
        out.push(b'.');
    }
    out.truncate(len);
    out
}

fn put(addr: &str, path: &str, bytes: &[u8]) -> u16 {
    send(
        addr,
        "POST",
        &format!("{FILES}/{path}?overwrite=true"),
        &[],
        bytes,
    )
    .status
}

fn get(addr: &str, path: &str) -> (u16, Vec<u8>) {
    let a = send(addr, "GET", &format!("{FILES}/{path}"), &[], b"");
    (a.status, a.body)
}

fn blob_files(data: &Path) -> usize {
    walk(&data.join("blobs"))
}

fn walk(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| {
                if e.path().is_dir() {
                    walk(&e.path())
                } else {
                    1
                }
            })
            .sum()
    })
}

/// `stowage-devserver --data DATA backup DEST`, as an operator runs it next to the server.
fn backup(data: &Path, dest: &Path) -> std::process::Output {
    support::command()
        .arg("--data")
        .arg(data)
        .arg("backup")
        .arg(dest)
        .output()
        .unwrap()
}

/// A connection to the SQLite catalog of the server on `data`, as `backup` opens it.
async fn catalog(data: &Path) -> sqlx::SqliteConnection {
    sqlx::SqliteConnection::connect(&format!("sqlite://{}", data.join("stowage.db").display()))
        .await
        .unwrap()
}

/// What the writer sent: every version of each path, in order, and how many of them were
/// acknowledged.
#[derive(Default)]
struct Sent {
    versions: HashMap<String, Vec<Vec<u8>>>,
    acked: HashMap<String, usize>,
}

#[test]
fn a_backup_taken_while_files_are_overwritten_restores_every_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = spawn(&data, &[], &[]);
    let addr = server.addr.clone();
    // Files that stay put, one with a non-ASCII name and one empty.
    let fixed: Vec<(String, Vec<u8>)> = (0..40)
        .map(|i| {
            (
                format!("fixed/f{i}.bin"),
                body(&format!("fixed {i}"), 1000 + i * 7919),
            )
        })
        .chain([
            (
                "fixed/n%C3%A4me%20%E2%9C%93.txt".to_owned(),
                b"non-ascii".to_vec(),
            ),
            ("fixed/empty.bin".to_owned(), Vec::new()),
        ])
        .collect();
    for (path, bytes) in &fixed {
        assert_eq!(put(&addr, path, bytes), 200, "{path}");
    }
    // A writer overwrites ten files and adds new ones until told to stop; each overwrite makes
    // the version before it garbage, which the server removes at once unless held.
    let sent = Arc::new(Mutex::new(Sent::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = std::thread::spawn({
        let (sent, stop, addr) = (sent.clone(), stop.clone(), addr.clone());
        move || {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let path = if i % 3 == 2 {
                    format!("new/n{i}.bin")
                } else {
                    format!("live/l{}.bin", i % 10)
                };
                let bytes = body(&format!("write {i}"), 96 * 1024 + i);
                sent.lock()
                    .unwrap()
                    .versions
                    .entry(path.clone())
                    .or_default()
                    .push(bytes.clone());
                assert_eq!(put(&addr, &path, &bytes), 200, "{path}");
                let mut s = sent.lock().unwrap();
                let n = s.versions[&path].len();
                s.acked.insert(path, n);
                i += 1;
            }
            i
        }
    });
    while sent.lock().unwrap().acked.len() < 12 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let acked_before: HashMap<String, usize> = sent.lock().unwrap().acked.clone();
    let dest = dir.path().join("backup");
    let out = backup(&data, &dest);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "backup failed: {report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let writes = writer.join().unwrap();
    assert!(report.starts_with("backed up "), "{report}");
    assert!(!dest.with_file_name("backup.partial").exists());

    // A server on the backup: every file the source held when the backup began, each whole.
    let restored = spawn(&dest, &[], &[]);
    for (path, bytes) in &fixed {
        assert_eq!(get(&restored.addr, path), (200, bytes.clone()), "{path}");
    }
    let sent = sent.lock().unwrap();
    let mut checked = 0;
    for (path, versions) in &sent.versions {
        let (status, got) = get(&restored.addr, path);
        let floor = acked_before.get(path).copied().unwrap_or(0);
        if status == 404 {
            assert_eq!(
                floor, 0,
                "{path}: acknowledged before the backup, missing from it"
            );
            continue;
        }
        assert_eq!(status, 200, "{path}");
        let at = versions
            .iter()
            .position(|v| *v == got)
            .unwrap_or_else(|| panic!("{path}: {} bytes that no write sent", got.len()));
        assert!(
            at + 1 >= floor,
            "{path}: version {} restored, {floor} was acknowledged before the backup",
            at + 1
        );
        checked += 1;
    }
    assert!(
        checked >= 10,
        "{checked} written files checked ({writes} writes)"
    );
    // The keys came along: the admin key of the source opens the restored server.
    let key = std::fs::read_to_string(data.join("admin-demo.key")).unwrap();
    assert_eq!(
        std::fs::read_to_string(dest.join("admin-demo.key")).unwrap(),
        key
    );
    // The restored catalog names only blobs it holds: nothing garbage, nothing missing.
    assert_eq!(
        blob_files(&dest),
        fixed.len() + checked,
        "blob files in the backup"
    );
    // The source still serves, and holds back no removal once the backup ended.
    assert_eq!(get(&addr, &fixed[0].0), (200, fixed[0].1.clone()));
    let before = blob_files(&data);
    assert_eq!(put(&addr, "live/l0.bin", b"after"), 200);
    assert_eq!(
        blob_files(&data),
        before,
        "an overwrite after the backup removes the old blob"
    );
}

#[tokio::test]
async fn while_a_backup_holds_removal_replaced_blobs_stay() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = spawn(&data, &[], &[]);
    assert_eq!(put(&server.addr, "held/a.bin", b"first"), 200);
    let before = blob_files(&data);
    // What `backup` does first: a hold in the live catalog.
    let mut db = catalog(&data).await;
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 60_000;
    sqlx::query("INSERT INTO catalog_info (name, value) VALUES ('deletes_held_until_ms', $1)")
        .bind(until.to_string())
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(put(&server.addr, "held/a.bin", b"second"), 200);
    assert_eq!(
        blob_files(&data),
        before + 1,
        "the replaced blob stays while held"
    );
    assert_eq!(get(&server.addr, "held/a.bin"), (200, b"second".to_vec()));
    // A hold that ran out (a backup that died) holds nothing.
    sqlx::query("UPDATE catalog_info SET value = '1' WHERE name = 'deletes_held_until_ms'")
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(put(&server.addr, "held/a.bin", b"third"), 200);
    assert_eq!(
        blob_files(&data),
        before + 1,
        "the blob replaced now goes at once"
    );
}

#[test]
fn a_backup_refuses_a_destination_that_exists_and_a_postgres_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(spawn(&data, &[], &[]));
    let dest = dir.path().join("taken");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("mine.txt"), b"keep me").unwrap();
    let out = backup(&data, &dest);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists"));
    assert_eq!(std::fs::read(dest.join("mine.txt")).unwrap(), b"keep me");
    let out = support::command()
        .args([
            "backup",
            "/nonexistent/b",
            "--database",
            "postgres://u@127.0.0.1:1/db",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pg_dump"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn migrate_only_lists_the_migrations_and_a_catalog_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = support::command()
        .arg("--data")
        .arg(&data)
        .arg("--migrate-only")
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{listed}");
    let applied: Vec<&str> = listed.lines().filter(|l| l.starts_with('0')).collect();
    assert!(applied.len() >= 6, "{listed}");
    assert!(
        applied.iter().all(|l| !l.contains("not applied")),
        "{listed}"
    );
    assert!(listed.contains("catalog schema at version"), "{listed}");
    // A newer version applied a migration this one does not know.
    let mut db = catalog(&data).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, x'00', 0)",
    )
    .execute(&mut db)
    .await
    .unwrap();
    db.close().await.unwrap();
    for args in [vec!["--migrate-only"], vec![]] {
        let out = support::command()
            .arg("--data")
            .arg(&data)
            .args(["--listen", "127.0.0.1:0"])
            .args(&args)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "started on a catalog from the future ({args:?})"
        );
        assert!(
            said.contains("newer stowage-devserver") && said.contains("9999"),
            "{said}"
        );
    }
}

#[test]
fn systemd_hears_ready_once_the_server_answers_and_stopping_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let server = spawn(
        &dir.path().join("data"),
        &[],
        &[("NOTIFY_SOCKET", socket_path.to_str().unwrap())],
    );
    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"READY=1\n");
    assert_eq!(send(&server.addr, "GET", "/readyz", &[], b"").status, 200);
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let n = socket.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"STOPPING=1\n");
}

/// One HTTPS/1.1 request to `addr`, trusting only `cert`; answers the status and the body.
async fn https(
    addr: &str,
    cert: &rcgen::Certificate,
    method: &str,
    path: &str,
    body: &[u8],
) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    tls.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    // A peer that closes without close_notify ends the read with an error after the bytes.
    let _ = tls.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn with_a_certificate_the_server_speaks_https_and_hands_out_https_urls() {
    let dir = tempfile::tempdir().unwrap();
    let identity = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, identity.cert.pem()).unwrap();
    std::fs::write(&key, identity.signing_key.serialize_pem()).unwrap();
    let server = spawn(
        &dir.path().join("data"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        &[],
    );
    let addr = server.addr.clone();
    let (status, answer) = https(
        &addr,
        &identity.cert,
        "POST",
        &format!("{FILES}/tls/gr%C3%BC%C3%9Fe.txt"),
        b"over tls",
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let url = answer["fileURL"].as_str().unwrap_or_default().to_owned();
    assert!(url.starts_with(&format!("https://{addr}/")), "{answer}");
    let (status, got) = https(
        &addr,
        &identity.cert,
        "GET",
        &url[format!("https://{addr}").len()..],
        b"",
    )
    .await;
    assert_eq!((status, got.as_str()), (200, "over tls"));
    // Plain HTTP to the TLS port gets no answer from a route.
    let plain = tokio::task::spawn_blocking(move || {
        std::panic::catch_unwind(|| send(&addr, "GET", "/healthz", &[], b"").status).unwrap_or(0)
    })
    .await
    .unwrap();
    assert_ne!(plain, 200);
    // A key that does not match the certificate is refused at start, with the reason.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(&key, other.signing_key.serialize_pem()).unwrap();
    let out = support::command()
        .arg("--data")
        .arg(dir.path().join("data2"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("TLS"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
