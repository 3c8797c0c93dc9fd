//! One binary under several names: an image links `zkCli.sh`, `zkServer.sh`,
//! `start-zookeeper` and `zookeeper-ready` to `ferrokeeper`, and each behaves as the matching
//! subcommand.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Runs the subcommand `program`'s file name stands for, if it stands for one.
pub fn dispatch(program: &OsString, args: &[OsString]) -> Option<ExitCode> {
    let name = Path::new(program).file_name()?.to_string_lossy().into_owned();
    let code = match name.as_str() {
        "zkCli.sh" | "zkCli" | "zookeeper-cli" => crate::cli::main(args),
        "zkServer.sh" | "zkServer" => zk_server(args),
        "start-zookeeper" => crate::start_zookeeper::main(args),
        "zookeeper-ready" => crate::ready::main(args),
        _ => return None,
    };
    Some(code)
}

/// zkServer.sh's config lookup: an explicit file, else `$ZOOCFGDIR/zoo.cfg`, else
/// `/conf/zoo.cfg` or `/etc/zookeeper/conf/zoo.cfg` when present.
fn config_path(explicit: Option<&OsString>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        let path = PathBuf::from(path);
        // zkServer.sh takes a bare name as relative to the config dir.
        if path.components().count() == 1 && !path.exists() {
            if let Ok(dir) = std::env::var("ZOOCFGDIR") {
                return Some(Path::new(&dir).join(path));
            }
        }
        return Some(path);
    }
    let mut candidates = Vec::new();
    if let Ok(dir) = std::env::var("ZOOCFGDIR") {
        candidates.push(Path::new(&dir).join(std::env::var("ZOOCFG").unwrap_or_else(|_| "zoo.cfg".into())));
    }
    candidates.push("/conf/zoo.cfg".into());
    candidates.push("/etc/zookeeper/conf/zoo.cfg".into());
    candidates.push("/opt/zookeeper/conf/zoo.cfg".into());
    candidates.into_iter().find(|p| p.exists())
}

/// `zkServer.sh start-foreground|status|version [zoo.cfg]`.
pub fn zk_server(args: &[OsString]) -> ExitCode {
    let command = args.first().map(|a| a.to_string_lossy().into_owned()).unwrap_or_default();
    let config = config_path(args.get(1));
    match command.as_str() {
        "start-foreground" | "start" => {
            if let Some(path) = &config {
                eprintln!("Using config: {}", path.display());
            }
            if command == "start" {
                eprintln!("ferrokeeper runs in the foreground only: use start-foreground");
            }
            crate::logging::init(None);
            crate::serve::serve(config.as_deref())
        }
        "status" => status(config.as_deref()),
        "version" => {
            println!("Apache ZooKeeper, version {}", crate::fourlw::VERSION);
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("Usage: zkServer.sh [--config <conf-dir>] {{start-foreground|status|version}}");
            ExitCode::FAILURE
        }
    }
}

/// As zkServer.sh status: the client port from the config, then `srvr`'s Mode line.
fn status(config: Option<&Path>) -> ExitCode {
    let (host, port) = match config.map(crate::config::ServerConfig::load) {
        Some(Ok(cfg)) => (
            cfg.client_port_address.clone().unwrap_or_else(|| "localhost".into()),
            cfg.client_port.unwrap_or(2181),
        ),
        Some(Err(error)) => {
            eprintln!("Invalid config: {error}");
            return ExitCode::FAILURE;
        }
        None => ("localhost".into(), 2181),
    };
    if let Some(path) = config {
        eprintln!("Using config: {}", path.display());
    }
    eprintln!("Client port found: {port}. Client address: {host}. Client SSL: false.");
    let connect_host = if host == "0.0.0.0" { "localhost".to_owned() } else { host };
    match crate::ready::four_letter(&connect_host, port, "srvr", Duration::from_secs(5)) {
        Ok(answer) => match answer.lines().find_map(|l| l.strip_prefix("Mode: ")) {
            Some(mode) => {
                eprintln!("Mode: {mode}");
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("Error contacting service. It is probably not running.");
                ExitCode::FAILURE
            }
        },
        Err(_) => {
            eprintln!("Error contacting service. It is probably not running.");
            ExitCode::FAILURE
        }
    }
}
