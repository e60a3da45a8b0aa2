//! Cognite Files API v1 on the wire, as the real service and `@cognite/sdk` speak it: request and
//! response bodies under `/api/v1/projects/{app}/files`, the `{"error": {...}}` envelope, and the
//! field limits the service enforces. `docs/cognite-sdk-wire.md` lists what the SDK sends.
//!
//! Parsing checks shapes (one of `id`/`externalId`, `set` or `setNull`, no unknown fields in
//! requests); each request's `validate` checks the limits and names the field and the limit in
//! its [`FieldError`], which becomes a 400 [`ErrorEnvelope`].

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Longest `externalId`, in characters.
pub const MAX_EXTERNAL_ID_CHARS: usize = 255;
/// Longest file `name`, in characters.
pub const MAX_NAME_CHARS: usize = 256;
/// Longest `directory`, in characters.
pub const MAX_DIRECTORY_CHARS: usize = 512;
/// Longest `source`, in characters.
pub const MAX_SOURCE_CHARS: usize = 128;
/// Longest `mimeType`, in characters.
pub const MAX_MIME_TYPE_CHARS: usize = 256;
/// Longest metadata key, in UTF-8 bytes.
pub const MAX_METADATA_KEY_BYTES: usize = 128;
/// Longest metadata value, in UTF-8 bytes.
pub const MAX_METADATA_VALUE_BYTES: usize = 10_240;
/// Most metadata pairs on one file.
pub const MAX_METADATA_PAIRS: usize = 256;
/// Most bytes of all metadata keys and values of one file together.
pub const MAX_METADATA_TOTAL_BYTES: usize = 10_240;
/// Most `assetIds` on one file (and fewest when given at creation: 1).
pub const MAX_ASSET_IDS: usize = 1000;
/// Most `securityCategories` on one file.
pub const MAX_SECURITY_CATEGORIES: usize = 100;
/// Most labels on one file, and in one `containsAny`/`containsAll` filter.
pub const MAX_LABELS: usize = 10;
/// Largest id (2^53 - 1, the largest integer a JavaScript number holds exactly); the smallest is 1.
pub const MAX_ID: i64 = 9_007_199_254_740_991;
/// Largest `limit` of `files/list` and `files/search`.
pub const MAX_LIST_LIMIT: i64 = 1000;
/// The `limit` of `files/list` and `files/search` when none is given.
pub const DEFAULT_LIST_LIMIT: i64 = 100;
/// Most items of `files/byids`, `files/update` and `files/delete`.
pub const MAX_ITEMS: usize = 1000;
/// Most items of `files/downloadlink`.
pub const MAX_DOWNLOAD_LINKS: usize = 100;
/// Most ids in one id-list filter (`assetIds`, `assetExternalIds`, `dataSetIds`, ...).
pub const MAX_FILTER_IDS: usize = 100;
/// Most partitions a list may be split into (`partition: "m/n"`, n at most this).
pub const MAX_PARTITIONS: u32 = 10;
/// Most parts of a multipart upload (`initmultipartupload?parts=`).
pub const MAX_MULTIPART_PARTS: i64 = 250;
/// The geometry types a `geoLocation` may have.
pub const GEOMETRY_TYPES: [&str; 6] = [
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
];

// ---------------------------------------------------------------------------------------------
// Errors

/// A field breaks a rule. Displays as the field's name followed by the problem:
/// `name must be at most 256 characters (got 257)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {problem}")]
pub struct FieldError {
    /// The field's JSON path, such as `name`, `metadata` or `items[3].update.assetIds`.
    pub field: String,
    /// What is wrong, with the limit and the value found.
    pub problem: String,
}

impl FieldError {
    /// An error for `field`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// The same error for a field inside `prefix` (`items[2]`, `filter`, ...).
    #[must_use]
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = if self.field.starts_with('[') {
            format!("{prefix}{}", self.field)
        } else {
            format!("{prefix}.{}", self.field)
        };
        self
    }
}

/// Cognite's error body: `{"error": {"code": 400, "message": "...", "missing": [...]}}`.
/// `@cognite/sdk` turns it into a `CogniteError` whose `status` is the HTTP status.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// The error itself.
    pub error: ErrorBody,
}

/// The inside of an [`ErrorEnvelope`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CogniteErrorBody))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The HTTP status again.
    pub code: u16,
    /// Human-readable text.
    pub message: String,
    /// The identifiers that name nothing, as they were asked for (`{"id": 1}`, `{"externalId": "a"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<Vec<Value>>,
    /// The identifiers given twice, or already taken (`{"externalId": "a"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicated: Option<Vec<Value>>,
}

impl ErrorEnvelope {
    /// An error with a status and a message and nothing else.
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        Self {
            error: ErrorBody {
                code,
                message: message.into(),
                missing: None,
                duplicated: None,
            },
        }
    }

    /// 400 naming the identifiers that name no file.
    #[must_use]
    pub fn missing(ids: &[Identity]) -> Self {
        let mut envelope = Self::new(400, "Files not found");
        envelope.error.missing = Some(ids.iter().map(Identity::to_value).collect());
        envelope
    }

    /// 409 naming the `externalId`s that another file already has.
    #[must_use]
    pub fn duplicated_external_ids(external_ids: &[String]) -> Self {
        let mut envelope = Self::new(409, "Duplicate external ids");
        envelope.error.duplicated = Some(
            external_ids
                .iter()
                .map(|e| Identity::ExternalId(e.clone()).to_value())
                .collect(),
        );
        envelope
    }
}

impl From<FieldError> for ErrorEnvelope {
    fn from(err: FieldError) -> Self {
        Self::new(400, err.to_string())
    }
}

// ---------------------------------------------------------------------------------------------
// Identities and small shared types

/// A file named by its `id` (`{"id": 1}`) or its `externalId` (`{"externalId": "a"}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// `{"id": n}`, the server's number.
    Id(i64),
    /// `{"externalId": "..."}`, the client's name.
    ExternalId(String),
}

impl Identity {
    /// The JSON object this identity is written as.
    #[must_use]
    pub fn to_value(&self) -> Value {
        match self {
            Self::Id(id) => serde_json::json!({ "id": id }),
            Self::ExternalId(external_id) => serde_json::json!({ "externalId": external_id }),
        }
    }

    /// Checks the id's range or the externalId's length.
    pub fn validate(&self) -> Result<(), FieldError> {
        match self {
            Self::Id(id) => check_id("id", *id),
            Self::ExternalId(external_id) => validate_external_id(external_id),
        }
    }
}

impl Serialize for Identity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Self::Id(id) => map.serialize_entry("id", id)?,
            Self::ExternalId(external_id) => map.serialize_entry("externalId", external_id)?,
        }
        map.end()
    }
}

/// What an identity object may hold before it is checked to hold exactly one of them.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawIdentity {
    id: Option<i64>,
    external_id: Option<String>,
    instance_id: Option<Value>,
}

impl<'de> Deserialize<'de> for Identity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawIdentity::deserialize(deserializer)?;
        match (raw.id, raw.external_id, raw.instance_id) {
            (_, _, Some(_)) => Err(D::Error::custom(
                "instanceId is not supported: name files by id or externalId",
            )),
            (Some(id), None, None) => Ok(Self::Id(id)),
            (None, Some(external_id), None) => Ok(Self::ExternalId(external_id)),
            (Some(_), Some(_), None) => {
                Err(D::Error::custom("give either id or externalId, not both"))
            }
            (None, None, None) => Err(D::Error::custom("id or externalId is required")),
        }
    }
}

/// `{"externalId": "..."}`: a label on a file.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Label {
    /// The label's external id.
    pub external_id: String,
}

/// `{"min": ms, "max": ms}`: an inclusive range of times in milliseconds since the epoch.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRange {
    /// The earliest time, included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// The latest time, included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
}

impl TimeRange {
    /// Whether `time` lies inside the range. A file without the time never does.
    #[must_use]
    pub fn contains(&self, time: Option<i64>) -> bool {
        time.is_some_and(|t| {
            self.min.is_none_or(|min| t >= min) && self.max.is_none_or(|max| t <= max)
        })
    }

    fn validate(&self, field: &str) -> Result<(), FieldError> {
        if let Some(min) = self.min {
            check_time(&format!("{field}.min"), min)?;
        }
        if let Some(max) = self.max {
            check_time(&format!("{field}.max"), max)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Records

/// The body of `POST /files` and `POST /files/initmultipartupload`: a new file's fields.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileCreate {
    /// The file's name (not unique).
    pub name: String,
    /// The client's unique name for the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// An absolute, unix-style path such as `/reports/2024`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
    /// Where the file comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The media type, used as the `Content-Type` of the upload and the download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// String pairs of the application's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Assets the file belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_ids: Option<Vec<i64>>,
    /// The data set the file belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_set_id: Option<i64>,
    /// When the source system made the file, in ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_created_time: Option<i64>,
    /// When the source system last changed the file, in ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_modified_time: Option<i64>,
    /// Security categories needed to see the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_categories: Option<Vec<i64>>,
    /// Labels on the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<Label>>,
    /// A GeoJSON `Feature` (see [`validate_geo_location`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo_location: Option<Value>,
}

impl FileCreate {
    /// Checks every field's limit.
    ///
    /// ```rust
    /// use stowage_protocol::cognite::FileCreate;
    /// let file = FileCreate { name: "n".repeat(257), ..FileCreate::default() };
    /// assert_eq!(
    ///     file.validate().unwrap_err().to_string(),
    ///     "name must be at most 256 characters (got 257)",
    /// );
    /// ```
    pub fn validate(&self) -> Result<(), FieldError> {
        validate_name(&self.name)?;
        if let Some(external_id) = &self.external_id {
            validate_external_id(external_id)?;
        }
        if let Some(directory) = &self.directory {
            validate_directory(directory)?;
        }
        if let Some(source) = &self.source {
            check_chars("source", source, MAX_SOURCE_CHARS)?;
        }
        if let Some(mime_type) = &self.mime_type {
            check_chars("mimeType", mime_type, MAX_MIME_TYPE_CHARS)?;
        }
        if let Some(metadata) = &self.metadata {
            validate_metadata(metadata)?;
        }
        if let Some(asset_ids) = &self.asset_ids {
            check_count("assetIds", asset_ids.len(), 1, MAX_ASSET_IDS)?;
            check_ids("assetIds", asset_ids)?;
        }
        if let Some(data_set_id) = self.data_set_id {
            check_id("dataSetId", data_set_id)?;
        }
        if let Some(time) = self.source_created_time {
            check_time("sourceCreatedTime", time)?;
        }
        if let Some(time) = self.source_modified_time {
            check_time("sourceModifiedTime", time)?;
        }
        if let Some(categories) = &self.security_categories {
            validate_security_categories(categories)?;
        }
        if let Some(labels) = &self.labels {
            validate_labels("labels", labels, 0)?;
        }
        if let Some(geo_location) = &self.geo_location {
            validate_geo_location(geo_location)?;
        }
        Ok(())
    }
}

/// A file as the server answers it. `uploadUrl` is there only in the answer to `POST /files`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileInfo {
    /// The server's id, in 1..=[`MAX_ID`].
    pub id: i64,
    /// The client's unique name for the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The file's name.
    pub name: String,
    /// An absolute, unix-style path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
    /// Where the file comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// String pairs of the application's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Assets the file belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_ids: Option<Vec<i64>>,
    /// The data set the file belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_set_id: Option<i64>,
    /// When the source system made the file, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_created_time: Option<i64>,
    /// When the source system last changed the file, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_modified_time: Option<i64>,
    /// Security categories needed to see the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_categories: Option<Vec<i64>>,
    /// Labels on the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<Label>>,
    /// A GeoJSON `Feature`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo_location: Option<Value>,
    /// When the record was made, in ms.
    pub created_time: i64,
    /// When the record or its content last changed, in ms.
    pub last_updated_time: i64,
    /// When the content arrived, in ms; absent until it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_time: Option<i64>,
    /// Whether the content has arrived.
    pub uploaded: bool,
    /// Where to `PUT` the content: only in the answer to `POST /files`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_url: Option<String>,
}

/// The answer to `POST /files/initmultipartupload?parts=N`: the file, one URL per part, and the
/// id that `completemultipartupload` needs. Not wrapped in `items`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitMultipartResponse {
    /// The new (or overwritten) file.
    #[serde(flatten)]
    pub file: FileInfo,
    /// Where to `PUT` each part, in the order of the file's bytes.
    pub upload_urls: Vec<String>,
    /// The session's id.
    pub upload_id: String,
}

/// The body of `POST /files/completemultipartupload`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompleteMultipartRequest {
    /// The file, by `id` or `externalId`.
    #[serde(flatten)]
    pub identity: Identity,
    /// The session's id from [`InitMultipartResponse`].
    pub upload_id: String,
}

impl CompleteMultipartRequest {
    /// Checks the identity and that `uploadId` is not empty.
    pub fn validate(&self) -> Result<(), FieldError> {
        self.identity.validate()?;
        if self.upload_id.is_empty() {
            return Err(FieldError::new("uploadId", "must not be empty"));
        }
        Ok(())
    }
}

/// Checks the `parts` query parameter of `initmultipartupload`: 1..=[`MAX_MULTIPART_PARTS`].
pub fn validate_parts(parts: i64) -> Result<(), FieldError> {
    if (1..=MAX_MULTIPART_PARTS).contains(&parts) {
        Ok(())
    } else {
        Err(FieldError::new(
            "parts",
            format!("must be between 1 and {MAX_MULTIPART_PARTS} (got {parts})"),
        ))
    }
}

/// One item of the answer to `POST /files/downloadlink`: the identity as asked for, and the URL.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadLinkItem {
    /// The identity the request named the file by.
    #[serde(flatten)]
    pub identity: Identity,
    /// A URL that answers the bytes to a plain `GET`, without credentials.
    pub download_url: String,
}

/// `{"items": [...], "nextCursor": "..."}`: the answer of every call that returns records.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemsResponse<T> {
    /// The records.
    pub items: Vec<T>,
    /// Where the next page starts; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `{"count": n}`: the one item of the answer to `POST /files/aggregate`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregateCount {
    /// How many files the filter selects.
    pub count: u64,
}

/// `{}`: the answer to `files/delete` and `files/completemultipartupload`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EmptyResponse {}

// ---------------------------------------------------------------------------------------------
// Requests naming files

/// The body of `POST /files/byids`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ByIdsRequest {
    /// The files, answered in this order.
    pub items: Vec<Identity>,
    /// Skip unknown files instead of answering 400 with `missing`.
    #[serde(default)]
    pub ignore_unknown_ids: bool,
}

impl ByIdsRequest {
    /// Checks 1..=[`MAX_ITEMS`] items and each identity.
    pub fn validate(&self) -> Result<(), FieldError> {
        check_identities(&self.items, MAX_ITEMS)
    }
}

/// The body of `POST /files/delete`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteRequest {
    /// The files to delete.
    pub items: Vec<Identity>,
    /// Skip unknown files instead of answering 400 (`@cognite/sdk` 10.5 never sends it).
    #[serde(default)]
    pub ignore_unknown_ids: bool,
}

impl DeleteRequest {
    /// Checks 1..=[`MAX_ITEMS`] items and each identity.
    pub fn validate(&self) -> Result<(), FieldError> {
        check_identities(&self.items, MAX_ITEMS)
    }
}

/// The body of `POST /files/downloadlink`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DownloadLinkRequest {
    /// The files to link to.
    pub items: Vec<Identity>,
}

impl DownloadLinkRequest {
    /// Checks 1..=[`MAX_DOWNLOAD_LINKS`] items and each identity.
    pub fn validate(&self) -> Result<(), FieldError> {
        check_identities(&self.items, MAX_DOWNLOAD_LINKS)
    }
}

/// The identities that occur more than once, each once, in order of their second occurrence.
/// Cognite answers such a request 400 with them as `duplicated`.
#[must_use]
pub fn duplicate_identities(items: &[Identity]) -> Vec<Identity> {
    let mut seen = HashSet::new();
    let mut duplicated = Vec::new();
    for item in items {
        if !seen.insert(item) && !duplicated.contains(item) {
            duplicated.push(item.clone());
        }
    }
    duplicated
}

fn check_identities(items: &[Identity], max: usize) -> Result<(), FieldError> {
    check_count("items", items.len(), 1, max)?;
    for (i, item) in items.iter().enumerate() {
        item.validate()
            .map_err(|e| e.within(&format!("items[{i}]")))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Filters, lists, search, aggregate

/// `{"containsAny": [...]}` or `{"containsAll": [...]}`: which labels a file must carry.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LabelFilter {
    /// At least one of these labels.
    ContainsAny(Vec<Label>),
    /// All of these labels.
    ContainsAll(Vec<Label>),
}

/// How a `geoLocation` filter's shape relates to the files' locations.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GeoRelation {
    /// The location and the shape overlap.
    #[serde(alias = "INTERSECTS")]
    Intersects,
    /// The location and the shape do not overlap.
    #[serde(alias = "DISJOINT")]
    Disjoint,
    /// The location lies inside the shape.
    #[serde(alias = "WITHIN")]
    Within,
}

/// `{"relation": "within", "shape": {geometry}}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoLocationFilter {
    /// How the shape relates to the location.
    pub relation: GeoRelation,
    /// A GeoJSON geometry (not a Feature).
    pub shape: Value,
}

/// Every filter of `files/list`, `files/search` and `files/aggregate`. All given ones must hold.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileFilter {
    /// Exactly this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A directory starting with this (case-sensitive) text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory_prefix: Option<String>,
    /// Exactly this media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// All of these pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Any of these assets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_ids: Option<Vec<i64>>,
    /// Any of these assets, by their external ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_external_ids: Option<Vec<String>>,
    /// An asset in a tree rooted at one of these ([`FileFilter::reject_unsupported`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_asset_ids: Option<Vec<Identity>>,
    /// An asset in a subtree rooted at one of these ([`FileFilter::reject_unsupported`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_subtree_ids: Option<Vec<Identity>>,
    /// Any of these data sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_set_ids: Option<Vec<Identity>>,
    /// Exactly this source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Made in this range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_time: Option<TimeRange>,
    /// Last changed in this range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated_time: Option<TimeRange>,
    /// Content arrived in this range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_time: Option<TimeRange>,
    /// Made by the source system in this range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_created_time: Option<TimeRange>,
    /// Last changed by the source system in this range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_modified_time: Option<TimeRange>,
    /// An externalId starting with this (case-sensitive) text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id_prefix: Option<String>,
    /// Whether the content has arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded: Option<bool>,
    /// Labels the file must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<LabelFilter>,
    /// Where the file must be ([`FileFilter::reject_unsupported`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo_location: Option<GeoLocationFilter>,
}

impl FileFilter {
    /// Checks the limits of every filter given. Field names are relative to the filter
    /// (`assetIds`); callers prefix them with [`FieldError::within`]`("filter")`.
    pub fn validate(&self) -> Result<(), FieldError> {
        if let Some(name) = &self.name {
            check_chars("name", name, MAX_NAME_CHARS)?;
        }
        if let Some(prefix) = &self.directory_prefix {
            check_chars("directoryPrefix", prefix, MAX_DIRECTORY_CHARS)?;
        }
        if let Some(mime_type) = &self.mime_type {
            check_chars("mimeType", mime_type, MAX_MIME_TYPE_CHARS)?;
        }
        if let Some(metadata) = &self.metadata {
            validate_metadata(metadata)?;
        }
        if let Some(asset_ids) = &self.asset_ids {
            check_count("assetIds", asset_ids.len(), 1, MAX_FILTER_IDS)?;
            check_ids("assetIds", asset_ids)?;
        }
        if let Some(external_ids) = &self.asset_external_ids {
            check_count("assetExternalIds", external_ids.len(), 1, MAX_FILTER_IDS)?;
            for (i, external_id) in external_ids.iter().enumerate() {
                check_chars(
                    &format!("assetExternalIds[{i}]"),
                    external_id,
                    MAX_EXTERNAL_ID_CHARS,
                )?;
            }
        }
        for (field, ids) in [
            ("rootAssetIds", &self.root_asset_ids),
            ("assetSubtreeIds", &self.asset_subtree_ids),
            ("dataSetIds", &self.data_set_ids),
        ] {
            if let Some(ids) = ids {
                check_count(field, ids.len(), 1, MAX_FILTER_IDS)?;
                for (i, id) in ids.iter().enumerate() {
                    id.validate()
                        .map_err(|e| e.within(&format!("{field}[{i}]")))?;
                }
            }
        }
        if let Some(source) = &self.source {
            check_chars("source", source, MAX_SOURCE_CHARS)?;
        }
        for (field, range) in [
            ("createdTime", &self.created_time),
            ("lastUpdatedTime", &self.last_updated_time),
            ("uploadedTime", &self.uploaded_time),
            ("sourceCreatedTime", &self.source_created_time),
            ("sourceModifiedTime", &self.source_modified_time),
        ] {
            if let Some(range) = range {
                range.validate(field)?;
            }
        }
        if let Some(prefix) = &self.external_id_prefix {
            check_chars("externalIdPrefix", prefix, MAX_EXTERNAL_ID_CHARS)?;
        }
        match &self.labels {
            Some(LabelFilter::ContainsAny(labels)) => {
                validate_labels("labels.containsAny", labels, 1)?;
            }
            Some(LabelFilter::ContainsAll(labels)) => {
                validate_labels("labels.containsAll", labels, 1)?;
            }
            None => {}
        }
        if let Some(geo) = &self.geo_location {
            validate_geometry("geoLocation.shape", &geo.shape)?;
        }
        Ok(())
    }

    /// Refuses the filters Stowage cannot answer honestly: `rootAssetIds` and `assetSubtreeIds`
    /// (it keeps no asset hierarchy) and `geoLocation` (it has no spatial index). Answering them
    /// by ignoring them would return files the caller asked to leave out.
    pub fn reject_unsupported(&self) -> Result<(), FieldError> {
        if self.root_asset_ids.is_some() {
            return Err(FieldError::new(
                "rootAssetIds",
                "is not supported: Stowage keeps no asset hierarchy (filter by assetIds)",
            ));
        }
        if self.asset_subtree_ids.is_some() {
            return Err(FieldError::new(
                "assetSubtreeIds",
                "is not supported: Stowage keeps no asset hierarchy (filter by assetIds)",
            ));
        }
        if self.geo_location.is_some() {
            return Err(FieldError::new(
                "geoLocation",
                "is not supported as a filter: Stowage has no spatial index",
            ));
        }
        Ok(())
    }
}

/// `"m/n"`: the m-th of n parts of a list, 1 <= m <= n <= [`MAX_PARTITIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// Which part, from 1.
    pub index: u32,
    /// How many parts.
    pub count: u32,
}

impl Partition {
    /// Parses and checks `"m/n"`.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let bad = || {
            FieldError::new(
                "partition",
                format!("must be \"m/n\" with 1 <= m <= n <= {MAX_PARTITIONS} (got {text:?})"),
            )
        };
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let index: u32 = index.parse().map_err(|_| bad())?;
        let count: u32 = count.parse().map_err(|_| bad())?;
        if index == 0 || index > count || count > MAX_PARTITIONS {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

/// The body of `POST /files/list`. Following pages repeat it with `cursor` added.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListRequest {
    /// Which files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<FileFilter>,
    /// Page size, 1..=[`MAX_LIST_LIMIT`]; [`DEFAULT_LIST_LIMIT`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// The previous page's `nextCursor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// `"m/n"`: only the m-th of n parts of the files ([`Partition`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
}

impl ListRequest {
    /// Checks the filter, the limit and the partition.
    pub fn validate(&self) -> Result<(), FieldError> {
        validate_filter(self.filter.as_ref())?;
        self.page_size()?;
        self.partition()?;
        Ok(())
    }

    /// The page size: the limit given, or [`DEFAULT_LIST_LIMIT`].
    pub fn page_size(&self) -> Result<usize, FieldError> {
        check_limit(self.limit)
    }

    /// The partition, if one is asked for.
    pub fn partition(&self) -> Result<Option<Partition>, FieldError> {
        self.partition.as_deref().map(Partition::parse).transpose()
    }
}

/// `{"name": "..."}`: what `files/search` looks for.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileSearch {
    /// Words to find in file names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The body of `POST /files/search`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchRequest {
    /// Which files to search among.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<FileFilter>,
    /// What to look for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<FileSearch>,
    /// Most results, 1..=[`MAX_LIST_LIMIT`]; [`DEFAULT_LIST_LIMIT`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

impl SearchRequest {
    /// Checks the filter and the limit.
    pub fn validate(&self) -> Result<(), FieldError> {
        validate_filter(self.filter.as_ref())?;
        self.result_limit()?;
        Ok(())
    }

    /// The most results to answer: the limit given, or [`DEFAULT_LIST_LIMIT`].
    pub fn result_limit(&self) -> Result<usize, FieldError> {
        check_limit(self.limit)
    }
}

/// The body of `POST /files/aggregate`, answered `{"items": [{"count": n}]}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AggregateRequest {
    /// Which files to count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<FileFilter>,
}

impl AggregateRequest {
    /// Checks the filter.
    pub fn validate(&self) -> Result<(), FieldError> {
        validate_filter(self.filter.as_ref())
    }
}

fn validate_filter(filter: Option<&FileFilter>) -> Result<(), FieldError> {
    filter.map_or(Ok(()), |f| f.validate().map_err(|e| e.within("filter")))
}

fn check_limit(limit: Option<i64>) -> Result<usize, FieldError> {
    let limit = limit.unwrap_or(DEFAULT_LIST_LIMIT);
    if !(1..=MAX_LIST_LIMIT).contains(&limit) {
        return Err(FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_LIST_LIMIT} (got {limit})"),
        ));
    }
    usize::try_from(limit).map_err(|_| FieldError::new("limit", "does not fit this machine"))
}

// ---------------------------------------------------------------------------------------------
// Updates

/// `{"set": v}`, `{"setNull": true}`, or `{"setNull": false}` (leave the field as it is).
#[derive(Debug, Clone, PartialEq)]
pub enum SetOrNull<T> {
    /// Give the field this value.
    Set(T),
    /// Remove the field.
    SetNull,
    /// `{"setNull": false}`: change nothing (the SDK's types allow it).
    Keep,
}

impl<T: Serialize> Serialize for SetOrNull<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Self::Set(value) => map.serialize_entry("set", value)?,
            Self::SetNull => map.serialize_entry("setNull", &true)?,
            Self::Keep => map.serialize_entry("setNull", &false)?,
        }
        map.end()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawSetOrNull<T> {
    set: Option<T>,
    set_null: Option<bool>,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for SetOrNull<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawSetOrNull::<T>::deserialize(deserializer)?;
        match (raw.set, raw.set_null) {
            (Some(value), None) => Ok(Self::Set(value)),
            (None, Some(true)) => Ok(Self::SetNull),
            (None, Some(false)) => Ok(Self::Keep),
            (Some(_), Some(_)) => Err(D::Error::custom("give either set or setNull, not both")),
            (None, None) => Err(D::Error::custom("needs set (not null) or setNull")),
        }
    }
}

/// `{"set": {...}}` replaces the map; `{"add": {...}, "remove": [keys]}` changes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapPatch {
    /// Replace every pair with these.
    Set(BTreeMap<String, String>),
    /// Add or overwrite `add`, then drop the keys in `remove`.
    Change {
        /// Pairs to add or overwrite.
        add: BTreeMap<String, String>,
        /// Keys to drop.
        remove: Vec<String>,
    },
}

impl Serialize for MapPatch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self {
            Self::Set(set) => map.serialize_entry("set", set)?,
            Self::Change { add, remove } => {
                map.serialize_entry("add", add)?;
                map.serialize_entry("remove", remove)?;
            }
        }
        map.end()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapPatch {
    set: Option<BTreeMap<String, String>>,
    add: Option<BTreeMap<String, String>>,
    remove: Option<Vec<String>>,
}

impl<'de> Deserialize<'de> for MapPatch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawMapPatch::deserialize(deserializer)?;
        match (raw.set, raw.add, raw.remove) {
            (Some(set), None, None) => Ok(Self::Set(set)),
            (None, None, None) => Err(D::Error::custom("needs set, or add and/or remove")),
            (None, add, remove) => Ok(Self::Change {
                add: add.unwrap_or_default(),
                remove: remove.unwrap_or_default(),
            }),
            (Some(_), _, _) => Err(D::Error::custom("give set, or add and/or remove, not both")),
        }
    }
}

/// `{"set": [...]}` replaces the list; `{"add": [...], "remove": [...]}` changes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListPatch<T> {
    /// Replace the list with this one (which may be empty).
    Set(Vec<T>),
    /// Add the values of `add` not there yet, then drop those in `remove`.
    Change {
        /// Values to add.
        add: Vec<T>,
        /// Values to drop.
        remove: Vec<T>,
    },
}

impl<T: Serialize> Serialize for ListPatch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self {
            Self::Set(set) => map.serialize_entry("set", set)?,
            Self::Change { add, remove } => {
                map.serialize_entry("add", add)?;
                map.serialize_entry("remove", remove)?;
            }
        }
        map.end()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListPatch<T> {
    set: Option<Vec<T>>,
    add: Option<Vec<T>>,
    remove: Option<Vec<T>>,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ListPatch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawListPatch::<T>::deserialize(deserializer)?;
        match (raw.set, raw.add, raw.remove) {
            (Some(set), None, None) => Ok(Self::Set(set)),
            (None, None, None) => Err(D::Error::custom("needs set, or add and/or remove")),
            (None, add, remove) => Ok(Self::Change {
                add: add.unwrap_or_default(),
                remove: remove.unwrap_or_default(),
            }),
            (Some(_), _, _) => Err(D::Error::custom("give set, or add and/or remove, not both")),
        }
    }
}

/// `{"add": [labels], "remove": [labels]}`: labels are only added and removed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelsPatch {
    /// Labels to put on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<Label>,
    /// Labels to take off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<Label>,
}

/// The `update` object of one `files/update` item: the fields to change, each optional.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileChange {
    /// New or no externalId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::set_or_null_string))]
    pub external_id: Option<SetOrNull<String>>,
    /// New or no directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::set_or_null_string))]
    pub directory: Option<SetOrNull<String>>,
    /// New or no source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::set_or_null_string))]
    pub source: Option<SetOrNull<String>>,
    /// New or no media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::set_or_null_string))]
    pub mime_type: Option<SetOrNull<String>>,
    /// Replaced or changed metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::map_patch))]
    pub metadata: Option<MapPatch>,
    /// Replaced or changed assets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::list_patch_i64))]
    pub asset_ids: Option<ListPatch<i64>>,
    /// New or no data set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::set_or_null_i64))]
    pub data_set_id: Option<SetOrNull<i64>>,
    /// New or no source creation time, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::set_or_null_i64))]
    pub source_created_time: Option<SetOrNull<i64>>,
    /// New or no source modification time, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::set_or_null_i64))]
    pub source_modified_time: Option<SetOrNull<i64>>,
    /// Replaced or changed security categories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::list_patch_i64))]
    pub security_categories: Option<ListPatch<i64>>,
    /// Labels added and removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<LabelsPatch>,
    /// New or no GeoJSON `Feature`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::set_or_null_value))]
    pub geo_location: Option<SetOrNull<Value>>,
}

impl FileChange {
    /// Checks every value the change brings. Limits that depend on the stored file (the merged
    /// metadata's size, the list lengths after `add`) are the server's to check on the result
    /// with [`validate_metadata`] and friends.
    pub fn validate(&self) -> Result<(), FieldError> {
        if let Some(SetOrNull::Set(external_id)) = &self.external_id {
            validate_external_id(external_id)?;
        }
        if let Some(SetOrNull::Set(directory)) = &self.directory {
            validate_directory(directory)?;
        }
        if let Some(SetOrNull::Set(source)) = &self.source {
            check_chars("source", source, MAX_SOURCE_CHARS)?;
        }
        if let Some(SetOrNull::Set(mime_type)) = &self.mime_type {
            check_chars("mimeType", mime_type, MAX_MIME_TYPE_CHARS)?;
        }
        match &self.metadata {
            Some(MapPatch::Set(set)) => validate_metadata(set)?,
            Some(MapPatch::Change { add, .. }) => {
                validate_metadata(add).map_err(|e| FieldError::new("metadata.add", e.problem))?;
            }
            None => {}
        }
        if let Some(patch) = &self.asset_ids {
            check_list_patch("assetIds", patch, MAX_ASSET_IDS)?;
        }
        if let Some(SetOrNull::Set(id)) = self.data_set_id {
            check_id("dataSetId", id)?;
        }
        if let Some(SetOrNull::Set(time)) = self.source_created_time {
            check_time("sourceCreatedTime", time)?;
        }
        if let Some(SetOrNull::Set(time)) = self.source_modified_time {
            check_time("sourceModifiedTime", time)?;
        }
        if let Some(patch) = &self.security_categories {
            check_list_patch("securityCategories", patch, MAX_SECURITY_CATEGORIES)?;
        }
        if let Some(labels) = &self.labels {
            validate_labels("labels.add", &labels.add, 0)?;
            validate_labels("labels.remove", &labels.remove, 0)?;
        }
        if let Some(SetOrNull::Set(geo_location)) = &self.geo_location {
            validate_geo_location(geo_location)?;
        }
        Ok(())
    }
}

/// One item of `POST /files/update`: `{"id": 1, "update": {...}}` or `{"externalId": "a", ...}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileUpdate {
    /// The file to change.
    #[serde(flatten)]
    pub identity: Identity,
    /// What to change.
    pub update: FileChange,
}

/// The body of `POST /files/update`, answered with the changed files in the same order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    /// The changes.
    pub items: Vec<FileUpdate>,
}

impl UpdateRequest {
    /// Checks 1..=[`MAX_ITEMS`] items, each identity and each change.
    pub fn validate(&self) -> Result<(), FieldError> {
        check_count("items", self.items.len(), 1, MAX_ITEMS)?;
        for (i, item) in self.items.iter().enumerate() {
            let prefix = format!("items[{i}]");
            item.identity.validate().map_err(|e| e.within(&prefix))?;
            item.update
                .validate()
                .map_err(|e| e.within(&format!("{prefix}.update")))?;
        }
        Ok(())
    }
}

fn check_list_patch(field: &str, patch: &ListPatch<i64>, max: usize) -> Result<(), FieldError> {
    match patch {
        ListPatch::Set(set) => {
            check_count(&format!("{field}.set"), set.len(), 0, max)?;
            check_ids(&format!("{field}.set"), set)
        }
        ListPatch::Change { add, remove } => {
            check_count(&format!("{field}.add"), add.len(), 0, max)?;
            check_ids(&format!("{field}.add"), add)?;
            check_count(&format!("{field}.remove"), remove.len(), 0, max)?;
            check_ids(&format!("{field}.remove"), remove)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Field rules

/// A name: not empty, at most [`MAX_NAME_CHARS`] characters.
pub fn validate_name(name: &str) -> Result<(), FieldError> {
    if name.is_empty() {
        return Err(FieldError::new("name", "must not be empty"));
    }
    check_chars("name", name, MAX_NAME_CHARS)
}

/// An externalId: at most [`MAX_EXTERNAL_ID_CHARS`] characters.
pub fn validate_external_id(external_id: &str) -> Result<(), FieldError> {
    check_chars("externalId", external_id, MAX_EXTERNAL_ID_CHARS)
}

/// A directory: an absolute unix-style path (it starts with `/`), at most
/// [`MAX_DIRECTORY_CHARS`] characters.
pub fn validate_directory(directory: &str) -> Result<(), FieldError> {
    if !directory.starts_with('/') {
        return Err(FieldError::new(
            "directory",
            format!(
                "must be an absolute path starting with / (got {:?})",
                shorten(directory)
            ),
        ));
    }
    check_chars("directory", directory, MAX_DIRECTORY_CHARS)
}

/// Metadata: keys of at most [`MAX_METADATA_KEY_BYTES`] bytes, values of at most
/// [`MAX_METADATA_VALUE_BYTES`], at most [`MAX_METADATA_PAIRS`] pairs and
/// [`MAX_METADATA_TOTAL_BYTES`] bytes of keys and values together.
pub fn validate_metadata(metadata: &BTreeMap<String, String>) -> Result<(), FieldError> {
    let field = "metadata";
    if metadata.len() > MAX_METADATA_PAIRS {
        return Err(FieldError::new(
            field,
            format!(
                "must have at most {MAX_METADATA_PAIRS} pairs (got {})",
                metadata.len()
            ),
        ));
    }
    let mut total = 0;
    for (key, value) in metadata {
        if key.len() > MAX_METADATA_KEY_BYTES {
            return Err(FieldError::new(
                field,
                format!(
                    "key {:?} must be at most {MAX_METADATA_KEY_BYTES} bytes (got {})",
                    shorten(key),
                    key.len()
                ),
            ));
        }
        if value.len() > MAX_METADATA_VALUE_BYTES {
            return Err(FieldError::new(
                field,
                format!(
                    "value of {:?} must be at most {MAX_METADATA_VALUE_BYTES} bytes (got {})",
                    shorten(key),
                    value.len()
                ),
            ));
        }
        total += key.len() + value.len();
    }
    if total > MAX_METADATA_TOTAL_BYTES {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_METADATA_TOTAL_BYTES} bytes of keys and values in total (got {total})"),
        ));
    }
    Ok(())
}

/// Security categories: at most [`MAX_SECURITY_CATEGORIES`], each an id.
pub fn validate_security_categories(categories: &[i64]) -> Result<(), FieldError> {
    check_count(
        "securityCategories",
        categories.len(),
        0,
        MAX_SECURITY_CATEGORIES,
    )?;
    check_ids("securityCategories", categories)
}

/// Labels: `min..=`[`MAX_LABELS`] of them, each externalId at most [`MAX_EXTERNAL_ID_CHARS`].
pub fn validate_labels(field: &str, labels: &[Label], min: usize) -> Result<(), FieldError> {
    check_count(field, labels.len(), min, MAX_LABELS)?;
    for (i, label) in labels.iter().enumerate() {
        check_chars(
            &format!("{field}[{i}].externalId"),
            &label.external_id,
            MAX_EXTERNAL_ID_CHARS,
        )?;
    }
    Ok(())
}

/// A `geoLocation`: a GeoJSON `Feature` whose `geometry` is one of [`GEOMETRY_TYPES`] with
/// well-formed `coordinates`, and whose `properties`, if any, is an object.
pub fn validate_geo_location(geo_location: &Value) -> Result<(), FieldError> {
    let field = "geoLocation";
    let Value::Object(feature) = geo_location else {
        return Err(FieldError::new(field, "must be a GeoJSON Feature object"));
    };
    match feature.get("type") {
        Some(Value::String(kind)) if kind == "Feature" => {}
        other => {
            return Err(FieldError::new(
                field,
                format!("must be a GeoJSON Feature (got type {})", describe(other)),
            ))
        }
    }
    let geometry = feature
        .get("geometry")
        .ok_or_else(|| FieldError::new("geoLocation.geometry", "is required"))?;
    validate_geometry("geoLocation.geometry", geometry)?;
    match feature.get("properties") {
        None | Some(Value::Object(_) | Value::Null) => Ok(()),
        Some(_) => Err(FieldError::new(
            "geoLocation.properties",
            "must be an object",
        )),
    }
}

/// A GeoJSON geometry (`{"type": "Point", "coordinates": [x, y]}` and the other
/// [`GEOMETRY_TYPES`]), named `field` in errors.
pub fn validate_geometry(field: &str, geometry: &Value) -> Result<(), FieldError> {
    let Value::Object(geometry) = geometry else {
        return Err(FieldError::new(field, "must be a GeoJSON geometry object"));
    };
    let kind = match geometry.get("type") {
        Some(Value::String(kind)) if GEOMETRY_TYPES.contains(&kind.as_str()) => kind.as_str(),
        other => {
            return Err(FieldError::new(
                format!("{field}.type"),
                format!(
                    "must be one of {} (got {})",
                    GEOMETRY_TYPES.join(", "),
                    describe(other)
                ),
            ))
        }
    };
    let field = format!("{field}.coordinates");
    let coordinates = geometry
        .get("coordinates")
        .ok_or_else(|| FieldError::new(field.as_str(), "is required"))?;
    match kind {
        "Point" => check_position(&field, coordinates),
        "MultiPoint" => check_each(&field, coordinates, 1, check_position),
        "LineString" => check_line(&field, coordinates),
        "MultiLineString" => check_each(&field, coordinates, 1, check_line),
        "Polygon" => check_polygon(&field, coordinates),
        _ => check_each(&field, coordinates, 1, check_polygon),
    }
}

/// `[x, y]` or `[x, y, z]`, numbers.
fn check_position(field: &str, value: &Value) -> Result<(), FieldError> {
    match value {
        Value::Array(numbers)
            if (2..=3).contains(&numbers.len()) && numbers.iter().all(Value::is_number) =>
        {
            Ok(())
        }
        _ => Err(FieldError::new(field, "must be a position [x, y]")),
    }
}

/// Two or more positions.
fn check_line(field: &str, value: &Value) -> Result<(), FieldError> {
    check_each(field, value, 2, check_position)
}

/// One or more linear rings: four or more positions, the last equal to the first.
fn check_polygon(field: &str, value: &Value) -> Result<(), FieldError> {
    check_each(field, value, 1, |field, ring| {
        check_each(field, ring, 4, check_position)?;
        let closed = ring.as_array().is_some_and(|p| p.first() == p.last());
        if closed {
            Ok(())
        } else {
            Err(FieldError::new(
                field,
                "must be a closed ring (last position = first)",
            ))
        }
    })
}

fn check_each(
    field: &str,
    value: &Value,
    min: usize,
    each: impl Fn(&str, &Value) -> Result<(), FieldError>,
) -> Result<(), FieldError> {
    let Value::Array(items) = value else {
        return Err(FieldError::new(field, "must be an array"));
    };
    if items.len() < min {
        return Err(FieldError::new(
            field,
            format!("must have at least {min} items (got {})", items.len()),
        ));
    }
    items
        .iter()
        .enumerate()
        .try_for_each(|(i, item)| each(&format!("{field}[{i}]"), item))
}

fn check_chars(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    let count = value.chars().count();
    if count > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters (got {count})"),
        ));
    }
    Ok(())
}

fn check_count(field: &str, count: usize, min: usize, max: usize) -> Result<(), FieldError> {
    if (min..=max).contains(&count) {
        return Ok(());
    }
    let problem = if min == 0 {
        format!("must have at most {max} items (got {count})")
    } else {
        format!("must have between {min} and {max} items (got {count})")
    };
    Err(FieldError::new(field, problem))
}

fn check_id(field: &str, id: i64) -> Result<(), FieldError> {
    if (1..=MAX_ID).contains(&id) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!("must be between 1 and {MAX_ID} (got {id})"),
        ))
    }
}

fn check_ids(field: &str, ids: &[i64]) -> Result<(), FieldError> {
    ids.iter()
        .enumerate()
        .try_for_each(|(i, id)| check_id(&format!("{field}[{i}]"), *id))
}

fn check_time(field: &str, time: i64) -> Result<(), FieldError> {
    if time < 0 {
        return Err(FieldError::new(
            field,
            format!("must be at least 0 (got {time})"),
        ));
    }
    Ok(())
}

/// The first 40 characters of `text`, with `…` when there were more: for error messages.
fn shorten(text: &str) -> String {
    crate::shorten(text, 40)
}

/// `"Point"`, `a number`, `nothing`: how a JSON value reads in an error message.
fn describe(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "none".to_owned(),
        Some(Value::String(text)) => format!("{:?}", shorten(text)),
        Some(Value::Bool(_)) => "a boolean".to_owned(),
        Some(Value::Number(_)) => "a number".to_owned(),
        Some(Value::Array(_)) => "an array".to_owned(),
        Some(Value::Object(_)) => "an object".to_owned(),
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => write!(f, "id {id}"),
            Self::ExternalId(external_id) => write!(f, "externalId {external_id:?}"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Parses `body` as `T`, serializes it back, and checks nothing was lost or added.
    fn round_trip<T: Serialize + for<'de> Deserialize<'de>>(body: &str) -> T {
        let parsed: T = serde_json::from_str(body).unwrap();
        let original: Value = serde_json::from_str(body).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), original, "{body}");
        parsed
    }

    fn file(name: &str) -> FileCreate {
        FileCreate {
            name: name.to_owned(),
            ..FileCreate::default()
        }
    }

    fn pairs(count: usize) -> BTreeMap<String, String> {
        (0..count)
            .map(|i| (format!("k{i}"), "v".to_owned()))
            .collect()
    }

    fn labels(count: usize) -> Vec<Label> {
        (0..count)
            .map(|i| Label {
                external_id: format!("l{i}"),
            })
            .collect()
    }

    fn point_feature() -> Value {
        json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [4.3, 60.2]}, "properties": {}})
    }

    /// Each case: a `POST /files` body, and `None` (accepted) or the start of its error, which
    /// must name the field. Every limit is tried at the limit and one past it.
    #[test]
    fn file_create_limits() {
        let x = |n: usize| "x".repeat(n);
        let e = |n: usize| "é".repeat(n);
        let ids = |n: i64| (1..=n).collect::<Vec<i64>>();
        let many = |n: usize| json!(labels(n));
        let feature = |geometry: Value| json!({"type": "Feature", "geometry": geometry});
        let cases = [
            (json!({"name": e(256)}), None),
            (json!({"name": e(257)}), Some("name must be at most 256 characters (got 257)")),
            (json!({"name": ""}), Some("name must not be empty")),
            (json!({"name": "n", "externalId": x(255)}), None),
            (json!({"name": "n", "externalId": x(256)}), Some("externalId must be at most 255 characters (got 256)")),
            (json!({"name": "n", "directory": "/"}), None),
            (json!({"name": "n", "directory": format!("/{}", x(511))}), None),
            (json!({"name": "n", "directory": format!("/{}", x(512))}), Some("directory must be at most 512 characters (got 513)")),
            (json!({"name": "n", "directory": "docs/a"}), Some("directory must be an absolute path starting with / (got \"docs/a\")")),
            (json!({"name": "n", "source": x(128)}), None),
            (json!({"name": "n", "source": x(129)}), Some("source must be at most 128 characters (got 129)")),
            (json!({"name": "n", "mimeType": x(256)}), None),
            (json!({"name": "n", "mimeType": x(257)}), Some("mimeType must be at most 256 characters (got 257)")),
            (json!({"name": "n", "metadata": pairs(256)}), None),
            (json!({"name": "n", "metadata": pairs(257)}), Some("metadata must have at most 256 pairs (got 257)")),
            (json!({"name": "n", "metadata": {e(64): "v"}}), None),
            (json!({"name": "n", "metadata": {format!("{}a", e(64)): "v"}}), Some("metadata key \"éééé")),
            (json!({"name": "n", "metadata": {"k": x(10_239)}}), None),
            (
                json!({"name": "n", "metadata": {"k": x(10_240)}}),
                Some("metadata must be at most 10240 bytes of keys and values in total (got 10241)"),
            ),
            (json!({"name": "n", "metadata": {"k": x(10_241)}}), Some("metadata value of \"k\" must be at most 10240 bytes (got 10241)")),
            (json!({"name": "n", "assetIds": ids(1000)}), None),
            (json!({"name": "n", "assetIds": ids(1001)}), Some("assetIds must have between 1 and 1000 items (got 1001)")),
            (json!({"name": "n", "assetIds": []}), Some("assetIds must have between 1 and 1000 items (got 0)")),
            (json!({"name": "n", "assetIds": [MAX_ID]}), None),
            (
                json!({"name": "n", "assetIds": [1, MAX_ID + 1]}),
                Some("assetIds[1] must be between 1 and 9007199254740991 (got 9007199254740992)"),
            ),
            (json!({"name": "n", "assetIds": [0]}), Some("assetIds[0] must be between 1 and 9007199254740991 (got 0)")),
            (json!({"name": "n", "dataSetId": 1}), None),
            (json!({"name": "n", "dataSetId": MAX_ID}), None),
            (json!({"name": "n", "dataSetId": 0}), Some("dataSetId must be between 1 and 9007199254740991 (got 0)")),
            (json!({"name": "n", "dataSetId": MAX_ID + 1}), Some("dataSetId must be between 1")),
            (json!({"name": "n", "sourceCreatedTime": 0}), None),
            (json!({"name": "n", "sourceCreatedTime": -1}), Some("sourceCreatedTime must be at least 0 (got -1)")),
            (json!({"name": "n", "sourceModifiedTime": 0}), None),
            (json!({"name": "n", "sourceModifiedTime": -1}), Some("sourceModifiedTime must be at least 0 (got -1)")),
            (json!({"name": "n", "securityCategories": ids(100)}), None),
            (json!({"name": "n", "securityCategories": ids(101)}), Some("securityCategories must have at most 100 items (got 101)")),
            (json!({"name": "n", "securityCategories": [0]}), Some("securityCategories[0] must be between 1")),
            (json!({"name": "n", "labels": many(10)}), None),
            (json!({"name": "n", "labels": many(11)}), Some("labels must have at most 10 items (got 11)")),
            (json!({"name": "n", "labels": [{"externalId": x(255)}]}), None),
            (json!({"name": "n", "labels": [{"externalId": x(256)}]}), Some("labels[0].externalId must be at most 255 characters (got 256)")),
            (json!({"name": "n", "geoLocation": point_feature()}), None),
            (
                json!({"name": "n", "geoLocation": {"type": "Point", "coordinates": [1, 2]}}),
                Some("geoLocation must be a GeoJSON Feature (got type \"Point\")"),
            ),
            (
                json!({"name": "n", "geoLocation": feature(json!({"type": "Circle", "coordinates": [1, 2]}))}),
                Some("geoLocation.geometry.type must be one of Point, MultiPoint, LineString, MultiLineString, Polygon, MultiPolygon (got \"Circle\")"),
            ),
            (json!({"name": "n", "geoLocation": {"type": "Feature"}}), Some("geoLocation.geometry is required")),
        ];
        for (body, expected) in cases {
            let file: FileCreate = serde_json::from_value(body.clone()).unwrap();
            let what = shorten(&body.to_string());
            match (file.validate(), expected) {
                (Ok(()), None) => {}
                (Err(err), Some(start)) => {
                    let text = err.to_string();
                    assert!(
                        text.starts_with(start),
                        "{what}: {text:?} does not start with {start:?}"
                    );
                    assert!(
                        text.starts_with(&err.field),
                        "{what}: {text:?} does not name {:?}",
                        err.field
                    );
                }
                (Ok(()), Some(start)) => panic!("{what}: accepted, expected {start:?}"),
                (Err(err), None) => panic!("{what}: refused: {err}"),
            }
        }
    }

    #[test]
    fn geometries() {
        let ring = json!([[0, 0], [1, 0], [1, 1], [0, 0]]);
        let cases = [
            (json!({"type": "Point", "coordinates": [1, 2]}), None),
            (json!({"type": "Point", "coordinates": [1, 2, 3]}), None),
            (
                json!({"type": "Point", "coordinates": [1]}),
                Some("g.coordinates must be a position"),
            ),
            (
                json!({"type": "Point", "coordinates": ["1", 2]}),
                Some("g.coordinates must be a position"),
            ),
            (
                json!({"type": "MultiPoint", "coordinates": [[1, 2], [3, 4]]}),
                None,
            ),
            (
                json!({"type": "LineString", "coordinates": [[1, 2], [3, 4]]}),
                None,
            ),
            (
                json!({"type": "LineString", "coordinates": [[1, 2]]}),
                Some("g.coordinates must have at least 2 items (got 1)"),
            ),
            (
                json!({"type": "MultiLineString", "coordinates": [[[1, 2], [3, 4]]]}),
                None,
            ),
            (json!({"type": "Polygon", "coordinates": [ring]}), None),
            (
                json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}),
                Some("g.coordinates[0] must be a closed ring"),
            ),
            (
                json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}),
                Some("g.coordinates[0] must have at least 4 items (got 3)"),
            ),
            (
                json!({"type": "MultiPolygon", "coordinates": [[ring]]}),
                None,
            ),
            (
                json!({"type": "MultiPolygon", "coordinates": [ring]}),
                Some("g.coordinates[0][0] must have at least 4 items (got 2)"),
            ),
            (json!({"type": "Point"}), Some("g.coordinates is required")),
            (
                json!({"type": "GeometryCollection", "geometries": []}),
                Some("g.type must be one of"),
            ),
            (json!([1, 2]), Some("g must be a GeoJSON geometry object")),
        ];
        for (geometry, expected) in cases {
            match (validate_geometry("g", &geometry), expected) {
                (Ok(()), None) => {}
                (Err(err), Some(start)) => {
                    assert!(err.to_string().starts_with(start), "{geometry}: {err}");
                }
                (result, _) => panic!("{geometry}: {result:?}, expected {expected:?}"),
            }
        }
        let with_properties = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}, "properties": []});
        assert_eq!(
            validate_geo_location(&with_properties)
                .unwrap_err()
                .to_string(),
            "geoLocation.properties must be an object"
        );
    }

    fn identities(count: usize) -> Vec<Identity> {
        (1..=count)
            .map(|i| Identity::Id(i64::try_from(i).unwrap()))
            .collect()
    }

    #[test]
    fn request_limits() {
        let by_ids = |count| {
            ByIdsRequest {
                items: identities(count),
                ignore_unknown_ids: false,
            }
            .validate()
        };
        assert!(by_ids(1).is_ok());
        assert!(by_ids(1000).is_ok());
        assert_eq!(
            by_ids(0).unwrap_err().to_string(),
            "items must have between 1 and 1000 items (got 0)"
        );
        assert_eq!(
            by_ids(1001).unwrap_err().to_string(),
            "items must have between 1 and 1000 items (got 1001)"
        );
        let delete = |count| {
            DeleteRequest {
                items: identities(count),
                ignore_unknown_ids: false,
            }
            .validate()
        };
        assert!(delete(1000).is_ok());
        assert_eq!(delete(1001).unwrap_err().field, "items");
        let links = |count| {
            DownloadLinkRequest {
                items: identities(count),
            }
            .validate()
        };
        assert!(links(100).is_ok());
        assert_eq!(
            links(101).unwrap_err().to_string(),
            "items must have between 1 and 100 items (got 101)"
        );

        let bad_ids = ByIdsRequest {
            items: vec![
                Identity::Id(1),
                Identity::Id(0),
                Identity::ExternalId("x".repeat(256)),
            ],
            ignore_unknown_ids: false,
        };
        assert_eq!(
            bad_ids.validate().unwrap_err().to_string(),
            "items[1].id must be between 1 and 9007199254740991 (got 0)"
        );
        let long_external = DeleteRequest {
            items: vec![Identity::ExternalId("x".repeat(256))],
            ignore_unknown_ids: false,
        };
        assert_eq!(
            long_external.validate().unwrap_err().to_string(),
            "items[0].externalId must be at most 255 characters (got 256)"
        );
        let at_max = ByIdsRequest {
            items: vec![Identity::Id(MAX_ID), Identity::ExternalId("x".repeat(255))],
            ignore_unknown_ids: true,
        };
        assert!(at_max.validate().is_ok());

        let list = |limit| ListRequest {
            limit,
            ..ListRequest::default()
        };
        assert_eq!(list(None).page_size().unwrap(), 100);
        assert_eq!(list(Some(1)).page_size().unwrap(), 1);
        assert_eq!(list(Some(1000)).page_size().unwrap(), 1000);
        assert_eq!(
            list(Some(0)).validate().unwrap_err().to_string(),
            "limit must be between 1 and 1000 (got 0)"
        );
        assert_eq!(
            list(Some(1001)).validate().unwrap_err().to_string(),
            "limit must be between 1 and 1000 (got 1001)"
        );
        let search = |limit| SearchRequest {
            limit,
            ..SearchRequest::default()
        };
        assert_eq!(search(Some(1000)).result_limit().unwrap(), 1000);
        assert_eq!(search(Some(1001)).validate().unwrap_err().field, "limit");

        assert!(validate_parts(1).is_ok());
        assert!(validate_parts(250).is_ok());
        assert_eq!(
            validate_parts(0).unwrap_err().to_string(),
            "parts must be between 1 and 250 (got 0)"
        );
        assert_eq!(
            validate_parts(251).unwrap_err().to_string(),
            "parts must be between 1 and 250 (got 251)"
        );

        let complete = CompleteMultipartRequest {
            identity: Identity::Id(3),
            upload_id: String::new(),
        };
        assert_eq!(
            complete.validate().unwrap_err().to_string(),
            "uploadId must not be empty"
        );
    }

    #[test]
    fn partitions() {
        assert_eq!(
            Partition::parse("1/1").unwrap(),
            Partition { index: 1, count: 1 }
        );
        assert_eq!(
            Partition::parse("3/10").unwrap(),
            Partition {
                index: 3,
                count: 10
            }
        );
        assert_eq!(
            Partition::parse("10/10").unwrap(),
            Partition {
                index: 10,
                count: 10
            }
        );
        for bad in [
            "0/3", "4/3", "1/11", "1/0", "x", "1/", "/2", "-1/2", "1/2/3",
        ] {
            let err = Partition::parse(bad).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("partition must be \"m/n\" with 1 <= m <= n <= 10"),
                "{bad}: {err}"
            );
        }
        let request = ListRequest {
            partition: Some("2/11".into()),
            ..ListRequest::default()
        };
        assert_eq!(request.validate().unwrap_err().field, "partition");
    }

    /// Each case: a `filter` of `files/list`, and `None` or the start of its error.
    #[test]
    fn filter_limits() {
        let x = |n: usize| "x".repeat(n);
        let ids = |n: i64| (1..=n).collect::<Vec<i64>>();
        let objects = |n: i64| (1..=n).map(|id| json!({ "id": id })).collect::<Vec<_>>();
        let cases = [
            (json!({"assetIds": ids(100)}), None),
            (
                json!({"assetIds": ids(101)}),
                Some("filter.assetIds must have between 1 and 100 items (got 101)"),
            ),
            (
                json!({"assetIds": []}),
                Some("filter.assetIds must have between 1 and 100 items (got 0)"),
            ),
            (json!({"assetExternalIds": vec![x(255); 100]}), None),
            (
                json!({"assetExternalIds": vec!["a"; 101]}),
                Some("filter.assetExternalIds must have between 1 and 100"),
            ),
            (
                json!({"assetExternalIds": [x(256)]}),
                Some("filter.assetExternalIds[0] must be at most 255 characters (got 256)"),
            ),
            (json!({"dataSetIds": objects(100)}), None),
            (
                json!({"dataSetIds": objects(101)}),
                Some("filter.dataSetIds must have between 1 and 100 items (got 101)"),
            ),
            (
                json!({"dataSetIds": [{"id": 0}]}),
                Some("filter.dataSetIds[0].id must be between 1"),
            ),
            (
                json!({"dataSetIds": [{"externalId": x(256)}]}),
                Some("filter.dataSetIds[0].externalId must be at most 255"),
            ),
            (
                json!({"rootAssetIds": objects(101)}),
                Some("filter.rootAssetIds must have between 1 and 100"),
            ),
            (
                json!({"assetSubtreeIds": []}),
                Some("filter.assetSubtreeIds must have between 1 and 100"),
            ),
            (json!({"externalIdPrefix": x(255)}), None),
            (
                json!({"externalIdPrefix": x(256)}),
                Some("filter.externalIdPrefix must be at most 255 characters (got 256)"),
            ),
            (json!({"directoryPrefix": x(512)}), None),
            (
                json!({"directoryPrefix": x(513)}),
                Some("filter.directoryPrefix must be at most 512 characters (got 513)"),
            ),
            (json!({"name": x(256)}), None),
            (
                json!({"name": x(257)}),
                Some("filter.name must be at most 256 characters (got 257)"),
            ),
            (
                json!({"mimeType": x(257)}),
                Some("filter.mimeType must be at most 256 characters"),
            ),
            (json!({"source": x(128)}), None),
            (
                json!({"source": x(129)}),
                Some("filter.source must be at most 128 characters"),
            ),
            (json!({"metadata": pairs(256)}), None),
            (
                json!({"metadata": pairs(257)}),
                Some("filter.metadata must have at most 256 pairs (got 257)"),
            ),
            (json!({"labels": {"containsAny": labels(10)}}), None),
            (
                json!({"labels": {"containsAll": labels(11)}}),
                Some("filter.labels.containsAll must have between 1 and 10 items (got 11)"),
            ),
            (
                json!({"labels": {"containsAny": []}}),
                Some("filter.labels.containsAny must have between 1 and 10 items (got 0)"),
            ),
            (
                json!({"createdTime": {"min": 0, "max": 0}, "lastUpdatedTime": {}}),
                None,
            ),
            (
                json!({"uploadedTime": {"min": -1}}),
                Some("filter.uploadedTime.min must be at least 0 (got -1)"),
            ),
            (
                json!({"sourceModifiedTime": {"max": -5}}),
                Some("filter.sourceModifiedTime.max must be at least 0 (got -5)"),
            ),
            (
                json!({"sourceCreatedTime": {"min": -2}}),
                Some("filter.sourceCreatedTime.min must be at least 0"),
            ),
            (
                json!({"geoLocation": {"relation": "within", "shape": {"type": "Feature"}}}),
                Some("filter.geoLocation.shape.type must be one of"),
            ),
            (json!({"uploaded": true, "directoryPrefix": "/a"}), None),
        ];
        for (filter, expected) in cases {
            let request: ListRequest = serde_json::from_value(json!({ "filter": filter })).unwrap();
            match (request.validate(), expected) {
                (Ok(()), None) => {}
                (Err(err), Some(start)) => {
                    assert!(err.to_string().starts_with(start), "{filter}: {err}");
                }
                (result, _) => panic!(
                    "{}: {result:?}, expected {expected:?}",
                    shorten(&filter.to_string())
                ),
            }
        }
        let aggregate = AggregateRequest {
            filter: Some(FileFilter {
                mime_type: Some(x(257)),
                ..FileFilter::default()
            }),
        };
        assert_eq!(aggregate.validate().unwrap_err().field, "filter.mimeType");
        let search = SearchRequest {
            filter: Some(FileFilter {
                source: Some(x(129)),
                ..FileFilter::default()
            }),
            ..SearchRequest::default()
        };
        assert_eq!(search.validate().unwrap_err().field, "filter.source");
    }

    #[test]
    fn unsupported_filters_are_named() {
        let filter: FileFilter =
            serde_json::from_value(json!({"rootAssetIds": [{"id": 1}]})).unwrap();
        assert!(filter.validate().is_ok());
        assert!(filter
            .reject_unsupported()
            .unwrap_err()
            .to_string()
            .starts_with("rootAssetIds is not supported"));
        let filter: FileFilter =
            serde_json::from_value(json!({"assetSubtreeIds": [{"externalId": "pump"}]})).unwrap();
        assert_eq!(
            filter.reject_unsupported().unwrap_err().field,
            "assetSubtreeIds"
        );
        let filter: FileFilter = serde_json::from_value(
            json!({"geoLocation": {"relation": "INTERSECTS", "shape": {"type": "Point", "coordinates": [1, 2]}}}),
        )
        .unwrap();
        assert_eq!(
            filter.geo_location.as_ref().unwrap().relation,
            GeoRelation::Intersects
        );
        assert!(filter.validate().is_ok());
        assert_eq!(
            filter.reject_unsupported().unwrap_err().field,
            "geoLocation"
        );
        assert!(FileFilter::default().reject_unsupported().is_ok());
    }

    #[test]
    fn update_limits() {
        let check = |update: Value| {
            let request: UpdateRequest =
                serde_json::from_value(json!({"items": [{"id": 7, "update": update}]})).unwrap();
            request.validate().map_err(|e| e.to_string())
        };
        assert!(
            check(json!({"assetIds": {"set": []}})).is_ok(),
            "a list may be emptied"
        );
        assert!(check(json!({"assetIds": {"set": (1..=1000).collect::<Vec<i64>>()}})).is_ok());
        assert_eq!(
            check(json!({"assetIds": {"set": (1..=1001).collect::<Vec<i64>>()}})).unwrap_err(),
            "items[0].update.assetIds.set must have at most 1000 items (got 1001)"
        );
        assert_eq!(
            check(json!({"assetIds": {"add": [3], "remove": [0]}})).unwrap_err(),
            "items[0].update.assetIds.remove[0] must be between 1 and 9007199254740991 (got 0)"
        );
        assert_eq!(
            check(json!({"securityCategories": {"add": (1..=101).collect::<Vec<i64>>()}}))
                .unwrap_err(),
            "items[0].update.securityCategories.add must have at most 100 items (got 101)"
        );
        assert!(check(json!({"externalId": {"set": "x".repeat(255)}})).is_ok());
        assert_eq!(
            check(json!({"externalId": {"set": "x".repeat(256)}})).unwrap_err(),
            "items[0].update.externalId must be at most 255 characters (got 256)"
        );
        assert!(
            check(json!({"externalId": {"setNull": true}, "source": {"setNull": true}})).is_ok()
        );
        assert_eq!(
            check(json!({"directory": {"set": "relative"}})).unwrap_err(),
            "items[0].update.directory must be an absolute path starting with / (got \"relative\")"
        );
        assert_eq!(
            check(json!({"sourceCreatedTime": {"set": -1}})).unwrap_err(),
            "items[0].update.sourceCreatedTime must be at least 0 (got -1)"
        );
        assert_eq!(
            check(json!({"dataSetId": {"set": 0}})).unwrap_err(),
            "items[0].update.dataSetId must be between 1 and 9007199254740991 (got 0)"
        );
        assert!(check(json!({"metadata": {"set": pairs(256)}})).is_ok());
        assert_eq!(
            check(json!({"metadata": {"set": pairs(257)}})).unwrap_err(),
            "items[0].update.metadata must have at most 256 pairs (got 257)"
        );
        assert_eq!(
            check(json!({"metadata": {"add": {"k".repeat(129): "v"}}})).unwrap_err(),
            format!(
                "items[0].update.metadata.add key {:?} must be at most 128 bytes (got 129)",
                format!("{}…", "k".repeat(40))
            )
        );
        assert!(check(json!({"labels": {"add": labels(10), "remove": labels(10)}})).is_ok());
        assert_eq!(
            check(json!({"labels": {"add": labels(11)}})).unwrap_err(),
            "items[0].update.labels.add must have at most 10 items (got 11)"
        );
        assert_eq!(
            check(json!({"geoLocation": {"set": {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1]}}}})).unwrap_err(),
            "items[0].update.geoLocation.geometry.coordinates must be a position [x, y]"
        );
        assert!(check(json!({"geoLocation": {"set": point_feature()}})).is_ok());
        assert!(check(json!({})).is_ok(), "an empty change changes nothing");

        let items = |count: usize| UpdateRequest {
            items: (1..=count)
                .map(|i| FileUpdate {
                    identity: Identity::Id(i64::try_from(i).unwrap()),
                    update: FileChange::default(),
                })
                .collect(),
        };
        assert!(items(1000).validate().is_ok());
        assert_eq!(
            items(1001).validate().unwrap_err().to_string(),
            "items must have between 1 and 1000 items (got 1001)"
        );
        assert_eq!(items(0).validate().unwrap_err().field, "items");
        let bad_id = UpdateRequest {
            items: vec![FileUpdate {
                identity: Identity::Id(-3),
                update: FileChange::default(),
            }],
        };
        assert_eq!(bad_id.validate().unwrap_err().field, "items[0].id");
    }

    /// Bodies as `@cognite/sdk` 10.5.0 sent them (recorded, pretty-printing aside).
    #[test]
    fn sdk_request_bodies_round_trip() {
        let create: FileCreate = round_trip(
            r#"{"externalId":"sdk-content","name":"Überraschung – 日本語 📄 report.txt","directory":"/sdk/docs",
               "source":"sdk-test","mimeType":"text/plain","metadata":{"clé":"välue ✓","plain":"x","empty":""}}"#,
        );
        create.validate().unwrap();
        assert_eq!(create.metadata.as_ref().unwrap()["clé"], "välue ✓");

        let full: FileCreate = round_trip(
            r#"{"name":"examplefile.jpg","externalId":"my.known.id","directory":"/a","source":"s","mimeType":"image/jpeg",
               "metadata":{},"assetIds":[4503599627370496],"dataSetId":4503599627370496,"sourceCreatedTime":1730204346000,
               "sourceModifiedTime":1730204346000,"securityCategories":[4503599627370496],"labels":[{"externalId":"my.known.id"}],
               "geoLocation":{"type":"Feature","geometry":{"type":"Point","coordinates":[123,45]},"properties":{}}}"#,
        );
        full.validate().unwrap();

        let by_ids: ByIdsRequest = serde_json::from_str(
            r#"{"ignoreUnknownIds": true, "items": [{"id": 1006}, {"externalId": "nope"}, {"id": 9007199254740991}]}"#,
        )
        .unwrap();
        assert!(by_ids.ignore_unknown_ids);
        assert_eq!(
            by_ids.items,
            [
                Identity::Id(1006),
                Identity::ExternalId("nope".into()),
                Identity::Id(MAX_ID)
            ]
        );
        by_ids.validate().unwrap();
        let plain: ByIdsRequest = round_trip(r#"{"items":[{"id":1000}],"ignoreUnknownIds":false}"#);
        assert!(!plain.ignore_unknown_ids);

        let list: ListRequest =
            round_trip(r#"{"filter":{"directoryPrefix":"/sdk/paging"},"limit":5,"cursor":"1029"}"#);
        assert_eq!(list.page_size().unwrap(), 5);
        let ranged: ListRequest = round_trip(
            r#"{"filter":{"directoryPrefix":"/sdk/list/","createdTime":{"min":1764620000123,"max":1764620000123},
               "metadata":{"kind":"report"},"uploaded":false,"externalIdPrefix":"sdk-list-","mimeType":"text/plain"},
               "limit":1000,"partition":"1/3"}"#,
        );
        ranged.validate().unwrap();
        let filter = ranged.filter.as_ref().unwrap();
        assert!(filter
            .created_time
            .unwrap()
            .contains(Some(1_764_620_000_123)));
        assert!(!filter
            .created_time
            .unwrap()
            .contains(Some(1_764_620_000_124)));
        assert!(!filter.created_time.unwrap().contains(None));
        assert_eq!(
            ranged.partition().unwrap(),
            Some(Partition { index: 1, count: 3 })
        );
        let empty: ListRequest = round_trip("{}");
        assert_eq!(empty.page_size().unwrap(), DEFAULT_LIST_LIMIT as usize);

        let search: SearchRequest = round_trip(
            r#"{"filter":{"directoryPrefix":"/sdk/search","mimeType":"image/jpeg"},"search":{"name":"photo"},"limit":10}"#,
        );
        assert_eq!(search.search.unwrap().name.as_deref(), Some("photo"));
        let aggregate: AggregateRequest =
            round_trip(r#"{"filter":{"directoryPrefix":"/sdk/count","uploaded":true}}"#);
        assert_eq!(aggregate.filter.unwrap().uploaded, Some(true));
        let _: DeleteRequest =
            serde_json::from_str(r#"{"items":[{"id":1079},{"externalId":"sdk-del-b"}]}"#).unwrap();
        let _: DownloadLinkRequest = round_trip(r#"{"items":[{"id":1000}]}"#);
        let complete: CompleteMultipartRequest = round_trip(r#"{"id":1083,"uploadId":"mp1084"}"#);
        assert_eq!(complete.identity, Identity::Id(1083));
        let by_external: CompleteMultipartRequest =
            round_trip(r#"{"externalId":"big","uploadId":"u"}"#);
        assert_eq!(by_external.identity, Identity::ExternalId("big".into()));

        let labels: FileFilter = round_trip(r#"{"labels":{"containsAny":[{"externalId":"red"}]}}"#);
        assert_eq!(
            labels.labels,
            Some(LabelFilter::ContainsAny(vec![Label {
                external_id: "red".into()
            }]))
        );
    }

    #[test]
    fn sdk_update_bodies_round_trip() {
        let update: UpdateRequest = round_trip(
            r#"{"items":[{"id":1067,"update":{"metadata":{"add":{"c":"3","b":"two"},"remove":["a"]},"source":{"setNull":true},
               "assetIds":{"add":[3],"remove":[1]},"mimeType":{"set":"text/csv"},"directory":{"set":"/sdk/upd/moved"},
               "sourceCreatedTime":{"set":1614834367089},"dataSetId":{"set":42},
               "labels":{"add":[{"externalId":"red"},{"externalId":"blue"}]}}}]}"#,
        );
        update.validate().unwrap();
        let change = &update.items[0].update;
        assert_eq!(update.items[0].identity, Identity::Id(1067));
        assert_eq!(
            change.metadata,
            Some(MapPatch::Change {
                add: BTreeMap::from([("b".into(), "two".into()), ("c".into(), "3".into())]),
                remove: vec!["a".into()],
            })
        );
        assert_eq!(change.source, Some(SetOrNull::SetNull));
        assert_eq!(
            change.asset_ids,
            Some(ListPatch::Change {
                add: vec![3],
                remove: vec![1]
            })
        );
        assert_eq!(
            change.source_created_time,
            Some(SetOrNull::Set(1_614_834_367_089))
        );
        assert_eq!(change.labels.as_ref().unwrap().add.len(), 2);

        let by_external: UpdateRequest = round_trip(
            r#"{"items":[{"externalId":"sdk-upd","update":{"externalId":{"set":"sdk-upd-renamed"},"metadata":{"set":{"only":"this"}},
               "assetIds":{"set":[7]},"sourceCreatedTime":{"setNull":true},"dataSetId":{"setNull":true},
               "labels":{"remove":[{"externalId":"red"}]},"geoLocation":{"setNull":false}}}]}"#,
        );
        let change = &by_external.items[0].update;
        assert_eq!(
            by_external.items[0].identity,
            Identity::ExternalId("sdk-upd".into())
        );
        assert_eq!(
            change.metadata,
            Some(MapPatch::Set(BTreeMap::from([(
                "only".into(),
                "this".into()
            )])))
        );
        assert_eq!(change.asset_ids, Some(ListPatch::Set(vec![7])));
        assert_eq!(change.geo_location, Some(SetOrNull::Keep));
        by_external.validate().unwrap();

        let only_remove: MapPatch = serde_json::from_value(json!({"remove": ["a"]})).unwrap();
        assert_eq!(
            only_remove,
            MapPatch::Change {
                add: BTreeMap::new(),
                remove: vec!["a".into()]
            }
        );
        let only_add: ListPatch<i64> = serde_json::from_value(json!({"add": [1]})).unwrap();
        assert_eq!(
            only_add,
            ListPatch::Change {
                add: vec![1],
                remove: vec![]
            }
        );
    }

    #[test]
    fn malformed_bodies_are_refused_with_a_reason() {
        let refused = |result: Result<Value, String>, needle: &str| {
            let text = result.unwrap_err();
            assert!(text.contains(needle), "{text:?} lacks {needle:?}");
        };
        let parse = |t: &str| {
            serde_json::from_str::<UpdateRequest>(t)
                .map(|_| Value::Null)
                .map_err(|e| e.to_string())
        };
        refused(
            parse(r#"{"items":[{"id":1,"update":{"source":{"set":"a","setNull":true}}}]}"#),
            "either set or setNull",
        );
        refused(
            parse(r#"{"items":[{"id":1,"update":{"source":{}}}]}"#),
            "needs set",
        );
        refused(
            parse(r#"{"items":[{"id":1,"update":{"source":{"set":null}}}]}"#),
            "needs set",
        );
        refused(
            parse(r#"{"items":[{"id":1,"update":{"source":{"sett":"a"}}}]}"#),
            "unknown field",
        );
        refused(
            parse(r#"{"items":[{"id":1,"update":{"metadata":{"set":{},"add":{}}}}]}"#),
            "not both",
        );
        refused(
            parse(r#"{"items":[{"id":1,"update":{"metadata":{}}}]}"#),
            "needs set, or add",
        );
        refused(
            parse(r#"{"items":[{"id":1,"update":{"assetIds":{"set":[1],"remove":[2]}}}]}"#),
            "not both",
        );
        refused(
            parse(r#"{"items":[{"id":1,"update":{"labels":{"set":[]}}}]}"#),
            "unknown field",
        );
        refused(
            parse(r#"{"items":[{"id":1,"update":{"name":{"set":"x"}}}]}"#),
            "unknown field `name`",
        );
        refused(
            parse(r#"{"items":[{"id":1,"externalId":"a","update":{}}]}"#),
            "not both",
        );
        refused(
            parse(r#"{"items":[{"update":{}}]}"#),
            "id or externalId is required",
        );
        refused(
            parse(r#"{"items":[{"instanceId":{"space":"s","externalId":"e"},"update":{}}]}"#),
            "instanceId is not supported",
        );

        let create = |t: &str| {
            serde_json::from_str::<FileCreate>(t)
                .map(|_| Value::Null)
                .map_err(|e| e.to_string())
        };
        refused(
            create(r#"{"name":"a","uploaded":true}"#),
            "unknown field `uploaded`",
        );
        refused(create(r#"{"externalId":"a"}"#), "missing field `name`");
        refused(create(r#"{"name":"a","metadata":{"k":1}}"#), "invalid type");
        let ids = |t: &str| {
            serde_json::from_str::<ByIdsRequest>(t)
                .map(|_| Value::Null)
                .map_err(|e| e.to_string())
        };
        refused(ids(r#"{"items":[{"id":1,"externalId":"a"}]}"#), "not both");
        refused(ids(r#"{"items":[{}]}"#), "id or externalId is required");
        refused(ids(r#"{"items":[{"id":"1"}]}"#), "invalid type");
        refused(
            ids(r#"{"items":[{"id":1}],"limit":3}"#),
            "unknown field `limit`",
        );
        let filter = |t: &str| {
            serde_json::from_str::<ListRequest>(t)
                .map(|_| Value::Null)
                .map_err(|e| e.to_string())
        };
        refused(
            filter(r#"{"filter":{"labels":{"containsSome":[]}}}"#),
            "unknown variant",
        );
        refused(
            filter(r#"{"filter":{"directory":"/a"}}"#),
            "unknown field `directory`",
        );
        refused(
            filter(r#"{"filter":{"createdTime":{"from":1}}}"#),
            "unknown field `from`",
        );
        refused(
            filter(r#"{"filter":{"geoLocation":{"relation":"near","shape":{}}}}"#),
            "unknown variant",
        );
    }

    #[test]
    fn responses_serialize_as_the_sdk_reads_them() {
        let info: FileInfo = round_trip(
            r#"{"id":4503599627370496,"externalId":"my.known.id","name":"examplefile.jpg","directory":"/a","mimeType":"image/jpeg",
               "metadata":{"k":"v"},"assetIds":[1],"labels":[{"externalId":"red"}],"createdTime":1730204346000,
               "lastUpdatedTime":1730204346000,"uploaded":false,"uploadUrl":"http://127.0.0.1:8080/upload/abc"}"#,
        );
        assert_eq!(info.uploaded_time, None);
        let fresh = FileInfo {
            upload_url: None,
            source: None,
            ..info.clone()
        };
        let text = serde_json::to_string(&fresh).unwrap();
        for absent in ["uploadUrl", "uploadedTime", "source", "null"] {
            assert!(!text.contains(absent), "{absent} in {text}");
        }

        let init: InitMultipartResponse = round_trip(
            r#"{"id":1083,"externalId":"big","name":"big.bin","createdTime":1,"lastUpdatedTime":1,"uploaded":false,
               "uploadUrls":["http://h/p/0","http://h/p/1"],"uploadId":"mp1084"}"#,
        );
        assert_eq!(init.file.id, 1083);
        assert_eq!(init.upload_urls.len(), 2);

        let page = ItemsResponse {
            items: vec![fresh],
            next_cursor: Some("c2".into()),
        };
        let value = serde_json::to_value(&page).unwrap();
        assert_eq!(value["nextCursor"], "c2");
        assert_eq!(value["items"][0]["id"], 4_503_599_627_370_496_i64);
        let last: ItemsResponse<AggregateCount> = round_trip(r#"{"items":[{"count":3}]}"#);
        assert_eq!(last.items[0].count, 3);
        assert_eq!(serde_json::to_string(&EmptyResponse {}).unwrap(), "{}");

        let links: ItemsResponse<DownloadLinkItem> = round_trip(
            r#"{"items":[{"id":1,"downloadUrl":"http://h/d/1"},{"externalId":"a","downloadUrl":"http://h/d/2"}]}"#,
        );
        assert_eq!(links.items[1].identity, Identity::ExternalId("a".into()));
    }

    #[test]
    fn error_envelopes() {
        assert_eq!(
            serde_json::to_value(ErrorEnvelope::duplicated_external_ids(&["a".into()])).unwrap(),
            json!({"error": {"code": 409, "message": "Duplicate external ids", "duplicated": [{"externalId": "a"}]}})
        );
        assert_eq!(
            serde_json::to_value(ErrorEnvelope::missing(&[
                Identity::Id(123),
                Identity::ExternalId("nope".into())
            ]))
            .unwrap(),
            json!({"error": {"code": 400, "message": "Files not found", "missing": [{"id": 123}, {"externalId": "nope"}]}})
        );
        let field: ErrorEnvelope = file(&"n".repeat(257)).validate().unwrap_err().into();
        assert_eq!(
            serde_json::to_value(field).unwrap(),
            json!({"error": {"code": 400, "message": "name must be at most 256 characters (got 257)"}})
        );
        let parsed: ErrorEnvelope = round_trip(
            r#"{"error":{"code":400,"message":"Files not found","missing":[{"id":1}]}}"#,
        );
        assert_eq!(parsed.error.missing, Some(vec![json!({"id": 1})]));
    }

    #[test]
    fn duplicates_and_small_helpers() {
        let items = [
            Identity::Id(1),
            Identity::ExternalId("a".into()),
            Identity::Id(1),
            Identity::ExternalId("a".into()),
            Identity::Id(1),
            Identity::Id(2),
        ];
        assert_eq!(
            duplicate_identities(&items),
            [Identity::Id(1), Identity::ExternalId("a".into())]
        );
        assert!(duplicate_identities(&items[..2]).is_empty());
        assert_eq!(Identity::Id(5).to_string(), "id 5");
        assert_eq!(
            Identity::ExternalId("x".into()).to_string(),
            "externalId \"x\""
        );
        assert_eq!(
            FieldError::new("[2].id", "is bad").within("items").field,
            "items[2].id"
        );
        assert_eq!(
            FieldError::new("name", "is bad")
                .within("filter")
                .to_string(),
            "filter.name is bad"
        );
        assert_eq!(shorten(&"é".repeat(41)), format!("{}…", "é".repeat(40)));
        assert_eq!(shorten("short"), "short");
    }
}
