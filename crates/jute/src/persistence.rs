//! Records of `org.apache.zookeeper.server.persistence`.

use crate::archive::write_length;
use crate::jute_record;
use crate::records::StatPersisted;
use crate::{Field, JuteError, Reader};

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

/// The path that ends a snapshot's node list.
pub const END_OF_NODES: &str = "/";

/// One entry of a serialized data tree's node list (Java's `DataTree.serializeNode`), as a
/// snapshot file and the database a leader streams after SNAP both hold it, borrowed from the
/// input: `ustring path; buffer data; long aclId; StatPersisted stat`. The list ends with the
/// path `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotNode<'a> {
    pub path: &'a str,
    pub data: Option<&'a [u8]>,
    pub acl_id: i64,
    pub stat: StatPersisted,
}

impl<'a> SnapshotNode<'a> {
    /// The next entry; `None` at the `/` that ends the list.
    pub fn read(reader: &mut Reader<'a>) -> Result<Option<SnapshotNode<'a>>, JuteError> {
        let path = reader.read_str()?;
        if path == END_OF_NODES {
            return Ok(None);
        }
        let data = match reader.read_length(1)? {
            None => None,
            Some(length) => Some(reader.take(length)?),
        };
        let acl_id = reader.read_i64()?;
        let stat = StatPersisted::read(reader)?;
        Ok(Some(SnapshotNode { path, data, acl_id, stat }))
    }

    /// Appends the path "/" that ends the list (and ends each seal after it) to `out`.
    pub fn write_end(out: &mut Vec<u8>) {
        write_length(out, END_OF_NODES.len());
        out.extend_from_slice(END_OF_NODES.as_bytes());
    }

    /// Appends the entry to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        write_length(out, self.path.len());
        out.extend_from_slice(self.path.as_bytes());
        match self.data {
            None => (-1i32).write(out),
            Some(data) => {
                write_length(out, data.len());
                out.extend_from_slice(data);
            }
        }
        self.acl_id.write(out);
        self.stat.write(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_entry_round_trips_and_the_end_marker_reads_as_none() {
        let stat = StatPersisted {
            czxid: 1,
            mzxid: 2,
            ctime: 3,
            mtime: 4,
            version: 5,
            cversion: 6,
            aversion: 7,
            ephemeral_owner: 8,
            pzxid: 9,
        };
        let mut out = Vec::new();
        for data in [None, Some(&b""[..]), Some(&b"value"[..])] {
            SnapshotNode { path: "/a/b", data, acl_id: 3, stat: stat.clone() }.write(&mut out);
        }
        "/".to_string().write(&mut out);
        let mut reader = Reader::new(&out);
        for data in [None, Some(&b""[..]), Some(&b"value"[..])] {
            let entry = SnapshotNode::read(&mut reader).unwrap().unwrap();
            assert_eq!(entry, SnapshotNode { path: "/a/b", data, acl_id: 3, stat: stat.clone() });
        }
        assert_eq!(SnapshotNode::read(&mut reader).unwrap(), None);
        assert_eq!(reader.remaining(), 0);
    }
}
