//! File names and directory layout, as Java's Util / FileTxnSnapLog.
//!
//! - `dataDir/myid`
//! - `dataDir/version-2/{acceptedEpoch, currentEpoch, snapshot.<hex zxid>}`
//! - `dataLogDir/version-2/log.<hex zxid of its first txn>`

use crate::error::{Result, WalError};
use std::path::{Path, PathBuf};

/// The subdirectory every file lives in (FileTxnSnapLog.version + VERSION).
pub const VERSION_DIR: &str = "version-2";
pub const LOG_PREFIX: &str = "log";
pub const SNAPSHOT_PREFIX: &str = "snapshot";

/// `log.<hex zxid>` (Java's Long.toHexString: lower case, no padding).
pub fn log_name(zxid: i64) -> String {
    format!("{LOG_PREFIX}.{:x}", zxid)
}

/// `snapshot.<hex zxid>` (uncompressed, Java's default).
pub fn snapshot_name(zxid: i64) -> String {
    format!("{SNAPSHOT_PREFIX}.{:x}", zxid)
}

/// Java's getZxidFromName: the hex after `<prefix>.` up to the next dot, else None.
pub fn zxid_from_name(name: &str, prefix: &str) -> Option<i64> {
    let mut parts = name.split('.');
    if parts.next()? != prefix {
        return None;
    }
    let hex = parts.next()?;
    // Java's Long.parseLong(hex, 16): a signed value; ours never exceeds i64::MAX.
    i64::from_str_radix(hex, 16).ok()
}

/// Files named `<prefix>.<hex>[...]` in `dir`, ascending by zxid. A missing dir is empty.
pub fn list(dir: &Path, prefix: &str) -> Result<Vec<(i64, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(WalError::io("listing", dir)(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(WalError::io("listing", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(zxid) = zxid_from_name(name, prefix) {
            files.push((zxid, entry.path()));
        }
    }
    files.sort();
    Ok(files)
}

/// Java's FileTxnLog.getLogFiles: the newest log starting at or before `zxid` and every later
/// one, ascending.
pub fn logs_covering(logs: &[(i64, PathBuf)], zxid: i64) -> Vec<(i64, PathBuf)> {
    let start = logs.iter().filter(|(first, _)| *first <= zxid).map(|(first, _)| *first).max().unwrap_or(0);
    logs.iter().filter(|(first, _)| *first >= start).cloned().collect()
}

/// `dir/version-2`, created if missing.
pub fn version_dir(dir: &Path) -> Result<PathBuf> {
    let path = dir.join(VERSION_DIR);
    std::fs::create_dir_all(&path).map_err(WalError::io("creating", &path))?;
    Ok(path)
}

/// fsyncs a directory so that a create, rename or delete in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let handle = std::fs::File::open(dir).map_err(WalError::io("opening", dir))?;
    handle.sync_all().map_err(WalError::io("fsyncing", dir))
}

/// Writes `bytes` to `path` atomically: a temp file in the same dir, fsync, rename, fsync dir
/// (Java's AtomicFileOutputStream).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = dir.join(format!("{name}.tmp"));
    let mut file = std::fs::File::create(&temp).map_err(WalError::io("creating", &temp))?;
    file.write_all(bytes).map_err(WalError::io("writing", &temp))?;
    file.sync_all().map_err(WalError::io("fsyncing", &temp))?;
    drop(file);
    std::fs::rename(&temp, path).map_err(WalError::io("renaming", &temp))?;
    sync_dir(dir)
}

/// `acceptedEpoch` / `currentEpoch` in `dataDir/version-2`: a decimal long, no newline (Java's
/// QuorumPeer.writeLongToFile). None when the file does not exist.
pub fn read_epoch(snap_dir: &Path, name: &str) -> Result<Option<i64>> {
    let path = snap_dir.join(name);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(WalError::io("reading", &path)(e)),
    };
    let line = text.lines().next().unwrap_or("").trim();
    line.parse().map(Some).map_err(|_| WalError::Corrupt {
        path,
        offset: 0,
        reason: format!("expected a decimal epoch, found {line:?}"),
    })
}

pub const ACCEPTED_EPOCH: &str = "acceptedEpoch";
pub const CURRENT_EPOCH: &str = "currentEpoch";

/// Writes an epoch file atomically.
pub fn write_epoch(snap_dir: &Path, name: &str, epoch: i64) -> Result<()> {
    write_atomically(&snap_dir.join(name), epoch.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_as_java_spells_them() {
        assert_eq!(log_name(1), "log.1");
        assert_eq!(snapshot_name(0x1_0000_00ab), "snapshot.1000000ab");
        assert_eq!(zxid_from_name("snapshot.39", SNAPSHOT_PREFIX), Some(0x39));
        assert_eq!(zxid_from_name("snapshot.39.gz", SNAPSHOT_PREFIX), Some(0x39));
        assert_eq!(zxid_from_name("log.zz", LOG_PREFIX), None);
        assert_eq!(zxid_from_name("tmp.snapshot.1", SNAPSHOT_PREFIX), None);
    }

    #[test]
    fn logs_covering_keeps_the_log_holding_the_zxid() {
        let logs: Vec<(i64, PathBuf)> =
            [1, 0x20, 0x40].iter().map(|&z| (z, PathBuf::from(log_name(z)))).collect();
        let zxids = |z| logs_covering(&logs, z).into_iter().map(|(z, _)| z).collect::<Vec<_>>();
        assert_eq!(zxids(0x30), vec![0x20, 0x40]);
        assert_eq!(zxids(0x20), vec![0x20, 0x40]);
        assert_eq!(zxids(0), vec![1, 0x20, 0x40]);
        assert_eq!(zxids(0x99), vec![0x40]);
    }

    #[test]
    fn epochs_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_epoch(dir.path(), CURRENT_EPOCH).unwrap(), None);
        write_epoch(dir.path(), CURRENT_EPOCH, 7).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join(CURRENT_EPOCH)).unwrap(), "7");
        assert_eq!(read_epoch(dir.path(), CURRENT_EPOCH).unwrap(), Some(7));
    }
}
