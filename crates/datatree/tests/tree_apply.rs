//! DataTree::apply, one test per sentence of Java's processTxn semantics.

mod tree_support;

use datatree::acl_cache::OPEN_ACL_UNSAFE_ID;
use datatree::node::{EphemeralKind, CONTAINER_EPHEMERAL_OWNER};
use datatree::DataTree;
use jute::consts::{err, op};
use jute::records::{Acl, StatPersisted};
use jute::txn::{CreateTxn, TxnBody};
use jute::Bytes;
use tree_support::*;

#[test]
fn fresh_tree_holds_the_four_builtin_nodes_as_java_builds_them() {
    let tree = DataTree::new();
    for path in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
        let node = tree.get_node(path).unwrap();
        assert_eq!(node.data_bytes(), Some(Bytes::new()), "{path}: empty, not null");
        let expected_aversion = if path == "/zookeeper/config" { -1 } else { 0 };
        assert_eq!(
            node.stat(),
            StatPersisted { aversion: expected_aversion, ..StatPersisted::default() },
            "{path}"
        );
    }
    assert_eq!(tree.get_node("/").unwrap().acl_id(), OPEN_ACL_UNSAFE_ID);
    let config = tree.get_node("/zookeeper/config").unwrap();
    assert_eq!(config.acl_id(), 1, "READ_ACL_UNSAFE is the first cached list");
    assert_eq!(tree.node_acl(config), [Acl::new(1, "world", "anyone")]);
    assert!(tree.children("/zookeeper").eq(["config", "quota"]));
    assert_eq!(tree.get_node("/zookeeper").unwrap().child_count(), 2);
    assert_eq!(tree.get_node("").unwrap(), tree.get_node("/").unwrap(), "Java aliases \"\" to the root");
    assert_eq!(tree.node_count(), 5, "Java counts the root twice");
    assert_eq!(tree.last_processed_zxid(), 0);
}

#[test]
fn create_sets_the_new_stat_from_the_header() {
    let mut tree = DataTree::new();
    let outcome = apply(&mut tree, 5, create2("/a"));
    assert_eq!(outcome.result.err, 0);
    assert_eq!(outcome.result.path, "/a");
    assert_eq!(outcome.result.txn_type, op::CREATE2);
    let stat = outcome.result.stat.unwrap();
    assert_eq!((stat.czxid, stat.mzxid, stat.pzxid), (5, 5, 5));
    assert_eq!((stat.ctime, stat.mtime), (1005, 1005));
    assert_eq!((stat.version, stat.cversion, stat.aversion, stat.ephemeral_owner), (0, 0, 0, 0));
    assert_eq!((stat.data_length, stat.num_children), (1, 0));
    assert_eq!(tree.last_processed_zxid(), 5);
}

#[test]
fn plain_create_result_has_no_stat() {
    let mut tree = DataTree::new();
    let outcome = apply(&mut tree, 1, create("/a"));
    assert_eq!((outcome.result.err, outcome.result.stat), (0, None));
}

#[test]
fn create_with_parent_cversion_minus_one_bumps_the_parent_and_sets_pzxid() {
    let mut tree = DataTree::new();
    apply(&mut tree, 7, create("/a"));
    let root = tree.get_node("/").unwrap();
    assert_eq!((root.stat().cversion, root.stat().pzxid), (1, 7));
}

#[test]
fn create_takes_the_txns_parent_cversion() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, create("/p"));
    apply(&mut tree, 2, TxnBody::Create(create_txn("/p/c", 40)));
    assert_eq!(tree.get_node("/p").unwrap().stat().cversion, 40);
}

#[test]
fn clients_see_cversion_as_creates_plus_deletes() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, create("/p"));
    for (i, child) in ["a", "b", "c"].iter().enumerate() {
        apply(&mut tree, 2 + i as i64, create(&format!("/p/{child}")));
    }
    apply(&mut tree, 10, delete("/p/b"));
    let parent = tree.get_node("/p").unwrap();
    assert_eq!(parent.stat().cversion, 3, "stored cversion counts creates only");
    let seen = parent.client_stat();
    assert_eq!(seen.num_children, 2);
    assert_eq!(seen.cversion, 2 * 3 - 2, "3 creates + 1 delete");
    assert_eq!(seen.pzxid, 10, "delete moved pzxid");
}

#[test]
fn deletes_do_not_move_the_stored_counter_the_sequence_suffix_comes_from() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, create("/q"));
    apply(&mut tree, 2, create("/q/n0000000000"));
    apply(&mut tree, 3, delete("/q/n0000000000"));
    assert_eq!(tree.get_node("/q").unwrap().stat().cversion, 1);
    apply(&mut tree, 4, create("/q/n0000000001"));
    assert_eq!(tree.get_node("/q").unwrap().stat().cversion, 2);
}

#[test]
fn replaying_a_create_is_node_exists_and_leaves_the_parent_alone() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, TxnBody::Create(create_txn("/a", 1)));
    let before = tree.get_node("/").unwrap().stat();
    let outcome = apply(&mut tree, 1, TxnBody::Create(create_txn("/a", 1)));
    assert_eq!(outcome.result.err, err::NODE_EXISTS);
    assert!(outcome.events.is_empty());
    assert_eq!(tree.get_node("/").unwrap().stat(), before);
    assert_eq!(tree.get_node("/").unwrap().child_count(), 2);
    assert!(tree.children("/").eq(["a", "zookeeper"]));
}

#[test]
fn a_create2_on_an_existing_path_leaves_the_node_and_the_tree_as_they_were() {
    // The parent changes and the map takes the new node first; a clash puts the old node and
    // the parent's head back: nothing of the new one may stay (node, parent, sizes, digest,
    // ephemeral lists), among many neighbours.
    let mut tree = DataTree::new();
    apply(&mut tree, 1, create("/p"));
    for i in 0..300 {
        apply(&mut tree, 2 + i, create(&format!("/p/n{i:03}")));
    }
    let (digest, size, count) = (tree.digest(), tree.approximate_data_size(), tree.node_count());
    let old = tree.get_node("/p/n150").unwrap().clone();
    let parent = tree.get_node("/p").unwrap().clone();
    let clash = CreateTxn { data: data("other"), ephemeral: true, ..create_txn("/p/n150", -1) };
    let outcome = apply_as(&mut tree, 0x55, 999, TxnBody::Create2(clash));
    assert_eq!(outcome.result.err, err::NODE_EXISTS);
    assert!(outcome.events.is_empty());
    let now = tree.get_node("/p/n150").unwrap();
    assert_eq!((now.stat(), now.data()), (old.stat(), old.data()));
    assert_eq!((tree.digest(), tree.approximate_data_size(), tree.node_count()), (digest, size, count));
    assert_eq!(tree.get_node("/p").unwrap(), &parent);
    assert_eq!(parent.child_count(), 300);
    assert!(tree.ephemerals_of(0x55).is_empty());
    assert_eq!(tree.children("/p").count(), 300);
}

#[test]
fn node_exists_on_a_plain_create_still_raises_the_parent_cversion_and_pzxid() {
    // Java's fix-up for a node deleted and re-created by another session inside a fuzzy
    // snapshot's window: the parent takes the txn's (larger) cversion and its zxid.
    let mut tree = DataTree::new();
    apply(&mut tree, 1, create("/a"));
    let outcome = apply(&mut tree, 9, TxnBody::Create(create_txn("/a", 5)));
    assert_eq!(outcome.result.err, err::NODE_EXISTS);
    let root = tree.get_node("/").unwrap();
    assert_eq!((root.stat().cversion, root.stat().pzxid), (5, 9));
    // Only create (1) gets the fix-up; create2 does not.
    let outcome = apply(&mut tree, 10, TxnBody::Create2(create_txn("/a", 8)));
    assert_eq!(outcome.result.err, err::NODE_EXISTS);
    assert_eq!(tree.get_node("/").unwrap().stat().cversion, 5);
}

#[test]
fn replayed_create_never_moves_the_parent_cversion_backwards() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, TxnBody::Create(create_txn("/a", 6)));
    apply(&mut tree, 2, TxnBody::Create(create_txn("/b", 3)));
    let root = tree.get_node("/").unwrap();
    assert_eq!((root.stat().cversion, root.stat().pzxid), (6, 1));
    assert!(tree.children("/").any(|name| name == "b"));
}

#[test]
fn create_under_a_missing_parent_is_no_node() {
    let mut tree = DataTree::new();
    let outcome = apply(&mut tree, 3, create("/missing/a"));
    assert_eq!(outcome.result.err, err::NO_NODE);
    assert_eq!(tree.node_count(), 5);
    assert_eq!(tree.last_processed_zxid(), 3, "a failed txn still consumed its zxid");
}

#[test]
fn delete_moves_parent_pzxid_but_not_stored_cversion() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, create("/a"));
    let outcome = apply(&mut tree, 2, delete("/a"));
    assert_eq!((outcome.result.err, outcome.result.path.as_str()), (0, "/a"));
    assert!(tree.get_node("/a").is_none());
    let root = tree.get_node("/").unwrap();
    assert_eq!((root.stat().cversion, root.stat().pzxid), (1, 2));
}

#[test]
fn deleting_a_missing_child_is_no_node_yet_moves_the_parent_pzxid() {
    let mut tree = DataTree::new();
    let outcome = apply(&mut tree, 4, delete("/ghost"));
    assert_eq!(outcome.result.err, err::NO_NODE);
    assert_eq!(tree.get_node("/").unwrap().stat().pzxid, 4);
    // ... but never backwards.
    apply(&mut tree, 2, delete("/ghost"));
    assert_eq!(tree.get_node("/").unwrap().stat().pzxid, 4);
}

#[test]
fn delete_container_applies_like_delete() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, container("/c"));
    let body = TxnBody::DeleteContainer(jute::txn::DeleteTxn { path: "/c".into() });
    let outcome = apply(&mut tree, 2, body);
    assert_eq!((outcome.result.err, outcome.result.txn_type), (0, op::DELETE_CONTAINER));
    assert!(tree.get_node("/c").is_none());
    assert!(tree.container_candidates(10).is_empty());
}

#[test]
fn set_data_stores_the_txns_version_and_stamps_mzxid_mtime() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, create("/a"));
    let outcome = apply(&mut tree, 2, set_data("/a", data("hello"), 7));
    let stat = outcome.result.stat.unwrap();
    assert_eq!((stat.version, stat.mzxid, stat.mtime, stat.czxid, stat.data_length), (7, 2, 1002, 1, 5));
    assert_eq!(tree.get_node("/a").unwrap().data_bytes(), data("hello"));
}

#[test]
fn null_and_empty_data_stay_distinct() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, create("/a"));
    apply(&mut tree, 2, set_data("/a", None, 1));
    assert_eq!(tree.get_node("/a").unwrap().data_bytes(), None);
    assert_eq!(tree.get_node("/a").unwrap().client_stat().data_length, 0);
    apply(&mut tree, 3, set_data("/a", Some(Bytes::new()), 2));
    assert_eq!(tree.get_node("/a").unwrap().data_bytes(), Some(Bytes::new()));
    let null_create = TxnBody::Create(jute::txn::CreateTxn { data: None, ..create_txn("/b", -1) });
    apply(&mut tree, 4, null_create);
    assert_eq!(tree.get_node("/b").unwrap().data_bytes(), None);
}

#[test]
fn set_data_on_a_missing_node_is_no_node() {
    let mut tree = DataTree::new();
    let outcome = apply(&mut tree, 1, set_data("/nope", None, 1));
    assert_eq!((outcome.result.err, outcome.result.stat), (err::NO_NODE, None));
}

#[test]
fn reconfig_sets_the_config_nodes_data() {
    let mut tree = DataTree::new();
    let body = TxnBody::Reconfig(jute::txn::SetDataTxn {
        path: "/zookeeper/config".into(),
        data: data("server.1=a:2888:3888"),
        version: 1,
    });
    let outcome = apply(&mut tree, 3, body);
    assert_eq!(outcome.result.stat.unwrap().version, 1);
    assert_eq!(tree.get_node("/zookeeper/config").unwrap().data_bytes(), data("server.1=a:2888:3888"));
}

#[test]
fn set_acl_stores_the_txns_aversion_and_fires_nothing() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, create("/a"));
    tree.add_data_watch("/a", 1);
    let digest = vec![Acl::new(31, "digest", "u:h")];
    let outcome = apply(&mut tree, 2, set_acl("/a", digest.clone(), 4));
    assert_eq!(outcome.result.stat.unwrap().aversion, 4);
    assert!(outcome.events.is_empty());
    let node = tree.get_node("/a").unwrap();
    assert_eq!(tree.node_acl(node), digest.as_slice());
}

#[test]
fn acl_lists_are_shared_and_counted_as_java_counts_them() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, create("/a"));
    apply(&mut tree, 2, create("/b"));
    let a = tree.get_node("/a").unwrap().acl_id();
    assert_eq!(a, 2, "id 1 is /zookeeper/config's");
    assert_eq!(tree.get_node("/b").unwrap().acl_id(), a);
    assert_eq!(tree.acl_cache().reference_count(a), 2);
    apply(&mut tree, 3, delete("/a"));
    assert_eq!(tree.acl_cache().reference_count(a), 1);
    // Re-setting the same list on its only user releases it first, so it gets a fresh id.
    apply(&mut tree, 4, set_acl("/b", open(), 1));
    assert_eq!(tree.get_node("/b").unwrap().acl_id(), 3);
    assert_eq!(tree.acl_cache().len(), 2);
}

#[test]
fn ephemerals_are_owned_by_the_header_session() {
    let mut tree = DataTree::new();
    apply_as(&mut tree, OTHER_SESSION, 1, ephemeral("/e"));
    let node = tree.get_node("/e").unwrap();
    assert_eq!(node.stat().ephemeral_owner, OTHER_SESSION);
    assert_eq!(node.client_stat().ephemeral_owner, OTHER_SESSION);
    assert_eq!(tree.ephemerals_of(OTHER_SESSION), ["/e"]);
    assert_eq!(tree.ephemerals_count(), 1);
    apply(&mut tree, 2, delete("/e"));
    assert!(tree.ephemerals_of(OTHER_SESSION).is_empty());
    assert_eq!(tree.ephemeral_sessions(), [OTHER_SESSION], "Java keeps the emptied set until close");
}

#[test]
fn containers_and_ttl_nodes_report_owner_zero() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, container("/c"));
    apply(&mut tree, 2, ttl("/t", 500));
    let c = tree.get_node("/c").unwrap();
    assert_eq!(c.stat().ephemeral_owner, CONTAINER_EPHEMERAL_OWNER);
    assert_eq!(c.client_stat().ephemeral_owner, 0);
    let t = tree.get_node("/t").unwrap();
    assert_eq!(EphemeralKind::of(t.stat().ephemeral_owner), EphemeralKind::Ttl(500));
    assert_eq!(t.client_stat().ephemeral_owner, 0);
    assert_eq!(tree.ephemerals_count(), 0);
}

#[test]
fn a_container_is_a_candidate_once_it_had_a_child_and_is_empty_again() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, container("/c"));
    assert!(tree.container_candidates(10).is_empty(), "never used");
    apply(&mut tree, 2, create("/c/x"));
    assert!(tree.container_candidates(10).is_empty(), "has a child");
    apply(&mut tree, 3, delete("/c/x"));
    assert_eq!(tree.container_candidates(10), ["/c"]);
    assert!(tree.container_candidates(0).is_empty());
}

#[test]
fn a_ttl_node_expires_when_now_minus_mtime_exceeds_its_ttl() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, ttl("/t", 500)); // mtime 1001
    assert!(tree.ttl_expired(1501).is_empty());
    assert_eq!(tree.ttl_expired(1502), ["/t"]);
    apply(&mut tree, 600, set_data("/t", None, 1)); // mtime 1600: setData resets the clock
    assert!(tree.ttl_expired(2000).is_empty());
    apply(&mut tree, 601, create("/t/child"));
    assert!(tree.ttl_expired(9999).is_empty(), "a TTL node with children stays");
}

#[test]
fn sessions_come_and_go_with_their_txns() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, create_session(30000));
    assert_eq!(tree.session_timeout(SESSION), Some(30000));
    assert_eq!(tree.sessions().collect::<Vec<_>>(), [(SESSION, 30000)]);
    let outcome = apply(&mut tree, 2, close_session(Some(&[])));
    assert_eq!((outcome.result.err, outcome.result.txn_type), (0, op::CLOSE_SESSION));
    assert_eq!(tree.session_timeout(SESSION), None);
    assert_eq!(tree.session_count(), 0);
}

#[test]
fn close_session_deletes_the_listed_paths_then_everything_else_the_session_owns() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, create_session(30000));
    apply(&mut tree, 2, ephemeral("/e1"));
    apply(&mut tree, 3, ephemeral("/e2"));
    apply_as(&mut tree, OTHER_SESSION, 4, ephemeral("/other"));
    tree.add_data_watch("/e2", 9);
    let outcome = apply(&mut tree, 5, close_session(Some(&["/e2", "/gone"])));
    assert_eq!(outcome.result.err, 0, "missing listed paths are skipped");
    assert!(tree.get_node("/e1").is_none() && tree.get_node("/e2").is_none());
    assert!(tree.get_node("/other").is_some());
    assert_eq!(tree.ephemeral_sessions(), [OTHER_SESSION]);
    assert_eq!(events(&outcome), [(DELETED, "/e2".to_string(), vec![9])]);
    assert_eq!(tree.get_node("/").unwrap().stat().pzxid, 5);
}

#[test]
fn close_session_without_a_body_deletes_all_the_sessions_ephemerals() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, ephemeral("/e1"));
    apply(&mut tree, 2, ephemeral("/e2"));
    apply(&mut tree, 3, close_session(None));
    assert!(tree.get_node("/e1").is_none() && tree.get_node("/e2").is_none());
    assert_eq!(tree.ephemerals_count(), 0);
}

#[test]
fn error_txn_carries_its_code_and_consumes_the_zxid() {
    let mut tree = DataTree::new();
    let outcome = apply(&mut tree, 11, error(err::BAD_VERSION));
    assert_eq!((outcome.result.err, outcome.result.txn_type), (err::BAD_VERSION, op::ERROR));
    assert_eq!(tree.last_processed_zxid(), 11);
}

#[test]
fn last_processed_zxid_never_goes_backwards() {
    let mut tree = DataTree::new();
    apply(&mut tree, 9, create("/a"));
    apply(&mut tree, 4, create("/b"));
    assert_eq!(tree.last_processed_zxid(), 9);
}

#[test]
fn multi_applies_every_op_under_one_zxid() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, create("/a"));
    tree.add_child_watch("/", 3);
    let body = TxnBody::Multi(vec![create("/m"), set_data("/a", data("v"), 1), check("/a", 1), delete("/m")]);
    let outcome = apply(&mut tree, 2, body);
    assert_eq!((outcome.result.err, outcome.result.txn_type), (0, MULTI));
    let types: Vec<_> = outcome.result.multi.iter().map(|r| (r.txn_type, r.err)).collect();
    assert_eq!(types, [(op::CREATE, 0), (op::SET_DATA, 0), (op::CHECK, 0), (op::DELETE, 0)]);
    assert_eq!(outcome.result.multi[1].stat.as_ref().unwrap().mzxid, 2);
    assert_eq!(outcome.result.multi[2].path, "/a");
    // Watches fire as each sub-txn applies: the one-shot child watch on / takes the first.
    assert_eq!(events(&outcome), [(CHILDREN, "/".to_string(), vec![3])]);
    let results = outcome.result.multi_op_results();
    assert_eq!(results[0], jute::request::OpResult::Create { path: "/m".into() });
    assert_eq!(results[2], jute::request::OpResult::Check);
    assert_eq!(results[3], jute::request::OpResult::Delete);
}

#[test]
fn failed_multi_is_all_error_results_and_changes_nothing() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, create("/a"));
    // As prep logs it: the ops before the failure kept their txns, the failing one is an error
    // txn with its code, the ones after are error txns with -2.
    let body =
        TxnBody::Multi(vec![create("/new"), error(err::BAD_VERSION), error(err::RUNTIME_INCONSISTENCY)]);
    let outcome = apply(&mut tree, 2, body);
    let codes: Vec<_> = outcome.result.multi.iter().map(|r| (r.txn_type, r.err)).collect();
    assert_eq!(
        codes,
        [(op::ERROR, 0), (op::ERROR, err::BAD_VERSION), (op::ERROR, err::RUNTIME_INCONSISTENCY)]
    );
    assert_eq!(outcome.result.err, err::BAD_VERSION, "first non-zero sub-result");
    assert!(tree.get_node("/new").is_none());
    assert!(outcome.events.is_empty());
    assert_eq!(tree.last_processed_zxid(), 2);
    let results = outcome.result.multi_op_results();
    assert_eq!(results[0], jute::request::OpResult::Error { err: 0 });
}

#[test]
fn a_multi_with_an_error_anywhere_converts_the_later_real_ops_to_runtime_inconsistency() {
    let mut tree = DataTree::new();
    let body = TxnBody::Multi(vec![error(err::NO_NODE), create("/late")]);
    let outcome = apply(&mut tree, 1, body);
    let codes: Vec<_> = outcome.result.multi.iter().map(|r| r.err).collect();
    assert_eq!(codes, [err::NO_NODE, err::RUNTIME_INCONSISTENCY]);
    assert!(tree.get_node("/late").is_none());
}

#[test]
fn a_sub_txn_failing_at_apply_time_reports_its_code_and_the_rest_still_apply() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, create("/a"));
    let outcome = apply(&mut tree, 2, TxnBody::Multi(vec![create("/a"), create("/b")]));
    assert_eq!(outcome.result.err, err::NODE_EXISTS);
    assert_eq!(outcome.result.multi[0].err, err::NODE_EXISTS);
    assert_eq!(
        outcome.result.multi_op_results()[0],
        jute::request::OpResult::Error { err: err::NODE_EXISTS }
    );
    assert!(tree.get_node("/b").is_some());
}

#[test]
fn approximate_data_size_tracks_paths_and_data() {
    let mut tree = DataTree::new();
    let base = tree.approximate_data_size();
    apply(&mut tree, 1, create("/abc")); // 4 + 1
    assert_eq!(tree.approximate_data_size(), base + 5);
    apply(&mut tree, 2, set_data("/abc", data("12345"), 1));
    assert_eq!(tree.approximate_data_size(), base + 9);
    apply(&mut tree, 3, delete("/abc"));
    assert_eq!(tree.approximate_data_size(), base);
}

/// A node as the tests compare trees: path, stat, data, ACL id, digest, child count.
type NodeFields = (String, StatPersisted, Option<Vec<u8>>, i64, i64, i32);

fn node_list(tree: &DataTree) -> Vec<NodeFields> {
    tree.nodes_depth_first()
        .map(|(path, node)| {
            (
                path,
                node.stat(),
                node.data().map(<[u8]>::to_vec),
                node.acl_id(),
                node.digest(),
                node.num_children(),
            )
        })
        .collect()
}

#[test]
fn a_node_built_ahead_applies_exactly_as_the_tree_builds_it_and_a_wrong_one_is_not_used() {
    // An ACL whose id does not fit the node head inline (a snapshot can hold such ids).
    let digest_acl = vec![Acl::new(31, "digest", "u:x")];
    let mut plain = DataTree::new();
    let mut ahead = DataTree::new();
    for tree in [&mut plain, &mut ahead] {
        tree.load_acl(1 << 30, digest_acl.clone());
        apply(tree, 1, create("/p"));
    }
    let creates = [
        (SESSION, create("/p/a")),
        (SESSION, create2("/p/b")),
        (OTHER_SESSION, ephemeral("/p/e")),
        (SESSION, container("/p/c")),
        (SESSION, ttl("/p/t", 500)),
        (
            SESSION,
            TxnBody::Create(CreateTxn { acl: digest_acl.clone(), data: None, ..create_txn("/p/d", -1) }),
        ),
        (
            SESSION,
            TxnBody::Create(CreateTxn { acl: vec![Acl::new(1, "world", "anyone")], ..create_txn("/p/r", 7) }),
        ),
        (SESSION, create("/p/a")), // NodeExists: the built node is dropped, the parent still moves
    ];
    for (zxid, (session, body)) in (2..).zip(creates) {
        let mut header = header(&body, zxid);
        header.client_id = session;
        let built = datatree::tree::BuiltNode::for_txn(&header, &body);
        assert!(built.is_some(), "every create type gets its node built: {body:?}");
        let expected = plain.apply(&header, &body);
        let got = ahead.apply_with_built(&header, &body, built);
        assert_eq!(got.result, expected.result, "zxid {zxid}");
        assert_eq!(node_list(&ahead), node_list(&plain), "zxid {zxid}");
        assert_eq!(ahead.digest(), plain.digest(), "zxid {zxid}");
        assert_eq!(ahead.ephemerals_of(OTHER_SESSION), plain.ephemerals_of(OTHER_SESSION));
    }
    assert_eq!(ahead.get_node("/p/d").unwrap().acl_id(), 1 << 30);

    // A node built for another txn (another path, zxid or data length) is not taken: the tree builds
    // its own.
    let build = |path: &str, zxid: i64, value: &str| {
        let body = TxnBody::Create(CreateTxn { data: data(value), ..create_txn(path, -1) });
        datatree::tree::BuiltNode::for_txn(&header(&body, zxid), &body)
    };
    let wrong = [build("/p/y20", 20, "x"), build("/p/x21", 1021, "x"), build("/p/x22", 22, "longer")];
    for (zxid, built) in (20..).zip(wrong) {
        let body = create(&format!("/p/x{zxid}"));
        let expected = plain.apply(&header(&body, zxid), &body);
        let got = ahead.apply_with_built(&header(&body, zxid), &body, built);
        assert_eq!(got.result, expected.result);
    }
    assert!(ahead.get_node("/p/y20").is_none());
    assert_eq!(node_list(&ahead), node_list(&plain));
    assert_eq!(ahead.digest(), plain.digest());

    // Only creates are built ahead.
    for body in [set_data("/p/a", data("v"), 1), delete("/p/a"), create_session(3000), error(-101)] {
        assert!(datatree::tree::BuiltNode::for_txn(&header(&body, 30), &body).is_none(), "{body:?}");
    }
}
