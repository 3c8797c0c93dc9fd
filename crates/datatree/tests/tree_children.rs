//! A node's children, read off the path-ordered node map (nodes keep only a count): names in
//! byte order, deeper descendants skipped, the count kept right by creates, deletes and loads.

mod tree_support;

use datatree::acl::AuthInfo;
use datatree::{read, DataTree};
use jute::consts::err;
use proptest::prelude::*;
use std::collections::BTreeSet;
use tree_support::*;

fn names(tree: &DataTree, path: &str) -> Vec<String> {
    tree.children(path).map(str::to_owned).collect()
}

fn get_children(tree: &mut DataTree, path: &str) -> Vec<String> {
    read::get_children(tree, path, &AuthInfo::default(), None).unwrap().children
}

#[test]
fn the_root_and_zookeeper_list_their_builtin_children() {
    let mut tree = DataTree::new();
    assert_eq!(names(&tree, "/"), ["zookeeper"]);
    assert_eq!(names(&tree, ""), ["zookeeper"], "Java's \"\" alias of the root");
    assert_eq!(names(&tree, "/zookeeper"), ["config", "quota"]);
    assert!(names(&tree, "/zookeeper/quota").is_empty());
    assert!(names(&tree, "/missing").is_empty());
    apply(&mut tree, 1, create("/a"));
    assert_eq!(get_children(&mut tree, "/"), ["a", "zookeeper"]);
    assert_eq!(get_children(&mut tree, "/zookeeper"), ["config", "quota"]);
}

#[test]
fn names_that_sort_around_the_slash_are_listed_once_in_byte_order() {
    let mut tree = DataTree::new();
    // '!' < '-' < '.' < '/' < '0': the subtree of /a sorts between /a.b and /a0.
    for (zxid, path) in
        ["/a", "/a-b", "/a.b", "/a/x", "/a/x/y", "/a0", "/a!", "/a-b/c", "/b", "/a/x-", "/a/x0"]
            .into_iter()
            .enumerate()
    {
        assert_eq!(apply(&mut tree, zxid as i64 + 1, create(path)).result.err, err::OK, "{path}");
    }
    assert_eq!(names(&tree, "/"), ["a", "a!", "a-b", "a.b", "a0", "b", "zookeeper"]);
    assert_eq!(names(&tree, "/a"), ["x", "x-", "x0"]);
    assert_eq!(names(&tree, "/a/x"), ["y"]);
    assert_eq!(names(&tree, "/a-b"), ["c"]);
    assert!(names(&tree, "/a.b").is_empty());
    assert_eq!(get_children(&mut tree, "/a"), names(&tree, "/a"));
    tree.check_invariants().unwrap();
}

#[test]
fn a_child_with_a_big_subtree_does_not_hide_its_siblings() {
    let mut tree = DataTree::new();
    let mut zxid = 0;
    let mut create_at = |tree: &mut DataTree, path: &str| {
        zxid += 1;
        assert_eq!(apply(tree, zxid, create(path)).result.err, err::OK, "{path}");
    };
    create_at(&mut tree, "/p");
    create_at(&mut tree, "/p/big");
    for i in 0..300 {
        create_at(&mut tree, &format!("/p/big/c{i:03}"));
        if i % 10 == 0 {
            create_at(&mut tree, &format!("/p/big/c{i:03}/d"));
        }
    }
    for sibling in ["/p/big-sibling", "/p/bigz", "/p/c"] {
        create_at(&mut tree, sibling);
    }
    assert_eq!(names(&tree, "/p"), ["big", "big-sibling", "bigz", "c"]);
    assert_eq!(tree.children("/p/big").count(), 300);
    assert_eq!(tree.get_node("/p/big").unwrap().child_count(), 300);
    let all = read::get_all_children_number(&tree, "/p", &AuthInfo::default()).unwrap();
    assert_eq!(all.total_number, 1 + 300 + 30 + 3);
}

#[test]
fn num_children_follows_creates_and_deletes() {
    let mut tree = DataTree::new();
    apply(&mut tree, 1, create("/p"));
    apply(&mut tree, 2, create("/p/a"));
    apply(&mut tree, 3, create("/p/b"));
    apply(&mut tree, 4, create("/p/a/deep"));
    let stat = tree.get_node("/p").unwrap().client_stat();
    assert_eq!((stat.num_children, stat.cversion, stat.pzxid), (2, 2, 3));
    // A create that meets an existing node changes no count (create2: no replay fix-up of
    // the parent's cversion, which a plain create gets).
    assert_eq!(apply(&mut tree, 5, create2("/p/a")).result.err, err::NODE_EXISTS);
    assert_eq!(tree.get_node("/p").unwrap().child_count(), 2);
    apply(&mut tree, 6, delete("/p/b"));
    let stat = tree.get_node("/p").unwrap().client_stat();
    assert_eq!((stat.num_children, stat.cversion, stat.pzxid), (1, 3, 6), "2 * 2 creates - 1 child");
    // Deleting a missing child moves pzxid but no count.
    assert_eq!(apply(&mut tree, 7, delete("/p/b")).result.err, err::NO_NODE);
    let stat = tree.get_node("/p").unwrap().client_stat();
    assert_eq!((stat.num_children, stat.pzxid), (1, 7));
    assert_eq!(names(&tree, "/p"), ["a"]);
    // A replayed delete of a node with children drops its whole subtree.
    apply(&mut tree, 8, delete("/p/a"));
    assert!(tree.get_node("/p/a/deep").is_none());
    assert_eq!(tree.get_node("/p").unwrap().child_count(), 0);
    assert_eq!(tree.container_candidates(10), Vec::<String>::new());
    tree.check_invariants().unwrap();
}

/// Loads `nodes` (parent before children, in the given order) as a snapshot would.
fn load(tree: &DataTree, nodes: &[(String, datatree::Node)]) -> DataTree {
    let mut loaded = DataTree::new();
    loaded.begin_load();
    for (id, acl) in tree.acl_cache().entries() {
        loaded.load_acl(id, acl.to_vec());
    }
    for (path, node) in nodes {
        loaded.insert_loaded_node(path, node.data(), node.acl_id(), node.stat()).unwrap();
    }
    loaded.finish_load();
    loaded
}

#[test]
fn loads_count_children_in_path_order_and_in_javas_hash_order() {
    let mut tree = DataTree::new();
    let paths = ["/a", "/a/x", "/a-b", "/a-b/y", "/a/x/z", "/a/w", "/b", "/a.b"];
    for (zxid, path) in paths.into_iter().enumerate() {
        apply(&mut tree, zxid as i64 + 1, create(path));
    }
    let depth_first: Vec<(String, datatree::Node)> =
        tree.nodes_depth_first().map(|(path, node)| (path, node.clone())).collect();
    // Java writes each parent's children in its hash set's order: reverse the siblings here,
    // still parent first, so the load leaves path order and meets siblings apart.
    let mut hash_order = vec![depth_first[0].clone()];
    let mut stack: Vec<String> = vec![String::new()];
    while let Some(parent) = stack.pop() {
        let key = if parent.is_empty() { "/" } else { parent.as_str() };
        for name in names(&tree, key) {
            let path = if key == "/" { format!("/{name}") } else { format!("{key}/{name}") };
            hash_order.push((path.clone(), tree.get_node(&path).unwrap().clone()));
            stack.push(path);
        }
    }
    // The same path twice counts once for its parent; the later copy wins.
    let mut with_duplicate = depth_first.clone();
    with_duplicate.push(("/a/x".to_owned(), tree.get_node("/a/x").unwrap().clone()));
    for order in [&depth_first, &hash_order, &with_duplicate] {
        let loaded = load(&tree, order);
        loaded.check_invariants().unwrap();
        for (path, node) in tree.nodes_depth_first() {
            assert_eq!(loaded.get_node(&path), Some(node), "{path}");
            assert_eq!(names(&loaded, &path), names(&tree, &path), "{path}");
        }
        assert_eq!(loaded.digest(), tree.digest());
    }
}

/// Children of every node of a small tree against a model: random creates and deletes of names
/// that sort around '/', at depths up to three.
fn arbitrary_paths() -> impl Strategy<Value = Vec<(bool, Vec<usize>)>> {
    let path = proptest::collection::vec(0..5usize, 1..4);
    proptest::collection::vec((any::<bool>(), path), 1..80)
}

const NAMES: [&str; 5] = ["a", "a-b", "a.b", "a0", "b"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn children_match_a_model(ops in arbitrary_paths()) {
        let mut tree = DataTree::new();
        let mut model: BTreeSet<String> = ["/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        for (zxid, (is_create, components)) in ops.iter().enumerate() {
            let path: String = components.iter().map(|&i| format!("/{}", NAMES[i])).collect();
            let (parent, _) = path.rsplit_once('/').unwrap();
            let parent = if parent.is_empty() { "/" } else { parent };
            let result = if *is_create {
                apply(&mut tree, zxid as i64 + 1, create(&path)).result.err
            } else {
                apply(&mut tree, zxid as i64 + 1, delete(&path)).result.err
            };
            let expected = match (*is_create, model.contains(&path), model.contains(parent)) {
                (true, _, false) => err::NO_NODE,
                (true, true, true) => err::NODE_EXISTS,
                (true, false, true) => { model.insert(path.clone()); err::OK }
                (false, false, _) => err::NO_NODE,
                (false, true, _) => {
                    // A replayed delete of a non-empty node drops its subtree.
                    model.retain(|p| *p != path && !p.starts_with(&format!("{path}/")));
                    err::OK
                }
            };
            prop_assert_eq!(result, expected, "{} {}", is_create, path);
        }
        tree.check_invariants().map_err(TestCaseError::fail)?;
        for node in &model {
            let prefix = if node == "/" { "/".to_owned() } else { format!("{node}/") };
            let expected: Vec<&str> = model
                .iter()
                .filter_map(|p| p.strip_prefix(prefix.as_str()))
                .filter(|rest| !rest.is_empty() && !rest.contains('/'))
                .collect();
            // BTreeSet<String> orders the full paths; names must come in their own byte order.
            let mut expected_sorted = expected.clone();
            expected_sorted.sort_unstable();
            prop_assert_eq!(names(&tree, node), expected_sorted, "children of {}", node);
            prop_assert_eq!(tree.get_node(node).unwrap().child_count() as usize, expected.len());
        }
    }
}
