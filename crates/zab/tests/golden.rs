//! Golden traffic captured between three Apache ZooKeeper 3.8 servers (tests/golden/README.md):
//! every election handshake and notification, and every quorum packet up to a SNAP's database,
//! decodes to what Java's side meant and re-encodes to the same bytes.

use jute::quorum::{InitialMessage, Notification as WireNotification, QuorumPacket};
use jute::Reader;
use serde_json::Value;
use std::collections::BTreeMap;
use zab::message::ServerState;
use zab::wire::{
    decode_quorum, encode_quorum, notification_from_wire, notification_to_wire, read_packet, take_packet,
    write_packet, write_packet_split, Direction,
};
use zab::QuorumMessage;

fn streams(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/golden/{name}.streams.jsonl", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

fn hex_zxid(value: &Value) -> i64 {
    let text = value.as_str().unwrap();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let magnitude = i128::from_str_radix(digits.trim_start_matches("0x"), 16).unwrap();
    (if negative { -magnitude } else { magnitude }) as i64
}

#[derive(Default)]
struct Seen {
    notifications: usize,
    handshakes: usize,
    packets: BTreeMap<&'static str, usize>,
}

fn check_election(stream: &Value, seen: &mut Seen) {
    let bytes = hex::decode(stream["hex"].as_str().unwrap()).unwrap();
    let mut at = 0;
    if stream["direction"] == "to_listener" && !stream["handshake"].is_null() {
        let (message, used) = InitialMessage::parse(&bytes).unwrap().expect("whole handshake");
        let expected = &stream["handshake"];
        assert_eq!(message.protocol_version, expected["protocolVersion"].as_i64().unwrap());
        assert_eq!(message.sid, expected["sid"].as_i64().unwrap());
        assert_eq!(message.addresses, vec![expected["addr"].as_str().unwrap().to_string()]);
        assert_eq!(message.encode(), bytes[..used]);
        at = used;
        seen.handshakes += 1;
    }
    let expected = stream["messages"].as_array().unwrap();
    let mut index = 0;
    while at + 4 <= bytes.len() && index < expected.len() {
        let length = i32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        if at + 4 + length > bytes.len() {
            break; // cut by the 4 KiB cap
        }
        let payload = &bytes[at + 4..at + 4 + length];
        at += 4 + length;
        let wire = WireNotification::decode(payload).unwrap();
        let want = &expected[index];
        assert_eq!(wire.state as i64, want["state"].as_i64().unwrap());
        assert_eq!(wire.leader, want["leader"].as_i64().unwrap());
        assert_eq!(wire.zxid, hex_zxid(&want["zxid"]));
        assert_eq!(wire.election_epoch, want["electionEpoch"].as_i64().unwrap());
        assert_eq!(wire.peer_epoch, want["peerEpoch"].as_i64().unwrap());
        assert_eq!(wire.version, want["version"].as_i64().unwrap() as i32);
        assert_eq!(std::str::from_utf8(&wire.config).unwrap(), want["config"].as_str().unwrap());
        assert_eq!(wire.encode(), payload, "re-encoding notification {index}");
        let typed = notification_from_wire(&wire).unwrap();
        assert_eq!(notification_to_wire(&typed, &wire.config), wire);
        assert!(matches!(typed.state, ServerState::Looking | ServerState::Following | ServerState::Leading));
        seen.notifications += 1;
        index += 1;
    }
    if stream["truncated"] == false {
        assert_eq!(index, expected.len(), "every notification of {}", stream["stream"]);
    }
}

fn check_quorum(stream: &Value, seen: &mut Seen) {
    let bytes = hex::decode(stream["hex"].as_str().unwrap()).unwrap();
    let direction =
        if stream["direction"] == "to_listener" { Direction::FromLearner } else { Direction::FromLeader };
    let expected = stream["messages"].as_array().unwrap();
    let mut reader = Reader::new(&bytes);
    let mut index = 0;
    while index < expected.len() {
        let start = reader.position();
        let packet = match read_packet(&bytes[start..], 1 << 20) {
            Ok(Some((packet, used))) => {
                reader.take(used).unwrap();
                packet
            }
            Ok(None) if stream["truncated"] == true => break,
            other => panic!("{}: packet {index}: {other:?}", stream["stream"]),
        };
        let raw = &bytes[start..reader.position()];
        let want = &expected[index];
        assert_eq!(packet.zxid, hex_zxid(&want["zxid"]), "{} packet {index}", stream["stream"]);
        let message = decode_quorum(packet.clone(), direction).unwrap_or_else(|error| {
            panic!("{} packet {index} ({}): {error:?}", stream["stream"], want["type"])
        });
        assert_eq!(message.name(), want["type"].as_str().unwrap(), "{} packet {index}", stream["stream"]);
        assert_eq!(
            write_packet(&encode_quorum(&message)),
            raw,
            "{} re-encoding packet {index}",
            stream["stream"]
        );
        // Split around its data (shared, not copied) for a vectored write: the same bytes.
        let (head, data, tail) = write_packet_split(&encode_quorum(&message), 0);
        let data = data.unwrap_or_default();
        assert_eq!(
            [&head[..], &data[..], &tail[..]].concat(),
            raw,
            "{} split packet {index}",
            stream["stream"]
        );
        *seen.packets.entry(message.name()).or_default() += 1;
        index += 1;
        if matches!(message, QuorumMessage::Snap { .. }) {
            break; // the serialized database follows on the stream
        }
    }
    assert!(index > 0);
}

fn check(name: &str) -> Seen {
    let mut seen = Seen::default();
    for stream in streams(name) {
        match stream["kind"].as_str().unwrap() {
            "election" => check_election(&stream, &mut seen),
            _ => check_quorum(&stream, &mut seen),
        }
    }
    seen
}

#[test]
fn inflight_proposal_capture_decodes_and_reencodes_byte_for_byte() {
    let seen = check("inflight-proposal");
    assert_eq!((seen.handshakes, seen.notifications), (6, 24));
    for kind in [
        "FOLLOWERINFO",
        "LEADERINFO",
        "ACKEPOCH",
        "DIFF",
        "NEWLEADER",
        "UPTODATE",
        "PROPOSAL",
        "ACK",
        "COMMIT",
        "PING",
    ] {
        assert!(seen.packets.contains_key(kind), "{kind} in {:?}", seen.packets);
    }
}

#[test]
fn diff_election_capture_decodes_and_reencodes_byte_for_byte() {
    let seen = check("diff-election");
    assert!(seen.packets.contains_key("REQUEST"), "{:?}", seen.packets);
    assert!(seen.packets["DIFF"] >= 6);
}

#[test]
fn snap_capture_decodes_up_to_the_database() {
    let seen = check("snap");
    assert_eq!(seen.packets.get("SNAP"), Some(&1), "{:?}", seen.packets);
}

#[test]
fn notification_decoder_accepts_java_legacy_forms_and_refuses_bad_lengths() {
    let full = WireNotification {
        state: 0,
        leader: 3,
        zxid: 0x1_0000_0005,
        election_epoch: 2,
        peer_epoch: 1,
        version: 2,
        config: "server.1=a:1:2".into(),
    }
    .encode();
    // 28 bytes: no peerEpoch (taken from the zxid), no version.
    let old = WireNotification::decode(&full[..28]).unwrap();
    assert_eq!((old.peer_epoch, old.version), (1, 0));
    // 40 bytes: no version.
    let mid = WireNotification::decode(&full[..40]).unwrap();
    assert_eq!((mid.peer_epoch, mid.version, mid.config.len()), (1, 0, 0));
    assert!(WireNotification::decode(&full[..27]).is_err());
    // A config length beyond the message.
    let mut bad = full.clone();
    bad[40..44].copy_from_slice(&1000i32.to_be_bytes());
    assert!(WireNotification::decode(&bad).is_err());
    let mut negative = full.clone();
    negative[40..44].copy_from_slice(&(-5i32).to_be_bytes());
    assert!(WireNotification::decode(&negative).is_err());
}

#[test]
fn handshake_parser_waits_for_bytes_and_refuses_what_java_refuses() {
    let message =
        InitialMessage { protocol_version: -65536, sid: 2, addresses: vec!["127.0.0.1:33882".into()] }
            .encode();
    for cut in 0..message.len() {
        assert_eq!(InitialMessage::parse(&message[..cut]).unwrap(), None, "cut at {cut}");
    }
    // Pre-3.5: the bare sid.
    let (old, used) = InitialMessage::parse(&7i64.to_be_bytes()).unwrap().unwrap();
    assert_eq!((old.sid, used), (7, 8));
    // Unknown version, bad lengths, bad addresses.
    assert!(InitialMessage::parse(&(-3i64).to_be_bytes()).is_err());
    let with = |length: i32, text: &[u8]| {
        let mut bytes = (-65536i64).to_be_bytes().to_vec();
        bytes.extend_from_slice(&2i64.to_be_bytes());
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.extend_from_slice(text);
        InitialMessage::parse(&bytes)
    };
    assert!(with(0, b"").is_err());
    assert!(with(2049, b"").is_err());
    assert!(with(4, b"host").is_err());
    assert!(with(7, b"host:xx").is_err());
    let multi = with(15, b"a:1|[::1]:3888|").map(|m| m.map(|(m, _)| m.addresses));
    assert!(multi.is_err(), "an empty address after | is refused");
    let multi = with(14, b"a:1|[::1]:3888").unwrap().unwrap().0;
    assert_eq!(multi.addresses, ["a:1", "[::1]:3888"]);
}

#[test]
fn quorum_decoder_never_panics_on_truncated_or_foreign_packets() {
    // Every packet type in both directions, with payloads cut at every length.
    for kind in 0..25 {
        for direction in [Direction::FromLeader, Direction::FromLearner] {
            for length in 0..24 {
                let data: Vec<u8> = (0..length as u8).collect();
                let packet =
                    QuorumPacket { r#type: kind, zxid: 5, data: Some(data.into()), authinfo: Vec::new() };
                let _ = decode_quorum(packet, direction);
            }
            let packet = QuorumPacket { r#type: kind, zxid: -1, data: None, authinfo: Vec::new() };
            let _ = decode_quorum(packet, direction);
        }
    }
}

#[test]
fn election_frames_round_trip_and_bad_lengths_are_refused() {
    use zab::wire::{encode_election_frame, read_election_frame, FrameError};
    use zab::{Notification, Vote};
    let notification = Notification {
        state: ServerState::Following,
        vote: Vote { leader: 3, zxid: 0x1_0000_0003, peer_epoch: 1 },
        election_epoch: 2,
        version: 2,
    };
    let frame = encode_election_frame(&notification, &"server.1=a:1:2".into());
    for cut in 0..frame.len() {
        assert_eq!(read_election_frame(&frame[..cut]), Ok(None));
    }
    assert_eq!(read_election_frame(&frame), Ok(Some((Some(notification), frame.len()))));
    assert_eq!(read_election_frame(&0i32.to_be_bytes()), Err(FrameError::InvalidLength(0)));
    assert_eq!(
        read_election_frame(&(512 * 1024 + 1i32).to_be_bytes()),
        Err(FrameError::InvalidLength(524_289))
    );
    let mut short = 10i32.to_be_bytes().to_vec();
    short.extend_from_slice(&[0; 10]);
    assert_eq!(read_election_frame(&short), Err(FrameError::Malformed));
}

#[test]
fn only_the_connection_initiated_by_the_higher_sid_survives() {
    use zab::wire::{keep_election_connection, ConnectionDecision};
    assert_eq!(keep_election_connection(3, 1, false), ConnectionDecision::Close { dial_back: true });
    assert_eq!(keep_election_connection(1, 3, false), ConnectionDecision::Keep);
    assert_eq!(keep_election_connection(3, 1, true), ConnectionDecision::Keep);
    assert_eq!(keep_election_connection(1, 3, true), ConnectionDecision::Close { dial_back: false });
    assert_eq!(keep_election_connection(2, 2, false), ConnectionDecision::Close { dial_back: false });
}

/// A forwarded request comes back from the wire as it went in: ids, header fields and body
/// (decoding hands over the packet's auth ids and shares its bytes).
#[test]
fn a_forwarded_request_survives_the_wire() {
    use jute::records::Id;
    let sent = QuorumMessage::Request {
        session_id: 0x1234_5678_9abc,
        cxid: 42,
        op_type: 5,
        request: bytes::Bytes::from_static(b"\x00\x00\x00\x02/a\x00\x00\x00\x03abc\xff\xff\xff\xff"),
        authinfo: vec![
            Id { scheme: "ip".into(), id: "127.0.0.1".into() },
            Id { scheme: "digest".into(), id: "u:hash".into() },
        ],
    };
    let bytes = write_packet(&encode_quorum(&sent));
    let (head, data, tail) = write_packet_split(&encode_quorum(&sent), 1);
    assert_eq!([&head[..], &data.unwrap_or_default()[..], &tail[..]].concat(), bytes, "split with authinfo");
    // Data shorter than the split's threshold stays in the first piece.
    let (whole, data, tail) = write_packet_split(&encode_quorum(&sent), usize::MAX);
    assert_eq!((whole, data, tail.len()), (bytes.clone(), None, 0));
    let (packet, used) = read_packet(&bytes, 1 << 20).expect("a whole packet").expect("complete");
    assert_eq!(used, bytes.len());
    assert_eq!(decode_quorum(packet, Direction::FromLearner).expect("decodes"), sent);
    // The header fields are required: a body shorter than them is an error, not a panic.
    let mut short = encode_quorum(&sent);
    short.data = Some(bytes::Bytes::from_static(&[0, 0, 0, 1]));
    assert!(decode_quorum(short, Direction::FromLearner).is_err());
}

/// The packets of every captured quorum stream, as `read_packet` reads them from the whole
/// stream, up to the last whole one before anything it cannot read (a SNAP's database).
fn packets_read_whole(bytes: &[u8]) -> Vec<QuorumPacket> {
    let mut packets = Vec::new();
    let mut at = 0;
    while let Ok(Some((packet, used))) = read_packet(&bytes[at..], 1 << 20) {
        let snap = packet.r#type == jute::quorum::packet_type::SNAP;
        packets.push(packet);
        at += used;
        if snap {
            break;
        }
    }
    packets
}

#[test]
fn a_receive_buffer_yields_the_same_packets_however_the_bytes_arrive() {
    let mut streams_checked = 0;
    for name in ["inflight-proposal", "diff-election", "snap"] {
        for stream in streams(name).into_iter().filter(|s| s["kind"] != "election") {
            let bytes = hex::decode(stream["hex"].as_str().unwrap()).unwrap();
            let expected = packets_read_whole(&bytes);
            for piece in [1, 7, 100, 4096, bytes.len().max(1)] {
                let mut buffer = bytes::BytesMut::new();
                let mut taken = Vec::new();
                for chunk in bytes.chunks(piece) {
                    buffer.extend_from_slice(chunk);
                    while taken.len() < expected.len() {
                        match take_packet(&mut buffer, 1 << 20).expect("no error") {
                            Some(packet) => taken.push(packet),
                            None => break,
                        }
                    }
                }
                assert_eq!(taken, expected, "{name} {} in pieces of {piece}", stream["stream"]);
            }
            streams_checked += 1;
        }
    }
    assert!(streams_checked >= 3, "{streams_checked} quorum streams");
}

#[test]
fn a_large_proposal_shares_the_receive_buffer_and_an_oversize_one_is_refused_early() {
    let proposal = |size: usize| {
        let txn = zab::Txn { zxid: zab::Zxid(0x1_0000_0001), data: bytes::Bytes::from(vec![9u8; size]) };
        write_packet(&encode_quorum(&QuorumMessage::Proposal { txn }))
    };
    for (size, shared) in [(100, false), (4096, true)] {
        let mut buffer = bytes::BytesMut::with_capacity(64 * 1024);
        buffer.extend_from_slice(&proposal(size));
        buffer.extend_from_slice(&proposal(size)[..10]);
        let range = buffer.as_ptr_range();
        let packet = take_packet(&mut buffer, 1 << 20).expect("no error").expect("a whole packet");
        assert_eq!(buffer.len(), 10, "the next packet's first bytes stay");
        let data = packet.data.clone().expect("data");
        assert_eq!(range.contains(&data.as_ptr()), shared, "{size} bytes");
        let QuorumMessage::Proposal { txn } = decode_quorum(packet, Direction::FromLeader).expect("decodes")
        else {
            panic!("not a proposal");
        };
        assert_eq!(txn.data.len(), size);
        assert!(take_packet(&mut buffer, 1 << 20).expect("no error").is_none(), "only 10 bytes there");
    }
    // The length is refused once the header is in, before the data arrives.
    let mut buffer = bytes::BytesMut::from(&proposal(4096)[..16]);
    assert!(take_packet(&mut buffer, 4095).is_err());
}
