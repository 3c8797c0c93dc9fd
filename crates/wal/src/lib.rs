//! ZooKeeper's on-disk formats, byte for byte as Apache ZooKeeper 3.8 writes and reads them: the
//! txn log, snapshots, recovery, purge and the epoch files. No threads, no clock of its own: the
//! server drives it.
//!
//! # Driving it
//!
//! 1. At start, [`recovery::recover`] rebuilds the tree from `dataDir/version-2` and
//!    `dataLogDir/version-2` (see [`files`] for the layout).
//! 2. Each txn, in zxid order: [`txnlog::TxnLogWriter::append`]; then, for a whole batch,
//!    [`txnlog::TxnLogWriter::sync`] (flush + fdatasync). Acknowledge a txn only after a `sync`
//!    that followed its `append` returned Ok: that is group commit, one fsync for every txn
//!    queued meanwhile. Any error poisons the writer: nothing after it is accepted, because the
//!    state of the file is unknown, and the server must stop taking writes.
//! 3. Every ~snapCount txns ([`SnapshotPolicy`]): [`txnlog::TxnLogWriter::roll`], take a
//!    `DataTree::snapshot_view` (O(1)) and hand it to another thread that runs
//!    [`snapshot::write_snapshot`].
//! 4. Now and then [`purge::purge`].

pub mod adler32;
pub mod error;
pub mod files;
pub mod purge;
pub mod recovery;
pub mod snapshot;
pub mod txnlog;

pub use error::{Result, WalError};

/// Java's SyncRequestProcessor snapshot trigger: roll the log and snapshot once the txns logged
/// since the last snapshot exceed `snapCount/2 + random[0, snapCount/2)` (or the bytes exceed
/// the same share of snapSizeLimitInKb), the random part drawn anew after each snapshot so that
/// the servers of an ensemble do not all snapshot at once.
#[derive(Debug, Clone)]
pub struct SnapshotPolicy {
    snap_count: u64,
    snap_size_bytes: Option<u64>,
    random_count: u64,
    random_size: u64,
    rng: u64,
}

impl SnapshotPolicy {
    /// `seed` feeds the randomisation (any value; tests pass a fixed one).
    pub fn new(snap_count: u64, snap_size_bytes: Option<u64>, seed: u64) -> SnapshotPolicy {
        let mut policy = SnapshotPolicy {
            snap_count: snap_count.max(2),
            snap_size_bytes,
            random_count: 0,
            random_size: 0,
            rng: seed | 1,
        };
        policy.reset_randomness();
        policy
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Draws the random part for the next round (after each snapshot).
    pub fn reset_randomness(&mut self) {
        let half = self.snap_count / 2;
        self.random_count = if half > 0 { self.next_random() % half } else { 0 };
        self.random_size = match self.snap_size_bytes {
            Some(bytes) if bytes / 2 > 0 => self.next_random() % (bytes / 2),
            _ => 0,
        };
    }

    /// True once `txns` txns / `bytes` log bytes since the last snapshot call for the next one.
    pub fn should_snapshot(&self, txns: u64, bytes: u64) -> bool {
        let by_count = txns > self.snap_count / 2 + self.random_count;
        let by_size = self.snap_size_bytes.is_some_and(|limit| bytes > limit / 2 + self.random_size);
        by_count || by_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_trigger_lies_between_half_and_all_of_snap_count() {
        for seed in 0..50 {
            let policy = SnapshotPolicy::new(100, None, seed);
            let first = (0..200).find(|&n| policy.should_snapshot(n, 0)).unwrap();
            assert!((51..=100).contains(&first), "{first}");
        }
    }
}
