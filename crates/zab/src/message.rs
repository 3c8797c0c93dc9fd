//! The messages the core exchanges, typed. [`crate::wire`] maps them to and from Java's bytes.

use crate::zxid::{Txn, Zxid};
use bytes::Bytes;
pub use jute::quorum::ServerState;
use jute::records::Id;

/// A vote: who should lead, and the candidate's (last logged zxid, currentEpoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vote {
    /// Proposed leader (Long.MIN_VALUE as i64 for a non-voter's initial vote).
    pub leader: i64,
    /// The candidate's last logged zxid.
    pub zxid: i64,
    /// The candidate's currentEpoch.
    pub peer_epoch: i64,
}

/// One election-port message (a FastLeaderElection notification).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The sender's state.
    pub state: ServerState,
    /// The sender's vote.
    pub vote: Vote,
    /// The sender's logical clock (round).
    pub election_epoch: i64,
    /// The sender's notification version (2 for 3.5+); Vote equality depends on it for
    /// non-LOOKING votes, as in Java.
    pub version: i32,
}

/// A session touch a learner reports in its PING reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionTouch {
    /// The session.
    pub session_id: i64,
    /// Its timeout in ms.
    pub timeout_ms: i32,
}

/// One quorum-port message, typed. Direction matters for PING and REVALIDATE, whose payloads
/// differ between leader→learner and learner→leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuorumMessage {
    /// learner → leader: first packet of a follower.
    FollowerInfo { accepted_epoch: u32, sid: i64, protocol_version: i32, config_version: i64 },
    /// learner → leader: first packet of an observer.
    ObserverInfo { accepted_epoch: u32, sid: i64, protocol_version: i32, config_version: i64 },
    /// leader → learner: the epoch it proposes.
    LeaderInfo { new_epoch: u32, protocol_version: i32 },
    /// learner → leader: the learner's last logged zxid and currentEpoch (-1 when it had already
    /// accepted this epoch).
    AckEpoch { last_zxid: Zxid, current_epoch: i32 },
    /// leader → learner: a diff up to `zxid` follows.
    Diff { zxid: Zxid },
    /// leader → learner: drop every log entry above `zxid`.
    Trunc { zxid: Zxid },
    /// leader → learner: a serialized database at `zxid` follows. The leader's core emits it with
    /// an empty `snapshot`: the driver streams its data tree (see [`crate::Ready`]); a learner's
    /// driver hands the core the bytes it read.
    Snap { zxid: Zxid, snapshot: Bytes },
    /// leader → follower: log this txn.
    Proposal { txn: Txn },
    /// follower → leader: `zxid` (a txn, or NEWLEADER's epoch<<32) is durable.
    Ack { zxid: Zxid },
    /// leader → follower: `zxid` is committed.
    Commit { zxid: Zxid },
    /// leader → observer: this txn is committed.
    Inform { txn: Txn },
    /// leader → learner: end of the sync backlog.
    NewLeader { zxid: Zxid, config: Bytes },
    /// leader → learner: synced; start serving.
    UpToDate,
    /// leader → learner: liveness, with the leader's last proposed zxid.
    Ping { zxid: Zxid },
    /// learner → leader: answer to a ping with the sessions touched since the last one.
    PingReply { zxid: Zxid, touches: Vec<SessionTouch> },
    /// learner → leader: a client request to run through the leader's pipeline.
    Request { session_id: i64, cxid: i32, op_type: i32, request: Bytes, authinfo: Vec<Id> },
    /// learner → leader: a session moved to this learner.
    Revalidate { session_id: i64, timeout_ms: i32 },
    /// leader → learner: whether that session is still valid.
    RevalidateReply { session_id: i64, valid: bool },
    /// leader → learner: a forwarded sync is done.
    Sync { zxid: Zxid },
}

impl QuorumMessage {
    /// A short name for logs: the Java packet type name.
    pub fn name(&self) -> &'static str {
        match self {
            QuorumMessage::FollowerInfo { .. } => "FOLLOWERINFO",
            QuorumMessage::ObserverInfo { .. } => "OBSERVERINFO",
            QuorumMessage::LeaderInfo { .. } => "LEADERINFO",
            QuorumMessage::AckEpoch { .. } => "ACKEPOCH",
            QuorumMessage::Diff { .. } => "DIFF",
            QuorumMessage::Trunc { .. } => "TRUNC",
            QuorumMessage::Snap { .. } => "SNAP",
            QuorumMessage::Proposal { .. } => "PROPOSAL",
            QuorumMessage::Ack { .. } => "ACK",
            QuorumMessage::Commit { .. } => "COMMIT",
            QuorumMessage::Inform { .. } => "INFORM",
            QuorumMessage::NewLeader { .. } => "NEWLEADER",
            QuorumMessage::UpToDate => "UPTODATE",
            QuorumMessage::Ping { .. } | QuorumMessage::PingReply { .. } => "PING",
            QuorumMessage::Request { .. } => "REQUEST",
            QuorumMessage::Revalidate { .. } | QuorumMessage::RevalidateReply { .. } => "REVALIDATE",
            QuorumMessage::Sync { .. } => "SYNC",
        }
    }
}

/// Anything one server sends another: an election notification or a quorum packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Election port.
    Election(Notification),
    /// Quorum port (one connection per learner, FIFO).
    Quorum(QuorumMessage),
}
