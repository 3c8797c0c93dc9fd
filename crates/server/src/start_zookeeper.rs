//! `ferrokeeper start-zookeeper` (also invoked as `start-zookeeper`): the entry point of the
//! Kubernetes ZooKeeper tutorial's image, with exactly its flags.
//!
//! From the pod's hostname `<name>-<ordinal>` it derives `myid = ordinal + 1`; from the FQDN
//! (`<name>-<ordinal>.<domain>`) it writes one `server.N=<name>-<N-1>.<domain>:<server_port>:
//! <election_port>` line per member; it writes `zoo.cfg` into `--conf_dir` and `myid` into
//! `--data_dir` (refusing a data dir whose `myid` names another server), then serves in the
//! foreground. Being PID 1 in a container needs nothing more: the server runs in this process
//! (there is no child to forward signals to) and SIGTERM/SIGINT stop it cleanly.
//!
//! Every flag may also come from the environment (`ZK_SERVERS` or `ZK_REPLICAS`, `ZK_DATA_DIR`,
//! `ZK_DATA_LOG_DIR`, `ZK_CONF_DIR`, `ZK_CLIENT_PORT`, `ZK_ELECTION_PORT`, `ZK_SERVER_PORT`,
//! `ZK_TICK_TIME`, `ZK_INIT_LIMIT`, `ZK_SYNC_LIMIT`, `ZK_HEAP` or `ZK_HEAP_SIZE`,
//! `ZK_MAX_CLIENT_CNXNS`, `ZK_SNAP_RETAIN_COUNT`, `ZK_PURGE_INTERVAL`, `ZK_MAX_SESSION_TIMEOUT`,
//! `ZK_MIN_SESSION_TIMEOUT`, `ZK_LOG_LEVEL`); a flag wins over its variable.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The tutorial image's options, with its defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub servers: u32,
    pub data_dir: PathBuf,
    pub data_log_dir: PathBuf,
    pub conf_dir: PathBuf,
    pub client_port: u16,
    pub election_port: u16,
    pub server_port: u16,
    pub tick_time: u32,
    pub init_limit: u32,
    pub sync_limit: u32,
    pub heap: String,
    pub max_client_cnxns: u32,
    pub snap_retain_count: u32,
    pub purge_interval: u32,
    pub max_session_timeout: Option<u32>,
    pub min_session_timeout: Option<u32>,
    pub log_level: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            servers: 1,
            data_dir: "/var/lib/zookeeper/data".into(),
            data_log_dir: "/var/lib/zookeeper/data/log".into(),
            conf_dir: "/opt/zookeeper/conf".into(),
            client_port: 2181,
            election_port: 3888,
            server_port: 2888,
            tick_time: 2000,
            init_limit: 10,
            sync_limit: 5,
            heap: "2G".into(),
            max_client_cnxns: 60,
            snap_retain_count: 3,
            purge_interval: 0,
            max_session_timeout: None,
            min_session_timeout: None,
            log_level: "INFO".into(),
        }
    }
}

/// (flag name, environment variables) for every option.
const OPTIONS: &[(&str, &[&str])] = &[
    ("servers", &["ZK_SERVERS", "ZK_REPLICAS"]),
    ("data_dir", &["ZK_DATA_DIR"]),
    ("data_log_dir", &["ZK_DATA_LOG_DIR"]),
    ("conf_dir", &["ZK_CONF_DIR"]),
    ("client_port", &["ZK_CLIENT_PORT"]),
    ("election_port", &["ZK_ELECTION_PORT"]),
    ("server_port", &["ZK_SERVER_PORT"]),
    ("tick_time", &["ZK_TICK_TIME"]),
    ("init_limit", &["ZK_INIT_LIMIT"]),
    ("sync_limit", &["ZK_SYNC_LIMIT"]),
    ("heap", &["ZK_HEAP", "ZK_HEAP_SIZE"]),
    ("max_client_cnxns", &["ZK_MAX_CLIENT_CNXNS"]),
    ("snap_retain_count", &["ZK_SNAP_RETAIN_COUNT"]),
    ("purge_interval", &["ZK_PURGE_INTERVAL"]),
    ("max_session_timeout", &["ZK_MAX_SESSION_TIMEOUT"]),
    ("min_session_timeout", &["ZK_MIN_SESSION_TIMEOUT"]),
    ("log_level", &["ZK_LOG_LEVEL"]),
];

const USAGE: &str = "\
Usage: start-zookeeper [OPTIONS]
Starts a ZooKeeper server based on the supplied options.
    --servers           The number of servers in the ensemble. The default value is 1.
    --data_dir          The directory where the ZooKeeper process will store its snapshots.
                        The default is /var/lib/zookeeper/data.
    --data_log_dir      The directory where the ZooKeeper process will store its write ahead
                        log. The default is /var/lib/zookeeper/data/log.
    --conf_dir          The directory where the ZooKeeper process will store its
                        configuration. The default is /opt/zookeeper/conf.
    --client_port       The port on which the ZooKeeper process will listen for client
                        requests. The default is 2181.
    --election_port     The port on which the ZooKeeper process will perform leader
                        election. The default is 3888.
    --server_port       The port on which the ZooKeeper process will listen for requests from
                        other servers in the ensemble. The default is 2888.
    --tick_time         The length of a ZooKeeper tick in ms. The default is 2000.
    --init_limit        The number of Ticks that an ensemble member is allowed to perform
                        leader election. The default is 10.
    --sync_limit        The maximum session timeout that the ensemble will allows a client to
                        request. The default is 5.
    --heap              The maximum amount of heap to use. Accepted for compatibility; it has
                        no effect on ferrokeeper, which has no JVM heap.
    --max_client_cnxns  The maximum number of client connections that the ZooKeeper process
                        will accept simultaneously. The default is 60.
    --snap_retain_count The maximum number of snapshots the ZooKeeper process will retain if
                        purge_interval is greater than 0. The default is 3.
    --purge_interval    The number of hours the ZooKeeper process will wait between purging
                        its old snapshots. If set to 0 old snapshots will never be purged.
                        The default is 0.
    --max_session_timeout The maximum time in milliseconds for a client session timeout. The
                        default value is 20 * tick time.
    --min_session_timeout The minimum time in milliseconds for a client session timeout. The
                        default value is 2 * tick time.
    --log_level         The log level for the zookeeeper server. Either FATAL, ERROR, WARN,
                        INFO, DEBUG. The default is INFO.
Every option can also be set through its environment variable (ZK_SERVERS, ZK_DATA_DIR, ...).";

/// Why start-zookeeper refuses to start.
#[derive(Debug, PartialEq)]
pub enum StartError {
    Usage(String),
    Help,
    Hostname(String),
    Io(String),
    MyIdMismatch { path: PathBuf, found: String, expected: u32 },
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Usage(message) => write!(f, "{message}"),
            StartError::Help => write!(f, "{USAGE}"),
            StartError::Hostname(host) => {
                write!(f, "Failed to parse name and ordinal of Pod from hostname {host:?}")
            }
            StartError::Io(message) => write!(f, "{message}"),
            StartError::MyIdMismatch { path, found, expected } => write!(
                f,
                "{} says myid {} but this host is server {}: refusing to start on another server's data",
                path.display(),
                found.trim(),
                expected
            ),
        }
    }
}

fn set(options: &mut Options, name: &str, value: &str) -> Result<(), StartError> {
    fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, StartError> {
        value.trim().parse().map_err(|_| StartError::Usage(format!("--{name}: not a number: {value}")))
    }
    match name {
        "servers" => options.servers = number(name, value)?,
        "data_dir" => options.data_dir = value.into(),
        "data_log_dir" => options.data_log_dir = value.into(),
        "conf_dir" => options.conf_dir = value.into(),
        "client_port" => options.client_port = number(name, value)?,
        "election_port" => options.election_port = number(name, value)?,
        "server_port" => options.server_port = number(name, value)?,
        "tick_time" => options.tick_time = number(name, value)?,
        "init_limit" => options.init_limit = number(name, value)?,
        "sync_limit" => options.sync_limit = number(name, value)?,
        "heap" => options.heap = value.to_owned(),
        "max_client_cnxns" => options.max_client_cnxns = number(name, value)?,
        "snap_retain_count" => options.snap_retain_count = number(name, value)?,
        "purge_interval" => options.purge_interval = number(name, value)?,
        "max_session_timeout" => options.max_session_timeout = Some(number(name, value)?),
        "min_session_timeout" => options.min_session_timeout = Some(number(name, value)?),
        "log_level" => options.log_level = value.to_owned(),
        other => return Err(StartError::Usage(format!("Unknown option --{other}"))),
    }
    Ok(())
}

/// Options from the environment (through `env`), then from the flags.
pub fn parse(args: &[String], env: impl Fn(&str) -> Option<String>) -> Result<Options, StartError> {
    let mut options = Options::default();
    for (name, variables) in OPTIONS {
        if let Some(value) = variables.iter().find_map(|v| env(v)) {
            set(&mut options, name, &value)?;
        }
    }
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Err(StartError::Help);
        }
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(StartError::Usage(format!("Non-option argument: '{arg}'")));
        };
        let (name, value) = match flag.split_once('=') {
            Some((name, value)) => (name, value.to_owned()),
            None => {
                if !OPTIONS.iter().any(|(n, _)| *n == flag) {
                    return Err(StartError::Usage(format!("Unknown option --{flag}")));
                }
                let value =
                    args.next().ok_or_else(|| StartError::Usage(format!("--{flag} needs a value")))?.clone();
                (flag, value)
            }
        };
        set(&mut options, name, &value)?;
    }
    Ok(options)
}

/// `zk-1` → ("zk", 1).
pub fn name_and_ordinal(short_host: &str) -> Option<(&str, u32)> {
    let (name, ordinal) = short_host.rsplit_once('-')?;
    if name.is_empty() || ordinal.is_empty() || !ordinal.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((name, ordinal.parse().ok()?))
}

/// The host as `hostname -s` and `hostname -d` see it: the short name, and the domain from the
/// kernel's hostname if it has dots, else from the first /etc/hosts name that extends it.
pub fn host_and_domain(kernel_hostname: &str, etc_hosts: &str) -> (String, String) {
    let hostname = kernel_hostname.trim();
    if let Some((short, domain)) = hostname.split_once('.') {
        return (short.to_owned(), domain.to_owned());
    }
    for line in etc_hosts.lines() {
        let line = line.split('#').next().unwrap_or("");
        let names: Vec<&str> = line.split_whitespace().skip(1).collect();
        if names.contains(&hostname) {
            if let Some(domain) = names.iter().find_map(|n| n.strip_prefix(hostname)?.strip_prefix('.')) {
                return (hostname.to_owned(), domain.to_owned());
            }
        }
    }
    (hostname.to_owned(), String::new())
}

/// The 4lw whitelist written: everything 3.8 knows but wchc/wchp (3.4.10's default, which the
/// tutorial image ran with), so the `ruok` probe works and the CVE-2017-5637 words stay off.
pub const WHITELIST: &str = "conf,cons,crst,dirs,dump,envi,gtmk,hash,isro,mntr,ruok,srst,srvr,stat,stmk,wchs";

/// The zoo.cfg the image writes, for server `myid` of a host named `<name>-<ordinal>.<domain>`.
pub fn zoo_cfg(options: &Options, name: &str, domain: &str) -> String {
    let min = options.min_session_timeout.unwrap_or(options.tick_time * 2);
    let max = options.max_session_timeout.unwrap_or(options.tick_time * 20);
    let mut cfg = String::from("#This file was autogenerated DO NOT EDIT\n");
    let _ = writeln!(cfg, "clientPort={}", options.client_port);
    let _ = writeln!(cfg, "dataDir={}", options.data_dir.display());
    let _ = writeln!(cfg, "dataLogDir={}", options.data_log_dir.display());
    let _ = writeln!(cfg, "tickTime={}", options.tick_time);
    let _ = writeln!(cfg, "initLimit={}", options.init_limit);
    let _ = writeln!(cfg, "syncLimit={}", options.sync_limit);
    let _ = writeln!(cfg, "maxClientCnxns={}", options.max_client_cnxns);
    let _ = writeln!(cfg, "minSessionTimeout={min}");
    let _ = writeln!(cfg, "maxSessionTimeout={max}");
    let _ = writeln!(cfg, "autopurge.snapRetainCount={}", options.snap_retain_count);
    let _ = writeln!(cfg, "autopurge.purgeInterval={}", options.purge_interval);
    let _ = writeln!(cfg, "4lw.commands.whitelist={WHITELIST}");
    if options.servers > 1 {
        for id in 1..=options.servers {
            let host = if domain.is_empty() {
                format!("{name}-{}", id - 1)
            } else {
                format!("{name}-{}.{domain}", id - 1)
            };
            let _ = writeln!(cfg, "server.{id}={host}:{}:{}", options.server_port, options.election_port);
        }
    }
    cfg
}

/// Writes `myid` unless the same one is there; refuses one that names another server.
pub fn write_my_id(data_dir: &Path, my_id: u32) -> Result<(), StartError> {
    let path = data_dir.join("myid");
    match std::fs::read_to_string(&path) {
        Ok(found) if found.trim() == my_id.to_string() => Ok(()),
        Ok(found) => Err(StartError::MyIdMismatch { path, found, expected: my_id }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::write(&path, format!("{my_id}\n"))
                .map_err(|e| StartError::Io(format!("cannot write {}: {e}", path.display())))
        }
        Err(error) => Err(StartError::Io(format!("cannot read {}: {error}", path.display()))),
    }
}

/// Everything before serving: the files. Returns the zoo.cfg path.
pub fn prepare(
    options: &Options,
    kernel_hostname: &str,
    etc_hosts: &str,
) -> Result<(PathBuf, u32), StartError> {
    let (short, domain) = host_and_domain(kernel_hostname, etc_hosts);
    let (name, my_id) = match name_and_ordinal(&short) {
        Some((name, ordinal)) => (name.to_owned(), ordinal + 1),
        // A lone server does not need an ordinal; an ensemble member does.
        None if options.servers <= 1 => (short.clone(), 1),
        None => return Err(StartError::Hostname(short)),
    };
    if options.servers > 1 && my_id > options.servers {
        return Err(StartError::Usage(format!(
            "this host is server {my_id} but --servers={} (hostname {short})",
            options.servers
        )));
    }
    for dir in [&options.data_dir, &options.data_log_dir, &options.conf_dir] {
        std::fs::create_dir_all(dir)
            .map_err(|e| StartError::Io(format!("cannot create {}: {e}", dir.display())))?;
    }
    write_my_id(&options.data_dir, my_id)?;
    let cfg_path = options.conf_dir.join("zoo.cfg");
    let cfg = zoo_cfg(options, &name, &domain);
    std::fs::write(&cfg_path, &cfg)
        .map_err(|e| StartError::Io(format!("cannot write {}: {e}", cfg_path.display())))?;
    eprint!("{cfg}");
    Ok((cfg_path, my_id))
}

pub fn main(args: &[OsString]) -> ExitCode {
    let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let options = match parse(&args, |name| std::env::var(name).ok()) {
        Ok(options) => options,
        Err(StartError::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    crate::logging::init(Some(&options.log_level));
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default();
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let (cfg_path, my_id) = match prepare(&options, &hostname, &hosts) {
        Ok(prepared) => prepared,
        Err(error) => {
            eprintln!("{error}");
            tracing::error!("{}", error);
            return ExitCode::FAILURE;
        }
    };
    if options.servers > 1 {
        crate::logging::set_my_id(u64::from(my_id));
    }
    tracing::info!(
        "--heap={} accepted for compatibility: it has no effect (ferrokeeper has no JVM heap)",
        options.heap
    );
    crate::serve::serve(Some(&cfg_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tutorial_args() -> Vec<String> {
        "--servers=3 --data_dir=/var/lib/zookeeper/data --data_log_dir=/var/lib/zookeeper/data/log \
         --conf_dir=/opt/zookeeper/conf --client_port=2181 --election_port=3888 --server_port=2888 \
         --tick_time=2000 --init_limit=10 --sync_limit=5 --heap=512M --max_client_cnxns=60 \
         --snap_retain_count=3 --purge_interval=12 --max_session_timeout=40000 \
         --min_session_timeout=4000 --log_level=INFO"
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn the_tutorial_command_line_makes_the_tutorial_config() {
        let options = parse(&tutorial_args(), |_| None).expect("parses");
        assert_eq!(options.servers, 3);
        assert_eq!(options.heap, "512M");
        let cfg = zoo_cfg(&options, "zk", "zk-hs.default.svc.cluster.local");
        assert_eq!(
            cfg,
            "#This file was autogenerated DO NOT EDIT\nclientPort=2181\ndataDir=/var/lib/zookeeper/data\n\
             dataLogDir=/var/lib/zookeeper/data/log\ntickTime=2000\ninitLimit=10\nsyncLimit=5\n\
             maxClientCnxns=60\nminSessionTimeout=4000\nmaxSessionTimeout=40000\n\
             autopurge.snapRetainCount=3\nautopurge.purgeInterval=12\n\
             4lw.commands.whitelist=conf,cons,crst,dirs,dump,envi,gtmk,hash,isro,mntr,ruok,srst,srvr,stat,stmk,wchs\n\
             server.1=zk-0.zk-hs.default.svc.cluster.local:2888:3888\n\
             server.2=zk-1.zk-hs.default.svc.cluster.local:2888:3888\n\
             server.3=zk-2.zk-hs.default.svc.cluster.local:2888:3888\n"
        );
    }

    #[test]
    fn environment_variables_configure_and_flags_win() {
        let env = |name: &str| match name {
            "ZK_REPLICAS" => Some("5".to_owned()),
            "ZK_TICK_TIME" => Some("1000".to_owned()),
            _ => None,
        };
        let options = parse(&["--tick_time".to_owned(), "3000".to_owned()], env).expect("parses");
        assert_eq!((options.servers, options.tick_time), (5, 3000));
        let cfg = zoo_cfg(&options, "zk", "");
        assert!(cfg.contains("minSessionTimeout=6000\nmaxSessionTimeout=60000\n"), "{cfg}");
        assert!(cfg.contains("server.5=zk-4:2888:3888\n"), "{cfg}");
    }

    #[test]
    fn unknown_options_are_refused() {
        assert_eq!(
            parse(&["--bogus=1".to_owned()], |_| None),
            Err(StartError::Usage("Unknown option --bogus".into()))
        );
        assert!(matches!(parse(&["--servers=x".to_owned()], |_| None), Err(StartError::Usage(_))));
    }

    #[test]
    fn hostnames_give_name_ordinal_and_domain() {
        assert_eq!(name_and_ordinal("zk-1"), Some(("zk", 1)));
        assert_eq!(name_and_ordinal("my-zk-12"), Some(("my-zk", 12)));
        assert_eq!(name_and_ordinal("zk"), None);
        assert_eq!(name_and_ordinal("zk-"), None);
        let hosts = "127.0.0.1 localhost\n10.1.2.3\tzk-1.zk-hs.default.svc.cluster.local zk-1\n";
        assert_eq!(
            host_and_domain("zk-1\n", hosts),
            ("zk-1".into(), "zk-hs.default.svc.cluster.local".into())
        );
        assert_eq!(host_and_domain("zk-2.zk-hs.ns", ""), ("zk-2".into(), "zk-hs.ns".into()));
        assert_eq!(host_and_domain("zk-2", hosts), ("zk-2".into(), String::new()));
    }

    #[test]
    fn a_data_dir_of_another_server_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_my_id(dir.path(), 2).expect("writes");
        assert_eq!(std::fs::read_to_string(dir.path().join("myid")).expect("reads"), "2\n");
        write_my_id(dir.path(), 2).expect("same id is fine");
        assert!(matches!(write_my_id(dir.path(), 3), Err(StartError::MyIdMismatch { expected: 3, .. })));
    }

    #[test]
    fn an_ensemble_member_needs_an_ordinal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = Options {
            servers: 3,
            data_dir: dir.path().join("data"),
            data_log_dir: dir.path().join("log"),
            conf_dir: dir.path().join("conf"),
            ..Options::default()
        };
        assert_eq!(prepare(&options, "zookeeper", ""), Err(StartError::Hostname("zookeeper".into())));
        let (cfg, my_id) = prepare(&options, "zk-2", "").expect("prepares");
        assert_eq!(my_id, 3);
        assert!(std::fs::read_to_string(cfg).expect("cfg").contains("server.3=zk-2:2888:3888"));
    }
}
