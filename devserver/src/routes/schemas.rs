//! The shapes of the JSON bodies that handlers read field by field (`body::json_object`) or
//! build with `json!`, written down for `/openapi.json` only: no handler parses into them.
//! `tests/openapi.rs` sends each request example through the router, so a shape that drifts
//! from what the handler accepts fails there.

// Never built: these types exist to be described.
#![allow(dead_code)]

use serde::Serialize;
use utoipa::ToSchema;

/// `POST users/register`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegisterRequest {
    /// The new user's email (unique in the app, in any case).
    email: String,
    /// 8 to 1024 bytes.
    password: String,
    /// A display name.
    name: Option<String>,
}

/// `POST users/login`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LoginRequest {
    /// The user's email or objectId.
    login: String,
    /// The user's password.
    password: String,
}

/// A user as Backendless answers one; a login adds `user-token` and `lastLogin`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserBody {
    /// The user's id.
    object_id: String,
    /// The user's id again (Backendless's owner of the user object).
    owner_id: String,
    /// The user's email.
    email: String,
    /// The display name.
    name: Option<String>,
    /// When the user registered, ms since the epoch.
    created: i64,
    /// Always `null`.
    updated: Option<i64>,
    /// Always `ENABLED`.
    user_status: String,
    /// The user's roles (`AuthenticatedUser` first).
    roles: Vec<String>,
    /// Always `Users`.
    #[serde(rename = "___class")]
    class: String,
    /// The login token: send it as `user-token` (or `Authorization: Bearer`). Login only.
    #[serde(rename = "user-token")]
    user_token: Option<String>,
    /// When this login happened, ms since the epoch. Login only.
    last_login: Option<i64>,
}

/// `POST users/assignRole` and `users/unassignRole`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RoleRequest {
    /// The user: an objectId or an email.
    user: String,
    /// The role to give or take away.
    role_name: String,
}

/// The answer to a role change: the user's roles now.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RolesBody {
    /// The user as the request named them.
    user: String,
    /// Their roles now.
    roles: Vec<String>,
}

/// `PUT files/permissions/{GRANT|DENY}/{path}`: one of `user` and `role`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RuleRequest {
    /// `READ`, `WRITE` or `DELETE`.
    permission: String,
    /// A user's objectId, or `*` for every user (at most 128 characters).
    user: Option<String>,
    /// A role name, or `*` for every role (at most 128 characters).
    role: Option<String>,
}

/// A permission rule on a path.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RuleBody {
    /// The path, absolute.
    path: String,
    /// `READ`, `WRITE` or `DELETE`.
    permission: String,
    /// `GRANT` or `DENY`.
    #[serde(rename = "type")]
    kind: String,
    /// The user the rule is for (or `*`), when it is for a user.
    user: Option<String>,
    /// The role the rule is for (or `*`), when it is for a role.
    role: Option<String>,
}

/// `PUT files/visibility/{path}` (at least one of the two).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VisibilityRequest {
    /// `public`, `private`, `protected`, `shared`, or `null` (the rules decide again).
    visibility: Option<String>,
    /// The users a `shared` file is shared with (objectIds).
    shared_with: Option<Vec<String>>,
}

/// Who may see a path-named file.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccessBody {
    /// The path, absolute.
    path: Option<String>,
    /// The user who wrote it.
    owner_id: Option<String>,
    /// `public`, `private`, `protected`, `shared`, or `null`.
    visibility: Option<String>,
    /// The users a `shared` file is shared with.
    shared_with: Vec<String>,
}

/// The answer to a Backendless `DELETE`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeletedCount {
    /// How many files and directories were deleted (the directory itself included).
    deleted: u64,
}

/// The answer to bkend's `DELETE /v1/files/{id}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeletedRecord {
    /// The record's id.
    id: i64,
    /// Always `true`.
    deleted: bool,
}

/// `/healthz` and `/readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// `ok` (`/healthz`) or `ready` (`/readyz`).
    status: String,
}

/// `POST /v1/test/faults`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FaultsRequest {
    /// The new rules, replacing the old ones.
    rules: Vec<crate::faults::Rule>,
}

/// An error on bkend's `/v1/files` routes: ours, with bkend's own code beside it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BkendError {
    /// One of the numbers in docs/errors.md.
    code: u32,
    /// Human-readable text.
    message: String,
    /// The same error as bkend names it.
    error: BkendCode,
}

/// bkend's name for an error.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BkendCode {
    /// `file/not-found`, `file/access-denied`, `file/already-exists`, `file/too-large`,
    /// `common/authentication-required`, `common/rate-limited`, `common/validation-error`,
    /// `common/service-unavailable` or `common/internal-error`.
    code: String,
    /// The message again.
    message: String,
}

/// The answer to `POST /v1/files/multipart/abort`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Aborted {
    /// The upload's id.
    upload_id: String,
    /// Always `true`, also for an upload aborted before.
    aborted: bool,
}

/// The JSON answers of a Backendless `GET` on a path.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum PathAnswer {
    /// A directory's listing (one page).
    Listing(Vec<stowage_protocol::FileEntry>),
    /// `action=exists`.
    Exists(bool),
    /// `action=count`.
    Count(u64),
}

/// The answers of a Backendless `POST` on a path.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum PostAnswer {
    /// An upload: the file's URL.
    Upload(stowage_protocol::UploadResponse),
    /// A new directory: its absolute path.
    Directory(String),
}
