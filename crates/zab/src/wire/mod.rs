//! Java's bytes for the typed messages: election notifications (the records live in
//! `jute::quorum`) and quorum packets (`jute::quorum::QuorumPacket`). Pure functions, no I/O;
//! every decoder is bounded by its input and never panics.

mod election;
mod quorum;

pub use election::{
    encode_election_frame, keep_election_connection, notification_from_wire, notification_to_wire,
    read_election_frame, ConnectionDecision, FrameError,
};
pub use quorum::{
    decode_quorum, encode_quorum, read_packet, take_packet, write_packet, write_packet_split, Direction,
    WireError,
};
