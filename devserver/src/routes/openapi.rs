//! The OpenAPI 3.1 document of every route, generated once from the handlers' `#[utoipa::path]`
//! annotations and the wire types' `ToSchema` (each API shape declares its own part next to its
//! routes), and served at `GET /openapi.json` without a key. `tests/openapi.rs` checks it against
//! the route table ([`super::table`]).

use std::sync::OnceLock;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The parts of the document that belong to no API shape.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Stowage",
        description = "File storage for web apps, in three API shapes over one store: \
            Backendless (`/{app}/{key}/files/...`, the app's API key in the path), bkend \
            (`/v1/files...`, the app named by `X-API-Key`, bytes through presigned URLs under \
            `/v1/signed/...`) and Cognite (`/api/v1/projects/{project}/files/...`). OpenAPI \
            has no security scheme for a key in the path: Backendless routes take it as the \
            `key` path parameter. Errors answer `{code, message}` (`ErrorBody`; the codes are \
            in docs/errors.md), except on Cognite routes, which answer Cognite's envelope \
            `{error: {code, message, missing?, duplicated?}}`. Path parameters named `rest` \
            stand for axum's `{*rest}` wildcard: the rest of the path, slashes included.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(super::info, super::observe::healthz, super::observe::readyz, super::observe::metrics, document),
    components(schemas(stowage_protocol::ErrorBody, stowage_protocol::cognite::ErrorEnvelope, super::schemas::BkendError)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "backendless", description = "Backendless Files: paths under `/{app}/{key}/files`."),
        (name = "users", description = "Backendless users: register, log in, tokens, roles."),
        (name = "permissions", description = "Backendless permission rules and Stowage's visibility of path-named files."),
        (name = "bkend", description = "bkend's `/v1` API: presigned uploads and downloads, multipart uploads, file records."),
        (name = "signed", description = "The data plane behind presigned URLs (`/v1/signed/...`): the signature in the query authorises."),
        (name = "cognite", description = "The Cognite Files API under `/api/v1/projects/{project}/files`."),
        (name = "images", description = "Image variants by URL: thumbor-style `/img/...` paths, or `width`/`height`/`resize`/`quality`/`format` on a file URL; `images/sign` for sizes off the allowlist."),
        (name = "observe", description = "What an operator watches: health, readiness, metrics, this document."),
        (name = "test-hooks", description = "Fault injection for tests: they answer only when the server runs with `--unsafe-test-hooks` (else `404 8009`), and only to an admin key."),
    )
)]
struct Api;

/// The security schemes the operations name.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        let header = |name: &str, what: &str| {
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(name, what)))
        };
        let bearer = |what: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(what))
                    .build(),
            )
        };
        let schemes = [
            (
                "user_token",
                header(
                    "user-token",
                    "Backendless routes: a login token from `users/login`, or the app's admin key.",
                ),
            ),
            (
                "bearer",
                bearer(
                    "A login token, or the app's admin key; on Cognite routes also the project's API key.",
                ),
            ),
            (
                "admin_key",
                bearer(
                    "The app's admin key (`--admin-key ID=SECRET`, or generated into `{data}/admin-{appId}.key`). \
                     It has no header of its own: it is sent as `Authorization: Bearer`, or as `user-token` on \
                     Backendless routes.",
                ),
            ),
            (
                "x_api_key",
                header("X-API-Key", "bkend's `/v1` routes: the app's API key names the app."),
            ),
            (
                "signature",
                SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                    "sig",
                    "A presigned URL as the server handed it out: `expires`, `length`, the bound \
                     parameters and `sig` (HMAC-SHA256) in its query.",
                ))),
            ),
        ];
        for (name, scheme) in schemes {
            components.add_security_scheme(name, scheme);
        }
    }
}

/// `GET /openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "observe",
    responses((status = 200, description = "The OpenAPI 3.1 document of every route", content_type = "application/json", body = Object)),
)]
pub(crate) async fn document() -> Response {
    let mut response = document_json().to_owned().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The document as JSON text, built on first use.
pub fn document_json() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut doc = Api::openapi();
        doc.merge(super::backendless::Api::openapi());
        doc.merge(super::bkend::Api::openapi());
        doc.merge(super::cognite::Api::openapi());
        doc.merge(super::signed::Api::openapi());
        doc.merge(super::images::Api::openapi());
        let mut value = serde_json::to_value(&doc).unwrap_or_default();
        finish(&mut value);
        value.to_string()
    })
}

/// What the annotations leave to one place: the Backendless operations that several routes
/// share, unique operation ids, and the failures every route can answer (from middleware).
fn finish(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (from, to, methods, suffix) in super::backendless::SHARED
        .iter()
        .chain(super::cognite::SHARED)
    {
        alias(paths, from, to, methods, suffix);
    }
    unique_operation_ids(paths);
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item.iter_mut() {
            add_common_errors(path, method, operation);
        }
    }
}

/// Copies the operations of `from` for `methods` onto `to`, where no handler of `to`'s own
/// documents the method: its id gets `_{suffix}`, its description says so, and a `rest`
/// parameter goes where `to` has none.
fn alias(paths: &mut Map<String, Value>, from: &str, to: &str, methods: &[&str], suffix: &str) {
    let Some(source) = paths.get(from).cloned() else {
        return;
    };
    let mut item = paths
        .remove(to)
        .unwrap_or_else(|| Value::Object(Map::new()));
    for method in methods {
        let (Some(operation), Some(target)) = (source.get(*method), item.as_object_mut()) else {
            continue;
        };
        if target.contains_key(*method) {
            continue;
        }
        let mut operation = operation.clone();
        if let Some(id) = operation.get("operationId").and_then(Value::as_str) {
            operation["operationId"] = Value::String(format!("{id}_{suffix}"));
        }
        let description = operation
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        operation["description"] = Value::String(
            format!("{description}\n\nOn `{to}` as on `{from}`.")
                .trim()
                .to_owned(),
        );
        if !to.contains("{rest}") {
            if let Some(params) = operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
            {
                params.retain(|p| p.get("name").and_then(Value::as_str) != Some("rest"));
            }
        }
        target.insert((*method).to_owned(), operation);
    }
    paths.insert(to.to_owned(), item);
}

/// An operation listed under several methods (`method(get, head)`) has one id; each copy gets
/// its method appended, so every id is unique as OpenAPI requires.
fn unique_operation_ids(paths: &mut Map<String, Value>) {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for item in paths.values() {
        for operation in item.as_object().into_iter().flat_map(|i| i.values()) {
            if let Some(id) = operation.get("operationId").and_then(Value::as_str) {
                *seen.entry(id.to_owned()).or_default() += 1;
            }
        }
    }
    for item in paths.values_mut() {
        for (method, operation) in item.as_object_mut().into_iter().flat_map(|i| i.iter_mut()) {
            let Some(id) = operation.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            if seen.get(id).copied().unwrap_or(0) > 1 && method != "get" {
                let unique = format!("{id}_{method}");
                operation["operationId"] = Value::String(unique);
            }
        }
    }
}

/// The failures of the layers around every handler: `500 5000` (a bug or an I/O failure),
/// `503 7010` (a store unreachable), and on requests with a body `429 7009` (`--max-uploads`).
fn add_common_errors(path: &str, method: &str, operation: &mut Value) {
    let body = if path.starts_with("/api/v1/projects/") {
        "ErrorEnvelope"
    } else if path.starts_with("/v1/files") {
        "BkendError"
    } else {
        "ErrorBody"
    };
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let error = |description: &str, schema: &str| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}},
        })
    };
    let answers_itself = matches!(path, "/healthz" | "/metrics" | "/openapi.json");
    if !answers_itself {
        responses.entry("500").or_insert_with(|| {
            error(
                "`5000` Internal: a bug or an I/O failure in the server",
                body,
            )
        });
        responses.entry("503").or_insert_with(|| {
            error("`7010` Unavailable: the catalog or the object store does not answer; see `Retry-After`", body)
        });
    }
    if matches!(method, "post" | "put" | "patch") {
        responses.entry("429").or_insert_with(|| {
            error(
                "`7009` SlowDown: too many requests with a body at once; see `Retry-After`",
                // The slot limit answers outside every shape's envelope: always our own body.
                "ErrorBody",
            )
        });
    }
}
