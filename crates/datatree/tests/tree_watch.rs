//! Watch registration, delivery and removal (protocol reference §6).

mod tree_support;

use datatree::acl::AuthInfo;
use datatree::read;
use datatree::{DataTree, WatchSummary};
use jute::consts::watcher_type;
use tree_support::*;

fn anyone() -> AuthInfo {
    AuthInfo::default()
}

fn tree_with(paths: &[&str]) -> DataTree {
    let mut tree = DataTree::new();
    for (i, path) in paths.iter().enumerate() {
        apply(&mut tree, i as i64 + 1, create(path));
    }
    tree
}

#[test]
fn a_get_data_watch_fires_once_then_is_gone() {
    let mut tree = tree_with(&["/a"]);
    read::get_data(&mut tree, "/a", &anyone(), Some(1)).unwrap();
    let first = apply(&mut tree, 10, set_data("/a", data("1"), 1));
    assert_eq!(events(&first), [(CHANGED, "/a".to_string(), vec![1])]);
    assert_eq!(first.events[0].event.state, 3, "SyncConnected");
    let second = apply(&mut tree, 11, set_data("/a", data("2"), 2));
    assert!(second.events.is_empty());
    assert_eq!(tree.watch_count(), 0);
}

#[test]
fn get_data_on_a_missing_node_leaves_no_watch() {
    let mut tree = DataTree::new();
    assert_eq!(read::get_data(&mut tree, "/a", &anyone(), Some(1)).unwrap_err(), -101);
    assert!(apply(&mut tree, 1, create("/a")).events.is_empty());
}

#[test]
fn an_exists_watch_on_a_missing_node_fires_node_created() {
    let mut tree = DataTree::new();
    assert_eq!(read::exists(&mut tree, "/a", &anyone(), Some(4)).unwrap_err(), -101);
    let outcome = apply(&mut tree, 1, create("/a"));
    assert_eq!(events(&outcome), [(CREATED, "/a".to_string(), vec![4])]);
}

#[test]
fn create_fires_node_children_changed_on_the_parent() {
    let mut tree = tree_with(&["/p"]);
    read::get_children(&mut tree, "/p", &anyone(), Some(2)).unwrap();
    let outcome = apply(&mut tree, 5, create("/p/c"));
    assert_eq!(events(&outcome), [(CHILDREN, "/p".to_string(), vec![2])]);
}

#[test]
fn get_children_on_a_missing_node_leaves_no_watch() {
    let mut tree = DataTree::new();
    assert_eq!(read::get_children(&mut tree, "/p", &anyone(), Some(2)).unwrap_err(), -101);
    assert_eq!(tree.watch_count(), 0);
}

#[test]
fn delete_fires_node_deleted_once_to_a_connection_with_data_and_child_watches() {
    let mut tree = tree_with(&["/p", "/p/c"]);
    read::get_data(&mut tree, "/p/c", &anyone(), Some(1)).unwrap();
    read::get_children(&mut tree, "/p/c", &anyone(), Some(1)).unwrap();
    read::get_children(&mut tree, "/p/c", &anyone(), Some(2)).unwrap();
    read::get_children(&mut tree, "/p", &anyone(), Some(3)).unwrap();
    let outcome = apply(&mut tree, 9, delete("/p/c"));
    assert_eq!(
        events(&outcome),
        [(DELETED, "/p/c".to_string(), vec![1, 2]), (CHILDREN, "/p".to_string(), vec![3])]
    );
    assert_eq!(tree.watch_count(), 0, "both one-shot watches of 1 were consumed");
}

#[test]
fn set_data_does_not_fire_child_watches() {
    let mut tree = tree_with(&["/a"]);
    read::get_children(&mut tree, "/a", &anyone(), Some(1)).unwrap();
    assert!(apply(&mut tree, 5, set_data("/a", None, 1)).events.is_empty());
}

#[test]
fn a_persistent_watch_stays_and_sees_data_and_children_of_its_own_path() {
    let mut tree = tree_with(&["/a"]);
    tree.add_persistent_watch("/a", 5, false);
    for zxid in 10..12 {
        let outcome = apply(&mut tree, zxid, set_data("/a", None, 1));
        assert_eq!(events(&outcome), [(CHANGED, "/a".to_string(), vec![5])]);
    }
    let outcome = apply(&mut tree, 12, create("/a/b"));
    assert_eq!(events(&outcome), [(CHILDREN, "/a".to_string(), vec![5])]);
    let outcome = apply(&mut tree, 13, set_data("/a/b", None, 1));
    assert!(outcome.events.is_empty(), "not recursive");
    let outcome = apply(&mut tree, 14, delete("/a/b"));
    assert_eq!(events(&outcome), [(CHILDREN, "/a".to_string(), vec![5])]);
}

#[test]
fn a_recursive_watch_sees_every_descendant_but_never_children_changed() {
    let mut tree = tree_with(&["/a"]);
    tree.add_persistent_watch("/a", 6, true);
    let outcome = apply(&mut tree, 10, create("/a/b"));
    assert_eq!(events(&outcome), [(CREATED, "/a/b".to_string(), vec![6])]);
    let outcome = apply(&mut tree, 11, create("/a/b/c"));
    assert_eq!(events(&outcome), [(CREATED, "/a/b/c".to_string(), vec![6])]);
    let outcome = apply(&mut tree, 12, set_data("/a/b/c", None, 1));
    assert_eq!(events(&outcome), [(CHANGED, "/a/b/c".to_string(), vec![6])]);
    let outcome = apply(&mut tree, 13, delete("/a/b/c"));
    assert_eq!(events(&outcome), [(DELETED, "/a/b/c".to_string(), vec![6])]);
    let outcome = apply(&mut tree, 14, set_data("/a", None, 1));
    assert_eq!(events(&outcome), [(CHANGED, "/a".to_string(), vec![6])], "its own path too");
    let outcome = apply(&mut tree, 15, create("/elsewhere"));
    assert!(outcome.events.is_empty());
}

#[test]
fn a_recursive_watch_on_a_missing_path_fires_when_it_appears() {
    let mut tree = DataTree::new();
    tree.add_persistent_watch("/later", 1, true);
    let outcome = apply(&mut tree, 1, create("/later"));
    assert_eq!(events(&outcome), [(CREATED, "/later".to_string(), vec![1])]);
}

#[test]
fn one_event_per_connection_per_trigger() {
    let mut tree = tree_with(&["/a", "/a/b"]);
    tree.add_persistent_watch("/", 1, true);
    tree.add_persistent_watch("/a", 1, true);
    tree.add_persistent_watch("/a/b", 1, false);
    read::get_data(&mut tree, "/a/b", &anyone(), Some(1)).unwrap();
    let outcome = apply(&mut tree, 10, set_data("/a/b", None, 1));
    assert_eq!(events(&outcome), [(CHANGED, "/a/b".to_string(), vec![1])]);
    // The one-shot watch was consumed, the persistent one on the same path stays.
    assert!(tree.remove_watches("/a/b", watcher_type::PERSISTENT, 1, true));
    let outcome = apply(&mut tree, 11, set_data("/a/b", None, 2));
    assert_eq!(events(&outcome), [(CHANGED, "/a/b".to_string(), vec![1])]);
}

#[test]
fn a_standard_watch_on_top_of_a_persistent_one_does_not_downgrade_it() {
    let mut tree = tree_with(&["/a"]);
    tree.add_persistent_watch("/a", 1, false);
    read::get_data(&mut tree, "/a", &anyone(), Some(1)).unwrap();
    apply(&mut tree, 10, set_data("/a", None, 1));
    let outcome = apply(&mut tree, 11, set_data("/a", None, 2));
    assert_eq!(events(&outcome), [(CHANGED, "/a".to_string(), vec![1])]);
}

#[test]
fn check_watches_tests_without_removing() {
    let mut tree = tree_with(&["/a"]);
    read::get_data(&mut tree, "/a", &anyone(), Some(1)).unwrap();
    assert!(tree.remove_watches("/a", watcher_type::DATA, 1, true));
    assert!(tree.remove_watches("/a", watcher_type::ANY, 1, true));
    assert!(!tree.remove_watches("/a", watcher_type::CHILDREN, 1, true));
    assert_eq!(tree.watch_count(), 1);
}

#[test]
fn check_watches_finds_any_connections_watch_as_java_3_8_does() {
    let mut tree = tree_with(&["/a"]);
    read::get_data(&mut tree, "/a", &anyone(), Some(1)).unwrap();
    assert!(tree.remove_watches("/a", watcher_type::DATA, 2, true), "3.8 ignores the watcher here");
    assert!(!tree.remove_watches("/a", watcher_type::DATA, 2, false), "but removal is per connection");
}

#[test]
fn remove_watches_by_type() {
    let mut tree = tree_with(&["/a"]);
    read::get_data(&mut tree, "/a", &anyone(), Some(1)).unwrap();
    read::get_children(&mut tree, "/a", &anyone(), Some(1)).unwrap();
    assert!(tree.remove_watches("/a", watcher_type::CHILDREN, 1, false));
    assert!(!tree.remove_watches("/a", watcher_type::CHILDREN, 1, false), "already gone");
    assert_eq!(tree.watch_count(), 1);
    assert!(tree.remove_watches("/a", watcher_type::ANY, 1, false));
    assert_eq!(tree.watch_count(), 0);
    assert!(apply(&mut tree, 10, delete("/a")).events.is_empty());
}

#[test]
fn persistent_watches_are_removed_by_their_own_type_or_any() {
    let mut tree = tree_with(&["/a"]);
    tree.add_persistent_watch("/a", 1, false);
    tree.add_persistent_watch("/a", 1, true);
    assert_eq!(tree.watch_count(), 2, "one (watcher, path) pair in each table, holding both modes");
    assert!(tree.remove_watches("/a", watcher_type::PERSISTENT_RECURSIVE, 1, false));
    assert!(!tree.remove_watches("/a", watcher_type::PERSISTENT_RECURSIVE, 1, true));
    assert!(tree.remove_watches("/a", watcher_type::PERSISTENT, 1, true));
    assert!(tree.remove_watches("/a", watcher_type::PERSISTENT, 1, false));
    assert_eq!(tree.watch_count(), 0);
    assert!(!tree.remove_watches("/a", 99, 1, true), "unknown type");
}

#[test]
fn a_closed_connection_loses_every_watch() {
    let mut tree = tree_with(&["/a"]);
    read::get_data(&mut tree, "/a", &anyone(), Some(1)).unwrap();
    read::get_children(&mut tree, "/a", &anyone(), Some(1)).unwrap();
    tree.add_persistent_watch("/", 1, true);
    read::get_data(&mut tree, "/a", &anyone(), Some(2)).unwrap();
    tree.remove_watcher(1);
    let outcome = apply(&mut tree, 10, delete("/a"));
    assert_eq!(events(&outcome), [(DELETED, "/a".to_string(), vec![2])]);
}

#[test]
fn set_watches_fires_what_the_client_missed_and_registers_the_rest() {
    let mut tree = tree_with(&["/same", "/changed", "/kids"]); // zxids 1, 2, 3
    apply(&mut tree, 10, set_data("/changed", None, 1));
    apply(&mut tree, 11, create("/kids/k"));
    apply(&mut tree, 12, create("/appeared"));
    let strings = |paths: &[&str]| paths.iter().map(|p| p.to_string()).collect::<Vec<_>>();
    let missed = tree.set_watches(
        5,
        &strings(&["/same", "/changed", "/vanished"]),
        &strings(&["/appeared", "/absent"]),
        &strings(&["/kids", "/same", "/gone"]),
        &strings(&["/p"]),
        &strings(&["/r"]),
        7,
    );
    let got: Vec<_> =
        missed.iter().map(|n| (n.event.r#type, n.event.path.as_str(), n.watchers.clone())).collect();
    assert_eq!(
        got,
        [
            (CHANGED, "/changed", vec![7]),
            (DELETED, "/vanished", vec![7]),
            (CREATED, "/appeared", vec![7]),
            (CHILDREN, "/kids", vec![7]),
            (DELETED, "/gone", vec![7]),
        ]
    );
    // Registered: data /same, exist /absent, child /same, persistent /p and recursive /r (both
    // in the two tables, as Java 3.8 keeps them).
    assert_eq!(tree.watch_count(), 7);
    let outcome = apply(&mut tree, 20, create("/absent"));
    assert_eq!(events(&outcome), [(CREATED, "/absent".to_string(), vec![7])]);
}

#[test]
fn four_letter_word_views_count_the_data_table() {
    let mut tree = tree_with(&["/a", "/b"]);
    read::get_data(&mut tree, "/a", &anyone(), Some(1)).unwrap();
    read::exists(&mut tree, "/b", &anyone(), Some(1)).unwrap();
    read::exists(&mut tree, "/b", &anyone(), Some(2)).unwrap();
    read::get_children(&mut tree, "/a", &anyone(), Some(3)).unwrap();
    assert_eq!(tree.watch_summary(), WatchSummary { connections: 2, paths: 2, total: 3 });
    assert_eq!(tree.watch_count(), 4);
    let by_watcher = tree.watches_by_watcher();
    assert_eq!(by_watcher[&1], ["/a", "/b"]);
    assert_eq!(by_watcher[&2], ["/b"]);
    assert!(!by_watcher.contains_key(&3), "child watches are not listed");
    assert_eq!(tree.watches_by_path()["/b"], [1, 2]);
    // Fired one-shot watches leave their connection listed (with no paths), as in Java.
    apply(&mut tree, 10, set_data("/b", None, 1));
    assert_eq!(tree.watch_summary(), WatchSummary { connections: 2, paths: 1, total: 1 });
    assert_eq!(tree.watches_by_watcher()[&2], Vec::<String>::new());
}

#[test]
fn multi_read_never_leaves_watches() {
    use jute::proto::{GetChildrenRequest, GetDataRequest};
    use jute::request::MultiOp;
    let mut tree = tree_with(&["/a"]);
    let ops = [
        MultiOp::GetData(GetDataRequest { path: "/a".into(), watch: true }),
        MultiOp::GetChildren(GetChildrenRequest { path: "/a".into(), watch: true }),
    ];
    read::multi_read(&mut tree, &ops, &anyone());
    assert_eq!(tree.watch_count(), 0);
}

#[test]
fn each_event_carries_the_acl_that_gates_its_delivery() {
    use jute::records::{Acl, Id};
    use jute::txn::{CreateTxn, TxnBody};
    let secret = vec![Acl::new(31, "digest", "alice:hash")];
    let mut tree = tree_with(&["/open"]);
    tree.add_persistent_watch("/", 1, true);
    read::get_children(&mut tree, "/open", &anyone(), Some(2)).unwrap();
    let body = TxnBody::Create(CreateTxn { acl: secret.clone(), ..create_txn("/open/s", -1) });
    let created = apply(&mut tree, 10, body);
    assert_eq!(created.events[0].acl, secret, "NodeCreated: the new node's ACL");
    assert_eq!(created.events[1].acl, open(), "NodeChildrenChanged: the parent's ACL");
    assert!(!created.events[0].visible_to(&anyone()));
    let alice = AuthInfo { ids: vec![Id::new("digest", "alice:hash")], skip_acl: false };
    assert!(created.events[0].visible_to(&alice));
    let changed = apply(&mut tree, 11, set_data("/open/s", None, 1));
    assert_eq!(changed.events[0].acl, secret);
    let deleted = apply(&mut tree, 12, delete("/open/s"));
    assert_eq!(deleted.events[0].acl, secret, "NodeDeleted: the deleted node's ACL");
    // setWatches catch-up events are not filtered.
    let missed = tree.set_watches(0, &["/gone".to_string()], &[], &[], &[], &[], 3);
    assert!(missed[0].acl.is_empty() && missed[0].visible_to(&anyone()));
}

#[test]
fn data_and_children_remove_a_persistent_watch_from_their_table_only() {
    let mut tree = tree_with(&["/p"]);
    tree.add_persistent_watch("/p", 3, false);
    assert!(tree.remove_watches("/p", watcher_type::DATA, 3, false));
    assert!(apply(&mut tree, 10, set_data("/p", None, 1)).events.is_empty());
    let outcome = apply(&mut tree, 11, create("/p/c"));
    assert_eq!(events(&outcome), [(CHILDREN, "/p".to_string(), vec![3])], "the child-table copy stays");
    assert!(tree.remove_watches("/p", watcher_type::CHILDREN, 3, false));
    assert!(apply(&mut tree, 12, create("/p/d")).events.is_empty());
    assert!(!tree.remove_watches("/p", 99, 3, true), "unknown type");
}
