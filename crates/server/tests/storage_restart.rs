//! Durability through restarts of the real binary: the tutorial's /hello, sessions that come
//! back with their ephemerals, and kill -9 under a write load from several sessions.

mod support;

use jute::proto::*;
use jute::records::Stat;
use jute::request::{MultiOp, Request};
use jute::Record;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;

/// A ferrokeeper on a data dir that outlives it.
struct Server {
    child: Child,
    address: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(dir: &Path, port: u16, extra: &str) -> Server {
        let data = dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        let config = dir.join("zoo.cfg");
        std::fs::write(
            &config,
            format!(
                "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\nadmin.enableServer=false\nextendedTypesEnabled=true\npreAllocSize=1024\n{extra}",
                data.display()
            ),
        )
        .unwrap();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("server.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ferrokeeper"))
            .arg("serve")
            .arg(&config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Server { child, address: SocketAddr::from(([127, 0, 0, 1], port)) };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("ferrokeeper exited with {status}:\n{}", log_of(dir));
            }
            if four_letter(server.address, "ruok").as_deref() == Some("imok") {
                return server;
            }
            assert!(Instant::now() < deadline, "ferrokeeper did not start:\n{}", log_of(dir));
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM and wait.
    fn stop(mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// kill -9 and wait.
    fn crash(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log_of(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    log.lines().rev().take(60).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
}

fn get_data(client: &mut Client, path: &str) -> Result<(Option<Vec<u8>>, Stat), i32> {
    let reply = client.call(&Request::GetData(GetDataRequest { path: path.into(), watch: false })).unwrap();
    if reply.header.err != 0 {
        return Err(reply.header.err);
    }
    let response = GetDataResponse::decode(&reply.body).unwrap();
    Ok((response.data.map(|d| d.to_vec()), response.stat))
}

/// The tests here restart servers on the same port; run one at a time so that no other test of
/// this binary picks that port up while its server is down.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn tempdir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    (dir, path)
}

#[test]
fn the_tutorial_hello_survives_a_restart() {
    let _serial = serial();
    let (_guard, dir) = tempdir();
    let port = free_port();
    let server = Server::start(&dir, port, "");
    let mut client = Client::connect(server.address);
    assert_eq!(client.call(&create("/hello", b"world", 0)).unwrap().header.err, 0);
    client.close();
    server.stop();
    let logs: Vec<_> =
        std::fs::read_dir(dir.join("data/version-2")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(logs.iter().any(|name| name.to_str().unwrap().starts_with("log.")), "{logs:?}");
    let server = Server::start(&dir, port, "");
    let mut client = Client::connect(server.address);
    assert_eq!(get_data(&mut client, "/hello").unwrap().0.as_deref(), Some(&b"world"[..]));
}

#[test]
fn a_session_reconnecting_within_its_timeout_keeps_its_ephemerals_across_a_crash() {
    let _serial = serial();
    let (_guard, dir) = tempdir();
    let port = free_port();
    let server = Server::start(&dir, port, "");
    let mut owner = Client::connect_with(server.address, 0, vec![0; 16], 20_000).unwrap();
    assert_eq!(owner.call(&create("/eph", b"mine", 1)).unwrap().header.err, 0);
    let mut short = Client::connect_with(server.address, 0, vec![0; 16], 4_000).unwrap();
    assert_eq!(short.call(&create("/short", b"", 1)).unwrap().header.err, 0);
    let (session_id, passwd) = (owner.session_id, owner.passwd.clone());
    server.crash();
    let server = Server::start(&dir, port, "");
    let mut resumed = Client::connect_with(server.address, session_id, passwd, 20_000).unwrap();
    assert_eq!(resumed.session_id, session_id, "the session came back");
    assert_eq!(get_data(&mut resumed, "/eph").unwrap().1.ephemeral_owner, session_id);
    // The short session does not come back: its ephemeral goes once its timeout passes.
    let deadline = Instant::now() + Duration::from_secs(15);
    while get_data(&mut resumed, "/short").is_ok() {
        assert!(Instant::now() < deadline, "/short outlived its session");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(get_data(&mut resumed, "/eph").is_ok());
    drop(owner);
    drop(short);
}

/// One writer's log of acknowledged writes.
#[derive(Default)]
struct Acked {
    /// path → data of acknowledged creates/setData (last one wins).
    values: Vec<(String, Vec<u8>)>,
    /// Paths of acknowledged multis (both halves must exist).
    pairs: Vec<String>,
}

fn write_load(
    address: SocketAddr,
    writer: usize,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Acked>>,
    round: usize,
) {
    let Ok(mut client) = Client::connect_with(address, 0, vec![0; 16], 30_000) else { return };
    let base = format!("/r{round}w{writer}");
    if client.call(&create(&base, b"", 0)).map(|r| r.header.err).unwrap_or(-1) != 0 {
        return;
    }
    acked.lock().unwrap().values.push((base.clone(), Vec::new()));
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let path = format!("{base}/n{i}");
        let data = format!("{writer}:{i}").into_bytes();
        let result = if i % 3 == 2 {
            // A multi: two creates that must land together or not at all.
            let ops = vec![
                MultiOp::Create(CreateRequest {
                    path: format!("{path}a"),
                    data: Some(data.clone().into()),
                    acl: OPEN(),
                    flags: 0,
                }),
                MultiOp::Create(CreateRequest {
                    path: format!("{path}b"),
                    data: Some(data.clone().into()),
                    acl: OPEN(),
                    flags: 0,
                }),
            ];
            client.call(&Request::Multi(ops)).map(|reply| (reply.header.err, true))
        } else {
            client.call(&create(&path, &data, 0)).map(|reply| (reply.header.err, false))
        };
        match result {
            Ok((0, true)) => acked.lock().unwrap().pairs.push(path),
            Ok((0, false)) => acked.lock().unwrap().values.push((path, data)),
            Ok((code, _)) => panic!("write failed with {code}"),
            Err(_) => return, // the server died: this write is unacknowledged
        }
    }
}

fn crash_rounds(rounds: usize) {
    let (_guard, dir) = tempdir();
    let port = free_port();
    // A small snapCount so that snapshots and log rolls happen during the load.
    let extra = "snapCount=400\n";
    let mut all = Acked::default();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for round in 0..rounds {
        let server = Server::start(&dir, port, extra);
        // Every TxnDigest we logged matched the tree when replayed.
        let full_log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        assert!(
            !full_log.contains("does not match the tree"),
            "round {round}: digest mismatch\n{}",
            log_of(&dir)
        );
        // Everything acknowledged in earlier rounds is there.
        let mut checker = Client::connect(server.address);
        for (path, data) in &all.values {
            match get_data(&mut checker, path) {
                Ok((got, _)) => assert_eq!(got.unwrap_or_default(), *data, "round {round}: {path}"),
                Err(code) => {
                    panic!("round {round}: acknowledged {path} is missing ({code})\n{}", log_of(&dir))
                }
            }
        }
        for path in &all.pairs {
            assert!(get_data(&mut checker, &format!("{path}a")).is_ok(), "round {round}: {path}a");
            assert!(get_data(&mut checker, &format!("{path}b")).is_ok(), "round {round}: {path}b");
        }
        // No multi is half applied, acknowledged or not.
        for writer in 0..4 {
            let base = format!("/r{}w{writer}", round.saturating_sub(1));
            if round == 0 {
                break;
            }
            if let Ok(reply) =
                checker.call(&Request::GetChildren(GetChildrenRequest { path: base.clone(), watch: false }))
            {
                if reply.header.err == 0 {
                    let children = GetChildrenResponse::decode(&reply.body).unwrap().children;
                    for child in &children {
                        if let Some(stem) = child.strip_suffix('a') {
                            assert!(children.contains(&format!("{stem}b")), "half a multi: {base}/{child}");
                        }
                        if let Some(stem) = child.strip_suffix('b') {
                            assert!(children.contains(&format!("{stem}a")), "half a multi: {base}/{child}");
                        }
                    }
                }
            }
        }
        drop(checker);
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Acked::default()));
        let writers: Vec<_> = (0..4)
            .map(|writer| {
                let (stop, acked) = (stop.clone(), acked.clone());
                let address = server.address;
                std::thread::spawn(move || write_load(address, writer, stop, acked, round))
            })
            .collect();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(150 + seed % 600));
        server.crash();
        stop.store(true, Ordering::Relaxed);
        for writer in writers {
            writer.join().unwrap();
        }
        let acked = Arc::try_unwrap(acked).ok().unwrap().into_inner().unwrap();
        all.values.extend(acked.values);
        all.pairs.extend(acked.pairs);
    }
    assert!(all.values.len() > rounds * 10, "the load wrote too little: {}", all.values.len());
    let server = Server::start(&dir, port, extra);
    let mut checker = Client::connect(server.address);
    for (path, data) in &all.values {
        assert_eq!(get_data(&mut checker, path).unwrap().0.unwrap_or_default(), *data, "{path}");
    }
}

#[test]
fn kill_dash_nine_under_load_loses_no_acknowledged_write() {
    let _serial = serial();
    let rounds = std::env::var("FK_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    crash_rounds(rounds);
}

fn exists(client: &mut Client, path: &str) -> bool {
    let reply = client.call(&Request::Exists(ExistsRequest { path: path.into(), watch: false })).unwrap();
    reply.header.err == 0
}

/// The damage a crash or an operator can do to the files, on the real binary: a torn last
/// record, a corrupt newest snapshot, a missing log file.
#[test]
fn a_torn_record_a_corrupt_snapshot_and_a_missing_log_on_restart() {
    let _serial = serial();
    let (_guard, dir) = tempdir();
    let port = free_port();
    let version2 = dir.join("data/version-2");
    let server = Server::start(&dir, port, "");
    let mut client = Client::connect(server.address);
    for i in 0..100 {
        assert_eq!(client.call(&create(&format!("/t{i}"), b"v", 0)).unwrap().header.err, 0);
    }
    drop(client);
    server.stop();

    // 1. The last record torn in the middle (as a crash during its write would leave it).
    let (_, newest_log) = wal::files::list(&version2, "log").unwrap().pop().unwrap();
    let (entries, _) = wal::txnlog::scan_log(&newest_log).unwrap();
    let last = entries.iter().rev().find(|e| e.header.r#type == jute::consts::op::CREATE).unwrap();
    let cut = last.offset as usize + 20;
    let bytes = std::fs::read(&newest_log).unwrap();
    let torn_zxid = last.header.zxid;
    std::fs::write(&newest_log, &bytes[..cut]).unwrap();
    let server = Server::start(&dir, port, "");
    let mut client = Client::connect(server.address);
    assert!(exists(&mut client, "/t98"));
    // The torn txn (and what followed it in the file) is not replayed.
    assert!(!exists(&mut client, "/t99"), "torn txn 0x{torn_zxid:x} was replayed");
    assert!(log_of(&dir).contains("torn entry"), "{}", log_of(&dir));
    assert_eq!(client.call(&create("/t99", b"again", 0)).unwrap().header.err, 0);
    drop(client);
    server.stop();

    // 2. The newest snapshot corrupt: the previous one and the logs rebuild the same tree.
    std::thread::sleep(Duration::from_millis(300));
    let snapshots = wal::files::list(&version2, "snapshot").unwrap();
    assert!(snapshots.len() >= 2, "{snapshots:?}");
    let (_, newest_snapshot) = snapshots.last().unwrap().clone();
    let mut bytes = std::fs::read(&newest_snapshot).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xA5;
    std::fs::write(&newest_snapshot, &bytes).unwrap();
    let server = Server::start(&dir, port, "");
    let mut client = Client::connect(server.address);
    for i in 0..100 {
        assert!(exists(&mut client, &format!("/t{i}")), "/t{i}");
    }
    assert!(log_of(&dir).contains("trying an older one"), "{}", log_of(&dir));
    assert_eq!(client.call(&create("/t100", b"", 0)).unwrap().header.err, 0);
    drop(client);
    server.stop();

    // 3. A log file in the middle deleted, with no snapshot covering it: refuse to start rather
    //    than serve a tree missing acknowledged writes.
    let logs = wal::files::list(&version2, "log").unwrap();
    assert!(logs.len() >= 3, "{logs:?}");
    for (zxid, path) in wal::files::list(&version2, "snapshot").unwrap() {
        if zxid != 0 {
            std::fs::remove_file(path).unwrap();
        }
    }
    std::fs::remove_file(&logs[1].1).unwrap();
    let config = dir.join("zoo.cfg");
    let status = Command::new(env!("CARGO_BIN_EXE_ferrokeeper"))
        .arg("serve")
        .arg(&config)
        .stdout(std::fs::OpenOptions::new().append(true).open(dir.join("server.log")).unwrap())
        .stderr(std::fs::OpenOptions::new().append(true).open(dir.join("server.log")).unwrap())
        .status()
        .unwrap();
    assert!(!status.success());
    assert!(log_of(&dir).contains("are missing from the txn logs"), "{}", log_of(&dir));
}
