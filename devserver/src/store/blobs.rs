//! File bytes on the local disk, stored under random ids: `{data}/blobs/xx/<id>`.
//! Blobs are immutable once written, so a copy can be a hard link and a reader holding an open
//! blob keeps its bytes even after the file is overwritten or removed.

use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::fs;
use tokio::io::{AsyncWriteExt, BufWriter};

/// Write buffer per upload: large enough for few syscalls, small enough for many uploads at once.
const WRITE_BUFFER: usize = 256 * 1024;

/// What a finished write produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobWritten {
    /// The new blob's id.
    pub id: String,
    /// Bytes written.
    pub size: u64,
    /// CRC32C of the bytes.
    pub crc32c: u32,
}

/// A file written and fsynced in `tmp/`, not yet visible anywhere.
#[derive(Debug)]
pub struct Staged {
    /// Id the file will have as a blob.
    pub id: String,
    tmp_path: PathBuf,
    /// Bytes written.
    pub size: u64,
    /// CRC32C of the bytes (0 for concatenations, whose CRC the caller combines from parts).
    pub crc32c: u32,
    /// SHA-256 of the bytes, when asked for.
    pub sha256: Option<[u8; 32]>,
}

/// Why a streamed write stopped.
#[derive(Debug, thiserror::Error)]
pub enum WriteError<E> {
    /// The body stream failed (client went away, limit exceeded, bad encoding).
    #[error("body: {0}")]
    Body(E),
    /// The disk failed.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
}

/// The local-disk blob store.
#[derive(Debug, Clone)]
pub struct Blobs {
    root: PathBuf,
    staging: PathBuf,
    /// `root` with symlinks resolved: every blob read must resolve below it.
    canonical_root: PathBuf,
    tmp: PathBuf,
}

impl Blobs {
    /// Opens (and creates) `{data}/blobs` and `{data}/tmp`, emptying `tmp` of crashed writes.
    pub async fn open(data: &Path) -> io::Result<Self> {
        let root = data.join("blobs");
        let tmp = data.join("tmp");
        if fs::try_exists(&tmp).await? {
            fs::remove_dir_all(&tmp).await?;
        }
        fs::create_dir_all(&tmp).await?;
        for i in 0..=255u8 {
            fs::create_dir_all(root.join(format!("{i:02x}"))).await?;
        }
        sync_dir(root.clone()).await?;
        sync_dir(data.to_path_buf()).await?;
        let canonical_root = fs::canonicalize(&root).await?;
        let staging = data.join("staging");
        fs::create_dir_all(&staging).await?;
        Ok(Self {
            root,
            staging,
            canonical_root,
            tmp,
        })
    }

    /// Where a blob lives on disk.
    #[must_use]
    pub fn path(&self, id: &str) -> PathBuf {
        self.root.join(id.get(..2).unwrap_or("00")).join(id)
    }

    /// Flushes everything written to the data directory's filesystem (`syncfs`): file bytes,
    /// renames and directory entries of every write so far, in one call. The group committer
    /// runs it once per batch instead of one fsync per file and per directory.
    pub async fn sync_filesystem(&self) -> io::Result<()> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let dir = std::fs::File::open(root)?;
            rustix::fs::syncfs(&dir).map_err(io::Error::from)
        })
        .await
        .map_err(io::Error::other)?
    }

    /// Where part `n` of multipart upload `upload` is kept until completion. `upload` must be
    /// a server-made id (hex), checked by the caller.
    #[must_use]
    pub fn part_path(&self, upload: &str, n: u64) -> PathBuf {
        self.staging.join(upload).join(n.to_string())
    }

    /// Creates the staging directory of an upload.
    pub async fn create_staging(&self, upload: &str) -> io::Result<()> {
        fs::create_dir_all(self.staging.join(upload)).await?;
        sync_dir(self.staging.clone()).await
    }

    /// Removes the staging directory of an upload and every part in it.
    pub async fn remove_staging(&self, upload: &str) -> io::Result<()> {
        match fs::remove_dir_all(self.staging.join(upload)).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Ids of every upload with a staging directory.
    pub async fn staged_uploads(&self) -> io::Result<Vec<String>> {
        let mut ids = Vec::new();
        let mut dir = fs::read_dir(&self.staging).await?;
        while let Some(entry) = dir.next_entry().await? {
            if let Some(name) = entry.file_name().to_str() {
                ids.push(name.to_owned());
            }
        }
        Ok(ids)
    }

    /// The blob's path for reading, with symlinks resolved; `None` when it resolves outside the
    /// blob directory (someone replaced it with a link) or does not exist.
    pub async fn resolve(&self, id: &str) -> io::Result<Option<PathBuf>> {
        match fs::canonicalize(self.path(id)).await {
            Ok(real) if real.starts_with(&self.canonical_root) => Ok(Some(real)),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Streams `body` to a temporary file, fsyncs it, renames it into place and fsyncs the
    /// directory. On any failure the temporary file is removed and nothing is visible.
    pub async fn write<S, E>(&self, body: S) -> Result<BlobWritten, WriteError<E>>
    where
        S: Stream<Item = Result<Bytes, E>>,
    {
        let staged = self.stage(body, false).await?;
        Ok(self.commit_blob(staged).await?)
    }

    /// Streams `body` to a new temporary file and fsyncs it, computing its CRC32C (and SHA-256
    /// when asked). Nothing is visible yet; on failure the temporary file is gone.
    pub async fn stage<S, E>(&self, body: S, sha256: bool) -> Result<Staged, WriteError<E>>
    where
        S: Stream<Item = Result<Bytes, E>>,
    {
        self.stage_with(body, sha256, true).await
    }

    /// [`Blobs::stage`] without the file's own fsync: for writes whose durability comes from
    /// the group committer's [`Blobs::sync_filesystem`] before anything references them.
    pub async fn stage_unsynced<S, E>(&self, body: S) -> Result<Staged, WriteError<E>>
    where
        S: Stream<Item = Result<Bytes, E>>,
    {
        self.stage_with(body, false, false).await
    }

    async fn stage_with<S, E>(
        &self,
        body: S,
        sha256: bool,
        sync: bool,
    ) -> Result<Staged, WriteError<E>>
    where
        S: Stream<Item = Result<Bytes, E>>,
    {
        let id = new_id();
        let tmp_path = self.tmp.join(&id);
        match write_tmp(&tmp_path, body, sha256, sync).await {
            Ok((size, crc32c, sha256)) => Ok(Staged {
                id,
                tmp_path,
                size,
                crc32c,
                sha256,
            }),
            Err(e) => {
                let _ = fs::remove_file(&tmp_path).await;
                Err(e)
            }
        }
    }

    /// Concatenates files into a new staged file (in-kernel copies unless SHA-256 is wanted).
    pub async fn concat(&self, parts: Vec<PathBuf>, sha256: bool) -> io::Result<Staged> {
        let id = new_id();
        let tmp_path = self.tmp.join(&id);
        let target = tmp_path.clone();
        let result = tokio::task::spawn_blocking(move || concat_blocking(&parts, &target, sha256))
            .await
            .map_err(io::Error::other)?;
        match result {
            Ok((size, sha256)) => Ok(Staged {
                id,
                tmp_path,
                size,
                crc32c: 0,
                sha256,
            }),
            Err(e) => {
                let _ = fs::remove_file(&tmp_path).await;
                Err(e)
            }
        }
    }

    /// Renames a staged file into the blob store under its id, with no fsync at all: the caller
    /// owes [`Blobs::sync_filesystem`] before the blob may be referenced (the group committer
    /// does it once per batch).
    pub async fn place_blob(&self, staged: Staged) -> io::Result<BlobWritten> {
        let final_path = self.path(&staged.id);
        if let Err(e) = fs::rename(&staged.tmp_path, &final_path).await {
            let _ = fs::remove_file(&staged.tmp_path).await;
            return Err(e);
        }
        Ok(BlobWritten {
            id: staged.id,
            size: staged.size,
            crc32c: staged.crc32c,
        })
    }

    /// Renames a staged file into the blob store under its id and fsyncs the directory.
    pub async fn commit_blob(&self, staged: Staged) -> io::Result<BlobWritten> {
        let final_path = self.path(&staged.id);
        self.commit_to(&staged, &final_path).await?;
        Ok(BlobWritten {
            id: staged.id,
            size: staged.size,
            crc32c: staged.crc32c,
        })
    }

    /// Renames a staged file to `target` (a path inside the data directory) and fsyncs its
    /// directory. The staged file is removed on failure.
    pub async fn commit_to(&self, staged: &Staged, target: &Path) -> io::Result<()> {
        if let Err(e) = fs::rename(&staged.tmp_path, target).await {
            let _ = fs::remove_file(&staged.tmp_path).await;
            return Err(e);
        }
        if let Some(dir) = target.parent() {
            sync_dir(dir.to_path_buf()).await?;
        }
        Ok(())
    }

    /// Throws a staged file away.
    pub async fn discard(&self, staged: Staged) {
        let _ = fs::remove_file(&staged.tmp_path).await;
    }

    /// Makes `to` a copy of `from`: a hard link where the filesystem allows, else a byte copy
    /// through a temporary file. Returns the new blob's id.
    pub async fn copy(&self, from: &str) -> io::Result<String> {
        let id = new_id();
        let target = self.path(&id);
        if fs::hard_link(self.path(from), &target).await.is_err() {
            let tmp_path = self.tmp.join(&id);
            fs::copy(self.path(from), &tmp_path).await?;
            fs::File::open(&tmp_path).await?.sync_all().await?;
            fs::rename(&tmp_path, &target).await?;
        }
        if let Some(dir) = target.parent() {
            sync_dir(dir.to_path_buf()).await?;
        }
        Ok(id)
    }

    /// Removes a blob; a missing blob is not an error.
    pub async fn delete(&self, id: &str) -> io::Result<()> {
        match fs::remove_file(self.path(id)).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Every blob id on disk (for removing blobs that no metadata row references).
    pub async fn list(&self) -> io::Result<Vec<String>> {
        let mut ids = Vec::new();
        for i in 0..=255u8 {
            let mut dir = fs::read_dir(self.root.join(format!("{i:02x}"))).await?;
            while let Some(entry) = dir.next_entry().await? {
                if let Some(name) = entry.file_name().to_str() {
                    ids.push(name.to_owned());
                }
            }
        }
        Ok(ids)
    }
}

async fn write_tmp<S, E>(
    path: &Path,
    body: S,
    want_sha256: bool,
    sync: bool,
) -> Result<(u64, u32, Option<[u8; 32]>), WriteError<E>>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    let file = fs::File::create(path).await?;
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
    let mut size = 0u64;
    let mut crc = 0u32;
    let mut sha = want_sha256.then(Sha256::new);
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(WriteError::Body)?;
        crc = crc32c::crc32c_append(crc, &chunk);
        if let Some(sha) = sha.as_mut() {
            sha.update(&chunk);
        }
        size += chunk.len() as u64;
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    if sync {
        out.into_inner().sync_all().await?;
    }
    Ok((size, crc, sha.map(|s| s.finalize().into())))
}

fn concat_blocking(
    parts: &[PathBuf],
    target: &Path,
    want_sha256: bool,
) -> io::Result<(u64, Option<[u8; 32]>)> {
    use std::io::{Read, Write};
    let mut out = std::fs::File::create(target)?;
    let mut size = 0u64;
    let mut sha = want_sha256.then(Sha256::new);
    let mut buf = vec![0u8; if want_sha256 { 1024 * 1024 } else { 0 }];
    for part in parts {
        let mut input = std::fs::File::open(part)?;
        match sha.as_mut() {
            // std::io::copy between files uses copy_file_range: no bytes pass through here.
            None => size += std::io::copy(&mut input, &mut out)?,
            Some(sha) => loop {
                let n = input.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                sha.update(&buf[..n]);
                out.write_all(&buf[..n])?;
                size += n as u64;
            },
        }
    }
    out.sync_all()?;
    Ok((size, sha.map(|s| s.finalize().into())))
}

/// A fresh 128-bit random id in hex.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// fsyncs a directory so that a rename into it survives a crash.
async fn sync_dir(dir: PathBuf) -> io::Result<()> {
    tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
        .await
        .map_err(io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn write_is_atomic_and_failed_writes_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).await.unwrap();
        let chunks = vec![
            Ok::<_, io::Error>(Bytes::from_static(b"hello ")),
            Ok(Bytes::from_static(b"world")),
        ];
        let written = blobs
            .write(futures_util::stream::iter(chunks))
            .await
            .unwrap();
        assert_eq!(written.size, 11);
        assert_eq!(written.crc32c, crc32c::crc32c(b"hello world"));
        assert_eq!(
            std::fs::read(blobs.path(&written.id)).unwrap(),
            b"hello world"
        );

        let failing = vec![
            Ok(Bytes::from_static(b"part")),
            Err(io::Error::other("client left")),
        ];
        assert!(blobs
            .write(futures_util::stream::iter(failing))
            .await
            .is_err());
        assert_eq!(blobs.list().await.unwrap(), vec![written.id.clone()]);
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );

        let copy = blobs.copy(&written.id).await.unwrap();
        blobs.delete(&written.id).await.unwrap();
        assert_eq!(std::fs::read(blobs.path(&copy)).unwrap(), b"hello world");
    }
}
