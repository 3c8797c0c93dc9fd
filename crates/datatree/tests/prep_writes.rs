//! delete, deleteContainer, setData, setACL, check, closeSession, and the pending changes.

mod prep_support;

use datatree::prep::{is_write, standalone_session_check, PendingChanges, SessionCheck};
use jute::consts::{err, op, perms};
use jute::proto::{CheckVersionRequest, DeleteContainerRequest, GetDataRequest};
use jute::records::{Acl, Id};
use jute::request::Request;
use jute::txn::{CheckVersionTxn, CloseSessionTxn, SetAclTxn, SetDataTxn, TxnBody};
use prep_support::*;

fn delete_container(path: &str) -> Request {
    Request::DeleteContainer(DeleteContainerRequest { path: path.into() })
}

fn check(path: &str, version: i32) -> Request {
    Request::Check(CheckVersionRequest { path: path.into(), version })
}

fn alice_only(perms: i32) -> Vec<Acl> {
    vec![Acl { perms, id: digest("alice", "pw") }]
}

#[test]
fn the_built_in_nodes_cannot_be_deleted() {
    let mut p = Pipeline::new();
    for path in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
        assert_eq!(p.fails(&delete(path, -1)), err::BAD_ARGUMENTS, "{path}");
        assert_eq!(p.fails(&delete_container(path)), err::BAD_ARGUMENTS, "{path}");
    }
}

#[test]
fn delete_checks_parent_then_delete_permission_then_node_then_version_then_children() {
    let mut p = Pipeline::new();
    p.ok(&create("/d", 0));
    p.ok(&create("/d/c", 0));
    p.ok(&create_with_acl("/locked", 0, alice_only(perms::CREATE | perms::READ)));
    assert_eq!(p.fails(&delete("nope", -1)), err::BAD_ARGUMENTS);
    assert_eq!(p.fails(&delete("/d/\0", -1)), err::BAD_ARGUMENTS);
    // No full path validation: "/d/" is just a node that does not exist.
    assert_eq!(p.fails(&delete("/d/", -1)), err::NO_NODE);
    assert_eq!(p.fails(&delete("/x/y", -1)), err::NO_NODE);
    // The permission on the parent is checked before the node is looked up.
    assert_eq!(p.fails(&delete("/locked/missing", -1)), err::NO_AUTH);
    // The version before the children.
    assert_eq!(p.fails(&delete("/d", 5)), err::BAD_VERSION);
    assert_eq!(p.fails(&delete("/d", 0)), err::NOT_EMPTY);
    p.ok(&delete("/d/c", 0));
    let prepared = p.ok(&delete("/d", -1));
    assert_eq!(prepared.header.r#type, op::DELETE);
}

#[test]
fn delete_container_refuses_ephemerals_and_non_empty_nodes_only() {
    let mut p = Pipeline::new();
    p.ok(&Request::CreateContainer(create_request("/c", 4)));
    p.ok(&create("/c/child", 0));
    p.ok(&create("/e", 1));
    p.ok(&create("/plain", 0));
    assert_eq!(p.fails(&delete_container("/c")), err::NOT_EMPTY);
    assert_eq!(p.fails(&delete_container("/e")), err::BAD_VERSION);
    assert_eq!(p.fails(&delete_container("/missing")), err::NO_NODE);
    let prepared = p.ok(&delete_container("/plain"));
    assert_eq!(prepared.header.r#type, op::DELETE_CONTAINER);
    assert!(matches!(prepared.body, TxnBody::DeleteContainer(_)));
    p.ok(&delete("/c/child", -1));
    p.ok(&set_acl("/", vec![Acl::new(perms::READ, "world", "anyone")], -1));
    // No session, ACL or version check: the container manager has no session.
    p.session = 0;
    p.auth.ids.clear();
    p.ok(&delete_container("/c"));
    assert_eq!(p.fails(&delete("/plain", -1)), err::UNKNOWN_SESSION);
}

#[test]
fn set_data_checks_path_node_write_permission_then_version_and_counts_versions_pipelined() {
    let mut p = Pipeline::new();
    p.ok(&create_with_acl("/r", 0, alice_only(perms::READ)));
    p.ok(&create("/v", 0));
    assert_eq!(p.fails(&set_data("v", "x", -1)), err::BAD_ARGUMENTS);
    assert_eq!(p.fails(&set_data("/missing", "x", -1)), err::NO_NODE);
    assert_eq!(p.fails(&set_data("/r", "x", 99)), err::NO_AUTH);
    assert_eq!(p.fails(&set_data("/zookeeper/config", "x", -1)), err::NO_AUTH);
    let first = p.prep(&set_data("/v", "1", 0));
    let second = p.prep(&set_data("/v", "2", 0));
    let third = p.prep(&set_data("/v", "3", 1));
    let any = p.prep(&set_data("/v", "4", -1));
    assert!(matches!(first.body, TxnBody::SetData(SetDataTxn { version: 1, .. })));
    assert_eq!(second.error(), Some(err::BAD_VERSION));
    assert!(matches!(third.body, TxnBody::SetData(SetDataTxn { version: 2, .. })));
    assert!(matches!(any.body, TxnBody::SetData(SetDataTxn { version: 3, .. })));
    p.apply_all();
    assert_eq!(p.tree.get_node("/v").unwrap().stat().version, 3);
}

#[test]
fn set_acl_fixes_the_list_before_looking_up_the_node_and_checks_admin_and_aversion() {
    let mut p = Pipeline::new();
    p.ok(&create_with_acl("/n", 0, alice_only(perms::READ | perms::ADMIN)));
    assert_eq!(p.fails(&set_acl("n", vec![], -1)), err::BAD_ARGUMENTS);
    assert_eq!(p.fails(&set_acl("/missing", vec![], -1)), err::INVALID_ACL);
    assert_eq!(p.fails(&set_acl("/missing", open(), -1)), err::NO_NODE);
    assert_eq!(p.fails(&set_acl("/n", open(), -1)), err::NO_AUTH);
    p.auth.ids.push(digest("alice", "pw"));
    assert_eq!(p.fails(&set_acl("/n", open(), 3)), err::BAD_VERSION);
    let prepared = p.ok(&set_acl("/n", vec![Acl::new(perms::ALL, "auth", "")], 0));
    let TxnBody::SetAcl(SetAclTxn { acl, version, .. }) = prepared.body else { panic!() };
    assert_eq!((acl, version), (alice_only(perms::ALL), 1));
}

#[test]
fn a_pending_set_acl_leaves_the_old_acl_for_requests_prepared_behind_it() {
    let mut p = Pipeline::new();
    p.ok(&create("/open", 0));
    p.auth.ids.push(digest("alice", "pw"));
    p.prep(&set_acl("/open", alice_only(perms::ALL), 0));
    p.auth.ids.truncate(1);
    // Java's pending record keeps the old (open) ACL until the setACL is applied.
    assert_eq!(p.prep(&set_data("/open", "still allowed", -1)).error(), None);
    p.apply_all();
    assert_eq!(p.fails(&set_data("/open", "refused", -1)), err::NO_AUTH);
}

#[test]
fn check_needs_read_and_logs_the_version_plus_one() {
    let mut p = Pipeline::new();
    p.ok(&create_with_acl("/n", 0, alice_only(perms::READ)));
    assert_eq!(p.fails(&check("n", 0)), err::BAD_ARGUMENTS);
    assert_eq!(p.fails(&check("/missing", 0)), err::NO_NODE);
    assert_eq!(p.fails(&check("/n", 0)), err::NO_AUTH);
    p.auth.ids.push(digest("alice", "pw"));
    assert_eq!(p.fails(&check("/n", 7)), err::BAD_VERSION);
    let prepared = p.ok(&check("/n", 0));
    assert_eq!(prepared.header.r#type, op::CHECK);
    assert_eq!(prepared.body, TxnBody::Check(CheckVersionTxn { path: "/n".into(), version: 1 }));
    assert!(p.pending.is_empty(), "a check records nothing");
}

#[test]
fn close_session_lists_the_ephemerals_the_pending_changes_will_leave() {
    let mut p = Pipeline::new();
    p.session = OTHER_SESSION;
    p.ok(&create("/e1", 1));
    p.ok(&create("/e2", 1));
    p.ok(&create("/p", 0));
    p.prep(&create("/e3", 1));
    p.prep(&delete("/e1", -1));
    p.prep(&create("/e4", 1));
    p.prep(&delete("/e4", -1));
    let prepared = p.prep(&Request::CloseSession);
    assert_eq!(prepared.header.r#type, op::CLOSE_SESSION);
    let TxnBody::CloseSession(Some(CloseSessionTxn { paths2_delete })) = &prepared.body else { panic!() };
    assert_eq!(paths2_delete, &["/e2", "/e3"]);
    // Its records mark them deleted for what follows, and the session is closing.
    assert!(p.pending.node(&p.tree, "/e2").is_none());
    assert_eq!(p.prep(&create("/after", 0)).error(), Some(err::SESSION_EXPIRED));
    p.apply_all();
    assert!(p.tree.get_node("/e2").is_none() && p.tree.get_node("/e3").is_none());
    assert_eq!(p.fails(&create("/after", 0)), err::UNKNOWN_SESSION);
    assert_eq!(p.fails(&create("/after", 1)), err::SESSION_EXPIRED);
}

#[test]
fn the_standalone_session_tracker_answers_like_java() {
    assert_eq!(standalone_session_check(true, false, SessionCheck::Any), Ok(()));
    assert_eq!(standalone_session_check(true, false, SessionCheck::Global), Ok(()));
    assert_eq!(standalone_session_check(false, false, SessionCheck::Any), Err(err::UNKNOWN_SESSION));
    assert_eq!(standalone_session_check(false, false, SessionCheck::Global), Err(err::SESSION_EXPIRED));
    assert_eq!(standalone_session_check(true, true, SessionCheck::Any), Err(err::SESSION_EXPIRED));
}

#[test]
fn root_children_are_recorded_under_the_empty_parent_key_as_in_java() {
    let mut p = Pipeline::new();
    p.prep(&set_data("/", "root", -1));
    p.prep(&create("/a", 0));
    assert!(p.pending.latest("").is_some(), "create of /a records its parent under \"\"");
    assert_eq!(p.pending.latest("/").unwrap().node.as_ref().unwrap().stat.version, 1);
    // The "" record was made from the tree's root, so it does not show the pending setData.
    assert_eq!(p.pending.latest("").unwrap().node.as_ref().unwrap().stat.version, 0);
    assert_eq!(p.pending.node(&p.tree, "").unwrap().child_count, 2);
    p.apply_all();
    assert!(p.pending.is_empty());
}

#[test]
fn applied_records_are_dropped_and_a_newer_record_of_the_path_survives() {
    let mut p = Pipeline::new();
    p.ok(&create("/v", 0));
    let first = p.prep(&set_data("/v", "1", -1));
    let second = p.prep(&set_data("/v", "2", -1));
    let mut pending = std::mem::take(&mut p.pending);
    assert_eq!(pending.len(), 2);
    p.tree.apply(&first.header, &first.body);
    pending.note_applied(first.header.zxid);
    assert_eq!(pending.len(), 1);
    assert_eq!(pending.latest("/v").unwrap().zxid, second.header.zxid);
    assert_eq!(pending.node(&p.tree, "/v").unwrap().stat.version, 2);
    pending.note_applied(second.header.zxid + 100);
    assert!(pending.is_empty() && pending.latest("/v").is_none());
    let mut cleared = PendingChanges::new();
    std::mem::swap(&mut cleared, &mut pending);
    cleared.clear();
    assert!(cleared.is_empty());
}

#[test]
fn only_writes_are_prepared() {
    assert!(is_write(&create("/a", 0)));
    assert!(is_write(&Request::CloseSession));
    assert!(!is_write(&Request::GetData(GetDataRequest { path: "/".into(), watch: false })));
    assert!(!is_write(&Request::Ping));
    let result = std::panic::catch_unwind(|| {
        let mut p = Pipeline::new();
        p.prep(&Request::Ping);
    });
    assert!(result.is_err(), "a read handed to prep is a caller bug");
}

#[test]
fn skip_acl_skips_permission_checks_but_not_the_acl_fixup() {
    let mut p = Pipeline::new();
    p.ok(&create_with_acl("/locked", 0, alice_only(perms::READ)));
    p.auth.skip_acl = true;
    p.ok(&create("/locked/x", 0));
    p.ok(&set_data("/locked", "x", -1));
    assert_eq!(p.fails(&create_with_acl("/locked/y", 0, vec![])), err::INVALID_ACL);
    assert_eq!(p.fails(&create_with_acl("/locked/y", 0, vec![Acl::new(31, "auth", "")])), err::INVALID_ACL);
    p.auth.ids.push(Id::new("digest", "bob:hash"));
    p.ok(&create_with_acl("/locked/y", 0, vec![Acl::new(31, "auth", "")]));
}

#[test]
fn with_quotas_enforced_a_hard_limit_fails_creates_and_set_data_checked_against_applied_usage() {
    let mut p = Pipeline::new();
    p.enforce_quota = true;
    p.ok(&create("/q", 0));
    p.ok(&create("/zookeeper/quota/q", 0));
    let limits = jute::proto::CreateRequest {
        data: data("count=-1,bytes=-1=;byteHardLimit=12;countHardLimit=3"),
        ..create_request("/zookeeper/quota/q/zookeeper_limits", 0)
    };
    p.ok(&Request::Create(limits));
    p.ok(&create("/zookeeper/quota/q/zookeeper_stats", 0));
    // Usage is read from the tree: pipelined creates all pass the check (/q counts as one).
    for path in ["/q/a", "/q/b", "/q/c"] {
        assert_eq!(p.prep(&create(path, 0)).error(), None);
    }
    p.apply_all();
    assert_eq!(p.fails(&create("/q/d", 0)), err::QUOTA_EXCEEDED);
    assert_eq!(p.fails(&create("/q/a/deeper", 0)), err::QUOTA_EXCEEDED);
    // Quota comes before the version check; shrinking data is always fine.
    assert_eq!(p.fails(&set_data("/q/b", "0123456789abcdef", 99)), err::QUOTA_EXCEEDED);
    assert_eq!(p.fails(&set_data("/q/a", "", 99)), err::BAD_VERSION);
    p.enforce_quota = false;
    p.ok(&create("/q/d", 0));
}

#[test]
fn undecodable_writes_become_marshalling_error_txns_and_reads_or_reconfig_get_none() {
    let auth = datatree::acl::AuthInfo::default();
    let check_session = |_: i64, _: SessionCheck| Ok(());
    let ctx = datatree::prep::PrepContext {
        session_id: SESSION,
        cxid: 7,
        zxid: 42,
        time_ms: TIME,
        auth: &auth,
        extended_types_enabled: false,
        enforce_quota: false,
        check_session: &check_session,
    };
    for opcode in [op::CREATE, op::CREATE2, op::CREATE_TTL, op::CREATE_CONTAINER, op::DELETE, op::SET_DATA] {
        let prepared = datatree::prep::prep_undecodable(&ctx, opcode).expect("a txn");
        assert_eq!((prepared.header.zxid, prepared.header.r#type), (42, op::ERROR));
        assert_eq!(prepared.error(), Some(err::MARSHALLING_ERROR));
    }
    for opcode in [op::SET_ACL, op::CHECK, op::MULTI] {
        assert!(datatree::prep::prep_undecodable(&ctx, opcode).is_some());
    }
    for opcode in [op::GET_DATA, op::RECONFIG, op::SYNC, op::MULTI_READ, op::DELETE_CONTAINER] {
        assert!(datatree::prep::prep_undecodable(&ctx, opcode).is_none(), "{opcode}");
    }
    let prepared = datatree::prep::prep_client_delete_container(&ctx);
    assert_eq!(prepared.error(), Some(err::BAD_ARGUMENTS));
}
