//! The TxnDigest prep works out for each txn (`PendingChanges::txn_digest`) is the tree digest
//! the txn leaves once applied: random writes are prepped in a pipeline (several txns pending
//! at once), applied in order, and after each one the prepped digest, the tree's digest and the
//! digest recomputed from every node must agree. This is what the log writer's shadow tree used
//! to log, so the logs stay byte-identical.

mod prep_support;

use datatree::prep::{prep_create_session, PrepContext, Prepared};
use datatree::DataTree;
use jute::consts::op;
use jute::proto::*;
use jute::records::{Acl, Id, StatPersisted};
use jute::request::{MultiOp, Request};
use jute::txn::{
    CloseSessionTxn, CreateContainerTxn, CreateSessionTxn, CreateTtlTxn, CreateTxn, DeleteTxn, SetAclTxn,
    SetDataTxn, TxnBody, TxnDigest, TxnHeader,
};
use jute::Bytes;
use prep_support::*;
use proptest::prelude::*;

/// `/` (setData/setACL on the root while its children change: Java's two root records),
/// nested paths, and a path under `/zookeeper/` (not in the digest, but its parent is).
const PATHS: [&str; 9] = ["/", "/a", "/b", "/a/x", "/a/y", "/b/x", "/a/x/z", "/zookeeper/z", "/zookeeper"];
const SESSIONS: [i64; 3] = [SESSION, OTHER_SESSION, 0x0100_0000_0000_0003];

#[derive(Debug, Clone)]
enum Write {
    /// `kind`: 0 create, 1 create2, 2 createContainer, 3 createTTL; flags 0..=6 whatever the
    /// kind (prep and the tree disagree on some pairings: both are covered).
    Create {
        kind: u8,
        path: usize,
        flags: i32,
        ttl: i64,
        data: Option<Vec<u8>>,
        acl: u8,
    },
    Delete {
        path: usize,
        version: i32,
    },
    DeleteContainer {
        path: usize,
    },
    SetData {
        path: usize,
        data: Option<Vec<u8>>,
        version: i32,
    },
    SetAcl {
        path: usize,
        acl: u8,
        version: i32,
    },
    Check {
        path: usize,
        version: i32,
    },
    Multi(Vec<Write>),
}

#[derive(Debug, Clone)]
enum Step {
    /// A write by one of [`SESSIONS`].
    Write {
        session: usize,
        write: Write,
    },
    CreateSession {
        session: usize,
    },
    CloseSession {
        session: usize,
    },
    /// Apply the oldest `count` pending txns (the rest stay pending across later preps).
    Apply {
        count: usize,
    },
}

fn data() -> impl Strategy<Value = Option<Vec<u8>>> {
    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..6))
}

fn version() -> impl Strategy<Value = i32> {
    prop_oneof![2 => Just(-1), 1 => 0i32..3]
}

fn simple_write() -> impl Strategy<Value = Write> {
    let path = 0..PATHS.len();
    prop_oneof![
        6 => (0u8..4, path.clone(), prop_oneof![3 => 0i32..2, 1 => 0i32..7], prop_oneof![Just(-1i64), Just(0), 1i64..100_000], data(), 0u8..3)
            .prop_map(|(kind, path, flags, ttl, data, acl)| Write::Create { kind, path, flags, ttl, data, acl }),
        3 => (path.clone(), version()).prop_map(|(path, version)| Write::Delete { path, version }),
        1 => path.clone().prop_map(|path| Write::DeleteContainer { path }),
        4 => (path.clone(), data(), version()).prop_map(|(path, data, version)| Write::SetData { path, data, version }),
        2 => (path.clone(), 0u8..3, version()).prop_map(|(path, acl, version)| Write::SetAcl { path, acl, version }),
        1 => (path, version()).prop_map(|(path, version)| Write::Check { path, version }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let session = 0..SESSIONS.len();
    let write = prop_oneof![
        5 => simple_write(),
        // setACL inside a multi is a runtime failure (MarshallingError), also covered.
        1 => proptest::collection::vec(simple_write(), 1..5).prop_map(Write::Multi),
    ];
    prop_oneof![
        12 => (session.clone(), write).prop_map(|(session, write)| Step::Write { session, write }),
        1 => session.clone().prop_map(|session| Step::CreateSession { session }),
        1 => session.prop_map(|session| Step::CloseSession { session }),
        4 => (1usize..6).prop_map(|count| Step::Apply { count }),
    ]
}

fn acl(choice: u8) -> Vec<Acl> {
    match choice {
        0 => open(),
        1 => vec![Acl::new(1, "world", "anyone")],
        _ => vec![Acl::new(31, "ip", "127.0.0.1")],
    }
}

fn create_request(path: usize, flags: i32, data: &Option<Vec<u8>>, acl_choice: u8) -> CreateRequest {
    CreateRequest {
        path: PATHS[path].into(),
        data: data.as_deref().map(Bytes::copy_from_slice),
        acl: acl(acl_choice),
        flags,
    }
}

fn request(write: &Write) -> Request {
    match write {
        Write::Create { kind, path, flags, ttl, data, acl: acl_choice } => {
            let plain = create_request(*path, *flags, data, *acl_choice);
            match kind {
                0 => Request::Create(plain),
                1 => Request::Create2(plain),
                2 => Request::CreateContainer(plain),
                _ => Request::CreateTtl(CreateTtlRequest {
                    path: plain.path,
                    data: plain.data,
                    acl: plain.acl,
                    flags: plain.flags,
                    ttl: *ttl,
                }),
            }
        }
        Write::Delete { path, version } => {
            Request::Delete(DeleteRequest { path: PATHS[*path].into(), version: *version })
        }
        Write::DeleteContainer { path } => {
            Request::DeleteContainer(DeleteContainerRequest { path: PATHS[*path].into() })
        }
        Write::SetData { path, data, version } => Request::SetData(SetDataRequest {
            path: PATHS[*path].into(),
            data: data.as_deref().map(Bytes::copy_from_slice),
            version: *version,
        }),
        Write::SetAcl { path, acl: choice, version } => {
            Request::SetAcl(SetAclRequest { path: PATHS[*path].into(), acl: acl(*choice), version: *version })
        }
        Write::Check { path, version } => {
            Request::Check(CheckVersionRequest { path: PATHS[*path].into(), version: *version })
        }
        Write::Multi(writes) => Request::Multi(writes.iter().map(multi_op).collect()),
    }
}

fn multi_op(write: &Write) -> MultiOp {
    match request(write) {
        Request::Create(r) => MultiOp::Create(r),
        Request::Create2(r) => MultiOp::Create2(r),
        Request::CreateContainer(r) => MultiOp::CreateContainer(r),
        Request::CreateTtl(r) => MultiOp::CreateTtl(r),
        Request::Delete(r) => MultiOp::Delete(r),
        Request::SetData(r) => MultiOp::SetData(r),
        Request::Check(r) => MultiOp::Check(r),
        // No multi op for these: a read in a write multi (a runtime failure in Java too).
        Request::DeleteContainer(r) => MultiOp::GetData(GetDataRequest { path: r.path, watch: false }),
        Request::SetAcl(r) => MultiOp::GetChildren(GetChildrenRequest { path: r.path, watch: false }),
        other => unreachable!("not a multi op: {other:?}"),
    }
}

/// A prepared txn, the digest prep gave it, and whether the tree must show it.
struct Pending {
    prepared: Prepared,
    digest: Option<TxnDigest>,
}

struct Run {
    pipeline: Pipeline,
    queue: std::collections::VecDeque<Pending>,
}

impl Run {
    fn new() -> Run {
        let mut pipeline = Pipeline::new();
        pipeline.auth.skip_acl = false;
        Run { pipeline, queue: Default::default() }
    }

    fn queue(&mut self, prepared: Prepared) {
        let p = &mut self.pipeline;
        let digest = p.pending.txn_digest(&p.tree, &prepared.header, &prepared.body);
        self.queue.push_back(Pending { prepared, digest });
    }

    fn step(&mut self, step: &Step) -> Result<(), TestCaseError> {
        match step {
            Step::Write { session, write } => {
                self.pipeline.session = SESSIONS[*session];
                let prepared = self.pipeline.prep(&request(write));
                self.pipeline.queue.clear();
                self.queue(prepared);
            }
            Step::CloseSession { session } => {
                self.pipeline.session = SESSIONS[*session];
                let prepared = self.pipeline.prep(&Request::CloseSession);
                self.pipeline.queue.clear();
                self.queue(prepared);
            }
            Step::CreateSession { session } => {
                let session = SESSIONS[*session];
                self.pipeline.zxid += 1;
                let check = |_: i64, _| Ok(());
                let ctx = PrepContext {
                    session_id: session,
                    cxid: 0,
                    zxid: self.pipeline.zxid,
                    time_ms: TIME + self.pipeline.zxid,
                    auth: &self.pipeline.auth,
                    extended_types_enabled: true,
                    enforce_quota: false,
                    check_session: &check,
                };
                let prepared = prep_create_session(&ctx, 30_000);
                self.pipeline.sessions.insert(session, false);
                self.queue(prepared);
            }
            Step::Apply { count } => {
                for _ in 0..*count {
                    self.apply_one()?;
                }
            }
        }
        Ok(())
    }

    fn apply_one(&mut self) -> Result<(), TestCaseError> {
        let Some(Pending { prepared, digest }) = self.queue.pop_front() else { return Ok(()) };
        let p = &mut self.pipeline;
        p.tree.apply(&prepared.header, &prepared.body);
        if prepared.header.r#type == op::CLOSE_SESSION {
            p.sessions.remove(&prepared.header.client_id);
        }
        p.pending.note_applied(prepared.header.zxid);
        // What the shadow tree logged: the tree's digest after the txn, none for error txns.
        let expected = (prepared.header.r#type != op::ERROR)
            .then(|| TxnDigest { version: 2, tree_digest: p.tree.digest() });
        prop_assert_eq!(digest, expected, "txn {:?}", prepared);
        p.tree.check_invariants().map_err(TestCaseError::fail)?;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), TestCaseError> {
        while !self.queue.is_empty() {
            self.apply_one()?;
        }
        prop_assert!(self.pipeline.pending.is_empty());
        Ok(())
    }
}

/// Runs `steps` through prep and the tree, checking the digest after each and once drained.
fn replay(steps: &[Step]) -> Result<(), TestCaseError> {
    let mut run = Run::new();
    for step in steps {
        run.step(step)?;
    }
    run.finish()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn prepped_digest_is_the_digest_the_txn_leaves(steps in proptest::collection::vec(step(), 1..60)) {
        replay(&steps)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Any txn, as a replay may meet it: the digest is the tree's or, where the overlay does not
// model the txn (a delete of a node with children), none until the pipeline drains.

#[derive(Debug, Clone)]
enum RawTxn {
    Create { type_: u8, path: usize, ephemeral: bool, parent_cversion: i32, session: usize },
    Delete { path: usize, container: bool },
    SetData { path: usize, version: i32 },
    SetAcl { path: usize, version: i32 },
    CloseSession { session: usize, listed: Vec<usize>, with_body: bool },
    CreateSession { session: usize },
    Multi(Vec<RawTxn>, bool),
}

fn raw_simple() -> impl Strategy<Value = RawTxn> {
    let path = 0..PATHS.len();
    prop_oneof![
        5 => (0u8..4, path.clone(), any::<bool>(), -1i32..4, 0..SESSIONS.len()).prop_map(
            |(type_, path, ephemeral, parent_cversion, session)| RawTxn::Create { type_, path, ephemeral, parent_cversion, session }),
        3 => (path.clone(), any::<bool>()).prop_map(|(path, container)| RawTxn::Delete { path, container }),
        2 => (path.clone(), -1i32..3).prop_map(|(path, version)| RawTxn::SetData { path, version }),
        1 => (path, -1i32..3).prop_map(|(path, version)| RawTxn::SetAcl { path, version }),
    ]
}

fn raw_txn() -> impl Strategy<Value = RawTxn> {
    prop_oneof![
        10 => raw_simple(),
        1 => (0..SESSIONS.len(), proptest::collection::vec(0..PATHS.len(), 0..3), any::<bool>())
            .prop_map(|(session, listed, with_body)| RawTxn::CloseSession { session, listed, with_body }),
        1 => (0..SESSIONS.len()).prop_map(|session| RawTxn::CreateSession { session }),
        2 => (proptest::collection::vec(raw_simple(), 1..4), any::<bool>()).prop_map(|(subs, fail)| RawTxn::Multi(subs, fail)),
    ]
}

fn raw_body(txn: &RawTxn) -> (i64, TxnBody) {
    let data = Some(Bytes::from_static(b"d"));
    match txn {
        RawTxn::Create { type_, path, ephemeral, parent_cversion, session } => {
            let path = PATHS[*path].to_string();
            let parent_c_version = *parent_cversion;
            let body = match type_ {
                0 => TxnBody::Create(CreateTxn {
                    path,
                    data,
                    acl: open(),
                    ephemeral: *ephemeral,
                    parent_c_version,
                }),
                1 => TxnBody::Create2(CreateTxn {
                    path,
                    data,
                    acl: open(),
                    ephemeral: *ephemeral,
                    parent_c_version,
                }),
                2 => {
                    TxnBody::CreateContainer(CreateContainerTxn { path, data, acl: open(), parent_c_version })
                }
                _ => TxnBody::CreateTtl(CreateTtlTxn { path, data, acl: open(), parent_c_version, ttl: 500 }),
            };
            (SESSIONS[*session], body)
        }
        RawTxn::Delete { path, container } => {
            let txn = DeleteTxn { path: PATHS[*path].into() };
            (SESSION, if *container { TxnBody::DeleteContainer(txn) } else { TxnBody::Delete(txn) })
        }
        RawTxn::SetData { path, version } => {
            (SESSION, TxnBody::SetData(SetDataTxn { path: PATHS[*path].into(), data, version: *version }))
        }
        RawTxn::SetAcl { path, version } => (
            SESSION,
            TxnBody::SetAcl(SetAclTxn {
                path: PATHS[*path].into(),
                acl: vec![Acl { perms: 31, id: Id::new("world", "anyone") }],
                version: *version,
            }),
        ),
        RawTxn::CloseSession { session, listed, with_body } => {
            let paths2_delete = listed.iter().map(|path| PATHS[*path].to_string()).collect();
            (
                SESSIONS[*session],
                TxnBody::CloseSession(with_body.then_some(CloseSessionTxn { paths2_delete })),
            )
        }
        RawTxn::CreateSession { session } => {
            (SESSIONS[*session], TxnBody::CreateSession(CreateSessionTxn { time_out: 30_000 }))
        }
        RawTxn::Multi(subs, fail) => {
            let mut bodies: Vec<TxnBody> = subs.iter().map(|sub| raw_body(sub).1).collect();
            if *fail {
                bodies.push(error_body(-101));
            }
            (SESSION, TxnBody::Multi(bodies))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn any_txn_digest_is_the_trees_or_none(
        txns in proptest::collection::vec((raw_txn(), 0usize..4), 1..50),
    ) {
        let mut tree = DataTree::new();
        let mut pending = datatree::prep::PendingChanges::new();
        let mut queue = std::collections::VecDeque::new();
        let mut zxid = 0;
        let mut unknown = false;
        for (txn, apply_count) in &txns {
            zxid += 1;
            let (client_id, body) = raw_body(txn);
            let header = TxnHeader { client_id, cxid: 0, zxid, time: TIME + zxid, r#type: body.txn_type() };
            let digest = pending.txn_digest(&tree, &header, &body);
            queue.push_back((header, body, digest));
            for _ in 0..*apply_count {
                let Some((header, body, digest)) = queue.pop_front() else { break };
                tree.apply(&header, &body);
                pending.note_applied(header.zxid);
                match digest {
                    Some(digest) => {
                        prop_assert!(!unknown || queue.is_empty());
                        prop_assert_eq!(digest.tree_digest, tree.digest(), "txn {:?} {:?}", header, body);
                    }
                    // Only a delete that drops a subtree makes the digest unknown, until the
                    // txns prepared by then are applied.
                    None => unknown = !queue.is_empty(),
                }
                prop_assert_eq!(tree.digest(), recomputed(&tree));
            }
        }
    }
}

fn recomputed(tree: &DataTree) -> i64 {
    tree.nodes_depth_first().fold(0i64, |sum, (path, node)| {
        let stat: &StatPersisted = &node.stat();
        sum.wrapping_add(datatree::tree::digest::node_digest(&path, node.data(), stat))
    })
}

#[test]
fn a_create_of_a_root_child_behind_a_pending_set_data_on_the_root() {
    // Java's prep keeps `/` (setData) and `""` (the parent of /a) as two records; the digest
    // must see both changes on the one root node.
    let steps = [
        Step::Write {
            session: 0,
            write: Write::SetData { path: 0, data: Some(b"root".to_vec()), version: -1 },
        },
        Step::Write {
            session: 0,
            write: Write::Create { kind: 0, path: 1, flags: 0, ttl: -1, data: None, acl: 0 },
        },
        Step::Write { session: 0, write: Write::SetData { path: 0, data: None, version: -1 } },
    ];
    replay(&steps).unwrap();
}

#[test]
fn a_create_whose_opcode_and_flags_disagree() {
    // Opcode createContainer with ephemeral flags: prep's record says ephemeral, the tree makes a
    // container; then the session closes.
    let steps = [
        Step::Write {
            session: 0,
            write: Write::Create { kind: 2, path: 1, flags: 1, ttl: -1, data: None, acl: 0 },
        },
        Step::Write {
            session: 0,
            write: Write::Create { kind: 0, path: 2, flags: 4, ttl: -1, data: None, acl: 0 },
        },
        Step::CloseSession { session: 0 },
    ];
    replay(&steps).unwrap();
}

#[test]
fn what_a_prep_read_is_not_used_once_the_tree_has_changed() {
    // A prep reads /a from the tree (its txn fails: no digest is asked for it), then the tree
    // changes /a behind prep's back. The next digest must read /a's new state from the tree,
    // not the node that prep read.
    let mut p = Pipeline::new();
    let created = p.prep(&Request::Create(CreateRequest {
        path: "/a".into(),
        data: Some(Bytes::from_static(b"one")),
        acl: acl(0),
        flags: 0,
    }));
    p.pending.txn_digest(&p.tree, &created.header, &created.body);
    p.tree.apply(&created.header, &created.body);
    p.pending.note_applied(created.header.zxid);
    let failed = p.prep(&Request::SetData(SetDataRequest {
        path: "/a".into(),
        data: Some(Bytes::from_static(b"never")),
        version: 99,
    }));
    assert_eq!(failed.header.r#type, op::ERROR);
    let zxid = failed.header.zxid;
    let set = |zxid: i64, data: &'static [u8]| {
        let header = TxnHeader { client_id: SESSION, cxid: 0, zxid, time: TIME + zxid, r#type: op::SET_DATA };
        let body = TxnBody::SetData(SetDataTxn {
            path: "/a".into(),
            data: Some(Bytes::from_static(data)),
            version: -1,
        });
        (header, body)
    };
    let (header, body) = set(zxid + 1, b"two");
    p.tree.apply(&header, &body);
    let (header, body) = set(zxid + 2, b"three");
    let digest = p.pending.txn_digest(&p.tree, &header, &body).expect("a digest");
    p.tree.apply(&header, &body);
    assert_eq!(digest.tree_digest, p.tree.digest());
    assert_eq!(digest.tree_digest, recomputed(&p.tree));
}
