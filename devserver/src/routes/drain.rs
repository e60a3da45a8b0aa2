//! Reading what a handler left of a request body before an error answer goes out. A server
//! that answers early (bad key, bad path, over the limit) and closes the connection with the
//! body unread makes the kernel reset it; Chromium still shows the answer, but Firefox and
//! WebKit then report a network error and the caller never sees the error code. So the rest of
//! the body is read and thrown away first, bounded in bytes and time, and cut off at the first
//! pause longer than a second (or the body timeout) or once it trickles below
//! `--min-body-rate`: a client that stalls after its error answer is not waited for (the answer
//! then goes out at once).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;

/// Most bytes read and discarded after an error answer.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;
/// Longest time spent reading them, however steadily they come.
const DRAIN_TIME: Duration = Duration::from_secs(30);
/// Longest pause between two chunks while reading them, and the grace before their pace counts.
const DRAIN_PAUSE: Duration = Duration::from_secs(1);

type Slot = Arc<Mutex<Option<Body>>>;

/// A request body that, when dropped unfinished, hands what is left of it back to the
/// middleware through `slot`.
struct Returning {
    inner: Option<Body>,
    slot: Slot,
}

impl HttpBody for Returning {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        match self.inner.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map(HttpBody::size_hint)
            .unwrap_or_default()
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        if let Some(body) = self.inner.take().filter(|b| !b.is_end_stream()) {
            if let Ok(mut slot) = self.slot.lock() {
                *slot = Some(body);
            }
        }
    }
}

/// Middleware: after a 4xx/5xx answer, reads and discards what is left of the request body
/// (at most 64 MiB, at most 30 s, no pause longer than a second, no trickle) so that the connection
/// ends cleanly and every browser sees the answer.
pub(super) async fn drain_after_error(
    State(state): State<crate::state::AppState>,
    req: Request,
    next: Next,
) -> Response {
    let slot: Slot = Arc::default();
    let (parts, body) = req.into_parts();
    let body = Body::new(Returning {
        inner: Some(body),
        slot: Arc::clone(&slot),
    });
    let response = next.run(Request::from_parts(parts, body)).await;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        let rest = slot.lock().ok().and_then(|mut s| s.take());
        if let Some(rest) = rest {
            // A client still sending its body sends it without pauses; one that stalls or
            // trickles has been waited for already (`routes/pace.rs`): a second long wait here
            // would only hold its answer back.
            let pause = state.body_timeout().min(DRAIN_PAUSE);
            let drained = discard(rest, pause, state.min_body_rate());
            let _ = tokio::time::timeout(DRAIN_TIME, drained).await;
        }
    }
    response
}

/// Reads `body` to its end, to `DRAIN_LIMIT` bytes, to the first wait for a frame longer than
/// `pause`, or until, `pause` after the start, it averages fewer than `min_rate` bytes a second
/// (the pace of `routes/pace.rs`: a trickle does not hold the answer back either).
async fn discard(mut body: Body, pause: Duration, min_rate: u64) {
    let started = tokio::time::Instant::now();
    let mut seen = 0u64;
    while seen < DRAIN_LIMIT {
        match tokio::time::timeout(pause, body.frame()).await {
            Ok(Some(Ok(frame))) => seen += frame.data_ref().map_or(0, |d| d.len() as u64),
            _ => break,
        }
        if super::pace::trickling(seen, started.elapsed(), pause, min_rate) {
            break;
        }
    }
}
