//! What an operator watches, with no key: `GET /healthz` (the process answers), `GET /readyz`
//! (the catalog and the blob store answer) and `GET /metrics` (Prometheus text), and the
//! middleware that counts every request into it.
//!
//! The metrics hold route templates (`/{app}/{key}/files/{*rest}`), methods and statuses, never
//! a path, a key or a user: they are safe to scrape from anywhere the server is reachable.

use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use stowage_protocol::ErrorCode;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Upload latency buckets, in seconds: a 4 KiB commit (milliseconds) to a large file (minutes).
const LATENCY: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];
/// Group-commit batch sizes (jobs per fsync), up to the committer's largest batch.
const BATCH: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use; several servers in one process
/// (the tests) share it.
pub(crate) fn recorder() -> &'static PrometheusHandle {
    RECORDER.get_or_init(|| {
        let builder = match PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("stowage_upload_duration_seconds".into()),
                LATENCY,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("stowage_group_commit_batch_size".into()),
                    BATCH,
                )
            }) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "metrics buckets refused; summaries instead");
                PrometheusBuilder::new()
            }
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!(
                "another metrics recorder is installed; /metrics shows only its own gauges"
            );
        }
        describe();
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "stowage_requests_total",
        "Requests answered, by route template, method and status"
    );
    describe_counter!(
        "stowage_bytes_in_total",
        Unit::Bytes,
        "Request body bytes received"
    );
    describe_counter!(
        "stowage_bytes_out_total",
        Unit::Bytes,
        "Response body bytes sent"
    );
    describe_histogram!(
        "stowage_upload_duration_seconds",
        Unit::Seconds,
        "Requests with a body (uploads, parts, JSON calls), from their head to the answer"
    );
    describe_histogram!(
        "stowage_group_commit_batch_size",
        "Jobs committed by one group commit (one fsync of the store, one transaction)"
    );
    describe_gauge!(
        "stowage_uploads_in_flight",
        "Requests with a body being served (of --max-uploads)"
    );
    describe_gauge!(
        "stowage_db_pool_connections",
        "Catalog connections open, by state (idle or busy)"
    );
    describe_gauge!(
        "stowage_heap_bytes",
        Unit::Bytes,
        "The allocator's view: allocated (live), resident (held in RAM), retained (mapped, returned)"
    );
    describe_gauge!(
        "stowage_process_resident_bytes",
        Unit::Bytes,
        "The process's resident set (VmRSS)"
    );
    describe_gauge!(
        "stowage_process_open_fds",
        "Open file descriptors of the process"
    );
}

/// Keeps the recorder's histograms bounded between scrapes (call once, in the runtime).
pub fn spawn_upkeep() {
    let handle = recorder();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    });
}

/// Counts a request: by route template, method and status; its body bytes in and out; and, for
/// a request with a body, its latency.
pub(crate) async fn count(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("static", MatchedPath::as_str)
        .to_owned();
    let method = match *req.method() {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let has_body = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH);
    let started = Instant::now();
    let bytes_in = metrics::counter!("stowage_bytes_in_total");
    let req = req.map(|body| Counted::wrap(body, bytes_in));
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    if has_body {
        metrics::histogram!("stowage_upload_duration_seconds", "route" => route.clone())
            .record(started.elapsed().as_secs_f64());
    }
    metrics::counter!(
        "stowage_requests_total",
        "route" => route,
        "method" => method,
        "status" => status
    )
    .increment(1);
    let bytes_out = metrics::counter!("stowage_bytes_out_total");
    response.map(|body| Counted::wrap(body, bytes_out))
}

/// A body that counts its data bytes as they pass and keeps everything else: its size hint
/// (so an answer keeps its `Content-Length` instead of turning chunked) and its end.
struct Counted {
    inner: Body,
    bytes: metrics::Counter,
}

impl Counted {
    fn wrap(inner: Body, bytes: metrics::Counter) -> Body {
        Body::new(Self { inner, bytes })
    }
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                this.bytes.increment(data.len() as u64);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// `GET /healthz`: the process is up and its runtime answers. Never touches the stores.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "observe",
    responses((status = 200, description = "`{\"status\": \"ok\"}`", body = crate::routes::schemas::Health)),
)]
pub(crate) async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// `GET /readyz`: the catalog answers a query and the blob store a request; else
/// `503 {code: 7010}` naming which, with `Retry-After`.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "observe",
    responses(
        (status = 200, description = "`{\"status\": \"ready\"}`", body = crate::routes::schemas::Health),
        (status = 503, description = "`7010` Unavailable: the database or the blob store does not answer; see `Retry-After`", body = stowage_protocol::ErrorBody),
    ),
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> AppResult<Response> {
    match state.files().ready().await {
        Ok(()) => Ok(Json(serde_json::json!({ "status": "ready" })).into_response()),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            Err(not_ready("the database or the blob store does not answer"))
        }
    }
}

fn not_ready(why: &str) -> AppError {
    AppError::api(ErrorCode::Unavailable, format!("Not ready: {why}"))
}

/// `GET /metrics`: Prometheus text (version 0.0.4).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "observe",
    responses((status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String)),
)]
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let handle = recorder();
    #[allow(clippy::cast_precision_loss)] // gauges: counts and byte sizes far below 2^53
    {
        metrics::gauge!("stowage_uploads_in_flight").set(state.uploads_in_flight() as f64);
        let (open, idle) = state.files().pool_usage();
        let idle = idle as f64;
        metrics::gauge!("stowage_db_pool_connections", "state" => "idle").set(idle);
        metrics::gauge!("stowage_db_pool_connections", "state" => "busy")
            .set((f64::from(open) - idle).max(0.0));
        if let Some(heap) = heap() {
            for (kind, bytes) in [
                ("allocated", heap.allocated),
                ("resident", heap.resident),
                ("retained", heap.retained),
            ] {
                metrics::gauge!("stowage_heap_bytes", "kind" => kind).set(bytes as f64);
            }
        }
        if let Some(rss) = resident_bytes() {
            metrics::gauge!("stowage_process_resident_bytes").set(rss as f64);
        }
        if let Some(fds) = open_fds() {
            metrics::gauge!("stowage_process_open_fds").set(fds as f64);
        }
    }
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// The allocator's figures, in bytes.
struct Heap {
    allocated: usize,
    resident: usize,
    retained: usize,
}

fn heap() -> Option<Heap> {
    use tikv_jemalloc_ctl::{epoch, stats};
    // jemalloc's statistics are a snapshot taken at the last epoch.
    epoch::advance().ok()?;
    Some(Heap {
        allocated: stats::allocated::read().ok()?,
        resident: stats::resident::read().ok()?,
        retained: stats::retained::read().ok()?,
    })
}

fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn open_fds() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count())
}
