//! The Backendless-shaped Files API under `/{appId}/{apiKey}/files/…`: upload, download,
//! listing, exists/count, create directory, delete, move, copy, rename.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::{StreamExt as _, TryStreamExt};
use stowage_protocol::{ApiError, ErrorCode, FileEntry, FilePath, UploadResponse};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::body;
use crate::error::{api_response, AppError, AppResult};
use crate::state::AppState;
use crate::store::Entry;

/// The parts of a files URL: app id, what follows `files/` (still percent-encoded), query.
struct FilesUri {
    app: String,
    rest: String,
    query: HashMap<String, String>,
}

/// Splits `/{app}/{key}/files/{rest}` and checks the app pair.
fn files_uri(state: &AppState, req: &Request) -> AppResult<FilesUri> {
    let path = req.uri().path();
    let mut parts = path.trim_start_matches('/').splitn(4, '/');
    let (app, key) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    state.authenticate(app, key)?;
    let _files = parts.next();
    let rest = parts.next().unwrap_or("").to_owned();
    let mut query = HashMap::new();
    for (k, v) in form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()) {
        query.insert(k.into_owned(), v.into_owned());
    }
    Ok(FilesUri {
        app: app.to_owned(),
        rest,
        query,
    })
}

fn invalid(name: &str, value: &str) -> AppError {
    AppError::api(
        ErrorCode::InvalidParameter,
        format!("Invalid value for parameter {name}: {value}"),
    )
}

fn flag(query: &HashMap<String, String>, name: &str) -> AppResult<bool> {
    match query.get(name).map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("" | "false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(invalid(name, &query[name])),
    }
}

fn number(query: &HashMap<String, String>, name: &str, default: u64, max: u64) -> AppResult<u64> {
    match query.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| invalid(name, v)),
    }
}

/// `GET`/`HEAD`: a file's bytes, a directory listing, or `?action=exists|count`.
pub(super) async fn get(State(state): State<AppState>, req: Request) -> AppResult<Response> {
    let uri = files_uri(&state, &req)?;
    let path = FilePath::parse_encoded(&uri.rest)?;
    let store = state.store();
    let entry = store.stat(&uri.app, &path).await?;
    match uri.query.get("action").map(String::as_str) {
        Some("exists") => return Ok(Json(path.is_root() || entry.is_some()).into_response()),
        Some("count") => return count(&state, &uri, &path, entry.as_ref()).await,
        Some(other) => return Err(invalid("action", other)),
        None => {}
    }
    match entry {
        Some(e) if !e.is_dir => serve(&state, &e, req).await,
        Some(_) => list(&state, &uri, &path).await,
        None if path.is_root() => list(&state, &uri, &path).await,
        None => Err(ApiError::not_found().into()),
    }
}

/// Whether an `If-None-Match` / `If-Match` list names `etag` (`*` names any).
fn etag_listed(list: &HeaderValue, etag: &str) -> bool {
    list.to_str().is_ok_and(|l| {
        l.split(',')
            .map(str::trim)
            .any(|t| t == "*" || t.trim_start_matches("W/") == etag)
    })
}

/// The file's own ETag (CRC32C and size of its bytes, the same one `complete` answers) governs
/// the conditional headers; tower-http's `ServeFile` then does ranges, Last-Modified and
/// the body.
pub(super) async fn serve(
    state: &AppState,
    entry: &Entry,
    mut req: Request,
) -> AppResult<Response> {
    let etag = entry.etag.clone().unwrap_or_default();
    let headers = req.headers_mut();
    if let Some(list) = headers.remove(header::IF_MATCH) {
        if !etag_listed(&list, &etag) {
            return Err(AppError::api(
                ErrorCode::PreconditionFailed,
                "The file has changed (If-Match)",
            ));
        }
    }
    if let Some(list) = headers.remove(header::IF_NONE_MATCH) {
        if etag_listed(&list, &etag) {
            headers.remove(header::IF_MODIFIED_SINCE);
            let mut response = StatusCode::NOT_MODIFIED.into_response();
            if let Ok(v) = HeaderValue::from_str(&etag) {
                response.headers_mut().insert(header::ETAG, v);
            }
            return Ok(response);
        }
        // A failed If-None-Match overrides If-Modified-Since (RFC 9110 13.2.2).
        headers.remove(header::IF_MODIFIED_SINCE);
    }
    if let Some(validator) = headers.remove(header::IF_RANGE) {
        if validator.to_str().ok() != Some(etag.as_str()) {
            headers.remove(header::RANGE);
        }
    }
    let local = state.store().readable_path(entry).await?;
    let mime = entry
        .content_type
        .as_deref()
        .and_then(|t| t.parse().ok())
        .unwrap_or(mime_guess::mime::APPLICATION_OCTET_STREAM);
    let Ok(response) = ServeFile::new_with_mime(local, &mime).oneshot(req).await;
    let mut response = response.map(Body::new);
    match response.status() {
        StatusCode::NOT_FOUND => return Err(ApiError::not_found().into()),
        StatusCode::RANGE_NOT_SATISFIABLE => {
            let mut error = api_response(&ApiError::new(
                ErrorCode::RangeNotSatisfiable,
                format!(
                    "Requested range is not satisfiable (file size {})",
                    entry.size
                ),
            ));
            if let Some(range) = response.headers().get(header::CONTENT_RANGE) {
                error
                    .headers_mut()
                    .insert(header::CONTENT_RANGE, range.clone());
            }
            return Ok(error);
        }
        _ => {}
    }
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    // Uploaded HTML or SVG must not run script in the origin that serves it.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let disposition = format!(
        "inline; filename*=UTF-8''{}",
        stowage_protocol::paths::encode_segment(&entry.name)
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

fn to_file_entry(state: &AppState, app: &str, e: Entry) -> AppResult<FileEntry> {
    let path = FilePath::parse(&e.path)?;
    Ok(FileEntry {
        public_url: state.public_url(app, &path),
        url: e.path,
        name: e.name,
        created_on: e.created_ms,
        updated_on: e.updated_ms,
        size: u64::try_from(e.size).unwrap_or(0),
        is_directory: e.is_dir,
    })
}

fn pattern(uri: &FilesUri) -> AppResult<Option<glob::Pattern>> {
    match uri.query.get("pattern").filter(|p| !p.is_empty()) {
        None => Ok(None),
        Some(p) => glob::Pattern::new(p)
            .map(Some)
            .map_err(|_| invalid("pattern", p)),
    }
}

async fn list(state: &AppState, uri: &FilesUri, dir: &FilePath) -> AppResult<Response> {
    let pattern = pattern(uri)?;
    let sub = flag(&uri.query, "sub")?;
    let page_size = number(&uri.query, "pagesize", 100, 1000)?.max(1);
    let offset = number(&uri.query, "offset", 0, u64::MAX)?;
    let page: Vec<Entry> = match &pattern {
        // Without a pattern the database pages on its index: a late page costs what an early one does.
        None => {
            state
                .store()
                .list_page(&uri.app, dir, sub, page_size, offset)
                .try_collect()
                .await?
        }
        // A glob is matched here, so the rows before the page are read and skipped.
        Some(p) => {
            state
                .store()
                .list(&uri.app, dir, sub)
                .try_filter(|e| std::future::ready(p.matches(&e.name)))
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(usize::try_from(page_size).unwrap_or(1000))
                .try_collect()
                .await?
        }
    };
    let entries = page
        .into_iter()
        .map(|e| to_file_entry(state, &uri.app, e))
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Json(entries).into_response())
}

async fn count(
    state: &AppState,
    uri: &FilesUri,
    dir: &FilePath,
    entry: Option<&Entry>,
) -> AppResult<Response> {
    if !dir.is_root() && !entry.is_some_and(|e| e.is_dir) {
        return Err(ApiError::not_found().into());
    }
    let pattern = pattern(uri)?;
    let sub = flag(&uri.query, "sub")?;
    let dirs = flag(&uri.query, "countDirectories")?;
    let n = state
        .store()
        .list(&uri.app, dir, sub)
        .try_fold(0u64, |n, e| {
            let hit = (dirs || !e.is_dir) && pattern.as_ref().is_none_or(|p| p.matches(&e.name));
            std::future::ready(Ok(n + u64::from(hit)))
        })
        .await?;
    Ok(Json(n).into_response())
}

/// Content type to store: what the sender declared, unless it is missing or generic; then
/// a guess from the name's extension.
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
pub(super) async fn post(State(state): State<AppState>, req: Request) -> AppResult<Response> {
    let uri = files_uri(&state, &req)?;
    let path = FilePath::parse_encoded(&uri.rest)?;
    if uri.rest.ends_with('/') || path.is_root() {
        state.store().create_dir(&uri.app, &path).await?;
        return Ok(Json(path.to_absolute()).into_response());
    }
    let overwrite = flag(&uri.query, "overwrite")?;
    // Fail before the body is read when the upload cannot succeed.
    state.store().check_put(&uri.app, &path, overwrite).await?;
    let limit = state.max_upload_bytes();
    match body::upload(req, limit).await? {
        body::Upload::Raw {
            bytes,
            declared_type,
        } => {
            store_upload(
                &state,
                &uri.app,
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
                let bytes = body::limited(field.map_err(|e| body::multipart_error(&e)), limit);
                let stored = store_upload(
                    &state,
                    &uri.app,
                    &path,
                    bytes,
                    declared_type.as_deref(),
                    overwrite,
                );
                return stored.await;
            }
            body::skip(field).await?;
        },
    }
}

async fn store_upload<S>(
    state: &AppState,
    app: &str,
    path: &FilePath,
    bytes: S,
    declared_type: Option<&str>,
    overwrite: bool,
) -> AppResult<Response>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, AppError>> + Send,
{
    let content_type = stored_type(declared_type, path.name());
    state
        .store()
        .put_file(app, path, bytes, &content_type, overwrite)
        .await?;
    Ok(Json(UploadResponse {
        file_url: state.public_url(app, path),
    })
    .into_response())
}

/// `PUT`: `binary/{path}` (base64 upload), `move`, `copy` or `rename`.
pub(super) async fn put(State(state): State<AppState>, req: Request) -> AppResult<Response> {
    let uri = files_uri(&state, &req)?;
    let (first, rest) = uri.rest.split_once('/').unwrap_or((uri.rest.as_str(), ""));
    let (parts, body) = req.into_parts();
    match first {
        "binary" => {
            let path = FilePath::parse_encoded(rest)?;
            let overwrite = flag(&uri.query, "overwrite")?;
            state.store().check_put(&uri.app, &path, overwrite).await?;
            let bytes = body::base64_upload(&parts.headers, body, state.max_upload_bytes())?;
            store_upload(&state, &uri.app, &path, bytes, None, overwrite).await
        }
        "move" | "copy" if rest.is_empty() => {
            let json = body::json_object(&parts.headers, body).await?;
            let source = FilePath::parse(body::string_field(&json, "sourcePath")?)?;
            let target = FilePath::parse(body::string_field(&json, "targetPath")?)?;
            let store = state.store();
            let new_path = if first == "move" {
                store.move_into(&uri.app, &source, &target).await?
            } else {
                store.copy_into(&uri.app, &source, &target).await?
            };
            Ok(Json(new_path.to_absolute()).into_response())
        }
        "rename" if rest.is_empty() => {
            let json = body::json_object(&parts.headers, body).await?;
            let source = FilePath::parse(body::string_field(&json, "oldPathName")?)?;
            let new_name = body::string_field(&json, "newName")?;
            let new_path = state.store().rename(&uri.app, &source, new_name).await?;
            Ok(Json(new_path.to_absolute()).into_response())
        }
        _ => Err(method_not_allowed(&Method::PUT)),
    }
}

/// `DELETE`: a file, or a directory with its contents.
pub(super) async fn delete(State(state): State<AppState>, req: Request) -> AppResult<Response> {
    let uri = files_uri(&state, &req)?;
    let path = FilePath::parse_encoded(&uri.rest)?;
    let deleted = state.store().delete(&uri.app, &path).await?;
    Ok(Json(serde_json::json!({ "deleted": deleted })).into_response())
}

/// The error for a method a route does not take.
#[must_use]
pub(super) fn method_not_allowed(method: &Method) -> AppError {
    AppError::api(
        ErrorCode::MethodNotAllowed,
        format!("Method {method} is not allowed here"),
    )
}
