//! zoo.cfg parsing, following Apache ZooKeeper 3.8 (`QuorumPeerConfig`) so an existing
//! configuration file works unchanged.
//!
//! How Java reads a zoo.cfg, and what we do about each part:
//! * The file is a `java.util.Properties` file (`key=value`, `key:value` or `key value`, `#`/`!`
//!   comments, backslash escapes and line continuations); [`parse_properties`] reproduces that.
//! * Keys `QuorumPeerConfig` knows (tickTime, dataDir, server.N, ...) become typed fields.
//! * Every other key becomes the JVM system property `zookeeper.<key>`; some of those are read by
//!   the server (`snapCount`, `4lw.commands.whitelist`, `admin.serverPort`, ...) and are typed
//!   fields here too. Because ferrokeeper has no JVM flags, we also accept the full property
//!   name (`zookeeper.snapCount`, `zookeeper.extendedTypesEnabled`, ...) as an extension, and the
//!   unprefixed JVM properties `jute.maxbuffer` and `readonlymode.enabled`, which Java would
//!   ignore in zoo.cfg. Whichever form comes last in the file wins.
//! * Anything else lands in [`ServerConfig::unknown`] for the caller to log; it is never fatal.
//!
//! Where Java silently falls back on a malformed system property, we report a [`ConfigError`]
//! instead: a typo should not quietly change behaviour.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

/// Java `ZooKeeperServer.DEFAULT_TICK_TIME`, used when zoo.cfg has no tickTime.
pub const DEFAULT_TICK_TIME_MS: u32 = 3000;
/// Java's `jute.maxbuffer` default (`0xfffff`): the largest frame or znode payload accepted.
pub const DEFAULT_JUTE_MAXBUFFER: u32 = 0xF_FFFF;
/// Java's default `metricsProvider.className`.
pub const DEFAULT_METRICS_PROVIDER: &str = "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider";
/// Smallest `autopurge.snapRetainCount` Java honours (`PurgeTxnLog` refuses fewer).
pub const MIN_SNAP_RETAIN_COUNT: u32 = 3;
/// Largest server id when extended types (TTL) are on: the id shares the ephemeralOwner's top byte
/// with the 0xFF extended-type marker (`EphemeralType.MAX_EXTENDED_SERVER_ID`).
pub const MAX_EXTENDED_SERVER_ID: u64 = 254;
/// Every four-letter word Java 3.8 knows (`FourLetterCommands.cmd2String`), including the
/// pseudo-command for the telnet interrupt sequence; `*` in the whitelist enables all of them.
pub const KNOWN_FOUR_LETTER_WORDS: [&str; 19] = [
    "conf",
    "cons",
    "crst",
    "dirs",
    "dump",
    "envi",
    "gtmk",
    "ruok",
    "stmk",
    "srst",
    "srvr",
    "stat",
    "wchc",
    "wchp",
    "wchs",
    "mntr",
    "isro",
    "hash",
    "telnet close",
];

/// Why a configuration could not be used. Every variant names the file; value errors also name
/// the key and its 1-based line so the operator can go straight to it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// Path of the file.
        file: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The properties syntax itself is broken (for example a bad `\uXXXX` escape).
    #[error("{file}, line {line}: {reason}")]
    Syntax {
        /// Path of the file.
        file: String,
        /// 1-based line where the logical line starts.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A value cannot be parsed or is out of range.
    #[error("{file}, line {line}: invalid value {value:?} for {key}: {reason}")]
    InvalidValue {
        /// Path of the file.
        file: String,
        /// 1-based line of the key.
        line: usize,
        /// The key as written.
        key: String,
        /// The (trimmed) value as written.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// A well-formed value that contradicts another setting or the quorum rules.
    #[error("{file}, line {line}: {key}: {reason}")]
    Inconsistent {
        /// Path of the file.
        file: String,
        /// 1-based line of the key at fault.
        line: usize,
        /// The key at fault.
        key: String,
        /// What rule is broken.
        reason: String,
    },
    /// A required key is absent.
    #[error("{file}: {key} is not set{reason}")]
    Missing {
        /// Path of the file.
        file: String,
        /// The missing key.
        key: String,
        /// Extra context, empty or starting with a separator.
        reason: String,
    },
    /// `dataDir/myid` is unreadable, malformed or does not fit the configuration.
    #[error("{file}: invalid myid: {reason}")]
    MyId {
        /// Path of the myid file.
        file: String,
        /// What is wrong.
        reason: String,
    },
}

// ---------------------------------------------------------------------------------------------
// java.util.Properties syntax
// ---------------------------------------------------------------------------------------------

/// One `key=value` pair as written, with Java's trimming applied to both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    /// The key, unescaped and trimmed.
    pub key: String,
    /// The value, unescaped and trimmed.
    pub value: String,
    /// 1-based line where the entry starts (continuations belong to their first line).
    pub line: usize,
}

/// Java's `String.trim()`: strips every char up to U+0020, not just Unicode whitespace.
fn java_trim(text: &str) -> &str {
    text.trim_matches(|c: char| c <= ' ')
}

/// Whitespace as `Properties.load` sees it.
fn is_properties_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

/// Reads the text of a properties file. Java reads ISO-8859-1; we take UTF-8 when the bytes are
/// valid UTF-8 (what people actually write today) and fall back to ISO-8859-1 otherwise.
fn decode_properties_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Splits into natural lines ending in `\n`, `\r` or `\r\n`, numbered from 1.
fn natural_lines(text: &str) -> Vec<(usize, &str)> {
    let mut lines = Vec::new();
    let bytes = text.as_bytes();
    let (mut start, mut at, mut number) = (0, 0, 1);
    while at < bytes.len() {
        match bytes[at] {
            b'\n' => {
                lines.push((number, &text[start..at]));
                at += 1;
            }
            b'\r' => {
                lines.push((number, &text[start..at]));
                at += if bytes.get(at + 1) == Some(&b'\n') { 2 } else { 1 };
            }
            _ => {
                at += 1;
                continue;
            }
        }
        start = at;
        number += 1;
    }
    if start < bytes.len() {
        lines.push((number, &text[start..]));
    }
    lines
}

/// Joins natural lines into logical lines the way `Properties.LineReader` does: leading
/// whitespace dropped, comment and blank lines skipped, an odd number of trailing backslashes
/// continues onto the next line (whose leading whitespace is dropped too).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (number, natural) in natural_lines(text) {
        let stripped = natural.trim_start_matches(is_properties_space);
        let mut logical = match pending.take() {
            Some((first, mut joined)) => {
                joined.push_str(stripped);
                (first, joined)
            }
            None => {
                if stripped.is_empty() || stripped.starts_with('#') || stripped.starts_with('!') {
                    continue;
                }
                (number, stripped.to_owned())
            }
        };
        let trailing_backslashes = logical.1.chars().rev().take_while(|&c| c == '\\').count();
        if trailing_backslashes % 2 == 1 {
            logical.1.pop();
            pending = Some(logical);
        } else {
            out.push(logical);
        }
    }
    // A continuation at end of file just ends the entry.
    out.extend(pending);
    out
}

/// `Properties.loadConvert`: resolves `\t \n \r \f`, `\uXXXX`, and `\x` → `x` for anything else.
fn unescape_properties(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let digits: String = chars.by_ref().take(4).collect();
                let code = (digits.len() == 4)
                    .then(|| u32::from_str_radix(&digits, 16).ok())
                    .flatten()
                    .ok_or_else(|| format!("malformed \\uxxxx encoding \"\\u{digits}\""))?;
                // A lone surrogate cannot be a Rust char; Java would keep it, nobody writes it.
                out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

/// Splits a logical line into raw key and value text (`Properties.load0`): the key ends at the
/// first unescaped `=`, `:` or whitespace; then whitespace and at most one `=`/`:` are skipped.
fn split_key_value(line: &str) -> (&str, &str) {
    let mut key_end = line.len();
    let mut value_start = line.len();
    let mut has_separator = false;
    let mut preceding_backslash = false;
    for (at, c) in line.char_indices() {
        if !preceding_backslash && (c == '=' || c == ':') {
            key_end = at;
            value_start = at + 1;
            has_separator = true;
            break;
        }
        if !preceding_backslash && is_properties_space(c) {
            key_end = at;
            value_start = at + 1;
            break;
        }
        preceding_backslash = c == '\\' && !preceding_backslash;
    }
    let mut rest = &line[value_start..];
    while let Some(c) = rest.chars().next() {
        if is_properties_space(c) {
            rest = &rest[c.len_utf8()..];
        } else if !has_separator && (c == '=' || c == ':') {
            has_separator = true;
            rest = &rest[1..];
        } else {
            break;
        }
    }
    (&line[..key_end], rest)
}

/// Parses Java properties text into entries in file order, duplicates included.
/// `file` is only used in error messages.
pub fn parse_properties(text: &str, file: &str) -> Result<Vec<RawEntry>, ConfigError> {
    logical_lines(text)
        .into_iter()
        .map(|(line, logical)| {
            let (raw_key, raw_value) = split_key_value(&logical);
            let syntax = |reason| ConfigError::Syntax { file: file.to_owned(), line, reason };
            let key = unescape_properties(raw_key).map_err(syntax)?;
            let value = unescape_properties(raw_value).map_err(syntax)?;
            Ok(RawEntry { key: java_trim(&key).to_owned(), value: java_trim(&value).to_owned(), line })
        })
        .collect()
}

/// Java loads properties into a hash table: a repeated key keeps its last value. Returns the
/// surviving entries in file order.
fn last_occurrences(entries: &[RawEntry]) -> Vec<&RawEntry> {
    entries
        .iter()
        .enumerate()
        .filter(|(at, entry)| !entries[at + 1..].iter().any(|later| later.key == entry.key))
        .map(|(_, entry)| entry)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Typed pieces
// ---------------------------------------------------------------------------------------------

/// Role of an ensemble member (`QuorumPeer.LearnerType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LearnerType {
    /// Votes in elections and on proposals.
    #[default]
    Participant,
    /// Follows the leader without voting.
    Observer,
}

impl LearnerType {
    /// Java's enum ordinal, which the `conf` four-letter word prints as `peerType`.
    pub fn ordinal(self) -> u8 {
        match self {
            LearnerType::Participant => 0,
            LearnerType::Observer => 1,
        }
    }

    /// The word used in zoo.cfg.
    pub fn as_str(self) -> &'static str {
        match self {
            LearnerType::Participant => "participant",
            LearnerType::Observer => "observer",
        }
    }

    /// Parses the zoo.cfg word, case-insensitively and trimmed as Java does.
    fn parse(word: &str) -> Option<Self> {
        match java_trim(word).to_ascii_lowercase().as_str() {
            "participant" => Some(LearnerType::Participant),
            "observer" => Some(LearnerType::Observer),
            _ => None,
        }
    }
}

impl fmt::Display for LearnerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `host:quorumPort:electionPort` of a server line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumAddress {
    /// Host name or IP literal as written (IPv6 without brackets); resolved by the caller.
    pub host: String,
    /// Port followers use to talk to the leader (conventionally 2888).
    pub quorum_port: u16,
    /// Port for leader election (conventionally 3888).
    pub election_port: u16,
}

/// The optional `;[host:]port` client part of a server line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress {
    /// Host as written; `0.0.0.0` when only a port was given, as in Java.
    pub host: String,
    /// Client port.
    pub port: u16,
}

/// One `server.N` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumServer {
    /// The N of `server.N`; must match that server's myid.
    pub id: u64,
    /// One address, or several separated by `|` when multiAddress is enabled.
    pub addresses: Vec<QuorumAddress>,
    /// Participant unless the line says `:observer`.
    pub learner_type: LearnerType,
    /// Client address from the line's `;` part, if any.
    pub client_address: Option<ClientAddress>,
    /// 1-based line of the entry in its file.
    pub line: usize,
}

impl QuorumServer {
    /// The host Java records as `QuorumServer.hostname` (that of the last address).
    pub fn hostname(&self) -> &str {
        self.addresses.last().map_or("", |address| address.host.as_str())
    }
}

/// Brackets an IPv6 literal, as Java's `delimitedHostString`.
fn delimited_host(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// Renders the value of the `server.N` line the way Java's `QuorumServer.toString` does (used by
/// the `conf` four-letter word and dynamic config files): addresses sorted by host, the role
/// always spelled out, the client part only when the line had one.
impl fmt::Display for QuorumServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut quorum: Vec<(&str, u16)> =
            self.addresses.iter().map(|a| (a.host.as_str(), a.quorum_port)).collect();
        let mut election: Vec<(&str, u16)> =
            self.addresses.iter().map(|a| (a.host.as_str(), a.election_port)).collect();
        quorum.sort_by(|a, b| a.0.cmp(b.0));
        election.sort_by(|a, b| a.0.cmp(b.0));
        for (at, ((host, quorum_port), (_, election_port))) in quorum.iter().zip(&election).enumerate() {
            if at > 0 {
                f.write_str("|")?;
            }
            write!(f, "{}:{}:{}", delimited_host(host), quorum_port, election_port)?;
        }
        write!(f, ":{}", self.learner_type)?;
        if let Some(client) = &self.client_address {
            write!(f, ";{}:{}", delimited_host(&client.host), client.port)?;
        }
        Ok(())
    }
}

/// Which four-letter words may run (`4lw.commands.whitelist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FourLetterWordWhitelist {
    words: BTreeSet<String>,
}

impl FourLetterWordWhitelist {
    /// Builds the set as `FourLetterCommands.isEnabled` does: comma-separated, trimmed, empty
    /// items ignored, `*` adds every known word, `isro` added when read-only mode is on, and
    /// `srvr` always added because `zkServer.sh status` depends on it.
    pub fn parse(list: Option<&str>, read_only_mode_enabled: bool) -> Self {
        let mut words = BTreeSet::new();
        for item in list.unwrap_or("").split(',').map(java_trim) {
            if item == "*" {
                words.extend(KNOWN_FOUR_LETTER_WORDS.iter().map(|word| (*word).to_owned()));
                break;
            }
            if !item.is_empty() {
                words.insert(item.to_owned());
            }
        }
        if read_only_mode_enabled {
            words.insert("isro".to_owned());
        }
        words.insert("srvr".to_owned());
        Self { words }
    }

    /// Whether `word` may run; case-sensitive like Java.
    pub fn allows(&self, word: &str) -> bool {
        self.words.contains(word)
    }

    /// True when every known word is enabled.
    pub fn allows_all(&self) -> bool {
        KNOWN_FOUR_LETTER_WORDS.iter().all(|word| self.words.contains(*word))
    }

    /// The enabled words, sorted.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.words.iter().map(String::as_str)
    }
}

impl Default for FourLetterWordWhitelist {
    fn default() -> Self {
        Self::parse(None, false)
    }
}

/// The HTTP AdminServer (`admin.*`, Jetty in Java).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminServerConfig {
    /// `admin.enableServer`, default true in 3.8.
    pub enabled: bool,
    /// `admin.serverAddress`, default `0.0.0.0`.
    pub address: String,
    /// `admin.serverPort`, default 8080.
    pub port: u16,
    /// `admin.commandURL`, default `/commands`.
    pub command_url: String,
    /// `admin.idleTimeout` in ms, default 30000.
    pub idle_timeout_ms: u32,
}

impl Default for AdminServerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            address: "0.0.0.0".to_owned(),
            port: 8080,
            command_url: "/commands".to_owned(),
            idle_timeout_ms: 30_000,
        }
    }
}

/// `metricsProvider.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsProviderConfig {
    /// `metricsProvider.className`; Java loads this class, we only report it.
    pub class_name: String,
    /// Every other `metricsProvider.<name>` key, prefix stripped, in file order.
    pub properties: Vec<(String, String)>,
    /// `metricsProvider.httpHost` (Prometheus provider), default `0.0.0.0`.
    pub http_host: String,
    /// `metricsProvider.httpPort` (Prometheus provider), default 7000.
    pub http_port: u16,
}

impl Default for MetricsProviderConfig {
    fn default() -> Self {
        Self {
            class_name: DEFAULT_METRICS_PROVIDER.to_owned(),
            properties: Vec::new(),
            http_host: "0.0.0.0".to_owned(),
            http_port: 7000,
        }
    }
}

impl MetricsProviderConfig {
    /// True when the Prometheus endpoint should be served.
    pub fn is_prometheus(&self) -> bool {
        self.class_name.ends_with("PrometheusMetricsProvider")
    }
}

/// `quorum.auth.*`: SASL between ensemble members. Parsed and checked like Java; whether it is
/// supported is the quorum layer's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumSaslConfig {
    /// `quorum.auth.enableSasl`.
    pub enable_sasl: bool,
    /// `quorum.auth.serverRequireSasl`.
    pub server_require_sasl: bool,
    /// `quorum.auth.learnerRequireSasl`.
    pub learner_require_sasl: bool,
    /// `quorum.auth.learner.saslLoginContext`.
    pub learner_login_context: String,
    /// `quorum.auth.server.saslLoginContext`.
    pub server_login_context: String,
    /// `quorum.auth.kerberos.servicePrincipal`.
    pub kerberos_service_principal: String,
}

impl Default for QuorumSaslConfig {
    fn default() -> Self {
        Self {
            enable_sasl: false,
            server_require_sasl: false,
            learner_require_sasl: false,
            learner_login_context: "QuorumLearner".to_owned(),
            server_login_context: "QuorumServer".to_owned(),
            kerberos_service_principal: "zkquorum/localhost".to_owned(),
        }
    }
}

/// `jvm.pause.*`: Java's GC-pause detector. Kept so such files parse; a native server may
/// use it to watch for scheduler stalls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PauseMonitorConfig {
    /// `jvm.pause.monitor`.
    pub enabled: bool,
    /// `jvm.pause.info-threshold.ms`.
    pub info_threshold_ms: i64,
    /// `jvm.pause.warn-threshold.ms`.
    pub warn_threshold_ms: i64,
    /// `jvm.pause.sleep.time.ms`.
    pub sleep_time_ms: i64,
}

impl Default for PauseMonitorConfig {
    fn default() -> Self {
        Self { enabled: false, info_threshold_ms: 1000, warn_threshold_ms: 10_000, sleep_time_ms: 500 }
    }
}

/// `multiAddress.*`: several `|`-separated addresses per server line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultiAddressConfig {
    /// `multiAddress.enabled`, default false. (Java 3.8 only honours the JVM property for
    /// parsing server lines; we honour either form.)
    pub enabled: bool,
    /// `multiAddress.reachabilityCheckEnabled`, default true.
    pub reachability_check_enabled: bool,
    /// `multiAddress.reachabilityCheckTimeoutMs`, default 1000.
    pub reachability_check_timeout_ms: u32,
}

impl Default for MultiAddressConfig {
    fn default() -> Self {
        Self { enabled: false, reachability_check_enabled: true, reachability_check_timeout_ms: 1000 }
    }
}

// ---------------------------------------------------------------------------------------------
// ServerConfig
// ---------------------------------------------------------------------------------------------

/// A parsed zoo.cfg. Field defaults are Java's; see the module docs for key spelling rules.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where the configuration came from, for messages (a path or a label).
    pub source: String,
    /// The whole text of the file, as Java keeps it for the `icfg` admin command.
    pub initial_config: String,

    // --- QuorumPeerConfig keys ---
    /// `tickTime`: the basic time unit in ms (default 3000; the sample zoo.cfg uses 2000).
    pub tick_time_ms: u32,
    /// `initLimit`: ticks a follower gets to connect and sync; 0 = unset (required in a quorum).
    pub init_limit: u32,
    /// `syncLimit`: ticks a follower may lag; 0 = unset (required in a quorum).
    pub sync_limit: u32,
    /// `connectToLearnerMasterLimit`: ticks to connect to the leader; 0 = use initLimit.
    pub connect_to_learner_master_limit: u32,
    /// `dataDir`: snapshots, myid and epoch files.
    pub data_dir: PathBuf,
    /// `dataLogDir`: transaction logs; defaults to dataDir.
    pub data_log_dir: PathBuf,
    /// `clientPort`; None when unset (0 in the file also means unset, as in Java).
    pub client_port: Option<u16>,
    /// `clientPortAddress`: the address to bind, unresolved; None = all interfaces.
    pub client_port_address: Option<String>,
    /// `secureClientPort` (TLS); None when unset.
    pub secure_client_port: Option<u16>,
    /// `secureClientPortAddress`.
    pub secure_client_port_address: Option<String>,
    /// `observerMasterPort`: lets observers sync from followers; None when unset or ≤ 0.
    pub observer_master_port: Option<u16>,
    /// `clientPortListenBacklog`; None = OS default (Java's -1).
    pub client_port_listen_backlog: Option<u32>,
    /// `maxClientCnxns`: connections per client IP; 0 = unlimited (negative values too, as Java).
    pub max_client_cnxns: u32,
    /// `minSessionTimeout` as configured (-1 or absent = None); see [`Self::min_session_timeout_ms`].
    pub min_session_timeout: Option<u32>,
    /// `maxSessionTimeout` as configured (-1 or absent = None); see [`Self::max_session_timeout_ms`].
    pub max_session_timeout: Option<u32>,
    /// `autopurge.snapRetainCount`, at least 3.
    pub autopurge_snap_retain_count: u32,
    /// `autopurge.purgeInterval` in hours; 0 (or negative) disables purging.
    pub autopurge_purge_interval_hours: u32,
    /// `server.N` lines, in file order (or from the dynamic config file).
    pub servers: Vec<QuorumServer>,
    /// `group.N` entries (hierarchical quorums), raw `(key, value, line)`.
    pub groups: Vec<(String, String, usize)>,
    /// `weight.N` entries (hierarchical quorums), raw `(key, value, line)`.
    pub weights: Vec<(String, String, usize)>,
    /// `version` of the dynamic configuration (hex), if known.
    pub config_version: Option<u64>,
    /// `peerType` as written; the server list overrides it, see [`Self::effective_peer_type`].
    pub peer_type: LearnerType,
    /// `standaloneEnabled`: false makes even a one-member ensemble run quorum code.
    pub standalone_enabled: bool,
    /// `reconfigEnabled`: false makes the reconfig operation fail.
    pub reconfig_enabled: bool,
    /// `dynamicConfigFile`: where server.N lines live in 3.5+ deployments.
    pub dynamic_config_file: Option<PathBuf>,
    /// `electionAlg`: only 3 (FastLeaderElection) exists.
    pub election_alg: u32,
    /// `quorumListenOnAllIPs`.
    pub quorum_listen_on_all_ips: bool,
    /// `localSessionsEnabled`.
    pub local_sessions_enabled: bool,
    /// `localSessionsUpgradingEnabled`.
    pub local_sessions_upgrading_enabled: bool,
    /// `syncEnabled` (observers log to disk); `observer.syncEnabled` overrides it as in Java.
    pub sync_enabled: bool,
    /// `sslQuorum`.
    pub ssl_quorum: bool,
    /// `portUnification`: TLS and plaintext on one client port.
    pub port_unification: bool,
    /// `sslQuorumReloadCertFiles`.
    pub ssl_quorum_reload_cert_files: bool,
    /// `quorum.auth.*`.
    pub quorum_sasl: QuorumSaslConfig,
    /// `quorum.cnxn.threads.size`.
    pub quorum_cnxn_threads_size: Option<u32>,
    /// `jvm.pause.*`.
    pub pause_monitor: PauseMonitorConfig,
    /// `metricsProvider.*`.
    pub metrics_provider: MetricsProviderConfig,
    /// `multiAddress.*`.
    pub multi_address: MultiAddressConfig,
    /// `oraclePath` (QuorumOracleMaj for two-server ensembles).
    pub oracle_path: Option<String>,

    // --- JVM system properties (`zookeeper.<key>`) the server reads ---
    /// `snapCount`: txns between snapshots (randomised around half), at least 2.
    pub snap_count: u32,
    /// `snapSizeLimitInKb`: log bytes between snapshots; ≤ 0 disables. See [`Self::snap_size_limit_bytes`].
    pub snap_size_limit_kb: i64,
    /// `txnLogSizeLimitInKb`: roll the log at this size; ≤ 0 (default -1) disables.
    pub txn_log_size_limit_kb: i64,
    /// `preAllocSize` in KiB: transaction-log preallocation block (default 65536 = 64 MiB).
    pub pre_alloc_size_kb: u64,
    /// `globalOutstandingLimit`: requests in flight before throttling clients.
    pub global_outstanding_limit: u32,
    /// `commitLogCount`: committed proposals kept in memory for DIFF sync, at least 500.
    pub commit_log_count: u32,
    /// `snapshotSizeFactor`: log-based sync allowed up to this fraction of the snapshot size;
    /// negative disables log-based sync; values above 1 fall back to 0.33 as in Java.
    pub snapshot_size_factor: f64,
    /// `4lw.commands.whitelist`.
    pub four_letter_words: FourLetterWordWhitelist,
    /// `admin.*`.
    pub admin: AdminServerConfig,
    /// `extendedTypesEnabled`: TTL nodes.
    pub extended_types_enabled: bool,
    /// `emulate353TTLNodes`: read TTL owners in the 3.5.3 encoding.
    pub emulate_353_ttl_nodes: bool,
    /// `skipACL` (`yes`/`no`).
    pub skip_acl: bool,
    /// `enforceQuota`: reject writes over quota instead of only logging.
    pub enforce_quota: bool,
    /// `DigestAuthenticationProvider.superDigest`: `super:<base64 sha1>`.
    pub super_digest: Option<String>,
    /// `digest.enabled`: append TxnDigest to txns and snapshots.
    pub digest_enabled: bool,
    /// `closeSessionTxn.enabled`: closeSession txns list the ephemerals to delete.
    pub close_session_txn_enabled: bool,
    /// `forceSync` (`yes`/`no`): fsync the log before acknowledging.
    pub force_sync: bool,
    /// `fsync.warningthresholdms`: log fsyncs slower than this.
    pub fsync_warning_threshold_ms: u64,
    /// `maxCnxns`: total client connections; 0 = unlimited.
    pub max_cnxns: u32,
    /// `cnxTimeout`: election connection timeout in ms.
    pub cnx_timeout_ms: u32,
    /// `leaderServes` (`yes`/`no`): whether the leader accepts client connections.
    pub leader_serves: bool,
    /// `readonlymode.enabled` (our extension: a JVM property without prefix in Java).
    pub read_only_mode_enabled: bool,
    /// `jute.maxbuffer` (our extension: a JVM property in Java, ignored in its zoo.cfg).
    pub jute_maxbuffer: u32,
    /// `jute.maxbuffer.extrasize`: slack over jute.maxbuffer for internal packets; None = same
    /// as jute.maxbuffer.
    pub jute_maxbuffer_extrasize: Option<u32>,

    // --- outside zoo.cfg ---
    /// This server's id from `dataDir/myid`, set by [`Self::load`] or [`Self::set_server_id`].
    pub server_id: Option<u64>,

    // --- bookkeeping ---
    /// Every entry in file order, duplicates included (the `conf` command reports some).
    pub raw: Vec<RawEntry>,
    /// Keys we do not act on, `(key, value, line)`, for the caller to log.
    pub unknown: Vec<(String, String, usize)>,
    /// Things Java would log as warnings (clamped values, odd quorum sizes, ...).
    pub warnings: Vec<String>,
    /// Line of `standaloneEnabled`, for quorum errors raised after a dynamic file is applied.
    standalone_enabled_line: Option<usize>,
}

/// JVM property names (without `zookeeper.`) that we act on. In zoo.cfg they may be written bare,
/// as Java expects, or with the prefix, as our stand-in for `-D` flags.
pub const SYSTEM_PROPERTY_SETTINGS: &[&str] = &[
    "snapCount",
    "snapSizeLimitInKb",
    "txnLogSizeLimitInKb",
    "preAllocSize",
    "globalOutstandingLimit",
    "commitLogCount",
    "snapshotSizeFactor",
    "4lw.commands.whitelist",
    // ferrokeeper's own: the most watches wchc/wchp will list (the CVE-2017-5637 bound).
    "4lw.watchListLimit",
    "admin.enableServer",
    "admin.serverAddress",
    "admin.serverPort",
    "admin.commandURL",
    "admin.idleTimeout",
    "extendedTypesEnabled",
    "emulate353TTLNodes",
    "skipACL",
    "enforceQuota",
    "DigestAuthenticationProvider.superDigest",
    "digest.enabled",
    "closeSessionTxn.enabled",
    "forceSync",
    "fsync.warningthresholdms",
    "maxCnxns",
    "cnxTimeout",
    "leaderServes",
    "observer.syncEnabled",
    "jute.maxbuffer.extrasize",
    "multiAddress.enabled",
    "multiAddress.reachabilityCheckEnabled",
    "multiAddress.reachabilityCheckTimeoutMs",
];

/// One entry being interpreted; carries what an error message needs.
struct Setting<'a> {
    file: &'a str,
    key: &'a str,
    value: &'a str,
    line: usize,
}

impl Setting<'_> {
    fn invalid(&self, reason: impl Into<String>) -> ConfigError {
        ConfigError::InvalidValue {
            file: self.file.to_owned(),
            line: self.line,
            key: self.key.to_owned(),
            value: self.value.to_owned(),
            reason: reason.into(),
        }
    }

    fn inconsistent(&self, reason: impl Into<String>) -> ConfigError {
        ConfigError::Inconsistent {
            file: self.file.to_owned(),
            line: self.line,
            key: self.key.to_owned(),
            reason: reason.into(),
        }
    }

    /// Java `Integer.parseInt`.
    fn int(&self) -> Result<i32, ConfigError> {
        self.value.parse().map_err(|_| self.invalid("expected a 32-bit integer"))
    }

    /// Java `Long.parseLong`.
    fn long(&self) -> Result<i64, ConfigError> {
        self.value.parse().map_err(|_| self.invalid("expected a 64-bit integer"))
    }

    fn non_negative(&self) -> Result<u32, ConfigError> {
        let value = self.int()?;
        u32::try_from(value).map_err(|_| self.invalid("must not be negative"))
    }

    fn positive(&self) -> Result<u32, ConfigError> {
        match self.non_negative()? {
            0 => Err(self.invalid("must be greater than 0")),
            value => Ok(value),
        }
    }

    /// A Java int where zero and negatives share one meaning ("off", "unlimited").
    fn clamped_at_zero(&self) -> Result<u32, ConfigError> {
        Ok(u32::try_from(self.int()?.max(0)).unwrap_or(0))
    }

    /// A port where 0 means "unset", as Java's clientPort.
    fn optional_port(&self) -> Result<Option<u16>, ConfigError> {
        let value = self.int()?;
        match u16::try_from(value) {
            Ok(0) => Ok(None),
            Ok(port) => Ok(Some(port)),
            Err(_) => Err(self.invalid("port out of range 0..=65535")),
        }
    }

    fn port(&self) -> Result<u16, ConfigError> {
        let value = self.int()?;
        u16::try_from(value).map_err(|_| self.invalid("port out of range 0..=65535"))
    }

    /// QuorumPeerConfig's `parseBoolean`: `true` or `false`, any case.
    fn boolean(&self) -> Result<bool, ConfigError> {
        if self.value.eq_ignore_ascii_case("true") {
            Ok(true)
        } else if self.value.eq_ignore_ascii_case("false") {
            Ok(false)
        } else {
            Err(self.invalid("expected true or false"))
        }
    }

    /// The `yes`/`no` switches (skipACL, forceSync, leaderServes). Java compares literally and
    /// silently picks a side for anything else; we also take true/false, which people write and
    /// mean, and refuse the rest.
    fn yes_no(&self) -> Result<bool, ConfigError> {
        match self.value {
            "yes" | "true" => Ok(true),
            "no" | "false" => Ok(false),
            _ => Err(self.invalid("expected yes or no")),
        }
    }

    fn double(&self) -> Result<f64, ConfigError> {
        match self.value.parse::<f64>() {
            Ok(value) if !value.is_nan() => Ok(value),
            _ => Err(self.invalid("expected a decimal number")),
        }
    }

    fn text(&self) -> Result<String, ConfigError> {
        if self.value.is_empty() {
            Err(self.invalid("must not be empty"))
        } else {
            Ok(self.value.to_owned())
        }
    }
}

/// Java's `String.split` drops trailing empty strings (but `""` splits into `[""]`).
fn java_split(text: &str, separator: char) -> Vec<&str> {
    let mut parts: Vec<&str> = text.split(separator).collect();
    if text.is_empty() {
        return parts;
    }
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

/// `ConfigUtils.getHostAndPort`: `[ipv6]:a:b` or `host:a:b`, split on colons.
fn host_and_ports(text: &str) -> Result<Vec<&str>, String> {
    let Some(rest) = text.strip_prefix('[') else {
        return Ok(java_split(text, ':'));
    };
    let close = rest.find(']').ok_or_else(|| format!("{text} starts with '[' but has no matching ']:'"))?;
    let host = &rest[..close];
    let after = &rest[close + 1..];
    if after.is_empty() {
        return Ok(vec![host]);
    }
    if after.len() == 1 {
        return Err(format!("{text} doesn't have a port after colon"));
    }
    // Java skips the character after ']' without looking at it; insist it is the colon.
    let ports = after.strip_prefix(':').ok_or_else(|| format!("{text}: expected ':' after ']'"))?;
    let mut parts = vec![host];
    parts.extend(java_split(ports, ':'));
    Ok(parts)
}

fn parse_port_text(text: &str, what: &str) -> Result<u16, String> {
    let value: i32 = text.parse().map_err(|_| format!("{what} {text:?} is not a number"))?;
    u16::try_from(value).map_err(|_| format!("{what} {value} out of range 0..=65535"))
}

const SERVER_LINE_FORM: &str = "expected host:port:port[:participant|observer][;[host:]port], with \
                                '|' between addresses when multiAddress is enabled";

/// Parses the value of `server.N` (`QuorumServer.initializeWithAddressString`).
fn parse_server_line(id: u64, value: &str, line: usize, multi_address: bool) -> Result<QuorumServer, String> {
    // Java does not trim this value (a trailing space breaks the port); we do.
    let value = java_trim(value);
    let server_and_client = java_split(value, ';');
    if server_and_client.len() > 2 {
        return Err(SERVER_LINE_FORM.to_owned());
    }
    let server_part = server_and_client.first().copied().unwrap_or("");
    let client_address = match server_and_client.get(1) {
        None => None,
        Some(client) => {
            let parts = host_and_ports(client)?;
            let (host, port) = match parts.as_slice() {
                [port] => ("0.0.0.0", *port),
                [host, port] => (*host, *port),
                _ => return Err(SERVER_LINE_FORM.to_owned()),
            };
            if host.is_empty() {
                return Err("client host is empty".to_owned());
            }
            Some(ClientAddress { host: host.to_owned(), port: parse_port_text(port, "client port")? })
        }
    };

    let address_texts = java_split(server_part, '|');
    if address_texts.len() > 1 && !multi_address {
        return Err(format!("multiple addresses given for server {id} but multiAddress.enabled is not true"));
    }
    let mut addresses = Vec::with_capacity(address_texts.len());
    let mut learner_type = None;
    for address in address_texts {
        let parts = host_and_ports(address)?;
        if !(3..=4).contains(&parts.len()) {
            return Err(SERVER_LINE_FORM.to_owned());
        }
        let host = parts[0];
        if host.is_empty() {
            return Err("server host is empty".to_owned());
        }
        let quorum_port = parse_port_text(parts[1], "quorum port")?;
        let election_port = parse_port_text(parts[2], "election port")?;
        if quorum_port == election_port {
            return Err(format!("quorum and election port must be different (both {quorum_port})"));
        }
        if let Some(word) = parts.get(3) {
            let this_type =
                LearnerType::parse(word).ok_or_else(|| format!("unrecognised peer type {word:?}"))?;
            if learner_type.is_some_and(|earlier| earlier != this_type) {
                return Err("all addresses of one server must have the same role".to_owned());
            }
            learner_type = Some(this_type);
        }
        addresses.push(QuorumAddress { host: host.to_owned(), quorum_port, election_port });
    }
    if addresses.is_empty() {
        return Err(SERVER_LINE_FORM.to_owned());
    }
    Ok(QuorumServer { id, addresses, learner_type: learner_type.unwrap_or_default(), client_address, line })
}

/// Settings whose final value depends on other keys, resolved after the whole file is read.
#[derive(Default)]
struct Deferred<'a> {
    whitelist: Option<&'a str>,
    observer_sync_enabled: Option<bool>,
    quorum_entries: Vec<&'a RawEntry>,
    client_port_address_line: Option<usize>,
    secure_client_port_address_line: Option<usize>,
    standalone_enabled_line: Option<usize>,
    min_session_timeout_line: Option<usize>,
    max_session_timeout_line: Option<usize>,
    quorum_sasl_line: Option<usize>,
}

impl ServerConfig {
    /// Java's defaults, before any file is read. `dataDir` is empty because Java requires it.
    fn java_defaults(source: &str) -> Self {
        Self {
            source: source.to_owned(),
            initial_config: String::new(),
            tick_time_ms: DEFAULT_TICK_TIME_MS,
            init_limit: 0,
            sync_limit: 0,
            connect_to_learner_master_limit: 0,
            data_dir: PathBuf::new(),
            data_log_dir: PathBuf::new(),
            client_port: None,
            client_port_address: None,
            secure_client_port: None,
            secure_client_port_address: None,
            observer_master_port: None,
            client_port_listen_backlog: None,
            max_client_cnxns: 60,
            min_session_timeout: None,
            max_session_timeout: None,
            autopurge_snap_retain_count: MIN_SNAP_RETAIN_COUNT,
            autopurge_purge_interval_hours: 0,
            servers: Vec::new(),
            groups: Vec::new(),
            weights: Vec::new(),
            config_version: None,
            peer_type: LearnerType::Participant,
            standalone_enabled: true,
            reconfig_enabled: false,
            dynamic_config_file: None,
            election_alg: 3,
            quorum_listen_on_all_ips: false,
            local_sessions_enabled: false,
            local_sessions_upgrading_enabled: false,
            sync_enabled: true,
            ssl_quorum: false,
            port_unification: false,
            ssl_quorum_reload_cert_files: false,
            quorum_sasl: QuorumSaslConfig::default(),
            quorum_cnxn_threads_size: None,
            pause_monitor: PauseMonitorConfig::default(),
            metrics_provider: MetricsProviderConfig::default(),
            multi_address: MultiAddressConfig::default(),
            oracle_path: None,
            snap_count: 100_000,
            snap_size_limit_kb: 4_194_304,
            txn_log_size_limit_kb: -1,
            pre_alloc_size_kb: 65_536,
            global_outstanding_limit: 1000,
            commit_log_count: 500,
            snapshot_size_factor: 0.33,
            four_letter_words: FourLetterWordWhitelist::default(),
            admin: AdminServerConfig::default(),
            extended_types_enabled: false,
            emulate_353_ttl_nodes: false,
            skip_acl: false,
            enforce_quota: false,
            super_digest: None,
            digest_enabled: true,
            close_session_txn_enabled: true,
            force_sync: true,
            fsync_warning_threshold_ms: 1000,
            max_cnxns: 0,
            cnx_timeout_ms: 5000,
            leader_serves: true,
            read_only_mode_enabled: false,
            jute_maxbuffer: DEFAULT_JUTE_MAXBUFFER,
            jute_maxbuffer_extrasize: None,
            server_id: None,
            raw: Vec::new(),
            unknown: Vec::new(),
            warnings: Vec::new(),
            standalone_enabled_line: None,
        }
    }

    /// What `ferrokeeper serve` runs without a file: standalone on port 2181, data in `./data`,
    /// tickTime 2000 (the sample zoo.cfg's value, not Java's in-code 3000).
    pub fn default_standalone() -> Self {
        let mut config = Self::java_defaults("<built-in defaults>");
        config.tick_time_ms = 2000;
        config.client_port = Some(2181);
        config.data_dir = PathBuf::from("./data");
        config.data_log_dir = PathBuf::from("./data");
        config
    }

    /// Reads a zoo.cfg the way `QuorumPeerConfig.parse` does: the file, then the dynamic config
    /// file if one is named, then `dataDir/myid`, then the checks that need the server id.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Io { file: file.clone(), source })?;
        let mut config = Self::parse_str(&decode_properties_bytes(&bytes), &file)?;
        if let Some(dynamic) = config.dynamic_config_file.clone() {
            let dynamic_file = dynamic.display().to_string();
            let bytes = std::fs::read(&dynamic)
                .map_err(|source| ConfigError::Io { file: dynamic_file.clone(), source })?;
            let version = dynamic_config_version_from_name(&dynamic_file);
            config.apply_dynamic_config_str(&decode_properties_bytes(&bytes), &dynamic_file, version)?;
        }
        let myid = read_myid(&config.data_dir)?;
        config.set_server_id(myid)?;
        Ok(config)
    }

    /// Parses zoo.cfg text; `file` names it in errors. Touches no disk: a named
    /// `dynamicConfigFile` is not read (see [`Self::apply_dynamic_config_str`]) and no myid is
    /// looked up (see [`Self::set_server_id`]).
    pub fn parse_str(text: &str, file: &str) -> Result<Self, ConfigError> {
        let entries = parse_properties(text, file)?;
        let mut config = Self::java_defaults(file);
        config.initial_config = text.to_owned();
        let mut deferred = Deferred::default();
        let effective = last_occurrences(&entries);
        let has_dynamic_file = effective.iter().any(|entry| entry.key == "dynamicConfigFile");
        let mut data_dir_set = false;
        let mut data_log_dir_set = false;

        for entry in &effective {
            let key = entry.key.as_str();
            let setting = Setting { file, key, value: &entry.value, line: entry.line };
            let is_quorum_key =
                key.starts_with("server.") || key.starts_with("group") || key.starts_with("weight");
            if is_quorum_key {
                if has_dynamic_file {
                    return Err(setting.inconsistent("must be in the separate dynamic config file"));
                }
                deferred.quorum_entries.push(entry);
                continue;
            }
            if key == "version" {
                deferred.quorum_entries.push(entry);
                continue;
            }
            match key {
                "dataDir" => {
                    config.data_dir = PathBuf::from(setting.text()?);
                    data_dir_set = true;
                }
                "dataLogDir" => {
                    config.data_log_dir = PathBuf::from(setting.text()?);
                    data_log_dir_set = true;
                }
                _ => {
                    if !config.apply_setting(&setting, &mut deferred)? {
                        config.unknown.push((entry.key.clone(), entry.value.clone(), entry.line));
                    }
                }
            }
        }
        config.raw = entries.clone();

        if !data_dir_set {
            return Err(ConfigError::Missing {
                file: file.to_owned(),
                key: "dataDir".into(),
                reason: String::new(),
            });
        }
        if !data_log_dir_set {
            config.data_log_dir = config.data_dir.clone();
        }
        for (key, dir) in [("dataDir", &config.data_dir), ("dataLogDir", &config.data_log_dir)] {
            if dir.is_relative() {
                config.warnings.push(format!("{key} {} is a relative path", dir.display()));
            }
        }
        config.resolve_deferred(file, &deferred)?;
        if config.dynamic_config_file.is_none() {
            let quorum_entries: Vec<RawEntry> =
                deferred.quorum_entries.iter().map(|e| (*e).clone()).collect();
            config.set_quorum_entries(&quorum_entries, file, false)?;
        }
        Ok(config)
    }

    /// Interprets one non-quorum key; returns false when we do not know it.
    fn apply_setting<'a>(
        &mut self,
        s: &Setting<'a>,
        deferred: &mut Deferred<'a>,
    ) -> Result<bool, ConfigError> {
        match s.key {
            "clientPort" => self.client_port = s.optional_port()?,
            "clientPortAddress" => {
                self.client_port_address = Some(s.text()?);
                deferred.client_port_address_line = Some(s.line);
            }
            "secureClientPort" => self.secure_client_port = s.optional_port()?,
            "secureClientPortAddress" => {
                self.secure_client_port_address = Some(s.text()?);
                deferred.secure_client_port_address_line = Some(s.line);
            }
            "observerMasterPort" => {
                let value = s.int()?;
                self.observer_master_port = if value <= 0 { None } else { Some(s.port()?) };
            }
            "clientPortListenBacklog" => {
                let value = s.int()?;
                self.client_port_listen_backlog = u32::try_from(value).ok().filter(|&backlog| backlog > 0);
            }
            "localSessionsEnabled" => self.local_sessions_enabled = s.boolean()?,
            "localSessionsUpgradingEnabled" => self.local_sessions_upgrading_enabled = s.boolean()?,
            "tickTime" => self.tick_time_ms = s.positive()?,
            "maxClientCnxns" => self.max_client_cnxns = s.clamped_at_zero()?,
            "minSessionTimeout" | "maxSessionTimeout" => {
                let value = s.int()?;
                let timeout = match value {
                    -1 => None,
                    _ => Some(u32::try_from(value).map_err(|_| s.invalid("must be -1 (default) or ≥ 0"))?),
                };
                if s.key == "minSessionTimeout" {
                    self.min_session_timeout = timeout;
                    deferred.min_session_timeout_line = Some(s.line);
                } else {
                    self.max_session_timeout = timeout;
                    deferred.max_session_timeout_line = Some(s.line);
                }
            }
            "initLimit" => self.init_limit = s.non_negative()?,
            "syncLimit" => self.sync_limit = s.non_negative()?,
            "connectToLearnerMasterLimit" => self.connect_to_learner_master_limit = s.non_negative()?,
            "electionAlg" => {
                if s.int()? != 3 {
                    return Err(s.invalid("only electionAlg 3 (FastLeaderElection) is supported"));
                }
                self.election_alg = 3;
            }
            "quorumListenOnAllIPs" => self.quorum_listen_on_all_ips = s.boolean()?,
            "peerType" => {
                self.peer_type = LearnerType::parse(s.value)
                    .ok_or_else(|| s.invalid("expected participant or observer"))?
            }
            "syncEnabled" => self.sync_enabled = s.boolean()?,
            "dynamicConfigFile" => self.dynamic_config_file = Some(PathBuf::from(s.text()?)),
            "autopurge.snapRetainCount" => {
                let value = s.int()?;
                self.autopurge_snap_retain_count = match u32::try_from(value) {
                    Ok(count) if count >= MIN_SNAP_RETAIN_COUNT => count,
                    _ => {
                        self.warnings.push(format!(
                            "invalid autopurge.snapRetainCount {value}; using {MIN_SNAP_RETAIN_COUNT}"
                        ));
                        MIN_SNAP_RETAIN_COUNT
                    }
                };
            }
            "autopurge.purgeInterval" => self.autopurge_purge_interval_hours = s.clamped_at_zero()?,
            "standaloneEnabled" => {
                self.standalone_enabled = s.boolean()?;
                deferred.standalone_enabled_line = Some(s.line);
            }
            "reconfigEnabled" => self.reconfig_enabled = s.boolean()?,
            "sslQuorum" => self.ssl_quorum = s.boolean()?,
            "portUnification" => self.port_unification = s.boolean()?,
            "sslQuorumReloadCertFiles" => self.ssl_quorum_reload_cert_files = s.boolean()?,
            "quorum.auth.enableSasl" => {
                self.quorum_sasl.enable_sasl = s.boolean()?;
                deferred.quorum_sasl_line.get_or_insert(s.line);
            }
            "quorum.auth.serverRequireSasl" => {
                self.quorum_sasl.server_require_sasl = s.boolean()?;
                deferred.quorum_sasl_line = Some(s.line);
            }
            "quorum.auth.learnerRequireSasl" => {
                self.quorum_sasl.learner_require_sasl = s.boolean()?;
                deferred.quorum_sasl_line.get_or_insert(s.line);
            }
            "quorum.auth.learner.saslLoginContext" => {
                self.quorum_sasl.learner_login_context = s.value.to_owned()
            }
            "quorum.auth.server.saslLoginContext" => {
                self.quorum_sasl.server_login_context = s.value.to_owned()
            }
            "quorum.auth.kerberos.servicePrincipal" => {
                self.quorum_sasl.kerberos_service_principal = s.value.to_owned()
            }
            "quorum.cnxn.threads.size" => self.quorum_cnxn_threads_size = Some(s.non_negative()?),
            "jvm.pause.info-threshold.ms" => self.pause_monitor.info_threshold_ms = s.long()?,
            "jvm.pause.warn-threshold.ms" => self.pause_monitor.warn_threshold_ms = s.long()?,
            "jvm.pause.sleep.time.ms" => self.pause_monitor.sleep_time_ms = s.long()?,
            "jvm.pause.monitor" => self.pause_monitor.enabled = s.boolean()?,
            "metricsProvider.className" => self.metrics_provider.class_name = s.text()?,
            "metricsProvider.httpPort" => {
                self.metrics_provider.http_port = s.port()?;
                self.push_metrics_property(s);
            }
            "metricsProvider.httpHost" => {
                self.metrics_provider.http_host = s.text()?;
                self.push_metrics_property(s);
            }
            key if key.starts_with("metricsProvider.") => self.push_metrics_property(s),
            "oraclePath" => self.oracle_path = Some(s.text()?),
            // Unprefixed JVM properties: our extensions, Java ignores them in zoo.cfg.
            "jute.maxbuffer" => self.jute_maxbuffer = s.positive()?,
            "readonlymode.enabled" => self.read_only_mode_enabled = s.boolean()?,
            key => {
                let name = key.strip_prefix("zookeeper.").unwrap_or(key);
                return self.apply_system_property(name, s, deferred);
            }
        }
        Ok(true)
    }

    fn push_metrics_property(&mut self, s: &Setting<'_>) {
        let name = s.key.trim_start_matches("metricsProvider.");
        self.metrics_provider.properties.push((name.to_owned(), s.value.to_owned()));
    }

    /// Interprets a `zookeeper.<name>` JVM property (`name` without the prefix); returns false
    /// for properties we do not act on.
    fn apply_system_property<'a>(
        &mut self,
        name: &str,
        s: &Setting<'a>,
        deferred: &mut Deferred<'a>,
    ) -> Result<bool, ConfigError> {
        match name {
            "snapCount" => {
                let value = s.int()?;
                self.snap_count =
                    u32::try_from(value).ok().filter(|&count| count >= 2).unwrap_or_else(|| {
                        self.warnings.push(format!("snapCount {value} is below 2; using 2"));
                        2
                    });
            }
            "snapSizeLimitInKb" => self.snap_size_limit_kb = s.long()?,
            "txnLogSizeLimitInKb" => self.txn_log_size_limit_kb = s.long()?,
            "preAllocSize" => {
                let value = s.long()?;
                self.pre_alloc_size_kb =
                    u64::try_from(value).map_err(|_| s.invalid("must not be negative"))?;
            }
            "globalOutstandingLimit" => self.global_outstanding_limit = s.non_negative()?,
            "commitLogCount" => {
                let value = s.int()?;
                self.commit_log_count =
                    u32::try_from(value).ok().filter(|&count| count >= 500).unwrap_or_else(|| {
                        self.warnings
                            .push(format!("commitLogCount {value} is below the minimum 500; using 500"));
                        500
                    });
            }
            "snapshotSizeFactor" => {
                let value = s.double()?;
                self.snapshot_size_factor = if value > 1.0 {
                    self.warnings.push(format!("snapshotSizeFactor {value} is above 1; using 0.33"));
                    0.33
                } else {
                    value
                };
            }
            "4lw.commands.whitelist" => deferred.whitelist = Some(s.value),
            // Checked here, read by the operator surface (raw_value).
            "4lw.watchListLimit" => {
                let _: u32 = s.non_negative()?;
            }
            "admin.enableServer" => self.admin.enabled = s.boolean()?,
            "admin.serverAddress" => self.admin.address = s.text()?,
            "admin.serverPort" => self.admin.port = s.port()?,
            "admin.commandURL" => self.admin.command_url = s.text()?,
            "admin.idleTimeout" => self.admin.idle_timeout_ms = s.non_negative()?,
            "extendedTypesEnabled" => self.extended_types_enabled = s.boolean()?,
            "emulate353TTLNodes" => self.emulate_353_ttl_nodes = s.boolean()?,
            "skipACL" => self.skip_acl = s.yes_no()?,
            "enforceQuota" => self.enforce_quota = s.boolean()?,
            "DigestAuthenticationProvider.superDigest" => {
                let digest = s.text()?;
                if !digest.contains(':') {
                    return Err(s.invalid("expected super:<base64 sha1 digest>"));
                }
                self.super_digest = Some(digest);
            }
            "digest.enabled" => self.digest_enabled = s.boolean()?,
            "closeSessionTxn.enabled" => self.close_session_txn_enabled = s.boolean()?,
            "forceSync" => self.force_sync = s.yes_no()?,
            "fsync.warningthresholdms" => {
                let value = s.long()?;
                self.fsync_warning_threshold_ms =
                    u64::try_from(value).map_err(|_| s.invalid("must not be negative"))?;
            }
            "maxCnxns" => {
                let value = s.int()?;
                if value < 0 {
                    self.warnings.push(format!("maxCnxns {value} is negative; using 0 (unlimited)"));
                }
                self.max_cnxns = s.clamped_at_zero()?;
            }
            "cnxTimeout" => self.cnx_timeout_ms = s.non_negative()?,
            "leaderServes" => self.leader_serves = s.yes_no()?,
            "observer.syncEnabled" => deferred.observer_sync_enabled = Some(s.boolean()?),
            "jute.maxbuffer.extrasize" => self.jute_maxbuffer_extrasize = Some(s.non_negative()?),
            "multiAddress.enabled" => self.multi_address.enabled = s.boolean()?,
            "multiAddress.reachabilityCheckEnabled" => {
                self.multi_address.reachability_check_enabled = s.boolean()?
            }
            "multiAddress.reachabilityCheckTimeoutMs" => {
                self.multi_address.reachability_check_timeout_ms = s.non_negative()?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Cross-key rules from `QuorumPeerConfig.parseProperties`, in Java's order.
    fn resolve_deferred(&mut self, file: &str, deferred: &Deferred<'_>) -> Result<(), ConfigError> {
        let inconsistent = |key: &str, line: Option<usize>, reason: &str| ConfigError::Inconsistent {
            file: file.to_owned(),
            line: line.unwrap_or(0),
            key: key.to_owned(),
            reason: reason.to_owned(),
        };
        let sasl = &self.quorum_sasl;
        if !sasl.enable_sasl && sasl.server_require_sasl {
            return Err(inconsistent(
                "quorum.auth.serverRequireSasl",
                deferred.quorum_sasl_line,
                "quorum.auth.enableSasl is disabled, so it cannot be enabled",
            ));
        }
        if !sasl.enable_sasl && sasl.learner_require_sasl {
            return Err(inconsistent(
                "quorum.auth.learnerRequireSasl",
                deferred.quorum_sasl_line,
                "quorum.auth.enableSasl is disabled, so it cannot be enabled",
            ));
        }
        if !sasl.learner_require_sasl && sasl.server_require_sasl {
            return Err(inconsistent(
                "quorum.auth.serverRequireSasl",
                deferred.quorum_sasl_line,
                "quorum.auth.learnerRequireSasl is disabled, so it cannot be enabled",
            ));
        }
        if self.client_port.is_none() && self.client_port_address.is_some() {
            return Err(inconsistent(
                "clientPortAddress",
                deferred.client_port_address_line,
                "clientPortAddress is set but clientPort is not set",
            ));
        }
        if self.secure_client_port.is_none() && self.secure_client_port_address.is_some() {
            return Err(inconsistent(
                "secureClientPortAddress",
                deferred.secure_client_port_address_line,
                "secureClientPortAddress is set but secureClientPort is not set",
            ));
        }
        if self.min_session_timeout_ms() > self.max_session_timeout_ms() {
            let (key, line) = match deferred.min_session_timeout_line {
                Some(line) => ("minSessionTimeout", Some(line)),
                None => ("maxSessionTimeout", deferred.max_session_timeout_line),
            };
            let reason = format!(
                "minimum session timeout {} ms is larger than maximum {} ms (defaults are 2x and 20x tickTime)",
                self.min_session_timeout_ms(),
                self.max_session_timeout_ms()
            );
            return Err(inconsistent(key, line, &reason));
        }
        if let Some(sync) = deferred.observer_sync_enabled {
            self.sync_enabled = sync;
        }
        self.four_letter_words =
            FourLetterWordWhitelist::parse(deferred.whitelist, self.read_only_mode_enabled);
        if !KNOWN_METRICS_PROVIDERS.iter().any(|known| self.metrics_provider.class_name.ends_with(known)) {
            self.warnings.push(format!(
                "metricsProvider.className {} is not a provider ferrokeeper knows; using the default",
                self.metrics_provider.class_name
            ));
        }
        // Remember where standaloneEnabled was written, for the quorum checks.
        self.standalone_enabled_line = deferred.standalone_enabled_line;
        Ok(())
    }

    /// Replaces the quorum membership with the entries of a dynamic config file
    /// (`server.N`, `group.N`, `weight.N` only). `version` comes from the file name suffix
    /// (`zoo.cfg.dynamic.100000000` → 0x100000000), as Java does.
    pub fn apply_dynamic_config_str(
        &mut self,
        text: &str,
        file: &str,
        version: Option<u64>,
    ) -> Result<(), ConfigError> {
        let entries = parse_properties(text, file)?;
        self.set_quorum_entries(&entries, file, true)?;
        if version.is_some() {
            self.config_version = version;
        }
        Ok(())
    }

    /// Builds the server list and runs `parseDynamicConfig`'s checks.
    fn set_quorum_entries(
        &mut self,
        entries: &[RawEntry],
        file: &str,
        dynamic: bool,
    ) -> Result<(), ConfigError> {
        self.servers.clear();
        self.groups.clear();
        self.weights.clear();
        for entry in last_occurrences(entries) {
            let setting = Setting { file, key: &entry.key, value: &entry.value, line: entry.line };
            let key = entry.key.as_str();
            if key.starts_with("group") {
                self.groups.push((entry.key.clone(), entry.value.clone(), entry.line));
            } else if key.starts_with("weight") {
                self.weights.push((entry.key.clone(), entry.value.clone(), entry.line));
            } else if let Some(id_text) = key.strip_prefix("server.") {
                let id: u64 = id_text
                    .parse()
                    .map_err(|_| setting.inconsistent("the N of server.N must be a non-negative integer"))?;
                let server = parse_server_line(id, &entry.value, entry.line, self.multi_address.enabled)
                    .map_err(|reason| setting.invalid(reason))?;
                if let Some(earlier) = self.servers.iter().find(|earlier| earlier.id == id) {
                    return Err(setting.inconsistent(format!(
                        "server id {id} is already defined on line {}",
                        earlier.line
                    )));
                }
                self.servers.push(server);
            } else if key == "version" {
                if dynamic {
                    return Err(setting.inconsistent("a dynamic config file must not contain version"));
                }
                let version =
                    u64::from_str_radix(&entry.value, 16).map_err(|_| setting.invalid("expected hex"))?;
                self.config_version = Some(version);
            } else if dynamic {
                return Err(setting.inconsistent("unrecognised parameter in a dynamic config file"));
            }
        }
        self.check_quorum(file)
    }

    /// `QuorumPeerConfig.parseDynamicConfig` and `checkValidity` (minus the myid check).
    fn check_quorum(&mut self, file: &str) -> Result<(), ConfigError> {
        let participants = self.participants().count();
        let first_observer = self.observers().next().map(|server| (server.id, server.line));
        let observer_error = |reason: &str| {
            let (id, line) = first_observer.unwrap_or_default();
            ConfigError::Inconsistent {
                file: file.to_owned(),
                line,
                key: format!("server.{id}"),
                reason: reason.to_owned(),
            }
        };
        if participants == 0 {
            if !self.standalone_enabled {
                return Err(ConfigError::Inconsistent {
                    file: file.to_owned(),
                    line: self.standalone_enabled_line.unwrap_or(0),
                    key: "standaloneEnabled".into(),
                    reason: "standaloneEnabled=false needs at least one participant server.N line".into(),
                });
            }
            if first_observer.is_some() {
                return Err(observer_error("observers without participants is an invalid configuration"));
            }
        } else if participants == 1 && self.standalone_enabled {
            self.warnings.push("only one server specified: running standalone (ignoring server.N)".into());
            if first_observer.is_some() {
                return Err(observer_error("observers without a quorum is an invalid configuration"));
            }
        } else if participants <= 2 {
            self.warnings.push("no server failure will be tolerated; you need at least 3 servers".into());
        } else if participants & 1 == 0 {
            self.warnings.push("non-optimal configuration: consider an odd number of servers".into());
        }
        if self.is_distributed() {
            for (key, value) in [("initLimit", self.init_limit), ("syncLimit", self.sync_limit)] {
                if value == 0 {
                    return Err(ConfigError::Missing {
                        file: file.to_owned(),
                        key: key.into(),
                        reason: " (required when running a quorum)".into(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Sets this server's id (from `dataDir/myid`) and applies the rules that depend on it:
    /// a quorum member needs an id that is in the server list, extended types cap it at 254,
    /// and the own server line's client address replaces clientPort/clientPortAddress.
    pub fn set_server_id(&mut self, server_id: Option<u64>) -> Result<(), ConfigError> {
        let myid_file = self.data_dir.join("myid").display().to_string();
        let myid_error = |reason: String| ConfigError::MyId { file: myid_file.clone(), reason };
        if self.is_distributed() {
            let Some(id) = server_id else {
                return Err(myid_error("the myid file is missing; a quorum member needs one".into()));
            };
            if self.server(id).is_none() {
                return Err(myid_error(format!("my id {id} is not in the server.N list")));
            }
        }
        if let Some(id) = server_id {
            if self.extended_types_enabled && id > MAX_EXTENDED_SERVER_ID {
                return Err(myid_error(format!(
                    "server id {id} is larger than {MAX_EXTENDED_SERVER_ID}, the limit with extendedTypesEnabled"
                )));
            }
        }
        self.server_id = server_id;

        // QuorumPeerConfig.setupClientPort: the server line's client address wins, but must
        // agree with a static clientPort/clientPortAddress when both are given.
        let own_client = server_id.and_then(|id| self.server(id)).and_then(|s| s.client_address.clone());
        if let (Some(client), Some(static_port)) = (&own_client, self.client_port) {
            let static_host = self.client_port_address.as_deref();
            let wildcard = match static_host {
                None => true,
                Some(host) => is_wildcard_host(host),
            };
            let agrees = if wildcard {
                static_port == client.port
            } else {
                static_port == client.port && static_host == Some(client.host.as_str())
            };
            if !agrees {
                let id = server_id.unwrap_or_default();
                return Err(ConfigError::Inconsistent {
                    file: self.source.clone(),
                    line: self.server(id).map_or(0, |server| server.line),
                    key: format!("server.{id}"),
                    reason: format!(
                        "client address {}:{} differs from clientPortAddress/clientPort {}:{}",
                        client.host,
                        client.port,
                        static_host.unwrap_or("0.0.0.0"),
                        static_port
                    ),
                });
            }
        }
        if let Some(client) = own_client {
            self.client_port = Some(client.port);
            self.client_port_address = Some(client.host);
        }
        if self.effective_peer_type() != self.peer_type {
            self.warnings.push(format!(
                "peerType {} does not match the server list ({}); using the server list",
                self.peer_type,
                self.effective_peer_type()
            ));
        }
        Ok(())
    }

    // --- derived values ---

    /// Negotiated session timeouts are clamped to at least this (default 2 × tickTime).
    pub fn min_session_timeout_ms(&self) -> u32 {
        self.min_session_timeout.unwrap_or_else(|| self.tick_time_ms.saturating_mul(2))
    }

    /// Negotiated session timeouts are clamped to at most this (default 20 × tickTime).
    pub fn max_session_timeout_ms(&self) -> u32 {
        self.max_session_timeout.unwrap_or_else(|| self.tick_time_ms.saturating_mul(20))
    }

    /// Clamps a client's requested session timeout, as the server does on connect.
    pub fn negotiate_session_timeout_ms(&self, requested_ms: i32) -> u32 {
        let requested = u32::try_from(requested_ms).unwrap_or(0);
        requested.clamp(self.min_session_timeout_ms(), self.max_session_timeout_ms())
    }

    /// Java's `isDistributed()`: more than one participant, or standalone mode switched off.
    pub fn is_distributed(&self) -> bool {
        !self.standalone_enabled || self.participants().count() > 1
    }

    /// Whether to run a standalone server: no server.N lines, or a single participant with
    /// standaloneEnabled=true (observers never count). The inverse of [`Self::is_distributed`].
    pub fn is_standalone(&self) -> bool {
        !self.is_distributed()
    }

    /// The `server.N` line for `id`.
    pub fn server(&self, id: u64) -> Option<&QuorumServer> {
        self.servers.iter().find(|server| server.id == id)
    }

    /// Voting members.
    pub fn participants(&self) -> impl Iterator<Item = &QuorumServer> {
        self.servers.iter().filter(|server| server.learner_type == LearnerType::Participant)
    }

    /// Non-voting members.
    pub fn observers(&self) -> impl Iterator<Item = &QuorumServer> {
        self.servers.iter().filter(|server| server.learner_type == LearnerType::Observer)
    }

    /// This server's role: the server list decides, `peerType` is only a hint (Java warns and
    /// follows the list; an id not in the list is a participant).
    pub fn effective_peer_type(&self) -> LearnerType {
        match self.server_id.and_then(|id| self.server(id)) {
            Some(server) => server.learner_type,
            None if self.servers.is_empty() => self.peer_type,
            None => LearnerType::Participant,
        }
    }

    /// How long a learner may take to connect to the leader:
    /// tickTime × (connectToLearnerMasterLimit, or initLimit when that is unset).
    pub fn leader_connect_timeout_ms(&self) -> u64 {
        let ticks = if self.connect_to_learner_master_limit > 0 {
            self.connect_to_learner_master_limit
        } else {
            self.init_limit
        };
        u64::from(self.tick_time_ms) * u64::from(ticks)
    }

    /// `snapSizeLimitInKb` in bytes, or None when disabled.
    pub fn snap_size_limit_bytes(&self) -> Option<u64> {
        u64::try_from(self.snap_size_limit_kb).ok().filter(|&kb| kb > 0).map(|kb| kb.saturating_mul(1024))
    }

    /// `preAllocSize` in bytes.
    pub fn pre_alloc_size_bytes(&self) -> u64 {
        self.pre_alloc_size_kb.saturating_mul(1024)
    }

    /// The slack Java allows over jute.maxbuffer for internal packets
    /// (`zookeeper.jute.maxbuffer.extrasize`, default equal to jute.maxbuffer).
    pub fn jute_maxbuffer_extrasize(&self) -> u32 {
        self.jute_maxbuffer_extrasize.unwrap_or(self.jute_maxbuffer)
    }

    /// The last value written for `key` (exact spelling), from the raw entries.
    pub fn raw_value(&self, key: &str) -> Option<&str> {
        self.raw.iter().rev().find(|entry| entry.key == key).map(|entry| entry.value.as_str())
    }
}

/// Providers that exist in ZooKeeper 3.8; anything else Java fails to load.
const KNOWN_METRICS_PROVIDERS: &[&str] =
    &["DefaultMetricsProvider", "NullMetricsProvider", "PrometheusMetricsProvider"];

/// `InetAddress.isAnyLocalAddress` for the literals people write.
fn is_wildcard_host(host: &str) -> bool {
    matches!(host, "0.0.0.0" | "::" | "[::]" | "0:0:0:0:0:0:0:0")
}

/// Java's `getVersionFromFilename`: the hex number after the last dot, if it is one.
fn dynamic_config_version_from_name(file: &str) -> Option<u64> {
    let (_, suffix) = file.rsplit_once('.')?;
    u64::from_str_radix(suffix, 16).ok()
}

/// Reads `data_dir/myid`: ASCII decimal on the first line, surrounding whitespace ignored,
/// 1..=255 (the id is the top byte of every session id this server mints).
/// `Ok(None)` when the file does not exist, which is fine for a standalone server.
pub fn read_myid(data_dir: &Path) -> Result<Option<u64>, ConfigError> {
    let path = data_dir.join("myid");
    let file = path.display().to_string();
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ConfigError::Io { file, source }),
    };
    let text = String::from_utf8_lossy(&bytes);
    let first_line = java_trim(text.lines().next().unwrap_or(""));
    let id: u64 = first_line.parse().map_err(|_| ConfigError::MyId {
        file: file.clone(),
        reason: format!("{first_line:?} is not a number"),
    })?;
    if !(1..=255).contains(&id) {
        return Err(ConfigError::MyId { file, reason: format!("{id} is outside 1..=255") });
    }
    Ok(Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The zoo.cfg the Kubernetes ZooKeeper tutorial shows (`kubectl exec zk-0 -- cat
    /// /opt/zookeeper/conf/zoo.cfg`), generated by its `start-zookeeper` script; note the
    /// space after `=` in the session timeouts.
    const TUTORIAL_ZOO_CFG: &str = "\
clientPort=2181
dataDir=/var/lib/zookeeper/data
dataLogDir=/var/lib/zookeeper/log
tickTime=2000
initLimit=10
syncLimit=2000
maxClientCnxns=60
minSessionTimeout= 4000
maxSessionTimeout= 40000
autopurge.snapRetainCount=3
autopurge.purgeInterval=0
server.1=zk-0.zk-hs.default.svc.cluster.local:2888:3888
server.2=zk-1.zk-hs.default.svc.cluster.local:2888:3888
server.3=zk-2.zk-hs.default.svc.cluster.local:2888:3888
";

    fn parse(text: &str) -> ServerConfig {
        match ServerConfig::parse_str(text, "zoo.cfg") {
            Ok(config) => config,
            Err(error) => panic!("unexpected error: {error}"),
        }
    }

    fn parse_err(text: &str) -> ConfigError {
        match ServerConfig::parse_str(text, "zoo.cfg") {
            Ok(_) => panic!("expected an error for:\n{text}"),
            Err(error) => error,
        }
    }

    fn with_data_dir(rest: &str) -> String {
        format!("dataDir=/tmp/zk\n{rest}")
    }

    fn is_unknown(config: &ServerConfig, key: &str) -> bool {
        config.unknown.iter().any(|(k, _, _)| k == key)
    }

    #[test]
    fn tutorial_config_parses() {
        let config = parse(TUTORIAL_ZOO_CFG);
        assert_eq!(config.client_port, Some(2181));
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/zookeeper/data"));
        assert_eq!(config.data_log_dir, PathBuf::from("/var/lib/zookeeper/log"));
        assert_eq!(config.tick_time_ms, 2000);
        assert_eq!((config.init_limit, config.sync_limit), (10, 2000));
        assert_eq!(config.max_client_cnxns, 60);
        assert_eq!(config.min_session_timeout_ms(), 4000);
        assert_eq!(config.max_session_timeout_ms(), 40000);
        assert_eq!(config.autopurge_snap_retain_count, 3);
        assert_eq!(config.autopurge_purge_interval_hours, 0);
        assert!(config.unknown.is_empty(), "{:?}", config.unknown);
        assert!(!config.is_standalone());
        assert!(config.is_distributed());
        let ids: Vec<u64> = config.servers.iter().map(|s| s.id).collect();
        assert_eq!(ids, [1, 2, 3]);
        let second = config.server(2).expect("server.2");
        assert_eq!(second.hostname(), "zk-1.zk-hs.default.svc.cluster.local");
        assert_eq!(second.addresses[0].quorum_port, 2888);
        assert_eq!(second.addresses[0].election_port, 3888);
        assert_eq!(second.learner_type, LearnerType::Participant);
        assert_eq!(second.client_address, None);
        assert_eq!(second.line, 13);
        assert_eq!(config.raw.len(), 14);
        assert_eq!(
            config.raw[7],
            RawEntry { key: "minSessionTimeout".into(), value: "4000".into(), line: 8 }
        );
        assert_eq!(config.raw_value("dataLogDir"), Some("/var/lib/zookeeper/log"));
        assert_eq!(config.leader_connect_timeout_ms(), 20_000);
        assert_eq!(config.initial_config, TUTORIAL_ZOO_CFG);
    }

    #[test]
    fn start_zookeeper_flags_config_with_myid() {
        // What `start-zookeeper --servers=3 --data_dir=/var/lib/zookeeper/data
        // --data_log_dir=/var/lib/zookeeper/data/log --sync_limit=5 --purge_interval=12 ...`
        // writes, with a comment header as the script adds.
        let text = "#This file was autogenerated DO NOT EDIT\n\
                    clientPort=2181\ndataDir=/var/lib/zookeeper/data\n\
                    dataLogDir=/var/lib/zookeeper/data/log\ntickTime=2000\ninitLimit=10\nsyncLimit=5\n\
                    maxClientCnxns=60\nminSessionTimeout=4000\nmaxSessionTimeout=40000\n\
                    autopurge.snapRetainCount=3\nautopurge.purgeInterval=12\n\
                    server.1=zk-0.zk-hs.default.svc.cluster.local:2888:3888\n\
                    server.2=zk-1.zk-hs.default.svc.cluster.local:2888:3888\n\
                    server.3=zk-2.zk-hs.default.svc.cluster.local:2888:3888\n";
        let mut config = parse(text);
        assert_eq!(config.sync_limit, 5);
        assert_eq!(config.autopurge_purge_interval_hours, 12);
        assert_eq!(config.data_log_dir, PathBuf::from("/var/lib/zookeeper/data/log"));
        assert_eq!(config.raw[0].line, 2, "comment lines still count");
        config.set_server_id(Some(2)).expect("myid 2 is in the list");
        assert_eq!(config.server_id, Some(2));
        assert_eq!(config.effective_peer_type(), LearnerType::Participant);
        assert_eq!(config.client_port, Some(2181));
    }

    #[test]
    fn java_defaults_apply() {
        let config = parse("dataDir=/tmp/zk\n");
        assert_eq!(config.tick_time_ms, 3000);
        assert_eq!(config.min_session_timeout_ms(), 6000);
        assert_eq!(config.max_session_timeout_ms(), 60000);
        assert_eq!(config.data_log_dir, PathBuf::from("/tmp/zk"));
        assert_eq!(config.client_port, None);
        assert_eq!(config.client_port_listen_backlog, None);
        assert_eq!(config.max_client_cnxns, 60);
        assert_eq!(config.autopurge_snap_retain_count, 3);
        assert_eq!(config.autopurge_purge_interval_hours, 0);
        assert_eq!(config.peer_type, LearnerType::Participant);
        assert!(config.standalone_enabled && !config.reconfig_enabled);
        assert_eq!(config.election_alg, 3);
        assert!(config.sync_enabled && !config.local_sessions_enabled && !config.quorum_listen_on_all_ips);
        assert_eq!(config.snap_count, 100_000);
        assert_eq!(config.snap_size_limit_bytes(), Some(4_194_304 * 1024));
        assert_eq!(config.pre_alloc_size_bytes(), 64 * 1024 * 1024);
        assert_eq!(config.global_outstanding_limit, 1000);
        assert_eq!(config.commit_log_count, 500);
        assert_eq!(config.snapshot_size_factor, 0.33);
        assert_eq!(config.four_letter_words.words().collect::<Vec<_>>(), ["srvr"]);
        assert_eq!(config.admin, AdminServerConfig::default());
        assert!(config.admin.enabled);
        assert_eq!((config.admin.port, config.admin.command_url.as_str()), (8080, "/commands"));
        assert_eq!(config.metrics_provider.class_name, DEFAULT_METRICS_PROVIDER);
        assert_eq!(config.metrics_provider.http_port, 7000);
        assert!(!config.extended_types_enabled && !config.skip_acl && !config.enforce_quota);
        assert!(config.digest_enabled && config.close_session_txn_enabled && config.force_sync);
        assert_eq!(config.super_digest, None);
        assert_eq!((config.max_cnxns, config.cnx_timeout_ms), (0, 5000));
        assert_eq!(config.jute_maxbuffer, 0xFFFFF);
        assert_eq!(config.jute_maxbuffer_extrasize(), 0xFFFFF);
        assert!(config.servers.is_empty());
        assert!(config.is_standalone());
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        assert_eq!(config.negotiate_session_timeout_ms(1), 6000);
        assert_eq!(config.negotiate_session_timeout_ms(-5), 6000);
        assert_eq!(config.negotiate_session_timeout_ms(30_000), 30_000);
        assert_eq!(config.negotiate_session_timeout_ms(i32::MAX), 60_000);
    }

    #[test]
    fn default_standalone_matches_the_sample_cfg() {
        let config = ServerConfig::default_standalone();
        assert_eq!(config.client_port, Some(2181));
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert_eq!(config.data_log_dir, PathBuf::from("./data"));
        assert_eq!(config.tick_time_ms, 2000);
        assert_eq!(config.min_session_timeout_ms(), 4000);
        assert_eq!(config.max_session_timeout_ms(), 40000);
        assert!(config.is_standalone());
    }

    #[test]
    fn properties_syntax_like_java() {
        let text = "  # comment\n\
                    ! also a comment\n\
                    \n\
                    a=1\n\
                    b 2\n\
                    c:3\n\
                    d = 4  \n\
                    \t e\t:\t5\n\
                    f==6\n\
                    g\n\
                    h=one \\\n      two\\\\\n\
                    i=tab\\there\\u0041\\:\\=\\\\x\n\
                    key\\ with\\ space=7\r\n\
                    j=8\r\
                    k=# not a comment\n\
                    l=cont\\\n\
                    # continued, not a comment\n\
                    m=last \\";
        let entries = parse_properties(text, "t.properties").expect("valid");
        let pairs: Vec<(&str, &str, usize)> =
            entries.iter().map(|e| (e.key.as_str(), e.value.as_str(), e.line)).collect();
        assert_eq!(
            pairs,
            [
                ("a", "1", 4),
                ("b", "2", 5),
                ("c", "3", 6),
                ("d", "4", 7),
                ("e", "5", 8),
                ("f", "=6", 9),
                ("g", "", 10),
                ("h", "one two\\", 11),
                ("i", "tab\there\u{41}:=\\x", 13),
                ("key with space", "7", 14),
                ("j", "8", 15),
                ("k", "# not a comment", 16),
                ("l", "cont# continued, not a comment", 17),
                ("m", "last", 19),
            ]
        );
    }

    #[test]
    fn malformed_unicode_escape_is_a_syntax_error() {
        let error = parse_err("dataDir=/tmp/zk\nx=\\u12G4\n");
        assert!(matches!(error, ConfigError::Syntax { line: 2, .. }), "{error:?}");
        assert!(error.to_string().contains("zoo.cfg, line 2"), "{error}");
    }

    #[test]
    fn duplicate_keys_last_wins_but_raw_keeps_both() {
        let config = parse("dataDir=/a\ntickTime=abc\ntickTime=1000\ndataDir=/b\n");
        assert_eq!(config.tick_time_ms, 1000, "an overridden bad value is never looked at, as in Java");
        assert_eq!(config.data_dir, PathBuf::from("/b"));
        assert_eq!(config.raw.len(), 4);
        assert_eq!(config.raw_value("tickTime"), Some("1000"));
    }

    #[test]
    fn malformed_values_name_file_key_and_line() {
        let cases: &[(&str, &str)] = &[
            ("tickTime=abc", "tickTime"),
            ("tickTime=0", "tickTime"),
            ("clientPort=70000", "clientPort"),
            ("clientPort=-5", "clientPort"),
            ("initLimit=ten", "initLimit"),
            ("syncLimit=-1", "syncLimit"),
            ("maxClientCnxns=lots", "maxClientCnxns"),
            ("minSessionTimeout=-2", "minSessionTimeout"),
            ("electionAlg=1", "electionAlg"),
            ("peerType=leader", "peerType"),
            ("standaloneEnabled=maybe", "standaloneEnabled"),
            ("localSessionsEnabled=yes", "localSessionsEnabled"),
            ("skipACL=maybe", "skipACL"),
            ("forceSync=often", "forceSync"),
            ("zookeeper.snapCount=many", "zookeeper.snapCount"),
            ("snapshotSizeFactor=NaN", "snapshotSizeFactor"),
            ("preAllocSize=-1", "preAllocSize"),
            ("admin.serverPort=80800", "admin.serverPort"),
            ("admin.enableServer=no", "admin.enableServer"),
            ("extendedTypesEnabled=1", "extendedTypesEnabled"),
            ("jute.maxbuffer=0", "jute.maxbuffer"),
            ("metricsProvider.httpPort=x", "metricsProvider.httpPort"),
            ("DigestAuthenticationProvider.superDigest=nocolon", "DigestAuthenticationProvider.superDigest"),
            ("autopurge.purgeInterval=1h", "autopurge.purgeInterval"),
        ];
        for (line, key) in cases {
            let error = parse_err(&format!("# header\ndataDir=/tmp/zk\n{line}\n"));
            match &error {
                ConfigError::InvalidValue { file, line: 3, key: k, .. } if k == key && file == "zoo.cfg" => {}
                other => panic!("{line}: unexpected {other:?}"),
            }
            let message = error.to_string();
            assert!(
                message.contains("zoo.cfg") && message.contains("line 3") && message.contains(key),
                "{message}"
            );
        }
    }

    #[test]
    fn data_dir_is_required() {
        let error = parse_err("clientPort=2181\n");
        assert!(matches!(&error, ConfigError::Missing { key, .. } if key == "dataDir"), "{error:?}");
        assert!(error.to_string().contains("dataDir"));
    }

    #[test]
    fn session_timeout_bounds() {
        let config = parse(&with_data_dir("tickTime=2000\nminSessionTimeout=-1\nmaxSessionTimeout=10000\n"));
        assert_eq!((config.min_session_timeout_ms(), config.max_session_timeout_ms()), (4000, 10000));
        let error = parse_err(&with_data_dir("minSessionTimeout=5000\nmaxSessionTimeout=4000\n"));
        assert!(
            matches!(&error, ConfigError::Inconsistent { key, line: 2, .. } if key == "minSessionTimeout"),
            "{error:?}"
        );
        // Only max given: compared with the 2×tick default minimum, blamed on max's line.
        let error = parse_err(&with_data_dir("tickTime=2000\nmaxSessionTimeout=3000\n"));
        assert!(
            matches!(&error, ConfigError::Inconsistent { key, line: 3, .. } if key == "maxSessionTimeout"),
            "{error:?}"
        );
    }

    #[test]
    fn client_port_address_needs_client_port() {
        let error = parse_err(&with_data_dir("clientPortAddress=127.0.0.1\n"));
        assert!(
            matches!(&error, ConfigError::Inconsistent { key, line: 2, .. } if key == "clientPortAddress")
        );
        let config = parse(&with_data_dir(
            "clientPort=2181\nclientPortAddress=127.0.0.1\nclientPort=0\nclientPort=2182\n",
        ));
        assert_eq!(config.client_port, Some(2182));
        assert_eq!(config.client_port_address.as_deref(), Some("127.0.0.1"));
        let error = parse_err(&with_data_dir("secureClientPortAddress=::1\n"));
        assert!(matches!(&error, ConfigError::Inconsistent { key, .. } if key == "secureClientPortAddress"));
        let config =
            parse(&with_data_dir("clientPort=0\nsecureClientPort=2281\nclientPortListenBacklog=-1\n"));
        assert_eq!((config.client_port, config.secure_client_port), (None, Some(2281)));
        assert_eq!(config.client_port_listen_backlog, None);
    }

    #[test]
    fn clamped_values_warn_like_java() {
        let config = parse(&with_data_dir(
            "autopurge.snapRetainCount=1\nsnapCount=1\ncommitLogCount=100\nsnapshotSizeFactor=2\n\
             maxCnxns=-3\nmaxClientCnxns=-1\nautopurge.purgeInterval=-4\n",
        ));
        assert_eq!(config.autopurge_snap_retain_count, 3);
        assert_eq!(config.snap_count, 2);
        assert_eq!(config.commit_log_count, 500);
        assert_eq!(config.snapshot_size_factor, 0.33);
        assert_eq!(
            (config.max_cnxns, config.max_client_cnxns, config.autopurge_purge_interval_hours),
            (0, 0, 0)
        );
        assert_eq!(config.warnings.len(), 5, "{:?}", config.warnings);
        // The golden `snap` scenario disables log-based sync this way.
        let config = parse(&with_data_dir("snapshotSizeFactor=-1\nsnapSizeLimitInKb=0\n"));
        assert_eq!(config.snapshot_size_factor, -1.0);
        assert_eq!(config.snap_size_limit_bytes(), None);
    }

    #[test]
    fn server_lines_with_roles_and_client_addresses() {
        let config = parse(&with_data_dir(
            "initLimit=5\nsyncLimit=2\n\
             server.1=10.0.0.1:2888:3888;2181\n\
             server.2=10.0.0.2:2888:3888:participant;10.0.0.2:2182\n\
             server.3=10.0.0.3:2888:3888\n\
             server.4=10.0.0.4:2888:3888: Observer \n\
             server.5=[fe80::1]:2888:3888:observer;[::1]:2183\n",
        ));
        assert_eq!(config.participants().count(), 3);
        assert_eq!(config.observers().map(|s| s.id).collect::<Vec<_>>(), [4, 5]);
        let one = config.server(1).expect("server.1");
        assert_eq!(one.client_address, Some(ClientAddress { host: "0.0.0.0".into(), port: 2181 }));
        let two = config.server(2).expect("server.2");
        assert_eq!(two.client_address, Some(ClientAddress { host: "10.0.0.2".into(), port: 2182 }));
        let five = config.server(5).expect("server.5");
        assert_eq!(five.hostname(), "fe80::1");
        assert_eq!(five.client_address, Some(ClientAddress { host: "::1".into(), port: 2183 }));
        // Java's QuorumServer.toString, as the conf command prints the membership.
        assert_eq!(one.to_string(), "10.0.0.1:2888:3888:participant;0.0.0.0:2181");
        assert_eq!(config.server(3).expect("server.3").to_string(), "10.0.0.3:2888:3888:participant");
        assert_eq!(config.server(4).expect("server.4").to_string(), "10.0.0.4:2888:3888:observer");
        assert_eq!(five.to_string(), "[fe80::1]:2888:3888:observer;[::1]:2183");
        assert!(config.is_distributed());
        assert!(
            config.warnings.iter().all(|w| !w.contains("odd")),
            "3 voters is fine: {:?}",
            config.warnings
        );
    }

    #[test]
    fn malformed_server_lines() {
        let cases = [
            "server.1=host:2888",
            "server.1=host:2888:3888:observer:extra",
            "server.1=host:2888:2888",
            "server.1=host:x:3888",
            "server.1=host:2888:99999",
            "server.1=host:2888:3888:leader",
            "server.1=host:2888:3888;a:b:c",
            "server.1=host:2888:3888;2181;x",
            "server.1=host:2888:3888;port",
            "server.1=:2888:3888",
            "server.1=[::1:2888:3888",
            "server.1=a:2888:3888|b:2888:3888",
        ];
        for line in cases {
            let error = parse_err(&with_data_dir(&format!("{line}\n")));
            assert!(
                matches!(&error, ConfigError::InvalidValue { key, line: 2, .. } if key == "server.1"),
                "{line}: {error:?}"
            );
        }
        let error = parse_err(&with_data_dir("server.x=host:2888:3888\n"));
        assert!(matches!(&error, ConfigError::Inconsistent { key, .. } if key == "server.x"), "{error:?}");
        let error = parse_err(&with_data_dir("server.1=a:1:2\nserver.01=b:1:2\n"));
        assert!(matches!(&error, ConfigError::Inconsistent { line: 3, .. }), "{error:?}");
    }

    #[test]
    fn multi_address_needs_the_switch() {
        for switch in ["multiAddress.enabled=true", "zookeeper.multiAddress.enabled=true"] {
            let config = parse(&with_data_dir(&format!(
                "server.1=a1:2888:3888|a2:2889:3889\n{switch}\nserver.2=b:2888:3888\nserver.3=c:2888:3888\n\
                 initLimit=5\nsyncLimit=2\n"
            )));
            let one = config.server(1).expect("server.1");
            assert_eq!(one.addresses.len(), 2);
            assert_eq!(one.hostname(), "a2");
            assert_eq!(one.to_string(), "a1:2888:3888|a2:2889:3889:participant");
        }
        let error = parse_err(&with_data_dir(
            "multiAddress.enabled=true\nserver.1=a:1:2:observer|b:1:2:participant\n",
        ));
        assert!(matches!(error, ConfigError::InvalidValue { .. }), "{error:?}");
    }

    #[test]
    fn standalone_rule_follows_java() {
        // One participant with standaloneEnabled (the default): standalone, with a warning.
        let config = parse(&with_data_dir("server.1=localhost:2888:3888\n"));
        assert!(config.is_standalone());
        assert_eq!(config.warnings.len(), 1);
        // standaloneEnabled=false: a one-member ensemble runs quorum code, so limits are required.
        let error = parse_err(&with_data_dir("standaloneEnabled=false\nserver.1=localhost:2888:3888\n"));
        assert!(matches!(&error, ConfigError::Missing { key, .. } if key == "initLimit"), "{error:?}");
        let config = parse(&with_data_dir(
            "standaloneEnabled=false\ninitLimit=5\nsyncLimit=2\nserver.1=localhost:2888:3888\n",
        ));
        assert!(!config.is_standalone());
        // standaloneEnabled=false without any server: Java refuses.
        let error = parse_err(&with_data_dir("standaloneEnabled=false\n"));
        assert!(
            matches!(&error, ConfigError::Inconsistent { key, line: 2, .. } if key == "standaloneEnabled"),
            "{error:?}"
        );
        // Observers never count as voters.
        let error = parse_err(&with_data_dir("server.1=a:1:2:observer\n"));
        assert!(matches!(&error, ConfigError::Inconsistent { key, .. } if key == "server.1"), "{error:?}");
        let error = parse_err(&with_data_dir("server.1=a:1:2\nserver.2=b:1:2:observer\n"));
        assert!(
            matches!(&error, ConfigError::Inconsistent { key, line: 3, .. } if key == "server.2"),
            "{error:?}"
        );
        // Two voters: distributed, with Java's fault-tolerance warning; syncLimit missing is fatal.
        let error = parse_err(&with_data_dir("initLimit=5\nserver.1=a:1:2\nserver.2=b:1:2\n"));
        assert!(matches!(&error, ConfigError::Missing { key, .. } if key == "syncLimit"), "{error:?}");
        let config = parse(&with_data_dir("initLimit=5\nsyncLimit=2\nserver.1=a:1:2\nserver.2=b:1:2\n"));
        assert!(config.is_distributed());
        assert!(config.warnings.iter().any(|w| w.contains("at least 3")), "{:?}", config.warnings);
        let config = parse(&with_data_dir(
            "initLimit=5\nsyncLimit=2\nserver.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\nserver.4=d:1:2\n",
        ));
        assert!(config.warnings.iter().any(|w| w.contains("odd")), "{:?}", config.warnings);
    }

    #[test]
    fn hierarchical_and_version_entries_are_kept() {
        let config = parse(&with_data_dir(
            "initLimit=5\nsyncLimit=2\nserver.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\n\
             group.1=1:2:3\nweight.1=1\nweight.2=1\nweight.3=1\nversion=100000000\n",
        ));
        assert_eq!(config.groups, [("group.1".to_owned(), "1:2:3".to_owned(), 7)]);
        assert_eq!(config.weights.len(), 3);
        assert_eq!(config.config_version, Some(0x1_0000_0000));
        assert!(config.unknown.is_empty(), "{:?}", config.unknown);
    }

    #[test]
    fn four_letter_word_whitelist() {
        let config = parse(&with_data_dir("4lw.commands.whitelist=stat, ruok , conf,,\n"));
        assert_eq!(config.four_letter_words.words().collect::<Vec<_>>(), ["conf", "ruok", "srvr", "stat"]);
        assert!(config.four_letter_words.allows("ruok"));
        assert!(!config.four_letter_words.allows("RUOK"), "case-sensitive like Java");
        assert!(!config.four_letter_words.allows("mntr"));
        assert!(!config.four_letter_words.allows_all());
        let config = parse(&with_data_dir("zookeeper.4lw.commands.whitelist=*\n"));
        assert!(config.four_letter_words.allows_all());
        assert!(KNOWN_FOUR_LETTER_WORDS.iter().all(|word| config.four_letter_words.allows(word)));
        let config = parse(&with_data_dir("readonlymode.enabled=true\n"));
        assert_eq!(config.four_letter_words.words().collect::<Vec<_>>(), ["isro", "srvr"]);
        assert_eq!(FourLetterWordWhitelist::parse(Some(""), false).words().collect::<Vec<_>>(), ["srvr"]);
    }

    #[test]
    fn system_properties_accept_both_spellings() {
        let config = parse(&with_data_dir(
            "zookeeper.extendedTypesEnabled=true\n\
             zookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n\
             snapCount=5000\nzookeeper.preAllocSize=1024\nglobalOutstandingLimit=10\n\
             skipACL=yes\nforceSync=no\nleaderServes=no\ndigest.enabled=false\n\
             admin.enableServer=false\nadmin.serverPort=9090\nzookeeper.admin.serverAddress=127.0.0.1\n\
             admin.commandURL=/cmd\ncnxTimeout=1234\nmaxCnxns=100\njute.maxbuffer=4194304\n\
             jute.maxbuffer.extrasize=1024\nenforceQuota=true\ncloseSessionTxn.enabled=false\n\
             metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n\
             metricsProvider.httpPort=7001\nmetricsProvider.exportJvmInfo=false\n",
        ));
        assert!(config.extended_types_enabled);
        assert_eq!(config.super_digest.as_deref(), Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU="));
        assert_eq!(config.snap_count, 5000);
        assert_eq!(config.pre_alloc_size_bytes(), 1024 * 1024);
        assert_eq!(config.global_outstanding_limit, 10);
        assert!(config.skip_acl && !config.force_sync && !config.leader_serves && !config.digest_enabled);
        assert!(!config.admin.enabled);
        assert_eq!(config.admin.port, 9090);
        assert_eq!(config.admin.address, "127.0.0.1");
        assert_eq!(config.admin.command_url, "/cmd");
        assert_eq!((config.cnx_timeout_ms, config.max_cnxns), (1234, 100));
        assert_eq!(config.jute_maxbuffer, 4 * 1024 * 1024);
        assert_eq!(config.jute_maxbuffer_extrasize(), 1024);
        assert!(config.enforce_quota && !config.close_session_txn_enabled);
        assert!(config.metrics_provider.is_prometheus());
        assert_eq!(config.metrics_provider.http_port, 7001);
        assert_eq!(
            config.metrics_provider.properties,
            [("httpPort".to_owned(), "7001".to_owned()), ("exportJvmInfo".to_owned(), "false".to_owned())]
        );
        assert!(config.unknown.is_empty(), "{:?}", config.unknown);
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);

        let config = parse(&with_data_dir(
            "extendedTypesEnabled=true\nDigestAuthenticationProvider.superDigest=super:x\n",
        ));
        assert!(config.extended_types_enabled);
        assert_eq!(config.super_digest.as_deref(), Some("super:x"));
        // Last one wins when both spellings appear.
        let config = parse(&with_data_dir("snapCount=10\nzookeeper.snapCount=20\n"));
        assert_eq!(config.snap_count, 20);
    }

    #[test]
    fn every_listed_system_property_is_handled_in_both_spellings() {
        let candidates = ["10", "true", "yes", "super:x", "/x", "1.5"];
        for name in SYSTEM_PROPERTY_SETTINGS {
            for key in [name.to_string(), format!("zookeeper.{name}")] {
                let handled = candidates.iter().any(|value| {
                    ServerConfig::parse_str(&with_data_dir(&format!("{key}={value}\n")), "zoo.cfg")
                        .is_ok_and(|config| !is_unknown(&config, &key))
                });
                assert!(handled, "{key} is listed but not handled");
            }
        }
    }

    #[test]
    fn unknown_keys_are_collected_not_fatal() {
        let config = parse(&with_data_dir(
            "zookeeper.tickTime=100\nssl.keyStore.location=/k\nzookeeper.jute.maxbuffer=5\n\
             superDigest=super:x\nrequest_throttle_max_requests=5\n",
        ));
        assert_eq!(config.tick_time_ms, DEFAULT_TICK_TIME_MS, "zookeeper.tickTime is not tickTime");
        assert_eq!(config.jute_maxbuffer, DEFAULT_JUTE_MAXBUFFER);
        assert_eq!(config.super_digest, None);
        let keys: Vec<(&str, usize)> =
            config.unknown.iter().map(|(k, _, line)| (k.as_str(), *line)).collect();
        assert_eq!(
            keys,
            [
                ("zookeeper.tickTime", 2),
                ("ssl.keyStore.location", 3),
                ("zookeeper.jute.maxbuffer", 4),
                ("superDigest", 5),
                ("request_throttle_max_requests", 6)
            ]
        );
        assert_eq!(config.unknown[1].1, "/k");
    }

    #[test]
    fn observer_sync_enabled_overrides_sync_enabled() {
        let config = parse(&with_data_dir("observer.syncEnabled=false\nsyncEnabled=true\n"));
        assert!(!config.sync_enabled);
        let config = parse(&with_data_dir("syncEnabled=false\n"));
        assert!(!config.sync_enabled);
    }

    #[test]
    fn quorum_sasl_rules() {
        let error = parse_err(&with_data_dir("quorum.auth.serverRequireSasl=true\n"));
        assert!(
            matches!(&error, ConfigError::Inconsistent { key, .. } if key == "quorum.auth.serverRequireSasl")
        );
        let error =
            parse_err(&with_data_dir("quorum.auth.enableSasl=true\nquorum.auth.serverRequireSasl=true\n"));
        assert!(matches!(&error, ConfigError::Inconsistent { .. }), "{error:?}");
        let config = parse(&with_data_dir(
            "quorum.auth.enableSasl=true\nquorum.auth.serverRequireSasl=true\nquorum.auth.learnerRequireSasl=true\n",
        ));
        assert!(config.quorum_sasl.server_require_sasl);
    }

    #[test]
    fn dynamic_config_file_keeps_servers_out_of_the_static_file() {
        let error = parse_err(&with_data_dir("dynamicConfigFile=/x/zoo.cfg.dynamic\nserver.1=a:1:2\n"));
        assert!(
            matches!(&error, ConfigError::Inconsistent { key, line: 3, .. } if key == "server.1"),
            "{error:?}"
        );
        let mut config = parse(&with_data_dir("dynamicConfigFile=/x/zoo.cfg.dynamic.100000000\n"));
        assert!(config.servers.is_empty());
        config
            .apply_dynamic_config_str(
                "server.1=a:1:2;2181\nserver.2=b:1:2\nserver.3=c:1:2:observer\n",
                "dyn",
                Some(7),
            )
            .expect_err("initLimit/syncLimit are required once distributed");
        let mut config = parse(&with_data_dir("initLimit=5\nsyncLimit=2\ndynamicConfigFile=/x/d\n"));
        config
            .apply_dynamic_config_str(
                "server.1=a:1:2;2181\nserver.2=b:1:2\nserver.3=c:1:2:observer\n",
                "dyn",
                Some(7),
            )
            .expect("valid dynamic file");
        assert_eq!(config.servers.len(), 3);
        assert_eq!(config.config_version, Some(7));
        let error = config
            .apply_dynamic_config_str("server.1=a:1:2\ntickTime=5\n", "dyn", None)
            .expect_err("bad key");
        assert!(
            matches!(&error, ConfigError::Inconsistent { key, line: 2, .. } if key == "tickTime"),
            "{error:?}"
        );
        let error =
            config.apply_dynamic_config_str("server.1=a:1:2\nversion=1\n", "dyn", None).expect_err("version");
        assert!(matches!(&error, ConfigError::Inconsistent { key, .. } if key == "version"), "{error:?}");
        assert_eq!(dynamic_config_version_from_name("/x/zoo.cfg.dynamic.100000000"), Some(0x1_0000_0000));
        assert_eq!(dynamic_config_version_from_name("/x/zoo.cfg.dynamic"), None);
    }

    #[test]
    fn server_id_rules() {
        let quorum = with_data_dir(
            "clientPort=2181\ninitLimit=5\nsyncLimit=2\n\
             server.1=a:1:2\nserver.2=b:1:2;10.0.0.2:2182\nserver.3=c:1:2:observer\n",
        );
        let error = parse(&quorum).set_server_id(None).expect_err("a quorum member needs a myid");
        assert!(matches!(&error, ConfigError::MyId { file, .. } if file.ends_with("myid")), "{error:?}");
        let error = parse(&quorum).set_server_id(Some(9)).expect_err("not in the list");
        assert!(error.to_string().contains("9"), "{error}");
        // The own line's client part must agree with a static clientPort.
        let error = parse(&quorum).set_server_id(Some(2)).expect_err("2181 vs 2182");
        assert!(
            matches!(&error, ConfigError::Inconsistent { key, line: 6, .. } if key == "server.2"),
            "{error:?}"
        );
        let mut config = parse(&quorum.replace("clientPort=2181", "clientPort=2182"));
        config.set_server_id(Some(2)).expect("agrees");
        assert_eq!(config.client_port, Some(2182));
        assert_eq!(config.client_port_address.as_deref(), Some("10.0.0.2"));
        // Without a static clientPort the server line supplies it.
        let mut config = parse(&quorum.replace("clientPort=2181\n", ""));
        config.set_server_id(Some(2)).expect("valid");
        assert_eq!(config.client_port, Some(2182));
        // The server list decides the role; peerType is only a hint.
        let mut config = parse(&quorum.replace("clientPort=2181", "peerType=observer"));
        config.set_server_id(Some(1)).expect("valid");
        assert_eq!(config.effective_peer_type(), LearnerType::Participant);
        assert!(config.warnings.iter().any(|w| w.contains("peerType")), "{:?}", config.warnings);
        let mut config = parse(&quorum);
        config.set_server_id(Some(3)).expect("observer");
        assert_eq!(config.effective_peer_type(), LearnerType::Observer);
        // Standalone: no myid needed, any id accepted, but extended types cap it at 254.
        let mut config = parse(&with_data_dir("extendedTypesEnabled=true\n"));
        config.set_server_id(None).expect("standalone");
        config.set_server_id(Some(254)).expect("254 fits");
        config.set_server_id(Some(255)).expect_err("255 collides with the extended-type marker");
    }

    #[test]
    fn read_myid_rules() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(read_myid(dir.path()).expect("missing is fine"), None);
        let myid = dir.path().join("myid");
        for (text, expected) in [("3\n", 3), (" 7 \r\n", 7), ("255", 255), ("1\nignored\n", 1)] {
            std::fs::write(&myid, text).expect("write");
            assert_eq!(read_myid(dir.path()).expect(text), Some(expected));
        }
        for text in ["0", "256", "abc", "", "-1", "1.0"] {
            std::fs::write(&myid, text).expect("write");
            let error = read_myid(dir.path()).expect_err(text);
            assert!(matches!(error, ConfigError::MyId { .. }), "{text}: {error:?}");
        }
    }

    #[test]
    fn load_reads_file_dynamic_file_and_myid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("mkdir");
        std::fs::write(data.join("myid"), "2\n").expect("write myid");
        let dynamic = dir.path().join("zoo.cfg.dynamic.100000000");
        std::fs::write(&dynamic, "server.1=127.0.0.1:32881:33881;32181\nserver.2=127.0.0.1:32882:33882;32182\nserver.3=127.0.0.1:32883:33883;32183\n")
            .expect("write dynamic");
        let cfg = dir.path().join("zoo.cfg");
        std::fs::write(
            &cfg,
            format!(
                "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={}\nreconfigEnabled=true\n\
                 dynamicConfigFile={}\nsnapshotSizeFactor=-1\ncommitLogCount=100\n",
                data.display(),
                dynamic.display()
            ),
        )
        .expect("write cfg");
        let config = ServerConfig::load(&cfg).expect("loads");
        assert_eq!(config.server_id, Some(2));
        assert_eq!(config.servers.len(), 3);
        assert_eq!(config.config_version, Some(0x1_0000_0000));
        assert_eq!(config.client_port, Some(32182));
        assert_eq!(config.client_port_address.as_deref(), Some("0.0.0.0"));
        assert!(config.is_distributed() && config.reconfig_enabled);
        assert_eq!(config.commit_log_count, 500, "Java clamps to 500");
        assert_eq!(config.source, cfg.display().to_string());

        let missing = dir.path().join("nope.cfg");
        let error = ServerConfig::load(&missing).expect_err("no file");
        assert!(matches!(error, ConfigError::Io { .. }));
        assert!(error.to_string().contains("nope.cfg"));
    }

    #[test]
    fn latin1_files_still_parse() {
        assert_eq!(decode_properties_bytes(b"dataDir=/tmp/\xe9t\xe9\n"), "dataDir=/tmp/\u{e9}t\u{e9}\n");
        assert_eq!(decode_properties_bytes("dataDir=/tmp/été\n".as_bytes()), "dataDir=/tmp/été\n");
    }
}
