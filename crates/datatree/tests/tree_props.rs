//! Random txn sequences (valid or not, as a replay over a fuzzy snapshot may produce) keep the
//! tree's invariants, and a small model agrees on which paths exist and on every result code.

mod tree_support;

use datatree::acl::AuthInfo;
use datatree::{read, DataTree};
use jute::consts::err;
use jute::records::Acl;
use jute::txn::{CreateTxn, TxnBody};
use jute::Bytes;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use tree_support::*;

const PATHS: [&str; 9] = [
    "/a",
    "/b",
    "/a/x",
    "/a/y",
    "/b/x",
    "/a/x/z",
    "/zookeeper/quota/a",
    "/zookeeper/quota/a/zookeeper_limits",
    "/zookeeper/quota/a/zookeeper_stats",
];
const SESSIONS: [i64; 2] = [SESSION, OTHER_SESSION];

#[derive(Debug, Clone)]
enum Op {
    Create { path: usize, kind: u8, session: usize, parent_cversion: Option<i32>, data: Option<Vec<u8>> },
    Delete { path: usize },
    SetData { path: usize, data: Option<Vec<u8>>, version: i32 },
    SetAcl { path: usize, acl: u8, version: i32 },
    CreateSession { session: usize },
    CloseSession { session: usize, listed: bool },
    Multi { ops: Vec<Op>, fail_at: Option<usize> },
    Watch { path: usize, watcher: u64, how: u8 },
    RemoveWatches { path: usize, watcher: u64, watcher_type: i32, check_only: bool },
    Disconnect { watcher: u64 },
}

/// Create, delete, setData, setACL (`with_set_acl`: setACL is not allowed inside a multi).
fn simple_op_with(with_set_acl: bool) -> impl Strategy<Value = Op> {
    let path = 0..PATHS.len();
    let data = proptest::option::of(proptest::collection::vec(any::<u8>(), 0..4));
    prop_oneof![
        4 => (path.clone(), 0u8..4, 0..2usize, proptest::option::of(-1i32..6), data.clone()).prop_map(
            |(path, kind, session, parent_cversion, data)| Op::Create { path, kind, session, parent_cversion, data }
        ),
        2 => path.clone().prop_map(|path| Op::Delete { path }),
        2 => (path.clone(), data, 0i32..5).prop_map(|(path, data, version)| Op::SetData { path, data, version }),
        u32::from(with_set_acl) => (path, 0u8..3, 0i32..5).prop_map(|(path, acl, version)| Op::SetAcl { path, acl, version }),
    ]
}

fn simple_op() -> impl Strategy<Value = Op> {
    simple_op_with(true)
}

fn any_op() -> impl Strategy<Value = Op> {
    let path = 0..PATHS.len();
    prop_oneof![
        10 => simple_op(),
        1 => (0..2usize).prop_map(|session| Op::CreateSession { session }),
        1 => (0..2usize, any::<bool>()).prop_map(|(session, listed)| Op::CloseSession { session, listed }),
        2 => (proptest::collection::vec(simple_op_with(false), 1..4), proptest::option::of(0usize..4))
            .prop_map(|(ops, fail_at)| Op::Multi { fail_at: fail_at.filter(|i| *i < ops.len()), ops }),
        3 => (path.clone(), 1u64..4, 0u8..5).prop_map(|(path, watcher, how)| Op::Watch { path, watcher, how }),
        1 => (path, 1u64..4, 1i32..6, any::<bool>()).prop_map(|(path, watcher, watcher_type, check_only)| {
            Op::RemoveWatches { path, watcher, watcher_type, check_only }
        }),
        1 => (1u64..4).prop_map(|watcher| Op::Disconnect { watcher }),
    ]
}

fn acl(choice: u8) -> Vec<Acl> {
    match choice {
        0 => open(),
        1 => vec![Acl::new(1, "world", "anyone")],
        _ => vec![Acl::new(31, "digest", "u:h"), Acl::new(1, "world", "anyone")],
    }
}

/// What exists, and who owns it (0 persistent, -1 container/TTL, else the session).
#[derive(Debug, Clone, Default)]
struct Model {
    nodes: BTreeMap<String, i64>,
}

impl Model {
    fn new() -> Model {
        let mut model = Model::default();
        for path in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
            model.nodes.insert(path.into(), 0);
        }
        model
    }
    fn parent(path: &str) -> &str {
        match path.rfind('/') {
            Some(0) => "/",
            Some(i) => &path[..i],
            None => unreachable!(),
        }
    }
    fn create(&mut self, path: &str, owner: i64) -> i32 {
        if !self.nodes.contains_key(Self::parent(path)) {
            err::NO_NODE
        } else if self.nodes.contains_key(path) {
            err::NODE_EXISTS
        } else {
            self.nodes.insert(path.into(), owner);
            err::OK
        }
    }
    fn delete(&mut self, path: &str) -> i32 {
        if !self.nodes.contains_key(Self::parent(path)) || !self.nodes.contains_key(path) {
            return err::NO_NODE;
        }
        let prefix = format!("{path}/");
        self.nodes.retain(|p, _| p != path && !p.starts_with(&prefix));
        err::OK
    }
    fn touch(&self, path: &str) -> i32 {
        if self.nodes.contains_key(path) {
            err::OK
        } else {
            err::NO_NODE
        }
    }
    fn owned_by(&self, session: i64) -> Vec<String> {
        self.nodes.iter().filter(|(_, owner)| **owner == session).map(|(p, _)| p.clone()).collect()
    }
}

fn body_of(op: &Op) -> TxnBody {
    match op {
        Op::Create { path, kind, parent_cversion, data, .. } => {
            let path = PATHS[*path];
            let data = data.as_ref().map(|d| Bytes::copy_from_slice(d));
            let parent_c_version = parent_cversion.unwrap_or(-1);
            match kind {
                0 | 1 => TxnBody::Create(CreateTxn {
                    path: path.into(),
                    data,
                    acl: open(),
                    ephemeral: *kind == 1,
                    parent_c_version,
                }),
                2 => container(path),
                _ => ttl(path, 100),
            }
        }
        Op::Delete { path } => delete(PATHS[*path]),
        Op::SetData { path, data, version } => {
            set_data(PATHS[*path], data.as_ref().map(|d| Bytes::copy_from_slice(d)), *version)
        }
        Op::SetAcl { path, acl: choice, version } => set_acl(PATHS[*path], acl(*choice), *version),
        _ => unreachable!("not a simple op"),
    }
}

/// Applies a simple op to the model; returns the expected result code.
fn model_apply(model: &mut Model, op: &Op, session: i64) -> i32 {
    match op {
        Op::Create { path, kind, .. } => {
            let owner = match kind {
                0 => 0,
                1 => session,
                _ => -1,
            };
            model.create(PATHS[*path], owner)
        }
        Op::Delete { path } => model.delete(PATHS[*path]),
        Op::SetData { path, .. } | Op::SetAcl { path, .. } => model.touch(PATHS[*path]),
        _ => unreachable!(),
    }
}

fn session_of(op: &Op) -> i64 {
    match op {
        Op::Create { session, .. } => SESSIONS[*session],
        _ => SESSION,
    }
}

fn check(tree: &DataTree, model: &Model) -> Result<(), TestCaseError> {
    tree.check_invariants().map_err(TestCaseError::fail)?;
    let paths: BTreeSet<String> = tree
        .nodes_depth_first()
        .map(|(path, _)| if path.is_empty() { "/".to_string() } else { path })
        .collect();
    let expected: BTreeSet<String> = model.nodes.keys().cloned().collect();
    prop_assert_eq!(&paths, &expected);
    prop_assert_eq!(tree.node_count(), expected.len() + 1);
    for (path, node) in tree.nodes_depth_first() {
        let path = if path.is_empty() { "/".to_string() } else { path };
        let prefix = if path == "/" { "/".to_string() } else { format!("{path}/") };
        let mut children: Vec<&str> = expected
            .iter()
            .filter_map(|p| p.strip_prefix(prefix.as_str()))
            .filter(|name| !name.is_empty() && !name.contains('/'))
            .collect();
        children.sort_unstable();
        prop_assert_eq!(node.client_stat().num_children as usize, children.len(), "numChildren of {}", path);
        prop_assert!(tree.children(&path).eq(children.iter().copied()), "children of {}", path);
    }
    for session in SESSIONS {
        prop_assert_eq!(tree.ephemerals_of(session), model.owned_by(session));
    }
    Ok(())
}

fn check_events(outcome: &datatree::ApplyOutcome) -> Result<(), TestCaseError> {
    for notification in &outcome.events {
        prop_assert!(!notification.watchers.is_empty());
        prop_assert!(notification.watchers.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
        prop_assert_eq!(notification.event.state, 3);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_txns_keep_the_tree_consistent(ops in proptest::collection::vec(any_op(), 1..40)) {
        let mut tree = DataTree::new();
        let mut model = Model::new();
        let mut zxid = 0;
        let auth = AuthInfo::default();
        for op in &ops {
            if !matches!(op, Op::Watch { .. } | Op::RemoveWatches { .. } | Op::Disconnect { .. }) {
                zxid += 1;
            }
            let cversions_before: BTreeMap<String, (i64, i32, i64)> = tree
                .nodes_depth_first()
                .map(|(p, n)| (p, (n.stat().czxid, n.stat().cversion, n.stat().pzxid)))
                .collect();
            match op {
                Op::Create { .. } | Op::Delete { .. } | Op::SetData { .. } | Op::SetAcl { .. } => {
                    let session = session_of(op);
                    let expected = model_apply(&mut model, op, session);
                    let outcome = apply_as(&mut tree, session, zxid, body_of(op));
                    prop_assert_eq!(outcome.result.err, expected, "{:?}", op);
                    check_events(&outcome)?;
                }
                Op::CreateSession { session } => {
                    apply_as(&mut tree, SESSIONS[*session], zxid, create_session(3000));
                    prop_assert_eq!(tree.session_timeout(SESSIONS[*session]), Some(3000));
                }
                Op::CloseSession { session, listed } => {
                    let session = SESSIONS[*session];
                    let owned = model.owned_by(session);
                    for path in &owned {
                        // A child under an ephemeral (prep forbids it, a replay may not) goes
                        // with it.
                        model.delete(path);
                    }
                    let mut listed_paths: Vec<&str> = owned.iter().map(String::as_str).collect();
                    listed_paths.push("/not/there");
                    let body = close_session(listed.then_some(listed_paths.as_slice()));
                    let outcome = apply_as(&mut tree, session, zxid, body);
                    prop_assert_eq!(outcome.result.err, 0);
                    prop_assert_eq!(tree.session_timeout(session), None);
                    check_events(&outcome)?;
                }
                Op::Multi { ops, fail_at } => {
                    let outcome = match fail_at {
                        None => {
                            let mut expected = Vec::new();
                            for sub in ops {
                                expected.push(model_apply(&mut model, sub, SESSION));
                            }
                            let body = TxnBody::Multi(ops.iter().map(body_of).collect());
                            let outcome = apply_as(&mut tree, SESSION, zxid, body);
                            let got: Vec<i32> = outcome.result.multi.iter().map(|r| r.err).collect();
                            prop_assert_eq!(got, expected);
                            outcome
                        }
                        Some(at) => {
                            let subs = ops.iter().enumerate().map(|(i, sub)| match i.cmp(at) {
                                std::cmp::Ordering::Less => body_of(sub),
                                std::cmp::Ordering::Equal => error(err::BAD_VERSION),
                                std::cmp::Ordering::Greater => error(err::RUNTIME_INCONSISTENCY),
                            });
                            let outcome = apply_as(&mut tree, SESSION, zxid, TxnBody::Multi(subs.collect()));
                            prop_assert!(outcome.events.is_empty());
                            prop_assert_eq!(outcome.result.err, err::BAD_VERSION);
                            prop_assert!(outcome.result.multi.iter().all(|r| r.txn_type == -1));
                            outcome
                        }
                    };
                    check_events(&outcome)?;
                }
                Op::Watch { path, watcher, how } => {
                    let path = PATHS[*path];
                    let w = Some(*watcher);
                    let _ = match how {
                        0 => read::get_data(&mut tree, path, &auth, w).map(drop),
                        1 => read::exists(&mut tree, path, &auth, w).map(drop),
                        2 => read::get_children(&mut tree, path, &auth, w).map(drop),
                        3 => { tree.add_persistent_watch(path, *watcher, false); Ok(()) }
                        _ => { tree.add_persistent_watch(path, *watcher, true); Ok(()) }
                    };
                }
                Op::RemoveWatches { path, watcher, watcher_type, check_only } => {
                    let count = tree.watch_count();
                    let found = tree.remove_watches(PATHS[*path], *watcher_type, *watcher, *check_only);
                    if *check_only || !found {
                        prop_assert_eq!(tree.watch_count(), count);
                    } else {
                        prop_assert!(tree.watch_count() < count || *watcher_type != 3);
                    }
                }
                Op::Disconnect { watcher } => {
                    tree.remove_watcher(*watcher);
                    prop_assert!(!tree.watches_by_watcher().contains_key(watcher));
                }
            }
            prop_assert_eq!(tree.last_processed_zxid(), zxid);
            for (path, node) in tree.nodes_depth_first() {
                if let Some(&(czxid, cversion, pzxid)) = cversions_before.get(&path) {
                    if czxid == node.stat().czxid {
                        prop_assert!(node.stat().cversion >= cversion, "cversion of {} went backwards", path);
                        prop_assert!(node.stat().pzxid >= pzxid, "pzxid of {} went backwards", path);
                    }
                }
            }
            check(&tree, &model)?;
        }
    }
}
