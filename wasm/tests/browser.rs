//! Browser tests of the JS-facing API (`StorageClient`, `configure` and the module-level
//! functions) against a real `stowage-devserver`, with real `File` and `Blob` objects.
//!
//! The server URL comes in at build time:
//! `STOWAGE_TEST_SERVER=http://127.0.0.1:8080 wasm-pack test --headless --chrome wasm`.
//! Every test works in its own fresh directory, so reruns against one server do not collide.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Reflect, Uint8Array};
use stowage::JsDownloadOptions;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::AbortController;

mod common;
use common::*;

wasm_bindgen_test_configure!(run_in_browser);

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

/// 256 MiB: on an idle machine Firefox sent 64 MiB over loopback in one progress step (the
/// whole upload inside its ~50 ms event spacing), so a smaller file cannot show steps.
#[wasm_bindgen_test]
async fn progress_of_a_large_upload_reports_steps_on_the_way() {
    let c = client();
    let dir = fresh_dir("progress-large");
    let parts = 256;
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
    // The library spaces its reports by its own clock (50 ms); the callback runs a moment after
    // it read that clock, later still on a loaded machine. So each gap seen here may come in a
    // little short, but never near the few ms between unthrottled browser progress events, and
    // on average the gaps keep the interval.
    let gaps: Vec<f64> = calls
        .windows(2)
        .filter(|pair| pair[1].1 < total)
        .map(|pair| pair[1].0 - pair[0].0)
        .collect();
    for gap in &gaps {
        assert!(*gap >= 25.0, "two reports {gap} ms apart: {calls:?}");
    }
    if !gaps.is_empty() {
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        assert!(
            mean >= 45.0,
            "reports {mean} ms apart on average: {calls:?}"
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
    // Big enough that the abort lands while the body is still on its way: WebKit reports its
    // first upload progress late, and a body that has wholly left the browser is a complete
    // upload to the server, which stores it even when the client goes before the answer.
    // WebKit's progress can also lag the bytes themselves (its network process sends them), so
    // a timer aborts as well, 40 ms in: well before 256 MiB can have left at loopback speed.
    let big = big_blob(&pseudo_random(MIB, 13), 256);
    let timer = {
        let controller = controller.clone();
        Closure::<dyn Fn()>::new(move || controller.abort())
    };
    web_sys::window()
        .expect("window")
        .set_timeout_with_callback_and_timeout_and_arguments_0(timer.as_ref().unchecked_ref(), 40)
        .expect("setTimeout");
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
    drop(timer);
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
