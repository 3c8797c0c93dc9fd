//! Records of `org.apache.zookeeper.server.quorum`: the quorum-port packets.

use crate::jute_record;
use crate::records::Id;
use crate::{JuteError, Reader};
use bytes::Bytes;

jute_record! {
    /// Payload of FOLLOWERINFO / OBSERVERINFO.
    pub struct LearnerInfo {
        pub serverid: i64,
        pub protocol_version: i32,
        pub config_version: i64,
    }

    /// Every message on the quorum port; packets follow each other with no length prefix.
    pub struct QuorumPacket {
        pub r#type: i32,
        pub zxid: i64,
        pub data: Option<Bytes>,
        pub authinfo: Vec<Id>,
    }

    /// Quorum SASL exchange, only when quorum SASL is enabled.
    pub struct QuorumAuthPacket {
        pub magic: i64,
        pub status: i32,
        pub token: Option<Bytes>,
    }
}

/// QuorumPacket `type` values (`Leader.java` constants).
pub mod packet_type {
    /// learner → leader: a forwarded client request.
    pub const REQUEST: i32 = 1;
    /// leader → follower: a txn to log.
    pub const PROPOSAL: i32 = 2;
    /// follower → leader: a txn (or NEWLEADER) is durable.
    pub const ACK: i32 = 3;
    /// leader → follower: a txn is committed.
    pub const COMMIT: i32 = 4;
    /// both ways: liveness; the learner's reply carries session touches.
    pub const PING: i32 = 5;
    /// both ways: a session moved to this learner.
    pub const REVALIDATE: i32 = 6;
    /// leader → learner: a forwarded sync is done.
    pub const SYNC: i32 = 7;
    /// leader → observer: a committed txn.
    pub const INFORM: i32 = 8;
    /// leader → follower: commit of a reconfig.
    pub const COMMITANDACTIVATE: i32 = 9;
    /// leader → learner: end of the sync backlog, zxid = newEpoch << 32.
    pub const NEWLEADER: i32 = 10;
    /// follower → leader: first packet, zxid = acceptedEpoch << 32, data = LearnerInfo.
    pub const FOLLOWERINFO: i32 = 11;
    /// leader → learner: sync done, start serving.
    pub const UPTODATE: i32 = 12;
    /// leader → learner: a diff follows.
    pub const DIFF: i32 = 13;
    /// leader → learner: truncate the log to zxid.
    pub const TRUNC: i32 = 14;
    /// leader → learner: a serialized database follows.
    pub const SNAP: i32 = 15;
    /// observer → leader: as FOLLOWERINFO.
    pub const OBSERVERINFO: i32 = 16;
    /// leader → learner: the new epoch, data = int protocol version.
    pub const LEADERINFO: i32 = 17;
    /// learner → leader: zxid = last logged zxid, data = int currentEpoch (or -1).
    pub const ACKEPOCH: i32 = 18;
    /// leader → observer: commit of a reconfig.
    pub const INFORMANDACTIVATE: i32 = 19;
}

/// The protocol version a 3.4+ learner or leader announces in LearnerInfo and LEADERINFO.
pub const ZAB_PROTOCOL_VERSION: i32 = 0x10000;

/// `QuorumPeer.ServerState` as it travels in a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerState {
    /// Electing (0).
    Looking,
    /// Following a leader (1).
    Following,
    /// Leading (2).
    Leading,
    /// Observing a leader (3).
    Observing,
}

impl ServerState {
    /// The wire value.
    pub fn to_i32(self) -> i32 {
        match self {
            ServerState::Looking => 0,
            ServerState::Following => 1,
            ServerState::Leading => 2,
            ServerState::Observing => 3,
        }
    }

    /// The state for a wire value; Java ignores notifications with any other value.
    pub fn from_i32(value: i32) -> Option<ServerState> {
        match value {
            0 => Some(ServerState::Looking),
            1 => Some(ServerState::Following),
            2 => Some(ServerState::Leading),
            3 => Some(ServerState::Observing),
            _ => None,
        }
    }
}

/// A FastLeaderElection notification (the payload of one election-port message, after its
/// `int` length prefix). Not a jute record: Java writes it with a raw `ByteBuffer`.
///
/// Version 2 (3.5+) is 44 bytes plus the config text; the 28-byte (no peerEpoch, no version)
/// and 40-byte (no version) forms of older servers are accepted on decode as Java accepts them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notification {
    /// The sender's state as sent (see [`Notification::server_state`]).
    pub state: i32,
    /// The proposed leader's sid.
    pub leader: i64,
    /// The proposed leader's last logged zxid.
    pub zxid: i64,
    /// The sender's logical clock (election round).
    pub election_epoch: i64,
    /// The proposed leader's currentEpoch.
    pub peer_epoch: i64,
    /// 2 for 3.5+ senders, 0 for legacy forms.
    pub version: i32,
    /// The sender's quorum config text (`server.N=…\nversion=…`), empty for version < 2.
    pub config: Bytes,
}

impl Notification {
    /// What 3.5+ servers put in `version`.
    pub const CURRENT_VERSION: i32 = 2;
    /// The longest message Java's election port accepts (`QuorumCnxManager.PACKETMAXSIZE`).
    pub const MAX_MESSAGE_SIZE: usize = 512 * 1024;

    /// The version-2 encoding (no length prefix).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(44 + self.config.len());
        out.extend_from_slice(&self.state.to_be_bytes());
        out.extend_from_slice(&self.leader.to_be_bytes());
        out.extend_from_slice(&self.zxid.to_be_bytes());
        out.extend_from_slice(&self.election_epoch.to_be_bytes());
        out.extend_from_slice(&self.peer_epoch.to_be_bytes());
        out.extend_from_slice(&self.version.to_be_bytes());
        let config_length = i32::try_from(self.config.len()).unwrap_or(i32::MAX);
        out.extend_from_slice(&config_length.to_be_bytes());
        out.extend_from_slice(&self.config);
        out
    }

    /// Decodes one message payload as `FastLeaderElection.WorkerReceiver` does: 28 bytes (peerEpoch
    /// taken from the zxid), 40 bytes (version 0), or ≥ 44 bytes; a version > 1 carries a config
    /// whose length must fit in what is left. Trailing bytes after the config are ignored, as Java
    /// ignores them.
    pub fn decode(input: &[u8]) -> Result<Notification, JuteError> {
        if input.len() < 28 || input.len() > Self::MAX_MESSAGE_SIZE {
            return Err(JuteError::InvalidLength(i32::try_from(input.len()).unwrap_or(i32::MAX)));
        }
        let mut reader = Reader::new(input);
        let state = reader.read_i32()?;
        let leader = reader.read_i64()?;
        let zxid = reader.read_i64()?;
        let election_epoch = reader.read_i64()?;
        if input.len() == 28 {
            let peer_epoch = zxid >> 32;
            return Ok(Notification {
                state,
                leader,
                zxid,
                election_epoch,
                peer_epoch,
                version: 0,
                config: Bytes::new(),
            });
        }
        let peer_epoch = reader.read_i64()?;
        if input.len() == 40 {
            return Ok(Notification {
                state,
                leader,
                zxid,
                election_epoch,
                peer_epoch,
                version: 0,
                config: Bytes::new(),
            });
        }
        let version = reader.read_i32()?;
        let mut config = Bytes::new();
        if version > 1 {
            let length = reader.read_i32()?;
            if length < 0 || length as usize > reader.remaining() {
                return Err(JuteError::InvalidLength(length));
            }
            config = Bytes::copy_from_slice(reader.take(length as usize)?);
        }
        Ok(Notification { state, leader, zxid, election_epoch, peer_epoch, version, config })
    }

    /// The sender's state, if Java knows the value.
    pub fn server_state(&self) -> Option<ServerState> {
        ServerState::from_i32(self.state)
    }
}

/// The first bytes a connector writes on the election port (`QuorumCnxManager.InitialMessage`):
/// `long protocolVersion` (-65536 V1, -65535 V2), `long sid`, `int length`, `length` bytes of
/// `host:port` (V2: several joined by `|`). A pre-3.5 connector sent only its sid (≥ 0).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InitialMessage {
    /// `PROTOCOL_VERSION_V1`, `PROTOCOL_VERSION_V2`, or the sid itself for a pre-3.5 peer.
    pub protocol_version: i64,
    /// The connector's server id.
    pub sid: i64,
    /// The connector's election addresses (`host:port`), empty for a pre-3.5 peer.
    pub addresses: Vec<String>,
}

impl InitialMessage {
    /// One election address.
    pub const PROTOCOL_VERSION_V1: i64 = -65536;
    /// Several election addresses joined by `|` (multiAddress).
    pub const PROTOCOL_VERSION_V2: i64 = -65535;
    /// The longest address text Java accepts (`InitialMessage.parse`: 2048).
    pub const MAX_ADDRESS_LENGTH: usize = 2048;

    /// The bytes a connector writes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.protocol_version.to_be_bytes());
        if self.protocol_version >= 0 {
            return out;
        }
        out.extend_from_slice(&self.sid.to_be_bytes());
        let text = self.addresses.join("|");
        out.extend_from_slice(&i32::try_from(text.len()).unwrap_or(i32::MAX).to_be_bytes());
        out.extend_from_slice(text.as_bytes());
        out
    }

    /// Reads a handshake from the start of `input`, returning it and the bytes it used.
    /// `Ok(None)` means more bytes are needed. Errors are what Java refuses: an unknown negative
    /// version, a length outside 1..=2048, an address without a numeric port.
    pub fn parse(input: &[u8]) -> Result<Option<(InitialMessage, usize)>, JuteError> {
        if input.len() < 8 {
            return Ok(None);
        }
        let mut reader = Reader::new(input);
        let protocol_version = reader.read_i64()?;
        if protocol_version >= 0 {
            let message = InitialMessage { protocol_version, sid: protocol_version, addresses: Vec::new() };
            return Ok(Some((message, 8)));
        }
        if protocol_version != Self::PROTOCOL_VERSION_V1 && protocol_version != Self::PROTOCOL_VERSION_V2 {
            return Err(JuteError::InvalidValue {
                what: "election protocol version",
                value: protocol_version,
            });
        }
        if input.len() < 20 {
            return Ok(None);
        }
        let sid = reader.read_i64()?;
        let length = reader.read_i32()?;
        if length <= 0 || length as usize > Self::MAX_ADDRESS_LENGTH {
            return Err(JuteError::InvalidLength(length));
        }
        if reader.remaining() < length as usize {
            return Ok(None);
        }
        let text = std::str::from_utf8(reader.take(length as usize)?).map_err(|_| JuteError::InvalidUtf8)?;
        let mut addresses = Vec::new();
        for address in text.split('|') {
            let (host, port) = address
                .rsplit_once(':')
                .ok_or(JuteError::InvalidValue { what: "election address without port", value: 0 })?;
            if host.is_empty() || port.parse::<u16>().is_err() {
                return Err(JuteError::InvalidValue { what: "election address port", value: 0 });
            }
            addresses.push(address.to_string());
        }
        Ok(Some((InitialMessage { protocol_version, sid, addresses }, 20 + length as usize)))
    }
}
