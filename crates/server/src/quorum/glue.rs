//! The core's quorum side (a child module of `core`, kept in `quorum/`): the [`zab::Node`]
//! lives in the core task beside the tree and the sessions, so a committed txn is applied and
//! answered in the same place a standalone write is.
//!
//! - Leader: writes are prepped as in standalone mode and proposed through Zab; learners'
//!   REQUESTs enter the same prep with their session id and cxid; a txn is applied and answered
//!   on COMMIT (a quorum of ACKs, the leader's own fsync included).
//! - Follower: writes (createSession and closeSession included) and syncs are forwarded as
//!   REQUEST; committed txns are applied in zxid order and the connection that sent one is
//!   answered when it commits. Reads are local.
//! - Sessions are the leader's: followers report touches in PING replies, a session that moves
//!   to a follower is revalidated with the leader, only the leader expires sessions.

use super::*;
use crate::quorum::net::{ElectionNet, Frame, QuorumNet};
use crate::quorum::storage::{Handles, Job};
use crate::quorum::Input;
use std::sync::atomic::Ordering;
use zab::{Event, Message, Node, QuorumMessage, Ready, ServerState, Sid, Waiting, Zxid};

/// A connection whose createSession / reconnect waits for the leader.
#[derive(Debug)]
pub(super) struct PendingConnect {
    conn: ConnectionId,
    timeout_ms: i32,
    read_only: Option<bool>,
    established: oneshot::Sender<bool>,
}

/// A write forwarded to the leader, answered when its txn commits.
#[derive(Debug)]
pub(super) struct Forwarded {
    conn: ConnectionId,
    opcode: i32,
    received: Instant,
}

#[derive(Debug)]
struct PendingReady {
    token: u64,
    done: bool,
    waiting: Waiting,
    tree: Option<Box<DataTree>>,
}

/// The quorum member's state in the core.
#[derive(Debug)]
pub(crate) struct QuorumSide {
    node: Node,
    election: ElectionNet,
    net: QuorumNet,
    storage: Handles,
    next_token: u64,
    /// The zxid of the last snapshot this server took (history before it may be forgotten
    /// when the next one is taken).
    last_snapshot_zxid: i64,
    queue: VecDeque<PendingReady>,
    /// Jobs for the storage thread, handed over at the end of the core's turn
    /// ([`Core::end_of_turn`]) rather than one by one: a leader proposing request after request
    /// woke the thread for the first and had it fsync alone, about 5,000 syncs a second against
    /// its followers' 2,000 under the same load, each costing CPU the whole ensemble shares.
    /// With one runtime worker (the default on two cores) the proposals reach the followers only
    /// once the turn yields too, so the leader's fsync starts no later than theirs; with more
    /// workers it may start up to a turn (64 messages) later, and two followers' ACKs commit.
    unsent_jobs: Vec<Job>,
    /// The leader a serving follower's storage thread sends its proposal ACKs to directly
    /// ([`Core::take_broadcast_acks`]): set once the batch that made it serve is carried out,
    /// so every message of the sync phase is on the connection before the first such ACK.
    direct_acks: Option<Sid>,
    /// [`Core::run_done_readies`] is running: a batch it carries out can queue more (a learner's
    /// forwarded request is proposed from an event), and the running loop takes those too rather
    /// than a nested one (under a deep pipeline the nesting overflowed the stack).
    draining: bool,
    clock: Instant,
    connects: HashMap<i64, PendingConnect>,
    revalidating: HashMap<i64, PendingConnect>,
    forwarded: HashMap<(i64, i32), Forwarded>,
    syncs: VecDeque<(ConnectionId, i32, String)>,
    looking_since: Instant,
    /// How long the last election took.
    pub(crate) last_election_ms: u64,
    /// Every election's duration: count, sum, min, max (mntr's election_time summary).
    election_times_ms: (u64, u64, u64, u64),
}

/// What the four-letter words show of the quorum.
#[derive(Debug, Clone)]
pub struct QuorumView {
    /// "leader", "follower", "observer" (Java's srvr Mode).
    pub mode: &'static str,
    /// zk_peer_state ("leading - broadcast", "following - broadcast", "looking").
    pub peer_state: String,
    pub serving: bool,
    pub learners: usize,
    pub synced_followers: usize,
    pub last_election_ms: u64,
    /// Elections this process went through: count, sum, min, max in ms.
    pub election_times_ms: (u64, u64, u64, u64),
}

impl Core {
    /// Turns this core into a quorum member: the node starts LOOKING.
    pub fn start_quorum(
        &mut self,
        config: zab::Config,
        restored: zab::Restored,
        election: ElectionNet,
        net: QuorumNet,
        storage: Handles,
    ) {
        let clock = Instant::now();
        let (node, ready) = Node::new(config, restored, 0);
        self.quorum = Some(Box::new(QuorumSide {
            node,
            election,
            net,
            storage,
            next_token: 1,
            last_snapshot_zxid: 0,
            queue: VecDeque::new(),
            unsent_jobs: Vec::new(),
            direct_acks: None,
            draining: false,
            clock,
            connects: HashMap::new(),
            revalidating: HashMap::new(),
            forwarded: HashMap::new(),
            syncs: VecDeque::new(),
            looking_since: clock,
            last_election_ms: 0,
            election_times_ms: (0, 0, 0, 0),
        }));
        self.zab_ready(ready);
        self.end_of_turn();
    }

    /// The core has no more messages waiting (or has taken many in a row): the jobs its batches
    /// made go to the storage thread together.
    pub(crate) fn end_of_turn(&mut self) {
        if let Some(q) = self.quorum.as_mut() {
            q.storage.jobs.send_all(&mut q.unsent_jobs);
        }
    }

    pub(super) fn is_quorum(&self) -> bool {
        self.quorum.is_some()
    }

    /// Standalone, or a quorum member that serves.
    pub(super) fn serving(&self) -> bool {
        self.quorum.as_ref().is_none_or(|q| q.node.is_serving())
    }

    /// A serving learner: writes are forwarded.
    pub(super) fn is_learner(&self) -> bool {
        self.quorum
            .as_ref()
            .is_some_and(|q| matches!(q.node.state(), ServerState::Following | ServerState::Observing))
    }

    /// The leader (or standalone): the only one that expires sessions and proposes.
    pub(super) fn is_leader_or_standalone(&self) -> bool {
        self.quorum.as_ref().is_none_or(|q| q.node.state() == ServerState::Leading)
    }

    fn zab_now(&self) -> u64 {
        self.quorum.as_ref().map_or(0, |q| q.clock.elapsed().as_millis() as u64)
    }

    pub(super) fn quorum_view(&self) -> Option<QuorumView> {
        let q = self.quorum.as_ref()?;
        let state = q.node.state();
        let phase = if q.node.is_serving() { "broadcast" } else { "synchronization" };
        let (mode, peer_state) = match state {
            ServerState::Leading => ("leader", format!("leading - {phase}")),
            ServerState::Following => ("follower", format!("following - {phase}")),
            ServerState::Observing => ("observer", format!("observing - {phase}")),
            ServerState::Looking => ("looking", "looking".to_string()),
        };
        let learners = q.node.learners().len();
        Some(QuorumView {
            mode,
            peer_state,
            serving: q.node.is_serving(),
            learners,
            synced_followers: q.node.synced_followers(),
            last_election_ms: q.last_election_ms,
            election_times_ms: q.election_times_ms,
        })
    }

    // ---- the Ready loop ----

    /// Carries out a batch: early messages leave now, persists go to the storage thread; the
    /// rest waits for them (and for every earlier batch).
    pub(super) fn zab_ready(&mut self, mut ready: Ready) {
        let Some(q) = self.quorum.as_mut() else { return };
        let early = ready.release_early(q.queue.iter_mut().map(|pending| &mut pending.waiting));
        for outgoing in early {
            self.send_to_peer(outgoing.to, outgoing.message);
        }
        let Some(q) = self.quorum.as_mut() else { return };
        if ready.is_empty() {
            return;
        }
        if ready.persist.is_empty() && q.queue.is_empty() {
            self.execute_ready(ready, None);
            return;
        }
        let mut ready = match q.queue.back_mut() {
            Some(back) => match back.waiting.absorb(ready) {
                Ok(()) => return self.run_done_readies(),
                Err(ready) => ready,
            },
            _ => ready,
        };
        let token = q.next_token;
        q.next_token += 1;
        let persist = std::mem::take(&mut ready.persist);
        let done = persist.is_empty();
        if !done {
            let acks = Self::take_broadcast_acks(q, &mut ready);
            q.unsent_jobs.push(Job { token, persist, acks });
        }
        q.queue.push_back(PendingReady { token, done, waiting: Waiting::new(ready), tree: None });
        self.run_done_readies();
    }

    /// A serving follower's ACKs of this batch's proposals, taken out of `ready` for the storage
    /// thread to send once the batch is durable (Zab's rule holds: the fsync comes first). Only
    /// once [`QuorumSide::direct_acks`] is set: the ACKs of the sync phase keep their order with
    /// NEWLEADER and UPTODATE.
    fn take_broadcast_acks(
        q: &mut QuorumSide,
        ready: &mut Ready,
    ) -> Option<(tokio::sync::mpsc::UnboundedSender<Frame>, Vec<u8>)> {
        let leader = q.direct_acks?;
        // The node's own state decides: the events that clear `direct_acks` may still wait
        // behind pending batches.
        if q.node.state() != ServerState::Following || !q.node.is_serving() || q.node.leader() != Some(leader)
        {
            return None;
        }
        if !ready.messages.iter().any(|outgoing| is_proposal_ack(outgoing, leader)) {
            return None;
        }
        let sender = q.net.sender(leader)?;
        Some((sender, split_proposal_acks(&mut ready.messages, leader)))
    }

    fn run_done_readies(&mut self) {
        match self.quorum.as_mut() {
            Some(q) if !q.draining => q.draining = true,
            _ => return,
        }
        loop {
            let Some(q) = self.quorum.as_mut() else { return };
            if !q.queue.front().is_some_and(|p| p.done) {
                q.draining = false;
                return;
            }
            let pending = q.queue.pop_front().expect("front");
            self.execute_ready(pending.waiting.into_ready(), pending.tree);
        }
    }

    fn execute_ready(&mut self, ready: Ready, tree: Option<Box<DataTree>>) {
        if let Some(tree) = tree {
            self.replace_tree(*tree);
        }
        for txn in ready.apply {
            self.apply_committed(txn);
        }
        for outgoing in ready.messages {
            self.send_to_peer(outgoing.to, outgoing.message);
        }
        for event in ready.events {
            self.on_zab_event(event);
        }
        self.maybe_snapshot();
        self.bound_history();
    }

    /// Keeps Zab's in-memory history to what a learner could be sent as a DIFF: the commit log
    /// (commitLogCount txns) and older txns while they weigh at most snapshotSizeFactor of the
    /// snapshot (Java reads those from its log; a learner further behind gets a SNAP). Without
    /// this bound it held every txn since the snapshot before last: with 4 KiB writes ~0.6 GB
    /// per member for a tree of 400 KB, and the memory churn cost a third of the throughput.
    fn bound_history(&mut self) {
        let Some(q) = self.quorum.as_mut() else { return };
        let zab = q.node.zab();
        // A snapshot stores, per znode, its path and data (counted by the data size) and ~84 more
        // bytes (lengths, ACL id, stat).
        let snapshot_bytes =
            self.tree.approximate_data_size().max(0) as f64 + 84.0 * self.tree.node_count() as f64;
        let budget = (q.node.config().snapshot_size_factor.max(0.0) * snapshot_bytes) as usize;
        if zab.history.bytes() <= budget {
            return;
        }
        let keep = q.node.config().commit_log_count;
        if let Some(cut) = zab.history.cut_for(budget, keep, zab.last_committed) {
            q.node.compact(cut);
        }
    }

    /// The log rolled: freeze the tree (O(1)) for the snapshot thread, and let Zab forget the
    /// history before the previous snapshot (a learner further behind gets a SNAP).
    fn maybe_snapshot(&mut self) {
        let Some(q) = self.quorum.as_mut() else { return };
        let shared = &q.storage.shared;
        if !shared.snapshot_wanted.load(Ordering::Acquire) {
            return;
        }
        shared.snapshot_wanted.store(false, Ordering::Release);
        if shared.snapshot_running.swap(true, Ordering::AcqRel) {
            tracing::warn!("Too busy to snap, skipping");
            return;
        }
        let view = self.tree.snapshot_view();
        let zxid = view.zxid();
        let forget = q.last_snapshot_zxid.min(q.node.zab().last_committed.0);
        if forget > q.node.zab().history.base().0 {
            q.node.compact(Zxid(forget));
        }
        q.last_snapshot_zxid = zxid;
        if q.storage.snapshots.send(view).is_err() {
            shared.snapshot_running.store(false, Ordering::Release);
        }
    }

    fn replace_tree(&mut self, tree: DataTree) {
        self.tree = tree;
        self.pending = PendingChanges::default();
        let now_ms = self.now_ms();
        for (session_id, timeout_ms) in self.tree.sessions().collect::<Vec<_>>() {
            if self.sessions.get(session_id).is_none() {
                self.sessions.add(session_id, timeout_ms, now_ms);
            }
        }
    }

    fn send_to_peer(&mut self, to: Sid, message: Message) {
        let Some(q) = self.quorum.as_ref() else { return };
        if to == q.node.id() {
            return;
        }
        match message {
            Message::Election(notification) => {
                let wire = zab::wire::notification_to_wire(&notification, &q.node.config().config_text);
                q.election.send(to, &wire);
            }
            Message::Quorum(message) => {
                let dial = matches!(q.node.state(), ServerState::Following | ServerState::Observing)
                    && q.node.leader() == Some(to);
                let frame = Frame::packet(&zab::wire::encode_quorum(&message));
                match &message {
                    QuorumMessage::Diff { zxid } => {
                        tracing::info!("Sending DIFF zxid=0x{:x} to {}", zxid.0, to)
                    }
                    QuorumMessage::Trunc { zxid } => {
                        tracing::info!("Sending TRUNC zxid=0x{:x} to {}", zxid.0, to)
                    }
                    QuorumMessage::Snap { zxid, .. } => {
                        tracing::info!("Sending snapshot last zxid of peer is 0x{:x} to {}", zxid.0, to)
                    }
                    _ => {}
                }
                q.net.send(to, frame, dial);
                if let QuorumMessage::Snap { .. } = message {
                    // After this batch's applies the tree is exactly at the SNAP zxid: a frozen
                    // view of it now, serialized on a blocking thread (200 MB for 1 M znodes,
                    // which held the core, and every client of the leader, for a second), while
                    // the connection holds back what is sent after it.
                    let view = self.tree.snapshot_view();
                    let (database, pending) = tokio::sync::oneshot::channel();
                    tokio::task::spawn_blocking(move || {
                        let _ = database.send(crate::quorum::snap::serialize_view(&view));
                    });
                    q.net.send(to, Frame::Later(pending), dial);
                }
            }
        }
    }

    /// Applies a committed txn: the leader's own in-flight entry, or one decoded from Zab (a
    /// follower's forwarded write is answered here).
    fn apply_committed(&mut self, txn: zab::Txn) {
        if txn.zxid.0 <= self.tree.last_processed_zxid() {
            // Already in the tree (replayed from the log at startup).
            return;
        }
        if self.in_flight.front().is_some_and(|f| f.header.zxid == txn.zxid.0) {
            let entry = self.in_flight.pop_front().expect("front");
            self.apply(entry);
            return;
        }
        let (header, body, _digest) = match wal::txnlog::decode_payload(&txn.data) {
            Ok(decoded) => decoded,
            Err(reason) => panic!("committed txn {:?} does not decode: {reason}", txn.zxid),
        };
        let origin = self.origin_of(&header);
        if let TxnBody::CreateSession(create) = &body {
            if self.sessions.get(header.client_id).is_none() {
                let now_ms = self.now_ms();
                self.sessions.add(header.client_id, create.time_out, now_ms);
            }
        }
        self.apply(InFlight { header, body, origin });
    }

    fn origin_of(&mut self, header: &TxnHeader) -> Origin {
        let Some(q) = self.quorum.as_mut() else { return Origin::Internal };
        if header.r#type == op::CREATE_SESSION {
            if let Some(p) = q.connects.remove(&header.client_id) {
                return Origin::Connect {
                    conn: p.conn,
                    timeout_ms: p.timeout_ms,
                    read_only: p.read_only,
                    established: p.established,
                };
            }
            return Origin::Internal;
        }
        match q.forwarded.remove(&(header.client_id, header.cxid)) {
            Some(f) => {
                Origin::Request { conn: f.conn, xid: header.cxid, opcode: f.opcode, received: f.received }
            }
            None => Origin::Internal,
        }
    }

    // ---- inputs ----

    pub(super) fn on_quorum(&mut self, input: Input) {
        let now = self.zab_now();
        let Some(q) = self.quorum.as_mut() else { return };
        let ready = match input {
            Input::Peer { from, message } => {
                match &message {
                    Message::Quorum(QuorumMessage::Diff { zxid }) => {
                        tracing::info!("Getting a diff from the leader 0x{:x}", zxid.0)
                    }
                    Message::Quorum(QuorumMessage::Trunc { zxid }) => {
                        tracing::warn!("Truncating log to get in sync with the leader 0x{:x}", zxid.0)
                    }
                    Message::Quorum(QuorumMessage::Snap { zxid, .. }) => {
                        tracing::info!("Getting a snapshot from leader 0x{:x}", zxid.0)
                    }
                    _ => {}
                }
                q.node.step(now, from, message)
            }
            Input::Closed { peer } => q.node.disconnected(now, peer),
            Input::Timer => {
                if q.node.next_deadline_ms().is_some_and(|deadline| now >= deadline) {
                    q.node.tick(now)
                } else {
                    return;
                }
            }
            Input::Durable { up_to, tree, spent } => {
                // Freed here, on the core's thread (see storage::JobSender).
                drop(spent);
                // Tokens ascend along the queue.
                for pending in q.queue.iter_mut().take_while(|p| p.token <= up_to) {
                    pending.done = true;
                    if pending.token == up_to {
                        pending.tree = tree;
                        break;
                    }
                }
                self.run_done_readies();
                return;
            }
        };
        self.zab_ready(ready);
    }

    fn on_zab_event(&mut self, event: Event) {
        match event {
            Event::StateChanged { state, vote, election_epoch } => {
                self.on_state_changed(state, vote, election_epoch)
            }
            Event::Established { epoch } => {
                tracing::info!(
                    "Have quorum of supporters; starting up and setting last processed zxid: 0x{:x}",
                    Zxid::new(epoch, 0).0
                );
                self.last_proposed_zxid = Zxid::new(epoch, 0).0;
                self.pending = PendingChanges::default();
                // The leader owns every session now; each gets a fresh timeout.
                let now_ms = self.now_ms();
                for (session_id, timeout_ms) in self.tree.sessions().collect::<Vec<_>>() {
                    self.sessions.add(session_id, timeout_ms, now_ms);
                }
            }
            Event::Serving(serving) => {
                if let Some(q) = self.quorum.as_mut() {
                    q.direct_acks = match q.node.state() {
                        ServerState::Following if serving => q.node.leader(),
                        _ => None,
                    };
                }
                if serving {
                    tracing::info!("Serving: {}", self.quorum_view().map_or("", |v| v.mode));
                } else {
                    tracing::info!("Not serving: closing every client connection");
                    self.stop_serving();
                }
            }
            Event::Request { from, session_id, cxid, op_type, request, authinfo } => {
                self.on_learner_request(from, session_id, cxid, op_type, request, authinfo)
            }
            Event::SessionTouches { touches, .. } => {
                let now_ms = self.now_ms();
                for touch in touches {
                    self.sessions.touch(touch.session_id, now_ms);
                }
            }
            Event::Revalidate { from, session_id, .. } => {
                let valid = self.sessions.is_live(session_id) && self.tree_has_session(session_id);
                if valid {
                    let now_ms = self.now_ms();
                    self.sessions.touch(session_id, now_ms);
                }
                let ready = self.quorum.as_mut().map(|q| q.node.revalidate_reply(from, session_id, valid));
                if let Some(ready) = ready {
                    self.zab_ready(ready);
                }
            }
            Event::Revalidated { session_id, valid } => {
                let pending = self.quorum.as_mut().and_then(|q| q.revalidating.remove(&session_id));
                if let Some(p) = pending {
                    self.finish_reconnect(
                        p.conn,
                        session_id,
                        valid,
                        p.timeout_ms,
                        p.read_only,
                        p.established,
                    );
                }
            }
            Event::SyncDone { .. } => {
                let front = self.quorum.as_mut().and_then(|q| q.syncs.pop_front());
                if let Some((conn, xid, path)) = front {
                    let zxid = self.tree.last_processed_zxid();
                    if let Some(c) = self.connections.get_mut(&conn) {
                        if matches!(c.queue.front(), Some(Queued::Remote { cxid }) if *cxid == xid) {
                            c.queue.pop_front();
                        }
                    }
                    self.send(conn, record_reply(xid, zxid, &SyncResponse { path }));
                    self.drain_queue(conn);
                }
            }
            Event::CloseConnection(peer) => {
                if let Some(q) = self.quorum.as_ref() {
                    q.net.close(peer);
                }
            }
            Event::ProtocolError { peer, reason } => {
                tracing::warn!("Protocol error with {}: {}", peer, reason)
            }
        }
    }

    fn on_state_changed(&mut self, state: ServerState, vote: zab::Vote, election_epoch: i64) {
        let Some(q) = self.quorum.as_mut() else { return };
        q.direct_acks = None;
        match state {
            ServerState::Looking => {
                tracing::info!("LOOKING (round {})", election_epoch);
                q.looking_since = Instant::now();
                q.net.stop_listening();
                q.net.close_all();
            }
            other => {
                q.last_election_ms = q.looking_since.elapsed().as_millis() as u64;
                let (count, sum, min, max) = q.election_times_ms;
                let took = q.last_election_ms;
                q.election_times_ms =
                    (count + 1, sum + took, if count == 0 { took } else { min.min(took) }, max.max(took));
                let name = match other {
                    ServerState::Leading => "LEADING",
                    ServerState::Following => "FOLLOWING",
                    _ => "OBSERVING",
                };
                tracing::info!(
                    "{} - LEADER ELECTION TOOK - {} MS (leader {}, zxid 0x{:x}, epoch 0x{:x})",
                    name,
                    q.last_election_ms,
                    vote.leader,
                    vote.zxid,
                    vote.peer_epoch
                );
                if other == ServerState::Leading {
                    q.net.listen();
                } else {
                    q.net.stop_listening();
                }
            }
        }
    }

    /// Lost the leader or the quorum: every client is disconnected and what waited is dropped.
    fn stop_serving(&mut self) {
        let conns: Vec<ConnectionId> = self.connections.keys().copied().collect();
        for conn in conns {
            self.close_connection(conn);
        }
        for entry in std::mem::take(&mut self.in_flight) {
            if let Origin::Connect { established, .. } = entry.origin {
                let _ = established.send(false);
            }
        }
        self.pending = PendingChanges::default();
        if let Some(q) = self.quorum.as_mut() {
            for (_, p) in q.connects.drain().chain(q.revalidating.drain()) {
                let _ = p.established.send(false);
            }
            q.forwarded.clear();
            q.syncs.clear();
        }
    }

    // ---- leader ----

    /// Proposes a prepped txn through Zab, with the tree digest it leaves (`digest`, as Java's
    /// leader sends it: every member logs it, and a Java follower compares it with its tree).
    pub(super) fn zab_propose(
        &mut self,
        header: TxnHeader,
        body: TxnBody,
        digest: Option<TxnDigest>,
        origin: Origin,
    ) {
        let now = self.zab_now();
        let data = jute::Bytes::from(wal::txnlog::encode_payload(&header, &body, digest.as_ref()));
        let Some(q) = self.quorum.as_mut() else { return };
        match q.node.propose(now, |_| data) {
            Ok((zxid, ready)) => {
                assert_eq!(zxid.0, header.zxid, "the prepped zxid and Zab's disagree");
                self.in_flight.push_back(InFlight { header, body, origin });
                self.zab_ready(ready);
            }
            Err(not_ready) => {
                tracing::warn!("Cannot propose 0x{:x}: {:?}", header.zxid, not_ready);
                match origin {
                    Origin::Connect { conn, established, .. } => {
                        let _ = established.send(false);
                        self.close_connection(conn);
                    }
                    Origin::Request { conn, .. } => self.close_connection(conn),
                    Origin::Internal => {}
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_learner_request(
        &mut self,
        from: Sid,
        session_id: i64,
        cxid: i32,
        op_type: i32,
        request: jute::Bytes,
        authinfo: Vec<Id>,
    ) {
        let now_ms = self.now_ms();
        if op_type == op::SYNC {
            let ready = self.quorum.as_mut().map(|q| q.node.sync_learner(from));
            if let Some(ready) = ready {
                self.zab_ready(ready);
            }
            return;
        }
        if op_type == op::CREATE_SESSION {
            let timeout_ms = if request.len() >= 4 {
                i32::from_be_bytes(request[..4].try_into().expect("4 bytes"))
            } else {
                self.settings.min_session_timeout_ms
            };
            self.sessions.add(session_id, timeout_ms, now_ms);
            let header = self.next_header(session_id, cxid, op::CREATE_SESSION);
            let body = TxnBody::CreateSession(jute::txn::CreateSessionTxn { time_out: timeout_ms });
            self.propose(header, body, Origin::Internal);
            return;
        }
        self.sessions.touch(session_id, now_ms);
        let auth = AuthInfo { ids: authinfo, skip_acl: self.settings.skip_acl };
        let decoded = Request::decode_shared(op_type, &request);
        let closing_itself = matches!(decoded, Ok(Request::CloseSession));
        let prepared = self.prepare(session_id, cxid, &auth, closing_itself, |tree, pending, context| {
            Some(match &decoded {
                Ok(Request::DeleteContainer(_)) => datatree::prep::prep_client_delete_container(context),
                Ok(request) => datatree::prep::prep_write(tree, pending, context, request),
                Err(_) => return datatree::prep::prep_undecodable(context, op_type),
            })
        });
        let Some(prepared) = prepared else { return };
        if closing_itself {
            self.sessions.set_closing(session_id);
        }
        self.propose(prepared.header, prepared.body, Origin::Internal);
    }

    // ---- learner ----

    /// Forwards a client write to the leader; its reply comes when the txn commits.
    pub(super) fn forward_write(
        &mut self,
        conn: ConnectionId,
        header: RequestHeader,
        request: &Request,
        received: Instant,
    ) {
        let Some(connection) = self.connections.get_mut(&conn) else { return };
        let session_id = connection.session_id;
        let authinfo = connection.auth.ids.clone();
        connection.queue.push_back(Queued::Remote { cxid: header.xid });
        let mut body = Vec::new();
        request.write_body(&mut body);
        let is_sync = matches!(request, Request::Sync(_));
        let Some(q) = self.quorum.as_mut() else { return };
        if let Request::Sync(sync) = request {
            q.syncs.push_back((conn, header.xid, sync.path.clone()));
        } else {
            q.forwarded.insert((session_id, header.xid), Forwarded { conn, opcode: header.r#type, received });
        }
        let opcode = if is_sync { op::SYNC } else { header.r#type };
        match q.node.forward_request(session_id, header.xid, opcode, jute::Bytes::from(body), authinfo) {
            Ok(ready) => self.zab_ready(ready),
            Err(_) => self.close_connection(conn),
        }
    }

    /// Learner: a new session is created by the leader.
    pub(super) fn forward_create_session(&mut self, p: PendingConnectArgs) {
        let session_id = self.session_ids.next_id();
        let Some(q) = self.quorum.as_mut() else { return };
        let body = jute::Bytes::copy_from_slice(&p.timeout_ms.to_be_bytes());
        let pending = PendingConnect {
            conn: p.conn,
            timeout_ms: p.timeout_ms,
            read_only: p.read_only,
            established: p.established,
        };
        match q.node.forward_request(session_id, 0, op::CREATE_SESSION, body, Vec::new()) {
            Ok(ready) => {
                q.connects.insert(session_id, pending);
                self.zab_ready(ready);
            }
            Err(_) => {
                let _ = pending.established.send(false);
                self.close_connection(p.conn);
            }
        }
    }

    /// Learner: a session that moved here is checked with the leader.
    pub(super) fn revalidate(&mut self, session_id: i64, p: PendingConnectArgs) {
        let Some(q) = self.quorum.as_mut() else { return };
        let pending = PendingConnect {
            conn: p.conn,
            timeout_ms: p.timeout_ms,
            read_only: p.read_only,
            established: p.established,
        };
        match q.node.revalidate(session_id, p.timeout_ms) {
            Ok(ready) => {
                q.revalidating.insert(session_id, pending);
                self.zab_ready(ready);
            }
            Err(_) => {
                let _ = pending.established.send(false);
                self.close_connection(p.conn);
            }
        }
    }

    /// Learner: a session had activity here.
    pub(super) fn touch_remote_session(&mut self, session_id: i64, timeout_ms: i32) {
        if let Some(q) = self.quorum.as_mut() {
            q.node.touch_session(session_id, timeout_ms);
        }
    }
}

/// What a connect that waits for the leader needs.
#[derive(Debug)]
pub(super) struct PendingConnectArgs {
    pub conn: ConnectionId,
    pub timeout_ms: i32,
    pub read_only: Option<bool>,
    pub established: oneshot::Sender<bool>,
}

/// An ACK of a proposal (not NEWLEADER's, whose counter is 0) to `leader`.
fn is_proposal_ack(outgoing: &zab::Outgoing, leader: Sid) -> bool {
    outgoing.to == leader
        && matches!(outgoing.message, Message::Quorum(QuorumMessage::Ack { zxid }) if zxid.counter() != 0)
}

/// Removes every proposal ACK to `leader` from `messages` (the rest keep their order) and
/// returns them as quorum packets, back to back, in their order.
fn split_proposal_acks(messages: &mut Vec<zab::Outgoing>, leader: Sid) -> Vec<u8> {
    let mut frames = Vec::new();
    messages.retain(|outgoing| {
        if !is_proposal_ack(outgoing, leader) {
            return true;
        }
        if let Message::Quorum(message) = &outgoing.message {
            frames.extend_from_slice(&zab::wire::write_packet(&zab::wire::encode_quorum(message)));
        }
        false
    });
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to(to: Sid, message: QuorumMessage) -> zab::Outgoing {
        zab::Outgoing { to, message: Message::Quorum(message) }
    }

    fn packet(message: &QuorumMessage) -> Vec<u8> {
        zab::wire::write_packet(&zab::wire::encode_quorum(message))
    }

    #[test]
    fn proposal_acks_to_the_leader_leave_in_order_and_the_rest_stays() {
        let leader = 1;
        let ack = |counter| QuorumMessage::Ack { zxid: Zxid::new(2, counter) };
        let ping = QuorumMessage::PingReply { zxid: Zxid::new(2, 1), touches: Vec::new() };
        let mut messages = vec![
            to(leader, ack(0)),
            to(leader, ack(7)),
            to(3, ack(8)),
            to(leader, ping.clone()),
            to(leader, ack(9)),
        ];
        let frames = split_proposal_acks(&mut messages, leader);
        assert_eq!(frames, [packet(&ack(7)), packet(&ack(9))].concat());
        let kept: Vec<(Sid, QuorumMessage)> = messages
            .into_iter()
            .map(|o| match o.message {
                Message::Quorum(m) => (o.to, m),
                Message::Election(_) => unreachable!(),
            })
            .collect();
        assert_eq!(kept, vec![(leader, ack(0)), (3, ack(8)), (leader, ping)]);
    }

    #[test]
    fn nothing_is_taken_without_a_proposal_ack() {
        let mut messages = vec![to(1, QuorumMessage::Ack { zxid: Zxid::new(3, 0) })];
        assert!(split_proposal_acks(&mut messages, 1).is_empty());
        assert_eq!(messages.len(), 1);
    }
}
