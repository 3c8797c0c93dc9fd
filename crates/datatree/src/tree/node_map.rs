//! The tree's map of every znode by full path, keyed by the node itself.
//!
//! A node carries its path in its own allocation ([`Node::path`]), so the map needs no key of its
//! own: its entries are [`Keyed`] nodes (ordered by path) with `()` values, 8 bytes a slot. With
//! the path as a separate `CompactString` key a slot took 32 bytes, and a path over 24 bytes took
//! a heap chunk of its own besides.

use crate::Node;
use imbl::shared_ptr::DefaultSharedPtr;
use ref_cast::RefCast;
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::ops::Bound;

/// A node as the map's key: equal and ordered by its path's bytes (what `str` compares), and
/// borrowed as a [`PathKey`], so the map is searched by path. [`Node`]'s own equality compares
/// the whole node.
#[derive(Clone)]
pub(crate) struct Keyed(pub(crate) Node);

impl PartialEq for Keyed {
    fn eq(&self, other: &Keyed) -> bool {
        self.0.path() == other.0.path()
    }
}

impl Eq for Keyed {}

impl PartialOrd for Keyed {
    fn partial_cmp(&self, other: &Keyed) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Keyed {
    fn cmp(&self, other: &Keyed) -> Ordering {
        compare_paths(self.0.path().as_bytes(), other.0.path().as_bytes())
    }
}

impl Borrow<PathKey> for Keyed {
    fn borrow(&self) -> &PathKey {
        PathKey::of(self.0.path())
    }
}

/// A path as the map searches for it: ordered as `str` orders it, by [`compare_paths`].
#[derive(RefCast, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct PathKey([u8]);

impl PathKey {
    pub(crate) fn of(path: &str) -> &PathKey {
        PathKey::ref_cast(path.as_bytes())
    }
}

impl PartialOrd for PathKey {
    fn partial_cmp(&self, other: &PathKey) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PathKey {
    fn cmp(&self, other: &PathKey) -> Ordering {
        compare_paths(&self.0, &other.0)
    }
}

/// Byte order, as `[u8]` and `str` compare, eight bytes at a time. A lookup compares the path
/// it seeks with a couple dozen others that mostly share a long prefix with it; comparing
/// them through `memcmp` cost a library call each, and the calls were the map's largest
/// share of a write's apply.
#[inline]
fn compare_paths(mut a: &[u8], mut b: &[u8]) -> Ordering {
    while let (Some(x), Some(y)) = (a.first_chunk::<8>(), b.first_chunk::<8>()) {
        if x != y {
            return u64::from_be_bytes(*x).cmp(&u64::from_be_bytes(*y));
        }
        a = &a[8..];
        b = &b[8..];
    }
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// The entries from a path on.
pub(crate) type KeysFrom<'a> = imbl::ordmap::RangedIter<'a, Keyed, (), DefaultSharedPtr>;

/// Every znode, by full path (see [`super::DataTree`]): a persistent B+tree whose leaf slots are
/// the nodes themselves.
///
/// imbl's branches separate their children by clones of leaf keys, and a clone of a [`Keyed`]
/// shares its node's allocation. So a node that is also a separator has a reference count of 2:
/// [`Node::update`] copies it (one node per leaf at most; a leaf mostly holds 32 to 64), and
/// the separator keeps the old version, or a node since deleted, alive until that branch
/// changes: at most one stale node per leaf beyond the live ones (about n/32 at worst). A
/// separator is only compared by path, which a node never changes, so the map stays ordered.
#[derive(Clone, Default)]
pub(crate) struct NodeMap(imbl::OrdMap<Keyed, ()>);

impl NodeMap {
    /// A map of `sorted` (ascending by path, no path twice) with full leaves ([`crate::dense`]).
    pub(crate) fn from_sorted(sorted: Vec<Node>) -> NodeMap {
        NodeMap(crate::dense::ord_map(sorted.into_iter().map(|node| (Keyed(node), ())).collect()))
    }

    pub(crate) fn get(&self, path: &str) -> Option<&Node> {
        self.0.get_key_value(PathKey::of(path)).map(|(keyed, ())| &keyed.0)
    }

    /// The node at `path`, to change in place (copying the parts of the map a frozen copy
    /// shares). The caller must leave the node's path as it is: the map is ordered by it.
    /// [`Node::update`] and [`Node::with_data_and_change`] keep it.
    pub(crate) fn get_mut(&mut self, path: &str) -> Option<&mut Node> {
        self.0.get_key_mut(PathKey::of(path)).map(|keyed| &mut keyed.0)
    }

    pub(crate) fn contains_key(&self, path: &str) -> bool {
        self.0.contains_key(PathKey::of(path))
    }

    /// Adds `node` at its path; returns the node it replaces there, if any.
    pub(crate) fn insert(&mut self, node: Node) -> Option<Node> {
        self.0.insert_key_value(Keyed(node), ()).map(|(old, ())| old.0)
    }

    pub(crate) fn remove(&mut self, path: &str) -> Option<Node> {
        self.0.remove_with_key(PathKey::of(path)).map(|(old, ())| old.0)
    }

    /// Every node in path order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Node> + '_ {
        self.0.keys().map(|keyed| &keyed.0)
    }

    /// The nodes from path `start` on, in path order.
    pub(crate) fn range_from(&self, start: &str) -> KeysFrom<'_> {
        self.0.range::<_, PathKey>((Bound::Included(PathKey::of(start)), Bound::Unbounded))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

impl std::fmt::Debug for NodeMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jute::records::StatPersisted;
    use proptest::prelude::*;

    fn node(path: &str, data: &[u8]) -> Node {
        Node::new(path, Some(data), -1, StatPersisted::default())
    }

    /// Paths over a small alphabet around `/`, sharing long prefixes, of every length around
    /// the eight-byte steps.
    fn path_bytes() -> impl Strategy<Value = Vec<u8>> {
        (0usize..3, proptest::collection::vec(prop::sample::select(b"/-.0a\xff".to_vec()), 0..20)).prop_map(
            |(prefix, mut tail)| {
                let mut bytes = b"/a/shared/prefix/"[..prefix * 8].to_vec();
                bytes.append(&mut tail);
                bytes
            },
        )
    }

    proptest! {
        #[test]
        fn paths_compare_in_byte_order(a in path_bytes(), b in path_bytes()) {
            prop_assert_eq!(compare_paths(&a, &b), a.cmp(&b));
            prop_assert_eq!(compare_paths(&a, &a), Ordering::Equal);
        }

        #[test]
        fn the_map_holds_its_paths_in_str_order_and_finds_each(
            paths in proptest::collection::btree_set("(/[a-c.-]{0,3}){1,4}", 1..200),
            absent in "(/[a-c.-]{0,3}){1,4}",
        ) {
            let mut map = NodeMap::default();
            for path in paths.iter().rev() {
                map.insert(node(path, b""));
            }
            prop_assert!(map.iter().map(Node::path).eq(paths.iter().map(String::as_str)));
            for path in &paths {
                prop_assert_eq!(map.get(path).map(Node::path), Some(path.as_str()));
            }
            prop_assert_eq!(map.contains_key(&absent), paths.contains(&absent));
            let from: Vec<&str> = map.range_from(&absent).map(|(keyed, ())| keyed.0.path()).collect();
            let expected: Vec<&str> = paths.range(absent.clone()..).map(String::as_str).collect();
            prop_assert_eq!(from, expected);
        }
    }

    #[test]
    fn a_slot_is_one_pointer() {
        assert_eq!(std::mem::size_of::<(Keyed, ())>(), 8);
    }

    #[test]
    fn changing_a_node_in_place_leaves_a_frozen_copy_as_it_was() {
        // Enough nodes for several leaves and branches: some nodes are separators too.
        let paths: Vec<String> = (0..5_000).map(|i| format!("/n{i:05}")).collect();
        let mut map = NodeMap::from_sorted(paths.iter().map(|path| node(path, b"old")).collect());
        let frozen = map.clone();
        for (i, path) in paths.iter().enumerate() {
            let slot = map.get_mut(path).unwrap();
            if i % 2 == 0 {
                slot.update(|head| head.child_count = 7);
            } else {
                *slot = slot.with_data_and_change(Some(b"new"), |_| {});
            }
        }
        assert!(map.get_mut("/missing").is_none());
        for (i, path) in paths.iter().enumerate() {
            let (live, old) = (map.get(path).unwrap(), frozen.get(path).unwrap());
            assert_eq!((live.path(), old.path()), (path.as_str(), path.as_str()));
            assert_eq!((old.child_count(), old.data()), (0, Some(&b"old"[..])));
            if i % 2 == 0 {
                assert_eq!((live.child_count(), live.data()), (7, Some(&b"old"[..])));
            } else {
                assert_eq!((live.child_count(), live.data()), (0, Some(&b"new"[..])));
            }
        }
        assert!(map.iter().map(Node::path).eq(paths.iter().map(String::as_str)));
        assert!(frozen.iter().all(|node| node.data() == Some(&b"old"[..]) && node.child_count() == 0));
        // Inserting at a path that is there hands back the node it replaces.
        let old = map.insert(node("/n00001", b"again")).unwrap();
        assert_eq!(old.data(), Some(&b"new"[..]));
        assert_eq!(map.remove("/n00001").unwrap().data(), Some(&b"again"[..]));
        assert_eq!(map.len(), paths.len() - 1);
        assert_eq!(frozen.len(), paths.len());
    }
}
