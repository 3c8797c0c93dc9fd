//! `ferrokeeper serve`: the server in the foreground, with its AdminServer and /metrics endpoint,
//! until SIGTERM/SIGINT (or the server fails).

use crate::config::ServerConfig;
use std::path::Path;
use std::process::ExitCode;

/// Runtime workers unless `TOKIO_WORKER_THREADS` says otherwise: one core fewer than the process
/// may use (cgroup limits included), at least one. The txn log's storage thread is on every
/// write's path and needs a core of its own; on two cores a second worker mostly traded wakeups
/// with it (3-member loopback ensemble, setData: half the context switches and ~20% less CPU per
/// write with one worker; a standalone server's getData rate did not drop either).
fn default_worker_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| cores.get().saturating_sub(1).max(1))
}

/// Runs the server from `config` (a zoo.cfg) or the built-in defaults; the exit code is the one
/// QuorumPeerMain uses: 2 for an invalid config, 1 for a failure while serving.
pub fn serve(config: Option<&Path>) -> ExitCode {
    let settings = match crate::settings::load(config) {
        Ok(settings) => settings,
        Err(error) => {
            tracing::error!("Invalid config, exiting abnormally: {}", error);
            eprintln!("Invalid config, exiting abnormally: {error}");
            return ExitCode::from(2);
        }
    };
    let operator = match config {
        Some(path) => ServerConfig::load(path).ok(),
        None => Some(ServerConfig::default_standalone()),
    };
    if let Some(id) = operator.as_ref().and_then(|c| (!c.is_standalone()).then_some(c.server_id).flatten()) {
        crate::logging::set_my_id(id);
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(default_worker_threads());
    }
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!("cannot start the runtime: {}", error);
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let start_operator_surface = |started: crate::server::Started| {
            if let Some(config) = &operator {
                let limit = config
                    .raw_value("4lw.watchListLimit")
                    .or_else(|| config.raw_value("zookeeper.4lw.watchListLimit"))
                    .and_then(|v| v.trim().parse().ok());
                if let Some(limit) = limit {
                    started.stats.set_watch_list_limit(limit);
                }
                crate::admin::spawn(&config.admin, config.initial_config.clone(), started.clone());
                crate::metrics::spawn(&config.metrics_provider, started);
            }
        };
        let quorum = operator.as_ref().filter(|c| !c.is_standalone()).cloned();
        let server = async move {
            match quorum {
                Some(config) => {
                    crate::quorum::run_quorum_with(settings, config, start_operator_surface).await
                }
                None => crate::server::run_standalone_with(settings, start_operator_surface).await,
            }
        };
        tokio::select! {
            result = server => result,
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
