//! [`Node`]: one server (`QuorumPeer`): the election, then the role it decided, then the election
//! again when the role ends.

use crate::config::Config;
use crate::election::{Decision, Election};
use crate::leader::{Leader, LeaderPhase};
use crate::learner::Learner;
use crate::message::{Message, QuorumMessage, ServerState, SessionTouch, Vote};
use crate::ready::{Event, Ready};
use crate::state::{Restored, ZabState};
use crate::zxid::{Sid, Zxid};
use bytes::Bytes;
use jute::records::Id;

#[derive(Debug)]
enum Role {
    Looking,
    Leading(Leader),
    Following(Learner),
    Observing(Learner),
}

/// Why a call that needs a role was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    /// Not an established leader.
    NotLeader,
    /// Not a learner that finished syncing.
    NotServing,
}

/// One Zab server as a sans-io state machine. Every call takes the current time in milliseconds
/// (any monotonic origin) and returns the [`Ready`] to carry out before the next call.
#[derive(Debug)]
pub struct Node {
    config: Config,
    zab: ZabState,
    election: Election,
    role: Role,
    serving: bool,
}

impl Node {
    /// Starts a server from what it restored from disk; it begins LOOKING.
    pub fn new(config: Config, restored: Restored, now_ms: u64) -> (Node, Ready) {
        assert!(config.quorum.is_member(config.my_id), "server {} is not in its own config", config.my_id);
        let zab = ZabState::restore(restored);
        let election = Election::new(Self::initial_vote_for(&config, &zab));
        let mut node = Node { config, zab, election, role: Role::Looking, serving: false };
        let mut out = Ready::default();
        node.look(now_ms, &mut out);
        (node, out)
    }

    fn initial_vote_for(config: &Config, zab: &ZabState) -> Vote {
        if config.is_participant() {
            Vote {
                leader: config.my_id as i64,
                zxid: zab.history.last_zxid().0,
                peer_epoch: zab.current_epoch as i64,
            }
        } else {
            Vote { leader: i64::MIN, zxid: i64::MIN, peer_epoch: i64::MIN }
        }
    }

    /// This server's id.
    pub fn id(&self) -> Sid {
        self.config.my_id
    }

    /// The config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The Zab variables (acceptedEpoch, currentEpoch, history, lastCommitted).
    pub fn zab(&self) -> &ZabState {
        &self.zab
    }

    /// LOOKING, LEADING, FOLLOWING or OBSERVING.
    pub fn state(&self) -> ServerState {
        match self.role {
            Role::Looking => ServerState::Looking,
            Role::Leading(_) => ServerState::Leading,
            Role::Following(_) => ServerState::Following,
            Role::Observing(_) => ServerState::Observing,
        }
    }

    /// True while the server may serve clients (established leader, or synced learner).
    pub fn is_serving(&self) -> bool {
        self.serving
    }

    /// The leader this server follows or is, once decided.
    pub fn leader(&self) -> Option<Sid> {
        match &self.role {
            Role::Looking => None,
            Role::Leading(_) => Some(self.config.my_id),
            Role::Following(learner) | Role::Observing(learner) => Some(learner.leader()),
        }
    }

    /// The epoch this server established as leader, if it is an established leader.
    pub fn established_epoch(&self) -> Option<u32> {
        match &self.role {
            Role::Leading(leader) if leader.phase() == LeaderPhase::Broadcast => leader.epoch(),
            _ => None,
        }
    }

    /// Leader: the learners connected now (empty otherwise).
    pub fn learners(&self) -> Vec<Sid> {
        match &self.role {
            Role::Leading(leader) => leader.learners().collect(),
            _ => Vec::new(),
        }
    }

    /// Leader: the followers (voters) that are synced and serving (0 otherwise).
    pub fn synced_followers(&self) -> usize {
        match &self.role {
            Role::Leading(leader) => leader.synced_followers(&self.config),
            _ => 0,
        }
    }

    /// The election (round, proposal, current vote).
    pub fn election(&self) -> &Election {
        &self.election
    }

    /// The earliest time [`Node::tick`] has work to do.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        match &self.role {
            Role::Looking => self.election.deadline_ms(),
            Role::Leading(leader) => Some(leader.deadline_ms()),
            Role::Following(learner) | Role::Observing(learner) => Some(learner.deadline_ms(&self.config)),
        }
    }

    fn look(&mut self, now_ms: u64, out: &mut Ready) {
        let initial = Self::initial_vote_for(&self.config, &self.zab);
        if let Some(decision) = self.election.start(&self.config, now_ms, initial, out) {
            self.decided(now_ms, decision, out);
        }
    }

    fn set_serving(&mut self, serving: bool, out: &mut Ready) {
        if self.serving != serving {
            self.serving = serving;
            out.events.push(Event::Serving(serving));
        }
    }

    /// Leave the current role and elect again.
    fn back_to_looking(&mut self, now_ms: u64, out: &mut Ready) {
        match std::mem::replace(&mut self.role, Role::Looking) {
            Role::Leading(mut leader) => leader.shutdown(out),
            Role::Following(learner) | Role::Observing(learner) => {
                out.events.push(Event::CloseConnection(learner.leader()))
            }
            Role::Looking => {}
        }
        self.set_serving(false, out);
        out.events.push(Event::StateChanged {
            state: ServerState::Looking,
            vote: self.election.current_vote(),
            election_epoch: self.election.logical_clock(),
        });
        self.look(now_ms, out);
    }

    fn decided(&mut self, now_ms: u64, decision: Decision, out: &mut Ready) {
        out.events.push(Event::StateChanged {
            state: decision.state,
            vote: decision.vote,
            election_epoch: decision.election_epoch,
        });
        match decision.state {
            ServerState::Leading => {
                let (leader, outcome) = Leader::start(&self.config, &mut self.zab, now_ms, out);
                self.role = Role::Leading(leader);
                if outcome.is_err() {
                    self.back_to_looking(now_ms, out);
                    return;
                }
                self.after_leader_step(now_ms, out);
            }
            ServerState::Following | ServerState::Observing => {
                let observer = decision.state == ServerState::Observing;
                let leader = decision.vote.leader as Sid;
                let learner = Learner::start(&self.config, &self.zab, now_ms, leader, observer, out);
                self.role = if observer { Role::Observing(learner) } else { Role::Following(learner) };
            }
            ServerState::Looking => unreachable!("an election never decides LOOKING"),
        }
    }

    /// Bookkeeping after the leader may have become established.
    fn after_leader_step(&mut self, _now_ms: u64, _out: &mut Ready) {
        if let Role::Leading(leader) = &self.role {
            if leader.phase() == LeaderPhase::Broadcast && !self.serving {
                let epoch = leader.epoch().expect("epoch");
                self.election.update_current_vote_epoch(epoch as i64);
                // The leader emitted Serving(true) itself with Established.
                self.serving = true;
            }
        }
    }

    fn after_learner_step(&mut self, out: &mut Ready) {
        if let Role::Following(learner) | Role::Observing(learner) = &self.role {
            if learner.is_serving() && !self.serving {
                self.serving = true;
                self.election.update_current_vote_epoch(self.zab.current_epoch as i64);
            }
        }
        let _ = out;
    }

    /// A message arrived from `from`.
    pub fn step(&mut self, now_ms: u64, from: Sid, message: Message) -> Ready {
        let mut out = Ready::default();
        match message {
            Message::Election(notification) => {
                let state = self.state();
                if let Some(decision) =
                    self.election.step(&self.config, now_ms, from, state, notification, &mut out)
                {
                    self.decided(now_ms, decision, &mut out);
                }
            }
            Message::Quorum(message) => self.step_quorum(now_ms, from, message, &mut out),
        }
        out
    }

    fn step_quorum(&mut self, now_ms: u64, from: Sid, message: QuorumMessage, out: &mut Ready) {
        match &mut self.role {
            Role::Leading(leader) => {
                if matches!(message, QuorumMessage::FollowerInfo { .. } | QuorumMessage::ObserverInfo { .. })
                    && !self.config.quorum.is_member(from)
                {
                    out.events.push(Event::CloseConnection(from));
                    return;
                }
                let outcome = leader.step(&self.config, &mut self.zab, now_ms, from, message, out);
                if outcome.is_err() {
                    self.back_to_looking(now_ms, out);
                } else {
                    self.after_leader_step(now_ms, out);
                }
            }
            Role::Following(learner) | Role::Observing(learner) if learner.leader() == from => {
                let outcome = learner.step(&self.config, &mut self.zab, now_ms, message, out);
                if outcome.is_err() {
                    self.back_to_looking(now_ms, out);
                } else {
                    self.after_learner_step(out);
                }
            }
            // Not our leader, or we are not leading (connection refused).
            _ => out.events.push(Event::CloseConnection(from)),
        }
    }

    /// The quorum connection to `peer` broke (or was refused).
    pub fn disconnected(&mut self, now_ms: u64, peer: Sid) -> Ready {
        let mut out = Ready::default();
        match &mut self.role {
            Role::Leading(leader) => leader.disconnected(peer),
            Role::Following(learner) | Role::Observing(learner) if learner.leader() == peer => {
                let outcome = learner.disconnected(&self.config, now_ms);
                if outcome.is_err() {
                    self.back_to_looking(now_ms, &mut out);
                }
            }
            _ => {}
        }
        out
    }

    /// Time passed: election retransmits and finalizeWait, leader pings and quorum checks,
    /// learner timeouts. Call it at [`Node::next_deadline_ms`] (calling more often is harmless).
    pub fn tick(&mut self, now_ms: u64) -> Ready {
        let mut out = Ready::default();
        match &mut self.role {
            Role::Looking => {
                if let Some(decision) = self.election.tick(&self.config, now_ms, &mut out) {
                    self.decided(now_ms, decision, &mut out);
                }
            }
            Role::Leading(leader) => {
                if leader.tick(&self.config, now_ms, &mut out).is_err() {
                    self.back_to_looking(now_ms, &mut out);
                }
            }
            Role::Following(learner) | Role::Observing(learner) => {
                if learner.tick(&self.config, &self.zab, now_ms, &mut out).is_err() {
                    self.back_to_looking(now_ms, &mut out);
                }
            }
        }
        out
    }

    /// Leader: propose a txn. `make_txn` gets the zxid (it goes into the TxnHeader) and returns
    /// the serialized txn.
    pub fn propose(
        &mut self,
        now_ms: u64,
        make_txn: impl FnOnce(Zxid) -> Bytes,
    ) -> Result<(Zxid, Ready), NotReady> {
        let mut out = Ready::default();
        let Role::Leading(leader) = &mut self.role else {
            return Err(NotReady::NotLeader);
        };
        match leader.propose(&self.config, &mut self.zab, now_ms, make_txn, &mut out) {
            Ok(zxid) => Ok((zxid, out)),
            Err(None) => Err(NotReady::NotLeader),
            Err(Some(_abdication)) => {
                self.back_to_looking(now_ms, &mut out);
                Err(NotReady::NotLeader)
            }
        }
    }

    /// Learner: forward a client write (or sync) to the leader as a REQUEST.
    pub fn forward_request(
        &mut self,
        session_id: i64,
        cxid: i32,
        op_type: i32,
        request: Bytes,
        authinfo: Vec<Id>,
    ) -> Result<Ready, NotReady> {
        let mut out = Ready::default();
        match &self.role {
            Role::Following(learner) | Role::Observing(learner) if learner.is_serving() => {
                let message = QuorumMessage::Request { session_id, cxid, op_type, request, authinfo };
                out.send(learner.leader(), Message::Quorum(message));
                Ok(out)
            }
            _ => Err(NotReady::NotServing),
        }
    }

    /// Learner: a session had activity here; the leader hears of it with the next PING reply.
    pub fn touch_session(&mut self, session_id: i64, timeout_ms: i32) {
        if let Role::Following(learner) | Role::Observing(learner) = &mut self.role {
            learner.touch(SessionTouch { session_id, timeout_ms });
        }
    }

    /// Learner: ask the leader whether a session that reconnected here is still valid.
    pub fn revalidate(&mut self, session_id: i64, timeout_ms: i32) -> Result<Ready, NotReady> {
        let mut out = Ready::default();
        match &self.role {
            Role::Following(learner) | Role::Observing(learner) if learner.is_serving() => {
                let message = QuorumMessage::Revalidate { session_id, timeout_ms };
                out.send(learner.leader(), Message::Quorum(message));
                Ok(out)
            }
            _ => Err(NotReady::NotServing),
        }
    }

    /// Leader: answer a learner's [`Event::Revalidate`].
    pub fn revalidate_reply(&mut self, learner: Sid, session_id: i64, valid: bool) -> Ready {
        let mut out = Ready::default();
        if let Role::Leading(leader) = &mut self.role {
            leader.revalidate_reply(learner, session_id, valid, &mut out);
        }
        out
    }

    /// Leader: a learner forwarded a sync; SYNC goes back once everything proposed so far commits.
    pub fn sync_learner(&mut self, learner: Sid) -> Ready {
        let mut out = Ready::default();
        if let Role::Leading(leader) = &mut self.role {
            leader.sync_learner_request(learner, &mut out);
        }
        out
    }

    /// The driver took a snapshot of its data tree at `zxid` (≤ lastCommitted): history up to it
    /// may be forgotten (learners older than that will get a SNAP).
    pub fn compact(&mut self, zxid: Zxid) {
        assert!(zxid <= self.zab.last_committed, "snapshot {zxid:?} beyond lastCommitted");
        self.zab.history.compact(zxid);
    }
}
