//! The `#[wasm_bindgen]` surface of access control: the TypeScript shapes (`StowageUser`,
//! `Registration`, `Visibility`, `FileAccess`, `Grantee`, `PermissionRule`), and `register`,
//! `login`, `logout`, `currentUser`, `setVisibility`, `share`, `grant`, `deny` and
//! `permissions` on `StorageClient` and as module-level functions. Each item only checks and
//! converts values; the work is in `users.rs`, `client.rs` and `access.rs`.

use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::access::{Grantee, Permission, Registration, RuleKind, Visibility};
use crate::client::Client;
use crate::error::Error;
use crate::js::{configured, StorageClient};
use crate::options::{decode_object, primitive};
use crate::users;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A user of the app (Backendless `Users`), as `register`, `login` and `currentUser` answer it. */
export interface StowageUser {
  objectId: string;
  email: string;
  name?: string | null;
  /** The token calls carry: in the answers of `login` and `currentUser` only. */
  "user-token"?: string;
  /** `"AuthenticatedUser"` and the roles the admin assigned (after `login`). */
  roles?: string[];
  ___class?: "Users";
  /** Registration time, ms since the epoch. */
  created?: number;
  userStatus?: string;
  [field: string]: unknown;
}

/** What `register` needs. */
export interface Registration {
  /** The login; unique in the app, compared case-insensitively. */
  email: string;
  /** 8 to 1024 bytes. */
  password: string;
  /** A display name. */
  name?: string;
}

/**
 * Who may read a file besides its owner and the admin: everyone (`"public"`), nobody
 * (`"private"`), every signed-in user (`"protected"`), or the users in `sharedWith`
 * (`"shared"`). Whatever the visibility, only the owner and the admin change or delete a file,
 * unless a rule on the file grants a user more.
 */
export type Visibility = "public" | "private" | "protected" | "shared";

/** A file's owner and visibility, as `setVisibility` and `share` answer them. */
export interface FileAccess {
  /** The path from the storage root. */
  path: string;
  /** The user who wrote it; `null` for files the admin or an anonymous caller wrote. */
  ownerId: string | null;
  /** `null`: the folders' rules and the app's defaults decide. */
  visibility: Visibility | null;
  sharedWith: string[];
}

/** The operations a rule is about. */
export type PermissionName = "READ" | "WRITE" | "DELETE";

/** Whom a rule names: one user by `objectId`, or a role by name; `"*"` for all of them. */
export type Grantee = { user: string } | { role: string };

/** A rule set on a file or folder, as `permissions` answers them. */
export interface PermissionRule {
  permission: PermissionName;
  type: "GRANT" | "DENY";
  user?: string;
  role?: string;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// JS `Registration`.
    #[wasm_bindgen(typescript_type = "Registration")]
    #[derive(Debug, Clone)]
    pub type JsRegistration;
    /// JS `StowageUser`.
    #[wasm_bindgen(typescript_type = "StowageUser")]
    #[derive(Debug, Clone)]
    pub type JsStowageUser;
    /// JS `StowageUser | null`.
    #[wasm_bindgen(typescript_type = "StowageUser | null")]
    #[derive(Debug, Clone)]
    pub type JsCurrentUser;
    /// JS `Visibility | null`.
    #[wasm_bindgen(typescript_type = "Visibility | null")]
    #[derive(Debug, Clone)]
    pub type JsVisibility;
    /// JS `string[]` of user objectIds.
    #[wasm_bindgen(typescript_type = "string[]")]
    #[derive(Debug, Clone)]
    pub type JsUserIds;
    /// JS `FileAccess`.
    #[wasm_bindgen(typescript_type = "FileAccess")]
    #[derive(Debug, Clone)]
    pub type JsFileAccess;
    /// JS `PermissionName`.
    #[wasm_bindgen(typescript_type = "PermissionName")]
    #[derive(Debug, Clone)]
    pub type JsPermissionName;
    /// JS `Grantee`.
    #[wasm_bindgen(typescript_type = "Grantee")]
    #[derive(Debug, Clone)]
    pub type JsGrantee;
    /// JS `PermissionRule[]`.
    #[wasm_bindgen(typescript_type = "PermissionRule[]")]
    #[derive(Debug, Clone)]
    pub type JsPermissionRules;
}

#[wasm_bindgen]
impl StorageClient {
    /// Registers a user (`POST …/users/register`); resolves with the new user, who is not
    /// signed in yet. An email the app knows rejects with `StorageError` 3033 (409).
    ///
    /// ```javascript
    /// const user = await files.register({ email: 'ann@example.com', password: 'correct horse', name: 'Ann' });
    /// ```
    pub async fn register(&self, registration: JsRegistration) -> Result<JsStowageUser, JsValue> {
        Ok(ops::register(&self.client, registration).await?)
    }

    /// Signs in (`POST …/users/login`): from then on every call of this client carries the
    /// user's token. Resolves with the user; a wrong login or password rejects with 3003 (401),
    /// too many failures with 6022 (429).
    ///
    /// ```javascript
    /// const me = await files.login('ann@example.com', 'correct horse');
    /// console.log(me.objectId, files.currentUser().email);
    /// ```
    pub async fn login(&self, login: String, password: String) -> Result<JsStowageUser, JsValue> {
        Ok(ops::login(&self.client, &login, &password).await?)
    }

    /// Signs out: the token is forgotten here at once (and in `localStorage`), then ended on
    /// the server (`GET …/users/logout`). Rejects only when the server could not be told.
    ///
    /// ```javascript
    /// await files.logout(); // files.currentUser() === null
    /// ```
    pub async fn logout(&self) -> Result<(), JsValue> {
        Ok(users::logout(&self.client.endpoint()).await?)
    }

    /// The signed-in user, or `null`. For a client made with only a `userToken`, the user is
    /// `{"user-token": token}`. A token the server calls dead (3064) is dropped, after which
    /// this is `null`.
    ///
    /// ```javascript
    /// const me = files.currentUser();
    /// signInForm.hidden = me !== null;
    /// ```
    #[wasm_bindgen(js_name = currentUser)]
    pub fn current_user(&self) -> JsCurrentUser {
        ops::current_user(&self.client)
    }

    /// Sets who may read a file or folder besides its owner (`PUT …/files/visibility/{path}`):
    /// `null` removes the visibility; `sharedWith` lists the users of `"shared"`. Only the
    /// owner and the admin may; others get 4000 (403). Resolves with the file's `FileAccess`.
    ///
    /// ```javascript
    /// await files.setVisibility('/docs/plan.txt', 'public');
    /// await files.setVisibility('/docs/plan.txt', 'shared', [bob.objectId]);
    /// ```
    #[wasm_bindgen(js_name = setVisibility)]
    pub async fn set_visibility(
        &self,
        path: String,
        visibility: JsVisibility,
        #[wasm_bindgen(js_name = sharedWith)] shared_with: Option<JsUserIds>,
    ) -> Result<JsFileAccess, JsValue> {
        Ok(ops::set_visibility(&self.client, &path, &visibility, shared_with).await?)
    }

    /// Shares a file with these users only: `setVisibility(path, "shared", userIds)`.
    ///
    /// ```javascript
    /// await files.share('/docs/plan.txt', [bob.objectId, carol.objectId]);
    /// ```
    pub async fn share(
        &self,
        path: String,
        #[wasm_bindgen(js_name = userIds)] user_ids: JsUserIds,
    ) -> Result<JsFileAccess, JsValue> {
        Ok(ops::share(&self.client, &path, &user_ids).await?)
    }

    /// Grants `permission` on a file or folder to one user or role (`"*"` for all):
    /// `PUT …/files/permissions/GRANT/{path}`. Only the owner and the admin may.
    ///
    /// ```javascript
    /// await files.grant('/docs/plan.txt', 'WRITE', { user: bob.objectId });
    /// await files.grant('/docs', 'READ', { role: 'AuthenticatedUser' });
    /// ```
    pub async fn grant(
        &self,
        path: String,
        permission: JsPermissionName,
        grantee: JsGrantee,
    ) -> Result<(), JsValue> {
        Ok(ops::rule(&self.client, RuleKind::Grant, &path, &permission, &grantee).await?)
    }

    /// Denies `permission` on a file or folder to one user or role (`"*"` for all):
    /// `PUT …/files/permissions/DENY/{path}`. Only the owner and the admin may.
    ///
    /// ```javascript
    /// await files.deny('/docs/plan.txt', 'READ', { user: '*' });
    /// ```
    pub async fn deny(
        &self,
        path: String,
        permission: JsPermissionName,
        grantee: JsGrantee,
    ) -> Result<(), JsValue> {
        Ok(ops::rule(&self.client, RuleKind::Deny, &path, &permission, &grantee).await?)
    }

    /// The rules set on a file or folder itself (`GET …/files/permissions/{path}`).
    ///
    /// ```javascript
    /// for (const { permission, type, user, role } of await files.permissions('/docs/plan.txt')) { ... }
    /// ```
    pub async fn permissions(&self, path: String) -> Result<JsPermissionRules, JsValue> {
        Ok(ops::permissions(&self.client, &path).await?)
    }
}

/// `StorageClient.register` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// await register({ email: 'ann@example.com', password: 'correct horse' });
/// ```
pub async fn register_fn(registration: JsRegistration) -> Result<JsStowageUser, JsValue> {
    Ok(ops::register(&configured()?, registration).await?)
}

/// `StorageClient.login` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// const me = await login('ann@example.com', 'correct horse');
/// ```
pub async fn login_fn(login: String, password: String) -> Result<JsStowageUser, JsValue> {
    Ok(ops::login(&configured()?, &login, &password).await?)
}

/// `StorageClient.logout` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// await logout();
/// ```
pub async fn logout_fn() -> Result<(), JsValue> {
    Ok(users::logout(&configured()?.endpoint()).await?)
}

/// `StorageClient.currentUser` with the client set by `configure` (throws a
/// `ConfigurationError` before that).
///
/// ```javascript
/// const me = currentUser(); // null when signed out
/// ```
pub fn current_user_fn() -> Result<JsCurrentUser, JsValue> {
    Ok(ops::current_user(&configured()?))
}

/// `StorageClient.setVisibility` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// await setVisibility('/docs/plan.txt', 'protected');
/// ```
pub async fn set_visibility_fn(
    path: String,
    visibility: JsVisibility,
    shared_with: Option<JsUserIds>,
) -> Result<JsFileAccess, JsValue> {
    Ok(ops::set_visibility(&configured()?, &path, &visibility, shared_with).await?)
}

/// `StorageClient.share` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// await share('/docs/plan.txt', [bob.objectId]);
/// ```
pub async fn share_fn(path: String, user_ids: JsUserIds) -> Result<JsFileAccess, JsValue> {
    Ok(ops::share(&configured()?, &path, &user_ids).await?)
}

/// `StorageClient.grant` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// await grant('/docs/plan.txt', 'WRITE', { user: bob.objectId });
/// ```
pub async fn grant_fn(
    path: String,
    permission: JsPermissionName,
    grantee: JsGrantee,
) -> Result<(), JsValue> {
    Ok(ops::rule(
        &configured()?,
        RuleKind::Grant,
        &path,
        &permission,
        &grantee,
    )
    .await?)
}

/// `StorageClient.deny` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// await deny('/docs', 'DELETE', { role: '*' });
/// ```
pub async fn deny_fn(
    path: String,
    permission: JsPermissionName,
    grantee: JsGrantee,
) -> Result<(), JsValue> {
    Ok(ops::rule(&configured()?, RuleKind::Deny, &path, &permission, &grantee).await?)
}

/// `StorageClient.permissions` with the client set by `configure` (rejects with a
/// `ConfigurationError` before that).
///
/// ```javascript
/// const rules = await permissions('/docs/plan.txt');
/// ```
pub async fn permissions_fn(path: String) -> Result<JsPermissionRules, JsValue> {
    Ok(ops::permissions(&configured()?, &path).await?)
}

/// The checks and conversions shared by the class methods and the module-level functions.
mod ops {
    use super::*;

    pub(super) async fn register(
        client: &Client,
        registration: JsRegistration,
    ) -> Result<JsStowageUser, Error> {
        let value: JsValue = registration.into();
        let registration: Registration =
            decode_object(Some(&value), "Registration")?.ok_or_else(|| {
                Error::InvalidArgument("register needs {email, password, name?}".into())
            })?;
        Ok(users::register(&client.endpoint(), &registration)
            .await?
            .unchecked_into())
    }

    pub(super) async fn login(
        client: &Client,
        login: &str,
        password: &str,
    ) -> Result<JsStowageUser, Error> {
        Ok(users::login(&client.endpoint(), login, password)
            .await?
            .unchecked_into())
    }

    pub(super) fn current_user(client: &Client) -> JsCurrentUser {
        client
            .endpoint()
            .session()
            .user()
            .and_then(|text| js_sys::JSON::parse(&text).ok())
            .unwrap_or(JsValue::NULL)
            .unchecked_into()
    }

    pub(super) async fn set_visibility(
        client: &Client,
        path: &str,
        visibility: &JsValue,
        shared_with: Option<JsUserIds>,
    ) -> Result<JsFileAccess, Error> {
        let visibility = if visibility.is_null() {
            None
        } else {
            let name = visibility.as_string().ok_or_else(|| {
                Error::InvalidArgument(
                    "setVisibility: visibility must be \"public\", \"private\", \"protected\", \
                     \"shared\" or null"
                        .into(),
                )
            })?;
            Some(Visibility::parse(&name)?)
        };
        let shared_with = shared_with
            .map(JsValue::from)
            .filter(|v| !v.is_undefined() && !v.is_null())
            .map(|v| user_ids(&v, "setVisibility: sharedWith"))
            .transpose()?;
        let access = client
            .set_visibility(path, visibility, shared_with.as_deref())
            .await?;
        Ok(access.unchecked_into())
    }

    pub(super) async fn share(
        client: &Client,
        path: &str,
        user_ids: &JsValue,
    ) -> Result<JsFileAccess, Error> {
        let ids = super::user_ids(user_ids, "share: userIds")?;
        let access = client
            .set_visibility(path, Some(Visibility::Shared), Some(&ids))
            .await?;
        Ok(access.unchecked_into())
    }

    pub(super) async fn rule(
        client: &Client,
        kind: RuleKind,
        path: &str,
        permission: &JsValue,
        grantee: &JsValue,
    ) -> Result<(), Error> {
        let permission = permission
            .as_string()
            .ok_or_else(|| {
                Error::InvalidArgument(
                    "permission must be \"READ\", \"WRITE\" or \"DELETE\"".into(),
                )
            })
            .and_then(|p| Permission::parse(&p))?;
        let grantee = super::grantee(grantee)?;
        client.set_rule(kind, path, permission, &grantee).await
    }

    pub(super) async fn permissions(
        client: &Client,
        path: &str,
    ) -> Result<JsPermissionRules, Error> {
        Ok(client.permissions(path).await?.unchecked_into())
    }
}

/// An array of non-empty strings (user objectIds).
fn user_ids(value: &JsValue, what: &str) -> Result<Vec<String>, Error> {
    let bad = || Error::InvalidArgument(format!("{what} must be an array of user ids (strings)"));
    if !Array::is_array(value) {
        return Err(bad());
    }
    Array::from(value)
        .iter()
        .map(|id| id.as_string().filter(|s| !s.is_empty()).ok_or_else(bad))
        .collect()
}

/// `{user}` or `{role}`, strings; which one is given is checked with the body.
fn grantee(value: &JsValue) -> Result<Grantee, Error> {
    let kind = "Grantee";
    if !value.is_object() {
        return Err(Error::InvalidArgument(
            "a rule names {user: objectId | \"*\"} or {role: name | \"*\"}".into(),
        ));
    }
    Ok(Grantee {
        user: primitive(value, kind, "user", "a string", JsValue::as_string)?,
        role: primitive(value, kind, "role", "a string", JsValue::as_string)?,
    })
}
