//! For tests: the application over one server or, on a deployment several servers can share
//! (a PostgreSQL catalog and an object store, as `npm test`'s cluster step sets up with
//! `STOWAGE_TEST_SERVERS=2`), over two servers on it taking the requests in turn, so that a
//! test's consecutive requests land on different servers.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::Request;
use axum::Router;
use tower::ServiceExt as _;

use crate::error::AppResult;
use crate::{app, AppState, Config};

/// The router (over one or two servers) and the first server's state.
pub async fn servers(config: &Config, www: &Path) -> AppResult<(Router, AppState)> {
    let first = AppState::open(config).await?;
    let shareable = config.shared_catalog()
        && config
            .blobs
            .as_deref()
            .is_some_and(|b| b.starts_with("s3://"));
    let two = std::env::var("STOWAGE_TEST_SERVERS").is_ok_and(|n| n.trim() == "2");
    if !(two && shareable) {
        return Ok((app(first.clone(), www), first));
    }
    let mut other = config.clone();
    other.data = config.data.with_extension("second");
    let second = AppState::open(&other).await?;
    eprintln!("two servers on one catalog and bucket take this test's requests in turn");
    let routers = [app(first.clone(), www), app(second, www)];
    let next = Arc::new(AtomicUsize::new(0));
    let in_turn = tower::service_fn(move |req: Request| {
        let router = routers[next.fetch_add(1, Ordering::Relaxed) % 2].clone();
        async move { router.oneshot(req).await }
    });
    Ok((Router::new().fallback_service(in_turn), first))
}
