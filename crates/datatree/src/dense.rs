//! Building imbl B-trees with full leaves.
//!
//! imbl's B-tree splits a full leaf (64 entries) in the middle, so entries inserted in ascending
//! order, as a snapshot load inserts paths and child names, leave every leaf half full, and a
//! leaf costs its 64 slots whatever it holds (32 bytes a slot in the node map: 64 bytes per
//! znode instead of 32). Inserting every other entry first and then the rest fills each leaf:
//! the first pass leaves leaves of 32 entries whose ranges each cover exactly the 32 entries of
//! the second pass that fall between them, and a leaf only splits when an entry comes to it full.
//! Later changes go through the usual inserts and splits.

/// A map of `sorted` (ascending by key, no key twice) with full leaves.
pub(crate) fn ord_map<K: Ord + Clone, V: Clone>(sorted: Vec<(K, V)>) -> imbl::OrdMap<K, V> {
    debug_assert!(sorted.windows(2).all(|pair| pair[0].0 < pair[1].0), "entries not ascending");
    let mut map = imbl::OrdMap::new();
    let mut second = Vec::with_capacity(sorted.len() / 2);
    for (index, (key, value)) in sorted.into_iter().enumerate() {
        if index % 2 == 0 {
            map.insert(key, value);
        } else {
            second.push((key, value));
        }
    }
    for (key, value) in second {
        map.insert(key, value);
    }
    map
}

/// A set of `sorted` (ascending, no value twice) with full leaves.
pub(crate) fn ord_set<A: Ord + Clone>(sorted: Vec<A>) -> imbl::OrdSet<A> {
    debug_assert!(sorted.windows(2).all(|pair| pair[0] < pair[1]), "values not ascending");
    let mut set = imbl::OrdSet::new();
    let mut second = Vec::with_capacity(sorted.len() / 2);
    for (index, value) in sorted.into_iter().enumerate() {
        if index % 2 == 0 {
            set.insert(value);
        } else {
            second.push(value);
        }
    }
    for value in second {
        set.insert(value);
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_builds_hold_every_entry_in_order() {
        for count in [0usize, 1, 2, 63, 64, 65, 129, 4096, 10_001] {
            let entries: Vec<(u32, u32)> = (0..count as u32).map(|i| (i * 3, i)).collect();
            let map = ord_map(entries.clone());
            assert_eq!(map.len(), count);
            assert!(map.iter().map(|(k, v)| (*k, *v)).eq(entries.iter().copied()));
            let values: Vec<u32> = entries.iter().map(|(k, _)| *k).collect();
            let set = ord_set(values.clone());
            assert_eq!(set.len(), count);
            assert!(set.iter().copied().eq(values.iter().copied()));
            // Still an ordinary tree afterwards.
            let mut map = map;
            map.insert(1, 1);
            map.remove(&0);
            assert_eq!(map.len(), count.max(1) + usize::from(count == 0) - usize::from(count == 0));
        }
    }
}
