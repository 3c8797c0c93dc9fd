//! Prometheus `/metrics` (metricsProvider.className = …PrometheusMetricsProvider), with the
//! metric names Java's provider exports for the same quantities: every mntr key without its
//! `zk_` prefix, gauges as gauges, ServerMetrics counters as counters, summaries as summaries
//! (`name{quantile=…}`, `name_count`, `name_sum`). On top, what Java lacks: a latency histogram
//! per opcode (`ferrokeeper_request_latency_seconds{op=…}`) and the standard `process_*` gauges.

use crate::config::MetricsProviderConfig;
use crate::core::CoreMessage;
use crate::fourlw::View;
use crate::http::{HttpRequest, HttpResponse};
use crate::json::java_double_to_string;
use crate::server::Started;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// The gauges Java registers (ZooKeeperServer.registerMetrics and friends); every other plain
/// mntr key is a ServerMetrics counter.
const GAUGES: &[&str] = &[
    "avg_latency",
    "max_latency",
    "min_latency",
    "packets_received",
    "packets_sent",
    "num_alive_connections",
    "outstanding_requests",
    "uptime",
    "znode_count",
    "watch_count",
    "ephemerals_count",
    "approximate_data_size",
    "global_sessions",
    "local_sessions",
    "open_file_descriptor_count",
    "max_file_descriptor_count",
    "connection_drop_probability",
    "last_client_response_size",
    "max_client_response_size",
    "min_client_response_size",
    "outstanding_tls_handshake",
    "auth_failed_count",
    "non_mtls_remote_conn_count",
    "non_mtls_local_conn_count",
    "quorum_size",
    "learners",
    "synced_followers",
    "synced_non_voting_followers",
    "synced_observers",
    "pending_syncs",
    "leader_uptime",
    "last_proposal_size",
    "max_proposal_size",
    "min_proposal_size",
];

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Starts the /metrics endpoint when the Prometheus provider is configured.
pub fn spawn(config: &MetricsProviderConfig, started: Started) {
    if !config.is_prometheus() {
        return;
    }
    let address = format!("{}:{}", config.http_host, config.http_port);
    tokio::spawn(async move {
        let listener = match tokio::net::TcpListener::bind(&address).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!("Cannot start /metrics server on {}: {}", address, error);
                return;
            }
        };
        tracing::info!("Prometheus metrics served on http://{}/metrics", address);
        let handler: crate::http::Handler = Arc::new(move |request| {
            let core = started.core.clone();
            Box::pin(async move { handle(request, &core).await })
        });
        crate::http::serve(listener, handler, Duration::from_secs(30)).await;
    });
}

async fn handle(
    request: HttpRequest,
    core: &tokio::sync::mpsc::UnboundedSender<CoreMessage>,
) -> HttpResponse {
    if request.path != "/metrics" {
        return HttpResponse::new(404, None, "Not Found\n");
    }
    let (reply, answer) = oneshot::channel();
    let message = CoreMessage::Operator { request: crate::admin::OperatorRequest::Metrics, reply };
    if core.send(message).is_err() {
        return HttpResponse::new(503, None, "");
    }
    match answer.await {
        Ok(text) => HttpResponse::new(200, Some(CONTENT_TYPE), text),
        Err(_) => HttpResponse::new(503, None, ""),
    }
}

fn family(out: &mut String, name: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {name}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn number(value: &str) -> String {
    value.parse::<f64>().map(java_double_to_string).unwrap_or_else(|_| "NaN".to_owned())
}

/// The exposition text for one scrape.
pub fn render(view: &View<'_>) -> String {
    let values: Vec<(&'static str, String)> = crate::fourlw::monitor_values(view);
    let by_key: BTreeMap<&str, &str> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut out = String::new();
    let mut summaries_done = std::collections::HashSet::new();
    for (key, value) in &values {
        let name = key.strip_prefix("zk_").unwrap_or(key);
        if name == "version" || name == "server_state" {
            continue;
        }
        if let Some(summary) = ["avg_", "min_", "max_", "cnt_", "sum_", "p50_", "p95_", "p99_", "p999_"]
            .iter()
            .find_map(|prefix| name.strip_prefix(prefix))
            .filter(|base| by_key.contains_key(format!("zk_cnt_{base}").as_str()))
        {
            if summaries_done.insert(summary.to_owned()) {
                render_summary(&mut out, summary, &by_key, view);
            }
            continue;
        }
        let kind = if GAUGES.contains(&name) { "gauge" } else { "counter" };
        family(&mut out, name, kind);
        let _ = writeln!(out, "{name} {}", number(value));
    }
    render_latency_histograms(&mut out, view);
    render_process(&mut out, view);
    out
}

fn render_summary(out: &mut String, base: &str, by_key: &BTreeMap<&str, &str>, view: &View<'_>) {
    let get = |prefix: &str| by_key.get(format!("zk_{prefix}_{base}").as_str()).copied().unwrap_or("0");
    let count: u64 = get("cnt").parse().unwrap_or(0);
    let advanced = by_key.contains_key(format!("zk_p50_{base}").as_str());
    family(out, base, "summary");
    let measured = match base {
        "readlatency" => Some(view.stats.read_latency()),
        "updatelatency" => Some(view.stats.update_latency()),
        "fsynctime" => Some(view.stats.fsync_time()),
        _ => None,
    };
    let quantiles: &[f64] = if advanced { &[0.5, 0.9, 0.99] } else { &[0.5] };
    for &q in quantiles {
        let value = match (&measured, count) {
            (_, 0) => "NaN".to_owned(),
            (Some(summary), _) => java_double_to_string(summary.quantile(q) as f64),
            (None, _) => number(get("p50")),
        };
        let _ = writeln!(out, "{base}{{quantile=\"{q}\"}} {value}");
    }
    let _ = writeln!(out, "{base}_count {}", java_double_to_string(count as f64));
    let _ = writeln!(out, "{base}_sum {}", number(get("sum")));
}

/// Java's Request.op2String names, used as the `op` label.
pub fn op_name(opcode: i32) -> String {
    use jute::consts::op;
    let name = match opcode {
        op::NOTIFICATION => "notification",
        op::CREATE => "create",
        op::DELETE => "delete",
        op::EXISTS => "exists",
        op::GET_DATA => "getData",
        op::SET_DATA => "setData",
        op::GET_ACL => "getACL",
        op::SET_ACL => "setACL",
        op::GET_CHILDREN => "getChildren",
        op::SYNC => "sync",
        op::PING => "ping",
        op::GET_CHILDREN2 => "getChildren2",
        op::CHECK => "check",
        op::MULTI => "multi",
        op::CREATE2 => "create2",
        op::RECONFIG => "reconfig",
        op::CHECK_WATCHES => "checkWatches",
        op::REMOVE_WATCHES => "removeWatches",
        op::CREATE_CONTAINER => "createContainer",
        op::DELETE_CONTAINER => "deleteContainer",
        op::CREATE_TTL => "createTtl",
        op::MULTI_READ => "multiRead",
        op::AUTH => "auth",
        op::SET_WATCHES => "setWatches",
        op::SET_WATCHES2 => "setWatches2",
        op::SASL => "sasl",
        op::GET_EPHEMERALS => "getEphemerals",
        op::GET_ALL_CHILDREN_NUMBER => "getAllChildrenNumber",
        op::ADD_WATCH => "addWatch",
        op::WHO_AM_I => "whoAmI",
        op::CREATE_SESSION => "createSession",
        op::CLOSE_SESSION => "closeSession",
        op::ERROR => "error",
        other => return format!("unknown{other}"),
    };
    name.to_owned()
}

fn render_latency_histograms(out: &mut String, view: &View<'_>) {
    let name = "ferrokeeper_request_latency_seconds";
    let _ = writeln!(out, "# HELP {name} Time from a request's arrival to its reply, per opcode.");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (opcode, histogram) in view.stats.latency_by_opcode() {
        let op = op_name(opcode);
        for (bound, cumulative) in histogram.cumulative() {
            let _ = writeln!(out, "{name}_bucket{{op=\"{op}\",le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{op=\"{op}\",le=\"+Inf\"}} {}", histogram.count);
        let _ = writeln!(out, "{name}_count{{op=\"{op}\"}} {}", histogram.count);
        let _ = writeln!(out, "{name}_sum{{op=\"{op}\"}} {}", histogram.sum_seconds);
    }
}

/// The Prometheus client libraries' standard process gauges.
fn render_process(out: &mut String, view: &View<'_>) {
    let open = std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0);
    family(out, "process_open_fds", "gauge");
    let _ = writeln!(out, "process_open_fds {open}");
    family(out, "process_start_time_seconds", "gauge");
    let _ = writeln!(out, "process_start_time_seconds {}", crate::fourlw::started_at_s(view));
    if let Some(rss_pages) = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
    {
        family(out, "process_resident_memory_bytes", "gauge");
        let _ = writeln!(out, "process_resident_memory_bytes {}", rss_pages * 4096);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn opcodes_have_java_names() {
        assert_eq!(super::op_name(jute::consts::op::GET_DATA), "getData");
        assert_eq!(super::op_name(jute::consts::op::CREATE2), "create2");
        assert_eq!(super::op_name(9999), "unknown9999");
    }
}
