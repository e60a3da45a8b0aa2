//! `stowage-devserver`: the Stowage storage server. Files are records in a catalog (SQLite or
//! PostgreSQL) with their bytes in a blob store (the local disk), served in three API shapes:
//! Backendless (`/{appId}/{apiKey}/files`), bkend (`/v1`) and Cognite
//! (`/api/v1/projects/{project}/files`). `main.rs` only parses flags and serves [`app`].
//!
//! Layers, each calling only the ones below it: `routes` (one module per API shape) → `files`
//! (the service, the only way to touch files) → `catalog` (SQL) and `blobs` (bytes). `model`
//! (domain types) and `error` are shared by all; `state` puts the layers together.

pub mod blobs;
pub mod catalog;
pub mod config;
pub mod error;
pub mod faults;
pub mod files;
pub mod listen;
pub mod model;
pub mod presign;
mod routes;
pub mod state;
pub mod testing;

/// The parsers of hostile input as the routes run them, for the fuzz targets in `fuzz/`.
#[doc(hidden)]
pub use routes::fuzzing;

pub use config::Config;
pub use state::AppState;

/// The whole HTTP application: routes, CORS, tracing, the page from `www` at `/`.
pub fn app(state: AppState, www: &std::path::Path) -> axum::Router {
    routes::app(state, www)
}
