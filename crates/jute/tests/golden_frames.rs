//! Every client-protocol frame captured from Apache ZooKeeper 3.8.0 (zkCli one-shot commands and a
//! kazoo session) decodes into the right record and re-encodes to the identical bytes.
//!
//! The frames are a checked-in copy of `shared/reference/golden/frames.jsonl` (each line: `conn`,
//! `label`, `dir` c2s/s2c, `hex` payload without the 4-byte length prefix).

use jute::consts::{err, event_type, keeper_state, op, xid};
use jute::proto::*;

use jute::request::{MultiOp, MultiResponse, Request};
use jute::{Field, Reader, Record};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;

const FRAMES: &str = include_str!("golden/frames.jsonl");

struct Frame {
    conn: u64,
    label: String,
    c2s: bool,
    bytes: Vec<u8>,
}

fn frames() -> Vec<Frame> {
    FRAMES
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let dir = value["dir"].as_str().expect("dir");
            assert!(dir == "c2s" || dir == "s2c", "dir {dir}");
            Frame {
                conn: value["conn"].as_u64().expect("conn"),
                label: value["label"].as_str().expect("label").to_string(),
                c2s: dir == "c2s",
                bytes: hex::decode(value["hex"].as_str().expect("hex")).expect("hex payload"),
            }
        })
        .collect()
}

/// Decodes a whole record and checks that it re-encodes to the same bytes.
fn same<T: Record + Debug>(bytes: &[u8], what: &str) -> T {
    let record = T::decode(bytes).unwrap_or_else(|e| panic!("{what}: {e} in {}", hex::encode(bytes)));
    assert_eq!(hex::encode(record.encode()), hex::encode(bytes), "{what}: {record:?} re-encodes differently");
    record
}

#[derive(Default)]
struct Conn {
    c2s_seen: bool,
    s2c_seen: bool,
    /// Requests awaiting a reply: xid → opcode.
    pending: HashMap<i32, i32>,
}

/// What each frame decoded to, so the test can check the interesting ones afterwards (through
/// their Debug text).
#[derive(Debug)]
#[allow(dead_code)]
enum Decoded {
    Connect(ConnectRequest),
    Connected(ConnectResponse),
    Request(RequestHeader, Request),
    Notification(ReplyHeader, WatcherEvent),
    Reply { header: ReplyHeader, opcode: i32, body: Option<Box<dyn Debug>> },
}

/// The response record Java sends for a successful `opcode`, decoded and re-encoded.
fn decode_reply_body(opcode: i32, body: &[u8], what: &str) -> Option<Box<dyn Debug>> {
    fn b<T: Record + Debug + 'static>(body: &[u8], what: &str) -> Option<Box<dyn Debug>> {
        Some(Box::new(same::<T>(body, what)))
    }
    match opcode {
        op::CREATE => b::<CreateResponse>(body, what),
        op::CREATE2 | op::CREATE_TTL | op::CREATE_CONTAINER => b::<Create2Response>(body, what),
        op::EXISTS => b::<ExistsResponse>(body, what),
        op::GET_DATA | op::RECONFIG => b::<GetDataResponse>(body, what),
        op::SET_DATA => b::<SetDataResponse>(body, what),
        op::GET_ACL => b::<GetAclResponse>(body, what),
        op::SET_ACL => b::<SetAclResponse>(body, what),
        op::GET_CHILDREN => b::<GetChildrenResponse>(body, what),
        op::GET_CHILDREN2 => b::<GetChildren2Response>(body, what),
        op::SYNC => b::<SyncResponse>(body, what),
        op::MULTI | op::MULTI_READ => b::<MultiResponse>(body, what),
        op::SASL => b::<SetSaslResponse>(body, what),
        op::GET_EPHEMERALS => b::<GetEphemeralsResponse>(body, what),
        op::GET_ALL_CHILDREN_NUMBER => b::<GetAllChildrenNumberResponse>(body, what),
        // addWatch answers with a 4-byte ErrorResponse{err = 0}.
        op::ADD_WATCH => b::<ErrorResponse>(body, what),
        op::WHO_AM_I => b::<WhoAmIResponse>(body, what),
        op::DELETE
        | op::PING
        | op::AUTH
        | op::SET_WATCHES
        | op::SET_WATCHES2
        | op::CHECK_WATCHES
        | op::REMOVE_WATCHES
        | op::CLOSE_SESSION => {
            assert!(
                body.is_empty(),
                "{what}: a {} reply has no body, got {}",
                op::name(opcode),
                hex::encode(body)
            );
            None
        }
        other => panic!("{what}: no reply record known for opcode {other}"),
    }
}

fn decode_all() -> (Vec<(Frame, Decoded)>, BTreeMap<String, usize>) {
    let mut conns: BTreeMap<u64, Conn> = BTreeMap::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for frame in frames() {
        let conn = conns.entry(frame.conn).or_default();
        let what = format!("conn {} {} ({})", frame.conn, if frame.c2s { "c2s" } else { "s2c" }, frame.label);
        let bytes = &frame.bytes[..];
        let (kind, decoded) = if frame.c2s && !conn.c2s_seen {
            conn.c2s_seen = true;
            ("c2s ConnectRequest".to_string(), Decoded::Connect(same(bytes, &what)))
        } else if !frame.c2s && !conn.s2c_seen {
            conn.s2c_seen = true;
            ("s2c ConnectResponse".to_string(), Decoded::Connected(same(bytes, &what)))
        } else if frame.c2s {
            let mut reader = Reader::new(bytes);
            let header = RequestHeader::read(&mut reader).unwrap_or_else(|e| panic!("{what}: {e}"));
            let request =
                Request::decode(header.r#type, reader.rest()).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(request.opcode(), header.r#type, "{what}");
            let mut encoded = header.encode();
            request.write_body(&mut encoded);
            assert_eq!(
                hex::encode(&encoded),
                hex::encode(bytes),
                "{what}: {request:?} re-encodes differently"
            );
            assert!(
                conn.pending.insert(header.xid, header.r#type).is_none(),
                "{what}: xid {} reused",
                header.xid
            );
            (format!("c2s {}", op::name(header.r#type)), Decoded::Request(header, request))
        } else {
            let mut reader = Reader::new(bytes);
            let header = ReplyHeader::read(&mut reader).unwrap_or_else(|e| panic!("{what}: {e}"));
            let body = reader.rest();
            let mut encoded = header.encode();
            encoded.extend_from_slice(body);
            assert_eq!(encoded, bytes);
            if header.xid == xid::NOTIFICATION {
                assert_eq!(header.err, 0, "{what}");
                let event: WatcherEvent = same(body, &what);
                ("s2c notification".to_string(), Decoded::Notification(header, event))
            } else {
                let opcode = conn
                    .pending
                    .remove(&header.xid)
                    .unwrap_or_else(|| panic!("{what}: reply to unknown xid {}", header.xid));
                let body = if header.err != 0 {
                    assert!(body.is_empty(), "{what}: error reply carries a body {}", hex::encode(body));
                    None
                } else {
                    decode_reply_body(opcode, body, &what)
                };
                let kind = if header.err == 0 {
                    format!("s2c {}", op::name(opcode))
                } else {
                    format!("s2c {} err {}", op::name(opcode), header.err)
                };
                (kind, Decoded::Reply { header, opcode, body })
            }
        };
        *kinds.entry(kind).or_default() += 1;
        out.push((frame, decoded));
    }
    for (id, conn) in &conns {
        assert!(conn.c2s_seen && conn.s2c_seen, "conn {id} lacks a handshake");
        assert!(conn.pending.is_empty(), "conn {id}: unanswered requests {:?}", conn.pending);
    }
    (out, kinds)
}

#[test]
fn every_golden_frame_decodes_and_reencodes_identically() {
    let total = FRAMES.lines().filter(|l| !l.trim().is_empty()).count();
    let (decoded, kinds) = decode_all();
    for (kind, count) in &kinds {
        println!("{count:4}  {kind}");
    }
    assert_eq!(total, 188, "the golden file changed; review the expected counts below");
    assert_eq!(decoded.len(), total, "every frame is recognised");
    assert_eq!(kinds.values().sum::<usize>(), total);

    // The complete census, so a frame can never be skipped or misclassified silently.
    let expected: &[(&str, usize)] = &[
        ("c2s ConnectRequest", 29),
        ("c2s addWatch", 2),
        ("c2s auth", 1),
        ("c2s closeSession", 1),
        ("c2s create", 8),
        ("c2s create2", 1),
        ("c2s createContainer", 1),
        ("c2s createTtl", 1),
        ("c2s delete", 5),
        ("c2s exists", 3),
        ("c2s getACL", 2),
        ("c2s getAllChildrenNumber", 1),
        ("c2s getChildren", 5),
        ("c2s getChildren2", 12),
        ("c2s getData", 7),
        ("c2s getEphemerals", 1),
        ("c2s multi", 3),
        ("c2s ping", 2),
        ("c2s setACL", 2),
        ("c2s setData", 3),
        ("c2s sync:", 2),
        ("c2s whoAmI", 1),
        ("s2c ConnectResponse", 29),
        ("s2c addWatch", 2),
        ("s2c auth", 1),
        ("s2c closeSession", 1),
        ("s2c create", 7),
        ("s2c create err -110", 1),
        ("s2c create2", 1),
        ("s2c createContainer", 1),
        ("s2c createTtl", 1),
        ("s2c delete", 3),
        ("s2c delete err -111", 2),
        ("s2c exists", 2),
        ("s2c exists err -101", 1),
        ("s2c getACL", 2),
        ("s2c getAllChildrenNumber", 1),
        ("s2c getChildren", 5),
        ("s2c getChildren2", 12),
        ("s2c getData", 5),
        ("s2c getData err -101", 1),
        ("s2c getData err -102", 1),
        ("s2c getEphemerals", 1),
        ("s2c multi", 3),
        ("s2c notification", 2),
        ("s2c ping", 2),
        ("s2c setACL", 2),
        ("s2c setData", 2),
        ("s2c setData err -103", 1),
        ("s2c sync:", 2),
        ("s2c whoAmI", 1),
    ];
    let expected: BTreeMap<String, usize> = expected.iter().map(|(k, c)| (k.to_string(), *c)).collect();
    assert_eq!(kinds, expected);
}

fn find(decoded: &[(Frame, Decoded)], conn: u64, pred: impl Fn(&Decoded) -> bool) -> Vec<&Decoded> {
    decoded.iter().filter(|(f, d)| f.conn == conn && pred(d)).map(|(_, d)| d).collect()
}

fn debug(d: &Decoded) -> String {
    format!("{d:?}")
}

#[test]
fn golden_frames_carry_the_expected_values() {
    let (decoded, _) = decode_all();

    // Handshakes: 16-byte passwords, the readOnly byte present both ways, negotiated timeouts.
    for (frame, d) in &decoded {
        match d {
            Decoded::Connect(c) => {
                assert_eq!(
                    (c.protocol_version, c.session_id, c.read_only),
                    (0, 0, Some(false)),
                    "{}",
                    frame.label
                );
                assert_eq!(c.passwd.len(), 16);
            }
            Decoded::Connected(c) => {
                assert_eq!(c.read_only, Some(false));
                assert_eq!(c.passwd.len(), 16);
                assert_eq!(c.time_out, if frame.conn == 29 { 6000 } else { 30000 });
                assert_eq!(c.session_id >> 56, 1, "standalone server id 1 in the session id");
            }
            _ => {}
        }
    }

    // `create /null` sends a null buffer, and `get -s /null` returns it null (-1), not empty.
    let create_null = find(&decoded, 27, |d| matches!(d, Decoded::Request(..)));
    assert!(matches!(create_null[0], Decoded::Request(_, Request::Create(CreateRequest { data: None, .. }))));
    let get_null = find(&decoded, 28, |d| matches!(d, Decoded::Reply { .. }));
    assert!(debug(get_null[0]).contains("GetDataResponse { data: None"), "{:?}", get_null[0]);
    // Built-in nodes have empty (not null) data.
    let get_root = find(&decoded, 12, |d| matches!(d, Decoded::Reply { opcode: op::GET_DATA, .. }));
    assert!(debug(get_root[0]).contains("GetDataResponse { data: Some(b\"\")"), "{:?}", get_root[0]);

    // Container and TTL creates use their own opcodes and flags.
    let container = find(&decoded, 8, |d| matches!(d, Decoded::Request(..)));
    assert!(
        matches!(container[0], Decoded::Request(h, Request::CreateContainer(CreateRequest { flags: 4, .. })) if h.r#type == op::CREATE_CONTAINER)
    );
    let ttl = find(&decoded, 9, |d| matches!(d, Decoded::Request(..)));
    assert!(matches!(
        ttl[0],
        Decoded::Request(_, Request::CreateTtl(CreateTtlRequest { flags: 5, ttl: 10000, .. }))
    ));

    // Error replies are a bare ReplyHeader.
    let codes: Vec<(u64, i32)> = decoded
        .iter()
        .filter_map(|(f, d)| match d {
            Decoded::Reply { header, .. } if header.err != 0 => Some((f.conn, header.err)),
            _ => None,
        })
        .collect();
    assert_eq!(
        codes,
        vec![
            (4, err::BAD_VERSION),
            (15, err::NO_NODE),
            (16, err::NODE_EXISTS),
            (17, err::NOT_EMPTY),
            (29, err::NO_NODE),
            (29, err::NOT_EMPTY),
            (29, err::NO_AUTH),
        ]
    );

    // Notifications: xid -1, zxid -1 (3.8.x), err 0, state SyncConnected.
    let events = find(&decoded, 29, |d| matches!(d, Decoded::Notification(..)));
    let events: Vec<(i64, i32, i32, String)> = events
        .iter()
        .map(|d| match d {
            Decoded::Notification(h, e) => (h.zxid, e.r#type, e.state, e.path.clone()),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        events,
        vec![
            (-1, event_type::NODE_DATA_CHANGED, keeper_state::SYNC_CONNECTED, "/k/a".to_string()),
            (-1, event_type::NODE_CHILDREN_CHANGED, keeper_state::SYNC_CONNECTED, "/k".to_string()),
        ]
    );

    // A failed multi: header err 0; ops before the failure carry 0, the failing op its code.
    let multis: Vec<String> = find(&decoded, 29, |d| matches!(d, Decoded::Reply { opcode: op::MULTI, .. }))
        .into_iter()
        .map(debug)
        .collect();
    assert_eq!(multis.len(), 2);
    assert!(
        multis[0].contains("err: 0") && multis[0].contains("Error { err: 0 }, Error { err: -103 }"),
        "{}",
        multis[0]
    );
    assert!(
        multis[1].contains("Create { path: \"/k/t2\" }")
            && multis[1].contains("SetData")
            && multis[1].contains("Delete")
    );
    let multi_requests = find(&decoded, 29, |d| matches!(d, Decoded::Request(_, Request::Multi(_))));
    match multi_requests[0] {
        Decoded::Request(_, Request::Multi(ops)) => {
            assert!(matches!(
                &ops[..],
                [MultiOp::Create(_), MultiOp::Check(CheckVersionRequest { version: 99, .. })]
            ))
        }
        _ => unreachable!(),
    }
    // zkCli deleteall: one multi of deletes, answered by delete results.
    let deleteall = find(&decoded, 25, |d| matches!(d, Decoded::Reply { opcode: op::MULTI, .. }));
    assert!(debug(deleteall[0]).contains("results: [Delete, Delete]"), "{:?}", deleteall[0]);

    // Auth bypasses the pipeline: xid -4, zxid 0.
    let auth = find(&decoded, 29, |d| matches!(d, Decoded::Reply { opcode: op::AUTH, .. }));
    assert!(matches!(auth[0], Decoded::Reply { header: ReplyHeader { xid: -4, zxid: 0, err: 0 }, .. }));
    let auth_request = find(&decoded, 29, |d| matches!(d, Decoded::Request(_, Request::Auth(_))));
    assert!(
        debug(auth_request[0])
            .contains("AuthPacket { type: 0, scheme: \"digest\", auth: b\"alice:secret\" }"),
        "{:?}",
        auth_request[0]
    );

    // addWatch → ErrorResponse{0}; whoAmI → the ip identity; sync → the path back.
    let add_watch = find(&decoded, 23, |d| matches!(d, Decoded::Reply { .. }));
    assert!(debug(add_watch[0]).contains("ErrorResponse { err: 0 }"));
    let who = find(&decoded, 21, |d| matches!(d, Decoded::Reply { .. }));
    assert!(
        debug(who[0]).contains("ClientInfo { auth_scheme: \"ip\", user: \"127.0.0.1\" }"),
        "{:?}",
        who[0]
    );
    let sync = find(&decoded, 22, |d| matches!(d, Decoded::Reply { .. }));
    assert!(debug(sync[0]).contains("SyncResponse { path: \"/hello\" }"));
}
