//! Durable writes a Zab [`zab::Ready`] asks for, on a thread of their own: the core sends each
//! batch's [`Persist`] list as a [`Job`]; the thread carries out every job waiting, then makes
//! them durable with one fsync (group commit), and only then reports each job done, in order.
//! The core holds back the rest of a batch (applies, messages, events) until its job is done, so
//! an ACK, ACKEPOCH or NEWLEADER-ACK never leaves before what it acknowledges is on disk.
//!
//! Every ~snapCount txns (Java's randomised trigger) the log rolls and [`Shared::snapshot_wanted`]
//! is set: the core freezes its tree after its next applies and the snapshot thread writes it
//! (the core never waits). Autopurge runs as in standalone mode.
//!
//! TRUNC and SNAP change the data tree: the thread rebuilds it (recovery after a truncation, the
//! leader's stream after SNAP) and hands it back with the job's completion.

use crate::core::CoreMessage;
use crate::quorum::Input;
use crate::stats::ServerStats;
use crate::storage::{Dirs, StorageSettings};
use datatree::tree::snapshot::SnapshotView;
use datatree::DataTree;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use tokio::sync::mpsc;
use wal::files::{ACCEPTED_EPOCH, CURRENT_EPOCH, LOG_PREFIX};
use wal::txnlog::{LogFileReader, LogOptions, TxnLogWriter};
use wal::SnapshotPolicy;
use wal::WalError;
use zab::Persist;

/// One batch's durable writes.
#[derive(Debug)]
pub struct Job {
    pub token: u64,
    pub persist: Vec<Persist>,
    /// A follower's ACKs of the proposals in `persist`, encoded for the connection to the
    /// leader: the storage thread sends them the moment the group's fsync returns, rather than
    /// through the core, whose queue may hold hundreds of microseconds of other work.
    pub acks: Option<(mpsc::UnboundedSender<crate::quorum::net::Frame>, Vec<u8>)>,
}

/// What the storage thread and the core share.
#[derive(Debug, Default)]
pub struct Shared {
    /// The log rolled: the core should snapshot its tree after its next applies.
    pub snapshot_wanted: AtomicBool,
    /// A snapshot is being written (one at a time).
    pub snapshot_running: AtomicBool,
}

/// The core's end of the job queue. The queue is a vector the two threads swap: the core
/// pushes into it, the storage thread takes it whole, and the spent jobs go back to the core in
/// [`Input::Durable`]. So every job and every vector is allocated and freed on the core's
/// thread: freeing them on the storage thread made it contend for the core's malloc arena
/// (thousands of futex waits a second under load).
#[derive(Debug)]
pub struct JobSender(Arc<JobQueue>);

#[derive(Debug, Default)]
struct JobQueue {
    state: parking_lot::Mutex<QueueState>,
    wake: parking_lot::Condvar,
}

#[derive(Debug, Default)]
struct QueueState {
    jobs: Vec<Job>,
    /// The core is gone: the storage thread ends.
    closed: bool,
}

impl JobSender {
    /// Hands over every job in `jobs` (left empty) with one lock and at most one wakeup.
    pub fn send_all(&self, jobs: &mut Vec<Job>) {
        if jobs.is_empty() {
            return;
        }
        let mut state = self.0.state.lock();
        state.jobs.append(jobs);
        // No syscall unless the storage thread waits (parking_lot checks for a waiter first).
        self.0.wake.notify_one();
    }
}

impl Drop for JobSender {
    fn drop(&mut self) {
        self.0.state.lock().closed = true;
        self.0.wake.notify_one();
    }
}

impl JobQueue {
    /// Swaps every waiting job into `batch` (left empty by the caller), waiting for one; false
    /// once the core is gone.
    fn take(&self, batch: &mut Vec<Job>) -> bool {
        let mut state = self.state.lock();
        while state.jobs.is_empty() {
            if state.closed {
                return false;
            }
            self.wake.wait(&mut state);
        }
        std::mem::swap(&mut state.jobs, batch);
        true
    }
}

/// The storage thread's handles.
#[derive(Debug)]
pub struct Handles {
    pub jobs: JobSender,
    pub snapshots: std_mpsc::Sender<SnapshotView>,
    pub shared: Arc<Shared>,
}

/// Starts the storage, snapshot and autopurge threads; `last_zxid` is the last txn of the
/// recovered log.
pub fn start(
    dirs: &Dirs,
    settings: &StorageSettings,
    last_zxid: i64,
    core: mpsc::UnboundedSender<CoreMessage>,
    stats: Arc<ServerStats>,
) -> std::io::Result<Handles> {
    let shared = Arc::new(Shared::default());
    let queue = Arc::new(JobQueue::default());
    let jobs_tx = JobSender(queue.clone());
    let options = LogOptions {
        prealloc_bytes: settings.prealloc_bytes,
        force_sync: settings.force_sync,
        fsync_warning_ms: settings.fsync_warning_ms,
    };
    let dirs = dirs.clone();
    let digest_enabled = settings.digest_enabled;
    let seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
    let policy = SnapshotPolicy::new(settings.snap_count, settings.snap_size_bytes, seed);
    let storage_shared = shared.clone();
    let snap_dir = dirs.snap_dir.clone();
    let purge_dirs = dirs.clone();
    std::thread::Builder::new().name("zab-storage".into()).spawn(move || {
        let mut storage = Storage {
            dirs,
            options,
            stats,
            digest_enabled,
            writer: None,
            last_zxid,
            policy,
            since_snapshot_txns: 0,
            since_snapshot_bytes: 0,
            shared: storage_shared,
        };
        let mut batch = Vec::new();
        while queue.take(&mut batch) {
            let mut trees = Vec::new();
            for job in &mut batch {
                match storage.carry_out(&mut job.persist) {
                    Ok(Some(tree)) => trees.push((job.token, tree)),
                    Ok(None) => {}
                    Err(error) => return storage.fail(&error),
                }
            }
            if let Err(error) = storage.sync().and_then(|()| storage.maybe_roll()) {
                return storage.fail(&error);
            }
            for job in &mut batch {
                if let Some((leader, frames)) = job.acks.take() {
                    // A closed connection drops them, as the core's send would.
                    let _ = leader.send(crate::quorum::net::Frame::Now(frames));
                }
            }
            // One message for the whole group (jobs complete in token order), and one before
            // it for each job that brings a tree to install.
            for (up_to, tree) in trees {
                let durable = Input::Durable { up_to, tree: Some(tree), spent: Vec::new() };
                if core.send(CoreMessage::Quorum(durable)).is_err() {
                    return;
                }
            }
            let up_to = batch.last().map_or(0, |job| job.token);
            let durable = Input::Durable { up_to, tree: None, spent: std::mem::take(&mut batch) };
            if core.send(CoreMessage::Quorum(durable)).is_err() {
                return;
            }
        }
    })?;

    let (snap_tx, snap_rx) = std_mpsc::channel::<SnapshotView>();
    let snapshot_shared = shared.clone();
    std::thread::Builder::new().name("snapshot".into()).spawn(move || {
        crate::storage::snapshot_loop(snap_rx, &snap_dir, digest_enabled, &snapshot_shared.snapshot_running)
    })?;

    if settings.purge_interval_hours > 0 {
        let retain = settings.purge_retain;
        let interval = std::time::Duration::from_secs(u64::from(settings.purge_interval_hours) * 3600);
        std::thread::Builder::new().name("purge".into()).spawn(move || loop {
            match wal::purge::purge(&purge_dirs.snap_dir, &purge_dirs.log_dir, retain) {
                Ok(deleted) => tracing::info!("Purge task completed: {} files removed.", deleted.len()),
                Err(error) => tracing::error!("Error occurred while purging: {}", error),
            }
            std::thread::sleep(interval);
        })?;
    }
    Ok(Handles { jobs: jobs_tx, snapshots: snap_tx, shared })
}

struct Storage {
    dirs: Dirs,
    options: LogOptions,
    /// Where each group commit's fsync time goes (mntr's `fsynctime`).
    stats: Arc<ServerStats>,
    digest_enabled: bool,
    writer: Option<TxnLogWriter>,
    last_zxid: i64,
    policy: SnapshotPolicy,
    since_snapshot_txns: u64,
    since_snapshot_bytes: u64,
    shared: Arc<Shared>,
}

impl Storage {
    fn writer(&mut self) -> &mut TxnLogWriter {
        let (dir, options, last) = (&self.dirs.log_dir, &self.options, self.last_zxid);
        self.writer.get_or_insert_with(|| {
            let mut writer = TxnLogWriter::new(dir, options.clone());
            writer.set_last_zxid(last);
            writer
        })
    }

    fn sync(&mut self) -> Result<(), WalError> {
        let Some(writer) = &mut self.writer else { return Ok(()) };
        writer.sync()?;
        if let Some(elapsed) = writer.last_sync_elapsed() {
            self.stats.record_fsync(elapsed, self.options.fsync_warning_ms);
        }
        Ok(())
    }

    /// Java's SyncRequestProcessor: after ~snapCount txns, roll the log and ask for a snapshot.
    fn maybe_roll(&mut self) -> Result<(), WalError> {
        if !self.policy.should_snapshot(self.since_snapshot_txns, self.since_snapshot_bytes) {
            return Ok(());
        }
        if let Some(writer) = &mut self.writer {
            writer.roll()?;
        }
        self.policy.reset_randomness();
        self.since_snapshot_txns = 0;
        self.since_snapshot_bytes = 0;
        self.shared.snapshot_wanted.store(true, Ordering::Release);
        Ok(())
    }

    fn fail(&self, error: &WalError) {
        // A server that cannot make its votes durable must not vote: stop the process, as
        // Java's SyncRequestProcessor exits the server on a log failure.
        tracing::error!("Severe unrecoverable error, exiting: cannot write the txn log: {}", error);
        std::process::exit(1);
    }

    /// Carries out one job's persists. They stay in `persist` (to go back to the core) but for
    /// a SNAP's database, which is taken.
    fn carry_out(&mut self, persist: &mut [Persist]) -> Result<Option<Box<DataTree>>, WalError> {
        let mut tree = None;
        for item in persist {
            match item {
                Persist::AcceptedEpoch(epoch) => {
                    wal::files::write_epoch(&self.dirs.snap_dir, ACCEPTED_EPOCH, i64::from(*epoch))?
                }
                Persist::CurrentEpoch(epoch) => {
                    wal::files::write_epoch(&self.dirs.snap_dir, CURRENT_EPOCH, i64::from(*epoch))?
                }
                Persist::Append(txn) => {
                    // The proposal's data is the log entry's payload, byte for byte: written as
                    // it is, not decoded here (the leader encoded it; a follower checked it on
                    // receipt, in quorum::net).
                    let writer = self.writer();
                    let before = writer.current_file_bytes();
                    writer.append_payload(txn.zxid.0, &txn.data)?;
                    let grown = writer.current_file_bytes().saturating_sub(before);
                    self.last_zxid = txn.zxid.0;
                    self.since_snapshot_txns += 1;
                    self.since_snapshot_bytes += grown;
                }
                Persist::Truncate(zxid) => {
                    self.sync()?;
                    self.writer = None;
                    truncate_log(&self.dirs.log_dir, zxid.0)?;
                    self.last_zxid = zxid.0;
                    let recovered = wal::recovery::recover(
                        &self.dirs.snap_dir,
                        &self.dirs.log_dir,
                        &wal::recovery::RecoveryOptions::default(),
                    )?;
                    tracing::info!("Truncated the txn log to 0x{:x}; reloaded the database", zxid.0);
                    tree = Some(Box::new(recovered.tree));
                }
                Persist::InstallSnapshot { zxid, snapshot } => {
                    let (zxid, snapshot) = (*zxid, std::mem::take(snapshot));
                    self.sync()?;
                    self.writer = None;
                    let loaded = crate::quorum::snap::deserialize_database(&snapshot, zxid.0)
                        .map_err(|reason| WalError::Usage(format!("snapshot from the leader: {reason}")))?;
                    // Not serving yet: the snapshot is written at full speed, as Java writes its own.
                    wal::snapshot::write_snapshot_unbounded(
                        &loaded.snapshot_view(),
                        &self.dirs.snap_dir,
                        self.digest_enabled,
                        true,
                    )?;
                    // The log is history the snapshot replaces.
                    for (_, path) in wal::files::list(&self.dirs.log_dir, LOG_PREFIX)? {
                        let _ = std::fs::remove_file(&path);
                    }
                    self.last_zxid = zxid.0;
                    tracing::info!("Installed the leader's snapshot at 0x{:x}", zxid.0);
                    tree = Some(Box::new(loaded));
                }
            }
        }
        Ok(tree)
    }
}

/// Drops every logged txn above `zxid`: later files are deleted, the file holding `zxid` is cut
/// after it (Java's FileTxnLog.truncate).
pub fn truncate_log(log_dir: &Path, zxid: i64) -> Result<(), WalError> {
    let logs = wal::files::list(log_dir, LOG_PREFIX)?;
    for (start, path) in logs {
        if start > zxid {
            std::fs::remove_file(&path).map_err(|source| WalError::Io {
                op: "deleting",
                path: path.clone(),
                source,
            })?;
            continue;
        }
        let mut reader = LogFileReader::open(&path)?;
        while let Some(entry) = reader.next_entry()? {
            if entry.header.zxid > zxid {
                wal::txnlog::truncate_at(&path, entry.offset)?;
                break;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jute::txn::{CreateSessionTxn, TxnBody, TxnHeader};

    fn write_log(dir: &Path, zxids: &[i64], roll_after: Option<i64>) {
        let mut writer = TxnLogWriter::new(
            dir,
            LogOptions { prealloc_bytes: 1024, force_sync: false, fsync_warning_ms: 1000 },
        );
        for &zxid in zxids {
            let header = TxnHeader {
                client_id: zxid,
                cxid: 0,
                zxid,
                time: 0,
                r#type: jute::consts::op::CREATE_SESSION,
            };
            writer
                .append(&header, &TxnBody::CreateSession(CreateSessionTxn { time_out: 1000 }), None)
                .unwrap();
            if Some(zxid) == roll_after {
                writer.roll().unwrap();
            }
        }
        writer.sync().unwrap();
    }

    fn logged(dir: &Path) -> Vec<i64> {
        let mut out = Vec::new();
        let mut entries = wal::txnlog::read_from(dir, 0).unwrap();
        while let Some((entry, _)) = entries.next_entry().unwrap() {
            out.push(entry.header.zxid);
        }
        out
    }

    #[test]
    fn trunc_drops_every_logged_txn_above_the_zxid_in_the_file_that_holds_it_and_the_later_files() {
        let dir = tempfile::tempdir().unwrap();
        let epoch1 = |n: i64| (1 << 32) | n;
        let zxids: Vec<i64> = (1..=6).map(epoch1).collect();
        write_log(dir.path(), &zxids, Some(epoch1(3)));
        assert_eq!(wal::files::list(dir.path(), LOG_PREFIX).unwrap().len(), 2);
        truncate_log(dir.path(), epoch1(2)).unwrap();
        assert_eq!(logged(dir.path()), vec![epoch1(1), epoch1(2)]);
        assert_eq!(wal::files::list(dir.path(), LOG_PREFIX).unwrap().len(), 1, "the later file is gone");
        // A writer continues after the cut in a new file.
        write_log(dir.path(), &[epoch1(3)], None);
        assert_eq!(logged(dir.path()), vec![epoch1(1), epoch1(2), epoch1(3)]);
    }

    fn start_on(dir: &Path) -> (Handles, mpsc::UnboundedReceiver<CoreMessage>) {
        start_with(dir, Arc::new(ServerStats::default()))
    }

    fn start_with(dir: &Path, stats: Arc<ServerStats>) -> (Handles, mpsc::UnboundedReceiver<CoreMessage>) {
        let dirs = Dirs::create(dir, dir).unwrap();
        let settings = StorageSettings::from_config(&crate::config::ServerConfig::default_standalone());
        let (core_tx, core_rx) = mpsc::unbounded_channel();
        (start(&dirs, &settings, 0, core_tx, stats).unwrap(), core_rx)
    }

    #[test]
    fn jobs_handed_over_together_take_one_sync_and_are_reported_durable_together() {
        // What the core made in one turn: the thread must not wake for the first alone.
        let dir = tempfile::tempdir().unwrap();
        let stats = Arc::new(ServerStats::default());
        let (handles, mut core_rx) = start_with(dir.path(), stats.clone());
        let zxid = (1 << 32) | 1;
        let mut jobs: Vec<Job> = (0..3)
            .map(|n| Job {
                token: n + 1,
                persist: vec![Persist::Append(proposal(zxid + n as i64))],
                acks: None,
            })
            .collect();
        handles.jobs.send_all(&mut jobs);
        assert!(jobs.is_empty(), "the jobs are handed over, not copied");
        match core_rx.blocking_recv() {
            Some(CoreMessage::Quorum(Input::Durable { up_to: 3, spent, .. })) => assert_eq!(spent.len(), 3),
            other => panic!("expected the three jobs durable at once, got {other:?}"),
        }
        assert_eq!(logged(&dir.path().join("version-2")), vec![zxid, zxid + 1, zxid + 2]);
        assert_eq!(stats.fsync_time().count, 1, "one fdatasync for the three");
    }

    fn proposal(zxid: i64) -> zab::Txn {
        let header =
            TxnHeader { client_id: zxid, cxid: 0, zxid, time: 0, r#type: jute::consts::op::CREATE_SESSION };
        let body = TxnBody::CreateSession(CreateSessionTxn { time_out: 1000 });
        zab::Txn { zxid: zab::Zxid(zxid), data: wal::txnlog::encode_payload(&header, &body, None).into() }
    }

    #[test]
    fn a_jobs_acks_are_sent_with_its_txns_in_the_log_and_a_job_without_acks_sends_none() {
        let dir = tempfile::tempdir().unwrap();
        let (handles, mut core_rx) = start_on(dir.path());
        let (leader_tx, mut leader_rx) = mpsc::unbounded_channel();
        let zxid = (1 << 32) | 1;
        handles.jobs.send_all(&mut vec![Job {
            token: 1,
            persist: vec![Persist::Append(proposal(zxid))],
            acks: Some((leader_tx, b"acks".to_vec())),
        }]);
        let frame = leader_rx.blocking_recv().expect("the acks are sent");
        // What they acknowledge is in the log by then.
        assert_eq!(logged(&dir.path().join("version-2")), vec![zxid]);
        assert!(matches!(frame, crate::quorum::net::Frame::Now(bytes) if bytes == b"acks"));
        match core_rx.blocking_recv() {
            Some(CoreMessage::Quorum(Input::Durable { up_to: 1, .. })) => {}
            other => panic!("expected the job durable, got {other:?}"),
        }
        // A job without acks sends none.
        handles.jobs.send_all(&mut vec![Job {
            token: 2,
            persist: vec![Persist::Append(proposal(zxid + 1))],
            acks: None,
        }]);
        assert!(matches!(
            core_rx.blocking_recv(),
            Some(CoreMessage::Quorum(Input::Durable { up_to: 2, .. }))
        ));
        assert!(leader_rx.try_recv().is_err());
    }

    #[test]
    fn trunc_to_the_last_logged_txn_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        write_log(dir.path(), &[1, 2, 3], None);
        truncate_log(dir.path(), 3).unwrap();
        assert_eq!(logged(dir.path()), vec![1, 2, 3]);
    }
}
