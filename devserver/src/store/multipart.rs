//! Multipart uploads on top of the store: parts are staged as files under
//! `{data}/staging/{uploadId}/{n}`, checked, then concatenated into one blob that becomes
//! visible at its path in the same transaction that records the upload's result.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use futures_util::Stream;
use stowage_protocol::multipart::{part_len, ChecksumAlgorithm, CompleteResponse, CompletedPart};
use stowage_protocol::{ErrorCode, FilePath};

use super::blobs::WriteError;
use super::uploads::{self, PartRow, UploadRow};
use super::{commit_file_in, etag, now_ms, Entry, Store};
use crate::error::{AppError, AppResult};

/// What `init` records.
#[derive(Debug, Clone)]
pub struct NewUpload {
    /// The app.
    pub app: String,
    /// Where the file will be.
    pub path: FilePath,
    /// Total size.
    pub size: u64,
    /// Size of every part but the last.
    pub part_size: u64,
    /// Number of parts.
    pub part_count: u64,
    /// MIME type to store.
    pub content_type: String,
    /// Replace an existing file at completion.
    pub overwrite: bool,
    /// The parts' checksum.
    pub checksum: ChecksumAlgorithm,
    /// Lifetime of the unfinished upload, ms.
    pub ttl_ms: i64,
}

/// Checksums the client sent with a part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Claimed {
    /// From `x-stowage-checksum-crc32c`.
    pub crc32c: Option<u32>,
    /// From `x-stowage-checksum-sha256`.
    pub sha256: Option<[u8; 32]>,
}

fn not_found(id: &str) -> AppError {
    AppError::api(
        ErrorCode::UploadNotFound,
        format!(
            "No such upload: {}",
            id.chars().take(64).collect::<String>()
        ),
    )
}

/// Upload ids are 32 lowercase hex digits made by the server; anything else names nothing
/// (and never reaches a filesystem path).
fn valid_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn as_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn as_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store {
    async fn lock_upload(&self, id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = self
            .upload_locks
            .lock()
            .await
            .entry(id.to_owned())
            .or_default()
            .clone();
        lock.lock_owned().await
    }

    /// Records a new upload and creates its staging directory.
    pub async fn init_upload(&self, n: NewUpload) -> AppResult<UploadRow> {
        let now = now_ms();
        let row = UploadRow {
            id: super::blobs::new_id(),
            app_id: n.app,
            path: n.path.to_string(),
            size: as_i64(n.size),
            part_size: as_i64(n.part_size),
            part_count: as_i64(n.part_count),
            content_type: n.content_type,
            overwrite: n.overwrite,
            checksum: n.checksum.as_str().to_owned(),
            created_ms: now,
            expires_ms: now.saturating_add(n.ttl_ms),
            result: None,
        };
        self.blobs.create_staging(&row.id).await?;
        let mut tx = self.meta.begin().await?;
        uploads::insert(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The upload `id` of `app` (another app's upload is not found).
    pub async fn get_upload(&self, app: Option<&str>, id: &str) -> AppResult<UploadRow> {
        if !valid_id(id) {
            return Err(not_found(id));
        }
        let mut conn = self.meta.read().await?;
        match uploads::get(&mut conn, id).await? {
            Some(u) if app.is_none_or(|a| a == u.app_id) => Ok(u),
            _ => Err(not_found(id)),
        }
    }

    /// The parts stored so far.
    pub async fn upload_parts(&self, id: &str) -> AppResult<Vec<PartRow>> {
        let mut conn = self.meta.read().await?;
        uploads::parts(&mut conn, id).await
    }

    /// Streams part `n` of `upload` to staging, checks its size and the checksums the client
    /// claimed, and records it. A failed part leaves nothing behind; a retried part replaces
    /// the earlier attempt.
    pub async fn put_part<S>(
        &self,
        upload: &UploadRow,
        n: u64,
        body: S,
        claimed: Claimed,
    ) -> AppResult<PartRow>
    where
        S: Stream<Item = Result<Bytes, AppError>>,
    {
        let expected = part_len(as_u64(upload.size), as_u64(upload.part_size), n);
        let algorithm = ChecksumAlgorithm::parse(&upload.checksum).unwrap_or_default();
        let want_sha = claimed.sha256.is_some() || algorithm == ChecksumAlgorithm::Sha256;
        let staged = self
            .blobs
            .stage(body, want_sha)
            .await
            .map_err(|e| match e {
                WriteError::Body(e) => e,
                WriteError::Io(e) => AppError::Io(e),
            })?;
        let mismatch = |what: &str, sent: String, got: String| {
            AppError::api(
                ErrorCode::ChecksumMismatch,
                format!("Checksum mismatch for part {n}: {what} expected {sent}, computed {got}"),
            )
        };
        let problem = if staged.size != expected {
            Some(AppError::api(
                ErrorCode::SizeMismatch,
                format!("Part {n} must be {expected} bytes, got {}", staged.size),
            ))
        } else if let Some(sent) = claimed.crc32c.filter(|c| *c != staged.crc32c) {
            Some(mismatch(
                "crc32c",
                BASE64.encode(sent.to_be_bytes()),
                BASE64.encode(staged.crc32c.to_be_bytes()),
            ))
        } else if let (Some(sent), Some(got)) = (claimed.sha256, staged.sha256) {
            (sent != got).then(|| mismatch("sha256", BASE64.encode(sent), BASE64.encode(got)))
        } else {
            None
        };
        if let Some(e) = problem {
            self.blobs.discard(staged).await;
            return Err(e);
        }
        let checksum = match algorithm {
            ChecksumAlgorithm::Crc32c => Some(BASE64.encode(staged.crc32c.to_be_bytes())),
            ChecksumAlgorithm::Sha256 => staged.sha256.map(|d| BASE64.encode(d)),
            ChecksumAlgorithm::None => None,
        };
        let row = PartRow {
            part_number: as_i64(n),
            size: as_i64(staged.size),
            etag: etag(staged.size, staged.crc32c),
            crc32c: i64::from(staged.crc32c),
            checksum,
        };
        let _guard = self.lock_upload(&upload.id).await;
        let mut conn = self.meta.read().await?;
        let current = uploads::get(&mut conn, &upload.id).await?;
        drop(conn);
        match current {
            Some(u) if u.result.is_none() => {}
            Some(_) => {
                self.blobs.discard(staged).await;
                return Err(AppError::api(
                    ErrorCode::UploadNotFound,
                    format!("Upload {} is completed and takes no more parts", upload.id),
                ));
            }
            None => {
                self.blobs.discard(staged).await;
                return Err(not_found(&upload.id));
            }
        }
        self.blobs
            .commit_to(&staged, &self.blobs.part_path(&upload.id, n))
            .await?;
        let mut tx = self.meta.begin().await?;
        uploads::upsert_part(&mut tx, &upload.id, &row).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Checks every part against the plan and the client's list, concatenates them into one
    /// blob and makes it visible at the upload's path, recording the answer in the same
    /// transaction. A repeated call answers the recorded result.
    pub async fn complete_upload(
        &self,
        app: &str,
        id: &str,
        listed: &[CompletedPart],
        answer: impl FnOnce(&FilePath, &Entry, Option<String>) -> CompleteResponse,
    ) -> AppResult<CompleteResponse> {
        let upload = self.get_upload(Some(app), id).await?;
        let _guard = self.lock_upload(id).await;
        let upload = self.get_upload(Some(app), &upload.id).await?;
        if let Some(done) = upload
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
        {
            return Ok(done);
        }
        let stored = self.upload_parts(id).await?;
        check_parts(&upload, &stored, listed)?;
        let algorithm = ChecksumAlgorithm::parse(&upload.checksum).unwrap_or_default();
        let files = stored
            .iter()
            .map(|p| self.blobs.part_path(id, as_u64(p.part_number)))
            .collect();
        let staged = self
            .blobs
            .concat(files, algorithm == ChecksumAlgorithm::Sha256)
            .await?;
        let crc = stored.iter().fold(0u32, |crc, p| {
            crc32c::crc32c_combine(
                crc,
                u32::try_from(p.crc32c).unwrap_or(0),
                as_u64(p.size) as usize,
            )
        });
        let checksum = match algorithm {
            ChecksumAlgorithm::Crc32c => Some(BASE64.encode(crc.to_be_bytes())),
            ChecksumAlgorithm::Sha256 => staged.sha256.map(|d| BASE64.encode(d)),
            ChecksumAlgorithm::None => None,
        };
        let size = staged.size;
        let blob = self.blobs.commit_blob(staged).await?;
        let path = FilePath::parse(&upload.path)?;
        let now = now_ms();
        let entry = Entry {
            path: upload.path.clone(),
            parent: path.parent().to_string(),
            name: path.name().to_owned(),
            is_dir: false,
            blob_id: Some(blob.id.clone()),
            size: as_i64(size),
            content_type: Some(upload.content_type.clone()),
            etag: Some(etag(size, crc)),
            created_ms: now,
            updated_ms: now,
        };
        let response = answer(&path, &entry, checksum);
        let result = async {
            let mut tx = self.meta.begin().await?;
            let replaced = commit_file_in(&mut tx, app, &path, &entry, upload.overwrite).await?;
            let json = serde_json::to_string(&response).map_err(|e| AppError::Io(e.into()))?;
            uploads::set_result(&mut tx, id, &json).await?;
            tx.commit().await?;
            AppResult::Ok(replaced)
        }
        .await;
        match result {
            Ok(replaced) => {
                if let Some(old) = replaced {
                    self.blobs.delete(&old).await?;
                }
                self.blobs.remove_staging(id).await?;
                Ok(response)
            }
            Err(e) => {
                self.blobs.delete(&blob.id).await?;
                Err(e)
            }
        }
    }

    /// Forgets an upload and removes its staged parts. Aborting twice is fine.
    pub async fn abort_upload(&self, app: &str, id: &str) -> AppResult<()> {
        if !valid_id(id) {
            return Ok(());
        }
        let _guard = self.lock_upload(id).await;
        let mut tx = self.meta.begin().await?;
        match uploads::get(&mut tx, id).await? {
            Some(u) if u.app_id != app => return Err(not_found(id)),
            Some(u) if u.result.is_some() => return Ok(()),
            _ => {}
        }
        uploads::delete(&mut tx, id).await?;
        tx.commit().await?;
        self.blobs.remove_staging(id).await?;
        Ok(())
    }

    /// Removes uploads whose TTL ran out before `now_ms`, and staging directories no upload
    /// owns. Returns how many uploads went.
    pub async fn expire_uploads(&self, now_ms: i64) -> AppResult<usize> {
        let mut tx = self.meta.begin().await?;
        let ids = uploads::expired(&mut tx, now_ms).await?;
        for id in &ids {
            uploads::delete(&mut tx, id).await?;
        }
        tx.commit().await?;
        for id in &ids {
            self.blobs.remove_staging(id).await?;
        }
        let mut conn = self.meta.read().await?;
        for id in self.blobs.staged_uploads().await? {
            if uploads::get(&mut conn, &id)
                .await?
                .is_none_or(|u| u.result.is_some())
            {
                self.blobs.remove_staging(&id).await?;
            }
        }
        if let Ok(mut locks) = self.upload_locks.try_lock() {
            locks.retain(|_, l| std::sync::Arc::strong_count(l) > 1);
        }
        Ok(ids.len())
    }
}

/// The list given to `complete` must name every planned part once, in order, with the ETag the
/// server stored; every stored part must have its planned size.
fn check_parts(upload: &UploadRow, stored: &[PartRow], listed: &[CompletedPart]) -> AppResult<()> {
    let count = as_u64(upload.part_count);
    for n in 1..=count {
        let missing = || AppError::api(ErrorCode::PartMissing, format!("Part {n} is missing"));
        let given = listed
            .get(usize::try_from(n - 1).unwrap_or(usize::MAX))
            .filter(|p| p.part_number == n);
        let given = given.ok_or_else(missing)?;
        let held = stored
            .iter()
            .find(|p| as_u64(p.part_number) == n)
            .ok_or_else(missing)?;
        if given.etag != held.etag {
            return Err(AppError::api(
                ErrorCode::PartEtagMismatch,
                format!(
                    "Part {n} has ETag {}, not {}",
                    held.etag,
                    given.etag.chars().take(80).collect::<String>()
                ),
            ));
        }
        let expected = part_len(as_u64(upload.size), as_u64(upload.part_size), n);
        if as_u64(held.size) != expected {
            return Err(AppError::api(
                ErrorCode::SizeMismatch,
                format!("Part {n} must be {expected} bytes, got {}", held.size),
            ));
        }
    }
    if listed.len() as u64 != count {
        return Err(AppError::api(
            ErrorCode::PartMissing,
            format!(
                "The upload has {count} parts; complete named {}",
                listed.len()
            ),
        ));
    }
    Ok(())
}
