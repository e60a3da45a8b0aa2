//! What an operator watches: `/healthz`, `/readyz` and `/metrics`, with no key, through the
//! whole router, against a fresh data directory (or the cluster's stores under `npm test`).

#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use stowage_devserver::{app, AppState, Config};
use tower::ServiceExt;

async fn send(router: &axum::Router, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    (
        status,
        res.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

async fn get(router: &axum::Router, path: &str) -> (StatusCode, Vec<u8>) {
    send(router, Request::get(path).body(Body::empty()).unwrap()).await
}

/// The answer to a `GET`, its body not read yet.
async fn response(router: &axum::Router, path: &str) -> axum::response::Response {
    let req = Request::get(path).body(Body::empty()).unwrap();
    router.clone().oneshot(req).await.unwrap()
}

/// The value of the first sample of `name` whose labels hold all of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|l| labels.iter().all(|want| l.contains(want)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn health_readiness_and_metrics_need_no_key_and_tell_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::for_tests(dir.path().join("data")).await.unwrap();
    let state = AppState::open(&config).await.unwrap();
    let on_disk = state.files().blobs_on_disk();
    let router = app(state, dir.path());

    let (status, body) = get(&router, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["status"],
        "ok"
    );
    let (status, body) = get(&router, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));

    // Traffic the metrics must show: a 3 MiB upload, its download, and a refused request.
    let bytes = vec![5u8; 3 * 1024 * 1024];
    let (status, _) = send(
        &router,
        Request::post("/demo/demo-key/files/observed/größe.bin")
            .body(Body::from(bytes.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Counting the bytes keeps the answer's length: Content-Length, not chunked.
    let res = response(&router, "/demo/demo-key/files/observed/gr%C3%B6%C3%9Fe.bin").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()[header::CONTENT_LENGTH],
        bytes.len().to_string().as_str()
    );
    let got = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(got.len(), bytes.len());
    // An error's JSON body has no Content-Length header: hyper takes it from the body's exact
    // size hint, which the counting wrapper must keep.
    let refused = response(&router, "/demo/wrong-key/files/observed/x.bin").await;
    assert!(refused.status().is_client_error());
    let hint = http_body::Body::size_hint(refused.body()).exact();
    let refused_body = refused.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        hint,
        Some(refused_body.len() as u64),
        "the error keeps its length"
    );

    let res = response(&router, "/metrics").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    let files = "route=\"/{app}/{key}/files/{*rest}\"";
    // Other tests of this binary may count too (one recorder per process): at least ours.
    assert!(
        sample(
            &text,
            "stowage_requests_total",
            &[files, "method=\"POST\"", "status=\"200\""]
        )
        .is_some_and(|n| n >= 1.0),
        "the upload is counted by route template, method and status:\n{text}"
    );
    assert!(sample(
        &text,
        "stowage_requests_total",
        &[files, "method=\"GET\"", "status=\"200\""]
    )
    .is_some_and(|n| n >= 1.0));
    assert!(
        sample(
            &text,
            "stowage_requests_total",
            &["method=\"GET\"", "status=\"40"]
        )
        .is_some(),
        "the refusal is counted with its status"
    );
    #[allow(clippy::cast_precision_loss)]
    let size = bytes.len() as f64;
    assert!(sample(&text, "stowage_bytes_in_total", &[]).is_some_and(|n| n >= size));
    assert!(sample(&text, "stowage_bytes_out_total", &[]).is_some_and(|n| n >= size));
    assert!(
        sample(&text, "stowage_upload_duration_seconds_count", &[files]).is_some_and(|n| n >= 1.0),
        "the upload's latency is in the histogram"
    );
    assert!(sample(
        &text,
        "stowage_upload_duration_seconds_bucket",
        &[files, "le=\"+Inf\""]
    )
    .is_some());
    assert!(
        sample(&text, "stowage_group_commit_batch_size_count", &[]).is_some_and(|n| n >= 1.0),
        "the upload's commit is in the batch-size histogram"
    );
    assert!(sample(&text, "stowage_uploads_in_flight", &[]).is_some());
    assert!(sample(&text, "stowage_db_pool_connections", &["state=\"idle\""]).is_some());
    assert!(
        sample(&text, "stowage_heap_bytes", &["kind=\"allocated\""]).is_some_and(|n| n > 0.0),
        "the allocator reports its live heap"
    );
    assert!(sample(&text, "stowage_process_resident_bytes", &[]).is_some_and(|n| n > 0.0));
    assert!(sample(&text, "stowage_process_open_fds", &[]).is_some_and(|n| n > 0.0));
    for secret in ["demo-key", "wrong-key", "observed", "gr%C3%B6", "größe"] {
        assert!(!text.contains(secret), "/metrics shows {secret}");
    }

    // The blob store's directory goes away (an unmounted disk): not ready, with a code; back
    // again: ready. Health never depends on the stores.
    if on_disk {
        let tmp = dir.path().join("data/tmp");
        let aside = dir.path().join("data/tmp-aside");
        std::fs::rename(&tmp, &aside).unwrap();
        let (status, body) = get(&router, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let error: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(error["code"], 7010, "{error}");
        assert!(error["message"].as_str().unwrap().starts_with("Not ready"));
        assert_eq!(get(&router, "/healthz").await.0, StatusCode::OK);
        std::fs::rename(&aside, &tmp).unwrap();
        assert_eq!(get(&router, "/readyz").await.0, StatusCode::OK);
    }
}
