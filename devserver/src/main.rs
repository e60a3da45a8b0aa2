//! Starts `stowage-devserver`: parse flags, open the store, bind, serve until SIGINT or SIGTERM.

use std::io::IsTerminal as _;

use clap::Parser;
use stowage_devserver::config::LogFormat;
use stowage_devserver::{app, AppState, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut config = Config::parse();
    logs(config.log_format);
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
    tracing::info!("listening on http://{}", config.listen);
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
    };
    let router = app(state, &config.www);
    stowage_devserver::listen::serve(listener, router, config.limits(), shutdown).await;
    tracing::info!("stopped");
    std::process::ExitCode::SUCCESS
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
