//! FastLeaderElection (`FastLeaderElection.lookForLeader` and its `WorkerReceiver`) as a state
//! machine: notifications and time in, notifications out, a decided vote at the end.
//!
//! Java's receive loop polls a queue with a timeout; here the timeout is a deadline checked by
//! [`Election::tick`]. Java's self-addressed notification (the sender is among the voters it
//! notifies) is delivered through the same path, right after the notifications are queued.

use crate::config::Config;
use crate::message::{Message, Notification, ServerState, Vote};
use crate::ready::Ready;
use crate::zxid::Sid;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// What the election decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// LEADING, FOLLOWING or OBSERVING.
    pub state: ServerState,
    /// The winning vote.
    pub vote: Vote,
    /// The round it was decided in.
    pub election_epoch: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct VoteRecord {
    vote: Vote,
    election_epoch: i64,
    state: ServerState,
    version: i32,
}

/// `Vote.equals`: a full comparison when either side is LOOKING; otherwise servers out of the
/// election compare only (leader, peerEpoch), or only the leader across notification versions.
fn votes_equal(a: &VoteRecord, b: &VoteRecord) -> bool {
    if a.state == ServerState::Looking || b.state == ServerState::Looking {
        a.vote == b.vote && a.election_epoch == b.election_epoch
    } else if (a.version > 0) ^ (b.version > 0) {
        a.vote.leader == b.vote.leader
    } else {
        a.vote.leader == b.vote.leader && a.vote.peer_epoch == b.vote.peer_epoch
    }
}

/// `totalOrderPredicate`: does `new` beat `current`? Higher peerEpoch, then higher zxid, then
/// higher sid; a candidate with no voting weight never wins.
pub fn total_order_predicate(config: &Config, new: &Vote, current: &Vote) -> bool {
    if new.leader < 0 || config.quorum.weight(new.leader as Sid) == 0 {
        return false;
    }
    (new.peer_epoch, new.zxid, new.leader) > (current.peer_epoch, current.zxid, current.leader)
}

/// The election state of one server; lives as long as the server (its logical clock survives
/// rounds). While the server is not LOOKING it only answers LOOKING peers.
#[derive(Debug)]
pub struct Election {
    logical_clock: i64,
    proposal: Vote,
    /// `self.getCurrentVote()`: the last decided vote (or the initial one).
    current_vote: Vote,
    current_vote_epoch: i64,
    looking: bool,
    recv_set: BTreeMap<Sid, VoteRecord>,
    out_of_election: BTreeMap<Sid, VoteRecord>,
    finalize_deadline_ms: Option<u64>,
    notification_timeout_ms: u64,
    poll_deadline_ms: u64,
    init_last_logged_zxid: i64,
    initial_peer_epoch: i64,
    self_inbox: VecDeque<Notification>,
}

impl Election {
    /// A server that has not looked yet; `initial` is `(myid, lastLoggedZxid, currentEpoch)`.
    pub fn new(initial: Vote) -> Election {
        Election {
            logical_clock: 0,
            proposal: initial,
            current_vote: initial,
            current_vote_epoch: 0,
            looking: false,
            recv_set: BTreeMap::new(),
            out_of_election: BTreeMap::new(),
            finalize_deadline_ms: None,
            notification_timeout_ms: 0,
            poll_deadline_ms: 0,
            init_last_logged_zxid: initial.zxid,
            initial_peer_epoch: initial.peer_epoch,
            self_inbox: VecDeque::new(),
        }
    }

    /// The round (`logicalclock`).
    pub fn logical_clock(&self) -> i64 {
        self.logical_clock
    }

    /// The vote this server currently proposes (while LOOKING).
    pub fn proposal(&self) -> Vote {
        self.proposal
    }

    /// The last decided vote (`getCurrentVote`).
    pub fn current_vote(&self) -> Vote {
        self.current_vote
    }

    /// True while looking for a leader.
    pub fn is_looking(&self) -> bool {
        self.looking
    }

    /// `updateElectionVote` (ZOOKEEPER-1732): after sync the current vote carries the new epoch.
    pub fn update_current_vote_epoch(&mut self, peer_epoch: i64) {
        self.current_vote.peer_epoch = peer_epoch;
    }

    /// The earliest time [`Election::tick`] has work to do, while looking.
    pub fn deadline_ms(&self) -> Option<u64> {
        if !self.looking {
            return None;
        }
        Some(self.finalize_deadline_ms.unwrap_or(self.poll_deadline_ms))
    }

    /// `lookForLeader` entry: next round, vote for `initial` (`(myid, lastLoggedZxid,
    /// currentEpoch)`, or all `Long.MIN_VALUE` for a non-voter) and notify every voter.
    pub fn start(
        &mut self,
        config: &Config,
        now_ms: u64,
        initial: Vote,
        out: &mut Ready,
    ) -> Option<Decision> {
        self.looking = true;
        self.recv_set.clear();
        self.out_of_election.clear();
        self.finalize_deadline_ms = None;
        self.self_inbox.clear();
        self.init_last_logged_zxid = initial.zxid;
        self.initial_peer_epoch = initial.peer_epoch;
        self.logical_clock += 1;
        self.proposal = initial;
        self.notification_timeout_ms = config.min_notification_interval_ms;
        self.poll_deadline_ms = now_ms + self.notification_timeout_ms;
        self.send_notifications(config, out);
        self.drain_self(config, now_ms, out)
    }

    fn initial_id(config: &Config) -> i64 {
        if config.is_participant() {
            config.my_id as i64
        } else {
            i64::MIN
        }
    }

    fn my_notification(&self) -> Notification {
        Notification {
            state: ServerState::Looking,
            vote: self.proposal,
            election_epoch: self.logical_clock,
            version: jute::quorum::Notification::CURRENT_VERSION,
        }
    }

    /// `sendNotifications`: our proposal to every voter (ourselves included).
    fn send_notifications(&mut self, config: &Config, out: &mut Ready) {
        let notification = self.my_notification();
        for &voter in config.quorum.voting_members() {
            if voter == config.my_id {
                self.self_inbox.push_back(notification.clone());
            } else {
                out.send(voter, Message::Election(notification.clone()));
            }
        }
    }

    fn drain_self(&mut self, config: &Config, now_ms: u64, out: &mut Ready) -> Option<Decision> {
        while let Some(notification) = self.self_inbox.pop_front() {
            if let Some(decision) = self.look(config, now_ms, config.my_id, notification, out) {
                return Some(decision);
            }
        }
        None
    }

    /// A notification arrived from `from`. `my_state` is the server's state (LOOKING while the
    /// election runs). Returns the decision when this notification completes the election.
    pub fn step(
        &mut self,
        config: &Config,
        now_ms: u64,
        from: Sid,
        my_state: ServerState,
        notification: Notification,
        out: &mut Ready,
    ) -> Option<Decision> {
        let version = jute::quorum::Notification::CURRENT_VERSION;
        if !config.quorum.is_voter(from) {
            // WorkerReceiver: a non-voter (observer) gets our current vote right away.
            let reply = Notification {
                state: my_state,
                vote: self.current_vote,
                election_epoch: self.logical_clock,
                version,
            };
            out.send(from, Message::Election(reply));
            return None;
        }
        if !self.looking {
            if notification.state == ServerState::Looking {
                let reply = Notification {
                    state: my_state,
                    vote: self.current_vote,
                    election_epoch: self.current_vote_epoch,
                    version,
                };
                out.send(from, Message::Election(reply));
            }
            return None;
        }
        // Help a lagging LOOKING voter catch up. Not Java: an observer does not (its vote counts for
        // nothing, and the voter answers every observer message at once, so Java's observer and a
        // voter in a lower round echo each other until the voter's round moves; the simulation
        // found duplicated messages turning that echo into a storm, seed 17403).
        if notification.state == ServerState::Looking
            && notification.election_epoch < self.logical_clock
            && config.is_participant()
        {
            out.send(from, Message::Election(self.my_notification()));
        }
        let decision = self.look(config, now_ms, from, notification, out);
        if decision.is_some() {
            return decision;
        }
        self.drain_self(config, now_ms, out)
    }

    /// The body of `lookForLeader`'s loop for one received notification.
    fn look(
        &mut self,
        config: &Config,
        now_ms: u64,
        from: Sid,
        n: Notification,
        out: &mut Ready,
    ) -> Option<Decision> {
        if !self.looking {
            return None;
        }
        self.poll_deadline_ms = now_ms + self.notification_timeout_ms;
        if let Some(_deadline) = self.finalize_deadline_ms {
            // Waiting out finalizeWait: only a better vote reopens the election; anything else
            // is consumed (and restarts the wait, as each poll does in Java).
            if total_order_predicate(config, &n.vote, &self.proposal) {
                self.finalize_deadline_ms = None;
            } else {
                self.finalize_deadline_ms = Some(now_ms + config.finalize_wait_ms);
                return None;
            }
        }
        let valid_voter = |sid: i64| sid >= 0 && config.quorum.is_voter(sid as Sid);
        if !valid_voter(from as i64) || !valid_voter(n.vote.leader) {
            return None;
        }
        match n.state {
            ServerState::Looking => {
                if self.init_last_logged_zxid == -1 || n.vote.zxid == -1 {
                    return None;
                }
                if n.election_epoch > self.logical_clock {
                    self.logical_clock = n.election_epoch;
                    self.recv_set.clear();
                    let initial = Vote {
                        leader: Self::initial_id(config),
                        zxid: self.init_last_logged_zxid,
                        peer_epoch: self.initial_peer_epoch,
                    };
                    self.proposal =
                        if total_order_predicate(config, &n.vote, &initial) { n.vote } else { initial };
                    self.send_notifications(config, out);
                } else if n.election_epoch < self.logical_clock {
                    return None;
                } else if total_order_predicate(config, &n.vote, &self.proposal) {
                    self.proposal = n.vote;
                    self.send_notifications(config, out);
                }
                let record = VoteRecord {
                    vote: n.vote,
                    election_epoch: n.election_epoch,
                    state: ServerState::Looking,
                    version: n.version,
                };
                self.recv_set.insert(from, record);
                let mine = VoteRecord {
                    vote: self.proposal,
                    election_epoch: self.logical_clock,
                    state: ServerState::Looking,
                    version: n.version,
                };
                if self.has_quorum(config, &self.recv_set, &mine) {
                    self.finalize_deadline_ms = Some(now_ms + config.finalize_wait_ms);
                }
                None
            }
            ServerState::Observing => None,
            ServerState::Following | ServerState::Leading => self.received_following(config, from, n),
        }
    }

    fn has_quorum(&self, config: &Config, votes: &BTreeMap<Sid, VoteRecord>, vote: &VoteRecord) -> bool {
        let acks: BTreeSet<Sid> =
            votes.iter().filter(|(_, record)| votes_equal(vote, record)).map(|(&sid, _)| sid).collect();
        config.quorum.contains_quorum(&acks)
    }

    /// `checkLeader`: we may follow `leader` only if it said it leads; we may lead only if the
    /// round matches.
    fn check_leader(
        &self,
        config: &Config,
        votes: &BTreeMap<Sid, VoteRecord>,
        leader: i64,
        election_epoch: i64,
    ) -> bool {
        if leader != config.my_id as i64 {
            match votes.get(&(leader as Sid)) {
                Some(record) => record.state == ServerState::Leading,
                None => false,
            }
        } else {
            self.logical_clock == election_epoch
        }
    }

    /// `receivedFollowingNotification` / `receivedLeadingNotification` (no oracle).
    fn received_following(&mut self, config: &Config, from: Sid, n: Notification) -> Option<Decision> {
        let record =
            VoteRecord { vote: n.vote, election_epoch: n.election_epoch, state: n.state, version: n.version };
        if n.election_epoch == self.logical_clock {
            self.recv_set.insert(from, record);
            if self.has_quorum(config, &self.recv_set, &record)
                && self.check_leader(config, &self.recv_set, n.vote.leader, n.election_epoch)
            {
                return Some(self.decide(config, n.vote));
            }
        }
        self.out_of_election.insert(from, record);
        if self.has_quorum(config, &self.out_of_election, &record)
            && self.check_leader(config, &self.out_of_election, n.vote.leader, n.election_epoch)
        {
            self.logical_clock = n.election_epoch;
            return Some(self.decide(config, n.vote));
        }
        None
    }

    fn decide(&mut self, config: &Config, vote: Vote) -> Decision {
        let state = if vote.leader == config.my_id as i64 {
            ServerState::Leading
        } else if config.is_participant() {
            ServerState::Following
        } else {
            ServerState::Observing
        };
        self.looking = false;
        self.finalize_deadline_ms = None;
        self.self_inbox.clear();
        self.current_vote = vote;
        self.current_vote_epoch = self.logical_clock;
        Decision { state, vote, election_epoch: self.logical_clock }
    }

    /// Time passed: finish a finalizeWait, or retransmit after a silent timeout (doubling it up
    /// to the ceiling).
    pub fn tick(&mut self, config: &Config, now_ms: u64, out: &mut Ready) -> Option<Decision> {
        if !self.looking {
            return None;
        }
        if let Some(deadline) = self.finalize_deadline_ms {
            if now_ms >= deadline {
                let vote = self.proposal;
                return Some(self.decide(config, vote));
            }
            return None;
        }
        if now_ms >= self.poll_deadline_ms {
            self.send_notifications(config, out);
            self.notification_timeout_ms =
                (self.notification_timeout_ms * 2).min(config.max_notification_interval_ms);
            self.poll_deadline_ms = now_ms + self.notification_timeout_ms;
            return self.drain_self(config, now_ms, out);
        }
        None
    }
}
