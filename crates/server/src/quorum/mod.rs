//! A quorum member: the tokio driver around the sans-io [`zab::Node`].
//!
//! - [`net`]: the election port (QuorumCnxManager's handshake and framing) and the quorum port
//!   (learners to the leader, `QuorumPacket`s back to back, the database after SNAP).
//! - [`storage`]: the thread that makes a [`zab::Ready`]'s persists durable (txns appended and
//!   fsynced, epoch files, TRUNC, SNAP) before the rest of the batch is carried out.
//! - [`snap`]: the database stream after SNAP.
//! - The core task owns the [`zab::Node`] beside the tree and the sessions (`core/quorum`
//!   glue): every peer message, timer and completed persist reaches it as a
//!   [`crate::core::CoreMessage::Quorum`], and client writes go through Zab from there.

pub mod net;
pub mod snap;
pub mod storage;

use crate::config::{LearnerType, ServerConfig};
use crate::core::{Core, CoreMessage};
use crate::server::Started;
use crate::settings::Settings;
use crate::stats::ServerStats;
use datatree::DataTree;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use zab::{Message, QuorumMaj, Sid, Txn, Zxid};

/// What the quorum driver tells the core.
#[derive(Debug)]
pub enum Input {
    /// A message from a peer.
    Peer { from: Sid, message: Message },
    /// The quorum connection to `peer` ended.
    Closed { peer: Sid },
    /// The persists of every batch up to token `up_to` are durable; `tree` replaces the data
    /// tree (TRUNC, SNAP) after batch `up_to`. `spent` are the jobs done, back to be freed on
    /// the core's thread.
    Durable { up_to: u64, tree: Option<Box<DataTree>>, spent: Vec<storage::Job> },
    /// Time passed (the core ticks the node when its deadline is reached).
    Timer,
}

/// Zab's view of zoo.cfg.
pub fn zab_config(config: &ServerConfig, my_id: Sid) -> zab::Config {
    let voters = config.servers.iter().filter(|s| s.learner_type == LearnerType::Participant).map(|s| s.id);
    let observers = config.servers.iter().filter(|s| s.learner_type == LearnerType::Observer).map(|s| s.id);
    let mut zab = zab::Config::new(my_id, Arc::new(QuorumMaj::new(voters, observers)));
    zab.tick_ms = u64::from(config.tick_time_ms.max(1));
    zab.init_limit = u64::from(config.init_limit.max(1));
    zab.sync_limit = u64::from(config.sync_limit.max(1));
    zab.commit_log_count = config.commit_log_count.max(1) as usize;
    zab.txn_log_sync = config.snapshot_size_factor >= 0.0;
    zab.snapshot_size_factor = config.snapshot_size_factor;
    // Learner.connectToLeader retries every leaderConnectDelayDuringRetryMs (100 ms).
    zab.connect_retry_ms = 100;
    let mut text = String::new();
    for server in &config.servers {
        text.push_str(&format!("server.{}={}\n", server.id, server));
    }
    text.push_str(&format!("version={:x}", config.config_version.unwrap_or(0)));
    zab.config_text = bytes::Bytes::from(text);
    zab
}

/// Runs a quorum member until the process is stopped.
pub async fn run_quorum_with(
    settings: Settings,
    config: ServerConfig,
    on_start: impl FnOnce(Started),
) -> std::io::Result<()> {
    let settings = Arc::new(settings);
    let my_id = settings.server_id;
    let listener = TcpListener::bind(settings.client_address).await?;
    tracing::info!("binding to port {}", listener.local_addr()?);
    let (core_tx, core_rx) = mpsc::unbounded_channel::<CoreMessage>();
    let stats = Arc::new(ServerStats::default());
    on_start(Started { core: core_tx.clone(), stats: stats.clone() });

    let (dirs, recovered) = crate::storage::recover_for(&settings).map_err(|error| {
        tracing::error!("Unable to load database on disk: {}", error);
        std::io::Error::other(format!("unable to load database on disk: {error}"))
    })?;
    if recovered.snapshot.is_none() {
        // A fresh data dir: Java writes the empty database as snapshot.0 before any log, so
        // that a restart finds a snapshot to replay the log onto.
        wal::snapshot::write_snapshot(
            &recovered.tree.snapshot_view(),
            &dirs.snap_dir,
            settings.storage.digest_enabled,
            true,
        )
        .map_err(|error| std::io::Error::other(error.to_string()))?;
    }
    let restored = restored_zab_state(&dirs, &recovered).map_err(|error| {
        tracing::error!("Unable to load the quorum state on disk: {}", error);
        std::io::Error::other(error.to_string())
    })?;
    let storage =
        storage::start(&dirs, &settings.storage, recovered.last_zxid, core_tx.clone(), stats.clone())?;

    let peers: HashMap<Sid, net::PeerAddress> = config
        .servers
        .iter()
        .filter_map(|s| {
            let address = s.addresses.first()?;
            Some((
                s.id,
                net::PeerAddress {
                    host: address.host.clone(),
                    quorum_port: address.quorum_port,
                    election_port: address.election_port,
                },
            ))
        })
        .collect();
    let election =
        net::ElectionNet::start(my_id, peers.clone(), config.quorum_listen_on_all_ips, core_tx.clone())
            .await?;
    let quorum = net::QuorumNet::new(
        my_id,
        peers,
        config.quorum_listen_on_all_ips,
        settings.max_buffer + 1024,
        core_tx.clone(),
    );

    let mut core = Core::new(settings.clone(), Box::new(NoPersister), stats);
    core.restore(recovered.tree);
    core.start_quorum(zab_config(&config, my_id), restored, election, quorum, storage);
    crate::server::spawn_core(core, core_rx, core_tx.clone(), settings.tick_time_ms);
    let timer_tx = core_tx.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(std::time::Duration::from_millis(20));
        loop {
            interval.tick().await;
            if timer_tx.send(CoreMessage::Quorum(Input::Timer)).is_err() {
                return;
            }
        }
    });
    crate::server::accept_clients(listener, settings, core_tx).await
}

/// In quorum mode every txn goes through Zab; the standalone persister is never used.
#[derive(Debug)]
struct NoPersister;

impl crate::core::Persister for NoPersister {
    fn persist(
        &mut self,
        header: &jute::txn::TxnHeader,
        _body: &jute::txn::TxnBody,
        _digest: Option<&jute::txn::TxnDigest>,
    ) {
        panic!("txn 0x{:x} bypassed Zab", header.zxid);
    }
}

/// The epoch files (written as Java writes them when absent: the epoch of the last zxid) and the
/// log after the snapshot.
fn restored_zab_state(
    dirs: &crate::storage::Dirs,
    recovered: &wal::recovery::Recovered,
) -> Result<zab::Restored, wal::WalError> {
    use wal::files::{read_epoch, write_epoch, ACCEPTED_EPOCH, CURRENT_EPOCH};
    let last_epoch = (recovered.last_zxid >> 32) as u32;
    let current_epoch = match read_epoch(&dirs.snap_dir, CURRENT_EPOCH)? {
        Some(epoch) => epoch as u32,
        None => {
            write_epoch(&dirs.snap_dir, CURRENT_EPOCH, i64::from(last_epoch))?;
            last_epoch
        }
    };
    let accepted_epoch = match read_epoch(&dirs.snap_dir, ACCEPTED_EPOCH)? {
        Some(epoch) => epoch as u32,
        None => {
            write_epoch(&dirs.snap_dir, ACCEPTED_EPOCH, i64::from(last_epoch))?;
            last_epoch
        }
    };
    let snapshot_zxid = recovered.snapshot.as_ref().map_or(0, |(zxid, _)| *zxid);
    let mut log = Vec::new();
    let mut entries = wal::txnlog::read_from(&dirs.log_dir, snapshot_zxid + 1)?;
    while let Some((entry, _)) = entries.next_entry()? {
        if entry.header.zxid <= snapshot_zxid
            || log.last().is_some_and(|t: &Txn| t.zxid.0 >= entry.header.zxid)
        {
            continue;
        }
        let data = wal::txnlog::encode_payload(&entry.header, &entry.body, entry.digest.as_ref());
        log.push(Txn { zxid: Zxid(entry.header.zxid), data: bytes::Bytes::from(data) });
    }
    Ok(zab::Restored {
        accepted_epoch: accepted_epoch.max(current_epoch),
        current_epoch,
        snapshot_zxid: Zxid(snapshot_zxid),
        log,
    })
}
