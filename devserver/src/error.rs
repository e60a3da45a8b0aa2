//! `AppError`: what a handler or the store can fail with, and how each case is answered.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use stowage_protocol::{ApiError, ErrorCode, PathError};

/// A failure inside the server. `Api` cases go to the client as they are; `Io` and `Db` are
/// logged and answered with a bare 500 (or 507 for a full disk).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A documented failure with its code and message.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// A filesystem error.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A metadata database error.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Ids or externalIds that name no record.
    #[error("unknown ids")]
    Unknown(Vec<crate::model::Ident>),
    /// externalIds another record has.
    #[error("duplicate externalIds")]
    Duplicate(Vec<String>),
    /// The server cannot start as configured (bad flag, locked or inconsistent data directory).
    #[error("{0}")]
    Config(String),
    /// A documented failure the client may retry after this many seconds (`Retry-After`).
    #[error("{0}")]
    RetryAfter(ApiError, u64),
}

/// Result of handlers and store functions.
pub type AppResult<T> = Result<T, AppError>;

impl From<PathError> for AppError {
    fn from(e: PathError) -> Self {
        Self::Api(e.into())
    }
}

impl AppError {
    /// A documented error with a message.
    pub fn api(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Api(ApiError::new(code, message))
    }

    /// The error as the client sees it; internal details are logged here, not sent.
    #[must_use]
    pub fn to_api(&self) -> ApiError {
        match self {
            Self::Api(e) | Self::RetryAfter(e, _) => e.clone(),
            Self::Unknown(ids) => {
                let named: Vec<String> = ids
                    .iter()
                    .map(|i| match i {
                        crate::model::Ident::Id(id) => id.to_string(),
                        crate::model::Ident::External(e) => format!("externalId {e}"),
                    })
                    .collect();
                ApiError::new(
                    ErrorCode::UnknownIds,
                    format!("Ids not found: {}", shorten(&named.join(", "))),
                )
            }
            Self::Duplicate(ids) => ApiError::new(
                ErrorCode::DuplicateExternalId,
                format!("externalId already exists: {}", shorten(&ids.join(", "))),
            ),
            Self::Io(e) if is_disk_full(e) => {
                tracing::error!(error = %e, "disk full");
                ApiError::new(ErrorCode::InsufficientStorage, "Insufficient storage")
            }
            Self::Db(e) if is_database_full(e) => {
                tracing::error!(error = %e, "database disk full");
                ApiError::new(ErrorCode::InsufficientStorage, "Insufficient storage")
            }
            other if other.is_unavailable() => {
                tracing::warn!(error = %other, "catalog or object store unreachable");
                unavailable()
            }
            other => {
                tracing::error!(error = %other, "internal error");
                ApiError::internal()
            }
        }
    }
}

/// Seconds a client is asked to wait when the catalog or the object store is away.
pub const UNAVAILABLE_RETRY_SECS: u64 = 1;

fn unavailable() -> ApiError {
    ApiError::new(
        ErrorCode::Unavailable,
        "The storage service is unavailable for now; retry",
    )
}

impl AppError {
    /// Whether this is the database or the object store being unreachable (a restart, a
    /// failover, a cut network) rather than a fault of the request or of the server.
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Db(e) => is_database_away(e),
            Self::Io(e) => is_connection_error(e),
            _ => false,
        }
    }
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{
        BrokenPipe, ConnectionAborted, ConnectionRefused, ConnectionReset, NotConnected, TimedOut,
        UnexpectedEof,
    };
    matches!(
        e.kind(),
        ConnectionRefused
            | ConnectionReset
            | ConnectionAborted
            | NotConnected
            | BrokenPipe
            | TimedOut
            | UnexpectedEof
    )
}

/// PostgreSQL gone: no connection to be had, a connection cut, or the server shutting down
/// (`57P01`–`57P03`) or refusing connections (class `08`).
fn is_database_away(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Io(io) => is_connection_error(io),
        sqlx::Error::Database(db) => {
            let code = db.code();
            let code = code.as_deref().unwrap_or("");
            code.starts_with("57P") || code.starts_with("08")
        }
        _ => false,
    }
}

fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull
        || e.kind() == std::io::ErrorKind::QuotaExceeded
        || e.raw_os_error() == Some(28)
}

/// SQLite's `SQLITE_FULL` (13, "database or disk is full", also as extended codes) and
/// PostgreSQL's `disk_full` (53100).
fn is_database_full(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code();
            let code = code.as_deref().unwrap_or("");
            code == "53100"
                || code.parse::<i64>().is_ok_and(|c| c & 0xff == 13)
                || db.message().contains("database or disk is full")
        }
        sqlx::Error::Io(io) => is_disk_full(io),
        _ => false,
    }
}

/// The first 120 characters of user input, for error messages that quote it.
#[must_use]
pub fn shorten(text: &str) -> String {
    stowage_protocol::shorten(text, 120)
}

/// Builds the JSON response for a documented error.
#[must_use]
pub fn api_response(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(e.body())).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut response = api_response(&self.to_api());
        let retry = match &self {
            Self::RetryAfter(_, secs) => Some(*secs),
            other if other.is_unavailable() => Some(UNAVAILABLE_RETRY_SECS),
            _ => None,
        };
        if let Some(secs) = retry {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}
