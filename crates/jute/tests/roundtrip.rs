//! Encode → decode round trips for every record of the crate, typed requests, multi ops and
//! results, and txn bodies: the value survives, and the decoder consumes exactly the encoding.

mod common;

use common::*;
use jute::consts::op;
use jute::persistence::*;
use jute::proto::*;
use jute::quorum::*;
use jute::records::*;
use jute::request::*;
use jute::txn::*;
use jute::{Bytes, Field, JuteError, Reader, Record, SHARE_FROM};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestCaseError;
use std::fmt::Debug;

const TRAILER: [u8; 3] = [0xAB, 0xCD, 0xEF];

/// encode → decode is the identity; `read` stops exactly at the end of the encoding; `decode`
/// refuses trailing bytes; `write` appends; `MIN_SIZE` is a true lower bound.
fn check_record<T: Record + PartialEq + Debug>(value: &T) -> Result<(), TestCaseError> {
    let bytes = value.encode();
    prop_assert_eq!(&T::decode(&bytes)?, value);
    prop_assert!(bytes.len() >= T::MIN_SIZE, "MIN_SIZE {} > encoding {}", T::MIN_SIZE, bytes.len());

    let mut extended = bytes.clone();
    extended.extend_from_slice(&TRAILER);
    let mut reader = Reader::new(&extended);
    prop_assert_eq!(&T::read(&mut reader)?, value);
    prop_assert_eq!(reader.position(), bytes.len());
    prop_assert_eq!(reader.rest(), &TRAILER[..]);
    prop_assert_eq!(T::decode(&extended), Err(JuteError::TrailingBytes(TRAILER.len())));

    let mut appended = vec![7u8, 7];
    value.write(&mut appended);
    prop_assert_eq!(&appended[2..], &bytes[..]);
    Ok(())
}

macro_rules! roundtrip_tests {
    ($($name:ident : $t:ty = $strategy:expr;)*) => {
        proptest! {
            $(
                #[test]
                fn $name(value in $strategy) {
                    check_record::<$t>(&value)?;
                }
            )*
        }
    };
}

for_each_record!(roundtrip_tests);

// ---- ConnectRequest / ConnectResponse: optional trailing readOnly byte ----

proptest! {
    #[test]
    fn connect_request(value in arb_connect_request()) {
        let bytes = value.encode();
        prop_assert_eq!(bytes.len(), 28 + value.passwd.len() + usize::from(value.read_only.is_some()));
        prop_assert_eq!(&ConnectRequest::decode(&bytes)?, &value);
        let mut reader = Reader::new(&bytes);
        prop_assert_eq!(&ConnectRequest::read(&mut reader)?, &value);
        prop_assert!(reader.is_empty());
        if let Some(read_only) = value.read_only {
            // A pre-3.4 client sends the same record without the byte.
            let old = ConnectRequest::decode(&bytes[..bytes.len() - 1])?;
            prop_assert_eq!(old, ConnectRequest { read_only: None, ..value.clone() });
            prop_assert_eq!(*bytes.last().unwrap(), u8::from(read_only));
            // More than one byte after passwd is not a ConnectRequest.
            let mut extended = bytes.clone();
            extended.push(0);
            prop_assert_eq!(ConnectRequest::decode(&extended), Err(JuteError::TrailingBytes(1)));
        }
    }

    #[test]
    fn connect_response(value in arb_connect_response()) {
        let bytes = value.encode();
        prop_assert_eq!(bytes.len(), 20 + value.passwd.len() + usize::from(value.read_only.is_some()));
        prop_assert_eq!(&ConnectResponse::decode(&bytes)?, &value);
        if value.read_only.is_some() {
            let old = ConnectResponse::decode(&bytes[..bytes.len() - 1])?;
            prop_assert_eq!(old, ConnectResponse { read_only: None, ..value.clone() });
            let mut extended = bytes.clone();
            extended.push(1);
            prop_assert_eq!(ConnectResponse::decode(&extended), Err(JuteError::TrailingBytes(1)));
        }
    }
}

#[test]
fn connect_request_with_and_without_read_only() {
    for read_only in [None, Some(false), Some(true)] {
        let request = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0x1_0000_0005,
            time_out: 30_000,
            session_id: 0,
            passwd: Bytes::from(vec![0u8; 16]),
            read_only,
        };
        let bytes = request.encode();
        assert_eq!(bytes.len(), if read_only.is_some() { 45 } else { 44 });
        assert_eq!(ConnectRequest::decode(&bytes).unwrap(), request);
        let response = ConnectResponse {
            protocol_version: 0,
            time_out: 30_000,
            session_id: 0x0100_001e_0519_0000,
            passwd: Bytes::from(vec![9u8; 16]),
            read_only,
        };
        let bytes = response.encode();
        assert_eq!(bytes.len(), if read_only.is_some() { 37 } else { 36 });
        assert_eq!(ConnectResponse::decode(&bytes).unwrap(), response);
    }
}

// ---- typed requests ----

fn check_request(request: &Request) -> Result<(), TestCaseError> {
    let opcode = request.opcode();
    let mut body = Vec::new();
    request.write_body(&mut body);
    let decoded = Request::decode(opcode, &body).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&decoded, request);
    // The decoder needs every byte: any shorter body fails.
    if !body.is_empty() {
        prop_assert!(Request::decode(opcode, &body[..body.len() - 1]).is_err());
    }
    // Like Java, bytes after the record are ignored.
    let mut extended = body.clone();
    extended.extend_from_slice(&TRAILER);
    prop_assert_eq!(&Request::decode(opcode, &extended).unwrap(), request);
    // Decoded out of shared bytes, the request is the same, and as strict about its length.
    let shared = Bytes::from(body.clone());
    prop_assert_eq!(&Request::decode_shared(opcode, &shared).unwrap(), request);
    if !shared.is_empty() {
        prop_assert!(Request::decode_shared(opcode, &shared.slice(..shared.len() - 1)).is_err());
    }
    // A whole frame: RequestHeader then the body.
    let mut frame = RequestHeader { xid: 17, r#type: opcode }.encode();
    frame.extend_from_slice(&body);
    let mut reader = Reader::new(&frame);
    let header = RequestHeader::read(&mut reader)?;
    prop_assert_eq!(header.r#type, opcode);
    prop_assert_eq!(&Request::decode(header.r#type, reader.rest()).unwrap(), request);
    if let Request::Multi(ops) | Request::MultiRead(ops) = request {
        prop_assert_eq!(encode_multi(ops), body);
    }
    Ok(())
}

proptest! {
    #[test]
    fn request(request in arb_request()) {
        check_request(&request)?;
    }

    #[test]
    fn multi_ops(ops in proptest::collection::vec(arb_write_op(), 0..8)) {
        // Each op is framed as MultiHeader{opcode, false, -1} + its request record.
        let body = encode_multi(&ops);
        let mut reader = Reader::new(&body);
        for op in &ops {
            prop_assert_eq!(MultiHeader::read(&mut reader)?, MultiHeader { r#type: op.opcode(), done: false, err: -1 });
            let path = String::read(&mut reader)?;
            prop_assert_eq!(path.as_str(), op.path());
            let mut rest = Vec::new();
            Request::Multi(vec![op.clone()]).write_body(&mut rest);
            reader.take(rest.len() - 9 - 4 - path.len() - 9)?;
        }
        prop_assert_eq!(MultiHeader::decode(reader.rest())?, MultiHeader { r#type: -1, done: true, err: -1 });
        check_request(&Request::Multi(ops))?;
    }

    #[test]
    fn multi_read_ops(ops in proptest::collection::vec(arb_read_op(), 0..8)) {
        check_request(&Request::MultiRead(ops))?;
    }

    #[test]
    fn multi_response_with_every_result(results in proptest::collection::vec(arb_op_result(), 0..10)) {
        check_record(&MultiResponse { results })?;
    }

    #[test]
    fn txn_body(body in arb_txn_body()) {
        check_txn_body(&body)?;
    }

    #[test]
    fn multi_txn_of_every_kind(subs in proptest::collection::vec(arb_txn_body_leaf(), 0..8)) {
        // Written in place, a multi is byte for byte the MultiTxn record of its sub-txns.
        let record = MultiTxn {
            txns: subs.iter().map(|sub| Txn { r#type: sub.txn_type(), data: Bytes::from(sub.encode()) }).collect(),
        };
        prop_assert_eq!(TxnBody::Multi(subs.clone()).encode(), record.encode());
        check_txn_body(&TxnBody::Multi(subs))?;
    }
}

/// Every opcode has a request, and `opcode()` names it.
#[test]
fn every_opcode_round_trips() {
    let mut runner = proptest::test_runner::TestRunner::default();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..5000 {
        let request = arb_request().new_tree(&mut runner).unwrap().current();
        check_request(&request).unwrap();
        seen.insert(request.opcode());
    }
    let all: std::collections::BTreeSet<i32> = ALL_REQUEST_OPCODES.into_iter().collect();
    assert_eq!(seen, all);
    for opcode in ALL_REQUEST_OPCODES {
        // Header-only requests decode from an empty body.
        let empty = Request::decode(opcode, &[]);
        assert_eq!(empty.is_ok(), matches!(opcode, op::PING | op::WHO_AM_I | op::CLOSE_SESSION), "{opcode}");
    }
}

#[test]
fn every_op_result_kind_in_one_response() {
    let stat = Stat { czxid: 1, mzxid: 2, pzxid: 3, version: 4, data_length: 1, ..Stat::default() };
    let response = MultiResponse {
        results: vec![
            OpResult::Create { path: "/a".into() },
            OpResult::Create2 { path: "/b".into(), stat: stat.clone() },
            OpResult::Delete,
            OpResult::SetData { stat: stat.clone() },
            OpResult::Check,
            OpResult::GetChildren { children: vec!["x".into(), "é".into()] },
            OpResult::GetData { data: None, stat: stat.clone() },
            OpResult::GetData { data: Some(Bytes::new()), stat: stat.clone() },
            OpResult::GetData { data: Some(Bytes::from_static(b"d")), stat },
            OpResult::Error { err: 0 },
            OpResult::Error { err: -103 },
            OpResult::Error { err: -2 },
        ],
    };
    let bytes = response.encode();
    assert_eq!(MultiResponse::decode(&bytes).unwrap(), response);
    // Terminated by MultiHeader{-1, true, -1}.
    assert_eq!(&bytes[bytes.len() - 9..], &[0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff]);
    assert_eq!(MultiResponse::decode(&MultiResponse::default().encode()).unwrap(), MultiResponse::default());
}

// ---- txn bodies ----

fn check_txn_body(body: &TxnBody) -> Result<(), TestCaseError> {
    let bytes = body.encode();
    prop_assert_eq!(&TxnBody::decode(body.txn_type(), &bytes)?, body);
    prop_assert!(body.size_hint() >= bytes.len(), "size hint {} < {}", body.size_hint(), bytes.len());
    let mut appended = vec![1u8];
    body.write(&mut appended);
    prop_assert_eq!(&appended[1..], &bytes[..]);
    if bytes.is_empty() {
        // Only a closeSession from before CloseSessionTxn has an empty body.
        prop_assert_eq!(body, &TxnBody::CloseSession(None));
        return Ok(());
    }
    // A log entry: TxnHeader, body, TxnDigest; read_typed leaves the digest.
    let header = TxnHeader { client_id: 5, cxid: 6, zxid: 7, time: 8, r#type: body.txn_type() };
    let digest = TxnDigest { version: 2, tree_digest: -42 };
    let mut entry = header.encode();
    entry.extend_from_slice(&bytes);
    digest.write(&mut entry);
    let mut reader = Reader::new(&entry);
    prop_assert_eq!(&TxnHeader::read(&mut reader)?, &header);
    prop_assert_eq!(&TxnBody::read_typed(header.r#type, &mut reader)?, body);
    prop_assert_eq!(TxnDigest::decode(reader.rest())?, digest);
    // Java's MultiTxn view of the same bytes.
    if let TxnBody::Multi(subs) = body {
        let multi = MultiTxn::decode(&bytes)?;
        prop_assert_eq!(multi.txns.len(), subs.len());
        for (txn, sub) in multi.txns.iter().zip(subs) {
            prop_assert_eq!(txn.r#type, sub.txn_type());
            prop_assert_eq!(&txn.data[..], &sub.encode()[..]);
        }
    }
    Ok(())
}

#[test]
fn txn_body_special_cases() {
    // closeSession without a body (old logs) and with one.
    assert_eq!(TxnBody::decode(op::CLOSE_SESSION, &[]).unwrap(), TxnBody::CloseSession(None));
    let close = TxnBody::CloseSession(Some(CloseSessionTxn { paths2_delete: vec!["/e".into()] }));
    assert_eq!(TxnBody::decode(op::CLOSE_SESSION, &close.encode()).unwrap(), close);
    // A multi holding a closeSession(None) sub-txn (empty buffer).
    let multi = TxnBody::Multi(vec![TxnBody::CloseSession(None), TxnBody::Error(ErrorTxn { err: -2 })]);
    assert_eq!(TxnBody::decode(op::MULTI, &multi.encode()).unwrap(), multi);
    // A create logged before parentCVersion existed decodes with parentCVersion -1.
    let v0 = CreateTxnV0 {
        path: "/old".into(),
        data: Some(Bytes::from_static(b"x")),
        acl: vec![],
        ephemeral: true,
    };
    for txn_type in [op::CREATE, op::CREATE2] {
        let decoded = TxnBody::decode(txn_type, &v0.encode()).unwrap();
        let expected = CreateTxn {
            path: "/old".into(),
            data: v0.data.clone(),
            acl: vec![],
            ephemeral: true,
            parent_c_version: -1,
        };
        assert_eq!(decoded.txn_type(), txn_type);
        match decoded {
            TxnBody::Create(t) | TxnBody::Create2(t) => assert_eq!(t, expected),
            other => panic!("{other:?}"),
        }
    }
    // deleteContainer and reconfig reuse DeleteTxn / SetDataTxn under their own types.
    let delete = DeleteTxn { path: "/c".into() };
    assert_eq!(
        TxnBody::decode(op::DELETE_CONTAINER, &delete.encode()).unwrap(),
        TxnBody::DeleteContainer(delete)
    );
    let set = SetDataTxn {
        path: "/zookeeper/config".into(),
        data: Some(Bytes::from_static(b"server.1=")),
        version: 3,
    };
    assert_eq!(TxnBody::decode(op::RECONFIG, &set.encode()).unwrap(), TxnBody::Reconfig(set));
    // Unknown types are refused.
    assert!(TxnBody::decode(op::GET_DATA, &[]).is_err());
}

// ---- fixed sizes and exact layouts ----

#[test]
fn fixed_sizes() {
    assert_eq!(Stat::default().encode().len(), 68);
    assert_eq!(StatPersisted::default().encode().len(), 60);
    assert_eq!(RequestHeader::default().encode().len(), 8);
    assert_eq!(ReplyHeader::default().encode().len(), 16);
    assert_eq!(MultiHeader::default().encode().len(), 9);
    assert_eq!(TxnHeader::default().encode().len(), 32);
    assert_eq!(FileHeader::default().encode().len(), 16);
    assert_eq!(TxnDigest::default().encode().len(), 12);
    assert_eq!(LearnerInfo::default().encode().len(), 20);
    // MIN_SIZE of a record is the sum of its fields' smallest encodings.
    assert_eq!(<Stat as Field>::MIN_SIZE, 68);
    assert_eq!(<Acl as Field>::MIN_SIZE, 12);
    assert_eq!(<Id as Field>::MIN_SIZE, 8);
    assert_eq!(<Txn as Field>::MIN_SIZE, 8);
    assert_eq!(<CreateRequest as Field>::MIN_SIZE, 16);
}

#[test]
fn null_and_empty_stay_apart() {
    let null = SetDataRequest { path: "/n".into(), data: None, version: -1 };
    let empty = SetDataRequest { data: Some(Bytes::new()), ..null.clone() };
    let null_bytes = null.encode();
    let empty_bytes = empty.encode();
    assert_eq!(&null_bytes[6..10], &[0xff; 4]);
    assert_eq!(&empty_bytes[6..10], &[0; 4]);
    assert_eq!(SetDataRequest::decode(&null_bytes).unwrap(), null);
    assert_eq!(SetDataRequest::decode(&empty_bytes).unwrap(), empty);
    // Null strings, buffers and vectors where the record keeps no distinction decode as empty.
    let mut bytes = Vec::new();
    (-1i32).write(&mut bytes); // path
    (-1i32).write(&mut bytes); // data
    (-1i32).write(&mut bytes); // acl
    0i32.write(&mut bytes); // flags
    let create = CreateRequest::decode(&bytes).unwrap();
    assert_eq!(create, CreateRequest { path: String::new(), data: None, acl: vec![], flags: 0 });
    // ReconfigRequest keeps null strings apart from "".
    let reconfig = ReconfigRequest {
        joining_servers: None,
        leaving_servers: Some(String::new()),
        new_members: Some("x".into()),
        cur_config_id: -1,
    };
    assert_eq!(ReconfigRequest::decode(&reconfig.encode()).unwrap(), reconfig);
}

proptest! {
    /// A node list entry reads back from its own bytes and stops exactly at their end; a path
    /// of `/` is the list's end, so it is not an entry.
    #[test]
    fn snapshot_node_round_trips(
        path in s().prop_filter("the end marker", |p| p != "/"),
        data in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        acl_id in l(),
        stat in arb_stat_persisted(),
    ) {
        let node = SnapshotNode { path: &path, data: data.as_deref(), acl_id, stat };
        let mut bytes = Vec::new();
        node.write(&mut bytes);
        let encoded = bytes.len();
        bytes.extend_from_slice(&TRAILER);
        let mut reader = Reader::new(&bytes);
        prop_assert_eq!(SnapshotNode::read(&mut reader)?, Some(node));
        prop_assert_eq!(reader.position(), encoded);
    }
}

/// Every `pub struct` in the crate has a strategy in the shared list (or a dedicated test here).
#[test]
fn every_record_type_is_covered() {
    let sources = [
        include_str!("../src/records.rs"),
        include_str!("../src/proto.rs"),
        include_str!("../src/txn.rs"),
        include_str!("../src/quorum.rs"),
        include_str!("../src/persistence.rs"),
        include_str!("../src/request.rs"),
    ];
    let covered = include_str!("common/mod.rs");
    // Not jute records (raw ByteBuffer layouts); covered by tests/election_records.rs. And
    // SnapshotNode, borrowed from its input: `snapshot_node_round_trips` below.
    let dedicated = ["ConnectRequest", "ConnectResponse", "Notification", "InitialMessage", "SnapshotNode"];
    let mut count = 0;
    for source in sources {
        for line in source.lines() {
            let Some(rest) = line.trim_start().strip_prefix("pub struct ") else { continue };
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            count += 1;
            if dedicated.contains(&name.as_str()) {
                continue;
            }
            let needle = format!(" {name} = ");
            assert!(
                covered.contains(&needle),
                "record {name} has no round-trip strategy in tests/common/mod.rs"
            );
        }
    }
    assert!(count >= 76, "found only {count} record structs");
}

/// A multi's sub-txns are read in place: with a shared reader a large value inside one is a
/// slice of the log entry or proposal like a lone setData's, and a small one is copied.
#[test]
fn a_multi_read_by_a_shared_reader_slices_its_large_sub_values() {
    let set = |size: usize| {
        TxnBody::SetData(SetDataTxn {
            path: "/a".into(),
            data: Some(Bytes::from(vec![7u8; size])),
            version: 2,
        })
    };
    let multi = TxnBody::Multi(vec![
        set(SHARE_FROM - 1),
        TxnBody::Check(CheckVersionTxn { path: "/b".into(), version: 1 }),
        set(4096),
    ]);
    let mut entry = multi.encode();
    entry.extend_from_slice(&TRAILER);
    let entry = Bytes::from(entry);
    let mut reader = Reader::shared(&entry);
    let decoded = TxnBody::read_typed(op::MULTI, &mut reader).expect("decodes");
    assert_eq!(decoded, multi);
    assert_eq!(reader.remaining(), TRAILER.len());
    let TxnBody::Multi(subs) = decoded else { unreachable!() };
    let sliced: Vec<bool> = subs
        .iter()
        .filter_map(|sub| match sub {
            TxnBody::SetData(txn) => {
                txn.data.as_ref().map(|data| entry.as_ptr_range().contains(&data.as_ptr()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(sliced, [false, true]);
}

/// A shared reader slices a value of [`SHARE_FROM`] bytes or more out of its input, copies a
/// shorter one, and decodes the same request either way; a skipping reader ends where the record
/// ends and hands out no bytes.
#[test]
fn a_shared_reader_slices_large_values_and_copies_small_ones() {
    for (size, sliced) in [(0, false), (SHARE_FROM - 1, false), (SHARE_FROM, true), (4096, true)] {
        let request =
            SetDataRequest { path: "/a".into(), data: Some(Bytes::from(vec![7u8; size])), version: 3 };
        let mut body = request.encode();
        body.extend_from_slice(&TRAILER);
        let body = Bytes::from(body);
        let Ok(Request::SetData(decoded)) = Request::decode_shared(op::SET_DATA, &body) else {
            panic!("{size} bytes did not decode as a setData");
        };
        assert_eq!(decoded, request, "{size} bytes");
        let data = decoded.data.expect("data");
        assert_eq!(body.as_ptr_range().contains(&data.as_ptr()), sliced, "{size} bytes");

        let mut skipping = Reader::skipping(&body);
        let skipped = SetDataRequest::read(&mut skipping).expect("decodes");
        assert_eq!(skipping.remaining(), TRAILER.len(), "{size} bytes");
        assert_eq!(skipped.data.map(|d| d.len()), Some(0));
        assert_eq!(skipped.path, "/a");
    }
}
