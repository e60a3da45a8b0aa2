//! Every `#[wasm_bindgen]` item of the crate: the TypeScript shapes, the `StorageClient`
//! class, `configure` and the module-level functions that use the configured client. Each
//! item only converts arguments and results; the work is in `client.rs`.
//!
//! The module-level functions here and in the other `js_*.rs` files are plain Rust (for Rust
//! callers and the browser tests), not exports: JS gets each one from `wasm/js/default-client.js`,
//! which calls the `StorageClient` method of the same name on the configured client
//! ([`default_client`]), so the module carries one set of async exports, not two.

use std::cell::RefCell;

use serde::Serialize;
use wasm_bindgen::prelude::*;
use web_sys::Blob;

use crate::client::Client;
use crate::error::Error;
use crate::options;
use crate::upload::Upload;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Where a client connects: `{baseUrl}/{appId}/{apiKey}/...`. */
export interface ClientOptions {
  /** The server, e.g. `"http://127.0.0.1:8080"` (http or https; a trailing slash is ignored). */
  baseUrl: string;
  /** The application id. */
  appId: string;
  /** The application's API key. */
  apiKey: string;
  /**
   * A token to act as (from an earlier `login`, or the app's admin key): sent as `user-token` to
   * the Backendless paths and as `Authorization: Bearer` to `/v1` and the Files API, never to
   * foreign URLs or presigned ones. `login` replaces it, `logout` ends it.
   */
  userToken?: string | null;
  /**
   * Keep the session of `login` in `localStorage` (under `stowage:{baseUrl}:{appId}:session`),
   * so that a client made after a reload is still signed in. Default false: in memory only.
   */
  persistSession?: boolean;
}

/** Options of `upload`. */
export interface UploadOptions {
  /** Called as bytes are sent; `loaded` only grows, the last call is `(total, total)`. */
  onProgress?: (loaded: number, total: number) => void;
  /** Aborts the upload; the call then rejects with an `AbortError` and nothing is stored. */
  signal?: AbortSignal;
  /** The stored file name; overrides `File.name` and is required for a plain `Blob`. */
  name?: string;
}

/** Options of `download`. */
export interface DownloadOptions {
  /** Called as bytes arrive; `total` is 0 while unknown, the last call is `(size, size)`. */
  onProgress?: (loaded: number, total: number) => void;
  /** Aborts the download; the call then rejects with an `AbortError`. */
  signal?: AbortSignal;
}

/** Options of `list`. */
export interface ListOptions {
  /** Glob on names: `*`, `?`, `[abc]`. */
  pattern?: string;
  /** Also list everything below subdirectories. */
  sub?: boolean;
  /** Entries per page, 1–1000 (server default 100). */
  pageSize?: number;
  /** Entries to skip (default 0). */
  offset?: number;
}

/** Options of `imageUrl`: a resized, cropped or converted variant of a stored image. */
export interface ImageOptions {
  /** Width in pixels, 0 or absent for automatic (at most 2500; never upscaled). */
  width?: number;
  /** Height in pixels, 0 or absent for automatic. */
  height?: number;
  /** `cover` (default: fill the box, crop the rest), `smart` (cover, cropped where the detail is), `contain` (fit inside) or `fill` (stretch). */
  fit?: 'cover' | 'smart' | 'contain' | 'fill';
  /** 20–100 (default 80). */
  quality?: number;
  /** Absent: WebP where the browser takes it, else the image's own format. */
  format?: 'webp' | 'jpeg' | 'png' | 'avif' | 'origin';
}

/** One entry of a directory listing. */
export interface FileEntry {
  /** The last segment of the path. */
  name: string;
  /** Creation time, milliseconds since the Unix epoch. */
  createdOn: number;
  /** Last change of content or place, milliseconds since the Unix epoch. */
  updatedOn: number;
  /** Full public URL. */
  publicUrl: string;
  /** The path from the storage root, without a leading slash. */
  url: string;
  /** Size in bytes (0 for directories). */
  size: number;
  /** True for a directory. */
  isDirectory: boolean;
  /** The user who wrote it; `null` for files the admin or an anonymous caller wrote. */
  ownerId: string | null;
  /** Who may read it besides its owner; `null` when its folders and the app decide. */
  visibility: Visibility | null;
  /** The users a `"shared"` file is shared with. */
  sharedWith: string[];
}

/** Answer of `info()`. */
export interface AppInfo {
  appId: string;
  name: string;
  serverVersion: string;
  /** Largest accepted upload, in bytes. */
  maxUploadBytes: number;
}

/**
 * The `name` of every error a call rejects with (all are `Error` instances):
 * - `StorageError`: the server refused (`code` and `status` from its answer, see docs/errors.md),
 *   or a path failed the same check before sending (same `code`, `status` and message). Access
 *   control refuses with 4000 (403, no permission), 6023 (403, one entry of a folder blocks the
 *   operation; the message names it), 6021 (401, sign in first), 3064 (401, the token expired
 *   or was logged out: the client has dropped it, `currentUser()` is `null`; sign in again),
 *   3003 (401, wrong login or password), 3033 (409, email taken), 6022 (429, too many failed
 *   logins);
 * - `NetworkError`: no answer (server down, CORS refused); `code` and `status` are 0;
 * - `AbortError`: the caller's `AbortSignal` fired; 0 and 0;
 * - `ConfigurationError`: bad `ClientOptions`, or a module-level function before `configure()`;
 * - `TypeError`: a bad argument, e.g. a `Blob` without a name and no `name` option;
 * - `ProtocolError`: the server answered outside the protocol; `status` is its HTTP status;
 * - `ClientError`: a browser API failed unexpectedly.
 */
export type StorageErrorName =
  | "StorageError" | "NetworkError" | "AbortError" | "ConfigurationError"
  | "TypeError" | "ProtocolError" | "ClientError";

/** What every call rejects with. */
export interface StorageError extends Error {
  name: StorageErrorName;
  /** The server's error code (`6003`, ...; the HTTP status again for the Files API's record
   * calls), 0 when there was no server answer. */
  code: number;
  /** The HTTP status, 0 when there was no server answer. */
  status: number;
  /** Files API errors only, when the server names them: the files that do not exist. */
  missing?: FileIdentity[];
  /** Files API errors only, when the server names them: the files that exist already. */
  duplicated?: FileIdentity[];
}
"#;

#[wasm_bindgen]
extern "C" {
    /// JS `ClientOptions`.
    #[wasm_bindgen(typescript_type = "ClientOptions")]
    #[derive(Debug, Clone)]
    pub type JsClientOptions;
    /// JS `UploadOptions`.
    #[wasm_bindgen(typescript_type = "UploadOptions")]
    #[derive(Debug, Clone)]
    pub type JsUploadOptions;
    /// JS `DownloadOptions`.
    #[wasm_bindgen(typescript_type = "DownloadOptions")]
    #[derive(Debug, Clone)]
    pub type JsDownloadOptions;
    /// JS `ListOptions`.
    #[wasm_bindgen(typescript_type = "ListOptions")]
    #[derive(Debug, Clone)]
    pub type JsListOptions;
    /// JS `ImageOptions`.
    #[wasm_bindgen(typescript_type = "ImageOptions")]
    #[derive(Debug, Clone)]
    pub type JsImageOptions;
    /// JS `AppInfo`.
    #[wasm_bindgen(typescript_type = "AppInfo")]
    #[derive(Debug, Clone)]
    pub type JsAppInfo;
    /// JS `FileEntry[]`.
    #[wasm_bindgen(typescript_type = "FileEntry[]")]
    #[derive(Debug, Clone)]
    pub type JsFileEntries;
}

/// A Stowage Files client for one app.
///
/// ```javascript
/// import init, { StorageClient } from './pkg/stowage.js';
/// await init();
/// const files = new StorageClient({ baseUrl: 'http://127.0.0.1:8080', appId: 'demo', apiKey: 'demo-key' });
/// const url = await files.upload(input.files[0], '/photos', true, {
///   onProgress: (loaded, total) => bar.value = loaded / total,
/// });
/// ```
#[wasm_bindgen]
#[derive(Debug, Clone)]
pub struct StorageClient {
    pub(crate) client: Client,
}

#[wasm_bindgen]
impl StorageClient {
    /// Makes a client; throws a `ConfigurationError` when the options cannot be used.
    ///
    /// ```javascript
    /// const files = new StorageClient({ baseUrl: 'https://files.example.com', appId: 'app', apiKey: 'key', userToken });
    /// ```
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsClientOptions) -> Result<StorageClient, JsValue> {
        let options = options::client_options(options.into())?;
        Ok(Self {
            client: Client::new(&options)?,
        })
    }

    /// The app's details: `GET {baseUrl}/{appId}/{apiKey}/info`.
    ///
    /// ```javascript
    /// const { maxUploadBytes } = await files.info();
    /// ```
    pub async fn info(&self) -> Result<JsAppInfo, JsValue> {
        Ok(ops::info(&self.client).await?)
    }

    /// The URL a stored file is served at; throws a `StorageError` (6006, ...) for a bad path.
    ///
    /// ```javascript
    /// img.src = files.fileUrl('/photos/cat.png');
    /// ```
    #[wasm_bindgen(js_name = fileUrl)]
    pub fn file_url(&self, path: &str) -> Result<String, JsValue> {
        Ok(self.client.file_url(path)?)
    }

    /// The URL of a resized, cropped or converted variant of a stored image, for an `<img>`.
    /// Unsigned: the server serves it for its allowlisted sizes (by default widths 64, 128,
    /// 256, 400, 800, 1200 and 1600 with automatic height, and the same as squares); throws a
    /// `TypeError` for options no URL may hold.
    ///
    /// ```javascript
    /// img.src = files.imageUrl('/photos/cat.jpg', { width: 400 });
    /// thumb.src = files.imageUrl('/photos/cat.jpg', { width: 128, height: 128, fit: 'smart' });
    /// ```
    #[wasm_bindgen(js_name = imageUrl)]
    pub fn image_url(
        &self,
        path: &str,
        options: Option<JsImageOptions>,
    ) -> Result<String, JsValue> {
        let options: Option<JsValue> = options.map(Into::into);
        // serde-wasm-bindgen reads only the fields it knows: a misspelt one must not be ignored.
        if let Some(object) = options
            .as_ref()
            .and_then(|o| wasm_bindgen::JsCast::dyn_ref::<js_sys::Object>(o))
        {
            for key in js_sys::Object::keys(object)
                .iter()
                .filter_map(|k| k.as_string())
            {
                if !["width", "height", "fit", "quality", "format"].contains(&key.as_str()) {
                    return Err(crate::error::Error::InvalidArgument(format!(
                        "unknown image option {key:?}: width, height, fit, quality and format are"
                    ))
                    .into());
                }
            }
        }
        let options =
            crate::options::decode_object(options.as_ref(), "image options")?.unwrap_or_default();
        Ok(self.client.image_url(path, &options)?)
    }

    /// Uploads a `File` or `Blob` into directory `path`; resolves with the file's public URL.
    /// Without `overwrite`, an existing file makes it reject with `StorageError` 6003 (409).
    ///
    /// ```javascript
    /// const controller = new AbortController();
    /// const url = await files.upload(blob, '/reports', false, {
    ///   name: 'q3.pdf', signal: controller.signal, onProgress: (loaded, total) => console.log(loaded, total),
    /// });
    /// ```
    pub async fn upload(
        &self,
        file: Blob,
        path: String,
        overwrite: Option<bool>,
        options: Option<JsUploadOptions>,
    ) -> Result<String, JsValue> {
        Ok(ops::upload(&self.client, file, path, overwrite, options).await?)
    }

    /// Downloads a stored file (a storage path, or a full http(s) URL used as is) as a `Blob`.
    ///
    /// ```javascript
    /// const blob = await files.download('/reports/q3.pdf', { onProgress: (l, t) => console.log(l, t) });
    /// ```
    pub async fn download(
        &self,
        #[wasm_bindgen(js_name = pathOrUrl)] path_or_url: String,
        options: Option<JsDownloadOptions>,
    ) -> Result<Blob, JsValue> {
        Ok(ops::download(&self.client, &path_or_url, options).await?)
    }

    /// Downloads a file and starts the browser's save of it, as `fileName` (default: its name).
    ///
    /// ```javascript
    /// await files.saveAs('/reports/q3.pdf', 'report.pdf');
    /// ```
    #[wasm_bindgen(js_name = saveAs)]
    pub async fn save_as(
        &self,
        #[wasm_bindgen(js_name = pathOrUrl)] path_or_url: String,
        #[wasm_bindgen(js_name = fileName)] file_name: Option<String>,
    ) -> Result<(), JsValue> {
        Ok(self.client.save_as(&path_or_url, file_name).await?)
    }

    /// Moves a file or directory into directory `targetPath`; resolves with its new path.
    ///
    /// ```javascript
    /// await files.move('/docs/readme.txt', '/archive'); // '/archive/readme.txt'
    /// ```
    #[wasm_bindgen(js_name = "move")]
    pub async fn move_to(
        &self,
        #[wasm_bindgen(js_name = sourcePath)] source_path: String,
        #[wasm_bindgen(js_name = targetPath)] target_path: String,
    ) -> Result<String, JsValue> {
        Ok(self.client.move_to(&source_path, &target_path).await?)
    }

    /// Copies a file or directory into directory `targetPath`; resolves with the copy's path.
    ///
    /// ```javascript
    /// await files.copy('/docs', '/backup'); // '/backup/docs'
    /// ```
    pub async fn copy(
        &self,
        #[wasm_bindgen(js_name = sourcePath)] source_path: String,
        #[wasm_bindgen(js_name = targetPath)] target_path: String,
    ) -> Result<String, JsValue> {
        Ok(self.client.copy_to(&source_path, &target_path).await?)
    }

    /// Renames a file or directory in place; resolves with its new path.
    ///
    /// ```javascript
    /// await files.rename('/docs/a.txt', 'b.txt'); // '/docs/b.txt'
    /// ```
    pub async fn rename(
        &self,
        #[wasm_bindgen(js_name = oldPathName)] old_path_name: String,
        #[wasm_bindgen(js_name = newName)] new_name: String,
    ) -> Result<String, JsValue> {
        Ok(self.client.rename(&old_path_name, &new_name).await?)
    }

    /// Removes a file, or a directory with everything in it.
    ///
    /// ```javascript
    /// await files.remove('/tmp');
    /// ```
    pub async fn remove(&self, path: String) -> Result<(), JsValue> {
        Ok(self.client.remove(&path).await?)
    }

    /// Whether a file or directory exists.
    ///
    /// ```javascript
    /// if (!(await files.exists('/avatars/me.png'))) { ... }
    /// ```
    pub async fn exists(&self, path: String) -> Result<bool, JsValue> {
        Ok(self.client.exists(&path).await?)
    }

    /// One page of a directory's entries, sorted by path.
    ///
    /// ```javascript
    /// const pdfs = await files.list('/reports', { pattern: '*.pdf', sub: true, pageSize: 50 });
    /// ```
    pub async fn list(
        &self,
        dir: String,
        options: Option<JsListOptions>,
    ) -> Result<JsFileEntries, JsValue> {
        Ok(ops::list(&self.client, &dir, options).await?)
    }

    /// Creates a directory and any missing parents; resolves with its absolute path.
    ///
    /// ```javascript
    /// await files.createDirectory('/photos/2024'); // '/photos/2024'
    /// ```
    #[wasm_bindgen(js_name = createDirectory)]
    pub async fn create_directory(&self, path: String) -> Result<String, JsValue> {
        Ok(self.client.create_directory(&path).await?)
    }
}

thread_local! {
    /// The client of the module-level functions, set by `configure`.
    static DEFAULT: RefCell<Option<Client>> = const { RefCell::new(None) };
}

/// The configured client, or a `ConfigurationError`.
pub(crate) fn configured() -> Result<Client, Error> {
    DEFAULT
        .with(|d| d.borrow().clone())
        .ok_or(Error::NotConfigured)
}

/// Sets the client the module-level functions use (call again to change it). Throws a
/// `ConfigurationError` for unusable options. Before it is called, every module-level function
/// rejects with a `ConfigurationError`.
///
/// ```javascript
/// import init, { configure, upload } from './pkg/stowage.js';
/// await init();
/// configure({ baseUrl: 'http://127.0.0.1:8080', appId: 'demo', apiKey: 'demo-key' });
/// const url = await upload(file, '/docs', true);
/// ```
#[wasm_bindgen]
pub fn configure(options: JsClientOptions) -> Result<(), JsValue> {
    let options = options::client_options(options.into())?;
    let client = Client::new(&options)?;
    DEFAULT.with(|d| *d.borrow_mut() = Some(client));
    Ok(())
}

/// The client set by `configure`, as a `StorageClient`; throws a `ConfigurationError` before
/// that. Not public: the module-level functions (`upload`, `list`, ...) are a few lines of JS,
/// `wasm/js/default-client.js`, that call the `StorageClient` method of the same name on it;
/// scripts/build-wasm.sh appends that file to `stowage.js` and takes this function out of the
/// module's exports. One set of exports instead of two keeps the wasm module small.
///
/// ```javascript
/// export function exists(path) { return call(() => defaultClient().exists(path)); }
/// ```
#[wasm_bindgen(js_name = __stowageDefaultClient, skip_typescript)]
pub fn default_client() -> Result<StorageClient, JsValue> {
    Ok(StorageClient {
        client: configured()?,
    })
}

/// `StorageClient.info` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// const { serverVersion } = await info();
/// ```
pub async fn info() -> Result<JsAppInfo, JsValue> {
    Ok(ops::info(&configured()?).await?)
}

/// `StorageClient.fileUrl` with the client set by `configure` (throws a `ConfigurationError`
/// before that).
///
/// ```javascript
/// link.href = fileUrl('/docs/readme.txt');
/// ```
pub fn file_url(path: &str) -> Result<String, JsValue> {
    Ok(configured()?.file_url(path)?)
}

/// `StorageClient.imageUrl` with the client set by `configure` (throws a `ConfigurationError`
/// before that).
///
/// ```javascript
/// img.src = imageUrl('/photos/cat.jpg', { width: 400 });
/// ```
pub fn image_url(path: &str, options: Option<JsImageOptions>) -> Result<String, JsValue> {
    default_client()?.image_url(path, options)
}

/// `StorageClient.upload` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// const url = await upload(input.files[0], '/docs', true, { onProgress: (l, t) => console.log(l / t) });
/// ```
pub async fn upload(
    file: Blob,
    path: String,
    overwrite: Option<bool>,
    options: Option<JsUploadOptions>,
) -> Result<String, JsValue> {
    Ok(ops::upload(&configured()?, file, path, overwrite, options).await?)
}

/// `StorageClient.download` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// const blob = await download('/docs/readme.txt');
/// ```
pub async fn download(
    path_or_url: String,
    options: Option<JsDownloadOptions>,
) -> Result<Blob, JsValue> {
    Ok(ops::download(&configured()?, &path_or_url, options).await?)
}

/// `StorageClient.saveAs` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// await saveAs('/docs/readme.txt', 'README.txt');
/// ```
pub async fn save_as(path_or_url: String, file_name: Option<String>) -> Result<(), JsValue> {
    Ok(configured()?.save_as(&path_or_url, file_name).await?)
}

/// `StorageClient.move` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// const moved = await move('/docs/readme.txt', '/archive');
/// ```
pub async fn move_to(source_path: String, target_path: String) -> Result<String, JsValue> {
    Ok(configured()?.move_to(&source_path, &target_path).await?)
}

/// `StorageClient.copy` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// const copied = await copy('/docs/readme.txt', '/backup');
/// ```
pub async fn copy(source_path: String, target_path: String) -> Result<String, JsValue> {
    Ok(configured()?.copy_to(&source_path, &target_path).await?)
}

/// `StorageClient.rename` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// const renamed = await rename('/docs/a.txt', 'b.txt');
/// ```
pub async fn rename(old_path_name: String, new_name: String) -> Result<String, JsValue> {
    Ok(configured()?.rename(&old_path_name, &new_name).await?)
}

/// `StorageClient.remove` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// await remove('/docs/old.txt');
/// ```
pub async fn remove(path: String) -> Result<(), JsValue> {
    Ok(configured()?.remove(&path).await?)
}

/// `StorageClient.exists` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// const there = await exists('/docs/readme.txt');
/// ```
pub async fn exists(path: String) -> Result<bool, JsValue> {
    Ok(configured()?.exists(&path).await?)
}

/// `StorageClient.list` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// const entries = await list('/docs', { pattern: '*.txt' });
/// ```
pub async fn list(dir: String, options: Option<JsListOptions>) -> Result<JsFileEntries, JsValue> {
    Ok(ops::list(&configured()?, &dir, options).await?)
}

/// `StorageClient.createDirectory` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// await createDirectory('/photos/2024');
/// ```
pub async fn create_directory(path: String) -> Result<String, JsValue> {
    Ok(configured()?.create_directory(&path).await?)
}

/// The conversions shared by the class methods and the module-level functions.
pub(crate) mod ops {
    use super::*;
    use wasm_bindgen::JsCast;

    pub(super) async fn info(client: &Client) -> Result<JsAppInfo, Error> {
        Ok(to_js(&client.info().await?)?.unchecked_into())
    }

    pub(super) async fn upload(
        client: &Client,
        file: Blob,
        dir: String,
        overwrite: Option<bool>,
        options: Option<JsUploadOptions>,
    ) -> Result<String, Error> {
        let options = options::transfer_options(options.map(Into::into), true)?;
        let request = Upload {
            file,
            dir,
            overwrite: overwrite.unwrap_or(false),
            name: options.name,
            on_progress: options.on_progress,
            signal: options.signal,
        };
        client.upload(request).await
    }

    pub(super) async fn download(
        client: &Client,
        path_or_url: &str,
        options: Option<JsDownloadOptions>,
    ) -> Result<Blob, Error> {
        let options = options::transfer_options(options.map(Into::into), false)?;
        client
            .download(path_or_url, options.on_progress, options.signal)
            .await
    }

    pub(super) async fn list(
        client: &Client,
        dir: &str,
        options: Option<JsListOptions>,
    ) -> Result<JsFileEntries, Error> {
        let options = options::list_options(options.as_ref().map(AsRef::as_ref))?;
        Ok(to_js(&client.list(dir, &options).await?)?.unchecked_into())
    }

    /// Plain JS objects and arrays, as `JSON.parse` would give.
    pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, Error> {
        value
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .map_err(|e| Error::Browser(format!("cannot convert the answer: {e}")))
    }
}
