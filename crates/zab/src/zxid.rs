//! Zxids: `epoch << 32 | counter`, compared as Java compares them (signed 64-bit).

use std::fmt;

/// A server id (`myid`, `server.N`).
pub type Sid = u64;

/// A transaction id: the high 32 bits are the epoch of the leader that proposed it, the low 32 bits
/// a counter that the leader starts at 0 (a marker that names no txn) in each epoch.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Zxid(pub i64);

impl Zxid {
    /// Zxid 0: the empty history.
    pub const ZERO: Zxid = Zxid(0);

    /// `ZxidUtils.makeZxid(epoch, counter)`.
    pub fn new(epoch: u32, counter: u32) -> Zxid {
        Zxid(((epoch as i64) << 32) | counter as i64)
    }

    /// `ZxidUtils.getEpochFromZxid`.
    pub fn epoch(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// `ZxidUtils.getCounterFromZxid`.
    pub fn counter(self) -> u32 {
        (self.0 & 0xffff_ffff) as u32
    }
}

impl fmt::Debug for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

impl fmt::Display for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

/// One entry of a server's history: a txn as it travels in PROPOSAL/INFORM (TxnHeader + record
/// [+ digest]); the core never looks inside `data`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Txn {
    /// The zxid the leader gave it (also inside `data`'s TxnHeader).
    pub zxid: Zxid,
    /// The serialized txn, opaque to this crate.
    pub data: bytes::Bytes,
}

impl fmt::Debug for Txn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Txn({:?}, {} bytes)", self.zxid, self.data.len())
    }
}
