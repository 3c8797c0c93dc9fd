//! What the running server needs from its configuration, resolved once at start.

use crate::config::{ConfigError, FourLetterWordWhitelist, ServerConfig};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Settings {
    /// 1 in standalone, as Java (session ids carry it in their top byte).
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
    pub whitelist: FourLetterWordWhitelist,
    pub extended_types_enabled: bool,
    pub skip_acl: bool,
    pub enforce_quota: bool,
    pub super_digest: Option<String>,
    pub container_check_interval_ms: u64,
    pub container_max_per_minute: u64,
    pub reconfig_enabled: bool,
    /// Txn log, snapshots, autopurge.
    pub storage: crate::storage::StorageSettings,
}

/// Loads `config` (a zoo.cfg), or the built-in standalone defaults when there is none, and logs
/// every key we do not know.
pub fn load(config: Option<&Path>) -> Result<Settings, ConfigError> {
    let config = match config {
        Some(path) => ServerConfig::load(path)?,
        None => ServerConfig::default_standalone(),
    };
    for (key, value, line) in &config.unknown {
        tracing::warn!("{}:{}: unknown key {}={} ignored", config.source, line, key, value);
    }
    for warning in &config.warnings {
        tracing::warn!("{}", warning);
    }
    Settings::from_config(&config)
}

impl Settings {
    pub fn from_config(config: &ServerConfig) -> Result<Settings, ConfigError> {
        let port = config.client_port.ok_or_else(|| ConfigError::Missing {
            file: config.source.clone(),
            key: "clientPort".into(),
            reason: String::new(),
        })?;
        let ip: IpAddr = match config.client_port_address.as_deref() {
            None => IpAddr::from([0, 0, 0, 0]),
            Some(host) => host.parse().unwrap_or_else(|_| {
                std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
                    .ok()
                    .and_then(|mut addrs| addrs.next())
                    .map(|a| a.ip())
                    .unwrap_or(IpAddr::from([0, 0, 0, 0]))
            }),
        };
        let raw_u64 = |key: &str, default: u64| -> u64 {
            config
                .raw_value(key)
                .or_else(|| config.raw_value(&format!("zookeeper.{key}")))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        };
        Ok(Settings {
            server_id: if config.is_standalone() { 1 } else { config.server_id.unwrap_or(1) },
            client_address: SocketAddr::new(ip, port),
            data_dir: config.data_dir.clone(),
            data_log_dir: config.data_log_dir.clone(),
            tick_time_ms: u64::from(config.tick_time_ms),
            min_session_timeout_ms: config.min_session_timeout_ms() as i32,
            max_session_timeout_ms: config.max_session_timeout_ms() as i32,
            max_client_cnxns: config.max_client_cnxns as usize,
            max_buffer: config.jute_maxbuffer as usize,
            whitelist: config.four_letter_words.clone(),
            extended_types_enabled: config.extended_types_enabled,
            skip_acl: config.skip_acl,
            enforce_quota: config.enforce_quota,
            super_digest: config.super_digest.clone(),
            container_check_interval_ms: raw_u64("znode.container.checkIntervalMs", 60_000),
            container_max_per_minute: raw_u64("znode.container.maxPerMinute", 10_000),
            reconfig_enabled: config.reconfig_enabled,
            storage: crate::storage::StorageSettings::from_config(config),
        })
    }

    /// Clamps a requested session timeout into [min, max].
    pub fn negotiate_timeout(&self, requested_ms: i32) -> i32 {
        requested_ms
            .clamp(self.min_session_timeout_ms, self.max_session_timeout_ms.max(self.min_session_timeout_ms))
    }
}
