//! Starts `stowage-devserver`: parse flags, open the store, bind, serve until SIGINT or SIGTERM.

use clap::Parser;
use stowage_devserver::{app, AppState, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let mut config = Config::parse();
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
