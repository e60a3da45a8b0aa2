//! Helpers shared by the browser test files: the server URL, clients, files and blobs made of
//! pseudo-random bytes, rejections read back, progress logs.
#![allow(dead_code, unused_imports)] // each test file uses its own subset

use js_sys::{Array, Object, Reflect, Uint8Array};
use std::cell::RefCell;
use std::rc::Rc;
use stowage::{JsClientOptions, JsDownloadOptions, JsListOptions, JsUploadOptions, StorageClient};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{
    AbortController, Blob, BlobPropertyBag, File, FilePropertyBag, Request, RequestInit, Response,
};

pub(crate) const MIB: usize = 1024 * 1024;
/// An address where nothing listens: a request that is sent there fails with `NetworkError`.
pub(crate) const NOWHERE: &str = "http://127.0.0.1:9";

// ---------------------------------------------------------------- helpers

pub(crate) fn server() -> &'static str {
    match option_env!("STOWAGE_TEST_SERVER") {
        Some(url) if !url.is_empty() => url,
        _ => panic!(
            "STOWAGE_TEST_SERVER was not set when these tests were built: start stowage-devserver \
             and run `STOWAGE_TEST_SERVER=http://127.0.0.1:PORT wasm-pack test --headless --chrome wasm`"
        ),
    }
}

/// A plain JS object from `(key, value)` pairs.
pub(crate) fn object(fields: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (key, value) in fields {
        Reflect::set(&o, &(*key).into(), value).expect("set a field on a fresh object");
    }
    o
}

pub(crate) fn client_options(base: &str, key: &str, token: Option<&str>) -> JsClientOptions {
    let mut fields = vec![
        ("baseUrl", base.into()),
        ("appId", "demo".into()),
        ("apiKey", key.into()),
    ];
    if let Some(token) = token {
        fields.push(("userToken", token.into()));
    }
    object(&fields).unchecked_into()
}

pub(crate) fn client() -> StorageClient {
    StorageClient::new(client_options(server(), "demo-key", None)).expect("valid client options")
}

/// A client whose server does not exist: anything it sends ends in a `NetworkError`.
pub(crate) fn offline_client() -> StorageClient {
    StorageClient::new(client_options(NOWHERE, "demo-key", None)).expect("valid client options")
}

/// A directory no other test or earlier run uses.
pub(crate) fn fresh_dir(test: &str) -> String {
    let stamp = js_sys::Date::now() as u64;
    let nonce = (js_sys::Math::random() * 1e9) as u64;
    format!("/wasm-tests/{test}-{stamp}-{nonce}")
}

/// Deterministic pseudo-random bytes (xorshift64*).
pub(crate) fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

pub(crate) fn file(bytes: &[u8], name: &str, mime: &str) -> File {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let bag = FilePropertyBag::new();
    bag.set_type(mime);
    File::new_with_u8_array_sequence_and_options(&parts, name, &bag).expect("new File")
}

pub(crate) fn blob(bytes: &[u8], mime: &str) -> Blob {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let bag = BlobPropertyBag::new();
    bag.set_type(mime);
    Blob::new_with_u8_array_sequence_and_options(&parts, &bag).expect("new Blob")
}

/// A large Blob made of one repeated chunk (the chunk is shared, not copied `n` times in wasm).
pub(crate) fn big_blob(chunk: &[u8], times: usize) -> Blob {
    let chunk = Uint8Array::from(chunk);
    let parts = Array::new();
    for _ in 0..times {
        parts.push(&chunk);
    }
    Blob::new_with_u8_array_sequence(&parts).expect("new Blob")
}

pub(crate) async fn bytes_of(blob: &Blob) -> Vec<u8> {
    let buffer = JsFuture::from(blob.array_buffer())
        .await
        .expect("Blob.arrayBuffer()");
    Uint8Array::new(&buffer).to_vec()
}

pub(crate) fn upload_options(fields: &[(&str, JsValue)]) -> JsUploadOptions {
    object(fields).unchecked_into()
}

pub(crate) fn list_options(fields: &[(&str, JsValue)]) -> JsListOptions {
    object(fields).unchecked_into()
}

/// What a rejection carries.
#[derive(Debug, PartialEq)]
pub(crate) struct Rejection {
    pub(crate) name: String,
    pub(crate) code: f64,
    pub(crate) status: f64,
    pub(crate) message: String,
}

/// Reads a rejection, checking it is a real `Error` with numeric `code` and `status`.
#[allow(clippy::needless_pass_by_value)] // reads `rejection(result.expect_err(..))` best
pub(crate) fn rejection(value: JsValue) -> Rejection {
    assert!(
        value.is_instance_of::<js_sys::Error>(),
        "not an Error instance: {value:?}"
    );
    let get = |key: &str| Reflect::get(&value, &key.into()).expect("read a field of the error");
    Rejection {
        name: get("name").as_string().expect("name is a string"),
        code: get("code").as_f64().expect("code is a number"),
        status: get("status").as_f64().expect("status is a number"),
        message: get("message").as_string().expect("message is a string"),
    }
}

pub(crate) fn expect_storage_error(
    result: Result<impl std::fmt::Debug, JsValue>,
    code: f64,
    status: f64,
) -> Rejection {
    let e = rejection(result.expect_err("the call must reject"));
    assert_eq!(
        (e.name.as_str(), e.code, e.status),
        ("StorageError", code, status),
        "{e:?}"
    );
    e
}

/// Uploads `bytes` as a File named `name` into `dir`; answers the file URL.
pub(crate) async fn put(c: &StorageClient, dir: &str, name: &str, bytes: &[u8]) -> String {
    c.upload(
        file(bytes, name, "application/octet-stream").into(),
        dir.to_owned(),
        Some(false),
        None,
    )
    .await
    .unwrap_or_else(|e| panic!("upload {dir}/{name}: {:?}", rejection(e)))
}

pub(crate) async fn get(c: &StorageClient, path: &str) -> Vec<u8> {
    let blob = c
        .download(path.to_owned(), None)
        .await
        .unwrap_or_else(|e| panic!("download {path}: {:?}", rejection(e)));
    bytes_of(&blob).await
}

pub(crate) async fn exists(c: &StorageClient, path: &str) -> bool {
    c.exists(path.to_owned())
        .await
        .unwrap_or_else(|e| panic!("exists {path}: {:?}", rejection(e)))
}

/// `fetch` straight to a URL, with extra request headers.
pub(crate) async fn raw_fetch(url: &str, headers: &[(&str, &str)]) -> Response {
    let init = RequestInit::new();
    let h = web_sys::Headers::new().expect("Headers");
    for (k, v) in headers {
        h.set(k, v).expect("set header");
    }
    init.set_headers_headers(&h);
    let request = Request::new_with_str_and_init(url, &init).expect("Request");
    let window = web_sys::window().expect("a window");
    JsFuture::from(window.fetch_with_request(&request))
        .await
        .expect("fetch")
        .unchecked_into()
}

/// Waits `ms` milliseconds.
pub(crate) async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .expect("window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .expect("setTimeout");
    });
    JsFuture::from(promise).await.expect("timer");
}

/// Records every `onProgress(loaded, total)` call.
pub(crate) struct ProgressLog {
    pub(crate) calls: Rc<RefCell<Vec<(f64, f64)>>>,
    callback: Closure<dyn Fn(f64, f64)>,
}

impl ProgressLog {
    pub(crate) fn new() -> Self {
        let calls = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&calls);
        let callback = Closure::<dyn Fn(f64, f64)>::new(move |loaded, total| {
            sink.borrow_mut().push((loaded, total));
        });
        Self { calls, callback }
    }

    pub(crate) fn function(&self) -> JsValue {
        self.callback.as_ref().clone()
    }

    /// Checks the reports grew strictly, never passed `total`, and ended at `(total, total)`.
    pub(crate) fn assert_complete(&self, total: f64, fixed_total: bool) {
        let calls = self.calls.borrow();
        assert!(!calls.is_empty(), "onProgress was never called");
        for pair in calls.windows(2) {
            assert!(pair[1].0 > pair[0].0, "loaded did not grow: {pair:?}");
        }
        for (loaded, t) in calls.iter() {
            if fixed_total {
                assert_eq!(*t, total, "total changed: {calls:?}");
            }
            assert!(*loaded <= total, "loaded {loaded} passed the total {total}");
        }
        assert_eq!(
            calls.last().copied(),
            Some((total, total)),
            "last call of {calls:?}"
        );
    }
}

// ---------------------------------------------------------------- users and access

/// The app the access tests run in: its default policy is private (anonymous callers read only
/// what visibility or rules make readable; signed-in users create files, which they then own).
pub(crate) const LOCKED_APP: &str = "locked";
pub(crate) const LOCKED_KEY: &str = "locked-key";
/// The password every test user gets.
pub(crate) const PASSWORD: &str = "correct horse battery";

/// `ClientOptions` for `app` on the test server, with extra fields (`userToken`, ...).
pub(crate) fn app_options(app: &str, key: &str, extra: &[(&str, JsValue)]) -> JsClientOptions {
    let mut fields = vec![
        ("baseUrl", server().into()),
        ("appId", app.into()),
        ("apiKey", key.into()),
    ];
    fields.extend(extra.iter().cloned());
    object(&fields).unchecked_into()
}

/// An anonymous client of the locked app.
pub(crate) fn locked_client() -> StorageClient {
    StorageClient::new(app_options(LOCKED_APP, LOCKED_KEY, &[])).expect("valid client options")
}

/// A field of a JS object.
pub(crate) fn prop(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &key.into()).expect("read a field")
}

/// A string field of a JS object.
pub(crate) fn text_prop(value: &JsValue, key: &str) -> String {
    prop(value, key)
        .as_string()
        .unwrap_or_else(|| panic!("{key} is not a string in {}", to_json(value)))
}

pub(crate) fn to_json(value: &JsValue) -> String {
    js_sys::JSON::stringify(value).map_or_else(|_| format!("{value:?}"), String::from)
}

/// An email no other test or earlier run uses.
pub(crate) fn fresh_email(who: &str) -> String {
    let stamp = js_sys::Date::now() as u64;
    let nonce = (js_sys::Math::random() * 1e9) as u64;
    format!("{who}-{stamp}-{nonce}@example.com")
}

/// A registered, signed-in user with a client of its own.
pub(crate) struct TestUser {
    pub(crate) client: StorageClient,
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) token: String,
}

/// Registers a fresh user of `app` and signs it in on a new client.
pub(crate) async fn signed_in(app: &str, key: &str, who: &str) -> TestUser {
    let client = StorageClient::new(app_options(app, key, &[])).expect("valid client options");
    let email = fresh_email(who);
    let registration = object(&[
        ("email", email.as_str().into()),
        ("password", PASSWORD.into()),
        ("name", who.into()),
    ]);
    let registered = client
        .register(registration.unchecked_into())
        .await
        .unwrap_or_else(|e| panic!("register {email}: {:?}", rejection(e)));
    let user: JsValue = client
        .login(email.clone(), PASSWORD.into())
        .await
        .unwrap_or_else(|e| panic!("login {email}: {:?}", rejection(e)))
        .into();
    let id = text_prop(&user, "objectId");
    assert_eq!(text_prop(&registered.into(), "objectId"), id);
    let token = text_prop(&user, "user-token");
    TestUser {
        client,
        id,
        email,
        token,
    }
}
