//! Bytes straight to and from the object store (`--direct-to-store`): a multipart upload maps
//! onto the store's own multipart upload (its part URLs are the store's presigned `UploadPart`
//! URLs, and `complete` calls the store's `CompleteMultipartUpload`: no part is copied), and a
//! download link is the store's presigned `GET`. Authorization happens here, when a URL is
//! made: one object, one method, an exact length for a part, a short expiry.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use futures_util::StreamExt;
use stowage_protocol::multipart::{ChecksumAlgorithm, CompletedPart};
use stowage_protocol::{ErrorCode, FilePath};

use super::multipart::NewUpload;
use super::Files;
use crate::blobs::DirectStore;
use crate::catalog::uploads;
use crate::error::{AppError, AppResult};
use crate::model::{etag, now_ms, Completed, Content, DirectUpload, FileRecord, Principal, Upload};

impl Files {
    fn store_urls(&self) -> Option<&dyn DirectStore> {
        self.blobs().direct()
    }

    /// Whether uploads and downloads go straight to the object store.
    #[must_use]
    pub fn direct_to_store(&self) -> bool {
        self.store_urls().is_some()
    }

    /// The store's side of a new upload (when bytes go straight to it): its multipart upload
    /// (`parts`), or none for one PUT of the whole object.
    pub(super) async fn begin_direct(&self, parts: bool) -> AppResult<Option<DirectUpload>> {
        let Some(store) = self.store_urls() else {
            return Ok(None);
        };
        let blob = self.new_blob_id().await?;
        if !parts {
            return Ok(Some(DirectUpload {
                blob,
                upload: String::new(),
            }));
        }
        match store.begin_upload(&blob).await {
            Ok(upload) => Ok(Some(DirectUpload { blob, upload })),
            Err(e) => {
                self.forget_pending(std::slice::from_ref(&blob)).await?;
                Err(e.into())
            }
        }
    }

    /// A single upload of a whole file straight to the store (`/v1` presigned PUT): records
    /// it like a one-part upload whose store side is a plain object PUT, and answers the
    /// store's PUT URL (with this `Content-Type` signed). `None` when bytes do not go straight
    /// to the store. [`Files::finish_direct_put`] commits the file once its bytes are there.
    pub async fn begin_direct_put(
        &self,
        who: &Principal,
        new: NewUpload,
        expires_in: Duration,
    ) -> AppResult<Option<String>> {
        let Some(store) = self.store_urls() else {
            return Ok(None);
        };
        let content_type = new.content_type.clone();
        let upload = self.init_upload(who, new).await?;
        let Some(direct) = &upload.direct else {
            return Err(stowage_protocol::ApiError::internal().into());
        };
        Ok(Some(
            store
                .upload_url(&direct.blob, expires_in, &content_type)
                .await?,
        ))
    }

    /// Commits the file of `who`'s latest single upload straight to the store at `path`, once
    /// its object is there (bkend's `POST /v1/files` after a presigned upload). Nothing to do
    /// when there is none.
    pub async fn finish_direct_put(&self, who: &Principal, path: &FilePath) -> AppResult<()> {
        if self.store_urls().is_none() {
            return Ok(());
        }
        let upload = {
            let mut conn = self.catalog().read().await?;
            uploads::direct_put_at(&mut conn, &who.app, path, &who.tag()).await?
        };
        let Some(upload) = upload else {
            return Ok(());
        };
        let Some(direct) = upload.direct.clone() else {
            return Ok(());
        };
        self.complete_direct(who, &upload, &direct, None).await?;
        Ok(())
    }

    /// The parts of an upload straight to the store that the store holds (to resume it), or
    /// `None` for an upload through this server.
    pub async fn direct_parts(
        &self,
        upload: &Upload,
    ) -> AppResult<Option<Vec<crate::model::Part>>> {
        let (Some(store), Some(direct)) = (self.store_urls(), &upload.direct) else {
            return Ok(None);
        };
        if direct.upload.is_empty() || upload.result.is_some() {
            return Ok(Some(Vec::new()));
        }
        let listed = match store.list_parts(&direct.blob, &direct.upload).await {
            Ok(listed) => listed,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(Some(
            listed
                .into_iter()
                .map(|(number, size, etag)| crate::model::Part {
                    number,
                    size,
                    etag,
                    crc32c: 0,
                    checksum: None,
                    blob_id: String::new(),
                })
                .collect(),
        ))
    }

    /// The store's PUT URL of part `n` of `upload`, when it goes straight to the store.
    pub async fn direct_part_url(
        &self,
        upload: &Upload,
        n: u64,
        length: u64,
        expires_in: Duration,
    ) -> AppResult<Option<String>> {
        let (Some(store), Some(direct)) = (self.store_urls(), &upload.direct) else {
            return Ok(None);
        };
        Ok(Some(
            store
                .part_url(&direct.blob, &direct.upload, n, length, expires_in)
                .await?,
        ))
    }

    /// The store's GET URL of `record`'s bytes (already authorized by the caller), when
    /// downloads go straight to the store.
    pub async fn direct_download_url(
        &self,
        record: &FileRecord,
        content_type: &str,
        expires_in: Duration,
    ) -> AppResult<Option<String>> {
        let (Some(store), Some(content)) = (self.store_urls(), &record.content) else {
            return Ok(None);
        };
        Ok(Some(
            store
                .download_url(&content.blob_id, expires_in, content_type, &record.name)
                .await?,
        ))
    }

    /// Completes an upload whose parts went to the store: the store joins them (from the
    /// ETags the client names), then the object is read once to check its size and compute
    /// its CRC32C (and SHA-256), and the file is committed as for any upload.
    pub(super) async fn complete_direct(
        &self,
        who: &Principal,
        upload: &Upload,
        direct: &DirectUpload,
        listed: Option<&[CompletedPart]>,
    ) -> AppResult<(Completed, FileRecord)> {
        let store = self
            .store_urls()
            .ok_or_else(stowage_protocol::ApiError::internal)?;
        if direct.upload.is_empty() {
            // A single PUT of the whole object: nothing for the store to join.
            return self.commit_direct(who, upload, direct).await;
        }
        let listed = listed.ok_or_else(|| {
            AppError::api(
                ErrorCode::PartMissing,
                "Name every part with the ETag the object store answered its PUT with",
            )
        })?;
        for (i, part) in listed.iter().enumerate() {
            if part.part_number != i as u64 + 1 {
                return Err(AppError::api(
                    ErrorCode::PartMissing,
                    format!("Part {} is missing", i + 1),
                ));
            }
        }
        if listed.len() as u64 != upload.part_count {
            return Err(AppError::api(
                ErrorCode::PartMissing,
                format!("Part {} is missing", listed.len() + 1),
            ));
        }
        let etags: Vec<String> = listed.iter().map(|p| p.etag.clone()).collect();
        if let Err(e) = store
            .finish_upload(&direct.blob, &direct.upload, &etags)
            .await
        {
            // A completion that raced this one finished the store's upload first.
            if let Some(done) = self.upload_by_id(&upload.id).await?.and_then(|u| u.result) {
                return self.completed_record(who, &done).await;
            }
            let e = AppError::Io(e);
            if e.is_unavailable() {
                return Err(e);
            }
            tracing::warn!(upload = upload.id, error = %e, "the store refused to complete");
            return Err(AppError::api(
                ErrorCode::PartEtagMismatch,
                "The object store refused the parts: one is missing, too small, or has another ETag",
            ));
        }
        self.commit_direct(who, upload, direct).await
    }

    /// Reads the store's whole object once (size, CRC32C, SHA-256) and commits it as the
    /// upload's file.
    async fn commit_direct(
        &self,
        who: &Principal,
        upload: &Upload,
        direct: &DirectUpload,
    ) -> AppResult<(Completed, FileRecord)> {
        let algorithm = ChecksumAlgorithm::parse(&upload.checksum).unwrap_or_default();
        let (size, crc, sha) = self
            .sums_of(&direct.blob, algorithm == ChecksumAlgorithm::Sha256)
            .await?;
        if let Some(expected) = upload.size.filter(|s| *s != size) {
            self.discard_blobs(std::slice::from_ref(&direct.blob))
                .await?;
            return Err(AppError::api(
                ErrorCode::SizeMismatch,
                format!("The upload must be {expected} bytes, got {size}"),
            ));
        }
        let done = Completed {
            record_id: 0,
            size,
            etag: etag(size, crc),
            checksum: match algorithm {
                ChecksumAlgorithm::Crc32c => Some(BASE64.encode(crc.to_be_bytes())),
                ChecksumAlgorithm::Sha256 => sha.map(|d| BASE64.encode(d)),
                ChecksumAlgorithm::None => None,
            },
        };
        let content = Content {
            blob_id: direct.blob.clone(),
            size,
            etag: done.etag.clone(),
            uploaded_ms: now_ms(),
        };
        match self
            .record_completion(who, upload, &[], content, done)
            .await
        {
            Ok(Some((done, applied, garbage))) => {
                self.publish_blobs(std::slice::from_ref(&direct.blob))
                    .await?;
                self.drop_blobs(&garbage).await;
                Ok((done, applied.record))
            }
            // Another completion committed the same object first: answer what it made.
            Ok(None) => match self.upload_by_id(&upload.id).await?.and_then(|u| u.result) {
                Some(done) => self.completed_record(who, &done).await,
                None => Err(stowage_protocol::ApiError::internal().into()),
            },
            Err(e) => {
                self.discard_blobs(std::slice::from_ref(&direct.blob))
                    .await?;
                Err(e)
            }
        }
    }

    /// Size, CRC32C and (when asked) SHA-256 of a stored blob, read once.
    async fn sums_of(&self, blob: &str, sha256: bool) -> AppResult<(u64, u32, Option<[u8; 32]>)> {
        let read = self.blobs().get(blob, None).await.map_err(|e| match e {
            crate::blobs::ReadError::Io(e) => AppError::Io(e),
            crate::blobs::ReadError::Missing => AppError::api(
                ErrorCode::NotUploaded,
                "The file's bytes are not in the store yet: PUT them to the upload URL first",
            ),
            other => AppError::Io(std::io::Error::other(other.to_string())),
        })?;
        let mut body = read.body;
        let mut sums = crate::blobs::Sums::new(sha256);
        while let Some(chunk) = body.next().await {
            sums.add(&chunk?);
        }
        let put = sums.done(blob);
        Ok((put.size, put.crc32c, put.sha256))
    }

    /// Abandons the store's side of an upload that ends unfinished (aborted or expired).
    pub(super) async fn abandon_direct(&self, direct: &DirectUpload) -> AppResult<()> {
        if let Some(store) = self.store_urls().filter(|_| !direct.upload.is_empty()) {
            store.abort_upload(&direct.blob, &direct.upload).await?;
        }
        self.discard_blobs(std::slice::from_ref(&direct.blob)).await
    }
}
