//! Images by URL, in two grammars over one canonical transform (`crate::images::transform`):
//!
//! - `GET /img/{app}/{signature|unsafe}/[fit-in/|stretch/][{w}x{h}/][smart/][filters:…/]{path}`
//!   (thumbor, bkend's image CDN);
//! - `GET {file URL}?width=&height=&resize=&quality=&format=[&signature=]` (Supabase), handled
//!   by the Backendless file route, which hands such queries to [`serve_query`].
//!
//! Both answer the variant of a file the requester may read (`user-token` or `Bearer`, else
//! the anonymous user). Unsigned URLs may ask only for the app's allowlisted sizes;
//! `POST /{app}/{key}/images/sign` hands out signed ones. An SVG is served as it is.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use stowage_protocol::{images, ApiError, ErrorBody, ErrorCode, FilePath};

use super::table::{route, Routes};
use crate::error::{AppError, AppResult};
use crate::files::Variant;
use crate::images::transform::{Fit, FormatChoice, FormatExt as _, Transform, TransformError};
use crate::model::Principal;
use crate::state::AppState;

/// This shape's part of `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(thumbor, sign), components(schemas(SignRequest, SignedImage)))]
pub(super) struct Api;

/// The routes of this shape.
pub(super) fn routes() -> Routes {
    let routes = route!(
        Routes::new(),
        "/img/{app}/{signature}/{*rest}",
        get(thumbor).head(thumbor)
    );
    route!(routes, "/{app}/{key}/images/sign", post(sign))
}

fn invalid(e: TransformError) -> AppError {
    ApiError::from(e).into()
}

/// Whether the request's `Accept` takes WebP.
fn accepts_webp(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            t.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("image/webp"))
        })
}

/// Checks an unsigned request against the allowlist, a signed one against its signature.
fn check_signature(
    state: &AppState,
    app: &str,
    transform: &Transform,
    path: &FilePath,
    signature: Option<&str>,
) -> AppResult<()> {
    match signature {
        None => {
            if crate::images::unsigned_allowed(
                state.image_sizes(app),
                transform.width,
                transform.height,
            ) {
                Ok(())
            } else {
                Err(AppError::api(
                    ErrorCode::SizeNotAllowed,
                    format!(
                        "{}x{} is not among the sizes unsigned URLs may ask for: get a signed URL \
                         from POST /{{app}}/{{key}}/images/sign",
                        transform.width, transform.height
                    ),
                ))
            }
        }
        Some(sig) => {
            if state
                .signer()
                .image_signed(app, &transform.canonical(), path.as_str(), sig)
            {
                Ok(())
            } else {
                Err(AppError::api(
                    ErrorCode::BadSignature,
                    "The image URL's signature is not valid",
                ))
            }
        }
    }
}

/// `GET`/`HEAD /img/{app}/{signature|unsafe}/…`: a variant, thumbor-style.
#[utoipa::path(
    method(get, head),
    path = "/img/{app}/{signature}/{rest}",
    tag = "images",
    params(
        ("app" = String, Path, description = "The app id."),
        ("signature" = String, Path, description = "`unsafe` (allowlisted sizes only), or the signature `POST /{app}/{key}/images/sign` gave."),
        ("rest" = String, Path, description = "`[fit-in/|stretch/][{w}x{h}/][smart/][filters:quality(N):format(webp|jpeg|png|avif)/]{path}`: 0 or nothing is an automatic side; at most 2500 px; never upscaled; the path percent-encoded per segment."),
    ),
    security((), ("user_token" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The variant (`Vary: Accept` when no format was asked: WebP to clients that take it), or an SVG as it is (`Content-Security-Policy: sandbox`)", content_type = "image/*"),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 400, description = "`8007` InvalidParameter (the transform), `6006` ProhibitedPath", body = ErrorBody),
        (status = 403, description = "`4000` NoPermission, `6104` SizeNotAllowed, `7003` BadSignature", body = ErrorBody),
        (status = 404, description = "`6000` NotFound, `6019` NotUploaded", body = ErrorBody),
        (status = 413, description = "`6101` ImageTooLarge", body = ErrorBody),
        (status = 415, description = "`6102` NotAnImage", body = ErrorBody),
        (status = 422, description = "`6103` ImageUndecodable", body = ErrorBody),
    ),
)]
async fn thumbor(
    State(state): State<AppState>,
    Path((app, signature, _rest)): Path<(String, String, String)>,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> AppResult<Response> {
    if !state.knows_app(&app) {
        return Err(ApiError::not_found().into());
    }
    // The raw path keeps the file path's own percent-encoding (axum's `rest` is decoded).
    let raw = uri.path();
    let after = raw.splitn(5, '/').nth(4).ok_or_else(ApiError::not_found)?;
    let (transform, encoded) = Transform::parse_thumbor(after).map_err(invalid)?;
    let path = FilePath::parse_encoded(encoded)?;
    let signature = (signature != "unsafe").then_some(signature.as_str());
    check_signature(&state, &app, &transform, &path, signature)?;
    let who = super::principal::resolve(&state, &app, &headers, true).await?;
    variant(&state, &who, &path, &transform, &method, &headers).await
}

/// A variant asked for by a file URL's query (Supabase style).
pub(super) async fn serve_query(
    state: &AppState,
    who: &Principal,
    path: &FilePath,
    pairs: &[(String, String)],
    method: &Method,
    headers: &HeaderMap,
) -> AppResult<Response> {
    let transform = Transform::parse_query(pairs)
        .map_err(invalid)?
        .unwrap_or_default();
    let signature = pairs
        .iter()
        .find(|(k, _)| k == images::SIGNATURE)
        .map(|(_, v)| v.as_str());
    check_signature(state, &who.app, &transform, path, signature)?;
    variant(state, who, path, &transform, method, headers).await
}

async fn variant(
    state: &AppState,
    who: &Principal,
    path: &FilePath,
    transform: &Transform,
    method: &Method,
    headers: &HeaderMap,
) -> AppResult<Response> {
    let webp = accepts_webp(headers);
    let answer = state.files().variant(who, path, transform, webp).await?;
    let cache = if who.who == crate::model::Who::Anonymous {
        "public, no-cache"
    } else {
        "private, no-cache"
    };
    let (bytes, content_type, etag, csp) = match answer {
        Variant::Image {
            bytes,
            format,
            etag,
            ..
        } => (bytes, format.mime(), etag, false),
        Variant::Svg { bytes, record } => {
            let etag = record.content.map(|c| c.etag).unwrap_or_default();
            (bytes, "image/svg+xml", etag, true)
        }
    };
    let matched = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|list| super::serve::etag_listed(list, &etag));
    let mut response = if matched {
        StatusCode::NOT_MODIFIED.into_response()
    } else if method == Method::HEAD {
        let mut r = StatusCode::OK.into_response();
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        r
    } else {
        bytes.into_response()
    };
    let h = response.headers_mut();
    if !matched {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if transform.format == FormatChoice::Auto && !csp {
        h.insert(header::VARY, HeaderValue::from_static("Accept"));
    }
    if csp {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox"),
        );
    }
    Ok(response)
}

/// What to sign: a file and a transform.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct SignRequest {
    /// The file's path in the app.
    path: String,
    /// Width, 0 or absent for automatic.
    #[serde(default)]
    width: u32,
    /// Height, 0 or absent for automatic.
    #[serde(default)]
    height: u32,
    /// `cover` (default), `smart`, `contain` or `fill`.
    #[serde(default)]
    fit: Option<String>,
    /// 20–100 (default 80).
    #[serde(default)]
    quality: Option<u8>,
    /// `webp`, `jpeg`, `png`, `avif` or `origin`; absent: WebP where the browser takes it.
    #[serde(default)]
    format: Option<String>,
}

/// A signed variant URL in both grammars.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct SignedImage {
    /// The thumbor-style URL.
    url: String,
    /// The same variant as a query on the file's own URL; `null` for a smart crop, which the
    /// query grammar cannot ask for.
    query_url: Option<String>,
    /// The signature alone.
    signature: String,
}

/// `POST /{app}/{key}/images/sign`: a signed URL for any size, for the app's admin key or a
/// signed-in user who may read the file.
#[utoipa::path(
    post,
    path = "/{app}/{key}/images/sign",
    tag = "images",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key."),
    ),
    request_body = SignRequest,
    security(("user_token" = []), ("bearer" = []), ("admin_key" = [])),
    responses(
        (status = 200, description = "The signed URLs", body = SignedImage),
        (status = 400, description = "`8007` InvalidParameter, `8004` MalformedJson", body = ErrorBody),
        (status = 401, description = "`3003` WrongApp, `6021` AuthenticationRequired", body = ErrorBody),
        (status = 403, description = "`4000` NoPermission", body = ErrorBody),
        (status = 404, description = "`6000` NotFound", body = ErrorBody),
    ),
)]
async fn sign(
    State(state): State<AppState>,
    Path((app, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> AppResult<Json<SignedImage>> {
    state.authenticate(&app, &key)?;
    let who = super::principal::resolve(&state, &app, &headers, true).await?;
    if who.who == crate::model::Who::Anonymous {
        return Err(AppError::api(
            ErrorCode::AuthenticationRequired,
            "Signing an image URL needs a signed-in user or the admin key",
        ));
    }
    let request: SignRequest = super::bkend::typed(&headers, body).await?;
    let path = FilePath::parse(&request.path)?;
    // Only for a file the signer may read (a signature never grants access: the variant route
    // checks the requester again).
    state
        .files()
        .stat(&who, &path)
        .await?
        .filter(|r| !r.is_dir)
        .ok_or_else(ApiError::not_found)?;
    // The request is read as the query it stands for (so that it is refused with the query's
    // reasons), but for `smart`, which only the thumbor form has.
    let smart = Fit::Cover { smart: true };
    let wants_smart = request.fit.as_deref() == Some(smart.name());
    let resize = if wants_smart {
        Some(Fit::default().name().to_owned())
    } else {
        request.fit.clone()
    };
    let pairs: Vec<(String, String)> = [
        (images::WIDTH, Some(request.width.to_string())),
        (images::HEIGHT, Some(request.height.to_string())),
        (images::RESIZE, resize),
        (images::QUALITY, request.quality.map(|q| q.to_string())),
        (images::FORMAT, request.format.clone()),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k.to_owned(), v?)))
    .collect();
    let mut transform = Transform::parse_query(&pairs)
        .map_err(invalid)?
        .unwrap_or_default();
    if wants_smart {
        transform.fit = smart;
    }
    let signature = state
        .signer()
        .sign_image(&app, &transform.canonical(), path.as_str());
    let base = state.public_base();
    let url = format!(
        "{base}/img/{app}/{signature}/{}{}",
        transform.thumbor_segments(),
        path.to_encoded()
    );
    let query_url = transform.query_pairs().map(|pairs| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            query.append_pair(k, v);
        }
        query.append_pair(images::SIGNATURE, &signature);
        format!("{}?{}", state.public_url(&app, &path), query.finish())
    });
    Ok(Json(SignedImage {
        url,
        query_url,
        signature,
    }))
}
