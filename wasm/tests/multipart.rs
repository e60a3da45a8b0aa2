//! Browser tests of large-file uploads (`uploadMultipart`, `startUpload`, the building blocks)
//! against a real `stowage-devserver` started with `--unsafe-test-hooks`, whose fault rules
//! (`/v1/test/faults`) and part counters (`/v1/test/stats`) the tests set and read.
//! Parts are 5 MiB, the server's real minimum; files are real Blobs of pseudo-random bytes.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect, Uint8Array};
use serde_json::{json, Value};
use stowage::{JsClientOptions, JsMultipartOptions, StorageClient};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Blob, File, FilePropertyBag, RequestInit, Response};

wasm_bindgen_test_configure!(run_in_browser);

const MIB: usize = 1024 * 1024;
const PART: usize = 5 * MIB;

fn server() -> &'static str {
    option_env!("STOWAGE_TEST_SERVER")
        .filter(|u| !u.is_empty())
        .expect("STOWAGE_TEST_SERVER set at build time")
}

fn object(fields: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (key, value) in fields {
        Reflect::set(&o, &(*key).into(), value).expect("set a field");
    }
    o
}

fn client() -> StorageClient {
    let options: JsClientOptions = object(&[
        ("baseUrl", server().into()),
        ("appId", "demo".into()),
        ("apiKey", "demo-key".into()),
    ])
    .unchecked_into();
    StorageClient::new(options).expect("client")
}

fn fresh_dir(test: &str) -> String {
    format!(
        "/multipart-tests/{test}-{}-{}",
        js_sys::Date::now() as u64,
        (js_sys::Math::random() * 1e9) as u64
    )
}

/// `len` pseudo-random bytes as a File, built from distinct 1 MiB chunks (xorshift per chunk).
fn random_file(len: usize, seed: u64, name: &str) -> File {
    let parts = Array::new();
    let mut left = len;
    let mut chunk_seed = seed;
    while left > 0 {
        let n = left.min(MIB);
        let mut state = chunk_seed | 1;
        let bytes: Vec<u8> = (0..n)
            .map(|_| {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
            })
            .collect();
        parts.push(&Uint8Array::from(bytes.as_slice()));
        left -= n;
        chunk_seed = chunk_seed.wrapping_add(0x9E37_79B9);
    }
    let bag = FilePropertyBag::new();
    bag.set_type("application/octet-stream");
    File::new_with_u8_array_sequence_and_options(&parts, name, &bag).expect("new File")
}

async fn bytes_of(blob: &Blob) -> Vec<u8> {
    Uint8Array::new(
        &JsFuture::from(blob.array_buffer())
            .await
            .expect("arrayBuffer"),
    )
    .to_vec()
}

/// Compares two Blobs 1 MiB at a time.
async fn assert_same_bytes(a: &Blob, b: &Blob) {
    assert_eq!(a.size(), b.size(), "sizes differ");
    let size = a.size() as usize;
    let mut offset = 0;
    while offset < size {
        let end = (offset + MIB).min(size);
        let x = bytes_of(&a.slice_with_f64_and_f64(offset as f64, end as f64).unwrap()).await;
        let y = bytes_of(&b.slice_with_f64_and_f64(offset as f64, end as f64).unwrap()).await;
        assert!(x == y, "bytes differ in {offset}..{end}");
        offset = end;
    }
}

async fn http(method: &str, path: &str, body: Option<Value>) -> Value {
    let init = RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().unwrap();
    headers.set("X-API-Key", "demo-key").unwrap();
    // The test hooks and a look at any upload need the app's admin key (tests/server.mjs).
    headers
        .set(
            "Authorization",
            "Bearer test-admin-key-demo-0123456789abcdef",
        )
        .unwrap();
    if let Some(body) = body {
        headers.set("Content-Type", "application/json").unwrap();
        init.set_body(&body.to_string().into());
    }
    init.set_headers(&headers);
    let window = web_sys::window().unwrap();
    let response: Response =
        JsFuture::from(window.fetch_with_str_and_init(&format!("{}{path}", server()), &init))
            .await
            .expect("fetch")
            .unchecked_into();
    let text = JsFuture::from(response.text().unwrap())
        .await
        .unwrap()
        .as_string()
        .unwrap();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Built against a server with `--direct-to-store` (`STOWAGE_TEST_DIRECT`, as `npm test`'s
/// cluster step does): parts go to the object store's own URLs, past the server's part route
/// and its test hooks.
fn direct() -> bool {
    option_env!("STOWAGE_TEST_DIRECT").is_some()
}

/// Whether a test of the server's part route (its hooks, its part listing, its signatures)
/// is left out because parts go straight to the store; says so in the log.
fn needs_part_route(test: &str) -> bool {
    if direct() {
        web_sys::console::log_1(
            &format!("{test}: not run with --direct-to-store (tests the server's part route)")
                .into(),
        );
    }
    direct()
}

/// Replaces the server's fault rules (and zeroes its part counters).
async fn faults(rules: Value) {
    let answer = http("POST", "/v1/test/faults", Some(json!({ "rules": rules }))).await;
    assert!(
        answer.get("partPuts").is_some(),
        "the devserver must run with --unsafe-test-hooks: {answer}"
    );
}

async fn stats() -> Value {
    http("GET", "/v1/test/stats", None).await
}

/// Options with an `onProgress` that records every report.
fn options_with_progress(
    fields: &[(&str, JsValue)],
    log: &Rc<RefCell<Vec<(f64, f64)>>>,
) -> (JsMultipartOptions, Closure<dyn Fn(f64, f64)>) {
    let log = Rc::clone(log);
    let callback = Closure::<dyn Fn(f64, f64)>::new(move |loaded, total| {
        log.borrow_mut().push((loaded, total));
    });
    let o = object(fields);
    Reflect::set(&o, &"onProgress".into(), callback.as_ref()).unwrap();
    (o.unchecked_into(), callback)
}

fn field(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &key.into()).unwrap()
}

fn assert_monotonic_to(log: &[(f64, f64)], total: f64) {
    assert!(!log.is_empty(), "no progress reported");
    for w in log.windows(2) {
        assert!(
            w[1].0 >= w[0].0,
            "progress went backwards: {:?} then {:?}",
            w[0],
            w[1]
        );
    }
    assert_eq!(
        log.last().copied(),
        Some((total, total)),
        "progress must end at the total"
    );
}

async fn upload_and_check(size: usize, seed: u64, concurrency: u32, checksum: &str) {
    let dir = fresh_dir(&format!("size-{size}-{checksum}"));
    let file = random_file(size, seed, "data.bin");
    let log = Rc::new(RefCell::new(Vec::new()));
    let (options, _cb) = options_with_progress(
        &[
            ("partSize", (PART as f64).into()),
            ("concurrency", concurrency.into()),
            ("checksum", checksum.into()),
        ],
        &log,
    );
    let c = client();
    let result = c
        .upload_multipart(file.clone().into(), dir.clone(), Some(options))
        .await
        .expect("uploadMultipart");
    let result: JsValue = result.into();
    assert_eq!(field(&result, "size").as_f64(), Some(size as f64));
    assert!(field(&result, "url")
        .as_string()
        .unwrap()
        .ends_with("/data.bin"));
    if checksum == "none" {
        assert!(field(&result, "checksum").is_undefined());
    } else {
        // The server's whole-file checksum equals the one computed here over the whole file.
        let local = stowage::hash_part(file.clone().into(), Some(checksum.into()))
            .await
            .unwrap();
        assert_eq!(field(&result, "checksum").as_string(), Some(local));
    }
    assert_monotonic_to(&log.borrow(), size as f64);
    let downloaded = c
        .download(format!("{dir}/data.bin"), None)
        .await
        .expect("download");
    assert_same_bytes(&downloaded, &file).await;
}

#[wasm_bindgen_test]
async fn a_64_mib_file_in_5_mib_parts_at_concurrency_4_downloads_byte_equal() {
    faults(json!([])).await;
    upload_and_check(64 * MIB + 12_345, 1, 4, "crc32c").await;
    if !direct() {
        assert!(stats().await["maxPartsInFlight"].as_u64().unwrap() <= 4);
    }
}

#[wasm_bindgen_test]
async fn an_exact_multiple_of_the_part_size_and_a_file_smaller_than_one_part() {
    upload_and_check(4 * PART, 2, 4, "crc32c").await;
    upload_and_check(MIB + 7, 3, 4, "crc32c").await;
}

#[wasm_bindgen_test]
async fn sha256_and_no_checksum_work_too() {
    upload_and_check(2 * PART + 1, 4, 2, "sha256").await;
    upload_and_check(PART + 1, 5, 2, "none").await;
}

#[wasm_bindgen_test]
async fn failures_drops_and_throttling_are_retried_with_monotonic_progress() {
    if needs_part_route("failures_drops_and_throttling_are_retried_with_monotonic_progress") {
        return;
    }
    faults(json!([
        {"nth": 2, "kind": "fail"},
        {"nth": 4, "kind": "drop"},
        {"nth": 5, "kind": "slowDown", "retryAfter": 1},
        {"nth": 0, "kind": "delay", "ms": 30},
    ]))
    .await;
    let size = 6 * PART + 99;
    let file = random_file(size, 6, "retried.bin");
    let log = Rc::new(RefCell::new(Vec::new()));
    let retry = object(&[("baseDelayMs", 50.into()), ("maxDelayMs", 500.into())]);
    let (options, _cb) = options_with_progress(
        &[
            ("partSize", (PART as f64).into()),
            ("concurrency", 3.into()),
            ("retry", retry.into()),
        ],
        &log,
    );
    let dir = fresh_dir("faults");
    let c = client();
    let result = c
        .upload_multipart(file.clone().into(), dir.clone(), Some(options))
        .await;
    let counters = stats().await;
    faults(json!([])).await;
    let result: JsValue = result
        .expect("the upload survives the injected faults")
        .into();
    assert_eq!(field(&result, "size").as_f64(), Some(size as f64));
    assert_monotonic_to(&log.borrow(), size as f64);
    assert!(
        counters["partPuts"].as_u64().unwrap() >= 7 + 3,
        "three parts were sent twice: {counters}"
    );
    assert!(
        counters["maxPartsInFlight"].as_u64().unwrap() <= 3,
        "never more than concurrency in flight: {counters}"
    );
    let downloaded = c
        .download(format!("{dir}/retried.bin"), None)
        .await
        .unwrap();
    assert_same_bytes(&downloaded, &file).await;
}

#[wasm_bindgen_test]
async fn a_validation_failure_is_not_retried_and_rejects_typed() {
    if needs_part_route("a_validation_failure_is_not_retried_and_rejects_typed") {
        return;
    }
    // The ETag header hidden from the browser: the upload must stop with code 9001, not hang.
    faults(json!([{"nth": 0, "kind": "hideEtag"}])).await;
    let file = random_file(MIB, 7, "etag.bin");
    let options: JsMultipartOptions = object(&[
        ("partSize", (PART as f64).into()),
        ("concurrency", 1.into()),
    ])
    .unchecked_into();
    let error = client()
        .upload_multipart(file.into(), fresh_dir("etag"), Some(options))
        .await
        .expect_err("must reject");
    let counters = stats().await;
    faults(json!([])).await;
    assert_eq!(
        field(&error, "name").as_string().as_deref(),
        Some("StorageError")
    );
    assert_eq!(field(&error, "code").as_f64(), Some(9001.0));
    assert_eq!(
        counters["partPuts"].as_u64(),
        Some(1),
        "no retry of a validation error: {counters}"
    );
}

#[wasm_bindgen_test]
async fn a_reloaded_page_sends_only_the_missing_parts() {
    if needs_part_route("a_reloaded_page_sends_only_the_missing_parts") {
        return;
    }
    faults(json!([{"nth": 0, "kind": "delay", "ms": 150}])).await;
    let size = 6 * PART;
    let file = random_file(size, 8, "resume.bin");
    let dir = fresh_dir("resume");
    let options: JsMultipartOptions = object(&[
        ("partSize", (PART as f64).into()),
        ("concurrency", 1.into()),
    ])
    .unchecked_into();
    let first = client()
        .start_upload(file.clone().into(), dir.clone(), Some(options.clone()))
        .expect("startUpload");
    // Wait until the server holds two parts, then stop as a closed tab would (nothing told
    // the server). A part whose bytes were all sent may still land after the pause, so the
    // count is taken once the server has settled.
    while first.upload_id().is_none() {
        sleep(10).await;
    }
    let id = first.upload_id().expect("upload id known");
    loop {
        let held = http("GET", &format!("/v1/files/multipart/{id}"), None).await["parts"]
            .as_array()
            .map_or(0, Vec::len);
        if held >= 2 {
            break;
        }
        sleep(20).await;
    }
    first.pause();
    sleep(600).await;
    let held = http("GET", &format!("/v1/files/multipart/{id}"), None).await["parts"]
        .as_array()
        .unwrap()
        .len();
    assert!((2..6).contains(&held), "some parts held: {held}");
    faults(json!([])).await;
    // A new client, as a reload makes, given the same file.
    let result = client()
        .upload_multipart(file.clone().into(), dir.clone(), Some(options))
        .await
        .expect("resumed");
    let sent = stats().await["partPuts"].as_u64().unwrap();
    assert_eq!(sent as usize, 6 - held, "only the missing parts travel");
    assert_eq!(field(&result.into(), "size").as_f64(), Some(size as f64));
    let downloaded = client()
        .download(format!("{dir}/resume.bin"), None)
        .await
        .unwrap();
    assert_same_bytes(&downloaded, &file).await;
}

#[wasm_bindgen_test]
async fn pause_and_resume_finish_the_same_upload() {
    if needs_part_route("pause_and_resume_finish_the_same_upload") {
        return;
    }
    faults(json!([{"nth": 0, "kind": "delay", "ms": 100}])).await;
    let file = random_file(4 * PART, 9, "paused.bin");
    let dir = fresh_dir("pause");
    let options: JsMultipartOptions = object(&[
        ("partSize", (PART as f64).into()),
        ("concurrency", 2.into()),
        ("resume", false.into()),
    ])
    .unchecked_into();
    let task = client()
        .start_upload(file.clone().into(), dir.clone(), Some(options))
        .unwrap();
    while task.upload_id().is_none() {
        sleep(10).await;
    }
    let id = task.upload_id().unwrap();
    let held = |v: Value| v["parts"].as_array().map_or(0, Vec::len);
    while held(http("GET", &format!("/v1/files/multipart/{id}"), None).await) == 0 {
        sleep(20).await;
    }
    task.pause();
    assert_eq!(task.state().as_string().as_deref(), Some("paused"));
    sleep(100).await;
    task.resume();
    let result = JsFuture::from(js_sys::Promise::from(JsValue::from(task.done())))
        .await
        .expect("done");
    faults(json!([])).await;
    assert_eq!(field(&result, "size").as_f64(), Some((4 * PART) as f64));
    assert_eq!(task.state().as_string().as_deref(), Some("done"));
    let downloaded = client()
        .download(format!("{dir}/paused.bin"), None)
        .await
        .unwrap();
    assert_same_bytes(&downloaded, &file).await;
}

#[wasm_bindgen_test]
async fn abort_leaves_nothing_staged_on_the_server() {
    faults(json!([{"nth": 0, "kind": "delay", "ms": 100}])).await;
    let file = random_file(4 * PART, 10, "aborted.bin");
    let dir = fresh_dir("abort");
    let options: JsMultipartOptions = object(&[
        ("partSize", (PART as f64).into()),
        ("concurrency", 1.into()),
    ])
    .unchecked_into();
    let task = client()
        .start_upload(file.into(), dir.clone(), Some(options))
        .unwrap();
    while task.upload_id().is_none() {
        sleep(10).await;
    }
    sleep(250).await;
    let id = task.upload_id().unwrap();
    task.abort().await;
    faults(json!([])).await;
    assert_eq!(task.state().as_string().as_deref(), Some("aborted"));
    let error = JsFuture::from(js_sys::Promise::from(JsValue::from(task.done())))
        .await
        .expect_err("done rejects");
    assert_eq!(
        field(&error, "name").as_string().as_deref(),
        Some("AbortError")
    );
    let status = http("GET", &format!("/v1/files/multipart/{id}"), None).await;
    assert_eq!(
        status["code"],
        json!(7004),
        "the upload is gone on the server: {status}"
    );
    assert!(!client().exists(format!("{dir}/aborted.bin")).await.unwrap());
}

#[wasm_bindgen_test]
async fn building_blocks_and_what_the_server_refuses() {
    if needs_part_route("building_blocks_and_what_the_server_refuses") {
        return;
    }
    let c = client();
    let dir = fresh_dir("blocks");
    let file = random_file(PART + 10, 11, "blocks.bin");
    let plan = stowage::plan_parts_fn(file.size(), PART as f64).unwrap();
    let plan: Array = JsValue::from(plan).unchecked_into();
    assert_eq!(plan.length(), 2);
    let create = object(&[("partSize", (PART as f64).into())]);
    let upload: JsValue = c
        .create_multipart(
            dir.clone(),
            "blocks.bin".into(),
            file.size(),
            Some(create.unchecked_into()),
        )
        .await
        .unwrap()
        .into();
    let id = field(&upload, "uploadId").as_string().unwrap();
    let urls: Array =
        JsValue::from(c.presign_parts(id.clone(), vec![1.0, 2.0]).await.unwrap()).unchecked_into();
    let first = file.slice_with_f64_and_f64(0.0, PART as f64).unwrap();
    let second = file
        .slice_with_f64_and_f64(PART as f64, file.size())
        .unwrap();

    // A tampered URL and a wrong checksum are refused with their own codes.
    let url1 = field(&urls.get(0), "url").as_string().unwrap();
    let tampered = url1.replace("/1?", "/2?");
    let error = stowage::upload_part(
        JsValue::from(tampered).unchecked_into(),
        first.clone(),
        None,
    )
    .await
    .expect_err("tampered");
    assert_eq!(
        (
            field(&error, "code").as_f64(),
            field(&error, "status").as_f64()
        ),
        (Some(7003.0), Some(403.0))
    );
    let wrong = object(&[("checksum", "AAAAAA==".into())]);
    let error = stowage::upload_part(
        urls.get(0).unchecked_into(),
        first.clone(),
        Some(wrong.unchecked_into()),
    )
    .await
    .expect_err("bad crc");
    assert_eq!(field(&error, "code").as_f64(), Some(7001.0));

    let crc = stowage::hash_part(first.clone().into(), None)
        .await
        .unwrap();
    let with_crc = object(&[("checksum", crc.into())]);
    let one: JsValue = stowage::upload_part(
        urls.get(0).unchecked_into(),
        first,
        Some(with_crc.unchecked_into()),
    )
    .await
    .unwrap()
    .into();
    let two: JsValue = stowage::upload_part(urls.get(1).unchecked_into(), second, None)
        .await
        .unwrap()
        .into();
    let status: JsValue = c.list_parts(id.clone()).await.unwrap().into();
    assert_eq!(Array::from(&field(&status, "parts")).length(), 2);

    // Complete with a part missing, then with a wrong ETag: refused, nothing visible.
    let part =
        |n: f64, etag: JsValue| JsValue::from(object(&[("partNumber", n.into()), ("etag", etag)]));
    let missing = Array::of1(&part(1.0, field(&one, "etag")));
    let error = c
        .complete_multipart(id.clone(), JsValue::from(missing).unchecked_into())
        .await
        .expect_err("missing");
    assert_eq!(field(&error, "code").as_f64(), Some(7005.0));
    let wrong = Array::of2(
        &part(1.0, field(&one, "etag")),
        &part(2.0, "\"nope\"".into()),
    );
    let error = c
        .complete_multipart(id.clone(), JsValue::from(wrong).unchecked_into())
        .await
        .expect_err("wrong etag");
    assert_eq!(field(&error, "code").as_f64(), Some(7006.0));
    assert!(!c.exists(format!("{dir}/blocks.bin")).await.unwrap());

    let all = Array::of2(
        &part(1.0, field(&one, "etag")),
        &part(2.0, field(&two, "etag")),
    );
    let done: JsValue = c
        .complete_multipart(id.clone(), JsValue::from(all).unchecked_into())
        .await
        .unwrap()
        .into();
    assert_eq!(field(&done, "size").as_f64(), Some(file.size()));
    let downloaded = c.download(format!("{dir}/blocks.bin"), None).await.unwrap();
    assert_same_bytes(&downloaded, &file).await;
    c.abort_multipart(id.clone())
        .await
        .expect("abort after complete is harmless");
}

/// `hashPart` of a Blob (read 8 MiB at a time) and of the same bytes in memory, as an
/// `ArrayBuffer`, a view at an offset and a `DataView`, against the `crc32c` and `sha2` crates
/// (the library's CRC32C is its own slicing-by-16 code, so these are independent).
#[wasm_bindgen_test]
async fn hash_part_of_a_blob_and_of_bytes_in_memory_agree_with_an_independent_crc32c() {
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    // Past one 8 MiB read, and not a multiple of 16 (the tail takes the byte-at-a-time path).
    let len = 9 * MIB + 3;
    let file = random_file(len, 77, "hash.bin");
    let bytes = bytes_of(&file).await;
    let crc = b64(&crc32c::crc32c(&bytes).to_be_bytes());
    let sha = b64(&<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let hash =
        |value: JsValue, algorithm: &str| stowage::hash_part(value, Some(algorithm.to_owned()));

    assert_eq!(hash(file.clone().into(), "crc32c").await.unwrap(), crc);
    let array = Uint8Array::from(bytes.as_slice());
    assert_eq!(hash(array.buffer().into(), "crc32c").await.unwrap(), crc);
    let padded = Uint8Array::new_with_length(u32::try_from(len + 5).unwrap());
    padded.fill(0xA5, 0, 5);
    padded.set(&array, 5);
    let view = padded.subarray(5, u32::try_from(len + 5).unwrap());
    assert_eq!(hash(view.into(), "crc32c").await.unwrap(), crc);
    let data_view = js_sys::DataView::new(&padded.buffer(), 5, len);
    assert_eq!(hash(data_view.into(), "crc32c").await.unwrap(), crc);
    // The bytes before the view are not hashed: the whole padded buffer gives another CRC.
    assert_ne!(hash(padded.buffer().into(), "crc32c").await.unwrap(), crc);

    assert_eq!(hash(file.into(), "sha256").await.unwrap(), sha);
    assert_eq!(hash(array.buffer().into(), "sha256").await.unwrap(), sha);
    let empty = js_sys::ArrayBuffer::new(0);
    assert_eq!(hash(empty.into(), "crc32c").await.unwrap(), "AAAAAA==");

    for wrong in [
        JsValue::from_str("bytes"),
        JsValue::from_f64(3.0),
        Array::new().into(),
    ] {
        let error = hash(wrong, "crc32c").await.expect_err("not bytes");
        assert!(
            Reflect::get(&error, &"message".into())
                .unwrap()
                .as_string()
                .unwrap()
                .contains("hashPart takes a Blob"),
            "{error:?}"
        );
    }
}

#[wasm_bindgen_test]
async fn the_wasm_heap_stays_bounded_during_a_large_upload() {
    let before = stowage::wasm_memory_bytes();
    upload_and_check(96 * MIB, 12, 4, "crc32c").await;
    let after = stowage::wasm_memory_bytes();
    web_sys::console::log_1(
        &format!(
            "wasm memory: {:.1} MiB before, {:.1} MiB after a 96 MiB upload",
            before / MIB as f64,
            after / MIB as f64
        )
        .into(),
    );
    assert!(
        after <= (16 + 4) as f64 * MIB as f64,
        "wasm memory {after} over 16 MiB + concurrency × 1 MiB"
    );
}

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}
