//! Bytes, under ids the server makes: the [`BlobStore`] trait the files service writes through,
//! and its implementations: the local disk ([`DiskBlobs`]) and an S3-compatible object store
//! ([`S3Blobs`]).
//!
//! A blob's life: [`BlobStore::put`] streams it in (not yet durable, not yet permanent);
//! [`BlobStore::make_durable`] makes a batch of them survive a crash; the files service commits
//! catalog rows that name them; then [`BlobStore::publish`] makes them permanent. A blob that
//! was put but never published is, after a restart, listed by [`BlobStore::unpublished`]: the
//! service publishes the ones the catalog references and deletes the rest. So a blob is removed
//! only when it is provably nobody's.

mod disk;
mod s3;

use std::fmt::Debug;
use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;
use sha2::{Digest, Sha256};

pub use disk::DiskBlobs;
pub use s3::S3Blobs;

use crate::error::AppResult;

/// A stream of request bytes; its errors are already the client's answer (limit, cut body).
pub type ByteStream<'a> = Pin<Box<dyn Stream<Item = AppResult<Bytes>> + Send + 'a>>;

/// A stream of stored bytes.
pub type BlobStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// What a finished write produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobPut {
    /// The new blob's id.
    pub id: String,
    /// Bytes written.
    pub size: u64,
    /// CRC32C of the bytes.
    pub crc32c: u32,
    /// SHA-256 of the bytes, when asked for.
    pub sha256: Option<[u8; 32]>,
}

/// An open blob: the bytes of the asked range and the whole blob's size.
pub struct BlobRead {
    /// The bytes of the range (or of the whole blob).
    pub body: BlobStream,
    /// Size of the whole blob.
    pub total: u64,
}

impl Debug for BlobRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobRead")
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

/// Why a blob cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// No blob has that id (it was deleted, or replaced between lookup and open).
    #[error("no such blob")]
    Missing,
    /// The blob resolves outside the store (someone replaced it with a link).
    #[error("blob resolves outside the store")]
    Escapes,
    /// The store failed.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
}

/// Where file bytes live. Narrow on purpose: ids in, bytes out; no paths, no metadata.
#[async_trait]
pub trait BlobStore: Send + Sync + Debug {
    /// Streams `body` into a new blob `id` (from [`new_id`]), computing its CRC32C (and SHA-256
    /// when `sha256`). On any failure nothing is left behind and the body's own error is
    /// answered.
    async fn put(&self, id: &str, body: ByteStream<'_>, sha256: bool) -> AppResult<BlobPut>;

    /// Makes every blob put so far survive a crash (one flush for a whole batch).
    async fn make_durable(&self) -> io::Result<()>;

    /// Makes blobs permanent once catalog rows name them.
    async fn publish(&self, ids: &[String]) -> io::Result<()>;

    /// Whether [`BlobStore::unpublished`] lists what a crash left (the disk's `tmp/`). A store
    /// that cannot (an object store, shared by many servers) has the catalog's pending table
    /// remember each new blob until a row names it.
    fn lists_unpublished(&self) -> bool {
        true
    }

    /// Blobs put but never published (after a crash): the caller publishes or deletes each.
    async fn unpublished(&self) -> io::Result<Vec<String>>;

    /// Whether the store holds any published blob (a store with blobs needs its catalog).
    async fn has_published(&self) -> io::Result<bool>;

    /// The bytes of `id` in `range` (the whole blob when `None`; the range is within it).
    async fn get(&self, id: &str, range: Option<Range<u64>>) -> Result<BlobRead, ReadError>;

    /// A new blob `to` with the bytes of `id` (unpublished, like a put).
    async fn copy(&self, id: &str, to: &str) -> io::Result<()>;

    /// A new blob `to` holding the blobs of `ids` one after the other (unpublished, durable).
    async fn concat(&self, ids: &[String], to: &str, sha256: bool) -> io::Result<BlobPut>;

    /// Whether the store answers (`/readyz`): one cheap request, no listing.
    async fn probe(&self) -> io::Result<()>;

    /// Removes a blob; a missing blob is not an error.
    async fn delete(&self, id: &str) -> io::Result<()>;

    /// How many blobs the store holds, published or not. It lists the whole store: for tests
    /// and offline checks, never for a request.
    async fn count(&self) -> io::Result<usize>;

    /// A store beside the blobs for bytes made from them that can be made again (image
    /// variants), under the blobs' prefix and `name/`, so that every server on the same bucket
    /// shares it; `None` when the blobs are on this machine (the caller picks a directory).
    fn shelf(&self, _name: &str) -> Option<Arc<dyn object_store::ObjectStore>> {
        None
    }

    /// The store's own presigned URLs, when clients send and fetch bytes straight to and from
    /// it (`--direct-to-store`); `None` when every byte passes through this server.
    fn direct(&self) -> Option<&dyn DirectStore> {
        None
    }
}

/// What clients do straight with the object store: presigned URLs of one blob's object, one
/// method each, and the store's multipart uploads. Whoever asks for a URL has been authorized
/// for it already; the URL expires and names one object.
#[async_trait]
pub trait DirectStore: Send + Sync {
    /// A GET URL of blob `id`, answering with this `Content-Type` and as this file name.
    async fn download_url(
        &self,
        id: &str,
        expires_in: std::time::Duration,
        content_type: &str,
        file_name: &str,
    ) -> io::Result<String>;

    /// A PUT URL of blob `id`, whole, sent with this `Content-Type`.
    async fn upload_url(
        &self,
        id: &str,
        expires_in: std::time::Duration,
        content_type: &str,
    ) -> io::Result<String>;

    /// Starts the store's multipart upload of a new blob `id`; answers the store's upload id.
    async fn begin_upload(&self, id: &str) -> io::Result<String>;

    /// A PUT URL of part `n` (1-based) of `upload`, planned as `length` bytes.
    async fn part_url(
        &self,
        id: &str,
        upload: &str,
        n: u64,
        length: u64,
        expires_in: std::time::Duration,
    ) -> io::Result<String>;

    /// The parts the store holds of `upload`: `(number, size, ETag)`, in order.
    async fn list_parts(&self, id: &str, upload: &str) -> io::Result<Vec<(u64, u64, String)>>;

    /// Completes `upload` from its parts' ETags, in order: the blob's object appears whole.
    async fn finish_upload(&self, id: &str, upload: &str, etags: &[String]) -> io::Result<()>;

    /// Abandons `upload` and what parts it holds. A finished or unknown upload is no error.
    async fn abort_upload(&self, id: &str, upload: &str) -> io::Result<()>;
}

/// The store `url` names (`--blobs`): `s3://BUCKET[/PREFIX]`, `file://DIR`, or, when none is
/// given, the disk under the data directory `data`.
/// With `direct`, an object store also hands out its own presigned URLs ([`DirectStore`]).
pub async fn open(
    url: Option<&str>,
    data: &std::path::Path,
    direct: bool,
) -> AppResult<Arc<dyn BlobStore>> {
    if direct && !url.is_some_and(|u| u.starts_with("s3://")) {
        return Err(crate::error::AppError::Config(
            "--direct-to-store needs an object store: --blobs s3://BUCKET[/PREFIX]".into(),
        ));
    }
    Ok(match url {
        Some(url) if url.starts_with("s3://") => {
            let store = S3Blobs::open(url, direct).map_err(crate::error::AppError::Config)?;
            tracing::info!(bucket = store.bucket(), "file bytes in an object store");
            Arc::new(store)
        }
        Some(url) => Arc::new(
            DiskBlobs::open(std::path::Path::new(url.trim_start_matches("file://"))).await?,
        ),
        None => Arc::new(DiskBlobs::open(data).await?),
    })
}

/// What a write (or a read) has seen so far: size, CRC32C and, when asked, SHA-256. The one
/// place the stores and the files service checksum bytes.
#[derive(Debug, Clone)]
pub struct Sums {
    /// Bytes seen.
    pub size: u64,
    /// Their CRC32C.
    pub crc32c: u32,
    sha256: Option<Sha256>,
}

impl Sums {
    /// Counting from nothing; SHA-256 only when asked for.
    #[must_use]
    pub fn new(sha256: bool) -> Self {
        Self {
            size: 0,
            crc32c: 0,
            sha256: sha256.then(Sha256::new),
        }
    }

    /// Takes in the next bytes.
    pub fn add(&mut self, chunk: &[u8]) {
        self.crc32c = crc32c::crc32c_append(self.crc32c, chunk);
        if let Some(sha) = self.sha256.as_mut() {
            sha.update(chunk);
        }
        self.size += chunk.len() as u64;
    }

    /// What was written to blob `id`.
    #[must_use]
    pub fn done(self, id: &str) -> BlobPut {
        BlobPut {
            id: id.to_owned(),
            size: self.size,
            crc32c: self.crc32c,
            sha256: self.sha256.map(|s| s.finalize().into()),
        }
    }
}

/// A fresh 128-bit random id in hex.
#[must_use]
pub fn new_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Ids the server made: 32 lowercase hex digits. Anything else names no blob (and never
/// reaches a filesystem path).
#[must_use]
pub fn valid_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
