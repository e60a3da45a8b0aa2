//! The Files API calls (`{baseUrl}/api/v1/projects/{appId}/files/...`): JSON `POST`s over
//! `fetch` with `Authorization: Bearer` and the user's token (the API key when nobody is
//! signed in), answers parsed by the browser's `JSON.parse` into plain JS objects, and a new
//! record's content sent to its presigned `uploadUrl` with `XMLHttpRequest` (for progress),
//! straight from the caller's Blob.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::JsValue;
use web_sys::{AbortSignal, Blob};

use crate::endpoint::{Api, Endpoint};
use crate::error::Error;
use crate::fetch::{self, json_value};
use crate::progress::to_u64;
use crate::records::{self, Identity, Pager, Step};
use crate::xhr::{self, ProgressReporter, XhrRequest};

/// The content of a new record and how to report on its upload.
#[derive(Debug)]
pub(crate) struct Content {
    /// The bytes; the browser streams them from the Blob.
    pub(crate) blob: Blob,
    /// The `Content-Type` of the upload (the record's `mimeType`).
    pub(crate) content_type: String,
    /// `onProgress(loaded, total)`.
    pub(crate) on_progress: Option<Function>,
}

/// `POST files?overwrite=…` with the JSON text of a `FileInfo`, then, with `content`, its
/// upload and the record read back (now `uploaded: true`). Without content the answer is the
/// new record with its `uploadUrl`. `signal` aborts the create and the upload; once the bytes
/// are stored the call no longer aborts.
pub(crate) async fn create(
    endpoint: &Endpoint,
    info: &str,
    overwrite: bool,
    content: Option<Content>,
    signal: Option<AbortSignal>,
) -> Result<JsValue, Error> {
    let route = format!("?overwrite={overwrite}");
    let record = post(endpoint, &route, info, signal.as_ref()).await?;
    let Some(content) = content else {
        return Ok(record);
    };
    let id = Identity::id(number(&record, "id")?)?;
    let upload_url = text(&record, "uploadUrl")?;
    put(&endpoint.absolute(&upload_url), content, signal).await?;
    let body = records::identities_body(&[id], None);
    let read_back = items(&post(endpoint, "/byids", &body, None).await?)?;
    let fetched = read_back.get(0);
    if fetched.is_object() {
        Ok(fetched)
    } else {
        Err(shape("byids did not answer the record just uploaded"))
    }
}

/// What a call's answer is reduced to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Its `items` array (`byids`, `update`, `downloadlink`).
    Items,
    /// All of it, once it is checked to have `items` (`list`: `{items, nextCursor?}`).
    Page,
    /// Nothing: `undefined` (`delete`).
    Nothing,
}

/// One Files API call whose body is built already: `POST files{route}`, the answer reduced as
/// `answer` says. All calls but `create` and the iterator's pages go through this one function,
/// so the wasm holds one future for all of them.
pub(crate) async fn call(
    endpoint: Rc<Endpoint>,
    route: &'static str,
    body: String,
    answer: Answer,
) -> Result<JsValue, Error> {
    let value = post(&endpoint, route, &body, None).await?;
    match answer {
        Answer::Items => Ok(items(&value)?.into()),
        Answer::Page => items(&value).map(|_| value),
        Answer::Nothing => Ok(JsValue::UNDEFINED),
    }
}

/// The next record of a listing, fetching pages as needed; `None` at the end.
pub(crate) async fn next_record(
    endpoint: &Endpoint,
    pager: &RefCell<Pager<JsValue>>,
) -> Result<Option<JsValue>, Error> {
    loop {
        // The borrow ends before the await: the pager is never borrowed across a fetch.
        let step = pager.borrow_mut().step()?;
        match step {
            Step::Item(record) => return Ok(Some(record)),
            Step::Done => return Ok(None),
            Step::Fetch(body) => {
                let answer = post(endpoint, "/list", &body, None).await?;
                let page = items(&answer)?;
                let cursor = Reflect::get(&answer, &"nextCursor".into())
                    .ok()
                    .and_then(|c| c.as_string());
                pager.borrow_mut().receive(page.iter(), cursor)?;
            }
        }
    }
}

/// One JSON call to the Files API: the parsed answer, or the error its envelope describes.
async fn post(
    endpoint: &Endpoint,
    route: &str,
    body: &str,
    signal: Option<&AbortSignal>,
) -> Result<JsValue, Error> {
    let url = endpoint.files_api_url(route);
    let sent = endpoint.credentials(Api::Records);
    let answer = fetch::send_abortable("POST", &url, &sent.pairs(), Some(body), signal).await;
    endpoint.settle(
        &sent,
        answer.and_then(|(status, text)| json_value(status, &text)),
    )
}

/// PUTs the content to a presigned URL (no credentials: the URL is the authorisation).
async fn put(url: &str, content: Content, signal: Option<AbortSignal>) -> Result<(), Error> {
    let size = to_u64(content.blob.size())
        .ok_or_else(|| Error::InvalidArgument("the Blob has no usable size".into()))?;
    let reporter = content
        .on_progress
        .map(|f| ProgressReporter::new(f, Some(size), true));
    let request = XhrRequest {
        method: "PUT",
        url,
        headers: vec![("Content-Type", content.content_type)],
        body: Some(&content.blob),
        blob_response: false,
        progress: reporter.clone(),
        signal,
    };
    let done = xhr::send(&request).await?;
    let status = done.status().map_err(|e| Error::from_js(&e))?;
    if !(200..300).contains(&status) {
        let body = done.response_text().ok().flatten().unwrap_or_default();
        return Err(Error::from_response(status, &body));
    }
    if let Some(reporter) = &reporter {
        reporter.finish(size);
    }
    Ok(())
}

/// The `items` array of an answer.
fn items(answer: &JsValue) -> Result<Array, Error> {
    let items = Reflect::get(answer, &"items".into()).unwrap_or(JsValue::UNDEFINED);
    if Array::is_array(&items) {
        Ok(items.into())
    } else {
        Err(shape("the answer has no items array"))
    }
}

fn number(record: &JsValue, key: &str) -> Result<f64, Error> {
    Reflect::get(record, &key.into())
        .ok()
        .and_then(|v| v.as_f64())
        .ok_or_else(|| shape(&format!("the record has no numeric {key}")))
}

fn text(record: &JsValue, key: &str) -> Result<String, Error> {
    Reflect::get(record, &key.into())
        .ok()
        .and_then(|v| v.as_string())
        .ok_or_else(|| shape(&format!("the record has no {key}")))
}

/// A 2xx answer of the wrong shape.
fn shape(what: &str) -> Error {
    Error::UnexpectedResponse {
        status: 200,
        detail: what.to_owned(),
    }
}
