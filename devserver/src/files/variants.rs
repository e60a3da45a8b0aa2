//! Image variants of stored files: made on demand from a file the requester may read, kept on
//! disk under the source's blob, bounded in total size with least-recently-used eviction, and
//! removed with the blob (an overwrite or a delete drops the blob; a move keeps blob and
//! variants, which still show the same bytes, and the old path serves nothing).
//!
//! Transforms run on blocking threads, at most one per core at a time; identical concurrent
//! misses are computed once (the later requests wait for the first and read its file). A
//! transform that takes longer than [`TRANSFORM_TIMEOUT`] is answered as undecodable; its thread
//! finishes in the background and keeps its permit until then, so the bound holds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
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
    dir: PathBuf,
    max_bytes: u64,
    index: std::sync::Mutex<Index>,
    permits: Arc<tokio::sync::Semaphore>,
    flights: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

#[derive(Debug, Default)]
struct Index {
    /// Relative path → (bytes, last use).
    entries: HashMap<PathBuf, (u64, u64)>,
    total: u64,
    clock: u64,
}

/// What a variant request answers.
#[derive(Debug)]
pub enum Variant {
    /// The variant's bytes.
    Image {
        /// Encoded bytes.
        bytes: Vec<u8>,
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
        bytes: Vec<u8>,
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
    /// A cache in `dir` holding at most `max_bytes`; what an earlier run left there is indexed
    /// (by modification time for recency) and its unfinished writes removed.
    pub fn open(dir: &Path, max_bytes: u64) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir.join("tmp"))?;
        for entry in std::fs::read_dir(dir.join("tmp"))? {
            let _ = std::fs::remove_file(entry?.path());
        }
        let mut found = Vec::new();
        for blob in std::fs::read_dir(dir)? {
            let blob = blob?;
            if blob.file_name() == "tmp" || !blob.file_type()?.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(blob.path())? {
                let file = file?;
                let meta = file.metadata()?;
                let used = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_secs());
                let rel = PathBuf::from(blob.file_name()).join(file.file_name());
                found.push((used, rel, meta.len()));
            }
        }
        found.sort();
        let mut index = Index::default();
        for (_, rel, size) in found {
            index.clock += 1;
            index.total += size;
            index.entries.insert(rel, (size, index.clock));
        }
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let variants = Self {
            inner: Arc::new(Inner {
                dir: dir.to_owned(),
                max_bytes,
                index: std::sync::Mutex::new(index),
                permits: Arc::new(tokio::sync::Semaphore::new(cores)),
                flights: std::sync::Mutex::default(),
            }),
        };
        variants.evict();
        Ok(variants)
    }

    /// Bytes the cache holds now.
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

    /// Removes every variant of `blob_id` (its blob is gone).
    pub fn purge(&self, blob_id: &str) {
        if !is_blob_id(blob_id) {
            return;
        }
        let dir = self.inner.dir.join(blob_id);
        let _ = std::fs::remove_dir_all(&dir);
        let mut index = self.lock();
        let prefix = PathBuf::from(blob_id);
        let gone: Vec<PathBuf> = index
            .entries
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .cloned()
            .collect();
        for key in gone {
            if let Some((size, _)) = index.entries.remove(&key) {
                index.total -= size;
            }
        }
    }

    fn read(&self, rel: &Path) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.inner.dir.join(rel)).ok()?;
        let mut index = self.lock();
        index.clock += 1;
        let clock = index.clock;
        if let Some(entry) = index.entries.get_mut(rel) {
            entry.1 = clock;
        }
        Some(bytes)
    }

    /// Writes a variant atomically (a temporary file renamed into place), then evicts past the
    /// bound. A failed write only means the next request computes it again.
    fn store(&self, rel: &Path, bytes: &[u8]) {
        let tmp = self.inner.dir.join("tmp").join(crate::blobs::new_id());
        let target = self.inner.dir.join(rel);
        let written = (|| {
            std::fs::write(&tmp, bytes)?;
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(&tmp, &target)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            tracing::warn!(error = %e, "could not keep an image variant");
            return;
        }
        {
            let mut index = self.lock();
            index.clock += 1;
            let clock = index.clock;
            let size = bytes.len() as u64;
            if let Some((old, _)) = index.entries.insert(rel.to_owned(), (size, clock)) {
                index.total -= old;
            }
            index.total += size;
        }
        self.evict();
    }

    fn evict(&self) {
        let mut index = self.lock();
        while index.total > self.inner.max_bytes {
            let Some(oldest) = index
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some((size, _)) = index.entries.remove(&oldest) {
                index.total -= size;
            }
            let _ = std::fs::remove_file(self.inner.dir.join(&oldest));
        }
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
            return Ok(Variant::Svg { bytes, record });
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
        let rel = PathBuf::from(&content.blob_id).join(format!("{key}.{}", format.name()));
        if !is_blob_id(&content.blob_id) {
            return Err(AppError::api(ErrorCode::NotFound, "The file was not found"));
        }
        if let Some(bytes) = variants.read(&rel) {
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
        let key = rel.to_string_lossy().into_owned();
        let flight = variants.flights().entry(key.clone()).or_default().clone();
        let _in_flight = FlightGuard { variants, key };
        let _computing = flight.lock().await;
        if let Some(bytes) = variants.read(&rel) {
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
            let bytes = rendered.bytes;
            let kept = variants.clone();
            let to_keep = bytes.clone();
            let rel_kept = rel.clone();
            let _ = tokio::task::spawn_blocking(move || kept.store(&rel_kept, &to_keep)).await;
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
