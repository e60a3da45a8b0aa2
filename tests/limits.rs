//! The connection layer's limits on a real listener (issue #11, part 1): slow headers, idle
//! keep-alive connections, stalled bodies and vanished clients are closed in time and leave
//! nothing in `tmp/`; past the connection and upload caps a client gets `429 {code: 7009}` with
//! `Retry-After` at once, never a hang.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

mod common;

use std::time::{Duration, Instant};

use common::{Server, ROOT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A server whose timeouts are short enough to test: 1 s for headers, idle and body pauses.
async fn quick(max_connections: usize, max_uploads: usize) -> Server {
    Server::start_with(|c| {
        c.header_timeout = 1;
        c.idle_timeout = 1;
        c.body_timeout = 1;
        c.min_body_rate = 100;
        c.max_connections = max_connections;
        c.max_uploads = max_uploads;
    })
    .await
}

/// Reads until the server closes the connection (or `limit` passes); answers what came and
/// how long it took.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(start.elapsed()), stream.read(&mut buf))
            .await
        {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the connection was still open after {limit:?}"),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), start.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sending_its_headers_one_byte_at_a_time_is_closed() {
    let server = quick(64, 64).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /demo/demo-key/info HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // One byte every 300 ms keeps the connection busy but never finishes the headers.
    let writer = async {
        for b in b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if stream.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    let closed = tokio::time::timeout(Duration::from_secs(8), writer).await;
    assert!(
        closed.is_ok(),
        "headers trickling for 8 s were never cut off"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_idle_keep_alive_connections_are_closed() {
    let server = quick(64, 64).await;
    // A connection that never sends a byte.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let (_, took) = until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(
        took < Duration::from_secs(4),
        "silent connection open {took:?}"
    );
    // A keep-alive connection after one answered request.
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(format!("GET {ROOT}/info HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let (answer, took) = until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        took < Duration::from_secs(4),
        "idle keep-alive open {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_upload_is_refused_and_leaves_nothing() {
    let server = quick(64, 64).await;
    for route in ["stalled.bin", "binary/stalled.bin"] {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        // The base64 route refuses any other type (415) before it reads the body.
        let (method, kind) = if route.starts_with("binary/") {
            ("PUT", "text/plain")
        } else {
            ("POST", "application/octet-stream")
        };
        stream
            .write_all(
                format!(
                    "{method} {ROOT}/files/{route} HTTP/1.1\r\nHost: x\r\nContent-Type: {kind}\r\nContent-Length: 1000000\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        stream.write_all(&[b'a'; 300]).await.unwrap();
        // Then nothing: the server must give up within the body timeout.
        let (answer, took) = until_closed(&mut stream, Duration::from_secs(6)).await;
        assert!(
            took < Duration::from_secs(5),
            "{route}: stalled body held {took:?}"
        );
        // The 8011 answer, or none when the idle timeout (also 1 s here) closes first, which
        // may cut the answer's first bytes short.
        let head: String = answer.chars().take(12).collect();
        assert!(
            answer.starts_with("HTTP/1.1 400") || "HTTP/1.1 400".starts_with(&head),
            "{route}: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            server.tmp_files(),
            Vec::<std::path::PathBuf>::new(),
            "{route}: tmp/"
        );
        assert!(!server
            .all_paths()
            .await
            .contains(route.trim_start_matches("binary/")));
    }
    // A slow upload that keeps sending survives: 20 chunks 200 ms apart (4 s, past every timeout).
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(format!("POST {ROOT}/files/slow.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    for _ in 0..20 {
        stream.write_all(&[b's'; 100]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (answer, _) = until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_upload_is_refused_once_its_grace_runs_out_and_frees_its_slot() {
    // Grace (the body timeout) 2 s, then at least 100 bytes a second; one upload slot.
    let server = Server::start_with(|c| {
        c.body_timeout = 2;
        c.min_body_rate = 100;
        c.idle_timeout = 30;
        c.max_uploads = 1;
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(format!("POST {ROOT}/files/trickle.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n").as_bytes())
        .await
        .unwrap();
    // One byte every 100 ms: never a pause of 2 s, but 10 bytes a second.
    let started = Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    let read = async {
        let mut got = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(8), reader.read_to_end(&mut got)).await;
        String::from_utf8_lossy(&got).into_owned()
    };
    let write = async {
        for _ in 0..100 {
            if writer.write_all(b"t").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let (answer, ()) = tokio::join!(read, write);
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("8011") && answer.contains("slower than 100 bytes"),
        "{answer}"
    );
    assert!(took < Duration::from_secs(6), "refused after {took:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        server.tmp_files().is_empty(),
        "tmp/: {:?}",
        server.tmp_files()
    );
    // Its slot is free again: a normal upload goes through.
    let response = server
        .client
        .post(server.files_url("after.bin"))
        .body(vec![b'a'; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_a_client_is_told_to_retry_at_once() {
    let server = Server::start_with(|c| c.max_connections = 3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(b"GET /demo/demo-key/info HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = TcpStream::connect(server.addr).await.unwrap();
    let (answer, took) = until_closed(&mut extra, Duration::from_secs(3)).await;
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(
        answer.contains("Retry-After: 1") && answer.contains("\"code\":7009"),
        "{answer}"
    );
    // Once one goes, a new connection is served again.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ok = server
        .client
        .get(server.url(&format!("{ROOT}/info")))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_upload_cap_an_upload_is_told_to_retry_at_once() {
    let server = Server::start_with(|c| c.max_uploads = 1).await;
    // One upload in flight, its body still coming.
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    first
        .write_all(
            format!(
                "POST {ROOT}/files/first.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let busy = server
        .client
        .post(server.files_url("second.bin"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(busy.status(), 429);
    assert_eq!(busy.headers()["retry-after"], "1");
    let body: serde_json::Value = busy.json().await.unwrap();
    assert_eq!(body["code"], 7009);
    // Downloads and listings are not uploads.
    let list = server
        .client
        .get(server.files_url(""))
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
    first.write_all(b"defghij").await.unwrap();
    let (answer, _) = until_closed(&mut first, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let again = server
        .client
        .post(server.files_url("second.bin"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_finishes_the_upload_in_flight_then_returns() {
    use stowage_devserver::{app, AppState, Config};
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = Config::for_tests(dir.path().join("data")).await.unwrap();
    config.listen = addr;
    config.shutdown_grace = 10;
    let state = AppState::open(&config).await.unwrap();
    let router = app(state, dir.path());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(stowage_devserver::listen::serve(
        listener,
        router,
        config.limits(),
        None,
        async {
            let _ = stopped.await;
        },
    ));
    let mut upload = TcpStream::connect(addr).await.unwrap();
    upload
        .write_all(format!("POST {ROOT}/files/in-flight.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 600\r\n\r\n").as_bytes())
        .await
        .unwrap();
    upload.write_all(&[b'a'; 200]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // No new connection is served once the stop began.
    let refused = tokio::time::timeout(Duration::from_secs(2), async {
        match TcpStream::connect(addr).await {
            Err(_) => true,
            Ok(mut s) => {
                let _ = s
                    .write_all(format!("GET {ROOT}/info HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                    .await;
                let mut buf = [0u8; 64];
                !matches!(s.read(&mut buf).await, Ok(n) if n > 0)
            }
        }
    })
    .await
    .unwrap_or(false);
    assert!(refused, "a connection made after the stop was served");
    // The upload in flight finishes and is answered.
    upload.write_all(&[b'b'; 400]).await.unwrap();
    let (answer, _) = until_closed(&mut upload, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    tokio::time::timeout(Duration::from_secs(5), served)
        .await
        .expect("serve() did not return after the stop")
        .unwrap();
    let files = std::fs::read_dir(dir.path().join("data").join("tmp"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(files, 0, "tmp/ after the stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_answer_waits_for_a_stalled_body_no_longer_than_the_body_timeout() {
    // The idle timeout is long here: only the body timeout may cut the drain after the error
    // short. Without that bound the answer waited for the drain's 30 s, and the idle timeout
    // closed the connection first, so the client never saw it.
    let server = Server::start_with(|c| {
        c.body_timeout = 1;
        c.idle_timeout = 20;
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(
            b"POST /demo/wrong-key/files/refused.bin HTTP/1.1\r\nHost: x\r\n\
              Content-Length: 1000000\r\n\r\n",
        )
        .await
        .unwrap();
    stream.write_all(&[b'a'; 300]).await.unwrap();
    // Then nothing more: the answer must come once the body has paused for the body timeout.
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            Ok(_) => break,
            Err(_) => panic!("no answer within 10 s of the body stalling"),
        }
    }
    let took = start.elapsed();
    let answer = String::from_utf8_lossy(&got);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(took < Duration::from_secs(4), "the answer waited {took:?}");
}
