//! One client connection: framing, the four-letter-word sniff, the handshake, and a writer task.
//!
//! Everything a connection decodes goes to the core in arrival order; everything it writes comes
//! from the core. Bad input closes this connection only.

use crate::core::{ConnectionId, CoreMessage, Outgoing};
use crate::fourlw;
use bytes::BytesMut;
use jute::proto::{ConnectRequest, RequestHeader};
use jute::request::Request;
use jute::{Field, Reader};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

/// Why a connection ended early; logged, never fatal to the server.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Frame(#[from] jute::frame::FrameError),
    #[error("malformed {what}: {source}")]
    Malformed { what: &'static str, source: jute::JuteError },
    #[error("server is shutting down")]
    CoreGone,
}

pub async fn serve_connection(
    stream: TcpStream,
    conn: ConnectionId,
    remote: SocketAddr,
    core: mpsc::UnboundedSender<CoreMessage>,
    max_buffer: usize,
) {
    let result = run(stream, conn, remote, &core, max_buffer).await;
    if let Err(error) = &result {
        tracing::debug!("Connection from {} closed: {}", remote, error);
    }
    let _ = core.send(CoreMessage::Closed { conn });
}

async fn run(
    stream: TcpStream,
    conn: ConnectionId,
    remote: SocketAddr,
    core: &mpsc::UnboundedSender<CoreMessage>,
    max_buffer: usize,
) -> Result<(), ConnectionError> {
    let _ = stream.set_nodelay(true);
    let (read_half, mut write_half) = stream.into_split();
    let mut reader = BufReader::with_capacity(64 * 1024, read_half);
    let mut prefix = [0u8; 4];
    reader.read_exact(&mut prefix).await?;
    if let Some(word) = fourlw::is_four_letter_word(&prefix) {
        let mut word = word.to_string();
        if word == "stmk" {
            // stmk carries the new trace mask as an 8-byte big-endian long.
            let mut mask = [0u8; 8];
            reader.read_exact(&mut mask).await?;
            word = format!("stmk {}", i64::from_be_bytes(mask));
        }
        let (reply, answer) = oneshot::channel();
        core.send(CoreMessage::FourLetter { word, remote, reply }).map_err(|_| ConnectionError::CoreGone)?;
        let text = answer.await.map_err(|_| ConnectionError::CoreGone)?;
        write_half.write_all(text.as_bytes()).await?;
        write_half.shutdown().await?;
        return Ok(());
    }
    let length = jute::frame::frame_length(prefix, max_buffer)?;
    let mut payload = vec![0u8; length];
    reader.read_exact(&mut payload).await?;
    // Like Java, bytes after the optional readOnly flag are ignored.
    let request = ConnectRequest::read(&mut Reader::new(&payload))
        .map_err(|source| ConnectionError::Malformed { what: "ConnectRequest", source })?;

    let (outbound, outgoing) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_loop(write_half, outgoing));
    let (established_tx, established_rx) = oneshot::channel();
    core.send(CoreMessage::Connect { conn, remote, request, outbound, established: established_tx })
        .map_err(|_| ConnectionError::CoreGone)?;
    // Like Java, read nothing more until the session is established.
    let established = established_rx.await.unwrap_or(false);
    if !established {
        let _ = writer.await;
        return Ok(());
    }
    let mut writer = writer;
    // Either side may end the connection: the core by sending Close (the writer then finishes),
    // the client by closing or sending something we refuse.
    tokio::select! {
        result = read_loop(reader, conn, core, max_buffer) => {
            writer.abort();
            result
        }
        _ = &mut writer => Ok(()),
    }
}

async fn read_loop(
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    conn: ConnectionId,
    core: &mpsc::UnboundedSender<CoreMessage>,
    max_buffer: usize,
) -> Result<(), ConnectionError> {
    // Frames are cut off one buffer the socket reads into, and a large value in a request shares
    // it (Request::decode_shared) rather than being copied on its way to the core.
    let mut buffer = BytesMut::with_capacity(READ_ROOM);
    buffer.extend_from_slice(reader.buffer());
    let mut socket = reader.into_inner();
    loop {
        while let Some((payload, used)) = jute::frame::split_frame(&buffer, max_buffer)? {
            let frame = buffer.split_to(used).freeze().slice(payload);
            let mut cursor = Reader::new(&frame);
            let header = RequestHeader::read(&mut cursor)
                .map_err(|source| ConnectionError::Malformed { what: "RequestHeader", source })?;
            let body = Request::decode_shared(header.r#type, &frame.slice(cursor.position()..));
            core.send(CoreMessage::Request { conn, header, body }).map_err(|_| ConnectionError::CoreGone)?;
        }
        make_room(&mut buffer);
        if socket.read_buf(&mut buffer).await? == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
    }
}

/// The room a receive buffer is given to read into, and below which it is given more.
const READ_ROOM: usize = 64 * 1024;
const READ_ROOM_MIN: usize = 16 * 1024;

/// Gives a receive buffer room before the next read. Values sliced out of it (decode_shared,
/// take_packet) keep its allocation shared, and a shared `BytesMut` left to grow by itself takes
/// a few bytes more each time, copying all it holds (a 1 MiB frame or a snapshot stream would
/// be copied thousands of times). So it reads into room for many frames at a time, and room that
/// doubles with what it holds while one large frame comes in.
pub(crate) fn make_room(buffer: &mut BytesMut) {
    if buffer.capacity() - buffer.len() < READ_ROOM_MIN {
        buffer.reserve(buffer.len().max(READ_ROOM));
    }
}

/// Writes frames as the core produces them, coalescing whatever is queued into one write.
async fn write_loop(mut writer: OwnedWriteHalf, mut outgoing: mpsc::UnboundedReceiver<Outgoing>) {
    let mut buffer = Vec::with_capacity(64 * 1024);
    while let Some(first) = outgoing.recv().await {
        let mut close = false;
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                Outgoing::Frame(frame) => buffer.extend_from_slice(&frame),
                Outgoing::Close => {
                    close = true;
                    break;
                }
            }
            if buffer.len() < 1 << 20 {
                next = outgoing.try_recv().ok();
            }
        }
        if !buffer.is_empty() {
            if writer.write_all(&buffer).await.is_err() {
                return;
            }
            buffer.clear();
        }
        if close {
            let _ = writer.shutdown().await;
            return;
        }
    }
}
