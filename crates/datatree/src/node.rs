//! One znode.

use bytes::{BufMut, Bytes};
use jute::records::{Stat, StatPersisted};
use triomphe::ThinArc;

/// A znode as the tree stores it: its [`NodeHead`], its full path and its data in one shared
/// allocation (reference count, head, slice length, path bytes, data bytes) behind an 8-byte
/// handle. With the node and its data allocated apart, a 100-byte znode took a 112-byte chunk
/// for the node and a 128-byte one for the data; together they take one of 208, and the path
/// adds its bytes to that chunk instead of a key of its own in the tree's map (which is keyed
/// by the node itself). Cloning shares; a change to a shared node
/// copies it ([`Node::update`]), so a frozen snapshot keeps the node as it was. Replies share
/// the bytes without copying ([`Node::data_bytes`]).
///
/// The children are not stored here: the tree's map is ordered by full path, so a node's
/// children are the keys under `path + "/"` ([`crate::tree::Children`]); the head counts them.
#[derive(Clone)]
pub struct Node(ThinArc<NodeHead, u8>);

/// A znode's fields but its path and data. The stat is the persisted one: `cversion` counts
/// child creates only (clients see `2 * cversion - numChildren`), data length and child count
/// are computed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeHead {
    /// Key into the tree's [`crate::acl_cache::AclCache`]; -1 is OPEN_ACL_UNSAFE.
    pub acl_id: i64,
    pub stat: StatPersisted,
    /// How many children the node has (Java's `children.size()`).
    pub child_count: u32,
    /// The path's length in bytes (the slice's first bytes) in the low 31 bits; the top bit
    /// set when the node has data (clear for null data, jute's length -1, which is not the
    /// same as empty data). One word for both keeps the head at 80 bytes: a path comes from a
    /// jute string, whose length is an i32.
    shape: u32,
}

/// [`NodeHead::shape`]'s has-data bit.
const HAS_DATA: u32 = 1 << 31;

impl NodeHead {
    fn path_len(&self) -> usize {
        (self.shape & !HAS_DATA) as usize
    }

    fn has_data(&self) -> bool {
        self.shape & HAS_DATA != 0
    }
}

impl std::ops::Deref for Node {
    type Target = NodeHead;

    fn deref(&self) -> &NodeHead {
        &self.0.header.header
    }
}

impl Node {
    /// A childless node at `path`.
    pub fn new(path: &str, data: Option<&[u8]>, acl_id: i64, stat: StatPersisted) -> Node {
        Node::from_parts(NodeHead { acl_id, stat, child_count: 0, shape: 0 }, path, data)
    }

    fn from_parts(mut head: NodeHead, path: &str, data: Option<&[u8]>) -> Node {
        let path_len = u32::try_from(path.len()).ok().filter(|len| len & HAS_DATA == 0);
        let path_len = path_len.expect("a path longer than a jute string can be");
        head.shape = path_len | if data.is_some() { HAS_DATA } else { 0 };
        let data = data.unwrap_or_default();
        let mut node = ThinArc::from_header_and_iter(head, std::iter::repeat_n(0, path.len() + data.len()));
        // Two copies into the zeroed slice: a chained byte iterator would be written a byte at a
        // time.
        node.with_arc_mut(|arc| match triomphe::Arc::get_mut(arc) {
            Some(unique) => {
                let (path_bytes, data_bytes) = unique.slice_mut().split_at_mut(path.len());
                path_bytes.copy_from_slice(path.as_bytes());
                data_bytes.copy_from_slice(data);
            }
            None => unreachable!("a node just allocated is shared"),
        });
        Node(node)
    }

    /// The node's full path (`/` for the root).
    /// Asks the CPU to start loading the node's first cache lines (its head, path and the start
    /// of its data), for walks over many nodes whose memory is cold: a snapshot touches every
    /// node once, and waiting for each one in turn was a third of the snapshot writer's time.
    #[inline]
    pub fn prefetch(&self) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let start = self.0.heap_ptr().cast::<i8>();
            for line in 0..3 {
                // SAFETY: SSE is in every x86_64 target, and a prefetch reads nothing and never
                // faults (wrapping_add: a line past the allocation's end is only a wasted hint).
                unsafe { _mm_prefetch(start.wrapping_add(line * 64), _MM_HINT_T0) };
            }
        }
    }

    pub fn path(&self) -> &str {
        let bytes = &self.0.slice[..self.path_len()];
        // Only ever built from a `&str` (from_parts), and the slice is never written after.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// The data; None when null.
    pub fn data(&self) -> Option<&[u8]> {
        self.has_data().then(|| self.data_slice())
    }

    /// The bytes after the path (empty when null).
    fn data_slice(&self) -> &[u8] {
        &self.0.slice[self.path_len()..]
    }

    /// This node with `data` in place of its own (a new allocation: the length is fixed); the
    /// path and head are kept.
    pub(crate) fn with_data(&self, data: Option<&[u8]>) -> Node {
        Node::from_parts((**self).clone(), self.path(), data)
    }

    /// Changes the head in place, after copying the node if it is shared (a snapshot view, a
    /// reply or a separator key of the tree's map holds it). `change` cannot touch the path.
    pub(crate) fn update<R>(&mut self, change: impl FnOnce(&mut NodeHead) -> R) -> R {
        if !self.0.with_arc(|arc| arc.is_unique()) {
            *self = self.with_data(self.data());
        }
        let shape = self.shape;
        let result = self.0.with_arc_mut(|arc| match triomphe::Arc::get_mut(arc) {
            Some(unique) => change(unique.header_mut()),
            None => unreachable!("a node just copied is shared"),
        });
        debug_assert_eq!(self.shape, shape, "a node's head change moved its path or data");
        result
    }

    /// The data as a reply carries it: the node's bytes, shared, not copied (the reply holds the
    /// node's one allocation until it is written).
    pub fn data_bytes(&self) -> Option<Bytes> {
        self.has_data().then(|| Bytes::from_owner(NodeData(self.clone())))
    }

    /// The data's length; 0 when null.
    pub fn data_len(&self) -> usize {
        self.0.slice.len() - self.path_len()
    }

    /// The data as jute writes a znode's buffer (null as length -1), as a snapshot stores it.
    pub fn write_data(&self, out: &mut Vec<u8>) {
        match self.data() {
            None => out.put_i32(-1),
            Some(data) => {
                // Data comes from frames bounded by jute.maxbuffer; i32::MAX is never reached.
                out.put_i32(i32::try_from(data.len()).unwrap_or(i32::MAX));
                out.put_slice(data);
            }
        }
    }

    /// numChildren as a stat carries it. A frame-bounded tree never holds 2^31 children of one
    /// node; saturating keeps the sign if it did.
    pub fn num_children(&self) -> i32 {
        i32::try_from(self.child_count).unwrap_or(i32::MAX)
    }

    /// The stat a client sees.
    pub fn client_stat(&self) -> Stat {
        let s = &self.stat;
        let num_children = self.num_children();
        Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion.wrapping_mul(2).wrapping_sub(num_children),
            aversion: s.aversion,
            ephemeral_owner: crate::node::visible_ephemeral_owner(s.ephemeral_owner),
            data_length: i32::try_from(self.data_len()).unwrap_or(i32::MAX),
            num_children,
            pzxid: s.pzxid,
        }
    }
}

impl PartialEq for Node {
    fn eq(&self, other: &Node) -> bool {
        **self == **other && self.0.slice == other.0.slice
    }
}

impl Eq for Node {}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("path", &self.path())
            .field("head", &**self)
            .field("data", &self.data())
            .finish()
    }
}

/// A node's data as a `Bytes` owner: holds the node, lends its bytes.
struct NodeData(Node);

impl AsRef<[u8]> for NodeData {
    fn as_ref(&self) -> &[u8] {
        self.0.data_slice()
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
    fn a_node_is_one_thin_allocation() {
        assert_eq!(std::mem::size_of::<Node>(), 8);
        // Reference count, head, length: 96 bytes before the path and data (the path's length
        // and the has-data flag share a word).
        assert_eq!(std::mem::size_of::<NodeHead>(), 80);
    }

    #[test]
    fn null_and_empty_data_differ_and_bytes_outlive_the_node() {
        let stat = StatPersisted { czxid: 7, ..StatPersisted::default() };
        let null = Node::new("/n", None, -1, stat.clone());
        let empty = Node::new("/n", Some(&[]), -1, stat.clone());
        assert_eq!((null.data(), null.data_bytes(), null.data_len()), (None, None, 0));
        assert_eq!((empty.data(), empty.data_len()), (Some(&[][..]), 0));
        assert_ne!(null, empty);
        assert_eq!((null.path(), empty.path()), ("/n", "/n"));
        let node = Node::new("/caf\u{e9}/x", Some(b"abc"), 3, stat.clone());
        assert_eq!((node.path(), node.data(), node.data_len()), ("/caf\u{e9}/x", Some(&b"abc"[..]), 3));
        assert_eq!(node.client_stat().data_length, 3);
        let mut written = Vec::new();
        node.write_data(&mut written);
        assert_eq!(written, [0, 0, 0, 3, b'a', b'b', b'c']);
        assert_ne!(node, Node::new("/caf\u{e9}/y", Some(b"abc"), 3, stat), "the path counts");
        let bytes = node.data_bytes().unwrap();
        drop(node);
        assert_eq!(&bytes[..], b"abc");
    }

    #[test]
    fn updating_a_shared_node_leaves_the_other_copy_as_it_was() {
        let mut node = Node::new("/a/b", Some(b"value"), -1, StatPersisted::default());
        let frozen = node.clone();
        node.update(|head| head.child_count = 2);
        node.update(|head| head.stat.cversion = 5);
        assert_eq!((node.child_count, node.stat.cversion, node.data()), (2, 5, Some(&b"value"[..])));
        assert_eq!((frozen.child_count, frozen.stat.cversion), (0, 0));
        let replaced = node.with_data(None);
        assert_eq!((replaced.path(), replaced.data(), replaced.child_count), ("/a/b", None, 2));
        let longer = replaced.with_data(Some(b"longer value"));
        assert_eq!(
            (longer.path(), longer.data(), longer.data_len()),
            ("/a/b", Some(&b"longer value"[..]), 12)
        );
        assert_eq!(frozen.path(), "/a/b");
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let copy = frozen.clone();
                std::thread::spawn(move || assert_eq!(copy.data(), Some(&b"value"[..])))
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    }
}
