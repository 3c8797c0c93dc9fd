//! Sessions: timeout negotiation, expiry removing ephemerals, resumption, the per-IP limit.

mod support;

use jute::proto::*;
use jute::request::Request;
use jute::Record;
use std::time::{Duration, Instant};
use support::*;

fn exists(client: &mut Client, path: &str) -> i32 {
    client
        .call(&Request::Exists(ExistsRequest { path: path.into(), watch: false }))
        .expect("exists")
        .header
        .err
}

#[test]
fn timeouts_are_clamped_between_two_and_twenty_ticks() {
    let server = start_ferrokeeper("");
    let low = Client::connect_with(server.address, 0, vec![0; 16], 10).expect("connect");
    assert_eq!(low.timeout_ms, 4000);
    let high = Client::connect_with(server.address, 0, vec![0; 16], 1_000_000).expect("connect");
    assert_eq!(high.timeout_ms, 40000);
}

#[test]
fn an_expired_session_loses_its_ephemerals_and_cannot_be_resumed() {
    let server = start_ferrokeeper("tickTime=200\n");
    let mut owner = Client::connect_with(server.address, 0, vec![0; 16], 400).expect("connect");
    assert_eq!(owner.timeout_ms, 400);
    assert_eq!(owner.call(&create("/eph", b"", 1)).expect("create").header.err, 0);
    let (session_id, passwd) = (owner.session_id, owner.passwd.clone());
    drop(owner);
    let mut observer = Client::connect(server.address);
    let deadline = Instant::now() + Duration::from_secs(10);
    while exists(&mut observer, "/eph") == 0 {
        assert!(Instant::now() < deadline, "the ephemeral outlived its session");
        std::thread::sleep(Duration::from_millis(50));
    }
    let resumed = Client::connect_with(server.address, session_id, passwd, 400).expect("reconnect");
    assert_eq!((resumed.timeout_ms, resumed.session_id), (0, 0), "an expired session answers timeout 0");
}

#[test]
fn a_client_that_reconnects_in_time_keeps_its_session_and_ephemerals() {
    let server = start_ferrokeeper("");
    let mut owner = Client::connect_with(server.address, 0, vec![0; 16], 6000).expect("connect");
    assert_eq!(owner.call(&create("/mine", b"", 1)).expect("create").header.err, 0);
    let (session_id, passwd) = (owner.session_id, owner.passwd.clone());
    drop(owner);
    std::thread::sleep(Duration::from_millis(500));
    let mut again =
        Client::connect_with(server.address, session_id, passwd.clone(), 6000).expect("reconnect");
    assert_eq!(again.session_id, session_id);
    assert_eq!(again.passwd, passwd, "the password is a function of the session id");
    let reply =
        again.call(&Request::Exists(ExistsRequest { path: "/mine".into(), watch: false })).expect("exists");
    assert_eq!(ExistsResponse::decode(&reply.body).expect("stat").stat.ephemeral_owner, session_id);
}

#[test]
fn connections_beyond_max_client_cnxns_from_one_address_are_closed() {
    let server = start_ferrokeeper("maxClientCnxns=2\n");
    let _first = Client::connect(server.address);
    let _second = Client::connect(server.address);
    let third = Client::connect_with(server.address, 0, vec![0; 16], 30000);
    assert!(third.is_err(), "the third connection must be refused");
    drop(_first);
    std::thread::sleep(Duration::from_millis(200));
    let mut fourth = Client::connect(server.address);
    assert_eq!(exists(&mut fourth, "/"), 0, "a slot frees when a connection closes");
}
