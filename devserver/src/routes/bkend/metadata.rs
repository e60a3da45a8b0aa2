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

use super::{api_app, typed};
use crate::error::{AppError, AppResult};
use crate::files::{ListPatch, Patch, Update};
use crate::model::{Direction, FileQuery, FileRecord, Filter, Ident, Order, Span};
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
    }
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
}

async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<FileBody>> {
    let app = api_app(&state, &headers)?;
    let req: Register = typed(&headers, body).await?;
    let path = FilePath::parse(&req.path)?.join(&req.name)?;
    let record = state
        .files()
        .stat(&app, &path)
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
        .update(&app, vec![(Ident::Id(record.id), patch)])
        .await?;
    let record = changed.pop().ok_or_else(ApiError::internal)?;
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
    let app = api_app(&state, &headers)?;
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
    let limit: u32 = param(&q, "limit")?.unwrap_or(50);
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
            min: param(&q, "minSize")?,
            max: param(&q, "maxSize")?,
        },
        created: Span {
            min: param(&q, "createdFrom")?,
            max: param(&q, "createdTo")?,
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
    let page = state.files().query(&app, &query).await?;
    Ok(Json(ListBody {
        items: page
            .items
            .into_iter()
            .map(|r| body_of(&state, &app, r))
            .collect(),
        next_cursor: page.next.map(|n| cursor::encode(&cursor_order, &n)),
    }))
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
    let app = api_app(&state, &headers)?;
    let mut found = state
        .files()
        .resolve(&app, &[Ident::Id(record_id(&id)?)], true)
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
    let app = api_app(&state, &headers)?;
    let id = record_id(&id)?;
    let req: Change = typed(&headers, body).await?;
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
        .update(&app, vec![(Ident::Id(id), patch)])
        .await
        .map_err(not_found_for_unknown)?;
    let record = changed.pop().ok_or_else(ApiError::internal)?;
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
    let app = api_app(&state, &headers)?;
    let id = record_id(&id)?;
    state
        .files()
        .delete_records(&app, &[Ident::Id(id)], false)
        .await
        .map_err(not_found_for_unknown)?;
    Ok(Json(serde_json::json!({ "id": id, "deleted": true })))
}
