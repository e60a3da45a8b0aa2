//! bkend's metadata API: `POST /v1/files` registers a file's metadata after its presigned
//! upload, `GET /v1/files` lists with filters, sort and a cursor, and `GET`, `PATCH`,
//! `DELETE /v1/files/{id}` work on one record. Records are the same ones every shape sees.

use std::collections::{BTreeMap, HashMap};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use stowage_protocol::{ApiError, ErrorCode, FilePath};

use super::{api_principal, typed};
use crate::error::{AppError, AppResult};
use crate::files::{AccessChange, ListPatch, Patch, RuleTarget, Update};
use crate::model::{Direction, FileQuery, FileRecord, Filter, Ident, Order, Span, Visibility};
use crate::routes::cursor;
use crate::state::AppState;

/// The routes of this part of the shape.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/files", post(register).get(list))
        .route("/v1/files/{id}", get(one).patch(patch).delete(remove))
}

/// A record as bkend answers it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FileBody {
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
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Register {
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

async fn register(
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

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ListBody {
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
async fn list(
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

async fn one(
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
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Change {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, with = "nullable")]
    mime_type: Update<String>,
    #[serde(default, with = "nullable")]
    category: Update<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
    /// `null` clears it (the permission rules decide again).
    #[serde(default, with = "nullable")]
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

async fn patch(
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

async fn remove(
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
