//! The Cognite-compatible Files API under `/api/v1/projects/{project}/files`.

use axum::Router;

use crate::state::AppState;

/// The routes of this shape.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
}
