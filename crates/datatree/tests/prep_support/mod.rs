//! A tiny pipeline for the prep_* tests: prep requests against a tree and its pending changes,
//! apply them when the test says so (as the server does once a txn is durable).
#![allow(dead_code)]

use datatree::acl::AuthInfo;
use datatree::prep::{prep_write, standalone_session_check, PendingChanges, PrepContext, Prepared};
use datatree::{DataTree, TxnResult};
use jute::consts::{err, op, perms};
use jute::proto::*;
use jute::records::{Acl, Id};
use jute::request::{MultiOp, Request};
use jute::txn::{CreateSessionTxn, ErrorTxn, TxnBody, TxnHeader};
use jute::Bytes;
use std::collections::HashMap;

pub const SESSION: i64 = 0x0100_0000_0000_0001;
pub const OTHER_SESSION: i64 = 0x0100_0000_0000_0002;
pub const TIME: i64 = 1_700_000_000_000;

pub fn open() -> Vec<Acl> {
    vec![Acl::new(perms::ALL, "world", "anyone")]
}

pub fn data(text: &str) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(text.as_bytes()))
}

pub fn create_request(path: &str, flags: i32) -> CreateRequest {
    CreateRequest { path: path.into(), data: data("x"), acl: open(), flags }
}

pub fn create(path: &str, flags: i32) -> Request {
    Request::Create(create_request(path, flags))
}

pub fn create_with_acl(path: &str, flags: i32, acl: Vec<Acl>) -> Request {
    Request::Create(CreateRequest { acl, ..create_request(path, flags) })
}

pub fn create_ttl_request(path: &str, flags: i32, ttl: i64) -> CreateTtlRequest {
    CreateTtlRequest { path: path.into(), data: data("x"), acl: open(), flags, ttl }
}

pub fn delete(path: &str, version: i32) -> Request {
    Request::Delete(DeleteRequest { path: path.into(), version })
}

pub fn set_data(path: &str, text: &str, version: i32) -> Request {
    Request::SetData(SetDataRequest { path: path.into(), data: data(text), version })
}

pub fn set_acl(path: &str, acl: Vec<Acl>, version: i32) -> Request {
    Request::SetAcl(SetAclRequest { path: path.into(), acl, version })
}

pub fn m_create(path: &str, flags: i32) -> MultiOp {
    MultiOp::Create(create_request(path, flags))
}

pub fn m_delete(path: &str, version: i32) -> MultiOp {
    MultiOp::Delete(DeleteRequest { path: path.into(), version })
}

pub fn m_set_data(path: &str, text: &str, version: i32) -> MultiOp {
    MultiOp::SetData(SetDataRequest { path: path.into(), data: data(text), version })
}

pub fn m_check(path: &str, version: i32) -> MultiOp {
    MultiOp::Check(CheckVersionRequest { path: path.into(), version })
}

pub fn digest(user: &str, password: &str) -> Id {
    Id::new("digest", datatree::acl::digest_id(&format!("{user}:{password}")))
}

/// The server side of one session: the tree, the pending changes, the next zxid.
pub struct Pipeline {
    pub tree: DataTree,
    pub pending: PendingChanges,
    /// The last zxid handed out.
    pub zxid: i64,
    pub session: i64,
    pub auth: AuthInfo,
    pub extended_types: bool,
    pub enforce_quota: bool,
    /// Java's standalone session tracker: known sessions and whether each is closing.
    pub sessions: HashMap<i64, bool>,
    /// Prepared but not yet applied, in zxid order.
    pub queue: Vec<Prepared>,
}

impl Pipeline {
    /// A fresh tree with sessions [`SESSION`] and [`OTHER_SESSION`] created; the caller is
    /// [`SESSION`] with only an ip id.
    pub fn new() -> Pipeline {
        let mut pipeline = Pipeline {
            tree: DataTree::new(),
            pending: PendingChanges::new(),
            zxid: 0,
            session: SESSION,
            auth: AuthInfo { ids: vec![Id::new("ip", "127.0.0.1")], skip_acl: false },
            extended_types: true,
            enforce_quota: false,
            sessions: HashMap::new(),
            queue: Vec::new(),
        };
        for session in [SESSION, OTHER_SESSION] {
            pipeline.zxid += 1;
            let header = TxnHeader {
                client_id: session,
                cxid: 0,
                zxid: pipeline.zxid,
                time: TIME,
                r#type: op::CREATE_SESSION,
            };
            pipeline.tree.apply(&header, &TxnBody::CreateSession(CreateSessionTxn { time_out: 30_000 }));
            pipeline.sessions.insert(session, false);
        }
        pipeline
    }

    /// Preps `request` with the next zxid and queues it (not applied).
    pub fn prep(&mut self, request: &Request) -> Prepared {
        self.zxid += 1;
        let sessions = self.sessions.clone();
        let check_session = move |id: i64, check| {
            standalone_session_check(sessions.contains_key(&id), sessions.get(&id) == Some(&true), check)
        };
        let ctx = PrepContext {
            session_id: self.session,
            cxid: self.zxid as i32,
            zxid: self.zxid,
            time_ms: TIME + self.zxid,
            auth: &self.auth,
            extended_types_enabled: self.extended_types,
            enforce_quota: self.enforce_quota,
            check_session: &check_session,
        };
        let prepared = prep_write(&self.tree, &mut self.pending, &ctx, request);
        if matches!(request, Request::CloseSession) {
            self.sessions.insert(self.session, true);
        }
        assert_eq!(prepared.header.zxid, self.zxid);
        self.queue.push(prepared.clone());
        prepared
    }

    /// Applies every queued txn, in order, noting each applied.
    pub fn apply_all(&mut self) -> Vec<TxnResult> {
        let queue = std::mem::take(&mut self.queue);
        queue
            .iter()
            .map(|prepared| {
                let outcome = self.tree.apply(&prepared.header, &prepared.body);
                if prepared.header.r#type == op::CLOSE_SESSION {
                    self.sessions.remove(&prepared.header.client_id);
                }
                self.pending.note_applied(prepared.header.zxid);
                outcome.result
            })
            .collect()
    }

    /// Preps and applies `request`; returns what was prepared and the apply result.
    pub fn run(&mut self, request: &Request) -> (Prepared, TxnResult) {
        assert!(self.queue.is_empty(), "run with txns still queued");
        let prepared = self.prep(request);
        let result = self.apply_all().pop().expect("one result");
        (prepared, result)
    }

    /// Preps and applies `request`, asserting it succeeded.
    pub fn ok(&mut self, request: &Request) -> Prepared {
        let (prepared, result) = self.run(request);
        assert_eq!(prepared.error(), None, "{request:?} failed: {prepared:?}");
        assert_eq!(result.err, err::OK, "{request:?} failed to apply: {result:?}");
        prepared
    }

    /// The error code `request` fails with (prepped and applied); panics if it succeeds.
    pub fn fails(&mut self, request: &Request) -> i32 {
        let (prepared, _) = self.run(request);
        prepared.error().unwrap_or_else(|| panic!("{request:?} succeeded: {prepared:?}"))
    }
}

/// The error body every failed request gets.
pub fn error_body(code: i32) -> TxnBody {
    TxnBody::Error(ErrorTxn { err: code })
}
