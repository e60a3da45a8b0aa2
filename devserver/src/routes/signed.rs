//! The data plane behind presigned URLs: `PUT /v1/signed/put/{app}/{path}` (single upload),
//! `GET /v1/signed/get/{app}/{path}` (download) and `PUT /v1/signed/parts/{uploadId}/{n}`
//! (one part). Every request is checked against its signature first. Also the test hooks.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use stowage_protocol::multipart::{PartInfo, CRC32C_HEADER, SHA256_HEADER};
use stowage_protocol::{ApiError, ErrorCode, FilePath, UploadResponse};

use super::files::{serve, stored_type};
use crate::error::{api_response, AppError, AppResult};
use crate::faults::{apply_delays, Fault, Rule};
use crate::presign::Signed;
use crate::state::AppState;
use crate::store::Claimed;

fn now_secs() -> u64 {
    u64::try_from(crate::store::now_ms() / 1000).unwrap_or(0)
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

/// The body, which must be exactly `length` bytes: a declared other length is refused before
/// reading, and a stream that runs over or ends short fails.
fn exact_body(
    headers: &HeaderMap,
    body: Body,
    length: u64,
    what: String,
) -> AppResult<impl Stream<Item = Result<Bytes, AppError>> + Send> {
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
    Ok(checked)
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
pub(super) async fn put_file(State(state): State<AppState>, req: Request) -> AppResult<Response> {
    let signed = verify(&state, &req)?;
    let (app, path) = app_and_path(&req, "put")?;
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
    let entry = state
        .store()
        .put_file(&app, &path, bytes, &mime, overwrite)
        .await;
    let entry = match entry {
        Ok(e) => e,
        Err(e) => return Err(e),
    };
    let size = u64::try_from(entry.size).unwrap_or(0);
    if size != signed.length {
        // Ended short: the file must not stay. Remove it (it was created by this request).
        state.store().delete(&app, &path).await?;
        return Err(size_mismatch("The body", signed.length, size));
    }
    Ok(Json(UploadResponse {
        file_url: state.public_url(&app, &path),
    })
    .into_response())
}

/// `GET`/`HEAD /v1/signed/get/{app}/{path}`: the file, like the public URL serves it.
pub(super) async fn get_file(State(state): State<AppState>, req: Request) -> AppResult<Response> {
    verify(&state, &req)?;
    let (app, path) = app_and_path(&req, "get")?;
    match state.store().stat(&app, &path).await? {
        Some(e) if !e.is_dir => serve(&state, &e, req).await,
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
pub(super) async fn put_part(State(state): State<AppState>, req: Request) -> AppResult<Response> {
    let signed = verify(&state, &req)?;
    let rest = req
        .uri()
        .path()
        .strip_prefix("/v1/signed/parts/")
        .unwrap_or("");
    let (id, n) = rest.split_once('/').ok_or_else(ApiError::not_found)?;
    let n: u64 = n.parse().map_err(|_| ApiError::not_found())?;
    let upload = state.store().get_upload(None, id).await?;
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
    let bytes = exact_body(&parts.headers, body, signed.length, format!("Part {n}"))?;
    let part = state.store().put_part(&upload, n, bytes, claimed).await?;
    let info = PartInfo {
        part_number: n,
        size: u64::try_from(part.size).unwrap_or(0),
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
pub(super) async fn set_faults(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Response> {
    let faults = state.faults().ok_or_else(unknown)?;
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
pub(super) async fn stats(State(state): State<AppState>) -> AppResult<Response> {
    let faults = state.faults().ok_or_else(unknown)?;
    Ok(Json(faults.stats()).into_response())
}

fn unknown() -> AppError {
    AppError::api(ErrorCode::UnknownRoute, "No such route")
}
