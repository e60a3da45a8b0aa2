//! The accept loop: HTTP/1.1 connections served by hyper with a timer, so that slow and vanished
//! clients are timed out, a cap on open connections (past it a connection gets `429` with
//! `Retry-After` and is closed, never left hanging), the peer address for the login limit, and a
//! graceful stop: on the shutdown signal no connection is accepted any more, requests in flight
//! finish within the grace period, then the rest are closed.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::{rustls, TlsAcceptor};
use tower::ServiceExt as _;

/// The limits of the connection layer (flags in [`crate::Config`]).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest wait for a request's headers once a connection may send one.
    pub header_timeout: Duration,
    /// Longest time a connection may send and receive nothing (idle keep-alive, a stalled
    /// upload, a client that stopped reading its download).
    pub idle_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// How long requests in flight may take to finish after the shutdown signal.
    pub grace: Duration,
}

/// A stream that notes when bytes last moved in either direction, and that swaps hyper's bare
/// answer to a request head it cannot parse for a documented `{code, message}` (see
/// [`framing_reply`]).
struct Watched<S> {
    inner: S,
    last: Arc<AtomicU64>,
    start: Instant,
    swap: Option<Swap>,
}

/// Our answer being written in place of hyper's: its bytes, how many are out, and the length
/// of hyper's write it stands for (reported once all of ours is out).
struct Swap {
    bytes: Vec<u8>,
    at: usize,
    stands_for: usize,
}

/// hyper answers a request head it cannot parse (a bad `Content-Length` or
/// `Transfer-Encoding`, a header block past its buffer, an over-long URL) by itself, before any
/// route: a status line, `content-length: 0` and a date, nothing else, then it closes. The
/// router never writes a 4xx without a `content-type`, so a write that is exactly such a head
/// is hyper's; this is the answer to write instead.
fn framing_reply(data: &[u8]) -> Option<Vec<u8>> {
    use stowage_protocol::{ApiError, ErrorCode};
    let head = data.strip_suffix(b"\r\n\r\n")?;
    if head.len() > 512 || head.windows(4).any(|w| w == b"\r\n\r\n") {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?.to_ascii_lowercase();
    let (code, message) = match text.get(..13)? {
        "http/1.1 400 " | "http/1.0 400 " => (
            ErrorCode::MalformedRequest,
            "Malformed HTTP request: the request line or a header could not be read",
        ),
        "http/1.1 431 " | "http/1.0 431 " => {
            (ErrorCode::HeadersTooLarge, "Request headers are too large")
        }
        "http/1.1 414 " | "http/1.0 414 " => (ErrorCode::UriTooLong, "Request URI is too long"),
        _ => return None,
    };
    let bare = text.lines().skip(1).all(|line| {
        line.starts_with("content-length: 0")
            || line.starts_with("date:")
            || line.starts_with("connection:")
    });
    if !bare {
        return None;
    }
    let body = serde_json::to_string(&ApiError::new(code, message).body()).ok()?;
    let status_line = &head[..head.iter().position(|&b| b == b'\r').unwrap_or(head.len())];
    let mut reply = status_line.to_vec();
    reply.extend_from_slice(
        format!(
            "\r\nContent-Type: application/json\r\nAccess-Control-Allow-Origin: *\r\n\
             Cache-Control: no-store\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    Some(reply)
}

impl<S> Watched<S> {
    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }
}

impl<S: AsyncWrite + Unpin> Watched<S> {
    /// Writes the rest of the swapped-in answer; `Ready(Ok(n))` with hyper's length once done.
    fn poll_swap(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
        while let Some(swap) = self.swap.as_mut() {
            if swap.at == swap.bytes.len() {
                let n = swap.stands_for;
                self.swap = None;
                return Poll::Ready(Ok(n));
            }
            match Pin::new(&mut self.inner).poll_write(cx, &swap.bytes[swap.at..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Ok(0)),
                Poll::Ready(Ok(n)) => {
                    swap.at += n;
                    self.touch();
                }
                other => return other,
            }
        }
        Poll::Ready(Ok(0))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.swap.is_none() {
            self.swap = framing_reply(data).map(|bytes| Swap {
                bytes,
                at: 0,
                stands_for: data.len(),
            });
        }
        if self.swap.is_some() {
            return self.poll_swap(cx);
        }
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        if self.swap.is_none() {
            let total: usize = bufs.iter().map(|b| b.len()).sum();
            let first = bufs.iter().find(|b| !b.is_empty());
            if let Some(first) = first.filter(|b| b.len() == total) {
                self.swap = framing_reply(first).map(|bytes| Swap {
                    bytes,
                    at: 0,
                    stands_for: total,
                });
            }
        }
        if self.swap.is_some() {
            return self.poll_swap(cx);
        }
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Resolves once nothing moved on the connection for `idle`.
async fn idle_for(last: Arc<AtomicU64>, start: Instant, idle: Duration) {
    loop {
        let since = start
            .elapsed()
            .saturating_sub(Duration::from_millis(last.load(Ordering::Relaxed)));
        if since >= idle {
            return;
        }
        tokio::time::sleep(idle - since).await;
    }
}

/// The answer to a connection past the cap, written by hand: no request was read.
fn busy_response() -> Vec<u8> {
    let body = stowage_protocol::ApiError::new(
        stowage_protocol::ErrorCode::SlowDown,
        "The server has too many open connections; try again shortly",
    )
    .body();
    let body = serde_json::to_string(&body).unwrap_or_else(|_| "{}".into());
    format!(
        "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: 1\r\n\
         Access-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: retry-after\r\n\
         Cache-Control: no-store\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The TLS side of `--tls-cert` / `--tls-key`: rustls, TLS 1.2 and 1.3, HTTP/1.1 by ALPN.
pub fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "--tls-cert {}: no certificate in it",
            cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("--tls-key {}: {e}", key.display()))?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("--tls-cert and --tls-key do not make a TLS identity: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains (see the module doc).
/// With `tls`, each connection's handshake comes first, within the header timeout.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors, say: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(async move {
                let mut stream = stream;
                let _ = tokio::time::timeout(Duration::from_secs(2), async {
                    let _ = stream.write_all(&busy_response()).await;
                    let _ = stream.shutdown().await;
                })
                .await;
            });
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            router: router.clone(),
            builder: builder.clone(),
            watcher: graceful.watcher(),
            peer,
            idle: limits.idle_timeout,
        };
        let tls = tls.clone();
        let handshake_timeout = limits.header_timeout;
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => connection.run(stream).await,
                Some(tls) => {
                    match tokio::time::timeout(handshake_timeout, tls.accept(stream)).await {
                        Ok(Ok(stream)) => connection.run(stream).await,
                        Ok(Err(e)) => tracing::debug!(error = %e, %peer, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.grace) => {
            tracing::warn!("the grace period ended with requests still in flight; closing them");
        }
    }
}

/// One accepted connection, about to be served.
struct Connection {
    router: Router,
    builder: Arc<hyper::server::conn::http1::Builder>,
    watcher: Watcher,
    peer: SocketAddr,
    idle: Duration,
}

impl Connection {
    /// Serves HTTP/1.1 on `stream` (plain TCP, or TLS over it) until it ends or idles out.
    async fn run<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(self, stream: S) {
        let Self {
            router,
            builder,
            watcher,
            peer,
            idle,
        } = self;
        let start = Instant::now();
        let last = Arc::new(AtomicU64::new(0));
        let io = TokioIo::new(Watched {
            inner: stream,
            last: last.clone(),
            start,
            swap: None,
        });
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                router.clone().oneshot(req.map(axum::body::Body::new))
            });
        let connection = watcher.watch(builder.serve_connection(io, service));
        tokio::select! {
            result = connection => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                }
            }
            () = idle_for(last, start, idle) => {
                tracing::debug!(%peer, "closing an idle connection");
            }
        }
    }
}
