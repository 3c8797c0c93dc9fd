//! Prep against the real thing: every request of prep_golden/prep.txt was run through the
//! PrepRequestProcessor of the ZooKeeper 3.8.0 jar (prep_golden/PrepGolden.java), with txns
//! applied only where the script says `apply`. Each prepared txn header and record must be
//! byte-identical (the header time is Java's wall clock, so it is taken from the script; the
//! paths of a closeSession are compared as a set, Java lists them in HashSet order).

use datatree::acl::AuthInfo;
use datatree::prep::{
    prep_client_delete_container, prep_undecodable, prep_write, standalone_session_check, PendingChanges,
    PrepContext, Prepared,
};
use datatree::DataTree;
use jute::consts::op;
use jute::proto::DeleteContainerRequest;
use jute::records::Id;
use jute::request::Request;
use jute::txn::{TxnBody, TxnHeader};
use jute::Record;
use std::collections::HashMap;

fn unhex(text: &str) -> Vec<u8> {
    if text == "-" {
        return Vec::new();
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "-".into();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_ids(text: &str) -> Vec<Id> {
    if text == "-" {
        return Vec::new();
    }
    text.split(';')
        .map(|id| {
            let (scheme, id) = id.split_once('=').unwrap();
            Id::new(scheme, id)
        })
        .collect()
}

struct Replay {
    tree: DataTree,
    pending: PendingChanges,
    /// Java's standalone tracker: known sessions, and whether each is closing.
    sessions: HashMap<i64, bool>,
    extended: bool,
    enforce_quota: bool,
    queue: Vec<Prepared>,
}

impl Replay {
    fn new() -> Replay {
        Replay {
            tree: DataTree::new(),
            pending: PendingChanges::new(),
            sessions: HashMap::new(),
            extended: true,
            enforce_quota: false,
            queue: Vec::new(),
        }
    }

    fn prep(&mut self, fields: &[&str], expected_header: &TxnHeader) -> Prepared {
        let session = i64::from_str_radix(fields[0], 16).unwrap();
        let cxid: i32 = fields[1].parse().unwrap();
        let auth = AuthInfo { ids: parse_ids(fields[2]), skip_acl: false };
        let client_delete_container = fields[3] == "20c";
        let opcode: i32 = fields[3].trim_end_matches('c').parse().unwrap();
        let body = unhex(fields[4]);
        let request = if opcode == op::DELETE_CONTAINER {
            Ok(Request::DeleteContainer(DeleteContainerRequest { path: String::from_utf8(body).unwrap() }))
        } else {
            Request::decode(opcode, &body)
        };
        assert_eq!(expected_header.client_id, session);
        assert_eq!(expected_header.cxid, cxid);
        let sessions = &self.sessions;
        let check_session = |id: i64, check| {
            standalone_session_check(sessions.contains_key(&id), sessions.get(&id) == Some(&true), check)
        };
        let ctx = PrepContext {
            session_id: session,
            cxid,
            zxid: expected_header.zxid,
            time_ms: expected_header.time,
            auth: &auth,
            extended_types_enabled: self.extended,
            enforce_quota: self.enforce_quota,
            check_session: &check_session,
        };
        let prepared = match request {
            _ if client_delete_container => prep_client_delete_container(&ctx),
            Ok(request) => {
                let prepared = prep_write(&self.tree, &mut self.pending, &ctx, &request);
                if matches!(request, Request::CloseSession) {
                    self.sessions.insert(session, true);
                }
                prepared
            }
            Err(_) => prep_undecodable(&ctx, opcode).expect("a write opcode"),
        };
        self.queue.push(prepared.clone());
        prepared
    }

    fn apply(&mut self) {
        for prepared in std::mem::take(&mut self.queue) {
            self.tree.apply(&prepared.header, &prepared.body);
            self.pending.note_applied(prepared.header.zxid);
            if prepared.header.r#type == op::CLOSE_SESSION {
                self.sessions.remove(&prepared.header.client_id);
            }
        }
    }
}

/// The body, with a closeSession's paths sorted.
fn comparable(body: TxnBody) -> TxnBody {
    match body {
        TxnBody::CloseSession(Some(mut txn)) => {
            txn.paths2_delete.sort();
            TxnBody::CloseSession(Some(txn))
        }
        other => other,
    }
}

#[test]
fn every_prepared_txn_is_the_one_java_prepared() {
    let script = include_str!("prep_golden/prep.txt");
    let mut replay = Replay::new();
    let mut scenario = String::new();
    let mut lines = script.lines().enumerate();
    let mut compared = 0;
    while let Some((number, line)) = lines.next() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields[0] {
            _ if line.starts_with("# ") => scenario = line[2..].to_owned(),
            "reset" => replay = Replay { enforce_quota: replay.enforce_quota, ..Replay::new() },
            "quota" => replay.enforce_quota = fields[1] == "true",
            "extended" => replay.extended = fields[1] == "true",
            "session" => {
                replay.sessions.insert(i64::from_str_radix(fields[1], 16).unwrap(), false);
            }
            "apply" => replay.apply(),
            "prep" => {
                let (_, expect) = lines.next().unwrap();
                let expect: Vec<&str> = expect.split('\t').collect();
                assert_eq!(expect[0], "expect");
                let header = TxnHeader::decode(&unhex(expect[1])).unwrap();
                let java_body = unhex(expect[2]);
                let prepared = replay.prep(&fields[1..], &header);
                let context = format!("{scenario}, line {}: {line}", number + 1);
                assert_eq!(prepared.header, header, "header, {context}");
                let ours = prepared.body.encode();
                if ours != java_body {
                    let java = TxnBody::decode(header.r#type, &java_body).unwrap();
                    assert_eq!(comparable(prepared.body.clone()), comparable(java), "body, {context}");
                    assert_eq!(hex(&ours), hex(&java_body), "body bytes, {context}");
                }
                compared += 1;
            }
            other => panic!("unknown script line {other:?}"),
        }
    }
    assert!(compared > 190, "only {compared} requests compared");
}
