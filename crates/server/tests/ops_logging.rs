//! Logs on stdout in the shape operators know from Java ZooKeeper
//! (`2026-11-25 15:09:32,123 [myid:] - INFO  [component] - message`), one line per session
//! connection event, nothing for four-letter words, and the level from the command line.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{four_letter, free_port, start_ferrokeeper, Client};

fn is_java_like(line: &str) -> bool {
    // 2026-11-25 15:09:32,123 [myid:] - INFO  [core] - message
    let bytes = line.as_bytes();
    let stamp_ok = line.len() > 24
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b' '
        && bytes[13] == b':'
        && bytes[16] == b':'
        && bytes[19] == b','
        && line[..4].bytes().all(|b| b.is_ascii_digit());
    let rest = &line[23.min(line.len())..];
    let Some(rest) = rest.strip_prefix(" [myid:") else { return false };
    let Some((id, rest)) = rest.split_once("] - ") else { return false };
    let level_ok =
        ["INFO  [", "WARN  [", "ERROR [", "DEBUG [", "TRACE ["].iter().any(|l| rest.starts_with(l));
    stamp_ok && id.bytes().all(|b| b.is_ascii_digit()) && level_ok && rest[7..].contains("] - ")
}

fn wait_for(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn one_java_like_line_per_connection_event_and_none_for_four_letter_words() {
    let server = start_ferrokeeper("");
    for _ in 0..10 {
        assert_eq!(four_letter(server.address, "ruok").as_deref(), Some("imok"));
    }
    let client = Client::connect(server.address);
    let session = format!("0x{:x}", client.session_id);
    client.close();
    assert!(wait_for(|| server.log().contains("Closed socket connection")), "{}", server.log());
    let log = server.log();
    for line in log.lines() {
        assert!(is_java_like(line), "not a Java-like log line: {line:?}");
    }
    let established: Vec<&str> = log.lines().filter(|l| l.contains("Established session")).collect();
    assert_eq!(established.len(), 1, "{log}");
    assert!(established[0].contains(&session) && established[0].contains("for client 127.0.0.1:"));
    let closed: Vec<&str> = log.lines().filter(|l| l.contains("Closed socket connection")).collect();
    assert_eq!(closed.len(), 1, "{log}");
    assert!(closed[0].ends_with(&format!("which had sessionid {session}")), "{}", closed[0]);
    assert!(!log.contains("ruok"), "four-letter words are not logged:\n{log}");
}

#[test]
fn the_level_comes_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = dir.path().join("zoo.cfg");
    std::fs::write(
        &config,
        format!(
            "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
             4lw.commands.whitelist=*\nadmin.enableServer=false\n",
            dir.path().join("data").display()
        ),
    )
    .expect("zoo.cfg");
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrokeeper"))
        .args(["serve", "--log-level", "WARN"])
        .arg(&config)
        .env_remove("RUST_LOG")
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn");
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    assert!(wait_for(|| four_letter(address, "ruok").as_deref() == Some("imok")));
    let client = Client::connect(address);
    client.close();
    std::thread::sleep(Duration::from_millis(200));
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log_path).expect("log");
    assert!(!text.contains(" - INFO  ["), "INFO lines at level WARN:\n{text}");
}
