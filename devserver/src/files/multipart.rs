//! Multipart uploads: parts are blobs, each recorded as it arrives (a retry replaces the
//! earlier attempt only once the new one is recorded); completion checks them, joins them into
//! one blob and makes it the file's content in the transaction that marks the upload done.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use stowage_protocol::multipart::{part_len, ChecksumAlgorithm, CompletedPart};
use stowage_protocol::{ApiError, ErrorCode, FilePath};

use super::access::Target;
use super::commit::Applied;
use super::paths::commit_at_path;
use super::Files;
use crate::blobs::{valid_id, ByteStream};
use crate::catalog::{self, records, uploads};
use crate::error::{AppError, AppResult};
use crate::model::{etag, now_ms, Completed, Content, FileRecord, Op, Part, Principal, Upload};

/// What `init` records.
#[derive(Debug, Clone)]
pub struct NewUpload {
    /// The file it makes at a path (with `overwrite`), or…
    pub path: Option<FilePath>,
    /// …the record whose content it fills.
    pub record_id: Option<i64>,
    /// Total size, when known.
    pub size: Option<u64>,
    /// Size of every part but the last; 0 when parts may have any size in
    /// `min_part_size..=max_part_size` (only the last may be smaller).
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
    /// Whether the bytes may go straight to the object store, when it hands out its own URLs.
    pub direct: Straight,
}

/// How an upload's bytes may go straight to the object store (`--direct-to-store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Straight {
    /// Through this server.
    No,
    /// As the store's multipart upload: the client names each part's ETag at completion, and
    /// every part's size is planned.
    Parts,
    /// As one PUT of the whole object.
    Whole,
}

/// Checksums the client sent with a part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Claimed {
    /// CRC32C.
    pub crc32c: Option<u32>,
    /// SHA-256.
    pub sha256: Option<[u8; 32]>,
}

/// Sizes of parts whose size the plan does not fix.
#[derive(Debug, Clone, Copy)]
pub struct PartLimits {
    /// Smallest part but the last.
    pub min: u64,
    /// Largest part.
    pub max: u64,
}

fn not_found(id: &str) -> AppError {
    AppError::api(
        ErrorCode::UploadNotFound,
        format!("No such upload: {}", crate::error::shorten(id)),
    )
}

fn completed(id: &str) -> AppError {
    AppError::api(
        ErrorCode::UploadNotFound,
        format!("Upload {id} is completed and takes no more parts"),
    )
}

fn mismatch(n: u64, what: &str, sent: &str, got: &str) -> AppError {
    AppError::api(
        ErrorCode::ChecksumMismatch,
        format!("Checksum mismatch for part {n}: {what} expected {sent}, computed {got}"),
    )
}

impl Files {
    /// Records a new upload, when `who` may write where it goes (decided again at completion).
    pub async fn init_upload(&self, who: &Principal, n: NewUpload) -> AppResult<Upload> {
        match (&n.path, n.record_id) {
            (Some(path), _) => self.check_put(who, path, n.overwrite).await?,
            (None, Some(id)) => {
                let mut conn = self.catalog().read().await?;
                let record = records::by_id(&mut conn, &who.app, id)
                    .await?
                    .filter(|r| !r.is_dir)
                    .ok_or_else(ApiError::not_found)?;
                self.authorize(&mut conn, who, Op::Write, Target::File(&record))
                    .await?;
            }
            (None, None) => return Err(ApiError::internal().into()),
        }
        let now = now_ms();
        let upload = Upload {
            id: crate::blobs::new_id(),
            app: who.app.clone(),
            principal: who.tag(),
            path: n.path,
            record_id: n.record_id,
            size: n.size,
            part_size: n.part_size,
            part_count: n.part_count,
            content_type: n.content_type,
            overwrite: n.overwrite,
            checksum: n.checksum.as_str().to_owned(),
            created_ms: now,
            expires_ms: now.saturating_add(n.ttl_ms),
            result: None,
            direct: match n.direct {
                Straight::Parts if n.size.is_some() && n.part_size > 0 => {
                    self.begin_direct(true).await?
                }
                Straight::Whole => self.begin_direct(false).await?,
                _ => None,
            },
        };
        let recorded = async {
            let mut tx = self.catalog().begin().await?;
            uploads::insert(&mut tx, &upload).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = recorded {
            if let Some(direct) = &upload.direct {
                self.abandon_direct(direct).await?;
            }
            return Err(e);
        }
        Ok(upload)
    }

    /// The upload `id`, when `who` started it (or is the admin of its app); anyone else's
    /// upload is not found.
    pub async fn get_upload(&self, who: &Principal, id: &str) -> AppResult<Upload> {
        match self.upload_by_id(id).await? {
            Some(u) if u.app == who.app && (who.is_admin() || u.principal == who.tag()) => Ok(u),
            _ => Err(not_found(id)),
        }
    }

    /// The upload `id` of any app, for a part URL (its signature names the upload).
    pub async fn upload_by_id(&self, id: &str) -> AppResult<Option<Upload>> {
        if !valid_id(id) {
            return Ok(None);
        }
        let mut conn = self.catalog().read().await?;
        uploads::get(&mut conn, id).await
    }

    /// The parts stored so far.
    pub async fn upload_parts(&self, id: &str) -> AppResult<Vec<Part>> {
        let mut conn = self.catalog().read().await?;
        uploads::parts(&mut conn, id).await
    }

    /// Streams part `n` in, checks its size and the checksums the client claimed, and records
    /// it. A refused part leaves nothing; a retried part replaces the earlier attempt only when
    /// it is recorded, so the recorded ETag and checksum always describe the stored bytes.
    pub async fn put_part(
        &self,
        upload: &Upload,
        n: u64,
        body: ByteStream<'_>,
        claimed: Claimed,
        limits: PartLimits,
    ) -> AppResult<Part> {
        if upload.direct.is_some() {
            return Err(AppError::api(
                ErrorCode::InvalidPartSize,
                "The parts of this upload go straight to the object store, not here",
            ));
        }
        if !(1..=upload.part_count).contains(&n) {
            return Err(AppError::api(
                ErrorCode::InvalidPartSize,
                format!("Part number {n} is outside 1–{}", upload.part_count),
            ));
        }
        let algorithm = ChecksumAlgorithm::parse(&upload.checksum).unwrap_or_default();
        let want_sha = claimed.sha256.is_some() || algorithm == ChecksumAlgorithm::Sha256;
        let blob = self.put_blob(body, want_sha).await?;
        let problem = if let Some(size) = upload.size {
            let expected = part_len(size, upload.part_size, n);
            (blob.size != expected).then(|| size_error(n, expected, blob.size))
        } else if blob.size > limits.max {
            Some(AppError::api(
                ErrorCode::InvalidPartSize,
                format!(
                    "Part {n} is {} bytes; at most {} are allowed",
                    blob.size, limits.max
                ),
            ))
        } else {
            None
        };
        let problem = problem.or_else(|| match (claimed.crc32c, claimed.sha256, blob.sha256) {
            (Some(sent), _, _) if sent != blob.crc32c => Some(mismatch(
                n,
                "crc32c",
                &BASE64.encode(sent.to_be_bytes()),
                &BASE64.encode(blob.crc32c.to_be_bytes()),
            )),
            (_, Some(sent), Some(got)) if sent != got => Some(mismatch(
                n,
                "sha256",
                &BASE64.encode(sent),
                &BASE64.encode(got),
            )),
            _ => None,
        });
        if let Some(e) = problem {
            self.discard_blobs(std::slice::from_ref(&blob.id)).await?;
            return Err(e);
        }
        let part = Part {
            number: n,
            size: blob.size,
            etag: etag(blob.size, blob.crc32c),
            crc32c: blob.crc32c,
            checksum: match algorithm {
                ChecksumAlgorithm::Crc32c => Some(BASE64.encode(blob.crc32c.to_be_bytes())),
                ChecksumAlgorithm::Sha256 => blob.sha256.map(|d| BASE64.encode(d)),
                ChecksumAlgorithm::None => None,
            },
            blob_id: blob.id.clone(),
        };
        let recorded = async {
            self.blobs().make_durable().await?;
            let mut tx = self.catalog().begin().await?;
            if !uploads::lock_open(&mut tx, &upload.id).await? {
                return Err(match self.upload_by_id(&upload.id).await {
                    Ok(Some(_)) => completed(&upload.id),
                    Ok(None) => not_found(&upload.id),
                    Err(e) => e,
                });
            }
            let old = uploads::upsert_part(&mut tx, &upload.id, &part).await?;
            if let Some(old) = &old {
                catalog::add_garbage(&mut tx, old, now_ms()).await?;
            }
            tx.commit().await?;
            AppResult::Ok(old)
        }
        .await;
        match recorded {
            Ok(old) => {
                self.publish_blobs(std::slice::from_ref(&blob.id)).await?;
                if let Some(old) = old {
                    self.drop_blobs(&[old]).await;
                }
                Ok(part)
            }
            Err(e) => {
                self.discard_blobs(std::slice::from_ref(&blob.id)).await?;
                Err(e)
            }
        }
    }

    /// Checks every part (against the plan, and against `listed` when the client names them),
    /// joins them into one blob and makes it the file's content in the transaction that marks
    /// the upload done. A repeated call answers what the first one made. While it runs, the
    /// upload is held against the collector (`COMPLETION_HOLD_MS`); a completion whose upload
    /// another completion or an abort ended under it answers what that one left.
    pub async fn complete_upload(
        &self,
        who: &Principal,
        id: &str,
        listed: Option<&[CompletedPart]>,
        limits: PartLimits,
    ) -> AppResult<(Completed, FileRecord)> {
        let upload = self.get_upload(who, id).await?;
        if let Some(done) = &upload.result {
            return self.completed_record(who, done).await;
        }
        if !self.hold_upload(id).await? {
            return self.ended_upload(who, id).await;
        }
        if let Some(direct) = upload.direct.clone() {
            return self.complete_direct(who, &upload, &direct, listed).await;
        }
        let (ids, joined, done) = match self.join_parts(&upload, listed, limits).await {
            Ok(joined) => joined,
            Err(e) => return self.unless_ended(who, id, e).await,
        };
        let content = Content {
            blob_id: joined.id.clone(),
            size: joined.size,
            etag: done.etag.clone(),
            uploaded_ms: now_ms(),
        };
        let result = async {
            self.blobs().make_durable().await?;
            self.record_completion(who, &upload, &ids, content, done)
                .await
        }
        .await;
        match result {
            Ok(Some((done, applied, garbage))) => {
                self.publish_blobs(std::slice::from_ref(&joined.id)).await?;
                self.drop_blobs(&garbage).await;
                Ok((done, applied.record))
            }
            Ok(None) => {
                // Another completion got there first: answer what it made.
                self.discard_blobs(std::slice::from_ref(&joined.id)).await?;
                self.ended_upload(who, id).await
            }
            Err(e) => {
                self.discard_blobs(std::slice::from_ref(&joined.id)).await?;
                self.unless_ended(who, id, e).await
            }
        }
    }

    /// Keeps the upload from the collector for the length of a completion: its TTL runs for at
    /// least `COMPLETION_HOLD_MS` more. False when it is gone or completed already.
    async fn hold_upload(&self, id: &str) -> AppResult<bool> {
        let mut tx = self.catalog().begin().await?;
        let held = uploads::hold(&mut tx, id, now_ms().saturating_add(COMPLETION_HOLD_MS)).await?;
        tx.commit().await?;
        Ok(held)
    }

    /// Reads and checks the stored parts and joins them into one unpublished blob; answers the
    /// parts' blobs, the joined blob and what the completion will answer.
    async fn join_parts(
        &self,
        upload: &Upload,
        listed: Option<&[CompletedPart]>,
        limits: PartLimits,
    ) -> AppResult<(Vec<String>, crate::blobs::BlobPut, Completed)> {
        let stored = self.upload_parts(&upload.id).await?;
        check_parts(upload, &stored, listed, limits)?;
        let algorithm = ChecksumAlgorithm::parse(&upload.checksum).unwrap_or_default();
        let ids: Vec<String> = stored.iter().map(|p| p.blob_id.clone()).collect();
        let joined = self
            .concat_blobs(&ids, algorithm == ChecksumAlgorithm::Sha256)
            .await?;
        let crc = stored.iter().fold(0u32, |crc, p| {
            crc32c::crc32c_combine(crc, p.crc32c, usize::try_from(p.size).unwrap_or(0))
        });
        let done = Completed {
            record_id: 0,
            size: joined.size,
            etag: etag(joined.size, crc),
            checksum: match algorithm {
                ChecksumAlgorithm::Crc32c => Some(BASE64.encode(crc.to_be_bytes())),
                ChecksumAlgorithm::Sha256 => joined.sha256.map(|d| BASE64.encode(d)),
                ChecksumAlgorithm::None => None,
            },
        };
        Ok((ids, joined, done))
    }

    /// The answer of a completion whose upload ended under it: what the completion that got
    /// there first made, or not found when it was aborted or expired.
    async fn ended_upload(&self, who: &Principal, id: &str) -> AppResult<(Completed, FileRecord)> {
        match self.get_upload(who, id).await?.result {
            Some(done) => self.completed_record(who, &done).await,
            None => Err(not_found(id)),
        }
    }

    /// `e`, unless the upload ended while the completion ran (its parts went with it: that, not
    /// `e`, is the answer then).
    async fn unless_ended(
        &self,
        who: &Principal,
        id: &str,
        e: AppError,
    ) -> AppResult<(Completed, FileRecord)> {
        match self.upload_by_id(id).await? {
            Some(u) if u.result.is_none() => Err(e),
            _ => self.ended_upload(who, id).await,
        }
    }

    /// The transaction of a completion. `None` when another completion committed first.
    pub(super) async fn record_completion(
        &self,
        who: &Principal,
        upload: &Upload,
        part_blobs: &[String],
        content: Content,
        mut done: Completed,
    ) -> AppResult<Option<(Completed, Applied, Vec<String>)>> {
        let now = now_ms();
        let mut tx = self.catalog().begin().await?;
        if !uploads::lock_open(&mut tx, &upload.id).await? {
            return Ok(None);
        }
        let current = uploads::parts(tx.conn(), &upload.id).await?;
        if current.iter().map(|p| &p.blob_id).ne(part_blobs.iter()) {
            return Err(AppError::api(
                ErrorCode::PartMissing,
                "A part changed while the upload was being completed; complete it again",
            ));
        }
        let applied = match (&upload.path, upload.record_id) {
            (Some(path), _) => {
                let at = super::paths::At {
                    who,
                    defaults: self.defaults(&who.app),
                };
                commit_at_path(
                    &mut tx,
                    &at,
                    path,
                    &content,
                    &upload.content_type,
                    upload.overwrite,
                    now,
                )
                .await?
            }
            (None, Some(id)) => {
                let record = records::by_id(tx.conn(), &upload.app, id)
                    .await?
                    .ok_or_else(ApiError::not_found)?;
                self.authorize(tx.conn(), who, Op::Write, Target::File(&record))
                    .await?;
                let replaced =
                    records::set_content(&mut tx, &upload.app, id, &content, None).await?;
                let record = records::by_id(tx.conn(), &upload.app, id)
                    .await?
                    .ok_or_else(ApiError::not_found)?;
                Applied { record, replaced }
            }
            (None, None) => return Err(ApiError::internal().into()),
        };
        done.record_id = applied.record.id;
        if !uploads::set_result(&mut tx, &upload.id, &done).await? {
            return Ok(None);
        }
        let mut garbage = uploads::delete_parts(&mut tx, &upload.id).await?;
        garbage.extend(applied.replaced.clone());
        for blob in &garbage {
            catalog::add_garbage(&mut tx, blob, now).await?;
        }
        tx.commit().await?;
        Ok(Some((done, applied, garbage)))
    }

    pub(super) async fn completed_record(
        &self,
        who: &Principal,
        done: &Completed,
    ) -> AppResult<(Completed, FileRecord)> {
        let record = self
            .get(who, done.record_id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        Ok((done.clone(), record))
    }

    /// Forgets an upload and removes its parts. Aborting twice is fine.
    pub async fn abort_upload(&self, who: &Principal, id: &str) -> AppResult<()> {
        if !valid_id(id) {
            return Ok(());
        }
        let mut tx = self.catalog().begin().await?;
        let direct = match uploads::get(tx.conn(), id).await? {
            Some(u) if u.app != who.app || !(who.is_admin() || u.principal == who.tag()) => {
                return Err(not_found(id))
            }
            Some(u) if u.result.is_some() => return Ok(()),
            None => return Ok(()),
            Some(u) => u.direct,
        };
        let blobs = uploads::delete(&mut tx, id).await?.unwrap_or_default();
        let now = now_ms();
        for blob in &blobs {
            catalog::add_garbage(&mut tx, blob, now).await?;
        }
        tx.commit().await?;
        self.drop_blobs(&blobs).await;
        if let Some(direct) = direct {
            self.abandon_direct(&direct).await?;
        }
        Ok(())
    }

    /// Removes uploads whose TTL ran out before `now_ms`, with their parts, unless a completion
    /// holds them. Answers how many went.
    pub async fn expire_uploads(&self, now_ms: i64) -> AppResult<usize> {
        let ids = {
            let mut conn = self.catalog().read().await?;
            uploads::expired(&mut conn, now_ms).await?
        };
        let mut tx = self.catalog().begin().await?;
        let mut blobs = Vec::new();
        let mut directs = Vec::new();
        let mut removed = 0;
        for id in &ids {
            // Gone meanwhile, or held by a completion since it was listed: not this one's.
            let direct = uploads::get(tx.conn(), id).await?.and_then(|u| u.direct);
            if let Some(parts) = uploads::delete_expired(&mut tx, id, now_ms).await? {
                removed += 1;
                blobs.extend(parts);
                directs.extend(direct);
            }
        }
        for blob in &blobs {
            catalog::add_garbage(&mut tx, blob, now_ms).await?;
        }
        tx.commit().await?;
        self.drop_blobs(&blobs).await;
        for direct in &directs {
            if let Err(e) = self.abandon_direct(direct).await {
                // Its pending row stays: the sweep removes the object later.
                tracing::warn!(blob = direct.blob, error = %e, "could not abort an expired store upload");
            }
        }
        Ok(removed)
    }
}

/// How long a completion holds its upload against the collector, at least: longer than any
/// join of parts takes. A server that dies mid-completion leaves the upload to expire after it.
const COMPLETION_HOLD_MS: i64 = 3600 * 1000;

fn size_error(n: u64, expected: u64, got: u64) -> AppError {
    AppError::api(
        ErrorCode::SizeMismatch,
        format!("Part {n} must be {expected} bytes, got {got}"),
    )
}

/// Every planned part must be stored (with its planned size, or within the limits); a list
/// given by the client must name every part once, in order, with the ETag the server stored.
fn check_parts(
    upload: &Upload,
    stored: &[Part],
    listed: Option<&[CompletedPart]>,
    limits: PartLimits,
) -> AppResult<()> {
    let count = upload.part_count;
    for n in 1..=count {
        let missing = || AppError::api(ErrorCode::PartMissing, format!("Part {n} is missing"));
        let held = stored.iter().find(|p| p.number == n).ok_or_else(missing)?;
        if let Some(listed) = listed {
            let given = listed
                .get(usize::try_from(n - 1).unwrap_or(usize::MAX))
                .filter(|p| p.part_number == n)
                .ok_or_else(missing)?;
            if given.etag != held.etag {
                return Err(AppError::api(
                    ErrorCode::PartEtagMismatch,
                    format!(
                        "Part {n} has ETag {}, not {}",
                        held.etag,
                        crate::error::shorten(&given.etag)
                    ),
                ));
            }
        }
        match upload.size {
            Some(size) => {
                let expected = part_len(size, upload.part_size, n);
                if held.size != expected {
                    return Err(size_error(n, expected, held.size));
                }
            }
            None if n < count && held.size < limits.min => {
                return Err(AppError::api(
                    ErrorCode::InvalidPartSize,
                    format!(
                        "Part {n} is {} bytes; every part but the last must be at least {}",
                        held.size, limits.min
                    ),
                ));
            }
            None => {}
        }
    }
    if let Some(listed) = listed {
        if listed.len() as u64 != count {
            return Err(AppError::api(
                ErrorCode::PartMissing,
                format!(
                    "The upload has {count} parts; complete named {}",
                    listed.len()
                ),
            ));
        }
    }
    Ok(())
}
