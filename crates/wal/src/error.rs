//! Storage errors. A ZooKeeper result code is never one of these: these mean the disk or the
//! files on it failed, and the server must stop accepting writes (or refuse to start) rather than
//! serve data it cannot vouch for.

use std::path::{Path, PathBuf};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// The operating system refused a read, write, fsync, rename... (ENOSPC, EIO, EACCES).
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file is not what ZooKeeper writes (bad magic, bad checksum in the middle of a log,
    /// undecodable record).
    #[error("{path} is corrupt at offset {offset}: {reason}")]
    Corrupt { path: PathBuf, offset: u64, reason: String },
    /// Txns between a snapshot and the log (or between two log files) are missing: a log file was
    /// deleted or `dataLogDir` points elsewhere. Serving would silently lose those writes.
    #[error("txns 0x{after:x}..0x{next:x} are missing from the txn logs in {dir} (a log file deleted, or dataLogDir changed?)")]
    Gap { dir: PathBuf, after: i64, next: i64 },
    /// Snapshots exist but none could be read.
    #[error("no valid snapshot in {dir}: {tried} tried, all unreadable")]
    NoValidSnapshot { dir: PathBuf, tried: usize },
    /// Txn logs exist but no snapshot: Java refuses this too ("Something is broken!").
    #[error("{dir} has txn logs but no snapshot; refusing to start from a partial history")]
    LogsWithoutSnapshot { dir: PathBuf },
    /// An earlier write or fsync failed; the log refuses everything after it.
    #[error("the txn log failed earlier ({0}); no more writes are accepted")]
    Poisoned(String),
    /// A caller broke an ordering rule (append out of zxid order).
    #[error("{0}")]
    Usage(String),
}

pub type Result<T, E = WalError> = std::result::Result<T, E>;

impl WalError {
    /// The error mapper for an I/O call on `path`. The path is copied only when the call fails:
    /// the log's fsyncs and writes take this on every call.
    pub(crate) fn io<P: AsRef<Path>>(op: &'static str, path: P) -> impl FnOnce(std::io::Error) -> WalError {
        move |source| WalError::Io { op, path: path.as_ref().to_path_buf(), source }
    }

    /// True when the failure is the disk being full (ENOSPC / EDQUOT).
    pub fn is_disk_full(&self) -> bool {
        match self {
            WalError::Io { source, .. } => matches!(source.raw_os_error(), Some(28) | Some(122)),
            _ => false,
        }
    }
}
