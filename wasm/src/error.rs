//! The client's one error type, how it is read from a server answer (the Backendless-style
//! `{code, message}` body or the Files API's `{"error": {...}}` envelope), and how it becomes a
//! JS `Error` (with `name`, `code`, `status`, `message`) at the boundary.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use stowage_protocol::{ApiError, ErrorBody, ErrorCode, PathError};

/// Everything that can go wrong in a client call.
///
/// In JS every case is an `Error` instance whose `name` says which case it is, with the numeric
/// `code` and HTTP `status` attached (both `0` when no server answer is involved):
///
/// | case | `name` | `code` | `status` |
/// |---|---|---|---|
/// | [`Error::Storage`] | `StorageError` | from the server's body (see `docs/errors.md`; the HTTP status for the Files API) | HTTP status |
/// | [`Error::Network`] | `NetworkError` | 0 | 0 |
/// | [`Error::Aborted`] | `AbortError` | 0 | 0 |
/// | [`Error::NotConfigured`], [`Error::InvalidConfig`] | `ConfigurationError` | 0 | 0 |
/// | [`Error::InvalidArgument`] | `TypeError` (a real `TypeError`) | 0 | 0 |
/// | [`Error::UnexpectedResponse`] | `ProtocolError` | 0 | HTTP status |
/// | [`Error::Browser`] | `ClientError` | 0 | 0 |
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The server answered with an error body, or a check the server would make failed before
    /// sending (bad paths get the code, status and message the server would answer).
    #[error("{message}")]
    Storage {
        /// The number from `ErrorCode`.
        code: u32,
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
        /// The items a Files API error names (`missing`, `duplicated`), when it names any.
        items: Option<Box<ErrorItems>>,
    },
    /// The request never got an answer: server down, DNS, CORS refused, connection reset.
    #[error("Network error: {0}")]
    Network(String),
    /// The caller's `AbortSignal` fired (or the call was dropped).
    #[error("{0}")]
    Aborted(String),
    /// A module-level function was called before `configure(...)`.
    #[error("stowage is not configured: call configure({{baseUrl, appId, apiKey}}) first")]
    NotConfigured,
    /// The `ClientOptions` cannot be used (missing field, base URL that is not http(s)).
    #[error("Invalid client options: {0}")]
    InvalidConfig(String),
    /// An argument has the wrong type or lacks something needed (a Blob without a name).
    #[error("{0}")]
    InvalidArgument(String),
    /// The server answered something the protocol does not allow (a non-JSON error page from a
    /// proxy, a success body of the wrong shape).
    #[error("Unexpected response (HTTP {status}): {detail}")]
    UnexpectedResponse {
        /// The HTTP status of that answer.
        status: u16,
        /// What was wrong, with the start of the body.
        detail: String,
    },
    /// A browser API failed in a way that is none of the above.
    #[error("{0}")]
    Browser(String),
}

/// The items a Files API error envelope lists, kept as the JSON text the server sent (usually
/// arrays of `{"id": …}` or `{"externalId": …}`); in JS they become the error's `missing` and
/// `duplicated` properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorItems {
    /// `error.missing`: items that do not exist.
    pub missing: Option<String>,
    /// `error.duplicated`: items that exist already, or were given twice.
    pub duplicated: Option<String>,
}

/// The Files API's error answer: `{"error": {"code": 409, "message": "...", ...}}`.
#[derive(Debug, Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    error: EnvelopeError<'a>,
}

#[derive(Debug, Deserialize)]
struct EnvelopeError<'a> {
    /// The HTTP status again (Cognite's convention); the answer's own status when absent.
    #[serde(default)]
    code: Option<u32>,
    message: String,
    #[serde(default, borrow)]
    missing: Option<&'a RawValue>,
    #[serde(default, borrow)]
    duplicated: Option<&'a RawValue>,
}

impl Error {
    /// The JS `name` this error gets.
    #[must_use]
    pub fn js_name(&self) -> &'static str {
        match self {
            Self::Storage { .. } => "StorageError",
            Self::Network(_) => "NetworkError",
            Self::Aborted(_) => "AbortError",
            Self::NotConfigured | Self::InvalidConfig(_) => "ConfigurationError",
            Self::InvalidArgument(_) => "TypeError",
            Self::UnexpectedResponse { .. } => "ProtocolError",
            Self::Browser(_) => "ClientError",
        }
    }

    /// The numeric code exposed as `error.code` (0 when the server gave none).
    #[must_use]
    pub fn code(&self) -> u32 {
        match self {
            Self::Storage { code, .. } => *code,
            _ => 0,
        }
    }

    /// The HTTP status exposed as `error.status` (0 when no answer came).
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::Storage { status, .. } | Self::UnexpectedResponse { status, .. } => *status,
            _ => 0,
        }
    }

    /// A server error case built locally, with the code and status the server would answer.
    #[must_use]
    pub fn api(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Storage {
            code: code.code(),
            status: code.status(),
            message: message.into(),
            items: None,
        }
    }

    /// Whether the server said the token sent is dead (`3064`: expired or logged out). The
    /// client has dropped it by then; the caller signs in again.
    #[must_use]
    pub fn is_dead_token(&self) -> bool {
        matches!(self, Self::Storage { code, .. } if *code == ErrorCode::TokenExpired.code())
    }

    /// The items named by a Files API error (`None` for every other error).
    #[must_use]
    pub fn items(&self) -> Option<&ErrorItems> {
        match self {
            Self::Storage { items, .. } => items.as_deref(),
            _ => None,
        }
    }

    /// Reads a non-success answer: the protocol's `{code, message}` body, the Files API's
    /// `{"error": {code, message, missing?, duplicated?}}` envelope, or a
    /// [`Error::UnexpectedResponse`] when the body is something else.
    #[must_use]
    pub fn from_response(status: u16, body: &str) -> Self {
        if let Ok(ErrorBody { code, message }) = serde_json::from_str::<ErrorBody>(body) {
            return Self::Storage {
                code,
                status,
                message,
                items: None,
            };
        }
        match serde_json::from_str::<Envelope<'_>>(body) {
            Ok(Envelope { error }) => {
                let text = |raw: Option<&RawValue>| raw.map(|r| r.get().to_owned());
                let items = ErrorItems {
                    missing: text(error.missing),
                    duplicated: text(error.duplicated),
                };
                Self::Storage {
                    code: error.code.unwrap_or(u32::from(status)),
                    status,
                    message: error.message,
                    items: (items != ErrorItems::default()).then(|| Box::new(items)),
                }
            }
            Err(_) => Self::UnexpectedResponse {
                status,
                detail: format!("not an error body: {}", snippet(body)),
            },
        }
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Self::api(e.code, e.message)
    }
}

impl From<PathError> for Error {
    fn from(e: PathError) -> Self {
        ApiError::from(e).into()
    }
}

/// Turns an HTTP answer into the value a success carries, or into the error it describes.
/// 2xx bodies must parse as `T`; any other status goes through [`Error::from_response`].
pub fn decode<T: DeserializeOwned>(status: u16, body: &str) -> Result<T, Error> {
    if !(200..300).contains(&status) {
        return Err(Error::from_response(status, body));
    }
    serde_json::from_str(body).map_err(|e| Error::UnexpectedResponse {
        status,
        detail: format!("{e}: {}", snippet(body)),
    })
}

/// At most 200 characters of a body, for error messages.
pub(crate) fn snippet(body: &str) -> String {
    let mut out: String = body.chars().take(200).collect();
    if body.chars().count() > 200 {
        out.push('…');
    }
    if out.is_empty() {
        out.push_str("(empty body)");
    }
    out
}

#[cfg(target_arch = "wasm32")]
mod js {
    use super::Error;
    use wasm_bindgen::{JsCast, JsValue};

    impl From<Error> for JsValue {
        /// A real `Error` (a `TypeError` for [`Error::InvalidArgument`]) with `name`, `code`,
        /// `status` and `message` set.
        fn from(e: Error) -> Self {
            let message = e.to_string();
            let error: js_sys::Error = match e {
                Error::InvalidArgument(_) => js_sys::TypeError::new(&message).unchecked_into(),
                _ => js_sys::Error::new(&message),
            };
            error.set_name(e.js_name());
            // Setting a property on a fresh Error object cannot fail; if it ever did, the
            // error would still carry its name and message.
            let _ = js_sys::Reflect::set(&error, &"code".into(), &e.code().into());
            let _ = js_sys::Reflect::set(&error, &"status".into(), &e.status().into());
            if let Some(items) = e.items() {
                for (key, json) in [
                    ("missing", &items.missing),
                    ("duplicated", &items.duplicated),
                ] {
                    // The text came from the server's JSON answer, so it parses; if it did not,
                    // the error would still carry its status and message.
                    if let Some(value) = json.as_deref().and_then(|j| js_sys::JSON::parse(j).ok()) {
                        let _ = js_sys::Reflect::set(&error, &key.into(), &value);
                    }
                }
            }
            error.into()
        }
    }

    impl Error {
        /// Classifies an exception thrown or a rejection produced by a browser API:
        /// `AbortError` stays an abort, `TypeError` from `fetch` is a network failure.
        pub(crate) fn from_js(value: &JsValue) -> Self {
            let name = js_sys::Reflect::get(value, &"name".into())
                .ok()
                .and_then(|n| n.as_string())
                .unwrap_or_default();
            let message = js_sys::Reflect::get(value, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
                .or_else(|| value.as_string())
                .unwrap_or_else(|| format!("{value:?}"));
            match name.as_str() {
                "AbortError" => Error::Aborted(message),
                "TypeError" | "NetworkError" => Error::Network(message),
                _ => Error::Browser(message),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_keep_code_status_and_message() {
        let e = Error::from_response(
            409,
            r#"{"code":6003,"message":"Unable to modify file/folder: file/folder already exists: a.txt"}"#,
        );
        assert_eq!(e.js_name(), "StorageError");
        assert_eq!(e.code(), 6003);
        assert_eq!(e.status(), 409);
        assert_eq!(
            e.to_string(),
            "Unable to modify file/folder: file/folder already exists: a.txt"
        );
    }

    #[test]
    fn files_api_envelopes_keep_status_message_and_items() {
        let e = Error::from_response(
            409,
            r#"{"error":{"code":409,"message":"Duplicate externalId","duplicated":[{"externalId":"naïve ✓"}]}}"#,
        );
        assert_eq!(e.js_name(), "StorageError");
        assert_eq!((e.code(), e.status()), (409, 409));
        assert_eq!(e.to_string(), "Duplicate externalId");
        let items = e.items().expect("items");
        assert_eq!(
            items.duplicated.as_deref(),
            Some(r#"[{"externalId":"naïve ✓"}]"#)
        );
        assert_eq!(items.missing, None);

        let e = Error::from_response(
            400,
            r#"{"error": {"code": 400, "message": "Files not found", "missing": [{"id": 7}, {"externalId": "x"}], "extra": 1}}"#,
        );
        assert_eq!(
            e.items().and_then(|i| i.missing.as_deref()),
            Some(r#"[{"id": 7}, {"externalId": "x"}]"#)
        );

        let plain = Error::from_response(401, r#"{"error":{"message":"Unauthorized"}}"#);
        assert_eq!((plain.code(), plain.status()), (401, 401));
        assert_eq!(plain.items(), None);
        assert_eq!(plain.to_string(), "Unauthorized");

        let bare = Error::from_response(400, r#"{"error":"no message"}"#);
        assert_eq!(bare.js_name(), "ProtocolError");
    }

    #[test]
    fn foreign_bodies_are_protocol_errors_with_the_status() {
        let e = Error::from_response(502, "<html>Bad gateway</html>");
        assert_eq!(e.js_name(), "ProtocolError");
        assert_eq!((e.code(), e.status()), (0, 502));
        assert!(e.to_string().contains("Bad gateway"), "{e}");
        let empty = Error::from_response(500, "");
        assert!(empty.to_string().contains("(empty body)"), "{empty}");
    }

    #[test]
    fn decode_parses_success_and_maps_failure() {
        assert_eq!(
            decode::<String>(200, r#""/a/b.txt""#),
            Ok("/a/b.txt".to_owned())
        );
        assert_eq!(decode::<bool>(200, "true"), Ok(true));
        let wrong_shape = decode::<bool>(200, r#"{"x":1}"#).expect_err("must fail");
        assert_eq!(
            (wrong_shape.js_name(), wrong_shape.status()),
            ("ProtocolError", 200)
        );
        let not_found = decode::<bool>(
            404,
            r#"{"code":6000,"message":"File or directory cannot be found."}"#,
        );
        assert_eq!(not_found.expect_err("must fail").code(), 6000);
    }

    #[test]
    fn path_errors_carry_the_servers_code_and_status() {
        let e: Error = PathError::Prohibited("a/../b".into()).into();
        assert_eq!((e.code(), e.status()), (6006, 400));
        assert_eq!(e.to_string(), "Path contains prohibited symbols: a/../b");
        let e: Error = PathError::TooLong(2000).into();
        assert_eq!((e.code(), e.status()), (6009, 400));
    }

    #[test]
    fn access_refusals_keep_their_codes() {
        for (status, code, message) in [
            (409, 3033, "User already exists"),
            (401, 3003, "Invalid login or password"),
            (401, 3064, "Not existing user token"),
            (403, 4000, "User has no permissions to specified resource"),
            (401, 6021, "Authentication required"),
            (429, 6022, "Too many failed logins"),
            (403, 6023, "No permission on an entry: a/b.txt"),
        ] {
            let body = format!(r#"{{"code":{code},"message":"{message}"}}"#);
            let e = Error::from_response(status, &body);
            assert_eq!(
                (e.js_name(), e.code(), e.status(), e.to_string().as_str()),
                ("StorageError", code, status, message)
            );
            assert_eq!(e.is_dead_token(), code == 3064, "{code}");
        }
        let local = Error::api(ErrorCode::TokenExpired, "gone");
        assert_eq!((local.code(), local.status()), (3064, 401));
        assert!(!Error::Network("3064".into()).is_dead_token());
    }

    #[test]
    fn local_failures_have_zero_code_and_status() {
        for e in [
            Error::Network("down".into()),
            Error::Aborted("stop".into()),
            Error::NotConfigured,
            Error::InvalidArgument("bad".into()),
        ] {
            assert_eq!((e.code(), e.status()), (0, 0), "{e:?}");
        }
        assert_eq!(Error::Network(String::new()).js_name(), "NetworkError");
        assert_eq!(Error::Aborted(String::new()).js_name(), "AbortError");
        assert_eq!(Error::NotConfigured.js_name(), "ConfigurationError");
    }
}
