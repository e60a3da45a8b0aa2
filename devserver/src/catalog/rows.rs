//! The `records` row and its conversion to and from [`FileRecord`]. Lists and maps are JSON
//! text columns; the searchable values are also rows of `record_terms`.

use stowage_protocol::FilePath;

use crate::model::{Access, Content, Fields, FileRecord, Visibility};

/// Every column of `records`, in [`Row`]'s order.
pub(super) const COLUMNS: &str = "id, path, directory, name, is_dir, external_id, source, \
    mime_type, metadata, asset_ids, data_set_id, security_categories, labels, geo_location, \
    source_created_ms, source_modified_ms, category, tags, created_ms, updated_ms, blob_id, \
    size, etag, uploaded_ms, owner_id, visibility, shared_with, access_epoch";

/// One row of `records`.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct Row {
    id: i64,
    path: Option<String>,
    directory: Option<String>,
    name: String,
    is_dir: i64,
    external_id: Option<String>,
    source: Option<String>,
    mime_type: Option<String>,
    metadata: String,
    asset_ids: String,
    data_set_id: Option<i64>,
    security_categories: String,
    labels: String,
    geo_location: Option<String>,
    source_created_ms: Option<i64>,
    source_modified_ms: Option<i64>,
    category: Option<String>,
    tags: String,
    created_ms: i64,
    updated_ms: i64,
    blob_id: Option<String>,
    size: i64,
    etag: Option<String>,
    uploaded_ms: Option<i64>,
    owner_id: Option<String>,
    visibility: Option<String>,
    shared_with: String,
    access_epoch: i64,
}

fn json<T: serde::de::DeserializeOwned + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}

impl From<Row> for FileRecord {
    fn from(r: Row) -> Self {
        let content = match (r.blob_id, r.etag) {
            (Some(blob_id), Some(etag)) => Some(Content {
                blob_id,
                size: u64::try_from(r.size).unwrap_or(0),
                etag,
                uploaded_ms: r.uploaded_ms.unwrap_or(r.updated_ms),
            }),
            _ => None,
        };
        Self {
            id: r.id,
            path: r.path.and_then(|p| FilePath::parse(&p).ok()),
            directory: r.directory,
            name: r.name,
            is_dir: r.is_dir != 0,
            fields: Fields {
                external_id: r.external_id,
                source: r.source,
                mime_type: r.mime_type,
                metadata: json(&r.metadata),
                asset_ids: json(&r.asset_ids),
                data_set_id: r.data_set_id,
                security_categories: json(&r.security_categories),
                labels: json(&r.labels),
                geo_location: r.geo_location.and_then(|g| serde_json::from_str(&g).ok()),
                source_created_ms: r.source_created_ms,
                source_modified_ms: r.source_modified_ms,
                category: r.category,
                tags: json(&r.tags),
            },
            created_ms: r.created_ms,
            updated_ms: r.updated_ms,
            content,
            access: Access {
                owner: r.owner_id,
                visibility: r.visibility.as_deref().and_then(Visibility::parse),
                shared_with: json(&r.shared_with),
                epoch: r.access_epoch,
            },
        }
    }
}

/// JSON text of a list or map column.
pub(super) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}
