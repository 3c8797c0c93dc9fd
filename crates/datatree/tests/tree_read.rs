//! Reads as Java 3.8.0's FinalRequestProcessor answers them.

mod tree_support;

use datatree::acl::AuthInfo;
use datatree::read;
use datatree::DataTree;
use jute::consts::{err, perms};
use jute::proto::{GetChildrenRequest, GetDataRequest};
use jute::records::{Acl, Id};
use jute::request::{MultiOp, OpResult};
use jute::txn::{CreateTxn, TxnBody};
use tree_support::*;

const ALICE: &str = "alice:Z0aq3ibJsfVE8G+hbqeXDs2N0tY=";

fn anyone() -> AuthInfo {
    AuthInfo::default()
}

fn alice() -> AuthInfo {
    AuthInfo { ids: vec![Id::new("digest", ALICE)], skip_acl: false }
}

/// /secret readable (and everything else) only by alice; /readable: READ for anyone, ALL for alice.
fn tree() -> DataTree {
    let mut tree = DataTree::new();
    let only_alice = vec![Acl::new(perms::ALL, "digest", ALICE)];
    let body = TxnBody::Create(CreateTxn { acl: only_alice, ..create_txn("/secret", -1) });
    apply(&mut tree, 1, body);
    apply(&mut tree, 2, create("/secret/child"));
    let mixed = vec![Acl::new(perms::READ, "world", "anyone"), Acl::new(perms::ALL, "digest", ALICE)];
    apply(&mut tree, 3, TxnBody::Create(CreateTxn { acl: mixed, ..create_txn("/readable", -1) }));
    tree
}

#[test]
fn get_data_without_read_is_no_auth_and_leaves_no_watch() {
    let mut tree = tree();
    assert_eq!(read::get_data(&mut tree, "/secret", &anyone(), Some(1)).unwrap_err(), err::NO_AUTH);
    assert_eq!(tree.watch_count(), 0);
    let response = read::get_data(&mut tree, "/secret", &alice(), Some(1)).unwrap();
    assert_eq!(response.data, data("x"));
    assert_eq!(response.stat.czxid, 1);
}

#[test]
fn no_node_wins_over_no_auth() {
    let mut tree = tree();
    assert_eq!(read::get_data(&mut tree, "/secret/none", &anyone(), None).unwrap_err(), err::NO_NODE);
}

#[test]
fn skip_acl_and_super_read_everything() {
    let mut tree = tree();
    let skip = AuthInfo { ids: vec![], skip_acl: true };
    assert!(read::get_data(&mut tree, "/secret", &skip, None).is_ok());
    let superuser = AuthInfo { ids: vec![Id::new("super", "")], skip_acl: false };
    assert!(read::get_children(&mut tree, "/secret", &superuser, None).is_ok());
}

#[test]
fn exists_checks_no_acl_in_3_8_0_and_sets_its_watch_anyway() {
    let mut tree = tree();
    let stat = read::exists(&mut tree, "/secret", &anyone(), Some(1)).unwrap().stat;
    assert_eq!(stat.num_children, 1);
    assert_eq!(tree.watch_count(), 1);
    assert_eq!(read::exists(&mut tree, "/a\0b", &anyone(), Some(1)).unwrap_err(), err::BAD_ARGUMENTS);
}

#[test]
fn get_children_needs_read_and_lists_names_sorted() {
    let mut tree = tree();
    apply(&mut tree, 4, create("/secret/a"));
    assert_eq!(read::get_children(&mut tree, "/secret", &anyone(), Some(1)).unwrap_err(), err::NO_AUTH);
    let response = read::get_children2(&mut tree, "/secret", &alice(), None).unwrap();
    assert_eq!(response.children, ["a", "child"]);
    assert_eq!((response.stat.num_children, response.stat.cversion), (2, 2), "2 creates");
    let root = read::get_children(&mut tree, "/", &anyone(), None).unwrap();
    assert_eq!(root.children, ["readable", "secret", "zookeeper"]);
}

#[test]
fn get_acl_needs_read_or_admin_and_masks_digests_without_admin() {
    let tree = tree();
    assert_eq!(read::get_acl(&tree, "/secret", &anyone()).unwrap_err(), err::NO_AUTH);
    let masked = read::get_acl(&tree, "/readable", &anyone()).unwrap();
    assert_eq!(masked.acl[0], Acl::new(perms::READ, "world", "anyone"));
    assert_eq!(masked.acl[1], Acl::new(perms::ALL, "digest", "alice:x"));
    let full = read::get_acl(&tree, "/readable", &alice()).unwrap();
    assert_eq!(full.acl[1].id.id, ALICE);
    let config = read::get_acl(&tree, "/zookeeper/config", &anyone()).unwrap();
    assert_eq!(config.acl, [Acl::new(perms::READ, "world", "anyone")]);
    assert_eq!(config.stat.aversion, -1);
    assert_eq!(read::get_acl(&tree, "/nope", &alice()).unwrap_err(), err::NO_NODE);
}

#[test]
fn get_all_children_number_counts_every_descendant() {
    let mut tree = tree();
    apply(&mut tree, 4, create("/secret/child/deep"));
    assert_eq!(read::get_all_children_number(&tree, "/secret", &alice()).unwrap().total_number, 2);
    // For "/": every node but the root, /zookeeper and its two children included.
    assert_eq!(read::get_all_children_number(&tree, "/", &anyone()).unwrap().total_number, 7);
    assert_eq!(read::get_all_children_number(&tree, "/secret", &anyone()).unwrap_err(), err::NO_AUTH);
    assert_eq!(read::get_all_children_number(&tree, "/x", &anyone()).unwrap_err(), err::NO_NODE);
}

#[test]
fn get_ephemerals_lists_the_callers_own_by_string_prefix() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, create("/app"));
    apply(&mut tree, 2, ephemeral("/app/lock"));
    apply(&mut tree, 3, ephemeral("/application"));
    apply_as(&mut tree, OTHER_SESSION, 4, ephemeral("/app/theirs"));
    let all = read::get_ephemerals(&tree, SESSION, "");
    assert_eq!(all.ephemerals, ["/app/lock", "/application"]);
    assert_eq!(read::get_ephemerals(&tree, SESSION, " / ").ephemerals.len(), 2, "trimmed / means all");
    assert_eq!(read::get_ephemerals(&tree, SESSION, "/app").ephemerals, ["/app/lock", "/application"]);
    assert_eq!(read::get_ephemerals(&tree, SESSION, "/app/").ephemerals, ["/app/lock"]);
    assert!(read::get_ephemerals(&tree, 12345, "").ephemerals.is_empty());
}

#[test]
fn multi_read_answers_each_op_on_its_own() {
    let mut tree = tree();
    let ops = [
        MultiOp::GetData(GetDataRequest { path: "/readable".into(), watch: false }),
        MultiOp::GetData(GetDataRequest { path: "/secret".into(), watch: false }),
        MultiOp::GetChildren(GetChildrenRequest { path: "/missing".into(), watch: false }),
        MultiOp::GetChildren(GetChildrenRequest { path: "/readable".into(), watch: false }),
    ];
    let response = read::multi_read(&mut tree, &ops, &anyone());
    assert!(matches!(&response.results[0], OpResult::GetData { data: Some(d), .. } if d.as_ref() == b"x"));
    assert_eq!(response.results[1], OpResult::Error { err: err::NO_AUTH });
    assert_eq!(response.results[2], OpResult::Error { err: err::NO_NODE });
    assert_eq!(response.results[3], OpResult::GetChildren { children: vec![] });
}

#[test]
fn the_empty_path_reads_the_root_as_in_java() {
    let mut tree = DataTree::new();
    assert!(read::get_data(&mut tree, "", &anyone(), None).is_ok());
    assert_eq!(read::get_all_children_number(&tree, "", &anyone()).unwrap().total_number, 4);
}
