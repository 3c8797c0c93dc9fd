//! A frozen copy of the tree for a snapshot written in the background.
//!
//! The node map (which also holds every node's children) is a persistent (structurally shared)
//! collection, so [`DataTree::snapshot_view`] costs O(sessions + ACL entries), not O(nodes): the
//! core takes the view between two txns and keeps applying while another thread serializes the
//! view. The view is exactly the tree after the last applied txn (not fuzzy), so its digest is
//! that tree's.

use super::{DataTree, DepthFirst, NodeMap};
use crate::acl_cache::OPEN_ACL_UNSAFE_ID;
use crate::node::{EphemeralKind, Node};
use jute::records::Acl;
use std::collections::BTreeSet;

/// The tree as it was after txn [`SnapshotView::zxid`], detached from later changes.
#[derive(Debug, Clone)]
pub struct SnapshotView {
    nodes: NodeMap,
    acl_entries: Vec<(i64, Vec<Acl>)>,
    sessions: Vec<(i64, i32)>,
    zxid: i64,
    digest: i64,
}

impl DataTree {
    /// Freezes the tree as it is now (O(sessions + ACL entries)); see [`SnapshotView`].
    pub fn snapshot_view(&self) -> SnapshotView {
        SnapshotView {
            nodes: self.nodes.clone(),
            acl_entries: self.acl_cache.entries().into_iter().map(|(id, list)| (id, list.to_vec())).collect(),
            sessions: self.sessions().collect(),
            zxid: self.last_processed_zxid,
            digest: self.digest,
        }
    }

    /// Java's loadData clean-up: deletes the ephemerals of every session the session table does
    /// not list (a snapshot or log can hold ephemerals of a session whose close was never
    /// logged... or whose closeSession came after a fuzzy snapshot). Returns those sessions.
    pub fn kill_orphan_ephemerals(&mut self) -> Vec<i64> {
        let orphans: Vec<i64> =
            self.ephemerals.keys().copied().filter(|owner| !self.sessions.contains_key(owner)).collect();
        let zxid = self.last_processed_zxid;
        let mut events = Vec::new();
        for &session in &orphans {
            self.kill_session(session, zxid, None, &mut events);
        }
        orphans
    }
}

impl SnapshotView {
    /// The last txn the view includes.
    pub fn zxid(&self) -> i64 {
        self.zxid
    }

    /// Java's tree digest of the view.
    pub fn digest(&self) -> i64 {
        self.digest
    }

    /// Live sessions and their timeouts (ms), ascending by id.
    pub fn sessions(&self) -> &[(i64, i32)] {
        &self.sessions
    }

    /// The ACL cache entries in id order (id -1, OPEN_ACL_UNSAFE, is implicit and not listed).
    pub fn acl_entries(&self) -> &[(i64, Vec<Acl>)] {
        &self.acl_entries
    }

    /// Number of nodes (the root once).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Every node, parent before children, children in name order; the root comes first with the
    /// empty path, as a snapshot stores it.
    pub fn nodes_depth_first(&self) -> DepthFirst<'_> {
        DepthFirst::new(&self.nodes)
    }

    /// Every node, each after its parent, in path order (a parent's path is a prefix of its
    /// children's, so it sorts first); the root comes first with the empty path, as a snapshot
    /// stores it. What a snapshot file needs (Java's loader, like ours, only asks that a parent
    /// come before its children; Java itself writes children in hash order), at a fraction of
    /// [`SnapshotView::nodes_depth_first`]'s cost: no per-node lookup, sort or path built.
    pub fn nodes_parent_first(&self) -> impl Iterator<Item = (&str, &Node)> + '_ {
        // A second iterator runs PREFETCH_AHEAD nodes ahead, loading each node's memory
        // before the writer gets to it.
        const PREFETCH_AHEAD: usize = 8;
        let mut ahead = self.nodes.iter();
        ahead.by_ref().take(PREFETCH_AHEAD).for_each(Node::prefetch);
        self.nodes.iter().map(move |node| {
            if let Some(next) = ahead.next() {
                next.prefetch();
            }
            match node.path() {
                "/" => ("", node),
                path => (path, node),
            }
        })
    }

    /// Sessions owning ephemerals in the view, for checks.
    pub fn ephemeral_owners(&self) -> BTreeSet<i64> {
        self.nodes
            .iter()
            .filter_map(|node| match EphemeralKind::of(node.stat().ephemeral_owner) {
                EphemeralKind::Session(owner) => Some(owner),
                _ => None,
            })
            .collect()
    }

    /// Whether `acl_id` is one the view's ACL entries define (or -1).
    pub fn knows_acl(&self, acl_id: i64) -> bool {
        acl_id == OPEN_ACL_UNSAFE_ID || self.acl_entries.binary_search_by_key(&acl_id, |(id, _)| *id).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jute::consts::op;
    use jute::txn::{CreateTxn, TxnBody, TxnHeader};

    fn create(tree: &mut DataTree, zxid: i64, path: &str) {
        let header = TxnHeader { client_id: 1, cxid: 1, zxid, time: 5, r#type: op::CREATE };
        let body = TxnBody::Create(CreateTxn {
            path: path.into(),
            data: Some(jute::Bytes::from_static(b"x")),
            acl: crate::acl::open_acl_unsafe().to_vec(),
            ephemeral: false,
            parent_c_version: -1,
        });
        tree.apply(&header, &body);
    }

    #[test]
    fn a_view_does_not_see_later_changes() {
        let mut tree = DataTree::new();
        create(&mut tree, 1, "/a");
        let view = tree.snapshot_view();
        create(&mut tree, 2, "/b");
        create(&mut tree, 3, "/a/c");
        let paths: Vec<String> = view.nodes_depth_first().map(|(path, _)| path).collect();
        assert_eq!(paths, ["", "/a", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"]);
        let parent_first: Vec<&str> = view.nodes_parent_first().map(|(path, _)| path).collect();
        assert_eq!(parent_first, paths);
        assert_eq!(view.zxid(), 1);
        assert_ne!(view.digest(), tree.digest());
        let live: Vec<String> = tree.nodes_depth_first().map(|(path, _)| path).collect();
        assert_eq!(live.len(), 7);
    }
}
