//! A full disk never acknowledges a write: on a 3 MiB tmpfs the txn log runs out of space, the
//! server logs it, closes the connection whose write was in flight, and answers later writes
//! with NotReadOnly while reads keep working (the closed session reconnects and reads too), and
//! every write it did acknowledge is there after a restart on a copy of the data.
//!
//! Needs root (mount); skipped otherwise unless FK_REQUIRE_MOUNT is set.

mod support;

use jute::proto::*;
use jute::request::Request;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

struct Mount(std::path::PathBuf);
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &Path, data: &Path) -> (Proc, SocketAddr) {
    let port = free_port();
    let config = dir.join("zoo.cfg");
    std::fs::write(
        &config,
        format!(
            "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\nadmin.enableServer=false\npreAllocSize=64\nsnapCount=100000000\n",
            data.display()
        ),
    )
    .unwrap();
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("server.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrokeeper"))
        .arg("serve")
        .arg(&config)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while four_letter(address, "ruok").as_deref() != Some("imok") {
        assert!(
            child.try_wait().unwrap().is_none(),
            "{}",
            std::fs::read_to_string(dir.join("server.log")).unwrap()
        );
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    (Proc(child), address)
}

#[test]
fn a_full_disk_stops_writes_and_loses_no_acknowledged_one() {
    let root = tempfile::tempdir().unwrap();
    let small = root.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=3m", "tmpfs"])
        .arg(&small)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        assert!(std::env::var("FK_REQUIRE_MOUNT").is_err(), "FK_REQUIRE_MOUNT is set but mount failed");
        eprintln!("cannot mount a tmpfs (not root?): skipping");
        return;
    }
    let _mount = Mount(small.clone());
    let (server, address) = start(root.path(), &small);
    let mut client = Client::connect(address);
    // Sessions made before the disk fills (a new one needs a createSession txn: refused).
    let mut other = Client::connect(address);
    let mut reader = Client::connect(address);
    let data = vec![b'x'; 8 * 1024];
    let mut acknowledged = Vec::new();
    let mut refused = None;
    for i in 0..2000 {
        let request = Request::Create(CreateRequest {
            path: format!("/n{i}"),
            data: Some(data.clone().into()),
            acl: OPEN(),
            flags: 0,
        });
        match client.call_within(&request, Duration::from_secs(3)) {
            Ok(Some(reply)) if reply.header.err == 0 => acknowledged.push(format!("/n{i}")),
            Ok(Some(reply)) => {
                refused = Some(reply.header.err);
                break;
            }
            // The write whose fsync failed is never acknowledged: its connection closes (the
            // outcome is unknown), rather than leaving it and everything behind it unanswered.
            Err(_) => break,
            Ok(None) => panic!("the write in flight when the log failed got no answer within 3 s"),
        }
    }
    assert!(acknowledged.len() > 50, "{}", acknowledged.len());
    // Whether the write in flight was refused or its connection closed, a new one is refused.
    let refused_in_flight = refused;
    let refused = refused.unwrap_or_else(|| other.call(&create("/after", b"", 0)).unwrap().header.err);
    assert_eq!(refused, jute::consts::err::NOT_READ_ONLY);
    let log = std::fs::read_to_string(root.path().join("server.log")).unwrap();
    assert!(log.contains("Unable to write to the txn log"), "{log}");
    // Reads still work; new sessions are refused.
    assert!(Client::connect_with(address, 0, vec![0; 16], 30_000).is_err());
    // The session whose connection closed is still there: it reconnects, reads, and is refused writes.
    if refused_in_flight.is_none() {
        let mut again = Client::connect_with(address, client.session_id, client.passwd.clone(), 30_000)
            .expect("the session reconnects");
        let reply =
            again.call(&Request::Exists(ExistsRequest { path: acknowledged[0].clone(), watch: false }));
        assert_eq!(reply.unwrap().header.err, 0);
        assert_eq!(
            again.call(&create("/again", b"", 0)).unwrap().header.err,
            jute::consts::err::NOT_READ_ONLY
        );
    }
    let reply =
        reader.call(&Request::Exists(ExistsRequest { path: acknowledged[0].clone(), watch: false })).unwrap();
    assert_eq!(reply.header.err, 0);
    drop(server);
    // Restart on a copy with room: every acknowledged write is there.
    let roomy = root.path().join("roomy");
    std::fs::create_dir_all(roomy.join("version-2")).unwrap();
    for entry in std::fs::read_dir(small.join("version-2")).unwrap().flatten() {
        std::fs::copy(entry.path(), roomy.join("version-2").join(entry.file_name())).unwrap();
    }
    let (_server, address) = start(root.path(), &roomy);
    let mut client = Client::connect(address);
    for path in &acknowledged {
        let reply =
            client.call(&Request::Exists(ExistsRequest { path: path.clone(), watch: false })).unwrap();
        assert_eq!(reply.header.err, 0, "acknowledged {path} is missing");
    }
}
