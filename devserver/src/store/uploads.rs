//! SQL for multipart uploads and their parts (tables `uploads` and `upload_parts`), written to
//! run on SQLite and PostgreSQL alike.

use sqlx::SqliteConnection;

use crate::error::AppResult;

/// One row of `uploads`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UploadRow {
    /// 32 hex digits.
    pub id: String,
    /// The app it belongs to.
    pub app_id: String,
    /// Canonical path of the file it makes.
    pub path: String,
    /// Total size.
    pub size: i64,
    /// Size of every part but the last.
    pub part_size: i64,
    /// Number of parts.
    pub part_count: i64,
    /// MIME type to store.
    pub content_type: String,
    /// Replace an existing file at completion.
    pub overwrite: bool,
    /// `crc32c`, `sha256` or `none`.
    pub checksum: String,
    /// Creation, ms since the epoch.
    pub created_ms: i64,
    /// Garbage-collection time, ms since the epoch.
    pub expires_ms: i64,
    /// JSON of the complete answer, once completed.
    pub result: Option<String>,
}

/// One row of `upload_parts`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PartRow {
    /// 1-based.
    pub part_number: i64,
    /// Bytes.
    pub size: i64,
    /// As answered to the PUT.
    pub etag: String,
    /// CRC32C of the part (always computed; combined into the file's CRC at completion).
    pub crc32c: i64,
    /// Base64 digest in the upload's algorithm.
    pub checksum: Option<String>,
}

/// Adds an upload.
pub async fn insert(conn: &mut SqliteConnection, u: &UploadRow) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO uploads (id, app_id, path, size, part_size, part_count, content_type, \
         overwrite, checksum, created_ms, expires_ms, result) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&u.id)
    .bind(&u.app_id)
    .bind(&u.path)
    .bind(u.size)
    .bind(u.part_size)
    .bind(u.part_count)
    .bind(&u.content_type)
    .bind(u.overwrite)
    .bind(&u.checksum)
    .bind(u.created_ms)
    .bind(u.expires_ms)
    .bind(&u.result)
    .execute(conn)
    .await?;
    Ok(())
}

/// The upload with this id.
pub async fn get(conn: &mut SqliteConnection, id: &str) -> AppResult<Option<UploadRow>> {
    Ok(sqlx::query_as(
        "SELECT id, app_id, path, size, part_size, part_count, content_type, overwrite, \
         checksum, created_ms, expires_ms, result FROM uploads WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// Records a stored part, replacing an earlier attempt of the same part.
pub async fn upsert_part(conn: &mut SqliteConnection, id: &str, p: &PartRow) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO upload_parts (upload_id, part_number, size, etag, crc32c, checksum) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (upload_id, part_number) DO UPDATE SET \
         size = excluded.size, etag = excluded.etag, crc32c = excluded.crc32c, \
         checksum = excluded.checksum",
    )
    .bind(id)
    .bind(p.part_number)
    .bind(p.size)
    .bind(&p.etag)
    .bind(p.crc32c)
    .bind(&p.checksum)
    .execute(conn)
    .await?;
    Ok(())
}

/// The stored parts of an upload, by part number.
pub async fn parts(conn: &mut SqliteConnection, id: &str) -> AppResult<Vec<PartRow>> {
    Ok(sqlx::query_as(
        "SELECT part_number, size, etag, crc32c, checksum FROM upload_parts \
         WHERE upload_id = $1 ORDER BY part_number",
    )
    .bind(id)
    .fetch_all(conn)
    .await?)
}

/// Marks an upload completed with its answer, and forgets its parts.
pub async fn set_result(conn: &mut SqliteConnection, id: &str, result: &str) -> AppResult<()> {
    sqlx::query("UPDATE uploads SET result = $2 WHERE id = $1")
        .bind(id)
        .bind(result)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM upload_parts WHERE upload_id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes an upload and its parts; true when it existed.
pub async fn delete(conn: &mut SqliteConnection, id: &str) -> AppResult<bool> {
    sqlx::query("DELETE FROM upload_parts WHERE upload_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM uploads WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Ids of uploads whose TTL ran out before `now_ms`.
pub async fn expired(conn: &mut SqliteConnection, now_ms: i64) -> AppResult<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM uploads WHERE expires_ms < $1")
        .bind(now_ms)
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}
