//! The `/v1` API (bkend storage shape): presigned single uploads and downloads, the multipart
//! control plane, and file metadata records (`/v1/files`). Apps are named by the `X-API-Key`
//! header; the bytes go to signed URLs under `/v1/signed/…`, whose handlers are in
//! [`super::signed`].

mod metadata;

/// This shape's part of `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    presign_upload,
    presign_download,
    init,
    presign_parts,
    complete,
    abort,
    status,
    metadata::register,
    metadata::list,
    metadata::one,
    metadata::patch,
    metadata::remove,
))]
pub(super) struct Api;

pub(super) use metadata::list_query;

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

use super::backendless::stored_type;
use super::body;
use super::schemas::BkendError;
use super::table::{route, Routes};
use crate::error::{AppError, AppResult};
use crate::files::{NewUpload, PartLimits};
use crate::model::{Principal, Upload};
use crate::presign::expires_in;
use crate::state::AppState;

/// The routes of this shape.
pub(super) fn routes() -> Routes {
    let routes = Routes::new();
    let routes = route!(routes, "/v1/files/presigned-url", post(presign_upload));
    let routes = route!(routes, "/v1/files/download-url", post(presign_download));
    let routes = route!(routes, "/v1/files/multipart/init", post(init));
    let routes = route!(
        routes,
        "/v1/files/multipart/presigned-url",
        post(presign_parts)
    );
    let routes = route!(routes, "/v1/files/multipart/complete", post(complete));
    let routes = route!(routes, "/v1/files/multipart/abort", post(abort));
    let routes = route!(routes, "/v1/files/multipart/{upload_id}", get(status));
    routes.merge(metadata::routes())
}

/// The principal of a `/v1` request: the app named by `X-API-Key`, and who the
/// `Authorization: Bearer` token names (the anonymous user without one).
pub(super) async fn api_principal(state: &AppState, headers: &HeaderMap) -> AppResult<Principal> {
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let app = state.app_for_key(key)?;
    super::principal::resolve(state, &app, headers, false).await
}

/// A JSON body of type `T`, with `MissingField` and `MalformedJson` told apart.
pub(super) async fn typed<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> AppResult<T> {
    let map = body::json_object(headers, body).await?;
    serde_json::from_value(Value::Object(map.clone())).map_err(|e| {
        let text = e.to_string();
        // A required field sent as `null`: the error names no field, so find the null one
        // whose absence would be "missing field".
        if text.starts_with("invalid type: null") {
            for (key, _) in map.iter().filter(|(_, v)| v.is_null()) {
                let mut without = map.clone();
                without.remove(key);
                let missing = serde_json::from_value::<T>(Value::Object(without))
                    .err()
                    .is_some_and(|e| e.to_string() == format!("missing field `{key}`"));
                if missing {
                    return ApiError::parameter_null(key).into();
                }
            }
        }
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
#[utoipa::path(
    post,
    path = "/v1/files/presigned-url",
    tag = "bkend",
    security(("x_api_key" = []), ("x_api_key" = [], "bearer" = [])),
    request_body(content = PresignUploadRequest, example = json!({"path": "/docs", "name": "hello.txt", "size": 5})),
    responses(
        (status = 200, description = "The URL to `PUT` the body to, with the headers to send", body = PresignedRequest),
        (status = 401, description = "`3003` WrongApp (`X-API-Key`), `3064` TokenExpired, `6021` AuthenticationRequired", body = BkendError),
        (status = 400, description = "`8001` ParameterNull, `8002` MissingField, `8004` MalformedJson, `8007` InvalidParameter (expiresIn), `6006` ProhibitedPath, `6008` SegmentTooLong, `6009` PathTooLong, `6010` ReservedPath", body = BkendError),
        (status = 403, description = "`4000` NoPermission", body = BkendError),
        (status = 409, description = "`6003` AlreadyExists, `6012` NotADirectory", body = BkendError),
        (status = 413, description = "`8005` BodyTooLarge: `size` over `--max-upload-bytes`", body = BkendError),
        (status = 415, description = "`8003` WrongContentType", body = BkendError),
    ),
)]
async fn presign_upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<PresignedRequest>> {
    let who = api_principal(&state, &headers).await?;
    let app = who.app.clone();
    let req: PresignUploadRequest = typed(&headers, body).await?;
    let path = upload_path(&state, &req.path, &req.name, req.size)?;
    state.files().check_put(&who, &path, req.overwrite).await?;
    let mime = stored_type(req.mime_type.as_deref(), path.name());
    let valid_for = expires_in(req.expires_in)?;
    let expires = now_secs() + valid_for;
    if state.files().direct_to_store() {
        // Straight to the object store; `POST /v1/files` (register) then commits the file.
        let ttl_ms =
            i64::try_from(state.upload_ttl_secs().saturating_mul(1000)).unwrap_or(i64::MAX);
        let new = NewUpload {
            content_type: mime.clone(),
            path: Some(path),
            record_id: None,
            size: Some(req.size),
            part_size: req.size,
            part_count: 1,
            overwrite: req.overwrite,
            checksum: stowage_protocol::multipart::ChecksumAlgorithm::Crc32c,
            ttl_ms,
            direct: crate::files::Straight::Whole,
        };
        let url = state
            .files()
            .begin_direct_put(&who, new, std::time::Duration::from_secs(valid_for))
            .await?
            .ok_or_else(ApiError::internal)?;
        let mut headers = std::collections::BTreeMap::new();
        headers.insert("Content-Type".into(), mime);
        return Ok(Json(PresignedRequest {
            url,
            method: "PUT".to_owned(),
            headers,
            expires_at: i64::try_from(expires.saturating_mul(1000)).unwrap_or(i64::MAX),
        }));
    }
    let signed_path = format!("/v1/signed/put/{app}/{}", path.to_encoded());
    let overwrite = if req.overwrite { "1" } else { "0" };
    let query = state.signer().sign(
        "PUT",
        &signed_path,
        expires,
        req.size,
        &[
            ("overwrite", overwrite.to_owned()),
            ("type", mime.clone()),
            ("by", who.tag()),
        ],
    );
    let mut request = signed_request(&state, "PUT", &signed_path, &query, expires);
    request.headers.insert("Content-Type".into(), mime);
    Ok(Json(request))
}

/// `POST /v1/files/download-url`: a signed GET URL for an existing file.
#[utoipa::path(
    post,
    path = "/v1/files/download-url",
    tag = "bkend",
    security(("x_api_key" = []), ("x_api_key" = [], "bearer" = [])),
    request_body(content = DownloadUrlRequest, example = json!({"path": "/docs/readme.txt"})),
    responses(
        (status = 200, description = "The URL to `GET` the file from", body = PresignedRequest),
        (status = 401, description = "`3003` WrongApp (`X-API-Key`), `3064` TokenExpired, `6021` AuthenticationRequired", body = BkendError),
        (status = 400, description = "`8001` ParameterNull, `8002` MissingField, `8004` MalformedJson, `8007` InvalidParameter (expiresIn), `6006` ProhibitedPath, `6008` SegmentTooLong, `6009` PathTooLong", body = BkendError),
        (status = 403, description = "`4000` NoPermission", body = BkendError),
        (status = 404, description = "`6000` NotFound", body = BkendError),
        (status = 413, description = "`8005` BodyTooLarge", body = BkendError),
        (status = 415, description = "`8003` WrongContentType", body = BkendError),
    ),
)]
async fn presign_download(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<PresignedRequest>> {
    let who = api_principal(&state, &headers).await?;
    let app = who.app.clone();
    let req: DownloadUrlRequest = typed(&headers, body).await?;
    let path = FilePath::parse(&req.path)?;
    let record = match state.files().stat(&who, &path).await? {
        Some(e) if !e.is_dir => e,
        _ => return Err(ApiError::not_found().into()),
    };
    let valid_for = expires_in(req.expires_in)?;
    let expires = now_secs() + valid_for;
    let content_type = stored_type(record.fields.mime_type.as_deref(), path.name());
    if let Some(url) = state
        .files()
        .direct_download_url(
            &record,
            &content_type,
            std::time::Duration::from_secs(valid_for),
        )
        .await?
    {
        // Straight from the object store. Unlike Stowage's own link it cannot be revoked by
        // a change of access: it lives only `expiresIn` seconds.
        return Ok(Json(PresignedRequest {
            url,
            method: "GET".to_owned(),
            headers: std::collections::BTreeMap::new(),
            expires_at: i64::try_from(expires.saturating_mul(1000)).unwrap_or(i64::MAX),
        }));
    }
    let signed_path = format!("/v1/signed/get/{app}/{}", path.to_encoded());
    let query = state
        .signer()
        .sign("GET", &signed_path, expires, 0, &bound_to(&who, &record));
    Ok(Json(signed_request(
        &state,
        "GET",
        &signed_path,
        &query,
        expires,
    )))
}

/// The parameters that bind a download URL to its signer, its file and the file's access
/// epoch: a change of visibility, sharing or rules, or a new file at the path, kills it.
pub(super) fn bound_to(
    who: &Principal,
    record: &crate::model::FileRecord,
) -> Vec<(&'static str, String)> {
    vec![
        ("by", who.tag()),
        ("rec", record.id.to_string()),
        ("ep", record.access.epoch.to_string()),
    ]
}

fn invalid_part_size(text: String) -> AppError {
    AppError::api(ErrorCode::InvalidPartSize, text)
}

/// `POST /v1/files/multipart/init`.
#[utoipa::path(
    post,
    path = "/v1/files/multipart/init",
    tag = "bkend",
    security(("x_api_key" = []), ("x_api_key" = [], "bearer" = [])),
    request_body(content = InitRequest, example = json!({"path": "/videos", "name": "big.mp4", "size": 12582912})),
    responses(
        (status = 200, description = "The upload's id and its part plan", body = InitResponse),
        (status = 401, description = "`3003` WrongApp (`X-API-Key`), `3064` TokenExpired, `6021` AuthenticationRequired", body = BkendError),
        (status = 400, description = "`8001` ParameterNull, `8002` MissingField, `8004` MalformedJson, `7008` InvalidPartSize, `6006` ProhibitedPath, `6008` SegmentTooLong, `6009` PathTooLong, `6010` ReservedPath", body = BkendError),
        (status = 403, description = "`4000` NoPermission", body = BkendError),
        (status = 409, description = "`6003` AlreadyExists, `6012` NotADirectory", body = BkendError),
        (status = 413, description = "`8005` BodyTooLarge: `size` over `--max-upload-bytes`", body = BkendError),
        (status = 415, description = "`8003` WrongContentType", body = BkendError),
    ),
)]
async fn init(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<InitResponse>> {
    let who = api_principal(&state, &headers).await?;
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
    let ttl_ms = i64::try_from(state.upload_ttl_secs().saturating_mul(1000)).unwrap_or(i64::MAX);
    let upload = state
        .files()
        .init_upload(
            &who,
            NewUpload {
                content_type: stored_type(req.mime_type.as_deref(), path.name()),
                path: Some(path),
                record_id: None,
                size: Some(req.size),
                part_size,
                part_count: count,
                overwrite: req.overwrite,
                checksum: req.checksum,
                ttl_ms,
                direct: crate::files::Straight::Parts,
            },
        )
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
#[utoipa::path(
    post,
    path = "/v1/files/multipart/presigned-url",
    tag = "bkend",
    security(("x_api_key" = []), ("x_api_key" = [], "bearer" = [])),
    request_body(content = PresignPartsRequest, example = json!({"uploadId": "UPLOAD_ID", "partNumbers": [1, 2]})),
    responses(
        (status = 200, description = "One signed `PUT` per part asked for", body = PresignPartsResponse),
        (status = 401, description = "`3003` WrongApp (`X-API-Key`), `3064` TokenExpired, `6021` AuthenticationRequired", body = BkendError),
        (status = 400, description = "`8001` ParameterNull, `8002` MissingField, `8004` MalformedJson, `7008` InvalidPartSize (a part number outside the plan)", body = BkendError),
        (status = 403, description = "`4000` NoPermission", body = BkendError),
        (status = 404, description = "`7004` UploadNotFound", body = BkendError),
        (status = 413, description = "`8005` BodyTooLarge", body = BkendError),
        (status = 415, description = "`8003` WrongContentType", body = BkendError),
    ),
)]
async fn presign_parts(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<PresignPartsResponse>> {
    let who = api_principal(&state, &headers).await?;
    let req: PresignPartsRequest = typed(&headers, body).await?;
    let upload = open_upload(state.files().get_upload(&who, &req.upload_id).await?)?;
    let count = upload.part_count;
    let (size, part_size) = (upload.size.unwrap_or(0), upload.part_size);
    if req.part_numbers.len() > 10_000 {
        return Err(invalid_part_size(format!(
            "At most {MAX_PARTS} parts per request"
        )));
    }
    let valid_for = expires_in(None)?;
    let expires = now_secs() + valid_for;
    let mut parts = Vec::with_capacity(req.part_numbers.len());
    for &n in &req.part_numbers {
        if !(1..=count).contains(&n) {
            return Err(invalid_part_size(format!(
                "Part number {n} is outside 1–{count}"
            )));
        }
        let length = part_len(size, part_size, n);
        let in_store = state
            .files()
            .direct_part_url(
                &upload,
                n,
                length,
                std::time::Duration::from_secs(valid_for),
            )
            .await?;
        let request = match in_store {
            // Straight to the object store: its own presigned UploadPart URL.
            Some(url) => PresignedRequest {
                url,
                method: "PUT".to_owned(),
                headers: std::collections::BTreeMap::new(),
                expires_at: i64::try_from(expires.saturating_mul(1000)).unwrap_or(i64::MAX),
            },
            None => {
                let path = format!("/v1/signed/parts/{}/{n}", upload.id);
                let query = state.signer().sign("PUT", &path, expires, length, &[]);
                signed_request(&state, "PUT", &path, &query, expires)
            }
        };
        parts.push(PresignedPart {
            part_number: n,
            request,
        });
    }
    Ok(Json(PresignPartsResponse { parts }))
}

/// `GET /v1/files/multipart/{uploadId}`: the upload and the parts the server holds.
#[utoipa::path(
    get,
    path = "/v1/files/multipart/{upload_id}",
    tag = "bkend",
    params(("upload_id" = String, Path, description = "The upload's id from `init`.")),
    security(("x_api_key" = []), ("x_api_key" = [], "bearer" = [])),
    responses(
        (status = 200, description = "The plan, the parts held, and the result once completed", body = UploadStatus),
        (status = 401, description = "`3003` WrongApp (`X-API-Key`), `3064` TokenExpired, `6021` AuthenticationRequired", body = BkendError),
        (status = 403, description = "`4000` NoPermission", body = BkendError),
        (status = 404, description = "`7004` UploadNotFound", body = BkendError),
    ),
)]
async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Json<UploadStatus>> {
    let who = api_principal(&state, &headers).await?;
    let upload = state.files().get_upload(&who, &id).await?;
    let parts = match state.files().direct_parts(&upload).await? {
        Some(in_store) => in_store,
        None => state.files().upload_parts(&id).await?,
    };
    let completed = match &upload.result {
        Some(done) => Some(complete_response(&state, &who, done).await?),
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
    who: &Principal,
    done: &crate::model::Completed,
) -> AppResult<CompleteResponse> {
    let record = state.files().get(who, done.record_id).await?;
    let file_url = record
        .and_then(|r| r.path)
        .map(|p| state.public_url(&who.app, &p))
        .unwrap_or_default();
    Ok(CompleteResponse {
        file_url,
        size: done.size,
        etag: done.etag.clone(),
        checksum: done.checksum.clone(),
    })
}

/// `POST /v1/files/multipart/complete`.
#[utoipa::path(
    post,
    path = "/v1/files/multipart/complete",
    tag = "bkend",
    security(("x_api_key" = []), ("x_api_key" = [], "bearer" = [])),
    request_body(content = CompleteRequest, example = json!({"uploadId": "UPLOAD_ID", "parts": [{"partNumber": 1, "etag": "ETAG"}]})),
    responses(
        (status = 200, description = "The file, now visible (again for a repeated `complete`)", body = CompleteResponse),
        (status = 401, description = "`3003` WrongApp (`X-API-Key`), `3064` TokenExpired, `6021` AuthenticationRequired", body = BkendError),
        (status = 400, description = "`8001` ParameterNull, `8002` MissingField, `8004` MalformedJson, `7005` PartMissing, `7006` PartEtagMismatch, `7007` SizeMismatch, `7008` InvalidPartSize", body = BkendError),
        (status = 403, description = "`4000` NoPermission", body = BkendError),
        (status = 404, description = "`7004` UploadNotFound", body = BkendError),
        (status = 409, description = "`6003` AlreadyExists, `6012` NotADirectory", body = BkendError),
        (status = 507, description = "`5001` InsufficientStorage", body = BkendError),
        (status = 413, description = "`8005` BodyTooLarge", body = BkendError),
        (status = 415, description = "`8003` WrongContentType", body = BkendError),
    ),
)]
async fn complete(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<CompleteResponse>> {
    let who = api_principal(&state, &headers).await?;
    let req: CompleteRequest = typed(&headers, body).await?;
    let (done, _) = state
        .files()
        .complete_upload(&who, &req.upload_id, Some(&req.parts), part_limits(&state))
        .await?;
    Ok(Json(complete_response(&state, &who, &done).await?))
}

/// `POST /v1/files/multipart/abort`: forgets the upload and its parts; twice is fine.
#[utoipa::path(
    post,
    path = "/v1/files/multipart/abort",
    tag = "bkend",
    security(("x_api_key" = []), ("x_api_key" = [], "bearer" = [])),
    request_body(content = AbortRequest, example = json!({"uploadId": "UPLOAD_ID"})),
    responses(
        (status = 200, description = "The upload is gone", body = crate::routes::schemas::Aborted),
        (status = 401, description = "`3003` WrongApp (`X-API-Key`), `3064` TokenExpired, `6021` AuthenticationRequired", body = BkendError),
        (status = 400, description = "`8001` ParameterNull, `8002` MissingField, `8004` MalformedJson", body = BkendError),
        (status = 403, description = "`4000` NoPermission", body = BkendError),
        (status = 413, description = "`8005` BodyTooLarge", body = BkendError),
        (status = 415, description = "`8003` WrongContentType", body = BkendError),
    ),
)]
async fn abort(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<Value>> {
    let who = api_principal(&state, &headers).await?;
    let req: AbortRequest = typed(&headers, body).await?;
    state.files().abort_upload(&who, &req.upload_id).await?;
    Ok(Json(
        serde_json::json!({ "uploadId": req.upload_id, "aborted": true }),
    ))
}

/// bkend's error code for one of ours.
fn bkend_code(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::NotFound | ErrorCode::UploadNotFound | ErrorCode::NotUploaded => {
            "file/not-found"
        }
        ErrorCode::NoPermission | ErrorCode::BlockedEntry => "file/access-denied",
        ErrorCode::AuthenticationRequired | ErrorCode::TokenExpired | ErrorCode::WrongApp => {
            "common/authentication-required"
        }
        ErrorCode::AlreadyExists | ErrorCode::ExistsInTarget => "file/already-exists",
        ErrorCode::BodyTooLarge => "file/too-large",
        ErrorCode::TooManyAttempts | ErrorCode::SlowDown => "common/rate-limited",
        ErrorCode::Unavailable => "common/service-unavailable",
        c if c.status() >= 500 => "common/internal-error",
        _ => "common/validation-error",
    }
}

/// On the `/v1/files` routes an error also carries bkend's code (`error.code`, e.g.
/// `file/access-denied`), and a refusal of a request without a bearer token is bkend's
/// `401 common/authentication-required`.
pub(super) async fn envelope(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let ours = req.uri().path().starts_with("/v1/files");
    let anonymous = !req
        .headers()
        .contains_key(axum::http::header::AUTHORIZATION);
    let response = next.run(req).await;
    if !ours || !(response.status().is_client_error() || response.status().is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return crate::error::api_response(&ApiError::internal());
    };
    let parsed = serde_json::from_slice::<stowage_protocol::ErrorBody>(&bytes)
        .ok()
        .and_then(|b| ErrorCode::from_code(b.code).map(|c| (c, b.message)));
    let Some((mut code, mut message)) = parsed else {
        return axum::response::Response::from_parts(parts, Body::from(bytes));
    };
    if anonymous && code == ErrorCode::NoPermission {
        code = ErrorCode::AuthenticationRequired;
        message = "Authentication required: send Authorization: Bearer {accessToken}".into();
    }
    let body = serde_json::json!({
        "code": code.code(),
        "message": message,
        "error": { "code": bkend_code(code), "message": message },
    });
    let mut out = crate::error::api_response(&ApiError::new(code, message));
    *out.body_mut() = Body::from(body.to_string());
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_LENGTH && !out.headers().contains_key(name) {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out.headers_mut().remove(axum::http::header::CONTENT_LENGTH);
    out
}
