//! Java's PrepRequestProcessor: turns a client write into the txn that will be logged, or into an
//! error txn, without touching the tree.
//!
//! # Driving it
//!
//! Writes are validated against the tree *as it will be* once every txn already handed out is
//! applied: [`PendingChanges`] (Java's outstandingChanges) holds, per path, the node each
//! prepared-but-not-applied txn leaves behind, and lookups fall back to the [`DataTree`]. So:
//!
//! 1. for each write, in request order, call [`prep_write`] with the next zxid; it records its
//!    changes in `pending` and returns the [`Prepared`] header and body to propose / log;
//!    with digests enabled, pass every txn about to be proposed (prepared here or not) to
//!    [`PendingChanges::txn_digest`], in zxid order, for the TxnDigest to log and propose;
//! 2. once a txn is durable (committed), apply it with `DataTree::apply`, **then** call
//!    [`PendingChanges::note_applied`] with its zxid (Java does both under one lock, in that
//!    order), so that the records it made are dropped only when the tree shows them;
//! 3. when the pipeline is reset (leadership lost, resync), call [`PendingChanges::clear`].
//!
//! Every write consumes its zxid, failed or not (a failure is logged as an error txn). Session
//! state is the caller's: [`PrepContext::check_session`] answers as Java's session tracker, and
//! once a session's closeSession is prepared the tracker must call it closing (Java marks it so
//! in prep), so that requests pipelined behind it fail with SessionExpired.
//!
//! `tests/prep_golden.rs` replays a script of requests that were run through the 3.8.0 jar's
//! PrepRequestProcessor and checks every prepared header and txn byte for byte.
//!
//! # Java behaviour kept on purpose
//!
//! - The checks run in Java's order, so the same error wins (create: flags, TTL, session, path
//!   syntax, ACL list, parent, CREATE permission, sequence suffix, full path, exists, ephemeral
//!   parent, quota; setData: session, path, node, WRITE permission, quota, version).
//! - Delete and deleteContainer do not run the full path validation (Java doesn't either): only
//!   "has a `/`, has no NUL, is not a built-in node".
//! - The parent of `/x` is looked up under the key `""`, as Java does, and Java's tree maps `""`
//!   to the root. Pending records made by creates/deletes of root children are therefore kept
//!   apart from those of setData/setACL on `/`.
//! - A pending setACL records the new aversion but not the new ACL list (Java's ChangeRecord
//!   keeps the old list), so requests pipelined behind it are checked against the old ACL until
//!   the setACL is applied.
//! - Inside a multi the op type comes from the create flags, not from the wire opcode (Java
//!   rebuilds each op with `Op.create(path, data, acl, flags[, ttl])`): create2 is logged and
//!   answered as create, any create with flags 4 is a createContainer, a createTTL whose flags
//!   are not a TTL mode is a plain create (its ttl dropped), and a create/create2/createContainer
//!   with TTL flags fails the whole request with MarshallingError (a ClassCastException in Java).
//! - Quota usage is read from the tree, not from the pending changes: pipelined creates under a
//!   quota do not add up until applied.
//! - A standalone `check` (op 13) is prepared into a check txn, as 3.8.0 does (later versions
//!   answer Unimplemented; a server wanting that must reject it before calling this).
//!
//! # Deliberate differences
//!
//! - When a multi fails with a Java runtime exception (MarshallingError), its pending records
//!   are rolled back; Java leaves them in place until the error txn is applied.
//! - The txn's digest ([`PendingChanges::txn_digest`]) is worked out from the txn itself against
//!   an overlay that follows the tree's apply exactly, not from these change records, which
//!   keep Java's quirks (`pending_digest.rs`); Java logs a digest its follower would find wrong
//!   where those quirks show, this logs the one the tree will have.
//! - closeSession lists the ephemerals to delete in path order (Java: HashSet order).

use crate::acl::{check_acl, fixup_acl, AuthInfo};
use crate::node::{EphemeralKind, CONTAINER_EPHEMERAL_OWNER};
use crate::path::validate_path;
use crate::tree::quota::{StatsTrack, LIMIT_NODE, STAT_NODE};
use crate::tree::QUOTA_PATH;
use crate::DataTree;
use bytes::Bytes;
use foldhash::HashMap;
use jute::consts::{err, op, perms, CreateMode};
use jute::proto::{CheckVersionRequest, CreateRequest, CreateTtlRequest, SetAclRequest, SetDataRequest};
use jute::records::{Acl, StatPersisted};
use jute::request::{MultiOp, Request};
use jute::txn::{
    CheckVersionTxn, CloseSessionTxn, CreateContainerTxn, CreateSessionTxn, CreateTtlTxn, CreateTxn,
    DeleteTxn, ErrorTxn, SetAclTxn, SetDataTxn, TxnBody, TxnDigest, TxnHeader,
};
use pending_digest::{PendingDigest, TreeReads};
use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

/// Everything about the request that is not in its body.
pub struct PrepContext<'a> {
    pub session_id: i64,
    pub cxid: i32,
    /// The zxid this request's txn gets (failed requests consume it too).
    pub zxid: i64,
    /// The leader's wall clock, logged as TxnHeader.time (ctime / mtime).
    pub time_ms: i64,
    pub auth: &'a AuthInfo,
    /// zookeeper.extendedTypesEnabled: TTL nodes allowed, TTL-encoded ephemeralOwners understood.
    pub extended_types_enabled: bool,
    /// zookeeper.enforceQuota (default false): creates and setData that would pass a quota's
    /// hard limit fail with QuotaExceeded.
    pub enforce_quota: bool,
    /// Java's session tracker check of `session_id`, asked by every write but closeSession and
    /// deleteContainer (ephemeral creates ask [`SessionCheck::Global`]): Ok, or the code the
    /// tracker throws. [`standalone_session_check`] is Java's standalone tracker.
    pub check_session: &'a dyn Fn(i64, SessionCheck) -> Result<(), i32>,
}

/// Which session check a write asks for (Java's checkSession / checkGlobalSession).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionCheck {
    /// Any live session of this client (checkSession).
    Any,
    /// A global session, needed to own an ephemeral (checkGlobalSession): a local session that
    /// could not be upgraded fails with EphemeralOnLocalSession (-120).
    Global,
}

/// Java's standalone SessionTrackerImpl: an unknown session is UnknownSession (-12), or
/// SessionExpired (-112) when a global session is needed; a closing one (its closeSession is
/// prepared) SessionExpired. (A quorum leader answers SessionExpired for unknown sessions of its
/// own, and SessionMoved (-118) when another server owns the session.)
pub fn standalone_session_check(known: bool, closing: bool, check: SessionCheck) -> Result<(), i32> {
    match (known, closing, check) {
        (false, _, SessionCheck::Any) => Err(err::UNKNOWN_SESSION),
        (false, _, SessionCheck::Global) | (true, true, _) => Err(err::SESSION_EXPIRED),
        (true, false, _) => Ok(()),
    }
}

impl std::fmt::Debug for PrepContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrepContext")
            .field("session_id", &format_args!("0x{:x}", self.session_id))
            .field("cxid", &self.cxid)
            .field("zxid", &format_args!("0x{:x}", self.zxid))
            .field("time_ms", &self.time_ms)
            .field("auth", &self.auth)
            .field("extended_types_enabled", &self.extended_types_enabled)
            .field("enforce_quota", &self.enforce_quota)
            .finish_non_exhaustive()
    }
}

/// A txn ready to be proposed and logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub header: TxnHeader,
    pub body: TxnBody,
}

impl Prepared {
    /// The code a request that failed as a whole is answered with (header type `error`). A
    /// failed multi is not such a request: it is a multi txn whose results carry the codes.
    pub fn error(&self) -> Option<i32> {
        match &self.body {
            TxnBody::Error(ErrorTxn { err }) if self.header.r#type == op::ERROR => Some(*err),
            _ => None,
        }
    }
}

/// Whether [`prep_write`] handles `request`: the writes that become txns. Reconfig is a write
/// too but the server answers it itself; createSession has no [`Request`] variant (see
/// [`prep_create_session`]).
pub fn is_write(request: &Request) -> bool {
    matches!(
        request,
        Request::Create(_)
            | Request::Create2(_)
            | Request::CreateContainer(_)
            | Request::CreateTtl(_)
            | Request::Delete(_)
            | Request::DeleteContainer(_)
            | Request::SetData(_)
            | Request::SetAcl(_)
            | Request::Check(_)
            | Request::Multi(_)
            | Request::CloseSession
    )
}

/// Prepares one write (see the module doc). The header carries the request's opcode, or
/// `error` (-1) with an [`ErrorTxn`] body when the request failed; a multi is always a `multi`
/// txn (its sub-txns show the failure) unless it failed with MarshallingError.
///
/// # Panics
///
/// If `request` is not a write ([`is_write`]): routing reads here is a bug of the caller.
pub fn prep_write(
    tree: &DataTree,
    pending: &mut PendingChanges,
    ctx: &PrepContext<'_>,
    request: &Request,
) -> Prepared {
    assert!(is_write(request), "prep_write called with a non-write request (opcode {})", request.opcode());
    pending.reads.get_mut().clear();
    let mut prep = Prep { tree, pending, ctx };
    let outcome = match request {
        Request::Create(r) => prep.create(op::CREATE, CreateArgs::plain(r)),
        Request::Create2(r) => prep.create(op::CREATE2, CreateArgs::plain(r)),
        Request::CreateContainer(r) => prep.create(op::CREATE_CONTAINER, CreateArgs::plain(r)),
        Request::CreateTtl(r) => prep.create(op::CREATE_TTL, CreateArgs::ttl(r)),
        Request::Delete(r) => prep.delete(&r.path, r.version),
        Request::DeleteContainer(r) => prep.delete_container(&r.path),
        Request::SetData(r) => prep.set_data(r),
        Request::SetAcl(r) => prep.set_acl(r),
        Request::Check(r) => prep.check(r),
        Request::Multi(ops) => prep.multi(ops),
        Request::CloseSession => Ok(prep.close_session()),
        _ => unreachable!("is_write covers every arm"),
    };
    let header = |r#type| TxnHeader {
        client_id: ctx.session_id,
        cxid: ctx.cxid,
        zxid: ctx.zxid,
        time: ctx.time_ms,
        r#type,
    };
    match outcome {
        Ok(body) => Prepared { header: header(request.opcode()), body },
        Err(failure) => {
            Prepared { header: header(op::ERROR), body: TxnBody::Error(ErrorTxn { err: failure.code() }) }
        }
    }
}

/// A write whose body could not be decoded. Java creates the txn header before it reads the
/// body, so such a request becomes an error txn MarshallingError (-5) and consumes its zxid: for
/// create, create2, createContainer, createTTL, delete, setData, setACL, check and multi (a
/// multi also when it mixes reads and writes, holds only reads or an unknown op). `None` for
/// every other opcode (a reconfig is read before its header exists: no txn).
pub fn prep_undecodable(ctx: &PrepContext<'_>, opcode: i32) -> Option<Prepared> {
    let txn_first = matches!(
        opcode,
        op::CREATE
            | op::CREATE2
            | op::CREATE_CONTAINER
            | op::CREATE_TTL
            | op::DELETE
            | op::SET_DATA
            | op::SET_ACL
            | op::CHECK
            | op::MULTI
    );
    txn_first.then(|| error_txn(ctx, err::MARSHALLING_ERROR))
}

/// A deleteContainer (20) sent by a client. Java reads that opcode's path as the request's
/// whole buffer, header included; the header's opcode bytes are `00 00 00 14`, so the "path"
/// holds a NUL and the request always becomes an error txn BadArguments (-8), consuming its
/// zxid. (The container manager's own requests go through [`prep_write`].)
pub fn prep_client_delete_container(ctx: &PrepContext<'_>) -> Prepared {
    error_txn(ctx, err::BAD_ARGUMENTS)
}

fn error_txn(ctx: &PrepContext<'_>, code: i32) -> Prepared {
    Prepared {
        header: TxnHeader {
            client_id: ctx.session_id,
            cxid: ctx.cxid,
            zxid: ctx.zxid,
            time: ctx.time_ms,
            r#type: op::ERROR,
        },
        body: TxnBody::Error(ErrorTxn { err: code }),
    }
}

/// The createSession txn of a new global session (Java logs the requested timeout; the server
/// tracks the session itself).
pub fn prep_create_session(ctx: &PrepContext<'_>, timeout_ms: i32) -> Prepared {
    Prepared {
        header: TxnHeader {
            client_id: ctx.session_id,
            cxid: ctx.cxid,
            zxid: ctx.zxid,
            time: ctx.time_ms,
            r#type: op::CREATE_SESSION,
        },
        body: TxnBody::CreateSession(CreateSessionTxn { time_out: timeout_ms }),
    }
}

mod pending_digest;

// ---------------------------------------------------------------------------------------------
// Pending changes

/// A node as a prepared-but-not-applied txn leaves it (Java's ChangeRecord with a stat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingNode {
    pub stat: StatPersisted,
    pub child_count: i32,
    /// Shared with the tree's ACL cache or the txn's list: a pending change copies no strings.
    pub acl: Arc<[Acl]>,
    pub data: Option<Bytes>,
}

/// One pending change: what `path` will be once the txn `zxid` is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    pub zxid: i64,
    /// Shared with the key of [`PendingChanges::latest`] and the pending digest's overlay.
    pub path: Arc<str>,
    /// `None` when the txn deletes the node.
    pub node: Option<PendingNode>,
}

/// A node as prep sees it: from the latest pending change of its path, else from the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    pub stat: StatPersisted,
    pub child_count: i32,
    pub acl: Arc<[Acl]>,
    pub data: Option<Bytes>,
}

/// Java's outstandingChanges / outstandingChangesForPath: the changes of every prepared txn not
/// yet applied, in zxid order, and the latest one per path.
#[derive(Debug, Default)]
pub struct PendingChanges {
    records: VecDeque<ChangeRecord>,
    /// Sequence number of `records[0]`; record sequence numbers only grow.
    first_sequence: u64,
    latest: HashMap<Arc<str>, u64>,
    /// While a multi is prepared: for each record it added, in order, the `latest` entry that
    /// record replaced, to undo them on failure.
    multi_undo: Vec<Option<u64>>,
    in_multi: bool,
    /// The tree digest each prepared txn leaves ([`PendingChanges::txn_digest`]).
    digest: PendingDigest,
    /// What the last prep read from the tree, for its txn's digest to read again without
    /// descending the tree's map once more (a lookup in a map of a million znodes compares
    /// a score of paths, each another node's allocation). Emptied before each prep and once
    /// the digest is worked out: it is only right while the tree is as that prep saw it, and
    /// a node held here would be copied by the next change to it.
    reads: std::cell::RefCell<TreeReads>,
}

impl PendingChanges {
    pub fn new() -> Self {
        PendingChanges::default()
    }

    /// Drops the records of every txn with zxid ≤ `zxid`. Call after applying txn `zxid` to the
    /// tree, so its changes are then read from there.
    pub fn note_applied(&mut self, zxid: i64) {
        self.digest.note_applied(zxid);
        self.reads.get_mut().clear();
        while self.records.front().is_some_and(|record| record.zxid <= zxid) {
            let sequence = self.first_sequence;
            if let Some(record) = self.records.pop_front() {
                if let Entry::Occupied(latest) = self.latest.entry(record.path) {
                    if *latest.get() == sequence {
                        latest.remove();
                    }
                }
            }
            self.first_sequence += 1;
        }
    }

    /// Forgets every pending change (the txns they belong to will not be applied).
    pub fn clear(&mut self) {
        self.first_sequence += self.records.len() as u64;
        self.records.clear();
        self.latest.clear();
        self.multi_undo.clear();
        self.in_multi = false;
        self.digest.clear();
        self.reads.get_mut().clear();
    }

    /// The TxnDigest (version 2) to log and propose with a txn about to be proposed: the tree
    /// digest once every prepared txn up to and including this one is applied, as Java's
    /// PrepRequestProcessor precalculates it. Call once per proposed txn, in zxid order, for
    /// every txn (createSession and reconfig too, not only [`prep_write`]'s), with the same
    /// tree the txns will be applied to. `None` for an error txn (3.8 logs those without one).
    pub fn txn_digest(&mut self, tree: &DataTree, header: &TxnHeader, body: &TxnBody) -> Option<TxnDigest> {
        let reads = self.reads.get_mut();
        let digest = self.digest.after_txn(tree, reads, &self.latest, header, body);
        reads.clear();
        digest
    }

    /// Lets go of what the last prep read from the tree, where no digest is worked out after
    /// it (digests disabled): held, those nodes would be copied by the next change to them.
    pub fn forget_tree_reads(&mut self) {
        self.reads.get_mut().clear();
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Every pending record, oldest first.
    pub fn records(&self) -> impl Iterator<Item = &ChangeRecord> {
        self.records.iter()
    }

    /// The latest pending record of `path` (keys are Java's: `""` is the root seen as a parent).
    pub fn latest(&self, path: &str) -> Option<&ChangeRecord> {
        let sequence = *self.latest.get(path)?;
        let index = sequence.checked_sub(self.first_sequence).expect("latest never names a dropped record");
        self.records.get(usize::try_from(index).ok()?)
    }

    /// The node at `path` as it will be once every pending txn is applied: the latest pending
    /// record of `path`, else the tree's node (`""` is the root, as in Java's tree). `None`
    /// when it does not or will not exist.
    pub fn node(&self, tree: &DataTree, path: &str) -> Option<NodeView> {
        if let Some(record) = self.latest(path) {
            let node = record.node.as_ref()?;
            return Some(NodeView {
                stat: node.stat.clone(),
                child_count: node.child_count,
                acl: node.acl.clone(),
                data: node.data.clone(),
            });
        }
        let node = tree.get_node(path);
        self.reads.borrow_mut().note(tree, path, node);
        let node = node?;
        let head = node.head();
        Some(NodeView {
            stat: head.stat,
            child_count: node.num_children(),
            acl: tree.acl_cache().shared(head.acl_id),
            data: node.data_bytes(),
        })
    }

    /// Whether [`PendingChanges::node`] would find a node at `path`, without building its view.
    pub fn contains(&self, tree: &DataTree, path: &str) -> bool {
        match self.latest(path) {
            Some(record) => record.node.is_some(),
            None => {
                let node = tree.get_node(path);
                self.reads.borrow_mut().note(tree, path, node);
                node.is_some()
            }
        }
    }

    fn add(&mut self, record: ChangeRecord) {
        let in_order = match self.records.back() {
            Some(last) => last.zxid <= record.zxid,
            None => true,
        };
        assert!(
            in_order,
            "pending changes must come in zxid order: 0x{:x} after 0x{:x}",
            record.zxid,
            self.records.back().map_or(0, |last| last.zxid)
        );
        let sequence = self.first_sequence + self.records.len() as u64;
        // A path already pending (a create's parent, a node set again) keeps its key.
        let replaced = match self.latest.get_mut(&*record.path) {
            Some(latest) => Some(std::mem::replace(latest, sequence)),
            None => self.latest.insert(record.path.clone(), sequence),
        };
        if self.in_multi {
            self.multi_undo.push(replaced);
        }
        self.records.push_back(record);
    }

    fn begin_multi(&mut self) {
        debug_assert!(!self.in_multi, "multis do not nest");
        self.multi_undo.clear();
        self.in_multi = true;
    }

    /// Removes every record the current multi added and restores the entries they replaced.
    fn rollback_multi(&mut self) {
        while let Some(replaced) = self.multi_undo.pop() {
            let record = self.records.pop_back().expect("each undo entry has its record");
            match replaced {
                Some(sequence) => self.latest.insert(record.path, sequence),
                None => self.latest.remove(&*record.path),
            };
        }
        self.in_multi = false;
    }

    fn end_multi(&mut self) {
        self.multi_undo.clear();
        self.in_multi = false;
    }
}

// ---------------------------------------------------------------------------------------------
// Prep

/// Why a request (or multi op) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// A KeeperException: the code the client gets.
    Code(i32),
    /// A Java runtime exception (ClassCastException, IllegalArgumentException) caught by
    /// pRequest's catch-all: the whole request, even a multi, becomes MarshallingError.
    Runtime,
}

impl Failure {
    fn code(self) -> i32 {
        match self {
            Failure::Code(code) => code,
            Failure::Runtime => err::MARSHALLING_ERROR,
        }
    }
}

impl From<i32> for Failure {
    fn from(code: i32) -> Self {
        Failure::Code(code)
    }
}

type Outcome<T> = Result<T, Failure>;

/// Java's EphemeralType, as `get(ephemeralOwner)` classifies an owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OwnerType {
    Void,
    Normal,
    Container,
    Ttl,
}

/// EphemeralType.get: TTL encodings are recognised only with extended types on (and an unknown
/// extended feature is an IllegalArgumentException); otherwise they are ephemeral owners.
fn owner_type(owner: i64, extended_types_enabled: bool) -> Outcome<OwnerType> {
    if extended_types_enabled && (owner as u64) >> 56 == 0xFF {
        return match EphemeralKind::of(owner) {
            EphemeralKind::Ttl(_) => Ok(OwnerType::Ttl),
            _ => Err(Failure::Runtime),
        };
    }
    Ok(match owner {
        0 => OwnerType::Void,
        CONTAINER_EPHEMERAL_OWNER => OwnerType::Container,
        _ => OwnerType::Normal,
    })
}

/// The length Java's quota arithmetic uses: `data.length`, 0 for null.
fn data_length(data: &Option<Bytes>) -> i64 {
    data.as_ref().map_or(0, |data| data.len() as i64)
}

/// The largest TTL: 2^40 - 1 ms.
const TTL_MAX_MS: i64 = crate::node::TTL_MASK;

/// The fields a create needs, from either request record.
struct CreateArgs<'r> {
    path: &'r str,
    data: &'r Option<Bytes>,
    acl: &'r [Acl],
    flags: i32,
    /// -1 unless the record is a CreateTTLRequest.
    ttl: i64,
    /// Whether the record is a CreateTTLRequest (Java casts the record by txn type).
    ttl_record: bool,
}

impl<'r> CreateArgs<'r> {
    fn plain(r: &'r CreateRequest) -> Self {
        CreateArgs { path: &r.path, data: &r.data, acl: &r.acl, flags: r.flags, ttl: -1, ttl_record: false }
    }

    fn ttl(r: &'r CreateTtlRequest) -> Self {
        CreateArgs { path: &r.path, data: &r.data, acl: &r.acl, flags: r.flags, ttl: r.ttl, ttl_record: true }
    }
}

/// Java's checkAndIncVersion: -1 matches any version; the new version wraps like a Java int.
fn check_and_increment_version(current: i32, expected: i32) -> Outcome<i32> {
    if expected != -1 && expected != current {
        return Err(err::BAD_VERSION.into());
    }
    Ok(current.wrapping_add(1))
}

/// The built-in nodes that cannot be deleted (DataTree.isSpecialPath).
fn is_special_path(path: &str) -> bool {
    matches!(path, "/" | "/zookeeper" | "/zookeeper/quota" | "/zookeeper/config")
}

/// Java's validatePathForCreate: the text before the last `/` (the parent key; `""` for root
/// children), BadArguments if there is no `/` or a NUL.
fn parent_key_for_create(path: &str) -> Outcome<&str> {
    match path.rfind('/') {
        Some(slash) if !path.contains('\0') => Ok(&path[..slash]),
        _ => Err(err::BAD_ARGUMENTS.into()),
    }
}

/// Java's getParentPathAndValidate (delete, deleteContainer): as for create, and the built-in
/// nodes are refused.
fn parent_key_for_delete(path: &str) -> Outcome<&str> {
    if is_special_path(path) {
        return Err(err::BAD_ARGUMENTS.into());
    }
    parent_key_for_create(path)
}

fn validate_full_path(path: &str) -> Outcome<()> {
    validate_path(path).map_err(|_| Failure::Code(err::BAD_ARGUMENTS))
}

struct Prep<'t, 'p, 'c> {
    tree: &'t DataTree,
    pending: &'p mut PendingChanges,
    ctx: &'c PrepContext<'c>,
}

impl Prep<'_, '_, '_> {
    fn check_session(&self, check: SessionCheck) -> Outcome<()> {
        (self.ctx.check_session)(self.ctx.session_id, check).map_err(Failure::Code)
    }

    /// ZooKeeperServer.checkQuota: with quotas enforced, QuotaExceeded if the change would
    /// take the deepest quota over `path` past a hard limit (soft limits are only logged by
    /// Java). Limits and usage are read from the tree, not from the pending changes, so
    /// pipelined creates do not add up (as in Java).
    fn check_quota(&self, path: &str, bytes_diff: i64, count_diff: i64) -> Outcome<()> {
        if !self.ctx.enforce_quota {
            return Ok(());
        }
        let Some(prefix) = self.tree.quota_prefix(path) else { return Ok(()) };
        // A missing node is skipped ("should not happen"); unreadable data is Java's
        // IllegalArgumentException / NullPointerException.
        let stats = |name: &str| -> Outcome<Option<StatsTrack>> {
            let Some(node) = self.tree.get_node(&format!("{QUOTA_PATH}{prefix}/{name}")) else {
                return Ok(None);
            };
            node.data().and_then(StatsTrack::parse).map(Some).ok_or(Failure::Runtime)
        };
        let Some(limits) = stats(LIMIT_NODE)? else { return Ok(()) };
        let check_count = count_diff != 0 && (limits.count() > -1 || limits.count_hard_limit() > -1);
        let check_bytes = bytes_diff != 0 && (limits.bytes() > -1 || limits.byte_hard_limit() > -1);
        if !check_count && !check_bytes {
            return Ok(());
        }
        let Some(usage) = stats(STAT_NODE)? else { return Ok(()) };
        let over = |current: i64, diff: i64, hard_limit: i64| {
            hard_limit > -1 && current.wrapping_add(diff) > hard_limit
        };
        if check_count && over(usage.count(), count_diff, limits.count_hard_limit()) {
            return Err(err::QUOTA_EXCEEDED.into());
        }
        if check_bytes && over(usage.bytes(), bytes_diff, limits.byte_hard_limit()) {
            return Err(err::QUOTA_EXCEEDED.into());
        }
        Ok(())
    }

    /// getRecordForPath, copied for modification.
    fn existing(&self, path: &str) -> Outcome<PendingNode> {
        match self.pending.node(self.tree, path) {
            Some(NodeView { stat, child_count, acl, data }) => {
                Ok(PendingNode { stat, child_count, acl, data })
            }
            None => Err(err::NO_NODE.into()),
        }
    }

    fn exists(&self, path: &str) -> bool {
        self.pending.contains(self.tree, path)
    }

    fn record(&mut self, path: &str, node: Option<PendingNode>) {
        self.pending.add(ChangeRecord { zxid: self.ctx.zxid, path: Arc::from(path), node });
    }

    /// pRequest2TxnCreate; `txn_type` is create, create2, createContainer or createTTL.
    fn create(&mut self, txn_type: i32, args: CreateArgs<'_>) -> Outcome<TxnBody> {
        if txn_type == op::CREATE_TTL && !args.ttl_record {
            // Java: (CreateTTLRequest) record on a CreateRequest.
            return Err(Failure::Runtime);
        }
        let mode = CreateMode::from_flags(args.flags).ok_or(Failure::Code(err::BAD_ARGUMENTS))?;
        // validateCreateRequest
        if mode.is_ttl() && !self.ctx.extended_types_enabled {
            return Err(err::UNIMPLEMENTED.into());
        }
        let ttl_valid = if mode.is_ttl() { 0 < args.ttl && args.ttl <= TTL_MAX_MS } else { args.ttl < 0 };
        if !ttl_valid {
            return Err(err::BAD_ARGUMENTS.into());
        }
        self.check_session(if mode.is_ephemeral() { SessionCheck::Global } else { SessionCheck::Any })?;
        let parent_key = parent_key_for_create(args.path)?;
        let acl = fixup_acl(args.path, self.ctx.auth, args.acl)?;
        let mut parent = self.existing(parent_key)?;
        check_acl(&parent.acl, perms::CREATE, self.ctx.auth)?;
        let parent_cversion = parent.stat.cversion;
        let path = if mode.is_sequential() {
            Cow::Owned(format!("{}{:010}", args.path, parent_cversion))
        } else {
            Cow::Borrowed(args.path)
        };
        validate_full_path(&path)?;
        if self.exists(&path) {
            return Err(err::NODE_EXISTS.into());
        }
        if owner_type(parent.stat.ephemeral_owner, self.ctx.extended_types_enabled)? == OwnerType::Normal {
            return Err(err::NO_CHILDREN_FOR_EPHEMERALS.into());
        }
        let new_cversion = parent_cversion.wrapping_add(1);
        self.check_quota(&path, data_length(args.data), 1)?;
        let path = path.into_owned();
        let data = args.data.clone();
        let body = match txn_type {
            op::CREATE_CONTAINER => TxnBody::CreateContainer(CreateContainerTxn {
                path: path.clone(),
                data: data.clone(),
                acl: acl.clone(),
                parent_c_version: new_cversion,
            }),
            op::CREATE_TTL => TxnBody::CreateTtl(CreateTtlTxn {
                path: path.clone(),
                data: data.clone(),
                acl: acl.clone(),
                parent_c_version: new_cversion,
                ttl: args.ttl,
            }),
            _ => {
                let txn = CreateTxn {
                    path: path.clone(),
                    data: data.clone(),
                    acl: acl.clone(),
                    ephemeral: mode.is_ephemeral(),
                    parent_c_version: new_cversion,
                };
                if txn_type == op::CREATE2 {
                    TxnBody::Create2(txn)
                } else {
                    TxnBody::Create(txn)
                }
            }
        };
        // The new node's owner follows the mode, whatever the opcode (so the txn and the pending
        // record can disagree, e.g. opcode create with flags 4; Java's do too).
        let ephemeral_owner = if mode.is_container() {
            CONTAINER_EPHEMERAL_OWNER
        } else if mode.is_ttl() {
            EphemeralKind::ttl_owner(args.ttl)
        } else if mode.is_ephemeral() {
            self.ctx.session_id
        } else {
            0
        };
        let zxid = self.ctx.zxid;
        let time = self.ctx.time_ms;
        parent.child_count += 1;
        parent.stat.cversion = new_cversion;
        parent.stat.pzxid = zxid;
        self.record(parent_key, Some(parent));
        let stat = crate::tree::created_stat(zxid, time, ephemeral_owner);
        self.record(&path, Some(PendingNode { stat, child_count: 0, acl: acl.into(), data }));
        Ok(body)
    }

    fn delete(&mut self, path: &str, version: i32) -> Outcome<TxnBody> {
        self.check_session(SessionCheck::Any)?;
        let parent_key = parent_key_for_delete(path)?;
        let parent = self.existing(parent_key)?;
        check_acl(&parent.acl, perms::DELETE, self.ctx.auth)?;
        let node = self.existing(path)?;
        check_and_increment_version(node.stat.version, version)?;
        if node.child_count > 0 {
            return Err(err::NOT_EMPTY.into());
        }
        self.record_delete(parent_key, parent, path);
        Ok(TxnBody::Delete(DeleteTxn { path: path.to_owned() }))
    }

    /// Issued by the container manager: no session, ACL or version check. Refuses ephemeral
    /// nodes with BadVersion; persistent, container and TTL nodes go.
    fn delete_container(&mut self, path: &str) -> Outcome<TxnBody> {
        let parent_key = parent_key_for_delete(path)?;
        let node = self.existing(path)?;
        if node.child_count > 0 {
            return Err(err::NOT_EMPTY.into());
        }
        if owner_type(node.stat.ephemeral_owner, self.ctx.extended_types_enabled)? == OwnerType::Normal {
            return Err(err::BAD_VERSION.into());
        }
        let parent = self.existing(parent_key)?;
        self.record_delete(parent_key, parent, path);
        Ok(TxnBody::DeleteContainer(DeleteTxn { path: path.to_owned() }))
    }

    fn record_delete(&mut self, parent_key: &str, mut parent: PendingNode, path: &str) {
        parent.child_count -= 1;
        parent.stat.pzxid = self.ctx.zxid;
        self.record(parent_key, Some(parent));
        self.record(path, None);
    }

    fn set_data(&mut self, request: &SetDataRequest) -> Outcome<TxnBody> {
        self.check_session(SessionCheck::Any)?;
        validate_full_path(&request.path)?;
        let mut node = self.existing(&request.path)?;
        check_acl(&node.acl, perms::WRITE, self.ctx.auth)?;
        let bytes_diff = data_length(&request.data).wrapping_sub(data_length(&node.data));
        self.check_quota(&request.path, bytes_diff, 0)?;
        let version = check_and_increment_version(node.stat.version, request.version)?;
        node.stat.version = version;
        node.stat.mtime = self.ctx.time_ms;
        node.stat.mzxid = self.ctx.zxid;
        node.data = request.data.clone();
        self.record(&request.path, Some(node));
        Ok(TxnBody::SetData(SetDataTxn { path: request.path.clone(), data: request.data.clone(), version }))
    }

    fn set_acl(&mut self, request: &SetAclRequest) -> Outcome<TxnBody> {
        self.check_session(SessionCheck::Any)?;
        validate_full_path(&request.path)?;
        let acl = fixup_acl(&request.path, self.ctx.auth, &request.acl)?;
        let mut node = self.existing(&request.path)?;
        check_acl(&node.acl, perms::ADMIN, self.ctx.auth)?;
        let version = check_and_increment_version(node.stat.aversion, request.version)?;
        // Java updates only the aversion of the pending record; its ACL stays the old one.
        node.stat.aversion = version;
        self.record(&request.path, Some(node));
        Ok(TxnBody::SetAcl(SetAclTxn { path: request.path.clone(), acl, version }))
    }

    /// The txn carries the node's version + 1, as Java's does; nothing is recorded.
    fn check(&mut self, request: &CheckVersionRequest) -> Outcome<TxnBody> {
        self.check_session(SessionCheck::Any)?;
        validate_full_path(&request.path)?;
        let node = self.pending.node(self.tree, &request.path).ok_or(Failure::Code(err::NO_NODE))?;
        check_acl(&node.acl, perms::READ, self.ctx.auth)?;
        let version = check_and_increment_version(node.stat.version, request.version)?;
        Ok(TxnBody::Check(CheckVersionTxn { path: request.path.clone(), version }))
    }

    /// The session's ephemerals as the pending changes will leave them, each recorded deleted.
    fn close_session(&mut self) -> TxnBody {
        let session_id = self.ctx.session_id;
        let mut doomed: BTreeSet<String> = self.tree.ephemerals_of(session_id).into_iter().collect();
        // In record order, as Java walks outstandingChanges: a later record wins.
        for record in self.pending.records() {
            match &record.node {
                None => {
                    doomed.remove(&*record.path);
                }
                Some(node) if node.stat.ephemeral_owner == session_id => {
                    doomed.insert(record.path.to_string());
                }
                Some(_) => {}
            }
        }
        for path in &doomed {
            self.record(path, None);
        }
        TxnBody::CloseSession(Some(CloseSessionTxn { paths2_delete: doomed.into_iter().collect() }))
    }

    /// Each op in order against the pending changes, all with this request's zxid. On the
    /// first failure the changes of the earlier ops are rolled back, the failing op becomes
    /// ErrorTxn(code) and every later op ErrorTxn(RuntimeInconsistency); the earlier ops keep
    /// their txns (the tree turns them into ErrorTxn(0) results when it applies the multi).
    fn multi(&mut self, ops: &[MultiOp]) -> Outcome<TxnBody> {
        self.pending.begin_multi();
        let mut txns = Vec::with_capacity(ops.len());
        let mut failed = false;
        for multi_op in ops {
            if failed {
                txns.push(TxnBody::Error(ErrorTxn { err: err::RUNTIME_INCONSISTENCY }));
                continue;
            }
            match self.multi_op(multi_op) {
                Ok(txn) => txns.push(txn),
                Err(Failure::Code(code)) => {
                    self.pending.rollback_multi();
                    failed = true;
                    txns.push(TxnBody::Error(ErrorTxn { err: code }));
                }
                Err(Failure::Runtime) => {
                    self.pending.rollback_multi();
                    return Err(Failure::Runtime);
                }
            }
        }
        self.pending.end_multi();
        Ok(TxnBody::Multi(txns))
    }

    /// One op of a multi, typed as Java's MultiOperationRecord rebuilds it.
    fn multi_op(&mut self, multi_op: &MultiOp) -> Outcome<TxnBody> {
        // Op.Create's opcode: from the flags, an invalid flag counting as PERSISTENT.
        let create_type = |flags: i32| {
            let mode = CreateMode::from_flags(flags).unwrap_or(CreateMode::Persistent);
            if mode.is_ttl() {
                op::CREATE_TTL
            } else if mode.is_container() {
                op::CREATE_CONTAINER
            } else {
                op::CREATE
            }
        };
        match multi_op {
            MultiOp::Create(r) | MultiOp::Create2(r) | MultiOp::CreateContainer(r) => {
                self.create(create_type(r.flags), CreateArgs::plain(r))
            }
            MultiOp::CreateTtl(r) => match create_type(r.flags) {
                op::CREATE_TTL => self.create(op::CREATE_TTL, CreateArgs::ttl(r)),
                // Op.create(path, data, acl, flags, ttl) with a non-TTL mode drops the ttl.
                other => {
                    let args = CreateArgs { ttl: -1, ttl_record: false, ..CreateArgs::ttl(r) };
                    self.create(other, args)
                }
            },
            MultiOp::Delete(r) => self.delete(&r.path, r.version),
            MultiOp::SetData(r) => self.set_data(r),
            MultiOp::Check(r) => self.check(r),
            // Reads in a write multi: Java fails the whole request with a runtime exception.
            MultiOp::GetChildren(_) | MultiOp::GetData(_) => Err(Failure::Runtime),
        }
    }
}
