//! Watches: one-shot data/child watches, persistent and persistent-recursive watches.
//!
//! As in Java there are two tables, *data* and *child*, each mapping a path to the watchers on it
//! and each watcher to its paths with the set of modes it holds there (standard, persistent,
//! persistent-recursive). Who lands where:
//!
//! | registration | data table | child table |
//! |---|---|---|
//! | `exists`/`getData` with watch | standard | |
//! | `getChildren*` with watch | | standard |
//! | `addWatch` mode 0 (persistent) | persistent | persistent |
//! | `addWatch` mode 1 (persistent-recursive) | recursive | recursive |
//!
//! A trigger on path P takes every watcher registered *at* P in that table (dropping its standard
//! mode: one-shot), plus, walking P's ancestors, every watcher holding a recursive mode there;
//! a watcher that is there only recursively never takes NodeChildrenChanged. (Java 3.9 keeps
//! recursive watches in the data table only, which has the same effect; 3.8 keeps them in both,
//! so they count twice in `zk_watch_count`, as here.)
//!
//! Model: Java 3.8's WatchManager, with one deliberate difference: a watcher may hold several
//! modes on one path (as in 3.9, ZOOKEEPER-4466). Java 3.8 keeps one mode per (watcher, path),
//! so there a later `getData(watch)` or `exists(watch)` on a path silently downgrades that
//! connection's persistent or recursive watch on it to one-shot (events stop after the next
//! one), and a second addWatch replaces the first's mode. Everything else (checkWatches and
//! removeWatches answers, counts, the `wchs`/`wchc`/`wchp` views) is 3.8's, checked against
//! Debian's jar by the tree_golden test.
//!
//! Delivery is filtered by READ permission (CVE-2024-23944: upstream 3.8.4, and backported in
//! Debian's 3.8.0-11+deb12u2, which we match): each [`WatchNotification`] carries the ACL a
//! watcher must be able to READ under to receive it, and the server checks each connection's
//! auth against it ([`WatchNotification::visible_to`]). A filtered watcher's one-shot watch is
//! consumed all the same, as in Java.

use crate::tree::DataTree;
use foldhash::HashMap;
use jute::consts::{event_type, keeper_state, watcher_type};
use jute::proto::WatcherEvent;
use jute::records::Acl;
use std::collections::{BTreeMap, BTreeSet};

/// Identifies who receives an event: the server uses one id per connection.
pub type WatcherId = u64;

/// One event and every watcher it goes to (each at most once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchNotification {
    /// Always state SyncConnected (3).
    pub event: WatcherEvent,
    /// Ascending, no duplicates.
    pub watchers: Vec<WatcherId>,
    /// Deliver to a watcher only if it may READ under this ACL: the created, changed or
    /// deleted node's ACL, or for NodeChildrenChanged the parent's. Empty (always passes) for
    /// setWatches catch-up events, which Java does not filter.
    pub acl: Vec<Acl>,
}

impl WatchNotification {
    fn new(event_type: i32, path: &str, watchers: Vec<WatcherId>, acl: &[Acl]) -> Self {
        WatchNotification {
            event: WatcherEvent {
                r#type: event_type,
                state: keeper_state::SYNC_CONNECTED,
                path: path.to_owned(),
            },
            watchers,
            acl: acl.to_vec(),
        }
    }

    /// Whether a watcher whose connection has `auth` receives this event (Java's
    /// `checkACL(acl, READ)` before sending: skipACL, super, an empty list or a READ grant).
    pub fn visible_to(&self, auth: &crate::acl::AuthInfo) -> bool {
        crate::acl::check_acl(&self.acl, jute::consts::perms::READ, auth).is_ok()
    }
}

/// What `wchs` prints, counted over the data table as Java does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WatchSummary {
    /// Watchers that have (or had, until they disconnect) a data watch: Java keeps a watcher
    /// whose one-shot watches all fired until the connection goes.
    pub connections: usize,
    pub paths: usize,
    pub total: usize,
}

/// How a watch behaves when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchMode {
    /// Removed when it fires.
    Standard,
    /// Stays until removed; this path only.
    Persistent,
    /// Stays until removed; this path and every descendant, never NodeChildrenChanged.
    PersistentRecursive,
}

impl WatchMode {
    fn bit(self) -> u8 {
        match self {
            WatchMode::Standard => 1,
            WatchMode::Persistent => 2,
            WatchMode::PersistentRecursive => 4,
        }
    }
}

/// The modes one watcher holds on one path (Java's WatchStats); never empty while stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Modes(u8);

impl Modes {
    fn has(self, mode: WatchMode) -> bool {
        self.0 & mode.bit() != 0
    }
    fn with(self, mode: WatchMode) -> Modes {
        Modes(self.0 | mode.bit())
    }
    fn without(self, mode: WatchMode) -> Modes {
        Modes(self.0 & !mode.bit())
    }
    fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// One of the two tables (Java's WatchManager).
#[derive(Debug, Default, Clone)]
pub struct WatchTable {
    by_path: HashMap<String, BTreeSet<WatcherId>>,
    /// Every watcher ever registered here, until its connection goes
    /// ([`WatchTable::remove_watcher`]); one whose watches all fired or were removed keeps an
    /// empty map (Java 3.8 does the same, and `wchs`/`wchc` show it).
    by_watcher: HashMap<WatcherId, HashMap<String, Modes>>,
    /// (watcher, path) pairs holding the recursive mode; while zero a trigger looks at its own
    /// path only.
    recursive_count: usize,
}

impl WatchTable {
    /// Adds `mode` for `watcher` on `path`; false if it already held it.
    pub fn add(&mut self, path: &str, watcher: WatcherId, mode: WatchMode) -> bool {
        self.by_path.entry(path.to_owned()).or_default().insert(watcher);
        let paths = self.by_watcher.entry(watcher).or_default();
        let modes = paths.entry(path.to_owned()).or_default();
        if modes.has(mode) {
            return false;
        }
        *modes = modes.with(mode);
        if mode == WatchMode::PersistentRecursive {
            self.recursive_count += 1;
        }
        true
    }

    /// Forgets every watch of `watcher` (its connection is gone).
    pub fn remove_watcher(&mut self, watcher: WatcherId) {
        let Some(paths) = self.by_watcher.remove(&watcher) else { return };
        for (path, modes) in paths {
            if let Some(watchers) = self.by_path.get_mut(&path) {
                watchers.remove(&watcher);
                if watchers.is_empty() {
                    self.by_path.remove(&path);
                }
            }
            if modes.has(WatchMode::PersistentRecursive) {
                self.recursive_count -= 1;
            }
        }
    }

    /// Who fires for `event` at `path`: every watcher at `path` (its standard mode consumed),
    /// and the recursive watchers of every ancestor; recursive watches never take
    /// NodeChildrenChanged.
    pub fn trigger(&mut self, path: &str, event: i32) -> BTreeSet<WatcherId> {
        let recursive_fires = event != event_type::NODE_CHILDREN_CHANGED;
        let mut fired = BTreeSet::new();
        let walk_ancestors = self.recursive_count > 0;
        for (level, local) in self_and_ancestors(path).enumerate() {
            if level > 0 && !walk_ancestors {
                break;
            }
            let Some(watchers) = self.by_path.get_mut(local) else { continue };
            let mut emptied = Vec::new();
            for &watcher in watchers.iter() {
                let Some(paths) = self.by_watcher.get_mut(&watcher) else { continue };
                let Some(modes) = paths.get_mut(local) else { continue };
                let direct = modes.has(WatchMode::Standard) || modes.has(WatchMode::Persistent);
                if level == 0 && direct {
                    fired.insert(watcher);
                    let left = modes.without(WatchMode::Standard);
                    if left.is_empty() {
                        paths.remove(local);
                        emptied.push(watcher);
                    } else {
                        *modes = left;
                    }
                } else if recursive_fires && modes.has(WatchMode::PersistentRecursive) {
                    fired.insert(watcher);
                }
            }
            for watcher in emptied {
                watchers.remove(&watcher);
            }
            if watchers.is_empty() {
                self.by_path.remove(local);
            }
        }
        fired
    }

    /// Whether any watcher watches `path` itself (Java 3.8's containsWatcher).
    pub fn is_watched(&self, path: &str) -> bool {
        self.by_path.contains_key(path)
    }

    /// Whether `watcher` watches `path` exactly, in `mode` (any mode when `None`).
    pub fn contains(&self, path: &str, watcher: WatcherId, mode: Option<WatchMode>) -> bool {
        let modes = self.by_watcher.get(&watcher).and_then(|paths| paths.get(path));
        match (modes, mode) {
            (Some(_), None) => true,
            (Some(modes), Some(mode)) => modes.has(mode),
            (None, _) => false,
        }
    }

    /// Removes `mode` (every mode when `None`) of `watcher` on `path`; true if something went.
    pub fn remove(&mut self, path: &str, watcher: WatcherId, mode: Option<WatchMode>) -> bool {
        let Some(paths) = self.by_watcher.get_mut(&watcher) else { return false };
        let Some(&old) = paths.get(path) else { return false };
        if !self.by_path.contains_key(path) {
            return false;
        }
        let new = match mode {
            Some(mode) => old.without(mode),
            None => Modes::default(),
        };
        if new == old {
            return false;
        }
        if new.is_empty() {
            // Java 3.8 keeps the watcher's (now maybe empty) entry: `wchs` still counts it.
            paths.remove(path);
            if let Some(watchers) = self.by_path.get_mut(path) {
                watchers.remove(&watcher);
                if watchers.is_empty() {
                    self.by_path.remove(path);
                }
            }
        } else {
            paths.insert(path.to_owned(), new);
        }
        if old.has(WatchMode::PersistentRecursive) && !new.has(WatchMode::PersistentRecursive) {
            self.recursive_count -= 1;
        }
        true
    }

    /// (watcher, path) pairs: Java's `size()`, the unit of `zk_watch_count`.
    pub fn len(&self) -> usize {
        self.by_path.values().map(BTreeSet::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }

    pub fn summary(&self) -> WatchSummary {
        WatchSummary {
            connections: self.by_watcher.len(),
            paths: self.by_path.len(),
            total: self.by_watcher.values().map(HashMap::len).sum(),
        }
    }

    pub fn by_watcher(&self) -> BTreeMap<WatcherId, Vec<String>> {
        self.by_watcher
            .iter()
            .map(|(&watcher, paths)| {
                let mut paths: Vec<String> = paths.keys().cloned().collect();
                paths.sort();
                (watcher, paths)
            })
            .collect()
    }

    pub fn by_path(&self) -> BTreeMap<String, Vec<WatcherId>> {
        self.by_path
            .iter()
            .map(|(path, watchers)| (path.clone(), watchers.iter().copied().collect()))
            .collect()
    }

    /// Both directions of the table agree and the recursive count is right.
    pub(crate) fn check_consistent(&self) -> Result<(), String> {
        let mut recursive = 0;
        for (watcher, paths) in &self.by_watcher {
            for (path, modes) in paths {
                if modes.is_empty() {
                    return Err(format!("watcher {watcher} holds no mode on {path}"));
                }
                if !self.by_path.get(path).is_some_and(|watchers| watchers.contains(watcher)) {
                    return Err(format!("{path} does not list watcher {watcher}"));
                }
                recursive += usize::from(modes.has(WatchMode::PersistentRecursive));
            }
        }
        for (path, watchers) in &self.by_path {
            if watchers.is_empty() {
                return Err(format!("{path} kept an empty watcher set"));
            }
            for watcher in watchers {
                if !self.by_watcher.get(watcher).is_some_and(|paths| paths.contains_key(path)) {
                    return Err(format!("watcher {watcher} does not list {path}"));
                }
            }
        }
        if recursive != self.recursive_count {
            return Err(format!(
                "recursive count {} but {recursive} recursive watches",
                self.recursive_count
            ));
        }
        Ok(())
    }
}

/// `path`, then each ancestor up to `/` (Java's PathParentIterator).
fn self_and_ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut next = (!path.is_empty()).then_some(path);
    std::iter::from_fn(move || {
        let current = next?;
        next = match current.rfind('/') {
            _ if current == "/" => None,
            Some(0) => Some("/"),
            Some(i) => Some(&current[..i]),
            None => None,
        };
        Some(current)
    })
}

/// Both tables.
#[derive(Debug, Default, Clone)]
pub struct WatchManager {
    pub(crate) data: WatchTable,
    pub(crate) child: WatchTable,
}

impl WatchManager {
    /// Fires `event` at `path` in the data table; `acl` gates delivery.
    pub(crate) fn trigger_data(
        &mut self,
        event: i32,
        path: &str,
        acl: &[Acl],
        out: &mut Vec<WatchNotification>,
    ) {
        let watchers = self.data.trigger(path, event);
        push(out, event, path, watchers, acl);
    }

    /// Fires `event` at `path` in the child table; `acl` gates delivery.
    pub(crate) fn trigger_child(
        &mut self,
        event: i32,
        path: &str,
        acl: &[Acl],
        out: &mut Vec<WatchNotification>,
    ) {
        let watchers = self.child.trigger(path, event);
        push(out, event, path, watchers, acl);
    }

    /// NodeDeleted at `path`: data watchers and child watchers of `path`, each once.
    pub(crate) fn trigger_deleted(&mut self, path: &str, acl: &[Acl], out: &mut Vec<WatchNotification>) {
        let mut watchers = self.data.trigger(path, event_type::NODE_DELETED);
        watchers.extend(self.child.trigger(path, event_type::NODE_DELETED));
        push(out, event_type::NODE_DELETED, path, watchers, acl);
    }
}

fn push(
    out: &mut Vec<WatchNotification>,
    event: i32,
    path: &str,
    watchers: BTreeSet<WatcherId>,
    acl: &[Acl],
) {
    if !watchers.is_empty() {
        out.push(WatchNotification::new(event, path, watchers.into_iter().collect(), acl));
    }
}

/// Registration, removal, reconnect catch-up and the four-letter-word views.
impl DataTree {
    /// A one-shot data watch (exists / getData); the read functions in [`crate::read`] call this.
    pub fn add_data_watch(&mut self, path: &str, watcher: WatcherId) {
        self.watches.data.add(path, watcher, WatchMode::Standard);
    }

    /// A one-shot child watch (getChildren / getChildren2).
    pub fn add_child_watch(&mut self, path: &str, watcher: WatcherId) {
        self.watches.child.add(path, watcher, WatchMode::Standard);
    }

    /// addWatch: a persistent or persistent-recursive watch, in both tables (as Java 3.8).
    /// The node need not exist.
    pub fn add_persistent_watch(&mut self, path: &str, watcher: WatcherId, recursive: bool) {
        let mode = if recursive { WatchMode::PersistentRecursive } else { WatchMode::Persistent };
        self.watches.data.add(path, watcher, mode);
        self.watches.child.add(path, watcher, mode);
    }

    /// checkWatches (`check_only`) / removeWatches for `watcher_type`; true if such a watch
    /// exists / was removed (the caller answers NoWatcher otherwise). Types 1–3 answer exactly
    /// as Java 3.8 does:
    ///
    /// | type | check | remove |
    /// |---|---|---|
    /// | Children 1 | **any** connection watches `path` in the child table | this watcher's child-table watch on `path`, whatever its mode |
    /// | Data 2 | the same, data table | the same, data table |
    /// | Any 3 | either table | both |
    ///
    /// (Java 3.8's containsWatcher ignores the watcher: checkWatches succeeds when anyone
    /// watches the path.) Persistent 4 and PersistentRecursive 5 do not exist in 3.8, whose
    /// server answers them MarshallingError (-5); here they follow 3.9: this watcher's watch of
    /// that mode. Any other type finds nothing.
    pub fn remove_watches(
        &mut self,
        path: &str,
        watcher_type: i32,
        watcher: WatcherId,
        check_only: bool,
    ) -> bool {
        let watches = &mut self.watches;
        use WatchMode::*;
        if check_only {
            return match watcher_type {
                watcher_type::CHILDREN => watches.child.is_watched(path),
                watcher_type::DATA => watches.data.is_watched(path),
                watcher_type::ANY => watches.child.is_watched(path) || watches.data.is_watched(path),
                watcher_type::PERSISTENT => watches.data.contains(path, watcher, Some(Persistent)),
                watcher_type::PERSISTENT_RECURSIVE => {
                    watches.data.contains(path, watcher, Some(PersistentRecursive))
                }
                _ => false,
            };
        }
        let mut both = |mode: Option<WatchMode>| {
            let child = watches.child.remove(path, watcher, mode);
            let data = watches.data.remove(path, watcher, mode);
            child || data
        };
        match watcher_type {
            watcher_type::CHILDREN => watches.child.remove(path, watcher, None),
            watcher_type::DATA => watches.data.remove(path, watcher, None),
            watcher_type::ANY => both(None),
            watcher_type::PERSISTENT => both(Some(Persistent)),
            watcher_type::PERSISTENT_RECURSIVE => both(Some(PersistentRecursive)),
            _ => false,
        }
    }

    /// Drops every watch of `watcher` (its connection closed).
    pub fn remove_watcher(&mut self, watcher: WatcherId) {
        self.watches.data.remove_watcher(watcher);
        self.watches.child.remove_watcher(watcher);
    }

    /// setWatches / setWatches2 after a reconnect (Java's DataTree.setWatches): re-registers what
    /// is still pending and returns, in list order, the events the client missed while away
    /// (each addressed to `watcher` only). `relative_zxid` is the last zxid the client saw.
    #[allow(clippy::too_many_arguments)]
    pub fn set_watches(
        &mut self,
        relative_zxid: i64,
        data: &[String],
        exist: &[String],
        child: &[String],
        persistent: &[String],
        persistent_recursive: &[String],
        watcher: WatcherId,
    ) -> Vec<WatchNotification> {
        let mut missed = Vec::new();
        let mut fire =
            |event: i32, path: &str| missed.push(WatchNotification::new(event, path, vec![watcher], &[]));
        for path in data {
            match self.lookup(path).map(|node| node.stat().mzxid) {
                None => fire(event_type::NODE_DELETED, path),
                Some(mzxid) if mzxid > relative_zxid => fire(event_type::NODE_DATA_CHANGED, path),
                Some(_) => {
                    self.watches.data.add(path, watcher, WatchMode::Standard);
                }
            }
        }
        for path in exist {
            if self.lookup(path).is_some() {
                fire(event_type::NODE_CREATED, path);
            } else {
                self.watches.data.add(path, watcher, WatchMode::Standard);
            }
        }
        for path in child {
            match self.lookup(path).map(|node| node.stat().pzxid) {
                None => fire(event_type::NODE_DELETED, path),
                Some(pzxid) if pzxid > relative_zxid => fire(event_type::NODE_CHILDREN_CHANGED, path),
                Some(_) => {
                    self.watches.child.add(path, watcher, WatchMode::Standard);
                }
            }
        }
        for path in persistent {
            self.add_persistent_watch(path, watcher, false);
        }
        for path in persistent_recursive {
            self.add_persistent_watch(path, watcher, true);
        }
        missed
    }

    /// `zk_watch_count`: (watcher, path) pairs in the data table plus those in the child table.
    pub fn watch_count(&self) -> usize {
        self.watches.data.len() + self.watches.child.len()
    }

    /// `wchs` (data table only, as Java).
    pub fn watch_summary(&self) -> WatchSummary {
        self.watches.data.summary()
    }

    /// `wchc`: each watcher's data-table paths (sorted). Watchers whose watches all fired are
    /// listed with no paths, as Java lists them.
    pub fn watches_by_watcher(&self) -> BTreeMap<WatcherId, Vec<String>> {
        self.watches.data.by_watcher()
    }

    /// `wchp`: each data-table path's watchers.
    pub fn watches_by_path(&self) -> BTreeMap<String, Vec<WatcherId>> {
        self.watches.data.by_path()
    }

    /// Both tables, for tests and diagnostics.
    pub fn watch_manager(&self) -> &WatchManager {
        &self.watches
    }
}

impl WatchManager {
    pub fn data_table(&self) -> &WatchTable {
        &self.data
    }
    pub fn child_table(&self) -> &WatchTable {
        &self.child
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_walk_to_root() {
        let walked: Vec<_> = self_and_ancestors("/a/b/c").collect();
        assert_eq!(walked, ["/a/b/c", "/a/b", "/a", "/"]);
        assert_eq!(self_and_ancestors("/").collect::<Vec<_>>(), ["/"]);
        assert_eq!(self_and_ancestors("").count(), 0);
    }

    #[test]
    fn standard_mode_is_consumed_persistent_stays() {
        let mut table = WatchTable::default();
        table.add("/a", 1, WatchMode::Standard);
        table.add("/a", 2, WatchMode::Persistent);
        table.add("/a", 2, WatchMode::Standard);
        assert_eq!(
            table.trigger("/a", event_type::NODE_DATA_CHANGED).into_iter().collect::<Vec<_>>(),
            [1, 2]
        );
        table.check_consistent().unwrap();
        assert!(!table.contains("/a", 1, None));
        assert!(table.contains("/a", 2, Some(WatchMode::Persistent)));
        assert!(!table.contains("/a", 2, Some(WatchMode::Standard)));
        assert_eq!(table.trigger("/a", event_type::NODE_DATA_CHANGED).into_iter().collect::<Vec<_>>(), [2]);
        // Watcher 1 keeps its (empty) entry: Java counts it in wchs until the connection goes.
        assert_eq!(table.summary(), WatchSummary { connections: 2, paths: 1, total: 1 });
        table.remove_watcher(1);
        assert_eq!(table.summary().connections, 1);
    }

    #[test]
    fn recursive_fires_for_descendants_only_through_the_count() {
        let mut table = WatchTable::default();
        table.add("/a", 7, WatchMode::PersistentRecursive);
        table.add("/a", 8, WatchMode::Persistent);
        assert_eq!(table.trigger("/a/b/c", event_type::NODE_CREATED).into_iter().collect::<Vec<_>>(), [7]);
        assert!(table.remove("/a", 7, Some(WatchMode::PersistentRecursive)));
        table.check_consistent().unwrap();
        assert_eq!(table.recursive_count, 0);
        assert!(table.trigger("/a/b", event_type::NODE_CREATED).is_empty());
        assert!(!table.remove("/a", 7, None));
    }
}
