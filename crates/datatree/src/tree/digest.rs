//! Java's tree digest (3.6+, `zookeeper.digest.enabled`, default on): the wrapping sum over
//! nodes of a CRC32 of each node's path, data and persisted stat (DigestCalculator, version 2,
//! summed by AdHash). Nodes under `/zookeeper/` do not count (`/zookeeper` itself does); the
//! root counts under the path `""`. Txn logs carry the digest after each txn (TxnDigest) and
//! snapshots the digest at their zxid, so a Java server reading our files compares against it.

use super::DataTree;
use crate::node::Node;
use jute::records::StatPersisted;

/// The digest version Java 3.6–3.9 writes (TxnDigest.version, ZxidDigest.digestVersion).
pub const DIGEST_VERSION: i32 = 2;

/// Java's DigestCalculator.calculateDigest: CRC32 of path bytes, data, then czxid, mzxid,
/// pzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner (big-endian); 0 for
/// anything under `/zookeeper/`; `/` hashes as `""`.
pub fn node_digest(path: &str, data: Option<&[u8]>, stat: &StatPersisted) -> i64 {
    if path.starts_with("/zookeeper/") {
        return 0;
    }
    let path = if path == "/" { "" } else { path };
    let mut crc = Crc32::new();
    crc.update(path.as_bytes());
    if let Some(data) = data {
        crc.update(data);
    }
    for long in [stat.czxid, stat.mzxid, stat.pzxid, stat.ctime, stat.mtime] {
        crc.update(&long.to_be_bytes());
    }
    for int in [stat.version, stat.cversion, stat.aversion] {
        crc.update(&int.to_be_bytes());
    }
    crc.update(&stat.ephemeral_owner.to_be_bytes());
    i64::from(crc.value())
}

pub(super) fn digest_of(path: &str, node: &Node) -> i64 {
    node_digest(path, node.data.as_deref(), &node.stat)
}

impl DataTree {
    /// Java's getTreeDigest, as it stands after the last applied txn.
    pub fn digest(&self) -> i64 {
        self.digest
    }

    /// The digest recomputed from every node (for checks).
    pub(super) fn recomputed_digest(&self) -> i64 {
        self.nodes.iter().fold(0i64, |sum, (path, node)| sum.wrapping_add(digest_of(path, node)))
    }

    /// Runs `change` on the node at `path` (if any), keeping the digest in step.
    pub(super) fn change_node<R>(&mut self, path: &str, change: impl FnOnce(&mut Node) -> R) -> Option<R> {
        let node = std::sync::Arc::make_mut(self.nodes.get_mut(super::key(path))?);
        let path = super::key(path);
        let before = digest_of(path, node);
        let result = change(node);
        let after = digest_of(path, node);
        self.digest = self.digest.wrapping_sub(before).wrapping_add(after);
        Some(result)
    }

    pub(super) fn digest_add(&mut self, path: &str, node: &Node) {
        self.digest = self.digest.wrapping_add(digest_of(path, node));
    }

    pub(super) fn digest_remove(&mut self, path: &str, node: &Node) {
        self.digest = self.digest.wrapping_sub(digest_of(path, node));
    }
}

/// CRC-32 (IEEE 802.3, reflected, as java.util.zip.CRC32).
struct Crc32 {
    state: u32,
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

impl Crc32 {
    fn new() -> Crc32 {
        Crc32 { state: 0xFFFF_FFFF }
    }
    fn update(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.state = CRC_TABLE[((self.state ^ u32::from(byte)) & 0xFF) as usize] ^ (self.state >> 8);
        }
    }
    fn value(&self) -> u32 {
        !self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        let mut crc = Crc32::new();
        crc.update(b"123456789");
        assert_eq!(crc.value(), 0xCBF4_3926);
    }

    #[test]
    fn zookeeper_subtree_is_excluded_but_not_zookeeper_itself() {
        let stat = StatPersisted::default();
        assert_eq!(node_digest("/zookeeper/quota", None, &stat), 0);
        assert_ne!(node_digest("/zookeeper", None, &stat), 0);
        assert_eq!(node_digest("/", Some(b""), &stat), node_digest("", None, &stat));
    }
}
