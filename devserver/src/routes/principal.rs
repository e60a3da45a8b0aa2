//! Who a request acts as: one [`Principal`] per request, resolved from the app's keys and the
//! token the request carries — `user-token` on the Backendless routes, `Authorization: Bearer`
//! everywhere (the `/v1` and Cognite routes take only that). The admin key and the API key are
//! compared in constant time; any other token must be a live login token, and a dead one is
//! `TokenExpired`, never the anonymous user.

use axum::http::{header, HeaderMap};

use crate::error::AppResult;
use crate::model::Principal;
use crate::state::AppState;

/// The `Authorization: Bearer` token, if any (trimmed; possibly empty).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// The token a request carries, if any.
fn token(headers: &HeaderMap, user_token: bool) -> Option<&str> {
    let bearer = bearer(headers);
    let user = user_token
        .then(|| headers.get("user-token").and_then(|v| v.to_str().ok()))
        .flatten()
        .map(str::trim);
    user.or(bearer).filter(|t| !t.is_empty())
}

/// The principal of a request in `app` (whose key the caller already checked).
/// `user_token`: whether the `user-token` header counts (the Backendless routes).
pub(crate) async fn resolve(
    state: &AppState,
    app: &str,
    headers: &HeaderMap,
    user_token: bool,
) -> AppResult<Principal> {
    let Some(token) = token(headers, user_token) else {
        return Ok(Principal::anonymous(app));
    };
    if state.is_admin_key(app, token) {
        return Ok(Principal::admin(app));
    }
    if state.is_api_key(app, token) {
        // Cognite clients send the API key as their bearer token.
        return Ok(Principal::anonymous(app));
    }
    state.files().principal_for_token(app, token).await
}

/// The raw token of a request (for logout), if any.
pub(crate) fn raw_token(headers: &HeaderMap) -> Option<&str> {
    token(headers, true)
}
