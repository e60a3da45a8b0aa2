//! File and directory metadata in SQLite (WAL) through sqlx. The SQL is plain enough to run on
//! PostgreSQL too: `$n` parameters, `||` and `substr`, BIGINT milliseconds, no SQLite-only syntax.
//! Writes go through one writer connection, so write transactions never deadlock each other.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use futures_util::stream::BoxStream;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool};
use stowage_protocol::{ApiError, ErrorCode, FilePath};

use crate::error::{AppError, AppResult};

/// One row of `files`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Entry {
    /// Canonical path, no leading slash.
    pub path: String,
    /// Canonical path of the directory holding it.
    pub parent: String,
    /// Last segment of `path`.
    pub name: String,
    /// True for directories.
    pub is_dir: bool,
    /// The blob holding a file's bytes; `None` for directories.
    pub blob_id: Option<String>,
    /// Size in bytes.
    pub size: i64,
    /// MIME type of a file.
    pub content_type: Option<String>,
    /// Strong ETag of a file's bytes.
    pub etag: Option<String>,
    /// Creation time, ms since the epoch.
    pub created_ms: i64,
    /// Last change, ms since the epoch.
    pub updated_ms: i64,
}

macro_rules! columns {
    () => {
        "path, parent, name, is_dir, blob_id, size, content_type, etag, created_ms, updated_ms"
    };
}

/// The metadata database.
#[derive(Debug, Clone)]
pub struct Meta {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl Meta {
    /// Opens (creating when missing) the database file, in WAL mode, and runs migrations.
    pub async fn open(file: &Path) -> AppResult<Self> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(file)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations")
            .run(&writer)
            .await
            .map_err(sqlx::Error::from)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { writer, reader })
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> AppResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.writer.begin().await?)
    }

    /// A connection for reads outside any transaction.
    pub async fn read(&self) -> AppResult<sqlx::pool::PoolConnection<sqlx::Sqlite>> {
        Ok(self.reader.acquire().await?)
    }

    /// The entry at `path`, read outside any transaction.
    pub async fn get(&self, app: &str, path: &FilePath) -> AppResult<Option<Entry>> {
        let mut conn = self.reader.acquire().await?;
        get(&mut conn, app, path).await
    }

    /// Entries directly in `dir` (or, with `sub`, anywhere below it), ordered by path, streamed
    /// from the database so that a listing of any size takes bounded memory.
    #[must_use]
    pub fn list(
        &self,
        app: &str,
        dir: &FilePath,
        sub: bool,
    ) -> BoxStream<'_, Result<Entry, sqlx::Error>> {
        if sub {
            let (low, high) = subtree_bounds(dir);
            sqlx::query_as(concat!(
                "SELECT ",
                columns!(),
                " FROM files WHERE app_id = $1 AND path > $2 AND path < $3 ",
                "ORDER BY path"
            ))
            .bind(app.to_owned())
            .bind(low)
            .bind(high)
            .fetch(&self.reader)
        } else {
            sqlx::query_as(concat!(
                "SELECT ",
                columns!(),
                " FROM files WHERE app_id = $1 AND parent = $2 ORDER BY path"
            ))
            .bind(app.to_owned())
            .bind(dir.to_string())
            .fetch(&self.reader)
        }
    }

    /// One page of [`Meta::list`] with the paging done by the database, for listings without a
    /// name pattern: `LIMIT`/`OFFSET` runs on the index alone (a deferred join), so rows before
    /// the page are skipped without reading them.
    #[must_use]
    pub fn list_page(
        &self,
        app: &str,
        dir: &FilePath,
        sub: bool,
        limit: i64,
        offset: i64,
    ) -> BoxStream<'_, Result<Entry, sqlx::Error>> {
        if sub {
            let (low, high) = subtree_bounds(dir);
            sqlx::query_as(concat!(
                "SELECT ",
                columns!(),
                " FROM files WHERE app_id = $1 AND path IN (SELECT path FROM files ",
                "WHERE app_id = $1 AND path > $2 AND path < $3 ORDER BY path LIMIT $4 OFFSET $5) ",
                "ORDER BY path"
            ))
            .bind(app.to_owned())
            .bind(low)
            .bind(high)
            .bind(limit)
            .bind(offset)
            .fetch(&self.reader)
        } else {
            sqlx::query_as(concat!(
                "SELECT ",
                columns!(),
                " FROM files WHERE app_id = $1 AND path IN (SELECT path FROM files ",
                "WHERE app_id = $1 AND parent = $2 ORDER BY path LIMIT $3 OFFSET $4) ORDER BY path"
            ))
            .bind(app.to_owned())
            .bind(dir.to_string())
            .bind(limit)
            .bind(offset)
            .fetch(&self.reader)
        }
    }

    /// Every blob id referenced by some row (for removing orphans at start).
    pub async fn blob_ids(&self) -> AppResult<std::collections::HashSet<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT blob_id FROM files WHERE blob_id IS NOT NULL")
                .fetch_all(&self.reader)
                .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}

/// `(low, high)` such that `low < path < high` holds exactly for paths strictly below `dir`.
fn subtree_bounds(dir: &FilePath) -> (String, String) {
    if dir.is_root() {
        (String::new(), "\u{10FFFF}".to_owned())
    } else {
        (format!("{dir}/"), format!("{dir}0"))
    }
}

/// The entry at `path` within a transaction or connection.
pub async fn get(
    conn: &mut SqliteConnection,
    app: &str,
    path: &FilePath,
) -> AppResult<Option<Entry>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM files WHERE app_id = $1 AND path = $2"
    );
    Ok(sqlx::query_as::<_, Entry>(sql)
        .bind(app)
        .bind(path.as_str())
        .fetch_optional(conn)
        .await?)
}

/// Makes sure every directory in `dirs` (ancestors first) exists, creating missing ones.
/// Fails with `NotADirectory` when one of them is a file.
pub async fn ensure_dirs(
    conn: &mut SqliteConnection,
    app: &str,
    dirs: &[FilePath],
    now: i64,
) -> AppResult<()> {
    for dir in dirs {
        match get(conn, app, dir).await? {
            Some(e) if e.is_dir => {}
            Some(_) => {
                return Err(AppError::api(
                    ErrorCode::NotADirectory,
                    format!("Path component is a file: {dir}"),
                ))
            }
            None => insert(conn, app, &dir_entry(dir, now)).await?,
        }
    }
    Ok(())
}

/// A new directory row.
#[must_use]
pub fn dir_entry(path: &FilePath, now: i64) -> Entry {
    Entry {
        path: path.to_string(),
        parent: path.parent().to_string(),
        name: path.name().to_owned(),
        is_dir: true,
        blob_id: None,
        size: 0,
        content_type: None,
        etag: None,
        created_ms: now,
        updated_ms: now,
    }
}

/// Inserts a row; an existing row at the path is `AlreadyExists`.
pub async fn insert(conn: &mut SqliteConnection, app: &str, e: &Entry) -> AppResult<()> {
    let sql = concat!(
        "INSERT INTO files (app_id, ",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    );
    let result = sqlx::query(sql)
        .bind(app)
        .bind(&e.path)
        .bind(&e.parent)
        .bind(&e.name)
        .bind(e.is_dir)
        .bind(&e.blob_id)
        .bind(e.size)
        .bind(&e.content_type)
        .bind(&e.etag)
        .bind(e.created_ms)
        .bind(e.updated_ms)
        .execute(conn)
        .await;
    match result {
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            Err(ApiError::already_exists(&e.name).into())
        }
        other => other.map(|_| ()).map_err(Into::into),
    }
}

/// Points an existing file row at new content.
pub async fn replace_content(conn: &mut SqliteConnection, app: &str, e: &Entry) -> AppResult<()> {
    sqlx::query(
        "UPDATE files SET blob_id = $3, size = $4, content_type = $5, etag = $6, updated_ms = $7 \
         WHERE app_id = $1 AND path = $2",
    )
    .bind(app)
    .bind(&e.path)
    .bind(&e.blob_id)
    .bind(e.size)
    .bind(&e.content_type)
    .bind(&e.etag)
    .bind(e.updated_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// The entry at `path` and every entry below it, ordered by path.
pub async fn subtree(
    conn: &mut SqliteConnection,
    app: &str,
    path: &FilePath,
) -> AppResult<Vec<Entry>> {
    let (low, high) = subtree_bounds(path);
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM files WHERE app_id = $1 AND (path = $2 OR (path > $3 AND path < $4)) ORDER BY path"
    );
    Ok(sqlx::query_as::<_, Entry>(sql)
        .bind(app)
        .bind(path.as_str())
        .bind(low)
        .bind(high)
        .fetch_all(conn)
        .await?)
}

/// Deletes the entry at `path` and everything below it; returns how many rows went and the
/// blob ids they held.
pub async fn delete_tree(
    conn: &mut SqliteConnection,
    app: &str,
    path: &FilePath,
) -> AppResult<(u64, Vec<String>)> {
    let (low, high) = subtree_bounds(path);
    let rows: Vec<(Option<String>,)> = sqlx::query_as(
        "DELETE FROM files WHERE app_id = $1 AND (path = $2 OR (path > $3 AND path < $4)) \
         RETURNING blob_id",
    )
    .bind(app)
    .bind(path.as_str())
    .bind(low)
    .bind(high)
    .fetch_all(conn)
    .await?;
    let count = rows.len() as u64;
    Ok((count, rows.into_iter().filter_map(|(id,)| id).collect()))
}

/// Moves the entry at `from` and everything below it to `to` (which must not exist).
pub async fn move_tree(
    conn: &mut SqliteConnection,
    app: &str,
    from: &FilePath,
    to: &FilePath,
    now: i64,
) -> AppResult<()> {
    let (low, high) = subtree_bounds(from);
    let prefix_chars = i64::try_from(from.as_str().chars().count()).unwrap_or(i64::MAX);
    // Descendants: swap the prefix of path and parent. substr counts characters on both engines.
    sqlx::query(
        "UPDATE files SET path = $5 || substr(path, $6 + 1), parent = $5 || substr(parent, $6 + 1) \
         WHERE app_id = $1 AND path > $3 AND path < $4",
    )
    .bind(app)
    .bind(from.as_str())
    .bind(low)
    .bind(high)
    .bind(to.as_str())
    .bind(prefix_chars)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE files SET path = $3, parent = $4, name = $5, updated_ms = $6 \
         WHERE app_id = $1 AND path = $2",
    )
    .bind(app)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(to.parent().as_str())
    .bind(to.name())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}
