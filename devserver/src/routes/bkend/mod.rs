//! The `/v1` API (bkend storage shape): presigned single uploads and downloads, the multipart
//! control plane, and file metadata records (`/v1/files`). Apps are named by the `X-API-Key`
//! header; the bytes go to signed URLs under `/v1/signed/…`, whose handlers are in
//! [`super::signed`].

mod metadata;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde_json::Value;
use stowage_protocol::multipart::{
    effective_part_size, part_count, part_len, AbortRequest, CompleteRequest, CompleteResponse,
    DownloadUrlRequest, InitRequest, InitResponse, PartInfo, PresignPartsRequest,
    PresignPartsResponse, PresignUploadRequest, PresignedPart, PresignedRequest, UploadStatus,
    MAX_PARTS, MAX_PART_SIZE,
};
use stowage_protocol::{ApiError, ErrorCode, FilePath};

use super::backendless::stored_type;
use super::body;
use crate::error::{AppError, AppResult};
use crate::files::{NewUpload, PartLimits};
use crate::model::Upload;
use crate::presign::expires_in;
use crate::state::AppState;

/// The routes of this shape.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/files/presigned-url", post(presign_upload))
        .route("/v1/files/download-url", post(presign_download))
        .route("/v1/files/multipart/init", post(init))
        .route("/v1/files/multipart/presigned-url", post(presign_parts))
        .route("/v1/files/multipart/complete", post(complete))
        .route("/v1/files/multipart/abort", post(abort))
        .route("/v1/files/multipart/{upload_id}", get(status))
        .merge(metadata::routes())
}

/// The app named by `X-API-Key`.
pub(super) fn api_app(state: &AppState, headers: &HeaderMap) -> AppResult<String> {
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Ok(state.app_for_key(key)?)
}

/// A JSON body of type `T`, with `MissingField` and `MalformedJson` told apart.
pub(super) async fn typed<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> AppResult<T> {
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
    u64::try_from(crate::model::now_ms() / 1000).unwrap_or(0)
}

pub(super) fn signed_request(
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
async fn presign_upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<PresignedRequest>> {
    let app = api_app(&state, &headers)?;
    let req: PresignUploadRequest = typed(&headers, body).await?;
    let path = upload_path(&state, &req.path, &req.name, req.size)?;
    state.files().check_put(&app, &path, req.overwrite).await?;
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
async fn presign_download(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<PresignedRequest>> {
    let app = api_app(&state, &headers)?;
    let req: DownloadUrlRequest = typed(&headers, body).await?;
    let path = FilePath::parse(&req.path)?;
    match state.files().stat(&app, &path).await? {
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
async fn init(
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
    state.files().check_put(&app, &path, req.overwrite).await?;
    let ttl_ms = i64::try_from(state.upload_ttl_secs().saturating_mul(1000)).unwrap_or(i64::MAX);
    let upload = state
        .files()
        .init_upload(NewUpload {
            app,
            content_type: stored_type(req.mime_type.as_deref(), path.name()),
            path: Some(path),
            record_id: None,
            size: Some(req.size),
            part_size,
            part_count: count,
            overwrite: req.overwrite,
            checksum: req.checksum,
            ttl_ms,
        })
        .await?;
    Ok(Json(InitResponse {
        upload_id: upload.id,
        part_size,
        part_count: count,
        expires_at: upload.expires_ms,
    }))
}

/// The limits of parts whose size the plan does not fix.
pub(super) fn part_limits(state: &AppState) -> PartLimits {
    PartLimits {
        min: state.min_part_size(),
        max: MAX_PART_SIZE,
    }
}

fn open_upload(upload: Upload) -> AppResult<Upload> {
    if upload.result.is_some() {
        return Err(AppError::api(
            ErrorCode::UploadNotFound,
            format!("Upload {} is completed and takes no more parts", upload.id),
        ));
    }
    Ok(upload)
}

/// `POST /v1/files/multipart/presigned-url`: signed PUT URLs for parts.
async fn presign_parts(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<PresignPartsResponse>> {
    let app = api_app(&state, &headers)?;
    let req: PresignPartsRequest = typed(&headers, body).await?;
    let upload = open_upload(state.files().get_upload(Some(&app), &req.upload_id).await?)?;
    let count = upload.part_count;
    let (size, part_size) = (upload.size.unwrap_or(0), upload.part_size);
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
async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Json<UploadStatus>> {
    let app = api_app(&state, &headers)?;
    let upload = state.files().get_upload(Some(&app), &id).await?;
    let parts = state.files().upload_parts(&id).await?;
    let completed = match &upload.result {
        Some(done) => Some(complete_response(&state, &app, done).await?),
        None => None,
    };
    Ok(Json(UploadStatus {
        completed,
        upload_id: upload.id,
        path: upload.path.map(|p| p.to_string()).unwrap_or_default(),
        size: upload.size.unwrap_or(0),
        part_size: upload.part_size,
        part_count: upload.part_count,
        checksum: stowage_protocol::multipart::ChecksumAlgorithm::parse(&upload.checksum)
            .unwrap_or_default(),
        parts: parts
            .into_iter()
            .map(|p| PartInfo {
                part_number: p.number,
                size: p.size,
                etag: p.etag,
                checksum: p.checksum,
            })
            .collect(),
        expires_at: upload.expires_ms,
    }))
}

/// The answer of `complete` for what a completed upload made.
async fn complete_response(
    state: &AppState,
    app: &str,
    done: &crate::model::Completed,
) -> AppResult<CompleteResponse> {
    let record = state.files().get(app, done.record_id).await?;
    let file_url = record
        .and_then(|r| r.path)
        .map(|p| state.public_url(app, &p))
        .unwrap_or_default();
    Ok(CompleteResponse {
        file_url,
        size: done.size,
        etag: done.etag.clone(),
        checksum: done.checksum.clone(),
    })
}

/// `POST /v1/files/multipart/complete`.
async fn complete(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<CompleteResponse>> {
    let app = api_app(&state, &headers)?;
    let req: CompleteRequest = typed(&headers, body).await?;
    let (done, _) = state
        .files()
        .complete_upload(&app, &req.upload_id, Some(&req.parts), part_limits(&state))
        .await?;
    Ok(Json(complete_response(&state, &app, &done).await?))
}

/// `POST /v1/files/multipart/abort`: forgets the upload and its parts; twice is fine.
async fn abort(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<Value>> {
    let app = api_app(&state, &headers)?;
    let req: AbortRequest = typed(&headers, body).await?;
    state.files().abort_upload(&app, &req.upload_id).await?;
    Ok(Json(
        serde_json::json!({ "uploadId": req.upload_id, "aborted": true }),
    ))
}
