//! Fills a data directory's catalog with many files at once, for the listing bench
//! (`bench/listing.mjs`): one directory `/{dir}/` holding `--files` records named
//! `f0000000.bin`, `f0000001.bin`, …, each owning its path and with no content yet, as a Cognite
//! `POST /files` leaves a record before its upload. They are created in a shuffled order (unless
//! `--in-order`), as a directory filled over time is, so that neighbours in name or path order
//! are not neighbours on disk. No blob is written, so a million files take a minute or two, not
//! the hours of a million uploads; the server then starts on the directory as on any catalog
//! without blobs.
//!
//! ```sh
//! cargo run -p stowage-devserver --release --example seed -- --data /tmp/d --files 100000
//! target/release/stowage-devserver --data /tmp/d   # GET /demo/demo-key/files/bench/
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use rand::{Rng, SeedableRng};
use stowage_devserver::catalog::{records, Catalog, Dialect, NewRecord, Tx};
use stowage_devserver::error::AppResult;
use stowage_devserver::model::{now_ms, Fields, MAX_ID};
use stowage_devserver::Config;
use stowage_protocol::FilePath;

/// Seeds a catalog with `--files` records in one directory, without their bytes.
#[derive(Debug, Parser)]
struct Args {
    /// Data directory (created when missing); the catalog is its `stowage.db`.
    #[arg(long)]
    data: PathBuf,
    /// The catalog, when not the data directory's SQLite file (`sqlite://…`, `postgres://…`).
    #[arg(long)]
    database: Option<String>,
    /// How many files.
    #[arg(long)]
    files: u64,
    /// The directory that holds them, below the root.
    #[arg(long, default_value = "bench")]
    dir: String,
    /// The app they belong to.
    #[arg(long, default_value = "demo")]
    app: String,
    /// Records per transaction.
    #[arg(long, default_value_t = 10_000)]
    batch: u64,
    /// Seed of the random record ids, so that two catalogs of one size are alike.
    #[arg(long, default_value_t = 8)]
    seed: u64,
    /// Create the files in name order (the default shuffles the order of creation).
    #[arg(long)]
    in_order: bool,
}

/// A multiplier prime to `n`: `i ↦ (a·i + n/3) mod n` is then a bijection of `0..n` that puts
/// names created one after another far apart.
fn multiplier(n: u64) -> u64 {
    let gcd = |mut a: u64, mut b: u64| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    (0x9E37_79B9_u64..).find(|a| gcd(*a, n) == 1).unwrap_or(1)
}

/// The number in the name of the `i`-th file created of `n` (`a` from [`multiplier`], or 0 to
/// create them in name order).
fn name_index(i: u64, n: u64, a: u64) -> u64 {
    if a == 0 {
        return i;
    }
    let x = (u128::from(a) * u128::from(i) + u128::from(n / 3)) % u128::from(n);
    u64::try_from(x).unwrap_or(i)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match seed(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("seed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A record of the path-based shape at `path`: a directory, or a file without content.
fn record(id: i64, path: FilePath, is_dir: bool, now: i64) -> NewRecord {
    NewRecord {
        id,
        directory: Some(path.parent().to_absolute()),
        name: path.name().to_owned(),
        path: Some(path),
        is_dir,
        fields: Fields {
            mime_type: (!is_dir).then(|| "application/octet-stream".to_owned()),
            ..Fields::default()
        },
        now,
        content: None,
        access: stowage_devserver::model::Access::default(),
    }
}

/// A transaction whose connection may cache 256 MiB of the database: inserts in shuffled order
/// touch index pages all over it.
async fn begin(catalog: &Catalog) -> AppResult<Tx> {
    let mut tx = catalog.begin().await?;
    if catalog.dialect() == Dialect::Sqlite {
        sqlx::query("PRAGMA cache_size = -262144")
            .execute(tx.conn())
            .await?;
    }
    Ok(tx)
}

async fn seed(args: &Args) -> AppResult<()> {
    let started = Instant::now();
    std::fs::create_dir_all(&args.data)?;
    let mut config = Config::for_data_dir(&args.data);
    config.database.clone_from(&args.database);
    let (catalog, _new) = Catalog::open(&config.database_url()).await?;
    let dir = FilePath::parse(&args.dir)?;
    let mut ids = rand::rngs::StdRng::seed_from_u64(args.seed);
    let mut tx = begin(&catalog).await?;
    records::insert(
        &mut tx,
        &args.app,
        &record(ids.random_range(1..=MAX_ID), dir.clone(), true, now_ms()),
    )
    .await?;
    let batch = args.batch.max(1);
    let a = if args.in_order {
        0
    } else {
        multiplier(args.files.max(1))
    };
    for i in 0..args.files {
        let path = dir.join(&format!("f{:07}.bin", name_index(i, args.files, a)))?;
        records::insert(
            &mut tx,
            &args.app,
            &record(ids.random_range(1..=MAX_ID), path, false, now_ms()),
        )
        .await?;
        if (i + 1) % batch == 0 {
            tx.commit().await?;
            tx = begin(&catalog).await?;
        }
    }
    tx.commit().await?;
    // Fold the WAL into the database file, so the server starts on a settled catalog.
    if catalog.dialect() == Dialect::Sqlite {
        let mut conn = catalog.read().await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *conn)
            .await?;
    }
    let secs = started.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let rate = args.files as f64 / secs.max(1e-9);
    println!(
        "{} files in /{}/ of app {} in {secs:.1} s ({rate:.0}/s)",
        args.files,
        dir.as_str(),
        args.app
    );
    Ok(())
}
