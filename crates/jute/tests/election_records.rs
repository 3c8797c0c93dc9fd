//! The election-port layouts of `jute::quorum` (not jute records: Java writes them with a raw
//! ByteBuffer / DataOutputStream): round trips and hostile input.

use jute::quorum::{InitialMessage, Notification, ServerState};
use jute::Bytes;
use proptest::prelude::*;

fn arb_notification() -> impl Strategy<Value = Notification> {
    (
        0..4i32,
        any::<i64>(),
        any::<i64>(),
        any::<i64>(),
        any::<i64>(),
        proptest::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(state, leader, zxid, election_epoch, peer_epoch, config)| Notification {
            state,
            leader,
            zxid,
            election_epoch,
            peer_epoch,
            version: Notification::CURRENT_VERSION,
            config: Bytes::from(config),
        })
}

proptest! {
    #[test]
    fn notification_round_trips(notification in arb_notification()) {
        let bytes = notification.encode();
        prop_assert_eq!(bytes.len(), 44 + notification.config.len());
        prop_assert_eq!(Notification::decode(&bytes)?, notification.clone());
        prop_assert!(notification.server_state().is_some());
    }

    #[test]
    fn notification_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        let _ = Notification::decode(&bytes);
    }

    #[test]
    fn handshake_round_trips(sid in 0..i64::MAX, port in any::<u16>(), hosts in proptest::collection::vec("[a-z0-9.]{1,20}", 1..4)) {
        let addresses: Vec<String> = hosts.iter().map(|host| format!("{host}:{port}")).collect();
        let version = if addresses.len() == 1 { InitialMessage::PROTOCOL_VERSION_V1 } else { InitialMessage::PROTOCOL_VERSION_V2 };
        let message = InitialMessage { protocol_version: version, sid, addresses };
        let bytes = message.encode();
        let (decoded, used) = InitialMessage::parse(&bytes)?.expect("complete");
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(decoded, message);
    }

    #[test]
    fn handshake_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = InitialMessage::parse(&bytes);
    }
}

#[test]
fn server_state_values_are_javas() {
    for (value, state) in [
        (0, ServerState::Looking),
        (1, ServerState::Following),
        (2, ServerState::Leading),
        (3, ServerState::Observing),
    ] {
        assert_eq!(ServerState::from_i32(value), Some(state));
        assert_eq!(state.to_i32(), value);
    }
    assert_eq!(ServerState::from_i32(4), None);
}
