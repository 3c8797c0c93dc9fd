//! A node's children and subtree, read off the node map.
//!
//! The map is ordered by full path (as bytes), so everything under `/a` is the run of keys that
//! start with `/a/`, and `/a`'s children are the keys in that run with no further `/`. Nodes keep
//! no child names of their own (only [`crate::Node::child_count`]): each name is stored once, in
//! its path.

use super::node_map::KeysFrom;
use super::{key, NodeMap};
use crate::Node;

/// The names of a node's children in byte order, as getChildren returns them
/// ([`super::DataTree::children`]).
///
/// A range scan from `parent + "/"`: a key whose remainder holds a `/` is inside a child's
/// subtree, and the scan seeks past that whole subtree (to `parent/child` + `'0'`, `'0'` being
/// the byte after `/`), so listing costs O(children · log nodes) however large the subtrees are.
pub struct Children<'a> {
    nodes: &'a NodeMap,
    /// `parent + "/"`; `/` for the root.
    prefix: String,
    /// None once a key past the prefix was seen.
    keys: Option<KeysFrom<'a>>,
}

impl<'a> Children<'a> {
    /// The children of `parent` (`""` is the root, as in Java); none if it does not exist.
    pub(crate) fn of(nodes: &'a NodeMap, parent: &str) -> Children<'a> {
        let prefix = subtree_prefix(parent);
        let keys = Some(nodes.range_from(&prefix));
        Children { nodes, prefix, keys }
    }
}

impl<'a> Iterator for Children<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        loop {
            let (keyed, ()) = self.keys.as_mut()?.next()?;
            let path = keyed.0.path();
            let Some(rest) = path.strip_prefix(self.prefix.as_str()) else {
                self.keys = None;
                return None;
            };
            match rest.find('/') {
                Some(slash) => {
                    let mut after_subtree = String::with_capacity(self.prefix.len() + slash + 1);
                    after_subtree.push_str(&path[..self.prefix.len() + slash]);
                    after_subtree.push('0');
                    self.keys = Some(self.nodes.range_from(&after_subtree));
                }
                // The root's own key `/` under the root's prefix `/`.
                None if rest.is_empty() => {}
                None => return Some(rest),
            }
        }
    }
}

impl std::fmt::Debug for Children<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Children").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

/// Every node strictly below `path` (`""` is the root), in path order.
pub(crate) fn descendants<'a>(nodes: &'a NodeMap, path: &str) -> impl Iterator<Item = &'a Node> + 'a {
    let prefix = subtree_prefix(path);
    nodes
        .range_from(&prefix)
        .map(|(keyed, ())| &keyed.0)
        .take_while(move |below| below.path().starts_with(prefix.as_str()))
        // The root's own key `/` starts with the root's prefix `/`.
        .filter(|below| below.path() != "/")
}

/// What every path below `path` starts with: `path + "/"`, or `/` for the root.
fn subtree_prefix(path: &str) -> String {
    match key(path) {
        "/" => "/".to_owned(),
        parent => format!("{parent}/"),
    }
}
