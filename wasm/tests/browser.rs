//! Browser tests of the JS-facing API (`StorageClient`, `configure` and the module-level
//! functions) against a real `stowage-devserver`, with real `File` and `Blob` objects.
//!
//! The server URL comes in at build time:
//! `STOWAGE_TEST_SERVER=http://127.0.0.1:8080 wasm-pack test --headless --chrome wasm`.
//! Every test works in its own fresh directory, so reruns against one server do not collide.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect, Uint8Array};
use stowage::{JsClientOptions, JsDownloadOptions, JsListOptions, JsUploadOptions, StorageClient};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{
    AbortController, Blob, BlobPropertyBag, File, FilePropertyBag, Request, RequestInit, Response,
};

wasm_bindgen_test_configure!(run_in_browser);

const MIB: usize = 1024 * 1024;
/// An address where nothing listens: a request that is sent there fails with `NetworkError`.
const NOWHERE: &str = "http://127.0.0.1:9";

// ---------------------------------------------------------------- helpers

fn server() -> &'static str {
    match option_env!("STOWAGE_TEST_SERVER") {
        Some(url) if !url.is_empty() => url,
        _ => panic!(
            "STOWAGE_TEST_SERVER was not set when these tests were built: start stowage-devserver \
             and run `STOWAGE_TEST_SERVER=http://127.0.0.1:PORT wasm-pack test --headless --chrome wasm`"
        ),
    }
}

/// A plain JS object from `(key, value)` pairs.
fn object(fields: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (key, value) in fields {
        Reflect::set(&o, &(*key).into(), value).expect("set a field on a fresh object");
    }
    o
}

fn client_options(base: &str, key: &str, token: Option<&str>) -> JsClientOptions {
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

fn client() -> StorageClient {
    StorageClient::new(client_options(server(), "demo-key", None)).expect("valid client options")
}

/// A client whose server does not exist: anything it sends ends in a `NetworkError`.
fn offline_client() -> StorageClient {
    StorageClient::new(client_options(NOWHERE, "demo-key", None)).expect("valid client options")
}

/// A directory no other test or earlier run uses.
fn fresh_dir(test: &str) -> String {
    let stamp = js_sys::Date::now() as u64;
    let nonce = (js_sys::Math::random() * 1e9) as u64;
    format!("/wasm-tests/{test}-{stamp}-{nonce}")
}

/// Deterministic pseudo-random bytes (xorshift64*).
fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
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

fn file(bytes: &[u8], name: &str, mime: &str) -> File {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let bag = FilePropertyBag::new();
    bag.set_type(mime);
    File::new_with_u8_array_sequence_and_options(&parts, name, &bag).expect("new File")
}

fn blob(bytes: &[u8], mime: &str) -> Blob {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let bag = BlobPropertyBag::new();
    bag.set_type(mime);
    Blob::new_with_u8_array_sequence_and_options(&parts, &bag).expect("new Blob")
}

/// A large Blob made of one repeated chunk (the chunk is shared, not copied `n` times in wasm).
fn big_blob(chunk: &[u8], times: usize) -> Blob {
    let chunk = Uint8Array::from(chunk);
    let parts = Array::new();
    for _ in 0..times {
        parts.push(&chunk);
    }
    Blob::new_with_u8_array_sequence(&parts).expect("new Blob")
}

async fn bytes_of(blob: &Blob) -> Vec<u8> {
    let buffer = JsFuture::from(blob.array_buffer())
        .await
        .expect("Blob.arrayBuffer()");
    Uint8Array::new(&buffer).to_vec()
}

fn upload_options(fields: &[(&str, JsValue)]) -> JsUploadOptions {
    object(fields).unchecked_into()
}

fn list_options(fields: &[(&str, JsValue)]) -> JsListOptions {
    object(fields).unchecked_into()
}

/// What a rejection carries.
#[derive(Debug, PartialEq)]
struct Rejection {
    name: String,
    code: f64,
    status: f64,
    message: String,
}

/// Reads a rejection, checking it is a real `Error` with numeric `code` and `status`.
#[allow(clippy::needless_pass_by_value)] // reads `rejection(result.expect_err(..))` best
fn rejection(value: JsValue) -> Rejection {
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

fn expect_storage_error(
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
async fn put(c: &StorageClient, dir: &str, name: &str, bytes: &[u8]) -> String {
    c.upload(
        file(bytes, name, "application/octet-stream").into(),
        dir.to_owned(),
        Some(false),
        None,
    )
    .await
    .unwrap_or_else(|e| panic!("upload {dir}/{name}: {:?}", rejection(e)))
}

async fn get(c: &StorageClient, path: &str) -> Vec<u8> {
    let blob = c
        .download(path.to_owned(), None)
        .await
        .unwrap_or_else(|e| panic!("download {path}: {:?}", rejection(e)));
    bytes_of(&blob).await
}

async fn exists(c: &StorageClient, path: &str) -> bool {
    c.exists(path.to_owned())
        .await
        .unwrap_or_else(|e| panic!("exists {path}: {:?}", rejection(e)))
}

/// `fetch` straight to a URL, with extra request headers.
async fn raw_fetch(url: &str, headers: &[(&str, &str)]) -> Response {
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
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .expect("window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .expect("setTimeout");
    });
    JsFuture::from(promise).await.expect("timer");
}

/// Records every `onProgress(loaded, total)` call.
struct ProgressLog {
    calls: Rc<RefCell<Vec<(f64, f64)>>>,
    callback: Closure<dyn Fn(f64, f64)>,
}

impl ProgressLog {
    fn new() -> Self {
        let calls = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&calls);
        let callback = Closure::<dyn Fn(f64, f64)>::new(move |loaded, total| {
            sink.borrow_mut().push((loaded, total));
        });
        Self { calls, callback }
    }

    fn function(&self) -> JsValue {
        self.callback.as_ref().clone()
    }

    /// Checks the reports grew strictly, never passed `total`, and ended at `(total, total)`.
    fn assert_complete(&self, total: f64, fixed_total: bool) {
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

// ---------------------------------------------------------------- the engine

/// Names the engine in the log: `npm test` runs this suite in Chromium, Firefox and WebKit and
/// prints this line (with `-- --nocapture`) so a run shows which browser it really used.
#[wasm_bindgen_test]
fn names_the_browser_under_test() {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).expect("navigator");
    let agent = Reflect::get(&navigator, &"userAgent".into())
        .expect("navigator.userAgent")
        .as_string()
        .expect("userAgent is a string");
    assert!(!agent.is_empty());
    web_sys::console::log_1(&format!("stowage-browser-under-test: {agent}").into());
}

// ---------------------------------------------------------------- uploads and downloads

async fn round_trip(test: &str, bytes: &[u8]) {
    let c = client();
    let dir = fresh_dir(test);
    let url = put(&c, &dir, "data.bin", bytes).await;
    assert!(url.starts_with("http"), "fileURL {url}");
    assert_eq!(
        get(&c, &format!("{dir}/data.bin")).await,
        bytes,
        "download by path"
    );
    assert_eq!(
        get(&c, &url).await,
        bytes,
        "download by the answered fileURL"
    );
}

#[wasm_bindgen_test]
async fn round_trip_empty_file() {
    round_trip("empty", &[]).await;
}

#[wasm_bindgen_test]
async fn round_trip_one_byte() {
    round_trip("one-byte", &[0xA5]).await;
}

#[wasm_bindgen_test]
async fn round_trip_five_mib() {
    round_trip("five-mib", &pseudo_random(5 * MIB, 7)).await;
}

#[wasm_bindgen_test]
async fn unicode_and_space_names_round_trip_and_list_exactly() {
    let c = client();
    let dir = fresh_dir("names");
    let names = [
        "naïve résumé ✓.txt",
        "name with spaces.txt",
        "100% real #1?.txt",
    ];
    for (i, name) in names.iter().enumerate() {
        let url = put(&c, &dir, name, name.as_bytes()).await;
        assert_eq!(
            get(&c, &format!("{dir}/{name}")).await,
            name.as_bytes(),
            "{name}"
        );
        assert_eq!(get(&c, &url).await, name.as_bytes(), "{name} through {url}");
        let file_url = c.file_url(&format!("{dir}/{name}")).expect("fileUrl");
        assert!(
            !file_url.contains(' '),
            "unencoded space in {file_url} ({i})"
        );
    }
    let entries = c.list(dir.clone(), None).await.expect("list");
    let mut listed: Vec<String> = Array::from(&entries)
        .iter()
        .map(|e| {
            Reflect::get(&e, &"name".into())
                .expect("name")
                .as_string()
                .expect("string")
        })
        .collect();
    listed.sort();
    let mut expected: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    expected.sort();
    assert_eq!(listed, expected);
}

#[wasm_bindgen_test]
async fn blob_upload_takes_its_name_from_the_option() {
    let c = client();
    let dir = fresh_dir("blob-name");
    let bytes = pseudo_random(1000, 3);
    let options = upload_options(&[("name", "from-option.bin".into())]);
    c.upload(
        blob(&bytes, "application/x-test"),
        dir.clone(),
        None,
        Some(options),
    )
    .await
    .expect("upload of a Blob with a name option");
    let downloaded = c
        .download(format!("{dir}/from-option.bin"), None)
        .await
        .expect("download");
    assert_eq!(bytes_of(&downloaded).await, bytes);
    assert_eq!(
        downloaded.type_(),
        "application/x-test",
        "Content-Type comes from Blob.type"
    );

    // The option also overrides a File's own name.
    let options = upload_options(&[("name", "renamed.txt".into())]);
    c.upload(
        file(b"x", "original.txt", "text/plain").into(),
        dir.clone(),
        None,
        Some(options),
    )
    .await
    .expect("upload of a File with a name option");
    assert!(exists(&c, &format!("{dir}/renamed.txt")).await);
    assert!(!exists(&c, &format!("{dir}/original.txt")).await);
}

#[wasm_bindgen_test]
async fn blob_without_a_name_is_refused_before_sending() {
    let c = offline_client();
    let err = rejection(
        c.upload(blob(b"abc", ""), "/d".into(), None, None)
            .await
            .expect_err("no name"),
    );
    assert_eq!(
        (err.name.as_str(), err.code, err.status),
        ("TypeError", 0.0, 0.0),
        "{err:?}"
    );
    assert!(err.message.contains("options.name"), "{err:?}");
}

#[wasm_bindgen_test]
async fn overwrite_conflict_then_overwrite() {
    let c = client();
    let dir = fresh_dir("overwrite");
    let path = format!("{dir}/a.txt");
    put(&c, &dir, "a.txt", b"first").await;

    let second = c
        .upload(
            file(b"second", "a.txt", "text/plain").into(),
            dir.clone(),
            Some(false),
            None,
        )
        .await;
    let e = expect_storage_error(second, 6003.0, 409.0);
    assert!(e.message.contains("already exists"), "{e:?}");
    let default = c
        .upload(
            file(b"second", "a.txt", "text/plain").into(),
            dir.clone(),
            None,
            None,
        )
        .await;
    expect_storage_error(default, 6003.0, 409.0);
    assert_eq!(
        get(&c, &path).await,
        b"first",
        "a refused upload changes nothing"
    );

    c.upload(
        file(b"second", "a.txt", "text/plain").into(),
        dir.clone(),
        Some(true),
        None,
    )
    .await
    .expect("upload with overwrite");
    assert_eq!(get(&c, &path).await, b"second", "content replaced");
}

#[wasm_bindgen_test]
async fn range_read_answers_206_with_the_bytes() {
    let c = client();
    let dir = fresh_dir("range");
    let bytes = pseudo_random(1000, 11);
    put(&c, &dir, "r.bin", &bytes).await;
    let url = c.file_url(&format!("{dir}/r.bin")).expect("fileUrl");
    let response = raw_fetch(&url, &[("Range", "bytes=100-199")]).await;
    assert_eq!(response.status(), 206);
    let content_range = response.headers().get("content-range").expect("headers");
    assert_eq!(content_range.as_deref(), Some("bytes 100-199/1000"));
    let body = JsFuture::from(response.array_buffer().expect("arrayBuffer"))
        .await
        .expect("body");
    assert_eq!(Uint8Array::new(&body).to_vec(), &bytes[100..200]);
}

#[wasm_bindgen_test]
async fn etag_is_readable_through_cors() {
    let c = client();
    let dir = fresh_dir("etag");
    put(&c, &dir, "e.txt", b"etag me").await;
    let url = c.file_url(&format!("{dir}/e.txt")).expect("fileUrl");
    let response = raw_fetch(&url, &[]).await;
    assert_eq!(response.status(), 200);
    let etag = response
        .headers()
        .get("etag")
        .expect("headers")
        .unwrap_or_default();
    assert!(!etag.is_empty(), "ETag is not exposed to JS");
    // The origin of this page differs from the server's (another port), so this went through CORS.
    let origin = web_sys::window()
        .expect("window")
        .location()
        .origin()
        .expect("origin");
    assert!(
        !url.starts_with(&origin),
        "the test page must be cross-origin to {url}"
    );
}

// ---------------------------------------------------------------- progress and cancellation

#[wasm_bindgen_test]
async fn progress_only_grows_and_ends_at_the_total() {
    let c = client();
    let dir = fresh_dir("progress");
    let bytes = pseudo_random(5 * MIB, 5);
    let total = bytes.len() as f64;

    let up = ProgressLog::new();
    let options = upload_options(&[("onProgress", up.function())]);
    let upload = c.upload(
        file(&bytes, "p.bin", "").into(),
        dir.clone(),
        None,
        Some(options),
    );
    upload.await.expect("upload");
    up.assert_complete(total, true);

    let down = ProgressLog::new();
    let options: JsDownloadOptions = object(&[("onProgress", down.function())]).unchecked_into();
    let blob = c
        .download(format!("{dir}/p.bin"), Some(options))
        .await
        .expect("download");
    assert_eq!(blob.size(), total);
    down.assert_complete(total, false);

    // An empty body may fire no progress event at all; the closing (0, 0) still comes.
    let empty = ProgressLog::new();
    let options = upload_options(&[("onProgress", empty.function())]);
    let upload = c.upload(
        file(&[], "empty.bin", "").into(),
        dir.clone(),
        None,
        Some(options),
    );
    upload.await.expect("upload");
    empty.assert_complete(0.0, true);
}

#[wasm_bindgen_test]
async fn progress_of_a_large_upload_reports_steps_on_the_way() {
    let c = client();
    let dir = fresh_dir("progress-large");
    let parts = 64;
    let total = (parts * MIB) as f64;
    let up = ProgressLog::new();
    let options = upload_options(&[("onProgress", up.function()), ("name", "large.bin".into())]);
    let upload = c.upload(
        big_blob(&pseudo_random(MIB, 19), parts),
        dir.clone(),
        None,
        Some(options),
    );
    upload.await.expect("upload");
    up.assert_complete(total, true);
    let calls = up.calls.borrow();
    assert!(calls.len() >= 2, "no report before the end: {calls:?}");
}

/// WebKit fires an upload progress event every few KiB (thousands for this upload), Chromium
/// and Firefox a handful: in every engine `onProgress` comes at most once per 50 ms, except
/// the call that reaches the total (docs/browsers.md).
#[wasm_bindgen_test]
async fn progress_calls_are_spaced_in_every_engine() {
    let c = client();
    let calls = Rc::new(RefCell::new(Vec::<(f64, f64)>::new()));
    let on_progress = {
        let calls = Rc::clone(&calls);
        Closure::<dyn Fn(f64, f64)>::new(move |loaded: f64, _total: f64| {
            calls.borrow_mut().push((js_sys::Date::now(), loaded));
        })
    };
    let options = upload_options(&[
        ("name", "spaced.bin".into()),
        ("onProgress", on_progress.as_ref().clone()),
    ]);
    let parts = 64;
    c.upload(
        big_blob(&pseudo_random(MIB, 31), parts),
        fresh_dir("progress-spacing"),
        None,
        Some(options),
    )
    .await
    .expect("upload");
    let calls = calls.borrow();
    let total = (parts * MIB) as f64;
    assert_eq!(calls.last().map(|c| c.1), Some(total), "{calls:?}");
    for pair in calls.windows(2) {
        let ((t0, _), (t1, loaded)) = (pair[0], pair[1]);
        // 45: the callback runs a moment after the library read the clock.
        assert!(
            loaded == total || t1 - t0 >= 45.0,
            "two reports {} ms apart: {calls:?}",
            t1 - t0
        );
    }
}

#[wasm_bindgen_test]
async fn abort_mid_upload_rejects_and_stores_nothing() {
    let c = client();
    let dir = fresh_dir("abort");
    let controller = AbortController::new().expect("AbortController");
    let seen = Rc::new(RefCell::new(Vec::<(f64, f64)>::new()));
    let on_progress = {
        let controller = controller.clone();
        let seen = Rc::clone(&seen);
        Closure::<dyn Fn(f64, f64)>::new(move |loaded: f64, total: f64| {
            seen.borrow_mut().push((loaded, total));
            if loaded < total {
                controller.abort();
            }
        })
    };
    let options = upload_options(&[
        ("name", "big.bin".into()),
        ("onProgress", on_progress.as_ref().clone()),
        ("signal", controller.signal().into()),
    ]);
    let big = big_blob(&pseudo_random(MIB, 13), 64);
    let result = c.upload(big, dir.clone(), Some(false), Some(options)).await;
    let result = match result {
        Ok(url) => panic!(
            "the upload finished before it could be aborted ({url}); progress: {:?}",
            seen.borrow()
        ),
        Err(e) => rejection(e),
    };
    assert_eq!(
        (result.name.as_str(), result.code, result.status),
        ("AbortError", 0.0, 0.0),
        "{result:?}"
    );
    assert!(
        seen.borrow().iter().all(|(loaded, total)| loaded < total),
        "{:?}",
        seen.borrow()
    );
    let path = format!("{dir}/big.bin");
    assert!(
        !exists(&c, &path).await,
        "an aborted upload must store nothing"
    );
    // Ask again once the server has surely seen the connection end (it answers 8011 then).
    sleep(500).await;
    assert!(
        !exists(&c, &path).await,
        "an aborted upload must store nothing"
    );
}

#[wasm_bindgen_test]
async fn already_aborted_signal_rejects_without_a_request() {
    // Against a server that does not exist: a request would end in NetworkError, not AbortError.
    let c = offline_client();
    let controller = AbortController::new().expect("AbortController");
    controller.abort();
    let options = upload_options(&[("signal", controller.signal().into())]);
    let up = c
        .upload(
            file(b"x", "x.txt", "").into(),
            "/d".into(),
            None,
            Some(options),
        )
        .await;
    let e = rejection(up.expect_err("aborted"));
    assert_eq!(
        (e.name.as_str(), e.code, e.status),
        ("AbortError", 0.0, 0.0),
        "{e:?}"
    );

    let options: JsDownloadOptions =
        object(&[("signal", controller.signal().into())]).unchecked_into();
    let down = c.download("/d/x.txt".into(), Some(options)).await;
    assert_eq!(rejection(down.expect_err("aborted")).name, "AbortError");
}

#[wasm_bindgen_test]
async fn aborting_a_download_rejects_with_abort_error() {
    let c = client();
    let dir = fresh_dir("abort-download");
    c.upload(
        big_blob(&pseudo_random(MIB, 17), 32),
        dir.clone(),
        None,
        Some(upload_options(&[("name", "d.bin".into())])),
    )
    .await
    .expect("upload");
    let controller = AbortController::new().expect("AbortController");
    let on_progress = {
        let controller = controller.clone();
        Closure::<dyn Fn(f64, f64)>::new(move |loaded: f64, total: f64| {
            if loaded < total {
                controller.abort();
            }
        })
    };
    let options: JsDownloadOptions = object(&[
        ("onProgress", on_progress.as_ref().clone()),
        ("signal", controller.signal().into()),
    ])
    .unchecked_into();
    let result = c.download(format!("{dir}/d.bin"), Some(options)).await;
    let e = rejection(result.expect_err("the download must be aborted"));
    assert_eq!(e.name, "AbortError", "{e:?}");
}

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
    let spy = js_sys::Function::new_no_args(HEADER_SPY)
        .call0(&JsValue::NULL)
        .expect("install spy");
    let restore: js_sys::Function = Reflect::get(&spy, &"restore".into())
        .expect("restore")
        .unchecked_into();

    // The header makes each request non-simple, so this also checks the server's CORS allows it.
    let c = StorageClient::new(client_options(server(), "demo-key", Some("token-123")))
        .expect("client");
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
            Some("token-123"),
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
