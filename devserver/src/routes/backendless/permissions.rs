//! Who may see a path-named file: Backendless's `files/permissions/{GRANT|DENY}/{path}` (the
//! path as one percent-encoded segment, or raw), the rules set on a path, and Stowage's
//! `files/visibility/{path}` for bkend's visibility and sharing of a path-named file.

use axum::extract::{Request, State};
use axum::Json;
use serde_json::{json, Value};
use stowage_protocol::{ErrorBody, ErrorCode, FilePath};

use super::Target;
use crate::error::{AppError, AppResult};
use crate::files::{AccessChange, RuleTarget};
use crate::model::{FileRecord, Op, Rule, Subject, Visibility};
use crate::routes::body;
use crate::routes::table::{route, Routes};
use crate::state::AppState;

/// `permissions` and `visibility` are reserved first segments: no file is named by them. The
/// methods these routes do not take answer as for any path there (an upload is refused as a
/// reserved path).
pub(super) fn routes() -> Routes {
    let routes = route!(
        Routes::new(),
        "/{app}/{key}/files/permissions/{*rest}",
        get(get_rules)
            .head(get_rules)
            .put(set_rule)
            .post(super::post_path)
            .delete(super::delete_path)
    );
    route!(
        routes,
        "/{app}/{key}/files/visibility/{*rest}",
        get(super::get_path)
            .head(super::get_path)
            .put(set_visibility)
            .post(super::post_path)
            .delete(super::delete_path)
    )
}

/// The path after `{prefix}/` in `rest`: one encoded segment (`dir%2Ffile.txt`), a raw path
/// (`dir/file.txt`), or a file URL this server handed out (`…/files/dir/file.txt`).
fn item_path(rest: &str, prefix: &str) -> AppResult<FilePath> {
    let raw = rest
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or("");
    let decoded = percent_decode(raw)?;
    let path = match decoded.split_once("/files/") {
        Some((before, after)) if before.contains("://") => after.to_owned(),
        _ => decoded,
    };
    Ok(FilePath::parse(&path)?)
}

fn percent_decode(text: &str) -> AppResult<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(b) = hex else {
                return Err(AppError::api(
                    ErrorCode::ProhibitedPath,
                    "Path contains a malformed percent-encoding",
                ));
            };
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| {
        AppError::api(
            ErrorCode::ProhibitedPath,
            "Path is not valid UTF-8 once decoded",
        )
    })
}

fn rule_body(path: &FilePath, rule: &Rule) -> Value {
    let mut body = json!({
        "path": path.to_absolute(),
        "permission": rule.op.as_str(),
        "type": if rule.allow { "GRANT" } else { "DENY" },
    });
    if let Some(map) = body.as_object_mut() {
        let (kind, name) = rule.subject.parts();
        map.insert(kind.into(), Value::String(name.to_owned()));
    }
    body
}

/// `PUT files/permissions/{GRANT|DENY}/{path}` `{permission, user}` or `{permission, role}`.
#[utoipa::path(
    put,
    path = "/{app}/{key}/files/permissions/{rest}",
    tag = "permissions",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key."),
        ("rest" = String, Path, description = "`GRANT/{path}` or `DENY/{path}`: the path as one percent-encoded segment, a raw path, or a file URL (axum's `{*rest}`: slashes included)."),
    ),
    security((), ("user_token" = []), ("bearer" = [])),
    request_body(content = crate::routes::schemas::RuleRequest, example = json!({"permission": "READ", "role": "editors"})),
    responses(
        (status = 200, description = "The rule set", body = crate::routes::schemas::RuleBody),
        (status = 400, description = "`8007` InvalidParameter (type, permission, user or role), `8001` ParameterNull, `8002` MissingField, `8004` MalformedJson, `6006` ProhibitedPath, `6008` SegmentTooLong, `6009` PathTooLong", body = ErrorBody),
        (status = 401, description = "`3003` WrongApp, `3064` TokenExpired", body = ErrorBody),
        (status = 403, description = "`4000` NoPermission", body = ErrorBody),
        (status = 404, description = "`6000` NotFound", body = ErrorBody),
        (status = 413, description = "`8005` BodyTooLarge", body = ErrorBody),
        (status = 415, description = "`8003` WrongContentType", body = ErrorBody),
    ),
)]
pub(super) async fn set_rule(
    State(state): State<AppState>,
    target: Target,
    req: Request,
) -> AppResult<Json<Value>> {
    let rest = target.rest.strip_prefix("permissions/").unwrap_or("");
    let (kind, _) = rest.split_once('/').unwrap_or((rest, ""));
    let allow = match kind.to_ascii_uppercase().as_str() {
        "GRANT" => true,
        "DENY" => false,
        _ => return Err(super::invalid("type", kind)),
    };
    let path = item_path(rest, kind)?;
    let (parts, body) = req.into_parts();
    let map = body::json_object(&parts.headers, body).await?;
    let op_text = body::string_field(&map, "permission")?;
    let op = Op::parse(op_text).ok_or_else(|| super::invalid("permission", op_text))?;
    let subject = match (map.get("user"), map.get("role")) {
        (Some(Value::String(u)), None) => Subject::from_parts("user", u),
        (None, Some(Value::String(r))) => Subject::from_parts("role", r),
        _ => None,
    }
    .filter(|s| s.parts().1.len() <= 128)
    .ok_or_else(|| {
        AppError::api(
            ErrorCode::InvalidParameter,
            "The body names one of user (an objectId or *) or role (a role name or *)",
        )
    })?;
    let rule = Rule { op, subject, allow };
    state
        .files()
        .set_rule(&target.who, &RuleTarget::Path(path.clone()), &rule)
        .await?;
    Ok(Json(rule_body(&path, &rule)))
}

/// `GET files/permissions/{path}`: the rules set on the path itself.
#[utoipa::path(
    method(get, head),
    path = "/{app}/{key}/files/permissions/{rest}",
    tag = "permissions",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key."),
        ("rest" = String, Path, description = "The path as one percent-encoded segment, a raw path, or a file URL (axum's `{*rest}`: slashes included)."),
    ),
    security((), ("user_token" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The rules on the path", body = Vec<crate::routes::schemas::RuleBody>),
        (status = 400, description = "`6006` ProhibitedPath, `6008` SegmentTooLong, `6009` PathTooLong", body = ErrorBody),
        (status = 401, description = "`3003` WrongApp, `3064` TokenExpired", body = ErrorBody),
        (status = 403, description = "`4000` NoPermission", body = ErrorBody),
        (status = 404, description = "`6000` NotFound", body = ErrorBody),
    ),
)]
pub(super) async fn get_rules(
    State(state): State<AppState>,
    target: Target,
) -> AppResult<Json<Value>> {
    let rest = target.rest.strip_prefix("permissions").unwrap_or("");
    let path = item_path(rest, "")?;
    let rules = state
        .files()
        .rules_on(&target.who, &RuleTarget::Path(path.clone()))
        .await?;
    Ok(Json(Value::Array(
        rules.iter().map(|r| rule_body(&path, r)).collect(),
    )))
}

/// The access of a record as the path routes answer it.
pub(super) fn access_body(record: &FileRecord) -> Value {
    json!({
        "path": record.path.as_ref().map(FilePath::to_absolute),
        "ownerId": record.access.owner,
        "visibility": record.access.visibility.map(Visibility::as_str),
        "sharedWith": record.access.shared_with,
    })
}

/// `PUT files/visibility/{path}` `{visibility, sharedWith?}`: the owner or the admin only.
#[utoipa::path(
    put,
    path = "/{app}/{key}/files/visibility/{rest}",
    tag = "permissions",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key."),
        ("rest" = String, Path, description = "The path as one percent-encoded segment, a raw path, or a file URL (axum's `{*rest}`: slashes included)."),
    ),
    security((), ("user_token" = []), ("bearer" = [])),
    request_body(content = crate::routes::schemas::VisibilityRequest, example = json!({"visibility": "shared", "sharedWith": []})),
    responses(
        (status = 200, description = "Who may see the file now", body = crate::routes::schemas::AccessBody),
        (status = 400, description = "`8007` InvalidParameter, `8002` MissingField, `8004` MalformedJson, `6006` ProhibitedPath, `6008` SegmentTooLong, `6009` PathTooLong", body = ErrorBody),
        (status = 401, description = "`3003` WrongApp, `3064` TokenExpired", body = ErrorBody),
        (status = 403, description = "`4000` NoPermission", body = ErrorBody),
        (status = 404, description = "`6000` NotFound", body = ErrorBody),
        (status = 413, description = "`8005` BodyTooLarge", body = ErrorBody),
        (status = 415, description = "`8003` WrongContentType", body = ErrorBody),
    ),
)]
pub(super) async fn set_visibility(
    State(state): State<AppState>,
    target: Target,
    req: Request,
) -> AppResult<Json<Value>> {
    let rest = target.rest.strip_prefix("visibility").unwrap_or("");
    let path = item_path(rest, "")?;
    let (parts, body) = req.into_parts();
    let map = body::json_object(&parts.headers, body).await?;
    let change = access_change(&map)?;
    let record = state
        .files()
        .set_access(&target.who, &RuleTarget::Path(path), change)
        .await?;
    Ok(Json(access_body(&record)))
}

/// `visibility` and `sharedWith` of a JSON body.
pub(crate) fn access_change(map: &serde_json::Map<String, Value>) -> AppResult<AccessChange> {
    let bad = |what: &str| {
        AppError::api(
            ErrorCode::InvalidParameter,
            format!("Invalid value for parameter {what}"),
        )
    };
    let visibility = match map.get("visibility") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(v)) => {
            Some(Some(Visibility::parse(v).ok_or_else(|| {
                bad("visibility: public, private, protected or shared")
            })?))
        }
        Some(_) => return Err(bad("visibility")),
    };
    let shared_with = match map.get("sharedWith") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| bad("sharedWith"))
                })
                .collect::<AppResult<Vec<String>>>()?,
        ),
        Some(_) => return Err(bad("sharedWith")),
    };
    if visibility.is_none() && shared_with.is_none() {
        return Err(stowage_protocol::ApiError::missing_field("visibility").into());
    }
    Ok(AccessChange {
        visibility,
        shared_with,
    })
}
