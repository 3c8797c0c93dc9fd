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
use jute::records::{Acl, StatPersisted};
use jute::{Bytes, Field, JuteError, Reader};

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
        (path.len() as i32).write(&mut out);
        out.extend_from_slice(path.as_bytes());
        node.write_data(&mut out);
        let head = node.head();
        head.acl_id.write(&mut out);
        head.stat.write(&mut out);
    }
    "/".to_string().write(&mut out);
    SIGNATURE.to_string().write(&mut out);
    out
}

/// How many bytes at the front of `input` form one whole database stream (signature included):
/// `Ok(None)` when more bytes are needed.
pub fn database_stream_length(input: &[u8]) -> Result<Option<usize>, JuteError> {
    match parse(input, None) {
        Ok(used) => Ok(Some(used)),
        Err(JuteError::Truncated { .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Loads a whole database stream into a fresh tree at `zxid`.
pub fn deserialize_database(input: &[u8], zxid: i64) -> Result<DataTree, String> {
    let mut tree = DataTree::new();
    parse(input, Some(&mut tree)).map_err(|e| e.to_string())?;
    tree.finish_load();
    tree.set_last_processed_zxid(zxid);
    Ok(tree)
}

fn parse(input: &[u8], mut tree: Option<&mut DataTree>) -> Result<usize, JuteError> {
    let mut reader = Reader::new(input);
    let sessions = reader.read_i32()?;
    if sessions < 0 {
        return Err(JuteError::InvalidLength(sessions));
    }
    let mut loaded_sessions = Vec::new();
    for _ in 0..sessions {
        let id = reader.read_i64()?;
        let timeout = reader.read_i32()?;
        loaded_sessions.push((id, timeout));
    }
    if let Some(tree) = tree.as_deref_mut() {
        for (id, timeout) in loaded_sessions {
            tree.insert_session(id, timeout);
        }
        tree.begin_load();
    }
    let acl_count = reader.read_i32()?;
    if acl_count < 0 {
        return Err(JuteError::InvalidLength(acl_count));
    }
    for _ in 0..acl_count {
        let id = reader.read_i64()?;
        let list = Vec::<Acl>::read(&mut reader)?;
        if let Some(tree) = tree.as_deref_mut() {
            tree.load_acl(id, list);
        }
    }
    loop {
        let path = String::read(&mut reader)?;
        if path == "/" {
            break;
        }
        let data = Option::<Bytes>::read(&mut reader)?;
        let acl_id = reader.read_i64()?;
        let stat = StatPersisted::read(&mut reader)?;
        if let Some(tree) = tree.as_deref_mut() {
            tree.insert_loaded_node(&path, data.as_deref(), acl_id, stat)
                .map_err(|_| JuteError::InvalidValue { what: "snapshot node without parent", value: 0 })?;
        }
    }
    let signature = String::read(&mut reader)?;
    if signature != SIGNATURE {
        return Err(JuteError::InvalidValue { what: "snapshot signature", value: 0 });
    }
    Ok(reader.position())
}

#[cfg(test)]
mod tests {
    use super::*;

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
