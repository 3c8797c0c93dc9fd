//! Counters behind srvr/stat/mntr/cons: per server and per connection.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// The most watches `wchc`/`wchp` (and the admin `watches`/`watches_by_path`) will list: above
/// it they answer at once instead of holding the core while a huge listing is built — the
/// lesson of CVE-2017-5637. `4lw.watchListLimit` in zoo.cfg.
pub const DEFAULT_WATCH_LIST_LIMIT: u64 = 100_000;

/// A response size not measured (Java's BufferStats prints -1).
const NO_RESPONSE_SIZE: i64 = -1;

/// Java's ZooTrace default mask (client ping, session, and request traces).
pub const DEFAULT_TRACE_MASK: i64 = 306;

/// Server-wide counters (Java's ServerStats). Updated by the core, read by 4lw and metrics.
#[derive(Debug)]
pub struct ServerStats {
    packets_received: AtomicU64,
    packets_sent: AtomicU64,
    latency_total_ms: AtomicU64,
    latency_count: AtomicU64,
    latency_min_ms: AtomicI64,
    latency_max_ms: AtomicI64,
    alive_connections: AtomicI64,
    auth_failed: AtomicU64,
    /// Java's BufferStats: -1 until a response is sent (and again after `srst`).
    last_response_size: AtomicI64,
    min_response_size: AtomicI64,
    max_response_size: AtomicI64,
    connection_requests: AtomicU64,
    trace_mask: AtomicI64,
    watch_list_limit: AtomicU64,
    /// Java's `readlatency` / `updatelatency` summaries (ms).
    read_latency: parking_lot::Mutex<Summary>,
    update_latency: parking_lot::Mutex<Summary>,
    /// Java's `fsynctime` summary (ms): each group commit's fdatasyncs of the txn log.
    fsync_time: parking_lot::Mutex<Summary>,
    /// Syncs over fsync.warningthresholdms (the admin server's `fsync_threshold_exceed_count`).
    fsync_threshold_exceeded: AtomicU64,
    /// Request latency per opcode, for /metrics.
    per_opcode: parking_lot::Mutex<BTreeMap<i32, LatencyHistogram>>,
    /// (zxid, tree digest) every [`DIGEST_LOG_INTERVAL`] zxids: the `hash` word.
    digest_log: parking_lot::Mutex<std::collections::VecDeque<(i64, i64)>>,
}

/// Java's DataTree keeps the tree digest of every 128th zxid (0x80, easy to align across
/// servers), at most 1024 of them.
pub const DIGEST_LOG_INTERVAL: i64 = 128;
pub const DIGEST_LOG_LIMIT: usize = 1024;

impl Default for ServerStats {
    fn default() -> Self {
        ServerStats {
            packets_received: AtomicU64::new(0),
            packets_sent: AtomicU64::new(0),
            latency_total_ms: AtomicU64::new(0),
            latency_count: AtomicU64::new(0),
            latency_min_ms: AtomicI64::new(i64::MAX),
            latency_max_ms: AtomicI64::new(0),
            alive_connections: AtomicI64::new(0),
            auth_failed: AtomicU64::new(0),
            last_response_size: AtomicI64::new(NO_RESPONSE_SIZE),
            min_response_size: AtomicI64::new(NO_RESPONSE_SIZE),
            max_response_size: AtomicI64::new(NO_RESPONSE_SIZE),
            connection_requests: AtomicU64::new(0),
            trace_mask: AtomicI64::new(DEFAULT_TRACE_MASK),
            watch_list_limit: AtomicU64::new(DEFAULT_WATCH_LIST_LIMIT),
            read_latency: parking_lot::Mutex::new(Summary::default()),
            update_latency: parking_lot::Mutex::new(Summary::default()),
            fsync_time: parking_lot::Mutex::new(Summary::default()),
            fsync_threshold_exceeded: AtomicU64::new(0),
            per_opcode: parking_lot::Mutex::new(BTreeMap::new()),
            digest_log: parking_lot::Mutex::new(std::collections::VecDeque::new()),
        }
    }
}

impl ServerStats {
    pub fn packet_received(&self) {
        self.packets_received.fetch_add(1, Ordering::Relaxed);
    }
    /// One frame sent; `size` is its length without the length prefix.
    pub fn packet_sent(&self, size: u64) {
        self.packets_sent.fetch_add(1, Ordering::Relaxed);
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        self.last_response_size.store(size, Ordering::Relaxed);
        let _ = self.min_response_size.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |min| {
            (min == NO_RESPONSE_SIZE || size < min).then_some(size)
        });
        self.max_response_size.fetch_max(size, Ordering::Relaxed);
    }
    /// The last, smallest and largest response sent; -1 when none was (since `srst`).
    pub fn last_response_size(&self) -> i64 {
        self.last_response_size.load(Ordering::Relaxed)
    }
    pub fn min_response_size(&self) -> i64 {
        self.min_response_size.load(Ordering::Relaxed)
    }
    pub fn max_response_size(&self) -> i64 {
        self.max_response_size.load(Ordering::Relaxed)
    }
    pub fn connection_opened(&self) {
        self.alive_connections.fetch_add(1, Ordering::Relaxed);
        self.connection_requests.fetch_add(1, Ordering::Relaxed);
    }
    /// Java's `connection_request_count`: connection handshakes seen.
    pub fn connection_request_count(&self) -> u64 {
        self.connection_requests.load(Ordering::Relaxed)
    }
    /// The ZooTrace mask `gtmk` prints and `stmk` sets (no tracing hangs off it here).
    pub fn trace_mask(&self) -> i64 {
        self.trace_mask.load(Ordering::Relaxed)
    }
    pub fn set_trace_mask(&self, mask: i64) {
        self.trace_mask.store(mask, Ordering::Relaxed);
    }
    pub fn watch_list_limit(&self) -> u64 {
        self.watch_list_limit.load(Ordering::Relaxed)
    }
    pub fn set_watch_list_limit(&self, limit: u64) {
        self.watch_list_limit.store(limit, Ordering::Relaxed);
    }
    /// One request answered `elapsed` after it arrived: server latency, Java's read/update
    /// latency summaries, and the per-opcode histogram.
    pub fn record_request(&self, opcode: i32, elapsed: Duration) {
        let latency_ms = elapsed.as_millis() as u64;
        self.record_latency(latency_ms);
        let summary = if is_update(opcode) { &self.update_latency } else { &self.read_latency };
        summary.lock().add(latency_ms);
        self.per_opcode.lock().entry(opcode).or_default().observe(elapsed);
    }
    /// A txn was applied; `digest` is the tree digest after it (DataTree.logZxidDigest).
    pub fn txn_applied(&self, zxid: i64, digest: i64) {
        if zxid % DIGEST_LOG_INTERVAL == 0 {
            let mut log = self.digest_log.lock();
            log.push_back((zxid, digest));
            if log.len() > DIGEST_LOG_LIMIT {
                log.pop_front();
            }
        }
    }
    /// The logged (zxid, digest) pairs, oldest first.
    pub fn digest_log(&self) -> Vec<(i64, i64)> {
        self.digest_log.lock().iter().copied().collect()
    }
    pub fn read_latency(&self) -> Summary {
        self.read_latency.lock().clone()
    }
    pub fn update_latency(&self) -> Summary {
        self.update_latency.lock().clone()
    }
    /// The txn log's fdatasyncs of one group commit took `elapsed`; `warning_ms` is
    /// fsync.warningthresholdms (Java counts the syncs that take longer).
    pub fn record_fsync(&self, elapsed: Duration, warning_ms: u64) {
        let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        self.fsync_time.lock().add(elapsed_ms);
        if elapsed_ms > warning_ms {
            self.fsync_threshold_exceeded.fetch_add(1, Ordering::Relaxed);
        }
    }
    pub fn fsync_time(&self) -> Summary {
        self.fsync_time.lock().clone()
    }
    pub fn fsync_threshold_exceed_count(&self) -> u64 {
        self.fsync_threshold_exceeded.load(Ordering::Relaxed)
    }
    /// Per-opcode latency histograms, by opcode.
    pub fn latency_by_opcode(&self) -> BTreeMap<i32, LatencyHistogram> {
        self.per_opcode.lock().clone()
    }
    pub fn connection_closed(&self) {
        self.alive_connections.fetch_sub(1, Ordering::Relaxed);
    }
    pub fn auth_failed(&self) {
        self.auth_failed.fetch_add(1, Ordering::Relaxed);
    }
    pub fn record_latency(&self, latency_ms: u64) {
        self.latency_total_ms.fetch_add(latency_ms, Ordering::Relaxed);
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_min_ms.fetch_min(latency_ms as i64, Ordering::Relaxed);
        self.latency_max_ms.fetch_max(latency_ms as i64, Ordering::Relaxed);
    }
    pub fn packets_received(&self) -> u64 {
        self.packets_received.load(Ordering::Relaxed)
    }
    pub fn packets_sent(&self) -> u64 {
        self.packets_sent.load(Ordering::Relaxed)
    }
    pub fn alive_connections(&self) -> i64 {
        self.alive_connections.load(Ordering::Relaxed)
    }
    pub fn auth_failed_count(&self) -> u64 {
        self.auth_failed.load(Ordering::Relaxed)
    }
    /// Java reports 0 as the minimum before any request.
    pub fn min_latency_ms(&self) -> i64 {
        match self.latency_min_ms.load(Ordering::Relaxed) {
            i64::MAX => 0,
            min => min,
        }
    }
    pub fn max_latency_ms(&self) -> i64 {
        self.latency_max_ms.load(Ordering::Relaxed)
    }
    pub fn avg_latency_ms(&self) -> f64 {
        let count = self.latency_count.load(Ordering::Relaxed);
        if count == 0 {
            0.0
        } else {
            self.latency_total_ms.load(Ordering::Relaxed) as f64 / count as f64
        }
    }
    /// `srst`: latency and packet counters back to zero, and Java's metric summaries (its
    /// ServerMetrics.resetAll); the fsync threshold count stays, as in Java.
    pub fn reset(&self) {
        *self.read_latency.lock() = Summary::default();
        *self.update_latency.lock() = Summary::default();
        *self.fsync_time.lock() = Summary::default();
        for size in [&self.last_response_size, &self.min_response_size, &self.max_response_size] {
            size.store(NO_RESPONSE_SIZE, Ordering::Relaxed);
        }
        self.packets_received.store(0, Ordering::Relaxed);
        self.packets_sent.store(0, Ordering::Relaxed);
        self.latency_total_ms.store(0, Ordering::Relaxed);
        self.latency_count.store(0, Ordering::Relaxed);
        self.latency_min_ms.store(i64::MAX, Ordering::Relaxed);
        self.latency_max_ms.store(0, Ordering::Relaxed);
    }
}

/// Requests that carry a txn: Java counts their latency as `updatelatency`, the rest as `readlatency`.
fn is_update(opcode: i32) -> bool {
    use jute::consts::op;
    matches!(
        opcode,
        op::CREATE
            | op::CREATE2
            | op::CREATE_TTL
            | op::CREATE_CONTAINER
            | op::DELETE
            | op::DELETE_CONTAINER
            | op::SET_DATA
            | op::SET_ACL
            | op::MULTI
            | op::RECONFIG
            | op::CHECK
            | op::CLOSE_SESSION
            | op::CREATE_SESSION
    )
}

/// A Java `Summary` at detail level ADVANCED: count, sum, min, max, and percentiles over the
/// most recent samples (a bounded window, so memory stays fixed however long the server runs).
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub count: u64,
    pub sum: u64,
    pub min: Option<u64>,
    pub max: u64,
    recent: Vec<u64>,
    next: usize,
}

/// How many recent samples percentiles are computed over.
const SUMMARY_WINDOW: usize = 4096;

impl Summary {
    pub fn add(&mut self, value: u64) {
        self.count += 1;
        self.sum += value;
        self.min = Some(self.min.map_or(value, |m| m.min(value)));
        self.max = self.max.max(value);
        if self.recent.len() < SUMMARY_WINDOW {
            self.recent.push(value);
        } else {
            self.recent[self.next] = value;
            self.next = (self.next + 1) % SUMMARY_WINDOW;
        }
    }
    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }
    /// The value at quantile `q` (0..=1) of the recent window; 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.recent.is_empty() {
            return 0;
        }
        let mut sorted = self.recent.clone();
        sorted.sort_unstable();
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }
}

/// Upper bounds of the per-opcode latency histogram, in seconds (Prometheus convention).
pub const LATENCY_BUCKETS_S: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Cumulative-on-read latency histogram over [`LATENCY_BUCKETS_S`].
#[derive(Debug, Clone, Default)]
pub struct LatencyHistogram {
    /// Per bucket (not cumulative); one extra slot for +Inf.
    counts: Vec<u64>,
    pub count: u64,
    pub sum_seconds: f64,
}

impl LatencyHistogram {
    pub fn observe(&mut self, elapsed: Duration) {
        if self.counts.is_empty() {
            self.counts = vec![0; LATENCY_BUCKETS_S.len() + 1];
        }
        let seconds = elapsed.as_secs_f64();
        let slot =
            LATENCY_BUCKETS_S.iter().position(|&bound| seconds <= bound).unwrap_or(LATENCY_BUCKETS_S.len());
        self.counts[slot] += 1;
        self.count += 1;
        self.sum_seconds += seconds;
    }
    /// (upper bound, cumulative count) for each finite bucket; +Inf is `count`.
    pub fn cumulative(&self) -> Vec<(f64, u64)> {
        let mut running = 0;
        LATENCY_BUCKETS_S
            .iter()
            .enumerate()
            .map(|(i, &bound)| {
                running += self.counts.get(i).copied().unwrap_or(0);
                (bound, running)
            })
            .collect()
    }
}

/// No opcode: what `cons` prints as `lop=NA` after `crst`.
pub const NO_OPERATION: i32 = i32::MIN;

/// Per-connection counters for `cons`.
#[derive(Debug, Clone, Default)]
pub struct ConnectionStats {
    pub received: u64,
    pub sent: u64,
    pub last_op: i32,
    pub last_cxid: i32,
    pub last_zxid: i64,
    pub last_latency_ms: u64,
    pub min_latency_ms: Option<u64>,
    pub max_latency_ms: u64,
    pub total_latency_ms: u64,
    pub count: u64,
}

impl ConnectionStats {
    pub fn record_latency(&mut self, latency_ms: u64) {
        self.last_latency_ms = latency_ms;
        self.min_latency_ms = Some(self.min_latency_ms.map_or(latency_ms, |m| m.min(latency_ms)));
        self.max_latency_ms = self.max_latency_ms.max(latency_ms);
        self.total_latency_ms += latency_ms;
        self.count += 1;
    }
    /// `crst` (ServerCnxn.resetStats): counters to zero, last op "NA", last cxid/zxid -1.
    pub fn reset(&mut self) {
        *self = ConnectionStats {
            last_op: NO_OPERATION,
            last_cxid: -1,
            last_zxid: -1,
            ..ConnectionStats::default()
        };
    }
}
