//! Durable storage for the standalone server: recovery at start, a group-commit log writer
//! thread, background snapshots and autopurge, on top of the `wal` crate.
//!
//! # Group commit
//!
//! The core hands each txn to [`LogPersister::persist`] (a channel send, no I/O). The writer
//! thread takes every txn waiting in the channel, appends them all, then makes them durable with
//! **one** fdatasync, and only then reports `CoreMessage::Durable` for the last of them; the core
//! applies and answers them. While it fsyncs, new txns queue up and form the next batch, so the
//! fsync rate bounds the batch rate, not the txn rate.
//!
//! # Snapshots
//!
//! After ~snapCount txns (Java's randomised trigger, [`wal::SnapshotPolicy`]) the writer rolls
//! the log and flags that a snapshot is wanted. The next time the core has applied a batch it
//! calls [`LogPersister::applied`], which freezes the tree (`DataTree::snapshot_view`: the node
//! map is persistent, so this is O(sessions + ACLs), not O(nodes)) and hands the view to the
//! snapshot thread. The core never waits for a snapshot; one runs at a time.
//!
//! # Digests
//!
//! With `digest.enabled` (the default, as in Java) each logged txn carries the tree digest it
//! leaves, as 3.8 logs it (none after an error txn). The core works it out when it proposes
//! the txn, from the tree and the changes still pending (`PendingChanges::txn_digest`, Java's
//! precalculated digest), and hands it over with the txn; the writer only appends it. (It used
//! to keep a second copy of the tree one txn ahead for this, which doubled the memory of every
//! node a write load touched.)
//!
//! # Disk failures
//!
//! A failed write or fsync (ENOSPC, EIO) poisons the log: the txns of that batch and every
//! later one are never reported durable (so never applied nor answered), the failure is logged
//! once at ERROR, the connections waiting for those txns are closed (ConnectionLoss: the
//! outcome is unknown), and the core answers every new write with NotReadOnly. Reads keep working.
//! What was acknowledged before is on disk; a restart after fixing the disk recovers it.

use crate::core::{CoreMessage, Persister};
use crate::settings::Settings;
use crate::stats::ServerStats;
use datatree::tree::snapshot::SnapshotView;
use datatree::DataTree;
use jute::txn::{TxnBody, TxnDigest, TxnHeader};
use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use wal::recovery::{recover, Recovered, RecoveryOptions};
use wal::txnlog::{LogOptions, TxnLogWriter};
use wal::{SnapshotPolicy, WalError};

/// The storage keys of zoo.cfg (most are Java system properties there).
#[derive(Debug, Clone)]
pub struct StorageSettings {
    pub snap_count: u64,
    pub snap_size_bytes: Option<u64>,
    pub prealloc_bytes: u64,
    pub force_sync: bool,
    pub fsync_warning_ms: u64,
    pub digest_enabled: bool,
    /// autopurge.snapRetainCount (≥ 3).
    pub purge_retain: usize,
    /// autopurge.purgeInterval in hours; 0 = off.
    pub purge_interval_hours: u32,
    /// Most txns per group commit (bounds the memory of one batch).
    pub max_batch: usize,
    /// txnLogSizeLimitInKb in bytes: roll the log (without a snapshot) past it; None = off.
    pub log_size_limit_bytes: Option<u64>,
}

impl StorageSettings {
    pub fn from_config(config: &crate::config::ServerConfig) -> StorageSettings {
        StorageSettings {
            snap_count: u64::from(config.snap_count),
            snap_size_bytes: config.snap_size_limit_bytes(),
            prealloc_bytes: config.pre_alloc_size_bytes(),
            force_sync: config.force_sync,
            fsync_warning_ms: config.fsync_warning_threshold_ms,
            digest_enabled: config.digest_enabled,
            purge_retain: config.autopurge_snap_retain_count.max(3) as usize,
            purge_interval_hours: config.autopurge_purge_interval_hours,
            max_batch: 10_000,
            log_size_limit_bytes: u64::try_from(config.txn_log_size_limit_kb)
                .ok()
                .filter(|&kb| kb > 0)
                .map(|kb| kb.saturating_mul(1024)),
        }
    }
}

/// `dataDir/version-2` and `dataLogDir/version-2`.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub snap_dir: PathBuf,
    pub log_dir: PathBuf,
}

impl Dirs {
    /// Creates the `version-2` dirs if needed.
    pub fn create(data_dir: &Path, data_log_dir: &Path) -> Result<Dirs, WalError> {
        Ok(Dirs {
            snap_dir: wal::files::version_dir(data_dir)?,
            log_dir: wal::files::version_dir(data_log_dir)?,
        })
    }
}

/// Recovers the data dirs of `settings`.
pub fn recover_for(settings: &Settings) -> Result<(Dirs, Recovered), WalError> {
    let dirs = Dirs::create(&settings.data_dir, &settings.data_log_dir)?;
    // Leftovers of a snapshot cut short by a crash.
    if let Ok(entries) = std::fs::read_dir(&dirs.snap_dir) {
        for entry in entries.flatten() {
            if entry.file_name().to_str().is_some_and(|name| name.starts_with("tmp.snapshot.")) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let recovered = recover(&dirs.snap_dir, &dirs.log_dir, &RecoveryOptions::default())?;
    Ok((dirs, recovered))
}

#[derive(Debug, Default)]
struct Shared {
    snapshot_wanted: AtomicBool,
    snapshot_running: AtomicBool,
    failure: Mutex<Option<String>>,
}

/// A txn on its way to the log, with the digest to log after it.
type LoggedTxn = (TxnHeader, TxnBody, Option<TxnDigest>);

/// The core's persister: a channel to the log writer thread, and the snapshot hand-off.
#[derive(Debug)]
pub struct LogPersister {
    txns: std_mpsc::Sender<LoggedTxn>,
    snapshots: std_mpsc::Sender<SnapshotView>,
    shared: Arc<Shared>,
}

impl Persister for LogPersister {
    fn persist(&mut self, header: &TxnHeader, body: &TxnBody, digest: Option<&TxnDigest>) {
        // After a failure the writer drops everything; nothing is ever reported durable.
        let _ = self.txns.send((header.clone(), body.clone(), digest.cloned()));
    }

    fn applied(&mut self, tree: &DataTree) {
        if !self.shared.snapshot_wanted.load(Ordering::Acquire) {
            return;
        }
        self.shared.snapshot_wanted.store(false, Ordering::Release);
        if self.shared.snapshot_running.swap(true, Ordering::AcqRel) {
            tracing::warn!("Too busy to snap, skipping");
            return;
        }
        let started = Instant::now();
        let view = tree.snapshot_view();
        tracing::debug!("Froze the tree at 0x{:x} for a snapshot in {:?}", view.zxid(), started.elapsed());
        if self.snapshots.send(view).is_err() {
            self.shared.snapshot_running.store(false, Ordering::Release);
        }
    }

    fn failure(&self) -> Option<String> {
        self.shared.failure.lock().clone()
    }
}

/// Starts the writer, snapshot and autopurge threads. `recovered_tree` is the tree recovery
/// produced (a startup snapshot of it is written in the background when it holds txns no
/// snapshot has, as Java's loadData takes one).
pub fn start(
    dirs: &Dirs,
    settings: &StorageSettings,
    recovered: &Recovered,
    core: mpsc::UnboundedSender<CoreMessage>,
    stats: Arc<ServerStats>,
) -> std::io::Result<LogPersister> {
    let shared = Arc::new(Shared::default());
    let (txns_tx, txns_rx) = std_mpsc::channel::<LoggedTxn>();
    let (snap_tx, snap_rx) = std_mpsc::channel::<SnapshotView>();

    let mut writer = TxnLogWriter::new(
        &dirs.log_dir,
        LogOptions {
            prealloc_bytes: settings.prealloc_bytes,
            force_sync: settings.force_sync,
            fsync_warning_ms: settings.fsync_warning_ms,
        },
    );
    writer.set_last_zxid(recovered.last_zxid);
    let seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
    let policy = SnapshotPolicy::new(settings.snap_count, settings.snap_size_bytes, seed);
    let writer_shared = shared.clone();
    let limits = (settings.max_batch.max(1), settings.log_size_limit_bytes);
    std::thread::Builder::new()
        .name("txn-log-writer".into())
        .spawn(move || write_loop(writer, policy, txns_rx, core, writer_shared, stats, limits))?;

    let snap_dir = dirs.snap_dir.clone();
    let snap_shared = shared.clone();
    let digest_enabled = settings.digest_enabled;
    std::thread::Builder::new()
        .name("snapshot".into())
        .spawn(move || snapshot_loop(snap_rx, &snap_dir, digest_enabled, &snap_shared.snapshot_running))?;

    let needs_snapshot = recovered.snapshot.as_ref().map(|(zxid, _)| *zxid) != Some(recovered.last_zxid)
        || recovered.snapshot.is_none();
    if needs_snapshot {
        shared.snapshot_running.store(true, Ordering::Release);
        let _ = snap_tx.send(recovered.tree.snapshot_view());
    }

    if settings.purge_interval_hours > 0 {
        let dirs = dirs.clone();
        let retain = settings.purge_retain;
        let interval = Duration::from_secs(u64::from(settings.purge_interval_hours) * 3600);
        tracing::info!("autopurge.snapRetainCount set to {}", retain);
        tracing::info!("autopurge.purgeInterval set to {}", settings.purge_interval_hours);
        std::thread::Builder::new().name("purge".into()).spawn(move || loop {
            tracing::info!("Purge task started.");
            match wal::purge::purge(&dirs.snap_dir, &dirs.log_dir, retain) {
                Ok(deleted) => tracing::info!("Purge task completed: {} files removed.", deleted.len()),
                Err(error) => tracing::error!("Error occurred while purging: {}", error),
            }
            std::thread::sleep(interval);
        })?;
    } else {
        tracing::info!("Purge task is not scheduled.");
    }
    Ok(LogPersister { txns: txns_tx, snapshots: snap_tx, shared })
}

fn write_loop(
    mut writer: TxnLogWriter,
    mut policy: SnapshotPolicy,
    txns: std_mpsc::Receiver<LoggedTxn>,
    core: mpsc::UnboundedSender<CoreMessage>,
    shared: Arc<Shared>,
    stats: Arc<ServerStats>,
    (max_batch, log_size_limit): (usize, Option<u64>),
) {
    let fsync_warning_ms = writer.options().fsync_warning_ms;
    let mut since_snapshot_txns = 0u64;
    let mut since_snapshot_bytes = 0u64;
    let mut batch = Vec::with_capacity(1024);
    while let Ok(first) = txns.recv() {
        batch.clear();
        batch.push(first);
        while batch.len() < max_batch {
            match txns.try_recv() {
                Ok(txn) => batch.push(txn),
                Err(_) => break,
            }
        }
        let bytes_before = writer.current_file_bytes();
        let mut outcome = Ok(());
        for (header, body, digest) in &batch {
            outcome = writer.append(header, body, digest.as_ref());
            if outcome.is_err() {
                break;
            }
        }
        let outcome = outcome.and_then(|()| writer.sync());
        if let Err(error) = outcome {
            fail(&shared, &core, &error);
            // Keep draining so the core never blocks; nothing is reported durable again.
            while txns.recv().is_ok() {}
            return;
        }
        if let Some(elapsed) = writer.last_sync_elapsed() {
            stats.record_fsync(elapsed, fsync_warning_ms);
        }
        since_snapshot_txns += batch.len() as u64;
        since_snapshot_bytes += writer.current_file_bytes().saturating_sub(bytes_before);
        if policy.should_snapshot(since_snapshot_txns, since_snapshot_bytes) {
            if let Err(error) = writer.roll() {
                fail(&shared, &core, &error);
                while txns.recv().is_ok() {}
                return;
            }
            policy.reset_randomness();
            since_snapshot_txns = 0;
            since_snapshot_bytes = 0;
            // Set before the Durable below, so the core freezes the tree right after applying it.
            shared.snapshot_wanted.store(true, Ordering::Release);
        } else if log_size_limit.is_some_and(|limit| writer.current_file_bytes() > limit) {
            // Java's txnLogSizeLimitInKb: a new file, no snapshot.
            if let Err(error) = writer.roll() {
                fail(&shared, &core, &error);
                while txns.recv().is_ok() {}
                return;
            }
        }
        let last = batch.last().map_or(0, |(header, _, _)| header.zxid);
        if core.send(CoreMessage::Durable { zxid: last }).is_err() {
            break;
        }
    }
    // The core is gone (shutdown): make what was written durable.
    if let Err(error) = writer.sync() {
        tracing::error!("Final txn log sync failed: {}", error);
    }
}

fn fail(shared: &Shared, core: &mpsc::UnboundedSender<CoreMessage>, error: &WalError) {
    let reason = error.to_string();
    tracing::error!(
        "Unable to write to the txn log: {}. No more writes are accepted: nothing after the last acknowledged txn is acknowledged. Fix the disk{} and restart.",
        reason,
        if error.is_disk_full() { " (it is full)" } else { "" }
    );
    *shared.failure.lock() = Some(reason);
    let _ = core.send(CoreMessage::LogFailed);
}

/// The snapshot thread of both modes: writes each frozen view, then clears `running` so the
/// next one may start.
pub(crate) fn snapshot_loop(
    views: std_mpsc::Receiver<SnapshotView>,
    snap_dir: &Path,
    digest_enabled: bool,
    running: &AtomicBool,
) {
    while let Ok(view) = views.recv() {
        tracing::info!(
            "Creating snapshot: {}",
            snap_dir.join(wal::files::snapshot_name(view.zxid())).display()
        );
        match wal::snapshot::write_snapshot(&view, snap_dir, digest_enabled, true) {
            Ok(written) => tracing::info!(
                "Snapshot taken in {} ms ({} nodes, {} bytes)",
                written.elapsed.as_millis(),
                written.nodes,
                written.bytes
            ),
            // The logs still hold every txn: a failed snapshot loses nothing, recovery just
            // replays more.
            Err(error) => tracing::error!("Snapshot failed: {}", error),
        }
        drop(view);
        running.store(false, Ordering::Release);
    }
}

/// `ferrokeeper purge <dataDir> [<dataLogDir>] -n N`: zkCleanup.sh / PurgeTxnLog.
pub fn purge_command(data_dir: &Path, data_log_dir: Option<&Path>, count: usize) -> std::process::ExitCode {
    let snap_dir = data_dir.join(wal::files::VERSION_DIR);
    let log_dir = data_log_dir.unwrap_or(data_dir).join(wal::files::VERSION_DIR);
    match wal::purge::purge(&snap_dir, &log_dir, count) {
        Ok(deleted) => {
            for path in deleted {
                println!("Removing file: {}", path.display());
            }
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            std::process::ExitCode::FAILURE
        }
    }
}
