//! Durable writes a Zab [`zab::Ready`] asks for, on a thread of their own: the core sends each
//! batch's [`Persist`] list as a [`Job`]; the thread carries out every job waiting, then makes
//! them durable with one fsync (group commit), and only then reports each job done, in order.
//! The core holds back the rest of a batch (applies, messages, events) until its job is done, so
//! an ACK, ACKEPOCH or NEWLEADER-ACK never leaves before what it acknowledges is on disk.
//!
//! TRUNC and SNAP change the data tree: the thread rebuilds it (recovery after a truncation, the
//! leader's stream after SNAP) and hands it back with the job's completion.

use crate::core::CoreMessage;
use crate::quorum::Input;
use crate::storage::{Dirs, StorageSettings};
use datatree::DataTree;
use std::path::Path;
use std::sync::mpsc as std_mpsc;
use tokio::sync::mpsc;
use wal::files::{ACCEPTED_EPOCH, CURRENT_EPOCH, LOG_PREFIX};
use wal::txnlog::{LogFileReader, LogOptions, TxnLogWriter};
use wal::WalError;
use zab::Persist;

/// One batch's durable writes.
#[derive(Debug)]
pub struct Job {
    pub token: u64,
    pub persist: Vec<Persist>,
}

/// Starts the thread; `last_zxid` is the last txn of the recovered log.
pub fn start(
    dirs: &Dirs,
    settings: &StorageSettings,
    last_zxid: i64,
    core: mpsc::UnboundedSender<CoreMessage>,
) -> std::io::Result<std_mpsc::Sender<Job>> {
    let (jobs_tx, jobs_rx) = std_mpsc::channel::<Job>();
    let options = LogOptions {
        prealloc_bytes: settings.prealloc_bytes,
        force_sync: settings.force_sync,
        fsync_warning_ms: settings.fsync_warning_ms,
    };
    let dirs = dirs.clone();
    let digest_enabled = settings.digest_enabled;
    std::thread::Builder::new().name("zab-storage".into()).spawn(move || {
        let mut storage = Storage { dirs, options, digest_enabled, writer: None, last_zxid };
        while let Ok(first) = jobs_rx.recv() {
            let mut batch = vec![first];
            while let Ok(job) = jobs_rx.try_recv() {
                batch.push(job);
            }
            let mut done = Vec::with_capacity(batch.len());
            for job in batch {
                match storage.carry_out(job.persist) {
                    Ok(tree) => done.push((job.token, tree)),
                    Err(error) => return storage.fail(&error),
                }
            }
            if let Err(error) = storage.sync() {
                return storage.fail(&error);
            }
            for (token, tree) in done {
                if core.send(CoreMessage::Quorum(Input::Durable { token, tree })).is_err() {
                    return;
                }
            }
        }
    })?;
    Ok(jobs_tx)
}

struct Storage {
    dirs: Dirs,
    options: LogOptions,
    digest_enabled: bool,
    writer: Option<TxnLogWriter>,
    last_zxid: i64,
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
        match &mut self.writer {
            Some(writer) => writer.sync(),
            None => Ok(()),
        }
    }

    fn fail(&self, error: &WalError) {
        // A server that cannot make its votes durable must not vote: stop the process, as
        // Java's SyncRequestProcessor exits the server on a log failure.
        tracing::error!("Severe unrecoverable error, exiting: cannot write the txn log: {}", error);
        std::process::exit(1);
    }

    fn carry_out(&mut self, persist: Vec<Persist>) -> Result<Option<Box<DataTree>>, WalError> {
        let mut tree = None;
        for item in persist {
            match item {
                Persist::AcceptedEpoch(epoch) => {
                    wal::files::write_epoch(&self.dirs.snap_dir, ACCEPTED_EPOCH, i64::from(epoch))?
                }
                Persist::CurrentEpoch(epoch) => {
                    wal::files::write_epoch(&self.dirs.snap_dir, CURRENT_EPOCH, i64::from(epoch))?
                }
                Persist::Append(txn) => {
                    let (header, body, digest) =
                        wal::txnlog::decode_payload(&txn.data).map_err(|reason| {
                            WalError::Usage(format!("undecodable txn 0x{:x}: {reason}", txn.zxid.0))
                        })?;
                    self.writer().append(&header, &body, digest.as_ref())?;
                    self.last_zxid = header.zxid;
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
                    self.sync()?;
                    self.writer = None;
                    let loaded = crate::quorum::snap::deserialize_database(&snapshot, zxid.0)
                        .map_err(|reason| WalError::Usage(format!("snapshot from the leader: {reason}")))?;
                    wal::snapshot::write_snapshot(
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
