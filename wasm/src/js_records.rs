//! The `#[wasm_bindgen]` surface of the record-first Files API: the TypeScript shapes
//! (`FileRecord`, `FileInfo`, `FileFilter`, ...), `createFile`, `getFiles`, `listFiles`,
//! `listFilesPage`, `updateFiles`, `deleteFiles`, `downloadUrls` on `StorageClient` and as
//! module-level functions, and the `FileIterator` that `listFiles` answers.
//!
//! Each operation is written once, in [`calls`], and returns its `Promise` from there: the
//! method and the module-level function only pick the client. Only three futures exist: one
//! for `createFile`, one for the iterator's `next()`, and one shared by every other call. The
//! work is in `files_api.rs` and `records.rs`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Promise, Reflect, Symbol};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::Blob;

use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::files_api;
use crate::js::{configured, StorageClient};
use crate::records::Pager;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A file of the Files API named by its internal `id` or by its `externalId`. */
export type FileIdentity = { id: number } | { externalId: string };

/**
 * Files to act on: ids (numbers), external ids (strings) or `FileIdentity` objects, mixed
 * freely (a whole `FileRecord` works too: its `id` is used). At most 1000 per call.
 */
export type FileIdentities = (number | string | FileIdentity)[];

/** A label, named by its external id. */
export interface FileLabel { externalId: string; }

/** A GeoJSON geometry. */
export interface FileGeometry {
  type: "Point" | "MultiPoint" | "LineString" | "MultiLineString" | "Polygon" | "MultiPolygon";
  /** Positions as `[x, y]`, nested as the `type` needs. */
  coordinates: unknown[];
}

/** Where a file belongs on a map: a GeoJSON `Feature`. */
export interface FileGeoLocation {
  type: "Feature";
  geometry: FileGeometry;
  properties?: Record<string, unknown>;
}

/** What `createFile` stores about a file (Cognite's `ExternalFileInfo`). Times are ms since the epoch. */
export interface FileInfo {
  /** The file name: required, except with a `File` as content, whose `name` is the default. */
  name?: string;
  /** Your own unique id for the file. */
  externalId?: string;
  /** A directory path, e.g. `"/reports/2024"`. */
  directory?: string;
  /** Where the file comes from. */
  source?: string;
  /** Its MIME type; defaults to the content's `Blob.type`, and is the upload's `Content-Type`. */
  mimeType?: string;
  /** String keys and values. */
  metadata?: Record<string, string>;
  assetIds?: number[];
  dataSetId?: number;
  sourceCreatedTime?: number;
  sourceModifiedTime?: number;
  securityCategories?: number[];
  labels?: FileLabel[];
  geoLocation?: FileGeoLocation;
}

/** A stored file record (Cognite's `FileInfo`). Times are ms since the epoch. */
export interface FileRecord extends FileInfo {
  /** Assigned by the server: 1 to 2^53 − 1, exact as a JS number. */
  id: number;
  name: string;
  /** True once the content has been uploaded. */
  uploaded: boolean;
  uploadedTime?: number;
  createdTime: number;
  lastUpdatedTime: number;
  /**
   * Only in the answer of `createFile` without content: a presigned URL to `PUT` the bytes to,
   * with `Content-Type` set to `mimeType`.
   */
  uploadUrl?: string;
}

/** A time range, ms since the epoch, both ends included. */
export interface TimeRange { min?: number; max?: number; }

/** Which records `listFiles` answers (Cognite's file filter); every field given must match. */
export interface FileFilter {
  name?: string;
  directoryPrefix?: string;
  mimeType?: string;
  /** Every key given must have the value given. */
  metadata?: Record<string, string>;
  assetIds?: number[];
  assetExternalIds?: string[];
  rootAssetIds?: FileIdentity[];
  assetSubtreeIds?: FileIdentity[];
  dataSetIds?: FileIdentity[];
  source?: string;
  createdTime?: TimeRange;
  lastUpdatedTime?: TimeRange;
  uploadedTime?: TimeRange;
  sourceCreatedTime?: TimeRange;
  sourceModifiedTime?: TimeRange;
  externalIdPrefix?: string;
  uploaded?: boolean;
  labels?: { containsAny: FileLabel[] } | { containsAll: FileLabel[] };
  geoLocation?: { relation: "intersects" | "disjoint" | "within"; shape: FileGeometry };
}

/** A change of one field: a new value, or (for optional fields) none. */
export type SetOrNull<T> = { set: T } | { setNull: true };
/** A change of a list field: replace it, or add and remove elements. */
export type ListChange<T> = { set: T[] } | { add?: T[]; remove?: T[] };
/** A change of `metadata`: replace it, or add keys and remove keys. */
export type MetadataChange =
  | { set: Record<string, string> }
  | { add?: Record<string, string>; remove?: string[] };

/** The fields an update can change. */
export interface FileUpdate {
  externalId?: SetOrNull<string>;
  directory?: SetOrNull<string>;
  source?: SetOrNull<string>;
  mimeType?: SetOrNull<string>;
  metadata?: MetadataChange;
  assetIds?: ListChange<number>;
  dataSetId?: SetOrNull<number>;
  sourceCreatedTime?: SetOrNull<number>;
  sourceModifiedTime?: SetOrNull<number>;
  securityCategories?: ListChange<number>;
  labels?: { add?: FileLabel[]; remove?: FileLabel[] };
  geoLocation?: SetOrNull<FileGeoLocation>;
}

/** One file's changes for `updateFiles`. */
export type FileChange = FileIdentity & { update: FileUpdate };

/** One page of `listFilesPage`. */
export interface FilePage {
  items: FileRecord[];
  /** Pass as `cursor` to get the next page; absent on the last page. */
  nextCursor?: string;
}

/** A URL to download one file's content from (`downloadUrls`). */
export interface DownloadLink { id?: number; externalId?: string; downloadUrl: string; }

/** Options of `createFile`. */
export interface CreateFileOptions {
  /** Replace the record with the same `externalId` (default false: the call rejects with 409). */
  overwrite?: boolean;
  /** Called as the content is sent; `loaded` only grows, the last call is `(total, total)`. */
  onProgress?: (loaded: number, total: number) => void;
  /**
   * Aborts the create and the upload; the call rejects with an `AbortError`. A record created
   * before the abort stays, with `uploaded: false`.
   */
  signal?: AbortSignal;
}

/** Options of `getFiles` and `deleteFiles`. */
export interface GetFilesOptions {
  /** Skip ids that do not exist instead of rejecting with 400 and `missing`. */
  ignoreUnknownIds?: boolean;
}

/** Options of `listFiles`. */
export interface FileListOptions {
  /** Records per request (the server caps it; Cognite allows 1–1000, default 100). */
  limit?: number;
  /** `"m/n"`: only the m-th of n disjoint parts, to list in parallel. */
  partition?: string;
}

/** Options of `listFilesPage`. */
export interface FilePageOptions extends FileListOptions {
  /** The `nextCursor` of the previous page. */
  cursor?: string;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// JS `FileInfo`.
    #[wasm_bindgen(typescript_type = "FileInfo")]
    #[derive(Debug, Clone)]
    pub type JsFileInfo;
    /// JS `CreateFileOptions`.
    #[wasm_bindgen(typescript_type = "CreateFileOptions")]
    #[derive(Debug, Clone)]
    pub type JsCreateFileOptions;
    /// JS `FileIdentities`.
    #[wasm_bindgen(typescript_type = "FileIdentities")]
    #[derive(Debug, Clone)]
    pub type JsFileIdentities;
    /// JS `GetFilesOptions`.
    #[wasm_bindgen(typescript_type = "GetFilesOptions")]
    #[derive(Debug, Clone)]
    pub type JsGetFilesOptions;
    /// JS `FileFilter`.
    #[wasm_bindgen(typescript_type = "FileFilter")]
    #[derive(Debug, Clone)]
    pub type JsFileFilter;
    /// JS `FileListOptions`.
    #[wasm_bindgen(typescript_type = "FileListOptions")]
    #[derive(Debug, Clone)]
    pub type JsFileListOptions;
    /// JS `FilePageOptions`.
    #[wasm_bindgen(typescript_type = "FilePageOptions")]
    #[derive(Debug, Clone)]
    pub type JsFilePageOptions;
    /// JS `FileChange[]`.
    #[wasm_bindgen(typescript_type = "FileChange[]")]
    #[derive(Debug, Clone)]
    pub type JsFileChanges;
    /// What `listFiles` answers: a `FileIterator`, typed as what it is to `for await`.
    #[wasm_bindgen(typescript_type = "AsyncIterableIterator<FileRecord>")]
    #[derive(Debug, Clone)]
    pub type JsFileRecords;
}

#[wasm_bindgen]
impl StorageClient {
    /// Creates a file record (`POST …/files`) and, given `content`, uploads it to the record's
    /// `uploadUrl` with progress, then resolves with the record read back (`uploaded: true`).
    /// Without content it resolves with the new record and its `uploadUrl`. An existing
    /// `externalId` rejects with status 409 (and `duplicated`) unless `overwrite` is set.
    ///
    /// ```javascript
    /// const record = await files.createFile(
    ///   { name: 'q3.pdf', externalId: 'report-q3', directory: '/reports', metadata: { quarter: '3' } },
    ///   input.files[0],
    ///   { onProgress: (loaded, total) => (bar.value = loaded / total), signal: controller.signal },
    /// );
    /// ```
    #[wasm_bindgen(js_name = createFile, unchecked_return_type = "Promise<FileRecord>")]
    pub fn create_file(
        &self,
        info: JsFileInfo,
        content: Option<Blob>,
        options: Option<JsCreateFileOptions>,
    ) -> Promise {
        calls::create(Ok(self.endpoint()), info, content, options)
    }

    /// The records of the files named (`POST …/files/byids`), in the order asked. An unknown
    /// one rejects with status 400 and `missing`, unless `ignoreUnknownIds` is set.
    ///
    /// ```javascript
    /// const [a, b] = await files.getFiles([record.id, 'report-q3']);
    /// ```
    #[wasm_bindgen(js_name = getFiles, unchecked_return_type = "Promise<FileRecord[]>")]
    pub fn get_files(&self, ids: &JsFileIdentities, options: Option<JsGetFilesOptions>) -> Promise {
        calls::get(Ok(self.endpoint()), ids, options)
    }

    /// Every record `filter` selects, fetched a page (`limit` records) at a time as the
    /// iteration goes (`POST …/files/list`, following `nextCursor`). Throws a `TypeError` for bad
    /// arguments; a failed page makes that `next()` reject.
    ///
    /// ```javascript
    /// for await (const record of files.listFiles({ directoryPrefix: '/reports' }, { limit: 100 })) {
    ///   console.log(record.name, record.uploaded);
    /// }
    /// ```
    #[wasm_bindgen(js_name = listFiles)]
    pub fn list_files(
        &self,
        filter: Option<JsFileFilter>,
        options: Option<JsFileListOptions>,
    ) -> Result<JsFileRecords, JsValue> {
        Ok(calls::list(self.endpoint(), filter, options)?)
    }

    /// One page of the records `filter` selects (`POST …/files/list`): pass its `nextCursor`
    /// back as `cursor` for the next one.
    ///
    /// ```javascript
    /// const { items, nextCursor } = await files.listFilesPage({ uploaded: true }, { limit: 50 });
    /// ```
    #[wasm_bindgen(js_name = listFilesPage, unchecked_return_type = "Promise<FilePage>")]
    pub fn list_files_page(
        &self,
        filter: Option<JsFileFilter>,
        options: Option<JsFilePageOptions>,
    ) -> Promise {
        calls::page(Ok(self.endpoint()), filter, options)
    }

    /// Changes fields of records (`POST …/files/update`); resolves with the updated records.
    ///
    /// ```javascript
    /// const [updated] = await files.updateFiles([
    ///   { id: record.id, update: { source: { set: 'scanner' }, metadata: { add: { checked: 'yes' } } } },
    /// ]);
    /// ```
    #[wasm_bindgen(js_name = updateFiles, unchecked_return_type = "Promise<FileRecord[]>")]
    pub fn update_files(&self, changes: &JsFileChanges) -> Promise {
        calls::update(Ok(self.endpoint()), changes)
    }

    /// Deletes records and their content (`POST …/files/delete`).
    ///
    /// ```javascript
    /// await files.deleteFiles([record.id, 'report-q3'], { ignoreUnknownIds: true });
    /// ```
    #[wasm_bindgen(js_name = deleteFiles, unchecked_return_type = "Promise<void>")]
    pub fn delete_files(
        &self,
        ids: &JsFileIdentities,
        options: Option<JsGetFilesOptions>,
    ) -> Promise {
        calls::delete(Ok(self.endpoint()), ids, options)
    }

    /// Temporary URLs to download the files' content from (`POST …/files/downloadlink`).
    ///
    /// ```javascript
    /// const [{ downloadUrl }] = await files.downloadUrls([record.id]);
    /// img.src = downloadUrl;
    /// ```
    #[wasm_bindgen(js_name = downloadUrls, unchecked_return_type = "Promise<DownloadLink[]>")]
    pub fn download_urls(&self, ids: &JsFileIdentities) -> Promise {
        calls::download_urls(Ok(self.endpoint()), ids)
    }
}

impl StorageClient {
    fn endpoint(&self) -> Rc<Endpoint> {
        self.client.endpoint()
    }
}

/// The configured client's endpoint, or a `ConfigurationError`.
fn configured_endpoint() -> Result<Rc<Endpoint>, Error> {
    configured().map(|c| c.endpoint())
}

/// `StorageClient.createFile` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// const record = await createFile({ name: 'cat.png', externalId: 'cat' }, blob);
/// ```
pub fn create_file_fn(
    info: JsFileInfo,
    content: Option<Blob>,
    options: Option<JsCreateFileOptions>,
) -> Promise {
    calls::create(configured_endpoint(), info, content, options)
}

/// `StorageClient.getFiles` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// const [cat] = await getFiles(['cat']);
/// ```
pub fn get_files_fn(ids: &JsFileIdentities, options: Option<JsGetFilesOptions>) -> Promise {
    calls::get(configured_endpoint(), ids, options)
}

/// `StorageClient.listFiles` with the client set by `configure` (throws a
/// `ConfigurationError` before that).
///
/// ```javascript
/// for await (const record of listFiles({ mimeType: 'image/png' })) console.log(record.name);
/// ```
pub fn list_files_fn(
    filter: Option<JsFileFilter>,
    options: Option<JsFileListOptions>,
) -> Result<JsFileRecords, JsValue> {
    Ok(calls::list(configured_endpoint()?, filter, options)?)
}

/// `StorageClient.listFilesPage` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// const { items, nextCursor } = await listFilesPage({}, { limit: 10, cursor });
/// ```
pub fn list_files_page_fn(
    filter: Option<JsFileFilter>,
    options: Option<JsFilePageOptions>,
) -> Promise {
    calls::page(configured_endpoint(), filter, options)
}

/// `StorageClient.updateFiles` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// await updateFiles([{ externalId: 'cat', update: { directory: { set: '/pets' } } }]);
/// ```
pub fn update_files_fn(changes: &JsFileChanges) -> Promise {
    calls::update(configured_endpoint(), changes)
}

/// `StorageClient.deleteFiles` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// await deleteFiles(['cat']);
/// ```
pub fn delete_files_fn(ids: &JsFileIdentities, options: Option<JsGetFilesOptions>) -> Promise {
    calls::delete(configured_endpoint(), ids, options)
}

/// `StorageClient.downloadUrls` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// const [{ downloadUrl }] = await downloadUrls(['cat']);
/// ```
pub fn download_urls_fn(ids: &JsFileIdentities) -> Promise {
    calls::download_urls(configured_endpoint(), ids)
}

/// The records of a listing, one page at a time; what `listFiles` answers. It is its own
/// async iterator (`[Symbol.asyncIterator]()` answers it), so `for await` takes it as is.
///
/// ```javascript
/// const records = listFiles({ uploaded: false }, { limit: 2 });
/// const { value, done } = await records.next();
/// ```
#[wasm_bindgen(skip_typescript)]
#[derive(Debug)]
pub struct FileIterator {
    endpoint: Rc<Endpoint>,
    pager: Rc<RefCell<Pager<JsValue>>>,
    /// The promise of the latest `next()`: each call waits for the one before it, so calls
    /// made without awaiting still hand out every record once, in order.
    latest: RefCell<Option<Promise>>,
}

#[wasm_bindgen]
impl FileIterator {
    /// The next record as `{value, done: false}`, or `{value: undefined, done: true}` at the end.
    ///
    /// ```javascript
    /// let step;
    /// while (!(step = await records.next()).done) console.log(step.value.name);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<IteratorResult<FileRecord, undefined>>")]
    pub fn next(&self) -> Promise {
        let endpoint = Rc::clone(&self.endpoint);
        let pager = Rc::clone(&self.pager);
        let before = self.latest.borrow_mut().take();
        let promise = future_to_promise(async move {
            if let Some(before) = before {
                // Only the order matters here: the earlier call reports its own failure.
                let _ = JsFuture::from(before).await;
            }
            let record = files_api::next_record(&endpoint, &pager).await?;
            Ok(iterator_result(record))
        });
        *self.latest.borrow_mut() = Some(promise.clone());
        promise
    }
}

/// `{value, done}` as an async iterator's `next()` answers it.
fn iterator_result(record: Option<JsValue>) -> JsValue {
    let result = Object::new();
    let done = record.is_none();
    // Setting a field on a fresh object cannot fail.
    let _ = Reflect::set(
        &result,
        &"value".into(),
        &record.unwrap_or(JsValue::UNDEFINED),
    );
    let _ = Reflect::set(&result, &"done".into(), &done.into());
    result.into()
}

/// Gives the `FileIterator` class `[Symbol.asyncIterator]() { return this; }` (once), and
/// answers `iterator` as a JS object.
fn async_iterable(iterator: FileIterator) -> JsFileRecords {
    let value = JsValue::from(iterator);
    let prototype = Object::get_prototype_of(&value);
    let key = Symbol::async_iterator();
    if !Reflect::has(&prototype, &key).unwrap_or(true) {
        // `Object.prototype.valueOf` answers its receiver: exactly `return this`, with no JS
        // snippet file and no `eval`.
        let value_of = Reflect::get(&Object::new(), &"valueOf".into()).unwrap_or_default();
        let _ = Reflect::set(&prototype, &key, &value_of);
    }
    value.unchecked_into()
}

/// Each operation once. Arguments are checked first (a bad one makes the returned `Promise`
/// reject, it does not throw); then `createFile` runs its own future, and every other call
/// runs the one shared future of [`files_api::call`].
mod calls {
    use js_sys::Function;
    use web_sys::{AbortSignal, File};

    use super::*;
    use crate::files_api::{Answer, Content};
    use crate::options::{field, primitive};
    use crate::records::{self, Identity, PageRequest};

    /// A checked call: what to send, or its answer when nothing needs sending (no ids).
    enum Prepared {
        Send(&'static str, String, Answer),
        Answered(JsValue),
    }

    /// Picks the endpoint, checks the arguments with `prepare`, and makes the call.
    fn request(
        endpoint: Result<Rc<Endpoint>, Error>,
        prepare: impl FnOnce() -> Result<Prepared, Error>,
    ) -> Promise {
        match endpoint.and_then(|e| Ok((e, prepare()?))) {
            Ok((endpoint, Prepared::Send(route, body, answer))) => {
                send(endpoint, route, body, answer)
            }
            Ok((_, Prepared::Answered(value))) => Promise::resolve(&value),
            Err(e) => Promise::reject(&e.into()),
        }
    }

    /// Not generic, so there is one future for all calls.
    fn send(endpoint: Rc<Endpoint>, route: &'static str, body: String, answer: Answer) -> Promise {
        future_to_promise(async move { Ok(files_api::call(endpoint, route, body, answer).await?) })
    }

    /// A call on files named by `ids`; with none, `empty` is the answer and nothing is sent.
    fn by_identities(
        ids: &JsFileIdentities,
        ignore_unknown_ids: Option<bool>,
        route: &'static str,
        answer: Answer,
        empty: JsValue,
    ) -> Result<Prepared, Error> {
        let ids = identities(ids)?;
        if ids.is_empty() {
            return Ok(Prepared::Answered(empty));
        }
        let body = records::identities_body(&ids, ignore_unknown_ids);
        Ok(Prepared::Send(route, body, answer))
    }

    pub(super) fn create(
        endpoint: Result<Rc<Endpoint>, Error>,
        info: JsFileInfo,
        content: Option<Blob>,
        options: Option<JsCreateFileOptions>,
    ) -> Promise {
        match endpoint.and_then(|e| Ok((e, creation(info, content, options)?))) {
            Ok((endpoint, (json, overwrite, content, signal))) => future_to_promise(async move {
                Ok(files_api::create(&endpoint, &json, overwrite, content, signal).await?)
            }),
            Err(e) => Promise::reject(&e.into()),
        }
    }

    /// The checked arguments of `createFile`: the `FileInfo` as JSON, `overwrite`, the content
    /// and the signal.
    fn creation(
        info: JsFileInfo,
        content: Option<Blob>,
        options: Option<JsCreateFileOptions>,
    ) -> Result<(String, bool, Option<Content>, Option<AbortSignal>), Error> {
        let kind = "CreateFileOptions";
        let (overwrite, on_progress, signal) = match &present(options.map(Into::into)) {
            Some(o) => (
                primitive(o, kind, "overwrite", "a boolean", JsValue::as_bool)?,
                field::<Function>(o, kind, "onProgress", "a function")?,
                field::<AbortSignal>(o, kind, "signal", "an AbortSignal")?,
            ),
            None => (None, None, None),
        };
        if content
            .as_ref()
            .is_some_and(|c| !c.is_instance_of::<Blob>())
        {
            return Err(Error::InvalidArgument(
                "createFile: content must be a File or Blob".into(),
            ));
        }
        let (json, content_type) = file_info(info.into(), content.as_ref())?;
        let content = content.map(|blob| Content {
            blob,
            content_type,
            on_progress,
        });
        Ok((json, overwrite.unwrap_or(false), content, signal))
    }

    pub(super) fn get(
        endpoint: Result<Rc<Endpoint>, Error>,
        ids: &JsFileIdentities,
        options: Option<JsGetFilesOptions>,
    ) -> Promise {
        request(endpoint, || {
            let ignore = ignore_unknown_ids(options)?;
            by_identities(ids, ignore, "/byids", Answer::Items, Array::new().into())
        })
    }

    pub(super) fn list(
        endpoint: Rc<Endpoint>,
        filter: Option<JsFileFilter>,
        options: Option<JsFileListOptions>,
    ) -> Result<JsFileRecords, Error> {
        let filter = filter_json(filter)?;
        let page = page_request(options.map(Into::into), "FileListOptions", false)?;
        let iterator = FileIterator {
            endpoint,
            pager: Rc::new(RefCell::new(Pager::new(filter, page)?)),
            latest: RefCell::new(None),
        };
        Ok(async_iterable(iterator))
    }

    pub(super) fn page(
        endpoint: Result<Rc<Endpoint>, Error>,
        filter: Option<JsFileFilter>,
        options: Option<JsFilePageOptions>,
    ) -> Promise {
        request(endpoint, || {
            let filter = filter_json(filter)?;
            let page = page_request(options.map(Into::into), "FilePageOptions", true)?;
            let body = records::list_body(filter.as_deref(), &page)?;
            Ok(Prepared::Send("/list", body, Answer::Page))
        })
    }

    pub(super) fn update(
        endpoint: Result<Rc<Endpoint>, Error>,
        changes: &JsFileChanges,
    ) -> Promise {
        request(endpoint, || {
            if !Array::is_array(changes) {
                return Err(Error::InvalidArgument(
                    "updateFiles: changes must be an array of {id | externalId, update}".into(),
                ));
            }
            let body = records::changes_body(&stringify(changes, "the changes")?)?;
            Ok(Prepared::Send("/update", body, Answer::Items))
        })
    }

    pub(super) fn delete(
        endpoint: Result<Rc<Endpoint>, Error>,
        ids: &JsFileIdentities,
        options: Option<JsGetFilesOptions>,
    ) -> Promise {
        request(endpoint, || {
            let ignore = ignore_unknown_ids(options)?;
            by_identities(ids, ignore, "/delete", Answer::Nothing, JsValue::UNDEFINED)
        })
    }

    pub(super) fn download_urls(
        endpoint: Result<Rc<Endpoint>, Error>,
        ids: &JsFileIdentities,
    ) -> Promise {
        request(endpoint, || {
            by_identities(
                ids,
                None,
                "/downloadlink",
                Answer::Items,
                Array::new().into(),
            )
        })
    }

    /// `undefined` and `null` are no value.
    fn present(value: Option<JsValue>) -> Option<JsValue> {
        value.filter(|v| !v.is_undefined() && !v.is_null())
    }

    /// The JSON text of a `FileInfo`, with `name` and `mimeType` taken from the content when
    /// not given, and the upload's `Content-Type`.
    fn file_info(info: JsValue, content: Option<&Blob>) -> Result<(String, String), Error> {
        if !info.is_object() || Array::is_array(&info) {
            return Err(Error::InvalidArgument(
                "createFile: info must be a FileInfo object".into(),
            ));
        }
        let get = |object: &JsValue, key: &str| {
            Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
        };
        let mut info = info;
        if let Some(blob) = content {
            let name = get(&info, "name")
                .is_undefined()
                .then(|| blob.dyn_ref::<File>().map(File::name))
                .flatten();
            let mime = blob.type_();
            let mime = (get(&info, "mimeType").is_undefined() && !mime.is_empty()).then_some(mime);
            if name.is_some() || mime.is_some() {
                // A copy: the caller's object stays as it was.
                let copy = Object::assign(&Object::new(), info.unchecked_ref());
                for (key, value) in [("name", name), ("mimeType", mime)] {
                    if let Some(value) = value {
                        let _ = Reflect::set(&copy, &key.into(), &value.into());
                    }
                }
                info = copy.into();
            }
        }
        if get(&info, "name").as_string().is_none_or(|n| n.is_empty()) {
            return Err(Error::InvalidArgument(
                "createFile: FileInfo.name must be a non-empty string (or the content a File)"
                    .into(),
            ));
        }
        let content_type = records::content_type(get(&info, "mimeType").as_string().as_deref());
        Ok((stringify(&info, "the FileInfo")?, content_type))
    }

    /// `[1, "ext", {id: 2}, {externalId: "x"}]` as identities; a record's `id` wins over its
    /// `externalId`.
    fn identities(ids: &JsValue) -> Result<Vec<Identity>, Error> {
        if !Array::is_array(ids) {
            return Err(Error::InvalidArgument(
                "ids must be an array of ids, external ids, or {id} / {externalId} objects".into(),
            ));
        }
        Array::from(ids)
            .iter()
            .map(|item| identity(&item))
            .collect()
    }

    fn identity(item: &JsValue) -> Result<Identity, Error> {
        if let Some(id) = item.as_f64() {
            return Identity::id(id);
        }
        if let Some(external_id) = item.as_string() {
            return Identity::external_id(external_id);
        }
        if item.is_object() {
            let id = Reflect::get(item, &"id".into()).unwrap_or_default();
            if let Some(id) = id.as_f64() {
                return Identity::id(id);
            }
            let external_id = Reflect::get(item, &"externalId".into()).unwrap_or_default();
            if let Some(external_id) = external_id.as_string() {
                return Identity::external_id(external_id);
            }
        }
        Err(Error::InvalidArgument(format!(
            "not a file id, external id, {{id}} or {{externalId}}: {}",
            describe(item)
        )))
    }

    fn ignore_unknown_ids(options: Option<JsGetFilesOptions>) -> Result<Option<bool>, Error> {
        match present(options.map(Into::into)) {
            Some(o) => primitive(
                &o,
                "GetFilesOptions",
                "ignoreUnknownIds",
                "a boolean",
                JsValue::as_bool,
            ),
            None => Ok(None),
        }
    }

    fn filter_json(filter: Option<JsFileFilter>) -> Result<Option<String>, Error> {
        match present(filter.map(Into::into)) {
            Some(f) if f.is_object() && !Array::is_array(&f) => {
                stringify(&f, "the filter").map(Some)
            }
            Some(_) => Err(Error::InvalidArgument(
                "the filter must be a FileFilter object".into(),
            )),
            None => Ok(None),
        }
    }

    fn page_request(
        options: Option<JsValue>,
        kind: &str,
        with_cursor: bool,
    ) -> Result<PageRequest, Error> {
        let Some(o) = present(options) else {
            return Ok(PageRequest::default());
        };
        let limit = primitive(&o, kind, "limit", "a number", JsValue::as_f64)?
            .map(records::page_limit)
            .transpose()?;
        let text = |key| primitive(&o, kind, key, "a string", JsValue::as_string);
        let cursor = if with_cursor { text("cursor")? } else { None };
        Ok(PageRequest {
            limit,
            cursor,
            partition: text("partition")?,
        })
    }

    /// `JSON.stringify(value)`; what it throws (a cycle, a BigInt) is a `TypeError`.
    fn stringify(value: &JsValue, what: &str) -> Result<String, Error> {
        js_sys::JSON::stringify(value)
            .map(String::from)
            .map_err(|e| {
                Error::InvalidArgument(format!(
                    "{what} cannot be sent as JSON: {}",
                    Error::from_js(&e)
                ))
            })
    }

    /// A short text for a value in an error message.
    fn describe(value: &JsValue) -> String {
        js_sys::JSON::stringify(value)
            .ok()
            .map(String::from)
            .unwrap_or_else(|| format!("{value:?}"))
    }
}
