//! The router: every route, the JSON error guarantee, CORS, tracing, static files, and the
//! custom-domain rewrite.

mod backendless;
mod bkend;
pub(crate) mod body;
mod cognite;
mod cursor;
mod drain;
pub mod fuzzing;
mod images;
mod observe;
mod openapi;
pub(crate) mod pace;
pub(crate) mod principal;
mod schemas;
mod serve;
mod signed;
pub(crate) mod table;

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderName, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::{Json, Router};
use stowage_protocol::{ApiError, AppInfo, ErrorBody, ErrorCode};
use tower::Layer as _;
use tower_http::compression::{Compression, CompressionLayer};
use tower_http::cors::{Any, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::{SetResponseHeader, SetResponseHeaderLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::error::{api_response, shorten, AppResult};
use crate::state::AppState;
use table::{route, Route, Routes};

pub use observe::spawn_upkeep as spawn_metrics_upkeep;
pub use openapi::document_json as openapi_json;

/// Builds the whole HTTP application over `state`, serving `www` at `/`.
pub(crate) fn app(state: AppState, www: &std::path::Path) -> Router {
    // Counted from the first request on: the recorder is the process's, installed once.
    observe::recorder();
    let cors_origins = state.cors_origins().to_vec();
    let (api, _) = api_routes().into_parts();
    let routes = api
        .fallback_service(static_files(www))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn(observe::count))
        .layer(middleware::from_fn(bkend::envelope))
        .layer(middleware::from_fn_with_state(state.clone(), upload_slots))
        .layer(middleware::from_fn(detached))
        .layer(middleware::from_fn_with_state(state.clone(), pace::paced))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            drain::drain_after_error,
        ))
        .layer(DefaultBodyLimit::disable())
        .with_state(state.clone());
    // The custom-domain rewrite must run before routing, so it wraps the finished router.
    let rewritten = middleware::from_fn_with_state(state, custom_domain).layer(routes);
    Router::new()
        .fallback_service(rewritten)
        .layer(cors(&cors_origins))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    tracing::info_span!("request", method = %req.method(), path = %redacted(req.uri()))
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
}

/// Every route of the API, with the table of what each serves (see [`table`]).
fn api_routes() -> Routes {
    let routes = route!(Routes::new(), "/{app}/{key}/info", get(info));
    let routes = route!(routes, "/healthz", get(observe::healthz));
    let routes = route!(routes, "/readyz", get(observe::readyz));
    let routes = route!(routes, "/metrics", get(observe::metrics));
    let routes = route!(routes, "/openapi.json", get(openapi::document));
    routes
        .merge(backendless::routes())
        .merge(bkend::routes())
        .merge(cognite::routes())
        .merge(signed::routes())
        .merge(images::routes())
}

/// Every (method, path) the router serves, for `tests/openapi.rs`. `HEAD` is listed only where
/// a route names it: axum answers `HEAD` on every `GET` route anyway.
#[must_use]
pub fn route_table() -> Vec<Route> {
    api_routes().into_parts().1
}

/// The page and its package from `www`: gzip or brotli when the browser takes it (the wasm module
/// is 3.5× smaller in gzip), and `Cache-Control: no-cache`, so a browser keeps its copy but asks
/// each time whether it changed (a 304 from `Last-Modified`): the package's file names carry no
/// hash, so a new build must never be hidden behind a cached one.
fn static_files(
    www: &std::path::Path,
) -> SetResponseHeader<Compression<ServeDir>, axum::http::HeaderValue> {
    tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-cache"),
        ))
        .layer(CompressionLayer::new())
        .service(ServeDir::new(www).append_index_html_on_directories(true))
}

/// The path of a request as logs show it: no query (signed URLs carry their signature there)
/// and the API key segment of `/{appId}/{apiKey}/…` replaced. Tokens travel in headers, which
/// are never logged.
fn redacted(uri: &Uri) -> String {
    let path = uri.path();
    let mut segments = path.splitn(4, '/');
    let (_, first, second) = (segments.next(), segments.next(), segments.next());
    match (first, second) {
        (Some(app), Some(_)) if !matches!(app, "v1" | "api" | "") => {
            let rest = segments.next().map_or(String::new(), |r| format!("/{r}"));
            shorten(&format!("/{app}/***{rest}"))
        }
        _ => shorten(path),
    }
}

/// CORS for any origin (or the `--cors-origin` list), on every response (errors included), exposing what clients read.
fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<axum::http::HeaderValue> =
        origins.iter().filter_map(|o| o.parse().ok()).collect();
    let origin = if allowed.is_empty() {
        tower_http::cors::AllowOrigin::from(Any)
    } else {
        tower_http::cors::AllowOrigin::list(allowed)
    };
    CorsLayer::new()
        .allow_origin(origin)
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers(Any)
        .expose_headers([
            header::ETAG,
            header::CONTENT_RANGE,
            header::CONTENT_LENGTH,
            header::CONTENT_DISPOSITION,
            header::LAST_MODIFIED,
            header::LOCATION,
            HeaderName::from_static("retry-after"),
            HeaderName::from_static(backendless::NEXT_CURSOR),
        ])
        .max_age(Duration::from_secs(3600))
}

/// `GET /{appId}/{apiKey}/info`: the app and the server's limits.
#[utoipa::path(
    get,
    path = "/{app}/{key}/info",
    tag = "backendless",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key (Backendless puts it in the path)."),
    ),
    responses(
        (status = 200, description = "The app", body = AppInfo),
        (status = 401, description = "`3003` WrongApp: the app id and key name no app", body = ErrorBody),
    ),
)]
async fn info(State(state): State<AppState>, uri: Uri) -> AppResult<Json<AppInfo>> {
    let mut parts = uri.path().trim_start_matches('/').split('/');
    let (app, key) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    state.authenticate(app, key)?;
    Ok(Json(AppInfo {
        app_id: app.to_owned(),
        name: app.to_owned(),
        server_version: env!("CARGO_PKG_VERSION").to_owned(),
        max_upload_bytes: state.max_upload_bytes(),
    }))
}

/// Runs a request with a body (`POST`, `PUT`, `PATCH`) in a task of its own, so that a client
/// that leaves cannot cancel it halfway. hyper drops a request's future where it stands when its
/// connection closes: between the body and the commit, that left the upload's blob in `tmp/`
/// with no row; between the commit and the publish, a committed blob in `tmp/`; both until the
/// next start. Detached, the request goes on: a body cut short ends in an error that removes its
/// temp file, and a whole body is committed and published as if the client had stayed.
async fn detached(req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH) {
        return next.run(req).await;
    }
    // A task of its own keeps the request's span and the base of the URLs it hands out.
    let served = AppState::serving_base(AppState::current_base(), next.run(req));
    let request = tracing::Instrument::instrument(served, tracing::Span::current());
    match tokio::spawn(request).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "a request's task failed");
            api_response(&ApiError::new(ErrorCode::Internal, "Internal server error"))
        }
    }
}

/// Requests with a body (uploads, parts, JSON calls) hold one of `--max-uploads` permits while
/// they are served; past that they get `429 {code: 7009}` with `Retry-After` at once.
async fn upload_slots(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH) {
        return next.run(req).await;
    }
    let Some(permit) = state.upload_permit() else {
        let mut busy = api_response(&ApiError::new(
            ErrorCode::SlowDown,
            "The server is serving too many uploads; try again shortly",
        ));
        busy.headers_mut().insert(
            header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("1"),
        );
        return busy;
    };
    let response = next.run(req).await;
    drop(permit);
    response
}

/// Requests to the `--public-url` domain name files by path alone: `/{path}` is answered as
/// `/{appId}/{apiKey}/files/{path}` of the first app (GET and HEAD only). Requests to a
/// `--web-host` are answered from its app's `web/` directory, `index.html` for a directory.
async fn custom_domain(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let web = state.web_host_prefix(&host).map(str::to_owned);
    let site = web.is_some();
    if let Some(prefix) = web.or_else(|| state.custom_domain_prefix(&host)) {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return api_response(&ApiError::new(
                ErrorCode::MethodNotAllowed,
                format!("Method {} is not allowed here", req.method()),
            ));
        }
        let path_and_query = req.uri().path_and_query().map_or("/", |p| p.as_str());
        // A site's directories answer with their index.html (no query reaches the files).
        let target = if site {
            let path = req.uri().path();
            if path.ends_with('/') {
                format!("{prefix}{path}index.html")
            } else {
                format!("{prefix}{path}")
            }
        } else {
            format!("{prefix}{path_and_query}")
        };
        match target.parse::<Uri>() {
            Ok(uri) => *req.uri_mut() = uri,
            Err(_) => return api_response(&ApiError::not_found()),
        }
        // The domain serves file URLs: no listings, counts or existence checks.
        req.extensions_mut().insert(backendless::FilesOnly);
    }
    let base = state.request_base(req.headers());
    AppState::serving_base(base, next.run(req)).await
}

/// Guarantees that every failure is a JSON `{code, message}`: responses that tower-http or
/// axum produced themselves (unknown route, wrong method, static 404) are translated here.
async fn json_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::new(
            ErrorCode::UnknownRoute,
            format!("No such route: {method} {}", shorten(&path)),
        ),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            ErrorCode::MethodNotAllowed,
            format!("Method {method} is not allowed here"),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(ErrorCode::BodyTooLarge, "Request body is too large")
        }
        s if s.is_server_error() => {
            tracing::error!(%status, %method, path, "non-JSON server error");
            ApiError::internal()
        }
        _ => ApiError::new(
            ErrorCode::InvalidParameter,
            format!("Bad request ({status})"),
        ),
    };
    let mut json = if cognite::owns(&path) {
        let status = error.code.status();
        cognite::envelope(&stowage_protocol::cognite::ErrorEnvelope::new(
            status,
            error.message,
        ))
    } else {
        api_response(&error)
    };
    if let Some(allow) = response.headers().get(header::ALLOW) {
        json.headers_mut().insert(header::ALLOW, allow.clone());
    }
    json
}

/// The error for a method a route does not take.
#[must_use]
pub(super) fn method_not_allowed(method: &Method) -> crate::error::AppError {
    crate::error::AppError::api(
        ErrorCode::MethodNotAllowed,
        format!("Method {method} is not allowed here"),
    )
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn logged_paths_carry_no_key_and_no_query() {
        let cases = [
            (
                "/demo/demo-key/files/a/b.txt?overwrite=true",
                "/demo/***/files/a/b.txt",
            ),
            ("/demo/demo-key/info", "/demo/***/info"),
            ("/demo/demo-key", "/demo/***"),
            (
                "/v1/signed/get/demo/a.txt?expires=1&length=0&sig=abcd",
                "/v1/signed/get/demo/a.txt",
            ),
            (
                "/api/v1/projects/demo/files/list",
                "/api/v1/projects/demo/files/list",
            ),
            ("/", "/"),
        ];
        for (uri, logged) in cases {
            let uri: axum::http::Uri = uri.parse().unwrap_or_default();
            assert_eq!(redacted(&uri), logged);
        }
    }
}
