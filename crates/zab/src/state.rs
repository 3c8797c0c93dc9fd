//! A server's Zab state, named after Zab.tla: acceptedEpoch, currentEpoch, history,
//! lastCommitted. The driver makes it durable through [`crate::Persist`].

use crate::zxid::{Txn, Zxid};

/// The logged txns after the last snapshot (`base`), ascending.
#[derive(Debug, Clone, Default)]
pub struct History {
    base: Zxid,
    /// The entries from `start` on; those before it are forgotten and dropped in bulk, so that
    /// forgetting a few at a time does not move the rest each time.
    entries: Vec<Txn>,
    start: usize,
    /// The retained entries' txn bytes, summed.
    bytes: usize,
}

impl History {
    /// A history whose snapshot is at `base`, followed by `entries` (ascending, above `base`).
    pub fn new(base: Zxid, entries: Vec<Txn>) -> History {
        assert!(entries.windows(2).all(|pair| pair[0].zxid < pair[1].zxid), "history out of order");
        if let Some(first) = entries.first() {
            assert!(first.zxid > base, "history overlaps its snapshot");
        }
        let bytes = entries.iter().map(|txn| txn.data.len()).sum();
        History { base, entries, start: 0, bytes }
    }

    /// The zxid of the snapshot the history starts after.
    pub fn base(&self) -> Zxid {
        self.base
    }

    /// The retained entries.
    pub fn entries(&self) -> &[Txn] {
        &self.entries[self.start..]
    }

    /// The retained entries' txn bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The highest zxid up to which forgetting the oldest entries leaves at most `max_bytes`
    /// retained, never fewer than `keep` entries, and forgets nothing above `upto`; None when
    /// nothing needs forgetting.
    pub fn cut_for(&self, max_bytes: usize, keep: usize, upto: Zxid) -> Option<Zxid> {
        if self.bytes <= max_bytes {
            return None;
        }
        let entries = self.entries();
        let removable = entries.len().saturating_sub(keep).min(entries.partition_point(|t| t.zxid <= upto));
        let mut excess = self.bytes - max_bytes;
        let mut cut = None;
        for txn in &entries[..removable] {
            cut = Some(txn.zxid);
            excess = excess.saturating_sub(txn.data.len());
            if excess == 0 {
                break;
            }
        }
        cut
    }

    /// The last logged zxid (`getLastLoggedZxid`).
    pub fn last_zxid(&self) -> Zxid {
        self.entries().last().map_or(self.base, |txn| txn.zxid)
    }

    pub(crate) fn append(&mut self, txn: Txn) {
        assert!(txn.zxid > self.last_zxid(), "append {:?} after {:?}", txn.zxid, self.last_zxid());
        self.bytes += txn.data.len();
        self.entries.push(txn);
    }

    pub(crate) fn truncate(&mut self, zxid: Zxid) {
        assert!(zxid >= self.base, "truncate to {zxid:?} below the snapshot at {:?}", self.base);
        let keep = self.start + self.entries().partition_point(|txn| txn.zxid <= zxid);
        self.entries.truncate(keep);
        self.bytes = self.entries().iter().map(|txn| txn.data.len()).sum();
    }

    pub(crate) fn reset(&mut self, base: Zxid) {
        self.base = base;
        self.entries.clear();
        self.start = 0;
        self.bytes = 0;
    }

    /// Drops entries at or below `zxid` (they are in a snapshot now).
    pub(crate) fn compact(&mut self, zxid: Zxid) {
        if zxid <= self.base {
            return;
        }
        let gone = self.entries().partition_point(|txn| txn.zxid <= zxid);
        self.bytes -= self.entries()[..gone].iter().map(|txn| txn.data.len()).sum::<usize>();
        self.start += gone;
        if self.start > self.entries.len() / 2 {
            self.entries.drain(..self.start);
            self.start = 0;
        }
        self.base = zxid;
    }

    /// Entries in `(after, upto]`.
    pub fn range(&self, after: Zxid, upto: Zxid) -> &[Txn] {
        let entries = self.entries();
        let start = entries.partition_point(|txn| txn.zxid <= after);
        let end = entries.partition_point(|txn| txn.zxid <= upto);
        &entries[start..end.max(start)]
    }

    /// The entry with this zxid.
    pub fn get(&self, zxid: Zxid) -> Option<&Txn> {
        let entries = self.entries();
        entries.binary_search_by_key(&zxid, |txn| txn.zxid).ok().map(|index| &entries[index])
    }

    /// The first entry above `zxid`.
    pub fn next_after(&self, zxid: Zxid) -> Option<&Txn> {
        let entries = self.entries();
        entries.get(entries.partition_point(|txn| txn.zxid <= zxid))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(counter: u32, bytes: usize) -> Txn {
        Txn { zxid: Zxid::new(1, counter), data: vec![7u8; bytes].into() }
    }

    #[test]
    fn bytes_follow_every_change() {
        let mut history = History::new(Zxid::new(1, 0), (1..=4).map(|c| txn(c, 10 * c as usize)).collect());
        assert_eq!(history.bytes(), 100);
        history.append(txn(5, 50));
        assert_eq!(history.bytes(), 150);
        history.compact(Zxid::new(1, 2));
        assert_eq!((history.bytes(), history.base()), (120, Zxid::new(1, 2)));
        history.truncate(Zxid::new(1, 4));
        assert_eq!(history.bytes(), 70);
        history.reset(Zxid::new(1, 9));
        assert_eq!((history.bytes(), history.entries().len()), (0, 0));
    }

    #[test]
    fn forgetting_a_few_at_a_time_keeps_every_lookup_right() {
        let mut history = History::new(Zxid::new(1, 0), (1..=100).map(|c| txn(c, 1)).collect());
        for counter in 101..=300 {
            history.append(txn(counter, 1));
            history.compact(Zxid::new(1, counter - 100));
            let live = history.entries();
            assert_eq!((live.len(), history.bytes()), (100, 100));
            assert_eq!(
                (live[0].zxid, history.last_zxid()),
                (Zxid::new(1, counter - 99), Zxid::new(1, counter))
            );
            assert!(history.get(Zxid::new(1, counter - 100)).is_none());
            assert_eq!(
                history.get(Zxid::new(1, counter - 50)).map(|t| t.zxid),
                Some(Zxid::new(1, counter - 50))
            );
            let after = Zxid::new(1, counter - 10);
            assert_eq!(history.range(after, Zxid::new(1, counter)).len(), 10);
            assert_eq!(history.next_after(after).map(|t| t.zxid), Some(Zxid::new(1, counter - 9)));
        }
        history.truncate(Zxid::new(1, 250));
        assert_eq!(
            (history.entries().len(), history.bytes(), history.last_zxid()),
            (50, 50, Zxid::new(1, 250))
        );
    }

    #[test]
    fn a_cut_forgets_the_oldest_entries_down_to_the_budget_within_its_limits() {
        let history = History::new(Zxid::ZERO, (1..=10).map(|c| txn(c, 100)).collect());
        assert_eq!(history.cut_for(1_000, 0, Zxid::new(1, 10)), None, "within the budget");
        // 1,000 bytes, 450 allowed: six entries go.
        assert_eq!(history.cut_for(450, 0, Zxid::new(1, 10)), Some(Zxid::new(1, 6)));
        // At least eight entries stay.
        assert_eq!(history.cut_for(450, 8, Zxid::new(1, 10)), Some(Zxid::new(1, 2)));
        // Nothing above the last committed zxid goes.
        assert_eq!(history.cut_for(0, 0, Zxid::new(1, 3)), Some(Zxid::new(1, 3)));
        assert_eq!(history.cut_for(0, 10, Zxid::new(1, 10)), None);
        assert_eq!(history.cut_for(0, 0, Zxid::ZERO), None);
    }
}
