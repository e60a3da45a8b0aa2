//! Every failure the server can answer: one stable numeric code per case, its HTTP status,
//! and the `{code, message}` body. `docs/errors.md` lists the same table (a test checks it).

use serde::{Deserialize, Serialize};

use crate::images::TransformError;
use crate::paths::PathError;

/// The JSON body of every error response: `{"code": 6000, "message": "..."}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// One of the numbers in [`ErrorCode`].
    pub code: u32,
    /// Human-readable text, following the wording of the service we mirror.
    pub message: String,
}

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $name:ident = $code:literal, $status:literal; )*) => {
        /// One case of failure. The number and status never change once released.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[$doc])* $name, )*
        }

        impl ErrorCode {
            /// Every code, in documentation order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)*];

            /// The stable number sent as `code`.
            #[must_use]
            pub const fn code(self) -> u32 {
                match self { $(ErrorCode::$name => $code,)* }
            }

            /// The HTTP status this case is answered with.
            #[must_use]
            pub const fn status(self) -> u16 {
                match self { $(ErrorCode::$name => $status,)* }
            }

            /// The Rust name of the case, as written in `docs/errors.md`.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self { $(ErrorCode::$name => stringify!($name),)* }
            }

            /// The case a number names, if any.
            #[must_use]
            pub fn from_code(code: u32) -> Option<Self> {
                Self::ALL.iter().copied().find(|c| c.code() == code)
            }
        }
    };
}

error_codes! {
    /// The app id and API key in the URL (or `X-API-Key`) name no app, or a login's email or
    /// password is wrong.
    WrongApp = 3003, 401;
    /// Registration with an email another user of the app has.
    UserExists = 3033, 409;
    /// The `user-token` (or bearer token) expired or was logged out. Never taken for anonymous.
    TokenExpired = 3064, 401;
    /// The caller may not do this to the resource (rules, visibility, security categories).
    NoPermission = 4000, 403;
    /// "File or directory cannot be found."
    NotFound = 6000, 404;
    /// "Unable to modify file/folder: file/folder already exists: {name}"
    AlreadyExists = 6003, 409;
    /// "Unable to move file to file": the target of a move or copy is an existing file.
    MoveFileToFile = 6004, 400;
    /// "File already exists in target directory"
    ExistsInTarget = 6005, 409;
    /// "Path contains prohibited symbols: {path}"
    ProhibitedPath = 6006, 400;
    /// A segment of the path is over 255 bytes.
    SegmentTooLong = 6008, 400;
    /// The path is over 1024 bytes.
    PathTooLong = 6009, 400;
    /// The path starts with a reserved segment (`binary`, `move`, ...).
    ReservedPath = 6010, 400;
    /// A directory would be moved or copied into itself.
    IntoItself = 6011, 400;
    /// A segment of the path names a file where a directory is needed.
    NotADirectory = 6012, 409;
    /// The operation needs a file name or a non-root path.
    RootNotAllowed = 6013, 400;
    /// The requested byte range lies outside the file.
    RangeNotSatisfiable = 6014, 416;
    /// An `If-Match` header names another version of the file.
    PreconditionFailed = 6015, 412;
    /// "Parameter {name} cannot be null"
    ParameterNull = 8001, 400;
    /// "Missing field {field}"
    MissingField = 8002, 400;
    /// "Content type should be 'application/json'"
    WrongContentType = 8003, 415;
    /// The body is not valid JSON of the expected shape.
    MalformedJson = 8004, 400;
    /// The body is larger than the limit for its route.
    BodyTooLarge = 8005, 413;
    /// A base64 upload body is not valid base64.
    InvalidBase64 = 8006, 400;
    /// A query parameter has a value that cannot be used.
    InvalidParameter = 8007, 400;
    /// A multipart/form-data body is malformed.
    MalformedMultipart = 8008, 400;
    /// No route has this path.
    UnknownRoute = 8009, 404;
    /// The route exists but not for this method.
    MethodNotAllowed = 8010, 405;
    /// The upload ended before the body was complete (the client went away).
    IncompleteBody = 8011, 400;
    /// The request head could not be read (a bad `Content-Length` or `Transfer-Encoding`, a
    /// malformed header line); answered by the connection layer, which then closes.
    MalformedRequest = 8012, 400;
    /// The request's headers are larger than the server reads.
    HeadersTooLarge = 8013, 431;
    /// The request line (the URL) is longer than the server reads.
    UriTooLong = 8014, 414;
    /// A part's or a single upload's checksum header does not match the bytes; nothing was kept.
    ChecksumMismatch = 7001, 400;
    /// A presigned URL is past its expiry.
    UrlExpired = 7002, 403;
    /// A presigned URL's signature does not match (tampered, or used for another method,
    /// path, upload or part).
    BadSignature = 7003, 403;
    /// No multipart upload has this id (never existed, aborted, or garbage-collected).
    UploadNotFound = 7004, 404;
    /// `complete` names a part the server does not hold, or leaves one out.
    PartMissing = 7005, 400;
    /// `complete` names a part with an ETag other than the stored one.
    PartEtagMismatch = 7006, 400;
    /// A part or presigned upload body is not the size the plan requires.
    SizeMismatch = 7007, 400;
    /// The part size or count breaks the limits (5 MiB–5 GiB, at most 10,000 parts).
    InvalidPartSize = 7008, 400;
    /// Too many requests: retry after the time in `Retry-After`.
    SlowDown = 7009, 429;
    /// The database or the object store is unreachable for now: retry after `Retry-After`.
    Unavailable = 7010, 503;
    /// Something failed inside the server; details are in its log, never in the response.
    Internal = 5000, 500;
    /// The server's disk is full.
    InsufficientStorage = 5001, 507;
    /// Another record of the app has this externalId.
    DuplicateExternalId = 6016, 409;
    /// Some ids or externalIds name no record.
    UnknownIds = 6017, 400;
    /// A record field breaks its limit (the message names the field and the limit).
    InvalidField = 6018, 400;
    /// The record has no content yet.
    NotUploaded = 6019, 404;
    /// A listing cursor that this server did not make, or made for another query.
    InvalidCursor = 6020, 400;
    /// The request needs a signed-in user (bkend's `common/authentication-required`).
    AuthenticationRequired = 6021, 401;
    /// Too many failed logins from this address or for this account; see `Retry-After`.
    TooManyAttempts = 6022, 429;
    /// A subtree operation was refused because of one entry, which the message names; nothing
    /// was changed.
    BlockedEntry = 6023, 403;
    /// An image variant of a source past 25 MB or 50 megapixels (read from its header, before
    /// any decoding).
    ImageTooLarge = 6101, 413;
    /// An image variant of a file that is not a JPEG, PNG, GIF or WebP image.
    NotAnImage = 6102, 415;
    /// An image that does not decode, or whose transform took too long.
    ImageUndecodable = 6103, 422;
    /// An unsigned image URL asked for a size outside the app's allowlist: sign it.
    SizeNotAllowed = 6104, 403;
}

/// An error as it travels: a code plus its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// Which case this is.
    pub code: ErrorCode,
    /// The text sent to the client.
    pub message: String,
}

impl ApiError {
    /// An error with an explicit message, cut to [`MAX_MESSAGE_CHARS`] so that no input, however
    /// long, comes back whole in an error body.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        let message = message.into();
        let message = if message.len() > MAX_MESSAGE_CHARS {
            shorten(&message, MAX_MESSAGE_CHARS)
        } else {
            message
        };
        Self { code, message }
    }

    /// "File or directory cannot be found."
    #[must_use]
    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "File or directory cannot be found.")
    }

    /// "Unable to modify file/folder: file/folder already exists: {name}"
    #[must_use]
    pub fn already_exists(name: &str) -> Self {
        Self::new(
            ErrorCode::AlreadyExists,
            format!("Unable to modify file/folder: file/folder already exists: {name}"),
        )
    }

    /// "Parameter {name} cannot be null"
    #[must_use]
    pub fn parameter_null(name: &str) -> Self {
        Self::new(
            ErrorCode::ParameterNull,
            format!("Parameter {name} cannot be null"),
        )
    }

    /// "Missing field {field}"
    #[must_use]
    pub fn missing_field(field: &str) -> Self {
        Self::new(ErrorCode::MissingField, format!("Missing field {field}"))
    }

    /// "Content type should be 'application/json'"
    #[must_use]
    pub fn wrong_content_type() -> Self {
        Self::new(
            ErrorCode::WrongContentType,
            "Content type should be 'application/json'",
        )
    }

    /// "User has no permissions to specified resource"
    #[must_use]
    pub fn no_permission() -> Self {
        Self::new(
            ErrorCode::NoPermission,
            "User has no permissions to specified resource",
        )
    }

    /// The internal error, with a message that reveals nothing.
    #[must_use]
    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, "Internal server error")
    }

    /// The body sent on the wire.
    #[must_use]
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code.code(),
            message: self.message.clone(),
        }
    }
}

impl From<PathError> for ApiError {
    fn from(e: PathError) -> Self {
        let code = match e {
            PathError::Prohibited(_) => ErrorCode::ProhibitedPath,
            PathError::SegmentTooLong(_) => ErrorCode::SegmentTooLong,
            PathError::TooLong(_) => ErrorCode::PathTooLong,
        };
        Self::new(code, e.to_string())
    }
}

/// Every refused transform is an `InvalidParameter`, with the grammar's reason as the message.
impl From<TransformError> for ApiError {
    fn from(e: TransformError) -> Self {
        Self::new(ErrorCode::InvalidParameter, e.to_string())
    }
}

/// The longest error message sent, in characters; longer ones end in `…`.
pub const MAX_MESSAGE_CHARS: usize = 1000;

/// `text` cut to its first `chars` characters, with `…` when something was cut: how a piece of
/// client input is quoted in an error message.
#[must_use]
pub fn shorten(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_statuses_are_errors() {
        let mut seen = HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.code()), "duplicate code {}", c.code());
            assert!((400..600).contains(&c.status()));
            assert_eq!(ErrorCode::from_code(c.code()), Some(*c));
        }
    }

    #[test]
    fn docs_list_every_code() {
        let doc = include_str!("../../docs/errors.md");
        for c in ErrorCode::ALL {
            let row = format!("| {} | {} | `{}` |", c.code(), c.status(), c.name());
            assert!(
                doc.contains(&row),
                "docs/errors.md lacks the row starting {row}"
            );
        }
    }
}
