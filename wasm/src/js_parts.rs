//! The `#[wasm_bindgen]` surface of the multipart building blocks that `uploadMultipart` is
//! made of: `planParts`, `hashPart`, `createMultipart`, `presignParts`, `uploadPart`,
//! `listParts`, `completeMultipart`, `abortMultipart`, and `wasmMemoryBytes`.

use std::rc::Rc;

use js_sys::{Function, Reflect};
use serde::Deserialize;
use stowage_protocol::multipart::{
    plan_parts, ChecksumAlgorithm, CompletedPart, InitRequest, PresignedRequest,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{AbortSignal, Blob};

use crate::client::Client;
use crate::control;
use crate::endpoint::upload_target;
use crate::error::Error;
use crate::js::ops::to_js;
use crate::js::{configured, StorageClient};
use crate::js_multipart::{
    whole, JsCompleteResult, JsCompletedParts, JsCreateMultipartOptions, JsMultipartUpload,
    JsPartRanges, JsPartTarget, JsPartUploadOptions, JsPresignedParts, JsUploadStatus,
    JsUploadedPart,
};
use crate::options::{decode_object, field};
use crate::part::{hash_bytes, hash_in_wasm, put_part};
use crate::progress::to_u64;

fn algorithm(name: Option<String>) -> Result<ChecksumAlgorithm, Error> {
    match name {
        None => Ok(ChecksumAlgorithm::Crc32c),
        Some(n) => ChecksumAlgorithm::parse(&n).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "unknown checksum {n:?}: use \"crc32c\", \"sha256\" or \"none\""
            ))
        }),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateOptions {
    part_size: Option<f64>,
    checksum: Option<ChecksumAlgorithm>,
    overwrite: Option<bool>,
    mime_type: Option<String>,
}

async fn create(
    client: &Client,
    path: &str,
    name: &str,
    size: f64,
    options: Option<JsCreateMultipartOptions>,
) -> Result<JsMultipartUpload, Error> {
    let options: CreateOptions = decode_object(
        options.as_ref().map(AsRef::as_ref),
        "CreateMultipartOptions",
    )?
    .unwrap_or_default();
    let target = upload_target(path, name)?;
    let size = to_u64(size)
        .ok_or_else(|| Error::InvalidArgument("size must be a whole number of bytes".into()))?;
    let request = InitRequest {
        path: target.parent().to_absolute(),
        name: target.name().to_owned(),
        size,
        mime_type: options.mime_type,
        overwrite: options.overwrite.unwrap_or(false),
        part_size: whole(options.part_size, "partSize", 1)?,
        checksum: options.checksum.unwrap_or_default(),
    };
    Ok(to_js(&control::init(&client.endpoint(), &request).await?)?.unchecked_into())
}

async fn presign(
    client: &Client,
    upload_id: &str,
    numbers: Vec<f64>,
) -> Result<JsPresignedParts, Error> {
    let numbers = numbers
        .into_iter()
        .map(|n| {
            to_u64(n)
                .ok_or_else(|| Error::InvalidArgument("part numbers must be whole numbers".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(to_js(&control::presign(&client.endpoint(), upload_id, &numbers).await?)?.unchecked_into())
}

async fn send_part(
    target: JsPartTarget,
    part: Blob,
    options: Option<JsPartUploadOptions>,
) -> Result<JsUploadedPart, Error> {
    let target: JsValue = target.into();
    let url = match target.as_string() {
        Some(url) => url,
        None => Reflect::get(&target, &"url".into())
            .ok()
            .and_then(|u| u.as_string())
            .ok_or_else(|| {
                Error::InvalidArgument("uploadPart needs a URL or a PresignedPart".into())
            })?,
    };
    let options: Option<JsValue> = options
        .map(JsValue::from)
        .filter(|v| !v.is_undefined() && !v.is_null());
    #[derive(Debug, Default, Deserialize)]
    struct Plain {
        checksum: Option<String>,
        algorithm: Option<String>,
    }
    let plain: Plain = decode_object(options.as_ref(), "PartUploadOptions")?.unwrap_or_default();
    let (on_progress, signal) = match &options {
        Some(v) => (
            field::<Function>(v, "PartUploadOptions", "onProgress", "a function")?,
            field::<AbortSignal>(v, "PartUploadOptions", "signal", "an AbortSignal")?,
        ),
        None => (None, None),
    };
    let checksum = plain.checksum.map(|value| {
        let algorithm = algorithm(plain.algorithm)?;
        Ok::<_, Error>(crate::hash::PartChecksum {
            algorithm,
            value,
            crc32c: None,
        })
    });
    let checksum = checksum.transpose()?;
    let size = to_u64(part.size()).unwrap_or(0);
    let on_bytes: Option<Rc<dyn Fn(u64)>> = on_progress.map(|f| {
        Rc::new(move |bytes: u64| {
            let _ = f.call2(
                &JsValue::UNDEFINED,
                &crate::progress::to_f64(bytes).into(),
                &crate::progress::to_f64(size).into(),
            );
        }) as Rc<dyn Fn(u64)>
    });
    let request = PresignedRequest {
        url,
        method: "PUT".into(),
        headers: Default::default(),
        expires_at: 0,
    };
    let stored = put_part(&request, &part, checksum.as_ref(), on_bytes, signal)
        .await
        .map_err(|f| f.error)?;
    let object = js_sys::Object::new();
    let _ = Reflect::set(&object, &"etag".into(), &stored.etag.into());
    let _ = Reflect::set(
        &object,
        &"size".into(),
        &crate::progress::to_f64(stored.size).into(),
    );
    Ok(object.unchecked_into())
}

async fn complete(
    client: &Client,
    upload_id: &str,
    parts: JsCompletedParts,
) -> Result<JsCompleteResult, Error> {
    let parts: Vec<CompletedPart> = serde_wasm_bindgen::from_value(parts.into()).map_err(|e| {
        Error::InvalidArgument(format!("parts must be [{{partNumber, etag}}]: {e}"))
    })?;
    Ok(to_js(&control::complete(&client.endpoint(), upload_id, parts).await?)?.unchecked_into())
}

#[wasm_bindgen]
impl StorageClient {
    /// Starts a multipart upload on the server (`POST /v1/files/multipart/init`).
    ///
    /// ```javascript
    /// const { uploadId, partSize, partCount } = await files.createMultipart('/videos', 'a.mp4', file.size);
    /// ```
    #[wasm_bindgen(js_name = createMultipart)]
    pub async fn create_multipart(
        &self,
        path: String,
        name: String,
        size: f64,
        options: Option<JsCreateMultipartOptions>,
    ) -> Result<JsMultipartUpload, JsValue> {
        Ok(create(&self.client, &path, &name, size, options).await?)
    }

    /// Signed PUT URLs for parts of an upload.
    ///
    /// ```javascript
    /// const [part1] = await files.presignParts(uploadId, [1]);
    /// ```
    #[wasm_bindgen(js_name = presignParts)]
    pub async fn presign_parts(
        &self,
        #[wasm_bindgen(js_name = uploadId)] upload_id: String,
        #[wasm_bindgen(js_name = partNumbers)] part_numbers: Vec<f64>,
    ) -> Result<JsPresignedParts, JsValue> {
        Ok(presign(&self.client, &upload_id, part_numbers).await?)
    }

    /// The parts the server holds for an upload (for resuming by hand).
    ///
    /// ```javascript
    /// const { parts } = await files.listParts(uploadId);
    /// ```
    #[wasm_bindgen(js_name = listParts)]
    pub async fn list_parts(
        &self,
        #[wasm_bindgen(js_name = uploadId)] upload_id: String,
    ) -> Result<JsUploadStatus, JsValue> {
        Ok(to_js(&control::status(&self.client.endpoint(), &upload_id).await?)?.unchecked_into())
    }

    /// Makes the file visible once every part is stored; the server checks each part.
    ///
    /// ```javascript
    /// const { fileURL } = await files.completeMultipart(uploadId, [{ partNumber: 1, etag }]);
    /// ```
    #[wasm_bindgen(js_name = completeMultipart)]
    pub async fn complete_multipart(
        &self,
        #[wasm_bindgen(js_name = uploadId)] upload_id: String,
        parts: JsCompletedParts,
    ) -> Result<JsCompleteResult, JsValue> {
        Ok(complete(&self.client, &upload_id, parts).await?)
    }

    /// Abandons an upload and removes its stored parts (twice is fine).
    ///
    /// ```javascript
    /// await files.abortMultipart(uploadId);
    /// ```
    #[wasm_bindgen(js_name = abortMultipart)]
    pub async fn abort_multipart(
        &self,
        #[wasm_bindgen(js_name = uploadId)] upload_id: String,
    ) -> Result<(), JsValue> {
        Ok(control::abort(&self.client.endpoint(), &upload_id).await?)
    }
}

/// `StorageClient.createMultipart` with the client set by `configure`.
///
/// ```javascript
/// const upload = await createMultipart('/videos', 'a.mp4', file.size, { partSize: 8 << 20 });
/// ```
pub async fn create_multipart_fn(
    path: String,
    name: String,
    size: f64,
    options: Option<JsCreateMultipartOptions>,
) -> Result<JsMultipartUpload, JsValue> {
    Ok(create(&configured()?, &path, &name, size, options).await?)
}

/// `StorageClient.presignParts` with the client set by `configure`.
///
/// ```javascript
/// const urls = await presignParts(uploadId, [1, 2, 3]);
/// ```
pub async fn presign_parts_fn(
    upload_id: String,
    part_numbers: Vec<f64>,
) -> Result<JsPresignedParts, JsValue> {
    Ok(presign(&configured()?, &upload_id, part_numbers).await?)
}

/// `StorageClient.listParts` with the client set by `configure`.
///
/// ```javascript
/// const status = await listParts(uploadId);
/// ```
pub async fn list_parts_fn(upload_id: String) -> Result<JsUploadStatus, JsValue> {
    Ok(to_js(&control::status(&configured()?.endpoint(), &upload_id).await?)?.unchecked_into())
}

/// `StorageClient.completeMultipart` with the client set by `configure`.
///
/// ```javascript
/// await completeMultipart(uploadId, parts);
/// ```
pub async fn complete_multipart_fn(
    upload_id: String,
    parts: JsCompletedParts,
) -> Result<JsCompleteResult, JsValue> {
    Ok(complete(&configured()?, &upload_id, parts).await?)
}

/// `StorageClient.abortMultipart` with the client set by `configure`.
///
/// ```javascript
/// await abortMultipart(uploadId);
/// ```
pub async fn abort_multipart_fn(upload_id: String) -> Result<(), JsValue> {
    Ok(control::abort(&configured()?.endpoint(), &upload_id).await?)
}

/// PUTs one part to its signed URL (a URL string or a `PresignedPart`); resolves with its ETag.
/// Needs no client: the URL is signed.
///
/// ```javascript
/// const checksum = await hashPart(file.slice(0, partSize), 'crc32c');
/// const { etag } = await uploadPart(part1, file.slice(0, partSize), { checksum });
/// ```
#[wasm_bindgen(js_name = uploadPart)]
pub async fn upload_part(
    target: JsPartTarget,
    part: Blob,
    options: Option<JsPartUploadOptions>,
) -> Result<JsUploadedPart, JsValue> {
    Ok(send_part(target, part, options).await?)
}

/// Cuts `size` bytes into parts of `partSize` (the last one shorter; an empty file is one
/// empty part).
///
/// ```javascript
/// planParts(20, 8); // [{partNumber: 1, start: 0, end: 8}, {partNumber: 2, start: 8, end: 16}, {partNumber: 3, start: 16, end: 20}]
/// ```
#[wasm_bindgen(js_name = planParts)]
pub fn plan_parts_fn(
    size: f64,
    #[wasm_bindgen(js_name = partSize)] part_size: f64,
) -> Result<JsPartRanges, JsValue> {
    let size = to_u64(size)
        .ok_or_else(|| Error::InvalidArgument("size must be a whole number of bytes".into()))?;
    let part_size = to_u64(part_size)
        .filter(|p| *p > 0)
        .ok_or_else(|| Error::InvalidArgument("partSize must be a whole number above 0".into()))?;
    if size.div_ceil(part_size) > 1_000_000 {
        return Err(Error::InvalidArgument(
            "more than a million parts: use a larger partSize".into(),
        )
        .into());
    }
    Ok(to_js(&plan_parts(size, part_size))?.unchecked_into())
}

/// The checksum of a part as the server expects it (base64), computed in wasm: of a Blob, read
/// 8 MiB at a time, or of bytes already in memory (an `ArrayBuffer` or a typed-array or
/// `DataView` view of one, hashed where they are, with no copy in JS).
///
/// ```javascript
/// const crc = await hashPart(file.slice(0, 8 << 20), 'crc32c');
/// const same = await hashPart(await file.slice(0, 8 << 20).arrayBuffer(), 'crc32c');
/// ```
#[wasm_bindgen(js_name = hashPart)]
pub async fn hash_part(
    #[wasm_bindgen(unchecked_param_type = "Blob | BufferSource")] part: JsValue,
    algorithm: Option<String>,
) -> Result<String, JsValue> {
    let algorithm = self::algorithm(algorithm)?;
    if let Some(blob) = part.dyn_ref::<Blob>() {
        return Ok(hash_in_wasm(blob, algorithm).await?.value);
    }
    let bytes = bytes_of(&part).ok_or_else(|| {
        Error::InvalidArgument(
            "hashPart takes a Blob, an ArrayBuffer, a typed array or a DataView".into(),
        )
    })?;
    Ok(hash_bytes(&bytes, algorithm).value)
}

/// A `Uint8Array` over the same memory as an `ArrayBuffer` or an `ArrayBuffer` view.
fn bytes_of(value: &JsValue) -> Option<js_sys::Uint8Array> {
    if let Some(buffer) = value.dyn_ref::<js_sys::ArrayBuffer>() {
        return Some(js_sys::Uint8Array::new(buffer));
    }
    if !js_sys::ArrayBuffer::is_view(value) {
        return None;
    }
    let number = |name: &str| {
        Reflect::get(value, &name.into())
            .ok()
            .and_then(|v| v.as_f64())
            .and_then(to_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    let buffer = Reflect::get(value, &"buffer".into()).ok()?;
    Some(js_sys::Uint8Array::new_with_byte_offset_and_length(
        &buffer,
        number("byteOffset")?,
        number("byteLength")?,
    ))
}

/// Size of this module's `WebAssembly.Memory`, in bytes: the wasm heap's high-water mark
/// (wasm memory grows and never shrinks).
///
/// ```javascript
/// console.log(wasmMemoryBytes() / 2 ** 20, 'MiB');
/// ```
#[wasm_bindgen(js_name = wasmMemoryBytes)]
#[must_use]
pub fn wasm_memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0.0, |b| f64::from(b.byte_length()))
}
