//! The AdminServer: Java's `/commands/<name>` over HTTP, JSON shaped as Jackson prints Java's
//! response maps (same keys, same order), every primary name and alias of 3.8.
//!
//! Commands are answered by the core from the same [`View`] the four-letter words use
//! ([`CoreMessage::Operator`]); the HTTP side never touches server state itself.

use crate::config::AdminServerConfig;
use crate::core::CoreMessage;
use crate::fourlw::{Action, View, VERSION};
use crate::http::{HttpRequest, HttpResponse};
use crate::json::{object, Json};
use crate::server::Started;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// What the HTTP side asks the core.
#[derive(Debug, Clone)]
pub enum OperatorRequest {
    /// `/commands/<name>` with its query parameters.
    Command { name: String, params: Vec<(String, String)> },
    /// A Prometheus scrape of `/metrics`.
    Metrics,
}

/// (primary name, aliases) of every command Java 3.8 registers, in its listing order.
pub const COMMANDS: &[(&str, &[&str])] = &[
    ("configuration", &["conf", "config"]),
    ("connection_stat_reset", &["crst"]),
    ("connections", &["cons"]),
    ("dirs", &[]),
    ("dump", &[]),
    ("environment", &["env", "envi"]),
    ("get_trace_mask", &["gtmk"]),
    ("hash", &[]),
    ("initial_configuration", &["icfg"]),
    ("is_read_only", &["isro"]),
    ("last_snapshot", &["lsnp"]),
    ("leader", &["lead"]),
    ("monitor", &["mntr"]),
    ("observer_connection_stat_reset", &["orst"]),
    ("observers", &["obsr"]),
    ("ruok", &[]),
    ("server_stats", &["srvr"]),
    ("set_trace_mask", &["stmk"]),
    ("stat_reset", &["srst"]),
    ("stats", &["stat"]),
    ("system_properties", &["sysp"]),
    ("voting_view", &[]),
    ("watch_summary", &["wchs"]),
    ("watches", &["wchc"]),
    ("watches_by_path", &["wchp"]),
    ("zabstate", &[]),
];

/// The primary name of a command or alias.
pub fn primary_name(name: &str) -> Option<&'static str> {
    COMMANDS.iter().find(|(primary, aliases)| *primary == name || aliases.contains(&name)).map(|(p, _)| *p)
}

/// Starts the AdminServer when enabled; a port that cannot be bound is logged and the server
/// goes on without it, as Java does.
pub fn spawn(config: &AdminServerConfig, initial_config: String, started: Started) {
    if !config.enabled {
        tracing::info!("Admin server disabled (admin.enableServer=false)");
        return;
    }
    let address = format!("{}:{}", config.address, config.port);
    let prefix = config.command_url.trim_end_matches('/').to_owned();
    let idle = Duration::from_millis(u64::from(config.idle_timeout_ms.max(1000)));
    let initial_config = Arc::new(initial_config);
    tokio::spawn(async move {
        let listener = match tokio::net::TcpListener::bind(&address).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!("Problem starting AdminServer on {}: {}", address, error);
                return;
            }
        };
        tracing::info!("Started AdminServer on address {}, and command URL {}", address, prefix);
        let handler: crate::http::Handler = Arc::new(move |request| {
            let core = started.core.clone();
            let prefix = prefix.clone();
            let initial_config = initial_config.clone();
            Box::pin(async move { handle(request, &prefix, &core, &initial_config).await })
        });
        crate::http::serve(listener, handler, idle).await;
    });
}

async fn handle(
    request: HttpRequest,
    prefix: &str,
    core: &tokio::sync::mpsc::UnboundedSender<CoreMessage>,
    initial_config: &str,
) -> HttpResponse {
    let path = request.path.as_str();
    if path == prefix || path == format!("{prefix}/") {
        let mut body = String::new();
        for (name, _) in COMMANDS {
            body.push_str(&format!("<a href=\"{prefix}/{name}\">{name}</a>\n<br/>\n"));
        }
        return HttpResponse::new(200, None, body);
    }
    let Some(name) = path.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('/')) else {
        return HttpResponse::new(404, Some("text/html;charset=iso-8859-1"), "Not Found\n");
    };
    let name = name.trim_end_matches('/');
    if primary_name(name) == Some("initial_configuration") {
        let body = object([
            ("initial_configuration", Json::from(initial_config)),
            ("command", "initial_configuration".into()),
            ("error", Json::Null),
        ]);
        return HttpResponse::new(200, Some("application/json"), body.pretty());
    }
    let (reply, answer) = oneshot::channel();
    let request = OperatorRequest::Command { name: name.to_owned(), params: request.query };
    if core.send(CoreMessage::Operator { request, reply }).is_err() {
        return HttpResponse::new(503, None, "");
    }
    match answer.await {
        Ok(body) => HttpResponse::new(200, Some("application/json"), body),
        Err(_) => HttpResponse::new(503, None, ""),
    }
}

/// Answers an operator request from the core's view: JSON for a command, the exposition
/// text for a scrape.
pub fn answer(request: &OperatorRequest, view: &View<'_>) -> (String, Action) {
    match request {
        OperatorRequest::Metrics => (crate::metrics::render(view), Action::None),
        OperatorRequest::Command { name, params } => {
            let (json, action) = run_command(name, params, view);
            (json.pretty(), action)
        }
    }
}

fn ok(mut fields: Json, primary: &str) -> Json {
    fields.push("command", primary);
    fields.push("error", Json::Null);
    fields
}

/// Java builds an error response with the error first.
fn failed(primary: &str, error: &str) -> Json {
    object([("error", Json::from(error)), ("command", primary.into())])
}

fn run_command(name: &str, params: &[(String, String)], view: &View<'_>) -> (Json, Action) {
    let Some(primary) = primary_name(name) else {
        let body =
            object([("command", Json::from(name)), ("error", format!("Unknown command: {name}").into())]);
        return (body, Action::None);
    };
    let empty = || object::<String>([]);
    let body = match primary {
        "configuration" => configuration(view),
        "connection_stat_reset" => return (ok(empty(), primary), Action::ResetConnectionStats),
        "connections" => object([
            ("connections", Json::Array(connections(view, false))),
            ("secure_connections", Json::Array(vec![])),
        ]),
        "dirs" => object([
            ("datadir_size", Json::from(crate::fourlw::data_dir_size(view))),
            ("logdir_size", crate::fourlw::log_dir_size(view).into()),
        ]),
        "dump" => dump(view),
        "environment" => {
            object(crate::fourlw::environment_pairs().into_iter().map(|(k, v)| (k, Json::from(v))))
        }
        "get_trace_mask" => object([("tracemask", Json::from(view.stats.trace_mask()))]),
        "hash" => {
            let digests = view
                .stats
                .digest_log()
                .into_iter()
                .map(|(zxid, digest)| {
                    object([
                        ("zxid", Json::from(zxid)),
                        ("digestVersion", Json::from(2i64)),
                        ("digest", Json::from(digest)),
                    ])
                })
                .collect();
            object([("digests", Json::Array(digests))])
        }
        "is_read_only" => object([("read_only", Json::from(false))]),
        "last_snapshot" => object([
            ("zxid", Json::from(format!("{:x}", 0))),
            ("timestamp", Json::from(crate::fourlw::started_at_s(view))),
        ]),
        "leader" => return (failed(primary, "server is not initialized"), Action::None),
        "monitor" => monitor(view),
        "observer_connection_stat_reset" => empty(),
        "observers" => object([("synced_observers", Json::from(0i64)), ("observers", Json::Array(vec![]))]),
        "ruok" => empty(),
        "server_stats" => server_stats(view),
        "set_trace_mask" => {
            let mask = params.iter().find(|(k, _)| k == "traceMask").and_then(|(_, v)| v.parse::<i64>().ok());
            match mask {
                Some(mask) => {
                    view.stats.set_trace_mask(mask);
                    object([("tracemask", Json::from(mask))])
                }
                None => {
                    return (failed(primary, "setTraceMask requires long traceMask argument"), Action::None)
                }
            }
        }
        "stat_reset" => return (ok(empty(), primary), Action::ResetServerStats),
        "stats" => {
            let mut body = server_stats(view);
            body.push("connections", Json::Array(connections(view, true)));
            body.push("secure_connections", Json::Array(vec![]));
            body
        }
        "system_properties" => object(system_properties().into_iter().map(|(k, v)| (k, Json::from(v)))),
        "voting_view" => object([("current_config", empty())]),
        "watch_summary" => {
            let summary = view.tree.watch_summary();
            object([
                ("num_connections", Json::from(summary.connections)),
                ("num_paths", summary.paths.into()),
                ("num_total_watches", summary.total.into()),
            ])
        }
        "watches" | "watches_by_path" if crate::fourlw::watch_listing_refusal(view).is_some() => {
            let refusal = crate::fourlw::watch_listing_refusal(view).unwrap_or_default();
            return (failed(primary, refusal.trim_end()), Action::None);
        }
        "watches" => {
            let mut by_session: Vec<(String, Json)> = Vec::new();
            for (watcher, paths) in view.tree.watches_by_watcher() {
                let session = crate::fourlw::session_of(view, watcher);
                by_session
                    .push((session.to_string(), Json::Array(paths.into_iter().map(Json::from).collect())));
            }
            object([("session_id_to_watched_paths", Json::Object(by_session))])
        }
        "watches_by_path" => {
            let by_path = view
                .tree
                .watches_by_path()
                .into_iter()
                .map(|(path, watchers)| {
                    let sessions = watchers
                        .into_iter()
                        .map(|w| Json::from(crate::fourlw::session_of(view, w)))
                        .collect();
                    (path, Json::Array(sessions))
                })
                .collect();
            object([("path_to_session_ids", Json::Object(by_path))])
        }
        "zabstate" => object([("voting", Json::from(false)), ("zabstate", "".into())]),
        _ => return (failed(primary, "not supported by ferrokeeper"), Action::None),
    };
    (ok(body, primary), Action::None)
}

fn configuration(view: &View<'_>) -> Json {
    let s = view.settings;
    object([
        ("client_port", Json::from(i64::from(s.client_address.port()))),
        ("data_dir", crate::fourlw::snap_dir_display(view).into()),
        ("data_log_dir", crate::fourlw::log_dir_display(view).into()),
        ("tick_time", (s.tick_time_ms as i64).into()),
        ("max_client_cnxns", s.max_client_cnxns.into()),
        ("min_session_timeout", s.min_session_timeout_ms.into()),
        ("max_session_timeout", s.max_session_timeout_ms.into()),
        ("server_id", 0i64.into()),
        ("client_port_listen_backlog", (-1i64).into()),
    ])
}

/// Java's BufferStats: `-1` for a size not measured since the start or `srst`.
fn buffer_sizes(view: &View<'_>) -> Json {
    let stats = view.stats;
    object([
        ("last_buffer_size", stats.last_response_size().into()),
        ("min_buffer_size", stats.min_response_size().into()),
        ("max_buffer_size", stats.max_response_size().into()),
    ])
}

fn server_stats(view: &View<'_>) -> Json {
    let stats = view.stats;
    let inner = object([
        ("packets_sent", Json::from(stats.packets_sent())),
        ("packets_received", stats.packets_received().into()),
        ("fsync_threshold_exceed_count", stats.fsync_threshold_exceed_count().into()),
        ("client_response_stats", buffer_sizes(view)),
        ("data_dir_size", crate::fourlw::data_dir_size(view).into()),
        ("log_dir_size", crate::fourlw::log_dir_size(view).into()),
        ("provider_null", false.into()),
        ("server_state", view.quorum.as_ref().map_or("standalone", |q| q.mode).into()),
        ("last_processed_zxid", view.tree.last_processed_zxid().into()),
        ("outstanding_requests", view.outstanding.into()),
        ("avg_latency", crate::fourlw::rounded(stats.avg_latency_ms()).into()),
        ("max_latency", stats.max_latency_ms().into()),
        ("min_latency", stats.min_latency_ms().into()),
        ("num_alive_client_connections", view.connections.iter().filter(|c| !c.is_asking).count().into()),
        ("uptime", view.uptime_ms.into()),
        ("auth_failed_count", stats.auth_failed_count().into()),
        ("non_mtlsremote_conn_count", 0i64.into()),
        ("non_mtlslocal_conn_count", 0i64.into()),
    ]);
    object([
        ("version", Json::from(VERSION)),
        ("read_only", false.into()),
        ("server_stats", inner),
        ("client_response", buffer_sizes(view)),
        ("node_count", view.tree.node_count().into()),
    ])
}

fn connections(view: &View<'_>, brief: bool) -> Vec<Json> {
    view.connections
        .iter()
        .filter(|c| !c.is_asking)
        .map(|c| {
            let s = &c.stats;
            let mut info = object([
                ("remote_socket_address", Json::from(c.remote.to_string())),
                ("interest_ops", 1i64.into()),
                ("outstanding_requests", c.queued.into()),
                ("packets_received", s.received.into()),
                ("packets_sent", s.sent.into()),
            ]);
            if !brief {
                let avg = s.total_latency_ms.checked_div(s.count).unwrap_or(0);
                info.push("session_id", c.session_id);
                info.push("last_operation", crate::fourlw::abbreviated_op(s.last_op));
                info.push("established", c.established_at_ms);
                info.push("session_timeout", c.timeout_ms);
                info.push("last_cxid", s.last_cxid);
                info.push("last_zxid", s.last_zxid);
                info.push("last_response_time", c.established_at_ms);
                info.push("last_latency", s.last_latency_ms);
                info.push("min_latency", s.min_latency_ms.unwrap_or(0));
                info.push("avg_latency", avg);
                info.push("max_latency", s.max_latency_ms);
            }
            info
        })
        .collect()
}

fn dump(view: &View<'_>) -> Json {
    let expiry = view
        .sessions
        .buckets()
        .filter(|(_, sessions)| !sessions.is_empty())
        .map(|(bucket, sessions)| {
            let mut ids: Vec<i64> = sessions.iter().copied().collect();
            ids.sort_unstable();
            (bucket.to_string(), Json::Array(ids.into_iter().map(Json::from).collect()))
        })
        .collect();
    let ephemerals = view
        .tree
        .ephemeral_sessions()
        .into_iter()
        .map(|session| {
            let paths = view.tree.ephemerals_of(session).into_iter().map(Json::from).collect();
            (session.to_string(), Json::Array(paths))
        })
        .collect();
    object([
        ("expiry_time_to_session_ids", Json::Object(expiry)),
        ("session_id_to_ephemeral_paths", Json::Object(ephemerals)),
    ])
}

/// Every mntr key without its `zk_` prefix, integers as integers and the rest as doubles, as
/// Java's monitor command sends them.
fn monitor(view: &View<'_>) -> Json {
    let fields = crate::fourlw::monitor_values(view)
        .into_iter()
        .map(|(key, value)| {
            let key = key.strip_prefix("zk_").unwrap_or(key).to_owned();
            let value = if let Ok(i) = value.parse::<i64>() {
                Json::Int(i)
            } else if let Ok(f) = value.parse::<f64>() {
                Json::Float(f)
            } else {
                Json::Str(value)
            };
            (key, value)
        })
        .collect();
    Json::Object(fields)
}

/// What a JVM would list that has a meaning here.
fn system_properties() -> Vec<(String, String)> {
    let mut properties: Vec<(String, String)> = vec![
        ("file.encoding".into(), "UTF-8".into()),
        ("file.separator".into(), "/".into()),
        ("line.separator".into(), "\n".into()),
        ("path.separator".into(), ":".into()),
    ];
    for (key, value) in crate::fourlw::environment_pairs() {
        if key.starts_with("os.") && !key.starts_with("os.memory") || key.starts_with("user.") {
            properties.push((key.to_owned(), value));
        }
    }
    properties.sort();
    properties
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_to_java_primary_names() {
        assert_eq!(primary_name("mntr"), Some("monitor"));
        assert_eq!(primary_name("config"), Some("configuration"));
        assert_eq!(primary_name("wchc"), Some("watches"));
        assert_eq!(primary_name("stats"), Some("stats"));
        assert_eq!(primary_name("snapshot"), None);
    }

    #[test]
    fn the_listing_is_sorted_as_java_lists_it() {
        let names: Vec<&str> = COMMANDS.iter().map(|(n, _)| *n).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }
}
