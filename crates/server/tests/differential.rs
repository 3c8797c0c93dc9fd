//! Differential test: one scripted sequence of operations, error cases included, sent to Apache
//! ZooKeeper 3.8 and to ferrokeeper; every reply compared field by field. Times and session ids
//! are normalised; zxids are compared exactly (both servers start from an empty data dir, so every
//! txn, failed writes included, must get the same zxid).

mod support;

use jute::consts::{add_watch_mode, op, watcher_type};
use jute::proto::*;
use jute::records::{Acl, Stat};
use jute::request::{MultiOp, MultiResponse, Request};
use jute::{Bytes, Record};
use support::*;

/// Replaces session ids by their order of appearance so both servers' transcripts compare.
struct Normaliser {
    sessions: Vec<i64>,
}

impl Normaliser {
    fn session(&mut self, id: i64) -> String {
        if id == 0 {
            return "0".into();
        }
        let index = self.sessions.iter().position(|s| *s == id).unwrap_or_else(|| {
            self.sessions.push(id);
            self.sessions.len() - 1
        });
        format!("session#{index}")
    }

    fn stat(&mut self, stat: &Stat) -> String {
        format!(
            "Stat{{czxid:{:#x} mzxid:{:#x} pzxid:{:#x} time:{} v:{} cv:{} av:{} owner:{} len:{} children:{}}}",
            stat.czxid,
            stat.mzxid,
            stat.pzxid,
            // Times differ between runs; what must hold is that they are set and ordered.
            if stat.mtime >= stat.ctime && (stat.ctime > 0 || stat.czxid == 0) { "ok" } else { "BAD" },
            stat.version,
            stat.cversion,
            stat.aversion,
            self.session(stat.ephemeral_owner),
            stat.data_length,
            stat.num_children
        )
    }

    fn describe(&mut self, opcode: i32, reply: &Reply) -> String {
        let head = format!("err={} zxid={:#x}", reply.header.err, reply.header.zxid);
        if reply.header.err != 0 {
            return format!("{head} body={}", hex::encode(&reply.body));
        }
        let body = &reply.body;
        let decoded = match opcode {
            op::CREATE => CreateResponse::decode(body).map(|r| r.path),
            op::CREATE2 | op::CREATE_TTL | op::CREATE_CONTAINER => {
                Create2Response::decode(body).map(|r| format!("{} {}", r.path, self.stat(&r.stat)))
            }
            op::EXISTS => ExistsResponse::decode(body).map(|r| self.stat(&r.stat)),
            op::GET_DATA => GetDataResponse::decode(body).map(|r| {
                format!(
                    "{:?} {}",
                    r.data.map(|d| String::from_utf8_lossy(&d).into_owned()),
                    self.stat(&r.stat)
                )
            }),
            op::SET_DATA => SetDataResponse::decode(body).map(|r| self.stat(&r.stat)),
            op::SET_ACL => SetAclResponse::decode(body).map(|r| self.stat(&r.stat)),
            op::GET_ACL => {
                GetAclResponse::decode(body).map(|r| format!("{:?} {}", r.acl, self.stat(&r.stat)))
            }
            op::GET_CHILDREN => GetChildrenResponse::decode(body).map(|mut r| {
                r.children.sort();
                format!("{:?}", r.children)
            }),
            op::GET_CHILDREN2 => GetChildren2Response::decode(body).map(|mut r| {
                r.children.sort();
                format!("{:?} {}", r.children, self.stat(&r.stat))
            }),
            op::GET_ALL_CHILDREN_NUMBER => {
                GetAllChildrenNumberResponse::decode(body).map(|r| r.total_number.to_string())
            }
            op::GET_EPHEMERALS => GetEphemeralsResponse::decode(body).map(|mut r| {
                r.ephemerals.sort();
                format!("{:?}", r.ephemerals)
            }),
            op::SYNC => SyncResponse::decode(body).map(|r| r.path),
            op::WHO_AM_I => WhoAmIResponse::decode(body).map(|r| {
                let mut ids: Vec<String> = r
                    .client_info
                    .iter()
                    .map(|c| {
                        format!("{}:{}", c.auth_scheme, if c.auth_scheme == "ip" { "<ip>" } else { &c.user })
                    })
                    .collect();
                ids.sort();
                format!("{ids:?}")
            }),
            op::MULTI | op::MULTI_READ => MultiResponse::decode(body).map(|r| {
                r.results
                    .iter()
                    .map(|result| match result {
                        jute::request::OpResult::Create2 { path, stat } => {
                            format!("Create2({path} {})", self.stat(stat))
                        }
                        jute::request::OpResult::SetData { stat } => format!("SetData({})", self.stat(stat)),
                        jute::request::OpResult::GetData { data, stat } => format!(
                            "GetData({:?} {})",
                            data.as_ref().map(|d| String::from_utf8_lossy(d).into_owned()),
                            self.stat(stat)
                        ),
                        jute::request::OpResult::GetChildren { children } => {
                            let mut children = children.clone();
                            children.sort();
                            format!("GetChildren({children:?})")
                        }
                        other => format!("{other:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
            _ => Ok(format!("raw={}", hex::encode(body))),
        };
        match decoded {
            Ok(text) => format!("{head} {text}"),
            Err(e) => format!("{head} UNDECODABLE({e}) raw={}", hex::encode(body)),
        }
    }
}

fn data(path: &str, value: &str, version: i32) -> Request {
    Request::SetData(SetDataRequest {
        path: path.into(),
        data: Some(Bytes::copy_from_slice(value.as_bytes())),
        version,
    })
}
fn get(path: &str, watch: bool) -> Request {
    Request::GetData(GetDataRequest { path: path.into(), watch })
}
fn exists(path: &str, watch: bool) -> Request {
    Request::Exists(ExistsRequest { path: path.into(), watch })
}
fn children(path: &str, watch: bool) -> Request {
    Request::GetChildren(GetChildrenRequest { path: path.into(), watch })
}
fn children2(path: &str, watch: bool) -> Request {
    Request::GetChildren2(GetChildren2Request { path: path.into(), watch })
}
fn delete(path: &str, version: i32) -> Request {
    Request::Delete(DeleteRequest { path: path.into(), version })
}
fn create_acl(path: &str, acl: Vec<Acl>, flags: i32) -> Request {
    Request::Create(CreateRequest { path: path.into(), data: Some(Bytes::from_static(b"d")), acl, flags })
}
fn create_null(path: &str) -> Request {
    Request::Create(CreateRequest { path: path.into(), data: None, acl: OPEN(), flags: 0 })
}
fn ttl(path: &str, flags: i32, ttl: i64) -> Request {
    Request::CreateTtl(CreateTtlRequest {
        path: path.into(),
        data: Some(Bytes::from_static(b"t")),
        acl: OPEN(),
        flags,
        ttl,
    })
}
fn container(path: &str) -> Request {
    Request::CreateContainer(CreateRequest {
        path: path.into(),
        data: Some(Bytes::from_static(b"c")),
        acl: OPEN(),
        flags: 4,
    })
}
fn auth(user_password: &str) -> Request {
    Request::Auth(AuthPacket {
        r#type: 0,
        scheme: "digest".into(),
        auth: Bytes::copy_from_slice(user_password.as_bytes()),
    })
}

/// Which client sends a step.
#[derive(Clone, Copy, Debug)]
enum Who {
    A,
    B,
}

fn script() -> Vec<(Who, Request)> {
    use Who::*;
    let mut steps: Vec<(Who, Request)> = vec![
        (A, create("/a", b"alpha", 0)),
        (A, create("/a", b"again", 0)),
        (A, create("/a/b/c", b"x", 0)),
        (A, create("a", b"x", 0)),
        (A, create("/a/", b"x", 0)),
        (A, create("/a//b", b"x", 0)),
        (A, create("/a/./b", b"x", 0)),
        (A, create("/a/../b", b"x", 0)),
        (A, create("/a/b\u{1}", b"x", 0)),
        (A, create("/a/b", b"x", 9)),
        (A, create2("/a/b", b"beta", 0)),
        (A, get("/a", false)),
        (A, get("/a/b", false)),
        (A, get("/nope", false)),
        (A, exists("/a", false)),
        (A, exists("/nope", false)),
        (A, data("/a", "alpha2", 0)),
        (A, data("/a", "alpha3", 0)),
        (A, data("/a", "alpha3", -1)),
        (A, data("/nope", "x", -1)),
        (A, get("/a", false)),
        (A, create_null("/null")),
        (A, get("/null", false)),
        (A, create("/empty", b"", 0)),
        (A, get("/empty", false)),
        (A, children("/", false)),
        (A, children2("/a", false)),
        (A, children("/nope", false)),
        (A, Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path: "/".into() })),
        (A, Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path: "/a".into() })),
        (A, Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path: "/nope".into() })),
        (A, delete("/a", -1)),
        (A, delete("/a/b", 5)),
        (A, delete("/a/b", 0)),
        (A, delete("/a/b", -1)),
        (A, delete("/", -1)),
        (A, delete("/zookeeper", -1)),
        (A, delete("/zookeeper/quota", -1)),
        (A, get("/zookeeper/config", false)),
        (A, Request::GetAcl(GetAclRequest { path: "/zookeeper/config".into() })),
        (A, get("/zookeeper", false)),
        (A, children("/zookeeper", false)),
        // Sequential numbering follows the parent's creates, not its current children.
        (A, create("/seq", b"", 0)),
    ];
    for i in 0..6 {
        steps.push((A, create("/seq/n-", format!("{i}").as_bytes(), 2)));
    }
    steps.extend([
        (A, delete("/seq/n-0000000001", -1)),
        (A, delete("/seq/n-0000000003", -1)),
        (A, create("/seq/n-", b"after", 2)),
        (A, create("/seq/", b"bare", 2)),
        (A, children2("/seq", false)),
        (A, create("/seq/e-", b"", 3)),
        // Ephemerals.
        (B, create("/eph", b"b's", 1)),
        (A, create("/eph/child", b"", 0)),
        (A, exists("/eph", false)),
        (B, Request::GetEphemerals(GetEphemeralsRequest { prefix_path: "/".into() })),
        (A, Request::GetEphemerals(GetEphemeralsRequest { prefix_path: "/".into() })),
        (A, Request::GetEphemerals(GetEphemeralsRequest { prefix_path: "/seq".into() })),
        // Containers and TTL nodes.
        (A, container("/box")),
        (A, create("/box/item", b"", 0)),
        (A, exists("/box", false)),
        (A, ttl("/ttl", 5, 60_000)),
        (A, ttl("/ttl0", 5, 0)),
        (A, ttl("/ttlbad", 0, 1000)),
        (A, ttl("/ttlseq-", 6, 1000)),
        (A, exists("/ttl", false)),
        (A, create("/box/eph", b"", 1)),
        // Watches: B watches, A changes.
        (A, create("/w", b"w0", 0)),
        (B, exists("/w", true)),
        (B, get("/w", true)),
        (B, children("/w", true)),
        (B, exists("/w/new", true)),
        (A, data("/w", "w1", -1)),
        (A, create("/w/new", b"", 0)),
        (B, get("/w", false)),
        (A, data("/w", "w2", -1)),
        (A, delete("/w/new", -1)),
        (
            B,
            Request::AddWatch(AddWatchRequest {
                path: "/w".into(),
                mode: add_watch_mode::PERSISTENT_RECURSIVE,
            }),
        ),
        (A, create("/w/r1", b"", 0)),
        (A, data("/w/r1", "x", -1)),
        (A, delete("/w/r1", -1)),
        (B, Request::CheckWatches(CheckWatchesRequest { path: "/w".into(), r#type: watcher_type::DATA })),
        (B, Request::RemoveWatches(RemoveWatchesRequest { path: "/nope".into(), r#type: watcher_type::ANY })),
        (B, Request::RemoveWatches(RemoveWatchesRequest { path: "/w".into(), r#type: watcher_type::ANY })),
        (B, Request::CheckWatches(CheckWatchesRequest { path: "/w".into(), r#type: watcher_type::ANY })),
        (A, data("/w", "w3", -1)),
        (B, get("/w", false)),
        // ACLs and auth.
        (A, auth("alice:secret")),
        (A, create_acl("/private", vec![Acl::new(31, "digest", "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=")], 0)),
        (A, create_acl("/mine", vec![Acl::new(31, "auth", "")], 0)),
        (B, create_acl("/mine2", vec![Acl::new(31, "auth", "")], 0)),
        (A, create_acl("/badacl", vec![Acl::new(31, "nosuch", "x")], 0)),
        (A, create_acl("/badacl", vec![], 0)),
        (A, create_acl("/badip", vec![Acl::new(31, "ip", "not-an-ip")], 0)),
        (A, create_acl("/ipacl", vec![Acl::new(31, "ip", "127.0.0.1")], 0)),
        (A, create_acl("/readonly", vec![Acl::new(1, "world", "anyone")], 0)),
        (B, get("/private", false)),
        (B, data("/private", "no", -1)),
        (B, Request::GetAcl(GetAclRequest { path: "/private".into() })),
        (A, Request::GetAcl(GetAclRequest { path: "/mine".into() })),
        (B, get("/ipacl", false)),
        (B, create("/readonly/x", b"", 0)),
        (B, data("/readonly", "x", -1)),
        (B, delete("/readonly", -1)),
        (A, Request::SetAcl(SetAclRequest { path: "/private".into(), acl: OPEN(), version: 5 })),
        (A, Request::SetAcl(SetAclRequest { path: "/private".into(), acl: OPEN(), version: 0 })),
        (B, get("/private", false)),
        (B, Request::SetAcl(SetAclRequest { path: "/readonly".into(), acl: OPEN(), version: -1 })),
        (A, Request::WhoAmI),
        (B, Request::WhoAmI),
        (B, auth("mallory:wrong")),
        (B, Request::WhoAmI),
        // Multi: success, failure, read.
        (
            A,
            Request::Multi(vec![
                MultiOp::Create(CreateRequest { path: "/m".into(), data: None, acl: OPEN(), flags: 0 }),
                MultiOp::Create2(CreateRequest {
                    path: "/m/1".into(),
                    data: Some(Bytes::from_static(b"1")),
                    acl: OPEN(),
                    flags: 0,
                }),
                MultiOp::SetData(SetDataRequest {
                    path: "/m".into(),
                    data: Some(Bytes::from_static(b"m")),
                    version: 0,
                }),
                MultiOp::Check(CheckVersionRequest { path: "/m/1".into(), version: 0 }),
                MultiOp::Delete(DeleteRequest { path: "/m/1".into(), version: 0 }),
            ]),
        ),
        (
            A,
            Request::Multi(vec![
                MultiOp::Create(CreateRequest { path: "/m2".into(), data: None, acl: OPEN(), flags: 0 }),
                MultiOp::Check(CheckVersionRequest { path: "/m".into(), version: 7 }),
                MultiOp::Delete(DeleteRequest { path: "/m".into(), version: -1 }),
            ]),
        ),
        (A, exists("/m2", false)),
        (
            A,
            Request::Multi(vec![
                MultiOp::Create(CreateRequest { path: "/m3".into(), data: None, acl: OPEN(), flags: 0 }),
                MultiOp::Create(CreateRequest { path: "/m3".into(), data: None, acl: OPEN(), flags: 0 }),
            ]),
        ),
        (
            A,
            Request::MultiRead(vec![
                MultiOp::GetData(GetDataRequest { path: "/m".into(), watch: false }),
                MultiOp::GetChildren(GetChildrenRequest { path: "/seq".into(), watch: false }),
                MultiOp::GetData(GetDataRequest { path: "/nope".into(), watch: false }),
                MultiOp::GetData(GetDataRequest { path: "/private".into(), watch: false }),
            ]),
        ),
        (A, Request::Sync(SyncRequest { path: "/m".into() })),
        (A, Request::Check(CheckVersionRequest { path: "/m".into(), version: 1 })),
        (B, exists("/m", false)),
        (A, Request::Check(CheckVersionRequest { path: "/m".into(), version: 0 })),
        (B, exists("/m", false)),
        (A, Request::Ping),
        (B, delete("/eph", -1)),
        (B, exists("/eph", false)),
    ]);
    // A longer stretch of ordinary traffic: the zxid sequence must stay identical throughout.
    steps.push((A, create("/load", b"", 0)));
    for i in 0..40 {
        let path = format!("/load/n{i}");
        steps.push((A, create2(&path, format!("v{i}").as_bytes(), 0)));
        steps.push((A, data(&path, "changed", if i % 4 == 0 { 3 } else { 0 })));
        steps.push((B, get(&path, false)));
        if i % 3 == 0 {
            steps.push((A, delete(&path, -1)));
        }
    }
    steps.push((A, children2("/load", false)));
    steps.push((A, Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path: "/".into() })));
    steps
}

fn run_script(address: std::net::SocketAddr) -> Vec<String> {
    let mut a = Client::connect(address);
    let mut b = Client::connect(address);
    let mut normaliser = Normaliser { sessions: Vec::new() };
    normaliser.session(a.session_id);
    normaliser.session(b.session_id);
    let mut transcript = Vec::new();
    for (index, (who, request)) in script().into_iter().enumerate() {
        let client = match who {
            Who::A => &mut a,
            Who::B => &mut b,
        };
        let line = if let Request::Check(_) = request {
            // A standalone Java server logs a check's txn but answers only a failed one.
            match client.call_within(&request, std::time::Duration::from_millis(1500)) {
                Ok(Some(reply)) => normaliser.describe(request.opcode(), &reply),
                Ok(None) => "no reply".to_string(),
                Err(e) => panic!("step {index} {request:?}: {e}"),
            }
        } else {
            let reply = client.call(&request).unwrap_or_else(|e| panic!("step {index} {request:?}: {e}"));
            normaliser.describe(request.opcode(), &reply)
        };
        transcript.push(format!("#{index} {who:?} {} -> {line}", op::name(request.opcode())));
        // Give notifications a moment to arrive, then log what each client has seen so far.
        for (name, c) in [("A", &mut a), ("B", &mut b)] {
            for event in c.events.drain(..) {
                transcript.push(format!(
                    "   event to {name}: type={} state={} path={}",
                    event.r#type, event.state, event.path
                ));
            }
        }
    }
    b.drain_events(std::time::Duration::from_millis(200));
    for event in b.events.drain(..) {
        transcript.push(format!("   late event to B: type={} path={}", event.r#type, event.path));
    }
    a.close();
    b.close();
    transcript
}

#[test]
fn a_scripted_session_gets_the_same_replies_from_ferrokeeper_and_apache_zookeeper() {
    let Some(java) = start_java("") else { return };
    let ferrokeeper = start_ferrokeeper("");
    let expected = run_script(java.address);
    let actual = run_script(ferrokeeper.address);
    assert!(expected.len() > 200, "the script should cover a few hundred operations, has {}", expected.len());
    let mut mismatches = Vec::new();
    for (index, (want, got)) in expected.iter().zip(actual.iter()).enumerate() {
        if want != got {
            mismatches.push(format!("line {index}\n  java:        {want}\n  ferrokeeper: {got}"));
        }
    }
    if expected.len() != actual.len() {
        mismatches.push(format!(
            "transcript lengths differ: java {} ferrokeeper {}",
            expected.len(),
            actual.len()
        ));
    }
    assert!(
        mismatches.is_empty(),
        "{} differences (first 15):\n{}\n\nfull java transcript:\n{}",
        mismatches.len(),
        mismatches.iter().take(15).cloned().collect::<Vec<_>>().join("\n"),
        expected.join("\n")
    );
}

/// `cargo test --test differential -- --ignored --nocapture` prints Java's transcript.
#[test]
#[ignore]
fn print_the_java_transcript() {
    let Some(java) = start_java("") else { return };
    println!("{}", run_script(java.address).join("\n"));
}
