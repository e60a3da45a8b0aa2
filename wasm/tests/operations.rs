//! Browser tests of file operations (move, copy, rename, remove, exists, list, create) and of
//! the errors calls reject with, against a real `stowage-devserver`; helpers in `common/`.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Reflect};
use stowage::StorageClient;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Request, RequestInit, Response};

mod common;
use common::*;

wasm_bindgen_test_configure!(run_in_browser);

// ---------------------------------------------------------------- file operations

#[wasm_bindgen_test]
async fn move_a_directory_with_its_files() {
    let c = client();
    let dir = fresh_dir("move");
    put(&c, &format!("{dir}/src"), "a.txt", b"A").await;
    put(&c, &format!("{dir}/src/sub"), "b.txt", b"B").await;

    let moved = c
        .move_to(format!("{dir}/src"), format!("{dir}/dst"))
        .await
        .expect("move");
    assert_eq!(moved, format!("{dir}/dst/src"));
    assert_eq!(get(&c, &format!("{dir}/dst/src/a.txt")).await, b"A");
    assert_eq!(get(&c, &format!("{dir}/dst/src/sub/b.txt")).await, b"B");
    assert!(!exists(&c, &format!("{dir}/src")).await);
    assert!(!exists(&c, &format!("{dir}/src/a.txt")).await);
    let gone = c.download(format!("{dir}/src/sub/b.txt"), None).await;
    expect_storage_error(gone, 6000.0, 404.0);
}

#[wasm_bindgen_test]
async fn copy_keeps_the_source() {
    let c = client();
    let dir = fresh_dir("copy");
    put(&c, &dir, "c.txt", b"copy me").await;
    let copied = c
        .copy(format!("{dir}/c.txt"), format!("{dir}/backup"))
        .await
        .expect("copy");
    assert_eq!(copied, format!("{dir}/backup/c.txt"));
    assert_eq!(get(&c, &format!("{dir}/c.txt")).await, b"copy me");
    assert_eq!(get(&c, &copied).await, b"copy me");
    let again = c
        .copy(format!("{dir}/c.txt"), format!("{dir}/backup"))
        .await;
    expect_storage_error(again, 6005.0, 409.0);
}

#[wasm_bindgen_test]
async fn rename_in_place() {
    let c = client();
    let dir = fresh_dir("rename");
    put(&c, &dir, "old.txt", b"R").await;
    let renamed = c
        .rename(format!("{dir}/old.txt"), "new name ✓.txt".into())
        .await
        .expect("rename");
    assert_eq!(renamed, format!("{dir}/new name ✓.txt"));
    assert!(!exists(&c, &format!("{dir}/old.txt")).await);
    assert_eq!(get(&c, &renamed).await, b"R");
    let bad = c.rename(renamed.clone(), "a/b".into()).await;
    expect_storage_error(bad, 6006.0, 400.0);
}

#[wasm_bindgen_test]
async fn remove_files_and_directories() {
    let c = client();
    let dir = fresh_dir("remove");
    put(&c, &dir, "f.txt", b"F").await;
    put(&c, &format!("{dir}/sub"), "g.txt", b"G").await;

    c.remove(format!("{dir}/f.txt"))
        .await
        .expect("remove a file");
    assert!(!exists(&c, &format!("{dir}/f.txt")).await);
    assert!(exists(&c, &format!("{dir}/sub/g.txt")).await);
    c.remove(dir.clone()).await.expect("remove a directory");
    assert!(!exists(&c, &format!("{dir}/sub/g.txt")).await);
    assert!(!exists(&c, &dir).await);
    expect_storage_error(c.remove(dir.clone()).await, 6000.0, 404.0);
}

#[wasm_bindgen_test]
async fn exists_tells_files_directories_and_nothing_apart() {
    let c = client();
    let dir = fresh_dir("exists");
    put(&c, &dir, "here.txt", b"!").await;
    assert!(exists(&c, &format!("{dir}/here.txt")).await);
    assert!(exists(&c, &dir).await);
    assert!(!exists(&c, &format!("{dir}/missing.txt")).await);
    assert!(!exists(&c, &format!("{dir}/here.txt/below")).await);
}

fn entry_field(entry: &JsValue, key: &str) -> JsValue {
    Reflect::get(entry, &key.into()).expect("read an entry field")
}

fn names(entries: &JsValue) -> Vec<String> {
    Array::from(entries)
        .iter()
        .map(|e| entry_field(&e, "name").as_string().expect("name"))
        .collect()
}

#[wasm_bindgen_test]
async fn list_with_pattern_sub_and_paging() {
    let c = client();
    let dir = fresh_dir("list");
    put(&c, &dir, "a.txt", b"12345").await;
    put(&c, &dir, "b.md", b"b").await;
    put(&c, &format!("{dir}/sub"), "c.txt", b"c").await;
    put(&c, &format!("{dir}/sub"), "d.md", b"d").await;

    let all = c.list(dir.clone(), None).await.expect("list");
    assert_eq!(names(&all), ["a.txt", "b.md", "sub"]);
    let entries = Array::from(&all);
    let a = entries.get(0);
    assert_eq!(entry_field(&a, "size").as_f64(), Some(5.0));
    assert_eq!(entry_field(&a, "isDirectory").as_bool(), Some(false));
    assert_eq!(
        entry_field(&a, "url").as_string(),
        Some(format!("{}/a.txt", dir.trim_start_matches('/')))
    );
    assert!(entry_field(&a, "publicUrl")
        .as_string()
        .is_some_and(|u| u.starts_with("http")));
    assert!(entry_field(&a, "createdOn")
        .as_f64()
        .is_some_and(|t| t > 1.6e12));
    assert!(entry_field(&a, "updatedOn")
        .as_f64()
        .is_some_and(|t| t > 1.6e12));
    assert_eq!(
        entry_field(&entries.get(2), "isDirectory").as_bool(),
        Some(true)
    );

    let txt = c
        .list(
            dir.clone(),
            Some(list_options(&[("pattern", "*.txt".into())])),
        )
        .await
        .expect("list");
    assert_eq!(names(&txt), ["a.txt"]);
    let deep = c
        .list(
            dir.clone(),
            Some(list_options(&[
                ("pattern", "*.txt".into()),
                ("sub", true.into()),
            ])),
        )
        .await
        .expect("list");
    assert_eq!(names(&deep), ["a.txt", "c.txt"]);
    let page = c
        .list(
            dir.clone(),
            Some(list_options(&[
                ("pageSize", 1.into()),
                ("offset", 1.into()),
            ])),
        )
        .await
        .expect("list");
    assert_eq!(names(&page), ["b.md"]);

    let bad = c
        .list(
            dir.clone(),
            Some(list_options(&[("pageSize", "ten".into())])),
        )
        .await;
    assert_eq!(
        rejection(bad.expect_err("pageSize must be a number")).name,
        "TypeError"
    );
}

#[wasm_bindgen_test]
async fn create_directory_then_conflict() {
    let c = client();
    let dir = fresh_dir("mkdir");
    let made = c
        .create_directory(format!("{dir}/x/y"))
        .await
        .expect("createDirectory");
    assert_eq!(made, format!("{dir}/x/y"));
    assert!(exists(&c, &format!("{dir}/x/y")).await);
    let listed = c.list(format!("{dir}/x"), None).await.expect("list");
    assert_eq!(names(&listed), ["y"]);
    assert_eq!(
        entry_field(&Array::from(&listed).get(0), "isDirectory").as_bool(),
        Some(true)
    );
    expect_storage_error(
        c.create_directory(format!("{dir}/x/y")).await,
        6003.0,
        409.0,
    );
}

// ---------------------------------------------------------------- errors

#[wasm_bindgen_test]
async fn wrong_api_key_is_refused() {
    let c = StorageClient::new(client_options(server(), "not-the-key", None)).expect("client");
    let e = expect_storage_error(c.info().await, 3003.0, 401.0);
    assert_eq!(e.message, "Invalid application id or API key");
    let up = c
        .upload(
            file(b"x", "x.txt", "").into(),
            fresh_dir("wrong-key"),
            None,
            None,
        )
        .await;
    expect_storage_error(up, 3003.0, 401.0);
    expect_storage_error(
        c.download("/anything.txt".into(), None).await,
        3003.0,
        401.0,
    );
}

/// The server refuses this upload before it reads the body (unknown key). Firefox and WebKit
/// drop a response that comes while they are still sending and report a network error, unless
/// the server reads the rest of the body first (docs/browsers.md, "Early answers").
#[wasm_bindgen_test]
async fn an_upload_refused_before_its_body_is_read_keeps_the_code() {
    let c = StorageClient::new(client_options(server(), "not-the-key", None)).expect("client");
    let up = c
        .upload(
            big_blob(&pseudo_random(MIB, 29), 8),
            fresh_dir("early-answer"),
            None,
            Some(upload_options(&[("name", "big.bin".into())])),
        )
        .await;
    expect_storage_error(up, 3003.0, 401.0);
}

#[wasm_bindgen_test]
async fn bad_paths_are_refused_without_a_request() {
    // The client points nowhere: a request would have failed with NetworkError instead.
    let c = offline_client();
    let up = c
        .upload(file(b"x", "x.txt", "").into(), "a/../b".into(), None, None)
        .await;
    let e = expect_storage_error(up, 6006.0, 400.0);
    assert_eq!(e.message, "Path contains prohibited symbols: a/../b");
    expect_storage_error(c.exists("a/../b".into()).await, 6006.0, 400.0);
    expect_storage_error(c.download("a//b".into(), None).await, 6006.0, 400.0);
    expect_storage_error(c.move_to("a/./b".into(), "/x".into()).await, 6006.0, 400.0);
    expect_storage_error(c.list("a\\b".into(), None).await, 6006.0, 400.0);
    let reserved = c.create_directory("/binary/x".into()).await;
    let e = expect_storage_error(reserved, 6010.0, 400.0);
    assert_eq!(e.message, "Path starts with a reserved segment: binary");
    let long = c
        .upload(
            file(b"x", &"n".repeat(256), "").into(),
            "/d".into(),
            None,
            None,
        )
        .await;
    expect_storage_error(long, 6008.0, 400.0);
    assert!(
        c.file_url("a/../b").is_err(),
        "fileUrl throws for a bad path"
    );
}

#[wasm_bindgen_test]
async fn bad_paths_get_the_same_answer_from_the_server() {
    // The server's own answer for the same input, reached by a raw request, matches the client's.
    // `%2F` keeps the browser from resolving `..` itself; the server decodes it once to `a/../b`.
    let url = format!(
        "{}/demo/demo-key/files/a%2F..%2Fb/x.txt?overwrite=false",
        server()
    );
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str("x"));
    let request = Request::new_with_str_and_init(&url, &init).expect("Request");
    let window = web_sys::window().expect("window");
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .expect("fetch")
        .unchecked_into();
    assert_eq!(response.status(), 400);
    let text = JsFuture::from(response.text().expect("text"))
        .await
        .expect("body")
        .as_string()
        .expect("string");
    assert!(text.contains("6006"), "{text}");
}

#[wasm_bindgen_test]
async fn unreachable_server_is_a_network_error() {
    let e = rejection(offline_client().info().await.expect_err("nobody listens"));
    assert_eq!(
        (e.name.as_str(), e.code, e.status),
        ("NetworkError", 0.0, 0.0),
        "{e:?}"
    );
    let up = offline_client()
        .upload(file(b"x", "x.txt", "").into(), "/d".into(), None, None)
        .await;
    assert_eq!(
        rejection(up.expect_err("nobody listens")).name,
        "NetworkError"
    );
}

#[wasm_bindgen_test]
fn bad_client_options_are_a_configuration_error() {
    let e =
        StorageClient::new(client_options("ftp://example.com", "k", None)).expect_err("not http");
    assert_eq!(rejection(e).name, "ConfigurationError");
    let missing = StorageClient::new(object(&[("baseUrl", server().into())]).unchecked_into())
        .expect_err("no appId");
    assert_eq!(rejection(missing).name, "ConfigurationError");
}

#[wasm_bindgen_test]
async fn info_describes_the_app() {
    let info = client().info().await.expect("info");
    assert_eq!(
        Reflect::get(&info, &"appId".into())
            .expect("appId")
            .as_string()
            .as_deref(),
        Some("demo")
    );
    assert!(Reflect::get(&info, &"serverVersion".into())
        .expect("serverVersion")
        .is_string());
    let max = Reflect::get(&info, &"maxUploadBytes".into())
        .expect("maxUploadBytes")
        .as_f64();
    assert!(max.is_some_and(|m| m > 0.0), "{max:?}");
}

/// Wraps `fetch` and `XMLHttpRequest` to record every `user-token` header sent, as
/// `[api, url, token]` triples; `restore()` puts the originals back.
const HEADER_SPY: &str = r"
    const seen = [];
    const fetch = globalThis.fetch;
    const open = XMLHttpRequest.prototype.open;
    const setHeader = XMLHttpRequest.prototype.setRequestHeader;
    globalThis.fetch = function (request, init) {
        seen.push(['fetch', request.url, request.headers.get('user-token')]);
        return fetch.call(this, request, init);
    };
    XMLHttpRequest.prototype.open = function (method, url, ...rest) {
        this.stowageUrl = url;
        seen.push(['xhr', url, null]);
        return open.call(this, method, url, ...rest);
    };
    XMLHttpRequest.prototype.setRequestHeader = function (name, value) {
        if (name.toLowerCase() === 'user-token') seen[seen.length - 1][2] = value;
        return setHeader.call(this, name, value);
    };
    return { seen, restore() {
        globalThis.fetch = fetch;
        XMLHttpRequest.prototype.open = open;
        XMLHttpRequest.prototype.setRequestHeader = setHeader;
    } };
";

/// What the spy saw: `(api, url, token)`.
fn spied(spy: &JsValue) -> Vec<(String, String, Option<String>)> {
    let seen = Reflect::get(spy, &"seen".into()).expect("seen");
    Array::from(&seen)
        .iter()
        .map(|entry| {
            let entry = Array::from(&entry);
            let text = |i| entry.get(i).as_string();
            (text(0).expect("api"), text(1).expect("url"), text(2))
        })
        .collect()
}

#[wasm_bindgen_test]
async fn user_token_goes_to_our_server_only() {
    // A real token: the server refuses one it did not issue (3064).
    let expected = signed_in("demo", "demo-key", "token").await.token;
    let spy = js_sys::Function::new_no_args(HEADER_SPY)
        .call0(&JsValue::NULL)
        .expect("install spy");
    let restore: js_sys::Function = Reflect::get(&spy, &"restore".into())
        .expect("restore")
        .unchecked_into();

    // The header makes each request non-simple, so this also checks the server's CORS allows it.
    let c =
        StorageClient::new(client_options(server(), "demo-key", Some(&expected))).expect("client");
    let dir = fresh_dir("user-token");
    let outcome = async {
        c.info().await.expect("info with user-token");
        put(&c, &dir, "t.txt", b"token").await;
        assert_eq!(get(&c, &format!("{dir}/t.txt")).await, b"token");
        assert!(exists(&c, &format!("{dir}/t.txt")).await);
        // The same file through another origin spelling of the server: a foreign URL to the client.
        let foreign = c
            .file_url(&format!("{dir}/t.txt"))
            .expect("fileUrl")
            .replacen("127.0.0.1", "localhost", 1);
        assert_ne!(
            foreign,
            c.file_url(&format!("{dir}/t.txt")).expect("fileUrl"),
            "server must be 127.0.0.1"
        );
        assert_eq!(get(&c, &foreign).await, b"token");
        foreign
    }
    .await;
    restore.call0(&spy).expect("restore");

    let seen = spied(&spy);
    assert_eq!(seen.len(), 5, "{seen:?}");
    for (api, url, token) in &seen[..4] {
        assert_eq!(
            token.as_deref(),
            Some(expected.as_str()),
            "{api} {url} went without the token"
        );
    }
    assert_eq!(
        seen[4],
        ("xhr".to_owned(), outcome, None),
        "the token went to a foreign URL"
    );
}

#[wasm_bindgen_test]
async fn save_as_downloads_or_reports_why_not() {
    let c = client();
    let dir = fresh_dir("save-as");
    put(&c, &dir, "s.txt", b"save me").await;
    c.save_as(format!("{dir}/s.txt"), Some("saved.txt".into()))
        .await
        .expect("saveAs");
    expect_storage_error(
        c.save_as(format!("{dir}/missing.txt"), None).await,
        6000.0,
        404.0,
    );
}

// ---------------------------------------------------------------- module-level functions

/// The only test that calls `configure`, so the not-configured check at its start holds.
#[wasm_bindgen_test]
async fn module_level_functions_use_the_configured_client() {
    let before = stowage::info().await.expect_err("not configured yet");
    let before = rejection(before);
    assert_eq!(
        (before.name.as_str(), before.code, before.status),
        ("ConfigurationError", 0.0, 0.0)
    );
    assert!(stowage::file_url("/a").is_err());

    assert!(
        stowage::configure(client_options("nope", "k", None)).is_err(),
        "bad options throw"
    );
    stowage::configure(client_options(server(), "demo-key", None)).expect("configure");
    let dir = fresh_dir("module");
    let url = stowage::upload(
        file(b"module", "m.txt", "text/plain").into(),
        dir.clone(),
        Some(false),
        None,
    )
    .await
    .expect("upload");
    let blob = stowage::download(url, None).await.expect("download");
    assert_eq!(bytes_of(&blob).await, b"module");
    assert!(stowage::exists(format!("{dir}/m.txt"))
        .await
        .expect("exists"));
    assert_eq!(
        names(&stowage::list(dir.clone(), None).await.expect("list")),
        ["m.txt"]
    );
    let made = stowage::create_directory(format!("{dir}/sub"))
        .await
        .expect("createDirectory");
    let copied = stowage::copy(format!("{dir}/m.txt"), made.clone())
        .await
        .expect("copy");
    let moved = stowage::move_to(copied, format!("{dir}/other"))
        .await
        .expect("move");
    let renamed = stowage::rename(moved, "n.txt".into())
        .await
        .expect("rename");
    assert_eq!(renamed, format!("{dir}/other/n.txt"));
    stowage::remove(renamed.clone()).await.expect("remove");
    assert!(!stowage::exists(renamed).await.expect("exists"));
    stowage::info().await.expect("info");
    assert!(stowage::file_url(&format!("{dir}/m.txt"))
        .expect("fileUrl")
        .ends_with("/m.txt"));
}
