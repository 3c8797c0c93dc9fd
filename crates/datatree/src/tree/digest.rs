//! Java's tree digest (3.6+, `zookeeper.digest.enabled`, default on): the wrapping sum over
//! nodes of a CRC32 of each node's path, data and persisted stat (DigestCalculator, version 2,
//! summed by AdHash). Nodes under `/zookeeper/` do not count (`/zookeeper` itself does); the
//! root counts under the path `""`. Txn logs carry the digest after each txn (TxnDigest) and
//! snapshots the digest at their zxid, so a Java server reading our files compares against it.

use super::DataTree;
use crate::node::{Node, NodeHead};
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
    // The stat's fields in Java's order, big-endian, fed in one piece.
    let mut fields = [0u8; 5 * 8 + 3 * 4 + 8];
    let mut at = 0;
    for long in [stat.czxid, stat.mzxid, stat.pzxid, stat.ctime, stat.mtime] {
        fields[at..at + 8].copy_from_slice(&long.to_be_bytes());
        at += 8;
    }
    for int in [stat.version, stat.cversion, stat.aversion] {
        fields[at..at + 4].copy_from_slice(&int.to_be_bytes());
        at += 4;
    }
    fields[at..].copy_from_slice(&stat.ephemeral_owner.to_be_bytes());
    crc.update(&fields);
    i64::from(crc.value())
}

impl DataTree {
    /// Java's getTreeDigest, as it stands after the last applied txn.
    pub fn digest(&self) -> i64 {
        self.digest
    }

    /// The digest recomputed from every node's path, data and stat (for checks: it does not
    /// trust the digest each node keeps).
    pub(super) fn recomputed_digest(&self) -> i64 {
        self.nodes
            .iter()
            .fold(0i64, |sum, node| sum.wrapping_add(node_digest(node.path(), node.data(), &node.stat())))
    }

    /// Runs `change` on the head of the node at `path` (if any), keeping the digest in step.
    pub(super) fn change_node<R>(
        &mut self,
        path: &str,
        change: impl FnOnce(&mut NodeHead) -> R,
    ) -> Option<R> {
        let path = super::key(path);
        let node = self.nodes.get_mut(path)?;
        let before = node.digest();
        let result = node.update(change);
        let after = node.digest();
        self.digest = self.digest.wrapping_sub(before).wrapping_add(after);
        Some(result)
    }

    /// Gives the node at `path` (if any) `data` and runs `change` on its head, keeping the
    /// digest in step. The node is a new allocation (its data length is fixed); returns the
    /// old node and the new one.
    pub(super) fn change_data(
        &mut self,
        path: &str,
        data: Option<&[u8]>,
        change: impl FnOnce(&mut NodeHead),
    ) -> Option<(Node, Node)> {
        let path = super::key(path);
        let slot = self.nodes.get_mut(path)?;
        let new = slot.with_data_and_change(data, change);
        let old = std::mem::replace(slot, new.clone());
        self.digest = self.digest.wrapping_sub(old.digest()).wrapping_add(new.digest());
        Some((old, new))
    }

    pub(super) fn digest_remove(&mut self, node: &Node) {
        self.digest = self.digest.wrapping_sub(node.digest());
    }
}

/// CRC-32 (IEEE 802.3, reflected, as java.util.zip.CRC32). crc32fast folds with carry-less
/// multiplication where the CPU has it: every write digests its node twice (before and after)
/// on the core and again on the log writer's shadow tree, and a table-driven byte loop here was
/// a fifth of the server's CPU under a setData load (docs/PERFORMANCE-HISTORY.md).
struct Crc32 {
    hasher: crc32fast::Hasher,
}

impl Crc32 {
    fn new() -> Crc32 {
        Crc32 { hasher: crc32fast::Hasher::new() }
    }
    fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
    }
    fn value(&self) -> u32 {
        self.hasher.clone().finalize()
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
