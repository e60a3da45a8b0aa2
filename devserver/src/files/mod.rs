//! The files service: the only way to touch files. Routes call its methods with domain types
//! ([`crate::model`]) and get domain types back; it decides (paths, overwrite rules, limits),
//! then changes the [`Catalog`] and the [`BlobStore`] under it, in that order of trust: bytes
//! are durable before a row names them, and a blob is removed only after no row names it.

mod access;
mod commit;
mod direct;
mod multipart;
mod paths;
mod records;
mod rules;
mod users;
mod validate;
mod variants;

use std::collections::HashMap;
use std::sync::Arc;

use stowage_protocol::{ApiError, ErrorCode};

pub use multipart::{Claimed, NewUpload, PartLimits, Straight};
pub use paths::PutOptions;
pub use records::{check_new_file, ListPatch, NewFile, Patch, Update};
pub use rules::{AccessChange, RuleTarget};
pub use validate::check_fields;
pub use variants::{Variant, Variants};

/// A request body as the service takes it.
pub use crate::blobs::ByteStream;

use crate::blobs::{BlobStore, BlobStream, ReadError};
use crate::catalog::{self, Catalog};
use crate::error::{AppError, AppResult};
use crate::model::now_ms;
use crate::model::{AppDefaults, FileQuery, FileRecord, Filter, Op, Page, Principal, MAX_ID};
use access::Target;

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
    /// Each app's defaults (an app not named here is `Private`).
    defaults: HashMap<String, AppDefaults>,
    limiter: users::Limiter,
    /// How long a blob of a store that cannot list it may stay unnamed by any row before the
    /// collector takes it for the leftover of a write that never finished.
    pending_ttl_ms: i64,
    /// Image variants, removed with their blob.
    variants: Variants,
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

/// Most batches one listing request reads looking for records its principal may read.
const MAX_SCANS: usize = 20;

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
        defaults: HashMap<String, AppDefaults>,
        pending_ttl_ms: i64,
        variants: Variants,
    ) -> AppResult<Self> {
        if new_catalog && blobs.has_published().await? {
            return Err(AppError::Config(
                "the blob store (the data directory's blobs/, or the --blobs bucket and prefix) \
                 holds file bytes but the database is new: its catalog is missing or was \
                 replaced. Restore the database (or point --database at it), or start with an \
                 empty blob store."
                    .into(),
            ));
        }
        catalog.mark_in_use().await?;
        // A store that cannot list what a crash left (an object store other servers may be
        // writing to right now) is settled by the collector, from the pending table, by age.
        let pending = if blobs.lists_unpublished() {
            blobs.unpublished().await?
        } else {
            Vec::new()
        };
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
                defaults,
                limiter: users::Limiter::default(),
                pending_ttl_ms,
                variants,
            }),
        };
        // Garbage left by a crash is removed now if it can be; on a full disk (its rows cannot be
        // forgotten yet) the collector tries again later, and the server starts all the same.
        if let Err(e) = files.collect_garbage().await {
            tracing::warn!(error = %e, "could not remove garbage blobs at start; will retry");
        }
        Ok(files)
    }

    /// How many blobs the store holds (it lists the whole store: tests and offline checks).
    pub async fn stored_blobs(&self) -> AppResult<usize> {
        Ok(self.blobs().count().await?)
    }

    /// Whether the catalog answers and the blob store is reachable (`/readyz`).
    pub async fn ready(&self) -> AppResult<()> {
        self.catalog().ping().await?;
        self.blobs().probe().await?;
        Ok(())
    }

    /// The catalog's connection pool: open connections and idle ones (`/metrics`).
    #[must_use]
    pub fn pool_usage(&self) -> (u32, usize) {
        self.catalog().pool_usage()
    }

    /// Whether bytes live in a store on this machine's disk (else an object store).
    #[must_use]
    pub fn blobs_on_disk(&self) -> bool {
        self.blobs().lists_unpublished()
    }

    fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    fn blobs(&self) -> &dyn BlobStore {
        self.inner.blobs.as_ref()
    }

    fn variants(&self) -> &Variants {
        &self.inner.variants
    }

    /// Removes a blob and the image variants made of it.
    async fn delete_blob(&self, id: &str) -> std::io::Result<()> {
        self.variants().purge(id).await;
        self.blobs().delete(id).await
    }

    /// Removes blobs no row names any more, then forgets them once their removal is durable;
    /// then the pending blobs older than the pending TTL that no row names.
    pub async fn collect_garbage(&self) -> AppResult<usize> {
        let swept = self
            .sweep_pending(now_ms() - self.inner.pending_ttl_ms)
            .await?;
        let mut total = swept;
        loop {
            let ids = self.catalog().garbage(512).await?;
            // Asked after the list is read: see `Catalog::deletes_held`.
            if ids.is_empty() || self.catalog().deletes_held(now_ms()).await? {
                return Ok(total);
            }
            for id in &ids {
                self.delete_blob(id).await?;
            }
            self.blobs().make_durable().await?;
            self.catalog().forget_garbage(&ids).await?;
            total += ids.len();
        }
    }

    /// Removes the blobs pending since before `before_ms` that no row names (writes that never
    /// finished: a crashed server, a client that left), and forgets the ones a row names.
    /// Safe from many servers at once: each step is idempotent, and a write still in flight is
    /// younger than the TTL.
    pub async fn sweep_pending(&self, before_ms: i64) -> AppResult<usize> {
        let mut removed = 0;
        loop {
            let stale = self.catalog().stale_pending(before_ms, 512).await?;
            if stale.is_empty() {
                return Ok(removed);
            }
            let named = self.catalog().referenced_blobs(&stale).await?;
            for id in stale.iter().filter(|id| !named.contains(id)) {
                self.blobs().delete(id).await?;
                removed += 1;
            }
            self.catalog().forget_pending(&stale).await?;
        }
    }

    /// A new blob of `body` (see [`BlobStore::put`]). A store that cannot list unpublished
    /// blobs gets the id into the pending table first, so that no crash can leave it unknown.
    async fn put_blob(
        &self,
        body: ByteStream<'_>,
        sha256: bool,
    ) -> AppResult<crate::blobs::BlobPut> {
        let id = self.new_blob_id().await?;
        match self.blobs().put(&id, body, sha256).await {
            Ok(put) => Ok(put),
            Err(e) => {
                // The store left nothing; the pending row goes too (else the collector's).
                if let Err(forget) = self.forget_pending(std::slice::from_ref(&id)).await {
                    tracing::warn!(blob = id, error = %forget, "could not forget a failed write yet");
                }
                Err(e)
            }
        }
    }

    /// A new blob with the bytes of `id` (a copy in the store).
    async fn copy_blob(&self, id: &str) -> AppResult<String> {
        let to = self.new_blob_id().await?;
        self.blobs().copy(id, &to).await?;
        Ok(to)
    }

    /// A new blob joining the blobs of `ids`.
    async fn concat_blobs(&self, ids: &[String], sha256: bool) -> AppResult<crate::blobs::BlobPut> {
        let to = self.new_blob_id().await?;
        Ok(self.blobs().concat(ids, &to, sha256).await?)
    }

    async fn new_blob_id(&self) -> AppResult<String> {
        let id = crate::blobs::new_id();
        if !self.blobs().lists_unpublished() {
            self.catalog().add_pending(&id, now_ms()).await?;
        }
        Ok(id)
    }

    async fn forget_pending(&self, ids: &[String]) -> AppResult<()> {
        if self.blobs().lists_unpublished() {
            return Ok(());
        }
        self.catalog().forget_pending(ids).await
    }

    /// Makes blobs permanent once a committed row names them.
    async fn publish_blobs(&self, ids: &[String]) -> AppResult<()> {
        self.blobs().publish(ids).await?;
        self.forget_pending(ids).await
    }

    /// Removes blobs of a write that was refused (no row names them).
    async fn discard_blobs(&self, ids: &[String]) -> AppResult<()> {
        for id in ids {
            self.blobs().delete(id).await?;
        }
        self.forget_pending(ids).await
    }

    /// Removes garbage blobs right after the commit that made them garbage (best effort: the
    /// garbage table keeps them until [`Files::collect_garbage`] made the removal durable).
    /// While a backup holds removal back, they stay for the collector.
    async fn drop_blobs(&self, ids: &[String]) {
        if ids.is_empty() || !matches!(self.catalog().deletes_held(now_ms()).await, Ok(false)) {
            return;
        }
        for id in ids {
            if let Err(e) = self.delete_blob(id).await {
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
        let blob = self.put_blob(body, false).await?;
        if let Some(expected) = expected.filter(|n| *n != blob.size) {
            self.discard_blobs(std::slice::from_ref(&blob.id)).await?;
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
                if let Err(e) = self.publish_blobs(std::slice::from_ref(&blob)).await {
                    // Committed and durable: the start-up check publishes it.
                    tracing::error!(blob, error = %e, "publishing a committed blob failed");
                }
                if let Some(old) = applied.replaced {
                    self.drop_blobs(&[old]).await;
                }
                Ok(applied.record)
            }
            Err(e) => {
                self.discard_blobs(std::slice::from_ref(&blob)).await?;
                Err(e)
            }
        }
    }

    /// The record with this id, unless `who` may not read it.
    pub async fn get(&self, who: &Principal, id: i64) -> AppResult<Option<FileRecord>> {
        let mut conn = self.catalog().read().await?;
        let Some(record) = catalog::records::by_id(&mut conn, &who.app, id).await? else {
            return Ok(None);
        };
        self.authorize(&mut conn, who, Op::Read, Target::File(&record))
            .await?;
        Ok(Some(record))
    }

    /// One page of a query: only records `who` may read, filtered before paging so that
    /// neither names nor counts leak.
    pub async fn query(&self, who: &Principal, q: &FileQuery) -> AppResult<Page> {
        let mut conn = self.catalog().read().await?;
        if self.sees_all(&mut conn, who).await? {
            return self.catalog().query_on(&mut conn, &who.app, q).await;
        }
        let limit = usize::try_from(q.limit.max(1)).unwrap_or(usize::MAX);
        let mut skip = q.offset;
        let mut scan = FileQuery {
            offset: 0,
            ..q.clone()
        };
        let mut items = Vec::new();
        let mut scans = 0;
        while scans < MAX_SCANS {
            // Skipping an offset reads big batches and does not count against the bound: an
            // `offset` costs its length, as it did in SQL (the cursor is the fast way).
            scan.limit = if skip > 0 {
                1000
            } else {
                q.limit.clamp(100, 1000)
            };
            if skip == 0 {
                scans += 1;
            }
            let page = self.catalog().query_on(&mut conn, &who.app, &scan).await?;
            let last_scanned = page.items.last().map(|r| catalog::place(r, q.order));
            let visible = self.readable(&mut conn, who, page.items).await?;
            let mut rest = visible.into_iter();
            for record in rest.by_ref() {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                items.push(record);
                if items.len() == limit {
                    break;
                }
            }
            let more = rest.next().is_some() || page.next.is_some();
            if items.len() == limit {
                let next = more.then(|| catalog::place(&items[limit - 1], q.order));
                return Ok(Page { items, next });
            }
            // On after the last record looked at, whether it was readable or not.
            match page.next.and(last_scanned) {
                Some(after) => scan.after = Some(after),
                None => return Ok(Page { items, next: None }),
            }
        }
        // Many records in a row that `who` may not read: a short page, and a cursor past them,
        // rather than one request that reads the whole app.
        let next = scan.after;
        Ok(Page { items, next })
    }

    /// How many records match a filter among those `who` may read.
    pub async fn count(&self, who: &Principal, f: &Filter) -> AppResult<u64> {
        let mut conn = self.catalog().read().await?;
        if self.sees_all(&mut conn, who).await? {
            drop(conn);
            return self.catalog().count(&who.app, f).await;
        }
        let mut scan = FileQuery {
            filter: f.clone(),
            order: crate::model::Order::Id,
            limit: 1000,
            after: None,
            offset: 0,
        };
        let mut total = 0u64;
        loop {
            let page = self.catalog().query_on(&mut conn, &who.app, &scan).await?;
            total += self.readable(&mut conn, who, page.items).await?.len() as u64;
            match page.next {
                Some(after) => scan.after = Some(after),
                None => return Ok(total),
            }
        }
    }

    /// Opens a record's bytes (`range` within them). A reader racing an overwrite gets the old
    /// bytes or the new ones: when the blob it looked up was replaced before it could open it,
    /// it looks the record up again.
    pub async fn open(
        &self,
        who: &Principal,
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
                        .get(who, record.id)
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
