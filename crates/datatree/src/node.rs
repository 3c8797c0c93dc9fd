//! One znode.

use bytes::Bytes;
use jute::records::{Stat, StatPersisted};
use triomphe::ThinArc;

/// A znode as the tree stores it: its head, its full path and its data in one shared allocation
/// behind an 8-byte handle. With the node and its data allocated apart, a 100-byte znode took a
/// 112-byte chunk for the node and a 128-byte one for the data; together they take one chunk,
/// and the path adds its bytes to that chunk instead of a key of its own in the tree's map
/// (which is keyed by the node itself). Cloning shares; a change to a shared node copies it
/// ([`Node::update`]), so a frozen snapshot keeps the node as it was. Replies share the bytes
/// without copying ([`Node::data_bytes`]).
///
/// The head is packed ([`Packed`]): the fields most nodes never move from their defaults are
/// stored only when they differ. A node that was created and not changed since (most of a large
/// tree) keeps 32 bytes of head instead of 80: with a 25-byte path and 100 bytes of data, a
/// 192-byte chunk instead of a 240-byte one.
///
/// The children are not stored here: the tree's map is ordered by full path, so a node's
/// children are the keys under `path + "/"` ([`crate::tree::Children`]); the head counts them.
#[derive(Clone)]
pub struct Node(ThinArc<Packed, u8>);

/// A znode's fields but its path and data, as read from a [`Node`] ([`Node::head`]) and
/// changed by [`Node::update`]. The stat is the persisted one: `cversion` counts child creates
/// only (clients see `2 * cversion - numChildren`), data length and child count are computed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeHead {
    /// Key into the tree's [`crate::acl_cache::AclCache`]; -1 is OPEN_ACL_UNSAFE.
    pub acl_id: i64,
    pub stat: StatPersisted,
    /// How many children the node has (Java's `children.size()`).
    pub child_count: u32,
}

/// The allocation's fixed part: the fields every node sets, and which of the others follow
/// the path (the extras, one bit per [`Extra`], in that order), then the data. The path comes
/// first in the slice, at a fixed offset: the tree's map compares paths many times per lookup,
/// and finding it behind the extras was part of each compare.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Packed {
    czxid: i64,
    ctime: i64,
    child_count: u32,
    /// The low 24 bits: the ACL id when it fits in 24 bits, two's complement (Java counts them
    /// up from 1; -1 is OPEN_ACL_UNSAFE), else 0 and the id is an extra. The top 8 bits: the
    /// extras stored ([`Extra`]). Together in one word so that the head stays 32 bytes with
    /// the digest.
    acl_and_extras: u32,
    /// The path's length in bytes in the low 31 bits; the top bit set when the node has data
    /// (clear for null data, jute's length -1, which is not the same as empty data). A path
    /// comes from a jute string, whose length is an i32.
    shape: u32,
    /// Java's digest of this node ([`crate::tree::digest::node_digest`], a CRC-32): kept, not
    /// worked out again, for every change takes the digest of the node it replaces, and prep
    /// of the node it reads. Over a 4 KiB value each CRC cost about a microsecond of the
    /// ensemble's CPU per write.
    digest: u32,
}

/// [`Packed::shape`]'s has-data bit.
const HAS_DATA: u32 = 1 << 31;

/// Whether [`Packed::acl_and_extras`] holds `acl_id` itself (24 bits, signed).
fn acl_id_fits_inline(acl_id: i64) -> bool {
    (-(1 << 23)..(1 << 23)).contains(&acl_id)
}

fn pack_acl_and_extras(acl_id: i64, extras: u8) -> u32 {
    let inline = if acl_id_fits_inline(acl_id) { acl_id as u32 & 0x00FF_FFFF } else { 0 };
    inline | u32::from(extras) << 24
}

/// The node digest as [`Packed::digest`] keeps it: a CRC-32, which `node_digest` widens.
fn digest_bits(path: &str, data: Option<&[u8]>, stat: &StatPersisted) -> u32 {
    crate::tree::digest::node_digest(path, data, stat) as u32
}

/// The optional fields, each stored (8 or 4 bytes, big-endian) only when it differs from its
/// default: mzxid and pzxid default to czxid, mtime to ctime, the versions and the owner to 0;
/// the ACL id is stored here only when it does not fit [`Packed::acl_and_extras`]. The bit is set
/// exactly when the field is stored, so equal heads pack to equal bytes.
#[derive(Clone, Copy)]
enum Extra {
    Mzxid,
    Pzxid,
    Mtime,
    EphemeralOwner,
    AclId,
    Version,
    Cversion,
    Aversion,
}

impl Extra {
    /// The 8-byte fields come first: bits 0 to 4.
    const LONGS: u8 = 0b0001_1111;
    const INTS: u8 = 0b1110_0000;

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// Bytes the extras named by `extras` take.
fn extras_len(extras: u8) -> usize {
    (extras & Extra::LONGS).count_ones() as usize * 8 + (extras & Extra::INTS).count_ones() as usize * 4
}

impl Packed {
    fn path_len(&self) -> usize {
        (self.shape & !HAS_DATA) as usize
    }

    fn has_data(&self) -> bool {
        self.shape & HAS_DATA != 0
    }

    fn extras(&self) -> u8 {
        (self.acl_and_extras >> 24) as u8
    }

    /// The ACL id held inline (0 when it is an extra), sign-extended from 24 bits.
    fn inline_acl_id(&self) -> i64 {
        i64::from(((self.acl_and_extras << 8) as i32) >> 8)
    }
}

/// `head`'s optional fields: which are stored, and their bytes.
fn pack_extras(head: &NodeHead) -> (u8, [u8; 52], usize) {
    let s = &head.stat;
    let longs = [
        (Extra::Mzxid, s.mzxid, s.mzxid != s.czxid),
        (Extra::Pzxid, s.pzxid, s.pzxid != s.czxid),
        (Extra::Mtime, s.mtime, s.mtime != s.ctime),
        (Extra::EphemeralOwner, s.ephemeral_owner, s.ephemeral_owner != 0),
        (Extra::AclId, head.acl_id, !acl_id_fits_inline(head.acl_id)),
    ];
    let ints = [(Extra::Version, s.version), (Extra::Cversion, s.cversion), (Extra::Aversion, s.aversion)];
    let mut bytes = [0u8; 52];
    let (mut extras, mut len) = (0u8, 0usize);
    for (extra, value, stored) in longs {
        if stored {
            extras |= extra.bit();
            bytes[len..len + 8].copy_from_slice(&value.to_be_bytes());
            len += 8;
        }
    }
    for (extra, value) in ints {
        if value != 0 {
            extras |= extra.bit();
            bytes[len..len + 4].copy_from_slice(&value.to_be_bytes());
            len += 4;
        }
    }
    (extras, bytes, len)
}

impl Node {
    /// A childless node at `path`.
    pub fn new(path: &str, data: Option<&[u8]>, acl_id: i64, stat: StatPersisted) -> Node {
        Node::from_parts(&NodeHead { acl_id, stat, child_count: 0 }, path, data)
    }

    fn from_parts(head: &NodeHead, path: &str, data: Option<&[u8]>) -> Node {
        Node::assemble(head, path, data, digest_bits(path, data, &head.stat))
    }

    /// [`Node::from_parts`] with the node's digest already known.
    fn assemble(head: &NodeHead, path: &str, data: Option<&[u8]>, digest: u32) -> Node {
        let path_len = u32::try_from(path.len()).ok().filter(|len| len & HAS_DATA == 0);
        let path_len = path_len.expect("a path longer than a jute string can be");
        let (extras, extra_bytes, extras_len) = pack_extras(head);
        let packed = Packed {
            czxid: head.stat.czxid,
            ctime: head.stat.ctime,
            child_count: head.child_count,
            acl_and_extras: pack_acl_and_extras(head.acl_id, extras),
            shape: path_len | if data.is_some() { HAS_DATA } else { 0 },
            digest,
        };
        let data = data.unwrap_or_default();
        let len = extras_len + path.len() + data.len();
        let mut node = ThinArc::from_header_and_iter(packed, std::iter::repeat_n(0, len));
        // Copies into the zeroed slice: a chained byte iterator would be written a byte at a
        // time.
        node.with_arc_mut(|arc| match triomphe::Arc::get_mut(arc) {
            Some(unique) => {
                let (path_bytes, rest) = unique.slice_mut().split_at_mut(path.len());
                let (extra_part, data_bytes) = rest.split_at_mut(extras_len);
                path_bytes.copy_from_slice(path.as_bytes());
                extra_part.copy_from_slice(&extra_bytes[..extras_len]);
                data_bytes.copy_from_slice(data);
            }
            None => unreachable!("a node just allocated is shared"),
        });
        Node(node)
    }

    fn packed(&self) -> &Packed {
        &self.0.header.header
    }

    fn extras_len(&self) -> usize {
        extras_len(self.packed().extras())
    }

    /// The stored extras, after the path.
    fn extras(&self) -> &[u8] {
        let start = self.packed().path_len();
        &self.0.slice[start..start + self.extras_len()]
    }

    /// The node's head: its ACL id, persisted stat and child count.
    pub fn head(&self) -> NodeHead {
        let packed = self.packed();
        let mut stored = self.extras();
        let mut field = |extra: Extra, default: i64| -> i64 {
            if packed.extras() & extra.bit() == 0 {
                return default;
            }
            let (value, rest) = stored.split_at(if Extra::LONGS & extra.bit() != 0 { 8 } else { 4 });
            stored = rest;
            match *value {
                [a, b, c, d] => i64::from(i32::from_be_bytes([a, b, c, d])),
                [a, b, c, d, e, f, g, h] => i64::from_be_bytes([a, b, c, d, e, f, g, h]),
                _ => unreachable!("an extra is 4 or 8 bytes"),
            }
        };
        let (czxid, ctime) = (packed.czxid, packed.ctime);
        let mzxid = field(Extra::Mzxid, czxid);
        let pzxid = field(Extra::Pzxid, czxid);
        let mtime = field(Extra::Mtime, ctime);
        let ephemeral_owner = field(Extra::EphemeralOwner, 0);
        let acl_id = field(Extra::AclId, packed.inline_acl_id());
        // Stored from an i32 (pack_extras): the casts give it back.
        let version = field(Extra::Version, 0) as i32;
        let cversion = field(Extra::Cversion, 0) as i32;
        let aversion = field(Extra::Aversion, 0) as i32;
        NodeHead {
            acl_id,
            stat: StatPersisted {
                czxid,
                mzxid,
                ctime,
                mtime,
                version,
                cversion,
                aversion,
                ephemeral_owner,
                pzxid,
            },
            child_count: packed.child_count,
        }
    }

    /// The persisted stat.
    pub fn stat(&self) -> StatPersisted {
        self.head().stat
    }

    /// Key into the tree's [`crate::acl_cache::AclCache`]; -1 is OPEN_ACL_UNSAFE.
    pub fn acl_id(&self) -> i64 {
        let extras = self.packed().extras();
        if extras & Extra::AclId.bit() == 0 {
            return self.packed().inline_acl_id();
        }
        // The longs stored before it; no int comes before a long.
        let at = extras_len(extras & (Extra::AclId.bit() - 1));
        match self.extras()[at..at + 8] {
            [a, b, c, d, e, f, g, h] => i64::from_be_bytes([a, b, c, d, e, f, g, h]),
            _ => unreachable!("eight bytes"),
        }
    }

    /// How many children the node has (Java's `children.size()`).
    pub fn child_count(&self) -> u32 {
        self.packed().child_count
    }

    /// Java's digest of the node: its path, data and persisted stat
    /// ([`crate::tree::digest::node_digest`]), as worked out when the node was last changed.
    pub fn digest(&self) -> i64 {
        i64::from(self.packed().digest)
    }

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

    /// The node's full path (`/` for the root).
    pub fn path(&self) -> &str {
        let bytes = &self.0.slice[..self.packed().path_len()];
        // Only ever built from a `&str` (from_parts), and the slice is never written after.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// The data; None when null.
    pub fn data(&self) -> Option<&[u8]> {
        self.packed().has_data().then(|| self.data_slice())
    }

    /// The bytes after the path (empty when null).
    fn data_slice(&self) -> &[u8] {
        &self.0.slice[self.packed().path_len() + self.extras_len()..]
    }

    /// This node with `data` in place of its own and its head as `change` leaves it: a new
    /// allocation (the length is fixed); the path is kept.
    pub(crate) fn with_data_and_change(
        &self,
        data: Option<&[u8]>,
        change: impl FnOnce(&mut NodeHead),
    ) -> Node {
        let mut head = self.head();
        change(&mut head);
        Node::from_parts(&head, self.path(), data)
    }

    /// Changes the head, in place when the node is not shared (a snapshot view, a reply or a
    /// separator key of the tree's map holds it) and the change stores the same optional
    /// fields; otherwise the node is copied with the new head. `change` cannot touch the path.
    pub(crate) fn update<R>(&mut self, change: impl FnOnce(&mut NodeHead) -> R) -> R {
        let before = self.head();
        let mut head = before.clone();
        let result = change(&mut head);
        // The digest covers the stat, not the child count or the ACL id.
        let digest = if head.stat == before.stat {
            self.packed().digest
        } else {
            digest_bits(self.path(), self.data(), &head.stat)
        };
        let (extras, extra_bytes, extras_len) = pack_extras(&head);
        let unique = self.0.with_arc(|arc| arc.is_unique());
        if !unique || extras != self.packed().extras() {
            *self = Node::assemble(&head, self.path(), self.data(), digest);
            return result;
        }
        self.0.with_arc_mut(|arc| match triomphe::Arc::get_mut(arc) {
            Some(unique) => {
                let packed = unique.header_mut();
                packed.digest = digest;
                packed.czxid = head.stat.czxid;
                packed.ctime = head.stat.ctime;
                packed.child_count = head.child_count;
                packed.acl_and_extras = pack_acl_and_extras(head.acl_id, extras);
                let start = packed.path_len();
                unique.slice_mut()[start..start + extras_len].copy_from_slice(&extra_bytes[..extras_len]);
            }
            None => unreachable!("a node checked unique is shared"),
        });
        result
    }

    /// The data as a reply carries it: the node's bytes, shared, not copied (the reply holds the
    /// node's one allocation until it is written).
    pub fn data_bytes(&self) -> Option<Bytes> {
        self.packed().has_data().then(|| Bytes::from_owner(NodeData(self.clone())))
    }

    /// The data's length; 0 when null.
    pub fn data_len(&self) -> usize {
        self.data_slice().len()
    }

    /// numChildren as a stat carries it. A frame-bounded tree never holds 2^31 children of one
    /// node; saturating keeps the sign if it did.
    pub fn num_children(&self) -> i32 {
        i32::try_from(self.child_count()).unwrap_or(i32::MAX)
    }

    /// The stat a client sees.
    pub fn client_stat(&self) -> Stat {
        let s = self.stat();
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
        // Packing is canonical (the same head always stores the same extras).
        self.packed() == other.packed() && self.0.slice == other.0.slice
    }
}

impl Eq for Node {}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("path", &self.path())
            .field("head", &self.head())
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
        // Reference count, packed head, length: 48 bytes before the extras, path and data.
        assert_eq!(std::mem::size_of::<Packed>(), 32);
        let created =
            StatPersisted { czxid: 9, mzxid: 9, pzxid: 9, ctime: 5, mtime: 5, ..StatPersisted::default() };
        let node = Node::new("/p", Some(b"abc"), -1, created);
        assert_eq!(
            (node.packed().extras(), node.0.slice.len()),
            (0, 5),
            "a node never changed stores no extras"
        );
    }

    fn head(acl_id: i64, stat: StatPersisted, child_count: u32) -> NodeHead {
        NodeHead { acl_id, stat, child_count }
    }

    /// Heads with each optional field at, near and far from its default.
    fn sample_heads() -> Vec<NodeHead> {
        let base = StatPersisted {
            czxid: 0x1_0000_0005,
            mzxid: 0x1_0000_0005,
            pzxid: 0x1_0000_0005,
            ctime: 1_700_000_000_000,
            mtime: 1_700_000_000_000,
            ..StatPersisted::default()
        };
        let mut heads = vec![head(-1, base.clone(), 0), head(-1, StatPersisted::default(), 0)];
        let longs: [fn(&mut NodeHead, i64); 7] = [
            |h, v| h.stat.mzxid = v,
            |h, v| h.stat.pzxid = v,
            |h, v| h.stat.mtime = v,
            |h, v| h.stat.ephemeral_owner = v,
            |h, v| h.acl_id = v,
            |h, v| h.stat.czxid = v,
            |h, v| h.stat.ctime = v,
        ];
        let ints: [fn(&mut NodeHead, i32); 3] =
            [|h, v| h.stat.version = v, |h, v| h.stat.cversion = v, |h, v| h.stat.aversion = v];
        for set in longs {
            for value in
                [0, -1, 1, 0x1_0000_0005, i64::from(i32::MIN), i64::from(i32::MAX) + 1, i64::MIN, i64::MAX]
            {
                let mut h = head(-1, base.clone(), 3);
                set(&mut h, value);
                heads.push(h);
            }
        }
        // ACL ids at the edges of the 24 bits held inline.
        for acl_id in [(1 << 23) - 1, 1 << 23, -(1 << 23), -(1 << 23) - 1, i64::from(i32::MAX)] {
            heads.push(head(acl_id, base.clone(), 1));
        }
        for set in ints {
            for value in [0, -1, 1, i32::MIN, i32::MAX] {
                let mut h = head(7, base.clone(), u32::MAX);
                set(&mut h, value);
                heads.push(h);
            }
        }
        // Everything away from its default at once.
        heads.push(head(
            12,
            StatPersisted {
                czxid: 1,
                mzxid: 2,
                pzxid: 3,
                ctime: 4,
                mtime: 5,
                version: 6,
                cversion: 7,
                aversion: 8,
                ephemeral_owner: 9,
            },
            10,
        ));
        heads
    }

    #[test]
    fn every_head_reads_back_as_packed_and_path_and_data_stay() {
        for h in sample_heads() {
            for data in [None, Some(&b""[..]), Some(&b"some data"[..])] {
                let node = Node::from_parts(&h, "/a/b", data);
                assert_eq!(node.head(), h);
                assert_eq!((node.path(), node.data()), ("/a/b", data));
                assert_eq!(node.stat(), h.stat);
                assert_eq!((node.acl_id(), node.child_count()), (h.acl_id, h.child_count));
            }
        }
    }

    #[test]
    fn an_update_gives_the_node_a_fresh_build_would() {
        let heads = sample_heads();
        for from in &heads {
            for to in &heads {
                // Unshared: changed in place when the same extras are stored, else rebuilt.
                let mut node = Node::from_parts(from, "/x", Some(b"value"));
                node.update(|h| *h = to.clone());
                assert_eq!(node, Node::from_parts(to, "/x", Some(b"value")), "{from:?} -> {to:?}");
                // Shared: copied, the other holder keeps the old head.
                let mut node = Node::from_parts(from, "/x", None);
                let frozen = node.clone();
                node.update(|h| *h = to.clone());
                assert_eq!((node.head(), node.data()), (to.clone(), None));
                assert_eq!(frozen.head(), *from);
            }
        }
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
        assert_eq!((node.child_count(), node.stat().cversion, node.data()), (2, 5, Some(&b"value"[..])));
        assert_eq!((frozen.child_count(), frozen.stat().cversion), (0, 0));
        let replaced = node.with_data_and_change(None, |_| {});
        assert_eq!((replaced.path(), replaced.data(), replaced.child_count()), ("/a/b", None, 2));
        let longer = replaced.with_data_and_change(Some(b"longer value"), |head| head.stat.version = 1);
        assert_eq!(
            (longer.path(), longer.data(), longer.data_len()),
            ("/a/b", Some(&b"longer value"[..]), 12)
        );
        assert_eq!((longer.stat().version, longer.child_count()), (1, 2));
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

    /// The digest a node keeps, against Java's worked out afresh from its path, data and stat.
    fn assert_digest_kept(node: &Node) {
        let fresh = crate::tree::digest::node_digest(node.path(), node.data(), &node.stat());
        assert_eq!(node.digest(), fresh, "{}", node.path());
    }

    #[test]
    fn the_kept_digest_follows_every_change_of_data_and_stat_and_ignores_the_rest() {
        let stat = StatPersisted { czxid: 3, ctime: 9, ..StatPersisted::default() };
        let mut node = Node::new("/d/n", Some(b"value"), -1, stat);
        assert_digest_kept(&node);
        let first = node.digest();
        // In place (unique, same extras) and by copy (shared, or the extras change).
        node.update(|head| head.child_count = 4);
        assert_eq!(node.digest(), first, "the child count is not in the digest");
        node.update(|head| head.acl_id = 7);
        assert_eq!(node.digest(), first, "nor the ACL");
        node.update(|head| head.stat.version = 1);
        assert_digest_kept(&node);
        assert_ne!(node.digest(), first);
        node.update(|head| head.stat.version = 2);
        assert_digest_kept(&node);
        let shared = node.clone();
        node.update(|head| head.stat.mzxid = 11);
        assert_digest_kept(&node);
        assert_digest_kept(&shared);
        node.update(|head| head.stat.pzxid = 12);
        assert_digest_kept(&node);
        let replaced = node.with_data_and_change(Some(&[7u8; 4096]), |head| head.stat.mtime = 20);
        assert_digest_kept(&replaced);
        assert_digest_kept(&node.with_data_and_change(None, |_| {}));
        assert_eq!(Node::new("/zookeeper/quota", Some(b"x"), -1, StatPersisted::default()).digest(), 0);
    }
}
