//! Quorum-port codec: typed [`QuorumMessage`] ↔ `QuorumPacket`.

use crate::message::{QuorumMessage, SessionTouch};
use crate::zxid::{Txn, Zxid};
use bytes::{Bytes, BytesMut};
use jute::quorum::{packet_type as t, LearnerInfo, QuorumPacket};
use jute::{Field, JuteError, Reader, Record};

/// Who sent the packet; PING and REVALIDATE payloads differ by direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Written by the leader.
    FromLeader,
    /// Written by a learner.
    FromLearner,
}

/// Why a packet is not a message this crate understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The payload did not decode.
    Jute(JuteError),
    /// A type this side never receives (or reconfig's COMMITANDACTIVATE / INFORMANDACTIVATE).
    UnexpectedType(i32),
}

impl From<JuteError> for WireError {
    fn from(error: JuteError) -> Self {
        WireError::Jute(error)
    }
}

fn packet(kind: i32, zxid: Zxid, data: Option<Vec<u8>>) -> QuorumPacket {
    QuorumPacket { r#type: kind, zxid: zxid.0, data: data.map(Bytes::from), authinfo: Vec::new() }
}

fn info(accepted_epoch: u32, sid: i64, protocol_version: i32, config_version: i64) -> (Zxid, Vec<u8>) {
    (Zxid::new(accepted_epoch, 0), LearnerInfo { serverid: sid, protocol_version, config_version }.encode())
}

/// The packet Java would write for `message`. The SNAP packet carries no data: the database
/// follows it on the stream (the driver writes it).
pub fn encode_quorum(message: &QuorumMessage) -> QuorumPacket {
    match message {
        QuorumMessage::FollowerInfo { accepted_epoch, sid, protocol_version, config_version } => {
            let (zxid, data) = info(*accepted_epoch, *sid, *protocol_version, *config_version);
            packet(t::FOLLOWERINFO, zxid, Some(data))
        }
        QuorumMessage::ObserverInfo { accepted_epoch, sid, protocol_version, config_version } => {
            let (zxid, data) = info(*accepted_epoch, *sid, *protocol_version, *config_version);
            packet(t::OBSERVERINFO, zxid, Some(data))
        }
        QuorumMessage::LeaderInfo { new_epoch, protocol_version } => {
            packet(t::LEADERINFO, Zxid::new(*new_epoch, 0), Some(protocol_version.to_be_bytes().to_vec()))
        }
        QuorumMessage::AckEpoch { last_zxid, current_epoch } => {
            packet(t::ACKEPOCH, *last_zxid, Some(current_epoch.to_be_bytes().to_vec()))
        }
        QuorumMessage::Diff { zxid } => packet(t::DIFF, *zxid, None),
        QuorumMessage::Trunc { zxid } => packet(t::TRUNC, *zxid, None),
        QuorumMessage::Snap { zxid, .. } => packet(t::SNAP, *zxid, None),
        QuorumMessage::Proposal { txn } => QuorumPacket {
            r#type: t::PROPOSAL,
            zxid: txn.zxid.0,
            data: Some(txn.data.clone()),
            authinfo: Vec::new(),
        },
        QuorumMessage::Ack { zxid } => packet(t::ACK, *zxid, None),
        QuorumMessage::Commit { zxid } => packet(t::COMMIT, *zxid, None),
        QuorumMessage::Inform { txn } => QuorumPacket {
            r#type: t::INFORM,
            zxid: txn.zxid.0,
            data: Some(txn.data.clone()),
            authinfo: Vec::new(),
        },
        QuorumMessage::NewLeader { zxid, config } => QuorumPacket {
            r#type: t::NEWLEADER,
            zxid: zxid.0,
            data: Some(config.clone()),
            authinfo: Vec::new(),
        },
        QuorumMessage::UpToDate => packet(t::UPTODATE, Zxid(-1), None),
        QuorumMessage::Ping { zxid } => packet(t::PING, *zxid, None),
        QuorumMessage::PingReply { zxid, touches } => {
            let mut data = Vec::with_capacity(touches.len() * 12);
            for touch in touches {
                data.extend_from_slice(&touch.session_id.to_be_bytes());
                data.extend_from_slice(&touch.timeout_ms.to_be_bytes());
            }
            packet(t::PING, *zxid, Some(data))
        }
        QuorumMessage::Request { session_id, cxid, op_type, request, authinfo } => {
            let mut data = Vec::with_capacity(16 + request.len());
            data.extend_from_slice(&session_id.to_be_bytes());
            data.extend_from_slice(&cxid.to_be_bytes());
            data.extend_from_slice(&op_type.to_be_bytes());
            data.extend_from_slice(request);
            QuorumPacket {
                r#type: t::REQUEST,
                zxid: -1,
                data: Some(Bytes::from(data)),
                authinfo: authinfo.clone(),
            }
        }
        QuorumMessage::Revalidate { session_id, timeout_ms } => {
            let mut data = session_id.to_be_bytes().to_vec();
            data.extend_from_slice(&timeout_ms.to_be_bytes());
            packet(t::REVALIDATE, Zxid(-1), Some(data))
        }
        QuorumMessage::RevalidateReply { session_id, valid } => {
            let mut data = session_id.to_be_bytes().to_vec();
            data.push(u8::from(*valid));
            packet(t::REVALIDATE, Zxid(-1), Some(data))
        }
        QuorumMessage::Sync { zxid } => packet(t::SYNC, *zxid, None),
    }
}

fn data(packet: &QuorumPacket) -> &[u8] {
    packet.data.as_deref().unwrap_or(&[])
}

fn learner_info(packet: &QuorumPacket) -> Result<LearnerInfo, WireError> {
    // Java reads LearnerInfo only when data is present; a pre-3.4 learner sent the bare sid.
    let bytes = data(packet);
    if bytes.len() == 8 {
        let sid = Reader::new(bytes).read_i64()?;
        return Ok(LearnerInfo { serverid: sid, protocol_version: 0, config_version: 0 });
    }
    // 3.4 learners send {serverid, protocolVersion}; 3.5+ add configVersion.
    let mut reader = Reader::new(bytes);
    let serverid = reader.read_i64()?;
    let protocol_version = reader.read_i32()?;
    let config_version = if reader.remaining() >= 8 { reader.read_i64()? } else { 0 };
    Ok(LearnerInfo { serverid, protocol_version, config_version })
}

fn read_int_payload(packet: &QuorumPacket) -> Result<i32, WireError> {
    Ok(Reader::new(data(packet)).read_i32()?)
}

/// The typed message for a packet read from a `direction` peer. Unknown and reconfig types are
/// refused; a driver closes the connection on an error, as Java does. Takes the packet so that a
/// forwarded request keeps its auth ids and shares its bytes instead of copying them.
pub fn decode_quorum(mut packet: QuorumPacket, direction: Direction) -> Result<QuorumMessage, WireError> {
    let packet = &mut packet;
    let zxid = Zxid(packet.zxid);
    let from_leader = direction == Direction::FromLeader;
    let message = match (packet.r#type, from_leader) {
        (t::FOLLOWERINFO, false) | (t::OBSERVERINFO, false) => {
            let info = learner_info(packet)?;
            let accepted_epoch = zxid.epoch();
            if packet.r#type == t::FOLLOWERINFO {
                QuorumMessage::FollowerInfo {
                    accepted_epoch,
                    sid: info.serverid,
                    protocol_version: info.protocol_version,
                    config_version: info.config_version,
                }
            } else {
                QuorumMessage::ObserverInfo {
                    accepted_epoch,
                    sid: info.serverid,
                    protocol_version: info.protocol_version,
                    config_version: info.config_version,
                }
            }
        }
        (t::LEADERINFO, true) => {
            QuorumMessage::LeaderInfo { new_epoch: zxid.epoch(), protocol_version: read_int_payload(packet)? }
        }
        (t::ACKEPOCH, false) => {
            QuorumMessage::AckEpoch { last_zxid: zxid, current_epoch: read_int_payload(packet)? }
        }
        (t::DIFF, true) => QuorumMessage::Diff { zxid },
        (t::TRUNC, true) => QuorumMessage::Trunc { zxid },
        (t::SNAP, true) => QuorumMessage::Snap { zxid, snapshot: Bytes::new() },
        (t::PROPOSAL, true) => {
            QuorumMessage::Proposal { txn: Txn { zxid, data: packet.data.clone().unwrap_or_default() } }
        }
        (t::ACK, false) => QuorumMessage::Ack { zxid },
        (t::COMMIT, true) => QuorumMessage::Commit { zxid },
        (t::INFORM, true) => {
            QuorumMessage::Inform { txn: Txn { zxid, data: packet.data.clone().unwrap_or_default() } }
        }
        (t::NEWLEADER, true) => {
            QuorumMessage::NewLeader { zxid, config: packet.data.clone().unwrap_or_default() }
        }
        (t::UPTODATE, true) => QuorumMessage::UpToDate,
        (t::PING, true) => QuorumMessage::Ping { zxid },
        (t::PING, false) => {
            let bytes = data(packet);
            let mut reader = Reader::new(bytes);
            let mut touches = Vec::with_capacity(bytes.len() / 12);
            while !reader.is_empty() {
                let session_id = reader.read_i64()?;
                let timeout_ms = reader.read_i32()?;
                touches.push(SessionTouch { session_id, timeout_ms });
            }
            QuorumMessage::PingReply { zxid, touches }
        }
        (t::REQUEST, false) => {
            let body = packet.data.take().unwrap_or_default();
            let mut reader = Reader::new(&body);
            let session_id = reader.read_i64()?;
            let cxid = reader.read_i32()?;
            let op_type = reader.read_i32()?;
            let request = body.slice(reader.position()..);
            QuorumMessage::Request {
                session_id,
                cxid,
                op_type,
                request,
                authinfo: std::mem::take(&mut packet.authinfo),
            }
        }
        (t::REVALIDATE, false) => {
            let mut reader = Reader::new(data(packet));
            QuorumMessage::Revalidate { session_id: reader.read_i64()?, timeout_ms: reader.read_i32()? }
        }
        (t::REVALIDATE, true) => {
            let mut reader = Reader::new(data(packet));
            let session_id = reader.read_i64()?;
            let valid = bool::read(&mut reader)?;
            QuorumMessage::RevalidateReply { session_id, valid }
        }
        (t::SYNC, true) => QuorumMessage::Sync { zxid },
        (other, _) => return Err(WireError::UnexpectedType(other)),
    };
    Ok(message)
}

/// The bytes Java writes for a packet. Java leaves `authinfo` null (-1) on every packet but a
/// REQUEST that carries the client's auth ids (a session's ids always include its `ip` id; a
/// createSession REQUEST has none and goes out null too); `jute`'s record cannot tell null from
/// empty, so an empty list is written as null here.
pub fn write_packet(packet: &QuorumPacket) -> Vec<u8> {
    let mut out = Vec::with_capacity(20 + packet.data.as_ref().map_or(0, |d| d.len()));
    packet.r#type.write(&mut out);
    packet.zxid.write(&mut out);
    packet.data.write(&mut out);
    write_authinfo(packet, &mut out);
    out
}

fn write_authinfo(packet: &QuorumPacket, out: &mut Vec<u8>) {
    if !packet.authinfo.is_empty() {
        packet.authinfo.write(out);
    } else {
        (-1i32).write(out);
    }
}

/// [`write_packet`]'s bytes as the bytes before the data field's bytes, those bytes (shared
/// with the packet, not copied) and the bytes after them, when the data is at least
/// `share_from` bytes long; otherwise all of them in the first piece. A PROPOSAL's txn goes to
/// every follower: a vectored write sends it from the one buffer it is in.
pub fn write_packet_split(packet: &QuorumPacket, share_from: usize) -> (Vec<u8>, Option<Bytes>, Vec<u8>) {
    let Some(data) = packet.data.as_ref().filter(|data| data.len() >= share_from) else {
        return (write_packet(packet), None, Vec::new());
    };
    let mut head = Vec::with_capacity(16);
    packet.r#type.write(&mut head);
    packet.zxid.write(&mut head);
    jute::write_buffer_length(&mut head, data.len());
    let mut tail = Vec::with_capacity(4);
    write_authinfo(packet, &mut tail);
    (head, Some(data.clone()), tail)
}

/// Reads one packet from the front of a quorum-port stream: `Ok(None)` when more bytes are
/// needed, else the packet and the bytes it used. Lengths are bounded by what arrived and by
/// `max_data` (jute.maxbuffer).
pub fn read_packet(input: &[u8], max_data: usize) -> Result<Option<(QuorumPacket, usize)>, WireError> {
    check_data_length(input, max_data)?;
    let mut reader = Reader::new(input);
    match QuorumPacket::read(&mut reader) {
        Ok(packet) => Ok(Some((packet, reader.position()))),
        Err(JuteError::Truncated { .. }) => Ok(None),
        Err(error) => Err(WireError::Jute(error)),
    }
}

/// [`read_packet`] for a stream's receive buffer: takes the packet's bytes off the front of
/// `buffer`, and a large data field shares them instead of being copied ([`Reader::shared`]).
pub fn take_packet(buffer: &mut BytesMut, max_data: usize) -> Result<Option<QuorumPacket>, WireError> {
    check_data_length(buffer, max_data)?;
    let mut probe = Reader::skipping(buffer);
    let used = match QuorumPacket::read(&mut probe) {
        Ok(_) => probe.position(),
        Err(JuteError::Truncated { .. }) => return Ok(None),
        Err(error) => return Err(WireError::Jute(error)),
    };
    let bytes = buffer.split_to(used).freeze();
    Ok(Some(QuorumPacket::read(&mut Reader::shared(&bytes))?))
}

/// Refuses a data length over `max_data` (jute.maxbuffer) as soon as the header has arrived,
/// before waiting for that many bytes.
fn check_data_length(input: &[u8], max_data: usize) -> Result<(), WireError> {
    if input.len() >= 16 {
        let length = i32::from_be_bytes(input[12..16].try_into().expect("4 bytes"));
        if length > 0 && length as usize > max_data {
            return Err(WireError::Jute(JuteError::InvalidLength(length)));
        }
    }
    Ok(())
}
