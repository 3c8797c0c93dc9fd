//! Storage benchmark (not a timed test): `cargo bench -p wal --bench wal [-- --nodes N]`.
//!
//! 1. Raw fdatasync rate of the disk under the target dir (one small write + fdatasync per op).
//! 2. Txn append throughput with group commit: K client threads each send a txn and wait until
//!    it is durable; one writer thread takes every txn waiting, applies each to its tree copy
//!    for the digest, appends them, fsyncs once and acknowledges them all (the server's loop).
//! 3. Snapshot of N znodes of 100 B: the O(1) freeze the core pays, and the background write.
//! 4. Recovery of those N znodes: from the snapshot, and by replaying a log of N creates.
//! 5. Java ZooKeeper 3.8 (Debian's package) recovering the same two data dirs, timed from
//!    process start to serving and by its own "Snapshot loaded in" / "txns loaded in" lines.

use datatree::DataTree;
use jute::consts::op;
use jute::records::Acl;
use jute::txn::{CreateSessionTxn, CreateTxn, TxnBody, TxnHeader};
use jute::Bytes;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use wal::recovery::{recover, RecoveryOptions};
use wal::txnlog::{LogOptions, TxnLogWriter};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let nodes: usize = args
        .iter()
        .position(|a| a == "--nodes")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let skip_java = args.iter().any(|a| a == "--no-java");
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/wal-bench");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    println!("# wal benchmark (disk of {})", base.display());

    // The disk of a shared VM is noisy: the raw rate is measured before and after the group
    // commit runs, and the ratio uses their mean.
    let before = raw_fsync_rate(&base.join("raw1"), Duration::from_secs(2));
    let mut runs = Vec::new();
    for clients in [1, 8, 64, 256] {
        runs.push((
            clients,
            group_commit(&base.join(format!("gc{clients}")), clients, Duration::from_secs(2)),
        ));
    }
    let after = raw_fsync_rate(&base.join("raw2"), Duration::from_secs(2));
    let fsync_rate = (before + after) / 2.0;
    println!(
        "raw fdatasync rate (100 B append + fdatasync): {before:.0} /s before, {after:.0} /s after ({:.3} ms each on average)",
        1000.0 / fsync_rate
    );
    for (clients, (rate, batches)) in runs {
        println!(
            "group commit, {clients:>3} clients: {rate:>9.0} txns/s, {batches:>7.0} fsyncs/s, {:.1} txns per fsync, {:.1}x the raw fsync rate",
            rate / batches.max(1.0),
            rate / fsync_rate
        );
    }

    println!("building a tree of {nodes} znodes of 100 B ...");
    let snap_dir = base.join("snap/data/version-2");
    let replay_dir = base.join("replay/data/version-2");
    std::fs::create_dir_all(&snap_dir).unwrap();
    std::fs::create_dir_all(&replay_dir).unwrap();
    let started = Instant::now();
    let mut tree = DataTree::new();
    // snapshot.0 of the empty tree: Java wants a snapshot next to any log.
    wal::snapshot::write_snapshot(&tree.snapshot_view(), &replay_dir, true, true).unwrap();
    let mut writer = TxnLogWriter::new(&replay_dir, LogOptions::default());
    for zxid in 1..=nodes as i64 + 1 {
        let (header, body) = txn(zxid);
        tree.apply(&header, &body);
        writer.append(&header, &body, None).unwrap();
    }
    writer.sync().unwrap();
    println!("  built and logged in {:.2} s", started.elapsed().as_secs_f64());

    // What the core pays for a background snapshot: the freeze, then copy-on-write on the first
    // changes to what the frozen view still shares. Compared with the same applies without a view.
    let apply_batch = |tree: &mut DataTree, from: i64, count: i64| {
        let started = Instant::now();
        let mut slowest = Duration::ZERO;
        for zxid in from..from + count {
            let (header, body) = txn(zxid);
            let one = Instant::now();
            tree.apply(&header, &body);
            slowest = slowest.max(one.elapsed());
        }
        (started.elapsed(), slowest)
    };
    let mut next = nodes as i64 + 2;
    let (plain, plain_max) = apply_batch(&mut tree, next, 10_000);
    next += 10_000;
    let freeze_started = Instant::now();
    let view = tree.snapshot_view();
    let freeze = freeze_started.elapsed();
    let (shared, shared_max) = apply_batch(&mut tree, next, 10_000);
    println!(
        "snapshot freeze (the core's only stall): {:.3} ms; 10k applies with no snapshot running {:.1} ms (slowest {:.3} ms), right after the freeze {:.1} ms (slowest {:.3} ms, copy-on-write)",
        freeze.as_secs_f64() * 1e3,
        plain.as_secs_f64() * 1e3,
        plain_max.as_secs_f64() * 1e3,
        shared.as_secs_f64() * 1e3,
        shared_max.as_secs_f64() * 1e3
    );
    let written = wal::snapshot::write_snapshot(&view, &snap_dir, true, true).unwrap();
    println!(
        "snapshot of {} nodes written in the background in {:.2} s ({:.1} MB, {:.0} MB/s)",
        written.nodes,
        written.elapsed.as_secs_f64(),
        written.bytes as f64 / 1e6,
        written.bytes as f64 / 1e6 / written.elapsed.as_secs_f64()
    );
    drop(view);
    drop(tree);

    let options = RecoveryOptions { truncate_torn: false, check_gaps: true };
    let started = Instant::now();
    let recovered = recover(&snap_dir, &snap_dir, &options).unwrap();
    let ours_snapshot = started.elapsed();
    assert_eq!(recovered.tree.node_count(), nodes + 5 + 10_000);
    drop(recovered);
    let started = Instant::now();
    let recovered = recover(&replay_dir, &replay_dir, &options).unwrap();
    let ours_replay = started.elapsed();
    assert_eq!(recovered.txns_replayed, nodes as u64 + 1);
    drop(recovered);
    println!(
        "ferrokeeper recovery: from the snapshot {:.2} s; replaying {} txns {:.2} s",
        ours_snapshot.as_secs_f64(),
        nodes + 1,
        ours_replay.as_secs_f64()
    );

    if skip_java {
        return;
    }
    if !Path::new("/usr/share/java/zookeeper.jar").exists() {
        println!("Java ZooKeeper not installed: no comparison");
        return;
    }
    std::fs::create_dir_all(base.join("empty/data")).unwrap();
    for (name, dir) in [
        ("empty data dir: JVM start-up", base.join("empty")),
        ("snapshot", base.join("snap")),
        ("replay", base.join("replay")),
    ] {
        match java_recovery(&dir) {
            Some((serving, logged)) => println!(
                "Java 3.8 recovery ({name}): serving after {:.2} s (JVM start included){}",
                serving.as_secs_f64(),
                if logged.is_empty() { String::new() } else { format!("; its log: {logged}") }
            ),
            None => println!("Java 3.8 recovery ({name}): did not start, see {}/server.log", dir.display()),
        }
    }
}

fn txn(zxid: i64) -> (TxnHeader, TxnBody) {
    let header = |txn_type| TxnHeader {
        client_id: 0x100,
        cxid: zxid as i32,
        zxid,
        time: 1_700_000_000_000,
        r#type: txn_type,
    };
    if zxid == 1 {
        return (header(op::CREATE_SESSION), TxnBody::CreateSession(CreateSessionTxn { time_out: 30_000 }));
    }
    let n = zxid - 1;
    // 1000 parents of 1000 children each.
    let (path, parent_c_version) = if n <= 1000 {
        (format!("/p{n}"), n as i32)
    } else {
        (format!("/p{}/n{n}", n % 1000 + 1), ((n - 1001) / 1000 + 1) as i32)
    };
    let body = TxnBody::Create(CreateTxn {
        path,
        data: Some(Bytes::from(vec![b'v'; 100])),
        acl: vec![Acl::new(31, "world", "anyone")],
        ephemeral: false,
        parent_c_version,
    });
    (header(op::CREATE), body)
}

fn raw_fsync_rate(dir: &Path, duration: Duration) -> f64 {
    std::fs::create_dir_all(dir).unwrap();
    let mut file = std::fs::File::create(dir.join("raw")).unwrap();
    file.set_len(64 << 20).unwrap();
    let started = Instant::now();
    let mut count = 0u64;
    let entry = vec![7u8; 100];
    while started.elapsed() < duration {
        file.write_all(&entry).unwrap();
        file.sync_data().unwrap();
        count += 1;
    }
    count as f64 / started.elapsed().as_secs_f64()
}

/// Closed loop: each client waits for its txn to be durable before sending the next.
fn group_commit(dir: &Path, clients: usize, duration: Duration) -> (f64, f64) {
    std::fs::create_dir_all(dir).unwrap();
    let (tx, rx) = mpsc::channel::<(u64, mpsc::Sender<()>)>();
    let dir = dir.to_path_buf();
    let writer = std::thread::spawn(move || {
        let mut log = TxnLogWriter::new(&dir, LogOptions::default());
        // As the server's writer with digest.enabled: each txn is applied to the writer's tree
        // copy to log the digest it leaves.
        let mut shadow = DataTree::new();
        let mut zxid = 0i64;
        let (mut txns, mut syncs) = (0u64, 0u64);
        let mut batch = Vec::new();
        while let Ok(first) = rx.recv() {
            batch.push(first);
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
            for _ in &batch {
                zxid += 1;
                let (header, body) = txn(zxid.max(2));
                let header = TxnHeader { zxid, ..header };
                shadow.apply(&header, &body);
                let digest = jute::txn::TxnDigest { version: 2, tree_digest: shadow.digest() };
                log.append(&header, &body, Some(&digest)).unwrap();
            }
            log.sync().unwrap();
            syncs += 1;
            txns += batch.len() as u64;
            for (_, ack) in batch.drain(..) {
                let _ = ack.send(());
            }
        }
        (txns, syncs)
    });
    let started = Instant::now();
    let client_threads: Vec<_> = (0..clients)
        .map(|c| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let (ack_tx, ack_rx) = mpsc::channel();
                while started.elapsed() < duration {
                    tx.send((c as u64, ack_tx.clone())).unwrap();
                    ack_rx.recv().unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    for thread in client_threads {
        thread.join().unwrap();
    }
    let (txns, syncs) = writer.join().unwrap();
    let seconds = started.elapsed().as_secs_f64();
    (txns as f64 / seconds, syncs as f64 / seconds)
}

fn java_recovery(dir: &Path) -> Option<(Duration, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let config = dir.join("zoo.cfg");
    std::fs::write(
        &config,
        format!("tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\nadmin.enableServer=false\n", dir.join("data").display()),
    )
    .ok()?;
    let log = std::fs::File::create(dir.join("server.log")).ok()?;
    let started = Instant::now();
    let mut child = std::process::Command::new("java")
        .args([
            "-Xmx6g",
            "-Dzookeeper.admin.enableServer=false",
            "-cp",
            &java_classpath(),
            "org.apache.zookeeper.server.quorum.QuorumPeerMain",
        ])
        .arg(&config)
        .stdout(log.try_clone().ok()?)
        .stderr(log)
        .spawn()
        .ok()?;
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut serving = None;
    while started.elapsed() < Duration::from_secs(600) {
        if child.try_wait().ok().flatten().is_some() {
            break;
        }
        if srvr(address).is_some_and(|text| text.contains("Mode:")) {
            serving = Some(started.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    let logged: Vec<String> = text
        .lines()
        .filter(|l| {
            l.contains("Snapshot loaded in")
                || l.contains("txns loaded in")
                || l.contains("Snapshot taken in")
        })
        .map(|l| l.rsplit(" - ").next().unwrap_or(l).trim().to_string())
        .collect();
    serving.map(|s| (s, logged.join("; ")))
}

fn srvr(address: std::net::SocketAddr) -> Option<String> {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream.write_all(b"srvr").ok()?;
    let mut out = String::new();
    stream.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Debian's jars with slf4j-simple as the only logging binding (`/usr/share/java/*` picks the
/// NOP one), so that Java's log shows its own load times.
fn java_classpath() -> String {
    let mut jars: Vec<String> = std::fs::read_dir("/usr/share/java")
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path().display().to_string())
                .filter(|p| p.ends_with(".jar"))
                .filter(|p| {
                    !["slf4j-nop", "slf4j-log4j12", "slf4j-jcl", "slf4j-jdk14", "maven3-slf4j-provider"]
                        .iter()
                        .any(|binding| p.contains(binding))
                })
                .collect()
        })
        .unwrap_or_default();
    jars.sort();
    jars.join(":")
}
