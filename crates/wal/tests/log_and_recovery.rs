//! The writer, the reader and recovery on files we write: round trips, preallocation, rolls,
//! torn tails, corrupt snapshots, missing log files, purge.

use datatree::DataTree;
use jute::consts::op;
use jute::records::Acl;
use jute::txn::{CreateSessionTxn, CreateTxn, DeleteTxn, SetDataTxn, TxnBody, TxnHeader};
use jute::Bytes;
use std::path::Path;
use wal::recovery::{recover, RecoveryOptions};
use wal::snapshot::write_snapshot;
use wal::txnlog::{scan_log, LogEnd, LogOptions, TxnLogWriter};
use wal::WalError;

fn open_acl() -> Vec<Acl> {
    vec![Acl::new(31, "world", "anyone")]
}

fn header(zxid: i64, txn_type: i32) -> TxnHeader {
    TxnHeader { client_id: 0x42, cxid: zxid as i32, zxid, time: 1_700_000_000_000 + zxid, r#type: txn_type }
}

/// Txn `zxid` of a simple workload: a session, then creates of /n<i> and a setData now and then.
fn txn(zxid: i64) -> (TxnHeader, TxnBody) {
    if zxid == 1 {
        return (
            header(1, op::CREATE_SESSION),
            TxnBody::CreateSession(CreateSessionTxn { time_out: 30_000 }),
        );
    }
    if zxid % 5 == 0 {
        let body = TxnBody::SetData(SetDataTxn {
            path: format!("/n{}", zxid - 1),
            data: Some(Bytes::from(vec![b'x'; (zxid % 300) as usize])),
            version: 1,
        });
        return (header(zxid, op::SET_DATA), body);
    }
    let body = TxnBody::Create(CreateTxn {
        path: format!("/n{zxid}"),
        data: if zxid % 7 == 0 { None } else { Some(Bytes::from(format!("data {zxid}"))) },
        acl: open_acl(),
        ephemeral: zxid % 11 == 0,
        // As prep computes it: the root's cversion after this create.
        parent_c_version: (2..=zxid).filter(|k| k % 5 != 0).count() as i32,
    });
    (header(zxid, op::CREATE), body)
}

fn write_txns(dir: &Path, zxids: std::ops::RangeInclusive<i64>, options: LogOptions) -> TxnLogWriter {
    let mut writer = TxnLogWriter::new(dir, options);
    for zxid in zxids {
        let (h, b) = txn(zxid);
        writer.append(&h, &b, None).unwrap();
        if zxid % 10 == 0 {
            writer.sync().unwrap();
        }
    }
    writer.sync().unwrap();
    writer
}

fn expected_tree(last: i64) -> DataTree {
    let mut tree = DataTree::new();
    for zxid in 1..=last {
        let (h, b) = txn(zxid);
        tree.apply(&h, &b);
    }
    tree
}

fn small_prealloc() -> LogOptions {
    LogOptions { prealloc_bytes: 64 * 1024, ..LogOptions::default() }
}

/// Logs txns 1..=`last` in `dir`, applying each to a tree too (returned): after a zxid in
/// `roll_after` the log rolls, after one in `snapshot_after` a snapshot is written.
fn log_txns(dir: &Path, last: i64, roll_after: &[i64], snapshot_after: &[i64]) -> DataTree {
    let mut writer = TxnLogWriter::new(dir, small_prealloc());
    let mut tree = DataTree::new();
    for zxid in 1..=last {
        let (h, b) = txn(zxid);
        writer.append(&h, &b, None).unwrap();
        tree.apply(&h, &b);
        if roll_after.contains(&zxid) || snapshot_after.contains(&zxid) {
            writer.sync().unwrap();
        }
        if roll_after.contains(&zxid) {
            writer.roll().unwrap();
        }
        if snapshot_after.contains(&zxid) {
            write_snapshot(&tree.snapshot_view(), dir, true, true).unwrap();
        }
    }
    writer.sync().unwrap();
    tree
}

fn assert_same_tree(a: &DataTree, b: &DataTree) {
    let nodes = |tree: &DataTree| {
        tree.nodes_depth_first().map(|(p, n)| (p, n.data().map(<[u8]>::to_vec), n.stat())).collect::<Vec<_>>()
    };
    assert_eq!(nodes(a), nodes(b));
    assert_eq!(a.digest(), b.digest());
    assert_eq!(a.sessions().collect::<Vec<_>>(), b.sessions().collect::<Vec<_>>());
}

#[test]
fn written_txns_read_back_and_the_file_is_preallocated_as_java_does() {
    let dir = tempfile::tempdir().unwrap();
    write_txns(dir.path(), 1..=2000, small_prealloc());
    let path = dir.path().join("log.1");
    let (entries, end) = scan_log(&path).unwrap();
    assert_eq!(entries.len(), 2000);
    assert!(matches!(end, LogEnd::Clean { .. }));
    for (i, entry) in entries.iter().enumerate() {
        let (h, b) = txn(i as i64 + 1);
        assert_eq!((entry.header.clone(), entry.body.clone()), (h, b));
    }
    // Java's padding: 16 + k·prealloc or a multiple of prealloc, never far past the data.
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size >= end.offset() && size <= end.offset() + 2 * 64 * 1024 + 4096, "{size}");
    let recovered = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
    assert_eq!(recovered.last_zxid, 2000);
    assert_same_tree(&recovered.tree, &expected_tree(2000));
}

#[test]
fn rolled_logs_and_snapshots_recover_to_the_same_tree() {
    let dir = tempfile::tempdir().unwrap();
    let tree = log_txns(dir.path(), 1000, &[300, 600, 900], &[300, 600, 900]);
    let logs = wal::files::list(dir.path(), "log").unwrap();
    assert_eq!(logs.iter().map(|(z, _)| *z).collect::<Vec<_>>(), vec![1, 301, 601, 901]);
    let recovered = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
    assert_eq!(recovered.snapshot.as_ref().unwrap().0, 900);
    assert_eq!(recovered.txns_replayed, 100);
    assert_same_tree(&recovered.tree, &tree);
}

#[test]
fn a_torn_last_record_is_cut_and_never_replayed() {
    for cut in [1usize, 5, 11, 12, 20, 40] {
        let dir = tempfile::tempdir().unwrap();
        write_txns(dir.path(), 1..=100, LogOptions { prealloc_bytes: 0, ..LogOptions::default() });
        let path = dir.path().join("log.1");
        let (entries, end) = scan_log(&path).unwrap();
        let last = entries.last().unwrap().offset as usize;
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(end.offset() as usize, bytes.len());
        // Keep `cut` bytes of the last entry, as a crash in the middle of its write would.
        std::fs::write(&path, &bytes[..last + cut]).unwrap();
        let recovered = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
        assert_eq!(recovered.last_zxid, 99, "cut {cut}");
        assert_eq!(recovered.torn.len(), 1);
        assert_same_tree(&recovered.tree, &expected_tree(99));
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, last, "the torn bytes are gone");
        // And a new log continues after it, recovering everything.
        let mut writer = TxnLogWriter::new(dir.path(), LogOptions::default());
        writer.set_last_zxid(99);
        let (h, b) = txn(100);
        writer.append(&h, &b, None).unwrap();
        writer.sync().unwrap();
        let again = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
        assert_same_tree(&again.tree, &expected_tree(100));
    }
}

#[test]
fn a_torn_record_inside_preallocated_zeros_is_cut_too() {
    let dir = tempfile::tempdir().unwrap();
    write_txns(dir.path(), 1..=50, small_prealloc());
    let path = dir.path().join("log.1");
    let (entries, _) = scan_log(&path).unwrap();
    let last = entries.last().unwrap().offset as usize;
    let mut bytes = std::fs::read(&path).unwrap();
    // The payload's second half never reached the disk: zeros, end byte included.
    let payload_len = i32::from_be_bytes(bytes[last + 8..last + 12].try_into().unwrap()) as usize;
    for b in &mut bytes[last + 12 + payload_len / 2..last + 12 + payload_len + 1] {
        *b = 0;
    }
    std::fs::write(&path, &bytes).unwrap();
    let recovered = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
    assert_eq!(recovered.last_zxid, 49);
    assert_same_tree(&recovered.tree, &expected_tree(49));
}

#[test]
fn a_bad_checksum_in_the_middle_of_a_log_is_corruption_not_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    write_txns(dir.path(), 1..=50, small_prealloc());
    let path = dir.path().join("log.1");
    let (entries, _) = scan_log(&path).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let victim = entries[20].offset as usize;
    bytes[victim + 30] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();
    let error = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap_err();
    assert!(matches!(error, WalError::Corrupt { offset, .. } if offset == victim as u64), "{error}");
}

#[test]
fn a_corrupt_newest_snapshot_falls_back_to_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    let tree = log_txns(dir.path(), 300, &[], &[100, 200]);
    let newest = dir.path().join("snapshot.c8");
    // A flipped byte in the middle (the seal catches it) ...
    let mut bytes = std::fs::read(&newest).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&newest, &bytes).unwrap();
    let recovered = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
    assert_eq!(recovered.snapshot.as_ref().unwrap().0, 100);
    assert_eq!(recovered.skipped_snapshots.len(), 1);
    assert_same_tree(&recovered.tree, &tree);
    // ... or a snapshot cut short.
    std::fs::write(&newest, &bytes[..middle]).unwrap();
    let recovered = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
    assert_eq!(recovered.snapshot.as_ref().unwrap().0, 100);
    assert_same_tree(&recovered.tree, &tree);
}

#[test]
fn a_missing_log_file_is_refused_unless_a_snapshot_covers_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = TxnLogWriter::new(dir.path(), small_prealloc());
    let mut tree = DataTree::new();
    for zxid in 1..=300 {
        let (h, b) = txn(zxid);
        writer.append(&h, &b, None).unwrap();
        tree.apply(&h, &b);
        if zxid % 100 == 0 {
            writer.sync().unwrap();
            writer.roll().unwrap();
        }
        if zxid == 150 {
            writer.sync().unwrap();
            write_snapshot(&tree.snapshot_view(), dir.path(), true, true).unwrap();
        }
    }
    writer.sync().unwrap();
    // log.1 (txns 1..100) is older than the snapshot at 150: not needed.
    std::fs::remove_file(dir.path().join("log.1")).unwrap();
    let recovered = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
    assert_same_tree(&recovered.tree, &tree);
    // log.c9 (txns 201..300) is needed: 0xc8 → 0x12d would be a hole... it is the last
    // file, so its loss looks like fewer txns; log.65 (101..200) in the middle is a hole.
    std::fs::remove_file(dir.path().join("log.65")).unwrap();
    let error = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap_err();
    assert!(matches!(error, WalError::Gap { after: 150, next: 201, .. }), "{error}");
}

#[test]
fn replay_over_a_fuzzy_snapshot_tolerates_node_exists_and_no_node() {
    // A snapshot holding the effects of txns after its name zxid, as Java's fuzzy ones do.
    let dir = tempfile::tempdir().unwrap();
    let mut writer = TxnLogWriter::new(dir.path(), small_prealloc());
    let mut tree = DataTree::new();
    let mut view = None;
    for zxid in 1..=60 {
        let (h, b) = if zxid == 45 {
            (header(45, op::DELETE), TxnBody::Delete(DeleteTxn { path: "/n2".into() }))
        } else {
            txn(zxid)
        };
        writer.append(&h, &b, None).unwrap();
        tree.apply(&h, &b);
        if zxid == 50 {
            view = Some(tree.snapshot_view());
        }
    }
    writer.sync().unwrap();
    let view = view.unwrap();
    write_snapshot(&view, dir.path(), true, true).unwrap();
    // Rename it to an older zxid: txns 31..50 are then replayed over a tree that has them.
    std::fs::rename(dir.path().join("snapshot.32"), dir.path().join("snapshot.1e")).unwrap();
    let recovered = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
    assert_eq!(recovered.last_zxid, 60);
    assert_same_tree(&recovered.tree, &tree);
}

#[test]
fn purge_keeps_the_newest_snapshots_and_the_logs_they_need() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = TxnLogWriter::new(dir.path(), small_prealloc());
    let mut tree = DataTree::new();
    for zxid in 1..=500 {
        let (h, b) = txn(zxid);
        writer.append(&h, &b, None).unwrap();
        tree.apply(&h, &b);
        if zxid % 100 == 50 {
            writer.sync().unwrap();
            writer.roll().unwrap();
            write_snapshot(&tree.snapshot_view(), dir.path(), true, true).unwrap();
        }
    }
    writer.sync().unwrap();
    assert!(matches!(wal::purge::purge(dir.path(), dir.path(), 2), Err(WalError::Usage(_))));
    let deleted = wal::purge::purge(dir.path(), dir.path(), 3).unwrap();
    let names = |list: Vec<(i64, std::path::PathBuf)>| list.into_iter().map(|(z, _)| z).collect::<Vec<_>>();
    assert_eq!(names(wal::files::list(dir.path(), "snapshot").unwrap()), vec![250, 350, 450]);
    // The log holding 250 starts at 0xcb (203): kept; the ones before it go.
    assert_eq!(names(wal::files::list(dir.path(), "log").unwrap()), vec![151, 251, 351, 451]);
    assert_eq!(deleted.len(), 4);
    let recovered = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
    assert_same_tree(&recovered.tree, &tree);
}

#[test]
fn a_failed_sync_poisons_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = TxnLogWriter::new(dir.path(), small_prealloc());
    let (h, b) = txn(1);
    writer.append(&h, &b, None).unwrap();
    writer.sync().unwrap();
    // Appending out of order is refused without poisoning...
    assert!(matches!(writer.append(&h, &b, None), Err(WalError::Usage(_))));
    // ... a missing directory at roll time fails the create, and everything after it.
    writer.roll().unwrap();
    let gone = dir.path().join("gone");
    std::fs::create_dir(&gone).unwrap();
    let mut writer = TxnLogWriter::new(&gone, small_prealloc());
    std::fs::remove_dir(&gone).unwrap();
    let (h, b) = txn(2);
    assert!(matches!(writer.append(&h, &b, None), Err(WalError::Io { .. })));
    let (h, b) = txn(3);
    assert!(matches!(writer.append(&h, &b, None), Err(WalError::Poisoned(_))));
    assert!(matches!(writer.sync(), Err(WalError::Poisoned(_))));
}

#[test]
fn a_log_cut_in_its_first_entry_or_header_is_removed_and_its_name_reused() {
    for keep in [0usize, 10, 16, 30] {
        let dir = tempfile::tempdir().unwrap();
        write_txns(dir.path(), 1..=20, small_prealloc());
        let mut writer = TxnLogWriter::new(dir.path(), small_prealloc());
        writer.set_last_zxid(20);
        writer.roll().unwrap();
        let (h, b) = txn(21);
        writer.append(&h, &b, None).unwrap();
        writer.sync().unwrap();
        drop(writer);
        let path = dir.path().join("log.15");
        let bytes = std::fs::read(&path).unwrap();
        let mut cut = bytes[..keep].to_vec();
        if keep == 0 {
            // Preallocated but never written: all zeros.
            cut = vec![0; 4096];
        }
        std::fs::write(&path, &cut).unwrap();
        let recovered = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
        assert_eq!(recovered.last_zxid, 20, "keep {keep}");
        assert!(!path.exists(), "keep {keep}: the empty log is gone");
        let mut writer = TxnLogWriter::new(dir.path(), small_prealloc());
        writer.set_last_zxid(20);
        writer.append(&h, &b, None).unwrap();
        writer.sync().unwrap();
        let again = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
        assert_same_tree(&again.tree, &expected_tree(21));
    }
}

#[test]
fn logged_digests_are_checked_on_replay() {
    for wrong in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = TxnLogWriter::new(dir.path(), small_prealloc());
        let mut tree = DataTree::new();
        for zxid in 1..=100 {
            let (h, b) = txn(zxid);
            tree.apply(&h, &b);
            let tree_digest = if wrong && zxid == 50 { tree.digest() ^ 1 } else { tree.digest() };
            let digest = jute::txn::TxnDigest { version: 2, tree_digest };
            writer.append(&h, &b, Some(&digest)).unwrap();
        }
        writer.sync().unwrap();
        let recovered = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
        assert_eq!(recovered.digest_mismatches, u64::from(wrong));
        assert_same_tree(&recovered.tree, &tree);
    }
}

#[test]
fn a_snapshot_of_names_that_sort_before_the_slash_reads_back() {
    // Snapshots list nodes in path order, where "/a-b" and "/a.b" come between "/a" and
    // "/a/c": every parent must still be read before its children, siblings split or not.
    let mut tree = DataTree::new();
    let paths = ["/a", "/a-b", "/a.b", "/a/c", "/a-b/d", "/a/c/e", "/a/c-f", "/a/c!", "/a/d", "/a/c/g"];
    for (i, path) in paths.iter().enumerate() {
        let zxid = i as i64 + 1;
        let parent = &path[..path.rfind('/').unwrap_or(0)];
        let parent_c_version = tree.get_node(parent).map_or(0, |n| n.stat().cversion) + 1;
        let body = TxnBody::Create(CreateTxn {
            path: (*path).to_string(),
            data: Some(Bytes::from(path.as_bytes().to_vec())),
            acl: open_acl(),
            ephemeral: false,
            parent_c_version,
        });
        tree.apply(&header(zxid, op::CREATE), &body);
    }
    assert_eq!(tree.node_count() - 1, 4 + paths.len());
    let dir = tempfile::tempdir().unwrap();
    write_snapshot(&tree.snapshot_view(), dir.path(), true, true).unwrap();
    let recovered = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
    assert_same_tree(&recovered.tree, &tree);
    recovered.tree.check_invariants().unwrap();
}

#[test]
fn replay_crosses_log_files_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let tree = log_txns(dir.path(), 3000, &[1100, 1700], &[250]);
    let logs = wal::files::list(dir.path(), "log").unwrap();
    assert_eq!(logs.iter().map(|(z, _)| *z).collect::<Vec<_>>(), vec![1, 1101, 1701]);
    let recovered = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
    assert_eq!(recovered.snapshot.as_ref().unwrap().0, 250);
    assert_eq!(recovered.txns_replayed, 2750);
    assert_eq!(recovered.last_zxid, 3000);
    assert_same_tree(&recovered.tree, &tree);
}

#[test]
fn a_snapshot_written_unbounded_is_the_bounded_writers_file_byte_for_byte() {
    let tree = expected_tree(3000);
    let (bounded, unbounded) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for fsync in [true, false] {
        let a = write_snapshot(&tree.snapshot_view(), bounded.path(), true, fsync).unwrap();
        let b = wal::snapshot::write_snapshot_unbounded(&tree.snapshot_view(), unbounded.path(), true, fsync)
            .unwrap();
        assert_eq!((a.zxid, a.nodes, a.bytes), (b.zxid, b.nodes, b.bytes));
        assert_eq!(std::fs::read(&a.path).unwrap(), std::fs::read(&b.path).unwrap());
        let recovered = recover(unbounded.path(), unbounded.path(), &RecoveryOptions::default()).unwrap();
        assert_same_tree(&recovered.tree, &tree);
    }
}

/// Recovery reads the log on a thread of its own, a bounded number of entries ahead of the
/// replay; a log many times that lead must replay the same, report damage where it is, and
/// start over from the right place when the newest snapshot does not load.
#[test]
fn a_log_far_longer_than_the_read_ahead_replays_whole_and_reports_damage_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let tree = log_txns(dir.path(), 40_000, &[10_000, 25_000], &[5_000, 20_000]);
    let recovered = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
    assert_eq!(recovered.snapshot.as_ref().unwrap().0, 20_000);
    assert_eq!(recovered.txns_replayed, 20_000);
    assert_same_tree(&recovered.tree, &tree);

    // The newest snapshot damaged: the replay starts at the older one's zxid, not where the
    // read-ahead began.
    let newest = dir.path().join(format!("snapshot.{:x}", 20_000));
    let mut bytes = std::fs::read(&newest).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&newest, &bytes).unwrap();
    let recovered = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap();
    assert_eq!(recovered.snapshot.as_ref().unwrap().0, 5_000);
    assert_eq!(recovered.txns_replayed, 35_000);
    assert_same_tree(&recovered.tree, &tree);

    // A damaged entry deep in the last file: an error naming that file and offset, after
    // every entry before it was read.
    let last = dir.path().join(format!("log.{:x}", 25_001));
    let (entries, _) = scan_log(&last).unwrap();
    let victim = entries[12_000].offset;
    let mut bytes = std::fs::read(&last).unwrap();
    bytes[victim as usize + 30] ^= 0xFF;
    std::fs::write(&last, &bytes).unwrap();
    let error = recover(dir.path(), dir.path(), &RecoveryOptions::default()).unwrap_err();
    assert!(
        matches!(&error, WalError::Corrupt { path, offset, .. } if *offset == victim && *path == last),
        "{error}"
    );
}
