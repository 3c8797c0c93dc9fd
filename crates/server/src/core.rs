//! The request pipeline: one task owns the tree, the sessions and every connection's reply queue.
//!
//! A write is prepped into a txn against the tree plus pending changes, handed to the persister,
//! and applied only once the persister reports it durable; its watch events are queued before its
//! reply. Replies leave each connection in request order: a read that arrives behind a pending
//! write of the same connection is evaluated only after that write was applied, so a client
//! always reads its own writes.

use crate::reply::{bare_frame, header_reply, notification_frame, record_reply};
use crate::session_id::{session_password, session_password_matches, SessionIdGenerator};
use crate::sessions::SessionTracker;
use crate::settings::Settings;
use crate::stats::{ConnectionStats, ServerStats};
use datatree::acl::AuthInfo;
use datatree::prep::{standalone_session_check, PendingChanges, PrepContext, Prepared, SessionCheck};
use datatree::tree::{ApplyOutcome, TxnResult};
use datatree::DataTree;
use foldhash::{HashMap, HashMapExt};
use jute::consts::{err, op};
use jute::proto::*;
use jute::records::Id;
use jute::request::{Request, RequestError};
use jute::txn::{TxnBody, TxnDigest, TxnHeader};
use jute::Bytes;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

#[path = "quorum/glue.rs"]
mod quorum_glue;
pub use quorum_glue::QuorumView;

pub type ConnectionId = u64;

/// What the core hands a connection's writer.
#[derive(Debug)]
pub enum Outgoing {
    /// A complete frame, length prefix included.
    Frame(Vec<u8>),
    /// Flush what came before, then close.
    Close,
}

pub type Outbound = mpsc::UnboundedSender<Outgoing>;

/// Events the core reacts to.
#[derive(Debug)]
pub enum CoreMessage {
    Connect {
        conn: ConnectionId,
        remote: SocketAddr,
        request: ConnectRequest,
        outbound: Outbound,
        /// Answered true once the session is established, false if the connection must close.
        established: oneshot::Sender<bool>,
    },
    Request {
        conn: ConnectionId,
        header: RequestHeader,
        body: Result<Request, RequestError>,
    },
    Closed {
        conn: ConnectionId,
    },
    FourLetter {
        word: String,
        remote: SocketAddr,
        reply: oneshot::Sender<String>,
    },
    /// An AdminServer command or a /metrics scrape, answered from the same view as a 4lw.
    Operator {
        request: crate::admin::OperatorRequest,
        reply: oneshot::Sender<String>,
    },
    /// Every txn up to this zxid is on disk.
    Durable {
        zxid: i64,
    },
    /// Standalone: the txn log failed (a full disk, EIO); no txn still in flight will be durable.
    LogFailed,
    Tick,
    /// Quorum mode: a peer message, a timer, a completed persist.
    Quorum(crate::quorum::Input),
}

/// Where an in-flight txn came from, i.e. who gets told when it is applied.
#[derive(Debug)]
enum Origin {
    Request {
        conn: ConnectionId,
        xid: i32,
        opcode: i32,
        received: Instant,
    },
    Connect {
        conn: ConnectionId,
        timeout_ms: i32,
        read_only: Option<bool>,
        established: oneshot::Sender<bool>,
    },
    Internal,
}

#[derive(Debug)]
struct InFlight {
    header: TxnHeader,
    body: TxnBody,
    origin: Origin,
}

/// A request waiting its turn on a connection.
#[derive(Debug)]
enum Queued {
    /// A write whose txn is in flight; its reply is produced when applied.
    Write { zxid: i64 },
    /// A read or local op to evaluate when everything before it is done.
    Deferred { header: RequestHeader, request: Request, received: Instant },
    /// An error reply to send in order, then close the connection.
    Fatal { xid: i32, err: i32 },
    /// An error reply to send in order.
    Error { xid: i32, err: i32 },
    /// Quorum learner: a write or sync forwarded to the leader, answered when it commits.
    Remote { cxid: i32 },
}

#[derive(Debug)]
struct Connection {
    outbound: Outbound,
    remote: SocketAddr,
    session_id: i64,
    timeout_ms: i32,
    /// Shared with each request's prep or read: the list changes only on an auth packet.
    auth: Arc<AuthInfo>,
    queue: VecDeque<Queued>,
    stats: ConnectionStats,
    established_at_ms: i64,
}

/// The persister: takes txns in zxid order and reports them durable.
pub trait Persister: Send {
    /// `digest`: the TxnDigest to log after the txn (digest.enabled, not an error txn).
    fn persist(&mut self, header: &TxnHeader, body: &TxnBody, digest: Option<&TxnDigest>);
    /// Called after every batch of durable txns is applied: the moment a snapshot can freeze
    /// the tree (`DataTree::snapshot_view`, O(1)).
    fn applied(&mut self, _tree: &DataTree) {}
    /// Why the disk can take no more txns, once a write or fsync failed.
    fn failure(&self) -> Option<String> {
        None
    }
}

/// No disk yet (issue 3): a txn is durable as soon as it is queued, reported back through the
/// core's own channel so the apply path is already the one a real log uses.
#[derive(Debug)]
pub struct MemoryPersister {
    core: mpsc::UnboundedSender<CoreMessage>,
}

impl MemoryPersister {
    pub fn new(core: mpsc::UnboundedSender<CoreMessage>) -> Self {
        MemoryPersister { core }
    }
}

impl Persister for MemoryPersister {
    fn persist(&mut self, header: &TxnHeader, _body: &TxnBody, _digest: Option<&TxnDigest>) {
        let _ = self.core.send(CoreMessage::Durable { zxid: header.zxid });
    }
}

pub struct Core {
    settings: Arc<Settings>,
    tree: DataTree,
    pending: PendingChanges,
    last_proposed_zxid: i64,
    sessions: SessionTracker,
    session_ids: SessionIdGenerator,
    connections: HashMap<ConnectionId, Connection>,
    connection_of_session: HashMap<i64, ConnectionId>,
    in_flight: VecDeque<InFlight>,
    persister: Box<dyn Persister>,
    started: Instant,
    stats: Arc<ServerStats>,
    last_container_check: Instant,
    /// Quorum mode: the Zab node and its drivers (None when standalone).
    quorum: Option<Box<quorum_glue::QuorumSide>>,
}

fn wall_clock_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Core {
    pub fn new(settings: Arc<Settings>, persister: Box<dyn Persister>, stats: Arc<ServerStats>) -> Core {
        let started = Instant::now();
        let monotonic_ms = started.elapsed().as_millis() as u64 + wall_clock_ms() as u64;
        Core {
            sessions: SessionTracker::new(settings.tick_time_ms),
            session_ids: SessionIdGenerator::new(settings.server_id, monotonic_ms),
            settings,
            tree: DataTree::new(),
            pending: PendingChanges::default(),
            last_proposed_zxid: 0,
            connections: HashMap::new(),
            connection_of_session: HashMap::new(),
            in_flight: VecDeque::new(),
            persister,
            started,
            stats,
            last_container_check: Instant::now(),
            quorum: None,
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Starts from a tree recovered from disk: zxids continue after its last one, and its
    /// sessions live on for their timeout, so a client reconnecting in time keeps its session.
    pub fn restore(&mut self, tree: DataTree) {
        self.last_proposed_zxid = tree.last_processed_zxid();
        let now_ms = self.now_ms();
        for (session_id, timeout_ms) in tree.sessions() {
            self.sessions.add(session_id, timeout_ms, now_ms);
        }
        self.tree = tree;
    }

    pub fn handle(&mut self, message: CoreMessage) {
        match message {
            CoreMessage::Connect { conn, remote, request, outbound, established } => {
                self.on_connect(conn, remote, request, outbound, established)
            }
            CoreMessage::Request { conn, header, body } => self.on_request(conn, header, body),
            CoreMessage::Closed { conn } => self.on_closed(conn),
            CoreMessage::FourLetter { word, remote, reply } => {
                let _ = reply.send(self.four_letter(&word, remote));
            }
            CoreMessage::Operator { request, reply } => {
                let _ = reply.send(self.operator(&request));
            }
            CoreMessage::Durable { zxid } => self.on_durable(zxid),
            CoreMessage::LogFailed => self.on_log_failed(),
            CoreMessage::Tick => self.on_tick(),
            CoreMessage::Quorum(input) => self.on_quorum(input),
        }
    }

    // ---- connections and sessions ----

    fn on_connect(
        &mut self,
        conn: ConnectionId,
        remote: SocketAddr,
        request: ConnectRequest,
        outbound: Outbound,
        established: oneshot::Sender<bool>,
    ) {
        // A quorum member without a leader (or quorum) takes no sessions, as Java's
        // "ZooKeeperServer not running".
        if !self.serving() {
            let _ = established.send(false);
            return;
        }
        // A client that has seen a newer zxid than ours must look elsewhere: close, no reply.
        if request.last_zxid_seen > self.tree.last_processed_zxid() {
            tracing::info!(
                "Refusing session request for client {} as it has seen zxid 0x{:x} our last zxid is 0x{:x}",
                remote,
                request.last_zxid_seen,
                self.tree.last_processed_zxid()
            );
            let _ = established.send(false);
            return;
        }
        let timeout_ms = self.settings.negotiate_timeout(request.time_out);
        let mut auth = AuthInfo { ids: Vec::new(), skip_acl: self.settings.skip_acl };
        auth.ids.push(Id::new("ip", remote.ip().to_string()));
        self.connections.insert(
            conn,
            Connection {
                outbound,
                remote,
                session_id: 0,
                timeout_ms,
                auth: Arc::new(auth),
                queue: VecDeque::new(),
                stats: ConnectionStats::default(),
                established_at_ms: wall_clock_ms(),
            },
        );
        self.stats.connection_opened();
        if request.session_id == 0 && self.persister.failure().is_some() {
            // A new session needs a createSession txn, which the failed log cannot take.
            tracing::warn!("Refusing a new session from {}: the txn log failed", remote);
            self.on_closed(conn);
            let _ = established.send(false);
            return;
        }
        if request.session_id == 0 && self.is_learner() {
            let read_only = request.read_only;
            self.forward_create_session(quorum_glue::PendingConnectArgs {
                conn,
                timeout_ms,
                read_only,
                established,
            });
            return;
        }
        if request.session_id == 0 {
            let session_id = self.session_ids.next_id();
            tracing::debug!("Creating new session 0x{:x} for client {}", session_id, remote);
            let header = self.next_header(session_id, 0, op::CREATE_SESSION);
            let body = TxnBody::CreateSession(jute::txn::CreateSessionTxn { time_out: timeout_ms });
            debug_assert_eq!(header.r#type, op::CREATE_SESSION);
            self.sessions.add(session_id, timeout_ms, self.now_ms());
            self.propose(
                header,
                body,
                Origin::Connect { conn, timeout_ms, read_only: request.read_only, established },
            );
            return;
        }
        let session_id = request.session_id;
        // Java closes the session's current connection before it even checks the password.
        if let Some(old) = self.connection_of_session.remove(&session_id) {
            if old != conn {
                self.close_connection(old);
            }
        }
        if self.is_learner() && session_password_matches(session_id, &request.passwd) {
            let read_only = request.read_only;
            self.revalidate(
                session_id,
                quorum_glue::PendingConnectArgs { conn, timeout_ms, read_only, established },
            );
            return;
        }
        let valid = session_password_matches(session_id, &request.passwd)
            && self.sessions.is_live(session_id)
            && self.tree_has_session(session_id);
        self.finish_reconnect(conn, session_id, valid, timeout_ms, request.read_only, established);
    }

    /// Answers a reconnect once its session is known valid or not.
    fn finish_reconnect(
        &mut self,
        conn: ConnectionId,
        session_id: i64,
        valid: bool,
        timeout_ms: i32,
        read_only: Option<bool>,
        established: oneshot::Sender<bool>,
    ) {
        if !self.connections.contains_key(&conn) {
            let _ = established.send(false);
            return;
        }
        let remote = self.connections.get(&conn).map(|c| c.remote.to_string()).unwrap_or_default();
        if valid {
            self.sessions.touch(session_id, self.now_ms());
            self.connection_of_session.insert(session_id, conn);
            if let Some(c) = self.connections.get_mut(&conn) {
                c.session_id = session_id;
            }
            tracing::info!("Reconnected session 0x{:x} for client {}", session_id, remote);
        } else {
            tracing::info!("Invalid session 0x{:x} for client {}, probably expired", session_id, remote);
        }
        let response = ConnectResponse {
            protocol_version: 0,
            time_out: if valid { timeout_ms } else { 0 },
            session_id: if valid { session_id } else { 0 },
            passwd: Bytes::copy_from_slice(&if valid { session_password(session_id) } else { [0; 16] }),
            read_only: read_only.map(|_| false),
        };
        self.send(conn, bare_frame(&response));
        if !valid {
            self.send_close(conn);
        }
        let _ = established.send(valid);
    }

    fn tree_has_session(&self, session_id: i64) -> bool {
        self.tree.session_timeout(session_id).is_some()
    }

    fn on_closed(&mut self, conn: ConnectionId) {
        if let Some(connection) = self.connections.remove(&conn) {
            self.stats.connection_closed();
            if connection.session_id != 0 {
                tracing::info!(
                    "Closed socket connection for client {} which had sessionid 0x{:x}",
                    connection.remote,
                    connection.session_id
                );
            }
            self.tree.remove_watcher(conn);
            if self.connection_of_session.get(&connection.session_id) == Some(&conn) {
                self.connection_of_session.remove(&connection.session_id);
            }
        }
    }

    fn close_connection(&mut self, conn: ConnectionId) {
        self.send_close(conn);
        self.on_closed(conn);
    }

    fn send(&mut self, conn: ConnectionId, frame: Vec<u8>) {
        if let Some(connection) = self.connections.get_mut(&conn) {
            connection.stats.sent += 1;
            self.stats.packet_sent(frame.len().saturating_sub(4) as u64);
            let _ = connection.outbound.send(Outgoing::Frame(frame));
        }
    }

    fn send_close(&mut self, conn: ConnectionId) {
        if let Some(connection) = self.connections.get(&conn) {
            let _ = connection.outbound.send(Outgoing::Close);
        }
    }

    // ---- requests ----

    fn on_request(&mut self, conn: ConnectionId, header: RequestHeader, body: Result<Request, RequestError>) {
        let received = Instant::now();
        let now_ms = self.now_ms();
        let Some(connection) = self.connections.get_mut(&conn) else { return };
        connection.stats.received += 1;
        self.stats.packet_received();
        let session_id = connection.session_id;
        let timeout_ms = connection.timeout_ms;
        self.sessions.touch(session_id, now_ms);
        if self.is_learner() {
            self.touch_remote_session(session_id, timeout_ms);
        }
        let request = match body {
            Ok(request) => request,
            Err(RequestError::UnknownOpcode(_)) => {
                self.enqueue(conn, Queued::Fatal { xid: header.xid, err: err::UNIMPLEMENTED });
                return;
            }
            // Java fails to deserialize such a multi: an undecodable write.
            Err(RequestError::InvalidMultiOp { opcode }) => {
                tracing::warn!("Multi from session 0x{:x} holds an op it cannot: {}", session_id, opcode);
                self.on_undecodable(conn, header, received);
                return;
            }
            Err(RequestError::Malformed(e)) => {
                tracing::warn!("Malformed request from session 0x{:x}: {}", session_id, e);
                self.on_undecodable(conn, header, received);
                return;
            }
        };
        if let Some(c) = self.connections.get_mut(&conn) {
            c.stats.last_op = header.r#type;
            c.stats.last_cxid = header.xid;
        }
        match request {
            // Auth is answered at once, outside the reply order, as Java does.
            Request::Auth(packet) => self.on_auth(conn, header.xid, packet),
            request
                if self.is_learner()
                    && (datatree::prep::is_write(&request) || matches!(request, Request::Sync(_))) =>
            {
                if self.persister.failure().is_none() {
                    self.forward_write(conn, header, &request, received);
                }
            }
            request if datatree::prep::is_write(&request) => {
                self.submit_write(conn, header, request, received)
            }
            request => {
                let queue_empty = self.connections.get(&conn).is_some_and(|c| c.queue.is_empty());
                if queue_empty {
                    self.evaluate(conn, header, request, received);
                } else {
                    self.enqueue(conn, Queued::Deferred { header, request, received });
                }
            }
        }
    }

    /// Java reads a write's body after creating its txn header, so an undecodable write still
    /// consumes a zxid (an error txn MarshallingError); any other request just gets that error.
    fn on_undecodable(&mut self, conn: ConnectionId, header: RequestHeader, received: Instant) {
        if self.is_learner() {
            // Deviation: a learner answers an undecodable request itself instead of forwarding it.
            self.enqueue(conn, Queued::Error { xid: header.xid, err: err::MARSHALLING_ERROR });
            return;
        }
        let Some(connection) = self.connections.get(&conn) else { return };
        let session_id = connection.session_id;
        let auth = connection.auth.clone();
        let opcode = header.r#type;
        let prepared = self.prepare(session_id, header.xid, &auth, false, |_, _, context| {
            datatree::prep::prep_undecodable(context, opcode)
        });
        match prepared {
            Some(prepared) => self.propose_for(conn, header, received, prepared),
            None => self.enqueue(conn, Queued::Error { xid: header.xid, err: err::MARSHALLING_ERROR }),
        }
    }

    fn enqueue(&mut self, conn: ConnectionId, item: Queued) {
        if let Some(connection) = self.connections.get_mut(&conn) {
            connection.queue.push_back(item);
        }
        self.drain_queue(conn);
    }

    fn on_auth(&mut self, conn: ConnectionId, xid: i32, packet: AuthPacket) {
        let super_digest = self.settings.super_digest.clone();
        match datatree::acl::authenticate(&packet.scheme, &packet.auth, super_digest.as_deref()) {
            Ok(ids) => {
                if let Some(connection) = self.connections.get_mut(&conn) {
                    for id in ids {
                        Arc::make_mut(&mut connection.auth).add_id(id);
                    }
                }
                self.send(conn, header_reply(xid, 0, err::OK));
            }
            Err(code) => {
                self.stats.auth_failed();
                self.send(conn, header_reply(xid, 0, code));
                self.close_connection(conn);
            }
        }
    }

    fn next_header(&mut self, session_id: i64, cxid: i32, txn_type: i32) -> TxnHeader {
        self.last_proposed_zxid += 1;
        TxnHeader {
            client_id: session_id,
            cxid,
            zxid: self.last_proposed_zxid,
            time: wall_clock_ms(),
            r#type: txn_type,
        }
    }

    fn submit_write(
        &mut self,
        conn: ConnectionId,
        header: RequestHeader,
        request: Request,
        received: Instant,
    ) {
        if self.persister.failure().is_some() {
            // The txn log failed: no write can be made durable, so none is taken.
            self.enqueue(conn, Queued::Error { xid: header.xid, err: err::NOT_READ_ONLY });
            return;
        }
        let Some(connection) = self.connections.get(&conn) else { return };
        let session_id = connection.session_id;
        let auth = connection.auth.clone();
        let closing_itself = matches!(request, Request::CloseSession);
        let prepared =
            self.prepare(session_id, header.xid, &auth, closing_itself, |tree, pending, context| {
                Some(match &request {
                    // A client cannot issue the container manager's op: Java answers BadArguments.
                    Request::DeleteContainer(_) => datatree::prep::prep_client_delete_container(context),
                    request => datatree::prep::prep_write(tree, pending, context, request),
                })
            });
        let Some(prepared) = prepared else { return };
        if closing_itself {
            self.sessions.set_closing(session_id);
        }
        self.propose_for(conn, header, received, prepared);
    }

    fn propose_for(
        &mut self,
        conn: ConnectionId,
        header: RequestHeader,
        received: Instant,
        prepared: Prepared,
    ) {
        if let Some(c) = self.connections.get_mut(&conn) {
            c.queue.push_back(Queued::Write { zxid: prepared.header.zxid });
        }
        let origin = Origin::Request { conn, xid: header.xid, opcode: header.r#type, received };
        self.propose(prepared.header, prepared.body, origin);
    }

    /// Preps a write into a txn carrying the next zxid, against the tree plus pending changes.
    fn prepare(
        &mut self,
        session_id: i64,
        cxid: i32,
        auth: &AuthInfo,
        closing_itself: bool,
        prep: impl FnOnce(&DataTree, &mut PendingChanges, &PrepContext<'_>) -> Option<Prepared>,
    ) -> Option<Prepared> {
        let sessions = &self.sessions;
        let check_session = |id: i64, check: SessionCheck| {
            let entry = sessions.get(id);
            // A session that is being closed may still close itself.
            let closing = entry.is_some_and(|e| e.closing) && !(closing_itself && id == session_id);
            standalone_session_check(entry.is_some(), closing, check)
        };
        let context = PrepContext {
            session_id,
            cxid,
            zxid: self.last_proposed_zxid + 1,
            time_ms: wall_clock_ms(),
            auth,
            extended_types_enabled: self.settings.extended_types_enabled,
            enforce_quota: self.settings.enforce_quota,
            check_session: &check_session,
        };
        let prepared = prep(&self.tree, &mut self.pending, &context)?;
        self.last_proposed_zxid = prepared.header.zxid;
        Some(prepared)
    }

    fn propose(&mut self, header: TxnHeader, body: TxnBody, origin: Origin) {
        self.last_proposed_zxid = self.last_proposed_zxid.max(header.zxid);
        // The tree digest this txn leaves, worked out now from the pending changes (Java's
        // precalculated digest): logged after the txn, and proposed with it so followers log
        // and check it too.
        let digest = if self.settings.storage.digest_enabled {
            self.pending.txn_digest(&self.tree, &header, &body)
        } else {
            self.pending.forget_tree_reads();
            None
        };
        if self.is_quorum() {
            self.zab_propose(header, body, digest, origin);
            return;
        }
        self.persister.persist(&header, &body, digest.as_ref());
        self.in_flight.push_back(InFlight { header, body, origin });
    }

    fn on_durable(&mut self, zxid: i64) {
        while self.in_flight.front().is_some_and(|txn| txn.header.zxid <= zxid) {
            let Some(txn) = self.in_flight.pop_front() else { break };
            self.apply(txn);
        }
        self.persister.applied(&self.tree);
    }

    /// The txns in flight will never be durable, so never applied: their writers' connections
    /// close (the client sees ConnectionLoss, the outcome unknown, as when Java's server exits on
    /// a log failure) instead of waiting forever for a reply, with every request queued behind
    /// it. The sessions stay: a client that reconnects reads, and its writes are refused.
    fn on_log_failed(&mut self) {
        self.pending.clear();
        for txn in std::mem::take(&mut self.in_flight) {
            match txn.origin {
                Origin::Request { conn, .. } => self.close_connection(conn),
                Origin::Connect { established, .. } => {
                    let _ = established.send(false);
                }
                Origin::Internal => {}
            }
        }
    }

    fn apply(&mut self, txn: InFlight) {
        let ApplyOutcome { result, events } = self.tree.apply(&txn.header, &txn.body);
        self.stats.txn_applied(txn.header.zxid, self.tree.digest());
        self.pending.note_applied(txn.header.zxid);
        for notification in events {
            let frame = notification_frame(&notification.event);
            for watcher in &notification.watchers {
                let visible = self.connections.get(watcher).is_some_and(|c| notification.visible_to(&c.auth));
                if visible {
                    self.send(*watcher, frame.clone());
                }
            }
        }
        match &txn.body {
            TxnBody::CloseSession(_) => {
                self.sessions.remove(txn.header.client_id);
                if let Some(conn) = self.connection_of_session.remove(&txn.header.client_id) {
                    // The reply to closeSession is produced below; the connection closes after it.
                    if !matches!(txn.origin, Origin::Request { conn: c, .. } if c == conn) {
                        self.close_connection(conn);
                    }
                }
            }
            TxnBody::CreateSession(_) => {}
            _ => {}
        }
        match txn.origin {
            Origin::Internal => {}
            Origin::Connect { conn, timeout_ms, read_only, established } => {
                let session_id = txn.header.client_id;
                let alive = self.connections.contains_key(&conn);
                if alive {
                    self.connection_of_session.insert(session_id, conn);
                    if let Some(c) = self.connections.get_mut(&conn) {
                        c.session_id = session_id;
                    }
                    let response = ConnectResponse {
                        protocol_version: 0,
                        time_out: timeout_ms,
                        session_id,
                        passwd: Bytes::copy_from_slice(&session_password(session_id)),
                        read_only: read_only.map(|_| false),
                    };
                    self.send(conn, bare_frame(&response));
                    tracing::info!(
                        "Established session 0x{:x} with negotiated timeout {} for client {}",
                        session_id,
                        timeout_ms,
                        self.connections.get(&conn).map(|c| c.remote.to_string()).unwrap_or_default()
                    );
                }
                let _ = established.send(alive);
            }
            Origin::Request { conn, xid, opcode, received } => {
                let frame = self.write_reply(xid, opcode, txn.header.zxid, &result);
                let close_after = opcode == op::CLOSE_SESSION;
                if let Some(connection) = self.connections.get_mut(&conn) {
                    let answers_front = match connection.queue.front() {
                        Some(Queued::Write { zxid }) => *zxid == txn.header.zxid,
                        Some(Queued::Remote { cxid }) => *cxid == xid,
                        _ => false,
                    };
                    if answers_front {
                        connection.queue.pop_front();
                    }
                    connection.stats.last_zxid = txn.header.zxid;
                }
                self.record_latency(conn, opcode, received);
                // Java's FinalRequestProcessor has no answer for a standalone check that passed:
                // the txn is logged and applied, the client hears nothing. A failed one gets its error.
                if opcode != op::CHECK || result.err != err::OK {
                    self.send(conn, frame);
                }
                if close_after {
                    self.close_connection(conn);
                } else {
                    self.drain_queue(conn);
                }
            }
        }
    }

    fn write_reply(&self, xid: i32, opcode: i32, zxid: i64, result: &TxnResult) -> Vec<u8> {
        if opcode == op::MULTI {
            return record_reply(
                xid,
                zxid,
                &jute::request::MultiResponse { results: result.multi_op_results() },
            );
        }
        if result.err != err::OK {
            return header_reply(xid, zxid, result.err);
        }
        let stat = result.stat.clone().unwrap_or_default();
        match opcode {
            op::CREATE => record_reply(xid, zxid, &CreateResponse { path: result.path.clone() }),
            op::CREATE2 | op::CREATE_TTL | op::CREATE_CONTAINER => {
                record_reply(xid, zxid, &Create2Response { path: result.path.clone(), stat })
            }
            op::SET_DATA => record_reply(xid, zxid, &SetDataResponse { stat }),
            op::SET_ACL => record_reply(xid, zxid, &SetAclResponse { stat }),
            _ => header_reply(xid, zxid, err::OK),
        }
    }

    fn record_latency(&mut self, conn: ConnectionId, opcode: i32, received: Instant) {
        let elapsed = received.elapsed();
        let latency_ms = elapsed.as_millis() as u64;
        self.stats.record_request(opcode, elapsed);
        if let Some(connection) = self.connections.get_mut(&conn) {
            connection.stats.record_latency(latency_ms);
        }
    }

    /// Sends, in order, every queued item at the head of the connection that can complete now.
    fn drain_queue(&mut self, conn: ConnectionId) {
        loop {
            let Some(connection) = self.connections.get_mut(&conn) else { return };
            match connection.queue.front() {
                None | Some(Queued::Write { .. }) | Some(Queued::Remote { .. }) => return,
                Some(_) => {}
            }
            match connection.queue.pop_front() {
                Some(Queued::Deferred { header, request, received }) => {
                    self.evaluate(conn, header, request, received);
                }
                Some(Queued::Error { xid, err }) => {
                    let zxid = self.tree.last_processed_zxid();
                    self.send(conn, header_reply(xid, zxid, err));
                }
                Some(Queued::Fatal { xid, err }) => {
                    // Java answers an unknown opcode before it knows any zxid: -1.
                    self.send(conn, header_reply(xid, -1, err));
                    self.close_connection(conn);
                    return;
                }
                _ => return,
            }
        }
    }

    /// Answers a read or local op against the tree as it is now.
    fn evaluate(&mut self, conn: ConnectionId, header: RequestHeader, request: Request, received: Instant) {
        let Some(connection) = self.connections.get(&conn) else { return };
        let auth = connection.auth.clone();
        let session_id = connection.session_id;
        let xid = header.xid;
        let tree = &mut self.tree;
        let zxid = tree.last_processed_zxid();
        let watcher = conn;
        let mut notifications = Vec::new();
        let frame = match request {
            Request::Ping => header_reply(xid, zxid, err::OK),
            Request::GetData(r) => reply_or_error(
                xid,
                zxid,
                datatree::read::get_data(tree, &r.path, &auth, r.watch.then_some(watcher)),
            ),
            Request::Exists(r) => reply_or_error(
                xid,
                zxid,
                datatree::read::exists(tree, &r.path, &auth, r.watch.then_some(watcher)),
            ),
            Request::GetChildren(r) => reply_or_error(
                xid,
                zxid,
                datatree::read::get_children(tree, &r.path, &auth, r.watch.then_some(watcher)),
            ),
            Request::GetChildren2(r) => reply_or_error(
                xid,
                zxid,
                datatree::read::get_children2(tree, &r.path, &auth, r.watch.then_some(watcher)),
            ),
            Request::GetAcl(r) => reply_or_error(xid, zxid, datatree::read::get_acl(tree, &r.path, &auth)),
            Request::GetAllChildrenNumber(r) => {
                reply_or_error(xid, zxid, datatree::read::get_all_children_number(tree, &r.path, &auth))
            }
            Request::GetEphemerals(r) => {
                record_reply(xid, zxid, &datatree::read::get_ephemerals(tree, session_id, &r.prefix_path))
            }
            Request::MultiRead(ops) => {
                let response = datatree::read::multi_read(tree, &ops, &auth);
                record_reply(xid, zxid, &response)
            }
            Request::WhoAmI => {
                record_reply(xid, zxid, &WhoAmIResponse { client_info: datatree::acl::client_infos(&auth) })
            }
            Request::Sync(r) => record_reply(xid, zxid, &SyncResponse { path: r.path }),
            Request::SetWatches(w) => {
                notifications = tree.set_watches(
                    w.relative_zxid,
                    &w.data_watches,
                    &w.exist_watches,
                    &w.child_watches,
                    &[],
                    &[],
                    watcher,
                );
                header_reply(xid, zxid, err::OK)
            }
            Request::SetWatches2(w) => {
                notifications = tree.set_watches(
                    w.relative_zxid,
                    &w.data_watches,
                    &w.exist_watches,
                    &w.child_watches,
                    &w.persistent_watches,
                    &w.persistent_recursive_watches,
                    watcher,
                );
                header_reply(xid, zxid, err::OK)
            }
            Request::AddWatch(r) => {
                let recursive = r.mode == jute::consts::add_watch_mode::PERSISTENT_RECURSIVE;
                tree.add_persistent_watch(&r.path, watcher, recursive);
                record_reply(xid, zxid, &ErrorResponse { err: 0 })
            }
            // 3.8's WatcherType knows Children, Data and Any only; anything else fails to decode.
            Request::CheckWatches(CheckWatchesRequest { r#type, .. })
            | Request::RemoveWatches(RemoveWatchesRequest { r#type, .. })
                if !(1..=3).contains(&r#type) =>
            {
                header_reply(xid, zxid, err::MARSHALLING_ERROR)
            }
            Request::CheckWatches(r) => {
                let found = tree.remove_watches(&r.path, r.r#type, watcher, true);
                header_reply(xid, zxid, if found { err::OK } else { err::NO_WATCHER })
            }
            Request::RemoveWatches(r) => {
                let found = tree.remove_watches(&r.path, r.r#type, watcher, false);
                header_reply(xid, zxid, if found { err::OK } else { err::NO_WATCHER })
            }
            Request::Reconfig(_) => {
                let code =
                    if self.settings.reconfig_enabled { err::UNIMPLEMENTED } else { err::RECONFIG_DISABLED };
                header_reply(xid, zxid, code)
            }
            Request::Sasl(_) => header_reply(xid, zxid, err::UNIMPLEMENTED),
            // Writes, auth and check never reach here.
            _ => header_reply(xid, zxid, err::UNIMPLEMENTED),
        };
        for notification in notifications {
            self.send(conn, notification_frame(&notification.event));
        }
        if let Some(connection) = self.connections.get_mut(&conn) {
            connection.stats.last_zxid = zxid;
        }
        self.record_latency(conn, header.r#type, received);
        self.send(conn, frame);
    }

    // ---- time ----

    fn on_tick(&mut self) {
        // Sessions and containers are the leader's to expire (or a standalone server's).
        if !self.is_leader_or_standalone() || !self.serving() {
            return;
        }
        let now_ms = self.now_ms();
        for session_id in self.sessions.take_expired(now_ms) {
            let timeout = self.sessions.get(session_id).map_or(0, |s| s.timeout_ms);
            tracing::info!("Expiring session 0x{:x}, timeout of {}ms exceeded", session_id, timeout);
            self.close_session_internally(session_id);
        }
        let interval = std::time::Duration::from_millis(self.settings.container_check_interval_ms);
        if self.last_container_check.elapsed() >= interval {
            self.last_container_check = Instant::now();
            self.check_containers();
        }
    }

    fn close_session_internally(&mut self, session_id: i64) {
        let auth = AuthInfo { ids: Vec::new(), skip_acl: true };
        self.submit_internal(session_id, &auth, Request::CloseSession);
    }

    fn submit_internal(&mut self, session_id: i64, auth: &AuthInfo, request: Request) {
        let closing_itself = matches!(request, Request::CloseSession);
        let prepared = self.prepare(session_id, 0, auth, closing_itself, |tree, pending, context| {
            Some(datatree::prep::prep_write(tree, pending, context, &request))
        });
        if let Some(prepared) = prepared {
            self.propose(prepared.header, prepared.body, Origin::Internal);
        }
    }

    /// Java's ContainerManager: delete empty used containers and expired TTL nodes, rate-limited.
    fn check_containers(&mut self) {
        let limit = self.settings.container_max_per_minute as usize;
        let mut candidates = self.tree.container_candidates(limit);
        let now = wall_clock_ms();
        candidates.extend(self.tree.ttl_expired(now));
        candidates.truncate(limit);
        let auth = AuthInfo { ids: Vec::new(), skip_acl: true };
        for path in candidates {
            self.submit_internal(0, &auth, Request::DeleteContainer(DeleteContainerRequest { path }));
        }
    }

    // ---- introspection for four-letter words ----

    fn four_letter(&mut self, word: &str, asking: SocketAddr) -> String {
        let (text, action) = crate::fourlw::execute(word, &self.view(Some(asking)));
        self.apply_action(action);
        text
    }

    fn operator(&mut self, request: &crate::admin::OperatorRequest) -> String {
        let (text, action) = crate::admin::answer(request, &self.view(None));
        self.apply_action(action);
        text
    }

    /// What introspection sees; `asking` is the 4lw connection, listed as Java lists it.
    fn view(&self, asking: Option<SocketAddr>) -> crate::fourlw::View<'_> {
        let mut connections: Vec<crate::fourlw::ConnectionView> = self
            .connections
            .values()
            .map(|c| crate::fourlw::ConnectionView {
                remote: c.remote,
                is_asking: false,
                session_id: c.session_id,
                timeout_ms: c.timeout_ms,
                queued: c.queue.len(),
                stats: c.stats.clone(),
                established_at_ms: c.established_at_ms,
            })
            .collect();
        // The asking connection has sent its four bytes and nothing else yet.
        if let Some(asking) = asking {
            connections.push(crate::fourlw::ConnectionView {
                remote: asking,
                is_asking: true,
                session_id: 0,
                timeout_ms: 0,
                queued: 0,
                stats: crate::stats::ConnectionStats { received: 1, ..Default::default() },
                established_at_ms: wall_clock_ms(),
            });
        }
        crate::fourlw::View {
            settings: &self.settings,
            stats: &self.stats,
            tree: &self.tree,
            sessions: &self.sessions,
            connections,
            session_of_watcher: self.connections.iter().map(|(id, c)| (*id, c.session_id)).collect(),
            outstanding: self.in_flight.len(),
            uptime_ms: self.now_ms(),
            quorum: self.quorum_view(),
        }
    }

    fn apply_action(&mut self, action: crate::fourlw::Action) {
        match action {
            crate::fourlw::Action::None => {}
            crate::fourlw::Action::ResetServerStats => self.stats.reset(),
            crate::fourlw::Action::ResetConnectionStats => {
                for connection in self.connections.values_mut() {
                    connection.stats.reset();
                }
            }
        }
    }
}

fn reply_or_error<R: jute::Field>(xid: i32, zxid: i64, result: Result<R, i32>) -> Vec<u8> {
    match result {
        Ok(record) => record_reply(xid, zxid, &record),
        Err(code) => header_reply(xid, zxid, code),
    }
}
