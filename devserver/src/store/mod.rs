//! The storage seam every handler calls: streamed atomic put, stat, list, create, delete,
//! move, copy, rename. Bytes go to [`blobs::Blobs`], metadata to [`meta`]; handlers never touch
//! either directly, so another backend (object storage, PostgreSQL) changes only this module.

pub mod blobs;
mod commit;
pub mod meta;
mod multipart;
pub mod uploads;

pub use multipart::{Claimed, NewUpload};

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::Stream;
use stowage_protocol::{ApiError, ErrorCode, FilePath};

use crate::error::{AppError, AppResult};
use blobs::{Blobs, WriteError};
pub use meta::Entry;
use meta::Meta;

/// Files and directories of every app, durable on the local disk.
#[derive(Debug, Clone)]
pub struct Store {
    blobs: Blobs,
    meta: Meta,
    committer: commit::Committer,
    /// One lock per multipart upload, held while a part is recorded or the upload completes.
    upload_locks: std::sync::Arc<
        tokio::sync::Mutex<
            std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>,
        >,
    >,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The strong ETag of a file's bytes: CRC32C and size.
fn etag(size: u64, crc32c: u32) -> String {
    format!("\"{crc32c:08x}-{size:x}\"")
}

fn reserved(path: &FilePath) -> AppResult<()> {
    match path.reserved_prefix() {
        Some(segment) => Err(AppError::api(
            ErrorCode::ReservedPath,
            format!("Path starts with a reserved segment: {segment}"),
        )),
        None => Ok(()),
    }
}

fn not_root(path: &FilePath, operation: &str) -> AppResult<()> {
    if path.is_root() {
        return Err(AppError::api(
            ErrorCode::RootNotAllowed,
            format!("The root directory cannot be {operation}"),
        ));
    }
    Ok(())
}

impl Store {
    /// Opens the store in `data` (created when missing) and removes blobs that no row
    /// references: the leftovers of writes that crashed between rename and commit.
    pub async fn open(data: &Path) -> AppResult<Self> {
        tokio::fs::create_dir_all(data).await?;
        let blobs = Blobs::open(data).await?;
        let meta = Meta::open(&data.join("stowage.db")).await?;
        let referenced = meta.blob_ids().await?;
        let mut removed = 0usize;
        for id in blobs.list().await? {
            if !referenced.contains(&id) {
                blobs.delete(&id).await?;
                removed += 1;
            }
        }
        if removed > 0 {
            tracing::info!(
                removed,
                "removed unreferenced blobs left by an interrupted write"
            );
        }
        let committer = commit::Committer::start(meta.clone(), blobs.clone());
        Ok(Self {
            blobs,
            meta,
            committer,
            upload_locks: std::sync::Arc::default(),
        })
    }

    /// The entry at `path`, if any.
    pub async fn stat(&self, app: &str, path: &FilePath) -> AppResult<Option<Entry>> {
        self.meta.get(app, path).await
    }

    /// Where a file's bytes can be read from on disk. Never a place outside the data
    /// directory: a blob that resolves elsewhere (through a symlink) is `NoPermission`.
    pub async fn readable_path(&self, entry: &Entry) -> AppResult<PathBuf> {
        let id = entry.blob_id.as_deref().ok_or_else(ApiError::not_found)?;
        match self.blobs.resolve(id).await? {
            Some(path) => Ok(path),
            None if self.blobs.path(id).exists() => Err(ApiError::no_permission().into()),
            None => {
                tracing::error!(
                    path = entry.path,
                    blob = id,
                    "blob missing for a metadata row"
                );
                Err(ApiError::not_found().into())
            }
        }
    }

    /// Entries of a directory (recursively with `sub`), ordered by path, streamed.
    #[must_use]
    pub fn list(
        &self,
        app: &str,
        dir: &FilePath,
        sub: bool,
    ) -> BoxStream<'_, Result<Entry, sqlx::Error>> {
        self.meta.list(app, dir, sub)
    }

    /// One page of a directory's entries (recursively with `sub`), paged by the database.
    #[must_use]
    pub fn list_page(
        &self,
        app: &str,
        dir: &FilePath,
        sub: bool,
        limit: u64,
        offset: u64,
    ) -> BoxStream<'_, Result<Entry, sqlx::Error>> {
        let to_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.meta
            .list_page(app, dir, sub, to_i64(limit), to_i64(offset))
    }

    /// Checks, before any byte is read, that an upload to `path` can succeed.
    pub async fn check_put(&self, app: &str, path: &FilePath, overwrite: bool) -> AppResult<()> {
        not_root(path, "overwritten by a file")?;
        reserved(path)?;
        if let Some(e) = self.stat(app, path).await? {
            if e.is_dir || !overwrite {
                return Err(ApiError::already_exists(path.name()).into());
            }
        }
        for dir in path.ancestors() {
            match self.stat(app, &dir).await? {
                Some(e) if !e.is_dir => {
                    return Err(AppError::api(
                        ErrorCode::NotADirectory,
                        format!("Path component is a file: {dir}"),
                    ))
                }
                Some(_) => {}
                None => break,
            }
        }
        Ok(())
    }

    /// Streams `body` into a new file at `path`: bytes to disk (fsynced, renamed into place),
    /// then the metadata row in one transaction. Missing directories are created. Without
    /// `overwrite` an existing file is an error, and of several racing uploads exactly one wins.
    pub async fn put_file<S>(
        &self,
        app: &str,
        path: &FilePath,
        body: S,
        content_type: &str,
        overwrite: bool,
    ) -> AppResult<Entry>
    where
        S: Stream<Item = Result<Bytes, AppError>>,
    {
        self.check_put(app, path, overwrite).await?;
        let staged = self.blobs.stage_unsynced(body).await.map_err(|e| match e {
            WriteError::Body(e) => e,
            WriteError::Io(e) => AppError::Io(e),
        })?;
        let written = self.blobs.place_blob(staged).await?;
        let now = now_ms();
        let entry = Entry {
            path: path.to_string(),
            parent: path.parent().to_string(),
            name: path.name().to_owned(),
            is_dir: false,
            blob_id: Some(written.id.clone()),
            size: i64::try_from(written.size).unwrap_or(i64::MAX),
            content_type: Some(content_type.to_owned()),
            etag: Some(etag(written.size, written.crc32c)),
            created_ms: now,
            updated_ms: now,
        };
        match self
            .committer
            .commit(app, path, entry.clone(), overwrite)
            .await
        {
            Ok(replaced) => {
                if let Some(old) = replaced {
                    self.blobs.delete(&old).await?;
                }
                Ok(entry)
            }
            Err(e) => {
                self.blobs.delete(&written.id).await?;
                Err(e)
            }
        }
    }

    /// Creates a directory and its missing parents. An existing entry is `AlreadyExists`.
    pub async fn create_dir(&self, app: &str, path: &FilePath) -> AppResult<()> {
        if path.is_root() {
            return Err(ApiError::already_exists("/").into());
        }
        reserved(path)?;
        let mut tx = self.meta.begin().await?;
        if meta::get(&mut tx, app, path).await?.is_some() {
            return Err(ApiError::already_exists(path.name()).into());
        }
        let now = now_ms();
        meta::ensure_dirs(&mut tx, app, &path.ancestors(), now).await?;
        meta::insert(&mut tx, app, &meta::dir_entry(path, now)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a file, or a directory with everything below it. Returns how many entries went.
    pub async fn delete(&self, app: &str, path: &FilePath) -> AppResult<u64> {
        not_root(path, "deleted")?;
        let mut tx = self.meta.begin().await?;
        if meta::get(&mut tx, app, path).await?.is_none() {
            return Err(ApiError::not_found().into());
        }
        let (count, blob_ids) = meta::delete_tree(&mut tx, app, path).await?;
        tx.commit().await?;
        for id in blob_ids {
            self.blobs.delete(&id).await?;
        }
        Ok(count)
    }

    /// Moves `source` (file or directory) into the directory `target`, created when missing.
    /// Returns the new path.
    pub async fn move_into(
        &self,
        app: &str,
        source: &FilePath,
        target: &FilePath,
    ) -> AppResult<FilePath> {
        let mut tx = self.meta.begin().await?;
        let (_, new_path) = check_transfer(&mut tx, app, source, target).await?;
        meta::move_tree(&mut tx, app, source, &new_path, now_ms()).await?;
        tx.commit().await?;
        Ok(new_path)
    }

    /// Copies `source` (file or directory) into the directory `target`, created when missing.
    /// File bytes are hard-linked (blobs never change). Returns the new path.
    pub async fn copy_into(
        &self,
        app: &str,
        source: &FilePath,
        target: &FilePath,
    ) -> AppResult<FilePath> {
        let mut tx = self.meta.begin().await?;
        let (entries, new_path) = check_transfer(&mut tx, app, source, target).await?;
        let now = now_ms();
        let mut created = Vec::new();
        let result = async {
            for old in entries {
                let path = FilePath::parse(&old.path)?
                    .rebase(source, &new_path)
                    .ok_or_else(ApiError::internal)?;
                let blob_id = match &old.blob_id {
                    Some(id) => {
                        let copy = self.blobs.copy(id).await?;
                        created.push(copy.clone());
                        Some(copy)
                    }
                    None => None,
                };
                let entry = Entry {
                    parent: path.parent().to_string(),
                    name: path.name().to_owned(),
                    path: path.to_string(),
                    blob_id,
                    created_ms: now,
                    updated_ms: now,
                    ..old
                };
                meta::insert(&mut tx, app, &entry).await?;
            }
            AppResult::Ok(())
        }
        .await;
        let result = match result {
            Ok(()) => tx.commit().await.map_err(AppError::from),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            for id in created {
                self.blobs.delete(&id).await?;
            }
            return Err(e);
        }
        Ok(new_path)
    }

    /// Renames `source` within its directory. Returns the new path.
    pub async fn rename(
        &self,
        app: &str,
        source: &FilePath,
        new_name: &str,
    ) -> AppResult<FilePath> {
        not_root(source, "renamed")?;
        let new_path = source.parent().join(new_name)?;
        reserved(&new_path)?;
        let mut tx = self.meta.begin().await?;
        let entries = meta::subtree(&mut tx, app, source).await?;
        if entries.is_empty() {
            return Err(ApiError::not_found().into());
        }
        check_lengths(&entries, source, &new_path)?;
        if meta::get(&mut tx, app, &new_path).await?.is_some() {
            return Err(ApiError::already_exists(new_name).into());
        }
        meta::move_tree(&mut tx, app, source, &new_path, now_ms()).await?;
        tx.commit().await?;
        Ok(new_path)
    }
}

/// Within a transaction: makes a written blob visible at `path` (creating directories), under
/// the overwrite rule. Returns the blob it replaced, if any.
async fn commit_file_in(
    tx: &mut sqlx::SqliteConnection,
    app: &str,
    path: &FilePath,
    entry: &Entry,
    overwrite: bool,
) -> AppResult<Option<String>> {
    meta::ensure_dirs(tx, app, &path.ancestors(), entry.created_ms).await?;
    match meta::get(tx, app, path).await? {
        None => {
            meta::insert(tx, app, entry).await?;
            Ok(None)
        }
        Some(old) if overwrite && !old.is_dir => {
            meta::replace_content(tx, app, entry).await?;
            Ok(old.blob_id)
        }
        Some(_) => Err(ApiError::already_exists(path.name()).into()),
    }
}

/// The checks shared by move and copy; creates the target directory. Returns the source
/// subtree (source first) and the path the source will have.
async fn check_transfer(
    tx: &mut sqlx::SqliteConnection,
    app: &str,
    source: &FilePath,
    target: &FilePath,
) -> AppResult<(Vec<Entry>, FilePath)> {
    not_root(source, "moved or copied")?;
    reserved(target)?;
    let entries = meta::subtree(tx, app, source).await?;
    let Some(first) = entries.first() else {
        return Err(ApiError::not_found().into());
    };
    if first.is_dir && target.is_within(source) {
        return Err(AppError::api(
            ErrorCode::IntoItself,
            format!(
                "Unable to move a directory into itself: {}",
                source.to_absolute()
            ),
        ));
    }
    if let Some(t) = meta::get(tx, app, target).await? {
        if !t.is_dir {
            return Err(AppError::api(
                ErrorCode::MoveFileToFile,
                "Unable to move file to file",
            ));
        }
    }
    let new_path = target.join(source.name())?;
    check_lengths(&entries, source, &new_path)?;
    if meta::get(tx, app, &new_path).await?.is_some() {
        return Err(AppError::api(
            ErrorCode::ExistsInTarget,
            "File already exists in target directory",
        ));
    }
    let mut dirs = target.ancestors();
    if !target.is_root() {
        dirs.push(target.clone());
    }
    meta::ensure_dirs(tx, app, &dirs, now_ms()).await?;
    Ok((entries, new_path))
}

/// Every path of the moved subtree must still fit the path length limit at its new place.
fn check_lengths(entries: &[Entry], from: &FilePath, to: &FilePath) -> AppResult<()> {
    let longest = entries.iter().map(|e| e.path.len()).max().unwrap_or(0);
    let new_len = longest - from.as_str().len() + to.as_str().len();
    if new_len > stowage_protocol::paths::MAX_PATH_BYTES {
        return Err(stowage_protocol::PathError::TooLong(new_len).into());
    }
    Ok(())
}
