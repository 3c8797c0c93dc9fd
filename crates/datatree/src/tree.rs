//! The tree itself and [`DataTree::apply`].

use crate::acl_cache::AclCache;
use crate::node::Node;
use crate::watch::WatchManager;
use jute::records::Acl;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Every znode by full path (as Java's NodeHashMap), plus what hangs off them.
#[derive(Debug)]
pub struct DataTree {
    pub(crate) nodes: HashMap<String, Node>,
    pub(crate) acl_cache: AclCache,
    /// Ephemeral paths per owning session.
    pub(crate) ephemerals: HashMap<i64, BTreeSet<String>>,
    pub(crate) containers: HashSet<String>,
    pub(crate) ttls: HashSet<String>,
    /// Live sessions and their timeouts (Java keeps these in ZKDatabase; snapshots store them).
    pub(crate) sessions: HashMap<i64, i32>,
    pub(crate) watches: WatchManager,
    pub(crate) last_processed_zxid: i64,
}

impl DataTree {
    pub fn get_node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// The ACL list of a node.
    pub fn node_acl(&self, node: &Node) -> &[Acl] {
        self.acl_cache.get(node.acl_id)
    }

    pub fn last_processed_zxid(&self) -> i64 {
        self.last_processed_zxid
    }
}
