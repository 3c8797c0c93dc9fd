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

/// Why an election-port frame was refused; Java closes the connection on each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// Length ≤ 0 or above `PACKETMAXSIZE` (512 KiB).
    InvalidLength(i32),
    /// The payload is not a notification (shorter than 28 bytes, bad config length).
    Malformed,
}

/// One election-port message: `int length` then the notification.
pub fn encode_election_frame(notification: &Notification, config: &Bytes) -> Vec<u8> {
    let payload = notification_to_wire(notification, config).encode();
    let mut frame = Vec::with_capacity(4 + payload.len());
    frame.extend_from_slice(&(payload.len() as i32).to_be_bytes());
    frame.extend_from_slice(&payload);
    frame
}

/// Reads one election-port message from the front of `input`: `Ok(None)` when more bytes are
/// needed; otherwise the bytes used and the notification (`None` for a state value Java skips).
pub fn read_election_frame(input: &[u8]) -> Result<Option<(Option<Notification>, usize)>, FrameError> {
    if input.len() < 4 {
        return Ok(None);
    }
    let length = i32::from_be_bytes(input[..4].try_into().expect("4 bytes"));
    if length <= 0 || length as usize > WireNotification::MAX_MESSAGE_SIZE {
        return Err(FrameError::InvalidLength(length));
    }
    let end = 4 + length as usize;
    if input.len() < end {
        return Ok(None);
    }
    let wire = WireNotification::decode(&input[4..end]).map_err(|_| FrameError::Malformed)?;
    Ok(Some((notification_from_wire(&wire), end)))
}
