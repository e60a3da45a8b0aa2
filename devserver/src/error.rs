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
            Self::Api(e) => e.clone(),
            Self::Io(e) if is_disk_full(e) => {
                tracing::error!(error = %e, "disk full");
                ApiError::new(ErrorCode::InsufficientStorage, "Insufficient storage")
            }
            other => {
                tracing::error!(error = %other, "internal error");
                ApiError::internal()
            }
        }
    }
}

fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull
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
        api_response(&self.to_api())
    }
}
