//! Apache ZooKeeper 3.8 reads what ferrokeeper writes: a tree of 10k+ znodes (data from 0 B to
//! 100 KiB, null data, ephemerals of a live session, sequentials, containers, TTLs, digest ACLs)
//! is written by ferrokeeper, which stops; Java's SnapshotFormatter and TxnLogToolkit accept
//! every file, and Java started on (a copy of) that dataDir serves the same tree as ferrokeeper
//! restarted on it: every path, data, Stat field and ACL compared.
//!
//! Skipped when Java is not installed, unless FK_REQUIRE_JAVA is set.

mod support;

use jute::consts::op;
use jute::proto::*;
use jute::records::{Acl, Stat};
use jute::request::Request;
use jute::{Field, Reader, Record};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

const ALICE_DIGEST: &str = "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=";

fn java_installed() -> bool {
    let installed = Path::new("/usr/share/java/zookeeper.jar").exists()
        && Command::new("java").arg("-version").stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if !installed && std::env::var("FK_REQUIRE_JAVA").is_ok() {
        panic!("FK_REQUIRE_JAVA is set but Java ZooKeeper is not installed");
    }
    installed
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn config(dir: &Path, port: u16, extra: &str) -> PathBuf {
    let path = dir.join("zoo.cfg");
    std::fs::write(
        &path,
        format!(
            "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\nadmin.enableServer=false\nextendedTypesEnabled=true\n{extra}",
            dir.join("data").display()
        ),
    )
    .unwrap();
    path
}

fn wait_serving(address: SocketAddr, child: &mut Child, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "server exited with {status}: {}",
                std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
            );
        }
        if four_letter(address, "srvr").is_some_and(|text| text.contains("Mode:")) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "server did not start: {}",
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn start(kind: &str, dir: &Path, extra: &str) -> (Proc, SocketAddr) {
    let port = free_port();
    let cfg = config(dir, port, extra);
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("server.log")).unwrap();
    let mut command = if kind == "java" {
        let mut c = Command::new("java");
        c.args([
            "-Dzookeeper.extendedTypesEnabled=true",
            "-Dzookeeper.admin.enableServer=false",
            "-Xmx512m",
            "-cp",
            &java_classpath(),
            "org.apache.zookeeper.server.quorum.QuorumPeerMain",
        ]);
        c
    } else {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ferrokeeper"));
        c.arg("serve");
        c
    };
    let mut child =
        command.arg(&cfg).stdout(log.try_clone().unwrap()).stderr(log).stdin(Stdio::null()).spawn().unwrap();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    wait_serving(address, &mut child, dir);
    (Proc(child), address)
}

/// Debian's jars with slf4j-simple as the only logging binding (`/usr/share/java/*` picks the
/// NOP one), so that Java's log shows what it checked while loading our files.
fn java_classpath() -> String {
    let mut jars: Vec<String> = std::fs::read_dir("/usr/share/java")
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path().display().to_string())
                .filter(|p| p.ends_with(".jar"))
                .filter(|p| {
                    !["slf4j-nop", "slf4j-log4j12", "slf4j-jcl", "slf4j-jdk14", "maven3-slf4j-provider"]
                        .iter()
                        .any(|binding| p.contains(binding))
                })
                .collect()
        })
        .unwrap_or_default();
    jars.sort();
    jars.join(":")
}

/// Sends every request before reading any reply; returns the error codes in order.
fn pipelined(client: &mut Client, requests: &[Request]) -> Vec<i32> {
    let mut frames = Vec::new();
    for (i, request) in requests.iter().enumerate() {
        let mut payload = Vec::new();
        RequestHeader { xid: 1_000_000 + i as i32, r#type: request.opcode() }.write(&mut payload);
        request.write_body(&mut payload);
        jute::proto::put_frame(&mut frames, &payload);
    }
    use std::io::Write;
    client.stream.write_all(&frames).unwrap();
    let mut codes = Vec::new();
    while codes.len() < requests.len() {
        let frame = read_frame(&mut client.stream).unwrap();
        let header = ReplyHeader::read(&mut Reader::new(&frame)).unwrap();
        if header.xid == jute::consts::xid::NOTIFICATION {
            continue;
        }
        codes.push(header.err);
    }
    codes
}

fn open() -> Vec<Acl> {
    vec![Acl::new(31, "world", "anyone")]
}

fn alice() -> Vec<Acl> {
    vec![Acl::new(31, "digest", ALICE_DIGEST), Acl::new(1, "world", "anyone")]
}

fn authenticate(client: &mut Client) {
    let auth = AuthPacket { r#type: 0, scheme: "digest".into(), auth: b"alice:secret".to_vec().into() };
    assert_eq!(client.call(&Request::Auth(auth)).unwrap().header.err, 0);
}

/// The workload: 10k+ nodes of every kind.
fn populate(client: &mut Client, ephemeral_owner: &mut Client) -> usize {
    let mut requests = Vec::new();
    for dir in 0..20 {
        requests.push(Request::Create(CreateRequest {
            path: format!("/d{dir}"),
            data: Some(vec![b'd'; dir].into()),
            acl: open(),
            flags: 0,
        }));
    }
    for i in 0..10_200usize {
        let dir = i % 20;
        let size = match i % 1000 {
            0 => 100 * 1024,
            1..=9 => 10 * 1024,
            _ => i % 200,
        };
        let data = if i % 97 == 0 { None } else { Some(vec![(i % 251) as u8; size].into()) };
        let path = format!("/d{dir}/n{i}");
        let request = match i % 50 {
            1 => {
                Request::Create(CreateRequest { path: format!("/d{dir}/seq-"), data, acl: open(), flags: 2 })
            }
            2 => Request::CreateContainer(CreateRequest { path, data, acl: open(), flags: 4 }),
            3 => Request::CreateTtl(CreateTtlRequest { path, data, acl: open(), flags: 5, ttl: 3_600_000 }),
            4 => Request::Create(CreateRequest { path, data, acl: alice(), flags: 0 }),
            _ => Request::Create(CreateRequest { path, data, acl: open(), flags: 0 }),
        };
        requests.push(request);
    }
    for chunk in requests.chunks(500) {
        assert!(pipelined(client, chunk).iter().all(|&code| code == 0));
    }
    let mut updates = Vec::new();
    for i in (0..10_000usize).step_by(7) {
        if i % 50 > 4 {
            updates.push(Request::SetData(SetDataRequest {
                path: format!("/d{}/n{i}", i % 20),
                data: Some(b"updated".to_vec().into()),
                version: -1,
            }));
        }
    }
    for i in (5..10_000usize).step_by(101) {
        if i % 50 > 4 && i % 7 != 0 {
            updates.push(Request::Delete(DeleteRequest { path: format!("/d{}/n{i}", i % 20), version: -1 }));
        }
    }
    assert!(pipelined(client, &updates).iter().all(|&code| code == 0));
    let ephemerals: Vec<Request> = (0..50)
        .map(|i| {
            Request::Create(CreateRequest {
                path: format!("/d{}/eph{i}", i % 20),
                data: Some(b"e".to_vec().into()),
                acl: open(),
                flags: 1,
            })
        })
        .collect();
    assert!(pipelined(ephemeral_owner, &ephemerals).iter().all(|&code| code == 0));
    requests.len() + ephemerals.len()
}

type Tree = BTreeMap<String, (Option<Vec<u8>>, Stat, Vec<Acl>)>;

fn read_tree(address: SocketAddr) -> Tree {
    let mut client = Client::connect(address);
    authenticate(&mut client);
    let mut tree = Tree::new();
    let mut stack = vec!["/".to_string()];
    while let Some(path) = stack.pop() {
        let reply =
            client.call(&Request::GetData(GetDataRequest { path: path.clone(), watch: false })).unwrap();
        assert_eq!(reply.header.err, 0, "{path}");
        let data = GetDataResponse::decode(&reply.body).unwrap();
        let reply = client.call(&Request::GetAcl(GetAclRequest { path: path.clone() })).unwrap();
        let acl = GetAclResponse::decode(&reply.body).unwrap().acl;
        let reply = client
            .call(&Request::GetChildren(GetChildrenRequest { path: path.clone(), watch: false }))
            .unwrap();
        for child in GetChildrenResponse::decode(&reply.body).unwrap().children {
            stack.push(if path == "/" { format!("/{child}") } else { format!("{path}/{child}") });
        }
        tree.insert(path, (data.data.map(|d| d.to_vec()), data.stat, acl));
    }
    tree
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn java_tool(class: &str, file: &Path) -> String {
    let output = Command::new("java")
        .args(["-cp", "/usr/share/java/*", class])
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{class} {}: {}\n{}",
        file.display(),
        String::from_utf8_lossy(&output.stderr),
        text
    );
    text
}

#[test]
fn java_serves_the_tree_ferrokeeper_wrote() {
    if !java_installed() {
        eprintln!("Java ZooKeeper not installed: skipping");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let ours = root.path().join("ours");
    std::fs::create_dir_all(&ours).unwrap();
    // A small snapCount: snapshots and log rolls happen along the way.
    let extra = "snapCount=3000\n";
    let (server, address) = start("ferrokeeper", &ours, extra);
    let mut client = Client::connect(address);
    let mut owner = Client::connect_with(address, 0, vec![0; 16], 40_000).unwrap();
    let written = populate(&mut client, &mut owner);
    assert!(written > 10_000);
    let expected = read_tree(address);
    assert!(expected.len() > 10_000, "{}", expected.len());
    // Stop with the ephemerals' session still live.
    let _ = Command::new("kill").arg("-TERM").arg(server.0.id().to_string()).status();
    drop(server);

    let version2 = ours.join("data/version-2");
    let files = |prefix: &str| wal::files::list(&version2, prefix).unwrap();
    assert!(files("log").len() >= 3, "{:?}", files("log"));
    assert!(!files("snapshot").is_empty());
    let mut logged = 0usize;
    for (_, log) in files("log") {
        let text = java_tool("org.apache.zookeeper.server.persistence.TxnLogToolkit", &log);
        let count = text
            .lines()
            .find_map(|l| l.strip_prefix("EOF reached after "))
            .and_then(|l| l.split(' ').next())
            .and_then(|n| n.parse::<usize>().ok());
        let count = count.unwrap_or_else(|| {
            panic!("TxnLogToolkit {}: {}", log.display(), &text[text.len().saturating_sub(500)..])
        });
        let (entries, _) = wal::txnlog::scan_log(&log).unwrap();
        assert_eq!(count, entries.len(), "Java and we count the txns of {} alike", log.display());
        logged += count;
    }
    assert!(logged > 10_000, "{logged} txns in {:?}", files("log"));
    for (_, snapshot) in files("snapshot") {
        let text = java_tool("org.apache.zookeeper.server.SnapshotFormatter", &snapshot);
        assert!(text.contains("ZNode Details (count="), "{}", &text[..text.len().min(300)]);
        assert!(text.contains("Session Details"), "sessions listed");
    }

    let java_dir = root.path().join("java");
    copy_dir(&ours, &java_dir);
    let (_java, java_address) = start("java", &java_dir, extra);
    let java_tree = read_tree(java_address);
    let java_log = std::fs::read_to_string(java_dir.join("server.log")).unwrap();
    assert!(java_log.contains("txns loaded in"), "Java logs its load: {java_log}");
    assert!(!java_log.contains("Digests are not matching"), "Java checked our digests: {java_log}");
    assert!(!java_log.to_lowercase().contains("mismatch"), "{java_log}");
    let fk_dir = root.path().join("fk");
    copy_dir(&ours, &fk_dir);
    let (_fk, fk_address) = start("ferrokeeper", &fk_dir, extra);
    let fk_tree = read_tree(fk_address);
    let fk_log = std::fs::read_to_string(fk_dir.join("server.log")).unwrap();
    assert!(!fk_log.contains("does not match the tree"), "our logged digests are the tree's: {fk_log}");
    for (path, node) in &expected {
        assert_eq!(java_tree.get(path), Some(node), "Java's view of {path}");
    }
    assert_eq!(java_tree.len(), expected.len());
    assert_eq!(fk_tree, java_tree);
    drop(owner);
    let _ = op::CREATE;
    let _: Option<TcpStream> = None;
    let _ = <i32 as Field>::MIN_SIZE;
}
