//! Starts `stowage-devserver`: parse flags, open the store, bind, serve until SIGINT or SIGTERM
//! (telling systemd when it is ready and when it stops). Or, instead of serving, `backup DEST`,
//! `transform IN OUT` or `--migrate-only`.

use std::io::IsTerminal as _;

use clap::Parser;
use stowage_devserver::config::{Command, LogFormat};
use stowage_devserver::{app, AppState, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut config = Config::parse();
    logs(config.log_format);
    if let Some(Command::Backup { dest }) = &config.command {
        return backup(&config, dest).await;
    }
    if let Some(Command::Transform {
        input,
        output,
        spec,
    }) = &config.command
    {
        return match stowage_devserver::images::transform_file(input, output, spec) {
            Ok(report) => {
                println!("{report}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("transform failed: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if config.migrate_only {
        return migrate_only(&config).await;
    }
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => match stowage_devserver::listen::tls_acceptor(cert, key) {
            Ok(tls) => Some(tls),
            Err(e) => {
                eprintln!("cannot serve TLS: {e}");
                return std::process::ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", config.listen);
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Ok(addr) = listener.local_addr() {
        config.listen = addr;
    }
    let state = match AppState::open(&config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "cannot start on data directory {}: {e}",
                config.data.display()
            );
            return std::process::ExitCode::FAILURE;
        }
    };
    state.spawn_upload_gc();
    stowage_devserver::spawn_metrics_upkeep();
    // jemalloc gives freed pages back from a thread of its own, so an idle server shrinks too.
    if let Err(e) = tikv_jemalloc_ctl::background_thread::write(true) {
        tracing::warn!(error = %e, "jemalloc's background purge is off");
    }
    tracing::info!("listening on {}://{}", config.scheme(), config.listen);
    // systemd's `Type=notify`: ready once the store is open and the socket bound (a no-op
    // without NOTIFY_SOCKET).
    if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Ready]) {
        tracing::warn!(error = %e, "could not tell systemd the server is ready");
    }
    // SIGINT (Ctrl-C) and SIGTERM (systemd, Docker, Kubernetes) both drain in-flight requests.
    let shutdown = async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminated = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminated => {}
        }
        tracing::info!("stopping: finishing in-flight requests");
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    };
    let router = app(state, &config.www);
    stowage_devserver::listen::serve(listener, router, config.limits(), tls, shutdown).await;
    tracing::info!("stopped");
    std::process::ExitCode::SUCCESS
}

/// `stowage-devserver backup DEST`.
async fn backup(config: &Config, dest: &std::path::Path) -> std::process::ExitCode {
    match stowage_devserver::backup::run(config, dest).await {
        Ok(r) => {
            println!(
                "backed up {} records and {} blobs ({} bytes) into {} in {:.1} s",
                r.records,
                r.blobs,
                r.bytes,
                dest.display(),
                r.elapsed.as_secs_f64()
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("backup failed, nothing written to {}: {e}", dest.display());
            std::process::ExitCode::FAILURE
        }
    }
}

/// `--migrate-only`: the catalog's schema brought up to date, every migration listed.
async fn migrate_only(config: &Config) -> std::process::ExitCode {
    match stowage_devserver::state::migrate_only(config).await {
        Ok(migrations) => {
            for m in &migrations {
                let applied = m.applied.as_deref().unwrap_or("not applied");
                let origin = if m.known {
                    ""
                } else {
                    " (unknown to this version)"
                };
                println!("{:04} {:<24} {applied}{origin}", m.version, m.name);
            }
            let version = migrations
                .iter()
                .filter(|m| m.applied.is_some())
                .map(|m| m.version)
                .max()
                .unwrap_or(0);
            println!("catalog schema at version {version}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot migrate the catalog: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Log lines to stdout as `--log-format` says, at the levels of `RUST_LOG` (default `info`).
fn logs(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let lines = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Json => lines.json().init(),
        // No colour codes in a file or a pipe (journald, docker logs).
        LogFormat::Text => lines.with_ansi(std::io::stdout().is_terminal()).init(),
    }
}
