//! `stowage-devserver`: the Stowage storage server. Files are records in a catalog (SQLite or
//! PostgreSQL) with their bytes in a blob store (the local disk), served in three API shapes:
//! Backendless (`/{appId}/{apiKey}/files`), bkend (`/v1`) and Cognite
//! (`/api/v1/projects/{project}/files`). `main.rs` only parses flags and serves [`app`].
//!
//! Layers, each calling only the ones below it: `routes` (one module per API shape) → `files`
//! (the service, the only way to touch files) → `catalog` (SQL) and `blobs` (bytes). `model`
//! (domain types) and `error` are shared by all; `state` puts the layers together.

pub mod backup;
pub mod blobs;
pub mod catalog;
pub mod config;
pub mod error;
pub mod faults;
pub mod files;
pub mod images;
pub mod listen;
pub mod model;
pub mod presign;
mod routes;
pub mod state;
pub mod testing;

/// The parsers of hostile input as the routes run them, for the fuzz targets in `fuzz/`.
#[doc(hidden)]
pub use routes::fuzzing;
pub use routes::spawn_metrics_upkeep;
pub use routes::table::Route;
pub use routes::{openapi_json, route_table};

/// jemalloc, not glibc's malloc: with a thread pool, glibc keeps an arena per thread and hands
/// little of what a burst of slow uploads freed back to the system (RSS grew 23–32 % over a
/// load run with 500 slow clients and stayed there). jemalloc returns freed pages after a decay
/// time from a background thread, and reports its live heap to `/metrics`.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

pub use config::Config;
pub use state::AppState;

/// The whole HTTP application: routes, CORS, tracing, the page from `www` at `/`.
pub fn app(state: AppState, www: &std::path::Path) -> axum::Router {
    routes::app(state, www)
}
