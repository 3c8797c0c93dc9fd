//! A large snapshot is read by two threads (wal::snapshot::load_nodes): the second builds the
//! nodes of the file's second half. Whatever the file holds, the result must be exactly the
//! single thread's: the same tree, or the same error at the same offset.

use bytes::Bytes;
use datatree::DataTree;
use jute::consts::op;
use jute::records::{Acl, Id};
use jute::txn::{CreateSessionTxn, CreateTxn, TxnBody, TxnHeader};
use std::path::{Path, PathBuf};
use wal::snapshot::{read_snapshot_with, write_snapshot, LoadedSnapshot};

const ONE_THREAD: usize = usize::MAX;
const TWO_THREADS: usize = 0;

fn header(zxid: i64, txn_type: i32) -> TxnHeader {
    TxnHeader { client_id: 0x42, cxid: zxid as i32, zxid, time: 1_700_000_000_000 + zxid, r#type: txn_type }
}

/// Three levels under names that sort before and after `/` ("-", "." and letters), data of
/// every length from none to 300 bytes, a few ACLs, an ephemeral every ninth leaf.
fn sample_tree(leaves: usize) -> DataTree {
    let mut tree = DataTree::new();
    let mut zxid = 1;
    tree.apply(
        &header(zxid, op::CREATE_SESSION),
        &TxnBody::CreateSession(CreateSessionTxn { time_out: 30_000 }),
    );
    let acls = [
        vec![Acl::new(31, "world", "anyone")],
        vec![Acl::new(1, "world", "anyone")],
        vec![Acl { perms: 31, id: Id { scheme: "digest".into(), id: "u:hash".into() } }],
    ];
    let mut create = |tree: &mut DataTree, path: String, i: usize, ephemeral: bool| {
        if tree.get_node(&path).is_some() {
            return;
        }
        zxid += 1;
        let parent = &path[..path.rfind('/').unwrap_or(0)];
        let parent_c_version = tree.get_node(parent).map_or(0, |n| n.stat().cversion) + 1;
        let data = (i % 13 != 0).then(|| Bytes::from(vec![b'a' + (i % 26) as u8; i % 301]));
        let body = TxnBody::Create(CreateTxn {
            path,
            data,
            acl: acls[i % acls.len()].clone(),
            ephemeral,
            parent_c_version,
        });
        tree.apply(&header(zxid, op::CREATE), &body);
    };
    let top = ["/a", "/a-b", "/a.c", "/b"];
    for i in 0..leaves {
        let first = top[i % top.len()].to_string();
        let second = format!("{first}/{}{}", ["m", "m-", "m."][i % 3], i % 29);
        create(&mut tree, first.clone(), i, false);
        create(&mut tree, second.clone(), i, false);
        create(&mut tree, format!("{second}/leaf{i}"), i, i % 9 == 0);
    }
    tree
}

fn snapshot_of(tree: &DataTree, dir: &Path) -> PathBuf {
    write_snapshot(&tree.snapshot_view(), dir, true, true).unwrap().path
}

/// Every node with what a client or a snapshot sees of it, plus the tree's totals.
fn contents(tree: &DataTree) -> impl PartialEq + std::fmt::Debug {
    let nodes = tree
        .nodes_depth_first()
        .map(|(path, node)| {
            (path.to_owned(), node.data().map(<[u8]>::to_vec), node.client_stat(), node.acl_id())
        })
        .collect::<Vec<_>>();
    (nodes, tree.digest(), tree.ephemerals_of(0x42), tree.sessions().collect::<Vec<_>>())
}

fn assert_same(one: &LoadedSnapshot, two: &LoadedSnapshot) {
    assert_eq!(contents(&one.tree), contents(&two.tree));
    assert_eq!((one.zxid, one.nodes, &one.digest), (two.zxid, two.nodes, &two.digest));
    two.tree.check_invariants().unwrap();
}

#[test]
fn two_threads_read_the_same_tree_as_one() {
    let tree = sample_tree(20_000);
    let dir = tempfile::tempdir().unwrap();
    let path = snapshot_of(&tree, dir.path());
    let one = read_snapshot_with(&path, ONE_THREAD).unwrap();
    let two = read_snapshot_with(&path, TWO_THREADS).unwrap();
    assert_same(&one, &two);
    // And both are the tree that was written.
    assert_eq!(contents(&two.tree), contents(&tree));
    assert!(two.tree.ephemerals_count() > 2_000, "{}", two.tree.ephemerals_count());
}

#[test]
fn two_threads_read_javas_snapshot_as_one() {
    // Java lists children in hash order, not by name: the load leaves its sorted fast path.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/java-3.8.0/version-2/snapshot.39");
    let one = read_snapshot_with(&path, ONE_THREAD).unwrap();
    let two = read_snapshot_with(&path, TWO_THREADS).unwrap();
    assert_same(&one, &two);
}

#[test]
fn a_damaged_snapshot_gives_two_threads_the_one_threads_error() {
    let tree = sample_tree(150);
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(snapshot_of(&tree, dir.path())).unwrap();
    let damaged = dir.path().join("snapshot.99999");
    let outcome = |threshold| {
        read_snapshot_with(&damaged, threshold).map(|loaded| format!("{:?}", contents(&loaded.tree)))
    };
    let compare = |bytes: &[u8], what: &str| {
        std::fs::write(&damaged, bytes).unwrap();
        let (one, two) = (outcome(ONE_THREAD), outcome(TWO_THREADS));
        match (&one, &two) {
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{what}"),
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{what}"),
            _ => panic!("{what}: one thread {one:?}, two threads {two:?}"),
        }
        one.is_err()
    };
    let mut errors = 0;
    // Each byte changed in turn, every 37th one over the whole file: lengths that run off the
    // end, paths that are not UTF-8 or have no parent, checksums that no longer match.
    for at in (0..good.len()).step_by(37) {
        for change in [0xff, 0x80] {
            let mut bytes = good.clone();
            bytes[at] ^= change;
            errors += usize::from(compare(&bytes, &format!("byte {at} ^ {change:#x}")));
        }
    }
    // Cut short anywhere.
    for len in (0..good.len()).step_by(53) {
        errors += usize::from(compare(&good[..len], &format!("cut at {len}")));
    }
    // A node whose parent is missing, in the second half: the byte that makes "/a" of every
    // path under it read "/q" fails the insert, not the parse.
    let half = good.len() / 2;
    let at = half + good[half..].windows(3).position(|w| w == b"/a/").unwrap();
    let mut bytes = good.clone();
    bytes[at + 1] = b'q';
    assert!(compare(&bytes, "a missing parent"));
    assert!(outcome(TWO_THREADS).unwrap_err().to_string().contains("no parent"));
    assert!(errors > 100, "{errors} errors: the damage should mostly be found");
}
