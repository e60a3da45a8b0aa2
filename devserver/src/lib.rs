//! `stowage-devserver`: the Stowage storage server. Files on disk, metadata in SQLite,
//! Backendless-style REST under `/{appId}/{apiKey}/files`. `main.rs` only parses flags and
//! serves [`app`]; tests call [`app`] directly.

pub mod config;
pub mod error;
pub mod faults;
pub mod presign;
mod routes;
pub mod state;
pub mod store;

pub use config::Config;
pub use state::AppState;

/// The whole HTTP application: routes, CORS, tracing, the page from `www` at `/`.
pub fn app(state: AppState, www: &std::path::Path) -> axum::Router {
    routes::app(state, www)
}
