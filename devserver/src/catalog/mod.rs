//! Records, uploads and the blobs they name, in SQL: SQLite (embedded, the default) or
//! PostgreSQL, through sqlx's `Any` driver. Both engines run the same statements on the same
//! schema; [`Dialect`] holds the few places they differ. Concurrency control is the
//! database's: unique constraints and transactions, never an in-process lock.
//!
//! Everything here takes and answers domain types ([`crate::model`]); rows stay inside.

pub mod access;
mod query;
pub mod records;
mod rows;
pub mod uploads;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Executor};

use crate::error::{AppError, AppResult};

pub use query::place;
pub use records::{NewRecord, RecordChange};

/// Which engine a catalog runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite, in WAL mode, one file in the data directory.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Dialect {
    /// The statement that starts a write transaction. SQLite takes the write lock at once, so
    /// two writers queue on the busy timeout instead of failing when both upgrade.
    fn begin(self) -> &'static str {
        match self {
            Self::Sqlite => "BEGIN IMMEDIATE",
            Self::Postgres => "BEGIN",
        }
    }

    /// SQL that is true when `column` matches the glob bound at `$n`.
    fn glob(self, column: &str, n: usize) -> String {
        match self {
            Self::Sqlite => format!("{column} GLOB ${n}"),
            Self::Postgres => format!("{column} ~ ${n}"),
        }
    }

    /// The bound value for [`Dialect::glob`].
    fn glob_value(self, glob: &str) -> String {
        match self {
            // SQLite negates a class with `^`; the glob syntax clients know uses `!`.
            Self::Sqlite => glob.replace("[!", "[^"),
            Self::Postgres => glob_to_regex(glob),
        }
    }

    /// SQL that is true when `column` contains the text bound at `$n`.
    fn contains(self, column: &str, n: usize) -> String {
        match self {
            Self::Sqlite => format!("instr({column}, ${n}) > 0"),
            Self::Postgres => format!("strpos({column}, ${n}) > 0"),
        }
    }
}

/// An anchored POSIX regex for a glob of `*`, `?` and `[...]` (SQLite's GLOB syntax).
fn glob_to_regex(glob: &str) -> String {
    let mut out = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                out.push('[');
                if chars.peek() == Some(&'^') || chars.peek() == Some(&'!') {
                    chars.next();
                    out.push('^');
                }
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                    if c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push(']');
            }
            c if c.is_ascii_alphanumeric() || !c.is_ascii() => out.push(c),
            c => {
                out.push('\\');
                out.push(c);
            }
        }
    }
    out.push('$');
    out
}

/// The `catalog_info` entry that says a server started on the catalog.
const IN_USE: &str = "in_use_since_ms";

/// The `catalog_info` entry that holds back blob removal while a backup copies blobs: the
/// time (ms) until which it holds, renewed while the backup runs.
const DELETES_HELD_UNTIL: &str = "deletes_held_until_ms";

/// One schema migration and its state in a catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    /// Its number: migrations apply in this order.
    pub version: i64,
    /// What it does, from its file name.
    pub name: String,
    /// When it was applied to the catalog, if it was.
    pub applied: Option<String>,
    /// Whether this version of the server knows it (one it does not came from a newer version).
    pub known: bool,
}

/// The catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    pool: AnyPool,
    dialect: Dialect,
}

/// A write transaction. Dropped without [`Tx::commit`], it rolls back. A connection whose
/// COMMIT failed (a full disk, say) is closed instead of going back to the pool: a driver
/// that lost count of its transaction depth would turn every later commit into a savepoint
/// release, and acknowledged writes would be lost.
#[derive(Debug)]
pub struct Tx {
    conn: PoolConnection<Any>,
    dialect: Dialect,
    open: bool,
    savepoints: u32,
}

impl Tx {
    /// The connection, for statements inside the transaction.
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }

    /// The engine.
    #[must_use]
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Commits; on failure the connection is discarded and the transaction is rolled back.
    pub async fn commit(mut self) -> AppResult<()> {
        match self.conn.execute("COMMIT").await {
            Ok(_) => {
                self.open = false;
                Ok(())
            }
            Err(e) => {
                self.conn.close_on_drop();
                Err(e.into())
            }
        }
    }

    /// Starts a savepoint: what follows until [`Tx::release`] or [`Tx::rollback_to`] can be
    /// undone without ending the transaction.
    pub async fn savepoint(&mut self) -> AppResult<String> {
        self.savepoints += 1;
        let name = format!("sp{}", self.savepoints);
        self.conn
            .execute(format!("SAVEPOINT {name}").as_str())
            .await?;
        Ok(name)
    }

    /// Keeps what was done since the savepoint.
    pub async fn release(&mut self, name: &str) -> AppResult<()> {
        self.conn
            .execute(format!("RELEASE SAVEPOINT {name}").as_str())
            .await?;
        Ok(())
    }

    /// Undoes what was done since the savepoint.
    pub async fn rollback_to(&mut self, name: &str) -> AppResult<()> {
        self.conn
            .execute(format!("ROLLBACK TO SAVEPOINT {name}").as_str())
            .await?;
        self.release(name).await
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if self.open {
            // Closing the connection rolls the transaction back on both engines.
            self.conn.close_on_drop();
        }
    }
}

impl Catalog {
    /// Opens the catalog at `url` (`sqlite://…` or `postgres://…`) and brings its schema up
    /// to date ([`Catalog::migrate`]). Answers whether the catalog was new (it had no schema
    /// before).
    pub async fn open(url: &str) -> AppResult<(Self, bool)> {
        let catalog = Self::connect(url).await?;
        let had_files = catalog.has_files_table().await?;
        catalog.migrate().await?;
        // A catalog is in use once a server started on it (or it held files before this
        // version recorded that); a new one is refused over a blob store that holds blobs.
        let in_use = had_files || catalog.info(IN_USE).await?.is_some();
        Ok((catalog, !in_use))
    }

    /// Connects to the catalog at `url` without touching its schema (`backup` reads a catalog
    /// whichever version made it).
    pub async fn connect(url: &str) -> AppResult<Self> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Dialect::Postgres
        } else {
            return Err(AppError::Config(format!(
                "--database must be a sqlite:// or postgres:// URL, not {}",
                url.split(':').next().unwrap_or("")
            )));
        };
        let options = AnyConnectOptions::from_str(url)?.disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(if dialect == Dialect::Sqlite { 8 } else { 16 })
            // PostgreSQL away (a restart, a failover): a request answers 503 (7010) within
            // seconds, not after the pool's default wait. SQLite only waits for its own writer.
            .acquire_timeout(Duration::from_secs(if dialect == Dialect::Sqlite {
                30
            } else {
                5
            }))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA busy_timeout = 30000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self { pool, dialect })
    }

    /// The schema migrations this version knows, in order.
    fn migrator(&self) -> sqlx::migrate::Migrator {
        match self.dialect {
            Dialect::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Dialect::Postgres => sqlx::migrate!("./migrations/postgres"),
        }
    }

    /// Applies the migrations the catalog lacks, each logged. Refuses a catalog that a newer
    /// version migrated (it holds a migration this one does not know), or whose migration
    /// differs from this version's or failed halfway, before changing anything.
    pub async fn migrate(&self) -> AppResult<()> {
        use sqlx::migrate::MigrateError;
        let before: Vec<i64> = self
            .migrations()
            .await?
            .iter()
            .filter(|m| m.applied.is_some())
            .map(|m| m.version)
            .collect();
        let migrator = self.migrator();
        let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        migrator.run(&self.pool).await.map_err(|e| match e {
            MigrateError::VersionMissing(v) => AppError::Config(format!(
                "the catalog was migrated by a newer stowage-devserver: it holds schema migration \
                 {v}, and this version knows migrations up to {known}. Run the newer version, or \
                 restore the backup taken before the upgrade (docs/deploy.md, upgrades)"
            )),
            MigrateError::VersionMismatch(v) => AppError::Config(format!(
                "schema migration {v} in the catalog differs from this version's: the catalog \
                 was made by another build of stowage-devserver"
            )),
            MigrateError::Dirty(v) => AppError::Config(format!(
                "schema migration {v} failed partway on this catalog: restore it from a backup"
            )),
            other => AppError::from(sqlx::Error::from(other)),
        })?;
        for m in migrator.iter().filter(|m| !before.contains(&m.version)) {
            tracing::info!(version = m.version, name = %m.description, "applied catalog schema migration");
        }
        Ok(())
    }

    /// Every migration this version knows, with when it was applied to this catalog, followed by
    /// any the catalog holds that this version does not know (`--migrate-only` lists them).
    pub async fn migrations(&self) -> AppResult<Vec<MigrationState>> {
        // No table yet: a new catalog, nothing applied. Any other failure is an error, not an
        // empty list.
        let exists = match self.dialect {
            Dialect::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
            }
            Dialect::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
            }
        };
        let (tables,): (i64,) = sqlx::query_as(exists).fetch_one(&self.pool).await?;
        let applied: Vec<(i64, String, String)> = if tables == 0 {
            Vec::new()
        } else {
            sqlx::query_as(
                "SELECT version, description, CAST(installed_on AS TEXT) FROM _sqlx_migrations \
                 ORDER BY version",
            )
            .fetch_all(&self.pool)
            .await?
        };
        let migrator = self.migrator();
        let mut all: Vec<MigrationState> = migrator
            .iter()
            .map(|m| MigrationState {
                version: m.version,
                name: m.description.to_string(),
                applied: applied
                    .iter()
                    .find(|(v, _, _)| *v == m.version)
                    .map(|(_, _, on)| on.clone()),
                known: true,
            })
            .collect();
        for (version, name, on) in &applied {
            if !all.iter().any(|m| m.version == *version) {
                all.push(MigrationState {
                    version: *version,
                    name: name.clone(),
                    applied: Some(on.clone()),
                    known: false,
                });
            }
        }
        Ok(all)
    }

    /// Records that a server started on this catalog (after the start-up checks passed).
    /// Only a catalog not marked yet is written to, so a server restarts on a full disk.
    pub async fn mark_in_use(&self) -> AppResult<()> {
        if self.info(IN_USE).await?.is_some() {
            return Ok(());
        }
        let now = crate::model::now_ms().to_string();
        self.claim_info(IN_USE, &now).await.map(|_| ())
    }

    /// Holds back the removal of blobs until `until_ms` (a backup is copying them). Blobs that
    /// become garbage meanwhile stay in the garbage table and go once the hold ends.
    pub async fn hold_deletes(&self, until_ms: i64) -> AppResult<()> {
        sqlx::query(
            "INSERT INTO catalog_info (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(DELETES_HELD_UNTIL)
        .bind(until_ms.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends a hold of [`Catalog::hold_deletes`].
    pub async fn release_deletes(&self) -> AppResult<()> {
        sqlx::query("DELETE FROM catalog_info WHERE name = $1")
            .bind(DELETES_HELD_UNTIL)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether blob removal is held back at `now_ms`. Asked after a blob became garbage and
    /// before it is removed: a backup that set its hold later takes its snapshot later still,
    /// and that snapshot no longer names the blob.
    pub async fn deletes_held(&self, now_ms: i64) -> AppResult<bool> {
        Ok(self
            .info(DELETES_HELD_UNTIL)
            .await?
            .and_then(|v| v.parse::<i64>().ok())
            .is_some_and(|until| until > now_ms))
    }

    /// Whether the database answers (`/readyz`).
    pub async fn ping(&self) -> AppResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The connection pool: connections open, and how many of them are idle (`/metrics`).
    #[must_use]
    pub fn pool_usage(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    /// Whether the schema of a version before `catalog_info` existed holds files (the table
    /// `files` of migration 2, before migration 3 renames it).
    async fn has_files_table(&self) -> AppResult<bool> {
        let sql = match self.dialect {
            Dialect::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'files'"
            }
            Dialect::Postgres => return Ok(false),
        };
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&self.pool).await?;
        Ok(n > 0)
    }

    /// The engine.
    #[must_use]
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> AppResult<Tx> {
        let mut conn = self.pool.acquire().await?;
        conn.execute(self.dialect.begin()).await?;
        Ok(Tx {
            conn,
            dialect: self.dialect,
            open: true,
            savepoints: 0,
        })
    }

    /// A connection for reads outside any transaction.
    pub async fn read(&self) -> AppResult<PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// A value from `catalog_info`.
    pub async fn info(&self, name: &str) -> AppResult<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT value FROM catalog_info WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(v,)| v))
    }

    /// Sets a value in `catalog_info` unless it is set; answers the value it has.
    pub async fn claim_info(&self, name: &str, value: &str) -> AppResult<String> {
        sqlx::query(
            "INSERT INTO catalog_info (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(self.info(name).await?.unwrap_or_else(|| value.to_owned()))
    }

    /// Of `ids`, the blobs some record or stored part names.
    pub async fn referenced_blobs(&self, ids: &[String]) -> AppResult<Vec<String>> {
        let mut conn = self.read().await?;
        let mut found = Vec::new();
        for id in ids {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM records WHERE blob_id = $1) + \
                 (SELECT COUNT(*) FROM upload_parts WHERE blob_id = $1)",
            )
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
            if n > 0 {
                found.push(id.clone());
            }
        }
        Ok(found)
    }

    /// Blobs that no row names any more and that await removal.
    pub async fn garbage(&self, limit: i64) -> AppResult<Vec<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT blob_id FROM garbage ORDER BY since_ms LIMIT $1")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Forgets garbage whose removal is durable.
    pub async fn forget_garbage(&self, ids: &[String]) -> AppResult<()> {
        let mut tx = self.begin().await?;
        for id in ids {
            sqlx::query("DELETE FROM garbage WHERE blob_id = $1")
                .bind(id)
                .execute(tx.conn())
                .await?;
        }
        tx.commit().await
    }
}

impl Catalog {
    /// Remembers a blob about to be written to a store that cannot list what it holds
    /// unpublished (an object store).
    pub async fn add_pending(&self, blob: &str, now: i64) -> AppResult<()> {
        sqlx::query("INSERT INTO pending_blobs (blob_id, since_ms) VALUES ($1, $2)")
            .bind(blob)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets pending blobs: a row names them now, or they are removed.
    pub async fn forget_pending(&self, ids: &[String]) -> AppResult<()> {
        for id in ids {
            sqlx::query("DELETE FROM pending_blobs WHERE blob_id = $1")
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Pending blobs written before `before_ms`, oldest first.
    pub async fn stale_pending(&self, before_ms: i64, limit: i64) -> AppResult<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT blob_id FROM pending_blobs WHERE since_ms < $1 ORDER BY since_ms LIMIT $2",
        )
        .bind(before_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}

/// Records `blob` as garbage within a transaction (removed after the commit).
pub async fn add_garbage(tx: &mut Tx, blob: &str, now: i64) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO garbage (blob_id, since_ms) VALUES ($1, $2) ON CONFLICT (blob_id) DO NOTHING",
    )
    .bind(blob)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::glob_to_regex;

    #[test]
    fn globs_become_anchored_regexes() {
        assert_eq!(glob_to_regex("*.txt"), "^.*\\.txt$");
        assert_eq!(glob_to_regex("a?[bc]"), "^a.[bc]$");
        assert_eq!(glob_to_regex("[!x]y"), "^[^x]y$");
        assert_eq!(glob_to_regex("é(1)"), "^é\\(1\\)$");
    }
}
