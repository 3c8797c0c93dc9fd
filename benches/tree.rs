//! Data-tree benchmark (not a timed test): `cargo bench -p datatree --bench tree [-- --creates N]`.
//!
//! The tree work of the ensemble's create and setData rows, without the server: the load
//! generator's working set (`/fkbench/n<i>`, 1,000 nodes of 100 B), then creates of 100 B
//! under `/fkbench/w` named as its sessions name them (`<tag>-<session>-<sequence>`, 32
//! sessions taking turns, so the new paths land all over the parent's range, not at its end).
//! Per create it times what a member does with the map: the leader's check that the path is
//! free (a lookup that misses), and the apply every member makes (the parent's change and the
//! insert). A frozen view is taken every 100,000 creates, as a snapshot does, so the map's
//! copy-on-write is paid as in the server.

use datatree::DataTree;
use jute::consts::op;
use jute::records::Acl;
use jute::txn::{CreateTxn, SetDataTxn, TxnBody, TxnHeader};
use jute::Bytes;
use std::time::Instant;

const SESSIONS: u64 = 32;

fn header(zxid: i64, r#type: i32) -> TxnHeader {
    TxnHeader { client_id: 1, cxid: zxid as i32, zxid, time: 1_700_000_000_000 + zxid, r#type }
}

fn create(tree: &mut DataTree, zxid: i64, path: String, data: &Bytes) {
    let body = TxnBody::Create(CreateTxn {
        path,
        data: Some(data.clone()),
        acl: vec![Acl::new(jute::consts::perms::ALL, "world", "anyone")],
        ephemeral: false,
        parent_c_version: -1,
    });
    let outcome = tree.apply(&header(zxid, op::CREATE), &body);
    assert_eq!(outcome.result.err, 0, "create failed");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let creates: u64 = args
        .iter()
        .position(|a| a == "--creates")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(600_000);
    let data = Bytes::from(vec![b'x'; 100]);
    let mut tree = DataTree::new();
    let mut zxid = 1;
    create(&mut tree, zxid, "/fkbench".into(), &data);
    for i in 0..1_000 {
        zxid += 1;
        create(&mut tree, zxid, format!("/fkbench/n{i}"), &data);
    }
    zxid += 1;
    create(&mut tree, zxid, "/fkbench/w".into(), &data);

    let tag = 4242;
    let path = |n: u64| format!("/fkbench/w/{tag}-{}-{}", n % SESSIONS, n / SESSIONS);
    let mut frozen = None;
    let (mut lookup_ns, mut apply_ns) = (0u128, 0u128);
    let started = Instant::now();
    for n in 0..creates {
        if n % 100_000 == 0 {
            // A snapshot's freeze: the next changes copy the parts of the map they touch.
            frozen = Some(tree.snapshot_view());
        }
        let new = path(n);
        let t = Instant::now();
        assert!(tree.get_node(&new).is_none());
        let looked = t.elapsed();
        zxid += 1;
        let t = Instant::now();
        create(&mut tree, zxid, new, &data);
        apply_ns += t.elapsed().as_nanos();
        lookup_ns += looked.as_nanos();
    }
    let total = started.elapsed();
    drop(frozen);
    println!(
        "{} creates under one parent ({} sessions' names): {:.0} ns per create in all; the leader's \
         lookup of the free path {:.0} ns, the apply {:.0} ns",
        creates,
        SESSIONS,
        total.as_nanos() as f64 / creates as f64,
        lookup_ns as f64 / creates as f64,
        apply_ns as f64 / creates as f64
    );

    let rounds = 1_000_000u64;
    let started = Instant::now();
    for n in 0..rounds {
        zxid += 1;
        let body = TxnBody::SetData(SetDataTxn {
            path: format!("/fkbench/n{}", n * 7919 % 1_000),
            data: Some(data.clone()),
            version: -1,
        });
        let outcome = tree.apply(&header(zxid, op::SET_DATA), &body);
        assert_eq!(outcome.result.err, 0);
    }
    println!(
        "{} setData of 100 B over the 1,000-node working set (tree of {} nodes): {:.0} ns each",
        rounds,
        tree.node_count(),
        started.elapsed().as_nanos() as f64 / rounds as f64
    );
}
