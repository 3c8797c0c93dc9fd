//! Building an imbl B-tree map with full leaves.
//!
//! A leaf costs its 64 slots whatever it holds (8 bytes a slot in the node map, which is keyed by
//! the node itself), so how full the leaves are is most of what the map costs beyond the nodes. Stock imbl splits a full leaf in
//! the middle, which leaves every leaf half full after ascending inserts; the imbl this workspace
//! builds (vendor/imbl) splits a full leaf where the new key goes and leaves it whole when the
//! key goes past its end, so ascending inserts fill every leaf. A snapshot load's map is put
//! together bottom-up (`OrdMap::from_sorted_unique`, also a vendor/imbl addition) without a
//! descent or a key comparison per entry.

/// A map of `sorted` (ascending by key, no key twice) with full nodes.
pub(crate) fn ord_map<K: Ord + Clone, V: Clone>(sorted: Vec<(K, V)>) -> imbl::OrdMap<K, V> {
    debug_assert!(sorted.windows(2).all(|pair| pair[0].0 < pair[1].0), "entries not ascending");
    imbl::OrdMap::from_sorted_unique(sorted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn dense_builds_hold_every_entry_in_order() {
        // Past one leaf, one branch of leaves (64 x 65) and two levels of branches.
        for count in [0usize, 1, 2, 63, 64, 65, 129, 4096, 4159, 4160, 4161, 10_001, 270_407] {
            let entries: Vec<(u32, u32)> = (0..count as u32).map(|i| (i * 3, i)).collect();
            let map = ord_map(entries.clone());
            assert_eq!(map.len(), count);
            assert!(map.iter().map(|(k, v)| (*k, *v)).eq(entries.iter().copied()));
            // Every key is found through the branches' separators, and the tree stays an
            // ordinary one: changes match a model, and a frozen copy does not move.
            assert!(entries.iter().all(|(k, v)| map.get(k) == Some(v)));
            assert!((0..count as u32).all(|i| map.get(&(i * 3 + 1)).is_none()));
            let frozen = map.clone();
            let mut map = map;
            let mut model: BTreeMap<u32, u32> = entries.iter().copied().collect();
            let span = 3 * count as u32 + 1;
            for i in 0..count.min(5_000) as u32 {
                let key = i.wrapping_mul(7_919) % span;
                if i % 3 == 0 {
                    assert_eq!(map.remove(&key), model.remove(&key));
                } else {
                    assert_eq!(map.insert(key, i), model.insert(key, i));
                }
            }
            assert!(map.iter().map(|(k, v)| (*k, *v)).eq(model.iter().map(|(k, v)| (*k, *v))));
            let middle = span / 2;
            assert!(map.range(middle..).map(|(k, _)| *k).eq(model.range(middle..).map(|(k, _)| *k)));
            assert!(frozen.iter().map(|(k, v)| (*k, *v)).eq(entries.iter().copied()));
        }
    }
}

#[cfg(test)]
mod patched_split_tests {
    use std::collections::BTreeMap;

    /// The vendored imbl's leaf split (vendor/imbl, split_leaf_insert) against a model: ascending
    /// runs inside and at the ends of leaves, random inserts and removals, and frozen copies
    /// that must not change while the live map does.
    #[test]
    fn patched_split_keeps_the_map_equal_to_a_model() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as u32
        };
        let mut map: imbl::OrdMap<u32, u32> = imbl::OrdMap::new();
        let mut model = BTreeMap::new();
        let mut frozen: Vec<(imbl::OrdMap<u32, u32>, BTreeMap<u32, u32>)> = Vec::new();
        for round in 0..400u32 {
            match next() % 4 {
                // An ascending run starting anywhere (runs of decimal names land mid-leaf).
                0 | 1 => {
                    let start = next() % 1_000_000;
                    for key in start..start + next() % 300 {
                        assert_eq!(map.insert(key, round), model.insert(key, round));
                    }
                }
                2 => {
                    for _ in 0..200 {
                        let key = next() % 1_000_000;
                        assert_eq!(map.insert(key, round), model.insert(key, round));
                    }
                }
                _ => {
                    let keys: Vec<u32> = model.keys().copied().filter(|_| next() % 3 == 0).collect();
                    for key in keys {
                        assert_eq!(map.remove(&key), model.remove(&key));
                    }
                }
            }
            if round % 50 == 0 {
                frozen.push((map.clone(), model.clone()));
            }
            assert_eq!(map.len(), model.len());
        }
        assert!(map.iter().map(|(k, v)| (*k, *v)).eq(model.iter().map(|(k, v)| (*k, *v))));
        for (copy, copy_model) in &frozen {
            assert!(copy.iter().map(|(k, v)| (*k, *v)).eq(copy_model.iter().map(|(k, v)| (*k, *v))));
            for probe in copy_model.keys().step_by(7) {
                assert_eq!(copy.get(probe), copy_model.get(probe));
            }
        }
        // Remove everything: merges of the small leaves a split at the end leaves behind.
        let keys: Vec<u32> = model.keys().copied().collect();
        for key in keys {
            assert_eq!(map.remove(&key), model.remove(&key));
        }
        assert!(map.is_empty());
    }
}
