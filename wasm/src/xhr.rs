//! One `XMLHttpRequest` run to its end: the only browser API that reports upload progress.
//! The request lives in a guard whose `Drop` aborts it and unhooks every handler, so a
//! dropped call never keeps transferring, and a caller's `AbortSignal` aborts it too.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
use js_sys::Function;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortSignal, Blob, ProgressEvent, XmlHttpRequest, XmlHttpRequestEventTarget};

use crate::abort::{self, SignalLink};
use crate::error::Error;
use crate::progress::{Progress, REPORT_INTERVAL_MS};

/// What to send and how to report on it.
#[derive(Debug)]
pub(crate) struct XhrRequest<'a> {
    /// `GET`, `POST`, ...
    pub(crate) method: &'static str,
    /// The full URL.
    pub(crate) url: &'a str,
    /// Extra request headers.
    pub(crate) headers: Vec<(&'static str, String)>,
    /// The body, sent as the Blob itself (the browser streams it; no copy is made here).
    pub(crate) body: Option<&'a Blob>,
    /// Ask for the response as a Blob instead of text.
    pub(crate) blob_response: bool,
    /// Where progress goes: the upload side (`xhr.upload`) or the download side (`xhr`).
    pub(crate) progress: Option<ProgressReporter>,
    /// The caller's signal; firing it aborts the request.
    pub(crate) signal: Option<AbortSignal>,
}

/// A caller's `onProgress(loaded, total)` with the tracker that keeps its reports monotonic.
#[derive(Debug, Clone)]
pub(crate) struct ProgressReporter {
    callback: Function,
    tracker: Rc<RefCell<Progress>>,
    upload: bool,
}

impl ProgressReporter {
    /// Reports on the upload side with a known size, or on the download side; at most one
    /// report per `REPORT_INTERVAL_MS` (WebKit fires an event every few KiB).
    pub(crate) fn new(callback: Function, known_total: Option<u64>, upload: bool) -> Self {
        let tracker = Progress::new(known_total).throttled(REPORT_INTERVAL_MS);
        Self {
            callback,
            tracker: Rc::new(RefCell::new(tracker)),
            upload,
        }
    }

    fn on_event(&self, event: &ProgressEvent) {
        let total = event.length_computable().then(|| event.total());
        let now = js_sys::Date::now();
        let report = self.tracker.borrow_mut().update(event.loaded(), total, now);
        if let Some(report) = report {
            self.call(report);
        }
    }

    /// Makes the closing `(total, total)` report of a finished transfer.
    pub(crate) fn finish(&self, total: u64) {
        let report = self.tracker.borrow_mut().finish(total);
        if let Some(report) = report {
            self.call(report);
        }
    }

    /// Calls the caller's function. What it throws is logged, not allowed to break the transfer.
    fn call(&self, (loaded, total): (u64, u64)) {
        use crate::progress::to_f64;
        let result = self.callback.call2(
            &JsValue::UNDEFINED,
            &to_f64(loaded).into(),
            &to_f64(total).into(),
        );
        if let Err(e) = result {
            web_sys::console::error_2(&"stowage: onProgress threw".into(), &e);
        }
    }
}

/// How the request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Load,
    Error,
    Abort,
    Timeout,
}

/// A progress handler and the target it is set on (`xhr` or `xhr.upload`).
type ProgressHook = (XmlHttpRequestEventTarget, Closure<dyn Fn(ProgressEvent)>);

/// The running request. Dropping it before the end aborts the transfer.
#[derive(Debug)]
struct Guard {
    xhr: XmlHttpRequest,
    ended: bool,
    handlers: Vec<Closure<dyn Fn()>>,
    progress: Option<ProgressHook>,
    link: Option<SignalLink>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        // Unlink the caller's signal first so its later firing finds nothing to do.
        self.link = None;
        if !self.ended {
            // Fires the abort event synchronously while the handlers are still alive.
            let _ = self.xhr.abort();
        }
        let target: &XmlHttpRequestEventTarget = &self.xhr;
        target.set_onload(None);
        target.set_onerror(None);
        target.set_onabort(None);
        target.set_ontimeout(None);
        if let Some((progress_target, _)) = &self.progress {
            progress_target.set_onprogress(None);
        }
    }
}

/// Sends `request` and waits for it to end. Returns the finished `XMLHttpRequest` (status,
/// headers and body are readable) after a load, whatever its HTTP status.
pub(crate) async fn send(request: &XhrRequest<'_>) -> Result<XmlHttpRequest, Error> {
    abort::check(request.signal.as_ref())?;
    let js = |e: JsValue| Error::from_js(&e);
    let xhr = XmlHttpRequest::new().map_err(js)?;
    let (tx, rx) = oneshot::channel::<End>();
    let tx = Rc::new(RefCell::new(Some(tx)));
    let mut guard = Guard {
        xhr: xhr.clone(),
        ended: false,
        handlers: Vec::new(),
        progress: None,
        link: None,
    };

    let target: &XmlHttpRequestEventTarget = &xhr;
    for (end, set) in [
        (
            End::Load,
            XmlHttpRequestEventTarget::set_onload as fn(&_, Option<&Function>),
        ),
        (End::Error, XmlHttpRequestEventTarget::set_onerror),
        (End::Abort, XmlHttpRequestEventTarget::set_onabort),
        (End::Timeout, XmlHttpRequestEventTarget::set_ontimeout),
    ] {
        let tx = Rc::clone(&tx);
        let handler = Closure::<dyn Fn()>::new(move || {
            let sender = tx.borrow_mut().take();
            if let Some(sender) = sender {
                // The receiver is gone only when the call was dropped; nothing to tell then.
                let _ = sender.send(end);
            }
        });
        set(target, Some(handler.as_ref().unchecked_ref()));
        guard.handlers.push(handler);
    }

    if let Some(reporter) = request.progress.clone() {
        let progress_target: XmlHttpRequestEventTarget = if reporter.upload {
            xhr.upload().map_err(js)?.into()
        } else {
            xhr.clone().into()
        };
        let handler = Closure::<dyn Fn(ProgressEvent)>::new(move |event: ProgressEvent| {
            reporter.on_event(&event);
        });
        progress_target.set_onprogress(Some(handler.as_ref().unchecked_ref()));
        guard.progress = Some((progress_target, handler));
    }

    if let Some(signal) = &request.signal {
        let xhr = xhr.clone();
        guard.link = Some(SignalLink::new(signal, move || {
            let _ = xhr.abort();
        })?);
    }

    xhr.open(request.method, request.url).map_err(js)?;
    for (name, value) in &request.headers {
        xhr.set_request_header(name, value).map_err(js)?;
    }
    if request.blob_response {
        xhr.set_response_type(web_sys::XmlHttpRequestResponseType::Blob);
    }
    xhr.send_with_opt_blob(request.body).map_err(js)?;

    let end = rx
        .await
        .map_err(|_| Error::Browser("the request ended without an event".into()))?;
    guard.ended = true;
    drop(guard);
    match end {
        End::Load => Ok(xhr),
        // The URL holds the API key: keep it out of messages that may end up in logs.
        End::Error => Err(Error::Network(format!(
            "{} failed: the server is unreachable or refused the request (CORS)",
            request.method
        ))),
        End::Abort => Err(abort::aborted()),
        End::Timeout => Err(Error::Network(format!("{} timed out", request.method))),
    }
}
