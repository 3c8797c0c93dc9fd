//! Files written by Apache ZooKeeper 3.8.0 (Debian's package), read back, and our encoding of
//! the same records compared byte for byte. `tests/data/java-3.8.0/version-2` holds that server's
//! data dir (log.1 cut to 8 KiB: the rest of its 64 MiB was preallocated zeros), next to Java's
//! own TxnLogToolkit / SnapshotFormatter renderings.

use std::path::{Path, PathBuf};
use wal::recovery::{recover, RecoveryOptions};
use wal::snapshot::{read_snapshot, write_snapshot};
use wal::txnlog::{encode_entry, encode_payload, scan_log, LogEnd};

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/java-3.8.0/version-2")
}

fn copy_golden() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(golden()).unwrap() {
        let entry = entry.unwrap();
        let target = dir.path().join(entry.file_name());
        std::fs::copy(entry.path(), &target).unwrap();
        let mut permissions = std::fs::metadata(&target).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        permissions.set_readonly(false);
        std::fs::set_permissions(&target, permissions).unwrap();
    }
    dir
}

#[test]
fn java_log_reads_back_and_reencodes_byte_for_byte() {
    let path = golden().join("log.1");
    let bytes = std::fs::read(&path).unwrap();
    let (entries, end) = scan_log(&path).unwrap();
    assert_eq!(entries.len(), 57, "TxnLogToolkit: EOF reached after 57 txns");
    for (i, entry) in entries.iter().enumerate() {
        assert_eq!(entry.header.zxid, i as i64 + 1);
        // 3.8 appends a TxnDigest to every txn but error txns.
        assert_eq!(entry.digest.is_some(), entry.header.r#type != -1, "zxid {:#x}", entry.header.zxid);
    }
    // Our encoding of each decoded entry is exactly the bytes Java wrote.
    let mut ours = bytes[..16].to_vec();
    for entry in &entries {
        encode_entry(&encode_payload(&entry.header, &entry.body, entry.digest.as_ref()), &mut ours);
    }
    assert_eq!(end, LogEnd::Clean { offset: ours.len() as u64 });
    assert_eq!(&bytes[..ours.len()], &ours[..]);
    assert!(bytes[ours.len()..].iter().all(|&b| b == 0));
}

#[test]
fn java_snapshot_reads_back_with_matching_digest() {
    let loaded = read_snapshot(&golden().join("snapshot.39")).unwrap();
    assert_eq!(loaded.zxid, 0x39);
    let digest = loaded.digest.expect("3.8 writes a ZxidDigest");
    assert_eq!(digest.zxid, 0x39);
    assert_eq!(digest.digest, loaded.tree.digest(), "our tree digest is Java's");
    loaded.tree.check_invariants().unwrap();
    // SnapshotFormatter: "ZNode Details (count=10)" counts the root twice (its "" alias).
    assert_eq!(loaded.tree.node_count(), 10);
    assert_eq!(loaded.tree.session_count(), 25);
    let ttl = loaded.tree.get_node("/ttl").unwrap();
    assert_eq!(ttl.stat().ephemeral_owner, 0xFF00_0000_0000_2710u64 as i64);
    let null = loaded.tree.get_node("/null").unwrap();
    assert_eq!(null.data(), None, "null data stays null");
}

#[test]
fn replaying_java_log_over_java_snapshot_0_gives_java_snapshot_39() {
    let dir = copy_golden();
    std::fs::remove_file(dir.path().join("snapshot.39")).unwrap();
    let replayed = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
    assert_eq!(replayed.last_zxid, 0x39);
    assert_eq!(replayed.txns_replayed, 57);
    // Every TxnDigest Java logged is the digest our tree has after replaying that txn.
    assert_eq!(replayed.digest_mismatches, 0);
    let expected = read_snapshot(&golden().join("snapshot.39")).unwrap().tree;
    let nodes = |tree: &datatree::DataTree| {
        tree.nodes_depth_first()
            .map(|(path, node)| {
                (path, node.data().map(<[u8]>::to_vec), tree.node_acl(node).to_vec(), node.stat())
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(nodes(&replayed.tree), nodes(&expected));
    assert_eq!(replayed.tree.digest(), expected.digest());
    assert_eq!(replayed.tree.sessions().collect::<Vec<_>>(), expected.sessions().collect::<Vec<_>>());
}

#[test]
fn our_snapshot_of_java_tree_reads_back_identical() {
    let loaded = read_snapshot(&golden().join("snapshot.39")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let written = write_snapshot(&loaded.tree.snapshot_view(), dir.path(), true, true).unwrap();
    assert_eq!(written.path.file_name().unwrap(), "snapshot.39");
    let ours = std::fs::read(&written.path).unwrap();
    let java = std::fs::read(golden().join("snapshot.39")).unwrap();
    // Same length; same bytes but for the order Java's HashMap gave the sessions (and thus
    // the seals).
    assert_eq!(ours.len(), java.len());
    let again = read_snapshot(&written.path).unwrap();
    assert_eq!(again.tree.digest(), loaded.tree.digest());
    assert_eq!(again.digest, loaded.digest);
    // Java writes children in HashSet order, we in name order: same records, other order.
    let nodes = |tree: &datatree::DataTree| {
        let mut nodes: Vec<_> = tree
            .nodes_depth_first()
            .map(|(p, n)| (p, n.data().map(<[u8]>::to_vec), n.acl_id(), n.stat()))
            .collect();
        nodes.sort_by(|a, b| a.0.cmp(&b.0));
        nodes
    };
    assert_eq!(nodes(&again.tree), nodes(&loaded.tree));
}
