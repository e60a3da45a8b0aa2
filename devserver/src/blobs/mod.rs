//! Bytes, under ids the server makes: the [`BlobStore`] trait the files service writes through,
//! and its implementations (the local disk today; an object store can be another one).
//!
//! A blob's life: [`BlobStore::put`] streams it in (not yet durable, not yet permanent);
//! [`BlobStore::make_durable`] makes a batch of them survive a crash; the files service commits
//! catalog rows that name them; then [`BlobStore::publish`] makes them permanent. A blob that
//! was put but never published is, after a restart, listed by [`BlobStore::unpublished`]: the
//! service publishes the ones the catalog references and deletes the rest. So a blob is removed
//! only when it is provably nobody's.

mod disk;

use std::fmt::Debug;
use std::io;
use std::ops::Range;
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;

pub use disk::DiskBlobs;

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
    /// Streams `body` into a new blob, computing its CRC32C (and SHA-256 when `sha256`). On any
    /// failure nothing is left behind and the body's own error is answered.
    async fn put(&self, body: ByteStream<'_>, sha256: bool) -> AppResult<BlobPut>;

    /// Makes every blob put so far survive a crash (one flush for a whole batch).
    async fn make_durable(&self) -> io::Result<()>;

    /// Makes blobs permanent once catalog rows name them.
    async fn publish(&self, ids: &[String]) -> io::Result<()>;

    /// Blobs put but never published (after a crash): the caller publishes or deletes each.
    async fn unpublished(&self) -> io::Result<Vec<String>>;

    /// Whether the store holds any published blob (a store with blobs needs its catalog).
    async fn has_published(&self) -> io::Result<bool>;

    /// The bytes of `id` in `range` (the whole blob when `None`; the range is within it).
    async fn get(&self, id: &str, range: Option<Range<u64>>) -> Result<BlobRead, ReadError>;

    /// A new blob with the same bytes (unpublished, like a put).
    async fn copy(&self, id: &str) -> io::Result<String>;

    /// A new blob holding the blobs of `ids` one after the other (unpublished, durable).
    async fn concat(&self, ids: &[String], sha256: bool) -> io::Result<BlobPut>;

    /// Removes a blob; a missing blob is not an error.
    async fn delete(&self, id: &str) -> io::Result<()>;
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
