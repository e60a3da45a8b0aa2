//! Downloads into a `Blob` (the browser holds the bytes, not wasm), with progress, and
//! `saveAs`, which hands such a Blob to the browser's own save through an `<a download>`.

use js_sys::Function;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Blob, HtmlAnchorElement, Url};

use crate::endpoint::{suggested_file_name, Endpoint};
use crate::error::Error;
use crate::progress::to_u64;
use crate::xhr::{self, ProgressReporter, XhrRequest};

/// How long an object URL made for `saveAs` stays valid: long enough for the browser to
/// start reading it, after which it is revoked so the Blob can be freed.
const OBJECT_URL_LIFETIME_MS: i32 = 60_000;

/// Fetches a stored file (a storage path, or a full http(s) URL used as is) as a Blob.
/// The Blob's `type` is the response's `Content-Type`.
pub(crate) async fn download(
    endpoint: &Endpoint,
    path_or_url: &str,
    on_progress: Option<Function>,
    signal: Option<AbortSignal>,
) -> Result<Blob, Error> {
    let url = endpoint.resolve(path_or_url)?;
    let sent = endpoint.credentials_for(&url);
    let reporter = on_progress.map(|f| ProgressReporter::new(f, None, false));
    let request = XhrRequest {
        method: "GET",
        url: &url,
        headers: sent.headers.clone(),
        body: None,
        blob_response: true,
        progress: reporter.clone(),
        signal,
    };
    let blob = endpoint.settle(&sent, fetch_blob(&request).await)?;
    if let Some(reporter) = &reporter {
        reporter.finish(to_u64(blob.size()).unwrap_or(0));
    }
    Ok(blob)
}

/// Runs the request; the Blob of a 2xx answer, else the error its body describes.
async fn fetch_blob(request: &XhrRequest<'_>) -> Result<Blob, Error> {
    let js = |e: JsValue| Error::from_js(&e);
    let done = xhr::send(request).await?;
    let status = done.status().map_err(js)?;
    let blob: Blob = done
        .response()
        .map_err(js)?
        .dyn_into()
        .map_err(|_| Error::Browser("the response is not a Blob".into()))?;
    if !(200..300).contains(&status) {
        let text = JsFuture::from(blob.text()).await.map_err(js)?;
        return Err(Error::from_response(
            status,
            &text.as_string().unwrap_or_default(),
        ));
    }
    Ok(blob)
}

/// Downloads the file and starts the browser's save of it under `file_name` (default: the
/// last segment of the path or URL). Always goes through an object URL: browsers ignore the
/// `download` attribute on links to other origins, which the storage server usually is.
pub(crate) async fn save_as(
    endpoint: &Endpoint,
    path_or_url: &str,
    file_name: Option<String>,
) -> Result<(), Error> {
    let js = |e: JsValue| Error::from_js(&e);
    let name = file_name
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| suggested_file_name(path_or_url));
    let window = web_sys::window().ok_or_else(|| Error::Browser("saveAs needs a window".into()))?;
    let document = window
        .document()
        .ok_or_else(|| Error::Browser("saveAs needs a document".into()))?;
    let blob = download(endpoint, path_or_url, None, None).await?;

    let object_url = Url::create_object_url_with_blob(&blob).map_err(js)?;
    let anchor: HtmlAnchorElement = document
        .create_element("a")
        .map_err(js)?
        .dyn_into()
        .map_err(|_| Error::Browser("<a> is not an HtmlAnchorElement".into()))?;
    anchor.set_href(&object_url);
    anchor.set_download(&name);
    anchor.set_rel("noopener");
    anchor.click();

    let revoke = Closure::once_into_js(move || {
        let _ = Url::revoke_object_url(&object_url);
    });
    window
        .set_timeout_with_callback_and_timeout_and_arguments_0(
            revoke.unchecked_ref(),
            OBJECT_URL_LIFETIME_MS,
        )
        .map_err(js)?;
    Ok(())
}
