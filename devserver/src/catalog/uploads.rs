//! SQL for multipart uploads and their parts (tables `uploads` and `upload_parts`). Parts are
//! blobs; a part row names its blob, so a part stays referenced until the upload ends.

use sqlx::AnyConnection;
use stowage_protocol::FilePath;

use super::Tx;
use crate::error::AppResult;
use crate::model::{Completed, Part, Upload};

#[derive(Debug, sqlx::FromRow)]
struct UploadRow {
    id: String,
    app_id: String,
    path: Option<String>,
    record_id: Option<i64>,
    size: Option<i64>,
    part_size: i64,
    part_count: i64,
    content_type: String,
    overwrite: i64,
    checksum: String,
    created_ms: i64,
    expires_ms: i64,
    result: Option<String>,
    principal: String,
    store_blob: Option<String>,
    store_upload: Option<String>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ResultJson {
    record_id: i64,
    size: u64,
    etag: String,
    checksum: Option<String>,
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl From<UploadRow> for Upload {
    fn from(r: UploadRow) -> Self {
        let result = r
            .result
            .as_deref()
            .and_then(|t| serde_json::from_str::<ResultJson>(t).ok())
            .map(|j| Completed {
                record_id: j.record_id,
                size: j.size,
                etag: j.etag,
                checksum: j.checksum,
            });
        Self {
            id: r.id,
            app: r.app_id,
            path: r.path.and_then(|p| FilePath::parse(&p).ok()),
            record_id: r.record_id,
            size: r.size.map(u),
            part_size: u(r.part_size),
            part_count: u(r.part_count),
            content_type: r.content_type,
            overwrite: r.overwrite != 0,
            checksum: r.checksum,
            created_ms: r.created_ms,
            expires_ms: r.expires_ms,
            result,
            principal: r.principal,
            direct: r
                .store_blob
                .zip(r.store_upload)
                .map(|(blob, upload)| crate::model::DirectUpload { blob, upload }),
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
struct PartRow {
    part_number: i64,
    size: i64,
    etag: String,
    crc32c: i64,
    checksum: Option<String>,
    blob_id: String,
}

impl From<PartRow> for Part {
    fn from(p: PartRow) -> Self {
        Self {
            number: u(p.part_number),
            size: u(p.size),
            etag: p.etag,
            crc32c: u32::try_from(p.crc32c).unwrap_or(0),
            checksum: p.checksum,
            blob_id: p.blob_id,
        }
    }
}

/// Adds an upload.
pub async fn insert(tx: &mut Tx, up: &Upload) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO uploads (id, app_id, path, record_id, size, part_size, part_count, \
         content_type, overwrite, checksum, created_ms, expires_ms, result, principal, \
         store_blob, store_upload) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13, $14, $15)",
    )
    .bind(&up.id)
    .bind(&up.app)
    .bind(up.path.as_ref().map(|p| p.as_str().to_owned()))
    .bind(up.record_id)
    .bind(up.size.map(i))
    .bind(i(up.part_size))
    .bind(i(up.part_count))
    .bind(&up.content_type)
    .bind(i64::from(up.overwrite))
    .bind(&up.checksum)
    .bind(up.created_ms)
    .bind(up.expires_ms)
    .bind(&up.principal)
    .bind(up.direct.as_ref().map(|d| d.blob.clone()))
    .bind(up.direct.as_ref().map(|d| d.upload.clone()))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The upload with this id.
pub async fn get(conn: &mut AnyConnection, id: &str) -> AppResult<Option<Upload>> {
    let row: Option<UploadRow> = sqlx::query_as(
        "SELECT id, app_id, path, record_id, size, part_size, part_count, content_type, \
         overwrite, checksum, created_ms, expires_ms, result, principal, store_blob, store_upload \
         FROM uploads WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Into::into))
}

/// The latest unfinished single PUT straight to the object store that `principal` was given
/// for `path` (its `store_upload` is empty: no multipart upload of the store).
pub async fn direct_put_at(
    conn: &mut AnyConnection,
    app: &str,
    path: &FilePath,
    principal: &str,
) -> AppResult<Option<Upload>> {
    let row: Option<UploadRow> = sqlx::query_as(
        "SELECT id, app_id, path, record_id, size, part_size, part_count, content_type, \
         overwrite, checksum, created_ms, expires_ms, result, principal, store_blob, store_upload \
         FROM uploads WHERE app_id = $1 AND path = $2 AND principal = $3 AND store_upload = '' \
         AND result IS NULL ORDER BY created_ms DESC LIMIT 1",
    )
    .bind(app)
    .bind(path.as_str())
    .bind(principal)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Into::into))
}

/// Records a stored part, replacing an earlier attempt; answers the earlier attempt's blob.
pub async fn upsert_part(tx: &mut Tx, id: &str, p: &Part) -> AppResult<Option<String>> {
    let old: Option<(String,)> = sqlx::query_as(
        "SELECT blob_id FROM upload_parts WHERE upload_id = $1 AND part_number = $2",
    )
    .bind(id)
    .bind(i(p.number))
    .fetch_optional(tx.conn())
    .await?;
    sqlx::query(
        "INSERT INTO upload_parts (upload_id, part_number, size, etag, crc32c, checksum, blob_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (upload_id, part_number) DO UPDATE SET \
         size = excluded.size, etag = excluded.etag, crc32c = excluded.crc32c, \
         checksum = excluded.checksum, blob_id = excluded.blob_id",
    )
    .bind(id)
    .bind(i(p.number))
    .bind(i(p.size))
    .bind(&p.etag)
    .bind(i64::from(p.crc32c))
    .bind(p.checksum.clone())
    .bind(&p.blob_id)
    .execute(tx.conn())
    .await?;
    Ok(old.map(|(b,)| b))
}

/// The stored parts of an upload, by part number.
pub async fn parts(conn: &mut AnyConnection, id: &str) -> AppResult<Vec<Part>> {
    let rows: Vec<PartRow> = sqlx::query_as(
        "SELECT part_number, size, etag, crc32c, checksum, blob_id FROM upload_parts \
         WHERE upload_id = $1 ORDER BY part_number",
    )
    .bind(id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Marks an upload completed; answers false when another completion got there first.
pub async fn set_result(tx: &mut Tx, id: &str, done: &Completed) -> AppResult<bool> {
    let json = serde_json::to_string(&ResultJson {
        record_id: done.record_id,
        size: done.size,
        etag: done.etag.clone(),
        checksum: done.checksum.clone(),
    })
    .unwrap_or_default();
    let changed = sqlx::query("UPDATE uploads SET result = $2 WHERE id = $1 AND result IS NULL")
        .bind(id)
        .bind(json)
        .execute(tx.conn())
        .await?;
    Ok(changed.rows_affected() > 0)
}

/// Removes an upload's parts; answers their blobs.
pub async fn delete_parts(tx: &mut Tx, id: &str) -> AppResult<Vec<String>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("DELETE FROM upload_parts WHERE upload_id = $1 RETURNING blob_id")
            .bind(id)
            .fetch_all(tx.conn())
            .await?;
    Ok(rows.into_iter().map(|(b,)| b).collect())
}

/// Removes an upload whose TTL still ran out before `now_ms` when the row is deleted (a
/// completion may have renewed it since the collector listed it), with its parts; answers the
/// parts' blobs, or `None` when it is gone or not expired any more. On PostgreSQL the delete
/// waits for a completion or a part holding the row, then checks the expiry again.
pub async fn delete_expired(tx: &mut Tx, id: &str, now_ms: i64) -> AppResult<Option<Vec<String>>> {
    let gone = sqlx::query("DELETE FROM uploads WHERE id = $1 AND expires_ms < $2")
        .bind(id)
        .bind(now_ms)
        .execute(tx.conn())
        .await?;
    if gone.rows_affected() == 0 {
        return Ok(None);
    }
    delete_parts(tx, id).await.map(Some)
}

/// Keeps an unfinished upload from expiring before `until_ms` (a completion holds it so while
/// it reads the parts); answers false when the upload is gone or completed.
pub async fn hold(tx: &mut Tx, id: &str, until_ms: i64) -> AppResult<bool> {
    let changed = sqlx::query(
        "UPDATE uploads SET expires_ms = CASE WHEN expires_ms < $2 THEN $2 ELSE expires_ms END \
         WHERE id = $1 AND result IS NULL",
    )
    .bind(id)
    .bind(until_ms)
    .execute(tx.conn())
    .await?;
    Ok(changed.rows_affected() > 0)
}

/// Removes an upload and its parts; answers the parts' blobs, or `None` when it did not exist.
pub async fn delete(tx: &mut Tx, id: &str) -> AppResult<Option<Vec<String>>> {
    let blobs = delete_parts(tx, id).await?;
    let done = sqlx::query("DELETE FROM uploads WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok((done.rows_affected() > 0).then_some(blobs))
}

/// Ids of uploads whose TTL ran out before `now_ms`.
pub async fn expired(conn: &mut AnyConnection, now_ms: i64) -> AppResult<Vec<String>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM uploads WHERE expires_ms < $1 LIMIT 1000")
            .bind(now_ms)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Locks an unfinished upload's row for the rest of the transaction; answers false when the
/// upload is gone or completed. A completion that locked it first makes later parts wait, then
/// see it completed.
pub async fn lock_open(tx: &mut Tx, id: &str) -> AppResult<bool> {
    let changed =
        sqlx::query("UPDATE uploads SET created_ms = created_ms WHERE id = $1 AND result IS NULL")
            .bind(id)
            .execute(tx.conn())
            .await?;
    Ok(changed.rows_affected() > 0)
}
