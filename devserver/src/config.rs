//! Command-line flags and their environment variables (clap).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Storage server for Stowage: files as records in SQLite or PostgreSQL, bytes on disk;
/// Backendless, bkend and Cognite API shapes.
#[derive(Debug, Clone, Parser)]
#[command(version, about)]
pub struct Config {
    /// The catalog of records: `sqlite://FILE` (default: `stowage.db` in the data directory) or
    /// `postgres://USER@HOST:PORT/DB` (several servers may share one).
    #[arg(long, env = "STOWAGE_DATABASE")]
    pub database: Option<String>,

    /// Address to listen on.
    #[arg(long, env = "STOWAGE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Data directory: file bytes under `blobs/`, the SQLite catalog in `stowage.db` (unless
    /// `--database` names another). Created when missing; one server at a time.
    #[arg(long, env = "STOWAGE_DATA", default_value = "./stowage-data")]
    pub data: PathBuf,

    /// An app as `ID:KEY` (app id and REST API key). Repeat for more apps; in the environment
    /// separate them with commas. The first app also answers the `--public-url` domain.
    #[arg(
        long = "app",
        env = "STOWAGE_APPS",
        value_delimiter = ',',
        default_value = "demo:demo-key",
        value_parser = parse_app
    )]
    pub apps: Vec<AppCredentials>,

    /// Custom domain for public file URLs, e.g. `https://files.example.com`. File URLs become
    /// `{public-url}/{path}/{name}` and requests whose Host is that domain are served that way.
    #[arg(long, env = "STOWAGE_PUBLIC_URL")]
    pub public_url: Option<String>,

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

    /// FOR TESTS ONLY: enables `/v1/test/faults` (fail, drop, throttle or delay part uploads)
    /// and `/v1/test/stats`. Refused unless `--listen` is a loopback address.
    #[arg(long, env = "STOWAGE_UNSAFE_TEST_HOOKS")]
    pub unsafe_test_hooks: bool,
}

/// One app: its id and REST API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCredentials {
    /// The app id, first segment of every route.
    pub id: String,
    /// The REST API key, second segment of every route.
    pub key: String,
}

fn parse_app(text: &str) -> Result<AppCredentials, String> {
    let (id, key) = text.split_once(':').ok_or("expected ID:KEY")?;
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
    })
}

impl Config {
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
        Ok(config)
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
