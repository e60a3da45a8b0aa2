//! Directory listings and counts of the Backendless shape: one page per request, paged by the
//! database (keyset with `cursor`, or `offset`), the name `pattern` matched in SQL.

use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use stowage_protocol::{ApiError, FileEntry, FilePath};

use super::{invalid, Target};
use crate::error::AppResult;
use crate::model::{FileQuery, FileRecord, Filter, Order};
use crate::routes::cursor;
use crate::state::AppState;

/// The response header that carries the next page's cursor.
pub(crate) const NEXT_CURSOR: &str = "stowage-next-cursor";

fn filter(target: &Target, dir: &FilePath, dirs: bool) -> AppResult<Filter> {
    let pattern = target
        .query
        .get("pattern")
        .filter(|p| !p.is_empty())
        .cloned();
    if let Some(p) = &pattern {
        glob::Pattern::new(p).map_err(|_| invalid("pattern", p))?;
    }
    Ok(Filter {
        within: Some((dir.clone(), target.flag("sub")?)),
        include_dirs: dirs,
        name_glob: pattern,
        ..Filter::default()
    })
}

fn to_entry(state: &AppState, app: &str, r: FileRecord) -> Option<FileEntry> {
    let path = r.path?;
    Some(FileEntry {
        public_url: state.public_url(app, &path),
        url: path.to_string(),
        name: r.name,
        created_on: r.created_ms,
        updated_on: r.updated_ms,
        size: r.content.map_or(0, |c| c.size),
        is_directory: r.is_dir,
        owner_id: r.access.owner,
        visibility: r.access.visibility.map(|v| v.as_str().to_owned()),
        shared_with: r.access.shared_with,
    })
}

/// `GET` on a directory: `pattern`, `sub`, `pagesize` (1–1000), `offset` or `cursor`.
pub(super) async fn list(state: &AppState, target: &Target, dir: &FilePath) -> AppResult<Response> {
    let after = match target.query.get("cursor").filter(|c| !c.is_empty()) {
        Some(c) => Some(cursor::decode("path", c)?),
        None => None,
    };
    let query = FileQuery {
        filter: filter(target, dir, true)?,
        order: Order::Path,
        limit: u32::try_from(target.number("pagesize", 100, 1000)?.max(1)).unwrap_or(100),
        after,
        offset: target.number("offset", 0, u64::MAX)?,
    };
    let page = state.files().query(&target.who, &query).await?;
    let entries: Vec<FileEntry> = page
        .items
        .into_iter()
        .filter_map(|r| to_entry(state, &target.app, r))
        .collect();
    let mut response = Json(entries).into_response();
    if let Some(next) = page.next {
        if let Ok(v) = HeaderValue::from_str(&cursor::encode("path", &next)) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(NEXT_CURSOR), v);
        }
    }
    Ok(response)
}

/// `GET ?action=count`: `pattern`, `sub`, `countDirectories`.
pub(super) async fn count(
    state: &AppState,
    target: &Target,
    dir: &FilePath,
    record: Option<&FileRecord>,
) -> AppResult<Response> {
    if !dir.is_root() && !record.is_some_and(|e| e.is_dir) {
        return Err(ApiError::not_found().into());
    }
    let filter = filter(target, dir, target.flag("countDirectories")?)?;
    let n = state.files().count(&target.who, &filter).await?;
    Ok(Json(n).into_response())
}
