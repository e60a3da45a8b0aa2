//! The files service: the only way to touch files. Routes call its methods with domain types
//! ([`crate::model`]) and get domain types back; it decides (paths, overwrite rules, limits),
//! then changes the [`Catalog`] and the [`BlobStore`] under it, in that order of trust: bytes
//! are durable before a row names them, and a blob is removed only after no row names it.

mod commit;
mod multipart;
mod paths;
mod records;
mod validate;

use std::sync::Arc;

use stowage_protocol::{ApiError, ErrorCode};

pub use multipart::{Claimed, NewUpload, PartLimits};
pub use paths::PutOptions;
pub use records::{ListPatch, NewFile, Patch, Update};
pub use validate::check_fields;

/// A request body as the service takes it.
pub use crate::blobs::ByteStream;

use crate::blobs::{BlobStore, BlobStream, ReadError};
use crate::catalog::{self, Catalog};
use crate::error::{AppError, AppResult};
use crate::model::{FileQuery, FileRecord, Filter, Page, MAX_ID};

/// Files of every app.
#[derive(Debug, Clone)]
pub struct Files {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    catalog: Catalog,
    blobs: Arc<dyn BlobStore>,
    committer: commit::Committer,
}

/// An open file: the bytes of the asked range and the record they belong to.
pub struct Opened {
    /// The record as it was when its bytes were opened.
    pub record: FileRecord,
    /// The bytes.
    pub body: BlobStream,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

/// A random record id in `1..=MAX_ID`.
fn new_record_id() -> i64 {
    use rand::Rng;
    rand::rng().random_range(1..=MAX_ID)
}

impl Files {
    /// The service over a catalog and a blob store. Settles what a crash left: blobs written but
    /// never published are published when a row names them and removed when none does; blobs
    /// whose rows went are removed. Refuses a new catalog over a store that holds blobs.
    pub async fn start(
        catalog: Catalog,
        new_catalog: bool,
        blobs: Arc<dyn BlobStore>,
    ) -> AppResult<Self> {
        if new_catalog && blobs.has_published().await? {
            return Err(AppError::Config(
                "the data directory holds file bytes but the database is new: its catalog is \
                 missing or was replaced. Restore the database (or point --database at it), or \
                 move the blobs/ directory away to start empty."
                    .into(),
            ));
        }
        catalog.mark_in_use().await?;
        let pending = blobs.unpublished().await?;
        let referenced = catalog.referenced_blobs(&pending).await?;
        blobs.publish(&referenced).await?;
        let mut removed = 0usize;
        for id in pending.iter().filter(|id| !referenced.contains(id)) {
            blobs.delete(id).await?;
            removed += 1;
        }
        if removed > 0 {
            tracing::info!(removed, "removed blobs of writes that never committed");
        }
        let committer = commit::Committer::start(catalog.clone(), blobs.clone());
        let files = Self {
            inner: Arc::new(Inner {
                catalog,
                blobs,
                committer,
            }),
        };
        // Garbage left by a crash is removed now if it can be; on a full disk (its rows cannot be
        // forgotten yet) the collector tries again later, and the server starts all the same.
        if let Err(e) = files.collect_garbage().await {
            tracing::warn!(error = %e, "could not remove garbage blobs at start; will retry");
        }
        Ok(files)
    }

    fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    fn blobs(&self) -> &dyn BlobStore {
        self.inner.blobs.as_ref()
    }

    /// Removes blobs no row names any more, then forgets them once their removal is durable.
    pub async fn collect_garbage(&self) -> AppResult<usize> {
        let mut total = 0;
        loop {
            let ids = self.catalog().garbage(512).await?;
            if ids.is_empty() {
                return Ok(total);
            }
            for id in &ids {
                self.blobs().delete(id).await?;
            }
            self.blobs().make_durable().await?;
            self.catalog().forget_garbage(&ids).await?;
            total += ids.len();
        }
    }

    /// Removes garbage blobs right after the commit that made them garbage (best effort: the
    /// garbage table keeps them until [`Files::collect_garbage`] made the removal durable).
    async fn drop_blobs(&self, ids: &[String]) {
        for id in ids {
            if let Err(e) = self.blobs().delete(id).await {
                tracing::warn!(blob = id, error = %e, "could not remove a replaced blob yet");
            }
        }
    }

    /// Streams a body into a new blob; a body of another length than `expected` is refused
    /// and leaves nothing. Answers the content it makes.
    async fn stream_in(
        &self,
        body: crate::blobs::ByteStream<'_>,
        expected: Option<u64>,
    ) -> AppResult<crate::model::Content> {
        let blob = self.blobs().put(body, false).await?;
        if let Some(expected) = expected.filter(|n| *n != blob.size) {
            self.blobs().delete(&blob.id).await?;
            return Err(paths::size_mismatch("The body", expected, blob.size));
        }
        Ok(crate::model::Content {
            etag: crate::model::etag(blob.size, blob.crc32c),
            blob_id: blob.id,
            size: blob.size,
            uploaded_ms: crate::model::now_ms(),
        })
    }

    /// Records new content through the group commit, then publishes its blob and drops the
    /// one it replaced; a refused change removes the new blob.
    async fn commit_content(&self, change: commit::Change) -> AppResult<FileRecord> {
        let blob = change.blob().to_owned();
        match self.inner.committer.commit(change).await {
            Ok(applied) => {
                if let Err(e) = self.blobs().publish(std::slice::from_ref(&blob)).await {
                    // Committed and durable: the start-up check publishes it.
                    tracing::error!(blob, error = %e, "publishing a committed blob failed");
                }
                if let Some(old) = applied.replaced {
                    self.drop_blobs(&[old]).await;
                }
                Ok(applied.record)
            }
            Err(e) => {
                self.blobs().delete(&blob).await?;
                Err(e)
            }
        }
    }

    /// The record with this id.
    pub async fn get(&self, app: &str, id: i64) -> AppResult<Option<FileRecord>> {
        let mut conn = self.catalog().read().await?;
        catalog::records::by_id(&mut conn, app, id).await
    }

    /// The record with this externalId.
    pub async fn get_external(
        &self,
        app: &str,
        external_id: &str,
    ) -> AppResult<Option<FileRecord>> {
        let mut conn = self.catalog().read().await?;
        catalog::records::by_external_id(&mut conn, app, external_id).await
    }

    /// One page of a query.
    pub async fn query(&self, app: &str, q: &FileQuery) -> AppResult<Page> {
        self.catalog().query(app, q).await
    }

    /// How many records match a filter.
    pub async fn count(&self, app: &str, f: &Filter) -> AppResult<u64> {
        self.catalog().count(app, f).await
    }

    /// Opens a record's bytes (`range` within them). A reader racing an overwrite gets the old
    /// bytes or the new ones: when the blob it looked up was replaced before it could open it,
    /// it looks the record up again.
    pub async fn open(
        &self,
        app: &str,
        record: FileRecord,
        range: Option<std::ops::Range<u64>>,
    ) -> AppResult<Opened> {
        let mut record = record;
        for _ in 0..8 {
            let Some(content) = record.content.as_ref() else {
                return Err(not_uploaded());
            };
            match self.blobs().get(&content.blob_id, range.clone()).await {
                Ok(read) => {
                    return Ok(Opened {
                        record,
                        body: read.body,
                    })
                }
                Err(ReadError::Missing) => {
                    let again = self
                        .get(app, record.id)
                        .await?
                        .ok_or_else(ApiError::not_found)?;
                    if again.content.as_ref().map(|c| &c.blob_id) == Some(&content.blob_id) {
                        tracing::error!(
                            record = record.id,
                            blob = content.blob_id,
                            "blob missing for a record"
                        );
                        return Err(ApiError::not_found().into());
                    }
                    record = again;
                }
                Err(ReadError::Escapes) => return Err(ApiError::no_permission().into()),
                Err(ReadError::Io(e)) => return Err(e.into()),
            }
        }
        Err(ApiError::not_found().into())
    }
}

fn not_uploaded() -> AppError {
    AppError::api(ErrorCode::NotUploaded, "The file has no content yet")
}
