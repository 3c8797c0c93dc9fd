//! create / create2 / createContainer / createTTL: spec sentences of §3.4 and §5.

mod prep_support;

use datatree::prep::Prepared;
use jute::consts::{err, op, perms};
use jute::proto::{CreateRequest, CreateTtlRequest};
use jute::records::{Acl, Id};
use jute::request::Request;
use jute::txn::{CreateContainerTxn, CreateTtlTxn, CreateTxn, TxnBody};
use prep_support::*;

fn created_path(prepared: &Prepared) -> &str {
    match &prepared.body {
        TxnBody::Create(t) | TxnBody::Create2(t) => &t.path,
        TxnBody::CreateContainer(t) => &t.path,
        TxnBody::CreateTtl(t) => &t.path,
        other => panic!("not a create: {other:?}"),
    }
}

fn ttl_request(path: &str, flags: i32, ttl: i64) -> Request {
    Request::CreateTtl(create_ttl_request(path, flags, ttl))
}

/// A pipeline with /p (open), /eph (ephemeral of SESSION), /alice (only alice may do anything).
fn fixture() -> Pipeline {
    let mut p = Pipeline::new();
    p.ok(&create("/p", 0));
    p.ok(&create("/eph", 1));
    p.ok(&create_with_acl("/alice", 0, vec![Acl { perms: perms::ALL, id: digest("alice", "pw") }]));
    p
}

#[test]
fn invalid_flags_win_over_everything_else() {
    let mut p = fixture();
    assert_eq!(p.fails(&create_with_acl("nope", 7, vec![])), err::BAD_ARGUMENTS);
    assert_eq!(p.fails(&create("/missing/x", -1)), err::BAD_ARGUMENTS);
}

#[test]
fn ttl_mode_without_extended_types_is_unimplemented_before_the_ttl_value_is_checked() {
    let mut p = fixture();
    p.extended_types = false;
    assert_eq!(p.fails(&ttl_request("nope", 5, 0)), err::UNIMPLEMENTED);
    assert_eq!(p.fails(&create("/p/x", 6)), err::UNIMPLEMENTED);
    p.extended_types = true;
    assert_eq!(p.fails(&ttl_request("nope", 5, 0)), err::BAD_ARGUMENTS);
}

#[test]
fn ttl_must_be_in_1_to_2_pow_40_minus_1_and_absent_for_other_modes() {
    let mut p = fixture();
    assert_eq!(p.fails(&ttl_request("/p/t", 5, 0)), err::BAD_ARGUMENTS);
    assert_eq!(p.fails(&ttl_request("/p/t", 5, 1 << 40)), err::BAD_ARGUMENTS);
    assert_eq!(p.fails(&ttl_request("/p/t", 0, 0)), err::BAD_ARGUMENTS);
    // A plain create carries ttl -1: a TTL mode there is a bad TTL.
    assert_eq!(p.fails(&create("/p/t", 5)), err::BAD_ARGUMENTS);
    let prepared = p.ok(&ttl_request("/p/t", 5, (1 << 40) - 1));
    assert_eq!(prepared.header.r#type, op::CREATE_TTL);
    assert!(matches!(prepared.body, TxnBody::CreateTtl(CreateTtlTxn { ttl: 1_099_511_627_775, .. })));
}

#[test]
fn the_session_is_checked_after_the_ttl_and_before_the_path() {
    let mut p = fixture();
    p.session = 0x0100_0000_0000_00ff;
    // A persistent create from an unknown session: UnknownSession; an ephemeral one needs a
    // global session: SessionExpired.
    assert_eq!(p.fails(&create("nope", 0)), err::UNKNOWN_SESSION);
    assert_eq!(p.fails(&create("nope", 1)), err::SESSION_EXPIRED);
    assert_eq!(p.fails(&create("nope", 7)), err::BAD_ARGUMENTS);
}

#[test]
fn path_syntax_is_checked_before_the_acl_and_the_acl_before_the_parent() {
    let mut p = fixture();
    assert_eq!(p.fails(&create_with_acl("nope", 0, vec![])), err::BAD_ARGUMENTS);
    assert_eq!(p.fails(&create_with_acl("/p/a\0b", 0, vec![])), err::BAD_ARGUMENTS);
    assert_eq!(p.fails(&create_with_acl("/missing/x", 0, vec![])), err::INVALID_ACL);
    assert_eq!(p.fails(&create_with_acl("/missing/x", 0, vec![Acl::new(31, "auth", "")])), err::INVALID_ACL);
}

#[test]
fn a_missing_parent_wins_over_a_bad_path_and_so_does_a_missing_create_permission() {
    let mut p = fixture();
    assert_eq!(p.fails(&create("/missing/\u{1}", 0)), err::NO_NODE);
    assert_eq!(p.fails(&create("/missing//x", 0)), err::NO_NODE);
    assert_eq!(p.fails(&create("/alice/\u{1}", 0)), err::NO_AUTH);
    // "/p/./x": its parent "/p/." does not exist.
    assert_eq!(p.fails(&create("/p/./x", 0)), err::NO_NODE);
    assert_eq!(p.fails(&create("/p/", 0)), err::BAD_ARGUMENTS);
    assert_eq!(p.fails(&create("/p/\u{ffff}", 0)), err::BAD_ARGUMENTS);
}

#[test]
fn node_exists_wins_over_an_ephemeral_parent_and_both_come_after_the_path_check() {
    let mut p = fixture();
    assert_eq!(p.fails(&create("/p", 0)), err::NODE_EXISTS);
    assert_eq!(p.fails(&create("/", 0)), err::NODE_EXISTS);
    assert_eq!(p.fails(&create("/eph/\u{1}", 0)), err::BAD_ARGUMENTS);
    assert_eq!(p.fails(&create("/eph/x", 0)), err::NO_CHILDREN_FOR_EPHEMERALS);
    assert_eq!(p.fails(&create("/eph/", 2)), err::NO_CHILDREN_FOR_EPHEMERALS);
}

#[test]
fn the_caller_needs_create_on_the_parent_unless_super() {
    let mut p = fixture();
    assert_eq!(p.fails(&create("/alice/x", 0)), err::NO_AUTH);
    p.auth.ids.push(digest("alice", "pw"));
    p.ok(&create("/alice/x", 0));
    p.auth.ids = vec![Id::new("super", "")];
    p.ok(&create("/alice/y", 0));
}

#[test]
fn the_auth_scheme_is_expanded_in_the_logged_txn() {
    let mut p = fixture();
    let alice = digest("alice", "pw");
    p.auth.ids.push(alice.clone());
    let prepared = p.ok(&create_with_acl("/p/mine", 0, vec![Acl::new(perms::READ, "auth", "")]));
    let TxnBody::Create(txn) = prepared.body else { panic!() };
    assert_eq!(txn.acl, vec![Acl { perms: perms::READ, id: alice }]);
}

#[test]
fn sequential_suffix_is_the_parents_stored_cversion_so_deletes_do_not_reuse_numbers() {
    let mut p = fixture();
    p.ok(&create("/q", 0));
    let names: Vec<String> = (0..3).map(|_| created_path(&p.ok(&create("/q/n-", 2))).to_owned()).collect();
    assert_eq!(names, ["/q/n-0000000000", "/q/n-0000000001", "/q/n-0000000002"]);
    p.ok(&delete("/q/n-0000000001", -1));
    p.ok(&create("/q/plain", 0));
    assert_eq!(created_path(&p.ok(&create("/q/n-", 3))), "/q/n-0000000004");
    // A sequential path may end in '/'.
    assert_eq!(created_path(&p.ok(&create("/q/", 2))), "/q/0000000005");
    // A failed create does not take a number.
    assert_eq!(p.fails(&create_with_acl("/q/n-", 2, vec![])), err::INVALID_ACL);
    assert_eq!(created_path(&p.ok(&create("/q/n-", 2))), "/q/n-0000000006");
}

#[test]
fn pipelined_sequential_creates_take_consecutive_numbers_before_anything_is_applied() {
    let mut p = fixture();
    p.ok(&create("/q", 0));
    let first = p.prep(&create("/q/n-", 2));
    let second = p.prep(&create("/q/n-", 2));
    p.prep(&delete("/q/n-0000000000", -1));
    let third = p.prep(&create("/q/n-", 2));
    assert_eq!(created_path(&first), "/q/n-0000000000");
    assert_eq!(created_path(&second), "/q/n-0000000001");
    assert_eq!(created_path(&third), "/q/n-0000000002");
    assert!(p.apply_all().iter().all(|result| result.err == err::OK));
}

#[test]
fn the_suffix_is_formatted_like_java_percent_010d_and_the_counter_sticks_at_the_top() {
    let mut p = fixture();
    p.ok(&create("/w", 0));
    // Set /w's stored cversion to i32::MAX through a create txn's parentCVersion, as a log could.
    p.zxid += 1;
    let body = TxnBody::Create(CreateTxn {
        path: "/w/seed".into(),
        data: None,
        acl: open(),
        ephemeral: false,
        parent_c_version: i32::MAX,
    });
    let header =
        jute::txn::TxnHeader { client_id: SESSION, cxid: 0, zxid: p.zxid, time: TIME, r#type: op::CREATE };
    p.tree.apply(&header, &body);
    // Pipelined, the second create sees the wrapped counter of the first's pending record.
    assert_eq!(created_path(&p.prep(&create("/w/s-", 2))), "/w/s-2147483647");
    assert_eq!(created_path(&p.prep(&create("/w/s-", 2))), "/w/s--2147483648");
    p.apply_all();
    // Applied, Java's createNode never lowers a cversion: the counter stays at i32::MAX, so
    // the next sequential create under /w collides with the node of that name.
    assert_eq!(p.tree.get_node("/w").unwrap().stat().cversion, i32::MAX);
    assert_eq!(p.fails(&create("/w/s-", 2)), err::NODE_EXISTS);
}

#[test]
fn pipelined_creates_of_one_path_see_each_other() {
    let mut p = fixture();
    let first = p.prep(&create("/dup", 0));
    let second = p.prep(&create("/dup", 0));
    assert_eq!(first.error(), None);
    assert_eq!(second.error(), Some(err::NODE_EXISTS));
    // ... and a pipelined delete makes room again.
    assert_eq!(p.prep(&delete("/dup", 0)).error(), None);
    assert_eq!(p.prep(&create("/dup", 0)).error(), None);
    p.apply_all();
    assert!(p.tree.get_node("/dup").is_some());
}

#[test]
fn create_txns_carry_the_new_parent_cversion_and_the_header_type_of_the_opcode() {
    let mut p = fixture();
    let before = p.tree.get_node("/p").unwrap().stat().cversion;
    let prepared = p.ok(&create("/p/a", 1));
    assert_eq!(prepared.header.r#type, op::CREATE);
    let TxnBody::Create(txn) = &prepared.body else { panic!() };
    assert_eq!(txn.parent_c_version, before + 1);
    assert!(txn.ephemeral);
    let prepared = p.ok(&Request::Create2(create_request("/p/b", 0)));
    assert_eq!(prepared.header.r#type, op::CREATE2);
    assert!(matches!(&prepared.body, TxnBody::Create2(CreateTxn { parent_c_version, ephemeral: false, .. })
        if *parent_c_version == before + 2));
    let prepared = p.ok(&Request::CreateContainer(create_request("/p/c", 4)));
    assert_eq!(prepared.header.r#type, op::CREATE_CONTAINER);
    assert!(matches!(prepared.body, TxnBody::CreateContainer(CreateContainerTxn { .. })));
}

#[test]
fn the_opcode_decides_the_txn_and_the_flags_the_pending_node() {
    let mut p = fixture();
    // createContainer with the ephemeral flag: logged as a container, pending as an ephemeral.
    let prepared = p.prep(&Request::CreateContainer(create_request("/ce", 1)));
    assert!(matches!(prepared.body, TxnBody::CreateContainer(_)));
    assert_eq!(p.prep(&create("/ce/child", 0)).error(), Some(err::NO_CHILDREN_FOR_EPHEMERALS));
    p.apply_all();
    p.ok(&create("/ce/child", 0));
    // create with the container flag is logged as a plain create.
    let prepared = p.ok(&create("/cf", 4));
    assert!(matches!(prepared.body, TxnBody::Create(CreateTxn { ephemeral: false, .. })));
    // createTTL with a non-TTL mode and a negative ttl passes prep (as in 3.8.0).
    let prepared = p.prep(&ttl_request("/tneg", 0, -1));
    assert!(matches!(prepared.body, TxnBody::CreateTtl(CreateTtlTxn { ttl: -1, .. })));
}

#[test]
fn containers_and_ttl_nodes_may_have_children_ephemerals_may_not() {
    let mut p = fixture();
    p.ok(&Request::CreateContainer(CreateRequest { flags: 4, ..create_request("/c", 4) }));
    p.ok(&Request::CreateTtl(CreateTtlRequest { ..create_ttl_request("/t", 5, 1000) }));
    p.ok(&create("/c/child", 1));
    p.ok(&create("/t/child", 0));
    // Without extended types a TTL owner reads as a session: the TTL node counts as ephemeral.
    p.extended_types = false;
    assert_eq!(p.fails(&create("/t/other", 0)), err::NO_CHILDREN_FOR_EPHEMERALS);
    p.ok(&create("/c/other", 0));
}

#[test]
fn failed_creates_still_consume_their_zxid_as_error_txns() {
    let mut p = fixture();
    let zxid = p.zxid;
    let prepared = p.prep(&create("/missing/x", 0));
    assert_eq!(prepared.header.zxid, zxid + 1);
    assert_eq!(prepared.header.r#type, op::ERROR);
    assert_eq!(prepared.body, error_body(err::NO_NODE));
    assert!(p.pending.is_empty(), "a failed create records nothing");
}
