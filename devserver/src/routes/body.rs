//! Request bodies as streams of bytes: raw, one part of `multipart/form-data`, or base64 text;
//! each counted against the upload limit. And small JSON bodies, read whole up to 64 KiB.

use axum::body::Body;
use axum::extract::multipart::Field;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, HeaderMap};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use bytes::{Bytes, BytesMut};
use futures_util::{stream, Stream, StreamExt, TryStreamExt};
use serde_json::{Map, Value};
use stowage_protocol::{ApiError, ErrorCode};

use crate::error::{AppError, AppResult};

/// Largest JSON body accepted by move, copy and rename.
pub(super) const JSON_LIMIT: usize = 64 * 1024;

pub(super) use crate::files::ByteStream;

/// An upload body: the raw bytes, or a form whose part named `file` holds them.
pub(super) enum Upload {
    /// A raw body and the content type the sender declared.
    Raw {
        /// The file's bytes.
        bytes: ByteStream<'static>,
        /// The declared `Content-Type`, if any.
        declared_type: Option<String>,
    },
    /// A `multipart/form-data` body, not read yet.
    Form(Multipart),
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn too_large(limit: u64) -> AppError {
    AppError::api(
        ErrorCode::BodyTooLarge,
        format!("Request body is larger than {limit} bytes"),
    )
}

fn incomplete() -> AppError {
    AppError::api(ErrorCode::IncompleteBody, "The request body ended early")
}

/// A body that failed: cut off for its pace (`routes/pace.rs`), or ended early.
fn body_error(e: &axum::Error) -> AppError {
    match super::pace::too_slow(e) {
        Some(slow) => AppError::api(ErrorCode::IncompleteBody, slow.to_string()),
        None => incomplete(),
    }
}

/// Refuses a body whose declared length is over `limit`, before reading it.
pub(super) fn check_length(headers: &HeaderMap, limit: u64) -> AppResult<()> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > limit => Err(too_large(limit)),
        _ => Ok(()),
    }
}

/// Ends the stream with `BodyTooLarge` once more than `limit` bytes went through.
pub(super) fn limited<S>(bytes: S, limit: u64) -> impl Stream<Item = Result<Bytes, AppError>> + Send
where
    S: Stream<Item = Result<Bytes, AppError>> + Send,
{
    bytes.scan(0u64, move |seen, chunk| {
        let item = chunk.and_then(|c| {
            *seen += c.len() as u64;
            if *seen > limit {
                Err(too_large(limit))
            } else {
                Ok(c)
            }
        });
        std::future::ready(Some(item))
    })
}

/// The upload in `req`: a `multipart/form-data` form, else the raw body, limited to `limit` bytes.
pub(super) async fn upload(req: Request, limit: u64) -> AppResult<Upload> {
    check_length(req.headers(), limit)?;
    let declared = content_type(req.headers()).map(str::to_owned);
    if declared.as_deref().map(essence).as_deref() != Some("multipart/form-data") {
        let bytes = req
            .into_body()
            .into_data_stream()
            .map_err(|e| body_error(&e));
        return Ok(Upload::Raw {
            bytes: Box::pin(limited(bytes, limit)),
            declared_type: declared,
        });
    }
    // RFC 2046: a boundary of 1–70 characters. An empty one would make every `--` line a
    // delimiter, and the form look empty rather than malformed.
    let boundary = declared.as_deref().and_then(|t| {
        t.split(';').skip(1).find_map(|param| {
            let (name, value) = param.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("boundary")
                .then(|| value.trim().trim_matches('"').len())
        })
    });
    if !matches!(boundary, Some(1..=70)) {
        return Err(AppError::api(
            ErrorCode::MalformedMultipart,
            "Malformed multipart body: the boundary must be 1 to 70 characters",
        ));
    }
    let form = Multipart::from_request(req, &()).await.map_err(|e| {
        AppError::api(
            ErrorCode::MalformedMultipart,
            format!("Malformed multipart body: {}", e.body_text()),
        )
    })?;
    Ok(Upload::Form(form))
}

/// The next field of a form; the end of the form before a part named `file` is `MissingField`.
pub(super) async fn next_field(form: &mut Multipart) -> AppResult<Field<'_>> {
    form.next_field()
        .await
        .map_err(|e| multipart_error(&e))?
        .ok_or_else(|| ApiError::missing_field("file").into())
}

/// The bytes of a form field, limited to `limit`.
pub(super) fn field_stream(field: Field<'_>, limit: u64) -> ByteStream<'_> {
    Box::pin(limited(field.map_err(|e| multipart_error(&e)), limit))
}

/// Reads past a field that is not the file (a text input of the form).
pub(super) async fn skip(mut field: Field<'_>) -> AppResult<()> {
    while field
        .chunk()
        .await
        .map_err(|e| multipart_error(&e))?
        .is_some()
    {}
    Ok(())
}

/// Maps a form parsing error: a cut-off body is `IncompleteBody`, the rest `MalformedMultipart`.
pub(super) fn multipart_error(e: &axum::extract::multipart::MultipartError) -> AppError {
    // axum answers 500 only when reading the body itself failed (the client went away), 413
    // when a limit was hit, and 400 for a body that arrived whole but does not parse.
    let text = e.body_text();
    match e.status() {
        axum::http::StatusCode::INTERNAL_SERVER_ERROR => return incomplete(),
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            return AppError::api(ErrorCode::BodyTooLarge, "Request body is too large")
        }
        _ => {}
    }
    AppError::api(
        ErrorCode::MalformedMultipart,
        format!("Malformed multipart body: {text}"),
    )
}

/// Standard base64, with or without padding at the end.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn decode(text: &[u8]) -> AppResult<Bytes> {
    BASE64.decode(text).map(Bytes::from).map_err(|e| {
        AppError::api(
            ErrorCode::InvalidBase64,
            format!("Body is not valid base64: {e}"),
        )
    })
}

/// A base64 text body decoded as it streams (whitespace and line breaks are ignored).
pub(super) fn base64_upload(
    headers: &HeaderMap,
    body: Body,
    limit: u64,
) -> AppResult<ByteStream<'static>> {
    let declared = content_type(headers).map(essence);
    if declared.as_deref() != Some("text/plain") {
        return Err(AppError::api(
            ErrorCode::WrongContentType,
            "Content type should be 'text/plain'",
        ));
    }
    check_length(headers, limit.saturating_mul(4) / 3 + 4)?;
    let chunks = body.into_data_stream().map_err(|e| body_error(&e));
    let decoded = stream::try_unfold(
        (Box::pin(chunks), BytesMut::new(), false),
        move |(mut chunks, mut carry, done)| async move {
            if done {
                return Ok(None);
            }
            loop {
                match chunks.next().await.transpose()? {
                    Some(chunk) => {
                        carry.extend(chunk.iter().copied().filter(|b| !b.is_ascii_whitespace()));
                        let whole = carry.len() / 4 * 4;
                        if whole > 0 {
                            let quads = carry.split_to(whole);
                            return Ok(Some((decode(&quads)?, (chunks, carry, false))));
                        }
                    }
                    None => {
                        let rest = decode(&carry)?;
                        return Ok(Some((rest, (chunks, BytesMut::new(), true))));
                    }
                }
            }
        },
    );
    Ok(Box::pin(limited(decoded, limit)))
}

/// A small JSON object body, after checking the content type and the size.
pub(super) async fn json_object(headers: &HeaderMap, body: Body) -> AppResult<Map<String, Value>> {
    if content_type(headers).map(essence).as_deref() != Some("application/json") {
        return Err(ApiError::wrong_content_type().into());
    }
    check_length(headers, JSON_LIMIT as u64)?;
    let bytes = axum::body::to_bytes(body, JSON_LIMIT).await.map_err(|e| {
        if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
        {
            too_large(JSON_LIMIT as u64)
        } else {
            body_error(&e)
        }
    })?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(AppError::api(
            ErrorCode::MalformedJson,
            "Could not parse request body: expected a JSON object",
        )),
        Err(e) => Err(AppError::api(
            ErrorCode::MalformedJson,
            format!("Could not parse request body: {e}"),
        )),
    }
}

/// A required string field of a JSON object.
pub(super) fn string_field<'a>(map: &'a Map<String, Value>, name: &str) -> AppResult<&'a str> {
    match map.get(name) {
        None => Err(ApiError::missing_field(name).into()),
        Some(Value::Null) => Err(ApiError::parameter_null(name).into()),
        Some(Value::String(s)) if s.is_empty() => Err(ApiError::parameter_null(name).into()),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(AppError::api(
            ErrorCode::MalformedJson,
            format!("Could not parse request body: {name} must be a string"),
        )),
    }
}
