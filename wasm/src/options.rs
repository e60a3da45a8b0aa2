//! Reading the option objects JS passes in: plain data through `serde_wasm_bindgen`, and the
//! fields serde cannot carry (`onProgress` functions, `AbortSignal`s) through `Reflect`, each
//! checked for its type.

use js_sys::{Function, Reflect};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortSignal;

use crate::endpoint::{ClientOptions, ListOptions};
use crate::error::Error;

/// The parts of `UploadOptions` / `DownloadOptions` a transfer needs.
#[derive(Debug, Default)]
pub(crate) struct TransferOptions {
    /// `name`: the stored file name (uploads only).
    pub(crate) name: Option<String>,
    /// `onProgress(loaded, total)`.
    pub(crate) on_progress: Option<Function>,
    /// `signal`.
    pub(crate) signal: Option<AbortSignal>,
}

/// The serde-readable part of `UploadOptions`.
#[derive(Debug, Default, Deserialize)]
struct NameField {
    #[serde(default)]
    name: Option<String>,
}

/// `ClientOptions`; a bad object is a `ConfigurationError`.
pub(crate) fn client_options(value: JsValue) -> Result<ClientOptions, Error> {
    serde_wasm_bindgen::from_value(value).map_err(|e| Error::InvalidConfig(plain(&e)))
}

/// `ListOptions`; `undefined` and `null` mean no options.
pub(crate) fn list_options(value: Option<&JsValue>) -> Result<ListOptions, Error> {
    Ok(decode_object::<ListOptions>(value, "ListOptions")?.unwrap_or_default())
}

/// `UploadOptions` (`with_name`) or `DownloadOptions`; `undefined` and `null` mean none.
pub(crate) fn transfer_options(
    value: Option<JsValue>,
    with_name: bool,
) -> Result<TransferOptions, Error> {
    let kind = if with_name {
        "UploadOptions"
    } else {
        "DownloadOptions"
    };
    let Some(object) = value.filter(|v| !v.is_undefined() && !v.is_null()) else {
        return Ok(TransferOptions::default());
    };
    let name = if with_name {
        decode_object::<NameField>(Some(&object), kind)?
            .unwrap_or_default()
            .name
    } else {
        None
    };
    Ok(TransferOptions {
        name,
        on_progress: field::<Function>(&object, kind, "onProgress", "a function")?,
        signal: field::<AbortSignal>(&object, kind, "signal", "an AbortSignal")?,
    })
}

/// Decodes an optional plain-data object; anything but an object (or nothing) is a TypeError.
pub(crate) fn decode_object<T: DeserializeOwned>(
    value: Option<&JsValue>,
    kind: &str,
) -> Result<Option<T>, Error> {
    match value {
        None => Ok(None),
        Some(v) if v.is_undefined() || v.is_null() => Ok(None),
        Some(v) if !v.is_object() => {
            Err(Error::InvalidArgument(format!("{kind} must be an object")))
        }
        Some(v) => serde_wasm_bindgen::from_value(v.clone())
            .map(Some)
            .map_err(|e| Error::InvalidArgument(format!("invalid {kind}: {}", plain(&e)))),
    }
}

/// One optional field of JS type `T` (`instanceof` check), read with `Reflect`.
pub(crate) fn field<T: JsCast>(
    object: &JsValue,
    kind: &str,
    key: &str,
    what: &str,
) -> Result<Option<T>, Error> {
    if !object.is_object() {
        return Err(Error::InvalidArgument(format!("{kind} must be an object")));
    }
    let value = Reflect::get(object, &JsValue::from_str(key)).map_err(|e| Error::from_js(&e))?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .dyn_into::<T>()
        .map(Some)
        .map_err(|_| Error::InvalidArgument(format!("{kind}.{key} must be {what}")))
}

/// One optional primitive field (`boolean`, `number`, `string`), read with `Reflect` and
/// converted by `read` (which answers `None` for a value of the wrong type).
pub(crate) fn primitive<T>(
    object: &JsValue,
    kind: &str,
    key: &str,
    what: &str,
    read: impl FnOnce(&JsValue) -> Option<T>,
) -> Result<Option<T>, Error> {
    if !object.is_object() {
        return Err(Error::InvalidArgument(format!("{kind} must be an object")));
    }
    let value = Reflect::get(object, &JsValue::from_str(key)).map_err(|e| Error::from_js(&e))?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    read(&value)
        .map(Some)
        .ok_or_else(|| Error::InvalidArgument(format!("{kind}.{key} must be {what}")))
}

/// A serde error's text without the `Error: ` that its JS form starts with.
fn plain(e: &serde_wasm_bindgen::Error) -> String {
    let text = e.to_string();
    text.strip_prefix("Error: ").unwrap_or(&text).to_owned()
}
