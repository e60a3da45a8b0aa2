//! Command-line flags and their environment variables (clap).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines; colour only on a terminal.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Storage server for Stowage: files as records in SQLite or PostgreSQL, bytes on disk;
/// Backendless, bkend and Cognite API shapes.
#[derive(Debug, Clone, Parser)]
#[command(
    version,
    about,
    after_help = "Logs: levels come from RUST_LOG (default `info`), e.g. \
        `RUST_LOG=warn` or `RUST_LOG=stowage_devserver=debug,tower_http=info`; one line per \
        request at `info`, with the API key segment of its path replaced by `***` and no \
        query string. Secrets given in the environment (STOWAGE_ADMIN_KEYS, \
        STOWAGE_SIGNING_SECRET, STOWAGE_DATABASE) are never shown here."
)]
pub struct Config {
    /// Log lines as `text` (coloured only when stdout is a terminal) or `json` (one object per
    /// line: `timestamp`, `level`, `fields`, `target`, `span`).
    #[arg(long, env = "STOWAGE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// The catalog of records: `sqlite://FILE` (default: `stowage.db` in the data directory) or
    /// `postgres://USER@HOST:PORT/DB` (several servers may share one).
    #[arg(long, env = "STOWAGE_DATABASE", hide_env_values = true, global = true)]
    pub database: Option<String>,

    /// Where file bytes live: `file://DIR` (default: `blobs/` in the data directory) or
    /// `s3://BUCKET[/PREFIX]`, an S3-compatible object store (AWS S3, Garage, MinIO) set up by
    /// `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_ALLOW_HTTP=true` for plain HTTP. Several servers may share one bucket (and one
    /// PostgreSQL `--database`): docs/deploy.md.
    #[arg(long, env = "STOWAGE_BLOBS", global = true)]
    pub blobs: Option<String>,

    /// With an object store (`--blobs s3://…`): multipart part URLs and download URLs are the
    /// store's own presigned URLs, so those bytes go between the browser and the store without
    /// passing through this server. The bucket needs a CORS rule for the app's origins that
    /// exposes `ETag` (docs/deploy.md).
    #[arg(long, env = "STOWAGE_DIRECT_TO_STORE")]
    pub direct_to_store: bool,

    /// Seconds a blob written to an object store may stay unnamed by any record before the
    /// collector removes it as the leftover of a write that never finished (a crashed server,
    /// a client that left). Longer than any upload takes.
    #[arg(long, env = "STOWAGE_PENDING_TTL", default_value_t = 24 * 3600)]
    pub pending_ttl: u64,

    /// Address to listen on.
    #[arg(long, env = "STOWAGE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Serve HTTPS (TLS 1.2 and 1.3, rustls) with this certificate chain, a PEM file (the
    /// server's certificate first). Needs `--tls-key`. The URLs handed out then start with
    /// `https://`. For deployments without a reverse proxy.
    #[arg(long, env = "STOWAGE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of `--tls-cert`, a PEM file (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "STOWAGE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Data directory: file bytes under `blobs/`, the SQLite catalog in `stowage.db` (unless
    /// `--database` names another). Created when missing; one server at a time.
    #[arg(
        long,
        env = "STOWAGE_DATA",
        default_value = "./stowage-data",
        global = true
    )]
    pub data: PathBuf,

    /// An app as `ID:KEY[:DEFAULTS]` (app id, REST API key, and what anonymous and signed-in
    /// users may do where no rule decides: `private`, the default, or `open` for everyone;
    /// docs/access.md). Repeat for more apps; in the environment separate them with commas.
    /// The first app also answers the `--public-url` domain.
    #[arg(
        long = "app",
        env = "STOWAGE_APPS",
        value_delimiter = ',',
        default_value = "demo:demo-key:open",
        value_parser = parse_app
    )]
    pub apps: Vec<AppCredentials>,

    /// An app's admin key as `ID=SECRET` (at least 32 characters). It may do anything and is
    /// sent only in headers, never in URLs. An app without one gets a key generated once into
    /// `{data}/admin-{ID}.key` (mode 0600). Repeatable; commas in the environment.
    #[arg(
        long = "admin-key",
        env = "STOWAGE_ADMIN_KEYS",
        value_delimiter = ',',
        hide_env_values = true,
        value_parser = parse_admin_key
    )]
    pub admin_keys: Vec<(String, String)>,

    /// Serve an app's `/web` directory as a static site on its own host name, as `ID=HOST`
    /// (e.g. `photos=www.example.com`): a request whose `Host` is HOST for `/{path}` gets the
    /// file `web/{path}` (`index.html` for `/` and paths ending in `/`), GET and HEAD only, with
    /// the anonymous user's permissions and no listings. Repeatable; commas in the environment.
    #[arg(long = "web-host", env = "STOWAGE_WEB_HOSTS", value_delimiter = ',', value_parser = parse_web_host)]
    pub web_hosts: Vec<(String, String)>,

    /// The sizes an app's unsigned image URLs may ask for, as `ID=W,W,...` (widths with
    /// automatic height, and the same as squares); any other size needs a signed URL. Default:
    /// 64, 128, 256, 400, 800, 1200 and 1600. `ID=` allows none. Repeatable; in the environment
    /// separate apps with `;`.
    #[arg(long = "image-sizes", env = "STOWAGE_IMAGE_SIZES", value_delimiter = ';', value_parser = parse_image_sizes)]
    pub image_sizes: Vec<(String, Vec<u32>)>,

    /// Where image variants are kept (default `{data}/variants`).
    #[arg(long, env = "STOWAGE_IMAGE_CACHE")]
    pub image_cache: Option<PathBuf>,

    /// Most bytes the image variant cache holds; the least recently used go first (default
    /// 1 GiB).
    #[arg(long, env = "STOWAGE_IMAGE_CACHE_BYTES", default_value_t = 1024 * 1024 * 1024)]
    pub image_cache_bytes: u64,

    /// Lifetime of a login token, in seconds (default 30 days).
    #[arg(long, env = "STOWAGE_TOKEN_TTL", default_value_t = 30 * 24 * 3600)]
    pub token_ttl: u64,

    /// Origins browsers may call from (CORS), e.g. `https://app.example.com`. Repeatable; when
    /// none is given any origin may (no cookies are used, so `*` is safe).
    #[arg(
        long = "cors-origin",
        env = "STOWAGE_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// Custom domain for public file URLs, e.g. `https://files.example.com`. File URLs become
    /// `{public-url}/{path}/{name}` and requests whose Host is that domain are served that way.
    #[arg(long, env = "STOWAGE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Believe the `X-Forwarded-Proto` / `X-Forwarded-Host` (or `Forwarded`) headers of a
    /// reverse proxy when building the URLs the server hands out (`https://` behind a TLS
    /// proxy). Only behind a proxy that sets them: a client could otherwise pick the host of
    /// the URLs it is given.
    #[arg(long, env = "STOWAGE_TRUST_PROXY")]
    pub trust_proxy: bool,

    /// Directory served at `/` (the upload page and the built wasm package in `pkg/`).
    #[arg(long, env = "STOWAGE_WWW", default_value = "www")]
    pub www: PathBuf,

    /// Largest accepted upload body, in bytes (default 5 GiB).
    #[arg(long, env = "STOWAGE_MAX_UPLOAD_BYTES", default_value_t = 5 * 1024 * 1024 * 1024)]
    pub max_upload_bytes: u64,

    /// Secret for presigned URLs. When absent, one is generated once and kept in
    /// `{data}/signing.key`.
    #[arg(long, env = "STOWAGE_SIGNING_SECRET", hide_env_values = true)]
    pub signing_secret: Option<String>,

    /// Seconds an unfinished multipart upload is kept before its parts are removed.
    #[arg(long, env = "STOWAGE_UPLOAD_TTL", default_value_t = 24 * 3600)]
    pub upload_ttl: u64,

    /// Smallest multipart part but the last, in bytes. Below 5 MiB only together with
    /// `--unsafe-test-hooks` (for tests with small files).
    #[arg(long, env = "STOWAGE_MIN_PART_SIZE", default_value_t = stowage_protocol::multipart::MIN_PART_SIZE)]
    pub min_part_size: u64,

    /// Seconds to wait for a request's headers (slow-header clients are closed after it).
    #[arg(long, env = "STOWAGE_HEADER_TIMEOUT", default_value_t = 30)]
    pub header_timeout: u64,

    /// Seconds a connection may send and receive nothing before it is closed: an idle
    /// keep-alive connection, a stalled upload, a client that stopped reading its download.
    #[arg(long, env = "STOWAGE_IDLE_TIMEOUT", default_value_t = 60)]
    pub idle_timeout: u64,

    /// Seconds an upload's body may pause between two chunks; past it the upload is refused
    /// (`8011`) and leaves nothing. Also the grace period of `--min-body-rate`.
    #[arg(long, env = "STOWAGE_BODY_TIMEOUT", default_value_t = 20)]
    pub body_timeout: u64,

    /// Bytes a second a request body must average once it has been arriving for
    /// `--body-timeout` seconds; a slower one is refused (`8011`) and leaves nothing. 0: any.
    #[arg(long, env = "STOWAGE_MIN_BODY_RATE", default_value_t = 1024)]
    pub min_body_rate: u64,

    /// Most connections open at once; one more gets `429 {code: 7009}` with `Retry-After`.
    #[arg(long, env = "STOWAGE_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,

    /// Most requests with a body (uploads, parts, JSON calls) served at once; one more gets
    /// `429 {code: 7009}` with `Retry-After`. Each open upload holds a temp file, a descriptor
    /// and a few hundred KiB; slow ones are cut off by `--body-timeout` and `--min-body-rate`.
    #[arg(long, env = "STOWAGE_MAX_UPLOADS", default_value_t = 1024)]
    pub max_uploads: usize,

    /// Seconds requests in flight may take to finish after SIGTERM or SIGINT.
    #[arg(long, env = "STOWAGE_SHUTDOWN_GRACE", default_value_t = 30)]
    pub shutdown_grace: u64,

    /// FOR TESTS ONLY: enables `/v1/test/faults` (fail, drop, throttle or delay part uploads)
    /// and `/v1/test/stats`. Refused unless `--listen` is a loopback address.
    #[arg(long, env = "STOWAGE_UNSAFE_TEST_HOOKS")]
    pub unsafe_test_hooks: bool,

    /// Bring the catalog's schema up to date, list every migration (version, name, when it was
    /// applied) and exit without serving. A server starting on an older catalog does the same
    /// first (and logs each migration it applies); one started on a catalog that a newer version
    /// migrated refuses to start.
    #[arg(long, env = "STOWAGE_MIGRATE_ONLY")]
    pub migrate_only: bool,

    /// Something to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What `stowage-devserver` can do besides serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Copy the SQLite catalog and the disk blob store into a new directory DEST, consistent at
    /// one moment, while a server runs on them and uploads continue. DEST is a data directory:
    /// restore by starting a server with `--data DEST` (or by copying it into place while the
    /// server is stopped). PostgreSQL and object stores have backups of their own
    /// (docs/deploy.md).
    Backup {
        /// The directory to create (it must not exist; it appears only once complete).
        dest: PathBuf,
    },
    /// Make one image variant of a local file, as the image routes would, and print what it
    /// took as JSON (`ms` of the transform alone, the process's `peakRssBytes`, the output's
    /// size): for trying transforms and for the benchmark against `vipsthumbnail`.
    Transform {
        /// The source image.
        input: PathBuf,
        /// Where to write the variant.
        output: PathBuf,
        /// The transform in the thumbor grammar of `/img/...` URLs, e.g.
        /// `fit-in/400x0/filters:quality(80):format(webp)` (default: WebP at the source's size).
        #[arg(long, default_value = "")]
        spec: String,
    },
}

/// One app: its id and REST API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCredentials {
    /// The app id, first segment of every route.
    pub id: String,
    /// The REST API key, second segment of every route.
    pub key: String,
    /// What the app allows where no rule decides.
    pub defaults: crate::model::AppDefaults,
}

fn parse_admin_key(text: &str) -> Result<(String, String), String> {
    let (id, secret) = text.split_once('=').ok_or("expected ID=SECRET")?;
    if secret.len() < 32 || secret.chars().any(|c| c.is_whitespace() || c == ',') {
        return Err(
            "the admin key must be at least 32 characters, without spaces or commas".into(),
        );
    }
    Ok((id.to_owned(), secret.to_owned()))
}

fn parse_web_host(text: &str) -> Result<(String, String), String> {
    let (id, host) = text.split_once('=').ok_or("expected ID=HOST")?;
    let host = host.trim().to_ascii_lowercase();
    if id.is_empty()
        || host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    {
        return Err("expected ID=HOST, HOST a name with an optional :PORT".into());
    }
    Ok((id.to_owned(), host))
}

fn parse_image_sizes(text: &str) -> Result<(String, Vec<u32>), String> {
    let (id, list) = text.split_once('=').ok_or("expected ID=W,W,...")?;
    let sizes = list
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(|w| {
            w.parse::<u32>()
                .ok()
                .filter(|n| (1..=crate::images::transform::MAX_SIDE).contains(n))
                .ok_or_else(|| format!("{w:?} is not a width of 1 to 2500 pixels"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if id.is_empty() {
        return Err("expected ID=W,W,...".into());
    }
    Ok((id.to_owned(), sizes))
}

fn parse_app(text: &str) -> Result<AppCredentials, String> {
    let (text, defaults) = match text.rsplit_once(':') {
        Some((rest, "open")) => (rest, crate::model::AppDefaults::Open),
        Some((rest, "private")) => (rest, crate::model::AppDefaults::Private),
        _ => (text, crate::model::AppDefaults::Private),
    };
    let (id, key) = text
        .split_once(':')
        .ok_or("expected ID:KEY[:open|private]")?;
    let ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    if !ok(id) || !ok(key) {
        return Err("ID and KEY may use only letters, digits, '-', '_' and '.'".into());
    }
    if id == "v1" {
        return Err("the app id 'v1' is reserved for the /v1 API".into());
    }
    Ok(AppCredentials {
        id: id.to_owned(),
        key: key.to_owned(),
        defaults,
    })
}

impl Config {
    /// The limits of the connection layer.
    #[must_use]
    pub fn limits(&self) -> crate::listen::Limits {
        crate::listen::Limits {
            header_timeout: std::time::Duration::from_secs(self.header_timeout.max(1)),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout.max(1)),
            max_connections: self.max_connections.max(1),
            grace: std::time::Duration::from_secs(self.shutdown_grace),
        }
    }

    /// `https` with `--tls-cert`, else `http`.
    #[must_use]
    pub fn scheme(&self) -> &'static str {
        if self.tls_cert.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// Checks combinations clap cannot: test hooks only on loopback, small parts only with them.
    pub fn validate(&self) -> Result<(), String> {
        if self.unsafe_test_hooks && !self.listen.ip().is_loopback() {
            return Err(format!(
                "--unsafe-test-hooks is refused on {}: it is for tests on a loopback address only",
                self.listen
            ));
        }
        if self.min_part_size < stowage_protocol::multipart::MIN_PART_SIZE
            && !self.unsafe_test_hooks
        {
            return Err(
                "--min-part-size below 5 MiB needs --unsafe-test-hooks (tests only)".into(),
            );
        }
        if let Some(secret) = self.signing_secret.as_deref().filter(|s| !s.is_empty()) {
            if secret.len() < crate::presign::MIN_SECRET_LEN {
                return Err(format!(
                    "--signing-secret must be at least {} characters (it is {})",
                    crate::presign::MIN_SECRET_LEN,
                    secret.len()
                ));
            }
        }
        if let Some(blobs) = &self.blobs {
            if !blobs.starts_with("s3://") && !blobs.starts_with("file://") {
                return Err(format!(
                    "--blobs {blobs}: expected file://DIR or s3://BUCKET[/PREFIX]"
                ));
            }
        }
        if self.min_part_size == 0 {
            return Err("--min-part-size must be at least 1".into());
        }
        Ok(())
    }

    /// A configuration for tests: the defaults with the given data directory.
    #[must_use]
    pub fn for_data_dir(data: impl Into<PathBuf>) -> Self {
        let mut config = Self::parse_from(["stowage-devserver"]);
        config.data = data.into();
        config
    }

    /// A configuration for tests with a catalog of its own: SQLite in `data`, or, when
    /// `STOWAGE_TEST_DATABASE` names a PostgreSQL server (as `npm test` does), a new empty
    /// database on it.
    pub async fn for_tests(data: impl Into<PathBuf>) -> Result<Self, String> {
        let mut config = Self::for_data_dir(data);
        if let Some(url) = std::env::var("STOWAGE_TEST_DATABASE")
            .ok()
            .filter(|u| !u.is_empty())
        {
            config.database = Some(new_postgres_database(&url).await?);
        }
        // `s3://BUCKET` (as `npm test`'s cluster step sets it): a prefix of its own per server,
        // as each gets a database of its own.
        if let Some(url) = std::env::var("STOWAGE_TEST_BLOBS")
            .ok()
            .filter(|u| u.starts_with("s3://"))
        {
            config.blobs = Some(format!(
                "{}/test-{}",
                url.trim_end_matches('/'),
                crate::blobs::new_id()
            ));
        }
        Ok(config)
    }

    /// Whether the catalog is a database other servers may share (PostgreSQL): secrets the
    /// server generates are kept there, so every server holds the same ones.
    #[must_use]
    pub fn shared_catalog(&self) -> bool {
        self.database
            .as_deref()
            .is_some_and(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
    }

    /// The catalog's URL: `--database`, else SQLite in the data directory.
    #[must_use]
    pub fn database_url(&self) -> String {
        match &self.database {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data.join("stowage.db").display()
            ),
        }
    }
}

/// Creates a database with a random name on the PostgreSQL server of `url`; answers its URL.
async fn new_postgres_database(url: &str) -> Result<String, String> {
    use sqlx::Connection as _;
    let name = format!("stowage_test_{}", crate::blobs::new_id());
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .map_err(|e| format!("cannot connect to STOWAGE_TEST_DATABASE: {e}"))?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .map_err(|e| format!("cannot create a test database: {e}"))?;
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    Ok(match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    })
}
