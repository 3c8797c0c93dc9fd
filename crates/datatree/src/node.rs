//! One znode.

use bytes::Bytes;
use jute::records::{Stat, StatPersisted};

/// A znode as the tree stores it. The stat is the persisted one: `cversion` counts child creates
/// only (clients see `2 * cversion - numChildren`), data length and child count are computed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub data: Option<Bytes>,
    /// Key into the tree's [`crate::acl_cache::AclCache`]; -1 is OPEN_ACL_UNSAFE.
    pub acl_id: i64,
    pub stat: StatPersisted,
    /// Child names (not paths); a persistent set so that a snapshot's frozen copy of a node with
    /// many children costs nothing to keep while the live node changes.
    pub children: imbl::HashSet<String>,
}

impl Node {
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
