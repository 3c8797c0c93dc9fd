//! Election-port codec and the connection rule of `QuorumCnxManager`.

use crate::message::{Notification, ServerState, Vote};
use bytes::Bytes;
use jute::quorum::Notification as WireNotification;

/// The wire record for a typed notification, carrying `config` (version 2).
pub fn notification_to_wire(notification: &Notification, config: &Bytes) -> WireNotification {
    WireNotification {
        state: notification.state.to_i32(),
        leader: notification.vote.leader,
        zxid: notification.vote.zxid,
        election_epoch: notification.election_epoch,
        peer_epoch: notification.vote.peer_epoch,
        version: WireNotification::CURRENT_VERSION,
        config: config.clone(),
    }
}

/// The typed notification, or `None` for a state value Java does not know (it skips those).
pub fn notification_from_wire(wire: &WireNotification) -> Option<Notification> {
    let state = ServerState::from_i32(wire.state)?;
    Some(Notification {
        state,
        vote: Vote { leader: wire.leader, zxid: wire.zxid, peer_epoch: wire.peer_epoch },
        election_epoch: wire.election_epoch,
        version: wire.version,
    })
}

/// What to do with an election connection once the handshake names the remote sid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionDecision {
    /// Keep it and start the send/receive workers.
    Keep,
    /// Close it; if `dial_back`, connect to the remote ourselves (we have the higher sid).
    Close { dial_back: bool },
}

/// Java 3.8's rule: only a connection initiated by the higher sid survives. An acceptor closes a
/// connection from a lower sid and dials back; a connector to a higher sid closes its own
/// connection (the other side will dial); a connection claiming our own sid is closed.
pub fn keep_election_connection(my_sid: i64, remote_sid: i64, initiated_by_me: bool) -> ConnectionDecision {
    if remote_sid == my_sid {
        return ConnectionDecision::Close { dial_back: false };
    }
    match (initiated_by_me, remote_sid < my_sid) {
        (false, true) => ConnectionDecision::Close { dial_back: true },
        (false, false) => ConnectionDecision::Keep,
        (true, true) => ConnectionDecision::Keep,
        (true, false) => ConnectionDecision::Close { dial_back: false },
    }
}
