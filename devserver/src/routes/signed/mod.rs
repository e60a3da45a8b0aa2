//! The data plane behind presigned URLs: `PUT /v1/signed/put/{app}/{path}` (single upload),
//! `GET /v1/signed/get/{app}/{path}` (download), `PUT`/`GET /v1/signed/record/{app}/{id}`
//! (a record's content, by id) and `PUT /v1/signed/parts/{uploadId}/{n}` (one part). Every
//! request is checked against its signature first. Also the test hooks.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use stowage_protocol::multipart::{PartInfo, CRC32C_HEADER, SHA256_HEADER};
use stowage_protocol::{ApiError, ErrorBody, ErrorCode, FilePath, UploadResponse};

use super::backendless::stored_type;
use super::serve::serve;
use super::table::{route, Routes};
use crate::error::{api_response, AppError, AppResult};
use crate::faults::{apply_delays, Fault, Rule};
use crate::files::ByteStream;
use crate::files::{Claimed, PutOptions};
use crate::model::{FileRecord, Principal};
use crate::presign::Signed;
use crate::state::AppState;

/// This shape's part of `/openapi.json`, the test hooks included.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    put_file, get_file, put_record, get_record, put_part, set_faults, stats
))]
pub(super) struct Api;

/// The routes of the data plane and the test hooks.
pub(super) fn routes() -> Routes {
    let routes = route!(Routes::new(), "/v1/signed/put/{*rest}", put(put_file));
    let routes = route!(
        routes,
        "/v1/signed/get/{*rest}",
        get(get_file).head(get_file)
    );
    let routes = route!(
        routes,
        "/v1/signed/record/{app}/{id}",
        put(put_record).get(get_record).head(get_record)
    );
    let routes = route!(routes, "/v1/signed/parts/{upload_id}/{part}", put(put_part));
    let routes = route!(routes, "/v1/test/faults", post(set_faults));
    route!(routes, "/v1/test/stats", get(stats))
}

fn now_secs() -> u64 {
    u64::try_from(crate::model::now_ms() / 1000).unwrap_or(0)
}

/// Verifies the signature of `req` (HEAD is checked as GET).
fn verify(state: &AppState, req: &Request) -> AppResult<Signed> {
    let method = if req.method() == Method::HEAD {
        "GET"
    } else {
        req.method().as_str()
    };
    state.signer().verify(
        method,
        req.uri().path(),
        req.uri().query().unwrap_or(""),
        now_secs(),
    )
}

fn size_mismatch(what: &str, expected: u64, actual: u64) -> AppError {
    AppError::api(
        ErrorCode::SizeMismatch,
        format!("{what} must be {expected} bytes, got {actual}"),
    )
}

/// The body, which must be at most `length` bytes: a declared other length is refused before
/// reading, and a stream that runs over fails. (The service refuses one that ends short.)
fn exact_body(
    headers: &HeaderMap,
    body: Body,
    length: u64,
    what: String,
) -> AppResult<ByteStream<'static>> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n != length) {
        return Err(size_mismatch(&what, length, n));
    }
    let mut seen = 0u64;
    let chunks = body
        .into_data_stream()
        .map_err(|_| AppError::api(ErrorCode::IncompleteBody, "The request body ended early"));
    let checked = chunks.map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len() as u64;
        if seen > length {
            return Err(size_mismatch(&what, length, seen));
        }
        Ok(chunk)
    });
    Ok(Box::pin(checked))
}

impl Signed {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The principal a signed URL acts as: the one that signed it, decided again now.
async fn signer_of(state: &AppState, app: &str, signed: &Signed) -> AppResult<Principal> {
    let tag = signed.param("by").ok_or_else(revoked)?;
    state.files().principal_for_tag(app, tag).await
}

fn revoked() -> AppError {
    AppError::api(
        ErrorCode::NoPermission,
        "The signed URL no longer works: the file or who may see it changed since it was signed",
    )
}

/// A download URL works only for the record it was signed for, at the access epoch it had.
fn check_binding(signed: &Signed, record: &FileRecord) -> AppResult<()> {
    let same = signed.param("rec") == Some(record.id.to_string().as_str())
        && signed.param("ep") == Some(record.access.epoch.to_string().as_str());
    if same {
        Ok(())
    } else {
        Err(revoked())
    }
}

/// Splits `/v1/signed/{kind}/{app}/{path}` into app and path.
fn app_and_path(req: &Request, kind: &str) -> AppResult<(String, FilePath)> {
    let rest = req
        .uri()
        .path()
        .strip_prefix(&format!("/v1/signed/{kind}/"))
        .unwrap_or("");
    let (app, path) = rest.split_once('/').ok_or_else(ApiError::not_found)?;
    Ok((app.to_owned(), FilePath::parse_encoded(path)?))
}

/// `PUT /v1/signed/put/{app}/{path}`: stores the body like a normal upload.
#[utoipa::path(
    put,
    path = "/v1/signed/put/{rest}",
    tag = "signed",
    params(
        ("rest" = String, Path, description = "`{app}/{path}`, the path percent-encoded per segment (axum's `{*rest}`: slashes included)."),
        ("expires" = u64, Query, description = "When the URL stops working, seconds since the epoch."),
        ("length" = u64, Query, description = "The body's exact length (0: any length)."),
        ("sig" = String, Query, description = "The signature over the method, path, expiry, length and the other parameters."),
        ("overwrite" = Option<String>, Query, description = "Bound by the signature: `1` replaces an existing file."),
        ("type" = Option<String>, Query, description = "Bound by the signature: the MIME type to store."),
        ("by" = String, Query, description = "Bound by the signature: who signed."),
    ),
    security(("signature" = [])),
    request_body(description = "The file's bytes: exactly `length` of them", content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "The stored file's URL", body = UploadResponse),
        (status = 400, description = "`7007` SizeMismatch, `8011` IncompleteBody, `6006` ProhibitedPath, `6008` SegmentTooLong, `6009` PathTooLong", body = ErrorBody),
        (status = 403, description = "`7002` UrlExpired, `7003` BadSignature, `4000` NoPermission (the file or its access changed since signing)", body = ErrorBody),
        (status = 404, description = "`6000` NotFound", body = ErrorBody),
        (status = 409, description = "`6003` AlreadyExists, `6012` NotADirectory", body = ErrorBody),
        (status = 507, description = "`5001` InsufficientStorage", body = ErrorBody),
    ),
)]
async fn put_file(State(state): State<AppState>, req: Request) -> AppResult<Response> {
    let signed = verify(&state, &req)?;
    let (app, path) = app_and_path(&req, "put")?;
    let who = signer_of(&state, &app, &signed).await?;
    let param = |name: &str| {
        signed
            .params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let overwrite = param("overwrite").as_deref() == Some("1");
    let mime = param("type").unwrap_or_else(|| stored_type(None, path.name()));
    let (parts, body) = req.into_parts();
    let bytes = exact_body(&parts.headers, body, signed.length, "The body".into())?;
    let options = PutOptions {
        mime_type: mime,
        overwrite,
        expected_len: Some(signed.length),
    };
    state.files().put_path(&who, &path, bytes, options).await?;
    Ok(Json(UploadResponse {
        file_url: state.public_url(&app, &path),
    })
    .into_response())
}

/// `GET`/`HEAD /v1/signed/get/{app}/{path}`: the file, like the public URL serves it.
#[utoipa::path(
    method(get, head),
    path = "/v1/signed/get/{rest}",
    tag = "signed",
    params(
        ("rest" = String, Path, description = "`{app}/{path}`, the path percent-encoded per segment (axum's `{*rest}`: slashes included)."),
        ("expires" = u64, Query, description = "When the URL stops working, seconds since the epoch."),
        ("length" = u64, Query, description = "The body's exact length (0: any length)."),
        ("sig" = String, Query, description = "The signature over the method, path, expiry, length and the other parameters."),
        ("by" = String, Query, description = "Bound by the signature: who signed."),
        ("rec" = String, Query, description = "Bound by the signature: the record."),
        ("ep" = String, Query, description = "Bound by the signature: the record's access epoch."),
        ("Range" = Option<String>, Header, description = "One byte range."),
    ),
    security(("signature" = [])),
    responses(
        (status = 200, description = "The file's bytes", content_type = "application/octet-stream"),
        (status = 206, description = "The byte range asked for", content_type = "application/octet-stream"),
        (status = 304, description = "Not modified"),
        (status = 403, description = "`7002` UrlExpired, `7003` BadSignature, `4000` NoPermission (the file or its access changed since signing)", body = ErrorBody),
        (status = 404, description = "`6000` NotFound, `6019` NotUploaded", body = ErrorBody),
        (status = 412, description = "`6015` PreconditionFailed", body = ErrorBody),
        (status = 416, description = "`6014` RangeNotSatisfiable", body = ErrorBody),
    ),
)]
async fn get_file(State(state): State<AppState>, req: Request) -> AppResult<Response> {
    let signed = verify(&state, &req)?;
    let (app, path) = app_and_path(&req, "get")?;
    let who = signer_of(&state, &app, &signed).await?;
    match state.files().stat(&who, &path).await {
        Ok(Some(r)) if !r.is_dir => {
            check_binding(&signed, &r)?;
            serve(state.files(), &who, r, req.method(), req.headers()).await
        }
        Ok(None) => Err(ApiError::not_found().into()),
        // Another took its path: the URL is dead.
        Ok(Some(_)) => Err(revoked()),
        Err(e) => Err(e),
    }
}

/// Splits `/v1/signed/record/{app}/{id}`.
fn app_and_id(req: &Request) -> AppResult<(String, i64)> {
    let rest = req
        .uri()
        .path()
        .strip_prefix("/v1/signed/record/")
        .unwrap_or("");
    let (app, id) = rest.split_once('/').ok_or_else(ApiError::not_found)?;
    let id = id.parse().map_err(|_| ApiError::not_found())?;
    Ok((app.to_owned(), id))
}

/// `PUT /v1/signed/record/{app}/{id}`: the record's content (a Cognite `uploadUrl`). Its
/// content type, when given, becomes the record's MIME type; the old content stays until the
/// new bytes are stored.
#[utoipa::path(
    put,
    path = "/v1/signed/record/{app}/{id}",
    tag = "signed",
    params(
        ("app" = String, Path, description = "The app id."),
        ("id" = i64, Path, description = "The record's id."),
        ("expires" = u64, Query, description = "When the URL stops working, seconds since the epoch."),
        ("length" = u64, Query, description = "The body's exact length (0: any length)."),
        ("sig" = String, Query, description = "The signature over the method, path, expiry, length and the other parameters."),
        ("by" = String, Query, description = "Bound by the signature: who signed."),
        ("rec" = String, Query, description = "Bound by the signature: the record."),
        ("ep" = String, Query, description = "Bound by the signature: the record's access epoch."),
    ),
    security(("signature" = [])),
    request_body(description = "The content; its `Content-Type` becomes the record's MIME type", content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "Stored"),
        (status = 400, description = "`7007` SizeMismatch, `8011` IncompleteBody", body = ErrorBody),
        (status = 403, description = "`7002` UrlExpired, `7003` BadSignature, `4000` NoPermission (the file or its access changed since signing)", body = ErrorBody),
        (status = 413, description = "`8005` BodyTooLarge", body = ErrorBody),
        (status = 507, description = "`5001` InsufficientStorage", body = ErrorBody),
    ),
)]
async fn put_record(State(state): State<AppState>, req: Request) -> AppResult<Response> {
    let signed = verify(&state, &req)?;
    let (app, id) = app_and_id(&req)?;
    let who = signer_of(&state, &app, &signed).await?;
    match state.files().get(&who, id).await? {
        Some(r) if !r.is_dir => check_binding(&signed, &r)?,
        _ => return Err(revoked()),
    }
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.trim().is_empty() && t.parse::<mime_guess::Mime>().is_ok())
        // What HTTP clients send when they know nothing (the Cognite SDK does so).
        .filter(|t| !t.starts_with("application/octet-stream"))
        .map(str::to_owned);
    let limit = state.max_upload_bytes();
    super::body::check_length(&parts.headers, limit)?;
    let bytes = Box::pin(super::body::limited(
        body.into_data_stream()
            .map_err(|_| AppError::api(ErrorCode::IncompleteBody, "The request body ended early")),
        limit,
    ));
    let options = PutOptions {
        mime_type: declared.unwrap_or_default(),
        overwrite: true,
        expected_len: (signed.length > 0).then_some(signed.length),
    };
    state.files().put_content(&who, id, bytes, options).await?;
    Ok(StatusCode::OK.into_response())
}

/// `GET`/`HEAD /v1/signed/record/{app}/{id}`: the record's content (a Cognite download link).
#[utoipa::path(
    method(get, head),
    path = "/v1/signed/record/{app}/{id}",
    tag = "signed",
    params(
        ("app" = String, Path, description = "The app id."),
        ("id" = i64, Path, description = "The record's id."),
        ("expires" = u64, Query, description = "When the URL stops working, seconds since the epoch."),
        ("length" = u64, Query, description = "The body's exact length (0: any length)."),
        ("sig" = String, Query, description = "The signature over the method, path, expiry, length and the other parameters."),
        ("by" = String, Query, description = "Bound by the signature: who signed."),
        ("rec" = String, Query, description = "Bound by the signature: the record."),
        ("ep" = String, Query, description = "Bound by the signature: the record's access epoch."),
        ("Range" = Option<String>, Header, description = "One byte range."),
    ),
    security(("signature" = [])),
    responses(
        (status = 200, description = "The file's bytes", content_type = "application/octet-stream"),
        (status = 206, description = "The byte range asked for", content_type = "application/octet-stream"),
        (status = 304, description = "Not modified"),
        (status = 403, description = "`7002` UrlExpired, `7003` BadSignature, `4000` NoPermission (the file or its access changed since signing)", body = ErrorBody),
        (status = 404, description = "`6000` NotFound, `6019` NotUploaded", body = ErrorBody),
        (status = 412, description = "`6015` PreconditionFailed", body = ErrorBody),
        (status = 416, description = "`6014` RangeNotSatisfiable", body = ErrorBody),
    ),
)]
async fn get_record(State(state): State<AppState>, req: Request) -> AppResult<Response> {
    let signed = verify(&state, &req)?;
    let (app, id) = app_and_id(&req)?;
    let who = signer_of(&state, &app, &signed).await?;
    match state.files().get(&who, id).await? {
        Some(r) if !r.is_dir => {
            check_binding(&signed, &r)?;
            serve(state.files(), &who, r, req.method(), req.headers()).await
        }
        _ => Err(ApiError::not_found().into()),
    }
}

fn claimed(headers: &HeaderMap) -> AppResult<Claimed> {
    let bad = |name: &str| {
        AppError::api(
            ErrorCode::InvalidParameter,
            format!("Invalid value for parameter {name}"),
        )
    };
    let decode = |name: &str| -> AppResult<Option<Vec<u8>>> {
        match headers.get(name) {
            None => Ok(None),
            Some(v) => v
                .to_str()
                .ok()
                .and_then(|t| BASE64.decode(t.trim()).ok())
                .map(Some)
                .ok_or_else(|| bad(name)),
        }
    };
    let crc32c = decode(CRC32C_HEADER)?
        .map(|b| {
            <[u8; 4]>::try_from(b.as_slice())
                .map(u32::from_be_bytes)
                .map_err(|_| bad(CRC32C_HEADER))
        })
        .transpose()?;
    let sha256 = decode(SHA256_HEADER)?
        .map(|b| <[u8; 32]>::try_from(b.as_slice()).map_err(|_| bad(SHA256_HEADER)))
        .transpose()?;
    Ok(Claimed { crc32c, sha256 })
}

/// `PUT /v1/signed/parts/{uploadId}/{n}`: stages one part; answers its ETag.
#[utoipa::path(
    put,
    path = "/v1/signed/parts/{upload_id}/{part}",
    tag = "signed",
    params(
        ("upload_id" = String, Path, description = "The upload's id."),
        ("part" = u64, Path, description = "The part number, 1-based."),
        ("expires" = u64, Query, description = "When the URL stops working, seconds since the epoch."),
        ("length" = u64, Query, description = "The body's exact length (0: any length)."),
        ("sig" = String, Query, description = "The signature over the method, path, expiry, length and the other parameters."),
        ("x-stowage-checksum-crc32c" = Option<String>, Header, description = "base64 of the part's big-endian CRC32C."),
        ("x-stowage-checksum-sha256" = Option<String>, Header, description = "base64 of the part's SHA-256."),
    ),
    security(("signature" = [])),
    request_body(description = "The part's bytes", content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "The part as stored; its ETag also in the `ETag` header", body = PartInfo, headers(("ETag" = String, description = "The part's ETag, for `complete`"))),
        (status = 400, description = "`7001` ChecksumMismatch, `7007` SizeMismatch, `7008` InvalidPartSize, `8007` InvalidParameter (a checksum header), `8011` IncompleteBody", body = ErrorBody),
        (status = 403, description = "`7002` UrlExpired, `7003` BadSignature, `4000` NoPermission (the file or its access changed since signing)", body = ErrorBody),
        (status = 404, description = "`7004` UploadNotFound, `6000` NotFound", body = ErrorBody),
        (status = 413, description = "`8005` BodyTooLarge", body = ErrorBody),
        (status = 507, description = "`5001` InsufficientStorage", body = ErrorBody),
    ),
)]
async fn put_part(State(state): State<AppState>, req: Request) -> AppResult<Response> {
    let signed = verify(&state, &req)?;
    let rest = req
        .uri()
        .path()
        .strip_prefix("/v1/signed/parts/")
        .unwrap_or("");
    let (id, n) = rest.split_once('/').ok_or_else(ApiError::not_found)?;
    let n: u64 = n.parse().map_err(|_| ApiError::not_found())?;
    let upload = state
        .files()
        .upload_by_id(id)
        .await?
        .ok_or_else(|| AppError::api(ErrorCode::UploadNotFound, "No such upload"))?;
    let (_in_flight, faults) = match state.faults() {
        Some(f) => {
            let (guard, faults) = f.part_started();
            (Some(guard), faults)
        }
        None => (None, Vec::new()),
    };
    apply_delays(&faults).await;
    let (parts, body) = req.into_parts();
    let body = match injected(&faults, body, signed.length).await {
        Ok(response) => return Ok(response),
        Err(body) => body,
    };
    let claimed = claimed(&parts.headers)?;
    // Cognite's parts (uploads to a record) are at most 4000 MiB; bkend's follow S3's 5 GiB.
    let limits = if upload.record_id.is_some() {
        super::cognite::part_limits(&state)
    } else {
        super::bkend::part_limits(&state)
    };
    // Parts of a plan with a known size have an exact length; the others any length up to the
    // largest part (the service checks the smallest at completion).
    let bytes = if upload.size.is_some() {
        exact_body(&parts.headers, body, signed.length, format!("Part {n}"))?
    } else {
        super::body::check_length(&parts.headers, limits.max)?;
        Box::pin(super::body::limited(
            body.into_data_stream().map_err(|_| {
                AppError::api(ErrorCode::IncompleteBody, "The request body ended early")
            }),
            limits.max,
        ))
    };
    let part = state
        .files()
        .put_part(&upload, n, bytes, claimed, limits)
        .await?;
    let info = PartInfo {
        part_number: n,
        size: part.size,
        etag: part.etag.clone(),
        checksum: part.checksum,
    };
    let mut response = Json(info).into_response();
    let hide = faults.contains(&Fault::HideEtag);
    if let (Ok(v), false) = (HeaderValue::from_str(&part.etag), hide) {
        response.headers_mut().insert(header::ETAG, v);
    }
    Ok(response)
}

/// The response a fault rule forces; the untouched body back when none does.
async fn injected(faults: &[Fault], body: Body, length: u64) -> Result<Response, Body> {
    for fault in faults {
        match fault {
            Fault::Fail => {
                return Ok(api_response(&ApiError::new(
                    ErrorCode::Internal,
                    "Injected fault",
                )))
            }
            Fault::SlowDown { retry_after } => {
                let mut r = api_response(&ApiError::new(ErrorCode::SlowDown, "Too many requests"));
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
                return Ok(r);
            }
            Fault::Drop => {
                // Read half the body, then answer with a body that fails: the connection is
                // cut mid-response and the client sees a network error.
                let mut stream = body.into_data_stream();
                let mut seen = 0u64;
                while seen < length / 2 {
                    match stream.next().await {
                        Some(Ok(c)) => seen += c.len() as u64,
                        _ => break,
                    }
                }
                let failing = futures_util::stream::once(async {
                    Err::<Bytes, _>(std::io::Error::other("injected fault: connection dropped"))
                });
                let mut r = Response::new(Body::from_stream(failing));
                *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                return Ok(r);
            }
            Fault::Delay { .. } | Fault::HideEtag => {}
        }
    }
    Err(body)
}

/// `POST /v1/test/faults` (test hooks only): replaces the fault rules and zeroes the counters.
#[utoipa::path(
    post,
    path = "/v1/test/faults",
    tag = "test-hooks",
    security(("admin_key" = [])),
    request_body(content = crate::routes::schemas::FaultsRequest, example = json!({"rules": [{"nth": 2, "kind": "fail"}]})),
    responses(
        (status = 200, description = "The counters, zeroed", body = crate::faults::Stats),
        (status = 400, description = "`8004` MalformedJson", body = ErrorBody),
        (status = 403, description = "`4000` NoPermission: not an admin key", body = ErrorBody),
        (status = 404, description = "`8009` UnknownRoute: the server runs without `--unsafe-test-hooks`", body = ErrorBody),
        (status = 415, description = "`8003` WrongContentType", body = ErrorBody),
    ),
)]
async fn set_faults(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Response> {
    let faults = state.faults().ok_or_else(unknown)?;
    admin_only(&state, &headers)?;
    let map = super::body::json_object(&headers, body).await?;
    let rules: Vec<Rule> = serde_json::from_value(map.get("rules").cloned().unwrap_or_default())
        .map_err(|e| {
            AppError::api(
                ErrorCode::MalformedJson,
                format!("Could not parse request body: {e}"),
            )
        })?;
    faults.reset(rules);
    Ok(Json(faults.stats()).into_response())
}

/// `GET /v1/test/stats` (test hooks only): part PUT counters.
#[utoipa::path(
    get,
    path = "/v1/test/stats",
    tag = "test-hooks",
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "The part PUT counters", body = crate::faults::Stats),
        (status = 403, description = "`4000` NoPermission: not an admin key", body = ErrorBody),
        (status = 404, description = "`8009` UnknownRoute: the server runs without `--unsafe-test-hooks`", body = ErrorBody),
    ),
)]
async fn stats(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    let faults = state.faults().ok_or_else(unknown)?;
    admin_only(&state, &headers)?;
    Ok(Json(faults.stats()).into_response())
}

/// The test hooks answer only an admin key (of any app), sent as `Authorization: Bearer`.
fn admin_only(state: &AppState, headers: &HeaderMap) -> AppResult<()> {
    let token = super::principal::bearer(headers).unwrap_or("");
    if state.is_any_admin_key(token) {
        Ok(())
    } else {
        Err(AppError::api(
            ErrorCode::NoPermission,
            "The test hooks need an admin key (Authorization: Bearer {adminKey})",
        ))
    }
}

fn unknown() -> AppError {
    AppError::api(ErrorCode::UnknownRoute, "No such route")
}
