//! Quotas as Java's DataTree keeps them (3.8): a quota on path P is the pair of nodes
//! `/zookeeper/quota<P>/zookeeper_limits` (limits, written by clients) and
//! `/zookeeper/quota<P>/zookeeper_stats` (usage, **rewritten by the tree** on every create,
//! delete and setData under P). The tree tracks the quota'd paths in a trie; a change is charged
//! to the deepest quota'd prefix only.
//!
//! Java's rewrites of a stats node leave its stat (version, mzxid) alone and are not counted in
//! the cached data size; both quirks are kept.

use super::{key, node_size, DataTree, QUOTA_PATH};
use std::collections::{BTreeMap, HashMap};

/// Child name of the limits node.
pub const LIMIT_NODE: &str = "zookeeper_limits";
/// Child name of the usage node.
pub const STAT_NODE: &str = "zookeeper_stats";

/// Java's StatsTrack: `key=value` pairs. Written as `count=C,bytes=B`, followed, when there are
/// other keys, by `=` and `;key=value` for each in name order (the extra `=` hides the new keys
/// from pre-3.7 parsers). A missing key reads as -1.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatsTrack {
    values: BTreeMap<String, i64>,
}

impl StatsTrack {
    /// Parses node data as Java does: pairs separated by runs of `,` / `;`, each split at `=`
    /// (an empty value reads -1). `None` where Java would throw (a pair without `=`, a value
    /// that is not a long).
    pub fn parse(data: &[u8]) -> Option<StatsTrack> {
        let text = String::from_utf8_lossy(data);
        let mut values = BTreeMap::new();
        if text.is_empty() {
            return Some(StatsTrack { values });
        }
        for pair in java_split_pairs(&text) {
            let parts = java_split(pair, |c| c == '=');
            let name = parts.first()?;
            let value = parts.get(1)?;
            let value = if value.is_empty() { -1 } else { value.parse::<i64>().ok()? };
            values.insert((*name).to_owned(), value);
        }
        Some(StatsTrack { values })
    }

    pub fn get(&self, name: &str) -> i64 {
        self.values.get(name).copied().unwrap_or(-1)
    }
    pub fn set(&mut self, name: &str, value: i64) {
        self.values.insert(name.to_owned(), value);
    }
    pub fn count(&self) -> i64 {
        self.get("count")
    }
    pub fn bytes(&self) -> i64 {
        self.get("bytes")
    }
    pub fn count_hard_limit(&self) -> i64 {
        self.get("countHardLimit")
    }
    pub fn byte_hard_limit(&self) -> i64 {
        self.get("byteHardLimit")
    }

    /// Java's toString.
    pub fn to_text(&self) -> String {
        let mut text = format!("count={},bytes={}", self.count(), self.bytes());
        let mut extra =
            self.values.iter().filter(|(name, _)| *name != "count" && *name != "bytes").peekable();
        if extra.peek().is_some() {
            text.push('=');
            for (name, value) in extra {
                text.push_str(&format!(";{name}={value}"));
            }
        }
        text
    }
}

/// Java's `String.split(regex)` for a one-character class repeated (`[,;]+`, or `=` where runs
/// are not merged): leading empty pieces stay, trailing empty pieces go.
fn java_split(text: &str, separator: impl Fn(char) -> bool + Copy) -> Vec<&str> {
    let mut pieces: Vec<&str> = text.split(separator).collect();
    while pieces.last().is_some_and(|piece| piece.is_empty()) {
        pieces.pop();
    }
    pieces
}

/// `[,;]+` merges runs of separators, `=` does not: apply the merge for the pair split only.
fn java_split_pairs(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut in_separator = false;
    for (i, c) in text.char_indices() {
        let separator = c == ',' || c == ';';
        if separator && !in_separator {
            pieces.push(&text[start..i]);
        }
        if !separator && in_separator {
            start = i;
        }
        in_separator = separator;
    }
    if !in_separator {
        pieces.push(&text[start..]);
    }
    while pieces.last().is_some_and(|piece| piece.is_empty()) {
        pieces.pop();
    }
    pieces
}

/// Java's PathTrie of quota'd paths.
#[derive(Debug, Clone, Default)]
pub(crate) struct QuotaTrie {
    root: TrieNode,
}

#[derive(Debug, Clone, Default)]
struct TrieNode {
    quota: bool,
    children: HashMap<String, TrieNode>,
}

/// Path components as PathTrie splits them: pieces between `/`, blank ones (Java's `trim()`)
/// dropped.
fn components(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|piece| !piece.trim_matches(|c: char| c <= ' ').is_empty())
}

/// The trie's path for the first `taken` components of `path`.
fn prefix_of(path: &str, taken: usize) -> String {
    let walked: Vec<&str> = components(path).take(taken).collect();
    format!("/{}", walked.join("/"))
}

impl QuotaTrie {
    pub(crate) fn add(&mut self, path: &str) {
        let mut node = &mut self.root;
        for part in components(path) {
            node = node.children.entry(part.to_owned()).or_default();
        }
        node.quota = true;
    }

    /// Java's deletePath: clears the mark and drops the trie node if it has no children.
    pub(crate) fn delete(&mut self, path: &str) {
        let parts: Vec<&str> = components(path).collect();
        let Some((last, parents)) = parts.split_last() else { return };
        let mut node = &mut self.root;
        for part in parents {
            match node.children.get_mut(*part) {
                Some(child) => node = child,
                None => return,
            }
        }
        let Some(child) = node.children.get_mut(*last) else { return };
        child.quota = false;
        if child.children.is_empty() {
            node.children.remove(*last);
        }
    }

    /// Java's findMaxPrefix: the deepest quota'd path that is a component prefix of `path`, or
    /// `/` if none. The tree asks [`QuotaTrie::deepest_quota`] instead.
    #[cfg(test)]
    fn max_prefix(&self, path: &str) -> String {
        prefix_of(path, self.deepest_quota(path))
    }

    /// How many leading components of `path` the deepest quota'd node on it spans (0: none).
    /// Walks without allocating: every create, delete and setData asks, and most trees hold
    /// no quota at all.
    fn deepest_quota(&self, path: &str) -> usize {
        // No quota anywhere (the common case): no component to hash.
        if self.root.children.is_empty() {
            return 0;
        }
        let mut node = &self.root;
        let mut deepest = 0;
        for (depth, part) in components(path).enumerate() {
            let Some(child) = node.children.get(part) else { break };
            node = child;
            if node.quota {
                deepest = depth + 1;
            }
        }
        deepest
    }

    pub(crate) fn clear(&mut self) {
        self.root = TrieNode::default();
    }
}

impl DataTree {
    /// Java's getMaxPrefixWithQuota: the quota'd path a change at `path` is charged to, if any.
    pub fn quota_prefix(&self, path: &str) -> Option<String> {
        match self.quota_trie.deepest_quota(path) {
            0 => None,
            deepest => Some(prefix_of(path, deepest)),
        }
    }

    /// After a node `parent/child` was created.
    pub(super) fn quota_after_create(&mut self, parent: &str, child: &str, path: &str, data_len: i64) {
        if let Some(quota_path) = parent.strip_prefix(QUOTA_PATH) {
            // Java's trie refuses the empty path (it throws); a limits node directly under
            // /zookeeper/quota is ignored here.
            if child == LIMIT_NODE && !quota_path.is_empty() {
                self.quota_trie.add(quota_path);
            }
            if child == STAT_NODE {
                self.recount_quota(quota_path);
            }
        }
        if let Some(prefix) = self.quota_prefix(path) {
            self.charge_quota(&prefix, data_len, 1);
        }
    }

    /// After the node `parent/child` was deleted.
    pub(super) fn quota_after_delete(&mut self, parent: &str, child: &str, path: &str, data_len: i64) {
        // Java tests for /zookeeper here but trims /zookeeper/quota's length.
        if parent.starts_with("/zookeeper") && child == LIMIT_NODE {
            if let Some(quota_path) = parent.get(QUOTA_PATH.len()..).filter(|p| !p.is_empty()) {
                self.quota_trie.delete(quota_path);
            }
        }
        if let Some(prefix) = self.quota_prefix(path) {
            self.charge_quota(&prefix, -data_len, -1);
        }
    }

    /// After setData at `path` changed its data length by `bytes_diff`.
    pub(super) fn quota_after_set_data(&mut self, path: &str, bytes_diff: i64) {
        if let Some(prefix) = self.quota_prefix(path) {
            self.charge_quota(&prefix, bytes_diff, 0);
        }
    }

    /// Java's updateQuotaStat: adds to the stats node of `prefix`.
    fn charge_quota(&mut self, prefix: &str, bytes_diff: i64, count_diff: i64) {
        let stat_path = format!("{QUOTA_PATH}{prefix}/{STAT_NODE}");
        let Some(node) = self.nodes.get(stat_path.as_str()) else { return };
        let Some(mut stats) = StatsTrack::parse(node.data().unwrap_or_default()) else { return };
        stats.set("count", stats.count().wrapping_add(count_diff));
        stats.set("bytes", stats.bytes().wrapping_add(bytes_diff));
        self.rewrite_stats(&stat_path, stats);
    }

    /// Java's updateQuotaForPath: counts the nodes and data bytes of the subtree at `path` and
    /// writes them (only) to its stats node.
    fn recount_quota(&mut self, path: &str) {
        // A missing node counts nothing, and its stats node is still rewritten (Java's getCounts).
        let top = self.nodes.get(key(path));
        let below = super::descendants(&self.nodes, path);
        let (mut count, mut bytes) = (0i64, 0i64);
        for node in top.into_iter().chain(below) {
            count += 1;
            bytes += node.data_len() as i64;
        }
        let mut stats = StatsTrack::default();
        stats.set("bytes", bytes);
        stats.set("count", count);
        self.rewrite_stats(&format!("{QUOTA_PATH}{path}/{STAT_NODE}"), stats);
    }

    fn rewrite_stats(&mut self, stat_path: &str, stats: StatsTrack) {
        let text = stats.to_text();
        if let Some((old, new)) = self.change_data(stat_path, Some(text.as_bytes()), |_| {}) {
            self.untracked_data_size += node_size(stat_path, new.data()) - node_size(stat_path, old.data());
        }
    }

    /// Java's setupQuota after a snapshot load: every childless `.../zookeeper_limits` under
    /// /zookeeper/quota marks its path and recounts its stats node.
    pub(super) fn setup_quotas(&mut self) {
        self.quota_trie.clear();
        let suffix = format!("/{LIMIT_NODE}");
        let limits: Vec<String> = super::descendants(&self.nodes, QUOTA_PATH)
            .filter(|node| node.child_count() == 0 && node.path().ends_with(&suffix))
            .filter_map(|node| {
                let path = node.path();
                path.find(&suffix).map(|end| path[QUOTA_PATH.len()..end].to_owned())
            })
            .collect();
        for quota_path in limits {
            self.recount_quota(&quota_path);
            if !quota_path.is_empty() {
                self.quota_trie.add(&quota_path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_track_round_trips_javas_text() {
        let stats = StatsTrack::parse(b"count=1,bytes=5").unwrap();
        assert_eq!((stats.count(), stats.bytes(), stats.count_hard_limit()), (1, 5, -1));
        assert_eq!(stats.to_text(), "count=1,bytes=5");
        let limits = b"count=-1,bytes=-1=;byteHardLimit=100;countHardLimit=10";
        let stats = StatsTrack::parse(limits).unwrap();
        assert_eq!((stats.count_hard_limit(), stats.byte_hard_limit()), (10, 100));
        assert_eq!(stats.to_text().as_bytes(), limits);
        assert_eq!(StatsTrack::parse(b"").unwrap().to_text(), "count=-1,bytes=-1");
        // Java's split drops the trailing empty value, so "count=" throws; "count==3" reads -1.
        assert!(StatsTrack::parse(b"count=,bytes=2").is_none());
        assert_eq!(StatsTrack::parse(b"count==3,bytes=2").unwrap().count(), -1);
        assert!(StatsTrack::parse(b"count").is_none());
        assert!(StatsTrack::parse(b"count=x").is_none());
        assert_eq!(java_split_pairs("a=1,,;b=2,"), ["a=1", "b=2"]);
    }

    #[test]
    fn trie_finds_the_deepest_quota_prefix() {
        let mut trie = QuotaTrie::default();
        trie.add("/a");
        trie.add("/a/b/c");
        assert_eq!(trie.max_prefix("/a/b/c/d"), "/a/b/c");
        assert_eq!(trie.max_prefix("/a/b"), "/a");
        assert_eq!(trie.max_prefix("/x"), "/");
        trie.delete("/a/b/c");
        assert_eq!(trie.max_prefix("/a/b/c/d"), "/a");
        trie.delete("/a");
        assert_eq!(trie.max_prefix("/a"), "/");
    }
}
