//! The database a leader streams after SNAP (`ZKDatabase.serializeSnapshot` + the signature):
//!
//! ```text
//! int count; count × { long sessionId; int timeoutMs }
//! int count; count × { long aclId; vector<ACL> }
//! { ustring path; buffer data; long aclId; StatPersisted }* each after its parent, root as ""
//! ustring "/"
//! ustring "BenWasHere"
//! ```
//! No file header and no checksums (the snapshot file format adds those).

use datatree::tree::snapshot::SnapshotView;
use datatree::DataTree;
use jute::persistence::SnapshotNode;
use jute::records::Acl;
use jute::{Field, JuteError, Reader};

/// The signature Java writes after the database.
pub const SIGNATURE: &str = "BenWasHere";

/// The stream Java's `LearnerHandler` writes after a SNAP packet.
pub fn serialize_database(tree: &DataTree) -> Vec<u8> {
    serialize_view(&tree.snapshot_view())
}

/// [`serialize_database`] of a frozen view of the tree (what the leader hands to a helper
/// thread).
pub fn serialize_view(view: &SnapshotView) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    (view.sessions().len() as i32).write(&mut out);
    for &(id, timeout) in view.sessions() {
        id.write(&mut out);
        timeout.write(&mut out);
    }
    (view.acl_entries().len() as i32).write(&mut out);
    for (id, list) in view.acl_entries() {
        id.write(&mut out);
        list.write(&mut out);
    }
    // Path order straight from the map, as snapshot files are written: every parent before its
    // children is all a loader needs (Java's own stream has children in hash order), without
    // the depth-first walk's per-node lookup, sort and path.
    for (path, node) in view.nodes_parent_first() {
        let head = node.head();
        SnapshotNode { path, data: node.data(), acl_id: head.acl_id, stat: head.stat }.write(&mut out);
    }
    SnapshotNode::write_end(&mut out);
    SIGNATURE.to_string().write(&mut out);
    out
}

/// How many bytes at the front of `input` form one whole database stream (signature included):
/// `Ok(None)` when more bytes are needed.
pub fn database_stream_length(input: &[u8]) -> Result<Option<usize>, JuteError> {
    DatabaseStreamScan::default().advance(input)
}

/// Finds the end of a database stream while its bytes arrive. The stream has no length in
/// front, so its items are read to find it; the scan keeps where the last whole item ended and
/// what comes next, so each byte is read once however the stream is cut into reads (reading
/// from the start at every read took time quadratic in the stream: a 200 MB database arrives in
/// thousands of reads).
#[derive(Debug, Default)]
pub struct DatabaseStreamScan {
    /// Where the next item starts.
    at: usize,
    next: StreamItem,
}

/// The next item of a database stream.
#[derive(Debug, Default, Clone, Copy)]
enum StreamItem {
    #[default]
    SessionCount,
    Session {
        left: i32,
    },
    Acl {
        left: i32,
    },
    Node,
    Signature,
}

impl DatabaseStreamScan {
    /// `input` is the stream's bytes so far, from its start (the same bytes as before, and
    /// more): `Ok(Some(length))` once they hold the whole stream, `Ok(None)` while they do not.
    pub fn advance(&mut self, input: &[u8]) -> Result<Option<usize>, JuteError> {
        loop {
            let mut reader = Reader::new(input.get(self.at..).unwrap_or_default());
            match self.read_item(&mut reader) {
                Ok(done) => {
                    self.at += reader.position();
                    if done {
                        return Ok(Some(self.at));
                    }
                }
                Err(JuteError::Truncated { .. }) => return Ok(None),
                Err(error) => return Err(error),
            }
        }
    }

    /// Reads one whole item and moves to the next (left as it was when the item is cut off);
    /// true after the signature.
    fn read_item(&mut self, reader: &mut Reader<'_>) -> Result<bool, JuteError> {
        let count = |reader: &mut Reader<'_>| match reader.read_i32()? {
            count if count < 0 => Err(JuteError::InvalidLength(count)),
            count => Ok(count),
        };
        self.next = match self.next {
            StreamItem::SessionCount => StreamItem::Session { left: count(reader)? },
            StreamItem::Session { left: 0 } => StreamItem::Acl { left: count(reader)? },
            StreamItem::Session { left } => {
                reader.read_i64()?;
                reader.read_i32()?;
                StreamItem::Session { left: left - 1 }
            }
            StreamItem::Acl { left: 0 } => StreamItem::Node,
            StreamItem::Acl { left } => {
                reader.read_i64()?;
                Vec::<Acl>::read(reader)?;
                StreamItem::Acl { left: left - 1 }
            }
            StreamItem::Node => match SnapshotNode::read(reader)? {
                None => StreamItem::Signature,
                Some(_) => StreamItem::Node,
            },
            StreamItem::Signature => {
                if reader.read_str()? != SIGNATURE {
                    return Err(JuteError::InvalidValue { what: "snapshot signature", value: 0 });
                }
                return Ok(true);
            }
        };
        Ok(false)
    }
}

/// Loads a whole database stream into a fresh tree at `zxid`.
pub fn deserialize_database(input: &[u8], zxid: i64) -> Result<DataTree, String> {
    let mut tree = DataTree::new();
    load(input, &mut tree).map_err(|e| e.to_string())?;
    tree.finish_load();
    tree.set_last_processed_zxid(zxid);
    Ok(tree)
}

fn load(input: &[u8], tree: &mut DataTree) -> Result<(), JuteError> {
    let mut reader = Reader::new(input);
    let sessions = reader.read_i32()?;
    if sessions < 0 {
        return Err(JuteError::InvalidLength(sessions));
    }
    for _ in 0..sessions {
        let id = reader.read_i64()?;
        let timeout = reader.read_i32()?;
        tree.insert_session(id, timeout);
    }
    tree.begin_load();
    let acl_count = reader.read_i32()?;
    if acl_count < 0 {
        return Err(JuteError::InvalidLength(acl_count));
    }
    for _ in 0..acl_count {
        let id = reader.read_i64()?;
        let list = Vec::<Acl>::read(&mut reader)?;
        tree.load_acl(id, list);
    }
    while let Some(node) = SnapshotNode::read(&mut reader)? {
        tree.insert_loaded_node(node.path, node.data, node.acl_id, node.stat)
            .map_err(|_| JuteError::InvalidValue { what: "snapshot node without parent", value: 0 })?;
    }
    let signature = reader.read_str()?;
    if signature != SIGNATURE {
        return Err(JuteError::InvalidValue { what: "snapshot signature", value: 0 });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jute::Bytes;

    #[test]
    fn a_database_stream_round_trips_and_its_end_is_found() {
        let tree = DataTree::new();
        let bytes = serialize_database(&tree);
        assert_eq!(database_stream_length(&bytes).unwrap(), Some(bytes.len()));
        assert_eq!(database_stream_length(&bytes[..bytes.len() - 1]).unwrap(), None);
        let loaded = deserialize_database(&bytes, 7).unwrap();
        assert_eq!(loaded.node_count(), tree.node_count());
        assert_eq!(loaded.last_processed_zxid(), 7);
    }

    /// A tree with sessions, ACL lists, null and non-null data, every node's stream record cut
    /// somewhere by the tests below.
    fn sample_stream() -> Vec<u8> {
        use jute::consts::op;
        use jute::txn::{CreateSessionTxn, CreateTxn, TxnBody, TxnHeader};
        let mut tree = DataTree::new();
        for session in [0x11, 0x22] {
            let header =
                TxnHeader { client_id: session, cxid: 0, zxid: session, time: 5, r#type: op::CREATE_SESSION };
            tree.apply(&header, &TxnBody::CreateSession(CreateSessionTxn { time_out: 30_000 }));
        }
        for i in 0..40i64 {
            let header = TxnHeader { client_id: 0x11, cxid: 1, zxid: 0x100 + i, time: 5, r#type: op::CREATE };
            let acl = if i % 3 == 0 {
                vec![jute::records::Acl::new(1, "world", "anyone")]
            } else {
                datatree::acl::open_acl_unsafe().to_vec()
            };
            let body = TxnBody::Create(CreateTxn {
                path: format!("/n{i}"),
                data: (i % 4 != 0).then(|| Bytes::from(vec![b'x'; i as usize * 7])),
                acl,
                ephemeral: i % 5 == 0,
                parent_c_version: -1,
            });
            tree.apply(&header, &body);
        }
        serialize_database(&tree)
    }

    #[test]
    fn a_stream_arriving_in_pieces_ends_where_a_whole_read_says() {
        let stream = sample_stream();
        let whole = database_stream_length(&stream).unwrap();
        assert_eq!(whole, Some(stream.len()));
        // Whatever follows the stream (the next packets) is not part of it.
        let mut followed = stream.clone();
        followed.extend_from_slice(b"\0\0\0\x10next packet");
        for piece in [1, 2, 3, 5, 7, 64, 1000] {
            let mut scan = DatabaseStreamScan::default();
            let mut found = None;
            for end in (piece..followed.len() + piece).step_by(piece) {
                let arrived = &followed[..end.min(followed.len())];
                if let Some(length) = scan.advance(arrived).unwrap() {
                    found = Some((length, arrived.len()));
                    break;
                }
                assert!(
                    arrived.len() < stream.len(),
                    "piece {piece}: not found with {} bytes",
                    arrived.len()
                );
                // It keeps its place: the bytes it will read again are at most one item's.
                assert!(scan.at <= arrived.len() && arrived.len() - scan.at < 400, "piece {piece}");
            }
            let (length, arrived) = found.unwrap();
            assert_eq!(length, stream.len(), "piece {piece}");
            assert!(arrived >= stream.len() && arrived < stream.len() + piece, "piece {piece}");
        }
    }

    #[test]
    fn a_bad_stream_is_refused_wherever_the_reads_cut_it() {
        let stream = sample_stream();
        let mut bad_signature = stream.clone();
        let last = bad_signature.len() - 1;
        bad_signature[last] ^= 1;
        let mut negative_count = stream.clone();
        negative_count[0] = 0xFF;
        for bad in [bad_signature, negative_count] {
            assert!(database_stream_length(&bad).is_err());
            let mut scan = DatabaseStreamScan::default();
            let refused = (1..=bad.len()).find_map(|end| scan.advance(&bad[..end]).err());
            assert!(refused.is_some());
        }
    }

    #[test]
    fn a_tree_whose_names_sort_around_the_slash_streams_parents_first_and_loads_whole() {
        use jute::consts::op;
        use jute::txn::{CreateTxn, TxnBody, TxnHeader};
        let mut tree = DataTree::new();
        // "/a-b" sorts between "/a" and "/a/b" ('-' < '/'); "/a0" after "/a/b/c".
        for (zxid, path) in [(1, "/a"), (2, "/a-b"), (3, "/a/b"), (4, "/a0"), (5, "/a/b/c"), (6, "/a-b/d")] {
            let header = TxnHeader { client_id: 1, cxid: 1, zxid, time: 5, r#type: op::CREATE };
            let body = TxnBody::Create(CreateTxn {
                path: path.into(),
                data: Some(Bytes::copy_from_slice(path.as_bytes())),
                acl: datatree::acl::open_acl_unsafe().to_vec(),
                ephemeral: false,
                parent_c_version: -1,
            });
            tree.apply(&header, &body);
        }
        let bytes = serialize_database(&tree);
        let loaded = deserialize_database(&bytes, 6).unwrap();
        assert_eq!(loaded.node_count(), tree.node_count());
        assert_eq!(loaded.digest(), tree.digest());
        let children = |t: &DataTree, path: &str| -> Vec<String> {
            assert_eq!(t.get_node(path).unwrap().child_count() as usize, t.children(path).count());
            t.children(path).map(str::to_owned).collect()
        };
        for path in ["/", "/a", "/a-b", "/a/b"] {
            assert_eq!(children(&loaded, path), children(&tree, path), "children of {path}");
        }
    }
}
