//! `ferrokeeper`: a ZooKeeper server without a JVM.
//!
//! One binary, several names: invoked as `zkCli.sh`, `zkServer.sh`, `start-zookeeper` or
//! `zookeeper-ready` (a symlink or hard link in an image) it behaves as the matching subcommand.

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc rather than glibc's malloc: the core allocates a batch's requests, txns, messages
/// and replies, then frees them together a round trip later, in bursts that fell through
/// glibc's per-thread cache to its arena bins. On a 3-member loopback ensemble the leader spent
/// about a sixth less CPU per create with mimalloc (docs/PERFORMANCE-HISTORY.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(name = "ferrokeeper", version, about = "A native, wire-compatible Apache ZooKeeper server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve from a zoo.cfg as QuorumPeerMain does; with no file: clientPort 2181, dataDir ./data.
    Serve {
        /// Path to zoo.cfg.
        config: Option<PathBuf>,
        /// Log level (ERROR, WARN, INFO, DEBUG, TRACE); default INFO, or FK_LOG_LEVEL / RUST_LOG.
        #[arg(long)]
        log_level: Option<String>,
    },
    /// zkCli.sh: `cli [-server host:port] [cmd args...]`; interactive without a command.
    #[command(disable_help_flag = true)]
    Cli {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// The Kubernetes tutorial image's start-zookeeper: writes zoo.cfg and myid, then serves.
    #[command(disable_help_flag = true)]
    StartZookeeper {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Probe: exit 0 when the server answers `ruok` with `imok` (`--quorum`: and is serving).
    Ready {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// zkCleanup.sh / PurgeTxnLog: keep the N newest snapshots and the txn logs they need.
    Purge {
        /// dataDir (snapshots live in its version-2).
        data_dir: PathBuf,
        /// dataLogDir (txn logs); defaults to dataDir.
        data_log_dir: Option<PathBuf>,
        /// How many snapshots to keep (at least 3).
        #[arg(short = 'n', default_value_t = 3)]
        count: usize,
    },
    /// zkServer.sh: start-foreground, status, version.
    #[command(name = "zkServer", disable_help_flag = true)]
    ZkServer {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
}

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    let program = args.next().unwrap_or_default();
    let rest: Vec<OsString> = args.collect();
    if let Some(code) = ferrokeeper::multicall::dispatch(&program, &rest) {
        return code;
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config, log_level } => {
            ferrokeeper::logging::init(log_level.as_deref());
            ferrokeeper::serve::serve(config.as_deref())
        }
        Command::Cli { args } => ferrokeeper::cli::main(&args),
        Command::StartZookeeper { args } => ferrokeeper::start_zookeeper::main(&args),
        Command::Ready { args } => ferrokeeper::ready::main(&args),
        Command::Purge { data_dir, data_log_dir, count } => {
            ferrokeeper::storage::purge_command(&data_dir, data_log_dir.as_deref(), count)
        }
        Command::ZkServer { args } => ferrokeeper::multicall::zk_server(&args),
    }
}
