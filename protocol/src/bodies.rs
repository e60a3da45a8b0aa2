//! JSON request and response bodies, named as the Backendless Files REST API names them.

use serde::{Deserialize, Serialize};

/// Answer to an upload: `{"fileURL": "..."}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadResponse {
    /// The public URL of the stored file.
    #[serde(rename = "fileURL")]
    pub file_url: String,
}

/// Body of `PUT files/move` and `PUT files/copy`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoveRequest {
    /// The file or directory to move, from the storage root (`/docs/readme.txt`).
    pub source_path: String,
    /// The directory to move it into; created when missing.
    pub target_path: String,
}

/// Body of `PUT files/rename`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenameRequest {
    /// The file or directory to rename, from the storage root.
    pub old_path_name: String,
    /// Its new name: one segment, in the same directory.
    pub new_name: String,
}

/// One entry of a directory listing.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileEntry {
    /// The last segment of the path.
    pub name: String,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_on: i64,
    /// Last change of content or place, milliseconds since the Unix epoch.
    pub updated_on: i64,
    /// Full public URL of the file or directory.
    pub public_url: String,
    /// The path from the storage root, without a leading slash.
    pub url: String,
    /// Size in bytes (0 for directories).
    pub size: u64,
    /// True for a directory.
    pub is_directory: bool,
    /// The user who wrote it, if a signed-in user did.
    #[serde(default)]
    pub owner_id: Option<String>,
    /// `public`, `private`, `protected` or `shared`; none when the permission rules decide.
    #[serde(default)]
    pub visibility: Option<String>,
    /// The users a `shared` file is shared with.
    #[serde(default)]
    pub shared_with: Vec<String>,
}

/// Answer to `GET /{appId}/{apiKey}/info`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// The app id from the URL.
    pub app_id: String,
    /// A display name for the app.
    pub name: String,
    /// The server's version (`CARGO_PKG_VERSION`).
    pub server_version: String,
    /// Largest accepted upload body, in bytes.
    pub max_upload_bytes: u64,
}
