//! The path-based operations (the Backendless shape): upload to a path, directories, delete,
//! move, copy, rename. A path belongs to at most one record; directories are records too
//! (never visible to the record-based shapes).

use std::collections::HashMap;

use stowage_protocol::{ApiError, ErrorCode, FilePath};

use super::access::{authorize_on, Target};
use super::commit::{Applied, Change};
use super::{new_record_id, Files};
use crate::blobs::ByteStream;
use crate::catalog::{self, records, NewRecord, Tx};
use crate::error::{AppError, AppResult};
use crate::model::{
    directory_of, now_ms, Access, AppDefaults, Content, Fields, FileRecord, Op, Principal,
};

/// Who writes, with the app's defaults: what a decision inside a transaction needs.
#[derive(Debug, Clone, Copy)]
pub(super) struct At<'a> {
    pub(super) who: &'a Principal,
    pub(super) defaults: AppDefaults,
}

/// A new record is owned by the user who writes it (none for the admin and the anonymous).
pub(super) fn owned_by(who: &Principal) -> Access {
    Access {
        owner: who.user_id().map(str::to_owned),
        ..Access::default()
    }
}

/// How content is stored.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    /// MIME type to store.
    pub mime_type: String,
    /// Replace an existing file.
    pub overwrite: bool,
    /// The exact size the body must have (a presigned PUT); any other size is refused before
    /// anything changes.
    pub expected_len: Option<u64>,
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

fn not_a_directory(dir: &FilePath) -> AppError {
    AppError::api(
        ErrorCode::NotADirectory,
        format!("Path component is a file: {dir}"),
    )
}

pub(super) fn size_mismatch(what: &str, expected: u64, actual: u64) -> AppError {
    AppError::api(
        ErrorCode::SizeMismatch,
        format!("{what} must be {expected} bytes, got {actual}"),
    )
}

/// A directory record at `path`.
pub(super) fn dir_record(path: &FilePath, now: i64, who: &Principal) -> NewRecord {
    NewRecord {
        access: owned_by(who),
        id: new_record_id(),
        path: Some(path.clone()),
        directory: Some(directory_of(path)),
        name: path.name().to_owned(),
        is_dir: true,
        fields: Fields::default(),
        now,
        content: None,
    }
}

/// Makes sure every directory in `dirs` (ancestors first) exists, creating missing ones. Two
/// uploads creating the same directory at once (on two servers) both succeed.
pub(super) async fn ensure_dirs(
    tx: &mut Tx,
    who: &Principal,
    dirs: &[FilePath],
    now: i64,
) -> AppResult<()> {
    let app = &who.app;
    for dir in dirs {
        let mut found = records::kind_at(tx.conn(), app, dir).await?;
        if found.is_none() {
            records::insert_dir(tx, app, &dir_record(dir, now, who)).await?;
            found = records::kind_at(tx.conn(), app, dir).await?;
        }
        match found {
            Some((_, true)) => {}
            Some(_) => return Err(not_a_directory(dir)),
            None => return Err(ApiError::internal().into()),
        }
    }
    Ok(())
}

/// Within a transaction: content at `path` under the overwrite rule, creating directories.
pub(super) async fn commit_at_path(
    tx: &mut Tx,
    at: &At<'_>,
    path: &FilePath,
    content: &Content,
    mime_type: &str,
    overwrite: bool,
    now: i64,
) -> AppResult<Applied> {
    let app = &at.who.app;
    // Decided again in the transaction that writes: rules may have changed meanwhile.
    let existing = records::by_path(tx.conn(), app, path).await?;
    let target = existing.as_ref().map_or(Target::New(path), Target::File);
    authorize_on(tx.conn(), at.who, at.defaults, Op::Write, target).await?;
    ensure_dirs(tx, at.who, &path.ancestors(), now).await?;
    // No other writer can take the path within this transaction (its row would conflict).
    match existing.as_ref().map(|r| (r.id, r.is_dir)) {
        None => {
            let new = NewRecord {
                id: new_record_id(),
                path: Some(path.clone()),
                directory: Some(directory_of(path)),
                name: path.name().to_owned(),
                is_dir: false,
                fields: Fields {
                    mime_type: Some(mime_type.to_owned()),
                    ..Fields::default()
                },
                now,
                content: Some(content.clone()),
                access: owned_by(at.who),
            };
            records::insert(tx, app, &new).await?;
            Ok(Applied {
                record: new.into_record(),
                replaced: None,
            })
        }
        Some((id, false)) if overwrite => {
            let replaced = records::set_content(tx, app, id, content, Some(mime_type)).await?;
            let record = records::by_id(tx.conn(), app, id)
                .await?
                .ok_or_else(ApiError::internal)?;
            Ok(Applied { record, replaced })
        }
        Some(_) => Err(ApiError::already_exists(path.name()).into()),
    }
}

impl Files {
    /// The record at `path`, if any; refused when `who` may not read it.
    pub async fn stat(&self, who: &Principal, path: &FilePath) -> AppResult<Option<FileRecord>> {
        let mut conn = self.catalog().read().await?;
        let Some(record) = records::by_path(&mut conn, &who.app, path).await? else {
            return Ok(None);
        };
        self.authorize(&mut conn, who, Op::Read, Target::File(&record))
            .await?;
        Ok(Some(record))
    }

    /// Whether `path` is a file or directory `who` may read (the root always is). A file `who`
    /// may not read does not exist for it.
    pub async fn exists(&self, who: &Principal, path: &FilePath) -> AppResult<bool> {
        if path.is_root() {
            return Ok(true);
        }
        match self.stat(who, path).await {
            Ok(found) => Ok(found.is_some()),
            Err(AppError::Api(e)) if e.code == ErrorCode::NoPermission => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Checks, before any byte is read, that an upload to `path` can succeed.
    pub async fn check_put(
        &self,
        who: &Principal,
        path: &FilePath,
        overwrite: bool,
    ) -> AppResult<()> {
        not_root(path, "overwritten by a file")?;
        reserved(path)?;
        let app = &who.app;
        let mut conn = self.catalog().read().await?;
        let existing = records::by_path(&mut conn, app, path).await?;
        let target = existing.as_ref().map_or(Target::New(path), Target::File);
        self.authorize(&mut conn, who, Op::Write, target).await?;
        if let Some(r) = &existing {
            if r.is_dir || !overwrite {
                return Err(ApiError::already_exists(path.name()).into());
            }
        }
        for dir in path.ancestors() {
            match records::kind_at(&mut conn, app, &dir).await? {
                Some((_, false)) => return Err(not_a_directory(&dir)),
                Some(_) => {}
                None => break,
            }
        }
        Ok(())
    }

    /// Streams `body` into a file at `path`: bytes first (durable), then the record, in one
    /// group commit. Missing directories are created. Without `overwrite` an existing file is
    /// an error, and of several racing uploads exactly one wins. A refused upload changes
    /// nothing that is stored. A new file is owned by the user who wrote it.
    pub async fn put_path(
        &self,
        who: &Principal,
        path: &FilePath,
        body: ByteStream<'_>,
        options: PutOptions,
    ) -> AppResult<FileRecord> {
        self.check_put(who, path, options.overwrite).await?;
        super::validate::check_fields(&Fields {
            mime_type: Some(options.mime_type.clone()),
            ..Fields::default()
        })?;
        let content = self.stream_in(body, options.expected_len).await?;
        let change = Change::AtPath {
            who: who.clone(),
            defaults: self.defaults(&who.app),
            path: path.clone(),
            content,
            mime_type: options.mime_type,
            overwrite: options.overwrite,
        };
        self.commit_content(change).await
    }

    /// Creates a directory and its missing parents. An existing entry is `AlreadyExists`.
    pub async fn create_dir(&self, who: &Principal, path: &FilePath) -> AppResult<()> {
        if path.is_root() {
            return Err(ApiError::already_exists("/").into());
        }
        reserved(path)?;
        let app = &who.app;
        let mut tx = self.catalog().begin().await?;
        if let Some(r) = records::by_path(tx.conn(), app, path).await? {
            self.authorize(tx.conn(), who, Op::Read, Target::File(&r))
                .await?;
            return Err(ApiError::already_exists(path.name()).into());
        }
        self.authorize(tx.conn(), who, Op::Write, Target::New(path))
            .await?;
        let now = now_ms();
        ensure_dirs(&mut tx, who, &path.ancestors(), now).await?;
        records::insert(&mut tx, app, &dir_record(path, now, who)).await?;
        tx.commit().await
    }

    /// Removes a file, or a directory with everything below it, when `who` may delete every
    /// entry (else nothing). Answers how many entries went.
    pub async fn delete_path(&self, who: &Principal, path: &FilePath) -> AppResult<u64> {
        not_root(path, "deleted")?;
        let app = &who.app;
        let mut tx = self.catalog().begin().await?;
        let entries = records::subtree(tx.conn(), app, path).await?;
        if entries.is_empty() {
            return Err(ApiError::not_found().into());
        }
        self.authorize_all(tx.conn(), who, Op::Delete, &entries)
            .await?;
        let ids: Vec<i64> = entries.iter().map(|r| r.id).collect();
        let blobs = records::delete(&mut tx, app, &ids).await?;
        let now = now_ms();
        for blob in &blobs {
            catalog::add_garbage(&mut tx, blob, now).await?;
        }
        tx.commit().await?;
        self.drop_blobs(&blobs).await;
        Ok(ids.len() as u64)
    }

    /// Moves `source` (file or directory) into the directory `target`, created when missing.
    /// Needs DELETE on every moved entry and WRITE at the target. Answers the new path.
    pub async fn move_into(
        &self,
        who: &Principal,
        source: &FilePath,
        target: &FilePath,
    ) -> AppResult<FilePath> {
        let mut tx = self.catalog().begin().await?;
        let (_, new_path) = self
            .check_transfer(&mut tx, who, Op::Delete, source, target)
            .await?;
        records::move_tree(&mut tx, &who.app, source, &new_path, now_ms()).await?;
        tx.commit().await?;
        Ok(new_path)
    }

    /// Copies `source` (file or directory) into the directory `target`, created when missing.
    /// Needs READ on every copied entry and WRITE at the target; the copies belong to `who`.
    /// The bytes are copied first, outside any transaction (hard links on disk), so a big copy
    /// never holds the database; then one short transaction records every copy. Answers the
    /// new path.
    pub async fn copy_into(
        &self,
        who: &Principal,
        source: &FilePath,
        target: &FilePath,
    ) -> AppResult<FilePath> {
        let before = {
            let mut conn = self.catalog().read().await?;
            let entries = records::subtree(&mut conn, &who.app, source).await?;
            // Nothing is copied (not even bytes) for a caller who may not read every entry.
            self.authorize_all(&mut conn, who, Op::Read, &entries)
                .await?;
            entries
        };
        let mut copies: HashMap<String, String> = HashMap::new();
        let made = async {
            for r in &before {
                if let Some(c) = &r.content {
                    if !copies.contains_key(&c.blob_id) {
                        let copy = self.copy_blob(&c.blob_id).await?;
                        copies.insert(c.blob_id.clone(), copy);
                    }
                }
            }
            self.blobs().make_durable().await?;
            AppResult::Ok(())
        }
        .await;
        let result = match made {
            Ok(()) => self.record_copies(who, source, target, &mut copies).await,
            Err(e) => Err(e),
        };
        let used: Vec<String> = match &result {
            Ok((_, used)) => used.clone(),
            Err(_) => Vec::new(),
        };
        let unused: Vec<String> = copies
            .values()
            .filter(|c| !used.contains(c))
            .cloned()
            .collect();
        self.discard_blobs(&unused).await?;
        let (new_path, used) = result?;
        self.publish_blobs(&used).await?;
        Ok(new_path)
    }

    /// The transaction of a copy: checks, then one new record per copied entry. Answers the new
    /// path and the copied blobs it used.
    async fn record_copies(
        &self,
        who: &Principal,
        source: &FilePath,
        target: &FilePath,
        copies: &mut HashMap<String, String>,
    ) -> AppResult<(FilePath, Vec<String>)> {
        let app = &who.app;
        let mut tx = self.catalog().begin().await?;
        let (entries, new_path) = self
            .check_transfer(&mut tx, who, Op::Read, source, target)
            .await?;
        let now = now_ms();
        let mut used = Vec::new();
        for old in entries {
            let old_path = old.path.clone().ok_or_else(ApiError::internal)?;
            let path = old_path
                .rebase(source, &new_path)
                .ok_or_else(ApiError::internal)?;
            let content = match &old.content {
                Some(c) => {
                    // An entry that changed since the bytes were copied is copied now.
                    let blob = match copies.get(&c.blob_id) {
                        Some(b) => b.clone(),
                        None => {
                            let b = self.copy_blob(&c.blob_id).await?;
                            self.blobs().make_durable().await?;
                            copies.insert(c.blob_id.clone(), b.clone());
                            b
                        }
                    };
                    used.push(blob.clone());
                    Some(Content {
                        blob_id: blob,
                        ..c.clone()
                    })
                }
                None => None,
            };
            let record = NewRecord {
                id: new_record_id(),
                directory: Some(directory_of(&path)),
                name: path.name().to_owned(),
                path: Some(path),
                is_dir: old.is_dir,
                fields: Fields {
                    external_id: None,
                    ..old.fields
                },
                now,
                content,
                access: Access {
                    owner: who.user_id().map(str::to_owned),
                    epoch: 0,
                    ..old.access
                },
            };
            records::insert(&mut tx, app, &record).await?;
        }
        tx.commit().await?;
        Ok((new_path, used))
    }

    /// Renames `source` within its directory; needs WRITE on every entry. Answers the new path.
    pub async fn rename(
        &self,
        who: &Principal,
        source: &FilePath,
        new_name: &str,
    ) -> AppResult<FilePath> {
        not_root(source, "renamed")?;
        let new_path = source.parent().join(new_name)?;
        reserved(&new_path)?;
        let app = &who.app;
        let mut tx = self.catalog().begin().await?;
        let entries = records::subtree(tx.conn(), app, source).await?;
        if entries.is_empty() {
            return Err(ApiError::not_found().into());
        }
        self.authorize_all(tx.conn(), who, Op::Write, &entries)
            .await?;
        check_lengths(&entries, source, &new_path)?;
        if records::by_path(tx.conn(), app, &new_path).await?.is_some() {
            return Err(ApiError::already_exists(new_name).into());
        }
        records::move_tree(&mut tx, app, source, &new_path, now_ms()).await?;
        tx.commit().await?;
        Ok(new_path)
    }

    /// The checks shared by move and copy (`op` on every source entry, WRITE at the target);
    /// creates the target directory. Answers the source subtree (source first) and the path
    /// the source will have.
    async fn check_transfer(
        &self,
        tx: &mut Tx,
        who: &Principal,
        op: Op,
        source: &FilePath,
        target: &FilePath,
    ) -> AppResult<(Vec<FileRecord>, FilePath)> {
        let app = &who.app;
        not_root(source, "moved or copied")?;
        reserved(target)?;
        let entries = records::subtree(tx.conn(), app, source).await?;
        let Some(first) = entries.first() else {
            return Err(ApiError::not_found().into());
        };
        self.authorize_all(tx.conn(), who, op, &entries).await?;
        if first.is_dir && target.is_within(source) {
            return Err(AppError::api(
                ErrorCode::IntoItself,
                format!(
                    "Unable to move a directory into itself: {}",
                    source.to_absolute()
                ),
            ));
        }
        if let Some(t) = records::by_path(tx.conn(), app, target).await? {
            if !t.is_dir {
                return Err(AppError::api(
                    ErrorCode::MoveFileToFile,
                    "Unable to move file to file",
                ));
            }
        }
        let new_path = target.join(source.name())?;
        check_lengths(&entries, source, &new_path)?;
        if let Some(taken) = records::by_path(tx.conn(), app, &new_path).await? {
            self.authorize(tx.conn(), who, Op::Read, Target::File(&taken))
                .await?;
            return Err(AppError::api(
                ErrorCode::ExistsInTarget,
                "File already exists in target directory",
            ));
        }
        self.authorize(tx.conn(), who, Op::Write, Target::New(&new_path))
            .await?;
        let mut dirs = target.ancestors();
        if !target.is_root() {
            dirs.push(target.clone());
        }
        ensure_dirs(tx, who, &dirs, now_ms()).await?;
        Ok((entries, new_path))
    }
}

/// Every path of the moved subtree must still fit the path length limit at its new place.
fn check_lengths(entries: &[FileRecord], from: &FilePath, to: &FilePath) -> AppResult<()> {
    let longest = entries
        .iter()
        .filter_map(|e| e.path.as_ref())
        .map(|p| p.as_str().len())
        .max()
        .unwrap_or(0);
    let new_len = longest - from.as_str().len() + to.as_str().len();
    if new_len > stowage_protocol::paths::MAX_PATH_BYTES {
        return Err(stowage_protocol::PathError::TooLong(new_len).into());
    }
    Ok(())
}
