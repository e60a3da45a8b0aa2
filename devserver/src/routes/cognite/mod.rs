//! The Cognite-compatible Files API under `/api/v1/projects/{project}/files` (project = app
//! id), as `@cognite/sdk` speaks it (docs/cognite-sdk-wire.md). `Authorization: Bearer
//! {apiKey}` authenticates; every failure answers Cognite's envelope
//! `{"error": {"code", "message", "missing"?, "duplicated"?}}`.

mod wire;

/// This shape's part of `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create,
    by_ids,
    list,
    search,
    aggregate,
    update,
    delete,
    download_links,
    init_multipart,
    complete_multipart,
    unknown,
))]
pub(super) struct Api;

/// Routes that answer as another's operation does (see `openapi::alias`): from, to, methods,
/// operation id suffix.
pub(super) const SHARED: &[(&str, &str, &[&str], &str)] = &[
    (
        "/api/v1/projects/{project}/files",
        "/api/v1/projects/{project}/files/",
        &["post"],
        "slash",
    ),
    (
        "/api/v1/projects/{project}/{rest}",
        "/api/v1/projects/{project}/files/{rest}",
        super::table::ANY,
        "files",
    ),
];

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use stowage_protocol::cognite::{
    validate_parts, AggregateCount, AggregateRequest, ByIdsRequest, CompleteMultipartRequest,
    DeleteRequest, DownloadLinkItem, DownloadLinkRequest, EmptyResponse, ErrorEnvelope, FieldError,
    FileCreate, FileInfo, InitMultipartResponse, ItemsResponse, ListRequest, SearchRequest,
    UpdateRequest,
};
use stowage_protocol::ErrorCode;

use super::cursor;
use super::table::{route, Routes};
use crate::error::AppError;
use crate::files::{NewUpload, PartLimits};
use crate::model::{FileQuery, FileRecord, Ident, Order, Principal};
use crate::presign::expires_in;
use crate::state::AppState;

pub(in crate::routes) use wire::new_file;

/// Largest request body: 1000 updates with metadata fit.
const BODY_LIMIT: usize = 4 * 1024 * 1024;
/// Largest part of a Cognite multipart upload.
const MAX_PART: u64 = 4000 * 1024 * 1024;

/// The routes of this shape.
pub(super) fn routes() -> Routes {
    let base = BASE;
    let routes = route!(Routes::new(), base, post(create));
    let routes = route!(routes, &format!("{base}/"), post(create));
    let routes = route!(routes, &format!("{base}/byids"), post(by_ids));
    let routes = route!(routes, &format!("{base}/list"), post(list));
    let routes = route!(routes, &format!("{base}/search"), post(search));
    let routes = route!(routes, &format!("{base}/aggregate"), post(aggregate));
    let routes = route!(routes, &format!("{base}/update"), post(update));
    let routes = route!(routes, &format!("{base}/delete"), post(delete));
    let routes = route!(
        routes,
        &format!("{base}/downloadlink"),
        post(download_links)
    );
    let routes = route!(
        routes,
        &format!("{base}/initmultipartupload"),
        post(init_multipart)
    );
    let routes = route!(
        routes,
        &format!("{base}/completemultipartupload"),
        post(complete_multipart)
    );
    let routes = route!(routes, "/api/v1/projects/{project}/{*rest}", any(unknown));
    route!(routes, &format!("{base}/{{*rest}}"), any(unknown))
}

/// Where the shape's routes are: every path below starts so.
const BASE: &str = "/api/v1/projects/{project}/files";

/// Whether a path belongs to this shape (its errors take Cognite's envelope).
pub(super) fn owns(path: &str) -> bool {
    path.starts_with("/api/v1/projects/")
}

/// A failure, answered in Cognite's envelope.
#[derive(Debug)]
pub(super) struct Error(ErrorEnvelope);

type Result<T> = std::result::Result<T, Error>;

impl From<AppError> for Error {
    fn from(e: AppError) -> Self {
        Self(match e {
            AppError::Unknown(ids) => {
                let ids: Vec<_> = ids.iter().map(wire::identity).collect();
                ErrorEnvelope::missing(&ids)
            }
            AppError::Duplicate(ids) => ErrorEnvelope::duplicated_external_ids(&ids),
            other => {
                let api = other.to_api();
                match api.code {
                    // A link to content that is not there is a bad request here, as in Cognite.
                    ErrorCode::NotUploaded => ErrorEnvelope::new(400, api.message),
                    // A refusal never confirms that the file exists.
                    ErrorCode::NoPermission => ErrorEnvelope::new(
                        403,
                        "Resource not found. This may also be due to insufficient access rights.",
                    ),
                    code => ErrorEnvelope::new(code.status(), api.message),
                }
            }
        })
    }
}

/// The status and message of a failure, for the fuzz targets.
pub(in crate::routes) fn answer_of(e: Error) -> (u16, String) {
    (e.0.error.code, e.0.error.message)
}

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        envelope(&self.0)
    }
}

/// The response for an envelope.
pub(super) fn envelope(e: &ErrorEnvelope) -> Response {
    let status = StatusCode::from_u16(e.error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(e)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

fn bad_request(message: impl Into<String>) -> Error {
    Error(ErrorEnvelope::new(400, message))
}

/// The principal of a request to `project`: the bearer token is the project's API key (the
/// anonymous user), its admin key, or a login token. A missing or wrong token is 401: the SDK
/// fetches its token only after one.
async fn authenticate(state: &AppState, project: &str, headers: &HeaderMap) -> Result<Principal> {
    let Some(token) = super::principal::bearer(headers) else {
        return Err(Error(ErrorEnvelope::new(
            401,
            "Unauthorized: send Authorization: Bearer {apiKey}",
        )));
    };
    // A login token is 64 hex digits; anything else must be one of the project's keys.
    let login_token = token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit());
    let key = state.is_api_key(project, token) || state.is_admin_key(project, token);
    if !state.knows_app(project) || !(key || login_token) {
        return Err(Error(ErrorEnvelope::new(
            401,
            "Unauthorized: unknown project or key",
        )));
    }
    Ok(super::principal::resolve(state, project, headers, false).await?)
}

/// A JSON body of type `T`.
async fn json<T: DeserializeOwned>(body: Body) -> Result<T> {
    let bytes = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| Error(ErrorEnvelope::new(413, "Request body is too large")))?;
    parse(&bytes)
}

/// A JSON request body; an empty one reads as `{}`.
pub(in crate::routes) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let text = if bytes.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        bytes
    };
    serde_json::from_slice(text)
        .map_err(|e| bad_request(format!("Could not parse request body: {e}")))
}

fn flag(q: &HashMap<String, String>, name: &str) -> Result<bool> {
    match q.get(name).map(String::as_str) {
        None | Some("" | "false") => Ok(false),
        Some("true") => Ok(true),
        Some(v) => Err(bad_request(format!(
            "{name} must be true or false (got {})",
            crate::error::shorten(v)
        ))),
    }
}

fn upload_url(state: &AppState, who: &Principal, record: &FileRecord) -> Result<String> {
    signed_url(state, "PUT", who, record)
}

/// A URL for a record's content, bound to the signer, the record and its access epoch.
fn signed_url(
    state: &AppState,
    method: &str,
    who: &Principal,
    record: &FileRecord,
) -> Result<String> {
    let now = u64::try_from(crate::model::now_ms() / 1000).unwrap_or(0);
    let expires = now + expires_in(None)?;
    let path = format!("/v1/signed/record/{}/{}", who.app, record.id);
    let query = state.signer().sign(
        method,
        &path,
        expires,
        0,
        &super::bkend::bound_to(who, record),
    );
    Ok(format!("{}{path}?{query}", state.public_base()))
}

/// `POST /files?overwrite=`: a record, answered at the top level with its `uploadUrl`.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/files",
    tag = "cognite",
    params(
        ("project" = String, Path, description = "The project: the app id."),
        ("overwrite" = Option<bool>, Query, description = "Replace the record that has this externalId."),
    ),
    security(("bearer" = [])),
    request_body(content = FileCreate, example = json!({"name": "report.pdf", "externalId": "report-1", "mimeType": "application/pdf"})),
    responses(
        (status = 200, description = "The record, overwritten (`overwrite=true`), with `uploadUrl`", body = FileInfo),
        (status = 201, description = "The new record, with `uploadUrl` (`PUT` the bytes there)", body = FileInfo),
        (status = 400, description = "A field breaks its limit, an unsupported filter, a body that does not parse", body = ErrorEnvelope),
        (status = 401, description = "No bearer token, or not one of the project's keys or a login token", body = ErrorEnvelope),
        (status = 403, description = "Not found or not allowed: a refusal never confirms that a file exists", body = ErrorEnvelope),
        (status = 413, description = "The body is over 4 MiB", body = ErrorEnvelope),
        (status = 409, description = "`externalId` is taken: `duplicated`", body = ErrorEnvelope),
    ),
)]
async fn create(
    State(state): State<AppState>,
    Path(project): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let who = authenticate(&state, &project, &headers).await?;
    let overwrite = flag(&q, "overwrite")?;
    let req: FileCreate = json(body).await?;
    req.validate()?;
    let (record, created) = state
        .files()
        .create_record(&who, wire::new_file(req), overwrite)
        .await?;
    let url = upload_url(&state, &who, &record)?;
    let mut info = wire::info(record);
    info.upload_url = Some(url);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(info)).into_response())
}

/// `POST /files/byids`.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/files/byids",
    tag = "cognite",
    params(
        ("project" = String, Path, description = "The project: the app id."),
    ),
    security(("bearer" = [])),
    request_body(content = ByIdsRequest, example = json!({"items": [{"externalId": "report-1"}], "ignoreUnknownIds": true})),
    responses(
        (status = 200, description = "The records, in the order asked", body = ItemsResponse<FileInfo>),
        (status = 400, description = "A field breaks its limit, an unsupported filter, a body that does not parse; unknown ids (`missing`), an id given twice (`duplicated`)", body = ErrorEnvelope),
        (status = 401, description = "No bearer token, or not one of the project's keys or a login token", body = ErrorEnvelope),
        (status = 403, description = "Not found or not allowed: a refusal never confirms that a file exists", body = ErrorEnvelope),
        (status = 413, description = "The body is over 4 MiB", body = ErrorEnvelope),
    ),
)]
async fn by_ids(
    State(state): State<AppState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ItemsResponse<FileInfo>>> {
    let who = authenticate(&state, &project, &headers).await?;
    let req: ByIdsRequest = json(body).await?;
    req.validate()?;
    no_duplicates(&req.items)?;
    let idents: Vec<Ident> = req.items.iter().map(wire::ident).collect();
    let found = state
        .files()
        .resolve(&who, &idents, req.ignore_unknown_ids)
        .await?;
    Ok(Json(items(found)))
}

/// An identity named twice in one request is refused, as Cognite does.
fn no_duplicates(items: &[stowage_protocol::cognite::Identity]) -> Result<()> {
    let twice = stowage_protocol::cognite::duplicate_identities(items);
    if twice.is_empty() {
        return Ok(());
    }
    let mut e = ErrorEnvelope::new(400, "Duplicate identifiers");
    e.error.duplicated = Some(twice.iter().map(|i| i.to_value()).collect());
    Err(Error(e))
}

fn items(records: Vec<FileRecord>) -> ItemsResponse<FileInfo> {
    ItemsResponse {
        items: records.into_iter().map(wire::info).collect(),
        next_cursor: None,
    }
}

/// `POST /files/list`: a page by id, with every filter, a cursor and partitions.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/files/list",
    tag = "cognite",
    params(
        ("project" = String, Path, description = "The project: the app id."),
    ),
    security(("bearer" = [])),
    request_body(content = ListRequest, example = json!({"filter": {"mimeType": "application/pdf"}, "limit": 10})),
    responses(
        (status = 200, description = "A page of records, with `nextCursor` when there are more", body = ItemsResponse<FileInfo>),
        (status = 400, description = "A field breaks its limit, an unsupported filter, a body that does not parse; a bad cursor or partition", body = ErrorEnvelope),
        (status = 401, description = "No bearer token, or not one of the project's keys or a login token", body = ErrorEnvelope),
        (status = 403, description = "Not found or not allowed: a refusal never confirms that a file exists", body = ErrorEnvelope),
        (status = 413, description = "The body is over 4 MiB", body = ErrorEnvelope),
    ),
)]
async fn list(
    State(state): State<AppState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ItemsResponse<FileInfo>>> {
    let who = authenticate(&state, &project, &headers).await?;
    let query = list_query(json(body).await?)?;
    let page = state.files().query(&who, &query).await?;
    Ok(Json(ItemsResponse {
        items: page.items.into_iter().map(wire::info).collect(),
        next_cursor: page.next.map(|n| cursor::encode("id", &n)),
    }))
}

/// The query a `POST /files/list` body asks for.
pub(in crate::routes) fn list_query(req: ListRequest) -> Result<FileQuery> {
    req.validate()?;
    let limit = req.page_size()?;
    let partition = req.partition()?;
    let mut filter = checked_filter(req.filter)?;
    filter.partition = partition.map(|p| (p.count, p.index - 1));
    let after = match req.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(cursor::decode("id", c).map_err(Error::from)?),
        None => None,
    };
    Ok(by_id(filter, limit, after))
}

/// A body's `filter`, refused when it asks for what Stowage does not support.
fn checked_filter(
    f: Option<stowage_protocol::cognite::FileFilter>,
) -> Result<crate::model::Filter> {
    if let Some(f) = &f {
        f.reject_unsupported().map_err(|e| e.within("filter"))?;
    }
    Ok(wire::filter(f)?)
}

/// Records matching `filter` by id, `limit` of them, after the cursor's place.
fn by_id(
    filter: crate::model::Filter,
    limit: usize,
    after: Option<crate::model::After>,
) -> FileQuery {
    FileQuery {
        filter,
        order: Order::Id,
        limit: u32::try_from(limit).unwrap_or(1000),
        after,
        offset: 0,
    }
}

/// The query a `POST /files/search` body asks for.
pub(in crate::routes) fn search_query(req: SearchRequest) -> Result<FileQuery> {
    req.validate()?;
    let limit = req.result_limit()?;
    let mut filter = checked_filter(req.filter)?;
    filter.name_words = req
        .search
        .and_then(|s| s.name)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    Ok(by_id(filter, limit, None))
}

/// `POST /files/search`: every word of `search.name` in the name, narrowed by `filter`.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/files/search",
    tag = "cognite",
    params(
        ("project" = String, Path, description = "The project: the app id."),
    ),
    security(("bearer" = [])),
    request_body(content = SearchRequest, example = json!({"search": {"name": "report"}, "limit": 10})),
    responses(
        (status = 200, description = "The matching records", body = ItemsResponse<FileInfo>),
        (status = 400, description = "A field breaks its limit, an unsupported filter, a body that does not parse", body = ErrorEnvelope),
        (status = 401, description = "No bearer token, or not one of the project's keys or a login token", body = ErrorEnvelope),
        (status = 403, description = "Not found or not allowed: a refusal never confirms that a file exists", body = ErrorEnvelope),
        (status = 413, description = "The body is over 4 MiB", body = ErrorEnvelope),
    ),
)]
async fn search(
    State(state): State<AppState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ItemsResponse<FileInfo>>> {
    let who = authenticate(&state, &project, &headers).await?;
    let query = search_query(json(body).await?)?;
    let page = state.files().query(&who, &query).await?;
    Ok(Json(items(page.items)))
}

/// `POST /files/aggregate`: `{items: [{count}]}`.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/files/aggregate",
    tag = "cognite",
    params(
        ("project" = String, Path, description = "The project: the app id."),
    ),
    security(("bearer" = [])),
    request_body(content = AggregateRequest, example = json!({"filter": {"uploaded": false}})),
    responses(
        (status = 200, description = "How many records the filter selects", body = ItemsResponse<AggregateCount>),
        (status = 400, description = "A field breaks its limit, an unsupported filter, a body that does not parse", body = ErrorEnvelope),
        (status = 401, description = "No bearer token, or not one of the project's keys or a login token", body = ErrorEnvelope),
        (status = 403, description = "Not found or not allowed: a refusal never confirms that a file exists", body = ErrorEnvelope),
        (status = 413, description = "The body is over 4 MiB", body = ErrorEnvelope),
    ),
)]
async fn aggregate(
    State(state): State<AppState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ItemsResponse<AggregateCount>>> {
    let who = authenticate(&state, &project, &headers).await?;
    let req: AggregateRequest = json(body).await?;
    req.validate()?;
    let count = state
        .files()
        .count(&who, &checked_filter(req.filter)?)
        .await?;
    Ok(Json(ItemsResponse {
        items: vec![AggregateCount { count }],
        next_cursor: None,
    }))
}

/// `POST /files/update`: every change or none.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/files/update",
    tag = "cognite",
    params(
        ("project" = String, Path, description = "The project: the app id."),
    ),
    security(("bearer" = [])),
    request_body(content = UpdateRequest, example = json!({"items": [{"externalId": "report-1", "update": {"source": {"set": "scanner"}, "metadata": {"add": {"k": "v"}}}}]})),
    responses(
        (status = 200, description = "The records as changed, in the order asked", body = ItemsResponse<FileInfo>),
        (status = 400, description = "A field breaks its limit, an unsupported filter, a body that does not parse; unknown ids (`missing`)", body = ErrorEnvelope),
        (status = 401, description = "No bearer token, or not one of the project's keys or a login token", body = ErrorEnvelope),
        (status = 403, description = "Not found or not allowed: a refusal never confirms that a file exists", body = ErrorEnvelope),
        (status = 413, description = "The body is over 4 MiB", body = ErrorEnvelope),
        (status = 409, description = "`externalId` is taken: `duplicated`", body = ErrorEnvelope),
    ),
)]
async fn update(
    State(state): State<AppState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ItemsResponse<FileInfo>>> {
    let who = authenticate(&state, &project, &headers).await?;
    let req: UpdateRequest = json(body).await?;
    req.validate()?;
    let changes = req
        .items
        .into_iter()
        .map(|i| (wire::ident(&i.identity), wire::patch(i.update)))
        .collect();
    let changed = state.files().update(&who, changes).await?;
    Ok(Json(items(changed)))
}

/// `POST /files/delete`: `{}`.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/files/delete",
    tag = "cognite",
    params(
        ("project" = String, Path, description = "The project: the app id."),
    ),
    security(("bearer" = [])),
    request_body(content = DeleteRequest, example = json!({"items": [{"externalId": "report-1"}]})),
    responses(
        (status = 200, description = "Deleted", body = EmptyResponse),
        (status = 400, description = "A field breaks its limit, an unsupported filter, a body that does not parse; unknown ids (`missing`), an id given twice (`duplicated`)", body = ErrorEnvelope),
        (status = 401, description = "No bearer token, or not one of the project's keys or a login token", body = ErrorEnvelope),
        (status = 403, description = "Not found or not allowed: a refusal never confirms that a file exists", body = ErrorEnvelope),
        (status = 413, description = "The body is over 4 MiB", body = ErrorEnvelope),
    ),
)]
async fn delete(
    State(state): State<AppState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<EmptyResponse>> {
    let who = authenticate(&state, &project, &headers).await?;
    let req: DeleteRequest = json(body).await?;
    req.validate()?;
    no_duplicates(&req.items)?;
    let idents: Vec<Ident> = req.items.iter().map(wire::ident).collect();
    state
        .files()
        .delete_records(&who, &idents, req.ignore_unknown_ids)
        .await?;
    Ok(Json(EmptyResponse {}))
}

/// `POST /files/downloadlink`: a presigned GET per item, echoing the identity asked for.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/files/downloadlink",
    tag = "cognite",
    params(
        ("project" = String, Path, description = "The project: the app id."),
    ),
    security(("bearer" = [])),
    request_body(content = DownloadLinkRequest, example = json!({"items": [{"externalId": "report-1"}]})),
    responses(
        (status = 200, description = "One URL per file, each answering the bytes to a plain `GET`", body = ItemsResponse<DownloadLinkItem>),
        (status = 400, description = "A field breaks its limit, an unsupported filter, a body that does not parse; unknown ids (`missing`); a file without content yet", body = ErrorEnvelope),
        (status = 401, description = "No bearer token, or not one of the project's keys or a login token", body = ErrorEnvelope),
        (status = 403, description = "Not found or not allowed: a refusal never confirms that a file exists", body = ErrorEnvelope),
        (status = 413, description = "The body is over 4 MiB", body = ErrorEnvelope),
    ),
)]
async fn download_links(
    State(state): State<AppState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ItemsResponse<DownloadLinkItem>>> {
    let who = authenticate(&state, &project, &headers).await?;
    let req: DownloadLinkRequest = json(body).await?;
    req.validate()?;
    let idents: Vec<Ident> = req.items.iter().map(wire::ident).collect();
    let found = state.files().resolve(&who, &idents, false).await?;
    let mut links = Vec::with_capacity(found.len());
    for (identity, record) in req.items.into_iter().zip(found) {
        if record.content.is_none() {
            return Err(bad_request(format!(
                "File {} has no content yet: upload it first",
                record.id
            )));
        }
        let content_type = record
            .fields
            .mime_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        let in_store = state
            .files()
            .direct_download_url(
                &record,
                &content_type,
                std::time::Duration::from_secs(expires_in(None)?),
            )
            .await?;
        let download_url = match in_store {
            Some(url) => url,
            None => signed_url(&state, "GET", &who, &record)?,
        };
        links.push(DownloadLinkItem {
            identity,
            download_url,
        });
    }
    Ok(Json(ItemsResponse {
        items: links,
        next_cursor: None,
    }))
}

/// The part limits of Cognite's multipart uploads.
pub(super) fn part_limits(state: &AppState) -> PartLimits {
    PartLimits {
        min: state.min_part_size(),
        max: MAX_PART,
    }
}

/// `POST /files/initmultipartupload?parts=N&overwrite=`: the record (as `POST /files`) and one
/// presigned PUT per part, at the top level.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/files/initmultipartupload",
    tag = "cognite",
    params(
        ("project" = String, Path, description = "The project: the app id."),
        ("parts" = i64, Query, description = "How many parts, 1 to 250."),
        ("overwrite" = Option<bool>, Query, description = "Replace the record that has this externalId."),
    ),
    security(("bearer" = [])),
    request_body(content = FileCreate, example = json!({"name": "big.bin", "externalId": "big-1"})),
    responses(
        (status = 200, description = "The record (overwritten), one URL per part and the upload id", body = InitMultipartResponse),
        (status = 201, description = "The new record, one URL per part and the upload id", body = InitMultipartResponse),
        (status = 400, description = "A field breaks its limit, an unsupported filter, a body that does not parse; `parts` missing or outside 1–250", body = ErrorEnvelope),
        (status = 401, description = "No bearer token, or not one of the project's keys or a login token", body = ErrorEnvelope),
        (status = 403, description = "Not found or not allowed: a refusal never confirms that a file exists", body = ErrorEnvelope),
        (status = 413, description = "The body is over 4 MiB", body = ErrorEnvelope),
        (status = 409, description = "`externalId` is taken: `duplicated`", body = ErrorEnvelope),
    ),
)]
async fn init_multipart(
    State(state): State<AppState>,
    Path(project): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let who = authenticate(&state, &project, &headers).await?;
    let overwrite = flag(&q, "overwrite")?;
    let parts: i64 = q
        .get("parts")
        .ok_or_else(|| bad_request("parts is required: the number of parts, 1 to 250"))?
        .parse()
        .map_err(|_| bad_request("parts must be an integer from 1 to 250"))?;
    validate_parts(parts)?;
    let req: FileCreate = json(body).await?;
    req.validate()?;
    let new = wire::new_file(req);
    let mime = new.fields.mime_type.clone().unwrap_or_default();
    let (record, created) = state.files().create_record(&who, new, overwrite).await?;
    let ttl_ms = i64::try_from(state.upload_ttl_secs().saturating_mul(1000)).unwrap_or(i64::MAX);
    let upload = state
        .files()
        .init_upload(
            &who,
            NewUpload {
                path: None,
                record_id: Some(record.id),
                size: None,
                part_size: 0,
                part_count: u64::try_from(parts).unwrap_or(1),
                content_type: mime,
                overwrite: true,
                checksum: stowage_protocol::multipart::ChecksumAlgorithm::None,
                ttl_ms,
                // Cognite's clients complete without naming ETags: parts come through here.
                direct: crate::files::Straight::No,
            },
        )
        .await?;
    let now = u64::try_from(crate::model::now_ms() / 1000).unwrap_or(0);
    let expires = now + expires_in(None)?;
    let upload_urls = (1..=upload.part_count)
        .map(|n| {
            let path = format!("/v1/signed/parts/{}/{n}", upload.id);
            let query = state.signer().sign("PUT", &path, expires, 0, &[]);
            format!("{}{path}?{query}", state.public_base())
        })
        .collect();
    let answer = InitMultipartResponse {
        file: wire::info(record),
        upload_urls,
        upload_id: upload.id,
    };
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(answer)).into_response())
}

/// `POST /files/completemultipartupload`: joins the parts into the record's content; `200 {}`.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/files/completemultipartupload",
    tag = "cognite",
    params(
        ("project" = String, Path, description = "The project: the app id."),
    ),
    security(("bearer" = [])),
    request_body(content = CompleteMultipartRequest, example = json!({"externalId": "big-1", "uploadId": "UPLOAD_ID"})),
    responses(
        (status = 200, description = "The content is the parts joined", body = EmptyResponse),
        (status = 400, description = "A field breaks its limit, an unsupported filter, a body that does not parse; unknown ids (`missing`); parts missing or too small; the upload belongs to another file", body = ErrorEnvelope),
        (status = 401, description = "No bearer token, or not one of the project's keys or a login token", body = ErrorEnvelope),
        (status = 403, description = "Not found or not allowed: a refusal never confirms that a file exists", body = ErrorEnvelope),
        (status = 413, description = "The body is over 4 MiB", body = ErrorEnvelope),
        (status = 404, description = "No such upload", body = ErrorEnvelope),
    ),
)]
async fn complete_multipart(
    State(state): State<AppState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<EmptyResponse>> {
    let who = authenticate(&state, &project, &headers).await?;
    let req: CompleteMultipartRequest = json(body).await?;
    req.validate()?;
    let found = state
        .files()
        .resolve(&who, &[wire::ident(&req.identity)], false)
        .await?;
    let upload = state.files().get_upload(&who, &req.upload_id).await?;
    if found.first().map(|r| r.id) != upload.record_id {
        return Err(bad_request("The upload belongs to another file"));
    }
    state
        .files()
        .complete_upload(&who, &req.upload_id, None, part_limits(&state))
        .await?;
    Ok(Json(EmptyResponse {}))
}

/// Anything else under `/api/v1/projects/`: `404` in Cognite's envelope.
#[utoipa::path(
    method(get, head, post, put, patch, delete),
    path = "/api/v1/projects/{project}/{rest}",
    tag = "cognite",
    params(
        ("project" = String, Path, description = "The project: the app id."),
        ("rest" = String, Path, description = "Anything (axum's `{*rest}`: slashes included)."),
    ),
    responses((status = 404, description = "No such route", body = ErrorEnvelope)),
)]
async fn unknown() -> Error {
    Error(ErrorEnvelope::new(404, "No such route"))
}
