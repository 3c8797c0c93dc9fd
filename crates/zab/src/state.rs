//! A server's Zab state, named after Zab.tla: acceptedEpoch, currentEpoch, history,
//! lastCommitted. The driver makes it durable through [`crate::Persist`].

use crate::zxid::{Txn, Zxid};

/// The logged txns after the last snapshot (`base`), ascending.
#[derive(Debug, Clone, Default)]
pub struct History {
    base: Zxid,
    entries: Vec<Txn>,
}

impl History {
    /// A history whose snapshot is at `base`, followed by `entries` (ascending, above `base`).
    pub fn new(base: Zxid, entries: Vec<Txn>) -> History {
        assert!(entries.windows(2).all(|pair| pair[0].zxid < pair[1].zxid), "history out of order");
        if let Some(first) = entries.first() {
            assert!(first.zxid > base, "history overlaps its snapshot");
        }
        History { base, entries }
    }

    /// The zxid of the snapshot the history starts after.
    pub fn base(&self) -> Zxid {
        self.base
    }

    /// The retained entries.
    pub fn entries(&self) -> &[Txn] {
        &self.entries
    }

    /// The last logged zxid (`getLastLoggedZxid`).
    pub fn last_zxid(&self) -> Zxid {
        self.entries.last().map_or(self.base, |txn| txn.zxid)
    }

    pub(crate) fn append(&mut self, txn: Txn) {
        assert!(txn.zxid > self.last_zxid(), "append {:?} after {:?}", txn.zxid, self.last_zxid());
        self.entries.push(txn);
    }

    pub(crate) fn truncate(&mut self, zxid: Zxid) {
        assert!(zxid >= self.base, "truncate to {zxid:?} below the snapshot at {:?}", self.base);
        self.entries.retain(|txn| txn.zxid <= zxid);
    }

    pub(crate) fn reset(&mut self, base: Zxid) {
        self.base = base;
        self.entries.clear();
    }

    /// Drops entries at or below `zxid` (they are in a snapshot now).
    pub(crate) fn compact(&mut self, zxid: Zxid) {
        if zxid <= self.base {
            return;
        }
        self.entries.retain(|txn| txn.zxid > zxid);
        self.base = zxid;
    }

    /// Entries in `(after, upto]`.
    pub fn range(&self, after: Zxid, upto: Zxid) -> &[Txn] {
        let start = self.entries.partition_point(|txn| txn.zxid <= after);
        let end = self.entries.partition_point(|txn| txn.zxid <= upto);
        &self.entries[start..end.max(start)]
    }

    /// The entry with this zxid.
    pub fn get(&self, zxid: Zxid) -> Option<&Txn> {
        self.entries.binary_search_by_key(&zxid, |txn| txn.zxid).ok().map(|index| &self.entries[index])
    }

    /// The first entry above `zxid`.
    pub fn next_after(&self, zxid: Zxid) -> Option<&Txn> {
        self.entries.get(self.entries.partition_point(|txn| txn.zxid <= zxid))
    }
}

/// What a server restarts from: its epoch files, its snapshot's zxid (the data tree the driver
/// loaded holds exactly the txns up to it) and its durable log after the snapshot.
#[derive(Debug, Clone, Default)]
pub struct Restored {
    /// The `acceptedEpoch` file (0 when absent).
    pub accepted_epoch: u32,
    /// The `currentEpoch` file (0 when absent).
    pub current_epoch: u32,
    /// The zxid of the snapshot the data tree was loaded from.
    pub snapshot_zxid: Zxid,
    /// The durable log entries above `snapshot_zxid`, ascending.
    pub log: Vec<Txn>,
}

/// The Zab variables of Zab.tla for one server.
#[derive(Debug, Clone)]
pub struct ZabState {
    /// The epoch of the last LEADERINFO this server accepted (NEWEPOCH in the paper).
    pub accepted_epoch: u32,
    /// The epoch of the last NEWLEADER this server acked (or led).
    pub current_epoch: u32,
    /// The logged txns.
    pub history: History,
    /// The last zxid known committed and handed to the driver to apply.
    pub last_committed: Zxid,
}

impl ZabState {
    pub(crate) fn restore(restored: Restored) -> ZabState {
        assert!(restored.current_epoch <= restored.accepted_epoch, "currentEpoch above acceptedEpoch");
        ZabState {
            accepted_epoch: restored.accepted_epoch,
            current_epoch: restored.current_epoch,
            history: History::new(restored.snapshot_zxid, restored.log),
            last_committed: restored.snapshot_zxid,
        }
    }
}
