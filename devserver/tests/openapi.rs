//! `/openapi.json` (issue 14): a valid OpenAPI 3.1 document, served without a key, that lists
//! exactly the routes the router serves — the route table (`route_table()`, recorded by the
//! same macro that builds each route) compared with the document both ways, and the table
//! itself probed against the router — whose request examples the handlers accept and whose
//! error responses name the error body and real codes.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use stowage_devserver::{route_table, AppState, Config};
use stowage_protocol::ErrorCode;
use tower::ServiceExt;

const ADMIN: &str = "test-admin-key-demo-0123456789abcdef";
const KEY: &str = "/demo/demo-key";
/// The methods routes take. `OPTIONS` is the CORS layer's, answered before any route.
const METHODS: &[&str] = &["get", "head", "post", "put", "patch", "delete"];

async fn router(dir: &std::path::Path) -> axum::Router {
    let mut config = Config::for_tests(dir.join("data")).await.unwrap();
    config.admin_keys = vec![("demo".into(), ADMIN.into())];
    config.unsafe_test_hooks = true;
    let state = AppState::open(&config).await.unwrap();
    stowage_devserver::app(state, &dir.join("www"))
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    json: Value,
}

async fn send(router: &axum::Router, req: Request<Body>) -> Answer {
    let res = router.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

async fn document(router: &axum::Router) -> Value {
    let res = send(
        router,
        Request::get("/openapi.json").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "no key is needed");
    assert_eq!(res.headers[header::CONTENT_TYPE], "application/json");
    res.json
}

/// Every (METHOD, path) of the document.
fn operations(doc: &Value) -> BTreeMap<(String, String), &Value> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            // Every HTTP method OpenAPI has, so a documented one no route takes shows up.
            if METHODS.contains(&method.as_str()) || matches!(method.as_str(), "options" | "trace")
            {
                out.insert((method.to_ascii_uppercase(), path.clone()), op);
            }
        }
    }
    out
}

/// The value a `$ref` points to.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(r.strip_prefix('#').unwrap())
            .unwrap_or_else(|| panic!("dangling $ref {r}")),
        None => value,
    }
}

fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_1() {
    let dir = tempfile::tempdir().unwrap();
    let router = router(dir.path()).await;
    let doc = document(&router).await;
    let text = doc.to_string();
    let spec = oas3::from_json(&text).unwrap();
    assert!(spec.openapi.starts_with("3.1."), "{}", spec.openapi);
    assert_eq!(spec.info.title, "Stowage");
    eprintln!(
        "/openapi.json: {} bytes, {} paths, {} operations",
        text.len(),
        doc["paths"].as_object().unwrap().len(),
        operations(&doc).len()
    );

    // Every reference resolves.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 100, "the operations refer to named schemas");
    for r in all {
        assert!(doc.pointer(r.strip_prefix('#').unwrap()).is_some(), "{r}");
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    let tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut ids = BTreeSet::new();
    for ((method, path), op) in operations(&doc) {
        let what = format!("{method} {path}");
        let id = op["operationId"].as_str().unwrap();
        assert!(ids.insert(id.to_owned()), "operationId {id} twice ({what})");
        let op_tags = op["tags"].as_array().unwrap();
        assert!(
            op_tags.len() == 1 && tags.contains(op_tags[0].as_str().unwrap()),
            "{what}: {op_tags:?}"
        );
        // The path's parameters are exactly the template's, each required.
        let template: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(str::to_owned)
            .collect();
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .inspect(|p| assert_eq!(p["required"], true, "{what}: {p}"))
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(template, declared, "{what}");
        for requirement in op["security"].as_array().into_iter().flatten() {
            for name in requirement.as_object().unwrap().keys() {
                assert!(schemes.contains_key(name), "{what}: scheme {name}");
            }
        }
        assert!(
            op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .any(|s| s.starts_with('2') || s == "404" || s == "405"),
            "{what} has a success (or, for a route that only refuses, its 404 or 405)"
        );
    }
    for name in [
        "user_token",
        "bearer",
        "admin_key",
        "x_api_key",
        "signature",
    ] {
        assert!(schemes.contains_key(name), "{name}");
    }
    assert_eq!(schemes["x_api_key"]["name"], "X-API-Key");
    assert_eq!(schemes["signature"]["in"], "query");
}

#[tokio::test]
async fn every_route_is_in_the_document_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let doc = document(&router(dir.path()).await).await;
    let table: BTreeSet<(String, String)> = route_table()
        .iter()
        .map(|r| (r.method.clone(), r.openapi_path()))
        .collect();
    let paths: BTreeSet<&String> = table.iter().map(|(_, p)| p).collect();
    // 48 `.route(` registrations before `/openapi.json` joined them; issue 13 added
    // `/img/{app}/{signature}/{rest}` and `/{app}/{key}/images/sign`.
    assert_eq!(paths.len(), 51, "{paths:#?}");
    assert!(paths.contains(&"/img/{app}/{signature}/{rest}".to_owned()));
    assert!(paths.contains(&"/api/v1/projects/{project}/files/initmultipartupload".to_owned()));
    let documented: BTreeSet<(String, String)> = operations(&doc).into_keys().collect();
    let missing: Vec<_> = table.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&table).collect();
    assert!(
        missing.is_empty(),
        "routed but not documented: {missing:#?}"
    );
    assert!(extra.is_empty(), "documented but not routed: {extra:#?}");
}

/// A path of the table with every parameter filled in.
fn sample(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "x" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_route_table_is_what_the_router_serves() {
    let dir = tempfile::tempdir().unwrap();
    let router = router(dir.path()).await;
    let mut routed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in route_table() {
        routed.entry(r.path.clone()).or_default().insert(r.method);
    }
    for (path, methods) in &routed {
        for method in METHODS.iter().map(|m| m.to_ascii_uppercase()) {
            // axum answers HEAD on every GET route by itself.
            if method == "HEAD" && methods.contains("GET") {
                continue;
            }
            let req = Request::builder()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(sample(path))
                .body(Body::empty())
                .unwrap();
            let res = send(&router, req).await;
            // Ours, or Cognite's envelope on its routes (a HEAD answer has no body).
            let refused = res.status == StatusCode::METHOD_NOT_ALLOWED
                && (method == "HEAD"
                    || res.json["code"] == ErrorCode::MethodNotAllowed.code()
                    || res.json["error"]["code"] == 405);
            assert_eq!(
                refused,
                !methods.contains(&method),
                "{method} {path}: {} {}",
                res.status,
                res.json
            );
        }
    }
}

#[tokio::test]
async fn error_responses_name_the_error_body_and_real_codes() {
    let dir = tempfile::tempdir().unwrap();
    let doc = document(&router(dir.path()).await).await;
    let mut codes_seen = BTreeSet::new();
    for ((method, path), op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().unwrap() {
            let status: u16 = status.parse().unwrap();
            if status < 400 {
                continue;
            }
            let what = format!("{method} {path} {status}");
            let schema = response["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: no error body"));
            // The upload slots answer 429 before any shape's envelope.
            let expected = if status == 429 {
                vec!["ErrorBody"]
            } else if path.starts_with("/api/v1/projects/") {
                vec!["ErrorEnvelope"]
            } else if path.starts_with("/v1/files") {
                vec!["BkendError"]
            } else {
                vec!["ErrorBody"]
            };
            let name = schema.rsplit('/').next().unwrap();
            assert!(expected.contains(&name), "{what}: {schema}");
            // Each code named is one of ours, answered with this status.
            let description = response["description"].as_str().unwrap();
            for code in description
                .split('`')
                .skip(1)
                .step_by(2)
                .filter_map(|c| c.parse::<u32>().ok())
            {
                let known = ErrorCode::from_code(code)
                    .unwrap_or_else(|| panic!("{what}: no error code {code}"));
                assert_eq!(known.status(), status, "{what}: {code} {}", known.name());
                codes_seen.insert(code);
            }
        }
    }
    // The shared ones are everywhere; the document names most of the table.
    assert!(codes_seen.contains(&5000) && codes_seen.contains(&7010) && codes_seen.contains(&7009));
    assert!(codes_seen.len() >= 40, "{} codes named", codes_seen.len());
    let body = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(body["required"], serde_json::json!(["code", "message"]));
}

/// The example of an operation's request body, and its content type.
fn example<'a>(doc: &'a Value, method: &str, path: &str) -> (&'a str, &'a Value, &'a Value) {
    let body = &doc["paths"][path][method]["requestBody"]["content"];
    let (content_type, media) = body
        .as_object()
        .and_then(|c| c.iter().next())
        .unwrap_or_else(|| panic!("{method} {path} has no request body"));
    let example = media
        .get("example")
        .unwrap_or_else(|| panic!("{method} {path} has no example"));
    (content_type, example, &media["schema"])
}

/// The properties and required names of an object schema (through `$ref` and `allOf`), or
/// `None` for a schema that is not an object of named properties.
fn fields(doc: &Value, schema: &Value) -> Option<(BTreeSet<String>, BTreeSet<String>)> {
    let schema = resolve(doc, schema);
    let mut props = BTreeSet::new();
    let mut required = BTreeSet::new();
    let parts: Vec<&Value> = match schema.get("allOf").and_then(Value::as_array) {
        Some(all) => all.iter().collect(),
        None => vec![schema],
    };
    for part in parts {
        let part = resolve(doc, part);
        if part.get("oneOf").is_some() {
            // Identity: one of `id` and `externalId`.
            props.extend(["id".to_owned(), "externalId".to_owned()]);
            continue;
        }
        props.extend(part["properties"].as_object()?.keys().cloned());
        for r in part["required"].as_array().into_iter().flatten() {
            required.insert(r.as_str()?.to_owned());
        }
    }
    Some((props, required))
}

/// The examples sent, with what to put for their placeholders.
struct Examples<'a> {
    router: &'a axum::Router,
    doc: &'a Value,
    sent: BTreeSet<(String, String)>,
    placeholders: HashMap<&'static str, String>,
}

impl Examples<'_> {
    /// Sends `method path`'s example to `uri` (with the placeholders filled in) as `headers`
    /// say, after checking it against the body's schema; the handler must accept it.
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> Value {
        let (content_type, example, schema) = example(self.doc, method, path);
        let what = format!("{method} {path}");
        if let (Some((props, required)), Some(given)) =
            (fields(self.doc, schema), example.as_object())
        {
            let keys: BTreeSet<String> = given.keys().cloned().collect();
            assert!(
                keys.is_subset(&props),
                "{what}: {keys:?} not all in {props:?}"
            );
            assert!(
                required.is_subset(&keys),
                "{what}: {required:?} not all in {keys:?}"
            );
        }
        let example = filled(example, &self.placeholders);
        let text = match example {
            Value::String(s) if content_type != "application/json" => s,
            other => other.to_string(),
        };
        let mut req = Request::builder()
            .method(Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap())
            .uri(uri)
            .header(header::CONTENT_TYPE, content_type);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let res = send(self.router, req.body(Body::from(text)).unwrap()).await;
        assert!(
            res.status.is_success(),
            "{what}: {} {}",
            res.status,
            res.json
        );
        self.sent
            .insert((method.to_ascii_uppercase(), path.to_owned()));
        res.json
    }
}

/// `value` with every string that names a placeholder replaced by its value.
fn filled(value: &Value, placeholders: &HashMap<&'static str, String>) -> Value {
    match value {
        Value::String(s) => Value::String(placeholders.get(s.as_str()).unwrap_or(s).clone()),
        Value::Array(items) => items.iter().map(|v| filled(v, placeholders)).collect(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), filled(v, placeholders)))
            .collect(),
        other => other.clone(),
    }
}

async fn put(
    router: &axum::Router,
    uri: &str,
    headers: &[(&str, &str)],
    body: &'static str,
) -> Answer {
    let mut req = Request::put(uri);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    send(router, req.body(Body::from(body)).unwrap()).await
}

/// The path and query of a URL the server handed out.
fn local(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest[rest.find('/').unwrap()..].to_owned()
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one scenario, in the order the examples need each other
async fn every_request_example_is_what_its_handler_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let router = router(dir.path()).await;
    let doc = document(&router).await;
    let admin = [("user-token", ADMIN)];
    let upload = |path: &str| {
        Request::post(format!("{KEY}/files/{path}"))
            .header("user-token", ADMIN)
            .body(Body::from("hello"))
            .unwrap()
    };
    assert!(send(&router, upload("docs/readme.txt"))
        .await
        .status
        .is_success());
    let mut ex = Examples {
        router: &router,
        doc: &doc,
        sent: BTreeSet::new(),
        placeholders: HashMap::new(),
    };

    // Backendless: copy, then move onto the copy's place once it is gone, then rename.
    let files = "/{app}/{key}/files";
    ex.send(
        "put",
        &format!("{files}/copy"),
        &format!("{KEY}/files/copy"),
        &admin,
    )
    .await;
    let gone =
        Request::delete(format!("{KEY}/files/archive/readme.txt")).header("user-token", ADMIN);
    assert!(send(&router, gone.body(Body::empty()).unwrap())
        .await
        .status
        .is_success());
    ex.send(
        "put",
        &format!("{files}/move"),
        &format!("{KEY}/files/move"),
        &admin,
    )
    .await;
    assert!(send(&router, upload("docs/readme.txt"))
        .await
        .status
        .is_success());
    ex.send(
        "put",
        &format!("{files}/rename"),
        &format!("{KEY}/files/rename"),
        &admin,
    )
    .await;
    assert!(send(&router, upload("docs/readme.txt"))
        .await
        .status
        .is_success());
    ex.send(
        "put",
        &format!("{files}/binary/{{rest}}"),
        &format!("{KEY}/files/binary/b64/hello.txt"),
        &admin,
    )
    .await;
    ex.send(
        "put",
        &format!("{files}/permissions/{{rest}}"),
        &format!("{KEY}/files/permissions/GRANT/docs%2Freadme.txt"),
        &admin,
    )
    .await;
    ex.send(
        "put",
        &format!("{files}/visibility/{{rest}}"),
        &format!("{KEY}/files/visibility/docs/readme.txt"),
        &admin,
    )
    .await;

    // Users.
    let users = "/{app}/{key}/users";
    ex.send(
        "post",
        &format!("{users}/register"),
        &format!("{KEY}/users/register"),
        &[],
    )
    .await;
    let login = ex
        .send(
            "post",
            &format!("{users}/login"),
            &format!("{KEY}/users/login"),
            &[],
        )
        .await;
    assert!(login["user-token"].is_string());
    ex.send(
        "post",
        &format!("{users}/assignRole"),
        &format!("{KEY}/users/assignRole"),
        &admin,
    )
    .await;
    ex.send(
        "post",
        &format!("{users}/unassignRole"),
        &format!("{KEY}/users/unassignRole"),
        &admin,
    )
    .await;

    // bkend.
    let bearer = format!("Bearer {ADMIN}");
    let v1 = [
        ("x-api-key", "demo-key"),
        ("authorization", bearer.as_str()),
    ];
    ex.send(
        "post",
        "/v1/files/presigned-url",
        "/v1/files/presigned-url",
        &v1,
    )
    .await;
    ex.send(
        "post",
        "/v1/files/download-url",
        "/v1/files/download-url",
        &v1,
    )
    .await;
    let record = ex.send("post", "/v1/files", "/v1/files", &v1).await;
    let id = record["id"].as_i64().unwrap();
    ex.send("patch", "/v1/files/{id}", &format!("/v1/files/{id}"), &v1)
        .await;
    let init = ex
        .send(
            "post",
            "/v1/files/multipart/init",
            "/v1/files/multipart/init",
            &v1,
        )
        .await;
    ex.placeholders
        .insert("UPLOAD_ID", init["uploadId"].as_str().unwrap().to_owned());
    ex.send(
        "post",
        "/v1/files/multipart/presigned-url",
        "/v1/files/multipart/presigned-url",
        &v1,
    )
    .await;
    ex.send(
        "post",
        "/v1/files/multipart/abort",
        "/v1/files/multipart/abort",
        &v1,
    )
    .await;
    // `complete`'s example names one part: a one-part upload of five bytes.
    let small = Request::post("/v1/files/multipart/init")
        .header("x-api-key", "demo-key")
        .header("authorization", bearer.as_str())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            r#"{"path": "/videos", "name": "small.bin", "size": 5}"#,
        ))
        .unwrap();
    let small = send(&router, small).await.json;
    let upload_id = small["uploadId"].as_str().unwrap().to_owned();
    let parts = Request::post("/v1/files/multipart/presigned-url")
        .header("x-api-key", "demo-key")
        .header("authorization", bearer.as_str())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(format!(
            r#"{{"uploadId": "{upload_id}", "partNumbers": [1]}}"#
        )))
        .unwrap();
    let parts = send(&router, parts).await.json;
    let part = put(
        &router,
        &local(parts["parts"][0]["url"].as_str().unwrap()),
        &[],
        "hello",
    )
    .await;
    assert!(part.status.is_success(), "{}", part.json);
    ex.placeholders.insert("UPLOAD_ID", upload_id);
    ex.placeholders
        .insert("ETAG", part.json["etag"].as_str().unwrap().to_owned());
    ex.send(
        "post",
        "/v1/files/multipart/complete",
        "/v1/files/multipart/complete",
        &v1,
    )
    .await;

    // Cognite: a record with content, read and changed, a multipart upload, then deleted.
    let cognite = "/api/v1/projects/{project}/files";
    let base = "/api/v1/projects/demo/files";
    let auth = [("authorization", bearer.as_str())];
    let created = ex.send("post", cognite, base, &auth).await;
    let content = put(
        &router,
        &local(created["uploadUrl"].as_str().unwrap()),
        &[],
        "%PDF-",
    )
    .await;
    assert!(content.status.is_success(), "{}", content.json);
    let again = format!("{base}/?overwrite=true");
    ex.send("post", &format!("{cognite}/"), &again, &auth).await;
    for op in [
        "byids",
        "list",
        "search",
        "aggregate",
        "update",
        "downloadlink",
    ] {
        ex.send(
            "post",
            &format!("{cognite}/{op}"),
            &format!("{base}/{op}"),
            &auth,
        )
        .await;
    }
    let init = ex
        .send(
            "post",
            &format!("{cognite}/initmultipartupload"),
            &format!("{base}/initmultipartupload?parts=1"),
            &auth,
        )
        .await;
    let part = put(
        &router,
        &local(init["uploadUrls"][0].as_str().unwrap()),
        &[],
        "bytes",
    )
    .await;
    assert!(part.status.is_success(), "{}", part.json);
    ex.placeholders
        .insert("UPLOAD_ID", init["uploadId"].as_str().unwrap().to_owned());
    ex.send(
        "post",
        &format!("{cognite}/completemultipartupload"),
        &format!("{base}/completemultipartupload"),
        &auth,
    )
    .await;
    ex.send(
        "post",
        &format!("{cognite}/delete"),
        &format!("{base}/delete"),
        &auth,
    )
    .await;

    // The test hooks.
    ex.send("post", "/v1/test/faults", "/v1/test/faults", &auth)
        .await;

    // No example was left out.
    let with_examples: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .filter(|(_, op)| {
            op["requestBody"]["content"]
                .as_object()
                .is_some_and(|c| c.values().any(|m| m.get("example").is_some()))
        })
        .map(|(k, _)| k)
        .collect();
    assert_eq!(with_examples, ex.sent);
}
