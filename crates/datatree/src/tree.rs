//! The tree itself and [`DataTree::apply`].
//!
//! `apply` is Java's `DataTree.processTxn` plus the session bookkeeping Java keeps next to the
//! tree (ZKDatabase's sessionsWithTimeouts). It never fails: a txn that does not fit the tree
//! (NoNode, NodeExists, ...) yields that code in [`TxnResult::err`] and changes what Java
//! changes in that case, because replaying the log over a fuzzy snapshot meets such txns and
//! must end in the same tree Java ends in.

use crate::acl_cache::{AclCache, OPEN_ACL_UNSAFE_ID};
use crate::node::{EphemeralKind, Node, NodeHead, CONTAINER_EPHEMERAL_OWNER};
use crate::watch::{WatchManager, WatchNotification};
use bytes::Bytes;
use jute::consts::{err, event_type, op, perms};
use jute::records::{Acl, Stat, StatPersisted};
use jute::request::OpResult;
use jute::txn::{ErrorTxn, TxnBody, TxnHeader};
use std::collections::{BTreeMap, BTreeSet, HashMap};

mod children;
pub mod digest;
mod node_map;
pub mod quota;
pub mod snapshot;

pub(crate) use children::descendants;
pub use children::Children;
pub(crate) use node_map::NodeMap;

/// `/zookeeper`, the built-in subtree.
pub const ZOOKEEPER_PATH: &str = "/zookeeper";
/// `/zookeeper/quota`.
pub const QUOTA_PATH: &str = "/zookeeper/quota";
/// `/zookeeper/config`, the dynamic configuration (readable by anyone, writable by reconfig).
pub const CONFIG_PATH: &str = "/zookeeper/config";

/// What applying one txn did (Java's ProcessTxnResult).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TxnResult {
    /// 0, the error a txn carried (error txn), or what went wrong applying it (NoNode,
    /// NodeExists: only seen when replaying over a fuzzy snapshot). For a multi: the first
    /// non-zero sub-result, so a failed multi carries its failing op's code here even though the
    /// client's reply header says 0.
    pub err: i32,
    /// The path the txn names; empty for session and error txns.
    pub path: String,
    /// For create2/createTTL/createContainer, setData, setACL (and reconfig): the node's stat
    /// afterwards.
    pub stat: Option<Stat>,
    /// For a multi: one result per sub-txn. In a failed multi every one is an error result
    /// (`txn_type` -1): 0 before the failing op, its code, then -2 (RuntimeInconsistency).
    pub multi: Vec<TxnResult>,
    /// The txn type (opcode); -1 for an error (sub-)txn.
    pub txn_type: i32,
}

impl TxnResult {
    /// The reply of a multi: one [`OpResult`] per sub-result, as FinalRequestProcessor builds it.
    pub fn multi_op_results(&self) -> Vec<OpResult> {
        self.multi.iter().map(TxnResult::op_result).collect()
    }

    /// This (sub-)result as a multi reply entry.
    pub fn op_result(&self) -> OpResult {
        let stat = || self.stat.clone().unwrap_or_default();
        match self.txn_type {
            // A sub-txn that failed while being applied (replay only) answers with its code.
            _ if self.err != err::OK => OpResult::Error { err: self.err },
            op::CHECK => OpResult::Check,
            op::CREATE => OpResult::Create { path: self.path.clone() },
            op::CREATE2 | op::CREATE_TTL | op::CREATE_CONTAINER => {
                OpResult::Create2 { path: self.path.clone(), stat: stat() }
            }
            op::DELETE | op::DELETE_CONTAINER => OpResult::Delete,
            op::SET_DATA => OpResult::SetData { stat: stat() },
            _ => OpResult::Error { err: self.err },
        }
    }
}

/// [`DataTree::apply`]'s answer: the result for the reply, and the watch events to send
/// (in order) before that reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplyOutcome {
    pub result: TxnResult,
    pub events: Vec<WatchNotification>,
}

/// Every znode by full path (as Java's NodeHashMap), plus what hangs off them.
///
/// Java also maps the empty path `""` to the root; lookups here do the same ([`DataTree::get_node`]
/// of `""` is the root) and [`DataTree::node_count`] counts that alias as Java does.
#[derive(Debug, Clone)]
pub struct DataTree {
    /// A persistent (structurally shared) map, so that [`DataTree::snapshot_view`] is O(1): a
    /// snapshot serializes a frozen copy while the tree keeps changing.
    ///
    /// A B-tree (leaves of up to 64 entries, at least half full) rather than imbl's HashMap,
    /// whose trie nodes keep 32 inline slots however few are used: at 100k znodes that cost
    /// ~300 B per znode more. Each node is one shared allocation behind an 8-byte handle
    /// ([`Node`]) that holds its path too, and the map is keyed by the node ([`NodeMap`]), so a
    /// slot is one pointer, not a whole znode; a frozen snapshot shares the node and a change
    /// copies one node ([`Node::update`]). (imbl's `small-chunks` feature is no way out: it
    /// truncates the HAMT hash to 8 bits, and lookups degrade into string compares.)
    ///
    /// Being ordered by path, the map also holds each node's children: the keys under
    /// `path + "/"` ([`DataTree::children`]).
    pub(crate) nodes: NodeMap,
    pub(crate) acl_cache: AclCache,
    /// Ephemeral paths per owning session. A session whose ephemerals were all deleted keeps an
    /// empty set until it closes, as in Java (the `dump` word lists it).
    pub(crate) ephemerals: BTreeMap<i64, BTreeSet<String>>,
    pub(crate) containers: BTreeSet<String>,
    pub(crate) ttls: BTreeSet<String>,
    /// Live global sessions and their timeouts (Java keeps these in ZKDatabase; snapshots store
    /// them).
    pub(crate) sessions: BTreeMap<i64, i32>,
    pub(crate) watches: WatchManager,
    pub(crate) last_processed_zxid: i64,
    /// Java's cached nodeDataSize: path lengths (UTF-16 units) plus data lengths.
    pub(crate) data_size: i64,
    /// The root's data length at the last full recount, which Java counts a second time for
    /// its `""` alias.
    pub(crate) root_alias_size: i64,
    /// Size changes Java makes without counting them in `data_size` (quota stats rewrites).
    pub(crate) untracked_data_size: i64,
    /// Paths that carry a quota (Java's pTrie).
    pub(crate) quota_trie: quota::QuotaTrie,
    /// Java's tree digest ([`digest`]), kept in step with every change.
    pub(crate) digest: i64,
    /// While a snapshot loads: a parent and how many of its children were loaded but not yet
    /// counted in its [`Node::child_count`] ([`DataTree::insert_loaded_node`]); None otherwise.
    pub(crate) loading_parent: Option<(String, u32)>,
    /// While a snapshot loads and its paths have come in ascending order so far (our own
    /// snapshots list them so): the nodes loaded, to be built into `nodes` at the end with full
    /// leaves ([`crate::dense`]). Inserting them one by one in that order would leave every
    /// leaf half full. None otherwise, and from the first path out of order on (a Java
    /// snapshot lists children in hash order): the nodes then go into `nodes` directly.
    pub(crate) loading_sorted: Option<Vec<Node>>,
}

/// Who and when, from the txn header.
#[derive(Debug, Clone, Copy)]
struct TxnContext {
    client_id: i64,
    zxid: i64,
    time: i64,
}

impl TxnContext {
    fn of(header: &TxnHeader) -> TxnContext {
        TxnContext { client_id: header.client_id, zxid: header.zxid, time: header.time }
    }
}

impl Default for DataTree {
    fn default() -> Self {
        DataTree::new()
    }
}

impl DataTree {
    /// The tree of a fresh server: `/`, `/zookeeper`, `/zookeeper/quota` (all-zero stat, empty
    /// data, OPEN_ACL_UNSAFE as id -1) and `/zookeeper/config` (READ_ACL_UNSAFE, which takes ACL id
    /// 1, and aversion -1), as Java's DataTree constructor builds them.
    pub fn new() -> DataTree {
        let mut tree = DataTree {
            nodes: NodeMap::default(),
            acl_cache: AclCache::new(),
            ephemerals: BTreeMap::new(),
            containers: BTreeSet::new(),
            ttls: BTreeSet::new(),
            sessions: BTreeMap::new(),
            watches: WatchManager::default(),
            last_processed_zxid: 0,
            data_size: 0,
            root_alias_size: 0,
            untracked_data_size: 0,
            quota_trie: Default::default(),
            digest: 0,
            loading_parent: None,
            loading_sorted: None,
        };
        let builtin = |path, acl_id| Node::new(path, Some(&[]), acl_id, StatPersisted::default());
        tree.nodes.insert(builtin("/", OPEN_ACL_UNSAFE_ID));
        tree.nodes.insert(builtin(ZOOKEEPER_PATH, OPEN_ACL_UNSAFE_ID));
        tree.nodes.insert(builtin(QUOTA_PATH, OPEN_ACL_UNSAFE_ID));
        let config_acl = tree.acl_cache.add_usage(&[Acl::new(perms::READ, "world", "anyone")]);
        let mut config = builtin(CONFIG_PATH, config_acl);
        config.update(|head| head.stat.aversion = -1);
        tree.nodes.insert(config);
        tree.update_node("/", |root| root.child_count = 1);
        tree.update_node(ZOOKEEPER_PATH, |zookeeper| zookeeper.child_count = 2);
        tree.recount_data_size();
        tree.digest = tree.recomputed_digest();
        tree
    }

    /// The node at `path` (`""` is the root, as in Java).
    pub fn get_node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(key(path))
    }

    /// The names of the children of `path` (`""` is the root), in byte order; none if there is
    /// no such node.
    pub fn children(&self, path: &str) -> Children<'_> {
        Children::of(&self.nodes, path)
    }

    pub(crate) fn lookup(&self, path: &str) -> Option<&Node> {
        self.get_node(path)
    }

    /// Runs `change` on the head of the node at `path` (if any). Only for what the digest does
    /// not cover (the child count); [`DataTree::change_node`] keeps the digest in step.
    fn update_node<R>(&mut self, path: &str, change: impl FnOnce(&mut NodeHead) -> R) -> Option<R> {
        self.nodes.get_mut(key(path)).map(|node| node.update(change))
    }

    /// The ACL list of a node.
    pub fn node_acl(&self, node: &Node) -> &[Acl] {
        self.acl_cache.get(node.acl_id())
    }

    pub fn acl_cache(&self) -> &AclCache {
        &self.acl_cache
    }

    pub fn last_processed_zxid(&self) -> i64 {
        self.last_processed_zxid
    }

    /// After loading a snapshot: the zxid it covers.
    pub fn set_last_processed_zxid(&mut self, zxid: i64) {
        self.last_processed_zxid = zxid;
    }

    // ---------------------------------------------------------------------------------------
    // apply

    /// Applies a committed txn. `body` must be the record of `header.type` (as
    /// [`TxnBody::decode`] produces it). Also keeps the session table: createSession adds the
    /// session, closeSession removes it and deletes its ephemerals. Raises the last processed
    /// zxid to `header.zxid` (never lowers it).
    pub fn apply(&mut self, header: &TxnHeader, body: &TxnBody) -> ApplyOutcome {
        self.apply_with_built(header, body, None)
    }

    /// [`DataTree::apply`] with the node a create txn adds already built from the txn
    /// ([`BuiltNode::for_txn`] of this very txn, maybe on another thread): a replay builds nodes
    /// ahead. A node built from another txn is not used where its path, stat or data length
    /// differ from this one's (its data's bytes are compared in debug builds only).
    pub fn apply_with_built(
        &mut self,
        header: &TxnHeader,
        body: &TxnBody,
        built: Option<BuiltNode>,
    ) -> ApplyOutcome {
        debug_assert_eq!(header.r#type, body.txn_type(), "txn header and body disagree");
        match body {
            TxnBody::CreateSession(txn) => {
                self.sessions.insert(header.client_id, txn.time_out);
            }
            TxnBody::CloseSession(_) => {
                self.sessions.remove(&header.client_id);
            }
            _ => {}
        }
        let context = TxnContext::of(header);
        let mut events = Vec::new();
        let result = self.process(context, header.r#type, body, built, &mut events);
        if header.zxid > self.last_processed_zxid {
            self.last_processed_zxid = header.zxid;
        }
        ApplyOutcome { result, events }
    }

    fn process(
        &mut self,
        context: TxnContext,
        txn_type: i32,
        body: &TxnBody,
        built: Option<BuiltNode>,
        events: &mut Vec<WatchNotification>,
    ) -> TxnResult {
        let mut result = TxnResult { txn_type, ..TxnResult::default() };
        let zxid = context.zxid;
        let outcome = match body {
            TxnBody::Create(_)
            | TxnBody::Create2(_)
            | TxnBody::CreateTtl(_)
            | TxnBody::CreateContainer(_) => {
                let (path, create) = NewNode::of(context, body).expect("a create txn");
                result.path = path.to_owned();
                // Only create2 and the later create types answer with the stat.
                let with_stat = !matches!(body, TxnBody::Create(_));
                self.create_node(path, create, built, context, events).map(|stat| {
                    if with_stat {
                        result.stat = Some(stat);
                    }
                })
            }
            TxnBody::Delete(txn) | TxnBody::DeleteContainer(txn) => {
                result.path = txn.path.clone();
                self.delete_node(&txn.path, zxid, events)
            }
            TxnBody::SetData(txn) | TxnBody::Reconfig(txn) => {
                result.path = txn.path.clone();
                self.set_data(&txn.path, txn.data.clone(), txn.version, context, events)
                    .map(|stat| result.stat = Some(stat))
            }
            TxnBody::SetAcl(txn) => {
                result.path = txn.path.clone();
                self.set_acl(&txn.path, &txn.acl, txn.version).map(|stat| result.stat = Some(stat))
            }
            TxnBody::CreateSession(_) => Ok(()),
            TxnBody::CloseSession(txn) => {
                let listed = txn.as_ref().map(|txn| txn.paths2_delete.as_slice());
                self.kill_session(context.client_id, zxid, listed, events);
                Ok(())
            }
            TxnBody::Error(txn) => {
                result.err = txn.err;
                Ok(())
            }
            TxnBody::Check(txn) => {
                result.path = txn.path.clone();
                Ok(())
            }
            TxnBody::Multi(subs) => {
                self.process_multi(context, subs, &mut result, events);
                Ok(())
            }
        };
        if let Err(code) = outcome {
            result.err = code;
        }
        // Replaying a plain create (type 1 only, as Java) over a fuzzy snapshot that already holds
        // the node: the node may have been deleted and re-created by another session inside the
        // fuzzy window, so the parent still needs this txn's cversion/pzxid.
        if let TxnBody::Create(txn) = body {
            if result.err == err::NODE_EXISTS {
                let parent = parent_and_child(&txn.path).map_or("", |(parent, _)| parent);
                if let Err(code) = self.set_cversion_pzxid(parent, txn.parent_c_version, zxid) {
                    result.err = code;
                }
            }
        }
        result
    }

    /// Java's multi handling: if any sub-txn is an error txn the whole multi failed and every
    /// sub-txn is applied as an error (0 before the first error txn, -2 after it); otherwise
    /// each is applied in order. A sub-txn type Java does not accept in a multi (setACL,
    /// session txns, reconfig, nested multi) ends the multi there with the results so far, as
    /// Java's "Invalid type of op" does. create2 is accepted (Java's own prep never logs one
    /// inside a multi; it logs create).
    fn process_multi(
        &mut self,
        context: TxnContext,
        subs: &[TxnBody],
        result: &mut TxnResult,
        events: &mut Vec<WatchNotification>,
    ) {
        let failed = subs.iter().any(|sub| matches!(sub, TxnBody::Error(_)));
        let mut after_failure = false;
        for sub in subs {
            match sub {
                TxnBody::Create(_)
                | TxnBody::Create2(_)
                | TxnBody::CreateTtl(_)
                | TxnBody::CreateContainer(_)
                | TxnBody::Delete(_)
                | TxnBody::DeleteContainer(_)
                | TxnBody::SetData(_)
                | TxnBody::Check(_) => {}
                TxnBody::Error(_) => after_failure = true,
                TxnBody::SetAcl(_)
                | TxnBody::CreateSession(_)
                | TxnBody::CloseSession(_)
                | TxnBody::Reconfig(_)
                | TxnBody::Multi(_) => return,
            }
            let converted;
            let sub = if failed && !matches!(sub, TxnBody::Error(_)) {
                let err = if after_failure { err::RUNTIME_INCONSISTENCY } else { err::OK };
                converted = TxnBody::Error(ErrorTxn { err });
                &converted
            } else {
                sub
            };
            let sub_result = self.process(context, sub.txn_type(), sub, None, events);
            if sub_result.err != err::OK && result.err == err::OK {
                result.err = sub_result.err;
            }
            result.multi.push(sub_result);
        }
    }

    /// Java's createNode. The ACL is counted before the existence check, as Java does (a
    /// NodeExists on replay leaks one reference, which only a snapshot reload purges).
    fn create_node(
        &mut self,
        path: &str,
        new: NewNode<'_>,
        built: Option<BuiltNode>,
        context: TxnContext,
        events: &mut Vec<WatchNotification>,
    ) -> Result<Stat, i32> {
        let (parent_path, child) = parent_and_child(path).ok_or(err::BAD_ARGUMENTS)?;
        let parent_key = key(parent_path);
        // The parent changes first, which walks to it once rather than to check it and again to
        // change it; a clash below (rare: prep checked) puts its head back.
        let mut parent_before = None;
        let parent_acl_id = self
            .change_node(parent_key, |parent| {
                parent_before = Some(parent.clone());
                let mut parent_cversion = new.parent_cversion;
                if parent_cversion == -1 {
                    parent_cversion = parent.stat.cversion.wrapping_add(1);
                }
                // Replay over a fuzzy snapshot may meet a create whose node was created and
                // deleted again inside the fuzzy window: never move cversion/pzxid backwards.
                if parent_cversion > parent.stat.cversion {
                    parent.stat.cversion = parent_cversion;
                    parent.stat.pzxid = context.zxid;
                }
                parent.child_count += 1;
                parent.acl_id
            })
            .ok_or(err::NO_NODE)?;
        let acl_id = self.acl_cache.add_usage(new.acl);
        let stat = created_stat(context.zxid, context.time, new.owner);
        let data = new.data.as_deref();
        let node = match built {
            // Built from this txn (the caller's word, checked as far as it is cheap: the data's
            // bytes are compared only in debug builds).
            Some(BuiltNode { mut node })
                if node.path() == path
                    && node.stat() == stat
                    && node.data().map(<[u8]>::len) == data.map(<[u8]>::len) =>
            {
                debug_assert_eq!(node.data(), data, "a node built from another txn");
                node.update(|head| head.acl_id = acl_id);
                node
            }
            _ => Node::new(path, data, acl_id, stat),
        };
        let stat = node.client_stat();
        let data_len = data_length(node.data());
        let size = node_size(path, node.data());
        let node_digest = node.digest();
        // Inserting first and undoing on a clash walks the new path's (cold) leaf once, not
        // twice; the clash is rare (prep checked) and leaves the map as it was.
        if let Some(existing) = self.nodes.insert(node) {
            self.nodes.insert(existing);
            if let Some(before) = parent_before {
                self.change_node(parent_key, |parent| *parent = before);
            }
            return Err(err::NODE_EXISTS);
        }
        self.data_size += size;
        self.digest = self.digest.wrapping_add(node_digest);
        self.register_kind(path, new.owner);
        self.quota_after_create(parent_path, child, path, data_len);
        let parent_acl = self.acl_cache.shared(parent_acl_id);
        self.watches.trigger_data(event_type::NODE_CREATED, path, new.acl, events);
        self.watches.trigger_child(event_type::NODE_CHILDREN_CHANGED, parent_key, &parent_acl, events);
        Ok(stat)
    }

    /// Java's deleteNode. The parent's pzxid moves to `zxid` (if larger) even when the child is
    /// already gone, which a replay over a fuzzy snapshot relies on; the stored cversion is not
    /// touched (clients see the delete through `2 * cversion - numChildren`).
    fn delete_node(&mut self, path: &str, zxid: i64, events: &mut Vec<WatchNotification>) -> Result<(), i32> {
        let (parent_path, child) = parent_and_child(path).ok_or(err::BAD_ARGUMENTS)?;
        let parent_key = key(parent_path);
        let exists = self.nodes.contains_key(path);
        let parent_acl_id = self
            .change_node(parent_key, |parent| {
                if exists {
                    parent.child_count -= 1;
                }
                if zxid > parent.stat.pzxid {
                    parent.stat.pzxid = zxid;
                }
                parent.acl_id
            })
            .ok_or(err::NO_NODE)?;
        let node = self.nodes.remove(path).ok_or(err::NO_NODE)?;
        // The ACLs gate the events; take them before the cache may drop the node's list.
        let acl = self.acl_cache.shared(node.acl_id());
        let parent_acl = self.acl_cache.shared(parent_acl_id);
        self.forget_node(path, &node);
        if node.child_count() > 0 {
            // Java's prep never deletes a node with children; a log replayed over a fuzzy
            // snapshot could. Java would leave the children reachable by path with no parent;
            // drop the whole subtree instead so every node keeps a parent.
            self.drop_subtree(path);
        }
        self.quota_after_delete(parent_path, child, path, data_length(node.data()));
        self.watches.trigger_deleted(path, &acl, events);
        self.watches.trigger_child(event_type::NODE_CHILDREN_CHANGED, parent_key, &parent_acl, events);
        Ok(())
    }

    /// Undoes what a node's presence registered: ACL reference, data size, kind sets.
    fn forget_node(&mut self, path: &str, node: &Node) {
        self.digest_remove(node);
        self.acl_cache.remove_usage(node.acl_id());
        self.data_size -= node_size(path, node.data());
        match EphemeralKind::of(node.stat().ephemeral_owner) {
            EphemeralKind::Container => {
                self.containers.remove(path);
            }
            EphemeralKind::Ttl(_) => {
                self.ttls.remove(path);
            }
            EphemeralKind::Session(owner) => {
                if let Some(paths) = self.ephemerals.get_mut(&owner) {
                    paths.remove(path);
                }
            }
            EphemeralKind::Persistent => {}
        }
    }

    /// Removes every node below `path`.
    fn drop_subtree(&mut self, path: &str) {
        // The nodes themselves name the paths (a clone shares the node).
        let below: Vec<Node> = children::descendants(&self.nodes, path).cloned().collect();
        for below in below {
            if let Some(node) = self.nodes.remove(below.path()) {
                self.forget_node(below.path(), &node);
            }
        }
    }

    fn register_kind(&mut self, path: &str, owner: i64) {
        match EphemeralKind::of(owner) {
            EphemeralKind::Container => {
                self.containers.insert(path.to_owned());
            }
            EphemeralKind::Ttl(_) => {
                self.ttls.insert(path.to_owned());
            }
            EphemeralKind::Session(owner) => {
                self.ephemerals.entry(owner).or_default().insert(path.to_owned());
            }
            EphemeralKind::Persistent => {}
        }
    }

    /// Java's setData: the txn carries the new version (prep computed it).
    fn set_data(
        &mut self,
        path: &str,
        data: Option<Bytes>,
        version: i32,
        context: TxnContext,
        events: &mut Vec<WatchNotification>,
    ) -> Result<Stat, i32> {
        let (old, new) = self
            .change_data(path, data.as_deref(), |head| {
                head.stat.mtime = context.time;
                head.stat.mzxid = context.zxid;
                head.stat.version = version;
            })
            .ok_or(err::NO_NODE)?;
        let stat = new.client_stat();
        let bytes_diff = data_length(new.data()) - data_length(old.data());
        self.data_size += bytes_diff;
        self.quota_after_set_data(path, bytes_diff);
        // The changed node carries its ACL id: no second walk to the path.
        let acl = self.acl_cache.get(new.acl_id());
        self.watches.trigger_data(event_type::NODE_DATA_CHANGED, path, acl, events);
        Ok(stat)
    }

    /// Java's setACL: the old list's reference goes first, so setting the same list again on
    /// its only user gives it a new id. The txn carries the new aversion. No watch fires.
    fn set_acl(&mut self, path: &str, acl: &[Acl], version: i32) -> Result<Stat, i32> {
        let old_acl_id = self.lookup(path).ok_or(err::NO_NODE)?.acl_id();
        self.acl_cache.remove_usage(old_acl_id);
        let acl_id = self.acl_cache.add_usage(acl);
        self.change_node(path, |node| {
            node.stat.aversion = version;
            node.acl_id = acl_id;
        })
        .ok_or(err::NO_NODE)?;
        self.lookup(path).map(Node::client_stat).ok_or(err::NO_NODE)
    }

    /// Java's setCversionPzxid (the NodeExists fix-up on replay).
    fn set_cversion_pzxid(&mut self, path: &str, cversion: i32, zxid: i64) -> Result<(), i32> {
        let path = match path.strip_suffix('/') {
            Some(trimmed) => trimmed,
            None => path,
        };
        self.change_node(path, |node| {
            let cversion = if cversion == -1 { node.stat.cversion.wrapping_add(1) } else { cversion };
            if cversion > node.stat.cversion {
                node.stat.cversion = cversion;
                node.stat.pzxid = zxid;
            }
        })
        .ok_or(err::NO_NODE)
    }

    /// Java's killSession: the paths the txn lists first (3.6+ closeSession), then whatever else
    /// the session still owns (all of them for an old-style closeSession without a body).
    /// Missing nodes are skipped.
    fn kill_session(
        &mut self,
        session: i64,
        zxid: i64,
        listed: Option<&[String]>,
        events: &mut Vec<WatchNotification>,
    ) {
        let mut owned = self.ephemerals.remove(&session).unwrap_or_default();
        for path in listed.unwrap_or_default() {
            let _ = self.delete_node(path, zxid, events);
            owned.remove(path);
        }
        for path in owned {
            let _ = self.delete_node(&path, zxid, events);
        }
    }

    // ---------------------------------------------------------------------------------------
    // sizes and sessions

    /// Java's getNodeCount: the number of nodes **plus one**, because Java's node map holds the
    /// root twice (as `/` and as `""`). A fresh server reports 5.
    pub fn node_count(&self) -> usize {
        self.nodes.len() + 1
    }

    /// Java's cachedApproximateDataSize (`zk_approximate_data_size`): the sum of path lengths
    /// (UTF-16 units) and data lengths, maintained per change; a fresh tree has 44.
    pub fn approximate_data_size(&self) -> i64 {
        self.data_size
    }

    /// Java's approximateDataSize, recounted over every entry of its node map (the root counts
    /// twice, once as `""`), which resets the cached size as Java does after construction and
    /// after loading a snapshot.
    fn recount_data_size(&mut self) {
        self.untracked_data_size = 0;
        self.root_alias_size = self.nodes.get("/").map_or(0, |root| node_size("", root.data()));
        self.data_size = self.nodes.iter().map(|node| node_size(node.path(), node.data())).sum::<i64>()
            + self.root_alias_size;
    }

    /// `zk_ephemerals_count`.
    pub fn ephemerals_count(&self) -> usize {
        self.ephemerals.values().map(BTreeSet::len).sum()
    }

    /// Live sessions and their timeouts (ms), ascending by id.
    pub fn sessions(&self) -> impl Iterator<Item = (i64, i32)> + '_ {
        self.sessions.iter().map(|(&id, &timeout)| (id, timeout))
    }

    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    pub fn session_timeout(&self, session: i64) -> Option<i32> {
        self.sessions.get(&session).copied()
    }

    /// After loading a snapshot: a session it lists.
    pub fn insert_session(&mut self, session: i64, timeout_ms: i32) {
        self.sessions.insert(session, timeout_ms);
    }

    /// The ephemerals `session` owns, sorted.
    pub fn ephemerals_of(&self, session: i64) -> Vec<String> {
        self.ephemerals.get(&session).map(|paths| paths.iter().cloned().collect()).unwrap_or_default()
    }

    /// Sessions that own (or owned, until they close) ephemerals, ascending: the `dump` word.
    pub fn ephemeral_sessions(&self) -> Vec<i64> {
        self.ephemerals.keys().copied().collect()
    }

    /// Every container node, sorted.
    pub fn container_paths(&self) -> Vec<String> {
        self.containers.iter().cloned().collect()
    }

    /// Every TTL node, sorted.
    pub fn ttl_paths(&self) -> Vec<String> {
        self.ttls.iter().cloned().collect()
    }

    /// Containers ContainerManager would delete: no children and a stored cversion > 0 (it
    /// once had a child). Sorted, at most `limit`. (Java's never-used-container timeout,
    /// `znode.container.maxNeverUsedIntervalMs`, defaults to off in 3.8 and is not modelled.)
    pub fn container_candidates(&self, limit: usize) -> Vec<String> {
        self.containers
            .iter()
            .filter(|path| {
                self.nodes
                    .get(path.as_str())
                    .is_some_and(|node| node.child_count() == 0 && node.stat().cversion > 0)
            })
            .take(limit)
            .cloned()
            .collect()
    }

    /// TTL nodes ContainerManager would delete at wall-clock `now_ms`: no children and
    /// `now_ms - mtime > ttl`. Sorted.
    pub fn ttl_expired(&self, now_ms: i64) -> Vec<String> {
        self.ttls
            .iter()
            .filter(|path| {
                self.nodes.get(path.as_str()).is_some_and(|node| {
                    let EphemeralKind::Ttl(ttl) = EphemeralKind::of(node.stat().ephemeral_owner) else {
                        return false;
                    };
                    node.child_count() == 0 && ttl != 0 && now_ms.wrapping_sub(node.stat().mtime) > ttl
                })
            })
            .cloned()
            .collect()
    }

    /// Checks every structural invariant (for tests and debug assertions; O(nodes)): each
    /// node but the root has a parent, and each node's child count is the number of nodes that
    /// name it as their parent; the ephemeral,
    /// container and TTL registries match the nodes' owners; every ACL id a node uses is cached
    /// with at least as many references as users (a replayed NodeExists leaks one, as in
    /// Java); the cached data size is right; the watch tables agree with themselves.
    pub fn check_invariants(&self) -> Result<(), String> {
        let root = self.nodes.get("/").ok_or("no root")?;
        if root.stat().ephemeral_owner != 0 {
            return Err("the root is not persistent".into());
        }
        let mut acl_users: HashMap<i64, u64> = HashMap::new();
        let mut child_counts: HashMap<&str, u32> = HashMap::new();
        for node in self.nodes.iter() {
            let path = node.path();
            *acl_users.entry(node.acl_id()).or_default() += 1;
            if path == "/" {
                continue;
            }
            let (parent, _) = parent_and_child(path).ok_or_else(|| format!("bad path {path}"))?;
            if self.get_node(parent).is_none() {
                return Err(format!("{path} has no parent"));
            }
            *child_counts.entry(key(parent)).or_default() += 1;
            let registered = match EphemeralKind::of(node.stat().ephemeral_owner) {
                EphemeralKind::Persistent => true,
                EphemeralKind::Container => self.containers.contains(path),
                EphemeralKind::Ttl(_) => self.ttls.contains(path),
                EphemeralKind::Session(owner) => {
                    self.ephemerals.get(&owner).is_some_and(|paths| paths.contains(path))
                }
            };
            if !registered {
                return Err(format!("{path} is missing from its kind's registry"));
            }
        }
        for node in self.nodes.iter() {
            let path = node.path();
            let counted = child_counts.get(path).copied().unwrap_or(0);
            if node.child_count() != counted {
                return Err(format!("{path} counts {} children but has {counted}", node.child_count()));
            }
        }
        for (owner, paths) in &self.ephemerals {
            for path in paths {
                if self.nodes.get(path.as_str()).map(|node| node.stat().ephemeral_owner) != Some(*owner) {
                    return Err(format!("ephemeral {path} of 0x{owner:x} is not that session's node"));
                }
            }
        }
        for (set, kind) in [(&self.containers, "container"), (&self.ttls, "ttl")] {
            for path in set {
                let owner =
                    self.nodes.get(path.as_str()).map(|node| EphemeralKind::of(node.stat().ephemeral_owner));
                let matches = match owner {
                    Some(EphemeralKind::Container) => kind == "container",
                    Some(EphemeralKind::Ttl(_)) => kind == "ttl",
                    _ => false,
                };
                if !matches {
                    return Err(format!("{kind} {path} is not such a node"));
                }
            }
        }
        for (acl_id, users) in acl_users {
            if acl_id == OPEN_ACL_UNSAFE_ID {
                continue;
            }
            let counted = self.acl_cache.reference_count(acl_id);
            if counted < users {
                return Err(format!("ACL {acl_id} counted {counted} times for {users} users"));
            }
        }
        let expected = self.expected_incremental_data_size();
        if self.data_size != expected {
            return Err(format!("cached data size {} but {expected}", self.data_size));
        }
        let digest = self.recomputed_digest();
        if self.digest != digest {
            return Err(format!("digest {:x} but recomputed {digest:x}", self.digest));
        }
        self.watches.data.check_consistent().map_err(|e| format!("data watches: {e}"))?;
        self.watches.child.check_consistent().map_err(|e| format!("child watches: {e}"))?;
        Ok(())
    }

    /// What the per-change accounting must add up to: every node once, plus the root's data as
    /// it was at the last full recount (Java's `""` alias entry; later changes to the root's
    /// data move the cached size once, not twice).
    fn expected_incremental_data_size(&self) -> i64 {
        self.nodes.iter().map(|node| node_size(node.path(), node.data())).sum::<i64>() + self.root_alias_size
            - self.untracked_data_size
    }

    // ---------------------------------------------------------------------------------------
    // snapshots

    /// Every node, parent before children, children in name order. The root comes first with
    /// the **empty path**, exactly as a snapshot stores it; every other path is as usual.
    pub fn nodes_depth_first(&self) -> DepthFirst<'_> {
        DepthFirst::new(&self.nodes)
    }

    /// Starts loading a snapshot into this tree (Java's DataTree.deserialize): forgets every
    /// node, ephemeral, container, TTL and ACL entry (the ACL id counter is kept, as in Java).
    /// Follow with [`DataTree::load_acl`] for each ACL entry, [`DataTree::insert_loaded_node`]
    /// for each node in snapshot order, then [`DataTree::finish_load`].
    pub fn begin_load(&mut self) {
        self.nodes.clear();
        self.ephemerals.clear();
        self.containers.clear();
        self.ttls.clear();
        self.acl_cache.clear_for_load();
        self.quota_trie.clear();
        self.data_size = 0;
        self.digest = 0;
        self.loading_parent = None;
        self.loading_sorted = Some(Vec::new());
    }

    /// One entry of the snapshot's ACL map.
    pub fn load_acl(&mut self, acl_id: i64, acl: Vec<Acl>) {
        self.acl_cache.insert_loaded(acl_id, acl);
    }

    /// One node of the snapshot; `path` as stored (`""` or `/` for the root). Its parent must
    /// already be loaded.
    pub fn insert_loaded_node(
        &mut self,
        path: &str,
        data: Option<&[u8]>,
        acl_id: i64,
        stat: StatPersisted,
    ) -> Result<(), LoadError> {
        self.insert_prepared_node(PreparedNode::new(path, data, acl_id, stat))
    }

    /// [`DataTree::insert_loaded_node`] for a node built by [`PreparedNode::new`], maybe on
    /// another thread.
    pub fn insert_prepared_node(&mut self, prepared: PreparedNode) -> Result<(), LoadError> {
        let PreparedNode { node, digest, size } = prepared;
        let path = node.path();
        if path != "/" {
            let (parent_path, _) =
                parent_and_child(path).ok_or_else(|| LoadError::InvalidPath(path.to_owned()))?;
            self.start_loaded_child(parent_path).map_err(|()| LoadError::MissingParent(path.to_owned()))?;
        }
        self.acl_cache.add_reference(node.acl_id());
        let owner = node.stat().ephemeral_owner;
        self.digest = self.digest.wrapping_add(digest);
        // Counted here, while the node is in cache: a pass over the loaded map afterwards
        // was ~15% of a 1 M-znode recovery.
        self.data_size += size;
        let ascending =
            self.loading_sorted.as_ref().map(|sorted| sorted.last().is_none_or(|last| last.path() < path));
        match ascending {
            Some(true) => {
                self.count_loaded_child(path, owner);
                if let Some(sorted) = self.loading_sorted.as_mut() {
                    sorted.push(node);
                }
                return Ok(());
            }
            Some(false) => self.stop_sorted_load(),
            None => {}
        }
        // The map takes the node; its path is still needed after.
        let inserted = node.clone();
        let path = inserted.path();
        // One descent of the map per node: a path a snapshot lists twice is rare enough to be
        // fixed up after the insert (the later copy wins, keeping the children counted so far;
        // the parent counts it once).
        match self.nodes.insert(node) {
            Some(old) => {
                self.digest_remove(&old);
                self.data_size -= node_size(path, old.data());
                if old.child_count() > 0 {
                    self.update_node(path, |node| node.child_count = old.child_count());
                }
                if path != "/" {
                    self.register_kind(path, owner);
                }
            }
            None => self.count_loaded_child(path, owner),
        }
        Ok(())
    }

    /// Before loading a child of `parent_path`, which must be loaded. A snapshot lists siblings
    /// next to each other, so children are counted per parent and added to it in one go by
    /// [`DataTree::flush_loaded_children`] instead of looking the parent up for every node.
    fn start_loaded_child(&mut self, parent_path: &str) -> Result<(), ()> {
        let parent_path = key(parent_path);
        let same_parent = self.loading_parent.as_ref().is_some_and(|(pending, _)| pending == parent_path);
        if !same_parent {
            self.flush_loaded_children();
            if !self.loaded_contains(parent_path) {
                return Err(());
            }
            self.loading_parent = Some((parent_path.to_owned(), 0));
        }
        Ok(())
    }

    /// A node new to the load: counted for its parent (set by [`DataTree::start_loaded_child`])
    /// and registered by kind.
    fn count_loaded_child(&mut self, path: &str, owner: i64) {
        if path == "/" {
            return;
        }
        if let Some((_, count)) = self.loading_parent.as_mut() {
            *count += 1;
        }
        self.register_kind(path, owner);
    }

    /// Adds the children counted so far to their parent (see [`DataTree::start_loaded_child`]).
    fn flush_loaded_children(&mut self) {
        let Some((parent_path, count)) = self.loading_parent.take() else { return };
        // The parent was checked when its first child came and a load never removes nodes.
        let add = |parent: &mut NodeHead| parent.child_count += count;
        match self.loading_sorted.as_mut() {
            Some(sorted) => {
                if let Ok(at) = sorted.binary_search_by(|node| node.path().cmp(&parent_path)) {
                    sorted[at].update(add);
                }
            }
            None => {
                self.update_node(&parent_path, add);
            }
        }
    }

    /// Whether a node at tree key `path` has been loaded.
    fn loaded_contains(&self, path: &str) -> bool {
        match &self.loading_sorted {
            Some(sorted) => sorted.binary_search_by(|loaded| loaded.path().cmp(path)).is_ok(),
            None => self.nodes.contains_key(path),
        }
    }

    /// Moves the nodes loaded in order so far into `nodes`; the rest of the load inserts there.
    fn stop_sorted_load(&mut self) {
        if let Some(sorted) = self.loading_sorted.take() {
            // Nothing else is in the map during a load: begin_load cleared it.
            debug_assert!(self.nodes.is_empty());
            self.nodes = NodeMap::from_sorted(sorted);
        }
    }

    /// Ends a snapshot load: recomputes the data size, rebuilds the quota trie and recounts
    /// every quota's stats node, drops ACL entries no node uses (Java's order).
    pub fn finish_load(&mut self) {
        self.flush_loaded_children();
        self.stop_sorted_load();
        // Java recounts its map after a load; the nodes were counted as they came (above),
        // so only the root's second entry (`""`) is added here.
        self.untracked_data_size = 0;
        self.root_alias_size = self.nodes.get("/").map_or(0, |root| node_size("", root.data()));
        self.data_size += self.root_alias_size;
        self.setup_quotas();
        self.acl_cache.purge_unused();
    }
}

/// A snapshot's node with what its load adds to the tree's totals, computed from the node
/// alone: a loader can build these on another thread than the one that inserts them
/// ([`DataTree::insert_prepared_node`]). Building the node (an allocation, first touches of fresh
/// memory) and its digest is most of a load's work.
#[derive(Debug)]
pub struct PreparedNode {
    node: Node,
    digest: i64,
    size: i64,
}

impl PreparedNode {
    /// The node at `path` as a snapshot stores it (`""` or `/` for the root).
    pub fn new(path: &str, data: Option<&[u8]>, acl_id: i64, stat: StatPersisted) -> PreparedNode {
        let path = key(path);
        let node = Node::new(path, data, acl_id, stat);
        PreparedNode { digest: node.digest(), size: node_size(path, data), node }
    }
}

/// Why a snapshot's node list does not form a tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("invalid data tree: no parent for {0}")]
    MissingParent(String),
    #[error("invalid data tree: bad path {0:?}")]
    InvalidPath(String),
}

/// What a create txn contributes to the new node.
#[derive(Debug, Clone, Copy)]
struct NewNode<'a> {
    data: &'a Option<Bytes>,
    acl: &'a [Acl],
    owner: i64,
    parent_cversion: i32,
}

impl<'a> NewNode<'a> {
    /// The path and new node of a create, create2, createTTL or createContainer txn.
    fn of(context: TxnContext, body: &'a TxnBody) -> Option<(&'a str, NewNode<'a>)> {
        let (path, data, acl, owner, parent_cversion) = match body {
            TxnBody::Create(txn) | TxnBody::Create2(txn) => {
                let owner = if txn.ephemeral { context.client_id } else { 0 };
                (&txn.path, &txn.data, &txn.acl, owner, txn.parent_c_version)
            }
            TxnBody::CreateTtl(txn) => {
                (&txn.path, &txn.data, &txn.acl, EphemeralKind::ttl_owner(txn.ttl), txn.parent_c_version)
            }
            TxnBody::CreateContainer(txn) => {
                (&txn.path, &txn.data, &txn.acl, CONTAINER_EPHEMERAL_OWNER, txn.parent_c_version)
            }
            _ => return None,
        };
        Some((path, NewNode { data, acl, owner, parent_cversion }))
    }
}

/// The stat of a node created by txn `zxid` at `time`, owned by `owner`.
pub(crate) fn created_stat(zxid: i64, time: i64, owner: i64) -> StatPersisted {
    StatPersisted {
        czxid: zxid,
        mzxid: zxid,
        ctime: time,
        mtime: time,
        version: 0,
        cversion: 0,
        aversion: 0,
        ephemeral_owner: owner,
        pzxid: zxid,
    }
}

/// The node a create txn adds, built from the txn alone: building it (an allocation, the
/// first touches of fresh memory, its digest) is a third of a create's apply, and a replay can
/// do it on another thread than the one applying ([`DataTree::apply_with_built`]). Its ACL id
/// is set when applied, where the tree's ACL cache is.
#[derive(Debug)]
pub struct BuiltNode {
    node: Node,
}

impl BuiltNode {
    /// The node a top-level create, create2, createTTL or createContainer txn adds; `None` for
    /// any other txn.
    pub fn for_txn(header: &TxnHeader, body: &TxnBody) -> Option<BuiltNode> {
        let context = TxnContext::of(header);
        let (path, new) = NewNode::of(context, body)?;
        // Any id that fits the head inline: the apply's own id then replaces it in place.
        let placeholder_acl_id = 0;
        let node = Node::new(
            path,
            new.data.as_deref(),
            placeholder_acl_id,
            created_stat(context.zxid, context.time, new.owner),
        );
        Some(BuiltNode { node })
    }
}

/// Every node of a node map, parent before children, children in name order; the root first,
/// with the empty path ([`DataTree::nodes_depth_first`], [`snapshot::SnapshotView::nodes_depth_first`]).
#[derive(Debug)]
pub struct DepthFirst<'a> {
    nodes: &'a NodeMap,
    stack: Vec<String>,
}

impl<'a> DepthFirst<'a> {
    fn new(nodes: &'a NodeMap) -> DepthFirst<'a> {
        DepthFirst { nodes, stack: vec![String::new()] }
    }
}

impl<'a> Iterator for DepthFirst<'a> {
    type Item = (String, &'a Node);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let path = self.stack.pop()?;
            let Some(node) = self.nodes.get(key(&path)) else { continue };
            let first_child = self.stack.len();
            self.stack.extend(Children::of(self.nodes, &path).map(|child| join(key(&path), child)));
            // Popped from the end: the first name must be on top.
            self.stack[first_child..].reverse();
            return Some((path, node));
        }
    }
}

/// Java's node map aliases `""` to the root.
pub(crate) fn key(path: &str) -> &str {
    if path.is_empty() {
        "/"
    } else {
        path
    }
}

/// `/a/b` → (`/a`, `b`); `/a` → (`""`, `a`). None for a path without `/` or with an empty last
/// component (`/`, `/a/`), which no valid txn carries.
pub(crate) fn parent_and_child(path: &str) -> Option<(&str, &str)> {
    let slash = path.rfind('/')?;
    let child = &path[slash + 1..];
    (!child.is_empty()).then_some((&path[..slash], child))
}

pub(crate) fn join(parent: &str, child: &str) -> String {
    if parent == "/" {
        format!("/{child}")
    } else {
        format!("{parent}/{child}")
    }
}

fn data_length(data: Option<&[u8]>) -> i64 {
    data.map_or(0, |d| d.len() as i64)
}

/// Java's getNodeSize: path length in UTF-16 units plus data length.
fn node_size(path: &str, data: Option<&[u8]>) -> i64 {
    (utf16_len(path) + data.map_or(0, <[u8]>::len)) as i64
}

/// Java's `String.length()` of `s`: UTF-16 code units. Counted from the UTF-8 bytes (a lead byte
/// counts one, a 4-byte sequence's two: a surrogate pair), a loop the compiler vectorises —
/// `encode_utf16().count()` decoded every char and was ~3% of loading a snapshot.
fn utf16_len(s: &str) -> usize {
    s.bytes().map(|byte| usize::from(byte & 0xC0 != 0x80) + usize::from(byte >= 0xF0)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_len_is_javas_string_length() {
        for s in [
            "",
            "/",
            "/zookeeper/quota",
            "/caf\u{e9}",
            "/\u{20ac}uro",
            "/\u{1f600}/x",
            "\u{10ffff}\u{7ff}\u{800}",
        ] {
            assert_eq!(utf16_len(s), s.encode_utf16().count(), "{s:?}");
        }
    }

    #[test]
    fn parent_and_child_split() {
        assert_eq!(parent_and_child("/a"), Some(("", "a")));
        assert_eq!(parent_and_child("/a/b"), Some(("/a", "b")));
        assert_eq!(parent_and_child("/"), None);
        assert_eq!(parent_and_child("a"), None);
    }

    #[test]
    fn fresh_tree_sizes_match_java() {
        let tree = DataTree::new();
        assert_eq!(tree.node_count(), 5);
        // "" 0 + "/" 1 + "/zookeeper" 10 + "/zookeeper/quota" 16 + "/zookeeper/config" 17
        assert_eq!(tree.approximate_data_size(), 44);
        tree.check_invariants().unwrap();
    }
}
