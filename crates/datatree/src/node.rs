//! One znode.

use bytes::{BufMut, Bytes};
use compact_str::CompactString;
use jute::records::{Stat, StatPersisted};

/// A znode's data as the tree keeps it: one allocation (count, length, bytes), 8 bytes in the
/// node. A `Bytes` cost 32 bytes in the node and, once cloned (the txn that carried the data
/// shares it), a separate 32-byte header for the life of the node. Replies still share the
/// bytes without copying ([`Node::data_bytes`]).
pub use crate::data::Data;

/// A znode as the tree stores it. The stat is the persisted one: `cversion` counts child creates
/// only (clients see `2 * cversion - numChildren`), data length and child count are computed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub data: Option<Data>,
    /// Key into the tree's [`crate::acl_cache::AclCache`]; -1 is OPEN_ACL_UNSAFE.
    pub acl_id: i64,
    pub stat: StatPersisted,
    /// Child names (not paths).
    pub children: ChildSet,
}

/// Above this many names a child set becomes a B-tree.
const SMALL_CHILDREN_MAX: usize = 32;
/// At this many names a B-tree set goes back to a vector (below the switch up, so a set that
/// hovers around it does not convert on every change).
const SMALL_CHILDREN_AGAIN: usize = 16;

/// A node's child names. Most nodes have none or a few: a sorted vector, which costs nothing
/// when empty and one small allocation otherwise (imbl's HAMT set took ~1 KB for one name).
/// Past [`SMALL_CHILDREN_MAX`] names a persistent B-tree set (`imbl::OrdSet`): a snapshot's
/// frozen copy of a parent with many children then costs nothing to keep while the live one
/// changes, and a name costs its `String` and a slot in a leaf of up to 64 (the HAMT cost
/// ~250 B per name at a million children).
///
/// The set sits behind one pointer, null when empty: most znodes are leaves, and an empty
/// set then costs 8 bytes in the node instead of 32.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChildSet(Option<Box<Names>>);

/// The representation of a non-empty [`ChildSet`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Names {
    Small(Vec<CompactString>),
    Large(imbl::OrdSet<CompactString>),
}

impl ChildSet {
    pub fn len(&self) -> usize {
        match self.0.as_deref() {
            None => 0,
            Some(Names::Small(names)) => names.len(),
            Some(Names::Large(names)) => names.len(),
        }
    }

    /// Whether the names are kept in a B-tree (for tests).
    pub fn is_large(&self) -> bool {
        matches!(self.0.as_deref(), Some(Names::Large(_)))
    }

    /// The representation to change, created empty if there is none.
    fn names_mut(&mut self) -> &mut Names {
        self.0.get_or_insert_with(|| Box::new(Names::Small(Vec::new())))
    }

    /// Drops the representation once no name is left.
    fn release_if_empty(&mut self) {
        if self.is_empty() {
            self.0 = None;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, name: &str) -> bool {
        match self.0.as_deref() {
            None => false,
            Some(Names::Small(names)) => names.binary_search_by(|probe| probe.as_str().cmp(name)).is_ok(),
            Some(Names::Large(names)) => names.contains(name),
        }
    }

    /// Adds `name`; false if it was there already.
    pub fn insert(&mut self, name: impl Into<CompactString>) -> bool {
        let name = name.into();
        let set = self.names_mut();
        match set {
            Names::Small(names) => match names.binary_search(&name) {
                Ok(_) => false,
                Err(at) => {
                    names.insert(at, name);
                    if names.len() > SMALL_CHILDREN_MAX {
                        *set = Names::Large(std::mem::take(names).into_iter().collect());
                    }
                    true
                }
            },
            Names::Large(names) => names.insert(name).is_none(),
        }
    }

    /// Removes `name`; false if it was not there.
    pub fn remove(&mut self, name: &str) -> bool {
        let Some(set) = self.0.as_deref_mut() else { return false };
        let removed = match set {
            Names::Small(names) => match names.binary_search_by(|probe| probe.as_str().cmp(name)) {
                Ok(at) => {
                    names.remove(at);
                    true
                }
                Err(_) => false,
            },
            Names::Large(names) => {
                let removed = names.remove(name).is_some();
                if names.len() <= SMALL_CHILDREN_AGAIN {
                    *set = Names::Small(names.iter().cloned().collect());
                }
                removed
            }
        };
        self.release_if_empty();
        removed
    }

    /// Adds many names at once (a snapshot load gathers a parent's children): one sort and one
    /// conversion instead of one per name. Names already there are kept once.
    pub fn extend(&mut self, mut added: Vec<CompactString>) {
        if added.is_empty() {
            return;
        }
        let set = self.names_mut();
        match set {
            Names::Small(names) if names.len() + added.len() <= SMALL_CHILDREN_MAX => {
                names.append(&mut added);
                names.sort_unstable();
                names.dedup();
                names.shrink_to_fit();
            }
            Names::Small(names) => {
                let mut all = std::mem::take(names);
                all.append(&mut added);
                all.sort_unstable();
                all.dedup();
                *set = Names::Large(crate::dense::ord_set(all));
            }
            // Mostly new names (a load): one dense rebuild rather than half-full leaves.
            Names::Large(names) if added.len() >= names.len() => {
                let mut all: Vec<CompactString> = Vec::with_capacity(names.len() + added.len());
                all.extend(std::mem::take(names));
                all.append(&mut added);
                all.sort_unstable();
                all.dedup();
                *names = crate::dense::ord_set(all);
            }
            Names::Large(names) => names.extend(added),
        }
    }

    /// The names in ascending order.
    pub fn iter(&self) -> ChildNames<'_> {
        match self.0.as_deref() {
            None => ChildNames::Small([].iter()),
            Some(Names::Small(names)) => ChildNames::Small(names.iter()),
            Some(Names::Large(names)) => ChildNames::Large(names.iter()),
        }
    }
}

impl<'a> IntoIterator for &'a ChildSet {
    type Item = &'a str;
    type IntoIter = ChildNames<'a>;

    fn into_iter(self) -> ChildNames<'a> {
        self.iter()
    }
}

/// [`ChildSet::iter`].
pub enum ChildNames<'a> {
    Small(std::slice::Iter<'a, CompactString>),
    Large(<&'a imbl::OrdSet<CompactString> as IntoIterator>::IntoIter),
}

impl<'a> Iterator for ChildNames<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        match self {
            ChildNames::Small(names) => names.next().map(CompactString::as_str),
            ChildNames::Large(names) => names.next().map(CompactString::as_str),
        }
    }
}

impl Node {
    /// The data as a reply carries it: the node's bytes, shared, not copied.
    pub fn data_bytes(&self) -> Option<Bytes> {
        self.data.as_ref().map(|data| Bytes::from_owner(data.clone()))
    }

    /// The data as jute writes a znode's buffer (null as length -1), as a snapshot stores it.
    pub fn write_data(&self, out: &mut Vec<u8>) {
        match &self.data {
            None => out.put_i32(-1),
            Some(data) => {
                // Data comes from frames bounded by jute.maxbuffer; i32::MAX is never reached.
                out.put_i32(i32::try_from(data.len()).unwrap_or(i32::MAX));
                out.put_slice(data);
            }
        }
    }

    /// The stat a client sees.
    pub fn client_stat(&self) -> Stat {
        let s = &self.stat;
        let num_children = self.children.len() as i32;
        Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion.wrapping_mul(2).wrapping_sub(num_children),
            aversion: s.aversion,
            ephemeral_owner: crate::node::visible_ephemeral_owner(s.ephemeral_owner),
            data_length: self.data.as_ref().map_or(0, |d| d.len() as i32),
            num_children,
            pzxid: s.pzxid,
        }
    }
}

/// ephemeralOwner value marking a container node.
pub const CONTAINER_EPHEMERAL_OWNER: i64 = i64::MIN;

/// Container and TTL nodes encode their kind in ephemeralOwner; clients see 0 for them.
pub fn visible_ephemeral_owner(owner: i64) -> i64 {
    match EphemeralKind::of(owner) {
        EphemeralKind::Session(id) => id,
        _ => 0,
    }
}

/// What a stored ephemeralOwner means (Java's EphemeralType, extended types enabled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EphemeralKind {
    Persistent,
    Container,
    /// A TTL node with its TTL in ms.
    Ttl(i64),
    /// An ephemeral owned by this session.
    Session(i64),
}

impl EphemeralKind {
    pub fn of(owner: i64) -> EphemeralKind {
        if owner == 0 {
            EphemeralKind::Persistent
        } else if owner == CONTAINER_EPHEMERAL_OWNER {
            EphemeralKind::Container
        } else if (owner as u64) >> 56 == 0xFF {
            // top byte 0xFF, bits 40..56 = extended type (0 = TTL), low 40 bits = the TTL.
            if ((owner as u64) >> 40) & 0xFFFF == 0 {
                EphemeralKind::Ttl(owner & TTL_MASK)
            } else {
                EphemeralKind::Session(owner)
            }
        } else {
            EphemeralKind::Session(owner)
        }
    }

    pub fn ttl_owner(ttl_ms: i64) -> i64 {
        ((0xFFu64 << 56) as i64) | (ttl_ms & TTL_MASK)
    }
}

/// The largest TTL a node can carry: 2^40 - 1 ms.
pub const TTL_MASK: i64 = (1 << 40) - 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_set_switches_representation_and_keeps_every_name_sorted() {
        let mut set = ChildSet::default();
        let mut model = std::collections::BTreeSet::new();
        // Up past the switch, down below the way back, and up again; names out of order.
        let names: Vec<String> = (0..80).map(|i| format!("n{:03}", (i * 37) % 80)).collect();
        for name in &names {
            assert_eq!(set.insert(name.as_str()), model.insert(name.clone()));
            assert!(!set.insert(name.as_str()));
        }
        assert!(set.is_large());
        for name in names.iter().take(70) {
            assert_eq!(set.remove(name), model.remove(name));
            assert!(!set.remove(name));
            assert_eq!(set.len(), model.len());
            assert!(set.iter().eq(model.iter().map(String::as_str)));
        }
        assert!(!set.is_large());
        for name in &names {
            assert_eq!(set.insert(name.as_str()), model.insert(name.clone()));
            assert_eq!(set.contains(name), model.contains(name));
        }
        assert!(set.iter().eq(model.iter().map(String::as_str)));
        assert!(!set.contains("absent"));
    }

    #[test]
    fn extending_a_child_set_in_batches_keeps_one_sorted_copy_of_each_name() {
        let mut set = ChildSet::default();
        let mut model = std::collections::BTreeSet::new();
        for batch in [vec!["c", "a"], vec!["b", "a"], (0..40).map(|i| ["x", "y"][i % 2]).collect(), vec![]] {
            let batch: Vec<CompactString> = batch.into_iter().map(CompactString::from).collect();
            model.extend(batch.iter().map(|name| name.to_string()));
            set.extend(batch);
            assert!(set.iter().eq(model.iter().map(String::as_str)), "{set:?}");
        }
        let many: Vec<CompactString> =
            (0..100).rev().map(|i| compact_str::format_compact!("n{i:03}")).collect();
        model.extend(many.iter().map(|name| name.to_string()));
        set.extend(many);
        assert!(set.is_large());
        assert!(set.iter().eq(model.iter().map(String::as_str)) && set.len() == model.len());
    }
}
