//! Browser tests of the record-first Files API (`createFile`, `getFiles`, `listFiles`,
//! `listFilesPage`, `updateFiles`, `deleteFiles`, `downloadUrls`) against a real
//! `stowage-devserver` serving `{baseUrl}/api/v1/projects/{appId}/files`; helpers in `common/`.
//! Every test names its records with its own fresh `externalId` prefix, so reruns against one
//! server do not collide. The argument checks at the end need no server.
#![cfg(target_arch = "wasm32")]

use std::collections::BTreeSet;

use js_sys::{Array, AsyncIterator, Function, Object, Promise, Reflect, Symbol, Uint8Array};
use stowage::{
    JsCreateFileOptions, JsFileChanges, JsFileFilter, JsFileIdentities, JsFileInfo,
    JsFileListOptions, JsFilePageOptions, JsGetFilesOptions, StorageClient,
};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::AbortController;

mod common;
use common::*;

wasm_bindgen_test_configure!(run_in_browser);

// ---------------------------------------------------------------- helpers

/// An `externalId` prefix no other test or earlier run uses.
fn fresh_prefix(test: &str) -> String {
    let stamp = js_sys::Date::now() as u64;
    let nonce = (js_sys::Math::random() * 1e9) as u64;
    format!("wasm-records/{test}-{stamp}-{nonce}/")
}

fn prop(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &key.into()).expect("read a field")
}

fn id_of(record: &JsValue) -> f64 {
    prop(record, "id")
        .as_f64()
        .expect("a record has a numeric id")
}

fn text_of(record: &JsValue, key: &str) -> String {
    prop(record, key)
        .as_string()
        .unwrap_or_else(|| panic!("{key} is a string in {}", json(record)))
}

fn json(value: &JsValue) -> String {
    js_sys::JSON::stringify(value).map_or_else(|_| format!("{value:?}"), String::from)
}

fn info(fields: &[(&str, JsValue)]) -> JsFileInfo {
    object(fields).unchecked_into()
}

fn metadata(pairs: &[(&str, &str)]) -> JsValue {
    let fields: Vec<(&str, JsValue)> = pairs.iter().map(|(k, v)| (*k, (*v).into())).collect();
    object(&fields).into()
}

fn identities(values: &[JsValue]) -> JsFileIdentities {
    values.iter().collect::<Array>().unchecked_into()
}

fn get_options(ignore_unknown_ids: bool) -> JsGetFilesOptions {
    object(&[("ignoreUnknownIds", ignore_unknown_ids.into())]).unchecked_into()
}

async fn settle(promise: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(promise).await
}

fn array(value: &JsValue) -> Vec<JsValue> {
    assert!(Array::is_array(value), "not an array: {}", json(value));
    Array::from(value).to_vec()
}

/// Creates a record (with content when given) and answers it; panics on failure.
async fn create(c: &StorageClient, fields: &[(&str, JsValue)], content: Option<&[u8]>) -> JsValue {
    let content = content.map(|bytes| blob(bytes, "application/octet-stream"));
    settle(c.create_file(info(fields), content, None))
        .await
        .unwrap_or_else(|e| panic!("createFile {}: {:?}", json(&object(fields)), rejection(e)))
}

async fn get_files(c: &StorageClient, ids: &[JsValue]) -> Vec<JsValue> {
    let found = settle(c.get_files(&identities(ids), None))
        .await
        .unwrap_or_else(|e| panic!("getFiles: {:?}", rejection(e)));
    array(&found)
}

/// Every record `listFiles` hands out, by `next()` one at a time.
async fn list_all(c: &StorageClient, filter: &JsValue, limit: u32) -> Vec<JsValue> {
    let options: JsFileListOptions = object(&[("limit", limit.into())]).unchecked_into();
    let records = c
        .list_files(Some(filter.clone().unchecked_into()), Some(options))
        .expect("listFiles");
    let iterator: &AsyncIterator = records.unchecked_ref();
    let mut out = Vec::new();
    loop {
        let step = settle(iterator.next().expect("next()"))
            .await
            .unwrap_or_else(|e| panic!("next(): {:?}", rejection(e)));
        if prop(&step, "done").as_bool() == Some(true) {
            assert!(prop(&step, "value").is_undefined());
            return out;
        }
        out.push(prop(&step, "value"));
        assert!(out.len() <= 100, "the listing does not end");
    }
}

// ---------------------------------------------------------------- createFile

#[wasm_bindgen_test]
async fn create_file_with_a_unicode_name_metadata_and_content() {
    let c = client();
    let external_id = format!("{}naïve ✓", fresh_prefix("create"));
    let bytes = pseudo_random(300 * 1024, 81);
    let log = ProgressLog::new();
    let options: JsCreateFileOptions = object(&[("onProgress", log.function())]).unchecked_into();
    let fields = [
        ("name", "naïve résumé ✓.txt".into()),
        ("externalId", external_id.as_str().into()),
        ("directory", "/wasm-tests/records".into()),
        ("source", "wasm-tests".into()),
        ("metadata", metadata(&[("kind", "tëst ✓"), ("n", "1")])),
    ];
    let content = file(&bytes, "ignored.bin", "text/plain");
    let record = settle(c.create_file(info(&fields), Some(content.into()), Some(options)))
        .await
        .unwrap_or_else(|e| panic!("createFile: {:?}", rejection(e)));

    log.assert_complete(bytes.len() as f64, true);
    assert_eq!(text_of(&record, "name"), "naïve résumé ✓.txt");
    assert_eq!(text_of(&record, "externalId"), external_id);
    assert_eq!(text_of(&record, "directory"), "/wasm-tests/records");
    // Not given: taken from the Blob's type, and sent as the upload's Content-Type.
    assert_eq!(text_of(&record, "mimeType"), "text/plain");
    let meta = prop(&record, "metadata");
    assert_eq!(text_of(&meta, "kind"), "tëst ✓");
    assert_eq!(text_of(&meta, "n"), "1");
    assert_eq!(
        prop(&record, "uploaded").as_bool(),
        Some(true),
        "{}",
        json(&record)
    );
    let id = id_of(&record);
    assert!(
        id >= 1.0 && id.fract() == 0.0 && id <= 9_007_199_254_740_991.0,
        "{id}"
    );
    assert!(prop(&record, "createdTime").as_f64().is_some());
    assert!(prop(&record, "lastUpdatedTime").as_f64().is_some());
    assert!(prop(&record, "uploadedTime").as_f64().is_some());
    assert!(
        prop(&record, "uploadUrl").is_undefined(),
        "the read-back record has no uploadUrl"
    );
}

#[wasm_bindgen_test]
async fn create_file_without_content_answers_the_upload_url() {
    let c = client();
    let external_id = format!("{}empty", fresh_prefix("no-content"));
    let record = create(
        &c,
        &[
            ("name", "later.bin".into()),
            ("externalId", external_id.as_str().into()),
        ],
        None,
    )
    .await;
    assert_eq!(prop(&record, "uploaded").as_bool(), Some(false));
    let upload_url = text_of(&record, "uploadUrl");
    assert!(
        upload_url.starts_with("http://") || upload_url.starts_with("https://"),
        "{upload_url}"
    );
}

#[wasm_bindgen_test]
async fn aborting_the_upload_leaves_the_record_not_uploaded() {
    let c = client();
    let external_id = format!("{}big", fresh_prefix("abort"));
    let controller = AbortController::new().expect("AbortController");
    let on_progress = {
        let controller = controller.clone();
        Closure::<dyn Fn(f64, f64)>::new(move |loaded: f64, total: f64| {
            if loaded < total {
                controller.abort();
            }
        })
    };
    let options: JsCreateFileOptions = object(&[
        ("onProgress", on_progress.as_ref().clone()),
        ("signal", controller.signal().into()),
    ])
    .unchecked_into();
    let big = big_blob(&pseudo_random(MIB, 17), 64);
    let fields = [
        ("name", "big.bin".into()),
        ("externalId", external_id.as_str().into()),
    ];
    let result = settle(c.create_file(info(&fields), Some(big), Some(options))).await;
    let e = match result {
        Ok(record) => panic!(
            "the upload finished before it could be aborted: {}",
            json(&record)
        ),
        Err(e) => rejection(e),
    };
    assert_eq!(
        (e.name.as_str(), e.code, e.status),
        ("AbortError", 0.0, 0.0),
        "{e:?}"
    );

    let found = get_files(&c, &[external_id.as_str().into()]).await;
    assert_eq!(found.len(), 1);
    assert_eq!(
        prop(&found[0], "uploaded").as_bool(),
        Some(false),
        "{}",
        json(&found[0])
    );
}

#[wasm_bindgen_test]
async fn a_duplicate_external_id_rejects_with_409_unless_overwrite() {
    let c = client();
    let external_id = format!("{}dup", fresh_prefix("duplicate"));
    let fields = [
        ("name", "a.txt".into()),
        ("externalId", external_id.as_str().into()),
    ];
    let first = create(&c, &fields, Some(b"first")).await;

    let again =
        settle(c.create_file(info(&fields), Some(blob(b"second", "text/plain")), None)).await;
    let error = again.expect_err("a second record with the same externalId must be refused");
    let e = rejection(error.clone());
    assert_eq!(
        (e.name.as_str(), e.status),
        ("StorageError", 409.0),
        "{e:?}"
    );
    let duplicated = prop(&error, "duplicated");
    if !duplicated.is_undefined() {
        let named: Vec<String> = array(&duplicated)
            .iter()
            .filter_map(|d| prop(d, "externalId").as_string())
            .collect();
        assert_eq!(named, vec![external_id.clone()], "{}", json(&duplicated));
    }

    let options: JsCreateFileOptions = object(&[("overwrite", true.into())]).unchecked_into();
    let replaced = settle(c.create_file(
        info(&fields),
        Some(blob(b"second", "text/plain")),
        Some(options),
    ))
    .await
    .unwrap_or_else(|e| panic!("createFile with overwrite: {:?}", rejection(e)));
    assert_eq!(text_of(&replaced, "externalId"), external_id);
    assert_eq!(prop(&replaced, "uploaded").as_bool(), Some(true));
    assert_eq!(id_of(&replaced), id_of(&first), "overwrite keeps the id");
    let found = get_files(&c, &[external_id.as_str().into()]).await;
    assert_eq!(found.len(), 1, "one record per externalId");
}

// ---------------------------------------------------------------- getFiles

#[wasm_bindgen_test]
async fn get_files_by_id_and_external_id() {
    let c = client();
    let prefix = fresh_prefix("get");
    let a = create(
        &c,
        &[
            ("name", "a".into()),
            ("externalId", format!("{prefix}a").into()),
        ],
        None,
    )
    .await;
    let b = create(
        &c,
        &[
            ("name", "b".into()),
            ("externalId", format!("{prefix}b").into()),
        ],
        None,
    )
    .await;
    let (id_a, id_b) = (id_of(&a), id_of(&b));

    // Plain ids and external ids, in the order asked.
    let found = get_files(&c, &[format!("{prefix}b").into(), id_a.into()]).await;
    let ids: Vec<f64> = found.iter().map(id_of).collect();
    assert_eq!(ids, [id_b, id_a]);
    assert_eq!(text_of(&found[0], "name"), "b");

    // Identity objects, and whole records.
    let by_objects = get_files(
        &c,
        &[
            object(&[("id", id_b.into())]).into(),
            object(&[("externalId", format!("{prefix}a").into())]).into(),
            a.clone(),
        ],
    )
    .await;
    let ids: Vec<f64> = by_objects.iter().map(id_of).collect();
    assert_eq!(ids, [id_b, id_a, id_a]);

    // Unknown ids: skipped when asked, refused otherwise.
    let unknown: JsValue = format!("{prefix}missing").into();
    let some = settle(c.get_files(
        &identities(&[unknown.clone(), id_a.into()]),
        Some(get_options(true)),
    ))
    .await
    .unwrap_or_else(|e| panic!("getFiles ignoreUnknownIds: {:?}", rejection(e)));
    let ids: Vec<f64> = array(&some).iter().map(id_of).collect();
    assert_eq!(ids, [id_a]);
    let refused = settle(c.get_files(&identities(&[unknown]), None)).await;
    let error = refused.expect_err("an unknown externalId must be refused");
    let e = rejection(error.clone());
    assert_eq!(
        (e.name.as_str(), e.status),
        ("StorageError", 400.0),
        "{e:?}"
    );
    let missing = prop(&error, "missing");
    if !missing.is_undefined() {
        assert_eq!(array(&missing).len(), 1, "{}", json(&missing));
    }
}

// ---------------------------------------------------------------- listFiles

#[wasm_bindgen_test]
async fn list_files_iterates_over_more_than_one_page_without_repeats() {
    let c = client();
    let prefix = fresh_prefix("list");
    let mut created = BTreeSet::new();
    for i in 0..5 {
        let fields = [
            ("name", format!("f{i}.txt").into()),
            ("externalId", format!("{prefix}{i}").into()),
        ];
        created.insert(id_of(&create(&c, &fields, None).await) as u64);
    }
    let filter: JsValue = object(&[("externalIdPrefix", prefix.as_str().into())]).into();

    let listed = list_all(&c, &filter, 2).await;
    let ids: Vec<u64> = listed.iter().map(|r| id_of(r) as u64).collect();
    let unique: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert_eq!(unique, created, "every record once: {ids:?}");

    // `for await` takes it as is: `[Symbol.asyncIterator]()` answers the iterator itself.
    let records = c
        .list_files(Some(filter.clone().unchecked_into()), None)
        .expect("listFiles");
    let method: Function = Reflect::get(&records, &Symbol::async_iterator())
        .expect("read [Symbol.asyncIterator]")
        .dyn_into()
        .expect("[Symbol.asyncIterator] is a function");
    let itself = method.call0(&records).expect("call [Symbol.asyncIterator]");
    assert!(Object::is(&itself, &records));

    // next() called three times without awaiting still hands out distinct records in order.
    let options: JsFileListOptions = object(&[("limit", 2.into())]).unchecked_into();
    let records = c
        .list_files(Some(filter.clone().unchecked_into()), Some(options))
        .expect("listFiles");
    let iterator: &AsyncIterator = records.unchecked_ref();
    let pending: Vec<Promise> = (0..3).map(|_| iterator.next().expect("next()")).collect();
    let mut first_three = Vec::new();
    for p in pending {
        let step = settle(p).await.expect("next() resolves");
        first_three.push(id_of(&prop(&step, "value")) as u64);
    }
    assert_eq!(first_three, ids[..3], "same order as one at a time");
}

#[wasm_bindgen_test]
async fn list_files_page_follows_next_cursor() {
    let c = client();
    let prefix = fresh_prefix("page");
    for i in 0..3 {
        let fields = [
            ("name", format!("p{i}").into()),
            ("externalId", format!("{prefix}{i}").into()),
        ];
        create(&c, &fields, None).await;
    }
    let filter = || -> JsFileFilter {
        object(&[("externalIdPrefix", prefix.as_str().into())]).unchecked_into()
    };
    let options = |cursor: Option<&str>| -> JsFilePageOptions {
        let mut fields = vec![("limit", JsValue::from(2))];
        if let Some(cursor) = cursor {
            fields.push(("cursor", cursor.into()));
        }
        object(&fields).unchecked_into()
    };
    let first = settle(c.list_files_page(Some(filter()), Some(options(None))))
        .await
        .unwrap_or_else(|e| panic!("listFilesPage: {:?}", rejection(e)));
    assert_eq!(array(&prop(&first, "items")).len(), 2);
    let cursor = prop(&first, "nextCursor")
        .as_string()
        .expect("a first page of 2 out of 3 has a nextCursor");
    let second = settle(c.list_files_page(Some(filter()), Some(options(Some(&cursor)))))
        .await
        .unwrap_or_else(|e| panic!("listFilesPage with cursor: {:?}", rejection(e)));
    assert_eq!(array(&prop(&second, "items")).len(), 1);
    assert!(
        prop(&second, "nextCursor").is_undefined() || prop(&second, "nextCursor").is_null(),
        "{}",
        json(&second)
    );
}

// ---------------------------------------------------------------- updateFiles

#[wasm_bindgen_test]
async fn update_files_sets_adds_and_clears_fields() {
    let c = client();
    let prefix = fresh_prefix("update");
    let external_id = format!("{prefix}u");
    let record = create(
        &c,
        &[
            ("name", "u.txt".into()),
            ("externalId", external_id.as_str().into()),
            ("source", "old".into()),
            ("metadata", metadata(&[("keep", "1"), ("drop", "2")])),
        ],
        None,
    )
    .await;
    let id = id_of(&record);
    let update = object(&[
        ("directory", object(&[("set", "/moved ✓".into())]).into()),
        ("source", object(&[("setNull", true.into())]).into()),
        (
            "metadata",
            object(&[
                ("add", metadata(&[("new", "3")])),
                ("remove", Array::of1(&"drop".into()).into()),
            ])
            .into(),
        ),
    ]);
    let changes: JsFileChanges =
        Array::of1(&object(&[("id", id.into()), ("update", update.into())])).unchecked_into();
    let updated = settle(c.update_files(&changes))
        .await
        .unwrap_or_else(|e| panic!("updateFiles: {:?}", rejection(e)));
    let updated = array(&updated);
    assert_eq!(updated.len(), 1);
    for r in [
        updated[0].clone(),
        get_files(&c, &[id.into()]).await.remove(0),
    ] {
        assert_eq!(text_of(&r, "directory"), "/moved ✓", "{}", json(&r));
        assert!(prop(&r, "source").is_undefined() || prop(&r, "source").is_null());
        let meta = prop(&r, "metadata");
        assert_eq!(text_of(&meta, "keep"), "1");
        assert_eq!(text_of(&meta, "new"), "3");
        assert!(prop(&meta, "drop").is_undefined(), "{}", json(&meta));
        assert_eq!(text_of(&r, "externalId"), external_id);
    }
}

// ---------------------------------------------------------------- downloadUrls

#[wasm_bindgen_test]
async fn download_urls_serve_the_uploaded_bytes() {
    let c = client();
    let prefix = fresh_prefix("download");
    let bytes = pseudo_random(70_000, 5);
    let external_id = format!("{prefix}d");
    let record = create(
        &c,
        &[
            ("name", "d.bin".into()),
            ("externalId", external_id.as_str().into()),
        ],
        Some(&bytes),
    )
    .await;
    let id = id_of(&record);
    let links = settle(c.download_urls(&identities(&[id.into(), external_id.as_str().into()])))
        .await
        .unwrap_or_else(|e| panic!("downloadUrls: {:?}", rejection(e)));
    let links = array(&links);
    assert_eq!(links.len(), 2, "{}", json(&links.iter().collect::<Array>()));
    assert_eq!(prop(&links[0], "id").as_f64(), Some(id));
    assert_eq!(
        prop(&links[1], "externalId").as_string().as_deref(),
        Some(external_id.as_str())
    );
    for link in &links {
        let url = text_of(link, "downloadUrl");
        let response = raw_fetch(&url, &[]).await;
        assert_eq!(response.status(), 200, "GET {url}");
        let buffer = JsFuture::from(response.array_buffer().expect("arrayBuffer()"))
            .await
            .expect("read the body");
        assert!(
            Uint8Array::new(&buffer).to_vec() == bytes,
            "the bytes differ"
        );
    }
}

// ---------------------------------------------------------------- deleteFiles

#[wasm_bindgen_test]
async fn delete_files_by_id_and_external_id() {
    let c = client();
    let prefix = fresh_prefix("delete");
    let a = create(
        &c,
        &[
            ("name", "a".into()),
            ("externalId", format!("{prefix}a").into()),
        ],
        Some(b"A"),
    )
    .await;
    create(
        &c,
        &[
            ("name", "b".into()),
            ("externalId", format!("{prefix}b").into()),
        ],
        None,
    )
    .await;
    let keep = create(
        &c,
        &[
            ("name", "c".into()),
            ("externalId", format!("{prefix}c").into()),
        ],
        None,
    )
    .await;

    let gone = identities(&[id_of(&a).into(), format!("{prefix}b").into()]);
    let done = settle(c.delete_files(&gone, None))
        .await
        .unwrap_or_else(|e| panic!("deleteFiles: {:?}", rejection(e)));
    assert!(done.is_undefined());

    let filter: JsValue = object(&[("externalIdPrefix", prefix.as_str().into())]).into();
    let left: Vec<f64> = list_all(&c, &filter, 10).await.iter().map(id_of).collect();
    assert_eq!(left, [id_of(&keep)]);
    let again = settle(c.delete_files(&identities(&[id_of(&a).into()]), None)).await;
    assert_eq!(rejection(again.expect_err("already deleted")).status, 400.0);
    settle(c.delete_files(&identities(&[id_of(&a).into()]), Some(get_options(true))))
        .await
        .unwrap_or_else(|e| panic!("deleteFiles ignoreUnknownIds: {:?}", rejection(e)));
}

// ---------------------------------------------------------------- module-level functions

#[wasm_bindgen_test]
async fn module_level_functions_use_the_configured_client() {
    stowage::configure(client_options(server(), "demo-key", None)).expect("configure");
    let prefix = fresh_prefix("module");
    let fields = [
        ("name", "m.txt".into()),
        ("externalId", format!("{prefix}m").into()),
    ];
    let record = settle(stowage::create_file_fn(
        info(&fields),
        Some(blob(b"M", "text/plain")),
        None,
    ))
    .await
    .unwrap_or_else(|e| panic!("createFile: {:?}", rejection(e)));
    let id = id_of(&record);
    let found = settle(stowage::get_files_fn(&identities(&[id.into()]), None))
        .await
        .unwrap_or_else(|e| panic!("getFiles: {:?}", rejection(e)));
    assert_eq!(array(&found).len(), 1);
    let filter: JsFileFilter =
        object(&[("externalIdPrefix", prefix.as_str().into())]).unchecked_into();
    let records = stowage::list_files_fn(Some(filter), None).expect("listFiles");
    let step = settle(
        records
            .unchecked_ref::<AsyncIterator>()
            .next()
            .expect("next()"),
    )
    .await
    .expect("next() resolves");
    assert_eq!(id_of(&prop(&step, "value")), id);
    settle(stowage::delete_files_fn(&identities(&[id.into()]), None))
        .await
        .unwrap_or_else(|e| panic!("deleteFiles: {:?}", rejection(e)));
}

// ---------------------------------------------------------------- argument checks (no server)

#[wasm_bindgen_test]
async fn bad_arguments_reject_with_type_errors_before_sending() {
    // Against a server that does not exist: anything sent would end in a NetworkError.
    let c = offline_client();
    let type_error = |result: Result<JsValue, JsValue>| {
        let error = result.expect_err("must reject");
        assert!(error.is_instance_of::<js_sys::TypeError>(), "{error:?}");
        rejection(error)
    };
    type_error(settle(c.get_files(&identities(&[true.into()]), None)).await);
    type_error(settle(c.get_files(&identities(&[0.into()]), None)).await);
    type_error(settle(c.get_files(&identities(&[1.5.into()]), None)).await);
    type_error(settle(c.get_files(&JsValue::from("x").unchecked_into(), None)).await);
    type_error(settle(c.delete_files(&identities(&["".into()]), None)).await);
    type_error(settle(c.download_urls(&identities(&[object(&[]).into()]))).await);
    // No name, and no File to take one from.
    type_error(settle(c.create_file(info(&[]), Some(blob(b"x", "")), None)).await);
    type_error(settle(c.create_file(info(&[("name", "".into())]), None, None)).await);
    type_error(settle(c.update_files(&JsValue::from(1).unchecked_into())).await);
    let bad_limit: JsFilePageOptions = object(&[("limit", 0.into())]).unchecked_into();
    type_error(settle(c.list_files_page(None, Some(bad_limit))).await);

    let thrown = c
        .list_files(Some(JsValue::from("x").unchecked_into()), None)
        .expect_err("a string is not a filter");
    assert!(thrown.is_instance_of::<js_sys::TypeError>(), "{thrown:?}");

    // Nothing to ask for: answered without a request.
    let none = settle(c.get_files(&identities(&[]), None))
        .await
        .expect("no ids");
    assert_eq!(array(&none).len(), 0);
}

#[wasm_bindgen_test]
async fn record_calls_without_a_server_are_network_errors() {
    let c = offline_client();
    let e = rejection(
        settle(c.get_files(&identities(&[1.into()]), None))
            .await
            .expect_err("nothing listens"),
    );
    assert_eq!(
        (e.name.as_str(), e.code, e.status),
        ("NetworkError", 0.0, 0.0),
        "{e:?}"
    );
}

#[wasm_bindgen_test]
async fn a_file_gives_its_name_when_info_has_none() {
    let c = offline_client();
    let controller = AbortController::new().expect("AbortController");
    controller.abort();
    let options: JsCreateFileOptions =
        object(&[("signal", controller.signal().into())]).unchecked_into();
    // The name check passes (the File has one), then the aborted signal stops it before sending.
    let content = file(b"x", "from-file.txt", "text/plain");
    let result = settle(c.create_file(info(&[]), Some(content.into()), Some(options))).await;
    let e = rejection(result.expect_err("aborted"));
    assert_eq!(e.name, "AbortError", "{e:?}");
}
