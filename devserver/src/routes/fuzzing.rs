//! The parsers of hostile input, one function each, run exactly as their routes run them: the
//! entry points of the fuzz targets in `fuzz/`. Each answers the status its route would give
//! (200 when the input parses) and the error's message, so a fuzzer tells a refusal (4xx) from a
//! failure (5xx or a panic), and one refusal from another. None of them touches state, the disk
//! or the network.

use std::collections::HashMap;
use std::ops::Range;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue};
use futures_util::StreamExt;

use super::{bkend, body, cognite, serve};
use crate::error::AppError;
use crate::files::check_new_file;

/// How `GET` answers a `Range` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ranged {
    /// 200, the whole file (no header, or one that does not parse).
    Whole,
    /// 206, these bytes.
    Part(Range<u64>),
    /// 416.
    Unsatisfiable,
}

/// What a request's `Range` header asks of a file of `size` bytes.
pub fn range(header_value: &[u8], size: u64) -> Ranged {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(header_value) {
        headers.insert(header::RANGE, value);
    }
    match serve::asked_range(&headers, size) {
        Ok(None) => Ranged::Whole,
        Ok(Some(r)) => Ranged::Part(r),
        Err(()) => Ranged::Unsatisfiable,
    }
}

/// What the Backendless upload route reads from a body with this `Content-Type`: the status,
/// and for a 200 the length of the part named `file` (or of the raw body).
pub async fn upload_body(content_type: &[u8], bytes: Vec<u8>, limit: u64) -> (Answer, u64) {
    match read_upload(content_type, bytes, limit).await {
        Ok(length) => (OK, length),
        Err(e) => (answer_of(&e), 0),
    }
}

async fn read_upload(content_type: &[u8], bytes: Vec<u8>, limit: u64) -> Result<u64, AppError> {
    let mut builder = Request::builder().method("POST").uri("/upload");
    if let Ok(value) = HeaderValue::from_bytes(content_type) {
        builder = builder.header(header::CONTENT_TYPE, value);
    }
    let request = builder
        .body(Body::from(bytes))
        .map_err(|e| AppError::Config(e.to_string()))?;
    match body::upload(request, limit).await? {
        body::Upload::Raw { bytes, .. } => drain(bytes).await,
        body::Upload::Form(mut form) => loop {
            let field = body::next_field(&mut form).await?;
            if field.name() == Some("file") {
                return drain(body::field_stream(field, limit)).await;
            }
            body::skip(field).await?;
        },
    }
}

async fn drain(mut stream: crate::files::ByteStream<'_>) -> Result<u64, AppError> {
    let mut length = 0u64;
    while let Some(chunk) = stream.next().await {
        length += chunk?.len() as u64;
    }
    Ok(length)
}

/// The status `GET /v1/files?{query}` answers before it reads the catalog.
pub fn bkend_list(query: &[u8]) -> Answer {
    let q: HashMap<String, String> = form_urlencoded::parse(query).into_owned().collect();
    match bkend::list_query(&q) {
        Ok(_) => OK,
        Err(e) => answer_of(&e),
    }
}

/// The status Cognite's `POST /files/list` answers for this body before it reads the catalog.
pub fn cognite_list(body: &[u8]) -> Answer {
    match cognite::parse(body).and_then(cognite::list_query) {
        Ok(_) => OK,
        Err(e) => cognite::answer_of(e),
    }
}

/// The status Cognite's `POST /files/search` answers for this body before it reads the catalog.
pub fn cognite_search(body: &[u8]) -> Answer {
    match cognite::parse(body).and_then(cognite::search_query) {
        Ok(_) => OK,
        Err(e) => cognite::answer_of(e),
    }
}

/// The status Cognite's `POST /files` answers for this body before it writes: the JSON, its
/// own checks, then the metadata validator every new record goes through.
pub fn cognite_create(body: &[u8]) -> Answer {
    let parsed = cognite::parse::<stowage_protocol::cognite::FileCreate>(body).and_then(|req| {
        req.validate()?;
        Ok(req)
    });
    match parsed {
        Ok(req) => match check_new_file(&cognite::new_file(req)) {
            Ok(()) => OK,
            Err(e) => answer_of(&e),
        },
        Err(e) => cognite::answer_of(e),
    }
}

/// A route's answer: its status and, for an error, the message.
pub type Answer = (u16, String);

const OK: Answer = (200, String::new());

fn answer_of(e: &AppError) -> Answer {
    let api = e.to_api();
    (api.code.status(), api.message)
}
