//! Cancellation by a caller's `AbortSignal`: a link that runs an action when the signal fires
//! and takes its listener off the signal again when dropped.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::AbortSignal;

use crate::error::Error;

/// The error an aborted call rejects with.
pub(crate) fn aborted() -> Error {
    Error::Aborted("The operation was aborted.".to_owned())
}

/// Fails at once with an `AbortError` when `signal` has already fired.
pub(crate) fn check(signal: Option<&AbortSignal>) -> Result<(), Error> {
    match signal {
        Some(s) if s.aborted() => Err(aborted()),
        _ => Ok(()),
    }
}

/// An `abort` listener on a caller's signal, removed when this is dropped.
#[derive(Debug)]
pub(crate) struct SignalLink {
    signal: AbortSignal,
    listener: Closure<dyn Fn()>,
}

impl SignalLink {
    /// Runs `on_abort` when `signal` fires (at most once: the signal fires once).
    pub(crate) fn new(signal: &AbortSignal, on_abort: impl Fn() + 'static) -> Result<Self, Error> {
        let listener = Closure::<dyn Fn()>::new(on_abort);
        signal
            .add_event_listener_with_callback("abort", listener.as_ref().unchecked_ref())
            .map_err(|e| Error::from_js(&e))?;
        Ok(Self {
            signal: signal.clone(),
            listener,
        })
    }
}

impl Drop for SignalLink {
    fn drop(&mut self) {
        // Removing a listener that is registered cannot fail; nothing to do if it did.
        let _ = self
            .signal
            .remove_event_listener_with_callback("abort", self.listener.as_ref().unchecked_ref());
    }
}
