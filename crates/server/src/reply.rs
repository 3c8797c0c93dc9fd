//! Building outgoing frames: length prefix, ReplyHeader, then the response record.

use jute::proto::{ReplyHeader, WatcherEvent};
use jute::Field;

/// A reply frame: `ReplyHeader{xid, zxid, err}` then whatever `body` writes.
pub fn reply_frame(xid: i32, zxid: i64, err: i32, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(&[0; 4]);
    ReplyHeader { xid, zxid, err }.write(&mut out);
    body(&mut out);
    seal(out)
}

/// A reply carrying one record.
pub fn record_reply(xid: i32, zxid: i64, record: &impl Field) -> Vec<u8> {
    reply_frame(xid, zxid, 0, |out| record.write(out))
}

/// A reply with only the header.
pub fn header_reply(xid: i32, zxid: i64, err: i32) -> Vec<u8> {
    reply_frame(xid, zxid, err, |_| {})
}

/// A watch notification: xid -1, zxid -1 (as 3.8 sends it), the event.
pub fn notification_frame(event: &WatcherEvent) -> Vec<u8> {
    record_reply(jute::consts::xid::NOTIFICATION, -1, event)
}

/// A frame holding one record with no header (ConnectResponse).
pub fn bare_frame(record: &impl Field) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&[0; 4]);
    record.write(&mut out);
    seal(out)
}

fn seal(mut out: Vec<u8>) -> Vec<u8> {
    let length = (out.len() - 4) as i32;
    out[..4].copy_from_slice(&length.to_be_bytes());
    out
}
