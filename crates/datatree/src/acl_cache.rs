//! Java's ReferenceCountedACLCache: each distinct ACL list is stored once and nodes refer to it by
//! a long id; snapshots persist the map, so the ids must be assigned as Java assigns them.

use foldhash::HashMap;
use jute::records::Acl;
use std::sync::Arc;

/// Id meaning OPEN_ACL_UNSAFE without an entry in the map (the built-in nodes use it).
pub const OPEN_ACL_UNSAFE_ID: i64 = -1;

/// Each list is held once, shared by both maps and handed out to prep's pending changes
/// ([`AclCache::shared`]) without copying its strings.
#[derive(Debug, Clone, Default)]
pub struct AclCache {
    by_id: HashMap<i64, (Arc<[Acl]>, u64)>,
    by_list: HashMap<Arc<[Acl]>, i64>,
    next_id: i64,
}

impl AclCache {
    pub fn new() -> Self {
        AclCache::default()
    }

    /// The ACL list of `acl_id`; an unknown id yields an empty list (Java: "ERROR: ACL not
    /// available for long"; empty means every check passes, as there).
    pub fn get(&self, acl_id: i64) -> &[Acl] {
        if acl_id == OPEN_ACL_UNSAFE_ID {
            return crate::acl::open_acl_unsafe();
        }
        self.by_id.get(&acl_id).map(|(list, _)| &**list).unwrap_or(&[])
    }

    /// [`AclCache::get`] as a shared handle.
    pub fn shared(&self, acl_id: i64) -> Arc<[Acl]> {
        if acl_id == OPEN_ACL_UNSAFE_ID {
            return crate::acl::open_acl_unsafe_shared();
        }
        self.by_id.get(&acl_id).map_or_else(|| Arc::from([]), |(list, _)| list.clone())
    }

    /// Returns the id for `acl`, adding it (reference count 1) or bumping its count.
    pub fn add_usage(&mut self, acl: &[Acl]) -> i64 {
        if let Some(&id) = self.by_list.get(acl) {
            if let Some(entry) = self.by_id.get_mut(&id) {
                entry.1 += 1;
            }
            return id;
        }
        self.next_id += 1;
        let id = self.next_id;
        let list: Arc<[Acl]> = Arc::from(acl);
        self.by_id.insert(id, (list.clone(), 1));
        self.by_list.insert(list, id);
        id
    }

    /// Drops one reference to `acl_id`, removing the entry at zero.
    pub fn remove_usage(&mut self, acl_id: i64) {
        if acl_id == OPEN_ACL_UNSAFE_ID {
            return;
        }
        let Some(entry) = self.by_id.get_mut(&acl_id) else { return };
        entry.1 = entry.1.saturating_sub(1);
        if entry.1 == 0 {
            if let Some((list, _)) = self.by_id.remove(&acl_id) {
                self.by_list.remove(&list);
            }
        }
    }

    /// Loads one entry from a snapshot (references are counted afterwards with `add_reference`).
    pub fn insert_loaded(&mut self, acl_id: i64, acl: Vec<Acl>) {
        self.next_id = self.next_id.max(acl_id);
        let list: Arc<[Acl]> = Arc::from(acl);
        self.by_list.insert(list.clone(), acl_id);
        self.by_id.insert(acl_id, (list, 0));
    }

    /// Counts one node referring to a loaded entry.
    pub fn add_reference(&mut self, acl_id: i64) {
        if let Some(entry) = self.by_id.get_mut(&acl_id) {
            entry.1 += 1;
        }
    }

    /// Forgets every entry before a snapshot is loaded; the id counter stays (Java's aclIndex is
    /// not reset either, so a loaded tree never reuses an id handed out before the load).
    pub fn clear_for_load(&mut self) {
        self.by_id.clear();
        self.by_list.clear();
    }

    /// Drops entries no node refers to (after a snapshot load, as Java's purgeUnused).
    pub fn purge_unused(&mut self) {
        let unused: Vec<i64> =
            self.by_id.iter().filter(|(_, (_, count))| *count == 0).map(|(id, _)| *id).collect();
        for id in unused {
            if let Some((list, _)) = self.by_id.remove(&id) {
                self.by_list.remove(&list);
            }
        }
    }

    /// How many nodes refer to `acl_id` (0 for unknown ids and for -1, which is not counted).
    pub fn reference_count(&self, acl_id: i64) -> u64 {
        self.by_id.get(&acl_id).map_or(0, |(_, count)| *count)
    }

    /// Entries in id order, for snapshots.
    pub fn entries(&self) -> Vec<(i64, &[Acl])> {
        let mut entries: Vec<_> = self.by_id.iter().map(|(id, (list, _))| (*id, &**list)).collect();
        entries.sort_by_key(|(id, _)| *id);
        entries
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}
