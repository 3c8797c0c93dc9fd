//! The served process runs with glibc's larger per-thread cache (see
//! `ferrokeeper::malloc_tuning`): same pid as the one started, and an operator's own cache
//! setting wins.

mod support;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

fn environment_of(pid: u32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).expect("environ");
    raw.split(|&b| b == 0).map(|v| String::from_utf8_lossy(v).into_owned()).collect()
}

fn tunables_of(pid: u32) -> Option<String> {
    environment_of(pid).into_iter().find_map(|v| v.strip_prefix("GLIBC_TUNABLES=").map(str::to_string))
}

#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn the_server_re_executes_itself_once_with_the_larger_cache_and_keeps_its_pid() {
    let server = start_ferrokeeper("");
    // The pid we spawned is the one serving (exec, not a child), with the tunables applied.
    let seen = tunables_of(server.child.id()).unwrap_or_default();
    assert!(seen.contains(ferrokeeper::malloc_tuning::TUNABLES), "GLIBC_TUNABLES={seen}");
    // It keeps its name: the kernel names a process after the file it executes.
    let name = std::fs::read_to_string(format!("/proc/{}/comm", server.child.id())).expect("comm");
    assert_eq!(name.trim_end(), "ferrokeeper");
    assert!(four_letter(server.address, "ruok").is_some_and(|answer| answer == "imok"));
}

#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn an_operators_own_cache_setting_is_left_as_it_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = dir.path().join("zoo.cfg");
    let data = dir.path().join("data");
    std::fs::write(&config, format!("tickTime=2000\ndataDir={}\nclientPort={port}\n", data.display()))
        .expect("zoo.cfg");
    let chosen = "glibc.malloc.tcache_count=7";
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrokeeper"))
        .arg("serve")
        .arg(&config)
        .env("GLIBC_TUNABLES", chosen)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while four_letter(address, "ruok").is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let seen = tunables_of(child.id());
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(seen.as_deref(), Some(chosen));
}
