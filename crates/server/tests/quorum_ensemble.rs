//! A 3-member ferrokeeper ensemble of real processes on 127.0.0.1: it forms, a write on any
//! member is read on the others, kill -9 of the leader elects a new one that takes writes, and
//! the old leader comes back as a follower with every write. (The Python suite
//! `tests/python/test_quorum.py` covers sessions, DIFF/TRUNC/SNAP, observers and mixed
//! ensembles with Java.)

mod support;

use jute::proto::*;
use jute::request::Request;
use jute::Record;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

struct Member {
    sid: u64,
    dir: std::path::PathBuf,
    client: SocketAddr,
    child: Option<Child>,
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Member {
    fn start(&mut self) {
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("server.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ferrokeeper"))
            .arg("serve")
            .arg(self.dir.join("zoo.cfg"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn ferrokeeper");
        self.child = Some(child);
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn mode(&self) -> Option<String> {
        let srvr = four_letter(self.client, "srvr")?;
        srvr.lines().find_map(|line| line.strip_prefix("Mode: ").map(str::to_string))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

fn ensemble(root: &std::path::Path) -> Vec<Member> {
    let ports: Vec<(u16, u16, u16)> = (0..3).map(|_| (free_port(), free_port(), free_port())).collect();
    let servers: String = ports
        .iter()
        .enumerate()
        .map(|(i, (_, quorum, election))| format!("server.{}=127.0.0.1:{quorum}:{election}\n", i + 1))
        .collect();
    ports
        .iter()
        .enumerate()
        .map(|(i, (client, _, _))| {
            let sid = i as u64 + 1;
            let dir = root.join(format!("member-{sid}"));
            std::fs::create_dir_all(dir.join("data")).unwrap();
            std::fs::write(dir.join("data").join("myid"), format!("{sid}\n")).unwrap();
            std::fs::write(
                dir.join("zoo.cfg"),
                format!(
                    "tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={client}\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\nadmin.enableServer=false\npreAllocSize=1024\n{servers}",
                    dir.join("data").display()
                ),
            )
            .unwrap();
            Member { sid, dir, client: SocketAddr::from(([127, 0, 0, 1], *client)), child: None }
        })
        .collect()
}

/// Waits until the running members have one leader and the rest follow; returns the leader's index.
fn wait_formed(members: &[Member], within: Duration) -> usize {
    let deadline = Instant::now() + within;
    loop {
        let modes: Vec<Option<String>> =
            members.iter().map(|m| if m.child.is_some() { m.mode() } else { Some("down".into()) }).collect();
        let leaders: Vec<usize> =
            (0..members.len()).filter(|&i| modes[i].as_deref() == Some("leader")).collect();
        let all_in = modes.iter().all(|m| matches!(m.as_deref(), Some("leader" | "follower" | "down")));
        if leaders.len() == 1 && all_in {
            return leaders[0];
        }
        if Instant::now() > deadline {
            let logs: String = members.iter().map(|m| format!("--- {}\n{}", m.sid, m.log())).collect();
            panic!("no ensemble within {within:?}: {modes:?}\n{logs}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A started ensemble in `root`, formed: its members and the leader's index.
fn formed_ensemble(root: &std::path::Path) -> (Vec<Member>, usize) {
    let mut members = ensemble(root);
    for m in members.iter_mut() {
        m.start();
    }
    let leader = wait_formed(&members, Duration::from_secs(60));
    (members, leader)
}

fn get(address: SocketAddr, path: &str) -> Vec<u8> {
    let mut client = Client::connect(address);
    let synced = client.call(&Request::Sync(SyncRequest { path: path.into() })).expect("sync");
    assert_eq!(synced.header.err, 0);
    let reply =
        client.call(&Request::GetData(GetDataRequest { path: path.into(), watch: false })).expect("get");
    assert_eq!(reply.header.err, 0, "getData {path} on {address}");
    let data = GetDataResponse::decode(&reply.body).expect("decode").data.unwrap_or_default().to_vec();
    client.close();
    data
}

#[test]
fn three_members_form_replicate_and_survive_the_leader() {
    let root = tempfile::tempdir().unwrap();
    let (mut members, leader) = formed_ensemble(root.path());

    // A write on each member is read on every other.
    for m in &members {
        let mut client = Client::connect(m.client);
        let reply =
            client.call(&create(&format!("/on-{}", m.sid), format!("from {}", m.sid).as_bytes(), 0)).unwrap();
        assert_eq!(reply.header.err, 0, "create on member {}", m.sid);
        // Session ids carry the myid of the member that minted them.
        assert_eq!(client.session_id >> 56, m.sid as i64);
        client.close();
    }
    for m in &members {
        for other in &members {
            assert_eq!(
                get(m.client, &format!("/on-{}", other.sid)),
                format!("from {}", other.sid).into_bytes()
            );
        }
    }

    // kill -9 of the leader: the others elect a new one and take writes.
    let killed_at = Instant::now();
    members[leader].kill();
    let new_leader = wait_formed(&members, Duration::from_secs(30));
    assert_ne!(new_leader, leader);
    eprintln!("new leader {} after {:?}", members[new_leader].sid, killed_at.elapsed());
    let mut client = Client::connect(members[new_leader].client);
    for i in 0..20 {
        assert_eq!(client.call(&create(&format!("/after-{i}"), b"x", 0)).unwrap().header.err, 0);
    }
    client.close();

    // The old leader comes back as a follower and has every write.
    members[leader].start();
    let deadline = Instant::now() + Duration::from_secs(30);
    while members[leader].mode().as_deref() != Some("follower") {
        assert!(Instant::now() < deadline, "old leader did not rejoin:\n{}", members[leader].log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(get(members[leader].client, "/after-19"), b"x");
    assert_eq!(
        get(members[leader].client, &format!("/on-{}", members[leader].sid)),
        format!("from {}", members[leader].sid).into_bytes()
    );
}

fn leader_log(members: &[Member], leader: usize) -> String {
    format!("--- leader {} log:\n{}", members[leader].sid, members[leader].log())
}

/// Thousands of writes pipelined through the followers at once: the leader proposes each
/// forwarded request while carrying out earlier batches, and must neither recurse per batch (a
/// deep pipeline once overflowed its stack and killed it) nor lose or reorder a reply.
#[test]
fn a_deep_pipeline_of_forwarded_writes_is_answered_in_order_and_the_ensemble_stays_up() {
    use jute::{Field, Reader};
    use std::io::Write;
    let root = tempfile::tempdir().unwrap();
    let (members, leader) = formed_ensemble(root.path());
    let mut setup = Client::connect(members[leader].client);
    assert_eq!(setup.call(&create("/deep", b"", 0)).unwrap().header.err, 0);
    setup.close();
    const PER_CONNECTION: i32 = 1500;
    let mut clients: Vec<Client> = Vec::new();
    for (index, m) in members.iter().enumerate().filter(|&(i, _)| i != leader) {
        for c in 0..4 {
            let mut client = Client::connect_with(m.client, 0, vec![0; 16], 30_000).unwrap_or_else(|error| {
                panic!("connect to {}: {error}\n{}", m.sid, leader_log(&members, leader))
            });
            let mut batch = Vec::new();
            for i in 0..PER_CONNECTION {
                let mut payload = Vec::new();
                let request = create(&format!("/deep/m{index}-c{c}-{i}"), b"v", 0);
                RequestHeader { xid: 1 + i, r#type: request.opcode() }.write(&mut payload);
                request.write_body(&mut payload);
                jute::proto::put_frame(&mut batch, &payload);
            }
            client.stream.write_all(&batch).expect("send the pipeline");
            clients.push(client);
        }
    }
    for client in &mut clients {
        for i in 0..PER_CONNECTION {
            let frame = read_frame(&mut client.stream)
                .unwrap_or_else(|error| panic!("reply {i}: {error}\n{}", leader_log(&members, leader)));
            let mut reader = Reader::new(&frame);
            let header = ReplyHeader::read(&mut reader).expect("reply header");
            assert_eq!((header.xid, header.err), (1 + i, 0), "replies in request order, all created");
        }
    }
    for m in &members {
        let mode = m.mode();
        assert!(
            matches!(mode.as_deref(), Some("leader" | "follower")),
            "member {}: {mode:?}\n{}",
            m.sid,
            m.log()
        );
    }
    let mut check = Client::connect(members[leader].client);
    let children = check
        .call(&Request::GetChildren(GetChildrenRequest { path: "/deep".into(), watch: false }))
        .expect("getChildren");
    let names = GetChildrenResponse::decode(&children.body).expect("decode").children;
    assert_eq!(names.len(), 2 * 4 * PER_CONNECTION as usize);
    check.close();
}
