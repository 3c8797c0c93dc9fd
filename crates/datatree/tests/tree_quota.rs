//! Quota usage tracking: the tree rewrites `/zookeeper/quota<P>/zookeeper_stats` as nodes under
//! P change (Java's DataTree: updateQuotaForPath / updateQuotaStat / setupQuota).

mod tree_support;

use datatree::tree::quota::StatsTrack;
use datatree::DataTree;
use jute::txn::{CreateTxn, TxnBody};
use tree_support::*;

fn create_with(path: &str, text: &str) -> TxnBody {
    TxnBody::Create(CreateTxn { data: data(text), ..create_txn(path, -1) })
}

fn stats(tree: &DataTree, path: &str) -> String {
    let node = tree.get_node(&format!("/zookeeper/quota{path}/zookeeper_stats")).unwrap();
    String::from_utf8(node.data().unwrap().to_vec()).unwrap()
}

/// /a ("x") with /a/b ("xy"), then what zkCli's setquota creates for /a.
fn quota_on_a() -> DataTree {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, create_with("/a", "x"));
    apply(&mut tree, 2, create_with("/a/b", "xy"));
    apply(&mut tree, 3, create_with("/zookeeper/quota/a", ""));
    apply(&mut tree, 4, create_with("/zookeeper/quota/a/zookeeper_limits", "count=10,bytes=-1"));
    apply(&mut tree, 5, create_with("/zookeeper/quota/a/zookeeper_stats", "count=0,bytes=0"));
    tree
}

#[test]
fn creating_the_stats_node_counts_the_subtree_into_it() {
    let tree = quota_on_a();
    assert_eq!(stats(&tree, "/a"), "count=2,bytes=3");
    assert_eq!(tree.quota_prefix("/a/b/c").as_deref(), Some("/a"));
    assert_eq!(tree.quota_prefix("/ab"), None);
    // The rewrite keeps the stats node's stat and is not counted in the cached data size.
    let node = tree.get_node("/zookeeper/quota/a/zookeeper_stats").unwrap();
    assert_eq!((node.stat().version, node.stat().mzxid), (0, 5));
    tree.check_invariants().unwrap();
}

#[test]
fn creates_set_data_and_deletes_under_the_quota_are_charged() {
    let mut tree = quota_on_a();
    apply(&mut tree, 6, create_with("/a/c", "x"));
    assert_eq!(stats(&tree, "/a"), "count=3,bytes=4");
    apply(&mut tree, 7, set_data("/a/c", data("hello"), 1));
    assert_eq!(stats(&tree, "/a"), "count=3,bytes=8");
    apply(&mut tree, 8, delete("/a/b"));
    assert_eq!(stats(&tree, "/a"), "count=2,bytes=6");
    apply(&mut tree, 9, create_with("/b", "zzz"));
    assert_eq!(stats(&tree, "/a"), "count=2,bytes=6", "outside the quota");
    tree.check_invariants().unwrap();
}

#[test]
fn deleting_the_limits_node_ends_the_tracking() {
    let mut tree = quota_on_a();
    apply(&mut tree, 6, delete("/zookeeper/quota/a/zookeeper_limits"));
    assert_eq!(tree.quota_prefix("/a/b"), None);
    apply(&mut tree, 7, create_with("/a/c", "x"));
    assert_eq!(stats(&tree, "/a"), "count=2,bytes=3");
}

#[test]
fn the_deepest_quota_is_charged_only() {
    let mut tree = quota_on_a();
    apply(&mut tree, 6, create_with("/zookeeper/quota/a/b", ""));
    apply(&mut tree, 7, create_with("/zookeeper/quota/a/b/zookeeper_limits", "count=5,bytes=-1"));
    apply(&mut tree, 8, create_with("/zookeeper/quota/a/b/zookeeper_stats", ""));
    assert_eq!(stats(&tree, "/a/b"), "count=1,bytes=2");
    apply(&mut tree, 9, create_with("/a/b/x", "1"));
    assert_eq!(stats(&tree, "/a/b"), "count=2,bytes=3");
    assert_eq!(stats(&tree, "/a"), "count=2,bytes=3", "not charged twice");
}

#[test]
fn loading_a_snapshot_recounts_every_quota() {
    let mut tree = quota_on_a();
    // Make the stored stats stale, as a fuzzy snapshot might hold them.
    apply(&mut tree, 6, set_data("/zookeeper/quota/a/zookeeper_stats", data("count=99,bytes=99"), 1));
    let mut loaded = DataTree::new();
    loaded.begin_load();
    for (id, acl) in tree.acl_cache().entries() {
        loaded.load_acl(id, acl.to_vec());
    }
    for (path, node) in tree.nodes_depth_first() {
        loaded.insert_loaded_node(&path, node.data(), node.acl_id(), node.stat()).unwrap();
    }
    loaded.finish_load();
    assert_eq!(stats(&loaded, "/a"), "count=2,bytes=3");
    assert_eq!(loaded.quota_prefix("/a/b").as_deref(), Some("/a"));
    loaded.check_invariants().unwrap();
}

#[test]
fn limits_with_hard_limits_parse_for_prep() {
    let limits = StatsTrack::parse(b"count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2").unwrap();
    assert_eq!((limits.count(), limits.count_hard_limit()), (-1, 2));
}
