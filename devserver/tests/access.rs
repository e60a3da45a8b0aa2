//! The access matrix (issue #9): principals × files × operations → outcome, through
//! `app(state).oneshot(request)` against a fresh data directory and catalog (SQLite, or
//! PostgreSQL with `STOWAGE_TEST_DATABASE`). One table covers the Backendless paths, `/v1`
//! (bkend), Cognite, presigned URLs, listings and counts, and the test hooks; the tests after
//! it cover what a table row cannot (URLs that die, tokens that expire, the custom domain).
//!
//! The world, in the app `locked` (private defaults) unless a row says `demo` (open):
//! - users alice, bob, carol (role `editors`) and dave (role `securityCategory:7`);
//! - alice's files `/pub/a.txt` (public), `/priv/a.txt` (private), `/prot/a.txt` (protected),
//!   `/shared/a.txt` (shared with bob), `/plain/a.txt` (no visibility: rules decide);
//! - the admin's files `/team/doc.txt` (folder `/team`: READ and WRITE granted to role
//!   `editors`), `/team/secret/s.txt` (folder `/team/secret`: READ denied to role `*`),
//!   `/mixed/m.txt` (READ denied to role `AuthenticatedUser`, granted to user bob),
//!   `/mixed2/m.txt` (READ granted to role `AuthenticatedUser`, denied to user bob),
//!   `/star/s.txt` (READ granted to user `*`), `/both/b.txt` (READ granted to role `editors`
//!   and denied to role `AuthenticatedUser`), `/mine/admin.txt` (inside alice's `/mine`);
//! - a Cognite record with security category 7.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use stowage_devserver::{AppState, Config};
use tower::ServiceExt;

const ADMIN: &str = "test-admin-key-locked-0123456789abcdef";
const DEMO_ADMIN: &str = "test-admin-key-demo-0123456789abcdef";
const LOCKED: &str = "/locked/locked-key";
const PASSWORD: &str = "correct horse battery";

/// Who a request acts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    Anon,
    Admin,
    Alice,
    Bob,
    Carol,
    Dave,
}

use Who::{Admin, Alice, Anon, Bob, Carol, Dave};

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    json: Value,
    bytes: Vec<u8>,
}

impl Answer {
    fn code(&self) -> Option<u64> {
        self.json["code"].as_u64()
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = String::from_utf8_lossy(&self.bytes);
        write!(
            f,
            "{} {}",
            self.status,
            text.chars().take(300).collect::<String>()
        )
    }
}

struct World {
    router: axum::Router,
    /// The first (or only) server.
    state: AppState,
    tokens: HashMap<Who, String>,
    ids: HashMap<Who, String>,
    /// Record ids by path, and the Cognite record's id under "cognite".
    records: HashMap<String, i64>,
    _dir: tempfile::TempDir,
}

async fn state_with(
    dir: &std::path::Path,
    edit: impl FnOnce(&mut Config),
) -> (AppState, axum::Router) {
    let mut config = Config::for_tests(dir.join("data")).await.unwrap();
    config.apps = vec![
        "demo:demo-key:open".parse_app(),
        "locked:locked-key".parse_app(),
    ];
    config.admin_keys = vec![
        ("demo".into(), DEMO_ADMIN.into()),
        ("locked".into(), ADMIN.into()),
    ];
    config.unsafe_test_hooks = true;
    edit(&mut config);
    let (router, state) = stowage_devserver::testing::servers(&config, &dir.join("www"))
        .await
        .unwrap();
    (state, router)
}

/// Parses `--app` values the way the command line does.
trait ParseApp {
    fn parse_app(&self) -> stowage_devserver::config::AppCredentials;
}

impl ParseApp for &str {
    fn parse_app(&self) -> stowage_devserver::config::AppCredentials {
        use clap::Parser as _;
        Config::parse_from(["stowage-devserver", "--app", self])
            .apps
            .remove(0)
    }
}

async fn send(router: &axum::Router, req: Request<Body>) -> Answer {
    let res = router.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes().to_vec();
    Answer {
        status: parts.status,
        headers: parts.headers,
        json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        bytes,
    }
}

/// The path and query of a URL the server handed out.
fn local(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest[rest.find('/').unwrap()..].to_owned()
}

impl World {
    fn token(&self, who: Who) -> Option<String> {
        match who {
            Anon => None,
            Admin => Some(ADMIN.into()),
            other => Some(self.tokens[&other].clone()),
        }
    }

    /// A Backendless request as `who` (`user-token`).
    async fn bl(&self, who: Who, method: Method, rest: &str, body: Option<Value>) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{LOCKED}/{rest}"));
        if let Some(t) = self.token(who) {
            req = req.header("user-token", t);
        }
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        send(&self.router, req.body(body).unwrap()).await
    }

    /// A raw upload as `who`.
    async fn upload(&self, who: Who, path: &str, bytes: &'static [u8], overwrite: bool) -> Answer {
        let mut req = Request::post(format!("{LOCKED}/files/{path}?overwrite={overwrite}"));
        if let Some(t) = self.token(who) {
            req = req.header("user-token", t);
        }
        send(&self.router, req.body(Body::from(bytes)).unwrap()).await
    }

    /// A `/v1` request as `who` (`X-API-Key` and `Authorization: Bearer`).
    async fn v1(&self, who: Who, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("x-api-key", "locked-key");
        if let Some(t) = self.token(who) {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        send(&self.router, req.body(body).unwrap()).await
    }

    /// A Cognite request as `who` (the API key is the anonymous bearer).
    async fn cognite(&self, who: Who, op: &str, body: &Value) -> Answer {
        let bearer = self.token(who).unwrap_or_else(|| "locked-key".into());
        let req = Request::post(format!("/api/v1/projects/locked/files{op}"))
            .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        send(&self.router, req).await
    }

    /// A plain GET of a URL the server handed out, with no credentials at all.
    async fn fetch(&self, url: &str) -> Answer {
        let req = Request::get(local(url)).body(Body::empty()).unwrap();
        send(&self.router, req).await
    }

    async fn rule(&self, who: Who, kind: &str, path: &str, body: Value) -> Answer {
        let encoded = path.replace('/', "%2F");
        self.bl(
            who,
            Method::PUT,
            &format!("files/permissions/{kind}/{encoded}"),
            Some(body),
        )
        .await
    }

    async fn visibility(&self, who: Who, path: &str, body: Value) -> Answer {
        self.bl(
            who,
            Method::PUT,
            &format!("files/visibility/{path}"),
            Some(body),
        )
        .await
    }

    async fn listing(&self, who: Who, rest: &str) -> Vec<String> {
        let a = self.bl(who, Method::GET, rest, None).await;
        assert_eq!(a.status, StatusCode::OK, "{rest}: {a}");
        a.json
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["url"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn record_id(&self, path: &str) -> i64 {
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        let name = path.rsplit_once('/').map_or(path, |(_, n)| n);
        let a = self
            .v1(
                Admin,
                Method::GET,
                &format!("/v1/files?name={name}&limit=100"),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{a}");
        a.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["path"].as_str() == Some(&format!("/{path}"))
                    || (dir.is_empty() && r["name"] == name)
            })
            .and_then(|r| r["id"].as_i64())
            .unwrap_or_else(|| panic!("no record for {path}: {a}"))
    }
}

async fn register_and_login(router: &axum::Router, app: &str, name: &str) -> (String, String) {
    let email = format!("{name}@example.com");
    let req = Request::post(format!("{app}/users/register"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"email": email, "password": PASSWORD, "name": name}).to_string(),
        ))
        .unwrap();
    let a = send(router, req).await;
    assert_eq!(a.status, StatusCode::OK, "register {name}: {a}");
    let id = a.json["objectId"].as_str().unwrap().to_owned();
    let req = Request::post(format!("{app}/users/login"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"login": email.to_uppercase(), "password": PASSWORD}).to_string(),
        ))
        .unwrap();
    let a = send(router, req).await;
    assert_eq!(a.status, StatusCode::OK, "login {name}: {a}");
    assert_eq!(a.json["objectId"], id.as_str());
    (id, a.json["user-token"].as_str().unwrap().to_owned())
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let (state, router) = state_with(dir.path(), |_| {}).await;
    let mut w = World {
        router,
        state,
        tokens: HashMap::new(),
        ids: HashMap::new(),
        records: HashMap::new(),
        _dir: dir,
    };
    for (who, name) in [
        (Alice, "alice"),
        (Bob, "bob"),
        (Carol, "carol"),
        (Dave, "dave"),
    ] {
        let (id, token) = register_and_login(&w.router, LOCKED, name).await;
        w.ids.insert(who, id);
        w.tokens.insert(who, token);
    }
    for (who, role) in [(Carol, "editors"), (Dave, "securityCategory:7")] {
        let a = w
            .bl(
                Admin,
                Method::POST,
                "users/assignRole",
                Some(json!({"user": w.ids[&who], "roleName": role})),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "assignRole: {a}");
    }
    for (path, visibility) in [
        ("pub/a.txt", Some("public")),
        ("priv/a.txt", Some("private")),
        ("prot/a.txt", Some("protected")),
        ("shared/a.txt", Some("shared")),
        ("plain/a.txt", None),
        ("mine/own.txt", None),
    ] {
        let a = w.upload(Alice, path, b"alice's bytes", false).await;
        assert_eq!(a.status, StatusCode::OK, "alice uploads {path}: {a}");
        if let Some(v) = visibility {
            let mut body = json!({"visibility": v});
            if v == "shared" {
                body["sharedWith"] = json!([w.ids[&Bob]]);
            }
            let a = w.visibility(Alice, path, body).await;
            assert_eq!(a.status, StatusCode::OK, "visibility of {path}: {a}");
            assert_eq!(a.json["visibility"], v);
            assert_eq!(a.json["ownerId"], w.ids[&Alice].as_str());
        }
    }
    for path in [
        "team/doc.txt",
        "team/secret/s.txt",
        "mixed/m.txt",
        "mixed2/m.txt",
        "star/s.txt",
        "both/b.txt",
        "mine/admin.txt",
    ] {
        let a = w.upload(Admin, path, b"admin's bytes", false).await;
        assert_eq!(a.status, StatusCode::OK, "admin uploads {path}: {a}");
    }
    let bob = w.ids[&Bob].clone();
    for (kind, path, body) in [
        (
            "GRANT",
            "team",
            json!({"permission": "READ", "role": "editors"}),
        ),
        (
            "GRANT",
            "team",
            json!({"permission": "WRITE", "role": "editors"}),
        ),
        (
            "DENY",
            "team/secret",
            json!({"permission": "READ", "role": "*"}),
        ),
        (
            "DENY",
            "mixed",
            json!({"permission": "READ", "role": "AuthenticatedUser"}),
        ),
        ("GRANT", "mixed", json!({"permission": "READ", "user": bob})),
        (
            "GRANT",
            "mixed2",
            json!({"permission": "READ", "role": "AuthenticatedUser"}),
        ),
        ("DENY", "mixed2", json!({"permission": "READ", "user": bob})),
        ("GRANT", "star", json!({"permission": "READ", "user": "*"})),
        (
            "GRANT",
            "both",
            json!({"permission": "READ", "role": "editors"}),
        ),
        (
            "DENY",
            "both",
            json!({"permission": "READ", "role": "AuthenticatedUser"}),
        ),
    ] {
        let a = w.rule(Admin, kind, path, body).await;
        assert_eq!(a.status, StatusCode::OK, "rule on {path}: {a}");
    }
    let a = w
        .cognite(
            Admin,
            "",
            &json!({"name": "cat.txt", "securityCategories": [7]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a}");
    let id = a.json["id"].as_i64().unwrap();
    w.records.insert("cognite".into(), id);
    // Readable by any signed-in user, were it not for its category.
    let a = w
        .v1(
            Admin,
            Method::PATCH,
            &format!("/v1/files/{id}"),
            Some(json!({"visibility": "protected"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a}");
    for path in ["priv/a.txt", "pub/a.txt", "shared/a.txt", "prot/a.txt"] {
        let id = w.record_id(path).await;
        w.records.insert(path.into(), id);
    }
    w
}

/// One operation of the matrix.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// Backendless GET of the bytes.
    Read(&'static str),
    /// Backendless upload with overwrite.
    Overwrite(&'static str),
    /// Backendless upload of a new file.
    Create(&'static str),
    /// Backendless DELETE.
    Delete(&'static str),
    /// Backendless move into `/moved`.
    Move(&'static str),
    /// `?action=exists`: the answer expected, true or false.
    Exists(&'static str),
    /// bkend `GET /v1/files/{id}` of the record at this path.
    V1Get(&'static str),
    /// bkend `PATCH /v1/files/{id}` of its visibility to public.
    V1Publish(&'static str),
    /// bkend `DELETE /v1/files/{id}`.
    V1Delete(&'static str),
    /// Cognite `byids` of the record at this path ("cognite": the categorised record).
    CogniteGet(&'static str),
    /// Backendless rule: grant the caller READ on the path.
    GrantSelf(&'static str),
    /// `POST /v1/test/faults`.
    Hooks,
}

/// What a row expects: a status and, for errors, the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    /// `true`/`false` from exists.
    Says(bool),
    Refused(u16, u64),
}

const DENY: Outcome = Outcome::Refused(403, 4000);

impl World {
    async fn run(&self, who: Who, op: Op) -> (Outcome, String) {
        let a = match op {
            Op::Read(p) => self.bl(who, Method::GET, &format!("files/{p}"), None).await,
            Op::Overwrite(p) => self.upload(who, p, b"overwritten", true).await,
            Op::Create(p) => self.upload(who, p, b"new", false).await,
            Op::Delete(p) => {
                self.bl(who, Method::DELETE, &format!("files/{p}"), None)
                    .await
            }
            Op::Move(p) => {
                let body = json!({"sourcePath": format!("/{p}"), "targetPath": "/moved"});
                self.bl(who, Method::PUT, "files/move", Some(body)).await
            }
            Op::Exists(p) => {
                let a = self
                    .bl(who, Method::GET, &format!("files/{p}?action=exists"), None)
                    .await;
                if a.status == StatusCode::OK {
                    return (Outcome::Says(a.json == json!(true)), a.to_string());
                }
                a
            }
            Op::V1Get(p) => {
                let id = self.records[p];
                self.v1(who, Method::GET, &format!("/v1/files/{id}"), None)
                    .await
            }
            Op::V1Publish(p) => {
                let id = self.records[p];
                let body = json!({"visibility": "public"});
                self.v1(who, Method::PATCH, &format!("/v1/files/{id}"), Some(body))
                    .await
            }
            Op::V1Delete(p) => {
                let id = self.records[p];
                self.v1(who, Method::DELETE, &format!("/v1/files/{id}"), None)
                    .await
            }
            Op::CogniteGet(p) => {
                let body = json!({"items": [{"id": self.records[p]}]});
                let a = self.cognite(who, "/byids", &body).await;
                if a.status == StatusCode::OK {
                    return (Outcome::Ok, a.to_string());
                }
                // Cognite's envelope: the status is the code, and the message never confirms
                // that the file exists.
                assert_eq!(
                    a.json["error"]["message"],
                    "Resource not found. This may also be due to insufficient access rights.",
                    "{a}"
                );
                return (
                    Outcome::Refused(a.status.as_u16(), u64::from(a.status.as_u16())),
                    a.to_string(),
                );
            }
            Op::GrantSelf(p) => {
                let subject = match who {
                    Anon => "*".to_owned(),
                    Admin => "*".to_owned(),
                    other => self.ids[&other].clone(),
                };
                self.rule(
                    who,
                    "GRANT",
                    p,
                    json!({"permission": "READ", "user": subject}),
                )
                .await
            }
            Op::Hooks => {
                let mut req = Request::post("/v1/test/faults")
                    .header(header::CONTENT_TYPE, "application/json");
                if let Some(t) = self.token(who) {
                    req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
                }
                send(
                    &self.router,
                    req.body(Body::from(r#"{"rules": []}"#)).unwrap(),
                )
                .await
            }
        };
        let outcome = if a.status.is_success() {
            Outcome::Ok
        } else {
            Outcome::Refused(a.status.as_u16(), a.code().unwrap_or(0))
        };
        (outcome, a.to_string())
    }
}

/// Rows that change nothing: every principal can be asked in any order.
fn read_rows() -> Vec<(Who, Op, Outcome)> {
    use Outcome::{Ok, Says};
    let cat = Outcome::Refused(403, 403);
    vec![
        // public: anyone reads.
        (Anon, Op::Read("pub/a.txt"), Ok),
        (Bob, Op::Read("pub/a.txt"), Ok),
        // private: only the owner and the admin.
        (Anon, Op::Read("priv/a.txt"), DENY),
        (Bob, Op::Read("priv/a.txt"), DENY),
        (Carol, Op::Read("priv/a.txt"), DENY),
        (Alice, Op::Read("priv/a.txt"), Ok),
        (Admin, Op::Read("priv/a.txt"), Ok),
        // protected: any signed-in user.
        (Anon, Op::Read("prot/a.txt"), DENY),
        (Bob, Op::Read("prot/a.txt"), Ok),
        // shared with bob.
        (Bob, Op::Read("shared/a.txt"), Ok),
        (Carol, Op::Read("shared/a.txt"), DENY),
        (Anon, Op::Read("shared/a.txt"), DENY),
        // no visibility, no rule: the app's private defaults.
        (Anon, Op::Read("plain/a.txt"), DENY),
        (Bob, Op::Read("plain/a.txt"), DENY),
        (Alice, Op::Read("plain/a.txt"), Ok),
        // a folder's grant to a role passes down.
        (Carol, Op::Read("team/doc.txt"), Ok),
        (Alice, Op::Read("team/doc.txt"), DENY),
        // an inherited folder deny: the nearest folder decides before /team's grant.
        (Carol, Op::Read("team/secret/s.txt"), DENY),
        (Admin, Op::Read("team/secret/s.txt"), Ok),
        // a user grant beats a role deny at the same level…
        (Bob, Op::Read("mixed/m.txt"), Ok),
        (Alice, Op::Read("mixed/m.txt"), DENY),
        // …and a user deny beats a role grant.
        (Bob, Op::Read("mixed2/m.txt"), DENY),
        (Alice, Op::Read("mixed2/m.txt"), Ok),
        // within one class a deny beats a grant: carol has both roles.
        (Carol, Op::Read("both/b.txt"), DENY),
        // user `*` includes the anonymous user.
        (Anon, Op::Read("star/s.txt"), Ok),
        (Dave, Op::Read("star/s.txt"), Ok),
        // raw and encoded paths reach the same decision.
        (Bob, Op::Read("priv%2Fa.txt"), DENY),
        (Bob, Op::Read("priv/%61.txt"), DENY),
        (Anon, Op::Read("PRIV/a.txt"), Outcome::Refused(404, 6000)),
        // traversal past a folder rule is refused before any lookup.
        (
            Anon,
            Op::Read("star/../priv/a.txt"),
            Outcome::Refused(400, 6006),
        ),
        (
            Carol,
            Op::Read("team/secret/./s.txt"),
            Outcome::Refused(400, 6006),
        ),
        (
            Carol,
            Op::Read("team/%2e%2e/secret/s.txt"),
            Outcome::Refused(400, 6006),
        ),
        (
            Carol,
            Op::Read("team//secret/s.txt"),
            Outcome::Refused(400, 6006),
        ),
        // exists never confirms a file the caller may not read.
        (Anon, Op::Exists("priv/a.txt"), Says(false)),
        (Bob, Op::Exists("priv/a.txt"), Says(false)),
        (Alice, Op::Exists("priv/a.txt"), Says(true)),
        (Anon, Op::Exists("pub/a.txt"), Says(true)),
        // IDOR: a known id is no key.
        (Bob, Op::V1Get("priv/a.txt"), DENY),
        (Anon, Op::V1Get("priv/a.txt"), Outcome::Refused(401, 6021)),
        (Alice, Op::V1Get("priv/a.txt"), Ok),
        (Bob, Op::V1Get("shared/a.txt"), Ok),
        (Bob, Op::CogniteGet("priv/a.txt"), cat),
        (Anon, Op::CogniteGet("pub/a.txt"), Ok),
        // security categories: only a holder of every category (or the admin).
        (Dave, Op::CogniteGet("cognite"), Ok),
        (Alice, Op::CogniteGet("cognite"), cat),
        (Anon, Op::CogniteGet("cognite"), cat),
        (Admin, Op::CogniteGet("cognite"), Ok),
        // changing a permission needs that permission.
        (Alice, Op::GrantSelf("team/doc.txt"), DENY),
        (Anon, Op::GrantSelf("priv/a.txt"), DENY),
        (Bob, Op::GrantSelf("priv/a.txt"), DENY),
        // non-owners neither edit nor delete, whatever they may read.
        (Bob, Op::Overwrite("pub/a.txt"), DENY),
        (Anon, Op::Overwrite("pub/a.txt"), DENY),
        (Bob, Op::Delete("pub/a.txt"), DENY),
        (Bob, Op::Delete("shared/a.txt"), DENY),
        (Bob, Op::Move("pub/a.txt"), DENY),
        (Bob, Op::V1Publish("shared/a.txt"), DENY),
        (Bob, Op::V1Delete("shared/a.txt"), DENY),
        (Anon, Op::V1Delete("pub/a.txt"), Outcome::Refused(401, 6021)),
        // anonymous users create nothing in a private app; signed-in users may.
        (Anon, Op::Create("anon/new.txt"), DENY),
        // a folder that grants WRITE to a role lets its holders write there.
        (Alice, Op::Create("team/alice.txt"), Ok),
        // a subtree op refuses as a whole, naming what blocked it.
        (Alice, Op::Delete("mine"), Outcome::Refused(403, 6023)),
        (Alice, Op::Move("mine"), Outcome::Refused(403, 6023)),
        // the test hooks answer only an admin key.
        (Anon, Op::Hooks, DENY),
        (Alice, Op::Hooks, DENY),
        (Admin, Op::Hooks, Ok),
    ]
}

/// Rows that change the world, run in order after the others.
fn write_rows() -> Vec<(Who, Op, Outcome)> {
    use Outcome::Ok;
    vec![
        (Carol, Op::Overwrite("team/doc.txt"), Ok),
        (Alice, Op::Overwrite("pub/a.txt"), Ok),
        (Alice, Op::V1Publish("priv/a.txt"), Ok),
        (Anon, Op::Read("priv/a.txt"), Ok),
        (Bob, Op::Create("bob/new.txt"), Ok),
        (Alice, Op::Read("bob/new.txt"), DENY),
        (Bob, Op::Read("bob/new.txt"), Ok),
        (Bob, Op::Delete("bob/new.txt"), Ok),
        (Alice, Op::Delete("mine/own.txt"), Ok),
        (Admin, Op::Delete("mine"), Ok),
        (Alice, Op::V1Delete("shared/a.txt"), Ok),
        (Bob, Op::Read("shared/a.txt"), Outcome::Refused(404, 6000)),
    ]
}

#[tokio::test]
async fn the_access_matrix_holds() {
    let w = world().await;
    let reads = read_rows();
    let writes = write_rows();
    let mut failures = Vec::new();
    for (who, op, expected) in reads.iter().chain(writes.iter()) {
        let (got, answer) = w.run(*who, *op).await;
        if got != *expected {
            failures.push(format!(
                "{who:?} {op:?}: expected {expected:?}, got {got:?}: {answer}"
            ));
        }
    }
    let rows = reads.len() + writes.len();
    let denials = reads
        .iter()
        .chain(writes.iter())
        .filter(|(_, _, o)| matches!(o, Outcome::Refused(..) | Outcome::Says(false)))
        .count();
    eprintln!("access matrix: {rows} rows, {denials} refusals");
    assert!(
        failures.is_empty(),
        "{} of {rows} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Nothing a refused row tried may have happened.
    assert_eq!(
        w.upload(Admin, "anon/new.txt", b"x", false).await.status,
        StatusCode::OK
    );
    let a = w
        .bl(Admin, Method::GET, "files/moved?action=exists", None)
        .await;
    assert_eq!(a.json, json!(false), "a refused move moved something: {a}");
}

#[tokio::test]
async fn listings_and_counts_leak_nothing() {
    let w = world().await;
    let all = w.listing(Admin, "files/?sub=true&pagesize=1000").await;
    assert!(all.contains(&"priv/a.txt".to_owned()), "{all:?}");
    for (who, must_see, must_not_see) in [
        (
            Anon,
            vec!["pub/a.txt", "star/s.txt"],
            vec!["priv/a.txt", "prot/a.txt", "plain/a.txt", "team/doc.txt"],
        ),
        (
            Bob,
            vec!["pub/a.txt", "prot/a.txt", "shared/a.txt", "mixed/m.txt"],
            vec!["priv/a.txt", "plain/a.txt", "mixed2/m.txt", "team/doc.txt"],
        ),
        (
            Carol,
            vec!["team/doc.txt", "prot/a.txt"],
            vec!["team/secret/s.txt", "shared/a.txt", "priv/a.txt"],
        ),
    ] {
        let seen = w.listing(who, "files/?sub=true&pagesize=1000").await;
        for p in must_see {
            assert!(seen.contains(&p.to_owned()), "{who:?} misses {p}: {seen:?}");
        }
        for p in must_not_see {
            assert!(!seen.contains(&p.to_owned()), "{who:?} sees {p}: {seen:?}");
        }
        // Every name seen is readable, and the count agrees with the listing.
        for p in seen.iter().filter(|p| p.ends_with(".txt")) {
            let a = w.bl(who, Method::GET, &format!("files/{p}"), None).await;
            assert_eq!(
                a.status,
                StatusCode::OK,
                "{who:?} lists {p} but cannot read it: {a}"
            );
        }
        let count = w
            .bl(
                who,
                Method::GET,
                "files/?action=count&sub=true&countDirectories=true",
                None,
            )
            .await;
        assert_eq!(
            count.json,
            json!(seen.len()),
            "{who:?}: count {count} vs {seen:?}"
        );
        // Pages of one: the same names, in the same order, and no page is empty before the end.
        let mut paged = Vec::new();
        let mut cursor = String::new();
        loop {
            let a = w
                .bl(
                    who,
                    Method::GET,
                    &format!("files/?sub=true&pagesize=1{cursor}"),
                    None,
                )
                .await;
            let page: Vec<String> = a
                .json
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["url"].as_str().unwrap().to_owned())
                .collect();
            paged.extend(page.clone());
            match a.headers.get("stowage-next-cursor") {
                Some(c) => {
                    assert_eq!(page.len(), 1, "{who:?}: a short page before the end");
                    cursor = format!("&cursor={}", c.to_str().unwrap());
                }
                None => break,
            }
        }
        assert_eq!(paged, seen, "{who:?}: paged listing differs");
        // Offsets count visible entries only.
        let a = w
            .bl(
                who,
                Method::GET,
                "files/?sub=true&pagesize=2&offset=1",
                None,
            )
            .await;
        let page: Vec<String> = a
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["url"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            page,
            seen[1..seen.len().min(3)].to_vec(),
            "{who:?}: offset page"
        );
    }
    // A directory the caller may not read is not listed at all.
    let a = w.bl(Carol, Method::GET, "files/team/secret/", None).await;
    assert_eq!((a.status.as_u16(), a.code()), (403, Some(4000)), "{a}");
    // bkend and Cognite listings filter the same way.
    let a = w.v1(Bob, Method::GET, "/v1/files?limit=100", None).await;
    let names: Vec<&str> = a.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["path"].as_str())
        .collect();
    assert!(
        names.contains(&"/shared/a.txt") && !names.contains(&"/priv/a.txt"),
        "{names:?}"
    );
    let a = w.cognite(Alice, "/list", &json!({"limit": 1000})).await;
    let ids: Vec<i64> = a.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .collect();
    assert!(
        !ids.contains(&w.records["cognite"]),
        "alice lists the categorised record"
    );
    let a = w.cognite(Alice, "/aggregate", &json!({})).await;
    let a_count = a.json["items"][0]["count"].as_u64();
    let a = w.cognite(Admin, "/aggregate", &json!({})).await;
    assert!(
        a_count < a.json["items"][0]["count"].as_u64(),
        "aggregate counts leak"
    );
}

#[tokio::test]
async fn presigned_urls_die_with_a_visibility_change_a_revocation_a_deletion_and_expiry() {
    let w = world().await;
    let link = |who: Who, path: &'static str, expires: Option<u64>| {
        let w = &w;
        async move {
            let mut body = json!({"path": format!("/{path}")});
            if let Some(s) = expires {
                body["expiresIn"] = json!(s);
            }
            let a = w
                .v1(who, Method::POST, "/v1/files/download-url", Some(body))
                .await;
            assert_eq!(a.status, StatusCode::OK, "{a}");
            a.json["url"].as_str().unwrap().to_owned()
        }
    };
    // A URL is authorized when it is signed: bob may not get one for a private file.
    let a = w
        .v1(
            Bob,
            Method::POST,
            "/v1/files/download-url",
            Some(json!({"path": "/priv/a.txt"})),
        )
        .await;
    assert_eq!((a.status.as_u16(), a.code()), (403, Some(4000)), "{a}");
    // Visibility change: public → private kills alice's URL, even back to public.
    let url = link(Alice, "pub/a.txt", None).await;
    assert_eq!(w.fetch(&url).await.bytes, b"alice's bytes");
    assert_eq!(
        w.visibility(Alice, "pub/a.txt", json!({"visibility": "private"}))
            .await
            .status,
        StatusCode::OK
    );
    let a = w.fetch(&url).await;
    assert_eq!((a.status.as_u16(), a.code()), (403, Some(4000)), "{a}");
    assert_eq!(
        w.visibility(Alice, "pub/a.txt", json!({"visibility": "public"}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        w.fetch(&url).await.status.as_u16(),
        403,
        "the epoch moved on"
    );
    // Revocation of a share kills bob's URL.
    let url = link(Bob, "shared/a.txt", None).await;
    assert_eq!(w.fetch(&url).await.status, StatusCode::OK);
    assert_eq!(
        w.visibility(Alice, "shared/a.txt", json!({"sharedWith": []}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(w.fetch(&url).await.status.as_u16(), 403);
    // A rule change on the file kills it too; on a folder, the URL is decided again.
    let url = link(Carol, "team/doc.txt", None).await;
    assert_eq!(w.fetch(&url).await.status, StatusCode::OK);
    let a = w
        .rule(
            Admin,
            "DENY",
            "team",
            json!({"permission": "READ", "user": w.ids[&Carol]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a}");
    assert_eq!(
        w.fetch(&url).await.status.as_u16(),
        403,
        "a folder deny reaches outstanding URLs"
    );
    // Deletion, then a new file at the same path: the old URL stays dead.
    let url = link(Alice, "plain/a.txt", None).await;
    assert_eq!(
        w.bl(Alice, Method::DELETE, "files/plain/a.txt", None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(w.fetch(&url).await.status.as_u16(), 404);
    assert_eq!(
        w.upload(Alice, "plain/a.txt", b"other bytes", false)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(w.fetch(&url).await.status.as_u16(), 403);
    // Used for another file: the signature covers the path.
    let url = link(Alice, "priv/a.txt", None).await;
    let other = url.replace("/priv/a.txt", "/prot/a.txt");
    let a = w.fetch(&other).await;
    assert_eq!((a.status.as_u16(), a.code()), (403, Some(7003)), "{a}");
    // Expiry.
    let url = link(Alice, "priv/a.txt", Some(1)).await;
    assert_eq!(w.fetch(&url).await.status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let a = w.fetch(&url).await;
    assert_eq!((a.status.as_u16(), a.code()), (403, Some(7002)), "{a}");
    // Cognite's download links and upload URLs are bound the same way.
    let id = w.records["prot/a.txt"];
    let a = w
        .cognite(Bob, "/downloadlink", &json!({"items": [{"id": id}]}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a}");
    let url = a.json["items"][0]["downloadUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(w.fetch(&url).await.status, StatusCode::OK);
    assert_eq!(
        w.visibility(Alice, "prot/a.txt", json!({"visibility": "private"}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(w.fetch(&url).await.status.as_u16(), 403);
}

#[tokio::test]
async fn logged_out_and_expired_tokens_are_refused_never_anonymous() {
    let dir = tempfile::tempdir().unwrap();
    let (_, router) = state_with(dir.path(), |c| c.token_ttl = 1).await;
    let (_, token) = register_and_login(&router, LOCKED, "erin").await;
    let get = |token: &str, uri: &str| {
        Request::get(uri.to_owned())
            .header("user-token", token)
            .body(Body::empty())
            .unwrap()
    };
    let valid = |t: &str| format!("{LOCKED}/users/isvalidusertoken/{t}");
    assert_eq!(
        send(&router, get(&token, &valid(&token))).await.json,
        json!(true)
    );
    assert_eq!(
        send(&router, get(&token, &format!("{LOCKED}/files/")))
            .await
            .status,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    for uri in [
        format!("{LOCKED}/files/"),
        format!("{LOCKED}/files/pub/a.txt"),
    ] {
        let a = send(&router, get(&token, &uri)).await;
        assert_eq!(
            (a.status.as_u16(), a.code()),
            (401, Some(3064)),
            "expired on {uri}: {a}"
        );
    }
    assert_eq!(
        send(&router, get(&token, &valid(&token))).await.json,
        json!(false)
    );
    // Logged out: on every shape.
    let w = world().await;
    let token = w.tokens[&Bob].clone();
    let a = w.bl(Bob, Method::GET, "users/logout", None).await;
    assert_eq!(a.status, StatusCode::OK, "{a}");
    let a = w.bl(Bob, Method::GET, "files/pub/a.txt", None).await;
    assert_eq!((a.status.as_u16(), a.code()), (401, Some(3064)), "{a}");
    let a = w.v1(Bob, Method::GET, "/v1/files", None).await;
    assert_eq!((a.status.as_u16(), a.code()), (401, Some(3064)), "{a}");
    assert_eq!(a.json["error"]["code"], "common/authentication-required");
    let a = w.cognite(Bob, "/list", &json!({})).await;
    assert_eq!(a.status.as_u16(), 401, "{a}");
    let a = w.bl(Bob, Method::GET, "users/logout", None).await;
    assert_eq!(a.code(), Some(3064), "a second logout: {a}");
    assert_eq!(
        w.bl(
            Anon,
            Method::GET,
            &format!("users/isvalidusertoken/{token}"),
            None
        )
        .await
        .json,
        json!(false)
    );
    // A made-up token is not anonymous either.
    let a = send(
        &w.router,
        get(&"ab".repeat(32), &format!("{LOCKED}/files/pub/a.txt")),
    )
    .await;
    assert_eq!(a.code(), Some(3064), "{a}");
}

#[tokio::test]
async fn users_register_once_and_logins_are_limited() {
    let w = world().await;
    // The login limit is per server (docs/deploy.md): one server takes every attempt here.
    let one = stowage_devserver::app(w.state.clone(), std::path::Path::new("www"));
    let req = |path: &str, body: Value| {
        Request::post(format!("{LOCKED}/users/{path}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let a = send(
        &one,
        req(
            "register",
            json!({"email": "ALICE@example.com", "password": PASSWORD}),
        ),
    )
    .await;
    assert_eq!((a.status.as_u16(), a.code()), (409, Some(3033)), "{a}");
    let a = send(
        &one,
        req(
            "register",
            json!({"email": "short@example.com", "password": "1234567"}),
        ),
    )
    .await;
    assert_eq!((a.status.as_u16(), a.code()), (400, Some(8007)), "{a}");
    let a = send(
        &one,
        req(
            "register",
            json!({"email": "not an email", "password": PASSWORD}),
        ),
    )
    .await;
    assert_eq!(a.status.as_u16(), 400, "{a}");
    // Users are per app: alice of `locked` is unknown to `demo`.
    let a = send(
        &one,
        Request::post("/demo/demo-key/users/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"login": "alice@example.com", "password": PASSWORD}).to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!((a.status.as_u16(), a.code()), (401, Some(3003)), "{a}");
    for i in 0..10 {
        let a = send(
            &one,
            req(
                "login",
                json!({"login": "carol@example.com", "password": format!("wrong {i}")}),
            ),
        )
        .await;
        assert_eq!(
            (a.status.as_u16(), a.code()),
            (401, Some(3003)),
            "attempt {i}: {a}"
        );
    }
    // The 11th attempt is refused even with the right password, and says when to come back.
    let a = send(
        &one,
        req(
            "login",
            json!({"login": "carol@example.com", "password": PASSWORD}),
        ),
    )
    .await;
    assert_eq!((a.status.as_u16(), a.code()), (429, Some(6022)), "{a}");
    let wait: u64 = a.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&wait), "Retry-After {wait}");
    // Another account is not locked out by carol's.
    let a = send(
        &one,
        req(
            "login",
            json!({"login": "dave@example.com", "password": PASSWORD}),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{a}");
    // Roles: assigned by the admin only.
    let a = w
        .bl(
            Bob,
            Method::POST,
            "users/assignRole",
            Some(json!({"user": w.ids[&Bob], "roleName": "editors"})),
        )
        .await;
    assert_eq!(a.code(), Some(4000), "{a}");
    let a = w.bl(Carol, Method::GET, "users/userroles", None).await;
    assert_eq!(a.json, json!(["AuthenticatedUser", "editors"]), "{a}");
    let a = w.bl(Anon, Method::GET, "users/userroles", None).await;
    assert_eq!(a.json, json!(["NotAuthenticatedUser"]), "{a}");
}

#[tokio::test]
async fn a_public_url_alone_grants_only_what_anonymous_may() {
    let w = world().await;
    let a = w.upload(Alice, "pub/b.txt", b"public bytes", false).await;
    let url = a.json["fileURL"].as_str().unwrap().to_owned();
    assert!(
        !url.contains(ADMIN) && !url.contains(&w.tokens[&Alice]),
        "{url}"
    );
    assert_eq!(
        w.visibility(Alice, "pub/b.txt", json!({"visibility": "public"}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(w.fetch(&url).await.bytes, b"public bytes");
    // What the URL's key opens: nothing but what the anonymous user may.
    let root = local(&url);
    let root = root.split("/files/").next().unwrap().to_owned();
    let try_ = |method: Method, path: String, body: Option<Value>| {
        let router = w.router.clone();
        async move {
            let mut req = Request::builder().method(method).uri(path);
            if body.is_some() {
                req = req.header(header::CONTENT_TYPE, "application/json");
            }
            let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
            send(&router, req.body(body).unwrap()).await
        }
    };
    let listing = try_(Method::GET, format!("{root}/files/?sub=true"), None).await;
    let names: Vec<&str> = listing
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["url"].as_str())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.contains("priv") || n.contains("plain")),
        "{names:?}"
    );
    assert_eq!(
        try_(Method::GET, format!("{root}/files/priv/a.txt"), None)
            .await
            .status
            .as_u16(),
        403
    );
    assert_eq!(
        try_(
            Method::POST,
            format!("{root}/files/pub/b.txt?overwrite=true"),
            None
        )
        .await
        .status
        .as_u16(),
        403
    );
    assert_eq!(
        try_(Method::DELETE, format!("{root}/files/pub"), None)
            .await
            .status
            .as_u16(),
        403
    );
    let moved = try_(
        Method::PUT,
        format!("{root}/files/move"),
        Some(json!({"sourcePath": "/shared/a.txt", "targetPath": "/mine"})),
    )
    .await;
    assert_eq!(moved.status.as_u16(), 403, "{moved}");
    // The key as X-API-Key on /v1: the anonymous user again.
    let a = w
        .v1(
            Anon,
            Method::POST,
            "/v1/files/presigned-url",
            Some(json!({"path": "/", "name": "x.txt", "size": 1})),
        )
        .await;
    assert_eq!(
        (a.status.as_u16(), a.json["error"]["code"].as_str()),
        (401, Some("common/authentication-required")),
        "{a}"
    );
    let a = w
        .v1(
            Anon,
            Method::DELETE,
            &format!("/v1/files/{}", w.records["pub/a.txt"]),
            None,
        )
        .await;
    assert_eq!(a.status.as_u16(), 401, "{a}");
}

#[tokio::test]
async fn the_custom_domain_serves_readable_files_and_lists_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_, router) = state_with(dir.path(), |c| {
        c.apps.reverse(); // `locked` first: the custom domain serves it
        c.public_url = Some("https://files.example.com".into());
    })
    .await;
    let (_, token) = register_and_login(&router, LOCKED, "frank").await;
    for (path, vis) in [("open/p.txt", "public"), ("closed/c.txt", "private")] {
        let req = Request::post(format!("{LOCKED}/files/{path}"))
            .header("user-token", &token)
            .body(Body::from("x"))
            .unwrap();
        assert_eq!(send(&router, req).await.status, StatusCode::OK);
        let req = Request::put(format!("{LOCKED}/files/visibility/{path}"))
            .header("user-token", &token)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"visibility": vis}).to_string()))
            .unwrap();
        assert_eq!(send(&router, req).await.status, StatusCode::OK);
    }
    let on_domain = |uri: &str| {
        Request::get(uri.to_owned())
            .header(header::HOST, "files.example.com")
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&router, on_domain("/open/p.txt")).await.bytes, b"x");
    assert_eq!(
        send(&router, on_domain("/closed/c.txt"))
            .await
            .status
            .as_u16(),
        403
    );
    for uri in [
        "/?sub=true",
        "/",
        "/open/",
        "/open/?action=count",
        "/closed/c.txt?action=exists",
    ] {
        let a = send(&router, on_domain(uri)).await;
        assert_eq!(a.status.as_u16(), 404, "{uri} on the custom domain: {a}");
    }
}

#[tokio::test]
async fn a_web_host_serves_the_apps_web_directory_with_index_pages_and_its_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let (_, router) = state_with(dir.path(), |c| {
        c.web_hosts = vec![("locked".into(), "site.example.com".into())];
    })
    .await;
    let (_, token) = register_and_login(&router, LOCKED, "gina").await;
    for (path, body, vis) in [
        ("web/index.html", "<h1>home</h1>", "public"),
        ("web/docs/index.html", "<h1>docs</h1>", "public"),
        ("web/docs/st%C3%BCck.css", "body{}", "public"),
        ("web/draft.html", "draft", "private"),
        ("outside.txt", "not in web", "public"),
    ] {
        let req = Request::post(format!("{LOCKED}/files/{path}"))
            .header("user-token", &token)
            .body(Body::from(body))
            .unwrap();
        assert_eq!(send(&router, req).await.status, StatusCode::OK, "{path}");
        let req = Request::put(format!("{LOCKED}/files/visibility/{path}"))
            .header("user-token", &token)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"visibility": vis}).to_string()))
            .unwrap();
        assert_eq!(send(&router, req).await.status, StatusCode::OK, "{path}");
    }
    let on_site = |method: &str, uri: &str| {
        Request::builder()
            .method(method)
            .uri(uri.to_owned())
            .header(header::HOST, "Site.Example.com")
            .body(Body::empty())
            .unwrap()
    };
    for (uri, body) in [
        ("/", "<h1>home</h1>"),
        ("/docs/", "<h1>docs</h1>"),
        ("/docs/st%C3%BCck.css", "body{}"),
    ] {
        let a = send(&router, on_site("GET", uri)).await;
        assert_eq!(
            (a.status, a.bytes.as_slice()),
            (StatusCode::OK, body.as_bytes()),
            "{uri}: {a}"
        );
    }
    let css = send(&router, on_site("GET", "/docs/st%C3%BCck.css")).await;
    assert!(css.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    // The anonymous user's permissions: a private page is refused to the site's visitors.
    assert_eq!(
        send(&router, on_site("GET", "/draft.html"))
            .await
            .status
            .as_u16(),
        403
    );
    // Nothing outside web/, no listings, no writes.
    // A query reaches no file route: a directory answers its index page, never a listing.
    for uri in ["/?sub=true", "/docs/?action=count"] {
        let a = send(&router, on_site("GET", uri)).await;
        assert!(a.bytes.starts_with(b"<h1>"), "{uri} on the site: {a}");
    }
    for uri in ["/../outside.txt", "/%2E%2E/outside.txt", "/docs"] {
        let a = send(&router, on_site("GET", uri)).await;
        assert!(
            a.status.is_client_error() && a.bytes != b"not in web",
            "{uri} on the site: {a}"
        );
    }
    assert_eq!(
        send(&router, on_site("DELETE", "/index.html"))
            .await
            .status
            .as_u16(),
        405
    );
    assert_eq!(
        send(&router, on_site("GET", "/index.html")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_open_demo_app_lets_anonymous_users_upload_read_and_delete() {
    let w = world().await;
    let req = Request::post("/demo/demo-key/files/d/x.txt")
        .body(Body::from("demo"))
        .unwrap();
    assert_eq!(send(&w.router, req).await.status, StatusCode::OK);
    let req = Request::get("/demo/demo-key/files/d/x.txt")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&w.router, req).await.bytes, b"demo");
    let req = Request::delete("/demo/demo-key/files/d")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&w.router, req).await.status, StatusCode::OK);
    // …but a demo-app admin key is not the locked app's.
    let req = Request::get(format!("{LOCKED}/files/priv/a.txt"))
        .header("user-token", DEMO_ADMIN)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&w.router, req).await.code(), Some(3064));
}

#[tokio::test]
async fn cors_origins_restrict_browsers_when_given_and_no_cookie_is_ever_set() {
    let dir = tempfile::tempdir().unwrap();
    let (_, router) = state_with(dir.path(), |c| {
        c.cors_origins = vec!["https://app.example.com".into()];
    })
    .await;
    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri(format!("{LOCKED}/files/x.txt"))
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "user-token")
            .body(Body::empty())
            .unwrap()
    };
    let a = send(&router, preflight("https://app.example.com")).await;
    assert_eq!(
        a.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example.com"
    );
    let a = send(&router, preflight("https://evil.example.com")).await;
    assert!(
        a.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(),
        "{:?}",
        a.headers
    );
    // Tokens travel in headers only: a login sets no cookie, and credentials are never allowed.
    let (_, _) = register_and_login(&router, LOCKED, "gina").await;
    let req = Request::post(format!("{LOCKED}/users/login"))
        .header(header::ORIGIN, "https://app.example.com")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"login": "gina@example.com", "password": PASSWORD}).to_string(),
        ))
        .unwrap();
    let a = send(&router, req).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.headers.get(header::SET_COOKIE).is_none());
    assert!(a
        .headers
        .get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
        .is_none());
}

#[tokio::test]
async fn a_multipart_upload_belongs_to_who_started_it() {
    let w = world().await;
    let a = w
        .v1(
            Anon,
            Method::POST,
            "/v1/files/multipart/init",
            Some(json!({"path": "/up", "name": "m.bin", "size": 5})),
        )
        .await;
    assert_eq!(
        a.status.as_u16(),
        401,
        "anonymous init in a private app: {a}"
    );
    let a = w
        .v1(
            Alice,
            Method::POST,
            "/v1/files/multipart/init",
            Some(json!({"path": "/up", "name": "m.bin", "size": 5})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a}");
    let id = a.json["uploadId"].as_str().unwrap().to_owned();
    // Another user cannot see, sign, complete or abort it: it does not exist for them.
    for (path, body) in [
        (
            "/v1/files/multipart/presigned-url",
            json!({"uploadId": id, "partNumbers": [1]}),
        ),
        (
            "/v1/files/multipart/complete",
            json!({"uploadId": id, "parts": []}),
        ),
        ("/v1/files/multipart/abort", json!({"uploadId": id})),
    ] {
        let a = w.v1(Bob, Method::POST, path, Some(body)).await;
        assert_eq!(
            (a.status.as_u16(), a.code()),
            (404, Some(7004)),
            "bob {path}: {a}"
        );
    }
    let a = w
        .v1(Bob, Method::GET, &format!("/v1/files/multipart/{id}"), None)
        .await;
    assert_eq!(a.status.as_u16(), 404, "{a}");
    let a = w
        .v1(
            Alice,
            Method::POST,
            "/v1/files/multipart/presigned-url",
            Some(json!({"uploadId": id, "partNumbers": [1]})),
        )
        .await;
    let url = a.json["parts"][0]["url"].as_str().unwrap().to_owned();
    let put = Request::put(local(&url)).body(Body::from("12345")).unwrap();
    let put = send(&w.router, put).await;
    assert_eq!(put.status, StatusCode::OK, "{put}");
    let etag = put.headers[header::ETAG].to_str().unwrap().to_owned();
    let a = w
        .v1(
            Alice,
            Method::POST,
            "/v1/files/multipart/complete",
            Some(json!({"uploadId": id, "parts": [{"partNumber": 1, "etag": etag}]})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a}");
    // The file is alice's: she reads it, bob does not.
    assert_eq!(
        w.bl(Alice, Method::GET, "files/up/m.bin", None).await.bytes,
        b"12345"
    );
    assert_eq!(
        w.bl(Bob, Method::GET, "files/up/m.bin", None)
            .await
            .status
            .as_u16(),
        403
    );
    let listed = w.bl(Alice, Method::GET, "files/up/", None).await;
    assert_eq!(
        listed.json[0]["ownerId"],
        w.ids[&Alice].as_str(),
        "{listed}"
    );
}

#[tokio::test]
async fn a_presigned_upload_writes_as_its_signer() {
    let w = world().await;
    let a = w
        .v1(
            Bob,
            Method::POST,
            "/v1/files/presigned-url",
            Some(json!({"path": "/bob", "name": "p.txt", "size": 3})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a}");
    let url = a.json["url"].as_str().unwrap().to_owned();
    let put = send(
        &w.router,
        Request::put(local(&url)).body(Body::from("abc")).unwrap(),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{put}");
    let listed = w.bl(Bob, Method::GET, "files/bob/", None).await;
    assert_eq!(listed.json[0]["ownerId"], w.ids[&Bob].as_str(), "{listed}");
    // A signer who may no longer write there: a deny on the folder stops the URL it signed.
    let a = w
        .v1(
            Bob,
            Method::POST,
            "/v1/files/presigned-url",
            Some(json!({"path": "/bob", "name": "q.txt", "size": 3})),
        )
        .await;
    let url = a.json["url"].as_str().unwrap().to_owned();
    let a = w
        .rule(
            Admin,
            "DENY",
            "bob",
            json!({"permission": "WRITE", "user": w.ids[&Bob]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a}");
    let put = send(
        &w.router,
        Request::put(local(&url)).body(Body::from("abc")).unwrap(),
    )
    .await;
    assert_eq!(
        (put.status.as_u16(), put.code()),
        (403, Some(4000)),
        "{put}"
    );
}

#[tokio::test]
async fn a_listing_reads_a_bounded_number_of_records_it_may_not_show() {
    let w = world().await;
    // 2,100 records the anonymous user may not read (more than one request looks at), made
    // 25 at a time, then one it may read after them by path.
    let names: Vec<String> = (0..2100).map(|i| format!("hidden-{i:05}.txt")).collect();
    for chunk in names.chunks(25) {
        let bodies: Vec<Value> = chunk
            .iter()
            .map(|n| json!({"name": n, "directory": "/many"}))
            .collect();
        let made = bodies.iter().map(|b| w.cognite(Admin, "", b));
        for a in futures_util::future::join_all(made).await {
            assert_eq!(a.status, StatusCode::CREATED, "{a}");
        }
    }
    let a = w.upload(Alice, "many/zz-public.txt", b"z", false).await;
    assert_eq!(a.status, StatusCode::OK, "{a}");
    let a = w
        .visibility(Alice, "many/zz-public.txt", json!({"visibility": "public"}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a}");
    let mut requests = 0;
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        requests += 1;
        assert!(requests < 10, "the listing never ended");
        let a = w
            .bl(
                Anon,
                Method::GET,
                &format!("files/?sub=true&pagesize=10{cursor}"),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{a}");
        seen.extend(
            a.json
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["url"].as_str().unwrap().to_owned()),
        );
        match a.headers.get("stowage-next-cursor") {
            Some(c) => cursor = format!("&cursor={}", c.to_str().unwrap()),
            None => break,
        }
    }
    // `/star` is readable itself: its rule is on its own record too.
    assert_eq!(
        seen,
        ["many/zz-public.txt", "pub/a.txt", "star", "star/s.txt"]
    );
    assert!(requests >= 2, "one request read all 2,100 records");
}

#[tokio::test]
async fn an_open_app_lists_in_sql_until_something_is_hidden_then_filters() {
    let w = world().await;
    let demo = "/demo/demo-key";
    let (_, token) = register_and_login(&w.router, demo, "hana").await;
    let get = |uri: String, token: Option<&str>| {
        let mut req = Request::get(uri);
        if let Some(t) = token {
            req = req.header("user-token", t);
        }
        req.body(Body::empty()).unwrap()
    };
    for name in ["a.txt", "b.txt", "c.txt"] {
        let req = Request::post(format!("{demo}/files/o/{name}"))
            .header("user-token", &token)
            .body(Body::from("x"))
            .unwrap();
        assert_eq!(send(&w.router, req).await.status, StatusCode::OK);
    }
    let names = |a: &Answer| -> Vec<String> {
        a.json
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let count = format!("{demo}/files/o/?action=count");
    let list = format!("{demo}/files/o/?pagesize=1&offset=1");
    assert_eq!(
        send(&w.router, get(count.clone(), None)).await.json,
        json!(3)
    );
    assert_eq!(
        names(&send(&w.router, get(list.clone(), None)).await),
        ["b.txt"]
    );
    // One private file: the anonymous user's listing, offsets and count skip it at once.
    let req = Request::put(format!("{demo}/files/visibility/o/a.txt"))
        .header("user-token", &token)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"visibility": "private"}).to_string()))
        .unwrap();
    assert_eq!(send(&w.router, req).await.status, StatusCode::OK);
    assert_eq!(
        send(&w.router, get(count.clone(), None)).await.json,
        json!(2)
    );
    assert_eq!(
        names(&send(&w.router, get(list.clone(), None)).await),
        ["c.txt"]
    );
    assert_eq!(
        send(&w.router, get(count, Some(&token))).await.json,
        json!(3)
    );
    assert_eq!(
        names(&send(&w.router, get(list, Some(&token))).await),
        ["b.txt"]
    );
}
