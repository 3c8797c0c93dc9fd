//! Walking the tree for a snapshot and loading one back (Java's DataTree.serialize /
//! deserialize order and ACL-cache rules).

mod tree_support;

use datatree::DataTree;
use jute::records::Acl;
use jute::txn::{CreateTxn, TxnBody};
use tree_support::*;

fn sample() -> DataTree {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, create("/b"));
    apply(&mut tree, 2, create("/a"));
    apply(&mut tree, 3, create("/a/y"));
    apply(&mut tree, 4, create("/a/x"));
    apply(&mut tree, 5, ephemeral("/a/x/e"));
    apply(&mut tree, 6, container("/c"));
    apply(&mut tree, 7, ttl("/t", 1000));
    let digest = vec![Acl::new(31, "digest", "u:h")];
    apply(&mut tree, 8, TxnBody::Create(CreateTxn { acl: digest, ..create_txn("/d", -1) }));
    apply(&mut tree, 9, set_data("/", data("root"), 1));
    apply(&mut tree, 10, create_session(4000));
    tree
}

#[test]
fn depth_first_puts_parents_first_and_the_root_as_the_empty_path() {
    let tree = sample();
    let paths: Vec<String> = tree.nodes_depth_first().map(|(path, _)| path).collect();
    assert_eq!(
        paths,
        [
            "",
            "/a",
            "/a/x",
            "/a/x/e",
            "/a/y",
            "/b",
            "/c",
            "/d",
            "/t",
            "/zookeeper",
            "/zookeeper/config",
            "/zookeeper/quota"
        ]
    );
}

fn reload(tree: &DataTree) -> DataTree {
    let mut loaded = DataTree::new();
    loaded.begin_load();
    for (id, acl) in tree.acl_cache().entries() {
        loaded.load_acl(id, acl.to_vec());
    }
    for (path, node) in tree.nodes_depth_first() {
        loaded.insert_loaded_node(&path, node.data(), node.acl_id(), node.stat()).unwrap();
    }
    for (session, timeout) in tree.sessions() {
        loaded.insert_session(session, timeout);
    }
    loaded.finish_load();
    loaded.set_last_processed_zxid(tree.last_processed_zxid());
    loaded
}

#[test]
fn a_snapshot_in_parent_first_order_loads_the_same_tree() {
    let mut tree = sample();
    apply(&mut tree, 11, create("/a-z"));
    apply(&mut tree, 12, create("/a/x-1"));
    let view = tree.snapshot_view();
    let mut loaded = DataTree::new();
    loaded.begin_load();
    for (id, acl) in view.acl_entries() {
        loaded.load_acl(*id, acl.clone());
    }
    for (path, node) in view.nodes_parent_first() {
        loaded.insert_loaded_node(path, node.data(), node.acl_id(), node.stat()).unwrap();
    }
    for &(session, timeout) in view.sessions() {
        loaded.insert_session(session, timeout);
    }
    loaded.finish_load();
    loaded.check_invariants().unwrap();
    let before: Vec<_> = tree.nodes_depth_first().map(|(p, n)| (p, n.clone())).collect();
    let after: Vec<_> = loaded.nodes_depth_first().map(|(p, n)| (p, n.clone())).collect();
    assert_eq!(before, after);
    assert_eq!(loaded.digest(), tree.digest());
}

#[test]
fn a_loaded_snapshot_is_the_same_tree() {
    let tree = sample();
    let loaded = reload(&tree);
    loaded.check_invariants().unwrap();
    let before: Vec<_> = tree.nodes_depth_first().map(|(p, n)| (p, n.clone())).collect();
    let after: Vec<_> = loaded.nodes_depth_first().map(|(p, n)| (p, n.clone())).collect();
    assert_eq!(before, after);
    assert_eq!(loaded.ephemerals_of(SESSION), ["/a/x/e"]);
    assert_eq!(loaded.session_timeout(SESSION), Some(4000));
    assert_eq!(loaded.node_count(), tree.node_count());
    assert_eq!(loaded.acl_cache().entries(), tree.acl_cache().entries());
    assert_eq!(loaded.last_processed_zxid(), 10);
    // Deleting on the loaded tree updates the kind registries it rebuilt.
    let mut loaded = loaded;
    apply(&mut loaded, 11, delete("/c"));
    apply(&mut loaded, 12, delete("/t"));
    assert!(loaded.ttl_expired(i64::MAX).is_empty());
    loaded.check_invariants().unwrap();
}

#[test]
fn loading_recounts_the_data_size_with_javas_root_alias() {
    let tree = sample();
    let loaded = reload(&tree);
    // The live tree counted the root's 4 data bytes once when they were set; a recount (Java's
    // approximateDataSize over a map that also holds the root as "") counts them twice.
    assert_eq!(loaded.approximate_data_size(), tree.approximate_data_size() + 4);
}

#[test]
fn loading_purges_unused_acls_and_keeps_the_id_counter() {
    let mut loaded = DataTree::new();
    loaded.begin_load();
    loaded.load_acl(1, vec![Acl::new(1, "world", "anyone")]);
    loaded.load_acl(7, vec![Acl::new(31, "digest", "unused:h")]);
    let stat = jute::records::StatPersisted::default();
    loaded.insert_loaded_node("", None, -1, stat.clone()).unwrap();
    loaded.insert_loaded_node("/x", None, 1, stat.clone()).unwrap();
    assert!(loaded.insert_loaded_node("/no/parent", None, -1, stat).is_err());
    loaded.finish_load();
    assert_eq!(loaded.acl_cache().len(), 1);
    apply(&mut loaded, 1, create("/y"));
    assert_eq!(loaded.get_node("/y").unwrap().acl_id(), 8, "ids continue after the largest loaded");
}

#[test]
fn a_path_listed_twice_counts_its_later_copy_once() {
    let stat = jute::records::StatPersisted::default();
    for first_out_of_order in [false, true] {
        let mut loaded = DataTree::new();
        loaded.begin_load();
        loaded.insert_loaded_node("", Some(b"r"), -1, stat.clone()).unwrap();
        if first_out_of_order {
            // A node out of path order first: the rest of the load goes through the map.
            loaded.insert_loaded_node("/z", None, -1, stat.clone()).unwrap();
        }
        loaded.insert_loaded_node("/a", Some(b"xx"), -1, stat.clone()).unwrap();
        loaded.insert_loaded_node("/a", Some(b"yyyyy"), -1, stat.clone()).unwrap();
        loaded.finish_load();
        loaded.check_invariants().unwrap();
        assert_eq!(loaded.get_node("/a").unwrap().data(), Some(&b"yyyyy"[..]));
        // "/" and "" with their data, "/a" with the later data, "/z" when loaded.
        let z = if first_out_of_order { 2 } else { 0 };
        assert_eq!(loaded.approximate_data_size(), (1 + 1) + 1 + (2 + 5) + z);
    }
}
