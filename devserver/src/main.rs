//! Starts `stowage-devserver`: parse flags, open the store, bind, serve until Ctrl-C.

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
            eprintln!("cannot open data directory {}: {e}", config.data.display());
            return std::process::ExitCode::FAILURE;
        }
    };
    state.spawn_upload_gc();
    tracing::info!("listening on http://{}", config.listen);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let served = axum::serve(listener, app(state, &config.www))
        .with_graceful_shutdown(shutdown)
        .await;
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
