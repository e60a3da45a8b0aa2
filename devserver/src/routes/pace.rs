//! The pace a request body must keep: no pause between two chunks longer than `--body-timeout`,
//! and, once the body has been arriving for that long, an average of at least
//! `--min-body-rate` bytes a second. A slow upload that keeps making progress survives; one
//! that trickles a byte a second (holding one of `--max-uploads` slots, a temp file and a
//! descriptor for as long as it likes) is refused with `8011`, and its temp file removed.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::state::AppState;

/// Why a body was cut off; the upload routes turn it into `8011` with this text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TooSlow {
    /// No chunk for this long.
    Paused(Duration),
    /// Fewer than this many bytes a second on average.
    Trickling(u64),
}

impl fmt::Display for TooSlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Paused(d) => write!(f, "The request body paused for more than {} s", d.as_secs()),
            Self::Trickling(rate) => write!(
                f,
                "The request body arrived slower than {rate} bytes a second"
            ),
        }
    }
}

impl std::error::Error for TooSlow {}

/// What a body error says when it is a [`TooSlow`].
pub(crate) fn too_slow(e: &axum::Error) -> Option<TooSlow> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(slow) = err.downcast_ref::<TooSlow>() {
            return Some(*slow);
        }
        source = err.source();
    }
    None
}

/// Whether `seen` bytes in `elapsed` are a trickle: past the `grace`, fewer than `min_rate`
/// bytes a second on average (0: no minimum).
pub(super) fn trickling(seen: u64, elapsed: Duration, grace: Duration, min_rate: u64) -> bool {
    min_rate > 0
        && elapsed > grace
        && u128::from(seen) < u128::from(min_rate) * elapsed.as_millis() / 1000
}

/// A body held to its pace.
struct Paced {
    inner: Body,
    pause: Duration,
    min_rate: u64,
    started: Option<Instant>,
    seen: u64,
    timer: Pin<Box<Sleep>>,
}

impl HttpBody for Paced {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let now = Instant::now();
        let started = match self.started {
            Some(t) => t,
            None => {
                // The clock starts when the route first reads, not when the request came.
                let deadline = now + self.pause;
                self.timer.as_mut().reset(deadline);
                *self.started.insert(now)
            }
        };
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                self.seen += frame.data_ref().map_or(0, |d| d.len() as u64);
                let elapsed = now.duration_since(started);
                if trickling(self.seen, elapsed, self.pause, self.min_rate)
                    && !self.inner.is_end_stream()
                {
                    return Poll::Ready(Some(Err(axum::Error::new(TooSlow::Trickling(
                        self.min_rate,
                    )))));
                }
                let deadline = now + self.pause;
                self.timer.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    Poll::Ready(Some(Err(axum::Error::new(TooSlow::Paused(self.pause)))))
                }
                Poll::Pending => Poll::Pending,
            },
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Middleware: holds every request body to the server's pace.
pub(super) async fn paced(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // A request without a body (most GETs) needs no timer.
    if HttpBody::is_end_stream(req.body()) {
        return next.run(req).await;
    }
    let pause = state.body_timeout();
    let min_rate = state.min_body_rate();
    let req = req.map(|inner| {
        Body::new(Paced {
            inner,
            pause,
            min_rate,
            started: None,
            seen: 0,
            timer: Box::pin(tokio::time::sleep(pause)),
        })
    });
    next.run(req).await
}
