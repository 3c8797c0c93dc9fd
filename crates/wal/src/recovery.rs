//! Startup (Java's FileTxnSnapLog.restore + ZooKeeperServer.loadData): the newest snapshot that
//! reads back whole, then every logged txn after it.
//!
//! - A snapshot that fails to read (truncated, bad seal, undecodable) is skipped with a warning
//!   and the next older one is tried (up to 100, as Java).
//! - Replay applies txns with `DataTree::apply`, which tolerates NodeExists / NoNode as Java's
//!   replay does (snapshots Java writes are fuzzy).
//! - A torn last entry (a crash in the middle of a write, never acknowledged) ends the log; the
//!   file is cut there so the torn bytes can never be read as data.
//! - A hole in the zxid sequence (a missing log file) is an error: serving would silently drop
//!   acknowledged writes. Within an epoch zxids are consecutive; a new epoch may start anywhere.
//! - Afterwards the ephemerals of sessions that no longer exist are deleted (Java's loadData).

use crate::error::{Result, WalError};
use crate::files::{list, LOG_PREFIX};
use crate::snapshot::{read_snapshot, valid_snapshots, ZxidDigest};
use crate::txnlog::{read_from, truncate_at, LogEntry, TornTail, TxnIterator};
use datatree::tree::BuiltNode;
use datatree::DataTree;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many snapshots are tried before giving up (Java: 100).
pub const SNAPSHOTS_TRIED: usize = 100;

/// What recovery found and rebuilt.
#[derive(Debug)]
pub struct Recovered {
    /// The tree after the last logged txn, sessions included (`DataTree::sessions`).
    pub tree: DataTree,
    /// The last zxid in the tree (0 for a fresh data dir).
    pub last_zxid: i64,
    /// The snapshot loaded (None for a fresh data dir).
    pub snapshot: Option<(i64, PathBuf)>,
    /// Snapshots skipped because they did not read back.
    pub skipped_snapshots: Vec<(PathBuf, String)>,
    /// Txns applied from the logs.
    pub txns_replayed: u64,
    /// Torn ends found and cut.
    pub torn: Vec<TornTail>,
    /// Sessions whose ephemerals were deleted because the session was gone.
    pub orphan_sessions: Vec<i64>,
    /// Logged txns whose TxnDigest did not match the tree after replaying them (Java's
    /// compareDigest; only checked once the tree is past a fuzzy snapshot's digest zxid).
    pub digest_mismatches: u64,
    pub elapsed: Duration,
}

/// Options of [`recover`].
#[derive(Debug, Clone)]
pub struct RecoveryOptions {
    /// Cut torn tails on disk (false only for read-only tools).
    pub truncate_torn: bool,
    /// Refuse a hole in the zxid sequence.
    pub check_gaps: bool,
}

impl Default for RecoveryOptions {
    fn default() -> Self {
        RecoveryOptions { truncate_torn: true, check_gaps: true }
    }
}

/// Rebuilds the tree from `snap_dir` (dataDir/version-2) and `log_dir` (dataLogDir/version-2).
pub fn recover(snap_dir: &Path, log_dir: &Path, options: &RecoveryOptions) -> Result<Recovered> {
    let started = Instant::now();
    let all_snapshots = list(snap_dir, crate::files::SNAPSHOT_PREFIX)?;
    let candidates = valid_snapshots(snap_dir, SNAPSHOTS_TRIED)?;
    let mut skipped = Vec::new();
    for (_, path) in &all_snapshots {
        if !candidates.iter().any(|(_, p)| p == path) {
            skipped.push((path.clone(), "does not end with a seal (truncated?)".to_string()));
        }
    }
    // The logs after the newest snapshot are read while it loads: both come from the disk
    // (ferrokeeper writes them past the page cache), and the replay that follows waits only
    // for the tree, not for the reads and checksums.
    let read_ahead = LogReadAhead::start(log_dir, candidates.first().map_or(0, |(zxid, _)| *zxid) + 1)?;
    let mut loaded = None;
    for (zxid, path) in &candidates {
        tracing::info!("Reading snapshot {}", path.display());
        match read_snapshot(path) {
            Ok(snapshot) => {
                loaded = Some((snapshot, *zxid, path.clone()));
                break;
            }
            Err(error) => {
                tracing::warn!(
                    "problem reading snap file {}: {}; trying an older one",
                    path.display(),
                    error
                );
                skipped.push((path.clone(), error.to_string()));
            }
        }
    }
    let logs = list(log_dir, LOG_PREFIX)?;
    let (mut tree, snapshot_zxid, mut pending_digest, snapshot) = match loaded {
        Some((snapshot, zxid, path)) => (snapshot.tree, zxid, snapshot.digest, Some((zxid, path))),
        None if !all_snapshots.is_empty() => {
            return Err(WalError::NoValidSnapshot {
                dir: snap_dir.to_path_buf(),
                tried: all_snapshots.len(),
            });
        }
        None => {
            if logs.is_empty() {
                tracing::info!("No snapshot and no txn log: starting with an empty database");
            } else {
                // Java refuses too, unless zookeeper.snapshot.trust.empty; we start only when
                // the logs begin at the very first txn, so nothing can be missing before them.
                let first = logs[0].0;
                if first != 1 {
                    return Err(WalError::LogsWithoutSnapshot { dir: snap_dir.to_path_buf() });
                }
                tracing::warn!("No snapshot found, replaying the txn logs from zxid 0x1");
            }
            (DataTree::new(), 0, None, None)
        }
    };
    if let Some(digest) = pending_digest {
        if digest.zxid == snapshot_zxid {
            compare_digest(&tree, digest, snapshot_zxid);
            pending_digest = None;
        } else if digest.zxid < snapshot_zxid {
            pending_digest = None;
        }
    }

    let mut iterator = if read_ahead.from == snapshot_zxid + 1 {
        LogSource::Ahead(read_ahead)
    } else {
        // An older snapshot loaded: what was read ahead starts too late.
        read_ahead.stop();
        LogSource::Here { iterator: read_from(log_dir, snapshot_zxid + 1)?, held: None }
    };
    let mut last_zxid = snapshot_zxid;
    let mut replayed = 0u64;
    let mut digest_mismatches = 0u64;
    let mut last_progress = Instant::now();
    while let Some((entry, built, path)) = iterator.next_entry()? {
        let zxid = entry.header.zxid;
        if options.check_gaps {
            let same_epoch = zxid >> 32 == last_zxid >> 32;
            if zxid <= last_zxid
                || (same_epoch && zxid != last_zxid + 1 && last_zxid != 0)
                || (last_zxid == 0 && zxid >> 32 == 0 && zxid != 1)
            {
                if zxid <= last_zxid {
                    return Err(WalError::Corrupt {
                        path: path.to_path_buf(),
                        offset: entry.offset,
                        reason: format!("txn 0x{zxid:x} follows 0x{last_zxid:x}: zxids go backwards"),
                    });
                }
                return Err(WalError::Gap { dir: log_dir.to_path_buf(), after: last_zxid, next: zxid });
            }
        }
        tree.apply_with_built(&entry.header, &entry.body, built);
        last_zxid = zxid;
        replayed += 1;
        if let Some(digest) = pending_digest {
            if digest.zxid == zxid {
                compare_digest(&tree, digest, zxid);
                pending_digest = None;
            }
        } else if let Some(logged) = &entry.digest {
            // Java's compareDigest: only outside a fuzzy snapshot's window, same version only.
            if logged.version == datatree::tree::digest::DIGEST_VERSION && logged.tree_digest != tree.digest()
            {
                if digest_mismatches == 0 {
                    tracing::warn!(
                        "Digest in the log does not match the tree at zxid 0x{:x}: logged {:x}, tree {:x}",
                        zxid,
                        logged.tree_digest,
                        tree.digest()
                    );
                }
                digest_mismatches += 1;
            }
        }
        if last_progress.elapsed() >= Duration::from_secs(5) {
            last_progress = Instant::now();
            tracing::info!("Replaying txn logs: {} txns so far, at zxid 0x{:x}", replayed, zxid);
        }
    }
    if let Some(digest) = pending_digest {
        tracing::warn!(
            "Highest txn zxid 0x{:x} is not covering the snapshot digest zxid 0x{:x}, which might lead to inconsistent state",
            last_zxid,
            digest.zxid
        );
    }
    if digest_mismatches > 0 {
        tracing::warn!("{} logged txns did not match the tree's digest after replay", digest_mismatches);
    }
    let torn = iterator.torn();
    for tail in &torn {
        tracing::warn!(
            "Txn log {} ends with a torn entry at offset {} ({}); it was never acknowledged{}",
            tail.path.display(),
            tail.offset,
            tail.reason,
            if options.truncate_torn { ", cutting it off" } else { "" }
        );
        if options.truncate_torn {
            // A file left with no entry at all goes: its name (the zxid of its first txn) will
            // be needed again by the writer for the txn that comes next.
            if tail.offset <= crate::txnlog::FILE_HEADER_SIZE {
                std::fs::remove_file(&tail.path).map_err(WalError::io("removing", &tail.path))?;
                crate::files::sync_dir(log_dir)?;
            } else {
                truncate_at(&tail.path, tail.offset)?;
            }
        }
    }
    // A newest log holding no txn at all (a crash right after it was created) is named after
    // the txn the writer will log next: it goes, so that name is free again.
    if options.truncate_torn {
        if let Some((first, path)) = list(log_dir, LOG_PREFIX)?.pop() {
            if first > last_zxid && path.exists() && crate::txnlog::scan_log(&path)?.0.is_empty() {
                tracing::info!("Removing txn log {}, which holds no txn", path.display());
                std::fs::remove_file(&path).map_err(WalError::io("removing", &path))?;
                crate::files::sync_dir(log_dir)?;
            }
        }
    }
    tree.set_last_processed_zxid(last_zxid);
    let orphan_sessions = tree.kill_orphan_ephemerals();
    for session in &orphan_sessions {
        tracing::info!("Deleted the ephemerals of session 0x{:x}, which no longer exists", session);
    }
    let elapsed = started.elapsed();
    tracing::info!(
        "Recovered to zxid 0x{:x}: snapshot 0x{:x}, {} txns replayed, {} nodes, {} sessions, in {} ms",
        last_zxid,
        snapshot_zxid,
        replayed,
        tree.node_count() - 1,
        tree.session_count(),
        elapsed.as_millis()
    );
    Ok(Recovered {
        tree,
        last_zxid,
        snapshot,
        skipped_snapshots: skipped,
        txns_replayed: replayed,
        torn,
        orphan_sessions,
        digest_mismatches,
        elapsed,
    })
}

/// Entries handed over at a time, and how many such batches may wait: a bounded lead (a few MB
/// of decoded txns) however far the replay falls behind.
const READ_AHEAD_BATCH: usize = 1024;
const READ_AHEAD_BATCHES: usize = 16;

/// A thread that reads, checks and decodes the log's entries from `from` on, in order, and
/// builds the node of each create: the replay, the part of recovery that cannot be split,
/// is left only the tree's own work.
struct LogReadAhead {
    from: i64,
    batches: Receiver<Result<(Arc<Path>, Vec<AheadEntry>)>>,
    /// Applied batches go back to the thread, to be freed where they were allocated (a free
    /// from another thread is slower, and the replay's thread is the one that waits).
    spent: Sender<Vec<AheadEntry>>,
    thread: std::thread::JoinHandle<Vec<TornTail>>,
    current: Vec<AheadEntry>,
    /// The next entry of `current` to hand out.
    next: usize,
    path: Arc<Path>,
}

/// One entry read ahead, with the node it creates, if it is a create.
struct AheadEntry {
    entry: LogEntry,
    built: Option<BuiltNode>,
}

impl LogReadAhead {
    fn start(log_dir: &Path, from: i64) -> Result<LogReadAhead> {
        let iterator = read_from(log_dir, from)?;
        let (sender, batches) = std::sync::mpsc::sync_channel(READ_AHEAD_BATCHES);
        let (spent, returned) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("log-read-ahead".into())
            .spawn(move || read_ahead(iterator, sender, returned))
            .map_err(WalError::io("starting a thread for", log_dir))?;
        Ok(LogReadAhead {
            from,
            batches,
            spent,
            thread,
            current: Vec::new(),
            next: 0,
            path: Arc::from(log_dir),
        })
    }

    /// Stops the thread (at its next batch) and waits for it; returns the torn ends it met.
    fn stop(self) -> Vec<TornTail> {
        let LogReadAhead { batches, spent, thread, .. } = self;
        // The thread, done reading, waits for applied batches until this end goes.
        drop(spent);
        drop(batches);
        thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

/// The read-ahead thread: stops reading at the logs' end, at the first error (sent on, after
/// the entries before it), or when recovery no longer listens, and frees the batches handed
/// back until recovery is done with them all. Returns the torn ends it met.
fn read_ahead(
    mut iterator: TxnIterator,
    sender: SyncSender<Result<(Arc<Path>, Vec<AheadEntry>)>>,
    returned: Receiver<Vec<AheadEntry>>,
) -> Vec<TornTail> {
    let mut batch = Vec::with_capacity(READ_AHEAD_BATCH);
    let mut batch_path: Option<Arc<Path>> = None;
    loop {
        let next = iterator.next_entry();
        let flush = match &next {
            Ok(Some((_, path))) => batch_path.as_deref() != Some(*path) || batch.len() == READ_AHEAD_BATCH,
            _ => true,
        };
        if flush && !batch.is_empty() {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(READ_AHEAD_BATCH));
            let path = batch_path.clone().expect("set with the batch's first entry");
            if sender.send(Ok((path, full))).is_err() {
                break;
            }
            while let Ok(spent) = returned.try_recv() {
                drop(spent);
            }
        }
        match next {
            Ok(Some((entry, path))) => {
                if batch_path.as_deref() != Some(path) {
                    batch_path = Some(Arc::from(path));
                }
                let built = BuiltNode::for_txn(&entry.header, &entry.body);
                batch.push(AheadEntry { entry, built });
            }
            Ok(None) => break,
            Err(error) => {
                let _ = sender.send(Err(error));
                break;
            }
        }
    }
    drop(sender);
    // Ends when recovery drops its end (it has applied everything, or stopped).
    for spent in returned {
        drop(spent);
    }
    iterator.torn().to_vec()
}

/// Where the replay takes its entries from (one per recovery: its size does not matter).
#[allow(clippy::large_enum_variant)]
enum LogSource {
    Ahead(LogReadAhead),
    Here { iterator: TxnIterator, held: Option<LogEntry> },
}

impl LogSource {
    /// The next entry, the node it creates if that was built ahead, and its file.
    fn next_entry(&mut self) -> Result<Option<(&LogEntry, Option<BuiltNode>, &Path)>> {
        match self {
            LogSource::Here { iterator, held } => match iterator.next_entry()? {
                Some((entry, path)) => Ok(Some((held.insert(entry), None, path))),
                None => Ok(None),
            },
            LogSource::Ahead(ahead) => loop {
                if ahead.next < ahead.current.len() {
                    let at = ahead.next;
                    ahead.next += 1;
                    let item = &mut ahead.current[at];
                    return Ok(Some((&item.entry, item.built.take(), &ahead.path)));
                }
                let spent = std::mem::take(&mut ahead.current);
                ahead.next = 0;
                if !spent.is_empty() {
                    // Sending fails only once the thread is gone; the batch is then freed here.
                    let _ = ahead.spent.send(spent);
                }
                match ahead.batches.recv() {
                    Ok(Ok((path, batch))) => {
                        ahead.path = path;
                        ahead.current = batch;
                    }
                    Ok(Err(error)) => return Err(error),
                    // The thread is done and has sent everything.
                    Err(_) => return Ok(None),
                }
            },
        }
    }

    /// The torn ends met; call after the last entry.
    fn torn(self) -> Vec<TornTail> {
        match self {
            LogSource::Here { iterator, .. } => iterator.torn().to_vec(),
            LogSource::Ahead(ahead) => ahead.stop(),
        }
    }
}

fn compare_digest(tree: &DataTree, digest: ZxidDigest, zxid: i64) {
    if digest.version != datatree::tree::digest::DIGEST_VERSION {
        return;
    }
    if tree.digest() != digest.digest {
        tracing::warn!(
            "Digests are not matching at zxid 0x{:x}: snapshot says {:x}, tree has {:x}",
            zxid,
            digest.digest,
            tree.digest()
        );
    }
}
