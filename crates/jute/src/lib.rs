//! ZooKeeper's jute records: every record that crosses the client port, the quorum port or the disk,
//! with their binary encoding (big-endian, length-prefixed strings, buffers and vectors).
//!
//! This crate does no I/O. A record is encoded into a `Vec<u8>` with [`Record::encode`] (or appended
//! with [`Record::write`]) and decoded from a byte slice with [`Record::decode`] (exactly the whole
//! slice) or field by field with a [`Reader`]. Every length read from the input is checked against
//! the bytes that remain, so a hostile length can never make the decoder allocate more than the
//! frame it was handed.
//!
//! Null and empty differ on the wire for buffers (length -1 vs 0); the data-carrying buffer fields are
//! `Option<Bytes>` so that difference survives a round trip. Null strings and vectors carry no
//! meaning anywhere in the protocol, so they decode as empty.

mod archive;
pub mod consts;
pub mod frame;
pub mod persistence;
pub mod proto;
pub mod quorum;
pub mod records;
pub mod request;
pub mod txn;

pub use archive::{write_buffer_length, Field, JuteError, Reader, Record, SHARE_FROM};
pub use bytes::Bytes;
