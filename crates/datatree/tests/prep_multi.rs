//! multi: §9 and Java's multi handling in PrepRequestProcessor.

mod prep_support;

use datatree::prep::ChangeRecord;
use jute::consts::{err, op};
use jute::proto::CreateTtlRequest;
use jute::request::{MultiOp, OpResult, Request};
use jute::txn::{CheckVersionTxn, CreateTxn, SetDataTxn, TxnBody};
use prep_support::*;

fn records(p: &Pipeline) -> Vec<ChangeRecord> {
    p.pending.records().cloned().collect()
}

fn subs(body: &TxnBody) -> &[TxnBody] {
    match body {
        TxnBody::Multi(subs) => subs,
        other => panic!("not a multi: {other:?}"),
    }
}

#[test]
fn a_successful_multi_is_one_txn_with_one_zxid_and_its_sub_txns_in_order() {
    let mut p = Pipeline::new();
    p.ok(&create("/m", 0));
    let zxid = p.zxid + 1;
    let prepared = p.ok(&Request::Multi(vec![
        m_create("/m/a", 0),
        m_set_data("/m/a", "b", 0),
        m_check("/m/a", 1),
        m_delete("/m/a", 1),
    ]));
    assert_eq!(prepared.header.r#type, op::MULTI);
    assert_eq!(prepared.header.zxid, zxid);
    let subs = subs(&prepared.body);
    assert_eq!(subs.len(), 4);
    assert!(matches!(&subs[0], TxnBody::Create(CreateTxn { path, .. }) if path == "/m/a"));
    assert!(matches!(&subs[1], TxnBody::SetData(SetDataTxn { version: 1, .. })));
    // check carries the version + 1, as Java's checkAndIncVersion returns it.
    assert!(matches!(&subs[2], TxnBody::Check(CheckVersionTxn { version: 2, .. })));
    assert!(matches!(&subs[3], TxnBody::Delete(_)));
    assert!(p.tree.get_node("/m/a").is_none());
}

#[test]
fn a_failed_multi_keeps_earlier_txns_names_the_failure_and_marks_the_rest_inconsistent() {
    let mut p = Pipeline::new();
    p.ok(&create("/m", 0));
    let prepared = p.prep(&Request::Multi(vec![
        m_create("/m/x", 0),
        m_check("/m/missing", 0),
        m_create("/m/y", 0),
        m_delete("/m", -1),
    ]));
    // The whole request is a multi txn (header multi, reply header err 0), not an error txn.
    assert_eq!(prepared.header.r#type, op::MULTI);
    assert_eq!(prepared.error(), None);
    let subs = subs(&prepared.body);
    assert!(matches!(&subs[0], TxnBody::Create(_)), "earlier ops keep their txns in the log");
    assert_eq!(subs[1], error_body(err::NO_NODE));
    assert_eq!(subs[2], error_body(err::RUNTIME_INCONSISTENCY));
    assert_eq!(subs[3], error_body(err::RUNTIME_INCONSISTENCY));
    // Applying it changes nothing and answers 0, the code, -2, -2.
    let results = p.apply_all();
    let codes: Vec<i32> = results[0].multi.iter().map(|r| r.err).collect();
    assert_eq!(codes, [0, err::NO_NODE, err::RUNTIME_INCONSISTENCY, err::RUNTIME_INCONSISTENCY]);
    assert!(p.tree.get_node("/m/x").is_none());
}

#[test]
fn a_failed_multi_rolls_its_pending_changes_back() {
    let mut p = Pipeline::new();
    p.ok(&create("/m", 0));
    // Pending before the multi: a create and a setData, not applied.
    p.prep(&create("/m/s-", 2));
    p.prep(&set_data("/m", "v1", 0));
    let before = records(&p);
    let prepared = p.prep(&Request::Multi(vec![
        m_create("/m/s-", 2),
        m_create("/m/x", 0),
        m_set_data("/m", "v2", 1),
        m_delete("/m/x", 0),
        m_set_data("/m", "v3", 99),
    ]));
    assert_eq!(subs(&prepared.body)[4], error_body(err::BAD_VERSION));
    assert_eq!(records(&p), before, "exactly the records from before the multi");
    // Later requests see the tree as if the multi had never been prepared.
    assert_eq!(p.prep(&create("/m/x", 0)).error(), None);
    assert_eq!(p.prep(&set_data("/m", "v2", 1)).error(), None);
    let TxnBody::Create(txn) = p.prep(&create("/m/s-", 2)).body else { panic!() };
    assert_eq!(txn.path, "/m/s-0000000002", "the rolled-back sequence number is reused");
    let codes: Vec<i32> = p.apply_all().iter().map(|r| r.err).collect();
    assert_eq!(codes, [0, 0, err::BAD_VERSION, 0, 0, 0]);
    assert!(p.tree.get_node("/m/s-0000000002").is_some());
}

#[test]
fn ops_of_a_multi_see_the_earlier_ops_of_the_same_multi() {
    let mut p = Pipeline::new();
    let prepared = p.ok(&Request::Multi(vec![
        m_create("/a", 0),
        m_create("/a/b", 0),
        m_create("/a/b/s-", 2),
        m_create("/a/b/s-", 2),
        m_set_data("/a", "x", 0),
        m_set_data("/a", "y", 1),
    ]));
    let paths: Vec<&str> = subs(&prepared.body)
        .iter()
        .filter_map(|sub| match sub {
            TxnBody::Create(t) => Some(t.path.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(paths, ["/a", "/a/b", "/a/b/s-0000000000", "/a/b/s-0000000001"]);
}

#[test]
fn inside_a_multi_the_create_type_comes_from_the_flags() {
    let mut p = Pipeline::new();
    let ttl = |path: &str, flags, ttl| {
        MultiOp::CreateTtl(CreateTtlRequest { ..create_ttl_request(path, flags, ttl) })
    };
    let (prepared, result) = p.run(&Request::Multi(vec![
        MultiOp::Create2(create_request("/c2", 0)),
        MultiOp::CreateContainer(create_request("/cc", 0)),
        MultiOp::Create(create_request("/c4", 4)),
        ttl("/t0", 0, 100),
        ttl("/t5", 5, 100),
    ]));
    let types: Vec<i32> = subs(&prepared.body).iter().map(TxnBody::txn_type).collect();
    assert_eq!(types, [op::CREATE, op::CREATE, op::CREATE_CONTAINER, op::CREATE, op::CREATE_TTL]);
    // So create2 inside a multi is answered as create: the path, no stat.
    assert_eq!(result.multi_op_results()[0], OpResult::Create { path: "/c2".into() });
    assert!(matches!(result.multi_op_results()[4], OpResult::Create2 { .. }));
}

#[test]
fn a_create_request_with_ttl_flags_fails_the_whole_multi_with_marshalling_error() {
    let mut p = Pipeline::new();
    let before = records(&p);
    let prepared = p.prep(&Request::Multi(vec![m_create("/before", 0), m_create("/ttl", 5)]));
    assert_eq!(prepared.header.r#type, op::ERROR);
    assert_eq!(prepared.error(), Some(err::MARSHALLING_ERROR));
    // Deliberate difference: Java leaves /before pending until this error txn is applied.
    assert_eq!(records(&p), before);
    assert_eq!(p.prep(&create("/before", 0)).error(), None);
}

#[test]
fn each_op_checks_the_session_and_an_empty_multi_is_an_empty_multi_txn() {
    let mut p = Pipeline::new();
    p.ok(&create("/m", 0));
    let prepared = p.ok(&Request::Multi(vec![]));
    assert_eq!(prepared.body, TxnBody::Multi(vec![]));
    p.session = 0x0100_0000_0000_00ff;
    let prepared = p.prep(&Request::Multi(vec![m_check("/m", -1)]));
    assert_eq!(subs(&prepared.body), [error_body(err::UNKNOWN_SESSION)]);
    let prepared = p.prep(&Request::Multi(vec![m_create("/m/e", 1)]));
    assert_eq!(subs(&prepared.body), [error_body(err::SESSION_EXPIRED)]);
}

#[test]
fn reads_inside_a_write_multi_fail_the_request() {
    let mut p = Pipeline::new();
    let read = MultiOp::GetData(jute::proto::GetDataRequest { path: "/".into(), watch: false });
    let prepared = p.prep(&Request::Multi(vec![m_create("/a", 0), read]));
    assert_eq!(prepared.error(), Some(err::MARSHALLING_ERROR));
    assert!(p.pending.is_empty());
}
