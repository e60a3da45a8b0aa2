//! Users under the app root, as Backendless has them: `users/register`, `users/login`,
//! `users/logout`, `users/isvalidusertoken/{token}`, `users/userroles`, and the admin's
//! `users/assignRole` and `users/unassignRole`.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use stowage_protocol::{ErrorBody, ErrorCode};

use crate::error::{AppError, AppResult};
use crate::files::Files;
use crate::model::{Principal, User};
use crate::routes::table::{route, Routes};
use crate::routes::{body, principal};
use crate::state::AppState;

pub(super) fn routes() -> Routes {
    let routes = Routes::new();
    let routes = route!(routes, "/{app}/{key}/users/register", post(register));
    let routes = route!(routes, "/{app}/{key}/users/login", post(login));
    let routes = route!(routes, "/{app}/{key}/users/logout", get(logout));
    let routes = route!(
        routes,
        "/{app}/{key}/users/isvalidusertoken/{token}",
        get(is_valid)
    );
    let routes = route!(routes, "/{app}/{key}/users/userroles", get(user_roles));
    let routes = route!(routes, "/{app}/{key}/users/assignRole", post(assign));
    route!(routes, "/{app}/{key}/users/unassignRole", post(unassign))
}

/// A user as Backendless answers one.
fn user_body(user: &User, roles: &[String]) -> Value {
    json!({
        "objectId": user.id,
        "ownerId": user.id,
        "email": user.email,
        "name": user.name,
        "created": user.created_ms,
        "updated": null,
        "userStatus": "ENABLED",
        "roles": roles,
        "___class": "Users",
    })
}

fn roles_of(user: &User) -> Vec<String> {
    Files::roles_of(&Principal {
        app: String::new(),
        who: crate::model::Who::User {
            id: user.id.clone(),
            roles: user.roles.clone(),
        },
    })
}

fn optional_string(map: &serde_json::Map<String, Value>, name: &str) -> AppResult<Option<String>> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(AppError::api(
            ErrorCode::InvalidParameter,
            format!("{name} must be a string"),
        )),
    }
}

/// `POST users/register` `{email, password, name?}`: the new user, not logged in.
#[utoipa::path(
    post,
    path = "/{app}/{key}/users/register",
    tag = "users",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key."),
    ),
    request_body(content = crate::routes::schemas::RegisterRequest, example = json!({"email": "ada@example.com", "password": "correct horse battery", "name": "Ada"})),
    responses(
        (status = 200, description = "The new user", body = crate::routes::schemas::UserBody),
        (status = 400, description = "`8001` ParameterNull, `8002` MissingField, `8004` MalformedJson, `8007` InvalidParameter", body = ErrorBody),
        (status = 413, description = "`8005` BodyTooLarge", body = ErrorBody),
        (status = 415, description = "`8003` WrongContentType", body = ErrorBody),
        (status = 401, description = "`3003` WrongApp", body = ErrorBody),
        (status = 409, description = "`3033` UserExists", body = ErrorBody),
    ),
)]
pub(super) async fn register(
    State(state): State<AppState>,
    Path((app, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<Value>> {
    state.authenticate(&app, &key)?;
    let map = body::json_object(&headers, body).await?;
    let email = body::string_field(&map, "email")?;
    let password = body::string_field(&map, "password")?;
    let name = optional_string(&map, "name")?;
    let user = state.files().register(&app, email, password, name).await?;
    Ok(Json(user_body(&user, &roles_of(&user))))
}

/// `POST users/login` `{login, password}`: the user with its `user-token`.
#[utoipa::path(
    post,
    path = "/{app}/{key}/users/login",
    tag = "users",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key."),
    ),
    request_body(content = crate::routes::schemas::LoginRequest, example = json!({"login": "ada@example.com", "password": "correct horse battery"})),
    responses(
        (status = 200, description = "The user, with `user-token` and `lastLogin`", body = crate::routes::schemas::UserBody),
        (status = 400, description = "`8001` ParameterNull, `8002` MissingField, `8004` MalformedJson, `8007` InvalidParameter", body = ErrorBody),
        (status = 413, description = "`8005` BodyTooLarge", body = ErrorBody),
        (status = 415, description = "`8003` WrongContentType", body = ErrorBody),
        (status = 401, description = "`3003` WrongApp: unknown app, or a wrong login or password", body = ErrorBody),
        (status = 429, description = "`6022` TooManyAttempts; see `Retry-After`", body = ErrorBody),
    ),
)]
pub(super) async fn login(
    State(state): State<AppState>,
    Path((app, key)): Path<(String, String)>,
    req: axum::extract::Request,
) -> AppResult<Json<Value>> {
    state.authenticate(&app, &key)?;
    // The peer address, when the server was started with it (tests that call the router
    // directly have none; the account limit still holds).
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let (parts, body) = req.into_parts();
    let map = body::json_object(&parts.headers, body).await?;
    let login = body::string_field(&map, "login")?;
    let password = body::string_field(&map, "password")?;
    let (user, token) = state
        .files()
        .login(&app, login, password, peer, state.token_ttl_ms())
        .await?;
    let mut answer = user_body(&user, &roles_of(&user));
    if let Some(map) = answer.as_object_mut() {
        map.insert("user-token".into(), Value::String(token));
        map.insert("lastLogin".into(), json!(crate::model::now_ms()));
    }
    Ok(Json(answer))
}

/// `GET users/logout` with the `user-token` header.
#[utoipa::path(
    get,
    path = "/{app}/{key}/users/logout",
    tag = "users",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key."),
    ),
    security(("user_token" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "`null`: the token no longer works", body = Option<String>),
        (status = 401, description = "`3003` WrongApp, `3064` TokenExpired, `6021` AuthenticationRequired (no token)", body = ErrorBody),
    ),
)]
pub(super) async fn logout(
    State(state): State<AppState>,
    Path((app, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> AppResult<Response> {
    state.authenticate(&app, &key)?;
    let Some(token) = principal::raw_token(&headers) else {
        return Err(AppError::api(
            ErrorCode::AuthenticationRequired,
            "Logout needs the user-token header",
        ));
    };
    state.files().logout(&app, token).await?;
    Ok(Json(Value::Null).into_response())
}

/// `GET users/isvalidusertoken/{token}`: `true` or `false`.
#[utoipa::path(
    get,
    path = "/{app}/{key}/users/isvalidusertoken/{token}",
    tag = "users",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key."),
        ("token" = String, Path, description = "A `user-token`."),
    ),
    responses(
        (status = 200, description = "Whether the token is a live login", body = bool),
        (status = 401, description = "`3003` WrongApp", body = ErrorBody),
    ),
)]
pub(super) async fn is_valid(
    State(state): State<AppState>,
    Path((app, key, token)): Path<(String, String, String)>,
) -> AppResult<Json<bool>> {
    state.authenticate(&app, &key)?;
    Ok(Json(
        state.files().token_user(&app, &token).await?.is_some(),
    ))
}

/// `GET users/userroles`: the caller's roles.
#[utoipa::path(
    get,
    path = "/{app}/{key}/users/userroles",
    tag = "users",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key."),
    ),
    security((), ("user_token" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The caller's roles", body = Vec<String>),
        (status = 401, description = "`3003` WrongApp, `3064` TokenExpired", body = ErrorBody),
    ),
)]
pub(super) async fn user_roles(
    State(state): State<AppState>,
    Path((app, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> AppResult<Json<Vec<String>>> {
    state.authenticate(&app, &key)?;
    let who = principal::resolve(&state, &app, &headers, true).await?;
    Ok(Json(Files::roles_of(&who)))
}

async fn set_role(
    state: &AppState,
    app: &str,
    key: &str,
    headers: &HeaderMap,
    body: Body,
    assign: bool,
) -> AppResult<Json<Value>> {
    state.authenticate(app, key)?;
    let who = principal::resolve(state, app, headers, true).await?;
    let map = body::json_object(headers, body).await?;
    let user = body::string_field(&map, "user")?;
    let role = body::string_field(&map, "roleName")?;
    let roles = state.files().set_role(&who, user, role, assign).await?;
    Ok(Json(json!({ "user": user, "roles": roles })))
}

/// `POST users/assignRole` `{user, roleName}`: admin only.
#[utoipa::path(
    post,
    path = "/{app}/{key}/users/assignRole",
    tag = "users",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key."),
    ),
    security(("admin_key" = [])),
    request_body(content = crate::routes::schemas::RoleRequest, example = json!({"user": "ada@example.com", "roleName": "editors"})),
    responses(
        (status = 200, description = "The user's roles now", body = crate::routes::schemas::RolesBody),
        (status = 400, description = "`8001` ParameterNull, `8002` MissingField, `8004` MalformedJson, `8007` InvalidParameter", body = ErrorBody),
        (status = 413, description = "`8005` BodyTooLarge", body = ErrorBody),
        (status = 415, description = "`8003` WrongContentType", body = ErrorBody),
        (status = 401, description = "`3003` WrongApp, `3064` TokenExpired", body = ErrorBody),
        (status = 403, description = "`4000` NoPermission: not the admin key", body = ErrorBody),
        (status = 404, description = "`6000` NotFound: no such user", body = ErrorBody),
    ),
)]
pub(super) async fn assign(
    State(state): State<AppState>,
    Path((app, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<Value>> {
    set_role(&state, &app, &key, &headers, body, true).await
}

/// `POST users/unassignRole` `{user, roleName}`: admin only.
#[utoipa::path(
    post,
    path = "/{app}/{key}/users/unassignRole",
    tag = "users",
    params(
        ("app" = String, Path, description = "The app id."),
        ("key" = String, Path, description = "The app's API key."),
    ),
    security(("admin_key" = [])),
    request_body(content = crate::routes::schemas::RoleRequest, example = json!({"user": "ada@example.com", "roleName": "editors"})),
    responses(
        (status = 200, description = "The user's roles now", body = crate::routes::schemas::RolesBody),
        (status = 400, description = "`8001` ParameterNull, `8002` MissingField, `8004` MalformedJson, `8007` InvalidParameter", body = ErrorBody),
        (status = 413, description = "`8005` BodyTooLarge", body = ErrorBody),
        (status = 415, description = "`8003` WrongContentType", body = ErrorBody),
        (status = 401, description = "`3003` WrongApp, `3064` TokenExpired", body = ErrorBody),
        (status = 403, description = "`4000` NoPermission: not the admin key", body = ErrorBody),
        (status = 404, description = "`6000` NotFound: no such user", body = ErrorBody),
    ),
)]
pub(super) async fn unassign(
    State(state): State<AppState>,
    Path((app, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<Value>> {
    set_role(&state, &app, &key, &headers, body, false).await
}
