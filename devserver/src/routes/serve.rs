//! Serving a file's bytes, for every API shape: conditional requests (`If-Match`,
//! `If-None-Match`, `If-Modified-Since`, `If-Range`) and one byte range (RFC 9110). A malformed
//! `Range`, or several ranges, is answered with the whole file (200), as RFC 9110 allows; a
//! range wholly outside the file is 416 with `Content-Range: bytes */size`.

use std::time::{Duration, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use stowage_protocol::{ApiError, ErrorCode};

use crate::error::{api_response, AppError, AppResult};
use crate::files::Files;
use crate::model::FileRecord;

/// Whether an `If-None-Match` / `If-Match` list names `etag` (`*` names any).
pub(super) fn etag_listed(list: &HeaderValue, etag: &str) -> bool {
    list.to_str().is_ok_and(|l| {
        l.split(',')
            .map(str::trim)
            .any(|t| t == "*" || t.trim_start_matches("W/") == etag)
    })
}

/// The one range asked for, within `size`: `Ok(None)` for the whole file (no header, a
/// malformed one, or several ranges), `Err` when it lies wholly outside the file.
pub(super) fn asked_range(
    headers: &HeaderMap,
    size: u64,
) -> Result<Option<std::ops::Range<u64>>, ()> {
    let Some(text) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    // `bytes=-0` asks for the last zero bytes: well formed, and never satisfiable (RFC 9110
    // 14.1.2). The parser takes it for malformed.
    if let Some(n) = text.trim().strip_prefix("bytes=-") {
        if !n.is_empty() && n.bytes().all(|b| b == b'0') {
            return Err(());
        }
    }
    let Ok(parsed) = http_range_header::parse_range_header(text) else {
        return Ok(None);
    };
    let [range] = parsed.ranges.as_slice() else {
        return Ok(None);
    };
    use http_range_header::{EndPosition, StartPosition};
    if let (StartPosition::Index(first), EndPosition::Index(last)) = (&range.start, &range.end) {
        if last < first {
            // A last position before the first is invalid, so the header is ignored.
            return Ok(None);
        }
    }
    let start = match range.start {
        StartPosition::Index(i) => i,
        StartPosition::FromLast(0) => return Err(()),
        StartPosition::FromLast(n) => size.saturating_sub(n),
    };
    let end = match range.end {
        EndPosition::Index(i) => i.saturating_add(1).min(size),
        EndPosition::LastByte => size,
    };
    if start >= size || start >= end {
        return Err(());
    }
    Ok(Some(start..end))
}

fn http_date(ms: i64) -> String {
    let secs = u64::try_from(ms / 1000).unwrap_or(0);
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
}

fn parse_http_date(text: &str) -> Option<i64> {
    let t = httpdate::parse_http_date(text).ok()?;
    let secs = t.duration_since(UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(secs).ok().map(|s| s * 1000)
}

/// The answer to `GET`/`HEAD` of `record`'s bytes under the request's conditions.
pub(super) async fn serve(
    files: &Files,
    who: &crate::model::Principal,
    record: FileRecord,
    method: &Method,
    headers: &HeaderMap,
) -> AppResult<Response> {
    let Some(content) = record.content.clone() else {
        return Err(AppError::api(
            ErrorCode::NotUploaded,
            "The file has no content yet",
        ));
    };
    let etag = content.etag.clone();
    let modified_ms = record.updated_ms;
    if let Some(list) = headers.get(header::IF_MATCH) {
        if !etag_listed(list, &etag) {
            return Err(AppError::api(
                ErrorCode::PreconditionFailed,
                "The file has changed (If-Match)",
            ));
        }
    }
    let not_modified = match headers.get(header::IF_NONE_MATCH) {
        Some(list) => etag_listed(list, &etag),
        // If-None-Match, when present, overrides If-Modified-Since (RFC 9110 13.2.2).
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date)
            .is_some_and(|since| modified_ms / 1000 * 1000 <= since),
    };
    if not_modified {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&etag) {
            response.headers_mut().insert(header::ETAG, v);
        }
        return Ok(response);
    }
    let range_applies = match headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(v) if v.starts_with('"') || v.starts_with("W/") => v == etag,
        Some(v) => parse_http_date(v).is_some_and(|d| modified_ms / 1000 * 1000 <= d),
    };
    let size = content.size;
    let range = if range_applies {
        match asked_range(headers, size) {
            Ok(r) => r,
            Err(()) => {
                let mut error = api_response(&ApiError::new(
                    ErrorCode::RangeNotSatisfiable,
                    format!("Requested range is not satisfiable (file size {size})"),
                ));
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    error.headers_mut().insert(header::CONTENT_RANGE, v);
                }
                return Ok(error);
            }
        }
    } else {
        None
    };
    let opened = files.open(who, record, range.clone()).await?;
    let record = opened.record;
    let Some(content) = record.content.as_ref() else {
        return Err(AppError::api(
            ErrorCode::NotUploaded,
            "The file has no content yet",
        ));
    };
    if content.etag != etag && range.is_some() {
        // Overwritten between lookup and open: the range was for the old bytes.
        return Err(AppError::api(
            ErrorCode::PreconditionFailed,
            "The file changed while it was being opened; ask again",
        ));
    }
    let (status, len) = match &range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r.end - r.start),
        None => (StatusCode::OK, content.size),
    };
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from_stream(opened.body)
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let h = response.headers_mut();
    let mime = record
        .fields
        .mime_type
        .as_deref()
        .filter(|t| t.parse::<mime_guess::Mime>().is_ok())
        .unwrap_or("application/octet-stream");
    let mut set = |name: header::HeaderName, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    };
    set(header::CONTENT_TYPE, mime.to_owned());
    set(header::CONTENT_LENGTH, len.to_string());
    set(header::ETAG, content.etag.clone());
    set(header::LAST_MODIFIED, http_date(record.updated_ms));
    set(header::ACCEPT_RANGES, "bytes".into());
    if let Some(r) = &range {
        set(
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{}", r.start, r.end - 1, content.size),
        );
    }
    set(
        header::CONTENT_DISPOSITION,
        format!(
            "inline; filename*=UTF-8''{}",
            stowage_protocol::paths::encode_segment(&record.name)
        ),
    );
    // Uploaded HTML or SVG must not run script in the origin that serves it.
    set(header::CONTENT_SECURITY_POLICY, "sandbox".into());
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff".into());
    set(header::CACHE_CONTROL, "no-cache".into());
    Ok(response)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn range(text: &str, size: u64) -> Result<Option<std::ops::Range<u64>>, ()> {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, HeaderValue::from_str(text).unwrap());
        asked_range(&h, size)
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(range("bytes=0-4", 10), Ok(Some(0..5)));
        assert_eq!(range("bytes=5-", 10), Ok(Some(5..10)));
        assert_eq!(range("bytes=-3", 10), Ok(Some(7..10)));
        assert_eq!(range("bytes=-30", 10), Ok(Some(0..10)));
        assert_eq!(range("bytes=8-100", 10), Ok(Some(8..10)));
        assert_eq!(range("bytes=10-20", 10), Err(()));
        assert_eq!(range("bytes=0-1,4-5", 10), Ok(None));
        assert_eq!(range("lines=0-1", 10), Ok(None));
        assert_eq!(range("bytes=x-y", 10), Ok(None));
        assert_eq!(range("bytes=-0", 10), Err(()));
        assert_eq!(range("bytes=3-1", 10), Ok(None));
    }

    #[test]
    fn http_dates_round_trip() {
        assert_eq!(http_date(784_111_777_000), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777_000)
        );
        let now = crate::model::now_ms() / 1000 * 1000;
        assert_eq!(parse_http_date(&http_date(now)), Some(now));
    }
}
