//! Handler tests for files as records (issue #8), through `app(state).oneshot(request)` against
//! a fresh data directory and catalog each (SQLite, or PostgreSQL with `STOWAGE_TEST_DATABASE`):
//! Cognite's field limits and record operations, every API shape seeing every file, bkend's
//! metadata API, keyset paging under concurrent changes, and the Backendless `pattern` glob.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use stowage_devserver::model::MAX_ID;
use stowage_devserver::Config;
use tower::ServiceExt;

/// The Backendless root of app `demo`.
const ROOT: &str = "/demo/demo-key/files";
/// The Cognite Files API of project `demo`.
const FILES: &str = "/api/v1/projects/demo/files";
/// The server's public base, as the URLs it hands out start.
const BASE: &str = "http://127.0.0.1:8080";

struct Server {
    router: axum::Router,
    _dir: tempfile::TempDir,
}

/// One response, read whole.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    bytes: Vec<u8>,
    json: Value,
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}",
            self.status,
            String::from_utf8_lossy(&self.bytes)
        )
    }
}

/// The demo app's admin key here. The field tests write security categories, which only a
/// principal holding them (or the admin) may; who may see what is tests/access.rs's subject.
const ADMIN: &str = "test-admin-key-demo-0123456789abcdef";

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path().join("data")).await.unwrap();
    config.admin_keys = vec![("demo".into(), ADMIN.into())];
    let (router, _) = stowage_devserver::testing::servers(&config, &dir.path().join("www"))
        .await
        .unwrap();
    Server { router, _dir: dir }
}

/// The path and query of a URL the server handed out (which must be on its public base).
fn local(url: &str) -> String {
    assert!(url.starts_with(BASE), "{url} is not on {BASE}");
    url[BASE.len()..].to_owned()
}

/// `value` without the named top-level keys (times, which no test can predict).
fn without(value: &Value, keys: &[&str]) -> Value {
    let mut v = value.clone();
    if let Some(map) = v.as_object_mut() {
        for k in keys {
            map.remove(*k);
        }
    }
    v
}

/// The fields of a Cognite record that no test can predict.
const TIMES: [&str; 4] = [
    "createdTime",
    "lastUpdatedTime",
    "uploadedTime",
    "uploadUrl",
];

fn envelope(code: u16, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

/// A query-string value, percent-encoded.
fn q(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

impl Server {
    async fn send(&self, req: Request<Body>) -> Answer {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let (parts, body) = res.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes().to_vec();
        Answer {
            status: parts.status,
            headers: parts.headers,
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            bytes,
        }
    }

    /// `POST {FILES}{op}` with the demo app's admin key.
    async fn cognite(&self, op: &str, body: &Value) -> Answer {
        let req = Request::post(format!("{FILES}{op}"))
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(req).await
    }

    /// Creates a Cognite record, which must answer 201; answers the record.
    async fn create(&self, body: &Value) -> Value {
        let a = self.cognite("", body).await;
        assert_eq!(a.status, StatusCode::CREATED, "create {body}: {a}");
        a.json
    }

    /// PUTs `bytes` to a record's `uploadUrl`, with no `Authorization`.
    async fn put_content(&self, record: &Value, bytes: &[u8]) -> Answer {
        let url = record["uploadUrl"].as_str().unwrap();
        let req = Request::put(local(url))
            .body(Body::from(bytes.to_vec()))
            .unwrap();
        self.send(req).await
    }

    /// Creates a record and uploads its content; answers the record as created.
    async fn create_with(&self, body: &Value, bytes: &[u8]) -> Value {
        let record = self.create(body).await;
        let put = self.put_content(&record, bytes).await;
        assert_eq!(put.status, StatusCode::OK, "PUT {body}: {put}");
        record
    }

    /// `byids` of one identity, which must be found.
    async fn record(&self, identity: Value) -> Value {
        let a = self.cognite("/byids", &json!({"items": [identity]})).await;
        assert_eq!(a.status, StatusCode::OK, "byids: {a}");
        a.json["items"][0].clone()
    }

    /// GETs the download link of one identity, with no `Authorization`.
    async fn download(&self, identity: Value, range: Option<&str>) -> Answer {
        let a = self
            .cognite("/downloadlink", &json!({"items": [identity]}))
            .await;
        assert_eq!(a.status, StatusCode::OK, "downloadlink: {a}");
        let mut req = Request::get(local(a.json["items"][0]["downloadUrl"].as_str().unwrap()));
        if let Some(r) = range {
            req = req.header(header::RANGE, r);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    /// Every page of a Cognite list body, following `nextCursor`.
    async fn list_all(&self, body: &Value) -> Vec<Value> {
        let mut items = Vec::new();
        let mut body = body.clone();
        for _ in 0..1000 {
            let a = self.cognite("/list", &body).await;
            assert_eq!(a.status, StatusCode::OK, "list {body}: {a}");
            items.extend(a.json["items"].as_array().unwrap().iter().cloned());
            match a.json.get("nextCursor") {
                Some(Value::String(c)) => body["cursor"] = json!(c),
                None => return items,
                Some(other) => panic!("nextCursor {other}"),
            }
        }
        panic!("more than 1000 pages");
    }

    /// A Backendless upload of `bytes` to `path` (percent-encoded, under `files/`).
    async fn upload(&self, path: &str, bytes: &[u8]) -> Answer {
        let req = Request::post(format!("{ROOT}/{path}"))
            .body(Body::from(bytes.to_vec()))
            .unwrap();
        self.send(req).await
    }

    async fn backendless(&self, method: Method, path_and_query: &str) -> Answer {
        let req = Request::builder()
            .method(method)
            .uri(format!("{ROOT}/{path_and_query}"))
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    /// The `url`s of a Backendless listing, which must answer 200.
    async fn listing(&self, path_and_query: &str) -> Vec<String> {
        let a = self.backendless(Method::GET, path_and_query).await;
        assert_eq!(a.status, StatusCode::OK, "{path_and_query}: {a}");
        urls(&a.json)
    }

    /// A bkend `/v1` request with `X-API-Key: demo-key`.
    async fn bkend(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("x-api-key", "demo-key");
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        let mut a = self.send(req.body(body).unwrap()).await;
        // An error also carries bkend's own code; the assertions here are on ours.
        if !a.status.is_success() {
            let bkend = a.json["error"]["code"].as_str().unwrap_or("");
            assert!(bkend.contains('/'), "no bkend error code: {a}");
            assert_eq!(a.json["error"]["message"], a.json["message"], "{a}");
            a.json.as_object_mut().unwrap().remove("error");
        }
        a
    }

    /// bkend's 3 steps: presigned URL, PUT, `POST /v1/files` with `path`, `name`, `size` and
    /// the `extra` fields. Answers the last response.
    async fn bkend_upload(&self, dir: &str, name: &str, bytes: &[u8], extra: &Value) -> Answer {
        let size = bytes.len();
        let presign = json!({"path": dir, "name": name, "size": size});
        let signed = self
            .bkend(Method::POST, "/v1/files/presigned-url", Some(&presign))
            .await;
        assert_eq!(signed.status, StatusCode::OK, "presign {name}: {signed}");
        assert_eq!(signed.json["method"], "PUT");
        let mut put = Request::put(local(signed.json["url"].as_str().unwrap()));
        if let Some(t) = signed.json["headers"]["Content-Type"].as_str() {
            put = put.header(header::CONTENT_TYPE, t);
        }
        let put = self
            .send(put.body(Body::from(bytes.to_vec())).unwrap())
            .await;
        assert_eq!(put.status, StatusCode::OK, "PUT {name}: {put}");
        let mut register = json!({"path": dir, "name": name, "size": size});
        for (k, v) in extra.as_object().unwrap() {
            register[k] = v.clone();
        }
        self.bkend(Method::POST, "/v1/files", Some(&register)).await
    }

    /// The names of `GET /v1/files?{query}`, which must answer 200 with no `nextCursor`.
    async fn bkend_names(&self, query: &str) -> Vec<String> {
        let a = self
            .bkend(Method::GET, &format!("/v1/files?{query}"), None)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{query}: {a}");
        assert_eq!(a.json.get("nextCursor"), None, "{query}: {a}");
        names(&a.json["items"])
    }
}

fn urls(listing: &Value) -> Vec<String> {
    listing
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["url"].as_str().unwrap().to_owned())
        .collect()
}

fn names(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect()
}

fn ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

// ---------------------------------------------------------------------------------------------
// 1. Cognite field limits through HTTP

/// One request against a limit, and what it must answer.
struct Limit {
    name: &'static str,
    /// Appended to `FILES`: `""` (create), `/byids`, `/list`, `/update`.
    op: &'static str,
    body: Value,
    /// `None`: accepted (201 for a create, 200 otherwise). `Some`: 400 with this message.
    refused: Option<String>,
}

fn ok(name: &'static str, op: &'static str, body: Value) -> Limit {
    Limit {
        name,
        op,
        body,
        refused: None,
    }
}

fn bad(name: &'static str, op: &'static str, body: Value, message: &str) -> Limit {
    Limit {
        name,
        op,
        body,
        refused: Some(message.to_owned()),
    }
}

#[rustfmt::skip]
fn limits(full: i64) -> Vec<Limit> {
    let e = |n: usize| "é".repeat(n); // two bytes, one character
    let x = |n: usize| "x".repeat(n);
    let pairs = |n: usize| -> BTreeMap<String, String> { (0..n).map(|i| (format!("k{i:03}"), String::new())).collect() };
    let idlist = |n: i64| (1..=n).collect::<Vec<i64>>();
    let labels = |n: usize| (0..n).map(|i| json!({"externalId": format!("l{i}")})).collect::<Vec<_>>();
    let up = |id: i64, update: Value| json!({"items": [{"id": id, "update": update}]});
    let key129 = format!("{}a", e(64));
    let shown = format!("{}…", e(40));
    vec![
        ok("externalId 255 characters", "", json!({"name": "n", "externalId": e(255)})),
        bad("externalId 256 characters", "", json!({"name": "n", "externalId": e(256)}), "externalId must be at most 255 characters (got 256)"),
        ok("name 256 characters", "", json!({"name": e(256)})),
        bad("name 257 characters", "", json!({"name": e(257)}), "name must be at most 256 characters (got 257)"),
        bad("name empty", "", json!({"name": ""}), "name must not be empty"),
        ok("directory 512 characters", "", json!({"name": "n", "directory": format!("/{}", e(511))})),
        bad("directory 513 characters", "", json!({"name": "n", "directory": format!("/{}", e(512))}), "directory must be at most 512 characters (got 513)"),
        bad("directory relative", "", json!({"name": "n", "directory": "docs"}), "directory must be an absolute path starting with / (got \"docs\")"),
        ok("source 128 characters", "", json!({"name": "n", "source": e(128)})),
        bad("source 129 characters", "", json!({"name": "n", "source": e(129)}), "source must be at most 128 characters (got 129)"),
        ok("mimeType 256 characters", "", json!({"name": "n", "mimeType": e(256)})),
        bad("mimeType 257 characters", "", json!({"name": "n", "mimeType": e(257)}), "mimeType must be at most 256 characters (got 257)"),
        ok("metadata key 128 bytes", "", json!({"name": "n", "metadata": {e(64): "v"}})),
        bad("metadata key 129 bytes", "", json!({"name": "n", "metadata": {key129: "v"}}), &format!("metadata key \"{shown}\" must be at most 128 bytes (got 129)")),
        ok("metadata value 10240 bytes", "", json!({"name": "n", "metadata": {"": e(5120)}})),
        bad("metadata value 10241 bytes", "", json!({"name": "n", "metadata": {"": format!("{}v", e(5120))}}), "metadata value of \"\" must be at most 10240 bytes (got 10241)"),
        ok("metadata 256 pairs", "", json!({"name": "n", "metadata": pairs(256)})),
        bad("metadata 257 pairs", "", json!({"name": "n", "metadata": pairs(257)}), "metadata must have at most 256 pairs (got 257)"),
        ok("metadata 10240 bytes in all", "", json!({"name": "n", "metadata": {"a": x(5119), "b": x(5119)}})),
        bad("metadata 10241 bytes in all", "", json!({"name": "n", "metadata": {"a": x(5119), "b": x(5120)}}), "metadata must be at most 10240 bytes of keys and values in total (got 10241)"),
        ok("assetIds 1 item", "", json!({"name": "n", "assetIds": [1]})),
        ok("assetIds 1000 items", "", json!({"name": "n", "assetIds": idlist(1000)})),
        bad("assetIds 1001 items", "", json!({"name": "n", "assetIds": idlist(1001)}), "assetIds must have between 1 and 1000 items (got 1001)"),
        bad("assetIds 0 items", "", json!({"name": "n", "assetIds": []}), "assetIds must have between 1 and 1000 items (got 0)"),
        ok("assetIds id 2^53-1", "", json!({"name": "n", "assetIds": [MAX_ID]})),
        bad("assetIds id 2^53", "", json!({"name": "n", "assetIds": [1, MAX_ID + 1]}), "assetIds[1] must be between 1 and 9007199254740991 (got 9007199254740992)"),
        bad("assetIds id 0", "", json!({"name": "n", "assetIds": [0]}), "assetIds[0] must be between 1 and 9007199254740991 (got 0)"),
        ok("dataSetId 1", "", json!({"name": "n", "dataSetId": 1})),
        ok("dataSetId 2^53-1", "", json!({"name": "n", "dataSetId": MAX_ID})),
        bad("dataSetId 0", "", json!({"name": "n", "dataSetId": 0}), "dataSetId must be between 1 and 9007199254740991 (got 0)"),
        bad("dataSetId 2^53", "", json!({"name": "n", "dataSetId": MAX_ID + 1}), "dataSetId must be between 1 and 9007199254740991 (got 9007199254740992)"),
        ok("securityCategories 100", "", json!({"name": "n", "securityCategories": idlist(100)})),
        bad("securityCategories 101", "", json!({"name": "n", "securityCategories": idlist(101)}), "securityCategories must have at most 100 items (got 101)"),
        ok("securityCategories id 2^53-1", "", json!({"name": "n", "securityCategories": [MAX_ID]})),
        bad("securityCategories id 0", "", json!({"name": "n", "securityCategories": [0]}), "securityCategories[0] must be between 1 and 9007199254740991 (got 0)"),
        ok("labels 10", "", json!({"name": "n", "labels": labels(10)})),
        bad("labels 11", "", json!({"name": "n", "labels": labels(11)}), "labels must have at most 10 items (got 11)"),
        ok("label externalId 255 characters", "", json!({"name": "n", "labels": [{"externalId": e(255)}]})),
        bad("label externalId 256 characters", "", json!({"name": "n", "labels": [{"externalId": e(256)}]}), "labels[0].externalId must be at most 255 characters (got 256)"),
        ok("sourceCreatedTime 0", "", json!({"name": "n", "sourceCreatedTime": 0})),
        bad("sourceCreatedTime -1", "", json!({"name": "n", "sourceCreatedTime": -1}), "sourceCreatedTime must be at least 0 (got -1)"),
        ok("sourceModifiedTime 0", "", json!({"name": "n", "sourceModifiedTime": 0})),
        bad("sourceModifiedTime -1", "", json!({"name": "n", "sourceModifiedTime": -1}), "sourceModifiedTime must be at least 0 (got -1)"),
        ok("byids id 2^53-1", "/byids", json!({"items": [{"id": MAX_ID}], "ignoreUnknownIds": true})),
        bad("byids id 0", "/byids", json!({"items": [{"id": 0}]}), "items[0].id must be between 1 and 9007199254740991 (got 0)"),
        bad("byids id 2^53", "/byids", json!({"items": [{"id": MAX_ID + 1}]}), "items[0].id must be between 1 and 9007199254740991 (got 9007199254740992)"),
        ok("list createdTime.min 0", "/list", json!({"filter": {"createdTime": {"min": 0}}})),
        bad("list createdTime.min -1", "/list", json!({"filter": {"createdTime": {"min": -1}}}), "filter.createdTime.min must be at least 0 (got -1)"),
        ok("list limit 1", "/list", json!({"limit": 1})),
        ok("list limit 1000", "/list", json!({"limit": 1000})),
        bad("list limit 0", "/list", json!({"limit": 0}), "limit must be between 1 and 1000 (got 0)"),
        bad("list limit 1001", "/list", json!({"limit": 1001}), "limit must be between 1 and 1000 (got 1001)"),
        // Updates: the values a change brings, then the record it makes (`full` has every list
        // at its limit).
        ok("update sourceCreatedTime 0", "/update", up(full, json!({"sourceCreatedTime": {"set": 0}}))),
        bad("update sourceCreatedTime -1", "/update", up(full, json!({"sourceCreatedTime": {"set": -1}})), "items[0].update.sourceCreatedTime must be at least 0 (got -1)"),
        bad("update externalId 256 characters", "/update", up(full, json!({"externalId": {"set": e(256)}})), "items[0].update.externalId must be at most 255 characters (got 256)"),
        bad("update assetIds.add 1001 items", "/update", up(full, json!({"assetIds": {"add": idlist(1001)}})), "items[0].update.assetIds.add must have at most 1000 items (got 1001)"),
        bad("update assetIds.add id 0", "/update", up(full, json!({"assetIds": {"add": [0]}})), "items[0].update.assetIds.add[0] must be between 1 and 9007199254740991 (got 0)"),
        bad("update id 0", "/update", json!({"items": [{"id": 0, "update": {}}]}), "items[0].id must be between 1 and 9007199254740991 (got 0)"),
        ok("update adds a label it has: 10 stay 10", "/update", up(full, json!({"labels": {"add": [{"externalId": "l0"}]}}))),
        bad("update adds an 11th label", "/update", up(full, json!({"labels": {"add": [{"externalId": "new"}]}})), "labels may have at most 10 items (got 11)"),
        ok("update adds an asset it has: 1000 stay 1000", "/update", up(full, json!({"assetIds": {"add": [1]}}))),
        bad("update adds a 1001st asset", "/update", up(full, json!({"assetIds": {"add": [1001]}})), "assetIds may have at most 1000 items (got 1001)"),
        bad("update adds a 101st security category", "/update", up(full, json!({"securityCategories": {"add": [101]}})), "securityCategories may have at most 100 items (got 101)"),
        ok("update replaces a metadata value: 256 pairs stay 256", "/update", up(full, json!({"metadata": {"add": {"k000": "v"}}}))),
        bad("update adds a 257th metadata pair", "/update", up(full, json!({"metadata": {"add": {"k256": ""}}})), "metadata may have at most 256 items (got 257)"),
    ]
}

/// What is wrong with the answer to `case`, if anything.
fn limit_failure(case: &Limit, a: &Answer) -> Option<String> {
    match &case.refused {
        Some(message) => {
            let expected = envelope(400, message);
            (a.status != StatusCode::BAD_REQUEST || a.json != expected)
                .then(|| format!("expected 400 {expected}, got {a}"))
        }
        None if case.op.is_empty() => {
            if a.status != StatusCode::CREATED {
                return Some(format!("expected 201, got {a}"));
            }
            // Everything sent must come back as it was sent: nothing cut, nothing lost.
            let sent = case.body.as_object().unwrap();
            let wrong: Vec<&String> = sent.keys().filter(|k| a.json[*k] != sent[*k]).collect();
            (!wrong.is_empty()).then(|| format!("201, but {wrong:?} came back changed: {a}"))
        }
        None => {
            let fine = a.status == StatusCode::OK && a.json["items"].is_array();
            (!fine).then(|| format!("expected 200 with items, got {a}"))
        }
    }
}

#[tokio::test]
async fn cognite_field_limits_hold_at_the_limit_and_refuse_one_past_it() {
    let s = server().await;
    let labels: Vec<Value> = (0..10)
        .map(|i| json!({"externalId": format!("l{i}")}))
        .collect();
    let pairs: BTreeMap<String, String> = (0..256)
        .map(|i| (format!("k{i:03}"), String::new()))
        .collect();
    let full = s
        .create(&json!({"name": "full", "labels": labels, "metadata": pairs,
                        "assetIds": (1..=1000).collect::<Vec<i64>>(),
                        "securityCategories": (1..=100).collect::<Vec<i64>>()}))
        .await;
    let mut failures = Vec::new();
    let cases = limits(full["id"].as_i64().unwrap());
    for case in &cases {
        let a = s.cognite(case.op, &case.body).await;
        if let Some(f) = limit_failure(case, &a) {
            failures.push(format!("{}: {f}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Cognite record operations

#[tokio::test]
async fn cognite_create_then_put_marks_the_record_uploaded() {
    let s = server().await;
    let sent = json!({"name": "q3.pdf", "externalId": "report-q3", "directory": "/reports",
                      "mimeType": "application/pdf", "metadata": {"quarter": "3"}, "assetIds": [4, 2],
                      "source": "erp", "dataSetId": 9, "sourceCreatedTime": 1000,
                      "labels": [{"externalId": "finance"}], "securityCategories": [3]});
    let a = s.cognite("/?overwrite=false", &sent).await;
    assert_eq!(a.status, StatusCode::CREATED, "{a}");
    let id = a.json["id"].as_i64().unwrap();
    assert!((1..=MAX_ID).contains(&id), "{id}");
    let mut expected = sent.clone();
    expected["id"] = json!(id);
    expected["uploaded"] = json!(false);
    assert_eq!(without(&a.json, &TIMES), expected);
    assert_eq!(a.json.get("uploadedTime"), None, "{a}");
    let url = a.json["uploadUrl"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{BASE}/v1/signed/record/demo/{id}?")),
        "{url}"
    );
    let created = a.json["createdTime"].as_i64().unwrap();

    let put = s.put_content(&a.json, b"%PDF-1.7").await;
    assert_eq!(
        (put.status, put.bytes.as_slice()),
        (StatusCode::OK, &b""[..]),
        "{put}"
    );

    let after = s.record(json!({"id": id})).await;
    assert_eq!(after["uploaded"], true, "{after}");
    let uploaded = after["uploadedTime"].as_i64().unwrap();
    assert!(uploaded >= created, "{after}");
    assert_eq!(after.get("uploadUrl"), None, "{after}");
    expected["uploaded"] = json!(true);
    assert_eq!(without(&after, &TIMES), expected);
}

#[tokio::test]
async fn cognite_byids_answers_by_id_and_external_id_in_request_order() {
    let s = server().await;
    let a = s.create(&json!({"name": "a.txt", "externalId": "a"})).await;
    let b = s.create(&json!({"name": "b.txt", "externalId": "b"})).await;
    let c = s.create(&json!({"name": "c.txt"})).await;
    let orders = [
        (
            json!([{"externalId": "b"}, {"id": c["id"]}, {"id": a["id"]}]),
            ["b.txt", "c.txt", "a.txt"],
        ),
        (
            json!([{"id": c["id"]}, {"externalId": "a"}, {"id": b["id"]}]),
            ["c.txt", "a.txt", "b.txt"],
        ),
        (
            json!([{"externalId": "a"}, {"externalId": "b"}, {"id": c["id"]}]),
            ["a.txt", "b.txt", "c.txt"],
        ),
    ];
    for (items, expected) in orders {
        let r = s.cognite("/byids", &json!({"items": items})).await;
        assert_eq!(r.status, StatusCode::OK, "{r}");
        assert_eq!(names(&r.json["items"]), expected, "{items}");
        assert_eq!(r.json.get("nextCursor"), None, "{r}");
    }
    // The records answered are the ones created, whole.
    let r = s
        .cognite("/byids", &json!({"items": [{"id": a["id"]}]}))
        .await;
    assert_eq!(
        without(&r.json["items"][0], &TIMES),
        without(&a, &TIMES),
        "{r}"
    );
}

#[tokio::test]
async fn cognite_unknown_ids_are_400_with_missing_echoing_them() {
    let s = server().await;
    let known = s
        .create_with(&json!({"name": "k.txt", "externalId": "k"}), b"k")
        .await;
    let items = json!([{"id": known["id"]}, {"id": 12345}, {"externalId": "nope"}]);
    let missing: BTreeSet<String> = [json!({"id": 12345}), json!({"externalId": "nope"})]
        .iter()
        .map(Value::to_string)
        .collect();
    let update_items = json!([
        {"id": known["id"], "update": {"source": {"set": "s"}}},
        {"id": 12345, "update": {"source": {"set": "s"}}},
        {"externalId": "nope", "update": {"source": {"set": "s"}}},
    ]);
    let calls = [
        ("/byids", json!({"items": items})),
        ("/delete", json!({"items": items})),
        ("/downloadlink", json!({"items": items})),
        ("/update", json!({"items": update_items})),
    ];
    for (op, body) in calls {
        let r = s.cognite(op, &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{op}: {r}");
        assert_eq!(
            without(&r.json["error"], &["missing"]),
            json!({"code": 400, "message": "Files not found"}),
            "{op}: {r}"
        );
        let got: BTreeSet<String> = r.json["error"]["missing"]
            .as_array()
            .unwrap()
            .iter()
            .map(Value::to_string)
            .collect();
        assert_eq!(got, missing, "{op}: {r}");
    }
    // All or nothing: the known record was neither deleted nor changed.
    let k = s.record(json!({"externalId": "k"})).await;
    assert_eq!(k.get("source"), None, "{k}");
    // With ignoreUnknownIds the known ones are answered.
    let r = s
        .cognite("/byids", &json!({"items": items, "ignoreUnknownIds": true}))
        .await;
    assert_eq!(
        (r.status, names(&r.json["items"])),
        (StatusCode::OK, vec!["k.txt".to_owned()]),
        "{r}"
    );
}

#[tokio::test]
async fn cognite_duplicate_external_id_is_409_with_duplicated() {
    let s = server().await;
    let first = s
        .create(&json!({"name": "one.txt", "externalId": "dup"}))
        .await;
    let other = s
        .create(&json!({"name": "two.txt", "externalId": "other"}))
        .await;
    let expected = json!({"error": {"code": 409, "message": "Duplicate external ids",
                                    "duplicated": [{"externalId": "dup"}]}});
    for op in ["", "/", "/?overwrite=false"] {
        let r = s
            .cognite(op, &json!({"name": "again.txt", "externalId": "dup"}))
            .await;
        assert_eq!(
            (r.status, &r.json),
            (StatusCode::CONFLICT, &expected),
            "POST {op}: {r}"
        );
    }
    let r = s
        .cognite(
            "/update",
            &json!({"items": [{"id": other["id"], "update": {"externalId": {"set": "dup"}}}]}),
        )
        .await;
    assert_eq!(
        (r.status, &r.json),
        (StatusCode::CONFLICT, &expected),
        "update: {r}"
    );
    let dups = s
        .list_all(&json!({"filter": {"externalIdPrefix": "dup"}}))
        .await;
    assert_eq!(ids(&dups), [first["id"].as_i64().unwrap()]);
    assert_eq!(
        s.record(json!({"id": other["id"]})).await["externalId"],
        "other"
    );
}

#[tokio::test]
async fn cognite_an_identity_given_twice_is_400_with_duplicated() {
    // docs/cognite-sdk-wire.md: "`duplicate_identities()` finds identifiers that a `byids` or
    // `delete` body gives twice. Cognite answers that with 400 and `duplicated`."
    let s = server().await;
    let r = s
        .create(&json!({"name": "twice.txt", "externalId": "twice"}))
        .await;
    let other = s.create(&json!({"name": "once.txt"})).await;
    let cases = [
        (
            json!([{"id": r["id"]}, {"id": other["id"]}, {"id": r["id"]}]),
            json!([{"id": r["id"]}]),
        ),
        (
            json!([{"externalId": "twice"}, {"externalId": "twice"}]),
            json!([{"externalId": "twice"}]),
        ),
    ];
    for op in ["/byids", "/delete"] {
        for (items, duplicated) in &cases {
            let a = s.cognite(op, &json!({"items": items})).await;
            let what = format!("{op} {items}: {a}");
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{what}");
            assert_eq!(a.json["error"]["code"], 400, "{what}");
            assert!(a.json["error"]["message"].is_string(), "{what}");
            assert_eq!(&a.json["error"]["duplicated"], duplicated, "{what}");
            assert_eq!(a.json["error"].get("missing"), None, "{what}");
        }
    }
    // The refused deletes deleted nothing.
    assert_eq!(s.list_all(&json!({})).await.len(), 2);
}

#[tokio::test]
async fn cognite_overwrite_keeps_the_id_replaces_metadata_and_asset_ids_only_when_given() {
    let s = server().await;
    let old = s
        .create_with(
            &json!({"name": "r.txt", "externalId": "rep", "metadata": {"a": "1"}, "assetIds": [1, 2]}),
            b"old bytes",
        )
        .await;
    let id = old["id"].clone();
    let r = s
        .cognite(
            "/?overwrite=true",
            &json!({"name": "r2.txt", "externalId": "rep", "metadata": {"b": "2"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    assert!(r.json["uploadUrl"].is_string(), "{r}");
    let expected = json!({"id": id, "name": "r2.txt", "externalId": "rep",
                          "metadata": {"b": "2"}, "assetIds": [1, 2], "uploaded": true});
    assert_eq!(without(&r.json, &TIMES), expected, "{r}");
    assert_eq!(
        without(&s.record(json!({"id": id})).await, &TIMES),
        expected
    );

    let r = s
        .cognite(
            "/?overwrite=true",
            &json!({"name": "r2.txt", "externalId": "rep", "metadata": {"b": "2"}, "assetIds": [3]}),
        )
        .await;
    assert_eq!((r.status, &r.json["id"]), (StatusCode::OK, &id), "{r}");
    assert_eq!(r.json["assetIds"], json!([3]), "{r}");
    assert_eq!(
        s.record(json!({"externalId": "rep"})).await["assetIds"],
        json!([3])
    );
    // The asset links are searchable as they are now.
    assert_eq!(
        s.list_all(&json!({"filter": {"assetIds": [1]}}))
            .await
            .len(),
        0
    );
    assert_eq!(
        ids(&s.list_all(&json!({"filter": {"assetIds": [3]}})).await),
        [id.as_i64().unwrap()]
    );
}

#[tokio::test]
async fn cognite_overwrite_without_metadata_keeps_the_metadata() {
    // docs/cognite-sdk-wire.md, "What the server must do" 7: "Replace `metadata` whole if it is
    // given, and keep it if it is not."
    let s = server().await;
    let old = s
        .create(&json!({"name": "m.txt", "externalId": "keep", "metadata": {"a": "1"}}))
        .await;
    let r = s
        .cognite(
            "/?overwrite=true",
            &json!({"name": "m.txt", "externalId": "keep"}),
        )
        .await;
    assert_eq!(
        (r.status, &r.json["id"]),
        (StatusCode::OK, &old["id"]),
        "{r}"
    );
    assert_eq!(r.json["metadata"], json!({"a": "1"}), "{r}");
    assert_eq!(
        s.record(json!({"externalId": "keep"})).await["metadata"],
        json!({"a": "1"})
    );
}

#[tokio::test]
async fn cognite_overwrite_serves_the_old_content_until_a_new_put_succeeds() {
    let s = server().await;
    let old = s
        .create_with(
            &json!({"name": "c.txt", "externalId": "content"}),
            b"old bytes",
        )
        .await;
    let first_upload = s.record(json!({"id": old["id"]})).await["uploadedTime"].clone();
    let fresh = s
        .cognite(
            "/?overwrite=true",
            &json!({"name": "c.txt", "externalId": "content"}),
        )
        .await;
    assert_eq!(fresh.status, StatusCode::OK, "{fresh}");
    assert_eq!(fresh.json["uploaded"], true, "{fresh}");
    assert_eq!(fresh.json["uploadedTime"], first_upload, "{fresh}");
    assert_eq!(
        s.download(json!({"externalId": "content"}), None)
            .await
            .bytes,
        b"old bytes"
    );

    // A PUT whose body fails midway stores nothing.
    let chunks: Vec<Result<&'static str, std::io::Error>> = vec![
        Ok("half of the new "),
        Err(std::io::Error::other("client went away")),
    ];
    let req = Request::put(local(fresh.json["uploadUrl"].as_str().unwrap()))
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap();
    let failed = s.send(req).await;
    assert_eq!(
        (failed.status, failed.json["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(8011)),
        "{failed}"
    );
    let still = s.download(json!({"externalId": "content"}), None).await;
    assert_eq!(
        (still.status, still.bytes.as_slice()),
        (StatusCode::OK, &b"old bytes"[..]),
        "{still}"
    );
    assert_eq!(
        s.record(json!({"externalId": "content"})).await["uploadedTime"],
        first_upload
    );

    let put = s.put_content(&fresh.json, b"new bytes!").await;
    assert_eq!(put.status, StatusCode::OK, "{put}");
    let new = s.download(json!({"id": old["id"]}), None).await;
    assert_eq!(
        (new.status, new.bytes.as_slice()),
        (StatusCode::OK, &b"new bytes!"[..]),
        "{new}"
    );
}

#[tokio::test]
async fn cognite_update_applies_set_set_null_add_and_remove() {
    let s = server().await;
    let r = s
        .create(&json!({"externalId": "u1", "name": "u.txt", "directory": "/up", "source": "s1",
                        "mimeType": "text/plain", "metadata": {"a": "1", "b": "2"}, "assetIds": [1, 2],
                        "labels": [{"externalId": "red"}], "securityCategories": [5], "dataSetId": 7,
                        "sourceCreatedTime": 100}))
        .await;
    let id = r["id"].clone();
    let change = json!({"items": [{"externalId": "u1", "update": {
        "source": {"set": "s2"}, "mimeType": {"setNull": true},
        "metadata": {"add": {"c": "3", "a": "9"}, "remove": ["b"]},
        "assetIds": {"add": [3], "remove": [1]},
        "labels": {"add": [{"externalId": "blue"}], "remove": [{"externalId": "red"}]},
        "securityCategories": {"set": []}, "dataSetId": {"setNull": true},
        "sourceCreatedTime": {"set": 200}, "sourceModifiedTime": {"set": 300},
        "directory": {"set": "/moved"},
    }}]});
    let a = s.cognite("/update", &change).await;
    assert_eq!(a.status, StatusCode::OK, "{a}");
    let expected = json!({"id": id, "externalId": "u1", "name": "u.txt", "directory": "/moved",
                          "source": "s2", "metadata": {"a": "9", "c": "3"}, "assetIds": [2, 3],
                          "labels": [{"externalId": "blue"}], "sourceCreatedTime": 200,
                          "sourceModifiedTime": 300, "uploaded": false});
    assert_eq!(a.json["items"].as_array().unwrap().len(), 1, "{a}");
    assert_eq!(without(&a.json["items"][0], &TIMES), expected, "{a}");
    assert_eq!(
        without(&s.record(json!({"id": id})).await, &TIMES),
        expected
    );
    // The filters see the changed values, not the old ones.
    let found = |filter: Value| {
        let s = &s;
        async move { ids(&s.list_all(&json!({"filter": filter})).await) }
    };
    let this = vec![id.as_i64().unwrap()];
    assert_eq!(found(json!({"assetIds": [1]})).await, Vec::<i64>::new());
    assert_eq!(found(json!({"assetIds": [3]})).await, this);
    assert_eq!(
        found(json!({"labels": {"containsAny": [{"externalId": "red"}]}})).await,
        Vec::<i64>::new()
    );
    assert_eq!(
        found(json!({"labels": {"containsAny": [{"externalId": "blue"}]}})).await,
        this
    );
    assert_eq!(
        found(json!({"metadata": {"b": "2"}})).await,
        Vec::<i64>::new()
    );
    assert_eq!(found(json!({"metadata": {"a": "9", "c": "3"}})).await, this);
    assert_eq!(found(json!({"directoryPrefix": "/moved"})).await, this);

    // metadata set replaces the map; externalId setNull takes the name away.
    let change = json!({"items": [{"id": id, "update": {
        "metadata": {"set": {"z": "1"}}, "externalId": {"setNull": true}, "assetIds": {"set": []},
    }}]});
    let a = s.cognite("/update", &change).await;
    assert_eq!(a.status, StatusCode::OK, "{a}");
    let expected = json!({"id": id, "name": "u.txt", "directory": "/moved", "source": "s2",
                          "metadata": {"z": "1"}, "labels": [{"externalId": "blue"}],
                          "sourceCreatedTime": 200, "sourceModifiedTime": 300, "uploaded": false});
    assert_eq!(without(&a.json["items"][0], &TIMES), expected, "{a}");
    let gone = s
        .cognite("/byids", &json!({"items": [{"externalId": "u1"}]}))
        .await;
    assert_eq!(gone.status, StatusCode::BAD_REQUEST, "{gone}");
}

#[tokio::test]
async fn cognite_delete_removes_the_records_and_their_content() {
    let s = server().await;
    let a = s
        .create_with(&json!({"name": "a.txt", "externalId": "a"}), b"aaa")
        .await;
    let b = s.create(&json!({"name": "b.txt", "externalId": "b"})).await;
    let c = s.create(&json!({"name": "c.txt"})).await;
    let link = s
        .cognite("/downloadlink", &json!({"items": [{"id": a["id"]}]}))
        .await;
    let link = local(link.json["items"][0]["downloadUrl"].as_str().unwrap());
    let r = s
        .cognite(
            "/delete",
            &json!({"items": [{"externalId": "a"}, {"id": b["id"]}]}),
        )
        .await;
    assert_eq!((r.status, &r.json), (StatusCode::OK, &json!({})), "{r}");
    assert_eq!(
        ids(&s.list_all(&json!({})).await),
        [c["id"].as_i64().unwrap()]
    );
    let r = s
        .cognite(
            "/byids",
            &json!({"items": [{"id": a["id"]}], "ignoreUnknownIds": true}),
        )
        .await;
    assert_eq!(
        (r.status, &r.json),
        (StatusCode::OK, &json!({"items": []})),
        "{r}"
    );
    // The name is free again.
    s.create(&json!({"name": "a2.txt", "externalId": "a"}))
        .await;
    // A download link made before the delete no longer serves anything.
    let r = s
        .send(Request::get(&link).body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        (r.status, r.json["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(6000)),
        "{r}"
    );
    // Deleting it again names it missing.
    let r = s
        .cognite("/delete", &json!({"items": [{"id": a["id"]}]}))
        .await;
    let expected =
        json!({"error": {"code": 400, "message": "Files not found", "missing": [{"id": a["id"]}]}});
    assert_eq!(
        (r.status, &r.json),
        (StatusCode::BAD_REQUEST, &expected),
        "{r}"
    );
}

#[tokio::test]
async fn cognite_download_link_serves_the_bytes_and_ranges() {
    let s = server().await;
    let r = s
        .create_with(
            &json!({"name": "d.txt", "externalId": "dl", "mimeType": "text/plain"}),
            b"0123456789",
        )
        .await;
    let a = s
        .cognite(
            "/downloadlink",
            &json!({"items": [{"id": r["id"]}, {"externalId": "dl"}]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a}");
    let items = a.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{a}");
    assert_eq!(without(&items[0], &["downloadUrl"]), json!({"id": r["id"]}));
    assert_eq!(
        without(&items[1], &["downloadUrl"]),
        json!({"externalId": "dl"})
    );
    for item in items {
        let url = local(item["downloadUrl"].as_str().unwrap());
        let whole = s
            .send(Request::get(&url).body(Body::empty()).unwrap())
            .await;
        assert_eq!(
            (whole.status, whole.bytes.as_slice()),
            (StatusCode::OK, &b"0123456789"[..]),
            "{whole}"
        );
        assert_eq!(whole.headers[header::CONTENT_TYPE], "text/plain");
        let part = s
            .send(
                Request::get(&url)
                    .header(header::RANGE, "bytes=2-5")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(
            (part.status, part.bytes.as_slice()),
            (StatusCode::PARTIAL_CONTENT, &b"2345"[..]),
            "{part}"
        );
        assert_eq!(part.headers[header::CONTENT_RANGE], "bytes 2-5/10");
        let tail = s.download(json!({"id": r["id"]}), Some("bytes=-3")).await;
        assert_eq!(
            (tail.status, tail.bytes.as_slice()),
            (StatusCode::PARTIAL_CONTENT, &b"789"[..]),
            "{tail}"
        );
    }
}

#[tokio::test]
async fn cognite_download_link_of_a_file_without_content_is_400() {
    let s = server().await;
    let r = s
        .create(&json!({"name": "empty.txt", "externalId": "e"}))
        .await;
    let id = r["id"].as_i64().unwrap();
    for identity in [json!({"id": id}), json!({"externalId": "e"})] {
        let a = s
            .cognite("/downloadlink", &json!({"items": [identity]}))
            .await;
        let expected = envelope(
            400,
            &format!("File {id} has no content yet: upload it first"),
        );
        assert_eq!(
            (a.status, &a.json),
            (StatusCode::BAD_REQUEST, &expected),
            "{a}"
        );
    }
}

#[tokio::test]
async fn cognite_missing_authorization_is_401_in_the_envelope() {
    let s = server().await;
    let expected = envelope(401, "Unauthorized: send Authorization: Bearer {apiKey}");
    for (op, auth) in [
        ("", None),
        ("/", None),
        ("/byids", None),
        ("/list", None),
        ("/search", None),
        ("/aggregate", None),
        ("/update", None),
        ("/delete", None),
        ("/downloadlink", None),
        ("/initmultipartupload?parts=1", None),
        ("/completemultipartupload", None),
        ("/list", Some("demo-key")),
        ("/list", Some("Basic ZGVtbzpkZW1vLWtleQ==")),
    ] {
        let mut req =
            Request::post(format!("{FILES}{op}")).header(header::CONTENT_TYPE, "application/json");
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        let a = s.send(req.body(Body::from("{}")).unwrap()).await;
        assert_eq!(
            (a.status, &a.json),
            (StatusCode::UNAUTHORIZED, &expected),
            "{op} {auth:?}: {a}"
        );
    }
}

#[tokio::test]
async fn cognite_wrong_key_or_project_is_401() {
    let s = server().await;
    let expected = envelope(401, "Unauthorized: unknown project or key");
    for (project, key) in [("demo", "wrong"), ("demo", ""), ("nope", "demo-key")] {
        let req = Request::post(format!("/api/v1/projects/{project}/files/list"))
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let a = s.send(req).await;
        assert_eq!(
            (a.status, &a.json),
            (StatusCode::UNAUTHORIZED, &expected),
            "{project} {key}: {a}"
        );
    }
}

#[tokio::test]
async fn cognite_unknown_routes_are_404_in_the_cognite_envelope() {
    let s = server().await;
    for (method, path) in [
        (Method::POST, "/api/v1/projects/demo/assets/list"),
        (Method::GET, "/api/v1/projects/demo/timeseries"),
        (Method::POST, "/api/v1/projects/demo/files/nope"),
        (Method::GET, "/api/v1/projects/demo/files/byids/extra"),
        (Method::DELETE, "/api/v1/projects/demo/files/a/b/c"),
        (Method::GET, "/api/v1/projects/demo/"),
        (Method::GET, "/api/v1/projects/demo"),
    ] {
        let req = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::AUTHORIZATION, "Bearer demo-key")
            .body(Body::empty())
            .unwrap();
        let a = s.send(req).await;
        let what = format!("{method} {path}: {a}");
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{what}");
        assert_eq!(
            a.headers[header::CONTENT_TYPE],
            "application/json",
            "{what}"
        );
        // Cognite's envelope, not Backendless's `{"code", "message"}`.
        let keys: Vec<&String> = a.json.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["error"], "{what}");
        let error = a.json["error"].as_object().unwrap();
        let keys: BTreeSet<&str> = error.keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(["code", "message"]), "{what}");
        assert_eq!(error["code"], 404, "{what}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .starts_with("No such route"),
            "{what}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Every shape sees every file

/// The strong ETag the server gives `bytes`.
fn etag_of(bytes: &[u8]) -> String {
    format!("\"{:08x}-{:x}\"", crc32c::crc32c(bytes), bytes.len())
}

#[tokio::test]
async fn a_backendless_upload_is_a_cognite_record_and_a_bkend_record() {
    let s = server().await;
    let up = s.upload("docs/a.txt", b"hello").await;
    assert_eq!(up.status, StatusCode::OK, "{up}");

    let found = s
        .list_all(&json!({"filter": {"directoryPrefix": "/docs"}}))
        .await;
    assert_eq!(found.len(), 1, "{found:?}");
    let id = found[0]["id"].as_i64().unwrap();
    assert!((1..=MAX_ID).contains(&id), "{id}");
    assert_eq!(
        without(&found[0], &TIMES),
        json!({"id": id, "name": "a.txt", "directory": "/docs", "mimeType": "text/plain", "uploaded": true})
    );
    assert!(found[0]["uploadedTime"].is_i64(), "{}", found[0]);
    // Directories are no records for Cognite: the whole app lists the one file.
    assert_eq!(ids(&s.list_all(&json!({})).await), [id]);
    let bytes = s.download(json!({"id": id}), None).await;
    assert_eq!(
        (bytes.status, bytes.bytes.as_slice()),
        (StatusCode::OK, &b"hello"[..]),
        "{bytes}"
    );

    let listed = s.bkend(Method::GET, "/v1/files", None).await;
    assert_eq!(listed.status, StatusCode::OK, "{listed}");
    let items = listed.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(
        without(&items[0], &["createdAt", "updatedAt"]),
        json!({"id": id, "path": "/docs/a.txt", "name": "a.txt", "mimeType": "text/plain",
               "size": 5, "uploaded": true, "tags": [], "metadata": {},
               "url": format!("{BASE}{ROOT}/docs/a.txt"), "etag": etag_of(b"hello")})
    );
    assert_eq!(items[0]["createdAt"], found[0]["createdTime"]);
    let one = s.bkend(Method::GET, &format!("/v1/files/{id}"), None).await;
    assert_eq!(
        (one.status, &one.json),
        (StatusCode::OK, &items[0]),
        "{one}"
    );
}

#[tokio::test]
async fn a_cognite_record_is_in_the_backendless_listing_and_downloads_there_after_its_put() {
    let s = server().await;
    let record = s
        .create(&json!({"name": "b.txt", "directory": "/docs"}))
        .await;
    let listing = s.backendless(Method::GET, "docs").await;
    assert_eq!(listing.status, StatusCode::OK, "{listing}");
    let entries = listing.json.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{listing}");
    assert_eq!(
        without(&entries[0], &["createdOn", "updatedOn"]),
        json!({"name": "b.txt", "url": "docs/b.txt", "publicUrl": format!("{BASE}{ROOT}/docs/b.txt"),
               "size": 0, "isDirectory": false, "ownerId": null, "visibility": null, "sharedWith": []})
    );
    assert_eq!(entries[0]["createdOn"], record["createdTime"]);
    assert_eq!(s.listing("").await, ["docs"]);
    let before = s.backendless(Method::GET, "docs/b.txt").await;
    let expected = json!({"code": 6019, "message": "The file has no content yet"});
    assert_eq!(
        (before.status, &before.json),
        (StatusCode::NOT_FOUND, &expected),
        "{before}"
    );

    let put = s.put_content(&record, b"bee").await;
    assert_eq!(put.status, StatusCode::OK, "{put}");
    let after = s.backendless(Method::GET, "docs/b.txt").await;
    assert_eq!(
        (after.status, after.bytes.as_slice()),
        (StatusCode::OK, &b"bee"[..]),
        "{after}"
    );
    assert_eq!(
        after.headers[header::ETAG].to_str().unwrap(),
        etag_of(b"bee")
    );
    let listing = s.backendless(Method::GET, "docs").await;
    assert_eq!(listing.json[0]["size"], 3, "{listing}");
}

#[tokio::test]
async fn of_two_cognite_records_with_one_directory_and_name_the_first_owns_the_path() {
    let s = server().await;
    let body = json!({"name": "same.txt", "directory": "/dup"});
    let first = s.create_with(&body, b"first").await;
    let second = s.create_with(&body, b"second").await;
    assert_ne!(first["id"], second["id"]);

    let got = s.backendless(Method::GET, "dup/same.txt").await;
    assert_eq!(
        (got.status, got.bytes.as_slice()),
        (StatusCode::OK, &b"first"[..]),
        "{got}"
    );
    assert_eq!(s.listing("dup").await, ["dup/same.txt"]);
    let count = s.backendless(Method::GET, "dup?action=count").await;
    assert_eq!(count.json, json!(1), "{count}");

    // The second is a whole record, reachable by id only.
    let by_id = s.download(json!({"id": second["id"]}), None).await;
    assert_eq!(
        (by_id.status, by_id.bytes.as_slice()),
        (StatusCode::OK, &b"second"[..]),
        "{by_id}"
    );
    let both = s
        .list_all(&json!({"filter": {"directoryPrefix": "/dup"}}))
        .await;
    let mut expected = vec![
        first["id"].as_i64().unwrap(),
        second["id"].as_i64().unwrap(),
    ];
    expected.sort_unstable();
    assert_eq!(ids(&both), expected);
    let owner = s
        .bkend(Method::GET, &format!("/v1/files/{}", first["id"]), None)
        .await;
    assert_eq!(owner.json["path"], "/dup/same.txt", "{owner}");
    let pathless = s
        .bkend(Method::GET, &format!("/v1/files/{}", second["id"]), None)
        .await;
    assert_eq!(pathless.status, StatusCode::OK, "{pathless}");
    assert_eq!(
        (pathless.json.get("path"), pathless.json.get("url")),
        (None, None),
        "{pathless}"
    );
    assert_eq!(pathless.json["size"], 6, "{pathless}");
}

#[tokio::test]
async fn deleting_by_path_deletes_the_record() {
    let s = server().await;
    assert_eq!(s.upload("docs/a.txt", b"a").await.status, StatusCode::OK);
    let c = s
        .create_with(
            &json!({"name": "c.txt", "directory": "/docs", "externalId": "c"}),
            b"c",
        )
        .await;
    let a_id = s.list_all(&json!({"filter": {"name": "a.txt"}})).await[0]["id"].clone();

    let gone = s.backendless(Method::DELETE, "docs/a.txt").await;
    assert_eq!(
        (gone.status, &gone.json),
        (StatusCode::OK, &json!({"deleted": 1})),
        "{gone}"
    );
    let r = s.cognite("/byids", &json!({"items": [{"id": a_id}]})).await;
    let missing =
        json!({"error": {"code": 400, "message": "Files not found", "missing": [{"id": a_id}]}});
    assert_eq!(
        (r.status, &r.json),
        (StatusCode::BAD_REQUEST, &missing),
        "{r}"
    );
    let r = s
        .bkend(Method::GET, &format!("/v1/files/{a_id}"), None)
        .await;
    assert_eq!(
        (r.status, r.json["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(6000)),
        "{r}"
    );

    // Deleting the directory deletes the Cognite record that owns a path in it.
    let gone = s.backendless(Method::DELETE, "docs").await;
    assert_eq!(
        (gone.status, &gone.json),
        (StatusCode::OK, &json!({"deleted": 2})),
        "{gone}"
    );
    let r = s
        .cognite("/byids", &json!({"items": [{"externalId": "c"}]}))
        .await;
    let missing = json!({"error": {"code": 400, "message": "Files not found", "missing": [{"externalId": "c"}]}});
    assert_eq!(
        (r.status, &r.json),
        (StatusCode::BAD_REQUEST, &missing),
        "{r}"
    );
    assert_eq!(s.list_all(&json!({})).await.len(), 0);
    let r = s
        .bkend(Method::GET, &format!("/v1/files/{}", c["id"]), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r}");
}

// ---------------------------------------------------------------------------------------------
// 4. bkend's metadata API

#[tokio::test]
async fn bkend_three_step_upload_answers_the_record_with_its_id() {
    let s = server().await;
    let a = s
        .bkend_upload(
            "/docs",
            "r.txt",
            b"hello",
            &json!({"category": "documents", "tags": ["a", "b"], "metadata": {"k": "v"}}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a}");
    let id = a.json["id"].as_i64().unwrap();
    assert!((1..=MAX_ID).contains(&id), "{id}");
    assert_eq!(
        without(&a.json, &["createdAt", "updatedAt"]),
        json!({"id": id, "path": "/docs/r.txt", "name": "r.txt", "mimeType": "text/plain", "size": 5,
               "uploaded": true, "category": "documents", "tags": ["a", "b"], "metadata": {"k": "v"},
               "url": format!("{BASE}{ROOT}/docs/r.txt"), "etag": etag_of(b"hello")})
    );
    assert!(
        a.json["updatedAt"].as_i64() >= a.json["createdAt"].as_i64(),
        "{a}"
    );
    let one = s.bkend(Method::GET, &format!("/v1/files/{id}"), None).await;
    assert_eq!((one.status, &one.json), (StatusCode::OK, &a.json), "{one}");
    // The same record, seen by Cognite.
    let record = s.record(json!({"id": id})).await;
    assert_eq!(record["metadata"], json!({"k": "v"}), "{record}");
    assert_eq!(
        s.backendless(Method::GET, "docs/r.txt").await.bytes,
        b"hello"
    );
}

/// One file of the bkend fixture, as made.
#[derive(Debug, Clone)]
struct Made {
    name: String,
    id: i64,
    size: i64,
    created: i64,
}

/// Five files in `/lib` made by bkend's 3 steps, a few ms apart; two share a size.
async fn bkend_fixture(s: &Server) -> Vec<Made> {
    let files = [
        (
            "alpha.txt",
            5,
            json!({"category": "documents", "tags": ["red", "blue"]}),
        ),
        (
            "beta.png",
            20,
            json!({"category": "images", "tags": ["blue"]}),
        ),
        (
            "gamma.txt",
            1,
            json!({"category": "documents", "tags": ["green"]}),
        ),
        ("delta.bin", 10, json!({})),
        (
            "alphabet.md",
            10,
            json!({"category": "documents", "tags": ["red"], "mimeType": "text/markdown"}),
        ),
    ];
    let mut made: Vec<Made> = Vec::new();
    for (name, size, extra) in files {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let a = s
            .bkend_upload("/lib", name, &vec![b'x'; size], &extra)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{name}: {a}");
        let m = Made {
            name: name.to_owned(),
            id: a.json["id"].as_i64().unwrap(),
            size: a.json["size"].as_i64().unwrap(),
            created: a.json["createdAt"].as_i64().unwrap(),
        };
        if let Some(last) = made.last() {
            assert!(m.created > last.created, "{made:?} then {m:?}");
        }
        made.push(m);
    }
    made
}

/// The fixture's names in the order `sort`/`descending` gives (every order ends with the id).
fn sorted(made: &[Made], sort: &str, descending: bool) -> Vec<String> {
    let mut m = made.to_vec();
    match sort {
        "name" => m.sort_by(|a, b| (a.name.as_bytes(), a.id).cmp(&(b.name.as_bytes(), b.id))),
        "size" => m.sort_by_key(|f| (f.size, f.id)),
        _ => m.sort_by_key(|f| (f.created, f.id)),
    }
    if descending {
        m.reverse();
    }
    m.into_iter().map(|f| f.name).collect()
}

#[tokio::test]
async fn bkend_list_filters_by_category_tags_type_name_size_and_creation() {
    let s = server().await;
    let made = bkend_fixture(&s).await;
    let c = |i: usize| made[i].created;
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            "category=documents".into(),
            vec!["alpha.txt", "gamma.txt", "alphabet.md"],
        ),
        ("category=images".into(), vec!["beta.png"]),
        ("category=temp".into(), vec![]),
        ("tags=red".into(), vec!["alpha.txt", "alphabet.md"]),
        (
            "tags=green,blue".into(),
            vec!["alpha.txt", "beta.png", "gamma.txt"],
        ),
        (
            format!("mimeType={}", q("text/plain")),
            vec!["alpha.txt", "gamma.txt"],
        ),
        (
            format!("mimeType={}", q("text/markdown")),
            vec!["alphabet.md"],
        ),
        ("name=alpha".into(), vec!["alpha.txt", "alphabet.md"]),
        ("name=ta".into(), vec!["beta.png", "delta.bin"]),
        ("name=ALPHA".into(), vec![]),
        (
            "minSize=5&maxSize=10".into(),
            vec!["alpha.txt", "delta.bin", "alphabet.md"],
        ),
        ("minSize=11".into(), vec!["beta.png"]),
        ("maxSize=1".into(), vec!["gamma.txt"]),
        (
            format!("createdFrom={}&createdTo={}", c(1), c(3)),
            vec!["beta.png", "gamma.txt", "delta.bin"],
        ),
        (format!("createdFrom={}", c(4)), vec!["alphabet.md"]),
        (format!("createdTo={}", c(0)), vec!["alpha.txt"]),
        (
            "category=documents&tags=red&name=bet".into(),
            vec!["alphabet.md"],
        ),
    ];
    let mut failures = Vec::new();
    for (query, expected) in &cases {
        let got = s.bkend_names(query).await;
        if got != *expected {
            failures.push(format!("{query}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const SORTS: [(&str, &str, bool); 8] = [
    ("", "createdAt", false),
    ("sort=createdAt", "createdAt", false),
    ("sort=createdAt&order=desc", "createdAt", true),
    ("sort=name", "name", false),
    ("sort=name&order=desc", "name", true),
    ("sort=size", "size", false),
    ("sort=size&order=asc", "size", false),
    ("sort=size&order=desc", "size", true),
];

#[tokio::test]
async fn bkend_list_sorts_by_name_size_and_creation_both_ways() {
    let s = server().await;
    let made = bkend_fixture(&s).await;
    let mut failures = Vec::new();
    for (query, sort, descending) in SORTS {
        let got = s.bkend_names(query).await;
        let expected = sorted(&made, sort, descending);
        if got != expected {
            failures.push(format!("{query:?}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn bkend_cursor_pages_of_two_cover_every_file_once_in_order() {
    let s = server().await;
    let made = bkend_fixture(&s).await;
    for (query, sort, descending) in SORTS {
        let mut got = Vec::new();
        let mut pages = 0;
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/v1/files?limit=2&{query}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={}", q(c)));
            }
            let a = s.bkend(Method::GET, &path, None).await;
            assert_eq!(a.status, StatusCode::OK, "{path}: {a}");
            let page = names(&a.json["items"]);
            pages += 1;
            assert!(pages <= 3, "{query:?}: more than 3 pages");
            match a.json.get("nextCursor") {
                Some(Value::String(c)) => {
                    assert_eq!(page.len(), 2, "{path}: {a}");
                    cursor = Some(c.clone());
                    got.extend(page);
                }
                None => {
                    got.extend(page);
                    break;
                }
                Some(other) => panic!("{path}: nextCursor {other}"),
            }
        }
        assert_eq!(
            (got, pages),
            (sorted(&made, sort, descending), 3),
            "{query:?}"
        );
    }
}

#[tokio::test]
async fn bkend_patch_changes_fields_and_null_clears_them() {
    let s = server().await;
    let a = s
        .bkend_upload(
            "/docs",
            "alpha.txt",
            b"hello",
            &json!({"category": "documents", "tags": ["a"]}),
        )
        .await;
    let id = a.json["id"].as_i64().unwrap();
    let patch = |body: Value| {
        let s = &s;
        async move {
            let req = Request::patch(format!("/v1/files/{id}"))
                .header("x-api-key", "demo-key")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap();
            s.send(req).await
        }
    };
    let r = patch(json!({"name": "renamed.txt", "mimeType": "text/csv", "tags": ["z"], "metadata": {"m": "1"}})).await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    let mut expected = json!({"id": id, "path": "/docs/renamed.txt", "name": "renamed.txt",
                              "mimeType": "text/csv", "size": 5, "uploaded": true, "category": "documents",
                              "tags": ["z"], "metadata": {"m": "1"},
                              "url": format!("{BASE}{ROOT}/docs/renamed.txt"), "etag": etag_of(b"hello")});
    assert_eq!(without(&r.json, &["createdAt", "updatedAt"]), expected);
    assert_eq!(
        s.backendless(Method::GET, "docs/renamed.txt").await.bytes,
        b"hello"
    );
    assert_eq!(
        s.backendless(Method::GET, "docs/alpha.txt").await.status,
        StatusCode::NOT_FOUND
    );

    let r = patch(json!({"category": null})).await;
    assert_eq!(r.status, StatusCode::OK, "{r}");
    expected.as_object_mut().unwrap().remove("category");
    assert_eq!(without(&r.json, &["createdAt", "updatedAt"]), expected);
    let r = patch(json!({"mimeType": null})).await;
    expected.as_object_mut().unwrap().remove("mimeType");
    assert_eq!(without(&r.json, &["createdAt", "updatedAt"]), expected);
    let one = s.bkend(Method::GET, &format!("/v1/files/{id}"), None).await;
    assert_eq!(
        without(&one.json, &["createdAt", "updatedAt"]),
        expected,
        "{one}"
    );
    // Nothing given changes nothing.
    let r = patch(json!({})).await;
    assert_eq!(
        without(&r.json, &["createdAt", "updatedAt"]),
        expected,
        "{r}"
    );
}

#[tokio::test]
async fn bkend_patch_to_a_name_that_cannot_keep_the_path_is_refused() {
    // A PATCH of `name` renames the file in its directory. A name another file has, or one
    // that is no path segment, must be refused as the Backendless rename refuses it; it must
    // not leave the file without a path (gone from listings, its URL dead).
    let s = server().await;
    let a = s.bkend_upload("/docs", "a.txt", b"aaa", &json!({})).await;
    let b = s.bkend_upload("/docs", "b.txt", b"bbb", &json!({})).await;
    let cases = [
        (
            &b,
            "a.txt",
            StatusCode::CONFLICT,
            json!({"code": 6003, "message": "Unable to modify file/folder: file/folder already exists: a.txt"}),
        ),
        (
            &a,
            "x/y.txt",
            StatusCode::BAD_REQUEST,
            json!({"code": 6006, "message": "Path contains prohibited symbols: x/y.txt"}),
        ),
    ];
    let mut failures = Vec::new();
    for (file, name, status, body) in cases {
        let id = file.json["id"].as_i64().unwrap();
        let r = s
            .bkend(
                Method::PATCH,
                &format!("/v1/files/{id}"),
                Some(&json!({"name": name})),
            )
            .await;
        if (r.status, &r.json) != (status, &body) {
            failures.push(format!(
                "rename to {name:?}: expected {status} {body}, got {r}"
            ));
        }
        let now = s.bkend(Method::GET, &format!("/v1/files/{id}"), None).await;
        if now.json != file.json {
            failures.push(format!(
                "after rename to {name:?}: expected {}, got {now}",
                file.json
            ));
        }
    }
    let listed = s.listing("docs").await;
    if listed != ["docs/a.txt", "docs/b.txt"] {
        failures.push(format!("the listing of docs is {listed:?}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn bkend_delete_removes_the_record() {
    let s = server().await;
    let a = s.bkend_upload("/docs", "d.txt", b"bye", &json!({})).await;
    let id = a.json["id"].as_i64().unwrap();
    let r = s
        .bkend(Method::DELETE, &format!("/v1/files/{id}"), None)
        .await;
    assert_eq!(
        (r.status, &r.json),
        (StatusCode::OK, &json!({"id": id, "deleted": true})),
        "{r}"
    );
    let not_found = json!({"code": 6000, "message": "File or directory cannot be found."});
    for method in [Method::GET, Method::DELETE] {
        let r = s
            .bkend(method.clone(), &format!("/v1/files/{id}"), None)
            .await;
        assert_eq!(
            (r.status, &r.json),
            (StatusCode::NOT_FOUND, &not_found),
            "{method}: {r}"
        );
    }
    assert_eq!(s.bkend_names("").await, Vec::<String>::new());
    let r = s.backendless(Method::GET, "docs/d.txt").await;
    assert_eq!(
        (r.status, &r.json),
        (StatusCode::NOT_FOUND, &not_found),
        "{r}"
    );
}

#[tokio::test]
async fn bkend_a_bad_category_is_refused_with_6018() {
    let s = server().await;
    let expected = json!({"code": 6018, "message":
        "category must be one of images, documents, media, attachments, exports, backups, temp (got videos)"});
    let r = s
        .bkend_upload("/docs", "v.mp4", b"v", &json!({"category": "videos"}))
        .await;
    assert_eq!(
        (r.status, &r.json),
        (StatusCode::BAD_REQUEST, &expected),
        "{r}"
    );
    let listed = s.bkend(Method::GET, "/v1/files", None).await;
    let id = listed.json["items"][0]["id"].as_i64().unwrap();
    assert_eq!(listed.json["items"][0].get("category"), None, "{listed}");
    let r = s
        .bkend(
            Method::PATCH,
            &format!("/v1/files/{id}"),
            Some(&json!({"category": "videos", "tags": ["kept?"]})),
        )
        .await;
    assert_eq!(
        (r.status, &r.json),
        (StatusCode::BAD_REQUEST, &expected),
        "{r}"
    );
    let one = s.bkend(Method::GET, &format!("/v1/files/{id}"), None).await;
    assert_eq!(
        (one.json.get("category"), &one.json["tags"]),
        (None, &json!([])),
        "{one}"
    );
}

#[tokio::test]
async fn bkend_a_cursor_of_another_sort_is_refused_with_6020() {
    let s = server().await;
    for name in ["a.txt", "b.txt", "c.txt"] {
        assert_eq!(
            s.bkend_upload("/c", name, b"x", &json!({})).await.status,
            StatusCode::OK
        );
    }
    let first = s
        .bkend(Method::GET, "/v1/files?sort=name&limit=2", None)
        .await;
    let cursor = q(first.json["nextCursor"].as_str().unwrap());
    let expected = json!({"code": 6020, "message": "Invalid cursor"});
    for query in [
        format!("sort=size&cursor={cursor}"),
        format!("sort=createdAt&cursor={cursor}"),
        format!("cursor={cursor}"),
        format!("sort=name&order=desc&cursor={cursor}"),
        "sort=name&cursor=not-a-cursor".to_owned(),
    ] {
        let r = s
            .bkend(Method::GET, &format!("/v1/files?{query}"), None)
            .await;
        assert_eq!(
            (r.status, &r.json),
            (StatusCode::BAD_REQUEST, &expected),
            "{query}: {r}"
        );
    }
    let r = s
        .bkend(
            Method::GET,
            &format!("/v1/files?sort=name&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(
        (r.status, names(&r.json["items"])),
        (StatusCode::OK, vec!["c.txt".to_owned()]),
        "{r}"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Keyset paging under concurrent changes

/// What a listing saw, checked against what happened while it ran.
struct Run<K> {
    originals: BTreeSet<K>,
    inserted: BTreeSet<K>,
    /// Deleted while the listing ran, before the listing reached them.
    deleted_unseen: BTreeSet<K>,
    /// Deleted while the listing ran, after the listing had seen them.
    deleted_seen: BTreeSet<K>,
    seen: Vec<K>,
}

impl<K: Ord + Clone + std::fmt::Debug> Run<K> {
    fn new(originals: impl IntoIterator<Item = K>) -> Self {
        Self {
            originals: originals.into_iter().collect(),
            inserted: BTreeSet::new(),
            deleted_unseen: BTreeSet::new(),
            deleted_seen: BTreeSet::new(),
            seen: Vec::new(),
        }
    }

    /// Every file that existed for the whole listing was seen exactly once, no file twice,
    /// none after it was deleted, and the order only went forward.
    fn check(&self) {
        let mut counts: BTreeMap<&K, usize> = BTreeMap::new();
        for k in &self.seen {
            *counts.entry(k).or_default() += 1;
        }
        let twice: Vec<&&K> = counts
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(k, _)| k)
            .collect();
        assert!(twice.is_empty(), "seen twice: {twice:?}");
        let stable: Vec<&K> = self
            .originals
            .iter()
            .filter(|k| !self.deleted_unseen.contains(*k) && !self.deleted_seen.contains(*k))
            .collect();
        let skipped: Vec<&&K> = stable
            .iter()
            .filter(|k| !counts.contains_key(**k))
            .collect();
        assert!(skipped.is_empty(), "skipped: {skipped:?}");
        let ghosts: Vec<&K> = self
            .deleted_unseen
            .iter()
            .filter(|k| counts.contains_key(k))
            .collect();
        assert!(ghosts.is_empty(), "seen after their delete: {ghosts:?}");
        let strangers: Vec<&K> = self
            .seen
            .iter()
            .filter(|k| !self.originals.contains(*k) && !self.inserted.contains(*k))
            .collect();
        assert!(strangers.is_empty(), "never made: {strangers:?}");
        assert!(
            self.seen.windows(2).all(|w| w[0] < w[1]),
            "out of order: {:?}",
            self.seen
        );
        // The run did what it is meant to test.
        assert!(!self.deleted_unseen.is_empty() && !self.deleted_seen.is_empty());
        assert!(stable.len() >= 30, "only {} stable files", stable.len());
    }

    /// The first file after the last one seen that still exists.
    fn next_unseen(&self, alive: &BTreeSet<K>) -> Option<K> {
        use std::ops::Bound::{Excluded, Unbounded};
        let last = self.seen.last()?;
        alive.range((Excluded(last), Unbounded)).next().cloned()
    }
}

#[tokio::test]
async fn backendless_cursor_pages_never_skip_or_repeat_while_files_come_and_go() {
    let s = server().await;
    let originals: Vec<String> = (0..60).map(|i| format!("f{i:03}")).collect();
    for name in &originals {
        assert_eq!(
            s.upload(&format!("keys/{name}"), b"x").await.status,
            StatusCode::OK
        );
    }
    let mut alive: BTreeSet<String> = originals.iter().cloned().collect();
    let mut run = Run::new(originals);
    let mut cursor: Option<String> = None;
    for page in 0..40 {
        let mut path = "keys?pagesize=7".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", q(c)));
        }
        let a = s.backendless(Method::GET, &path).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {a}");
        let got: Vec<String> = urls(&a.json)
            .iter()
            .map(|u| u.strip_prefix("keys/").unwrap().to_owned())
            .collect();
        assert!(got.len() <= 7, "{path}: {a}");
        // A page may be empty (what followed it went away): then no file is at the cursor.
        let empty = got.is_empty();
        run.seen.extend(got);
        // Between pages: a file behind the cursor and one ahead of it appear, the next unseen
        // file and the one the cursor points at go.
        for new in [format!("a{page:03}"), format!("z{page:03}")] {
            assert_eq!(
                s.upload(&format!("keys/{new}"), b"y").await.status,
                StatusCode::OK
            );
            alive.insert(new.clone());
            run.inserted.insert(new);
        }
        if let Some(next) = run.next_unseen(&alive) {
            let d = s.backendless(Method::DELETE, &format!("keys/{next}")).await;
            assert_eq!(d.status, StatusCode::OK, "{d}");
            alive.remove(&next);
            run.deleted_unseen.insert(next);
        }
        if let Some(last) = run.seen.last().cloned().filter(|_| !empty) {
            let d = s.backendless(Method::DELETE, &format!("keys/{last}")).await;
            assert_eq!(d.status, StatusCode::OK, "{d}");
            alive.remove(&last);
            run.deleted_seen.insert(last);
        }
        match a.headers.get("stowage-next-cursor") {
            Some(c) => cursor = Some(c.to_str().unwrap().to_owned()),
            None => {
                run.check();
                // Files made behind the cursor are never reached.
                assert!(
                    run.seen.iter().all(|n| !n.starts_with('a')),
                    "{:?}",
                    run.seen
                );
                return;
            }
        }
    }
    panic!("the listing did not end within 40 pages");
}

#[tokio::test]
async fn cognite_cursor_pages_never_skip_or_repeat_while_files_come_and_go() {
    let s = server().await;
    let mut originals = Vec::new();
    for i in 0..60 {
        originals.push(
            s.create(&json!({"name": format!("k{i:03}")})).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let mut alive: BTreeSet<i64> = originals.iter().copied().collect();
    let mut run = Run::new(originals);
    let mut cursor: Option<String> = None;
    for page in 0..40 {
        let mut body = json!({"limit": 7});
        if let Some(c) = &cursor {
            body["cursor"] = json!(c);
        }
        let a = s.cognite("/list", &body).await;
        assert_eq!(a.status, StatusCode::OK, "{body}: {a}");
        let got = ids(a.json["items"].as_array().unwrap());
        assert!(got.len() <= 7, "{a}");
        let empty = got.is_empty();
        run.seen.extend(got);
        for side in ["new-a", "new-b"] {
            let id = s.create(&json!({"name": format!("{side}{page}")})).await["id"]
                .as_i64()
                .unwrap();
            alive.insert(id);
            run.inserted.insert(id);
        }
        let mut gone = Vec::new();
        if let Some(next) = run.next_unseen(&alive) {
            gone.push(json!({"id": next}));
            alive.remove(&next);
            run.deleted_unseen.insert(next);
        }
        if let Some(last) = run.seen.last().copied().filter(|_| !empty) {
            gone.push(json!({"id": last}));
            alive.remove(&last);
            run.deleted_seen.insert(last);
        }
        if !gone.is_empty() {
            let d = s.cognite("/delete", &json!({"items": gone})).await;
            assert_eq!(d.status, StatusCode::OK, "{d}");
        }
        match a.json.get("nextCursor") {
            Some(Value::String(c)) => cursor = Some(c.clone()),
            None => return run.check(),
            Some(other) => panic!("nextCursor {other}"),
        }
    }
    panic!("the listing did not end within 40 pages");
}

// ---------------------------------------------------------------------------------------------
// 6. The Backendless `pattern` glob, matched in SQL

/// `mix/` holds files and directories whose names tell the globs apart.
async fn glob_fixture(s: &Server) {
    for path in [
        "a.txt",
        "b.txt",
        "B.TXT",
        "abc",
        "adc",
        "a.c",
        "bcd",
        "c.md",
        "%C3%A9.txt",
        "x(1)+.txt",
        "sub/a.txt",
        "sub/zc.txt",
        "sub/abc",
        "an-dir/q.txt",
    ] {
        let a = s.upload(&format!("mix/{path}"), b"g").await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {a}");
    }
}

#[tokio::test]
async fn backendless_pattern_globs_match_names_in_sql() {
    let s = server().await;
    glob_fixture(&s).await;
    let all = [
        "B.TXT",
        "a.c",
        "a.txt",
        "abc",
        "adc",
        "an-dir",
        "b.txt",
        "bcd",
        "c.md",
        "sub",
        "x(1)+.txt",
        "é.txt",
    ];
    let cases: Vec<(&str, bool, Vec<&str>)> = vec![
        ("*.txt", false, vec!["a.txt", "b.txt", "x(1)+.txt", "é.txt"]),
        ("*.TXT", false, vec!["B.TXT"]),
        ("a?c", false, vec!["a.c", "abc", "adc"]),
        (
            "[ab]*",
            false,
            vec!["a.c", "a.txt", "abc", "adc", "an-dir", "b.txt", "bcd"],
        ),
        (
            "[!a]*",
            false,
            vec!["B.TXT", "b.txt", "bcd", "c.md", "sub", "x(1)+.txt", "é.txt"],
        ),
        ("a.c", false, vec!["a.c"]),
        ("?.txt", false, vec!["a.txt", "b.txt", "é.txt"]),
        ("x(1)+.txt", false, vec!["x(1)+.txt"]),
        ("*", false, all.to_vec()),
        ("nothing*", false, vec![]),
        (
            "*.txt",
            true,
            vec![
                "a.txt",
                "an-dir/q.txt",
                "b.txt",
                "sub/a.txt",
                "sub/zc.txt",
                "x(1)+.txt",
                "é.txt",
            ],
        ),
        ("a?c", true, vec!["a.c", "abc", "adc", "sub/abc"]),
        (
            "[!a]*",
            true,
            vec![
                "B.TXT",
                "an-dir/q.txt",
                "b.txt",
                "bcd",
                "c.md",
                "sub",
                "sub/zc.txt",
                "x(1)+.txt",
                "é.txt",
            ],
        ),
    ];
    let mut failures = Vec::new();
    for (pattern, sub, expected) in &cases {
        let query = format!("mix?pattern={}&sub={sub}", q(pattern));
        let got = s.listing(&query).await;
        let expected: Vec<String> = expected.iter().map(|n| format!("mix/{n}")).collect();
        if got != expected {
            failures.push(format!(
                "{pattern} sub={sub}: expected {expected:?}, got {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn backendless_count_honours_pattern_and_count_directories() {
    let s = server().await;
    glob_fixture(&s).await;
    let cases = [
        ("*.txt", false, false, 4),
        ("*.txt", true, false, 7),
        ("[!a]*", false, false, 6),
        ("[!a]*", false, true, 7),
        ("[ab]*", false, true, 7),
        ("[ab]*", true, false, 8),
        ("[ab]*", true, true, 9),
        ("a?c", true, false, 4),
        ("?.txt", false, false, 3),
        ("", true, true, 16),
        ("", false, true, 12),
        ("", false, false, 10),
    ];
    let mut failures = Vec::new();
    for (pattern, sub, dirs, expected) in cases {
        let query = format!(
            "mix?action=count&pattern={}&sub={sub}&countDirectories={dirs}",
            q(pattern)
        );
        let a = s.backendless(Method::GET, &query).await;
        if (a.status, &a.json) != (StatusCode::OK, &json!(expected)) {
            failures.push(format!("{query}: expected 200 {expected}, got {a}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
