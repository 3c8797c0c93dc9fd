//! Smoke run of the load generator (not a benchmark: nothing here is timed or compared).
//!
//! Starts the release `ferrokeeper` binary that `tests/run-all.sh` builds before `cargo test`
//! (skipped with a note when it is absent), drives a few hundred mixed requests through
//! `loadgen` and checks that the run completes without errors and prints the table's shape.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ferrokeeper_binary() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let binary = std::env::var_os("FK_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/release/ferrokeeper"));
    binary.exists().then_some(binary)
}

fn serving(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if std::io::Write::write_all(&mut stream, b"srvr").is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.contains("Mode:")
}

#[test]
fn a_few_hundred_mixed_requests_complete_and_print_the_table() {
    let Some(binary) = ferrokeeper_binary() else {
        eprintln!("skipped: no target/release/ferrokeeper (cargo build --release first)");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let port = TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
    let cfg = dir.path().join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
             admin.enableServer=false\nforceSync=yes\n",
            dir.path().join("data").display()
        ),
    )
    .expect("zoo.cfg");
    let log = std::fs::File::create(dir.path().join("server.log")).expect("log");
    let _server = KillOnDrop(
        Command::new(&binary)
            .arg("serve")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start ferrokeeper"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !serving(port) {
        assert!(Instant::now() < deadline, "ferrokeeper did not serve on {port} within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }

    let output = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["--servers", &format!("127.0.0.1:{port}"), "--op", "mixed", "--sessions", "2"])
        .args(["--inflight", "2", "--max-ops", "300", "--duration", "20", "--warmup", "0"])
        .args(["--nodes", "20", "--json", "--label", "smoke"])
        .output()
        .expect("run loadgen");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "loadgen failed: {stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "header, row, JSON: {stdout}");
    for column in ["ops/s", "p50_us", "p99_us", "p999_us", "errors"] {
        assert!(lines[0].contains(column), "header lacks {column}: {}", lines[0]);
    }
    assert!(lines[1].starts_with("smoke") && lines[1].trim_end().ends_with(" 0"), "row: {}", lines[1]);
    assert!(lines[2].contains("\"ops\":300") && lines[2].contains("\"errors\":0"), "json: {}", lines[2]);
}
