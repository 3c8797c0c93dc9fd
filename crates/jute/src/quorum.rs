//! Records of `org.apache.zookeeper.server.quorum`: the quorum-port packets.

use crate::jute_record;
use crate::records::Id;
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
