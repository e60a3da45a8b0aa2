//! SQL for records: look up by path, id or externalId; insert; change fields or content;
//! subtrees of the path-based routes (delete, move). Each function runs on the connection it
//! is given, so the files service composes them into one transaction.

use sqlx::AnyConnection;
use stowage_protocol::{ApiError, FilePath};

use super::rows::{to_json, Row, COLUMNS};
use super::Tx;
use crate::error::{AppError, AppResult};
use crate::model::{Access, Content, Fields, FileRecord};

/// A record to insert.
#[derive(Debug, Clone)]
pub struct NewRecord {
    /// Its id (random, made by the service).
    pub id: i64,
    /// The path it owns, if any.
    pub path: Option<FilePath>,
    /// Absolute directory.
    pub directory: Option<String>,
    /// Name.
    pub name: String,
    /// A directory of the path-based routes.
    pub is_dir: bool,
    /// Client fields.
    pub fields: Fields,
    /// Creation time.
    pub now: i64,
    /// Content, when the bytes came with it.
    pub content: Option<Content>,
    /// Owner and visibility.
    pub access: Access,
}

impl NewRecord {
    /// The record as it is once inserted.
    #[must_use]
    pub fn into_record(self) -> FileRecord {
        FileRecord {
            id: self.id,
            path: self.path,
            directory: self.directory,
            name: self.name,
            is_dir: self.is_dir,
            fields: self.fields,
            created_ms: self.now,
            updated_ms: self.now,
            content: self.content,
            access: self.access,
        }
    }
}

/// A change to a stored record's own columns.
#[derive(Debug, Clone)]
pub enum RecordChange<'a> {
    /// New client fields (the whole set).
    Fields(&'a Fields),
    /// New directory and name (and path ownership).
    Place {
        /// New path, if it owns one.
        path: Option<&'a FilePath>,
        /// New directory.
        directory: Option<&'a str>,
        /// New name.
        name: &'a str,
    },
}

fn select(filter: &str) -> String {
    format!("SELECT {COLUMNS} FROM records WHERE {filter}")
}

/// The record that owns `path`.
pub async fn by_path(
    conn: &mut AnyConnection,
    app: &str,
    path: &FilePath,
) -> AppResult<Option<FileRecord>> {
    let row: Option<Row> = sqlx::query_as(&select("app_id = $1 AND path = $2"))
        .bind(app)
        .bind(path.as_str())
        .fetch_optional(conn)
        .await?;
    Ok(row.map(Into::into))
}

/// The id of the record that owns `path` and whether it is a directory: the light lookup of
/// the upload path, which decodes no fields.
pub async fn kind_at(
    conn: &mut AnyConnection,
    app: &str,
    path: &FilePath,
) -> AppResult<Option<(i64, bool)>> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT id, is_dir FROM records WHERE app_id = $1 AND path = $2")
            .bind(app)
            .bind(path.as_str())
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(id, dir)| (id, dir != 0)))
}

/// The record with this id.
pub async fn by_id(conn: &mut AnyConnection, app: &str, id: i64) -> AppResult<Option<FileRecord>> {
    let row: Option<Row> = sqlx::query_as(&select("app_id = $1 AND id = $2"))
        .bind(app)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(Into::into))
}

/// The record with this externalId.
pub async fn by_external_id(
    conn: &mut AnyConnection,
    app: &str,
    external_id: &str,
) -> AppResult<Option<FileRecord>> {
    let row: Option<Row> = sqlx::query_as(&select("app_id = $1 AND external_id = $2"))
        .bind(app)
        .bind(external_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(Into::into))
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds the client fields in the order both `insert` and `change` name their columns:
/// externalId, source, mimeType, metadata, assetIds, dataSetId, securityCategories, labels,
/// geoLocation, sourceCreated, sourceModified, category, tags.
fn bind_fields<'q>(q: AnyQuery<'q>, f: &Fields) -> AnyQuery<'q> {
    q.bind(f.external_id.clone())
        .bind(f.source.clone())
        .bind(f.mime_type.clone())
        .bind(to_json(&f.metadata))
        .bind(to_json(&f.asset_ids))
        .bind(f.data_set_id)
        .bind(to_json(&f.security_categories))
        .bind(to_json(&f.labels))
        .bind(f.geo_location.as_ref().map(to_json))
        .bind(f.source_created_ms)
        .bind(f.source_modified_ms)
        .bind(f.category.clone())
        .bind(to_json(&f.tags))
}

/// Calls a function on a value in a method chain.
trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}

impl<'q> Pipe for AnyQuery<'q> {}

/// A unique violation, told apart by the column it is on.
fn conflict(e: sqlx::Error, name: &str, external_id: Option<&str>) -> AppError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let text = format!("{} {}", db.message(), db.constraint().unwrap_or(""));
            if text.contains("external_id") {
                AppError::Duplicate(vec![external_id.unwrap_or("").to_owned()])
            } else {
                AppError::Api(ApiError::already_exists(name))
            }
        }
        _ => e.into(),
    }
}

/// Inserts a record; a taken path is `AlreadyExists`, a taken externalId `DuplicateExternalId`.
pub async fn insert(tx: &mut Tx, app: &str, r: &NewRecord) -> AppResult<()> {
    let f = &r.fields;
    let content = r.content.as_ref();
    let result = sqlx::query(
        "INSERT INTO records (app_id, id, path, parent, directory, name, is_dir, external_id, \
         source, mime_type, metadata, asset_ids, data_set_id, security_categories, labels, \
         geo_location, source_created_ms, source_modified_ms, category, tags, created_ms, \
         updated_ms, blob_id, size, etag, uploaded_ms, owner_id, visibility, shared_with) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $21, $21, $22, $23, $24, $25, $26, $27, $28)",
    )
    .bind(app)
    .bind(r.id)
    .bind(r.path.as_ref().map(|p| p.as_str().to_owned()))
    .bind(r.path.as_ref().map(|p| p.parent().as_str().to_owned()))
    .bind(r.directory.clone())
    .bind(&r.name)
    .bind(i64::from(r.is_dir))
    .pipe(|q| bind_fields(q, f))
    .bind(r.now)
    .bind(content.map(|c| c.blob_id.clone()))
    .bind(content.map_or(0, |c| i64::try_from(c.size).unwrap_or(i64::MAX)))
    .bind(content.map(|c| c.etag.clone()))
    .bind(content.map(|c| c.uploaded_ms))
    .bind(r.access.owner.clone())
    .bind(r.access.visibility.map(|v| v.as_str().to_owned()))
    .bind(to_json(&r.access.shared_with))
    .execute(tx.conn())
    .await;
    result.map_err(|e| conflict(e, &r.name, f.external_id.as_deref()))?;
    // A new id has no terms yet: only add the ones it has.
    add_terms(tx, app, r.id, f).await
}

/// Inserts a directory record unless its path is taken; a concurrent creation of the same
/// directory (another server on the same database) waits for it instead of failing.
pub async fn insert_dir(tx: &mut Tx, app: &str, r: &NewRecord) -> AppResult<()> {
    let Some(path) = &r.path else {
        return Err(ApiError::internal().into());
    };
    sqlx::query(
        "INSERT INTO records (app_id, id, path, parent, directory, name, is_dir, created_ms, \
         updated_ms, owner_id) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7, $8) \
         ON CONFLICT (app_id, path) DO NOTHING",
    )
    .bind(app)
    .bind(r.id)
    .bind(path.as_str())
    .bind(path.parent().as_str())
    .bind(r.directory.clone())
    .bind(&r.name)
    .bind(r.now)
    .bind(r.access.owner.clone())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Replaces the searchable values of a record.
async fn write_terms(tx: &mut Tx, app: &str, id: i64, f: &Fields) -> AppResult<()> {
    sqlx::query("DELETE FROM record_terms WHERE app_id = $1 AND record_id = $2")
        .bind(app)
        .bind(id)
        .execute(tx.conn())
        .await?;
    add_terms(tx, app, id, f).await
}

/// Adds the searchable values of a record.
async fn add_terms(tx: &mut Tx, app: &str, id: i64, f: &Fields) -> AppResult<()> {
    let terms = f
        .metadata
        .iter()
        .map(|(k, v)| ("m", k.clone(), v.clone()))
        .chain(
            f.asset_ids
                .iter()
                .map(|a| ("a", String::new(), a.to_string())),
        )
        .chain(f.labels.iter().map(|l| ("l", String::new(), l.clone())))
        .chain(f.tags.iter().map(|t| ("t", String::new(), t.clone())));
    for (kind, key, term) in terms {
        sqlx::query(
            "INSERT INTO record_terms (app_id, record_id, kind, term_key, term) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(app)
        .bind(id)
        .bind(kind)
        .bind(key)
        .bind(term)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

/// Changes a record's own columns; answers false when there is no such record.
pub async fn change(
    tx: &mut Tx,
    app: &str,
    id: i64,
    change: RecordChange<'_>,
    now: i64,
) -> AppResult<bool> {
    let done = match change {
        RecordChange::Fields(f) => {
            let result = sqlx::query(
                "UPDATE records SET external_id = $3, source = $4, mime_type = $5, metadata = $6, \
                 asset_ids = $7, data_set_id = $8, security_categories = $9, labels = $10, \
                 geo_location = $11, source_created_ms = $12, source_modified_ms = $13, \
                 category = $14, tags = $15, updated_ms = $16 WHERE app_id = $1 AND id = $2",
            )
            .bind(app)
            .bind(id)
            .pipe(|q| bind_fields(q, f))
            .bind(now)
            .execute(tx.conn())
            .await
            .map_err(|e| conflict(e, "", f.external_id.as_deref()))?;
            if result.rows_affected() > 0 {
                write_terms(tx, app, id, f).await?;
            }
            result.rows_affected() > 0
        }
        RecordChange::Place {
            path,
            directory,
            name,
        } => {
            sqlx::query(
                "UPDATE records SET path = $3, parent = $4, directory = $5, name = $6, \
                 updated_ms = $7 WHERE app_id = $1 AND id = $2",
            )
            .bind(app)
            .bind(id)
            .bind(path.map(|p| p.as_str().to_owned()))
            .bind(path.map(|p| p.parent().as_str().to_owned()))
            .bind(directory.map(str::to_owned))
            .bind(name)
            .bind(now)
            .execute(tx.conn())
            .await
            .map_err(|e| conflict(e, name, None))?
            .rows_affected()
                > 0
        }
    };
    Ok(done)
}

/// Points a record at new content (and MIME type); answers the blob it held before.
pub async fn set_content(
    tx: &mut Tx,
    app: &str,
    id: i64,
    content: &Content,
    mime_type: Option<&str>,
) -> AppResult<Option<String>> {
    let old: Option<(Option<String>,)> =
        sqlx::query_as("SELECT blob_id FROM records WHERE app_id = $1 AND id = $2")
            .bind(app)
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
    let Some((old,)) = old else {
        return Err(ApiError::not_found().into());
    };
    sqlx::query(
        "UPDATE records SET blob_id = $3, size = $4, etag = $5, uploaded_ms = $6, \
         updated_ms = $6, mime_type = COALESCE($7, mime_type) WHERE app_id = $1 AND id = $2",
    )
    .bind(app)
    .bind(id)
    .bind(&content.blob_id)
    .bind(i64::try_from(content.size).unwrap_or(i64::MAX))
    .bind(&content.etag)
    .bind(content.uploaded_ms)
    .bind(mime_type.map(str::to_owned))
    .execute(tx.conn())
    .await?;
    Ok(old)
}

/// `(low, high)` such that `low < path < high` holds exactly for paths strictly below `dir`.
pub(super) fn subtree_bounds(dir: &FilePath) -> (String, String) {
    if dir.is_root() {
        (String::new(), "\u{10FFFF}".to_owned())
    } else {
        (format!("{dir}/"), format!("{dir}0"))
    }
}

/// The record at `path` and every record below it, ordered by path.
pub async fn subtree(
    conn: &mut AnyConnection,
    app: &str,
    path: &FilePath,
) -> AppResult<Vec<FileRecord>> {
    let (low, high) = subtree_bounds(path);
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{} ORDER BY path",
        select("app_id = $1 AND (path = $2 OR (path > $3 AND path < $4))")
    ))
    .bind(app)
    .bind(path.as_str())
    .bind(low)
    .bind(high)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Deletes records by id; answers the blobs they held.
pub async fn delete(tx: &mut Tx, app: &str, ids: &[i64]) -> AppResult<Vec<String>> {
    let mut blobs = Vec::new();
    for id in ids {
        let gone: Option<(Option<String>,)> =
            sqlx::query_as("DELETE FROM records WHERE app_id = $1 AND id = $2 RETURNING blob_id")
                .bind(app)
                .bind(*id)
                .fetch_optional(tx.conn())
                .await?;
        for table in ["record_terms", "permissions"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE app_id = $1 AND record_id = $2"
            ))
            .bind(app)
            .bind(*id)
            .execute(tx.conn())
            .await?;
        }
        if let Some((Some(blob),)) = gone {
            blobs.push(blob);
        }
    }
    Ok(blobs)
}

/// Moves the record at `from` and everything below it to `to` (which must be free).
pub async fn move_tree(
    tx: &mut Tx,
    app: &str,
    from: &FilePath,
    to: &FilePath,
    now: i64,
) -> AppResult<()> {
    let (low, high) = subtree_bounds(from);
    let prefix_chars = i64::try_from(from.as_str().chars().count()).unwrap_or(i64::MAX);
    // Descendants: swap the prefix of path, parent and directory. substr counts characters on
    // both engines.
    sqlx::query(
        "UPDATE records SET path = $5 || substr(path, CAST($6 AS INTEGER) + 1), \
         parent = $5 || substr(parent, CAST($6 AS INTEGER) + 1), directory = '/' || $5 || substr(parent, CAST($6 AS INTEGER) + 1) \
         WHERE app_id = $1 AND path > $3 AND path < $4",
    )
    .bind(app)
    .bind(from.as_str())
    .bind(low)
    .bind(high)
    .bind(to.as_str())
    .bind(prefix_chars)
    .execute(tx.conn())
    .await?;
    let moved = sqlx::query(
        "UPDATE records SET path = $3, parent = $4, directory = $5, name = $6, updated_ms = $7 \
         WHERE app_id = $1 AND path = $2",
    )
    .bind(app)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(to.parent().as_str())
    .bind(to.parent().to_absolute())
    .bind(to.name())
    .bind(now)
    .execute(tx.conn())
    .await;
    moved.map_err(|e| conflict(e, to.name(), None))?;
    Ok(())
}

/// Sets a record's owner, visibility and sharing, and moves its access epoch on (so presigned
/// URLs signed before no longer work). Answers false when there is no such record.
pub async fn set_access(tx: &mut Tx, app: &str, id: i64, access: &Access) -> AppResult<bool> {
    let done = sqlx::query(
        "UPDATE records SET owner_id = $3, visibility = $4, shared_with = $5, \
         access_epoch = access_epoch + 1 WHERE app_id = $1 AND id = $2",
    )
    .bind(app)
    .bind(id)
    .bind(access.owner.clone())
    .bind(access.visibility.map(|v| v.as_str().to_owned()))
    .bind(to_json(&access.shared_with))
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Moves the access epoch of records on (their rules changed).
pub async fn bump_epoch(tx: &mut Tx, app: &str, id: i64) -> AppResult<()> {
    sqlx::query("UPDATE records SET access_epoch = access_epoch + 1 WHERE app_id = $1 AND id = $2")
        .bind(app)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}
