//! Four-letter words: the text Java 3.8 prints for each, and the whitelist.

use crate::sessions::SessionTracker;
use crate::settings::Settings;
use crate::stats::{ConnectionStats, ServerStats};
use datatree::DataTree;
use std::fmt::Write as _;
use std::net::SocketAddr;

/// The version line clients and tools read (`zkServer.sh status`, `srvr`, `mntr`).
pub const VERSION: &str =
    concat!("3.8.0-ferrokeeper-", env!("CARGO_PKG_VERSION"), ", built on 1970-01-01 00:00 UTC");

/// Every word Java 3.8 knows; any other first four bytes are read as a frame length.
pub const WORDS: &[&str] = &[
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro", "mntr", "ruok", "srst", "srvr",
    "stat", "stmk", "wchc", "wchp", "wchs",
];

pub fn is_four_letter_word(prefix: &[u8; 4]) -> Option<&'static str> {
    WORDS.iter().copied().find(|word| word.as_bytes() == prefix)
}

/// A moment's view of the server, taken by the core.
pub struct View<'a> {
    pub settings: &'a Settings,
    pub stats: &'a ServerStats,
    pub tree: &'a DataTree,
    pub sessions: &'a SessionTracker,
    pub connections: Vec<ConnectionView>,
    /// Watches are kept per connection; `wchc`/`wchp` name them by session.
    pub session_of_watcher: std::collections::HashMap<u64, i64>,
    pub outstanding: usize,
    pub uptime_ms: u64,
    /// Quorum mode: the member's role (None when standalone).
    pub quorum: Option<crate::core::QuorumView>,
}

/// What srvr/stat print while a quorum member does not serve (Java's ZK_NOT_SERVING).
pub const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";

pub struct ConnectionView {
    pub remote: SocketAddr,
    /// The connection asking for this word: Java lists it too, with no read interest (`[0]`).
    pub is_asking: bool,
    pub session_id: i64,
    pub timeout_ms: i32,
    pub queued: usize,
    pub stats: ConnectionStats,
    pub established_at_ms: i64,
}

/// A side effect some words have.
pub enum Action {
    None,
    ResetServerStats,
    ResetConnectionStats,
}

/// Java rounds averages to 4 decimals before printing them.
pub fn rounded(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

/// Java prints doubles through Double.toString after rounding to 4 decimals.
fn java_double(value: f64) -> String {
    crate::json::java_double_to_string(rounded(value))
}

pub fn execute(word: &str, view: &View<'_>) -> (String, Action) {
    let full = word;
    let word = word.split_whitespace().next().unwrap_or(word);
    if !view.settings.whitelist.allows(word) {
        return (format!("{word} is not executed because it is not in the whitelist.\n"), Action::None);
    }
    if view.quorum.as_ref().is_some_and(|q| !q.serving) {
        // A quorum member without a leader answers these as Java's do (isZKServerRunning).
        match word {
            "isro" => return ("null".to_string(), Action::None),
            "hash" => return (NOT_SERVING.trim_end().to_string(), Action::None),
            "srvr" | "stat" | "mntr" | "cons" | "crst" | "dump" | "srst" | "wchs" | "wchc" | "wchp"
            | "dirs" | "conf" => return (NOT_SERVING.to_string(), Action::None),
            _ => {}
        }
    }
    match word {
        "ruok" => ("imok".to_string(), Action::None),
        "isro" => ("rw".to_string(), Action::None),
        "srvr" => (server_stats(view, false), Action::None),
        "stat" => (server_stats(view, true), Action::None),
        "mntr" => (monitor(view), Action::None),
        "conf" => (conf(view), Action::None),
        "envi" => (environment(), Action::None),
        "cons" => (connections(view, true), Action::None),
        "crst" => ("Connection stats reset.\n".to_string(), Action::ResetConnectionStats),
        "srst" => ("Server stats reset.\n".to_string(), Action::ResetServerStats),
        "dirs" => (dirs(view), Action::None),
        "wchs" => (watch_summary(view), Action::None),
        "wchc" => (watches_by_session(view), Action::None),
        "wchp" => (watches_by_path(view), Action::None),
        "dump" => (dump(view), Action::None),
        "gtmk" => (view.stats.trace_mask().to_string(), Action::None),
        "hash" => {
            let mut out = String::new();
            for (zxid, digest) in view.stats.digest_log() {
                let _ = writeln!(out, "{zxid:x}: {digest}");
            }
            (out, Action::None)
        }
        "stmk" => {
            // The connection reads the 8-byte mask after the word and passes it as "stmk <mask>".
            let mask = full.split_whitespace().nth(1).and_then(|m| m.parse().ok()).unwrap_or(0);
            view.stats.set_trace_mask(mask);
            (mask.to_string(), Action::None)
        }
        other => (format!("{other} is not yet implemented by ferrokeeper\n"), Action::None),
    }
}

fn server_stats(view: &View<'_>, with_clients: bool) -> String {
    if view.quorum.as_ref().is_some_and(|q| !q.serving) {
        return NOT_SERVING.to_string();
    }
    let mut out = String::new();
    let _ = writeln!(out, "Zookeeper version: {VERSION}");
    if with_clients {
        out.push_str("Clients:\n");
        out.push_str(&connections(view, false));
    }
    let stats = view.stats;
    let _ = writeln!(
        out,
        "Latency min/avg/max: {}/{}/{}",
        stats.min_latency_ms(),
        java_double(stats.avg_latency_ms()),
        stats.max_latency_ms()
    );
    let _ = writeln!(out, "Received: {}", stats.packets_received());
    let _ = writeln!(out, "Sent: {}", stats.packets_sent());
    let _ = writeln!(out, "Connections: {}", view.connections.len());
    let _ = writeln!(out, "Outstanding: {}", view.outstanding);
    let _ = writeln!(out, "Zxid: 0x{:x}", view.tree.last_processed_zxid());
    let _ = writeln!(out, "Mode: {}", view.quorum.as_ref().map_or("standalone", |q| q.mode));
    let _ = writeln!(out, "Node count: {}", view.tree.node_count());
    out
}

/// One line per connection; `detailed` adds the session fields `cons` prints.
fn connections(view: &View<'_>, detailed: bool) -> String {
    let mut out = String::new();
    for c in &view.connections {
        let _ = write!(
            out,
            " /{}[{}](queued={},recved={},sent={}",
            c.remote,
            if c.is_asking { 0 } else { 1 },
            c.queued,
            c.stats.received,
            c.stats.sent
        );
        if detailed && c.session_id != 0 {
            let s = &c.stats;
            let avg = s.total_latency_ms.checked_div(s.count).unwrap_or(0);
            let _ = write!(
                out,
                ",sid=0x{:x},lop={},est={},to={},lcxid=0x{:x},lzxid=0x{:x},lresp={},llat={},minlat={},avglat={},maxlat={}",
                c.session_id,
                abbreviated_op(s.last_op),
                c.established_at_ms,
                c.timeout_ms,
                i64::from(s.last_cxid),
                s.last_zxid,
                c.established_at_ms,
                s.last_latency_ms,
                s.min_latency_ms.unwrap_or(0),
                avg,
                s.max_latency_ms
            );
        }
        out.push_str(")\n");
    }
    out.push('\n');
    out
}

/// Java's `cons` prints operation abbreviations (Request.op2String is not used there).
pub fn abbreviated_op(opcode: i32) -> &'static str {
    use jute::consts::op;
    match opcode {
        op::CREATE | op::CREATE2 | op::CREATE_TTL | op::CREATE_CONTAINER => "CREA",
        op::DELETE | op::DELETE_CONTAINER => "DELE",
        op::EXISTS => "EXIS",
        op::GET_DATA => "GETD",
        op::SET_DATA => "SETD",
        op::GET_ACL => "GETA",
        op::SET_ACL => "SETA",
        op::GET_CHILDREN => "GETC",
        op::GET_CHILDREN2 => "GETC",
        op::SYNC => "SYNC",
        op::PING => "PING",
        op::MULTI => "MULT",
        op::CLOSE_SESSION => "CLOS",
        op::SET_WATCHES | op::SET_WATCHES2 => "SETW",
        _ => "NA",
    }
}

/// Every key Java prints, in Java's order. Quantities ferrokeeper measures carry their value;
/// the rest (JVM, quorum and processor-queue internals with no counterpart here yet) print as
/// Java prints an untouched metric.
fn monitor(view: &View<'_>) -> String {
    let mut out = String::new();
    for (key, value) in monitor_values(view) {
        let _ = writeln!(out, "{key}\t{value}");
    }
    out
}

/// mntr's keys and values in Java's order (also the AdminServer's `monitor` and /metrics).
pub fn monitor_values(view: &View<'_>) -> Vec<(&'static str, String)> {
    let stats = view.stats;
    let tree = view.tree;
    let (open_fds, max_fds) = file_descriptors();
    let measured: std::collections::HashMap<&str, String> = [
        ("zk_version", VERSION.to_string()),
        ("zk_server_state", view.quorum.as_ref().map_or("standalone", |q| q.mode).to_string()),
        ("zk_ephemerals_count", tree.ephemerals_count().to_string()),
        ("zk_num_alive_connections", view.connections.len().to_string()),
        ("zk_avg_latency", java_double(stats.avg_latency_ms())),
        ("zk_outstanding_requests", view.outstanding.to_string()),
        ("zk_znode_count", tree.node_count().to_string()),
        ("zk_global_sessions", view.sessions.len().to_string()),
        ("zk_last_client_response_size", stats.last_response_size().to_string()),
        ("zk_min_client_response_size", stats.min_response_size().to_string()),
        ("zk_max_client_response_size", stats.max_response_size().to_string()),
        ("zk_packets_sent", stats.packets_sent().to_string()),
        ("zk_packets_received", stats.packets_received().to_string()),
        ("zk_connection_drop_probability", "0.0".to_string()),
        ("zk_watch_count", tree.watch_count().to_string()),
        ("zk_auth_failed_count", stats.auth_failed_count().to_string()),
        ("zk_min_latency", stats.min_latency_ms().to_string()),
        ("zk_max_file_descriptor_count", max_fds.to_string()),
        ("zk_approximate_data_size", tree.approximate_data_size().to_string()),
        ("zk_open_file_descriptor_count", open_fds.to_string()),
        ("zk_uptime", view.uptime_ms.to_string()),
        ("zk_max_latency", stats.max_latency_ms().to_string()),
        ("zk_connection_request_count", stats.connection_request_count().to_string()),
    ]
    .into_iter()
    .collect();
    let mut measured = measured;
    for (name, summary) in [("readlatency", stats.read_latency()), ("updatelatency", stats.update_latency())]
    {
        let mut put = |prefix: &str, value: String| {
            measured.insert(leak_key(&format!("zk_{prefix}_{name}")), value);
        };
        put("avg", java_double(summary.avg()));
        put("min", summary.min.unwrap_or(0).to_string());
        put("max", summary.max.to_string());
        put("cnt", summary.count.to_string());
        put("sum", summary.sum.to_string());
        put("p50", summary.quantile(0.5).to_string());
        put("p95", summary.quantile(0.95).to_string());
        put("p99", summary.quantile(0.99).to_string());
        put("p999", summary.quantile(0.999).to_string());
    }
    let fsync_time = stats.fsync_time();
    measured.insert("zk_avg_fsynctime", java_double(fsync_time.avg()));
    measured.insert("zk_min_fsynctime", fsync_time.min.unwrap_or(0).to_string());
    measured.insert("zk_max_fsynctime", fsync_time.max.to_string());
    measured.insert("zk_cnt_fsynctime", fsync_time.count.to_string());
    measured.insert("zk_sum_fsynctime", fsync_time.sum.to_string());
    if let Some(quorum) = &view.quorum {
        let (count, sum, min, max) = quorum.election_times_ms;
        let avg = if count == 0 { 0.0 } else { sum as f64 / count as f64 };
        measured.insert("zk_avg_election_time", java_double(avg));
        measured.insert("zk_min_election_time", min.to_string());
        measured.insert("zk_max_election_time", max.to_string());
        measured.insert("zk_cnt_election_time", count.to_string());
        measured.insert("zk_sum_election_time", sum.to_string());
    }
    crate::mntr_keys::JAVA_MNTR_KEYS
        .iter()
        .map(|key| {
            let value = match measured.get(key) {
                Some(value) => value.clone(),
                None if key.starts_with("zk_avg_") => "0.0".to_string(),
                None => "0".to_string(),
            };
            (*key, value)
        })
        .chain(quorum_monitor_values(view))
        .collect()
}

/// The keys Java adds for a quorum member: zk_peer_state, and on the leader the learner counts.
fn quorum_monitor_values(view: &View<'_>) -> Vec<(&'static str, String)> {
    let Some(quorum) = &view.quorum else { return Vec::new() };
    let mut values = vec![("zk_peer_state", quorum.peer_state.clone())];
    if quorum.mode == "leader" {
        values.push(("zk_learners", quorum.learners.to_string()));
        values.push(("zk_synced_followers", quorum.synced_followers.to_string()));
        values.push(("zk_synced_non_voting_followers", "0".to_string()));
        values.push(("zk_synced_observers", "0".to_string()));
        values.push(("zk_pending_syncs", "0".to_string()));
    }
    values
}

/// Summary keys are built at run time but always name one of the static mntr keys.
fn leak_key(key: &str) -> &'static str {
    crate::mntr_keys::JAVA_MNTR_KEYS.iter().copied().find(|k| *k == key).unwrap_or("zk_unknown")
}

fn file_descriptors() -> (u64, u64) {
    let open = std::fs::read_dir("/proc/self/fd").map(|d| d.count() as u64).unwrap_or(0);
    let max = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0);
    (open, max)
}

/// `dirs` / admin `datadir_size`: bytes in dataDir/version-2.
pub fn data_dir_size(view: &View<'_>) -> u64 {
    dir_size(&view.settings.data_dir.join("version-2"))
}

/// `dirs` / admin `logdir_size`: bytes in dataLogDir/version-2.
pub fn log_dir_size(view: &View<'_>) -> u64 {
    dir_size(&view.settings.data_log_dir.join("version-2"))
}

/// The snapshot directory as Java prints it (absolute, version-2).
pub fn snap_dir_display(view: &View<'_>) -> String {
    absolute(&view.settings.data_dir.join("version-2"))
}

/// The txn-log directory as Java prints it (absolute, version-2).
pub fn log_dir_display(view: &View<'_>) -> String {
    absolute(&view.settings.data_log_dir.join("version-2"))
}

/// When this server started, in Unix seconds.
pub fn started_at_s(view: &View<'_>) -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    now.as_secs().saturating_sub(view.uptime_ms / 1000)
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries.flatten().filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum()
        })
        .unwrap_or(0)
}

fn conf(view: &View<'_>) -> String {
    let s = view.settings;
    let snap_dir = s.data_dir.join("version-2");
    let log_dir = s.data_log_dir.join("version-2");
    let mut out = String::new();
    let _ = writeln!(out, "clientPort={}", s.client_address.port());
    let _ = writeln!(out, "secureClientPort=-1");
    let _ = writeln!(out, "dataDir={}", absolute(&snap_dir));
    let _ = writeln!(out, "dataDirSize={}", dir_size(&snap_dir));
    let _ = writeln!(out, "dataLogDir={}", absolute(&log_dir));
    let _ = writeln!(out, "dataLogSize={}", dir_size(&log_dir));
    let _ = writeln!(out, "tickTime={}", s.tick_time_ms);
    let _ = writeln!(out, "maxClientCnxns={}", s.max_client_cnxns);
    let _ = writeln!(out, "minSessionTimeout={}", s.min_session_timeout_ms);
    let _ = writeln!(out, "maxSessionTimeout={}", s.max_session_timeout_ms);
    let _ = writeln!(out, "clientPortListenBacklog=-1");
    let _ = writeln!(out, "serverId=0");
    out
}

fn absolute(path: &std::path::Path) -> String {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string()
}

fn dirs(view: &View<'_>) -> String {
    let s = view.settings;
    format!(
        "datadir_size: {}\nlogdir_size: {}\n",
        dir_size(&s.data_dir.join("version-2")),
        dir_size(&s.data_log_dir.join("version-2"))
    )
}

fn environment() -> String {
    let mut out = String::from("Environment:\n");
    for (key, value) in environment_pairs() {
        let _ = writeln!(out, "{key}={value}");
    }
    out
}

/// `envi` and the admin `environment`: Java's keys, with what stands for them here.
pub fn environment_pairs() -> Vec<(&'static str, String)> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let (free, total) = memory_mb();
    let na = || "<NA>".to_string();
    vec![
        ("zookeeper.version", VERSION.to_string()),
        ("host.name", host.trim().to_string()),
        ("java.version", na()),
        ("java.vendor", na()),
        ("java.home", na()),
        ("java.class.path", na()),
        ("java.library.path", na()),
        ("java.io.tmpdir", std::env::temp_dir().display().to_string()),
        ("java.compiler", na()),
        ("os.name", "Linux".to_string()),
        ("os.arch", if cfg!(target_arch = "x86_64") { "amd64" } else { std::env::consts::ARCH }.to_string()),
        ("os.version", release.trim().to_string()),
        ("user.name", user_name()),
        ("user.home", std::env::var("HOME").unwrap_or_default()),
        ("user.dir", std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default()),
        ("os.memory.free", format!("{free}MB")),
        ("os.memory.max", format!("{total}MB")),
        ("os.memory.total", format!("{total}MB")),
    ]
}

/// The effective user's name, as Java's user.name (the environment may not say).
fn user_name() -> String {
    let uid = std::fs::read_to_string("/proc/self/status").ok().and_then(|status| {
        status
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2).map(str::to_owned))
    });
    let from_passwd = uid.and_then(|uid| {
        std::fs::read_to_string("/etc/passwd").ok().and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                (fields.len() > 2 && fields[2] == uid).then(|| fields[0].to_owned())
            })
        })
    });
    from_passwd.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "?".to_owned())
}

fn memory_mb() -> (u64, u64) {
    let info = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    (field("MemAvailable:"), field("MemTotal:"))
}

fn watch_summary(view: &View<'_>) -> String {
    let summary = view.tree.watch_summary();
    format!(
        "{} connections watching {} paths\nTotal watches:{}\n",
        summary.connections, summary.paths, summary.total
    )
}

pub fn session_of(view: &View<'_>, watcher: u64) -> i64 {
    view.session_of_watcher.get(&watcher).copied().unwrap_or(0)
}

/// The one-line answer of a listing word when the watch set is over the limit.
pub fn watch_listing_refusal(view: &View<'_>) -> Option<String> {
    let total = view.tree.watch_summary().total as u64;
    let limit = view.stats.watch_list_limit();
    (total > limit).then(|| {
        format!("not listing {total} watches: more than 4lw.watchListLimit={limit} (wchs gives the totals)\n")
    })
}

fn watches_by_session(view: &View<'_>) -> String {
    if let Some(refusal) = watch_listing_refusal(view) {
        return refusal;
    }
    let mut out = String::new();
    for (watcher, paths) in view.tree.watches_by_watcher() {
        let _ = writeln!(out, "0x{:x}", session_of(view, watcher));
        for path in paths {
            let _ = writeln!(out, "\t{path}");
        }
    }
    out.push('\n');
    out
}

fn watches_by_path(view: &View<'_>) -> String {
    if let Some(refusal) = watch_listing_refusal(view) {
        return refusal;
    }
    let mut out = String::new();
    for (path, watchers) in view.tree.watches_by_path() {
        let _ = writeln!(out, "{path}");
        for watcher in watchers {
            let _ = writeln!(out, "\t0x{:x}", session_of(view, watcher));
        }
    }
    out.push('\n');
    out
}

fn dump(view: &View<'_>) -> String {
    let mut out = String::from("SessionTracker dump:\n");
    let buckets: Vec<_> = view.sessions.buckets().collect();
    let _ = writeln!(out, "Session Sets ({})/({}):", buckets.len(), view.sessions.len());
    // Buckets are in ms of the server's own clock; Java prints them as dates.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let started_ms = now_ms - view.uptime_ms as i64;
    for (bucket, sessions) in buckets {
        let date = crate::cli::format::java_date(started_ms + bucket as i64);
        let _ = writeln!(out, "{} expire at {}:", sessions.len(), date);
        for session in sessions {
            let _ = writeln!(out, "\t0x{session:x}");
        }
    }
    out.push_str("ephemeral nodes dump:\n");
    let owners = view.tree.ephemeral_sessions();
    let _ = writeln!(out, "Sessions with Ephemerals ({}):", owners.len());
    for session in owners {
        let _ = writeln!(out, "0x{session:x}:");
        for path in view.tree.ephemerals_of(session) {
            let _ = writeln!(out, "\t{path}");
        }
    }
    out.push_str("Connections dump:\n");
    connections_expiry(view, &mut out);
    out
}

/// Java's NIO factory keeps every connection in an expiry queue (idle timeout: the session
/// timeout, or 10 s before a session exists) bucketed by 10 s, and `dump` lists it. ferrokeeper
/// has no such queue; the same listing is derived from the connections' timeouts as of now.
fn connections_expiry(view: &View<'_>, out: &mut String) {
    const INTERVAL_MS: i64 = 10_000;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let mut buckets: std::collections::BTreeMap<i64, Vec<String>> = std::collections::BTreeMap::new();
    for c in &view.connections {
        let timeout = if c.session_id == 0 { INTERVAL_MS } else { i64::from(c.timeout_ms) };
        let bucket = ((now_ms + timeout) / INTERVAL_MS + 1) * INTERVAL_MS;
        buckets.entry(bucket).or_default().push(format!("ip: /{} sessionId: 0x{:x}", c.remote, c.session_id));
    }
    let _ = writeln!(out, "Connections Sets ({})/({}):", buckets.len(), view.connections.len());
    for (bucket, connections) in buckets {
        let _ = writeln!(out, "{} expire at {}:", connections.len(), crate::cli::format::java_date(bucket));
        for connection in connections {
            let _ = writeln!(out, "\t{connection}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_as_java_prints_them() {
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(1.61962), "1.6196");
        assert_eq!(java_double(16.0), "16.0");
        assert_eq!(java_double(78.571428), "78.5714");
    }

    #[test]
    fn only_known_words_are_commands() {
        assert_eq!(is_four_letter_word(b"ruok"), Some("ruok"));
        assert_eq!(is_four_letter_word(b"abcd"), None);
    }
}
