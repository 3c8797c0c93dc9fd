//! The two quorum ports, as `QuorumCnxManager` and `Learner`/`LearnerCnxAcceptor` use them.
//!
//! Election port: one connection per pair of servers. A connector writes Java 3.8's handshake
//! (`long -65536, long sid, int length, "host:port"`); only a connection initiated by the higher
//! sid survives (an acceptor closes a lower sid's connection and dials back; a connector to a
//! higher sid closes its own after the handshake, so the other side dials). Each message is an
//! `int length` and a notification. The last notification sent to a peer is sent again on every
//! new connection to it (Java's SendWorker). Host names are resolved again on every attempt.
//!
//! Quorum port: the leader listens while it leads; a learner connects to the leader it elected.
//! Packets are jute `QuorumPacket`s back to back (no length prefix); after SNAP the leader writes
//! its database and `BenWasHere`.

use crate::core::CoreMessage;
use crate::quorum::{snap, Input};
use bytes::BytesMut;
use jute::quorum::{packet_type, InitialMessage, Notification as WireNotification};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zab::wire::{
    decode_quorum, keep_election_connection, notification_from_wire, ConnectionDecision, Direction,
};
use zab::{Message, Sid};

/// Java's `cnxTO` (zookeeper.cnxTimeout): connect and handshake timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(5000);

/// Where a peer listens.
#[derive(Debug, Clone)]
pub struct PeerAddress {
    pub host: String,
    pub quorum_port: u16,
    pub election_port: u16,
}

async fn resolve(host: &str, port: u16) -> std::io::Result<SocketAddr> {
    tokio::net::lookup_host((host, port))
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("cannot resolve {host}")))
}

/// A txn from the leader (PROPOSAL, INFORM) must decode, and under its packet's zxid: it goes
/// to the log as it came (the storage thread does not decode it) and is applied from there.
/// Java's learner fails the same way on a txn it cannot deserialize: it drops the connection.
fn check_txn(message: &zab::QuorumMessage) -> Result<(), String> {
    let (zab::QuorumMessage::Proposal { txn } | zab::QuorumMessage::Inform { txn }) = message else {
        return Ok(());
    };
    let (header, _, _) = wal::txnlog::decode_payload(&txn.data)
        .map_err(|reason| format!("txn 0x{:x} does not decode: {reason}", txn.zxid.0))?;
    if header.zxid != txn.zxid.0 {
        return Err(format!("txn 0x{:x} in a packet for 0x{:x}", header.zxid, txn.zxid.0));
    }
    Ok(())
}

fn deliver(core: &mpsc::UnboundedSender<CoreMessage>, input: Input) -> bool {
    core.send(CoreMessage::Quorum(input)).is_ok()
}

// ---------------------------------------------------------------------------------------------
// Election port

/// A live election connection: its generation and its writer's queue.
type ElectionConnection = (u64, mpsc::UnboundedSender<Vec<u8>>);

/// The election port's connections.
#[derive(Debug, Clone)]
pub struct ElectionNet {
    inner: Arc<ElectionInner>,
}

#[derive(Debug)]
struct ElectionInner {
    my_id: Sid,
    my_address: String,
    peers: HashMap<Sid, PeerAddress>,
    core: mpsc::UnboundedSender<CoreMessage>,
    connections: Mutex<HashMap<Sid, ElectionConnection>>,
    last_sent: Mutex<HashMap<Sid, Vec<u8>>>,
    dialing: Mutex<HashSet<Sid>>,
    generation: AtomicU64,
}

impl ElectionNet {
    /// Binds the election port (all interfaces with quorumListenOnAllIPs) and accepts.
    pub async fn start(
        my_id: Sid,
        peers: HashMap<Sid, PeerAddress>,
        listen_on_all_ips: bool,
        core: mpsc::UnboundedSender<CoreMessage>,
    ) -> std::io::Result<ElectionNet> {
        let me = peers
            .get(&my_id)
            .cloned()
            .ok_or_else(|| std::io::Error::other("myid is not in the server list"))?;
        let bind = if listen_on_all_ips {
            SocketAddr::from(([0, 0, 0, 0], me.election_port))
        } else {
            resolve(&me.host, me.election_port).await?
        };
        let listener = TcpListener::bind(bind).await?;
        tracing::info!("election port listening on {}", listener.local_addr()?);
        let net = ElectionNet {
            inner: Arc::new(ElectionInner {
                my_id,
                my_address: format!("{}:{}", me.host, me.election_port),
                peers,
                core,
                connections: Mutex::new(HashMap::new()),
                last_sent: Mutex::new(HashMap::new()),
                dialing: Mutex::new(HashSet::new()),
                generation: AtomicU64::new(1),
            }),
        };
        let accepting = net.clone();
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let net = accepting.clone();
                        tokio::spawn(async move { net.accepted(stream).await });
                    }
                    Err(error) => {
                        tracing::warn!("election accept failed: {}", error);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        Ok(net)
    }

    /// Sends a notification (`int length` + payload) to `to`, connecting if needed.
    pub fn send(&self, to: Sid, notification: &WireNotification) {
        let payload = notification.encode();
        let mut frame = Vec::with_capacity(4 + payload.len());
        frame.extend_from_slice(&(payload.len() as i32).to_be_bytes());
        frame.extend_from_slice(&payload);
        self.inner.last_sent.lock().insert(to, frame.clone());
        let sent = match self.inner.connections.lock().get(&to) {
            Some((_, tx)) => tx.send(frame).is_ok(),
            None => false,
        };
        if !sent {
            self.dial(to);
        }
    }

    fn dial(&self, to: Sid) {
        if !self.inner.peers.contains_key(&to) || !self.inner.dialing.lock().insert(to) {
            return;
        }
        let net = self.clone();
        tokio::spawn(async move {
            if let Err(error) = net.connect_one(to).await {
                tracing::debug!("Cannot open channel to {} at election address: {}", to, error);
            }
            net.inner.dialing.lock().remove(&to);
        });
    }

    async fn connect_one(&self, to: Sid) -> std::io::Result<()> {
        let peer = self.inner.peers[&to].clone();
        // Re-resolved on every attempt: a peer's address may change (Kubernetes).
        let address = resolve(&peer.host, peer.election_port).await?;
        let mut stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address))
            .await
            .map_err(|_| std::io::Error::other("connect timed out"))??;
        let _ = stream.set_nodelay(true);
        let handshake = InitialMessage {
            protocol_version: InitialMessage::PROTOCOL_VERSION_V1,
            sid: self.inner.my_id as i64,
            addresses: vec![self.inner.my_address.clone()],
        };
        stream.write_all(&handshake.encode()).await?;
        match keep_election_connection(self.inner.my_id as i64, to as i64, true) {
            ConnectionDecision::Keep => self.register(to, stream),
            ConnectionDecision::Close { .. } => {
                tracing::debug!(
                    "Have smaller server identifier, so dropping the connection: ({}, {})",
                    to,
                    self.inner.my_id
                );
            }
        }
        Ok(())
    }

    async fn accepted(&self, mut stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let mut buffer = Vec::with_capacity(64);
        let handshake = tokio::time::timeout(CONNECT_TIMEOUT, async {
            loop {
                match InitialMessage::parse(&buffer) {
                    Ok(Some((message, _))) => return Ok(message),
                    Ok(None) => {}
                    Err(error) => return Err(std::io::Error::other(error.to_string())),
                }
                let mut chunk = [0u8; 256];
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::Error::other("closed during the handshake"));
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
        })
        .await;
        let message = match handshake {
            Ok(Ok(message)) => message,
            Ok(Err(error)) => return tracing::warn!("election handshake failed: {}", error),
            Err(_) => return tracing::warn!("election handshake timed out"),
        };
        let sid = message.sid;
        if sid < 0 || !self.inner.peers.contains_key(&(sid as Sid)) {
            tracing::warn!("Connection request from unknown server {}; closing", sid);
            return;
        }
        let consumed = InitialMessage::parse(&buffer).ok().flatten().map_or(0, |(_, n)| n);
        let leftover = buffer[consumed..].to_vec();
        match keep_election_connection(self.inner.my_id as i64, sid, false) {
            ConnectionDecision::Keep => self.register_with(sid as Sid, stream, leftover),
            ConnectionDecision::Close { dial_back } => {
                drop(stream);
                if dial_back {
                    self.dial(sid as Sid);
                }
            }
        }
    }

    fn register(&self, sid: Sid, stream: TcpStream) {
        self.register_with(sid, stream, Vec::new())
    }

    fn register_with(&self, sid: Sid, stream: TcpStream, leftover: Vec<u8>) {
        let generation = self.inner.generation.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        if let Some(last) = self.inner.last_sent.lock().get(&sid) {
            let _ = tx.send(last.clone());
        }
        // Replacing the old sender ends the old connection's writer.
        self.inner.connections.lock().insert(sid, (generation, tx));
        let (mut read, mut write) = stream.into_split();
        tokio::spawn(async move {
            while let Some(frame) = rx.recv().await {
                if write.write_all(&frame).await.is_err() {
                    break;
                }
            }
        });
        let net = self.clone();
        tokio::spawn(async move {
            let mut buffer = BytesMut::from(&leftover[..]);
            loop {
                while buffer.len() >= 4 {
                    let length = i32::from_be_bytes(buffer[..4].try_into().expect("4 bytes"));
                    if length <= 0 || length as usize > WireNotification::MAX_MESSAGE_SIZE {
                        tracing::warn!("Received packet with invalid packet length {} from {}", length, sid);
                        return net.closed(sid, generation);
                    }
                    if buffer.len() < 4 + length as usize {
                        break;
                    }
                    let frame = buffer.split_to(4 + length as usize);
                    match WireNotification::decode(&frame[4..]).ok().and_then(|n| notification_from_wire(&n))
                    {
                        Some(notification) => {
                            let input = Input::Peer { from: sid, message: Message::Election(notification) };
                            if !deliver(&net.inner.core, input) {
                                return;
                            }
                        }
                        None => tracing::debug!("Skipping an undecodable notification from {}", sid),
                    }
                }
                match read.read_buf(&mut buffer).await {
                    Ok(0) | Err(_) => return net.closed(sid, generation),
                    Ok(_) => {}
                }
            }
        });
    }

    fn closed(&self, sid: Sid, generation: u64) {
        let mut connections = self.inner.connections.lock();
        if connections.get(&sid).is_some_and(|(g, _)| *g == generation) {
            connections.remove(&sid);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Quorum port

/// What a quorum connection writes, in the order sent: packets, and after a SNAP packet the
/// database, which a helper thread may still be serializing (`Later`): the frames sent after it
/// wait for it on the connection, and the core does not.
#[derive(Debug)]
pub enum Frame {
    Now(Vec<u8>),
    /// A packet whose large data field (a PROPOSAL's txn, which every follower is sent) is
    /// shared, not copied: its bytes before the data, the data, its bytes after.
    Split(Vec<u8>, bytes::Bytes, Vec<u8>),
    Later(tokio::sync::oneshot::Receiver<Vec<u8>>),
}

impl Frame {
    /// The frame of a packet ([`zab::wire::write_packet_split`]): its data field shared when
    /// it is large enough to go out as a segment of its own.
    pub fn packet(packet: &jute::quorum::QuorumPacket) -> Frame {
        match zab::wire::write_packet_split(packet, Segments::SMALL) {
            (head, Some(data), tail) => Frame::Split(head, data, tail),
            (whole, None, _) => Frame::Now(whole),
        }
    }
}

#[derive(Debug)]
struct QuorumConnection {
    generation: u64,
    tx: mpsc::UnboundedSender<Frame>,
    tasks: Vec<JoinHandle<()>>,
}

/// The quorum port's connections (to learners while leading, to the leader while following).
#[derive(Debug, Clone)]
pub struct QuorumNet {
    inner: Arc<QuorumInner>,
}

#[derive(Debug)]
struct QuorumInner {
    my_id: Sid,
    peers: HashMap<Sid, PeerAddress>,
    listen_on_all_ips: bool,
    max_packet_bytes: usize,
    core: mpsc::UnboundedSender<CoreMessage>,
    connections: Mutex<HashMap<Sid, QuorumConnection>>,
    listener: Mutex<Option<JoinHandle<()>>>,
    generation: AtomicU64,
}

impl QuorumNet {
    pub fn new(
        my_id: Sid,
        peers: HashMap<Sid, PeerAddress>,
        listen_on_all_ips: bool,
        max_packet_bytes: usize,
        core: mpsc::UnboundedSender<CoreMessage>,
    ) -> QuorumNet {
        QuorumNet {
            inner: Arc::new(QuorumInner {
                my_id,
                peers,
                listen_on_all_ips,
                max_packet_bytes,
                core,
                connections: Mutex::new(HashMap::new()),
                listener: Mutex::new(None),
                generation: AtomicU64::new(1),
            }),
        }
    }

    /// Leader: accept learners on the quorum port (until [`QuorumNet::stop_listening`]).
    pub fn listen(&self) {
        let net = self.clone();
        let me = self.inner.peers[&self.inner.my_id].clone();
        let handle = tokio::spawn(async move {
            let bind = if net.inner.listen_on_all_ips {
                Ok(SocketAddr::from(([0, 0, 0, 0], me.quorum_port)))
            } else {
                resolve(&me.host, me.quorum_port).await
            };
            let listener = loop {
                // The port of a previous term may linger for a moment.
                match bind {
                    Ok(address) => match TcpListener::bind(address).await {
                        Ok(listener) => break listener,
                        Err(error) => {
                            tracing::warn!("cannot bind the quorum port {}: {}", address, error);
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    },
                    Err(ref error) => {
                        tracing::error!("cannot resolve my quorum address: {}", error);
                        return;
                    }
                }
            };
            loop {
                let (stream, remote) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!("quorum accept failed: {}", error);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                tracing::info!("Follower connected from {}", remote);
                let net = net.clone();
                tokio::spawn(async move { net.learner_connected(stream).await });
            }
        });
        if let Some(old) = self.inner.listener.lock().replace(handle) {
            old.abort();
        }
    }

    pub fn stop_listening(&self) {
        if let Some(handle) = self.inner.listener.lock().take() {
            handle.abort();
        }
    }

    async fn learner_connected(&self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let (mut read, write) = stream.into_split();
        let mut buffer = BytesMut::with_capacity(4096);
        // The first packet (FOLLOWERINFO / OBSERVERINFO) names the learner.
        let first = tokio::time::timeout(CONNECT_TIMEOUT, async {
            loop {
                if let Some((packet, used)) = zab::wire::read_packet(&buffer, self.inner.max_packet_bytes)
                    .map_err(|e| std::io::Error::other(format!("{e:?}")))?
                {
                    let _ = buffer.split_to(used);
                    return Ok::<_, std::io::Error>(packet);
                }
                if read.read_buf(&mut buffer).await? == 0 {
                    return Err(std::io::Error::other("closed"));
                }
            }
        })
        .await;
        let packet = match first {
            Ok(Ok(packet)) => packet,
            _ => return,
        };
        if packet.r#type != packet_type::FOLLOWERINFO && packet.r#type != packet_type::OBSERVERINFO {
            tracing::warn!("First packet from a learner is type {}, not FOLLOWERINFO", packet.r#type);
            return;
        }
        let Ok(message) = decode_quorum(packet, Direction::FromLearner) else { return };
        let sid = match &message {
            zab::QuorumMessage::FollowerInfo { sid, .. } | zab::QuorumMessage::ObserverInfo { sid, .. } => {
                *sid
            }
            _ => return,
        };
        if sid < 0 {
            return;
        }
        let sid = sid as Sid;
        let generation = self.inner.generation.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write_loop(write, rx));
        // Registered before the core hears of the learner, so its answer finds the connection;
        // the first packet is handed over before the reader starts, so it arrives first.
        let mut connections = self.inner.connections.lock();
        if !deliver(&self.inner.core, Input::Peer { from: sid, message: Message::Quorum(message) }) {
            return;
        }
        let reader =
            tokio::spawn(self.clone().read_loop(read, buffer, sid, generation, Direction::FromLearner));
        let old = connections.insert(sid, QuorumConnection { generation, tx, tasks: vec![writer, reader] });
        drop(connections);
        if let Some(old) = old {
            for task in old.tasks {
                task.abort();
            }
        }
    }

    /// The channel to `to`'s connection, if one is open.
    pub fn sender(&self, to: Sid) -> Option<mpsc::UnboundedSender<Frame>> {
        self.inner.connections.lock().get(&to).map(|connection| connection.tx.clone())
    }

    /// Sends to `to`; a learner (`dial`) connects to its leader first if it has no connection.
    pub fn send(&self, to: Sid, frame: Frame, dial: bool) {
        let mut connections = self.inner.connections.lock();
        if let Some(connection) = connections.get(&to) {
            let _ = connection.tx.send(frame);
            return;
        }
        if !dial {
            return;
        }
        let generation = self.inner.generation.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(frame);
        let net = self.clone();
        let task = tokio::spawn(async move { net.connect_to_leader(to, generation, rx).await });
        connections.insert(to, QuorumConnection { generation, tx, tasks: vec![task] });
    }

    async fn connect_to_leader(self, leader: Sid, generation: u64, rx: mpsc::UnboundedReceiver<Frame>) {
        let Some(peer) = self.inner.peers.get(&leader).cloned() else { return };
        let connected = async {
            let address = resolve(&peer.host, peer.quorum_port).await?;
            tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address))
                .await
                .map_err(|_| std::io::Error::other("connect timed out"))?
        }
        .await;
        let stream = match connected {
            Ok(stream) => stream,
            Err(error) => {
                tracing::warn!("Unexpected exception, tries=0, connecting to leader {}: {}", leader, error);
                self.closed(leader, generation);
                return;
            }
        };
        let _ = stream.set_nodelay(true);
        let (read, write) = stream.into_split();
        let writer = tokio::spawn(write_loop(write, rx));
        let reader = self.clone().read_loop(
            read,
            BytesMut::with_capacity(4096),
            leader,
            generation,
            Direction::FromLeader,
        );
        reader.await;
        writer.abort();
    }

    async fn read_loop(
        self,
        mut read: tokio::net::tcp::OwnedReadHalf,
        mut buffer: BytesMut,
        peer: Sid,
        generation: u64,
        direction: Direction,
    ) {
        loop {
            loop {
                let parsed = match zab::wire::take_packet(&mut buffer, self.inner.max_packet_bytes) {
                    Ok(parsed) => parsed,
                    Err(error) => {
                        tracing::warn!("Bad quorum packet from {}: {:?}", peer, error);
                        return self.closed(peer, generation);
                    }
                };
                let Some(packet) = parsed else { break };
                let packet_type = packet.r#type;
                let message = match decode_quorum(packet, direction) {
                    Ok(message) => message,
                    Err(error) => {
                        tracing::warn!(
                            "Undecodable quorum packet type {} from {}: {:?}",
                            packet_type,
                            peer,
                            error
                        );
                        return self.closed(peer, generation);
                    }
                };
                let message = match message {
                    zab::QuorumMessage::Snap { zxid, .. } => {
                        // The database follows the packet on the stream.
                        let mut scan = snap::DatabaseStreamScan::default();
                        let length = loop {
                            match scan.advance(&buffer) {
                                Ok(Some(length)) => break length,
                                Ok(None) => {
                                    crate::connection::make_room(&mut buffer);
                                    match read.read_buf(&mut buffer).await {
                                        Ok(0) | Err(_) => return self.closed(peer, generation),
                                        Ok(_) => {}
                                    }
                                }
                                Err(error) => {
                                    tracing::warn!("Bad snapshot from the leader: {}", error);
                                    return self.closed(peer, generation);
                                }
                            }
                        };
                        let snapshot = buffer.split_to(length).freeze();
                        zab::QuorumMessage::Snap { zxid, snapshot }
                    }
                    other => other,
                };
                if let Err(reason) = check_txn(&message) {
                    tracing::warn!("Bad txn from {}: {}", peer, reason);
                    return self.closed(peer, generation);
                }
                if !deliver(&self.inner.core, Input::Peer { from: peer, message: Message::Quorum(message) }) {
                    return;
                }
            }
            crate::connection::make_room(&mut buffer);
            match read.read_buf(&mut buffer).await {
                Ok(0) | Err(_) => return self.closed(peer, generation),
                Ok(_) => {}
            }
        }
    }

    fn closed(&self, peer: Sid, generation: u64) {
        let removed = {
            let mut connections = self.inner.connections.lock();
            if connections.get(&peer).is_some_and(|c| c.generation == generation) {
                connections.remove(&peer)
            } else {
                None
            }
        };
        if removed.is_some() {
            deliver(&self.inner.core, Input::Closed { peer });
        }
    }

    /// Drops the connection to `peer` (the core asked, or leadership ended).
    pub fn close(&self, peer: Sid) {
        if let Some(connection) = self.inner.connections.lock().remove(&peer) {
            for task in connection.tasks {
                task.abort();
            }
        }
    }

    /// Drops every connection.
    pub fn close_all(&self) {
        let all: Vec<QuorumConnection> = self.inner.connections.lock().drain().map(|(_, c)| c).collect();
        for connection in all {
            for task in connection.tasks {
                task.abort();
            }
        }
    }
}

/// Every frame queued by the time the socket is free goes out in one write: under a write load
/// the leader queues a PROPOSAL and a COMMIT per txn per follower, a follower an ACK per txn.
/// Small frames are gathered into one buffer; a large one (a PROPOSAL carrying a 4 KiB value)
/// goes out as a segment of its own (`writev`), so its bytes are not copied once more.
async fn write_loop(mut write: tokio::net::tcp::OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<Frame>) {
    let mut segments = Segments::default();
    // A frame taken off the channel while gathering that has to wait its turn (`Later`).
    let mut held: Option<Frame> = None;
    loop {
        let first = match held.take() {
            Some(frame) => frame,
            None => match rx.recv().await {
                Some(frame) => frame,
                None => return,
            },
        };
        match first {
            Frame::Now(bytes) => segments.push(bytes),
            Frame::Split(head, data, tail) => segments.push_split(head, data, tail),
            // The database of a SNAP: nothing after it may overtake it.
            Frame::Later(pending) => match pending.await {
                Ok(bytes) => segments.push(bytes),
                Err(_) => return,
            },
        }
        while !segments.full() {
            match rx.try_recv() {
                Ok(Frame::Now(frame)) => segments.push(frame),
                Ok(Frame::Split(head, data, tail)) => segments.push_split(head, data, tail),
                Ok(later) => {
                    held = Some(later);
                    break;
                }
                Err(_) => break,
            }
        }
        if segments.write_all(&mut write).await.is_err() {
            return;
        }
    }
}

/// Frames on their way into one vectored write.
#[derive(Default)]
struct Segments {
    queued: Vec<Segment>,
    /// Small frames, copied one after another (kept between writes for its capacity).
    staging: Vec<u8>,
    bytes: usize,
}

enum Segment {
    Frame(Vec<u8>),
    /// A packet's data field, shared with the txn it carries ([`Frame::Split`]).
    Shared(bytes::Bytes),
    /// A run of small frames in `staging`.
    Staged(std::ops::Range<usize>),
}

impl Segments {
    /// Below this a frame is copied next to its neighbours rather than given its own segment.
    const SMALL: usize = 1024;
    /// Gathering stops here: enough for one write, and well under the kernel's iovec limit.
    const MAX_BYTES: usize = 256 * 1024;
    const MAX_SEGMENTS: usize = 64;

    fn push(&mut self, frame: Vec<u8>) {
        if frame.is_empty() {
            return;
        }
        self.bytes += frame.len();
        if frame.len() >= Self::SMALL {
            self.queued.push(Segment::Frame(frame));
            return;
        }
        let start = self.staging.len();
        self.staging.extend_from_slice(&frame);
        match self.queued.last_mut() {
            Some(Segment::Staged(run)) => run.end = self.staging.len(),
            _ => self.queued.push(Segment::Staged(start..self.staging.len())),
        }
    }

    /// A [`Frame::Split`]: the small pieces around the data staged with their neighbours, the
    /// data a segment of its own.
    fn push_split(&mut self, head: Vec<u8>, data: bytes::Bytes, tail: Vec<u8>) {
        self.push(head);
        if data.len() < Self::SMALL {
            self.push(data.to_vec());
        } else {
            self.bytes += data.len();
            self.queued.push(Segment::Shared(data));
        }
        self.push(tail);
    }

    fn full(&self) -> bool {
        self.bytes >= Self::MAX_BYTES || self.queued.len() >= Self::MAX_SEGMENTS
    }

    fn bytes_of<'a>(&'a self, segment: &'a Segment) -> &'a [u8] {
        match segment {
            Segment::Frame(frame) => frame,
            Segment::Shared(data) => data,
            Segment::Staged(run) => &self.staging[run.clone()],
        }
    }

    /// Writes every queued byte, in order, and empties the queue.
    async fn write_all(&mut self, write: &mut tokio::net::tcp::OwnedWriteHalf) -> std::io::Result<()> {
        let mut done = 0; // whole segments written
        let mut written = 0; // bytes of the next segment written
        while done < self.queued.len() {
            let mut slices = [std::io::IoSlice::new(&[]); Self::MAX_SEGMENTS];
            let pending = &self.queued[done..];
            for (slot, (i, segment)) in slices.iter_mut().zip(pending.iter().enumerate()) {
                let bytes = self.bytes_of(segment);
                *slot = std::io::IoSlice::new(if i == 0 { &bytes[written..] } else { bytes });
            }
            let count = pending.len().min(Self::MAX_SEGMENTS);
            let mut n = if count == 1 {
                write.write(&slices[0]).await?
            } else {
                write.write_vectored(&slices[..count]).await?
            };
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            while n > 0 {
                let left = self.bytes_of(&self.queued[done]).len() - written;
                if n >= left {
                    n -= left;
                    done += 1;
                    written = 0;
                } else {
                    written += n;
                    n = 0;
                }
            }
        }
        self.queued.clear();
        self.staging.clear();
        self.bytes = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    /// A connection's write loop over loopback; returns the frame sender and the reading end.
    async fn connection() -> (mpsc::UnboundedSender<Frame>, TcpStream, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (_, write) = server.into_split();
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write_loop(write, rx));
        (tx, client, writer)
    }

    #[test]
    fn a_txn_from_the_leader_must_decode_under_its_packets_zxid() {
        use jute::txn::{SetDataTxn, TxnBody, TxnHeader};
        let header = TxnHeader {
            client_id: 1,
            cxid: 2,
            zxid: 0x1_0000_0005,
            time: 3,
            r#type: jute::consts::op::SET_DATA,
        };
        let body = TxnBody::SetData(SetDataTxn {
            path: "/a".into(),
            data: Some(bytes::Bytes::from_static(b"x")),
            version: 1,
        });
        let data = bytes::Bytes::from(wal::txnlog::encode_payload(&header, &body, None));
        let proposal = |zxid: i64, data: bytes::Bytes| zab::QuorumMessage::Proposal {
            txn: zab::Txn { zxid: zab::Zxid(zxid), data },
        };
        assert_eq!(check_txn(&proposal(0x1_0000_0005, data.clone())), Ok(()));
        let inform = zab::QuorumMessage::Inform {
            txn: zab::Txn { zxid: zab::Zxid(0x1_0000_0005), data: data.clone() },
        };
        assert_eq!(check_txn(&inform), Ok(()));
        assert!(check_txn(&proposal(0x1_0000_0006, data.clone())).is_err(), "zxid differs from the header's");
        assert!(check_txn(&proposal(0x1_0000_0005, data.slice(..data.len() - 3))).is_err(), "truncated");
        assert!(check_txn(&proposal(0x1_0000_0005, bytes::Bytes::from_static(b"junk"))).is_err());
        assert_eq!(check_txn(&zab::QuorumMessage::Commit { zxid: zab::Zxid(7) }), Ok(()));
    }

    #[tokio::test]
    async fn frames_of_every_size_arrive_whole_and_in_order() {
        let (tx, mut client, _writer) = connection().await;
        // Sizes around the gathering threshold and far past a socket buffer, so that writes
        // end part-way through a segment; sent before anything is read.
        let sizes = [1usize, 0, 1023, 1024, 1025, 4096, 70_000, 17, 300_000, 2, 5];
        let mut expected = Vec::new();
        for round in 0..40usize {
            for (i, size) in sizes.iter().enumerate() {
                let frame: Vec<u8> = (0..*size).map(|b| (b + i + round) as u8).collect();
                expected.extend_from_slice(&frame);
                if (i + round) % 3 == 0 && frame.len() >= 3 {
                    // Split around a shared middle, as a PROPOSAL's txn is sent.
                    let (head, rest) = frame.split_at(2);
                    let (data, tail) = rest.split_at(rest.len() - 1);
                    tx.send(Frame::Split(head.to_vec(), bytes::Bytes::copy_from_slice(data), tail.to_vec()))
                        .unwrap();
                } else {
                    tx.send(Frame::Now(frame)).unwrap();
                }
            }
        }
        let mut received = vec![0u8; expected.len()];
        tokio::time::timeout(Duration::from_secs(30), client.read_exact(&mut received))
            .await
            .unwrap()
            .unwrap();
        assert!(received == expected, "the stream differs from the frames sent");
    }

    #[test]
    fn small_frames_are_gathered_and_large_ones_keep_their_own_segment() {
        let mut segments = Segments::default();
        for frame in
            [vec![1u8; 10], vec![2; 20], vec![3; 4096], vec![4; 30], vec![5; 1023], vec![], vec![6; 1024]]
        {
            segments.push(frame);
        }
        let lengths: Vec<usize> = segments.queued.iter().map(|s| segments.bytes_of(s).len()).collect();
        assert_eq!(lengths, [30, 4096, 1053, 1024]);
        assert_eq!(segments.bytes, 30 + 4096 + 1053 + 1024);
        // A split frame: its small pieces join the runs around them, a large data field is a
        // segment of its own, shared with the caller's buffer; a small one is copied.
        let data = bytes::Bytes::from(vec![7u8; 2048]);
        segments.push_split(vec![8; 16], data.clone(), vec![9; 4]);
        segments.push_split(vec![10; 16], bytes::Bytes::from(vec![11u8; 100]), vec![12; 4]);
        let lengths: Vec<usize> = segments.queued.iter().map(|s| segments.bytes_of(s).len()).collect();
        assert_eq!(lengths, [30, 4096, 1053, 1024, 16, 2048, 4 + 16 + 100 + 4]);
        assert!(matches!(&segments.queued[5], Segment::Shared(shared) if shared.as_ptr() == data.as_ptr()));
        assert_eq!(segments.bytes, 30 + 4096 + 1053 + 1024 + 16 + 2048 + 124);
        assert!(!segments.full());
        for _ in 0..Segments::MAX_SEGMENTS {
            segments.push(vec![7; 2048]);
        }
        assert!(segments.full());
    }

    #[tokio::test]
    async fn frames_after_a_database_still_being_serialized_wait_for_it() {
        let (tx, mut client, _writer) = connection().await;
        let (database, pending) = tokio::sync::oneshot::channel();
        tx.send(Frame::Now(b"snap|".to_vec())).unwrap();
        tx.send(Frame::Later(pending)).unwrap();
        tx.send(Frame::Now(b"proposal|".to_vec())).unwrap();
        tx.send(Frame::Now(b"commit|".to_vec())).unwrap();
        let mut received = vec![0u8; 5];
        client.read_exact(&mut received).await.unwrap();
        assert_eq!(received, b"snap|");
        // Nothing overtakes the database while it is being made.
        let early = tokio::time::timeout(Duration::from_millis(100), client.read_u8()).await;
        assert!(early.is_err(), "a frame left before the database: {early:?}");
        database.send(b"database|".to_vec()).unwrap();
        let mut rest = vec![0u8; b"database|proposal|commit|".len()];
        client.read_exact(&mut rest).await.unwrap();
        assert_eq!(rest, b"database|proposal|commit|");
    }

    #[tokio::test]
    async fn a_database_that_never_comes_closes_the_connection() {
        let (tx, mut client, writer) = connection().await;
        let (database, pending) = tokio::sync::oneshot::channel::<Vec<u8>>();
        tx.send(Frame::Now(b"snap|".to_vec())).unwrap();
        tx.send(Frame::Later(pending)).unwrap();
        tx.send(Frame::Now(b"proposal|".to_vec())).unwrap();
        drop(database);
        tokio::time::timeout(Duration::from_secs(5), writer).await.unwrap().unwrap();
        let mut received = Vec::new();
        client.read_to_end(&mut received).await.unwrap();
        assert_eq!(received, b"snap|", "the stream ends after the SNAP packet");
    }
}
