//! `uploadMultipart`: a large File cut into parts that go to signed URLs in parallel, each
//! checksummed and retried on its own, resumable after a reload through the journal, and
//! completed only when the server has verified every part.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use futures_util::{stream, StreamExt};
use js_sys::Function;
use serde::Serialize;
use stowage_protocol::multipart::{
    effective_part_size, plan_parts, ChecksumAlgorithm, CompleteResponse, CompletedPart,
    InitRequest, PartRange, PresignedRequest,
};
use stowage_protocol::ErrorCode;
use web_sys::{AbortSignal, Blob};

use crate::control;
use crate::endpoint::{upload_target, Endpoint};
use crate::error::Error;
use crate::hash::{combine_crc32c, PartChecksum};
use crate::journal::{fingerprint, Entry, Journal};
use crate::part::{self, put_part, slice, RESULT_MISMATCH};
use crate::parts_progress::PartsProgress;
use crate::progress::{to_f64, to_u64};
use crate::retry::{verdict, RetryPolicy, Verdict};
use crate::task::{sleep, Control};
use crate::upload::stored_name;

/// Parts above this size are always hashed in wasm: `crypto.subtle` needs the whole part in
/// memory at once.
const SUBTLE_MAX_PART: u64 = 64 * 1024 * 1024;
/// Progress reports at most this often, ms.
const PROGRESS_INTERVAL_MS: f64 = 50.0;
/// The journal is rewritten at most this often while parts complete, ms.
const JOURNAL_INTERVAL_MS: f64 = 1000.0;

/// `MultipartOptions` as read from JS.
#[derive(Debug, Clone)]
pub(crate) struct MultipartOptions {
    /// Stored name (default: `File.name`).
    pub(crate) name: Option<String>,
    /// Wanted part size (default 8 MiB; raised to fit 10,000 parts).
    pub(crate) part_size: Option<u64>,
    /// Parts in flight at once (default 4).
    pub(crate) concurrency: usize,
    /// Replace an existing file.
    pub(crate) overwrite: bool,
    /// Part checksum (default CRC32C).
    pub(crate) checksum: ChecksumAlgorithm,
    /// MIME type to store.
    pub(crate) mime_type: Option<String>,
    /// `onProgress(loaded, total)`.
    pub(crate) on_progress: Option<Function>,
    /// Retry policy per part.
    pub(crate) retry: RetryPolicy,
    /// Use and keep the resume journal (default true).
    pub(crate) resume: bool,
}

/// What `uploadMultipart` resolves with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct MultipartResult {
    /// Public URL of the file.
    pub(crate) url: String,
    /// Its size.
    pub(crate) size: u64,
    /// Its ETag.
    pub(crate) etag: String,
    /// Whole-file checksum (base64) in the chosen algorithm; absent for `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) checksum: Option<String>,
}

impl From<CompleteResponse> for MultipartResult {
    fn from(r: CompleteResponse) -> Self {
        Self {
            url: r.file_url,
            size: r.size,
            etag: r.etag,
            checksum: r.checksum,
        }
    }
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Picks, per part, the faster of wasm and `crypto.subtle` for SHA-256, from rates measured
/// on earlier parts (the first part is hashed both ways, which also cross-checks them).
#[derive(Debug, Default)]
pub(crate) struct Sha256Chooser {
    wasm_rate: Cell<Option<f64>>,
    subtle_rate: Cell<Option<f64>>,
    subtle_missing: Cell<bool>,
}

impl Sha256Chooser {
    async fn hash(&self, blob: &Blob, size: u64) -> Result<PartChecksum, Error> {
        let subtle_ok = !self.subtle_missing.get() && size <= SUBTLE_MAX_PART;
        let (wasm, subtle) = (self.wasm_rate.get(), self.subtle_rate.get());
        let measure_both = subtle_ok && (wasm.is_none() || subtle.is_none());
        let use_subtle = subtle_ok && !measure_both && subtle > wasm;
        #[allow(clippy::cast_precision_loss)]
        let bytes = size.max(1) as f64;
        let mut result = None;
        if measure_both || !use_subtle {
            let start = now_ms();
            result = Some(part::hash_in_wasm(blob, ChecksumAlgorithm::Sha256).await?);
            self.wasm_rate
                .set(Some(bytes / (now_ms() - start).max(0.01)));
        }
        if measure_both || use_subtle {
            let start = now_ms();
            match part::sha256_subtle(blob).await? {
                None => self.subtle_missing.set(true),
                Some(sum) => {
                    self.subtle_rate
                        .set(Some(bytes / (now_ms() - start).max(0.01)));
                    if let Some(wasm) = &result {
                        if wasm != &sum {
                            return Err(Error::Browser(
                                "SHA-256 in wasm and crypto.subtle disagree".into(),
                            ));
                        }
                    }
                    result = Some(sum);
                }
            }
        }
        match result {
            Some(r) => Ok(r),
            None => part::hash_in_wasm(blob, ChecksumAlgorithm::Sha256).await,
        }
    }
}

/// Everything one run shares between its parts.
struct Run {
    endpoint: Rc<Endpoint>,
    file: Blob,
    algorithm: ChecksumAlgorithm,
    retry: RetryPolicy,
    upload_id: String,
    urls: RefCell<HashMap<u64, PresignedRequest>>,
    progress: RefCell<PartsProgress>,
    on_progress: Option<Function>,
    control: Rc<Control>,
    sha: Sha256Chooser,
}

impl Run {
    fn report(&self, report: Option<(u64, u64)>) {
        if let Some((loaded, total)) = report {
            self.control.set_progress((loaded, total));
            if let Some(f) = &self.on_progress {
                if let Err(e) = f.call2(
                    &wasm_bindgen::JsValue::UNDEFINED,
                    &to_f64(loaded).into(),
                    &to_f64(total).into(),
                ) {
                    web_sys::console::error_2(&"stowage: onProgress threw".into(), &e);
                }
            }
        }
    }

    async fn checksum(&self, blob: &Blob, size: u64) -> Result<PartChecksum, Error> {
        match self.algorithm {
            ChecksumAlgorithm::Sha256 => self.sha.hash(blob, size).await,
            other => part::hash_in_wasm(blob, other).await,
        }
    }

    async fn url(&self, n: u64) -> Result<PresignedRequest, Error> {
        if let Some(url) = self.urls.borrow().get(&n) {
            return Ok(url.clone());
        }
        let fresh = control::presign(&self.endpoint, &self.upload_id, &[n]).await?;
        let url = fresh
            .into_iter()
            .next()
            .map(|p| p.request)
            .ok_or_else(|| Error::Browser("no URL for the part".into()))?;
        self.urls.borrow_mut().insert(n, url.clone());
        Ok(url)
    }

    /// Sends one part, with retries; answers `(n, etag, crc32c)`.
    async fn send(
        self: Rc<Self>,
        range: PartRange,
        checksum: PartChecksum,
        signal: AbortSignal,
    ) -> Result<(u64, String, Option<u32>), Error> {
        let n = range.part_number;
        let body = slice(&self.file, range.start, range.end)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let url = self.url(n).await?;
            let run = Rc::clone(&self);
            let on_bytes: Rc<dyn Fn(u64)> = Rc::new(move |bytes| {
                let report = run.progress.borrow_mut().part(n, bytes, now_ms());
                run.report(report);
            });
            match put_part(
                &url,
                &body,
                Some(&checksum).filter(|c| c.header().is_some()),
                Some(on_bytes),
                Some(signal.clone()),
            )
            .await
            {
                Ok(stored) => {
                    let report = self.progress.borrow_mut().done(n, now_ms());
                    self.report(report);
                    return Ok((n, stored.etag, checksum.crc32c));
                }
                Err(failure) => {
                    let decision = verdict(&failure.error);
                    if decision == Verdict::Fail || attempt >= self.retry.attempts.max(1) {
                        return Err(failure.error);
                    }
                    if decision == Verdict::RefreshUrl {
                        self.urls.borrow_mut().remove(&n);
                    }
                    let wait =
                        self.retry
                            .delay_ms(attempt, failure.retry_after, js_sys::Math::random());
                    sleep(wait, &signal).await?;
                }
            }
        }
    }
}

/// Runs a multipart upload to its end under `control`.
pub(crate) async fn upload_multipart(
    endpoint: Rc<Endpoint>,
    file: Blob,
    dir: &str,
    options: MultipartOptions,
    control: Rc<Control>,
) -> Result<MultipartResult, Error> {
    let name = stored_name(&file, options.name.clone())?;
    let target = upload_target(dir, &name)?;
    let size = to_u64(file.size())
        .ok_or_else(|| Error::InvalidArgument("the Blob has no usable size".into()))?;
    let wanted = options
        .part_size
        .unwrap_or(stowage_protocol::multipart::DEFAULT_PART_SIZE);
    let journal = if options.resume {
        Journal::open().await
    } else {
        None
    };
    let key = match &journal {
        Some(j) => {
            let _ = j.prune(now_ms()).await;
            Some(fingerprint(&file, &name, target.as_str()).await?)
        }
        None => None,
    };

    // Resume: the journal names an upload; the server says which parts it holds.
    let mut resumed = None;
    if let (Some(j), Some(k)) = (&journal, &key) {
        if let Some(entry) = j.get(k, now_ms()).await {
            match control::status(&endpoint, &entry.upload_id).await {
                Ok(status) if status.completed.is_some() => {
                    let _ = j.delete(k).await;
                    if let Some(done) = status.completed.filter(|d| d.size == size) {
                        return Ok(done.into());
                    }
                }
                Ok(status) if status.size == size && status.checksum == options.checksum => {
                    resumed = Some(status);
                }
                Ok(_) => {
                    let _ = j.delete(k).await;
                }
                Err(Error::Storage { code, .. }) if code == ErrorCode::UploadNotFound.code() => {
                    let _ = j.delete(k).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
    let (upload_id, part_size, expires_at, held) = match resumed {
        Some(status) => {
            let held: BTreeMap<u64, (String, Option<u32>)> = status
                .parts
                .into_iter()
                .map(|p| {
                    (
                        p.part_number,
                        (p.etag, p.checksum.as_deref().and_then(decode_crc)),
                    )
                })
                .collect();
            (status.upload_id, status.part_size, status.expires_at, held)
        }
        None => {
            let request = InitRequest {
                path: target.parent().to_absolute(),
                name: target.name().to_owned(),
                size,
                mime_type: options
                    .mime_type
                    .clone()
                    .or_else(|| Some(file.type_()).filter(|t| !t.is_empty())),
                overwrite: options.overwrite,
                part_size: Some(effective_part_size(size, Some(wanted), 1)),
                checksum: options.checksum,
            };
            let init = control::init(&endpoint, &request).await?;
            (
                init.upload_id,
                init.part_size,
                init.expires_at,
                BTreeMap::new(),
            )
        }
    };
    control.set_upload_id(&upload_id);
    let plan = plan_parts(size, part_size);
    let write_journal = |parts: &BTreeMap<u64, (String, Option<u32>)>| Entry {
        upload_id: upload_id.clone(),
        part_size,
        part_count: plan.len() as u64,
        expires_at,
        parts: parts
            .iter()
            .map(|(n, (etag, _))| (*n, etag.clone()))
            .collect(),
    };
    if let (Some(j), Some(k)) = (&journal, &key) {
        let _ = j.put(k, &write_journal(&held)).await;
    }

    let run = Rc::new(Run {
        endpoint: Rc::clone(&endpoint),
        file: file.clone(),
        algorithm: options.checksum,
        retry: options.retry,
        upload_id: upload_id.clone(),
        urls: RefCell::new(HashMap::new()),
        progress: RefCell::new(PartsProgress::new(
            plan.iter().map(|p| p.end - p.start).collect(),
            PROGRESS_INTERVAL_MS,
        )),
        on_progress: options.on_progress.clone(),
        control: Rc::clone(&control),
        sha: Sha256Chooser::default(),
    });
    for n in held.keys() {
        let report = run.progress.borrow_mut().done(*n, now_ms());
        run.report(report);
    }
    let mut done = held;
    let mut journal_written = now_ms();
    loop {
        if let Err(e) = control.wait_while_paused().await {
            return Err(abort_everything(
                &endpoint,
                &upload_id,
                journal.as_ref(),
                key.as_deref(),
                e,
            )
            .await);
        }
        let missing: Vec<PartRange> = plan
            .iter()
            .copied()
            .filter(|p| !done.contains_key(&p.part_number))
            .collect();
        if missing.is_empty() {
            break;
        }
        let signal = control.new_round()?;
        let numbers: Vec<u64> = missing
            .iter()
            .map(|p| p.part_number)
            .filter(|n| !run.urls.borrow().contains_key(n))
            .collect();
        let round = async {
            for p in control::presign(&endpoint, &upload_id, &numbers).await? {
                run.urls.borrow_mut().insert(p.part_number, p.request);
            }
            // Hash a little ahead of the sends; at most `concurrency` sends are in flight.
            let hashed = stream::iter(missing).map(|range| {
                let run = Rc::clone(&run);
                async move {
                    let body = slice(&run.file, range.start, range.end)?;
                    let sum = run.checksum(&body, range.end - range.start).await?;
                    Ok::<_, Error>((range, sum))
                }
            });
            let mut sends = hashed
                .buffered(2)
                .map(|hashed| {
                    let run = Rc::clone(&run);
                    let signal = signal.clone();
                    async move {
                        let (range, sum) = hashed?;
                        run.send(range, sum, signal).await
                    }
                })
                .buffer_unordered(options.concurrency.max(1));
            while let Some(result) = sends.next().await {
                let (n, etag, crc) = result?;
                done.insert(n, (etag, crc));
                if now_ms() - journal_written >= JOURNAL_INTERVAL_MS {
                    journal_written = now_ms();
                    if let (Some(j), Some(k)) = (&journal, &key) {
                        let _ = j.put(k, &write_journal(&done)).await;
                    }
                }
            }
            Ok::<_, Error>(())
        };
        match round.await {
            Ok(()) => {}
            // The round's own signal was aborted by a pause (the state may already be Running
            // again if `resume()` came before the round noticed): go round again.
            Err(Error::Aborted(_)) if control.state() != crate::task::RunState::Aborted => {
                if let (Some(j), Some(k)) = (&journal, &key) {
                    let _ = j.put(k, &write_journal(&done)).await;
                }
            }
            Err(e) if control.state() == crate::task::RunState::Aborted => {
                return Err(abort_everything(
                    &endpoint,
                    &upload_id,
                    journal.as_ref(),
                    key.as_deref(),
                    e,
                )
                .await);
            }
            Err(e) => {
                if let (Some(j), Some(k)) = (&journal, &key) {
                    let _ = j.put(k, &write_journal(&done)).await;
                }
                return Err(e);
            }
        }
    }

    let parts: Vec<CompletedPart> = done
        .iter()
        .map(|(n, (etag, _))| CompletedPart {
            part_number: *n,
            etag: etag.clone(),
        })
        .collect();
    let answer = control::complete(&endpoint, &upload_id, parts).await?;
    verify(&answer, size, options.checksum, &plan, &done)?;
    if let (Some(j), Some(k)) = (&journal, &key) {
        let _ = j.delete(k).await;
    }
    let report = run.progress.borrow_mut().finish();
    run.report(report);
    Ok(answer.into())
}

/// The completed file must have the File's size, and for CRC32C the checksum its parts add up to.
fn verify(
    answer: &CompleteResponse,
    size: u64,
    algorithm: ChecksumAlgorithm,
    plan: &[PartRange],
    done: &BTreeMap<u64, (String, Option<u32>)>,
) -> Result<(), Error> {
    let mismatch = |what: String| Error::Storage {
        code: RESULT_MISMATCH,
        status: 200,
        message: what,
        items: None,
    };
    if answer.size != size {
        return Err(mismatch(format!(
            "The server stored {} bytes, the file has {size}",
            answer.size
        )));
    }
    if algorithm == ChecksumAlgorithm::Crc32c {
        let crcs: Option<Vec<(u32, u64)>> = plan
            .iter()
            .map(|p| {
                done.get(&p.part_number)
                    .and_then(|(_, crc)| *crc)
                    .map(|c| (c, p.end - p.start))
            })
            .collect();
        if let (Some(crcs), Some(server)) = (crcs, answer.checksum.as_deref().and_then(decode_crc))
        {
            let local = combine_crc32c(&crcs);
            if local != server {
                return Err(mismatch(format!(
                    "The stored file's CRC32C {server:08x} is not the file's {local:08x}"
                )));
            }
        }
    }
    Ok(())
}

fn decode_crc(text: &str) -> Option<u32> {
    let bytes = BASE64.decode(text).ok()?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

/// Aborts the upload on the server and forgets it; answers the error to reject with.
async fn abort_everything(
    endpoint: &Endpoint,
    upload_id: &str,
    journal: Option<&Journal>,
    key: Option<&str>,
    error: Error,
) -> Error {
    let _ = control::abort(endpoint, upload_id).await;
    if let (Some(j), Some(k)) = (journal, key) {
        let _ = j.delete(k).await;
    }
    match error {
        Error::Aborted(_) => error,
        _ => crate::abort::aborted(),
    }
}
