//! Blobs on the local disk: `{data}/tmp/<id>` while unpublished, `{data}/blobs/xx/<id>` once
//! published. Blobs never change once written, so a copy is a hard link, and a reader holding
//! an open blob keeps its bytes even after the file is overwritten or removed.

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::fs;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufWriter};

use super::{valid_id, BlobPut, BlobRead, BlobStore, ByteStream, ReadError, Sums};
use crate::error::{AppError, AppResult};

/// Write buffer per upload: large enough for few syscalls, small enough for many uploads at once.
const WRITE_BUFFER: usize = 256 * 1024;
/// Read chunk of a download.
const READ_CHUNK: usize = 256 * 1024;
/// Most bytes kept free for deletes (see [`DiskBlobs::keep_headroom`]).
const HEADROOM_MAX: u64 = 64 * 1024 * 1024;

/// The local-disk blob store.
#[derive(Debug, Clone)]
pub struct DiskBlobs {
    root: PathBuf,
    tmp: PathBuf,
    /// `root` and `tmp` with symlinks resolved: every read must resolve below one of them.
    canonical: [PathBuf; 2],
}

/// Removes a file being written when its write is dropped unfinished (a client that vanished
/// drops the handler's future; nothing may stay behind).
struct Unfinished(Option<PathBuf>);

impl Unfinished {
    fn done(mut self) {
        self.0 = None;
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl DiskBlobs {
    /// Opens (and creates) `{data}/blobs` and `{data}/tmp`.
    pub async fn open(data: &Path) -> io::Result<Self> {
        let root = data.join("blobs");
        let tmp = data.join("tmp");
        fs::create_dir_all(&tmp).await?;
        for i in 0..=255u8 {
            fs::create_dir_all(root.join(format!("{i:02x}"))).await?;
        }
        sync_dir(root.clone()).await?;
        sync_dir(data.to_path_buf()).await?;
        let canonical = [
            fs::canonicalize(&root).await?,
            fs::canonicalize(&tmp).await?,
        ];
        Ok(Self {
            root,
            tmp,
            canonical,
        })
    }

    /// Refuses new bytes once the filesystem is nearly full, so that what frees space (deletes,
    /// which the database must record too) still commits: SQLite cannot record a delete on a
    /// disk with no byte left. The headroom is 5% of the filesystem, at most 64 MiB.
    async fn keep_headroom(&self) -> AppResult<()> {
        let root = self.root.clone();
        let (free, total) = tokio::task::spawn_blocking(move || {
            rustix::fs::statvfs(&root).map(|s| {
                let block = s.f_frsize.max(1);
                (
                    s.f_bavail.saturating_mul(block),
                    s.f_blocks.saturating_mul(block),
                )
            })
        })
        .await
        .map_err(io::Error::other)?
        .map_err(io::Error::from)?;
        let reserve = (total / 20).min(HEADROOM_MAX);
        if free < reserve {
            return Err(AppError::Io(io::Error::new(
                io::ErrorKind::StorageFull,
                format!("{free} bytes free, {reserve} kept for deletes"),
            )));
        }
        Ok(())
    }

    /// Where a published blob lives.
    fn published(&self, id: &str) -> PathBuf {
        self.root.join(id.get(..2).unwrap_or("00")).join(id)
    }

    fn unpublished_path(&self, id: &str) -> PathBuf {
        self.tmp.join(id)
    }

    /// Copies blob `id` (published or not yet) to the file `to`, made durable; answers its size.
    /// For `stowage-devserver backup`, which reads the store of a running server.
    pub async fn copy_out(&self, id: &str, to: &Path) -> Result<u64, ReadError> {
        let (_, from) = self.open_located(id).await?;
        let mut from = from.into_std().await;
        let to = to.to_path_buf();
        // std's copy between two files is copy_file_range: no bytes through user space.
        let copied = tokio::task::spawn_blocking(move || {
            let mut out = std::fs::File::create(to)?;
            let n = std::io::copy(&mut from, &mut out)?;
            out.sync_all()?;
            Ok::<_, io::Error>(n)
        })
        .await
        .map_err(io::Error::other)??;
        Ok(copied)
    }

    /// The blob's file with symlinks resolved: published, else unpublished, else published
    /// again (it may have been published between the two looks).
    async fn locate(&self, id: &str) -> Result<PathBuf, ReadError> {
        self.open_located(id).await.map(|(path, _)| path)
    }

    /// Opens the blob wherever it is. A blob published between looking and opening (renamed
    /// from `tmp/` into `blobs/`) is found at its new place, never reported missing.
    async fn open_located(&self, id: &str) -> Result<(PathBuf, fs::File), ReadError> {
        if !valid_id(id) {
            return Err(ReadError::Missing);
        }
        let candidates = [
            self.published(id),
            self.unpublished_path(id),
            self.published(id),
        ];
        for path in candidates {
            let real = match fs::canonicalize(&path).await {
                Ok(real) if self.canonical.iter().any(|root| real.starts_with(root)) => real,
                Ok(_) => return Err(ReadError::Escapes),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            match fs::File::open(&real).await {
                Ok(file) => return Ok((real, file)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ReadError::Missing)
    }
}

#[async_trait]
impl BlobStore for DiskBlobs {
    async fn put(&self, id: &str, body: ByteStream<'_>, sha256: bool) -> AppResult<BlobPut> {
        self.keep_headroom().await?;
        if !valid_id(id) {
            return Err(AppError::Io(io::Error::other("not a blob id")));
        }
        let path = self.unpublished_path(id);
        let guard = Unfinished(Some(path.clone()));
        let sums = write_file(&path, body, sha256).await?;
        guard.done();
        Ok(sums.done(id))
    }

    async fn make_durable(&self) -> io::Result<()> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let dir = std::fs::File::open(root)?;
            rustix::fs::syncfs(&dir).map_err(io::Error::from)
        })
        .await
        .map_err(io::Error::other)?
    }

    async fn publish(&self, ids: &[String]) -> io::Result<()> {
        for id in ids.iter().filter(|id| valid_id(id)) {
            match fs::rename(self.unpublished_path(id), self.published(id)).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    async fn unpublished(&self) -> io::Result<Vec<String>> {
        let mut ids = Vec::new();
        let mut dir = fs::read_dir(&self.tmp).await?;
        while let Some(entry) = dir.next_entry().await? {
            match entry.file_name().to_str() {
                Some(name) if valid_id(name) => ids.push(name.to_owned()),
                // Not a blob this store made (a torn write of an older version): nobody's.
                _ => {
                    let _ = fs::remove_file(entry.path()).await;
                }
            }
        }
        Ok(ids)
    }

    async fn has_published(&self) -> io::Result<bool> {
        for i in 0..=255u8 {
            let mut dir = fs::read_dir(self.root.join(format!("{i:02x}"))).await?;
            if dir.next_entry().await?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn get(&self, id: &str, range: Option<Range<u64>>) -> Result<BlobRead, ReadError> {
        let (_, mut file) = self.open_located(id).await?;
        let total = file.metadata().await?.len();
        let range = range.unwrap_or(0..total);
        let start = range.start.min(total);
        let len = range.end.min(total).saturating_sub(start);
        if start > 0 {
            file.seek(io::SeekFrom::Start(start)).await?;
        }
        let body = tokio_util::io::ReaderStream::with_capacity(file.take(len), READ_CHUNK);
        Ok(BlobRead {
            body: Box::pin(body),
            total,
        })
    }

    async fn copy(&self, id: &str, to: &str) -> io::Result<()> {
        if !valid_id(to) {
            return Err(io::Error::other("not a blob id"));
        }
        let target = self.unpublished_path(to);
        let mut from = self.locate(id).await.map_err(into_io)?;
        let mut linked = fs::hard_link(&from, &target).await;
        if linked
            .as_ref()
            .is_err_and(|e| e.kind() == io::ErrorKind::NotFound)
        {
            // Published between the look and the link: link it at its new place.
            from = self.locate(id).await.map_err(into_io)?;
            linked = fs::hard_link(&from, &target).await;
        }
        if linked.is_err() {
            let guard = Unfinished(Some(target.clone()));
            fs::copy(&from, &target).await?;
            guard.done();
        }
        Ok(())
    }

    async fn concat(&self, ids: &[String], to: &str, sha256: bool) -> io::Result<BlobPut> {
        if !valid_id(to) {
            return Err(io::Error::other("not a blob id"));
        }
        let mut sources = Vec::with_capacity(ids.len());
        for id in ids {
            sources.push(self.locate(id).await.map_err(into_io)?);
        }
        let target = self.unpublished_path(to);
        let guard = Unfinished(Some(target.clone()));
        let out = target.clone();
        let (size, crc32c, sha256) =
            tokio::task::spawn_blocking(move || concat_blocking(&sources, &out, sha256))
                .await
                .map_err(io::Error::other)??;
        guard.done();
        Ok(BlobPut {
            id: to.to_owned(),
            size,
            crc32c,
            sha256,
        })
    }

    async fn delete(&self, id: &str) -> io::Result<()> {
        if !valid_id(id) {
            return Ok(());
        }
        for path in [self.published(id), self.unpublished_path(id)] {
            match fs::remove_file(path).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    async fn probe(&self) -> io::Result<()> {
        // The directory writes go to: present, a directory, and open for reading.
        fs::read_dir(&self.tmp).await.map(drop)
    }

    async fn count(&self) -> io::Result<usize> {
        let mut n = Self::count_files(&self.tmp).await?;
        for i in 0..=255u8 {
            n += Self::count_files(&self.root.join(format!("{i:02x}"))).await?;
        }
        Ok(n)
    }
}

impl DiskBlobs {
    async fn count_files(dir: &Path) -> io::Result<usize> {
        let mut n = 0;
        let mut entries = fs::read_dir(dir).await?;
        while entries.next_entry().await?.is_some() {
            n += 1;
        }
        Ok(n)
    }
}

fn into_io(e: ReadError) -> io::Error {
    match e {
        ReadError::Io(e) => e,
        other => io::Error::new(io::ErrorKind::NotFound, other.to_string()),
    }
}

async fn write_file(path: &Path, body: ByteStream<'_>, want_sha256: bool) -> AppResult<Sums> {
    let file = fs::File::create(path).await?;
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
    let mut sums = Sums::new(want_sha256);
    let mut body = body;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        sums.add(&chunk);
        out.write_all(&chunk).await.map_err(AppError::Io)?;
    }
    out.flush().await?;
    Ok(sums)
}

/// Concatenates files (in-kernel copies when no SHA-256 is wanted), fsyncs the result, and
/// computes its CRC32C (reading it back through the page cache only when hashing).
fn concat_blocking(
    parts: &[PathBuf],
    target: &Path,
    want_sha256: bool,
) -> io::Result<(u64, u32, Option<[u8; 32]>)> {
    use std::io::{Read, Write};
    let mut out = std::fs::File::create(target)?;
    let mut size = 0u64;
    let mut crc = 0u32;
    let mut sha = want_sha256.then(Sha256::new);
    let mut buf = vec![0u8; 1024 * 1024];
    for part in parts {
        let mut input = std::fs::File::open(part)?;
        if let Some(sha) = sha.as_mut() {
            loop {
                let n = input.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                sha.update(&buf[..n]);
                crc = crc32c::crc32c_append(crc, &buf[..n]);
                out.write_all(&buf[..n])?;
                size += n as u64;
            }
        } else {
            // std::io::copy between files uses copy_file_range: no bytes pass through here.
            size += std::io::copy(&mut input, &mut out)?;
        }
    }
    out.sync_all()?;
    Ok((size, crc, sha.map(|s| s.finalize().into())))
}

/// fsyncs a directory so that a rename into it survives a crash.
async fn sync_dir(dir: PathBuf) -> io::Result<()> {
    tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
        .await
        .map_err(io::Error::other)?
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::blobs::new_id;
    use bytes::Bytes;

    fn body(chunks: Vec<AppResult<Bytes>>) -> ByteStream<'static> {
        Box::pin(futures_util::stream::iter(chunks))
    }

    async fn read_all(blobs: &DiskBlobs, id: &str, range: Option<Range<u64>>) -> Vec<u8> {
        let read = blobs.get(id, range).await.unwrap();
        let chunks: Vec<_> = read.body.collect().await;
        chunks
            .into_iter()
            .flat_map(|c| c.unwrap().to_vec())
            .collect()
    }

    #[tokio::test]
    async fn put_publish_get_copy_delete_and_failed_writes_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = DiskBlobs::open(dir.path()).await.unwrap();
        let written = blobs
            .put(
                &new_id(),
                body(vec![Ok(Bytes::from("hello ")), Ok(Bytes::from("world"))]),
                false,
            )
            .await
            .unwrap();
        assert_eq!(written.size, 11);
        assert_eq!(written.crc32c, crc32c::crc32c(b"hello world"));
        assert_eq!(blobs.unpublished().await.unwrap(), vec![written.id.clone()]);
        assert_eq!(read_all(&blobs, &written.id, None).await, b"hello world");
        blobs
            .publish(std::slice::from_ref(&written.id))
            .await
            .unwrap();
        assert!(blobs.unpublished().await.unwrap().is_empty());
        assert!(blobs.has_published().await.unwrap());
        assert_eq!(read_all(&blobs, &written.id, Some(6..11)).await, b"world");

        let failing = body(vec![
            Ok(Bytes::from("part")),
            Err(AppError::Io(io::Error::other("client left"))),
        ]);
        assert!(blobs.put(&new_id(), failing, false).await.is_err());
        assert!(blobs.unpublished().await.unwrap().is_empty());

        let copy = new_id();
        blobs.copy(&written.id, &copy).await.unwrap();
        blobs.delete(&written.id).await.unwrap();
        assert!(matches!(
            blobs.get(&written.id, None).await,
            Err(ReadError::Missing)
        ));
        assert_eq!(read_all(&blobs, &copy, None).await, b"hello world");
    }

    #[tokio::test]
    async fn concat_joins_blobs_with_their_crc_and_sha() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = DiskBlobs::open(dir.path()).await.unwrap();
        let a = blobs
            .put(&new_id(), body(vec![Ok(Bytes::from("ab"))]), false)
            .await
            .unwrap();
        let b = blobs
            .put(&new_id(), body(vec![Ok(Bytes::from("cd"))]), false)
            .await
            .unwrap();
        let ids = [a.id, b.id];
        let joined = blobs.concat(&ids, &new_id(), true).await.unwrap();
        assert_eq!(joined.size, 4);
        assert_eq!(joined.crc32c, crc32c::crc32c(b"abcd"));
        assert_eq!(
            joined.sha256.unwrap(),
            <[u8; 32]>::from(Sha256::digest(b"abcd"))
        );
        assert_eq!(read_all(&blobs, &joined.id, None).await, b"abcd");
    }
}
