//! Starting a standalone server: the listener, the per-IP connection limit, the core task, ticks.

use crate::connection::serve_connection;
use crate::core::{Core, CoreMessage};
use crate::settings::Settings;
use crate::stats::ServerStats;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// What the operator surface (AdminServer, /metrics) needs from a started server.
#[derive(Debug, Clone)]
pub struct Started {
    pub core: mpsc::UnboundedSender<CoreMessage>,
    pub stats: Arc<ServerStats>,
}

/// Runs a standalone server until the process is stopped.
pub async fn run_standalone(settings: Settings) -> std::io::Result<()> {
    run_standalone_with(settings, |_| {}).await
}

/// Like [`run_standalone`]; `on_start` gets the core's handles once it runs.
pub async fn run_standalone_with(settings: Settings, on_start: impl FnOnce(Started)) -> std::io::Result<()> {
    let settings = Arc::new(settings);
    let listener = TcpListener::bind(settings.client_address).await?;
    tracing::info!("binding to port {}", listener.local_addr()?);
    serve_with(listener, settings, on_start).await
}

/// Serves on an already bound listener (tests bind port 0).
pub async fn serve(listener: TcpListener, settings: Arc<Settings>) -> std::io::Result<()> {
    serve_with(listener, settings, |_| {}).await
}

/// Like [`serve`]; `on_start` gets the core's handles once it runs.
pub async fn serve_with(
    listener: TcpListener,
    settings: Arc<Settings>,
    on_start: impl FnOnce(Started),
) -> std::io::Result<()> {
    let (core_tx, core_rx) = mpsc::unbounded_channel::<CoreMessage>();
    let stats = Arc::new(ServerStats::default());
    on_start(Started { core: core_tx.clone(), stats: stats.clone() });
    let (dirs, recovered) = crate::storage::recover_for(&settings).map_err(|error| {
        tracing::error!("Unable to load database on disk: {}", error);
        std::io::Error::other(format!("unable to load database on disk: {error}"))
    })?;
    let persister =
        crate::storage::start(&dirs, &settings.storage, &recovered, core_tx.clone(), stats.clone())?;
    let mut core = Core::new(settings.clone(), Box::new(persister), stats);
    core.restore(recovered.tree);
    crate::server::spawn_core(core, core_rx, core_tx.clone(), settings.tick_time_ms);

    accept_clients(listener, settings, core_tx).await
}

/// The client port's accept loop: the per-IP limit, one task per connection.
pub async fn accept_clients(
    listener: TcpListener,
    settings: Arc<Settings>,
    core_tx: mpsc::UnboundedSender<CoreMessage>,
) -> std::io::Result<()> {
    let per_ip: Arc<parking_lot::Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    let mut next_conn = 1u64;
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!("accept failed: {}", error);
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let ip = remote.ip();
        {
            let mut counts = per_ip.lock();
            let count = counts.entry(ip).or_default();
            if settings.max_client_cnxns > 0 && *count >= settings.max_client_cnxns {
                tracing::warn!(
                    "Too many connections from {} - max is {}",
                    remote.ip(),
                    settings.max_client_cnxns
                );
                drop(stream);
                continue;
            }
            *count += 1;
        }
        let conn = next_conn;
        next_conn += 1;
        let core = core_tx.clone();
        let per_ip = per_ip.clone();
        let max_buffer = settings.max_buffer;
        tokio::spawn(async move {
            serve_connection(stream, conn, remote, core, max_buffer).await;
            let mut counts = per_ip.lock();
            if let Some(count) = counts.get_mut(&ip) {
                *count -= 1;
                if *count == 0 {
                    counts.remove(&ip);
                }
            }
        });
    }
}

/// Runs the core task (it alone owns the tree, sessions and connections) and its tick.
pub(crate) fn spawn_core(
    mut core: Core,
    mut core_rx: mpsc::UnboundedReceiver<CoreMessage>,
    core_tx: mpsc::UnboundedSender<CoreMessage>,
    tick_time_ms: u64,
) {
    tokio::spawn(async move {
        // A turn ends when no message waits, or after this many: what it produced for other
        // threads then leaves together ([`Core::end_of_turn`]).
        const MAX_TURN: u32 = 64;
        let mut in_turn = 0;
        while let Some(message) = core_rx.recv().await {
            core.handle(message);
            in_turn += 1;
            if in_turn >= MAX_TURN || core_rx.is_empty() {
                core.end_of_turn();
                in_turn = 0;
            }
        }
    });
    let tick = std::time::Duration::from_millis(tick_time_ms.max(1));
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        loop {
            interval.tick().await;
            if core_tx.send(CoreMessage::Tick).is_err() {
                return;
            }
        }
    });
}
