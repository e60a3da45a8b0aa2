//! This shape's part of `/openapi.json`: its handlers' operations, and which routes answer
//! some methods as any path does (a `GET` on `files/move` reads the path `move`).

use utoipa::OpenApi;

/// The Backendless routes: files, permissions and users.
#[derive(OpenApi)]
#[openapi(paths(
    super::get_path,
    super::post_path,
    super::delete_path,
    super::no_put,
    super::put_base64,
    super::move_into,
    super::copy_into,
    super::rename,
    super::permissions::get_rules,
    super::permissions::set_rule,
    super::permissions::set_visibility,
    super::users::register,
    super::users::login,
    super::users::logout,
    super::users::is_valid,
    super::users::user_roles,
    super::users::assign,
    super::users::unassign,
))]
pub(in crate::routes) struct Api;

/// The path whose operations the others share.
const ANY_PATH: &str = "/{app}/{key}/files/{rest}";

/// The routes that answer some methods as [`ANY_PATH`] does (see `openapi::alias`): from, to,
/// methods, operation id suffix. The methods a route's own handlers document are not copied.
pub(in crate::routes) const SHARED: &[(&str, &str, &[&str], &str)] = &[
    (
        ANY_PATH,
        "/{app}/{key}/files",
        &["get", "head", "post", "delete", "put"],
        "root",
    ),
    (
        ANY_PATH,
        "/{app}/{key}/files/",
        &["get", "head", "post", "delete", "put"],
        "root_slash",
    ),
    (
        ANY_PATH,
        "/{app}/{key}/files/move",
        &["get", "head", "post", "delete"],
        "move",
    ),
    (
        ANY_PATH,
        "/{app}/{key}/files/copy",
        &["get", "head", "post", "delete"],
        "copy",
    ),
    (
        ANY_PATH,
        "/{app}/{key}/files/rename",
        &["get", "head", "post", "delete"],
        "rename",
    ),
    (
        ANY_PATH,
        "/{app}/{key}/files/binary/{rest}",
        &["get", "head", "post", "delete"],
        "binary",
    ),
    (
        ANY_PATH,
        "/{app}/{key}/files/permissions/{rest}",
        &["post", "delete"],
        "permissions",
    ),
    (
        ANY_PATH,
        "/{app}/{key}/files/visibility/{rest}",
        &["get", "head", "post", "delete"],
        "visibility",
    ),
];
