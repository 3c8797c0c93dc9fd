//! Counters behind srvr/stat/mntr/cons: per server and per connection.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

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
    last_response_size: AtomicU64,
    min_response_size: AtomicU64,
    max_response_size: AtomicU64,
}

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
            last_response_size: AtomicU64::new(0),
            min_response_size: AtomicU64::new(u64::MAX),
            max_response_size: AtomicU64::new(0),
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
        self.last_response_size.store(size, Ordering::Relaxed);
        self.min_response_size.fetch_min(size, Ordering::Relaxed);
        self.max_response_size.fetch_max(size, Ordering::Relaxed);
    }
    pub fn last_response_size(&self) -> u64 {
        self.last_response_size.load(Ordering::Relaxed)
    }
    pub fn min_response_size(&self) -> u64 {
        match self.min_response_size.load(Ordering::Relaxed) {
            u64::MAX => 0,
            min => min,
        }
    }
    pub fn max_response_size(&self) -> u64 {
        self.max_response_size.load(Ordering::Relaxed)
    }
    pub fn connection_opened(&self) {
        self.alive_connections.fetch_add(1, Ordering::Relaxed);
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
    /// `srst`: latency and packet counters back to zero.
    pub fn reset(&self) {
        self.packets_received.store(0, Ordering::Relaxed);
        self.packets_sent.store(0, Ordering::Relaxed);
        self.latency_total_ms.store(0, Ordering::Relaxed);
        self.latency_count.store(0, Ordering::Relaxed);
        self.latency_min_ms.store(i64::MAX, Ordering::Relaxed);
        self.latency_max_ms.store(0, Ordering::Relaxed);
    }
}

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
    pub fn reset(&mut self) {
        *self = ConnectionStats { last_op: self.last_op, ..ConnectionStats::default() };
    }
}
