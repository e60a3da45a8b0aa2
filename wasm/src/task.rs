//! Control of a running multipart upload: pause (abort what is in flight, keep what is done),
//! resume, abort (also on the server), and its progress; plus an abortable sleep for backoff.

use std::cell::{Cell, RefCell};

use futures_channel::oneshot;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal};

use crate::abort::{self, SignalLink};
use crate::error::Error;

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunState {
    /// Sending parts.
    Running,
    /// Paused by `pause()`: nothing in flight, waiting for `resume()`.
    Paused,
    /// Aborted by `abort()` or the caller's signal.
    Aborted,
    /// Finished: completed on the server.
    Done,
    /// Failed with an error.
    Failed,
}

impl RunState {
    /// The name JS sees.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Aborted => "aborted",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

/// Shared by a running upload and the task handle JS holds.
#[derive(Debug)]
pub(crate) struct Control {
    state: Cell<RunState>,
    /// Aborts the requests of the current round.
    current: RefCell<Option<AbortController>>,
    /// Wakes a paused run.
    wake: RefCell<Option<oneshot::Sender<()>>>,
    progress: Cell<(u64, u64)>,
    upload_id: RefCell<Option<String>>,
}

impl Default for Control {
    fn default() -> Self {
        Self {
            state: Cell::new(RunState::Running),
            current: RefCell::new(None),
            wake: RefCell::new(None),
            progress: Cell::new((0, 0)),
            upload_id: RefCell::new(None),
        }
    }
}

impl Control {
    /// The current state.
    pub(crate) fn state(&self) -> RunState {
        self.state.get()
    }

    /// Records the end of the run.
    pub(crate) fn finish(&self, ok: bool) {
        if self.state.get() != RunState::Aborted {
            self.state
                .set(if ok { RunState::Done } else { RunState::Failed });
        }
    }

    /// The server's id of the upload, once it is known.
    pub(crate) fn upload_id(&self) -> Option<String> {
        self.upload_id.borrow().clone()
    }

    /// Records the server's id of the upload.
    pub(crate) fn set_upload_id(&self, id: &str) {
        *self.upload_id.borrow_mut() = Some(id.to_owned());
    }

    /// `(loaded, total)` as last reported.
    pub(crate) fn progress(&self) -> (u64, u64) {
        self.progress.get()
    }

    /// Records a progress report.
    pub(crate) fn set_progress(&self, report: (u64, u64)) {
        self.progress.set(report);
    }

    /// Stops sending: requests in flight are aborted, finished parts are kept.
    pub(crate) fn pause(&self) {
        if self.state.get() == RunState::Running {
            self.state.set(RunState::Paused);
            self.abort_round();
        }
    }

    /// Continues a paused upload with the parts still missing.
    pub(crate) fn resume(&self) {
        if self.state.get() == RunState::Paused {
            self.state.set(RunState::Running);
            if let Some(wake) = self.wake.borrow_mut().take() {
                let _ = wake.send(());
            }
        }
    }

    /// Gives up: requests in flight are aborted and the run aborts the upload on the server.
    pub(crate) fn abort(&self) {
        if matches!(self.state.get(), RunState::Running | RunState::Paused) {
            self.state.set(RunState::Aborted);
            self.abort_round();
            if let Some(wake) = self.wake.borrow_mut().take() {
                let _ = wake.send(());
            }
        }
    }

    fn abort_round(&self) {
        if let Some(controller) = self.current.borrow_mut().take() {
            controller.abort();
        }
    }

    /// A fresh signal for the next round of requests.
    pub(crate) fn new_round(&self) -> Result<AbortSignal, Error> {
        let controller = AbortController::new().map_err(|e| Error::from_js(&e))?;
        let signal = controller.signal();
        *self.current.borrow_mut() = Some(controller);
        Ok(signal)
    }

    /// Waits while paused; fails with an `AbortError` once aborted.
    pub(crate) async fn wait_while_paused(&self) -> Result<(), Error> {
        while self.state.get() == RunState::Paused {
            let (tx, rx) = oneshot::channel();
            *self.wake.borrow_mut() = Some(tx);
            let _ = rx.await;
        }
        if self.state.get() == RunState::Aborted {
            return Err(abort::aborted());
        }
        Ok(())
    }
}

/// Links a caller's `AbortSignal` to `control.abort()` for as long as the link lives.
pub(crate) fn link_signal(
    signal: &AbortSignal,
    control: &std::rc::Rc<Control>,
) -> Result<SignalLink, Error> {
    if signal.aborted() {
        control.abort();
    }
    let control = std::rc::Rc::clone(control);
    SignalLink::new(signal, move || control.abort())
}

/// Sleeps `ms` milliseconds, or fails with an `AbortError` as soon as `signal` fires.
pub(crate) async fn sleep(ms: f64, signal: &AbortSignal) -> Result<(), Error> {
    abort::check(Some(signal))?;
    if ms <= 0.0 {
        return Ok(());
    }
    let global = js_sys::global();
    let set_timeout: Function = Reflect::get(&global, &"setTimeout".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| Error::Browser("no setTimeout here".into()))?;
    let mut handle = JsValue::UNDEFINED;
    let promise = Promise::new(&mut |resolve, _reject| {
        handle = set_timeout
            .call2(&global, &resolve, &ms.into())
            .unwrap_or(JsValue::UNDEFINED);
    });
    let (tx, rx) = oneshot::channel::<()>();
    let tx = RefCell::new(Some(tx));
    let _link = SignalLink::new(signal, move || {
        if let Some(tx) = tx.borrow_mut().take() {
            let _ = tx.send(());
        }
    })?;
    let timer = JsFuture::from(promise);
    let aborted = async {
        let _ = rx.await;
    };
    futures_util::pin_mut!(timer, aborted);
    match futures_util::future::select(timer, aborted).await {
        futures_util::future::Either::Left(_) => Ok(()),
        futures_util::future::Either::Right(_) => {
            if let Ok(clear) =
                Reflect::get(&global, &"clearTimeout".into()).and_then(|f| f.dyn_into::<Function>())
            {
                let _ = clear.call1(&global, &handle);
            }
            Err(abort::aborted())
        }
    }
}
