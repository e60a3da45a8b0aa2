//! Browser tests of access control through the client, against the test server's `locked` app
//! (default policy private: anonymous callers read only what visibility or rules make readable,
//! signed-in users create files that they then own, only the owner or the admin changes them).
//! Every test registers its own users (fresh emails) and works under its own fresh folder, with
//! files of a few bytes; helpers in `common/`. The argument checks need no server.
#![cfg(target_arch = "wasm32")]

use js_sys::Array;
use stowage::{JsFileInfo, JsGrantee, JsPermissionName, JsUserIds, JsVisibility, StorageClient};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

mod common;
use common::*;

wasm_bindgen_test_configure!(run_in_browser);

// ---------------------------------------------------------------- helpers

/// A folder of the locked app no other test or earlier run uses.
fn fresh(test: &str) -> String {
    let stamp = js_sys::Date::now() as u64;
    let nonce = (js_sys::Math::random() * 1e9) as u64;
    format!("/access-tests/{test}-{stamp}-{nonce}")
}

fn visibility(name: Option<&str>) -> JsVisibility {
    name.map_or(JsValue::NULL, JsValue::from_str)
        .unchecked_into()
}

fn user_ids(ids: &[&str]) -> JsUserIds {
    ids.iter()
        .map(|id| JsValue::from_str(id))
        .collect::<Array>()
        .unchecked_into()
}

fn permission(name: &str) -> JsPermissionName {
    JsValue::from_str(name).unchecked_into()
}

fn user(id: &str) -> JsGrantee {
    object(&[("user", id.into())]).unchecked_into()
}

/// Downloads `path`; answers the bytes or the rejection.
async fn read(c: &StorageClient, path: &str) -> Result<Vec<u8>, JsValue> {
    let blob = c.download(path.to_owned(), None).await?;
    Ok(bytes_of(&blob).await)
}

/// Uploads `bytes` over `dir/name` (overwrite on); answers the rejection if any.
async fn overwrite(c: &StorageClient, dir: &str, name: &str, bytes: &[u8]) -> Result<(), JsValue> {
    c.upload(
        file(bytes, name, "text/plain").into(),
        dir.to_owned(),
        Some(true),
        None,
    )
    .await
    .map(|_| ())
}

fn refused<T: std::fmt::Debug>(result: Result<T, JsValue>) -> Rejection {
    expect_storage_error(result, 4000.0, 403.0)
}

fn same_path(answered: &JsValue, path: &str) {
    assert_eq!(
        text_prop(answered, "path").trim_start_matches('/'),
        path.trim_start_matches('/'),
        "{}",
        to_json(answered)
    );
}

fn string_list(value: &JsValue) -> Vec<String> {
    assert!(Array::is_array(value), "not an array: {}", to_json(value));
    Array::from(value)
        .iter()
        .map(|v| v.as_string().expect("a string"))
        .collect()
}

fn names(entries: &JsValue) -> Vec<String> {
    Array::from(entries)
        .iter()
        .map(|e| text_prop(&e, "name"))
        .collect()
}

fn entry<'a>(entries: &'a [JsValue], name: &str) -> &'a JsValue {
    entries
        .iter()
        .find(|e| prop(e, "name").as_string().as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no entry {name}"))
}

// ---------------------------------------------------------------- who reads

#[wasm_bindgen_test]
async fn a_new_file_is_read_by_its_owner_only() {
    let ann = signed_in(LOCKED_APP, LOCKED_KEY, "ann").await;
    let bob = signed_in(LOCKED_APP, LOCKED_KEY, "bob").await;
    let anonymous = locked_client();
    let dir = fresh("owner-only");
    put(&ann.client, &dir, "a.txt", b"ann's").await;
    let path = format!("{dir}/a.txt");

    assert_eq!(get(&ann.client, &path).await, b"ann's");
    refused(read(&anonymous, &path).await);
    refused(read(&bob.client, &path).await);
    // The public URL is no way round it.
    let url = ann.client.file_url(&path).expect("fileUrl");
    refused(read(&anonymous, &url).await);
    assert_eq!(read(&ann.client, &url).await.expect("by URL"), b"ann's");
}

#[wasm_bindgen_test]
async fn visibility_decides_who_reads() {
    let ann = signed_in(LOCKED_APP, LOCKED_KEY, "ann").await;
    let bob = signed_in(LOCKED_APP, LOCKED_KEY, "bob").await;
    let anonymous = locked_client();
    let dir = fresh("visibility");
    put(&ann.client, &dir, "v.txt", b"seen").await;
    let path = format!("{dir}/v.txt");

    let public: JsValue = ann
        .client
        .set_visibility(path.clone(), visibility(Some("public")), None)
        .await
        .expect("public")
        .into();
    same_path(&public, &path);
    assert_eq!(text_prop(&public, "ownerId"), ann.id);
    assert_eq!(text_prop(&public, "visibility"), "public");
    assert!(string_list(&prop(&public, "sharedWith")).is_empty());
    assert_eq!(read(&anonymous, &path).await.expect("public"), b"seen");
    assert_eq!(read(&bob.client, &path).await.expect("public"), b"seen");

    ann.client
        .set_visibility(path.clone(), visibility(Some("private")), None)
        .await
        .expect("private");
    refused(read(&bob.client, &path).await);
    refused(read(&anonymous, &path).await);
    assert_eq!(get(&ann.client, &path).await, b"seen");

    let shared: JsValue = ann
        .client
        .share(path.clone(), user_ids(&[&bob.id]))
        .await
        .expect("share")
        .into();
    assert_eq!(text_prop(&shared, "visibility"), "shared");
    assert_eq!(string_list(&prop(&shared, "sharedWith")), [bob.id.as_str()]);
    assert_eq!(read(&bob.client, &path).await.expect("shared"), b"seen");
    refused(read(&anonymous, &path).await);

    ann.client
        .set_visibility(path.clone(), visibility(Some("protected")), None)
        .await
        .expect("protected");
    assert_eq!(read(&bob.client, &path).await.expect("protected"), b"seen");
    refused(read(&anonymous, &path).await);

    let unset: JsValue = ann
        .client
        .set_visibility(path.clone(), visibility(None), None)
        .await
        .expect("unset")
        .into();
    assert!(prop(&unset, "visibility").is_null(), "{}", to_json(&unset));
    refused(read(&bob.client, &path).await);

    // Only the owner (or the admin) changes who reads.
    refused(
        bob.client
            .set_visibility(path.clone(), visibility(Some("public")), None)
            .await,
    );
    refused(
        anonymous
            .set_visibility(path.clone(), visibility(Some("public")), None)
            .await,
    );
    refused(read(&anonymous, &path).await);
}

// ---------------------------------------------------------------- who changes

#[wasm_bindgen_test]
async fn only_the_owner_changes_a_file_until_a_grant_says_otherwise() {
    let ann = signed_in(LOCKED_APP, LOCKED_KEY, "ann").await;
    let bob = signed_in(LOCKED_APP, LOCKED_KEY, "bob").await;
    let dir = fresh("grants");
    put(&ann.client, &dir, "w.txt", b"v1").await;
    let path = format!("{dir}/w.txt");

    refused(overwrite(&bob.client, &dir, "w.txt", b"bob").await);
    refused(bob.client.remove(path.clone()).await);
    refused(bob.client.rename(path.clone(), "taken.txt".into()).await);
    refused(
        bob.client
            .grant(path.clone(), permission("WRITE"), user(&bob.id))
            .await,
    );
    assert_eq!(get(&ann.client, &path).await, b"v1");

    ann.client
        .grant(path.clone(), permission("WRITE"), user(&bob.id))
        .await
        .expect("grant");
    overwrite(&bob.client, &dir, "w.txt", b"v2")
        .await
        .expect("granted WRITE");
    assert_eq!(get(&ann.client, &path).await, b"v2");
    let rules = ann.client.permissions(path.clone()).await.expect("rules");
    let rules: Vec<JsValue> = Array::from(&rules).to_vec();
    assert!(
        rules.iter().any(|r| {
            prop(r, "permission").as_string().as_deref() == Some("WRITE")
                && prop(r, "type").as_string().as_deref() == Some("GRANT")
                && prop(r, "user").as_string() == Some(bob.id.clone())
        }),
        "{}",
        rules.iter().map(to_json).collect::<Vec<_>>().join(", ")
    );
    // WRITE is not DELETE.
    refused(bob.client.remove(path.clone()).await);

    ann.client
        .deny(path.clone(), permission("write"), user(&bob.id))
        .await
        .expect("deny");
    refused(overwrite(&bob.client, &dir, "w.txt", b"v3").await);
    assert_eq!(get(&ann.client, &path).await, b"v2");
}

#[wasm_bindgen_test]
async fn a_folder_operation_names_the_entry_that_blocks_it() {
    let ann = signed_in(LOCKED_APP, LOCKED_KEY, "ann").await;
    let bob = signed_in(LOCKED_APP, LOCKED_KEY, "bob").await;
    let dir = fresh("blocked");
    ann.client
        .create_directory(dir.clone())
        .await
        .expect("mkdir");
    put(&ann.client, &dir, "ann.txt", b"A").await;
    put(&bob.client, &dir, "bob.txt", b"B").await;

    let e = expect_storage_error(ann.client.remove(dir.clone()).await, 6023.0, 403.0);
    assert!(e.message.contains("bob.txt"), "{e:?}");
    assert_eq!(get(&ann.client, &format!("{dir}/ann.txt")).await, b"A");
    assert_eq!(get(&bob.client, &format!("{dir}/bob.txt")).await, b"B");
}

// ---------------------------------------------------------------- listings

#[wasm_bindgen_test]
async fn a_listing_shows_only_what_the_reader_may_read() {
    let ann = signed_in(LOCKED_APP, LOCKED_KEY, "ann").await;
    let bob = signed_in(LOCKED_APP, LOCKED_KEY, "bob").await;
    let dir = fresh("listing");
    bob.client
        .create_directory(dir.clone())
        .await
        .expect("mkdir");
    put(&bob.client, &dir, "bob.txt", b"B").await;
    put(&ann.client, &dir, "ann-private.txt", b"A").await;
    put(&ann.client, &dir, "ann-public.txt", b"P").await;
    ann.client
        .set_visibility(
            format!("{dir}/ann-public.txt"),
            visibility(Some("public")),
            None,
        )
        .await
        .expect("public");

    let listed: JsValue = bob
        .client
        .list(dir.clone(), None)
        .await
        .expect("list")
        .into();
    assert_eq!(names(&listed), ["ann-public.txt", "bob.txt"]);
    let entries = Array::from(&listed).to_vec();
    let mine = entry(&entries, "bob.txt");
    assert_eq!(text_prop(mine, "ownerId"), bob.id);
    assert!(prop(mine, "visibility").is_null(), "{}", to_json(mine));
    assert!(string_list(&prop(mine, "sharedWith")).is_empty());
    let public = entry(&entries, "ann-public.txt");
    assert_eq!(text_prop(public, "ownerId"), ann.id);
    assert_eq!(text_prop(public, "visibility"), "public");

    // With `sub`, and by pattern: still not there.
    let all: JsValue = bob
        .client
        .list(
            dir.clone(),
            Some(list_options(&[
                ("sub", true.into()),
                ("pattern", "ann*".into()),
            ])),
        )
        .await
        .expect("list")
        .into();
    assert_eq!(names(&all), ["ann-public.txt"]);
    refused(locked_client().list(dir.clone(), None).await);
}

// ---------------------------------------------------------------- sessions

#[wasm_bindgen_test]
async fn logout_kills_the_token() {
    let ann = signed_in(LOCKED_APP, LOCKED_KEY, "ann").await;
    let dir = fresh("logout");
    put(&ann.client, &dir, "l.txt", b"mine").await;
    let path = format!("{dir}/l.txt");
    let me: JsValue = ann.client.current_user().into();
    assert_eq!(text_prop(&me, "objectId"), ann.id);
    assert_eq!(text_prop(&me, "email"), ann.email);
    assert_eq!(text_prop(&me, "user-token"), ann.token);

    // A second client with the same token, as another tab would hold it.
    let other = StorageClient::new(app_options(
        LOCKED_APP,
        LOCKED_KEY,
        &[("userToken", ann.token.as_str().into())],
    ))
    .expect("client");
    let held: JsValue = other.current_user().into();
    assert_eq!(text_prop(&held, "user-token"), ann.token);
    assert_eq!(get(&other, &path).await, b"mine");

    ann.client.logout().await.expect("logout");
    assert!(JsValue::from(ann.client.current_user()).is_null());
    refused(read(&ann.client, &path).await);
    ann.client
        .logout()
        .await
        .expect("a second logout sends nothing");

    expect_storage_error(read(&other, &path).await, 3064.0, 401.0);
    assert!(
        JsValue::from(other.current_user()).is_null(),
        "the dead token was not dropped"
    );
    // From then on it calls as the anonymous user, not with the dead token.
    refused(read(&other, &path).await);

    // Signing in again gives a token that works.
    let again: JsValue = ann
        .client
        .login(ann.email.clone(), PASSWORD.into())
        .await
        .expect("login")
        .into();
    assert_ne!(text_prop(&again, "user-token"), ann.token);
    assert_eq!(get(&ann.client, &path).await, b"mine");
}

#[wasm_bindgen_test]
async fn register_and_login_refusals_keep_their_codes() {
    let ann = signed_in(LOCKED_APP, LOCKED_KEY, "ann").await;
    let anonymous = locked_client();
    let taken = object(&[
        ("email", ann.email.as_str().into()),
        ("password", PASSWORD.into()),
    ]);
    expect_storage_error(
        anonymous.register(taken.unchecked_into()).await,
        3033.0,
        409.0,
    );
    // One wrong password only: failures are limited per address, and three engines share one.
    expect_storage_error(
        anonymous
            .login(ann.email.clone(), "not the password".into())
            .await,
        3003.0,
        401.0,
    );
    assert!(JsValue::from(anonymous.current_user()).is_null());
    let user: JsValue = anonymous
        .login(ann.email.to_uppercase(), PASSWORD.into())
        .await
        .expect("the login is not case-sensitive")
        .into();
    assert_eq!(text_prop(&user, "objectId"), ann.id);
    let roles = string_list(&prop(&user, "roles"));
    assert!(roles.iter().any(|r| r == "AuthenticatedUser"), "{roles:?}");
}

#[wasm_bindgen_test]
async fn a_persisted_session_outlives_its_client() {
    let key = format!("stowage:{}:{LOCKED_APP}:session", server());
    let storage = web_sys::window()
        .expect("window")
        .local_storage()
        .expect("localStorage")
        .expect("localStorage");
    storage.remove_item(&key).expect("removeItem");
    let persisted = || {
        StorageClient::new(app_options(
            LOCKED_APP,
            LOCKED_KEY,
            &[("persistSession", true.into())],
        ))
        .expect("client")
    };

    let first = persisted();
    assert!(JsValue::from(first.current_user()).is_null());
    let email = fresh_email("kept");
    first
        .register(
            object(&[
                ("email", email.as_str().into()),
                ("password", PASSWORD.into()),
            ])
            .unchecked_into(),
        )
        .await
        .expect("register");
    let me: JsValue = first
        .login(email.clone(), PASSWORD.into())
        .await
        .expect("login")
        .into();
    let token = text_prop(&me, "user-token");
    let saved = storage.get_item(&key).expect("getItem").expect("saved");
    assert!(saved.contains(&token), "{saved}");
    let dir = fresh("persisted");
    put(&first, &dir, "p.txt", b"kept").await;

    // A client made later (after a reload, say) is signed in as the same user.
    let second = persisted();
    let restored: JsValue = second.current_user().into();
    assert_eq!(text_prop(&restored, "objectId"), text_prop(&me, "objectId"));
    assert_eq!(get(&second, &format!("{dir}/p.txt")).await, b"kept");
    // Only clients that ask for it.
    assert!(JsValue::from(locked_client().current_user()).is_null());

    second.logout().await.expect("logout");
    assert_eq!(storage.get_item(&key).expect("getItem"), None);
    assert!(JsValue::from(persisted().current_user()).is_null());
    // The first client still holds the token in memory: the server calls it dead.
    expect_storage_error(read(&first, &format!("{dir}/p.txt")).await, 3064.0, 401.0);
    assert!(JsValue::from(first.current_user()).is_null());
    assert_eq!(storage.get_item(&key).expect("getItem"), None);
}

// ---------------------------------------------------------------- the other APIs

#[wasm_bindgen_test]
async fn records_and_multipart_calls_act_as_the_signed_in_user() {
    let ann = signed_in(LOCKED_APP, LOCKED_KEY, "ann").await;
    let bob = signed_in(LOCKED_APP, LOCKED_KEY, "bob").await;
    let anonymous = locked_client();
    let dir = fresh("records");
    let info: JsFileInfo =
        object(&[("name", "r.txt".into()), ("directory", dir.as_str().into())]).unchecked_into();
    let content = blob(b"record", "text/plain");
    let record =
        wasm_bindgen_futures::JsFuture::from(ann.client.create_file(info, Some(content), None))
            .await
            .unwrap_or_else(|e| panic!("createFile: {:?}", rejection(e)));
    let id = prop(&record, "id");
    let ids = || -> stowage::JsFileIdentities { Array::of1(&id).unchecked_into() };

    let mine = wasm_bindgen_futures::JsFuture::from(ann.client.get_files(&ids(), None))
        .await
        .expect("the owner reads the record");
    assert_eq!(Array::from(&mine).length(), 1);
    assert_eq!(get(&ann.client, &format!("{dir}/r.txt")).await, b"record");
    for (who, c) in [("bob", &bob.client), ("anonymous", &anonymous)] {
        let e = wasm_bindgen_futures::JsFuture::from(c.get_files(&ids(), None))
            .await
            .expect_err(who);
        assert_eq!(rejection(e).status, 403.0, "{who}");
    }
    assert!(
        JsValue::from(bob.client.current_user()).is_object(),
        "a 403 keeps the token"
    );

    // The /v1 control plane: anonymous callers must sign in; a signed-in user may start one.
    let anonymous_start = anonymous
        .create_multipart(dir.clone(), "m.bin".into(), 10.0, None)
        .await;
    expect_storage_error(anonymous_start, 6021.0, 401.0);
    let started: JsValue = ann
        .client
        .create_multipart(dir.clone(), "m.bin".into(), 10.0, None)
        .await
        .expect("createMultipart")
        .into();
    let upload_id = text_prop(&started, "uploadId");
    ann.client
        .list_parts(upload_id.clone())
        .await
        .expect("listParts");
    ann.client
        .abort_multipart(upload_id)
        .await
        .expect("abortMultipart");
}

/// Wraps `fetch` and `XMLHttpRequest` to record every request's credential headers, as
/// `[api, method, url, user-token, authorization, x-api-key]`; `restore()` puts the originals
/// back.
const HEADER_SPY: &str = r"
    const seen = [];
    const fetch = globalThis.fetch;
    const open = XMLHttpRequest.prototype.open;
    const setHeader = XMLHttpRequest.prototype.setRequestHeader;
    const pick = (get) => [get('user-token'), get('authorization'), get('x-api-key')];
    globalThis.fetch = function (request, init) {
        seen.push(['fetch', request.method, request.url, ...pick((n) => request.headers.get(n))]);
        return fetch.call(this, request, init);
    };
    XMLHttpRequest.prototype.open = function (method, url, ...rest) {
        this.stowageSeen = ['xhr', method, url, null, null, null];
        seen.push(this.stowageSeen);
        return open.call(this, method, url, ...rest);
    };
    XMLHttpRequest.prototype.setRequestHeader = function (name, value) {
        const at = { 'user-token': 3, authorization: 4, 'x-api-key': 5 }[name.toLowerCase()];
        if (at !== undefined) this.stowageSeen[at] = value;
        return setHeader.call(this, name, value);
    };
    return { seen, restore() {
        globalThis.fetch = fetch;
        XMLHttpRequest.prototype.open = open;
        XMLHttpRequest.prototype.setRequestHeader = setHeader;
    } };
";

/// One request the spy saw.
#[derive(Debug)]
struct Seen {
    api: String,
    url: String,
    user_token: Option<String>,
    authorization: Option<String>,
    api_key: Option<String>,
}

fn spied(spy: &JsValue) -> Vec<Seen> {
    Array::from(&prop(spy, "seen"))
        .iter()
        .map(|entry| {
            let entry = Array::from(&entry);
            let text = |i| entry.get(i).as_string();
            Seen {
                api: format!(
                    "{} {}",
                    text(0).unwrap_or_default(),
                    text(1).unwrap_or_default()
                ),
                url: text(2).unwrap_or_default(),
                user_token: text(3),
                authorization: text(4),
                api_key: text(5),
            }
        })
        .collect()
}

#[wasm_bindgen_test]
async fn every_request_carries_the_token_where_its_api_reads_it() {
    let ann = signed_in(LOCKED_APP, LOCKED_KEY, "ann").await;
    let anonymous = locked_client();
    let dir = fresh("headers");
    let spy = js_sys::Function::new_no_args(HEADER_SPY)
        .call0(&JsValue::NULL)
        .expect("install spy");
    let restore: js_sys::Function = prop(&spy, "restore").unchecked_into();
    let outcome = async {
        put(&ann.client, &dir, "h.txt", b"h").await;
        get(&ann.client, &format!("{dir}/h.txt")).await;
        ann.client.list(dir.clone(), None).await.expect("list");
        let info: JsFileInfo = object(&[
            ("name", "rec.txt".into()),
            ("directory", format!("{dir}/records").into()),
        ])
        .unchecked_into();
        wasm_bindgen_futures::JsFuture::from(ann.client.create_file(
            info,
            Some(blob(b"r", "text/plain")),
            None,
        ))
        .await
        .map_err(rejection)?;
        let started: JsValue = ann
            .client
            .create_multipart(
                dir.clone(),
                "m.bin".into(),
                3.0,
                Some(object(&[("checksum", "none".into())]).unchecked_into()),
            )
            .await
            .map_err(rejection)?
            .into();
        let upload_id = text_prop(&started, "uploadId");
        let parts = ann
            .client
            .presign_parts(upload_id.clone(), vec![1.0])
            .await
            .map_err(rejection)?;
        let part = Array::from(&parts).get(0);
        stowage::upload_part(
            part.unchecked_into(),
            blob(b"abc", "application/octet-stream"),
            None,
        )
        .await
        .map_err(rejection)?;
        ann.client
            .abort_multipart(upload_id)
            .await
            .map_err(rejection)?;
        wasm_bindgen_futures::JsFuture::from(anonymous.list_files_page(None, None))
            .await
            .map_err(rejection)?;
        Ok::<_, Rejection>(())
    }
    .await;
    restore.call0(&spy).expect("restore");
    outcome.expect("every call succeeds");

    let seen = spied(&spy);
    let bearer = Some(format!("Bearer {}", ann.token));
    let key = Some(LOCKED_KEY.to_owned());
    let (mut backendless, mut v1, mut records, mut signed) = (0, 0, 0, 0);
    for s in &seen {
        let path = s.url.strip_prefix(server()).unwrap_or(&s.url);
        if path.starts_with("/v1/signed/") {
            signed += 1;
            assert_eq!(s.api, "xhr PUT", "{s:?}");
            assert_eq!(
                (&s.user_token, &s.authorization, &s.api_key),
                (&None, &None, &None),
                "a presigned URL needs no credentials: {s:?}"
            );
        } else if path.starts_with("/v1/") {
            v1 += 1;
            assert_eq!((&s.authorization, &s.api_key), (&bearer, &key), "{s:?}");
            assert_eq!(s.user_token, None, "{s:?}");
        } else if path.starts_with("/api/v1/projects/") {
            records += 1;
            let anonymous_key = Some(format!("Bearer {LOCKED_KEY}"));
            assert!(
                s.authorization == bearer || s.authorization == anonymous_key,
                "{s:?}"
            );
            assert_eq!((&s.user_token, &s.api_key), (&None, &None), "{s:?}");
        } else {
            backendless += 1;
            assert_eq!(s.user_token.as_deref(), Some(ann.token.as_str()), "{s:?}");
            assert_eq!((&s.authorization, &s.api_key), (&None, &None), "{s:?}");
        }
    }
    // upload, download, list; create, byids and the anonymous list; init, presign, abort;
    // the record's content and the part.
    assert_eq!(
        (backendless, records, v1, signed),
        (3, 3, 3, 2),
        "{seen:#?}"
    );
    let with_key: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.authorization.as_deref() == Some("Bearer locked-key"))
        .collect();
    assert_eq!(with_key.len(), 1, "{seen:#?}");
    assert!(
        with_key[0].url.ends_with("/files/list"),
        "only the anonymous client's listing sends the API key: {seen:#?}"
    );
}

// ---------------------------------------------------------------- arguments

#[wasm_bindgen_test]
async fn bad_arguments_are_refused_before_anything_is_sent() {
    // Nothing listens there: a request that went out would end in a NetworkError.
    let c = StorageClient::new(
        object(&[
            ("baseUrl", NOWHERE.into()),
            ("appId", LOCKED_APP.into()),
            ("apiKey", LOCKED_KEY.into()),
        ])
        .unchecked_into(),
    )
    .expect("client");
    let type_error = |result: Result<JsValue, JsValue>, what: &str| {
        let e = rejection(result.expect_err(what));
        assert_eq!(e.name, "TypeError", "{what}: {e:?}");
    };
    let p = || "/docs/a.txt".to_owned();
    let as_value = |r: Result<stowage::JsFileAccess, JsValue>| r.map(JsValue::from);
    type_error(
        as_value(
            c.set_visibility(p(), visibility(Some("secret")), None)
                .await,
        ),
        "unknown visibility",
    );
    type_error(
        as_value(
            c.set_visibility(p(), JsValue::UNDEFINED.unchecked_into(), None)
                .await,
        ),
        "no visibility",
    );
    type_error(
        as_value(
            c.set_visibility(
                p(),
                visibility(Some("shared")),
                Some(Array::of1(&1.into()).unchecked_into()),
            )
            .await,
        ),
        "a number as a user id",
    );
    type_error(
        as_value(c.share(p(), JsValue::from_str("u1").unchecked_into()).await),
        "not an array",
    );
    let unit = |r: Result<(), JsValue>| r.map(|()| JsValue::UNDEFINED);
    type_error(
        unit(c.grant(p(), permission("EXECUTE"), user("u1")).await),
        "unknown permission",
    );
    for grantee in [
        object(&[]),
        object(&[("user", "u1".into()), ("role", "r".into())]),
        object(&[("user", 5.into())]),
        object(&[("role", "".into())]),
    ] {
        type_error(
            unit(
                c.deny(p(), permission("READ"), grantee.clone().unchecked_into())
                    .await,
            ),
            &to_json(&grantee),
        );
    }
    type_error(
        c.register(object(&[("email", "a@example.com".into())]).unchecked_into())
            .await
            .map(JsValue::from),
        "no password",
    );
    type_error(
        c.register(JsValue::NULL.unchecked_into())
            .await
            .map(JsValue::from),
        "no registration",
    );
    type_error(
        c.login(String::new(), "pw".into()).await.map(JsValue::from),
        "empty login",
    );
    expect_storage_error(c.permissions("/".into()).await, 6013.0, 400.0);
    expect_storage_error(
        c.set_visibility("a/../b".into(), visibility(Some("public")), None)
            .await,
        6006.0,
        400.0,
    );
    c.logout()
        .await
        .expect("nobody to sign out: nothing is sent");
}

// ---------------------------------------------------------------- module-level functions

/// The only test of this file that calls `configure`.
#[wasm_bindgen_test]
async fn module_level_functions_use_the_configured_client() {
    let before = rejection(stowage::current_user_fn().expect_err("not configured"));
    assert_eq!(before.name, "ConfigurationError");
    stowage::configure(app_options(LOCKED_APP, LOCKED_KEY, &[])).expect("configure");
    assert!(JsValue::from(stowage::current_user_fn().expect("configured")).is_null());

    let bob = signed_in(LOCKED_APP, LOCKED_KEY, "bob").await;
    let email = fresh_email("module");
    stowage::register_fn(
        object(&[
            ("email", email.as_str().into()),
            ("password", PASSWORD.into()),
        ])
        .unchecked_into(),
    )
    .await
    .expect("register");
    let me: JsValue = stowage::login_fn(email.clone(), PASSWORD.into())
        .await
        .expect("login")
        .into();
    let current: JsValue = stowage::current_user_fn().expect("configured").into();
    assert_eq!(text_prop(&current, "objectId"), text_prop(&me, "objectId"));

    let dir = fresh("module");
    stowage::upload(
        file(b"module", "m.txt", "text/plain").into(),
        dir.clone(),
        Some(false),
        None,
    )
    .await
    .expect("upload");
    let path = format!("{dir}/m.txt");
    refused(read(&bob.client, &path).await);
    stowage::share_fn(path.clone(), user_ids(&[&bob.id]))
        .await
        .expect("share");
    assert_eq!(get(&bob.client, &path).await, b"module");
    stowage::set_visibility_fn(path.clone(), visibility(Some("private")), None)
        .await
        .expect("setVisibility");
    refused(read(&bob.client, &path).await);
    stowage::grant_fn(path.clone(), permission("READ"), user(&bob.id))
        .await
        .expect("grant");
    assert_eq!(
        get(&bob.client, &path).await,
        b"module",
        "a grant to the user beats the visibility's deny to user *"
    );
    stowage::deny_fn(path.clone(), permission("DELETE"), user(&bob.id))
        .await
        .expect("deny");
    let rules = stowage::permissions_fn(path.clone())
        .await
        .expect("permissions");
    assert!(Array::from(&rules).length() >= 2, "{}", to_json(&rules));

    stowage::logout_fn().await.expect("logout");
    assert!(JsValue::from(stowage::current_user_fn().expect("configured")).is_null());
    refused(stowage::download(path, None).await);
}
