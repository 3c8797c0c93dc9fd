//! Txn builders shared by the tree_* tests.
#![allow(dead_code)]

use datatree::{ApplyOutcome, DataTree};
use jute::consts::{event_type, op};
use jute::records::Acl;
use jute::txn::*;
use jute::Bytes;

pub const SESSION: i64 = 0x0100_0000_0000_0001;
pub const OTHER_SESSION: i64 = 0x0100_0000_0000_0002;

pub fn open() -> Vec<Acl> {
    vec![Acl::new(31, "world", "anyone")]
}

pub fn data(text: &str) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(text.as_bytes()))
}

pub fn header(body: &TxnBody, zxid: i64) -> TxnHeader {
    TxnHeader { client_id: SESSION, cxid: 1, zxid, time: 1000 + zxid, r#type: body.txn_type() }
}

/// Applies `body` as session [`SESSION`] at `zxid` (time = 1000 + zxid).
pub fn apply(tree: &mut DataTree, zxid: i64, body: TxnBody) -> ApplyOutcome {
    tree.apply(&header(&body, zxid), &body)
}

pub fn apply_as(tree: &mut DataTree, session: i64, zxid: i64, body: TxnBody) -> ApplyOutcome {
    let mut header = header(&body, zxid);
    header.client_id = session;
    tree.apply(&header, &body)
}

pub fn create_txn(path: &str, parent_cversion: i32) -> CreateTxn {
    CreateTxn {
        path: path.into(),
        data: data("x"),
        acl: open(),
        ephemeral: false,
        parent_c_version: parent_cversion,
    }
}

/// A plain persistent create with parentCVersion -1 (the tree computes it).
pub fn create(path: &str) -> TxnBody {
    TxnBody::Create(create_txn(path, -1))
}

pub fn create2(path: &str) -> TxnBody {
    TxnBody::Create2(create_txn(path, -1))
}

pub fn ephemeral(path: &str) -> TxnBody {
    TxnBody::Create(CreateTxn { ephemeral: true, ..create_txn(path, -1) })
}

pub fn container(path: &str) -> TxnBody {
    TxnBody::CreateContainer(CreateContainerTxn {
        path: path.into(),
        data: None,
        acl: open(),
        parent_c_version: -1,
    })
}

pub fn ttl(path: &str, ttl: i64) -> TxnBody {
    TxnBody::CreateTtl(CreateTtlTxn { path: path.into(), data: None, acl: open(), parent_c_version: -1, ttl })
}

pub fn delete(path: &str) -> TxnBody {
    TxnBody::Delete(DeleteTxn { path: path.into() })
}

pub fn set_data(path: &str, value: Option<Bytes>, version: i32) -> TxnBody {
    TxnBody::SetData(SetDataTxn { path: path.into(), data: value, version })
}

pub fn set_acl(path: &str, acl: Vec<Acl>, version: i32) -> TxnBody {
    TxnBody::SetAcl(SetAclTxn { path: path.into(), acl, version })
}

pub fn error(code: i32) -> TxnBody {
    TxnBody::Error(ErrorTxn { err: code })
}

pub fn check(path: &str, version: i32) -> TxnBody {
    TxnBody::Check(CheckVersionTxn { path: path.into(), version })
}

pub fn create_session(timeout: i32) -> TxnBody {
    TxnBody::CreateSession(CreateSessionTxn { time_out: timeout })
}

pub fn close_session(paths: Option<&[&str]>) -> TxnBody {
    TxnBody::CloseSession(
        paths.map(|paths| CloseSessionTxn { paths2_delete: paths.iter().map(|p| p.to_string()).collect() }),
    )
}

/// (event type, path, watchers) triples of an outcome, for compact assertions.
pub fn events(outcome: &ApplyOutcome) -> Vec<(i32, String, Vec<u64>)> {
    outcome.events.iter().map(|n| (n.event.r#type, n.event.path.clone(), n.watchers.clone())).collect()
}

pub const CREATED: i32 = event_type::NODE_CREATED;
pub const DELETED: i32 = event_type::NODE_DELETED;
pub const CHANGED: i32 = event_type::NODE_DATA_CHANGED;
pub const CHILDREN: i32 = event_type::NODE_CHILDREN_CHANGED;
pub const MULTI: i32 = op::MULTI;
