//! Uploads: one raw `POST {root}/files/{dir}/{name}?overwrite=…` whose body is the caller's
//! File or Blob itself, so the browser streams it from disk and no byte is copied into wasm or
//! JS memory. Sent with `XMLHttpRequest` because only it reports upload progress.

use js_sys::Function;
use stowage_protocol::UploadResponse;
use wasm_bindgen::JsCast;
use web_sys::{AbortSignal, Blob, File};

use crate::abort;
use crate::endpoint::{upload_target, Api, Endpoint};
use crate::error::{decode, Error};
use crate::progress::to_u64;
use crate::xhr::{self, ProgressReporter, XhrRequest};

/// One upload as the caller described it.
#[derive(Debug)]
pub(crate) struct Upload {
    /// The bytes: a `File` (its `name` is used) or any `Blob`.
    pub(crate) file: Blob,
    /// The directory to store it in (`""` or `/` for the root).
    pub(crate) dir: String,
    /// Replace an existing file instead of failing with `6003`.
    pub(crate) overwrite: bool,
    /// The stored name; overrides `File.name`, required for a plain Blob.
    pub(crate) name: Option<String>,
    /// `onProgress(loaded, total)`.
    pub(crate) on_progress: Option<Function>,
    /// Aborts the upload when it fires.
    pub(crate) signal: Option<AbortSignal>,
}

/// Sends the upload and answers the stored file's public URL (`fileURL`).
/// Bad names and directories are refused before anything is sent, with the server's codes.
pub(crate) async fn upload(endpoint: &Endpoint, upload: Upload) -> Result<String, Error> {
    let name = stored_name(&upload.file, upload.name)?;
    let target = upload_target(&upload.dir, &name)?;
    abort::check(upload.signal.as_ref())?;
    let size = to_u64(upload.file.size())
        .ok_or_else(|| Error::InvalidArgument("the Blob has no usable size".into()))?;
    let url = endpoint.upload_url(&target, upload.overwrite);

    let blob_type = upload.file.type_();
    let content_type = if blob_type.is_empty() {
        "application/octet-stream".to_owned()
    } else {
        blob_type
    };
    let sent = endpoint.credentials(Api::Backendless);
    let mut headers = vec![("Content-Type", content_type)];
    headers.extend(sent.headers.iter().cloned());
    let reporter = upload
        .on_progress
        .map(|f| ProgressReporter::new(f, Some(size), true));
    let request = XhrRequest {
        method: "POST",
        url: &url,
        headers,
        body: Some(&upload.file),
        blob_response: false,
        progress: reporter.clone(),
        signal: upload.signal,
    };
    let answer = async {
        let done = xhr::send(&request).await?;
        let status = done.status().map_err(|e| Error::from_js(&e))?;
        let body = done
            .response_text()
            .map_err(|e| Error::from_js(&e))?
            .unwrap_or_default();
        decode::<UploadResponse>(status, &body)
    }
    .await;
    let answer = endpoint.settle(&sent, answer)?;
    if let Some(reporter) = &reporter {
        reporter.finish(size);
    }
    Ok(answer.file_url)
}

/// The name to store under: the `name` option, else the File's own name.
pub(crate) fn stored_name(file: &Blob, name: Option<String>) -> Result<String, Error> {
    name.or_else(|| file.dyn_ref::<File>().map(File::name))
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            Error::InvalidArgument(
                "upload: this Blob has no file name; pass one as options.name".into(),
            )
        })
}
