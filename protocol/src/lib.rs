//! Wire types shared by the `stowage` client and `stowage-devserver`: the path
//! canonicaliser, the image-URL grammar, the error codes with their HTTP statuses, and
//! request/response bodies.

pub mod bodies;
pub mod cognite;
pub mod error;
pub mod images;
pub mod multipart;
pub mod paths;
#[cfg(feature = "openapi")]
pub mod schema;

pub use bodies::{AppInfo, FileEntry, MoveRequest, RenameRequest, UploadResponse};
pub use error::{shorten, ApiError, ErrorBody, ErrorCode};
pub use paths::{FilePath, PathError};
