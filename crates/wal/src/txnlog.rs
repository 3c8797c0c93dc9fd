//! The txn log (Java's FileTxnLog): `log.<hex zxid of its first txn>`.
//!
//! ```text
//! FileHeader { int magic "ZKLG"; int version 2; long dbid 0 }
//! entry*     { long adler32(payload); int len; payload[len]; byte 'B' }
//!            payload = TxnHeader, txn record [, TxnDigest]
//! zeros      up to the preallocated size
//! ```
//!
//! Writing is split into three explicit steps so that the caller does group commit:
//! [`TxnLogWriter::append`] only serializes into memory, [`TxnLogWriter::flush`] hands the bytes
//! to the kernel, [`TxnLogWriter::sync`] makes them durable (fdatasync, unless forceSync=no).
//! A txn may be acknowledged only after a `sync` that started after its `append`.
//!
//! Reading ([`scan_log`], [`read_from`]) stops a file at its first entry that is not whole:
//! a zero length (the preallocated tail), an entry running past the end of the file, or one
//! without its end-of-record byte, exactly where Java stops. A checksum mismatch is a torn
//! write only if nothing but zeros follows it in the file; anywhere else it is corruption.

use crate::adler32::Adler32;
use crate::error::{Result, WalError};
use crate::files::{list, log_name, logs_covering, LOG_PREFIX};
use bytes::Bytes;
use jute::persistence::{FileHeader, TXN_LOG_MAGIC};
use jute::txn::{TxnBody, TxnDigest, TxnHeader};
use jute::{Field, Reader, Record};
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The txn log format version Java writes.
pub const TXN_LOG_VERSION: i32 = 2;
/// The end-of-record byte.
pub const END_OF_RECORD: u8 = b'B';
/// Size of the file header.
pub const FILE_HEADER_SIZE: u64 = 16;
/// Java's default preAllocSize: 64 MiB.
pub const DEFAULT_PREALLOC_BYTES: u64 = 64 * 1024 * 1024;

/// How far ahead of the write position the log's blocks are written with zeros, and the step
/// they are zeroed in. Java grows the log sparse (`set_len`), so an fdatasync that reaches a new
/// block also allocates it and must make the allocation durable too: a journal commit, or on a
/// file system without a journal (this machine's ext4) a synchronous 4 KiB metadata write from
/// the syncing thread (`block:block_rq_issue` "WSM"), seen for two of three log fsyncs of a
/// 3-member setData load. On this machine's virtio disk a 3 KB append + fdatasync took p50
/// 212 µs and ~100 µs of CPU (system-wide) into a sparse file, 140 µs and ~75 µs into blocks
/// already written. Written ahead, one allocation covers a MiB of log. The zeros are what the
/// sparse file reads as, so the file is the same either way.
pub const ZERO_AHEAD_BYTES: u64 = 1 << 20;

/// Zeroing ahead writes every byte of the log twice, which pays only where syncs are small: a
/// flush of more than this many bytes, or while flushes average more, allocates its blocks
/// itself. A sync of tens of KiB costs its data write more than the allocation, and doubled it
/// was the disk's bandwidth that gave out: a 3-member setData load of 4 KiB values (~50 KiB a
/// sync) ran at 11.6–12.4k ops/s zeroing ahead every flush, 13.1–13.4k without, in the same
/// minutes; 100 B writes sync 3–5 KiB at a time.
pub const ZERO_AHEAD_MAX_FLUSH_BYTES: u64 = 16 << 10;

/// Java's FilePadding.calculateFileSizeWithPadding: once the write position comes within 4 KiB
/// of the preallocated size, grow it by one block (or to the next multiple of the block past the
/// position, if the position already ran past it).
pub fn padded_size(position: u64, file_size: u64, prealloc: u64) -> u64 {
    if prealloc > 0 && position + 4096 >= file_size {
        if position > file_size {
            let size = position + prealloc;
            size - size % prealloc
        } else {
            file_size + prealloc
        }
    } else {
        file_size
    }
}

/// Serializes one entry's payload: TxnHeader, the txn record, the digest if any.
pub fn encode_payload(header: &TxnHeader, body: &TxnBody, digest: Option<&TxnDigest>) -> Vec<u8> {
    // TxnHeader (28 bytes) and TxnDigest (12) around the body.
    let mut payload = Vec::with_capacity(40 + body.size_hint());
    header.write(&mut payload);
    body.write(&mut payload);
    if let Some(digest) = digest {
        digest.write(&mut payload);
    }
    payload
}

/// Appends one whole entry (checksum, length, payload, 'B') to `out`.
pub fn encode_entry(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&i64::from(Adler32::of(payload)).to_be_bytes());
    out.extend_from_slice(&(payload.len() as i32).to_be_bytes());
    out.extend_from_slice(payload);
    out.push(END_OF_RECORD);
}

/// Options of a [`TxnLogWriter`].
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// preAllocSize in bytes; 0 disables preallocation.
    pub prealloc_bytes: u64,
    /// forceSync: false makes [`TxnLogWriter::sync`] skip the fdatasync (Java's forceSync=no).
    pub force_sync: bool,
    /// fsync.warningthresholdms.
    pub fsync_warning_ms: u64,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions { prealloc_bytes: DEFAULT_PREALLOC_BYTES, force_sync: true, fsync_warning_ms: 1000 }
    }
}

#[derive(Debug)]
struct OpenLog {
    file: File,
    path: PathBuf,
    /// Bytes handed to the kernel so far.
    written: u64,
    /// The size preallocation has grown the file to.
    padded: u64,
    /// Blocks below this offset were written (entries or zeros): appends there allocate nothing.
    zeroed: u64,
    /// Bytes below this offset are durable and were dropped from the page cache.
    dropped: u64,
}

impl OpenLog {
    /// Drops the durable whole pages written since the last call from the page cache. The log
    /// is written once and read again only at a restart, but cached it grows the page cache by
    /// every byte written: on this VM a 4 KiB setData load ran each member's writes ~50%
    /// slower per byte once gigabytes of log sat in the cache (fresh pages for every write,
    /// `copy_folio_from_iter_atomic` 19% → 36% of a follower), and every row after it too.
    /// Unless the file is `finished` (rolled away from), the page holding the end stays: the
    /// next write fills it, and dropped it would be read back first. The pages go 1 MiB at a
    /// time: a call per filled page was one fadvise for every second fsync of a 100 B write
    /// load, for no less cache.
    fn drop_durable_pages(&mut self, finished: bool) {
        const PAGE: u64 = 4096;
        const BATCH: u64 = 1 << 20;
        if finished {
            // The whole file, the zeros written ahead of its end included. From its start: the
            // zeros went in as MiB-sized folios, and fadvise drops only folios wholly inside the
            // range, so one that the last range began inside is still cached.
            crate::background::drop_cached(&self.file, 0, 0);
            self.dropped = self.written.max(self.zeroed);
            return;
        }
        // fadvise drops only the pages wholly inside the range.
        let end = self.written - self.written % PAGE;
        if end > self.dropped && end - self.dropped >= BATCH {
            crate::background::drop_cached(&self.file, self.dropped, end - self.dropped);
            self.dropped = end;
        }
    }
}

/// Appends txns to `dir/log.<zxid>` files. Not thread-safe by itself: one writer thread owns it.
#[derive(Debug)]
pub struct TxnLogWriter {
    dir: PathBuf,
    options: LogOptions,
    current: Option<OpenLog>,
    /// Logs rolled away from that still need their final fsync.
    rolled: Vec<OpenLog>,
    /// Serialized entries not yet handed to the kernel.
    buffer: Vec<u8>,
    last_zxid: i64,
    /// Txns appended to the current file.
    txns_in_file: u64,
    /// Set after a failed write or fsync: the file's state is unknown, nothing more is accepted.
    poisoned: Option<String>,
    dirty: bool,
    /// A file was created since the last sync: fsync the directory too.
    rolled_dir_sync: bool,
    /// A step of zeros to write ahead of the entries ([`ZERO_AHEAD_BYTES`]), made once.
    zeros: Option<Box<[u8]>>,
    /// Bytes per flush, a moving average (weight 1/8 to the newest).
    average_flush_bytes: u64,
    /// How long the fdatasyncs of the last [`TxnLogWriter::sync`] took; `None` when it made none.
    last_sync: Option<Duration>,
}

impl TxnLogWriter {
    /// A writer for `dir` (a `version-2` directory). The first append creates a new file named
    /// after its zxid; existing files are never appended to (as Java after a restart).
    pub fn new(dir: impl Into<PathBuf>, options: LogOptions) -> TxnLogWriter {
        TxnLogWriter {
            dir: dir.into(),
            options,
            current: None,
            rolled: Vec::new(),
            buffer: Vec::with_capacity(64 * 1024),
            last_zxid: 0,
            txns_in_file: 0,
            poisoned: None,
            dirty: false,
            rolled_dir_sync: false,
            zeros: None,
            average_flush_bytes: 0,
            last_sync: None,
        }
    }

    /// How long the fdatasyncs of the last [`TxnLogWriter::sync`] took (Java's
    /// getTxnLogSyncElapsedTime, which feeds the `fsynctime` metric); `None` when that sync had
    /// nothing to make durable, or forceSync is off.
    pub fn last_sync_elapsed(&self) -> Option<Duration> {
        self.last_sync
    }

    pub fn options(&self) -> &LogOptions {
        &self.options
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The zxid of the last appended txn (0 before any).
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    /// Txns appended to the current log file.
    pub fn txns_in_current_file(&self) -> u64 {
        self.txns_in_file
    }

    /// Bytes in the current log file (appended, flushed or not).
    pub fn current_file_bytes(&self) -> u64 {
        self.current.as_ref().map_or(0, |log| log.written) + self.buffer.len() as u64
    }

    pub fn current_path(&self) -> Option<&Path> {
        self.current.as_ref().map(|log| log.path.as_path())
    }

    fn check_poisoned(&self) -> Result<()> {
        match &self.poisoned {
            Some(reason) => Err(WalError::Poisoned(reason.clone())),
            None => Ok(()),
        }
    }

    fn poison<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(error) = &result {
            self.poisoned = Some(error.to_string());
        }
        result
    }

    /// Serializes a txn into the buffer (no I/O but creating the file for the first txn after
    /// a roll). Zxids must increase.
    pub fn append(&mut self, header: &TxnHeader, body: &TxnBody, digest: Option<&TxnDigest>) -> Result<()> {
        self.append_payload(header.zxid, &encode_payload(header, body, digest))
    }

    /// [`TxnLogWriter::append`] for a txn already serialized by [`encode_payload`] (a Zab
    /// proposal's data, which is the log entry's payload byte for byte). `zxid` must be the one
    /// in the payload's header; the payload is not decoded again.
    pub fn append_payload(&mut self, zxid: i64, payload: &[u8]) -> Result<()> {
        self.check_poisoned()?;
        if zxid <= self.last_zxid {
            return Err(WalError::Usage(format!(
                "txn 0x{:x} appended after 0x{:x}: zxids must increase",
                zxid, self.last_zxid
            )));
        }
        if self.current.is_none() {
            let opened = self.open_new(zxid);
            self.poison(opened)?;
        }
        encode_entry(payload, &mut self.buffer);
        self.last_zxid = zxid;
        self.txns_in_file += 1;
        self.dirty = true;
        Ok(())
    }

    fn open_new(&mut self, zxid: i64) -> Result<()> {
        let path = self.dir.join(log_name(zxid));
        tracing::info!("Creating new log file: {}", log_name(zxid));
        // create_new: a log of that name already existing means two writers or a zxid reused.
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(WalError::io("creating", &path))?;
        let header = FileHeader { magic: TXN_LOG_MAGIC, version: TXN_LOG_VERSION, dbid: 0 };
        self.buffer.extend_from_slice(&header.encode());
        self.current = Some(OpenLog { file, path, written: 0, padded: 0, zeroed: 0, dropped: 0 });
        self.txns_in_file = 0;
        // The new name must survive a crash once a txn in it is acknowledged: the dir is
        // fsynced with the first sync of this file.
        self.rolled_dir_sync = true;
        Ok(())
    }

    /// Hands every buffered entry to the kernel, growing the file by preAllocSize first when
    /// the write gets near its end.
    pub fn flush(&mut self) -> Result<()> {
        self.check_poisoned()?;
        let result = self.flush_inner();
        self.poison(result)
    }

    fn flush_inner(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let prealloc = self.options.prealloc_bytes;
        let Some(log) = self.current.as_mut() else { return Ok(()) };
        let end = log.written + self.buffer.len() as u64;
        let mut padded =
            padded_size(log.written.max(FILE_HEADER_SIZE), log.padded.max(FILE_HEADER_SIZE), prealloc);
        if padded < end && prealloc > 0 {
            padded = padded_size(end, padded, prealloc);
        }
        if padded > log.padded && padded > end {
            // As Java: one zero byte at the new end (the file is sparse up to it).
            log.file.set_len(padded).map_err(WalError::io("preallocating", &log.path))?;
            log.padded = padded;
        }
        let flushed = self.buffer.len() as u64;
        self.average_flush_bytes = (self.average_flush_bytes * 7 + flushed) / 8;
        let small = flushed.max(self.average_flush_bytes) <= ZERO_AHEAD_MAX_FLUSH_BYTES;
        if small && end + ZERO_AHEAD_BYTES / 2 > log.zeroed {
            let start = log.zeroed.max(end);
            let target = (end + ZERO_AHEAD_BYTES).next_multiple_of(ZERO_AHEAD_BYTES).min(log.padded);
            let zeros =
                self.zeros.get_or_insert_with(|| vec![0; ZERO_AHEAD_BYTES as usize].into_boxed_slice());
            let mut at = start;
            while at < target {
                let len = (target - at).min(ZERO_AHEAD_BYTES) as usize;
                log.file.write_all_at(&zeros[..len], at).map_err(WalError::io("zeroing", &log.path))?;
                at += len as u64;
            }
            log.zeroed = log.zeroed.max(target);
        }
        // Positioned write: one syscall, where a seek and a write were two per group commit.
        log.file.write_all_at(&self.buffer, log.written).map_err(WalError::io("writing", &log.path))?;
        log.written = end;
        self.buffer.clear();
        Ok(())
    }

    /// Makes everything flushed durable: fdatasync of the current file and of files rolled away
    /// from (Java's commit). With forceSync=no only flushes.
    pub fn sync(&mut self) -> Result<()> {
        self.last_sync = None;
        self.flush()?;
        let result = self.sync_inner();
        self.poison(result)
    }

    fn sync_inner(&mut self) -> Result<()> {
        if !self.dirty && self.rolled.is_empty() {
            return Ok(());
        }
        if self.options.force_sync {
            let started = std::time::Instant::now();
            for log in &mut self.rolled {
                log.file.sync_data().map_err(WalError::io("fsyncing", &log.path))?;
                log.drop_durable_pages(true);
            }
            if let Some(log) = &mut self.current {
                log.file.sync_data().map_err(WalError::io("fsyncing", &log.path))?;
                log.drop_durable_pages(false);
            }
            if self.rolled_dir_sync {
                crate::files::sync_dir(&self.dir)?;
                self.rolled_dir_sync = false;
            }
            let elapsed = started.elapsed();
            self.last_sync = Some(elapsed);
            let elapsed_ms = elapsed.as_millis() as u64;
            if elapsed_ms > self.options.fsync_warning_ms {
                tracing::warn!(
                    "fsync-ing the write ahead log took {}ms which will adversely effect operation latency. File size is {} bytes. See the ZooKeeper troubleshooting guide",
                    elapsed_ms,
                    self.current.as_ref().map_or(0, |log| log.padded.max(log.written))
                );
            }
        }
        self.rolled.clear();
        self.dirty = false;
        Ok(())
    }

    /// Ends the current file: the next append starts `log.<its zxid>`. The old file gets its
    /// last fsync with the next [`TxnLogWriter::sync`].
    pub fn roll(&mut self) -> Result<()> {
        self.flush()?;
        if let Some(log) = self.current.take() {
            self.rolled.push(log);
        }
        self.txns_in_file = 0;
        Ok(())
    }

    /// Continues after the last txn of a recovered log (so zxids keep increasing).
    pub fn set_last_zxid(&mut self, zxid: i64) {
        self.last_zxid = zxid;
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

/// One txn read back from a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub header: TxnHeader,
    pub body: TxnBody,
    pub digest: Option<TxnDigest>,
    /// Offset of the entry (its checksum) in its file.
    pub offset: u64,
}

/// Where a log file's data ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEnd {
    /// End of file or the zero-filled preallocated tail.
    Clean { offset: u64 },
    /// A last entry that is not whole (a write torn by a crash): everything from `offset` on is
    /// not part of the log and must never be replayed.
    Torn { offset: u64, reason: String },
}

impl LogEnd {
    pub fn offset(&self) -> u64 {
        match self {
            LogEnd::Clean { offset } | LogEnd::Torn { offset, .. } => *offset,
        }
    }
}

/// Reads the entries of one log file in order.
#[derive(Debug)]
pub struct LogFileReader {
    path: PathBuf,
    reader: std::io::BufReader<File>,
    position: u64,
    end: Option<LogEnd>,
}

impl LogFileReader {
    /// Opens `path` and checks its header. A file shorter than the header (a crash right after
    /// it was created) reads as empty and torn at 0.
    pub fn open(path: &Path) -> Result<LogFileReader> {
        let file = File::open(path).map_err(WalError::io("opening", path))?;
        let mut reader = std::io::BufReader::with_capacity(256 * 1024, file);
        let mut header = [0u8; FILE_HEADER_SIZE as usize];
        let read = read_up_to(&mut reader, &mut header).map_err(WalError::io("reading", path))?;
        let mut log =
            LogFileReader { path: path.to_path_buf(), reader, position: FILE_HEADER_SIZE, end: None };
        if read < header.len() || header.iter().all(|&b| b == 0) {
            // Created (and maybe preallocated) but the header never reached the disk: a crash
            // before the first flush of a new file. It holds nothing.
            log.position = 0;
            log.end =
                Some(LogEnd::Torn { offset: 0, reason: format!("file header never written ({read} bytes)") });
            return Ok(log);
        }
        let header = FileHeader::decode(&header).map_err(|e| corrupt(path, 0, e.to_string()))?;
        if header.magic != TXN_LOG_MAGIC {
            return Err(corrupt(path, 0, format!("invalid magic number {:#x}", header.magic)));
        }
        Ok(log)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the data ended, once [`LogFileReader::next_entry`] returned None.
    pub fn end(&self) -> Option<&LogEnd> {
        self.end.as_ref()
    }

    /// The next whole entry, None at the end of the data (see [`LogFileReader::end`]).
    pub fn next_entry(&mut self) -> Result<Option<LogEntry>> {
        if self.end.is_some() {
            return Ok(None);
        }
        let offset = self.position;
        let mut prefix = [0u8; 12];
        let read = read_up_to(&mut self.reader, &mut prefix).map_err(WalError::io("reading", &self.path))?;
        if read < prefix.len() {
            // Bytes after the last entry but fewer than an entry header: a write cut short (or
            // a few zeros of padding, which cutting off loses nothing of either).
            self.end = Some(if read == 0 {
                LogEnd::Clean { offset }
            } else {
                LogEnd::Torn { offset, reason: "entry header cut short".into() }
            });
            return Ok(None);
        }
        let checksum = i64::from_be_bytes(prefix[..8].try_into().expect("8 bytes"));
        let length = i32::from_be_bytes(prefix[8..].try_into().expect("4 bytes"));
        if length == 0 {
            // The preallocated zero area (Java: "EOF is an empty transaction").
            self.end = Some(if checksum == 0 {
                LogEnd::Clean { offset }
            } else {
                LogEnd::Torn { offset, reason: "zero length with a checksum".into() }
            });
            return Ok(None);
        }
        if length < 0 {
            self.end = Some(LogEnd::Torn { offset, reason: format!("negative length {length}") });
            return Ok(None);
        }
        let mut payload = vec![0u8; length as usize + 1];
        let read = read_up_to(&mut self.reader, &mut payload).map_err(WalError::io("reading", &self.path))?;
        if read < payload.len() {
            self.end =
                Some(LogEnd::Torn { offset, reason: format!("entry of {length} bytes runs past the end") });
            return Ok(None);
        }
        let end_byte = payload.pop().expect("length + 1 bytes");
        if end_byte != END_OF_RECORD {
            // Java: "Last transaction was partial."
            self.end = Some(LogEnd::Torn { offset, reason: "no end-of-record byte".into() });
            return Ok(None);
        }
        if i64::from(Adler32::of(&payload)) != checksum {
            // A torn write if only zeros follow; otherwise the log is damaged in the middle.
            if self.rest_is_zeros()? {
                self.end =
                    Some(LogEnd::Torn { offset, reason: "checksum mismatch in the last entry".into() });
                return Ok(None);
            }
            return Err(corrupt(&self.path, offset, "CRC check failed".into()));
        }
        self.position += 12 + payload.len() as u64 + 1;
        let (header, body, digest) =
            decode_payload(&Bytes::from(payload)).map_err(|e| corrupt(&self.path, offset, e))?;
        Ok(Some(LogEntry { header, body, digest, offset }))
    }

    fn rest_is_zeros(&mut self) -> Result<bool> {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let read = self.reader.read(&mut chunk).map_err(WalError::io("reading", &self.path))?;
            if read == 0 {
                return Ok(true);
            }
            if chunk[..read].iter().any(|&b| b != 0) {
                return Ok(false);
            }
        }
    }
}

/// Decodes a payload: TxnHeader, the record of its type, an optional TxnDigest.
pub fn decode_payload(payload: &Bytes) -> Result<(TxnHeader, TxnBody, Option<TxnDigest>), String> {
    let mut reader = Reader::shared(payload);
    let header = TxnHeader::read(&mut reader).map_err(|e| format!("txn header: {e}"))?;
    let body = read_body(&header, &mut reader)?;
    let digest = if reader.remaining() >= 12 {
        Some(TxnDigest::read(&mut reader).map_err(|e| format!("txn digest: {e}"))?)
    } else {
        None
    };
    Ok((header, body, digest))
}

fn read_body(header: &TxnHeader, reader: &mut Reader<'_>) -> Result<TxnBody, String> {
    // A closeSession from before CloseSessionTxn existed has no body; with a digest behind it
    // exactly 12 bytes remain, which no CloseSessionTxn with paths can be.
    if header.r#type == jute::consts::op::CLOSE_SESSION && reader.remaining() == 12 {
        let mut probe = reader.clone();
        if let Ok(close) = jute::txn::CloseSessionTxn::read(&mut probe) {
            if probe.is_empty() {
                *reader = probe;
                return Ok(TxnBody::CloseSession(Some(close)));
            }
        }
        return Ok(TxnBody::CloseSession(None));
    }
    TxnBody::read_typed(header.r#type, reader).map_err(|e| format!("txn of type {}: {e}", header.r#type))
}

fn corrupt(path: &Path, offset: u64, reason: String) -> WalError {
    WalError::Corrupt { path: path.to_path_buf(), offset, reason }
}

/// Reads as many bytes as there are, up to `buf.len()`.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Every entry of one file and where its data ends (for tests and tools).
pub fn scan_log(path: &Path) -> Result<(Vec<LogEntry>, LogEnd)> {
    let mut reader = LogFileReader::open(path)?;
    let mut entries = Vec::new();
    while let Some(entry) = reader.next_entry()? {
        entries.push(entry);
    }
    let end = reader.end().cloned().expect("set at the end");
    Ok((entries, end))
}

/// A torn end found while reading: the file and the offset its data really ends at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    pub path: PathBuf,
    pub offset: u64,
    pub reason: String,
}

/// Reads txns with zxid ≥ `zxid` across the log files of `dir`, in order (Java's
/// FileTxnIterator with fast-forward).
#[derive(Debug)]
pub struct TxnIterator {
    files: std::collections::VecDeque<(i64, PathBuf)>,
    current: Option<LogFileReader>,
    zxid: i64,
    torn: Vec<TornTail>,
}

/// Opens an iterator over `dir`'s logs from `zxid` on.
pub fn read_from(dir: &Path, zxid: i64) -> Result<TxnIterator> {
    let logs = list(dir, LOG_PREFIX)?;
    let files = logs_covering(&logs, zxid).into_iter().collect();
    Ok(TxnIterator { files, current: None, zxid, torn: Vec::new() })
}

impl TxnIterator {
    /// The next txn and the file it is in, None after the last one.
    pub fn next_entry(&mut self) -> Result<Option<(LogEntry, &Path)>> {
        let found = loop {
            if self.current.is_none() {
                let Some((_, path)) = self.files.pop_front() else { return Ok(None) };
                self.current = Some(LogFileReader::open(&path)?);
            }
            let reader = self.current.as_mut().expect("opened above");
            match reader.next_entry()? {
                Some(entry) if entry.header.zxid < self.zxid => continue,
                Some(entry) => break entry,
                None => {
                    if let Some(LogEnd::Torn { offset, reason }) = reader.end() {
                        self.torn.push(TornTail {
                            path: reader.path().to_path_buf(),
                            offset: *offset,
                            reason: reason.clone(),
                        });
                    }
                    self.current = None;
                }
            }
        };
        Ok(Some((found, self.current.as_ref().expect("read from it").path())))
    }

    /// The torn ends met so far.
    pub fn torn(&self) -> &[TornTail] {
        &self.torn
    }
}

/// Cuts a log file at `offset` (a torn tail) and fsyncs it, so the torn bytes can never be
/// read as data later (Java's FileTxnLog.truncate does the same cut).
pub fn truncate_at(path: &Path, offset: u64) -> Result<()> {
    let file = OpenOptions::new().write(true).open(path).map_err(WalError::io("opening", path))?;
    file.set_len(offset).map_err(WalError::io("truncating", path))?;
    file.sync_all().map_err(WalError::io("fsyncing", path))
}

/// The zxid of the last whole txn in `dir`'s logs, None without any (Java's getLastLoggedZxid).
pub fn last_logged_zxid(dir: &Path) -> Result<Option<i64>> {
    let logs = list(dir, LOG_PREFIX)?;
    let mut last = None;
    for (_, path) in logs.iter().rev() {
        let (entries, _) = scan_log(path)?;
        if let Some(entry) = entries.last() {
            last = Some(entry.header.zxid);
            break;
        }
    }
    Ok(last)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use jute::consts::op;
    use jute::txn::{SetDataTxn, TxnBody, TxnHeader};

    /// Pages of `path` in the page cache (mincore over a mapping of the file).
    fn resident_pages(path: &Path) -> usize {
        resident_pages_below(path, u64::MAX)
    }

    /// Cached pages of the file among those starting below `end`.
    fn resident_pages_below(path: &Path, end: u64) -> usize {
        let file = File::open(path).expect("open");
        // SAFETY: a read-only mapping of a file nobody truncates during the test.
        let map = unsafe { memmap2::Mmap::map(&file) }.expect("mmap");
        let pages = map.len().div_ceil(4096);
        let mut residency = vec![0u8; pages];
        // SAFETY: the mapping is live and `residency` has one byte per page of it.
        let result =
            unsafe { libc::mincore(map.as_ptr() as *mut libc::c_void, map.len(), residency.as_mut_ptr()) };
        assert_eq!(result, 0, "mincore");
        let below = end.div_ceil(4096).min(pages as u64) as usize;
        residency[..below].iter().filter(|&&r| r & 1 == 1).count()
    }

    /// The file's first hole at or after `from` (its size if none).
    fn next_hole(file: &File, from: u64) -> u64 {
        use std::os::fd::AsRawFd;
        // SAFETY: lseek on an open descriptor.
        let at = unsafe { libc::lseek(file.as_raw_fd(), from as libc::off_t, libc::SEEK_HOLE) };
        assert!(at >= 0, "SEEK_HOLE: {}", std::io::Error::last_os_error());
        at as u64
    }

    /// Appends txn `zxid`: a setData of `value` on `/a`.
    fn append_set_data(writer: &mut TxnLogWriter, zxid: i64, value: &jute::Bytes) {
        let header = TxnHeader { client_id: 1, cxid: zxid as i32, zxid, time: 0, r#type: op::SET_DATA };
        let body = TxnBody::SetData(SetDataTxn { path: "/a".into(), data: Some(value.clone()), version: -1 });
        writer.append(&header, &body, None).expect("append");
    }

    #[test]
    fn a_sync_reports_how_long_its_fdatasyncs_took_and_none_when_it_made_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let value = jute::Bytes::from(vec![7u8; 100]);
        let mut writer = TxnLogWriter::new(dir.path(), LogOptions::default());
        assert_eq!(writer.last_sync_elapsed(), None);
        append_set_data(&mut writer, 1, &value);
        writer.sync().expect("sync");
        assert!(writer.last_sync_elapsed().is_some_and(|elapsed| elapsed > Duration::ZERO));
        // Nothing new: no fdatasync, so nothing to report.
        writer.sync().expect("sync");
        assert_eq!(writer.last_sync_elapsed(), None);

        let dir = tempfile::tempdir().expect("tempdir");
        let mut unforced =
            TxnLogWriter::new(dir.path(), LogOptions { force_sync: false, ..LogOptions::default() });
        append_set_data(&mut unforced, 1, &value);
        unforced.sync().expect("sync");
        assert_eq!(unforced.last_sync_elapsed(), None);
    }

    #[test]
    fn large_flushes_allocate_their_own_blocks_and_write_no_zeros_ahead() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut writer = TxnLogWriter::new(dir.path(), LogOptions::default());
        let value = jute::Bytes::from(vec![7u8; 1000]);
        for zxid in 1..=200 {
            append_set_data(&mut writer, zxid, &value);
            // ~50 KB a sync: past ZERO_AHEAD_MAX_FLUSH_BYTES, as is the average.
            if zxid % 50 == 0 {
                writer.sync().expect("sync");
            }
        }
        let written = writer.current_file_bytes();
        let file = File::open(writer.current_path().expect("a log")).expect("open");
        let hole = next_hole(&file, 0);
        assert!(
            hole >= written && hole <= written.next_multiple_of(4096),
            "first hole at {hole}, {written} written"
        );
    }

    #[test]
    fn the_blocks_ahead_of_the_entries_are_written_with_zeros_and_read_as_the_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut writer = TxnLogWriter::new(dir.path(), LogOptions::default());
        let value = jute::Bytes::from(vec![7u8; 1000]);
        let mut zxid = 0;
        let mut append_until = |writer: &mut TxnLogWriter, bytes: u64| {
            while writer.current_file_bytes() < bytes {
                zxid += 1;
                append_set_data(writer, zxid, &value);
                if zxid % 10 == 0 {
                    writer.sync().expect("sync");
                }
            }
            writer.sync().expect("sync");
        };
        append_until(&mut writer, 10_000);
        let path = writer.current_path().expect("a log").to_path_buf();
        let file = File::open(&path).expect("open");
        // The file is preallocated as Java's (sparse up to preAllocSize), but a MiB or more past
        // the entries is already allocated: no fsync allocates a block for the next ones.
        assert!(file.metadata().expect("metadata").len() >= DEFAULT_PREALLOC_BYTES);
        let hole = next_hole(&file, 0);
        assert!(hole >= writer.current_file_bytes() + ZERO_AHEAD_BYTES, "first hole at {hole}");
        assert!(hole < DEFAULT_PREALLOC_BYTES, "the whole file was zeroed: {hole}");
        // The zeroed region moves along with the entries.
        append_until(&mut writer, 5 * ZERO_AHEAD_BYTES / 2);
        let written = writer.current_file_bytes();
        let hole = next_hole(&file, 0);
        assert!(
            hole >= written + ZERO_AHEAD_BYTES / 2 && hole <= written + 2 * ZERO_AHEAD_BYTES,
            "{hole} for {written}"
        );
        // The zeros read as the end of the log, as the sparse tail does.
        let mut entries = read_from(dir.path(), 0).expect("read");
        let mut count = 0;
        while let Some((entry, _)) = entries.next_entry().expect("entry") {
            count += 1;
            assert_eq!(entry.header.zxid, count);
        }
        assert_eq!(count, zxid);
    }

    fn on_tmpfs(path: &Path) -> bool {
        use std::os::unix::ffi::OsStrExt;
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("path");
        // SAFETY: statfs fills the zeroed struct for a valid NUL-terminated path.
        let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
        unsafe { libc::statfs(c_path.as_ptr(), &mut stat) == 0 && stat.f_type == libc::TMPFS_MAGIC }
    }

    #[test]
    fn synced_log_pages_leave_the_page_cache_but_the_tail_page() {
        let dir = tempfile::tempdir().expect("tempdir");
        if on_tmpfs(dir.path()) {
            eprintln!("tmpfs keeps its pages: nothing to check");
            return;
        }
        let mut writer = TxnLogWriter::new(dir.path(), LogOptions::default());
        let value = jute::Bytes::from(vec![7u8; 4000]);
        for zxid in 1..=600 {
            append_set_data(&mut writer, zxid, &value);
            if zxid % 50 == 0 {
                writer.sync().expect("sync");
            }
        }
        let path = writer.current_path().expect("a log").to_path_buf();
        let written_pages = writer.current_file_bytes().div_ceil(4096) as usize;
        assert!(written_pages > 580, "{written_pages} pages written");
        // ~600 pages written and fsynced: pages go 1 MiB (256 pages) at a time, so at most the
        // pages since the last drop stay cached, the one still being filled among them.
        // The zeros written ahead of the entries stay cached: the next appends fill them.
        let written = writer.current_file_bytes();
        assert!(
            resident_pages_below(&path, written) <= 256,
            "{} of {written_pages} pages still cached",
            resident_pages_below(&path, written)
        );
        // After a roll the whole file is final and goes.
        writer.roll().expect("roll");
        writer.sync().expect("sync");
        assert_eq!(resident_pages(&path), 0);
        // And it reads back whole.
        let mut entries = read_from(dir.path(), 0).expect("read");
        let mut count = 0;
        while let Some((entry, _)) = entries.next_entry().expect("entry") {
            count += 1;
            assert_eq!(entry.header.zxid, count);
        }
        assert_eq!(count, 600);
    }
}
