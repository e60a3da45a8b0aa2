//! Several servers on one catalog: the rules hold in the database, not in a process. On
//! PostgreSQL (`STOWAGE_TEST_DATABASE`, as `npm test` sets it) two servers with their own data
//! directories share one database; on SQLite one server is raced from many tasks.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use stowage_devserver::{app, AppState, Config};
use tower::ServiceExt;

const RACERS: usize = 24;

async fn servers(dir: &std::path::Path) -> Vec<axum::Router> {
    let first = Config::for_tests(dir.join("a")).await.unwrap();
    let mut routers = vec![app(AppState::open(&first).await.unwrap(), dir)];
    if first.database.is_some() {
        // The same PostgreSQL database, another data directory: a second server.
        let mut second = first.clone();
        second.data = dir.join("b");
        routers.push(app(AppState::open(&second).await.unwrap(), dir));
    }
    routers
}

#[tokio::test]
async fn of_racing_uploads_to_one_new_path_exactly_one_wins_across_servers() {
    let dir = tempfile::tempdir().unwrap();
    let routers = servers(dir.path()).await;
    let mut tasks = Vec::new();
    for i in 0..RACERS {
        let router = routers[i % routers.len()].clone();
        tasks.push(tokio::spawn(async move {
            let req = Request::post("/demo/demo-key/files/race/one.txt")
                .body(Body::from(format!("racer {i}")))
                .unwrap();
            let res = router.oneshot(req).await.unwrap();
            let status = res.status();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            (i, status, body)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (i, status, body) = t.await.unwrap();
        match status {
            StatusCode::OK => winners.push(i),
            StatusCode::CONFLICT => {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(v["code"], 6003, "{v}");
            }
            other => panic!("racer {i}: {other} {body:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    // Every server serves the winner's bytes: the record is in the shared catalog. (With
    // separate data directories only the winner's server holds the bytes until blobs are shared
    // too, so the check is on the record, through the listing.)
    for router in &routers {
        let req = Request::get("/demo/demo-key/files/race/?action=count")
            .body(Body::empty())
            .unwrap();
        let res = router.clone().oneshot(req).await.unwrap();
        let n = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&n[..], b"1");
    }
    let winner = winners[0];
    let req = Request::get("/demo/demo-key/files/race/one.txt")
        .body(Body::empty())
        .unwrap();
    let res = routers[winner % routers.len()]
        .clone()
        .oneshot(req)
        .await
        .unwrap();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(bytes, format!("racer {winner}"));
}

#[tokio::test]
async fn of_racing_creates_with_one_external_id_exactly_one_wins_across_servers() {
    let dir = tempfile::tempdir().unwrap();
    let routers = servers(dir.path()).await;
    let mut tasks = Vec::new();
    for i in 0..RACERS {
        let router = routers[i % routers.len()].clone();
        tasks.push(tokio::spawn(async move {
            let body = serde_json::json!({"name": format!("n{i}.bin"), "externalId": "the-one"});
            let req = Request::post("/api/v1/projects/demo/files")
                .header("authorization", "Bearer demo-key")
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap();
            router.oneshot(req).await.unwrap().status()
        }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created, 1);
}

#[tokio::test]
async fn uploads_into_one_new_directory_from_both_servers_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let routers = servers(dir.path()).await;
    let mut tasks = Vec::new();
    for i in 0..RACERS {
        let router = routers[i % routers.len()].clone();
        tasks.push(tokio::spawn(async move {
            let req = Request::post(format!("/demo/demo-key/files/fresh/deep/f{i}.txt"))
                .body(Body::from("x"))
                .unwrap();
            let res = router.oneshot(req).await.unwrap();
            let status = res.status();
            (status, res.into_body().collect().await.unwrap().to_bytes())
        }));
    }
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body:?}");
    }
    let req = Request::get("/demo/demo-key/files/fresh/?action=count&sub=true")
        .body(Body::empty())
        .unwrap();
    let res = routers[0].clone().oneshot(req).await.unwrap();
    let n = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&n[..], RACERS.to_string().as_bytes());
}

#[tokio::test]
async fn the_collectors_of_several_servers_race_safely() {
    // Every server runs the collector; on one shared catalog they must not trip over each
    // other: each expired upload is removed once, and no collector fails.
    let dir = tempfile::tempdir().unwrap();
    let mut first = Config::for_tests(dir.path().join("a")).await.unwrap();
    first.upload_ttl = 1;
    let mut states = vec![AppState::open(&first).await.unwrap()];
    if first.database.is_some() {
        let mut second = first.clone();
        second.data = dir.path().join("b");
        states.push(AppState::open(&second).await.unwrap());
    }
    let router = app(states[0].clone(), dir.path());
    const UPLOADS: usize = 20;
    for i in 0..UPLOADS {
        let req = Request::post("/v1/files/multipart/init")
            .header("x-api-key", "demo-key")
            .header("content-type", "application/json")
            .body(Body::from(
                serde_json::json!({"path": "gc", "name": format!("f{i}.bin"), "size": 10})
                    .to_string(),
            ))
            .unwrap();
        let res = router.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let now = stowage_devserver::model::now_ms();
    let mut tasks = Vec::new();
    for round in 0..3 {
        for state in &states {
            let files = state.files().clone();
            tasks.push(tokio::spawn(async move {
                let expired = files.expire_uploads(now).await;
                let collected = files.collect_garbage().await;
                let swept = files.sweep_pending(now).await;
                (round, expired, collected, swept)
            }));
        }
    }
    let mut removed = 0;
    for t in tasks {
        let (round, expired, collected, swept) = t.await.unwrap();
        removed += expired.unwrap_or_else(|e| panic!("round {round}: expire: {e}"));
        collected.unwrap_or_else(|e| panic!("round {round}: collect: {e}"));
        swept.unwrap_or_else(|e| panic!("round {round}: sweep: {e}"));
    }
    // Counted by whoever deleted the row: together, each upload once or (when two collectors
    // read the same expired row) reported twice, never lost or failed.
    assert!(removed >= UPLOADS, "{removed} of {UPLOADS} removed");
    for state in &states {
        assert_eq!(state.files().expire_uploads(now).await.unwrap(), 0);
    }
}
