//! The small JSON calls (info, list, exists, move, users, the Files API's record calls) over
//! `fetch`, each holding its `AbortController` in a guard whose `Drop` aborts the request; a
//! caller's `AbortSignal` can be linked to it. [`json_value`] reads an answer as a JS value.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, AbortSignal, Headers, Request, RequestCache, RequestInit, Response,
};

use crate::abort::{self, SignalLink};
use crate::error::{snippet, Error};

/// A request in flight. Dropping it before it finished aborts it.
#[derive(Debug)]
struct Guard {
    controller: AbortController,
    finished: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.finished {
            self.controller.abort();
        }
    }
}

/// Sends one request and reads the whole answer as text: `(status, body)`, with
/// `extra_headers` (the credentials of its API). `json` is sent with `Content-Type:
/// application/json`. Responses are never taken from the HTTP cache (`cache: "no-store"`):
/// listings and `exists` must be current.
pub(crate) async fn send_with(
    method: &str,
    url: &str,
    extra_headers: &[(&str, &str)],
    json: Option<&str>,
) -> Result<(u16, String), Error> {
    send_abortable(method, url, extra_headers, json, None).await
}

/// [`send_with`] that a caller's `signal` aborts too (with an `AbortError`).
pub(crate) async fn send_abortable(
    method: &str,
    url: &str,
    extra_headers: &[(&str, &str)],
    json: Option<&str>,
    signal: Option<&AbortSignal>,
) -> Result<(u16, String), Error> {
    abort::check(signal)?;
    let js = |e: JsValue| Error::from_js(&e);
    let controller = AbortController::new().map_err(js)?;
    let mut guard = Guard {
        controller,
        finished: false,
    };
    let _link = match signal {
        Some(signal) => {
            let controller = guard.controller.clone();
            Some(SignalLink::new(signal, move || controller.abort())?)
        }
        None => None,
    };

    let headers = Headers::new().map_err(js)?;
    for (name, value) in extra_headers {
        headers.set(name, value).map_err(js)?;
    }
    let init = RequestInit::new();
    init.set_method(method);
    init.set_cache(RequestCache::NoStore);
    init.set_signal(Some(&guard.controller.signal()));
    if let Some(body) = json {
        headers
            .set("Content-Type", "application/json")
            .map_err(js)?;
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers_headers(&headers);
    let request = Request::new_with_str_and_init(url, &init).map_err(|e| {
        Error::InvalidArgument(format!("cannot build a request: {}", Error::from_js(&e)))
    })?;

    let response: Response = JsFuture::from(global_fetch(&request)?)
        .await
        .map_err(js)?
        .dyn_into()
        .map_err(|_| Error::Browser("fetch did not answer a Response".into()))?;
    let text = JsFuture::from(response.text().map_err(js)?)
        .await
        .map_err(js)?;
    guard.finished = true;
    Ok((response.status(), text.as_string().unwrap_or_default()))
}

/// A 2xx answer as a JS value (`undefined` for an empty body), else the error it carries.
pub(crate) fn json_value(status: u16, text: &str) -> Result<JsValue, Error> {
    if !(200..300).contains(&status) {
        return Err(Error::from_response(status, text));
    }
    if text.trim().is_empty() {
        return Ok(JsValue::UNDEFINED);
    }
    js_sys::JSON::parse(text).map_err(|_| Error::UnexpectedResponse {
        status,
        detail: format!("not JSON: {}", snippet(text)),
    })
}

/// `fetch(request)` on whatever global there is (a window or a worker).
fn global_fetch(request: &Request) -> Result<Promise, Error> {
    let global = js_sys::global();
    let fetch: Function = Reflect::get(&global, &"fetch".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| Error::Browser("this environment has no fetch()".into()))?;
    fetch
        .call1(&global, request)
        .map_err(|e| Error::from_js(&e))?
        .dyn_into()
        .map_err(|_| Error::Browser("fetch() did not return a Promise".into()))
}
