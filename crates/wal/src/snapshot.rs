//! Snapshots (Java's FileSnap, uncompressed "CHECKED" stream mode): `snapshot.<hex zxid>`.
//!
//! ```text
//! FileHeader { int magic "ZKSN"; int version 2; long dbid -1 }
//! int count; count × { long sessionId; int timeoutMs }
//! int count; count × { long aclId; vector<ACL> }          (id -1 = OPEN_ACL_UNSAFE, implicit)
//! { ustring path; buffer data; long aclId; StatPersisted }* parents first, root as ""
//! ustring "/"                                              (end of nodes)
//! long adler32(everything so far); ustring "/"             (seal)
//! { long zxid; int digestVersion; long digest }            (ZxidDigest, digest.enabled)
//! long adler32(everything so far); ustring "/"             (seal again)
//! ```
//! 3.8 writes nothing more (the lastProcessedZxid trailer is 3.9's).
//!
//! Ours are written from a [`SnapshotView`], the tree frozen after one txn: not fuzzy, so the
//! ZxidDigest names the snapshot's own zxid and Java checks it as soon as it has loaded the file.
//! A snapshot is written under a temporary name, fsynced and renamed, so a crash never leaves a
//! half-written `snapshot.*`.

use crate::adler32::Adler32;
use crate::background::SnapshotFile;
use crate::error::{Result, WalError};
use crate::files::{list, snapshot_name, sync_dir, SNAPSHOT_PREFIX};
use datatree::tree::digest::DIGEST_VERSION;
use datatree::tree::snapshot::SnapshotView;
use datatree::tree::PreparedNode;
use datatree::DataTree;
use jute::persistence::{FileHeader, SnapshotNode, SNAPSHOT_MAGIC};
use jute::records::Acl;
use jute::{Field, Reader};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub const SNAPSHOT_VERSION: i32 = 2;

/// A snapshot file that keeps the Adler-32 of everything appended to it.
struct CheckedFile {
    file: SnapshotFile,
    adler: Adler32,
}

impl CheckedFile {
    /// Appends what `write` appends to the vector it is handed (see [`SnapshotFile::append`]).
    fn append(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> std::io::Result<()> {
        let adler = &mut self.adler;
        self.file.append(|bytes| {
            let start = bytes.len();
            write(bytes);
            adler.update(&bytes[start..]);
        })
    }

    /// The checksum of everything so far, then the ustring "/" (Java's seal).
    fn seal(&mut self) -> std::io::Result<()> {
        let sum = i64::from(self.adler.value());
        self.append(|bytes| {
            sum.write(bytes);
            SnapshotNode::write_end(bytes);
        })
    }
}

/// What writing a snapshot produced.
#[derive(Debug, Clone)]
pub struct SnapshotWritten {
    pub path: PathBuf,
    pub zxid: i64,
    pub bytes: u64,
    pub nodes: usize,
    pub elapsed: std::time::Duration,
}

/// Writes `view` as `dir/snapshot.<zxid>`; with `digest_enabled` the ZxidDigest trailer too.
/// `fsync` makes it durable before the rename (always wanted but in benchmarks).
///
/// The work runs on a helper thread at background CPU and I/O priority, and with `fsync` the
/// file is written directly (`O_DIRECT`), one small chunk at a time and at a bounded rate
/// ([`crate::background`]): a snapshot must not stall the txn log's syncs, whichever thread
/// asks for it.
pub fn write_snapshot(
    view: &SnapshotView,
    dir: &Path,
    digest_enabled: bool,
    fsync: bool,
) -> Result<SnapshotWritten> {
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("snapshot-writer".into())
            .spawn_scoped(scope, || {
                crate::background::lower_this_thread();
                write_snapshot_here(view, dir, digest_enabled, fsync, crate::background::RATE_BYTES_PER_SEC)
            })
            .map_err(WalError::io("starting a thread for", dir))?;
        helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// [`write_snapshot`] on the calling thread at its priority and as fast as the disk takes it:
/// for a server that serves nobody yet (a follower installing its leader's snapshot, which Java
/// also writes before it answers the leader), where the bounded rate only makes the sync longer.
pub fn write_snapshot_unbounded(
    view: &SnapshotView,
    dir: &Path,
    digest_enabled: bool,
    fsync: bool,
) -> Result<SnapshotWritten> {
    write_snapshot_here(view, dir, digest_enabled, fsync, 0)
}

/// [`write_snapshot`] on the calling thread, at `rate` bytes/s when it fsyncs (0: unbounded).
fn write_snapshot_here(
    view: &SnapshotView,
    dir: &Path,
    digest_enabled: bool,
    fsync: bool,
    rate: u64,
) -> Result<SnapshotWritten> {
    let started = Instant::now();
    let zxid = view.zxid();
    let path = dir.join(snapshot_name(zxid));
    let temp = dir.join(format!("tmp.{}", snapshot_name(zxid)));
    // Direct, rate-bounded writes only pay when the file is going to be fsynced anyway.
    let file = if fsync {
        SnapshotFile::create_with_rate(&temp, rate)
    } else {
        std::fs::File::create(&temp).map(SnapshotFile::plain)
    }
    .map_err(WalError::io("creating", &temp))?;
    let mut out = CheckedFile { file, adler: Adler32::new() };
    let io = WalError::io("writing", &temp);
    let mut nodes = 0usize;
    let result = (|| -> std::io::Result<()> {
        out.append(|bytes| {
            FileHeader { magic: SNAPSHOT_MAGIC, version: SNAPSHOT_VERSION, dbid: -1 }.write(bytes);
            (view.sessions().len() as i32).write(bytes);
            for &(id, timeout) in view.sessions() {
                id.write(bytes);
                timeout.write(bytes);
            }
            (view.acl_entries().len() as i32).write(bytes);
            for (id, list) in view.acl_entries() {
                id.write(bytes);
                list.write(bytes);
            }
        })?;
        for (path, node) in view.nodes_parent_first() {
            let head = node.head();
            out.append(|bytes| {
                SnapshotNode { path, data: node.data(), acl_id: head.acl_id, stat: head.stat }.write(bytes)
            })?;
            nodes += 1;
        }
        out.append(SnapshotNode::write_end)?;
        out.seal()?;
        if digest_enabled {
            out.append(|bytes| {
                zxid.write(bytes);
                DIGEST_VERSION.write(bytes);
                view.digest().write(bytes);
            })?;
            out.seal()?;
        }
        Ok(())
    })();
    let bytes = out.file.written();
    let finished = result.map_err(io).and_then(|()| {
        let file = out.file.finish().map_err(WalError::io("writing", &temp))?;
        if fsync {
            file.sync_all().map_err(WalError::io("fsyncing", &temp))?;
        }
        drop(file);
        std::fs::rename(&temp, &path).map_err(WalError::io("renaming", &temp))
    });
    if let Err(error) = finished {
        // Never leave a partial file behind (a full disk would stay full).
        let _ = std::fs::remove_file(&temp);
        return Err(error);
    }
    if fsync {
        sync_dir(dir)?;
    }
    Ok(SnapshotWritten { path, zxid, bytes, nodes, elapsed: started.elapsed() })
}

/// The digest trailer of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZxidDigest {
    pub zxid: i64,
    pub version: i32,
    pub digest: i64,
}

/// A snapshot read back into a tree.
#[derive(Debug)]
pub struct LoadedSnapshot {
    pub tree: DataTree,
    /// The zxid in the file name: txns after it are replayed from the log.
    pub zxid: i64,
    /// The ZxidDigest trailer, if any and not empty (zxid > 0).
    pub digest: Option<ZxidDigest>,
    pub nodes: usize,
}

/// Java's isValidCheckedStream: at least 10 bytes, ending with the ustring "/".
pub fn looks_complete(path: &Path) -> bool {
    let Ok(bytes) = read_tail(path, 5) else { return false };
    bytes.len() == 5 && bytes == [0, 0, 0, 1, b'/']
}

fn read_tail(path: &Path, count: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len < 10 {
        return Ok(Vec::new());
    }
    file.seek(SeekFrom::Start(len - count))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    Ok(tail)
}

/// Snapshot files of `dir`, newest first, that pass [`looks_complete`] (Java's
/// findNValidSnapshots), at most `limit`.
pub fn valid_snapshots(dir: &Path, limit: usize) -> Result<Vec<(i64, PathBuf)>> {
    let mut snapshots = list(dir, SNAPSHOT_PREFIX)?;
    snapshots.reverse();
    Ok(snapshots
        .into_iter()
        .filter(|(_, path)| {
            let ok = looks_complete(path);
            if !ok {
                tracing::warn!("Invalid snapshot {}: it does not end with a seal", path.display());
            }
            ok
        })
        .take(limit)
        .collect())
}

/// Reads a snapshot file, checking both seals.
pub fn read_snapshot(path: &Path) -> Result<LoadedSnapshot> {
    read_snapshot_with(path, PARALLEL_FROM_BYTES)
}

/// A snapshot this large is read by two threads (see [`load_nodes`]); below it a second thread
/// is not worth its start.
const PARALLEL_FROM_BYTES: usize = 4 << 20;

/// How many nodes the second thread hands over at a time.
const BATCH: usize = 4096;

/// [`read_snapshot`], with two threads from `parallel_from` bytes on (tests set it low).
pub fn read_snapshot_with(path: &Path, parallel_from: usize) -> Result<LoadedSnapshot> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let zxid = crate::files::zxid_from_name(name, SNAPSHOT_PREFIX)
        .ok_or_else(|| corrupt(path, 0, "not a snapshot file name".into()))?;
    if name.ends_with(".gz") || name.ends_with(".snappy") {
        return Err(corrupt(path, 0, "compressed snapshots are not supported".into()));
    }
    let file = std::fs::File::open(path).map_err(WalError::io("reading", path))?;
    // SAFETY: a snapshot file is complete before it gets its name (written under a temporary
    // name, fsynced, renamed) and is never written again; purging unlinks it, which leaves a
    // mapping intact. Only an outside process truncating it while it loads could fault the read.
    let mapping = unsafe { memmap2::Mmap::map(&file) }.map_err(WalError::io("reading", path))?;
    // Read once (by two threads, each front to back over its half): ask for all of it now.
    let _ = mapping.advise(memmap2::Advice::WillNeed);
    let bytes: &[u8] = &mapping;
    let started = Instant::now();
    let mut reader = Reader::new(bytes);
    let at = |reader: &Reader<'_>| reader.position() as u64;
    let bad =
        |reader: &Reader<'_>, e: jute::JuteError| corrupt(path, reader.position() as u64, e.to_string());

    let header = FileHeader::read(&mut reader).map_err(|e| bad(&reader, e))?;
    if header.magic != SNAPSHOT_MAGIC {
        return Err(corrupt(path, 0, format!("mismatching magic header {:#x}", header.magic)));
    }
    let mut tree = DataTree::new();
    let sessions = reader.read_i32().map_err(|e| bad(&reader, e))?;
    for _ in 0..sessions.max(0) {
        let id = reader.read_i64().map_err(|e| bad(&reader, e))?;
        let timeout = reader.read_i32().map_err(|e| bad(&reader, e))?;
        tree.insert_session(id, timeout);
    }
    tree.begin_load();
    let acl_count = reader.read_i32().map_err(|e| bad(&reader, e))?;
    for _ in 0..acl_count.max(0) {
        let id = reader.read_i64().map_err(|e| bad(&reader, e))?;
        let list = Vec::<Acl>::read(&mut reader).map_err(|e| bad(&reader, e))?;
        tree.load_acl(id, list);
    }
    let (nodes, mut reader, mut sum) = load_nodes(path, bytes, reader, &mut tree, parallel_from)?;
    check_seal(path, bytes, &mut reader, &mut sum)?;
    let mut digest = None;
    if reader.remaining() > 0 {
        let zxid = reader.read_i64().map_err(|e| bad(&reader, e))?;
        let version = reader.read_i32().map_err(|e| bad(&reader, e))?;
        if version < 2 {
            return Err(corrupt(path, at(&reader), format!("digest version {version} is not supported")));
        }
        let value = reader.read_i64().map_err(|e| bad(&reader, e))?;
        check_seal(path, bytes, &mut reader, &mut sum)?;
        if zxid > 0 {
            digest = Some(ZxidDigest { zxid, version, digest: value });
        }
    }
    tree.finish_load();
    tree.set_last_processed_zxid(zxid);
    tracing::info!(
        "Read snapshot {} ({} nodes, {} bytes) in {} ms",
        path.display(),
        nodes,
        bytes.len(),
        started.elapsed().as_millis()
    );
    Ok(LoadedSnapshot { tree, zxid, digest, nodes })
}

/// A node of the list, built to be inserted.
fn prepare(node: &SnapshotNode<'_>) -> PreparedNode {
    PreparedNode::new(node.path, node.data, node.acl_id, node.stat.clone())
}

/// Reads the node list into `tree` up to and including its end marker. Returns the count, a
/// reader just after the marker and the Adler-32 of the bytes summed so far (everything before
/// the marker's end when the second thread summed them, nothing otherwise).
///
/// Building a node (an allocation and the first touch of its memory) and its digest is most of
/// a load, and needs nothing from the tree: from `parallel_from` bytes on, a second thread
/// builds the nodes of the file's second half while this one builds and inserts the first
/// half's, then inserts the second thread's in file order. Both find the same split, the first
/// node that starts at or after the middle byte: the second thread reads the first half's
/// records without building them to get there. Errors come in file order, as a single thread
/// would meet them: the first half's before the second's.
fn load_nodes<'a>(
    path: &Path,
    bytes: &'a [u8],
    mut reader: Reader<'a>,
    tree: &mut DataTree,
    parallel_from: usize,
) -> Result<(usize, Reader<'a>, RunningAdler)> {
    let nodes_start = reader.position();
    let split = (bytes.len() >= parallel_from).then(|| nodes_start + (bytes.len() - nodes_start) / 2);
    let bad = |at: usize, e: jute::JuteError| corrupt(path, at as u64, e.to_string());
    let mut progress = Progress { nodes: 0, last: Instant::now() };
    std::thread::scope(|scope| {
        let second_half = match split {
            None => None,
            Some(split) => {
                let (batches, receiver) = std::sync::mpsc::channel();
                let worker = std::thread::Builder::new()
                    .name("snapshot-reader".into())
                    .spawn_scoped(scope, move || build_second_half(path, bytes, nodes_start, split, batches))
                    .map_err(WalError::io("starting a thread for", path))?;
                Some((split, receiver, worker))
            }
        };
        let split_at = second_half.as_ref().map_or(usize::MAX, |(split, _, _)| *split);
        // The first half (all of it without a second thread).
        let mut ended = false;
        while reader.position() < split_at {
            let node_at = reader.position();
            match SnapshotNode::read(&mut reader).map_err(|e| bad(reader.position(), e))? {
                None => {
                    ended = true;
                    break;
                }
                Some(node) => progress.insert(path, tree, node_at, prepare(&node))?,
            }
        }
        let Some((_, receiver, worker)) = second_half else {
            return Ok((progress.nodes, reader, RunningAdler::default()));
        };
        for batch in receiver {
            for (node_at, node) in batch {
                progress.insert(path, tree, node_at, node)?;
            }
        }
        let end = worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        if ended {
            // The list ended in the first half: nothing came from the second thread.
            return Ok((progress.nodes, reader, RunningAdler::default()));
        }
        let mut reader = Reader::new(bytes);
        reader.take(end.position).map_err(|e| bad(0, e))?;
        Ok((progress.nodes, reader, end.sum))
    })
}

/// Nodes loaded so far, logged every few seconds.
struct Progress {
    nodes: usize,
    last: Instant,
}

impl Progress {
    fn insert(&mut self, path: &Path, tree: &mut DataTree, node_at: usize, node: PreparedNode) -> Result<()> {
        tree.insert_prepared_node(node).map_err(|e| corrupt(path, node_at as u64, e.to_string()))?;
        self.nodes += 1;
        if self.nodes % 4096 == 0 && self.last.elapsed().as_secs() >= 5 {
            self.last = Instant::now();
            tracing::info!("Reading snapshot {}: {} nodes so far", path.display(), self.nodes);
        }
        Ok(())
    }
}

/// Where the second thread found the node list's end, and the Adler-32 of everything before it.
struct ListEnd {
    position: usize,
    sum: RunningAdler,
}

/// The Adler-32 of a file's first bytes, carried forward: each seal covers everything before
/// it, so the second seal costs only the bytes after the first.
#[derive(Default)]
struct RunningAdler {
    adler: Adler32,
    upto: usize,
}

impl RunningAdler {
    /// The Adler-32 of `bytes[..end]`; `end` never goes back.
    fn of_first(&mut self, bytes: &[u8], end: usize) -> i64 {
        self.adler.update(&bytes[self.upto..end]);
        self.upto = end;
        i64::from(self.adler.value())
    }
}

/// The second thread of [`load_nodes`]: skips to the first record at or after `split`, builds
/// each node from there to the list's end and sends them in batches, with their offsets.
fn build_second_half(
    path: &Path,
    bytes: &[u8],
    nodes_start: usize,
    split: usize,
    batches: std::sync::mpsc::Sender<Vec<(usize, PreparedNode)>>,
) -> Result<ListEnd> {
    let mut reader = Reader::new(bytes);
    let bad = |at: usize, e: jute::JuteError| corrupt(path, at as u64, e.to_string());
    reader.take(nodes_start).map_err(|e| bad(0, e))?;
    while reader.position() < split {
        if SnapshotNode::read(&mut reader).map_err(|e| bad(reader.position(), e))?.is_none() {
            return Ok(ListEnd { position: reader.position(), sum: RunningAdler::default() });
        }
    }
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let node_at = reader.position();
        match SnapshotNode::read(&mut reader) {
            Ok(None) => break,
            Ok(Some(node)) => batch.push((node_at, prepare(&node))),
            Err(e) => {
                // The nodes before the bad record go in first: one of them may not fit the tree,
                // an error that comes earlier in the file.
                let _ = batches.send(batch);
                return Err(bad(reader.position(), e));
            }
        }
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if batches.send(full).is_err() {
                // The first half failed; its error is the one reported.
                return Ok(ListEnd { position: reader.position(), sum: RunningAdler::default() });
            }
        }
    }
    let _ = batches.send(batch);
    // Done with the nodes: the other thread inserts the last batches while this one checksums.
    drop(batches);
    let position = reader.position();
    let mut sum = RunningAdler::default();
    sum.of_first(bytes, position);
    Ok(ListEnd { position, sum })
}

/// Checks the seal at the reader, the Adler-32 of everything before it (`sum` carries it from
/// the bytes already summed).
fn check_seal(path: &Path, bytes: &[u8], reader: &mut Reader<'_>, sum: &mut RunningAdler) -> Result<()> {
    let sealed = reader.position();
    let expected = sum.of_first(bytes, sealed);
    let value = reader.read_i64().map_err(|e| corrupt(path, sealed as u64, e.to_string()))?;
    let _slash = String::read(reader).map_err(|e| corrupt(path, sealed as u64, e.to_string()))?;
    if value != expected {
        return Err(corrupt(path, sealed as u64, "CRC corruption".into()));
    }
    Ok(())
}

fn corrupt(path: &Path, offset: u64, reason: String) -> WalError {
    WalError::Corrupt { path: path.to_path_buf(), offset, reason }
}
