//! Where each call goes: the app root `{baseUrl}/{appId}/{apiKey}` and the URLs under it, built
//! from paths checked by the same canonicaliser the server uses (`stowage_protocol::FilePath`),
//! and the Files API root `{baseUrl}/api/v1/projects/{appId}/files` of the record calls; and
//! what credentials each request carries: the session's token, in the header its API expects.

use serde::Deserialize;
use stowage_protocol::images::{self, Fit, FormatChoice, Transform, TransformError};
use stowage_protocol::paths::encode_segment;
use stowage_protocol::{ErrorCode, FilePath};

use crate::access::RuleKind;
use crate::error::Error;
use crate::session::{self, Session};

/// The connection settings a client is made from (JS `ClientOptions`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientOptions {
    /// The server, e.g. `http://127.0.0.1:8080` (a trailing slash is ignored).
    pub base_url: String,
    /// The application id.
    pub app_id: String,
    /// The application's API key.
    pub api_key: String,
    /// Sent as the `user-token` header when set.
    #[serde(default)]
    pub user_token: Option<String>,
    /// Keep the session of `login` in `localStorage` (default false: in memory only).
    #[serde(default)]
    pub persist_session: bool,
}

/// Query options of a directory listing (JS `ListOptions`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListOptions {
    /// Glob on names: `*`, `?`, `[abc]`.
    #[serde(default)]
    pub pattern: Option<String>,
    /// List subdirectories recursively.
    #[serde(default)]
    pub sub: Option<bool>,
    /// Entries per page (the server accepts 1–1000, default 100).
    #[serde(default)]
    pub page_size: Option<u32>,
    /// Entries to skip.
    #[serde(default)]
    pub offset: Option<u32>,
}

/// An image variant (JS `ImageOptions`): what `imageUrl` puts into the URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageOptions {
    /// Width in pixels, 0 or absent for automatic (at most 2500).
    #[serde(default)]
    pub width: u32,
    /// Height in pixels, 0 or absent for automatic (at most 2500).
    #[serde(default)]
    pub height: u32,
    /// `cover` (the default: fill the box, crop the rest), `smart` (cover, cropped where the
    /// detail is), `contain` (fit inside the box) or `fill` (stretch to the box).
    #[serde(default)]
    pub fit: Option<String>,
    /// 20–100 (the server's default is 80).
    #[serde(default)]
    pub quality: Option<u8>,
    /// `webp`, `jpeg`, `png`, `avif` or `origin`; absent: WebP where the browser takes it.
    #[serde(default)]
    pub format: Option<String>,
}

impl ImageOptions {
    /// The options as the server's transform, checked by the grammar both sides share.
    fn transform(&self) -> Result<Transform, TransformError> {
        Ok(Transform {
            fit: self.fit.as_deref().map_or(Ok(Fit::default()), Fit::parse)?,
            width: images::side(self.width, images::WIDTH)?,
            height: images::side(self.height, images::HEIGHT)?,
            quality: self
                .quality
                .map_or(Ok(images::DEFAULT_QUALITY), images::quality)?,
            format: self
                .format
                .as_deref()
                .map_or(Ok(FormatChoice::Auto), FormatChoice::parse)?,
        })
    }

    /// The thumbor-style options (`fit-in/400x300/filters:quality(70)/`), checked.
    fn segments(&self) -> Result<String, Error> {
        self.transform()
            .map(|t| t.thumbor_segments())
            .map_err(|e| Error::InvalidArgument(e.to_string()))
    }
}

/// Which API a URL belongs to, which decides the credentials it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// The Backendless paths under `{baseUrl}/{appId}/{apiKey}/`: `user-token`.
    Backendless,
    /// bkend's `/v1/…`: `X-API-Key`, and `Authorization: Bearer {token}` when signed in.
    V1,
    /// The Files API (`/api/v1/projects/{appId}/files…`): `Authorization: Bearer` with the
    /// token, or with the API key when nobody is signed in.
    Records,
    /// Presigned URLs (`/v1/signed/…`) and foreign URLs: nothing (a presigned URL is the
    /// capability; a foreign server must never see the token).
    Bare,
}

/// The headers of one request, and the token among them (so that the token can be dropped
/// when the server answers that it is dead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The API the request goes to.
    pub api: Api,
    /// `(name, value)` pairs to set.
    pub headers: Vec<(&'static str, String)>,
    /// The user token sent, if any.
    pub token: Option<String>,
}

impl Credentials {
    /// The headers as `&str` pairs, for `fetch`.
    #[must_use]
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.headers.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
}

/// The app root all URLs are built under, plus the session whose token calls carry.
#[derive(Debug)]
pub struct Endpoint {
    /// `{baseUrl}/{appId}/{apiKey}`, with app id and key percent-encoded.
    root: String,
    /// The base URL without trailing slash, to tell our own URLs from foreign ones.
    base: String,
    /// `{baseUrl}/api/v1/projects/{appId}/files`, app id percent-encoded.
    files_api: String,
    /// `{baseUrl}/img/{appId}/unsafe`: unsigned image variants.
    images: String,
    /// The API key, sent as `X-API-Key` to the `/v1` API.
    api_key: String,
    /// The `localStorage` key of a persisted session.
    storage_key: String,
    session: Session,
}

impl Endpoint {
    /// Checks the options: the base URL must be `http://` or `https://`, app id and key non-empty.
    pub fn new(options: &ClientOptions) -> Result<Self, Error> {
        let base = options.base_url.trim().trim_end_matches('/');
        if !is_http_url(base) {
            return Err(Error::InvalidConfig(format!(
                "baseUrl must start with http:// or https://, got {:?}",
                options.base_url
            )));
        }
        if options.app_id.is_empty() || options.api_key.is_empty() {
            return Err(Error::InvalidConfig(
                "appId and apiKey must not be empty".into(),
            ));
        }
        let root = format!(
            "{base}/{}/{}",
            encode_segment(&options.app_id),
            encode_segment(&options.api_key)
        );
        let files_api = format!(
            "{base}/api/v1/projects/{}/files",
            encode_segment(&options.app_id)
        );
        let images = format!("{base}/img/{}/unsafe", encode_segment(&options.app_id));
        Ok(Self {
            root,
            files_api,
            images,
            base: base.to_owned(),
            api_key: options.api_key.clone(),
            storage_key: session::storage_key(base, &options.app_id),
            session: Session::new(options.user_token.clone()),
        })
    }

    /// `{baseUrl}/v1/files/{route}`: the presigned and multipart control plane.
    #[must_use]
    pub fn v1_url(&self, route: &str) -> String {
        format!("{}/v1/files/{route}", self.base)
    }

    /// `{baseUrl}/api/v1/projects/{appId}/files{route}`: the Files API (`route` is `""`,
    /// `"/byids"`, `"/list"`, ...).
    #[must_use]
    pub fn files_api_url(&self, route: &str) -> String {
        format!("{}{route}", self.files_api)
    }

    /// `url` as an absolute URL: a path (`/…`) is taken to be on this server, anything else is
    /// kept as is (the Files API answers absolute upload URLs; this only guards against a
    /// server that answers a path).
    #[must_use]
    pub fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') && !url.starts_with("//") {
            format!("{}{url}", self.base)
        } else {
            url.to_owned()
        }
    }

    /// The session whose token calls carry.
    #[must_use]
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The `localStorage` key a persisted session is kept under.
    #[must_use]
    pub fn storage_key(&self) -> &str {
        &self.storage_key
    }

    /// The API `url` belongs to. Only URLs on this server get credentials; of those, the
    /// presigned ones get none, and a path on this server outside every API (a public file
    /// URL) is taken as a Backendless one.
    #[must_use]
    pub fn api_of(&self, url: &str) -> Api {
        let Some(path) = url
            .strip_prefix(&self.base)
            .filter(|rest| rest.starts_with('/'))
        else {
            return Api::Bare;
        };
        if path.starts_with("/v1/signed/") {
            Api::Bare
        } else if path.starts_with("/v1/") {
            Api::V1
        } else if path.starts_with("/api/v1/projects/") {
            Api::Records
        } else {
            Api::Backendless
        }
    }

    /// The headers a request to `api` carries now, with the session's token in the place that
    /// API reads it from.
    #[must_use]
    pub fn credentials(&self, api: Api) -> Credentials {
        let token = self.session.token();
        let mut headers = Vec::new();
        match (api, &token) {
            (Api::Backendless, Some(t)) => headers.push(("user-token", t.clone())),
            (Api::V1, _) => {
                headers.push(("X-API-Key", self.api_key.clone()));
                if let Some(t) = &token {
                    headers.push(("Authorization", format!("Bearer {t}")));
                }
            }
            (Api::Records, _) => {
                let secret = token.as_deref().unwrap_or(&self.api_key);
                headers.push(("Authorization", format!("Bearer {secret}")));
            }
            (Api::Backendless | Api::Bare, _) => {}
        }
        let token = token.filter(|_| api != Api::Bare);
        Credentials {
            api,
            headers,
            token,
        }
    }

    /// [`Endpoint::credentials`] for whatever API `url` belongs to.
    #[must_use]
    pub fn credentials_for(&self, url: &str) -> Credentials {
        self.credentials(self.api_of(url))
    }

    /// Passes a call's result on, first dropping the token it was sent with when the answer
    /// says the token is dead: `3064` anywhere, or a `401` from the Files API, whose
    /// envelopes carry the HTTP status only (and where the token is the only credential).
    pub fn settle<T>(&self, sent: &Credentials, result: Result<T, Error>) -> Result<T, Error> {
        if let (Err(e), Some(token)) = (&result, &sent.token) {
            let dead = e.is_dead_token() || (sent.api == Api::Records && e.status() == 401);
            if dead {
                self.session.expire(token);
            }
        }
        result
    }

    /// `GET {root}/info`.
    #[must_use]
    pub fn info_url(&self) -> String {
        format!("{}/info", self.root)
    }

    /// `{root}/files/{encoded path}` (`files/` for the root).
    #[must_use]
    pub fn file_url(&self, path: &FilePath) -> String {
        format!("{}/files/{}", self.root, path.to_encoded())
    }

    /// The unsigned URL of an image variant: `{baseUrl}/img/{appId}/unsafe/{options}/{path}`.
    /// The server serves unsigned URLs only for its allowlisted sizes (by default the widths 64,
    /// 128, 256, 400, 800, 1200 and 1600, and the same as squares); other sizes need a URL the
    /// server signed (`POST {root}/images/sign`).
    pub fn image_url(&self, path: &FilePath, options: &ImageOptions) -> Result<String, Error> {
        Ok(format!(
            "{}/{}{}",
            self.images,
            options.segments()?,
            path.to_encoded()
        ))
    }

    /// The upload URL `{root}/files/{dir}/{name}?overwrite=…`.
    #[must_use]
    pub fn upload_url(&self, target: &FilePath, overwrite: bool) -> String {
        format!("{}?overwrite={overwrite}", self.file_url(target))
    }

    /// `POST {root}/files/{dir}/`: the trailing slash makes it a directory create.
    #[must_use]
    pub fn directory_url(&self, dir: &FilePath) -> String {
        let url = self.file_url(dir);
        if url.ends_with('/') {
            url
        } else {
            url + "/"
        }
    }

    /// `GET {root}/files/{path}?action=exists`.
    #[must_use]
    pub fn exists_url(&self, path: &FilePath) -> String {
        format!("{}?action=exists", self.file_url(path))
    }

    /// `GET {root}/files/{dir}` with the listing query.
    #[must_use]
    pub fn list_url(&self, dir: &FilePath, options: &ListOptions) -> String {
        let mut query = Vec::new();
        if let Some(pattern) = &options.pattern {
            query.push(format!("pattern={}", encode_segment(pattern)));
        }
        if let Some(sub) = options.sub {
            query.push(format!("sub={sub}"));
        }
        if let Some(n) = options.page_size {
            query.push(format!("pagesize={n}"));
        }
        if let Some(n) = options.offset {
            query.push(format!("offset={n}"));
        }
        let url = self.file_url(dir);
        if query.is_empty() {
            url
        } else {
            format!("{url}?{}", query.join("&"))
        }
    }

    /// `{root}/users/{route}`: `register`, `login`, `logout`, `userroles`.
    #[must_use]
    pub fn users_url(&self, route: &str) -> String {
        format!("{}/users/{route}", self.root)
    }

    /// `PUT {root}/files/visibility/{encoded path}`; not for the top folder.
    pub fn visibility_url(&self, path: &FilePath) -> Result<String, Error> {
        Ok(format!(
            "{}/files/visibility/{}",
            self.root,
            not_root(path)?.to_encoded()
        ))
    }

    /// `GET {root}/files/permissions/{path}`, the path as one percent-encoded segment
    /// (`dir%2Ffile.txt`); not for the top folder.
    pub fn permissions_url(&self, path: &FilePath) -> Result<String, Error> {
        Ok(format!(
            "{}/files/permissions/{}",
            self.root,
            encode_segment(not_root(path)?.as_str())
        ))
    }

    /// `PUT {root}/files/permissions/{GRANT|DENY}/{path as one segment}`.
    pub fn rule_url(&self, kind: RuleKind, path: &FilePath) -> Result<String, Error> {
        Ok(format!(
            "{}/files/permissions/{}/{}",
            self.root,
            kind.as_str(),
            encode_segment(not_root(path)?.as_str())
        ))
    }

    /// `PUT {root}/files/{operation}` for `move`, `copy` and `rename`.
    #[must_use]
    pub fn operation_url(&self, operation: &str) -> String {
        format!("{}/files/{operation}", self.root)
    }

    /// A full http(s) URL is used as is; anything else is a storage path under this app.
    pub fn resolve(&self, path_or_url: &str) -> Result<String, Error> {
        if is_http_url(path_or_url) {
            Ok(path_or_url.to_owned())
        } else {
            Ok(self.file_url(&FilePath::parse(path_or_url)?))
        }
    }
}

/// True for `http://…` and `https://…` (scheme case-insensitive).
#[must_use]
pub fn is_http_url(text: &str) -> bool {
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Checks a path that a call will create (upload target, new directory): the canonicaliser's
/// rules plus the reserved first segments, with the server's codes and messages.
pub fn creatable(path: FilePath) -> Result<FilePath, Error> {
    match path.reserved_prefix() {
        Some(segment) => Err(Error::api(
            ErrorCode::ReservedPath,
            format!("Path starts with a reserved segment: {segment}"),
        )),
        None => Ok(path),
    }
}

/// Refuses the top folder where a call needs a file or folder in it, as the server would.
fn not_root(path: &FilePath) -> Result<&FilePath, Error> {
    if path.is_root() {
        Err(Error::api(
            ErrorCode::RootNotAllowed,
            "The top folder has no owner, visibility or rules of its own",
        ))
    } else {
        Ok(path)
    }
}

/// The stored path of an upload: the directory `dir` plus the one segment `name`.
pub fn upload_target(dir: &str, name: &str) -> Result<FilePath, Error> {
    let target = FilePath::parse(dir)?.join(name)?;
    creatable(target)
}

/// A path given in a JSON body (move, copy, rename): checked, then sent in absolute form.
pub fn body_path(path: &str) -> Result<String, Error> {
    Ok(FilePath::parse(path)?.to_absolute())
}

/// The new name of a rename: exactly one valid segment.
pub fn new_name(name: &str) -> Result<String, Error> {
    Ok(FilePath::root().join(name)?.as_str().to_owned())
}

/// The file name a save dialog suggests for `path_or_url`: the last path segment, decoded
/// once for URLs, or `download` when there is none.
#[must_use]
pub fn suggested_file_name(path_or_url: &str) -> String {
    let name = if is_http_url(path_or_url) {
        let no_query = path_or_url.split(['?', '#']).next().unwrap_or_default();
        let after_scheme = no_query
            .split_once("://")
            .map_or(no_query, |(_, rest)| rest);
        match after_scheme.split_once('/') {
            Some((_, path)) => FilePath::parse_encoded(path)
                .ok()
                .map(|p| p.name().to_owned()),
            None => None,
        }
    } else {
        FilePath::parse(path_or_url)
            .ok()
            .map(|p| p.name().to_owned())
    };
    name.filter(|n| !n.is_empty())
        .unwrap_or_else(|| "download".to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn image_urls_name_the_variant_in_the_servers_grammar_and_refuse_what_none_may() {
        let e = Endpoint::new(&ClientOptions {
            base_url: "http://h:1/".into(),
            app_id: "my app".into(),
            api_key: "k".into(),
            user_token: None,
            persist_session: false,
        })
        .unwrap();
        let path = FilePath::parse("/photos/ü 1.jpg").unwrap();
        let url = |o: ImageOptions| e.image_url(&path, &o);
        assert_eq!(
            url(ImageOptions {
                width: 400,
                ..ImageOptions::default()
            })
            .unwrap(),
            "http://h:1/img/my%20app/unsafe/400x0/filters:quality(80)/photos/%C3%BC%201.jpg"
        );
        let all = ImageOptions {
            width: 128,
            height: 128,
            fit: Some("smart".into()),
            quality: Some(70),
            format: Some("webp".into()),
        };
        assert_eq!(
            url(all).unwrap(),
            "http://h:1/img/my%20app/unsafe/128x128/smart/filters:quality(70):format(webp)/photos/%C3%BC%201.jpg"
        );
        for (fit, prefix) in [("contain", "fit-in/"), ("fill", "stretch/"), ("cover", "")] {
            let o = ImageOptions {
                width: 64,
                height: 64,
                fit: Some(fit.into()),
                ..ImageOptions::default()
            };
            assert!(
                url(o)
                    .unwrap()
                    .contains(&format!("/unsafe/{prefix}64x64/filters:quality(80)/photos")),
                "{fit}"
            );
        }
        for bad in [
            ImageOptions {
                width: 2501,
                ..ImageOptions::default()
            },
            ImageOptions {
                fit: Some("crop".into()),
                ..ImageOptions::default()
            },
            ImageOptions {
                quality: Some(19),
                ..ImageOptions::default()
            },
            ImageOptions {
                format: Some("gif".into()),
                ..ImageOptions::default()
            },
        ] {
            assert!(matches!(url(bad), Err(Error::InvalidArgument(_))));
        }
        // The server's own reasons, from the grammar both sides share.
        let too_wide = ImageOptions {
            width: 2501,
            ..ImageOptions::default()
        };
        assert_eq!(
            url(too_wide).unwrap_err().to_string(),
            Error::InvalidArgument("width is at most 2500 pixels, not 2501".into()).to_string()
        );
        // A directory named like an option stays part of the path: the options end in filters.
        let dir = FilePath::parse("smart/a.jpg").unwrap();
        let square = ImageOptions {
            width: 64,
            height: 64,
            ..ImageOptions::default()
        };
        assert_eq!(
            e.image_url(&dir, &square).unwrap(),
            "http://h:1/img/my%20app/unsafe/64x64/filters:quality(80)/smart/a.jpg"
        );
    }

    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint::new(&ClientOptions {
            base_url: "http://127.0.0.1:8080/".into(),
            app_id: "demo".into(),
            api_key: "demo key".into(),
            user_token: Some("tok".into()),
            persist_session: false,
        })
        .expect("valid options")
    }

    #[test]
    fn urls_sit_under_the_app_root() {
        let e = endpoint();
        assert_eq!(e.info_url(), "http://127.0.0.1:8080/demo/demo%20key/info");
        let p = FilePath::parse("/dir/naïve résumé ✓.txt").expect("valid");
        assert_eq!(
            e.file_url(&p),
            "http://127.0.0.1:8080/demo/demo%20key/files/dir/na%C3%AFve%20r%C3%A9sum%C3%A9%20%E2%9C%93.txt"
        );
        assert_eq!(
            e.file_url(&FilePath::root()),
            "http://127.0.0.1:8080/demo/demo%20key/files/"
        );
        assert_eq!(
            e.upload_url(&upload_target("a/", "b c").expect("valid"), false),
            "http://127.0.0.1:8080/demo/demo%20key/files/a/b%20c?overwrite=false"
        );
        assert_eq!(
            e.directory_url(&FilePath::parse("x/y").expect("valid")),
            "http://127.0.0.1:8080/demo/demo%20key/files/x/y/"
        );
        assert_eq!(
            e.exists_url(&FilePath::parse("x").expect("valid")),
            "http://127.0.0.1:8080/demo/demo%20key/files/x?action=exists"
        );
        assert_eq!(
            e.operation_url("move"),
            "http://127.0.0.1:8080/demo/demo%20key/files/move"
        );
    }

    #[test]
    fn files_api_urls_sit_under_the_project() {
        let e = Endpoint::new(&ClientOptions {
            base_url: "https://h.example/".into(),
            app_id: "my app".into(),
            api_key: "k".into(),
            user_token: None,
            persist_session: false,
        })
        .expect("valid options");
        assert_eq!(
            e.files_api_url(""),
            "https://h.example/api/v1/projects/my%20app/files"
        );
        assert_eq!(
            e.files_api_url("/byids"),
            "https://h.example/api/v1/projects/my%20app/files/byids"
        );
        assert_eq!(
            e.credentials(Api::Records).headers,
            [("Authorization", "Bearer k".to_owned())],
            "the API key while nobody is signed in"
        );
        assert_eq!(e.absolute("/up/1?sig=x"), "https://h.example/up/1?sig=x");
        assert_eq!(e.absolute("http://s3/x"), "http://s3/x");
    }

    #[test]
    fn a_literal_percent_survives_the_servers_single_decode() {
        let e = endpoint();
        let url = e
            .resolve("%2e%2e/100%")
            .expect("a literal name, not an escape");
        assert!(url.ends_with("/files/%252e%252e/100%25"), "{url}");
    }

    #[test]
    fn list_query_is_encoded() {
        let e = endpoint();
        let dir = FilePath::parse("d").expect("valid");
        assert!(e
            .list_url(&dir, &ListOptions::default())
            .ends_with("/files/d"));
        let opts = ListOptions {
            pattern: Some("*.txt&x=[ab]".into()),
            sub: Some(true),
            page_size: Some(10),
            offset: Some(20),
        };
        assert!(
            e.list_url(&dir, &opts).ends_with(
                "/files/d?pattern=%2A.txt%26x%3D%5Bab%5D&sub=true&pagesize=10&offset=20"
            ),
            "{}",
            e.list_url(&dir, &opts)
        );
    }

    #[test]
    fn bad_paths_get_the_servers_codes() {
        let e = upload_target("a/../b", "x.txt").expect_err("must fail");
        assert_eq!((e.code(), e.status()), (6006, 400));
        assert_eq!(e.to_string(), "Path contains prohibited symbols: a/../b");
        assert_eq!(
            upload_target("d", "a/b").expect_err("must fail").code(),
            6006
        );
        assert_eq!(upload_target("d", "").expect_err("must fail").code(), 6006);
        assert_eq!(
            upload_target("d", &"n".repeat(256))
                .expect_err("must fail")
                .code(),
            6008
        );
        let reserved = upload_target("/move/x", "y").expect_err("must fail");
        assert_eq!((reserved.code(), reserved.status()), (6010, 400));
        assert_eq!(
            reserved.to_string(),
            "Path starts with a reserved segment: move"
        );
        assert_eq!(
            upload_target("", "binary").expect_err("must fail").code(),
            6010
        );
        assert!(upload_target("/", "moved.txt").is_ok());
        assert_eq!(new_name("x/y").expect_err("must fail").code(), 6006);
        assert_eq!(body_path("docs//x").expect_err("must fail").code(), 6006);
        assert_eq!(body_path("docs/x/").expect("valid"), "/docs/x");
        assert_eq!(
            endpoint().resolve("a\\b").expect_err("must fail").code(),
            6006
        );
    }

    #[test]
    fn options_are_checked() {
        let mut o = ClientOptions {
            base_url: "ftp://x".into(),
            app_id: "a".into(),
            api_key: "k".into(),
            user_token: None,
            persist_session: false,
        };
        assert_eq!(
            Endpoint::new(&o).expect_err("must fail").js_name(),
            "ConfigurationError"
        );
        o.base_url = "HTTPS://files.example.com".into();
        assert!(Endpoint::new(&o).is_ok());
        o.app_id.clear();
        assert!(Endpoint::new(&o).is_err());
    }

    #[test]
    fn user_token_only_goes_to_our_server() {
        let e = endpoint();
        let token = |url: &str| e.credentials_for(url).token;
        assert_eq!(token(&e.info_url()).as_deref(), Some("tok"));
        assert_eq!(token("http://127.0.0.1:8080/other").as_deref(), Some("tok"));
        assert_eq!(token("http://127.0.0.1:80800/demo"), None);
        assert_eq!(token("https://cdn.example.com/demo/x"), None);
        let foreign = e.credentials_for("https://cdn.example.com/demo/x");
        assert_eq!((foreign.api, foreign.headers), (Api::Bare, vec![]));
    }

    #[test]
    fn each_api_reads_the_token_from_its_own_header() {
        let e = endpoint();
        let on = |url: &str| {
            let c = e.credentials_for(url);
            (c.api, c.headers, c.token)
        };
        let tok = Some("tok".to_owned());
        assert_eq!(
            on(&e.info_url()),
            (
                Api::Backendless,
                vec![("user-token", "tok".to_owned())],
                tok.clone()
            )
        );
        assert_eq!(
            on(&e.v1_url("multipart/init")),
            (
                Api::V1,
                vec![
                    ("X-API-Key", "demo key".to_owned()),
                    ("Authorization", "Bearer tok".to_owned())
                ],
                tok.clone()
            )
        );
        assert_eq!(
            on(&e.files_api_url("/list")),
            (
                Api::Records,
                vec![("Authorization", "Bearer tok".to_owned())],
                tok
            )
        );
        assert_eq!(
            on("http://127.0.0.1:8080/v1/signed/parts/u1/3?sig=x"),
            (Api::Bare, vec![], None),
            "a presigned URL is the capability"
        );

        e.session().sign_out();
        assert_eq!(on(&e.info_url()), (Api::Backendless, vec![], None));
        assert_eq!(
            on(&e.v1_url("multipart/init")),
            (Api::V1, vec![("X-API-Key", "demo key".to_owned())], None)
        );
        assert_eq!(
            on(&e.files_api_url("")),
            (
                Api::Records,
                vec![("Authorization", "Bearer demo key".to_owned())],
                None
            )
        );
    }

    #[test]
    fn a_dead_token_is_dropped_once() {
        let dead = || {
            Err::<(), _>(Error::from_response(
                401,
                r#"{"code":3064,"message":"Not existing user token"}"#,
            ))
        };
        let e = endpoint();
        let sent = e.credentials(Api::Backendless);
        let refused = Err::<(), _>(Error::from_response(
            403,
            r#"{"code":4000,"message":"User has no permissions to specified resource"}"#,
        ));
        assert!(e.settle(&sent, refused).is_err());
        assert_eq!(e.session().token().as_deref(), Some("tok"), "4000 keeps it");
        let e3064 = e.settle(&sent, dead()).expect_err("still the error");
        assert_eq!((e3064.code(), e3064.status()), (3064, 401));
        assert_eq!(e.session().token(), None);

        // The Files API answers a 401 envelope: the token was the only credential sent.
        let e = endpoint();
        let sent = e.credentials(Api::Records);
        let envelope = Error::from_response(401, r#"{"error":{"code":401,"message":"x"}}"#);
        assert!(e.settle(&sent, Err::<(), _>(envelope.clone())).is_err());
        assert_eq!(e.session().token(), None);
        // Elsewhere a 401 without 3064 (a wrong API key, 6021) keeps the token.
        let e = endpoint();
        let sent = e.credentials(Api::V1);
        assert!(e.settle(&sent, Err::<(), _>(envelope)).is_err());
        assert_eq!(e.session().token().as_deref(), Some("tok"));
    }

    #[test]
    fn access_urls() {
        let e = endpoint();
        let p = FilePath::parse("dir/a b%.txt").expect("valid");
        assert_eq!(
            e.visibility_url(&p).expect("valid"),
            "http://127.0.0.1:8080/demo/demo%20key/files/visibility/dir/a%20b%25.txt"
        );
        assert_eq!(
            e.permissions_url(&p).expect("valid"),
            "http://127.0.0.1:8080/demo/demo%20key/files/permissions/dir%2Fa%20b%25.txt"
        );
        assert_eq!(
            e.rule_url(RuleKind::Grant, &p).expect("valid"),
            "http://127.0.0.1:8080/demo/demo%20key/files/permissions/GRANT/dir%2Fa%20b%25.txt"
        );
        let root = e.rule_url(RuleKind::Deny, &FilePath::root());
        assert_eq!(root.expect_err("root").code(), 6013);
        assert_eq!(
            e.users_url("login"),
            "http://127.0.0.1:8080/demo/demo%20key/users/login"
        );
    }

    #[test]
    fn full_urls_are_used_as_is() {
        let e = endpoint();
        assert_eq!(
            e.resolve("https://cdn.example.com/a%20b").expect("url"),
            "https://cdn.example.com/a%20b"
        );
        assert!(is_http_url("HTTP://x"));
        assert!(!is_http_url("httpfoo/bar"));
    }

    #[test]
    fn suggested_names() {
        assert_eq!(
            suggested_file_name("dir/naïve résumé ✓.txt"),
            "naïve résumé ✓.txt"
        );
        assert_eq!(
            suggested_file_name("http://h:1/demo/k/files/d/a%20b.txt?x=1#f"),
            "a b.txt"
        );
        assert_eq!(suggested_file_name("http://h:1"), "download");
        assert_eq!(suggested_file_name("/"), "download");
    }
}
