//! `AppState`: what every handler shares — the files service, the known apps and the URL rules.
//! It is also where the server is put together: data-directory lock, catalog, blobs, service.

use std::collections::HashMap;
use std::sync::Arc;

use stowage_protocol::paths::FilePath;
use stowage_protocol::ApiError;

use crate::catalog::Catalog;
use crate::config::{AppCredentials, Config};
use crate::error::{AppError, AppResult};
use crate::faults::Faults;
use crate::files::Files;
use crate::presign::Signer;

/// Shared state of the server; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    files: Files,
    /// Held for the server's life: the data directory's exclusive lock.
    _lock: std::fs::File,
    apps: HashMap<String, String>,
    /// Each app's admin key.
    admin_keys: HashMap<String, String>,
    token_ttl_ms: i64,
    cors_origins: Vec<String>,
    /// One permit per request with a body being served.
    uploads: Arc<tokio::sync::Semaphore>,
    max_uploads: usize,
    body_timeout: std::time::Duration,
    min_body_rate: u64,
    first_app: AppCredentials,
    public_base: String,
    /// `https` when the server itself speaks TLS (`--tls-cert`), else `http`.
    scheme: &'static str,
    custom_domain: Option<CustomDomain>,
    /// `--web-host`: host name → the app-root prefix of its `web/` directory.
    web_hosts: HashMap<String, String>,
    trust_proxy: bool,
    max_upload_bytes: u64,
    signer: Signer,
    faults: Option<Faults>,
    upload_ttl_secs: u64,
    min_part_size: u64,
    /// `--image-sizes`: each app's allowlist for unsigned image URLs, where it set one.
    image_sizes: HashMap<String, Vec<u32>>,
}

/// The `--public-url` domain: URLs there are `{url}/{path}` for the first app.
#[derive(Debug, Clone)]
struct CustomDomain {
    url: String,
    host: String,
}

impl AppState {
    /// Opens the store in `config.data` and prepares URL rules for `config.listen`.
    pub async fn open(config: &Config) -> AppResult<Self> {
        config.validate().map_err(AppError::Config)?;
        tokio::fs::create_dir_all(&config.data).await?;
        let lock = lock_data_dir(&config.data)?;
        let (catalog, new_catalog) = Catalog::open(&config.database_url()).await?;
        let blobs = crate::blobs::open(
            config.blobs.as_deref(),
            &config.data,
            config.direct_to_store,
        )
        .await?;
        let defaults = config
            .apps
            .iter()
            .map(|a| (a.id.clone(), a.defaults))
            .collect();
        // Secrets the server makes itself: in a shared catalog every server must hold the same.
        let shared = config.shared_catalog().then(|| catalog.clone());
        let pending_ttl_ms =
            i64::try_from(config.pending_ttl.saturating_mul(1000)).unwrap_or(i64::MAX);
        // Variants beside the blobs in an object store, unless a directory is named for them.
        let shelf = match (&config.image_cache, blobs.shelf("variants")) {
            (None, Some(shelf)) => shelf,
            (dir, _) => crate::files::Variants::on_disk(
                &dir.clone().unwrap_or_else(|| config.data.join("variants")),
            )?,
        };
        let variants = crate::files::Variants::open(shelf, config.image_cache_bytes).await;
        let files = Files::start(
            catalog,
            new_catalog,
            blobs,
            defaults,
            pending_ttl_ms,
            variants,
        )
        .await?;
        let mut admin_keys = HashMap::new();
        for app in &config.apps {
            let given = config.admin_keys.iter().find(|(id, _)| *id == app.id);
            let key = match (given, &shared) {
                (Some((_, secret)), _) => secret.clone(),
                (None, Some(catalog)) => {
                    let name = format!("admin_key:{}", app.id);
                    let file = format!("admin-{}.key", app.id);
                    let key = catalog
                        .claim_info(&name, &first_secret(&config.data, &file).await)
                        .await?;
                    tracing::info!(
                        app = app.id,
                        "admin key kept in the database (catalog_info {name})"
                    );
                    key
                }
                (None, None) => {
                    let name = format!("admin-{}.key", app.id);
                    let key = crate::presign::kept_secret(&config.data, &name).await?;
                    tracing::info!(app = app.id, file = %config.data.join(&name).display(), "admin key");
                    key
                }
            };
            admin_keys.insert(app.id.clone(), key);
        }
        if let Some((id, _)) = config
            .admin_keys
            .iter()
            .find(|(id, _)| !config.apps.iter().any(|a| a.id == *id))
        {
            return Err(AppError::Config(format!("--admin-key names no app: {id}")));
        }
        let signer = match (
            config.signing_secret.as_deref().filter(|s| !s.is_empty()),
            &shared,
        ) {
            (None, Some(catalog)) => Signer::from_secret(
                &catalog
                    .claim_info(
                        "signing_key",
                        &first_secret(&config.data, "signing.key").await,
                    )
                    .await?,
            ),
            (given, _) => Signer::load(given, &config.data).await?,
        };
        if config.unsafe_test_hooks {
            tracing::warn!("test hooks are on: /v1/test/faults can make uploads fail");
        }
        let first_app = config.apps.first().cloned().unwrap_or(AppCredentials {
            id: "demo".into(),
            key: "demo-key".into(),
            defaults: crate::model::AppDefaults::Open,
        });
        let mut web_hosts = HashMap::new();
        for (id, host) in &config.web_hosts {
            let Some(app) = config.apps.iter().find(|a| a.id == *id) else {
                return Err(AppError::Config(format!("--web-host names no app: {id}")));
            };
            web_hosts.insert(host.clone(), format!("/{}/{}/files/web", app.id, app.key));
        }
        let custom_domain = config.public_url.as_ref().map(|url| {
            let url = url.trim_end_matches('/').to_owned();
            let host = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
            let host = host.split('/').next().unwrap_or(host).to_ascii_lowercase();
            CustomDomain { url, host }
        });
        Ok(Self {
            inner: Arc::new(Inner {
                files,
                _lock: lock,
                apps: config
                    .apps
                    .iter()
                    .map(|a| (a.id.clone(), a.key.clone()))
                    .collect(),
                admin_keys,
                token_ttl_ms: i64::try_from(config.token_ttl.saturating_mul(1000))
                    .unwrap_or(i64::MAX),
                cors_origins: config.cors_origins.clone(),
                uploads: Arc::new(tokio::sync::Semaphore::new(config.max_uploads.max(1))),
                max_uploads: config.max_uploads.max(1),
                body_timeout: std::time::Duration::from_secs(config.body_timeout.max(1)),
                min_body_rate: config.min_body_rate,
                first_app,
                public_base: format!("{}://{}", config.scheme(), config.listen),
                scheme: config.scheme(),
                custom_domain,
                web_hosts,
                trust_proxy: config.trust_proxy,
                max_upload_bytes: config.max_upload_bytes,
                signer,
                faults: config.unsafe_test_hooks.then(Faults::default),
                upload_ttl_secs: config.upload_ttl,
                min_part_size: config.min_part_size,
                image_sizes: config.image_sizes.iter().cloned().collect(),
            }),
        })
    }

    /// Runs the garbage collector (expired uploads, blobs no row names) until the state is
    /// dropped.
    pub fn spawn_upload_gc(&self) {
        let weak = Arc::downgrade(&self.inner);
        let every = std::time::Duration::from_secs((self.inner.upload_ttl_secs / 2).clamp(1, 60));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(inner) = weak.upgrade() else { break };
                let now = crate::model::now_ms();
                match inner.files.expire_uploads(now).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(removed = n, "expired unfinished uploads"),
                    Err(e) => tracing::error!(error = %e, "upload garbage collection failed"),
                }
                if let Err(e) = inner.files.collect_garbage().await {
                    tracing::error!(error = %e, "blob garbage collection failed");
                }
            }
        });
    }

    /// Whether `secret` is `app`'s admin key (compared in constant time).
    #[must_use]
    pub fn is_admin_key(&self, app: &str, secret: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        self.inner
            .admin_keys
            .get(app)
            .is_some_and(|k| bool::from(k.as_bytes().ct_eq(secret.as_bytes())))
    }

    /// Whether `secret` is the admin key of some app.
    #[must_use]
    pub fn is_any_admin_key(&self, secret: &str) -> bool {
        self.inner
            .admin_keys
            .keys()
            .any(|app| self.is_admin_key(app, secret))
    }

    /// Whether `app` is an app of this server.
    #[must_use]
    pub fn knows_app(&self, app: &str) -> bool {
        self.inner.apps.contains_key(app)
    }

    /// Whether `key` is `app`'s REST API key (compared in constant time).
    #[must_use]
    pub fn is_api_key(&self, app: &str, key: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        self.inner
            .apps
            .get(app)
            .is_some_and(|k| bool::from(k.as_bytes().ct_eq(key.as_bytes())))
    }

    /// Lifetime of a login token, ms.
    #[must_use]
    pub fn token_ttl_ms(&self) -> i64 {
        self.inner.token_ttl_ms
    }

    /// How many requests with a body are being served (`/metrics`).
    #[must_use]
    pub fn uploads_in_flight(&self) -> usize {
        self.inner
            .max_uploads
            .saturating_sub(self.inner.uploads.available_permits())
    }

    /// A permit to serve one more request with a body, if one is free.
    #[must_use]
    pub fn upload_permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.inner.uploads.clone().try_acquire_owned().ok()
    }

    /// Longest pause between two chunks of a request body.
    #[must_use]
    pub fn body_timeout(&self) -> std::time::Duration {
        self.inner.body_timeout
    }

    /// Bytes a second a body must average after its first `--body-timeout` (0: any).
    #[must_use]
    pub fn min_body_rate(&self) -> u64 {
        self.inner.min_body_rate
    }

    /// The origins CORS allows (empty: any).
    #[must_use]
    pub fn cors_origins(&self) -> &[String] {
        &self.inner.cors_origins
    }

    /// The sizes `app`'s unsigned image URLs may ask for.
    #[must_use]
    pub fn image_sizes(&self, app: &str) -> &[u32] {
        self.inner
            .image_sizes
            .get(app)
            .map_or(&crate::images::DEFAULT_SIZES[..], Vec::as_slice)
    }

    /// The presigned-URL signer.
    #[must_use]
    pub fn signer(&self) -> &Signer {
        &self.inner.signer
    }

    /// Fault injection and counters, when test hooks are on.
    #[must_use]
    pub fn faults(&self) -> Option<&Faults> {
        self.inner.faults.as_ref()
    }

    /// Lifetime of unfinished uploads, in seconds.
    #[must_use]
    pub fn upload_ttl_secs(&self) -> u64 {
        self.inner.upload_ttl_secs
    }

    /// Smallest part but the last.
    #[must_use]
    pub fn min_part_size(&self) -> u64 {
        self.inner.min_part_size
    }

    /// Base of every URL this server hands out: `http://{Host}` of the request being served
    /// (so that behind a balancer, or on `0.0.0.0`, URLs point where the client reached), else
    /// `http://{listen}`.
    #[must_use]
    pub fn public_base(&self) -> String {
        REQUEST_BASE
            .try_with(Clone::clone)
            .unwrap_or_else(|_| self.inner.public_base.clone())
    }

    /// Runs `f` (a request's handling) with `base` as the base of the URLs it hands out: from
    /// the request, `http://{Host}`, or with `--trust-proxy` the proxy's `X-Forwarded-Proto` /
    /// `X-Forwarded-Host` (or `Forwarded: proto=…;host=…`). A host that is not a plain
    /// `name[:port]` is not used.
    pub async fn serving_base<F: std::future::Future>(base: Option<String>, f: F) -> F::Output {
        match base {
            Some(base) => REQUEST_BASE.scope(base, f).await,
            None => f.await,
        }
    }

    /// The base of the request being served, if one was set: what a task spawned for it
    /// passes on with [`Self::serving_base`].
    #[must_use]
    pub fn current_base() -> Option<String> {
        REQUEST_BASE.try_with(Clone::clone).ok()
    }

    /// The base of the URLs handed out in answer to a request with these headers (see
    /// [`AppState::serving_base`]); `None` when they name no usable host.
    #[must_use]
    pub fn request_base(&self, headers: &axum::http::HeaderMap) -> Option<String> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let mut scheme = self.inner.scheme;
        let mut host = header("host").unwrap_or("");
        if self.inner.trust_proxy {
            let forwarded = forwarded_pairs(header("forwarded").unwrap_or(""));
            let proto = header("x-forwarded-proto")
                .map(|p| p.split(',').next().unwrap_or("").trim())
                .or(forwarded.proto);
            if let Some(p) = proto {
                if p.eq_ignore_ascii_case("https") {
                    scheme = "https";
                }
            }
            if let Some(h) = header("x-forwarded-host")
                .map(|h| h.split(',').next().unwrap_or("").trim())
                .or(forwarded.host)
            {
                host = h;
            }
        }
        let plain = !host.is_empty()
            && host.len() <= 255
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
        // A default port is dropped (`https://h:443` is `https://h`): clients compare URLs they
        // are handed with their own base as strings.
        let host = match (scheme, host.rsplit_once(':')) {
            ("https", Some((name, "443"))) | ("http", Some((name, "80")))
                if !name.ends_with(':') =>
            {
                name
            }
            _ => host,
        };
        plain.then(|| format!("{scheme}://{host}"))
    }

    /// The app whose REST API key is `key` (the `/v1` API names apps by `X-API-Key`).
    pub fn app_for_key(&self, key: &str) -> Result<String, ApiError> {
        self.inner
            .apps
            .iter()
            .find(|(_, k)| k.as_str() == key)
            .map(|(id, _)| id.clone())
            .ok_or_else(|| {
                ApiError::new(
                    stowage_protocol::ErrorCode::WrongApp,
                    "Invalid application id or API key",
                )
            })
    }

    /// The files service: the only way to touch files.
    #[must_use]
    pub fn files(&self) -> &Files {
        &self.inner.files
    }

    /// Largest accepted upload body.
    #[must_use]
    pub fn max_upload_bytes(&self) -> u64 {
        self.inner.max_upload_bytes
    }

    /// Checks an `appId`/`apiKey` pair. A wrong pair never learns whether the app exists.
    pub fn authenticate(&self, app: &str, key: &str) -> Result<(), ApiError> {
        match self.is_api_key(app, key) {
            true => Ok(()),
            false => Err(ApiError::new(
                stowage_protocol::ErrorCode::WrongApp,
                "Invalid application id or API key",
            )),
        }
    }

    /// The public URL of `path` in `app`.
    #[must_use]
    pub fn public_url(&self, app: &str, path: &FilePath) -> String {
        let encoded = path.to_encoded();
        if let Some(domain) = &self.inner.custom_domain {
            if app == self.inner.first_app.id {
                return format!("{}/{encoded}", domain.url);
            }
        }
        let key = self.inner.apps.get(app).map_or("", String::as_str);
        format!("{}/{app}/{key}/files/{encoded}", self.public_base())
    }

    /// When `host` is a `--web-host`, the prefix of the app's `web/` directory it serves.
    #[must_use]
    pub fn web_host_prefix(&self, host: &str) -> Option<&str> {
        self.inner
            .web_hosts
            .get(&host.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// When `host` is the custom domain, the app-root prefix its paths are served under.
    #[must_use]
    pub fn custom_domain_prefix(&self, host: &str) -> Option<String> {
        let domain = self.inner.custom_domain.as_ref()?;
        (domain.host == host.to_ascii_lowercase()).then(|| {
            format!(
                "/{}/{}/files",
                self.inner.first_app.id, self.inner.first_app.key
            )
        })
    }
}

/// The secret a shared catalog starts with: the one a single server kept in `{data}/{file}`
/// before (so its URLs and keys go on working), else a new one.
async fn first_secret(data: &std::path::Path, file: &str) -> String {
    match tokio::fs::read_to_string(data.join(file)).await {
        Ok(text) if text.trim().len() >= 32 => text.trim().to_owned(),
        _ => crate::presign::random_secret(),
    }
}

/// `proto` and `host` of the first element of a `Forwarded` header (RFC 7239).
struct Forwarded<'a> {
    proto: Option<&'a str>,
    host: Option<&'a str>,
}

fn forwarded_pairs(value: &str) -> Forwarded<'_> {
    let first = value.split(',').next().unwrap_or("");
    let mut out = Forwarded {
        proto: None,
        host: None,
    };
    for pair in first.split(';') {
        if let Some((k, v)) = pair.trim().split_once('=') {
            let v = v.trim().trim_matches('"');
            match k.trim().to_ascii_lowercase().as_str() {
                "proto" => out.proto = Some(v),
                "host" => out.host = Some(v),
                _ => {}
            }
        }
    }
    out
}

tokio::task_local! {
    /// The URL base of the request this task serves (see [`AppState::with_request_host`]).
    static REQUEST_BASE: String;
}

/// `--migrate-only`: brings the catalog's schema up to date (holding the data directory's lock,
/// so not under a running server of a SQLite catalog) and lists every migration.
pub async fn migrate_only(config: &Config) -> AppResult<Vec<crate::catalog::MigrationState>> {
    config.validate().map_err(AppError::Config)?;
    tokio::fs::create_dir_all(&config.data).await?;
    let _lock = lock_data_dir(&config.data)?;
    let (catalog, _) = Catalog::open(&config.database_url()).await?;
    catalog.migrations().await
}

/// Takes the data directory's exclusive lock (`{data}/.lock`), or says who holds it.
fn lock_data_dir(data: &std::path::Path) -> AppResult<std::fs::File> {
    let path = data.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(file),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(AppError::Config(format!(
            "the data directory {} is in use by another stowage-devserver (it holds {}); \
             one data directory serves one server at a time",
            data.display(),
            path.display()
        ))),
        Err(e) => Err(AppError::Io(e.into())),
    }
}
