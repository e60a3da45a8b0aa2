//! The client core: one app endpoint and every Files operation as a plain async function
//! returning Rust values and [`Error`] (the answers of the access calls stay the server's JSON,
//! as JS values). `js.rs` and `js_access.rs` wrap it for JavaScript.

use std::rc::Rc;

use js_sys::{Array, Function};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use stowage_protocol::{AppInfo, FileEntry, FilePath, MoveRequest, RenameRequest};
use wasm_bindgen::JsValue;
use web_sys::{AbortSignal, Blob};

use crate::access::{self, Grantee, Permission, RuleKind, Visibility};
use crate::download;
use crate::endpoint::{
    body_path, creatable, new_name, Api, ClientOptions, Endpoint, ImageOptions, ListOptions,
};
use crate::error::{decode, Error};
use crate::fetch::{self, json_value};
use crate::storage::LocalStore;
use crate::upload::{self, Upload};

/// A client for one app. Cheap to clone: clones share the endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    endpoint: Rc<Endpoint>,
}

/// Answer of `DELETE files/{path}`.
#[derive(Debug, Deserialize)]
struct Deleted {
    #[allow(dead_code)]
    deleted: u64,
}

impl Client {
    /// Checks `options` and makes the client; with `persistSession`, its session is kept in
    /// `localStorage` (and a session kept there before is taken up).
    pub(crate) fn new(options: &ClientOptions) -> Result<Self, Error> {
        let endpoint = Endpoint::new(options)?;
        if options.persist_session {
            if let Some(store) = LocalStore::open(endpoint.storage_key()) {
                endpoint.session().persist(Box::new(store));
            }
        }
        Ok(Self {
            endpoint: Rc::new(endpoint),
        })
    }

    /// The app endpoint (shared).
    pub(crate) fn endpoint(&self) -> Rc<Endpoint> {
        Rc::clone(&self.endpoint)
    }

    /// The URL a stored file is served at.
    pub(crate) fn file_url(&self, path: &str) -> Result<String, Error> {
        Ok(self.endpoint.file_url(&FilePath::parse(path)?))
    }

    /// The URL of an image variant of a stored image.
    pub(crate) fn image_url(&self, path: &str, options: &ImageOptions) -> Result<String, Error> {
        self.endpoint.image_url(&FilePath::parse(path)?, options)
    }

    /// `GET {root}/info`.
    pub(crate) async fn info(&self) -> Result<AppInfo, Error> {
        self.call("GET", &self.endpoint.info_url(), None).await
    }

    /// Uploads a File or Blob; answers its public URL.
    pub(crate) async fn upload(&self, request: Upload) -> Result<String, Error> {
        upload::upload(&self.endpoint, request).await
    }

    /// Downloads a stored file (path or full URL) as a Blob.
    pub(crate) async fn download(
        &self,
        path_or_url: &str,
        on_progress: Option<Function>,
        signal: Option<AbortSignal>,
    ) -> Result<Blob, Error> {
        download::download(&self.endpoint, path_or_url, on_progress, signal).await
    }

    /// Downloads a stored file and starts the browser's save of it.
    pub(crate) async fn save_as(
        &self,
        path_or_url: &str,
        file_name: Option<String>,
    ) -> Result<(), Error> {
        download::save_as(&self.endpoint, path_or_url, file_name).await
    }

    /// Moves a file or directory into `target` (`PUT files/move`); answers the new path.
    pub(crate) async fn move_to(&self, source: &str, target: &str) -> Result<String, Error> {
        self.transfer("move", source, target).await
    }

    /// Copies a file or directory into `target` (`PUT files/copy`); answers the copy's path.
    pub(crate) async fn copy_to(&self, source: &str, target: &str) -> Result<String, Error> {
        self.transfer("copy", source, target).await
    }

    /// Renames a file or directory in place (`PUT files/rename`); answers the new path.
    pub(crate) async fn rename(&self, old_path_name: &str, name: &str) -> Result<String, Error> {
        let body = RenameRequest {
            old_path_name: body_path(old_path_name)?,
            new_name: new_name(name)?,
        };
        self.call(
            "PUT",
            &self.endpoint.operation_url("rename"),
            Some(to_json(&body)?),
        )
        .await
    }

    /// Removes a file, or a directory with everything under it.
    pub(crate) async fn remove(&self, path: &str) -> Result<(), Error> {
        let url = self.endpoint.file_url(&FilePath::parse(path)?);
        let _: Deleted = self.call("DELETE", &url, None).await?;
        Ok(())
    }

    /// Whether a file or directory exists at `path`.
    pub(crate) async fn exists(&self, path: &str) -> Result<bool, Error> {
        let url = self.endpoint.exists_url(&FilePath::parse(path)?);
        self.call("GET", &url, None).await
    }

    /// One page of the entries of directory `dir`, each with its owner and visibility.
    pub(crate) async fn list(
        &self,
        dir: &str,
        options: &ListOptions,
    ) -> Result<Vec<FileEntry>, Error> {
        let url = self.endpoint.list_url(&FilePath::parse(dir)?, options);
        self.call("GET", &url, None).await
    }

    /// Sets who may read a file or folder besides its owner (`PUT files/visibility/{path}`);
    /// answers `{path, ownerId, visibility, sharedWith}`.
    pub(crate) async fn set_visibility(
        &self,
        path: &str,
        visibility: Option<Visibility>,
        shared_with: Option<&[String]>,
    ) -> Result<JsValue, Error> {
        let url = self.endpoint.visibility_url(&FilePath::parse(path)?)?;
        let body = access::visibility_body(visibility, shared_with)?;
        let answer = self.json("PUT", &url, Some(body)).await?;
        if answer.is_object() {
            Ok(answer)
        } else {
            Err(Error::UnexpectedResponse {
                status: 200,
                detail: "the visibility answer is not an object".into(),
            })
        }
    }

    /// Adds a grant or deny rule for `grantee` on a file or folder.
    pub(crate) async fn set_rule(
        &self,
        kind: RuleKind,
        path: &str,
        permission: Permission,
        grantee: &Grantee,
    ) -> Result<(), Error> {
        let url = self.endpoint.rule_url(kind, &FilePath::parse(path)?)?;
        let body = access::rule_body(permission, grantee)?;
        self.text("PUT", &url, Some(body)).await?;
        Ok(())
    }

    /// The rules set on a file or folder itself: `[{permission, type, user | role}]`.
    pub(crate) async fn permissions(&self, path: &str) -> Result<JsValue, Error> {
        let url = self.endpoint.permissions_url(&FilePath::parse(path)?)?;
        let answer = self.json("GET", &url, None).await?;
        if Array::is_array(&answer) {
            Ok(answer)
        } else {
            Err(Error::UnexpectedResponse {
                status: 200,
                detail: "the permissions answer is not an array".into(),
            })
        }
    }

    /// Creates a directory and its parents; answers its absolute path.
    pub(crate) async fn create_directory(&self, path: &str) -> Result<String, Error> {
        let dir = creatable(FilePath::parse(path)?)?;
        self.call("POST", &self.endpoint.directory_url(&dir), None)
            .await
    }

    async fn transfer(&self, operation: &str, source: &str, target: &str) -> Result<String, Error> {
        let body = MoveRequest {
            source_path: body_path(source)?,
            target_path: body_path(target)?,
        };
        self.call(
            "PUT",
            &self.endpoint.operation_url(operation),
            Some(to_json(&body)?),
        )
        .await
    }

    /// One JSON call: send, then decode the success body or the error body.
    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        url: &str,
        json: Option<String>,
    ) -> Result<T, Error> {
        let (status, text) = self.text(method, url, json).await?;
        decode(status, &text)
    }

    /// One Backendless call with the session's token: the status and body of a 2xx answer,
    /// else the error it carries (a dead token is dropped from the session on the way).
    async fn text(
        &self,
        method: &str,
        url: &str,
        json: Option<String>,
    ) -> Result<(u16, String), Error> {
        let sent = self.endpoint.credentials(Api::Backendless);
        let answer = fetch::send_with(method, url, &sent.pairs(), json.as_deref()).await;
        let answer = answer.and_then(|(status, text)| {
            if (200..300).contains(&status) {
                Ok((status, text))
            } else {
                Err(Error::from_response(status, &text))
            }
        });
        self.endpoint.settle(&sent, answer)
    }

    /// [`Client::text`] read as a JS value (`undefined` for an empty body).
    async fn json(&self, method: &str, url: &str, json: Option<String>) -> Result<JsValue, Error> {
        let (status, text) = self.text(method, url, json).await?;
        json_value(status, &text)
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Browser(format!("cannot encode the body: {e}")))
}
