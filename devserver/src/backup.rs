//! `stowage-devserver backup DEST`: a copy of the SQLite catalog and the disk blob store,
//! consistent at one moment, taken while a server runs on them and uploads continue.
//!
//! How it stays consistent without stopping writes:
//! 1. it holds back blob removal in the live catalog ([`Catalog::hold_deletes`], renewed while it
//!    runs, so a backup that dies stops holding within a minute);
//! 2. it takes a snapshot of the catalog with SQLite's `VACUUM INTO` (one read transaction);
//! 3. it copies every blob the snapshot names. Blobs never change once written, and none the
//!    snapshot names can be removed meanwhile: a blob that became garbage before the hold was
//!    already unnamed in the snapshot, and one that becomes garbage after waits for the hold.
//!
//! Everything is written into `DEST.partial` and renamed to `DEST` once durable.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _};

use crate::blobs::{valid_id, DiskBlobs, ReadError};
use crate::catalog::Catalog;
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::model::now_ms;

/// How long a hold on blob removal lasts unless renewed.
const HOLD: Duration = Duration::from_secs(60);
/// How often a running backup renews its hold.
const RENEW: Duration = Duration::from_secs(15);

/// What a backup copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Records (files and directories) in the snapshot.
    pub records: u64,
    /// Blobs copied.
    pub blobs: u64,
    /// Bytes of blobs copied.
    pub bytes: u64,
    /// How long it took.
    pub elapsed: Duration,
}

/// Takes a backup of the store `config` names into `dest`, which must not exist.
pub async fn run(config: &Config, dest: &Path) -> AppResult<Report> {
    let started = Instant::now();
    let source_db = sqlite_file(config)?;
    let blob_root = match config.blobs.as_deref() {
        None => config.data.clone(),
        Some(url) if url.starts_with("file://") => PathBuf::from(url.trim_start_matches("file://")),
        Some(_) => return Err(unsupported()),
    };
    if !source_db.is_file() {
        return Err(AppError::Config(format!(
            "no catalog at {}: nothing to back up",
            source_db.display()
        )));
    }
    if tokio::fs::symlink_metadata(dest).await.is_ok() {
        return Err(AppError::Config(format!(
            "{} exists: a backup goes into a new directory",
            dest.display()
        )));
    }
    let partial = partial_path(dest);
    if tokio::fs::symlink_metadata(&partial).await.is_ok() {
        tokio::fs::remove_dir_all(&partial).await?;
    }
    tokio::fs::create_dir_all(partial.join("blobs")).await?;
    // The catalog holds password and token hashes: only the owner reads a backup.
    tokio::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o700)).await?;

    let catalog = Catalog::connect(&config.database_url()).await?;
    catalog.hold_deletes(now_ms() + millis(HOLD)).await?;
    let renewing = tokio::spawn({
        let catalog = catalog.clone();
        async move {
            loop {
                tokio::time::sleep(RENEW).await;
                if let Err(e) = catalog.hold_deletes(now_ms() + millis(HOLD)).await {
                    tracing::warn!(error = %e, "could not renew the backup's hold on blob removal");
                }
            }
        }
    });
    let copied = copy(&source_db, &blob_root, &partial).await;
    renewing.abort();
    let released = catalog.release_deletes().await;
    let (records, blobs, bytes) = match copied {
        Ok(counts) => counts,
        Err(e) => {
            let _ = tokio::fs::remove_dir_all(&partial).await;
            return Err(e);
        }
    };
    released?;
    copy_keys(&config.data, &partial).await?;
    sync_tree(partial.clone()).await?;
    tokio::fs::rename(&partial, dest).await?;
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent.to_path_buf()).await?;
    }
    Ok(Report {
        records,
        blobs,
        bytes,
        elapsed: started.elapsed(),
    })
}

/// Snapshot, then the blobs it names; answers (records, blobs, bytes).
async fn copy(source_db: &Path, blob_root: &Path, into: &Path) -> AppResult<(u64, u64, u64)> {
    let snapshot = into.join("stowage.db");
    let mut live = SqliteConnectOptions::new()
        .filename(source_db)
        .busy_timeout(Duration::from_secs(30))
        .disable_statement_logging()
        .connect()
        .await?;
    sqlx::query("VACUUM INTO $1")
        .bind(snapshot.to_string_lossy().into_owned())
        .execute(&mut live)
        .await?;
    live.close().await?;
    tokio::fs::set_permissions(&snapshot, std::fs::Permissions::from_mode(0o600)).await?;

    let mut taken = SqliteConnectOptions::new()
        .filename(&snapshot)
        .disable_statement_logging()
        .connect()
        .await?;
    let (records,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM records")
        .fetch_one(&mut taken)
        .await?;
    let named: BTreeSet<String> = sqlx::query_as::<_, (String,)>(
        "SELECT blob_id FROM records WHERE blob_id IS NOT NULL \
         UNION SELECT blob_id FROM upload_parts",
    )
    .fetch_all(&mut taken)
    .await?
    .into_iter()
    .map(|(id,)| id)
    .collect();
    // Blobs waiting for removal are not copied: the restored server has nothing to remove.
    sqlx::query("DELETE FROM garbage")
        .execute(&mut taken)
        .await?;
    taken.close().await?;

    let store = DiskBlobs::open(blob_root).await?;
    let mut bytes = 0u64;
    for id in &named {
        if !valid_id(id) {
            return Err(AppError::Config(format!(
                "the catalog names a blob {id:?} that is no blob id"
            )));
        }
        let dir = into.join("blobs").join(&id[..2]);
        tokio::fs::create_dir_all(&dir).await?;
        bytes += match store.copy_out(id, &dir.join(id)).await {
            Ok(n) => n,
            Err(ReadError::Missing) => {
                return Err(AppError::Config(format!(
                    "blob {id}, which the catalog names, is missing from {}: the store was \
                     damaged before this backup",
                    blob_root.display()
                )))
            }
            Err(ReadError::Escapes) => {
                return Err(AppError::Config(format!(
                    "blob {id} resolves outside the store"
                )))
            }
            Err(ReadError::Io(e)) => return Err(e.into()),
        };
    }
    Ok((
        u64::try_from(records).unwrap_or(0),
        named.len() as u64,
        bytes,
    ))
}

/// The server's own secrets (signing key, admin keys), so signed URLs and keys survive a
/// restore. Their modes (0600) come along.
async fn copy_keys(data: &Path, into: &Path) -> AppResult<()> {
    let mut entries = match tokio::fs::read_dir(data).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    while let Some(entry) = entries.next_entry().await? {
        let name = entry.file_name();
        if name.to_string_lossy().ends_with(".key") && entry.file_type().await?.is_file() {
            tokio::fs::copy(entry.path(), into.join(&name)).await?;
        }
    }
    Ok(())
}

/// The SQLite file of the catalog; other catalogs are refused.
fn sqlite_file(config: &Config) -> AppResult<PathBuf> {
    let url = config.database_url();
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Err(unsupported());
    };
    Ok(PathBuf::from(rest.split('?').next().unwrap_or(rest)))
}

fn unsupported() -> AppError {
    AppError::Config(
        "backup copies a SQLite catalog and a disk blob store; back up PostgreSQL with pg_dump \
         and an object store with its own versioning or replication (docs/deploy.md)"
            .into(),
    )
}

fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_default();
    name.push(".partial");
    dest.with_file_name(name)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Makes every directory under `root` durable, and the files directly in it (the catalog, the
/// keys); the blobs were made durable as they were copied.
async fn sync_tree(root: PathBuf) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || {
        let top = root.clone();
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                if entry.file_type()?.is_dir() {
                    dirs.push(entry.path());
                } else if dir == top {
                    std::fs::File::open(entry.path())?.sync_all()?;
                }
            }
            std::fs::File::open(&dir)?.sync_all()?;
        }
        Ok(())
    })
    .await?
}

async fn sync_dir(dir: PathBuf) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all()).await?
}
