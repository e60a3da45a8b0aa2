//! The presigned-URL and multipart control plane under `/v1/files` (bkend storage shape):
//! bodies, part planning and the limits S3 taught everybody.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const MIB: u64 = 1024 * 1024;
/// Smallest part but the last (5 MiB, as S3). The server can lower it for tests only.
pub const MIN_PART_SIZE: u64 = 5 * MIB;
/// Largest part (5 GiB).
pub const MAX_PART_SIZE: u64 = 5 * 1024 * MIB;
/// Most parts one upload may have.
pub const MAX_PARTS: u64 = 10_000;
/// Part size the client picks when asked for none.
pub const DEFAULT_PART_SIZE: u64 = 8 * MIB;
/// Request header carrying a part's CRC32C: base64 of the big-endian 4 bytes (as S3's).
pub const CRC32C_HEADER: &str = "x-stowage-checksum-crc32c";
/// Request header carrying a part's SHA-256: base64 of the 32 bytes.
pub const SHA256_HEADER: &str = "x-stowage-checksum-sha256";

/// Which checksum protects the parts of an upload.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChecksumAlgorithm {
    /// CRC32C (Castagnoli), the default: fast in hardware and in wasm.
    #[default]
    Crc32c,
    /// SHA-256.
    Sha256,
    /// No per-part checksum (sizes and ETags are still checked).
    None,
}

impl ChecksumAlgorithm {
    /// The name used on the wire.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Crc32c => "crc32c",
            Self::Sha256 => "sha256",
            Self::None => "none",
        }
    }

    /// The name parsed back.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "crc32c" => Some(Self::Crc32c),
            "sha256" => Some(Self::Sha256),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

/// A request the client makes to a signed URL: where, how, and until when.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresignedRequest {
    /// The signed URL.
    pub url: String,
    /// The HTTP method to use with it.
    pub method: String,
    /// Headers to send with it.
    pub headers: BTreeMap<String, String>,
    /// When the URL stops working, in ms since the Unix epoch.
    pub expires_at: i64,
}

/// `POST /v1/files/presigned-url`: a signed URL for one single-request upload.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PresignUploadRequest {
    /// Directory to store the file in.
    pub path: String,
    /// File name.
    pub name: String,
    /// Exact size of the body that will be sent.
    pub size: u64,
    /// MIME type to store; guessed from the name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Replace an existing file.
    #[serde(default)]
    pub overwrite: bool,
    /// Seconds the URL stays valid (default 3600, at most 7 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

/// `POST /v1/files/download-url`: a signed GET URL.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DownloadUrlRequest {
    /// The file's path.
    pub path: String,
    /// Seconds the URL stays valid (default 3600, at most 7 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

/// `POST /v1/files/multipart/init`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InitRequest {
    /// Directory to store the file in.
    pub path: String,
    /// File name.
    pub name: String,
    /// Total size in bytes.
    pub size: u64,
    /// MIME type to store; guessed from the name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Replace an existing file at completion.
    #[serde(default)]
    pub overwrite: bool,
    /// Wanted part size; the server raises it to fit 10,000 parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_size: Option<u64>,
    /// Checksum the parts carry.
    #[serde(default)]
    pub checksum: ChecksumAlgorithm,
}

/// Answer to `init`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitResponse {
    /// Names the upload in every later call.
    pub upload_id: String,
    /// Size of every part but the last.
    pub part_size: u64,
    /// Number of parts.
    pub part_count: u64,
    /// When the unfinished upload is garbage-collected, ms since the epoch.
    pub expires_at: i64,
}

/// `POST /v1/files/multipart/presigned-url`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PresignPartsRequest {
    /// The upload.
    pub upload_id: String,
    /// Parts to sign, 1-based.
    pub part_numbers: Vec<u64>,
}

/// A signed URL for one part.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresignedPart {
    /// The part, 1-based.
    pub part_number: u64,
    /// How to send it.
    #[serde(flatten)]
    pub request: PresignedRequest,
}

/// Answer to `multipart/presigned-url`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresignPartsResponse {
    /// One entry per requested part, in the order asked.
    pub parts: Vec<PresignedPart>,
}

/// A part the server holds.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartInfo {
    /// The part, 1-based.
    pub part_number: u64,
    /// Its size.
    pub size: u64,
    /// Its ETag, as answered to the PUT.
    pub etag: String,
    /// Its checksum in the upload's algorithm (base64), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

/// Answer to `GET /v1/files/multipart/{uploadId}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadStatus {
    /// The upload.
    pub upload_id: String,
    /// Where the file will be.
    pub path: String,
    /// Total size.
    pub size: u64,
    /// Size of every part but the last.
    pub part_size: u64,
    /// Number of parts.
    pub part_count: u64,
    /// The parts' checksum.
    pub checksum: ChecksumAlgorithm,
    /// Parts stored so far, by part number.
    pub parts: Vec<PartInfo>,
    /// When the unfinished upload is garbage-collected, ms since the epoch.
    pub expires_at: i64,
    /// The result, once completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<CompleteResponse>,
}

/// One part named in `complete`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletedPart {
    /// The part, 1-based.
    pub part_number: u64,
    /// The ETag its PUT answered.
    pub etag: String,
}

/// `POST /v1/files/multipart/complete`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteRequest {
    /// The upload.
    pub upload_id: String,
    /// Every part, each once.
    pub parts: Vec<CompletedPart>,
}

/// Answer to `complete` (and to a repeated `complete`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompleteResponse {
    /// Public URL of the file.
    #[serde(rename = "fileURL")]
    pub file_url: String,
    /// Its size.
    pub size: u64,
    /// Its ETag.
    pub etag: String,
    /// Whole-file checksum in the upload's algorithm (base64); absent for `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

/// `POST /v1/files/multipart/abort`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AbortRequest {
    /// The upload.
    pub upload_id: String,
}

/// One part of a plan: bytes `start..end` of the file.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartRange {
    /// The part, 1-based.
    pub part_number: u64,
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// The part size to use: the wanted one (or the default), raised so that at most
/// [`MAX_PARTS`] parts cover `size`, and kept within `[min_part, MAX_PART_SIZE]`.
#[must_use]
pub fn effective_part_size(size: u64, wanted: Option<u64>, min_part: u64) -> u64 {
    let wanted = wanted.unwrap_or(DEFAULT_PART_SIZE);
    wanted
        .max(size.div_ceil(MAX_PARTS))
        .clamp(min_part.max(1), MAX_PART_SIZE)
}

/// Number of parts of `size` bytes cut in `part_size` pieces; an empty file is one empty part.
#[must_use]
pub fn part_count(size: u64, part_size: u64) -> u64 {
    size.div_ceil(part_size.max(1)).max(1)
}

/// Size of part `n` (1-based).
#[must_use]
pub fn part_len(size: u64, part_size: u64, n: u64) -> u64 {
    let start = (n - 1).saturating_mul(part_size);
    size.saturating_sub(start).min(part_size)
}

/// Cuts `size` bytes into parts of `part_size` (the last one shorter).
#[must_use]
pub fn plan_parts(size: u64, part_size: u64) -> Vec<PartRange> {
    let part_size = part_size.max(1);
    (1..=part_count(size, part_size))
        .map(|n| {
            let start = (n - 1) * part_size;
            PartRange {
                part_number: n,
                start,
                end: (start + part_size).min(size),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plans_exact_multiples_remainders_and_empty_files() {
        assert_eq!(plan_parts(10, 5).len(), 2);
        assert_eq!(
            plan_parts(11, 5).last().copied(),
            Some(PartRange {
                part_number: 3,
                start: 10,
                end: 11
            })
        );
        assert_eq!(
            plan_parts(0, 5),
            vec![PartRange {
                part_number: 1,
                start: 0,
                end: 0
            }]
        );
        assert_eq!(part_len(11, 5, 3), 1);
    }

    #[test]
    fn part_size_grows_to_fit_ten_thousand_parts() {
        let size = 100 * 1024 * MIB;
        let p = effective_part_size(size, Some(MIN_PART_SIZE), MIN_PART_SIZE);
        assert!(part_count(size, p) <= MAX_PARTS);
        assert_eq!(
            effective_part_size(1, Some(1), MIN_PART_SIZE),
            MIN_PART_SIZE
        );
    }

    proptest! {
        #[test]
        fn plans_cover_every_byte_once(size in 0u64..50_000_000, part in 1u64..10_000_000) {
            let plan = plan_parts(size, part);
            prop_assert_eq!(plan[0].start, 0);
            prop_assert_eq!(plan.last().map(|p| p.end), Some(size));
            for w in plan.windows(2) {
                prop_assert_eq!(w[0].end, w[1].start);
                prop_assert_eq!(w[0].end - w[0].start, part);
            }
            for p in &plan {
                prop_assert_eq!(p.end - p.start, part_len(size, part, p.part_number));
            }
        }
    }
}
