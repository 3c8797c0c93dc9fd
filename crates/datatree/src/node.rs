//! One znode.

use bytes::{BufMut, Bytes};
use jute::records::{Stat, StatPersisted};

/// A znode's data as the tree keeps it: one allocation (count, length, bytes), 8 bytes in the
/// node. A `Bytes` cost 32 bytes in the node and, once cloned (the txn that carried the data
/// shares it), a separate 32-byte header for the life of the node. Replies still share the
/// bytes without copying ([`Node::data_bytes`]).
pub use crate::data::Data;

/// A znode as the tree stores it. The stat is the persisted one: `cversion` counts child creates
/// only (clients see `2 * cversion - numChildren`), data length and child count are computed.
///
/// The children themselves are not stored here: the tree's map is ordered by full path, so a
/// node's children are the keys under `path + "/"` ([`crate::tree::Children`]). Only their
/// number is kept, for the stat and the delete-non-empty check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub data: Option<Data>,
    /// Key into the tree's [`crate::acl_cache::AclCache`]; -1 is OPEN_ACL_UNSAFE.
    pub acl_id: i64,
    pub stat: StatPersisted,
    /// How many children the node has (Java's `children.size()`).
    pub child_count: u32,
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
    fn a_node_is_no_bigger_than_with_a_child_set_pointer() {
        // 88 bytes when it held an 8-byte pointer to its child set; the count must not grow it.
        assert!(std::mem::size_of::<Node>() <= 88, "{}", std::mem::size_of::<Node>());
    }
}
