//! What the running server needs from its configuration, resolved once at start.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Four-letter words the server may answer (`4lw.commands.whitelist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whitelist {
    All,
    Only(BTreeSet<String>),
}

impl Whitelist {
    pub fn allows(&self, word: &str) -> bool {
        match self {
            Whitelist::All => true,
            Whitelist::Only(words) => words.contains(word),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// 1 in standalone, as Java.
    pub server_id: u64,
    pub client_address: SocketAddr,
    pub data_dir: PathBuf,
    pub data_log_dir: PathBuf,
    pub tick_time_ms: u64,
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    /// Per client IP; 0 = unlimited.
    pub max_client_cnxns: usize,
    /// jute.maxbuffer: the largest frame accepted.
    pub max_buffer: usize,
    pub whitelist: Whitelist,
    pub extended_types_enabled: bool,
    pub skip_acl: bool,
    pub super_digest: Option<String>,
    pub container_check_interval_ms: u64,
    pub container_max_per_minute: u64,
    pub reconfig_enabled: bool,
    /// The `conf` word's view of the configuration: (key, value) in Java's order.
    pub conf_lines: Vec<(String, String)>,
}

impl Settings {
    /// `ferrokeeper serve` with no file: clientPort 2181, dataDir ./data, tickTime 2000.
    pub fn standalone_defaults() -> Settings {
        let tick = 2000;
        Settings {
            server_id: 1,
            client_address: SocketAddr::from(([0, 0, 0, 0], 2181)),
            data_dir: PathBuf::from("data"),
            data_log_dir: PathBuf::from("data"),
            tick_time_ms: tick,
            min_session_timeout_ms: 2 * tick as i32,
            max_session_timeout_ms: 20 * tick as i32,
            max_client_cnxns: 60,
            max_buffer: jute::consts::DEFAULT_MAX_BUFFER,
            whitelist: Whitelist::Only(["srvr".to_string()].into_iter().collect()),
            extended_types_enabled: false,
            skip_acl: false,
            super_digest: None,
            container_check_interval_ms: 60_000,
            container_max_per_minute: 10_000,
            reconfig_enabled: false,
            conf_lines: Vec::new(),
        }
    }

    /// Clamps a requested session timeout into [min, max].
    pub fn negotiate_timeout(&self, requested_ms: i32) -> i32 {
        requested_ms
            .clamp(self.min_session_timeout_ms, self.max_session_timeout_ms.max(self.min_session_timeout_ms))
    }
}
