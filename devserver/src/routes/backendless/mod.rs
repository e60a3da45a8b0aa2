//! The Backendless-shaped Files API under `/{appId}/{apiKey}/files/…`: upload, download,
//! listing, exists and count, create directory, delete, move, copy, rename. Each handler
//! parses its request, calls the files service, and answers Backendless's bodies.

mod doc;
mod listing;
mod permissions;
mod users;

pub(super) use doc::{Api, SHARED};
pub(super) use listing::NEXT_CURSOR;

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use stowage_protocol::{
    ApiError, ErrorBody, ErrorCode, FilePath, MoveRequest, RenameRequest, UploadResponse,
};

use super::table::{route, Routes};
use super::{body, serve};
use crate::error::{AppError, AppResult};
use crate::files::ByteStream;
use crate::files::PutOptions;
use crate::state::AppState;

/// The routes of this shape.
pub(super) fn routes() -> Routes {
    // The operations' own routes still answer the other methods as paths do (a POST to
    // `files/binary/x` is an upload to a reserved path, refused as such).
    let mut routes = Routes::new();
    for path in [
        "/{app}/{key}/files",
        "/{app}/{key}/files/",
        "/{app}/{key}/files/{*rest}",
    ] {
        routes = route!(
            routes,
            path,
            get(get_path)
                .head(get_path)
                .post(post_path)
                .delete(delete_path)
                .put(no_put)
        );
    }
    routes = route!(
        routes,
        "/{app}/{key}/files/move",
        get(get_path)
            .head(get_path)
            .post(post_path)
            .delete(delete_path)
            .put(move_into)
    );
    routes = route!(
        routes,
        "/{app}/{key}/files/copy",
        get(get_path)
            .head(get_path)
            .post(post_path)
            .delete(delete_path)
            .put(copy_into)
    );
    routes = route!(
        routes,
        "/{app}/{key}/files/rename",
        get(get_path)
            .head(get_path)
            .post(post_path)
            .delete(delete_path)
            .put(rename)
    );
    routes = route!(
        routes,
        "/{app}/{key}/files/binary/{*rest}",
        get(get_path)
            .head(get_path)
            .post(post_path)
            .delete(delete_path)
            .put(put_base64)
    );
    routes.merge(permissions::routes()).merge(users::routes())
}

/// Set on requests the custom domain rewrote: they fetch files, never list directories.
#[derive(Debug, Clone, Copy)]
pub(super) struct FilesOnly;

/// A files URL: the app (its key checked), what follows `files/` (still percent-encoded),
/// and the query.
struct Target {
    app: String,
    who: crate::model::Principal,
    rest: String,
    query: HashMap<String, String>,
    files_only: bool,
}

impl FromRequestParts<AppState> for Target {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        let path = parts.uri.path().to_owned();
        let mut segments = path.trim_start_matches('/').splitn(4, '/');
        let (app, key) = (segments.next().unwrap_or(""), segments.next().unwrap_or(""));
        state.authenticate(app, key)?;
        let who = super::principal::resolve(state, app, &parts.headers, true).await?;
        let _files = segments.next();
        let rest = segments.next().unwrap_or("").to_owned();
        let mut query = HashMap::new();
        for (k, v) in form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
            query.insert(k.into_owned(), v.into_owned());
        }
        Ok(Self {
            app: app.to_owned(),
            who,
            rest,
            query,
            files_only: parts.extensions.get::<FilesOnly>().is_some(),
        })
    }
}

impl Target {
    fn path(&self) -> AppResult<FilePath> {
        Ok(FilePath::parse_encoded(&self.rest)?)
    }

    /// `rest` after its first segment (`binary/…`).
    fn path_after_first(&self) -> AppResult<FilePath> {
        let after = self.rest.split_once('/').map_or("", |(_, r)| r);
        Ok(FilePath::parse_encoded(after)?)
    }

    fn flag(&self, name: &str) -> AppResult<bool> {
        match self
            .query
            .get(name)
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("" | "false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(invalid(name, &self.query[name])),
        }
    }

    fn number(&self, name: &str, default: u64, max: u64) -> AppResult<u64> {
        match self.query.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| invalid(name, v)),
        }
    }
}

fn invalid(name: &str, value: &str) -> AppError {
    AppError::api(
        ErrorCode::InvalidParameter,
        format!(
            "Invalid value for parameter {name}: {}",
            crate::error::shorten(value)
        ),
    )
}

/// `GET`/`HEAD`: a file's bytes, a directory listing, or `?action=exists|count`.
///
/// A file answers its bytes (with `Range`, `If-Match`, `If-None-Match`, `If-Modified-Since`);
/// a directory (or the root) a page of its listing, the next page's cursor in the
/// `stowage-next-cursor` header; `action=exists` a boolean, `action=count` a number.
#[utoipa::path(
    method(get, head),
    path = "/{app}/{key}/files/{rest}",
    tag = "backendless",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key."),
        ("rest" = String, Path, description = "The file or directory path, percent-encoded per segment (axum's `{*rest}`: slashes included)."),
        ("action" = Option<String>, Query, description = "`exists` or `count`."),
        ("pattern" = Option<String>, Query, description = "A glob the names must match (listing, count)."),
        ("sub" = Option<bool>, Query, description = "Include subdirectories (listing, count)."),
        ("pagesize" = Option<u64>, Query, description = "Entries per page, 1 to 1000 (default 100)."),
        ("offset" = Option<u64>, Query, description = "Entries to skip."),
        ("cursor" = Option<String>, Query, description = "The `stowage-next-cursor` of the page before."),
        ("countDirectories" = Option<bool>, Query, description = "Count directories too (count)."),
        ("Range" = Option<String>, Header, description = "One byte range (`bytes=0-99`)."),
        ("width" = Option<u32>, Query, description = "An image variant instead of the file (tag `images`): width, 0 for automatic, at most 2500."),
        ("height" = Option<u32>, Query, description = "An image variant's height."),
        ("resize" = Option<String>, Query, description = "An image variant's fit: `cover` (default), `contain` or `fill`."),
        ("quality" = Option<u8>, Query, description = "An image variant's quality, 20 to 100 (default 80)."),
        ("format" = Option<String>, Query, description = "An image variant's format: `origin`, `webp`, `jpeg`, `png` or `avif`; absent: WebP where `Accept` takes it."),
        ("signature" = Option<String>, Query, description = "An image variant's signature, for sizes off the allowlist (`POST /{app}/{key}/images/sign`)."),
    ),
    security((), ("user_token" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The file's bytes, or a listing, a boolean or a count in JSON", headers(("stowage-next-cursor" = String, description = "Where the next listing page starts, when there is one")), content(
            ("application/octet-stream"),
            (crate::routes::schemas::PathAnswer = "application/json"),
        )),
        (status = 206, description = "The byte range asked for (`Content-Range`)", content_type = "application/octet-stream"),
        (status = 304, description = "Not modified (`If-None-Match`, `If-Modified-Since`)"),
        (status = 400, description = "`6006` ProhibitedPath, `6008` SegmentTooLong, `6009` PathTooLong, `8007` InvalidParameter, `6020` InvalidCursor", body = ErrorBody),
        (status = 401, description = "`3003` WrongApp, `3064` TokenExpired", body = ErrorBody),
        (status = 403, description = "`4000` NoPermission", body = ErrorBody),
        (status = 404, description = "`6000` NotFound, `6019` NotUploaded", body = ErrorBody),
        (status = 412, description = "`6015` PreconditionFailed (`If-Match`)", body = ErrorBody),
        (status = 416, description = "`6014` RangeNotSatisfiable", body = ErrorBody),
    ),
)]
async fn get_path(
    State(state): State<AppState>,
    target: Target,
    method: Method,
    headers: HeaderMap,
) -> AppResult<Response> {
    let path = target.path()?;
    let action = target.query.get("action").map(String::as_str);
    if target.files_only && (action.is_some() || path.is_root() || target.rest.ends_with('/')) {
        return Err(ApiError::not_found().into());
    }
    let pairs: Vec<(String, String)> = target.query.clone().into_iter().collect();
    if action.is_none() && stowage_protocol::images::is_image_query(&pairs) {
        return super::images::serve_query(&state, &target.who, &path, &pairs, &method, &headers)
            .await;
    }
    if action == Some("exists") {
        return Ok(Json(state.files().exists(&target.who, &path).await?).into_response());
    }
    let record = state.files().stat(&target.who, &path).await?;
    if target.files_only && record.as_ref().is_none_or(|r| r.is_dir) {
        return Err(ApiError::not_found().into());
    }
    match action {
        Some("count") => return listing::count(&state, &target, &path, record.as_ref()).await,
        Some(other) => return Err(invalid("action", other)),
        None => {}
    }
    match record {
        Some(r) if !r.is_dir => {
            serve::serve(state.files(), &target.who, r, &method, &headers).await
        }
        Some(_) => listing::list(&state, &target, &path).await,
        None if path.is_root() => listing::list(&state, &target, &path).await,
        None => Err(ApiError::not_found().into()),
    }
}

/// Content type to store: what the sender declared, unless it is missing or generic; then a
/// guess from the name's extension.
pub(super) fn stored_type(declared: Option<&str>, name: &str) -> String {
    match declared.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t)
            if !t.starts_with("application/octet-stream")
                && t.parse::<mime_guess::Mime>().is_ok() =>
        {
            t.to_owned()
        }
        _ => mime_guess::from_path(name)
            .first_or_octet_stream()
            .to_string(),
    }
}

/// `POST`: an upload to `{path}/{name}`, or with a trailing slash, a new directory.
///
/// The body is the file's bytes, or a `multipart/form-data` form whose part named `file` holds
/// them. A path ending in `/` (or the root) creates that directory and answers its path.
#[utoipa::path(
    post,
    path = "/{app}/{key}/files/{rest}",
    tag = "backendless",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key."),
        ("rest" = String, Path, description = "The file's path, percent-encoded per segment (axum's `{*rest}`: slashes included); a trailing `/` names a directory to create."),
        ("overwrite" = Option<bool>, Query, description = "Replace an existing file."),
    ),
    request_body(description = "The file's bytes, or a form with a part named `file`", content(
        ("application/octet-stream"),
        ("multipart/form-data"),
    )),
    security((), ("user_token" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The stored file's URL, or the new directory's path", body = crate::routes::schemas::PostAnswer),
        (status = 400, description = "`6006` ProhibitedPath, `6008` SegmentTooLong, `6009` PathTooLong, `6010` ReservedPath, `8007` InvalidParameter, `8002` MissingField (no part `file`), `8008` MalformedMultipart, `8011` IncompleteBody", body = ErrorBody),
        (status = 401, description = "`3003` WrongApp, `3064` TokenExpired", body = ErrorBody),
        (status = 403, description = "`4000` NoPermission", body = ErrorBody),
        (status = 409, description = "`6003` AlreadyExists, `6012` NotADirectory", body = ErrorBody),
        (status = 413, description = "`8005` BodyTooLarge", body = ErrorBody),
        (status = 507, description = "`5001` InsufficientStorage", body = ErrorBody),
    ),
)]
async fn post_path(
    State(state): State<AppState>,
    target: Target,
    req: Request,
) -> AppResult<Response> {
    let path = target.path()?;
    if target.rest.ends_with('/') || path.is_root() {
        state.files().create_dir(&target.who, &path).await?;
        return Ok(Json(path.to_absolute()).into_response());
    }
    let overwrite = target.flag("overwrite")?;
    // Fail before the body is read when the upload cannot succeed.
    state
        .files()
        .check_put(&target.who, &path, overwrite)
        .await?;
    let limit = state.max_upload_bytes();
    match body::upload(req, limit).await? {
        body::Upload::Raw {
            bytes,
            declared_type,
        } => {
            store(
                &state,
                &target.who,
                &path,
                bytes,
                declared_type.as_deref(),
                overwrite,
            )
            .await
        }
        body::Upload::Form(mut form) => loop {
            let field = body::next_field(&mut form).await?;
            if field.name() == Some("file") {
                let declared_type = field.content_type().map(str::to_owned);
                let bytes = body::field_stream(field, limit);
                return store(
                    &state,
                    &target.who,
                    &path,
                    bytes,
                    declared_type.as_deref(),
                    overwrite,
                )
                .await;
            }
            body::skip(field).await?;
        },
    }
}

async fn store(
    state: &AppState,
    who: &crate::model::Principal,
    path: &FilePath,
    bytes: ByteStream<'_>,
    declared_type: Option<&str>,
    overwrite: bool,
) -> AppResult<Response> {
    let options = PutOptions {
        mime_type: stored_type(declared_type, path.name()),
        overwrite,
        expected_len: None,
    };
    state.files().put_path(who, path, bytes, options).await?;
    Ok(Json(UploadResponse {
        file_url: state.public_url(&who.app, path),
    })
    .into_response())
}

/// `PUT binary/{path}`: an upload of base64 text.
#[utoipa::path(
    put,
    path = "/{app}/{key}/files/binary/{rest}",
    tag = "backendless",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key."),
        ("rest" = String, Path, description = "The file's path, percent-encoded per segment (axum's `{*rest}`: slashes included)."),
        ("overwrite" = Option<bool>, Query, description = "Replace an existing file."),
    ),
    request_body(description = "The file's bytes in base64 (line breaks ignored)", content_type = "text/plain", content = String, example = json!("aGVsbG8=")),
    security((), ("user_token" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The stored file's URL", body = UploadResponse),
        (status = 400, description = "`8006` InvalidBase64, `6006` ProhibitedPath, `6008` SegmentTooLong, `6009` PathTooLong, `6010` ReservedPath, `8007` InvalidParameter, `8011` IncompleteBody", body = ErrorBody),
        (status = 401, description = "`3003` WrongApp, `3064` TokenExpired", body = ErrorBody),
        (status = 403, description = "`4000` NoPermission", body = ErrorBody),
        (status = 409, description = "`6003` AlreadyExists, `6012` NotADirectory", body = ErrorBody),
        (status = 413, description = "`8005` BodyTooLarge", body = ErrorBody),
        (status = 415, description = "`8003` WrongContentType: not `text/plain`", body = ErrorBody),
        (status = 507, description = "`5001` InsufficientStorage", body = ErrorBody),
    ),
)]
async fn put_base64(
    State(state): State<AppState>,
    target: Target,
    req: Request,
) -> AppResult<Response> {
    let path = target.path_after_first()?;
    let overwrite = target.flag("overwrite")?;
    state
        .files()
        .check_put(&target.who, &path, overwrite)
        .await?;
    let (parts, body) = req.into_parts();
    let bytes = body::base64_upload(&parts.headers, body, state.max_upload_bytes())?;
    store(&state, &target.who, &path, bytes, None, overwrite).await
}

/// `PUT move`: `{sourcePath, targetPath}` → the new absolute path.
#[utoipa::path(
    put,
    path = "/{app}/{key}/files/move",
    tag = "backendless",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key."),
    ),
    security((), ("user_token" = []), ("bearer" = [])),
    request_body(content = MoveRequest, example = json!({"sourcePath": "/docs/readme.txt", "targetPath": "/archive"})),
    responses(
        (status = 200, description = "The new absolute path", body = String, example = json!("/archive/readme.txt")),
        (status = 400, description = "`6004` MoveFileToFile, `6011` IntoItself, `6013` RootNotAllowed, `6006` ProhibitedPath, `6008` SegmentTooLong, `6009` PathTooLong, `8001` ParameterNull, `8002` MissingField, `8004` MalformedJson", body = ErrorBody),
        (status = 401, description = "`3003` WrongApp, `3064` TokenExpired", body = ErrorBody),
        (status = 403, description = "`4000` NoPermission, `6023` BlockedEntry", body = ErrorBody),
        (status = 404, description = "`6000` NotFound", body = ErrorBody),
        (status = 409, description = "`6003` AlreadyExists, `6005` ExistsInTarget, `6012` NotADirectory", body = ErrorBody),
        (status = 413, description = "`8005` BodyTooLarge: over 64 KiB", body = ErrorBody),
        (status = 415, description = "`8003` WrongContentType", body = ErrorBody),
    ),
)]
async fn move_into(
    State(state): State<AppState>,
    target: Target,
    req: Request,
) -> AppResult<Response> {
    let (source, into) = transfer_paths(req).await?;
    let new_path = state.files().move_into(&target.who, &source, &into).await?;
    Ok(Json(new_path.to_absolute()).into_response())
}

/// `PUT copy`: `{sourcePath, targetPath}` → the new absolute path.
#[utoipa::path(
    put,
    path = "/{app}/{key}/files/copy",
    tag = "backendless",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key."),
    ),
    security((), ("user_token" = []), ("bearer" = [])),
    request_body(content = MoveRequest, example = json!({"sourcePath": "/docs/readme.txt", "targetPath": "/archive"})),
    responses(
        (status = 200, description = "The new absolute path", body = String, example = json!("/archive/readme.txt")),
        (status = 400, description = "`6004` MoveFileToFile, `6011` IntoItself, `6013` RootNotAllowed, `6006` ProhibitedPath, `6008` SegmentTooLong, `6009` PathTooLong, `8001` ParameterNull, `8002` MissingField, `8004` MalformedJson", body = ErrorBody),
        (status = 401, description = "`3003` WrongApp, `3064` TokenExpired", body = ErrorBody),
        (status = 403, description = "`4000` NoPermission, `6023` BlockedEntry", body = ErrorBody),
        (status = 404, description = "`6000` NotFound", body = ErrorBody),
        (status = 409, description = "`6003` AlreadyExists, `6005` ExistsInTarget, `6012` NotADirectory", body = ErrorBody),
        (status = 413, description = "`8005` BodyTooLarge: over 64 KiB", body = ErrorBody),
        (status = 415, description = "`8003` WrongContentType", body = ErrorBody),
    ),
)]
async fn copy_into(
    State(state): State<AppState>,
    target: Target,
    req: Request,
) -> AppResult<Response> {
    let (source, into) = transfer_paths(req).await?;
    let new_path = state.files().copy_into(&target.who, &source, &into).await?;
    Ok(Json(new_path.to_absolute()).into_response())
}

async fn transfer_paths(req: Request) -> AppResult<(FilePath, FilePath)> {
    let (parts, body) = req.into_parts();
    let json = body::json_object(&parts.headers, body).await?;
    let source = FilePath::parse(body::string_field(&json, "sourcePath")?)?;
    let target = FilePath::parse(body::string_field(&json, "targetPath")?)?;
    Ok((source, target))
}

/// `PUT rename`: `{oldPathName, newName}` → the new absolute path.
#[utoipa::path(
    put,
    path = "/{app}/{key}/files/rename",
    tag = "backendless",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key."),
    ),
    security((), ("user_token" = []), ("bearer" = [])),
    request_body(content = RenameRequest, example = json!({"oldPathName": "/docs/readme.txt", "newName": "notes.txt"})),
    responses(
        (status = 200, description = "The new absolute path", body = String, example = json!("/docs/notes.txt")),
        (status = 400, description = "`6004` MoveFileToFile, `6011` IntoItself, `6013` RootNotAllowed, `6006` ProhibitedPath, `6008` SegmentTooLong, `6009` PathTooLong, `8001` ParameterNull, `8002` MissingField, `8004` MalformedJson", body = ErrorBody),
        (status = 401, description = "`3003` WrongApp, `3064` TokenExpired", body = ErrorBody),
        (status = 403, description = "`4000` NoPermission, `6023` BlockedEntry", body = ErrorBody),
        (status = 404, description = "`6000` NotFound", body = ErrorBody),
        (status = 409, description = "`6003` AlreadyExists, `6005` ExistsInTarget, `6012` NotADirectory", body = ErrorBody),
        (status = 413, description = "`8005` BodyTooLarge: over 64 KiB", body = ErrorBody),
        (status = 415, description = "`8003` WrongContentType", body = ErrorBody),
    ),
)]
async fn rename(
    State(state): State<AppState>,
    target: Target,
    req: Request,
) -> AppResult<Response> {
    let (parts, body) = req.into_parts();
    let json = body::json_object(&parts.headers, body).await?;
    let source = FilePath::parse(body::string_field(&json, "oldPathName")?)?;
    let new_name = body::string_field(&json, "newName")?;
    let new_path = state.files().rename(&target.who, &source, new_name).await?;
    Ok(Json(new_path.to_absolute()).into_response())
}

/// `DELETE`: a file, or a directory with its contents.
#[utoipa::path(
    delete,
    path = "/{app}/{key}/files/{rest}",
    tag = "backendless",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key."),
        ("rest" = String, Path, description = "The file or directory path, percent-encoded per segment (axum's `{*rest}`: slashes included)."),
    ),
    security((), ("user_token" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "How many entries were deleted", body = crate::routes::schemas::DeletedCount),
        (status = 400, description = "`6013` RootNotAllowed, `6006` ProhibitedPath, `6008` SegmentTooLong, `6009` PathTooLong", body = ErrorBody),
        (status = 401, description = "`3003` WrongApp, `3064` TokenExpired", body = ErrorBody),
        (status = 403, description = "`4000` NoPermission, `6023` BlockedEntry", body = ErrorBody),
        (status = 404, description = "`6000` NotFound", body = ErrorBody),
    ),
)]
async fn delete_path(State(state): State<AppState>, target: Target) -> AppResult<Response> {
    let path = target.path()?;
    let deleted = state.files().delete_path(&target.who, &path).await?;
    Ok(Json(serde_json::json!({ "deleted": deleted })).into_response())
}

/// `PUT` on anything but the operations above: refused.
#[utoipa::path(
    put,
    path = "/{app}/{key}/files/{rest}",
    tag = "backendless",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key."),
        ("rest" = String, Path, description = "Any path but the operations' (axum's `{*rest}`: slashes included)."),
    ),
    security((), ("user_token" = []), ("bearer" = [])),
    responses(
        (status = 401, description = "`3003` WrongApp, `3064` TokenExpired", body = ErrorBody),
        (status = 405, description = "`8010` MethodNotAllowed: uploads are `POST`", body = ErrorBody),
    ),
)]
async fn no_put(_target: Target) -> AppError {
    super::method_not_allowed(&Method::PUT)
}
