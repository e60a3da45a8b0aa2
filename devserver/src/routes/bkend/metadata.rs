//! bkend's metadata API: `POST /v1/files` registers a file's metadata after its presigned
//! upload, `GET /v1/files` lists with filters, sort and a cursor, and `GET`, `PATCH`,
//! `DELETE /v1/files/{id}` work on one record. Records are the same ones every shape sees.

use std::collections::{BTreeMap, HashMap};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::{Deserialize, Serialize};
use stowage_protocol::{ApiError, ErrorCode, FilePath};
use utoipa::ToSchema;

use super::{api_principal, typed};
use crate::error::{AppError, AppResult};
use crate::files::{AccessChange, ListPatch, Patch, RuleTarget, Update};
use crate::model::{Direction, FileQuery, FileRecord, Filter, Ident, Order, Span, Visibility};
use crate::routes::cursor;
use crate::routes::schemas::BkendError;
use crate::routes::table::{route, Routes};
use crate::state::AppState;

/// The routes of this part of the shape.
pub(super) fn routes() -> Routes {
    let routes = route!(Routes::new(), "/v1/files", post(register).get(list));
    route!(
        routes,
        "/v1/files/{id}",
        get(one).patch(patch).delete(remove)
    )
}

/// A record as bkend answers it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct FileBody {
    id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    mime_type: Option<String>,
    size: u64,
    uploaded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<String>,
    tags: Vec<String>,
    metadata: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    created_at: i64,
    updated_at: i64,
    /// The user who wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_id: Option<String>,
    /// `public`, `private`, `protected`, `shared`, or none (the permission rules decide).
    #[serde(skip_serializing_if = "Option::is_none")]
    visibility: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    shared_with: Vec<String>,
}

fn body_of(state: &AppState, app: &str, r: FileRecord) -> FileBody {
    FileBody {
        id: r.id,
        url: r.path.as_ref().map(|p| state.public_url(app, p)),
        path: r.path.as_ref().map(FilePath::to_absolute),
        name: r.name,
        mime_type: r.fields.mime_type,
        size: r.content.as_ref().map_or(0, |c| c.size),
        uploaded: r.content.is_some(),
        etag: r.content.map(|c| c.etag),
        category: r.fields.category,
        tags: r.fields.tags,
        metadata: r.fields.metadata,
        created_at: r.created_ms,
        updated_at: r.updated_ms,
        owner_id: r.access.owner,
        visibility: r.access.visibility.map(Visibility::as_str),
        shared_with: r.access.shared_with,
    }
}

/// The visibility change a body asks for, if any.
fn access_change(
    visibility: Option<Option<String>>,
    shared_with: Option<Vec<String>>,
) -> AppResult<Option<AccessChange>> {
    let visibility = match visibility {
        None => None,
        Some(None) => Some(None),
        Some(Some(v)) => Some(Some(Visibility::parse(&v).ok_or_else(|| {
            AppError::api(
                ErrorCode::InvalidParameter,
                format!(
                    "visibility must be public, private, protected or shared, not {}",
                    crate::error::shorten(&v)
                ),
            )
        })?)),
    };
    Ok(
        (visibility.is_some() || shared_with.is_some()).then_some(AccessChange {
            visibility,
            shared_with,
        }),
    )
}

/// `POST /v1/files`: metadata for the file just uploaded to `{path}/{name}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Register {
    path: String,
    name: String,
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    shared_with: Option<Vec<String>>,
}

/// `POST /v1/files`: registers the metadata of the file just uploaded to its presigned URL.
#[utoipa::path(
    post,
    path = "/v1/files",
    operation_id = "bkend_register",
    tag = "bkend",
    security(("x_api_key" = []), ("x_api_key" = [], "bearer" = [])),
    request_body(content = Register, example = json!({"path": "/docs", "name": "readme.txt", "category": "documents", "tags": ["a"], "metadata": {"k": "v"}})),
    responses(
        (status = 200, description = "The record", body = FileBody),
        (status = 400, description = "`8001` ParameterNull, `8002` MissingField, `8004` MalformedJson, `8007` InvalidParameter, `6018` InvalidField, `7007` SizeMismatch, `6006` ProhibitedPath, `6008` SegmentTooLong, `6009` PathTooLong", body = BkendError),
        (status = 401, description = "`3003` WrongApp (`X-API-Key`), `3064` TokenExpired, `6021` AuthenticationRequired", body = BkendError),
        (status = 403, description = "`4000` NoPermission", body = BkendError),
        (status = 404, description = "`6000` NotFound: nothing uploaded at the path", body = BkendError),
        (status = 413, description = "`8005` BodyTooLarge", body = BkendError),
        (status = 415, description = "`8003` WrongContentType", body = BkendError),
    ),
)]
pub(super) async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<FileBody>> {
    let who = api_principal(&state, &headers).await?;
    let app = who.app.clone();
    let req: Register = typed(&headers, body).await?;
    let path = FilePath::parse(&req.path)?.join(&req.name)?;
    // After a presigned PUT straight to the object store, this is what commits the file.
    state.files().finish_direct_put(&who, &path).await?;
    let record = state
        .files()
        .stat(&who, &path)
        .await?
        .filter(|r| !r.is_dir)
        .ok_or_else(|| {
            AppError::api(
                ErrorCode::NotFound,
                format!(
                    "No uploaded file at {}: upload it to its presigned URL first",
                    crate::error::shorten(&path.to_absolute())
                ),
            )
        })?;
    if let (Some(size), Some(content)) = (req.size, &record.content) {
        if size != content.size {
            return Err(AppError::api(
                ErrorCode::SizeMismatch,
                format!("The file is {} bytes, not {size}", content.size),
            ));
        }
    }
    let patch = Patch {
        mime_type: req.mime_type.map_or(Update::Keep, Update::Set),
        category: req.category.map_or(Update::Keep, Update::Set),
        tags: ListPatch {
            set: req.tags,
            ..ListPatch::default()
        },
        metadata_set: req.metadata,
        ..Patch::default()
    };
    let mut changed = state
        .files()
        .update(&who, vec![(Ident::Id(record.id), patch)])
        .await?;
    let mut record = changed.pop().ok_or_else(ApiError::internal)?;
    if let Some(change) = access_change(req.visibility.map(Some), req.shared_with)? {
        record = state
            .files()
            .set_access(&who, &RuleTarget::Id(record.id), change)
            .await?;
    }
    Ok(Json(body_of(&state, &app, record)))
}

/// A page of records.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListBody {
    items: Vec<FileBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

fn param<T: std::str::FromStr>(q: &HashMap<String, String>, name: &str) -> AppResult<Option<T>> {
    q.get(name)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse().map_err(|_| {
                AppError::api(
                    ErrorCode::InvalidParameter,
                    format!(
                        "Invalid value for parameter {name}: {}",
                        crate::error::shorten(v)
                    ),
                )
            })
        })
        .transpose()
}

/// `GET /v1/files`: `category`, `tags` (comma-separated, any), `mimeType`, `name` (contains),
/// `minSize`/`maxSize`, `createdFrom`/`createdTo` (ms), `sort` (`name`, `size`, `createdAt`),
/// `order` (`asc`, `desc`), `limit` (1–1000, default 50), `cursor`.
#[utoipa::path(
    get,
    path = "/v1/files",
    operation_id = "bkend_list",
    tag = "bkend",
    params(
        ("category" = Option<String>, Query, description = "Exactly this category."),
        ("tags" = Option<String>, Query, description = "Comma-separated: any of these tags."),
        ("mimeType" = Option<String>, Query, description = "Exactly this media type."),
        ("name" = Option<String>, Query, description = "The name contains this."),
        ("minSize" = Option<u64>, Query, description = "At least this many bytes."),
        ("maxSize" = Option<u64>, Query, description = "At most this many bytes."),
        ("createdFrom" = Option<i64>, Query, description = "Made at or after, ms since the epoch."),
        ("createdTo" = Option<i64>, Query, description = "Made at or before, ms since the epoch."),
        ("sort" = Option<String>, Query, description = "`name`, `size` or `createdAt` (default)."),
        ("order" = Option<String>, Query, description = "`asc` (default) or `desc`."),
        ("limit" = Option<u32>, Query, description = "1 to 1000, default 50."),
        ("cursor" = Option<String>, Query, description = "The `nextCursor` of the page before (same `sort` and `order`)."),
    ),
    security(("x_api_key" = []), ("x_api_key" = [], "bearer" = [])),
    responses(
        (status = 200, description = "A page of records", body = ListBody),
        (status = 400, description = "`8007` InvalidParameter, `6020` InvalidCursor", body = BkendError),
        (status = 401, description = "`3003` WrongApp (`X-API-Key`), `3064` TokenExpired, `6021` AuthenticationRequired", body = BkendError),
    ),
)]
pub(super) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Json<ListBody>> {
    let who = api_principal(&state, &headers).await?;
    let app = who.app.clone();
    let (query, cursor_order) = list_query(&q)?;
    let page = state.files().query(&who, &query).await?;
    Ok(Json(ListBody {
        items: page
            .items
            .into_iter()
            .map(|r| body_of(&state, &app, r))
            .collect(),
        next_cursor: page.next.map(|n| cursor::encode(&cursor_order, &n)),
    }))
}

/// The query and cursor order a `GET /v1/files` query string asks for.
pub(in crate::routes) fn list_query(q: &HashMap<String, String>) -> AppResult<(FileQuery, String)> {
    let direction = match q.get("order").map(String::as_str) {
        None | Some("" | "asc") => Direction::Asc,
        Some("desc") => Direction::Desc,
        Some(other) => return Err(invalid("order", other)),
    };
    let (order, name) = match q.get("sort").map(String::as_str) {
        None | Some("" | "createdAt") => (Order::Created(direction), "createdAt"),
        Some("name") => (Order::Name(direction), "name"),
        Some("size") => (Order::Size(direction), "size"),
        Some(other) => return Err(invalid("sort", other)),
    };
    let cursor_order = format!("{name}-{direction:?}");
    let after = match q.get("cursor").filter(|c| !c.is_empty()) {
        Some(c) => Some(cursor::decode(&cursor_order, c)?),
        None => None,
    };
    let limit: u32 = param(q, "limit")?.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(invalid("limit", &limit.to_string()));
    }
    let filter = Filter {
        category: q.get("category").filter(|c| !c.is_empty()).cloned(),
        tags_any: q
            .get("tags")
            .map(|t| {
                t.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        mime_type: q.get("mimeType").filter(|c| !c.is_empty()).cloned(),
        name_contains: q.get("name").filter(|c| !c.is_empty()).cloned(),
        size: Span {
            min: param(q, "minSize")?,
            max: param(q, "maxSize")?,
        },
        created: Span {
            min: param(q, "createdFrom")?,
            max: param(q, "createdTo")?,
        },
        ..Filter::default()
    };
    let query = FileQuery {
        filter,
        order,
        limit,
        after,
        offset: 0,
    };
    Ok((query, cursor_order))
}

fn invalid(name: &str, value: &str) -> AppError {
    AppError::api(
        ErrorCode::InvalidParameter,
        format!(
            "Invalid value for parameter {name}: {}",
            crate::error::shorten(value)
        ),
    )
}

fn record_id(text: &str) -> AppResult<i64> {
    text.parse().map_err(|_| ApiError::not_found().into())
}

/// `GET /v1/files/{id}`: one record.
#[utoipa::path(
    get,
    path = "/v1/files/{id}",
    operation_id = "bkend_one",
    tag = "bkend",
    params(("id" = String, Path, description = "The record's id (a number; anything else is `404 6000`).")),
    security(("x_api_key" = []), ("x_api_key" = [], "bearer" = [])),
    responses(
        (status = 200, description = "The record", body = FileBody),
        (status = 401, description = "`3003` WrongApp (`X-API-Key`), `3064` TokenExpired, `6021` AuthenticationRequired", body = BkendError),
        (status = 403, description = "`4000` NoPermission", body = BkendError),
        (status = 404, description = "`6000` NotFound", body = BkendError),
    ),
)]
pub(super) async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Json<FileBody>> {
    let who = api_principal(&state, &headers).await?;
    let app = who.app.clone();
    let mut found = state
        .files()
        .resolve(&who, &[Ident::Id(record_id(&id)?)], true)
        .await?;
    let record = found.pop().ok_or_else(ApiError::not_found)?;
    Ok(Json(body_of(&state, &app, record)))
}

/// `PATCH /v1/files/{id}`: `{name?, mimeType?, category?, tags?, metadata?}`; `null` clears.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Change {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, with = "nullable")]
    #[schema(value_type = Option<String>)]
    mime_type: Update<String>,
    #[serde(default, with = "nullable")]
    #[schema(value_type = Option<String>)]
    category: Update<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
    /// `null` clears it (the permission rules decide again).
    #[serde(default, with = "nullable")]
    #[schema(value_type = Option<String>)]
    visibility: Update<String>,
    #[serde(default)]
    shared_with: Option<Vec<String>>,
}

/// A field that may be absent (keep), `null` (clear) or a value (set).
mod nullable {
    use serde::{Deserialize, Deserializer};

    use crate::files::Update;

    pub(super) fn deserialize<'de, D, T>(d: D) -> Result<Update<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Ok(match Option::<T>::deserialize(d)? {
            Some(v) => Update::Set(v),
            None => Update::SetNull,
        })
    }
}

#[utoipa::path(
    patch,
    path = "/v1/files/{id}",
    operation_id = "bkend_patch",
    tag = "bkend",
    params(("id" = String, Path, description = "The record's id (a number; anything else is `404 6000`).")),
    security(("x_api_key" = []), ("x_api_key" = [], "bearer" = [])),
    request_body(content = Change, example = json!({"category": "images", "tags": ["b"], "mimeType": null})),
    responses(
        (status = 200, description = "The record as changed", body = FileBody),
        (status = 400, description = "`8001` ParameterNull, `8004` MalformedJson, `8007` InvalidParameter, `6018` InvalidField", body = BkendError),
        (status = 401, description = "`3003` WrongApp (`X-API-Key`), `3064` TokenExpired, `6021` AuthenticationRequired", body = BkendError),
        (status = 403, description = "`4000` NoPermission", body = BkendError),
        (status = 404, description = "`6000` NotFound", body = BkendError),
        (status = 409, description = "`6003` AlreadyExists: a rename onto a taken name", body = BkendError),
        (status = 413, description = "`8005` BodyTooLarge", body = BkendError),
        (status = 415, description = "`8003` WrongContentType", body = BkendError),
    ),
)]
pub(super) async fn patch(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> AppResult<Json<FileBody>> {
    let who = api_principal(&state, &headers).await?;
    let app = who.app.clone();
    let id = record_id(&id)?;
    let req: Change = typed(&headers, body).await?;
    let visibility = match req.visibility {
        Update::Keep => None,
        Update::SetNull => Some(None),
        Update::Set(v) => Some(Some(v)),
    };
    let access = access_change(visibility, req.shared_with)?;
    let fields_change = req.name.is_some()
        || req.mime_type != Update::Keep
        || req.category != Update::Keep
        || req.tags.is_some()
        || req.metadata.is_some();
    if let (Some(change), false) = (&access, fields_change) {
        // Only who sees it changes: the owner's (or admin's) business, not a write.
        let record = state
            .files()
            .set_access(&who, &RuleTarget::Id(id), change.clone())
            .await?;
        return Ok(Json(body_of(&state, &app, record)));
    }
    let patch = Patch {
        name: req.name,
        mime_type: req.mime_type,
        category: req.category,
        tags: ListPatch {
            set: req.tags,
            ..ListPatch::default()
        },
        metadata_set: req.metadata,
        // A bkend file is a file at a path: a rename must keep it there.
        keep_path: true,
        ..Patch::default()
    };
    let mut changed = state
        .files()
        .update(&who, vec![(Ident::Id(id), patch)])
        .await
        .map_err(not_found_for_unknown)?;
    let mut record = changed.pop().ok_or_else(ApiError::internal)?;
    if let Some(change) = access {
        record = state
            .files()
            .set_access(&who, &RuleTarget::Id(id), change)
            .await?;
    }
    Ok(Json(body_of(&state, &app, record)))
}

fn not_found_for_unknown(e: AppError) -> AppError {
    match e {
        AppError::Unknown(_) => ApiError::not_found().into(),
        other => other,
    }
}

/// `DELETE /v1/files/{id}`: the record and its bytes.
#[utoipa::path(
    delete,
    path = "/v1/files/{id}",
    operation_id = "bkend_remove",
    tag = "bkend",
    params(("id" = String, Path, description = "The record's id (a number; anything else is `404 6000`).")),
    security(("x_api_key" = []), ("x_api_key" = [], "bearer" = [])),
    responses(
        (status = 200, description = "Deleted", body = crate::routes::schemas::DeletedRecord),
        (status = 401, description = "`3003` WrongApp (`X-API-Key`), `3064` TokenExpired, `6021` AuthenticationRequired", body = BkendError),
        (status = 403, description = "`4000` NoPermission", body = BkendError),
        (status = 404, description = "`6000` NotFound", body = BkendError),
    ),
)]
pub(super) async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Json<serde_json::Value>> {
    let who = api_principal(&state, &headers).await?;
    let id = record_id(&id)?;
    state
        .files()
        .delete_records(&who, &[Ident::Id(id)], false)
        .await
        .map_err(not_found_for_unknown)?;
    Ok(Json(serde_json::json!({ "id": id, "deleted": true })))
}
