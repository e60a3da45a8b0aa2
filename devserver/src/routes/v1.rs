//! The `/v1` API (bkend storage shape): presigned single uploads and downloads, and the
//! multipart control plane. Apps are named by the `X-API-Key` header; the bytes go to signed
//! URLs under `/v1/signed/…`, whose handlers are in [`super::signed`].

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::Value;
use stowage_protocol::multipart::{
    effective_part_size, part_count, part_len, AbortRequest, CompleteRequest, CompleteResponse,
    DownloadUrlRequest, InitRequest, InitResponse, PartInfo, PresignPartsRequest,
    PresignPartsResponse, PresignUploadRequest, PresignedPart, PresignedRequest, UploadStatus,
    MAX_PARTS, MAX_PART_SIZE,
};
use stowage_protocol::{ApiError, ErrorCode, FilePath};

use super::body;
use super::files::stored_type;
use crate::error::{AppError, AppResult};
use crate::presign::expires_in;
use crate::state::AppState;
use crate::store::uploads::UploadRow;
use crate::store::NewUpload;

/// The app named by `X-API-Key`.
pub(super) fn api_app(state: &AppState, headers: &HeaderMap) -> AppResult<String> {
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Ok(state.app_for_key(key)?)
}

/// A JSON body of type `T`, with `MissingField` and `MalformedJson` told apart.
async fn typed<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> AppResult<T> {
    let map = body::json_object(headers, body).await?;
    serde_json::from_value(Value::Object(map)).map_err(|e| {
        let text = e.to_string();
        match text
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            Some(field) => ApiError::missing_field(field).into(),
            None => AppError::api(
                ErrorCode::MalformedJson,
                format!("Could not parse request body: {text}"),
            ),
        }
    })
}

/// The file an upload of `size` bytes into `dir` as `name` makes, within the size limit.
fn upload_path(state: &AppState, dir: &str, name: &str, size: u64) -> AppResult<FilePath> {
    let path = FilePath::parse(dir)?.join(name)?;
    if size > state.max_upload_bytes() {
        return Err(AppError::api(
            ErrorCode::BodyTooLarge,
            format!(
                "Request body is larger than {} bytes",
                state.max_upload_bytes()
            ),
        ));
    }
    Ok(path)
}

fn now_secs() -> u64 {
    u64::try_from(crate::store::now_ms() / 1000).unwrap_or(0)
}

fn signed_request(
    state: &AppState,
    method: &str,
    path: &str,
    query: &str,
    expires: u64,
) -> PresignedRequest {
    PresignedRequest {
        url: format!("{}{path}?{query}", state.public_base()),
        method: method.to_owned(),
        headers: std::collections::BTreeMap::new(),
        expires_at: i64::try_from(expires.saturating_mul(1000)).unwrap_or(i64::MAX),
    }
}

/// `POST /v1/files/presigned-url`: a signed PUT URL for one single-request upload.
pub(super) async fn presign_upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<PresignedRequest>> {
    let app = api_app(&state, &headers)?;
    let req: PresignUploadRequest = typed(&headers, body).await?;
    let path = upload_path(&state, &req.path, &req.name, req.size)?;
    state.store().check_put(&app, &path, req.overwrite).await?;
    let mime = stored_type(req.mime_type.as_deref(), path.name());
    let expires = now_secs() + expires_in(req.expires_in)?;
    let signed_path = format!("/v1/signed/put/{app}/{}", path.to_encoded());
    let overwrite = if req.overwrite { "1" } else { "0" };
    let query = state.signer().sign(
        "PUT",
        &signed_path,
        expires,
        req.size,
        &[("overwrite", overwrite), ("type", &mime)],
    );
    let mut request = signed_request(&state, "PUT", &signed_path, &query, expires);
    request.headers.insert("Content-Type".into(), mime);
    Ok(Json(request))
}

/// `POST /v1/files/download-url`: a signed GET URL for an existing file.
pub(super) async fn presign_download(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<PresignedRequest>> {
    let app = api_app(&state, &headers)?;
    let req: DownloadUrlRequest = typed(&headers, body).await?;
    let path = FilePath::parse(&req.path)?;
    match state.store().stat(&app, &path).await? {
        Some(e) if !e.is_dir => {}
        _ => return Err(ApiError::not_found().into()),
    }
    let expires = now_secs() + expires_in(req.expires_in)?;
    let signed_path = format!("/v1/signed/get/{app}/{}", path.to_encoded());
    let query = state.signer().sign("GET", &signed_path, expires, 0, &[]);
    Ok(Json(signed_request(
        &state,
        "GET",
        &signed_path,
        &query,
        expires,
    )))
}

fn invalid_part_size(text: String) -> AppError {
    AppError::api(ErrorCode::InvalidPartSize, text)
}

/// `POST /v1/files/multipart/init`.
pub(super) async fn init(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<InitResponse>> {
    let app = api_app(&state, &headers)?;
    let req: InitRequest = typed(&headers, body).await?;
    let path = upload_path(&state, &req.path, &req.name, req.size)?;
    let min = state.min_part_size();
    if let Some(p) = req.part_size.filter(|p| *p < min || *p > MAX_PART_SIZE) {
        return Err(invalid_part_size(format!(
            "Part size {p} is outside {min}–{MAX_PART_SIZE} bytes"
        )));
    }
    let part_size = effective_part_size(req.size, req.part_size, min);
    let count = part_count(req.size, part_size);
    if count > MAX_PARTS {
        return Err(invalid_part_size(format!(
            "The upload needs {count} parts; at most {MAX_PARTS} are allowed"
        )));
    }
    state.store().check_put(&app, &path, req.overwrite).await?;
    let ttl_ms = i64::try_from(state.upload_ttl_secs().saturating_mul(1000)).unwrap_or(i64::MAX);
    let row = state
        .store()
        .init_upload(NewUpload {
            app,
            content_type: stored_type(req.mime_type.as_deref(), path.name()),
            path,
            size: req.size,
            part_size,
            part_count: count,
            overwrite: req.overwrite,
            checksum: req.checksum,
            ttl_ms,
        })
        .await?;
    Ok(Json(InitResponse {
        upload_id: row.id,
        part_size,
        part_count: count,
        expires_at: row.expires_ms,
    }))
}

fn open_upload(upload: UploadRow) -> AppResult<UploadRow> {
    if upload.result.is_some() {
        return Err(AppError::api(
            ErrorCode::UploadNotFound,
            format!("Upload {} is completed and takes no more parts", upload.id),
        ));
    }
    Ok(upload)
}

/// `POST /v1/files/multipart/presigned-url`: signed PUT URLs for parts.
pub(super) async fn presign_parts(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<PresignPartsResponse>> {
    let app = api_app(&state, &headers)?;
    let req: PresignPartsRequest = typed(&headers, body).await?;
    let upload = open_upload(state.store().get_upload(Some(&app), &req.upload_id).await?)?;
    let count = u64::try_from(upload.part_count).unwrap_or(0);
    let (size, part_size) = (
        u64::try_from(upload.size).unwrap_or(0),
        u64::try_from(upload.part_size).unwrap_or(0),
    );
    if req.part_numbers.len() > 10_000 {
        return Err(invalid_part_size(format!(
            "At most {MAX_PARTS} parts per request"
        )));
    }
    let expires = now_secs() + expires_in(None)?;
    let mut parts = Vec::with_capacity(req.part_numbers.len());
    for &n in &req.part_numbers {
        if !(1..=count).contains(&n) {
            return Err(invalid_part_size(format!(
                "Part number {n} is outside 1–{count}"
            )));
        }
        let path = format!("/v1/signed/parts/{}/{n}", upload.id);
        let query = state
            .signer()
            .sign("PUT", &path, expires, part_len(size, part_size, n), &[]);
        parts.push(PresignedPart {
            part_number: n,
            request: signed_request(&state, "PUT", &path, &query, expires),
        });
    }
    Ok(Json(PresignPartsResponse { parts }))
}

/// `GET /v1/files/multipart/{uploadId}`: the upload and the parts the server holds.
pub(super) async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Json<UploadStatus>> {
    let app = api_app(&state, &headers)?;
    let upload = state.store().get_upload(Some(&app), &id).await?;
    let parts = state.store().upload_parts(&id).await?;
    let to_u64 = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(Json(UploadStatus {
        completed: upload
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok()),
        upload_id: upload.id,
        path: upload.path,
        size: to_u64(upload.size),
        part_size: to_u64(upload.part_size),
        part_count: to_u64(upload.part_count),
        checksum: stowage_protocol::multipart::ChecksumAlgorithm::parse(&upload.checksum)
            .unwrap_or_default(),
        parts: parts
            .into_iter()
            .map(|p| PartInfo {
                part_number: to_u64(p.part_number),
                size: to_u64(p.size),
                etag: p.etag,
                checksum: p.checksum,
            })
            .collect(),
        expires_at: upload.expires_ms,
    }))
}

/// `POST /v1/files/multipart/complete`.
pub(super) async fn complete(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<CompleteResponse>> {
    let app = api_app(&state, &headers)?;
    let req: CompleteRequest = typed(&headers, body).await?;
    let answer =
        |path: &FilePath, entry: &crate::store::Entry, checksum: Option<String>| CompleteResponse {
            file_url: state.public_url(&app, path),
            size: u64::try_from(entry.size).unwrap_or(0),
            etag: entry.etag.clone().unwrap_or_default(),
            checksum,
        };
    Ok(Json(
        state
            .store()
            .complete_upload(&app, &req.upload_id, &req.parts, answer)
            .await?,
    ))
}

/// `POST /v1/files/multipart/abort`: forgets the upload and its parts; twice is fine.
pub(super) async fn abort(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<Value>> {
    let app = api_app(&state, &headers)?;
    let req: AbortRequest = typed(&headers, body).await?;
    state.store().abort_upload(&app, &req.upload_id).await?;
    Ok(Json(
        serde_json::json!({ "uploadId": req.upload_id, "aborted": true }),
    ))
}
