//! The `#[wasm_bindgen]` surface of large-file uploads: the TypeScript shapes, `uploadMultipart`,
//! `startUpload` and its `UploadTask`. The building blocks they are made of are in
//! `js_parts.rs`. Each item converts values; the work is in `multipart.rs` and `part.rs`.

use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use serde::Deserialize;
use stowage_protocol::multipart::ChecksumAlgorithm;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Blob};

use crate::client::Client;
use crate::error::Error;
use crate::js::ops::to_js;
use crate::js::{configured, StorageClient};
use crate::multipart::{upload_multipart, MultipartOptions};
use crate::options::{decode_object, field};
use crate::progress::to_u64;
use crate::retry::RetryPolicy;
use crate::task::{link_signal, Control};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Part checksum algorithms. */
export type ChecksumName = "crc32c" | "sha256" | "none";

/** Per-part retry: full-jitter exponential backoff that honours `Retry-After`. */
export interface RetryOptions {
  /** Tries per part in all (default 6). */
  attempts?: number;
  /** Backoff cap of the first retry, ms (default 200). */
  baseDelayMs?: number;
  /** Largest wait, ms (default 10000). */
  maxDelayMs?: number;
}

/** Options of `uploadMultipart` and `startUpload`. */
export interface MultipartOptions {
  /** Stored name; overrides `File.name`, required for a plain `Blob`. */
  name?: string;
  /** Bytes per part (default 8 MiB, raised to `ceil(size / 10000)` when needed). */
  partSize?: number;
  /** Parts in flight at once (default 4). */
  concurrency?: number;
  /** Replace an existing file (default false: the upload fails with 6003). */
  overwrite?: boolean;
  /** Part checksum, verified by the server (default `"crc32c"`). */
  checksum?: ChecksumName;
  /** MIME type to store (default: the File's type, else guessed from the name). */
  mimeType?: string;
  /** Byte-accurate, throttled; `loaded` never goes backwards, even when a part is retried. */
  onProgress?: (loaded: number, total: number) => void;
  /** Aborts the upload, here and on the server. */
  signal?: AbortSignal;
  /** Per-part retry policy. */
  retry?: RetryOptions;
  /** Resume an earlier upload of the same file to the same place after a reload (default true). */
  resume?: boolean;
}

/** What a finished multipart upload resolves with. */
export interface MultipartResult {
  /** Public URL of the file. */
  url: string;
  size: number;
  etag: string;
  /** Whole-file checksum (base64) in the chosen algorithm; absent for `"none"`. */
  checksum?: string;
}

/** One part of a plan: bytes `start` to `end` (exclusive). */
export interface PartRange { partNumber: number; start: number; end: number; }

/** Options of `createMultipart`. */
export interface CreateMultipartOptions {
  partSize?: number;
  checksum?: ChecksumName;
  overwrite?: boolean;
  mimeType?: string;
}

/** A started multipart upload. */
export interface MultipartUpload { uploadId: string; partSize: number; partCount: number; expiresAt: number; }

/** A signed URL for one part. */
export interface PresignedPart {
  partNumber: number;
  url: string;
  method: string;
  headers: Record<string, string>;
  /** ms since the epoch. */
  expiresAt: number;
}

/** Options of `uploadPart`. */
export interface PartUploadOptions {
  /** The part's checksum as `hashPart` answers it; sent for the server to verify. */
  checksum?: string;
  /** The checksum's algorithm (default `"crc32c"`). */
  algorithm?: ChecksumName;
  onProgress?: (loaded: number, total: number) => void;
  signal?: AbortSignal;
}

/** A stored part as `uploadPart` answers it. */
export interface UploadedPart { etag: string; size: number; }

/** A part the server holds. */
export interface StoredPart { partNumber: number; size: number; etag: string; checksum?: string; }

/** The server's view of an upload (`listParts`). */
export interface UploadStatus {
  uploadId: string;
  path: string;
  size: number;
  partSize: number;
  partCount: number;
  checksum: ChecksumName;
  parts: StoredPart[];
  expiresAt: number;
  completed?: CompleteResult;
}

/** A part named in `completeMultipart`. */
export interface CompletedPart { partNumber: number; etag: string; }

/** The server's answer to `completeMultipart`. */
export interface CompleteResult { fileURL: string; size: number; etag: string; checksum?: string; }

/** Progress of a task. */
export interface UploadProgress { loaded: number; total: number; }

/** State of a task. */
export type UploadState = "running" | "paused" | "aborted" | "done" | "failed";
"#;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "MultipartOptions")]
    #[derive(Debug, Clone)]
    pub type JsMultipartOptions;
    #[wasm_bindgen(typescript_type = "MultipartResult")]
    #[derive(Debug, Clone)]
    pub type JsMultipartResult;
    #[wasm_bindgen(typescript_type = "Promise<MultipartResult>")]
    #[derive(Debug, Clone)]
    pub type JsMultipartPromise;
    #[wasm_bindgen(typescript_type = "PartRange[]")]
    #[derive(Debug, Clone)]
    pub type JsPartRanges;
    #[wasm_bindgen(typescript_type = "CreateMultipartOptions")]
    #[derive(Debug, Clone)]
    pub type JsCreateMultipartOptions;
    #[wasm_bindgen(typescript_type = "MultipartUpload")]
    #[derive(Debug, Clone)]
    pub type JsMultipartUpload;
    #[wasm_bindgen(typescript_type = "PresignedPart[]")]
    #[derive(Debug, Clone)]
    pub type JsPresignedParts;
    #[wasm_bindgen(typescript_type = "string | PresignedPart")]
    #[derive(Debug, Clone)]
    pub type JsPartTarget;
    #[wasm_bindgen(typescript_type = "PartUploadOptions")]
    #[derive(Debug, Clone)]
    pub type JsPartUploadOptions;
    #[wasm_bindgen(typescript_type = "UploadedPart")]
    #[derive(Debug, Clone)]
    pub type JsUploadedPart;
    #[wasm_bindgen(typescript_type = "UploadStatus")]
    #[derive(Debug, Clone)]
    pub type JsUploadStatus;
    #[wasm_bindgen(typescript_type = "CompletedPart[]")]
    #[derive(Debug, Clone)]
    pub type JsCompletedParts;
    #[wasm_bindgen(typescript_type = "CompleteResult")]
    #[derive(Debug, Clone)]
    pub type JsCompleteResult;
    #[wasm_bindgen(typescript_type = "UploadProgress")]
    #[derive(Debug, Clone)]
    pub type JsUploadProgress;
    #[wasm_bindgen(typescript_type = "UploadState")]
    #[derive(Debug, Clone)]
    pub type JsUploadState;
}

/// The serde-readable part of `MultipartOptions`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlainOptions {
    name: Option<String>,
    part_size: Option<f64>,
    concurrency: Option<f64>,
    overwrite: Option<bool>,
    checksum: Option<ChecksumAlgorithm>,
    mime_type: Option<String>,
    retry: Option<RetryPolicy>,
    resume: Option<bool>,
}

pub(crate) fn whole(value: Option<f64>, what: &str, min: u64) -> Result<Option<u64>, Error> {
    match value {
        None => Ok(None),
        Some(v) => to_u64(v).filter(|n| *n >= min).map(Some).ok_or_else(|| {
            Error::InvalidArgument(format!("{what} must be a whole number of at least {min}"))
        }),
    }
}

fn multipart_options(
    value: Option<JsValue>,
) -> Result<(MultipartOptions, Option<AbortSignal>), Error> {
    let value = value.filter(|v| !v.is_undefined() && !v.is_null());
    let plain: PlainOptions =
        decode_object(value.as_ref(), "MultipartOptions")?.unwrap_or_default();
    let (on_progress, signal) = match &value {
        Some(v) => (
            field::<Function>(v, "MultipartOptions", "onProgress", "a function")?,
            field::<AbortSignal>(v, "MultipartOptions", "signal", "an AbortSignal")?,
        ),
        None => (None, None),
    };
    let concurrency = whole(plain.concurrency, "concurrency", 1)?.unwrap_or(4);
    let options = MultipartOptions {
        name: plain.name,
        part_size: whole(plain.part_size, "partSize", 1)?,
        concurrency: usize::try_from(concurrency.min(64)).unwrap_or(4),
        overwrite: plain.overwrite.unwrap_or(false),
        checksum: plain.checksum.unwrap_or_default(),
        mime_type: plain.mime_type,
        on_progress,
        retry: plain.retry.unwrap_or_default(),
        resume: plain.resume.unwrap_or(true),
    };
    Ok((options, signal))
}

/// A running multipart upload: pause, resume, abort, watch.
///
/// ```javascript
/// const task = startUpload(input.files[0], '/videos', { concurrency: 4 });
/// pauseButton.onclick = () => task.pause();
/// resumeButton.onclick = () => task.resume();
/// const { url } = await task.done;
/// ```
#[wasm_bindgen]
#[derive(Debug)]
pub struct UploadTask {
    control: Rc<Control>,
    done: Promise,
}

#[wasm_bindgen]
impl UploadTask {
    /// Stops sending: parts in flight are cancelled, finished parts are kept.
    pub fn pause(&self) {
        self.control.pause();
    }

    /// Continues a paused upload with the parts still missing.
    pub fn resume(&self) {
        self.control.resume();
    }

    /// Cancels the upload here and on the server; resolves once the task has stopped
    /// (`done` then rejects with an `AbortError`).
    pub async fn abort(&self) {
        self.control.abort();
        let _ = JsFuture::from(self.done.clone()).await;
    }

    /// `{loaded, total}` as last reported.
    #[wasm_bindgen(getter)]
    pub fn progress(&self) -> JsUploadProgress {
        let (loaded, total) = self.control.progress();
        let object = js_sys::Object::new();
        let _ = Reflect::set(
            &object,
            &"loaded".into(),
            &crate::progress::to_f64(loaded).into(),
        );
        let _ = Reflect::set(
            &object,
            &"total".into(),
            &crate::progress::to_f64(total).into(),
        );
        object.unchecked_into()
    }

    /// The server's id of the upload once it has one (for `listParts`), else `undefined`.
    #[wasm_bindgen(getter, js_name = uploadId)]
    pub fn upload_id(&self) -> Option<String> {
        self.control.upload_id()
    }

    /// `"running"`, `"paused"`, `"aborted"`, `"done"` or `"failed"`.
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> JsUploadState {
        JsValue::from_str(self.control.state().as_str()).unchecked_into()
    }

    /// Resolves with the result when the upload completes; rejects with a `StorageError`,
    /// `NetworkError` or `AbortError`.
    #[wasm_bindgen(getter)]
    pub fn done(&self) -> JsMultipartPromise {
        self.done.clone().unchecked_into()
    }
}

fn start(
    client: &Client,
    file: Blob,
    path: String,
    options: Option<JsMultipartOptions>,
) -> Result<UploadTask, Error> {
    let (options, signal) = multipart_options(options.map(Into::into))?;
    let control = Rc::new(Control::default());
    let link = signal.map(|s| link_signal(&s, &control)).transpose()?;
    let endpoint = client.endpoint();
    let run_control = Rc::clone(&control);
    let done = wasm_bindgen_futures::future_to_promise(async move {
        let _link = link;
        let result =
            upload_multipart(endpoint, file, &path, options, Rc::clone(&run_control)).await;
        run_control.finish(result.is_ok());
        match result {
            Ok(r) => to_js(&r).map_err(JsValue::from),
            Err(e) => Err(e.into()),
        }
    });
    Ok(UploadTask { control, done })
}

async fn multipart(
    client: &Client,
    file: Blob,
    path: String,
    options: Option<JsMultipartOptions>,
) -> Result<JsMultipartResult, JsValue> {
    let task = start(client, file, path, options)?;
    Ok(JsFuture::from(task.done).await?.unchecked_into())
}

#[wasm_bindgen]
impl StorageClient {
    /// Uploads a large `File` in parts sent in parallel, each checksummed and retried on its
    /// own; resumes after a reload. Resolves with `{url, size, etag, checksum}`.
    ///
    /// ```javascript
    /// const { url } = await files.uploadMultipart(file, '/videos', { concurrency: 4, onProgress: (l, t) => bar.value = l / t });
    /// ```
    #[wasm_bindgen(js_name = uploadMultipart)]
    pub async fn upload_multipart(
        &self,
        file: Blob,
        path: String,
        options: Option<JsMultipartOptions>,
    ) -> Result<JsMultipartResult, JsValue> {
        multipart(&self.client, file, path, options).await
    }

    /// Starts a multipart upload and returns its `UploadTask` at once.
    ///
    /// ```javascript
    /// const task = files.startUpload(file, '/videos');
    /// task.pause(); task.resume();
    /// const result = await task.done;
    /// ```
    #[wasm_bindgen(js_name = startUpload)]
    pub fn start_upload(
        &self,
        file: Blob,
        path: String,
        options: Option<JsMultipartOptions>,
    ) -> Result<UploadTask, JsValue> {
        Ok(start(&self.client, file, path, options)?)
    }
}

/// `StorageClient.uploadMultipart` with the client set by `configure`.
///
/// ```javascript
/// const { url, checksum } = await uploadMultipart(file, '/videos', { checksum: 'sha256' });
/// ```
pub async fn upload_multipart_fn(
    file: Blob,
    path: String,
    options: Option<JsMultipartOptions>,
) -> Result<JsMultipartResult, JsValue> {
    multipart(&configured()?, file, path, options).await
}

/// `StorageClient.startUpload` with the client set by `configure`.
///
/// ```javascript
/// const task = startUpload(file, '/videos'); await task.done;
/// ```
pub fn start_upload_fn(
    file: Blob,
    path: String,
    options: Option<JsMultipartOptions>,
) -> Result<UploadTask, JsValue> {
    Ok(start(&configured()?, file, path, options)?)
}
