//! `AppState`: what every handler shares — the files service, the known apps and the URL rules.
//! It is also where the server is put together: data-directory lock, catalog, blobs, service.

use std::collections::HashMap;
use std::sync::Arc;

use stowage_protocol::paths::FilePath;
use stowage_protocol::ApiError;

use crate::blobs::DiskBlobs;
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
    first_app: AppCredentials,
    public_base: String,
    custom_domain: Option<CustomDomain>,
    max_upload_bytes: u64,
    signer: Signer,
    faults: Option<Faults>,
    upload_ttl_secs: u64,
    min_part_size: u64,
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
        let blobs = DiskBlobs::open(&config.data).await?;
        let files = Files::start(catalog, new_catalog, Arc::new(blobs)).await?;
        let signer = Signer::load(config.signing_secret.as_deref(), &config.data).await?;
        if config.unsafe_test_hooks {
            tracing::warn!("test hooks are on: /v1/test/faults can make uploads fail");
        }
        let first_app = config.apps.first().cloned().unwrap_or(AppCredentials {
            id: "demo".into(),
            key: "demo-key".into(),
        });
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
                first_app,
                public_base: format!("http://{}", config.listen),
                custom_domain,
                max_upload_bytes: config.max_upload_bytes,
                signer,
                faults: config.unsafe_test_hooks.then(Faults::default),
                upload_ttl_secs: config.upload_ttl,
                min_part_size: config.min_part_size,
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

    /// Base of every URL this server hands out (`http://{listen}`).
    #[must_use]
    pub fn public_base(&self) -> &str {
        &self.inner.public_base
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
        match self.inner.apps.get(app) {
            Some(k) if k == key => Ok(()),
            _ => Err(ApiError::new(
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
        format!("{}/{app}/{key}/files/{encoded}", self.inner.public_base)
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
