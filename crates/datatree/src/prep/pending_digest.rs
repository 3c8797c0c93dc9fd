//! The TxnDigest of each prepared txn, worked out before the txn is applied (Java's
//! PrepRequestProcessor precalculates it from its ChangeRecords).
//!
//! The logged digest is the tree digest *after* the txn: the committed tree's digest plus the
//! change of every prepared-but-not-applied txn up to and including this one. Each txn's change
//! is Σ(new node digests) − Σ(old node digests) over the nodes it touches.
//!
//! Prep's own change records cannot give that sum exactly: they keep Java's quirks (the root is
//! two records, `""` for child changes and `/` for its own; a create's record takes its owner
//! from the flags while the tree takes it from the txn type; closeSession records no parent
//! change). So the pending digest keeps its own small overlay, keyed as the tree keys nodes, and
//! moves it through each txn exactly as `DataTree::apply` moves the tree, for the fields the
//! digest covers (path, data, stat) plus child counts. `tests/prep_digest.rs` checks it against
//! the tree after every txn of random sequences.
//!
//! One case is not modelled: deleting a node that still has children (only a log replayed over
//! a fuzzy snapshot does that; prep never prepares it). Should it happen, the txns from there on
//! carry no digest (Java accepts a txn without one) until every prepared txn is applied and the
//! tree's own digest is exact again.

use crate::node::{EphemeralKind, CONTAINER_EPHEMERAL_OWNER};
use crate::tree::digest::{node_digest, DIGEST_VERSION};
use crate::tree::{created_stat, key, parent_and_child};
use crate::{DataTree, Node};
use bytes::Bytes;
use foldhash::HashMap;
use jute::consts::{err, op};
use jute::records::StatPersisted;
use jute::txn::{TxnBody, TxnDigest, TxnHeader};
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

/// Nodes a prep just read from the tree (by the tree's key), and keys it found no node at: a
/// cache of the tree as it is until the next change, a few entries long.
#[derive(Debug, Default)]
pub(crate) struct TreeReads {
    /// The tree's last applied zxid when they were read: they hold for that tree only.
    at_zxid: Option<i64>,
    found: Vec<Node>,
    absent: Vec<String>,
}

impl TreeReads {
    /// Entries of each kind kept: a prep reads a node and its parent, a multi a few more.
    const MAX: usize = 8;

    /// Notes what the tree holds at `path` (a prep's key: `""` is the root).
    pub(crate) fn note(&mut self, tree: &DataTree, path: &str, node: Option<&Node>) {
        if self.at_zxid != Some(tree.last_processed_zxid) {
            self.clear();
            self.at_zxid = Some(tree.last_processed_zxid);
        }
        match node {
            Some(node) if self.found.len() < Self::MAX => self.found.push(node.clone()),
            None if self.absent.len() < Self::MAX => self.absent.push(key(path).to_owned()),
            _ => {}
        }
    }

    pub(crate) fn clear(&mut self) {
        self.at_zxid = None;
        self.found.clear();
        self.absent.clear();
    }

    /// Whether they were read from `tree` as it is now.
    fn hold_for(&self, tree: &DataTree) -> bool {
        self.at_zxid == Some(tree.last_processed_zxid)
    }

    /// What the tree holds at tree key `path`: `Some(None)` for a key noted absent, `None`
    /// when nothing was noted.
    fn get(&self, path: &str) -> Option<Option<&Node>> {
        if let Some(node) = self.found.iter().find(|node| node.path() == path) {
            return Some(Some(node));
        }
        self.absent.iter().any(|absent| absent == path).then_some(None)
    }
}

/// A node as the tree will hold it once every prepared txn is applied (the digest's fields).
#[derive(Debug, Clone)]
struct DigestNode {
    stat: StatPersisted,
    data: Option<Bytes>,
    child_count: usize,
    /// `node_digest` of the path, data and stat above.
    digest: i64,
}

/// The latest state of one node and the txn that left it.
#[derive(Debug)]
struct OverlayEntry {
    zxid: i64,
    /// `None` when that txn deletes the node.
    node: Option<DigestNode>,
}

/// One prepared txn's share of the pending digest.
#[derive(Debug)]
struct TxnChange {
    zxid: i64,
    delta: i64,
    /// How many keys of [`PendingDigest::touched`] it wrote.
    touched: usize,
}

/// A txn whose effect on the digest the overlay does not model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Unmodelled;

/// The running "pending tree digest": see the module doc.
#[derive(Debug, Default)]
pub(crate) struct PendingDigest {
    overlay: HashMap<Arc<str>, OverlayEntry>,
    txns: VecDeque<TxnChange>,
    /// The overlay keys each txn of `txns` wrote (repeats allowed), txn after txn: one queue
    /// for all, so that a txn allocates no list of its own.
    touched: VecDeque<Arc<str>>,
    /// Σ delta over `txns`.
    pending_delta: i64,
    /// While set, the pending digest is unknown: no digest is given for txns up to the last
    /// prepared one, and this is the zxid to be applied before it is known again.
    unknown_through: Option<i64>,
}

impl PendingDigest {
    /// The TxnDigest to log with the next prepared txn (in zxid order), recording its change.
    /// `None` for an error txn (Java logs those without one) or while the digest is unknown.
    pub(crate) fn after_txn(
        &mut self,
        tree: &DataTree,
        reads: &TreeReads,
        prep_keys: &HashMap<Arc<str>, u64>,
        header: &TxnHeader,
        body: &TxnBody,
    ) -> Option<TxnDigest> {
        if let Some(through) = self.unknown_through.as_mut() {
            *through = (*through).max(header.zxid);
            return None;
        }
        if header.r#type == op::ERROR {
            return None;
        }
        let none = TreeReads::default();
        let reads = if reads.hold_for(tree) { reads } else { &none };
        let touched_before = self.touched.len();
        let mut step = TxnStep {
            tree,
            reads,
            prep_keys,
            overlay: &mut self.overlay,
            zxid: header.zxid,
            time: header.time,
            client_id: header.client_id,
            delta: 0,
            touched: &mut self.touched,
        };
        let outcome = step.process(body);
        let change =
            TxnChange { zxid: header.zxid, delta: step.delta, touched: self.touched.len() - touched_before };
        self.pending_delta = self.pending_delta.wrapping_add(change.delta);
        self.txns.push_back(change);
        if outcome == Err(Unmodelled) {
            self.unknown_through = Some(header.zxid);
            return None;
        }
        Some(TxnDigest {
            version: DIGEST_VERSION,
            tree_digest: tree.digest().wrapping_add(self.pending_delta),
        })
    }

    /// Txn `zxid` (and every earlier one) is now in the tree: its overlay entries and its
    /// share of the delta go.
    pub(crate) fn note_applied(&mut self, zxid: i64) {
        while self.txns.front().is_some_and(|change| change.zxid <= zxid) {
            let Some(change) = self.txns.pop_front() else { break };
            self.pending_delta = self.pending_delta.wrapping_sub(change.delta);
            for path in self.touched.drain(..change.touched) {
                if let Entry::Occupied(entry) = self.overlay.entry(path) {
                    if entry.get().zxid <= zxid {
                        entry.remove();
                    }
                }
            }
        }
        if self.unknown_through.is_some_and(|through| through <= zxid) {
            // Everything prepared is applied: the tree's digest is the pending one again.
            self.clear();
        }
    }

    pub(crate) fn clear(&mut self) {
        *self = PendingDigest::default();
    }
}

/// One txn being moved through the overlay.
struct TxnStep<'a> {
    tree: &'a DataTree,
    /// The tree as the txn's prep read it, to be read first.
    reads: &'a TreeReads,
    /// Prep's pending-change keys: a key the overlay lacks is most likely one of them, to share.
    prep_keys: &'a HashMap<Arc<str>, u64>,
    overlay: &'a mut HashMap<Arc<str>, OverlayEntry>,
    zxid: i64,
    time: i64,
    client_id: i64,
    delta: i64,
    touched: &'a mut VecDeque<Arc<str>>,
}

impl TxnStep<'_> {
    /// The node at tree key `path` as the tree will hold it before this txn's next change.
    fn current(&self, path: &str) -> Option<DigestNode> {
        if let Some(entry) = self.overlay.get(path) {
            return entry.node.clone();
        }
        let node = self.tree_node(path)?;
        let head = node.head();
        Some(DigestNode {
            digest: node.digest(),
            stat: head.stat,
            data: node.data_bytes(),
            child_count: head.child_count as usize,
        })
    }

    fn exists(&self, path: &str) -> bool {
        match self.overlay.get(path) {
            Some(entry) => entry.node.is_some(),
            None => self.tree_node(path).is_some(),
        }
    }

    /// The tree's node at tree key `path`, from what prep read where it read it.
    fn tree_node(&self, path: &str) -> Option<&Node> {
        match self.reads.get(path) {
            Some(noted) => noted,
            None => self.tree.get_node(path),
        }
    }

    /// Replaces the node at tree key `path`, whose digest is `old_digest` (0 when absent: the
    /// caller has just read it through [`TxnStep::current`] or found it absent); `node.digest`
    /// is recomputed here.
    fn put(&mut self, path: &str, old_digest: i64, node: Option<DigestNode>) {
        let node = node.map(|mut node| {
            node.digest = node_digest(path, node.data.as_deref(), &node.stat);
            node
        });
        let new_digest = node.as_ref().map_or(0, |node| node.digest);
        self.delta = self.delta.wrapping_add(new_digest).wrapping_sub(old_digest);
        let key = match self.overlay.get_key_value(path) {
            Some((key, _)) => key.clone(),
            None => match self.prep_keys.get_key_value(path) {
                Some((key, _)) => key.clone(),
                None => Arc::from(path),
            },
        };
        self.overlay.insert(key.clone(), OverlayEntry { zxid: self.zxid, node });
        self.touched.push_back(key);
    }

    /// `DataTree::process`, for the digest.
    fn process(&mut self, body: &TxnBody) -> Result<(), Unmodelled> {
        match body {
            TxnBody::Create(txn) | TxnBody::Create2(txn) => {
                let owner = if txn.ephemeral { self.client_id } else { 0 };
                let created = self.create_node(&txn.path, &txn.data, owner, txn.parent_c_version);
                // The tree's NodeExists fix-up on replay, for type create only.
                if created == Err(err::NODE_EXISTS) && matches!(body, TxnBody::Create(_)) {
                    let parent = parent_and_child(&txn.path).map_or("", |(parent, _)| parent);
                    self.set_cversion_pzxid(parent, txn.parent_c_version);
                }
            }
            TxnBody::CreateTtl(txn) => {
                let owner = EphemeralKind::ttl_owner(txn.ttl);
                let _ = self.create_node(&txn.path, &txn.data, owner, txn.parent_c_version);
            }
            TxnBody::CreateContainer(txn) => {
                let _ =
                    self.create_node(&txn.path, &txn.data, CONTAINER_EPHEMERAL_OWNER, txn.parent_c_version);
            }
            TxnBody::Delete(txn) | TxnBody::DeleteContainer(txn) => self.delete_node(&txn.path)?,
            TxnBody::SetData(txn) | TxnBody::Reconfig(txn) => {
                let path = key(&txn.path);
                if let Some(mut node) = self.current(path) {
                    let old_digest = node.digest;
                    node.data = txn.data.clone();
                    node.stat.mtime = self.time;
                    node.stat.mzxid = self.zxid;
                    node.stat.version = txn.version;
                    self.put(path, old_digest, Some(node));
                }
            }
            TxnBody::SetAcl(txn) => {
                let path = key(&txn.path);
                if let Some(mut node) = self.current(path) {
                    let old_digest = node.digest;
                    node.stat.aversion = txn.version;
                    self.put(path, old_digest, Some(node));
                }
            }
            TxnBody::CloseSession(txn) => {
                let listed = txn.as_ref().map_or(&[][..], |txn| txn.paths2_delete.as_slice());
                self.kill_session(listed)?;
            }
            TxnBody::Multi(subs) => self.process_multi(subs)?,
            TxnBody::CreateSession(_) | TxnBody::Error(_) | TxnBody::Check(_) => {}
        }
        Ok(())
    }

    /// `DataTree::process_multi`: a multi holding an error txn changes nothing; otherwise the
    /// sub-txns apply in order until one of a type a multi may not hold.
    fn process_multi(&mut self, subs: &[TxnBody]) -> Result<(), Unmodelled> {
        if subs.iter().any(|sub| matches!(sub, TxnBody::Error(_))) {
            return Ok(());
        }
        for sub in subs {
            match sub {
                TxnBody::SetAcl(_)
                | TxnBody::CreateSession(_)
                | TxnBody::CloseSession(_)
                | TxnBody::Reconfig(_)
                | TxnBody::Multi(_) => return Ok(()),
                _ => self.process(sub)?,
            }
        }
        Ok(())
    }

    /// `DataTree::create_node`; the error is the code the tree answers (nothing changed).
    fn create_node(
        &mut self,
        path: &str,
        data: &Option<Bytes>,
        owner: i64,
        parent_cversion: i32,
    ) -> Result<(), i32> {
        let (parent_path, _) = parent_and_child(path).ok_or(err::BAD_ARGUMENTS)?;
        let parent_key = key(parent_path);
        let mut parent = self.current(parent_key).ok_or(err::NO_NODE)?;
        let parent_digest = parent.digest;
        if self.exists(path) {
            return Err(err::NODE_EXISTS);
        }
        let parent_cversion =
            if parent_cversion == -1 { parent.stat.cversion.wrapping_add(1) } else { parent_cversion };
        if parent_cversion > parent.stat.cversion {
            parent.stat.cversion = parent_cversion;
            parent.stat.pzxid = self.zxid;
        }
        parent.child_count += 1;
        self.put(parent_key, parent_digest, Some(parent));
        let stat = created_stat(self.zxid, self.time, owner);
        self.put(path, 0, Some(DigestNode { stat, data: data.clone(), child_count: 0, digest: 0 }));
        Ok(())
    }

    /// `DataTree::delete_node`: the parent's pzxid moves even when the child is gone.
    fn delete_node(&mut self, path: &str) -> Result<(), Unmodelled> {
        let Some((parent_path, _)) = parent_and_child(path) else { return Ok(()) };
        let parent_key = key(parent_path);
        let Some(mut parent) = self.current(parent_key) else { return Ok(()) };
        let parent_digest = parent.digest;
        if self.exists(path) {
            parent.child_count = parent.child_count.saturating_sub(1);
        }
        if self.zxid > parent.stat.pzxid {
            parent.stat.pzxid = self.zxid;
        }
        self.put(parent_key, parent_digest, Some(parent));
        let Some(node) = self.current(path) else { return Ok(()) };
        if node.child_count > 0 {
            // The tree drops the whole subtree; its nodes are not all in view here.
            return Err(Unmodelled);
        }
        self.put(path, node.digest, None);
        Ok(())
    }

    /// `DataTree::set_cversion_pzxid`.
    fn set_cversion_pzxid(&mut self, path: &str, cversion: i32) {
        let path = key(path.strip_suffix('/').unwrap_or(path));
        let Some(mut node) = self.current(path) else { return };
        let old_digest = node.digest;
        let cversion = if cversion == -1 { node.stat.cversion.wrapping_add(1) } else { cversion };
        if cversion > node.stat.cversion {
            node.stat.cversion = cversion;
            node.stat.pzxid = self.zxid;
            self.put(path, old_digest, Some(node));
        }
    }

    /// `DataTree::kill_session`: the listed paths, then every other node the session owns.
    fn kill_session(&mut self, listed: &[String]) -> Result<(), Unmodelled> {
        let session = self.client_id;
        let owned_by_session = |node: &DigestNode| {
            EphemeralKind::of(node.stat.ephemeral_owner) == EphemeralKind::Session(session)
        };
        let mut owned: BTreeSet<String> = self
            .tree
            .ephemerals_of(session)
            .into_iter()
            .filter(|path| !self.overlay.contains_key(path.as_str()))
            .collect();
        for (path, entry) in self.overlay.iter() {
            if entry.node.as_ref().is_some_and(owned_by_session) {
                owned.insert(path.to_string());
            }
        }
        for path in listed {
            self.delete_node(path)?;
            owned.remove(path);
        }
        for path in owned {
            self.delete_node(&path)?;
        }
        Ok(())
    }
}
