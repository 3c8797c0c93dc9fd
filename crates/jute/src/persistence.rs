//! Records of `org.apache.zookeeper.server.persistence`.

use crate::jute_record;

jute_record! {
    /// Header of a txn log (magic ZKLG) or snapshot (magic ZKSN) file.
    pub struct FileHeader {
        pub magic: i32,
        pub version: i32,
        pub dbid: i64,
    }
}

/// "ZKLG": the txn log magic.
pub const TXN_LOG_MAGIC: i32 = 0x5A4B_4C47;
/// "ZKSN": the snapshot magic.
pub const SNAPSHOT_MAGIC: i32 = 0x5A4B_534E;
