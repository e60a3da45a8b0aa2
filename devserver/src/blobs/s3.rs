//! Blobs in an S3-compatible object store (AWS S3, Garage, MinIO…) through `object_store`'s
//! AmazonS3: one object per blob at `{prefix}/{id}`. Many servers may share the bucket, so the
//! store lists nothing at start: the catalog's pending table tracks blobs written but not yet
//! named by a row ([`BlobStore::lists_unpublished`] is false), and an object's PUT is already
//! durable, so [`BlobStore::make_durable`] and [`BlobStore::publish`] have nothing to do.

use std::io;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt, TryStreamExt};
use http::Method;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::signer::{SignedUrlOptions, Signer};
use object_store::{
    ClientConfigKey, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
    WriteMultipart,
};
use percent_encoding::utf8_percent_encode;

use super::{valid_id, BlobPut, BlobRead, BlobStore, ByteStream, DirectStore, ReadError, Sums};
use crate::error::AppResult;

/// Bodies up to this size go as one PUT; larger ones as a multipart upload of parts this big
/// (S3's smallest part is 5 MiB).
const PART: usize = 8 * 1024 * 1024;
/// Parts of one upload in flight at once: memory per upload is at most `(1 + PARTS) × PART`.
const PARTS: usize = 2;

/// The object-store blob store.
#[derive(Debug, Clone)]
pub struct S3Blobs {
    store: Arc<AmazonS3>,
    prefix: String,
    bucket: String,
    /// Hands out the store's own presigned URLs ([`DirectStore`]).
    direct: bool,
    /// For the store requests object_store does not make (ListParts).
    http: reqwest::Client,
}

impl S3Blobs {
    /// The store for `s3://BUCKET[/PREFIX]`, configured by the standard environment variables
    /// (`AWS_ENDPOINT_URL` or `AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint).
    pub fn open(url: &str, direct: bool) -> Result<Self, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("--blobs {url}: an object store URL is s3://BUCKET[/PREFIX]"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("--blobs {url}: the bucket name is missing"));
        }
        let prefix = prefix.trim_matches('/').to_owned();
        if prefix.split('/').any(|s| s == "." || s == "..") {
            return Err(format!("--blobs {url}: the prefix may not hold . or .."));
        }
        // A store that stays away is answered in seconds (503, the client retries), not after
        // object_store's default of ten retries over three minutes.
        let retry = RetryConfig {
            max_retries: 4,
            retry_timeout: std::time::Duration::from_secs(15),
            ..RetryConfig::default()
        };
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_retry(retry);
        // object_store's default 30 s timeout covers a whole request, body included: a download
        // longer than that would be cut. Instead a stalled read fails after a minute, and a
        // request as a whole may take a day. `AWS_TIMEOUT` / `AWS_READ_TIMEOUT` override.
        for (variable, key, value) in [
            ("AWS_TIMEOUT", ClientConfigKey::Timeout, "24h"),
            ("AWS_READ_TIMEOUT", ClientConfigKey::ReadTimeout, "60s"),
            ("AWS_CONNECT_TIMEOUT", ClientConfigKey::ConnectTimeout, "5s"),
        ] {
            if std::env::var_os(variable).is_none() {
                builder = builder.with_config(AmazonS3ConfigKey::Client(key), value);
            }
        }
        // `AWS_ENDPOINT_URL` is the variable the AWS CLI and SDKs read; object_store reads
        // `AWS_ENDPOINT`. Take either.
        if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
            builder = builder.with_endpoint(endpoint);
        }
        let store = builder.build().map_err(|e| format!("--blobs {url}: {e}"))?;
        Ok(Self {
            store: Arc::new(store),
            prefix,
            bucket: bucket.to_owned(),
            direct,
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(60))
                .build()
                .map_err(|e| format!("--blobs {url}: {e}"))?,
        })
    }

    /// The bucket's name.
    #[must_use]
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn key(&self, id: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(id)
        } else {
            Path::from(format!("{}/{id}", self.prefix))
        }
    }

    /// Whether an object is a blob (`{prefix}/{id}`), not a shelf's ([`BlobStore::shelf`]).
    fn is_blob(&self, location: &Path) -> bool {
        let rest = if self.prefix.is_empty() {
            Some(location.as_ref())
        } else {
            location
                .as_ref()
                .strip_prefix(self.prefix.as_str())
                .and_then(|r| r.strip_prefix('/'))
        };
        rest.is_some_and(valid_id)
    }

    fn prefix_path(&self) -> Option<Path> {
        (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()))
    }
}

/// Aborts a multipart upload whose write was dropped unfinished (a client that vanished drops
/// the handler's future): the store keeps no part of it.
struct Unfinished(Option<WriteMultipart>);

impl Unfinished {
    /// Queues a chunk, once fewer than [`PARTS`] parts are in flight.
    async fn put(&mut self, chunk: Bytes) -> io::Result<()> {
        if let Some(upload) = self.0.as_mut() {
            upload.wait_for_capacity(PARTS).await.map_err(to_io)?;
            upload.put(chunk);
        }
        Ok(())
    }

    /// Sends the last part and completes the upload.
    async fn finish(mut self) -> io::Result<()> {
        if let Some(upload) = self.0.take() {
            upload.finish().await.map_err(to_io)?;
        }
        Ok(())
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let Some(upload) = self.0.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Err(e) = upload.abort().await {
                        tracing::warn!(error = %e, "could not abort an unfinished multipart upload");
                    }
                });
            }
        }
    }
}

/// The store's error as an `io::Error` whose kind says what happened: `NotFound`, or a
/// connection error (`ConnectionRefused`…) when the store could not be reached even after its
/// retries, which the server answers with `503 {code: 7010}` and `Retry-After`.
fn to_io(e: object_store::Error) -> io::Error {
    if let object_store::Error::NotFound { .. } = e {
        return io::Error::new(io::ErrorKind::NotFound, e);
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    let mut unreachable = None;
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, TimedOut};
            if matches!(
                io.kind(),
                ConnectionRefused | ConnectionReset | ConnectionAborted | TimedOut
            ) {
                unreachable = Some(io.kind());
                break;
            }
        }
        let text = err.to_string();
        if text.contains("error sending request") || text.contains("Connection refused") {
            unreachable = Some(io::ErrorKind::ConnectionRefused);
        }
        source = err.source();
    }
    match unreachable {
        Some(kind) => io::Error::new(kind, e),
        None => io::Error::other(e),
    }
}

/// One object being written: the first [`PART`] bytes are held back, so a small body goes as
/// one PUT; past them the write becomes a multipart upload with at most [`PARTS`] parts in
/// flight. Dropped unfinished, it leaves nothing in the store.
struct Writer {
    store: Arc<AmazonS3>,
    key: Path,
    sums: Sums,
    first: BytesMut,
    multipart: Option<Unfinished>,
}

impl Writer {
    fn new(blobs: &S3Blobs, id: &str, sha256: bool) -> Self {
        Self {
            store: blobs.store.clone(),
            key: blobs.key(id),
            sums: Sums::new(sha256),
            first: BytesMut::new(),
            multipart: None,
        }
    }

    async fn push(&mut self, chunk: Bytes) -> io::Result<()> {
        self.sums.add(&chunk);
        if let Some(upload) = self.multipart.as_mut() {
            return upload.put(chunk).await;
        }
        if self.first.len() + chunk.len() <= PART {
            self.first.extend_from_slice(&chunk);
            return Ok(());
        }
        let upload = self.store.put_multipart(&self.key).await.map_err(to_io)?;
        let mut upload = Unfinished(Some(WriteMultipart::new_with_chunk_size(upload, PART)));
        upload.put(std::mem::take(&mut self.first).freeze()).await?;
        upload.put(chunk).await?;
        self.multipart = Some(upload);
        Ok(())
    }

    async fn finish(mut self, id: &str) -> io::Result<BlobPut> {
        match self.multipart.take() {
            Some(upload) => upload.finish().await?,
            None => {
                let body = PutPayload::from(std::mem::take(&mut self.first).freeze());
                self.store.put(&self.key, body).await.map_err(to_io)?;
            }
        }
        Ok(self.sums.done(id))
    }
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put(&self, id: &str, body: ByteStream<'_>, sha256: bool) -> AppResult<BlobPut> {
        let mut body = body;
        let mut writer = Writer::new(self, id, sha256);
        while let Some(chunk) = body.next().await {
            writer.push(chunk?).await?;
        }
        Ok(writer.finish(id).await?)
    }

    async fn make_durable(&self) -> io::Result<()> {
        // An acknowledged PUT or CompleteMultipartUpload is durable in the store.
        Ok(())
    }

    async fn publish(&self, _ids: &[String]) -> io::Result<()> {
        // Objects are written at their final key; the catalog forgets their pending rows.
        Ok(())
    }

    fn lists_unpublished(&self) -> bool {
        false
    }

    async fn unpublished(&self) -> io::Result<Vec<String>> {
        Ok(Vec::new())
    }

    async fn has_published(&self) -> io::Result<bool> {
        let mut listing = self.store.list(self.prefix_path().as_ref());
        while let Some(item) = listing.next().await {
            if self.is_blob(&item.map_err(to_io)?.location) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn get(&self, id: &str, range: Option<Range<u64>>) -> Result<BlobRead, ReadError> {
        if !valid_id(id) {
            return Err(ReadError::Missing);
        }
        if range.as_ref().is_some_and(|r| r.start >= r.end) {
            // Nothing to fetch (an empty blob, or an empty range): only the size is asked.
            let total = self.size_of(id).await?;
            return Ok(BlobRead {
                body: Box::pin(futures_util::stream::empty()),
                total,
            });
        }
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = match self.store.get_opts(&self.key(id), options).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Err(ReadError::Missing),
            Err(e) => return Err(ReadError::Io(to_io(e))),
        };
        let total = result.meta.size;
        Ok(BlobRead {
            body: Box::pin(result.into_stream().map_err(to_io)),
            total,
        })
    }

    async fn copy(&self, id: &str, to: &str) -> io::Result<()> {
        // CopyObject: the store copies; no byte passes through this server.
        self.store
            .copy(&self.key(id), &self.key(to))
            .await
            .map_err(to_io)
    }

    async fn concat(&self, ids: &[String], to: &str, sha256: bool) -> io::Result<BlobPut> {
        // The parts were separate objects: stream them, in order, into one new object.
        let mut writer = Writer::new(self, to, sha256);
        for id in ids {
            let mut part = self
                .store
                .get(&self.key(id))
                .await
                .map_err(to_io)?
                .into_stream();
            while let Some(chunk) = part.next().await {
                writer.push(chunk.map_err(to_io)?).await?;
            }
        }
        writer.finish(to).await
    }

    fn direct(&self) -> Option<&dyn DirectStore> {
        self.direct.then_some(self as &dyn DirectStore)
    }

    async fn probe(&self) -> io::Result<()> {
        // A HEAD of a key no blob has: "not found" is the store answering.
        match self.store.head(&self.key(".stowage-probe")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(to_io(e)),
        }
    }

    async fn count(&self) -> io::Result<usize> {
        let mut listing = self.store.list(self.prefix_path().as_ref());
        let mut n = 0;
        while let Some(item) = listing.next().await {
            if self.is_blob(&item.map_err(to_io)?.location) {
                n += 1;
            }
        }
        Ok(n)
    }

    fn shelf(&self, name: &str) -> Option<Arc<dyn ObjectStore>> {
        let store = object_store::prefix::PrefixStore::new(Arc::clone(&self.store), self.key(name));
        Some(Arc::new(store))
    }

    async fn delete(&self, id: &str) -> io::Result<()> {
        if !valid_id(id) {
            return Ok(());
        }
        match self.store.delete(&self.key(id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(to_io(e)),
        }
    }
}

#[async_trait]
impl DirectStore for S3Blobs {
    async fn download_url(
        &self,
        id: &str,
        expires_in: Duration,
        content_type: &str,
        file_name: &str,
    ) -> io::Result<String> {
        let disposition = format!(
            "inline; filename*=UTF-8''{}",
            utf8_percent_encode(file_name, NON_ATTR)
        );
        let options = SignedUrlOptions::default().with_query([
            ("response-content-type", content_type.to_owned()),
            ("response-content-disposition", disposition),
        ]);
        self.presign(Method::GET, id, expires_in, &options).await
    }

    async fn upload_url(
        &self,
        id: &str,
        expires_in: Duration,
        content_type: &str,
    ) -> io::Result<String> {
        let value = http::HeaderValue::from_str(content_type)
            .map_err(|_| io::Error::other("not a Content-Type"))?;
        let options =
            SignedUrlOptions::default().with_signed_header(http::header::CONTENT_TYPE, value);
        self.presign(Method::PUT, id, expires_in, &options).await
    }

    async fn begin_upload(&self, id: &str) -> io::Result<String> {
        self.store
            .create_multipart(&self.key(id))
            .await
            .map_err(to_io)
    }

    async fn part_url(
        &self,
        id: &str,
        upload: &str,
        n: u64,
        length: u64,
        expires_in: Duration,
    ) -> io::Result<String> {
        // object_store refuses to sign `Content-Length`, so the store cannot hold a part to its
        // planned `length`: `complete` checks the joined object's size instead (and the store
        // keeps parts of at least 5 MiB but the last).
        let _ = length;
        let options = SignedUrlOptions::default().with_query([
            ("partNumber", n.to_string()),
            ("uploadId", upload.to_owned()),
        ]);
        self.presign(Method::PUT, id, expires_in, &options).await
    }

    async fn list_parts(&self, id: &str, upload: &str) -> io::Result<Vec<(u64, u64, String)>> {
        // object_store has no ListParts: a presigned GET of it, read here.
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut query = vec![("uploadId", upload.to_owned())];
            if let Some(m) = &marker {
                query.push(("part-number-marker", m.clone()));
            }
            let options = SignedUrlOptions::default().with_query(query);
            let url = self
                .presign(Method::GET, id, Duration::from_secs(60), &options)
                .await?;
            let answer = self
                .http
                .get(url)
                .send()
                .await
                .map_err(|e| io::Error::new(io::ErrorKind::ConnectionRefused, e))?;
            let status = answer.status();
            let text = answer.text().await.map_err(io::Error::other)?;
            if status == reqwest::StatusCode::NOT_FOUND {
                return Err(io::Error::new(io::ErrorKind::NotFound, "no such upload"));
            }
            if !status.is_success() {
                return Err(io::Error::other(format!("ListParts answered {status}")));
            }
            let listed: ListParts = quick_xml::de::from_str(&text).map_err(io::Error::other)?;
            parts.extend(listed.parts.into_iter().map(|p| (p.number, p.size, p.etag)));
            match listed.next_marker.filter(|_| listed.truncated) {
                Some(m) => marker = Some(m),
                None => return Ok(parts),
            }
        }
    }

    async fn finish_upload(&self, id: &str, upload: &str, etags: &[String]) -> io::Result<()> {
        let parts = etags
            .iter()
            .map(|e| PartId {
                content_id: e.clone(),
            })
            .collect();
        self.store
            .complete_multipart(&self.key(id), &upload.to_owned(), parts)
            .await
            .map_err(to_io)?;
        Ok(())
    }

    async fn abort_upload(&self, id: &str, upload: &str) -> io::Result<()> {
        match self
            .store
            .abort_multipart(&self.key(id), &upload.to_owned())
            .await
        {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(to_io(e)),
        }
    }
}

/// S3's `ListPartsResult`, as much of it as is read.
#[derive(Debug, serde::Deserialize)]
struct ListParts {
    #[serde(rename = "Part", default)]
    parts: Vec<ListedPart>,
    #[serde(rename = "IsTruncated", default)]
    truncated: bool,
    #[serde(rename = "NextPartNumberMarker", default)]
    next_marker: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct ListedPart {
    #[serde(rename = "PartNumber")]
    number: u64,
    #[serde(rename = "Size")]
    size: u64,
    #[serde(rename = "ETag")]
    etag: String,
}

/// What a `filename*` value may hold unescaped (RFC 8187 attr-char).
const NON_ATTR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

impl S3Blobs {
    /// The store's presigned URL of blob `id`'s object for `method`, with `options` signed.
    async fn presign(
        &self,
        method: Method,
        id: &str,
        expires_in: Duration,
        options: &SignedUrlOptions,
    ) -> io::Result<String> {
        let url = self
            .store
            .signed_url_opts(method, &self.key(id), expires_in, options)
            .await
            .map_err(to_io)?;
        Ok(url.to_string())
    }

    async fn size_of(&self, id: &str) -> Result<u64, ReadError> {
        match self.store.head(&self.key(id)).await {
            Ok(meta) => Ok(meta.size),
            Err(object_store::Error::NotFound { .. }) => Err(ReadError::Missing),
            Err(e) => Err(ReadError::Io(to_io(e))),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Against a real object store: `npm test`'s cluster step sets `STOWAGE_TEST_BLOBS` to a
    //! bucket of its Garage cluster (and the `AWS_*` variables). Without it these say so and pass.
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::blobs::new_id;
    use sha2::{Digest, Sha256};

    fn store() -> Option<S3Blobs> {
        let url = std::env::var("STOWAGE_TEST_BLOBS").ok()?;
        if !url.starts_with("s3://") {
            return None;
        }
        Some(
            S3Blobs::open(
                &format!("{}/unit-{}", url.trim_end_matches('/'), new_id()),
                true,
            )
            .unwrap(),
        )
    }

    fn pattern(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    fn chunks(data: &[u8], size: usize) -> ByteStream<'static> {
        let owned: Vec<AppResult<Bytes>> = data
            .chunks(size)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        Box::pin(futures_util::stream::iter(owned))
    }

    async fn read(blobs: &S3Blobs, id: &str, range: Option<Range<u64>>) -> (u64, Vec<u8>) {
        let read = blobs.get(id, range).await.unwrap();
        let mut out = Vec::new();
        let mut body = read.body;
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        (read.total, out)
    }

    #[tokio::test]
    async fn small_and_multipart_bodies_ranges_copies_joins_and_deletes() {
        let Some(blobs) = store() else {
            eprintln!("STOWAGE_TEST_BLOBS is not an s3:// URL: object-store tests not run");
            return;
        };
        assert!(!blobs.has_published().await.unwrap());
        // Empty, small, and three parts' worth (one PUT, one PUT, a multipart upload).
        for (n, seed) in [(0usize, 1u8), (1000, 2), (2 * PART + 12_345, 3)] {
            let data = pattern(n, seed);
            let id = new_id();
            let put = blobs
                .put(&id, chunks(&data, 256 * 1024), true)
                .await
                .unwrap();
            assert_eq!(put.size, n as u64);
            assert_eq!(put.crc32c, crc32c::crc32c(&data));
            assert_eq!(put.sha256.unwrap(), <[u8; 32]>::from(Sha256::digest(&data)));
            let (total, got) = read(&blobs, &id, None).await;
            assert_eq!((total, got.len()), (n as u64, n));
            assert!(got == data, "bytes of a {n}-byte blob differ");
            if n > 10 {
                let (_, middle) = read(&blobs, &id, Some(3..9)).await;
                assert_eq!(middle, &data[3..9]);
            }
            let (_, empty) = read(&blobs, &id, Some(0..0)).await;
            assert!(empty.is_empty());
        }
        assert!(blobs.has_published().await.unwrap());

        let a = new_id();
        let b = new_id();
        let data_a = pattern(PART + 7, 4);
        let data_b = pattern(5, 5);
        blobs
            .put(&a, chunks(&data_a, 64 * 1024), false)
            .await
            .unwrap();
        blobs
            .put(&b, chunks(&data_b, 64 * 1024), false)
            .await
            .unwrap();
        let copy = new_id();
        blobs.copy(&b, &copy).await.unwrap();
        assert_eq!(read(&blobs, &copy, None).await.1, data_b);
        let joined = new_id();
        let put = blobs
            .concat(&[a.clone(), b.clone()], &joined, true)
            .await
            .unwrap();
        let whole = [data_a.clone(), data_b.clone()].concat();
        assert_eq!(put.size, whole.len() as u64);
        assert_eq!(put.crc32c, crc32c::crc32c(&whole));
        assert!(read(&blobs, &joined, None).await.1 == whole);

        for id in [&a, &b, &copy, &joined] {
            blobs.delete(id).await.unwrap();
            assert!(matches!(blobs.get(id, None).await, Err(ReadError::Missing)));
        }
        // Deleting what is gone, or what never was, is no error.
        blobs.delete(&a).await.unwrap();
        assert!(matches!(
            blobs.get("not-an-id", None).await,
            Err(ReadError::Missing)
        ));
    }

    #[tokio::test]
    async fn a_body_that_fails_or_is_dropped_midway_leaves_no_object() {
        let Some(blobs) = store() else {
            eprintln!("STOWAGE_TEST_BLOBS is not an s3:// URL: object-store tests not run");
            return;
        };
        // Fails after two parts' worth: the multipart upload is aborted, no object appears.
        let id = new_id();
        let mut items: Vec<AppResult<Bytes>> = pattern(2 * PART + 1, 6)
            .chunks(1024 * 1024)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        items.push(Err(crate::error::AppError::Io(io::Error::other(
            "client left",
        ))));
        let failing: ByteStream<'static> = Box::pin(futures_util::stream::iter(items));
        assert!(blobs.put(&id, failing, false).await.is_err());
        assert!(matches!(
            blobs.get(&id, None).await,
            Err(ReadError::Missing)
        ));

        // A write whose future is dropped (the client vanished) mid-body.
        let id = new_id();
        let (tx, rx) = tokio::sync::mpsc::channel::<AppResult<Bytes>>(4);
        let body: ByteStream<'static> = Box::pin(tokio_stream_from(rx));
        let writer = {
            let blobs = blobs.clone();
            let id = id.clone();
            tokio::spawn(async move { blobs.put(&id, body, false).await })
        };
        for c in pattern(PART * 2, 7).chunks(1024 * 1024) {
            tx.send(Ok(Bytes::copy_from_slice(c))).await.unwrap();
        }
        writer.abort();
        let _ = writer.await;
        assert!(matches!(
            blobs.get(&id, None).await,
            Err(ReadError::Missing)
        ));
        assert!(!blobs.has_published().await.unwrap());
    }

    fn tokio_stream_from(
        mut rx: tokio::sync::mpsc::Receiver<AppResult<Bytes>>,
    ) -> impl futures_util::Stream<Item = AppResult<Bytes>> {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}
