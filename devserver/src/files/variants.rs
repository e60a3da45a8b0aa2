//! Image variants of stored files: made on demand from a file the requester may read, kept on
//! a shelf beside the blobs, bounded in total size with least-recently-used eviction, and
//! removed with the blob (an overwrite or a delete drops the blob; a move keeps blob and
//! variants, which still show the same bytes, and the old path serves nothing).
//!
//! The shelf is an [`ObjectStore`]: a directory on this machine (`{data}/variants` or
//! `--image-cache`), or, with an object-store backend, the same bucket under the blobs' prefix
//! and `variants/` ([`crate::blobs::BlobStore::shelf`]), which every server sharing the bucket
//! reads: one server makes a variant, the others serve it, and whichever removes the source
//! removes its variants for all. Objects are `{blob id}/{key}.{format}`.
//!
//! Transforms run on blocking threads, at most one per core at a time; identical concurrent
//! misses are computed once (the later requests wait for the first and read what it kept). A
//! transform that takes longer than [`TRANSFORM_TIMEOUT`] is answered as undecodable; its thread
//! finishes in the background and keeps its permit until then, so the bound holds.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt as _, TryStreamExt as _};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use sha2::{Digest, Sha256};
use stowage_protocol::paths::FilePath;
use stowage_protocol::{ApiError, ErrorCode};

use super::Files;
use crate::error::{AppError, AppResult};
use crate::images::render::{self, RenderError, MAX_SOURCE_BYTES};
use crate::images::transform::{Format, FormatExt as _, Transform, TransformExt as _};
use crate::model::{FileRecord, Principal};

/// The longest one transform may take.
pub(super) const TRANSFORM_TIMEOUT: Duration = Duration::from_secs(10);

/// The variant cache.
#[derive(Debug, Clone)]
pub struct Variants {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shelf: Arc<dyn ObjectStore>,
    max_bytes: u64,
    index: std::sync::Mutex<Index>,
    permits: Arc<tokio::sync::Semaphore>,
    flights: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// What this server knows the shelf holds: what it found there at start, made, or read since.
#[derive(Debug, Default)]
struct Index {
    /// Object key → (bytes, last use). Ordered, so a blob's variants are one range.
    entries: BTreeMap<String, (u64, u64)>,
    /// Last use → object key: the least recently used first.
    by_use: BTreeMap<u64, String>,
    total: u64,
    clock: u64,
}

impl Index {
    /// Marks `key` used now, adding it (of `size` bytes) when it is new here. Answers whether
    /// the total grew (only then can it be past the bound).
    fn touch(&mut self, key: &str, size: u64) -> bool {
        let before = self.total;
        self.clock += 1;
        let clock = self.clock;
        match self.entries.get_mut(key) {
            Some(entry) => {
                self.by_use.remove(&entry.1);
                if entry.0 != size {
                    self.total = self.total - entry.0 + size;
                    entry.0 = size;
                }
                entry.1 = clock;
            }
            None => {
                self.entries.insert(key.to_owned(), (size, clock));
                self.total += size;
            }
        }
        self.by_use.insert(clock, key.to_owned());
        self.total > before
    }

    fn remove(&mut self, key: &str) {
        if let Some((size, used)) = self.entries.remove(key) {
            self.total -= size;
            self.by_use.remove(&used);
        }
    }

    /// Takes out the least recently used entries until the rest fit in `max`; answers their keys.
    fn over(&mut self, max: u64) -> Vec<String> {
        let mut out = Vec::new();
        while self.total > max {
            let Some((_, key)) = self.by_use.pop_first() else {
                break;
            };
            if let Some((size, _)) = self.entries.remove(&key) {
                self.total -= size;
            }
            out.push(key);
        }
        out
    }

    /// The keys of blob `blob_id`'s variants, taken out.
    fn take_blob(&mut self, blob_id: &str) -> Vec<String> {
        let prefix = format!("{blob_id}/");
        let keys: Vec<String> = self
            .entries
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for key in &keys {
            self.remove(key);
        }
        keys
    }
}

/// What a variant request answers.
#[derive(Debug)]
pub enum Variant {
    /// The variant's bytes.
    Image {
        /// Encoded bytes.
        bytes: Bytes,
        /// Their format.
        format: Format,
        /// A strong ETag of this variant of these source bytes.
        etag: String,
        /// The source record.
        record: FileRecord,
    },
    /// An SVG source, served as it is (never rasterised).
    Svg {
        /// Its bytes.
        bytes: Bytes,
        /// The source record.
        record: FileRecord,
    },
}

fn render_error(e: RenderError) -> AppError {
    match e {
        RenderError::TooLarge(m) => AppError::api(ErrorCode::ImageTooLarge, m),
        RenderError::NotAnImage(m) => AppError::api(ErrorCode::NotAnImage, m),
        RenderError::Undecodable(m) => AppError::api(ErrorCode::ImageUndecodable, m),
    }
}

impl Variants {
    /// A shelf in the directory `dir` on this machine. What a crash left half-written there
    /// (the store's staged `…#n` files, and the `tmp/` of earlier versions) is removed.
    pub fn on_disk(dir: &Path) -> std::io::Result<Arc<dyn ObjectStore>> {
        std::fs::create_dir_all(dir)?;
        let _ = std::fs::remove_dir_all(dir.join("tmp"));
        for blob in std::fs::read_dir(dir)? {
            let blob = blob?;
            if !blob.file_type()?.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(blob.path())? {
                let file = file?;
                if file.file_name().to_string_lossy().contains('#') {
                    let _ = std::fs::remove_file(file.path());
                }
            }
        }
        // A purged blob's directory goes with its last variant.
        let store = LocalFileSystem::new_with_prefix(dir)
            .map_err(std::io::Error::other)?
            .with_automatic_cleanup(true);
        Ok(Arc::new(store))
    }

    /// A cache on `shelf` holding at most `max_bytes`. What the shelf already holds is indexed
    /// (oldest first by modification time) and evicted past the bound. A shelf that cannot be
    /// listed does not keep the server from starting: it starts with nothing indexed.
    pub async fn open(shelf: Arc<dyn ObjectStore>, max_bytes: u64) -> Self {
        let listed: Result<Vec<_>, _> = shelf
            .list(None)
            .map_ok(|meta| (meta.last_modified, meta.location.to_string(), meta.size))
            .try_collect()
            .await;
        let mut found = listed.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not list the image variants kept; none are counted");
            Vec::new()
        });
        found.sort();
        let mut index = Index::default();
        for (_, key, size) in found {
            index.touch(&key, size);
        }
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let variants = Self {
            inner: Arc::new(Inner {
                shelf,
                max_bytes,
                index: std::sync::Mutex::new(index),
                permits: Arc::new(tokio::sync::Semaphore::new(cores)),
                flights: std::sync::Mutex::default(),
            }),
        };
        variants.evict().await;
        variants
    }

    /// Bytes this server knows the shelf holds now.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.lock().total
    }

    fn flights(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<tokio::sync::Mutex<()>>>> {
        self.inner
            .flights
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.inner
            .index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Removes every variant of `blob_id` (its blob is gone): those on the shelf, made here or
    /// by any other server sharing it. A failure only leaves unreachable variants (blob ids are
    /// never reused) for eviction.
    pub async fn purge(&self, blob_id: &str) {
        if !is_blob_id(blob_id) {
            return;
        }
        let known = self.lock().take_blob(blob_id);
        let shelf = &self.inner.shelf;
        let prefix = ObjectPath::from(blob_id);
        let listed: Result<Vec<ObjectPath>, _> = shelf
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await;
        let mut keys: Vec<ObjectPath> =
            known.iter().map(|k| ObjectPath::from(k.as_str())).collect();
        match listed {
            Ok(found) => keys.extend(found),
            Err(e) => {
                tracing::warn!(error = %e, blob = blob_id, "could not list an image's variants");
            }
        }
        keys.sort();
        keys.dedup();
        self.remove(keys).await;
    }

    async fn remove(&self, keys: Vec<ObjectPath>) {
        if keys.is_empty() {
            return;
        }
        let stream = futures_util::stream::iter(keys.into_iter().map(Ok)).boxed();
        let mut deleted = self.inner.shelf.delete_stream(stream);
        while let Some(outcome) = deleted.next().await {
            match outcome {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => tracing::warn!(error = %e, "could not remove an image variant"),
            }
        }
    }

    /// A kept variant's bytes, if the shelf holds it (a variant another server made counts).
    async fn read(&self, key: &str) -> Option<Bytes> {
        let found = async {
            self.inner
                .shelf
                .get(&ObjectPath::from(key))
                .await?
                .bytes()
                .await
        };
        match found.await {
            Ok(bytes) => {
                // A hit this server already counted cannot grow the cache: no eviction to do.
                let grew = self.lock().touch(key, bytes.len() as u64);
                if grew {
                    self.evict().await;
                }
                Some(bytes)
            }
            Err(e) => {
                if !matches!(e, object_store::Error::NotFound { .. }) {
                    tracing::warn!(error = %e, "could not read an image variant");
                }
                self.lock().remove(key);
                None
            }
        }
    }

    /// Keeps a variant (the store writes it whole or not at all), then evicts past the bound.
    /// A failed write only means the next request computes it again.
    async fn store(&self, key: &str, bytes: Bytes) {
        let size = bytes.len() as u64;
        match self
            .inner
            .shelf
            .put(&ObjectPath::from(key), PutPayload::from(bytes))
            .await
        {
            Ok(_) => {
                if self.lock().touch(key, size) {
                    self.evict().await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not keep an image variant"),
        }
    }

    async fn evict(&self) {
        let gone = self.lock().over(self.inner.max_bytes);
        self.remove(gone.iter().map(|k| ObjectPath::from(k.as_str())).collect())
            .await;
    }
}

/// Takes a variant's key out of the map of computations in flight when dropped.
struct FlightGuard<'a> {
    variants: &'a Variants,
    key: String,
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        self.variants.flights().remove(&self.key);
    }
}

fn is_blob_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether a file is an SVG, by its name.
fn is_svg(record: &FileRecord) -> bool {
    mime_guess::from_path(&record.name)
        .first()
        .is_some_and(|m| m.essence_str() == "image/svg+xml")
}

impl Files {
    /// The variant of the file at `path` that `transform` asks for, if `who` may read the file.
    /// `accepts_webp`: the request's `Accept` takes `image/webp` (for the automatic format).
    pub async fn variant(
        &self,
        who: &Principal,
        path: &FilePath,
        transform: &Transform,
        accepts_webp: bool,
    ) -> AppResult<Variant> {
        let record = self
            .stat(who, path)
            .await?
            .filter(|r| !r.is_dir)
            .ok_or_else(ApiError::not_found)?;
        let content = record
            .content
            .clone()
            .ok_or_else(|| AppError::api(ErrorCode::NotUploaded, "The file has no content yet"))?;
        if content.size > MAX_SOURCE_BYTES {
            return Err(render_error(RenderError::TooLarge(format!(
                "the image is {} bytes; at most {MAX_SOURCE_BYTES} are transformed",
                content.size
            ))));
        }
        if is_svg(&record) {
            let (record, bytes) = self.source(who, record).await?;
            return Ok(Variant::Svg {
                bytes: bytes.into(),
                record,
            });
        }
        let variants = self.variants();
        // The output format depends on the source's own format only for `auto` without WebP
        // and for `origin`; those read the extension-implied format, refined after decoding.
        let guessed = mime_guess::from_path(&record.name)
            .first()
            .and_then(|m| Format::of_mime(m.essence_str()));
        let format = transform.output_format(guessed, accepts_webp);
        let key = {
            let mut h = Sha256::new();
            h.update(transform.canonical().as_bytes());
            h.update(b"\n");
            h.update(format.name().as_bytes());
            h.update(b"\n");
            h.update(content.etag.as_bytes());
            crate::images::hex(&h.finalize()[..16])
        };
        let etag = format!("\"v{key}\"");
        if !is_blob_id(&content.blob_id) {
            return Err(AppError::api(ErrorCode::NotFound, "The file was not found"));
        }
        let shelved = format!("{}/{key}.{}", content.blob_id, format.name());
        if let Some(bytes) = variants.read(&shelved).await {
            return Ok(Variant::Image {
                bytes,
                format,
                etag,
                record,
            });
        }
        // One computation per variant: later identical misses wait here, then find it kept.
        // The guard takes the key out of the map however this ends (a failure, or the request
        // dropped mid-way), so nothing is left behind.
        let flight = variants
            .flights()
            .entry(shelved.clone())
            .or_default()
            .clone();
        let _in_flight = FlightGuard {
            variants,
            key: shelved.clone(),
        };
        let _computing = flight.lock().await;
        if let Some(bytes) = variants.read(&shelved).await {
            return Ok(Variant::Image {
                bytes,
                format,
                etag,
                record,
            });
        }
        let outcome: AppResult<Variant> = async {
            let (record, source) = self.source(who, record).await?;
            let permit = variants
                .inner
                .permits
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| {
                    AppError::api(ErrorCode::Unavailable, "The server is shutting down")
                })?;
            let t = *transform;
            let job = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                render::render(&source, &t, format)
            });
            let rendered = match tokio::time::timeout(TRANSFORM_TIMEOUT, job).await {
                Err(_) => {
                    return Err(AppError::api(
                        ErrorCode::ImageUndecodable,
                        format!(
                            "the transform took longer than {} s",
                            TRANSFORM_TIMEOUT.as_secs()
                        ),
                    ))
                }
                Ok(Err(join)) => {
                    tracing::error!(error = %join, "an image transform panicked");
                    return Err(AppError::api(
                        ErrorCode::ImageUndecodable,
                        "the image could not be transformed",
                    ));
                }
                Ok(Ok(result)) => result.map_err(render_error)?,
            };
            let bytes = Bytes::from(rendered.bytes);
            variants.store(&shelved, bytes.clone()).await;
            Ok(Variant::Image {
                bytes,
                format,
                etag,
                record,
            })
        }
        .await;
        outcome
    }

    /// A source's bytes, whole (the caller checked its size).
    async fn source(
        &self,
        who: &Principal,
        record: FileRecord,
    ) -> AppResult<(FileRecord, Vec<u8>)> {
        let opened = self.open(who, record, None).await?;
        let mut body = opened.body;
        let mut bytes = Vec::with_capacity(usize::try_from(opened.record.size()).unwrap_or(0));
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            if (bytes.len() + chunk.len()) as u64 > MAX_SOURCE_BYTES {
                return Err(render_error(RenderError::TooLarge(format!(
                    "the image is over {MAX_SOURCE_BYTES} bytes"
                ))));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((opened.record, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::Index;
    use proptest::prelude::*;

    proptest! {
        /// Whatever is kept, read and purged, the index's total is the sum of its entries, the
        /// use order names each entry once, and eviction takes the least recently used first.
        #[test]
        fn the_index_stays_consistent(ops in prop::collection::vec((0u8..3, 0u8..4, 0u8..6, 1u64..50), 1..80)) {
            let mut index = Index::default();
            for (op, blob, variant, size) in ops {
                let key = format!("{blob:032x}/{variant}.webp");
                match op {
                    0 => {
                        let before = index.total;
                        prop_assert_eq!(index.touch(&key, size), index.total > before);
                    }
                    1 => { index.take_blob(&format!("{blob:032x}")); }
                    _ => {
                        let oldest: Vec<String> = index.by_use.values().cloned().collect();
                        let gone = index.over(100);
                        prop_assert_eq!(&oldest[..gone.len()], &gone[..]);
                        prop_assert!(index.total <= 100);
                    }
                }
                let sum: u64 = index.entries.values().map(|(s, _)| s).sum();
                prop_assert_eq!(index.total, sum);
                prop_assert_eq!(index.by_use.len(), index.entries.len());
                for (clock, key) in &index.by_use {
                    prop_assert_eq!(index.entries.get(key).map(|e| e.1), Some(*clock));
                }
            }
        }
    }

    #[test]
    fn a_purge_takes_only_that_blobs_variants() {
        let mut index = Index::default();
        let a = format!("{:032x}", 10);
        let b = format!("{:032x}", 11);
        index.touch(&format!("{a}/1.webp"), 5);
        index.touch(&format!("{b}/1.webp"), 7);
        index.touch(&format!("{a}/2.png"), 3);
        assert_eq!(
            index.take_blob(&a),
            vec![format!("{a}/1.webp"), format!("{a}/2.png")]
        );
        assert_eq!((index.total, index.entries.len()), (7, 1));
    }
}
