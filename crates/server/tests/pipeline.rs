//! Ordering under pipelining: many requests in flight on one connection are answered in request
//! order, a client reads its own writes, and a watch event arrives before the reply that reveals
//! the change.

mod support;

use jute::consts::{event_type, xid};
use jute::proto::*;
use jute::request::Request;
use jute::{Bytes, Field, Reader, Record};
use support::*;

fn encode(xid: i32, request: &Request) -> Vec<u8> {
    let mut payload = Vec::new();
    RequestHeader { xid, r#type: request.opcode() }.write(&mut payload);
    request.write_body(&mut payload);
    let mut framed = Vec::new();
    jute::proto::put_frame(&mut framed, &payload);
    framed
}

#[test]
fn a_thousand_pipelined_requests_are_answered_in_order_and_read_their_own_writes() {
    let server = start_ferrokeeper("");
    let mut client = Client::connect(server.address);
    client.call(&create("/p", b"", 0)).expect("create /p");
    // One write then one read of the same node, 500 times, all sent before any reply is read.
    let mut batch = Vec::new();
    let mut expected = Vec::new();
    for i in 0..500 {
        let path = format!("/p/n{i}");
        batch.extend(encode(10 + 2 * i, &create(&path, format!("{i}").as_bytes(), 0)));
        batch.extend(encode(11 + 2 * i, &Request::GetData(GetDataRequest { path, watch: false })));
        expected.push(10 + 2 * i);
        expected.push(11 + 2 * i);
    }
    use std::io::Write;
    client.stream.write_all(&batch).expect("send batch");
    let mut last_zxid = 0;
    for (index, want_xid) in expected.iter().enumerate() {
        let frame = read_frame(&mut client.stream).expect("reply");
        let mut reader = Reader::new(&frame);
        let header = ReplyHeader::read(&mut reader).expect("header");
        assert_eq!(header.xid, *want_xid, "reply {index} out of order");
        assert_eq!(header.err, 0, "reply {index} failed");
        assert!(header.zxid >= last_zxid, "zxids never go back");
        last_zxid = header.zxid;
        if want_xid % 2 == 1 {
            let data = GetDataResponse::decode(reader.rest()).expect("getData body");
            let i = (want_xid - 11) / 2;
            assert_eq!(data.data.as_deref(), Some(format!("{i}").as_bytes()), "read {i} sees its own write");
        }
    }
}

#[test]
fn a_watch_event_arrives_before_the_reply_that_reveals_the_change() {
    let server = start_ferrokeeper("");
    let mut writer = Client::connect(server.address);
    let mut watcher = Client::connect(server.address);
    writer.call(&create("/w", b"0", 0)).expect("create");
    for round in 1..=50 {
        watcher.call(&Request::GetData(GetDataRequest { path: "/w".into(), watch: true })).expect("watch");
        let value = format!("{round}");
        let set = Request::SetData(SetDataRequest {
            path: "/w".into(),
            data: Some(Bytes::copy_from_slice(value.as_bytes())),
            version: -1,
        });
        writer.call(&set).expect("setData");
        // The watcher's next read sees the new value, so the event must already have arrived.
        let before = watcher.events.len();
        let reply = watcher
            .call(&Request::GetData(GetDataRequest { path: "/w".into(), watch: false }))
            .expect("read");
        let data = GetDataResponse::decode(&reply.body).expect("body");
        assert_eq!(data.data.as_deref(), Some(value.as_bytes()));
        assert_eq!(watcher.events.len(), before + 1, "round {round}: the event came with or before the read");
        let event = watcher.events.last().expect("event");
        assert_eq!((event.r#type, event.path.as_str()), (event_type::NODE_DATA_CHANGED, "/w"));
    }
}

#[test]
fn pings_are_answered_in_order_with_the_last_zxid() {
    let server = start_ferrokeeper("");
    let mut client = Client::connect(server.address);
    let created = client.call(&create("/ping", b"", 0)).expect("create");
    let reply = client.call(&Request::Ping).expect("ping");
    assert_eq!(reply.header.xid, xid::PING);
    assert_eq!(reply.header.zxid, created.header.zxid);
}
