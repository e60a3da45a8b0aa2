//! The resume journal: one IndexedDB record per unfinished multipart upload, keyed by a
//! fingerprint of the file and its target, holding the upload id and the parts already sent.
//! IndexedDB because it survives reloads, is there in windows and workers alike, and is
//! asynchronous (localStorage is neither, and its 5 MB would cap the parts list).

use std::rc::Rc;

use futures_channel::oneshot;
use js_sys::{Array, Reflect};
use serde::{Deserialize, Serialize};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    Blob, File, IdbDatabase, IdbFactory, IdbOpenDbRequest, IdbRequest, IdbTransactionMode,
};

use crate::error::Error;
use crate::hash::sha256_hex;
use crate::part::{array_buffer, slice};
use crate::progress::to_u64;

const DB_NAME: &str = "stowage";
const STORE: &str = "uploads";
const EDGE: u64 = 1024 * 1024;

/// What is remembered about an unfinished upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Entry {
    /// The server's upload id.
    pub(crate) upload_id: String,
    /// Part size of the upload.
    pub(crate) part_size: u64,
    /// Its number of parts.
    pub(crate) part_count: u64,
    /// When the server forgets it, ms since the epoch (the entry expires with it).
    pub(crate) expires_at: i64,
    /// Parts sent so far: `(partNumber, etag)`.
    pub(crate) parts: Vec<(u64, String)>,
}

/// The fingerprint of `file` uploaded to `target`: name, size, lastModified, target path and
/// SHA-256 of the first and last MiB (read in two bounded slices).
pub(crate) async fn fingerprint(file: &Blob, name: &str, target: &str) -> Result<String, Error> {
    let size = to_u64(file.size()).unwrap_or(0);
    let modified = file.dyn_ref::<File>().map_or(0.0, File::last_modified);
    let head = edge_hash(file, 0, EDGE.min(size)).await?;
    let tail = edge_hash(file, size.saturating_sub(EDGE), size).await?;
    Ok(sha256_hex(
        format!("{name}\n{size}\n{modified}\n{target}\n{head}\n{tail}").as_bytes(),
    ))
}

async fn edge_hash(file: &Blob, start: u64, end: u64) -> Result<String, Error> {
    let bytes =
        js_sys::Uint8Array::new(&array_buffer(&slice(file, start, end)?).await?.into()).to_vec();
    Ok(sha256_hex(&bytes))
}

/// The journal database; `None` where IndexedDB is missing or refused (private modes), in
/// which case uploads still work, only without resume after reload.
#[derive(Debug, Clone)]
pub(crate) struct Journal {
    db: IdbDatabase,
}

/// Waits for an IndexedDB request to succeed and returns its result.
async fn done(request: &IdbRequest) -> Result<JsValue, Error> {
    let (tx, rx) = oneshot::channel::<Result<(), ()>>();
    let tx = Rc::new(std::cell::RefCell::new(Some(tx)));
    let ok = {
        let tx = Rc::clone(&tx);
        Closure::<dyn Fn()>::new(move || {
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(Ok(()));
            }
        })
    };
    let fail = Closure::<dyn Fn()>::new(move || {
        if let Some(tx) = tx.borrow_mut().take() {
            let _ = tx.send(Err(()));
        }
    });
    request.set_onsuccess(Some(ok.as_ref().unchecked_ref()));
    request.set_onerror(Some(fail.as_ref().unchecked_ref()));
    let outcome = rx.await;
    request.set_onsuccess(None);
    request.set_onerror(None);
    match outcome {
        Ok(Ok(())) => request.result().map_err(|e| Error::from_js(&e)),
        _ => Err(Error::Browser(format!(
            "IndexedDB request failed: {:?}",
            request.error().ok().flatten().map(|e| e.message())
        ))),
    }
}

impl Journal {
    /// Opens (creating on first use) the journal, or `None` where IndexedDB is unavailable.
    pub(crate) async fn open() -> Option<Self> {
        let factory: IdbFactory = Reflect::get(&js_sys::global(), &"indexedDB".into())
            .ok()?
            .dyn_into()
            .ok()?;
        let request: IdbOpenDbRequest = factory.open_with_u32(DB_NAME, 1).ok()?;
        let upgrade = Closure::<dyn Fn(web_sys::Event)>::new(move |event: web_sys::Event| {
            let db = event
                .target()
                .and_then(|t| t.dyn_into::<IdbOpenDbRequest>().ok())
                .and_then(|r| r.result().ok())
                .and_then(|r| r.dyn_into::<IdbDatabase>().ok());
            if let Some(db) = db {
                if !db.object_store_names().contains(STORE) {
                    let _ = db.create_object_store(STORE);
                }
            }
        });
        request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
        let db = done(&request).await.ok()?.dyn_into::<IdbDatabase>().ok();
        request.set_onupgradeneeded(None);
        db.map(|db| Self { db })
    }

    fn store(&self, mode: IdbTransactionMode) -> Result<web_sys::IdbObjectStore, Error> {
        let js = |e: JsValue| Error::from_js(&e);
        self.db
            .transaction_with_str_and_mode(STORE, mode)
            .map_err(js)?
            .object_store(STORE)
            .map_err(js)
    }

    /// The entry for `key`, unless it is missing, unreadable or expired at `now_ms`.
    pub(crate) async fn get(&self, key: &str, now_ms: f64) -> Option<Entry> {
        let request = self
            .store(IdbTransactionMode::Readonly)
            .ok()?
            .get(&key.into())
            .ok()?;
        let text = done(&request).await.ok()?.as_string()?;
        let entry: Entry = serde_json::from_str(&text).ok()?;
        #[allow(clippy::cast_precision_loss)]
        let alive = (entry.expires_at as f64) > now_ms;
        alive.then_some(entry)
    }

    /// Writes the entry for `key`.
    pub(crate) async fn put(&self, key: &str, entry: &Entry) -> Result<(), Error> {
        let text = serde_json::to_string(entry).map_err(|e| Error::Browser(e.to_string()))?;
        let request = self
            .store(IdbTransactionMode::Readwrite)?
            .put_with_key(&text.into(), &key.into())
            .map_err(|e| Error::from_js(&e))?;
        done(&request).await.map(|_| ())
    }

    /// Removes the entry for `key`.
    pub(crate) async fn delete(&self, key: &str) -> Result<(), Error> {
        let request = self
            .store(IdbTransactionMode::Readwrite)?
            .delete(&key.into())
            .map_err(|e| Error::from_js(&e))?;
        done(&request).await.map(|_| ())
    }

    /// Removes every entry whose upload the server has forgotten by `now_ms`.
    pub(crate) async fn prune(&self, now_ms: f64) -> Result<(), Error> {
        let store = self.store(IdbTransactionMode::Readonly)?;
        let keys: Array = done(&store.get_all_keys().map_err(|e| Error::from_js(&e))?)
            .await?
            .unchecked_into();
        for key in keys.iter() {
            if let Some(key) = key.as_string() {
                if self.get(&key, now_ms).await.is_none() {
                    self.delete(&key).await?;
                }
            }
        }
        Ok(())
    }
}
