//! Writing a big file (a snapshot) without stalling the txn log's fsyncs.
//!
//! Every log sync ends in a cache flush of the one disk the snapshot is written to too (on a
//! virtio disk with a write-back cache, a host-side fsync of everything the guest wrote). A
//! flush pushes out whatever snapshot data the device cache holds at that moment, ahead of the
//! log's own few hundred bytes. Written as fast as it is serialized (~400 MB/s), a 200 MB
//! snapshot keeps the device busy for half a second and every log sync meanwhile waits for it.
//! So [`SnapshotFile`], for a snapshot written while the server serves:
//!
//! - writes with `O_DIRECT | O_DSYNC`, one chunk at a time from an aligned buffer: each chunk
//!   is durable when its write returns, so a log flush finds at most one chunk of snapshot
//!   data ahead of its own, and no dirty page-cache burst forms that a flusher thread or the
//!   final fsync would push out at once; the file is cut to its exact length at the end (the
//!   last chunk is padded to the block size);
//! - sizes the chunks by how long the disk takes to make one durable ([`ChunkSizer`]): from
//!   [`CHUNK_BYTES`] up to [`MAX_CHUNK_BYTES`] while a chunk takes well under
//!   [`CHUNK_WRITE_BUDGET`], so a fast disk gets few large requests (each costs the same CPU
//!   whatever its size) and a slow one small chunks that a log flush barely waits behind;
//! - holds the writes, and with them the CPU the writer takes, to at most
//!   [`RATE_BYTES_PER_SEC`] (a token bucket with a few chunks of burst).
//!
//! A snapshot written while nobody is served (a learner installing its leader's SNAP) is
//! written with `O_DIRECT` alone, in [`UNSHARED_CHUNK_BYTES`] chunks, as fast as the disk takes
//! it.
//!
//! Where `O_DIRECT` is refused (tmpfs before Linux 6.6, some FUSE file systems, a device with
//! blocks larger than [`ALIGN`]), it falls back to buffered writes whose writeback is started
//! every [`PACE_BYTES`] and waited for one range later (and dropped from the page cache), at the
//! same rate. [`lower_this_thread`] puts the writing thread at nice 10 and the lowest
//! best-effort I/O priority.
//!
//! All of this is advisory: the final fsync still decides durability and reports errors.

use std::fs::File;
use std::io::Write;
use std::time::{Duration, Instant};

/// Bytes per durable direct write while the server serves: the most snapshot data a log flush
/// finds ahead of its own. Measured on a standalone server holding 1 M znodes under open-loop
/// setData at 2,000/s with a snapshot every 10,000 txns (`compare.py`'s snapshot row): the p99
/// of the requests in flight while a snapshot was written against the others', pooled over two
/// runs each: 128 KiB chunks without `O_DSYNC` (what was here before) 5.7–6.8 ms vs 2.4–2.6 ms
/// (2.3–2.6x); with it, 128 KiB 2.9 ms (1.2–1.5x), 64 KiB 2.3 ms (0.96x), 32 KiB 2.0–2.1 ms
/// (0.9–1.0x), 16 KiB 2.4 ms (1.2x). A 191 MiB snapshot took ~1.3 s before, ~1.8 s at 64 KiB
/// and ~2.5 s at 32 KiB (the flush per chunk holds the rate below the cap).
///
/// The smallest chunk, and the first of every snapshot: [`ChunkSizer`] grows it on a disk that
/// makes it durable fast.
pub const CHUNK_BYTES: usize = 64 << 10;

/// The largest chunk a snapshot written while serving grows to. A log sync that lands behind
/// a chunk waits for all of it, so what bounds the wait is the chunk's time against the log's
/// own sync, not the budget alone: on the AMD v657 machine (log fdatasync p50 0.11–0.16 ms)
/// chunks grew to about 512 KiB at 0.34–0.44 ms a write, and the log's fdatasync p99 read
/// 0.40–0.52 ms while a snapshot was written against 0.22–0.33 ms otherwise (nine runs of the
/// snapshot row's load); capped at 128 KiB (0.20–0.24 ms a write) 0.24–0.31 against 0.24–0.32
/// ms (ten runs), at 256 KiB 0.27–0.44 against 0.22–0.38 (three). The ensemble's create and
/// multi rows, whose members snapshot a growing tree back to back, did not tell the cap apart
/// in six alternations each (docs/PERFORMANCE.md, "The cap round").
pub const MAX_CHUNK_BYTES: usize = 128 << 10;

/// The longest a chunk's durable write should take: about the most a log flush that arrives
/// meanwhile waits behind it. Each durable write costs the writer thread ~50–65 µs of CPU on
/// the Intel v769 machine whatever its size (`O_DIRECT | O_DSYNC`, 96 MiB written: 64 KiB
/// chunks 0.9–1.0 ms of CPU per MiB, 256 KiB 0.2, 1 MiB 0.07), and in the ensemble's create
/// and multi rows, whose members snapshot a growing tree every 1–2 s, 64 KiB chunks made the
/// writer ~12% of the machine. There a 64 KiB chunk took 0.16–0.24 ms on an idle machine and a
/// 1 MiB one 0.6 ms; on the v782 machine of the measurements above a 191 MiB snapshot in 64 KiB
/// chunks took ~1.8 s below a 150 MB/s cap, ~0.6 ms a chunk, so there chunks stay at 64 KiB.
pub const CHUNK_WRITE_BUDGET: Duration = Duration::from_micros(500);

/// Bytes per direct write when no log shares the disk's time with the snapshot (rate 0).
pub const UNSHARED_CHUNK_BYTES: usize = 128 << 10;

/// The most a snapshot is written at: a 200 MB snapshot (1 M znodes of 100 B) takes at least
/// 2.7 s (0.3–0.6 s unthrottled). On a fast disk the clients feel the writer thread's CPU
/// (serializing, and the kernel's and hypervisor's work per write), not the disk: on a
/// two-vCPU machine it takes one of the two cores the request path wants. Halving the rate
/// from 150 MB/s took the p99 of the requests in flight during a snapshot from 1.15–2.01x the
/// others' to 0.89–1.09x (docs/PERFORMANCE.md, "A snapshot and the writer thread").
pub const RATE_BYTES_PER_SEC: u64 = 75_000_000;

/// Buffer and offset alignment for `O_DIRECT` (the largest logical block size in common use).
pub const ALIGN: usize = 4096;

/// Bytes between two writeback kicks in the buffered fallback.
pub const PACE_BYTES: u64 = 512 << 10;

/// Chunks written ahead of the rate when the writer fell behind (CPU starved).
const BURST_CHUNKS: u32 = 4;

/// Room kept past a chunk in the staging buffer, so that the record that crosses a chunk's end
/// is serialized in place without the vector growing (a larger one makes it grow once).
const STAGING_SLACK: usize = 64 << 10;

/// The bytes staged for the next writes: a plain vector that records are serialized onto,
/// whose bytes from `pad` on start at an [`ALIGN`] boundary, as a direct write wants them. No
/// record is serialized into a scratch buffer and copied here.
struct Staging {
    bytes: Vec<u8>,
    /// Bytes in front of the staged ones: they only align them.
    pad: usize,
}

impl Staging {
    fn new(chunk_bytes: usize) -> Staging {
        let mut staging = Staging { bytes: Vec::new(), pad: 0 };
        staging.make_room(chunk_bytes);
        staging
    }

    /// Makes room for a chunk of `chunk_bytes` and the slack past it without the vector growing.
    fn make_room(&mut self, chunk_bytes: usize) {
        let wanted = ALIGN + chunk_bytes + STAGING_SLACK;
        if self.bytes.capacity() < wanted {
            self.bytes.reserve_exact(wanted - self.bytes.len());
            self.realign();
        }
    }

    /// Moves the staged bytes to the aligned place after the vector grew (and moved).
    fn realign(&mut self) {
        // Growing to make the pad longer may move the vector once more: then again.
        loop {
            let pad = self.bytes.as_ptr().align_offset(ALIGN);
            if pad == self.pad {
                return;
            }
            let staged = self.bytes.len() - self.pad;
            if pad > self.pad {
                self.bytes.resize(pad + staged, 0);
                if self.bytes.as_ptr().align_offset(ALIGN) != pad {
                    self.bytes.truncate(self.pad + staged);
                    continue;
                }
                self.bytes.copy_within(self.pad..self.pad + staged, pad);
            } else {
                self.bytes.copy_within(self.pad.., pad);
                self.bytes.truncate(pad + staged);
            }
            self.pad = pad;
        }
    }

    /// The staged bytes, the first at an `ALIGN` boundary.
    fn staged(&self) -> &[u8] {
        &self.bytes[self.pad..]
    }

    fn len(&self) -> usize {
        self.bytes.len() - self.pad
    }

    /// Drops the first `count` staged bytes (written), keeping the rest aligned.
    fn consume(&mut self, count: usize) {
        self.bytes.copy_within(self.pad + count.., self.pad);
        self.bytes.truncate(self.bytes.len() - count);
    }
}

enum Mode {
    /// `O_DIRECT`: whole chunks from the aligned staging buffer.
    Direct,
    /// Buffered writes, writeback kicked every [`PACE_BYTES`] (`kicked`) and waited for one
    /// range later (`waited`).
    Paced { kicked: u64, waited: u64 },
    /// Buffered writes, nothing more.
    Plain,
}

/// The size of a shared snapshot's next chunk, from how long the disk takes to make one
/// durable: the fastest of every [`ChunkSizer::WINDOW`] chunks of a size decides, since a
/// write's time also counts the wait for a CPU to see it return (on a busy two-vCPU machine
/// most 64 KiB writes took ~0.55 ms that the disk alone made durable in ~0.2 ms). Doubled while
/// the fastest takes under half of [`CHUNK_WRITE_BUDGET`], halved when even the fastest takes
/// over it, between [`CHUNK_BYTES`] and [`MAX_CHUNK_BYTES`].
#[derive(Debug)]
struct ChunkSizer {
    bytes: usize,
    /// The fastest write of the current window and how many it has seen.
    fastest: Duration,
    seen: u32,
}

impl ChunkSizer {
    const WINDOW: u32 = 8;

    fn new() -> ChunkSizer {
        ChunkSizer { bytes: CHUNK_BYTES, fastest: Duration::MAX, seen: 0 }
    }

    fn after_write(&mut self, bytes: usize, took: Duration) -> usize {
        // A short tail chunk says little about the disk.
        if bytes != self.bytes {
            return self.bytes;
        }
        self.fastest = self.fastest.min(took);
        self.seen += 1;
        if self.seen == Self::WINDOW {
            if self.fastest > CHUNK_WRITE_BUDGET {
                self.bytes = (self.bytes / 2).max(CHUNK_BYTES);
            } else if self.fastest < CHUNK_WRITE_BUDGET / 2 {
                self.bytes = (self.bytes * 2).min(MAX_CHUNK_BYTES);
            }
            (self.fastest, self.seen) = (Duration::MAX, 0);
        }
        self.bytes
    }
}

/// A token bucket over bytes: [`Rate::take`] sleeps as long as the bytes need at the rate.
#[derive(Debug)]
struct Rate {
    bytes_per_sec: u64,
    /// When the bytes taken so far are paid for.
    due: Instant,
}

impl Rate {
    fn new(bytes_per_sec: u64) -> Rate {
        Rate { bytes_per_sec: bytes_per_sec.max(1), due: Instant::now() }
    }

    fn take(&mut self, bytes: u64) {
        let cost = Duration::from_secs_f64(bytes as f64 / self.bytes_per_sec as f64);
        let now = Instant::now();
        // Credit left unused (the writer was slower than the rate) is kept for a few chunks
        // only: a writer that was starved must not catch up in one burst.
        let floor = now.checked_sub(cost * BURST_CHUNKS).unwrap_or(now);
        self.due = self.due.max(floor) + cost;
        if self.due > now {
            std::thread::sleep(self.due - now);
        }
    }
}

/// A snapshot file written front to back, at a bounded rate and without page-cache bursts.
/// Records are serialized straight into its staging buffer in every mode
/// ([`SnapshotFile::append`]), so no `BufWriter` is needed, nor a copy of each record.
/// Call [`SnapshotFile::finish`] (not just drop it) to write the tail and get the file back.
pub struct SnapshotFile {
    file: File,
    mode: Mode,
    staging: Staging,
    /// Bytes accepted so far: the file's final length.
    written: u64,
    /// Bytes handed to the kernel (in direct mode, whole chunks but for a padded tail).
    flushed: u64,
    rate: Option<Rate>,
    /// Bytes a chunk holds now (a [`ChunkSizer`] may change it between chunks).
    chunk_bytes: usize,
    /// Set for durable direct writes (a snapshot written while serving).
    sizer: Option<ChunkSizer>,
}

impl std::fmt::Debug for SnapshotFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.mode {
            Mode::Direct => "direct",
            Mode::Paced { .. } => "paced",
            Mode::Plain => "plain",
        };
        f.debug_struct("SnapshotFile").field("mode", &mode).field("written", &self.written).finish()
    }
}

impl SnapshotFile {
    /// Creates (truncates) `path` for a snapshot that will be fsynced while the server serves:
    /// durable direct writes where the file system takes them, paced buffered writes otherwise;
    /// both at most at [`RATE_BYTES_PER_SEC`].
    pub fn create(path: &std::path::Path) -> std::io::Result<SnapshotFile> {
        SnapshotFile::create_with_rate(path, RATE_BYTES_PER_SEC)
    }

    /// [`SnapshotFile::create`] at another rate; 0: unbounded, for a disk no serving log
    /// shares (plain direct writes of [`UNSHARED_CHUNK_BYTES`], no flush per chunk).
    pub fn create_with_rate(path: &std::path::Path, bytes_per_sec: u64) -> std::io::Result<SnapshotFile> {
        let shared = bytes_per_sec > 0;
        let rate = shared.then(|| Rate::new(bytes_per_sec));
        let chunk_bytes = if shared { CHUNK_BYTES } else { UNSHARED_CHUNK_BYTES };
        match open_direct(path, shared) {
            Ok(file) => {
                let mut file = SnapshotFile::with_mode(file, Mode::Direct, rate, chunk_bytes);
                file.sizer = shared.then(ChunkSizer::new);
                Ok(file)
            }
            Err(error) if error.raw_os_error() == Some(libc::EINVAL) => {
                tracing::debug!("{}: O_DIRECT refused, writing through the page cache", path.display());
                let file = File::create(path)?;
                Ok(SnapshotFile::with_mode(file, Mode::Paced { kicked: 0, waited: 0 }, rate, chunk_bytes))
            }
            Err(error) => Err(error),
        }
    }

    /// A plain buffered file (for writes that will not be fsynced: no point in pacing them).
    pub fn plain(file: File) -> SnapshotFile {
        SnapshotFile::with_mode(file, Mode::Plain, None, UNSHARED_CHUNK_BYTES)
    }

    fn with_mode(file: File, mode: Mode, rate: Option<Rate>, chunk_bytes: usize) -> SnapshotFile {
        SnapshotFile {
            file,
            mode,
            staging: Staging::new(chunk_bytes),
            written: 0,
            flushed: 0,
            rate,
            chunk_bytes,
            sizer: None,
        }
    }

    /// Appends what `write` appends to the vector it is handed (which holds the bytes staged so
    /// far: `write` must only append), then writes out every whole chunk staged.
    pub fn append(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> std::io::Result<()> {
        let before = self.staging.bytes.len();
        write(&mut self.staging.bytes);
        debug_assert!(self.staging.bytes.len() >= before, "a snapshot record took staged bytes away");
        self.written += (self.staging.bytes.len() - before) as u64;
        self.staging.realign();
        let mut from = 0;
        while self.staging.len() - from >= self.chunk_bytes {
            let chunk = self.chunk_bytes;
            self.write_staged(from, chunk)?;
            from += chunk;
        }
        if from > 0 {
            self.staging.consume(from);
            self.staging.make_room(self.chunk_bytes);
        }
        Ok(())
    }

    /// Bytes appended so far: the file's length once finished.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Writes what is still staged and returns the file, exactly as long as what was appended.
    pub fn finish(mut self) -> std::io::Result<File> {
        let mut tail = self.staging.len();
        if tail > 0 {
            if matches!(self.mode, Mode::Direct) {
                // The tail goes out padded to the block size, then the file is cut back.
                tail = tail.next_multiple_of(ALIGN);
                self.staging.bytes.resize(self.staging.pad + tail, 0);
                self.staging.realign();
            }
            self.write_staged(0, tail)?;
        }
        if self.flushed != self.written {
            self.file.set_len(self.written)?;
        }
        Ok(self.file)
    }

    /// Hands `len` staged bytes from `from` on to the kernel, then keeps the rate and the
    /// pacing. A direct write the file system refuses (block size above ALIGN) turns the rest
    /// of the file into buffered writes.
    fn write_staged(&mut self, from: usize, len: usize) -> std::io::Result<()> {
        let staged = &self.staging.staged()[from..from + len];
        let started = Instant::now();
        match write_all_at(&self.file, staged, self.flushed) {
            Ok(()) => {
                if let (Some(sizer), Mode::Direct) = (&mut self.sizer, &self.mode) {
                    self.chunk_bytes = sizer.after_write(len, started.elapsed());
                }
            }
            Err(error)
                if error.raw_os_error() == Some(libc::EINVAL)
                    && self.flushed == 0
                    && matches!(self.mode, Mode::Direct) =>
            {
                tracing::debug!("O_DIRECT write refused, writing through the page cache");
                clear_direct(&self.file)?;
                write_all_at(&self.file, staged, 0)?;
                self.mode = Mode::Paced { kicked: 0, waited: 0 };
            }
            Err(error) => return Err(error),
        }
        self.flushed += len as u64;
        if let Some(rate) = &mut self.rate {
            rate.take(len as u64);
        }
        self.pace();
        Ok(())
    }

    fn pace(&mut self) {
        let Mode::Paced { kicked, waited } = &mut self.mode else { return };
        if self.flushed - *kicked < PACE_BYTES {
            return;
        }
        // Wait for the previous range first, then kick the one just written: one range on
        // the way to the disk while the next is being serialized.
        if *kicked > *waited {
            wait_and_drop(&self.file, *waited, *kicked - *waited);
            *waited = *kicked;
        }
        start_writeback(&self.file, *kicked, self.flushed - *kicked);
        *kicked = self.flushed;
    }
}

impl Write for SnapshotFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.append(|bytes| bytes.extend_from_slice(buf))?;
        Ok(buf.len())
    }

    /// Nothing to do: a staged partial chunk can only be written by [`SnapshotFile::finish`].
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    while !buf.is_empty() {
        match file.write_at(buf, offset) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Opens `path` for direct writes; `durable_each`: each write also durable when it returns
/// (`O_DSYNC`, which stays on in the buffered fallback: `fcntl` cannot clear it).
#[cfg(target_os = "linux")]
fn open_direct(path: &std::path::Path, durable_each: bool) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let flags = libc::O_DIRECT | if durable_each { libc::O_DSYNC } else { 0 };
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).custom_flags(flags).open(path)
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_path: &std::path::Path, _durable_each: bool) -> std::io::Result<File> {
    Err(std::io::Error::from_raw_os_error(libc::EINVAL))
}

#[cfg(target_os = "linux")]
fn clear_direct(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a valid fd, no memory passed.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_DIRECT) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn clear_direct(_file: &File) -> std::io::Result<()> {
    Ok(())
}

#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid fd for the call's duration; the call reads no memory of ours. Errors are
    // ignored on purpose: this is pacing only, the final fsync reports real failures.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset as i64, len as i64, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(target_os = "linux")]
fn wait_and_drop(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let flags =
        libc::SYNC_FILE_RANGE_WAIT_BEFORE | libc::SYNC_FILE_RANGE_WRITE | libc::SYNC_FILE_RANGE_WAIT_AFTER;
    // SAFETY: as above.
    if unsafe { libc::sync_file_range(file.as_raw_fd(), offset as i64, len as i64, flags) } == 0 {
        drop_cached(file, offset, len);
    }
}

/// Drops the cached pages wholly inside the range (`len` 0: to the end of the file) from the
/// page cache (clean ones only: call it on a range already written back). Advice only: errors
/// are ignored.
#[cfg(target_os = "linux")]
pub(crate) fn drop_cached(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: fadvise on a valid fd for the call's duration; no memory of ours is passed.
    unsafe {
        libc::posix_fadvise(file.as_raw_fd(), offset as i64, len as i64, libc::POSIX_FADV_DONTNEED);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

#[cfg(not(target_os = "linux"))]
fn wait_and_drop(_file: &File, _offset: u64, _len: u64) {}

#[cfg(not(target_os = "linux"))]
pub(crate) fn drop_cached(_file: &File, _offset: u64, _len: u64) {}

/// Puts the calling thread (only it) at nice 10 and best-effort I/O priority 7 (the lowest).
/// There is no way back for an unprivileged thread (nice), so call it on a thread of its own.
pub fn lower_this_thread() {
    #[cfg(target_os = "linux")]
    {
        const IOPRIO_WHO_PROCESS: libc::c_long = 1;
        const IOPRIO_CLASS_BE: libc::c_long = 2;
        const LOWEST_LEVEL: libc::c_long = 7;
        const IOPRIO_CLASS_SHIFT: u32 = 13;
        // SAFETY: plain syscalls on this thread's id, no memory passed.
        unsafe {
            let tid = libc::gettid();
            let io = libc::syscall(
                libc::SYS_ioprio_set,
                IOPRIO_WHO_PROCESS,
                libc::c_long::from(tid),
                IOPRIO_CLASS_BE << IOPRIO_CLASS_SHIFT | LOWEST_LEVEL,
            );
            // On Linux, PRIO_PROCESS with a thread id changes that thread only.
            let cpu = libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
            if io != 0 || cpu != 0 {
                tracing::debug!(
                    "Could not lower the snapshot thread's priority: {}",
                    std::io::Error::last_os_error()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `pieces` as the snapshot writer does, finishes, reads back.
    fn round_trip(create: impl FnOnce(&std::path::Path) -> SnapshotFile, pieces: &[Vec<u8>]) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        let mut out = create(&path);
        for piece in pieces {
            out.write_all(piece).expect("write");
        }
        let file = out.finish().expect("finish");
        file.sync_all().expect("fsync");
        std::fs::read(&path).expect("read")
    }

    fn pieces() -> Vec<Vec<u8>> {
        // Sizes that straddle chunk, block and buffer boundaries, node-sized pieces, and a
        // short odd tail.
        let pattern: Vec<u8> = (0..=255u8).cycle().take((3 << 20) + 4097).collect();
        let mut pieces = vec![pattern.clone(); 5];
        pieces.extend((0..5_000).map(|i| pattern[i % 97..i % 97 + 150 + i % 61].to_vec()));
        pieces.push(pattern[..CHUNK_BYTES].to_vec());
        pieces.push(b"tail".to_vec());
        pieces
    }

    #[test]
    fn a_snapshot_file_holds_exactly_what_was_written() {
        let pieces = pieces();
        let expected = pieces.concat();
        let direct = round_trip(|p| SnapshotFile::create_with_rate(p, 0).expect("create"), &pieces);
        assert_eq!(direct.len(), expected.len());
        assert!(direct == expected);
        let plain = round_trip(|p| SnapshotFile::plain(File::create(p).expect("create")), &pieces);
        assert!(plain == expected);
    }

    /// Records larger than the staging buffer's slack make it grow and move: the staged bytes
    /// must stay aligned for direct writes (a misaligned one would be refused, and the file
    /// would quietly go through the page cache instead).
    #[test]
    fn appended_records_stay_aligned_for_direct_writes_as_the_buffer_grows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        let mut out = SnapshotFile::create_with_rate(&path, 0).expect("create");
        let direct = matches!(out.mode, Mode::Direct);
        let pieces = pieces();
        for (i, piece) in pieces.iter().enumerate() {
            out.append(|bytes| bytes.extend_from_slice(piece)).expect("append");
            assert_eq!(out.staging.staged().as_ptr().align_offset(ALIGN), 0, "piece {i}");
            assert!(out.staging.len() < out.chunk_bytes, "piece {i}: a whole chunk was left staged");
        }
        // A file system without O_DIRECT (tmpfs before Linux 6.6) starts and stays buffered.
        assert_eq!(matches!(out.mode, Mode::Direct), direct);
        out.finish().expect("finish").sync_all().expect("fsync");
        assert!(std::fs::read(&path).expect("read") == pieces.concat());
    }

    #[test]
    fn a_snapshot_written_while_serving_holds_exactly_what_was_written() {
        let pieces = pieces();
        let back = round_trip(|p| SnapshotFile::create_with_rate(p, 1 << 30).expect("create"), &pieces);
        assert!(back == pieces.concat());
    }

    /// The file's status flags, when it is written directly (None in the buffered fallback).
    #[cfg(target_os = "linux")]
    fn direct_flags(file: &SnapshotFile) -> Option<i32> {
        use std::os::fd::AsRawFd;
        // SAFETY: fcntl on a valid fd, no memory passed.
        let flags = unsafe { libc::fcntl(file.file.as_raw_fd(), libc::F_GETFL) };
        assert!(flags >= 0, "F_GETFL: {}", std::io::Error::last_os_error());
        matches!(file.mode, Mode::Direct).then_some(flags)
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn only_a_snapshot_written_while_serving_makes_each_chunk_durable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let serving = SnapshotFile::create(&dir.path().join("serving")).expect("create");
        let unshared = SnapshotFile::create_with_rate(&dir.path().join("unshared"), 0).expect("create");
        assert_eq!((serving.chunk_bytes, unshared.chunk_bytes), (CHUNK_BYTES, UNSHARED_CHUNK_BYTES));
        // A file system without O_DIRECT (tmpfs before Linux 6.6) leaves nothing to check.
        if let (Some(serving), Some(unshared)) = (direct_flags(&serving), direct_flags(&unshared)) {
            assert_eq!(serving & libc::O_DSYNC, libc::O_DSYNC, "flags {serving:#o}");
            assert_eq!(unshared & libc::O_DSYNC, 0, "flags {unshared:#o}");
            assert_eq!(serving & libc::O_DIRECT, libc::O_DIRECT);
        }
    }

    #[test]
    fn files_shorter_than_a_block_or_empty_are_exact() {
        for len in [
            0usize,
            1,
            ALIGN - 1,
            ALIGN,
            ALIGN + 1,
            CHUNK_BYTES + 1,
            UNSHARED_CHUNK_BYTES,
            UNSHARED_CHUNK_BYTES + 1,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let back = round_trip(
                |p| SnapshotFile::create_with_rate(p, 0).expect("create"),
                std::slice::from_ref(&data),
            );
            assert_eq!(back, data, "{len} bytes");
        }
    }

    #[test]
    fn the_paced_fallback_holds_exactly_what_was_written() {
        let pieces = pieces();
        let back = round_trip(
            |p| {
                SnapshotFile::with_mode(
                    File::create(p).expect("create"),
                    Mode::Paced { kicked: 0, waited: 0 },
                    None,
                    CHUNK_BYTES,
                )
            },
            &pieces,
        );
        assert!(back == pieces.concat());
    }

    #[test]
    fn the_rate_is_kept() {
        // 4 MiB at 64 MiB/s: at least ~1/16 s minus the burst allowance.
        let started = Instant::now();
        let data = vec![7u8; 4 << 20];
        let back = round_trip(
            |p| SnapshotFile::create_with_rate(p, 64 << 20).expect("create"),
            std::slice::from_ref(&data),
        );
        let floor = Duration::from_secs_f64((4 << 20) as f64 / (64 << 20) as f64)
            - Duration::from_secs_f64(f64::from(BURST_CHUNKS) * CHUNK_BYTES as f64 / (64 << 20) as f64);
        assert!(started.elapsed() >= floor, "{:?} < {:?}", started.elapsed(), floor);
        assert!(back == data);
    }

    #[test]
    fn chunks_grow_on_a_fast_disk_and_shrink_on_a_slow_one() {
        // A window of writes: one fast among slow ones (the others waited for a CPU).
        let window = |sizer: &mut ChunkSizer, fastest: Duration| {
            let bytes = sizer.bytes;
            for i in 1..ChunkSizer::WINDOW {
                assert_eq!(sizer.after_write(bytes, CHUNK_WRITE_BUDGET * 3 + fastest * i), bytes);
            }
            sizer.after_write(bytes, fastest)
        };
        let mut sizer = ChunkSizer::new();
        let fast = CHUNK_WRITE_BUDGET / 4;
        let slow = CHUNK_WRITE_BUDGET * 2;
        let sizes: Vec<usize> = (0..3).map(|_| window(&mut sizer, fast)).collect();
        assert_eq!(sizes, [CHUNK_BYTES * 2, MAX_CHUNK_BYTES, MAX_CHUNK_BYTES]);
        // Between half the budget and the budget it stays; a short tail chunk counts for nothing.
        sizer.bytes = CHUNK_BYTES;
        assert_eq!(window(&mut sizer, CHUNK_WRITE_BUDGET * 3 / 4), CHUNK_BYTES);
        assert_eq!(sizer.after_write(4096, Duration::ZERO), CHUNK_BYTES);
        sizer.bytes = MAX_CHUNK_BYTES;
        let sizes: Vec<usize> = (0..3).map(|_| window(&mut sizer, slow)).collect();
        assert_eq!(sizes, [MAX_CHUNK_BYTES / 2, CHUNK_BYTES, CHUNK_BYTES]);
    }

    #[test]
    fn chunks_of_changing_sizes_hold_exactly_what_was_written() {
        let pieces = pieces();
        let sizes = [CHUNK_BYTES, 1 << 20, 2 * CHUNK_BYTES, 512 << 10, CHUNK_BYTES];
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        let mut out = SnapshotFile::create_with_rate(&path, 1 << 30).expect("create");
        // The sizer's choices depend on the disk's timing: these are pinned instead.
        out.sizer = None;
        for (i, piece) in pieces.iter().enumerate() {
            let size = sizes[(i / 700) % sizes.len()];
            if size > out.staging.len() {
                out.chunk_bytes = size;
                out.staging.make_room(size);
            }
            out.write_all(piece).expect("write");
        }
        out.finish().expect("finish").sync_all().expect("fsync");
        assert!(std::fs::read(&path).expect("read") == pieces.concat());
    }

    #[test]
    fn a_starved_writer_does_not_catch_up_in_one_burst() {
        let mut rate = Rate::new(1 << 20);
        rate.due = Instant::now() - Duration::from_secs(10);
        let started = Instant::now();
        rate.take(64 << 10); // 1/16 s at 1 MiB/s: credit covers at most BURST_CHUNKS of it
        rate.take(64 << 10);
        rate.take(64 << 10);
        rate.take(64 << 10);
        rate.take(64 << 10);
        assert!(started.elapsed() >= Duration::from_millis(50), "{:?}", started.elapsed());
    }

    #[test]
    fn lowering_a_thread_leaves_the_others_alone() {
        // Only checks it does not fail or panic; the effect needs /proc to observe.
        std::thread::spawn(lower_this_thread).join().expect("thread");
    }
}
