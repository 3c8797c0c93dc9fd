//! `ferrokeeper`: a ZooKeeper server without a JVM.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "ferrokeeper", version, about = "A native, wire-compatible Apache ZooKeeper server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve from a zoo.cfg as QuorumPeerMain does; with no file: clientPort 2181, dataDir ./data.
    Serve {
        /// Path to zoo.cfg.
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    ferrokeeper::logging::init(None);
    match cli.command {
        Command::Serve { config } => serve(config),
    }
}

fn serve(config: Option<PathBuf>) -> ExitCode {
    let settings = match ferrokeeper::settings::load(config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            tracing::error!("Invalid config, exiting abnormally: {}", error);
            eprintln!("Invalid config, exiting abnormally: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!("cannot start the runtime: {}", error);
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        tokio::select! {
            result = ferrokeeper::server::run_standalone(settings) => result,
            _ = shutdown_signal() => {
                tracing::info!("shutting down");
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("Unexpected exception, exiting abnormally: {}", error);
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut terminate) = signal(SignalKind::terminate()) else { return std::future::pending().await };
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
