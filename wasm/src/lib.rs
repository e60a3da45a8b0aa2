//! `stowage`: the browser client of Stowage Files, built with `wasm-bindgen --target web`.
//!
//! ```javascript
//! import init, { configure, upload, download, list } from './pkg/stowage.js';
//! await init();
//! configure({ baseUrl: 'http://127.0.0.1:8080', appId: 'demo', apiKey: 'demo-key' });
//! const url = await upload(input.files[0], '/docs', true);   // like Backendless.Files.upload
//! const blob = await download('/docs/' + input.files[0].name);
//! ```
//!
//! Layout: `js.rs` holds every `#[wasm_bindgen]` item (the JS surface and its TypeScript
//! shapes) and only converts values. The work is plain Rust: [`endpoint`] builds URLs from
//! paths checked by `stowage_protocol::FilePath` and picks each request's credentials,
//! [`session`] holds the signed-in user's token, [`access`] builds the user, visibility and
//! permission bodies, [`crc`] computes CRC32C for [`hash`]'s part checksums, [`error`] is the
//! one error type, [`progress`] keeps progress reports monotonic, [`records`] builds the Files API's bodies and pages through its listings; these
//! build and test on the host. `client.rs` (the operations), `users.rs` (register, login,
//! logout), `storage.rs` (the `localStorage` of `persistSession`), `files_api.rs` (the record
//! calls), `upload.rs`, `download.rs`, `fetch.rs`, `xhr.rs`, `abort.rs` and `options.rs` need a
//! browser and build for `wasm32` only.

pub mod access;
pub mod crc;
pub mod endpoint;
pub mod error;
pub mod hash;
pub mod parts_progress;
pub mod progress;
pub mod records;
pub mod retry;
pub mod session;

#[cfg(target_arch = "wasm32")]
mod abort;
#[cfg(target_arch = "wasm32")]
mod client;
#[cfg(target_arch = "wasm32")]
mod control;
#[cfg(target_arch = "wasm32")]
mod download;
#[cfg(target_arch = "wasm32")]
mod fetch;
#[cfg(target_arch = "wasm32")]
mod files_api;
#[cfg(target_arch = "wasm32")]
mod journal;
#[cfg(target_arch = "wasm32")]
mod js;
#[cfg(target_arch = "wasm32")]
mod js_access;
#[cfg(target_arch = "wasm32")]
mod js_multipart;
#[cfg(target_arch = "wasm32")]
mod js_parts;
#[cfg(target_arch = "wasm32")]
mod js_records;
#[cfg(target_arch = "wasm32")]
mod multipart;
#[cfg(target_arch = "wasm32")]
mod options;
#[cfg(target_arch = "wasm32")]
pub mod part;
#[cfg(target_arch = "wasm32")]
mod storage;
#[cfg(target_arch = "wasm32")]
mod task;
#[cfg(target_arch = "wasm32")]
mod upload;
#[cfg(target_arch = "wasm32")]
mod users;
#[cfg(target_arch = "wasm32")]
mod xhr;

pub use error::Error;
#[cfg(target_arch = "wasm32")]
pub use js::*;
#[cfg(target_arch = "wasm32")]
pub use js_access::*;
#[cfg(target_arch = "wasm32")]
pub use js_multipart::*;
#[cfg(target_arch = "wasm32")]
pub use js_parts::*;
#[cfg(target_arch = "wasm32")]
pub use js_records::*;
