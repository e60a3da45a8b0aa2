//! One part: its checksum, read from the File in bounded chunks, and its PUT to a signed URL
//! with the part's Blob slice as the body (the browser streams it; nothing is copied).

use std::rc::Rc;

use js_sys::{ArrayBuffer, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Blob};

use stowage_protocol::multipart::{ChecksumAlgorithm, PresignedRequest};

use crate::error::Error;
use crate::hash::{sha256_checksum, PartChecksum, PartHasher};
use crate::progress::to_f64;
use crate::xhr::{self, ProgressReporter, XhrRequest};

/// Bytes copied into the wasm heap per step while hashing: the heap holds at most this much of
/// a part at a time.
pub(crate) const HASH_CHUNK: u64 = 1024 * 1024;

/// Bytes read from the File per `Blob.arrayBuffer()` while hashing. Each read costs a round trip
/// to the browser's blob store, so 1 MiB reads ran at a third of the speed of one whole read;
/// 8 MiB reads keep that cost small while the JS memory per part in flight stays bounded.
pub(crate) const READ_CHUNK: u64 = 8 * 1024 * 1024;

/// Client-side code of "ETag not readable": the part was stored but the browser may not read
/// the `ETag` header (the server does not list it in `Access-Control-Expose-Headers`).
pub const ETAG_NOT_READABLE: u32 = 9001;
/// Client-side code of a completed upload whose size or checksum is not the file's.
pub const RESULT_MISMATCH: u32 = 9002;

/// `blob.slice(start, end)` with checked offsets.
pub(crate) fn slice(blob: &Blob, start: u64, end: u64) -> Result<Blob, Error> {
    blob.slice_with_f64_and_f64(to_f64(start), to_f64(end))
        .map_err(|e| Error::from_js(&e))
}

/// The bytes of a (small) Blob as an `ArrayBuffer` in JS memory.
pub(crate) async fn array_buffer(blob: &Blob) -> Result<ArrayBuffer, Error> {
    let value = JsFuture::from(blob.array_buffer())
        .await
        .map_err(|e| read_error(&e))?;
    value
        .dyn_into()
        .map_err(|_| Error::Browser("Blob.arrayBuffer() gave no ArrayBuffer".into()))
}

fn read_error(e: &JsValue) -> Error {
    let inner = Error::from_js(e);
    Error::Browser(format!(
        "cannot read the file (was it changed or removed?): {inner}"
    ))
}

/// Hashes `blob` in wasm, reading it [`READ_CHUNK`] bytes at a time.
pub(crate) async fn hash_in_wasm(
    blob: &Blob,
    algorithm: ChecksumAlgorithm,
) -> Result<PartChecksum, Error> {
    let mut hasher = PartHasher::new(algorithm);
    if algorithm == ChecksumAlgorithm::None {
        return Ok(hasher.finish());
    }
    let size = crate::progress::to_u64(blob.size()).unwrap_or(0);
    let mut buffer = Vec::new();
    let mut offset = 0;
    while offset < size {
        let end = (offset + READ_CHUNK).min(size);
        let bytes = Uint8Array::new(&array_buffer(&slice(blob, offset, end)?).await?.into());
        feed(&mut hasher, &bytes, &mut buffer);
        offset = end;
    }
    Ok(hasher.finish())
}

/// Hashes bytes already in JS memory (an `ArrayBuffer` or a view of one).
pub(crate) fn hash_bytes(bytes: &Uint8Array, algorithm: ChecksumAlgorithm) -> PartChecksum {
    let mut hasher = PartHasher::new(algorithm);
    if algorithm != ChecksumAlgorithm::None {
        feed(&mut hasher, bytes, &mut Vec::new());
    }
    hasher.finish()
}

/// Feeds `bytes` to `hasher` through `buffer`, [`HASH_CHUNK`] bytes at a time.
fn feed(hasher: &mut PartHasher, bytes: &Uint8Array, buffer: &mut Vec<u8>) {
    let len = bytes.length();
    let step = u32::try_from(HASH_CHUNK).unwrap_or(u32::MAX);
    let mut at = 0;
    while at < len {
        let end = at.saturating_add(step).min(len);
        let n = usize::try_from(end - at).unwrap_or(0);
        if buffer.len() < n {
            buffer.resize(n, 0);
        }
        bytes.subarray(at, end).copy_to(&mut buffer[..n]);
        hasher.update(&buffer[..n]);
        at = end;
    }
}

/// SHA-256 with `crypto.subtle.digest`, or `None` where there is no `crypto.subtle` (pages
/// served over plain http from other hosts than localhost are not secure contexts).
pub(crate) async fn sha256_subtle(blob: &Blob) -> Result<Option<PartChecksum>, Error> {
    let global = js_sys::global();
    let subtle = Reflect::get(&global, &"crypto".into())
        .and_then(|c| Reflect::get(&c, &"subtle".into()))
        .ok()
        .filter(|s| s.is_object());
    let Some(subtle) = subtle else {
        return Ok(None);
    };
    let digest: Function = Reflect::get(&subtle, &"digest".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| Error::Browser("crypto.subtle.digest is missing".into()))?;
    let data = array_buffer(blob).await?;
    let promise: Promise = digest
        .call2(&subtle, &"SHA-256".into(), &data)
        .map_err(|e| Error::from_js(&e))?
        .dyn_into()
        .map_err(|_| Error::Browser("digest() did not return a Promise".into()))?;
    let result = JsFuture::from(promise)
        .await
        .map_err(|e| Error::from_js(&e))?;
    let bytes = Uint8Array::new(&result).to_vec();
    let digest: [u8; 32] = bytes
        .try_into()
        .map_err(|_| Error::Browser("SHA-256 digest is not 32 bytes".into()))?;
    Ok(Some(sha256_checksum(&digest)))
}

/// What a stored part answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartStored {
    /// The `ETag` response header.
    pub(crate) etag: String,
    /// Bytes sent.
    pub(crate) size: u64,
}

/// A failed part PUT, with the server's `Retry-After` when it sent one.
#[derive(Debug, Clone)]
pub(crate) struct PartFailure {
    /// What went wrong.
    pub(crate) error: Error,
    /// Seconds the server asked to wait.
    pub(crate) retry_after: Option<f64>,
}

impl From<Error> for PartFailure {
    fn from(error: Error) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

/// PUTs `body` to a signed part URL with its checksum header, reporting the bytes of this try
/// to `on_bytes` as they go. The `ETag` header of the answer must be readable.
pub(crate) async fn put_part(
    request: &PresignedRequest,
    body: &Blob,
    checksum: Option<&PartChecksum>,
    on_bytes: Option<Rc<dyn Fn(u64)>>,
    signal: Option<AbortSignal>,
) -> Result<PartStored, PartFailure> {
    let size = crate::progress::to_u64(body.size()).unwrap_or(0);
    let mut headers: Vec<(&'static str, String)> = Vec::new();
    if let Some(header) = checksum.and_then(PartChecksum::header) {
        headers.push(header);
    }
    // Lives until the request has ended: dropped at the end of this function.
    let callback = on_bytes.map(|f| {
        Closure::<dyn Fn(f64, f64)>::new(move |loaded: f64, _total: f64| {
            f(crate::progress::to_u64(loaded).unwrap_or(0));
        })
    });
    let reporter = callback.as_ref().map(|c| {
        ProgressReporter::new(
            c.as_ref().unchecked_ref::<Function>().clone(),
            Some(size),
            true,
        )
    });
    let xhr_request = XhrRequest {
        method: "PUT",
        url: &request.url,
        headers,
        body: Some(body),
        blob_response: false,
        progress: reporter,
        signal,
    };
    let done = xhr::send(&xhr_request).await?;
    drop(callback);
    let status = done.status().map_err(|e| Error::from_js(&e))?;
    if !(200..300).contains(&status) {
        let text = done.response_text().ok().flatten().unwrap_or_default();
        let retry_after = done
            .get_response_header("Retry-After")
            .ok()
            .flatten()
            .and_then(|v| v.trim().parse::<f64>().ok());
        return Err(PartFailure {
            error: Error::from_response(status, &text),
            retry_after,
        });
    }
    let etag = done
        .get_response_header("ETag")
        .ok()
        .flatten()
        .filter(|e| !e.is_empty());
    let etag = etag.ok_or_else(|| Error::Storage {
        code: ETAG_NOT_READABLE,
        status,
        message: "The part was stored but its ETag header is not readable: the server must send \
                  Access-Control-Expose-Headers: ETag"
            .into(),
        items: None,
    })?;
    Ok(PartStored { etag, size })
}
