//! Java's PurgeTxnLog (zkCleanup.sh, autopurge): keep the `retain` newest snapshots and the logs
//! needed to replay from the oldest of them; delete older snapshots and logs.

use crate::error::{Result, WalError};
use crate::files::{list, logs_covering, LOG_PREFIX, SNAPSHOT_PREFIX};
use crate::snapshot::valid_snapshots;
use std::path::{Path, PathBuf};

/// Java's minimum for `-n` / autopurge.snapRetainCount.
pub const MIN_RETAIN: usize = 3;

/// Deletes what is older than the `retain`-th newest valid snapshot in `snap_dir` (both
/// `version-2` dirs), keeping the log holding that snapshot's zxid. Returns the deleted files.
pub fn purge(snap_dir: &Path, log_dir: &Path, retain: usize) -> Result<Vec<PathBuf>> {
    if retain < MIN_RETAIN {
        return Err(WalError::Usage("count should be greater than or equal to 3".into()));
    }
    let snapshots = valid_snapshots(snap_dir, retain)?;
    let Some((least_retained, _)) = snapshots.last() else { return Ok(Vec::new()) };
    let least_retained = *least_retained;
    let logs = list(log_dir, LOG_PREFIX)?;
    let retained_logs: Vec<PathBuf> =
        logs_covering(&logs, least_retained).into_iter().map(|(_, p)| p).collect();
    let mut doomed: Vec<PathBuf> = logs
        .into_iter()
        .filter(|(zxid, path)| *zxid < least_retained && !retained_logs.contains(path))
        .map(|(_, path)| path)
        .collect();
    doomed.extend(
        list(snap_dir, SNAPSHOT_PREFIX)?
            .into_iter()
            .filter(|(zxid, _)| *zxid < least_retained)
            .map(|(_, p)| p),
    );
    let mut deleted = Vec::new();
    for path in doomed {
        tracing::info!("Removing file: {}", path.display());
        match std::fs::remove_file(&path) {
            Ok(()) => deleted.push(path),
            Err(error) => tracing::warn!("Failed to remove {}: {}", path.display(), error),
        }
    }
    Ok(deleted)
}
